/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The session table on the BPF side (layout and protocol:
 * include/xsl/session.h): the header, the lookup, the claim of a way for a
 * new flow, deletes. No call on the hit path, nor on a create in XDP (see
 * XSL_SESS_CLAIM_FN): the array lookups are inlined by the verifier, and a
 * call and its return cost more than a bucket scan on a CPU with
 * return-thunk mitigations.
 *
 * Lookup: the hash is computed here with the table's hash secrets; the
 * first bucket's 8 tags are scanned unrolled, a matching tag's key compared
 * (five 8-byte words) and the tag read again after the route; the second
 * bucket is read only when the first's overflow count is non-zero (its line
 * is requested early, see xsl_sess_touch_line()).
 *
 * Claim, in order: an empty way of the first bucket, of the second; the
 * oldest unassured way of either; the oldest assured way idle past its
 * app's idle timeout; else -ENOSPC (the caller delivers statelessly and
 * counts it refused). An active assured session is never evicted.
 */
#ifndef XSL_BPF_SESSTAB_H
#define XSL_BPF_SESSTAB_H

#include <linux/errno.h>
#include "maps.h"
#include "xsl/session.h"

/* One load of a field userspace or another CPU may rewrite meanwhile. */
#define XSL_READ_ONCE(x)	(*(volatile typeof(x) *)&(x))
/* One store of a field others may read meanwhile. */
#define XSL_WRITE_ONCE(x, v)	(*(volatile typeof(x) *)&(x) = (v))

/* The table and a flow's place in it, computed once per packet. */
struct xsl_sess_ctx {
	struct xsl_sess_hdr *h;		/* NULL: no table (stateless) */
	struct xsl_sess_pos pos;	/* pos.hash is valid even without a table */
};

/* A way holding a flow (found or just claimed). */
struct xsl_sref {
	struct xsl_sess_bucket *b;
	__u32 bucket;			/* its index, 0-based */
	__u32 way;
	__u32 tag;
	__u64 route;
};

/*
 * The header; a table nobody initialised (created by `ip link` before any
 * agent) is initialised here with a random seed and the object's default
 * geometry (hz unknown). NULL while another CPU is doing that.
 */
static __always_inline struct xsl_sess_hdr *xsl_sess_hdr(void)
{
	__u32 zero = 0;
	struct xsl_sess_hdr *h = bpf_map_lookup_elem(&xsl_sessions, &zero);

	if (!h)
		return NULL;
	if (XSL_READ_ONCE(h->magic) == XSL_SESS_MAGIC)
		return h;
	if (__sync_val_compare_and_swap(&h->magic, 0, XSL_SESS_HDR_INIT) != 0)
		return NULL;
	h->seed = bpf_get_prandom_u32();
	xsl_hash_secrets(h->seed, h->secret);
	h->nbuckets = XSL_SESS_BUCKETS_DEFAULT;
	h->mask = XSL_SESS_BUCKETS_DEFAULT - 1;
	__sync_lock_test_and_set(&h->magic, XSL_SESS_MAGIC);
	return h;
}

static __always_inline void xsl_sess_ctx_init(struct xsl_sess_ctx *c, const struct xsl_flow_key *k)
{
	c->h = xsl_sess_hdr();
	if (c->h) {
		/* the secrets, not the seed: ten loads instead of ten multiplies */
		xsl_sess_place_h(xsl_flow_hash64_sec(k, c->h->secret), XSL_READ_ONCE(c->h->mask),
				 &c->pos);
	} else {
		c->pos.hash = xsl_flow_hash(k);
		c->pos.tag = 0;
		c->pos.b1 = 0;
		c->pos.b2 = 0;
	}
}

static __always_inline struct xsl_sess_bucket *xsl_bucket(__u32 b)
{
	__u32 idx = b + 1;

	return bpf_map_lookup_elem(&xsl_sessions, &idx);
}

/* Five 8-byte words (both keys are 8-aligned); no memcmp, it would be an
 * external call. */
static __always_inline int xsl_key_eq(const struct xsl_flow_key *a, const struct xsl_flow_key *k)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)k;

	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4]));
}

/* The way of b holding k with tag: its index, or -1; *route read between
 * the two reads of the tag. */
static __always_inline int xsl_sess_scan(struct xsl_sess_bucket *b, const struct xsl_flow_key *k,
					 __u32 tag, __u64 *route)
{
	int i;

#pragma unroll
	for (i = 0; i < XSL_SESS_WAYS; i++) {
		if (XSL_READ_ONCE(b->t.tag[i]) != tag)
			continue;
		if (!xsl_key_eq(&b->e[i].key, k))
			continue;
		*route = XSL_READ_ONCE(b->e[i].route);
		/* a way freed or re-claimed while being read is not a hit */
		if (XSL_READ_ONCE(b->t.tag[i]) != tag)
			continue;
		return i;
	}
	return -1;
}

