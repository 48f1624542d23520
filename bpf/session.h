/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Sessions, listeners and worker choice, on a struct xsl_flow_key that the
 * caller has built (XDP from the packet, sk_lookup from struct bpf_sk_lookup).
 * No packet parsing here, and no verdicts: functions return 0 or a negative
 * errno and the hook decides what that means for its packet.
 *
 * Errors shared by these functions:
 *   -ENOENT     no live worker serves the listener (drop reason NO_WORKER)
 *   -ESHUTDOWN  the session's worker is gone and its app's policy is DROP
 *               (drop reason WORKER_GONE)
 *   -ESTALE     the session's app is gone: the session is garbage, the caller
 *               deletes it and handles the flow as new
 *   -ENOSPC     the session table refused a new flow (no way it may take):
 *               the caller delivers it statelessly to the picked worker
 *
 * The table itself (lookup, claim, delete) is in sesstab.h.
 *
 * A worker "serves" an app when its slot in xsl_workers is LIVE and both its
 * own gen and its (app, app_gen) match the reference being checked; indexes
 * are reused, so a stale (index, gen) never matches the new owner.
 *
 * The session counters (SESSION_CREATED, _REASSIGNED, _EVICTED, _REFUSED, per
 * app and per worker) are counted here so every hook counts them the same way; per-packet
 * counters are left to the hook.
 */
#ifndef XSL_BPF_SESSION_H
#define XSL_BPF_SESSION_H

#include <linux/errno.h>
#include <bpf/bpf_endian.h>
#include "maps.h"
#include "stats.h"
#include "xsl/hash.h"
#include "sesstab.h"

/* One load of a field userspace or another CPU may rewrite meanwhile. */
#define XSL_READ_ONCE(x)	(*(volatile typeof(x) *)&(x))

/* Slots probed after the hashed one before giving up on a new flow. */
#define XSL_PICK_PROBES	8

/* The worker a session is (or will be) delivered to. */
struct xsl_target {
	struct xsl_worker *w;	/* its xsl_workers value */
	__u32 worker;		/* its index */
	__u32 gen;		/* its gen as validated */
};

/*
 * Non-zero when the agent's port filter (xsl_ports) says no listener has the
 * key's (family, proto, local port), so the listener lookups would miss. 0
 * when the filter is off (enabled 0: no agent wrote it yet) or the bit is
 * set. The agent sets a bit before the listener appears and clears it after
 * the listener is gone: a listener in the map always has its bit.
 */
static __always_inline int xsl_port_not_ours(const struct xsl_flow_key *k)
{
	__u32 zero = 0, bit;
	struct xsl_port_filter *f = bpf_map_lookup_elem(&xsl_ports, &zero);

	if (!f || !f->enabled)
		return 0;
	bit = xsl_port_bit(k->family, k->proto, bpf_ntohs(k->lport));
	/* bit < XSL_PORT_BITS already; the mask says so to the verifier */
	return !(f->bits[(bit / 64) & (XSL_PORT_WORDS - 1)] & (1ULL << (bit % 64)));
}

/*
 * Zero when the port filter says every listener of the key's (family, proto,
 * local port) is a wildcard one (its wild bit, records.h), so an
 * exact-address lookup would miss; non-zero otherwise or with the filter
 * off.
 */
static __always_inline int xsl_port_maybe_exact(const struct xsl_flow_key *k)
{
	__u32 zero = 0, bit;
	struct xsl_port_filter *f = bpf_map_lookup_elem(&xsl_ports, &zero);

	if (!f || !f->enabled)
		return 1;
	bit = xsl_port_bit(k->family, k->proto, bpf_ntohs(k->lport));
	return !(f->wild[(bit / 64) & (XSL_PORT_WORDS - 1)] & (1ULL << (bit % 64)));
}

