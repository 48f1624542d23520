// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Restart recovery: a registry is built through the normal API while an
 * in-memory "map image" records every change exactly as mirror.c writes the
 * maps (through records.c); restore__registry() then rebuilds a fresh
 * registry from the image, which must equal the original in everything
 * observable (apps, workers, process lookups, listeners, tables slot by slot,
 * gens) and keep behaving the same under further operations. Damaged images
 * (dead apps, stale slots, corrupted records) must be repaired and reported.
 *
 * With instances, the tables hold only the taking instance's workers: the
 * others' serving comes back from the sockets (xsl_wsocks); after a restore
 * the agent marks the instances again (registry__restore_mark, then
 * registry__sync_tables), and then both registries must agree again.
 *
 * The randomized test is seeded and prints its seed; XSL_SEED=<n> replays
 * another one, XSL_OPS=<n> changes the number of operations.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "records.h"
#include "registry.h"
#include "restore.h"
#include "fixture.h"

#define DEFAULT_SEED	0x7e570e5u
#define DEFAULT_OPS	20000u
#define S		XSL_TABLE_SLOTS

/* ---- the map image: the maps as mirror.c would leave them ---- */

struct img {
	struct xsl_registry *r;
	struct xsl_app apps[XSL_MAX_APPS];
	struct xsl_worker workers[XSL_MAX_WORKERS];
	struct xsl_listener_key keys[XSL_MAX_LISTENERS];
	struct xsl_listener vals[XSL_MAX_LISTENERS];
	unsigned int n;
	struct xsl_slot_table slots[XSL_MAX_LISTENERS];
	/* xsl_wsocks as the agent keeps it: a key per serving (listener, worker) */
	uint64_t wsocks[XSL_MAX_LISTENERS][XSL_REG_WORKER_WORDS];
	bool no_wsocks;			/* an image from before wsocks were read */
};

static int img_find(const struct img *m, const struct xsl_listener_key *k)
{
	for (unsigned int i = 0; i < m->n; i++) {
		if (!memcmp(&m->keys[i], k, sizeof(*k)))
			return i;
	}
	return -1;
}

static void img_put(struct img *m, const struct xsl_listener_key *k, const struct xsl_listener *v)
{
	int i = img_find(m, k);

	if (i < 0) {
		assert_true(m->n < XSL_MAX_LISTENERS);
		i = m->n++;
		m->keys[i] = *k;
	}
	m->vals[i] = *v;
}

static void img_del(struct img *m, const struct xsl_listener_key *k)
{
	int i = img_find(m, k);

	if (i < 0)
		return;
	m->n--;
	m->keys[i] = m->keys[m->n];
	m->vals[i] = m->vals[m->n];
}

static void img_app(void *ctx, uint32_t app)
{
	struct img *m = ctx;

	assert_int_equal(records__app(m->r, app, &m->apps[app], NULL), 0);
}

static void img_worker(void *ctx, uint32_t worker)
{
	struct img *m = ctx;

	assert_int_equal(records__worker(m->r, worker, &m->workers[worker]), 0);
}

/* As mirror__listener: a live listener writes its slot row then its entry,
 * a freed one deletes its entry (the row stays as it was). */
static void img_listener(void *ctx, uint32_t l)
{
	struct img *m = ctx;
	struct xsl_listener_key k;
	struct xsl_listener v;

	memcpy(m->wsocks[l], m->r->listeners[l].serving, sizeof(m->wsocks[l]));
	if (m->r->listeners[l].live) {
		assert_int_equal(records__listener(m->r, l, &k, &v, &m->slots[l]), 0);
		img_put(m, &k, &v);
	} else {
		assert_int_equal(records__listener(m->r, l, &k, &v, NULL), 0);
		img_del(m, &k);
	}
}

static void img_install(struct img *m, struct xsl_registry *r)
{
	m->r = r;
	r->hooks = (struct xsl_registry_hooks){ .ctx = m, .app_changed = img_app,
						.worker_changed = img_worker,
						.listener_changed = img_listener };
}

static struct xsl_restore_input img_input(const struct img *m)
{
	static struct xsl_wsock_key *keys;
	unsigned int n = 0;

	if (!keys)
		keys = calloc((size_t)XSL_MAX_LISTENERS * XSL_MAX_WORKERS, sizeof(*keys));
	assert_non_null(keys);
	for (uint32_t l = 0; !m->no_wsocks && l < XSL_MAX_LISTENERS; l++) {
		for (uint32_t i = 0; i < XSL_REG_WORKER_WORDS; i++) {
			for (uint64_t b = m->wsocks[l][i]; b; b &= b - 1)
				keys[n++] = (struct xsl_wsock_key){
					.listener = l, .worker = i * 64 + __builtin_ctzll(b) };
		}
	}
	return (struct xsl_restore_input){ .apps = m->apps, .workers = m->workers,
					   .lkeys = m->keys, .lvals = m->vals,
					   .n_listeners = m->n, .slots = m->slots,
					   .wsocks = keys, .n_wsocks = n };
}

/* ---- fixtures ---- */

struct env {
	struct xsl_registry *orig, *back;
	struct img *img, *img2;
	struct xsl_restore_report rep;
	unsigned int notes;
	/* listener gens at the restore: free ones are not in the maps, so a
	 * listener made since is compared by gens advanced since then */
	uint32_t lbase_orig[XSL_MAX_LISTENERS], lbase_back[XSL_MAX_LISTENERS];
	uint32_t cmp_workers;		/* worker slots compared: those below */
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e)
		return -1;
	e->orig = registry__new();
	e->img = calloc(1, sizeof(*e->img));
	e->img2 = calloc(1, sizeof(*e->img2));
	if (!e->orig || !e->img || !e->img2)
		return -1;
	img_install(e->img, e->orig);
	e->cmp_workers = XSL_MAX_WORKERS;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	registry__free(e->orig);
	registry__free(e->back);
	free(e->img);
	free(e->img2);
	free(e);
	return 0;
}

static void count_note(void *ctx, const char *msg)
{
	struct env *e = ctx;

	(void)msg;
	e->notes++;
}

/* Restores e->img into a fresh e->back, which then mirrors into e->img2. */
static void restore(struct env *e)
{
	struct xsl_restore_input in = img_input(e->img);

	in.note = count_note;
	in.ctx = e;
	registry__free(e->back);
	e->back = registry__new();
	assert_non_null(e->back);
	assert_int_equal(restore__registry(e->back, &in, &e->rep), 0);
	/* the restored registry goes on mirroring into the same maps */
	memcpy(e->img2, e->img, sizeof(*e->img2));
	img_install(e->img2, e->back);
	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
		e->lbase_orig[l] = e->orig->listeners[l].gen;
		e->lbase_back[l] = e->back->listeners[l].gen;
	}
}

static uint32_t attach(struct xsl_registry *r, const char *name, uint32_t creator, uint64_t cg)
{
	struct xsl_app_opts o = { .creator_pid = creator, .cgroup_id = cg,
				  .creator_start_time_ns = 7000 + creator };

	return attach_opts(r, name, &o);
}

static struct xsl_listener_key key4(uint8_t proto, uint16_t port, uint32_t addr)
{
	struct xsl_listener_key k;

	memset(&k, 0, sizeof(k));
	k.family = XSL_AF_INET;
	k.proto = proto;
	k.port = htons(port);
	k.addr[0] = htonl(addr);
	return k;
}

static struct xsl_listener_key key6_any(uint8_t proto, uint16_t port)
{
	struct xsl_listener_key k;

	memset(&k, 0, sizeof(k));
	k.family = XSL_AF_INET6;
	k.proto = proto;
	k.port = htons(port);
	return k;
}

/* ---- comparing two registries ---- */

#define SAME(cond, ...)                                                                    \
	do {                                                                               \
		if (!(cond))                                                               \
			fail_msg(__VA_ARGS__);                                             \
	} while (0)

static void pids_seen(const struct xsl_registry *r, bool *seen, uint32_t max)
{
	for (unsigned int i = 0; i < XSL_REG_MAX_PROCS; i++) {
		if (r->procs.slot[i].pid && r->procs.slot[i].pid < max)
			seen[r->procs.slot[i].pid] = true;
	}
}

static unsigned int n_entries(const struct xsl_registry *r)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < XSL_REG_MAX_PROCS; i++)
		n += !!r->procs.slot[i].pid;
	return n;
}

