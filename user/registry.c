// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The app/worker registry (see registry.h for the rules and the hook order).
 *
 * Everything lives in fixed arrays inside struct xsl_registry; lookups are
 * linear scans over them, which is cheap at these sizes. Each operation
 * checks every way it can fail before changing anything, so a failed call
 * leaves the registry as it was (table errors aside, which a consistent
 * registry never has). No syscalls: arpa/inet.h is only used to format
 * listener keys in messages.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "registry.h"

static void set_err(struct xsl_registry *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_err(struct xsl_registry *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
}

/* Failing with an errno and a message naming the object: return fail(...). */
#define fail(r, err, ...) (set_err(r, __VA_ARGS__), (err))

static void hook_app(struct xsl_registry *r, uint32_t app)
{
	if (r->hooks.app_changed)
		r->hooks.app_changed(r->hooks.ctx, app);
}

static void hook_worker(struct xsl_registry *r, uint32_t worker)
{
	if (r->hooks.worker_changed)
		r->hooks.worker_changed(r->hooks.ctx, worker);
}

static void hook_listener(struct xsl_registry *r, uint32_t listener)
{
	if (r->hooks.listener_changed)
		r->hooks.listener_changed(r->hooks.ctx, listener);
}

/* The next gen of a slot being allocated: bumped, never 0. */
static uint32_t next_gen(uint32_t gen)
{
	return gen + 1 ? gen + 1 : 1;
}

static bool bit_test(const uint64_t *map, uint32_t i)
{
	return map[i / 64] & (1ull << (i % 64));
}

static void bit_set(uint64_t *map, uint32_t i)
{
	map[i / 64] |= 1ull << (i % 64);
}

static void bit_clear(uint64_t *map, uint32_t i)
{
	map[i / 64] &= ~(1ull << (i % 64));
}

struct xsl_registry *registry__new(void)
{
	struct xsl_registry *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	for (unsigned int i = 0; i < XSL_MAX_LISTENERS; i++)
		table__clear(&r->listeners[i].table);
	r->max_app_listeners = XSL_MAX_APP_LISTENERS;
	return r;
}

void registry__free(struct xsl_registry *r)
{
	free(r);
}

const char *registry__error(const struct xsl_registry *r)
{
	return r->err;
}

/* ---- lookups ---- */

static bool app_live(const struct xsl_registry *r, uint32_t app)
{
	return app < XSL_MAX_APPS && r->apps[app].live;
}

static bool worker_live(const struct xsl_registry *r, uint32_t worker)
{
	return worker < XSL_MAX_WORKERS && r->workers[worker].live;
}

static bool listener_live(const struct xsl_registry *r, uint32_t listener)
{
	return listener < XSL_MAX_LISTENERS && r->listeners[listener].live;
}

const struct reg_app *registry__app(const struct xsl_registry *r, uint32_t app)
{
	return app_live(r, app) ? &r->apps[app] : NULL;
}

const char *registry__app_name(const struct xsl_registry *r, uint32_t app)
{
	return app_live(r, app) ? r->apps[app].name : NULL;
}

const struct reg_worker *registry__worker(const struct xsl_registry *r, uint32_t worker)
{
	return worker_live(r, worker) ? &r->workers[worker] : NULL;
}

int registry__worker_set_cpu(struct xsl_registry *r, uint32_t worker, int32_t cpu)
{
	if (!registry__worker(r, worker))
		return fail(r, -ENOENT, "set cpu: no worker %u", worker);
	if (cpu < -1)
		return fail(r, -EINVAL, "set cpu of worker %u: bad cpu %d", worker, cpu);
	r->workers[worker].cpu = cpu;
	hook_worker(r, worker);
	return 0;
}

const struct reg_listener *registry__listener(const struct xsl_registry *r, uint32_t listener)
{
	return listener_live(r, listener) ? &r->listeners[listener] : NULL;
}

int registry__app_by_name(const struct xsl_registry *r, const char *name, uint32_t *app)
{
	if (!name)
		return -EINVAL;
	for (uint32_t i = 0; i < XSL_MAX_APPS; i++) {
		if (r->apps[i].live && !strncmp(r->apps[i].name, name, XSL_APP_NAME_LEN)) {
			if (app)
				*app = i;
			return 0;
		}
	}
	return -ENOENT;
}

int registry__app_by_cgroup(const struct xsl_registry *r, uint64_t cgroup_id, uint32_t *app)
{
	if (!cgroup_id)
		return -ENOENT;
	for (uint32_t i = 0; i < XSL_MAX_APPS; i++) {
		if (r->apps[i].live && r->apps[i].cgroup_id == cgroup_id) {
			if (app)
				*app = i;
			return 0;
		}
	}
	return -ENOENT;
}

/* The process -> app entry of pid, or NULL (pid 0 has none). */
static struct proc_entry *proc_find(const struct xsl_registry *r, uint32_t pid)
{
	return proctab__find(&r->procs, pid);
}

/* A new entry for pid in app (room was checked). */
static struct proc_entry *proc_add(struct xsl_registry *r, uint32_t app, uint32_t pid,
				   uint64_t start_ns)
{
	struct proc_entry *e = NULL;

	proctab__insert(&r->procs, pid, start_ns, app, r->apps[app].gen, &e);
	return e;
}

int registry__app_by_pid(const struct xsl_registry *r, uint32_t pid, uint32_t *app)
{
	const struct proc_entry *p = proc_find(r, pid);

	/* Entries go with their app; checking liveness is the contract anyway. */
	if (!p || !app_live(r, p->app) || r->apps[p->app].gen != p->app_gen)
		return -ENOENT;
	if (app)
		*app = p->app;
	return 0;
}

int registry__app_of_event(const struct xsl_registry *r, uint64_t cgroup_id, uint32_t app,
			   uint32_t gen, uint32_t *out)
{
	uint32_t found;

	if (registry__app_by_cgroup(r, cgroup_id, &found))
		return -ENOENT;
	if (gen && (found != app || r->apps[found].gen != gen))
		return -ENOENT;
	if (out)
		*out = found;
	return 0;
}

int registry__listener_find(const struct xsl_registry *r, const struct xsl_listener_key *key,
			    uint32_t *listener)
{
	if (!key)
		return -EINVAL;
	for (uint32_t i = 0; i < XSL_MAX_LISTENERS; i++) {
		if (r->listeners[i].live && !memcmp(&r->listeners[i].key, key, sizeof(*key))) {
			if (listener)
				*listener = i;
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- allocation ---- */

static int app_unused(const struct xsl_registry *r)
{
	for (int i = 0; i < XSL_MAX_APPS; i++) {
		if (!r->apps[i].live)
			return i;
	}
	return -1;
}

static int worker_unused(const struct xsl_registry *r)
{
	for (int i = 0; i < XSL_MAX_WORKERS; i++) {
		if (!r->workers[i].live)
			return i;
	}
	return -1;
}

static int listener_unused(const struct xsl_registry *r)
{
	for (int i = 0; i < XSL_MAX_LISTENERS; i++) {
		if (!r->listeners[i].live)
			return i;
	}
	return -1;
}

/* Lowest wrk_map_index not in use in the app (one always is while a worker
 * slot is free: an app never has more than XSL_MAX_WORKERS workers). */
static uint32_t map_index_unused(const struct reg_app *a)
{
	for (uint32_t w = 0; w < XSL_REG_WORKER_WORDS; w++) {
		if (~a->map_index_used[w])
			return w * 64 + __builtin_ctzll(~a->map_index_used[w]);
	}
	return XSL_NO_WORKER;
}

/* ---- instances ---- */

static struct reg_instance *inst_find(const struct xsl_registry *r, uint32_t app, uint16_t num)
{
	struct reg_app *ra = (struct reg_app *)&r->apps[app];

	if (!num)
		return NULL;
	for (unsigned int i = 0; i < XSL_REG_MAX_INSTANCES; i++) {
		if (ra->inst[i].num == num)
			return &ra->inst[i];
	}
	return NULL;
}

static bool inst_marked(const struct reg_instance *in)
{
	return in->mark >= XSL_INST_DRAINING;
}

static unsigned int inst_count(const struct reg_app *ra)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < XSL_REG_MAX_INSTANCES; i++)
		n += ra->inst[i].num != 0;
	return n;
}

/* The newest live unmarked instance (the current one), or NULL. */
static struct reg_instance *inst_current(const struct xsl_registry *r, uint32_t app)
{
	struct reg_app *ra = (struct reg_app *)&r->apps[app];
	struct reg_instance *cur = NULL;

	for (unsigned int i = 0; i < XSL_REG_MAX_INSTANCES; i++) {
		struct reg_instance *in = &ra->inst[i];

		if (in->num && !inst_marked(in) && (!cur || in->num > cur->num))
			cur = in;
	}
	return cur;
}

/* Whether instance num could be made in app now (a free slot, numbers
 * within 255 of each other); fails with the reason. */
static int inst_room(struct xsl_registry *r, uint32_t app, uint32_t num)
{
	const struct reg_app *ra = &r->apps[app];

	if (num > XSL_REG_MAX_INSTANCE)
		return fail(r, -EOVERFLOW, "app %s: all %u instance numbers were given out",
			    ra->name, XSL_REG_MAX_INSTANCE);
	if (inst_count(ra) >= XSL_REG_MAX_INSTANCES)
		return fail(r, -ENOSPC, "instance %u of app %s: %u instances are live already",
			    num, ra->name, XSL_REG_MAX_INSTANCES);
	for (unsigned int i = 0; i < XSL_REG_MAX_INSTANCES; i++) {
		if (ra->inst[i].num && ra->inst[i].num + 255u < num)
			return fail(r, -EBUSY, "instance %u of app %s: instance %u still lives "
				    "(at most 255 apart)", num, ra->name, ra->inst[i].num);
	}
	return 0;
}

/* Makes instance num of app (inst_room said yes), unmarked, no workers. */
static struct reg_instance *inst_make(struct xsl_registry *r, uint32_t app, uint16_t num)
{
	struct reg_app *ra = &r->apps[app];

	for (unsigned int i = 0; i < XSL_REG_MAX_INSTANCES; i++) {
		if (!ra->inst[i].num) {
			ra->inst[i] = (struct reg_instance){ .num = num, .mark = XSL_INST_SERVING };
			if (num > ra->last_instance)
				ra->last_instance = num;
			return &ra->inst[i];
		}
	}
	return NULL;
}

/* An app that is not held goes with its last instance. */
static bool app_unheld_empty(const struct xsl_registry *r, uint32_t app)
{
	const struct reg_app *ra = &r->apps[app];

	return !(ra->flags & XSL_APP_F_HELD) && !inst_count(ra);
}

/* Makes worker w of app in instance inst, which is live (all checks done),
 * calling no hook; true when it is the instance's first worker (the app
 * record, which names the newest instance with no worker, changes). */
static bool worker_make(struct xsl_registry *r, uint32_t app, uint16_t inst, uint32_t w,
			uint32_t pid, uint64_t start_time_ns)
{
	struct reg_instance *in = inst_find(r, app, inst);
	struct reg_app *a = &r->apps[app];
	struct reg_worker *wk = &r->workers[w];

	wk->gen = next_gen(wk->gen);
	wk->live = true;
	wk->app = app;
	wk->map_index = map_index_unused(a);
	wk->pid = pid;
	wk->start_time_ns = start_time_ns;
	wk->cpu = -1;
	wk->instance = inst;
	in->n_workers++;
	bit_set(a->map_index_used, wk->map_index);
	a->n_workers++;
	if (pid) {
		struct proc_entry *e = proc_find(r, pid);

		if (e && e->worker == XSL_NO_WORKER)
			e->worker = w;
	}
	return in->n_workers == 1;
}

/* ---- apps ---- */

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

/* The name rule, checked before anything is made for an app (it is also a
 * directory name below the cgroup root: no '/', no "." or ".."). A bad
 * character is shown by its code, never echoed (it may be a newline). */
int registry__check_name(const char *name, char *why, size_t len)
{
	size_t n;

	if (!name || !*name) {
		snprintf(why, len, "app name is empty");
		return -EINVAL;
	}
	n = strnlen(name, XSL_APP_NAME_LEN);
	if (n >= XSL_APP_NAME_LEN) {
		snprintf(why, len, "app name '%.*s...' is longer than %d characters",
			 XSL_APP_NAME_LEN - 1, name, XSL_APP_NAME_LEN - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!name_char_ok(name[i])) {
			snprintf(why, len,
				 "app name: character 0x%02x at offset %zu is not allowed "
				 "(only letters, digits, '_', '-', '.')",
				 (unsigned char)name[i], i);
			return -EINVAL;
		}
	}
	if (name[0] == '.' || name[0] == '-') {
		snprintf(why, len, "app name '%s' must not start with '%c'", name, name[0]);
		return -EINVAL;
	}
	return 0;
}

static int check_name(struct xsl_registry *r, const char *name)
{
	return registry__check_name(name, r->err, sizeof(r->err));
}

int registry__attach_app(struct xsl_registry *r, const char *name,
			 const struct xsl_app_opts *opts, uint32_t *app)
{
	static const struct xsl_app_opts operator_opts;
	const struct proc_entry *owner;
	int a, w = -1, err;
	uint32_t other;
	struct reg_app *ra;

	if (!opts)
		opts = &operator_opts;
	err = check_name(r, name);
	if (err)
		return err;
	if (!registry__app_by_name(r, name, NULL))
		return fail(r, -EEXIST, "app %s: already attached", name);
	if (opts->policy > XSL_POLICY_DROP)
		return fail(r, -EINVAL, "app %s: unknown policy %u", name, opts->policy);
	if (!registry__app_by_cgroup(r, opts->cgroup_id, &other))
		return fail(r, -EEXIST, "app %s: cgroup %llu already belongs to app %s", name,
			    (unsigned long long)opts->cgroup_id, r->apps[other].name);
	owner = proc_find(r, opts->creator_pid);
	if (owner)
		return fail(r, -EEXIST, "app %s: pid %u already belongs to app %s", name,
			    opts->creator_pid, r->apps[owner->app].name);
	a = app_unused(r);
	if (a < 0)
		return fail(r, -ENOSPC, "app %s: all %d app slots in use", name, XSL_MAX_APPS);
	if (opts->creator_pid) {
		w = worker_unused(r);
		if (w < 0)
			return fail(r, -ENOSPC, "app %s: all %d worker slots in use", name,
				    XSL_MAX_WORKERS);
		if (proctab__full(&r->procs))
			return fail(r, -ENOSPC, "app %s: all %d process entries in use", name,
				    XSL_REG_MAX_PROCS);
	}

	ra = &r->apps[a];
	*ra = (struct reg_app){
		.gen = next_gen(ra->gen),
		.live = true,
		.creator_pid = opts->creator_pid,
		.cgroup_id = opts->cgroup_id,
		.policy = opts->policy,
		.flags = opts->flags,
		.idle_timeout_s = opts->idle_timeout_s ? opts->idle_timeout_s : XSL_DEFAULT_IDLE_S,
	};
	inst_make(r, a, 1);
	/* The name is computed once, here, and cached for every later use. */
	memcpy(ra->name, name, strlen(name) + 1);
	if (app)
		*app = a;
	if (opts->creator_pid) {
		proc_add(r, a, opts->creator_pid, opts->creator_start_time_ns);
		worker_make(r, a, 1, w, opts->creator_pid, opts->creator_start_time_ns);
	}
	/* The app exists before anything that refers to it. */
	hook_app(r, a);
	if (opts->creator_pid)
		hook_worker(r, w);
	return 0;
}

/* ---- listeners: serving sets and tables ---- */

/* Worker w joins (true) or leaves listener l's serving set. */
static void serving_put(struct xsl_registry *r, uint32_t l, uint32_t w, bool on)
{
	struct reg_listener *ln = &r->listeners[l];
	const struct reg_app *ra = &r->apps[ln->app];

	if (on)
		bit_set(ln->serving, w);
	else
		bit_clear(ln->serving, w);
	for (unsigned int s = 0; s < XSL_REG_MAX_INSTANCES; s++) {
		if (ra->inst[s].num && ra->inst[s].num == r->workers[w].instance)
			ln->inst_serving[s] += on ? 1 : -1;
	}
}

/* Which instances serve which listeners: for each listener of app, a mask
 * of the app's instance slots (bit i: r->apps[app].inst[i]) one of whose
 * workers serves it; other listeners get 0. */
static void app_serves(const struct xsl_registry *r, uint32_t app, uint8_t *serves)
{
	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
		const struct reg_listener *ln = &r->listeners[l];

		serves[l] = 0;
		if (!ln->live || ln->app != app)
			continue;
		for (unsigned int s = 0; s < XSL_REG_MAX_INSTANCES; s++)
			serves[l] |= (ln->inst_serving[s] != 0) << s;
	}
}

/* Whether instance slot newer serves every listener instance slot older does. */
static bool serves_all(const uint8_t *serves, int newer, int older)
{
	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
		if ((serves[l] >> older & 1) && !(serves[l] >> newer & 1))
			return false;
	}
	return true;
}

