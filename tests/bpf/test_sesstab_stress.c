// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The session table under concurrent writers (include/xsl/session.h): two
 * threads pinned on CPU 0 and CPU 1 run the XDP program (BPF_PROG_TEST_RUN)
 * on hits of established flows and on new flows, the same new flow from
 * both CPUs at once (duplicates), into a small table (64 buckets) so they
 * share buckets, claim second buckets, evict and are refused by buckets
 * full of held assured sessions; meanwhile an agent-side thread scans the
 * mapping as the GC does, deletes by CAS of the tag, removes duplicates and
 * re-homes sessions by CAS of the route.
 *
 * Every flow F has two acceptable workers: W(F), the one its listener's
 * slot table picks, and W'(F) = W(F) + 1, where the re-homing thread moves
 * sessions (and back). So:
 *  - each batch of a flow's packets is delivered to W(F) or W'(F) only:
 *    read from the delivering CPU's own slot of the per-CPU worker counters,
 *    which no other CPU writes (a torn hit otherwise);
 *  - every session read, during the run and after it, holds a route that
 *    belongs with its key (worker W or W', app 1, gen 1, listener 0);
 *  - after the run: no way is left busy, each bucket's overflow count is
 *    exactly the number of flows living in their second bucket, a GC pass
 *    removes every duplicate (none left after it), and every held assured
 *    session is still there (never evicted by a new flow).
 * Then both CPUs send the same new flows in lockstep (at most LOCKSTEP_S
 * seconds): duplicates are made for sure, and a GC pass removes exactly the
 * extra ways. XSL_STRESS_MS sets how long the first test runs (default
 * 5000).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "xsl/maps.h"
#include "fixture.h"

#define PORT		53
#define N_WORKERS	64
#define TABLE_WAYS	512		/* 64 buckets */
/* The first quarter of the buckets is full of assured sessions no packet
 * comes for: a new flow whose two buckets are both there (1 in 16) is
 * refused. */
#define N_HELD_BUCKETS	(TABLE_WAYS / XSL_SESS_WAYS / 4)
#define N_EST		192		/* established flows, hit in batches */
#define HIT_REPEAT	8
#define NEW_SPACE	(1u << 20)	/* new flows before one comes again */
/* The lockstep test: at most this many flows, or seconds. */
#define NEW_FLOWS_LOCKSTEP	4000
#define LOCKSTEP_S		3

/* Flow kinds, by remote address: 10.1/16 established, 10.2/16 new,
 * 10.3/16 held. */
enum { FLOW_EST = 1, FLOW_NEW = 2, FLOW_HELD = 3 };

struct stress {
	struct fx fx;
	int wrk_fd;
	atomic_bool stop;
	atomic_uint seq;		/* next new flow, shared by both CPUs */
	/* the XDP threads */
	atomic_ulong runs, hits, creates, torn_hits, bad_verdicts, run_errors;
	/* the agent thread */
	atomic_ulong reads, torn_reads, deletes, rehomes, dups_removed, scans;
};

static void flow_key(int kind, __u32 id, struct xsl_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = XSL_AF_INET;
	k->proto = IPPROTO_UDP;
	k->raddr[0] = htonl(0x0a000000u | (__u32)kind << 16 | (id & 0xffff));
	k->rport = htons((__u16)(1024 + (id >> 16)));
	k->laddr[0] = htonl(0x0a630001u);	/* 10.99.0.1 */
	k->lport = htons(PORT);
}

static int flow_kind(const struct xsl_flow_key *k)
{
	return (int)(ntohl(k->raddr[0]) >> 16 & 0xff);
}

/* W(F): the worker of F's slot (fx_simple: slot i is worker i % n). */
static __u32 worker_of(const struct xsl_flow_key *k)
{
	return fx_slot_of(k) % N_WORKERS;
}

static __u32 other_worker(__u32 w)
{
	return (w + 1) % N_WORKERS;
}

/* A route that belongs with k: W(k) or W'(k), and the rest as created. */
static int route_ok(const struct xsl_flow_key *k, const struct xsl_session *s)
{
	__u32 w = worker_of(k);

	return (s->worker == w || s->worker == other_worker(w)) && s->worker_gen == 1 &&
	       s->app == 1 && s->listener == 0 && k->family == XSL_AF_INET &&
	       k->proto == IPPROTO_UDP && k->lport == htons(PORT);
}

static int build(int kind, __u32 id, __u8 *buf, size_t cap)
{
	struct xsl_flow_key k;
	struct fx_pkt p;
	char src[INET_ADDRSTRLEN];

	flow_key(kind, id, &k);
	inet_ntop(AF_INET, &k.raddr[0], src, sizeof(src));
	fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, src, ntohs(k.rport), "10.99.0.1", PORT);
	p.payload = 16;
	return fx_build(&p, buf, cap, NULL);
}

