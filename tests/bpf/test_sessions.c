// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The session table in the XDP program (BPF_PROG_TEST_RUN, include/xsl/
 * session.h): creates fill a flow's first bucket, then its second (counted
 * in the first's overflow); a full pair of buckets gives up its oldest
 * unassured way, then an assured way idle past its app's timeout, never an
 * active assured one: the flow is then refused and delivered statelessly to
 * the worker its slot names; overflow counts stay exact through evictions;
 * TCP sessions become assured with the handshake's ACK. A small table (8
 * buckets) makes flows of chosen buckets easy to find.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <cmocka.h>

#include "xsl/limits.h"
#include "fixture.h"

#define TCP_SYN 0x02
#define TCP_ACK 0x10
#define N_WORKERS 4

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx || fx_open(fx, 64) ||
	    fx_simple(fx, XSL_AF_INET, IPPROTO_UDP, 53, N_WORKERS, XSL_POLICY_REASSIGN) ||
	    fx_listener(fx, XSL_AF_INET6, IPPROTO_UDP, NULL, 53, 0, 1, 1, N_WORKERS) ||
	    fx_listener(fx, XSL_AF_INET, IPPROTO_TCP, NULL, 80, 0, 1, 1, N_WORKERS) ||
	    fx_listener(fx, XSL_AF_INET6, IPPROTO_TCP, NULL, 80, 0, 1, 1, N_WORKERS))
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fx_close(*state);
	free(*state);
	return 0;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* UDP flow number i to 10.0.0.2:53 from 198.18.x.y. */
static void flow(struct fx_pkt *p, __u32 i)
{
	fx_pkt_init(p, XSL_AF_INET, IPPROTO_UDP, "198.18.0.1", 1024, "10.0.0.2", 53);
	p->saddr[0] = htonl(0xc6120000 + i / 50000);
	p->sport = (__u16)(1024 + i % 50000);
}

static void place(struct fx *fx, const struct fx_pkt *p, struct xsl_sess_pos *pos)
{
	struct xsl_flow_key k;

	fx_key(p, &k);
	sesstab__place(&fx->tab, &k, pos);
}

/* The next flow after *i whose first bucket is b1 and, unless b2 is -1,
 * whose second is b2. */
static void flow_in(struct fx *fx, __u32 *i, __u32 b1, int b2, struct fx_pkt *p)
{
	struct xsl_sess_pos pos;

	for (;; (*i)++) {
		flow(p, *i);
		place(fx, p, &pos);
		if (pos.b1 == b1 && (b2 < 0 || pos.b2 == (__u32)b2)) {
			(*i)++;
			return;
		}
	}
}

/* Puts p's session for worker 0 as the agent could find it. */
static void put(struct fx *fx, const struct fx_pkt *p, int assured, unsigned int age_s)
{
	struct xsl_session s = { .worker = 0, .worker_gen = 1, .app = 1, .listener = 0 };
	struct xsl_flow_key k;

	fx_key(p, &k);
	s.flags = assured ? XSL_SESSION_F_ASSURED : 0;
	s.last_seen_ns = now_ns() - (__u64)age_s * 1000000000ull;
	assert_int_equal(fx_session_put(fx, &k, &s), 0);
}

static int has_session(struct fx *fx, const struct fx_pkt *p, struct sesstab_way *w)
{
	struct sesstab_way tmp;
	struct xsl_flow_key k;

	fx_key(p, &k);
	return !sesstab__find(&fx->tab, &k, w ? w : &tmp);
}

static __u32 overflow(struct fx *fx, __u32 b)
{
	return fx->tab.b[b].t.overflow;
}

/* Fills bucket b with n flows whose first bucket it is. */
static void fill(struct fx *fx, __u32 *i, __u32 b, int n, int assured, unsigned int age_s,
		 struct fx_pkt *out)
{
	for (int j = 0; j < n; j++) {
		flow_in(fx, i, b, -1, &out[j]);
		put(fx, &out[j], assured, age_s);
	}
}