/*
 * The slot of the instance taking new sessions, -1 for none: walking the
 * unmarked instances from the oldest, a newer one takes over once it serves
 * every listener the one taking them serves.
 */
static int taking_slot(const struct xsl_registry *r, uint32_t app, const uint8_t *serves)
{
	const struct reg_app *ra = &r->apps[app];
	int taker = -1;

	for (uint32_t prev = 0;;) {
		int next = -1;

		for (int i = 0; i < XSL_REG_MAX_INSTANCES; i++) {
			const struct reg_instance *in = &ra->inst[i];

			if (in->num > prev && !inst_marked(in) &&
			    (next < 0 || in->num < ra->inst[next].num))
				next = i;
		}
		if (next < 0)
			return taker;
		prev = ra->inst[next].num;
		if (taker < 0 || serves_all(serves, next, taker))
			taker = next;
	}
}

/* The table instance of listener l of app (see registry.h), 0 for none. */
static uint16_t table_inst_of(const struct xsl_registry *r, uint32_t app, const uint8_t *serves,
			      int taker, uint32_t l)
{
	const struct reg_app *ra = &r->apps[app];
	int best = -1;

	if (taker >= 0 && (serves[l] >> taker & 1))
		return ra->inst[taker].num;
	for (int i = 0; i < XSL_REG_MAX_INSTANCES; i++) {
		if ((serves[l] >> i & 1) && !inst_marked(&ra->inst[i]) &&
		    (best < 0 || ra->inst[i].num > ra->inst[best].num))
			best = i;
	}
	return best < 0 ? 0 : ra->inst[best].num;
}

