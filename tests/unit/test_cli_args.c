// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xslctl's command line (user/cli.h): every command makes the request of
 * docs/protocol.md, -h/--help is found at every level, and every bad
 * argument is a usage error (-EINVAL, exit 2) scoped to its command.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cli.h"

#define ARGV(...) ((char *[]){ "xslctl", __VA_ARGS__, NULL })

static int parse(struct cli_opts *o, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return cli_parse(argc, argv, o);
}

/* argv parses into exactly the request want (JSON text, ' for "). */
static void assert_request(const char *want, char **argv)
{
	char text[512];
	struct cli_opts o;
	int ret = parse(&o, argv);
	json_t *w;

	snprintf(text, sizeof(text), "%s", want);
	for (char *p = text; *p; p++)
		*p = *p == '\'' ? '"' : *p;
	w = json_loads(text, 0, NULL);
	if (ret)
		print_message("cli_parse: %d: %s\n", ret, o.err);
	assert_int_equal(ret, 0);
	assert_false(o.help);
	assert_non_null(w);
	assert_non_null(o.req);
	if (!json_equal(w, o.req)) {
		char *got = json_dumps(o.req, JSON_SORT_KEYS);

		print_message("got  %s\nwant %s\n", got, want);
		free(got);
		fail();
	}
	json_decref(w);
	cli_opts_free(&o);
}

/* argv is a usage error shown with the usage of scope. */
static void assert_usage_error(const char *scope, char **argv)
{
	struct cli_opts o;

	assert_int_equal(parse(&o, argv), -EINVAL);
	assert_string_equal(o.scope, scope);
	assert_true(strlen(o.err) > strlen(scope));
	cli_opts_free(&o);
}

static void assert_help(const char *scope, char **argv)
{
	struct cli_opts o;

	assert_int_equal(parse(&o, argv), 0);
	assert_true(o.help);
	assert_string_equal(o.scope, scope);
	cli_opts_free(&o);
}

static void test_app_attach_makes_request(void **state)
{
	(void)state;
	assert_request("{'cmd':'app.attach','name':'web'}", ARGV("app", "attach", "web"));
	assert_request("{'cmd':'app.attach','name':'web-1.x_y','cgroup':'/sys/fs/cgroup/a',"
		       "'policy':'drop','idle_timeout':30,'cpu_steer':true}",
		       ARGV("app", "attach", "--cgroup", "/sys/fs/cgroup/a", "web-1.x_y",
			    "--policy=drop", "--idle-timeout", "30", "--cpu-steer"));
	assert_request("{'cmd':'app.attach','name':'a','policy':'reassign'}",
		       ARGV("app", "attach", "a", "--policy", "reassign"));
}

static void test_app_detach_makes_request(void **state)
{
	(void)state;
	assert_request("{'cmd':'app.detach','name':'web'}", ARGV("app", "detach", "web"));
}

static void test_run_attaches_and_keeps_cmd(void **state)
{
	struct cli_opts o;

	(void)state;
	assert_int_equal(parse(&o, ARGV("run", "web", "nginx", "-g", "daemon off;", "--help")), 0);
	assert_false(o.help);
	assert_true(o.cmd->run);
	assert_string_equal(json_string_value(json_object_get(o.req, "cmd")), "app.attach");
	assert_string_equal(json_string_value(json_object_get(o.req, "name")), "web");
	assert_string_equal(o.run_argv[0], "nginx");
	assert_string_equal(o.run_argv[1], "-g");
	assert_string_equal(o.run_argv[2], "daemon off;");
	assert_string_equal(o.run_argv[3], "--help");
	assert_null(o.run_argv[4]);
	cli_opts_free(&o);

	assert_int_equal(parse(&o, ARGV("run", "web", "--", "-weird", "x")), 0);
	assert_string_equal(o.run_argv[0], "-weird");
	assert_string_equal(o.run_argv[1], "x");
	assert_null(json_object_get(o.req, "replace"));
	cli_opts_free(&o);
}

