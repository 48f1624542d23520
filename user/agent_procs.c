// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Processes: worker registration for a process (held by a pidfd, so a
 * recycled pid is never taken for it), cleanup of exactly a process's
 * workers, and the reconcile pass that converges the registry to the
 * processes really in each app cgroup when events were lost or the agent
 * was away. The fork -> registration and exit -> detach latencies are
 * measured here. An app freed by a detach is handed to a->on_app_freed (the
 * app room, agent_apps.c, which sits above this one).
 *
 * Cost: a FORK event that names its process by pidfs inode is registered
 * with a pidfd_open, an fstat and a poll, no /proc read; the reconcile pass
 * reads /proc only for processes no pidfd holds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include "clock.h"
#include "agent.h"
#include "log.h"
#include "procfs.h"
#include "strnum.h"

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
		unsigned int tid;

		if (strnum__uint(de->d_name, 1, UINT32_MAX, &tid) || tid == pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%u/task/%u/stat", pid, tid);
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
 *
 * A FORK event's process (forked: start_ns and ino from the event) needs no
 * /proc read: the pidfs inode names one process for the whole boot, and its
 * EXIT event, if it is exiting already, is queued behind the FORK (the fork
 * tracepoint runs before the child is first woken), so it is detached next.
 */
static int proc_open(uint32_t pid, uint64_t start_ns, uint64_t ino, bool forked, int *pidfd,
		     uint64_t *now_start, uint64_t *now_ino)
{
	struct stat st;
	bool exiting;
	int fd, err;

	fd = pidfd_open((pid_t)pid, 0);
	if (fd < 0)
		return -errno;
	*now_ino = fstat(fd, &st) ? 0 : (uint64_t)st.st_ino;
	/* gone already (a short-lived child): no need to read /proc */
	if (pidfd_exited(fd) || (ino && *now_ino && *now_ino != ino))
		goto gone;
	if (forked && start_ns && ino && *now_ino == ino) {
		*now_start = start_ns;
		*pidfd = fd;
		return 0;
	}
	err = procs__stat(pid, now_start, &exiting);
	if (err || exiting || pidfd_exited(fd) || (start_ns && *now_start != start_ns))
		goto gone;
	*pidfd = fd;
	return 0;
gone:
	close(fd);
	return -ESRCH;
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

static const char *const reg_cause_names[] = { "fork", "join", "api", "reconcile" };
static const char *const detach_cause_names[] = { "exit", "api", "reconcile" };

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

/* One bit per worker index: the workers one detach removes. */
struct worker_set {
	uint64_t bits[(XSL_MAX_WORKERS + 63) / 64];
	unsigned int n;
};

static void worker_set_add(struct worker_set *ws, uint32_t w)
{
	ws->bits[w / 64] |= 1ull << (w % 64);
	ws->n++;
}

/* After workers were removed (their pidfds went with their table entries):
 * their sockets, and the app's leftovers when it was freed. */
static void workers_gone(struct agent *a, uint32_t app, const struct worker_set *ws)
{
	for (uint32_t w = 0; ws->n && w < XSL_MAX_WORKERS; w++)
		if (ws->bits[w / 64] & (1ull << (w % 64)))
			socks__worker_gone(a, w);
	if (!registry__app(a->reg, app) && a->on_app_freed)
		a->on_app_freed(a, app);
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
	char name[XSL_APP_NAME_LEN];
	struct proc_id id = { .pid = pid };
	struct agent_app *aa = &a->apps[app];
	struct worker_set ws = { 0 };
	const struct proc_entry *e;
	unsigned int n;
	uint32_t w;
	int err;

	if (!registry__app(a->reg, app))
		return -ENOENT;
	snprintf(name, sizeof(name), "%s", registry__app_name(a->reg, app));
	/* one process owns at most one worker (procs__register makes no second) */
	e = proctab__find(&a->reg->procs, pid);
	if (pid) {
		if (!procs__worker_of(a, app, pid, &w))
			worker_set_add(&ws, w);
		id.start_ns = e ? e->start_ns : 0;
	} else {
		for (w = 0; w < XSL_MAX_WORKERS; w++) {
			const struct reg_worker *rw = registry__worker(a->reg, w);

			if (rw && rw->app == app)
				worker_set_add(&ws, w);
		}
	}
	n = ws.n;
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
	workers_gone(a, app, &ws);
	return 0;
}

int procs__detach(struct agent *a, uint32_t app, uint32_t pid, enum detach_cause cause)
{
	return detach(a, app, pid, cause, cause == DETACH_API);
}

int procs__exited(struct agent *a, uint32_t app, uint32_t pid, uint64_t start_ns, uint64_t ino,
		  uint64_t event_ts_ns)
{
	const struct proc_entry *e = proctab__find_proc(&a->reg->procs, pid, start_ns, ino);
	int err;

	/* not the process the table has under pid (an EXIT queued before its
	 * pid was reused and the new process registered) */
	if (!e || e->app != app || e->app_gen != procs__app_gen(a, app))
		return -ENOENT;
	err = procs__detach(a, app, pid, DETACH_EXIT);
	if (!err)
		lathist__since(&a->c.exit_lat, event_ts_ns, mono_ns());
	return err;
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
	if (old == app && e->app_gen == procs__app_gen(a, app)) {
		if (procs__worker_of(a, app, pid, worker))
			return -ENOENT;
		return -EEXIST;
	}
	if (registry__app(a->reg, old)) {
		char rel[PATH_MAX];
		size_t in_old, in_new;

		/* it is where the kernel put it last: in app's cgroup, not nearer
		 * to the old app's (a stale JOIN, or app's cgroup nests the old's) */
		if (procfs__cgroup_of(pid, rel, sizeof(rel)))
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
			 uint64_t ino, uint32_t ppid, enum reg_cause cause, uint64_t event_ts_ns,
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
	err = proc_open(pid, start_ns, ino, cause == CAUSE_FORK, &fd, &now_start, &now_ino);
	if (err == -ESRCH || err == -ENOENT) {
		/* A fork gone before we saw it (or whose pid already names
		 * another process): its whole life is already over, and its
		 * registration is timed as done now. Anything else found
		 * exiting was counted when it came. */
		pr_debug("app %s: pid %u exited before registration\n",
			 registry__app_name(a->reg, app), pid);
		if (cause == CAUSE_FORK) {
			aa->registrations[cause]++;
			aa->detaches[DETACH_EXIT]++;
			lathist__since(&a->c.fork_lat, event_ts_ns, mono_ns());
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
		/* in its parent's instance, or its cgroup's; else the current */
		uint16_t inst = inst__of_process(a, app, pid, ppid);

		err = inst ? registry__worker_add_to(a->reg, app, inst, pid, now_start, &w) :
			     registry__worker_add(a->reg, app, pid, now_start, &w);
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
	inst__worker_added(a, app, w);
	aa->registrations[cause]++;
	if (cause == CAUSE_FORK)
		lathist__since(&a->c.fork_lat, event_ts_ns, mono_ns());
	steer__worker(a, app, w);
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
	return procs__register_proc(a, app, pid, start_ns, 0, 0, cause, event_ts_ns, worker);
}

void procs__pidfd_ready(struct agent *a, uint32_t idx)
{
	struct proc_entry *e = proctab__at(&a->reg->procs, idx);

	/* The event may be stale: an earlier one in the same epoll batch can
	 * have freed this entry and given it to a new, live process. */
	if (!e || e->pidfd < 0 || !pidfd_exited(e->pidfd))
		return;
	if (e->app_gen != procs__app_gen(a, e->app) ||
	    procs__detach(a, e->app, e->pid, DETACH_EXIT)) {
		/* not detachable: stop watching; the reconcile pass drops it */
		proc_release(a, e);
	}
}

/* Appends pid to s, growing it as needed. */
static int pid_set_add(struct pid_set *s, uint32_t pid)
{
	if (s->n == s->cap) {
		unsigned int cap = s->cap ? s->cap * 2 : 256;
		uint32_t *p = realloc(s->pids, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->pids = p;
		s->cap = cap;
	}
	s->pids[s->n++] = pid;
	return 0;
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

static bool pid_set_has(const struct pid_set *s, uint32_t pid)
{
	return s->n && bsearch(&pid, s->pids, s->n, sizeof(pid), cmp_u32);
}

/* Adds the pids of dir/cgroup.procs to s. */
static int read_cgroup_procs(const char *dir, struct pid_set *s)
{
	char path[PATH_MAX];
	unsigned int pid;
	int err = 0;
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!err && fscanf(f, "%u", &pid) == 1)
		err = pid_set_add(s, pid);
	fclose(f);
	return err;
}

#define CGROUP_MAX_DEPTH 32

int procs__cgroup_pids(const char *cgroup, struct pid_set *s)
{
	char *paths[] = { (char *)cgroup, NULL };
	FTSENT *ent;
	int err = 0;
	FTS *fts;

	s->n = 0;
	/* directories only matter: no stat of the control files */
	fts = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR | FTS_NOSTAT, NULL);
	if (!fts)
		return -errno;
	/* the top is the app's cgroup and must be read; a cgroup below it
	 * removed meanwhile is simply gone */
	while (!err && (ent = fts_read(fts))) {
		int e = 0;

		if (ent->fts_info == FTS_DNR || ent->fts_info == FTS_ERR ||
		    ent->fts_info == FTS_NS)
			e = -(ent->fts_errno ? ent->fts_errno : EIO);
		else if (ent->fts_info == FTS_D)
			e = read_cgroup_procs(ent->fts_accpath, s);
		else
			continue;
		if (e && (ent->fts_level == FTS_ROOTLEVEL || e == -ENOMEM))
			err = e;
		if (ent->fts_info == FTS_D && ent->fts_level >= CGROUP_MAX_DEPTH)
			fts_set(fts, ent, FTS_SKIP);
	}
	fts_close(fts);
	if (!err && s->n)
		qsort(s->pids, s->n, sizeof(s->pids[0]), cmp_u32);
	return err;
}

/* A worker's process the table holds no pidfd on (restored from the maps,
 * or a watch that failed): hold it again if it is still that process. */
static void proc_rehold(struct agent *a, struct proc_entry *e, uint64_t start_ns)
{
	uint64_t now_start, ino;
	int fd;

	if (proc_open(e->pid, start_ns, e->ino, false, &fd, &now_start, &ino))
		return;
	if (!e->start_ns)
		e->start_ns = now_start;
	proc_hold(a, e, fd, ino);
}

/*
 * Does the reconcile pass keep worker rw (pids s: the app's cgroup)? Yes
 * while its process is still the one in the cgroup: for a process the table
 * holds a pidfd on, while the pidfd shows it alive (its pid is not reused
 * before it is reaped), no /proc read unless cgroup.procs missed it (then
 * /proc/PID/cgroup says whether it left). One whose pidfd shows it exited has
 * just exited: it is left to its pidfd event, pending in the loop, which
 * handles its EXIT event (queued behind this pass) first. Any other process
 * is read from /proc and held again.
 */
static bool reconcile_keeps(struct agent *a, const struct reg_worker *rw,
			    const struct pid_set *s)
{
	struct proc_entry *e = proctab__find(&a->reg->procs, rw->pid);
	char rel[PATH_MAX];
	uint64_t start;

	if (e && e->pidfd >= 0 && pidfd_exited(e->pidfd))
		return true;
	if (e && e->pidfd >= 0) {
		if (pid_set_has(s, rw->pid))
			return true;
		/* cgroup.procs read in several chunks while a storm forks and
		 * reaps can skip a live pid: ask the process where it is */
		if (procfs__cgroup_of(rw->pid, rel, sizeof(rel)))
			return pidfd_exited(e->pidfd);	/* exited since */
		return app_cgroup_depth(a, rw->app, rel) != 0;
	}
	if (!pid_set_has(s, rw->pid))
		return false;
	if (procs__start_time(rw->pid, &start) || start != rw->start_time_ns)
		return false;
	if (e)
		proc_rehold(a, e, rw->start_time_ns);
	return true;
}

/* One app: drop workers whose process left or died, add processes that
 * are in the cgroup without a worker. */
static void reconcile_app(struct agent *a, uint32_t app, struct pid_set *s)
{
	struct stat st;
	uint64_t start;

	if (stat(a->apps[app].cgroup, &st) || st.st_ino != a->reg->apps[app].cgroup_id) {
		pr_warn("app %s: cgroup %s is gone, freeing the app\n",
			registry__app_name(a->reg, app), a->apps[app].cgroup);
		a->apps[app].own_cgroup = false;
		procs__detach(a, app, 0, DETACH_RECONCILE);
		return;
	}
	if (procs__cgroup_pids(a->apps[app].cgroup, s))
		return;
	/* a child shows in cgroup.procs just before its fork event is queued:
	 * the events queued by now go first, so those children register as
	 * forks, not as found by this pass (their events would then be
	 * duplicates, and the fork uncounted) */
	agent__events_drain(a);
	if (!registry__app(a->reg, app))
		return;
	/* (a detach changes only the slots it frees: the walk goes on) */
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		const struct reg_worker *rw = registry__worker(a->reg, w);

		if (!rw || rw->app != app || !rw->pid || reconcile_keeps(a, rw, s))
			continue;
		if (procs__detach(a, app, rw->pid, DETACH_RECONCILE) || !registry__app(a->reg, app))
			return;
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
	struct pid_set s = { 0 };

	a->c.reconcile_runs++;
	for (uint32_t app = 0; app < XSL_MAX_APPS; app++) {
		if (!registry__app(a->reg, app))
			continue;
		reconcile_app(a, app, &s);
		/* each app's pass starts from its cgroup as it is then: events
		 * may be handled between two */
		agent__events_drain(a);
	}
	free(s.pids);
	return 0;
}
