// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The registry mirrored into the maps, checked through the XDP program: what
 * the agent's registry says is what the data path does. Each test has its own
 * unpinned map instance.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "xsl/maps.h"
#include "fixture.h"
#include "mirror.h"

#define PORT 5300

struct env {
	struct fx fx;
	struct xsl_maps m;
	struct xsl_registry *r;
	struct xsl_mirror mi;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e || fx_open(&e->fx, 0))
		return -1;
#define XSL__FD(field, name) e->m.field = fx_map_fd(&e->fx, name);
	XSL_MAPS_LIST(XSL__FD)
#undef XSL__FD
	e->r = registry__new();
	if (!e->r)
		return -1;
	mirror__install(&e->mi, e->r, &e->m);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	registry__free(e->r);
	fx_close(&e->fx);	/* owns the map fds */
	free(e);
	return 0;
}

static void udp_listener(struct env *e, uint32_t app, uint32_t *l)
{
	struct xsl_listener_key k = { .family = XSL_AF_INET, .proto = IPPROTO_UDP,
				      .port = htons(PORT) };

	assert_int_equal(registry__listener_add(e->r, app, &k, l), 0);
}

static void flow(struct fx_pkt *p, uint16_t sport)
{
	assert_int_equal(fx_pkt_init(p, XSL_AF_INET, IPPROTO_UDP, "10.1.0.2", sport, "10.1.0.1",
				     PORT), 0);
}

/* The worker the registry's table names for a flow. */
static uint32_t table_worker(struct env *e, uint32_t l, const struct fx_pkt *p)
{
	struct xsl_flow_key k;

	fx_key(p, &k);
	return registry__listener(e->r, l)->table.slot[fx_slot_of(&k)];
}

static void test_mirrored_app_creates_sessions_on_table_worker(void **state)
{
	struct env *e = *state;
	uint32_t app, l, w[3];
	struct xsl_session s;
	struct xsl_flow_key k;
	struct fx_pkt p;
	__u32 act;

	assert_int_equal(registry__attach_app(e->r, "web", NULL, &app), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(registry__worker_add(e->r, app, 100 + i, 0, &w[i]), 0);
	udp_listener(e, app, &l);
	for (int i = 0; i < 3; i++)
		assert_int_equal(registry__listener_add_worker(e->r, l, w[i]), 0);
	assert_int_equal(e->mi.err, 0);

	for (uint16_t sport = 1000; sport < 1064; sport++) {
		flow(&p, sport);
		assert_int_equal(fx_send(&e->fx, &p, &act), 0);
		assert_int_equal(act, XDP_PASS);
		fx_key(&p, &k);
		assert_int_equal(fx_session(&e->fx, &k, &s), 0);
		assert_int_equal(s.worker, table_worker(e, l, &p));
		assert_int_equal(s.worker_gen, registry__worker(e->r, s.worker)->gen);
	}
}

/* A process exits: its sessions move to the remaining workers (reassign). */
static void test_detached_process_sessions_are_reassigned(void **state)
{
	struct env *e = *state;
	uint32_t app, l, w[2];
	struct xsl_session s;
	struct xsl_flow_key k;
	struct fx_pkt p;
	uint16_t sport;
	__u32 act;

	assert_int_equal(registry__attach_app(e->r, "dns", NULL, &app), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(registry__worker_add(e->r, app, 200 + i, 0, &w[i]), 0);
	udp_listener(e, app, &l);
	for (int i = 0; i < 2; i++)
		assert_int_equal(registry__listener_add_worker(e->r, l, w[i]), 0);
	/* a flow on worker 1 */
	for (sport = 2000; ; sport++) {
		flow(&p, sport);
		if (table_worker(e, l, &p) == w[1])
			break;
	}
	assert_int_equal(fx_send(&e->fx, &p, &act), 0);

	assert_int_equal(registry__detach_process(e->r, app, 201), 0);
	assert_int_equal(fx_send(&e->fx, &p, &act), 0);
	assert_int_equal(act, XDP_PASS);
	fx_key(&p, &k);
	assert_int_equal(fx_session(&e->fx, &k, &s), 0);
	assert_int_equal(s.worker, w[0]);
	assert_int_equal(e->mi.err, 0);
}

/* The last worker goes: the app is freed and its traffic is not ours. */
static void test_freed_app_traffic_is_not_ours(void **state)
{
	struct env *e = *state;
	struct xsl_stats st;
	uint32_t app, l, w;
	struct fx_pkt p;
	__u32 act;

	assert_int_equal(registry__attach_app(e->r, "gone", NULL, &app), 0);
	assert_int_equal(registry__worker_add(e->r, app, 300, 0, &w), 0);
	udp_listener(e, app, &l);
	assert_int_equal(registry__listener_add_worker(e->r, l, w), 0);
	assert_int_equal(registry__detach_process(e->r, app, 300), 0);
	assert_null(registry__app(e->r, app));

	flow(&p, 3000);
	assert_int_equal(fx_send(&e->fx, &p, &act), 0);
	assert_int_equal(act, XDP_PASS);
	assert_int_equal(fx_session_count(&e->fx), 0);
	assert_int_equal(fx_stats(&e->fx, &st), 0);
	assert_int_equal(st.stat[XSL_STAT_NOT_OURS], 1);
	assert_int_equal(e->mi.err, 0);
}

/* A worker index reused by a new process starts with zeroed counters. */
static void test_reused_worker_starts_with_zero_counters(void **state)
{
	struct env *e = *state;
	struct xsl_worker_stats ws;
	uint32_t app, l, w, w2, keep;
	struct fx_pkt p;
	__u32 act;

	assert_int_equal(registry__attach_app(e->r, "reuse", NULL, &app), 0);
	assert_int_equal(registry__worker_add(e->r, app, 400, 0, &keep), 0);
	assert_int_equal(registry__worker_add(e->r, app, 401, 0, &w), 0);
	udp_listener(e, app, &l);
	assert_int_equal(registry__listener_add_worker(e->r, l, w), 0);
	flow(&p, 4000);
	assert_int_equal(fx_send(&e->fx, &p, &act), 0);
	assert_int_equal(fx_wrk_stats(&e->fx, w, &ws), 0);
	assert_int_equal(ws.packets, 1);

	assert_int_equal(registry__detach_process(e->r, app, 401), 0);
	assert_int_equal(registry__worker_add(e->r, app, 402, 0, &w2), 0);
	assert_int_equal(w2, w);
	assert_int_equal(fx_wrk_stats(&e->fx, w2, &ws), 0);
	assert_int_equal(ws.packets, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_mirrored_app_creates_sessions_on_table_worker),
		T(test_detached_process_sessions_are_reassigned),
		T(test_freed_app_traffic_is_not_ours),
		T(test_reused_worker_starts_with_zero_counters),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
