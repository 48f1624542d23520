/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A latency histogram with fixed bucket bounds in seconds, as Prometheus
 * exports them (prom__histogram): bucket[i] counts the observations that
 * fell in (bounds[i-1], bounds[i]], the ones above the last bound count
 * only in count (the +Inf bucket). Pure: no clock, no syscalls.
 */
#ifndef XSL_LATHIST_H
#define XSL_LATHIST_H

#include <stdint.h>

/* 25 us .. 1 s: fine enough below 1 ms to show a 250 us target honestly */
#define LATHIST_BUCKETS 14

extern const double lathist_bounds[LATHIST_BUCKETS];

struct lathist {
	uint64_t bucket[LATHIST_BUCKETS];
	uint64_t count;
	double sum;			/* seconds */
};

/* One observation of d_ns nanoseconds. */
void lathist__add(struct lathist *h, uint64_t d_ns);
/* One observation from start_ns to now_ns (same clock); nothing when
 * start_ns is 0 (unknown) or after now_ns. Returns 0 or -EINVAL. */
int lathist__since(struct lathist *h, uint64_t start_ns, uint64_t now_ns);

#endif /* XSL_LATHIST_H */
