/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The pure parts of the instance lifecycle (agent_inst.c does the work):
 * which cgroup directory is an instance's, the stop signals `run --replace`
 * accepts, the replace options and their bounds, the drain histogram, and
 * what a draining or stopping instance is due for at a given time. No
 * syscalls: cmocka tests them.
 *
 * Instance cgroups: instance N of an app lives in <app cgroup>/i<N> (N in
 * 1..65535, no leading zero). The names i<N> directly below an app's
 * cgroup are xsl's: the agent makes them for `run` and removes them with
 * their instance.
 */
#ifndef XSL_INSTANCE_H
#define XSL_INSTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* `run --replace` defaults and bounds, seconds */
#define INST_DRAIN_S		10
#define INST_STOP_TIMEOUT_S	10
#define INST_READY_TIMEOUT_S	30
#define INST_MAX_S		86400

struct inst_replace_opts {
	uint32_t drain_s;		/* 0: no wait beyond the sessions */
	uint32_t stop_timeout_s;
	uint32_t ready_timeout_s;
	int stop_signal;
};

/* The defaults above, stop signal SIGTERM. */
void instance__default_opts(struct inst_replace_opts *o);

/* The instance number of "i<N>" (the name of one directory), else 0. */
uint16_t instance__dir_num(const char *name);
/*
 * The instance a process's cgroup names: path (absolute) is
 * <app_cgroup>/i<N> or below it -> N; anything else (the app's cgroup
 * itself, another child) -> 0.
 */
uint16_t instance__of_cgroup(const char *path, const char *app_cgroup);

/* "TERM", "SIGTERM", "term" or a number 1..64 -> the signal; -EINVAL for
 * any other. Accepted names: HUP INT QUIT KILL USR1 USR2 TERM WINCH CONT. */
int instance__signal(const char *name);
/* "TERM" for SIGTERM, NULL for a signal without a name here. */
const char *instance__signal_name(int sig);

/* The drain histogram, xsl_drain_seconds: from a new instance taking over
 * to the old one gone. */
#define DRAINHIST_BUCKETS 11
extern const double drainhist_bounds[DRAINHIST_BUCKETS];

struct drainhist {
	uint64_t bucket[DRAINHIST_BUCKETS];	/* not cumulative */
	uint64_t count;
	double sum;			/* seconds */
};

void drainhist__add(struct drainhist *h, uint64_t d_ns);

/* What an older instance is at, after a newer one took over. */
enum inst_phase {
	INST_P_NONE = 0,	/* serving or idle: nothing to do */
	INST_P_STARTING,	/* started by run --replace, not serving yet */
	INST_P_DRAINING,	/* a newer one took over: its sessions run out */
	INST_P_STOPPING,	/* the stop signal was sent: killed at the deadline */
	INST_P_KILLED,		/* its cgroup was killed: waits for it to be gone */
};

enum inst_action {
	INST_ACT_NONE = 0,
	INST_ACT_ABORT,		/* STARTING: did not serve in time */
	INST_ACT_STOP,		/* DRAINING: send the stop signal, mark stopping */
	INST_ACT_KILL,		/* STOPPING: kill what is left */
};

/*
 * What is due now for an instance in phase, with deadline (monotonic ns);
 * drained: every session of the instance has expired (counted by a pass
 * that began after the drain did), which ends a drain early.
 */
enum inst_action instance__due(enum inst_phase phase, uint64_t deadline_ns, uint64_t now_ns,
			       bool drained);

#endif /* XSL_INSTANCE_H */
