// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Session GC, over the agent's own mapping of the session table
 * (sesstab.h). A pass scans the table in chunks of GC_CHUNK buckets and
 * handles the queued process events between two chunks, so a fork or exit
 * waits for one chunk, not the pass; each call works at most GC_SLICE_NS
 * and a pass in progress goes on at the next timer tick (gc__busy), so a
 * pass over the default table takes about a second and the loop answers
 * within a slice. A session expires when its app is gone, when it is a
 * closing TCP session idle past XSL_TCP_LINGER_S, or when it is idle past
 * its app's idle timeout; a duplicate (two CPUs created the same flow at
 * once) is removed, keeping the way the data path serves. Deletes are a
 * CAS of the way's tag. A completed pass publishes the per-app and
 * per-worker session counts.
 *
 * A worker's count holds only the sessions made for it: those whose
 * worker_gen is the live worker's gen. A dead worker's sessions (its index
 * possibly reused by a new worker) are re-homed by the pass when their app's
 * policy is reassign: one CAS of the route to the worker the data path
 * would pick for the flow (the listener's slot table, the flow's hash), so
 * the session, its counters and its assurance stay; the data path does the
 * same on a packet that comes first. Under policy drop they belong to
 * nobody until they expire; they still count for their app.
 *
 * Listings and app flushes scan the table on their own and leave the pass
 * alone: a client polling `show sessions` never holds expiry back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "addr.h"
#include "clock.h"
#include "agent.h"
#include "log.h"
#include "maps.h"
#include "records.h"
#include "sesstab.h"
#include "xsl/maps.h"

/* Buckets (8 ways each) scanned between two looks at the clock and the
 * event queue: well under a millisecond. */
#define GC_CHUNK	256
/* Work per call before the loop gets its turn back. */
#define GC_SLICE_NS	(5 * 1000000ull)
/* Slots probed after the hashed one, as the data path (bpf/session.h
 * XSL_PICK_PROBES). */
#define GC_PICK_PROBES	8
/* Listeners' slot tables kept while re-homing (direct-mapped). */
#define GC_SLOT_CACHE	4

enum { EXPIRE_IDLE, EXPIRE_CLOSED, EXPIRE_APP_GONE };

struct xsl_gc_state {
	bool mid_pass;
	uint32_t cursor;		/* next bucket of the pass */
	uint64_t pass_start_ns, pass_work_ns;	/* for the debug log */
	void *mem;			/* the table's mapping, made on first use */
	size_t len;
	struct sesstab tab;
	uint64_t app_count[XSL_MAX_APPS];
	/* sessions of worker w made for its generation wrk_gen[w], this pass */
	uint32_t wrk_count[XSL_MAX_WORKERS];
	uint32_t wrk_gen[XSL_MAX_WORKERS];
	/* the same, as of the last complete pass */
	uint32_t wrk_published[XSL_MAX_WORKERS];
	uint32_t wrk_published_gen[XSL_MAX_WORKERS];
	uint64_t duplicates;		/* removed since start */
	/* slot tables as the mirror writes them, valid until the registry
	 * may have changed (the next chunk) */
	struct gc_slots {
		bool valid;
		uint32_t listener;
		struct xsl_listener l;
		struct xsl_slot_table tab;
	} slots[GC_SLOT_CACHE];
};

int gc__init(struct agent *a)
{
	a->gc = calloc(1, sizeof(*a->gc));
	return a->gc ? 0 : -ENOMEM;
}

void gc__free(struct agent *a)
{
	if (a->gc)
		xsl_maps__munmap_sessions(a->gc->mem, a->gc->len);
	free(a->gc);
	a->gc = NULL;
}

/* The table, mapped on first use; NULL (logged once) when it cannot be. */
static struct sesstab *gc_table(struct agent *a)
{
	struct xsl_gc_state *g = a->gc;
	int err;