static void test_create_fills_first_bucket_then_second(void **state)
{
	struct fx *fx = *state;
	struct xsl_sess_pos pos;
	struct sesstab_way w;
	struct xsl_session s;
	struct xsl_flow_key k, got;
	struct fx_pkt p[9];
	__u32 i = 0;

	for (int j = 0; j < 9; j++) {
		flow_in(fx, &i, 3, -1, &p[j]);
		assert_int_equal(send_pkt(fx, &p[j]), XDP_PASS);
	}
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_CREATED], 9);
	for (int j = 0; j < 8; j++) {
		assert_true(has_session(fx, &p[j], &w));
		assert_int_equal(w.bucket, 3);
	}
	place(fx, &p[8], &pos);
	assert_true(has_session(fx, &p[8], &w));
	assert_int_equal(w.bucket, pos.b2);
	assert_true(fx->tab.b[pos.b2].t.state[w.way] & XSL_WAY_ALT);
	assert_int_equal(overflow(fx, 3), 1);
	/* the overflowed flow is found in its second bucket: a hit */
	assert_int_equal(send_pkt(fx, &p[8]), XDP_PASS);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_LOOKUP_HIT], 1);
	fx_key(&p[8], &k);
	assert_int_equal(sesstab__read(&fx->tab, &w, &got, &s), 0);
	assert_int_equal(s.packets, 2);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_CREATED], 9);
}

static void test_full_pair_evicts_oldest_unassured(void **state)
{
	struct fx *fx = *state;
	struct fx_pkt x, a[8], b[8], old5, old50, old20;
	struct xsl_sess_pos pos;
	struct sesstab_way w;
	__u32 i = 0;

	flow_in(fx, &i, 1, -1, &x);
	place(fx, &x, &pos);
	fill(fx, &i, pos.b1, 6, 1, 0, a);
	flow_in(fx, &i, pos.b1, -1, &old5);
	put(fx, &old5, 0, 5);
	flow_in(fx, &i, pos.b1, -1, &old50);
	put(fx, &old50, 0, 50);
	fill(fx, &i, pos.b2, 7, 1, 0, b);
	flow_in(fx, &i, pos.b2, -1, &old20);
	put(fx, &old20, 0, 20);

	assert_int_equal(send_pkt(fx, &x), XDP_PASS);
	assert_true(has_session(fx, &x, &w));
	assert_int_equal(w.bucket, pos.b1);
	assert_false(has_session(fx, &old50, NULL));
	assert_true(has_session(fx, &old5, NULL));
	assert_true(has_session(fx, &old20, NULL));
	for (int j = 0; j < 6; j++)
		assert_true(has_session(fx, &a[j], NULL));
	for (int j = 0; j < 7; j++)
		assert_true(has_session(fx, &b[j], NULL));
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_EVICTED], 1);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_REFUSED], 0);
	assert_int_equal(overflow(fx, pos.b1), 0);
}

static void test_active_assured_never_evicted_flow_refused(void **state)
{
	struct fx *fx = *state;
	struct fx_pkt x, a[8], b[8];
	struct xsl_worker_stats ws;
	struct xsl_sess_pos pos;
	struct xsl_flow_key k;
	struct xsl_stats st;
	__u32 i = 0, want;

	flow_in(fx, &i, 2, -1, &x);
	place(fx, &x, &pos);
	fill(fx, &i, pos.b1, 8, 1, 30, a);
	fill(fx, &i, pos.b2, 8, 1, 30, b);

	for (int round = 1; round <= 2; round++) {
		assert_int_equal(send_pkt(fx, &x), XDP_PASS);
		st = get_stats(fx);
		assert_int_equal(st.stat[XSL_STAT_SESSION_REFUSED], round);
		assert_int_equal(st.stat[XSL_STAT_SESSION_CREATED], 0);
		assert_int_equal(st.stat[XSL_STAT_SESSION_EVICTED], 0);
		assert_int_equal(fx_sum_drops(&st), 0);
		assert_false(has_session(fx, &x, NULL));
	}
	for (int j = 0; j < 8; j++) {
		assert_true(has_session(fx, &a[j], NULL));
		assert_true(has_session(fx, &b[j], NULL));
	}
	assert_int_equal(overflow(fx, pos.b1), 0);
	/* delivered statelessly to the worker of its slot, both times */
	fx_key(&x, &k);
	want = fx_slot_of(&k) % N_WORKERS;
	assert_int_equal(fx_wrk_stats(fx, want, &ws), 0);
	assert_int_equal(ws.packets, 2);
}

/* Sessions touched just after this CPU read the clock (by another CPU, or
 * written by the agent): their last-seen is ahead of the packet's now. They
 * are active, not idle for 49 days as an unsigned difference says. */
