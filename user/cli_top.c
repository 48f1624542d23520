// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `xslctl top`'s rows and screen (see cli_top.h): pure, JSON in and text
 * out, so the unit tests see exactly what a terminal gets. Rates come from
 * two successive replies of the same show command: a row is matched with
 * its previous self by index and generation, so a worker index reused by a
 * new worker starts again from 0 instead of showing a bogus rate.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "cli_top.h"

const char *const top_sort_names[TOP_SORT__MAX] = {
	[TOP_SORT_PACKETS] = "packets", [TOP_SORT_BYTES] = "bytes", [TOP_SORT_NEW] = "new",
	[TOP_SORT_SESSIONS] = "sessions", [TOP_SORT_DROPS] = "drops",
};

static long long int_of(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* The object of arr with the same index and gen as o, or NULL. */
static json_t *find_same(json_t *arr, json_t *o)
{
	long long index = int_of(o, "index"), gen = int_of(o, "gen");
	size_t i;
	json_t *p;

	json_array_foreach(arr, i, p)
		if (int_of(p, "index") == index && int_of(p, "gen") == gen)
			return p;
	return NULL;
}

/* key's counter in cur against prev, per second; 0 without prev, over no
 * time, or when it went down. */
static double rate(json_t *prev, json_t *cur, const char *key, double dt_s)
{
	long long a, b;

	if (!prev || dt_s <= 0)
		return 0;
	a = int_of(prev, key);
	b = int_of(cur, key);
	return b > a ? (double)(b - a) / dt_s : 0;
}

static void row_from(struct top_row *r, json_t *o, json_t *p, double dt_s, bool workers)
{
	const char *app = json_string_value(json_object_get(o, workers ? "app" : "name"));

	memset(r, 0, sizeof(*r));
	snprintf(r->app, sizeof(r->app), "%s", app);
	r->sessions = int_of(o, "sessions");
	r->new_s = rate(p, o, "created", dt_s);
	r->pkts_s = rate(p, o, "packets", dt_s);
	r->bytes_s = rate(p, o, "bytes", dt_s);
	if (workers) {
		const char *st = json_string_value(json_object_get(o, "state"));

		r->worker = int_of(o, "index");
		r->pid = int_of(o, "pid");
		snprintf(r->state, sizeof(r->state), "%s", st ? st : "-");
		r->drops_s = -1;	/* drops are counted per app only */
		return;
	}
	r->worker = -1;
	r->workers = int_of(o, "workers");
	r->drops_s = rate(p, o, "drops", dt_s);
	snprintf(r->state, sizeof(r->state), "%s",
		 !r->workers ? "idle" : !int_of(o, "listeners") ? "no-listener" : "serving");
}

/* An element of a reply's list as the protocol documents it. */
static bool valid(json_t *o, bool workers)
{
	return json_is_object(o) && json_is_integer(json_object_get(o, "index")) &&
	       json_is_string(json_object_get(o, workers ? "app" : "name"));
}

int top_rows(json_t *prev, json_t *cur, double dt_s, bool workers, const char *name,
	     struct top_row **rows, size_t *n)
{
	const char *key = workers ? "workers" : "apps";
	json_t *arr = json_object_get(cur, key), *parr = json_object_get(prev, key), *o;
	size_t i;

	*rows = NULL;
	*n = 0;
	if (!json_is_array(arr))
		return -EBADMSG;
	json_array_foreach(arr, i, o)
		if (!valid(o, workers))
			return -EBADMSG;
	if (!json_array_size(arr))
		return 0;
	*rows = calloc(json_array_size(arr), sizeof(**rows));
	if (!*rows)
		return -ENOMEM;
	json_array_foreach(arr, i, o) {
		const char *app = json_string_value(json_object_get(o, workers ? "app" : "name"));

		if (name && strcmp(app, name))
			continue;
		row_from(&(*rows)[(*n)++], o, json_is_array(parr) ? find_same(parr, o) : NULL, dt_s,
			 workers);
	}
	if (!*n) {
		free(*rows);
		*rows = NULL;
	}
	return 0;
}

static double sort_key(const struct top_row *r, enum top_sort s)
{
	switch (s) {
	case TOP_SORT_BYTES:
		return r->bytes_s;
	case TOP_SORT_NEW:
		return r->new_s;
	case TOP_SORT_SESSIONS:
		return (double)r->sessions;
	case TOP_SORT_DROPS:
		return r->drops_s;
	default:
		return r->pkts_s;
	}
}

static int cmp_rows(const void *pa, const void *pb, void *arg)
{
	const struct top_row *a = pa, *b = pb;
	enum top_sort by = *(const enum top_sort *)arg;
	double ka = sort_key(a, by), kb = sort_key(b, by);
	int c;

	if (ka != kb)
		return ka < kb ? 1 : -1;
	c = strcmp(a->app, b->app);
	if (c)
		return c;
	return a->worker < b->worker ? -1 : a->worker > b->worker;
}

void top_sort(struct top_row *rows, size_t n, enum top_sort s)
{
	if (n > 1)
		qsort_r(rows, n, sizeof(*rows), cmp_rows, &s);
}

void top_fmt_rate(char *buf, size_t len, double v)
{
	static const char units[] = "kMGTP";
	int u = -1;

	if (v < 0) {
		snprintf(buf, len, "-");
		return;
	}
	if (v > 0 && v < 10) {
		snprintf(buf, len, "%.1f", v);
		/* 0.04 would read "0.0": rates this small show as such */
		if (!strcmp(buf, "0.0"))
			snprintf(buf, len, "0.1");
		return;
	}
	/* exact up to 9999, then in units with at most three digits */
	if (v >= 9999.5) {
		do {
			v /= 1000;
			u++;
		} while (v >= 999.5 && u < (int)sizeof(units) - 2);
	}
	if (u < 0)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, v < 99.95 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

/* The lines of one screen, each cut at width, stopping after height. */
struct screen {
	FILE *f;
	unsigned int width, left;	/* left: lines still allowed; 0 with no limit */
	bool limited, full;
};

__attribute__((format(printf, 2, 3)))
static void line(struct screen *s, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (s->full)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (s->width && strlen(buf) > s->width)
		buf[s->width] = '\0';
	/* no trailing blanks: what a terminal shows, and tests compare */
	for (size_t n = strlen(buf); n && buf[n - 1] == ' '; n--)
		buf[n - 1] = '\0';
	fprintf(s->f, "%s\n", buf);
	if (s->limited && --s->left == 0)
		s->full = true;
}

void top_render(FILE *f, const struct top_view *v, const struct top_row *rows, size_t n,
		unsigned int width, unsigned int height)
{
	struct screen s = { .f = f, .width = width, .left = height, .limited = height > 0 };
	char nw[16], pk[16], by[16], dr[16];
	double t_new = 0, t_pkts = 0, t_bytes = 0;
	long long t_sess = 0, t_wrk = 0;
	int aw = 3;	/* width of the APP column */
	size_t shown = n;

	for (size_t i = 0; i < n; i++) {
		t_new += rows[i].new_s;
		t_pkts += rows[i].pkts_s;
		t_bytes += rows[i].bytes_s;
		t_sess += rows[i].sessions;
		t_wrk += v->workers ? 1 : rows[i].workers;
		if ((int)strlen(rows[i].app) > aw)
			aw = (int)strlen(rows[i].app);
	}
	top_fmt_rate(nw, sizeof(nw), t_new);
	top_fmt_rate(pk, sizeof(pk), t_pkts);
	top_fmt_rate(by, sizeof(by), t_bytes);
	snprintf(dr, sizeof(dr), "%zu apps, ", n);
	line(&s, "xsl top%s%s: %s%lld workers, %lld sessions; new/s %s, pkts/s %s, bytes/s %s",
	     v->name ? " " : "", v->name ? v->name : "", v->workers ? "" : dr, t_wrk, t_sess, nw,
	     pk, by);
	if (v->status)
		line(&s, "%s", v->status);
	else if (v->keys)
		line(&s, "view: %s (a)  sort: %s (s)  quit (q)", v->workers ? "workers" : "apps",
		     top_sort_names[v->sort]);
	else
		line(&s, "view: %s  sort: %s", v->workers ? "workers" : "apps",
		     top_sort_names[v->sort]);
	line(&s, "%s", "");
	if (v->workers)
		line(&s, "%-*s  %6s  %7s  %-11s  %8s  %6s  %6s  %7s  %7s", aw, "APP", "WORKER",
		     "PID", "STATE", "SESSIONS", "NEW/s", "PKTS/s", "BYTES/s", "DROPS/s");
	else
		line(&s, "%-*s  %-11s  %7s  %8s  %6s  %6s  %7s  %7s", aw, "APP", "STATE", "WORKERS",
		     "SESSIONS", "NEW/s", "PKTS/s", "BYTES/s", "DROPS/s");
	/* room for every row, or for all but one and a line saying so */
	if (s.limited && n > s.left)
		shown = s.left > 0 ? s.left - 1 : 0;
	for (size_t i = 0; i < shown; i++) {
		const struct top_row *r = &rows[i];

		top_fmt_rate(nw, sizeof(nw), r->new_s);
		top_fmt_rate(pk, sizeof(pk), r->pkts_s);
		top_fmt_rate(by, sizeof(by), r->bytes_s);
		top_fmt_rate(dr, sizeof(dr), r->drops_s);
		if (v->workers)
			line(&s, "%-*s  %6lld  %7lld  %-11s  %8lld  %6s  %6s  %7s  %7s", aw, r->app,
			     r->worker, r->pid, r->state, r->sessions, nw, pk, by, dr);
		else
			line(&s, "%-*s  %-11s  %7lld  %8lld  %6s  %6s  %7s  %7s", aw, r->app,
			     r->state, r->workers, r->sessions, nw, pk, by, dr);
	}
	if (shown < n)
		line(&s, "... %zu more", n - shown);
	if (!n)
		line(&s, "%s", v->name ? "(no such app, or it has no workers)" : "(no apps)");
}
