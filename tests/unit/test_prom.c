// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The Prometheus text builder (user/prom.h): exact text for each kind of
 * sample, escaping, the format's rules enforced as errors, sticky errors,
 * and a page shaped like the agent's accepted by `promtool check metrics`
 * (required: make deps installs it with the prometheus package).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "prom.h"

/* Finishes p and compares the page with want. */
static void assert_page(struct prom *p, const char *want)
{
	char *text;
	size_t len;

	assert_int_equal(prom__finish(p, &text, &len), 0);
	assert_string_equal(text, want);
	assert_int_equal(len, strlen(want));
	free(text);
}

static void test_family_writes_help_and_type_then_samples(void **state)
{
	struct prom p;

	(void)state;
	prom__init(&p);
	assert_int_equal(prom__family(&p, "xsl_apps", PROM_GAUGE, "Live apps."), 0);
	assert_int_equal(prom__u64(&p, NULL, 0, 3), 0);
	assert_int_equal(prom__family(&p, "xsl_x_total", PROM_COUNTER, "X by kind."), 0);
	assert_int_equal(prom__u64(&p, PROM_LABELS({ "kind", "a" }, { "app", "web" }), 1), 0);
	assert_int_equal(prom__u64(&p, PROM_LABELS({ "kind", "b" }, { "app", "web" }), 2), 0);
	assert_page(&p, "# HELP xsl_apps Live apps.\n"
			"# TYPE xsl_apps gauge\n"
			"xsl_apps 3\n"
			"# HELP xsl_x_total X by kind.\n"
			"# TYPE xsl_x_total counter\n"
			"xsl_x_total{kind=\"a\",app=\"web\"} 1\n"
			"xsl_x_total{kind=\"b\",app=\"web\"} 2\n");
}

static void test_family_without_samples_has_only_help_and_type(void **state)
{
	struct prom p;

	(void)state;
	prom__init(&p);
	prom__family(&p, "xsl_w_total", PROM_COUNTER, NULL);
	assert_page(&p, "# TYPE xsl_w_total counter\n");
}

static void test_family_started_twice_is_eexist(void **state)
{
	struct prom p;
	char *text;
	size_t len;

	(void)state;
	prom__init(&p);
	prom__family(&p, "a_total", PROM_COUNTER, "a");
	prom__family(&p, "b", PROM_GAUGE, "b");
	assert_int_equal(prom__family(&p, "a_total", PROM_COUNTER, "a"), -EEXIST);
	assert_int_equal(prom__finish(&p, &text, &len), -EEXIST);
	assert_null(text);
	assert_int_equal(len, 0);
}

static void test_label_values_escape_backslash_quote_newline(void **state)
{
	struct prom p;

	(void)state;
	prom__init(&p);
	prom__family(&p, "m", PROM_GAUGE, "m");
	prom__u64(&p, PROM_LABELS({ "v", "a\\b\"c\nd" }), 1);
	prom__u64(&p, PROM_LABELS({ "v", "" }), 2);
	prom__u64(&p, PROM_LABELS({ "v", "\\\\\"\"\n\n" }), 3);
	assert_page(&p, "# HELP m m\n# TYPE m gauge\n"
			"m{v=\"a\\\\b\\\"c\\nd\"} 1\n"
			"m{v=\"\"} 2\n"
			"m{v=\"\\\\\\\\\\\"\\\"\\n\\n\"} 3\n");
}

static void test_help_escapes_backslash_and_newline_only(void **state)
{
	struct prom p;

	(void)state;
	prom__init(&p);
	prom__family(&p, "m", PROM_GAUGE, "a \"q\" \\ b\nc");
	assert_page(&p, "# HELP m a \"q\" \\\\ b\\nc\n# TYPE m gauge\n");
}

