// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Processes and cgroups: app cgroups made or adopted at attach, worker
 * registration for a process (held by a pidfd, so a recycled pid is never
 * taken for it), cleanup of exactly a process's workers, and the reconcile
 * pass that converges the registry to the processes really in each app
 * cgroup when events were lost or the agent was away.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <bpf/bpf.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include "clock.h"
#include "agent.h"
#include "guard.h"
#include "hooks.h"
#include "log.h"
#include "mounts.h"

const double agent_lat_bounds[LAT_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
};

/* PF_EXITING in /proc/PID/stat's flags: set first thing in do_exit() */
#define TASK_PF_EXITING 0x4

int procs__start_time(uint32_t pid, uint64_t *start_ns)
{
	return procs__stat(pid, start_ns, NULL);
}

struct task_stat {
	char state;
	unsigned long long flags, ticks;
};

/* State, flags and start time (clock ticks after boot) of a stat file of /proc. */
static int read_task_stat(const char *path, struct task_stat *ts)
{
	char buf[1024], *p;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	/* the command may hold spaces and parens: fields restart after the last ')' */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -EINVAL;
	/* field 3 (state) follows ") "; flags is field 9, starttime field 22 */
	p += 2;
	ts->state = *p;
	for (int field = 3; field < 22; field++) {
		if (field == 9 && sscanf(p, "%llu", &ts->flags) != 1)
			return -EINVAL;
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	return sscanf(p, "%llu", &ts->ticks) == 1 ? 0 : -EINVAL;
}

/*
 * Does the thread group pid have a thread other than its leader that is not
 * exiting? A leader that called pthread_exit shows PF_EXITING (and then
 * state Z) while the process lives on in its other threads.
 */
static bool has_live_thread(uint32_t pid)
{
	char path[96];
	struct dirent *de;
	bool live = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%u/task", pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!live && (de = readdir(d))) {
		struct task_stat ts;
		char *end;
		unsigned long tid = strtoul(de->d_name, &end, 10);

		if (*end || !tid || tid == pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%u/task/%lu/stat", pid, tid);
		live = !read_task_stat(path, &ts) && !(ts.flags & TASK_PF_EXITING) &&
		       ts.state != 'Z' && ts.state != 'X';
	}
	closedir(d);
	return live;
}

int procs__stat(uint32_t pid, uint64_t *start_ns, bool *exiting)
{
	long hz = sysconf(_SC_CLK_TCK);
	struct task_stat ts;
	char path[64];
	int err;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	err = read_task_stat(path, &ts);
	if (err)
		return err;
	if (hz <= 0)
		return -EINVAL;
	*start_ns = ts.ticks * (1000000000ull / (unsigned long long)hz);
	if (exiting)
		*exiting = (ts.flags & TASK_PF_EXITING) && !has_live_thread(pid);
	return 0;
}

uint64_t procs__event_start(uint64_t start_boottime_ns)
{
	long hz = sysconf(_SC_CLK_TCK);

	/* /proc/PID/stat: start_boottime / (1e9 / USER_HZ) ticks; _SC_CLK_TCK
	 * is USER_HZ. (Read in the agent's time namespace: an agent in one
	 * with a boot-time offset would see every start shifted by it.) */
	return proctab__tick_ns(start_boottime_ns, hz > 0 ? (unsigned long)hz : 0);
}

int procs__cgroup_of(uint32_t pid, char *out, size_t len)
{
	char path[64], line[PATH_MAX + 8];
	FILE *f;
	int err = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* the v2 hierarchy is the "0::/path" line */
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			if (strlen(line + 3) >= len) {
				err = -ENAMETOOLONG;
				break;
			}
			strcpy(out, line + 3);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

/*
 * The process table (reg->procs) owns the pidfds: an entry's goes with it,
 * whoever removes it (a worker detached, an app freed).
 */
static void proc_release(void *ctx, struct proc_entry *e)
{
	struct agent *a = ctx;

	epoll_ctl(a->epfd, EPOLL_CTL_DEL, e->pidfd, NULL);
	close(e->pidfd);
	e->pidfd = -1;
}

void procs__init(struct agent *a)
{
	a->reg->procs.release = proc_release;
	a->reg->procs.ctx = a;
}

void procs__close_all(struct agent *a)
{
	for (uint32_t i = 0; a->reg && i < XSL_REG_MAX_PROCS; i++) {
		struct proc_entry *e = &a->reg->procs.slot[i];

		if (e->pid && e->pidfd >= 0) {
			close(e->pidfd);
			e->pidfd = -1;
		}
	}
}

/* The live app's handle gen, or 0 (never a live app's gen). */
static uint32_t app_gen(const struct agent *a, uint32_t app)
{
	const struct reg_app *ra = registry__app(a->reg, app);

	return ra ? ra->gen : 0;
}

int procs__worker_of(const struct agent *a, uint32_t app, uint32_t pid, uint32_t *worker)
{
	uint32_t w;

	if (proctab__worker_of(&a->reg->procs, pid, app, app_gen(a, app), &w) ||
	    !registry__worker(a->reg, w))
		return -ENOENT;
	if (worker)
		*worker = w;
	return 0;
}

int procs__pidfd(const struct agent *a, uint32_t pid)
{
	const struct proc_entry *e = proctab__find(&a->reg->procs, pid);

	return e ? e->pidfd : -1;
}

/* Has the process behind pidfd exited (or is the pidfd bad)? */
static bool pidfd_exited(int pidfd)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	return poll(&pfd, 1, 0) != 0;
}

/*
 * Opens a pidfd on pid and reads its start time and pidfs inode: -ESRCH
 * when it is gone, exiting, or not the process the caller means (start_ns,
 * ino: 0 for any). /proc/PID is read while the pidfd shows the process
 * alive, so it was that process's (a pid is only reused once reaped); one
 * already exiting is gone for us: its exit may have been handled while it
 * still shows in cgroup.procs.
 */
static int proc_open(uint32_t pid, uint64_t start_ns, uint64_t ino, int *pidfd,
		     uint64_t *now_start, uint64_t *now_ino)
{
	struct stat st;
	bool exiting;
	int fd, err;

	fd = pidfd_open((pid_t)pid, 0);
	if (fd < 0)
		return -errno;
	err = procs__stat(pid, now_start, &exiting);
	*now_ino = fstat(fd, &st) ? 0 : (uint64_t)st.st_ino;
	if (err || exiting || pidfd_exited(fd) || (start_ns && *now_start != start_ns) ||
	    (ino && *now_ino && *now_ino != ino)) {
		close(fd);
		return -ESRCH;
	}
	*pidfd = fd;
	return 0;
}

/* Hands pidfd to e (the table closes it with the entry) and watches it. */
static void proc_hold(struct agent *a, struct proc_entry *e, int pidfd, uint64_t ino)
{
	int err;

	e->pidfd = pidfd;
	e->ino = ino;
	err = agent__epoll_add(a, pidfd, TAG_PIDFD, proctab__index(&a->reg->procs, e));
	if (err) {
		/* the reconcile pass notices its exit instead */
		pr_warn("watch pid %u: %s\n", e->pid, strerror(-err));
		close(pidfd);
		e->pidfd = -1;
	}
}

static void observe_latency(struct agent *a, uint64_t event_ts_ns)
{
	uint64_t now = mono_ns();
	double s;

	if (!event_ts_ns || now < event_ts_ns)
		return;
	s = (double)(now - event_ts_ns) / 1e9;
	for (int i = 0; i < LAT_BUCKETS; i++) {
		if (s <= agent_lat_bounds[i]) {
			a->c.lat_bucket[i]++;
			break;
		}
	}
	a->c.lat_count++;
	a->c.lat_sum += s;
}

static const char *const reg_cause_names[] = { "fork", "join", "api", "reconcile" };
static const char *const detach_cause_names[] = { "exit", "api", "reconcile" };

#define RMDIR_TRIES 50

/* The EXIT event comes while the task is still in its cgroup: try again on
 * the next ticks. */
static void cgroup_rmdir_later(struct agent *a, const char *path, const char *app)
{
	for (unsigned int i = 0; i < sizeof(a->rmdirs) / sizeof(a->rmdirs[0]); i++) {
		if (!a->rmdirs[i].path[0]) {
			size_t n = strnlen(path, sizeof(a->rmdirs[i].path) - 1);

			memcpy(a->rmdirs[i].path, path, n);
			a->rmdirs[i].path[n] = '\0';
			a->rmdirs[i].tries = 0;
			return;
		}
	}
	pr_warn("remove cgroup %s of app %s: %s\n", path, app, strerror(EBUSY));
}

/* Frees what the agent keeps for an app the registry has just freed. */
static void app_gone(struct agent *a, uint32_t app)
{
	struct agent_app *aa = &a->apps[app];
	const struct reg_app *raw = &a->reg->apps[app];

	pr_info("app %s (index %u) freed\n", raw->name, app);
	hooks__detach_cgroup(raw->cgroup_id, a->o.pin_root);
	gc__flush_app(a, app);
	if (aa->cgroup_fd >= 0)
		close(aa->cgroup_fd);
	/* only a directory this agent made, right below its own cgroup root */
	if (aa->own_cgroup && guard__own_cgroup(aa->cgroup, a->cgroup_root) && rmdir(aa->cgroup) &&
	    errno != ENOENT)
		cgroup_rmdir_later(a, aa->cgroup, raw->name);
	*aa = (struct agent_app){ .cgroup_fd = -1 };
}

void procs__retry_rmdirs(struct agent *a)
{
	for (unsigned int i = 0; i < sizeof(a->rmdirs) / sizeof(a->rmdirs[0]); i++) {
		char *path = a->rmdirs[i].path;

		if (!path[0])
			continue;
		if (!rmdir(path) || errno == ENOENT) {
			path[0] = '\0';
		} else if (++a->rmdirs[i].tries >= RMDIR_TRIES) {
			pr_warn("remove cgroup %s: %s\n", path, strerror(errno));
			path[0] = '\0';
		}
	}
}

/* All workers of app. */
static unsigned int workers_of(const struct agent *a, uint32_t app, uint32_t *out)
{
	unsigned int n = 0;

	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		const struct reg_worker *rw = registry__worker(a->reg, w);

		if (rw && rw->app == app)
			out[n++] = w;
	}
	return n;
}

