// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The registry rules of DESIGN.md "Semantics", one test per rule: attach,
 * worker add, per-process detach, worker delete, app free, lookups by pid,
 * index reuse with new gens, capacity, listeners and their worker tables,
 * and the data-path-safe order of the change hooks.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "registry.h"
#include "fixture.h"

static uint32_t attach(struct xsl_registry *r, const char *name, uint32_t creator)
{
	struct xsl_app_opts o = { .creator_pid = creator };

	return attach_opts(r, name, &o);
}

/* Worker index of app's worker owned by pid with the given map index. */
static uint32_t worker_of(const struct xsl_registry *r, uint32_t app, uint32_t map_index)
{
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		const struct reg_worker *wk = registry__worker(r, w);

		if (wk && wk->app == app && wk->map_index == map_index)
			return w;
	}
	return XSL_NO_WORKER;
}

static unsigned int workers_of_pid(const struct xsl_registry *r, uint32_t app, uint32_t pid)
{
	unsigned int n = 0;

	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		const struct reg_worker *wk = registry__worker(r, w);

		n += wk && wk->app == app && wk->pid == pid;
	}
	return n;
}

static unsigned int proc_entries(const struct xsl_registry *r, uint32_t pid)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < XSL_REG_MAX_PROCS; i++)
		n += r->procs.slot[i].pid == pid;
	return n;
}

static struct xsl_listener_key udp_key(uint16_t port)
{
	struct xsl_listener_key k;

	memset(&k, 0, sizeof(k));
	k.family = XSL_AF_INET;
	k.proto = IPPROTO_UDP;
	k.port = __builtin_bswap16(port);
	k.addr[0] = __builtin_bswap32(0x0a000001);	/* 10.0.0.1 */
	return k;
}

static uint32_t add_listener(struct xsl_registry *r, uint32_t app, uint16_t port)
{
	struct xsl_listener_key k = udp_key(port);

	return add_listener_key(r, app, &k);
}

/* ---- attach ---- */

static void test_attach_app_returns_index_and_caches_name(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a, b, found;

	a = attach(r, "dns", 0);
	b = attach(r, "web", 0);
	assert_int_equal(a, 0);
	assert_int_equal(b, 1);
	assert_string_equal(registry__app_name(r, a), "dns");
	assert_string_equal(registry__app(r, b)->name, "web");
	assert_int_equal(registry__app_by_name(r, "web", &found), 0);
	assert_int_equal(found, b);
	assert_int_not_equal(registry__app(r, a)->gen, 0);
	assert_int_equal(registry__app(r, a)->idle_timeout_s, XSL_DEFAULT_IDLE_S);
}

static void test_attach_records_options(void **state)
{
	struct xsl_registry *r = *state;
	struct xsl_app_opts o = { .cgroup_id = 77, .policy = XSL_POLICY_DROP,
				  .flags = XSL_APP_F_CPU_STEER, .idle_timeout_s = 9 };
	const struct reg_app *ra;
	uint32_t a, found;

	assert_int_equal(registry__attach_app(r, "sip", &o, &a), 0);
	ra = registry__app(r, a);
	assert_int_equal(ra->cgroup_id, 77);
	assert_int_equal(ra->policy, XSL_POLICY_DROP);
	assert_int_equal(ra->flags, XSL_APP_F_CPU_STEER);
	assert_int_equal(ra->idle_timeout_s, 9);
	assert_int_equal(registry__app_by_cgroup(r, 77, &found), 0);
	assert_int_equal(found, a);
	o.policy = 7;
	assert_int_equal(registry__attach_app(r, "other", &o, NULL), -EINVAL);
}

static void test_attach_duplicate_name_fails(void **state)
{
	struct xsl_registry *r = *state;

	attach(r, "dns", 0);
	assert_int_equal(registry__attach_app(r, "dns", NULL, NULL), -EEXIST);
	assert_non_null(strstr(registry__error(r), "dns"));
}

static void test_attach_duplicate_cgroup_fails(void **state)
{
	struct xsl_registry *r = *state;
	struct xsl_app_opts o = { .cgroup_id = 5 };

	assert_int_equal(registry__attach_app(r, "a", &o, NULL), 0);
	assert_int_equal(registry__attach_app(r, "b", &o, NULL), -EEXIST);
}

