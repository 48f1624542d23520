// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The process and socket hooks (xsl_cgroup.bpf.c) with real processes and
 * sockets. Each test makes its own cgroup under the cgroup v2 mount (found
 * in /proc/mounts), registers it as app APP in a private, unpinned instance
 * of the object, runs helper processes ("kids") that move themselves into a
 * cgroup and act there, and reads the events from the ring buffer. Hooks run
 * synchronously, so once a kid has reported, its events are in the buffer.
 * Teardown kills every process of the test's cgroups and removes them.
 *
 * The last test drives user/hooks.c on a private bpffs mount: pinned links
 * keep working with no loader alive and are replaced, not doubled, by the
 * next one.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sched.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "xsl/events.h"
#include "xsl/maps.h"
#include "xsl/records.h"
#include "xsl/stats.h"
#include "hooks.h"
#include "mounts.h"
#include "xsl_cgroup.skel.h"

#define APP		7
#define OTHER_APP	8
#define MAX_EVENTS	1024
#define MAX_CGROUPS	4
#define MAX_KIDS	8
#define REPORT_MS	5000

struct env {
	struct xsl_cgroup *skel;
	struct bpf_link *links[16];
	int n_links;
	struct ring_buffer *rb;
	int cgroups_fd;			/* xsl_app_cgroups */
	char cg2[PATH_MAX / 2];		/* cgroup v2 mount point */
	char cg[PATH_MAX];		/* the test's app cgroup */
	__u64 cg_id;
	int cg_fd;
	char extra[MAX_CGROUPS][PATH_MAX];	/* more cgroups, removed in reverse */
	int n_extra;
	pid_t kids[MAX_KIDS];
	int n_kids;
	char bpffs[PATH_MAX];		/* private bpffs mount, if any */
	struct xsl_event ev[MAX_EVENTS];
	int n_ev;
};

/* What a kid reports once it has done its work. */
struct report {
	int err;			/* 0 or a negative errno */
	pid_t pid[4];
	__u64 cookie[4];
	__u16 port[4];			/* host order */
	__u32 flags[4];			/* xsl_sk_owner flags, NO_STORAGE if none */
};

#define NO_STORAGE	0xffffffffu

/* xsl_sk_owner of the loaded object, for kids to read their sockets' marks. */
static int sk_owner_fd = -1;

typedef void (*kid_fn)(struct report *r);

struct kid {
	pid_t pid;
	int cmd;			/* closing it lets the kid exit */
	int rep;
};

static unsigned int cgroup_seq;

/* ---- cgroups ---- */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

static __u64 dir_ino(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

/* A new cgroup dir (v2 or v1) named uniquely below parent, kept for teardown. */
static void env_mkcgroup(struct env *env, const char *parent, char *out, size_t len)
{
	assert_true(env->n_extra < MAX_CGROUPS);
	snprintf(out, len, "%s/xsl-test-%d-%u", parent, getpid(), cgroup_seq++);
	assert_int_equal(mkdir(out, 0755), 0);
	snprintf(env->extra[env->n_extra++], PATH_MAX, "%s", out);
}

/* Kills what is left in a cgroup and removes it, waiting for it to empty. */
static void cgroup_remove(const char *path)
{
	char file[PATH_MAX + 32];
	int i;

	snprintf(file, sizeof(file), "%s/cgroup.kill", path);
	write_file(file, "1");
	for (i = 0; i < 500; i++) {
		if (!rmdir(path) || errno == ENOENT)
			return;
		if (errno != EBUSY)
			break;
		usleep(10000);
	}
	fprintf(stderr, "test_cgroup_hooks: remove cgroup %s: %s\n", path, strerror(errno));
}

static int app_put(struct env *env, __u64 cgroup_id, __u32 app)
{
	struct xsl_app_ref ref = { .app = app, .gen = 1 };

	return bpf_map_update_elem(env->cgroups_fd, &cgroup_id, &ref, BPF_ANY);
}

/* ---- events ---- */

static int on_event(void *ctx, void *data, size_t len)
{
	struct env *env = ctx;

	if (len != sizeof(struct xsl_event) || env->n_ev >= MAX_EVENTS)
		return 0;
	memcpy(&env->ev[env->n_ev++], data, sizeof(struct xsl_event));
	return 0;
}

static void drain(struct env *env)
{
	assert_true(ring_buffer__consume(env->rb) >= 0);
}

static int count(struct env *env, __u32 type, __u32 pid)
{
	int i, n = 0;

	for (i = 0; i < env->n_ev; i++)
		n += env->ev[i].type == type && env->ev[i].pid == pid;
	return n;
}

static int count_type(struct env *env, __u32 type)
{
	int i, n = 0;

	for (i = 0; i < env->n_ev; i++)
		n += env->ev[i].type == type;
	return n;
}

static const struct xsl_event *find(struct env *env, __u32 type, __u32 pid)
{
	int i;

	for (i = 0; i < env->n_ev; i++)
		if (env->ev[i].type == type && env->ev[i].pid == pid)
			return &env->ev[i];
	return NULL;
}

static const struct xsl_event *find_cookie(struct env *env, __u32 type, __u64 cookie)
{
	int i;

	for (i = 0; i < env->n_ev; i++)
		if (env->ev[i].type == type && env->ev[i].cookie == cookie)
			return &env->ev[i];
	return NULL;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static __u64 boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* starttime of /proc/PID/stat (clock ticks after boot), 0 if unreadable */
static unsigned long long proc_start_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ticks = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	/* starttime is the 20th field after the command's closing paren */
	for (int i = 0; p && i < 20; i++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p, " %llu", &ticks);
	fclose(f);
	return ticks;
}

/* The pidfs inode of pid (st_ino of a pidfd on it), 0 if none. */
static __u64 pid_ino(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct stat st;
	__u64 ino = 0;

	if (fd < 0)
		return 0;
	if (!fstat(fd, &st))
		ino = st.st_ino;
	close(fd);
	return ino;
}

static __u64 events_lost(struct env *env)
{
	int ncpus = libbpf_num_possible_cpus(), cpu;
	struct xsl_stats *vals;
	__u32 zero = 0;
	__u64 sum = 0;

	assert_true(ncpus > 0);
	vals = calloc(ncpus, sizeof(*vals));
	assert_non_null(vals);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(env->skel->maps.xsl_stats), &zero, vals),
			 0);
	for (cpu = 0; cpu < ncpus; cpu++)
		sum += vals[cpu].stat[XSL_STAT_EVENTS_LOST];
	free(vals);
	return sum;
}