uint16_t registry__table_instance(const struct xsl_registry *r, uint32_t listener)
{
	uint8_t serves[XSL_MAX_LISTENERS];
	uint32_t app;

	if (!listener_live(r, listener))
		return 0;
	app = r->listeners[listener].app;
	app_serves(r, app, serves);
	return table_inst_of(r, app, serves, taking_slot(r, app, serves), listener);
}

/* The workers of instance inst serving listener l, except worker index skip. */
static unsigned int inst_serving(const struct xsl_registry *r, uint32_t l, uint16_t inst,
				 uint32_t skip, struct xsl_table_worker *out)
{
	const struct reg_listener *ln = &r->listeners[l];
	unsigned int n = 0;

	for (uint32_t i = 0; inst && i < XSL_REG_WORKER_WORDS; i++) {
		for (uint64_t m = ln->serving[i]; m; m &= m - 1) {
			uint32_t w = i * 64 + __builtin_ctzll(m);

			if (w != skip && r->workers[w].instance == inst)
				out[n++] = (struct xsl_table_worker){ .index = w,
								      .gen = r->workers[w].gen };
		}
	}
	return n;
}

/* Builds listener l's table anew from the serving workers of inst. */
static int table_rebuild(struct xsl_registry *r, uint32_t l, uint16_t inst)
{
	struct xsl_table_worker cur[XSL_MAX_WORKERS];
	struct reg_listener *ln = &r->listeners[l];
	unsigned int n = inst_serving(r, l, inst, XSL_NO_WORKER, cur);
	int err = table__build(&ln->table, cur, n);

	if (err)
		return fail(r, err, "listener %u: cannot build its table for instance %u", l, inst);
	ln->table_inst = inst;
	return 0;
}

/* Rebuilds the tables of app's listeners whose table instance changed, each
 * with listener_changed. */
