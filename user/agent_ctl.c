// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The control socket: a unix stream socket, one JSON request per line, one
 * JSON reply per line (docs/protocol.md). Clients are non-blocking and
 * buffered both ways, and no client can keep the others waiting:
 *
 * - admission: AGENT_MAX_CLIENTS slots, the last AGENT_ROOT_CLIENTS only for
 *   root, at most AGENT_UID_CLIENTS per other uid (guard__admit);
 * - idle: a client without a complete request for --client-idle-s is dropped;
 * - fairness: reading only fills a client's input buffer; requests are
 *   handled in ctl__serve(), at most AGENT_CLIENT_BURST (fewer once
 *   AGENT_CLIENT_SLICE_US are used) per client per loop turn, and a client
 *   with a complete line buffered is not read from until it is handled (the
 *   loop does not sleep while requests are buffered);
 * - backpressure: a client with AGENT_OUT_HIGH of replies unread is neither
 *   read from nor served until it reads; one reply is at most
 *   AGENT_MAX_REPLY and all clients' unread replies at most AGENT_OUT_TOTAL
 *   (over that, the request gets a short error reply instead);
 * - every request line gets exactly one reply; a line over AGENT_MAX_LINE
 *   is answered with an error and the client closed.
 *
 * The peer's uid and pid come from SO_PEERCRED at connect, and a pidfd of the
 * peer from SO_PEERPIDFD: a request that trusts the peer's pid checks first
 * that the process is still alive (peer__alive), so a pid recycled after
 * the peer exited is never taken for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "clock.h"
#include "agent.h"
#include "guard.h"
#include "log.h"
#include "mounts.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

static const struct guard_slots slots = {
	.max = AGENT_MAX_CLIENTS,
	.root_reserved = AGENT_ROOT_CLIENTS,
	.per_uid = AGENT_UID_CLIENTS,
};

static const struct guard_out out_budget = {
	.high = AGENT_OUT_HIGH,
	.max_reply = AGENT_MAX_REPLY,
	.total = AGENT_OUT_TOTAL,
};

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
		a->clients[i] = (struct agent_client){ .fd = -1, .pidfd = -1 };
	a->ctl_fd = fd;
	return agent__epoll_add(a, fd, TAG_CTL, 0);
}

static size_t out_pending(const struct agent_client *cl)
{
	return cl->out_len - cl->out_off;
}

