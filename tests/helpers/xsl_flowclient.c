// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * UDP flow client for the stickiness benchmarks: keeps K flows (one connected
 * socket each, so one source port each) to ADDR:PORT and sends one datagram
 * per flow per round, a round every PERIOD ms, the K sends spread evenly over
 * the round so the load is steady. A flow's reply ("pid N") counts for the
 * round it was sent in when it comes before the flow's next send; otherwise
 * the request is lost (a reply that comes later still is counted as late).
 *
 * Phases are marked from stdin while it runs, one command per line:
 *   add         a worker is about to be added
 *   kill PID    worker PID is about to die
 *   end         stop (so does EOF, or --duration running out)
 * The round in flight at a mark belongs to neither side of it. At the end it
 * prints one line per phase and a total:
 *   phase I add established E stayed S moved M silent Q lost L
 *   phase I kill PID established E dead D rehomed R others O unmoved U rehome_ms T lost L
 *   total flows K rounds R requests N replies N lost L late L workers W
 * established: flows answered before the mark; stayed/unmoved: every reply
 * after it (up to the next mark) came from the pid that answered last before
 * it; moved: some did not; silent: no reply after it. For a kill, dead are
 * the flows PID answered last, rehomed those of them a live pid answered
 * afterwards, others/unmoved the same for the rest; rehome_ms the time from
 * the mark to the first round every dead flow was answered by a live pid in
 * (-1: never); lost the requests from the mark's round to the next mark
 * without a reply. --verbose adds "flow <sport> <pid per round...>" lines.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

#define MAX_FLOWS	100000
#define MAX_MARKS	64
#define STDIN_TAG	UINT32_MAX

enum mark_kind { MARK_ADD, MARK_KILL };

struct mark {
	enum mark_kind kind;
	int pid;
	uint32_t round;		/* round in flight when the mark came */
	uint64_t ns;
};

struct flow {
	int fd;
	unsigned int sport;
	uint32_t sent;		/* rounds sent so far */
	bool answered;		/* the latest round got its reply */
};

static struct flow *flows;
static int *pids;		/* pids[round * nflows + flow], 0: no reply */
static int nflows, max_rounds;
static struct mark marks[MAX_MARKS];
static int nmarks;
static uint64_t late, t0_ns, period_ns;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int *pid_at(uint32_t round, int f)
{
	return &pids[(size_t)round * (size_t)nflows + (size_t)f];
}

static int open_flows(int ep, const struct sockaddr_storage *ss, socklen_t len)
{
	struct rlimit rl = { (rlim_t)nflows + 64, (rlim_t)nflows + 64 };

	/* one descriptor per flow: raise the limit (root may) */
	if (setrlimit(RLIMIT_NOFILE, &rl) && nflows > 900)
		fprintf(stderr, "xsl_flowclient: setrlimit %d files: %s\n", nflows + 64,
			strerror(errno));
	for (int f = 0; f < nflows; f++) {
		struct sockaddr_storage local;
		socklen_t llen = sizeof(local);
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)f };
		int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);

		if (fd < 0 || connect(fd, (const struct sockaddr *)ss, len) ||
		    getsockname(fd, (struct sockaddr *)&local, &llen) ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
			fprintf(stderr, "xsl_flowclient: flow %d socket: %s\n", f, strerror(errno));
			return -errno;
		}
		flows[f].fd = fd;
		/* sin_port and sin6_port sit at the same offset */
		flows[f].sport = ntohs(((struct sockaddr_in *)&local)->sin_port);
	}
	return 0;
}

/* Reads every waiting reply of flow f into the round it was sent in. */
static void read_replies(int f)
{
	char buf[64];
	ssize_t n;

	while ((n = recv(flows[f].fd, buf, sizeof(buf) - 1, 0)) >= 0) {
		int pid = 0;

		buf[n] = '\0';
		if (sscanf(buf, "pid %d", &pid) != 1 || pid <= 0)
			continue;
		if (!flows[f].sent || flows[f].answered) {
			late++;
			continue;
		}
		*pid_at(flows[f].sent - 1, f) = pid;
		flows[f].answered = true;
	}
}

/* Handles one stdin command; returns false on "end" or EOF. */
static bool read_command(uint32_t round)
{
	static char line[256];
	static size_t used;
	ssize_t n = read(STDIN_FILENO, line + used, sizeof(line) - 1 - used);
	char *nl;

	if (n <= 0)
		return n < 0 && errno == EAGAIN;
	used += (size_t)n;
	line[used] = '\0';
	while ((nl = strchr(line, '\n'))) {
		int pid = 0;

		*nl = '\0';
		if (!strcmp(line, "end"))
			return false;
		if (nmarks < MAX_MARKS && (!strcmp(line, "add") || sscanf(line, "kill %d", &pid) == 1)) {
			marks[nmarks++] = (struct mark){ .kind = pid ? MARK_KILL : MARK_ADD,
							 .pid = pid, .round = round, .ns = now_ns() };
		} else if (line[0]) {
			fprintf(stderr, "xsl_flowclient: ignored command \"%s\"\n", line);
		}
		used -= (size_t)(nl + 1 - line);
		memmove(line, nl + 1, used + 1);
	}
	if (used == sizeof(line) - 1)
		used = 0;
	return true;
}