static int tables_sync(struct xsl_registry *r, uint32_t app)
{
	uint8_t serves[XSL_MAX_LISTENERS];
	int taker, err = 0;

	app_serves(r, app, serves);
	taker = taking_slot(r, app, serves);
	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
		const struct reg_listener *ln = &r->listeners[l];
		uint16_t inst;
		int e;

		if (!ln->live || ln->app != app)
			continue;
		inst = table_inst_of(r, app, serves, taker, l);
		if (inst == ln->table_inst)
			continue;
		e = table_rebuild(r, l, inst);
		if (e && !err)
			err = e;
		hook_listener(r, l);
	}
	return err;
}

int registry__sync_tables(struct xsl_registry *r, uint32_t app)
{
	if (!app_live(r, app))
		return fail(r, -ENOENT, "sync tables of app %u: no such app", app);
	return tables_sync(r, app);
}

/*
 * Listener l's table after worker w joined (added) or left its serving set
 * (already changed): when l's table instance stays and w is in it, w's
 * slots move minimally; when it changed, the table is built anew; else
 * nothing moves. On failure the table is as it was.
 */
static int table_follow(struct xsl_registry *r, uint32_t l, uint32_t w, bool added)
{
	struct xsl_table_worker cur[XSL_MAX_WORKERS];
	struct reg_listener *ln = &r->listeners[l];
	uint16_t inst = registry__table_instance(r, l);
	struct xsl_table t = ln->table;
	unsigned int n;
	int err;

	if (inst != ln->table_inst)
		return table_rebuild(r, l, inst);
	if (r->workers[w].instance != inst)
		return 0;
	n = inst_serving(r, l, inst, w, cur);
	err = added ? table__add(&t, cur, n,
				 (struct xsl_table_worker){ .index = w, .gen = r->workers[w].gen })
		    : table__del(&t, w, cur, n);
	if (err)
		return fail(r, err, "listener %u: cannot %s worker %u %s its table", l,
			    added ? "add" : "remove", w, added ? "to" : "from");
	ln->table = t;
	return 0;
}

/* Worker w stops serving listener l (it does serve it). */
static int listener_drop_worker(struct xsl_registry *r, uint32_t l, uint32_t w)
{
	struct reg_listener *ln = &r->listeners[l];
	int err;

	serving_put(r, l, w, false);
	err = table_follow(r, l, w, false);
	if (err) {
		serving_put(r, l, w, true);
		return err;
	}
	ln->n_workers--;
	hook_listener(r, l);
	return tables_sync(r, ln->app);
}

static void listener_free(struct xsl_registry *r, uint32_t l)
{
	struct reg_listener *ln = &r->listeners[l];

	ln->live = false;
	ln->flags = 0;
	ln->n_workers = 0;
	ln->table_inst = 0;
	memset(ln->serving, 0, sizeof(ln->serving));
	memset(ln->inst_serving, 0, sizeof(ln->inst_serving));
	table__clear(&ln->table);
	r->apps[ln->app].n_listeners--;
	hook_listener(r, l);
}

/* ---- freeing ---- */

/*
 * Frees app a with everything it has: its listeners first (no table names
 * a worker any more), then its workers, its process entries (the creator's
 * too), and the app last.
 */
static void app_free(struct xsl_registry *r, uint32_t a)
{
	struct reg_app *ra = &r->apps[a];

	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
		if (r->listeners[l].live && r->listeners[l].app == a)
			listener_free(r, l);
	}
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		struct reg_worker *wk = &r->workers[w];

		if (wk->live && wk->app == a) {
			wk->live = false;
			bit_clear(ra->map_index_used, wk->map_index);
			ra->n_workers--;
			hook_worker(r, w);
		}
	}
	for (unsigned int i = 0; i < XSL_REG_MAX_PROCS; i++) {
		if (r->procs.slot[i].pid && r->procs.slot[i].app == a)
			proctab__remove(&r->procs, &r->procs.slot[i]);
	}
	ra->live = false;
	ra->n_listeners = 0;
	memset(ra->inst, 0, sizeof(ra->inst));
	memset(ra->map_index_used, 0, sizeof(ra->map_index_used));
	hook_app(r, a);
}

/* Another worker of pid in app a than except, or XSL_NO_WORKER. */
static uint32_t pid_other_worker(const struct xsl_registry *r, uint32_t a, uint32_t pid,
				 uint32_t except)
{
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		const struct reg_worker *wk = &r->workers[w];

		if (w != except && wk->live && wk->app == a && wk->pid == pid)
			return w;
	}
	return XSL_NO_WORKER;
}

/*
 * Removes worker w but never its app: it leaves every listener it serves,
 * its process entry goes unless it is the creator's or the process still
 * has another worker here, and the worker is freed last, its instance with
 * it when it was the instance's last (*inst_freed is set then).
 */
static int worker_remove(struct xsl_registry *r, uint32_t w, bool *inst_freed)
{
	struct reg_worker *wk = &r->workers[w];
	struct reg_app *ra = &r->apps[wk->app];
	struct reg_instance *in;
	int err;

	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
		if (r->listeners[l].live && bit_test(r->listeners[l].serving, w)) {
			err = listener_drop_worker(r, l, w);
			if (err)
				return err;
		}
	}
	if (wk->pid) {
		struct proc_entry *p = proc_find(r, wk->pid);
		uint32_t other = pid_other_worker(r, wk->app, wk->pid, w);

		if (p && p->worker == w)
			p->worker = other;
		if (p && wk->pid != ra->creator_pid && other == XSL_NO_WORKER)
			proctab__remove(&r->procs, p);
	}
	wk->live = false;
	bit_clear(ra->map_index_used, wk->map_index);
	ra->n_workers--;
	in = inst_find(r, wk->app, wk->instance);
	if (in && !--in->n_workers) {
		*in = (struct reg_instance){ 0 };
		*inst_freed = true;
	}
	hook_worker(r, w);
	return 0;
}

/* After workers of app left: the app goes when it is unheld and has no
 * instance left; else a freed instance changed the app. */
static void app_after_remove(struct xsl_registry *r, uint32_t app, bool inst_freed)
{
	if (app_unheld_empty(r, app)) {
		app_free(r, app);
	} else if (inst_freed) {
		hook_app(r, app);
		tables_sync(r, app);
	}
}

/* ---- workers ---- */

/* worker add into instance inst, or (inst 0) into the current instance, a
 * new one when there is none. */
