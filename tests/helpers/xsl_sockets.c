// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Makes the UDP sockets the socket-adoption tests need, in the order given,
 * then answers every datagram on any of them with "pid <its pid>\n":
 *
 *   --bind ADDR:PORT          bound to ADDR:PORT (PORT 0: the kernel picks)
 *   --bind-range ADDR:P1-P2   one socket bound to each port P1..P2
 *   --dual PORT               [::]:PORT with IPV6_V6ONLY off (dual-stack)
 *   --sendto ADDR:PORT        never bound: autobound by sending one datagram
 *   --connect ADDR:PORT       never bound: autobound by connect(2)
 *   --bind-connect ADDR:PORT  bound to ADDR:PORT, then connected to 127.0.0.1:9
 *   --unshare-net             first move into a new user + network namespace
 *   --close-first-on-usr1     SIGUSR1 closes the first socket made
 *   --churn N                 N times: socket, bind port 0, send one datagram,
 *                             close (what a resolver's upstream queries do)
 *
 * ADDR may be IPv4 or IPv6 ("[::1]:53" or "::1:53"). Prints "sock <local
 * port>" per socket, "churned N" after a churn, then "ready <pid>"; runs
 * until killed. Exits 1 when a socket cannot be made.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "sockaddr.h"

#define MAX_SOCKS 1024

static int socks[MAX_SOCKS], n_socks;
static volatile sig_atomic_t close_first;

static void on_usr1(int sig)
{
	(void)sig;
	close_first = 1;
}

/* "ADDR:PORT" (or "[ADDR]:PORT") -> sockaddr; port_end gets what follows
 * the port digits. */
static int parse(const char *arg, struct sockaddr_storage *ss, socklen_t *len, char **port_end)
{
	char addr[64];
	const char *colon = strrchr(arg, ':');
	size_t n;
	long port;

	if (!colon || (size_t)(colon - arg) >= sizeof(addr))
		return -EINVAL;
	n = (size_t)(colon - arg);
	memcpy(addr, arg, n);
	addr[n] = '\0';
	if (addr[0] == '[' && n > 2 && addr[n - 1] == ']') {
		memmove(addr, addr + 1, n - 2);
		addr[n - 2] = '\0';
	}
	errno = 0;
	port = strtol(colon + 1, port_end, 10);
	if (errno || port < 0 || port > 65535 || *port_end == colon + 1)
		return -EINVAL;
	return helper_sockaddr(addr, (int)port, ss, len);
}

static void set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

static int sa_port(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port :
						((const struct sockaddr_in6 *)ss)->sin6_port);
}

static int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	return getsockname(fd, (struct sockaddr *)&ss, &len) ? -1 : sa_port(&ss);
}

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "xsl_sockets: %s %s: %s\n", what, arg, strerror(errno));
	exit(1);
}

/* Keeps fd and says which port it has. */
static void keep(int fd)
{
	if (n_socks == MAX_SOCKS) {
		fprintf(stderr, "xsl_sockets: more than %d sockets\n", MAX_SOCKS);
		exit(1);
	}
	socks[n_socks++] = fd;
	printf("sock %d\n", local_port(fd));
	fflush(stdout);
}

static int udp_socket(int family, int v6only)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	return fd;
}

static int bound(const struct sockaddr_storage *ss, socklen_t len, int v6only)
{
	int fd = udp_socket(ss->ss_family, v6only);

	if (fd < 0 || bind(fd, (const struct sockaddr *)ss, len))
		return -1;
	return fd;
}

/* The discard port on loopback, of ss's family. */
static void discard(const struct sockaddr_storage *like, struct sockaddr_storage *to,
		    socklen_t *len)
{
	helper_sockaddr(like->ss_family == AF_INET ? "127.0.0.1" : "::1", 9, to, len);
}

static void churn(long n)
{
	struct sockaddr_storage any, to;
	socklen_t len = 0, tlen = 0;

	helper_sockaddr("127.0.0.1", 0, &any, &len);
	discard(&any, &to, &tlen);
	for (long i = 0; i < n; i++) {
		int fd = bound(&any, len, 1);

		if (fd < 0)
			die("churn", "bind");
		sendto(fd, "q", 1, 0, (struct sockaddr *)&to, tlen);
		close(fd);
	}
	printf("churned %ld\n", n);
	fflush(stdout);
}

