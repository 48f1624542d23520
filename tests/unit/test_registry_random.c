// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Randomized registry test: a seeded sequence of operations (attach with and
 * without a creator, held or not, worker add/delete, worker add to an
 * instance, process and operator detach, listener add/delete, listener
 * worker add/delete, instance start and mark) is applied both to the
 * registry and to a deliberately plain model written here, and after every
 * operation the return code, the allocated index and the whole state are
 * compared, and the registry's invariants are checked (among them: every
 * slot names a live serving worker of the listener's table instance, the
 * taking one when it serves the listener; loads within one; minimal moves
 * within that instance, none for another's workers; a table that changes
 * instance is built anew); the change hooks check that the data path would
 * never see a freed worker or app.
 *
 * The seed is fixed and printed; XSL_SEED=<n> replays another one, and
 * XSL_OPS=<n> changes the number of operations (at least MIN_OPS: a run that
 * checks next to nothing must not pass), and every kind of operation must
 * have run at least once.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "registry.h"

#define DEFAULT_SEED	0x5eed2026u
#define DEFAULT_OPS	20000u
#define MIN_OPS		1000u
#define N_NAMES		8
#define N_PIDS		64	/* pids 1..N_PIDS */
#define N_PORTS		12
#define S		XSL_TABLE_SLOTS

/* ---- the model ---- */

struct m_inst {
	uint32_t num;		/* 0: none */
	int mark;		/* 0, XSL_INST_DRAINING or XSL_INST_STOPPING */
};

struct m_app {
	bool live;
	bool held;
	uint32_t gen;
	int name;		/* index into names[] */
	uint32_t creator;
	unsigned int n_listeners;
	uint32_t last;		/* last instance number */
	struct m_inst inst[XSL_REG_MAX_INSTANCES];
};

struct m_worker {
	bool live;
	uint32_t gen;
	uint32_t app;
	uint32_t pid;
	uint32_t map_index;
	uint32_t inst;
};

struct m_listener {
	bool live;
	uint32_t gen;
	uint32_t app;
	int port;
	bool serving[XSL_MAX_WORKERS];
};

struct model {
	struct m_app app[XSL_MAX_APPS];
	struct m_worker wrk[XSL_MAX_WORKERS];
	struct m_listener lis[XSL_MAX_LISTENERS];
	int entry[N_PIDS + 1];	/* pid -> app index, -1 for none */
};

static const char *const names[N_NAMES] = { "dns", "web", "sip", "quic",
					    "game", "mail", "ntp", "syslog" };

static uint32_t gen_next(uint32_t g)
{
	return g + 1 ? g + 1 : 1;
}

static unsigned int m_app_workers(const struct model *m, uint32_t a)
{
	unsigned int n = 0;

	for (int w = 0; w < XSL_MAX_WORKERS; w++)
		n += m->wrk[w].live && m->wrk[w].app == a;
	return n;
}

static unsigned int m_serving(const struct model *m, uint32_t l)
{
	unsigned int n = 0;

	for (int w = 0; w < XSL_MAX_WORKERS; w++)
		n += m->lis[l].serving[w];
	return n;
}

static int m_find_name(const struct model *m, int name)
{
	for (int a = 0; a < XSL_MAX_APPS; a++) {
		if (m->app[a].live && m->app[a].name == name)
			return a;
	}
	return -1;
}

static int m_free_worker(const struct model *m)
{
	for (int w = 0; w < XSL_MAX_WORKERS; w++) {
		if (!m->wrk[w].live)
			return w;
	}
	return -1;
}

static uint32_t m_free_map_index(const struct model *m, uint32_t a)
{
	bool used[XSL_MAX_WORKERS + 1] = { false };
	uint32_t i = 0;

	for (int w = 0; w < XSL_MAX_WORKERS; w++) {
		if (m->wrk[w].live && m->wrk[w].app == a)
			used[m->wrk[w].map_index] = true;
	}
	while (used[i])
		i++;
	return i;
}

/* ---- model instances: plain loops over the rules ---- */

static struct m_inst *m_inst(struct model *m, uint32_t a, uint32_t num)
{
	for (int i = 0; num && i < XSL_REG_MAX_INSTANCES; i++) {
		if (m->app[a].inst[i].num == num)
			return &m->app[a].inst[i];
	}
	return NULL;
}

static unsigned int m_inst_workers(const struct model *m, uint32_t a, uint32_t num)
{
	unsigned int n = 0;

	for (int w = 0; w < XSL_MAX_WORKERS; w++)
		n += m->wrk[w].live && m->wrk[w].app == a && m->wrk[w].inst == num;
	return n;
}

static unsigned int m_inst_count(const struct model *m, uint32_t a)
{
	unsigned int n = 0;

	for (int i = 0; i < XSL_REG_MAX_INSTANCES; i++)
		n += m->app[a].inst[i].num != 0;
	return n;
}

/* The current instance: newest unmarked, 0 for none. */
static uint32_t m_current(const struct model *m, uint32_t a)
{
	uint32_t cur = 0;

	for (int i = 0; i < XSL_REG_MAX_INSTANCES; i++) {
		const struct m_inst *in = &m->app[a].inst[i];

		if (in->num && !in->mark && in->num > cur)
			cur = in->num;
	}
	return cur;
}

/* 0 when a new instance (the next number) may be made, else the errno. */
static int m_inst_room(const struct model *m, uint32_t a)
{
	uint32_t n = m->app[a].last + 1;

	if (n > XSL_REG_MAX_INSTANCE)
		return -EOVERFLOW;
	if (m_inst_count(m, a) >= XSL_REG_MAX_INSTANCES)
		return -ENOSPC;
	for (int i = 0; i < XSL_REG_MAX_INSTANCES; i++) {
		if (m->app[a].inst[i].num && m->app[a].inst[i].num + 255 < n)
			return -EBUSY;
	}
	return 0;
}

