// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
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

int mounts__find(const char *text, const char *fstype, const char *path, char *out,
		 size_t outlen)
{
	const char *line = text;
	size_t best = 0;
	int found = -ENOENT;

	while (line && *line) {
		char dev[256], mnt[PATH_MAX], type[64];
		const char *nl = strchr(line, '\n');

		if (sscanf(line, "%255s %4095s %63s", dev, mnt, type) == 3 &&
		    !strcmp(type, fstype)) {
			size_t cover = path ? mount_covers(mnt, path) : 1;

			if (cover > best) {
				if (strlen(mnt) >= outlen)
					return -ENAMETOOLONG;
				strcpy(out, mnt);
				best = cover;
				found = 0;
				if (!path)
					return 0;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return found;
}

static int read_mounts(char **text)
{
	size_t cap = 16384, len = 0;
	FILE *f = fopen("/proc/mounts", "r");
	char *buf;

	if (!f)
		return -errno;
	buf = malloc(cap);
	while (buf) {
		size_t n = fread(buf + len, 1, cap - len - 1, f);

		len += n;
		if (len < cap - 1)
			break;
		cap *= 2;
		char *nbuf = realloc(buf, cap);

		if (!nbuf)
			free(buf);
		buf = nbuf;
	}
	fclose(f);
	if (!buf)
		return -ENOMEM;
	buf[len] = '\0';
	*text = buf;
	return 0;
}

static int find_mount(const char *fstype, const char *path, char *out, size_t outlen)
{
	char *text;
	int err = read_mounts(&text);

	if (err)
		return err;
	err = mounts__find(text, fstype, path, out, outlen);
	free(text);
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