/* ---- kids: processes that act inside a cgroup ---- */

static ssize_t read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		got += n;
	}
	return (ssize_t)got;
}

/*
 * Forks a kid that moves itself into cgroup (NULL: stays where the test
 * runs), runs fn, reports, and lives on (keeping what it opened) until
 * kid_stop(). The test waits for the report.
 */
static void kid_start(struct env *env, struct kid *k, const char *cgroup, kid_fn fn,
		      struct report *r)
{
	int cmd[2], rep[2];

	assert_true(env->n_kids < MAX_KIDS);
	assert_int_equal(pipe2(cmd, O_CLOEXEC), 0);
	assert_int_equal(pipe2(rep, O_CLOEXEC), 0);
	k->pid = fork();
	assert_true(k->pid >= 0);
	if (k->pid == 0) {
		char procs[PATH_MAX + 32], c;
		struct report mine = { 0 };

		close(cmd[1]);
		close(rep[0]);
		if (cgroup) {
			snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgroup);
			mine.err = write_file(procs, "0");
		}
		if (!mine.err)
			fn(&mine);
		if (write(rep[1], &mine, sizeof(mine)) != sizeof(mine))
			_exit(1);
		while (read(cmd[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	env->kids[env->n_kids++] = k->pid;
	close(cmd[0]);
	close(rep[1]);
	k->cmd = cmd[1];
	k->rep = rep[0];
	assert_int_equal(read_full(k->rep, r, sizeof(*r), REPORT_MS), sizeof(*r));
	if (r->err)
		fprintf(stderr, "kid %d: %s\n", k->pid, strerror(-r->err));
	assert_int_equal(r->err, 0);
}

/* Lets the kid exit and reaps it: its EXIT (if any) is then in the buffer. */
static void kid_stop(struct kid *k)
{
	int status;

	close(k->cmd);
	close(k->rep);
	assert_int_equal(waitpid(k->pid, &status, 0), k->pid);
}

static void kid_nothing(struct report *r)
{
	(void)r;
}

/* Forks a child that lives until killed; reports its pid. */
static void kid_fork_sleeper(struct report *r)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;)
			pause();
	}
	if (pid < 0)
		r->err = -errno;
	r->pid[0] = pid;
}

/* ---- setup ---- */

enum env_flags {
	ENV_SMALL_RINGBUF = 1,	/* xsl_events at its minimum size (one page) */
	ENV_NO_BPF = 2,		/* cgroup only: the test loads the hooks itself */
};

static void env_attach(struct env *env, struct bpf_link *link)
{
	assert_non_null(link);
	assert_true(env->n_links < (int)(sizeof(env->links) / sizeof(env->links[0])));
	env->links[env->n_links++] = link;
}

