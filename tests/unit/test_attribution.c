// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Socket attribution decisions (user/attribution.h): which holders each
 * listener socket serves, for the ways servers hand sockets out: a master
 * holding all while each worker keeps one, nginx's workers holding all and
 * polling one, one socket shared by all; at most one socket per worker and
 * listener, keys compared whole, and the pass's capacity limits. Also the
 * epoll fdinfo line parser.
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
#include <netinet/in.h>
#include <cmocka.h>
#include "attribution.h"
#include "xsl/limits.h"

static struct xsl_listener_key key4(uint8_t proto, uint16_t port)
{
	return (struct xsl_listener_key){ .family = XSL_AF_INET, .proto = proto,
					  .port = htons(port) };
}

static struct xsl_listener_key key6(uint8_t proto, uint16_t port)
{
	return (struct xsl_listener_key){ .family = XSL_AF_INET6, .proto = proto,
					  .port = htons(port) };
}

static int setup(void **state)
{
	struct xsl_attr *at = calloc(1, sizeof(*at));

	if (!at)
		return -1;
	attr__reset(at);
	*state = at;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* The cookie of the socket the pass wants for (key, worker), 0 for none. */
static uint64_t wanted(const struct xsl_attr *at, const struct xsl_listener_key *k, uint32_t w)
{
	const struct xsl_attr_sock *s = attr__wanted(at, k, w);

	return s ? s->cookie : 0;
}

/* The servers of the socket with cookie, as a bit set of worker indexes. */
static uint64_t servers(const struct xsl_attr *at, uint64_t cookie)
{
	uint64_t set = 0;

	for (unsigned int i = 0; i < at->n; i++) {
		if (at->socks[i].cookie != cookie)
			continue;
		for (uint32_t k = 0; k < at->socks[i].n_server; k++)
			set |= 1ull << at->socks[i].server[k];
	}
	return set;
}

/* A master (worker 0) binds four reuseport sockets and forks three workers,
 * each closing all but one: each worker gets the one it kept, the master
 * only the socket no worker kept. */
static void test_attr_workers_get_theirs_master_is_fallback(void **state)
{
	struct xsl_attr *at = *state;
	struct xsl_listener_key k = key4(IPPROTO_TCP, 8080);

	for (uint64_t c = 1; c <= 4; c++)
		assert_int_equal(attr__add(at, c, &k, false, 0, false), 0);
	for (uint32_t w = 1; w <= 3; w++)
		assert_int_equal(attr__add(at, w, &k, false, w, false), 0);
	attr__choose(at);

	for (uint32_t w = 1; w <= 3; w++) {
		assert_int_equal(servers(at, w), 1ull << w);
		assert_int_equal(wanted(at, &k, w), w);
	}
	assert_int_equal(servers(at, 4), 1ull << 0);
	assert_int_equal(wanted(at, &k, 0), 4);
}

/* Once every worker is gone, the master holding all four serves one. */
static void test_attr_master_alone_serves_one(void **state)
{
	struct xsl_attr *at = *state;
	struct xsl_listener_key k = key4(IPPROTO_UDP, 5353);

	for (uint64_t c = 1; c <= 4; c++)
		attr__add(at, c, &k, false, 0, false);
	attr__choose(at);

	assert_int_equal(servers(at, 1), 1ull << 0);
	for (uint64_t c = 2; c <= 4; c++)
		assert_int_equal(servers(at, c), 0);
	assert_int_equal(wanted(at, &k, 0), 1);
}

/* nginx: every worker holds every reuseport socket and polls only its own;
 * the master holds them all and polls none. The pollers win. */
static void test_attr_nginx_pollers_win(void **state)
{
	struct xsl_attr *at = *state;
	struct xsl_listener_key k = key4(IPPROTO_TCP, 80);

	for (uint64_t c = 1; c <= 4; c++)
		attr__add(at, c, &k, false, 0, false);
	for (uint32_t w = 1; w <= 4; w++)
		for (uint64_t c = 1; c <= 4; c++)
			assert_int_equal(attr__add(at, c, &k, false, w, c == w), 0);
	attr__choose(at);

	for (uint32_t w = 1; w <= 4; w++) {
		assert_int_equal(servers(at, w), 1ull << w);
		assert_int_equal(wanted(at, &k, w), w);
	}
	assert_int_equal(wanted(at, &k, 0), 0);
}

/* Pollers are counted by the sockets they poll, not those they hold: a
 * worker that polls the shared socket but also holds two unpolled ones of
 * its listener is served by the shared one like the other poller. */
static void test_attr_pollers_counted_by_what_they_poll(void **state)
{
	struct xsl_attr *at = *state;
	struct xsl_listener_key k = key4(IPPROTO_TCP, 80);

	attr__add(at, 1, &k, false, 1, true);
	attr__add(at, 1, &k, false, 2, true);
	attr__add(at, 2, &k, false, 2, false);
	attr__add(at, 3, &k, false, 2, false);
	attr__choose(at);

	assert_int_equal(servers(at, 1), (1ull << 1) | (1ull << 2));
	assert_int_equal(servers(at, 2), 0);
	assert_int_equal(servers(at, 3), 0);
}

/* Polling is recorded whichever order the holder's sockets come in, and a
 * socket added again by the same holder is one holder that polls. */
static void test_attr_same_holder_twice_merges_polls(void **state)
{
	struct xsl_attr *at = *state;
	struct xsl_listener_key k = key4(IPPROTO_TCP, 80);

	attr__add(at, 7, &k, false, 3, false);
	attr__add(at, 7, &k, false, 3, true);
	attr__add(at, 7, &k, false, 3, false);
	attr__add(at, 7, &k, false, 5, false);
	assert_int_equal(at->n, 1);
	assert_int_equal(at->socks[0].n_holder, 2);
	assert_true(at->socks[0].polled);
	assert_true(at->socks[0].polls[0]);
	assert_false(at->socks[0].polls[1]);
	attr__choose(at);
	/* worker 5 holds it but does not poll it */
	assert_int_equal(servers(at, 7), 1ull << 3);
}

/* One socket without reuseport, shared by master and workers (Apache
 * prefork, gunicorn): it serves every holder, polling or not. */
static void test_attr_shared_socket_serves_every_holder(void **state)
{
	struct xsl_attr *at = *state;
	struct xsl_listener_key k = key4(IPPROTO_TCP, 8000);

	for (uint32_t w = 0; w <= 5; w++)
		attr__add(at, 42, &k, false, w, false);
	attr__choose(at);

	assert_int_equal(servers(at, 42), 0x3f);
	for (uint32_t w = 0; w <= 5; w++)
		assert_int_equal(wanted(at, &k, w), 42);
	assert_int_equal(wanted(at, &k, 6), 0);
}

/* A shared socket that every holder polls serves them all too. */
static void test_attr_shared_socket_all_polling(void **state)
{
	struct xsl_attr *at = *state;
	struct xsl_listener_key k = key4(IPPROTO_UDP, 53);

	for (uint32_t w = 1; w <= 3; w++)
		attr__add(at, 9, &k, false, w, true);
	attr__choose(at);
	assert_int_equal(servers(at, 9), 0xe);
}

/* A worker holding two sockets of one listener (and alone) serves with the
 * first only: the data path has one slot per listener and worker. */
static void test_attr_one_socket_per_worker_and_listener(void **state)
{
	struct xsl_attr *at = *state;
	struct xsl_listener_key k = key4(IPPROTO_TCP, 443);
	struct xsl_listener_key other = key4(IPPROTO_TCP, 444);

	attr__add(at, 1, &k, false, 2, false);
	attr__add(at, 2, &k, false, 2, false);
	attr__add(at, 3, &other, false, 2, false);
	attr__choose(at);

	assert_int_equal(servers(at, 1), 1ull << 2);
	assert_int_equal(servers(at, 2), 0);
	assert_int_equal(wanted(at, &k, 2), 1);
	/* another listener's socket is served besides */
	assert_int_equal(wanted(at, &other, 2), 3);
}

/* Keys are compared whole: a dual-stack [::]:53, 0.0.0.0:53 and UDP vs TCP
 * on one port are different listeners, each served; the dual flag is kept. */
static void test_attr_dual_stack_and_families_are_distinct_keys(void **state)
{
	struct xsl_attr *at = *state;
	struct xsl_listener_key v6 = key6(IPPROTO_UDP, 53), v4 = key4(IPPROTO_UDP, 53);
	struct xsl_listener_key t6 = key6(IPPROTO_TCP, 53);
	const struct xsl_attr_sock *s;

	attr__add(at, 1, &v6, true, 1, false);
	attr__add(at, 2, &v4, false, 1, false);
	attr__add(at, 3, &t6, true, 1, false);
	attr__choose(at);

	s = attr__wanted(at, &v6, 1);
	assert_non_null(s);
	assert_int_equal(s->cookie, 1);
	assert_true(s->dual);
	s = attr__wanted(at, &v4, 1);
	assert_non_null(s);
	assert_int_equal(s->cookie, 2);
	assert_false(s->dual);
	assert_int_equal(wanted(at, &t6, 1), 3);
}

/* One cookie under two keys (a socket seen before and after a rebind) is
 * two entries. */
static void test_attr_same_cookie_other_key_is_another_entry(void **state)
{
	struct xsl_attr *at = *state;
	struct xsl_listener_key a = key4(IPPROTO_UDP, 1000), b = key4(IPPROTO_UDP, 1001);

	attr__add(at, 5, &a, false, 1, false);
	attr__add(at, 5, &b, false, 1, false);
	assert_int_equal(at->n, 2);
}

/* XSL_ATTR_MAX_SOCKS sockets fit, the next is left out with -ENOSPC; those
 * in can still take holders. */
static void test_attr_socket_capacity(void **state)
{
	struct xsl_attr *at = *state;
	struct xsl_listener_key k;

	for (unsigned int i = 0; i < XSL_ATTR_MAX_SOCKS; i++) {
		k = key4(IPPROTO_UDP, (uint16_t)(1000 + i));
		assert_int_equal(attr__add(at, i + 1, &k, false, 1, false), 0);
	}
	k = key4(IPPROTO_UDP, 9999);
	assert_int_equal(attr__add(at, 99999, &k, false, 1, false), -ENOSPC);
	assert_int_equal(at->n, XSL_ATTR_MAX_SOCKS);
	k = key4(IPPROTO_UDP, 1000);
	assert_int_equal(attr__add(at, 1, &k, false, 2, false), 0);
	attr__choose(at);
	assert_int_equal(servers(at, 1), (1ull << 1) | (1ull << 2));
	k = key4(IPPROTO_UDP, 9999);
	assert_int_equal(wanted(at, &k, 1), 0);

	attr__reset(at);
	assert_int_equal(at->n, 0);
	assert_int_equal(attr__add(at, 99999, &k, false, 1, false), 0);
}

/* XSL_ATTR_MAX_HOLDERS holders of one socket are counted, the next is left
 * out with -ENOSPC and serves nothing. */
static void test_attr_holder_capacity(void **state)
{
	struct xsl_attr *at = *state;
	struct xsl_listener_key k = key4(IPPROTO_TCP, 80);

	for (uint32_t w = 0; w < XSL_ATTR_MAX_HOLDERS; w++)
		assert_int_equal(attr__add(at, 1, &k, false, w + 10, false), 0);
	assert_int_equal(attr__add(at, 1, &k, false, 1000, false), -ENOSPC);
	/* a holder already in is still merged */
	assert_int_equal(attr__add(at, 1, &k, false, 10, true), 0);
	attr__choose(at);

	assert_int_equal(at->socks[0].n_holder, XSL_ATTR_MAX_HOLDERS);
	assert_int_equal(wanted(at, &k, 10), 1);
	assert_int_equal(wanted(at, &k, 11), 0);
	assert_int_equal(wanted(at, &k, 1000), 0);
}

/* The full holder set without polling serves all XSL_ATTR_MAX_HOLDERS. */
static void test_attr_holder_capacity_shared(void **state)
{
	struct xsl_attr *at = *state;
	struct xsl_listener_key k = key4(IPPROTO_TCP, 80);

	for (uint32_t w = 0; w <= XSL_ATTR_MAX_HOLDERS; w++)
		attr__add(at, 1, &k, false, w, false);
	attr__choose(at);
	assert_int_equal(at->socks[0].n_server, XSL_ATTR_MAX_HOLDERS);
	assert_int_equal(wanted(at, &k, XSL_ATTR_MAX_HOLDERS - 1), 1);
	assert_int_equal(wanted(at, &k, XSL_ATTR_MAX_HOLDERS), 0);
}

/* The kernel's eventpoll fdinfo "tfd:" lines (fs/eventpoll.c); others are
 * not files. */
static void test_attr_parse_tfd(void **state)
{
	struct xsl_attr_file f;

	(void)state;
	assert_int_equal(attr__parse_tfd("tfd:        7 events:       19 data:                7"
					 "  pos:0 ino:3b9a sdev:8\n", &f), 0);
	assert_int_equal(f.ino, 0x3b9a);
	assert_int_equal(f.major, 0);
	assert_int_equal(f.minor, 8);
	assert_int_equal(attr__parse_tfd("tfd:       12 events:       19 data:                c"
					 "  pos:0 ino:ffffffff1 sdev:800003\n", &f), 0);
	assert_int_equal(f.ino, 0xffffffff1ull);
	assert_int_equal(f.major, 8);
	assert_int_equal(f.minor, 3);
	assert_int_equal(attr__parse_tfd("pos:\t0\n", &f), -EINVAL);
	assert_int_equal(attr__parse_tfd("flags:\t02000002\n", &f), -EINVAL);
	assert_int_equal(attr__parse_tfd("tfd: 7 events: 19\n", &f), -EINVAL);
	assert_int_equal(attr__parse_tfd("tfd: 7 ino:zz sdev:8\n", &f), -EINVAL);
	assert_int_equal(attr__parse_tfd("", &f), -EINVAL);
}

static void test_attr_file_in(void **state)
{
	const struct xsl_attr_file files[] = {
		{ .ino = 1, .major = 0, .minor = 8 },
		{ .ino = 2, .major = 8, .minor = 3 },
	};
	struct xsl_attr_file f = { .ino = 2, .major = 8, .minor = 3 };

	(void)state;
	assert_true(attr__file_in(files, 2, &f));
	f.minor = 8;	/* same inode number, another device */
	assert_false(attr__file_in(files, 2, &f));
	f = files[1];
	assert_false(attr__file_in(files, 1, &f));
	assert_false(attr__file_in(files, 0, &f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_attr_workers_get_theirs_master_is_fallback),
		T(test_attr_master_alone_serves_one),
		T(test_attr_nginx_pollers_win),
		T(test_attr_pollers_counted_by_what_they_poll),
		T(test_attr_same_holder_twice_merges_polls),
		T(test_attr_shared_socket_serves_every_holder),
		T(test_attr_shared_socket_all_polling),
		T(test_attr_one_socket_per_worker_and_listener),
		T(test_attr_dual_stack_and_families_are_distinct_keys),
		T(test_attr_same_cookie_other_key_is_another_entry),
		T(test_attr_socket_capacity),
		T(test_attr_holder_capacity),
		T(test_attr_holder_capacity_shared),
		cmocka_unit_test(test_attr_parse_tfd),
		cmocka_unit_test(test_attr_file_in),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
