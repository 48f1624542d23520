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

int procs__stat(uint32_t pid, uint64_t *start_ns, bool *exiting)
{
	char path[64], buf[1024], *p;
	unsigned long long ticks, flags;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
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
	if (!p)
		return -EINVAL;
	/* field 3 (state) follows ") "; flags is field 9, starttime field 22 */
	p += 2;
	for (int field = 3; field < 22; field++) {
		if (field == 9 && sscanf(p, "%llu", &flags) != 1)
			return -EINVAL;
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	if (sscanf(p, "%llu", &ticks) != 1 || hz <= 0)
		return -EINVAL;
	*start_ns = ticks * (1000000000ull / (unsigned long long)hz);
	if (exiting)
		*exiting = flags & TASK_PF_EXITING;
	return 0;
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

static struct agent_proc *proc_find(struct agent *a, uint32_t pid, uint32_t *idx)
{
	for (uint32_t i = 0; i < XSL_REG_MAX_PROCS; i++) {
		if (a->procs[i].pid == pid) {
			if (idx)
				*idx = i;
			return &a->procs[i];
		}
	}
	return NULL;
}

static void proc_forget(struct agent *a, struct agent_proc *p)
{
	if (p->pidfd >= 0) {
		epoll_ctl(a->epfd, EPOLL_CTL_DEL, p->pidfd, NULL);
		close(p->pidfd);
	}
	*p = (struct agent_proc){ .pidfd = -1 };
}

/* Does pid still own a worker in app? */
static bool pid_has_worker(const struct agent *a, uint32_t app, uint32_t pid)
{
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		const struct reg_worker *rw = registry__worker(a->reg, w);

		if (rw && rw->app == app && rw->pid == pid)
			return true;
	}
	return false;
}

/* Tracks pid with a pidfd; -ESRCH when it is already gone or is not the
 * process that started at start_ns (its pid was recycled). */
static int proc_track(struct agent *a, uint32_t app, uint32_t pid, uint64_t start_ns)
{
	struct agent_proc *p;
	uint64_t now_start;
	bool exiting;
	uint32_t idx;
	int fd, err;

	p = proc_find(a, pid, NULL);
	if (p)
		return 0;
	fd = pidfd_open((pid_t)pid, 0);
	if (fd < 0)
		return -errno;
	/*
	 * Checked after the pidfd is held: that process can't be replaced now.
	 * One already exiting is gone for us: its exit may have been handled
	 * while it still shows in cgroup.procs.
	 */
	err = procs__stat(pid, &now_start, &exiting);
	if (err || exiting || (start_ns && now_start != start_ns)) {
		close(fd);
		return -ESRCH;
	}
	p = proc_find(a, 0, &idx);
	if (!p) {
		close(fd);
		return -ENOSPC;
	}
	*p = (struct agent_proc){ .pid = pid, .pidfd = fd, .start_ns = now_start, .app = app };
	err = agent__epoll_add(a, fd, TAG_PIDFD, idx);
	if (err) {
		proc_forget(a, p);
		return err;
	}
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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

/* Workers of app owned by pid (all of the app's when pid is 0). */
static unsigned int workers_of(const struct agent *a, uint32_t app, uint32_t pid, uint32_t *out)
{
	unsigned int n = 0;

	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		const struct reg_worker *rw = registry__worker(a->reg, w);

		if (rw && rw->app == app && (!pid || rw->pid == pid))
			out[n++] = w;
	}
	return n;
}

/* After workers were removed: their sockets, their processes' pidfds. */
static void workers_gone(struct agent *a, uint32_t app, const uint32_t *ws, const uint32_t *pids,
			 unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct agent_proc *p;

		socks__worker_gone(a, ws[i]);
		p = proc_find(a, pids[i], NULL);
		if (p && p->pid && (!registry__app(a->reg, app) || !pid_has_worker(a, app, pids[i])))
			proc_forget(a, p);
	}
	if (!registry__app(a->reg, app))
		app_gone(a, app);
}

static bool has_left(const struct agent_app *aa, uint32_t pid, unsigned int *at)
{
	for (unsigned int i = 0; i < aa->n_left; i++) {
		if (aa->left[i] == pid) {
			if (at)
				*at = i;
			return true;
		}
	}
	return false;
}

static void forget_left(struct agent_app *aa, unsigned int i)
{
	aa->left[i] = aa->left[--aa->n_left];
}

