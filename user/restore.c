// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Restart recovery (see restore.h for the rules).
 *
 * Passes in dependency order: apps, then workers (they need their app),
 * then listeners (they need their app and the workers their table names),
 * then the serving sets from the sockets and the tables checked against the
 * instances (they need every listener: which instance takes new sessions
 * depends on all of them). Each record goes through a registry__restore_*()
 * primitive, which validates it against what is restored already; a refused
 * record is dropped and reported. A last pass raises the gens kept by free
 * slots to the highest gen any record names for them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "restore.h"

struct ctx {
	struct xsl_registry *r;
	const struct xsl_restore_input *in;
	struct xsl_restore_report *rep;
	/* restored listeners: whether the map's table was repaired, and the
	 * map's n_workers, for the report once the serving sets are whole */
	bool fixed[XSL_MAX_LISTENERS];
	uint32_t map_workers[XSL_MAX_LISTENERS];
};

static void note(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct ctx *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!c->in->note)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->in->note(c->in->ctx, msg);
}

static bool registry_empty(const struct xsl_registry *r)
{
	for (uint32_t i = 0; i < XSL_MAX_APPS; i++)
		if (r->apps[i].live)
			return false;
	for (uint32_t i = 0; i < XSL_MAX_WORKERS; i++)
		if (r->workers[i].live)
			return false;
	for (uint32_t i = 0; i < XSL_MAX_LISTENERS; i++)
		if (r->listeners[i].live)
			return false;
	return true;
}

/* ---- apps and workers ---- */

static void restore_apps(struct ctx *c)
{
	for (uint32_t a = 0; a < XSL_MAX_APPS; a++) {
		const struct xsl_app *rec = &c->in->apps[a];

		if (rec->state == XSL_APP_FREE) {
			registry__restore_gen(c->r, XSL_REG_APP, a, rec->gen);
			continue;
		}
		if (!registry__restore_app(c->r, a, rec)) {
			c->rep->apps++;
			continue;
		}
		note(c, "app record %u dropped: %s", a, registry__error(c->r));
		registry__restore_gen(c->r, XSL_REG_APP, a, rec->gen);
		c->rep->dropped_apps[c->rep->n_dropped_apps++] = a;
	}
}

static void restore_workers(struct ctx *c)
{
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		const struct xsl_worker *rec = &c->in->workers[w];

		if (rec->state == XSL_WORKER_FREE) {
			registry__restore_gen(c->r, XSL_REG_WORKER, w, rec->gen);
			continue;
		}
		if (!registry__restore_worker(c->r, w, rec)) {
			c->rep->workers++;
			continue;
		}
		note(c, "worker record %u dropped: %s", w, registry__error(c->r));
		registry__restore_gen(c->r, XSL_REG_WORKER, w, rec->gen);
		c->rep->dropped_workers[c->rep->n_dropped_workers++] = w;
	}
}

/* ---- listeners ---- */

/* The data path only ever looks up keys of this shape. */
static bool key_ok(const struct xsl_listener_key *k)
{
	if (k->proto != IPPROTO_TCP && k->proto != IPPROTO_UDP)
		return false;
	if (k->family == XSL_AF_INET)
		return !k->addr[1] && !k->addr[2] && !k->addr[3];
	return k->family == XSL_AF_INET6;
}

/* Whether entry i is a better primary key for its index than entry j. */
static bool better_primary(const struct ctx *c, unsigned int i, unsigned int j)
{
	const struct xsl_listener *vi = &c->in->lvals[i], *vj = &c->in->lvals[j];
	const struct xsl_listener_key *ki = &c->in->lkeys[i], *kj = &c->in->lkeys[j];

	if (vi->gen != vj->gen)
		return vi->gen > vj->gen;
	if ((ki->family == XSL_AF_INET6) != (kj->family == XSL_AF_INET6))
		return ki->family == XSL_AF_INET6;
	return memcmp(ki, kj, sizeof(*ki)) < 0;
}

static bool same_listener(const struct xsl_listener *a, const struct xsl_listener *b)
{
	return a->gen == b->gen && a->app == b->app && a->app_gen == b->app_gen;
}

