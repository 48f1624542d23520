// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Listener sockets of worker processes. A BIND (UDP) or LISTEN (TCP) event
 * names a socket by its cookie; the agent finds it among the process's fds
 * (pidfd_getfd on each socket fd, compared by SO_COOKIE), inserts it into
 * xsl_wsocks for (listener, worker), closes its duplicate at once, and puts
 * the worker into the listener's table. Listeners learned this way go away
 * with their last socket; those made by `xslctl listen` stay.
 *
 * Sockets are often made by one process and used by another (a master
 * binds, forks, and each worker closes what it won't use). So once forks
 * and binds have settled, an attribution pass looks at which app processes
 * hold (and poll, in an epoll set) each listener socket, and attribution.c
 * decides which holders each socket serves: the worker that kept one socket
 * gets it, the master holding all of them is only the fallback; nginx's
 * workers, which hold every socket and poll their own, get the one they
 * poll; a socket shared by all (no reuseport) serves every holder. This
 * file does the walks (fds, epoll fdinfo) and the map updates.
 *
 * Which sockets become listeners (a socket that cannot receive new flows
 * must not take a listener slot, which all apps share):
 *  - only sockets of the agent's own network namespace (SO_NETNS_COOKIE
 *    equal to that of a socket the agent makes): a process that unshares a
 *    network namespace must not take a port of ours. Refused, counted.
 *  - TCP: listening sockets (SO_ACCEPTCONN).
 *  - UDP: not connected, and bound to a port the app chose. The bind hooks
 *    record in the socket's xsl_sk_owner storage whether bind(2) asked for
 *    a port (XSL_SK_F_BIND_PORT, read here by socket fd); a socket with no
 *    such record (bound before the hooks were attached, or a port-0 bind,
 *    or an autobind by connect/sendto, for which the hooks store nothing)
 *    counts as chosen only when its port is outside ip_local_port_range,
 *    where the kernel never picks one.
 *  - an app has at most its quota of listeners (registry); a socket refused
 *    for the quota or a full table is counted once, and its app is
 *    attributed again once there is room (socks__settle).
 *  - a dual-stack [::] socket (IPV6_V6ONLY off) serves one listener, [::]
 *    with XSL_LISTENER_F_DUAL, which the data path also finds for IPv4.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "agent.h"
#include "attribution.h"
#include "clock.h"
#include "hooks.h"
#include "log.h"
#include "strnum.h"
#include "xsl/events.h"
#include "xsl/maps.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* ip_local_port_range is read again after this long. */
#define EPH_REFRESH_NS	(1000 * 1000000ull)

/* The entry of (listener, worker), or NULL. */
static const struct agent_sock *sock_find(const struct agent *a, uint32_t listener,
					  uint32_t worker)
{
	for (unsigned int i = 0; i < AGENT_MAX_SOCKS; i++) {
		const struct agent_sock *s = &a->socks[i];

		if (s->cookie && s->listener == listener && s->worker == worker)
			return s;
	}
	return NULL;
}

/* The entry of (listener, worker), else a free one, else NULL. */
static struct agent_sock *sock_slot(struct agent *a, uint32_t listener, uint32_t worker)
{
	const struct agent_sock *found = sock_find(a, listener, worker);

	if (found)
		return &a->socks[found - a->socks];
	for (unsigned int i = 0; i < AGENT_MAX_SOCKS; i++)
		if (!a->socks[i].cookie)
			return &a->socks[i];
	return NULL;
}

int socks__count(const struct agent *a, uint32_t listener)
{
	int n = 0;

	for (unsigned int i = 0; i < AGENT_MAX_SOCKS; i++)
		if (a->socks[i].cookie && a->socks[i].listener == listener)
			n++;
	return n;
}

/* A learned listener with no socket left is removed. */
static void listener_maybe_gone(struct agent *a, uint32_t listener)
{
	if (!registry__listener(a->reg, listener) || a->listener_static[listener] ||
	    socks__count(a, listener))
		return;
	registry__listener_del(a->reg, listener);
}

