/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The session table (DESIGN.md "Data path" item 6): a set-associative table
 * in one BPF_F_MMAPABLE array map, xsl_sessions, shared by the XDP and
 * sk_lookup programs and mapped by the agent.
 *
 * Element 0 is the header (struct xsl_sess_hdr: seed, hash secrets, geometry,
 * HZ, written once by whoever creates the table). Elements 1..nbuckets are buckets: a
 * 64-byte tag line, then XSL_SESS_WAYS entries of 64 bytes. nbuckets is a
 * power of two.
 *
 * A flow's hash gives its first bucket, its tag and the slot of its
 * listener's worker table (one hash per packet). Its second bucket is the
 * first XOR a non-zero function of the tag, so either bucket and the tag
 * give the other one. A flow lives in its first bucket, or in its second
 * when the first was full; the first bucket's overflow count says how many
 * of its flows live elsewhere, so a lookup reads the second bucket only when
 * it is non-zero.
 *
 * A way's tag is its claim: XSL_TAG_EMPTY (free), XSL_TAG_BUSY (being
 * written or deleted by whoever swapped it in), or the flow's tag (>= 2).
 * Writers claim with a compare-and-swap to BUSY, write the entry and state,
 * then publish the tag; readers compare the tag, the key, read the route
 * and compare the tag again. Counters, last-seen and the route are plain
 * stores (the route by CAS when re-homed).
 *
 * Shared by BPF and userspace: fixed-size arithmetic only, no loops the
 * verifier must bound.
 */
#ifndef XSL_SESSION_H
#define XSL_SESSION_H

#include <linux/types.h>
#include "flow.h"
#include "hash.h"
#include "limits.h"

#define XSL_SESS_WAYS		8
#define XSL_SESS_MAGIC		0x78534c34u	/* "xSL4": header written */
#define XSL_SESS_HDR_INIT	1u		/* header being written */

#define XSL_TAG_EMPTY		0u
#define XSL_TAG_BUSY		1u
/* Every real tag has this bit, so it is never EMPTY or BUSY. */
#define XSL_TAG_BIT		2u

/* Per-way state bits in the tag line. */
#define XSL_WAY_ASSURED		0x01	/* the worker sent on it (TCP: handshake done) */
#define XSL_WAY_CLOSING		0x02	/* TCP FIN or RST seen: expire after linger */
#define XSL_WAY_ALT		0x04	/* the flow's second bucket, counted in the first's overflow */

/*
 * Time on the data path is the kernel's jiffies counter (bpf_jiffies64(),
 * one load; a clock helper costs more than the whole lookup). Entry
 * last_seen: jiffies, low 32 bits (wraps after 49.7 days at HZ 1000);
 * readers take it as the nearest value to their own now (user/sesstab.c
 * converts it to CLOCK_MONOTONIC). Tag line seen: jiffies >> 8 (0.26-2.56 s
 * ticks, 16 bits: eviction order only).
 */
#define XSL_TICK_SHIFT		8
/* Jiffies per second the data path assumes when the header has no hz: the
 * largest HZ, so an idle timeout is never shorter than configured. */
#define XSL_HZ_MAX		1000

/* Sessions of a table the object declares (ip link); --max-sessions sizes others. */
#define XSL_SESS_BUCKETS_DEFAULT	(XSL_MAX_SESSIONS / XSL_SESS_WAYS)

/* The shared line of a bucket: read on every lookup, written rarely. */
struct xsl_sess_tags {
	__u32 tag[XSL_SESS_WAYS];
	__u16 seen[XSL_SESS_WAYS];	/* coarse last-seen, XSL_TICK_SHIFT units */
	__u8 state[XSL_SESS_WAYS];	/* XSL_WAY_* */
	__u32 overflow;			/* flows of this bucket living in their second */
	__u32 pad;
};
_Static_assert(sizeof(struct xsl_sess_tags) == 64, "xsl_sess_tags is one cache line");

/*
 * route packs where a session goes, so a re-home is one 8-byte store:
 * worker index (bits 0-15), app index (16-23), listener index (24-31),
 * worker gen (32-63).
 */