static void serve(void)
{
	struct pollfd p[MAX_SOCKS];
	char reply[32], buf[2048];
	int n = snprintf(reply, sizeof(reply), "pid %d\n", getpid());

	for (;;) {
		if (close_first && n_socks && socks[0] >= 0) {
			close(socks[0]);
			socks[0] = -1;
			printf("closed first\n");
			fflush(stdout);
		}
		for (int i = 0; i < n_socks; i++)
			p[i] = (struct pollfd){ .fd = socks[i], .events = POLLIN };
		if (poll(p, (nfds_t)n_socks, n_socks ? 200 : -1) <= 0)
			continue;
		for (int i = 0; i < n_socks; i++) {
			struct sockaddr_storage from;
			socklen_t flen = sizeof(from);

			if (!(p[i].revents & POLLIN))
				continue;
			if (recvfrom(socks[i], buf, sizeof(buf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &flen) >= 0 && flen)
				sendto(socks[i], reply, (size_t)n, 0, (struct sockaddr *)&from, flen);
		}
	}
}

int main(int argc, char **argv)
{
	enum { O_BIND = 1, O_RANGE, O_DUAL, O_SENDTO, O_CONNECT, O_BIND_CONNECT, O_UNSHARE,
	       O_USR1, O_CHURN };
	static const struct option opts[] = {
		{ "bind", required_argument, NULL, O_BIND },
		{ "bind-range", required_argument, NULL, O_RANGE },
		{ "dual", required_argument, NULL, O_DUAL },
		{ "sendto", required_argument, NULL, O_SENDTO },
		{ "connect", required_argument, NULL, O_CONNECT },
		{ "bind-connect", required_argument, NULL, O_BIND_CONNECT },
		{ "unshare-net", no_argument, NULL, O_UNSHARE },
		{ "close-first-on-usr1", no_argument, NULL, O_USR1 },
		{ "churn", required_argument, NULL, O_CHURN },
		{ 0 },
	};
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct sockaddr_storage ss, to;
	socklen_t len = 0, tlen = 0;
	char *end;
	int o, fd;

	signal(SIGPIPE, SIG_IGN);
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case O_BIND:
		case O_SENDTO:
		case O_CONNECT:
		case O_BIND_CONNECT:
			if (parse(optarg, &ss, &len, &end) || *end)
				goto usage;
			if (o == O_BIND || o == O_BIND_CONNECT) {
				fd = bound(&ss, len, 1);
				if (fd < 0)
					die("bind", optarg);
			} else {
				fd = udp_socket(ss.ss_family, 1);
			}
			if (o == O_SENDTO &&
			    (fd < 0 || sendto(fd, "q", 1, 0, (struct sockaddr *)&ss, len) != 1))
				die("sendto", optarg);
			if (o == O_CONNECT && (fd < 0 || connect(fd, (struct sockaddr *)&ss, len)))
				die("connect", optarg);
			if (o == O_BIND_CONNECT) {
				discard(&ss, &to, &tlen);
				if (connect(fd, (struct sockaddr *)&to, tlen))
					die("connect", optarg);
			}
			keep(fd);
			break;
		case O_RANGE: {
			long first, last;

			if (parse(optarg, &ss, &len, &end) || *end != '-')
				goto usage;
			first = sa_port(&ss);
			last = strtol(end + 1, &end, 10);
			if (*end || last < first || last > 65535)
				goto usage;
			for (long port = first; port <= last; port++) {
				set_port(&ss, (int)port);
				fd = bound(&ss, len, 1);
				if (fd < 0)
					die("bind", optarg);
				keep(fd);
			}
			break;
		}
		case O_DUAL:
			if (helper_sockaddr("::", atoi(optarg), &ss, &len))
				goto usage;
			fd = bound(&ss, len, 0);
			if (fd < 0)
				die("bind dual-stack", optarg);
			keep(fd);
			break;
		case O_UNSHARE:
			if (unshare(CLONE_NEWUSER | CLONE_NEWNET))
				die("unshare", "user+net");
			break;
		case O_USR1:
			sigaction(SIGUSR1, &sa, NULL);
			break;
		case O_CHURN:
			churn(strtol(optarg, NULL, 10));
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	printf("ready %d\n", getpid());
	fflush(stdout);
	serve();
	return 0;
usage:
	fprintf(stderr, "usage: xsl_sockets [--unshare-net] [--close-first-on-usr1] "
			"[--bind|--sendto|--connect|--bind-connect ADDR:PORT] "
			"[--bind-range ADDR:P1-P2] [--dual PORT] [--churn N]...\n");
	return 2;
}
