// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Control requests (docs/protocol.md) -> registry, processes, maps; each
 * returns a reply object {"ok": true, "data": ...} or {"ok": false, "error",
 * "errno"}. Root may do everything; other peers may read (show.*) and
 * join/leave themselves in an app whose cgroup they are already in.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>
#include "addr.h"
#include "agent.h"
#include "instview.h"
#include "loader.h"
#include "log.h"
#include "procfs.h"
#include "xsl/maps.h"
#include "xsl/records.h"
#include "xsl/stats.h"

typedef json_t *(*cmd_fn)(struct agent *a, const struct agent_client *cl, json_t *req);

static json_t *fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static json_t *fail(int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s, s:i}", "ok", 0, "error", msg, "errno", err < 0 ? -err : err);
}

static json_t *ok(json_t *data)
{
	return json_pack("{s:b, s:o}", "ok", 1, "data", data ? data : json_object());
}

static const char *str_arg(json_t *req, const char *key)
{
	json_t *v = json_object_get(req, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* 0, -ENOENT when absent, -EINVAL when not an integer in [min, max]. */
static int int_arg(json_t *req, const char *key, long long min, long long max, long long *out)
{
	json_t *v = json_object_get(req, key);

	if (!v)
		return -ENOENT;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return -EINVAL;
	*out = json_integer_value(v);
	return 0;
}

static bool is_root(const struct agent_client *cl)
{
	return cl->uid == 0;
}

static int app_arg(struct agent *a, json_t *req, uint32_t *app, const char **name)
{
	*name = str_arg(req, "name");
	if (!*name)
		return -EINVAL;
	return registry__app_by_name(a->reg, *name, app);
}

/* ---- objects ---- */

static const char *policy_name(uint8_t p)
{
	return p == XSL_POLICY_DROP ? "drop" : "reassign";
}

/* Every app's delivered packets and bytes for one reply (zeros when they
 * cannot be read); NULL when out of memory. Freed by the caller. */
static struct agent_delivered *delivered_read(struct agent *a)
{
	struct agent_delivered *d = calloc(1, sizeof(*d));

	if (d && agent__app_delivered(a, d))
		memset(d, 0, sizeof(*d));
	return d;
}

/* d: delivered_read()'s, or NULL (packets and bytes then read as 0). */
static json_t *app_json(struct agent *a, uint32_t app, const struct agent_delivered *d)
{
	const struct reg_app *ra = registry__app(a->reg, app);
	const struct agent_app *aa = &a->apps[app];
	struct xsl_app_stats st;
	json_t *o;

	o = json_pack("{s:i, s:i, s:s, s:i, s:s, s:I, s:s, s:i, s:b, s:i, s:i, s:I}",
			 "index", app, "gen", ra->gen, "name", ra->name, "creator_pid",
			 ra->creator_pid, "cgroup", a->apps[app].cgroup, "cgroup_id",
			 (json_int_t)ra->cgroup_id, "policy", policy_name(ra->policy),
			 "idle_timeout", ra->idle_timeout_s, "cpu_steer",
			 !!(ra->flags & XSL_APP_F_CPU_STEER), "workers", ra->n_workers,
			 "listeners", ra->n_listeners, "sessions",
			 (json_int_t)a->apps[app].sessions);
	/* attached by the operator: stays with no worker until app.detach */
	json_object_set_new(o, "held", json_boolean(ra->flags & XSL_APP_F_HELD));
	json_object_set_new(o, "registrations",
			    json_pack("{s:I, s:I, s:I, s:I}", "fork",
				      (json_int_t)aa->registrations[CAUSE_FORK], "join",
				      (json_int_t)aa->registrations[CAUSE_JOIN], "api",
				      (json_int_t)aa->registrations[CAUSE_API], "reconcile",
				      (json_int_t)aa->registrations[CAUSE_RECONCILE]));
	json_object_set_new(o, "detaches",
			    json_pack("{s:I, s:I, s:I}", "exit",
				      (json_int_t)aa->detaches[DETACH_EXIT], "api",
				      (json_int_t)aa->detaches[DETACH_API], "reconcile",
				      (json_int_t)aa->detaches[DETACH_RECONCILE]));
	json_object_set_new(o, "expired",
			    json_pack("{s:I, s:I}", "idle", (json_int_t)aa->expired[0], "closed",
				      (json_int_t)aa->expired[1]));
	/* the data path's counters of the app (zeros when they cannot be read) */
	if (!d || agent__app_stats(a, app, d, &st))
		memset(&st, 0, sizeof(st));
	json_object_set_new(o, "created", json_integer((json_int_t)st.sessions_created));
	json_object_set_new(o, "reassigned", json_integer((json_int_t)st.sessions_reassigned));
	json_object_set_new(o, "packets", json_integer((json_int_t)st.packets));
	json_object_set_new(o, "bytes", json_integer((json_int_t)st.bytes));
	json_object_set_new(o, "drops", json_integer((json_int_t)st.drops));
	return o;
}

static json_t *worker_json(struct agent *a, uint32_t w)
{
	const struct reg_worker *rw = registry__worker(a->reg, w);
	struct xsl_worker_stats st;

	if (agent__worker_stats(a, w, &st))
		memset(&st, 0, sizeof(st));
	return json_pack("{s:i, s:i, s:s, s:i, s:i, s:i, s:s, s:I, s:I, s:I, s:I, s:i, s:i}",
			 "index", w, "gen", rw->gen, "app", registry__app_name(a->reg, rw->app),
			 "app_index", rw->app, "map_index", rw->map_index, "pid", rw->pid, "state",
			 "live", "sessions", (json_int_t)gc__worker_sessions(a, w), "packets",
			 (json_int_t)st.packets, "bytes", (json_int_t)st.bytes, "created",
			 (json_int_t)st.sessions_created, "cpu", rw->cpu, "instance", rw->instance);
}

static json_t *listener_json(struct agent *a, uint32_t l)
{
	const struct reg_listener *rl = registry__listener(a->reg, l);
	char addr[INET6_ADDRSTRLEN];

	addr__ip(rl->key.family, rl->key.addr, addr, sizeof(addr));
	return json_pack("{s:i, s:s, s:s, s:s, s:i, s:i, s:i, s:b, s:b}", "index", l, "app",
			 registry__app_name(a->reg, rl->app), "proto",
			 addr__proto(rl->key.proto), "addr", addr, "port",
			 ntohs(rl->key.port), "workers", rl->n_workers, "sockets",
			 socks__count(a, l), "static", a->listener_static[l], "dual",
			 (rl->flags & XSL_LISTENER_F_DUAL) != 0);
}

/* ---- app commands ---- */

/* app.attach arguments, all checked here before anything is made. */
static const char *const attach_keys[] = { "cmd", "name", "cgroup", "policy", "idle_timeout",
					   "cpu_steer", "held", NULL };

static json_t *do_app_attach(struct agent *a, const struct agent_client *cl, json_t *req)
{
	struct xsl_app_opts o = { .policy = XSL_POLICY_REASSIGN };
	json_t *jname = json_object_get(req, "name"), *jpolicy = json_object_get(req, "policy");
	json_t *jcgroup = json_object_get(req, "cgroup"), *steer = json_object_get(req, "cpu_steer");
	json_t *held = json_object_get(req, "held");
	const char *name, *policy, *cgroup = NULL, *key;
	struct agent_delivered *d;
	char why[512];
	json_t *v, *obj;
	long long idle;
	uint32_t app;
	int err;

	if (!is_root(cl))
		return fail(EPERM, "app attach: only root may attach apps");
	json_object_foreach(req, key, v) {
		const char *const *k = attach_keys;

		while (*k && strcmp(*k, key))
			k++;
		if (!*k)
			return fail(EINVAL, "app attach: unknown argument '%.64s'", key);
	}
	if (!jname)
		return fail(EINVAL, "app attach: missing name");
	if (!json_is_string(jname))
		return fail(EINVAL, "app attach: name must be a string");
	name = json_string_value(jname);
	/* json strings may hold a NUL: the name must be all of it */
	if (strlen(name) != json_string_length(jname))
		return fail(EINVAL, "app attach: app name holds a NUL character");
	if (registry__check_name(name, why, sizeof(why)))
		return fail(EINVAL, "app attach: %s", why);
	if (jpolicy && !json_is_string(jpolicy))
		return fail(EINVAL, "app attach %s: policy must be a string", name);
	policy = json_string_value(jpolicy);
	if (policy && !strcmp(policy, "drop"))
		o.policy = XSL_POLICY_DROP;
	else if (policy && strcmp(policy, "reassign"))
		return fail(EINVAL, "app attach %s: unknown policy '%.32s' (reassign or drop)", name,
			    policy);
	err = int_arg(req, "idle_timeout", 1, 86400 * 365, &idle);
	if (err == -EINVAL)
		return fail(EINVAL, "app attach %s: bad idle_timeout (an integer 1..%d)", name,
			    86400 * 365);
	if (!err)
		o.idle_timeout_s = (uint32_t)idle;
	if (steer && !json_is_boolean(steer))
		return fail(EINVAL, "app attach %s: cpu_steer must be true or false", name);
	if (json_is_true(steer))
		o.flags |= XSL_APP_F_CPU_STEER;
	/* an operator's attach holds the app until detach; `run` attaches
	 * with held false: the app goes with its last worker */
	if (held && !json_is_boolean(held))
		return fail(EINVAL, "app attach %s: held must be true or false", name);
	if (!json_is_false(held))
		o.flags |= XSL_APP_F_HELD;
	if (jcgroup) {
		cgroup = json_string_value(jcgroup);
		if (!cgroup || cgroup[0] != '/' || strlen(cgroup) != json_string_length(jcgroup) ||
		    strlen(cgroup) >= PATH_MAX)
			return fail(EINVAL, "app attach %s: cgroup must be an absolute path", name);
	}
	err = apps__attach(a, name, cgroup, &o, &app, why, sizeof(why));
	if (err)
		return fail(err, "app attach %s: %s", name, why);
	d = delivered_read(a);
	obj = app_json(a, app, d);
	free(d);
	return ok(json_pack("{s:o}", "app", obj));
}

static json_t *do_app_detach(struct agent *a, const struct agent_client *cl, json_t *req)
{
	const char *name;
	uint32_t app;

	if (!is_root(cl))
		return fail(EPERM, "app detach: only root may detach apps");
	if (app_arg(a, req, &app, &name))
		return fail(ENOENT, "app detach %s: no such app", name ? name : "");
	apps__detach(a, app);
	return ok(NULL);
}

/* Is the peer inside the app's cgroup (or below it)? */
static bool peer_in_app(struct agent *a, const struct agent_client *cl, uint32_t app)
{
	const char *cg = a->apps[app].cgroup;
	size_t root = strlen(a->cgroup2), n = strlen(cg);
	char rel[PATH_MAX];

	/* rel is the peer's cgroup below the mount: compare it with ours; read
	 * by pid, so the peer must still be alive after the read */
	if (procfs__cgroup_of(cl->pid, rel, sizeof(rel)) || peer__alive(cl) || n < root ||
	    strncmp(cg, a->cgroup2, root))
		return false;
	cg += root;
	n -= root;
	return !strncmp(rel, cg, n) && (rel[n] == '\0' || rel[n] == '/');
}

/* The live app other than app whose worker pid still is (the process the
 * table has under pid, not one that got its pid since), or -ENOENT. */
static int worker_elsewhere(struct agent *a, uint32_t app, uint32_t pid, uint32_t *other)
{
	const struct proc_entry *e = proctab__find(&a->reg->procs, pid);
	uint64_t start;

	if (!e || e->app == app || procs__worker_of(a, e->app, pid, NULL))
		return -ENOENT;
	if (e->start_ns && (procs__start_time(pid, &start) || start != e->start_ns))
		return -ENOENT;
	*other = e->app;
	return 0;
}

/* app.join's replace options (run --replace) into o; NULL or what is wrong. */
static const char *replace_args(json_t *req, bool *replace, struct inst_replace_opts *o)
{
	json_t *jr = json_object_get(req, "replace"), *jsig = json_object_get(req, "stop_signal");
	static const struct {
		const char *key;
		long long min;
		size_t off;
	} secs[] = {
		{ "drain", 0, offsetof(struct inst_replace_opts, drain_s) },
		{ "stop_timeout", 1, offsetof(struct inst_replace_opts, stop_timeout_s) },
		{ "ready_timeout", 1, offsetof(struct inst_replace_opts, ready_timeout_s) },
	};
	long long v;
	int err;

	instance__default_opts(o);
	if (jr && !json_is_boolean(jr))
		return "replace must be true or false";
	*replace = json_is_true(jr);
	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		err = int_arg(req, secs[i].key, secs[i].min, INST_MAX_S, &v);
		if (err == -EINVAL)
			return secs[i].min ? "drain, stop_timeout and ready_timeout are seconds "
					     "(1..86400; drain 0..86400)"
					   : "bad drain (seconds 0..86400)";
		if (!err && !*replace)
			return "drain, stop_signal, stop_timeout and ready_timeout go with replace";
		if (!err)
			*(uint32_t *)((char *)o + secs[i].off) = (uint32_t)v;
	}
	if (jsig) {
		if (!*replace)
			return "drain, stop_signal, stop_timeout and ready_timeout go with replace";
		if (json_is_integer(jsig) && json_integer_value(jsig) >= 1 &&
		    json_integer_value(jsig) <= 64)
			o->stop_signal = (int)json_integer_value(jsig);
		else if (!json_is_string(jsig) ||
			 (o->stop_signal = instance__signal(json_string_value(jsig))) < 0)
			return "unknown stop_signal (a name such as TERM or QUIT, or a number)";
	}
	return NULL;
}

static json_t *do_app_join(struct agent *a, const struct agent_client *cl, json_t *req)
{
	struct inst_replace_opts ropts;
	bool replace, replacing = false;
	uint64_t start = 0;
	const char *name, *bad;
	char why[320];
	uint16_t inst = 0;
	long long pid;
	uint32_t app, w, other;
	int err;

	if (app_arg(a, req, &app, &name))
		return fail(ENOENT, "app join %s: no such app", name ? name : "");
	if (int_arg(req, "pid", 1, 0x7fffffff, &pid))
		return fail(EINVAL, "app join %s: missing or bad pid", name);
	bad = replace_args(req, &replace, &ropts);
	if (bad)
		return fail(EINVAL, "app join %s: %s", name, bad);
	if (replace && !is_root(cl))
		return fail(EPERM, "app join %s: only root may start an instance", name);
	if (!is_root(cl) && peer__alive(cl))
		return fail(ESRCH, "app join %s: the process that connected (pid %u) has exited: "
			    "its pid is not trusted", name, cl->pid);
	if (!is_root(cl) && ((uint32_t)pid != cl->pid || !peer_in_app(a, cl, app)))
		return fail(EPERM, "app join %s: pid %lld may only join an app whose cgroup it is in",
			    name, pid);
	/* the peer's start time, read while its pidfd shows it alive: the
	 * worker is then registered for exactly this process */
	if (!is_root(cl) && (procs__start_time(cl->pid, &start) || peer__alive(cl)))
		return fail(ESRCH, "app join %s: the process that connected (pid %u) has exited",
			    name, cl->pid);
	/* a worker of another app leaves it first (app.leave), or is moved by
	 * its cgroup: a join never takes it silently */
	if (!worker_elsewhere(a, app, (uint32_t)pid, &other))
		return fail(EBUSY, "app join %s: pid %lld is a worker of app %s", name, pid,
			    registry__app_name(a->reg, other));
	/* root moves the process into the instance's cgroup (run --replace:
	 * a new instance) */
	if (is_root(cl)) {
		err = inst__prepare(a, app, replace, &inst, &replacing, why, sizeof(why));
		if (err)
			return fail(err, "app join %s: %s", name, why);
		err = inst__move(a, app, inst, (uint32_t)pid);
		if (err) {
			inst__abandon(a, app, inst);
			return fail(err, "app join %s: move pid %lld into %s/i%u: %s", name, pid,
				    a->apps[app].cgroup, inst, strerror(-err));
		}
	}
	err = procs__register(a, app, (uint32_t)pid, start, CAUSE_API, 0, &w);
	if (err == -EEXIST)
		err = procs__worker_of(a, app, (uint32_t)pid, &w);
	if (err && inst)
		inst__abandon(a, app, inst);
	if (err == -EBUSY)
		return fail(err, "app join %s: pid %lld is in the cgroup of another app", name,
			    pid);
	if (err)
		return fail(err, "app join %s: register pid %lld: %s", name, pid, strerror(-err));
	/* a worker already: it stays in its instance, a new one is given up */
	if (inst && a->reg->workers[w].instance != inst) {
		inst__abandon(a, app, inst);
		replacing = false;
	}
	inst = a->reg->workers[w].instance;
	inst__started(a, app, inst, replacing, &ropts);
	socks__scan_process(a, app, (uint32_t)pid);
	return ok(json_pack("{s:o, s:i, s:b}", "worker", worker_json(a, w), "instance", inst,
			    "replacing", replacing));
}

static json_t *do_app_leave(struct agent *a, const struct agent_client *cl, json_t *req)
{
	const char *name;
	long long pid;
	uint32_t app;
	int err, before;

	if (app_arg(a, req, &app, &name))
		return fail(ENOENT, "app leave %s: no such app", name ? name : "");
	if (int_arg(req, "pid", 1, 0x7fffffff, &pid))
		return fail(EINVAL, "app leave %s: missing or bad pid", name);
	if (!is_root(cl) && peer__alive(cl))
		return fail(ESRCH, "app leave %s: the process that connected (pid %u) has exited: "
			    "its pid is not trusted", name, cl->pid);
	if (!is_root(cl) && (uint32_t)pid != cl->pid)
		return fail(EPERM, "app leave %s: pid %u may only detach itself", name, cl->pid);
	before = (int)registry__app(a->reg, app)->n_workers;
	err = procs__detach(a, app, (uint32_t)pid, DETACH_API);
	if (err)
		return fail(err, "app leave %s: %s", name, registry__error(a->reg));
	return ok(json_pack("{s:i}", "removed",
			    before - (registry__app(a->reg, app) ?
				      (int)registry__app(a->reg, app)->n_workers : 0)));
}

/* How instance N of an app is doing, and how a run --replace of it went. */
static json_t *do_instance_status(struct agent *a, const struct agent_client *cl, json_t *req)
{
	static const char *const results[] = { "none", "pending", "serving", "aborted" };
	const struct agent_app *aa;
	const char *name;
	long long num;
	uint32_t app;
	uint8_t res = REPLACE_NONE;

	(void)cl;
	if (app_arg(a, req, &app, &name))
		return fail(ENOENT, "instance status %s: no such app", name ? name : "");
	if (int_arg(req, "instance", 1, XSL_REG_MAX_INSTANCE, &num))
		return fail(EINVAL, "instance status %s: missing or bad instance", name);
	aa = &a->apps[app];
	if (aa->replace.num == num)
		res = aa->replace.result;
	return ok(json_pack("{s:s, s:I, s:s, s:s, s:s}", "app", name, "instance",
			    (json_int_t)num, "state", inst__state_name(a, app, (uint16_t)num),
			    "replace", results[res], "reason",
			    res == REPLACE_ABORTED ? aa->replace.reason : ""));
}

/* "udp"/"tcp", address text, port -> key */
static int parse_listener(json_t *req, struct xsl_listener_key *k)
{
	const char *proto = str_arg(req, "proto"), *addr = str_arg(req, "addr");
	long long port;

	memset(k, 0, sizeof(*k));
	if (!proto || !addr || int_arg(req, "port", 1, 65535, &port))
		return -EINVAL;
	if (addr__proto_parse(proto, &k->proto))
		return -EINVAL;
	k->port = htons((uint16_t)port);
	if (!strcmp(addr, "*") || inet_pton(AF_INET, addr, k->addr) == 1)
		k->family = XSL_AF_INET;
	else if (inet_pton(AF_INET6, addr, k->addr) == 1)
		k->family = XSL_AF_INET6;
	else
		return -EINVAL;
	return 0;
}

static json_t *do_listen(struct agent *a, const struct agent_client *cl, json_t *req)
{
	struct xsl_listener_key k;
	const char *name;
	uint32_t app, l;
	int err;

	if (!is_root(cl))
		return fail(EPERM, "listen: only root may add listeners");
	if (app_arg(a, req, &app, &name))
		return fail(ENOENT, "listen %s: no such app", name ? name : "");
	if (parse_listener(req, &k))
		return fail(EINVAL, "listen %s: bad proto, addr or port", name);
	err = registry__listener_find(a->reg, &k, &l);
	if (!err && a->reg->listeners[l].app != app)
		return fail(EADDRINUSE, "listen %s: listener belongs to app %s", name,
			    registry__app_name(a->reg, a->reg->listeners[l].app));
	if (err)
		err = registry__listener_add(a->reg, app, &k, &l);
	if (err)
		return fail(err, "listen %s: %s", name, registry__error(a->reg));
	a->listener_static[l] = true;
	return ok(json_pack("{s:o}", "listener", listener_json(a, l)));
}

/* ---- show ---- */

static json_t *do_show_apps(struct agent *a, const struct agent_client *cl, json_t *req)
{
	struct agent_delivered *d = delivered_read(a);
	json_t *arr = json_array();

	(void)cl;
	(void)req;
	for (uint32_t app = 0; app < XSL_MAX_APPS; app++)
		if (registry__app(a->reg, app))
			json_array_append_new(arr, app_json(a, app, d));
	free(d);
	return ok(json_pack("{s:o}", "apps", arr));
}

static json_t *workers_array(struct agent *a, int64_t app)
{
	json_t *arr = json_array();

	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		const struct reg_worker *rw = registry__worker(a->reg, w);

		if (rw && (app < 0 || rw->app == (uint32_t)app))
			json_array_append_new(arr, worker_json(a, w));
	}
	return arr;
}

