// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The XDP program chained to a next one (xslctl xdp attach DEV --then PROG,
 * docs/xdp-coexist.md) under BPF_PROG_TEST_RUN: what xsl passes, the next
 * program decides; what xsl drops stays dropped; a chained copy makes no
 * session for a new flow (the next program may drop it) and redirects none.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "fixture.h"
#include "xsl_xdp.skel.h"

/* A next program that returns verdict: any packet it gets shows it. */
static int verdict_prog(int verdict)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = verdict },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_XDP);

	return bpf_prog_load(BPF_PROG_TYPE_XDP, "chain_next", "GPL", insns, 2, &o);
}

/* Slot 0 of the instance's next-program array := a program returning verdict. */
static void set_next(struct fx *fx, int verdict)
{
	int fd = verdict_prog(verdict);
	__u32 zero = 0;

	assert_true(fd >= 0);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(fx->skel->maps.xsl_xdp_next), &zero, &fd,
					     BPF_ANY), 0);
	close(fd);
}

/* A chained copy: as fx_setup (fx_teardown frees it), with xsl_chained set before the load. */
static int chained_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct bpf_map *map;

	if (!fx)
		return -1;
	fx->ncpus = libbpf_num_possible_cpus();
	fx->skel = xsl_xdp__open();
	if (!fx->skel)
		goto fail;
	bpf_object__for_each_map(map, fx->skel->obj)
		if (bpf_map__set_pin_path(map, NULL))
			goto fail;
	if (bpf_map__set_max_entries(fx->skel->maps.xsl_sessions,
				     sesstab__buckets_for(FX_DEFAULT_SESSIONS) + 1))
		goto fail;
	fx->skel->rodata->xsl_chained = 1;
	if (xsl_xdp__load(fx->skel) || fx_table_init(fx))
		goto fail;
	fx->prog_fd = bpf_program__fd(fx->skel->progs.xsl_xdp);
	*state = fx;
	return 0;
fail:
	fx_close(fx);
	free(fx);
	return -1;
}

static void test_no_next_program_passes(void **state)
{
	struct fx *fx = *state;
	struct fx_pkt p;

	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.0.0.1", 40000, "10.0.0.2", 9999);
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
}

/* Not ours (no listener), so passed: the next program's verdict is final. */
static void test_passed_packet_takes_next_verdict(void **state)
{
	struct fx *fx = *state;
	struct xsl_stats st;
	struct fx_pkt p;

	set_next(fx, XDP_DROP);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.0.0.1", 40000, "10.0.0.2", 9999);
	assert_int_equal(send_pkt(fx, &p), XDP_DROP);
	/* xsl's counters keep xsl's own verdict */
	assert_int_equal(fx_stats(fx, &st), 0);
	assert_int_equal(st.stat[XSL_STAT_XDP_PASS], 1);
	assert_int_equal(st.stat[XSL_STAT_XDP_DROP], 0);
}

/* An unchained copy (plain attach, ip link) with a next set still makes sessions. */
static void test_unchained_copy_makes_session_then_hands_on(void **state)
{
	struct fx *fx = *state;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	set_next(fx, XDP_TX);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.0.0.1", 40000, "10.0.0.2", 53);
	assert_int_equal(send_pkt(fx, &p), XDP_TX);
	assert_int_equal(fx_session_count(fx), 1);
}

/* A packet xsl drops (no worker left for the session) is not handed on. */
static void test_dropped_packet_not_handed_on(void **state)
{
	struct fx *fx = *state;
	struct xsl_session s;
	struct xsl_flow_key k;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 1, XSL_POLICY_DROP), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.0.0.1", 40000, "10.0.0.2", 53);
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	fx_key(&p, &k);
	assert_int_equal(fx_session(fx, &k, &s), 0);
	/* its worker gone and the app's policy drop: xsl drops the next packet */
	assert_int_equal(fx_worker_free(fx, s.worker), 0);
	set_next(fx, XDP_PASS);
	assert_int_equal(send_pkt(fx, &p), XDP_DROP);
}

/* Chained: a new flow to a listener gets no session in XDP, only the next verdict. */
static void test_chained_copy_makes_no_session(void **state)
{
	struct fx *fx = *state;
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	set_next(fx, XDP_DROP);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.0.0.1", 40000, "10.0.0.2", 53);
	assert_int_equal(send_pkt(fx, &p), XDP_DROP);
	assert_int_equal(fx_session_count(fx), 0);
	assert_int_equal(fx_stats(fx, &st), 0);
	assert_int_equal(st.stat[XSL_STAT_SESSION_CREATED], 0);
	assert_int_equal(st.stat[XSL_STAT_LOOKUP_MISS], 1);
}

/* Chained: a session made by sk_lookup is counted on its hits and handed on. */
static void test_chained_copy_counts_hits(void **state)
{
	struct fx *fx = *state;
	struct xsl_session s = {};
	struct xsl_flow_key k;
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.0.0.1", 40000, "10.0.0.2", 53);
	fx_key(&p, &k);
	s.app = 1;
	s.worker = 1;
	s.worker_gen = 1;
	s.listener = 0;
	s.state = XSL_SESSION_OPEN;
	assert_int_equal(fx_session_put(fx, &k, &s), 0);
	set_next(fx, XDP_TX);
	assert_int_equal(send_pkt(fx, &p), XDP_TX);
	assert_int_equal(fx_session(fx, &k, &s), 0);
	assert_int_equal(s.packets, 1);
	assert_int_equal(fx_stats(fx, &st), 0);
	assert_int_equal(st.stat[XSL_STAT_LOOKUP_HIT], 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
#define TC(f) cmocka_unit_test_setup_teardown(f, chained_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_no_next_program_passes),
		T(test_passed_packet_takes_next_verdict),
		T(test_unchained_copy_makes_session_then_hands_on),
		T(test_dropped_packet_not_handed_on),
		TC(test_chained_copy_makes_no_session),
		TC(test_chained_copy_counts_hits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