static void m_inst_make(struct model *m, uint32_t a)
{
	struct m_inst *in = NULL;

	for (int i = 0; !in && i < XSL_REG_MAX_INSTANCES; i++) {
		if (!m->app[a].inst[i].num)
			in = &m->app[a].inst[i];
	}
	*in = (struct m_inst){ .num = ++m->app[a].last };
}

static bool m_inst_serves(const struct model *m, uint32_t a, uint32_t num, int l)
{
	if (!m->lis[l].live || m->lis[l].app != a)
		return false;
	for (int w = 0; w < XSL_MAX_WORKERS; w++) {
		if (m->lis[l].serving[w] && m->wrk[w].live && m->wrk[w].inst == num)
			return true;
	}
	return false;
}

/* Taking new sessions: unmarked, oldest first; a newer one takes over when
 * it serves every listener the taker serves. 0 for none. */
static uint32_t m_taking(const struct model *m, uint32_t a)
{
	uint32_t taker = 0;

	for (uint32_t num = 1; num <= m->app[a].last; num++) {
		const struct m_inst *in = m_inst((struct model *)m, a, num);
		bool all = true;

		if (!in || in->mark)
			continue;
		for (int l = 0; taker && l < XSL_MAX_LISTENERS; l++)
			all &= !m_inst_serves(m, a, taker, l) || m_inst_serves(m, a, num, l);
		if (all)
			taker = num;
	}
	return taker;
}

/* The instance whose serving workers listener l's table holds: the taking
 * one when it serves l, else the newest unmarked one serving l, else 0. */
static uint32_t m_table_inst(const struct model *m, int l, uint32_t taker)
{
	uint32_t a = m->lis[l].app, best = 0;

	if (taker && m_inst_serves(m, a, taker, l))
		return taker;
	for (int i = 0; i < XSL_REG_MAX_INSTANCES; i++) {
		const struct m_inst *in = &m->app[a].inst[i];

		if (in->num && !in->mark && in->num > best && m_inst_serves(m, a, in->num, l))
			best = in->num;
	}
	return best;
}

static void m_make_worker(struct model *m, int w, uint32_t a, uint32_t pid, uint32_t inst)
{
	struct m_worker *k = &m->wrk[w];

	k->inst = inst;
	k->map_index = m_free_map_index(m, a);
	k->live = true;
	k->gen = gen_next(k->gen);
	k->app = a;
	k->pid = pid;
	if (pid && m->entry[pid] < 0)
		m->entry[pid] = a;
}

static void m_free_app(struct model *m, uint32_t a)
{
	for (int l = 0; l < XSL_MAX_LISTENERS; l++) {
		if (m->lis[l].live && m->lis[l].app == a) {
			m->lis[l].live = false;
			memset(m->lis[l].serving, 0, sizeof(m->lis[l].serving));
		}
	}
	for (int w = 0; w < XSL_MAX_WORKERS; w++) {
		if (m->wrk[w].live && m->wrk[w].app == a)
			m->wrk[w].live = false;
	}
	for (int p = 0; p <= N_PIDS; p++) {
		if (m->entry[p] == (int)a)
			m->entry[p] = -1;
	}
	m->app[a].live = false;
	m->app[a].n_listeners = 0;
	memset(m->app[a].inst, 0, sizeof(m->app[a].inst));
}

/* Frees instance num when it has no worker; the app when it is not held
 * and has no instance left. */
static void m_after_remove(struct model *m, uint32_t a, uint32_t num, bool free_app)
{
	struct m_inst *in = m_inst(m, a, num);

	if (in && !m_inst_workers(m, a, num))
		*in = (struct m_inst){ 0 };
	if (free_app && !m->app[a].held && !m_inst_count(m, a))
		m_free_app(m, a);
}

/* Deletes worker w; the app goes with its last worker when free_app. */
static void m_del_worker(struct model *m, int w, bool free_app)
{
	uint32_t a = m->wrk[w].app, pid = m->wrk[w].pid;
	bool other = false;

	for (int l = 0; l < XSL_MAX_LISTENERS; l++)
		m->lis[l].serving[w] = false;
	m->wrk[w].live = false;
	for (int v = 0; v < XSL_MAX_WORKERS; v++)
		other |= m->wrk[v].live && m->wrk[v].app == a && m->wrk[v].pid == pid;
	if (pid && pid != m->app[a].creator && !other)
		m->entry[pid] = -1;
	m_after_remove(m, a, m->wrk[w].inst, free_app);
}

/* ---- the test ---- */

struct run {
	struct xsl_registry *r;
	struct model *m;
	struct xsl_table before[XSL_MAX_LISTENERS];
	bool before_serving[XSL_MAX_LISTENERS][XSL_MAX_WORKERS];
	uint32_t before_tinst[XSL_MAX_LISTENERS];	/* the model's table instance */
	uint32_t taker[XSL_MAX_APPS];		/* per check: the model's, +1 (0: not yet) */
	unsigned int switches;			/* tables built anew for another instance */
	uint32_t before_gen[XSL_MAX_LISTENERS];
	bool before_live[XSL_MAX_LISTENERS];
	uint32_t live[XSL_MAX_WORKERS];	/* live workers in the registry */
	unsigned int n_live;
	bool is_live[XSL_MAX_WORKERS];
	int last_rc;
	unsigned int hook_calls, unsafe;	/* hook calls that saw an unsafe state */
	char unsafe_what[96];
	unsigned int max_workers, max_serving;
	uint32_t hw;			/* above the highest live worker index */
	uint32_t hw_before;		/* hw before the operation */
	uint32_t seed, rng;
	unsigned int step;
	char op[96];
};

