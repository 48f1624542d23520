// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Client of xsl_statesrv for restart tests: keeps F flows open to ADDR:PORT
 * (UDP: one connected socket, so one source port, per flow; --tcp: one
 * connection per flow) and sends one request per flow per round. A request
 * is the round number; the answer "pid P inst I count C tag T" counts when
 * its tag is the round's, before --timeout-ms.
 *
 * Rounds: --rounds R runs R rounds --gap-ms apart, labelled --label; with
 * --rounds 0 the rounds come from stdin, one a line: "round LABEL" runs one
 * round now, "end" (or EOF) stops. "ready flows F" is printed once the flows
 * are open; after each round one line:
 *   round N LABEL answered A unanswered U continued C restarted S skipped K
 *     moved M closed X pids P insts I=n,...
 * then per label and for the whole run:
 *   phase LABEL rounds n answered ... (the same counts summed)
 *   total flows F rounds R answered ...
 * For a flow's answer after an earlier one: continued when its count is one
 * more than the last (its worker kept its state), restarted when it is not
 * more (state lost: another worker, or the same one restarted), skipped when
 * it is more by two or more (an answer was lost on the way back); moved when
 * the pid differs from the last answer's. closed: TCP connections that ended
 * (EOF or error) in that round; a closed flow is unanswered from then on.
 * --dump FILE writes one line per flow, "SPORT" then per round
 * "pid/inst/count" or "-", after a "# sport LABEL..." header.
 */
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
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "args.h"
#include "sockaddr.h"

#define MAX_FLOWS	20000
#define MAX_ROUNDS	128
#define MAX_INSTS	32
#define LABEL_LEN	32

struct answer {
	int pid;		/* 0: unanswered */
	int inst;
	uint32_t count;
};

struct flow {
	int fd;			/* -1 once a TCP connection ended */
	unsigned int sport;
	bool answered;		/* in the current round */
	int last_pid;
	uint32_t last_count;
	size_t used;
	char buf[256];
};

/* Counts of one round, a label or the run. */
struct tally {
	long rounds, answered, unanswered, continued, restarted, skipped, moved, closed;
};

static struct flow *flows;
static struct answer *answers;	/* answers[round * nflows + flow] */
static char labels[MAX_ROUNDS][LABEL_LEN];
static int nflows, nrounds, timeout_ms = 1000;
static bool tcp;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct answer *answer_at(int round, int f)
{
	return &answers[(size_t)round * (size_t)nflows + (size_t)f];
}

static int open_flow(int f, const struct sockaddr_storage *ss, socklen_t len, int sbase, int ep)
{
	struct sockaddr_storage local = { .ss_family = ss->ss_family };
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)f };
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	socklen_t llen = len;
	int one = 1, fd;

	fd = socket(ss->ss_family, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (fd < 0)
		return -errno;
	if (sbase) {
		/* sin_port and sin6_port sit at the same offset */
		((struct sockaddr_in *)&local)->sin_port = htons((uint16_t)(sbase + f));
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&local, len))
			goto fail;
	}
	/* a TCP connect waits at most the timeout (SO_SNDTIMEO bounds it) */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)ss, len) ||
	    getsockname(fd, (struct sockaddr *)&local, &llen) ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		goto fail;
	flows[f].fd = fd;
	flows[f].sport = ntohs(((struct sockaddr_in *)&local)->sin_port);
	return 0;
fail:
	close(fd);
	return -errno;
}

static void end_flow(int f, int ep, struct tally *t)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, flows[f].fd, NULL);
	close(flows[f].fd);
	flows[f].fd = -1;
	t->closed++;
}

/* Takes one answer line of flow f for round r, if it is this round's. */
static void take(int f, int r, const char *line, struct tally *t)
{
	struct answer a = {};
	struct flow *fl = &flows[f];
	char tag[LABEL_LEN];

	if (fl->answered || sscanf(line, "pid %d inst %d count %u tag %31s", &a.pid, &a.inst,
				   &a.count, tag) != 4 || a.pid <= 0 || atoi(tag) != r + 1)
		return;
	fl->answered = true;
	*answer_at(r, f) = a;
	t->answered++;
	if (fl->last_pid) {
		if (a.count == fl->last_count + 1)
			t->continued++;
		else if (a.count <= fl->last_count)
			t->restarted++;
		else
			t->skipped++;
		t->moved += a.pid != fl->last_pid;
	}
	fl->last_pid = a.pid;
	fl->last_count = a.count;
}

