// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xslctl's output (user/cli.h): reply lines parsed into data or agent
 * errors, error lines, and the tables rendered from sample replies of
 * docs/protocol.md, compared as exact text.
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

/* What print(data parsed from json) writes; asserts it returns want_ret. */
static char *render(int (*print)(FILE *, json_t *), const char *json, int want_ret)
{
	json_t *data = json_loads(json, 0, NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	assert_non_null(data);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(print(f, data), want_ret);
	fclose(f);
	json_decref(data);
	return buf;
}

static void assert_render(int (*print)(FILE *, json_t *), const char *json, const char *want)
{
	char *got = render(print, json, 0);

	if (strcmp(got, want))
		print_message("got:\n%s\nwant:\n%s\n", got, want);
	assert_string_equal(got, want);
	free(got);
}

#define APP_WEB "{\"index\": 0, \"gen\": 1, \"name\": \"web\", \"creator_pid\": 0, " \
	"\"cgroup\": \"/sys/fs/cgroup/xsl/web\", \"cgroup_id\": 4711, \"policy\": \"reassign\", " \
	"\"idle_timeout\": 60, \"cpu_steer\": false, \"workers\": 2, \"listeners\": 1, " \
	"\"sessions\": 10}"
#define WORKERS "[{\"index\": 0, \"gen\": 1, \"app\": \"web\", \"app_index\": 0, " \
	"\"map_index\": 0, \"pid\": 1234, \"state\": \"live\", \"sessions\": 7, " \
	"\"packets\": 123456, \"bytes\": 9, \"instance\": 1}, " \
	"{\"index\": 17, \"gen\": 3, \"app\": \"web\", \"app_index\": 0, \"map_index\": 1, " \
	"\"pid\": 1240, \"state\": \"live\", \"sessions\": 3, \"packets\": 9, \"bytes\": 1, " \
	"\"instance\": 12}]"
#define LISTENERS "[{\"index\": 0, \"app\": \"web\", \"proto\": \"tcp\", \"addr\": \"0.0.0.0\", " \
	"\"port\": 80, \"workers\": 2, \"sockets\": 2}, " \
	"{\"index\": 1, \"app\": \"dns\", \"proto\": \"udp\", \"addr\": \"2001:db8::1\", " \
	"\"port\": 53, \"workers\": 1, \"sockets\": 0}]"

static void test_apps_table(void **state)
{
	(void)state;
	assert_render(cli_print_apps,
		      "{\"apps\": [" APP_WEB ", {\"index\": 12, \"gen\": 2, \"name\": \"dns-resolver\", "
		      "\"creator_pid\": 99, \"cgroup\": \"/sys/fs/cgroup/dns\", \"cgroup_id\": 5, "
		      "\"policy\": \"drop\", \"idle_timeout\": 30, \"cpu_steer\": true, "
		      "\"workers\": 16, \"listeners\": 0, \"sessions\": 100000}]}",
		      "Index  Name          Workers  Listeners  Sessions  Policy    Cgroup\n"
		      "0      web           2        1          10        reassign  /sys/fs/cgroup/xsl/web\n"
		      "12     dns-resolver  16       0          100000    drop      /sys/fs/cgroup/dns\n");
}

static void test_empty_table_is_header(void **state)
{
	(void)state;
	assert_render(cli_print_apps, "{\"apps\": []}",
		      "Index  Name  Workers  Listeners  Sessions  Policy  Cgroup\n");
}

static void test_workers_table(void **state)
{
	(void)state;
	assert_render(cli_print_workers, "{\"workers\": " WORKERS "}",
		      "wrk-index  app  map-index  pid   state  instance  sessions  packets\n"
		      "0          web  0          1234  live   1         7         123456\n"
		      "17         web  1          1240  live   12        3         9\n");
}

/* Oldest first as the agent sends them; no first pid shows "-"; ages in
 * the largest two units. */
static void test_instances_table(void **state)
{
	(void)state;
	assert_render(cli_print_instances,
		      "{\"app\": \"web\", \"instances\": ["
		      "{\"instance\": 3, \"state\": \"draining\", \"taking\": false, "
		      "\"first_pid\": 1200, \"workers\": 4, \"sessions\": 950, \"age\": 93784}, "
		      "{\"instance\": 4, \"state\": \"serving\", \"taking\": true, "
		      "\"first_pid\": 31337, \"workers\": 4, \"sessions\": 12, \"age\": 3725}, "
		      "{\"instance\": 5, \"state\": \"starting\", \"taking\": false, "
		      "\"first_pid\": 0, \"workers\": 0, \"sessions\": 0, \"age\": 65}, "
		      "{\"instance\": 6, \"state\": \"stopping\", \"taking\": false, "
		      "\"first_pid\": 7, \"workers\": 1, \"sessions\": 0, \"age\": 0}]}",
		      "instance  state     first-pid  workers  sessions  age\n"
		      "3         draining  1200       4        950       1d02h\n"
		      "4         serving   31337      4        12        1h02m\n"
		      "5         starting  -          0        0         1m05s\n"
		      "6         stopping  7          1        0         0s\n");
	assert_render(cli_print_instances, "{\"app\": \"web\", \"instances\": []}",
		      "instance  state  first-pid  workers  sessions  age\n");
	assert_render(cli_print_instances,
		      "{\"instances\": [{\"instance\": 1, \"age\": -1}, {\"instance\": 2, "
		      "\"age\": \"x\"}]}",
		      "instance  state  first-pid  workers  sessions  age\n"
		      "1         -      -          -        -         -\n"
		      "2         -      -          -        -         -\n");
	free(render(cli_print_instances, "{}", -EBADMSG));
	free(render(cli_print_instances, "{\"instances\": [3]}", -EBADMSG));
}

static void test_listeners_table_brackets_ipv6(void **state)
{
	(void)state;
	assert_render(cli_print_listeners, "{\"listeners\": " LISTENERS "}",
		      "Index  App  Proto  Address           Workers  Sockets\n"
		      "0      web  tcp    0.0.0.0:80        2        2\n"
		      "1      dns  udp    [2001:db8::1]:53  1        0\n");
}

static void test_sessions_table_says_when_limited(void **state)
{
	(void)state;
	assert_render(cli_print_sessions,
		      "{\"total\": 3, \"sessions\": ["
		      "{\"proto\": \"udp\", \"remote\": \"10.0.0.2:40000\", \"local\": \"10.0.0.1:53\", "
		      "\"app\": \"dns\", \"worker\": 3, \"map_index\": 1, \"pid\": 200, "
		      "\"instance\": 2, "
		      "\"state\": \"open\", \"packets\": 5, \"bytes\": 500, \"idle_ms\": 1534}, "
		      "{\"proto\": \"tcp\", \"remote\": \"[2001:db8::2]:51000\", "
		      "\"local\": \"[2001:db8::1]:80\", \"app\": \"web\", \"worker\": 0, "
		      "\"map_index\": 0, \"pid\": 1234, \"instance\": 1, \"state\": \"closing\", "
		      "\"packets\": 12, "
		      "\"bytes\": 4000, \"idle_ms\": 0}]}",
		      "Proto  Remote               Local             App  Worker  Pid   Instance  State    "
		      "Packets  Idle\n"
		      "udp    10.0.0.2:40000       10.0.0.1:53       dns  3       200   2         open     "
		      "5        1.5s\n"
		      "tcp    [2001:db8::2]:51000  [2001:db8::1]:80  web  0       1234  1         closing  "
		      "12       0.0s\n"
		      "(2 of 3 sessions shown; see --limit)\n");
	assert_render(cli_print_sessions, "{\"total\": 0, \"sessions\": []}",
		      "Proto  Remote  Local  App  Worker  Pid  Instance  State  Packets  Idle\n");
}

/* A session on one socket shared by 4 processes names no pid (the kernel
 * picks who gets it) but its worker's instance; a dead worker's session
 * (pid 0, instance 0) names neither; replies without "shared" or
 * "instance" (older agents) still print. */
static void test_sessions_table_shared_socket_no_pid(void **state)
{
	(void)state;
	assert_render(cli_print_sessions,
		      "{\"total\": 3, \"sessions\": ["
		      "{\"proto\": \"udp\", \"remote\": \"10.0.0.2:40000\", \"local\": \"10.0.0.1:53\", "
		      "\"app\": \"sip\", \"worker\": 3, \"map_index\": -1, \"pid\": 0, "
		      "\"shared\": 4, \"instance\": 3, \"state\": \"open\", \"packets\": 5, "
		      "\"bytes\": 500, "
		      "\"idle_ms\": 1534}, "
		      "{\"proto\": \"udp\", \"remote\": \"10.0.0.2:40001\", \"local\": \"10.0.0.1:53\", "
		      "\"app\": \"sip\", \"worker\": 12, \"map_index\": -1, \"pid\": 0, "
		      "\"shared\": 0, \"instance\": 0, \"state\": \"open\", \"packets\": 1, "
		      "\"bytes\": 50, "
		      "\"idle_ms\": 200}, "
		      "{\"proto\": \"udp\", \"remote\": \"10.0.0.2:40002\", \"local\": \"10.0.0.1:53\", "
		      "\"app\": \"dns\", \"worker\": 7, \"map_index\": 2, \"pid\": 4242, "
		      "\"state\": \"open\", \"packets\": 1, \"bytes\": 50, \"idle_ms\": 0}]}",
		      "Proto  Remote          Local        App  Worker     Pid   Instance  State  Packets  "
		      "Idle\n"
		      "udp    10.0.0.2:40000  10.0.0.1:53  sip  shared(4)  -     3         open   5        "
		      "1.5s\n"
		      "udp    10.0.0.2:40001  10.0.0.1:53  sip  12         -     -         open   1        "
		      "0.2s\n"
		      "udp    10.0.0.2:40002  10.0.0.1:53  dns  7          4242  -         open   1        "
		      "0.0s\n");
}

static void test_app_shows_fields_then_tables(void **state)
{
	(void)state;
	assert_render(cli_print_app,
		      "{\"app\": " APP_WEB ", \"workers\": " WORKERS ", \"listeners\": []}",
		      "index: 0\n"
		      "gen: 1\n"
		      "name: web\n"
		      "creator_pid: 0\n"
		      "cgroup: /sys/fs/cgroup/xsl/web\n"
		      "cgroup_id: 4711\n"
		      "policy: reassign\n"
		      "idle_timeout: 60\n"
		      "cpu_steer: false\n"
		      "workers: 2\n"
		      "listeners: 1\n"
		      "sessions: 10\n"
		      "\n"
		      "wrk-index  app  map-index  pid   state  instance  sessions  packets\n"
		      "0          web  0          1234  live   1         7         123456\n"
		      "17         web  1          1240  live   12        3         9\n"
		      "\n"
		      "Index  App  Proto  Address  Workers  Sockets\n");
}

static void test_stats_two_columns(void **state)
{
	(void)state;
	assert_render(cli_print_stats,
		      "{\"stats\": {\"rx_packets\": 100, \"sessions_created\": 7}, "
		      "\"drops\": {\"no_worker\": 2}, \"parse_errors\": {\"truncated\": 1}, "
		      "\"agent\": {\"lost_events\": 0, \"version\": \"abc\", "
		      "\"registrations\": {\"fork\": 3}}}",
		      "Counter                   Value\n"
		      "rx_packets                100\n"
		      "sessions_created          7\n"
		      "drop_no_worker            2\n"
		      "parse_truncated           1\n"
		      "agent_lost_events         0\n"
		      "agent_version             abc\n"
		      "agent_registrations_fork  3\n");
}

static void test_missing_fields_show_dash(void **state)
{
	(void)state;
	assert_render(cli_print_workers, "{\"workers\": [{\"index\": 1, \"pid\": null}]}",
		      "wrk-index  app  map-index  pid  state  instance  sessions  packets\n"
		      "1          -    -          -    -      -         -         -\n");
}

static void test_wrong_shape_is_bad_reply(void **state)
{
	(void)state;
	free(render(cli_print_apps, "{}", -EBADMSG));
	free(render(cli_print_apps, "{\"apps\": {}}", -EBADMSG));
	free(render(cli_print_apps, "{\"apps\": [1]}", -EBADMSG));
	free(render(cli_print_app, "{\"workers\": []}", -EBADMSG));
	free(render(cli_print_stats, "{\"stats\": 5}", -EBADMSG));
}

static void test_attach_and_listen_lines(void **state)
{
	(void)state;
	assert_render(cli_print_attached, "{\"app\": " APP_WEB "}",
		      "app web: index 0, cgroup /sys/fs/cgroup/xsl/web\n");
	assert_render(cli_print_listener,
		      "{\"listener\": {\"index\": 4, \"app\": \"dns\", \"proto\": \"udp\", "
		      "\"addr\": \"::\", \"port\": 53, \"workers\": 0, \"sockets\": 0}}",
		      "listener 4: dns udp [::]:53\n");
}

static void test_json_is_indented_data(void **state)
{
	(void)state;
	assert_render(cli_print_json, "{\"apps\": [{\"index\": 0}]}",
		      "{\n  \"apps\": [\n    {\n      \"index\": 0\n    }\n  ]\n}\n");
}

static void test_reply_ok_and_error(void **state)
{
	const char *ok = "{\"ok\": true, \"data\": {\"apps\": []}}";
	const char *err = "{\"ok\": false, \"error\": \"app attach web: name already in use\", "
			  "\"errno\": 17}";
	struct cli_reply r;

	(void)state;
	assert_int_equal(cli_reply_parse(ok, strlen(ok), &r), 0);
	assert_int_equal(r.err, 0);
	assert_true(json_is_array(json_object_get(r.data, "apps")));
	cli_reply_free(&r);

	assert_int_equal(cli_reply_parse("{\"ok\":true}", 11, &r), 0);
	assert_true(json_is_object(r.data));
	cli_reply_free(&r);

	assert_int_equal(cli_reply_parse(err, strlen(err), &r), 0);
	assert_int_equal(r.err, EEXIST);
	assert_null(r.data);
	assert_string_equal(r.msg, "app attach web: name already in use");
	cli_reply_free(&r);

	/* An error without errno is still an error. */
	assert_int_equal(cli_reply_parse("{\"ok\":false}", 12, &r), 0);
	assert_int_equal(r.err, EIO);
}

static void test_bad_replies(void **state)
{
	static const char *const bad[] = {
		"", "not json", "[]", "{}", "{\"ok\": 1}", "{\"ok\": true, \"data\": []}",
		"{\"ok\": false, \"errno\": \"17\"}", "{\"ok\": false, \"error\": 5}",
		"{\"ok\": true}{\"ok\": true}", "{\"ok\": true",
	};
	struct cli_reply r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cli_reply_parse(bad[i], strlen(bad[i]), &r) != -EBADMSG) {
			print_message("accepted '%s'\n", bad[i]);
			fail();
		}
	}
}

