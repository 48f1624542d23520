// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Latency histograms with fixed bounds (see lathist.h). */
#include <errno.h>
#include "lathist.h"

const double lathist_bounds[LATHIST_BUCKETS] = {
	0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
};

/* The bounds in ns, compared as integers: no rounding at a bound. */
static const uint64_t bounds_ns[LATHIST_BUCKETS] = {
	25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
	5000000, 10000000, 25000000, 50000000, 100000000, 250000000, 1000000000,
};

void lathist__add(struct lathist *h, uint64_t d_ns)
{
	for (int i = 0; i < LATHIST_BUCKETS; i++) {
		if (d_ns <= bounds_ns[i]) {
			h->bucket[i]++;
			break;
		}
	}
	h->count++;
	h->sum += (double)d_ns / 1e9;
}

int lathist__since(struct lathist *h, uint64_t start_ns, uint64_t now_ns)
{
	if (!start_ns || now_ns < start_ns)
		return -EINVAL;
	lathist__add(h, now_ns - start_ns);
	return 0;
}
