// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * App instances as the agent drives them (the registry keeps their numbers,
 * workers and marks; instance.h the pure rules):
 *
 * - each instance a `run` starts lives in <app cgroup>/i<N>, made here and
 *   removed when the instance is freed; processes registered otherwise
 *   (forks, processes moved in by others, those found by reconcile) are in
 *   their parent's instance, else their cgroup's, else the current one;
 * - `run --replace` starts a new instance and its ready timer: once the
 *   registry has the new one taking new sessions (it serves every listener
 *   of the one before), every older unmarked instance is marked draining;
 *   when its sessions are all gone or --drain passed, its first process
 *   gets --stop-signal and it is marked stopping; --stop-timeout later what
 *   is left is killed (cgroup.kill of i<N>, or SIGKILL to each worker of an
 *   instance without a cgroup of its own). A new instance that does not
 *   serve within --ready-timeout is killed and the old ones are untouched.
 *
 * Everything timed runs from inst__tick() (the agent's 100 ms tick).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "addr.h"
#include "agent.h"
#include "clock.h"
#include "log.h"
#include "procfs.h"

#define NS_PER_S 1000000000ull

static const char *app_name(struct agent *a, uint32_t app)
{
	return a->reg->apps[app].name;
}

static struct agent_inst *inst_find(struct agent *a, uint32_t app, uint16_t num)
{
	for (unsigned int i = 0; num && i < XSL_REG_MAX_INSTANCES; i++)
		if (a->apps[app].inst[i].num == num)
			return &a->apps[app].inst[i];
	return NULL;
}

static void inst_gone(struct agent *a, uint32_t app, struct agent_inst *ai, uint64_t now);

/* The agent's record of live instance num (made when missing), or NULL. */
static struct agent_inst *inst_get(struct agent *a, uint32_t app, uint16_t num)
{
	struct agent_inst *ai = inst_find(a, app, num);

	if (ai || !registry__instance(a->reg, app, num))
		return ai;
	for (unsigned int i = 0; i < XSL_REG_MAX_INSTANCES; i++) {
		ai = &a->apps[app].inst[i];
		/* a slot whose instance the registry freed is free once its
		 * end is handled (the tick would do it) */
		if (ai->num && !registry__instance(a->reg, app, ai->num))
			inst_gone(a, app, ai, mono_ns());
		if (!ai->num) {
			*ai = (struct agent_inst){ .num = num, .born_ns = mono_ns() };
			instance__default_opts(&ai->opts);
			return ai;
		}
	}
	return NULL;
}

const struct agent_inst *inst__get(struct agent *a, uint32_t app, uint16_t inst)
{
	return registry__app(a->reg, app) ? inst_get(a, app, inst) : NULL;
}

static int inst_dir(struct agent *a, uint32_t app, uint16_t num, char *out, size_t len)
{
	if (snprintf(out, len, "%s/i%u", a->apps[app].cgroup, num) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

const char *inst__state_name(struct agent *a, uint32_t app, uint16_t inst)
{
	static const char *const names[] = { "starting", "serving", "draining", "stopping" };
	enum xsl_inst_state st;

	if (registry__instance_state(a->reg, app, inst, &st) || st > XSL_INST_STOPPING)
		return "gone";
	return names[st];
}

int inst__prepare(struct agent *a, uint32_t app, bool replace, uint16_t *inst, bool *replacing,
		  char *why, size_t why_len)
{
	struct agent_app *aa = &a->apps[app];
	struct agent_inst *ai;
	char path[PATH_MAX];
	bool any = false, started = false;
	uint16_t cur = 0;
	int err;

	*replacing = false;
	/* a fresh instance (no worker yet, as made by attach) is not one */
	for (unsigned int i = 0; i < XSL_REG_MAX_INSTANCES; i++)
		any |= a->reg->apps[app].inst[i].n_workers != 0;
	if (replace && aa->replace.result == REPLACE_PENDING &&
	    registry__instance(a->reg, app, aa->replace.num)) {
		snprintf(why, why_len, "instance %u is starting (another run --replace): "
			 "one replace at a time", aa->replace.num);
		return -EBUSY;
	}
	/* with no instance at all, a replace is a plain run */
	if ((!replace || !any) && !registry__instance_current(a->reg, app, &cur)) {
		*inst = cur;
	} else {
		err = registry__instance_start(a->reg, app, inst);
		if (err) {
			snprintf(why, why_len, "%s", registry__error(a->reg));
			return err;
		}
		*replacing = replace && any;
		started = true;
	}
	ai = inst_get(a, app, *inst);
	if (!ai) {
		snprintf(why, why_len, "instance %u: no room to track it", *inst);
		if (started)
			registry__instance_mark(a->reg, app, *inst, XSL_INST_STOPPING);
		if (!registry__app(a->reg, app) && a->on_app_freed)
			a->on_app_freed(a, app);
		return -ENOSPC;
	}
	ai->fresh |= started;
	err = inst_dir(a, app, *inst, path, sizeof(path));
	if (!err && mkdir(path, 0755) && errno != EEXIST)
		err = -errno;
	if (err) {
		snprintf(why, why_len, "make cgroup %s: %s", path, strerror(-err));
		inst__abandon(a, app, *inst);
		return err;
	}
	/* the names i<N> right below an app's cgroup are xsl's (instance.h) */
	ai->own_dir = true;
	return 0;
}

int inst__move(struct agent *a, uint32_t app, uint16_t inst, uint32_t pid)
{
	char path[PATH_MAX], buf[16];
	int fd, n, err = 0;

	if (snprintf(path, sizeof(path), "%s/i%u/cgroup.procs", a->apps[app].cgroup, inst) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%u", pid);
	if (write(fd, buf, (size_t)n) != n)
		err = -errno;
	close(fd);
	return err;
}

void inst__abandon(struct agent *a, uint32_t app, uint16_t inst)
{
	const struct reg_instance *ri = registry__instance(a->reg, app, inst);
	struct agent_inst *ai = inst_find(a, app, inst);

	/* only one inst__prepare() started; with no worker its mark frees it */
	if (!ri || ri->n_workers || (ai && !ai->fresh))
		return;
	registry__instance_mark(a->reg, app, inst, XSL_INST_STOPPING);
	if (!registry__app(a->reg, app) && a->on_app_freed)
		a->on_app_freed(a, app);
}

/* The replace options stay with the new instance's cgroup (an xattr), so
 * that an agent restarted mid-replace drains and stops as it was asked. */
#define OPTS_XATTR "trusted.xsl.replace"

static void save_opts(struct agent *a, uint32_t app, const struct agent_inst *ai)
{
	char path[PATH_MAX], v[64];
	int n;

	if (!ai->own_dir || inst_dir(a, app, ai->num, path, sizeof(path)))
		return;
	n = snprintf(v, sizeof(v), "%u %u %u %d", ai->opts.drain_s, ai->opts.stop_timeout_s,
		     ai->opts.ready_timeout_s, ai->opts.stop_signal);
	if (setxattr(path, OPTS_XATTR, v, (size_t)n, 0))
		pr_debug("app %s: keep the replace options on %s: %s\n", app_name(a, app), path,
			 strerror(errno));
}

/* The options saved with instance num, else the defaults. */
static void load_opts(struct agent *a, uint32_t app, uint16_t num, struct inst_replace_opts *o)
{
	struct inst_replace_opts r;
	char path[PATH_MAX], v[64];
	ssize_t n;

	instance__default_opts(o);
	if (inst_dir(a, app, num, path, sizeof(path)))
		return;
	n = getxattr(path, OPTS_XATTR, v, sizeof(v) - 1);
	if (n <= 0)
		return;
	v[n] = '\0';
	if (sscanf(v, "%u %u %u %d", &r.drain_s, &r.stop_timeout_s, &r.ready_timeout_s,
		   &r.stop_signal) == 4 && r.drain_s <= INST_MAX_S && r.stop_timeout_s &&
	    r.stop_timeout_s <= INST_MAX_S && r.ready_timeout_s &&
	    r.ready_timeout_s <= INST_MAX_S && r.stop_signal > 0 && r.stop_signal <= 64)
		*o = r;
}

void inst__started(struct agent *a, uint32_t app, uint16_t inst, bool replacing,
		   const struct inst_replace_opts *o)
{
	struct agent_app *aa = &a->apps[app];
	struct agent_inst *ai = inst_get(a, app, inst);

	if (ai)
		ai->fresh = false;
	if (!replacing || !ai)
		return;
	ai->opts = *o;
	ai->phase = INST_P_STARTING;
	ai->deadline_ns = mono_ns() + (uint64_t)o->ready_timeout_s * NS_PER_S;
	aa->replace.num = inst;
	aa->replace.result = REPLACE_PENDING;
	aa->replace.reason[0] = '\0';
	save_opts(a, app, ai);
	pr_info("app %s: instance %u started to replace the serving one (ready within %u s)\n",
		app_name(a, app), inst, o->ready_timeout_s);
}

uint16_t inst__of_process(struct agent *a, uint32_t app, uint32_t pid, uint32_t ppid)
{
	const struct reg_app *ra = &a->reg->apps[app];
	char rel[PATH_MAX], path[PATH_MAX * 2];
	unsigned int live = 0;
	uint16_t num;
	uint32_t w;

	for (unsigned int i = 0; i < XSL_REG_MAX_INSTANCES; i++)
		live += ra->inst[i].num != 0;
	/* one instance or none: the current one (no /proc read) */
	if (live < 2)
		return 0;
	if (ppid && !procs__worker_of(a, app, ppid, &w))
		return a->reg->workers[w].instance;
	if (procfs__cgroup_of(pid, rel, sizeof(rel)))
		return 0;
	snprintf(path, sizeof(path), "%s%s", a->cgroup2, rel);
	num = instance__of_cgroup(path, a->apps[app].cgroup);
	return num && registry__instance(a->reg, app, num) ? num : 0;
}

void inst__worker_added(struct agent *a, uint32_t app, uint32_t worker)
{
	const struct reg_worker *rw = registry__worker(a->reg, worker);
	struct agent_inst *ai = rw ? inst_get(a, app, rw->instance) : NULL;

	if (ai && !ai->first_pid) {
		ai->first_pid = rw->pid;
		ai->first_start_ns = rw->start_time_ns;
	}
}

/* Sends sig to pid through the pidfd the agent holds on it (never to a
 * process that took a dead worker's pid). */
static int signal_worker(struct agent *a, uint32_t pid, int sig)
{
	int fd = procs__pidfd(a, pid);

	if (fd < 0)
		return -ESRCH;
	return pidfd_send_signal(fd, sig, NULL, 0) ? -errno : 0;
}

/* Sends sig to every worker process of instance num. */
static unsigned int signal_workers(struct agent *a, uint32_t app, uint16_t num, int sig)
{
	unsigned int n = 0;

	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		const struct reg_worker *rw = registry__worker(a->reg, w);

		if (rw && rw->app == app && rw->instance == num && rw->pid &&
		    !signal_worker(a, rw->pid, sig))
			n++;
	}
	return n;
}

/* The stop signal to the instance's first process; to each of its workers
 * when that one is gone. */
static void send_stop(struct agent *a, uint32_t app, struct agent_inst *ai)
{
	const char *sn = instance__signal_name(ai->opts.stop_signal);
	uint32_t w;

	if (ai->first_pid && !procs__worker_of(a, app, ai->first_pid, &w) &&
	    a->reg->workers[w].instance == ai->num &&
	    a->reg->workers[w].start_time_ns == ai->first_start_ns &&
	    !signal_worker(a, ai->first_pid, ai->opts.stop_signal)) {
		pr_info("app %s: instance %u: SIG%s to its first process %u\n", app_name(a, app),
			ai->num, sn ? sn : "?", ai->first_pid);
		return;
	}
	pr_info("app %s: instance %u: its first process is gone, SIG%s to its %u workers\n",
		app_name(a, app), ai->num, sn ? sn : "?",
		signal_workers(a, app, ai->num, ai->opts.stop_signal));
}

/* Kills what is left of the instance: its cgroup, else its workers. */
static void kill_inst(struct agent *a, uint32_t app, struct agent_inst *ai)
{
	char path[PATH_MAX];
	int fd, err = -ENOENT;

	if (ai->own_dir && !inst_dir(a, app, ai->num, path, sizeof(path) - 12)) {
		strcat(path, "/cgroup.kill");
		fd = open(path, O_WRONLY | O_CLOEXEC);
		err = fd < 0 ? -errno : write(fd, "1", 1) == 1 ? 0 : -errno;
		if (fd >= 0)
			close(fd);
		if (err && err != -ENOENT)
			pr_warn("app %s: instance %u: write %s: %s\n", app_name(a, app), ai->num,
				path, strerror(-err));
	}
	/* workers outside the instance's cgroup (moved in by others) too */
	signal_workers(a, app, ai->num, SIGKILL);
	ai->phase = INST_P_KILLED;
	pr_info("app %s: instance %u killed\n", app_name(a, app), ai->num);
}

/* The first listener the instance taking new sessions serves and inst
 * does not, as "udp 0.0.0.0:53"; "" when none. */
static void missing_listener(struct agent *a, uint32_t app, uint16_t inst, char *out, size_t len)
{
	uint16_t taking = 0;

	out[0] = '\0';
	if (registry__instance_taking(a->reg, app, &taking))
		return;
	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
		const struct reg_listener *rl = registry__listener(a->reg, l);
		char ip[64];

		if (!rl || rl->app != app || !registry__instance_serves(a->reg, app, taking, l) ||
		    registry__instance_serves(a->reg, app, inst, l))
			continue;
		addr__ip(rl->key.family, rl->key.addr, ip, sizeof(ip));
		snprintf(out, len, " %s %s:%u", addr__proto(rl->key.proto), ip,
			 (unsigned int)ntohs(rl->key.port));
		return;
	}
}

static void replace_end(struct agent *a, uint32_t app, uint16_t inst, bool served,
			const char *reason)
{
	struct agent_app *aa = &a->apps[app];

	if (aa->replace.num != inst || aa->replace.result != REPLACE_PENDING)
		return;
	aa->replace.result = served ? REPLACE_SERVING : REPLACE_ABORTED;
	snprintf(aa->replace.reason, sizeof(aa->replace.reason), "%s", reason);
	aa->restarts[served ? RESTART_REPLACED : RESTART_ABORTED]++;
}

/* New instance ai did not serve in time: killed; the older ones untouched. */
static void abort_start(struct agent *a, uint32_t app, struct agent_inst *ai)
{
	char what[160], reason[256];

	missing_listener(a, app, ai->num, what, sizeof(what));
	snprintf(reason, sizeof(reason), "instance %u did not serve%s within %u s: stopped",
		 ai->num, what[0] ? what : " its listeners", ai->opts.ready_timeout_s);
	pr_warn("app %s: %s\n", app_name(a, app), reason);
	replace_end(a, app, ai->num, false, reason);
	kill_inst(a, app, ai);
	registry__instance_mark(a->reg, app, ai->num, XSL_INST_STOPPING);
}

/* New instance ai takes new sessions: the older unmarked ones drain. */
static void took_over(struct agent *a, uint32_t app, struct agent_inst *ai, uint64_t now)
{
	const struct reg_app *ra = &a->reg->apps[app];
	uint16_t olds[XSL_REG_MAX_INSTANCES];
	unsigned int n = 0;

	for (unsigned int i = 0; i < XSL_REG_MAX_INSTANCES; i++)
		if (ra->inst[i].num && ra->inst[i].num < ai->num &&
		    ra->inst[i].mark == XSL_INST_SERVING)
			olds[n++] = ra->inst[i].num;
	ai->phase = INST_P_NONE;
	replace_end(a, app, ai->num, true, "");
	pr_info("app %s: instance %u serves: %u older instance%s draining (up to %u s)\n",
		app_name(a, app), ai->num, n, n == 1 ? "" : "s", ai->opts.drain_s);
	for (unsigned int i = 0; i < n; i++) {
		struct agent_inst *old = inst_get(a, app, olds[i]);

		if (old) {
			old->opts = ai->opts;
			old->phase = INST_P_DRAINING;
			old->takeover_ns = now;
			old->drain_gc = a->c.gc_runs;
			old->deadline_ns = now + (uint64_t)ai->opts.drain_s * NS_PER_S;
		}
		/* (an instance with no worker left is freed by the mark) */
		registry__instance_mark(a->reg, app, olds[i], XSL_INST_DRAINING);
	}
}

/* Every session of instance ai gone, as counted by a GC pass that began
 * after its drain did? */
static bool drained(struct agent *a, uint32_t app, const struct agent_inst *ai)
{
	uint64_t n = 0;

	if (a->c.gc_runs < ai->drain_gc + 2)
		return false;
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		const struct reg_worker *rw = registry__worker(a->reg, w);

		if (rw && rw->app == app && rw->instance == ai->num)
			n += gc__worker_sessions(a, w);
	}
	return n == 0;
}

/* An instance the registry freed: its cgroup goes, its drain is timed. */
static void inst_gone(struct agent *a, uint32_t app, struct agent_inst *ai, uint64_t now)
{
	char path[PATH_MAX], what[XSL_APP_NAME_LEN + 16];

	if (ai->phase == INST_P_STARTING) {
		char reason[128];

		snprintf(reason, sizeof(reason), "instance %u exited before it served", ai->num);
		pr_warn("app %s: %s\n", app_name(a, app), reason);
		replace_end(a, app, ai->num, false, reason);
	}
	if (ai->takeover_ns)
		drainhist__add(&a->drain_hist, now - ai->takeover_ns);
	if (ai->own_dir && !inst_dir(a, app, ai->num, path, sizeof(path))) {
		snprintf(what, sizeof(what), "%s/i%u", app_name(a, app), ai->num);
		rmdirs__remove(a, path, what);
	}
	pr_info("app %s: instance %u freed\n", app_name(a, app), ai->num);
	*ai = (struct agent_inst){ 0 };
}

/* A STARTING instance the registry now names as taking new sessions. */
static bool takes_over(struct agent *a, uint32_t app, const struct agent_inst *ai)
{
	uint16_t taking;

	return ai->phase == INST_P_STARTING && !registry__instance_taking(a->reg, app, &taking) &&
	       taking == ai->num;
}

static void tick_app(struct agent *a, uint32_t app, uint64_t now)
{
	for (unsigned int i = 0; i < XSL_REG_MAX_INSTANCES; i++) {
		struct agent_inst *ai = &a->apps[app].inst[i];

		if (ai->num && !registry__instance(a->reg, app, ai->num))
			inst_gone(a, app, ai, now);
	}
	for (unsigned int i = 0; i < XSL_REG_MAX_INSTANCES; i++) {
		struct agent_inst *ai = &a->apps[app].inst[i];
		bool dry = false;

		if (!ai->num)
			continue;
		if (takes_over(a, app, ai)) {
			took_over(a, app, ai, now);
			continue;
		}
		if (ai->phase == INST_P_DRAINING)
			dry = drained(a, app, ai);
		switch (instance__due(ai->phase, ai->deadline_ns, now, dry)) {
		case INST_ACT_ABORT:
			abort_start(a, app, ai);
			break;
		case INST_ACT_STOP:
			pr_info("app %s: instance %u drained (%s)\n", app_name(a, app), ai->num,
				dry ? "no sessions left" : "drain time over");
			send_stop(a, app, ai);
			ai->phase = INST_P_STOPPING;
			ai->deadline_ns = now + (uint64_t)ai->opts.stop_timeout_s * NS_PER_S;
			registry__instance_mark(a->reg, app, ai->num, XSL_INST_STOPPING);
			break;
		case INST_ACT_KILL:
			kill_inst(a, app, ai);
			break;
		case INST_ACT_NONE:
			break;
		}
		/* a mark may free the app (not held, its last instance) */
		if (!registry__app(a->reg, app))
			return;
	}
}

/*
 * A takeover acted on in the loop turn it happens in, not on the next tick:
 * in between, the old instance would still show as serving beside the new.
 */
void inst__settle(struct agent *a)
{
	for (uint32_t app = 0; app < XSL_MAX_APPS; app++) {
		struct agent_app *aa = &a->apps[app];
		struct agent_inst *ai;

		if (aa->replace.result != REPLACE_PENDING || !registry__app(a->reg, app))
			continue;
		ai = inst_find(a, app, aa->replace.num);
		if (!ai || !takes_over(a, app, ai))
			continue;
		took_over(a, app, ai, mono_ns());
		if (!registry__app(a->reg, app) && a->on_app_freed)
			a->on_app_freed(a, app);
	}
}

void inst__tick(struct agent *a)
{
	uint64_t now = mono_ns();

	for (uint32_t app = 0; app < XSL_MAX_APPS; app++) {
		if (!registry__app(a->reg, app))
			continue;
		tick_app(a, app, now);
		/* freed by a mark above: its room's clean-up */
		if (!registry__app(a->reg, app) && a->on_app_freed)
			a->on_app_freed(a, app);
	}
}

void inst__app_freed(struct agent *a, uint32_t app)
{
	char path[PATH_MAX], what[XSL_APP_NAME_LEN + 16];

	for (unsigned int i = 0; i < XSL_REG_MAX_INSTANCES; i++) {
		struct agent_inst *ai = &a->apps[app].inst[i];

		if (ai->num && ai->own_dir && !inst_dir(a, app, ai->num, path, sizeof(path))) {
			snprintf(what, sizeof(what), "%s/i%u", a->reg->apps[app].name, ai->num);
			rmdirs__remove(a, path, what);
		}
		*ai = (struct agent_inst){ 0 };
	}
}

/*
 * One app after a restart. The pinned records keep each worker's instance
 * but no mark, so the registry comes back with every instance unmarked:
 * one older than the one taking new sessions was draining or stopping (a
 * replace took over from it), one newer was starting. Their timers start
 * again now, with the options saved on the new instance's cgroup: a drain
 * has its full --drain again, a start its full --ready-timeout.
 */
static void recover_app(struct agent *a, uint32_t app, uint64_t now)
{
	const struct reg_app *ra = registry__app(a->reg, app);
	struct agent_app *aa = &a->apps[app];
	uint16_t taking = 0;

	registry__instance_taking(a->reg, app, &taking);
	for (unsigned int i = 0; i < XSL_REG_MAX_INSTANCES; i++) {
		uint16_t num = ra->inst[i].num;
		struct agent_inst *ai;
		char path[PATH_MAX];
		struct stat sb;

		if (!num || !(ai = inst_get(a, app, num)))
			continue;
		ai->own_dir = !inst_dir(a, app, num, path, sizeof(path)) && !stat(path, &sb) &&
			      S_ISDIR(sb.st_mode);
		/* its first process: the oldest of its workers */
		for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
			const struct reg_worker *rw = registry__worker(a->reg, w);

			if (rw && rw->app == app && rw->instance == num && rw->pid &&
			    (!ai->first_pid || rw->start_time_ns < ai->first_start_ns)) {
				ai->first_pid = rw->pid;
				ai->first_start_ns = rw->start_time_ns;
			}
		}
		if (!taking || num == taking || ra->inst[i].mark != XSL_INST_SERVING)
			continue;
		if (num < taking) {
			load_opts(a, app, taking, &ai->opts);
			ai->phase = INST_P_DRAINING;
			ai->takeover_ns = now;
			ai->drain_gc = a->c.gc_runs;
			ai->deadline_ns = now + (uint64_t)ai->opts.drain_s * NS_PER_S;
			pr_info("recover: app %s: instance %u drains again (up to %u s)\n",
				ra->name, num, ai->opts.drain_s);
		} else {
			load_opts(a, app, num, &ai->opts);
			ai->phase = INST_P_STARTING;
			ai->deadline_ns = now + (uint64_t)ai->opts.ready_timeout_s * NS_PER_S;
			aa->replace.num = num;
			aa->replace.result = REPLACE_PENDING;
			pr_info("recover: app %s: instance %u starting again (ready within %u s)\n",
				ra->name, num, ai->opts.ready_timeout_s);
		}
	}
	/* marked after the walk: a mark may free an instance with no worker.
	 * Marked all first, tables built once after: marking one by one could
	 * hand a table to another instance in between and back. */
	for (unsigned int i = 0; i < XSL_REG_MAX_INSTANCES; i++) {
		struct agent_inst *ai = &aa->inst[i];

		if (ai->num && ai->phase == INST_P_DRAINING &&
		    registry__restore_mark(a->reg, app, ai->num, XSL_INST_DRAINING) == -EBUSY)
			registry__instance_mark(a->reg, app, ai->num, XSL_INST_DRAINING);
	}
	if (registry__app(a->reg, app))
		registry__sync_tables(a->reg, app);
}

/* i<N> directories of instances that are gone (their end came while no
 * agent ran): removed when empty. */
static void remove_stale_dirs(struct agent *a, uint32_t app)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(a->apps[app].cgroup);
	uint16_t num;

	if (!d)
		return;
	while ((de = readdir(d))) {
		num = instance__dir_num(de->d_name);
		if (!num || de->d_type != DT_DIR || registry__instance(a->reg, app, num) ||
		    inst_dir(a, app, num, path, sizeof(path)))
			continue;
		if (!rmdir(path))
			pr_info("recover: app %s: removed %s (instance %u is gone)\n",
				app_name(a, app), path, num);
	}
	closedir(d);
}

void inst__recover(struct agent *a)
{
	uint64_t now = mono_ns();

	for (uint32_t app = 0; app < XSL_MAX_APPS; app++) {
		if (!registry__app(a->reg, app) || !a->apps[app].cgroup[0])
			continue;
		recover_app(a, app, now);
		remove_stale_dirs(a, app);
	}
}
