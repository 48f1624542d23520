// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* sched_opt: the agent's --sched values, good and bad. */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <cmocka.h>
#include "sched_opt.h"

static void test_policies_parse_with_their_priority(void **state)
{
	struct sched_opt o;
	char why[96];

	(void)state;
	assert_int_equal(sched_opt__parse("other", &o, why, sizeof(why)), 0);
	assert_int_equal(o.policy, SCHED_OTHER);
	assert_int_equal(o.prio, 0);
	assert_int_equal(sched_opt__parse("fifo:10", &o, why, sizeof(why)), 0);
	assert_int_equal(o.policy, SCHED_FIFO);
	assert_int_equal(o.prio, 10);
	assert_int_equal(sched_opt__parse("rr:1", &o, why, sizeof(why)), 0);
	assert_int_equal(o.policy, SCHED_RR);
	assert_int_equal(o.prio, 1);
	assert_int_equal(sched_opt__parse("fifo:99", &o, why, sizeof(why)), 0);
	assert_int_equal(o.prio, 99);
}

static void test_bad_values_are_refused_with_a_reason(void **state)
{
	static const char *const bad[] = {
		"", "fifo", "fifo:", "fifo:0", "fifo:100", "fifo:-1", "fifo:+5", "fifo:10x",
		"fifo:10:1", "rr", "rr:abc", "other:5", "other:", "FIFO:10", "batch", "idle",
		"fif:10", "fifoo:10", ":10", "deadline:1",
	};
	struct sched_opt o;
	char why[96];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (sched_opt__parse(bad[i], &o, why, sizeof(why)) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_true(strlen(why) > 0);
	}
}

static void test_the_reason_names_the_range(void **state)
{
	struct sched_opt o;
	char why[96];

	(void)state;
	assert_int_equal(sched_opt__parse("fifo:0", &o, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "1..99"));
	assert_int_equal(sched_opt__parse("nice", &o, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "other, fifo:N or rr:N"));
}

static void test_describe_names_policy_and_priority(void **state)
{
	struct sched_opt o = { .policy = SCHED_FIFO, .prio = 10 };
	char buf[64];

	(void)state;
	assert_string_equal(sched_opt__describe(&o, buf, sizeof(buf)), "SCHED_FIFO priority 10");
	o = (struct sched_opt){ .policy = SCHED_RR, .prio = 3 };
	assert_string_equal(sched_opt__describe(&o, buf, sizeof(buf)), "SCHED_RR priority 3");
	o = (struct sched_opt){ .policy = SCHED_OTHER };
	assert_string_equal(sched_opt__describe(&o, buf, sizeof(buf)), "SCHED_OTHER");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policies_parse_with_their_priority),
		cmocka_unit_test(test_bad_values_are_refused_with_a_reason),
		cmocka_unit_test(test_the_reason_names_the_range),
		cmocka_unit_test(test_describe_names_policy_and_priority),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
