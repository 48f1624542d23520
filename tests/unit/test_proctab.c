// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The process table (user/proctab.h) and the registry's use of it: one entry
 * per pid, a process named by pid + start time (+ pidfs inode), the one
 * "worker of pid" lookup by app handle, pidfds released with their entry
 * whoever removes it, tick truncation matching /proc, the leave list keyed by
 * pid + start, and kernel events resolved by app handle (an event for a freed
 * app never lands on the app that reused its index).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "proctab.h"
#include "registry.h"
#include "fixture.h"

struct released {
	unsigned int n;
	int fds[8];
	uint32_t pids[8];
};

static void on_release(void *ctx, struct proc_entry *e)
{
	struct released *r = ctx;

	if (r->n < 8) {
		r->fds[r->n] = e->pidfd;
		r->pids[r->n] = e->pid;
	}
	r->n++;
}

static struct proctab *tab_new(struct released *rel)
{
	struct proctab *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->release = on_release;
	t->ctx = rel;
	return t;
}

static void test_insert_find_remove(void **state)
{
	struct released rel = { 0 };
	struct proctab *t = tab_new(&rel);
	struct proc_entry *e, *f;

	(void)state;
	assert_null(proctab__find(t, 100));
	assert_int_equal(proctab__insert(t, 100, 5000, 3, 7, &e), 0);
	assert_int_equal(e->pid, 100);
	assert_int_equal(e->pidfd, -1);
	assert_int_equal(e->start_ns, 5000);
	assert_int_equal(e->app, 3);
	assert_int_equal(e->app_gen, 7);
	assert_int_equal(e->worker, XSL_NO_WORKER);
	assert_ptr_equal(proctab__find(t, 100), e);
	/* one entry per pid; pid 0 is nobody */
	assert_int_equal(proctab__insert(t, 100, 6000, 4, 1, NULL), -EEXIST);
	assert_int_equal(proctab__insert(t, 0, 1, 4, 1, NULL), -EINVAL);
	assert_null(proctab__find(t, 0));
	assert_int_equal(proctab__insert(t, 101, 0, 3, 7, &f), 0);
	assert_ptr_equal(proctab__at(t, proctab__index(t, f)), f);
	proctab__remove(t, e);
	assert_null(proctab__find(t, 100));
	assert_null(proctab__at(t, proctab__index(t, e)));
	assert_null(proctab__at(t, XSL_REG_MAX_PROCS));
	/* no pidfd held: nothing to release */
	assert_int_equal(rel.n, 0);
	free(t);
}

static void test_full_table(void **state)
{
	struct released rel = { 0 };
	struct proctab *t = tab_new(&rel);

	(void)state;
	for (uint32_t i = 0; i < XSL_REG_MAX_PROCS; i++) {
		assert_false(proctab__full(t));
		assert_int_equal(proctab__insert(t, 1000 + i, 1, 0, 1, NULL), 0);
	}
	assert_true(proctab__full(t));
	assert_int_equal(proctab__insert(t, 99, 1, 0, 1, NULL), -ENOSPC);
	proctab__remove(t, proctab__find(t, 1500));
	assert_int_equal(proctab__insert(t, 99, 1, 0, 1, NULL), 0);
	free(t);
}

static void test_process_is_pid_and_start(void **state)
{
	struct released rel = { 0 };
	struct proctab *t = tab_new(&rel);
	struct proc_entry *e;

	(void)state;
	assert_int_equal(proctab__insert(t, 200, 7000, 1, 1, &e), 0);
	assert_true(proctab__is(e, 200, 7000, 0));
	/* same pid, another start: a recycled pid is another process */
	assert_false(proctab__is(e, 200, 8000, 0));
	assert_null(proctab__find_proc(t, 200, 8000, 0));
	assert_ptr_equal(proctab__find_proc(t, 200, 7000, 0), e);
	assert_false(proctab__is(e, 201, 7000, 0));
	/* 0 means unknown and is not compared */
	assert_true(proctab__is(e, 200, 0, 0));
	/* same tick, another pidfs inode: another process */
	e->ino = 42;
	assert_true(proctab__is(e, 200, 7000, 42));
	assert_false(proctab__is(e, 200, 7000, 43));
	assert_true(proctab__is(e, 200, 7000, 0));
	assert_false(proctab__is(NULL, 200, 7000, 0));
	free(t);
}