static void test_assured_seen_after_now_never_evicted(void **state)
{
	struct xsl_session s = { .worker = 0, .worker_gen = 1, .app = 1, .listener = 0,
				 .flags = XSL_SESSION_F_ASSURED };
	struct fx *fx = *state;
	struct fx_pkt x, a[16];
	struct xsl_sess_pos pos;
	struct xsl_flow_key k;
	__u32 i = 0;

	flow_in(fx, &i, 5, -1, &x);
	place(fx, &x, &pos);
	s.last_seen_ns = now_ns() + 2000000000ull;
	for (int j = 0; j < 16; j++) {
		flow_in(fx, &i, j < 8 ? pos.b1 : pos.b2, -1, &a[j]);
		fx_key(&a[j], &k);
		assert_int_equal(fx_session_put(fx, &k, &s), 0);
	}
	assert_int_equal(send_pkt(fx, &x), XDP_PASS);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_EVICTED], 0);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_REFUSED], 1);
	for (int j = 0; j < 16; j++)
		assert_true(has_session(fx, &a[j], NULL));
}

static void test_assured_idle_past_timeout_evicted(void **state)
{
	struct fx *fx = *state;
	struct fx_pkt x, a[8], b[8], idle;
	struct xsl_sess_pos pos;
	struct sesstab_way w;
	__u32 i = 0;

	flow_in(fx, &i, 4, -1, &x);
	place(fx, &x, &pos);
	fill(fx, &i, pos.b1, 8, 1, 10, a);
	fill(fx, &i, pos.b2, 7, 1, 10, b);
	/* idle past the app's timeout (XSL_DEFAULT_IDLE_S): the GC would expire it */
	flow_in(fx, &i, pos.b2, -1, &idle);
	put(fx, &idle, 1, XSL_DEFAULT_IDLE_S + 30);

	assert_int_equal(send_pkt(fx, &x), XDP_PASS);
	assert_false(has_session(fx, &idle, NULL));
	assert_true(has_session(fx, &x, &w));
	assert_int_equal(w.bucket, pos.b2);
	/* stored in its second bucket: counted in its first */
	assert_int_equal(overflow(fx, pos.b1), 1);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_EVICTED], 1);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_REFUSED], 0);
}

/* An overflowed flow (in its second bucket) evicted by a new flow: its first
 * bucket's count goes down, the newcomer's goes up. */
static void test_evicting_overflowed_flow_keeps_counts_exact(void **state)
{
	struct fx *fx = *state;
	struct fx_pkt x, y, a[8], b[8];
	struct xsl_sess_pos px;
	struct sesstab_way w;
	__u32 i = 0, b1 = 5;

	flow_in(fx, &i, b1, -1, &x);
	place(fx, &x, &px);
	fill(fx, &i, b1, 8, 1, 10, a);
	/* y shares both buckets with x: first one full, it overflows */
	flow_in(fx, &i, b1, (int)px.b2, &y);
	put(fx, &y, 0, 40);
	assert_int_equal(overflow(fx, b1), 1);
	fill(fx, &i, px.b2, 7, 1, 10, b);

	assert_int_equal(send_pkt(fx, &x), XDP_PASS);
	assert_false(has_session(fx, &y, NULL));
	assert_true(has_session(fx, &x, &w));
	assert_int_equal(w.bucket, px.b2);
	assert_int_equal(overflow(fx, b1), 1);
	assert_int_equal(sesstab__delete(&fx->tab, &w), 0);
	assert_int_equal(overflow(fx, b1), 0);
}

/* Puts p's session as put() does, last seen at t_ns exactly. */
static void put_at(struct fx *fx, const struct fx_pkt *p, int assured, __u64 t_ns)
{
	struct xsl_session s = { .worker = 0, .worker_gen = 1, .app = 1, .listener = 0 };
	struct xsl_flow_key k;

	fx_key(p, &k);
	s.flags = assured ? XSL_SESSION_F_ASSURED : 0;
	s.last_seen_ns = t_ns;
	assert_int_equal(fx_session_put(fx, &k, &s), 0);
}

/* Of equally old unassured ways, a new flow takes one that lives in its
 * first bucket: evicting an overflowed flow would also write its first
 * bucket's count, another cache line. */