/*
 * Requests bucket's tag line without waiting for it. A lookup reads the
 * second bucket only after the first one's line has come (its overflow
 * count): asked for together, two cold lines cost one memory latency, as
 * on every create in a full table.
 */
static __always_inline void xsl_sess_touch_line(__u32 bucket)
{
	struct xsl_sess_bucket *b = xsl_bucket(bucket);
	__u32 x = b ? XSL_READ_ONCE(b->t.overflow) : 0;

	/* the value goes nowhere: keep the load */
	asm volatile("" : : "r"(x));
}

/*
 * 1 with *r when k has a session, else 0. Inlined: no call on the hit path
 * (a call and its return cost more than the scan on a mitigated CPU). The
 * second bucket is read only when the first one's overflow count says some
 * of its flows live there.
 */
static __always_inline int xsl_sess_find(const struct xsl_sess_ctx *c,
					 const struct xsl_flow_key *k, struct xsl_sref *r)
{
	struct xsl_sess_bucket *b;
	__u32 bucket;
	int w;

	if (!c->h)
		return 0;
	bucket = c->pos.b1;
	b = xsl_bucket(bucket);
	if (!b)
		return 0;
	xsl_sess_touch_line(c->pos.b2);
	w = xsl_sess_scan(b, k, c->pos.tag, &r->route);
	if (w < 0) {
		if (!XSL_READ_ONCE(b->t.overflow) || c->pos.b2 == bucket)
			return 0;
		bucket = c->pos.b2;
		b = xsl_bucket(bucket);
		if (!b)
			return 0;
		w = xsl_sess_scan(b, k, c->pos.tag, &r->route);
		if (w < 0)
			return 0;
	}
	r->b = b;
	r->bucket = bucket;
	r->way = w;
	r->tag = c->pos.tag;
	return 1;
}

/* Sets (or clears) state bits of a way; atomic on the 8 state bytes, so a
 * neighbour's bits set by another CPU are kept. */
static __always_inline void xsl_way_set(struct xsl_sess_bucket *b, __u32 way, __u8 bits)
{
	__sync_fetch_and_or((__u64 *)b->t.state, (__u64)bits << (8 * (way & 7)));
}

static __always_inline void xsl_way_clear(struct xsl_sess_bucket *b, __u32 way, __u8 bits)
{
	__sync_fetch_and_and((__u64 *)b->t.state, ~((__u64)bits << (8 * (way & 7))));
}

static __always_inline __u8 xsl_way_state(struct xsl_sess_bucket *b, __u32 way)
{
	return XSL_READ_ONCE(b->t.state[way & 7]);
}

/* What a new way gets, and where (on the caller's stack). */
struct xsl_sess_init {
	__u64 route;
	__u64 bytes;
	__u32 packets;
	__u32 seen;			/* now, jiffies */
	__u32 tag;
	__u32 b1;
	__u32 b2;
	__u32 mask;
	__u32 hz;			/* the header's; 0: XSL_HZ_MAX */
	__u16 tick;			/* now >> XSL_TICK_SHIFT */
	__u8 state;
	__u8 pad;
};

/*
 * Fills way i of b (claimed: tag BUSY) and publishes the tag. The way's
 * state byte is a plain store: while the tag is BUSY nobody else owns it
 * (a neighbour's bits are set by atomic ops on the whole word, which keep
 * this byte).
 */
static __always_inline void xsl_sess_fill(struct xsl_sess_bucket *b, __u32 i,
					  const struct xsl_flow_key *k,
					  const struct xsl_sess_init *in, __u8 alt)
{
	struct xsl_sess_entry *e = &b->e[i & 7];

	__builtin_memcpy(&e->key, k, sizeof(e->key));
	e->route = in->route;
	e->last_seen = in->seen;
	e->packets = in->packets;
	e->bytes = in->bytes;
	b->t.seen[i & 7] = in->tick;
	XSL_WRITE_ONCE(b->t.state[i & 7], in->state | alt);
	/* xchg: a full barrier, the entry is visible before the tag */
	__sync_lock_test_and_set(&b->t.tag[i & 7], in->tag);
}

/*
 * An empty way of b claimed and filled: its index, else -1. first, for a
 * flow's second bucket, is its first one: its overflow count goes up once
 * the way is ours, before the tag is published (a lookup never misses it).
 */
