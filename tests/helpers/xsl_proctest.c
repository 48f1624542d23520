// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Processes for the process-tracking race tests (tests/e2e/test-races.sh).
 *
 *   xsl_proctest --set-pid PID CMD [ARGS...]
 *       Starts CMD as a new process with exactly pid PID (clone3 with
 *       set_tid: needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN; the pid must
 *       be free), prints PID and exits; CMD runs on, reparented. Recycles a
 *       pid deterministically, with no race against other forks.
 *   xsl_proctest --leader-exit
 *       Prints its pid, starts a thread that runs until SIGTERM, and ends its
 *       main thread with pthread_exit(): the process lives on with a zombie
 *       leader (PF_EXITING, state Z in /proc/PID/stat).
 *   xsl_proctest --held SOCK AGENT_PID CMD [ARGS...]
 *       Holds the agent with control requests queued: connects to the
 *       agent's socket SOCK and waits until a first request is answered (the
 *       connection is accepted), stops AGENT_PID (SIGSTOP), sends the request
 *       lines read from stdin in one write, runs CMD to its end, continues
 *       the agent (SIGCONT) and prints the replies to those requests. Once
 *       continued, the agent finds the requests ready before any kernel event
 *       CMD caused.
 */
#include <errno.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: xsl_proctest --set-pid PID CMD [ARGS...] | --leader-exit |\n"
			"       --held SOCK AGENT_PID CMD [ARGS...]\n");
	return 2;
}

static int set_pid(const char *arg, char **cmd)
{
	struct clone_args ca;
	char *end;
	unsigned long want = strtoul(arg, &end, 10);
	pid_t tid, pid;

	if (*end || !want || want > 0x3fffffff)
		return usage();
	tid = (pid_t)want;
	memset(&ca, 0, sizeof(ca));
	ca.exit_signal = SIGCHLD;
	ca.set_tid = (uint64_t)(uintptr_t)&tid;
	ca.set_tid_size = 1;
	pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0) {
		fprintf(stderr, "xsl_proctest: clone3 with pid %lu: %s\n", want, strerror(errno));
		return 1;
	}
	if (pid == 0) {
		execvp(cmd[0], cmd);
		fprintf(stderr, "xsl_proctest: exec %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	printf("%d\n", pid);
	return 0;
}

static void *run_until_term(void *arg)
{
	sigset_t *set = arg;
	int sig;

	sigwait(set, &sig);
	exit(0);
}

static int leader_exit(void)
{
	static sigset_t set;
	pthread_t t;
	int err;

	/* SIGTERM goes to the live thread (the zombie leader takes none) */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	printf("%d\n", getpid());
	fflush(stdout);
	err = pthread_create(&t, NULL, run_until_term, &set);
	if (err) {
		fprintf(stderr, "xsl_proctest: pthread_create: %s\n", strerror(err));
		return 1;
	}
	pthread_exit(NULL);
}

/* Reads n reply lines from fd to stdout; 0 or -1. */
static int replies(int fd, unsigned int n)
{
	char c;

	while (n) {
		if (read(fd, &c, 1) != 1)
			return -1;
		putchar(c);
		n -= c == '\n';
	}
	fflush(stdout);
	return 0;
}

static int held(const char *path, const char *agent, char **cmd)
{
	static char reqs[65536];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const char hello[] = "{\"cmd\":\"show.apps\"}\n";
	pid_t apid = (pid_t)atoi(agent), child;
	unsigned int lines = 0;
	size_t len = 0;
	ssize_t n;
	int fd, st;

	if (apid <= 0 || strlen(path) >= sizeof(sa.sun_path))
		return usage();
	while (len < sizeof(reqs) && (n = read(0, reqs + len, sizeof(reqs) - len)) > 0)
		len += (size_t)n;
	for (size_t i = 0; i < len; i++)
		lines += reqs[i] == '\n';
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "xsl_proctest: connect %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (write(fd, hello, sizeof(hello) - 1) != sizeof(hello) - 1 || replies(fd, 1))
		return 1;
	if (kill(apid, SIGSTOP)) {
		fprintf(stderr, "xsl_proctest: stop %d: %s\n", apid, strerror(errno));
		return 1;
	}
	if (write(fd, reqs, len) != (ssize_t)len) {
		kill(apid, SIGCONT);
		return 1;
	}
	child = fork();
	if (child == 0) {
		execvp(cmd[0], cmd);
		_exit(127);
	}
	if (child > 0)
		waitpid(child, &st, 0);
	kill(apid, SIGCONT);
	return child > 0 && !replies(fd, lines) ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "--held"))
		return held(argv[2], argv[3], argv + 4);
	if (argc >= 4 && !strcmp(argv[1], "--set-pid"))
		return set_pid(argv[2], argv + 3);
	if (argc == 2 && !strcmp(argv[1], "--leader-exit"))
		return leader_exit();
	return usage();
}
