// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The XDP program under BPF_PROG_TEST_RUN: one function per behaviour of
 * DESIGN.md "Data path". Every test loads its own unpinned instance.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <cmocka.h>

#include "xsl/limits.h"
#include "fixture.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

static int pkt_len(const struct fx_pkt *p)
{
	__u8 buf[FX_PKT_MAX];

	return fx_build(p, buf, sizeof(buf), NULL);
}

static void get_session(struct fx *fx, const struct fx_pkt *p, struct xsl_session *s)
{
	struct xsl_flow_key k;

	fx_key(p, &k);
	assert_int_equal(fx_session(fx, &k, s), 0);
}

static void assert_no_session(struct fx *fx, const struct fx_pkt *p)
{
	struct xsl_flow_key k;
	struct xsl_session s;

	fx_key(p, &k);
	assert_int_equal(fx_session(fx, &k, &s), -ENOENT);
}

/* The worker a round-robin table over workers 0..n-1 gives this packet. */
static __u32 expected_worker(const struct fx_pkt *p, unsigned int n)
{
	struct xsl_flow_key k;

	fx_key(p, &k);
	return fx_slot_of(&k) % n;
}

/* Sends p, which must create a session; returns the session. */
static struct xsl_session create_ok(struct fx *fx, const struct fx_pkt *p)
{
	struct xsl_session s;

	assert_int_equal(send_pkt(fx, p), XDP_PASS);
	get_session(fx, p, &s);
	return s;
}

/* The parse counter e went up by one and nothing else was parsed badly. */
static void assert_parse_only(struct fx *fx, int e, __u64 before_total, __u64 before_e)
{
	struct xsl_stats st = get_stats(fx);

	assert_int_equal(fx_sum_parse(&st), before_total + 1);
	assert_int_equal(st.parse[e], before_e + 1);
}

static void test_udp4_first_packet_creates_session(void **state)
{
	struct fx *fx = *state;
	struct xsl_worker_stats ws;
	struct xsl_app_stats as;
	struct xsl_stats st;
	struct xsl_session s;
	struct timespec ts;
	struct fx_pkt p;
	__u64 now;
	__u32 w;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 4, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.0.0.1", 40000, "10.0.0.2", 53);
	w = expected_worker(&p, 4);

	s = create_ok(fx, &p);
	assert_int_equal(s.worker, w);
	assert_int_equal(s.worker_gen, 1);
	assert_int_equal(s.app, 1);
	assert_int_equal(s.listener, 0);
	assert_int_equal(s.state, XSL_SESSION_OPEN);
	assert_int_equal(s.packets, 1);
	assert_int_equal(s.bytes, pkt_len(&p));
	/* CLOCK_MONOTONIC, at tick resolution. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	assert_true(s.last_seen_ns > 0);
	assert_true(s.last_seen_ns <= now);
	assert_true(now - s.last_seen_ns < 1000000000ull);

	st = get_stats(fx);
	assert_int_equal(st.stat[XSL_STAT_XDP_PASS], 1);
	assert_int_equal(st.stat[XSL_STAT_LOOKUP_MISS], 1);
	assert_int_equal(st.stat[XSL_STAT_LOOKUP_HIT], 0);
	assert_int_equal(st.stat[XSL_STAT_SESSION_CREATED], 1);
	assert_int_equal(fx_sum_actions(&st), 1);
	assert_int_equal(fx_app_stats(fx, 1, &as), 0);
	assert_int_equal(as.sessions_created, 1);
	/* packets are counted per worker only (the agent sums them per app) */
	assert_int_equal(as.packets, 0);
	assert_int_equal(fx_wrk_stats(fx, w, &ws), 0);
	assert_int_equal(ws.sessions_created, 1);
	assert_int_equal(ws.packets, 1);
	assert_int_equal(ws.bytes, pkt_len(&p));
	assert_int_equal(fx_session_count(fx), 1);
}

static void test_udp4_second_packet_hits(void **state)
{
	struct fx *fx = *state;
	struct xsl_session s1, s2;
	struct xsl_worker_stats ws;
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 4, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.0.0.1", 40001, "10.0.0.2", 53);
	s1 = create_ok(fx, &p);
	p.payload = 100;
	s2 = create_ok(fx, &p);

	assert_int_equal(s2.worker, s1.worker);
	assert_int_equal(s2.packets, 2);
	assert_int_equal(s2.bytes, s1.bytes + pkt_len(&p));
	assert_true(s2.last_seen_ns >= s1.last_seen_ns);
	st = get_stats(fx);
	assert_int_equal(st.stat[XSL_STAT_LOOKUP_HIT], 1);
	assert_int_equal(st.stat[XSL_STAT_LOOKUP_MISS], 1);
	assert_int_equal(st.stat[XSL_STAT_SESSION_CREATED], 1);
	assert_int_equal(st.stat[XSL_STAT_XDP_PASS], 2);
	assert_int_equal(fx_wrk_stats(fx, s1.worker, &ws), 0);
	assert_int_equal(ws.packets, 2);
	assert_int_equal(ws.bytes, s2.bytes);
	assert_int_equal(fx_session_count(fx), 1);
}

static void test_udp6_creates_and_hits(void **state)
{
	struct fx *fx = *state;
	struct xsl_session s;
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET6, IPPROTO_UDP, 443, 5, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET6, IPPROTO_UDP, "2001:db8::1", 50000, "2001:db8::2", 443);
	s = create_ok(fx, &p);
	assert_int_equal(s.worker, expected_worker(&p, 5));
	assert_int_equal(s.packets, 1);
	s = create_ok(fx, &p);
	assert_int_equal(s.packets, 2);
	assert_int_equal(s.bytes, 2 * pkt_len(&p));
	st = get_stats(fx);
	assert_int_equal(st.stat[XSL_STAT_SESSION_CREATED], 1);
	assert_int_equal(st.stat[XSL_STAT_LOOKUP_HIT], 1);
}

static void test_tcp_syn_creates(void **state)
{
	struct fx *fx = *state;
	struct xsl_session s;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_TCP, 80, 3, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_TCP, "192.0.2.7", 33333, "192.0.2.1", 80);
	p.tcp_flags = TCP_SYN;
	s = create_ok(fx, &p);
	assert_int_equal(s.worker, expected_worker(&p, 3));
	assert_int_equal(s.state, XSL_SESSION_OPEN);
	/* The rest of the handshake hits. */
	p.tcp_flags = TCP_ACK;
	s = create_ok(fx, &p);
	assert_int_equal(s.packets, 2);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_CREATED], 1);
}