/* How deep app's cgroup holds the cgroup rel (a path below the cgroup2
 * mount): the length of app's cgroup path when rel is it or below it, else 0.
 * Apps' cgroups may nest: a process belongs to the deepest. */
static size_t app_cgroup_depth(const struct agent *a, uint32_t app, const char *rel)
{
	const char *cg = a->apps[app].cgroup;
	size_t root = strlen(a->cgroup2), n;

	if (strncmp(cg, a->cgroup2, root))
		return 0;
	cg += root;
	n = strlen(cg);
	return n && !strncmp(rel, cg, n) && (rel[n] == '\0' || rel[n] == '/') ? n : 0;
}

/* After workers were removed (their pidfds went with their table entries):
 * their sockets, and the app's leftovers when it was freed. */
static void workers_gone(struct agent *a, uint32_t app, const uint32_t *ws, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		socks__worker_gone(a, ws[i]);
	if (!registry__app(a->reg, app))
		app_gone(a, app);
}

static bool has_left(const struct agent_app *aa, struct proc_id id, unsigned int *at)
{
	int i = proc_ids__find(aa->left, aa->n_left, id);

	if (i < 0)
		return false;
	if (at)
		*at = (unsigned int)i;
	return true;
}

static void forget_left(struct agent_app *aa, unsigned int i)
{
	aa->left[i] = aa->left[--aa->n_left];
}

