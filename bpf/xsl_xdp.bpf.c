// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * XDP fast path (DESIGN.md "Data path"): parse to a TCP/UDP flow key, find
 * or create its session, deliver it to the session's worker (XDP_PASS, or a
 * cpumap redirect to the worker's CPU when the app steers).
 *
 * Verdicts: anything not parsed, not ours or not a new flow passes untouched;
 * the only drops are the counted reasons of xsl_drop(). Each packet counts
 * exactly one stat[XDP_*] at the single exit of xsl_xdp().
 *
 * Loadable by `ip link set dev DEV xdp obj xsl_xdp.bpf.o sec xdp` (one
 * program, maps pinned by name) and by libxdp.
 *
 * Chaining (`xslctl xdp attach DEV --then PROG`, docs/xdp-coexist.md): every
 * packet whose verdict is XDP_PASS is then tail-called into slot 0 of
 * xsl_xdp_next, the operator's XDP program, whose verdict is final. The map
 * is not pinned: each attached copy of this program has its own, so each
 * device its own next program. Empty (the usual case), the tail call does
 * nothing and the packet passes. A chained copy (xsl_chained) makes no
 * session for a new flow: the next program may drop the packet, so sk_lookup
 * makes it for the packets that reach the stack; nor does it steer a packet
 * to a CPU, past the next program.
 */
/* The table's claim inlined: no call on a create (bpf/sesstab.h). */
#define XSL_SESS_CLAIM_INLINE
#include "maps.h"
#include "parse.h"
#include "flow_parse.h"
#include "stats.h"
#include "session.h"

#define XSL_TCP_FIN	0x01
#define XSL_TCP_SYN	0x02
#define XSL_TCP_RST	0x04
#define XSL_TCP_ACK	0x10

/* Not a verdict: look the session up again (a stale one was removed). */
#define XSL_RETRY	(-1)

/* Set by the agent before loading a copy it chains (--then); see the top. */
const volatile __u8 xsl_chained = 0;

/* XDP_PASS, or the redirect to the worker's CPU when the app steers. */
static __always_inline int xsl_deliver(struct xsl_target *t, __u32 app, struct xsl_app *a)
{
	__s32 cpu = XSL_READ_ONCE(t->w->cpu);

	if (cpu < 0 || xsl_chained)
		return XDP_PASS;
	if (!a)
		a = bpf_map_lookup_elem(&xsl_apps, &app);
	if (!a || !(a->flags & XSL_APP_F_CPU_STEER))
		return XDP_PASS;
	/* No cpumap entry for that CPU: the fallback action, XDP_PASS. */
	return bpf_redirect_map(&xsl_cpumap, (__u32)cpu, XDP_PASS);
}

/*
 * FIN or RST marks the session CLOSING (the agent expires it after the
 * linger); a new SYN on the same 4-tuple is a new connection (xsl_on_hit).
 * The client's ACK of the handshake (no SYN) makes it assured. Each bit is
 * written only when it changes.
 */
static __always_inline void xsl_tcp_track(struct xsl_stats *st, const struct xsl_sref *r,
					  __u8 flags)
{
	__u8 state = xsl_way_state(r->b, r->way);

	if (flags & (XSL_TCP_FIN | XSL_TCP_RST)) {
		if (!(state & XSL_WAY_CLOSING)) {
			xsl_way_set(r->b, r->way, XSL_WAY_CLOSING);
			xsl_count(st, XSL_STAT_SESSION_CLOSING);
		}
	} else if ((flags & (XSL_TCP_SYN | XSL_TCP_ACK)) == XSL_TCP_ACK &&
		   !(state & XSL_WAY_ASSURED)) {
		xsl_way_set(r->b, r->way, XSL_WAY_ASSURED);
		xsl_count(st, XSL_STAT_SESSION_ASSURED);
	}
}

