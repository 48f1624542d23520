// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Ring buffer events -> registry: FORK/JOIN register the process as a
 * worker, EXIT detaches exactly its workers, BIND/LISTEN adopt its socket,
 * RELEASE drops it. The app comes from the event's cgroup and the app's
 * handle (index + gen) the kernel saw: an event queued before its app was
 * freed names a dead app, never the app that took its index or cgroup since.
 * Each process event names its process by pid, start time and pidfs inode,
 * checked against the process table (a pid recycled meanwhile is another
 * process).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "agent.h"
#include "clock.h"
#include "log.h"
#include "xsl/events.h"

/* The live app an event belongs to, or -ENOENT. Socket events carry no
 * gen: their cgroup id (never reused within a boot) names the app. */
static int event_app(struct agent *a, const struct xsl_event *e, uint32_t *app)
{
	return registry__app_of_event(a->reg, e->cgroup_id, e->app, e->app_gen, app);
}

/*
 * A fork's registration latency in parts, which add up to it (plus the
 * log line after it): its kernel timestamp -> the agent's loop awake (the
 * ring buffer's wake-up and the wait for a CPU; 0 for an event queued while
 * the agent was awake), -> the agent reaching it (events and work ahead of
 * it), -> registered. Two clock reads a fork, no syscall (vDSO).
 */
static void fork_stages(struct agent *a, uint64_t ts, uint64_t start, uint64_t end)
{
	uint64_t woke = a->woke_ns > ts ? a->woke_ns : ts;
	struct lathist *h = a->c.fork_stage;

	if (!ts || start < woke)
		return;
	lathist__add(&h[FORK_STAGE_WAKE], woke - ts);
	lathist__add(&h[FORK_STAGE_QUEUE], start - woke);
	lathist__add(&h[FORK_STAGE_HANDLE], end - start);
}

int events__handle(void *ctx, void *data, size_t len)
{
	struct agent *a = ctx;
	const struct xsl_event *e = data;
	uint32_t app;

	if (len < sizeof(*e)) {
		pr_warn("events: short record (%zu bytes)\n", len);
		return 0;
	}
	if (e->type < sizeof(a->c.events) / sizeof(a->c.events[0]))
		a->c.events[e->type]++;
	if (event_app(a, e, &app)) {
		/* EXIT of a process whose app is gone: nothing left to do */
		pr_debug("events: type %u pid %u: no live app for cgroup %llu\n", e->type, e->pid,
			 (unsigned long long)e->cgroup_id);
		return 0;
	}
	switch (e->type) {
	case XSL_EV_FORK: {
		uint64_t t0 = mono_ns();

		procs__register_proc(a, app, e->pid, procs__event_start(e->start_time_ns),
				     e->pid_ino, e->ppid, CAUSE_FORK, e->ts_ns, NULL);
		fork_stages(a, e->ts_ns, t0, mono_ns());
		break;
	}
	case XSL_EV_JOIN:
		procs__register_proc(a, app, e->pid, procs__event_start(e->start_time_ns),
				     e->pid_ino, 0, CAUSE_JOIN, 0, NULL);
		break;
	case XSL_EV_EXIT:
		procs__exited(a, app, e->pid, procs__event_start(e->start_time_ns), e->pid_ino,
			      e->ts_ns);
		break;
	case XSL_EV_BIND:
		/* a TCP socket counts once it listens: nothing changed yet */
		if (e->listener.proto == IPPROTO_TCP)
			return 0;
		socks__bound(a, app, e->pid, e->cookie, &e->listener);
		break;
	case XSL_EV_LISTEN:
		socks__bound(a, app, e->pid, e->cookie, &e->listener);
		break;
	case XSL_EV_RELEASE:
		/* a socket that served no listener changes no attribution */
		if (!socks__released(a, e->cookie) &&
		    registry__listener_find(a->reg, &e->listener, NULL))
			return 0;
		break;
	default:
		pr_warn("events: unknown type %u\n", e->type);
		return 0;
	}
	/* who holds which socket may have changed: look again once it settles */
	socks__dirty(a, app);
	return 0;
}