static int env_open(void **state, int flags)
{
	struct env *env = calloc(1, sizeof(*env));
	struct bpf_map *map;
	struct xsl_cgroup *s;
	int err;

	if (!env)
		return -1;
	*state = env;
	env->cg_fd = -1;
	err = mounts__cgroup2(env->cg2, sizeof(env->cg2));
	if (err) {
		fprintf(stderr, "test_cgroup_hooks: no cgroup v2: %s\n", strerror(-err));
		return -1;
	}
	snprintf(env->cg, sizeof(env->cg), "%s/xsl-test-%d-%u", env->cg2, getpid(),
		 cgroup_seq++);
	if (mkdir(env->cg, 0755)) {
		fprintf(stderr, "test_cgroup_hooks: mkdir %s: %s\n", env->cg, strerror(errno));
		env->cg[0] = '\0';
		return -1;
	}
	env->cg_id = dir_ino(env->cg);
	env->cg_fd = open(env->cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (env->cg_fd < 0 || (flags & ENV_NO_BPF))
		return env->cg_fd < 0 ? -1 : 0;

	s = env->skel = xsl_cgroup__open();
	if (!s)
		return -1;
	bpf_object__for_each_map(map, s->obj)
		if (bpf_map__set_pin_path(map, NULL))
			return -1;
	if ((flags & ENV_SMALL_RINGBUF) && bpf_map__set_max_entries(s->maps.xsl_events, 4096))
		return -1;
	err = xsl_cgroup__load(s);
	if (err) {
		fprintf(stderr, "test_cgroup_hooks: load xsl_cgroup: %s\n", strerror(-err));
		return -1;
	}
	env_attach(env, bpf_program__attach(s->progs.xsl_fork));
	env_attach(env, bpf_program__attach(s->progs.xsl_exit));
	env_attach(env, bpf_program__attach(s->progs.xsl_join));
	env_attach(env, bpf_program__attach_cgroup(s->progs.xsl_bind4, env->cg_fd));
	env_attach(env, bpf_program__attach_cgroup(s->progs.xsl_bind6, env->cg_fd));
	env_attach(env, bpf_program__attach_cgroup(s->progs.xsl_post_bind4, env->cg_fd));
	env_attach(env, bpf_program__attach_cgroup(s->progs.xsl_post_bind6, env->cg_fd));
	env_attach(env, bpf_program__attach_cgroup(s->progs.xsl_connect4, env->cg_fd));
	env_attach(env, bpf_program__attach_cgroup(s->progs.xsl_connect6, env->cg_fd));
	env_attach(env, bpf_program__attach_cgroup(s->progs.xsl_sock_release, env->cg_fd));
	env_attach(env, bpf_program__attach_cgroup(s->progs.xsl_sockops, env->cg_fd));
	env->cgroups_fd = bpf_map__fd(s->maps.xsl_app_cgroups);
	sk_owner_fd = bpf_map__fd(s->maps.xsl_sk_owner);
	if (app_put(env, env->cg_id, APP))
		return -1;
	env->rb = ring_buffer__new(bpf_map__fd(s->maps.xsl_events), on_event, env, NULL);
	return env->rb ? 0 : -1;
}

/* Unpins everything in a private bpffs and unmounts it. */
static void bpffs_remove(const char *root)
{
	struct dirent *d;
	DIR *dir = opendir(root);

	while (dir && (d = readdir(dir)))
		if (d->d_name[0] != '.')
			unlinkat(dirfd(dir), d->d_name, 0);
	if (dir)
		closedir(dir);
	umount2(root, MNT_DETACH);
	rmdir(root);
}

static int setup(void **state)
{
	return env_open(state, 0);
}

static int setup_small_ringbuf(void **state)
{
	return env_open(state, ENV_SMALL_RINGBUF);
}

static int setup_no_bpf(void **state)
{
	return env_open(state, ENV_NO_BPF);
}

static int teardown(void **state)
{
	struct env *env = *state;
	int i;

	if (!env)
		return 0;
	for (i = 0; i < env->n_kids; i++) {
		kill(env->kids[i], SIGKILL);
		waitpid(env->kids[i], NULL, 0);
	}
	for (i = env->n_extra - 1; i >= 0; i--)
		cgroup_remove(env->extra[i]);
	if (env->cg[0])
		cgroup_remove(env->cg);
	ring_buffer__free(env->rb);
	for (i = env->n_links - 1; i >= 0; i--)
		bpf_link__destroy(env->links[i]);
	xsl_cgroup__destroy(env->skel);
	if (env->bpffs[0])
		bpffs_remove(env->bpffs);
	if (env->cg_fd >= 0)
		close(env->cg_fd);
	free(env);
	return 0;
}

/* ---- process events ---- */

static void test_fork_in_app_cgroup_emits_fork(void **state)
{
	struct env *env = *state;
	const struct xsl_event *join, *fork_ev;
	__u64 before = now_ns();
	struct report r;
	struct kid k;

	kid_start(env, &k, env->cg, kid_fork_sleeper, &r);
	drain(env);

	join = find(env, XSL_EV_JOIN, k.pid);
	assert_non_null(join);
	assert_int_equal(join->app, APP);
	assert_int_equal(join->cgroup_id, env->cg_id);
	assert_int_equal(join->ppid, getpid());

	fork_ev = find(env, XSL_EV_FORK, r.pid[0]);
	assert_non_null(fork_ev);
	assert_int_equal(fork_ev->ppid, k.pid);
	assert_int_equal(fork_ev->app, APP);
	assert_int_equal(fork_ev->cgroup_id, env->cg_id);
	assert_true(fork_ev->ts_ns >= before && fork_ev->ts_ns <= now_ns());
	/* the process: its start_boottime (what /proc/PID/stat has in clock
	 * ticks) and the pidfs inode of its pid; the app's handle gen */
	assert_true(fork_ev->start_time_ns > 0 && fork_ev->start_time_ns <= boot_ns());
	assert_true(fork_ev->start_time_ns >= join->start_time_ns);
	assert_int_equal(fork_ev->start_time_ns / (1000000000ull / (__u64)sysconf(_SC_CLK_TCK)),
			 proc_start_ticks(r.pid[0]));
	assert_int_equal(join->start_time_ns / (1000000000ull / (__u64)sysconf(_SC_CLK_TCK)),
			 proc_start_ticks(k.pid));
	assert_true(fork_ev->pid_ino != 0);
	assert_int_equal(fork_ev->pid_ino, pid_ino(r.pid[0]));
	assert_int_equal(join->pid_ino, pid_ino(k.pid));
	assert_int_equal(fork_ev->app_gen, 1);
	assert_int_equal(join->app_gen, 1);
	assert_int_equal(count_type(env, XSL_EV_FORK), 1);
	assert_int_equal(count_type(env, XSL_EV_JOIN), 1);
}

static void *thread_noop(void *arg)
{
	*(pid_t *)arg = gettid();
	return NULL;
}

static void kid_make_thread(struct report *r)
{
	pthread_t t;

	if (pthread_create(&t, NULL, thread_noop, &r->pid[0]) || pthread_join(t, NULL))
		r->err = -EAGAIN;
}

static void test_thread_creation_emits_nothing(void **state)
{
	struct env *env = *state;
	struct report r;
	struct kid k;

	kid_start(env, &k, env->cg, kid_make_thread, &r);
	drain(env);
	assert_true(r.pid[0] > 0 && r.pid[0] != k.pid);
	assert_int_equal(count(env, XSL_EV_JOIN, k.pid), 1);
	/* the thread was born and died: neither is a process event */
	assert_int_equal(count_type(env, XSL_EV_FORK), 0);
	assert_int_equal(count_type(env, XSL_EV_EXIT), 0);
}

static void test_fork_outside_app_cgroup_emits_nothing(void **state)
{
	struct env *env = *state;
	char other[PATH_MAX];
	struct report r;
	struct kid k;

	env_mkcgroup(env, env->cg2, other, sizeof(other));
	kid_start(env, &k, other, kid_fork_sleeper, &r);
	drain(env);
	assert_true(r.pid[0] > 0);
	assert_int_equal(env->n_ev, 0);

	/* and a process that stays where the test runs */
	kid_start(env, &k, NULL, kid_fork_sleeper, &r);
	kill(r.pid[0], SIGKILL);
	kid_stop(&k);
	drain(env);
	assert_int_equal(env->n_ev, 0);
}

static void test_fork_in_nested_cgroup_emits_fork(void **state)
{
	struct env *env = *state;
	const struct xsl_event *e;
	char sub[PATH_MAX], subsub[PATH_MAX];
	struct report r;
	struct kid k;

	env_mkcgroup(env, env->cg, sub, sizeof(sub));
	env_mkcgroup(env, sub, subsub, sizeof(subsub));
	kid_start(env, &k, subsub, kid_fork_sleeper, &r);
	drain(env);

	e = find(env, XSL_EV_JOIN, k.pid);
	assert_non_null(e);
	assert_int_equal(e->app, APP);
	assert_int_equal(e->cgroup_id, env->cg_id);
	e = find(env, XSL_EV_FORK, r.pid[0]);
	assert_non_null(e);
	assert_int_equal(e->ppid, k.pid);
	assert_int_equal(e->app, APP);
	assert_int_equal(e->cgroup_id, env->cg_id);
}

/* The nearest app cgroup wins when app cgroups are nested. */
static void test_nested_app_cgroup_wins(void **state)
{
	struct env *env = *state;
	const struct xsl_event *e;
	char sub[PATH_MAX], subsub[PATH_MAX];
	struct report r;
	struct kid k;

	env_mkcgroup(env, env->cg, sub, sizeof(sub));
	env_mkcgroup(env, sub, subsub, sizeof(subsub));
	assert_int_equal(app_put(env, dir_ino(sub), OTHER_APP), 0);
	kid_start(env, &k, subsub, kid_fork_sleeper, &r);
	drain(env);
	e = find(env, XSL_EV_FORK, r.pid[0]);
	assert_non_null(e);
	assert_int_equal(e->app, OTHER_APP);
	assert_int_equal(e->cgroup_id, dir_ino(sub));
}

/* One child exits normally, one is killed; both are reaped before the report. */
static void kid_two_exits(struct report *r)
{
	pid_t a, b;

	a = fork();
	if (a == 0)
		_exit(3);
	b = fork();
	if (b == 0) {
		for (;;)
			pause();
	}
	if (a < 0 || b < 0 || kill(b, SIGKILL) || waitpid(a, NULL, 0) != a ||
	    waitpid(b, NULL, 0) != b) {
		r->err = -ECHILD;
		return;
	}
	r->pid[0] = a;
	r->pid[1] = b;
}

static void test_exit_emits_exit(void **state)
{
	struct env *env = *state;
	const struct xsl_event *e;
	struct report r;
	struct kid k;
	int i;

	kid_start(env, &k, env->cg, kid_two_exits, &r);
	drain(env);
	for (i = 0; i < 2; i++) {
		assert_int_equal(count(env, XSL_EV_EXIT, r.pid[i]), 1);
		e = find(env, XSL_EV_EXIT, r.pid[i]);
		assert_int_equal(e->app, APP);
		assert_int_equal(e->cgroup_id, env->cg_id);
		assert_int_equal(e->ppid, k.pid);
		assert_int_equal(e->start_time_ns, find(env, XSL_EV_FORK, r.pid[i])->start_time_ns);
	}
	assert_int_equal(count(env, XSL_EV_EXIT, k.pid), 0);
	kid_stop(&k);
	drain(env);
	assert_int_equal(count(env, XSL_EV_EXIT, k.pid), 1);
}

/* Inside a process of kid_threaded_exits: its threads say they run. */
static int ready_pipe[2];

static void *thread_sleep(void *arg)
{
	(void)arg;
	if (write(ready_pipe[1], "x", 1) != 1)
		return NULL;
	usleep(50000);
	return NULL;
}

static void *thread_wait(void *arg)
{
	(void)arg;
	if (write(ready_pipe[1], "x", 1) != 1)
		return NULL;
	for (;;)
		pause();
	return NULL;
}

#define N_THREADS	6
#define N_KILLED	10

/* Starts N_THREADS threads running fn and waits until all run. */
static int start_threads(void *(*fn)(void *))
{
	pthread_t t;
	char c;
	int i;

	if (pipe(ready_pipe))
		return -1;
	for (i = 0; i < N_THREADS; i++)
		if (pthread_create(&t, NULL, fn, NULL))
			return -1;
	for (i = 0; i < N_THREADS; i++)
		if (read(ready_pipe[0], &c, 1) != 1)
			return -1;
	return 0;
}

/*
 * Process 0's leader exits first (pthread_exit), its threads later;
 * processes 1.. are SIGKILLed with all threads running, so the threads die
 * at once on several CPUs.
 */
static void kid_threaded_exits(struct report *r)
{
	pid_t pids[1 + N_KILLED];
	int sync[2], i;
	char c;

	for (i = 0; i <= N_KILLED; i++) {
		if (pipe(sync))
			goto fail;
		pids[i] = fork();
		if (pids[i] < 0)
			goto fail;
		if (pids[i] == 0) {
			close(sync[0]);
			if (start_threads(i == 0 ? thread_sleep : thread_wait))
				_exit(1);
			if (i == 0)
				pthread_exit(NULL);
			if (write(sync[1], "r", 1) != 1)
				_exit(1);
			for (;;)
				pause();
		}
		close(sync[1]);
		if (i > 0 && (read(sync[0], &c, 1) != 1 || kill(pids[i], SIGKILL)))
			goto fail;
		close(sync[0]);
		if (waitpid(pids[i], NULL, 0) != pids[i])
			goto fail;
	}
	r->pid[0] = pids[0];
	r->pid[1] = pids[1];
	r->pid[2] = pids[N_KILLED];
	return;
fail:
	r->err = errno ? -errno : -EIO;
}

static void test_multithreaded_exit_emits_one_exit(void **state)
{
	struct env *env = *state;
	struct report r;
	struct kid k;
	int i;

	kid_start(env, &k, env->cg, kid_threaded_exits, &r);
	drain(env);
	for (i = 0; i < 3; i++)
		assert_int_equal(count(env, XSL_EV_EXIT, r.pid[i]), 1);
	assert_int_equal(count_type(env, XSL_EV_FORK), 1 + N_KILLED);
	assert_int_equal(count_type(env, XSL_EV_EXIT), 1 + N_KILLED);
}

static void test_join_v1_cgroup_emits_nothing(void **state)
{
	struct env *env = *state;
	char mounts[65536], v1[PATH_MAX], dir[PATH_MAX];
	struct report r;
	struct kid k;
	ssize_t n;
	int fd;

	fd = open("/proc/mounts", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, mounts, sizeof(mounts) - 1);
	close(fd);
	assert_true(n > 0);
	mounts[n] = '\0';
	if (mounts__find(mounts, "cgroup", NULL, v1, sizeof(v1))) {
		fprintf(stderr, "no cgroup v1 hierarchy mounted\n");
		skip();
	}
	/* a v1 cgroup whose kernfs id is (wrongly) registered as an app */
	env_mkcgroup(env, v1, dir, sizeof(dir));
	assert_int_equal(app_put(env, dir_ino(dir), OTHER_APP), 0);
	kid_start(env, &k, dir, kid_nothing, &r);
	drain(env);
	assert_int_equal(env->n_ev, 0);
}

static int sys_clone3(struct clone_args *args)
{
	return (int)syscall(SYS_clone3, args, sizeof(*args));
}

/* A process started straight into the app cgroup by one outside it. */
static void test_clone_into_cgroup_emits_fork(void **state)
{
	struct env *env = *state;
	struct clone_args args = {
		.flags = CLONE_INTO_CGROUP,
		.exit_signal = SIGCHLD,
		.cgroup = (__u64)env->cg_fd,
	};
	const struct xsl_event *e;
	pid_t pid;

	pid = sys_clone3(&args);
	assert_true(pid >= 0);
	if (pid == 0)
		syscall(SYS_exit_group, 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	drain(env);
	e = find(env, XSL_EV_FORK, pid);
	assert_non_null(e);
	assert_int_equal(e->ppid, getpid());
	assert_int_equal(e->app, APP);
	assert_int_equal(count(env, XSL_EV_EXIT, pid), 1);
	assert_int_equal(count_type(env, XSL_EV_JOIN), 0);
}

/* ---- socket events ---- */

static int sock_cookie(int fd, __u64 *cookie)
{
	socklen_t len = sizeof(*cookie);

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len) ? -errno : 0;
}

static int sock_port(int fd, __u16 *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -errno;
	*port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
						((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* A socket bound to addr:port (port 0: the kernel picks); fd or -errno. */
static int bound_socket_port(int family, int type, const char *addr, __u16 port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd;

	fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		inet_pton(AF_INET, addr, &s4->sin_addr);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		len = sizeof(*s6);
	}
	if (bind(fd, (struct sockaddr *)&ss, len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/*
 * A socket bound to addr; fd or -errno. TCP: port 0, the kernel picks. UDP
 * is announced only when bound to a port the app chose, so a UDP socket
 * gets an explicit port: a free one, found with a port-0 probe (which the
 * hooks ignore).
 */
static int bound_socket(int family, int type, const char *addr)
{
	__u16 port;
	int fd, err;

	if (type != SOCK_DGRAM)
		return bound_socket_port(family, type, addr, 0);
	fd = bound_socket_port(family, type, addr, 0);
	if (fd < 0)
		return fd;
	err = sock_port(fd, &port);
	close(fd);
	return err ? err : bound_socket_port(family, type, addr, port);
}

/* Fills slot i of the report with fd's cookie and port. */
static int report_sock(struct report *r, int i, int fd)
{
	if (fd < 0)
		return r->err = fd;
	r->err = sock_cookie(fd, &r->cookie[i]);
	if (!r->err)
		r->err = sock_port(fd, &r->port[i]);
	return r->err;
}

static void assert_key(const struct xsl_event *e, int family, __u8 proto, const char *addr,
		       __u16 port)
{
	__u32 want[4] = { 0 };

	if (addr)
		assert_int_equal(inet_pton(family, addr, want), 1);
	assert_int_equal(e->listener.family, family);
	assert_int_equal(e->listener.proto, proto);
	assert_int_equal(ntohs(e->listener.port), port);
	assert_memory_equal(e->listener.addr, want, sizeof(want));
}

static void assert_sock_event(struct env *env, const struct xsl_event *e, pid_t pid)
{
	assert_non_null(e);
	assert_int_equal(e->pid, pid);
	assert_int_equal(e->app, APP);
	assert_int_equal(e->cgroup_id, env->cg_id);
}

static void kid_udp_bind(struct report *r)
{
	report_sock(r, 0, bound_socket(AF_INET, SOCK_DGRAM, "127.0.0.1"));
}

static void test_udp_bind_emits_bind_with_cookie(void **state)
{
	struct env *env = *state;
	const struct xsl_event *e;
	struct report r;
	struct kid k;

	kid_start(env, &k, env->cg, kid_udp_bind, &r);
	drain(env);
	assert_int_equal(count_type(env, XSL_EV_BIND), 1);
	e = find_cookie(env, XSL_EV_BIND, r.cookie[0]);
	assert_sock_event(env, e, k.pid);
	assert_key(e, AF_INET, IPPROTO_UDP, "127.0.0.1", r.port[0]);
	assert_true(r.cookie[0] != 0);
}

/* Socket 0 binds then listens; socket 1 listens unbound (autobind). */
static void kid_tcp_listen(struct report *r)
{
	int fd = bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1");

	if (report_sock(r, 0, fd) || (listen(fd, 8) && (r->err = -errno)))
		return;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || listen(fd, 8)) {
		r->err = -errno;
		return;
	}
	report_sock(r, 1, fd);
}

static void test_tcp_listen_emits_listen(void **state)
{
	struct env *env = *state;
	const struct xsl_event *e;
	struct report r;
	struct kid k;

	kid_start(env, &k, env->cg, kid_tcp_listen, &r);
	drain(env);
	assert_int_equal(count_type(env, XSL_EV_LISTEN), 2);

	e = find_cookie(env, XSL_EV_BIND, r.cookie[0]);
	assert_sock_event(env, e, k.pid);
	assert_key(e, AF_INET, IPPROTO_TCP, "127.0.0.1", r.port[0]);
	e = find_cookie(env, XSL_EV_LISTEN, r.cookie[0]);
	assert_sock_event(env, e, k.pid);
	assert_key(e, AF_INET, IPPROTO_TCP, "127.0.0.1", r.port[0]);

	/* no bind(2): no BIND, but LISTEN on the wildcard and the picked port */
	assert_null(find_cookie(env, XSL_EV_BIND, r.cookie[1]));
	e = find_cookie(env, XSL_EV_LISTEN, r.cookie[1]);
	assert_sock_event(env, e, k.pid);
	assert_key(e, AF_INET, IPPROTO_TCP, NULL, r.port[1]);
}

/*
 * 0: bound UDP, closed. 1: TCP listener, closed. 2: UDP client (connected,
 * never bound explicitly), closed: not a listener, no RELEASE.
 */
static void kid_bind_close(struct report *r)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	int fd;

	fd = bound_socket(AF_INET, SOCK_DGRAM, "127.0.0.1");
	if (report_sock(r, 0, fd))
		return;
	close(fd);
	fd = bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1");
	if (report_sock(r, 1, fd) || (listen(fd, 8) && (r->err = -errno)))
		return;
	close(fd);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to))) {
		r->err = -errno;
		return;
	}
	if (!report_sock(r, 2, fd))
		close(fd);
}

static void test_close_bound_socket_emits_release(void **state)
{
	struct env *env = *state;
	const struct xsl_event *bind_ev, *rel;
	struct report r;
	struct kid k;
	int i;

	kid_start(env, &k, env->cg, kid_bind_close, &r);
	drain(env);
	for (i = 0; i < 2; i++) {
		bind_ev = find_cookie(env, XSL_EV_BIND, r.cookie[i]);
		rel = find_cookie(env, XSL_EV_RELEASE, r.cookie[i]);
		assert_sock_event(env, rel, k.pid);
		assert_true(rel > bind_ev);
		assert_memory_equal(&rel->listener, &bind_ev->listener, sizeof(rel->listener));
	}
	assert_null(find_cookie(env, XSL_EV_RELEASE, r.cookie[2]));
	assert_int_equal(count_type(env, XSL_EV_RELEASE), 2);
}

/* Binds, forks a child that inherits the socket, closes its own copy. */
static void kid_bind_share(struct report *r)
{
	int fd = bound_socket(AF_INET, SOCK_DGRAM, "127.0.0.1");
	pid_t pid;

	if (report_sock(r, 0, fd))
		return;
	pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	close(fd);
	r->pid[0] = pid;
	if (pid < 0)
		r->err = -errno;
}

/* Kills a process that is not our child and waits until it has exited. */
static void kill_and_wait(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p;

	assert_true(fd >= 0);
	assert_int_equal(kill(pid, SIGKILL), 0);
	p.fd = fd;
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, REPORT_MS), 1);
	close(fd);
}

