// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Loader tests of chaining (xslctl xdp attach DEV --then PROG,
 * docs/xdp-coexist.md) on a veth in private network and mount namespaces
 * with a private bpffs: which program the device runs after each step, the
 * pinned next-program array, and the refusals.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "loader.h"

#define PIN_ROOT "/sys/fs/bpf/tc/globals"
#define DEV "xslch0"
#define PEER "xslch1"
#define NEXT_PIN "/sys/fs/bpf/next"
#define ARRAY_PIN PIN_ROOT "/xsl_xdp_next_" DEV

static int ifindex;

/* An XDP program returning XDP_PASS, as a filter that lets all through. */
static int pass_prog(__u32 flags)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_XDP, .prog_flags = flags);

	return bpf_prog_load(BPF_PROG_TYPE_XDP, "filter", "GPL", insns, 2, &o);
}

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

/* The id and name of the program DEV runs (0 and "" for none). */
static __u32 dev_prog(char name[BPF_OBJ_NAME_LEN])
{
	struct bpf_prog_info info = {};
	__u32 id = 0, len = sizeof(info);
	int fd;

	name[0] = '\0';
	assert_int_equal(bpf_xdp_query_id(ifindex, 0, &id), 0);
	if (!id)
		return 0;
	fd = bpf_prog_get_fd_by_id(id);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	snprintf(name, BPF_OBJ_NAME_LEN, "%s", info.name);
	return id;
}

/* A filter loaded, pinned at NEXT_PIN and, if attach, attached to DEV. */
static int filter(bool attach)
{
	int fd = pass_prog(0);

	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_pin(fd, NEXT_PIN), 0);
	if (attach)
		assert_int_equal(bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL), 0);
	return fd;
}

static int setup(void **state)
{
	(void)state;
	if (system("ip link add " DEV " type veth peer name " PEER " && ip link set " DEV
		   " up && ip link set " PEER " up"))
		return -1;
	ifindex = (int)if_nametoindex(DEV);
	umount2("/sys/fs/bpf", MNT_DETACH);
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return -1;
	return ifindex ? 0 : -1;
}

static int teardown(void **state)
{
	int rc = system("ip link del " DEV " 2>/dev/null");

	(void)state;
	(void)rc;
	umount2("/sys/fs/bpf", MNT_DETACH);
	return 0;
}

/* Over the filter DEV runs: xsl takes its place; detached, the filter is back. */
static void test_then_takes_the_filters_place_and_gives_it_back(void **state)
{
	char name[BPF_OBJ_NAME_LEN];
	int fd = filter(true);

	(void)state;
	assert_int_equal(loader__xdp_attach(PIN_ROOT, DEV, XSL_XDP_MODE_NATIVE), -EBUSY);
	assert_non_null(strstr(loader__xdp_error(), "--then"));
	assert_int_equal(dev_prog(name), prog_id(fd));
	assert_int_equal(loader__xdp_attach_then(PIN_ROOT, DEV, XSL_XDP_MODE_NATIVE, NEXT_PIN),
			 0);
	dev_prog(name);
	assert_string_equal(name, "xsl_xdp");
	assert_int_equal(loader__xdp_attached(DEV), 1);
	assert_int_equal(access(ARRAY_PIN, F_OK), 0);
	assert_int_equal(loader__xdp_detach(PIN_ROOT, DEV), 0);
	assert_int_equal(dev_prog(name), prog_id(fd));
	assert_int_equal(access(ARRAY_PIN, F_OK), -1);
	close(fd);
}

/* Detach --then: xsl stays, alone; a second time there is nothing to take out. */
static void test_detach_then_keeps_xsl(void **state)
{
	char name[BPF_OBJ_NAME_LEN];
	int fd = filter(false);

	(void)state;
	assert_int_equal(loader__xdp_attach_then(PIN_ROOT, DEV, XSL_XDP_MODE_NATIVE, NEXT_PIN),
			 0);
	assert_int_equal(loader__xdp_detach_then(PIN_ROOT, DEV), 0);
	dev_prog(name);
	assert_string_equal(name, "xsl_xdp");
	assert_int_equal(access(ARRAY_PIN, F_OK), -1);
	assert_int_equal(loader__xdp_detach_then(PIN_ROOT, DEV), -ENOENT);
	/* chained again, then detached: the filter runs alone */
	assert_int_equal(loader__xdp_attach_then(PIN_ROOT, DEV, XSL_XDP_MODE_NATIVE, NEXT_PIN),
			 0);
	assert_int_equal(loader__xdp_detach(PIN_ROOT, DEV), 0);
	assert_int_equal(dev_prog(name), prog_id(fd));
	close(fd);
}

/* Refusals change nothing on the device. */
static void test_then_refusals(void **state)
{
	char name[BPF_OBJ_NAME_LEN];
	int other = pass_prog(0), frags = pass_prog(BPF_F_XDP_HAS_FRAGS), fd = filter(false);

	(void)state;
	assert_true(other >= 0 && frags >= 0);
	/* a program built for frags cannot be tail-called from xsl's */
	assert_int_equal(bpf_obj_pin(frags, "/sys/fs/bpf/frags"), 0);
	assert_int_equal(loader__xdp_attach_then(PIN_ROOT, DEV, XSL_XDP_MODE_NATIVE,
						 "/sys/fs/bpf/frags"), -EINVAL);
	assert_non_null(strstr(loader__xdp_error(), "frags"));
	assert_int_equal(dev_prog(name), 0);
	assert_int_equal(loader__xdp_attach_then(PIN_ROOT, DEV, XSL_XDP_MODE_NATIVE, "next"),
			 -EINVAL);
	assert_int_equal(loader__xdp_attach_then(PIN_ROOT, DEV, XSL_XDP_MODE_NATIVE,
						 "/sys/fs/bpf/none"), -ENOENT);
	/* a third program on the device is not replaced */
	assert_int_equal(bpf_xdp_attach(ifindex, other, XDP_FLAGS_DRV_MODE, NULL), 0);
	assert_int_equal(loader__xdp_attach_then(PIN_ROOT, DEV, XSL_XDP_MODE_NATIVE, NEXT_PIN),
			 -EBUSY);
	assert_int_equal(dev_prog(name), prog_id(other));
	close(other);
	close(frags);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_then_takes_the_filters_place_and_gives_it_back,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_detach_then_keeps_xsl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_then_refusals, setup, teardown),
	};

	/* Private network and mount namespaces: vanish with the process. */
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		perror("test_loader_chain: unshare net+mount namespaces");
		return 1;
	}
	loader__route_library_logs();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