	if (g->mem)
		return &g->tab;
	if (a->maps.sessions < 0)
		return NULL;
	err = xsl_maps__mmap_sessions(a->maps.sessions, &g->mem, &g->len);
	if (!err) {
		err = sesstab__open(&g->tab, g->mem, g->len);
		if (err) {
			xsl_maps__munmap_sessions(g->mem, g->len);
			g->mem = NULL;
		}
	}
	if (err) {
		pr_warn("gc: map %s: %s\n", XSL_MAP_SESSIONS, strerror(-err));
		return NULL;
	}
	return &g->tab;
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

struct pass_ctx {
	struct agent *a;
	struct sesstab *t;
	uint64_t now;
};

/* The listener's record and slot table as mirrored into the maps, or NULL. */
static const struct gc_slots *slots_of(struct agent *a, uint32_t listener)
{
	struct gc_slots *c = &a->gc->slots[listener % GC_SLOT_CACHE];
	struct xsl_listener_key key;

	if (c->valid && c->listener == listener)
		return c;
	if (!registry__listener(a->reg, listener) ||
	    records__listener(a->reg, listener, &key, &c->l, &c->tab))
		return NULL;
	c->valid = true;
	c->listener = listener;
	return c;
}

static void slots_forget(struct xsl_gc_state *g)
{
	for (unsigned int i = 0; i < GC_SLOT_CACHE; i++)
		g->slots[i].valid = false;
}

/*
 * The worker the data path picks for a new flow with this hash to the
 * listener (bpf/session.h xsl_worker_pick): the hashed slot, else the next
 * XSL_PICK_PROBES ones, the first naming a live worker of the listener's
 * app. 0 with *worker and *gen, or -ENOENT.
 */
static int pick_worker(struct agent *a, uint32_t listener, uint32_t app, uint32_t hash,
		       uint32_t *worker, uint32_t *gen)
{
	const struct gc_slots *c = slots_of(a, listener);

	if (!c || c->l.app != app || !c->l.n_workers)
		return -ENOENT;
	for (uint32_t i = 0; i <= GC_PICK_PROBES; i++) {
		const struct xsl_slot *sl = &c->tab.slot[(hash % XSL_TABLE_SLOTS + i) %
							  XSL_TABLE_SLOTS];
		const struct reg_worker *rw = registry__worker(a->reg, sl->worker);

		if (rw && rw->gen == sl->gen && rw->app == app) {
			*worker = sl->worker;
			*gen = sl->gen;
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * A session whose worker is gone, of an app with policy reassign, moves to
 * the worker the data path would pick: one CAS of its route (lost to the
 * data path doing the same, or to a delete: fine). *s follows on success.
 */
static void rehome(struct pass_ctx *p, const struct sesstab_way *w, const struct xsl_flow_key *k,
		   struct xsl_session *s)
{
	const struct reg_worker *rw = registry__worker(p->a->reg, s->worker);
	const struct reg_app *ra = registry__app(p->a->reg, s->app);
	struct xsl_sess_pos pos;
	uint32_t worker, gen;

	if ((rw && rw->gen == s->worker_gen) || !ra || ra->policy != XSL_POLICY_REASSIGN)
		return;
	sesstab__place(p->t, k, &pos);
	if (pick_worker(p->a, s->listener, s->app, pos.hash, &worker, &gen))
		return;
	if (sesstab__rehome(p->t, w, xsl_route(s->worker, s->worker_gen, s->app, s->listener),
			    xsl_route(worker, gen, s->app, s->listener)))
		return;
	s->worker = worker;
	s->worker_gen = gen;
	p->a->c.gc_rehomed++;
}

/* One session of the pass: counts the live, deletes the expired, re-homes
 * those of a gone worker. */
static int gc_one(const struct sesstab_way *w, const struct xsl_flow_key *k,
		  const struct xsl_session *cs, void *ctx)
{
	struct pass_ctx *p = ctx;
	struct agent *a = p->a;
	struct xsl_session one = *cs, *s = &one;
	int why = expiry(a, s, p->now);

	if (why < 0 && sesstab__duplicate(p->t, w, k)) {
		if (!sesstab__delete(p->t, w))
			a->gc->duplicates++;
		return 0;
	}
	if (why < 0) {
		rehome(p, w, k, s);
		if (s->app < XSL_MAX_APPS)
			a->gc->app_count[s->app]++;
		count_worker(a, s);
		return 0;
	}
	if (!sesstab__delete(p->t, w) && why != EXPIRE_APP_GONE && s->app < XSL_MAX_APPS)
		a->apps[s->app].expired[why]++;
	return 0;
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

bool gc__busy(const struct agent *a)
{
	return a->gc && a->gc->mid_pass;
}

void gc__tick(struct agent *a)
{
	struct xsl_gc_state *g = a->gc;
	struct pass_ctx p = { .a = a };
	uint64_t start = mono_ns();

	if (!g)
		return;
	p.t = gc_table(a);
	if (!p.t)
		return;
	if (!g->mid_pass) {
		g->cursor = 0;
		g->mid_pass = true;
		g->pass_start_ns = start;
		g->pass_work_ns = 0;
	}
	do {
		uint64_t t0 = mono_ns();

		p.now = t0;
		slots_forget(g);
		g->cursor = sesstab__scan(p.t, g->cursor, GC_CHUNK, gc_one, &p);
		g->pass_work_ns += mono_ns() - t0;
		if (g->cursor >= p.t->nbuckets) {
			g->mid_pass = false;
			pr_debug("gc: pass over %u buckets: %llu us of work in %llu ms\n",
				 p.t->nbuckets, (unsigned long long)(g->pass_work_ns / 1000),
				 (unsigned long long)((mono_ns() - g->pass_start_ns) / 1000000));
			publish(a);
			return;
		}
		/* no state of the pass is held across this */
		agent__events_drain(a);
	} while (mono_ns() - start < GC_SLICE_NS);
}

struct flush_ctx {
	struct agent *a;
	struct sesstab *t;
	uint32_t app;
};

/*
 * The pass in progress may have counted some of these sessions already and
 * will not see the rest: whatever it counted for their worker (same gen)
 * is dropped, so nothing deleted here is published.
 */
static int flush_one(const struct sesstab_way *w, const struct xsl_flow_key *k,
		     const struct xsl_session *s, void *ctx)
{
	struct flush_ctx *f = ctx;
	struct xsl_gc_state *g = f->a->gc;

	(void)k;
	if (s->app != f->app)
		return 0;
	if (s->worker < XSL_MAX_WORKERS) {
		if (g->wrk_gen[s->worker] == s->worker_gen)
			g->wrk_count[s->worker] = 0;
		if (g->wrk_published_gen[s->worker] == s->worker_gen)
			g->wrk_published[s->worker] = 0;
	}
	sesstab__delete(f->t, w);
	return 0;
}

/*
 * Deletes app's sessions without restarting the pass in progress: its
 * count for app starts again from here (sessions made after the flush and
 * already behind the cursor are missed until the next pass, never counted
 * twice).
 */
int gc__flush_app(struct agent *a, uint32_t app)
{
	struct flush_ctx f = { .a = a, .app = app };

	if (!a->gc || app >= XSL_MAX_APPS)
		return -EINVAL;
	f.t = gc_table(a);
	if (!f.t)
		return -ENODEV;
	a->gc->app_count[app] = 0;
	sesstab__scan(f.t, 0, f.t->nbuckets, flush_one, &f);
	a->apps[app].sessions = 0;
	return 0;
}

#define SHARERS_CACHE 256

struct list_ctx {
	struct agent *a;
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

static int list_one(const struct sesstab_way *w, const struct xsl_flow_key *k,
		    const struct xsl_session *s, void *ctx)
{
	struct list_ctx *l = ctx;
	struct agent *a = l->a;
	const struct reg_worker *rw;
	char remote[64], local[64];
	int map_index = -1, shared = 0, instance = 0;
	const char *app;
	uint32_t pid = 0;

	(void)w;
	if (l->app != XSL_NO_APP && s->app != l->app)
		return 0;
	l->total++;
	if (json_array_size(l->arr) >= l->limit)
		return 0;
	addr__endpoint(k->family, k->raddr, k->rport, remote, sizeof(remote));
	addr__endpoint(k->family, k->laddr, k->lport, local, sizeof(local));
	app = registry__app_name(a->reg, s->app);
	rw = registry__worker(a->reg, s->worker);
	/*
	 * A pid only when xsl knows who gets the flow: the session's own
	 * worker (not a dead one's), holding a socket of its own. A socket
	 * shared by several holders goes to whichever the kernel wakes. The
	 * instance is its worker's, also then; 0 when that worker is gone.
	 */
	if (rw && rw->gen == s->worker_gen) {
		instance = rw->instance;
		shared = sharers(a, l, s->listener, s->worker);
		shared = shared > 1 ? shared : 0;
		if (!shared) {
			map_index = (int)rw->map_index;
			pid = rw->pid;
		}
	}
	json_array_append_new(
		l->arr,
		json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:i, s:i, s:s, s:b, s:I, s:I, s:I}",
			  "proto", addr__proto(k->proto), "remote", remote, "local", local, "app",
			  app ? app : "-", "worker", s->worker, "map_index", map_index, "pid",
			  (json_int_t)pid, "shared", shared, "instance", instance, "state",
			  s->state == XSL_SESSION_CLOSING ? "closing" : "open", "assured",
			  !!(s->flags & XSL_SESSION_F_ASSURED), "packets",
			  (json_int_t)s->packets, "bytes", (json_int_t)s->bytes, "idle_ms",
			  (json_int_t)(l->now > s->last_seen_ns ?
					       (l->now - s->last_seen_ns) / 1000000 : 0)));
	return 0;
}

int gc__list_sessions(struct agent *a, uint32_t app, uint32_t limit, json_t *arr, uint64_t *total)
{
	struct list_ctx l = { .a = a, .app = app, .limit = limit, .arr = arr, .now = mono_ns() };
	struct sesstab *t;

	if (!a->gc)
		return -EINVAL;
	t = gc_table(a);
	if (!t)
		return -ENODEV;
	sesstab__scan(t, 0, t->nbuckets, list_one, &l);
	*total = l.total;
	return 0;
}
