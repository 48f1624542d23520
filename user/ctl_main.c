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
#include <stdint.h>
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
#include "instance.h"

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

/* The keys of run's request that app.join takes (--replace and its options). */
static const char *const replace_keys[] = { "replace", "drain", "stop_signal", "stop_timeout",
					    "ready_timeout" };

/* Sends app.join for pid (with run's --replace options); 0 with *inst the
 * instance it joined and *replacing whether that one replaces another, or 1
 * with the failure printed. */
static int join(struct conn *c, const struct cli_opts *o, pid_t pid, unsigned int *inst,
		bool *replacing)
{
	struct cli_reply r;
	json_t *req;
	int err;

	req = json_pack("{s:s,s:O,s:i}", "cmd", "app.join", "name",
			json_object_get(o->req, "name"), "pid", (int)pid);
	for (size_t i = 0; req && i < sizeof(replace_keys) / sizeof(replace_keys[0]); i++) {
		json_t *v = json_object_get(o->req, replace_keys[i]);

		if (v && json_object_set(req, replace_keys[i], v)) {
			json_decref(req);
			req = NULL;
		}
	}
	if (!req) {
		fprintf(stderr, "xslctl: %s: %s\n", o->scope, strerror(ENOMEM));
		return 1;
	}
	err = call(c, o, req, &r);
	json_decref(req);
	if (err)
		return 1;
	err = r.err;
	if (err) {
		print_agent_error(o, &r);
	} else {
		*inst = (unsigned int)json_integer_value(json_object_get(r.data, "instance"));
		*replacing = json_is_true(json_object_get(r.data, "replacing"));
	}
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

/* run --replace waits for its instance to serve (or be aborted): polled. */
#define RUN_POLL_MS	100
#define RUN_LOST_MS	30000	/* no agent to ask beyond the ready timeout */

enum wait_state { WAIT_PENDING, WAIT_SERVING, WAIT_ABORTED };

struct replace_wait {
	const char *socket;
	unsigned int inst;
	uint64_t give_up_ms;	/* monotonic: stop asking an agent that is away */
	char reason[512];
};

/* Asks the agent how instance w->inst is doing (reconnecting when the
 * agent was restarted): WAIT_PENDING also while it cannot be asked. */
static enum wait_state poll_instance(struct conn *c, const struct cli_opts *o,
				     struct replace_wait *w)
{
	enum wait_state st = WAIT_PENDING;
	struct cli_reply r;
	const char *res;
	json_t *req;

	if (c->fd < 0 && conn_connect(c, w->socket))
		return WAIT_PENDING;
	req = json_pack("{s:s,s:O,s:i}", "cmd", "instance.status", "name",
			json_object_get(o->req, "name"), "instance", (int)w->inst);
	if (!req)
		return WAIT_PENDING;
	if (conn_exchange(c, req, &r)) {
		conn_close(c);
		json_decref(req);
		return WAIT_PENDING;
	}
	json_decref(req);
	res = json_string_value(json_object_get(r.data, "replace"));
	if (r.err) {
		snprintf(w->reason, sizeof(w->reason), "%s", r.msg);
		st = WAIT_ABORTED;
	} else if (res && !strcmp(res, "aborted")) {
		snprintf(w->reason, sizeof(w->reason), "%s",
			 json_string_value(json_object_get(r.data, "reason")) ?: "aborted");
		st = WAIT_ABORTED;
	} else if (res && !strcmp(res, "serving")) {
		st = WAIT_SERVING;
	}
	cli_reply_free(&r);
	return st;
}

/*
 * run: attach the app (EEXIST is fine; held false: an app made here goes
 * with its last worker), fork a child that blocks on a pipe, join the child
 * (not us: xslctl stays out of the app's cgroup) into the app's current
 * instance or, with --replace, a new one, let it exec CMD, then wait for
 * it, forwarding signals. With --replace, until the new instance serves,
 * the agent is asked every RUN_POLL_MS how it goes: aborted (it did not
 * serve in time: the agent killed it) is exit 1 with the agent's reason.
 *
 * The forwarded signals and SIGCHLD are blocked from before the fork and
 * taken with sigwaitinfo(), so none is lost between fork and wait. Signals
 * the kernel sent (SI_KERNEL: ^C, ^\, hangup from the terminal) already
 * reached CMD, which shares our process group, and are not sent twice.
 */
static int do_run(struct conn *c, const struct cli_opts *o, const char *socket)
{
	const struct timespec tick = { .tv_nsec = RUN_POLL_MS * 1000000L };
	struct replace_wait w = { .socket = socket };
	bool waiting = false, aborted = false, cmd_done = false;
	json_t *attach;
	sigset_t set, old;
	struct cli_reply r;
	int go[2], status, err;
	siginfo_t si;
	pid_t pid;

	attach = json_pack("{s:s,s:O,s:b}", "cmd", "app.attach", "name",
			   json_object_get(o->req, "name"), "held", 0);
	if (!attach) {
		fprintf(stderr, "xslctl: %s: %s\n", o->scope, strerror(ENOMEM));
		return 1;
	}
	err = call(c, o, attach, &r);
	json_decref(attach);
	if (err)
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
	if (join(c, o, pid, &w.inst, &waiting)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return 1;
	}
	if (!waiting)
		conn_close(c);
	if (write(go[1], "x", 1) != 1) {
		fprintf(stderr, "xslctl: run %s: start %s: %s\n", o->object, o->run_argv[0],
			strerror(errno));
		kill(pid, SIGKILL);
	}
	close(go[1]);
	w.give_up_ms = mono_ms() + RUN_LOST_MS +
		       1000ull * (json_integer_value(json_object_get(o->req, "ready_timeout")) ?:
				  INST_READY_TIMEOUT_S);

	for (;;) {
		int sig = waiting ? sigtimedwait(&set, &si, &tick) : sigwaitinfo(&set, &si);

		if (sig < 0 && waiting && errno == EAGAIN) {
			enum wait_state st = poll_instance(c, o, &w);

			if (st == WAIT_ABORTED) {
				fprintf(stderr, "xslctl: run %s --replace: %s\n", o->object, w.reason);
				aborted = true;
				kill(pid, SIGKILL);	/* the agent killed its cgroup already */
			} else if (st == WAIT_PENDING && mono_ms() > w.give_up_ms) {
				fprintf(stderr, "xslctl: run %s --replace: no word from the agent on "
					"instance %u: not waiting for it to serve\n", o->object,
					w.inst);
			} else if (st == WAIT_PENDING) {
				continue;
			}
			waiting = false;
			conn_close(c);
			/* CMD ended well before: its instance lived on in its forks */
			if (cmd_done)
				return aborted ? 1 : cli_exit_status(status);
			continue;
		}
		if (sig < 0)
			continue;	/* EINTR from a signal we do not wait for */
		if (sig != SIGCHLD) {
			if (si.si_code != SI_KERNEL && !cmd_done)
				kill(pid, sig);
			continue;
		}
		if (cmd_done || waitpid(pid, &status, WNOHANG) != pid)
			continue;
		/* CMD is gone before its instance served: killed by the agent
		 * (the ready timeout), or by itself */
		if (waiting && poll_instance(c, o, &w) == WAIT_ABORTED) {
			fprintf(stderr, "xslctl: run %s --replace: %s\n", o->object, w.reason);
			return 1;
		}
		/* a CMD that exits 0 at once (it daemonized): its instance may
		 * still serve, in the processes it left */
		if (waiting && WIFEXITED(status) && !WEXITSTATUS(status)) {
			cmd_done = true;
			continue;
		}
		if (waiting) {
			fprintf(stderr, "xslctl: run %s --replace: %s exited before instance %u "
				"served\n", o->object, o->run_argv[0], w.inst);
			return cli_exit_status(status) ?: 1;
		}
		return aborted ? 1 : cli_exit_status(status);
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
	ret = o.cmd->run ? do_run(&c, &o, socket) : o.cmd->top ? do_top(&c, &o, socket) : do_request(&c, &o);
	conn_close(&c);
	cli_opts_free(&o);
	return ret;
}