static void tcp_not_syn_passes(struct fx *fx, __u8 flags)
{
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_TCP, 80, 3, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_TCP, "192.0.2.7", 33334, "192.0.2.1", 80);
	p.tcp_flags = flags;
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	assert_no_session(fx, &p);
	st = get_stats(fx);
	assert_int_equal(st.stat[XSL_STAT_TCP_MISS_NOT_SYN], 1);
	assert_int_equal(st.stat[XSL_STAT_SESSION_CREATED], 0);
	assert_int_equal(st.stat[XSL_STAT_XDP_PASS], 1);
}

static void test_tcp_synack_without_session_passes(void **state)
{
	tcp_not_syn_passes(*state, TCP_SYN | TCP_ACK);
}

static void test_tcp_ack_without_session_passes(void **state)
{
	tcp_not_syn_passes(*state, TCP_ACK);
}

static void tcp_close(struct fx *fx, __u8 flags)
{
	struct xsl_session s;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_TCP, 80, 2, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_TCP, "192.0.2.8", 40000, "192.0.2.1", 80);
	create_ok(fx, &p);
	p.tcp_flags = TCP_ACK;
	s = create_ok(fx, &p);
	assert_int_equal(s.state, XSL_SESSION_OPEN);
	p.tcp_flags = flags;
	s = create_ok(fx, &p);
	assert_int_equal(s.state, XSL_SESSION_CLOSING);
	assert_int_equal(s.packets, 3);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_CLOSING], 1);
	/* Counted once: a retransmitted FIN/RST leaves the count alone. */
	s = create_ok(fx, &p);
	assert_int_equal(s.state, XSL_SESSION_CLOSING);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_CLOSING], 1);
}

static void test_tcp_fin_marks_closing(void **state)
{
	tcp_close(*state, TCP_FIN | TCP_ACK);
}

static void test_tcp_rst_marks_closing(void **state)
{
	tcp_close(*state, TCP_RST);
}

/* A SYN on a closed connection's 4-tuple (a client reusing its port) is a
 * new session, placed like any new flow: fresh counters, counted created. */
static void test_tcp_syn_on_closing_is_new_session(void **state)
{
	struct fx *fx = *state;
	struct xsl_session s;
	struct fx_pkt p;

	tcp_close(fx, TCP_RST);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_TCP, "192.0.2.8", 40000, "192.0.2.1", 80);
	p.tcp_flags = TCP_SYN;
	s = create_ok(fx, &p);
	assert_int_equal(s.state, XSL_SESSION_OPEN);
	assert_int_equal(s.packets, 1);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_CREATED], 2);
	/* a SYN retransmitted on the open session stays on it */
	s = create_ok(fx, &p);
	assert_int_equal(s.packets, 2);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_CREATED], 2);
}

static void test_vlan_single(void **state)
{
	struct fx *fx = *state;
	struct xsl_session s;
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 4, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.1.0.1", 1111, "10.1.0.2", 53);
	p.n_vlans = 1;
	s = create_ok(fx, &p);
	assert_int_equal(s.worker, expected_worker(&p, 4));
	assert_int_equal(s.bytes, pkt_len(&p));
	st = get_stats(fx);
	assert_int_equal(fx_sum_parse(&st), 0);
	assert_int_equal(st.stat[XSL_STAT_SESSION_CREATED], 1);
}

static void test_vlan_double_qinq(void **state)
{
	struct fx *fx = *state;
	struct xsl_session s;
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET6, IPPROTO_TCP, 443, 4, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET6, IPPROTO_TCP, "fd00::10", 2222, "fd00::1", 443);
	p.n_vlans = 2;
	p.vlan_tpid[0] = 0x88a8;
	p.vlan_tpid[1] = 0x8100;
	s = create_ok(fx, &p);
	assert_int_equal(s.worker, expected_worker(&p, 4));
	st = get_stats(fx);
	assert_int_equal(st.stat[XSL_STAT_SESSION_CREATED], 1);
	assert_int_equal(fx_sum_parse(&st), 0);
}

/* Two tags are parsed; a third leaves a TPID where an ethertype belongs. */
static void test_vlan_triple_passes_unknown_ethertype(void **state)
{
	struct fx *fx = *state;
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 4, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.1.0.1", 1111, "10.1.0.2", 53);
	p.n_vlans = 3;
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	assert_no_session(fx, &p);
	st = get_stats(fx);
	assert_int_equal(st.parse[XSL_PARSE_ETHERTYPE], 1);
}

static void test_ipv4_options(void **state)
{
	struct fx *fx = *state;
	struct xsl_session s;
	struct xsl_stats st;
	struct fx_pkt p;
	int opt;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 4, XSL_POLICY_REASSIGN), 0);
	for (opt = 4; opt <= 40; opt += 12) {
		fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.2.0.1", 3000 + opt, "10.2.0.2", 53);
		p.ip_opt_len = opt;
		s = create_ok(fx, &p);
		assert_int_equal(s.worker, expected_worker(&p, 4));
	}
	st = get_stats(fx);
	assert_int_equal(fx_sum_parse(&st), 0);
	assert_int_equal(st.stat[XSL_STAT_SESSION_CREATED], 4);
}

static void test_ipv4_bad_ihl(void **state)
{
	struct fx *fx = *state;
	struct xsl_stats st;
	struct fx_pkt p;
	int ihl;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 4, XSL_POLICY_REASSIGN), 0);
	for (ihl = 0; ihl < 5; ihl++) {
		fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.2.0.1", 3000, "10.2.0.2", 53);
		p.set_ihl = 1;
		p.ihl = ihl;
		assert_int_equal(send_pkt(fx, &p), XDP_PASS);
		assert_no_session(fx, &p);
	}
	st = get_stats(fx);
	assert_int_equal(st.parse[XSL_PARSE_IPV4_HDR], 5);
	assert_int_equal(fx_sum_parse(&st), 5);
	assert_int_equal(st.stat[XSL_STAT_XDP_PASS], 5);
}

/* An ihl larger than the frame is a truncated header, not a bad one. */
static void test_ipv4_ihl_past_end(void **state)
{
	struct fx *fx = *state;
	__u8 buf[FX_PKT_MAX];
	struct fx_pkt p;
	__u32 act;
	int len;

	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.2.0.1", 3000, "10.2.0.2", 53);
	p.set_ihl = 1;
	p.ihl = 15;
	p.payload = 0;
	len = fx_build(&p, buf, sizeof(buf), NULL);
	assert_true(len > 0);
	assert_int_equal(fx_run(fx, buf, 14 + 40, &act), 0);
	assert_int_equal(act, XDP_PASS);
	assert_int_equal(get_stats(fx).parse[XSL_PARSE_IPV4], 1);
}

