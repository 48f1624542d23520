// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xslctl's command table and argument parser (see cli.h for the contract).
 *
 * Each command declares its positionals and options once (struct cli_arg);
 * the parser, the validation and the usage text are all made from that
 * table, so `COMMAND --help`, usage errors and the request keys of
 * docs/protocol.md cannot drift apart. Options may come before, between or
 * after the positionals; "--" ends them; "--opt=VALUE" works as
 * "--opt VALUE". Global options (--socket, --json) go before the command.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "instance.h"
#include "registry.h"
#include "strnum.h"
#include "xsl/limits.h"

enum arg_type {
	ARG_NAME,	/* app name */
	ARG_DEV,	/* network device name */
	ARG_PATH,	/* non-empty path */
	ARG_UINT,	/* decimal 1..max */
	ARG_ENUM,	/* one of choices */
	ARG_FLAG,	/* option without value: true */
	ARG_ADDRPORT,	/* ADDR:PORT -> "addr" and "port" */
	ARG_CMD,	/* run: CMD [ARGS...], the rest of the line */
	ARG_SIGNAL,	/* a signal name (TERM, SIGQUIT) or number */
};

struct cli_arg {
	const char *opt;		/* "--limit"; NULL for a positional */
	const char *meta;		/* "N", "NAME": usage and messages */
	const char *key;		/* request key */
	enum arg_type type;
	bool optional;			/* a positional that may be left out */
	unsigned long long max;		/* ARG_UINT */
	const char *const *choices;	/* ARG_ENUM, NULL-terminated */
	const char *help;		/* options: one line for --help */
};

static const char *const policies[] = { "reassign", "drop", NULL };
static const char *const protos[] = { "tcp", "udp", NULL };
static const char *const modes[] = { "native", "skb", NULL };

#define NAME_ARG	{ .meta = "NAME", .key = "name", .type = ARG_NAME }
#define OPT_NAME_ARG	{ .meta = "NAME", .key = "name", .type = ARG_NAME, .optional = true }
#define DEV_ARG		{ .meta = "DEV", .key = "dev", .type = ARG_DEV }

static const struct cli_arg app_attach_args[] = {
	NAME_ARG,
	{ .opt = "--cgroup", .meta = "PATH", .key = "cgroup", .type = ARG_PATH,
	  .help = "adopt this existing cgroup instead of making <cgroup2>/xsl/NAME" },
	{ .opt = "--policy", .meta = "POLICY", .key = "policy", .type = ARG_ENUM,
	  .choices = policies,
	  .help = "sessions of a worker that is gone: re-pick a worker (reassign) or drop" },
	{ .opt = "--idle-timeout", .meta = "SECONDS", .key = "idle_timeout", .type = ARG_UINT,
	  .max = 365 * 86400, .help = "expire sessions idle this long (agent default 60)" },
	{ .opt = "--cpu-steer", .key = "cpu_steer", .type = ARG_FLAG,
	  .help = "redirect each session's packets to its worker's CPU" },
	{ 0 }
};
static const struct cli_arg name_args[] = { NAME_ARG, { 0 } };
static const struct cli_arg opt_name_args[] = { OPT_NAME_ARG, { 0 } };
static const struct cli_arg no_args[] = { { 0 } };
static const struct cli_arg run_args[] = {
	NAME_ARG,
	{ .opt = "--replace", .key = "replace", .type = ARG_FLAG,
	  .help = "start a new instance of NAME that takes over from the running one" },
	{ .opt = "--drain", .meta = "SECONDS", .key = "drain", .type = ARG_UINT, .max = INST_MAX_S,
	  .help = "--replace: the old instance's sessions may run this long (default 10)" },
	{ .opt = "--stop-signal", .meta = "SIG", .key = "stop_signal", .type = ARG_SIGNAL,
	  .help = "--replace: signal for the old instance after the drain (default TERM)" },
	{ .opt = "--stop-timeout", .meta = "SECONDS", .key = "stop_timeout", .type = ARG_UINT,
	  .max = INST_MAX_S,
	  .help = "--replace: kill the old instance this long after its signal (default 10)" },
	{ .opt = "--ready-timeout", .meta = "SECONDS", .key = "ready_timeout", .type = ARG_UINT,
	  .max = INST_MAX_S,
	  .help = "--replace: stop the new instance unless it serves by then (default 30)" },
	{ .meta = "CMD [ARGS...]", .type = ARG_CMD },
	{ 0 }
};
static const struct cli_arg listen_args[] = {
	NAME_ARG,
	{ .meta = "PROTO", .key = "proto", .type = ARG_ENUM, .choices = protos },
	{ .meta = "ADDR:PORT", .type = ARG_ADDRPORT },
	{ 0 }
};
static const struct cli_arg sessions_args[] = {
	OPT_NAME_ARG,
	{ .opt = "--limit", .meta = "N", .key = "limit", .type = ARG_UINT, .max = 1000000,
	  .help = "show at most N sessions (default 100)" },
	{ 0 }
};
static const struct cli_arg xdp_attach_args[] = {
	DEV_ARG,
	{ .opt = "--mode", .meta = "MODE", .key = "mode", .type = ARG_ENUM, .choices = modes,
	  .help = "native driver mode or generic skb mode (default: let libxdp choose)" },
	{ .opt = "--then", .meta = "PROG", .key = "then", .type = ARG_PATH,
	  .help = "hand every packet xsl passes to the XDP program pinned at PROG" },
	{ 0 }
};
static const struct cli_arg xdp_detach_args[] = {
	DEV_ARG,
	{ .opt = "--then", .key = "then", .type = ARG_FLAG,
	  .help = "detach only the program xsl hands packets to; xsl stays" },
	{ 0 }
};
static const char *const top_sorts[] = { "packets", "bytes", "new", "sessions", "drops", NULL };
static const struct cli_arg top_args[] = {
	OPT_NAME_ARG,
	{ .opt = "--workers", .key = "workers", .type = ARG_FLAG,
	  .help = "start with the workers rather than the apps (key a toggles)" },
	{ .opt = "--sort", .meta = "KEY", .key = "sort", .type = ARG_ENUM, .choices = top_sorts,
	  .help = "busiest first by this rate or count (default packets; key s cycles)" },
	{ 0 }
};

