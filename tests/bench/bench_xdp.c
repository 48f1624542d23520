// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * XDP fast-path benchmark with BPF_PROG_TEST_RUN. Times are the kernel's own
 * test_run duration: ns per program run inside the kernel's repeat loop, no
 * syscall cost, best of ROUNDS rounds of REPEAT runs.
 *
 *   session hit / not ours: one packet repeated (its state does not change);
 *     baseline: an empty XDP program (return XDP_PASS) from raw instructions.
 *     The port filter (xsl_ports) is enabled with the listener's bits, as the
 *     agent runs it; "not ours" is timed with it and again with it off (the
 *     two listener lookups, as with an XDP object no agent has set up).
 *   session create: every run must be a new flow, so a small "stepper"
 *     program (raw instructions too) adds one to a word of the source
 *     address and tail-calls the measured program; its baseline is the
 *     stepper tail-calling the empty program.
 *
 * The sessions map has XSL_MAX_SESSIONS entries. Creates are timed twice:
 * "room", into the empty table, and "full", after the table was filled with
 * XSL_MAX_SESSIONS sessions (batch update), so every create evicts (LRU) as
 * in a saturated steady state. Hits and misses run on the full table; their
 * packet stays in cache, so they are hot-cache numbers. The memory of the
 * sessions map is read from /proc/self/fdinfo (memlock), as bpftool shows it.
 *
 * Prints a table; exits non-zero only when the benchmark cannot run.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xsl/limits.h"
#include "xsl/maps.h"
#include "fixture.h"

#define REPEAT		2000000
#define ROUNDS		5
/* Creates: 3 x 100k per family fit an empty table, 3 x 2M overflow it. */
#define REPEAT_ROOM	100000
#define ROUNDS_ROOM	3
#define ROUNDS_FULL	3
#define N_WORKERS	16

struct row {
	const char *name;
	double ns;
	double base;
	double target;		/* ratio to stay under, 0 for none */
};

static int empty_prog_load(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_XDP);
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "xsl_bench_nop", "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), &opts);

	return fd < 0 ? -errno : fd;
}

/*
 * The stepper: *(u32 *)(data + off) += 1, then tail call prog_array[0]
 * (XDP_PASS if the frame is too short or the tail call fails).
 */
static int stepper_load(int prog_array_fd, int off)
{
	struct bpf_insn insns[] = {
		/* r6 = ctx; r2 = data; r3 = data_end */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_6, .src_reg = BPF_REG_1 },
		{ .code = BPF_LDX | BPF_W | BPF_MEM, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_1,
		  .off = offsetof(struct xdp_md, data) },
		{ .code = BPF_LDX | BPF_W | BPF_MEM, .dst_reg = BPF_REG_3, .src_reg = BPF_REG_1,
		  .off = offsetof(struct xdp_md, data_end) },
		/* if (data + off + 4 > data_end) goto pass */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_4, .src_reg = BPF_REG_2 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_4, .imm = off + 4 },
		{ .code = BPF_JMP | BPF_JGT | BPF_X, .dst_reg = BPF_REG_4, .src_reg = BPF_REG_3,
		  .off = 8 },
		/* *(u32 *)(data + off) += 1 */
		{ .code = BPF_LDX | BPF_W | BPF_MEM, .dst_reg = BPF_REG_5, .src_reg = BPF_REG_2,
		  .off = off },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_5, .imm = 1 },
		{ .code = BPF_STX | BPF_W | BPF_MEM, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_5,
		  .off = off },
		/* bpf_tail_call(ctx, prog_array, 0) */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_1, .src_reg = BPF_REG_6 },
		{ .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_2,
		  .src_reg = BPF_PSEUDO_MAP_FD, .imm = prog_array_fd },
		{ 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3, .imm = 0 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_tail_call },
		/* pass: */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	/* Same attach type as libbpf gives xsl_xdp, or the tail call is refused. */
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_XDP);
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "xsl_bench_step", "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), &opts);

	return fd < 0 ? -errno : fd;
}