static void test_ipv6_ext_headers(void **state)
{
	struct fx *fx = *state;
	struct xsl_session s;
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET6, IPPROTO_UDP, 5060, 4, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET6, IPPROTO_UDP, "fd00::5", 5061, "fd00::1", 5060);
	p.n_ext = 4;
	p.ext[0] = IPPROTO_HOPOPTS;
	p.ext[1] = IPPROTO_DSTOPTS;
	p.ext[2] = IPPROTO_ROUTING;
	p.ext[3] = IPPROTO_DSTOPTS;
	s = create_ok(fx, &p);
	assert_int_equal(s.worker, expected_worker(&p, 4));
	/* TCP behind the same chain. */
	assert_int_equal(fx_simple(fx, XSL_AF_INET6, IPPROTO_TCP, 5060, 4, XSL_POLICY_REASSIGN), 0);
	p.proto = IPPROTO_TCP;
	p.tcp_flags = TCP_SYN;
	create_ok(fx, &p);
	st = get_stats(fx);
	assert_int_equal(st.stat[XSL_STAT_SESSION_CREATED], 2);
	assert_int_equal(fx_sum_parse(&st), 0);
}

/* The walk is bounded: a longer chain passes, counted, never aborts. */
static void test_ipv6_ext_chain_too_long(void **state)
{
	struct fx *fx = *state;
	struct xsl_stats st;
	struct fx_pkt p;
	int i;

	assert_int_equal(fx_simple(fx, XSL_AF_INET6, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET6, IPPROTO_UDP, "fd00::5", 5061, "fd00::1", 53);
	p.n_ext = 8;
	for (i = 0; i < p.n_ext; i++)
		p.ext[i] = IPPROTO_DSTOPTS;
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	assert_no_session(fx, &p);
	st = get_stats(fx);
	assert_int_equal(st.parse[XSL_PARSE_IPV6_EXT], 1);
	/* Six are walked. */
	p.n_ext = 6;
	create_ok(fx, &p);
}

static void test_ipv4_fragment_passes(void **state)
{
	static const __u16 frags[] = { 0x2000, 0x0010, 0x2010 };
	struct fx *fx = *state;
	struct xsl_stats st;
	struct fx_pkt p;
	unsigned int i;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 4, XSL_POLICY_REASSIGN), 0);
	for (i = 0; i < sizeof(frags) / sizeof(frags[0]); i++) {
		fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.3.0.1", 4000, "10.3.0.2", 53);
		p.frag_off = frags[i];
		assert_int_equal(send_pkt(fx, &p), XDP_PASS);
		assert_no_session(fx, &p);
	}
	/* DF alone is no fragment. */
	p.frag_off = 0x4000;
	create_ok(fx, &p);
	st = get_stats(fx);
	assert_int_equal(st.parse[XSL_PARSE_FRAGMENT], 3);
	assert_int_equal(fx_sum_parse(&st), 3);
	assert_int_equal(st.stat[XSL_STAT_SESSION_CREATED], 1);
}

static void test_ipv6_fragment_passes(void **state)
{
	struct fx *fx = *state;
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET6, IPPROTO_UDP, 53, 4, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET6, IPPROTO_UDP, "fd00::9", 4000, "fd00::1", 53);
	p.n_ext = 1;
	p.ext[0] = IPPROTO_FRAGMENT;
	p.frag6_off = 0x0001;	/* first fragment, M set */
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	assert_no_session(fx, &p);
	/* Behind a hop-by-hop header, a later fragment. */
	p.n_ext = 2;
	p.ext[0] = IPPROTO_HOPOPTS;
	p.ext[1] = IPPROTO_FRAGMENT;
	p.frag6_off = 0x0100;
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	assert_no_session(fx, &p);
	st = get_stats(fx);
	assert_int_equal(st.parse[XSL_PARSE_FRAGMENT], 2);
	assert_int_equal(fx_sum_parse(&st), 2);
	assert_int_equal(fx_session_count(fx), 0);
}

/* Cuts p at every length below its full size: each passes with the parse
 * counter of the header it ends in, creating nothing; the full one creates. */
static void truncate_every_length(struct fx *fx, const struct fx_pkt *p)
{
	struct fx_layout lay;
	__u8 buf[FX_PKT_MAX];
	struct xsl_stats st;
	int len, cut, seg;
	__u32 act;

	len = fx_build(p, buf, sizeof(buf), &lay);
	assert_true(len > 0);
	assert_int_equal(lay.seg[lay.n - 1].end, len);
	for (cut = 0; cut < len; cut++) {
		__u64 total, before;
		int e;

		for (seg = 0; seg < lay.n && (size_t)cut >= lay.seg[seg].end; seg++)
			;
		assert_true(seg < lay.n);
		e = lay.seg[seg].parse;
		st = get_stats(fx);
		total = fx_sum_parse(&st);
		before = st.parse[e];
		assert_int_equal(fx_run(fx, buf, cut, &act), 0);
		if (act != XDP_PASS)
			fail_msg("cut at %d of %d: action %u", cut, len, act);
		assert_parse_only(fx, e, total, before);
	}
	assert_int_equal(fx_session_count(fx), 0);
	st = get_stats(fx);
	assert_int_equal(st.stat[XSL_STAT_XDP_ABORTED], 0);
	assert_int_equal(fx_sum_actions(&st), len);
	assert_int_equal(fx_run(fx, buf, len, &act), 0);
	assert_int_equal(act, XDP_PASS);
	assert_int_equal(fx_session_count(fx), 1);
}