/*
 * Everything observable in e->orig and e->back must match: every app and
 * worker slot (live or free, with its gen), process lookups, and live
 * listeners with their tables. Free listener gens are not in the maps, so
 * listener gens are compared as advanced since the restore.
 */
static void same_registry(const struct env *e, const char *when)
{
	const struct xsl_registry *a = e->orig, *b = e->back;
	static bool seen[1 << 16];

	for (uint32_t i = 0; i < XSL_MAX_APPS; i++) {
		const struct reg_app *x = &a->apps[i], *y = &b->apps[i];

		SAME(x->live == y->live && x->gen == y->gen, "%s: app %u live %d/%d gen %u/%u",
		     when, i, x->live, y->live, x->gen, y->gen);
		if (!x->live)
			continue;
		SAME(!strcmp(x->name, y->name) && x->creator_pid == y->creator_pid &&
			     x->cgroup_id == y->cgroup_id && x->policy == y->policy &&
			     x->flags == y->flags && x->idle_timeout_s == y->idle_timeout_s,
		     "%s: app %u (%s/%s) attributes differ", when, i, x->name, y->name);
		SAME(x->n_workers == y->n_workers && x->n_listeners == y->n_listeners,
		     "%s: app %u has %u/%u workers, %u/%u listeners", when, i, x->n_workers,
		     y->n_workers, x->n_listeners, y->n_listeners);
		SAME(!memcmp(x->map_index_used, y->map_index_used, sizeof(x->map_index_used)),
		     "%s: app %u map indexes in use differ", when, i);
		/* instances: the same numbers with the same workers (marks are
		 * the agent's to restore) */
		SAME(x->last_instance == y->last_instance, "%s: app %u last instance %u/%u", when,
		     i, x->last_instance, y->last_instance);
		for (unsigned int k = 0; k < XSL_REG_MAX_INSTANCES; k++) {
			const struct reg_instance *xi = &x->inst[k], *yi;

			yi = xi->num ? registry__instance(b, i, xi->num) : NULL;
			SAME(!xi->num || (yi && yi->n_workers == xi->n_workers),
			     "%s: app %u instance %u: %u workers, restored %s %u", when, i,
			     xi->num, xi->n_workers, yi ? "with" : "missing",
			     yi ? yi->n_workers : 0);
			yi = &y->inst[k];
			SAME(!yi->num || registry__instance(a, i, yi->num),
			     "%s: app %u instance %u restored but not live", when, i, yi->num);
		}
	}
	for (uint32_t i = 0; i < e->cmp_workers; i++) {
		const struct reg_worker *x = &a->workers[i], *y = &b->workers[i];

		SAME(x->live == y->live && x->gen == y->gen, "%s: worker %u live %d/%d gen %u/%u",
		     when, i, x->live, y->live, x->gen, y->gen);
		if (!x->live)
			continue;
		SAME(x->app == y->app && x->map_index == y->map_index && x->pid == y->pid &&
			     x->start_time_ns == y->start_time_ns && x->instance == y->instance,
		     "%s: worker %u: app %u/%u map %u/%u pid %u/%u start %llu/%llu inst %u/%u",
		     when, i, x->app, y->app, x->map_index, y->map_index, x->pid, y->pid,
		     (unsigned long long)x->start_time_ns, (unsigned long long)y->start_time_ns,
		     x->instance, y->instance);
	}
	memset(seen, 0, sizeof(seen));
	pids_seen(a, seen, 1 << 16);
	pids_seen(b, seen, 1 << 16);
	SAME(n_entries(a) == n_entries(b), "%s: %u/%u process entries", when, n_entries(a),
	     n_entries(b));
	for (uint32_t pid = 1; pid < (1 << 16); pid++) {
		uint32_t x = XSL_NO_APP, y = XSL_NO_APP;
		int rx, ry;

		if (!seen[pid])
			continue;
		rx = registry__app_by_pid(a, pid, &x);
		ry = registry__app_by_pid(b, pid, &y);
		SAME(rx == ry && x == y, "%s: pid %u -> %d/%u vs %d/%u", when, pid, rx, x, ry, y);
	}
	for (uint32_t i = 0; i < XSL_MAX_LISTENERS; i++) {
		const struct reg_listener *x = &a->listeners[i], *y = &b->listeners[i];

		SAME(x->live == y->live, "%s: listener %u live %d/%d", when, i, x->live, y->live);
		if (!x->live)
			continue;
		SAME(x->gen - e->lbase_orig[i] == y->gen - e->lbase_back[i] && x->app == y->app &&
			     !memcmp(&x->key, &y->key, sizeof(x->key)) &&
			     x->n_workers == y->n_workers,
		     "%s: listener %u: gen %u/%u app %u/%u workers %u/%u", when, i, x->gen, y->gen,
		     x->app, y->app, x->n_workers, y->n_workers);
		SAME(!memcmp(x->serving, y->serving, sizeof(x->serving)),
		     "%s: listener %u serving sets differ", when, i);
		SAME(x->table_inst == y->table_inst, "%s: listener %u table of instance %u/%u",
		     when, i, x->table_inst, y->table_inst);
		for (unsigned int s = 0; s < S; s++)
			SAME(x->table.slot[s] == y->table.slot[s],
			     "%s: listener %u slot %u: worker %u/%u", when, i, s, x->table.slot[s],
			     y->table.slot[s]);
	}
}

/* Both registries left the same maps (listener gens as in same_registry). */
static void same_maps(const struct env *e, const char *when)
{
	const struct img *x = e->img, *y = e->img2;

	for (uint32_t a = 0; a < XSL_MAX_APPS; a++)
		SAME(!memcmp(&x->apps[a], &y->apps[a], sizeof(x->apps[a])),
		     "%s: app record %u differs", when, a);
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++)
		SAME(!memcmp(&x->workers[w], &y->workers[w], sizeof(x->workers[w])),
		     "%s: worker record %u differs", when, w);
	SAME(x->n == y->n, "%s: %u/%u listener entries", when, x->n, y->n);
	for (unsigned int i = 0; i < x->n; i++) {
		int j = img_find(y, &x->keys[i]);
		struct xsl_listener vx = x->vals[i], vy;
		uint32_t l = vx.index;

		SAME(j >= 0, "%s: listener entry for index %u missing", when, l);
		vy = y->vals[j];
		SAME(l < XSL_MAX_LISTENERS &&
			     vx.gen - e->lbase_orig[l] == vy.gen - e->lbase_back[l],
		     "%s: listener %u gen %u/%u", when, l, vx.gen, vy.gen);
		vx.gen = vy.gen = 0;
		SAME(!memcmp(&vx, &vy, sizeof(vx)), "%s: listener entry %u differs", when, l);
		SAME(!memcmp(&x->slots[l], &y->slots[l], sizeof(x->slots[l])),
		     "%s: slot row %u differs", when, l);
	}
}

static void no_drops(const struct xsl_restore_report *rep)
{
	assert_int_equal(rep->n_dropped_apps, 0);
	assert_int_equal(rep->n_dropped_workers, 0);
	assert_int_equal(rep->n_dropped_keys, 0);
	assert_int_equal(rep->n_repaired_listeners, 0);
	assert_int_equal(rep->slots_cleared, 0);
}

static bool has_u32(const uint32_t *list, unsigned int n, uint32_t v)
{
	for (unsigned int i = 0; i < n; i++) {
		if (list[i] == v)
			return true;
	}
	return false;
}

static bool has_key(const struct xsl_listener_key *list, unsigned int n,
		    const struct xsl_listener_key *k)
{
	for (unsigned int i = 0; i < n; i++) {
		if (!memcmp(&list[i], k, sizeof(*k)))
			return true;
	}
	return false;
}

static void balanced(const struct xsl_registry *r, uint32_t l)
{
	const struct reg_listener *ln = registry__listener(r, l);
	unsigned int lo = S, hi = 0, total = 0;

	assert_non_null(ln);
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		unsigned int n;

		if (!(ln->serving[w / 64] & (1ull << (w % 64))))
			continue;
		n = table__load(&ln->table, w);
		lo = n < lo ? n : lo;
		hi = n > hi ? n : hi;
		total += n;
	}
	assert_int_equal(total, ln->n_workers ? S : 0);
	if (ln->n_workers)
		assert_true(hi - lo <= 1);
}