static void client_close(struct agent *a, struct agent_client *cl)
{
	if (cl->fd >= 0) {
		epoll_ctl(a->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
		close(cl->fd);
	}
	if (cl->pidfd >= 0)
		close(cl->pidfd);
	a->ctl.out_total -= out_pending(cl);
	free(cl->in);
	free(cl->out);
	*cl = (struct agent_client){ .fd = -1, .pidfd = -1 };
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

static json_t *error_reply(int err, const char *msg)
{
	return json_pack("{s:b, s:s, s:i}", "ok", 0, "error", msg, "errno", err);
}

/* One error line to a client about to be closed, if its socket takes it now. */
static void say_goodbye(int fd, int err, const char *msg)
{
	json_t *reply = error_reply(err, msg);
	char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;

	if (text) {
		size_t n = strlen(text);

		text[n] = '\n';
		send(fd, text, n + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		text[n] = '\0';
	}
	free(text);
	json_decref(reply);
}

/* Warnings about refused or dropped clients: at most one a second. */
static bool warn_now(struct agent *a)
{
	uint64_t now = mono_ns();

	if (a->ctl.warned_ns && now - a->ctl.warned_ns < 1000000000ull)
		return false;
	a->ctl.warned_ns = now;
	return true;
}

/* The peer's pidfd: SO_PEERPIDFD names the process that connected even if
 * it is gone by now; before Linux 6.5 a pidfd of its pid is the best left. */
static int peer_pidfd(int fd, pid_t pid)
{
	socklen_t len = sizeof(int);
	int pidfd = -1;

	if (!getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len))
		return pidfd;
	if (errno == ENOPROTOOPT)
		return pidfd_open(pid, 0);
	return -1;
}

static void client_accept(struct agent *a, int fd)
{
	struct agent_client *cl = NULL;
	unsigned int used = 0, uid_used = 0;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char msg[160];
	int err;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		pr_warn("control: refusing a client: peer credentials: %s\n", strerror(errno));
		close(fd);
		return;
	}
	for (int i = 0; i < AGENT_MAX_CLIENTS; i++) {
		if (a->clients[i].fd < 0) {
			if (!cl)
				cl = &a->clients[i];
			continue;
		}
		used++;
		uid_used += a->clients[i].uid == cred.uid;
	}
	err = guard__admit(&slots, cred.uid, used, uid_used);
	if (err) {
		snprintf(msg, sizeof(msg), "control socket: %s (uid %u, %u of %u connections in use)",
			 err == -EUSERS ? "too many connections of this uid" :
			 err == -EAGAIN ? "the last connections are kept for root" :
					  "too many connections",
			 (unsigned int)cred.uid, used, AGENT_MAX_CLIENTS);
		a->ctl.refused++;
		if (warn_now(a))
			pr_warn("%s: refused (%llu refused so far)\n", msg,
				(unsigned long long)a->ctl.refused);
		say_goodbye(fd, -err, msg);
		close(fd);
		return;
	}
	*cl = (struct agent_client){ .fd = fd, .pid = (uint32_t)cred.pid, .uid = (uint32_t)cred.uid,
				     .pidfd = peer_pidfd(fd, cred.pid), .active_ns = mono_ns(),
				     .events = EPOLLIN | EPOLLRDHUP };
	if (agent__epoll_add(a, fd, TAG_CLIENT, (uint32_t)(cl - a->clients))) {
		pr_warn("control: refusing a client: epoll: %s\n", strerror(errno));
		cl->fd = -1;
		client_close(a, cl);
		close(fd);
	}
}

void ctl__accept(struct agent *a)
{
	/* a bounded batch: a client connecting in a loop must not hold the
	 * agent here (the listening socket stays readable for the next turn) */
	for (int n = 0; n < AGENT_MAX_CLIENTS; n++) {
		int fd = accept4(a->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		client_accept(a, fd);
	}
}

/* Does cl have a request ctl__serve() may handle now: a complete line while
 * its replies are read, or the last bytes the peer sent before EOF? */
static bool client_servable(const struct agent_client *cl)
{
	if (cl->fd < 0)
		return false;
	if (cl->ready)
		return guard__may_read(&out_budget, out_pending(cl));
	return cl->closing && cl->in_len;
}

/* Answered everything it sent and flushed it all: to be closed. */
static bool client_done(const struct agent_client *cl)
{
	return cl->closing && !cl->ready && !cl->in_len && !out_pending(cl);
}

bool ctl__pending(const struct agent *a)
{
	for (int i = 0; i < AGENT_MAX_CLIENTS; i++)
		if (client_servable(&a->clients[i]))
			return true;
	return false;
}

/* Sets the epoll interest cl needs now: input only while it has room, no
 * complete line waiting and not too many replies unread; output while
 * replies wait. */
static void client_interest(struct agent *a, struct agent_client *cl)
{
	uint32_t want = 0;
	struct epoll_event ev = { .data.u64 = AGENT_EV(TAG_CLIENT, (uint32_t)(cl - a->clients)) };

	if (!cl->closing && !cl->ready && guard__may_read(&out_budget, out_pending(cl)))
		want |= EPOLLIN | EPOLLRDHUP;
	if (out_pending(cl) && !cl->deaf)
		want |= EPOLLOUT;
	if (want == cl->events)
		return;
	ev.events = want;
	if (!epoll_ctl(a->epfd, EPOLL_CTL_MOD, cl->fd, &ev))
		cl->events = want;
}

/* Writes what is buffered; false when the client must be dropped. */
static bool client_flush(struct agent_client *cl, size_t *total)
{
	while (out_pending(cl) && !cl->deaf) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off, out_pending(cl),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			if (errno == EINTR)
				continue;
			/* the peer is gone: the requests it sent are still done */
			cl->deaf = true;
			cl->closing = true;
			break;
		}
		cl->out_off += (size_t)n;
		*total -= (size_t)n;
	}
	*total -= out_pending(cl);
	cl->out_len = cl->out_off = 0;
	return !client_done(cl);
}

/* Appends one reply line; the budget was checked. */
static bool client_queue_text(struct agent *a, struct agent_client *cl, const char *text, size_t n)
{
	char *buf;

	if (cl->deaf)
		return true;
	if (cl->out_off) {
		memmove(cl->out, cl->out + cl->out_off, out_pending(cl));
		cl->out_len -= cl->out_off;
		cl->out_off = 0;
	}
	buf = realloc(cl->out, cl->out_len + n + 1);
	if (!buf)
		return false;
	cl->out = buf;
	memcpy(cl->out + cl->out_len, text, n);
	cl->out[cl->out_len + n] = '\n';
	cl->out_len += n + 1;
	a->ctl.out_total += n + 1;
	return true;
}

/* Queues reply, or a short error in its place when it does not fit the
 * output budget; false when the client must be dropped. */
static bool client_queue(struct agent *a, struct agent_client *cl, json_t *reply)
{
	char *text = json_dumps(reply, JSON_COMPACT);
	char msg[200];
	size_t n;
	bool ok;
	int err;

	if (!text) {
		snprintf(msg, sizeof(msg), "reply: %s", strerror(ENOMEM));
		err = -ENOMEM;
	} else {
		n = strlen(text);
		err = guard__reply_fits(&out_budget, n + 1, a->ctl.out_total);
		if (!err) {
			ok = client_queue_text(a, cl, text, n);
			free(text);
			return ok;
		}
		free(text);
		if (err == -EMSGSIZE)
			snprintf(msg, sizeof(msg), "reply of %zu bytes is over the limit of %d: "
				 "ask for less (e.g. a smaller limit)", n + 1, AGENT_MAX_REPLY);
		else
			snprintf(msg, sizeof(msg), "agent busy: %zu bytes of replies wait to be read "
				 "by clients, try again", a->ctl.out_total);
	}
	a->c.ctl_errors++;
	reply = error_reply(-err, msg);
	text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	ok = text && client_queue_text(a, cl, text, strlen(text));
	free(text);
	json_decref(reply);
	return ok;
}

