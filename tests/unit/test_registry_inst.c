// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The instance rules of the registry (DESIGN.md "Instances", issue 12), one
 * test per rule: numbering from 1 and never reusing, the current instance,
 * the instance that takes new sessions (readiness: it serves every listener
 * of the one before it), draining/stopping marks, freeing an instance with
 * its last worker, held (operator-attached) apps, the limits, and the hooks;
 * and the data-path rule: a listener's slot table holds only the serving
 * workers of the instance taking new sessions.
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
#include "registry.h"
#include "fixture.h"

static uint32_t attach(struct xsl_registry *r, const char *name, uint32_t creator, uint8_t flags)
{
	struct xsl_app_opts o = { .creator_pid = creator, .flags = flags };

	return attach_opts(r, name, &o);
}

static uint32_t add_worker_to(struct xsl_registry *r, uint32_t app, uint16_t inst, uint32_t pid)
{
	uint32_t w = XSL_NO_WORKER;

	assert_int_equal(registry__worker_add_to(r, app, inst, pid, 1000 + pid, &w), 0);
	return w;
}

static uint16_t start(struct xsl_registry *r, uint32_t app)
{
	uint16_t i = 0;

	assert_int_equal(registry__instance_start(r, app, &i), 0);
	return i;
}

static uint16_t current(const struct xsl_registry *r, uint32_t app)
{
	uint16_t i = 0;

	assert_int_equal(registry__instance_current(r, app, &i), 0);
	return i;
}

static uint16_t taking(const struct xsl_registry *r, uint32_t app)
{
	uint16_t i = 0;

	assert_int_equal(registry__instance_taking(r, app, &i), 0);
	return i;
}

static int state_of(const struct xsl_registry *r, uint32_t app, uint16_t inst)
{
	enum xsl_inst_state s;

	assert_int_equal(registry__instance_state(r, app, inst, &s), 0);
	return s;
}

static uint16_t inst_of(const struct xsl_registry *r, uint32_t w)
{
	assert_non_null(registry__worker(r, w));
	return registry__worker(r, w)->instance;
}

/* ---- numbering and the current instance ---- */

static void test_attach_starts_instance_one(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a = attach(r, "dns", 100, 0), b = attach(r, "web", 0, 0);

	/* the creator's worker 0 and every later worker are in instance 1 */
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		if (registry__worker(r, w))
			assert_int_equal(inst_of(r, w), 1);
	}
	assert_int_equal(inst_of(r, add_worker(r, a, 101)), 1);
	assert_int_equal(current(r, a), 1);
	assert_int_equal(taking(r, a), 1);
	assert_int_equal(state_of(r, a, 1), XSL_INST_SERVING);
	assert_int_equal(registry__instance(r, a, 1)->n_workers, 2);
	assert_int_equal(registry__app(r, a)->last_instance, 1);
	/* an operator attach has instance 1 too, with no worker yet */
	assert_int_equal(current(r, b), 1);
	assert_int_equal(registry__instance(r, b, 1)->n_workers, 0);
	assert_null(registry__instance(r, b, 2));
	assert_null(registry__instance(r, b, 0));
}

static void test_worker_add_goes_to_current_instance(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a = attach(r, "dns", 100, 0), w;

	assert_int_equal(start(r, a), 2);
	assert_int_equal(current(r, a), 2);
	assert_int_equal(inst_of(r, add_worker(r, a, 200)), 2);
	/* a process forked in the old instance's cgroup joins it by number */
	w = add_worker_to(r, a, 1, 102);
	assert_int_equal(inst_of(r, w), 1);
	assert_int_equal(registry__instance(r, a, 1)->n_workers, 2);
	assert_int_equal(registry__instance(r, a, 2)->n_workers, 1);
	/* unknown instances are refused, naming the app and the instance */
	assert_int_equal(registry__worker_add_to(r, a, 3, 300, 0, NULL), -ENOENT);
	assert_non_null(strstr(registry__error(r), "no instance 3"));
	assert_int_equal(registry__worker_add_to(r, a, 0, 300, 0, NULL), -ENOENT);
	assert_int_equal(registry__instance_start(r, 77, NULL), -ENOENT);
}