static int worker_add(struct xsl_registry *r, uint32_t app, uint16_t inst, uint32_t pid,
		      uint64_t start_time_ns, uint32_t *worker)
{
	const struct proc_entry *owner;
	const struct reg_instance *cur;
	bool new_inst = false;
	const char *name;
	int w, err;

	if (!app_live(r, app))
		return fail(r, -ENOENT, "worker for app %u pid %u: no such app", app, pid);
	name = r->apps[app].name;
	if (inst && !inst_find(r, app, inst))
		return fail(r, -ENOENT, "worker for app %s pid %u: no instance %u", name, pid,
			    inst);
	if (!inst) {
		cur = inst_current(r, app);
		if (cur) {
			inst = cur->num;
		} else {
			err = inst_room(r, app, r->apps[app].last_instance + 1u);
			if (err)
				return err;
			inst = r->apps[app].last_instance + 1;
			new_inst = true;
		}
	}
	owner = proc_find(r, pid);
	if (owner && owner->app != app)
		return fail(r, -EEXIST, "worker for app %s: pid %u already belongs to app %s",
			    name, pid, r->apps[owner->app].name);
	w = worker_unused(r);
	if (w < 0)
		return fail(r, -ENOSPC, "worker for app %s pid %u: all %d worker slots in use",
			    name, pid, XSL_MAX_WORKERS);
	/* The creator, or a process already here, has its entry already. */
	if (pid && !owner && proctab__full(&r->procs))
		return fail(r, -ENOSPC, "worker for app %s pid %u: all %d process entries in use",
			    name, pid, XSL_REG_MAX_PROCS);
	if (new_inst)
		inst_make(r, app, inst);
	if (pid && !owner)
		proc_add(r, app, pid, start_time_ns);
	/* the app record, with its instances, before the worker naming one */
	if (worker_make(r, app, inst, w, pid, start_time_ns))
		hook_app(r, app);
	hook_worker(r, w);
	if (worker)
		*worker = w;
	return 0;
}

int registry__worker_add(struct xsl_registry *r, uint32_t app, uint32_t pid,
			 uint64_t start_time_ns, uint32_t *worker)
{
	return worker_add(r, app, 0, pid, start_time_ns, worker);
}

int registry__worker_add_to(struct xsl_registry *r, uint32_t app, uint16_t inst, uint32_t pid,
			    uint64_t start_time_ns, uint32_t *worker)
{
	if (!inst)
		return fail(r, -ENOENT, "worker for app %u pid %u: no instance 0", app, pid);
	return worker_add(r, app, inst, pid, start_time_ns, worker);
}

int registry__worker_del(struct xsl_registry *r, uint32_t worker)
{
	bool inst_freed = false;
	uint32_t a;
	int err;

	if (!worker_live(r, worker))
		return fail(r, -ENOENT, "worker %u: no such worker", worker);
	a = r->workers[worker].app;
	err = worker_remove(r, worker, &inst_freed);
	if (err)
		return err;
	app_after_remove(r, a, inst_freed);
	return 0;
}

int registry__detach_process(struct xsl_registry *r, uint32_t app, uint32_t pid)
{
	bool found = false, inst_freed = false;
	int err;

	if (!app_live(r, app))
		return fail(r, -ENOENT, "detach app %u pid %u: no such app", app, pid);
	if (!pid) {
		app_free(r, app);
		return 0;
	}
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		const struct reg_worker *wk = &r->workers[w];

		if (wk->live && wk->app == app && wk->pid == pid) {
			err = worker_remove(r, w, &inst_freed);
			if (err)
				return err;
			found = true;
		}
	}
	if (!found)
		return fail(r, -ENOENT, "no workers for app %s pid %u", r->apps[app].name, pid);
	app_after_remove(r, app, inst_freed);
	return 0;
}

/* ---- instances: start, mark, queries ---- */

int registry__instance_start(struct xsl_registry *r, uint32_t app, uint16_t *inst)
{
	uint32_t num;
	int err;

	if (!app_live(r, app))
		return fail(r, -ENOENT, "start instance of app %u: no such app", app);
	num = r->apps[app].last_instance + 1u;
	err = inst_room(r, app, num);
	if (err)
		return err;
	inst_make(r, app, (uint16_t)num);
	if (inst)
		*inst = (uint16_t)num;
	hook_app(r, app);
	return tables_sync(r, app);
}

/* Checks a mark of instance inst of app; the instance, or NULL with r->err
 * set and *err the errno (0: the same mark again, nothing to do). */
static struct reg_instance *mark_check(struct xsl_registry *r, uint32_t app, uint16_t inst,
				       enum xsl_inst_state state, int *err)
{
	struct reg_instance *in;

	*err = 0;
	if (!app_live(r, app)) {
		*err = fail(r, -ENOENT, "mark instance %u of app %u: no such app", inst, app);
		return NULL;
	}
	in = inst_find(r, app, inst);
	if (!in) {
		*err = fail(r, -ENOENT, "mark instance %u of app %s: no such instance", inst,
			    r->apps[app].name);
		return NULL;
	}
	if (state != XSL_INST_DRAINING && state != XSL_INST_STOPPING) {
		*err = fail(r, -EINVAL, "mark instance %u of app %s: state %d is not a mark",
			    inst, r->apps[app].name, state);
		return NULL;
	}
	if (in->mark == state)
		return NULL;
	if (in->mark > state) {
		*err = fail(r, -EINVAL, "mark instance %u of app %s: stopping, not draining again",
			    inst, r->apps[app].name);
		return NULL;
	}
	return in;
}

int registry__instance_mark(struct xsl_registry *r, uint32_t app, uint16_t inst,
			    enum xsl_inst_state state)
{
	struct reg_instance *in;
	int err;

	in = mark_check(r, app, inst, state, &err);
	if (!in)
		return err;
	in->mark = state;
	if (!in->n_workers)
		*in = (struct reg_instance){ 0 };
	if (app_unheld_empty(r, app)) {
		app_free(r, app);
		return 0;
	}
	hook_app(r, app);
	/* a mark of the taking instance hands new sessions to another */
	return tables_sync(r, app);
}

int registry__restore_mark(struct xsl_registry *r, uint32_t app, uint16_t inst,
			   enum xsl_inst_state state)
{
	struct reg_instance *in;
	int err;

	in = mark_check(r, app, inst, state, &err);
	if (!in)
		return err;
	if (!in->n_workers && !(r->apps[app].flags & XSL_APP_F_HELD) &&
	    inst_count(&r->apps[app]) == 1)
		return fail(r, -EBUSY, "restore mark of instance %u of app %s: its last, with no "
			    "worker", inst, r->apps[app].name);
	in->mark = state;
	if (!in->n_workers)
		*in = (struct reg_instance){ 0 };
	return 0;
}

const struct reg_instance *registry__instance(const struct xsl_registry *r, uint32_t app,
					      uint16_t inst)
{
	return app_live(r, app) ? inst_find(r, app, inst) : NULL;
}

int registry__instance_current(const struct xsl_registry *r, uint32_t app, uint16_t *inst)
{
	const struct reg_instance *cur;

	if (!app_live(r, app))
		return -ENOENT;
	cur = inst_current(r, app);
	if (!cur)
		return -ENOENT;
	if (inst)
		*inst = cur->num;
	return 0;
}

bool registry__instance_serves(const struct xsl_registry *r, uint32_t app, uint16_t inst,
			       uint32_t listener)
{
	const struct reg_listener *ln = registry__listener(r, listener);

	if (!ln || ln->app != app || !inst)
		return false;
	for (unsigned int s = 0; s < XSL_REG_MAX_INSTANCES; s++) {
		if (r->apps[app].inst[s].num == inst)
			return ln->inst_serving[s] != 0;
	}
	return false;
}