/* run --replace and its options, kept for app.join (ctl_main.c) */
static void test_run_replace_options(void **state)
{
	struct cli_opts o;

	(void)state;
	assert_int_equal(parse(&o, ARGV("run", "web", "--replace", "--drain", "3", "--stop-signal",
					"QUIT", "--stop-timeout=4", "--ready-timeout", "5", "--",
					"nginx", "--drain", "9")), 0);
	assert_true(json_is_true(json_object_get(o.req, "replace")));
	assert_int_equal(json_integer_value(json_object_get(o.req, "drain")), 3);
	assert_string_equal(json_string_value(json_object_get(o.req, "stop_signal")), "QUIT");
	assert_int_equal(json_integer_value(json_object_get(o.req, "stop_timeout")), 4);
	assert_int_equal(json_integer_value(json_object_get(o.req, "ready_timeout")), 5);
	/* CMD's own options stay CMD's */
	assert_string_equal(o.run_argv[0], "nginx");
	assert_string_equal(o.run_argv[1], "--drain");
	cli_opts_free(&o);

	assert_int_equal(parse(&o, ARGV("run", "web", "--replace", "--stop-signal", "SIGusr2",
					"true")), 0);
	cli_opts_free(&o);
	assert_usage_error("run", ARGV("run", "web", "--drain", "3", "true"));
	assert_usage_error("run", ARGV("run", "web", "--stop-signal", "QUIT", "true"));
	assert_usage_error("run", ARGV("run", "web", "--replace", "--stop-signal", "NOPE", "true"));
	assert_usage_error("run", ARGV("run", "web", "--replace", "--drain", "0", "true"));
	assert_usage_error("run", ARGV("run", "web", "--replace", "--ready-timeout", "86401",
				       "true"));
	assert_usage_error("run", ARGV("run", "web", "--replace=yes", "true"));
}

static void test_listen_makes_request(void **state)
{
	(void)state;
	assert_request("{'cmd':'listen','name':'dns','proto':'udp','addr':'10.0.0.1','port':53}",
		       ARGV("listen", "dns", "udp", "10.0.0.1:53"));
	assert_request("{'cmd':'listen','name':'web','proto':'tcp','addr':'2001:db8::1',"
		       "'port':443}",
		       ARGV("listen", "web", "tcp", "[2001:DB8:0::1]:443"));
	assert_request("{'cmd':'listen','name':'web','proto':'tcp','addr':'0.0.0.0','port':80}",
		       ARGV("listen", "web", "tcp", "*:80"));
	assert_request("{'cmd':'listen','name':'web','proto':'tcp','addr':'::','port':80}",
		       ARGV("listen", "web", "tcp", "[::]:80"));
}

static void test_show_makes_requests(void **state)
{
	(void)state;
	assert_request("{'cmd':'show.apps'}", ARGV("show", "apps"));
	assert_request("{'cmd':'show.app','name':'web'}", ARGV("show", "app", "web"));
	assert_request("{'cmd':'show.workers'}", ARGV("show", "workers"));
	assert_request("{'cmd':'show.workers','name':'web'}", ARGV("show", "workers", "web"));
	assert_request("{'cmd':'show.listeners'}", ARGV("show", "listeners"));
	assert_request("{'cmd':'show.sessions'}", ARGV("show", "sessions"));
	assert_request("{'cmd':'show.sessions','name':'web','limit':5}",
		       ARGV("show", "sessions", "--limit", "5", "web"));
	assert_request("{'cmd':'show.sessions','limit':1000000}",
		       ARGV("show", "sessions", "--limit=1000000"));
	assert_request("{'cmd':'show.stats'}", ARGV("show", "stats"));
	assert_request("{'cmd':'show.instances','name':'web'}", ARGV("show", "instances", "web"));
	assert_request("{'cmd':'show.instances','name':'kresd'}",
		       ARGV("show", "instances", "--", "kresd"));
}

