// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Map records of registry objects (see records.h). */
#include <errno.h>
#include <string.h>
#include "records.h"

int records__app(const struct xsl_registry *r, uint32_t app, struct xsl_app *rec,
		 struct xsl_app_ref *ref)
{
	const struct reg_app *ra;

	if (app >= XSL_MAX_APPS)
		return -EINVAL;
	ra = &r->apps[app];
	memset(rec, 0, sizeof(*rec));
	rec->gen = ra->gen;
	rec->state = ra->live ? XSL_APP_LIVE : XSL_APP_FREE;
	rec->policy = ra->policy;
	rec->flags = ra->flags;
	rec->idle_timeout_s = ra->idle_timeout_s;
	rec->creator_pid = ra->creator_pid;
	rec->cgroup_id = ra->cgroup_id;
	rec->instance = ra->last_instance;
	for (unsigned int i = 0; ra->live && i < XSL_REG_MAX_INSTANCES; i++) {
		const struct reg_instance *in = &ra->inst[i];

		if (in->num && !in->n_workers && in->num > rec->fresh_instance)
			rec->fresh_instance = in->num;
	}
	memcpy(rec->name, ra->name, sizeof(rec->name));
	rec->name[sizeof(rec->name) - 1] = '\0';
	if (ref)
		*ref = (struct xsl_app_ref){ .app = app, .gen = ra->gen };
	return 0;
}

int records__worker(const struct xsl_registry *r, uint32_t worker, struct xsl_worker *rec)
{
	const struct reg_worker *rw;

	if (worker >= XSL_MAX_WORKERS)
		return -EINVAL;
	rw = &r->workers[worker];
	memset(rec, 0, sizeof(*rec));
	rec->gen = rw->gen;
	rec->state = rw->live ? XSL_WORKER_LIVE : XSL_WORKER_FREE;
	rec->map_index = (uint16_t)rw->map_index;
	rec->app = rw->app;
	/* a freed slot's app index may be anything in range; its gen is moot */
	rec->app_gen = rw->app < XSL_MAX_APPS ? r->apps[rw->app].gen : 0;
	rec->pid = rw->pid;
	rec->cpu = rw->cpu;
	rec->start_time_ns = rw->start_time_ns;
	rec->instance = (uint8_t)rw->instance;
	return 0;
}

int records__listener(const struct xsl_registry *r, uint32_t listener,
		      struct xsl_listener_key *key, struct xsl_listener *val,
		      struct xsl_slot_table *tab)
{
	const struct reg_listener *rl;

	if (listener >= XSL_MAX_LISTENERS)
		return -EINVAL;
	rl = &r->listeners[listener];
	*key = rl->key;
	memset(val, 0, sizeof(*val));
	val->index = listener;
	val->gen = rl->gen;
	val->app = rl->app;
	val->app_gen = rl->app < XSL_MAX_APPS ? r->apps[rl->app].gen : 0;
	val->n_workers = rl->n_workers;
	val->flags = rl->flags;
	if (!tab)
		return 0;
	for (unsigned int i = 0; i < XSL_TABLE_SLOTS; i++) {
		uint32_t w = rl->table.slot[i];

		tab->slot[i].worker = w;
		tab->slot[i].gen = w < XSL_MAX_WORKERS ? r->workers[w].gen : 0;
	}
	return 0;
}
