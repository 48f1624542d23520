// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Reading the data path's per-CPU counters: the global xsl_stats, one app's
 * xsl_app_stats and one worker's xsl_wrk_stats, summed over the possible
 * CPUs. Every counter struct is made of u64 words only, so one word-wise sum
 * serves them all.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "agent.h"
#include "xsl/records.h"
#include "xsl/stats.h"

_Static_assert(sizeof(struct xsl_stats) % sizeof(uint64_t) == 0, "u64 words only");
_Static_assert(sizeof(struct xsl_worker_stats) % sizeof(uint64_t) == 0, "u64 words only");
_Static_assert(sizeof(struct xsl_app_stats) % sizeof(uint64_t) == 0, "u64 words only");

/* Looks key up in the per-CPU map fd and adds each CPU's words into out. */
static int percpu_sum(int fd, const void *key, size_t words, uint64_t *out)
{
	int ncpus = libbpf_num_possible_cpus();
	uint64_t *per;
	int err = 0;

	memset(out, 0, words * sizeof(uint64_t));
	if (ncpus <= 0)
		return -EINVAL;
	per = calloc((size_t)ncpus, words * sizeof(uint64_t));
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, key, per))
		err = -errno;
	for (int c = 0; !err && c < ncpus; c++)
		for (size_t i = 0; i < words; i++)
			out[i] += per[(size_t)c * words + i];
	free(per);
	return err;
}

int agent__read_stats(struct agent *a, struct xsl_stats *sum)
{
	uint32_t zero = 0;

	return percpu_sum(a->maps.stats, &zero, sizeof(*sum) / sizeof(uint64_t), (uint64_t *)sum);
}

/* The data path's counters of app; reassigned also counts the sessions the
 * agent's GC re-homed (the data path re-homes only those a packet finds first). */
int agent__app_stats(struct agent *a, uint32_t app, struct xsl_app_stats *sum)
{
	int err = percpu_sum(a->maps.app_stats, &app, sizeof(*sum) / sizeof(uint64_t),
			     (uint64_t *)sum);

	if (!err && app < XSL_MAX_APPS)
		sum->sessions_reassigned += a->apps[app].gc_rehomed;
	return err;
}

int agent__worker_stats(struct agent *a, uint32_t worker, struct xsl_worker_stats *sum)
{
	return percpu_sum(a->maps.wrk_stats, &worker, sizeof(*sum) / sizeof(uint64_t),
			  (uint64_t *)sum);
}