#define CHECK(run, cond, ...)                                                              \
	do {                                                                               \
		if (!(cond)) {                                                             \
			print_message("seed %u step %u op %s: ", (run)->seed, (run)->step, \
				      (run)->op);                                          \
			fail_msg(__VA_ARGS__);                                             \
		}                                                                          \
	} while (0)

static uint32_t rnd(struct run *t)
{
	/* xorshift32 */
	t->rng ^= t->rng << 13;
	t->rng ^= t->rng >> 17;
	t->rng ^= t->rng << 5;
	return t->rng;
}

static unsigned int pick(struct run *t, unsigned int n)
{
	return rnd(t) % n;
}

static struct xsl_listener_key port_key(int port)
{
	struct xsl_listener_key k;

	memset(&k, 0, sizeof(k));
	k.family = XSL_AF_INET;
	k.proto = IPPROTO_UDP;
	k.port = __builtin_bswap16(5000 + port);
	return k;
}

/* An app index, mostly a live one. */
static uint32_t pick_app(struct run *t)
{
	int live[XSL_MAX_APPS], n = 0;

	for (int a = 0; a < XSL_MAX_APPS; a++) {
		if (t->m->app[a].live)
			live[n++] = a;
	}
	if (!n || pick(t, 10) == 0)
		return pick(t, N_NAMES + 2);
	return live[pick(t, n)];
}

static int pick_live_worker(struct run *t, int app)
{
	int live[XSL_MAX_WORKERS], n = 0;

	for (int w = 0; w < XSL_MAX_WORKERS; w++) {
		if (t->m->wrk[w].live && (app < 0 || t->m->wrk[w].app == (uint32_t)app))
			live[n++] = w;
	}
	return n ? live[pick(t, n)] : -1;
}

static int pick_serving_worker(struct run *t, int l)
{
	int serving[XSL_MAX_WORKERS], n = 0;

	for (int w = 0; w < XSL_MAX_WORKERS; w++) {
		if (t->m->lis[l].serving[w])
			serving[n++] = w;
	}
	return n ? serving[pick(t, n)] : -1;
}

static int pick_live_listener(struct run *t)
{
	int live[XSL_MAX_LISTENERS], n = 0;

	for (int l = 0; l < XSL_MAX_LISTENERS; l++) {
		if (t->m->lis[l].live)
			live[n++] = l;
	}
	if (!n || pick(t, 10) == 0)
		return pick(t, N_PORTS);
	return live[pick(t, n)];
}

static void op_attach(struct run *t, bool with_creator)
{
	struct model *m = t->m;
	int name = pick(t, N_NAMES), a = -1, w = -1, want;
	uint32_t creator = with_creator ? 1 + pick(t, N_PIDS) : 0, got = XSL_NO_APP;
	bool held = !with_creator && pick(t, 2);
	struct xsl_app_opts o = { .creator_pid = creator, .flags = held ? XSL_APP_F_HELD : 0 };
	int rc;

	snprintf(t->op, sizeof(t->op), "attach %s creator %u%s", names[name], creator,
		 held ? " held" : "");
	for (int i = 0; i < XSL_MAX_APPS && a < 0; i++)
		a = m->app[i].live ? -1 : i;
	if (with_creator)
		w = m_free_worker(m);
	if (m_find_name(m, name) >= 0)
		want = -EEXIST;
	else if (creator && m->entry[creator] >= 0)
		want = -EEXIST;
	else if (a < 0 || (with_creator && w < 0))
		want = -ENOSPC;
	else
		want = 0;

	rc = registry__attach_app(t->r, names[name], &o, &got);
	CHECK(t, rc == want, "rc %d, model expects %d (%s)", rc, want, registry__error(t->r));
	t->last_rc = rc;
	if (want)
		return;
	CHECK(t, got == (uint32_t)a, "app index %u, model expects %d", got, a);
	m->app[a] = (struct m_app){ .live = true, .gen = gen_next(m->app[a].gen), .name = name,
				    .creator = creator, .held = held };
	m_inst_make(m, a);
	if (creator) {
		m->entry[creator] = a;
		m_make_worker(m, w, a, creator, 1);
	}
}

/* A plain worker add, or (to) one into an instance, mostly a live one. */
static void op_worker_add(struct run *t, bool to)
{
	struct model *m = t->m;
	uint32_t a = pick_app(t), pid = pick(t, 20) ? 1 + pick(t, N_PIDS) : 0, got = 0, inst = 0;
	int w = m_free_worker(m), want, rc;
	bool new_inst = false;

	if (to && a < XSL_MAX_APPS && m->app[a].live && pick(t, 8))
		inst = m->app[a].inst[pick(t, XSL_REG_MAX_INSTANCES)].num;
	if (to && !inst)
		inst = pick(t, 4);
	snprintf(t->op, sizeof(t->op), "worker add%s app %u inst %u pid %u", to ? " to" : "", a,
		 inst, pid);
	if (a >= XSL_MAX_APPS || !m->app[a].live || (to && !inst))
		want = -ENOENT;
	else if (to && !m_inst(m, a, inst))
		want = -ENOENT;
	else if (!to && !m_current(m, a) && m_inst_room(m, a))
		want = m_inst_room(m, a);
	else if (pid && m->entry[pid] >= 0 && m->entry[pid] != (int)a)
		want = -EEXIST;
	else if (w < 0)
		want = -ENOSPC;
	else
		want = 0;

	rc = to ? registry__worker_add_to(t->r, a, (uint16_t)inst, pid, 0, &got)
		: registry__worker_add(t->r, a, pid, 0, &got);
	CHECK(t, rc == want, "rc %d, model expects %d (%s)", rc, want, registry__error(t->r));
	t->last_rc = rc;
	if (want)
		return;
	CHECK(t, got == (uint32_t)w, "worker index %u, model expects %d", got, w);
	if (!to) {
		inst = m_current(m, a);
		new_inst = !inst;
	}
	if (new_inst) {
		m_inst_make(m, a);
		inst = m->app[a].last;
	}
	m_make_worker(m, w, a, pid, inst);
}