/*
 * The listener for the key's local side: exact address first (unless the
 * port has wildcard listeners only), then wildcard;
 * for IPv4 last the v6 wildcard when it is dual-stack (XSL_LISTENER_F_DUAL),
 * as the kernel delivers IPv4 to a [::] socket without IPV6_V6ONLY.
 */
static __always_inline struct xsl_listener *xsl_listener_find(const struct xsl_flow_key *k)
{
	struct xsl_listener_key lk;
	struct xsl_listener *l;

	lk.family = k->family;
	lk.proto = k->proto;
	lk.port = k->lport;
	lk.addr[0] = k->laddr[0];
	lk.addr[1] = k->laddr[1];
	lk.addr[2] = k->laddr[2];
	lk.addr[3] = k->laddr[3];
	if (xsl_port_maybe_exact(k)) {
		l = bpf_map_lookup_elem(&xsl_listeners, &lk);
		if (l)
			return l;
	}
	__builtin_memset(lk.addr, 0, sizeof(lk.addr));
	l = bpf_map_lookup_elem(&xsl_listeners, &lk);
	if (l || k->family != XSL_AF_INET)
		return l;
	lk.family = XSL_AF_INET6;
	l = bpf_map_lookup_elem(&xsl_listeners, &lk);
	return l && (XSL_READ_ONCE(l->flags) & XSL_LISTENER_F_DUAL) ? l : NULL;
}

/* The app if it is LIVE with this gen, else NULL. */
static __always_inline struct xsl_app *xsl_app_get(__u32 app, __u32 gen)
{
	struct xsl_app *a = bpf_map_lookup_elem(&xsl_apps, &app);

	if (!a || a->state != XSL_APP_LIVE || a->gen != gen)
		return NULL;
	return a;
}

/* The worker if it is LIVE with this gen, else NULL. */
static __always_inline struct xsl_worker *xsl_worker_get(__u32 worker, __u32 gen)
{
	struct xsl_worker *w = bpf_map_lookup_elem(&xsl_workers, &worker);

	if (!w || w->state != XSL_WORKER_LIVE || w->gen != gen)
		return NULL;
	return w;
}

/* The worker if it is live and belongs to (app, app_gen), else NULL. */
static __always_inline struct xsl_worker *xsl_worker_serving(__u32 worker, __u32 gen,
							     __u32 app, __u32 app_gen)
{
	struct xsl_worker *w = xsl_worker_get(worker, gen);

	if (!w || w->app != app || w->app_gen != app_gen)
		return NULL;
	return w;
}

/*
 * Picks the worker for a flow hash from a listener's table: the slot
 * hash % XSL_TABLE_SLOTS, or when that one names no serving worker (a worker
 * died and the agent has not rebuilt the table yet) the next XSL_PICK_PROBES
 * slots. Returns 0 with *t filled, or -ENOENT.
 */
