/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Records the process and socket hooks send to the agent over xsl_events. */
#ifndef XSL_EVENTS_H
#define XSL_EVENTS_H

#include <linux/types.h>
#include "flow.h"

enum xsl_event_type {
	XSL_EV_FORK = 1,	/* a process forked inside an app cgroup */
	XSL_EV_EXIT = 2,	/* a process of an app cgroup exited */
	XSL_EV_JOIN = 3,	/* a process was moved into an app cgroup */
	XSL_EV_BIND = 4,	/* a socket bound (UDP listener) */
	XSL_EV_LISTEN = 5,	/* a TCP socket started listening */
	XSL_EV_RELEASE = 6,	/* a bound socket was released */
};

struct xsl_event {
	__u32 type;			/* enum xsl_event_type */
	__u32 pid;			/* tgid of the process concerned */
	__u32 ppid;			/* FORK: parent tgid */
	__u32 app;			/* app index from the cgroup, XSL_NO_APP if unknown */
	__u64 ts_ns;			/* bpf_ktime_get_ns() at the hook */
	__u64 cgroup_id;
	__u64 cookie;			/* socket cookie for BIND/LISTEN/RELEASE */
	/* FORK/JOIN/EXIT: the process's start time, boot-based ns (the
	 * kernel's start_boottime, which /proc/PID/stat gives in clock ticks) */
	__u64 start_time_ns;
	struct xsl_listener_key listener;
	__u32 app_gen;			/* FORK/JOIN/EXIT: gen of app, 0 if unknown */
	/* FORK/JOIN/EXIT: pidfs inode of the process's pid (st_ino of a pidfd
	 * on it, unique within a boot), 0 if the kernel has none */
	__u64 pid_ino;
};
_Static_assert(sizeof(struct xsl_event) == 80, "xsl_event layout");

/*
 * What the socket hooks remember about a socket in xsl_sk_owner (socket
 * local storage), so that its RELEASE carries the same listener key, app and
 * cgroup as its BIND or LISTEN: sock_release may not read the socket's
 * addresses, and the last reference may be dropped by another process. Not
 * cloned to accepted sockets. The agent reads it by socket fd to learn
 * whether the app chose a UDP socket's port (XSL_SK_F_BIND_PORT without
 * XSL_SK_F_QUIET).
 */
#define XSL_SK_F_BIND_PORT	0x01	/* the last bind(2) asked for a non-zero port */
#define XSL_SK_F_QUIET		0x02	/* not announced: its release is not reported */

struct xsl_sock_owner {
	__u32 app;
	__u32 flags;			/* XSL_SK_F_* */
	__u64 cgroup_id;
	struct xsl_listener_key listener;
	__u32 pad1;
};
_Static_assert(sizeof(struct xsl_sock_owner) == 40, "xsl_sock_owner layout");

#endif /* XSL_EVENTS_H */
