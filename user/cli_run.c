// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Exit statuses of `xslctl run` (see cli.h), the way shells report them. */
#include <errno.h>
#include <sys/wait.h>
#include "cli.h"

int cli_exit_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 1;
}

int cli_exec_status(int err)
{
	return err == ENOENT || err == ENOTDIR ? 127 : 126;
}