static json_t *listeners_array(struct agent *a, int64_t app)
{
	json_t *arr = json_array();

	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
		const struct reg_listener *rl = registry__listener(a->reg, l);

		if (rl && (app < 0 || rl->app == (uint32_t)app))
			json_array_append_new(arr, listener_json(a, l));
	}
	return arr;
}

static json_t *do_show_app(struct agent *a, const struct agent_client *cl, json_t *req)
{
	struct agent_delivered *d;
	const char *name;
	uint32_t app;
	json_t *o;

	(void)cl;
	if (app_arg(a, req, &app, &name))
		return fail(ENOENT, "show app %s: no such app", name ? name : "");
	d = delivered_read(a);
	o = app_json(a, app, d);
	free(d);
	return ok(json_pack("{s:o, s:o, s:o}", "app", o, "workers",
			    workers_array(a, app), "listeners", listeners_array(a, app)));
}

static json_t *do_show_workers(struct agent *a, const struct agent_client *cl, json_t *req)
{
	const char *name = str_arg(req, "name");
	uint32_t app;

	(void)cl;
	if (name && registry__app_by_name(a->reg, name, &app))
		return fail(ENOENT, "show workers %s: no such app", name);
	return ok(json_pack("{s:o}", "workers", workers_array(a, name ? (int64_t)app : -1)));
}

