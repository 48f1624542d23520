// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sk_lookup: hands each session's packets to its worker's own socket.
 *
 * For a packet to a listener of a live app, the session is found (or created
 * the way XDP creates it, for paths where no XDP runs, e.g. loopback) and the
 * worker's socket for that listener is taken from xsl_wsocks and assigned
 * with BPF_SK_LOOKUP_F_NO_REUSEPORT. When the session's worker has no socket,
 * another serving worker that has one is picked and the session fixed; only
 * when none has one is the packet dropped (counted), never misdelivered to
 * some other socket on the port. Packets to other ports are left alone,
 * cheaply when the agent's port filter (xsl_ports) says nobody listens there.
 */
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include "maps.h"
#include "stats.h"
#include "session.h"

/* Slots walked looking for a serving worker that holds a socket. */
#define XSL_SK_PROBES	32

static __always_inline int xsl_sk_drop(struct xsl_stats *st, enum xsl_drop_reason reason,
				       __u32 app)
{
	xsl_drop(st, reason, app);
	xsl_count(st, XSL_STAT_SK_DROP);
	return SK_DROP;
}

/*
 * One 32-bit context field, loaded at its own offset from ctx: clang may
 * otherwise compute ctx + 16 once for the IPv6 words, and the verifier
 * refuses a load through a modified context pointer.
 */
#define XSL_SK_U32(ctx, field)							\
	({									\
		__u32 __v;							\
		asm volatile("%0 = *(u32 *)(%1 + %2)"				\
			     : "=r"(__v)					\
			     : "r"(ctx), "i"(__builtin_offsetof(struct bpf_sk_lookup, field))); \
		__v;								\
	})

static __always_inline void xsl_sk_key(const struct bpf_sk_lookup *ctx, struct xsl_flow_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->family = (__u8)ctx->family;
	k->proto = (__u8)ctx->protocol;
	k->rport = (__be16)ctx->remote_port;
	/* local_port is in host byte order, unlike remote_port */
	k->lport = bpf_htons((__u16)ctx->local_port);
	if (ctx->family == XSL_AF_INET) {
		k->raddr[0] = XSL_SK_U32(ctx, remote_ip4);
		k->laddr[0] = XSL_SK_U32(ctx, local_ip4);
	} else {
		k->raddr[0] = XSL_SK_U32(ctx, remote_ip6[0]);
		k->raddr[1] = XSL_SK_U32(ctx, remote_ip6[1]);
		k->raddr[2] = XSL_SK_U32(ctx, remote_ip6[2]);
		k->raddr[3] = XSL_SK_U32(ctx, remote_ip6[3]);
		k->laddr[0] = XSL_SK_U32(ctx, local_ip6[0]);
		k->laddr[1] = XSL_SK_U32(ctx, local_ip6[1]);
		k->laddr[2] = XSL_SK_U32(ctx, local_ip6[2]);
		k->laddr[3] = XSL_SK_U32(ctx, local_ip6[3]);
	}
}

/* The worker's socket for the listener, or NULL (caller releases it). */
static __always_inline struct bpf_sock *xsl_wsock(__u32 listener, __u32 worker)
{
	struct xsl_wsock_key wk = { .listener = listener, .worker = worker };

	return bpf_map_lookup_elem(&xsl_wsocks, &wk);
}

/*
 * Walks the listener's table from the flow's slot for a serving worker that
 * holds a socket. Returns the socket (caller releases) with *t filled, or
 * NULL.
 */
static __always_inline struct bpf_sock *xsl_pick_with_socket(const struct xsl_listener *l,
							     __u32 hash, struct xsl_target *t)
{
	__u32 listener = l->index, app = l->app, app_gen = l->app_gen;
	struct xsl_slot_table *tab = bpf_map_lookup_elem(&xsl_slots, &listener);
	__u32 base = hash % XSL_TABLE_SLOTS;
	int i;

	if (!tab)
		return NULL;
	for (i = 0; i < XSL_SK_PROBES; i++) {
		__u32 idx = base + i, worker, gen;
		struct bpf_sock *sk;
		struct xsl_worker *w;

		if (idx >= XSL_TABLE_SLOTS)
			idx -= XSL_TABLE_SLOTS;
		if (idx >= XSL_TABLE_SLOTS)
			return NULL;
		worker = XSL_READ_ONCE(tab->slot[idx].worker);
		gen = XSL_READ_ONCE(tab->slot[idx].gen);
		w = xsl_worker_serving(worker, gen, app, app_gen);
		if (!w)
			continue;
		sk = xsl_wsock(listener, worker);
		if (sk) {
			t->w = w;
			t->worker = worker;
			t->gen = gen;
			return sk;
		}
	}
	return NULL;
}