/* Handles one complete line; false when the client must be dropped. */
static bool client_line(struct agent *a, struct agent_client *cl, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req, *reply;
	bool ok;

	a->c.ctl_requests++;
	cl->active_ns = mono_ns();
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
	ok = client_queue(a, cl, reply);
	json_decref(reply);
	return ok;
}

/* Handles up to AGENT_CLIENT_BURST buffered lines of cl (fewer once
 * AGENT_CLIENT_SLICE_US have gone: some requests are costly) while its
 * replies fit; false when the client must be dropped. */
static bool client_serve(struct agent *a, struct agent_client *cl)
{
	uint64_t start = mono_ns();
	size_t off = 0;
	char *nl = NULL;

	for (int n = 0; n < AGENT_CLIENT_BURST; n++) {
		if (!guard__may_read(&out_budget, out_pending(cl)) ||
		    (n && mono_ns() - start >= AGENT_CLIENT_SLICE_US * 1000ull))
			break;
		nl = cl->in ? memchr(cl->in + off, '\n', cl->in_len - off) : NULL;
		if (!nl)
			break;
		if (!client_line(a, cl, cl->in + off, (size_t)(nl - (cl->in + off))))
			return false;
		off = (size_t)(nl - cl->in) + 1;
	}
	if (off) {
		memmove(cl->in, cl->in + off, cl->in_len - off);
		cl->in_len -= off;
	}
	cl->ready = cl->in_len && memchr(cl->in, '\n', cl->in_len);
	/* the peer sent its last bytes without a newline: a request too */
	if (!cl->ready && cl->closing && cl->in_len) {
		bool ok = client_line(a, cl, cl->in, cl->in_len);

		cl->in_len = 0;
		return ok;
	}
	return true;
}

/* Reads what fits into cl's input buffer; false when it must be dropped. */
static bool client_read(struct agent *a, struct agent_client *cl)
{
	ssize_t n;

	if (!cl->in) {
		cl->in = malloc(AGENT_MAX_LINE + 1);
		if (!cl->in)
			return false;
	}
	n = recv(cl->fd, cl->in + cl->in_len, AGENT_MAX_LINE + 1 - cl->in_len, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
	if (n == 0) {
		/* the peer is done sending: answer what it asked, then close */
		cl->closing = true;
		return true;
	}
	cl->in_len += (size_t)n;
	cl->ready = memchr(cl->in + cl->in_len - n, '\n', (size_t)n) != NULL;
	if (!cl->ready && cl->in_len > AGENT_MAX_LINE) {
		json_t *reply = error_reply(EMSGSIZE, "request line too long");

		a->c.ctl_bad++;
		a->c.ctl_requests++;
		a->c.ctl_errors++;
		cl->in_len = 0;
		cl->closing = true;
		if (!client_queue(a, cl, reply)) {
			json_decref(reply);
			return false;
		}
		json_decref(reply);
	}
	return true;
}

void ctl__client_io(struct agent *a, uint32_t idx, uint32_t events)
{
	struct agent_client *cl;

	if (idx >= AGENT_MAX_CLIENTS || a->clients[idx].fd < 0)
		return;
	cl = &a->clients[idx];
	if ((events & EPOLLIN) && !cl->closing && !cl->ready && !client_read(a, cl))
		goto drop;
	/* hung up: nobody reads replies any more, but what it sent is still
	 * read to its end and done */
	if (events & (EPOLLERR | EPOLLHUP))
		cl->deaf = true;
	if (!client_flush(cl, &a->ctl.out_total))
		goto drop;
	client_interest(a, cl);
	return;
drop:
	client_close(a, cl);
}

void ctl__serve(struct agent *a)
{
	for (int i = 0; i < AGENT_MAX_CLIENTS; i++) {
		struct agent_client *cl = &a->clients[i];

		if (cl->fd < 0)
			continue;
		if (client_servable(cl) && !client_serve(a, cl)) {
			client_close(a, cl);
			continue;
		}
		if (!client_flush(cl, &a->ctl.out_total)) {
			client_close(a, cl);
			continue;
		}
		client_interest(a, cl);
	}
}

void ctl__tick(struct agent *a)
{
	uint64_t now = mono_ns(), idle = (uint64_t)a->o.client_idle_s * 1000000000ull;

	for (int i = 0; i < AGENT_MAX_CLIENTS; i++) {
		struct agent_client *cl = &a->clients[i];
		char msg[96];

		if (cl->fd < 0 || now - cl->active_ns < idle)
			continue;
		snprintf(msg, sizeof(msg), "no request for %u s: closing the connection",
			 a->o.client_idle_s);
		a->ctl.dropped++;
		if (warn_now(a))
			pr_info("control: client pid %u uid %u: %s (%llu dropped so far)\n", cl->pid,
				cl->uid, msg, (unsigned long long)a->ctl.dropped);
		if (!out_pending(cl))
			say_goodbye(cl->fd, ETIMEDOUT, msg);
		client_close(a, cl);
	}
}
