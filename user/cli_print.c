// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xslctl's side of the replies (see cli.h): reply lines -> data or agent
 * error, data -> tables. A table is a header row and one row per object,
 * columns left-aligned to their widest cell and two spaces apart, as VPP's
 * "show app" / "show session"; a missing or null field shows as "-".
 * Objects whose shape is not the documented one are -EBADMSG.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

enum col_fmt {
	COL_VALUE,	/* the field as it is */
	COL_ADDRPORT,	/* "addr" and "port" as ADDR:PORT or [ADDR6]:PORT */
	COL_IDLE,	/* milliseconds as seconds: "1.5s" */
	COL_SESSION_WORKER,	/* "shared(N)" for a shared socket's session, else the worker */
	COL_NONZERO,	/* "-" for 0: no process (pid) or instance xsl can name */
	COL_AGE,	/* seconds as "59s", "1m05s", "2h03m", "3d04h" */
};

struct col {
	const char *head;
	const char *key;
	enum col_fmt fmt;
};

int cli_reply_parse(const char *line, size_t len, struct cli_reply *r)
{
	json_t *reply, *ok, *data, *err, *msg;
	int ret = -EBADMSG;

	memset(r, 0, sizeof(*r));
	reply = json_loadb(line, len, 0, NULL);
	ok = json_object_get(reply, "ok");
	if (!json_is_boolean(ok))
		goto out;
	if (json_is_true(ok)) {
		data = json_object_get(reply, "data");
		if (data && !json_is_object(data))
			goto out;
		r->data = data ? json_incref(data) : json_object();
		ret = r->data ? 0 : -ENOMEM;
		goto out;
	}
	err = json_object_get(reply, "errno");
	msg = json_object_get(reply, "error");
	if ((err && !json_is_integer(err)) || (msg && !json_is_string(msg)))
		goto out;
	/* An error without a usable errno is still an error. */
	r->err = err && json_integer_value(err) > 0 && json_integer_value(err) < 4096
			 ? (int)json_integer_value(err) : EIO;
	snprintf(r->msg, sizeof(r->msg), "%s", msg ? json_string_value(msg) : strerror(r->err));
	ret = 0;
out:
	json_decref(reply);
	return ret;
}

void cli_reply_free(struct cli_reply *r)
{
	json_decref(r->data);
	r->data = NULL;
}

void cli_format_error(char *buf, size_t len, const struct cli_opts *o,
		      const struct cli_reply *r)
{
	const char *name = strerrorname_np(r->err);
	size_t n = strlen(o->scope);
	char num[16];

	if (!name) {
		snprintf(num, sizeof(num), "errno %d", r->err);
		name = num;
	}
	/* The agent's text usually names the command and object itself
	 * ("app attach web: ..."); only add them when it does not. */
	if (n && !strncmp(r->msg, o->scope, n) && (r->msg[n] == ' ' || r->msg[n] == ':'))
		snprintf(buf, len, "%s (%s)", r->msg, name);
	else
		snprintf(buf, len, "%s%s%s: %s (%s)", o->scope, *o->object ? " " : "", o->object,
			 r->msg, name);
}

int cli_print_json(FILE *f, json_t *data)
{
	char *s = json_dumps(data, JSON_INDENT(2));

	if (!s)
		return -ENOMEM;
	fprintf(f, "%s\n", s);
	free(s);
	return 0;
}

/* A scalar as text ("-" for null, missing or not a scalar); NULL only when
 * out of memory. */
static char *scalar_text(json_t *v)
{
	char *s;

	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_boolean(v))
		return strdup(json_is_true(v) ? "true" : "false");
	if (json_is_integer(v))
		return asprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0 ? NULL : s;
	if (json_is_real(v))
		return asprintf(&s, "%g", json_real_value(v)) < 0 ? NULL : s;
	return strdup("-");
}

static char *addrport_text(json_t *addr, json_t *port)
{
	const char *a = json_string_value(addr);
	char *s;

	if (!a || !json_is_integer(port))
		return strdup("-");
	if (asprintf(&s, strchr(a, ':') ? "[%s]:%" JSON_INTEGER_FORMAT : "%s:%" JSON_INTEGER_FORMAT,
		     a, json_integer_value(port)) < 0)
		return NULL;
	return s;
}

static char *idle_text(json_t *ms)
{
	json_int_t v = json_integer_value(ms);
	char *s;

	if (!json_is_integer(ms) || v < 0)
		return strdup("-");
	if (asprintf(&s, "%" JSON_INTEGER_FORMAT ".%" JSON_INTEGER_FORMAT "s", v / 1000,
		     v % 1000 / 100) < 0)
		return NULL;
	return s;
}

/* A session on a socket shared by N > 1 processes: the kernel picks one. */
static char *session_worker_text(json_t *row, const char *key)
{
	json_t *shared = json_object_get(row, "shared");
	json_int_t n = json_integer_value(shared);
	char *s;

	if (json_is_integer(shared) && n > 0)
		return asprintf(&s, "shared(%" JSON_INTEGER_FORMAT ")", n) < 0 ? NULL : s;
	return scalar_text(json_object_get(row, key));
}

