// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cgroup_skb/egress (bpf/egress.h, in the xsl_cgroup object) run with
 * BPF_PROG_TEST_RUN on the fixture's maps: a worker's reply makes its
 * session assured, once; a TCP SYN-ACK does not; packets of flows without a
 * session, or not TCP/UDP, change nothing; every packet is let through.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "xsl_cgroup.skel.h"
#include "fixture.h"

#define TCP_SYN 0x02
#define TCP_ACK 0x10

struct env {
	struct fx fx;
	struct xsl_cgroup *skel;
	int prog_fd;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct bpf_map *map;

	if (!e || fx_open(&e->fx, 0) ||
	    fx_simple(&e->fx, XSL_AF_INET, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN) ||
	    fx_listener(&e->fx, XSL_AF_INET6, IPPROTO_UDP, NULL, 53, 0, 1, 1, 2) ||
	    fx_listener(&e->fx, XSL_AF_INET, IPPROTO_TCP, NULL, 80, 0, 1, 1, 2))
		return -1;
	e->skel = xsl_cgroup__open();
	if (!e->skel)
		return -1;
	/* the data path's maps are the fixture's, as under a pin root */
	bpf_object__for_each_map(map, e->skel->obj) {
		int fd;

		if (bpf_map__is_internal(map))
			continue;
		fd = fx_map_fd(&e->fx, bpf_map__name(map));
		/* the hooks' own maps (socket owners): private */
		if (bpf_map__set_pin_path(map, NULL) || (fd >= 0 && bpf_map__reuse_fd(map, fd))) {
			fprintf(stderr, "share map %s: %s\n", bpf_map__name(map), strerror(errno));
			return -1;
		}
	}
	if (xsl_cgroup__load(e->skel)) {
		fprintf(stderr, "load xsl_cgroup: %s\n", strerror(errno));
		return -1;
	}
	e->prog_fd = bpf_program__fd(e->skel->progs.xsl_egress);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	xsl_cgroup__destroy(e->skel);
	fx_close(&e->fx);
	free(e);
	return 0;
}

/* Runs the egress program on the reply to p (addresses and ports swapped). */
static __u32 reply(struct env *e, const struct fx_pkt *p, __u8 tcp_flags)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .repeat = 1);
	struct fx_pkt r = *p;
	__u8 buf[FX_PKT_MAX];
	int len;

	memcpy(r.saddr, p->daddr, sizeof(r.saddr));
	memcpy(r.daddr, p->saddr, sizeof(r.daddr));
	r.sport = p->dport;
	r.dport = p->sport;
	r.tcp_flags = tcp_flags;
	len = fx_build(&r, buf, sizeof(buf), NULL);
	assert_true(len > 0);
	opts.data_in = buf;
	opts.data_size_in = (__u32)len;
	assert_int_equal(bpf_prog_test_run_opts(e->prog_fd, &opts), 0);
	return opts.retval;
}

static __u8 flags_of(struct env *e, const struct fx_pkt *p)
{
	struct xsl_flow_key k;
	struct xsl_session s;

	fx_key(p, &k);
	assert_int_equal(fx_session(&e->fx, &k, &s), 0);
	return s.flags;
}

static __u64 assured_count(struct env *e)
{
	struct xsl_stats st;

	assert_int_equal(fx_stats(&e->fx, &st), 0);
	return st.stat[XSL_STAT_SESSION_ASSURED];
}

static void send_ok(struct env *e, const struct fx_pkt *p)
{
	__u32 act = 0;

	assert_int_equal(fx_send(&e->fx, p, &act), 0);
	assert_int_equal(act, XDP_PASS);
}

static void test_udp_reply_makes_session_assured(void **state)
{
	static const int fam[] = { XSL_AF_INET, XSL_AF_INET6 };
	static const char *const src[] = { "10.1.0.1", "fd00::1" };
	static const char *const dst[] = { "10.0.0.2", "fd00::2" };
	struct env *e = *state;
	struct fx_pkt p;

	for (int f = 0; f < 2; f++) {
		fx_pkt_init(&p, fam[f], IPPROTO_UDP, src[f], 5000, dst[f], 53);
		send_ok(e, &p);
		assert_int_equal(flags_of(e, &p), 0);
		assert_int_equal(reply(e, &p, 0), 1);
		assert_int_equal(flags_of(e, &p), XSL_SESSION_F_ASSURED);
		/* once: later replies find it assured */
		assert_int_equal(reply(e, &p, 0), 1);
	}
	assert_int_equal(assured_count(e), 2);
}

static void test_tcp_synack_not_assured_data_is(void **state)
{
	struct env *e = *state;
	struct fx_pkt p;

	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_TCP, "10.1.0.3", 5003, "10.0.0.2", 80);
	p.tcp_flags = TCP_SYN;
	send_ok(e, &p);
	assert_int_equal(reply(e, &p, TCP_SYN | TCP_ACK), 1);
	assert_int_equal(flags_of(e, &p), 0);
	assert_int_equal(reply(e, &p, TCP_ACK), 1);
	assert_int_equal(flags_of(e, &p), XSL_SESSION_F_ASSURED);
}

static void test_no_session_changes_nothing(void **state)
{
	struct env *e = *state;
	struct fx_pkt p;

	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.1.0.4", 5004, "10.0.0.2", 53);
	assert_int_equal(reply(e, &p, 0), 1);
	/* not TCP/UDP: let go, untouched */
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_ICMP, "10.1.0.4", 0, "10.0.0.2", 0);
	assert_int_equal(reply(e, &p, 0), 1);
	assert_int_equal(assured_count(e), 0);
	assert_int_equal(fx_session_count(&e->fx), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_udp_reply_makes_session_assured, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tcp_synack_not_assured_data_is, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_session_changes_nothing, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
