/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The session table (include/xsl/session.h) as userspace sees it, through
 * its own mapping of xsl_sessions: find, decode, insert (tests and tools),
 * delete and re-home by compare-and-swap, duplicate detection, scans. Pure
 * C on a memory range: the mapping is made by the caller (maps.c); the
 * only syscalls read the clocks (jiffies against CLOCK_MONOTONIC, measured
 * once per process, to convert last_seen).
 *
 * Deletes keep the overflow counts exact: removing a way that holds its
 * flow's second bucket (XSL_WAY_ALT) decrements the first bucket's count.
 */
#ifndef XSL_USER_SESSTAB_H
#define XSL_USER_SESSTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xsl/flow.h"
#include "xsl/session.h"

enum xsl_session_state {
	XSL_SESSION_OPEN = 0,
	XSL_SESSION_CLOSING = 1,	/* TCP FIN or RST seen: expire after linger */
};

#define XSL_SESSION_F_ASSURED	0x01	/* the worker has sent on the flow */

/* A session decoded from its way. */
struct xsl_session {
	uint64_t last_seen_ns;		/* CLOCK_MONOTONIC, start of its jiffy */
	uint64_t packets;
	uint64_t bytes;
	uint32_t worker;
	uint32_t worker_gen;
	uint16_t listener;
	uint16_t app;
	uint8_t state;			/* enum xsl_session_state */
	uint8_t flags;			/* XSL_SESSION_F_* */
};

struct sesstab {
	struct xsl_sess_hdr *hdr;
	struct xsl_sess_bucket *b;	/* bucket 0: element 1 of the map */
	uint32_t nbuckets;
	uint32_t mask;
	uint32_t seed;
};

/* One way of the table. tag is what it held when found. */
struct sesstab_way {
	uint32_t bucket;
	uint32_t way;
	uint32_t tag;
};

/* Bytes of a table of n buckets (header included). */
size_t sesstab__bytes(uint32_t nbuckets);
/* Buckets for at least max_sessions ways: a power of two, at least 1. */
uint32_t sesstab__buckets_for(uint32_t max_sessions);
/*
 * Writes the header of a fresh table of len bytes (nbuckets: the largest
 * power of two that fits) with seed. 0 when written, -EEXIST when another
 * writer (the data path, another agent) did it first, -EINVAL when len
 * holds no bucket.
 */
int sesstab__init(void *mem, size_t len, uint32_t seed);
/* 0, -ENODATA when no header is written yet, -EINVAL for a bad geometry. */
int sesstab__open(struct sesstab *t, void *mem, size_t len);

void sesstab__place(const struct sesstab *t, const struct xsl_flow_key *k,
		    struct xsl_sess_pos *p);
/* The way the data path serves k from: 0 with *w, or -ENOENT. */
int sesstab__find(const struct sesstab *t, const struct xsl_flow_key *k, struct sesstab_way *w);
/*
 * Reads a way consistently: 0 with *k and *s filled, or -ENOENT when it
 * is empty, busy or no longer holds w->tag (w->tag 0: whatever it holds,
 * and w->tag is set).
 */
int sesstab__read(const struct sesstab *t, struct sesstab_way *w, struct xsl_flow_key *k,
		  struct xsl_session *s);
/* Inserts or overwrites k's session (tests, tools): 0 or -ENOSPC. */
int sesstab__put(struct sesstab *t, const struct xsl_flow_key *k, const struct xsl_session *s);
/* Deletes the way if it still holds w->tag: 0, or -ESTALE. */
int sesstab__delete(struct sesstab *t, const struct sesstab_way *w);
/* Replaces the way's route if it is still old: 0, or -ESTALE. */
int sesstab__rehome(struct sesstab *t, const struct sesstab_way *w, uint64_t old, uint64_t route);
/* True when a way before w in lookup order holds the same flow as w. */
bool sesstab__duplicate(const struct sesstab *t, const struct sesstab_way *w,
			const struct xsl_flow_key *k);
/* CLOCK_MONOTONIC of an entry's last_seen (jiffies, low 32 bits). */
uint64_t sesstab__seen_ns(uint32_t seen);
/* Sessions in the table. */
uint64_t sesstab__count(const struct sesstab *t);

/*
 * Calls fn for each used way of buckets [from, from + n) (clipped to the
 * table), with the way, its key and its decoded session; fn returns
 * non-zero to stop. Returns the bucket after the last one scanned.
 */
uint32_t sesstab__scan(const struct sesstab *t, uint32_t from, uint32_t n,
		       int (*fn)(const struct sesstab_way *w, const struct xsl_flow_key *k,
				 const struct xsl_session *s, void *ctx),
		       void *ctx);

#endif /* XSL_USER_SESSTAB_H */