static void test_instance_numbers_are_never_reused(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a = attach(r, "dns", 100, 0), w2;

	/* 2 never gets a worker: aborted, freed at once */
	assert_int_equal(start(r, a), 2);
	assert_int_equal(registry__instance_mark(r, a, 2, XSL_INST_STOPPING), 0);
	assert_null(registry__instance(r, a, 2));
	assert_int_equal(current(r, a), 1);
	assert_int_equal(start(r, a), 3);
	w2 = add_worker(r, a, 300);
	assert_int_equal(inst_of(r, w2), 3);
	/* 3 goes with its worker: the next one is 4, not 3 again */
	assert_int_equal(registry__worker_del(r, w2), 0);
	assert_null(registry__instance(r, a, 3));
	assert_int_equal(current(r, a), 1);
	assert_int_equal(start(r, a), 4);
}

/* ---- which instance takes new sessions ---- */

static void test_new_sessions_wait_for_every_listener(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a = attach(r, "dns", 100, 0);
	uint32_t l1 = add_udp_listener(r, a, 53), l2 = add_udp_listener(r, a, 853);
	uint32_t old = add_worker(r, a, 101), nw;

	serve(r, l1, old);
	serve(r, l2, old);
	assert_true(registry__instance_serves(r, a, 1, l1));
	assert_int_equal(start(r, a), 2);
	/* 2 is current (new processes go there) but takes nothing yet */
	assert_int_equal(current(r, a), 2);
	assert_int_equal(taking(r, a), 1);
	assert_int_equal(state_of(r, a, 2), XSL_INST_STARTING);
	nw = add_worker(r, a, 201);
	serve(r, l1, nw);
	assert_true(registry__instance_serves(r, a, 2, l1));
	assert_false(registry__instance_serves(r, a, 2, l2));
	assert_int_equal(taking(r, a), 1);
	assert_int_equal(state_of(r, a, 2), XSL_INST_STARTING);
	/* serving both: from now on the new one takes them; the old one is
	 * still serving until marked */
	serve(r, l2, nw);
	assert_int_equal(taking(r, a), 2);
	assert_int_equal(state_of(r, a, 2), XSL_INST_SERVING);
	assert_int_equal(state_of(r, a, 1), XSL_INST_SERVING);
	/* a third one serving nothing does not take them from 2 */
	assert_int_equal(start(r, a), 3);
	assert_int_equal(taking(r, a), 2);
	assert_int_equal(state_of(r, a, 3), XSL_INST_STARTING);
	/* the rule holds at every moment, from the oldest unmarked instance:
	 * 2 stops serving l2 (its socket closed) while 1 is not marked yet, so
	 * 1 serves more than 2 and takes them again */
	assert_int_equal(registry__listener_del_worker(r, l2, nw), 0);
	assert_int_equal(taking(r, a), 1);
	assert_int_equal(state_of(r, a, 2), XSL_INST_STARTING);
	/* with 1 draining, 2 takes them; 3 only once it serves what 2 serves */
	assert_int_equal(registry__instance_mark(r, a, 1, XSL_INST_DRAINING), 0);
	assert_int_equal(taking(r, a), 2);
	assert_int_equal(registry__listener_del_worker(r, l1, nw), 0);
	assert_int_equal(taking(r, a), 3);
	assert_false(registry__instance_serves(r, a, 3, l1));
	assert_false(registry__instance_serves(r, a, 9, l1));
}

static void test_instance_of_app_without_listeners_takes_at_once(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a = attach(r, "dns", 100, 0);

	assert_int_equal(start(r, a), 2);
	assert_int_equal(taking(r, a), 2);
}

/* ---- marks ---- */