/* Loads within one among workers w[0..n-1], who hold every slot. */
static void balanced_among(const struct xsl_registry *r, uint32_t l, const uint32_t *w,
			   unsigned int n)
{
	const struct xsl_table *t = &registry__listener(r, l)->table;
	unsigned int lo = S, hi = 0, total = 0;

	for (unsigned int i = 0; i < n; i++) {
		unsigned int k = table__load(t, w[i]);

		lo = k < lo ? k : lo;
		hi = k > hi ? k : hi;
		total += k;
	}
	assert_int_equal(total, S);
	assert_true(hi - lo <= 1);
}

/* ---- a small world: two apps, workers, listeners, some history ---- */

struct world {
	uint32_t dns, web, tmp, old;
	uint32_t w_dns[4], w_web[3];
	uint32_t l_dns, l_web6, l_web4;
};

static void build_world(struct xsl_registry *r, struct world *o)
{
	struct xsl_app_opts web = { .cgroup_id = 42, .policy = XSL_POLICY_DROP,
				    .flags = XSL_APP_F_CPU_STEER | XSL_APP_F_OWN_CGROUP,
				    .idle_timeout_s = 30 };
	struct xsl_listener_key k;
	uint32_t gone;

	/* history first, so gens are above 1 and some slots are free */
	o->tmp = attach(r, "tmp", 900, 0);
	add_worker(r, o->tmp, 901);
	assert_int_equal(registry__detach_app(r, o->tmp), 0);

	o->dns = attach(r, "dns", 100, 41);
	o->w_dns[0] = 0;
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		const struct reg_worker *wk = registry__worker(r, w);

		if (wk && wk->app == o->dns)
			o->w_dns[0] = w;
	}
	o->w_dns[1] = add_worker(r, o->dns, 101);
	o->w_dns[2] = add_worker(r, o->dns, 102);
	o->w_dns[3] = add_worker(r, o->dns, 102);	/* a second worker of one process */
	gone = add_worker(r, o->dns, 103);
	k = key4(IPPROTO_UDP, 53, 0x0a000001);
	o->l_dns = add_listener_key(r, o->dns, &k);
	for (int i = 0; i < 4; i++)
		serve(r, o->l_dns, o->w_dns[i]);
	serve(r, o->l_dns, gone);
	assert_int_equal(registry__detach_process(r, o->dns, 103), 0);

	assert_int_equal(registry__attach_app(r, "web", &web, &o->web), 0);
	o->w_web[0] = add_worker(r, o->web, 200);
	o->w_web[1] = add_worker(r, o->web, 201);
	o->w_web[2] = add_worker(r, o->web, 0);		/* a worker with no process */
	k = key6_any(IPPROTO_TCP, 80);
	o->l_web6 = add_listener_key(r, o->web, &k);
	k = key4(IPPROTO_TCP, 8080, 0);
	o->l_web4 = add_listener_key(r, o->web, &k);
	for (int i = 0; i < 3; i++)
		serve(r, o->l_web6, o->w_web[i]);
	serve(r, o->l_web4, o->w_web[1]);
	/* a listener that came and went */
	k = key4(IPPROTO_UDP, 9999, 0);
	assert_int_equal(registry__listener_del(r, add_listener_key(r, o->web, &k)), 0);
	/* and an app with two workers that came and went: free slots with gens */
	o->old = attach(r, "old", 950, 0);
	add_worker(r, o->old, 951);
	assert_int_equal(registry__detach_process(r, o->old, 0), 0);
}

/* ---- tests ---- */

static void test_round_trip_restores_everything(void **state)
{
	struct env *e = *state;
	struct world o;

	build_world(e->orig, &o);
	restore(e);
	same_registry(e, "after restore");
	no_drops(&e->rep);
	assert_int_equal(e->rep.apps, 2);
	assert_int_equal(e->rep.workers, 7);
	assert_int_equal(e->rep.listeners, 3);
	assert_int_equal(e->rep.n_aliases, 0);
	assert_int_equal(e->notes, 0);
	/* the creator's process is found, its worker kept its start time */
	assert_string_equal(registry__app_name(e->back, o.dns), "dns");
	assert_int_equal(registry__worker(e->back, o.w_dns[0])->start_time_ns, 7100);
}

static void test_restored_registry_keeps_behaving_the_same(void **state)
{
	struct env *e = *state;
	struct xsl_registry *r[2];
	struct world o;

	build_world(e->orig, &o);
	restore(e);
	r[0] = e->orig;
	r[1] = e->back;
	for (int i = 0; i < 2; i++) {
		uint32_t w = add_worker(r[i], o.dns, 104), w2;
		struct xsl_listener_key k = key4(IPPROTO_UDP, 54, 0);
		uint32_t a;

		serve(r[i], o.l_dns, w);
		assert_int_equal(registry__detach_process(r[i], o.dns, 102), 0);
		assert_int_equal(registry__detach_process(r[i], o.dns, 77), -ENOENT);
		assert_int_equal(registry__worker_add(r[i], o.web, 100, 0, NULL), -EEXIST);
		w2 = add_worker(r[i], o.web, 202);
		serve(r[i], o.l_web4, w2);
		assert_int_equal(registry__listener_del_worker(r[i], o.l_web6, o.w_web[0]), 0);
		assert_int_equal(registry__detach_process(r[i], o.web, 201), 0);
		a = attach(r[i], "sip", 300, 43);
		add_worker(r[i], a, 301);
		assert_int_equal(registry__attach_app(r[i], "x", &(struct xsl_app_opts){
							      .cgroup_id = 41 }, NULL), -EEXIST);
		add_listener_key(r[i], a, &k);
		assert_int_equal(registry__detach_app(r[i], o.dns), 0);
	}
	same_registry(e, "after the same operations");
	same_maps(e, "after the same operations");
}

static void test_restore_calls_no_hook(void **state)
{
	struct env *e = *state;
	struct xsl_restore_input in;
	struct world o;
	static struct img spy;

	build_world(e->orig, &o);
	in = img_input(e->img);
	e->back = registry__new();
	assert_non_null(e->back);
	memset(&spy, 0, sizeof(spy));
	img_install(&spy, e->back);
	assert_int_equal(restore__registry(e->back, &in, NULL), 0);
	/* the spy image would have records if any hook had run */
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++)
		assert_int_equal(spy.workers[w].gen, 0);
	for (uint32_t a = 0; a < XSL_MAX_APPS; a++)
		assert_int_equal(spy.apps[a].gen, 0);
	assert_int_equal(spy.n, 0);
}

static void test_bad_input_is_refused(void **state)
{
	struct env *e = *state;
	struct xsl_restore_input in = img_input(e->img);
	struct world o;

	e->back = registry__new();
	assert_non_null(e->back);
	in.workers = NULL;
	assert_int_equal(restore__registry(e->back, &in, NULL), -EINVAL);
	in = img_input(e->img);
	in.n_listeners = XSL_MAX_LISTENERS + 1;
	assert_int_equal(restore__registry(e->back, &in, NULL), -EINVAL);
	/* a registry with live objects is not fresh */
	build_world(e->orig, &o);
	in = img_input(e->img);
	assert_int_equal(restore__registry(e->orig, &in, NULL), -EBUSY);
}

static void test_dead_app_drops_its_workers_and_listeners(void **state)
{
	struct env *e = *state;
	struct world o;

	build_world(e->orig, &o);
	/* The agent died while freeing web: its record is FREE, the rest not. */
	e->img->apps[o.web].state = XSL_APP_FREE;
	restore(e);
	assert_null(registry__app(e->back, o.web));
	assert_int_equal(e->rep.apps, 1);
	assert_int_equal(e->rep.n_dropped_workers, 3);
	for (int i = 0; i < 3; i++) {
		assert_true(has_u32(e->rep.dropped_workers, 3, o.w_web[i]));
		assert_null(registry__worker(e->back, o.w_web[i]));
		/* freed with the gen it had: the next owner gets a new one */
		assert_int_equal(e->back->workers[o.w_web[i]].gen,
				 e->orig->workers[o.w_web[i]].gen);
	}
	assert_int_equal(e->rep.n_dropped_keys, 2);
	assert_true(has_key(e->rep.dropped_keys, 2, &e->orig->listeners[o.l_web6].key));
	assert_true(has_key(e->rep.dropped_keys, 2, &e->orig->listeners[o.l_web4].key));
	assert_int_equal(registry__app_by_pid(e->back, 200, NULL), -ENOENT);
	assert_int_equal(e->back->apps[o.web].gen, e->orig->apps[o.web].gen);
	/* dns is untouched */
	assert_non_null(registry__listener(e->back, o.l_dns));
	assert_int_equal(e->rep.workers, 4);
}