static int bucket_used(const struct sesstab *t, __u32 b)
{
	int n = 0;

	for (int i = 0; i < XSL_SESS_WAYS; i++)
		n += t->b[b].t.tag[i] >= XSL_TAG_BIT;
	return n;
}

/* Packets delivered to worker w by this CPU so far (its own per-CPU slot). */
static __u64 delivered(struct stress *st, __u32 w, int cpu)
{
	struct xsl_worker_stats v[st->fx.ncpus];

	if (bpf_map_lookup_elem(st->wrk_fd, &w, v))
		return (__u64)-1;
	return v[cpu].packets;
}

struct xdp_arg {
	struct stress *st;
	int cpu;
};

/* Runs one flow's packet repeat times and checks where it all went. */
static void xdp_batch(struct stress *st, int cpu, int kind, __u32 id, __u32 repeat)
{
	__u8 frame[FX_PKT_MAX];
	struct xsl_flow_key k;
	int len = build(kind, id, frame, sizeof(frame));
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .repeat = 1);
	__u64 w0, o0, w1, o1;
	__u32 w, o;

	if (len < 0) {
		st->run_errors++;
		return;
	}
	opts.data_size_in = (__u32)len;
	flow_key(kind, id, &k);
	w = worker_of(&k);
	o = other_worker(w);
	w0 = delivered(st, w, cpu);
	o0 = delivered(st, o, cpu);
	/* one run a call: with repeat > 1 the kernel yields to the hogs
	 * between runs, for milliseconds */
	for (__u32 i = 0; i < repeat; i++) {
		opts.retval = 0;
		if (bpf_prog_test_run_opts(st->fx.prog_fd, &opts)) {
			st->run_errors++;
			return;
		}
		if (opts.retval != XDP_PASS)
			st->bad_verdicts++;
	}
	w1 = delivered(st, w, cpu);
	o1 = delivered(st, o, cpu);
	st->runs += repeat;
	if ((w1 - w0) + (o1 - o0) != repeat)
		st->torn_hits++;
}

static void *xdp_thread(void *arg)
{
	struct xdp_arg *xa = arg;
	struct stress *st = xa->st;
	unsigned int rnd = (unsigned int)xa->cpu * 7919u + 1;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(xa->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		st->run_errors++;
		return NULL;
	}
	while (!st->stop) {
		if (rand_r(&rnd) % 2) {
			xdp_batch(st, xa->cpu, FLOW_EST, (__u32)rand_r(&rnd) % N_EST, HIT_REPEAT);
			st->hits++;
		} else {
			/* both CPUs send the current new flow until one moves on:
			 * often at once, so both may create it */
			unsigned int id = st->seq;

			xdp_batch(st, xa->cpu, FLOW_NEW, id % NEW_SPACE, 1);
			atomic_compare_exchange_strong(&st->seq, &id, id + 1);
			st->creates++;
		}
	}
	return NULL;
}

struct agent_ctx {
	struct stress *st;
	unsigned int rnd;
};

/* The agent's view of one session: check, then as the GC would. */
static int agent_one(const struct sesstab_way *w, const struct xsl_flow_key *k,
		     const struct xsl_session *s, void *arg)
{
	struct agent_ctx *c = arg;
	struct stress *st = c->st;
	struct sesstab *t = &st->fx.tab;
	unsigned int r;

	st->reads++;
	if (!route_ok(k, s)) {
		st->torn_reads++;
		return 0;
	}
	if (flow_kind(k) == FLOW_HELD)
		return 0;
	if (sesstab__duplicate(t, w, k)) {
		if (!sesstab__delete(t, w))
			st->dups_removed++;
		return 0;
	}
	/* the thread visits each session some 10^5 times a second: a few
	 * deletes, more re-homes, and the table stays full */
	r = (unsigned int)rand_r(&c->rnd) % 8192;
	if (r == 0) {
		if (!sesstab__delete(t, w))
			st->deletes++;
	} else if (r < 64) {
		__u32 to = s->worker == worker_of(k) ? other_worker(s->worker) : worker_of(k);

		if (!sesstab__rehome(t, w, xsl_route(s->worker, 1, 1, 0), xsl_route(to, 1, 1, 0)))
			st->rehomes++;
	}
	return 0;
}