/* show instances takes exactly one app name and no options. */
static void test_show_instances_needs_one_name(void **state)
{
	struct cli_opts o;

	(void)state;
	assert_usage_error("show instances", ARGV("show", "instances"));
	assert_usage_error("show instances", ARGV("show", "instances", "a", "b"));
	assert_usage_error("show instances", ARGV("show", "instances", "bad/name"));
	assert_usage_error("show instances", ARGV("show", "instances", "web", "--limit", "5"));
	assert_usage_error("show instances", ARGV("show", "instances", "web", "--json"));
	parse(&o, ARGV("show", "instances"));
	assert_string_equal(o.err, "show instances: missing NAME");
	cli_opts_free(&o);
	assert_help("show instances", ARGV("show", "instances", "web", "--help"));
	/* --json is global: before the command */
	assert_int_equal(parse(&o, ARGV("--json", "show", "instances", "web")), 0);
	assert_true(o.json);
	assert_string_equal(o.cmd->req, "show.instances");
	cli_opts_free(&o);
}

static void test_xdp_makes_requests(void **state)
{
	(void)state;
	assert_request("{'cmd':'xdp.attach','dev':'eth0'}", ARGV("xdp", "attach", "eth0"));
	assert_request("{'cmd':'xdp.attach','dev':'veth-a.10','mode':'skb'}",
		       ARGV("xdp", "attach", "veth-a.10", "--mode", "skb"));
	assert_request("{'cmd':'xdp.attach','dev':'eth0','mode':'native'}",
		       ARGV("xdp", "attach", "--mode=native", "eth0"));
	assert_request("{'cmd':'xdp.detach','dev':'eth0'}", ARGV("xdp", "detach", "eth0"));
	assert_request("{'cmd':'xdp.attach','dev':'eth0','then':'/sys/fs/bpf/filter'}",
		       ARGV("xdp", "attach", "eth0", "--then", "/sys/fs/bpf/filter"));
	assert_request("{'cmd':'xdp.detach','dev':'eth0','then':true}",
		       ARGV("xdp", "detach", "eth0", "--then"));
}

/* top: its options into the request, which ctl_top.c reads (never sent) */
static void test_top_parses_its_options(void **state)
{
	struct cli_opts o;

	(void)state;
	assert_request("{'cmd':'top'}", ARGV("top"));
	assert_request("{'cmd':'top','name':'web','workers':true,'sort':'bytes'}",
		       ARGV("top", "--sort", "bytes", "web", "--workers"));
	assert_int_equal(parse(&o, ARGV("top")), 0);
	assert_true(o.cmd->top);
	assert_false(o.cmd->run);
	cli_opts_free(&o);
	assert_usage_error("top", ARGV("top", "--sort", "fastest"));
	assert_usage_error("top", ARGV("top", "web", "dns"));
	assert_usage_error("top", ARGV("top", "../x"));
	assert_help("top", ARGV("top", "--help"));
}

static void test_global_options_before_command(void **state)
{
	struct cli_opts o;

	(void)state;
	assert_int_equal(parse(&o, ARGV("--socket", "/tmp/s", "--json", "show", "apps")), 0);
	assert_string_equal(o.socket, "/tmp/s");
	assert_true(o.json);
	assert_string_equal(o.cmd->words, "show apps");
	cli_opts_free(&o);

	assert_int_equal(parse(&o, ARGV("--socket=/x/y", "show", "stats")), 0);
	assert_string_equal(o.socket, "/x/y");
	assert_false(o.json);
	cli_opts_free(&o);

	assert_int_equal(parse(&o, ARGV("show", "stats")), 0);
	assert_null(o.socket);
	cli_opts_free(&o);

	/* Only before the command. */
	assert_usage_error("show apps", ARGV("show", "apps", "--json"));
	assert_usage_error("", ARGV("--socket"));
	assert_usage_error("", ARGV("--socket="));
	assert_usage_error("", ARGV("--jsonx", "show", "apps"));
}

