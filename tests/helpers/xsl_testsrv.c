// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A small forking test server: the master forks N workers; each worker binds
 * its own UDP socket and TCP listener (SO_REUSEPORT) on ADDR:PORT and
 * answers every datagram and every connection with "pid <its pid>\n". The
 * master binds nothing, unless --master-binds: then, like nginx with
 * `reuseport`, the master binds one socket pair per worker before forking
 * and each worker keeps its own pair and closes the others. With --shared,
 * like Apache prefork or gunicorn, the master binds one socket pair without
 * SO_REUSEPORT (non-blocking) and keeps it; every worker polls that same
 * pair and the kernel picks which one gets each packet.
 * SIGUSR1 to the master forks one more worker,
 * SIGUSR2 makes it fork --storm N short-lived children (default 1) as fast
 * as it can (fork storms), SIGTERM stops everyone. Worker pids are printed as "worker <pid>" lines.
 * With --http the TCP side speaks minimal HTTP/1.1 instead (for wrk): it reads
 * the request head and answers "200 OK" with the same "pid N\n" body and
 * Connection: close, then closes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sockaddr.h"

#define MAX_WORKERS 1024

static volatile sig_atomic_t more, storm, stop;
/* The master's signals are blocked except while it waits in sigsuspend(),
 * so one that comes between its checks and the wait is never lost; each
 * process it forks gets the original mask back. */
static sigset_t orig_mask;
static pid_t pids[MAX_WORKERS];
static int http;
static int shared_u = -1, shared_t = -1;	/* --shared: the one socket pair */

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		more++;
	else if (sig == SIGUSR2)
		storm++;
	else if (sig != SIGCHLD)
		stop = 1;
}

static int bound_socket(int type, const struct sockaddr_storage *ss, socklen_t len, int v6,
			int reuseport)
{
	int one = 1, zero = 0, fd = socket(ss->ss_family, type, 0);

	if (fd < 0)
		return -1;
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (const struct sockaddr *)ss, len) || (type == SOCK_STREAM && listen(fd, 128))) {
		perror("xsl_testsrv: bind");
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads the request head (up to the blank line) so closing does not reset
 * the connection, then answers with body (the caller closes). */
static void http_answer(int c, const char *body, int body_len)
{
	struct timeval tv = { .tv_sec = 1 };
	char buf[4096], head[160];
	size_t used = 0;
	int n, one = 1;

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (used < sizeof(buf) - 1) {
		ssize_t got = recv(c, buf + used, sizeof(buf) - 1 - used, 0);

		if (got <= 0)
			return;
		used += (size_t)got;
		buf[used] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	/*
	 * One segment with the FIN on it (corked until close): the client then
	 * always sees the server's FIN with the response and closes second, so
	 * its side never piles up TIME_WAIT ports under a connection benchmark.
	 */
	setsockopt(c, IPPROTO_TCP, TCP_CORK, &one, sizeof(one));
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
		     "Connection: close\r\n\r\n%.*s",
		     body_len, body_len, body);
	if (n >= (int)sizeof(head) || write(c, head, (size_t)n) < 0)
		perror("xsl_testsrv: write");
}

/* --master-binds: the master's socket pairs, one per initial worker */
static int pre_u[MAX_WORKERS], pre_t[MAX_WORKERS], n_pre;

static void worker(const struct sockaddr_storage *ss, socklen_t len, int v6, int slot)
{
	int u, t;
	char reply[32], buf[2048];

	if (shared_u >= 0) {
		u = shared_u;
		t = shared_t;
	} else if (slot >= 0) {
		for (int i = 0; i < n_pre; i++) {
			if (i != slot) {
				close(pre_u[i]);
				close(pre_t[i]);
			}
		}
		u = pre_u[slot];
		t = pre_t[slot];
	} else {
		u = bound_socket(SOCK_DGRAM, ss, len, v6, 1);
		t = bound_socket(SOCK_STREAM, ss, len, v6, 1);
	}
	int n = snprintf(reply, sizeof(reply), "pid %d\n", getpid());
	struct pollfd p[2] = { { .fd = u, .events = POLLIN }, { .fd = t, .events = POLLIN } };

	if (u < 0 || t < 0)
		_exit(1);
	signal(SIGTERM, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	for (;;) {
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[0].revents & POLLIN) {
			struct sockaddr_storage from;
			socklen_t flen = sizeof(from);

			if (recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen) >= 0)
				sendto(u, reply, (size_t)n, 0, (struct sockaddr *)&from, flen);
		}
		if (p[1].revents & POLLIN) {
			int c = accept(t, NULL, NULL);

			if (c >= 0) {
				if (http)
					http_answer(c, reply, n);
				else if (write(c, reply, (size_t)n) < 0)
					perror("xsl_testsrv: write");
				close(c);
			}
		}
	}
}