static __always_inline int xsl_sess_claim_empty(struct xsl_sess_bucket *b,
						struct xsl_sess_bucket *first,
						const struct xsl_flow_key *k,
						const struct xsl_sess_init *in)
{
	int i;

#pragma unroll
	for (i = 0; i < XSL_SESS_WAYS; i++) {
		if (XSL_READ_ONCE(b->t.tag[i]) != XSL_TAG_EMPTY)
			continue;
		if (__sync_val_compare_and_swap(&b->t.tag[i], XSL_TAG_EMPTY, XSL_TAG_BUSY) !=
		    XSL_TAG_EMPTY)
			continue;
		if (first)
			__sync_fetch_and_add(&first->t.overflow, 1);
		xsl_sess_fill(b, i, k, in, first ? XSL_WAY_ALT : 0);
		return i;
	}
	return -1;
}

/*
 * The way of bucket to evict first among the used ones whose ASSURED bit
 * is assured: the oldest by the tag line's tick; of equally old ones, one
 * that lives in its flow's first bucket (evicting an overflowed flow also
 * writes its first bucket's count, one more cache line). Returns
 * (age << 1 | in its first bucket) << 3 | way, age in ticks, or -1.
 */
static __always_inline int xsl_sess_oldest(__u32 bucket, __u32 tick, __u32 assured)
{
	struct xsl_sess_bucket *b = xsl_bucket(bucket);
	int i, best = -1;
	__u32 best_score = 0;

	if (!b)
		return -1;
#pragma unroll
	for (i = 0; i < XSL_SESS_WAYS; i++) {
		__u32 score;
		__u8 state;

		if (XSL_READ_ONCE(b->t.tag[i]) < XSL_TAG_BIT)
			continue;
		state = XSL_READ_ONCE(b->t.state[i]);
		if ((state & XSL_WAY_ASSURED) != assured)
			continue;
		score = xsl_tick_age((__u16)tick, XSL_READ_ONCE(b->t.seen[i])) << 1 |
			!(state & XSL_WAY_ALT);
		if (best < 0 || score > best_score) {
			best = i;
			best_score = score;
		}
	}
	return best < 0 ? -1 : (int)(best_score << 3 | best);
}

/*
 * Frees way `way` of bucket `bucket` (b) if it still holds tag, keeping the
 * overflow count of the flow's first bucket exact. 0, or -ESTALE.
 */
static __always_inline int xsl_sess_take(struct xsl_sess_bucket *b, __u32 bucket, __u32 way,
					 __u32 tag, __u32 mask)
{
	struct xsl_sess_bucket *first;

	way &= 7;
	if (tag < XSL_TAG_BIT ||
	    __sync_val_compare_and_swap(&b->t.tag[way], tag, XSL_TAG_BUSY) != tag)
		return -ESTALE;
	if (xsl_way_state(b, way) & XSL_WAY_ALT) {
		first = xsl_bucket(xsl_sess_other(bucket, tag, mask));
		if (first)
			__sync_fetch_and_add(&first->t.overflow, -1);
	}
	XSL_WRITE_ONCE(b->t.state[way], 0);
	__sync_lock_test_and_set(&b->t.tag[way], XSL_TAG_EMPTY);
	return 0;
}

static __always_inline int xsl_sess_delete(const struct xsl_sess_ctx *c, const struct xsl_sref *r)
{
	return xsl_sess_take(r->b, r->bucket, r->way, r->tag, XSL_READ_ONCE(c->h->mask));
}

/* Idle timeout of the app a route names, in jiffies (hz 0: XSL_HZ_MAX,
 * never shorter than configured). */
static __always_inline __u64 xsl_sess_idle_limit(__u64 route, __u32 hz)
{
	__u32 app = xsl_route_app(route);
	struct xsl_app *a = bpf_map_lookup_elem(&xsl_apps, &app);
	__u64 s = a && a->state == XSL_APP_LIVE ? a->idle_timeout_s : 0;

	return s * (hz ? hz : XSL_HZ_MAX);
}

#define XSL_CLAIM_SECOND	8	/* claimed in the second bucket */
#define XSL_CLAIM_EVICTED	16	/* an older session gave its way */

/*
 * Whether a session last seen at jiffies last is idle past limit at now.
 * last may be ahead of now: another CPU touched the session after this one
 * read the clock (or the agent wrote it). That is active, not idle for 49
 * days as the unsigned difference would say.
 */
static __always_inline int xsl_idle_past(__u32 now, __u32 last, __u64 limit)
{
	__s32 idle = (__s32)(now - last);

	return idle > 0 && (__u64)idle > limit;
}

/*
 * Evicts the way v (from xsl_sess_oldest) of bucket for the new flow: an
 * unassured one, or with assured set an assured one whose app's idle
 * timeout has passed. first: the new flow's first bucket when bucket is its
 * second (its overflow count goes up), else NULL. The evicted flow's own
 * first bucket's count goes down when it lived in its second; both are the
 * same count, left alone, when the flow is replaced by another of that
 * first bucket. Returns the way, or -1.
 */
