// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xslctl: drives and shows xsl through the agent's control socket
 * (docs/protocol.md). Parsing, validation and output are in cli_*.c; this
 * file does the I/O: one connection, one JSON line out and one back per
 * request (at most CLI_REPLY_MAX bytes, within CLI_TIMEOUT_MS), and the
 * process handling of `run`.
 *
 * Exit status: 0 on success; 1 with one line on stderr when the agent
 * cannot be reached or says no; 2 with the command's usage on bad
 * arguments; for `run`, CMD's status.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "cli.h"
#include "ctl.h"

static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static int conn_open(struct conn *c, const char *path)
{
	int err = conn_connect(c, path);

	if (err)
		fprintf(stderr, "xslctl: connect %s: %s (is xsl-agent running?)\n", path,
			strerror(-err));
	return err;
}

static int call(struct conn *c, const struct cli_opts *o, json_t *req, struct cli_reply *r)
{
	int err = conn_exchange(c, req, r);

	if (err == -EBADMSG || err == -EMSGSIZE)
		fprintf(stderr, "xslctl: bad reply from agent\n");
	else if (err == -ETIMEDOUT)
		fprintf(stderr, "xslctl: %s: no reply from agent within %d s\n", o->scope,
			CLI_TIMEOUT_MS / 1000);
	else if (err == -ECONNRESET)
		fprintf(stderr, "xslctl: %s: agent closed the connection\n", o->scope);
	else if (err)
		fprintf(stderr, "xslctl: %s: %s\n", o->scope, strerror(-err));
	return err;
}

static void print_agent_error(const struct cli_opts *o, const struct cli_reply *r)
{
	char msg[1024];

	cli_format_error(msg, sizeof(msg), o, r);
	fprintf(stderr, "xslctl: %s\n", msg);
}

/* Every command but run: one request, its reply printed. */
static int do_request(struct conn *c, const struct cli_opts *o)
{
	struct cli_reply r;
	int err;

	if (call(c, o, o->req, &r))
		return 1;
	if (r.err) {
		print_agent_error(o, &r);
		return 1;
	}
	err = o->json ? cli_print_json(stdout, r.data)
		      : o->cmd->print ? o->cmd->print(stdout, r.data) : 0;
	cli_reply_free(&r);
	if (err == -EBADMSG)
		fprintf(stderr, "xslctl: bad reply from agent\n");
	else if (err)
		fprintf(stderr, "xslctl: %s: %s\n", o->scope, strerror(-err));
	return err ? 1 : 0;
}

/* Sends app.join for pid; 0, or 1 with the failure printed. */
static int join(struct conn *c, const struct cli_opts *o, pid_t pid)
{
	struct cli_reply r;
	json_t *req;
	int err;

	req = json_pack("{s:s,s:O,s:i}", "cmd", "app.join", "name",
			json_object_get(o->req, "name"), "pid", (int)pid);
	if (!req) {
		fprintf(stderr, "xslctl: %s: %s\n", o->scope, strerror(ENOMEM));
		return 1;
	}
	err = call(c, o, req, &r);
	json_decref(req);
	if (err)
		return 1;
	err = r.err;
	if (err)
		print_agent_error(o, &r);
	cli_reply_free(&r);
	return err ? 1 : 0;
}

/* The child: wait until the parent has joined us into the app, then exec. */
static void run_child(const struct cli_opts *o, int go_fd, const sigset_t *mask)
{
	char go;

	if (read(go_fd, &go, 1) != 1)
		_exit(1);	/* the parent failed: it kills us anyway */
	sigprocmask(SIG_SETMASK, mask, NULL);
	execvp(o->run_argv[0], o->run_argv);
	fprintf(stderr, "xslctl: run %s: exec %s: %s\n", o->object, o->run_argv[0],
		strerror(errno));
	_exit(cli_exec_status(errno));
}

/*
 * run: attach the app (EEXIST is fine), fork a child that blocks on a pipe,
 * join the child (not us: xslctl stays out of the app's cgroup), let it
 * exec CMD, then wait for it, forwarding signals.
 *
 * The forwarded signals and SIGCHLD are blocked from before the fork and
 * taken with sigwaitinfo(), so none is lost between fork and wait. Signals
 * the kernel sent (SI_KERNEL: ^C, ^\, hangup from the terminal) already
 * reached CMD, which shares our process group, and are not sent twice.
 */
static int do_run(struct conn *c, const struct cli_opts *o)
{
	sigset_t set, old;
	struct cli_reply r;
	int go[2], status;
	siginfo_t si;
	pid_t pid;

	if (call(c, o, o->req, &r))
		return 1;
	if (r.err && r.err != EEXIST) {
		print_agent_error(o, &r);
		return 1;
	}
	cli_reply_free(&r);

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
		sigaddset(&set, forwarded_signals[i]);
	sigaddset(&set, SIGCHLD);
	signal(SIGCHLD, SIG_DFL);	/* an inherited SIG_IGN would reap CMD for us */
	sigprocmask(SIG_BLOCK, &set, &old);
	if (pipe2(go, O_CLOEXEC)) {
		fprintf(stderr, "xslctl: run %s: pipe: %s\n", o->object, strerror(errno));
		return 1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "xslctl: run %s: fork: %s\n", o->object, strerror(errno));
		return 1;
	}
	if (!pid) {
		close(go[1]);
		run_child(o, go[0], &old);
	}
	close(go[0]);
	if (join(c, o, pid)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return 1;
	}
	conn_close(c);
	if (write(go[1], "x", 1) != 1) {
		fprintf(stderr, "xslctl: run %s: start %s: %s\n", o->object, o->run_argv[0],
			strerror(errno));
		kill(pid, SIGKILL);
	}
	close(go[1]);

	for (;;) {
		int sig = sigwaitinfo(&set, &si);

		if (sig < 0)
			continue;	/* EINTR from a signal we do not wait for */
		if (sig != SIGCHLD) {
			if (si.si_code != SI_KERNEL)
				kill(pid, sig);
			continue;
		}
		if (waitpid(pid, &status, WNOHANG) == pid)
			return cli_exit_status(status);
	}
}

int main(int argc, char **argv)
{
	const char *socket;
	struct cli_opts o;
	struct conn c;
	int ret;

	ret = cli_parse(argc, argv, &o);
	if (ret == -EINVAL) {
		fprintf(stderr, "xslctl: %s\n", o.err);
		cli_usage(stderr, o.scope, false);
		cli_opts_free(&o);
		return CLI_EXIT_USAGE;
	}
	if (ret) {
		fprintf(stderr, "xslctl: %s\n", strerror(-ret));
		cli_opts_free(&o);
		return 1;
	}
	if (o.help) {
		cli_usage(stdout, o.scope, true);
		cli_opts_free(&o);
		return 0;
	}
	socket = o.socket;
	if (!socket)
		socket = getenv(CLI_SOCKET_ENV);
	if (!socket || !*socket)
		socket = CLI_DEFAULT_SOCKET;
	if (conn_open(&c, socket)) {
		cli_opts_free(&o);
		return 1;
	}
	ret = o.cmd->run ? do_run(&c, &o) : o.cmd->top ? do_top(&c, &o, socket) : do_request(&c, &o);
	conn_close(&c);
	cli_opts_free(&o);
	return ret;
}