static void sock_drop(struct agent *a, struct agent_sock *s)
{
	struct xsl_wsock_key k = { .listener = s->listener, .worker = s->worker };
	uint64_t cookie = 0;

	/* only our socket: the worker may have put a new one there since */
	if (!bpf_map_lookup_elem(a->maps.wsocks, &k, &cookie) && cookie == s->cookie)
		bpf_map_delete_elem(a->maps.wsocks, &k);
	*s = (struct agent_sock){ 0 };
}

static int sock_cookie(int fd, uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len) ? -errno : 0;
}

/* The listener key a socket serves, or -ENOTSOCK/-EINVAL when it serves
 * none (not bound, connected, TCP not listening). *dual: a v6 wildcard
 * socket that also takes IPv4. */
static int sock_listener_key(int fd, struct xsl_listener_key *k, bool *dual)
{
	struct sockaddr_storage ss, peer;
	socklen_t len = sizeof(ss), plen = sizeof(peer);
	int proto, listening = 0, v6only = 1;
	socklen_t olen = sizeof(proto);

	*dual = false;
	memset(k, 0, sizeof(*k));
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &olen))
		return -ENOTSOCK;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return -EINVAL;
	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -errno;
	if (proto == IPPROTO_TCP) {
		olen = sizeof(listening);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &olen) || !listening)
			return -EINVAL;
	} else if (!getpeername(fd, (struct sockaddr *)&peer, &plen)) {
		return -EINVAL;		/* a connected UDP socket is a client's */
	}
	k->proto = (uint8_t)proto;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		k->family = XSL_AF_INET;
		k->port = s4->sin_port;
		k->addr[0] = s4->sin_addr.s_addr;
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		k->family = XSL_AF_INET6;
		k->port = s6->sin6_port;
		memcpy(k->addr, &s6->sin6_addr, sizeof(k->addr));
		olen = sizeof(v6only);
		getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &olen);
		*dual = !v6only && IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
	} else {
		return -EINVAL;
	}
	return k->port ? 0 : -EINVAL;
}


static int netns_cookie(int fd, uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);

	return getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len) ? -errno : 0;
}

/* Whether socket fd lives in the agent's own network namespace. */
static bool sock_in_our_netns(struct agent *a, int fd)
{
	struct agent_sockpol *sp = &a->sockpol;
	uint64_t cookie;

	if (!sp->netns_cookie) {
		int own = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		int err = own < 0 ? -errno : netns_cookie(own, &sp->netns_cookie);

		if (own >= 0)
			close(own);
		if (err) {
			/* cannot happen on a kernel with sk_lookup; nothing to compare */
			pr_warn("sockets: SO_NETNS_COOKIE of the agent's own socket: %s\n",
				strerror(-err));
			return true;
		}
	}
	return !netns_cookie(fd, &cookie) && cookie == sp->netns_cookie;
}

/* The kernel's range for ephemeral ports (ip_local_port_range), re-read
 * at most once a second; the default range when it cannot be read. */
static void eph_range(struct agent *a, uint16_t *lo, uint16_t *hi)
{
	struct agent_sockpol *sp = &a->sockpol;
	uint64_t now = mono_ns();

	if (!sp->eph_hi || now - sp->eph_read_ns > EPH_REFRESH_NS) {
		FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
		unsigned int l, h;

		sp->eph_lo = 32768;
		sp->eph_hi = 60999;
		if (f && fscanf(f, "%u %u", &l, &h) == 2 && l <= h && h <= 65535) {
			sp->eph_lo = (uint16_t)l;
			sp->eph_hi = (uint16_t)h;
		}
		if (f)
			fclose(f);
		sp->eph_read_ns = now;
	}
	*lo = sp->eph_lo;
	*hi = sp->eph_hi;
}

/*
 * Whether the app chose UDP socket fd's port: the bind hooks' record says
 * so (see the top of this file), or else the port is one the kernel never
 * picks by itself.
 */