static char *age_text(json_t *secs)
{
	json_int_t v = json_integer_value(secs);
	char *s;
	int n;

	if (!json_is_integer(secs) || v < 0)
		return strdup("-");
	if (v < 60)
		n = asprintf(&s, "%llds", (long long)v);
	else if (v < 3600)
		n = asprintf(&s, "%lldm%02llds", (long long)v / 60, (long long)v % 60);
	else if (v < 86400)
		n = asprintf(&s, "%lldh%02lldm", (long long)v / 3600, (long long)v % 3600 / 60);
	else
		n = asprintf(&s, "%lldd%02lldh", (long long)v / 86400, (long long)v % 86400 / 3600);
	return n < 0 ? NULL : s;
}

static char *cell_text(const struct col *c, json_t *row)
{
	json_t *v;

	switch (c->fmt) {
	case COL_ADDRPORT:
		return addrport_text(json_object_get(row, "addr"), json_object_get(row, "port"));
	case COL_IDLE:
		return idle_text(json_object_get(row, c->key));
	case COL_SESSION_WORKER:
		return session_worker_text(row, c->key);
	case COL_AGE:
		return age_text(json_object_get(row, c->key));
	case COL_NONZERO:
		v = json_object_get(row, c->key);
		if (json_is_integer(v) && json_integer_value(v) <= 0)
			return strdup("-");
		return scalar_text(v);
	default:
		return scalar_text(json_object_get(row, c->key));
	}
}

static void print_row(FILE *f, char **text, const size_t *width, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		if (j + 1 < n)
			fprintf(f, "%-*s  ", (int)width[j], text[j]);
		else
			fprintf(f, "%s\n", text[j]);
	}
}

/* cols ends with { NULL }; rows is an array of objects. */
static int print_table(FILE *f, const struct col *cols, json_t *rows)
{
	size_t ncol = 0, nrow, *width, i, j;
	char **cell, *head[16];
	int ret = 0;

	if (!json_is_array(rows))
		return -EBADMSG;
	while (cols[ncol].head)
		ncol++;
	nrow = json_array_size(rows);
	width = calloc(ncol, sizeof(*width));
	cell = calloc(nrow * ncol + 1, sizeof(*cell));
	if (!width || !cell) {
		ret = -ENOMEM;
		goto out;
	}
	for (j = 0; j < ncol; j++) {
		head[j] = (char *)cols[j].head;
		width[j] = strlen(head[j]);
	}
	for (i = 0; i < nrow && !ret; i++) {
		json_t *row = json_array_get(rows, i);

		if (!json_is_object(row)) {
			ret = -EBADMSG;
			break;
		}
		for (j = 0; j < ncol; j++) {
			char *s = cell_text(&cols[j], row);

			if (!s) {
				ret = -ENOMEM;
				break;
			}
			cell[i * ncol + j] = s;
			if (strlen(s) > width[j])
				width[j] = strlen(s);
		}
	}
	if (ret)
		goto out;
	print_row(f, head, width, ncol);
	for (i = 0; i < nrow; i++)
		print_row(f, cell + i * ncol, width, ncol);
out:
	for (i = 0; cell && i < nrow * ncol; i++)
		free(cell[i]);
	free(cell);
	free(width);
	return ret;
}

#define COL(h, k) { .head = h, .key = k, .fmt = COL_VALUE }

static const struct col app_cols[] = {
	COL("Index", "index"), COL("Name", "name"), COL("Workers", "workers"),
	COL("Listeners", "listeners"), COL("Sessions", "sessions"), COL("Policy", "policy"),
	COL("Cgroup", "cgroup"), { 0 }
};

static const struct col worker_cols[] = {
	COL("wrk-index", "index"), COL("app", "app"), COL("map-index", "map_index"),
	COL("pid", "pid"), COL("state", "state"), COL("instance", "instance"),
	COL("sessions", "sessions"), COL("packets", "packets"), { 0 }
};

static const struct col instance_cols[] = {
	COL("instance", "instance"), COL("state", "state"),
	{ .head = "first-pid", .key = "first_pid", .fmt = COL_NONZERO },
	COL("workers", "workers"), COL("sessions", "sessions"),
	{ .head = "age", .key = "age", .fmt = COL_AGE }, { 0 }
};

static const struct col listener_cols[] = {
	COL("Index", "index"), COL("App", "app"), COL("Proto", "proto"),
	{ .head = "Address", .fmt = COL_ADDRPORT }, COL("Workers", "workers"),
	COL("Sockets", "sockets"), { 0 }
};

static const struct col session_cols[] = {
	COL("Proto", "proto"), COL("Remote", "remote"), COL("Local", "local"), COL("App", "app"),
	{ .head = "Worker", .key = "worker", .fmt = COL_SESSION_WORKER },
	{ .head = "Pid", .key = "pid", .fmt = COL_NONZERO },
	{ .head = "Instance", .key = "instance", .fmt = COL_NONZERO }, COL("State", "state"),
	COL("Packets", "packets"), { .head = "Idle", .key = "idle_ms", .fmt = COL_IDLE }, { 0 }
};

