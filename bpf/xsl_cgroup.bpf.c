// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Process and socket hooks: tell the agent, over the xsl_events ring buffer,
 * what the processes of app cgroups do.
 *
 *  FORK     tp_btf/sched_process_fork: a new process (not a thread) whose
 *           cgroup is in an app. The child's cgroup is used, not the
 *           parent's: a fork inherits the parent's cgroup anyway, and
 *           clone3(CLONE_INTO_CGROUP) into an app cgroup is then a FORK
 *           while a clone out of the app is not.
 *  EXIT     tp_btf/sched_process_exit: the last thread of a process of an
 *           app exits (the thread group is dead), not the group leader:
 *           a leader may exit while its threads still run. Exact where the
 *           tracepoint passes group_dead (checked by CO-RE type match);
 *           older kernels fall back to signal->live == 0, which two threads
 *           exiting at once may both see, so EXIT can then be duplicated.
 *  JOIN     tp_btf/cgroup_attach_task: a process (group leader) is moved
 *           into an app cgroup or one below it, on the v2 hierarchy only
 *           (root->hierarchy_id == 0 is the default hierarchy; v1 ids live
 *           in other kernfs trees and may collide with v2 ones). Moves
 *           between cgroups of the same app emit JOIN again.
 *  BIND     cgroup/post_bind4, post_bind6: a TCP socket was bound, or a UDP
 *           socket was bound to a port the app chose (bind(2) with a
 *           non-zero port). A UDP socket bound to port 0 (the kernel picks)
 *           or autobound by connect or sendto is a client's: no event, and
 *           nothing stored, so its release is not reported either.
 *           cgroup/bind4, bind6 run before the bind and record, in the
 *           socket's xsl_sk_owner storage, whether it asked for a port
 *           (XSL_SK_F_BIND_PORT); the kernel keeps no trace the hook could
 *           read afterwards (sk_userlocks is not in struct bpf_sock).
 *  LISTEN   sockops BPF_SOCK_OPS_TCP_LISTEN_CB: called for every sockops
 *           program when listen(2) succeeds, no callback flag needed.
 *  RELEASE  cgroup/connect4, connect6 of a UDP socket announced by BIND: a
 *           connected socket is a client's (its port was chosen, but it
 *           now takes only one peer's datagrams), so it is released as a
 *           listener when it connects, and not announced again.
 *           cgroup/sock_release of a socket announced by BIND or LISTEN
 *           (with the key and app it was announced with), or of a TCP
 *           socket in LISTEN bound before the hooks were attached (zero
 *           address and port: the hook may not read them). pid is the
 *           releasing process.
 *
 * The socket hooks are attached to each app cgroup (and so apply to its
 * descendants); they always allow the operation.
 */
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>
#include "maps.h"
#include "cgroup.h"

/* The sched_process_exit tracepoint with its group_dead argument. */
typedef void (*btf_trace_sched_process_exit___grp)(void *__data, struct task_struct *p,
						    _Bool group_dead);

/*
 * A process event for leader (the thread group's leader) of app (index, gen):
 * the process is named by its tgid, its start time (start_boottime, the clock
 * /proc/PID/stat reports in ticks) and the pidfs inode of its pid, so the
 * agent can tell it from a later process that got the same pid.
 */