static void test_error_line_names_command_object_errno(void **state)
{
	struct cli_reply r = { .err = EEXIST };
	struct cli_opts o = { .scope = "app attach", .object = "web" };
	char buf[256];

	(void)state;
	strcpy(r.msg, "name already in use");
	cli_format_error(buf, sizeof(buf), &o, &r);
	assert_string_equal(buf, "app attach web: name already in use (EEXIST)");

	/* The agent's text already names the command: not twice. */
	strcpy(r.msg, "app attach web: name already in use");
	cli_format_error(buf, sizeof(buf), &o, &r);
	assert_string_equal(buf, "app attach web: name already in use (EEXIST)");

	strcpy(o.scope, "show stats");
	o.object[0] = '\0';
	r.err = 9999;
	strcpy(r.msg, "read map: odd");
	cli_format_error(buf, sizeof(buf), &o, &r);
	assert_string_equal(buf, "show stats: read map: odd (errno 9999)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apps_table),
		cmocka_unit_test(test_empty_table_is_header),
		cmocka_unit_test(test_workers_table),
		cmocka_unit_test(test_instances_table),
		cmocka_unit_test(test_listeners_table_brackets_ipv6),
		cmocka_unit_test(test_sessions_table_says_when_limited),
		cmocka_unit_test(test_sessions_table_shared_socket_no_pid),
		cmocka_unit_test(test_app_shows_fields_then_tables),
		cmocka_unit_test(test_stats_two_columns),
		cmocka_unit_test(test_missing_fields_show_dash),
		cmocka_unit_test(test_wrong_shape_is_bad_reply),
		cmocka_unit_test(test_attach_and_listen_lines),
		cmocka_unit_test(test_json_is_indented_data),
		cmocka_unit_test(test_reply_ok_and_error),
		cmocka_unit_test(test_bad_replies),
		cmocka_unit_test(test_error_line_names_command_object_errno),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