/* Reads what flow f has: datagrams, or the bytes of a connection. */
static void read_flow(int f, int r, int ep, struct tally *t)
{
	struct flow *fl = &flows[f];
	ssize_t n;
	char *nl;

	if (!tcp) {
		char buf[256];

		while ((n = recv(fl->fd, buf, sizeof(buf) - 1, 0)) >= 0) {
			buf[n] = '\0';
			take(f, r, buf, t);
		}
		return;
	}
	for (;;) {
		n = recv(fl->fd, fl->buf + fl->used, sizeof(fl->buf) - 1 - fl->used, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			end_flow(f, ep, t);
			return;
		}
		fl->used += (size_t)n;
		fl->buf[fl->used] = '\0';
		while ((nl = strchr(fl->buf, '\n'))) {
			*nl = '\0';
			take(f, r, fl->buf, t);
			fl->used -= (size_t)(nl + 1 - fl->buf);
			memmove(fl->buf, nl + 1, fl->used + 1);
		}
		/* a line longer than the buffer is no answer of xsl_statesrv */
		if (fl->used == sizeof(fl->buf) - 1) {
			end_flow(f, ep, t);
			return;
		}
	}
}

static void print_counts(const struct tally *t)
{
	printf("answered %ld unanswered %ld continued %ld restarted %ld skipped %ld moved %ld "
	       "closed %ld",
	       t->answered, t->unanswered, t->continued, t->restarted, t->skipped, t->moved,
	       t->closed);
}

/* Distinct pids, and answers per instance, of round r. */
static void print_spread(int r)
{
	int insts[MAX_INSTS][2], ninsts = 0, npids = 0;
	int *seen = calloc((size_t)nflows, sizeof(*seen));

	for (int f = 0; f < nflows && seen; f++) {
		const struct answer *a = answer_at(r, f);
		int k;

		if (!a->pid)
			continue;
		for (k = 0; k < npids && seen[k] != a->pid; k++)
			;
		if (k == npids)
			seen[npids++] = a->pid;
		for (k = 0; k < ninsts && insts[k][0] != a->inst; k++)
			;
		if (k == ninsts && ninsts < MAX_INSTS) {
			insts[k][0] = a->inst;
			insts[k][1] = 0;
			ninsts++;
		}
		if (k < ninsts)
			insts[k][1]++;
	}
	free(seen);
	printf(" pids %d insts ", npids);
	for (int k = 0; k < ninsts; k++)
		printf("%s%d=%d", k ? "," : "", insts[k][0], insts[k][1]);
	if (!ninsts)
		printf("-");
}

static void add(struct tally *to, const struct tally *t)
{
	to->rounds += t->rounds;
	to->answered += t->answered;
	to->unanswered += t->unanswered;
	to->continued += t->continued;
	to->restarted += t->restarted;
	to->skipped += t->skipped;
	to->moved += t->moved;
	to->closed += t->closed;
}

/* One round: a request on every open flow, answers until all came or the
 * timeout; its line printed, its counts returned. */
static struct tally run_round(int r, int ep)
{
	struct tally t = { .rounds = 1 };
	char req[16];
	int len = snprintf(req, sizeof(req), "%d\n", r + 1), waiting = 0;
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	for (int f = 0; f < nflows; f++) {
		flows[f].answered = false;
		if (flows[f].fd < 0)
			continue;
		if (send(flows[f].fd, req, (size_t)len, MSG_NOSIGNAL) != len && tcp)
			end_flow(f, ep, &t);
		else
			waiting++;
	}
	while (t.answered < waiting) {
		struct epoll_event evs[256];
		uint64_t now = now_ms();
		int n;

		if (now >= deadline)
			break;
		n = epoll_wait(ep, evs, 256, (int)(deadline - now));
		for (int i = 0; i < n; i++)
			if (flows[evs[i].data.u32].fd >= 0)
				read_flow((int)evs[i].data.u32, r, ep, &t);
	}
	t.unanswered = nflows - t.answered;
	printf("round %d %s ", r + 1, labels[r]);
	print_counts(&t);
	print_spread(r);
	printf("\n");
	fflush(stdout);
	return t;
}

static void report(const struct tally *per_round, const char *dump)
{
	struct tally total = {};
	FILE *f;

	/* per label, in the order labels first came */
	for (int r = 0; r < nrounds; r++) {
		struct tally t = {};
		bool first = true;

		for (int q = 0; q < r && first; q++)
			first = strcmp(labels[q], labels[r]) != 0;
		if (!first)
			continue;
		for (int q = r; q < nrounds; q++)
			if (!strcmp(labels[q], labels[r]))
				add(&t, &per_round[q]);
		printf("phase %s rounds %ld ", labels[r], t.rounds);
		print_counts(&t);
		printf("\n");
		add(&total, &t);
	}
	printf("total flows %d rounds %d ", nflows, nrounds);
	print_counts(&total);
	printf("\n");
	if (!dump)
		return;
	f = fopen(dump, "w");
	if (!f) {
		fprintf(stderr, "xsl_stateclient: %s: %s\n", dump, strerror(errno));
		return;
	}
	fprintf(f, "# sport");
	for (int r = 0; r < nrounds; r++)
		fprintf(f, " %s", labels[r]);
	fprintf(f, "\n");
	for (int fl = 0; fl < nflows; fl++) {
		fprintf(f, "%u", flows[fl].sport);
		for (int r = 0; r < nrounds; r++) {
			const struct answer *a = answer_at(r, fl);

			if (a->pid)
				fprintf(f, " %d/%d/%u", a->pid, a->inst, a->count);
			else
				fprintf(f, " -");
		}
		fprintf(f, "\n");
	}
	fclose(f);
}

