/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xslctl's connection to the agent (ctl_conn.c), shared by the one-shot
 * commands (ctl_main.c) and those that keep talking to it (ctl_top.c): one
 * request line out, one reply line back.
 */
#ifndef XSL_CTL_H
#define XSL_CTL_H

#include <stddef.h>
#include <jansson.h>
#include "cli.h"

/* A connection to the agent; buf holds what was read past the last line. */
struct conn {
	int fd;
	char *buf;
	size_t len, cap;
};

/* Connects to the socket at path; -errno, printing nothing. */
int conn_connect(struct conn *c, const char *path);
void conn_close(struct conn *c);
/*
 * Sends req, reads its reply into r within CLI_TIMEOUT_MS; prints nothing.
 * 0: r is filled (r->err may be set); -EBADMSG / -EMSGSIZE: not a reply,
 * -ETIMEDOUT, -ECONNRESET (the agent closed), other -errno.
 */
int conn_exchange(struct conn *c, json_t *req, struct cli_reply *r);

/* `xslctl top` (ctl_top.c): the exit status. */
int do_top(struct conn *c, const struct cli_opts *o, const char *socket);

#endif /* XSL_CTL_H */
