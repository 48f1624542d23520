// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The pure parts of the session table (include/xsl/session.h,
 * user/sesstab.h): layout, hash and placement, header init and open, and
 * the userspace operations on a table in plain memory: insert into the
 * first bucket then the second, exact overflow counts through deletes,
 * duplicate detection in lookup order, re-home by CAS, scans.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <setjmp.h>
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "clock.h"
#include "sesstab.h"
#include "xsl/hash.h"

#define NB	16

static void *table_mem(uint32_t nbuckets, size_t *len)
{
	void *m;

	*len = sesstab__bytes(nbuckets);
	m = aligned_alloc(64, *len);
	assert_non_null(m);
	memset(m, 0, *len);
	return m;
}

static struct xsl_flow_key key4(uint32_t raddr, uint16_t rport)
{
	struct xsl_flow_key k;

	memset(&k, 0, sizeof(k));
	k.family = XSL_AF_INET;
	k.proto = 17;
	k.raddr[0] = htonl(raddr);
	k.laddr[0] = htonl(0x0a000001);
	k.rport = htons(rport);
	k.lport = htons(53);
	return k;
}

static struct xsl_session sess(uint32_t worker)
{
	return (struct xsl_session){ .worker = worker, .worker_gen = 7, .app = 3, .listener = 2,
				     .packets = 1, .bytes = 100, .last_seen_ns = mono_ns() - 3000000000ull };
}

static void test_layout(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct xsl_sess_tags), 64);
	assert_int_equal(sizeof(struct xsl_sess_entry), 64);
	assert_int_equal(sizeof(struct xsl_sess_bucket), 576);
	assert_int_equal(offsetof(struct xsl_sess_bucket, e), 64);
	assert_int_equal(offsetof(struct xsl_sess_entry, route), 40);
	assert_int_equal(offsetof(struct xsl_sess_tags, state), 48);
	/* the default table: 1M ways in 72 MiB (and the header) */
	assert_int_equal(sesstab__bytes(XSL_SESS_BUCKETS_DEFAULT) - 576,
			 (size_t)XSL_MAX_SESSIONS / 8 * 576);
	assert_int_equal(sesstab__buckets_for(1), 1);
	assert_int_equal(sesstab__buckets_for(8), 1);
	assert_int_equal(sesstab__buckets_for(9), 2);
	assert_int_equal(sesstab__buckets_for(1000), 128);
	assert_int_equal(sesstab__buckets_for(XSL_MAX_SESSIONS), XSL_SESS_BUCKETS_DEFAULT);
}

static void test_route_packs_and_unpacks(void **state)
{
	uint64_t r = xsl_route(4095, 0xdeadbeef, 255, 254);

	(void)state;
	assert_int_equal(xsl_route_worker(r), 4095);
	assert_int_equal(xsl_route_gen(r), 0xdeadbeef);
	assert_int_equal(xsl_route_app(r), 255);
	assert_int_equal(xsl_route_listener(r), 254);
}

