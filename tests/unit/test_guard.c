// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The agent's guards (user/guard.h) and the app name rule
 * (registry__check_name): which cgroups the agent may touch, which control
 * clients it admits, and how much reply output it buffers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>
#include "guard.h"
#include "registry.h"

#define CG2 "/sys/fs/cgroup"
#define ROOT CG2 "/xsl"

static void test_app_name_rule(void **state)
{
	char why[256], longname[XSL_APP_NAME_LEN + 1];

	(void)state;
	assert_int_equal(registry__check_name("web-1.a_b", why, sizeof(why)), 0);
	assert_int_equal(registry__check_name("", why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "app name is empty");
	assert_int_equal(registry__check_name(NULL, why, sizeof(why)), -EINVAL);
	assert_int_equal(registry__check_name("../x", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "0x2f at offset 2"));
	assert_int_equal(registry__check_name("..", why, sizeof(why)), -EINVAL);
	assert_int_equal(registry__check_name(".", why, sizeof(why)), -EINVAL);
	assert_int_equal(registry__check_name("-x", why, sizeof(why)), -EINVAL);
	assert_int_equal(registry__check_name("a/b", why, sizeof(why)), -EINVAL);
	/* a newline is named by its code, never echoed into the message */
	assert_int_equal(registry__check_name("a\nb", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "0x0a at offset 1"));
	assert_null(strchr(why, '\n'));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(registry__check_name(longname, why, sizeof(why)), -EINVAL);
	longname[XSL_APP_NAME_LEN - 1] = '\0';
	assert_int_equal(registry__check_name(longname, why, sizeof(why)), 0);
}

static void test_below(void **state)
{
	(void)state;
	assert_true(guard__below(ROOT "/a", ROOT));
	assert_true(guard__below(ROOT "/a/b", ROOT));
	assert_false(guard__below(ROOT, ROOT));
	assert_false(guard__below(ROOT "/", ROOT));
	assert_false(guard__below(ROOT "x/a", ROOT));
	assert_false(guard__below(CG2 "/other", ROOT));
	assert_true(guard__below("/a", "/"));
	assert_false(guard__below("/", "/"));
}

static void test_adoptable_cgroup(void **state)
{
	(void)state;
	assert_int_equal(guard__adoptable_cgroup(CG2 "/system.slice/x", CG2, ROOT), 0);
	assert_int_equal(guard__adoptable_cgroup(ROOT "/web", CG2, ROOT), 0);
	/* the mount itself, the agent's root and anything above it hold every app */
	assert_int_equal(guard__adoptable_cgroup(CG2, CG2, ROOT), -EXDEV);
	assert_int_equal(guard__adoptable_cgroup(ROOT, CG2, ROOT), -EINVAL);
	assert_int_equal(guard__adoptable_cgroup(CG2 "/a", CG2, CG2 "/a/b/xsl"), -EINVAL);
	assert_int_equal(guard__adoptable_cgroup("/tmp/x", CG2, ROOT), -EXDEV);
	assert_int_equal(guard__adoptable_cgroup(CG2 "x/y", CG2, ROOT), -EXDEV);
}

static void test_own_cgroup(void **state)
{
	(void)state;
	assert_true(guard__own_cgroup(ROOT "/web", ROOT));
	assert_false(guard__own_cgroup(ROOT, ROOT));
	assert_false(guard__own_cgroup(ROOT "/web/i1", ROOT));
	assert_false(guard__own_cgroup(CG2 "/x", ROOT));
	assert_false(guard__own_cgroup(ROOT "/..", ROOT));
	assert_false(guard__own_cgroup(ROOT "/.", ROOT));
	assert_false(guard__own_cgroup(ROOT "x", ROOT));
}

static void test_admit_keeps_slots_for_root(void **state)
{
	const struct guard_slots s = { .max = 8, .root_reserved = 2, .per_uid = 3 };

	(void)state;
	assert_int_equal(guard__admit(&s, 1000, 0, 0), 0);
	assert_int_equal(guard__admit(&s, 1000, 2, 2), 0);
	/* a uid holds at most its share */
	assert_int_equal(guard__admit(&s, 1000, 3, 3), -EUSERS);
	assert_int_equal(guard__admit(&s, 1001, 5, 0), 0);
	/* the last two slots are root's */
	assert_int_equal(guard__admit(&s, 1002, 6, 0), -EAGAIN);
	assert_int_equal(guard__admit(&s, 0, 6, 0), 0);
	assert_int_equal(guard__admit(&s, 0, 7, 6), 0);
	assert_int_equal(guard__admit(&s, 0, 8, 7), -EMFILE);
}

static void test_reply_budget(void **state)
{
	const struct guard_out o = { .high = 100, .max_reply = 50, .total = 200 };

	(void)state;
	assert_true(guard__may_read(&o, 0));
	assert_true(guard__may_read(&o, 99));
	assert_false(guard__may_read(&o, 100));
	assert_int_equal(guard__reply_fits(&o, 50, 0), 0);
	assert_int_equal(guard__reply_fits(&o, 51, 0), -EMSGSIZE);
	assert_int_equal(guard__reply_fits(&o, 50, 150), 0);
	assert_int_equal(guard__reply_fits(&o, 50, 151), -EAGAIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_app_name_rule),
		cmocka_unit_test(test_below),
		cmocka_unit_test(test_adoptable_cgroup),
		cmocka_unit_test(test_own_cgroup),
		cmocka_unit_test(test_admit_keeps_slots_for_root),
		cmocka_unit_test(test_reply_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
