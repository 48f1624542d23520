/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Restart recovery and reset of the agent's pinned state. */
#ifndef XSL_RECOVER_H
#define XSL_RECOVER_H

struct agent;

/*
 * Rebuilds the registry and the agent's own tables from the pinned maps
 * (restore.c does the registry), reopens each app's cgroup and makes sure
 * its socket hooks are attached, and repairs what restore reported. The
 * mirror must be installed. Processes are checked by the reconcile pass
 * that follows.
 */
int recover__registry(struct agent *a);

/* Removes every pinned xsl object (maps, links: names starting xsl_)
 * under pin_root. */
int recover__unpin_all(const char *pin_root);

#endif /* XSL_RECOVER_H */
