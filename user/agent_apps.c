// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * App lifecycle: an app's cgroup made (<cgroup root>/<name>) or adopted
 * (--cgroup) at attach, its socket hooks attached there, the processes
 * already in it made workers; at the end (operator detach, or its last
 * worker gone) its hooks, sessions and cgroup fd released and a cgroup the
 * agent made removed, retried on the next ticks while an exiting task still
 * holds it. Sits above the process room (agent_procs.c): processes are
 * registered through it, and it calls back here when an app is freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include "agent.h"
#include "guard.h"
#include "hooks.h"
#include "log.h"

/* Frees what the agent keeps for an app the registry has just freed (the
 * process room's on_app_freed callback). */
static void app_freed(struct agent *a, uint32_t app)
{
	struct agent_app *aa = &a->apps[app];
	const struct reg_app *raw = &a->reg->apps[app];

	pr_info("app %s (index %u) freed\n", raw->name, app);
	hooks__detach_cgroup(raw->cgroup_id, a->o.pin_root);
	gc__flush_app(a, app);
	/* its instances' cgroups first: the app's own is removed once empty */
	inst__app_freed(a, app);
	if (aa->cgroup_fd >= 0)
		close(aa->cgroup_fd);
	/* only a directory this agent made, right below its own cgroup root */
	if (aa->own_cgroup && guard__own_cgroup(aa->cgroup, a->cgroup_root))
		rmdirs__remove(a, aa->cgroup, raw->name);
	*aa = (struct agent_app){ .cgroup_fd = -1 };
}

void apps__init(struct agent *a)
{
	a->on_app_freed = app_freed;
}

/* The adopted cgroup path (resolved into path) may hold an app: below the
 * cgroup v2 mount, not the agent's cgroup root or above it, cgroup v2. */
static int adopt_check(struct agent *a, const char *cgroup, char *path, char *why, size_t why_len)
{
	struct statfs sfs;
	int err;

	if (!realpath(cgroup, path)) {
		err = -errno;
		snprintf(why, why_len, "cgroup %s: %s", cgroup, strerror(-err));
		return err;
	}
	err = guard__adoptable_cgroup(path, a->cgroup2, a->cgroup_root);
	if (err == -EXDEV)
		snprintf(why, why_len, "cgroup %s is not below the cgroup v2 mount %s", path,
			 a->cgroup2);
	else if (err)
		snprintf(why, why_len, "cgroup %s is the agent's cgroup root %s or above it", path,
			 a->cgroup_root);
	if (err)
		return err;
	if (statfs(path, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		snprintf(why, why_len, "%s is not a cgroup v2 directory", path);
		return -EXDEV;
	}
	return 0;
}

/* Makes the app's own cgroup <cgroup root>/name in path (*own: made now, or
 * left by an earlier app of this name and so still ours). */
static int own_cgroup(struct agent *a, const char *name, char *path, bool *own, char *why,
		      size_t why_len)
{
	int err;

	/* the name was checked: path is one directory below the root */
	if (snprintf(path, PATH_MAX, "%s/%s", a->cgroup_root, name) >= PATH_MAX) {
		snprintf(why, why_len, "cgroup path %s/%s is too long", a->cgroup_root, name);
		return -ENAMETOOLONG;
	}
	if (!mkdir(path, 0755)) {
		*own = true;
		return 0;
	}
	if (errno != EEXIST) {
		err = -errno;
		snprintf(why, why_len, "make cgroup %s: %s", path, strerror(-err));
		return err;
	}
	/* made by an earlier app of this name and waiting for its last task to
	 * leave: still ours, and no longer to remove */
	if (rmdirs__cancel(a, path))
		*own = true;
	if (!*own)
		pr_info("app %s: using the existing cgroup %s (not made by this agent: "
			"kept when the app goes)\n", name, path);
	return 0;
}

/*
 * Attaches app name in its own cgroup <cgroup root>/<name> (made here) or in
 * the adopted cgroup (below the cgroup v2 mount, never the cgroup root or an
 * ancestor of it). Every argument is checked before anything is made, and a
 * directory is removed again only when this call made it: one that was
 * already there is used but never removed by the agent. On failure why says
 * what failed and with which object.
 */
int apps__attach(struct agent *a, const char *name, const char *cgroup,
		 const struct xsl_app_opts *opts, uint32_t *app_out, char *why, size_t why_len)
{
	struct xsl_app_opts o = opts ? *opts : (struct xsl_app_opts){ 0 };
	struct pid_set s = { 0 };
	char path[PATH_MAX];
	bool own = false;
	struct stat st;
	uint32_t app;
	int err, fd;

	if (registry__check_name(name, why, why_len))
		return -EINVAL;
	if (registry__app_by_name(a->reg, name, &app) == 0) {
		snprintf(why, why_len, "name already in use (app %u)", app);
		return -EEXIST;
	}
	if (o.policy != XSL_POLICY_REASSIGN && o.policy != XSL_POLICY_DROP) {
		snprintf(why, why_len, "unknown policy %u", o.policy);
		return -EINVAL;
	}
	err = cgroup ? adopt_check(a, cgroup, path, why, why_len) :
		       own_cgroup(a, name, path, &own, why, why_len);
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		err = -errno;
		snprintf(why, why_len, "open cgroup %s: %s", path, strerror(-err));
		goto fail;
	}
	o.cgroup_id = st.st_ino;
	if (own)
		o.flags |= XSL_APP_F_OWN_CGROUP;
	err = registry__attach_app(a->reg, name, &o, &app);
	if (err) {
		snprintf(why, why_len, "%s", registry__error(a->reg));
		goto fail;
	}
	a->apps[app] = (struct agent_app){ .cgroup_fd = fd, .own_cgroup = own };
	snprintf(a->apps[app].cgroup, sizeof(a->apps[app].cgroup), "%s", path);
	err = hooks__attach_cgroup(a->hooks, fd, st.st_ino, a->o.pin_root);
	if (err) {
		snprintf(why, why_len, "attach socket hooks to %s: %s", path, strerror(-err));
		pr_err("app %s: %s\n", name, why);
		/* frees the app: its cgroup goes with it only if we made it */
		procs__detach(a, app, 0, DETACH_API);
		return err;
	}
	pr_info("app %s attached (index %u, cgroup %s)\n", name, app, path);
	/* an adopted cgroup may already hold processes: each is a worker */
	if (!procs__cgroup_pids(path, &s)) {
		for (unsigned int i = 0; i < s.n; i++) {
			procs__register(a, app, s.pids[i], 0, CAUSE_JOIN, 0, NULL);
			socks__scan_process(a, app, s.pids[i]);
		}
	}
	free(s.pids);
	if (app_out)
		*app_out = app;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (own)
		rmdir(path);
	return err;
}

int apps__detach(struct agent *a, uint32_t app)
{
	return procs__detach(a, app, 0, DETACH_API);
}
