/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The agent's guards against what control clients and pinned records ask for,
 * as pure decisions (no syscalls, unit-tested): which cgroup paths it may act
 * on, which clients get a control connection, and whether a reply may be
 * buffered for a client.
 */
#ifndef XSL_GUARD_H
#define XSL_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Is path strictly below dir (both absolute, no trailing '/', no "..")? */
bool guard__below(const char *path, const char *dir);

/*
 * May the agent adopt the cgroup directory path (resolved, absolute)? It must
 * be strictly below the cgroup v2 mount cgroup2 (else -EXDEV) and must be
 * neither the agent's cgroup root nor one of its ancestors (else -EINVAL):
 * such a cgroup holds every app's processes.
 */
int guard__adoptable_cgroup(const char *path, const char *cgroup2, const char *cgroup_root);

/* Is path the own cgroup of an app: exactly <cgroup_root>/<one name>? */
bool guard__own_cgroup(const char *path, const char *cgroup_root);

/* Control connections: how many slots, how many kept for root, and at most
 * how many one non-root uid may hold. */
struct guard_slots {
	unsigned int max;		/* all slots */
	unsigned int root_reserved;	/* only root may take the last ones */
	unsigned int per_uid;		/* connections of one non-root uid */
};

/*
 * May a client of uid connect, with used slots taken and uid_used of them
 * held by uid? 0, -EMFILE when all slots are taken, -EAGAIN when only root's
 * are left, -EUSERS when uid holds its share.
 */
int guard__admit(const struct guard_slots *s, uint32_t uid, unsigned int used,
		 unsigned int uid_used);

/* Output budget: replies waiting to be read by clients. */
struct guard_out {
	size_t high;		/* a client with more waiting is not read from */
	size_t max_reply;	/* one reply may be at most this long */
	size_t total;		/* all clients' waiting replies together */
};

/* May the agent read more requests of a client that has pending bytes
 * of replies waiting? */
static inline bool guard__may_read(const struct guard_out *o, size_t pending)
{
	return pending < o->high;
}

/*
 * May a reply of n bytes be queued for a client, with total bytes waiting
 * for all clients? 0, -EMSGSIZE when the reply itself is over max_reply,
 * -EAGAIN when it would take the total over its bound (the client is told to
 * retry: an error reply is small).
 */
int guard__reply_fits(const struct guard_out *o, size_t n, size_t total);

#endif /* XSL_GUARD_H */
