/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Leveled logging to stderr; libbpf and libxdp output is routed through it
 * one level lower (their warnings become our info). */
#ifndef XSL_LOG_H
#define XSL_LOG_H

enum xsl_log_level {
	XSL_LOG_ERROR = 0,
	XSL_LOG_WARN = 1,
	XSL_LOG_INFO = 2,
	XSL_LOG_DEBUG = 3,
};

extern enum xsl_log_level xsl_log_level;

void xsl_log(enum xsl_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "error", "warn", "info", "debug" -> 0 or -EINVAL */
int xsl_log_parse_level(const char *s, enum xsl_log_level *out);

#define pr_err(...) xsl_log(XSL_LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) xsl_log(XSL_LOG_WARN, __VA_ARGS__)
#define pr_info(...) xsl_log(XSL_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) xsl_log(XSL_LOG_DEBUG, __VA_ARGS__)

#endif /* XSL_LOG_H */
