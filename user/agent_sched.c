// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The agent's CPU scheduling (--sched). Every fork of an app waits for the
 * agent to register the child, so on a machine whose CPUs are busy the
 * agent's wait on the run queue is most of a fork's registration latency;
 * a real-time policy (fifo:N, rr:N) removes that wait, as chronyd or
 * corosync do for their own time-critical loops.
 *
 * A real-time agent must not be able to starve the machine. Bounds:
 *  - it is one thread: it can hold at most one CPU;
 *  - the kernel's RT throttling (kernel.sched_rt_runtime_us, 950000 of
 *    every 1000000 by default; since Linux 6.12 the fair server) leaves
 *    the other tasks of that CPU at least 5%;
 *  - its own watchdog: RLIMIT_RTTIME makes the kernel send SIGXCPU once
 *    the agent has run AGENT_RT_BURST_MS without sleeping (a fork storm it
 *    cannot keep up with, a long pass, a bug); the handler drops it to
 *    SCHED_OTHER at once, and the timer tick puts it back
 *    AGENT_RT_COOLDOWN_MS later. Should the handler not run, the hard limit
 *    has the kernel kill it (systemd restarts it; the pinned state stays).
 * The policy is applied once the agent is started: the recovery and first
 * reconcile passes, which can be long, run under the inherited policy.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include "agent.h"
#include "clock.h"
#include "log.h"

#define AGENT_RT_BURST_MS	200
#define AGENT_RT_HARD_MS	2000
#define AGENT_RT_COOLDOWN_MS	1000

/* set by the SIGXCPU handler, which has already dropped the policy */
static volatile sig_atomic_t rt_demoted;

static void on_sigxcpu(int sig)
{
	struct sched_param sp = { 0 };
	int saved = errno;

	(void)sig;
	sched_setscheduler(0, SCHED_OTHER, &sp);
	rt_demoted = 1;
	errno = saved;
}

static bool realtime(const struct sched_opt *o)
{
	return o->policy == SCHED_FIFO || o->policy == SCHED_RR;
}

/* SIGXCPU after AGENT_RT_BURST_MS of real-time running without sleeping,
 * SIGKILL after AGENT_RT_HARD_MS */
static int watchdog_arm(void)
{
	struct rlimit rl = { .rlim_cur = AGENT_RT_BURST_MS * 1000ul,
			     .rlim_max = AGENT_RT_HARD_MS * 1000ul };
	struct sigaction sa = { .sa_handler = on_sigxcpu, .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGXCPU, &sa, NULL) || setrlimit(RLIMIT_RTTIME, &rl))
		return -errno;
	return 0;
}

void agent__sched_start(struct agent *a)
{
	char desc[64];
	int err;

	if (!a->o.sched_set)
		return;
	sched_opt__describe(&a->o.sched, desc, sizeof(desc));
	if (realtime(&a->o.sched)) {
		err = watchdog_arm();
		if (err) {
			/* no real-time policy without its bound */
			pr_warn("scheduling: cannot bound a real-time agent (RLIMIT_RTTIME, "
				"SIGXCPU): %s; staying as started\n", strerror(-err));
			return;
		}
	}
	err = sched_opt__apply(&a->o.sched);
	if (err) {
		/* not fatal: the agent works, only slower under load */
		pr_warn("scheduling: cannot run under %s: %s%s; staying as started\n", desc,
			strerror(-err), err == -EPERM ? " (needs CAP_SYS_NICE, and with RT group "
			"scheduling a cgroup with real-time runtime)" : "");
		return;
	}
	a->sched_rt = realtime(&a->o.sched);
	pr_info("scheduling: %s\n", desc);
}

void agent__sched_tick(struct agent *a)
{
	uint64_t now = mono_ns();
	int err;

	if (!a->sched_rt)
		return;
	if (rt_demoted) {
		rt_demoted = 0;
		a->sched_demoted_ns = now;
		a->c.sched_demotions++;
		pr_warn("scheduling: ran its real-time limit (%u ms) without sleeping: "
			"SCHED_OTHER for %u ms\n", AGENT_RT_BURST_MS, AGENT_RT_COOLDOWN_MS);
		return;
	}
	if (!a->sched_demoted_ns || now - a->sched_demoted_ns < AGENT_RT_COOLDOWN_MS * 1000000ull)
		return;
	a->sched_demoted_ns = 0;
	/* the kernel moved the soft limit 1 s up when it sent SIGXCPU */
	err = watchdog_arm();
	if (!err)
		err = sched_opt__apply(&a->o.sched);
	if (err)
		pr_warn("scheduling: back to the real-time policy: %s\n", strerror(-err));
	else
		pr_info("scheduling: real-time again\n");
}