/* The session's worker, creating the session when there is none yet. On
 * return 0, *r is the session's way unless r->b is NULL (refused by a full
 * table: delivered statelessly to *t). */
static __always_inline int xsl_sk_session(struct xsl_stats *st, const struct xsl_sess_ctx *c,
					  const struct xsl_flow_key *k,
					  const struct xsl_listener *l, __u64 now,
					  struct xsl_target *t, struct xsl_sref *r)
{
	int err, i;

	for (i = 0; i < 2; i++) {
		if (xsl_sess_find(c, k, r)) {
			err = xsl_session_resolve(st, c, r, t);
			if (err == -ESTALE) {
				xsl_sess_delete(c, r);
				continue;
			}
			if (!err)
				xsl_session_touch(r, 0, 0, now);
			return err;
		}
		/* XDP counts packets; here the session only records the flow. */
		err = xsl_session_create_by(st, c, k, l, now, 0, 0, 0, t, r, XSL_BY_SK);
		if (err == -ENOSPC) {
			r->b = NULL;
			return 0;
		}
		return err;
	}
	return -EAGAIN;
}

SEC("sk_lookup")
int xsl_sk_lookup(struct bpf_sk_lookup *ctx)
{
	struct xsl_stats *st = xsl_stats_get();
	struct xsl_sess_ctx c;
	struct xsl_flow_key k;
	struct xsl_listener *l;
	struct xsl_target t;
	struct xsl_sref r;
	struct bpf_sock *sk;
	__u32 app;
	int err;

	if (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP)
		return SK_PASS;
	xsl_sk_key(ctx, &k);
	/* Every connection and datagram of the host comes here. Safe before
	 * the session lookup, unlike in XDP: a session is only delivered here
	 * through its listener, and a listener always has its port bit. */
	if (xsl_port_not_ours(&k)) {
		xsl_count(st, XSL_STAT_SK_NOT_OURS);
		return SK_PASS;
	}
	l = xsl_listener_find(&k);
	if (!l || !xsl_app_get(l->app, l->app_gen)) {
		xsl_count(st, XSL_STAT_SK_NOT_OURS);
		return SK_PASS;
	}
	app = l->app;

	__builtin_memset(&r, 0, sizeof(r));
	xsl_sess_ctx_init(&c, &k);
	err = xsl_sk_session(st, &c, &k, l, xsl_now(), &t, &r);
	if (err == -ESHUTDOWN)
		return xsl_sk_drop(st, XSL_DROP_WORKER_GONE, app);
	if (err == -ENOENT)
		return xsl_sk_drop(st, XSL_DROP_NO_WORKER, app);
	if (err)
		return xsl_sk_drop(st, XSL_DROP_SESSION_CREATE, app);

	sk = xsl_wsock(l->index, t.worker);
	if (!sk) {
		sk = xsl_pick_with_socket(l, c.pos.hash, &t);
		if (!sk) {
			xsl_count(st, XSL_STAT_SK_NO_SOCKET);
			return xsl_sk_drop(st, XSL_DROP_NO_SOCKET, app);
		}
		if (r.b)
			xsl_session_rehome(&r, &t);
		xsl_count(st, XSL_STAT_SK_REPICKED);
	}
	err = bpf_sk_assign(ctx, sk, BPF_SK_LOOKUP_F_NO_REUSEPORT);
	bpf_sk_release(sk);
	if (err) {
		/* e.g. a TCP socket that stopped listening: never fall through */
		xsl_count(st, XSL_STAT_SK_NO_SOCKET);
		return xsl_sk_drop(st, XSL_DROP_NO_SOCKET, app);
	}
	xsl_count(st, XSL_STAT_SK_ASSIGNED);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