struct xsl_sess_entry {
	struct xsl_flow_key key;
	__u64 route;
	__u32 last_seen;		/* jiffies (low 32 bits) */
	__u32 packets;			/* wraps at 2^32 */
	__u64 bytes;
};
_Static_assert(sizeof(struct xsl_sess_entry) == 64, "xsl_sess_entry is one cache line");

struct xsl_sess_bucket {
	struct xsl_sess_tags t;
	struct xsl_sess_entry e[XSL_SESS_WAYS];
};
_Static_assert(sizeof(struct xsl_sess_bucket) == 64 * (1 + XSL_SESS_WAYS), "xsl_sess_bucket");

/* Element 0 of xsl_sessions. */
struct xsl_sess_hdr {
	__u32 magic;			/* XSL_SESS_MAGIC when the rest is valid */
	__u32 seed;			/* the hash seed, secret to the outside */
	__u32 nbuckets;			/* power of two, <= max_entries - 1 */
	__u32 mask;			/* nbuckets - 1 */
	__u32 hz;			/* jiffies per second; 0: unknown (XSL_HZ_MAX) */
	__u32 secret[XSL_HASH_WORDS];	/* xsl_hash_secrets(seed) */
	__u32 pad;
};
_Static_assert(sizeof(struct xsl_sess_hdr) == 64, "xsl_sess_hdr is one cache line");

_Static_assert(XSL_MAX_WORKERS <= 1 << 16, "worker index fits the route");
_Static_assert(XSL_MAX_APPS <= 1 << 8, "app index fits the route");
_Static_assert(XSL_MAX_LISTENERS <= 1 << 8, "listener index fits the route");
_Static_assert((XSL_SESS_BUCKETS_DEFAULT & (XSL_SESS_BUCKETS_DEFAULT - 1)) == 0,
	       "default bucket count is a power of two");

static inline __u64 xsl_route(__u32 worker, __u32 gen, __u32 app, __u32 listener)
{
	return (__u64)gen << 32 | (__u64)(listener & 0xff) << 24 | (__u64)(app & 0xff) << 16 |
	       (worker & 0xffff);
}

static inline __u32 xsl_route_worker(__u64 r) { return (__u32)(r & 0xffff); }
static inline __u32 xsl_route_app(__u64 r) { return (__u32)(r >> 16) & 0xff; }
static inline __u32 xsl_route_listener(__u64 r) { return (__u32)(r >> 24) & 0xff; }
static inline __u32 xsl_route_gen(__u64 r) { return (__u32)(r >> 32); }

/* A flow's place: first bucket (0-based, without the header), its tag, and
 * the hash that also picks the listener slot. */
struct xsl_sess_pos {
	__u32 hash;
	__u32 tag;
	__u32 b1;
	__u32 b2;
};

/* The other bucket of a flow with this tag (an involution). */
static inline __u32 xsl_sess_other(__u32 bucket, __u32 tag, __u32 mask)
{
	__u32 d = (tag * 0x9e3779b1u) & mask;

	if (!d)
		d = 1;
	return (bucket ^ d) & mask;
}

/* A flow's place from its 64-bit hash (xsl_flow_hash64*). */
static inline void xsl_sess_place_h(__u64 h, __u32 mask, struct xsl_sess_pos *p)
{
	p->hash = (__u32)(h >> 32);
	p->tag = (__u32)h | XSL_TAG_BIT;
	p->b1 = p->hash & mask;
	p->b2 = xsl_sess_other(p->b1, p->tag, mask);
}

static inline void xsl_sess_place(const struct xsl_flow_key *k, __u32 seed, __u32 mask,
				  struct xsl_sess_pos *p)
{
	xsl_sess_place_h(xsl_flow_hash64(k, seed), mask, p);
}

/* Age in ticks of a tag line seen value, modulo 2^16. */
static inline __u32 xsl_tick_age(__u16 now, __u16 seen)
{
	return (__u16)(now - seen);
}

#endif /* XSL_SESSION_H */
