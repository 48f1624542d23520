// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Loader tests: pinned maps, XDP attach/detach through libxdp and through
 * `ip link`, sharing one set of maps. The test process moves into its own
 * network and mount namespaces with a private bpffs, so nothing touches the
 * host's interfaces or pins.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "xsl/maps.h"
#include "xsl/session.h"
#include "loader.h"
#include "maps.h"
#include "fixture.h"

#define PIN_ROOT "/sys/fs/bpf/tc/globals"
#define DEV "xslld0"
#define PEER "xslld1"

static int map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	return (int)info.id;
}

/* A fresh private bpffs and veth pair for every test. */
static int setup(void **state)
{
	(void)state;
	if (fx_sh("ip link add " DEV " type veth peer name " PEER " && ip link set " DEV
	       " up && ip link set " PEER " up"))
		return -1;
	umount2("/sys/fs/bpf", MNT_DETACH);
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fx_sh("ip link del " DEV " 2>/dev/null");
	umount2("/sys/fs/bpf", MNT_DETACH);
	return 0;
}

static void test_create_maps_pins_every_map(void **state)
{
	struct xsl_maps m;

	(void)state;
	assert_int_equal(loader__create_maps(PIN_ROOT, NULL), 0);
	assert_int_equal(xsl_maps__open(&m, PIN_ROOT), 0);
	assert_true(m.sessions >= 0 && m.cpumap >= 0);
	xsl_maps__close(&m);
	assert_int_equal(xsl_maps__unpin(PIN_ROOT), 0);
	assert_int_equal(xsl_maps__open(&m, PIN_ROOT), -ENOENT);
}

static void test_create_maps_twice_reuses_pins(void **state)
{
	struct xsl_maps a, b;

	(void)state;
	assert_int_equal(loader__create_maps(PIN_ROOT, NULL), 0);
	assert_int_equal(xsl_maps__open(&a, PIN_ROOT), 0);
	assert_int_equal(loader__create_maps(PIN_ROOT, NULL), 0);
	assert_int_equal(xsl_maps__open(&b, PIN_ROOT), 0);
	assert_int_equal(map_id(a.sessions), map_id(b.sessions));
	assert_int_equal(map_id(a.workers), map_id(b.workers));
	xsl_maps__close(&a);
	xsl_maps__close(&b);
}

static void test_create_maps_applies_sizes_once(void **state)
{
	struct xsl_map_sizes sizes = { .max_sessions = 1024, .ringbuf_bytes = 8192 };
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct xsl_maps m;

	(void)state;
	assert_int_equal(loader__create_maps(PIN_ROOT, &sizes), 0);
	assert_int_equal(xsl_maps__open(&m, PIN_ROOT), 0);
	assert_int_equal(bpf_obj_get_info_by_fd(m.sessions, &info, &len), 0);
	/* 1024 sessions: 128 buckets of 8 ways, and the header */
	assert_int_equal(info.max_entries, 1024 / XSL_SESS_WAYS + 1);
	xsl_maps__close(&m);
	/* pinned already: other sizes don't apply, and don't fail */
	sizes.max_sessions = 4096;
	assert_int_equal(loader__create_maps(PIN_ROOT, &sizes), 0);
	assert_int_equal(xsl_maps__open(&m, PIN_ROOT), 0);
	len = sizeof(info);
	assert_int_equal(bpf_obj_get_info_by_fd(m.sessions, &info, &len), 0);
	assert_int_equal(info.max_entries, 1024 / XSL_SESS_WAYS + 1);
	xsl_maps__close(&m);
	/* our other loaders take the pinned sizes too */
	assert_int_equal(loader__xdp_attach(PIN_ROOT, DEV, XSL_XDP_MODE_NATIVE), 0);
	assert_int_equal(loader__xdp_detach(PIN_ROOT, DEV), 0);
}