static void *agent_thread(void *arg)
{
	struct agent_ctx c = { .st = arg, .rnd = 12345 };
	struct stress *st = c.st;

	while (!st->stop) {
		sesstab__scan(&st->fx.tab, 0, st->fx.tab.nbuckets, agent_one, &c);
		st->scans++;
	}
	return NULL;
}

/* Checks of the quiet table. */
struct final {
	struct stress *st;
	unsigned long sessions, bad_routes, dups_removed, held;
};

static int final_gc(const struct sesstab_way *w, const struct xsl_flow_key *k,
		    const struct xsl_session *s, void *arg)
{
	struct final *f = arg;

	if (!route_ok(k, s))
		f->bad_routes++;
	if (sesstab__duplicate(&f->st->fx.tab, w, k) && !sesstab__delete(&f->st->fx.tab, w))
		f->dups_removed++;
	return 0;
}

/* After the GC pass: each session is the one lookups find for its key. */
static int final_unique(const struct sesstab_way *w, const struct xsl_flow_key *k,
			const struct xsl_session *s, void *arg)
{
	struct final *f = arg;
	struct sesstab_way found;

	f->sessions++;
	if (flow_kind(k) == FLOW_HELD && (s->flags & XSL_SESSION_F_ASSURED))
		f->held++;
	if (sesstab__find(&f->st->fx.tab, k, &found) || found.bucket != w->bucket ||
	    found.way != w->way)
		fail_msg("a duplicate of a flow is left in bucket %u way %u", w->bucket, w->way);
	return 0;
}

/* No busy way; each bucket's overflow is the number of flows in their
 * second bucket that have it as their first. */
static void check_overflow(const struct sesstab *t)
{
	__u32 *want = calloc(t->nbuckets, sizeof(*want));

	assert_non_null(want);
	for (__u32 b = 0; b < t->nbuckets; b++) {
		for (int i = 0; i < XSL_SESS_WAYS; i++) {
			__u32 tag = t->b[b].t.tag[i];

			if (tag == XSL_TAG_BUSY)
				fail_msg("bucket %u way %d left busy", b, i);
			if (tag >= XSL_TAG_BIT && (t->b[b].t.state[i] & XSL_WAY_ALT))
				want[xsl_sess_other(b, tag, t->mask)]++;
		}
	}
	for (__u32 b = 0; b < t->nbuckets; b++)
		if (t->b[b].t.overflow != want[b])
			fail_msg("bucket %u: overflow %u, %u flows live in their second bucket", b,
				 t->b[b].t.overflow, want[b]);
	free(want);
}