static __always_inline void xsl_event_proc(struct xsl_event *ev, __u32 type, __u32 app,
					   __u32 gen, __u64 cgroup_id, struct task_struct *leader)
{
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->app = app;
	ev->app_gen = gen;
	ev->cgroup_id = cgroup_id;
	ev->pid = BPF_CORE_READ(leader, tgid);
	ev->start_time_ns = BPF_CORE_READ(leader, start_boottime);
	if (bpf_core_field_exists(leader->thread_pid->ino))
		ev->pid_ino = BPF_CORE_READ(leader, thread_pid, ino);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(xsl_fork, struct task_struct *parent, struct task_struct *child)
{
	struct xsl_event ev;
	__u64 cgroup_id;
	__u32 app, gen;

	if (child->pid != child->tgid)
		return 0;
	if (xsl_task_app(child, &app, &gen, &cgroup_id))
		return 0;
	xsl_event_proc(&ev, XSL_EV_FORK, app, gen, cgroup_id, child);
	ev.ppid = parent->tgid;
	xsl_event_emit(&ev);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(xsl_exit, struct task_struct *p)
{
	struct xsl_event ev;
	__u64 cgroup_id;
	int group_dead;
	__u32 app, gen;

	if (bpf_core_type_matches(btf_trace_sched_process_exit___grp))
		group_dead = (_Bool)ctx[1];
	else
		group_dead = BPF_CORE_READ(p, signal, live.counter) == 0;
	if (!group_dead)
		return 0;
	if (xsl_task_app(p, &app, &gen, &cgroup_id))
		return 0;
	/* the process is its leader's (start time and pid kept until the group
	 * is reaped, even when the leader exited first) */
	xsl_event_proc(&ev, XSL_EV_EXIT, app, gen, cgroup_id, BPF_CORE_READ(p, group_leader));
	ev.ppid = BPF_CORE_READ(p, real_parent, tgid);
	xsl_event_emit(&ev);
	return 0;
}

SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(xsl_join, struct cgroup *dst_cgrp, const char *path, struct task_struct *task,
	     _Bool threadgroup)
{
	struct xsl_event ev;
	__u64 cgroup_id;
	__u32 app, gen;

	if (BPF_CORE_READ(dst_cgrp, root, hierarchy_id) != 0)
		return 0;
	if (task->pid != task->tgid)
		return 0;
	if (xsl_cgrp_app_gen(dst_cgrp, &app, &gen, &cgroup_id))
		return 0;
	xsl_event_proc(&ev, XSL_EV_JOIN, app, gen, cgroup_id, task);
	ev.ppid = BPF_CORE_READ(task, real_parent, tgid);
	xsl_event_emit(&ev);
	return 0;
}

/* Owner of a socket as the hooks see it now: app of the current task. */
static __always_inline void xsl_sock_owner_now(struct xsl_sock_owner *o)
{
	__builtin_memset(o, 0, sizeof(*o));
	if (xsl_current_app(&o->app, &o->cgroup_id)) {
		o->app = XSL_NO_APP;
		o->cgroup_id = bpf_get_current_cgroup_id();
	}
}

/* Sends a socket event; pid is always the current process. */
static __always_inline void xsl_sock_event(__u32 type, const struct xsl_sock_owner *o,
					   __u64 cookie)
{
	struct xsl_event ev;

	__builtin_memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.pid = bpf_get_current_pid_tgid() >> 32;
	ev.app = o->app;
	ev.cgroup_id = o->cgroup_id;
	ev.cookie = cookie;
	ev.listener = o->listener;
	xsl_event_emit(&ev);
}

/*
 * Before a UDP bind(2): whether the app asks for a port (user_port is in
 * network byte order; 0: the kernel picks one). A socket without storage
 * that asks for none gets none. Storage made here is QUIET until post_bind
 * announces the socket: if the bind fails, nothing is reported for it.
 */
static __always_inline int xsl_pre_bind(struct bpf_sock_addr *ctx)
{
	struct xsl_sock_owner *stored;
	struct bpf_sock *sk = ctx->sk;
	int asks = ctx->user_port != 0;

	if (!sk || ctx->protocol != IPPROTO_UDP)
		return 1;
	stored = bpf_sk_storage_get(&xsl_sk_owner, sk, 0, asks ? BPF_SK_STORAGE_GET_F_CREATE : 0);
	if (!stored)
		return 1;
	if (asks) {
		if (!stored->cgroup_id)	/* just made: nothing announced yet */
			stored->flags |= XSL_SK_F_QUIET;
		stored->flags |= XSL_SK_F_BIND_PORT;
	} else {
		stored->flags &= ~XSL_SK_F_BIND_PORT;
	}
	return 1;
}

SEC("cgroup/bind4")
int xsl_bind4(struct bpf_sock_addr *ctx)
{
	return xsl_pre_bind(ctx);
}

SEC("cgroup/bind6")
int xsl_bind6(struct bpf_sock_addr *ctx)
{
	return xsl_pre_bind(ctx);
}

/*
 * Before a UDP connect(2): an announced socket stops being a listener (see
 * RELEASE above); QUIET, so its close is not reported a second time. Should
 * the connect fail, the agent's next pass over the app finds it unconnected
 * and takes it again.
 */
static __always_inline int xsl_pre_connect(struct bpf_sock_addr *ctx)
{
	struct xsl_sock_owner owner, *stored;
	struct bpf_sock *sk = ctx->sk;

	if (!sk || ctx->protocol != IPPROTO_UDP)
		return 1;
	stored = bpf_sk_storage_get(&xsl_sk_owner, sk, 0, 0);
	if (!stored || (stored->flags & XSL_SK_F_QUIET) || !stored->cgroup_id)
		return 1;
	owner = *stored;
	stored->flags |= XSL_SK_F_QUIET;
	/* a sock_addr program gets the cookie of its context's socket */
	xsl_sock_event(XSL_EV_RELEASE, &owner, bpf_get_socket_cookie(ctx));
	return 1;
}

SEC("cgroup/connect4")
int xsl_connect4(struct bpf_sock_addr *ctx)
{
	return xsl_pre_connect(ctx);
}

SEC("cgroup/connect6")
int xsl_connect6(struct bpf_sock_addr *ctx)
{
	return xsl_pre_connect(ctx);
}

/*
 * A bound socket: remember and announce it (UDP only with a port the app
 * chose, see xsl_pre_bind). The context only lets post_bind4 read src_ip4
 * and post_bind6 src_ip6, so v6 is a compile-time constant here. src_port is
 * in host byte order.
 */
static __always_inline int xsl_post_bind(struct bpf_sock *sk, const int v6)
{
	struct xsl_sock_owner now, *stored;
	struct xsl_listener_key *k = &now.listener;
	__u32 flags = 0;

	if (sk->protocol != IPPROTO_TCP && sk->protocol != IPPROTO_UDP)
		return 1;
	stored = bpf_sk_storage_get(&xsl_sk_owner, sk, 0, 0);
	if (stored)
		flags = stored->flags & XSL_SK_F_BIND_PORT;
	if (sk->protocol == IPPROTO_UDP && !flags)
		return 1;
	xsl_sock_owner_now(&now);
	now.flags = flags;
	k->family = v6 ? XSL_AF_INET6 : XSL_AF_INET;
	k->proto = (__u8)sk->protocol;
	k->port = bpf_htons((__u16)sk->src_port);
	if (v6) {
		k->addr[0] = sk->src_ip6[0];
		k->addr[1] = sk->src_ip6[1];
		k->addr[2] = sk->src_ip6[2];
		k->addr[3] = sk->src_ip6[3];
	} else {
		k->addr[0] = sk->src_ip4;
	}
	stored = bpf_sk_storage_get(&xsl_sk_owner, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (stored)
		*stored = now;
	xsl_sock_event(XSL_EV_BIND, &now, bpf_get_socket_cookie(sk));
	return 1;
}

SEC("cgroup/post_bind4")
int xsl_post_bind4(struct bpf_sock *sk)
{
	return xsl_post_bind(sk, 0);
}

SEC("cgroup/post_bind6")
int xsl_post_bind6(struct bpf_sock *sk)
{
	return xsl_post_bind(sk, 1);
}

/*
 * sock_release cannot read the socket's local address or port: announced
 * sockets take them from xsl_sk_owner; a TCP listener bound before the hooks
 * were attached is released with a zero address and port (the agent matches
 * by cookie); any other socket is not reported.
 */
SEC("cgroup/sock_release")
int xsl_sock_release(struct bpf_sock *sk)
{
	struct xsl_sock_owner owner, *stored;

	if (sk->family != XSL_AF_INET && sk->family != XSL_AF_INET6)
		return 1;
	if (sk->protocol != IPPROTO_TCP && sk->protocol != IPPROTO_UDP)
		return 1;
	stored = bpf_sk_storage_get(&xsl_sk_owner, sk, 0, 0);
	if (stored && (stored->flags & XSL_SK_F_QUIET))
		return 1;
	if (stored) {
		owner = *stored;
	} else {
		if (sk->protocol != IPPROTO_TCP || sk->state != BPF_TCP_LISTEN)
			return 1;
		xsl_sock_owner_now(&owner);
		owner.listener.family = (__u8)sk->family;
		owner.listener.proto = IPPROTO_TCP;
	}
	xsl_sock_event(XSL_EV_RELEASE, &owner, bpf_get_socket_cookie(sk));
	return 1;
}

/* listen(2) succeeded; it runs in the listening process, so current owns it. */
SEC("sockops")
int xsl_sockops(struct bpf_sock_ops *skops)
{
	struct xsl_sock_owner now, *stored;
	struct xsl_listener_key *k = &now.listener;
	__u32 ip4, ip6[4], family;
	struct bpf_sock *sk;

	if (skops->op != BPF_SOCK_OPS_TCP_LISTEN_CB)
		return 1;
	sk = skops->sk;
	if (!sk)
		return 1;
	/* read every field unconditionally: a branch on the family would let
	 * the compiler select between two context offsets, which the verifier
	 * refuses */
	family = skops->family;
	ip4 = skops->local_ip4;
	ip6[0] = skops->local_ip6[0];
	ip6[1] = skops->local_ip6[1];
	ip6[2] = skops->local_ip6[2];
	ip6[3] = skops->local_ip6[3];
	xsl_sock_owner_now(&now);
	k->family = (__u8)family;
	k->proto = IPPROTO_TCP;
	k->port = bpf_htons((__u16)skops->local_port);
	if (family == XSL_AF_INET) {
		k->addr[0] = ip4;
	} else {
		k->addr[0] = ip6[0];
		k->addr[1] = ip6[1];
		k->addr[2] = ip6[2];
		k->addr[3] = ip6[3];
	}
	stored = bpf_sk_storage_get(&xsl_sk_owner, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (stored) {
		now.flags = stored->flags & XSL_SK_F_BIND_PORT;
		*stored = now;
	}
	xsl_sock_event(XSL_EV_LISTEN, &now, bpf_get_socket_cookie(skops));
	return 1;
}

/* EGRESS (no event): cgroup_skb/egress marks sessions assured, egress.h. */
#include "egress.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