static void test_worker_of_older_app_gen_is_dropped(void **state)
{
	struct env *e = *state;
	struct world o;

	build_world(e->orig, &o);
	e->img->workers[o.w_dns[1]].app_gen--;
	restore(e);
	assert_null(registry__worker(e->back, o.w_dns[1]));
	assert_int_equal(e->rep.n_dropped_workers, 1);
	assert_int_equal(e->rep.dropped_workers[0], o.w_dns[1]);
	/* pid 101 had only that worker: it has no entry */
	assert_int_equal(registry__app_by_pid(e->back, 101, NULL), -ENOENT);
	/* the table is repaired as if the worker had left it */
	assert_int_equal(registry__listener_del_worker(e->orig, o.l_dns, o.w_dns[1]), 0);
	assert_memory_equal(&e->orig->listeners[o.l_dns].table, &e->back->listeners[o.l_dns].table,
			    sizeof(struct xsl_table));
	assert_int_equal(e->back->listeners[o.l_dns].n_workers, 3);
	assert_int_equal(e->rep.n_repaired_listeners, 1);
	assert_int_equal(e->rep.repaired_listeners[0], o.l_dns);
}

static void test_stale_worker_gen_in_slot_table_is_cleared(void **state)
{
	struct env *e = *state;
	struct xsl_slot_table *row;
	unsigned int load, moved = 0;
	uint32_t victim;
	struct world o;

	build_world(e->orig, &o);
	victim = o.w_dns[2];
	row = &e->img->slots[o.l_dns];
	load = table__load(&e->orig->listeners[o.l_dns].table, victim);
	assert_true(load > 0);
	for (unsigned int s = 0; s < S; s++) {
		if (row->slot[s].worker == victim)
			row->slot[s].gen--;
	}
	/* the table is all there is (with its socket, it would serve again) */
	e->img->no_wsocks = true;
	restore(e);
	/* the worker itself lives on, it just does not serve that listener */
	assert_non_null(registry__worker(e->back, victim));
	assert_int_equal(table__load(&e->back->listeners[o.l_dns].table, victim), 0);
	assert_int_equal(e->back->listeners[o.l_dns].n_workers, 3);
	assert_int_equal(e->rep.slots_cleared, load);
	assert_int_equal(e->rep.n_repaired_listeners, 1);
	assert_int_equal(e->rep.n_dropped_workers, 0);
	balanced(e->back, o.l_dns);
	/* only the stale slots moved */
	for (unsigned int s = 0; s < S; s++) {
		uint32_t was = e->orig->listeners[o.l_dns].table.slot[s];

		if (was != victim)
			assert_int_equal(e->back->listeners[o.l_dns].table.slot[s], was);
		else
			moved++;
	}
	assert_int_equal(moved, load);
	/* exactly what removing it from the listener does */
	assert_int_equal(registry__listener_del_worker(e->orig, o.l_dns, victim), 0);
	same_registry(e, "after removing the stale worker");
}

static void test_table_with_no_live_worker_is_emptied(void **state)
{
	struct env *e = *state;
	struct world o;

	build_world(e->orig, &o);
	e->img->workers[o.w_web[1]].state = 9;	/* the only worker of l_web4 */
	restore(e);
	assert_int_equal(e->rep.n_dropped_workers, 1);
	assert_non_null(registry__listener(e->back, o.l_web4));
	assert_int_equal(e->back->listeners[o.l_web4].n_workers, 0);
	assert_int_equal(table__load(&e->back->listeners[o.l_web4].table, XSL_NO_WORKER), S);
	assert_true(has_u32(e->rep.repaired_listeners, e->rep.n_repaired_listeners, o.l_web4));
	balanced(e->back, o.l_web6);
}

static void test_corrupted_app_records_are_dropped(void **state)
{
	struct env *e = *state;
	struct xsl_app *ra;
	struct world o;

	build_world(e->orig, &o);
	/* free slots made up as corrupted apps */
	ra = &e->img->apps[10];
	*ra = e->img->apps[o.web];
	memset(ra->name, 'a', sizeof(ra->name));	/* unterminated */
	ra->cgroup_id = 1010;
	ra->creator_pid = 0;
	ra = &e->img->apps[11];
	*ra = e->img->apps[o.web];
	strcpy(ra->name, "bad/name");
	ra->cgroup_id = 1011;
	ra = &e->img->apps[12];
	*ra = e->img->apps[o.web];
	ra->cgroup_id = 1012;				/* same name as web */
	ra = &e->img->apps[13];
	*ra = e->img->apps[o.dns];
	strcpy(ra->name, "dup-cgroup");			/* same cgroup as dns */
	ra->creator_pid = 0;
	ra = &e->img->apps[14];
	*ra = e->img->apps[o.web];
	strcpy(ra->name, "dup-creator");
	ra->cgroup_id = 1014;
	ra->creator_pid = 101;				/* a worker pid of dns */
	ra = &e->img->apps[15];
	*ra = e->img->apps[o.web];
	strcpy(ra->name, "bad-policy");
	ra->cgroup_id = 1015;
	ra->policy = 7;
	ra = &e->img->apps[16];
	*ra = e->img->apps[o.web];
	strcpy(ra->name, "gen-zero");
	ra->cgroup_id = 1016;
	ra->gen = 0;
	ra = &e->img->apps[17];
	*ra = e->img->apps[o.web];
	strcpy(ra->name, "bad-state");
	ra->cgroup_id = 1017;
	ra->state = 3;
	ra->gen = 55;

	restore(e);
	assert_int_equal(e->rep.apps, 3);
	/* app 14 is refused for pid 101 only if dns's workers come first: they
	 * don't (apps are restored before workers), so app 14 keeps pid 101 and
	 * dns's worker of pid 101 is the one dropped */
	assert_int_equal(e->rep.n_dropped_apps, 7);
	for (uint32_t a = 10; a <= 17; a++) {
		if (a == 14)
			continue;
		assert_true(has_u32(e->rep.dropped_apps, e->rep.n_dropped_apps, a));
		assert_null(registry__app(e->back, a));
	}
	assert_non_null(registry__app(e->back, 14));
	assert_true(has_u32(e->rep.dropped_workers, e->rep.n_dropped_workers, o.w_dns[1]));
	assert_int_equal(e->back->apps[17].gen, 55);
	/* and one for the socket of dns's dropped worker */
	assert_int_equal(e->notes, e->rep.n_dropped_apps + e->rep.n_dropped_workers + 2);
	/* the real apps are intact */
	assert_string_equal(registry__app_name(e->back, o.web), "web");
	assert_string_equal(registry__app_name(e->back, o.dns), "dns");
}

static void test_corrupted_worker_records_are_dropped(void **state)
{
	struct env *e = *state;
	struct xsl_worker *rw, good;
	struct world o;

	build_world(e->orig, &o);
	good = e->img->workers[o.w_dns[1]];
	rw = &e->img->workers[100];
	*rw = good;
	rw->app = 9999;					/* app index out of range */
	rw = &e->img->workers[101];
	*rw = good;
	rw->pid = 555;					/* duplicate map_index */
	rw = &e->img->workers[102];
	*rw = good;
	rw->pid = 556;
	rw->map_index = 5000;				/* map_index out of range */
	rw = &e->img->workers[103];
	*rw = good;
	rw->map_index = 50;
	rw->pid = 200;					/* pid of web */
	rw = &e->img->workers[104];
	*rw = good;
	rw->map_index = 51;
	rw->gen = 0;					/* gen 0 */
	rw = &e->img->workers[105];
	*rw = e->img->workers[o.w_web[0]];
	rw->map_index = 52;
	rw->pid = 100;					/* dns's creator in web */

	restore(e);
	assert_int_equal(e->rep.workers, 7);
	assert_int_equal(e->rep.n_dropped_workers, 6);
	for (uint32_t w = 100; w <= 105; w++) {
		assert_true(has_u32(e->rep.dropped_workers, 6, w));
		assert_null(registry__worker(e->back, w));
	}
	assert_int_equal(e->back->workers[100].gen, good.gen);
	assert_int_equal(e->back->workers[104].gen, 0);
	/* pids stay with their own app */
	assert_int_equal(registry__app_by_pid(e->back, 555, NULL), -ENOENT);
	assert_int_equal(registry__app_by_pid(e->back, 556, NULL), -ENOENT);
	/* the rest is as it was */
	e->cmp_workers = 100;
	same_registry(e, "after dropping corrupted workers");
}