static void test_attach_bad_name_fails(void **state)
{
	struct xsl_registry *r = *state;
	char longest[XSL_APP_NAME_LEN], too_long[XSL_APP_NAME_LEN + 1];

	memset(longest, 'x', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = 0;
	memset(too_long, 'y', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = 0;

	assert_int_equal(registry__attach_app(r, "", NULL, NULL), -EINVAL);
	assert_int_equal(registry__attach_app(r, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(registry__attach_app(r, too_long, NULL, NULL), -EINVAL);
	assert_int_equal(registry__attach_app(r, "a/b", NULL, NULL), -EINVAL);
	assert_int_equal(registry__attach_app(r, "..", NULL, NULL), -EINVAL);
	assert_int_equal(registry__attach_app(r, "has space", NULL, NULL), -EINVAL);
	assert_int_equal(registry__app_by_name(r, too_long, NULL), -ENOENT);
	/* XSL_APP_NAME_LEN - 1 characters still fit. */
	assert_int_equal(registry__attach_app(r, longest, NULL, NULL), 0);
	assert_string_equal(registry__app_name(r, 0), longest);
}

static void test_attach_with_creator_makes_worker_zero(void **state)
{
	struct xsl_registry *r = *state;
	const struct reg_worker *wk;
	uint32_t a, w, found;

	a = attach(r, "dns", 100);
	assert_int_equal(registry__app(r, a)->creator_pid, 100);
	assert_int_equal(registry__app(r, a)->n_workers, 1);
	w = worker_of(r, a, 0);
	assert_int_not_equal(w, XSL_NO_WORKER);
	wk = registry__worker(r, w);
	assert_int_equal(wk->pid, 100);
	assert_int_equal(wk->map_index, 0);
	assert_int_not_equal(wk->gen, 0);
	assert_int_equal(registry__app_by_pid(r, 100, &found), 0);
	assert_int_equal(found, a);
	assert_int_equal(proc_entries(r, 100), 1);
}

static void test_attach_creator_of_other_app_fails(void **state)
{
	struct xsl_registry *r = *state;
	struct xsl_app_opts o = { .creator_pid = 100 };

	attach(r, "dns", 100);
	assert_int_equal(registry__attach_app(r, "web", &o, NULL), -EEXIST);
	assert_int_equal(registry__app_by_name(r, "web", NULL), -ENOENT);
}

static void test_operator_attach_makes_no_worker(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a;

	a = attach(r, "dns", 0);
	assert_int_equal(registry__app(r, a)->creator_pid, 0);
	assert_int_equal(registry__app(r, a)->n_workers, 0);
	assert_int_equal(worker_of(r, a, 0), XSL_NO_WORKER);
	for (unsigned int i = 0; i < XSL_REG_MAX_PROCS; i++)
		assert_int_equal(r->procs.slot[i].pid, 0);
}

/* ---- worker add ---- */

static void test_worker_add_records_process_and_entry(void **state)
{
	struct xsl_registry *r = *state;
	const struct reg_worker *wk;
	uint32_t a, w, found;

	a = attach(r, "dns", 100);
	w = add_worker(r, a, 101);
	wk = registry__worker(r, w);
	assert_int_equal(wk->app, a);
	assert_int_equal(wk->pid, 101);
	assert_int_equal(wk->start_time_ns, 1101);
	assert_int_equal(wk->map_index, 1);
	assert_int_equal(registry__app(r, a)->n_workers, 2);
	assert_int_equal(registry__app_by_pid(r, 101, &found), 0);
	assert_int_equal(found, a);
	assert_int_equal(proc_entries(r, 101), 1);
}

static void test_worker_add_to_operator_app_records_entry(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a, w, found;

	a = attach(r, "dns", 0);
	w = add_worker(r, a, 200);
	assert_int_equal(registry__worker(r, w)->map_index, 0);
	assert_int_equal(registry__app_by_pid(r, 200, &found), 0);
	assert_int_equal(found, a);
}

static void test_worker_add_for_creator_keeps_single_entry(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a, w;

	a = attach(r, "dns", 100);
	w = add_worker(r, a, 100);
	assert_int_equal(registry__worker(r, w)->pid, 100);
	assert_int_equal(workers_of_pid(r, a, 100), 2);
	assert_int_equal(proc_entries(r, 100), 1);
}

static void test_worker_add_same_process_twice_keeps_single_entry(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a;

	a = attach(r, "dns", 100);
	add_worker(r, a, 101);
	add_worker(r, a, 101);
	assert_int_equal(workers_of_pid(r, a, 101), 2);
	assert_int_equal(proc_entries(r, 101), 1);
}

static void test_worker_add_process_of_other_app_fails(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a, b;

	a = attach(r, "dns", 100);
	b = attach(r, "web", 0);
	add_worker(r, a, 101);
	assert_int_equal(registry__worker_add(r, b, 101, 0, NULL), -EEXIST);
	assert_int_equal(registry__worker_add(r, b, 100, 0, NULL), -EEXIST);
	assert_non_null(strstr(registry__error(r), "dns"));
	assert_int_equal(registry__app(r, b)->n_workers, 0);
}

static void test_worker_add_to_unknown_app_fails(void **state)
{
	struct xsl_registry *r = *state;

	assert_int_equal(registry__worker_add(r, 3, 100, 0, NULL), -ENOENT);
	assert_int_equal(registry__worker_add(r, XSL_MAX_APPS, 100, 0, NULL), -ENOENT);
}

static void test_map_index_reuses_lowest_free(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a, w1, w2, w3, w;

	a = attach(r, "dns", 100);
	w1 = add_worker(r, a, 101);
	w2 = add_worker(r, a, 102);
	w3 = add_worker(r, a, 103);
	assert_int_equal(registry__worker(r, w3)->map_index, 3);
	assert_int_equal(registry__worker_del(r, w2), 0);
	assert_int_equal(registry__worker_del(r, w1), 0);
	w = add_worker(r, a, 104);
	assert_int_equal(registry__worker(r, w)->map_index, 1);
	w = add_worker(r, a, 105);
	assert_int_equal(registry__worker(r, w)->map_index, 2);
	w = add_worker(r, a, 106);
	assert_int_equal(registry__worker(r, w)->map_index, 4);
}

static void test_worker_index_is_lowest_free(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a, b, w;

	a = attach(r, "dns", 100);		/* worker 0 */
	b = attach(r, "web", 200);		/* worker 1 */
	w = add_worker(r, a, 101);		/* worker 2 */
	assert_int_equal(w, 2);
	assert_int_equal(registry__detach_process(r, b, 200), 0);
	assert_int_equal(add_worker(r, a, 102), 1);
	assert_int_equal(add_worker(r, a, 103), 3);
}

/* ---- detach and delete ---- */

static void test_detach_process_keeps_other_workers(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a, w0, w2, found;

	a = attach(r, "dns", 100);
	w0 = worker_of(r, a, 0);
	add_worker(r, a, 101);
	w2 = add_worker(r, a, 102);
	assert_int_equal(registry__detach_process(r, a, 101), 0);
	assert_non_null(registry__app(r, a));
	assert_int_equal(registry__app(r, a)->n_workers, 2);
	assert_non_null(registry__worker(r, w0));
	assert_non_null(registry__worker(r, w2));
	assert_int_equal(registry__app_by_pid(r, 101, NULL), -ENOENT);
	assert_int_equal(registry__app_by_pid(r, 102, &found), 0);
	assert_int_equal(found, a);
	assert_int_equal(registry__app_by_pid(r, 100, &found), 0);
}

static void test_detach_process_removes_all_its_workers(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a, w1, w2, w3;

	a = attach(r, "dns", 100);
	w1 = add_worker(r, a, 101);
	w2 = add_worker(r, a, 101);
	w3 = add_worker(r, a, 102);
	assert_int_equal(registry__detach_process(r, a, 101), 0);
	assert_null(registry__worker(r, w1));
	assert_null(registry__worker(r, w2));
	assert_non_null(registry__worker(r, w3));
	assert_int_equal(workers_of_pid(r, a, 101), 0);
	assert_int_equal(proc_entries(r, 101), 0);
	assert_int_equal(registry__app(r, a)->n_workers, 2);
}

static void test_detach_creator_keeps_app_with_other_workers(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a, found;

	a = attach(r, "dns", 100);
	add_worker(r, a, 101);
	assert_int_equal(registry__detach_process(r, a, 100), 0);
	assert_non_null(registry__app(r, a));
	assert_int_equal(registry__app(r, a)->n_workers, 1);
	/* The creator's entry is kept while the app lives. */
	assert_int_equal(registry__app_by_pid(r, 100, &found), 0);
	assert_int_equal(found, a);
}

static void test_last_worker_frees_app(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a, w1;

	a = attach(r, "dns", 100);
	w1 = add_worker(r, a, 101);
	assert_int_equal(registry__worker_del(r, worker_of(r, a, 0)), 0);
	assert_non_null(registry__app(r, a));
	assert_int_equal(registry__worker_del(r, w1), 0);
	assert_null(registry__app(r, a));
	assert_null(registry__app_name(r, a));
	assert_int_equal(registry__app_by_name(r, "dns", NULL), -ENOENT);
	/* Its entries go too, the creator's included. */
	assert_int_equal(proc_entries(r, 100), 0);
	assert_int_equal(proc_entries(r, 101), 0);
	assert_int_equal(registry__app_by_pid(r, 100, NULL), -ENOENT);
}

static void test_last_process_detach_frees_app(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a;

	a = attach(r, "dns", 100);
	add_worker(r, a, 100);
	assert_int_equal(registry__detach_process(r, a, 100), 0);
	assert_null(registry__app(r, a));
	assert_int_equal(proc_entries(r, 100), 0);
}

static void test_operator_detach_frees_app(void **state)
{
	struct xsl_registry *r = *state;
	struct xsl_listener_key k;
	uint32_t a, w1, w2, b, wb;

	a = attach(r, "dns", 100);
	w1 = add_worker(r, a, 101);
	w2 = add_worker(r, a, 102);
	add_listener(r, a, 53);
	b = attach(r, "web", 200);
	wb = worker_of(r, b, 0);
	assert_int_equal(registry__detach_process(r, a, 0), 0);
	assert_null(registry__app(r, a));
	assert_null(registry__worker(r, worker_of(r, a, 0)));
	assert_null(registry__worker(r, w1));
	assert_null(registry__worker(r, w2));
	assert_int_equal(proc_entries(r, 100) + proc_entries(r, 101) + proc_entries(r, 102), 0);
	k = udp_key(53);
	assert_int_equal(registry__listener_find(r, &k, NULL), -ENOENT);
	/* Another app is untouched. */
	assert_non_null(registry__app(r, b));
	assert_non_null(registry__worker(r, wb));
	/* registry__detach_app is the same operator detach. */
	assert_int_equal(registry__detach_app(r, b), 0);
	assert_null(registry__app(r, b));
}

static void test_detach_unknown_process_fails(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a;

	a = attach(r, "dns", 100);
	add_worker(r, a, 101);
	assert_int_equal(registry__detach_process(r, a, 4242), -ENOENT);
	assert_string_equal(registry__error(r), "no workers for app dns pid 4242");
	assert_int_equal(registry__app(r, a)->n_workers, 2);
}

static void test_detach_unknown_app_fails(void **state)
{
	struct xsl_registry *r = *state;

	assert_int_equal(registry__detach_process(r, 7, 100), -ENOENT);
	assert_int_equal(registry__detach_process(r, 7, 0), -ENOENT);
	assert_int_equal(registry__worker_del(r, 12), -ENOENT);
}

static void test_worker_del_keeps_creator_entry(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a, found;

	a = attach(r, "dns", 100);
	add_worker(r, a, 101);
	assert_int_equal(registry__worker_del(r, worker_of(r, a, 0)), 0);
	assert_int_equal(proc_entries(r, 100), 1);
	assert_int_equal(registry__app_by_pid(r, 100, &found), 0);
	assert_int_equal(found, a);
}

static void test_worker_del_keeps_entry_of_process_with_other_worker(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a, w1;

	a = attach(r, "dns", 100);
	w1 = add_worker(r, a, 101);
	add_worker(r, a, 101);
	assert_int_equal(registry__worker_del(r, w1), 0);
	assert_int_equal(proc_entries(r, 101), 1);
	assert_int_equal(registry__app_by_pid(r, 101, NULL), 0);
}

static void test_worker_del_drops_entry_of_last_worker_of_process(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a, w1, b;

	a = attach(r, "dns", 100);
	w1 = add_worker(r, a, 101);
	assert_int_equal(registry__worker_del(r, w1), 0);
	assert_int_equal(proc_entries(r, 101), 0);
	/* The process is free to join another app now. */
	b = attach(r, "web", 0);
	add_worker(r, b, 101);
}

static void test_lookup_by_pid_ignores_freed_app(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a;

	a = attach(r, "dns", 100);
	add_worker(r, a, 101);
	assert_int_equal(registry__app_by_pid(r, 101, NULL), 0);
	assert_int_equal(registry__detach_app(r, a), 0);
	assert_int_equal(registry__app_by_pid(r, 100, NULL), -ENOENT);
	assert_int_equal(registry__app_by_pid(r, 101, NULL), -ENOENT);
	assert_int_equal(registry__app_by_pid(r, 0, NULL), -ENOENT);

	/* A stale entry pointing at a freed app is not returned either. */
	r->procs.slot[0] = (struct proc_entry){ .pid = 555, .pidfd = -1, .app = a,
						.worker = XSL_NO_WORKER };
	assert_int_equal(registry__app_by_pid(r, 555, NULL), -ENOENT);
}

static void test_reused_worker_index_has_new_generation(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a, w, gen, again;

	a = attach(r, "dns", 100);
	w = add_worker(r, a, 101);
	gen = registry__worker(r, w)->gen;
	assert_int_equal(registry__worker_del(r, w), 0);
	again = add_worker(r, a, 102);
	assert_int_equal(again, w);
	assert_int_equal(registry__worker(r, again)->gen, gen + 1);

	/* gen wraps past 0, never to it. */
	assert_int_equal(registry__worker_del(r, again), 0);
	r->workers[w].gen = UINT32_MAX;
	again = add_worker(r, a, 103);
	assert_int_equal(again, w);
	assert_int_equal(registry__worker(r, again)->gen, 1);
}

static void test_reused_app_index_has_new_generation(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a, gen, again;

	a = attach(r, "dns", 100);
	gen = registry__app(r, a)->gen;
	assert_int_equal(registry__detach_app(r, a), 0);
	again = attach(r, "web", 0);
	assert_int_equal(again, a);
	assert_int_equal(registry__app(r, again)->gen, gen + 1);
	assert_string_equal(registry__app_name(r, again), "web");
	assert_int_equal(registry__app(r, again)->n_workers, 0);
	assert_int_equal(registry__app(r, again)->creator_pid, 0);
}

static void test_reused_listener_index_has_new_generation(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a, l, gen;

	a = attach(r, "dns", 100);
	l = add_listener(r, a, 53);
	gen = registry__listener(r, l)->gen;
	assert_int_equal(registry__listener_del(r, l), 0);
	assert_int_equal(add_listener(r, a, 54), l);
	assert_int_equal(registry__listener(r, l)->gen, gen + 1);
}

/* ---- capacity and unknown names ---- */

static void test_capacity_gives_enospc(void **state)
{
	struct xsl_registry *r = *state;
	struct xsl_app_opts o = { .creator_pid = 1 };
	struct xsl_listener_key k;
	char name[16];
	uint32_t a0, a, l;

	/* Apps. */
	for (int i = 0; i < XSL_MAX_APPS; i++) {
		snprintf(name, sizeof(name), "app%d", i);
		assert_int_equal(registry__attach_app(r, name, NULL, &a), 0);
	}
	assert_int_equal(registry__attach_app(r, "onemore", NULL, NULL), -ENOSPC);
	assert_non_null(strstr(registry__error(r), "onemore"));

	/* Workers: one app takes them all. */
	a0 = 0;
	for (int i = 0; i < XSL_MAX_WORKERS; i++)
		assert_int_equal(registry__worker_add(r, a0, 1000 + i, 0, NULL), 0);
	assert_int_equal(registry__worker_add(r, a0, 99999, 0, NULL), -ENOSPC);
	assert_int_equal(registry__worker_add(r, 1, 99999, 0, NULL), -ENOSPC);
	assert_int_equal(registry__app(r, a0)->n_workers, XSL_MAX_WORKERS);
	assert_int_equal(registry__app_by_pid(r, 99999, NULL), -ENOENT);

	/* Attach with a creator needs a worker slot too: nothing is left behind. */
	assert_int_equal(registry__detach_app(r, 1), 0);
	assert_int_equal(registry__attach_app(r, "creator", &o, NULL), -ENOSPC);
	assert_int_equal(registry__app_by_name(r, "creator", NULL), -ENOENT);
	assert_int_equal(registry__app_by_pid(r, 1, NULL), -ENOENT);

	/* Listeners: several apps, each up to its quota, fill the table. */
	for (int i = 0; i < XSL_MAX_LISTENERS; i++)
		add_listener(r, 2 + i / XSL_MAX_APP_LISTENERS, 1000 + i);
	k = udp_key(9);
	assert_int_equal(registry__listener_add(r, a0, &k, &l), -ENOSPC);
	assert_int_equal(registry__listener_room(r, a0), -ENOSPC);
	assert_int_equal(registry__app(r, a0)->n_listeners, 0);
}

/* No app can take more than its quota of the listener table. */
static void test_listener_quota_per_app(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a = attach(r, "hog", 0), b = attach(r, "other", 0), l;
	struct xsl_listener_key k = udp_key(9);

	for (int i = 0; i < XSL_MAX_APP_LISTENERS; i++)
		add_listener(r, a, 1000 + i);
	assert_int_equal(registry__listener_room(r, a), -EDQUOT);
	assert_int_equal(registry__listener_add(r, a, &k, &l), -EDQUOT);
	assert_non_null(strstr(registry__error(r), "hog"));
	assert_non_null(strstr(registry__error(r), "quota"));
	assert_int_equal(registry__app(r, a)->n_listeners, XSL_MAX_APP_LISTENERS);
	/* the other app is not affected */
	assert_int_equal(registry__listener_room(r, b), 0);
	assert_int_equal(registry__listener_add(r, b, &k, &l), 0);
	/* a freed listener makes room again */
	k = udp_key(1000);
	assert_int_equal(registry__listener_find(r, &k, &l), 0);
	assert_int_equal(registry__listener_del(r, l), 0);
	assert_int_equal(registry__listener_room(r, a), 0);
	k = udp_key(10);
	assert_int_equal(registry__listener_add(r, a, &k, NULL), 0);
}

static void test_listener_quota_is_configurable(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a = attach(r, "small", 0);
	struct xsl_listener_key k = udp_key(3);

	r->max_app_listeners = 2;
	add_listener(r, a, 1);
	add_listener(r, a, 2);
	assert_int_equal(registry__listener_add(r, a, &k, NULL), -EDQUOT);
}

static unsigned int listener_hooks;

static void count_listener_hook(void *ctx, uint32_t listener)
{
	(void)ctx;
	(void)listener;
	listener_hooks++;
}

static struct xsl_listener_key v6_any_key(uint16_t port)
{
	struct xsl_listener_key k;

	memset(&k, 0, sizeof(k));
	k.family = XSL_AF_INET6;
	k.proto = IPPROTO_UDP;
	k.port = __builtin_bswap16(port);
	return k;
}

/* Only a [::] listener can be dual-stack; the flag goes with the listener. */
static void test_listener_dual_flag(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a = attach(r, "dual", 0), l4 = add_listener(r, a, 53), l6;
	struct xsl_listener_key k = v6_any_key(53);

	assert_int_equal(registry__listener_add(r, a, &k, &l6), 0);
	assert_int_equal(r->listeners[l6].flags, 0);
	r->hooks.listener_changed = count_listener_hook;
	listener_hooks = 0;
	assert_int_equal(registry__listener_set_flags(r, l4, XSL_LISTENER_F_DUAL), -EINVAL);
	assert_int_equal(registry__listener_set_flags(r, l6, 0x80), -EINVAL);
	assert_int_equal(listener_hooks, 0);
	assert_int_equal(registry__listener_set_flags(r, l6, XSL_LISTENER_F_DUAL), 0);
	assert_int_equal(registry__listener(r, l6)->flags, XSL_LISTENER_F_DUAL);
	assert_int_equal(listener_hooks, 1);
	/* unchanged: no hook */
	assert_int_equal(registry__listener_set_flags(r, l6, XSL_LISTENER_F_DUAL), 0);
	assert_int_equal(listener_hooks, 1);
	/* a freed listener's index comes back without the flag */
	assert_int_equal(registry__listener_del(r, l6), 0);
	assert_int_equal(registry__listener_add(r, a, &k, &l6), 0);
	assert_int_equal(registry__listener(r, l6)->flags, 0);
	assert_int_equal(registry__listener_set_flags(r, 999, 0), -ENOENT);
}

/* Restore keeps a [::] listener's dual flag, and drops it from other keys. */
static void test_restore_listener_keeps_dual_flag(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a = attach(r, "restored", 0);
	struct xsl_listener val = { .index = 3, .gen = 2, .app = a,
				    .app_gen = registry__app(r, a)->gen,
				    .flags = XSL_LISTENER_F_DUAL };
	struct xsl_listener_key k6 = v6_any_key(53), k4 = udp_key(53);
	struct xsl_table t;

	table__clear(&t);
	assert_int_equal(registry__restore_listener(r, &k6, &val, &t), 0);
	assert_int_equal(registry__listener(r, 3)->flags, XSL_LISTENER_F_DUAL);
	val.index = 4;
	assert_int_equal(registry__restore_listener(r, &k4, &val, &t), 0);
	assert_int_equal(registry__listener(r, 4)->flags, 0);
}

static void test_unknown_name_gives_enoent(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a = 1234;

	attach(r, "dns", 0);
	assert_int_equal(registry__app_by_name(r, "web", &a), -ENOENT);
	assert_int_equal(a, 1234);
	assert_int_equal(registry__app_by_pid(r, 77, NULL), -ENOENT);
	assert_int_equal(registry__app_by_cgroup(r, 77, NULL), -ENOENT);
	assert_null(registry__app(r, 5));
	assert_null(registry__app(r, XSL_MAX_APPS));
	assert_null(registry__worker(r, XSL_MAX_WORKERS));
	assert_null(registry__listener(r, XSL_MAX_LISTENERS));
}

/* ---- listeners ---- */

static void test_listener_add_and_find(void **state)
{
	struct xsl_registry *r = *state;
	struct xsl_listener_key k = udp_key(53);
	uint32_t a, l, found;

	a = attach(r, "dns", 100);
	l = add_listener(r, a, 53);
	assert_int_equal(registry__listener_find(r, &k, &found), 0);
	assert_int_equal(found, l);
	assert_int_equal(registry__listener(r, l)->app, a);
	assert_int_equal(registry__listener(r, l)->n_workers, 0);
	assert_int_equal(registry__app(r, a)->n_listeners, 1);
	assert_int_equal(table__load(&registry__listener(r, l)->table, XSL_NO_WORKER),
			 XSL_TABLE_SLOTS);
	assert_int_equal(registry__listener_del(r, l), 0);
	assert_int_equal(registry__listener_find(r, &k, NULL), -ENOENT);
	assert_int_equal(registry__app(r, a)->n_listeners, 0);
	assert_int_equal(registry__listener_del(r, l), -ENOENT);
}

static void test_listener_duplicate_fails(void **state)
{
	struct xsl_registry *r = *state;
	struct xsl_listener_key k = udp_key(53);
	uint32_t a, b;

	a = attach(r, "dns", 100);
	b = attach(r, "web", 200);
	add_listener(r, a, 53);
	assert_int_equal(registry__listener_add(r, a, &k, NULL), -EEXIST);
	assert_int_equal(registry__listener_add(r, b, &k, NULL), -EEXIST);
	assert_non_null(strstr(registry__error(r), "dns"));
	/* Another proto on the same port is another listener. */
	k.proto = IPPROTO_TCP;
	assert_int_equal(registry__listener_add(r, b, &k, NULL), 0);
}

static void test_listener_bad_key_fails(void **state)
{
	struct xsl_registry *r = *state;
	struct xsl_listener_key k = udp_key(53);
	uint32_t a;

	a = attach(r, "dns", 100);
	k.proto = IPPROTO_ICMP;
	assert_int_equal(registry__listener_add(r, a, &k, NULL), -EINVAL);
	k = udp_key(53);
	k.family = 0;
	assert_int_equal(registry__listener_add(r, a, &k, NULL), -EINVAL);
	assert_int_equal(registry__listener_add(r, a, NULL, NULL), -EINVAL);
	k = udp_key(53);
	assert_int_equal(registry__listener_add(r, 9, &k, NULL), -ENOENT);
}

static void test_listener_worker_must_belong_to_its_app(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a, b, l;

	a = attach(r, "dns", 100);
	b = attach(r, "web", 200);
	l = add_listener(r, a, 53);
	assert_int_equal(registry__listener_add_worker(r, l, worker_of(r, b, 0)), -EINVAL);
	assert_int_equal(registry__listener_add_worker(r, l, 4000), -ENOENT);
	assert_int_equal(registry__listener_add_worker(r, 99, worker_of(r, a, 0)), -ENOENT);
	assert_int_equal(registry__listener(r, l)->n_workers, 0);
}

static void test_listener_add_worker_fills_table(void **state)
{
	struct xsl_registry *r = *state;
	const struct reg_listener *ln;
	uint32_t a, l, w0, w1;

	a = attach(r, "dns", 100);
	w0 = worker_of(r, a, 0);
	w1 = add_worker(r, a, 101);
	l = add_listener(r, a, 53);
	ln = registry__listener(r, l);
	assert_int_equal(registry__listener_add_worker(r, l, w0), 0);
	assert_int_equal(table__load(&ln->table, w0), XSL_TABLE_SLOTS);
	assert_int_equal(registry__listener_add_worker(r, l, w0), -EEXIST);
	assert_int_equal(registry__listener_add_worker(r, l, w1), 0);
	assert_int_equal(ln->n_workers, 2);
	assert_int_equal(table__load(&ln->table, w1), XSL_TABLE_SLOTS / 2);
	assert_int_equal(table__load(&ln->table, w0), XSL_TABLE_SLOTS - XSL_TABLE_SLOTS / 2);
	assert_int_equal(registry__listener_del_worker(r, l, w0), 0);
	assert_int_equal(table__load(&ln->table, w1), XSL_TABLE_SLOTS);
	assert_int_equal(registry__listener_del_worker(r, l, w0), -ENOENT);
	assert_int_equal(ln->n_workers, 1);
}

static void test_listener_workers_follow_worker_delete(void **state)
{
	struct xsl_registry *r = *state;
	const struct reg_listener *ln1, *ln2;
	uint32_t a, l1, l2, w[4];

	a = attach(r, "dns", 100);
	w[0] = worker_of(r, a, 0);
	for (int i = 1; i < 4; i++)
		w[i] = add_worker(r, a, 100 + i);
	l1 = add_listener(r, a, 53);
	l2 = add_listener(r, a, 54);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(registry__listener_add_worker(r, l1, w[i]), 0);
		if (i % 2)
			assert_int_equal(registry__listener_add_worker(r, l2, w[i]), 0);
	}
	ln1 = registry__listener(r, l1);
	ln2 = registry__listener(r, l2);
	assert_int_equal(registry__detach_process(r, a, 101), 0);
	assert_int_equal(ln1->n_workers, 3);
	assert_int_equal(ln2->n_workers, 1);
	assert_int_equal(table__load(&ln1->table, w[1]), 0);
	assert_int_equal(table__load(&ln2->table, w[1]), 0);
	assert_int_equal(table__load(&ln2->table, w[3]), XSL_TABLE_SLOTS);
	assert_int_equal(table__load(&ln1->table, w[0]) + table__load(&ln1->table, w[2]) +
				 table__load(&ln1->table, w[3]),
			 XSL_TABLE_SLOTS);
	assert_int_equal(registry__worker_del(r, w[3]), 0);
	assert_int_equal(ln2->n_workers, 0);
	assert_int_equal(table__load(&ln2->table, XSL_NO_WORKER), XSL_TABLE_SLOTS);
	/* The listener stays while the app lives, with no worker. */
	assert_non_null(registry__listener(r, l2));
}

static void test_freeing_app_frees_listeners(void **state)
{
	struct xsl_registry *r = *state;
	struct xsl_listener_key k = udp_key(53);
	uint32_t a, b, l1, l2, lb;

	a = attach(r, "dns", 100);
	b = attach(r, "web", 200);
	l1 = add_listener(r, a, 53);
	l2 = add_listener(r, a, 54);
	lb = add_listener(r, b, 80);
	assert_int_equal(registry__listener_add_worker(r, l1, worker_of(r, a, 0)), 0);
	assert_int_equal(registry__worker_del(r, worker_of(r, a, 0)), 0);
	assert_null(registry__app(r, a));
	assert_null(registry__listener(r, l1));
	assert_null(registry__listener(r, l2));
	assert_int_equal(registry__listener_find(r, &k, NULL), -ENOENT);
	assert_non_null(registry__listener(r, lb));
	/* The key is free again, for any app. */
	assert_int_equal(registry__listener_add(r, b, &k, NULL), 0);
}

/* ---- hooks ---- */

enum ev_kind { EV_APP, EV_WORKER, EV_LISTENER };

struct ev {
	enum ev_kind kind;
	uint32_t index;
	bool live;
};

struct recorder {
	struct xsl_registry *r;
	struct ev ev[64];
	unsigned int n;
	unsigned int violations;
};

/*
 * What the data path may see at each hook: every table names only live
 * workers of a live app, and no live worker or listener refers to a freed
 * app.
 */
static void check_data_path_safe(struct recorder *rec)
{
	const struct xsl_registry *r = rec->r;

	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
		const struct reg_listener *ln = registry__listener(r, l);

		if (!ln)
			continue;
		if (!registry__app(r, ln->app))
			rec->violations++;
		for (unsigned int s = 0; s < XSL_TABLE_SLOTS; s++) {
			uint32_t w = ln->table.slot[s];

			if (w != XSL_NO_WORKER && !registry__worker(r, w))
				rec->violations++;
		}
	}
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		const struct reg_worker *wk = registry__worker(r, w);

		if (wk && !registry__app(r, wk->app))
			rec->violations++;
	}
}

static void record(struct recorder *rec, enum ev_kind kind, uint32_t index, bool live)
{
	check_data_path_safe(rec);
	if (rec->n < 64)
		rec->ev[rec->n++] = (struct ev){ kind, index, live };
}

static void on_app(void *ctx, uint32_t app)
{
	struct recorder *rec = ctx;

	record(rec, EV_APP, app, registry__app(rec->r, app));
}

static void on_worker(void *ctx, uint32_t worker)
{
	struct recorder *rec = ctx;

	record(rec, EV_WORKER, worker, registry__worker(rec->r, worker));
}

static void on_listener(void *ctx, uint32_t listener)
{
	struct recorder *rec = ctx;

	record(rec, EV_LISTENER, listener, registry__listener(rec->r, listener));
}

static void expect(struct recorder *rec, unsigned int i, enum ev_kind kind, uint32_t index,
		   bool live)
{
	assert_true(i < rec->n);
	assert_int_equal(rec->ev[i].kind, kind);
	assert_int_equal(rec->ev[i].index, index);
	assert_int_equal(rec->ev[i].live, live);
}

static void test_hooks_order_is_data_path_safe(void **state)
{
	struct xsl_registry *r = *state;
	struct recorder rec = { .r = r };
	uint32_t a, w0, w1, l;

	r->hooks = (struct xsl_registry_hooks){ .ctx = &rec, .app_changed = on_app,
						.worker_changed = on_worker,
						.listener_changed = on_listener };

	/* Attach: the app first, then its worker 0. */
	a = attach(r, "dns", 100);
	w0 = worker_of(r, a, 0);
	assert_int_equal(rec.n, 2);
	expect(&rec, 0, EV_APP, a, true);
	expect(&rec, 1, EV_WORKER, w0, true);

	/* A new worker is announced before a table names it. */
	rec.n = 0;
	w1 = add_worker(r, a, 101);
	l = add_listener(r, a, 53);
	assert_int_equal(registry__listener_add_worker(r, l, w0), 0);
	assert_int_equal(registry__listener_add_worker(r, l, w1), 0);
	assert_int_equal(rec.n, 4);
	expect(&rec, 0, EV_WORKER, w1, true);
	expect(&rec, 1, EV_LISTENER, l, true);
	expect(&rec, 2, EV_LISTENER, l, true);
	expect(&rec, 3, EV_LISTENER, l, true);

	/* Delete: the table drops the worker before the worker is freed. */
	rec.n = 0;
	assert_int_equal(registry__worker_del(r, w1), 0);
	assert_int_equal(rec.n, 2);
	expect(&rec, 0, EV_LISTENER, l, true);
	expect(&rec, 1, EV_WORKER, w1, false);

	/* Last worker: table, worker, then the listener freed, the app last. */
	rec.n = 0;
	assert_int_equal(registry__detach_process(r, a, 100), 0);
	assert_int_equal(rec.n, 4);
	expect(&rec, 0, EV_LISTENER, l, true);
	expect(&rec, 1, EV_WORKER, w0, false);
	expect(&rec, 2, EV_LISTENER, l, false);
	expect(&rec, 3, EV_APP, a, false);

	/* Operator detach of a serving app: listeners, workers, app. */
	a = attach(r, "web", 200);
	w0 = worker_of(r, a, 0);
	l = add_listener(r, a, 80);
	assert_int_equal(registry__listener_add_worker(r, l, w0), 0);
	rec.n = 0;
	assert_int_equal(registry__detach_app(r, a), 0);
	assert_int_equal(rec.n, 3);
	expect(&rec, 0, EV_LISTENER, l, false);
	expect(&rec, 1, EV_WORKER, w0, false);
	expect(&rec, 2, EV_APP, a, false);

	assert_int_equal(rec.violations, 0);
}

static void test_failed_call_changes_nothing_and_calls_no_hook(void **state)
{
	struct xsl_registry *r = *state;
	struct recorder rec = { .r = r };
	struct xsl_app_opts o = { .creator_pid = 100 };

	attach(r, "dns", 100);
	r->hooks = (struct xsl_registry_hooks){ .ctx = &rec, .app_changed = on_app,
						.worker_changed = on_worker,
						.listener_changed = on_listener };
	assert_int_equal(registry__attach_app(r, "web", &o, NULL), -EEXIST);
	assert_int_equal(registry__detach_process(r, 0, 5), -ENOENT);
	assert_int_equal(rec.n, 0);
	assert_null(registry__app(r, 1));
}

#define T(f) cmocka_unit_test_setup_teardown(f, reg_setup, reg_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_attach_app_returns_index_and_caches_name),
		T(test_attach_records_options),
		T(test_attach_duplicate_name_fails),
		T(test_attach_duplicate_cgroup_fails),
		T(test_attach_bad_name_fails),
		T(test_attach_with_creator_makes_worker_zero),
		T(test_attach_creator_of_other_app_fails),
		T(test_operator_attach_makes_no_worker),
		T(test_worker_add_records_process_and_entry),
		T(test_worker_add_to_operator_app_records_entry),
		T(test_worker_add_for_creator_keeps_single_entry),
		T(test_worker_add_same_process_twice_keeps_single_entry),
		T(test_worker_add_process_of_other_app_fails),
		T(test_worker_add_to_unknown_app_fails),
		T(test_map_index_reuses_lowest_free),
		T(test_worker_index_is_lowest_free),
		T(test_detach_process_keeps_other_workers),
		T(test_detach_process_removes_all_its_workers),
		T(test_detach_creator_keeps_app_with_other_workers),
		T(test_last_worker_frees_app),
		T(test_last_process_detach_frees_app),
		T(test_operator_detach_frees_app),
		T(test_detach_unknown_process_fails),
		T(test_detach_unknown_app_fails),
		T(test_worker_del_keeps_creator_entry),
		T(test_worker_del_keeps_entry_of_process_with_other_worker),
		T(test_worker_del_drops_entry_of_last_worker_of_process),
		T(test_lookup_by_pid_ignores_freed_app),
		T(test_reused_worker_index_has_new_generation),
		T(test_reused_app_index_has_new_generation),
		T(test_reused_listener_index_has_new_generation),
		T(test_capacity_gives_enospc),
		T(test_listener_quota_per_app),
		T(test_listener_quota_is_configurable),
		T(test_listener_dual_flag),
		T(test_restore_listener_keeps_dual_flag),
		T(test_unknown_name_gives_enoent),
		T(test_listener_add_and_find),
		T(test_listener_duplicate_fails),
		T(test_listener_bad_key_fails),
		T(test_listener_worker_must_belong_to_its_app),
		T(test_listener_add_worker_fills_table),
		T(test_listener_workers_follow_worker_delete),
		T(test_freeing_app_frees_listeners),
		T(test_hooks_order_is_data_path_safe),
		T(test_failed_call_changes_nothing_and_calls_no_hook),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