/* The next round's label: argv's, or from a stdin command; NULL to stop. */
static const char *next_label(int rounds, const char *label)
{
	static char line[256], word[LABEL_LEN];

	if (rounds)
		return nrounds < rounds ? label : NULL;
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "end", 3))
			return NULL;
		if (sscanf(line, "round %31s", word) == 1)
			return word;
		if (line[strspn(line, " \n")])
			fprintf(stderr, "xsl_stateclient: ignored command: %s", line);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "flows", required_argument, NULL, 'f' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "gap-ms", required_argument, NULL, 'g' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "sport-base", required_argument, NULL, 's' },
		{ "label", required_argument, NULL, 'l' },
		{ "dump", required_argument, NULL, 'd' },
		{ "tcp", no_argument, NULL, 'T' },
		{ 0 }
	};
	const char *addr = NULL, *label = "r", *dump = NULL, *next;
	int port = 0, rounds = 3, gap_ms = 0, sbase = 0, c, bad = 0, ep;
	struct tally per_round[MAX_ROUNDS];
	struct sockaddr_storage ss;
	struct rlimit rl;
	socklen_t len;

	nflows = 10;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': addr = optarg; break;
		case 'p': bad |= helper_int(optarg, 1, 65535, &port); break;
		case 'f': bad |= helper_int(optarg, 1, MAX_FLOWS, &nflows); break;
		case 'r': bad |= helper_int(optarg, 0, MAX_ROUNDS, &rounds); break;
		case 'g': bad |= helper_int(optarg, 0, 3600000, &gap_ms); break;
		case 't': bad |= helper_int(optarg, 1, 600000, &timeout_ms); break;
		case 's': bad |= helper_int(optarg, 1, 65535, &sbase); break;
		case 'l': label = optarg; break;
		case 'd': dump = optarg; break;
		case 'T': tcp = true; break;
		default: bad = 1;
		}
	}
	if (bad || optind < argc || !addr || !port || strlen(label) >= LABEL_LEN ||
	    (sbase && sbase + nflows > 65536) || helper_sockaddr(addr, port, &ss, &len)) {
		fprintf(stderr, "usage: xsl_stateclient --addr A --port P [--flows F] [--tcp] "
				"[--rounds R (0: from stdin)] [--gap-ms G] [--timeout-ms T] "
				"[--sport-base B] [--label L] [--dump FILE]\n");
		return 2;
	}
	/* one descriptor per flow: raise the limit (root may) */
	rl = (struct rlimit){ (rlim_t)nflows + 64, (rlim_t)nflows + 64 };
	if (setrlimit(RLIMIT_NOFILE, &rl) && nflows > 900)
		fprintf(stderr, "xsl_stateclient: setrlimit %d files: %s\n", nflows + 64,
			strerror(errno));
	flows = calloc((size_t)nflows, sizeof(*flows));
	answers = calloc((size_t)nflows * MAX_ROUNDS, sizeof(*answers));
	ep = epoll_create1(0);
	if (!flows || !answers || ep < 0) {
		fprintf(stderr, "xsl_stateclient: %d flows: %s\n", nflows, strerror(errno));
		return 1;
	}
	for (int f = 0; f < nflows; f++) {
		int err = open_flow(f, &ss, len, sbase, ep);

		if (err) {
			fprintf(stderr, "xsl_stateclient: flow %d to %s port %d: %s\n", f, addr, port,
				strerror(-err));
			return 1;
		}
	}
	printf("ready flows %d\n", nflows);
	fflush(stdout);
	while (nrounds < MAX_ROUNDS && (next = next_label(rounds, label))) {
		if (nrounds && rounds && gap_ms) {
			struct timespec ts = { gap_ms / 1000, (gap_ms % 1000) * 1000000L };

			nanosleep(&ts, NULL);
		}
		snprintf(labels[nrounds], LABEL_LEN, "%s", next);
		per_round[nrounds] = run_round(nrounds, ep);
		nrounds++;
	}
	report(per_round, dump);
	return 0;
}