/* Detaches pid's workers (all of app's for pid 0); remember: the process
 * left by itself and stays in the cgroup (app.leave). */
static int detach(struct agent *a, uint32_t app, uint32_t pid, enum detach_cause cause,
		  bool remember)
{
	static uint32_t ws[XSL_MAX_WORKERS];
	char name[XSL_APP_NAME_LEN];
	struct proc_id id = { .pid = pid };
	struct agent_app *aa = &a->apps[app];
	const struct proc_entry *e;
	unsigned int n;
	int err;

	if (!registry__app(a->reg, app))
		return -ENOENT;
	snprintf(name, sizeof(name), "%s", registry__app_name(a->reg, app));
	/* one process owns at most one worker (procs__register makes no second) */
	e = proctab__find(&a->reg->procs, pid);
	if (pid) {
		n = !procs__worker_of(a, app, pid, &ws[0]);
		id.start_ns = e ? e->start_ns : 0;
	} else {
		n = workers_of(a, app, ws);
	}
	err = registry__detach_process(a->reg, app, pid);
	if (err)
		return err;
	aa->detaches[cause] += n;
	if (pid && remember && !has_left(aa, id, NULL) && aa->n_left < AGENT_MAX_LEFT)
		aa->left[aa->n_left++] = id;
	if (pid)
		pr_info("app %s: detached pid %u (%u worker%s, %s)\n", name, pid, n,
			n == 1 ? "" : "s", detach_cause_names[cause]);
	else
		pr_info("app %s: all %u workers detached (%s)\n", name, n,
			cause == DETACH_API ? "operator" : detach_cause_names[cause]);
	workers_gone(a, app, ws, n);
	return 0;
}