static void test_marks_draining_then_stopping(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a = attach(r, "dns", 100, 0);
	uint32_t l = add_udp_listener(r, a, 53), nw;

	serve(r, l, add_worker(r, a, 101));
	start(r, a);
	nw = add_worker(r, a, 201);
	serve(r, l, nw);
	assert_int_equal(registry__instance_mark(r, a, 1, XSL_INST_DRAINING), 0);
	assert_int_equal(state_of(r, a, 1), XSL_INST_DRAINING);
	/* the same mark again is no change; a step back is refused */
	assert_int_equal(registry__instance_mark(r, a, 1, XSL_INST_DRAINING), 0);
	assert_int_equal(registry__instance_mark(r, a, 1, XSL_INST_STOPPING), 0);
	assert_int_equal(state_of(r, a, 1), XSL_INST_STOPPING);
	assert_int_equal(registry__instance_mark(r, a, 1, XSL_INST_DRAINING), -EINVAL);
	assert_non_null(strstr(registry__error(r), "instance 1 of app dns"));
	assert_int_equal(registry__instance_mark(r, a, 1, XSL_INST_SERVING), -EINVAL);
	assert_int_equal(registry__instance_mark(r, a, 5, XSL_INST_DRAINING), -ENOENT);
	assert_int_equal(registry__instance_mark(r, 77, 1, XSL_INST_DRAINING), -ENOENT);
	/* a marked instance keeps its workers (their sessions stay) */
	assert_int_equal(registry__instance(r, a, 1)->n_workers, 2);
	assert_int_equal(taking(r, a), 2);
	assert_int_equal(current(r, a), 2);
	/* and takes no new sessions even when it is the only one left */
	assert_int_equal(registry__instance_mark(r, a, 2, XSL_INST_DRAINING), 0);
	assert_int_equal(registry__instance_taking(r, a, NULL), -ENOENT);
	assert_int_equal(registry__instance_current(r, a, NULL), -ENOENT);
	/* a plain worker add then starts a new instance for it */
	assert_int_equal(inst_of(r, add_worker(r, a, 301)), 3);
	assert_int_equal(taking(r, a), 3);
}

static void test_aborted_new_instance_leaves_old_untouched(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a = attach(r, "dns", 100, 0);
	uint32_t l = add_udp_listener(r, a, 53), w = add_worker(r, a, 101), nw;
	struct xsl_table before;

	serve(r, l, w);
	before = registry__listener(r, l)->table;
	start(r, a);
	nw = add_worker(r, a, 201);
	/* it never binds: the agent stops it; its worker exits */
	assert_int_equal(registry__instance_mark(r, a, 2, XSL_INST_STOPPING), 0);
	assert_int_equal(taking(r, a), 1);
	assert_int_equal(current(r, a), 1);
	assert_int_equal(registry__worker_del(r, nw), 0);
	assert_null(registry__instance(r, a, 2));
	assert_int_equal(registry__listener(r, l)->n_workers, 1);
	assert_memory_equal(&registry__listener(r, l)->table, &before, sizeof(before));
	assert_int_equal(state_of(r, a, 1), XSL_INST_SERVING);
}

/* ---- freeing ---- */

static void test_instance_freed_with_its_last_worker(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a = attach(r, "dns", 0, 0);
	uint32_t w1 = add_worker(r, a, 101), w2 = add_worker(r, a, 102), w3;

	start(r, a);
	w3 = add_worker(r, a, 201);
	assert_int_equal(registry__worker_del(r, w1), 0);
	assert_non_null(registry__instance(r, a, 1));
	assert_int_equal(registry__detach_process(r, a, 102), 0);
	(void)w2;
	assert_null(registry__instance(r, a, 1));
	/* the app lives on in instance 2 */
	assert_non_null(registry__app(r, a));
	assert_int_equal(registry__app(r, a)->n_workers, 1);
	/* an app not held goes with its last instance, as with its last worker */
	assert_int_equal(registry__worker_del(r, w3), 0);
	assert_null(registry__app(r, a));
}

static void test_fresh_instance_keeps_app_when_old_workers_exit(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a = attach(r, "dns", 100, 0), w;

	start(r, a);
	/* the old instance's only process exits before the new one's starts */
	assert_int_equal(registry__detach_process(r, a, 100), 0);
	assert_non_null(registry__app(r, a));
	assert_null(registry__instance(r, a, 1));
	w = add_worker(r, a, 201);
	assert_int_equal(inst_of(r, w), 2);
	/* a fresh instance of an app not held that is stopped frees the app */
	start(r, a);
	assert_int_equal(registry__worker_del(r, w), 0);
	assert_non_null(registry__app(r, a));
	assert_int_equal(registry__instance_mark(r, a, 3, XSL_INST_STOPPING), 0);
	assert_null(registry__app(r, a));
}