/* The release is reported when the last holder lets go, naming that one. */
static void test_release_names_last_holder(void **state)
{
	struct env *env = *state;
	const struct xsl_event *e;
	struct report r;
	struct kid k;

	kid_start(env, &k, env->cg, kid_bind_share, &r);
	drain(env);
	assert_null(find_cookie(env, XSL_EV_RELEASE, r.cookie[0]));
	kill_and_wait(r.pid[0]);
	drain(env);
	e = find_cookie(env, XSL_EV_RELEASE, r.cookie[0]);
	assert_sock_event(env, e, r.pid[0]);
	assert_key(e, AF_INET, IPPROTO_UDP, "127.0.0.1", r.port[0]);
}

static void kid_v6_bind(struct report *r)
{
	if (report_sock(r, 0, bound_socket(AF_INET6, SOCK_DGRAM, "::1")))
		return;
	report_sock(r, 1, bound_socket(AF_INET6, SOCK_STREAM, "::"));
}

static void test_v6_bind_emits_bind(void **state)
{
	struct env *env = *state;
	const struct xsl_event *e;
	struct report r;
	struct kid k;

	kid_start(env, &k, env->cg, kid_v6_bind, &r);
	drain(env);
	e = find_cookie(env, XSL_EV_BIND, r.cookie[0]);
	assert_sock_event(env, e, k.pid);
	assert_key(e, AF_INET6, IPPROTO_UDP, "::1", r.port[0]);
	e = find_cookie(env, XSL_EV_BIND, r.cookie[1]);
	assert_sock_event(env, e, k.pid);
	assert_key(e, AF_INET6, IPPROTO_TCP, "::", r.port[1]);
}

