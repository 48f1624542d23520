// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A stateful forking test server for restart tests: the master forks N
 * workers; each binds its own UDP socket and TCP listener (SO_REUSEPORT) on
 * ADDR:PORT and keeps state per flow. A UDP flow (the client's address and
 * port) and a TCP connection each have a count of the requests this worker
 * got on them (a datagram; a line on TCP), and every request is answered
 *   "pid <worker pid> inst <instance> count <count> tag <request's first word>\n"
 * so a client sees whether its flow stayed with its worker (the count goes
 * on) or moved (it starts again at 1). The instance is read from
 * /proc/self/cgroup at each answer: the last path component "i<N>" (xsl's
 * per-instance cgroup), 0 when there is none.
 *
 * Output: "master <pid>", then "worker <pid>" per worker. SIGTERM, SIGINT
 * or SIGQUIT to the master stop every worker and the master. A worker
 * binds --bind-delay-ms after it starts, or never with --no-bind (an
 * instance that never becomes ready).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "args.h"
#include "sockaddr.h"

#define MAX_WORKERS	256
#define FLOW_SLOTS	65536		/* per worker, a power of two */
#define MAX_CONNS	512		/* TCP connections per worker */

struct flow_slot {
	uint8_t used;
	uint8_t family;
	uint16_t port;
	uint8_t addr[16];
	uint32_t count;
};

struct conn {
	int fd;
	uint32_t count;
	size_t used;
	char buf[256];
};

static volatile sig_atomic_t stop;
static sigset_t orig_mask;
static pid_t pids[MAX_WORKERS];
static struct flow_slot *flows;
static struct conn conns[MAX_CONNS];

static void on_signal(int sig)
{
	if (sig != SIGCHLD)
		stop = 1;
}

/* The instance number in this process's cgroup path, 0 if none. */
static int self_instance(void)
{
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "r");
	int inst = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		for (char *tok = strtok(line + 3, "/"); tok; tok = strtok(NULL, "/")) {
			if (tok[0] == 'i' && tok[1] >= '0' && tok[1] <= '9' &&
			    strspn(tok + 1, "0123456789") == strlen(tok + 1))
				inst = atoi(tok + 1);
		}
	}
	fclose(f);
	return inst;
}

/* The count slot of a UDP flow (created at 0), NULL when the table is full. */
static struct flow_slot *flow_of(const struct sockaddr_storage *from)
{
	struct flow_slot key = { .used = 1, .family = (uint8_t)from->ss_family };
	uint32_t h = 2166136261u;

	if (from->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)from;

		key.port = s6->sin6_port;
		memcpy(key.addr, &s6->sin6_addr, 16);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)from;

		key.port = s4->sin_port;
		memcpy(key.addr, &s4->sin_addr, 4);
	}
	for (size_t i = 0; i < 16; i++)
		h = (h ^ key.addr[i]) * 16777619u;
	h = (h ^ key.port ^ ((uint32_t)key.family << 16)) * 16777619u;
	for (uint32_t n = 0; n < FLOW_SLOTS; n++) {
		struct flow_slot *s = &flows[(h + n) & (FLOW_SLOTS - 1)];

		if (!s->used) {
			*s = key;
			return s;
		}
		if (s->family == key.family && s->port == key.port &&
		    !memcmp(s->addr, key.addr, 16))
			return s;
	}
	return NULL;
}

/* The answer to a request (its first word is echoed as the tag). */
static int answer(char *out, size_t size, uint32_t count, const char *req, size_t len)
{
	size_t tag = strcspn(req, " \r\n");

	if (tag > len)
		tag = len;
	if (tag > 32)
		tag = 32;
	return snprintf(out, size, "pid %d inst %d count %u tag %.*s\n", getpid(), self_instance(),
			count, (int)tag, req);
}

static int bound_socket(int type, const struct sockaddr_storage *ss, socklen_t len)
{
	int one = 1, zero = 0, rcvbuf = 4 << 20, fd = socket(ss->ss_family, type, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	/* a round of a thousand flows comes at once: room for all of it */
	if (type == SOCK_DGRAM && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (const struct sockaddr *)ss, len) || (type == SOCK_STREAM && listen(fd, 512))) {
		perror("xsl_statesrv: bind");
		close(fd);
		return -1;
	}
	return fd;
}