static json_t *do_show_listeners(struct agent *a, const struct agent_client *cl, json_t *req)
{
	(void)cl;
	(void)req;
	return ok(json_pack("{s:o}", "listeners", listeners_array(a, -1)));
}

static json_t *do_show_sessions(struct agent *a, const struct agent_client *cl, json_t *req)
{
	const char *name = str_arg(req, "name");
	long long limit = 100;
	uint32_t app = XSL_NO_APP;
	json_t *arr;
	uint64_t total;
	int err;

	(void)cl;
	if (name && registry__app_by_name(a->reg, name, &app))
		return fail(ENOENT, "show sessions %s: no such app", name);
	if (int_arg(req, "limit", 1, 1000000, &limit) == -EINVAL)
		return fail(EINVAL, "show sessions: bad limit");
	/* a listing is built whole before it is sent: keep it within a reply
	 * (total still counts every match) */
	if (limit > AGENT_MAX_LIST)
		limit = AGENT_MAX_LIST;
	arr = json_array();
	err = gc__list_sessions(a, app, (uint32_t)limit, arr, &total);
	if (err) {
		json_decref(arr);
		return fail(err, "show sessions: read %s: %s", XSL_MAP_SESSIONS, strerror(-err));
	}
	return ok(json_pack("{s:o, s:I}", "sessions", arr, "total", (json_int_t)total));
}