int procs__detach(struct agent *a, uint32_t app, uint32_t pid, enum detach_cause cause)
{
	return detach(a, app, pid, cause, cause == DETACH_API);
}

int procs__exited(struct agent *a, uint32_t app, uint32_t pid, uint64_t start_ns, uint64_t ino)
{
	const struct proc_entry *e = proctab__find_proc(&a->reg->procs, pid, start_ns, ino);

	/* not the process the table has under pid (an EXIT queued before its
	 * pid was reused and the new process registered) */
	if (!e || e->app != app || e->app_gen != app_gen(a, app))
		return -ENOENT;
	return procs__detach(a, app, pid, DETACH_EXIT);
}

/*
 * CPU steering (app attached with --cpu-steer): the worker is pinned to one
 * CPU (map-index modulo the online CPUs) and XDP redirects its sessions'
 * packets into that CPU's cpumap entry, so the stack handles them where the
 * worker runs.
 */
static void steer_worker(struct agent *a, uint32_t app, uint32_t w)
{
	struct bpf_cpumap_val val = { .qsize = 2048 };
	const struct reg_worker *rw = registry__worker(a->reg, w);
	int ncpus = get_nprocs();
	cpu_set_t set;
	uint32_t cpu;

	if (!(registry__app(a->reg, app)->flags & XSL_APP_F_CPU_STEER) || ncpus <= 0 || !rw)
		return;
	cpu = rw->map_index % (uint32_t)ncpus;
	if (bpf_map_update_elem(a->maps.cpumap, &cpu, &val, BPF_ANY)) {
		pr_warn("app %s: cpumap entry for cpu %u: %s\n", registry__app_name(a->reg, app),
			cpu, strerror(errno));
		return;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity((pid_t)rw->pid, sizeof(set), &set)) {
		pr_warn("app %s: pin pid %u to cpu %u: %s\n", registry__app_name(a->reg, app),
			rw->pid, cpu, strerror(errno));
		return;
	}
	registry__worker_set_cpu(a->reg, w, (int32_t)cpu);
}

/*
 * The table may hold pid for another process or another app: an older
 * process whose pid was reused (it is gone: its exit is handled now), or this
 * very process, tracked in another app, that has moved into app's cgroup and
 * so has left that app (detached as by the API). 0, -EEXIST when it is app's
 * worker already, -EBUSY when it is not in app's cgroup or nearer to the
 * other app's (nested in app's).
 */
static int proc_settle_old(struct agent *a, uint32_t app, uint32_t pid, uint64_t start_ns,
			   uint64_t ino, uint32_t *worker)
{
	const struct proc_entry *e = proctab__find(&a->reg->procs, pid);
	uint32_t old;

	if (!e)
		return 0;
	old = e->app;
	if (!proctab__is(e, pid, start_ns, ino)) {
		pr_debug("pid %u: an older process with that pid is gone\n", pid);
		if (registry__app(a->reg, old))
			procs__detach(a, old, pid, DETACH_EXIT);
		return 0;
	}
	if (old == app && e->app_gen == app_gen(a, app)) {
		if (procs__worker_of(a, app, pid, worker))
			return -ENOENT;
		return -EEXIST;
	}
	if (registry__app(a->reg, old)) {
		char rel[PATH_MAX];
		size_t in_old, in_new;

		/* it is where the kernel put it last: in app's cgroup, not nearer
		 * to the old app's (a stale JOIN, or app's cgroup nests the old's) */
		if (procs__cgroup_of(pid, rel, sizeof(rel)))
			return -ESRCH;
		in_old = app_cgroup_depth(a, old, rel);
		in_new = app_cgroup_depth(a, app, rel);
		if (!in_new || in_old > in_new)
			return -EBUSY;
		pr_info("app %s: pid %u moved to app %s\n", registry__app_name(a->reg, old), pid,
			registry__app_name(a->reg, app));
		/* it left by moving: a move back makes it a worker there again */
		detach(a, old, pid, DETACH_API, false);
	}
	return 0;
}