/* The xsl_sk_owner flags of fd, NO_STORAGE when it has none. */
static __u32 sk_flags(int fd)
{
	struct xsl_sock_owner o;

	return bpf_map_lookup_elem(sk_owner_fd, &fd, &o) ? NO_STORAGE : o.flags;
}

/*
 * 3: UDP bound to a port it chose, kept. 2: UDP whose bind to 3's port
 * failed, then bound to port 0, closed. 0: UDP bound to port 0, closed.
 * 1: UDP autobound by sendto, closed.
 */
static void kid_udp_clients(struct report *r)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	int fd;

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = bound_socket(AF_INET, SOCK_DGRAM, "127.0.0.1");
	if (report_sock(r, 3, fd))
		return;
	r->flags[3] = sk_flags(fd);

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	to.sin_port = htons(r->port[3]);
	if (fd < 0 || !bind(fd, (struct sockaddr *)&to, sizeof(to)) || errno != EADDRINUSE) {
		r->err = -EINVAL;
		return;
	}
	to.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&to, sizeof(to))) {
		r->err = -errno;
		return;
	}
	if (report_sock(r, 2, fd))
		return;
	r->flags[2] = sk_flags(fd);
	close(fd);

	fd = bound_socket_port(AF_INET, SOCK_DGRAM, "127.0.0.1", 0);
	if (report_sock(r, 0, fd))
		return;
	r->flags[0] = sk_flags(fd);
	close(fd);

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	to.sin_port = htons(9);
	if (fd < 0 || sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) != 1) {
		r->err = -errno;
		return;
	}
	if (report_sock(r, 1, fd))
		return;
	r->flags[1] = sk_flags(fd);
	close(fd);
}

