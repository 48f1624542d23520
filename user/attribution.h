/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Socket attribution: given which worker processes of one app hold (and
 * poll) which listener sockets, which workers each socket serves. Pure C,
 * no syscalls: the agent (agent_socks.c) walks the processes' fds and
 * epoll sets, feeds what it finds in with attr__add(), and puts in the maps
 * what attr__choose() decided.
 *
 * - A socket serves the candidates with the fewest sockets of its listener
 *   key: the worker that kept one socket gets it, a master holding all of
 *   them is only the fallback. A socket shared by all (no reuseport)
 *   serves every holder.
 * - Holding is not always using (nginx's workers keep every socket the
 *   master made and each polls its own): where some holders poll a socket,
 *   only those pollers are candidates, counted by the sockets they poll.
 * - A worker serves at most one socket per listener key (the data path has
 *   one slot per listener and worker): the first socket added wins.
 * Keys are compared whole, so [::]:P (dual-stack or not) and 0.0.0.0:P are
 * different listeners.
 */
#ifndef XSL_ATTRIBUTION_H
#define XSL_ATTRIBUTION_H

#include <stdbool.h>
#include <stdint.h>
#include "xsl/flow.h"

#define XSL_ATTR_MAX_SOCKS	1024	/* listener sockets of one app, one pass */
#define XSL_ATTR_MAX_HOLDERS	64	/* holders counted per socket */

/* One listener socket of the app and who holds it. */
struct xsl_attr_sock {
	uint64_t cookie;
	struct xsl_listener_key key;
	bool dual;				/* a dual-stack [::] socket */
	bool polled;				/* some holder polls it */
	uint32_t n_holder;
	uint32_t holder[XSL_ATTR_MAX_HOLDERS];	/* worker indexes */
	bool polls[XSL_ATTR_MAX_HOLDERS];	/* holder[i] has it in an epoll set */
	uint32_t n_server;
	uint32_t server[XSL_ATTR_MAX_HOLDERS];	/* the holders it serves (attr__choose) */
};

/* One pass's sockets (about 600 KiB: allocate it, not on the stack). */
struct xsl_attr {
	unsigned int n;
	struct xsl_attr_sock socks[XSL_ATTR_MAX_SOCKS];
};

/* A file as an epoll instance's fdinfo names it ("tfd:" line). */
struct xsl_attr_file {
	uint64_t ino;
	unsigned int major, minor;
};

/* Empties at for a new pass. */
void attr__reset(struct xsl_attr *at);

/*
 * Worker holds socket (cookie, key); polls: it has it in an epoll set. A
 * socket added again by the same worker only adds polls. 0, or -ENOSPC when
 * the socket (XSL_ATTR_MAX_SOCKS) or the holder (XSL_ATTR_MAX_HOLDERS) did
 * not fit and is left out.
 */
int attr__add(struct xsl_attr *at, uint64_t cookie, const struct xsl_listener_key *key, bool dual,
	      uint32_t worker, bool polls);

/* Decides each socket's servers (see the top of this file). */
void attr__choose(struct xsl_attr *at);

/* The socket chosen to serve (key, worker), or NULL (after attr__choose). */
const struct xsl_attr_sock *attr__wanted(const struct xsl_attr *at,
					 const struct xsl_listener_key *key, uint32_t worker);

/*
 * Parses one line of an epoll fd's /proc/PID/fdinfo: 0 and *f for a "tfd:"
 * line (its "ino:" and "sdev:", the kernel's dev_t with the major above bit
 * 20), -EINVAL for any other line.
 */
int attr__parse_tfd(const char *line, struct xsl_attr_file *f);

/* Whether f is among files[0..n). */
bool attr__file_in(const struct xsl_attr_file *files, unsigned int n,
		   const struct xsl_attr_file *f);

#endif /* XSL_ATTRIBUTION_H */
