/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The flow hash: with the session table's seed it picks a session's bucket,
 * its tag and the slot in its listener's worker table (one hash per
 * packet). BPF (XDP, sk_lookup, the egress hook) and userspace (the agent,
 * tests, tools predicting a flow's worker) include this same function, so
 * it must stay deterministic, use fixed-size arithmetic only and read the
 * key by fields (no type punning, no loops the verifier must bound). It is
 * not symmetric: the key is always built from the server's point of view.
 */
#ifndef XSL_HASH_H
#define XSL_HASH_H

#include <linux/types.h>
#include "flow.h"

/* A fixed seed, for tests and tools that want predictable slots. */
#define XSL_HASH_SEED	0x5eb1a7e5u

/* The key's ten 32-bit words, each plus a per-word secret. */
#define XSL_HASH_WORDS	10

/* Word i's secret for a seed. A table keeps its ten (struct xsl_sess_hdr),
 * so the data path loads them instead of multiplying. */
static inline __u32 xsl_hash_secret(__u32 seed, __u32 i)
{
	return seed * (0x9e3779b1u + 2 * i);
}

static inline void xsl_hash_secrets(__u32 seed, __u32 sec[XSL_HASH_WORDS])
{
	sec[0] = xsl_hash_secret(seed, 0);
	sec[1] = xsl_hash_secret(seed, 1);
	sec[2] = xsl_hash_secret(seed, 2);
	sec[3] = xsl_hash_secret(seed, 3);
	sec[4] = xsl_hash_secret(seed, 4);
	sec[5] = xsl_hash_secret(seed, 5);
	sec[6] = xsl_hash_secret(seed, 6);
	sec[7] = xsl_hash_secret(seed, 7);
	sec[8] = xsl_hash_secret(seed, 8);
	sec[9] = xsl_hash_secret(seed, 9);
}

/* A word plus its secret, as a 64-bit factor. */
#define XSL_NH(x, s)	((__u64)(__u32)((x) + (s)))

/*
 * A 64-bit hash of a flow key with a seed's secrets: an NH sum (the words
 * in pairs, each word plus its secret, multiplied in 64 bits, the five
 * products added; the products are independent, so the CPU computes them
 * in parallel), then one fold and one multiply. The sum's high half depends
 * on every input bit, its low half on the bits below; the fold puts the
 * high half into the low one, and the multiply spreads the whole into the
 * product's high half. The key's padding does not take part. The high
 * half picks the bucket and the listener slot, the low half (a bijection
 * of the folded low half, so independent of the bucket) is the tag. One
 * multiply after the sum, not splitmix64's two: it is on every packet's
 * path (issue 11, hit_hot_vs_lru).
 */
static inline __u64 xsl_flow_hash64_sec(const struct xsl_flow_key *k, const __u32 *sec)
{
	__u64 h;

	h = XSL_NH((__u32)k->family | (__u32)k->proto << 8, sec[0]) *
	    XSL_NH((__u32)k->rport | (__u32)k->lport << 16, sec[1]);
	h += XSL_NH(k->raddr[0], sec[2]) * XSL_NH(k->raddr[1], sec[3]);
	h += XSL_NH(k->raddr[2], sec[4]) * XSL_NH(k->raddr[3], sec[5]);
	h += XSL_NH(k->laddr[0], sec[6]) * XSL_NH(k->laddr[1], sec[7]);
	h += XSL_NH(k->laddr[2], sec[8]) * XSL_NH(k->laddr[3], sec[9]);
	h ^= h >> 32;
	return h * 0x9e3779b97f4a7c15ull;
}

/* The same from the seed. */
static inline __u64 xsl_flow_hash64(const struct xsl_flow_key *k, __u32 seed)
{
	__u32 sec[XSL_HASH_WORDS];

	xsl_hash_secrets(seed, sec);
	return xsl_flow_hash64_sec(k, sec);
}

/* Hash of a flow key with a table's seed: picks the bucket and the slot. */
static inline __u32 xsl_flow_hash_seed(const struct xsl_flow_key *k, __u32 seed)
{
	return (__u32)(xsl_flow_hash64(k, seed) >> 32);
}

/* The same with the fixed seed (tables whose header says XSL_HASH_SEED). */
static inline __u32 xsl_flow_hash(const struct xsl_flow_key *k)
{
	return xsl_flow_hash_seed(k, XSL_HASH_SEED);
}

#endif /* XSL_HASH_H */