int procs__register_proc(struct agent *a, uint32_t app, uint32_t pid, uint64_t start_ns,
			 uint64_t ino, enum reg_cause cause, uint64_t event_ts_ns,
			 uint32_t *worker)
{
	struct agent_app *aa = &a->apps[app];
	uint64_t now_start, now_ino;
	struct proc_entry *e;
	unsigned int at;
	int err, fd;
	uint32_t w;

	if (!registry__app(a->reg, app))
		return -ENOENT;
	err = proc_open(pid, start_ns, ino, &fd, &now_start, &now_ino);
	if (err == -ESRCH || err == -ENOENT) {
		/* A fork gone before we saw it (or whose pid already names
		 * another process): its whole life is already over. Anything
		 * else found exiting was counted when it came. */
		pr_debug("app %s: pid %u exited before registration\n",
			 registry__app_name(a->reg, app), pid);
		if (cause == CAUSE_FORK) {
			aa->registrations[cause]++;
			aa->detaches[DETACH_EXIT]++;
		}
		return -ESRCH;
	}
	if (err)
		return err;
	err = proc_settle_old(a, app, pid, now_start, now_ino, worker);
	if (!err && has_left(aa, (struct proc_id){ pid, now_start }, &at)) {
		if (cause != CAUSE_API && cause != CAUSE_FORK)
			err = -EPERM;
		else
			forget_left(aa, at);
	}
	/* (the app may have been freed by the detach of an older process) */
	if (!err && !registry__app(a->reg, app))
		err = -ENOENT;
	if (!err) {
		err = registry__worker_add(a->reg, app, pid, now_start, &w);
		if (err)
			pr_warn("app %s: register pid %u: %s\n", registry__app_name(a->reg, app),
				pid, registry__error(a->reg));
	}
	e = err ? NULL : proctab__find(&a->reg->procs, pid);
	if (!e) {
		close(fd);
		return err ? err : -ENOENT;
	}
	proc_hold(a, e, fd, now_ino);
	aa->registrations[cause]++;
	if (cause == CAUSE_FORK)
		observe_latency(a, event_ts_ns);
	steer_worker(a, app, w);
	pr_info("app %s: worker %u (map-index %u) for pid %u (%s)\n",
		registry__app_name(a->reg, app), w, a->reg->workers[w].map_index, pid,
		reg_cause_names[cause]);
	if (worker)
		*worker = w;
	return 0;
}

int procs__register(struct agent *a, uint32_t app, uint32_t pid, uint64_t start_ns,
		    enum reg_cause cause, uint64_t event_ts_ns, uint32_t *worker)
{
	return procs__register_proc(a, app, pid, start_ns, 0, cause, event_ts_ns, worker);
}

void procs__pidfd_ready(struct agent *a, uint32_t idx)
{
	struct proc_entry *e = proctab__at(&a->reg->procs, idx);

	/* The event may be stale: an earlier one in the same epoll batch can
	 * have freed this entry and given it to a new, live process. */
	if (!e || e->pidfd < 0 || !pidfd_exited(e->pidfd))
		return;
	if (e->app_gen != app_gen(a, e->app) || procs__detach(a, e->app, e->pid, DETACH_EXIT)) {
		/* not detachable: stop watching; the reconcile pass drops it */
		proc_release(a, e);
	}
}

int procs__join(struct agent *a, uint32_t app, uint32_t pid)
{
	char path[PATH_MAX + 16], buf[16];
	int fd, n, err = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", a->apps[app].cgroup);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%u", pid);
	if (write(fd, buf, (size_t)n) != n)
		err = -errno;
	close(fd);
	return err;
}

/* Calls fn for every pid in the cgroup tree at dir. */
static int walk_procs(const char *dir, int depth, void (*fn)(void *ctx, uint32_t pid), void *ctx)
{
	char path[PATH_MAX];
	struct dirent *de;
	unsigned int pid;
	FILE *f;
	DIR *d;

	if (depth > 32)
		return -ELOOP;
	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%u", &pid) == 1)
		fn(ctx, pid);
	fclose(f);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		walk_procs(path, depth + 1, fn, ctx);
	}
	closedir(d);
	return 0;
}

struct pid_set {
	uint32_t *pids;
	unsigned int n, cap;
};