/* Best of ROUNDS runs of `repeat` iterations: ns per run. */
static double time_repeat(int prog_fd, const void *pkt, size_t len, __u32 want)
{
	double best = 1e18;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = len,
			    .repeat = REPEAT);

		if (bpf_prog_test_run_opts(prog_fd, &opts)) {
			fprintf(stderr, "bench: test_run: %s\n", strerror(errno));
			exit(1);
		}
		if (opts.retval != want) {
			fprintf(stderr, "bench: verdict %u, expected %u\n", opts.retval, want);
			exit(1);
		}
		if (opts.duration < best)
			best = opts.duration;
	}
	return best;
}

/* One round of `repeat` runs: ns per run. */
static double time_round(int prog_fd, const void *pkt, size_t len, __u32 want, __u32 repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &opts) || opts.retval != want) {
		fprintf(stderr, "bench: test_run failed (%s, verdict %u)\n", strerror(errno),
			opts.retval);
		exit(1);
	}
	return opts.duration;
}

static void assert_stats(struct fx *fx, struct xsl_stats *st)
{
	int err = fx_stats(fx, st);

	if (err) {
		fprintf(stderr, "bench: read xsl_stats: %s\n", strerror(-err));
		exit(1);
	}
}

/* One run, to set state up (create the session a hit then finds). */
static void run_once(int prog_fd, const void *pkt, size_t len, __u32 want)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = len, .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &opts) || opts.retval != want) {
		fprintf(stderr, "bench: set-up run failed (%s, verdict %u)\n", strerror(errno),
			opts.retval);
		exit(1);
	}
}

/* Client i of family: a distinct (address, port) per i. */
static void client(struct fx_pkt *p, int family, __u8 proto, __u32 i, __u16 dport)
{
	if (family == XSL_AF_INET) {
		fx_pkt_init(p, family, proto, "10.0.0.1", 0, "192.0.2.1", dport);
		p->saddr[0] = htonl(0x0a000000 | (i >> 8));
	} else {
		fx_pkt_init(p, family, proto, "2001:db8::", 0, "2001:db8:1::1", dport);
		p->saddr[3] = htonl(i >> 8);
	}
	p->sport = 1024 + (i & 0xff);
	p->payload = 64;
}

/* Fills the sessions map with n sessions of listener 0 over the workers. */
static int fill_sessions(struct fx *fx, __u32 n)
{
	const __u32 chunk = 65536;
	struct xsl_flow_key *keys = calloc(chunk, sizeof(*keys));
	struct xsl_session *vals = calloc(chunk, sizeof(*vals));
	int fd = fx_map_fd(fx, XSL_MAP_SESSIONS), err = 0;
	__u32 i, j, cnt;
	struct fx_pkt p;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n && !err; i += chunk) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);

		cnt = n - i < chunk ? n - i : chunk;
		for (j = 0; j < cnt; j++) {
			/* Half v4, half v6; client ids above the measured ones. */
			client(&p, (i + j) & 1 ? XSL_AF_INET6 : XSL_AF_INET, IPPROTO_UDP,
			       (1u << 22) + i + j, 53);
			fx_key(&p, &keys[j]);
			memset(&vals[j], 0, sizeof(vals[j]));
			vals[j].worker = (i + j) % N_WORKERS;
			vals[j].worker_gen = 1;
			vals[j].app = 1;
			vals[j].packets = 1;
		}
		if (bpf_map_update_batch(fd, keys, vals, &cnt, &opts))
			err = -errno;
	}
out:
	free(keys);
	free(vals);
	return err;
}

static long fdinfo_memlock(int fd)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static int setup(struct fx *fx)
{
	__u32 workers[N_WORKERS], gens[N_WORKERS];
	int err, i;

	err = fx_open(fx, XSL_MAX_SESSIONS);
	if (err)
		return err;
	err = fx_app(fx, 1, 1, XSL_POLICY_REASSIGN, 0);
	for (i = 0; !err && i < N_WORKERS; i++) {
		workers[i] = i;
		gens[i] = 1;
		err = fx_worker(fx, i, 1, 1, 1, -1);
	}
	if (!err)
		err = fx_slots(fx, 0, workers, gens, N_WORKERS);
	if (!err)
		err = fx_listener(fx, XSL_AF_INET, IPPROTO_UDP, NULL, 53, 0, 1, 1, N_WORKERS);
	if (!err)
		err = fx_listener(fx, XSL_AF_INET6, IPPROTO_UDP, NULL, 53, 0, 1, 1, N_WORKERS);
	/* The listeners' bits and the filter on, as the agent leaves them. */
	if (!err)
		err = fx_port_bit(fx, XSL_AF_INET, IPPROTO_UDP, 53, 1);
	if (!err)
		err = fx_port_bit(fx, XSL_AF_INET6, IPPROTO_UDP, 53, 1);
	if (!err)
		err = fx_port_filter(fx, 1);
	return err;
}

