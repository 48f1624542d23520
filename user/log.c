// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "log.h"

enum xsl_log_level xsl_log_level = XSL_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

/* A line is written with one write(2) (stderr is unbuffered): the agent
 * logs on its fork path, and a reader never sees half a line. A line too
 * long for the buffer (long paths) is written in two. */
void xsl_log(enum xsl_log_level level, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	va_list ap;
	int n, m;

	if (level > xsl_log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(line, sizeof(line), "%lld.%03ld %s: ", (long long)ts.tv_sec,
		     ts.tv_nsec / 1000000, level_names[level]);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	if ((size_t)(n + m) < sizeof(line)) {
		fwrite(line, 1, (size_t)(n + m), stderr);
		return;
	}
	fwrite(line, 1, (size_t)n, stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

int xsl_log_parse_level(const char *s, enum xsl_log_level *out)
{
	for (unsigned int i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcmp(s, level_names[i])) {
			*out = (enum xsl_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}
