// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Cgroup directories the agent removes (an app's, an instance's): removed
 * at once, or retried on the next ticks while an exiting task still holds
 * the directory (its EXIT event comes before it has left the cgroup).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include "agent.h"
#include "log.h"

#define RMDIR_TRIES 50
#define N_RMDIRS (sizeof(((struct agent *)0)->rmdirs) / sizeof(((struct agent *)0)->rmdirs[0]))

/* The EXIT event comes while the task is still in its cgroup: try again on
 * the next ticks. */
static void rmdirs_later(struct agent *a, const char *path, const char *what)
{
	for (unsigned int i = 0; i < N_RMDIRS; i++) {
		if (!a->rmdirs[i].path[0]) {
			size_t n = strnlen(path, sizeof(a->rmdirs[i].path) - 1);

			memcpy(a->rmdirs[i].path, path, n);
			a->rmdirs[i].path[n] = '\0';
			a->rmdirs[i].tries = 0;
			return;
		}
	}
	pr_warn("remove cgroup %s (%s): %s\n", path, what, strerror(EBUSY));
}

void rmdirs__remove(struct agent *a, const char *path, const char *what)
{
	if (rmdir(path) && errno != ENOENT)
		rmdirs_later(a, path, what);
}

void rmdirs__retry(struct agent *a)
{
	for (unsigned int i = 0; i < N_RMDIRS; i++) {
		char *path = a->rmdirs[i].path;

		if (!path[0])
			continue;
		if (!rmdir(path) || errno == ENOENT) {
			path[0] = '\0';
		} else if (++a->rmdirs[i].tries >= RMDIR_TRIES) {
			pr_warn("remove cgroup %s: %s\n", path, strerror(errno));
			path[0] = '\0';
		}
	}
}

bool rmdirs__cancel(struct agent *a, const char *path)
{
	bool queued = false;

	for (unsigned int i = 0; i < N_RMDIRS; i++) {
		if (!strcmp(a->rmdirs[i].path, path)) {
			a->rmdirs[i].path[0] = '\0';
			queued = true;
		}
	}
	return queued;
}
