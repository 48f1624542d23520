// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * UDP flow client for stickiness tests: opens F flows (one socket each, so
 * one source port each: ephemeral, or --sport-base B + flow number, so a
 * later run can send the same flows again) to ADDR:PORT and, for R rounds, sends one datagram
 * per flow and reads the "pid N" reply. Prints one line per flow
 * ("flow <sport> <pid of round 1> ... ") with --verbose, and always a summary:
 *   flows F replies N lost L stable S moved M workers W
 * stable: flows whose every reply came from one pid; moved: flows that got
 * replies from more than one pid. Exit 0 when it ran (judging is the test's).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "sockaddr.h"

#define MAX_FLOWS 20000
#define MAX_ROUNDS 64

struct flow {
	int fd;
	unsigned int sport;
	int pid[MAX_ROUNDS];
};

static struct flow flows[MAX_FLOWS];

static int reply_pid(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[64];
	ssize_t n;
	int pid;

	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return sscanf(buf, "pid %d", &pid) == 1 ? pid : 0;
}

int main(int argc, char **argv)
{
	const char *addr = NULL;
	int port = 0, nflows = 10, rounds = 3, verbose = 0, timeout = 500, gap_ms = 0, sbase = 0;
	struct sockaddr_storage ss = {};
	socklen_t len;
	int replies = 0, lost = 0, stable = 0, moved = 0, nworkers = 0, seen[4096];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--addr") && i + 1 < argc)
			addr = argv[++i];
		else if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--flows") && i + 1 < argc)
			nflows = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc)
			timeout = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--gap-ms") && i + 1 < argc)
			gap_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--sport-base") && i + 1 < argc)
			sbase = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--verbose"))
			verbose = 1;
		else
			goto usage;
	}
	if (!addr || port <= 0 || nflows <= 0 || nflows > MAX_FLOWS || rounds <= 0 ||
	    rounds > MAX_ROUNDS || sbase < 0 || sbase + nflows > 65536)
		goto usage;
	if (helper_sockaddr(addr, port, &ss, &len))
		goto usage;
	for (int f = 0; f < nflows; f++) {
		struct sockaddr_storage local;
		socklen_t llen = sizeof(local);

		struct sockaddr_storage src = { .ss_family = ss.ss_family };
		int one = 1;

		flows[f].fd = socket(ss.ss_family, SOCK_DGRAM, 0);
		if (flows[f].fd >= 0 && sbase) {
			/* sin_port and sin6_port sit at the same offset */
			((struct sockaddr_in *)&src)->sin_port = htons((uint16_t)(sbase + f));
			setsockopt(flows[f].fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (bind(flows[f].fd, (struct sockaddr *)&src, len)) {
				perror("xsl_udpclient: bind source port");
				return 1;
			}
		}
		if (flows[f].fd < 0 || connect(flows[f].fd, (struct sockaddr *)&ss, len) ||
		    getsockname(flows[f].fd, (struct sockaddr *)&local, &llen)) {
			perror("xsl_udpclient: socket");
			return 1;
		}
		flows[f].sport = ntohs(((struct sockaddr_in *)&local)->sin_port);
	}
	for (int r = 0; r < rounds; r++) {
		for (int f = 0; f < nflows; f++)
			if (send(flows[f].fd, "hi", 2, 0) < 0)
				perror("xsl_udpclient: send");
		for (int f = 0; f < nflows; f++) {
			flows[f].pid[r] = reply_pid(flows[f].fd, timeout);
			if (flows[f].pid[r])
				replies++;
			else
				lost++;
		}
		if (gap_ms && r + 1 < rounds) {
			struct timespec ts = { gap_ms / 1000, (gap_ms % 1000) * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	for (int f = 0; f < nflows; f++) {
		int first = 0, same = 1;

		for (int r = 0; r < rounds; r++) {
			int pid = flows[f].pid[r], known = 0;

			if (!pid)
				continue;
			if (!first)
				first = pid;
			else if (pid != first)
				same = 0;
			for (int i = 0; i < nworkers; i++)
				known |= seen[i] == pid;
			if (!known && nworkers < 4096)
				seen[nworkers++] = pid;
		}
		if (same)
			stable++;
		else
			moved++;
		if (verbose) {
			printf("flow %u", flows[f].sport);
			for (int r = 0; r < rounds; r++)
				printf(" %d", flows[f].pid[r]);
			printf("\n");
		}
	}
	printf("flows %d replies %d lost %d stable %d moved %d workers %d\n", nflows, replies, lost,
	       stable, moved, nworkers);
	return 0;
usage:
	fprintf(stderr, "usage: xsl_udpclient --addr A --port P [--flows F] [--rounds R] "
			"[--timeout-ms T] [--gap-ms G] [--sport-base B] [--verbose]\n");
	return 2;
}