static void test_held_app_stays_without_workers(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a = attach(r, "kresd", 0, XSL_APP_F_HELD), w;
	uint32_t l = add_udp_listener(r, a, 53);

	/* systemctl restart kresd@1: the only process goes, a new one comes */
	w = add_worker(r, a, 101);
	serve(r, l, w);
	assert_int_equal(registry__detach_process(r, a, 101), 0);
	assert_non_null(registry__app(r, a));
	assert_int_equal(registry__app(r, a)->n_workers, 0);
	assert_int_equal(registry__app(r, a)->n_listeners, 1);
	assert_null(registry__instance(r, a, 1));
	assert_int_equal(registry__instance_taking(r, a, NULL), -ENOENT);
	w = add_worker(r, a, 102);
	assert_int_equal(inst_of(r, w), 2);
	assert_int_equal(registry__app_by_pid(r, 102, NULL), 0);
	assert_int_equal(registry__worker_del(r, w), 0);
	assert_non_null(registry__app(r, a));
	/* held until the operator detaches */
	assert_int_equal(registry__detach_app(r, a), 0);
	assert_null(registry__app(r, a));
}

static void test_operator_attach_not_held_still_goes_with_last_worker(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a = attach(r, "dns", 0, 0), w = add_worker(r, a, 101);

	assert_int_equal(registry__worker_del(r, w), 0);
	assert_null(registry__app(r, a));
}

/* ---- limits ---- */

static void test_instance_limits(void **state)
{
	struct xsl_registry *r = *state;
	uint32_t a = attach(r, "dns", 100, 0), b;
	struct reg_app *ra;

	for (unsigned int i = 1; i < XSL_REG_MAX_INSTANCES; i++)
		start(r, a);
	assert_int_equal(registry__instance_start(r, a, NULL), -ENOSPC);
	assert_non_null(strstr(registry__error(r), "app dns"));
	assert_int_equal(registry__app(r, a)->last_instance, XSL_REG_MAX_INSTANCES);
	for (uint16_t i = 2; i <= XSL_REG_MAX_INSTANCES; i++)
		assert_int_equal(registry__instance_mark(r, a, i, XSL_INST_STOPPING), 0);
	/* instance 1 still lives: no number 256 or more above it */
	while (registry__app(r, a)->last_instance < 256) {
		uint16_t n = start(r, a);

		assert_int_equal(registry__instance_mark(r, a, n, XSL_INST_STOPPING), 0);
	}
	assert_int_equal(registry__instance_start(r, a, NULL), -EBUSY);
	assert_non_null(strstr(registry__error(r), "instance 1 still lives"));
	assert_int_equal(registry__app(r, a)->last_instance, 256);
	/* a worker add needing a new instance fails the same way, leaving nothing */
	assert_int_equal(registry__instance_mark(r, a, 1, XSL_INST_DRAINING), 0);
	assert_int_equal(registry__worker_add(r, a, 500, 0, NULL), -EBUSY);
	assert_int_equal(registry__app_by_pid(r, 500, NULL), -ENOENT);
	assert_int_equal(registry__app(r, a)->n_workers, 1);
	/* numbers end at 65535 */
	b = attach(r, "web", 0, XSL_APP_F_HELD);
	assert_int_equal(registry__instance_mark(r, b, 1, XSL_INST_STOPPING), 0);
	ra = &r->apps[b];
	ra->last_instance = XSL_REG_MAX_INSTANCE;
	assert_int_equal(registry__instance_start(r, b, NULL), -EOVERFLOW);
	assert_int_equal(registry__worker_add(r, b, 600, 0, NULL), -EOVERFLOW);
	assert_int_equal(registry__app_by_pid(r, 600, NULL), -ENOENT);
}

/* ---- slot tables: only the instance taking new sessions ---- */

#define S XSL_TABLE_SLOTS

static const struct xsl_table *table_of(const struct xsl_registry *r, uint32_t l)
{
	assert_non_null(registry__listener(r, l));
	return &registry__listener(r, l)->table;
}

/* Every slot names a worker of instance inst (none when inst is 0). */
static void table_is_instance(const struct xsl_registry *r, uint32_t l, uint16_t inst)
{
	const struct xsl_table *t = table_of(r, l);

	assert_int_equal(registry__listener(r, l)->table_inst, inst);
	assert_int_equal(registry__table_instance(r, l), inst);
	for (unsigned int s = 0; s < S; s++) {
		if (!inst) {
			assert_int_equal(t->slot[s], XSL_NO_WORKER);
			continue;
		}
		assert_int_not_equal(t->slot[s], XSL_NO_WORKER);
		assert_int_equal(inst_of(r, t->slot[s]), inst);
	}
}