static __always_inline int xsl_worker_pick(__u32 listener, __u32 app, __u32 app_gen,
					   __u32 hash, struct xsl_target *t)
{
	struct xsl_slot_table *tab = bpf_map_lookup_elem(&xsl_slots, &listener);
	__u32 base = hash % XSL_TABLE_SLOTS;
	int i;

	if (!tab)
		return -ENOENT;
	for (i = 0; i <= XSL_PICK_PROBES; i++) {
		__u32 idx = base + i;
		struct xsl_worker *w;
		__u32 worker, gen;

		if (idx >= XSL_TABLE_SLOTS)
			idx -= XSL_TABLE_SLOTS;
		/* The verifier does not bound a modulo: say it again. */
		if (idx >= XSL_TABLE_SLOTS)
			return -ENOENT;

		/* The agent rewrites slots live: read each field once. */
		worker = XSL_READ_ONCE(tab->slot[idx].worker);
		gen = XSL_READ_ONCE(tab->slot[idx].gen);
		w = xsl_worker_serving(worker, gen, app, app_gen);
		if (w) {
			t->w = w;
			t->worker = worker;
			t->gen = gen;
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * Now, for last_seen: jiffies (include/xsl/session.h), one load once the
 * verifier has inlined the helper. Userspace converts them to
 * CLOCK_MONOTONIC; idle timeouts are in seconds.
 */
static __always_inline __u64 xsl_now(void)
{
	return bpf_jiffies64();
}

/*
 * Counts packets on a session: plain adds (RSS keeps a flow on one CPU; a
 * lost count on a flow spread over CPUs is acceptable). The shared tag line
 * is written at most once per tick.
 */
static __always_inline void xsl_session_touch(const struct xsl_sref *r, __u32 packets, __u64 bytes,
					      __u64 now)
{
	struct xsl_sess_entry *e = &r->b->e[r->way & 7];
	__u16 tick = (__u16)(now >> XSL_TICK_SHIFT);

	e->packets += packets;
	e->bytes += bytes;
	e->last_seen = (__u32)now;
	if (XSL_READ_ONCE(r->b->t.seen[r->way & 7]) != tick)
		r->b->t.seen[r->way & 7] = tick;
}

/* The hook creating a session: XDP, or sk_lookup (which follows XDP when
 * XDP runs on the packet's device). */
#define XSL_BY_XDP	0
#define XSL_BY_SK	1

/*
 * Counts a flow the table refused, once per packet although XDP and then
 * sk_lookup both try to create its session: XDP counts it and marks it in
 * xsl_refused; sk_lookup counts only a flow not marked there, one that came
 * by a path without XDP (loopback, a device without xsl's XDP). A mark
 * overwritten by another refused flow of the same slot before sk_lookup
 * reads it costs one count too many.
 */
static __always_inline void xsl_count_refused(struct xsl_stats *st, const struct xsl_sess_ctx *c,
					      int by)
{
	__u32 zero = 0, slot = c->pos.hash & (XSL_REFUSED_SLOTS - 1), mark = c->pos.hash | 1;
	struct xsl_refused_marks *m = bpf_map_lookup_elem(&xsl_refused, &zero);

	if (by == XSL_BY_SK && m && XSL_READ_ONCE(m->tag[slot]) == mark)
		return;
	if (by == XSL_BY_XDP && m && XSL_READ_ONCE(m->tag[slot]) != mark)
		m->tag[slot] = mark;
	xsl_count(st, XSL_STAT_SESSION_REFUSED);
}

/*
 * Creates the session of a new flow to listener l, whose app the caller has
 * checked is live: picks a worker with the flow hash and claims a way with
 * its first packets/bytes already counted (a way holding an older flow may
 * be taken, see sesstab.h). Returns 0 with *t and *r filled, -ENOENT when
 * no worker serves l, or -ENOSPC with *t filled when the table refuses the
 * flow: the caller delivers it statelessly to t (the same worker while the
 * worker set is unchanged); it is counted refused here, once per packet
 * (xsl_count_refused). by is XSL_BY_XDP or XSL_BY_SK, the hook asking.
 */
static __always_inline int xsl_session_create_by(struct xsl_stats *st,
						 const struct xsl_sess_ctx *c,
						 const struct xsl_flow_key *k,
						 const struct xsl_listener *l, __u64 now,
						 __u32 packets, __u64 bytes, __u8 state,
						 struct xsl_target *t, struct xsl_sref *r, int by)
{
	__u32 index = l->index, app = l->app, app_gen = l->app_gen;
	struct xsl_sess_init in;
	int err, w;

	if (!l->n_workers)
		return -ENOENT;
	err = xsl_worker_pick(index, app, app_gen, c->pos.hash, t);
	if (err)
		return err;

	__builtin_memset(&in, 0, sizeof(in));
	in.route = xsl_route(t->worker, t->gen, app, index);
	in.bytes = bytes;
	in.packets = packets;
	in.seen = (__u32)now;
	in.tick = (__u16)(now >> XSL_TICK_SHIFT);
	in.state = state;
	in.tag = c->pos.tag;
	in.b1 = c->pos.b1;
	in.b2 = c->pos.b2;
	in.mask = c->h ? XSL_READ_ONCE(c->h->mask) : 0;
	in.hz = c->h ? XSL_READ_ONCE(c->h->hz) : 0;
	w = c->h ? xsl_sess_claim(k, &in) : -ENOSPC;
	if (w >= 0 && (w & XSL_CLAIM_EVICTED))
		xsl_count(st, XSL_STAT_SESSION_EVICTED);
	if (w < 0) {
		xsl_count_refused(st, c, by);
		return -ENOSPC;
	}
	r->bucket = w & XSL_CLAIM_SECOND ? c->pos.b2 : c->pos.b1;
	r->b = xsl_bucket(r->bucket);
	r->way = w & 7;
	r->tag = c->pos.tag;
	r->route = in.route;
	/* the way is published: a missing bucket here cannot happen */
	if (!r->b)
		return -ENOSPC;
	xsl_count_created(st, app, t->worker);
	return 0;
}

/* xsl_session_create_by() for the XDP program. */
static __always_inline int xsl_session_create(struct xsl_stats *st, const struct xsl_sess_ctx *c,
					      const struct xsl_flow_key *k,
					      const struct xsl_listener *l, __u64 now,
					      __u32 packets, __u64 bytes, __u8 state,
					      struct xsl_target *t, struct xsl_sref *r)
{
	return xsl_session_create_by(st, c, k, l, now, packets, bytes, state, t, r, XSL_BY_XDP);
}

/*
 * Resolves the worker of a found session. A live worker is returned as is.
 * A gone one (FREE, or its index reused with another gen) is handled per the
 * app's policy: REASSIGN re-picks from the session's listener table with the
 * flow hash and moves the session there (one CAS of the route, counted),
 * DROP fails with -ESHUTDOWN. Returns 0 with *t filled, or -ESHUTDOWN,
 * -ENOENT, -ESTALE.
 *
 * The route stores no app gen, so the app is checked by index: LIVE is
 * enough, and a re-picked worker must belong to the app's current gen.
 */
static __always_inline int xsl_session_resolve(struct xsl_stats *st, const struct xsl_sess_ctx *c,
					       struct xsl_sref *r, struct xsl_target *t)
{
	__u64 route = r->route;
	__u32 worker = xsl_route_worker(route), gen = xsl_route_gen(route);
	__u32 app = xsl_route_app(route), listener = xsl_route_listener(route);
	struct xsl_worker *w = xsl_worker_get(worker, gen);
	struct xsl_app *a;
	__u64 moved;
	int err;

	if (w) {
		t->w = w;
		t->worker = worker;
		t->gen = gen;
		return 0;
	}
	a = bpf_map_lookup_elem(&xsl_apps, &app);
	if (!a || a->state != XSL_APP_LIVE)
		return -ESTALE;
	if (a->policy != XSL_POLICY_REASSIGN)
		return -ESHUTDOWN;
	err = xsl_worker_pick(listener, app, a->gen, c->pos.hash, t);
	if (err)
		return err;
	/* Racing CPUs pick the same worker from the same hash: one CAS wins. */
	moved = xsl_route(t->worker, t->gen, app, listener);
	if (__sync_val_compare_and_swap(&r->b->e[r->way & 7].route, route, moved) == route)
		xsl_count_reassigned(st, app);
	r->route = moved;
	return 0;
}

/* Moves the session to the worker t names (a socket-driven re-pick). */
static __always_inline void xsl_session_rehome(struct xsl_sref *r, const struct xsl_target *t)
{
	__u64 moved = xsl_route(t->worker, t->gen, xsl_route_app(r->route),
				xsl_route_listener(r->route));

	__sync_val_compare_and_swap(&r->b->e[r->way & 7].route, r->route, moved);
	r->route = moved;
}

#endif /* XSL_BPF_SESSION_H */
