// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Pure guards of the agent (guard.h). */
#include <errno.h>
#include <string.h>
#include "guard.h"

bool guard__below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	/* "/" as dir: every other absolute path is below it */
	if (n == 1 && dir[0] == '/')
		return path[0] == '/' && path[1] != '\0';
	return !strncmp(path, dir, n) && path[n] == '/' && path[n + 1] != '\0';
}

int guard__adoptable_cgroup(const char *path, const char *cgroup2, const char *cgroup_root)
{
	if (!guard__below(path, cgroup2))
		return -EXDEV;
	if (!strcmp(path, cgroup_root) || guard__below(cgroup_root, path))
		return -EINVAL;
	return 0;
}

bool guard__own_cgroup(const char *path, const char *cgroup_root)
{
	const char *name;

	if (!guard__below(path, cgroup_root))
		return false;
	name = path + strlen(cgroup_root) + 1;
	if (strlen(cgroup_root) == 1)
		name = path + 1;
	return !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

int guard__admit(const struct guard_slots *s, uint32_t uid, unsigned int used,
		 unsigned int uid_used)
{
	if (used >= s->max)
		return -EMFILE;
	if (uid == 0)
		return 0;
	if (used + s->root_reserved >= s->max)
		return -EAGAIN;
	if (uid_used >= s->per_uid)
		return -EUSERS;
	return 0;
}

int guard__reply_fits(const struct guard_out *o, size_t n, size_t total)
{
	if (n > o->max_reply)
		return -EMSGSIZE;
	if (total + n > o->total)
		return -EAGAIN;
	return 0;
}