/* The table as table__build makes it from these workers. */
static void table_is_built_from(const struct xsl_registry *r, uint32_t l, const uint32_t *w,
				unsigned int n)
{
	struct xsl_table_worker tw[8];
	struct xsl_table want;

	for (unsigned int i = 0; i < n; i++)
		tw[i] = (struct xsl_table_worker){ .index = w[i], .gen = r->workers[w[i]].gen };
	assert_int_equal(table__build(&want, tw, n), 0);
	assert_memory_equal(table_of(r, l), &want, sizeof(want));
}

static unsigned int moved(const struct xsl_table *a, const struct xsl_table *b)
{
	unsigned int n = 0;

	for (unsigned int s = 0; s < S; s++)
		n += a->slot[s] != b->slot[s];
	return n;
}

/* An app of two listeners served by instance 1's two workers. */
struct two {
	uint32_t a, l1, l2, old[2];
};

static void two_listeners(struct xsl_registry *r, struct two *o)
{
	o->a = attach(r, "dns", 0, 0);
	o->l1 = add_udp_listener(r, o->a, 53);
	o->l2 = add_udp_listener(r, o->a, 853);
	for (int i = 0; i < 2; i++) {
		o->old[i] = add_worker(r, o->a, 101 + i);
		serve(r, o->l1, o->old[i]);
		serve(r, o->l2, o->old[i]);
	}
	table_is_instance(r, o->l1, 1);
}

static void test_table_stays_old_while_new_instance_starts(void **state)
{
	struct xsl_registry *r = *state;
	struct xsl_table b1, b2;
	struct two o;
	uint32_t nw[2];

	two_listeners(r, &o);
	b1 = *table_of(r, o.l1);
	b2 = *table_of(r, o.l2);
	assert_int_equal(start(r, o.a), 2);
	nw[0] = add_worker(r, o.a, 201);
	nw[1] = add_worker(r, o.a, 202);
	/* the new workers serve l1 (their sockets are registered) but take
	 * no slot: l1 and l2 stay instance 1's, not one slot moved */
	serve(r, o.l1, nw[0]);
	serve(r, o.l1, nw[1]);
	assert_int_equal(taking(r, o.a), 1);
	assert_int_equal(registry__listener(r, o.l1)->n_workers, 4);
	assert_memory_equal(table_of(r, o.l1), &b1, sizeof(b1));
	assert_memory_equal(table_of(r, o.l2), &b2, sizeof(b2));
	table_is_instance(r, o.l1, 1);
	/* leaving again moves nothing either */
	assert_int_equal(registry__listener_del_worker(r, o.l1, nw[1]), 0);
	assert_int_equal(registry__worker_del(r, nw[1]), 0);
	assert_memory_equal(table_of(r, o.l1), &b1, sizeof(b1));
}

static void test_table_switches_when_new_instance_serves_every_listener(void **state)
{
	struct xsl_registry *r = *state;
	struct two o;
	uint32_t nw[2];

	two_listeners(r, &o);
	start(r, o.a);
	nw[0] = add_worker(r, o.a, 201);
	nw[1] = add_worker(r, o.a, 202);
	serve(r, o.l2, nw[0]);
	serve(r, o.l2, nw[1]);
	table_is_instance(r, o.l2, 1);
	/* the last listener the new instance lacked: both tables are built
	 * anew from the new instance's workers at once */
	serve(r, o.l1, nw[0]);
	assert_int_equal(taking(r, o.a), 2);
	table_is_instance(r, o.l1, 2);
	table_is_instance(r, o.l2, 2);
	table_is_built_from(r, o.l1, nw, 1);
	table_is_built_from(r, o.l2, nw, 2);
	/* the old workers still serve (their sessions stay with them) */
	assert_int_equal(registry__listener(r, o.l1)->n_workers, 3);
	assert_true(registry__instance_serves(r, o.a, 1, o.l1));
}