static void drop_key(struct ctx *c, unsigned int i, const char *why)
{
	const struct xsl_listener_key *k = &c->in->lkeys[i];

	note(c, "listener entry %u (family %u proto %u port %u) for index %u dropped: %s", i,
	     k->family, k->proto, ntohs(k->port), c->in->lvals[i].index, why);
	c->rep->dropped_keys[c->rep->n_dropped_keys++] = *k;
}

/*
 * The registry table of listener val from its map row: slots naming anything
 * but a live worker of the app with its current gen are cleared, then given
 * to the remaining workers (table__del with no worker removed reassigns
 * exactly the empty slots). *changed when the result differs from the row.
 */
static int fix_table(struct ctx *c, const struct xsl_listener *val,
		     const struct xsl_slot_table *row, struct xsl_table *t, bool *changed)
{
	struct xsl_table_worker rest[XSL_MAX_WORKERS];
	uint64_t seen[XSL_REG_WORKER_WORDS] = { 0 };
	unsigned int n = 0, empty = 0, cleared = 0;

	for (unsigned int s = 0; s < XSL_TABLE_SLOTS; s++) {
		uint32_t w = row->slot[s].worker;
		const struct reg_worker *wk = registry__worker(c->r, w);

		if (wk && wk->gen == row->slot[s].gen && wk->app == val->app) {
			t->slot[s] = w;
			if (!(seen[w / 64] & (1ull << (w % 64)))) {
				seen[w / 64] |= 1ull << (w % 64);
				rest[n++] = (struct xsl_table_worker){ .index = w, .gen = wk->gen };
			}
			continue;
		}
		t->slot[s] = XSL_NO_WORKER;
		empty++;
		cleared += w != XSL_NO_WORKER;
	}
	c->rep->slots_cleared += cleared;
	*changed = cleared || (n && empty);
	if (*changed)
		note(c, "listener %u: %u slots were empty or named a gone or stale worker, "
		     "given to the %u workers left", val->index, empty, n);
	if (!n || !empty)
		return 0;
	return table__del(t, XSL_NO_WORKER, rest, n);
}

static void restore_listener(struct ctx *c, unsigned int p, const bool *ok)
{
	const struct xsl_listener *val = &c->in->lvals[p];
	struct xsl_restore_report *rep = c->rep;
	struct xsl_table t;
	const char *why = NULL;
	bool changed = false;
	int err;

	err = fix_table(c, val, &c->in->slots[val->index], &t, &changed);
	if (err) {
		why = "its table cannot be repaired";
	} else {
		err = registry__restore_listener(c->r, &c->in->lkeys[p], val, &t);
		if (err)
			why = registry__error(c->r);
	}
	for (unsigned int i = 0; i < c->in->n_listeners; i++) {
		if (!ok[i] || c->in->lvals[i].index != val->index)
			continue;
		if (err) {
			drop_key(c, i, i == p ? why : "its listener was dropped");
		} else if (i != p && !same_listener(&c->in->lvals[i], val)) {
			drop_key(c, i, "another listener has that index");
		} else if (i != p) {
			rep->aliases[rep->n_aliases++] = (struct xsl_restore_alias){
				.key = c->in->lkeys[i], .listener = val->index
			};
		}
	}
	if (err)
		return;
	rep->listeners++;
	c->fixed[val->index] = changed;
	c->map_workers[val->index] = val->n_workers;
}

static void restore_listeners(struct ctx *c)
{
	const struct xsl_restore_input *in = c->in;
	bool ok[XSL_MAX_LISTENERS] = { false };
	int primary[XSL_MAX_LISTENERS];

	for (unsigned int l = 0; l < XSL_MAX_LISTENERS; l++)
		primary[l] = -1;
	for (unsigned int i = 0; i < in->n_listeners; i++) {
		const struct xsl_listener *v = &in->lvals[i];
		const struct reg_app *ra = registry__app(c->r, v->app);
		bool dup = false;

		/* a hash map has no duplicate keys; a copy of one is ignored */
		for (unsigned int j = 0; j < i && !dup; j++)
			dup = !memcmp(&in->lkeys[j], &in->lkeys[i], sizeof(in->lkeys[i]));
		if (dup) {
			note(c, "listener entry %u: duplicate key ignored", i);
			continue;
		}
		if (!key_ok(&in->lkeys[i]))
			drop_key(c, i, "bad key");
		else if (v->index >= XSL_MAX_LISTENERS || !v->gen)
			drop_key(c, i, "index out of range or gen 0");
		else if (!ra || ra->gen != v->app_gen)
			drop_key(c, i, "its app is gone");
		else
			ok[i] = true;
		if (ok[i] && (primary[v->index] < 0 || better_primary(c, i, primary[v->index])))
			primary[v->index] = i;
	}
	for (unsigned int l = 0; l < XSL_MAX_LISTENERS; l++) {
		if (primary[l] >= 0)
			restore_listener(c, primary[l], ok);
	}
}