static bool sock_port_chosen(struct agent *a, int fd, const struct xsl_listener_key *k)
{
	struct xsl_sock_owner o;
	uint16_t port = ntohs(k->port), lo, hi;
	int map = a->hooks ? hooks__map_fd(a->hooks, XSL_MAP_SK_OWNER) : -1;

	if (map >= 0 && !bpf_map_lookup_elem(map, &fd, &o) &&
	    (o.flags & (XSL_SK_F_BIND_PORT | XSL_SK_F_QUIET)) == XSL_SK_F_BIND_PORT)
		return true;
	eph_range(a, &lo, &hi);
	return port < lo || port > hi;
}

/* Forgets that a socket was refused (it got in, or is gone). */
static void refused_forget(struct agent *a, uint64_t cookie)
{
	struct agent_sockpol *sp = &a->sockpol;

	for (unsigned int i = 0; i < AGENT_MAX_REFUSED; i++)
		if (sp->refused[i].cookie == cookie)
			sp->refused[i].cookie = 0;
}

/*
 * Socket cookie of app was refused as a listener: counted and logged once
 * per socket and reason (it is seen again by every attribution pass). An
 * app refused for lack of room waits for room (socks__settle).
 */
static void sock_refuse(struct agent *a, uint32_t app, uint64_t cookie, enum sock_refusal why,
			const char *detail)
{
	static const char *const names[REFUSED__MAX] = {
		[REFUSED_NETNS] = "it is in another network namespace",
		[REFUSED_QUOTA] = "no room: listener quota",
		[REFUSED_TABLE_FULL] = "no room: listener table full",
	};
	struct agent_sockpol *sp = &a->sockpol;

	if (why != REFUSED_NETNS && app < XSL_MAX_APPS && !sp->wants_room[app]) {
		sp->wants_room[app] = true;
		sp->n_wants_room++;
	}
	for (unsigned int i = 0; i < AGENT_MAX_REFUSED; i++)
		if (sp->refused[i].cookie == cookie && sp->refused[i].reason == why)
			return;
	sp->refused[sp->refused_next] = (typeof(sp->refused[0])){ .cookie = cookie,
								   .reason = why };
	sp->refused_next = (sp->refused_next + 1) % AGENT_MAX_REFUSED;
	sp->refused_total[why]++;
	pr_warn("app %s: socket cookie %llu not adopted as a listener: %s%s%s\n",
		registry__app_name(a->reg, app), (unsigned long long)cookie, names[why],
		detail ? ": " : "", detail ? detail : "");
}

/*
 * The listener key socket fd of app may serve: 0, or -EINVAL when it is
 * no listener (see sock_listener_key; a UDP port the kernel picked), or
 * -EPERM when it is refused (another network namespace; counted).
 */
static int sock_candidate(struct agent *a, uint32_t app, int fd, uint64_t cookie,
			  struct xsl_listener_key *k, bool *dual)
{
	int err = sock_listener_key(fd, k, dual);

	if (err)
		return err;
	if (k->proto == IPPROTO_UDP && !sock_port_chosen(a, fd, k))
		return -EINVAL;
	if (!sock_in_our_netns(a, fd)) {
		sock_refuse(a, app, cookie, REFUSED_NETNS, NULL);
		return -EPERM;
	}
	return 0;
}

static int worker_of_pid(const struct agent *a, uint32_t app, uint32_t pid, uint32_t *worker)
{
	return procs__worker_of(a, app, pid, worker);
}

/*
 * Puts socket fd in for (listener of key, worker); dual: a dual-stack [::]
 * socket, its listener takes IPv4 too. -EDQUOT / -ENOSPC (no room) are
 * counted and logged here, once per socket.
 */