int registry__instance_taking(const struct xsl_registry *r, uint32_t app, uint16_t *inst)
{
	uint8_t serves[XSL_MAX_LISTENERS];
	int taker;

	if (!app_live(r, app))
		return -ENOENT;
	app_serves(r, app, serves);
	taker = taking_slot(r, app, serves);
	if (taker < 0)
		return -ENOENT;
	if (inst)
		*inst = r->apps[app].inst[taker].num;
	return 0;
}

int registry__instance_state(const struct xsl_registry *r, uint32_t app, uint16_t inst,
			     enum xsl_inst_state *state)
{
	const struct reg_instance *in = registry__instance(r, app, inst);
	uint16_t taker = 0;

	if (!in)
		return -ENOENT;
	if (inst_marked(in)) {
		*state = in->mark;
		return 0;
	}
	registry__instance_taking(r, app, &taker);
	*state = inst > taker ? XSL_INST_STARTING : XSL_INST_SERVING;
	return 0;
}

int registry__detach_app(struct xsl_registry *r, uint32_t app)
{
	return registry__detach_process(r, app, 0);
}

/* ---- listeners ---- */

static const char *key_str(const struct xsl_listener_key *k, char *buf, size_t len)
{
	char ep[XSL_ENDPOINT_LEN];

	addr__endpoint(k->family, k->addr, k->port, ep, sizeof(ep));
	snprintf(buf, len, "%s %s", addr__proto(k->proto), ep);
	return buf;
}

int registry__listener_add(struct xsl_registry *r, uint32_t app,
			   const struct xsl_listener_key *key, uint32_t *listener)
{
	struct reg_listener *ln;
	char ks[80];
	uint32_t other;
	int l;

	if (!key)
		return fail(r, -EINVAL, "listener for app %u: no key", app);
	if (!app_live(r, app))
		return fail(r, -ENOENT, "listener for app %u: no such app", app);
	if ((key->family != XSL_AF_INET && key->family != XSL_AF_INET6) ||
	    (key->proto != IPPROTO_TCP && key->proto != IPPROTO_UDP))
		return fail(r, -EINVAL, "listener for app %s: bad family %u or proto %u",
			    r->apps[app].name, key->family, key->proto);
	if (!registry__listener_find(r, key, &other))
		return fail(r, -EEXIST, "listener %s: already owned by app %s",
			    key_str(key, ks, sizeof(ks)),
			    r->apps[r->listeners[other].app].name);
	if (r->apps[app].n_listeners >= r->max_app_listeners)
		return fail(r, -EDQUOT, "listener %s: app %s has its quota of %u listeners",
			    key_str(key, ks, sizeof(ks)), r->apps[app].name,
			    r->max_app_listeners);
	l = listener_unused(r);
	if (l < 0)
		return fail(r, -ENOSPC, "listener %s: all %d listener slots in use",
			    key_str(key, ks, sizeof(ks)), XSL_MAX_LISTENERS);

	ln = &r->listeners[l];
	ln->gen = next_gen(ln->gen);
	ln->live = true;
	ln->app = app;
	ln->key = *key;
	ln->flags = 0;
	ln->n_workers = 0;
	ln->table_inst = 0;
	memset(ln->serving, 0, sizeof(ln->serving));
	memset(ln->inst_serving, 0, sizeof(ln->inst_serving));
	table__clear(&ln->table);
	r->apps[app].n_listeners++;
	if (listener)
		*listener = l;
	hook_listener(r, l);
	return 0;
}

static bool key_is_v6_wildcard(const struct xsl_listener_key *k)
{
	return k->family == XSL_AF_INET6 && !(k->addr[0] | k->addr[1] | k->addr[2] | k->addr[3]);
}

int registry__listener_set_flags(struct xsl_registry *r, uint32_t listener, uint32_t flags)
{
	struct reg_listener *ln;
	char ks[80];

	if (!listener_live(r, listener))
		return fail(r, -ENOENT, "listener %u: no such listener", listener);
	ln = &r->listeners[listener];
	if (flags & ~XSL_LISTENER_F_DUAL)
		return fail(r, -EINVAL, "listener %u: unknown flags 0x%x", listener, flags);
	if ((flags & XSL_LISTENER_F_DUAL) && !key_is_v6_wildcard(&ln->key))
		return fail(r, -EINVAL, "listener %s: only a [::] listener can be dual-stack",
			    key_str(&ln->key, ks, sizeof(ks)));
	if (ln->flags == flags)
		return 0;
	ln->flags = flags;
	hook_listener(r, listener);
	return 0;
}

int registry__listener_room(const struct xsl_registry *r, uint32_t app)
{
	if (app_live(r, app) && r->apps[app].n_listeners >= r->max_app_listeners)
		return -EDQUOT;
	return listener_unused(r) < 0 ? -ENOSPC : 0;
}

int registry__listener_del(struct xsl_registry *r, uint32_t listener)
{
	if (!listener_live(r, listener))
		return fail(r, -ENOENT, "listener %u: no such listener", listener);
	listener_free(r, listener);
	/* its instances may serve all of another's now */
	return tables_sync(r, r->listeners[listener].app);
}

int registry__listener_add_worker(struct xsl_registry *r, uint32_t listener, uint32_t worker)
{
	struct reg_listener *ln;
	const struct reg_worker *wk;
	int err;

	if (!listener_live(r, listener))
		return fail(r, -ENOENT, "listener %u: no such listener", listener);
	if (!worker_live(r, worker))
		return fail(r, -ENOENT, "listener %u: no such worker %u", listener, worker);
	ln = &r->listeners[listener];
	wk = &r->workers[worker];
	if (wk->app != ln->app)
		return fail(r, -EINVAL, "listener %u of app %s: worker %u belongs to app %s",
			    listener, r->apps[ln->app].name, worker, r->apps[wk->app].name);
	if (bit_test(ln->serving, worker))
		return fail(r, -EEXIST, "listener %u: worker %u already serves it", listener,
			    worker);

	serving_put(r, listener, worker, true);
	err = table_follow(r, listener, worker, true);
	if (err) {
		serving_put(r, listener, worker, false);
		return err;
	}
	ln->n_workers++;
	hook_listener(r, listener);
	/* the instance it belongs to may take new sessions now */
	return tables_sync(r, ln->app);
}

int registry__listener_del_worker(struct xsl_registry *r, uint32_t listener, uint32_t worker)
{
	if (!listener_live(r, listener))
		return fail(r, -ENOENT, "listener %u: no such listener", listener);
	if (worker >= XSL_MAX_WORKERS || !bit_test(r->listeners[listener].serving, worker))
		return fail(r, -ENOENT, "listener %u: worker %u does not serve it", listener,
			    worker);
	return listener_drop_worker(r, listener, worker);
}