static void test_corrupted_listener_entries_are_dropped(void **state)
{
	struct env *e = *state;
	struct xsl_listener_key k;
	struct xsl_listener v;
	struct world o;
	unsigned int n;

	build_world(e->orig, &o);
	v = e->img->vals[img_find(e->img, &e->orig->listeners[o.l_web4].key)];
	k = key4(IPPROTO_TCP, 1, 0);
	v.index = 300;					/* index out of range */
	img_put(e->img, &k, &v);
	k = key4(IPPROTO_TCP, 2, 0);
	k.family = 7;					/* bad family */
	v.index = 20;
	img_put(e->img, &k, &v);
	k = key4(IPPROTO_TCP, 3, 0);
	k.addr[2] = 1;					/* v4 with v6 bytes */
	img_put(e->img, &k, &v);
	k = key4(IPPROTO_ICMP, 4, 0);			/* bad proto */
	img_put(e->img, &k, &v);
	k = key4(IPPROTO_TCP, 5, 0);
	v.app = 77;					/* no such app */
	img_put(e->img, &k, &v);
	k = key4(IPPROTO_TCP, 6, 0);
	v.app = o.web;
	v.app_gen++;					/* older app */
	img_put(e->img, &k, &v);
	k = key4(IPPROTO_TCP, 7, 0);
	v.app_gen--;
	v.index = 21;					/* fine, but its table names a */
	img_put(e->img, &k, &v);			/* worker out of range */
	for (unsigned int s = 0; s < S; s++)
		e->img->slots[21].slot[s] = (struct xsl_slot){ .worker = 70000 + s, .gen = 1 };
	n = e->img->n;

	restore(e);
	assert_int_equal(e->rep.listeners, 4);
	assert_int_equal(e->rep.n_dropped_keys, 6);
	assert_int_equal(e->rep.n_dropped_keys + e->rep.listeners, n);
	assert_non_null(registry__listener(e->back, 21));
	assert_int_equal(e->back->listeners[21].n_workers, 0);
	assert_int_equal(e->rep.slots_cleared, S);
	assert_int_equal(e->rep.n_repaired_listeners, 1);
	assert_int_equal(e->rep.repaired_listeners[0], 21);
	assert_null(registry__listener(e->back, 20));
}

static void test_alias_keys_are_reported(void **state)
{
	struct env *e = *state;
	struct xsl_listener_key v4 = key4(IPPROTO_TCP, 80, 0), other = key4(IPPROTO_TCP, 81, 0);
	struct xsl_listener v;
	struct world o;

	build_world(e->orig, &o);
	/* the agent keeps a v4 wildcard alias of the dual-stack v6 listener */
	v = e->img->vals[img_find(e->img, &e->orig->listeners[o.l_web6].key)];
	img_put(e->img, &v4, &v);
	/* and a stale entry from an older listener at that index */
	v.gen--;
	img_put(e->img, &other, &v);
	restore(e);
	assert_int_equal(e->rep.n_aliases, 1);
	assert_memory_equal(&e->rep.aliases[0].key, &v4, sizeof(v4));
	assert_int_equal(e->rep.aliases[0].listener, o.l_web6);
	assert_int_equal(e->rep.n_dropped_keys, 1);
	assert_memory_equal(&e->rep.dropped_keys[0], &other, sizeof(other));
	/* the registry key is the v6 one */
	same_registry(e, "with an alias");
}

static void test_next_gen_after_restore_is_higher(void **state)
{
	struct env *e = *state;
	uint32_t a, w;
	struct world o;

	build_world(e->orig, &o);
	/* a freed worker slot whose stale slot-table entry names a higher gen */
	e->img->workers[40].gen = 5;
	e->img->slots[o.l_dns].slot[0] = (struct xsl_slot){ .worker = 40, .gen = 9 };
	restore(e);
	/* the slot that named worker 40 is repaired */
	assert_int_equal(e->rep.slots_cleared, 1);
	/* the freed app and worker slots are reused first, with higher gens */
	a = attach(e->back, "new", 0, 0);
	assert_int_equal(a, o.old);
	assert_true(e->back->apps[a].gen > e->img->apps[a].gen);
	assert_int_equal(e->back->apps[a].gen, e->orig->apps[a].gen + 1);
	for (int i = 0; i < 64; i++) {
		w = add_worker(e->back, a, 0);
		assert_true(e->back->workers[w].gen > e->img->workers[w].gen);
		assert_int_equal(e->back->workers[w].gen,
				 w == 40 ? 10 : e->orig->workers[w].gen + 1);
	}
}

/* ---- randomized round trip ---- */

struct rnd {
	uint32_t seed, state;
};

static uint32_t rnd_next(struct rnd *g)
{
	g->state ^= g->state << 13;
	g->state ^= g->state >> 17;
	g->state ^= g->state << 5;
	return g->state;
}

static uint32_t rnd_pick(struct rnd *g, uint32_t n)
{
	return rnd_next(g) % n;
}

static const char *const names[] = { "dns", "web", "sip", "quic", "game", "mail" };
#define N_NAMES	(sizeof(names) / sizeof(names[0]))
#define N_PIDS	48
#define N_PORTS	10

static uint32_t live_worker(const struct xsl_registry *r, struct rnd *g)
{
	uint32_t ws[XSL_MAX_WORKERS], n = 0;

	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++)
		if (r->workers[w].live)
			ws[n++] = w;
	return n && rnd_pick(g, 8) ? ws[rnd_pick(g, n)] : rnd_pick(g, 64);
}

static uint32_t live_app(const struct xsl_registry *r, struct rnd *g)
{
	uint32_t as[XSL_MAX_APPS], n = 0;

	for (uint32_t a = 0; a < XSL_MAX_APPS; a++)
		if (r->apps[a].live)
			as[n++] = a;
	return n && rnd_pick(g, 8) ? as[rnd_pick(g, n)] : rnd_pick(g, N_NAMES + 2);
}

static uint32_t live_listener(const struct xsl_registry *r, struct rnd *g)
{
	uint32_t ls[XSL_MAX_LISTENERS], n = 0;

	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++)
		if (r->listeners[l].live)
			ls[n++] = l;
	return n && rnd_pick(g, 8) ? ls[rnd_pick(g, n)] : rnd_pick(g, N_PORTS + 2);
}

/*
 * One random operation, chosen from g on regs[0] and applied with the same
 * arguments to every registry in regs; the results must agree.
 * listener_add is left out when new listener gens may differ (free listener
 * gens are not in the maps).
 */
