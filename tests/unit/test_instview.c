// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * An app's instances as show instances and the metrics present them
 * (user/instview.h): oldest first, each with its state, whether it takes
 * new sessions, its first pid (the earliest-started live worker process),
 * its workers and the sum of its workers' session counts.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "instview.h"
#include "registry.h"
#include "fixture.h"

static uint32_t attach(struct xsl_registry *r, const char *name, uint32_t creator,
		       uint64_t start)
{
	struct xsl_app_opts o = { .creator_pid = creator, .creator_start_time_ns = start };

	return attach_opts(r, name, &o);
}

/* A worker of app for process pid started at start. */
static uint32_t add(struct xsl_registry *r, uint32_t app, uint32_t pid, uint64_t start)
{
	uint32_t w = XSL_NO_WORKER;

	assert_int_equal(registry__worker_add(r, app, pid, start, &w), 0);
	return w;
}

/* Sessions per worker index, as the GC's counts would give them. */
static uint64_t sessions_of[XSL_MAX_WORKERS];

static uint64_t count(const void *ctx, uint32_t w)
{
	assert_ptr_equal(ctx, sessions_of);
	return sessions_of[w];
}

/* One instance: the creator (worker 0) and its forks. */
static void test_one_instance_sums_its_workers(void **state)
{
	struct xsl_registry *r = *state;
	struct inst_view v[XSL_REG_MAX_INSTANCES];
	uint32_t app = attach(r, "web", 100, 5000), w1, w2;

	memset(sessions_of, 0, sizeof(sessions_of));
	w1 = add(r, app, 101, 6000);
	w2 = add(r, app, 102, 7000);
	sessions_of[0] = 3;
	sessions_of[w1] = 4;
	sessions_of[w2] = 5;
	sessions_of[w2 + 1] = 1000;	/* no worker there: not counted */
	assert_int_equal(instview__list(r, app, count, sessions_of, v), 1);
	assert_int_equal(v[0].num, 1);
	assert_int_equal(v[0].state, XSL_INST_SERVING);
	assert_true(v[0].taking);
	assert_int_equal(v[0].first_pid, 100);
	assert_int_equal(v[0].first_start_ns, 5000);
	assert_int_equal(v[0].workers, 3);
	assert_int_equal(v[0].sessions, 12);
	/* without a count: sessions 0, the rest the same */
	assert_int_equal(instview__list(r, app, NULL, NULL, v), 1);
	assert_int_equal(v[0].sessions, 0);
	assert_int_equal(v[0].workers, 3);
}

/* The first pid is the earliest-started process, not the first worker
 * index; equal start times: the lower pid; a worker without a process or
 * without a known start time comes last; with the first one gone, the
 * oldest survivor. */
static void test_first_pid_is_earliest_started(void **state)
{
	struct xsl_registry *r = *state;
	struct inst_view v[XSL_REG_MAX_INSTANCES];
	uint32_t app = attach(r, "dns", 0, 0), w_old, w_tie;

	add(r, app, 0, 0);			/* no process */
	add(r, app, 300, 0);			/* start unknown */
	add(r, app, 200, 9000);
	w_old = add(r, app, 250, 8000);
	w_tie = add(r, app, 240, 8000);
	assert_int_equal(instview__list(r, app, NULL, NULL, v), 1);
	assert_int_equal(v[0].first_pid, 240);
	assert_int_equal(v[0].first_start_ns, 8000);
	assert_int_equal(v[0].workers, 5);
	assert_int_equal(registry__worker_del(r, w_tie), 0);
	assert_int_equal(instview__list(r, app, NULL, NULL, v), 1);
	assert_int_equal(v[0].first_pid, 250);
	assert_int_equal(registry__worker_del(r, w_old), 0);
	assert_int_equal(instview__list(r, app, NULL, NULL, v), 1);
	assert_int_equal(v[0].first_pid, 200);
}

/* An operator-attached app has instance 1 with no worker: no first pid. */
static void test_instance_without_workers(void **state)
{
	struct xsl_registry *r = *state;
	struct inst_view v[XSL_REG_MAX_INSTANCES];
	uint32_t app = attach(r, "idle", 0, 0);

	assert_int_equal(instview__list(r, app, count, sessions_of, v), 1);
	assert_int_equal(v[0].num, 1);
	assert_int_equal(v[0].first_pid, 0);
	assert_int_equal(v[0].first_start_ns, 0);
	assert_int_equal(v[0].workers, 0);
	assert_int_equal(v[0].sessions, 0);
}

/*
 * A restart: instance 2 starts (starting: it serves no listener yet, 1
 * keeps taking new sessions), then serves the listener and takes them, 1
 * is marked draining, then stopping. Oldest first, each worker counted in
 * its own instance.
 */