static void test_draining_worker_leaving_moves_no_slot(void **state)
{
	struct xsl_registry *r = *state;
	struct xsl_table b1, b2;
	struct two o;
	uint32_t nw[3], late;

	two_listeners(r, &o);
	start(r, o.a);
	for (int i = 0; i < 2; i++) {
		nw[i] = add_worker(r, o.a, 201 + i);
		serve(r, o.l1, nw[i]);
		serve(r, o.l2, nw[i]);
	}
	assert_int_equal(registry__instance_mark(r, o.a, 1, XSL_INST_DRAINING), 0);
	b1 = *table_of(r, o.l1);
	b2 = *table_of(r, o.l2);
	/* an old worker exits, another closes one socket, a late child of
	 * the old instance binds: no slot of the taking instance moves */
	assert_int_equal(registry__worker_del(r, o.old[0]), 0);
	assert_int_equal(registry__listener_del_worker(r, o.l2, o.old[1]), 0);
	late = add_worker_to(r, o.a, 1, 103);
	serve(r, o.l1, late);
	assert_memory_equal(table_of(r, o.l1), &b1, sizeof(b1));
	assert_memory_equal(table_of(r, o.l2), &b2, sizeof(b2));
	/* within the taking instance, moves stay minimal */
	nw[2] = add_worker(r, o.a, 203);
	serve(r, o.l1, nw[2]);
	assert_int_equal(moved(&b1, table_of(r, o.l1)), S / 3);
	assert_int_equal(table__load(table_of(r, o.l1), nw[2]), S / 3);
	b1 = *table_of(r, o.l1);
	assert_int_equal(registry__worker_del(r, nw[0]), 0);
	for (unsigned int s = 0; s < S; s++) {
		if (b1.slot[s] != nw[0])
			assert_int_equal(table_of(r, o.l1)->slot[s], b1.slot[s]);
	}
	table_is_instance(r, o.l1, 2);
	/* the old instance's last workers go: nothing moves */
	b1 = *table_of(r, o.l1);
	assert_int_equal(registry__worker_del(r, late), 0);
	assert_int_equal(registry__worker_del(r, o.old[1]), 0);
	assert_null(registry__instance(r, o.a, 1));
	assert_memory_equal(table_of(r, o.l1), &b1, sizeof(b1));
}

static void test_taking_falls_back_when_new_instance_stops_serving(void **state)
{
	struct xsl_registry *r = *state;
	struct two o;
	uint32_t nw[2];

	two_listeners(r, &o);
	start(r, o.a);
	for (int i = 0; i < 2; i++) {
		nw[i] = add_worker(r, o.a, 201 + i);
		serve(r, o.l1, nw[i]);
		serve(r, o.l2, nw[i]);
	}
	table_is_instance(r, o.l1, 2);
	/* the old one is not marked yet; the new one loses l2 */
	assert_int_equal(registry__listener_del_worker(r, o.l2, nw[0]), 0);
	table_is_instance(r, o.l2, 2);
	assert_int_equal(registry__listener_del_worker(r, o.l2, nw[1]), 0);
	assert_int_equal(taking(r, o.a), 1);
	table_is_instance(r, o.l1, 1);
	table_is_instance(r, o.l2, 1);
	/* built anew from the old workers */
	table_is_built_from(r, o.l1, o.old, 2);
	table_is_built_from(r, o.l2, o.old, 2);
	/* it serves l2 again, then its workers die: back to the old again */
	serve(r, o.l2, nw[0]);
	table_is_instance(r, o.l1, 2);
	assert_int_equal(registry__worker_del(r, nw[0]), 0);
	table_is_instance(r, o.l1, 1);
	assert_int_equal(registry__worker_del(r, nw[1]), 0);
	table_is_instance(r, o.l1, 1);
	table_is_built_from(r, o.l1, o.old, 2);
	/* with the old one draining, nothing takes them: empty tables */
	assert_int_equal(registry__instance_mark(r, o.a, 1, XSL_INST_DRAINING), 0);
	table_is_instance(r, o.l1, 0);
	assert_int_equal(registry__listener(r, o.l1)->n_workers, 2);
}