static void test_two_cpus_and_agent_never_tear(void **state)
{
	struct stress *st = calloc(1, sizeof(*st));
	struct xsl_session held = { .app = 1, .worker_gen = 1, .flags = XSL_SESSION_F_ASSURED };
	struct xdp_arg xa[2] = { { .cpu = 0 }, { .cpu = 1 } };
	const char *env = getenv("XSL_STRESS_MS");
	long ms = env ? atol(env) : 5000;
	pthread_t xt[2], at;
	struct final f = { 0 };
	struct xsl_stats stats;
	struct timespec ts;
	unsigned int placed = 0;

	(void)state;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		skip();
	assert_non_null(st);
	assert_int_equal(fx_open(&st->fx, TABLE_WAYS), 0);
	assert_int_equal(fx_simple(&st->fx, XSL_AF_INET, IPPROTO_UDP, PORT, N_WORKERS,
				   XSL_POLICY_REASSIGN), 0);
	st->wrk_fd = fx_map_fd(&st->fx, XSL_MAP_WRK_STATS);
	assert_true(st->wrk_fd >= 0);

	/* held sessions, as a busy app's assured ones: refusals come from
	 * the buckets they fill */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	held.last_seen_ns = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	for (__u32 i = 0; i < (1u << 20) && placed < N_HELD_BUCKETS * XSL_SESS_WAYS; i++) {
		struct xsl_flow_key k;
		struct xsl_sess_pos p;

		flow_key(FLOW_HELD, i, &k);
		sesstab__place(&st->fx.tab, &k, &p);
		if (p.b1 >= N_HELD_BUCKETS || bucket_used(&st->fx.tab, p.b1) == XSL_SESS_WAYS)
			continue;
		held.worker = worker_of(&k);
		placed += !fx_session_put(&st->fx, &k, &held);
	}
	assert_int_equal(placed, N_HELD_BUCKETS * XSL_SESS_WAYS);
	for (int c = 0; c < 2; c++) {
		xa[c].st = st;
		assert_int_equal(pthread_create(&xt[c], NULL, xdp_thread, &xa[c]), 0);
	}
	assert_int_equal(pthread_create(&at, NULL, agent_thread, st), 0);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = ms % 1000 * 1000000;
	nanosleep(&ts, NULL);
	st->stop = true;
	pthread_join(xt[0], NULL);
	pthread_join(xt[1], NULL);
	pthread_join(at, NULL);

	f.st = st;
	check_overflow(&st->fx.tab);
	sesstab__scan(&st->fx.tab, 0, st->fx.tab.nbuckets, final_gc, &f);
	check_overflow(&st->fx.tab);
	sesstab__scan(&st->fx.tab, 0, st->fx.tab.nbuckets, final_unique, &f);
	assert_int_equal(fx_stats(&st->fx, &stats), 0);
	printf("  # %lu ms: %lu packets (%lu hit batches of %d, %lu new-flow packets) from 2 "
	       "CPUs; created %llu, evicted %llu, refused %llu; agent: %lu scans, %lu reads, "
	       "%lu deletes, %lu re-homes, %lu duplicates removed during the run and %lu "
	       "after; %lu sessions at the end, %lu of %u held\n",
	       ms, (unsigned long)st->runs, (unsigned long)st->hits, HIT_REPEAT,
	       (unsigned long)st->creates, (unsigned long long)stats.stat[XSL_STAT_SESSION_CREATED],
	       (unsigned long long)stats.stat[XSL_STAT_SESSION_EVICTED],
	       (unsigned long long)stats.stat[XSL_STAT_SESSION_REFUSED], (unsigned long)st->scans,
	       (unsigned long)st->reads, (unsigned long)st->deletes, (unsigned long)st->rehomes,
	       (unsigned long)st->dups_removed, f.dups_removed, f.sessions, f.held, placed);

	assert_int_equal(st->run_errors, 0);
	assert_int_equal(st->bad_verdicts, 0);
	assert_int_equal(st->torn_hits, 0);
	assert_int_equal(st->torn_reads, 0);
	assert_int_equal(f.bad_routes, 0);
	/* every part of the mix ran */
	assert_true(st->hits > 0 && st->creates > 0 && st->deletes > 0 && st->rehomes > 0);
	assert_true(stats.stat[XSL_STAT_SESSION_EVICTED] > 0);
	assert_true(stats.stat[XSL_STAT_SESSION_REFUSED] > 0);
	/* an active assured session is never evicted by a new flow */
	assert_int_equal(f.held, placed);
	fx_close(&st->fx);
	free(st);
}

/* Two threads that run each new flow's first packet at the same moment. */
struct lockstep {
	struct stress *st;
	int cpu;
	atomic_uint *ready;
	unsigned int rounds;
	struct timespec until;		/* CLOCK_MONOTONIC: stop then */
	unsigned int sent;		/* flows 0..sent-1 were sent by this CPU */
};

static bool past(const struct timespec *until)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > until->tv_sec ||
	       (now.tv_sec == until->tv_sec && now.tv_nsec >= until->tv_nsec);
}