/* Only a UDP socket bound to a port the app chose is announced, and marked. */
static void test_udp_client_sockets_emit_nothing(void **state)
{
	struct env *env = *state;
	const struct xsl_event *e;
	struct report r;
	struct kid k;

	kid_start(env, &k, env->cg, kid_udp_clients, &r);
	drain(env);
	assert_int_equal(count_type(env, XSL_EV_BIND), 1);
	e = find_cookie(env, XSL_EV_BIND, r.cookie[3]);
	assert_sock_event(env, e, k.pid);
	assert_key(e, AF_INET, IPPROTO_UDP, "127.0.0.1", r.port[3]);
	assert_int_equal(count_type(env, XSL_EV_RELEASE), 0);
	assert_int_equal(r.flags[3], XSL_SK_F_BIND_PORT);
	/* asked for a port, got none, then bound to port 0: never announced */
	assert_int_equal(r.flags[2], XSL_SK_F_QUIET);
	assert_int_equal(r.flags[0], NO_STORAGE);
	assert_int_equal(r.flags[1], NO_STORAGE);
}

/* A UDP socket bound to a chosen port, then connected, then closed. */
static void kid_udp_bind_then_connect(struct report *r)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	int fd = bound_socket(AF_INET, SOCK_DGRAM, "127.0.0.1");

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (report_sock(r, 0, fd))
		return;
	if (connect(fd, (struct sockaddr *)&to, sizeof(to))) {
		r->err = -errno;
		return;
	}
	r->flags[0] = sk_flags(fd);
	close(fd);
}