static void test_place_is_deterministic_and_seeded(void **state)
{
	struct xsl_flow_key k = key4(0xc6120001, 4000);
	struct xsl_sess_pos a, b, c;
	int differ = 0;

	(void)state;
	xsl_sess_place(&k, 1, NB - 1, &a);
	xsl_sess_place(&k, 1, NB - 1, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	/* the fixed seed gives the hash tools and tests predict slots with */
	xsl_sess_place(&k, XSL_HASH_SEED, NB - 1, &c);
	assert_int_equal(c.hash, xsl_flow_hash(&k));
	for (uint32_t i = 0; i < 64; i++) {
		k = key4(0xc6120000 + i, 4000);
		xsl_sess_place(&k, 1, 0xffff, &a);
		xsl_sess_place(&k, 2, 0xffff, &b);
		differ += a.b1 != b.b1;
		/* real tags are never EMPTY or BUSY; the buckets differ and pair up */
		assert_true(a.tag >= XSL_TAG_BIT);
		assert_int_not_equal(a.b1, a.b2);
		assert_int_equal(xsl_sess_other(a.b2, a.tag, 0xffff), a.b1);
		assert_int_equal(a.b1, a.hash & 0xffff);
	}
	/* another seed sends flows elsewhere */
	assert_true(differ > 48);
}

static void test_init_and_open(void **state)
{
	struct sesstab t;
	size_t len;
	void *m = table_mem(NB, &len);

	(void)state;
	assert_int_equal(sesstab__open(&t, m, len), -ENODATA);
	assert_int_equal(sesstab__init(m, 100, 1), -EINVAL);
	assert_int_equal(sesstab__init(m, len, 42), 0);
	/* a second writer keeps the first one's seed */
	assert_int_equal(sesstab__init(m, len, 43), -EEXIST);
	assert_int_equal(sesstab__open(&t, m, len), 0);
	assert_int_equal(t.nbuckets, NB);
	assert_int_equal(t.seed, 42);
	/* the data path's hash secrets and jiffies per second are written */
	assert_int_equal(t.hdr->secret[3], xsl_hash_secret(42, 3));
	assert_true(t.hdr->hz >= 100 && t.hdr->hz <= XSL_HZ_MAX);
	/* a geometry that does not fit the memory is refused */
	assert_int_equal(sesstab__open(&t, m, len - 576), -EINVAL);
	free(m);
}

static void open_table(struct sesstab *t, void **m, uint32_t nb)
{
	size_t len;

	*m = table_mem(nb, &len);
	assert_int_equal(sesstab__init(*m, len, XSL_HASH_SEED), 0);
	assert_int_equal(sesstab__open(t, *m, len), 0);
}

static uint32_t overflow_sum(const struct sesstab *t)
{
	uint32_t n = 0;

	for (uint32_t b = 0; b < t->nbuckets; b++)
		n += t->b[b].t.overflow;
	return n;
}

static uint32_t alt_count(const struct sesstab *t)
{
	uint32_t n = 0;

	for (uint32_t b = 0; b < t->nbuckets; b++)
		for (int i = 0; i < XSL_SESS_WAYS; i++)
			n += t->b[b].t.tag[i] >= XSL_TAG_BIT &&
			     (t->b[b].t.state[i] & XSL_WAY_ALT);
	return n;
}

static void test_put_find_read(void **state)
{
	struct xsl_flow_key k = key4(0xc6120001, 4000), got;
	struct xsl_session s = sess(5), r;
	struct sesstab_way w;
	struct sesstab t;
	void *m;

	(void)state;
	open_table(&t, &m, NB);
	assert_int_equal(sesstab__find(&t, &k, &w), -ENOENT);
	s.state = XSL_SESSION_CLOSING;
	s.flags = XSL_SESSION_F_ASSURED;
	assert_int_equal(sesstab__put(&t, &k, &s), 0);
	assert_int_equal(sesstab__find(&t, &k, &w), 0);
	assert_int_equal(sesstab__read(&t, &w, &got, &r), 0);
	assert_memory_equal(&got, &k, sizeof(k));
	assert_int_equal(r.worker, 5);
	assert_int_equal(r.worker_gen, 7);
	assert_int_equal(r.app, 3);
	assert_int_equal(r.listener, 2);
	assert_int_equal(r.packets, 1);
	assert_int_equal(r.bytes, 100);
	assert_int_equal(r.state, XSL_SESSION_CLOSING);
	assert_int_equal(r.flags, XSL_SESSION_F_ASSURED);
	/* last_seen is kept in jiffies: read back to within a tick */
	assert_true(r.last_seen_ns <= s.last_seen_ns &&
		    r.last_seen_ns + 1000000000ull / 100 > s.last_seen_ns);
	assert_int_equal(sesstab__count(&t), 1);
	free(m);
}

/* last_seen is stored in jiffies and read back as CLOCK_MONOTONIC, to a
 * tick, for times near now and weeks ago; the tag line's tick follows. */
static void test_last_seen_round_trips(void **state)
{
	const uint64_t ages_ms[] = { 0, 1, 1500, 3600000, 20ull * 86400000 };
	struct xsl_flow_key k = key4(0xc6120001, 4000), got;
	struct xsl_session s = sess(5), r;
	struct sesstab_way w;
	struct sesstab t;
	uint16_t tick0 = 0;
	void *m;

	(void)state;
	open_table(&t, &m, NB);
	for (unsigned int i = 0; i < sizeof(ages_ms) / sizeof(ages_ms[0]); i++) {
		uint64_t now = mono_ns(), age = ages_ms[i] * 1000000ull;
		uint16_t tick;

		if (age > now)
			continue;
		s.last_seen_ns = now - age;
		assert_int_equal(sesstab__put(&t, &k, &s), 0);
		assert_int_equal(sesstab__find(&t, &k, &w), 0);
		assert_int_equal(sesstab__read(&t, &w, &got, &r), 0);
		/* the start of the jiffy it fell in: not later, within a tick */
		assert_true(r.last_seen_ns <= s.last_seen_ns);
		assert_true(r.last_seen_ns + 1000000000ull / 100 > s.last_seen_ns);
		/* the coarse tick of an hour ago is behind now's */
		tick = t.b[w.bucket].t.seen[w.way];
		if (i == 0)
			tick0 = tick;
		if (ages_ms[i] == 3600000)
			assert_true((uint16_t)(tick0 - tick) >= 3600 / 3);
	}
	free(m);
}

/* Nine flows of one first bucket: the ninth goes to its second bucket,
 * counted in the first's overflow, and is found there; deletes keep the
 * count exact. */
static void test_overflow_to_second_bucket(void **state)
{
	struct xsl_flow_key keys[64], k;
	struct sesstab_way w;
	struct xsl_sess_pos p0, p;
	struct sesstab t;
	int n = 0;
	void *m;

	(void)state;
	open_table(&t, &m, NB);
	k = key4(0xc6120000, 4000);
	sesstab__place(&t, &k, &p0);
	for (uint32_t i = 0; n < 9; i++) {
		k = key4(0xc6120000 + i, 4000);
		sesstab__place(&t, &k, &p);
		if (p.b1 == p0.b1)
			keys[n++] = k;
	}
	for (int i = 0; i < 9; i++)
		assert_int_equal(sesstab__put(&t, &keys[i], &(struct xsl_session){ .worker = i }), 0);
	assert_int_equal(t.b[p0.b1].t.overflow, 1);
	assert_int_equal(alt_count(&t), 1);
	sesstab__place(&t, &keys[8], &p);
	for (int i = 0; i < 9; i++) {
		assert_int_equal(sesstab__find(&t, &keys[i], &w), 0);
		assert_int_equal(w.bucket, i < 8 ? p0.b1 : p.b2);
	}
	/* deleting the overflowed flow returns the count to zero */
	assert_int_equal(sesstab__find(&t, &keys[8], &w), 0);
	assert_int_equal(sesstab__delete(&t, &w), 0);
	assert_int_equal(t.b[p0.b1].t.overflow, 0);
	/* a second delete of the same way is stale */
	assert_int_equal(sesstab__delete(&t, &w), -ESTALE);
	assert_int_equal(t.b[p0.b1].t.overflow, 0);
	assert_int_equal(sesstab__count(&t), 8);
	free(m);
}

/* Fill a small table to refusal, delete everything: every overflow count
 * goes back to zero, and at every step it equals the ALT ways. */
static void test_overflow_counts_exact_through_fill_and_drain(void **state)
{
	struct sesstab_way w;
	struct sesstab t;
	uint32_t stored = 0, refused = 0;
	void *m;

	(void)state;
	open_table(&t, &m, 4);
	for (uint32_t i = 0; i < 64; i++) {
		struct xsl_flow_key k = key4(0xc6130000 + i, 1000);

		if (sesstab__put(&t, &k, &(struct xsl_session){ .worker = 1 }))
			refused++;
		else
			stored++;
		assert_int_equal(overflow_sum(&t), alt_count(&t));
	}
	assert_int_equal(stored, sesstab__count(&t));
	assert_true(stored <= 32);
	assert_true(refused >= 32);
	for (uint32_t i = 0; i < 64; i++) {
		struct xsl_flow_key k = key4(0xc6130000 + i, 1000);

		if (!sesstab__find(&t, &k, &w))
			assert_int_equal(sesstab__delete(&t, &w), 0);
		assert_int_equal(overflow_sum(&t), alt_count(&t));
	}
	assert_int_equal(sesstab__count(&t), 0);
	assert_int_equal(overflow_sum(&t), 0);
	free(m);
}

/* Two ways holding one flow (two CPUs created it at once): the later one in
 * lookup order is the duplicate, the first is what lookups serve. */
static void test_duplicate_is_the_later_way(void **state)
{
	struct xsl_flow_key k = key4(0xc6120009, 4009), got;
	struct xsl_session s = sess(4), r;
	struct sesstab_way w, first;
	struct xsl_sess_pos p;
	struct xsl_sess_bucket *b;
	struct sesstab t;
	void *m;

	(void)state;
	open_table(&t, &m, NB);
	assert_int_equal(sesstab__put(&t, &k, &s), 0);
	assert_int_equal(sesstab__find(&t, &k, &first), 0);
	assert_false(sesstab__duplicate(&t, &first, &k));
	/* a second copy in another way of the first bucket, as the data path
	 * would leave it */
	sesstab__place(&t, &k, &p);
	b = &t.b[p.b1];
	b->e[5] = b->e[first.way];
	b->t.seen[5] = b->t.seen[first.way];
	b->t.tag[5] = p.tag;
	w = (struct sesstab_way){ .bucket = p.b1, .way = 5, .tag = p.tag };
	assert_true(sesstab__duplicate(&t, &w, &k));
	assert_false(sesstab__duplicate(&t, &first, &k));
	assert_int_equal(sesstab__delete(&t, &w), 0);
	assert_int_equal(sesstab__find(&t, &k, &w), 0);
	assert_int_equal(w.way, first.way);
	assert_int_equal(sesstab__read(&t, &w, &got, &r), 0);
	assert_int_equal(r.worker, 4);
	free(m);
}

static void test_rehome_is_a_cas_of_the_route(void **state)
{
	struct xsl_flow_key k = key4(0xc612000a, 4010), got;
	struct xsl_session r;
	struct sesstab_way w;
	struct sesstab t;
	uint64_t old = xsl_route(4, 7, 3, 2), moved = xsl_route(9, 1, 3, 2);
	void *m;

	(void)state;
	open_table(&t, &m, NB);
	assert_int_equal(sesstab__put(&t, &k, &(struct xsl_session){ .worker = 4, .worker_gen = 7,
								      .app = 3, .listener = 2 }), 0);
	assert_int_equal(sesstab__find(&t, &k, &w), 0);
	assert_int_equal(sesstab__rehome(&t, &w, moved, old), -ESTALE);
	assert_int_equal(sesstab__rehome(&t, &w, old, moved), 0);
	assert_int_equal(sesstab__read(&t, &w, &got, &r), 0);
	assert_int_equal(r.worker, 9);
	assert_int_equal(r.worker_gen, 1);
	/* a way deleted since it was read is not re-homed */
	assert_int_equal(sesstab__delete(&t, &w), 0);
	assert_int_equal(sesstab__rehome(&t, &w, moved, old), -ESTALE);
	assert_int_equal(sesstab__find(&t, &k, &w), -ENOENT);
	free(m);
}

static int count_one(const struct sesstab_way *w, const struct xsl_flow_key *k,
		     const struct xsl_session *s, void *ctx)
{
	(void)w;
	(void)k;
	(void)s;
	return ++*(int *)ctx == 3;
}

static void test_scan_visits_every_session_and_stops(void **state)
{
	struct sesstab t;
	int n = 0;
	void *m;

	(void)state;
	open_table(&t, &m, NB);
	for (uint32_t i = 0; i < 40; i++) {
		struct xsl_flow_key k = key4(0xc6140000 + i, 1000);

		assert_int_equal(sesstab__put(&t, &k, &(struct xsl_session){ .worker = 1 }), 0);
	}
	assert_true(sesstab__scan(&t, 0, NB, count_one, &n) <= NB);
	assert_int_equal(n, 3);
	n = -1000;
	assert_int_equal(sesstab__scan(&t, 0, NB, count_one, &n), NB);
	assert_int_equal(n + 1000, 40);
	/* a scan past the end is clipped */
	assert_int_equal(sesstab__scan(&t, NB - 1, 100, count_one, &n), NB);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_route_packs_and_unpacks),
		cmocka_unit_test(test_place_is_deterministic_and_seeded),
		cmocka_unit_test(test_init_and_open),
		cmocka_unit_test(test_put_find_read),
		cmocka_unit_test(test_last_seen_round_trips),
		cmocka_unit_test(test_overflow_to_second_bucket),
		cmocka_unit_test(test_overflow_counts_exact_through_fill_and_drain),
		cmocka_unit_test(test_duplicate_is_the_later_way),
		cmocka_unit_test(test_rehome_is_a_cas_of_the_route),
		cmocka_unit_test(test_scan_visits_every_session_and_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
