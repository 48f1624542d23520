// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A control client's peer process: is the process that connected (its pid
 * from SO_PEERCRED, held by the pidfd from SO_PEERPIDFD) still alive, so
 * its pid is still its own? Asked by the commands that trust the peer's
 * pid; below both the control socket (agent_ctl.c) and the commands
 * (agent_cmds.c), so neither calls the other back.
 */
#include <errno.h>
#include <stdio.h>
#include "agent.h"

int peer__alive(const struct agent_client *cl)
{
	char path[64], line[128];
	long long pid = -1;
	FILE *f;

	if (cl->pidfd < 0)
		return -ESRCH;
	/* "Pid:" of a pidfd is -1 once its process is gone (reaped) */
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", cl->pidfd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %lld", &pid) == 1)
			break;
	fclose(f);
	return pid == (long long)cl->pid ? 0 : -ESRCH;
}