/* Connecting makes an announced UDP socket a client's: released once, at the
 * connect, not again at its close. */
static void test_udp_connect_after_bind_releases_it(void **state)
{
	struct env *env = *state;
	const struct xsl_event *e;
	struct report r;
	struct kid k;

	kid_start(env, &k, env->cg, kid_udp_bind_then_connect, &r);
	drain(env);
	assert_int_equal(count_type(env, XSL_EV_BIND), 1);
	assert_int_equal(count_type(env, XSL_EV_RELEASE), 1);
	e = find_cookie(env, XSL_EV_RELEASE, r.cookie[0]);
	assert_sock_event(env, e, k.pid);
	assert_key(e, AF_INET, IPPROTO_UDP, "127.0.0.1", r.port[0]);
	assert_int_equal(r.flags[0], XSL_SK_F_BIND_PORT | XSL_SK_F_QUIET);
}

#define N_BINDS 200

/* Binds N_BINDS UDP sockets and keeps them open. */
static void kid_many_binds(struct report *r)
{
	int i, fd;

	for (i = 0; i < N_BINDS; i++) {
		fd = bound_socket(AF_INET, SOCK_DGRAM, "127.0.0.1");
		if (fd < 0) {
			r->err = fd;
			return;
		}
	}
}

static void test_ringbuf_full_counts_lost(void **state)
{
	struct env *env = *state;
	__u64 lost;
	struct report r;
	struct kid k;

	assert_int_equal(bpf_map__max_entries(env->skel->maps.xsl_events), 4096);
	kid_start(env, &k, env->cg, kid_many_binds, &r);
	drain(env);
	lost = events_lost(env);
	/* generated: the kid's JOIN and one BIND per socket */
	assert_true(lost > 0);
	assert_true(env->n_ev > 0);
	assert_int_equal(env->n_ev + lost, 1 + N_BINDS);
	assert_int_equal(env->n_ev, count_type(env, XSL_EV_JOIN) + count_type(env, XSL_EV_BIND));
}