static __always_inline int xsl_on_hit(struct xsl_stats *st, struct xsl_pkt *p,
				      const struct xsl_sess_ctx *c, struct xsl_sref *r)
{
	__u32 app = xsl_route_app(r->route);
	struct xsl_target t;
	int err;

	/* A SYN after the 4-tuple's connection closed (a client reusing its
	 * port) opens a new connection: it is placed like any new flow, e.g.
	 * on the instance taking new sessions, not on the old one's worker. */
	if (p->key.proto == IPPROTO_TCP &&
	    (p->tcp_flags & (XSL_TCP_SYN | XSL_TCP_ACK)) == XSL_TCP_SYN &&
	    (xsl_way_state(r->b, r->way) & XSL_WAY_CLOSING))
		err = -ESTALE;
	else
		err = xsl_session_resolve(st, c, r, &t);
	if (err == -ESTALE) {
		xsl_sess_delete(c, r);
		return XSL_RETRY;
	}
	xsl_count(st, XSL_STAT_LOOKUP_HIT);
	if (err == -ESHUTDOWN)
		return xsl_drop(st, XSL_DROP_WORKER_GONE, app);
	if (err)
		return xsl_drop(st, XSL_DROP_NO_WORKER, app);

	xsl_session_touch(r, 1, p->bytes, xsl_now());
	if (p->key.proto == IPPROTO_TCP)
		xsl_tcp_track(st, r, p->tcp_flags);
	xsl_count_delivery(t.worker, p->bytes);
	return xsl_deliver(&t, app, NULL);
}

static __always_inline int xsl_on_miss(struct xsl_stats *st, struct xsl_pkt *p,
				       const struct xsl_sess_ctx *c)
{
	struct xsl_listener *l;
	struct xsl_target t;
	struct xsl_sref r;
	struct xsl_app *a;
	__u32 app;
	int err;

	xsl_count(st, XSL_STAT_LOOKUP_MISS);
	l = xsl_listener_find(&p->key);
	if (!l) {
		xsl_count(st, XSL_STAT_NOT_OURS);
		return XDP_PASS;
	}
	/* Only a SYN opens a TCP session; the rest is the stack's business. */
	if (p->key.proto == IPPROTO_TCP &&
	    (p->tcp_flags & (XSL_TCP_SYN | XSL_TCP_ACK)) != XSL_TCP_SYN) {
		xsl_count(st, XSL_STAT_TCP_MISS_NOT_SYN);
		return XDP_PASS;
	}
	app = l->app;
	a = xsl_app_get(app, l->app_gen);
	if (!a) {
		xsl_count(st, XSL_STAT_NOT_OURS);
		return XDP_PASS;
	}
	if (xsl_chained)
		return XDP_PASS;

	err = xsl_session_create(st, c, &p->key, l, xsl_now(), 1, p->bytes, 0, &t, &r);
	if (err == -ENOENT)
		return xsl_drop(st, XSL_DROP_NO_WORKER, app);
	/* -ENOSPC: refused by a full table, delivered statelessly to t */
	if (err && err != -ENOSPC)
		return xsl_drop(st, XSL_DROP_SESSION_CREATE, app);
	xsl_count_delivery(t.worker, p->bytes);
	return xsl_deliver(&t, app, a);
}

static __always_inline int xsl_process(struct xdp_md *ctx, struct xsl_stats *st)
{
	struct xsl_sess_ctx c;
	struct xsl_sref r;
	struct xsl_pkt p;
	int err, act;

	err = xsl_parse(ctx, &p);
	if (err) {
		xsl_count_parse(st, -err - 1);
		return XDP_PASS;
	}

	/*
	 * A port no listener has is not ours, before any lookup: the agent sets
	 * a port's bit before its first listener appears and clears it after
	 * the last one is gone, so a session on a clear port has no socket left
	 * to reach and the stack may have the packet untouched.
	 */
	if (xsl_port_not_ours(&p.key)) {
		xsl_count(st, XSL_STAT_NOT_OURS);
		return XDP_PASS;
	}

	/* The one hash of the packet: bucket, tag and listener slot. */
	__builtin_memset(&r, 0, sizeof(r));
	xsl_sess_ctx_init(&c, &p.key);
	if (xsl_sess_find(&c, &p.key, &r)) {
		act = xsl_on_hit(st, &p, &c, &r);
		if (act != XSL_RETRY)
			return act;
	}
	/* No session, or a stale one removed: the flow is new. */
	return xsl_on_miss(st, &p, &c);
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} xsl_xdp_next SEC(".maps");

SEC("xdp")
int xsl_xdp(struct xdp_md *ctx)
{
	struct xsl_stats *st = xsl_stats_get();
	int act = xsl_count_action(st, xsl_process(ctx, st));

	/* Does not return when a next program is set. */
	if (act == XDP_PASS)
		bpf_tail_call(ctx, &xsl_xdp_next, 0);
	return act;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