/* ---- serving sets and tables ---- */

/*
 * The workers with a socket for a listener serve it too (a worker of an
 * instance the table does not hold has no slot); then each table is checked
 * against its listener's instances (registry__restore_table), and a
 * listener whose table or n_workers differs from the map is reported.
 */
static void restore_serving(struct ctx *c)
{
	struct xsl_restore_report *rep = c->rep;

	for (unsigned int i = 0; i < c->in->n_wsocks; i++) {
		const struct xsl_wsock_key *k = &c->in->wsocks[i];

		if (registry__restore_serving(c->r, k->listener, k->worker))
			note(c, "socket of worker %u for listener %u ignored: %s", k->worker,
			     k->listener, registry__error(c->r));
	}
	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
		const struct reg_listener *ln = registry__listener(c->r, l);
		bool changed = false;

		if (!ln)
			continue;
		if (registry__restore_table(c->r, l, &changed))
			note(c, "listener %u: %s", l, registry__error(c->r));
		else if (changed)
			note(c, "listener %u: its table named workers of another instance than "
			     "its own (%u): made again", l, ln->table_inst);
		if (changed || c->fixed[l] || c->map_workers[l] != ln->n_workers)
			rep->repaired_listeners[rep->n_repaired_listeners++] = l;
	}
}

/* ---- gens of free slots ---- */

static void keep_gen(struct xsl_registry *r, enum xsl_reg_kind kind, uint32_t index,
		     uint32_t gen, bool live)
{
	if (!live)
		registry__restore_gen(r, kind, index, gen);
}

/* Free slots keep the highest gen any record names for them. */
static void keep_named_gens(struct ctx *c)
{
	const struct xsl_restore_input *in = c->in;
	struct xsl_registry *r = c->r;

	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
		for (unsigned int s = 0; s < XSL_TABLE_SLOTS; s++) {
			uint32_t w = in->slots[l].slot[s].worker;

			if (w < XSL_MAX_WORKERS)
				keep_gen(r, XSL_REG_WORKER, w, in->slots[l].slot[s].gen,
					 registry__worker(r, w));
		}
	}
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		uint32_t a = in->workers[w].app;

		if (a < XSL_MAX_APPS)
			keep_gen(r, XSL_REG_APP, a, in->workers[w].app_gen, registry__app(r, a));
	}
	for (unsigned int i = 0; i < in->n_listeners; i++) {
		const struct xsl_listener *v = &in->lvals[i];

		if (v->app < XSL_MAX_APPS)
			keep_gen(r, XSL_REG_APP, v->app, v->app_gen, registry__app(r, v->app));
		if (v->index < XSL_MAX_LISTENERS)
			keep_gen(r, XSL_REG_LISTENER, v->index, v->gen,
				 registry__listener(r, v->index));
	}
}

int restore__registry(struct xsl_registry *r, const struct xsl_restore_input *in,
		      struct xsl_restore_report *report)
{
	struct xsl_restore_report scratch;
	struct ctx c;

	if (!r || !in || !in->apps || !in->workers || !in->slots ||
	    in->n_listeners > XSL_MAX_LISTENERS ||
	    (in->n_listeners && (!in->lkeys || !in->lvals)) || (in->n_wsocks && !in->wsocks))
		return -EINVAL;
	if (!registry_empty(r))
		return -EBUSY;
	c = (struct ctx){ .r = r, .in = in, .rep = report ? report : &scratch };
	memset(c.rep, 0, sizeof(*c.rep));
	restore_apps(&c);
	restore_workers(&c);
	restore_listeners(&c);
	restore_serving(&c);
	keep_named_gens(&c);
	return 0;
}
