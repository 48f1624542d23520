// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "agent.h"
#include "guard.h"
#include "hooks.h"
#include "log.h"
#include "recover.h"
#include "restore.h"

struct map_dump {
	struct xsl_app apps[XSL_MAX_APPS];
	struct xsl_worker workers[XSL_MAX_WORKERS];
	struct xsl_listener_key lkeys[XSL_MAX_LISTENERS];
	struct xsl_listener lvals[XSL_MAX_LISTENERS];
	struct xsl_slot_table slots[XSL_MAX_LISTENERS];
	struct xsl_wsock_key wsocks[AGENT_MAX_SOCKS];
	struct xsl_restore_report report;
};

/* The keys of xsl_wsocks: the workers serving a listener without a slot
 * (of an instance its table does not hold) serve by them. */
static unsigned int dump_wsocks(const struct agent *a, struct map_dump *d)
{
	struct xsl_wsock_key k, next;
	void *prev = NULL;
	unsigned int n = 0;

	while (n < AGENT_MAX_SOCKS && !bpf_map_get_next_key(a->maps.wsocks, prev, &next)) {
		d->wsocks[n++] = next;
		k = next;
		prev = &k;
	}
	return n;
}

static int dump_maps(const struct agent *a, struct map_dump *d, unsigned int *n_listeners)
{
	struct xsl_listener_key k, next;
	void *prev = NULL;
	unsigned int n = 0;

	for (uint32_t i = 0; i < XSL_MAX_APPS; i++)
		if (bpf_map_lookup_elem(a->maps.apps, &i, &d->apps[i]))
			return -errno;
	for (uint32_t i = 0; i < XSL_MAX_WORKERS; i++)
		if (bpf_map_lookup_elem(a->maps.workers, &i, &d->workers[i]))
			return -errno;
	for (uint32_t i = 0; i < XSL_MAX_LISTENERS; i++)
		if (bpf_map_lookup_elem(a->maps.slots, &i, &d->slots[i]))
			return -errno;
	while (n < XSL_MAX_LISTENERS && !bpf_map_get_next_key(a->maps.listeners, prev, &next)) {
		if (!bpf_map_lookup_elem(a->maps.listeners, &next, &d->lvals[n]))
			d->lkeys[n++] = next;
		k = next;
		prev = &k;
	}
	*n_listeners = n;
	return 0;
}

static void note(void *ctx, const char *msg)
{
	(void)ctx;
	pr_warn("recover: %s\n", msg);
}

/* Finds the directory below dir whose inode is ino (an adopted cgroup). */
static int find_cgroup(const char *dir, uint64_t ino, int depth, char *out, size_t len)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	int found = -ENOENT;
	DIR *d;

	if (!stat(dir, &st) && st.st_ino == ino) {
		snprintf(out, len, "%s", dir);
		return 0;
	}
	if (depth > 16 || !(d = opendir(dir)))
		return -ENOENT;
	while (found && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		found = find_cgroup(path, ino, depth + 1, out, len);
	}
	closedir(d);
	return found;
}

/*
 * Finds a restored app's cgroup. The record is the agent's own writing, but
 * the pinned maps outlive it and can be edited: an own cgroup is only ever
 * <cgroup root>/<name>, and an adopted one must pass the same rule as at
 * attach (below the cgroup v2 mount, not the cgroup root or above it).
 * Anything else is refused: recover__registry() frees the app at once,
 * without touching that cgroup.
 */
static int recover_cgroup(struct agent *a, const struct reg_app *ra, char *out, size_t len)
{
	bool own = ra->flags & XSL_APP_F_OWN_CGROUP;
	struct stat st;

	if (own) {
		if (snprintf(out, len, "%s/%s", a->cgroup_root, ra->name) >= (int)len ||
		    !guard__own_cgroup(out, a->cgroup_root)) {
			pr_warn("recover: app %s: refusing an own cgroup outside %s\n", ra->name,
				a->cgroup_root);
			return -EXDEV;
		}
		if (stat(out, &st) || st.st_ino != ra->cgroup_id) {
			pr_warn("recover: app %s: its cgroup %s is not cgroup %llu: refused\n",
				ra->name, out, (unsigned long long)ra->cgroup_id);
			return -ENOENT;
		}
		return 0;
	}
	if (find_cgroup(a->cgroup2, ra->cgroup_id, 0, out, len)) {
		pr_warn("recover: app %s: cgroup %llu not found\n", ra->name,
			(unsigned long long)ra->cgroup_id);
		return -ENOENT;
	}
	if (guard__adoptable_cgroup(out, a->cgroup2, a->cgroup_root)) {
		pr_warn("recover: app %s: refusing cgroup %s (not below %s, or holding %s)\n",
			ra->name, out, a->cgroup2, a->cgroup_root);
		return -EXDEV;
	}
	return 0;
}

/* Reopens a restored app's cgroup and its socket hooks; -EXDEV or -ENOENT
 * when its cgroup is refused or gone. */