static void test_restart_states_oldest_first(void **state)
{
	struct xsl_registry *r = *state;
	struct inst_view v[XSL_REG_MAX_INSTANCES];
	uint32_t app = attach(r, "sip", 10, 100), l = add_udp_listener(r, app, 5060), w_new;
	uint16_t num;

	memset(sessions_of, 0, sizeof(sessions_of));
	assert_int_equal(registry__listener_add_worker(r, l, 0), 0);
	sessions_of[0] = 7;
	assert_int_equal(registry__instance_start(r, app, &num), 0);
	assert_int_equal(num, 2);
	w_new = add(r, app, 20, 200);
	sessions_of[w_new] = 2;
	assert_int_equal(instview__list(r, app, count, sessions_of, v), 2);
	assert_int_equal(v[0].num, 1);
	assert_int_equal(v[0].state, XSL_INST_SERVING);
	assert_true(v[0].taking);
	assert_int_equal(v[0].first_pid, 10);
	assert_int_equal(v[0].sessions, 7);
	assert_int_equal(v[1].num, 2);
	assert_int_equal(v[1].state, XSL_INST_STARTING);
	assert_false(v[1].taking);
	assert_int_equal(v[1].first_pid, 20);
	assert_int_equal(v[1].workers, 1);
	assert_int_equal(v[1].sessions, 2);

	assert_int_equal(registry__listener_add_worker(r, l, w_new), 0);
	assert_int_equal(instview__list(r, app, count, sessions_of, v), 2);
	assert_int_equal(v[0].state, XSL_INST_SERVING);
	assert_false(v[0].taking);
	assert_int_equal(v[1].state, XSL_INST_SERVING);
	assert_true(v[1].taking);

	assert_int_equal(registry__instance_mark(r, app, 1, XSL_INST_DRAINING), 0);
	assert_int_equal(instview__list(r, app, count, sessions_of, v), 2);
	assert_int_equal(v[0].state, XSL_INST_DRAINING);
	assert_int_equal(v[0].sessions, 7);
	assert_int_equal(registry__instance_mark(r, app, 1, XSL_INST_STOPPING), 0);
	assert_int_equal(instview__list(r, app, count, sessions_of, v), 2);
	assert_int_equal(v[0].state, XSL_INST_STOPPING);
	assert_string_equal(instview__state_name(v[0].state), "stopping");

	/* its last worker gone, instance 1 is freed: only 2 is left */
	assert_int_equal(registry__worker_del(r, 0), 0);
	assert_int_equal(instview__list(r, app, count, sessions_of, v), 1);
	assert_int_equal(v[0].num, 2);
	assert_int_equal(v[0].sessions, 2);
}

/* Slots are reused by newer instances: the list is still by number. */
static void test_order_is_by_number_not_slot(void **state)
{
	struct xsl_registry *r = *state;
	struct inst_view v[XSL_REG_MAX_INSTANCES];
	uint32_t app = attach(r, "q", 1, 1);
	uint16_t num;

	assert_int_equal(registry__instance_start(r, app, &num), 0);
	add(r, app, 2, 2);
	assert_int_equal(registry__instance_start(r, app, &num), 0);
	add(r, app, 3, 3);
	/* instance 1 (slot 0) goes; 4 takes its slot */
	assert_int_equal(registry__worker_del(r, 0), 0);
	assert_int_equal(registry__instance_start(r, app, &num), 0);
	assert_int_equal(num, 4);
	add(r, app, 4, 4);
	assert_int_equal(instview__list(r, app, NULL, NULL, v), 3);
	assert_int_equal(v[0].num, 2);
	assert_int_equal(v[0].first_pid, 2);
	assert_int_equal(v[1].num, 3);
	assert_int_equal(v[1].first_pid, 3);
	assert_int_equal(v[2].num, 4);
	assert_int_equal(v[2].first_pid, 4);
	assert_int_equal(v[2].slot, 0);
}

static void test_no_such_app(void **state)
{
	struct xsl_registry *r = *state;
	struct inst_view v[XSL_REG_MAX_INSTANCES];
	uint32_t app = attach(r, "gone", 5, 5);

	assert_int_equal(registry__detach_app(r, app), 0);
	assert_int_equal(instview__list(r, app, NULL, NULL, v), -ENOENT);
	assert_int_equal(instview__list(r, XSL_MAX_APPS, NULL, NULL, v), -ENOENT);
	assert_string_equal(instview__state_name(XSL_INST_STARTING), "starting");
	assert_string_equal(instview__state_name(XSL_INST_SERVING), "serving");
	assert_string_equal(instview__state_name(XSL_INST_DRAINING), "draining");
	assert_string_equal(instview__state_name(99), "unknown");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, reg_setup, reg_teardown)
	const struct CMUnitTest tests[] = {
		T(test_one_instance_sums_its_workers),
		T(test_first_pid_is_earliest_started),
		T(test_instance_without_workers),
		T(test_restart_states_oldest_first),
		T(test_order_is_by_number_not_slot),
		T(test_no_such_app),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
