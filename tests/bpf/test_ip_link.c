// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The XDP object attached with `ip link set dev DEV xdp obj ... sec xdp` in a
 * private network + mount namespace (own bpffs): its maps are pinned where
 * iproute2 pins them, real UDP from a peer namespace over a veth pair creates
 * sessions there, and `xdp off` detaches it while the pins stay.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "xsl/hash.h"
#include "xsl/maps.h"
#include "xsl/records.h"
#include "xsl/stats.h"
#include "loader.h"
#include "maps.h"
#include "fixture.h"
#include "sesstab.h"

#define PIN_ROOT "/sys/fs/bpf/tc/globals"
#define DEV "xslil0"
#define PEER "xslil1"
#define SERVER_IP "10.77.0.1"
#define PEER_IP "10.77.0.2"
#define PORT 5353
#define N_FLOWS 16

static char peer_ns[64];

static int setup(void **state)
{
	(void)state;
	snprintf(peer_ns, sizeof(peer_ns), "xslil-peer-%d", getpid());
	umount2("/sys/fs/bpf", MNT_DETACH);
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return -1;
	return fx_sh("ip netns add %s && ip link add " DEV " type veth peer name " PEER
		  " && ip link set " PEER " netns %s"
		  " && ip addr add " SERVER_IP "/24 dev " DEV " && ip link set " DEV " up"
		  " && ip -n %s addr add " PEER_IP "/24 dev " PEER
		  " && ip -n %s link set " PEER " up && ip -n %s link set lo up",
		  peer_ns, peer_ns, peer_ns, peer_ns, peer_ns) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	fx_sh("ip link del " DEV " 2>/dev/null; ip netns del %s 2>/dev/null", peer_ns);
	umount2("/sys/fs/bpf", MNT_DETACH);
	return 0;
}

/* App 0 (reassign), worker 0..1, a wildcard UDP listener with a 2-way table. */
static void fill_app(const struct xsl_maps *m)
{
	struct xsl_app app = { .gen = 1, .state = XSL_APP_LIVE, .policy = XSL_POLICY_REASSIGN };
	struct xsl_listener_key lk = { .family = XSL_AF_INET, .proto = IPPROTO_UDP,
				       .port = htons(PORT) };
	struct xsl_listener l = { .index = 0, .gen = 1, .app = 0, .app_gen = 1, .n_workers = 2 };
	static struct xsl_slot_table tab;
	__u32 key = 0;

	strcpy(app.name, "iplink");
	assert_int_equal(bpf_map_update_elem(m->apps, &key, &app, BPF_ANY), 0);
	for (__u32 w = 0; w < 2; w++) {
		struct xsl_worker wk = { .gen = 1, .state = XSL_WORKER_LIVE, .map_index = w,
					 .app = 0, .app_gen = 1, .cpu = -1 };

		assert_int_equal(bpf_map_update_elem(m->workers, &w, &wk, BPF_ANY), 0);
	}
	for (__u32 i = 0; i < XSL_TABLE_SLOTS; i++)
		tab.slot[i] = (struct xsl_slot){ .worker = i % 2, .gen = 1 };
	assert_int_equal(bpf_map_update_elem(m->slots, &key, &tab, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(m->listeners, &lk, &l, BPF_ANY), 0);
}

/* Sends one datagram per source port from the peer namespace. */
static void send_from_peer(int first_sport, int n)
{
	char path[128];
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		int nsfd;

		snprintf(path, sizeof(path), "/run/netns/%s", peer_ns);
		nsfd = open(path, O_RDONLY);
		if (nsfd < 0 || setns(nsfd, CLONE_NEWNET))
			_exit(10);
		for (int i = 0; i < n; i++) {
			struct sockaddr_in src = { .sin_family = AF_INET,
						   .sin_port = htons(first_sport + i) };
			struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(PORT) };
			int fd = socket(AF_INET, SOCK_DGRAM, 0);

			inet_pton(AF_INET, PEER_IP, &src.sin_addr);
			inet_pton(AF_INET, SERVER_IP, &dst.sin_addr);
			if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src)) ||
			    sendto(fd, "ping", 4, 0, (struct sockaddr *)&dst, sizeof(dst)) != 4)
				_exit(11);
			close(fd);
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static __u64 stat_sum(const struct xsl_maps *m, enum xsl_stat s)
{
	int ncpu = libbpf_num_possible_cpus();
	struct xsl_stats *per = calloc(ncpu, sizeof(*per));
	__u32 key = 0;
	__u64 sum = 0;

	assert_non_null(per);
	assert_int_equal(bpf_map_lookup_elem(m->stats, &key, per), 0);
	for (int c = 0; c < ncpu; c++)
		sum += per[c].stat[s];
	free(per);
	return sum;
}

static void test_ip_link_xdp_creates_sessions_in_pinned_map(void **state)
{
	struct sesstab tab;
	struct xsl_maps m;
	struct stat st;
	size_t len;
	void *mem;

	(void)state;
	assert_int_equal(fx_sh("ip link set dev " DEV " xdp obj build/xsl_xdp.bpf.o sec xdp"), 0);
	assert_int_equal(stat(PIN_ROOT "/" XSL_MAP_SESSIONS, &st), 0);
	assert_int_equal(xsl_maps__open(&m, PIN_ROOT), 0);
	fill_app(&m);

	send_from_peer(40000, N_FLOWS);
	/* the program gave the table nobody initialised a seed and geometry */
	assert_int_equal(xsl_maps__mmap_sessions(m.sessions, &mem, &len), 0);
	assert_int_equal(sesstab__open(&tab, mem, len), 0);
	assert_int_equal(tab.nbuckets, XSL_SESS_BUCKETS_DEFAULT);
	for (int i = 0; i < N_FLOWS; i++) {
		struct xsl_flow_key k = { .family = XSL_AF_INET, .proto = IPPROTO_UDP,
					  .rport = htons(40000 + i), .lport = htons(PORT) };
		struct xsl_flow_key got;
		struct sesstab_way w;
		struct xsl_session s;

		inet_pton(AF_INET, PEER_IP, &k.raddr[0]);
		inet_pton(AF_INET, SERVER_IP, &k.laddr[0]);
		assert_int_equal(sesstab__find(&tab, &k, &w), 0);
		assert_int_equal(sesstab__read(&tab, &w, &got, &s), 0);
		assert_int_equal(s.worker, (xsl_flow_hash_seed(&k, tab.seed) % XSL_TABLE_SLOTS) % 2);
		assert_int_equal(s.packets, 1);
	}
	assert_int_equal(stat_sum(&m, XSL_STAT_SESSION_CREATED), N_FLOWS);

	/* the same flows again: hits, no new sessions */
	send_from_peer(40000, N_FLOWS);
	assert_true(stat_sum(&m, XSL_STAT_LOOKUP_HIT) >= N_FLOWS);
	assert_int_equal(stat_sum(&m, XSL_STAT_SESSION_CREATED), N_FLOWS);

	assert_int_equal(fx_sh("ip link set dev " DEV " xdp off"), 0);
	assert_int_equal(loader__xdp_attached(DEV), 0);
	/* detaching leaves the pinned state for the next loader */
	assert_int_equal(stat(PIN_ROOT "/" XSL_MAP_SESSIONS, &st), 0);
	xsl_maps__munmap_sessions(mem, len);
	xsl_maps__close(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ip_link_xdp_creates_sessions_in_pinned_map,
						setup, teardown),
	};

	/* Private network and mount namespaces: vanish with the process. */
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		perror("test_ip_link: unshare net+mount namespaces");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