static void udp_request(int u)
{
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	char buf[2048], out[128];
	struct flow_slot *s;
	ssize_t n;
	int len;

	n = recvfrom(u, buf, sizeof(buf) - 1, MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
	if (n < 0)
		return;
	buf[n] = '\0';
	s = flow_of(&from);
	len = answer(out, sizeof(out), s ? ++s->count : 0, buf, (size_t)n);
	sendto(u, out, (size_t)len, 0, (struct sockaddr *)&from, flen);
}

/* Reads from connection c; answers each complete line. 0, or -1 to close. */
static int tcp_request(struct conn *c)
{
	char out[128];
	ssize_t n;
	char *nl;

	n = recv(c->fd, c->buf + c->used, sizeof(c->buf) - 1 - c->used, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return -1;
	if (n < 0)
		return 0;
	c->used += (size_t)n;
	c->buf[c->used] = '\0';
	while ((nl = strchr(c->buf, '\n'))) {
		int len = answer(out, sizeof(out), ++c->count, c->buf, (size_t)(nl - c->buf));

		if (send(c->fd, out, (size_t)len, MSG_NOSIGNAL) != len)
			return -1;
		c->used -= (size_t)(nl + 1 - c->buf);
		memmove(c->buf, nl + 1, c->used + 1);
	}
	/* a line longer than the buffer is not a request of ours */
	return c->used == sizeof(c->buf) - 1 ? -1 : 0;
}

static void worker(const struct sockaddr_storage *ss, socklen_t len, int delay_ms)
{
	struct pollfd p[2 + MAX_CONNS];
	int u, t, nconns = 0;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	sigprocmask(SIG_SETMASK, &orig_mask, NULL);
	if (delay_ms < 0)
		for (;;)
			pause();
	if (delay_ms > 0) {
		struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	flows = calloc(FLOW_SLOTS, sizeof(*flows));
	u = bound_socket(SOCK_DGRAM, ss, len);
	t = bound_socket(SOCK_STREAM, ss, len);
	if (!flows || u < 0 || t < 0)
		_exit(1);
	for (;;) {
		p[0] = (struct pollfd){ .fd = u, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = t, .events = nconns < MAX_CONNS ? POLLIN : 0 };
		for (int i = 0; i < nconns; i++)
			p[2 + i] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN };
		if (poll(p, (nfds_t)(2 + nconns), -1) < 0)
			continue;
		if (p[0].revents & POLLIN)
			udp_request(u);
		for (int i = nconns - 1; i >= 0; i--) {
			if (!p[2 + i].revents || !tcp_request(&conns[i]))
				continue;
			close(conns[i].fd);
			conns[i] = conns[--nconns];
		}
		if (p[1].revents & POLLIN) {
			int c = accept(t, NULL, NULL);

			if (c >= 0)
				conns[nconns++] = (struct conn){ .fd = c };
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "addr", required_argument, NULL, 'a' },
		{ "workers", required_argument, NULL, 'w' },
		{ "bind-delay-ms", required_argument, NULL, 'd' },
		{ "no-bind", no_argument, NULL, 'n' },
		{ 0 }
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct sockaddr_storage ss;
	const char *addr = "0.0.0.0";
	int port = 0, workers = 2, delay_ms = 0, c;
	sigset_t block;
	socklen_t len;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (helper_int(optarg, 1, 65535, &port))
				return 2;
			break;
		case 'a':
			addr = optarg;
			break;
		case 'w':
			if (helper_int(optarg, 1, MAX_WORKERS, &workers))
				return 2;
			break;
		case 'd':
			if (helper_int(optarg, 0, 3600000, &delay_ms))
				return 2;
			break;
		case 'n':
			delay_ms = -1;
			break;
		default:
			goto usage;
		}
	}
	if (!port || optind != argc)
		goto usage;
	if (helper_sockaddr(addr, port, &ss, &len)) {
		fprintf(stderr, "xsl_statesrv: bad --addr %s\n", addr);
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);	/* wakes sigsuspend() to reap */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGCHLD);
	/* blocked except in sigsuspend(), so a stop between checks is not lost */
	sigprocmask(SIG_BLOCK, &block, &orig_mask);
	printf("master %d\n", getpid());
	fflush(stdout);
	for (int i = 0; i < workers; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("xsl_statesrv: fork");
			stop = 1;
			break;
		}
		if (!pid)
			worker(&ss, len, delay_ms);
		pids[i] = pid;
		printf("worker %d\n", pid);
		fflush(stdout);
	}
	while (!stop) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);

		if (pid <= 0) {
			sigsuspend(&orig_mask);
			continue;
		}
		for (int i = 0; i < workers; i++)
			if (pids[i] == pid)
				pids[i] = 0;
	}
	sigprocmask(SIG_SETMASK, &orig_mask, NULL);
	for (int i = 0; i < workers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	return 0;
usage:
	fprintf(stderr, "usage: xsl_statesrv --port P [--addr A] [--workers N] "
			"[--bind-delay-ms MS | --no-bind]\n");
	return 2;
}