static json_t *do_show_instances(struct agent *a, const struct agent_client *cl, json_t *req)
{
	struct inst_view v[XSL_REG_MAX_INSTANCES];
	const char *name;
	json_t *arr;
	uint32_t app;
	int n;

	(void)cl;
	if (app_arg(a, req, &app, &name))
		return fail(ENOENT, "show instances %s: no such app", name ? name : "");
	n = iview__list(a, app, v);
	if (n < 0)
		return fail(-n, "show instances %s: %s", name, strerror(-n));
	arr = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(
			arr, json_pack("{s:i, s:s, s:b, s:i, s:i, s:I, s:I}", "instance", v[i].num,
				       "state", instview__state_name(v[i].state), "taking",
				       v[i].taking, "first_pid", v[i].first_pid, "workers",
				       v[i].workers, "sessions", (json_int_t)v[i].sessions, "age",
				       (json_int_t)iview__age_s(a, app, &v[i])));
	return ok(json_pack("{s:s, s:o}", "app", name, "instances", arr));
}

static const char *const stat_names[] = {
#define XSL__NAME(n, s) s,
	XSL_STAT_LIST(XSL__NAME)
};
static const char *const drop_names[] = { XSL_DROP_LIST(XSL__NAME) };
static const char *const parse_names[] = { XSL_PARSE_LIST(XSL__NAME) };
#undef XSL__NAME