static void test_truncated_every_length(void **state)
{
	struct fx_pkt p;
	struct fx fx;

	(void)state;
	/* Plain UDPv4. */
	assert_int_equal(fx_open(&fx, 0), 0);
	assert_int_equal(fx_simple(&fx, XSL_AF_INET, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.4.0.1", 1000, "10.4.0.2", 53);
	p.payload = 0;
	truncate_every_length(&fx, &p);
	fx_close(&fx);

	/* TCPv4 with a VLAN tag and IP options. */
	assert_int_equal(fx_open(&fx, 0), 0);
	assert_int_equal(fx_simple(&fx, XSL_AF_INET, IPPROTO_TCP, 80, 2, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_TCP, "10.4.0.1", 1000, "10.4.0.2", 80);
	p.payload = 0;
	p.n_vlans = 1;
	p.ip_opt_len = 12;
	truncate_every_length(&fx, &p);
	fx_close(&fx);

	/* UDPv6 in QinQ behind hop-by-hop, routing and destination options. */
	assert_int_equal(fx_open(&fx, 0), 0);
	assert_int_equal(fx_simple(&fx, XSL_AF_INET6, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET6, IPPROTO_UDP, "fd00::2", 1000, "fd00::1", 53);
	p.payload = 0;
	p.n_vlans = 2;
	p.vlan_tpid[0] = 0x88a8;
	p.n_ext = 3;
	p.ext[0] = IPPROTO_HOPOPTS;
	p.ext[1] = IPPROTO_ROUTING;
	p.ext[2] = IPPROTO_DSTOPTS;
	truncate_every_length(&fx, &p);
	fx_close(&fx);

	/* Plain TCPv6. */
	assert_int_equal(fx_open(&fx, 0), 0);
	assert_int_equal(fx_simple(&fx, XSL_AF_INET6, IPPROTO_TCP, 443, 2, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET6, IPPROTO_TCP, "fd00::2", 1000, "fd00::1", 443);
	p.payload = 0;
	truncate_every_length(&fx, &p);
	fx_close(&fx);
}

static void test_unknown_ethertype(void **state)
{
	struct fx *fx = *state;
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.5.0.1", 1000, "10.5.0.2", 53);
	p.ethertype = 0x0806;	/* ARP */
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	p.n_vlans = 1;
	p.ethertype = 0x88cc;	/* LLDP, tagged */
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	st = get_stats(fx);
	assert_int_equal(st.parse[XSL_PARSE_ETHERTYPE], 2);
	assert_int_equal(fx_sum_parse(&st), 2);
	assert_int_equal(fx_session_count(fx), 0);
}

static void test_unknown_l4_proto(void **state)
{
	struct fx *fx = *state;
	struct xsl_stats st;
	struct fx_pkt p;

	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_ICMP, "10.5.0.1", 0, "10.5.0.2", 0);
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	fx_pkt_init(&p, XSL_AF_INET6, 58, "fd00::2", 0, "fd00::1", 0);	/* ICMPv6 */
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	fx_pkt_init(&p, XSL_AF_INET6, IPPROTO_SCTP, "fd00::2", 0, "fd00::1", 0);
	p.n_ext = 1;
	p.ext[0] = IPPROTO_DSTOPTS;
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	st = get_stats(fx);
	assert_int_equal(st.parse[XSL_PARSE_L4_PROTO], 3);
	assert_int_equal(fx_sum_parse(&st), 3);
}

static void test_dead_worker_reassign(void **state)
{
	struct fx *fx = *state;
	struct xsl_session s, s2;
	struct xsl_app_stats as;
	struct xsl_stats st;
	struct fx_pkt p;
	__u32 live[3], gens[3] = { 1, 1, 1 };
	int i, n = 0;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 4, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.6.0.1", 1000, "10.6.0.2", 53);
	s = create_ok(fx, &p);

	/* The worker dies and the agent rebuilds the table without it. */
	assert_int_equal(fx_worker_free(fx, s.worker), 0);
	for (i = 0; i < 4; i++)
		if ((__u32)i != s.worker)
			live[n++] = i;
	assert_int_equal(fx_slots(fx, 0, live, gens, 3), 0);

	s2 = create_ok(fx, &p);
	assert_int_not_equal(s2.worker, s.worker);
	assert_int_equal(s2.worker, live[expected_worker(&p, 3)]);
	assert_int_equal(s2.worker_gen, 1);
	assert_int_equal(s2.packets, 2);
	st = get_stats(fx);
	assert_int_equal(st.stat[XSL_STAT_SESSION_REASSIGNED], 1);
	assert_int_equal(st.stat[XSL_STAT_XDP_PASS], 2);
	assert_int_equal(fx_app_stats(fx, 1, &as), 0);
	assert_int_equal(as.sessions_reassigned, 1);
	/* Then it stays there. */
	s = create_ok(fx, &p);
	assert_int_equal(s.worker, s2.worker);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_REASSIGNED], 1);
}

/* Before the agent rebuilds the table, the re-pick probes past dead slots. */
static void test_dead_worker_reassign_probes_next_slot(void **state)
{
	struct fx *fx = *state;
	struct xsl_session s, s2;
	struct xsl_flow_key k;
	struct fx_pkt p;
	__u32 slot;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 4, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.6.0.3", 1000, "10.6.0.2", 53);
	s = create_ok(fx, &p);
	assert_int_equal(fx_worker_free(fx, s.worker), 0);
	s2 = create_ok(fx, &p);
	/* Round-robin table: the first following slot naming a live worker
	 * (the prime-sized table may wrap onto the dead one). */
	fx_key(&p, &k);
	slot = fx_slot_of(&k);
	do
		slot = (slot + 1) % XSL_TABLE_SLOTS;
	while (slot % 4 == s.worker);
	assert_int_equal(s2.worker, slot % 4);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_REASSIGNED], 1);
}

static void test_dead_worker_drop_policy(void **state)
{
	struct fx *fx = *state;
	struct xsl_session s, s2;
	struct xsl_app_stats as;
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 4, XSL_POLICY_DROP), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.6.0.1", 1000, "10.6.0.2", 53);
	s = create_ok(fx, &p);
	assert_int_equal(fx_worker_free(fx, s.worker), 0);
	assert_int_equal(send_pkt(fx, &p), XDP_DROP);
	get_session(fx, &p, &s2);
	assert_int_equal(s2.worker, s.worker);
	assert_int_equal(s2.packets, 1);
	st = get_stats(fx);
	assert_int_equal(st.drop[XSL_DROP_WORKER_GONE], 1);
	assert_int_equal(st.stat[XSL_STAT_XDP_DROP], 1);
	assert_int_equal(fx_sum_drops(&st), 1);
	assert_int_equal(st.stat[XSL_STAT_SESSION_REASSIGNED], 0);
	assert_int_equal(fx_app_stats(fx, 1, &as), 0);
	assert_int_equal(as.drops, 1);
}

/* A worker index reused by a new worker (new gen) is not the session's. */
static void test_worker_gen_mismatch_is_dead(void **state)
{
	struct fx *fx = *state;
	struct xsl_session s, s2;
	__u32 workers[4] = { 0, 1, 2, 3 }, gens[4] = { 1, 1, 1, 1 };
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 4, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.6.0.1", 1000, "10.6.0.2", 53);
	s = create_ok(fx, &p);
	/* Same index, next incarnation, table updated with the new gen. */
	assert_int_equal(fx_worker(fx, s.worker, 2, 1, 1, -1), 0);
	gens[s.worker] = 2;
	assert_int_equal(fx_slots(fx, 0, workers, gens, 4), 0);
	s2 = create_ok(fx, &p);
	assert_int_equal(s2.worker, s.worker);
	assert_int_equal(s2.worker_gen, 2);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_REASSIGNED], 1);
}