static void test_xdp_attach_detach_libxdp(void **state)
{
	(void)state;
	assert_int_equal(loader__xdp_attached(DEV), 0);
	assert_int_equal(loader__xdp_attach(PIN_ROOT, DEV, XSL_XDP_MODE_NATIVE), 0);
	assert_int_equal(loader__xdp_attached(DEV), 1);
	assert_int_equal(loader__xdp_attach(PIN_ROOT, DEV, XSL_XDP_MODE_NATIVE), -EEXIST);
	assert_int_equal(loader__xdp_detach(PIN_ROOT, DEV), 0);
	assert_int_equal(loader__xdp_attached(DEV), 0);
	assert_int_equal(loader__xdp_detach(PIN_ROOT, DEV), -ENOENT);
}

static void test_xdp_attach_skb_mode(void **state)
{
	(void)state;
	assert_int_equal(loader__xdp_attach(PIN_ROOT, DEV, XSL_XDP_MODE_SKB), 0);
	assert_int_equal(loader__xdp_attached(DEV), 1);
	assert_int_equal(loader__xdp_detach(PIN_ROOT, DEV), 0);
}

static void test_xdp_attach_unknown_device_fails(void **state)
{
	(void)state;
	assert_int_equal(loader__xdp_attach(PIN_ROOT, "xslnodev0", XSL_XDP_MODE_NATIVE), -ENODEV);
	assert_int_equal(loader__xdp_detach(PIN_ROOT, "xslnodev0"), -ENODEV);
}

/* `ip link ... xdp obj` pins in iproute2's root; the loader opens the same maps. */
static void test_ip_link_attach_shares_maps(void **state)
{
	struct xsl_maps m, again;

	(void)state;
	assert_int_equal(fx_sh("ip link set dev " DEV " xdp obj build/xsl_xdp.bpf.o sec xdp"), 0);
	assert_int_equal(loader__xdp_attached(DEV), 1);
	assert_int_equal(xsl_maps__open(&m, PIN_ROOT), 0);
	assert_int_equal(loader__create_maps(PIN_ROOT, NULL), 0);
	assert_int_equal(xsl_maps__open(&again, PIN_ROOT), 0);
	assert_int_equal(map_id(m.sessions), map_id(again.sessions));
	assert_int_equal(map_id(m.stats), map_id(again.stats));
	xsl_maps__close(&m);
	xsl_maps__close(&again);
	/* the loader also removes a program that ip link attached */
	assert_int_equal(loader__xdp_detach(PIN_ROOT, DEV), 0);
	assert_int_equal(loader__xdp_attached(DEV), 0);
}

/* Whichever loads first, the other reuses its maps. */
static void test_libxdp_first_then_ip_link_shares_maps(void **state)
{
	struct xsl_maps m, again;
	char peer_dev[] = PEER;

	(void)state;
	assert_int_equal(loader__xdp_attach(PIN_ROOT, DEV, XSL_XDP_MODE_NATIVE), 0);
	assert_int_equal(xsl_maps__open(&m, PIN_ROOT), 0);
	assert_int_equal(fx_sh("ip link set dev %s xdp obj build/xsl_xdp.bpf.o sec xdp", peer_dev), 0);
	assert_int_equal(xsl_maps__open(&again, PIN_ROOT), 0);
	assert_int_equal(map_id(m.sessions), map_id(again.sessions));
	xsl_maps__close(&m);
	xsl_maps__close(&again);
	assert_int_equal(loader__xdp_detach(PIN_ROOT, PEER), 0);
	assert_int_equal(loader__xdp_detach(PIN_ROOT, DEV), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_maps_pins_every_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_maps_twice_reuses_pins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_maps_applies_sizes_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xdp_attach_detach_libxdp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xdp_attach_skb_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xdp_attach_unknown_device_fails, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ip_link_attach_shares_maps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_libxdp_first_then_ip_link_shares_maps, setup,
						teardown),
	};

	/* Private network and mount namespaces: vanish with the process. */
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		perror("test_loader: unshare net+mount namespaces");
		return 1;
	}
	loader__route_library_logs();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
