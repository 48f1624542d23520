/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Finding (and if needed mounting) bpffs and cgroup v2, from /proc/mounts. */
#ifndef XSL_MOUNTS_H
#define XSL_MOUNTS_H

#include <stddef.h>

/*
 * Pure: in a /proc/mounts text, the mount point of the filesystem of type
 * fstype that contains path (longest matching mount point), or with path
 * NULL the first mount of that type. 0, or -ENOENT.
 */
int mounts__find(const char *text, const char *fstype, const char *path, char *out,
		 size_t outlen);

/* Makes sure pin_root is a directory on a bpffs, mounting bpffs on
 * /sys/fs/bpf when nothing is mounted there. */
int mounts__prepare_pin_root(const char *pin_root);

/* The cgroup v2 mount point, mounting cgroup2 when none is mounted. */
int mounts__cgroup2(char *out, size_t outlen);

/* mkdir -p */
int mounts__mkdir_p(const char *path, unsigned int mode);

#endif /* XSL_MOUNTS_H */