static void test_bad_names_and_labels_are_einval(void **state)
{
	static const char *const bad_metric[] = { "", "1abc", "a-b", "a b", "a{", "é" };
	static const char *const bad_label[] = { "", "1x", "a:b", "a-b" };
	struct prom p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_metric) / sizeof(bad_metric[0]); i++) {
		prom__init(&p);
		assert_int_equal(prom__family(&p, bad_metric[i], PROM_GAUGE, "x"), -EINVAL);
		prom__free(&p);
	}
	for (size_t i = 0; i < sizeof(bad_label) / sizeof(bad_label[0]); i++) {
		prom__init(&p);
		prom__family(&p, "ok:name_1", PROM_GAUGE, "x");
		assert_int_equal(prom__u64(&p, PROM_LABELS({ bad_label[i], "v" }), 1), -EINVAL);
		prom__free(&p);
	}
	prom__init(&p);
	prom__family(&p, "m", PROM_GAUGE, "x");
	assert_int_equal(prom__u64(&p, PROM_LABELS({ "a", "1" }, { "a", "2" }), 1), -EINVAL);
	prom__free(&p);
	prom__init(&p);
	prom__family(&p, "m", PROM_GAUGE, "x");
	assert_int_equal(prom__u64(&p, PROM_LABELS({ "a", NULL }), 1), -EINVAL);
	prom__free(&p);
}

static void test_sample_needs_a_matching_family(void **state)
{
	static const double b[] = { 1 };
	static const uint64_t c[] = { 0 };
	struct prom p;

	(void)state;
	prom__init(&p);
	assert_int_equal(prom__u64(&p, NULL, 0, 1), -EINVAL);
	prom__free(&p);

	prom__init(&p);
	prom__family(&p, "h_seconds", PROM_HISTOGRAM, "h");
	assert_int_equal(prom__double(&p, NULL, 0, 1.0), -EINVAL);
	prom__free(&p);

	prom__init(&p);
	prom__family(&p, "g", PROM_GAUGE, "g");
	assert_int_equal(prom__histogram(&p, NULL, 0, b, c, 1, 0, 0), -EINVAL);
	prom__free(&p);
}

static void test_histogram_buckets_are_cumulative_with_inf_sum_count(void **state)
{
	static const double bounds[] = { 0.001, 0.01, 1 };
	static const uint64_t counts[] = { 2, 0, 3 };
	struct prom p;

	(void)state;
	prom__init(&p);
	prom__family(&p, "lat_seconds", PROM_HISTOGRAM, "Latency.");
	assert_int_equal(prom__histogram(&p, NULL, 0, bounds, counts, 3, 6, 2.5), 0);
	assert_int_equal(prom__histogram(&p, PROM_LABELS({ "app", "a\"b" }), bounds, counts, 3,
					 5, 0.125), 0);
	assert_page(&p, "# HELP lat_seconds Latency.\n"
			"# TYPE lat_seconds histogram\n"
			"lat_seconds_bucket{le=\"0.001\"} 2\n"
			"lat_seconds_bucket{le=\"0.01\"} 2\n"
			"lat_seconds_bucket{le=\"1\"} 5\n"
			"lat_seconds_bucket{le=\"+Inf\"} 6\n"
			"lat_seconds_sum 2.5\n"
			"lat_seconds_count 6\n"
			"lat_seconds_bucket{app=\"a\\\"b\",le=\"0.001\"} 2\n"
			"lat_seconds_bucket{app=\"a\\\"b\",le=\"0.01\"} 2\n"
			"lat_seconds_bucket{app=\"a\\\"b\",le=\"1\"} 5\n"
			"lat_seconds_bucket{app=\"a\\\"b\",le=\"+Inf\"} 5\n"
			"lat_seconds_sum{app=\"a\\\"b\"} 0.125\n"
			"lat_seconds_count{app=\"a\\\"b\"} 5\n");
}