/* Last pid that answered flow f in rounds [from, to), 0 if none. */
static int last_pid(int f, uint32_t from, uint32_t to)
{
	int pid = 0;

	for (uint32_t r = from; r < to; r++)
		if (*pid_at(r, f))
			pid = *pid_at(r, f);
	return pid;
}

/* Whether every reply to f in rounds [from, to) came from pid; *any set when
 * there was a reply at all. */
static bool all_from(int f, uint32_t from, uint32_t to, int pid, bool *any)
{
	bool same = true;

	*any = false;
	for (uint32_t r = from; r < to; r++) {
		int p = *pid_at(r, f);

		if (!p)
			continue;
		*any = true;
		same &= p == pid;
	}
	return same;
}

/* Requests of rounds [from, to) that got no reply. */
static long lost_in(uint32_t from, uint32_t to)
{
	long lost = 0;

	for (uint32_t r = from; r < to; r++)
		for (int f = 0; f < nflows; f++)
			lost += r < flows[f].sent && !*pid_at(r, f);
	return lost;
}

/* before[f]: the pid that answered flow f last before mark i, 0 if none. */
static void pids_before(int i, int *before)
{
	for (int f = 0; f < nflows; f++)
		before[f] = last_pid(f, 0, marks[i].round);
}

static void report_add(int i, const int *before, uint32_t after, uint32_t end)
{
	int established = 0, stayed = 0, moved = 0, silent = 0;

	for (int f = 0; f < nflows; f++) {
		bool any;

		if (!before[f])
			continue;
		established++;
		if (all_from(f, after, end, before[f], &any))
			any ? stayed++ : silent++;
		else
			moved++;
	}
	printf("phase %d add established %d stayed %d moved %d silent %d lost %ld\n", i + 1,
	       established, stayed, moved, silent, lost_in(marks[i].round, end));
}

/* Milliseconds from mark i to the first round in [after, end) in which every
 * flow the victim answered last got a reply from a live pid; -1 if none. */
static long rehome_ms(int i, const int *before, uint32_t after, uint32_t end)
{
	for (uint32_t r = after; r < end; r++) {
		bool all = true;

		for (int f = 0; f < nflows && all; f++) {
			int p = *pid_at(r, f);

			if (before[f] == marks[i].pid)
				all = p && p != marks[i].pid;
		}
		if (all) {
			uint64_t at = t0_ns + (uint64_t)r * period_ns;

			return at > marks[i].ns ? (long)((at - marks[i].ns) / 1000000) : 0;
		}
	}
	return -1;
}

static void report_kill(int i, const int *before, uint32_t after, uint32_t end)
{
	int established = 0, dead = 0, rehomed = 0, others = 0, unmoved = 0, victim = marks[i].pid;

	for (int f = 0; f < nflows; f++) {
		bool any;

		if (!before[f])
			continue;
		established++;
		if (before[f] == victim) {
			dead++;
			for (uint32_t r = after; r < end; r++) {
				if (*pid_at(r, f) && *pid_at(r, f) != victim) {
					rehomed++;
					break;
				}
			}
			continue;
		}
		others++;
		if (all_from(f, after, end, before[f], &any) && any)
			unmoved++;
	}
	printf("phase %d kill %d established %d dead %d rehomed %d others %d unmoved %d "
	       "rehome_ms %ld lost %ld\n",
	       i + 1, victim, established, dead, rehomed, others, unmoved,
	       dead ? rehome_ms(i, before, after, end) : -1, lost_in(marks[i].round, end));
}

static void report(uint32_t rounds, bool verbose)
{
	uint64_t requests = 0, replies = 0;
	int seen[1024], nseen = 0, *before = calloc((size_t)nflows, sizeof(*before));

	for (int i = 0; i < nmarks && before; i++) {
		uint32_t after = marks[i].round + 1;
		uint32_t end = i + 1 < nmarks ? marks[i + 1].round : rounds;

		if (end < after)
			end = after;
		pids_before(i, before);
		if (marks[i].kind == MARK_ADD)
			report_add(i, before, after, end);
		else
			report_kill(i, before, after, end);
	}
	free(before);
	for (int f = 0; f < nflows; f++) {
		if (verbose)
			printf("flow %u", flows[f].sport);
		for (uint32_t r = 0; r < flows[f].sent; r++) {
			int p = *pid_at(r, f), known = 0;

			requests++;
			replies += p != 0;
			if (verbose)
				printf(" %d", p);
			for (int k = 0; k < nseen && p; k++)
				known |= seen[k] == p;
			if (p && !known && nseen < 1024)
				seen[nseen++] = p;
		}
		if (verbose)
			printf("\n");
	}
	printf("total flows %d rounds %u requests %llu replies %llu lost %llu late %llu workers %d\n",
	       nflows, rounds, (unsigned long long)requests, (unsigned long long)replies,
	       (unsigned long long)(requests - replies), (unsigned long long)late, nseen);
}