static void op_instance_start(struct run *t)
{
	struct model *m = t->m;
	uint32_t a = pick_app(t);
	uint16_t got = 0;
	int want, rc;

	snprintf(t->op, sizeof(t->op), "instance start app %u", a);
	if (a >= XSL_MAX_APPS || !m->app[a].live)
		want = -ENOENT;
	else
		want = m_inst_room(m, a);
	rc = registry__instance_start(t->r, a, &got);
	CHECK(t, rc == want, "rc %d, model expects %d (%s)", rc, want, registry__error(t->r));
	t->last_rc = rc;
	if (want)
		return;
	m_inst_make(m, a);
	CHECK(t, got == m->app[a].last, "instance %u, model expects %u", got, m->app[a].last);
}

static void op_instance_mark(struct run *t)
{
	static const int marks[] = { XSL_INST_DRAINING, XSL_INST_STOPPING, XSL_INST_DRAINING,
				     XSL_INST_STOPPING, XSL_INST_SERVING };
	struct model *m = t->m;
	uint32_t a = pick_app(t), inst = 0;
	int mark = marks[pick(t, 5)], want, rc;
	struct m_inst *in = NULL;

	if (a < XSL_MAX_APPS && m->app[a].live && pick(t, 8))
		inst = m->app[a].inst[pick(t, XSL_REG_MAX_INSTANCES)].num;
	if (!inst)
		inst = pick(t, 4);
	snprintf(t->op, sizeof(t->op), "instance mark app %u inst %u %d", a, inst, mark);
	if (a < XSL_MAX_APPS && m->app[a].live)
		in = m_inst(m, a, inst);
	if (!in)
		want = -ENOENT;
	else if (mark != XSL_INST_DRAINING && mark != XSL_INST_STOPPING)
		want = -EINVAL;
	else if (in->mark > mark)
		want = -EINVAL;
	else
		want = 0;
	rc = registry__instance_mark(t->r, a, (uint16_t)inst, mark);
	CHECK(t, rc == want, "rc %d, model expects %d (%s)", rc, want, registry__error(t->r));
	t->last_rc = rc;
	if (want)
		return;
	in->mark = mark;
	m_after_remove(m, a, inst, true);
}

static void op_worker_del(struct run *t)
{
	int w = pick(t, 10) ? pick_live_worker(t, -1) : (int)pick(t, 64);
	int want, rc;

	if (w < 0)
		w = pick(t, 64);
	snprintf(t->op, sizeof(t->op), "worker del %d", w);
	want = t->m->wrk[w].live ? 0 : -ENOENT;
	rc = registry__worker_del(t->r, w);
	CHECK(t, rc == want, "rc %d, model expects %d (%s)", rc, want, registry__error(t->r));
	t->last_rc = rc;
	if (!want)
		m_del_worker(t->m, w, true);
}

static void op_detach(struct run *t, bool operator)
{
	struct model *m = t->m;
	uint32_t a = pick_app(t), pid = 0;
	bool found = false;
	int want, rc;

	if (!operator) {
		int w = a < XSL_MAX_APPS ? pick_live_worker(t, a) : -1;

		pid = w >= 0 && pick(t, 4) ? m->wrk[w].pid : 1 + pick(t, N_PIDS);
		if (!pid)
			pid = 1 + pick(t, N_PIDS);
	}
	snprintf(t->op, sizeof(t->op), "detach app %u pid %u", a, pid);
	if (a < XSL_MAX_APPS && m->app[a].live) {
		for (int w = 0; w < XSL_MAX_WORKERS; w++)
			found |= m->wrk[w].live && m->wrk[w].app == a && m->wrk[w].pid == pid;
	}
	if (a >= XSL_MAX_APPS || !m->app[a].live)
		want = -ENOENT;
	else if (pid && !found)
		want = -ENOENT;
	else
		want = 0;

	rc = registry__detach_process(t->r, a, pid);
	CHECK(t, rc == want, "rc %d, model expects %d (%s)", rc, want, registry__error(t->r));
	t->last_rc = rc;
	if (want) {
		if (a < XSL_MAX_APPS && m->app[a].live) {
			char msg[96];

			snprintf(msg, sizeof(msg), "no workers for app %s pid %u",
				 names[m->app[a].name], pid);
			CHECK(t, !strcmp(registry__error(t->r), msg), "error '%s', expected '%s'",
			      registry__error(t->r), msg);
		}
		return;
	}
	if (!pid) {
		m_free_app(m, a);
		return;
	}
	for (int w = 0; w < XSL_MAX_WORKERS; w++) {
		if (m->wrk[w].live && m->wrk[w].app == a && m->wrk[w].pid == pid)
			m_del_worker(m, w, false);
	}
	if (!m->app[a].held && !m_inst_count(m, a))
		m_free_app(m, a);
}

