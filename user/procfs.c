// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* What /proc tells of a process: see procfs.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "procfs.h"

int procfs__cgroup_of(uint32_t pid, char *out, size_t len)
{
	char path[64], line[PATH_MAX + 8];
	FILE *f;
	int err = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* the v2 hierarchy is the "0::/path" line */
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			if (strlen(line + 3) >= len) {
				err = -ENAMETOOLONG;
				break;
			}
			strcpy(out, line + 3);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}