static void test_help_at_every_level(void **state)
{
	(void)state;
	assert_help("", ARGV("--help"));
	assert_help("", ARGV("-h"));
	assert_help("", ARGV("--json", "-h", "show"));
	assert_help("app", ARGV("app", "--help"));
	assert_help("show", ARGV("show", "--help"));
	assert_help("xdp", ARGV("xdp", "-h"));
	for (const struct cli_cmd *c = cli_cmds; c->words; c++) {
		char words[64], *argv[5] = { "xslctl" };
		int argc = 1;

		snprintf(words, sizeof(words), "%s", c->words);
		for (char *w = strtok(words, " "); w; w = strtok(NULL, " "))
			argv[argc++] = w;
		argv[argc] = "--help";
		assert_help(c->words, argv);
		argv[argc] = "-h";
		assert_help(c->words, argv);
	}
	/* --help wins over errors and values around it. */
	assert_help("show sessions", ARGV("show", "sessions", "--limit", "0", "--help"));
	assert_help("app attach", ARGV("app", "attach", "bad name", "-h"));
	assert_help("run", ARGV("run", "web", "-h"));
	assert_help("run", ARGV("run", "-h"));
}

static void test_bad_arguments_are_usage_errors(void **state)
{
	(void)state;
	assert_usage_error("", ARGV("bogus"));
	assert_usage_error("", (char *[]){ "xslctl", NULL });
	assert_usage_error("app", ARGV("app"));
	assert_usage_error("app", ARGV("app", "bogus", "web"));
	assert_usage_error("show", ARGV("show"));
	assert_usage_error("show", ARGV("show", "session"));
	assert_usage_error("xdp", ARGV("xdp", "load", "eth0"));

	assert_usage_error("app attach", ARGV("app", "attach"));
	assert_usage_error("app attach", ARGV("app", "attach", ""));
	assert_usage_error("app attach", ARGV("app", "attach", "a b"));
	assert_usage_error("app attach", ARGV("app", "attach", "web/x"));
	assert_usage_error("app attach", ARGV("app", "attach", ".hidden"));
	assert_usage_error("app attach", ARGV("app", "attach", "--", "-dash"));
	assert_usage_error("app attach", ARGV("app", "attach", "abcdefghijabcdefghijabcdefghij12"));
	assert_usage_error("app attach", ARGV("app", "attach", "web", "extra"));
	assert_usage_error("app attach", ARGV("app", "attach", "web", "--policy"));
	assert_usage_error("app attach", ARGV("app", "attach", "web", "--policy", "keep"));
	assert_usage_error("app attach", ARGV("app", "attach", "web", "--idle-timeout", "0"));
	assert_usage_error("app attach", ARGV("app", "attach", "web", "--idle-timeout", "-1"));
	assert_usage_error("app attach", ARGV("app", "attach", "web", "--idle-timeout", "10s"));
	assert_usage_error("app attach",
			   ARGV("app", "attach", "web", "--idle-timeout", "31536001"));
	assert_usage_error("app attach", ARGV("app", "attach", "web", "--cgroup", ""));
	assert_usage_error("app attach", ARGV("app", "attach", "web", "--cpu-steer=yes"));
	assert_usage_error("app attach", ARGV("app", "attach", "web", "--bogus"));
	assert_usage_error("app detach", ARGV("app", "detach"));
	assert_usage_error("app detach", ARGV("app", "detach", "web", "web2"));

	assert_usage_error("run", ARGV("run"));
	assert_usage_error("run", ARGV("run", "web"));
	assert_usage_error("run", ARGV("run", "web", "--"));
	assert_usage_error("run", ARGV("run", "bad name", "true"));
	assert_usage_error("run", ARGV("run", "web", "-x", "true"));

	assert_usage_error("listen", ARGV("listen", "web", "tcp"));
	assert_usage_error("listen", ARGV("listen", "web", "sctp", "1.2.3.4:80"));
	assert_usage_error("listen", ARGV("listen", "web", "tcp", "1.2.3.4"));
	assert_usage_error("listen", ARGV("listen", "web", "tcp", "1.2.3.4:0"));
	assert_usage_error("listen", ARGV("listen", "web", "tcp", "1.2.3.4:65536"));
	assert_usage_error("listen", ARGV("listen", "web", "tcp", "1.2.3:80"));
	assert_usage_error("listen", ARGV("listen", "web", "tcp", "::1:80"));
	assert_usage_error("listen", ARGV("listen", "web", "tcp", "1.2.3.4:80", "x"));

	assert_usage_error("show apps", ARGV("show", "apps", "web"));
	assert_usage_error("show app", ARGV("show", "app"));
	assert_usage_error("show workers", ARGV("show", "workers", "a", "b"));
	assert_usage_error("show workers", ARGV("show", "workers", "bad/name"));
	assert_usage_error("show listeners", ARGV("show", "listeners", "web"));
	assert_usage_error("show sessions", ARGV("show", "sessions", "--limit", "0"));
	assert_usage_error("show sessions", ARGV("show", "sessions", "--limit", "x"));
	assert_usage_error("show sessions", ARGV("show", "sessions", "--limit", "+5"));
	assert_usage_error("show sessions", ARGV("show", "sessions", "--limit", "1000001"));
	assert_usage_error("show sessions", ARGV("show", "sessions", "--limit"));
	assert_usage_error("show stats", ARGV("show", "stats", "--limit", "5"));

	assert_usage_error("xdp attach", ARGV("xdp", "attach"));
	assert_usage_error("xdp attach", ARGV("xdp", "attach", "eth0", "--mode", "hw"));
	assert_usage_error("xdp attach", ARGV("xdp", "attach", "averyveryverylongname"));
	assert_usage_error("xdp attach", ARGV("xdp", "attach", "a/b"));
	assert_usage_error("xdp detach", ARGV("xdp", "detach", "eth0", "--mode", "skb"));
	assert_usage_error("xdp attach", ARGV("xdp", "attach", "eth0", "--then"));
	assert_usage_error("xdp attach", ARGV("xdp", "attach", "eth0", "--then", ""));
	assert_usage_error("xdp detach", ARGV("xdp", "detach", "eth0", "--then", "/x"));
}

