/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Values of the maps that BPF and the agent share. A reference to an app or
 * worker is an (index, gen) pair: indexes are reused, and gen is bumped each
 * time a slot is allocated, so a stale reference never matches a new owner.
 * gen 0 is never valid.
 */
#ifndef XSL_RECORDS_H
#define XSL_RECORDS_H

#include <linux/types.h>
#include "flow.h"
#include "limits.h"

enum xsl_policy {
	XSL_POLICY_REASSIGN = 0,	/* re-pick a worker for orphaned sessions */
	XSL_POLICY_DROP = 1,		/* drop packets of orphaned sessions */
};

enum xsl_app_state {
	XSL_APP_FREE = 0,
	XSL_APP_LIVE = 1,
};

#define XSL_APP_F_CPU_STEER	0x01	/* redirect to the worker's CPU */
#define XSL_APP_F_OWN_CGROUP	0x02	/* the agent made the cgroup */
#define XSL_APP_F_HELD		0x04	/* operator attach: kept with no workers */

/* xsl_apps: array indexed by app index. */
struct xsl_app {
	__u32 gen;
	__u8 state;			/* enum xsl_app_state */
	__u8 policy;			/* enum xsl_policy */
	__u8 flags;			/* XSL_APP_F_* */
	__u8 pad0;
	__u32 idle_timeout_s;
	__u32 creator_pid;		/* 0: attached by the operator */
	__u64 cgroup_id;
	__u16 instance;			/* last instance number given out, 0: none
					 * recorded (a record from before instances) */
	__u16 fresh_instance;		/* newest live instance with no worker yet, 0: none */
	__u8 pad1[4];
	char name[XSL_APP_NAME_LEN];
};
_Static_assert(sizeof(struct xsl_app) == 64, "xsl_app layout");
_Static_assert(__builtin_offsetof(struct xsl_app, fresh_instance) == 26, "xsl_app instances");

/* xsl_app_cgroups: cgroup id -> app, for the process and socket hooks. */
struct xsl_app_ref {
	__u32 app;
	__u32 gen;
};
_Static_assert(sizeof(struct xsl_app_ref) == 8, "xsl_app_ref layout");

enum xsl_worker_state {
	XSL_WORKER_FREE = 0,
	XSL_WORKER_LIVE = 1,
};

/* xsl_workers: array indexed by global worker index. */
struct xsl_worker {
	__u32 gen;
	__u8 state;			/* enum xsl_worker_state */
	__u8 instance;			/* low 8 bits of its instance number: the app's
					 * live instances are within 255 of its last */
	__u16 map_index;		/* wrk_map_index within its app, 0 first */
	__u32 app;
	__u32 app_gen;
	__u32 pid;			/* owning process (tgid), 0 if none */
	__s32 cpu;			/* CPU to steer to, -1 for none */
	__u64 start_time_ns;		/* owner's start time: a recycled pid differs */
};
_Static_assert(sizeof(struct xsl_worker) == 32, "xsl_worker layout");
_Static_assert(__builtin_offsetof(struct xsl_worker, instance) == 5, "xsl_worker instance");

/*
 * A v6 wildcard listener ([::]:port) served by dual-stack sockets
 * (IPV6_V6ONLY off): one listener for both families. It is found for IPv4
 * packets too, after the exact and the v4 wildcard lookups miss, and its
 * port has the v4 bit in xsl_ports as well as the v6 one.
 */
#define XSL_LISTENER_F_DUAL	0x01

/* xsl_listeners: hash from struct xsl_listener_key. */
struct xsl_listener {
	__u32 index;			/* row in xsl_slots and worker-socket keys */
	__u32 gen;
	__u32 app;
	__u32 app_gen;
	__u32 n_workers;		/* serving workers; 0: new flows are dropped */
	__u32 flags;			/* XSL_LISTENER_F_* */
};
_Static_assert(sizeof(struct xsl_listener) == 24, "xsl_listener layout");

/* One entry of a listener's worker table. */
struct xsl_slot {
	__u32 worker;			/* XSL_NO_WORKER when empty */
	__u32 gen;
};

/* xsl_slots: array indexed by listener index. */
struct xsl_slot_table {
	struct xsl_slot slot[XSL_TABLE_SLOTS];
};
_Static_assert(sizeof(struct xsl_slot_table) == 8 * XSL_TABLE_SLOTS, "xsl_slot_table layout");

/* xsl_wsocks: sockhash key of a worker's socket for a listener. */
struct xsl_wsock_key {
	__u32 listener;
	__u32 worker;
};
_Static_assert(sizeof(struct xsl_wsock_key) == 8, "xsl_wsock_key layout");

/* xsl_sessions: the session table, see session.h. */

/*
 * xsl_app_stats: per-CPU array of XSL_APP_STATS_ENTRIES. Entry app: the data
 * path's counters of app (packets and bytes stay 0: the data path counts
 * those per worker only). Entry XSL_APP_RETIRED(app): only the agent writes
 * it (CPU 0's value), the packets and bytes of app's workers whose index was
 * reused, added before their xsl_wrk_stats entry is zeroed. An app's packets
 * are its retired ones plus those of every worker index whose xsl_workers
 * record names it; pinned, the retired totals outlive an agent restart.
 */
#define XSL_APP_RETIRED(app)	(XSL_MAX_APPS + (app))
#define XSL_APP_STATS_ENTRIES	(2 * XSL_MAX_APPS)

struct xsl_app_stats {
	__u64 sessions_created;
	__u64 sessions_reassigned;
	__u64 drops;
	__u64 packets;
	__u64 bytes;
};

/* xsl_wrk_stats: per-CPU array indexed by worker index; zeroed on reuse. */
struct xsl_worker_stats {
	__u64 packets;
	__u64 bytes;
	__u64 sessions_created;
};

/*
 * xsl_ports: array of one entry, a bit per (family, proto, local port) that
 * some listener has, any address. The XDP program consults it on a session
 * miss only: with enabled set and the bit clear, the packet is not ours and
 * the listener lookups are skipped. With enabled 0 (no agent has written it
 * yet) it is ignored. The agent sets a bit before the first listener on it
 * appears and clears it after the last one is gone.
 *
 * wild[]: a bit per (family, proto, local port) whose listeners are all
 * wildcard ones (any address): with enabled set and the bit set, a new
 * flow's listener lookup skips the exact-address one, which would miss. The
 * agent clears the bit before an exact-address listener on it appears and
 * sets it after the last one is gone; a clear bit only costs that lookup.
 */
#define XSL_PORT_BITS	(2 * 2 * 65536)	/* (v4, v6) x (tcp, udp) x port */
#define XSL_PORT_WORDS	(XSL_PORT_BITS / 64)

struct xsl_port_filter {
	__u32 enabled;
	__u32 pad;
	__u64 bits[XSL_PORT_WORDS];
	__u64 wild[XSL_PORT_WORDS];
};
_Static_assert(sizeof(struct xsl_port_filter) == 8 + 2 * XSL_PORT_BITS / 8,
	       "xsl_port_filter layout");

/* Bit of (family, proto, port), port in host byte order: family XSL_AF_INET6
 * or else v4, proto XSL_IPPROTO_UDP or else TCP. */
static inline __u32 xsl_port_bit(__u8 family, __u8 proto, __u16 port)
{
	__u32 fam = family == XSL_AF_INET6 ? 1 : 0;
	__u32 udp = proto == XSL_IPPROTO_UDP ? 1 : 0;

	return (fam * 2 + udp) * 65536 + port;
}

#endif /* XSL_RECORDS_H */
