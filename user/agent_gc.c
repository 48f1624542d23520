// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Session GC. Each tick walks at most GC_BUDGET sessions with
 * bpf_map_lookup_batch, continuing from where the previous tick stopped, so
 * a large table never stalls event handling. A session expires when its app
 * is gone, when it is a closing TCP session idle past XSL_TCP_LINGER_S, or
 * when it is idle past its app's idle timeout. A completed pass publishes
 * the per-app and per-worker session counts.
 *
 * A worker's count holds only the sessions made for it: those whose
 * worker_gen is the live worker's gen. A dead worker's leftovers (its index
 * possibly reused by a new worker) belong to nobody: the data path re-homes
 * them on their next packet (policy reassign) or drops them (policy drop),
 * else they expire; they still count for their app.
 *
 * Listings and app flushes walk the table with buffers and a cursor of
 * their own and leave the pass alone: a client polling `show sessions`
 * never holds expiry back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <jansson.h>
#include "addr.h"
#include "clock.h"
#include "agent.h"
#include "log.h"
#include "xsl/maps.h"

#define GC_BATCH	4096
#define GC_BUDGET	(16 * GC_BATCH)

enum { EXPIRE_IDLE, EXPIRE_CLOSED, EXPIRE_APP_GONE };

/* One batch read from the session table. */
struct gc_batch {
	struct xsl_flow_key keys[GC_BATCH];
	struct xsl_session vals[GC_BATCH];
	struct xsl_flow_key dead[GC_BATCH];	/* of those, to delete */
};

struct xsl_gc_state {
	bool mid_pass;
	uint32_t cursor;
	uint64_t app_count[XSL_MAX_APPS];
	/* sessions of worker w made for its generation wrk_gen[w], this pass */
	uint32_t wrk_count[XSL_MAX_WORKERS];
	uint32_t wrk_gen[XSL_MAX_WORKERS];
	/* the same, as of the last complete pass */
	uint32_t wrk_published[XSL_MAX_WORKERS];
	uint32_t wrk_published_gen[XSL_MAX_WORKERS];
	struct gc_batch pass;		/* the pass's (used within one tick) */
	struct gc_batch walk;		/* whole-table walks: listings, flushes */
};

int gc__init(struct agent *a)
{
	a->gc = calloc(1, sizeof(*a->gc));
	return a->gc ? 0 : -ENOMEM;
}

void gc__free(struct agent *a)
{
	free(a->gc);
	a->gc = NULL;
}

/* A worker that reused an index counts from zero until a pass counts it. */
uint64_t gc__worker_sessions(const struct agent *a, uint32_t worker)
{
	const struct reg_worker *rw;

	if (!a->gc || worker >= XSL_MAX_WORKERS)
		return 0;
	rw = registry__worker(a->reg, worker);
	if (!rw || a->gc->wrk_published_gen[worker] != rw->gen)
		return 0;
	return a->gc->wrk_published[worker];
}

/*
 * Reads the next batch after *cursor (first: from the start). Returns the
 * number of entries, *last set when the map has no more after them, or a
 * negative errno.
 */
static int read_batch(int fd, bool first, uint32_t *cursor, struct xsl_flow_key *keys,
		      struct xsl_session *vals, bool *last)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = GC_BATCH, out = 0;
	int err;

	err = bpf_map_lookup_batch(fd, first ? NULL : cursor, &out, keys, vals, &count, &opts);
	if (err && errno != ENOENT)
		return -errno;
	*cursor = out;
	*last = err != 0;
	return (int)count;
}

/* Why s should expire now, or -1. */
static int expiry(struct agent *a, const struct xsl_session *s, uint64_t now)
{
	const struct reg_app *ra = registry__app(a->reg, s->app);
	uint64_t idle = now > s->last_seen_ns ? now - s->last_seen_ns : 0;

	if (!ra)
		return EXPIRE_APP_GONE;
	if (s->state == XSL_SESSION_CLOSING && idle > XSL_TCP_LINGER_S * 1000000000ull)
		return EXPIRE_CLOSED;
	if (idle > (uint64_t)ra->idle_timeout_s * 1000000000ull)
		return EXPIRE_IDLE;
	return -1;
}

