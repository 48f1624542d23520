// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target for the control protocol: each input is the bytes a
 * client sends on the control socket, delivered through a socketpair to the
 * agent's own client code (agent_ctl.c: buffering, line framing, the 64 KiB
 * limit, JSON parsing) and on to cmds__dispatch() against a real registry
 * and mirror. The maps are absent (fd -1: every bpf call fails with EBADF,
 * which must be handled), the kernel hooks and XDP loader are fakes
 * (fake_edges.c), and the cgroup v2 mount is a plain directory on a tmpfs,
 * so app.attach makes directories and never touches a real cgroup.
 *
 * Input: byte 0 chooses the client (bit 0: uid 65534 instead of root) and
 * how the rest is split into writes (bits 1-3); the rest is the stream.
 *
 * Oracles: ASan/UBSan/LSan; every reply is one JSON object with a boolean
 * "ok"; after the client is gone and every app detached, no file
 * descriptor is left open and the registry is empty.
 *
 * Run it through tests/fuzz/run.sh: it gives the fuzzer a private mount,
 * network and pid namespace (pids 1-3 are the fuzzer and two idle children,
 * to join apps) and XSL_FUZZ_ROOT, a tmpfs for the fake cgroups.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <jansson.h>
#include "agent.h"

void fake_edges__reset(void);

static struct agent a;
static char root[256], cg2[PATH_MAX], cgroot[PATH_MAX], pins[PATH_MAX], sock[PATH_MAX];
static int epfd = -1;

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		abort();
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own */
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	if (ftw->level > 0)
		remove(path);
	return 0;
}

