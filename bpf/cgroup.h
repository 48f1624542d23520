/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Helpers of the process and socket hooks (xsl_cgroup.bpf.c): the few kernel
 * structures they read (CO-RE, only the fields used), the app-cgroup lookup
 * and the one function that sends an event.
 *
 * App lookup contract: a cgroup belongs to the app whose cgroup is the
 * nearest one among itself and its ancestors (any depth up to
 * XSL_CGROUP_MAX_DEPTH levels above it) found in xsl_app_cgroups. Only the
 * cgroup v2 (default) hierarchy is meaningful: cgroup ids are kernfs ids of
 * that hierarchy, as bpf_get_current_cgroup_id() returns them.
 *
 * Events carry, as cgroup_id, the app cgroup that matched (not the possibly
 * deeper cgroup of the process); when no app matched (only possible for
 * RELEASE, see the program), the cgroup of the current task.
 */
#ifndef XSL_BPF_CGROUP_H
#define XSL_BPF_CGROUP_H

#include <bpf/bpf_core_read.h>
#include "maps.h"
#include "xsl/events.h"

/* Levels walked from a cgroup towards the root looking for an app cgroup. */
#define XSL_CGROUP_MAX_DEPTH	32
/* Deepest cgroup level looked at (bounds the ancestors[] index for the
 * verifier); a cgroup deeper than that belongs to no app. */
#define XSL_CGROUP_MAX_LEVEL	4096

/* xsl_sk_owner: what the socket hooks remember of a socket (struct
 * xsl_sock_owner in xsl/events.h); the agent reads it by socket fd. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct xsl_sock_owner);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xsl_sk_owner SEC(".maps");

/* Kernel structures, CO-RE relocated against the running kernel's BTF. */
struct kernfs_node {
	__u64 id;
} __attribute__((preserve_access_index));

struct cgroup_root {
	int hierarchy_id;
} __attribute__((preserve_access_index));

/* ancestors[] (kernel 6.0+): ancestors[i] is the ancestor at level i,
 * ancestors[level] the cgroup itself. */
struct cgroup {
	int level;
	struct kernfs_node *kn;
	struct cgroup_root *root;
	struct cgroup *ancestors[];
} __attribute__((preserve_access_index));

struct css_set {
	struct cgroup *dfl_cgrp;
} __attribute__((preserve_access_index));

struct xsl_k_atomic {
	int counter;
};

struct signal_struct {
	struct xsl_k_atomic live;
} __attribute__((preserve_access_index));

/* ino: the pidfs inode number (kernel 6.9+), checked with bpf_core_field_exists */
struct pid {
	__u64 ino;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	int tgid;
	__u64 start_boottime;
	struct pid *thread_pid;
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	struct css_set *cgroups;
	struct signal_struct *signal;
} __attribute__((preserve_access_index));


/*
 * App of a cgroup (a kernel pointer, e.g. from a tracepoint): nearest app
 * cgroup among cgrp and its ancestors. 0 with *app, *gen (the app's handle,
 * as xsl_app_cgroups holds it) and *cgroup_id set, or -1 when none is an
 * app cgroup.
 */
static __always_inline int xsl_cgrp_app_gen(struct cgroup *cgrp, __u32 *app, __u32 *gen,
					    __u64 *cgroup_id)
{
	struct xsl_app_ref *ref;
	int level, i;

	if (!cgrp)
		return -1;
	level = BPF_CORE_READ(cgrp, level);
	for (i = 0; i < XSL_CGROUP_MAX_DEPTH; i++) {
		struct cgroup *anc = NULL;
		__u32 lvl = level - i;
		__u64 id;

		/* cgrp may be a trusted kernel pointer: the verifier only allows
		 * bounded arithmetic on it, so bound the index in the loop and keep
		 * the compiler from hoisting the address computation out of it */
		barrier_var(lvl);
		if (level - i < 0 || lvl >= XSL_CGROUP_MAX_LEVEL)
			break;
		if (bpf_core_read(&anc, sizeof(anc), &cgrp->ancestors[lvl]) || !anc)
			break;
		id = BPF_CORE_READ(anc, kn, id);
		ref = bpf_map_lookup_elem(&xsl_app_cgroups, &id);
		if (ref) {
			*app = ref->app;
			*gen = ref->gen;
			*cgroup_id = id;
			return 0;
		}
	}
	return -1;
}

/* App of a task, from its cgroup on the default (v2) hierarchy. */
static __always_inline int xsl_task_app(struct task_struct *task, __u32 *app, __u32 *gen,
					__u64 *cgroup_id)
{
	return xsl_cgrp_app_gen(BPF_CORE_READ(task, cgroups, dfl_cgrp), app, gen, cgroup_id);
}

/*
 * App of the current task, for program types without kernel pointers
 * (cgroup socket hooks): walks from the root down with
 * bpf_get_current_ancestor_cgroup_id(), which returns 0 past the task's own
 * level, keeping the deepest (nearest) match.
 */
static __always_inline int xsl_current_app(__u32 *app, __u64 *cgroup_id)
{
	struct xsl_app_ref *ref;
	int found = -1;
	int level;

	for (level = 0; level < XSL_CGROUP_MAX_DEPTH; level++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(level);

		if (!id)
			break;
		ref = bpf_map_lookup_elem(&xsl_app_cgroups, &id);
		if (ref) {
			*app = ref->app;
			*cgroup_id = id;
			found = 0;
		}
	}
	return found;
}

/*
 * The one way out: copies ev (ts_ns stamped here) into xsl_events. A full
 * ring buffer loses the event and counts stat[EVENTS_LOST]; the increment
 * is atomic because socket hooks run preemptible, so two programs may
 * interleave on one CPU and a plain increment could lose a count.
 */
static __always_inline void xsl_event_emit(struct xsl_event *ev)
{
	struct xsl_event *e;
	struct xsl_stats *st;
	__u32 zero = 0;

	ev->ts_ns = bpf_ktime_get_ns();
	e = bpf_ringbuf_reserve(&xsl_events, sizeof(*e), 0);
	if (!e) {
		st = bpf_map_lookup_elem(&xsl_stats, &zero);
		if (st)
			__sync_fetch_and_add(&st->stat[XSL_STAT_EVENTS_LOST], 1);
		return;
	}
	__builtin_memcpy(e, ev, sizeof(*e));
	bpf_ringbuf_submit(e, 0);
}

#endif /* XSL_BPF_CGROUP_H */