static int sock_insert(struct agent *a, uint32_t app, uint32_t worker, int fd, uint64_t cookie,
		       const struct xsl_listener_key *key, bool dual)
{
	struct xsl_wsock_key wk;
	struct agent_sock *s;
	uint64_t value = (uint64_t)fd;
	uint32_t l;
	int err;

	err = registry__listener_find(a->reg, key, &l);
	if (err == -ENOENT)
		err = registry__listener_add(a->reg, app, key, &l);
	if (err == -EDQUOT || err == -ENOSPC)
		sock_refuse(a, app, cookie, err == -EDQUOT ? REFUSED_QUOTA : REFUSED_TABLE_FULL,
			    registry__error(a->reg));
	if (err)
		return err;
	if (a->reg->listeners[l].app != app)
		return -EADDRINUSE;
	if (dual && !(a->reg->listeners[l].flags & XSL_LISTENER_F_DUAL)) {
		err = registry__listener_set_flags(a->reg, l, a->reg->listeners[l].flags |
								 XSL_LISTENER_F_DUAL);
		if (err)
			return err;
	}
	s = sock_slot(a, l, worker);
	if (!s) {
		sock_refuse(a, app, cookie, REFUSED_TABLE_FULL, "all agent socket slots in use");
		listener_maybe_gone(a, l);
		return -ENOSPC;
	}
	wk = (struct xsl_wsock_key){ .listener = l, .worker = worker };
	if (bpf_map_update_elem(a->maps.wsocks, &wk, &value, BPF_ANY)) {
		err = -errno;
		listener_maybe_gone(a, l);
		return err;
	}
	*s = (struct agent_sock){ .cookie = cookie, .listener = l, .worker = worker };
	refused_forget(a, cookie);
	err = registry__listener_add_worker(a->reg, l, worker);
	return err == -EEXIST ? 0 : err;
}

/* Adopts socket fd (a duplicate in our fd table) for worker. */
static int sock_adopt(struct agent *a, uint32_t app, uint32_t worker, int fd, uint64_t cookie)
{
	struct xsl_listener_key k;
	bool dual;
	int err;

	err = sock_candidate(a, app, fd, cookie, &k, &dual);
	if (err)
		return err;
	err = sock_insert(a, app, worker, fd, cookie, &k, dual);
	if (err && err != -EDQUOT && err != -ENOSPC)	/* those are logged once */
		pr_warn("app %s: socket cookie %llu of worker %u: %s\n",
			registry__app_name(a->reg, app), (unsigned long long)cookie, worker,
			strerror(-err));
	return err;
}

/*
 * Calls fn(ctx, fd number, link target) for each fd of pid whose link
 * target starts with prefix; stops at a non-zero return, which it returns.
 */
static int for_each_fd(uint32_t pid, const char *prefix,
		       int (*fn)(void *ctx, const char *fd, const char *target), void *ctx)
{
	char dir[64], link[320], target[64];
	struct dirent *de;
	int ret = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%u/fd", pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while (!ret && (de = readdir(d))) {
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strncmp(target, prefix, strlen(prefix)))
			ret = fn(ctx, de->d_name, target);
	}
	closedir(d);
	return ret;
}

struct socket_walk {
	int pidfd;
	int (*fn)(void *ctx, int fd, uint64_t cookie);
	void *ctx;
};

static int socket_fd(void *ctx, const char *fdname, const char *target)
{
	struct socket_walk *w = ctx;
	uint64_t cookie;
	unsigned int num;
	int fd, ret = 0;

	(void)target;
	if (strnum__uint(fdname, 0, INT32_MAX, &num))
		return 0;
	fd = pidfd_getfd(w->pidfd, (int)num, 0);
	if (fd < 0)
		return 0;
	if (!sock_cookie(fd, &cookie))
		ret = w->fn(w->ctx, fd, cookie);
	close(fd);
	return ret;
}

/*
 * Calls fn on a duplicate of every socket fd of pid (closed after fn); fn
 * returns non-zero to stop. The fds are taken through the pidfd the process
 * table holds for the worker process, never a pidfd opened by pid now: if
 * pid was reused, the fd numbers listed are another process's but
 * pidfd_getfd() only ever reaches the worker's own (or fails once it is
 * gone).
 */