/* ---- restore (see registry.h: exact indexes and gens, no hooks) ---- */

int registry__restore_gen(struct xsl_registry *r, enum xsl_reg_kind kind, uint32_t index,
			  uint32_t gen)
{
	uint32_t *g;
	bool live;

	switch (kind) {
	case XSL_REG_APP:
		if (index >= XSL_MAX_APPS)
			return fail(r, -EINVAL, "restore app %u: index out of range", index);
		g = &r->apps[index].gen;
		live = r->apps[index].live;
		break;
	case XSL_REG_WORKER:
		if (index >= XSL_MAX_WORKERS)
			return fail(r, -EINVAL, "restore worker %u: index out of range", index);
		g = &r->workers[index].gen;
		live = r->workers[index].live;
		break;
	case XSL_REG_LISTENER:
		if (index >= XSL_MAX_LISTENERS)
			return fail(r, -EINVAL, "restore listener %u: index out of range", index);
		g = &r->listeners[index].gen;
		live = r->listeners[index].live;
		break;
	default:
		return fail(r, -EINVAL, "restore gen: unknown kind %d", kind);
	}
	if (live)
		return fail(r, -EBUSY, "restore gen of %u: slot is live", index);
	if (gen > *g)
		*g = gen;
	return 0;
}

int registry__restore_app(struct xsl_registry *r, uint32_t app, const struct xsl_app *rec)
{
	const struct proc_entry *owner;
	struct reg_app *ra;
	uint32_t other;
	int err;

	if (app >= XSL_MAX_APPS)
		return fail(r, -EINVAL, "restore app %u: index out of range", app);
	if (rec->state != XSL_APP_LIVE || !rec->gen)
		return fail(r, -EINVAL, "restore app %u: record state %u gen %u is not live", app,
			    rec->state, rec->gen);
	if (r->apps[app].live)
		return fail(r, -EBUSY, "restore app %u: slot already live", app);
	/* check_name never reads past XSL_APP_NAME_LEN: a full array is too long */
	err = check_name(r, rec->name);
	if (err) {
		char why[sizeof(r->err)];

		memcpy(why, r->err, sizeof(why));
		return fail(r, err, "restore app %u: %s", app, why);
	}
	if (rec->policy > XSL_POLICY_DROP)
		return fail(r, -EINVAL, "restore app %s: unknown policy %u", rec->name,
			    rec->policy);
	if (!registry__app_by_name(r, rec->name, &other))
		return fail(r, -EEXIST, "restore app %s: name already used by app %u", rec->name,
			    other);
	if (!registry__app_by_cgroup(r, rec->cgroup_id, &other))
		return fail(r, -EEXIST, "restore app %s: cgroup %llu already belongs to app %s",
			    rec->name, (unsigned long long)rec->cgroup_id, r->apps[other].name);
	owner = proc_find(r, rec->creator_pid);
	if (owner)
		return fail(r, -EEXIST, "restore app %s: pid %u already belongs to app %s",
			    rec->name, rec->creator_pid, r->apps[owner->app].name);
	if (rec->creator_pid && proctab__full(&r->procs))
		return fail(r, -ENOSPC, "restore app %s: all %d process entries in use",
			    rec->name, XSL_REG_MAX_PROCS);
	if (rec->fresh_instance &&
	    (rec->fresh_instance > rec->instance || rec->fresh_instance + 255u < rec->instance))
		return fail(r, -EINVAL, "restore app %s: fresh instance %u, last %u", rec->name,
			    rec->fresh_instance, rec->instance);

	ra = &r->apps[app];
	*ra = (struct reg_app){
		.gen = rec->gen,
		.live = true,
		.creator_pid = rec->creator_pid,
		.cgroup_id = rec->cgroup_id,
		.policy = rec->policy,
		.flags = rec->flags,
		.idle_timeout_s = rec->idle_timeout_s ? rec->idle_timeout_s : XSL_DEFAULT_IDLE_S,
		.last_instance = rec->instance ? rec->instance : 1,
	};
	/* a record from before instances: all is instance 1 */
	if (!rec->instance)
		inst_make(r, app, 1);
	else if (rec->fresh_instance)
		inst_make(r, app, rec->fresh_instance);
	memcpy(ra->name, rec->name, strlen(rec->name) + 1);
	if (rec->creator_pid)
		proc_add(r, app, rec->creator_pid, 0);
	return 0;
}

int registry__restore_worker(struct xsl_registry *r, uint32_t worker, const struct xsl_worker *rec)
{
	struct reg_instance *in;
	struct proc_entry *owner;
	struct reg_worker *wk;
	struct reg_app *ra;
	uint32_t num;
	int err;

	if (worker >= XSL_MAX_WORKERS)
		return fail(r, -EINVAL, "restore worker %u: index out of range", worker);
	if (rec->state != XSL_WORKER_LIVE || !rec->gen)
		return fail(r, -EINVAL, "restore worker %u: record state %u gen %u is not live",
			    worker, rec->state, rec->gen);
	if (r->workers[worker].live)
		return fail(r, -EBUSY, "restore worker %u: slot already live", worker);
	if (!app_live(r, rec->app) || r->apps[rec->app].gen != rec->app_gen)
		return fail(r, -ENOENT, "restore worker %u: app %u gen %u is gone", worker,
			    rec->app, rec->app_gen);
	ra = &r->apps[rec->app];
	if (rec->map_index >= XSL_MAX_WORKERS)
		return fail(r, -EINVAL, "restore worker %u of app %s: map index %u out of range",
			    worker, ra->name, rec->map_index);
	if (bit_test(ra->map_index_used, rec->map_index))
		return fail(r, -EEXIST, "restore worker %u of app %s: map index %u already used",
			    worker, ra->name, rec->map_index);
	owner = proc_find(r, rec->pid);
	if (owner && owner->app != rec->app)
		return fail(r, -EEXIST, "restore worker %u of app %s: pid %u belongs to app %s",
			    worker, ra->name, rec->pid, r->apps[owner->app].name);
	if (rec->pid && !owner && proctab__full(&r->procs))
		return fail(r, -ENOSPC,
			    "restore worker %u of app %s: all %d process entries in use", worker,
			    ra->name, XSL_REG_MAX_PROCS);
	/* the live number with these low 8 bits at or below the last one */
	num = ra->last_instance - ((ra->last_instance - rec->instance) & 0xffu);
	if (!num)
		num = 1;	/* a record from before instances */
	in = inst_find(r, rec->app, (uint16_t)num);
	if (!in) {
		err = inst_room(r, rec->app, num);
		if (err) {
			char why[sizeof(r->err)];

			memcpy(why, r->err, sizeof(why));
			return fail(r, err, "restore worker %u: %s", worker, why);
		}
		in = inst_make(r, rec->app, (uint16_t)num);
	}
	if (rec->pid && !owner)
		owner = proc_add(r, rec->app, rec->pid, rec->start_time_ns);

	wk = &r->workers[worker];
	*wk = (struct reg_worker){
		.gen = rec->gen,
		.live = true,
		.app = rec->app,
		.map_index = rec->map_index,
		.pid = rec->pid,
		.start_time_ns = rec->start_time_ns,
		.cpu = rec->cpu,
		.instance = (uint16_t)num,
	};
	in->n_workers++;
	bit_set(ra->map_index_used, rec->map_index);
	ra->n_workers++;
	if (owner && owner->worker == XSL_NO_WORKER)
		owner->worker = worker;
	return 0;
}

