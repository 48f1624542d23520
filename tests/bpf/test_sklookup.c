// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sk_lookup with real sockets in a private network namespace: sessions are
 * steered to their worker's socket (UDP and TCP, v4, v6 and v4 on a
 * dual-stack socket); a worker whose socket is gone loses its flows to a
 * worker that has one; with no socket left, traffic is dropped and counted,
 * never delivered to another socket on the port; other ports are untouched
 * (also by the port filter, when enabled).
 * The maps are an unpinned fixture instance shared with the sk_lookup object.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "xsl/maps.h"
#include "fixture.h"
#include "xsl_sklookup.skel.h"

#define PORT 7700
#define OTHER_PORT 7701
#define N_FLOWS 24

struct sk_env {
	struct fx fx;
	struct xsl_sklookup *skel;
	struct bpf_link *link;
	int wsocks_fd;
};

static int sk_setup(void **state)
{
	struct sk_env *env = calloc(1, sizeof(*env));
	struct bpf_map *map;
	int netns, err;

	if (!env || fx_open(&env->fx, 0))
		return -1;
	env->skel = xsl_sklookup__open();
	if (!env->skel)
		return -1;
	/* Share the fixture's maps: one set, as under a pin root. */
	bpf_object__for_each_map(map, env->skel->obj) {
		int fd = fx_map_fd(&env->fx, bpf_map__name(map));

		if (fd < 0 || bpf_map__set_pin_path(map, NULL) || bpf_map__reuse_fd(map, fd))
			return -1;
	}
	err = xsl_sklookup__load(env->skel);
	if (err) {
		fprintf(stderr, "load xsl_sklookup: %s\n", strerror(-err));
		return -1;
	}
	netns = open("/proc/self/ns/net", O_RDONLY);
	env->link = bpf_program__attach_netns(env->skel->progs.xsl_sk_lookup, netns);
	close(netns);
	if (!env->link) {
		fprintf(stderr, "attach sk_lookup to netns: %s\n", strerror(errno));
		return -1;
	}
	env->wsocks_fd = fx_map_fd(&env->fx, XSL_MAP_WSOCKS);
	*state = env;
	return 0;
}

static int sk_teardown(void **state)
{
	struct sk_env *env = *state;

	bpf_link__destroy(env->link);
	xsl_sklookup__destroy(env->skel);
	fx_close(&env->fx);
	free(env);
	return 0;
}

static void sa_make(int family, const char *addr, __u16 port, struct sockaddr_storage *ss,
		    socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
		*len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
		*len = sizeof(*s6);
	}
}

/* A reuseport socket bound to addr:port; TCP ones listen. */
static int server_socket(int family, int type, const char *addr, __u16 port, int v6only)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd;

	fd = socket(family, type | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
	if (family == AF_INET6)
		assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
					    sizeof(v6only)), 0);
	sa_make(family, addr, port, &ss, &len);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 64), 0);
	return fd;
}

static void wsock_put(struct sk_env *env, __u32 listener, __u32 worker, int fd)
{
	struct xsl_wsock_key k = { .listener = listener, .worker = worker };
	__u64 value = (__u64)fd;

	assert_int_equal(bpf_map_update_elem(env->wsocks_fd, &k, &value, BPF_ANY), 0);
}

/* Index in socks[] of the one that becomes readable, -1 if none in time. */
static int which_ready(const int *socks, int n, int timeout_ms)
{
	struct pollfd p[8];

	for (int i = 0; i < n; i++)
		p[i] = (struct pollfd){ .fd = socks[i], .events = POLLIN };
	if (poll(p, n, timeout_ms) <= 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (p[i].revents & POLLIN)
			return i;
	return -1;
}

static void drain_udp(int fd)
{
	char buf[64];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* The fixture's round-robin table: the worker a client's flow must reach. */
static __u32 expected_worker(int family, __u8 proto, int client, const char *laddr, __u16 lport,
			     unsigned int n_workers)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct xsl_flow_key k = {};

	assert_int_equal(getsockname(client, (struct sockaddr *)&ss, &len), 0);
	k.proto = proto;
	k.lport = htons(lport);
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		k.family = XSL_AF_INET;
		k.raddr[0] = s4->sin_addr.s_addr;
		k.rport = s4->sin_port;
		inet_pton(AF_INET, laddr, &k.laddr[0]);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		k.family = XSL_AF_INET6;
		memcpy(k.raddr, &s6->sin6_addr, 16);
		k.rport = s6->sin6_port;
		inet_pton(AF_INET6, laddr, k.laddr);
	}
	return fx_slot_of(&k) % n_workers;
}