static void test_worker_gen_mismatch_drop_policy(void **state)
{
	struct fx *fx = *state;
	struct xsl_session s;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 4, XSL_POLICY_DROP), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.6.0.1", 1000, "10.6.0.2", 53);
	s = create_ok(fx, &p);
	assert_int_equal(fx_worker(fx, s.worker, 7, 1, 1, -1), 0);
	assert_int_equal(send_pkt(fx, &p), XDP_DROP);
	assert_int_equal(get_stats(fx).drop[XSL_DROP_WORKER_GONE], 1);
}

static void test_reassign_without_live_worker_drops(void **state)
{
	struct fx *fx = *state;
	struct xsl_stats st;
	struct fx_pkt p;
	int i;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.6.0.1", 1000, "10.6.0.2", 53);
	create_ok(fx, &p);
	for (i = 0; i < 2; i++)
		assert_int_equal(fx_worker_free(fx, i), 0);
	assert_int_equal(send_pkt(fx, &p), XDP_DROP);
	st = get_stats(fx);
	assert_int_equal(st.drop[XSL_DROP_NO_WORKER], 1);
	assert_int_equal(fx_sum_drops(&st), st.stat[XSL_STAT_XDP_DROP]);
}

static void test_listener_without_worker_drops(void **state)
{
	struct fx *fx = *state;
	struct xsl_app_stats as;
	struct xsl_stats st;
	struct fx_pkt p;

	/* n_workers == 0. */
	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 0, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.7.0.1", 1000, "10.7.0.2", 53);
	assert_int_equal(send_pkt(fx, &p), XDP_DROP);
	assert_no_session(fx, &p);

	/* n_workers says 2 but both died before the table was rebuilt. */
	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	assert_int_equal(fx_worker_free(fx, 0), 0);
	assert_int_equal(fx_worker_free(fx, 1), 0);
	assert_int_equal(send_pkt(fx, &p), XDP_DROP);
	assert_no_session(fx, &p);

	st = get_stats(fx);
	assert_int_equal(st.drop[XSL_DROP_NO_WORKER], 2);
	assert_int_equal(st.stat[XSL_STAT_XDP_DROP], 2);
	assert_int_equal(st.stat[XSL_STAT_SESSION_CREATED], 0);
	assert_int_equal(fx_app_stats(fx, 1, &as), 0);
	assert_int_equal(as.drops, 2);
}

/* Only the probed window around the hashed slot counts: a dead hashed slot
 * with a live neighbour still creates. */
static void test_create_probes_past_dead_slot(void **state)
{
	struct fx *fx = *state;
	struct xsl_flow_key k;
	struct xsl_session s;
	struct fx_pkt p;
	__u32 slot;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 1, XSL_POLICY_REASSIGN), 0);
	assert_int_equal(fx_worker(fx, 9, 1, 1, 1, -1), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.7.0.1", 1000, "10.7.0.2", 53);
	fx_key(&p, &k);
	slot = fx_slot_of(&k);
	assert_int_equal(fx_worker_free(fx, 0), 0);
	assert_int_equal(fx_slot_set(fx, 0, slot + 5, 9, 1), 0);
	s = create_ok(fx, &p);
	assert_int_equal(s.worker, 9);
}

static void test_exact_listener_wins(void **state)
{
	struct fx *fx = *state;
	__u32 w2[2] = { 10, 11 }, g2[2] = { 1, 1 };
	struct xsl_session s;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	assert_int_equal(fx_app(fx, 2, 3, XSL_POLICY_REASSIGN, 0), 0);
	assert_int_equal(fx_worker(fx, 10, 1, 2, 3, -1), 0);
	assert_int_equal(fx_worker(fx, 11, 1, 2, 3, -1), 0);
	assert_int_equal(fx_slots(fx, 1, w2, g2, 2), 0);
	assert_int_equal(fx_listener(fx, XSL_AF_INET, IPPROTO_UDP, "10.8.0.2", 53, 1, 2, 3, 2), 0);

	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.8.0.1", 1000, "10.8.0.2", 53);
	s = create_ok(fx, &p);
	assert_int_equal(s.app, 2);
	assert_int_equal(s.listener, 1);
	assert_int_equal(s.worker, w2[expected_worker(&p, 2)]);
}

/*
 * A port's wild bit (filter on) skips the exact-address lookup: here even
 * with an exact listener in the map (the agent clears the bit before one
 * appears), which the flow then misses for the wildcard; the bit clear, the
 * exact listener wins again.
 */