int registry__restore_listener(struct xsl_registry *r, const struct xsl_listener_key *key,
			       const struct xsl_listener *val, const struct xsl_table *table)
{
	uint64_t serving[XSL_REG_WORKER_WORDS] = { 0 };
	uint32_t l = val->index, n = 0;
	unsigned int empty = 0;
	struct reg_listener *ln;
	char ks[80];

	if (l >= XSL_MAX_LISTENERS || !val->gen)
		return fail(r, -EINVAL, "restore listener %u: index out of range or gen 0", l);
	if (r->listeners[l].live)
		return fail(r, -EBUSY, "restore listener %u: slot already live", l);
	if ((key->family != XSL_AF_INET && key->family != XSL_AF_INET6) ||
	    (key->proto != IPPROTO_TCP && key->proto != IPPROTO_UDP))
		return fail(r, -EINVAL, "restore listener %u: bad family %u or proto %u", l,
			    key->family, key->proto);
	if (!app_live(r, val->app) || r->apps[val->app].gen != val->app_gen)
		return fail(r, -ENOENT, "restore listener %s: app %u gen %u is gone",
			    key_str(key, ks, sizeof(ks)), val->app, val->app_gen);
	if (!registry__listener_find(r, key, NULL))
		return fail(r, -EEXIST, "restore listener %s: key already taken",
			    key_str(key, ks, sizeof(ks)));
	for (unsigned int i = 0; i < XSL_TABLE_SLOTS; i++) {
		uint32_t w = table->slot[i];

		if (w == XSL_NO_WORKER) {
			empty++;
			continue;
		}
		if (!worker_live(r, w) || r->workers[w].app != val->app)
			return fail(r, -EINVAL, "restore listener %s: slot %u names worker %u, "
				    "not a live worker of app %s", key_str(key, ks, sizeof(ks)),
				    i, w, r->apps[val->app].name);
		if (!bit_test(serving, w)) {
			bit_set(serving, w);
			n++;
		}
	}
	if (empty && empty != XSL_TABLE_SLOTS)
		return fail(r, -EINVAL, "restore listener %s: %u empty slots next to full ones",
			    key_str(key, ks, sizeof(ks)), empty);

	ln = &r->listeners[l];
	ln->gen = val->gen;
	ln->live = true;
	ln->app = val->app;
	ln->key = *key;
	ln->flags = key_is_v6_wildcard(key) ? val->flags & XSL_LISTENER_F_DUAL : 0;
	ln->n_workers = n;
	memset(ln->serving, 0, sizeof(ln->serving));
	memset(ln->inst_serving, 0, sizeof(ln->inst_serving));
	for (uint32_t i = 0; i < XSL_REG_WORKER_WORDS; i++) {
		for (uint64_t m = serving[i]; m; m &= m - 1)
			serving_put(r, l, i * 64 + __builtin_ctzll(m), true);
	}
	ln->table = *table;
	ln->table_inst = 0;	/* registry__restore_table() says */
	r->apps[val->app].n_listeners++;
	return 0;
}

int registry__restore_serving(struct xsl_registry *r, uint32_t listener, uint32_t worker)
{
	struct reg_listener *ln;

	if (!listener_live(r, listener))
		return fail(r, -ENOENT, "restore socket of worker %u: no listener %u", worker,
			    listener);
	if (!worker_live(r, worker))
		return fail(r, -ENOENT, "restore socket for listener %u: no worker %u", listener,
			    worker);
	ln = &r->listeners[listener];
	if (r->workers[worker].app != ln->app)
		return fail(r, -EINVAL, "restore socket for listener %u of app %s: worker %u "
			    "belongs to app %s", listener, r->apps[ln->app].name, worker,
			    r->apps[r->workers[worker].app].name);
	if (!bit_test(ln->serving, worker)) {
		serving_put(r, listener, worker, true);
		ln->n_workers++;
	}
	return 0;
}

/* The one instance whose workers table t names, 0 when it names none or
 * workers of several; *n is how many distinct workers it names. */
static uint16_t table_names_inst(const struct xsl_registry *r, const struct xsl_table *t,
				 unsigned int *n)
{
	uint64_t seen[XSL_REG_WORKER_WORDS] = { 0 };
	uint16_t inst = 0;
	bool mixed = false;

	*n = 0;
	for (unsigned int s = 0; s < XSL_TABLE_SLOTS; s++) {
		uint32_t w = t->slot[s];

		if (w >= XSL_MAX_WORKERS || bit_test(seen, w))
			continue;
		bit_set(seen, w);
		(*n)++;
		if (inst && r->workers[w].instance != inst)
			mixed = true;
		inst = r->workers[w].instance;
	}
	return mixed ? 0 : inst;
}

int registry__restore_table(struct xsl_registry *r, uint32_t listener, bool *changed)
{
	struct xsl_table_worker own[XSL_MAX_WORKERS], kept[XSL_MAX_WORKERS];
	struct reg_listener *ln;
	struct xsl_table t;
	unsigned int named, n, k = 0;
	uint16_t inst;
	int err;

	*changed = false;
	if (!listener_live(r, listener))
		return fail(r, -ENOENT, "restore table: no listener %u", listener);
	ln = &r->listeners[listener];
	inst = table_names_inst(r, &ln->table, &named);
	/* as the maps had it: one instance's serving workers, all, or none */
	if (!named || (inst && named == inst_serving(r, listener, inst, XSL_NO_WORKER, own))) {
		ln->table_inst = named ? inst : 0;
		return 0;
	}
	inst = registry__table_instance(r, listener);
	n = inst_serving(r, listener, inst, XSL_NO_WORKER, own);
	for (unsigned int i = 0; i < n; i++) {
		if (table__load(&ln->table, own[i].index))
			kept[k++] = own[i];
	}
	t = ln->table;
	if (!k) {
		err = table__build(&t, own, n);
	} else {
		/* the others' slots go to those it keeps; then the rest join */
		err = table__del(&t, XSL_NO_WORKER, kept, k);
		for (unsigned int i = 0; !err && i < n; i++) {
			if (table__load(&ln->table, own[i].index))
				continue;
			err = table__add(&t, kept, k, own[i]);
			kept[k++] = own[i];
		}
	}
	if (err)
		return fail(r, err, "restore table of listener %u for instance %u", listener, inst);
	ln->table = t;
	ln->table_inst = inst;
	*changed = true;
	return 0;
}