static int for_each_socket(const struct agent *a, uint32_t pid,
			   int (*fn)(void *ctx, int fd, uint64_t cookie), void *ctx)
{
	struct socket_walk w = { .fn = fn, .ctx = ctx, .pidfd = procs__pidfd(a, pid) };
	int ret;

	if (w.pidfd < 0)
		return -ESRCH;
	ret = for_each_fd(pid, "socket:", socket_fd, &w);
	return ret < 0 ? ret : 0;
}

struct bound_ctx {
	struct agent *a;
	uint32_t app, worker;
	uint64_t cookie;
	int err;
};

static int adopt_if_cookie(void *ctx, int fd, uint64_t cookie)
{
	struct bound_ctx *b = ctx;

	if (cookie != b->cookie)
		return 0;
	b->err = sock_adopt(b->a, b->app, b->worker, fd, cookie);
	return 1;
}

int socks__bound(struct agent *a, uint32_t app, uint32_t pid, uint64_t cookie,
		 const struct xsl_listener_key *key)
{
	struct bound_ctx b = { .a = a, .app = app, .cookie = cookie, .err = -ENOENT };
	int err;

	/* TCP sockets count when they listen, UDP when they bind */
	if (!key->port)
		return 0;
	err = worker_of_pid(a, app, pid, &b.worker);
	if (err)
		return err;
	err = for_each_socket(a, pid, adopt_if_cookie, &b);
	if (err)
		return err;
	if (b.err == -ENOENT)
		pr_debug("app %s: pid %u no longer holds socket %llu\n",
			 registry__app_name(a->reg, app), pid, (unsigned long long)cookie);
	if (b.err && b.err != -EINVAL && b.err != -ENOENT && b.err != -EPERM &&
	    b.err != -EDQUOT && b.err != -ENOSPC)
		a->c.sock_attach_fail++;
	return b.err;
}

static int adopt_any(void *ctx, int fd, uint64_t cookie)
{
	struct bound_ctx *b = ctx;

	sock_adopt(b->a, b->app, b->worker, fd, cookie);
	return 0;
}

int socks__scan_process(struct agent *a, uint32_t app, uint32_t pid)
{
	struct bound_ctx b = { .a = a, .app = app };
	int err = worker_of_pid(a, app, pid, &b.worker);

	return err ? err : for_each_socket(a, pid, adopt_any, &b);
}

int socks__released(struct agent *a, uint64_t cookie)
{
	int n = 0;

	if (cookie)
		refused_forget(a, cookie);

	for (unsigned int i = 0; i < AGENT_MAX_SOCKS; i++) {
		struct agent_sock *s = &a->socks[i];
		uint32_t l = s->listener;

		if (!cookie || s->cookie != cookie)
			continue;
		registry__listener_del_worker(a->reg, l, s->worker);
		sock_drop(a, s);
		listener_maybe_gone(a, l);
		n++;
	}
	return n;
}

void socks__worker_gone(struct agent *a, uint32_t worker)
{
	for (unsigned int i = 0; i < AGENT_MAX_SOCKS; i++) {
		struct agent_sock *s = &a->socks[i];
		uint32_t l = s->listener;

		if (!s->cookie || s->worker != worker)
			continue;
		sock_drop(a, s);
		listener_maybe_gone(a, l);
	}
}

/* ---- attribution: the edges (the decisions are attribution.c's) ---- */

#define ATTR_SETTLE_NS		(100 * 1000000ull)
#define ATTR_MAX_POLLED		4096

/* The attribution pass's buffers: allocated once, too large for the stack. */
struct socks_pass {
	struct xsl_attr attr;
	/* files in the epoll sets of the process being scanned */
	struct xsl_attr_file polled[ATTR_MAX_POLLED];
};

