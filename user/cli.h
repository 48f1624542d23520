/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xslctl's testable parts, with no sockets and no processes (ctl_main.c
 * does the I/O):
 *
 * - cli_parse(): command line -> one request object of docs/protocol.md,
 *   validated before anything is sent (names, ports, addresses, enums);
 * - cli_reply_parse(): one reply line -> data object or agent error;
 * - cli_print_*(): reply data -> aligned tables in the style of VPP's
 *   "show app" / "show session";
 * - cli_exit_status(): how `xslctl run` turns CMD's wait status into its
 *   own exit status, like a shell.
 *
 * Functions return 0 or a negative errno.
 */
#ifndef XSL_CLI_H
#define XSL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <jansson.h>
#include "defaults.h"

#define CLI_DEFAULT_SOCKET	XSL_SOCKET_DEFAULT
#define CLI_SOCKET_ENV		"XSL_SOCKET"
#define CLI_REPLY_MAX		(16u << 20)	/* longest reply line we accept */
#define CLI_TIMEOUT_MS		10000		/* per reply */
#define CLI_EXIT_USAGE		2

struct cli_arg;

/* One command: its words, its protocol request and how to show the reply. */
struct cli_cmd {
	const char *words;		/* "show sessions" */
	const char *req;		/* protocol cmd: "show.sessions" */
	const struct cli_arg *args;	/* positionals and options, in usage order */
	const char *help;		/* what it does, for COMMAND --help */
	/* Human output of the reply's data; NULL prints nothing. -EBADMSG
	 * when the data does not have the documented shape. */
	int (*print)(FILE *f, json_t *data);
	bool run;			/* `run`: fork, join, exec (ctl_main.c) */
	bool top;			/* `top`: a live view (ctl_top.c); req is not sent */
};

extern const struct cli_cmd cli_cmds[];

/* A parsed command line. */
struct cli_opts {
	const char *socket;		/* --socket PATH; NULL when not given */
	bool json;			/* --json */
	bool help;			/* -h/--help: cli_usage(stdout, scope, true) */
	char scope[32];			/* usage to show: "", "show" or "show apps" */
	const struct cli_cmd *cmd;	/* the command; NULL with help/errors above it */
	json_t *req;			/* the request to send (run: its app.attach) */
	char **run_argv;		/* run: CMD [ARGS...], the tail of argv */
	char object[256];		/* the operands as typed, for error messages */
	char err[256];			/* what was wrong, when cli_parse() fails */
};

/*
 * Parses argv (argv[0] is the program). 0: o->help is set, or o->cmd and
 * o->req are ready. -EINVAL: bad usage, o->err says why ("show sessions:
 * bad --limit '0': expected an integer 1..1000000") and o->scope names the usage to
 * print. -ENOMEM. Always release with cli_opts_free().
 */
int cli_parse(int argc, char **argv, struct cli_opts *o);
void cli_opts_free(struct cli_opts *o);
/* Usage of every command under scope ("" is the whole program); verbose
 * adds each command's description (the --help text). */
void cli_usage(FILE *f, const char *scope, bool verbose);

/*
 * "ADDR:PORT", "[ADDR6]:PORT", "*:PORT" (= 0.0.0.0). Writes the address in
 * canonical inet_ntop() form into addr (INET6_ADDRSTRLEN bytes is enough)
 * and the port (1..65535). -EINVAL with *why saying what is wrong.
 */
int cli_parse_addrport(const char *s, char *addr, size_t len, unsigned int *port,
		       const char **why);
/* App names: 1..31 of [A-Za-z0-9_.-], not starting with '.' or '-'. */
bool cli_valid_name(const char *name);

/* One reply line, parsed. */
struct cli_reply {
	json_t *data;			/* ok: the data object (never NULL), owned */
	int err;			/* 0, or the agent's errno (positive) */
	char msg[512];			/* the agent's error text */
};

/* 0: r is filled (check r->err); -EBADMSG: not a reply of the protocol. */
int cli_reply_parse(const char *line, size_t len, struct cli_reply *r);
void cli_reply_free(struct cli_reply *r);
/* "app attach web: name already in use (EEXIST)" */
void cli_format_error(char *buf, size_t len, const struct cli_opts *o,
		      const struct cli_reply *r);

int cli_print_json(FILE *f, json_t *data);
int cli_print_apps(FILE *f, json_t *data);
int cli_print_app(FILE *f, json_t *data);
int cli_print_workers(FILE *f, json_t *data);
int cli_print_instances(FILE *f, json_t *data);
int cli_print_listeners(FILE *f, json_t *data);
int cli_print_sessions(FILE *f, json_t *data);
int cli_print_stats(FILE *f, json_t *data);
int cli_print_attached(FILE *f, json_t *data);
int cli_print_listener(FILE *f, json_t *data);

/* Exit status of `xslctl run` for CMD's waitpid() status: its exit code,
 * or 128 + signal when a signal killed it. */
int cli_exit_status(int wstatus);
/* Exit status of the child when execvp() fails with err: 127 when CMD is
 * not found, 126 otherwise (as shells do). */
int cli_exec_status(int err);

#endif /* XSL_CLI_H */