static json_t *do_show_stats(struct agent *a, const struct agent_client *cl, json_t *req)
{
	json_t *stats = json_object(), *drops = json_object(), *parse = json_object();
	json_t *devs = json_array(), *reply;
	struct xsl_stats s;
	int err;

	(void)cl;
	(void)req;
	err = agent__read_stats(a, &s);
	if (err) {
		json_decref(stats);
		json_decref(drops);
		json_decref(parse);
		json_decref(devs);
		return fail(err, "show stats: read %s: %s", XSL_MAP_STATS, strerror(-err));
	}
	for (int i = 0; i < XSL_STAT__MAX; i++)
		json_object_set_new(stats, stat_names[i], json_integer((json_int_t)s.stat[i]));
	for (int i = 0; i < XSL_DROP__MAX; i++)
		json_object_set_new(drops, drop_names[i], json_integer((json_int_t)s.drop[i]));
	for (int i = 0; i < XSL_PARSE__MAX; i++)
		json_object_set_new(parse, parse_names[i], json_integer((json_int_t)s.parse[i]));
	for (unsigned int i = 0; i < a->n_xdp_devs; i++)
		json_array_append_new(devs, json_string(a->xdp_devs[i].name));
	reply = ok(json_pack("{s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:o}",
			     "stats", stats, "drops", drops, "parse_errors", parse, "agent",
			     "reconcile_runs", (json_int_t)a->c.reconcile_runs, "gc_runs",
			     (json_int_t)a->c.gc_runs, "gc_rehomed", (json_int_t)a->c.gc_rehomed,
			     "ctl_requests", (json_int_t)a->c.ctl_requests,
			     "ctl_errors", (json_int_t)a->c.ctl_errors, "events_lost",
			     (json_int_t)s.stat[XSL_STAT_EVENTS_LOST], "start_time",
			     (json_int_t)a->start_time, "xdp_detached_behind",
			     (json_int_t)a->xdp_lost, "xdp_devices", devs));
	return reply;
}