static void test_listener_only_a_new_instance_has(void **state)
{
	struct xsl_registry *r = *state;
	struct two o;
	uint32_t nw, l3;

	two_listeners(r, &o);
	start(r, o.a);
	nw = add_worker(r, o.a, 201);
	/* a port the new version adds: nobody else could take its flows */
	l3 = add_udp_listener(r, o.a, 5353);
	serve(r, l3, nw);
	assert_int_equal(taking(r, o.a), 1);
	table_is_instance(r, l3, 2);
	table_is_instance(r, o.l1, 1);
	/* and an old listener the new one never serves holds the switch back */
	serve(r, o.l1, nw);
	assert_int_equal(taking(r, o.a), 1);
	serve(r, o.l2, nw);
	assert_int_equal(taking(r, o.a), 2);
	table_is_instance(r, o.l2, 2);
	table_is_instance(r, l3, 2);
}

static void test_listener_removed_lets_new_instance_take(void **state)
{
	struct xsl_registry *r = *state;
	struct two o;
	uint32_t nw;

	two_listeners(r, &o);
	start(r, o.a);
	nw = add_worker(r, o.a, 201);
	serve(r, o.l1, nw);
	table_is_instance(r, o.l1, 1);
	/* l2 goes (the operator removes it): the new instance serves all */
	assert_int_equal(registry__listener_del(r, o.l2), 0);
	assert_int_equal(taking(r, o.a), 2);
	table_is_instance(r, o.l1, 2);
	table_is_built_from(r, o.l1, &nw, 1);
}

static void test_marking_taking_instance_hands_tables_back(void **state)
{
	struct xsl_registry *r = *state;
	struct two o;
	uint32_t nw;

	two_listeners(r, &o);
	start(r, o.a);
	nw = add_worker(r, o.a, 201);
	serve(r, o.l1, nw);
	serve(r, o.l2, nw);
	table_is_instance(r, o.l1, 2);
	/* an aborted or stopped new instance: the old one takes them again */
	assert_int_equal(registry__instance_mark(r, o.a, 2, XSL_INST_STOPPING), 0);
	table_is_instance(r, o.l1, 1);
	table_is_built_from(r, o.l1, o.old, 2);
	/* its worker still serves until it exits */
	assert_int_equal(registry__listener(r, o.l1)->n_workers, 3);
}

/* ---- hooks ---- */

struct rec {
	const struct xsl_registry *r;
	char ev[32][8];
	unsigned int n;
};

static void push(struct rec *x, char kind, uint32_t i, bool live)
{
	if (x->n < 32)
		snprintf(x->ev[x->n++], sizeof(x->ev[0]), "%c%u%s", kind, i, live ? "" : "-");
}

static void on_app(void *ctx, uint32_t i)
{
	struct rec *x = ctx;

	push(x, 'a', i, registry__app(x->r, i));
}

static void on_worker(void *ctx, uint32_t i)
{
	struct rec *x = ctx;

	push(x, 'w', i, registry__worker(x->r, i));
}

static void on_listener(void *ctx, uint32_t i)
{
	struct rec *x = ctx;

	push(x, 'l', i, registry__listener(x->r, i));
}

static void expect_events(struct rec *x, const char *const *want, unsigned int n)
{
	assert_int_equal(x->n, n);
	for (unsigned int i = 0; i < n; i++)
		assert_string_equal(x->ev[i], want[i]);
	x->n = 0;
}

/* A switch tells the agent each table that changed, the listener whose
 * worker made it first; the data path never sees a freed worker. */
static void test_table_switch_hooks(void **state)
{
	struct xsl_registry *r = *state;
	struct rec x = { .r = r };
	struct two o;
	uint32_t nw;
	char s[3][8];

	two_listeners(r, &o);
	start(r, o.a);
	nw = add_worker(r, o.a, 201);
	serve(r, o.l2, nw);
	r->hooks = (struct xsl_registry_hooks){ .ctx = &x, .app_changed = on_app,
						.worker_changed = on_worker,
						.listener_changed = on_listener };
	serve(r, o.l1, nw);
	snprintf(s[0], 8, "l%u", o.l1);
	snprintf(s[1], 8, "l%u", o.l2);
	expect_events(&x, (const char *const[]){ s[0], s[1] }, 2);
	/* the new worker exits: each table goes back before it is freed */
	assert_int_equal(registry__worker_del(r, nw), 0);
	snprintf(s[0], 8, "l%u", o.l1);
	snprintf(s[1], 8, "l%u", o.l2);
	snprintf(s[2], 8, "w%u-", nw);
	assert_true(x.n >= 3);
	assert_string_equal(x.ev[x.n - 2], s[2]);
	for (unsigned int i = 0; i < x.n - 2; i++)
		assert_true(!strcmp(x.ev[i], s[0]) || !strcmp(x.ev[i], s[1]));
	table_is_instance(r, o.l1, 1);
	table_is_instance(r, o.l2, 1);
}