static void test_wild_bit_skips_exact_lookup(void **state)
{
	struct fx *fx = *state;
	__u32 w2[2] = { 10, 11 }, g2[2] = { 1, 1 };
	struct xsl_session s;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	assert_int_equal(fx_app(fx, 2, 3, XSL_POLICY_REASSIGN, 0), 0);
	assert_int_equal(fx_worker(fx, 10, 1, 2, 3, -1), 0);
	assert_int_equal(fx_worker(fx, 11, 1, 2, 3, -1), 0);
	assert_int_equal(fx_slots(fx, 1, w2, g2, 2), 0);
	assert_int_equal(fx_listener(fx, XSL_AF_INET, IPPROTO_UDP, "10.8.0.2", 53, 1, 2, 3, 2), 0);
	assert_int_equal(fx_port_bit(fx, XSL_AF_INET, IPPROTO_UDP, 53, 1), 0);
	assert_int_equal(fx_port_wild(fx, XSL_AF_INET, IPPROTO_UDP, 53, 1), 0);
	assert_int_equal(fx_port_filter(fx, 1), 0);

	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.8.0.1", 1000, "10.8.0.2", 53);
	s = create_ok(fx, &p);
	assert_int_equal(s.app, 1);

	assert_int_equal(fx_port_wild(fx, XSL_AF_INET, IPPROTO_UDP, 53, 0), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.8.0.1", 1001, "10.8.0.2", 53);
	s = create_ok(fx, &p);
	assert_int_equal(s.app, 2);
	/* the filter off: its bits are not read */
	assert_int_equal(fx_port_wild(fx, XSL_AF_INET, IPPROTO_UDP, 53, 1), 0);
	assert_int_equal(fx_port_filter(fx, 0), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.8.0.1", 1002, "10.8.0.2", 53);
	s = create_ok(fx, &p);
	assert_int_equal(s.app, 2);
}

static void test_wildcard_listener_used(void **state)
{
	struct fx *fx = *state;
	__u32 w2[2] = { 10, 11 }, g2[2] = { 1, 1 };
	struct xsl_session s;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	assert_int_equal(fx_app(fx, 2, 3, XSL_POLICY_REASSIGN, 0), 0);
	assert_int_equal(fx_worker(fx, 10, 1, 2, 3, -1), 0);
	assert_int_equal(fx_worker(fx, 11, 1, 2, 3, -1), 0);
	assert_int_equal(fx_slots(fx, 1, w2, g2, 2), 0);
	assert_int_equal(fx_listener(fx, XSL_AF_INET, IPPROTO_UDP, "10.8.0.2", 53, 1, 2, 3, 2), 0);

	/* Another local address: only the wildcard matches. */
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.8.0.1", 1000, "10.8.0.3", 53);
	s = create_ok(fx, &p);
	assert_int_equal(s.app, 1);
	assert_int_equal(s.listener, 0);
	assert_int_equal(s.worker, expected_worker(&p, 2));
}

static void test_listener_family_and_proto_must_match(void **state)
{
	struct fx *fx = *state;
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_TCP, "10.8.0.1", 1000, "10.8.0.2", 53);
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	fx_pkt_init(&p, XSL_AF_INET6, IPPROTO_UDP, "fd00::2", 1000, "fd00::1", 53);
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	st = get_stats(fx);
	assert_int_equal(st.stat[XSL_STAT_NOT_OURS], 2);
	assert_int_equal(fx_session_count(fx), 0);
}

/* A dual-stack [::] listener takes IPv4 flows too (and IPv6 ones). */
static void test_dual_listener_takes_ipv4(void **state)
{
	struct fx *fx = *state;
	struct xsl_session s;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET6, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	assert_int_equal(fx_listener_flags(fx, XSL_AF_INET6, IPPROTO_UDP, NULL, 53,
					   XSL_LISTENER_F_DUAL), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.8.0.1", 1000, "10.8.0.2", 53);
	s = create_ok(fx, &p);
	assert_int_equal(s.app, 1);
	assert_int_equal(s.listener, 0);
	assert_int_equal(s.worker, expected_worker(&p, 2));
	fx_pkt_init(&p, XSL_AF_INET6, IPPROTO_UDP, "fd00::2", 1000, "fd00::1", 53);
	s = create_ok(fx, &p);
	assert_int_equal(s.listener, 0);
	assert_int_equal(fx_session_count(fx), 2);
}

/* Without the dual flag a [::] listener is IPv6 only: IPv4 is not ours. */
static void test_v6_wildcard_without_dual_ignores_ipv4(void **state)
{
	struct fx *fx = *state;
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET6, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.8.0.1", 1000, "10.8.0.2", 53);
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	st = get_stats(fx);
	assert_int_equal(st.stat[XSL_STAT_NOT_OURS], 1);
	assert_int_equal(fx_session_count(fx), 0);
}

/* An IPv4 listener, exact or wildcard, comes before a dual [::] one. */
static void test_v4_listener_wins_over_dual(void **state)
{
	struct fx *fx = *state;
	__u32 w2[2] = { 10, 11 }, g2[2] = { 1, 1 };
	struct xsl_session s;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET6, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	assert_int_equal(fx_listener_flags(fx, XSL_AF_INET6, IPPROTO_UDP, NULL, 53,
					   XSL_LISTENER_F_DUAL), 0);
	assert_int_equal(fx_app(fx, 2, 3, XSL_POLICY_REASSIGN, 0), 0);
	assert_int_equal(fx_worker(fx, 10, 1, 2, 3, -1), 0);
	assert_int_equal(fx_worker(fx, 11, 1, 2, 3, -1), 0);
	assert_int_equal(fx_slots(fx, 1, w2, g2, 2), 0);
	assert_int_equal(fx_listener(fx, XSL_AF_INET, IPPROTO_UDP, NULL, 53, 1, 2, 3, 2), 0);

	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.8.0.1", 1000, "10.8.0.2", 53);
	s = create_ok(fx, &p);
	assert_int_equal(s.app, 2);
	assert_int_equal(s.listener, 1);
}

static void test_not_ours_port_passes(void **state)
{
	struct fx *fx = *state;
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.9.0.1", 1000, "10.9.0.2", 54);
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	assert_no_session(fx, &p);
	st = get_stats(fx);
	assert_int_equal(st.stat[XSL_STAT_NOT_OURS], 1);
	assert_int_equal(st.stat[XSL_STAT_LOOKUP_MISS], 1);
	assert_int_equal(st.stat[XSL_STAT_XDP_PASS], 1);
	assert_int_equal(fx_session_count(fx), 0);
}

/*
 * Port filter (xsl_ports): consulted on a session miss only. Enabled with the
 * port's bit set, a new flow is created as without it.
 */
static void test_port_filter_bit_set_creates(void **state)
{
	struct fx *fx = *state;
	struct xsl_session s;
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 4, XSL_POLICY_REASSIGN), 0);
	assert_int_equal(fx_port_bit(fx, XSL_AF_INET, IPPROTO_UDP, 53, 1), 0);
	assert_int_equal(fx_port_filter(fx, 1), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.9.0.1", 1000, "10.9.0.2", 53);
	s = create_ok(fx, &p);
	assert_int_equal(s.worker, expected_worker(&p, 4));
	st = get_stats(fx);
	assert_int_equal(st.stat[XSL_STAT_SESSION_CREATED], 1);
	assert_int_equal(st.stat[XSL_STAT_NOT_OURS], 0);
}

/* Enabled, a port whose bit is clear is not ours: passed, nothing created. */
static void test_port_filter_bit_clear_not_ours(void **state)
{
	struct fx *fx = *state;
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	assert_int_equal(fx_port_bit(fx, XSL_AF_INET, IPPROTO_UDP, 53, 1), 0);
	assert_int_equal(fx_port_filter(fx, 1), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.9.0.1", 1000, "10.9.0.2", 54);
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	assert_no_session(fx, &p);
	st = get_stats(fx);
	/* decided before any lookup */
	assert_int_equal(st.stat[XSL_STAT_LOOKUP_MISS] + st.stat[XSL_STAT_LOOKUP_HIT], 0);
	assert_int_equal(st.stat[XSL_STAT_NOT_OURS], 1);
	assert_int_equal(st.stat[XSL_STAT_XDP_PASS], 1);
	assert_int_equal(fx_session_count(fx), 0);
}

/* The filter is trusted on a miss: a listener whose bit is clear (the agent
 * never leaves one so) is not even looked up. */
static void test_port_filter_skips_listener_lookup(void **state)
{
	struct fx *fx = *state;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	assert_int_equal(fx_port_filter(fx, 1), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.9.0.1", 1000, "10.9.0.2", 53);
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	assert_no_session(fx, &p);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_NOT_OURS], 1);
}

/* The filter comes before the session lookup: once a port's last listener
 * is gone (bit clear), its sessions are left alone and the packets pass. */
static void test_port_filter_clear_port_leaves_session_alone(void **state)
{
	struct fx *fx = *state;
	struct xsl_session s1, s2;
	struct xsl_flow_key k;
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET6, IPPROTO_TCP, 443, 3, XSL_POLICY_REASSIGN), 0);
	assert_int_equal(fx_port_bit(fx, XSL_AF_INET6, IPPROTO_TCP, 443, 1), 0);
	assert_int_equal(fx_port_filter(fx, 1), 0);
	fx_pkt_init(&p, XSL_AF_INET6, IPPROTO_TCP, "2001:db8::7", 40000, "2001:db8::1", 443);
	s1 = create_ok(fx, &p);
	/* the port's last listener is gone: its sessions are not ours any more */
	assert_int_equal(fx_port_bit(fx, XSL_AF_INET6, IPPROTO_TCP, 443, 0), 0);
	p.tcp_flags = TCP_ACK;
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	fx_key(&p, &k);
	assert_int_equal(fx_session(fx, &k, &s2), 0);
	assert_int_equal(s2.packets, s1.packets);
	st = get_stats(fx);
	assert_int_equal(st.stat[XSL_STAT_LOOKUP_HIT], 0);
	assert_int_equal(st.stat[XSL_STAT_NOT_OURS], 1);
}