static void op_listener_add(struct run *t)
{
	struct model *m = t->m;
	uint32_t a = pick_app(t), got = 0;
	int port = pick(t, N_PORTS), l = -1, want, rc;
	struct xsl_listener_key k = port_key(port);
	bool dup = false;

	snprintf(t->op, sizeof(t->op), "listener add app %u port %d", a, port);
	for (int i = 0; i < XSL_MAX_LISTENERS; i++) {
		dup |= m->lis[i].live && m->lis[i].port == port;
		if (l < 0 && !m->lis[i].live)
			l = i;
	}
	if (a >= XSL_MAX_APPS || !m->app[a].live)
		want = -ENOENT;
	else if (dup)
		want = -EEXIST;
	else if (l < 0)
		want = -ENOSPC;
	else
		want = 0;

	rc = registry__listener_add(t->r, a, &k, &got);
	CHECK(t, rc == want, "rc %d, model expects %d (%s)", rc, want, registry__error(t->r));
	t->last_rc = rc;
	if (want)
		return;
	CHECK(t, got == (uint32_t)l, "listener index %u, model expects %d", got, l);
	m->lis[l].live = true;
	m->lis[l].gen = gen_next(m->lis[l].gen);
	m->lis[l].app = a;
	m->lis[l].port = port;
	memset(m->lis[l].serving, 0, sizeof(m->lis[l].serving));
	m->app[a].n_listeners++;
}

static void op_listener_del(struct run *t)
{
	struct model *m = t->m;
	int l = pick_live_listener(t), want, rc;

	snprintf(t->op, sizeof(t->op), "listener del %d", l);
	want = m->lis[l].live ? 0 : -ENOENT;
	rc = registry__listener_del(t->r, l);
	CHECK(t, rc == want, "rc %d, model expects %d (%s)", rc, want, registry__error(t->r));
	t->last_rc = rc;
	if (want)
		return;
	m->lis[l].live = false;
	memset(m->lis[l].serving, 0, sizeof(m->lis[l].serving));
	m->app[m->lis[l].app].n_listeners--;
}

static void op_listener_worker(struct run *t, bool add)
{
	struct model *m = t->m;
	int l = pick_live_listener(t), w, want, rc;

	/* Mostly a worker of the listener's app (to delete: one serving it),
	 * sometimes any worker. */
	if (!add && m->lis[l].live && pick(t, 4))
		w = pick_serving_worker(t, l);
	else if (m->lis[l].live && pick(t, 8))
		w = pick_live_worker(t, m->lis[l].app);
	else
		w = pick_live_worker(t, -1);
	if (w < 0 || pick(t, 30) == 0)
		w = pick(t, 64);
	snprintf(t->op, sizeof(t->op), "listener %d %s worker %d", l, add ? "add" : "del", w);
	if (!m->lis[l].live)
		want = -ENOENT;
	else if (add && !m->wrk[w].live)
		want = -ENOENT;
	else if (add && m->wrk[w].app != m->lis[l].app)
		want = -EINVAL;
	else if (add && m->lis[l].serving[w])
		want = -EEXIST;
	else if (!add && !m->lis[l].serving[w])
		want = -ENOENT;
	else
		want = 0;

	rc = add ? registry__listener_add_worker(t->r, l, w)
		 : registry__listener_del_worker(t->r, l, w);
	CHECK(t, rc == want, "rc %d, model expects %d (%s)", rc, want, registry__error(t->r));
	t->last_rc = rc;
	if (!want)
		m->lis[l].serving[w] = add;
}

/* ---- checks after every operation ---- */

static void snapshot(struct run *t)
{
	t->hw_before = t->hw;
	for (int l = 0; l < XSL_MAX_LISTENERS; l++) {
		const struct reg_listener *ln = &t->r->listeners[l];

		t->before_live[l] = ln->live;
		t->before_gen[l] = ln->gen;
		if (!ln->live)
			continue;
		t->before[l] = ln->table;
		memcpy(t->before_serving[l], t->m->lis[l].serving, sizeof(t->before_serving[l]));
		t->before_tinst[l] = m_table_inst(t->m, l, m_taking(t->m, ln->app));
	}
}

static void check_instances(struct run *t, uint32_t a)
{
	const struct model *m = t->m;
	const struct reg_app *ra = registry__app(t->r, a);
	uint16_t cur = 0, taker = 0;
	unsigned int n = 0;

	CHECK(t, ra->last_instance == m->app[a].last, "app %u last instance %u, model %u", a,
	      ra->last_instance, m->app[a].last);
	for (int i = 0; i < XSL_REG_MAX_INSTANCES; i++) {
		const struct m_inst *mi = &m->app[a].inst[i];
		const struct reg_instance *in;
		enum xsl_inst_state st;

		n += ra->inst[i].num != 0;
		if (!mi->num)
			continue;
		in = registry__instance(t->r, a, (uint16_t)mi->num);
		CHECK(t, in, "app %u instance %u missing", a, mi->num);
		CHECK(t, in->n_workers == m_inst_workers(m, a, mi->num),
		      "app %u instance %u has %u workers, model %u", a, mi->num, in->n_workers,
		      m_inst_workers(m, a, mi->num));
		CHECK(t, !registry__instance_state(t->r, a, (uint16_t)mi->num, &st),
		      "app %u instance %u has no state", a, mi->num);
		CHECK(t, mi->mark ? (int)st == mi->mark
				  : st == (mi->num > m_taking(m, a) ? XSL_INST_STARTING
								     : XSL_INST_SERVING),
		      "app %u instance %u state %d, model mark %d", a, mi->num, st, mi->mark);
	}
	CHECK(t, n == m_inst_count(m, a), "app %u has %u instances, model %u", a, n,
	      m_inst_count(m, a));
	registry__instance_current(t->r, a, &cur);
	CHECK(t, cur == m_current(m, a), "app %u current instance %u, model %u", a, cur,
	      m_current(m, a));
	registry__instance_taking(t->r, a, &taker);
	CHECK(t, taker == m_taking(m, a), "app %u instance taking new sessions %u, model %u", a,
	      taker, m_taking(m, a));
}