static void pid_set_add(void *ctx, uint32_t pid)
{
	struct pid_set *s = ctx;

	if (s->n < s->cap)
		s->pids[s->n++] = pid;
}

static bool pid_set_has(const struct pid_set *s, uint32_t pid)
{
	for (unsigned int i = 0; i < s->n; i++)
		if (s->pids[i] == pid)
			return true;
	return false;
}

static int app_cgroup_pids(struct agent *a, uint32_t app, struct pid_set *s)
{
	s->n = 0;
	return walk_procs(a->apps[app].cgroup, 0, pid_set_add, s);
}

/*
 * Attaches app name in its own cgroup <cgroup root>/<name> (made here) or in
 * the adopted cgroup (below the cgroup v2 mount, never the cgroup root or an
 * ancestor of it). Every argument is checked before anything is made, and a
 * directory is removed again only when this call made it: one that was
 * already there is used but never removed by the agent. On failure why says
 * what failed and with which object.
 */
int procs__app_attach(struct agent *a, const char *name, const char *cgroup,
		      const struct xsl_app_opts *opts, uint32_t *app_out, char *why, size_t why_len)
{
	static uint32_t pidbuf[XSL_MAX_WORKERS];
	struct pid_set s = { .pids = pidbuf, .cap = XSL_MAX_WORKERS };
	struct xsl_app_opts o = opts ? *opts : (struct xsl_app_opts){ 0 };
	char path[PATH_MAX];
	bool own = false;
	struct statfs sfs;
	struct stat st;
	uint32_t app;
	int err, fd;

	if (registry__check_name(name, why, why_len))
		return -EINVAL;
	if (registry__app_by_name(a->reg, name, &app) == 0) {
		snprintf(why, why_len, "name already in use (app %u)", app);
		return -EEXIST;
	}
	if (o.policy != XSL_POLICY_REASSIGN && o.policy != XSL_POLICY_DROP) {
		snprintf(why, why_len, "unknown policy %u", o.policy);
		return -EINVAL;
	}
	if (cgroup) {
		if (!realpath(cgroup, path)) {
			err = -errno;
			snprintf(why, why_len, "cgroup %s: %s", cgroup, strerror(-err));
			return err;
		}
		err = guard__adoptable_cgroup(path, a->cgroup2, a->cgroup_root);
		if (err == -EXDEV)
			snprintf(why, why_len, "cgroup %s is not below the cgroup v2 mount %s", path,
				 a->cgroup2);
		else if (err)
			snprintf(why, why_len, "cgroup %s is the agent's cgroup root %s or above it", path,
				 a->cgroup_root);
		if (err)
			return err;
		if (statfs(path, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
			snprintf(why, why_len, "%s is not a cgroup v2 directory", path);
			return -EXDEV;
		}
	} else {
		/* the name was checked: path is one directory below the root */
		if (snprintf(path, sizeof(path), "%s/%s", a->cgroup_root, name) >=
		    (int)sizeof(path)) {
			snprintf(why, why_len, "cgroup path %s/%s is too long", a->cgroup_root, name);
			return -ENAMETOOLONG;
		}
		if (!mkdir(path, 0755)) {
			own = true;
		} else if (errno != EEXIST) {
			err = -errno;
			snprintf(why, why_len, "make cgroup %s: %s", path, strerror(-err));
			return err;
		} else {
			/* made by an earlier app of this name and waiting for its
			 * last task to leave: still ours, and no longer to remove */
			for (unsigned int i = 0; i < sizeof(a->rmdirs) / sizeof(a->rmdirs[0]); i++) {
				if (!strcmp(a->rmdirs[i].path, path)) {
					a->rmdirs[i].path[0] = '\0';
					own = true;
				}
			}
			if (!own)
				pr_info("app %s: using the existing cgroup %s (not made by this agent: "
					"kept when the app goes)\n", name, path);
		}
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		err = -errno;
		snprintf(why, why_len, "open cgroup %s: %s", path, strerror(-err));
		goto fail;
	}
	o.cgroup_id = st.st_ino;
	if (own)
		o.flags |= XSL_APP_F_OWN_CGROUP;
	err = registry__attach_app(a->reg, name, &o, &app);
	if (err) {
		snprintf(why, why_len, "%s", registry__error(a->reg));
		goto fail;
	}
	a->apps[app] = (struct agent_app){ .cgroup_fd = fd, .own_cgroup = own };
	snprintf(a->apps[app].cgroup, sizeof(a->apps[app].cgroup), "%s", path);
	err = hooks__attach_cgroup(a->hooks, fd, st.st_ino, a->o.pin_root);
	if (err) {
		snprintf(why, why_len, "attach socket hooks to %s: %s", path, strerror(-err));
		pr_err("app %s: %s\n", name, why);
		/* frees the app: its cgroup goes with it only if we made it */
		procs__detach(a, app, 0, DETACH_API);
		return err;
	}
	pr_info("app %s attached (index %u, cgroup %s)\n", name, app, path);
	/* an adopted cgroup may already hold processes: each is a worker */
	if (!app_cgroup_pids(a, app, &s)) {
		for (unsigned int i = 0; i < s.n; i++) {
			procs__register(a, app, s.pids[i], 0, CAUSE_JOIN, 0, NULL);
			socks__scan_process(a, app, s.pids[i]);
		}
	}
	if (app_out)
		*app_out = app;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (own)
		rmdir(path);
	return err;
}

int procs__app_detach(struct agent *a, uint32_t app)
{
	return procs__detach(a, app, 0, DETACH_API);
}

/* A worker's process the table holds no pidfd on (restored from the maps,
 * or a watch that failed): hold it again if it is still that process. */
static void proc_rehold(struct agent *a, uint32_t pid, uint64_t start_ns)
{
	struct proc_entry *e = proctab__find(&a->reg->procs, pid);
	uint64_t now_start, ino;
	int fd;

	if (!e || e->pidfd >= 0 || proc_open(pid, start_ns, e->ino, &fd, &now_start, &ino))
		return;
	if (!e->start_ns)
		e->start_ns = now_start;
	proc_hold(a, e, fd, ino);
}

/* One app: drop workers whose process left or died, add processes that
 * are in the cgroup without a worker. */
static void reconcile_app(struct agent *a, uint32_t app, struct pid_set *s)
{
	static uint32_t ws[XSL_MAX_WORKERS];
	unsigned int n;
	struct stat st;
	uint64_t start;

	if (stat(a->apps[app].cgroup, &st) || st.st_ino != a->reg->apps[app].cgroup_id) {
		pr_warn("app %s: cgroup %s is gone, freeing the app\n",
			registry__app_name(a->reg, app), a->apps[app].cgroup);
		a->apps[app].own_cgroup = false;
		procs__detach(a, app, 0, DETACH_RECONCILE);
		return;
	}
	if (app_cgroup_pids(a, app, s))
		return;
	n = workers_of(a, app, ws);
	for (unsigned int i = 0; i < n; i++) {
		const struct reg_worker *rw = registry__worker(a->reg, ws[i]);

		if (!rw || !rw->pid)
			continue;
		if (!pid_set_has(s, rw->pid) || procs__start_time(rw->pid, &start) ||
		    start != rw->start_time_ns) {
			if (procs__detach(a, app, rw->pid, DETACH_RECONCILE) ||
			    !registry__app(a->reg, app))
				return;
		} else {
			proc_rehold(a, rw->pid, rw->start_time_ns);
		}
	}
	/* a process that left and is gone from the cgroup (or whose pid now
	 * names another process) is forgotten */
	for (unsigned int i = 0; i < a->apps[app].n_left;) {
		struct proc_id id = a->apps[app].left[i];

		if (pid_set_has(s, id.pid) && !procs__start_time(id.pid, &start) &&
		    start == id.start_ns)
			i++;
		else
			forget_left(&a->apps[app], i);
	}
	for (unsigned int i = 0; i < s->n; i++) {
		if (procs__worker_of(a, app, s->pids[i], NULL) &&
		    !procs__register(a, app, s->pids[i], 0, CAUSE_RECONCILE, 0, NULL))
			socks__scan_process(a, app, s->pids[i]);
	}
}

int procs__reconcile(struct agent *a)
{
	static uint32_t pidbuf[XSL_MAX_WORKERS];
	struct pid_set s = { .pids = pidbuf, .cap = XSL_MAX_WORKERS };

	a->c.reconcile_runs++;
	for (uint32_t app = 0; app < XSL_MAX_APPS; app++) {
		if (registry__app(a->reg, app))
			reconcile_app(a, app, &s);
	}
	return 0;
}