static void usage(void)
{
	fprintf(stderr, "usage: xsl_flowclient --addr A --port P [--flows K] [--period-ms MS] "
			"[--duration S] [--verbose]\n"
			"  phase marks on stdin: add | kill PID | end\n");
}

int main(int argc, char **argv)
{
	const char *addr = NULL;
	int port = 0, period_ms = 50, duration = 30, ep;
	bool verbose = false, running = true, use_stdin = true;
	struct sockaddr_storage ss;
	uint32_t rounds = 0;
	uint64_t next;
	socklen_t len;

	static const struct option opts[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "flows", required_argument, NULL, 'f' },
		{ "period-ms", required_argument, NULL, 'm' },
		{ "duration", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ 0 },
	};
	int c, bad = 0;

	nflows = 1000;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': addr = optarg; break;
		case 'p': bad |= helper_int(optarg, 1, 65535, &port); break;
		case 'f': bad |= helper_int(optarg, 1, MAX_FLOWS, &nflows); break;
		case 'm': bad |= helper_int(optarg, 1, 3600000, &period_ms); break;
		case 'd': bad |= helper_int(optarg, 1, 86400, &duration); break;
		case 'v': verbose = true; break;
		default: bad = 1;
		}
	}
	if (bad || optind < argc || !addr || !port || helper_sockaddr(addr, port, &ss, &len))
		return usage(), 2;
	period_ns = (uint64_t)period_ms * 1000000ull;
	max_rounds = (int)((uint64_t)duration * 1000 / (uint64_t)period_ms) + 1;
	flows = calloc((size_t)nflows, sizeof(*flows));
	pids = calloc((size_t)nflows * (size_t)max_rounds, sizeof(*pids));
	ep = epoll_create1(0);
	if (!flows || !pids || ep < 0) {
		fprintf(stderr, "xsl_flowclient: %d flows x %d rounds: %s\n", nflows, max_rounds,
			strerror(errno));
		return 1;
	}
	if (open_flows(ep, &ss, len))
		return 1;
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = STDIN_TAG };

		fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
		/* a regular file or /dev/null cannot be polled: run for --duration */
		if (epoll_ctl(ep, EPOLL_CTL_ADD, STDIN_FILENO, &ev))
			use_stdin = false;
	}
	t0_ns = now_ns();
	next = t0_ns;
	/* flow f of round r is sent at t0 + r * period + f * period / K */
	for (uint64_t slot = 0; running;) {
		struct epoll_event evs[256];
		uint64_t now = now_ns();
		int n, timeout;

		while (running && next <= now) {
			uint32_t r = (uint32_t)(slot / (uint64_t)nflows);
			int f = (int)(slot % (uint64_t)nflows);

			if (r >= (uint32_t)max_rounds) {
				running = false;
				break;
			}
			rounds = r + 1;
			flows[f].answered = false;
			flows[f].sent = r + 1;
			if (send(flows[f].fd, "hi", 2, 0) < 0 && errno != ECONNREFUSED)
				fprintf(stderr, "xsl_flowclient: flow %d send: %s\n", f, strerror(errno));
			slot++;
			next = t0_ns + (slot / (uint64_t)nflows) * period_ns +
			       (slot % (uint64_t)nflows) * period_ns / (uint64_t)nflows;
		}
		if (!running)
			break;
		/* at least 1 ms: sends due meanwhile go out together, no busy loop */
		timeout = next > now ? (int)((next - now + 999999) / 1000000) : 0;
		n = epoll_wait(ep, evs, 256, timeout);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 == STDIN_TAG) {
				uint32_t r = rounds ? rounds - 1 : 0;

				if (use_stdin && !read_command(r))
					running = false;
				continue;
			}
			read_replies((int)evs[i].data.u32);
		}
	}
	/* the last round: give its replies one period to come */
	{
		uint64_t until = now_ns() + period_ns;
		struct epoll_event evs[256];
		int n;

		while (now_ns() < until && (n = epoll_wait(ep, evs, 256, period_ms)) >= 0) {
			for (int i = 0; i < n; i++)
				if (evs[i].data.u32 != STDIN_TAG)
					read_replies((int)evs[i].data.u32);
			if (!n)
				break;
		}
	}
	report(rounds, verbose);
	return 0;
}
