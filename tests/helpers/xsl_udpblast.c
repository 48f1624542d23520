// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * UDP load generator for the throughput benchmark: F flows (one connected
 * socket each, so one source port each) to ADDR:PORT, each keeping up to W
 * requests outstanding: it sends with sendmmsg until W are out, and sends
 * again as replies ("pid N") come back (recvmmsg). A flow that got no reply
 * for LOSS_MS has lost what it had out and starts over, so drops never stall
 * it. Runs for --duration seconds; replies counted after --warmup-ms only.
 * Prints one line:
 *   flows F window W seconds S sent N replies N replies_per_s X workers W
 * workers: distinct pids that replied. Exit 0 when it ran.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "args.h"
#include "sockaddr.h"

#define MAX_FLOWS	4096
#define MAX_WINDOW	64
#define LOSS_MS		20
#define MAX_PIDS	256

struct flow {
	int fd;
	int out;		/* requests without a reply yet */
	uint64_t last_ns;	/* last reply, or when the window was (re)filled */
};

static struct flow flows[MAX_FLOWS];
static int pids[MAX_PIDS], npids;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Tops flow f up to window requests; returns how many went out. */
static int refill(struct flow *fl, int window, uint64_t now)
{
	static char payload[] = "hi";
	struct iovec iov = { payload, sizeof(payload) - 1 };
	struct mmsghdr msgs[MAX_WINDOW];
	int want = window - fl->out, n;

	if (want <= 0)
		return 0;
	for (int i = 0; i < want; i++)
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };
	n = sendmmsg(fl->fd, msgs, (unsigned int)want, MSG_DONTWAIT);
	if (n <= 0)
		return 0;
	if (!fl->out)
		fl->last_ns = now;
	fl->out += n;
	return n;
}

static void note_pid(const char *buf, size_t len)
{
	int pid = 0;

	/* "pid N\n" */
	for (size_t i = 4; i < len && buf[i] >= '0' && buf[i] <= '9'; i++)
		pid = pid * 10 + (buf[i] - '0');
	for (int i = 0; i < npids; i++)
		if (pids[i] == pid)
			return;
	if (pid && npids < MAX_PIDS)
		pids[npids++] = pid;
}

/* Reads every waiting reply of flow f; returns how many. */
static int drain(struct flow *fl, uint64_t now)
{
	static char bufs[MAX_WINDOW][32];
	struct iovec iov[MAX_WINDOW];
	struct mmsghdr msgs[MAX_WINDOW];
	int total = 0, n;

	do {
		for (int i = 0; i < MAX_WINDOW; i++) {
			iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
			msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		n = recvmmsg(fl->fd, msgs, MAX_WINDOW, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		/* the pids of the first replies are enough to see who serves */
		note_pid(bufs[0], msgs[0].msg_len);
		total += n;
	} while (n == MAX_WINDOW);
	if (total) {
		fl->out = fl->out > total ? fl->out - total : 0;
		fl->last_ns = now;
	}
	return total;
}

int main(int argc, char **argv)
{
	const char *addr = NULL;
	int port = 0, nflows = 64, window = 16, duration = 3, warmup_ms = 300, ep;
	uint64_t sent = 0, replies = 0, t0, t_count, t_end;
	struct rlimit rl = { MAX_FLOWS + 64, MAX_FLOWS + 64 };
	struct sockaddr_storage ss;
	socklen_t len;

	static const struct option opts[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "flows", required_argument, NULL, 'f' },
		{ "window", required_argument, NULL, 'w' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup-ms", required_argument, NULL, 'm' },
		{ 0 },
	};
	int c, bad = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': addr = optarg; break;
		case 'p': bad |= helper_int(optarg, 1, 65535, &port); break;
		case 'f': bad |= helper_int(optarg, 1, MAX_FLOWS, &nflows); break;
		case 'w': bad |= helper_int(optarg, 1, MAX_WINDOW, &window); break;
		case 'd': bad |= helper_int(optarg, 1, 86400, &duration); break;
		case 'm': bad |= helper_int(optarg, 0, 600000, &warmup_ms); break;
		default: bad = 1;
		}
	}
	if (bad || optind < argc || !addr || !port || helper_sockaddr(addr, port, &ss, &len))
		goto usage;
	setrlimit(RLIMIT_NOFILE, &rl);
	ep = epoll_create1(0);
	if (ep < 0) {
		fprintf(stderr, "xsl_udpblast: epoll: %s\n", strerror(errno));
		return 1;
	}
	for (int f = 0; f < nflows; f++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)f };
		int buf = 1 << 20;

		flows[f].fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (flows[f].fd < 0 || connect(flows[f].fd, (struct sockaddr *)&ss, len) ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, flows[f].fd, &ev)) {
			fprintf(stderr, "xsl_udpblast: flow %d socket: %s\n", f, strerror(errno));
			return 1;
		}
		setsockopt(flows[f].fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	}
	t0 = now_ns();
	t_count = t0 + (uint64_t)warmup_ms * 1000000ull;
	t_end = t_count + (uint64_t)duration * 1000000000ull;
	for (int f = 0; f < nflows; f++)
		sent += (uint64_t)refill(&flows[f], window, t0);
	for (uint64_t now = t0, last_scan = t0; now < t_end;) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, LOSS_MS);

		now = now_ns();
		for (int i = 0; i < n; i++) {
			struct flow *fl = &flows[evs[i].data.u32];
			int got = drain(fl, now);

			if (now >= t_count && now < t_end)
				replies += (uint64_t)got;
			sent += (uint64_t)refill(fl, window, now);
		}
		if (now - last_scan < LOSS_MS * 1000000ull)
			continue;
		/* flows whose requests were all dropped start over */
		last_scan = now;
		for (int f = 0; f < nflows; f++) {
			if (flows[f].out && now - flows[f].last_ns > LOSS_MS * 1000000ull)
				flows[f].out = 0;
			sent += (uint64_t)refill(&flows[f], window, now);
		}
	}
	printf("flows %d window %d seconds %d sent %llu replies %llu replies_per_s %.0f workers %d\n",
	       nflows, window, duration, (unsigned long long)sent, (unsigned long long)replies,
	       (double)replies / duration, npids);
	return 0;
usage:
	fprintf(stderr, "usage: xsl_udpblast --addr A --port P [--flows F] [--window W] "
			"[--duration S] [--warmup-ms MS]\n");
	return 2;
}