static void delete_keys(struct agent *a, struct xsl_flow_key *keys, __u32 n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = n;

	if (!n)
		return;
	if (bpf_map_delete_batch(a->maps.sessions, keys, &count, &opts)) {
		/* one already gone (LRU or XDP) stops the batch: finish one by one */
		for (__u32 i = count; i < n; i++)
			bpf_map_delete_elem(a->maps.sessions, &keys[i]);
	}
}

/* Counts s for its worker if it was made for the live worker there. */
static void count_worker(struct agent *a, const struct xsl_session *s)
{
	const struct reg_worker *rw = registry__worker(a->reg, s->worker);
	struct xsl_gc_state *g = a->gc;
	uint32_t w = s->worker;

	if (!rw || rw->gen != s->worker_gen)
		return;
	/* the index changed hands during this pass: count the new one only */
	if (g->wrk_gen[w] != rw->gen) {
		g->wrk_gen[w] = rw->gen;
		g->wrk_count[w] = 0;
	}
	g->wrk_count[w]++;
}

/* Handles n entries of a batch: counts the live, deletes the expired. */
static void gc_entries(struct agent *a, int n, uint64_t now)
{
	struct gc_batch *b = &a->gc->pass;
	__u32 ndead = 0;

	for (int i = 0; i < n; i++) {
		const struct xsl_session *s = &b->vals[i];
		int why = expiry(a, s, now);

		if (why < 0) {
			if (s->app < XSL_MAX_APPS)
				a->gc->app_count[s->app]++;
			count_worker(a, s);
			continue;
		}
		if (why != EXPIRE_APP_GONE && s->app < XSL_MAX_APPS)
			a->apps[s->app].expired[why]++;
		b->dead[ndead++] = b->keys[i];
	}
	delete_keys(a, b->dead, ndead);
}

static void publish(struct agent *a)
{
	struct xsl_gc_state *g = a->gc;

	for (uint32_t app = 0; app < XSL_MAX_APPS; app++)
		a->apps[app].sessions = g->app_count[app];
	memcpy(g->wrk_published, g->wrk_count, sizeof(g->wrk_published));
	memcpy(g->wrk_published_gen, g->wrk_gen, sizeof(g->wrk_published_gen));
	memset(g->app_count, 0, sizeof(g->app_count));
	memset(g->wrk_count, 0, sizeof(g->wrk_count));
	a->c.gc_runs++;
}

void gc__tick(struct agent *a)
{
	struct xsl_gc_state *g = a->gc;
	uint64_t now = mono_ns();
	int done = 0;

	if (!g)
		return;
	while (done < GC_BUDGET) {
		bool last;
		int n = read_batch(a->maps.sessions, !g->mid_pass, &g->cursor, g->pass.keys,
				   g->pass.vals, &last);

		if (n < 0) {
			pr_warn("gc: read %s: %s\n", XSL_MAP_SESSIONS, strerror(-n));
			g->mid_pass = false;
			return;
		}
		gc_entries(a, n, now);
		done += n;
		if (last) {
			publish(a);
			g->mid_pass = false;
			return;
		}
		g->mid_pass = true;
	}
}

/* Calls fn on every session, batch by batch, in the walk's own buffers and
 * with its own cursor: the pass in progress goes on undisturbed. */
static int for_each_session(struct agent *a,
			    void (*fn)(struct agent *a, const struct xsl_flow_key *k,
				       const struct xsl_session *s, void *ctx),
			    void *ctx)
{
	struct gc_batch *b = &a->gc->walk;
	bool first = true;
	uint32_t cursor = 0;

	for (;;) {
		bool last;
		int n = read_batch(a->maps.sessions, first, &cursor, b->keys, b->vals, &last);

		if (n < 0)
			return n;
		for (int i = 0; i < n; i++)
			fn(a, &b->keys[i], &b->vals[i], ctx);
		if (last)
			return 0;
		first = false;
	}
}

struct flush_ctx {
	uint32_t app;
	__u32 n;
};

/*
 * The pass in progress may have counted some of these sessions already and
 * will not see the rest: whatever it counted for their worker (same gen)
 * is dropped, so nothing deleted here is published. The walk's delete
 * batch is only ever filled here, so a pass reading the same batch is no
 * concern.
 */
