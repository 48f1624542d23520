// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Mutation test of the XDP program: 100,000 packets, valid ones and ones with
 * random bit flips, random truncation and random bytes, against a configured
 * set of apps, workers and listeners that changes along the way (workers die,
 * so reassign and drop policies fire). Invariants:
 *   - the program never returns XDP_ABORTED nor anything outside the actions;
 *   - sum(stat[XDP_*]) == packets sent, and each stat[a] matches the verdicts
 *     test_run returned;
 *   - every drop is explained: sum(drop[]) == stat[XDP_DROP].
 * The PRNG seed is printed; XSL_SEED=<n> replays a run.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <cmocka.h>

#include "fixture.h"

#define N_PACKETS	100000
#define DEFAULT_SEED	0x7851c0ffeeULL

static uint64_t rng_state;

/* splitmix64: small, good enough, same sequence everywhere for a seed. */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned int rnd_below(unsigned int n)
{
	return n ? rnd() % n : 0;
}

static uint64_t seed_from_env(void)
{
	const char *s = getenv("XSL_SEED");
	char *end;
	uint64_t v;

	if (!s || !*s)
		return DEFAULT_SEED;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end) {
		fprintf(stderr, "XSL_SEED=%s: not a number, using the default\n", s);
		return DEFAULT_SEED;
	}
	return v;
}

/*
 * Apps, workers and listeners:
 *   app 1 (REASSIGN): workers 0..3, UDP :53 wildcard v4 and v6, TCP :80 v4
 *   app 2 (DROP, CPU steer): workers 10, 11 (CPU 0), TCP :443 v6, UDP 10.0.0.2:53
 *   app 3: UDP :54 with no worker (new flows dropped)
 */