int socks__init(struct agent *a)
{
	a->pass = calloc(1, sizeof(*a->pass));
	if (!a->pass) {
		pr_err("sockets: allocate the attribution pass's buffers (%zu bytes): %s\n",
		       sizeof(*a->pass), strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

void socks__free(struct agent *a)
{
	free(a->pass);
	a->pass = NULL;
}

struct attr_scan {
	struct agent *a;
	uint32_t app;
	struct xsl_attr *attr;
	uint32_t worker;
	const struct xsl_attr_file *polled;
	unsigned int n_polled;
};

void socks__dirty(struct agent *a, uint32_t app)
{
	if (app < XSL_MAX_APPS)
		a->apps[app].attr_dirty_ns = mono_ns();
}

/* Apps that wait for room and now have some are attributed again. */
static void room_retry(struct agent *a)
{
	struct agent_sockpol *sp = &a->sockpol;

	for (uint32_t app = 0; sp->n_wants_room && app < XSL_MAX_APPS; app++) {
		if (!sp->wants_room[app])
			continue;
		if (registry__app(a->reg, app) && registry__listener_room(a->reg, app))
			continue;
		sp->wants_room[app] = false;
		sp->n_wants_room--;
		if (registry__app(a->reg, app)) {
			pr_debug("app %s: room for listeners again, re-adopting its sockets\n",
				 registry__app_name(a->reg, app));
			socks__dirty(a, app);
		}
	}
}

void socks__settle(struct agent *a)
{
	uint64_t now = mono_ns();

	room_retry(a);

	for (uint32_t app = 0; app < XSL_MAX_APPS; app++) {
		uint64_t t = a->apps[app].attr_dirty_ns;

		if (!t || now - t < ATTR_SETTLE_NS)
			continue;
		a->apps[app].attr_dirty_ns = 0;
		if (registry__app(a->reg, app))
			socks__attribute(a, app);
	}
}

/*
 * Collects the files pid's epoll instances watch (each "tfd:" line in
 * /proc/PID/fdinfo of an eventpoll fd). An entry can outlive the process's
 * own fd (epoll drops it when the file is released), so callers only count
 * sockets the process also holds.
 */
struct epoll_walk {
	uint32_t pid;
	struct xsl_attr_file *files;
	unsigned int n, max;
};

static int epoll_fd(void *ctx, const char *fdname, const char *target)
{
	struct epoll_walk *w = ctx;
	char path[320], line[256];
	FILE *f;

	(void)target;
	snprintf(path, sizeof(path), "/proc/%u/fdinfo/%s", w->pid, fdname);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (w->n < w->max && fgets(line, sizeof(line), f))
		if (!attr__parse_tfd(line, &w->files[w->n]))
			w->n++;
	fclose(f);
	return w->n == w->max;
}

static unsigned int epoll_watched(uint32_t pid, struct xsl_attr_file *files, unsigned int max)
{
	struct epoll_walk w = { .pid = pid, .files = files, .max = max };

	if (max)
		for_each_fd(pid, "anon_inode:[eventpoll]", epoll_fd, &w);
	return w.n;
}

static bool attr_is_polled(const struct attr_scan *sc, int fd)
{
	struct xsl_attr_file f;
	struct stat st;

	if (!sc->n_polled || fstat(fd, &st))
		return false;
	f = (struct xsl_attr_file){ .ino = (uint64_t)st.st_ino, .major = major(st.st_dev),
				    .minor = minor(st.st_dev) };
	return attr__file_in(sc->polled, sc->n_polled, &f);
}

static int attr_collect(void *ctx, int fd, uint64_t cookie)
{
	struct attr_scan *sc = ctx;
	struct xsl_listener_key k;
	bool dual;

	if (sock_candidate(sc->a, sc->app, fd, cookie, &k, &dual))
		return 0;
	/* a socket or holder beyond the pass's limits is left out */
	attr__add(sc->attr, cookie, &k, dual, sc->worker, attr_is_polled(sc, fd));
	return 0;
}

struct insert_ctx {
	struct agent *a;
	uint32_t app, worker;
	const struct xsl_attr_sock *it;
	int err;
};

static int insert_if_cookie(void *ctx, int fd, uint64_t cookie)
{
	struct insert_ctx *ic = ctx;

	if (cookie != ic->it->cookie)
		return 0;
	ic->err = sock_insert(ic->a, ic->app, ic->worker, fd, cookie, &ic->it->key, ic->it->dual);
	return 1;
}

int socks__attribute(struct agent *a, uint32_t app)
{
	struct xsl_attr *at = a->pass ? &a->pass->attr : NULL;
	struct attr_scan sc = { .a = a, .app = app, .attr = at };
	unsigned int moved = 0;
	int err;

	if (!at)
		return -ENOMEM;
	sc.polled = a->pass->polled;
	attr__reset(at);
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		const struct reg_worker *rw = registry__worker(a->reg, w);

		if (!rw || rw->app != app || !rw->pid)
			continue;
		sc.worker = w;
		sc.n_polled = epoll_watched(rw->pid, a->pass->polled, ATTR_MAX_POLLED);
		for_each_socket(a, rw->pid, attr_collect, &sc);
	}
	attr__choose(at);

	/* what the maps have and the pass does not want goes first */
	for (unsigned int i = 0; i < AGENT_MAX_SOCKS; i++) {
		struct agent_sock *s = &a->socks[i];
		const struct reg_listener *rl;
		const struct xsl_attr_sock *it;
		uint32_t l = s->listener;

		if (!s->cookie || !(rl = registry__listener(a->reg, l)) || rl->app != app)
			continue;
		it = attr__wanted(at, &rl->key, s->worker);
		if (it && it->cookie == s->cookie)
			continue;
		registry__listener_del_worker(a->reg, l, s->worker);
		sock_drop(a, s);
		moved++;
	}
	/* then what it wants and the maps lack */
	for (unsigned int i = 0; i < at->n; i++) {
		const struct xsl_attr_sock *it = &at->socks[i];

		for (uint32_t k = 0; k < it->n_server; k++) {
			struct insert_ctx ic = { .a = a, .app = app, .worker = it->server[k],
						 .it = it, .err = -ENOENT };
			uint32_t l;

			if (!registry__listener_find(a->reg, &it->key, &l)) {
				struct agent_sock *s = sock_slot(a, l, it->server[k]);
				const struct reg_listener *rl = registry__listener(a->reg, l);

				/* a [::] listener restored from before dual-stack listeners
				 * existed gets its flag from the sockets it has */
				if (s && s->cookie == it->cookie && it->dual && rl->app == app &&
				    !(rl->flags & XSL_LISTENER_F_DUAL))
					registry__listener_set_flags(a->reg, l, rl->flags |
								 XSL_LISTENER_F_DUAL);
				if (s && s->cookie == it->cookie)
					continue;
			} else if ((err = registry__listener_room(a->reg, app))) {
				/* no room for its listener: no need to look for the socket */
				sock_refuse(a, app, it->cookie,
					    err == -EDQUOT ? REFUSED_QUOTA : REFUSED_TABLE_FULL, NULL);
				continue;
			}
			for_each_socket(a, a->reg->workers[it->server[k]].pid, insert_if_cookie,
					&ic);
			if (!ic.err)
				moved++;
		}
	}
	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
		const struct reg_listener *rl = registry__listener(a->reg, l);

		if (rl && rl->app == app)
			listener_maybe_gone(a, l);
	}
	if (moved)
		pr_debug("app %s: attribution pass changed %u socket entries\n",
			 registry__app_name(a->reg, app), moved);
	return 0;
}

/*
 * How many workers serve listener with the very socket worker has for it
 * (read-only). 1: the socket is worker's own; N > 1: one socket shared by N
 * holders (no reuseport; Apache prefork, gunicorn), so the kernel, not
 * xsl, picks which of them gets each packet; 0: worker has no socket for
 * listener. *cookie (may be NULL) gets the socket's cookie, 0 if none.
 */
int socks__sharers(const struct agent *a, uint32_t listener, uint32_t worker, uint64_t *cookie)
{
	const struct agent_sock *s = sock_find(a, listener, worker);
	uint64_t c = s ? s->cookie : 0;
	int n = 0;

	for (unsigned int i = 0; c && i < AGENT_MAX_SOCKS; i++)
		n += a->socks[i].cookie == c && a->socks[i].listener == listener;
	if (cookie)
		*cookie = c;
	return n;
}