static void print_row(const struct row *r)
{
	double ratio = r->ns / r->base;

	printf("  %-26s %8.1f %8.2fx", r->name, r->ns, ratio);
	if (r->target > 0)
		printf("   (target <= %.1fx: %s)", r->target,
		       ratio <= r->target ? "ok" : "OVER");
	printf("\n");
}

/*
 * Best of `rounds` rounds of `repeat` new flows each, run through the stepper
 * (which must tail-call xsl_xdp); every run must have created a session.
 */
static double time_create(struct fx *fx, int step_fd, int family, int rounds, __u32 repeat,
			  __u16 sport0)
{
	__u8 pkt[FX_PKT_MAX];
	struct xsl_stats st;
	double best = 1e18, ns;
	__u64 before;
	struct fx_pkt p;
	int r, len;

	assert_stats(fx, &st);
	before = st.stat[XSL_STAT_SESSION_CREATED];
	for (r = 0; r < rounds; r++) {
		/* Each round starts from other flows: another client port. */
		client(&p, family, IPPROTO_UDP, 3, 53);
		p.sport = sport0 + r;
		len = fx_build(&p, pkt, sizeof(pkt), NULL);
		ns = time_round(step_fd, pkt, len, XDP_PASS, repeat);
		if (ns < best)
			best = ns;
	}
	assert_stats(fx, &st);
	if (st.stat[XSL_STAT_SESSION_CREATED] - before != (__u64)rounds * repeat) {
		fprintf(stderr, "bench: %llu sessions created by %llu new flows\n",
			(unsigned long long)(st.stat[XSL_STAT_SESSION_CREATED] - before),
			(unsigned long long)rounds * repeat);
		exit(1);
	}
	return best;
}

static int prog_array_set(int map_fd, int prog_fd)
{
	__u32 zero = 0;

	return bpf_map_update_elem(map_fd, &zero, &prog_fd, BPF_ANY) ? -errno : 0;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(-err));
	exit(1);
}

/* Where the stepper bumps the source address: a word that is all ours. */
#define STEP_OFF_V4	(14 + 12)
#define STEP_OFF_V6	(14 + 8 + 12)