/* ---- user/hooks.c: pinned links ---- */

static int pinned_fd(const char *root, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, name);
	return bpf_obj_get(path);
}

static int pin_exists(const char *root, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, name);
	return access(path, F_OK) == 0;
}

/* Starts a kid that binds a UDP socket in the app cgroup; its pid. */
static pid_t bind_once(struct env *env, struct kid *k)
{
	struct report r;

	kid_start(env, k, env->cg, kid_udp_bind, &r);
	return k->pid;
}

static void test_pinned_links_survive_restart(void **state)
{
	struct env *env = *state;
	char *root = env->bpffs, cg_pin[64];
	struct xsl_app_ref ref = { .app = APP, .gen = 1 };
	struct xsl_hooks *h;
	struct kid k;
	pid_t pid;
	int fd;

	strcpy(root, "/tmp/xsl-test-bpffs-XXXXXX");
	assert_non_null(mkdtemp(root));
	if (mount("bpf", root, "bpf", 0, "mode=0700")) {
		rmdir(root);
		root[0] = '\0';
		fail_msg("mount bpffs: %s", strerror(errno));
	}
	snprintf(cg_pin, sizeof(cg_pin), "xsl_cg_%llu_sockops", (unsigned long long)env->cg_id);

	/* first agent: load, attach, go away */
	assert_int_equal(hooks__load(&h, root), 0);
	assert_int_equal(hooks__attach_tracepoints(h, root), 0);
	assert_int_equal(hooks__attach_cgroup(h, env->cg_fd, env->cg_id, root), 0);
	hooks__destroy(h);
	assert_true(pin_exists(root, XSL_LINK_FORK) && pin_exists(root, XSL_LINK_JOIN));
	assert_true(pin_exists(root, XSL_LINK_EXIT) && pin_exists(root, cg_pin));
	fd = pinned_fd(root, XSL_MAP_APP_CGROUPS);
	assert_true(fd >= 0);
	assert_int_equal(bpf_map_update_elem(fd, &env->cg_id, &ref, BPF_ANY), 0);
	close(fd);
	fd = pinned_fd(root, XSL_MAP_EVENTS);
	assert_true(fd >= 0);
	env->rb = ring_buffer__new(fd, on_event, env, NULL);
	close(fd);
	assert_non_null(env->rb);

	/* nobody loaded: the pinned links still report */
	pid = bind_once(env, &k);
	drain(env);
	assert_int_equal(count(env, XSL_EV_JOIN, pid), 1);
	assert_int_equal(count(env, XSL_EV_BIND, pid), 1);

	/* second agent: replaces the programs, attaches nothing twice */
	assert_int_equal(hooks__load(&h, root), 0);
	assert_int_equal(hooks__attach_tracepoints(h, root), 0);
	assert_int_equal(hooks__attach_cgroup(h, env->cg_fd, env->cg_id, root), 0);
	assert_int_equal(hooks__attach_cgroup(h, env->cg_fd, env->cg_id, root), 0);
	hooks__destroy(h);
	assert_false(pin_exists(root, XSL_LINK_FORK "_new"));
	pid = bind_once(env, &k);
	drain(env);
	assert_int_equal(count(env, XSL_EV_JOIN, pid), 1);
	assert_int_equal(count(env, XSL_EV_BIND, pid), 1);

	/* detaching the cgroup stops socket events, not process ones */
	assert_int_equal(hooks__detach_cgroup(env->cg_id, root), 0);
	assert_false(pin_exists(root, cg_pin));
	pid = bind_once(env, &k);
	drain(env);
	assert_int_equal(count(env, XSL_EV_JOIN, pid), 1);
	assert_int_equal(count(env, XSL_EV_BIND, pid), 0);

	assert_int_equal(hooks__detach_tracepoints(root), 0);
	assert_int_equal(hooks__detach_cgroup(env->cg_id, root), 0);
	/* A tracing link is freed from a workqueue once its last reference
	 * (the pin) is gone: the tracepoints stop a moment after the unpin,
	 * at once when the machine is idle, later under load. */
	for (int i = 0; i < 100; i++) {
		env->n_ev = 0;
		pid = bind_once(env, &k);
		drain(env);
		if (!count(env, XSL_EV_JOIN, pid))
			break;
		usleep(20000);
	}
	assert_int_equal(count(env, XSL_EV_JOIN, pid), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_fork_in_app_cgroup_emits_fork),
		T(test_thread_creation_emits_nothing),
		T(test_fork_outside_app_cgroup_emits_nothing),
		T(test_fork_in_nested_cgroup_emits_fork),
		T(test_nested_app_cgroup_wins),
		T(test_exit_emits_exit),
		T(test_multithreaded_exit_emits_one_exit),
		T(test_join_v1_cgroup_emits_nothing),
		T(test_clone_into_cgroup_emits_fork),
		T(test_udp_bind_emits_bind_with_cookie),
		T(test_tcp_listen_emits_listen),
		T(test_close_bound_socket_emits_release),
		T(test_release_names_last_holder),
		T(test_v6_bind_emits_bind),
		T(test_udp_client_sockets_emit_nothing),
		T(test_udp_connect_after_bind_releases_it),
		cmocka_unit_test_setup_teardown(test_ringbuf_full_counts_lost, setup_small_ringbuf,
						teardown),
		cmocka_unit_test_setup_teardown(test_pinned_links_survive_restart, setup_no_bpf,
						teardown),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
