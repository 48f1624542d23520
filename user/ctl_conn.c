// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xslctl's connection to the agent: connect, and one request line out with
 * its reply line back (at most CLI_REPLY_MAX bytes, within CLI_TIMEOUT_MS).
 * Nothing here prints: the callers (ctl_main.c, ctl_top.c) say what failed.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "clock.h"
#include "cli.h"
#include "ctl.h"

void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
	c->len = c->cap = 0;
}

int conn_connect(struct conn *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int err;

	*c = (struct conn){ .fd = -1 };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		conn_close(c);
		return err;
	}
	return 0;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Reads one line (without its '\n') into a malloc'd *line of *len bytes.
 * -ETIMEDOUT after CLI_TIMEOUT_MS, -EMSGSIZE past CLI_REPLY_MAX,
 * -ECONNRESET when the agent closes first.
 */
static int recv_line(struct conn *c, char **line, size_t *len)
{
	long long deadline = (long long)mono_ms() + CLI_TIMEOUT_MS;
	size_t scanned = 0;
	char *nl, *p;

	for (;;) {
		nl = c->len ? memchr(c->buf + scanned, '\n', c->len - scanned) : NULL;
		if (nl)
			break;
		scanned = c->len;
		if (c->len > CLI_REPLY_MAX)
			return -EMSGSIZE;
		if (c->cap - c->len < 65536) {
			p = realloc(c->buf, c->len + 65536 + c->len / 2);
			if (!p)
				return -ENOMEM;
			c->buf = p;
			c->cap = c->len + 65536 + c->len / 2;
		}

		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		long long left = deadline - (long long)mono_ms();
		ssize_t r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		r = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (r < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (r == 0)
			return -ECONNRESET;
		if (r > 0)
			c->len += (size_t)r;
	}
	*len = (size_t)(nl - c->buf);
	if (*len > CLI_REPLY_MAX)
		return -EMSGSIZE;
	*line = malloc(*len + 1);
	if (!*line)
		return -ENOMEM;
	memcpy(*line, c->buf, *len);
	(*line)[*len] = '\0';
	c->len -= *len + 1;
	memmove(c->buf, nl + 1, c->len);
	return 0;
}

/*
 * Sends req, reads its reply into r. 0: r is filled (r->err may be set);
 * otherwise a negative errno (see ctl.h), nothing printed.
 */
int conn_exchange(struct conn *c, json_t *req, struct cli_reply *r)
{
	char *out = json_dumps(req, JSON_COMPACT), *line = NULL;
	size_t len = 0;
	int err = -ENOMEM;

	if (out) {
		size_t n = strlen(out);

		out[n] = '\n';	/* the line's end where the NUL was; n + 1 bytes go out */
		err = send_all(c->fd, out, n + 1);
		free(out);
	}
	if (!err)
		err = recv_line(c, &line, &len);
	if (!err)
		err = cli_reply_parse(line, len, r);
	free(line);
	return err;
}