int main(void)
{
	static const int fams[2] = { XSL_AF_INET, XSL_AF_INET6 };
	static char names[10][40];
	int nop_fd, pa_fd, step_fd[2], err, f, len, i, nrows = 0;
	double base, base_step[2];
	__u8 pkt[FX_PKT_MAX];
	struct row rows[10];
	struct xsl_stats st;
	struct fx_pkt p;
	struct fx fx;
	long mem;

	nop_fd = empty_prog_load();
	if (nop_fd < 0)
		die("load the empty XDP program", nop_fd);
	pa_fd = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "xsl_bench_pa", 4, 4, 1, NULL);
	if (pa_fd < 0)
		die("create the prog array", -errno);
	step_fd[0] = stepper_load(pa_fd, STEP_OFF_V4);
	step_fd[1] = stepper_load(pa_fd, STEP_OFF_V6);
	if (step_fd[0] < 0 || step_fd[1] < 0)
		die("load the stepper", step_fd[0] < 0 ? step_fd[0] : step_fd[1]);
	err = setup(&fx);
	if (err)
		die("set up xsl_xdp", err);

	/* Baselines. */
	client(&p, XSL_AF_INET, IPPROTO_UDP, 1, 53);
	len = fx_build(&p, pkt, sizeof(pkt), NULL);
	base = time_repeat(nop_fd, pkt, len, XDP_PASS);
	err = prog_array_set(pa_fd, nop_fd);
	if (err)
		die("prog array <- empty program", err);
	for (f = 0; f < 2; f++) {
		client(&p, fams[f], IPPROTO_UDP, 2, 53);
		len = fx_build(&p, pkt, sizeof(pkt), NULL);
		base_step[f] = time_repeat(step_fd[f], pkt, len, XDP_PASS);
	}

	/* Creates into an empty table first: no eviction. */
	err = prog_array_set(pa_fd, fx.prog_fd);
	if (err)
		die("prog array <- xsl_xdp", err);
	for (f = 0; f < 2; f++) {
		const char *v = fams[f] == XSL_AF_INET ? "v4" : "v6";

		snprintf(names[nrows], sizeof(names[0]), "session create %s, room", v);
		rows[nrows] = (struct row){ names[nrows],
					    time_create(&fx, step_fd[f], fams[f], ROUNDS_ROOM,
							REPEAT_ROOM, 20000),
					    base_step[f], 4.0 };
		nrows++;
	}

	err = fill_sessions(&fx, XSL_MAX_SESSIONS);
	if (err)
		die("fill the sessions map", err);
	for (f = 0; f < 2; f++) {
		const char *v = fams[f] == XSL_AF_INET ? "v4" : "v6";

		/* Hit: the first run creates the session, the rest find it. */
		client(&p, fams[f], IPPROTO_UDP, 7, 53);
		len = fx_build(&p, pkt, sizeof(pkt), NULL);
		run_once(fx.prog_fd, pkt, len, XDP_PASS);
		snprintf(names[nrows], sizeof(names[0]), "session hit %s", v);
		rows[nrows] = (struct row){ names[nrows], time_repeat(fx.prog_fd, pkt, len, XDP_PASS),
					    base, 1.8 };
		nrows++;

		/* Not ours: a port nobody listens on, its bit clear. */
		client(&p, fams[f], IPPROTO_UDP, 8, 8053);
		len = fx_build(&p, pkt, sizeof(pkt), NULL);
		snprintf(names[nrows], sizeof(names[0]), "not ours (miss) %s", v);
		rows[nrows] = (struct row){ names[nrows], time_repeat(fx.prog_fd, pkt, len, XDP_PASS),
					    base, 1.3 };
		nrows++;

		/* The same with the filter off: both listener lookups. */
		err = fx_port_filter(&fx, 0);
		if (err)
			die("turn the port filter off", err);
		snprintf(names[nrows], sizeof(names[0]), "not ours %s, filter off", v);
		rows[nrows] = (struct row){ names[nrows], time_repeat(fx.prog_fd, pkt, len, XDP_PASS),
					    base, 0 };
		nrows++;
		err = fx_port_filter(&fx, 1);
		if (err)
			die("turn the port filter on", err);
	}

	for (f = 0; f < 2; f++) {
		const char *v = fams[f] == XSL_AF_INET ? "v4" : "v6";

		snprintf(names[nrows], sizeof(names[0]), "session create %s, full", v);
		rows[nrows] = (struct row){ names[nrows],
					    time_create(&fx, step_fd[f], fams[f], ROUNDS_FULL,
							REPEAT, 40000),
					    base_step[f], 4.0 };
		nrows++;
	}

	printf("xsl_xdp under BPF_PROG_TEST_RUN: ns per run, best round; sessions map of %u\n"
	       "(room: creates into an empty table; full: every create evicts)\n",
	       XSL_MAX_SESSIONS);
	printf("baseline: empty XDP program %.1f ns; stepper + empty %.1f ns (v4), %.1f ns (v6)\n\n",
	       base, base_step[0], base_step[1]);
	printf("  %-26s %8s %9s\n", "case", "ns/pkt", "vs base");
	for (i = 0; i < nrows; i++)
		print_row(&rows[i]);

	assert_stats(&fx, &st);
	printf("\ncounters: created %llu, hits %llu, not ours %llu, drops %llu\n",
	       (unsigned long long)st.stat[XSL_STAT_SESSION_CREATED],
	       (unsigned long long)st.stat[XSL_STAT_LOOKUP_HIT],
	       (unsigned long long)st.stat[XSL_STAT_NOT_OURS],
	       (unsigned long long)st.stat[XSL_STAT_XDP_DROP]);
	mem = fdinfo_memlock(fx_map_fd(&fx, XSL_MAP_SESSIONS));
	printf("sessions map: %u entries max, memlock %ld bytes (%.1f MiB, %.0f B/entry)\n",
	       XSL_MAX_SESSIONS, mem, mem / 1048576.0, (double)mem / XSL_MAX_SESSIONS);

	fx_close(&fx);
	close(step_fd[0]);
	close(step_fd[1]);
	close(pa_fd);
	close(nop_fd);
	return 0;
}