int procs__detach(struct agent *a, uint32_t app, uint32_t pid, enum detach_cause cause)
{
	static uint32_t ws[XSL_MAX_WORKERS], pids[XSL_MAX_WORKERS];
	char name[XSL_APP_NAME_LEN];
	unsigned int n;
	int err;

	if (!registry__app(a->reg, app))
		return -ENOENT;
	snprintf(name, sizeof(name), "%s", registry__app_name(a->reg, app));
	n = workers_of(a, app, pid, ws);
	for (unsigned int i = 0; i < n; i++)
		pids[i] = a->reg->workers[ws[i]].pid;
	err = registry__detach_process(a->reg, app, pid);
	if (err)
		return err;
	a->apps[app].detaches[cause] += n;
	if (pid && cause == DETACH_API && !has_left(&a->apps[app], pid, NULL) &&
	    a->apps[app].n_left < AGENT_MAX_LEFT)
		a->apps[app].left[a->apps[app].n_left++] = pid;
	if (pid)
		pr_info("app %s: detached pid %u (%u worker%s, %s)\n", name, pid, n,
			n == 1 ? "" : "s", detach_cause_names[cause]);
	else
		pr_info("app %s: all %u workers detached (%s)\n", name, n,
			cause == DETACH_API ? "operator" : detach_cause_names[cause]);
	workers_gone(a, app, ws, pids, n);
	return 0;
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

int procs__register(struct agent *a, uint32_t app, uint32_t pid, uint64_t start_ns,
		    enum reg_cause cause, uint64_t event_ts_ns, uint32_t *worker)
{
	unsigned int at;
	uint32_t w;
	int err;

	if (!registry__app(a->reg, app))
		return -ENOENT;
	if (pid_has_worker(a, app, pid))
		return -EEXIST;
	if (has_left(&a->apps[app], pid, &at)) {
		if (cause != CAUSE_API && cause != CAUSE_FORK)
			return -EPERM;
		forget_left(&a->apps[app], at);
	}
	err = proc_track(a, app, pid, start_ns);
	if (err == -ESRCH || err == -ENOENT) {
		/* A fork gone before we saw it: its whole life is already over.
		 * Anything else found exiting was counted when it came. */
		pr_debug("app %s: pid %u exited before registration\n",
			 registry__app_name(a->reg, app), pid);
		if (cause == CAUSE_FORK) {
			a->apps[app].registrations[cause]++;
			a->apps[app].detaches[DETACH_EXIT]++;
		}
		return -ESRCH;
	}
	if (err)
		return err;
	err = registry__worker_add(a->reg, app, pid, proc_find(a, pid, NULL)->start_ns, &w);
	if (err) {
		pr_warn("app %s: register pid %u: %s\n", registry__app_name(a->reg, app), pid,
			registry__error(a->reg));
		proc_forget(a, proc_find(a, pid, NULL));
		return err;
	}
	a->apps[app].registrations[cause]++;
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

void procs__pidfd_ready(struct agent *a, uint32_t idx)
{
	struct pollfd pfd;
	struct agent_proc *p;

	if (idx >= XSL_REG_MAX_PROCS)
		return;
	p = &a->procs[idx];
	/* The event may be stale: an earlier one in the same epoll batch can
	 * have freed this slot and given it to a new, live process. */
	pfd = (struct pollfd){ .fd = p->pidfd, .events = POLLIN };
	if (!p->pid || p->pidfd < 0 || poll(&pfd, 1, 0) != 1)
		return;
	if (procs__detach(a, p->app, p->pid, DETACH_EXIT))
		proc_forget(a, p);
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

/* One app: drop workers whose process left or died, add processes that
 * are in the cgroup without a worker. */
static void reconcile_app(struct agent *a, uint32_t app, struct pid_set *s)
{
	static uint32_t ws[XSL_MAX_WORKERS];
	unsigned int n;
	struct stat st;

	if (stat(a->apps[app].cgroup, &st) || st.st_ino != a->reg->apps[app].cgroup_id) {
		pr_warn("app %s: cgroup %s is gone, freeing the app\n",
			registry__app_name(a->reg, app), a->apps[app].cgroup);
		a->apps[app].own_cgroup = false;
		procs__detach(a, app, 0, DETACH_RECONCILE);
		return;
	}
	if (app_cgroup_pids(a, app, s))
		return;
	n = workers_of(a, app, 0, ws);
	for (unsigned int i = 0; i < n; i++) {
		const struct reg_worker *rw = registry__worker(a->reg, ws[i]);
		uint64_t start;

		if (!rw || !rw->pid)
			continue;
		if (!pid_set_has(s, rw->pid) || procs__start_time(rw->pid, &start) ||
		    start != rw->start_time_ns) {
			if (procs__detach(a, app, rw->pid, DETACH_RECONCILE) ||
			    !registry__app(a->reg, app))
				return;
		} else if (!proc_find(a, rw->pid, NULL)) {
			/* restored from the maps: hold it by a pidfd again */
			proc_track(a, app, rw->pid, rw->start_time_ns);
		}
	}
	/* a process that left and is gone from the cgroup is forgotten */
	for (unsigned int i = 0; i < a->apps[app].n_left;) {
		if (pid_set_has(s, a->apps[app].left[i]))
			i++;
		else
			forget_left(&a->apps[app], i);
	}
	for (unsigned int i = 0; i < s->n; i++) {
		if (!pid_has_worker(a, app, s->pids[i]) && !has_left(&a->apps[app], s->pids[i], NULL) &&
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
