// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The pure parts of the instance lifecycle (user/instance.h): instance
 * cgroup names, the stop signals, the drain histogram and what a starting,
 * draining or stopping instance is due for.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <cmocka.h>
#include "instance.h"

#define APP "/sys/fs/cgroup/xsl/web"

static void test_instance_dir_names(void **state)
{
	(void)state;
	assert_int_equal(instance__dir_num("i1"), 1);
	assert_int_equal(instance__dir_num("i65535"), 65535);
	assert_int_equal(instance__dir_num("i0"), 0);
	assert_int_equal(instance__dir_num("i01"), 0);
	assert_int_equal(instance__dir_num("i65536"), 0);
	assert_int_equal(instance__dir_num("i"), 0);
	assert_int_equal(instance__dir_num("i1x"), 0);
	assert_int_equal(instance__dir_num("i+1"), 0);
	assert_int_equal(instance__dir_num("x1"), 0);
	assert_int_equal(instance__dir_num("kresd@1.service"), 0);
}

static void test_instance_of_cgroup(void **state)
{
	(void)state;
	assert_int_equal(instance__of_cgroup(APP "/i3", APP), 3);
	assert_int_equal(instance__of_cgroup(APP "/i3/deeper/still", APP), 3);
	/* the app's cgroup itself, another child: the current instance */
	assert_int_equal(instance__of_cgroup(APP, APP), 0);
	assert_int_equal(instance__of_cgroup(APP "/kresd@1.service", APP), 0);
	assert_int_equal(instance__of_cgroup(APP "/kresd@1.service/i2", APP), 0);
	/* a sibling app whose name starts like this one's */
	assert_int_equal(instance__of_cgroup(APP "2/i3", APP), 0);
	assert_int_equal(instance__of_cgroup("/sys/fs/cgroup/other/i3", APP), 0);
	assert_int_equal(instance__of_cgroup(APP "/i123456789", APP), 0);
	assert_int_equal(instance__of_cgroup(APP "/", APP), 0);
}

static void test_stop_signals(void **state)
{
	(void)state;
	assert_int_equal(instance__signal("TERM"), SIGTERM);
	assert_int_equal(instance__signal("SIGQUIT"), SIGQUIT);
	assert_int_equal(instance__signal("quit"), SIGQUIT);
	assert_int_equal(instance__signal("sigwinch"), SIGWINCH);
	assert_int_equal(instance__signal("9"), 9);
	assert_int_equal(instance__signal("64"), 64);
	assert_int_equal(instance__signal("65"), -EINVAL);
	assert_int_equal(instance__signal("0"), -EINVAL);
	assert_int_equal(instance__signal(""), -EINVAL);
	assert_int_equal(instance__signal("SIG"), -EINVAL);
	assert_int_equal(instance__signal("NOPE"), -EINVAL);
	assert_string_equal(instance__signal_name(SIGQUIT), "QUIT");
	assert_null(instance__signal_name(40));
}

static void test_default_opts(void **state)
{
	struct inst_replace_opts o;

	(void)state;
	instance__default_opts(&o);
	assert_int_equal(o.drain_s, 10);
	assert_int_equal(o.stop_timeout_s, 10);
	assert_int_equal(o.ready_timeout_s, 30);
	assert_int_equal(o.stop_signal, SIGTERM);
}

static void test_drain_histogram(void **state)
{
	struct drainhist h = { 0 };

	(void)state;
	drainhist__add(&h, 300000000ull);	/* 0.3 s: first bucket */
	drainhist__add(&h, 1000000000ull);	/* 1 s: the bound is in its bucket */
	drainhist__add(&h, 3000000000ull);	/* 3 s: (2, 5] */
	drainhist__add(&h, 3600000000000ull);	/* an hour: only +Inf */
	assert_int_equal(h.bucket[0], 1);
	assert_int_equal(h.bucket[1], 1);
	assert_int_equal(h.bucket[3], 1);
	assert_int_equal(h.count, 4);
	for (int i = 4; i < DRAINHIST_BUCKETS; i++)
		assert_int_equal(h.bucket[i], 0);
	assert_true(h.sum > 3604.29 && h.sum < 3604.31);
}

static void test_due_actions(void **state)
{
	(void)state;
	/* starting: aborted only once the ready timeout is over */
	assert_int_equal(instance__due(INST_P_STARTING, 100, 99, false), INST_ACT_NONE);
	assert_int_equal(instance__due(INST_P_STARTING, 100, 100, false), INST_ACT_ABORT);
	assert_int_equal(instance__due(INST_P_STARTING, 100, 50, true), INST_ACT_NONE);
	/* draining: stopped when its time is over or its sessions are gone */
	assert_int_equal(instance__due(INST_P_DRAINING, 100, 99, false), INST_ACT_NONE);
	assert_int_equal(instance__due(INST_P_DRAINING, 100, 99, true), INST_ACT_STOP);
	assert_int_equal(instance__due(INST_P_DRAINING, 100, 101, false), INST_ACT_STOP);
	/* stopping: killed at its deadline, sessions or not */
	assert_int_equal(instance__due(INST_P_STOPPING, 100, 99, true), INST_ACT_NONE);
	assert_int_equal(instance__due(INST_P_STOPPING, 100, 100, false), INST_ACT_KILL);
	/* nothing more for an idle, serving or killed instance */
	assert_int_equal(instance__due(INST_P_NONE, 0, 100, true), INST_ACT_NONE);
	assert_int_equal(instance__due(INST_P_KILLED, 0, 100, true), INST_ACT_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_instance_dir_names), cmocka_unit_test(test_instance_of_cgroup),
		cmocka_unit_test(test_stop_signals),	   cmocka_unit_test(test_default_opts),
		cmocka_unit_test(test_drain_histogram),	   cmocka_unit_test(test_due_actions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
