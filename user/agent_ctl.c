// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The control socket: a unix stream socket, one JSON request per line, one
 * JSON reply per line (docs/protocol.md). Clients are non-blocking and
 * buffered both ways, so a slow or silent client never stalls the agent; a
 * line over AGENT_MAX_LINE or a client that lets AGENT_MAX_OUT of replies pile
 * up is answered with an error (when possible) and dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <jansson.h>
#include "agent.h"
#include "log.h"
#include "mounts.h"

int ctl__open(struct agent *a)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[sizeof(sun.sun_path)];
	char *slash;
	int fd, err;

	if (strlen(a->o.socket_path) >= sizeof(sun.sun_path)) {
		pr_err("control socket %s: path too long\n", a->o.socket_path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, a->o.socket_path);
	strcpy(dir, a->o.socket_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mounts__mkdir_p(dir, 0755);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* a stale socket from a crashed agent: nobody answers on it */
	if (!connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		pr_err("control socket %s: another agent is running\n", a->o.socket_path);
		close(fd);
		return -EADDRINUSE;
	}
	unlink(a->o.socket_path);
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || listen(fd, 64) ||
	    chmod(a->o.socket_path, 0660)) {
		err = -errno;
		pr_err("control socket %s: %s\n", a->o.socket_path, strerror(-err));
		close(fd);
		return err;
	}
	for (int i = 0; i < AGENT_MAX_CLIENTS; i++)
		a->clients[i].fd = -1;
	a->ctl_fd = fd;
	return agent__epoll_add(a, fd, TAG_CTL, 0);
}

static void client_close(struct agent *a, struct agent_client *cl)
{
	if (cl->fd >= 0) {
		epoll_ctl(a->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
		close(cl->fd);
	}
	free(cl->in);
	free(cl->out);
	*cl = (struct agent_client){ .fd = -1 };
}

void ctl__close(struct agent *a)
{
	for (int i = 0; i < AGENT_MAX_CLIENTS; i++)
		if (a->clients[i].fd >= 0)
			client_close(a, &a->clients[i]);
	if (a->ctl_fd >= 0) {
		close(a->ctl_fd);
		unlink(a->o.socket_path);
		a->ctl_fd = -1;
	}
}

void ctl__accept(struct agent *a)
{
	for (;;) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct agent_client *cl = NULL;
		int fd = accept4(a->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		for (int i = 0; i < AGENT_MAX_CLIENTS; i++) {
			if (a->clients[i].fd < 0) {
				cl = &a->clients[i];
				break;
			}
		}
		if (!cl || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
			pr_warn("control: refusing a client (%s)\n",
				cl ? strerror(errno) : "too many clients");
			close(fd);
			continue;
		}
		*cl = (struct agent_client){ .fd = fd, .pid = (uint32_t)cred.pid,
					     .uid = (uint32_t)cred.uid };
		if (agent__epoll_add(a, fd, TAG_CLIENT, (uint32_t)(cl - a->clients))) {
			close(fd);
			cl->fd = -1;
		}
	}
}

static void client_want_write(struct agent *a, struct agent_client *cl, bool on)
{
	struct epoll_event ev = {
		/* a closing client is only written to: its EOF would wake us forever */
		.events = (cl->closing ? 0 : EPOLLIN | EPOLLRDHUP) | (on ? EPOLLOUT : 0),
		.data.u64 = AGENT_EV(TAG_CLIENT, (uint32_t)(cl - a->clients)),
	};

	epoll_ctl(a->epfd, EPOLL_CTL_MOD, cl->fd, &ev);
}

/* Writes what is buffered; false when the client must be dropped. */
static bool client_flush(struct agent *a, struct agent_client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				client_want_write(a, cl, true);
				return true;
			}
			return false;
		}
		cl->out_off += (size_t)n;
	}
	cl->out_len = cl->out_off = 0;
	client_want_write(a, cl, false);
	return !cl->closing;
}

static bool client_queue(struct agent_client *cl, json_t *reply)
{
	char *text = json_dumps(reply, JSON_COMPACT);
	size_t n;
	char *buf;

	if (!text)
		return false;
	n = strlen(text);
	if (cl->out_len - cl->out_off + n + 1 > AGENT_MAX_OUT) {
		free(text);
		return false;
	}
	if (cl->out_off) {
		memmove(cl->out, cl->out + cl->out_off, cl->out_len - cl->out_off);
		cl->out_len -= cl->out_off;
		cl->out_off = 0;
	}
	buf = realloc(cl->out, cl->out_len + n + 1);
	if (!buf) {
		free(text);
		return false;
	}
	cl->out = buf;
	memcpy(cl->out + cl->out_len, text, n);
	cl->out[cl->out_len + n] = '\n';
	cl->out_len += n + 1;
	free(text);
	return true;
}

static json_t *error_reply(int err, const char *msg)
{
	return json_pack("{s:b, s:s, s:i}", "ok", 0, "error", msg, "errno", err);
}

/* Handles one complete line; false when the client must be dropped. */
static bool client_line(struct agent *a, struct agent_client *cl, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req, *reply;
	bool ok;

	a->c.ctl_requests++;
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req || !json_is_object(req)) {
		char msg[256];

		a->c.ctl_bad++;
		snprintf(msg, sizeof(msg), "bad request: %s",
			 req ? "not a JSON object" : jerr.text);
		reply = error_reply(EINVAL, msg);
	} else {
		reply = cmds__dispatch(a, cl, req);
	}
	json_decref(req);
	if (json_is_false(json_object_get(reply, "ok")))
		a->c.ctl_errors++;
	ok = client_queue(cl, reply);
	json_decref(reply);
	return ok;
}

static bool client_read(struct agent *a, struct agent_client *cl)
{
	char buf[16384];

	for (;;) {
		ssize_t n = recv(cl->fd, buf, sizeof(buf), 0);
		size_t start = 0;

		if (n == 0) {
			/* the peer is done sending: answer what it asked, then close */
			cl->closing = true;
			return true;
		}
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK;
		if (!cl->in) {
			cl->in = malloc(AGENT_MAX_LINE);
			if (!cl->in)
				return false;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n')
				continue;
			size_t part = (size_t)i - start;

			if (cl->in_len + part > AGENT_MAX_LINE)
				goto too_long;
			memcpy(cl->in + cl->in_len, buf + start, part);
			if (!client_line(a, cl, cl->in, cl->in_len + part))
				return false;
			cl->in_len = 0;
			start = (size_t)i + 1;
		}
		if (cl->in_len + ((size_t)n - start) > AGENT_MAX_LINE)
			goto too_long;
		memcpy(cl->in + cl->in_len, buf + start, (size_t)n - start);
		cl->in_len += (size_t)n - start;
	}
too_long:
	a->c.ctl_bad++;
	{
		json_t *reply = error_reply(EMSGSIZE, "request line too long");

		client_queue(cl, reply);
		json_decref(reply);
	}
	cl->closing = true;
	return true;
}

void ctl__client_io(struct agent *a, uint32_t idx, uint32_t events)
{
	struct agent_client *cl;

	if (idx >= AGENT_MAX_CLIENTS || a->clients[idx].fd < 0)
		return;
	cl = &a->clients[idx];
	if ((events & EPOLLIN) && !cl->closing && !client_read(a, cl))
		goto drop;
	if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN))
		goto drop;
	if (!client_flush(a, cl))
		goto drop;
	return;
drop:
	client_close(a, cl);
}