static int udp_client(int family, const char *addr, __u16 port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(family, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	sa_make(family, addr, port, &ss, &len);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	return fd;
}

/* Clients stay open until the end of a test, so no two flows share a
 * source port (a reused port would be the same flow, already steered). */
static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static void udp_steers(struct sk_env *env, int family, const char *addr)
{
	int socks[2], hits[2] = { 0, 0 }, clients[N_FLOWS];
	struct xsl_stats st;

	assert_int_equal(fx_simple(&env->fx, family == AF_INET ? XSL_AF_INET : XSL_AF_INET6,
				   IPPROTO_UDP, PORT, 2, XSL_POLICY_REASSIGN), 0);
	for (int w = 0; w < 2; w++) {
		socks[w] = server_socket(family, SOCK_DGRAM, addr, PORT, 1);
		wsock_put(env, 0, w, socks[w]);
	}
	for (int f = 0; f < N_FLOWS; f++) {
		int c = udp_client(family, addr, PORT);
		__u32 want;

		/* several datagrams per flow: every one reaches the same worker */
		for (int d = 0; d < 3; d++) {
			assert_int_equal(send(c, "x", 1, 0), 1);
			want = expected_worker(family, IPPROTO_UDP, c, addr, PORT, 2);
			assert_int_equal(which_ready(socks, 2, 500), (int)want);
			drain_udp(socks[want]);
		}
		hits[want]++;
		clients[f] = c;
	}
	close_all(clients, N_FLOWS);
	/* both workers got flows, so the steering is not one socket by luck */
	assert_true(hits[0] > 0 && hits[1] > 0);
	assert_int_equal(fx_session_count(&env->fx), N_FLOWS);
	assert_int_equal(fx_stats(&env->fx, &st), 0);
	assert_int_equal(st.stat[XSL_STAT_SK_ASSIGNED], N_FLOWS * 3);
	assert_int_equal(st.stat[XSL_STAT_SESSION_CREATED], N_FLOWS);
	close(socks[0]);
	close(socks[1]);
}

static void test_udp_v4_steers_to_session_worker(void **state)
{
	udp_steers(*state, AF_INET, "127.0.0.1");
}

static void test_udp_v6_steers_to_session_worker(void **state)
{
	udp_steers(*state, AF_INET6, "::1");
}

static void tcp_steers(struct sk_env *env, int family, const char *addr)
{
	int socks[2], hits[2] = { 0, 0 };

	assert_int_equal(fx_simple(&env->fx, family == AF_INET ? XSL_AF_INET : XSL_AF_INET6,
				   IPPROTO_TCP, PORT, 2, XSL_POLICY_REASSIGN), 0);
	for (int w = 0; w < 2; w++) {
		socks[w] = server_socket(family, SOCK_STREAM, addr, PORT, 1);
		wsock_put(env, 0, w, socks[w]);
	}
	for (int f = 0; f < N_FLOWS; f++) {
		struct sockaddr_storage ss;
		socklen_t len;
		int c = socket(family, SOCK_STREAM, 0), got, a;
		__u32 want;

		sa_make(family, addr, PORT, &ss, &len);
		assert_int_equal(connect(c, (struct sockaddr *)&ss, len), 0);
		want = expected_worker(family, IPPROTO_TCP, c, addr, PORT, 2);
		got = which_ready(socks, 2, 500);
		assert_int_equal(got, (int)want);
		a = accept(socks[got], NULL, NULL);
		assert_true(a >= 0);
		close(a);
		close(c);
		hits[want]++;
	}
	assert_true(hits[0] > 0 && hits[1] > 0);
	close(socks[0]);
	close(socks[1]);
}

static void test_tcp_v4_steers_to_session_worker(void **state)
{
	tcp_steers(*state, AF_INET, "127.0.0.1");
}

static void test_tcp_v6_steers_to_session_worker(void **state)
{
	tcp_steers(*state, AF_INET6, "::1");
}

/* An IPv4 flow of a v4 listener may be served by a dual-stack [::] socket. */
static void test_udp_v4_reaches_dual_stack_socket(void **state)
{
	struct sk_env *env = *state;
	int sock, c;

	assert_int_equal(fx_simple(&env->fx, XSL_AF_INET, IPPROTO_UDP, PORT, 1,
				   XSL_POLICY_REASSIGN), 0);
	sock = server_socket(AF_INET6, SOCK_DGRAM, "::", PORT, 0);
	wsock_put(env, 0, 0, sock);
	c = udp_client(AF_INET, "127.0.0.1", PORT);
	assert_int_equal(send(c, "x", 1, 0), 1);
	assert_int_equal(which_ready(&sock, 1, 500), 0);
	close(c);
	close(sock);
}

/*
 * One dual-stack [::] listener (XSL_LISTENER_F_DUAL, no v4 listener): IPv4
 * and IPv6 flows both reach the session worker's dual-stack socket.
 */
static void test_dual_listener_steers_v4_and_v6(void **state)
{
	struct sk_env *env = *state;
	int socks[2], clients[2 * N_FLOWS], n = 0;
	struct xsl_stats st;

	assert_int_equal(fx_simple(&env->fx, XSL_AF_INET6, IPPROTO_UDP, PORT, 2,
				   XSL_POLICY_REASSIGN), 0);
	assert_int_equal(fx_listener_flags(&env->fx, XSL_AF_INET6, IPPROTO_UDP, NULL, PORT,
					   XSL_LISTENER_F_DUAL), 0);
	for (int w = 0; w < 2; w++) {
		socks[w] = server_socket(AF_INET6, SOCK_DGRAM, "::", PORT, 0);
		wsock_put(env, 0, w, socks[w]);
	}
	for (int f = 0; f < 2 * N_FLOWS; f++) {
		int family = f % 2 ? AF_INET6 : AF_INET;
		const char *addr = f % 2 ? "::1" : "127.0.0.1";
		int c = udp_client(family, addr, PORT);
		__u32 want;

		assert_int_equal(send(c, "x", 1, 0), 1);
		want = expected_worker(family, IPPROTO_UDP, c, addr, PORT, 2);
		assert_int_equal(which_ready(socks, 2, 500), (int)want);
		drain_udp(socks[want]);
		clients[n++] = c;
	}
	close_all(clients, n);
	assert_int_equal(fx_session_count(&env->fx), 2 * N_FLOWS);
	assert_int_equal(fx_stats(&env->fx, &st), 0);
	assert_int_equal(st.stat[XSL_STAT_SK_ASSIGNED], 2 * N_FLOWS);
	close(socks[0]);
	close(socks[1]);
}

/* A [::] listener without the dual flag leaves IPv4 to the kernel. */
static void test_v6_only_listener_leaves_ipv4_alone(void **state)
{
	struct sk_env *env = *state;
	int xsl_sock, plain, c;
	struct xsl_stats st;

	assert_int_equal(fx_simple(&env->fx, XSL_AF_INET6, IPPROTO_UDP, PORT, 1,
				   XSL_POLICY_REASSIGN), 0);
	xsl_sock = server_socket(AF_INET6, SOCK_DGRAM, "::", PORT, 1);
	wsock_put(env, 0, 0, xsl_sock);
	plain = server_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", PORT, 1);
	c = udp_client(AF_INET, "127.0.0.1", PORT);
	assert_int_equal(send(c, "x", 1, 0), 1);
	assert_int_equal(which_ready(&plain, 1, 500), 0);
	assert_int_equal(fx_session_count(&env->fx), 0);
	assert_int_equal(fx_stats(&env->fx, &st), 0);
	assert_int_equal(st.stat[XSL_STAT_SK_ASSIGNED], 0);
	close(c);
	close(plain);
	close(xsl_sock);
}

/* Closing a worker's socket removes it from the sockhash; its flows go to a
 * worker that still has one, and with none left they are dropped, counted,
 * never handed to the other (non-xsl) socket on the port. */
static void test_closed_socket_flows_move_then_drop(void **state)
{
	struct sk_env *env = *state;
	int socks[2], stray, c, moved = 0, clients[N_FLOWS];
	struct xsl_stats st;

	assert_int_equal(fx_simple(&env->fx, XSL_AF_INET, IPPROTO_UDP, PORT, 2,
				   XSL_POLICY_REASSIGN), 0);
	/* bound first, so the kernel's own reuseport pick would favour it */
	stray = server_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", PORT, 1);
	for (int w = 0; w < 2; w++) {
		socks[w] = server_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", PORT, 1);
		wsock_put(env, 0, w, socks[w]);
	}
	close(socks[1]);
	for (int f = 0; f < N_FLOWS; f++) {
		int all[2] = { socks[0], stray };

		c = udp_client(AF_INET, "127.0.0.1", PORT);
		assert_int_equal(send(c, "x", 1, 0), 1);
		assert_int_equal(which_ready(all, 2, 500), 0);
		drain_udp(socks[0]);
		if (expected_worker(AF_INET, IPPROTO_UDP, c, "127.0.0.1", PORT, 2) == 1)
			moved++;
		clients[f] = c;
	}
	close_all(clients, N_FLOWS);
	assert_true(moved > 0);
	assert_int_equal(fx_stats(&env->fx, &st), 0);
	assert_int_equal(st.stat[XSL_STAT_SK_REPICKED], moved);

	close(socks[0]);
	c = udp_client(AF_INET, "127.0.0.1", PORT);
	assert_int_equal(send(c, "x", 1, 0), 1);
	assert_int_equal(which_ready(&stray, 1, 200), -1);
	close(c);
	assert_int_equal(fx_stats(&env->fx, &st), 0);
	assert_int_equal(st.stat[XSL_STAT_SK_NO_SOCKET], 1);
	assert_int_equal(st.drop[XSL_DROP_NO_SOCKET], 1);
	assert_int_equal(st.stat[XSL_STAT_SK_DROP], 1);
	close(stray);
}

/* A listener whose workers are all gone drops new flows, counted. */
static void test_listener_without_workers_drops(void **state)
{
	struct sk_env *env = *state;
	struct xsl_stats st;
	int sock, c;

	assert_int_equal(fx_simple(&env->fx, XSL_AF_INET, IPPROTO_UDP, PORT, 1,
				   XSL_POLICY_REASSIGN), 0);
	sock = server_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", PORT, 1);
	wsock_put(env, 0, 0, sock);
	assert_int_equal(fx_worker_free(&env->fx, 0), 0);
	c = udp_client(AF_INET, "127.0.0.1", PORT);
	assert_int_equal(send(c, "x", 1, 0), 1);
	assert_int_equal(which_ready(&sock, 1, 200), -1);
	assert_int_equal(fx_stats(&env->fx, &st), 0);
	assert_int_equal(st.drop[XSL_DROP_NO_WORKER], 1);
	close(c);
	close(sock);
}

/* Ports that are no listener's are the kernel's business. */
static void test_other_port_is_untouched(void **state)
{
	struct sk_env *env = *state;
	struct xsl_stats st;
	int sock, c;

	assert_int_equal(fx_simple(&env->fx, XSL_AF_INET, IPPROTO_UDP, PORT, 1,
				   XSL_POLICY_REASSIGN), 0);
	sock = server_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", OTHER_PORT, 1);
	c = udp_client(AF_INET, "127.0.0.1", OTHER_PORT);
	assert_int_equal(send(c, "x", 1, 0), 1);
	assert_int_equal(which_ready(&sock, 1, 500), 0);
	assert_int_equal(fx_session_count(&env->fx), 0);
	assert_int_equal(fx_stats(&env->fx, &st), 0);
	assert_true(st.stat[XSL_STAT_SK_NOT_OURS] >= 1);
	close(c);
	close(sock);
}

/* With the agent's port filter enabled and the listener's bit set, flows
 * are steered as before. */
static void test_port_filter_listener_port_steers(void **state)
{
	struct sk_env *env = *state;

	assert_int_equal(fx_port_bit(&env->fx, XSL_AF_INET, IPPROTO_UDP, PORT, 1), 0);
	assert_int_equal(fx_port_filter(&env->fx, 1), 0);
	udp_steers(env, AF_INET, "127.0.0.1");
}

/* A port whose bit is clear is left to the kernel before any listener
 * lookup: here even a listener's (the agent never leaves one so). */
static void test_port_filter_clear_bit_is_untouched(void **state)
{
	struct sk_env *env = *state;
	struct xsl_stats st;
	int sock, c;

	assert_int_equal(fx_simple(&env->fx, XSL_AF_INET, IPPROTO_UDP, PORT, 1,
				   XSL_POLICY_REASSIGN), 0);
	assert_int_equal(fx_port_filter(&env->fx, 1), 0);
	sock = server_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", PORT, 1);
	c = udp_client(AF_INET, "127.0.0.1", PORT);
	assert_int_equal(send(c, "x", 1, 0), 1);
	assert_int_equal(which_ready(&sock, 1, 500), 0);
	assert_int_equal(fx_session_count(&env->fx), 0);
	assert_int_equal(fx_stats(&env->fx, &st), 0);
	assert_int_equal(st.stat[XSL_STAT_SK_NOT_OURS], 1);
	assert_int_equal(st.stat[XSL_STAT_SK_ASSIGNED], 0);
	close(c);
	close(sock);
}

/* Fills every way of the table with an assured, active session of app 1
 * (listener 0, worker 0): no new flow can take a way. */
static void fill_table_assured(struct fx *fx)
{
	struct timespec ts;
	struct xsl_session s = { .app = 1, .worker = 0, .worker_gen = 1,
				 .flags = XSL_SESSION_F_ASSURED };
	__u64 want = (__u64)fx->tab.nbuckets * XSL_SESS_WAYS;
	__u32 i;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	s.last_seen_ns = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	for (i = 0; i < 4000000 && sesstab__count(&fx->tab) < want; i++) {
		struct xsl_flow_key k = { .family = XSL_AF_INET, .proto = IPPROTO_UDP };

		k.raddr[0] = htonl(0x0a000000 | i);
		k.laddr[0] = htonl(0x0a630001);
		k.rport = htons(1000);
		k.lport = htons(PORT);
		sesstab__put(&fx->tab, &k, &s);
	}
	assert_int_equal(sesstab__count(&fx->tab), want);
}

/*
 * A flow the full table refuses is counted once, although XDP and then
 * sk_lookup both try to create its session; a flow reaching sk_lookup
 * without XDP (loopback) is counted by sk_lookup. Both are delivered.
 */
static void test_refused_flow_counted_once(void **state)
{
	struct sk_env *env = *state;
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int socks[2], c, c2;
	struct xsl_stats st;
	struct fx_pkt p;
	__u32 action;

	assert_int_equal(fx_simple(&env->fx, XSL_AF_INET, IPPROTO_UDP, PORT, 2,
				   XSL_POLICY_REASSIGN), 0);
	for (int w = 0; w < 2; w++) {
		socks[w] = server_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", PORT, 1);
		wsock_put(env, 0, w, socks[w]);
	}
	fill_table_assured(&env->fx);

	/* the packet as XDP sees it on a device, then the stack's lookup */
	c = udp_client(AF_INET, "127.0.0.1", PORT);
	assert_int_equal(getsockname(c, (struct sockaddr *)&sa, &len), 0);
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "127.0.0.1", ntohs(sa.sin_port), "127.0.0.1",
		    PORT);
	assert_int_equal(fx_send(&env->fx, &p, &action), 0);
	assert_int_equal(action, XDP_PASS);
	assert_int_equal(fx_stats(&env->fx, &st), 0);
	assert_int_equal(st.stat[XSL_STAT_SESSION_REFUSED], 1);
	assert_int_equal(send(c, "x", 1, 0), 1);
	assert_int_equal(which_ready(socks, 2, 500),
			 (int)expected_worker(AF_INET, IPPROTO_UDP, c, "127.0.0.1", PORT, 2));
	assert_int_equal(fx_stats(&env->fx, &st), 0);
	assert_int_equal(st.stat[XSL_STAT_SK_ASSIGNED], 1);
	assert_int_equal(st.stat[XSL_STAT_SESSION_REFUSED], 1);

	/* sk_lookup alone: its own refusal counts */
	c2 = udp_client(AF_INET, "127.0.0.1", PORT);
	assert_int_equal(send(c2, "x", 1, 0), 1);
	assert_true(which_ready(socks, 2, 500) >= 0);
	assert_int_equal(fx_stats(&env->fx, &st), 0);
	assert_int_equal(st.stat[XSL_STAT_SK_ASSIGNED], 2);
	assert_int_equal(st.stat[XSL_STAT_SESSION_REFUSED], 2);
	assert_int_equal(st.stat[XSL_STAT_SESSION_CREATED], 0);
	close(c);
	close(c2);
	close(socks[0]);
	close(socks[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, sk_setup, sk_teardown)
		T(test_udp_v4_steers_to_session_worker),
		T(test_udp_v6_steers_to_session_worker),
		T(test_tcp_v4_steers_to_session_worker),
		T(test_tcp_v6_steers_to_session_worker),
		T(test_udp_v4_reaches_dual_stack_socket),
		T(test_dual_listener_steers_v4_and_v6),
		T(test_v6_only_listener_leaves_ipv4_alone),
		T(test_closed_socket_flows_move_then_drop),
		T(test_listener_without_workers_drops),
		T(test_other_port_is_untouched),
		T(test_port_filter_listener_port_steers),
		T(test_port_filter_clear_bit_is_untouched),
		T(test_refused_flow_counted_once),
#undef T
	};

	if (unshare(CLONE_NEWNET) || system("ip link set lo up")) {
		perror("test_sklookup: private network namespace");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
