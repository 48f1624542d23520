// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include "log.h"
#include "mounts.h"

#define BPFFS_DEFAULT "/sys/fs/bpf"
#define CGROUP2_DEFAULT "/sys/fs/cgroup"
#define CGROUP2_FALLBACK "/run/xsl/cgroup2"

/* Does mount point mnt contain path? ("/" contains all, "/a" contains "/a/b"). */
static size_t mount_covers(const char *mnt, const char *path)
{
	size_t n = strlen(mnt);

	if (!strcmp(mnt, "/"))
		return 1;
	if (strncmp(mnt, path, n) || (path[n] != '/' && path[n] != '\0'))
		return 0;
	return n;
}

/* The best mount of fstype for path among the entries of f (see mounts__find). */
static int find_in(FILE *f, const char *fstype, const char *path, char *out, size_t outlen)
{
	char buf[2 * PATH_MAX + 512];
	struct mntent ent;
	size_t best = 0;
	int found = -ENOENT;

	/* getmntent decodes the octal escapes (\040 for a space) of mount points */
	while (getmntent_r(f, &ent, buf, sizeof(buf))) {
		size_t cover;

		if (strcmp(ent.mnt_type, fstype))
			continue;
		cover = path ? mount_covers(ent.mnt_dir, path) : 1;
		if (cover <= best)
			continue;
		if (strlen(ent.mnt_dir) >= outlen)
			return -ENAMETOOLONG;
		strcpy(out, ent.mnt_dir);
		best = cover;
		found = 0;
		if (!path)
			break;
	}
	return found;
}

int mounts__find(const char *text, const char *fstype, const char *path, char *out,
		 size_t outlen)
{
	FILE *f;
	int err;

	if (!*text)
		return -ENOENT;
	f = fmemopen((void *)text, strlen(text), "r");
	if (!f)
		return -errno;
	err = find_in(f, fstype, path, out, outlen);
	fclose(f);
	return err;
}

static int find_mount(const char *fstype, const char *path, char *out, size_t outlen)
{
	FILE *f = setmntent("/proc/mounts", "re");
	int err;

	if (!f)
		return -errno;
	err = find_in(f, fstype, path, out, outlen);
	endmntent(f);
	return err;
}

int mounts__mkdir_p(const char *path, unsigned int mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(buf, mode) && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

int mounts__prepare_pin_root(const char *pin_root)
{
	char mnt[PATH_MAX];
	struct statfs st;
	int err;

	if (find_mount("bpf", pin_root, mnt, sizeof(mnt))) {
		if (mount_covers(BPFFS_DEFAULT, pin_root) == 0) {
			pr_err("pin root %s: not below a bpf filesystem\n", pin_root);
			return -EINVAL;
		}
		err = mounts__mkdir_p(BPFFS_DEFAULT, 0755);
		if (!err && mount("bpf", BPFFS_DEFAULT, "bpf", 0, "mode=0700"))
			err = -errno;
		if (err) {
			pr_err("mount bpffs on %s: %s\n", BPFFS_DEFAULT, strerror(-err));
			return err;
		}
		pr_info("mounted bpffs on %s\n", BPFFS_DEFAULT);
	}
	err = mounts__mkdir_p(pin_root, 0700);
	if (err) {
		pr_err("create pin root %s: %s\n", pin_root, strerror(-err));
		return err;
	}
	if (statfs(pin_root, &st) || st.f_type != BPF_FS_MAGIC) {
		pr_err("pin root %s: not on a bpf filesystem\n", pin_root);
		return -EINVAL;
	}
	return 0;
}

int mounts__cgroup2(char *out, size_t outlen)
{
	const char *target = CGROUP2_DEFAULT;
	struct statfs st;
	int err;

	if (!find_mount("cgroup2", NULL, out, outlen))
		return 0;
	/* /sys/fs/cgroup may hold a v1 hierarchy: never mount over it. */
	if (!statfs(CGROUP2_DEFAULT, &st) && st.f_type == TMPFS_MAGIC)
		target = CGROUP2_FALLBACK;
	err = mounts__mkdir_p(target, 0755);
	if (!err && mount("cgroup2", target, "cgroup2", 0, NULL))
		err = -errno;
	if (err) {
		pr_err("mount cgroup2 on %s: %s\n", target, strerror(-err));
		return err;
	}
	pr_info("mounted cgroup2 on %s\n", target);
	if (strlen(target) >= outlen)
		return -ENAMETOOLONG;
	strcpy(out, target);
	return 0;
}
