// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The session table seen from userspace (see sesstab.h). Every tag access
 * is an __atomic builtin: the data path on other CPUs claims, publishes and
 * frees ways concurrently, with the same protocol as bpf/session.h.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/times.h>
#include "clock.h"
#include "sesstab.h"

#define LOAD(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)

static bool cas32(uint32_t *p, uint32_t old, uint32_t val)
{
	return __atomic_compare_exchange_n(p, &old, val, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

/*
 * The data path's clock (jiffies, include/xsl/session.h) against
 * CLOCK_MONOTONIC: jiffy j began at off + j * tick ns. Jiffies advance with
 * CLOCK_MONOTONIC at every tick, so off, measured once per process, holds.
 * The tick is the resolution of CLOCK_MONOTONIC_COARSE (TICK_NSEC). off is
 * measured at an edge of times(), which returns jiffies in USER_HZ units:
 * the first jiffy of the new unit has just begun (a wait of at most
 * 1/USER_HZ, once). ref is a recent jiffy, taken by every open and scan: a
 * 32-bit last_seen is read as the jiffy nearest to it. Each field is one
 * atomic word; threads measuring at once store values that agree.
 */
static struct {
	uint64_t tick;		/* ns per jiffy; 0: not measured yet */
	uint64_t off;		/* ns, as int64_t */
	uint64_t ref;		/* a recent jiffy */
} clk;

/* The widest window an edge of times() is accepted in. */
#define CALIBRATE_WINDOW_NS	50000ull

static void clock_calibrate(void)
{
	struct timespec res;
	long user_hz = sysconf(_SC_CLK_TCK);
	uint64_t tick = 1000000000ull / XSL_HZ_MAX, unit, ns, end, j;
	clock_t c0, c;

	if (!clock_getres(CLOCK_MONOTONIC_COARSE, &res) && !res.tv_sec &&
	    res.tv_nsec >= 1000000000 / XSL_HZ_MAX && res.tv_nsec <= 100000000)
		tick = (uint64_t)res.tv_nsec;
	unit = 1000000000ull / (uint64_t)(user_hz > 0 ? user_hz : 100);
	/* The edge fell between the read before the one that saw it and that
	 * one: the earlier bound is taken (a converted time is never late),
	 * and an edge seen after a preemption (a wide window) is measured
	 * again, a few times at most. */
	for (int tries = 0; tries < 8; tries++) {
		uint64_t before = mono_ns(), after;

		c0 = times(NULL);
		end = before + 3 * unit;
		do {
			ns = before;
			before = mono_ns();
			c = times(NULL);
			after = mono_ns();
		} while (c == c0 && c != (clock_t)-1 && after < end);
		if (c == (clock_t)-1)
			return;
		if (c == c0 || after - ns <= CALIBRATE_WINDOW_NS)
			break;
	}
	/* the first jiffy counted in unit c (times() rounds down); without an
	 * edge (a stalled clock), the middle of the unit */
	if (c != c0)
		j = ((uint64_t)c * unit + tick - 1) / tick;
	else
		j = ((uint64_t)c * 2 + 1) * unit / 2 / tick;
	__atomic_store_n(&clk.off, ns - j * tick, __ATOMIC_RELAXED);
	__atomic_store_n(&clk.tick, tick, __ATOMIC_RELAXED);
}

/* Measures the process's jiffies against CLOCK_MONOTONIC (once) and takes
 * the current jiffy as ref. */
static void clock_measure(void)
{
	uint64_t tick = __atomic_load_n(&clk.tick, __ATOMIC_RELAXED);

	if (!tick) {
		clock_calibrate();
		tick = __atomic_load_n(&clk.tick, __ATOMIC_RELAXED);
		if (!tick)
			return;
	}
	__atomic_store_n(&clk.ref, (mono_ns() - __atomic_load_n(&clk.off, __ATOMIC_RELAXED)) / tick,
			 __ATOMIC_RELAXED);
}

static void clock_get(uint64_t *tick, uint64_t *off, uint64_t *ref)
{
	if (!__atomic_load_n(&clk.tick, __ATOMIC_RELAXED))
		clock_measure();
	*tick = __atomic_load_n(&clk.tick, __ATOMIC_RELAXED);
	*off = __atomic_load_n(&clk.off, __ATOMIC_RELAXED);
	*ref = __atomic_load_n(&clk.ref, __ATOMIC_RELAXED);
	if (!*tick)
		*tick = 1000000000ull / XSL_HZ_MAX;
}

uint64_t sesstab__seen_ns(uint32_t seen)
{
	uint64_t tick, off, ref;

	clock_get(&tick, &off, &ref);
	/* the jiffy nearest to ref with these low 32 bits, when it began */
	ref += (uint64_t)(int64_t)(int32_t)(seen - (uint32_t)ref);
	return off + ref * tick;
}

/* The jiffy CLOCK_MONOTONIC t_ns falls in. */
static uint64_t jiffies_at(uint64_t t_ns)
{
	uint64_t tick, off, ref;

	clock_get(&tick, &off, &ref);
	return (t_ns - off) / tick;
}

static uint32_t clock_hz(void)
{
	uint64_t tick, off, ref;

	clock_get(&tick, &off, &ref);
	return (uint32_t)((1000000000ull + tick / 2) / tick);
}

size_t sesstab__bytes(uint32_t nbuckets)
{
	return ((size_t)nbuckets + 1) * sizeof(struct xsl_sess_bucket);
}

uint32_t sesstab__buckets_for(uint32_t max_sessions)
{
	uint32_t need = (max_sessions + XSL_SESS_WAYS - 1) / XSL_SESS_WAYS, n = 1;

	while (n < need && n < (1u << 31))
		n <<= 1;
	return n;
}

int sesstab__init(void *mem, size_t len, uint32_t seed)
{
	struct xsl_sess_hdr *h = mem;
	uint32_t n = 1;

	if (len < sesstab__bytes(1))
		return -EINVAL;
	while (sesstab__bytes(n * 2) <= len && n < (1u << 30))
		n *= 2;
	if (!cas32(&h->magic, 0, XSL_SESS_HDR_INIT))
		return -EEXIST;
	clock_measure();
	h->seed = seed;
	xsl_hash_secrets(seed, h->secret);
	h->nbuckets = n;
	h->mask = n - 1;
	h->hz = clock_hz();
	STORE(&h->magic, XSL_SESS_MAGIC);
	return 0;
}

int sesstab__open(struct sesstab *t, void *mem, size_t len)
{
	struct xsl_sess_hdr *h = mem;
	uint32_t n;

	memset(t, 0, sizeof(*t));
	if (len < sesstab__bytes(1))
		return -EINVAL;
	if (LOAD(&h->magic) != XSL_SESS_MAGIC)
		return -ENODATA;
	n = h->nbuckets;
	if (!n || (n & (n - 1)) || h->mask != n - 1 || sesstab__bytes(n) > len)
		return -EINVAL;
	t->hdr = h;
	t->b = (struct xsl_sess_bucket *)((char *)mem + sizeof(struct xsl_sess_bucket));
	t->nbuckets = n;
	t->mask = n - 1;
	t->seed = h->seed;
	clock_measure();
	/* a table the data path made (ip link) does not know HZ */
	if (!LOAD(&h->hz))
		cas32(&h->hz, 0, clock_hz());
	return 0;
}

void sesstab__place(const struct sesstab *t, const struct xsl_flow_key *k,
		    struct xsl_sess_pos *p)
{
	xsl_sess_place(k, t->seed, t->mask, p);
}

static bool key_eq(const struct xsl_flow_key *a, const struct xsl_flow_key *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/* The way of bucket b holding k with tag, or -1. */
static int find_in(const struct sesstab *t, uint32_t b, uint32_t tag,
		   const struct xsl_flow_key *k, int below)
{
	struct xsl_sess_bucket *bk = &t->b[b];

	for (int i = 0; i < below; i++) {
		struct xsl_flow_key ek;

		if (LOAD(&bk->t.tag[i]) != tag)
			continue;
		memcpy(&ek, &bk->e[i].key, sizeof(ek));
		if (key_eq(&ek, k) && LOAD(&bk->t.tag[i]) == tag)
			return i;
	}
	return -1;
}

int sesstab__find(const struct sesstab *t, const struct xsl_flow_key *k, struct sesstab_way *w)
{
	struct xsl_sess_pos p;
	int i;

	sesstab__place(t, k, &p);
	i = find_in(t, p.b1, p.tag, k, XSL_SESS_WAYS);
	if (i < 0 && p.b2 != p.b1 && LOAD(&t->b[p.b1].t.overflow)) {
		i = find_in(t, p.b2, p.tag, k, XSL_SESS_WAYS);
		p.b1 = p.b2;
	}
	if (i < 0)
		return -ENOENT;
	w->bucket = p.b1;
	w->way = (uint32_t)i;
	w->tag = p.tag;
	return 0;
}

int sesstab__read(const struct sesstab *t, struct sesstab_way *w, struct xsl_flow_key *k,
		  struct xsl_session *s)
{
	struct xsl_sess_bucket *b = &t->b[w->bucket];
	struct xsl_sess_entry e;
	uint32_t tag = LOAD(&b->t.tag[w->way]);
	uint8_t st;

	if (tag < XSL_TAG_BIT || (w->tag && tag != w->tag))
		return -ENOENT;
	memcpy(&e, &b->e[w->way], sizeof(e));
	st = b->t.state[w->way];
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (LOAD(&b->t.tag[w->way]) != tag)
		return -ENOENT;
	w->tag = tag;
	*k = e.key;
	memset(s, 0, sizeof(*s));
	s->last_seen_ns = sesstab__seen_ns(e.last_seen);
	s->packets = e.packets;
	s->bytes = e.bytes;
	s->worker = xsl_route_worker(e.route);
	s->worker_gen = xsl_route_gen(e.route);
	s->listener = (uint16_t)xsl_route_listener(e.route);
	s->app = (uint16_t)xsl_route_app(e.route);
	s->state = st & XSL_WAY_CLOSING ? XSL_SESSION_CLOSING : XSL_SESSION_OPEN;
	s->flags = st & XSL_WAY_ASSURED ? XSL_SESSION_F_ASSURED : 0;
	return 0;
}

static void fill(struct xsl_sess_bucket *b, int i, const struct xsl_flow_key *k,
		 const struct xsl_session *s, uint8_t alt, uint32_t tag)
{
	struct xsl_sess_entry *e = &b->e[i];
	uint64_t j = jiffies_at(s->last_seen_ns);

	e->key = *k;
	e->route = xsl_route(s->worker, s->worker_gen, s->app, s->listener);
	e->last_seen = (uint32_t)j;
	e->packets = (uint32_t)s->packets;
	e->bytes = s->bytes;
	b->t.seen[i] = (uint16_t)(j >> XSL_TICK_SHIFT);
	b->t.state[i] = (s->state == XSL_SESSION_CLOSING ? XSL_WAY_CLOSING : 0) |
			(s->flags & XSL_SESSION_F_ASSURED ? XSL_WAY_ASSURED : 0) | alt;
	STORE(&b->t.tag[i], tag);
}

/* Claims an empty way of bucket b and fills it; 0 or -ENOSPC. */
static int claim_empty(struct sesstab *t, uint32_t b, const struct xsl_flow_key *k,
		       const struct xsl_session *s, uint8_t alt, uint32_t tag)
{
	struct xsl_sess_bucket *bk = &t->b[b];

	for (int i = 0; i < XSL_SESS_WAYS; i++) {
		if (LOAD(&bk->t.tag[i]) != XSL_TAG_EMPTY ||
		    !cas32(&bk->t.tag[i], XSL_TAG_EMPTY, XSL_TAG_BUSY))
			continue;
		fill(bk, i, k, s, alt, tag);
		return 0;
	}
	return -ENOSPC;
}

int sesstab__put(struct sesstab *t, const struct xsl_flow_key *k, const struct xsl_session *s)
{
	struct xsl_sess_pos p;
	struct sesstab_way w;
	uint8_t alt;

	if (!sesstab__find(t, k, &w)) {
		struct xsl_sess_bucket *bk = &t->b[w.bucket];

		if (!cas32(&bk->t.tag[w.way], w.tag, XSL_TAG_BUSY))
			return -ESTALE;
		alt = bk->t.state[w.way] & XSL_WAY_ALT;
		fill(bk, (int)w.way, k, s, alt, w.tag);
		return 0;
	}
	sesstab__place(t, k, &p);
	if (!claim_empty(t, p.b1, k, s, 0, p.tag))
		return 0;
	if (p.b2 == p.b1)
		return -ENOSPC;
	/* counted before the way is published: a lookup never misses it */
	__atomic_fetch_add(&t->b[p.b1].t.overflow, 1, __ATOMIC_ACQ_REL);
	if (!claim_empty(t, p.b2, k, s, XSL_WAY_ALT, p.tag))
		return 0;
	__atomic_fetch_sub(&t->b[p.b1].t.overflow, 1, __ATOMIC_ACQ_REL);
	return -ENOSPC;
}

int sesstab__delete(struct sesstab *t, const struct sesstab_way *w)
{
	struct xsl_sess_bucket *bk = &t->b[w->bucket];
	uint8_t st;

	if (w->tag < XSL_TAG_BIT || !cas32(&bk->t.tag[w->way], w->tag, XSL_TAG_BUSY))
		return -ESTALE;
	st = bk->t.state[w->way];
	bk->t.state[w->way] = 0;
	if (st & XSL_WAY_ALT) {
		uint32_t first = xsl_sess_other(w->bucket, w->tag, t->mask);

		__atomic_fetch_sub(&t->b[first].t.overflow, 1, __ATOMIC_ACQ_REL);
	}
	STORE(&bk->t.tag[w->way], XSL_TAG_EMPTY);
	return 0;
}

int sesstab__rehome(struct sesstab *t, const struct sesstab_way *w, uint64_t old, uint64_t route)
{
	struct xsl_sess_bucket *bk = &t->b[w->bucket];
	__u64 expect = old;

	if (!__atomic_compare_exchange_n(&bk->e[w->way].route, &expect, route, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return -ESTALE;
	/* the way changed hands meanwhile: it is not ours to re-home (rare) */
	if (LOAD(&bk->t.tag[w->way]) != w->tag)
		return -ESTALE;
	return 0;
}

bool sesstab__duplicate(const struct sesstab *t, const struct sesstab_way *w,
			const struct xsl_flow_key *k)
{
	const struct xsl_sess_bucket *bk = &t->b[w->bucket];

	/* lookup order: the first bucket's ways in order, then the second's */
	if (find_in(t, w->bucket, w->tag, k, (int)w->way) >= 0)
		return true;
	if (bk->t.state[w->way] & XSL_WAY_ALT)
		return find_in(t, xsl_sess_other(w->bucket, w->tag, t->mask), w->tag, k,
			       XSL_SESS_WAYS) >= 0;
	return false;
}

uint64_t sesstab__count(const struct sesstab *t)
{
	uint64_t n = 0;

	for (uint32_t b = 0; b < t->nbuckets; b++)
		for (int i = 0; i < XSL_SESS_WAYS; i++)
			n += LOAD(&t->b[b].t.tag[i]) >= XSL_TAG_BIT;
	return n;
}

uint32_t sesstab__scan(const struct sesstab *t, uint32_t from, uint32_t n,
		       int (*fn)(const struct sesstab_way *w, const struct xsl_flow_key *k,
				 const struct xsl_session *s, void *ctx),
		       void *ctx)
{
	uint32_t end = from + n < from || from + n > t->nbuckets ? t->nbuckets : from + n;
	uint32_t b;

	clock_measure();
	for (b = from; b < end; b++) {
		for (uint32_t i = 0; i < XSL_SESS_WAYS; i++) {
			struct sesstab_way w = { .bucket = b, .way = i };
			struct xsl_flow_key k;
			struct xsl_session s;

			if (LOAD(&t->b[b].t.tag[i]) < XSL_TAG_BIT ||
			    sesstab__read(t, &w, &k, &s))
				continue;
			if (fn(&w, &k, &s, ctx))
				return b + 1;
		}
	}
	return b;
}