static void test_histogram_rejects_inconsistent_input(void **state)
{
	static const double unordered[] = { 1, 1 };
	static const double inf[] = { 1, INFINITY };
	static const double ok[] = { 1, 2 };
	static const uint64_t counts[] = { 1, 1 };
	static const uint64_t huge[] = { UINT64_MAX, 2 };
	struct prom p;

	(void)state;
	prom__init(&p);
	prom__family(&p, "h", PROM_HISTOGRAM, "h");
	assert_int_equal(prom__histogram(&p, NULL, 0, unordered, counts, 2, 2, 0), -EINVAL);
	prom__free(&p);

	prom__init(&p);
	prom__family(&p, "h", PROM_HISTOGRAM, "h");
	assert_int_equal(prom__histogram(&p, NULL, 0, inf, counts, 2, 2, 0), -EINVAL);
	prom__free(&p);

	/* buckets adding up to more than count, also through overflow */
	prom__init(&p);
	prom__family(&p, "h", PROM_HISTOGRAM, "h");
	assert_int_equal(prom__histogram(&p, NULL, 0, ok, counts, 2, 1, 0), -EINVAL);
	prom__free(&p);
	prom__init(&p);
	prom__family(&p, "h", PROM_HISTOGRAM, "h");
	assert_int_equal(prom__histogram(&p, NULL, 0, ok, huge, 2, UINT64_MAX, 0), -EINVAL);
	prom__free(&p);

	prom__init(&p);
	prom__family(&p, "h", PROM_HISTOGRAM, "h");
	assert_int_equal(prom__histogram(&p, PROM_LABELS({ "le", "1" }), ok, counts, 2, 2, 0),
			 -EINVAL);
	prom__free(&p);
}

static void test_numbers_are_exact_and_shortest(void **state)
{
	static const double vals[] = { 0.1, 1.0 / 3, 1e-5, 123456789.0, 1.7976931348623157e308,
				       5e-324, -2.5, 0 };
	char buf[32];
	struct prom p;

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		assert_true(strtod(prom__fmt_double(vals[i], buf, sizeof(buf)), NULL) == vals[i]);
	assert_string_equal(prom__fmt_double(0.1, buf, sizeof(buf)), "0.1");
	assert_string_equal(prom__fmt_double(0.00025, buf, sizeof(buf)), "0.00025");
	assert_string_equal(prom__fmt_double(1e9, buf, sizeof(buf)), "1e+09");
	assert_string_equal(prom__fmt_double(INFINITY, buf, sizeof(buf)), "+Inf");
	assert_string_equal(prom__fmt_double(-INFINITY, buf, sizeof(buf)), "-Inf");
	assert_string_equal(prom__fmt_double(NAN, buf, sizeof(buf)), "NaN");

	prom__init(&p);
	prom__family(&p, "big_total", PROM_COUNTER, "b");
	prom__u64(&p, NULL, 0, UINT64_MAX);
	prom__family(&p, "t_seconds", PROM_GAUGE, "t");
	prom__double(&p, NULL, 0, 1712345678.25);
	assert_page(&p, "# HELP big_total b\n# TYPE big_total counter\n"
			"big_total 18446744073709551615\n"
			"# HELP t_seconds t\n# TYPE t_seconds gauge\n"
			"t_seconds 1712345678.25\n");
}

static void test_first_error_is_sticky(void **state)
{
	struct prom p;
	char *text;
	size_t len;

	(void)state;
	prom__init(&p);
	prom__family(&p, "a", PROM_GAUGE, "a");
	assert_int_equal(prom__u64(&p, PROM_LABELS({ "0", "x" }), 1), -EINVAL);
	assert_int_equal(prom__family(&p, "b", PROM_GAUGE, "b"), -EINVAL);
	assert_int_equal(prom__family(&p, "a", PROM_GAUGE, "a"), -EINVAL);
	assert_int_equal(prom__u64(&p, NULL, 0, 1), -EINVAL);
	assert_int_equal(prom__finish(&p, &text, &len), -EINVAL);
	assert_null(text);
	/* finish leaves p empty and usable */
	prom__family(&p, "a", PROM_GAUGE, "a");
	assert_page(&p, "# HELP a a\n# TYPE a gauge\n");
}

static void test_empty_page_is_empty_string(void **state)
{
	struct prom p;

	(void)state;
	prom__init(&p);
	assert_page(&p, "");
}

static void test_large_page_grows(void **state)
{
	struct prom p;
	char *text, idx[16];
	size_t len;

	(void)state;
	prom__init(&p);
	prom__family(&p, "xsl_worker_packets_total", PROM_COUNTER, "w");
	for (unsigned int i = 0; i < 4096; i++) {
		snprintf(idx, sizeof(idx), "%u", i);
		assert_int_equal(prom__u64(&p, PROM_LABELS({ "app", "web" }, { "worker", idx }), i),
				 0);
	}
	assert_int_equal(prom__finish(&p, &text, &len), 0);
	assert_non_null(strstr(text, "packets_total{app=\"web\",worker=\"4095\"} 4095\n"));
	assert_int_equal(strlen(text), len);
	free(text);
}

