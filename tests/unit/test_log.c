// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * log: a line is one write(2), a long line is whole, levels filter. stderr
 * (fd 2) is a SOCK_SEQPACKET socket while a test logs: each write is one
 * message there, so the messages show how the line was written.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include "log.h"

static int sv[2] = { -1, -1 }, saved_stderr = -1;

static void capture(void)
{
	fflush(stderr);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	saved_stderr = dup(2);
	assert_true(saved_stderr >= 0);
	assert_int_equal(dup2(sv[0], 2), 2);
}

/* Ends the capture; the writes made, one message each, into msgs. */
static int captured(char msgs[][4096], int max)
{
	int n = 0;
	ssize_t len;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	close(sv[0]);
	while (n < max && (len = recv(sv[1], msgs[n], 4095, MSG_DONTWAIT)) > 0)
		msgs[n++][len] = '\0';
	close(sv[1]);
	return n;
}

static void test_a_line_is_one_write(void **state)
{
	char msgs[4][4096];

	(void)state;
	xsl_log_level = XSL_LOG_INFO;
	capture();
	pr_info("worker %u for pid %u\n", 3, 1234);
	assert_int_equal(captured(msgs, 4), 1);
	assert_non_null(strstr(msgs[0], " info: worker 3 for pid 1234\n"));
	assert_ptr_equal(strchr(msgs[0], '\n'), msgs[0] + strlen(msgs[0]) - 1);
}

static void test_a_long_line_is_whole(void **state)
{
	char big[3000], msgs[4][4096], all[8192] = "";
	int n;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	xsl_log_level = XSL_LOG_INFO;
	capture();
	pr_warn("path %s end\n", big);
	n = captured(msgs, 4);
	assert_true(n >= 1 && n <= 2);
	for (int i = 0; i < n; i++)
		strcat(all, msgs[i]);
	assert_non_null(strstr(all, " warn: path "));
	assert_non_null(strstr(all, big));
	assert_int_equal(strlen(strstr(all, " end\n")), 5);
}

static void test_a_level_below_is_dropped(void **state)
{
	char msgs[4][4096];

	(void)state;
	xsl_log_level = XSL_LOG_WARN;
	capture();
	pr_info("not shown\n");
	pr_debug("not shown\n");
	assert_int_equal(captured(msgs, 4), 0);
	xsl_log_level = XSL_LOG_INFO;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_line_is_one_write),
		cmocka_unit_test(test_a_long_line_is_whole),
		cmocka_unit_test(test_a_level_below_is_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
