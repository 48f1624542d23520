/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Counting helpers over xsl_stats, xsl_app_stats and xsl_wrk_stats.
 *
 * Every counter is per-CPU, so plain increments are safe (a BPF program is
 * not preempted by another on the same CPU for the same hook). The global
 * struct is looked up once per packet and passed around; every helper accepts
 * NULL so callers need no check (the lookup of key 0 cannot fail in practice).
 *
 * Rules the XDP program keeps: a packet is counted in exactly one
 * stat[XDP_*] (xsl_count_action() at its single exit), and every XDP_DROP
 * comes from xsl_drop(), which counts the reason, so
 * sum(drop[]) == stat[XSL_STAT_XDP_DROP].
 */
#ifndef XSL_BPF_STATS_H
#define XSL_BPF_STATS_H

#include "maps.h"

static __always_inline struct xsl_stats *xsl_stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xsl_stats, &zero);
}

static __always_inline void xsl_count(struct xsl_stats *st, enum xsl_stat s)
{
	if (st && s < XSL_STAT__MAX)
		st->stat[s]++;
}

static __always_inline void xsl_count_parse(struct xsl_stats *st, enum xsl_parse_error e)
{
	if (st && e < XSL_PARSE__MAX)
		st->parse[e]++;
}

/* Counts the XDP verdict; the one place stat[XDP_*] is written. */
static __always_inline int xsl_count_action(struct xsl_stats *st, int action)
{
	if (st && action >= XDP_ABORTED && action <= XDP_REDIRECT)
		st->stat[action]++;
	return action;
}

static __always_inline struct xsl_app_stats *xsl_app_stats_get(__u32 app)
{
	return bpf_map_lookup_elem(&xsl_app_stats, &app);
}

static __always_inline struct xsl_worker_stats *xsl_wrk_stats_get(__u32 worker)
{
	return bpf_map_lookup_elem(&xsl_wrk_stats, &worker);
}

/*
 * A packet delivered to a worker: its per-worker packets and bytes only. An
 * app's are the sum of its workers' plus the totals of its workers gone,
 * which the agent folds into the app's retired entry (records.h) before a
 * worker's index is reused: one per-CPU lookup on the hit path, not two.
 */
static __always_inline void xsl_count_delivery(__u32 worker, __u64 bytes)
{
	struct xsl_worker_stats *ws = xsl_wrk_stats_get(worker);

	if (ws) {
		ws->packets++;
		ws->bytes += bytes;
	}
}

static __always_inline void xsl_count_created(struct xsl_stats *st, __u32 app, __u32 worker)
{
	struct xsl_app_stats *as = xsl_app_stats_get(app);
	struct xsl_worker_stats *ws = xsl_wrk_stats_get(worker);

	xsl_count(st, XSL_STAT_SESSION_CREATED);
	if (as)
		as->sessions_created++;
	if (ws)
		ws->sessions_created++;
}

static __always_inline void xsl_count_reassigned(struct xsl_stats *st, __u32 app)
{
	struct xsl_app_stats *as = xsl_app_stats_get(app);

	xsl_count(st, XSL_STAT_SESSION_REASSIGNED);
	if (as)
		as->sessions_reassigned++;
}

/*
 * The only way to drop: counts the reason (and the app's drops when the
 * packet belongs to one; XSL_NO_APP otherwise) and returns XDP_DROP for the
 * caller to return.
 */
static __always_inline int xsl_drop(struct xsl_stats *st, enum xsl_drop_reason reason, __u32 app)
{
	struct xsl_app_stats *as;

	if (st && reason < XSL_DROP__MAX)
		st->drop[reason]++;
	if (app != XSL_NO_APP) {
		as = xsl_app_stats_get(app);
		if (as)
			as->drops++;
	}
	return XDP_DROP;
}

#endif /* XSL_BPF_STATS_H */