/* enabled 0 (no agent wrote the filter): bits are ignored, as before. */
static void test_port_filter_disabled_changes_nothing(void **state)
{
	struct fx *fx = *state;
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	assert_int_equal(fx_port_bit(fx, XSL_AF_INET, IPPROTO_UDP, 54, 1), 0);
	assert_int_equal(fx_port_filter(fx, 0), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.9.0.1", 1000, "10.9.0.2", 53);
	create_ok(fx, &p);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.9.0.1", 1000, "10.9.0.2", 54);
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	assert_no_session(fx, &p);
	st = get_stats(fx);
	assert_int_equal(st.stat[XSL_STAT_SESSION_CREATED], 1);
	assert_int_equal(st.stat[XSL_STAT_NOT_OURS], 1);
}

/* v4/v6 and TCP/UDP on one port are four bits: only the set one passes. */
static void test_port_filter_family_and_proto_bits_distinct(void **state)
{
	static const struct {
		int family;
		__u8 proto;
		const char *src, *dst;
	} c[4] = {
		{ XSL_AF_INET, IPPROTO_UDP, "10.9.0.1", "10.9.0.2" },
		{ XSL_AF_INET, IPPROTO_TCP, "10.9.0.1", "10.9.0.2" },
		{ XSL_AF_INET6, IPPROTO_UDP, "2001:db8::7", "2001:db8::1" },
		{ XSL_AF_INET6, IPPROTO_TCP, "2001:db8::7", "2001:db8::1" },
	};
	struct fx *fx = *state;
	struct fx_pkt p;
	int set, i;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 5353, 2, XSL_POLICY_REASSIGN), 0);
	for (i = 1; i < 4; i++)
		assert_int_equal(fx_listener(fx, c[i].family, c[i].proto, NULL, 5353, 0, 1, 1, 2),
				 0);
	assert_int_equal(fx_port_filter(fx, 1), 0);
	for (set = 0; set < 4; set++) {
		assert_int_equal(fx_port_bit(fx, c[set].family, c[set].proto, 5353, 1), 0);
		for (i = 0; i < 4; i++) {
			fx_pkt_init(&p, c[i].family, c[i].proto, c[i].src, 2000 + set,
				    c[i].dst, 5353);
			assert_int_equal(send_pkt(fx, &p), XDP_PASS);
			if (i == set) {
				struct xsl_session s;

				get_session(fx, &p, &s);
			} else {
				assert_no_session(fx, &p);
			}
		}
		assert_int_equal(fx_port_bit(fx, c[set].family, c[set].proto, 5353, 0), 0);
	}
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_CREATED], 4);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_NOT_OURS], 12);
}

/* A listener left behind by an app that is gone (or reborn) is not ours. */
static void test_listener_of_dead_app_not_ours(void **state)
{
	struct fx *fx = *state;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 2, XSL_POLICY_REASSIGN), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.9.0.1", 1000, "10.9.0.2", 53);
	assert_int_equal(fx_app(fx, 1, 2, XSL_POLICY_REASSIGN, 0), 0);
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	assert_int_equal(fx_app_free(fx, 1), 0);
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	assert_no_session(fx, &p);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_NOT_OURS], 2);
}

/* A session whose app is gone is garbage: the flow is handled as new. */
static void test_session_of_dead_app_recreated(void **state)
{
	struct fx *fx = *state;
	struct xsl_session s;
	struct xsl_stats st;
	struct fx_pkt p;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 2, XSL_POLICY_DROP), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.9.0.1", 1000, "10.9.0.2", 53);
	create_ok(fx, &p);
	/* App 1 goes away entirely; app 1 is re-made (gen 2) with new workers. */
	assert_int_equal(fx_worker_free(fx, 0), 0);
	assert_int_equal(fx_worker_free(fx, 1), 0);
	assert_int_equal(fx_app_free(fx, 1), 0);
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	assert_no_session(fx, &p);

	{
		__u32 w[1] = { 5 }, g[1] = { 1 };

		assert_int_equal(fx_app(fx, 1, 2, XSL_POLICY_DROP, 0), 0);
		assert_int_equal(fx_worker(fx, 5, 1, 1, 2, -1), 0);
		assert_int_equal(fx_slots(fx, 0, w, g, 1), 0);
		assert_int_equal(fx_listener(fx, XSL_AF_INET, IPPROTO_UDP, NULL, 53, 0, 1, 2, 1), 0);
	}
	s = create_ok(fx, &p);
	assert_int_equal(s.worker, 5);
	assert_int_equal(s.packets, 1);
	st = get_stats(fx);
	assert_int_equal(st.stat[XSL_STAT_SESSION_CREATED], 2);
	assert_int_equal(st.stat[XSL_STAT_XDP_DROP], 0);
}

static void test_full_table_of_unassured_flows_still_creates(void **state)
{
	struct xsl_stats st;
	struct fx_pkt p;
	struct fx fx;
	int i;

	(void)state;
	assert_int_equal(fx_open(&fx, 64), 0);
	assert_int_equal(fx_simple(&fx, XSL_AF_INET, IPPROTO_UDP, 53, 8, XSL_POLICY_REASSIGN), 0);
	for (i = 0; i < 1000; i++) {
		fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.10.0.1", 1024 + i, "10.10.0.2", 53);
		p.saddr[0] = htonl(0x0a0a0000 + i);
		if (send_pkt(&fx, &p) != XDP_PASS)
			fail_msg("flow %d not passed", i);
	}
	st = get_stats(&fx);
	assert_int_equal(st.stat[XSL_STAT_SESSION_CREATED], 1000);
	assert_int_equal(st.stat[XSL_STAT_XDP_PASS], 1000);
	assert_int_equal(fx_sum_drops(&st), 0);
	assert_true(fx_session_count(&fx) <= 64);
	/* The newest flow is there. */
	get_session(&fx, &p, &(struct xsl_session){ 0 });
	fx_close(&fx);
}

