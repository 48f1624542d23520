// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `xslctl top`'s pure part (user/cli_top.c): rates from two successive
 * show replies, the sort, and the screen text, compared exactly.
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
#include "cli_top.h"

#define APP(idx, gen, name, wrk, sess, created, pkts, bytes, drops)                           \
	"{\"index\": " #idx ", \"gen\": " #gen ", \"name\": \"" name "\", \"workers\": " #wrk    \
	", \"listeners\": 1, \"sessions\": " #sess ", \"created\": " #created                   \
	", \"packets\": " #pkts ", \"bytes\": " #bytes ", \"drops\": " #drops "}"
#define WRK(idx, gen, app, pid, sess, created, pkts, bytes)                                   \
	"{\"index\": " #idx ", \"gen\": " #gen ", \"app\": \"" app "\", \"pid\": " #pid         \
	", \"state\": \"live\", \"sessions\": " #sess ", \"created\": " #created                \
	", \"packets\": " #pkts ", \"bytes\": " #bytes "}"

static json_t *load(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);

	assert_non_null(j);
	return j;
}

/* Rows of cur against prev (either may be NULL text). */
static size_t rows_of(const char *prev, const char *cur, double dt, bool workers,
		      const char *name, struct top_row **rows)
{
	json_t *p = prev ? load(prev) : NULL, *c = load(cur);
	size_t n;

	assert_int_equal(top_rows(p, c, dt, workers, name, rows, &n), 0);
	json_decref(p);
	json_decref(c);
	return n;
}

static char *screen(const struct top_view *v, const struct top_row *rows, size_t n,
		    unsigned int width, unsigned int height)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	top_render(f, v, rows, n, width, height);
	fclose(f);
	return buf;
}

static void assert_text(char *got, const char *want)
{
	if (strcmp(got, want))
		print_message("got:\n%s\nwant:\n%s\n", got, want);
	assert_string_equal(got, want);
	free(got);
}

static void test_app_rates_are_deltas_over_the_interval(void **state)
{
	struct top_row *r;
	size_t n;

	(void)state;
	n = rows_of("{\"apps\": [" APP(0, 1, "web", 2, 5, 100, 1000, 50000, 0) "]}",
		    "{\"apps\": [" APP(0, 1, "web", 2, 7, 104, 1400, 90000, 6) "]}", 2.0, false,
		    NULL, &r);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].app, "web");
	assert_string_equal(r[0].state, "serving");
	assert_int_equal(r[0].workers, 2);
	assert_int_equal(r[0].sessions, 7);
	assert_int_equal(r[0].worker, -1);
	assert_true(r[0].new_s == 2.0);
	assert_true(r[0].pkts_s == 200.0);
	assert_true(r[0].bytes_s == 20000.0);
	assert_true(r[0].drops_s == 3.0);
	free(r);
}

static void test_new_or_reused_or_reset_rows_rate_zero(void **state)
{
	struct top_row *r;
	size_t n;

	(void)state;
	/* worker 3 is a new worker (gen 2) in a reused index; worker 4 is new;
	 * worker 5's counter went down (the agent restarted) */
	n = rows_of("{\"workers\": [" WRK(3, 1, "web", 10, 0, 0, 500, 900) ", "
		    WRK(5, 1, "web", 12, 0, 0, 500, 900) "]}",
		    "{\"workers\": [" WRK(3, 2, "web", 11, 0, 1, 600, 1000) ", "
		    WRK(4, 1, "web", 13, 0, 1, 50, 100) ", "
		    WRK(5, 1, "web", 12, 0, 0, 20, 30) "]}",
		    1.0, true, NULL, &r);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_true(r[i].pkts_s == 0 && r[i].bytes_s == 0 && r[i].new_s == 0);
		assert_true(r[i].drops_s < 0);	/* not counted per worker */
		assert_string_equal(r[i].state, "live");
	}
	assert_int_equal(r[0].worker, 3);
	assert_int_equal(r[0].pid, 11);
	free(r);
	/* no previous reply at all */
	n = rows_of(NULL, "{\"apps\": [" APP(0, 1, "web", 0, 5, 100, 1000, 50000, 0) "]}", 1.0,
		    false, NULL, &r);
	assert_int_equal(n, 1);
	assert_true(r[0].pkts_s == 0);
	assert_string_equal(r[0].state, "idle");
	free(r);
}

static void test_name_keeps_one_app(void **state)
{
	struct top_row *r;
	size_t n;

	(void)state;
	n = rows_of(NULL, "{\"workers\": [" WRK(0, 1, "web", 10, 0, 0, 0, 0) ", "
		    WRK(1, 1, "dns", 11, 0, 0, 0, 0) ", " WRK(2, 1, "web", 12, 0, 0, 0, 0) "]}",
		    1.0, true, "web", &r);
	assert_int_equal(n, 2);
	assert_string_equal(r[0].app, "web");
	assert_string_equal(r[1].app, "web");
	free(r);
	n = rows_of(NULL, "{\"workers\": []}", 1.0, true, "web", &r);
	assert_int_equal(n, 0);
	assert_null(r);
}

static void test_bad_shapes_are_ebadmsg(void **state)
{
	static const char *const bad[] = {
		"{}", "{\"apps\": 3}", "{\"apps\": [1]}", "{\"apps\": [{\"index\": 0}]}",
		"{\"apps\": [{\"index\": \"0\", \"name\": \"web\"}]}",
	};
	struct top_row *r;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = load(bad[i]);

		assert_int_equal(top_rows(NULL, j, 1.0, false, NULL, &r, &n), -EBADMSG);
		assert_null(r);
		json_decref(j);
	}
}