/* The messages say what was wrong with which argument. */
static void test_usage_error_messages(void **state)
{
	struct cli_opts o;

	(void)state;
	parse(&o, ARGV("show", "sessions", "--limit", "0"));
	assert_string_equal(o.err,
			    "show sessions: bad --limit '0': expected an integer 1..1000000");
	cli_opts_free(&o);
	parse(&o, ARGV("listen", "web", "udp", "1.2.3.4"));
	assert_string_equal(o.err, "listen: bad ADDR:PORT '1.2.3.4': missing :PORT");
	cli_opts_free(&o);
	parse(&o, ARGV("app", "attach", "web", "--policy", "x"));
	assert_string_equal(o.err, "app attach: bad --policy 'x': expected reassign or drop");
	cli_opts_free(&o);
	parse(&o, ARGV("show", "app"));
	assert_string_equal(o.err, "show app: missing NAME");
	cli_opts_free(&o);
	parse(&o, ARGV("frobnicate"));
	assert_string_equal(o.err, "unknown command 'frobnicate'");
	cli_opts_free(&o);
}

/* The operands as typed name the object in error messages. */
static void test_object_names_operands(void **state)
{
	struct cli_opts o;

	(void)state;
	parse(&o, ARGV("listen", "web", "udp", "*:53"));
	assert_string_equal(o.object, "web udp *:53");
	cli_opts_free(&o);
	parse(&o, ARGV("run", "web", "sleep", "1"));
	assert_string_equal(o.object, "web");
	cli_opts_free(&o);
	parse(&o, ARGV("show", "apps"));
	assert_string_equal(o.object, "");
	cli_opts_free(&o);
}

