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
 *  BIND     cgroup/post_bind4, post_bind6: a TCP or UDP socket was bound
 *           explicitly (bind(2); not the autobind of connect or sendto).
 *  LISTEN   sockops BPF_SOCK_OPS_TCP_LISTEN_CB: called for every sockops
 *           program when listen(2) succeeds, no callback flag needed.
 *  RELEASE  cgroup/sock_release of a socket announced by BIND or LISTEN
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

static __always_inline void xsl_event_proc(struct xsl_event *ev, __u32 type, __u32 app,
					   __u64 cgroup_id)
{
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->app = app;
	ev->cgroup_id = cgroup_id;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(xsl_fork, struct task_struct *parent, struct task_struct *child)
{
	struct xsl_event ev;
	__u64 cgroup_id;
	__u32 app;

	if (child->pid != child->tgid)
		return 0;
	if (xsl_task_app(child, &app, &cgroup_id))
		return 0;
	xsl_event_proc(&ev, XSL_EV_FORK, app, cgroup_id);
	ev.pid = child->tgid;
	ev.ppid = parent->tgid;
	ev.start_time_ns = child->start_time;
	xsl_event_emit(&ev);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(xsl_exit, struct task_struct *p)
{
	struct task_struct *leader;
	struct xsl_event ev;
	__u64 cgroup_id;
	int group_dead;
	__u32 app;

	if (bpf_core_type_matches(btf_trace_sched_process_exit___grp))
		group_dead = (_Bool)ctx[1];
	else
		group_dead = BPF_CORE_READ(p, signal, live.counter) == 0;
	if (!group_dead)
		return 0;
	if (xsl_task_app(p, &app, &cgroup_id))
		return 0;
	xsl_event_proc(&ev, XSL_EV_EXIT, app, cgroup_id);
	ev.pid = p->tgid;
	ev.ppid = BPF_CORE_READ(p, real_parent, tgid);
	/* the process's start time is its leader's (kept until the group is reaped) */
	leader = BPF_CORE_READ(p, group_leader);
	ev.start_time_ns = BPF_CORE_READ(leader, start_time);
	xsl_event_emit(&ev);
	return 0;
}

SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(xsl_join, struct cgroup *dst_cgrp, const char *path, struct task_struct *task,
	     _Bool threadgroup)
{
	struct xsl_event ev;
	__u64 cgroup_id;
	__u32 app;

	if (BPF_CORE_READ(dst_cgrp, root, hierarchy_id) != 0)
		return 0;
	if (task->pid != task->tgid)
		return 0;
	if (xsl_cgrp_app(dst_cgrp, &app, &cgroup_id))
		return 0;
	xsl_event_proc(&ev, XSL_EV_JOIN, app, cgroup_id);
	ev.pid = task->tgid;
	ev.ppid = BPF_CORE_READ(task, real_parent, tgid);
	ev.start_time_ns = task->start_time;
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
 * A bound socket: remember and announce it. The context only lets
 * post_bind4 read src_ip4 and post_bind6 src_ip6, so v6 is a compile-time
 * constant here. src_port is in host byte order.
 */
static __always_inline int xsl_post_bind(struct bpf_sock *sk, const int v6)
{
	struct xsl_sock_owner now, *stored;
	struct xsl_listener_key *k = &now.listener;

	if (sk->protocol != IPPROTO_TCP && sk->protocol != IPPROTO_UDP)
		return 1;
	xsl_sock_owner_now(&now);
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
	if (stored)
		*stored = now;
	xsl_sock_event(XSL_EV_LISTEN, &now, bpf_get_socket_cookie(skops));
	return 1;
}

/* EGRESS (no event): cgroup_skb/egress marks sessions assured, egress.h. */
#include "egress.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