static void test_sort_busiest_first_by_each_key(void **state)
{
	struct top_row rows[3] = {
		{ .app = "a", .pkts_s = 10, .bytes_s = 300, .new_s = 1, .sessions = 9 },
		{ .app = "b", .pkts_s = 30, .bytes_s = 100, .new_s = 3, .sessions = 1,
		  .drops_s = 5 },
		{ .app = "c", .pkts_s = 20, .bytes_s = 200, .new_s = 2, .sessions = 5 },
	};
	static const char *const want[TOP_SORT__MAX] = {
		[TOP_SORT_PACKETS] = "bca", [TOP_SORT_BYTES] = "acb", [TOP_SORT_NEW] = "bca",
		/* drops: a and c tie, by name */
		[TOP_SORT_SESSIONS] = "acb", [TOP_SORT_DROPS] = "bac",
	};

	(void)state;
	for (int s = 0; s < TOP_SORT__MAX; s++) {
		char got[4] = { 0 };

		top_sort(rows, 3, (enum top_sort)s);
		for (int i = 0; i < 3; i++)
			got[i] = rows[i].app[0];
		assert_string_equal(got, want[s]);
	}
}

static void test_rate_format(void **state)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ -1, "-" },	     { 0, "0" },	 { 0.04, "0.1" },   { 0.5, "0.5" },
		{ 9.94, "9.9" },     { 10, "10" },	 { 9999, "9999" },  { 12345, "12.3k" },
		{ 999000, "999k" },  { 4.5e6, "4.5M" },	 { 2.5e9, "2.5G" },
	};
	char buf[16];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		top_fmt_rate(buf, sizeof(buf), cases[i].v);
		assert_string_equal(buf, cases[i].want);
	}
}

static void test_apps_screen(void **state)
{
	struct top_row rows[2] = {
		{ .app = "web", .worker = -1, .state = "serving", .workers = 5, .sessions = 1200,
		  .new_s = 12, .pkts_s = 45000, .bytes_s = 3.2e6, .drops_s = 0 },
		{ .app = "resolver", .worker = -1, .state = "idle", .workers = 0, .sessions = 0 },
	};
	struct top_view v = { .keys = true };

	(void)state;
	assert_text(screen(&v, rows, 2, 0, 0),
		    "xsl top: 2 apps, 5 workers, 1200 sessions; new/s 12, pkts/s 45.0k, "
		    "bytes/s 3.2M\n"
		    "view: apps (a)  sort: packets (s)  quit (q)\n"
		    "\n"
		    "APP       STATE        WORKERS  SESSIONS   NEW/s  PKTS/s  BYTES/s  DROPS/s\n"
		    "web       serving            5      1200      12   45.0k     3.2M        0\n"
		    "resolver  idle               0         0       0       0        0        0\n");
}

static void test_workers_screen_with_status(void **state)
{
	struct top_row rows[1] = {
		{ .app = "web", .worker = 17, .pid = 4242, .state = "live", .sessions = 3,
		  .new_s = 0.5, .pkts_s = 7, .bytes_s = 700, .drops_s = -1 },
	};
	struct top_view v = { .workers = true, .sort = TOP_SORT_BYTES, .name = "web",
			      .status = "agent: connection lost, retrying" };

	(void)state;
	assert_text(screen(&v, rows, 1, 0, 0),
		    "xsl top web: 1 workers, 3 sessions; new/s 0.5, pkts/s 7.0, bytes/s 700\n"
		    "agent: connection lost, retrying\n"
		    "\n"
		    "APP  WORKER      PID  STATE        SESSIONS   NEW/s  PKTS/s  BYTES/s  "
		    "DROPS/s\n"
		    "web      17     4242  live                3     0.5     7.0      700        "
		    "-\n");
}

static void test_screen_fits_the_terminal(void **state)
{
	struct top_row rows[6];
	struct top_view v = { 0 };
	char *got;

	(void)state;
	memset(rows, 0, sizeof(rows));
	for (int i = 0; i < 6; i++) {
		snprintf(rows[i].app, sizeof(rows[i].app), "app%d", i);
		snprintf(rows[i].state, sizeof(rows[i].state), "serving");
	}
	/* 4 lines of header, 2 rows, then "... 4 more" */
	got = screen(&v, rows, 6, 20, 7);
	assert_text(got, "xsl top: 6 apps, 0 w\n"
			 "view: apps  sort: pa\n"
			 "\n"
			 "APP   STATE        W\n"
			 "app0  serving\n"
			 "app1  serving\n"
			 "... 4 more\n");
	/* no rows: says so */
	got = screen(&v, NULL, 0, 0, 0);
	assert_non_null(strstr(got, "(no apps)\n"));
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_app_rates_are_deltas_over_the_interval),
		cmocka_unit_test(test_new_or_reused_or_reset_rows_rate_zero),
		cmocka_unit_test(test_name_keeps_one_app),
		cmocka_unit_test(test_bad_shapes_are_ebadmsg),
		cmocka_unit_test(test_sort_busiest_first_by_each_key),
		cmocka_unit_test(test_rate_format),
		cmocka_unit_test(test_apps_screen),
		cmocka_unit_test(test_workers_screen_with_status),
		cmocka_unit_test(test_screen_fits_the_terminal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