static void test_equal_age_evicts_flow_in_its_first_bucket(void **state)
{
	struct fx *fx = *state;
	struct fx_pkt x, z, a[8], b[8], c[8];
	struct xsl_sess_pos px, pz;
	struct sesstab_way w;
	__u64 t = now_ns() - 10000000000ull;
	__u32 i = 0;

	flow_in(fx, &i, 6, -1, &x);
	place(fx, &x, &px);
	/* z's second bucket is x's first; its own first is another one, full */
	for (;; i++) {
		flow(&z, i);
		place(fx, &z, &pz);
		if (pz.b2 == px.b1 && pz.b1 != px.b1 && pz.b1 != px.b2)
			break;
	}
	i++;
	fill(fx, &i, pz.b1, 8, 1, 0, c);
	put_at(fx, &z, 0, t);
	assert_true(has_session(fx, &z, &w));
	assert_int_equal(w.bucket, px.b1);
	assert_int_equal(w.way, 0);
	assert_int_equal(overflow(fx, pz.b1), 1);
	/* x's first bucket: z then seven flows of its own, all as old */
	for (int j = 0; j < 7; j++) {
		flow_in(fx, &i, px.b1, -1, &a[j]);
		put_at(fx, &a[j], 0, t);
	}
	fill(fx, &i, px.b2, 8, 1, 0, b);

	assert_int_equal(send_pkt(fx, &x), XDP_PASS);
	assert_true(has_session(fx, &x, &w));
	assert_int_equal(w.bucket, px.b1);
	assert_true(has_session(fx, &z, NULL));
	assert_int_equal(overflow(fx, pz.b1), 1);
	assert_int_equal(overflow(fx, px.b1), 0);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_EVICTED], 1);
}

static void test_tcp_handshake_makes_assured(void **state)
{
	static const int fam[] = { XSL_AF_INET, XSL_AF_INET6 };
	static const char *const src[] = { "10.1.0.1", "fd00::1" };
	static const char *const dst[] = { "10.0.0.2", "fd00::2" };
	struct fx *fx = *state;
	struct sesstab_way w;
	struct xsl_flow_key k;
	struct xsl_session s;
	struct fx_pkt p;

	for (int f = 0; f < 2; f++) {
		fx_pkt_init(&p, fam[f], IPPROTO_TCP, src[f], 40000, dst[f], 80);
		p.tcp_flags = TCP_SYN;
		assert_int_equal(send_pkt(fx, &p), XDP_PASS);
		assert_true(has_session(fx, &p, &w));
		assert_int_equal(sesstab__read(&fx->tab, &w, &k, &s), 0);
		assert_int_equal(s.flags & XSL_SESSION_F_ASSURED, 0);
		p.tcp_flags = TCP_ACK;
		assert_int_equal(send_pkt(fx, &p), XDP_PASS);
		assert_int_equal(sesstab__read(&fx->tab, &w, &k, &s), 0);
		assert_int_equal(s.flags & XSL_SESSION_F_ASSURED, XSL_SESSION_F_ASSURED);
		assert_int_equal(s.packets, 2);
	}
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_ASSURED], 2);
}

/* Every family and protocol: created on the first packet, hit on the next,
 * keys as the program builds them. */
static void test_v4_v6_tcp_udp_create_and_hit(void **state)
{
	static const int fam[] = { XSL_AF_INET, XSL_AF_INET6 };
	static const char *const src[] = { "10.1.0.9", "fd00::9" };
	static const char *const dst[] = { "10.0.0.2", "fd00::2" };
	static const __u8 proto[] = { IPPROTO_UDP, IPPROTO_TCP };
	static const __u16 port[] = { 53, 80 };
	struct fx *fx = *state;
	struct xsl_session s;
	struct xsl_flow_key k;
	struct fx_pkt p;
	int n = 0;

	for (int f = 0; f < 2; f++) {
		for (int q = 0; q < 2; q++) {
			fx_pkt_init(&p, fam[f], proto[q], src[f], 41000, dst[f], port[q]);
			p.tcp_flags = TCP_SYN;
			assert_int_equal(send_pkt(fx, &p), XDP_PASS);
			assert_int_equal(send_pkt(fx, &p), XDP_PASS);
			fx_key(&p, &k);
			assert_int_equal(fx_session(fx, &k, &s), 0);
			assert_int_equal(s.packets, 2);
			assert_int_equal(s.worker, fx_slot_of(&k) % N_WORKERS);
			n++;
		}
	}
	assert_int_equal(get_stats(fx).stat[XSL_STAT_SESSION_CREATED], n);
	assert_int_equal(get_stats(fx).stat[XSL_STAT_LOOKUP_HIT], n);
	assert_int_equal(fx_session_count(fx), n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_fills_first_bucket_then_second, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_full_pair_evicts_oldest_unassured, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_active_assured_never_evicted_flow_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_assured_seen_after_now_never_evicted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_assured_idle_past_timeout_evicted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_evicting_overflowed_flow_keeps_counts_exact,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_equal_age_evicts_flow_in_its_first_bucket,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_handshake_makes_assured, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v4_v6_tcp_udp_create_and_hit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
