// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "mirror.h"
#include "records.h"

static int keep(struct xsl_mirror *mi, int err, const char *what, uint32_t index)
{
	if (err) {
		pr_warn("mirror %s %u into maps: %s\n", what, index, strerror(-err));
		if (!mi->err)
			mi->err = err;
	}
	return err;
}

static int update(int fd, const void *key, const void *value)
{
	return bpf_map_update_elem(fd, key, value, BPF_ANY) ? -errno : 0;
}

static int delete(int fd, const void *key)
{
	return bpf_map_delete_elem(fd, key) && errno != ENOENT ? -errno : 0;
}

int mirror__app(struct xsl_mirror *mi, uint32_t app)
{
	struct xsl_app rec;
	struct xsl_app_ref ref;
	uint64_t cgid;
	int err = 0;

	if (records__app(mi->r, app, &rec, &ref))
		return -EINVAL;
	cgid = rec.cgroup_id;
	if (rec.state == XSL_APP_LIVE) {
		err = update(mi->m->apps, &app, &rec);
		if (!err && cgid)
			err = update(mi->m->app_cgroups, &cgid, &ref);
	} else {
		/* the hooks stop seeing the cgroup before the record goes */
		if (cgid)
			err = delete(mi->m->app_cgroups, &cgid);
		if (!err)
			err = update(mi->m->apps, &app, &rec);
	}
	return keep(mi, err, "app", app);
}

/* Zeroes a new worker's per-CPU counters: the index may have served another. */
static int zero_worker_stats(struct xsl_mirror *mi, uint32_t worker)
{
	int ncpus = libbpf_num_possible_cpus();
	struct xsl_worker_stats *zero;
	int err;

	if (ncpus < 0)
		return ncpus;
	zero = calloc(ncpus, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	err = update(mi->m->wrk_stats, &worker, zero);
	free(zero);
	return err;
}

int mirror__worker(struct xsl_mirror *mi, uint32_t worker)
{
	struct xsl_worker rec, old = {};
	int err = 0;

	if (records__worker(mi->r, worker, &rec))
		return -EINVAL;
	if (rec.state == XSL_WORKER_LIVE &&
	    (bpf_map_lookup_elem(mi->m->workers, &worker, &old) || old.gen != rec.gen))
		err = zero_worker_stats(mi, worker);
	if (!err)
		err = update(mi->m->workers, &worker, &rec);
	return keep(mi, err, "worker", worker);
}

int mirror__listener(struct xsl_mirror *mi, uint32_t listener)
{
	static struct xsl_slot_table tab;
	struct xsl_listener_key key;
	struct xsl_listener rec;
	int err;

	if (listener >= XSL_MAX_LISTENERS)
		return -EINVAL;
	if (!mi->r->listeners[listener].live) {
		records__listener(mi->r, listener, &key, &rec, NULL);
		err = delete(mi->m->listeners, &key);
		return keep(mi, err, "listener", listener);
	}
	/* The table before the listener: a new listener is only found once
	 * its table is complete. */
	records__listener(mi->r, listener, &key, &rec, &tab);
	err = update(mi->m->slots, &listener, &tab);
	if (!err)
		err = update(mi->m->listeners, &key, &rec);
	return keep(mi, err, "listener", listener);
}

int mirror__all(struct xsl_mirror *mi)
{
	int err = 0, e;

	for (uint32_t a = 0; a < XSL_MAX_APPS; a++)
		if (mi->r->apps[a].live && (e = mirror__app(mi, a)) && !err)
			err = e;
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++)
		if (mi->r->workers[w].live && (e = mirror__worker(mi, w)) && !err)
			err = e;
	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++)
		if (mi->r->listeners[l].live && (e = mirror__listener(mi, l)) && !err)
			err = e;
	return err;
}

static void hook_app(void *ctx, uint32_t app)
{
	mirror__app(ctx, app);
}

static void hook_worker(void *ctx, uint32_t worker)
{
	mirror__worker(ctx, worker);
}

static void hook_listener(void *ctx, uint32_t listener)
{
	mirror__listener(ctx, listener);
}

void mirror__install(struct xsl_mirror *mi, struct xsl_registry *r, const struct xsl_maps *m)
{
	mi->r = r;
	mi->m = m;
	mi->err = 0;
	r->hooks = (struct xsl_registry_hooks){
		.ctx = mi,
		.app_changed = hook_app,
		.worker_changed = hook_worker,
		.listener_changed = hook_listener,
	};
}