static void test_cpu_steer_redirects(void **state)
{
	struct fx *fx = *state;
	struct xsl_stats st;
	struct fx_pkt p;
	int err;

	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 1, XSL_POLICY_REASSIGN), 0);
	assert_int_equal(fx_app(fx, 1, 1, XSL_POLICY_REASSIGN, XSL_APP_F_CPU_STEER), 0);
	assert_int_equal(fx_worker(fx, 0, 1, 1, 1, 0), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.11.0.1", 1000, "10.11.0.2", 53);

	/* No cpumap entry for CPU 0 yet: the redirect falls back to pass. */
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	err = fx_cpumap_add(fx, 0);
	if (err)
		fail_msg("cpumap entry for CPU 0: %s", strerror(-err));
	/* test_run returns the verdict; it does not run the cpumap itself. */
	assert_int_equal(send_pkt(fx, &p), XDP_REDIRECT);
	/* The first packet of a new flow is steered too. */
	p.sport = 1001;
	assert_int_equal(send_pkt(fx, &p), XDP_REDIRECT);
	st = get_stats(fx);
	assert_int_equal(st.stat[XSL_STAT_XDP_REDIRECT], 2);
	assert_int_equal(st.stat[XSL_STAT_XDP_PASS], 1);
	assert_int_equal(st.stat[XSL_STAT_SESSION_CREATED], 2);
}

static void test_cpu_steer_off_passes(void **state)
{
	struct fx *fx = *state;
	struct fx_pkt p;

	/* A worker CPU without the app flag, and the flag without a CPU. */
	assert_int_equal(fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, 1, XSL_POLICY_REASSIGN), 0);
	assert_int_equal(fx_cpumap_add(fx, 0), 0);
	assert_int_equal(fx_worker(fx, 0, 1, 1, 1, 0), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.11.0.1", 1000, "10.11.0.2", 53);
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	assert_int_equal(fx_app(fx, 1, 1, XSL_POLICY_REASSIGN, XSL_APP_F_CPU_STEER), 0);
	assert_int_equal(fx_worker(fx, 0, 1, 1, 1, -1), 0);
	assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_XDP_REDIRECT], 0);
}

/* The session's worker gets the packet and byte counts; the app's entry
 * none (the agent sums its workers'), nor its retired entry (the agent's). */
static void test_worker_and_app_stats(void **state)
{
	struct fx *fx = *state;
	struct xsl_worker_stats ws, total = { 0 };
	struct xsl_app_stats as;
	struct fx_pkt p;
	__u64 bytes = 0;
	int i;

	assert_int_equal(fx_simple(fx, XSL_AF_INET6, IPPROTO_UDP, 53, 4, XSL_POLICY_REASSIGN), 0);
	for (i = 0; i < 40; i++) {
		fx_pkt_init(&p, XSL_AF_INET6, IPPROTO_UDP, "fd00::2", 2000 + i % 10, "fd00::1", 53);
		p.payload = i;
		bytes += pkt_len(&p);
		assert_int_equal(send_pkt(fx, &p), XDP_PASS);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(fx_wrk_stats(fx, i, &ws), 0);
		total.packets += ws.packets;
		total.bytes += ws.bytes;
		total.sessions_created += ws.sessions_created;
	}
	assert_int_equal(total.packets, 40);
	assert_int_equal(total.bytes, bytes);
	assert_int_equal(total.sessions_created, 10);
	assert_int_equal(fx_app_stats(fx, 1, &as), 0);
	assert_int_equal(as.packets, 0);
	assert_int_equal(as.bytes, 0);
	assert_int_equal(as.sessions_created, 10);
	assert_int_equal(fx_app_stats(fx, XSL_APP_RETIRED(1), &as), 0);
	assert_int_equal(as.packets + as.bytes + as.sessions_created, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_udp4_first_packet_creates_session),
		T(test_udp4_second_packet_hits),
		T(test_udp6_creates_and_hits),
		T(test_tcp_syn_creates),
		T(test_tcp_synack_without_session_passes),
		T(test_tcp_ack_without_session_passes),
		T(test_tcp_fin_marks_closing),
		T(test_tcp_rst_marks_closing),
		T(test_tcp_syn_on_closing_is_new_session),
		T(test_vlan_single),
		T(test_vlan_double_qinq),
		T(test_vlan_triple_passes_unknown_ethertype),
		T(test_ipv4_options),
		T(test_ipv4_bad_ihl),
		T(test_ipv4_ihl_past_end),
		T(test_ipv6_ext_headers),
		T(test_ipv6_ext_chain_too_long),
		T(test_ipv4_fragment_passes),
		T(test_ipv6_fragment_passes),
		cmocka_unit_test(test_truncated_every_length),
		T(test_unknown_ethertype),
		T(test_unknown_l4_proto),
		T(test_dead_worker_reassign),
		T(test_dead_worker_reassign_probes_next_slot),
		T(test_dead_worker_drop_policy),
		T(test_worker_gen_mismatch_is_dead),
		T(test_worker_gen_mismatch_drop_policy),
		T(test_reassign_without_live_worker_drops),
		T(test_listener_without_worker_drops),
		T(test_create_probes_past_dead_slot),
		T(test_exact_listener_wins),
		T(test_dual_listener_takes_ipv4),
		T(test_v6_wildcard_without_dual_ignores_ipv4),
		T(test_v4_listener_wins_over_dual),
		T(test_wildcard_listener_used),
		T(test_wild_bit_skips_exact_lookup),
		T(test_listener_family_and_proto_must_match),
		T(test_not_ours_port_passes),
		T(test_port_filter_bit_set_creates),
		T(test_port_filter_bit_clear_not_ours),
		T(test_port_filter_skips_listener_lookup),
		T(test_port_filter_clear_port_leaves_session_alone),
		T(test_port_filter_disabled_changes_nothing),
		T(test_port_filter_family_and_proto_bits_distinct),
		T(test_listener_of_dead_app_not_ours),
		T(test_session_of_dead_app_recreated),
		cmocka_unit_test(test_full_table_of_unassured_flows_still_creates),
		T(test_cpu_steer_redirects),
		T(test_cpu_steer_off_passes),
		T(test_worker_and_app_stats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
