/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Loading and attaching the process and socket hooks (xsl_cgroup.bpf.c).
 *
 * Every link is pinned under the pin root, so the hooks keep feeding
 * xsl_events while the agent is down; a new agent replaces the programs of
 * the pinned links with its own (same pins, no second attachment):
 *
 *   <pin_root>/xsl_link_fork, xsl_link_exit, xsl_link_join
 *       the three tracepoints. A tracing link cannot change its program, so
 *       the new link is attached first and renamed over the old pin, which
 *       detaches the old one: no event is missed, and for that short window
 *       an event may be sent twice (handlers must be idempotent anyway).
 *   <pin_root>/xsl_cg_<cgroup id>_{prebind4,prebind6,bind4,bind6,release,sockops,
 *   egress}
 *       the socket hooks of one app cgroup (they apply to its descendants).
 *       An existing link gets the new program in place (atomic); a pin whose
 *       cgroup is gone is replaced.
 *
 * Nothing is held open after an attach: removing a pin detaches its link.
 * pin_root must be a directory on a bpffs (mounts__prepare_pin_root()).
 * All functions return 0 or a negative errno.
 */
#ifndef XSL_HOOKS_H
#define XSL_HOOKS_H

#include <linux/types.h>

struct xsl_hooks;

#define XSL_LINK_FORK	"xsl_link_fork"
#define XSL_LINK_EXIT	"xsl_link_exit"
#define XSL_LINK_JOIN	"xsl_link_join"

/*
 * Opens and loads xsl_cgroup with its maps shared through pin_root (the
 * pinned ones are reused, missing ones created and pinned). pin_root NULL
 * loads a private instance whose maps are not pinned (tests).
 */
int hooks__load(struct xsl_hooks **out, const char *pin_root);
/* Attaches the fork, exit and join tracepoints and pins their links. */
int hooks__attach_tracepoints(struct xsl_hooks *h, const char *pin_root);
/* Unpins (and so detaches) the tracepoint links; absent pins are fine. */
int hooks__detach_tracepoints(const char *pin_root);
/*
 * Attaches bind4/6, post_bind4/6, sock_release, sockops and cgroup_skb/egress
 * (marks sessions assured) to the cgroup (an open
 * directory fd; cgroup_id is its inode number) and pins the links.
 * Idempotent.
 */
int hooks__attach_cgroup(struct xsl_hooks *h, int cgroup_fd, __u64 cgroup_id,
			 const char *pin_root);
/* Unpins (and so detaches) a cgroup's socket hooks; absent pins are fine. */
int hooks__detach_cgroup(__u64 cgroup_id, const char *pin_root);
/* File descriptor of one of the object's maps, by name (include/xsl/maps.h). */
int hooks__map_fd(const struct xsl_hooks *h, const char *name);
void hooks__destroy(struct xsl_hooks *h);

#endif /* XSL_HOOKS_H */
