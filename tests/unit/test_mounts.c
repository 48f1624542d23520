// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* mounts__find: picking bpffs / cgroup2 mount points out of /proc/mounts text. */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <cmocka.h>
#include "mounts.h"

static const char hybrid[] =
	"sysfs /sys sysfs rw,nosuid 0 0\n"
	"tmpfs /sys/fs/cgroup tmpfs ro 0 0\n"
	"cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nsdelegate 0 0\n"
	"cgroup /sys/fs/cgroup/systemd cgroup rw,name=systemd 0 0\n"
	"bpf /sys/fs/bpf bpf rw,mode=700 0 0\n"
	"bpf /sys/fs/bpf/tc bpf rw 0 0\n";

static void test_cgroup2_found_on_hybrid_host(void **state)
{
	char out[PATH_MAX];

	(void)state;
	assert_int_equal(mounts__find(hybrid, "cgroup2", NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified");
}

static void test_longest_mount_covering_path_wins(void **state)
{
	char out[PATH_MAX];

	(void)state;
	assert_int_equal(mounts__find(hybrid, "bpf", "/sys/fs/bpf/tc/globals", out, sizeof(out)),
			 0);
	assert_string_equal(out, "/sys/fs/bpf/tc");
	assert_int_equal(mounts__find(hybrid, "bpf", "/sys/fs/bpf/xdp", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/bpf");
	/* /sys/fs/bpfx is not below /sys/fs/bpf */
	assert_int_equal(mounts__find(hybrid, "bpf", "/sys/fs/bpfx", out, sizeof(out)), -ENOENT);
}

static void test_escaped_space_in_mount_point_decoded(void **state)
{
	static const char text[] = "cgroup2 /run/my\\040cgroups cgroup2 rw 0 0\n";
	char out[PATH_MAX];

	(void)state;
	assert_int_equal(mounts__find(text, "cgroup2", NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "/run/my cgroups");
	assert_int_equal(mounts__find(text, "cgroup2", "/run/my cgroups/xsl", out, sizeof(out)),
			 0);
}

static void test_missing_type_and_empty_text_are_enoent(void **state)
{
	char out[PATH_MAX];

	(void)state;
	assert_int_equal(mounts__find(hybrid, "nfs", NULL, out, sizeof(out)), -ENOENT);
	assert_int_equal(mounts__find("", "bpf", NULL, out, sizeof(out)), -ENOENT);
	assert_int_equal(mounts__find("garbage without fields\n", "bpf", NULL, out, sizeof(out)),
			 -ENOENT);
}

static void test_mount_point_longer_than_buffer_refused(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(mounts__find(hybrid, "cgroup2", NULL, out, sizeof(out)), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup2_found_on_hybrid_host),
		cmocka_unit_test(test_longest_mount_covering_path_wins),
		cmocka_unit_test(test_escaped_space_in_mount_point_decoded),
		cmocka_unit_test(test_missing_type_and_empty_text_are_enoent),
		cmocka_unit_test(test_mount_point_longer_than_buffer_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
