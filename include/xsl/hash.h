/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The flow hash that picks a session's slot in a listener's worker table.
 * BPF (XDP and sk_lookup) and userspace (tests, tools predicting a flow's
 * worker) include this same function, so it must stay deterministic, use
 * fixed-size arithmetic only and read the key by fields (no type punning,
 * no loops the verifier must bound). It is not symmetric: the key is always
 * built from the server's point of view.
 *
 * Mixing: a murmur3-style round per 32-bit word of the key, then the
 * murmur3 finaliser so that the low bits (used by the modulo) depend on
 * every input bit.
 */
#ifndef XSL_HASH_H
#define XSL_HASH_H

#include <linux/types.h>
#include "flow.h"

#define XSL_HASH_SEED	0x5eb1a7e5u

static inline __u32 xsl_hash_rotl(__u32 x, unsigned int r)
{
	return (x << r) | (x >> (32 - r));
}

static inline __u32 xsl_hash_round(__u32 h, __u32 w)
{
	w *= 0xcc9e2d51u;
	w = xsl_hash_rotl(w, 15);
	w *= 0x1b873593u;
	h ^= w;
	h = xsl_hash_rotl(h, 13);
	return h * 5 + 0xe6546b64u;
}

static inline __u32 xsl_hash_final(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Hash of a flow key; the key's padding does not take part. */
static inline __u32 xsl_flow_hash(const struct xsl_flow_key *k)
{
	__u32 h = XSL_HASH_SEED;

	h = xsl_hash_round(h, (__u32)k->family | (__u32)k->proto << 8);
	h = xsl_hash_round(h, (__u32)k->rport | (__u32)k->lport << 16);
	h = xsl_hash_round(h, k->raddr[0]);
	h = xsl_hash_round(h, k->raddr[1]);
	h = xsl_hash_round(h, k->raddr[2]);
	h = xsl_hash_round(h, k->raddr[3]);
	h = xsl_hash_round(h, k->laddr[0]);
	h = xsl_hash_round(h, k->laddr[1]);
	h = xsl_hash_round(h, k->laddr[2]);
	h = xsl_hash_round(h, k->laddr[3]);
	return xsl_hash_final(h ^ (__u32)sizeof(*k));
}

#endif /* XSL_HASH_H */