static const struct col counter_cols[] = {
	COL("Counter", "counter"), COL("Value", "value"), { 0 }
};

int cli_print_apps(FILE *f, json_t *data)
{
	return print_table(f, app_cols, json_object_get(data, "apps"));
}

int cli_print_workers(FILE *f, json_t *data)
{
	return print_table(f, worker_cols, json_object_get(data, "workers"));
}

int cli_print_instances(FILE *f, json_t *data)
{
	return print_table(f, instance_cols, json_object_get(data, "instances"));
}

int cli_print_listeners(FILE *f, json_t *data)
{
	return print_table(f, listener_cols, json_object_get(data, "listeners"));
}

int cli_print_sessions(FILE *f, json_t *data)
{
	json_t *sessions = json_object_get(data, "sessions");
	json_t *total = json_object_get(data, "total");
	int ret = print_table(f, session_cols, sessions);

	/* Say so when --limit cut the list short. */
	if (!ret && json_is_integer(total) &&
	    json_integer_value(total) > (json_int_t)json_array_size(sessions))
		fprintf(f, "(%zu of %" JSON_INTEGER_FORMAT " sessions shown; see --limit)\n",
			json_array_size(sessions), json_integer_value(total));
	return ret;
}

/* "key: value" for each field of the app, then its workers and listeners. */
int cli_print_app(FILE *f, json_t *data)
{
	json_t *app = json_object_get(data, "app"), *v;
	const char *key;
	int ret;

	if (!json_is_object(app))
		return -EBADMSG;
	json_object_foreach(app, key, v) {
		char *s = scalar_text(v);

		if (!s)
			return -ENOMEM;
		fprintf(f, "%s: %s\n", key, s);
		free(s);
	}
	fputc('\n', f);
	ret = print_table(f, worker_cols, json_object_get(data, "workers"));
	if (ret)
		return ret;
	fputc('\n', f);
	return print_table(f, listener_cols, json_object_get(data, "listeners"));
}

/* Appends {"counter": prefix + key, "value": v} for every scalar under obj,
 * nested objects with their key and '_' added to the prefix. */
static int add_counters(json_t *rows, const char *prefix, json_t *obj)
{
	const char *key;
	json_t *v;
	char *name;
	int ret;

	if (!json_is_object(obj))
		return obj ? -EBADMSG : 0;
	json_object_foreach(obj, key, v) {
		if (asprintf(&name, "%s%s", prefix, key) < 0)
			return -ENOMEM;
		if (json_is_object(v)) {
			char *sub;

			ret = -ENOMEM;
			if (asprintf(&sub, "%s_", name) >= 0) {
				ret = add_counters(rows, sub, v);
				free(sub);
			}
		} else {
			ret = json_array_append_new(rows, json_pack("{s:s,s:O}", "counter", name,
								      "value", v)) ? -ENOMEM : 0;
		}
		free(name);
		if (ret)
			return ret;
	}
	return 0;
}

int cli_print_stats(FILE *f, json_t *data)
{
	static const struct {
		const char *key, *prefix;
	} groups[] = {
		{ "stats", "" }, { "drops", "drop_" }, { "parse_errors", "parse_" },
		{ "agent", "agent_" },
	};
	json_t *rows = json_array();
	int ret = rows ? 0 : -ENOMEM;

	for (size_t i = 0; !ret && i < sizeof(groups) / sizeof(groups[0]); i++)
		ret = add_counters(rows, groups[i].prefix, json_object_get(data, groups[i].key));
	if (!ret)
		ret = print_table(f, counter_cols, rows);
	json_decref(rows);
	return ret;
}

/* app attach: one line naming what the agent made. */
int cli_print_attached(FILE *f, json_t *data)
{
	json_t *app = json_object_get(data, "app");

	if (!json_is_object(app))
		return -EBADMSG;
	fprintf(f, "app %s: index %" JSON_INTEGER_FORMAT ", cgroup %s\n",
		json_string_value(json_object_get(app, "name")) ?: "-",
		json_integer_value(json_object_get(app, "index")),
		json_string_value(json_object_get(app, "cgroup")) ?: "-");
	return 0;
}

/* listen: "listener 0: web udp 0.0.0.0:53" */
int cli_print_listener(FILE *f, json_t *data)
{
	json_t *l = json_object_get(data, "listener");
	char *where;

	if (!json_is_object(l))
		return -EBADMSG;
	where = addrport_text(json_object_get(l, "addr"), json_object_get(l, "port"));
	if (!where)
		return -ENOMEM;
	fprintf(f, "listener %" JSON_INTEGER_FORMAT ": %s %s %s\n",
		json_integer_value(json_object_get(l, "index")),
		json_string_value(json_object_get(l, "app")) ?: "-",
		json_string_value(json_object_get(l, "proto")) ?: "-", where);
	free(where);
	return 0;
}