/* ---- xdp ---- */

/* The loader's message for a failed xdp call, else "<what> DEV: <errno text>". */
static json_t *xdp_fail(int err, const char *what, const char *dev)
{
	const char *why = loader__xdp_error();

	if (why[0])
		return fail(err, "%s", why);
	return fail(err, "%s %s: %s", what, dev, strerror(-err));
}

static json_t *do_xdp_attach(struct agent *a, const struct agent_client *cl, json_t *req)
{
	const char *dev = str_arg(req, "dev"), *mode = str_arg(req, "mode");
	json_t *jthen = json_object_get(req, "then");
	enum xsl_xdp_mode m = XSL_XDP_MODE_NATIVE;
	const char *then;
	int err;

	if (!is_root(cl))
		return fail(EPERM, "xdp attach: only root may attach XDP");
	if (!dev)
		return fail(EINVAL, "xdp attach: missing dev");
	if (mode && !strcmp(mode, "skb"))
		m = XSL_XDP_MODE_SKB;
	else if (mode && strcmp(mode, "native"))
		return fail(EINVAL, "xdp attach %s: unknown mode '%s'", dev, mode);
	if (jthen && (!json_is_string(jthen) || !json_string_length(jthen) ||
		      strlen(json_string_value(jthen)) != json_string_length(jthen)))
		return fail(EINVAL, "xdp attach %s: then must be the path of a pinned program",
			    dev);
	then = json_string_value(jthen);
	if (then)
		err = loader__xdp_attach_then(a->o.pin_root, dev, m, then);
	else
		err = loader__xdp_attach(a->o.pin_root, dev, m);
	if (err == -EEXIST)
		return fail(err, "xdp attach %s: xsl is already attached", dev);
	if (err)
		return xdp_fail(err, "attach xdp to", dev);
	xdp__note(a, dev, true);
	return ok(NULL);
}