static void *lockstep_thread(void *arg)
{
	struct lockstep *l = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(l->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		l->st->run_errors++;
		return NULL;
	}
	for (unsigned int r = 0; r < l->rounds && !l->st->stop; r++) {
		if (past(&l->until)) {
			l->st->stop = true;
			break;
		}
		atomic_fetch_add(l->ready, 1);
		while (atomic_load(l->ready) < 2 * (r + 1) && !l->st->stop)
			;
		if (l->st->stop)
			break;
		xdp_batch(l->st, l->cpu, FLOW_NEW, r, 1);
		l->sent = r + 1;
	}
	return NULL;
}

/* Sessions of one kind, and how many keys they hold between them. */
struct census {
	unsigned long sessions, keys;
	struct sesstab *t;
};

static int census_one(const struct sesstab_way *w, const struct xsl_flow_key *k,
		      const struct xsl_session *s, void *arg)
{
	struct census *c = arg;
	struct sesstab_way first;

	(void)s;
	c->sessions++;
	/* the way lookups serve is counted as the key's */
	if (!sesstab__find(c->t, k, &first) && first.bucket == w->bucket && first.way == w->way)
		c->keys++;
	return 0;
}

/*
 * Both CPUs create the same new flows at once, in lockstep: some flows get
 * two sessions. Both are made for the same worker; a GC pass removes
 * exactly the extra ones and leaves the counts exact.
 */
static void test_same_flow_from_two_cpus_duplicates_removed(void **state)
{
	struct stress *st = calloc(1, sizeof(*st));
	atomic_uint ready = 0;
	struct lockstep l[2] = { { .cpu = 0 }, { .cpu = 1 } };
	struct census before = { 0 }, after = { 0 };
	struct final f = { 0 };
	struct timespec until;
	struct xsl_stats stats;
	unsigned long flows;
	pthread_t t[2];

	(void)state;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		skip();
	assert_non_null(st);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += LOCKSTEP_S;
	/* room enough that no bucket fills: no flow evicts another */
	assert_int_equal(fx_open(&st->fx, 16 * NEW_FLOWS_LOCKSTEP), 0);
	assert_int_equal(fx_simple(&st->fx, XSL_AF_INET, IPPROTO_UDP, PORT, N_WORKERS,
				   XSL_POLICY_REASSIGN), 0);
	st->wrk_fd = fx_map_fd(&st->fx, XSL_MAP_WRK_STATS);
	for (int c = 0; c < 2; c++) {
		l[c].st = st;
		l[c].ready = &ready;
		l[c].rounds = NEW_FLOWS_LOCKSTEP;
		l[c].until = until;
		assert_int_equal(pthread_create(&t[c], NULL, lockstep_thread, &l[c]), 0);
	}
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	flows = l[0].sent > l[1].sent ? l[0].sent : l[1].sent;

	before.t = &st->fx.tab;
	sesstab__scan(&st->fx.tab, 0, st->fx.tab.nbuckets, census_one, &before);
	check_overflow(&st->fx.tab);
	f.st = st;
	sesstab__scan(&st->fx.tab, 0, st->fx.tab.nbuckets, final_gc, &f);
	check_overflow(&st->fx.tab);
	after.t = &st->fx.tab;
	sesstab__scan(&st->fx.tab, 0, st->fx.tab.nbuckets, census_one, &after);
	printf("  # %lu new flows from both CPUs at once: %lu sessions for %lu flows, the GC "
	       "removed %lu duplicates\n", flows, before.sessions, before.keys, f.dups_removed);
	assert_int_equal(st->run_errors, 0);
	assert_int_equal(st->torn_hits, 0);
	assert_int_equal(f.bad_routes, 0);
	assert_int_equal(fx_stats(&st->fx, &stats), 0);
	assert_int_equal(stats.stat[XSL_STAT_SESSION_EVICTED], 0);
	assert_int_equal(stats.stat[XSL_STAT_SESSION_REFUSED], 0);
	assert_true(flows > 0);
	assert_int_equal(before.keys, flows);
	/* the race was there to be had */
	assert_true(before.sessions > before.keys);
	assert_int_equal(f.dups_removed, before.sessions - before.keys);
	assert_int_equal(after.sessions, flows);
	assert_int_equal(after.keys, flows);
	fx_close(&st->fx);
	free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_cpus_and_agent_never_tear),
		cmocka_unit_test(test_same_flow_from_two_cpus_duplicates_removed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