static void configure(struct fx *fx)
{
	__u32 w1[4] = { 0, 1, 2, 3 }, g1[4] = { 1, 1, 1, 1 };
	__u32 w2[2] = { 10, 11 }, g2[2] = { 1, 1 };
	int i;

	assert_int_equal(fx_app(fx, 1, 1, XSL_POLICY_REASSIGN, 0), 0);
	assert_int_equal(fx_app(fx, 2, 1, XSL_POLICY_DROP, XSL_APP_F_CPU_STEER), 0);
	assert_int_equal(fx_app(fx, 3, 1, XSL_POLICY_REASSIGN, 0), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(fx_worker(fx, i, 1, 1, 1, -1), 0);
	assert_int_equal(fx_worker(fx, 10, 1, 2, 1, 0), 0);
	assert_int_equal(fx_worker(fx, 11, 1, 2, 1, 0), 0);
	assert_int_equal(fx_slots(fx, 0, w1, g1, 4), 0);
	assert_int_equal(fx_slots(fx, 1, w2, g2, 2), 0);
	assert_int_equal(fx_slots(fx, 2, NULL, NULL, 0), 0);
	assert_int_equal(fx_listener(fx, XSL_AF_INET, IPPROTO_UDP, NULL, 53, 0, 1, 1, 4), 0);
	assert_int_equal(fx_listener(fx, XSL_AF_INET6, IPPROTO_UDP, NULL, 53, 0, 1, 1, 4), 0);
	assert_int_equal(fx_listener(fx, XSL_AF_INET, IPPROTO_TCP, NULL, 80, 0, 1, 1, 4), 0);
	assert_int_equal(fx_listener(fx, XSL_AF_INET6, IPPROTO_TCP, NULL, 443, 1, 2, 1, 2), 0);
	assert_int_equal(fx_listener(fx, XSL_AF_INET, IPPROTO_UDP, "10.0.0.2", 53, 1, 2, 1, 2), 0);
	assert_int_equal(fx_listener(fx, XSL_AF_INET, IPPROTO_UDP, NULL, 54, 2, 3, 1, 0), 0);
	/* The redirect may fail to be set up (no such CPU): then it passes. */
	fx_cpumap_add(fx, 0);
}

/* A valid packet from small pools, so that flows repeat and hit. */
static void random_valid(struct fx_pkt *p)
{
	static const __u16 ports[] = { 53, 54, 80, 443, 8080 };
	static const __u8 exts[] = { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS };
	int v6 = rnd_below(2), tcp = rnd_below(2), i;
	char src[64], dst[64];

	if (v6) {
		snprintf(src, sizeof(src), "fd00::%x", 1 + rnd_below(64));
		snprintf(dst, sizeof(dst), "fd00::%x", 1 + rnd_below(2));
	} else {
		snprintf(src, sizeof(src), "10.0.%u.%u", rnd_below(4), 1 + rnd_below(64));
		snprintf(dst, sizeof(dst), "10.0.0.%u", 1 + rnd_below(2));
	}
	fx_pkt_init(p, v6 ? XSL_AF_INET6 : XSL_AF_INET, tcp ? IPPROTO_TCP : IPPROTO_UDP, src,
		    1024 + rnd_below(256), dst, ports[rnd_below(5)]);
	p->n_vlans = rnd_below(4) == 0 ? 1 + rnd_below(2) : 0;
	for (i = 0; i < p->n_vlans; i++)
		p->vlan_tpid[i] = rnd_below(2) ? 0x8100 : 0x88a8;
	if (tcp) {
		static const __u8 flags[] = { 0x02, 0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14 };

		p->tcp_flags = flags[rnd_below(8)];
	}
	if (!v6 && rnd_below(4) == 0)
		p->ip_opt_len = 4 * rnd_below(11);
	if (v6 && rnd_below(4) == 0) {
		p->n_ext = 1 + rnd_below(3);
		for (i = 0; i < p->n_ext; i++)
			p->ext[i] = exts[rnd_below(3)];
	}
	if (rnd_below(20) == 0)
		p->frag_off = 0x2000;
	p->payload = rnd_below(64);
}

/* Builds the next packet into buf; returns its length. */
static size_t next_packet(__u8 *buf)
{
	unsigned int kind = rnd_below(100), i, n;
	struct fx_pkt p;
	int len;

	if (kind < 10) {
		/* Random bytes, sometimes behind a plausible Ethernet header. */
		len = rnd_below(300);
		for (i = 0; i < (unsigned int)len; i++)
			buf[i] = rnd();
		if (len >= 14 && rnd_below(2)) {
			int v6 = rnd_below(2);

			buf[12] = v6 ? 0x86 : 0x08;
			buf[13] = v6 ? 0xdd : 0x00;
		}
		return len;
	}

	random_valid(&p);
	len = fx_build(&p, buf, FX_PKT_MAX, NULL);
	assert_true(len > 0);
	if (kind < 35)
		return len;
	if (kind < 75 || kind >= 90) {
		/* Bit flips, mostly in the headers. */
		n = 1 + rnd_below(8);
		for (i = 0; i < n; i++) {
			unsigned int at = rnd_below(rnd_below(4) ? (len < 80 ? len : 80) : len);

			buf[at] ^= 1u << rnd_below(8);
		}
	}
	if (kind >= 75)
		len = rnd_below(len + 1);
	return len;
}

static void dump(const __u8 *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		fprintf(stderr, "%02x%s", buf[i], (i + 1) % 32 ? "" : "\n");
	fprintf(stderr, "\n");
}

static void test_mutated_packets_never_abort(void **state)
{
	__u64 verdicts[5] = { 0 };
	__u8 buf[FX_PKT_MAX];
	struct xsl_stats st;
	uint64_t seed;
	struct fx fx;
	__u32 act;
	long i;
	int a;

	(void)state;
	seed = seed_from_env();
	rng_state = seed;
	printf("mutation: seed %#" PRIx64 " (XSL_SEED to replay), %d packets\n", seed,
	       N_PACKETS);

	assert_int_equal(fx_open(&fx, 4096), 0);
	configure(&fx);
	for (i = 0; i < N_PACKETS; i++) {
		size_t len;

		/* Workers die along the way: sessions get orphaned. */
		if (i == N_PACKETS / 3) {
			assert_int_equal(fx_worker_free(&fx, 1), 0);
			assert_int_equal(fx_worker_free(&fx, 10), 0);
		}
		if (i == 2 * N_PACKETS / 3) {
			assert_int_equal(fx_worker(&fx, 1, 2, 1, 1, -1), 0);
			assert_int_equal(fx_worker_free(&fx, 2), 0);
		}
		len = next_packet(buf);
		assert_int_equal(fx_run(&fx, buf, len, &act), 0);
		if (act == XDP_ABORTED || act > XDP_REDIRECT) {
			fprintf(stderr, "seed %#" PRIx64 " packet %ld (%zu bytes): action %u\n",
				seed, i, len, act);
			dump(buf, len);
			fail();
		}
		verdicts[act]++;
	}

	assert_int_equal(fx_stats(&fx, &st), 0);
	printf("mutation: aborted %llu drop %llu pass %llu tx %llu redirect %llu; "
	       "created %llu reassigned %llu; parse errors %llu\n",
	       (unsigned long long)st.stat[XSL_STAT_XDP_ABORTED],
	       (unsigned long long)st.stat[XSL_STAT_XDP_DROP],
	       (unsigned long long)st.stat[XSL_STAT_XDP_PASS],
	       (unsigned long long)st.stat[XSL_STAT_XDP_TX],
	       (unsigned long long)st.stat[XSL_STAT_XDP_REDIRECT],
	       (unsigned long long)st.stat[XSL_STAT_SESSION_CREATED],
	       (unsigned long long)st.stat[XSL_STAT_SESSION_REASSIGNED],
	       (unsigned long long)fx_sum_parse(&st));
	assert_int_equal(fx_sum_actions(&st), N_PACKETS);
	for (a = XDP_ABORTED; a <= XDP_REDIRECT; a++)
		assert_int_equal(st.stat[a], verdicts[a]);
	assert_int_equal(st.stat[XSL_STAT_XDP_ABORTED], 0);
	assert_int_equal(fx_sum_drops(&st), st.stat[XSL_STAT_XDP_DROP]);
	/* The run exercised what it claims to. */
	assert_true(st.stat[XSL_STAT_XDP_DROP] > 0);
	assert_true(st.stat[XSL_STAT_SESSION_CREATED] > 0);
	assert_true(st.stat[XSL_STAT_LOOKUP_HIT] > 0);
	assert_true(st.stat[XSL_STAT_SESSION_REASSIGNED] > 0);
	assert_true(fx_sum_parse(&st) > 0);
	fx_close(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mutated_packets_never_abort),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