static void check_apps(struct run *t)
{
	const struct model *m = t->m;

	for (uint32_t a = 0; a < XSL_MAX_APPS; a++) {
		const struct reg_app *ra = registry__app(t->r, a);
		const struct m_app *ma = &m->app[a];

		CHECK(t, !!ra == ma->live, "app %u live %d, model %d", a, !!ra, ma->live);
		if (!ra)
			continue;
		CHECK(t, !strcmp(ra->name, names[ma->name]), "app %u name %s, model %s", a,
		      ra->name, names[ma->name]);
		CHECK(t, ra->gen == ma->gen, "app %u gen %u, model %u", a, ra->gen, ma->gen);
		CHECK(t, ra->creator_pid == ma->creator, "app %u creator %u, model %u", a,
		      ra->creator_pid, ma->creator);
		CHECK(t, ra->n_workers == m_app_workers(m, a), "app %u has %u workers, model %u",
		      a, ra->n_workers, m_app_workers(m, a));
		CHECK(t, ra->n_listeners == ma->n_listeners, "app %u has %u listeners, model %u",
		      a, ra->n_listeners, ma->n_listeners);
		check_instances(t, a);
	}
}

static void check_workers(struct run *t)
{
	const struct model *m = t->m;

	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		const struct reg_worker *wk = registry__worker(t->r, w);
		const struct m_worker *mw = &m->wrk[w];

		CHECK(t, !!wk == mw->live, "worker %u live %d, model %d", w, !!wk, mw->live);
		if (!wk)
			continue;
		/* No worker without a live app. */
		CHECK(t, registry__app(t->r, wk->app), "worker %u of freed app %u", w, wk->app);
		CHECK(t, wk->app == mw->app && wk->pid == mw->pid && wk->gen == mw->gen &&
				 wk->map_index == mw->map_index && wk->instance == mw->inst,
		      "worker %u: app %u pid %u gen %u map %u inst %u, model app %u pid %u gen %u "
		      "map %u inst %u", w, wk->app, wk->pid, wk->gen, wk->map_index, wk->instance,
		      mw->app, mw->pid, mw->gen, mw->map_index, mw->inst);
	}
}

static void check_entries(struct run *t)
{
	const struct xsl_registry *r = t->r;
	unsigned int count[N_PIDS + 1] = { 0 };

	/* Every entry names a live app that has a worker of that pid, or is
	 * that app's creator. */
	for (unsigned int i = 0; i < XSL_REG_MAX_PROCS; i++) {
		uint32_t pid = r->procs.slot[i].pid, a = r->procs.slot[i].app;
		bool has = false;

		if (!pid)
			continue;
		CHECK(t, pid <= N_PIDS, "entry for unknown pid %u", pid);
		count[pid]++;
		CHECK(t, registry__app(r, a), "entry pid %u -> freed app %u", pid, a);
		for (unsigned int j = 0; j < t->n_live; j++) {
			const struct reg_worker *wk = registry__worker(r, t->live[j]);

			has |= wk->app == a && wk->pid == pid;
		}
		CHECK(t, has || r->apps[a].creator_pid == pid,
		      "entry pid %u -> app %u: neither a worker nor the creator", pid, a);
	}
	for (uint32_t pid = 1; pid <= N_PIDS; pid++) {
		uint32_t a = XSL_NO_APP;
		int rc = registry__app_by_pid(r, pid, &a);

		CHECK(t, count[pid] <= 1, "pid %u has %u entries", pid, count[pid]);
		if (t->m->entry[pid] < 0)
			CHECK(t, rc == -ENOENT, "pid %u -> app %u, model none", pid, a);
		else
			CHECK(t, !rc && a == (uint32_t)t->m->entry[pid], "pid %u -> %d/%u, model %d",
			      pid, rc, a, t->m->entry[pid]);
	}
}

/* The model's taking instance of app a, computed once per check. */
static uint32_t taker_of(struct run *t, uint32_t a)
{
	if (!t->taker[a])
		t->taker[a] = m_taking(t->m, a) + 1;
	return t->taker[a] - 1;
}

