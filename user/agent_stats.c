// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Reading the data path's per-CPU counters: the global xsl_stats, one app's
 * xsl_app_stats and one worker's xsl_wrk_stats, summed over the possible
 * CPUs, and each app's delivered packets and bytes, which the data path
 * counts per worker only. Every counter struct is made of u64 words only, so
 * one word-wise sum serves them all.
 */
#include <errno.h>
#include <stddef.h>
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

int agent__percpu_sums(int fd, uint32_t n, size_t nf, uint64_t *out)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int ncpus = libbpf_num_possible_cpus();
	uint32_t *keys, next, count = n;
	uint64_t *vals;
	int err = 0;

	memset(out, 0, (size_t)n * nf * sizeof(*out));
	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	keys = calloc(n, sizeof(*keys));
	vals = calloc((size_t)n * (size_t)ncpus, nf * sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	/* -ENOENT: the map ended before n entries; count says how many came */
	if (bpf_map_lookup_batch(fd, NULL, &next, keys, vals, &count, &opts) && errno != ENOENT) {
		err = -errno;
		goto out;
	}
	for (uint32_t i = 0; i < count && i < n; i++) {
		const uint64_t *v = vals + (size_t)i * (size_t)ncpus * nf;

		if (keys[i] >= n)
			continue;
		for (int c = 0; c < ncpus; c++)
			for (size_t f = 0; f < nf; f++)
				out[keys[i] * nf + f] += v[(size_t)c * nf + f];
	}
out:
	free(keys);
	free(vals);
	return err;
}

/* The xsl_workers records, all XSL_MAX_WORKERS of them, in one batch. */
static int read_workers(int fd, struct xsl_worker *out)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t *keys = calloc(XSL_MAX_WORKERS, sizeof(*keys));
	struct xsl_worker *vals = calloc(XSL_MAX_WORKERS, sizeof(*vals));
	uint32_t next, count = XSL_MAX_WORKERS;
	int err = 0;

	memset(out, 0, XSL_MAX_WORKERS * sizeof(*out));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_batch(fd, NULL, &next, keys, vals, &count, &opts) && errno != ENOENT) {
		err = -errno;
		goto out;
	}
	for (uint32_t i = 0; i < count; i++)
		if (keys[i] < XSL_MAX_WORKERS)
			out[keys[i]] = vals[i];
out:
	free(keys);
	free(vals);
	return err;
}

int agent__app_delivered(struct agent *a, struct agent_delivered *d)
{
	enum { WF = sizeof(struct xsl_worker_stats) / sizeof(uint64_t),
	       AF = sizeof(struct xsl_app_stats) / sizeof(uint64_t) };
	uint64_t *wrk = calloc(XSL_MAX_WORKERS, sizeof(struct xsl_worker_stats));
	uint64_t *ret = calloc(XSL_APP_STATS_ENTRIES, sizeof(struct xsl_app_stats));
	struct xsl_worker *recs = calloc(XSL_MAX_WORKERS, sizeof(*recs));
	int err = 0;

	memset(d, 0, sizeof(*d));
	if (!wrk || !ret || !recs) {
		err = -ENOMEM;
		goto out;
	}
	err = agent__percpu_sums(a->maps.wrk_stats, XSL_MAX_WORKERS, WF, wrk);
	if (!err)
		err = agent__percpu_sums(a->maps.app_stats, XSL_APP_STATS_ENTRIES, AF, ret);
	if (!err)
		err = read_workers(a->maps.workers, recs);
	if (err)
		goto out;
	for (uint32_t i = 0; i < XSL_MAX_APPS; i++) {
		const uint64_t *r = ret + (size_t)XSL_APP_RETIRED(i) * AF;

		d->packets[i] = r[offsetof(struct xsl_app_stats, packets) / sizeof(uint64_t)];
		d->bytes[i] = r[offsetof(struct xsl_app_stats, bytes) / sizeof(uint64_t)];
	}
	/* a never-used index reads as zeros, whatever app it names */
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		const uint64_t *s = wrk + (size_t)w * WF;

		if (recs[w].app >= XSL_MAX_APPS)
			continue;
		d->packets[recs[w].app] +=
			s[offsetof(struct xsl_worker_stats, packets) / sizeof(uint64_t)];
		d->bytes[recs[w].app] += s[offsetof(struct xsl_worker_stats, bytes) / sizeof(uint64_t)];
	}
out:
	free(wrk);
	free(ret);
	free(recs);
	return err;
}

/* The data path's counters of app; reassigned also counts the sessions the
 * agent's GC re-homed (the data path re-homes only those a packet finds
 * first). */
int agent__app_stats(struct agent *a, uint32_t app, const struct agent_delivered *d,
		     struct xsl_app_stats *sum)
{
	int err = percpu_sum(a->maps.app_stats, &app, sizeof(*sum) / sizeof(uint64_t),
			     (uint64_t *)sum);

	if (!err && app < XSL_MAX_APPS) {
		sum->sessions_reassigned += a->apps[app].gc_rehomed;
		sum->packets = d->packets[app];
		sum->bytes = d->bytes[app];
	}
	return err;
}

int agent__worker_stats(struct agent *a, uint32_t worker, struct xsl_worker_stats *sum)
{
	return percpu_sum(a->maps.wrk_stats, &worker, sizeof(*sum) / sizeof(uint64_t),
			  (uint64_t *)sum);
}