#define CMD(w, r, a, p, h) { .words = w, .req = r, .args = a, .print = p, .help = h }

const struct cli_cmd cli_cmds[] = {
	CMD("app attach", "app.attach", app_attach_args, cli_print_attached,
	    "Attach app NAME (an operator attach: no process is its creator)."),
	CMD("app detach", "app.detach", name_args, NULL,
	    "Detach app NAME: free it with all its workers, listeners and sessions."),
	{ .words = "run", .req = "app.attach", .args = run_args, .run = true,
	  .help = "Attach app NAME if needed and run CMD in its cgroup: CMD is a worker of\n"
		  "NAME and every process it forks becomes one. Signals are forwarded to\n"
		  "CMD; the exit status is CMD's (128 + signal when a signal killed it).\n"
		  "CMD joins NAME's current instance (<app cgroup>/i<N>); with --replace it\n"
		  "starts a new instance, which takes new sessions once it serves every\n"
		  "listener of the old one; the old one drains, gets --stop-signal, and is\n"
		  "killed --stop-timeout later. A new instance that does not serve within\n"
		  "--ready-timeout is stopped and run exits with 1 and the reason. An app\n"
		  "made by run goes with its last worker; one made by `app attach` stays." },
	CMD("listen", "listen", listen_args, cli_print_listener,
	    "Add a listener of app NAME; IPv6 as [ADDR]:PORT, *:PORT is 0.0.0.0:PORT."),
	CMD("show apps", "show.apps", no_args, cli_print_apps, "List the apps."),
	CMD("show app", "show.app", name_args, cli_print_app,
	    "Show app NAME with its workers and listeners."),
	CMD("show workers", "show.workers", opt_name_args, cli_print_workers,
	    "List the workers, of all apps or of app NAME."),
	CMD("show instances", "show.instances", name_args, cli_print_instances,
	    "List the instances of app NAME, oldest first: state (starting, serving,\n"
	    "draining, stopping), first pid (its oldest live worker process: while it\n"
	    "lives, the one xslctl run started), workers, sessions and age."),
	CMD("show listeners", "show.listeners", no_args, cli_print_listeners,
	    "List the listeners."),
	CMD("show sessions", "show.sessions", sessions_args, cli_print_sessions,
	    "List sessions, of all apps or of app NAME."),
	CMD("show stats", "show.stats", no_args, cli_print_stats,
	    "Show the data path counters, drops by reason, parse errors and agent counters."),
	{ .words = "top", .req = "top", .args = top_args, .top = true,
	  .help = "A live view of the apps (or workers) of all apps or of app NAME, refreshed\n"
		  "every second, busiest first: sessions, new sessions, packets, bytes and\n"
		  "drops per second. Keys: q quits, s changes the sort, a toggles apps and\n"
		  "workers. When stdout is not a terminal, prints one table (rates over one\n"
		  "second) and exits." },
	CMD("xdp attach", "xdp.attach", xdp_attach_args, NULL,
	    "Attach the XDP program to DEV. With --then, xsl runs first and hands every\n"
	    "packet it passes to PROG (a pinned XDP program, e.g. a filter's): the way\n"
	    "to share DEV where libxdp's dispatcher is refused; PROG may be the program\n"
	    "DEV runs now (xsl takes its place). On a DEV xsl runs, sets PROG."),
	CMD("xdp detach", "xdp.detach", xdp_detach_args, NULL,
	    "Detach the XDP program from DEV; a --then program takes its place."),
	{ 0 }
};