static void test_instance_hooks(void **state)
{
	struct xsl_registry *r = *state;
	struct rec x = { .r = r };
	uint32_t a = attach(r, "dns", 0, 0), w1, w2, w3, l = add_udp_listener(r, a, 53);
	char s[4][8];

	w1 = add_worker(r, a, 101);
	serve(r, l, w1);
	r->hooks = (struct xsl_registry_hooks){ .ctx = &x, .app_changed = on_app,
						.worker_changed = on_worker,
						.listener_changed = on_listener };
	/* start: the app record changes (its last instance) */
	start(r, a);
	snprintf(s[0], 8, "a%u", a);
	expect_events(&x, (const char *const[]){ s[0] }, 1);
	/* the first worker of the fresh instance: the app record (which names
	 * the newest instance with no worker), then the worker */
	w2 = add_worker(r, a, 201);
	snprintf(s[0], 8, "a%u", a);
	snprintf(s[1], 8, "w%u", w2);
	expect_events(&x, (const char *const[]){ s[0], s[1] }, 2);
	/* a second one: the worker only */
	w3 = add_worker(r, a, 202);
	snprintf(s[0], 8, "w%u", w3);
	expect_events(&x, (const char *const[]){ s[0] }, 1);
	assert_int_equal(registry__worker_del(r, w3), 0);
	x.n = 0;
	/* worker delete freeing its instance: table, worker, then the app */
	assert_int_equal(registry__worker_del(r, w1), 0);
	snprintf(s[0], 8, "l%u", l);
	snprintf(s[1], 8, "w%u-", w1);
	snprintf(s[2], 8, "a%u", a);
	expect_events(&x, (const char *const[]){ s[0], s[1], s[2] }, 3);
	/* mark: the app record */
	assert_int_equal(registry__instance_mark(r, a, 2, XSL_INST_DRAINING), 0);
	snprintf(s[0], 8, "a%u", a);
	expect_events(&x, (const char *const[]){ s[0] }, 1);
	/* a plain worker add with no current instance: the app, then the worker */
	w1 = add_worker(r, a, 301);
	snprintf(s[0], 8, "a%u", a);
	snprintf(s[1], 8, "w%u", w1);
	expect_events(&x, (const char *const[]){ s[0], s[1] }, 2);
	/* failures call no hook */
	assert_int_equal(registry__instance_mark(r, a, 2, XSL_INST_SERVING), -EINVAL);
	assert_int_equal(registry__worker_add_to(r, a, 9, 401, 0, NULL), -ENOENT);
	assert_int_equal(x.n, 0);
}

#define T(t) cmocka_unit_test_setup_teardown(t, reg_setup, reg_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_attach_starts_instance_one),
		T(test_worker_add_goes_to_current_instance),
		T(test_instance_numbers_are_never_reused),
		T(test_new_sessions_wait_for_every_listener),
		T(test_instance_of_app_without_listeners_takes_at_once),
		T(test_marks_draining_then_stopping),
		T(test_aborted_new_instance_leaves_old_untouched),
		T(test_instance_freed_with_its_last_worker),
		T(test_fresh_instance_keeps_app_when_old_workers_exit),
		T(test_held_app_stays_without_workers),
		T(test_operator_attach_not_held_still_goes_with_last_worker),
		T(test_instance_limits),
		T(test_table_stays_old_while_new_instance_starts),
		T(test_table_switches_when_new_instance_serves_every_listener),
		T(test_draining_worker_leaving_moves_no_slot),
		T(test_taking_falls_back_when_new_instance_stops_serving),
		T(test_listener_only_a_new_instance_has),
		T(test_listener_removed_lets_new_instance_take),
		T(test_marking_taking_instance_hands_tables_back),
		T(test_table_switch_hooks),
		T(test_instance_hooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