static __always_inline int xsl_sess_evict(__u32 bucket, int v, int assured,
					  const struct xsl_flow_key *k,
					  const struct xsl_sess_init *in,
					  struct xsl_sess_bucket *first)
{
	struct xsl_sess_bucket *b = xsl_bucket(bucket), *old_first;
	__u32 way = (__u32)v & 7, tag;
	struct xsl_sess_entry *e;
	__u8 state;

	if (v < 0 || !b)
		return -1;
	e = &b->e[way];
	tag = XSL_READ_ONCE(b->t.tag[way]);
	if (tag < XSL_TAG_BIT ||
	    __sync_val_compare_and_swap(&b->t.tag[way], tag, XSL_TAG_BUSY) != tag)
		return -1;
	/* Checked again while the way is ours: it may have become assured, or
	 * been active, since the search. */
	state = xsl_way_state(b, way);
	if ((state & XSL_WAY_ASSURED) != (assured ? XSL_WAY_ASSURED : 0) ||
	    (assured && !xsl_idle_past(in->seen, XSL_READ_ONCE(e->last_seen),
				       xsl_sess_idle_limit(XSL_READ_ONCE(e->route), in->hz)))) {
		__sync_lock_test_and_set(&b->t.tag[way], tag);
		return -1;
	}
	if (state & XSL_WAY_ALT) {
		__u32 ob = xsl_sess_other(bucket, tag, in->mask);

		if (first && ob == in->b1)
			first = NULL;	/* one flow of b1 for another: the count stays */
		else if ((old_first = xsl_bucket(ob)))
			__sync_fetch_and_add(&old_first->t.overflow, -1);
	}
	if (first)
		__sync_fetch_and_add(&first->t.overflow, 1);
	xsl_sess_fill(b, way, k, in, bucket == in->b1 ? 0 : XSL_WAY_ALT);
	return (int)way;
}

/* Of two candidates (xsl_sess_oldest, or -1), 1 when the second goes first. */
static __always_inline int xsl_second_older(int v1, int v2)
{
	return v2 >= 0 && (v1 < 0 || (v2 >> 3) > (v1 >> 3));
}

/*
 * Evicts the oldest way of the pair whose ASSURED bit is assured, for the
 * new flow: the way | XSL_CLAIM_EVICTED (| XSL_CLAIM_SECOND), or -1.
 */
static __always_inline int xsl_sess_evict_oldest(const struct xsl_flow_key *k,
						 const struct xsl_sess_init *in,
						 struct xsl_sess_bucket *b1, int assured)
{
	int w, v1 = xsl_sess_oldest(in->b1, in->tick, assured);
	int v2 = xsl_sess_oldest(in->b2, in->tick, assured);

	if (xsl_second_older(v1, v2)) {
		w = xsl_sess_evict(in->b2, v2, assured, k, in, b1);
		return w < 0 ? -1 : w | XSL_CLAIM_SECOND | XSL_CLAIM_EVICTED;
	}
	w = xsl_sess_evict(in->b1, v1, assured, k, in, NULL);
	return w < 0 ? -1 : w | XSL_CLAIM_EVICTED;
}

/*
 * Inlined into the XDP program, which defines XSL_SESS_CLAIM_INLINE before
 * including this file: a create there makes no call (verified in about 300k
 * instructions). Elsewhere a global function, verified once on its own:
 * inlined, its 8-way scans multiply the states of sk_lookup's paths to 650k
 * of the verifier's 1M instructions.
 */
#ifdef XSL_SESS_CLAIM_INLINE
#define XSL_SESS_CLAIM_FN	static __always_inline
#else
#define XSL_SESS_CLAIM_FN	__noinline
#endif

/*
 * Claims a way for a new flow. Returns the way | XSL_CLAIM_SECOND |
 * XSL_CLAIM_EVICTED, or -ENOSPC (refused: no empty way, no unassured one,
 * no expired assured one).
 */
XSL_SESS_CLAIM_FN int xsl_sess_claim(const struct xsl_flow_key *k, struct xsl_sess_init *in)
{
	struct xsl_sess_bucket *b1, *b2 = NULL;
	int w;

	if (!k || !in)
		return -ENOSPC;
	b1 = xsl_bucket(in->b1);
	if (!b1)
		return -ENOSPC;
	w = xsl_sess_claim_empty(b1, NULL, k, in);
	if (w >= 0)
		return w;
	if (in->b2 != in->b1)
		b2 = xsl_bucket(in->b2);
	if (!b2)
		return -ENOSPC;
	w = xsl_sess_claim_empty(b2, b1, k, in);
	if (w >= 0)
		return w | XSL_CLAIM_SECOND;

	w = xsl_sess_evict_oldest(k, in, b1, 0);
	if (w < 0)
		w = xsl_sess_evict_oldest(k, in, b1, XSL_WAY_ASSURED);
	return w >= 0 ? w : -ENOSPC;
}

#endif /* XSL_BPF_SESSTAB_H */