static void test_remove_releases_pidfd(void **state)
{
	struct released rel = { 0 };
	struct proctab *t = tab_new(&rel);
	struct proc_entry *e;

	(void)state;
	assert_int_equal(proctab__insert(t, 300, 1, 0, 1, &e), 0);
	e->pidfd = 17;
	proctab__remove(t, e);
	assert_int_equal(rel.n, 1);
	assert_int_equal(rel.fds[0], 17);
	assert_int_equal(rel.pids[0], 300);
	assert_int_equal(e->pid, 0);
	assert_int_equal(e->pidfd, -1);
	proctab__remove(t, e);
	assert_int_equal(rel.n, 1);
	free(t);
}

static void test_worker_of_checks_app_handle(void **state)
{
	struct released rel = { 0 };
	struct proctab *t = tab_new(&rel);
	struct proc_entry *e;
	uint32_t w = 0;

	(void)state;
	assert_int_equal(proctab__insert(t, 400, 1, 2, 5, &e), 0);
	/* no worker yet */
	assert_int_equal(proctab__worker_of(t, 400, 2, 5, &w), -ENOENT);
	e->worker = 9;
	assert_int_equal(proctab__worker_of(t, 400, 2, 5, &w), 0);
	assert_int_equal(w, 9);
	assert_int_equal(proctab__worker_of(t, 400, 2, 5, NULL), 0);
	/* another app, or an app that took index 2 since (another gen) */
	assert_int_equal(proctab__worker_of(t, 400, 3, 5, &w), -ENOENT);
	assert_int_equal(proctab__worker_of(t, 400, 2, 6, &w), -ENOENT);
	assert_int_equal(proctab__worker_of(t, 401, 2, 5, &w), -ENOENT);
	free(t);
}

static void test_tick_ns_matches_proc(void **state)
{
	(void)state;
	/* /proc/PID/stat: start_boottime / (1e9 / USER_HZ) ticks, times 1e9/hz */
	assert_int_equal(proctab__tick_ns(1234567890123ull, 100), 1234560000000ull);
	assert_int_equal(proctab__tick_ns(9999999ull, 100), 0);
	assert_int_equal(proctab__tick_ns(10000000ull, 100), 10000000ull);
	assert_int_equal(proctab__tick_ns(1234567890123ull, 1000), 1234567000000ull);
	assert_int_equal(proctab__tick_ns(77, 0), 77);
}

static void test_leave_list_keyed_by_pid_and_start(void **state)
{
	struct proc_id left[3] = { { 10, 1000 }, { 11, 2000 }, { 12, 0 } };

	(void)state;
	assert_int_equal(proc_ids__find(left, 3, (struct proc_id){ 10, 1000 }), 0);
	assert_int_equal(proc_ids__find(left, 3, (struct proc_id){ 11, 2000 }), 1);
	/* the same pid started later is not the process that left */
	assert_int_equal(proc_ids__find(left, 3, (struct proc_id){ 10, 1010 }), -1);
	assert_int_equal(proc_ids__find(left, 3, (struct proc_id){ 12, 0 }), 2);
	assert_int_equal(proc_ids__find(left, 3, (struct proc_id){ 12, 5 }), -1);
	assert_int_equal(proc_ids__find(left, 0, (struct proc_id){ 10, 1000 }), -1);
}

/* ---- the registry keeps its process -> app entries in the table ---- */

static uint32_t attach(struct xsl_registry *r, const char *name, uint64_t cgroup_id)
{
	struct xsl_app_opts o = { .cgroup_id = cgroup_id };

	return attach_opts(r, name, &o);
}