/* Empties dir (keeps dir itself). */
static void rm_below(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void mkdir_or_die(const char *path)
{
	if (mkdir(path, 0755) && errno != EEXIST) {
		fprintf(stderr, "fuzz_ctl: mkdir %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f)) {
		fprintf(stderr, "fuzz_ctl: write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *r = getenv("XSL_FUZZ_ROOT");

	(void)argc;
	(void)argv;
	if (!r || !*r || strlen(r) > 200) {
		fprintf(stderr, "fuzz_ctl: run it through tests/fuzz/run.sh (XSL_FUZZ_ROOT unset)\n");
		exit(1);
	}
	snprintf(root, sizeof(root), "%s", r);
	snprintf(cg2, sizeof(cg2), "%s/cg", root);
	snprintf(cgroot, sizeof(cgroot), "%s/cg/xsl", root);
	snprintf(pins, sizeof(pins), "%s/pins", root);
	snprintf(sock, sizeof(sock), "%s/xsl.sock", root);
	mkdir_or_die(cg2);
	mkdir_or_die(pins);
	signal(SIGPIPE, SIG_IGN);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		abort();
	/* two idle processes to join apps with (pids 2 and 3 in run.sh's
	 * pid namespace); they die with the namespace's init, the fuzzer */
	for (int i = 0; i < 2; i++) {
		pid_t p = fork();

		if (p == 0) {
			for (;;)
				pause();
		}
	}
	return 0;
}

/* Cgroups a request may adopt: "<root>/cg/adopt" holds the fuzzer and its
 * two children, "<root>/cg/empty" nobody. */
static void make_world(void)
{
	char path[PATH_MAX + 32], procs[64];

	rm_below(cg2);
	mkdir_or_die(cgroot);
	snprintf(path, sizeof(path), "%s/adopt", cg2);
	mkdir_or_die(path);
	snprintf(procs, sizeof(procs), "%d\n2\n3\n", getpid());
	snprintf(path, sizeof(path), "%s/adopt/cgroup.procs", cg2);
	write_file(path, procs);
	snprintf(path, sizeof(path), "%s/empty", cg2);
	mkdir_or_die(path);
	snprintf(path, sizeof(path), "%s/empty/cgroup.procs", cg2);
	write_file(path, "");
}

static void agent_up(uint32_t uid, int fd)
{
	memset(&a, 0, sizeof(a));
	a.o = (struct agent_opts){ .pin_root = pins, .socket_path = sock, .metrics = "none",
				   .cgroup_root = cgroot, .reconcile_ms = 1000, .gc_ms = 1000 };
	a.epfd = epfd;
	a.sigfd = a.timerfd = a.ctl_fd = -1;
	xsl_maps__init(&a.maps);
	for (uint32_t i = 0; i < XSL_MAX_APPS; i++)
		a.apps[i].cgroup_fd = -1;
	for (uint32_t i = 0; i < AGENT_MAX_CLIENTS; i++)
		a.clients[i] = (struct agent_client){ .fd = -1, .pidfd = -1 };
	snprintf(a.cgroup2, sizeof(a.cgroup2), "%s", cg2);
	snprintf(a.cgroup_root, sizeof(a.cgroup_root), "%s", cgroot);
	/* as the agent's main() */
	a.reg = registry__new();
	if (!a.reg)
		abort();
	procs__init(&a);
	apps__init(&a);
	if (gc__init(&a) || socks__init(&a))
		abort();
	mirror__install(&a.mirror, a.reg, &a.maps);
	/* as ctl__accept() would, with the uid chosen by the input */
	a.clients[0] = (struct agent_client){ .fd = fd, .pid = (uint32_t)getpid(), .uid = uid,
					      .pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0),
					      .events = EPOLLIN | EPOLLRDHUP };
	if (a.clients[0].pidfd < 0 || agent__epoll_add(&a, fd, TAG_CLIENT, 0))
		abort();
}

/* As the agent's own shutdown: apps freed, processes and clients let go. */
static void agent_down(void)
{
	for (uint32_t app = 0; app < XSL_MAX_APPS; app++)
		if (registry__app(a.reg, app))
			apps__detach(&a, app);
	for (uint32_t app = 0; app < XSL_MAX_APPS; app++)
		if (registry__app(a.reg, app)) {
			fprintf(stderr, "fuzz_ctl: app %u still there after its detach\n", app);
			abort();
		}
	rmdirs__retry(&a);
	/* as the agent's cleanup() */
	ctl__close(&a);
	procs__close_all(&a);
	for (uint32_t i = 0; i < XSL_MAX_APPS; i++)
		if (a.apps[i].cgroup_fd >= 0)
			close(a.apps[i].cgroup_fd);
	gc__free(&a);
	socks__free(&a);
	registry__free(a.reg);
	a.reg = NULL;
}

/* Reads the replies the agent sent; each must be a JSON object with "ok". */
static void drain(int peer, char *buf, size_t cap, size_t *len)
{
	for (;;) {
		ssize_t n;
		char *nl;

		if (*len == cap) {
			/* a reply longer than the buffer: only its tail is checked */
			*len = 0;
		}
		n = recv(peer, buf + *len, cap - *len, MSG_DONTWAIT);
		if (n <= 0)
			return;
		*len += (size_t)n;
		while ((nl = memchr(buf, '\n', *len))) {
			size_t line = (size_t)(nl - buf);
			json_error_t jerr;
			json_t *r = json_loadb(buf, line, 0, &jerr);

			if (!r || !json_is_object(r) || !json_is_boolean(json_object_get(r, "ok"))) {
				fprintf(stderr, "fuzz_ctl: bad reply (%s): %.*s\n",
					r ? "no boolean ok" : jerr.text, (int)(line > 300 ? 300 : line), buf);
				abort();
			}
			json_decref(r);
			memmove(buf, nl + 1, *len - line - 1);
			*len -= line + 1;
		}
	}
}

/* One turn of the agent's loop for the client: its socket's events, then
 * the requests it has ready (one per ctl__serve(), as the agent does). */
static void turn(uint32_t events)
{
	ctl__client_io(&a, 0, events);
	for (int i = 0; i < 1000 && ctl__pending(&a); i++)
		ctl__serve(&a);
}

static const size_t chunks[8] = { 1, 3, 7, 64, 512, 4096, 16384, SIZE_MAX };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char reply[1 << 20];
	size_t off = 1, rlen = 0, chunk;
	int sv[2], fds_before;

	if (size < 1)
		return -1;
	chunk = chunks[(data[0] >> 1) & 7];
	fds_before = count_fds();
	make_world();
	fake_edges__reset();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		abort();
	agent_up(data[0] & 1 ? 65534 : 0, sv[0]);

	while (off < size && a.clients[0].fd >= 0) {
		size_t n = size - off < chunk ? size - off : chunk;
		ssize_t w = send(sv[1], data + off, n, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w > 0)
			off += (size_t)w;
		turn(EPOLLIN | EPOLLOUT);
		drain(sv[1], reply, sizeof(reply), &rlen);
	}
	/* the client is done sending: what it asked is answered, then it goes */
	shutdown(sv[1], SHUT_WR);
	for (int i = 0; i < 100000 && a.clients[0].fd >= 0; i++) {
		turn(EPOLLIN | EPOLLRDHUP | EPOLLOUT);
		drain(sv[1], reply, sizeof(reply), &rlen);
	}
	if (a.clients[0].fd >= 0) {
		fprintf(stderr, "fuzz_ctl: the agent kept a client that had sent everything\n");
		abort();
	}
	close(sv[1]);
	agent_down();
	if (count_fds() != fds_before) {
		fprintf(stderr, "fuzz_ctl: %d file descriptors open before, %d after\n", fds_before,
			count_fds());
		abort();
	}
	return 0;
}