static json_t *do_xdp_detach(struct agent *a, const struct agent_client *cl, json_t *req)
{
	const char *dev = str_arg(req, "dev");
	json_t *jthen = json_object_get(req, "then");
	int err;

	if (!is_root(cl))
		return fail(EPERM, "xdp detach: only root may detach XDP");
	if (!dev)
		return fail(EINVAL, "xdp detach: missing dev");
	if (jthen && !json_is_boolean(jthen))
		return fail(EINVAL, "xdp detach %s: then must be true or false", dev);
	if (json_is_true(jthen)) {
		/* only the program after xsl goes; xsl stays */
		err = loader__xdp_detach_then(a->o.pin_root, dev);
		return err ? xdp_fail(err, "detach the next xdp program on", dev) : ok(NULL);
	}
	err = loader__xdp_detach(a->o.pin_root, dev);
	if (err == -ENOENT)
		return fail(err, "detach xdp from %s: xsl is not attached", dev);
	if (err)
		return xdp_fail(err, "detach xdp from", dev);
	xdp__note(a, dev, false);
	return ok(NULL);
}

static const struct {
	const char *name;
	cmd_fn fn;
} commands[] = {
	{ "app.attach", do_app_attach },
	{ "app.detach", do_app_detach },
	{ "app.join", do_app_join },
	{ "app.leave", do_app_leave },
	{ "instance.status", do_instance_status },
	{ "listen", do_listen },
	{ "show.apps", do_show_apps },
	{ "show.app", do_show_app },
	{ "show.workers", do_show_workers },
	{ "show.listeners", do_show_listeners },
	{ "show.sessions", do_show_sessions },
	{ "show.instances", do_show_instances },
	{ "show.stats", do_show_stats },
	{ "xdp.attach", do_xdp_attach },
	{ "xdp.detach", do_xdp_detach },
};

json_t *cmds__dispatch(struct agent *a, const struct agent_client *cl, json_t *req)
{
	const char *cmd = str_arg(req, "cmd");

	if (!cmd)
		return fail(EINVAL, "bad request: missing \"cmd\"");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, cmd))
			return commands[i].fn(a, cl, req);
	return fail(EOPNOTSUPP, "unknown command '%.64s'", cmd);
}
