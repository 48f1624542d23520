/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What /proc tells of a process, for rooms that must not depend on the
 * process room (agent_procs.c) to learn it. */
#ifndef XSL_PROCFS_H
#define XSL_PROCFS_H

#include <stddef.h>
#include <stdint.h>

/* pid's cgroup path relative to the cgroup2 mount (its "0::" line of
 * /proc/PID/cgroup): 0, -ENOENT when it is not on v2, -ENAMETOOLONG when
 * len is too short, or the open's -errno (-ENOENT: no such process). */
int procfs__cgroup_of(uint32_t pid, char *out, size_t len);

#endif /* XSL_PROCFS_H */