/* A page with the agent's shapes: info, gauges, labelled counters with
 * awkward values, an empty family and a histogram. */
static char *sample_page(size_t *len)
{
	static const double bounds[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
					 0.01,   0.025,   0.05,   0.1,   0.25,   1.0 };
	static const uint64_t counts[12] = { 3, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct prom p;
	char *text;

	prom__init(&p);
	prom__family(&p, "xsl_build_info", PROM_GAUGE, "Build and runtime versions, value 1.");
	prom__u64(&p, PROM_LABELS({ "version", "v0.1-3-gabc\"dirty\\" }, { "libbpf", "1.1" },
				  { "kernel", "6.18.0\nweird" }), 1);
	prom__family(&p, "xsl_apps", PROM_GAUGE, "Live apps.");
	prom__u64(&p, NULL, 0, 2);
	prom__family(&p, "xsl_workers", PROM_GAUGE, "Live workers per app.");
	prom__u64(&p, PROM_LABELS({ "app", "web" }), 4);
	prom__u64(&p, PROM_LABELS({ "app", "dns.v2" }), 1);
	prom__family(&p, "xsl_xdp_packets_total", PROM_COUNTER, "XDP verdicts by action.");
	prom__u64(&p, PROM_LABELS({ "action", "pass" }), 1000);
	prom__u64(&p, PROM_LABELS({ "action", "drop" }), 3);
	prom__family(&p, "xsl_worker_bytes_total", PROM_COUNTER, "Bytes per live worker.");
	prom__family(&p, "xsl_fork_to_register_seconds", PROM_HISTOGRAM,
		     "From a fork event's kernel timestamp to the worker live in the maps.");
	prom__histogram(&p, NULL, 0, bounds, counts, 12, 11, 1.5003);
	prom__family(&p, "xsl_agent_start_time_seconds", PROM_GAUGE, "Start time, unix seconds.");
	prom__double(&p, NULL, 0, 1712345678);
	assert_int_equal(prom__finish(&p, &text, len), 0);
	return text;
}

/* Exit status of `promtool check metrics` fed text; quiet hides its output. */
static int promtool_check(const char *text, size_t len, bool quiet)
{
	FILE *f;
	int st;

	f = popen(quiet ? "promtool check metrics >/dev/null 2>&1" : "promtool check metrics", "w");
	assert_non_null(f);
	fwrite(text, 1, len, f);
	st = pclose(f);
	assert_true(st != -1 && WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_sample_page_passes_promtool(void **state)
{
	static const char bad[] = "a_total{x=\"\\q\"} 1\n";
	char *text;
	size_t len;

	(void)state;
	if (system("command -v promtool >/dev/null 2>&1") != 0)
		fail_msg("promtool not found: `make deps` installs it (Debian package prometheus)");
	signal(SIGPIPE, SIG_IGN);
	text = sample_page(&len);
	assert_int_equal(promtool_check(text, len, false), 0);
	free(text);
	/* and promtool does reject what the builder never writes */
	assert_int_not_equal(promtool_check(bad, strlen(bad), true), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family_writes_help_and_type_then_samples),
		cmocka_unit_test(test_family_without_samples_has_only_help_and_type),
		cmocka_unit_test(test_family_started_twice_is_eexist),
		cmocka_unit_test(test_label_values_escape_backslash_quote_newline),
		cmocka_unit_test(test_help_escapes_backslash_and_newline_only),
		cmocka_unit_test(test_bad_names_and_labels_are_einval),
		cmocka_unit_test(test_sample_needs_a_matching_family),
		cmocka_unit_test(test_histogram_buckets_are_cumulative_with_inf_sum_count),
		cmocka_unit_test(test_histogram_rejects_inconsistent_input),
		cmocka_unit_test(test_numbers_are_exact_and_shortest),
		cmocka_unit_test(test_first_error_is_sticky),
		cmocka_unit_test(test_empty_page_is_empty_string),
		cmocka_unit_test(test_large_page_grows),
		cmocka_unit_test(test_sample_page_passes_promtool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
