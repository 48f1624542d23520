// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* lathist: where an observation lands, at and around the bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>
#include "lathist.h"

static void test_bounds_rise_and_are_fine_below_a_millisecond(void **state)
{
	(void)state;
	for (int i = 1; i < LATHIST_BUCKETS; i++)
		assert_true(lathist_bounds[i] > lathist_bounds[i - 1]);
	/* a 250 us target can be told from 100 us and 500 us */
	assert_true(lathist_bounds[0] <= 0.000025);
	assert_true(lathist_bounds[3] == 0.00025);
	assert_true(lathist_bounds[LATHIST_BUCKETS - 1] == 1.0);
}

static void test_value_at_a_bound_is_in_that_bucket(void **state)
{
	struct lathist h = { 0 };

	(void)state;
	lathist__add(&h, 25000);	/* exactly 25 us: le="2.5e-05" */
	lathist__add(&h, 25001);
	lathist__add(&h, 250000);
	lathist__add(&h, 0);
	assert_int_equal(h.bucket[0], 2);
	assert_int_equal(h.bucket[1], 1);
	assert_int_equal(h.bucket[3], 1);
	assert_int_equal(h.count, 4);
}

static void test_above_the_last_bound_counts_only_in_count(void **state)
{
	struct lathist h = { 0 };
	uint64_t in_buckets = 0;

	(void)state;
	lathist__add(&h, 3000000000ull);
	for (int i = 0; i < LATHIST_BUCKETS; i++)
		in_buckets += h.bucket[i];
	assert_int_equal(in_buckets, 0);
	assert_int_equal(h.count, 1);
	assert_true(h.sum > 2.99 && h.sum < 3.01);
}

static void test_since_needs_a_start_before_now(void **state)
{
	struct lathist h = { 0 };

	(void)state;
	assert_int_equal(lathist__since(&h, 0, 100), -EINVAL);
	assert_int_equal(lathist__since(&h, 200, 100), -EINVAL);
	assert_int_equal(h.count, 0);
	assert_int_equal(lathist__since(&h, 1000, 41000), 0);
	assert_int_equal(h.bucket[1], 1);	/* 40 us */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds_rise_and_are_fine_below_a_millisecond),
		cmocka_unit_test(test_value_at_a_bound_is_in_that_bucket),
		cmocka_unit_test(test_above_the_last_bound_counts_only_in_count),
		cmocka_unit_test(test_since_needs_a_start_before_now),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