static void test_registry_entries_follow_workers(void **state)
{
	struct released rel = { 0 };
	struct xsl_registry *r = registry__new();
	struct proc_entry *e;
	uint32_t a, b, w1, w2, w;

	(void)state;
	assert_non_null(r);
	r->procs.release = on_release;
	r->procs.ctx = &rel;
	a = attach(r, "a", 100);
	b = attach(r, "b", 200);
	assert_int_equal(registry__worker_add(r, a, 500, 7000, &w1), 0);
	e = proctab__find(&r->procs, 500);
	assert_non_null(e);
	assert_int_equal(e->app, a);
	assert_int_equal(e->app_gen, r->apps[a].gen);
	assert_int_equal(e->start_ns, 7000);
	assert_int_equal(e->worker, w1);
	assert_int_equal(proctab__worker_of(&r->procs, 500, a, r->apps[a].gen, &w), 0);
	assert_int_equal(w, w1);
	/* a pid of app a is no worker of b */
	assert_int_equal(registry__worker_add(r, b, 500, 7000, NULL), -EEXIST);
	assert_int_equal(proctab__worker_of(&r->procs, 500, b, r->apps[b].gen, &w), -ENOENT);
	/* a second worker of the same process: the entry names the other once
	 * the first goes */
	assert_int_equal(registry__worker_add(r, a, 500, 7000, &w2), 0);
	assert_int_equal(registry__worker_add(r, a, 501, 7100, NULL), 0);
	e->pidfd = 33;
	assert_int_equal(registry__worker_del(r, w1), 0);
	assert_int_equal(e->worker, w2);
	assert_int_equal(rel.n, 0);
	/* the last worker of the process: its entry and pidfd go */
	assert_int_equal(registry__worker_del(r, w2), 0);
	assert_null(proctab__find(&r->procs, 500));
	assert_int_equal(rel.n, 1);
	assert_int_equal(rel.fds[0], 33);
	/* an app freed takes its entries (and their pidfds) along */
	proctab__find(&r->procs, 501)->pidfd = 34;
	assert_int_equal(registry__detach_app(r, a), 0);
	assert_null(proctab__find(&r->procs, 501));
	assert_int_equal(rel.n, 2);
	assert_int_equal(rel.fds[1], 34);
	registry__free(r);
}

static void test_event_for_freed_app_never_lands_on_reused_index(void **state)
{
	struct xsl_registry *r = registry__new();
	uint32_t a, b, gen_a, app = 99;

	(void)state;
	assert_non_null(r);
	a = attach(r, "a", 100);
	gen_a = r->apps[a].gen;
	assert_int_equal(registry__app_of_event(r, 100, a, gen_a, &app), 0);
	assert_int_equal(app, a);
	/* app a is freed and b takes its index (another cgroup) */
	assert_int_equal(registry__detach_app(r, a), 0);
	b = attach(r, "b", 200);
	assert_int_equal(b, a);
	/* an event queued for a: cgroup 100, index a, a's gen */
	app = 99;
	assert_int_equal(registry__app_of_event(r, 100, a, gen_a, &app), -ENOENT);
	assert_int_equal(app, 99);
	/* even naming b's cgroup, a's gen is not b's */
	assert_int_equal(registry__app_of_event(r, 200, a, gen_a, &app), -ENOENT);
	/* b's own events land on b; socket events (gen 0) go by cgroup */
	assert_int_equal(registry__app_of_event(r, 200, b, r->apps[b].gen, &app), 0);
	assert_int_equal(app, b);
	assert_int_equal(registry__app_of_event(r, 200, XSL_NO_APP, 0, &app), 0);
	assert_int_equal(registry__app_of_event(r, 100, XSL_NO_APP, 0, &app), -ENOENT);
	/* b freed, c attached on b's very cgroup: b's events are not c's */
	assert_int_equal(registry__detach_app(r, b), 0);
	assert_int_equal(attach(r, "c", 200), a);
	assert_int_equal(registry__app_of_event(r, 200, a, gen_a + 1, &app), -ENOENT);
	assert_int_equal(registry__app_of_event(r, 200, a, r->apps[a].gen, &app), 0);
	registry__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_find_remove),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_process_is_pid_and_start),
		cmocka_unit_test(test_remove_releases_pidfd),
		cmocka_unit_test(test_worker_of_checks_app_handle),
		cmocka_unit_test(test_tick_ns_matches_proc),
		cmocka_unit_test(test_leave_list_keyed_by_pid_and_start),
		cmocka_unit_test(test_registry_entries_follow_workers),
		cmocka_unit_test(test_event_for_freed_app_never_lands_on_reused_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