static int recover_app(struct agent *a, uint32_t app)
{
	const struct reg_app *ra = registry__app(a->reg, app);
	struct agent_app *aa = &a->apps[app];
	int err;

	*aa = (struct agent_app){ .cgroup_fd = -1,
				  .own_cgroup = ra->flags & XSL_APP_F_OWN_CGROUP };
	err = recover_cgroup(a, ra, aa->cgroup, sizeof(aa->cgroup));
	if (err) {
		aa->cgroup[0] = '\0';
		aa->own_cgroup = false;
		return err;
	}
	aa->cgroup_fd = open(aa->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (aa->cgroup_fd < 0) {
		/* the reconcile pass frees it if the cgroup is really gone */
		pr_warn("recover: app %s: open %s: %s\n", ra->name, aa->cgroup, strerror(errno));
		return 0;
	}
	err = hooks__attach_cgroup(a->hooks, aa->cgroup_fd, ra->cgroup_id, a->o.pin_root);
	if (err)
		pr_warn("recover: app %s: socket hooks on %s: %s\n", ra->name, aa->cgroup,
			strerror(-err));
	pr_info("recover: app %s (index %u): %u workers, %u listeners\n", ra->name, app,
		ra->n_workers, ra->n_listeners);
	return 0;
}

/* The agent's socket table from xsl_wsocks (a sockhash lookup gives the cookie). */
static void recover_socks(struct agent *a)
{
	struct xsl_wsock_key k, next;
	void *prev = NULL;
	unsigned int n = 0;

	while (!bpf_map_get_next_key(a->maps.wsocks, prev, &next)) {
		uint64_t cookie;
		bool keep = n < AGENT_MAX_SOCKS && registry__worker(a->reg, next.worker) &&
			    registry__listener(a->reg, next.listener) &&
			    !bpf_map_lookup_elem(a->maps.wsocks, &next, &cookie);

		k = next;
		prev = &k;
		if (!keep) {
			bpf_map_delete_elem(a->maps.wsocks, &next);
			continue;
		}
		a->socks[n++] = (struct agent_sock){ .cookie = cookie, .listener = next.listener,
						     .worker = next.worker };
	}
	/* a listener nobody's socket backs was made by `xslctl listen` */
	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++)
		a->listener_static[l] = registry__listener(a->reg, l) && !socks__count(a, l);
}

/* Drops cgroup -> app entries no restored app owns; rewrites stale ones. */
static void recover_app_cgroups(struct agent *a)
{
	uint64_t k, next;
	void *prev = NULL;

	while (!bpf_map_get_next_key(a->maps.app_cgroups, prev, &next)) {
		struct xsl_app_ref ref;
		uint32_t app;

		k = next;
		prev = &k;
		if (registry__app_by_cgroup(a->reg, next, &app))
			bpf_map_delete_elem(a->maps.app_cgroups, &next);
		else if (bpf_map_lookup_elem(a->maps.app_cgroups, &next, &ref) || ref.app != app ||
			 ref.gen != a->reg->apps[app].gen)
			mirror__app(&a->mirror, app);
	}
}

/* Writes back what restore dropped or repaired. Stale cgroup entries are
 * left to recover_app_cgroups(), which knows the live owners. */
static void repair(struct agent *a, const struct xsl_restore_report *rep)
{
	for (unsigned int i = 0; i < rep->n_dropped_apps; i++)
		mirror__app(&a->mirror, rep->dropped_apps[i]);
	for (unsigned int i = 0; i < rep->n_dropped_workers; i++)
		mirror__worker(&a->mirror, rep->dropped_workers[i]);
	for (unsigned int i = 0; i < rep->n_dropped_keys; i++)
		bpf_map_delete_elem(a->maps.listeners, &rep->dropped_keys[i]);
	for (unsigned int i = 0; i < rep->n_repaired_listeners; i++)
		mirror__listener(&a->mirror, rep->repaired_listeners[i]);
	/* this agent gives every key its own listener: an alias is debris */
	for (unsigned int i = 0; i < rep->n_aliases; i++)
		bpf_map_delete_elem(a->maps.listeners, &rep->aliases[i].key);
}

int recover__registry(struct agent *a)
{
	struct map_dump *d = calloc(1, sizeof(*d));
	struct xsl_restore_input in;
	unsigned int nl = 0;
	int err;

	if (!d)
		return -ENOMEM;
	err = dump_maps(a, d, &nl);
	if (err) {
		pr_err("recover: read the pinned maps: %s\n", strerror(-err));
		goto out;
	}
	in = (struct xsl_restore_input){ .apps = d->apps, .workers = d->workers,
					 .lkeys = d->lkeys, .lvals = d->lvals,
					 .n_listeners = nl, .slots = d->slots, .note = note,
					 .wsocks = d->wsocks, .n_wsocks = dump_wsocks(a, d) };
	err = restore__registry(a->reg, &in, &d->report);
	if (err) {
		pr_err("recover: rebuild the registry: %s\n", strerror(-err));
		goto out;
	}
	repair(a, &d->report);
	/* an app without its cgroup is freed now, before any event of
	 * processes in a cgroup it names could make them its workers */
	for (uint32_t app = 0; app < XSL_MAX_APPS; app++)
		if (registry__app(a->reg, app) && recover_app(a, app))
			procs__detach(a, app, 0, DETACH_RECONCILE);
	recover_socks(a);
	recover_app_cgroups(a);
	if (d->report.apps)
		pr_info("recover: %u apps, %u workers, %u listeners from %s\n", d->report.apps,
			d->report.workers, d->report.listeners, a->o.pin_root);
out:
	free(d);
	return err;
}

int recover__unpin_all(const char *pin_root)
{
	char path[PATH_MAX];
	struct dirent *de;
	int err = 0;
	DIR *d = opendir(pin_root);

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	/* maps, the hooks' socket storage, links: everything named xsl_ */
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "xsl_", 4))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", pin_root, de->d_name) >= (int)sizeof(path))
			continue;
		if (unlink(path) && !err)
			err = -errno;
	}
	closedir(d);
	return err;
}