/* The { 0 } at the end of an args table has neither. */
#define ARG_MORE(a) ((a)->meta || (a)->opt)

static bool is_help(const char *a)
{
	return !strcmp(a, "-h") || !strcmp(a, "--help");
}

/* words is w, or starts with the word w. */
static bool has_first_word(const char *words, const char *w)
{
	size_t n = strlen(w);

	return !strncmp(words, w, n) && (words[n] == ' ' || !words[n]);
}

static bool in_scope(const struct cli_cmd *c, const char *scope)
{
	return !*scope || has_first_word(c->words, scope);
}

static void arg_usage(FILE *f, const struct cli_arg *a)
{
	const char *open = a->optional || a->opt ? "[" : "", *close = *open ? "]" : "";

	fprintf(f, " %s", open);
	if (a->opt)
		fprintf(f, "%s%s", a->opt, a->type == ARG_FLAG ? "" : " ");
	if (a->type == ARG_CMD)
		fputs("[--] ", f);
	if (a->choices) {
		for (const char *const *c = a->choices; *c; c++)
			fprintf(f, "%s%s", c == a->choices ? "" : "|", *c);
	} else if (a->type != ARG_FLAG) {
		fputs(a->meta, f);
	}
	fputs(close, f);
}

static void cmd_usage(FILE *f, const struct cli_cmd *c)
{
	fputs(c->words, f);
	for (const struct cli_arg *a = c->args; ARG_MORE(a); a++)
		arg_usage(f, a);
	fputc('\n', f);
}

static void cmd_help(FILE *f, const struct cli_cmd *c)
{
	char opt[64];

	fprintf(f, "\n%s\n", c->help);
	for (const struct cli_arg *a = c->args; ARG_MORE(a); a++) {
		if (!a->opt)
			continue;
		if (a->type == ARG_FLAG)
			snprintf(opt, sizeof(opt), "%s", a->opt);
		else
			snprintf(opt, sizeof(opt), "%s %s", a->opt, a->meta);
		fprintf(f, "  %-23s %s\n", opt, a->help);
	}
}

void cli_usage(FILE *f, const char *scope, bool verbose)
{
	const struct cli_cmd *one = NULL;
	int n = 0;

	if (!*scope) {
		fputs("Usage: xslctl [--socket PATH] [--json] COMMAND [ARGS...]\n\nCommands:\n", f);
		for (const struct cli_cmd *c = cli_cmds; c->words; c++) {
			fputs("  ", f);
			cmd_usage(f, c);
		}
		fputs("\nOptions:\n"
		      "  --socket PATH    agent control socket (default $" CLI_SOCKET_ENV
		      " or " CLI_DEFAULT_SOCKET ")\n"
		      "  --json           print the reply's data as JSON\n"
		      "  -h, --help       show this help (COMMAND --help: that command's)\n",
		      f);
		return;
	}
	for (const struct cli_cmd *c = cli_cmds; c->words; c++) {
		if (!in_scope(c, scope))
			continue;
		fputs(n++ ? "       xslctl " : "Usage: xslctl ", f);
		cmd_usage(f, c);
		one = c;
	}
	if (verbose && n == 1)
		cmd_help(f, one);
}