static void check_listeners(struct run *t)
{
	const struct model *m = t->m;
	static unsigned int load[XSL_MAX_WORKERS];
	static struct xsl_table built;
	struct xsl_table_worker own[XSL_MAX_WORKERS];

	memset(t->taker, 0, sizeof(t->taker));
	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
		const struct reg_listener *ln = registry__listener(t->r, l);
		const struct m_listener *ml = &m->lis[l];
		unsigned int n, min = S, max = 0, changed = 0, added = 0, removed = 0, bits;
		unsigned int n_own = 0;
		uint32_t tinst;
		int gained = -1;

		CHECK(t, !!ln == ml->live, "listener %u live %d, model %d", l, !!ln, ml->live);
		if (!ln)
			continue;
		n = m_serving(m, l);
		if (n > t->max_serving)
			t->max_serving = n;
		CHECK(t, ln->app == ml->app && ln->gen == ml->gen,
		      "listener %u app %u gen %u, model %u %u", l, ln->app, ln->gen, ml->app,
		      ml->gen);
		CHECK(t, ln->n_workers == n, "listener %u has %u workers, model %u", l,
		      ln->n_workers, n);
		memset(load, 0, t->hw * sizeof(load[0]));
		bits = 0;
		for (unsigned int i = 0; i < XSL_REG_WORKER_WORDS; i++)
			bits += __builtin_popcountll(ln->serving[i]);
		CHECK(t, bits == n, "listener %u has %u serving bits, model %u", l, bits, n);
		/* Workers at or above hw are dead: the model serves none of them. */
		for (uint32_t w = 0; w < t->hw; w++) {
			bool bit = ln->serving[w / 64] & (1ull << (w % 64));

			CHECK(t, bit == ml->serving[w], "listener %u worker %u serving %d, model %d",
			      l, w, bit, ml->serving[w]);
		}
		/* Its serving workers counted per instance. */
		for (int i = 0; i < XSL_REG_MAX_INSTANCES; i++) {
			uint32_t num = t->r->apps[ln->app].inst[i].num, c = 0;

			for (uint32_t w = 0; num && w < t->hw; w++)
				c += ml->serving[w] && m->wrk[w].inst == num;
			CHECK(t, ln->inst_serving[i] == c, "listener %u: instance %u serves with "
			      "%u workers, counted %u", l, num, c, ln->inst_serving[i]);
		}
		/* The table holds the serving workers of one instance: the taking
		 * one when it serves the listener, else the newest unmarked one
		 * that does. */
		tinst = m_table_inst(m, l, taker_of(t, ln->app));
		CHECK(t, ln->table_inst == tinst, "listener %u table of instance %u, model %u", l,
		      ln->table_inst, tinst);
		CHECK(t, tinst == registry__table_instance(t->r, l),
		      "listener %u table instance %u, asked %u", l, tinst,
		      registry__table_instance(t->r, l));
		for (uint32_t w = 0; tinst && w < t->hw; w++) {
			if (ml->serving[w] && m->wrk[w].inst == tinst)
				own[n_own++] = (struct xsl_table_worker){ .index = w,
									  .gen = m->wrk[w].gen };
		}
		/* Every slot names a live serving worker of that instance. */
		for (unsigned int s = 0; s < S; s++) {
			uint32_t w = ln->table.slot[s];

			if (!n_own) {
				CHECK(t, w == XSL_NO_WORKER,
				      "listener %u slot %u names %u, no workers of instance %u", l, s,
				      w, tinst);
				continue;
			}
			CHECK(t, w < XSL_MAX_WORKERS && ml->serving[w] && t->is_live[w] &&
					 m->wrk[w].inst == tinst,
			      "listener %u slot %u names %u, not a live serving worker of "
			      "instance %u", l, s, w, tinst);
			load[w]++;
		}
		for (unsigned int i = 0; i < n_own; i++) {
			min = load[own[i].index] < min ? load[own[i].index] : min;
			max = load[own[i].index] > max ? load[own[i].index] : max;
		}
		CHECK(t, !n_own || max - min <= 1, "listener %u loads %u..%u", l, min, max);

		if (!t->before_live[l] || t->before_gen[l] != ln->gen)
			continue;
		/* A table that changed instance is built anew from its workers. */
		if (t->before_tinst[l] != tinst) {
			assert_int_equal(table__build(&built, own, n_own), 0);
			CHECK(t, !memcmp(&built, &ln->table, sizeof(built)),
			      "listener %u: table of instance %u (was %u) is not built anew", l,
			      tinst, t->before_tinst[l]);
			t->switches++;
			continue;
		}
		/* Else minimal movement within the instance; workers of other
		 * instances joining or leaving move nothing. */
		for (uint32_t w = 0; w < t->hw || w < t->hw_before; w++) {
			if (m->wrk[w].inst != tinst)
				continue;
			if (ml->serving[w] && !t->before_serving[l][w] && m->wrk[w].inst == tinst) {
				gained = w;
				added++;
			}
			if (!ml->serving[w] && t->before_serving[l][w] &&
			    t->before[l].slot[0] != XSL_NO_WORKER && table__load(&t->before[l], w))
				removed++;
		}
		for (unsigned int s = 0; s < S; s++) {
			uint32_t was = t->before[l].slot[s], is = ln->table.slot[s];

			if (was == is)
				continue;
			changed++;
			/* Only slots of a worker that left, or slots the new one took. */
			CHECK(t, was == XSL_NO_WORKER || !ml->serving[was] ||
					 (gained >= 0 && is == (uint32_t)gained),
			      "listener %u slot %u moved from %u to %u", l, s, was, is);
		}
		CHECK(t, changed || !added, "listener %u: worker %d of instance %u has no slot",
		      l, gained, tinst);
		if (!added && !removed)
			CHECK(t, !changed, "listener %u: %u slots moved, no worker of instance %u "
			      "came or went", l, changed, tinst);
		if (added == 1 && n_own > 1)
			CHECK(t, changed == S / n_own, "listener %u: adding a worker moved %u slots",
			      l, changed);
	}
}

/*
 * The hooks check what a data path mirroring the registry would see at that
 * moment: a freed worker named by no table, a changed table naming only live
 * workers, a freed app with no live worker or listener left.
 */
static void unsafe(struct run *t, const char *what, uint32_t index)
{
	if (!t->unsafe++)
		snprintf(t->unsafe_what, sizeof(t->unsafe_what), "%s %u", what, index);
}

