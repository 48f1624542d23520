// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* strnum: the decimal parser behind every numeric option. */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>
#include "strnum.h"

static void test_in_range_values_parse(void **state)
{
	unsigned int u;
	uint64_t v;

	(void)state;
	assert_int_equal(strnum__uint("65535", 1, 65535, &u), 0);
	assert_int_equal(u, 65535);
	assert_int_equal(strnum__u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
}

static void test_garbage_sign_blank_and_range_refused(void **state)
{
	static const char *const bad[] = { "", " 1", "-1", "+1", "1x", "0x10", "65536", "0",
					   "99999999999999999999" };
	unsigned int u = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(strnum__uint(bad[i], 1, 65535, &u), -EINVAL);
	assert_int_equal(u, 7);	/* untouched on failure */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_range_values_parse),
		cmocka_unit_test(test_garbage_sign_blank_and_range_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