static char *usage_text(const char *scope, bool verbose)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	cli_usage(f, scope, verbose);
	fclose(f);
	return buf;
}

/* The usage lines are the interface of DESIGN.md. */
static void test_usage_matches_interface(void **state)
{
	char *s;

	(void)state;
	s = usage_text("", false);
	assert_non_null(strstr(s,
		"Usage: xslctl [--socket PATH] [--json] COMMAND [ARGS...]\n\nCommands:\n"
		"  app attach NAME [--cgroup PATH] [--policy reassign|drop] "
		"[--idle-timeout SECONDS] [--cpu-steer]\n"
		"  app detach NAME\n"
		"  run NAME [--replace] [--drain SECONDS] [--stop-signal SIG] "
		"[--stop-timeout SECONDS] [--ready-timeout SECONDS] [--] CMD [ARGS...]\n"
		"  listen NAME tcp|udp ADDR:PORT\n"
		"  show apps\n"
		"  show app NAME\n"
		"  show workers [NAME]\n"
		"  show instances NAME\n"
		"  show listeners\n"
		"  show sessions [NAME] [--limit N]\n"
		"  show stats\n"
		"  top [NAME] [--workers] [--sort packets|bytes|new|sessions|drops]\n"
		"  xdp attach DEV [--mode native|skb] [--then PROG]\n"
		"  xdp detach DEV [--then]\n"));
	free(s);

	s = usage_text("xdp", false);
	assert_string_equal(s, "Usage: xslctl xdp attach DEV [--mode native|skb] [--then PROG]\n"
			       "       xslctl xdp detach DEV [--then]\n");
	free(s);

	s = usage_text("show app", false);
	assert_string_equal(s, "Usage: xslctl show app NAME\n");
	free(s);

	s = usage_text("show instances", false);
	assert_string_equal(s, "Usage: xslctl show instances NAME\n");
	free(s);

	s = usage_text("show sessions", true);
	assert_string_equal(s, "Usage: xslctl show sessions [NAME] [--limit N]\n"
			       "\n"
			       "List sessions, of all apps or of app NAME.\n"
			       "  --limit N               show at most N sessions (default 100)\n");
	free(s);
}

static void test_valid_names(void **state)
{
	(void)state;
	assert_true(cli_valid_name("a"));
	assert_true(cli_valid_name("Web_1.2-x"));
	assert_true(cli_valid_name("abcdefghijabcdefghijabcdefghij1"));
	assert_false(cli_valid_name("abcdefghijabcdefghijabcdefghij12"));
	assert_false(cli_valid_name(""));
	assert_false(cli_valid_name("-a"));
	assert_false(cli_valid_name(".."));
	assert_false(cli_valid_name("a:b"));
	assert_false(cli_valid_name("caf\xc3\xa9"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_app_attach_makes_request),
		cmocka_unit_test(test_app_detach_makes_request),
		cmocka_unit_test(test_run_attaches_and_keeps_cmd),
		cmocka_unit_test(test_run_replace_options),
		cmocka_unit_test(test_listen_makes_request),
		cmocka_unit_test(test_show_makes_requests),
		cmocka_unit_test(test_show_instances_needs_one_name),
		cmocka_unit_test(test_xdp_makes_requests),
		cmocka_unit_test(test_top_parses_its_options),
		cmocka_unit_test(test_global_options_before_command),
		cmocka_unit_test(test_help_at_every_level),
		cmocka_unit_test(test_bad_arguments_are_usage_errors),
		cmocka_unit_test(test_usage_error_messages),
		cmocka_unit_test(test_object_names_operands),
		cmocka_unit_test(test_usage_matches_interface),
		cmocka_unit_test(test_valid_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