static void on_app(void *ctx, uint32_t app)
{
	struct run *t = ctx;

	t->hook_calls++;
	if (registry__app(t->r, app))
		return;
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		const struct reg_worker *wk = registry__worker(t->r, w);

		if (wk && wk->app == app)
			unsafe(t, "freed app still has a worker: app", app);
	}
	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
		const struct reg_listener *ln = registry__listener(t->r, l);

		if (ln && ln->app == app)
			unsafe(t, "freed app still has a listener: app", app);
	}
}

static void on_worker(void *ctx, uint32_t worker)
{
	struct run *t = ctx;

	t->hook_calls++;
	if (registry__worker(t->r, worker))
		return;
	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
		const struct reg_listener *ln = registry__listener(t->r, l);

		if (ln && table__load(&ln->table, worker))
			unsafe(t, "freed worker still in a table: worker", worker);
	}
}

static void on_listener(void *ctx, uint32_t listener)
{
	struct run *t = ctx;
	const struct reg_listener *ln = registry__listener(t->r, listener);

	t->hook_calls++;
	if (!ln)
		return;
	if (!registry__app(t->r, ln->app))
		unsafe(t, "listener of a freed app: listener", listener);
	for (unsigned int s = 0; s < S; s++) {
		uint32_t w = ln->table.slot[s];

		if (w != XSL_NO_WORKER && !registry__worker(t->r, w)) {
			unsafe(t, "table names a freed worker: listener", listener);
			break;
		}
	}
}

static void check_all(struct run *t)
{
	CHECK(t, !t->unsafe, "%u hook calls saw an unsafe state, first: %s", t->unsafe,
	      t->unsafe_what);
	t->n_live = 0;
	t->hw = 0;
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++) {
		t->is_live[w] = registry__worker(t->r, w);
		if (t->is_live[w])
			t->live[t->n_live++] = w;
		if (t->is_live[w] || t->m->wrk[w].live)
			t->hw = w + 1;
	}
	if (t->n_live > t->max_workers)
		t->max_workers = t->n_live;
	check_apps(t);
	check_workers(t);
	check_entries(t);
	check_listeners(t);
}

static uint32_t env_u32(const char *name, uint32_t def)
{
	const char *s = getenv(name);

	return s && *s ? (uint32_t)strtoul(s, NULL, 0) : def;
}

static void test_registry_matches_model_over_random_ops(void **state)
{
	static struct model model;
	static struct run run;
	struct run *t = &run;
	unsigned int ops = env_u32("XSL_OPS", DEFAULT_OPS), counts[13] = { 0 }, ok[13] = { 0 };

	(void)state;
	if (ops < MIN_OPS)
		fail_msg("XSL_OPS=%u: at least %u operations must run", ops, MIN_OPS);
	memset(&model, 0, sizeof(model));
	memset(&run, 0, sizeof(run));
	for (int p = 0; p <= N_PIDS; p++)
		model.entry[p] = -1;
	t->m = &model;
	t->r = registry__new();
	assert_non_null(t->r);
	t->r->hooks = (struct xsl_registry_hooks){ .ctx = t, .app_changed = on_app,
						   .worker_changed = on_worker,
						   .listener_changed = on_listener };
	t->seed = env_u32("XSL_SEED", DEFAULT_SEED);
	t->rng = t->seed ? t->seed : 1;
	print_message("seed %u (XSL_SEED=%u replays it), %u ops\n", t->seed, t->seed, ops);

	for (t->step = 0; t->step < ops; t->step++) {
		unsigned int k = pick(t, 100), op;

		snapshot(t);
		if (k < 5)
			op_attach(t, true), op = 0;
		else if (k < 7)
			op_attach(t, false), op = 1;
		else if (k < 33)
			op_worker_add(t, false), op = 2;
		else if (k < 37)
			op_worker_add(t, true), op = 10;
		else if (k < 45)
			op_worker_del(t), op = 3;
		else if (k < 53)
			op_detach(t, false), op = 4;
		else if (k < 54)
			op_detach(t, true), op = 5;
		else if (k < 60)
			op_listener_add(t), op = 6;
		else if (k < 62)
			op_listener_del(t), op = 7;
		else if (k < 84)
			op_listener_worker(t, true), op = 8;
		else if (k < 94)
			op_listener_worker(t, false), op = 9;
		else if (k < 97)
			op_instance_start(t), op = 11;
		else
			op_instance_mark(t), op = 12;
		counts[op]++;
		ok[op] += !t->last_rc;
		check_all(t);
	}
	print_message("succeeded/run: attach+creator %u/%u, attach %u/%u, worker add %u/%u, "
		      "worker del %u/%u, detach process %u/%u, operator detach %u/%u, "
		      "listener add %u/%u, del %u/%u, listener add worker %u/%u, "
		      "del worker %u/%u, worker add to %u/%u, instance start %u/%u, mark %u/%u; "
		      "peak %u live workers, %u serving one listener; %u hook calls; "
		      "%u tables built anew for another instance\n",
		      ok[0], counts[0], ok[1], counts[1], ok[2], counts[2], ok[3], counts[3],
		      ok[4], counts[4], ok[5], counts[5], ok[6], counts[6], ok[7], counts[7],
		      ok[8], counts[8], ok[9], counts[9], ok[10], counts[10], ok[11], counts[11],
		      ok[12], counts[12], t->max_workers, t->max_serving, t->hook_calls,
		      t->switches);
	for (unsigned int op = 0; op < sizeof(counts) / sizeof(counts[0]); op++)
		if (!counts[op])
			fail_msg("operation kind %u never ran in %u ops (seed %u)", op, ops, t->seed);
	if (!t->switches)
		fail_msg("no table changed instance in %u ops (seed %u)", ops, t->seed);
	registry__free(t->r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_matches_model_over_random_ops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