static pid_t spawn(const struct sockaddr_storage *ss, socklen_t len, int v6, int slot)
{
	pid_t pid = fork();

	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &orig_mask, NULL);
		worker(ss, len, v6, slot);
	}
	if (pid > 0) {
		for (int i = 0; i < MAX_WORKERS; i++) {
			if (!pids[i]) {
				pids[i] = pid;
				break;
			}
		}
		printf("worker %d\n", pid);
		fflush(stdout);
	}
	return pid;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss = {};
	const char *addr = "0.0.0.0";
	int workers = 2, port = 0, v6 = 0, storm_n = 1, master_binds = 0, shared = 0;
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;
	socklen_t len;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--workers") && i + 1 < argc)
			workers = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--addr") && i + 1 < argc)
			addr = argv[++i];
		else if (!strcmp(argv[i], "--storm") && i + 1 < argc)
			storm_n = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--master-binds"))
			master_binds = 1;
		else if (!strcmp(argv[i], "--shared"))
			shared = 1;
		else if (!strcmp(argv[i], "--http"))
			http = 1;
		else {
			fprintf(stderr, "usage: xsl_testsrv --port P [--workers N] [--addr A] "
					"[--storm N] [--master-binds | --shared] [--http]\n");
			return 2;
		}
	}
	if (port <= 0 || port > 65535 || workers < 0 || workers > MAX_WORKERS) {
		fprintf(stderr, "xsl_testsrv: bad --port or --workers\n");
		return 2;
	}
	if (helper_sockaddr(addr, port, &ss, &len)) {
		fprintf(stderr, "xsl_testsrv: bad --addr %s\n", addr);
		return 2;
	}
	v6 = ss.ss_family == AF_INET6;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);	/* wakes sigsuspend() to reap */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &orig_mask);
	printf("master %d\n", getpid());
	fflush(stdout);
	if (shared) {
		/* non-blocking: a worker the kernel woke for nothing moves on */
		shared_u = bound_socket(SOCK_DGRAM, &ss, len, v6, 0);
		shared_t = bound_socket(SOCK_STREAM, &ss, len, v6, 0);
		if (shared_u < 0 || shared_t < 0 || fcntl(shared_u, F_SETFL, O_NONBLOCK) ||
		    fcntl(shared_t, F_SETFL, O_NONBLOCK))
			return 1;
	} else if (master_binds) {
		for (n_pre = 0; n_pre < workers; n_pre++) {
			pre_u[n_pre] = bound_socket(SOCK_DGRAM, &ss, len, v6, 1);
			pre_t[n_pre] = bound_socket(SOCK_STREAM, &ss, len, v6, 1);
			if (pre_u[n_pre] < 0 || pre_t[n_pre] < 0)
				return 1;
		}
	}
	for (int i = 0; i < workers; i++)
		spawn(&ss, len, v6, master_binds ? i : -1);
	while (!stop) {
		pid_t pid;

		while (more > 0) {
			more--;
			spawn(&ss, len, v6, -1);
		}
		while (storm > 0) {
			storm--;
			for (int i = 0; i < storm_n; i++) {
				if (fork() == 0)
					_exit(0);
			}
			printf("storm %d\n", storm_n);
			fflush(stdout);
		}
		pid = waitpid(-1, NULL, WNOHANG);
		if (pid <= 0) {
			/* nothing to reap: wait for a signal, SIGCHLD included */
			sigsuspend(&orig_mask);
			continue;
		}
		for (int i = 0; i < MAX_WORKERS; i++)
			if (pids[i] == pid)
				pids[i] = 0;
	}
	sigprocmask(SIG_SETMASK, &orig_mask, NULL);
	for (int i = 0; i < MAX_WORKERS; i++)
		if (pids[i])
			kill(pids[i], SIGTERM);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	return 0;
}