static void flush_one(struct agent *a, const struct xsl_flow_key *k, const struct xsl_session *s,
		      void *ctx)
{
	struct xsl_gc_state *g = a->gc;
	struct flush_ctx *f = ctx;

	if (s->app != f->app)
		return;
	if (s->worker < XSL_MAX_WORKERS) {
		if (g->wrk_gen[s->worker] == s->worker_gen)
			g->wrk_count[s->worker] = 0;
		if (g->wrk_published_gen[s->worker] == s->worker_gen)
			g->wrk_published[s->worker] = 0;
	}
	g->walk.dead[f->n++] = *k;
	if (f->n == GC_BATCH) {
		delete_keys(a, g->walk.dead, f->n);
		f->n = 0;
	}
}

/*
 * Deletes app's sessions without restarting the pass in progress: its
 * count for app starts again from here (sessions made after the flush and
 * already behind the cursor are missed until the next pass, never counted
 * twice).
 */
int gc__flush_app(struct agent *a, uint32_t app)
{
	struct flush_ctx f = { .app = app };
	int err;

	if (!a->gc || app >= XSL_MAX_APPS)
		return -EINVAL;
	a->gc->app_count[app] = 0;
	err = for_each_session(a, flush_one, &f);
	delete_keys(a, a->gc->walk.dead, f.n);
	a->apps[app].sessions = 0;
	return err;
}

#define SHARERS_CACHE 256

struct list_ctx {
	uint32_t app, limit;
	json_t *arr;
	uint64_t total, now;
	/* socks__sharers() per (listener, worker), as a listing asks the same
	 * pairs over and over: direct-mapped, key 0 is empty */
	struct {
		uint64_t key;
		int n;
	} sharers[SHARERS_CACHE];
};

static int sharers(struct agent *a, struct list_ctx *l, uint32_t listener, uint32_t worker)
{
	uint64_t key = ((uint64_t)listener << 32 | worker) + 1;
	unsigned int slot = (listener * 31u + worker) % SHARERS_CACHE;

	if (l->sharers[slot].key != key) {
		l->sharers[slot].key = key;
		l->sharers[slot].n = socks__sharers(a, listener, worker, NULL);
	}
	return l->sharers[slot].n;
}

static void list_one(struct agent *a, const struct xsl_flow_key *k, const struct xsl_session *s,
		     void *ctx)
{
	struct list_ctx *l = ctx;
	const struct reg_worker *rw;
	char remote[64], local[64];
	int map_index = -1, shared = 0;
	const char *app;
	uint32_t pid = 0;

	if (l->app != XSL_NO_APP && s->app != l->app)
		return;
	l->total++;
	if (json_array_size(l->arr) >= l->limit)
		return;
	addr__endpoint(k->family, k->raddr, k->rport, remote, sizeof(remote));
	addr__endpoint(k->family, k->laddr, k->lport, local, sizeof(local));
	app = registry__app_name(a->reg, s->app);
	rw = registry__worker(a->reg, s->worker);
	/*
	 * A pid only when xsl knows who gets the flow: the session's own
	 * worker (not a dead one's), holding a socket of its own. A socket
	 * shared by several holders goes to whichever the kernel wakes.
	 */
	if (rw && rw->gen == s->worker_gen) {
		shared = sharers(a, l, s->listener, s->worker);
		shared = shared > 1 ? shared : 0;
		if (!shared) {
			map_index = (int)rw->map_index;
			pid = rw->pid;
		}
	}
	json_array_append_new(
		l->arr,
		json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:i, s:s, s:I, s:I, s:I}", "proto",
			  addr__proto(k->proto), "remote", remote, "local", local, "app",
			  app ? app : "-", "worker", s->worker, "map_index", map_index, "pid",
			  (json_int_t)pid, "shared", shared, "state",
			  s->state == XSL_SESSION_CLOSING ? "closing" : "open", "packets",
			  (json_int_t)s->packets, "bytes", (json_int_t)s->bytes, "idle_ms",
			  (json_int_t)(l->now > s->last_seen_ns ?
					       (l->now - s->last_seen_ns) / 1000000 : 0)));
}

int gc__list_sessions(struct agent *a, uint32_t app, uint32_t limit, json_t *arr, uint64_t *total)
{
	struct list_ctx l = { .app = app, .limit = limit, .arr = arr, .now = mono_ns() };
	int err;

	if (!a->gc)
		return -EINVAL;
	err = for_each_session(a, list_one, &l);
	*total = l.total;
	return err;
}