static void random_op(struct xsl_registry **regs, unsigned int n, struct rnd *g, bool listener_add)
{
	struct xsl_registry *r = regs[0];
	unsigned int k = rnd_pick(g, 100);
	uint32_t a = live_app(r, g), w = live_worker(r, g), l = live_listener(r, g);
	uint32_t pid = rnd_pick(g, 10) ? 1 + rnd_pick(g, N_PIDS) : 0;
	struct xsl_app_opts opts = { .creator_pid = rnd_pick(g, 3) ? pid : 0,
				     .cgroup_id = rnd_pick(g, 2) ? 1 + rnd_pick(g, 12) : 0,
				     .policy = rnd_pick(g, 2), .flags = rnd_pick(g, 4),
				     .idle_timeout_s = rnd_pick(g, 3) * 10,
				     .creator_start_time_ns = rnd_next(g) };
	const char *name = names[rnd_pick(g, N_NAMES)];
	uint16_t port = 5000 + rnd_pick(g, N_PORTS);
	struct xsl_listener_key key = rnd_pick(g, 2) ? key4(IPPROTO_UDP, port, 0)
						     : key6_any(IPPROTO_TCP, port);
	uint64_t start = rnd_next(g);
	uint32_t out0 = XSL_NO_WORKER;
	uint16_t inst = (uint16_t)(a < XSL_MAX_APPS ? r->apps[a].last_instance - rnd_pick(g, 3) : 1);
	enum xsl_inst_state mark = rnd_pick(g, 2) ? XSL_INST_DRAINING : XSL_INST_STOPPING;
	int rc0 = 0;

	if (!listener_add && k >= 60 && k < 66)
		k = 70;
	for (unsigned int i = 0; i < n; i++) {
		uint32_t out = XSL_NO_WORKER;
		int rc;

		r = regs[i];
		if (k < 6)
			rc = registry__attach_app(r, name, &opts, &out);
		else if (k < 36)
			rc = registry__worker_add(r, a, pid, start, &out);
		else if (k < 44)
			rc = registry__worker_del(r, w);
		else if (k < 52)
			rc = registry__detach_process(r, a, pid);
		else if (k < 53)
			rc = registry__detach_app(r, a);
		else if (k < 60)
			rc = registry__listener_del_worker(r, l, w);
		else if (k < 66)
			rc = registry__listener_add(r, a, &key, &out);
		else if (k < 68)
			rc = registry__listener_del(r, l);
		else if (k < 94)
			rc = registry__listener_add_worker(r, l, w);
		else if (k < 96)
			rc = registry__instance_start(r, a, NULL);
		else if (k < 98)
			rc = registry__instance_mark(r, a, inst, mark);
		else
			rc = registry__worker_add_to(r, a, inst, pid, start, &out);
		if (!i) {
			rc0 = rc;
			out0 = out;
		} else {
			SAME(rc == rc0 && out == out0, "op %u: rc %d/%d out %u/%u", k, rc0, rc,
			     out0, out);
		}
	}
}

static uint32_t env_u32(const char *name, uint32_t def)
{
	const char *s = getenv(name);

	return s && *s ? (uint32_t)strtoul(s, NULL, 0) : def;
}

/* Only the newest instance with no worker is in the maps (the app record's
 * fresh_instance): older ones, which serve nothing, are stopped before a
 * restore is compared. */
static void stop_older_fresh(struct xsl_registry *r)
{
	for (uint32_t a = 0; a < XSL_MAX_APPS; a++) {
		const struct reg_app *ra = registry__app(r, a);
		uint16_t newest = 0;

		for (unsigned int i = 0; ra && i < XSL_REG_MAX_INSTANCES; i++) {
			if (ra->inst[i].num && !ra->inst[i].n_workers && ra->inst[i].num > newest)
				newest = ra->inst[i].num;
		}
		for (unsigned int i = 0; ra && i < XSL_REG_MAX_INSTANCES; i++) {
			uint16_t num = ra->inst[i].num;

			if (num && !ra->inst[i].n_workers && num != newest)
				assert_int_equal(registry__instance_mark(r, a, num,
									 XSL_INST_STOPPING), 0);
			ra = registry__app(r, a);	/* a held app stays; others may go */
		}
	}
}

/* What the agent does after a restore: it marks the instances again (here
 * as the original has them), syncs the tables, and writes its app records. */
static void remark(struct env *e)
{
	for (uint32_t a = 0; a < XSL_MAX_APPS; a++) {
		const struct reg_app *ra = registry__app(e->orig, a);

		if (!ra)
			continue;
		for (unsigned int i = 0; i < XSL_REG_MAX_INSTANCES; i++) {
			if (ra->inst[i].num && ra->inst[i].mark != XSL_INST_SERVING)
				assert_int_equal(registry__restore_mark(e->back, a, ra->inst[i].num,
									ra->inst[i].mark), 0);
		}
		assert_int_equal(registry__sync_tables(e->back, a), 0);
		assert_int_equal(records__app(e->orig, a, &e->img->apps[a], NULL), 0);
		assert_int_equal(records__app(e->back, a, &e->img2->apps[a], NULL), 0);
	}
}

static void test_random_round_trip(void **state)
{
	struct env *e = *state;
	struct rnd g;
	unsigned int ops = env_u32("XSL_OPS", DEFAULT_OPS), rounds = 0;
	unsigned int peak_w = 0, peak_l = 0, peak_serving = 0;
	char when[64];

	g.seed = env_u32("XSL_SEED", DEFAULT_SEED);
	g.state = g.seed ? g.seed : 1;
	print_message("seed %u (XSL_SEED=%u replays it), %u ops\n", g.seed, g.seed, ops);
	for (unsigned int step = 0; step < ops;) {
		struct xsl_registry *regs[2];
		unsigned int burst = 50 + rnd_pick(&g, 400);

		/* random history on the original alone, listeners come and go */
		for (unsigned int i = 0; i < burst && step < ops; i++, step++)
			random_op(&e->orig, 1, &g, true);
		snprintf(when, sizeof(when), "seed %u step %u restored", g.seed, step);
		stop_older_fresh(e->orig);
		restore(e);
		same_registry(e, when);
		no_drops(&e->rep);
		remark(e);
		snprintf(when, sizeof(when), "seed %u step %u marked again", g.seed, step);
		same_registry(e, when);
		rounds++;
		peak_w = e->rep.workers > peak_w ? e->rep.workers : peak_w;
		peak_l = e->rep.listeners > peak_l ? e->rep.listeners : peak_l;
		for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++)
			if (e->back->listeners[l].n_workers > peak_serving)
				peak_serving = e->back->listeners[l].n_workers;
		/* then both go on the same way */
		regs[0] = e->orig;
		regs[1] = e->back;
		for (unsigned int i = 0; i < 100 && step < ops; i++, step++) {
			random_op(regs, 2, &g, false);
			snprintf(when, sizeof(when), "seed %u step %u after restore", g.seed, step);
			if (i % 10 == 9)
				same_registry(e, when);
		}
		same_registry(e, when);
		same_maps(e, when);
	}
	print_message("%u restores compared; peak %u workers, %u listeners, %u serving one\n",
		      rounds, peak_w, peak_l, peak_serving);
}

/* The registry's own invariants, whatever it was restored from. */
static void consistent(const struct xsl_registry *r, const char *when)
{
	static uint32_t count[XSL_MAX_APPS], lcount[XSL_MAX_APPS];

	memset(count, 0, sizeof(count));
	memset(lcount, 0, sizeof(lcount));
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		const struct reg_worker *wk = registry__worker(r, w);

		if (!wk)
			continue;
		SAME(registry__app(r, wk->app), "%s: worker %u of dead app %u", when, w, wk->app);
		SAME(wk->gen, "%s: worker %u has gen 0", when, w);
		count[wk->app]++;
		for (uint32_t v = 0; v < w; v++) {
			const struct reg_worker *o = registry__worker(r, v);

			SAME(!o || o->app != wk->app || o->map_index != wk->map_index,
			     "%s: workers %u and %u share map index %u", when, v, w, wk->map_index);
		}
		if (wk->pid) {
			uint32_t a = XSL_NO_APP;

			SAME(!registry__app_by_pid(r, wk->pid, &a) && a == wk->app,
			     "%s: worker %u pid %u finds app %u", when, w, wk->pid, a);
		}
	}
	for (unsigned int i = 0; i < XSL_REG_MAX_PROCS; i++) {
		if (!r->procs.slot[i].pid)
			continue;
		SAME(registry__app(r, r->procs.slot[i].app), "%s: pid %u -> dead app", when,
		     r->procs.slot[i].pid);
		for (unsigned int j = 0; j < i; j++)
			SAME(r->procs.slot[j].pid != r->procs.slot[i].pid, "%s: pid %u twice", when,
			     r->procs.slot[i].pid);
	}
	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
		const struct reg_listener *ln = registry__listener(r, l);
		uint64_t named[XSL_REG_WORKER_WORDS] = { 0 }, own[XSL_REG_WORKER_WORDS] = { 0 };
		unsigned int n = 0, bits = 0;

		if (!ln)
			continue;
		SAME(registry__app(r, ln->app), "%s: listener %u of dead app", when, l);
		lcount[ln->app]++;
		/* the table names all the serving workers of its instance */
		for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
			if (!(ln->serving[w / 64] & (1ull << (w % 64))))
				continue;
			bits++;
			SAME(registry__worker(r, w) && r->workers[w].app == ln->app,
			     "%s: listener %u served by %u", when, l, w);
			if (ln->table_inst && r->workers[w].instance == ln->table_inst)
				own[w / 64] |= 1ull << (w % 64);
		}
		SAME(bits == ln->n_workers, "%s: listener %u has %u serving, counts %u", when, l,
		     bits, ln->n_workers);
		for (unsigned int s = 0; s < S; s++) {
			uint32_t w = ln->table.slot[s];
			const struct reg_worker *wk = registry__worker(r, w);

			if (!ln->table_inst) {
				SAME(w == XSL_NO_WORKER, "%s: listener %u without a table instance "
				     "names %u", when, l, w);
				continue;
			}
			SAME(wk && wk->app == ln->app, "%s: listener %u slot %u names %u", when, l,
			     s, w);
			if (!(named[w / 64] & (1ull << (w % 64))))
				n++;
			named[w / 64] |= 1ull << (w % 64);
		}
		SAME(!memcmp(named, own, sizeof(named)),
		     "%s: listener %u table of instance %u names %u workers, not all of its "
		     "serving ones", when, l, ln->table_inst, n);
	}
	for (uint32_t a = 0; a < XSL_MAX_APPS; a++) {
		const struct reg_app *ra = registry__app(r, a);

		if (!ra)
			continue;
		SAME(ra->n_workers == count[a] && ra->n_listeners == lcount[a],
		     "%s: app %u counts %u workers %u listeners, has %u, %u", when, a,
		     ra->n_workers, ra->n_listeners, count[a], lcount[a]);
		SAME(ra->gen && ra->name[0] &&
			     strnlen(ra->name, XSL_APP_NAME_LEN) < XSL_APP_NAME_LEN,
		     "%s: app %u gen %u or name bad", when, a, ra->gen);
	}
}