__attribute__((format(printf, 2, 3)))
static int usage_err(struct cli_opts *o, const char *fmt, ...)
{
	size_t n = 0;
	va_list ap;

	if (*o->scope)
		n = (size_t)snprintf(o->err, sizeof(o->err), "%s: ", o->scope);
	va_start(ap, fmt);
	vsnprintf(o->err + n, sizeof(o->err) - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* "--opt VALUE" or "--opt=VALUE": 1 with *val set (NULL: VALUE is the next
 * argument), 0 when a is not opt. */
static int match_opt(const char *a, const char *opt, const char **val)
{
	size_t n = strlen(opt);

	if (strncmp(a, opt, n) || (a[n] && a[n] != '='))
		return 0;
	*val = a[n] ? a + n + 1 : NULL;
	return 1;
}

static bool valid_dev(const char *s)
{
	size_t n = strlen(s);

	/* The kernel's dev_valid_name(). */
	if (!n || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	return !strpbrk(s, "/: \t\n\r\v\f");
}

/* The agent's own rule (the registry's), checked before anything is sent. */
bool cli_valid_name(const char *name)
{
	return registry__check_name(name, NULL, 0) == 0;
}

static void append_object(struct cli_opts *o, const char *s)
{
	size_t n = strlen(o->object);

	snprintf(o->object + n, sizeof(o->object) - n, "%s%s", n ? " " : "", s);
}

/* Validates v for a and puts it into the request. */
static int set_arg(struct cli_opts *o, const struct cli_arg *a, const char *v)
{
	const char *what = a->opt ? a->opt : a->meta, *why;
	char addr[64];
	uint64_t u;
	unsigned int port;
	json_t *j = NULL;

	switch (a->type) {
	case ARG_NAME:
		if (!cli_valid_name(v))
			return usage_err(o, "bad %s '%s': expected 1..%d characters of "
					 "A-Za-z0-9_.-, not starting with '.' or '-'",
					 what, v, XSL_APP_NAME_LEN - 1);
		j = json_string(v);
		break;
	case ARG_DEV:
		if (!valid_dev(v))
			return usage_err(o, "bad %s '%s': expected a device name of 1..%d "
					 "characters without '/', ':' or spaces",
					 what, v, IFNAMSIZ - 1);
		j = json_string(v);
		break;
	case ARG_PATH:
		if (!*v || strlen(v) >= PATH_MAX)
			return usage_err(o, "bad %s '%s': expected a path", what, v);
		j = json_string(v);
		break;
	case ARG_UINT:
		if (strnum__u64(v, 1, a->max, &u))
			return usage_err(o, "bad %s '%s': expected an integer 1..%llu", what, v,
					 a->max);
		j = json_integer((json_int_t)u);
		break;
	case ARG_ENUM:
		for (const char *const *c = a->choices; *c; c++)
			if (!strcmp(v, *c))
				j = json_string(v);
		if (!j) {
			usage_err(o, "bad %s '%s': expected ", what, v);
			for (const char *const *c = a->choices; *c; c++)
				snprintf(o->err + strlen(o->err), sizeof(o->err) - strlen(o->err),
					 "%s%s", c == a->choices ? "" : " or ", *c);
			return -EINVAL;
		}
		break;
	case ARG_FLAG:
		j = json_true();
		break;
	case ARG_ADDRPORT:
		if (cli_parse_addrport(v, addr, sizeof(addr), &port, &why))
			return usage_err(o, "bad %s '%s': %s", what, v, why);
		if (json_object_set_new(o->req, "addr", json_string(addr)) ||
		    json_object_set_new(o->req, "port", json_integer(port)))
			return -ENOMEM;
		return 0;
	case ARG_SIGNAL:
		if (instance__signal(v) < 0)
			return usage_err(o, "bad %s '%s': expected a signal name (TERM, QUIT, "
					 "INT, HUP, USR1, USR2, WINCH, KILL) or number", what, v);
		j = json_string(v);
		break;
	case ARG_CMD:
		return -EINVAL;	/* handled by the caller */
	}
	return json_object_set_new(o->req, a->key, j) ? -ENOMEM : 0;
}

static const struct cli_arg *find_option(const struct cli_cmd *c, const char *s,
					 const char **val)
{
	for (const struct cli_arg *a = c->args; ARG_MORE(a); a++)
		if (a->opt && match_opt(s, a->opt, val))
			return a;
	return NULL;
}

static const struct cli_arg *next_positional(const struct cli_arg *a)
{
	for (; ARG_MORE(a); a++)
		if (!a->opt)
			return a;
	return NULL;
}

/* -h/--help among the command's own arguments: up to "--", and for run up
 * to CMD (whose own --help is CMD's business). */
static bool wants_help(const struct cli_cmd *c, int argc, char **argv)
{
	int positionals = 0;

	for (int i = 0; i < argc && strcmp(argv[i], "--"); i++) {
		if (is_help(argv[i]))
			return true;
		if (argv[i][0] != '-' && c->run && ++positionals > 1)
			break;
	}
	return false;
}

/* The command's arguments (after its words) into o->req. */
static int parse_args(struct cli_opts *o, int argc, char **argv)
{
	const struct cli_cmd *c = o->cmd;
	const struct cli_arg *pos = next_positional(c->args), *a;
	bool opts_done = false;
	const char *val;
	int i, err;

	if (wants_help(c, argc, argv)) {
		o->help = true;
		return 0;
	}
	o->req = json_pack("{s:s}", "cmd", c->req);
	if (!o->req)
		return -ENOMEM;
	for (i = 0; i < argc; i++) {
		if (!opts_done && !strcmp(argv[i], "--")) {
			opts_done = true;
			continue;
		}
		if (!opts_done && argv[i][0] == '-' && argv[i][1]) {
			a = find_option(c, argv[i], &val);
			if (!a)
				return usage_err(o, "unknown option '%s'", argv[i]);
			if (a->type == ARG_FLAG && val)
				return usage_err(o, "%s takes no value", a->opt);
			if (a->type != ARG_FLAG && !val) {
				if (++i == argc)
					return usage_err(o, "%s needs a value", a->opt);
				val = argv[i];
			}
			err = set_arg(o, a, val);
			if (err)
				return err;
			continue;
		}
		if (!pos)
			return usage_err(o, "unexpected argument '%s'", argv[i]);
		if (pos->type == ARG_CMD) {
			o->run_argv = argv + i;
			pos = NULL;
			break;
		}
		err = set_arg(o, pos, argv[i]);
		if (err)
			return err;
		append_object(o, argv[i]);
		pos = next_positional(pos + 1);
	}
	if (pos && !pos->optional)
		return usage_err(o, "missing %s", pos->meta);
	/* run's options but --replace itself are --replace's */
	for (a = c->args; c->run && !json_object_get(o->req, "replace") && ARG_MORE(a); a++)
		if (a->opt && json_object_get(o->req, a->key))
			return usage_err(o, "%s goes with --replace", a->opt);
	return 0;
}

static const struct cli_cmd *find_cmd(const char *w1, const char *w2)
{
	char words[64];

	snprintf(words, sizeof(words), w2 ? "%s %s" : "%s", w1, w2);
	for (const struct cli_cmd *c = cli_cmds; c->words; c++)
		if (!strcmp(c->words, words))
			return c;
	return NULL;
}

/* The first command whose first word is w: a group ("show") or a command. */
static const struct cli_cmd *find_first(const char *w)
{
	for (const struct cli_cmd *c = cli_cmds; c->words; c++)
		if (has_first_word(c->words, w))
			return c;
	return NULL;
}

int cli_parse(int argc, char **argv, struct cli_opts *o)
{
	const struct cli_cmd *c;
	const char *val;
	int i = 1;

	memset(o, 0, sizeof(*o));
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (is_help(argv[i])) {
			o->help = true;
			return 0;
		}
		if (!strcmp(argv[i], "--json")) {
			o->json = true;
		} else if (match_opt(argv[i], "--socket", &val)) {
			if (!val && ++i == argc)
				return usage_err(o, "--socket needs a value");
			o->socket = val ? val : argv[i];
			if (!*o->socket)
				return usage_err(o, "bad --socket '': expected a path");
		} else {
			return usage_err(o, "unknown option '%s'", argv[i]);
		}
	}
	if (i == argc)
		return usage_err(o, "missing COMMAND");
	c = find_first(argv[i]);
	if (!c)
		return usage_err(o, "unknown command '%s'", argv[i]);
	if (strchr(c->words, ' ')) {
		snprintf(o->scope, sizeof(o->scope), "%s", argv[i++]);
		if (i == argc)
			return usage_err(o, "missing subcommand");
		if (is_help(argv[i])) {
			o->help = true;
			return 0;
		}
		c = find_cmd(o->scope, argv[i]);
		if (!c)
			return usage_err(o, "unknown subcommand '%s'", argv[i]);
	}
	i++;
	o->cmd = c;
	snprintf(o->scope, sizeof(o->scope), "%s", c->words);
	return parse_args(o, argc - i, argv + i);
}

void cli_opts_free(struct cli_opts *o)
{
	json_decref(o->req);
	o->req = NULL;
}
