// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Exit statuses of `xslctl run` (user/cli.h): CMD's exit code as is, 128 +
 * signal when a signal killed it, 127/126 when it could not be executed,
 * checked on made-up statuses and on real children's waitpid() statuses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "cli.h"

static void test_exit_code_passes_through(void **state)
{
	(void)state;
	assert_int_equal(cli_exit_status(W_EXITCODE(0, 0)), 0);
	assert_int_equal(cli_exit_status(W_EXITCODE(1, 0)), 1);
	assert_int_equal(cli_exit_status(W_EXITCODE(42, 0)), 42);
	assert_int_equal(cli_exit_status(W_EXITCODE(255, 0)), 255);
}

static void test_signal_is_128_plus_signal(void **state)
{
	(void)state;
	assert_int_equal(cli_exit_status(W_EXITCODE(0, SIGINT)), 130);
	assert_int_equal(cli_exit_status(W_EXITCODE(0, SIGKILL)), 137);
	assert_int_equal(cli_exit_status(W_EXITCODE(0, SIGTERM)), 143);
	/* A core dump does not change the status. */
	assert_int_equal(cli_exit_status(W_EXITCODE(0, SIGQUIT) | WCOREFLAG), 131);
}

static void test_exec_failure_statuses(void **state)
{
	(void)state;
	assert_int_equal(cli_exec_status(ENOENT), 127);
	assert_int_equal(cli_exec_status(ENOTDIR), 127);
	assert_int_equal(cli_exec_status(EACCES), 126);
	assert_int_equal(cli_exec_status(ENOEXEC), 126);
}

/* The waitpid() status of a child that raises sig (when not 0) or exits with code. */
static int child_status(int code, int sig)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid) {
		if (sig) {
			signal(sig, SIG_DFL);
			raise(sig);
		}
		_exit(code);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void test_real_children(void **state)
{
	(void)state;
	assert_int_equal(cli_exit_status(child_status(0, 0)), 0);
	assert_int_equal(cli_exit_status(child_status(3, 0)), 3);
	assert_int_equal(cli_exit_status(child_status(0, SIGTERM)), 143);
	assert_int_equal(cli_exit_status(child_status(0, SIGUSR1)), 128 + SIGUSR1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_code_passes_through),
		cmocka_unit_test(test_signal_is_128_plus_signal),
		cmocka_unit_test(test_exec_failure_statuses),
		cmocka_unit_test(test_real_children),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