/* Flips random bytes of the image, in the records that matter most. */
static void damage(struct img *m, struct rnd *g, unsigned int flips)
{
	for (unsigned int i = 0; i < flips; i++) {
		uint8_t *p;
		size_t len;

		switch (rnd_pick(g, 5)) {
		case 0:
			p = (uint8_t *)m->apps;
			len = sizeof(struct xsl_app) * 16;
			break;
		case 1:
			p = (uint8_t *)m->workers;
			len = sizeof(struct xsl_worker) * 64;
			break;
		case 2:
			if (!m->n)
				continue;
			p = (uint8_t *)m->vals;
			len = sizeof(struct xsl_listener) * m->n;
			break;
		case 3:
			if (!m->n)
				continue;
			p = (uint8_t *)m->keys;
			len = sizeof(struct xsl_listener_key) * m->n;
			break;
		default:
			p = (uint8_t *)m->slots;
			len = sizeof(struct xsl_slot_table) * 16;
			break;
		}
		/* small values are the interesting ones: indexes, gens, states */
		p[rnd_pick(g, len)] = rnd_pick(g, 2) ? rnd_pick(g, 4) : rnd_next(g);
	}
}

static void test_random_damage_never_breaks_the_registry(void **state)
{
	struct env *e = *state;
	struct rnd g;
	unsigned int rounds = env_u32("XSL_OPS", DEFAULT_OPS) / 200, dropped = 0, cleared = 0;
	char when[64];

	g.seed = env_u32("XSL_SEED", DEFAULT_SEED) ^ 0xda4a6e;
	g.state = g.seed ? g.seed : 1;
	print_message("seed %u, %u rounds\n", g.seed, rounds);
	for (unsigned int round = 0; round < rounds; round++) {
		for (unsigned int i = 0; i < 150; i++)
			random_op(&e->orig, 1, &g, true);
		memcpy(e->img2, e->img, sizeof(*e->img2));
		damage(e->img2, &g, 1 + rnd_pick(&g, 40));
		registry__free(e->back);
		e->back = registry__new();
		assert_non_null(e->back);
		{
			struct xsl_restore_input in = img_input(e->img2);

			assert_int_equal(restore__registry(e->back, &in, &e->rep), 0);
		}
		dropped += e->rep.n_dropped_apps + e->rep.n_dropped_workers + e->rep.n_dropped_keys;
		cleared += e->rep.slots_cleared;
		snprintf(when, sizeof(when), "seed %u round %u restored", g.seed, round);
		consistent(e->back, when);
		/* and it keeps working */
		for (unsigned int i = 0; i < 100; i++)
			random_op(&e->back, 1, &g, true);
		snprintf(when, sizeof(when), "seed %u round %u operated", g.seed, round);
		consistent(e->back, when);
	}
	print_message("%u records dropped, %u slots cleared\n", dropped, cleared);
}

/* Instances come back with their numbers (above 255 too: the worker record
 * keeps 8 bits), their workers and the last number, a fresh one with none. */
static void test_instances_round_trip(void **state)
{
	struct env *e = *state;
	struct xsl_registry *r = e->orig;
	struct xsl_listener_key k = key4(IPPROTO_UDP, 53, 0);
	uint32_t a = attach(r, "dns", 100, 41), l = add_listener_key(r, a, &k), w, prev;
	uint16_t n = 0;

	prev = add_worker(r, a, 101);
	assert_int_equal(registry__detach_process(r, a, 100), 0);
	/* one restart after another: the numbers walk past 255 */
	while (registry__app(r, a)->last_instance < 298) {
		assert_int_equal(registry__instance_start(r, a, &n), 0);
		w = add_worker(r, a, 1000 + n);
		assert_int_equal(registry__worker_del(r, prev), 0);
		prev = w;
	}
	serve(r, l, prev);
	assert_int_equal(registry__instance_start(r, a, &n), 0);
	assert_int_equal(n, 299);
	serve(r, l, add_worker(r, a, 2001));
	serve(r, l, add_worker(r, a, 2002));
	assert_int_equal(registry__instance_mark(r, a, 298, XSL_INST_DRAINING), 0);
	assert_int_equal(registry__instance_start(r, a, &n), 0);
	assert_int_equal(n, 300);

	restore(e);
	same_registry(e, "after restore");
	no_drops(&e->rep);
	assert_int_equal(registry__app(e->back, a)->last_instance, 300);
	assert_int_equal(registry__instance(e->back, a, 299)->n_workers, 2);
	assert_int_equal(registry__instance(e->back, a, 298)->n_workers, 1);
	assert_non_null(registry__instance(e->back, a, 300));
	assert_int_equal(registry__instance(e->back, a, 300)->n_workers, 0);
	/* and numbering goes on from there in both */
	assert_int_equal(registry__instance_start(e->back, a, &n), 0);
	assert_int_equal(n, 301);
	assert_int_equal(registry__instance_start(e->orig, a, &n), 0);
	same_registry(e, "after a start");
	same_maps(e, "after a start");
}

/* An app mid-restart: instance 1 draining, 2 taking new sessions (its table
 * made by a switch and a join since), 3 starting. */
struct restart {
	uint32_t a, l1, l2, old[2], nw[3], st;
};

static void mid_restart(struct xsl_registry *r, struct restart *o)
{
	struct xsl_listener_key k1 = key4(IPPROTO_UDP, 53, 0), k2 = key6_any(IPPROTO_TCP, 53);

	o->a = attach(r, "dns", 0, 41);
	o->l1 = add_listener_key(r, o->a, &k1);
	o->l2 = add_listener_key(r, o->a, &k2);
	for (int i = 0; i < 2; i++) {
		o->old[i] = add_worker(r, o->a, 101 + i);
		serve(r, o->l1, o->old[i]);
		serve(r, o->l2, o->old[i]);
	}
	assert_int_equal(registry__instance_start(r, o->a, NULL), 0);
	for (int i = 0; i < 3; i++) {
		o->nw[i] = add_worker(r, o->a, 201 + i);
		serve(r, o->l1, o->nw[i]);
		serve(r, o->l2, o->nw[i]);
	}
	assert_int_equal(registry__instance_start(r, o->a, NULL), 0);
	o->st = add_worker(r, o->a, 301);
	serve(r, o->l1, o->st);
	/* last: the app record is written after 3 got its worker (a worker
	 * add does not rewrite its fresh_instance) */
	assert_int_equal(registry__instance_mark(r, o->a, 1, XSL_INST_DRAINING), 0);
	assert_int_equal(registry__listener(r, o->l1)->table_inst, 2);
}

/* The tables hold the taking instance's workers only; the others' serving
 * comes back from their sockets, each table slot for slot, and after the
 * agent marks again both registries go on alike. */
static void test_instance_tables_round_trip(void **state)
{
	struct env *e = *state;
	struct restart o;
	uint32_t w;

	mid_restart(e->orig, &o);
	restore(e);
	same_registry(e, "after restore");
	no_drops(&e->rep);
	assert_int_equal(e->back->listeners[o.l1].n_workers, 6);
	assert_int_equal(e->back->listeners[o.l1].table_inst, 2);
	/* the marks are the agent's: it marks again */
	assert_int_equal(registry__restore_mark(e->back, o.a, 1, XSL_INST_DRAINING), 0);
	assert_int_equal(registry__sync_tables(e->back, o.a), 0);
	same_registry(e, "after the marks");
	/* an old worker exits, a new one joins, the starting one takes over */
	for (int i = 0; i < 2; i++) {
		struct xsl_registry *r = i ? e->back : e->orig;

		assert_int_equal(registry__worker_del(r, o.old[0]), 0);
		assert_int_equal(registry__worker_add_to(r, o.a, 2, 204, 0, &w), 0);
		serve(r, o.l1, w);
		serve(r, o.l2, o.st);
	}
	same_registry(e, "after the restart goes on");
	same_maps(e, "after the restart goes on");
	assert_int_equal(e->back->listeners[o.l1].table_inst, 3);
}

/* Marking again after a restore calls no hook and moves no slot until the
 * tables are synced; a fresh instance goes, not an app that is not held. */
static void test_restore_mark_is_quiet(void **state)
{
	struct env *e = *state;
	struct xsl_registry *b;
	struct restart o;
	uint32_t solo;

	mid_restart(e->orig, &o);
	solo = attach(e->orig, "solo", 0, 0);
	restore(e);
	b = e->back;
	b->hooks = (struct xsl_registry_hooks){ 0 };
	/* the old and the taking instance marked: nothing moves until the sync */
	assert_int_equal(registry__restore_mark(b, o.a, 1, XSL_INST_DRAINING), 0);
	assert_int_equal(registry__restore_mark(b, o.a, 2, XSL_INST_STOPPING), 0);
	assert_int_equal(b->listeners[o.l1].table_inst, 2);
	assert_memory_equal(&b->listeners[o.l1].table, &e->orig->listeners[o.l1].table,
			    sizeof(struct xsl_table));
	assert_int_equal(registry__sync_tables(b, o.a), 0);
	assert_int_equal(b->listeners[o.l1].table_inst, 3);
	assert_int_equal(b->listeners[o.l2].table_inst, 0);
	/* a step back or a non-mark is refused; the same mark again is 0 */
	assert_int_equal(registry__restore_mark(b, o.a, 2, XSL_INST_DRAINING), -EINVAL);
	assert_int_equal(registry__restore_mark(b, o.a, 2, XSL_INST_SERVING), -EINVAL);
	assert_int_equal(registry__restore_mark(b, o.a, 2, XSL_INST_STOPPING), 0);
	assert_int_equal(registry__restore_mark(b, o.a, 9, XSL_INST_STOPPING), -ENOENT);
	/* the last instance of an app not held, with no worker: the normal
	 * mark frees the app (with its hooks) */
	assert_int_equal(registry__restore_mark(b, solo, 1, XSL_INST_DRAINING), -EBUSY);
	assert_non_null(registry__instance(b, solo, 1));
	assert_int_equal(registry__sync_tables(b, 77), -ENOENT);
}

/* Without xsl_wsocks (an agent that did not read them) only the taking
 * instance's workers come back serving. */
static void test_instance_tables_without_sockets(void **state)
{
	struct env *e = *state;
	struct restart o;

	mid_restart(e->orig, &o);
	e->img->no_wsocks = true;
	restore(e);
	assert_int_equal(e->back->listeners[o.l1].n_workers, 3);
	assert_memory_equal(&e->back->listeners[o.l1].table, &e->orig->listeners[o.l1].table,
			    sizeof(struct xsl_table));
	assert_int_equal(e->back->listeners[o.l1].table_inst, 2);
}

/* A table naming several instances' workers (maps written before tables
 * held one instance) is made the table instance's, keeping their slots. */
static void test_table_of_several_instances_is_repaired(void **state)
{
	struct env *e = *state;
	struct xsl_slot_table *row;
	struct restart o;
	unsigned int kept = 0;

	mid_restart(e->orig, &o);
	row = &e->img->slots[o.l1];
	/* every fourth slot to the old instance's first worker */
	for (unsigned int s = 0; s < S; s += 4)
		row->slot[s] = (struct xsl_slot){ .worker = o.old[0],
						  .gen = e->orig->workers[o.old[0]].gen };
	restore(e);
	assert_int_equal(e->rep.n_repaired_listeners, 1);
	assert_int_equal(e->rep.repaired_listeners[0], o.l1);
	assert_int_equal(e->back->listeners[o.l1].table_inst, 2);
	assert_int_equal(table__load(&e->back->listeners[o.l1].table, o.old[0]), 0);
	assert_int_equal(e->back->listeners[o.l1].n_workers, 6);
	for (unsigned int s = 0; s < S; s++) {
		uint32_t w = e->back->listeners[o.l1].table.slot[s];

		assert_int_equal(e->back->workers[w].instance, 2);
		if (s % 4)
			kept += w == row->slot[s].worker;
	}
	/* only the old worker's slots moved */
	assert_int_equal(kept, S - (S + 3) / 4);
	balanced_among(e->back, o.l1, o.nw, 3);
}

/* Records from before instances (instance fields 0): all is instance 1. */
static void test_records_before_instances_are_instance_one(void **state)
{
	struct env *e = *state;
	struct world o;

	build_world(e->orig, &o);
	for (uint32_t i = 0; i < XSL_MAX_APPS; i++) {
		e->img->apps[i].instance = 0;
		e->img->apps[i].fresh_instance = 0;
	}
	for (uint32_t i = 0; i < XSL_MAX_WORKERS; i++)
		e->img->workers[i].instance = 0;
	restore(e);
	same_registry(e, "after restore");
	no_drops(&e->rep);
	assert_int_equal(registry__app(e->back, o.dns)->last_instance, 1);
	assert_int_equal(registry__instance(e->back, o.dns, 1)->n_workers,
			 registry__app(e->back, o.dns)->n_workers);
}

/* A record naming more live instances than an app may have: the worker that
 * would need one more is dropped and reported, the rest is kept. */
static void test_worker_of_one_instance_too_many_is_dropped(void **state)
{
	struct env *e = *state;
	uint32_t a = attach(e->orig, "dns", 100, 41), w;

	for (unsigned int i = 1; i < XSL_REG_MAX_INSTANCES; i++) {
		assert_int_equal(registry__instance_start(e->orig, a, NULL), 0);
		add_worker(e->orig, a, 200 + i);
	}
	/* a second worker of the newest instance, its record naming a 9th */
	w = add_worker(e->orig, a, 300);
	e->img->workers[w].instance = XSL_REG_MAX_INSTANCES + 1;
	e->img->apps[a].instance = XSL_REG_MAX_INSTANCES + 1;
	restore(e);
	assert_int_equal(e->rep.n_dropped_workers, 1);
	assert_int_equal(e->rep.dropped_workers[0], w);
	assert_int_equal(registry__app(e->back, a)->n_workers, XSL_REG_MAX_INSTANCES);
	assert_int_equal(registry__app_by_pid(e->back, 300, NULL), -ENOENT);
	assert_int_equal(registry__app_by_pid(e->back, 207, NULL), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_round_trip_restores_everything),
		T(test_restored_registry_keeps_behaving_the_same),
		T(test_restore_calls_no_hook),
		T(test_bad_input_is_refused),
		T(test_dead_app_drops_its_workers_and_listeners),
		T(test_worker_of_older_app_gen_is_dropped),
		T(test_stale_worker_gen_in_slot_table_is_cleared),
		T(test_table_with_no_live_worker_is_emptied),
		T(test_corrupted_app_records_are_dropped),
		T(test_corrupted_worker_records_are_dropped),
		T(test_corrupted_listener_entries_are_dropped),
		T(test_alias_keys_are_reported),
		T(test_next_gen_after_restore_is_higher),
		T(test_instances_round_trip),
		T(test_instance_tables_round_trip),
		T(test_instance_tables_without_sockets),
		T(test_restore_mark_is_quiet),
		T(test_table_of_several_instances_is_repaired),
		T(test_records_before_instances_are_instance_one),
		T(test_worker_of_one_instance_too_many_is_dropped),
		T(test_random_round_trip),
		T(test_random_damage_never_breaks_the_registry),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
