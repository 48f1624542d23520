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
	struct xsl_port_filter pf;	/* xsl_ports as last read */
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

/* The worker of flow sport's session. */
static uint32_t session_worker(struct env *e, uint16_t sport)
{
	struct xsl_session s;
	struct xsl_flow_key k;
	struct fx_pkt p;
	__u32 act;

	flow(&p, sport);
	assert_int_equal(fx_send(&e->fx, &p, &act), 0);
	fx_key(&p, &k);
	if (fx_session(&e->fx, &k, &s))
		return XSL_NO_WORKER;
	return act == XDP_PASS ? s.worker : XSL_NO_WORKER;
}

static uint16_t inst_of(struct env *e, uint32_t w)
{
	assert_non_null(registry__worker(e->r, w));
	return registry__worker(e->r, w)->instance;
}

/*
 * A restart (issue 12): established flows stay with the old instance's
 * workers while a new instance starts and after it takes over; new flows go
 * to the new one once it serves the listener; when an old worker exits, its
 * flows follow the policy: reassign to the new instance, or drop (counted).
 */
static void restart(struct env *e, uint8_t policy)
{
	struct xsl_app_opts o = { .policy = policy };
	uint32_t app, l, old[2], nw[2], was[64];
	struct xsl_stats st;
	uint16_t inst;

	assert_int_equal(registry__attach_app(e->r, "quic", &o, &app), 0);
	udp_listener(e, app, &l);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(registry__worker_add(e->r, app, 300 + i, 0, &old[i]), 0);
		assert_int_equal(registry__listener_add_worker(e->r, l, old[i]), 0);
	}
	for (uint16_t i = 0; i < 64; i++) {
		was[i] = session_worker(e, 3000 + i);
		assert_int_equal(inst_of(e, was[i]), 1);
	}
	/* the new instance starts: new flows still go to the old one */
	assert_int_equal(registry__instance_start(e->r, app, &inst), 0);
	assert_int_equal(registry__worker_add(e->r, app, 400, 0, &nw[0]), 0);
	assert_int_equal(registry__worker_add(e->r, app, 401, 0, &nw[1]), 0);
	assert_int_equal(inst_of(e, session_worker(e, 4000)), 1);
	/* it serves: new flows go to it, established ones stay */
	for (int i = 0; i < 2; i++)
		assert_int_equal(registry__listener_add_worker(e->r, l, nw[i]), 0);
	assert_int_equal(registry__instance_mark(e->r, app, 1, XSL_INST_DRAINING), 0);
	for (uint16_t i = 0; i < 64; i++) {
		assert_int_equal(session_worker(e, 3000 + i), was[i]);
		assert_int_equal(inst_of(e, session_worker(e, 5000 + i)), inst);
	}
	/* an old worker exits */
	assert_int_equal(registry__detach_process(e->r, app, 300), 0);
	for (uint16_t i = 0; i < 64; i++) {
		uint32_t w = session_worker(e, 3000 + i);

		if (was[i] == old[1])
			assert_int_equal(w, old[1]);
		else if (policy == XSL_POLICY_REASSIGN)
			assert_int_equal(inst_of(e, w), inst);
		else
			assert_int_equal(w, XSL_NO_WORKER);
	}
	assert_int_equal(fx_stats(&e->fx, &st), 0);
	assert_true(st.drop[XSL_DROP_WORKER_GONE] > 0 || policy == XSL_POLICY_REASSIGN);
	assert_true(st.stat[XSL_STAT_SESSION_REASSIGNED] > 0 || policy == XSL_POLICY_DROP);
	assert_int_equal(e->mi.err, 0);
}

static void test_restart_new_flows_to_new_instance_old_stay_reassign(void **state)
{
	restart(*state, XSL_POLICY_REASSIGN);
}

static void test_restart_new_flows_to_new_instance_old_stay_drop(void **state)
{
	restart(*state, XSL_POLICY_DROP);
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

/*
 * A reused index's old counters stay its old app's: the mirror adds them to
 * that app's retired entry before zeroing them, whichever app the index
 * serves next, and a second reuse adds again.
 */
static void test_reused_worker_counters_retired_to_old_app(void **state)
{
	struct env *e = *state;
	uint32_t app, other, l, w, w2, keep;
	struct xsl_app_stats as;
	struct fx_pkt p;
	__u8 buf[FX_PKT_MAX];
	__u64 bytes = 0;
	__u32 act;

	assert_int_equal(registry__attach_app(e->r, "old", NULL, &app), 0);
	assert_int_equal(registry__attach_app(e->r, "next", NULL, &other), 0);
	assert_int_equal(registry__worker_add(e->r, app, 400, 0, &keep), 0);
	assert_int_equal(registry__worker_add(e->r, app, 401, 0, &w), 0);
	udp_listener(e, app, &l);
	assert_int_equal(registry__listener_add_worker(e->r, l, w), 0);
	for (int i = 0; i < 3; i++) {
		flow(&p, 4000 + i);
		bytes += fx_build(&p, buf, sizeof(buf), NULL);
		assert_int_equal(fx_send(&e->fx, &p, &act), 0);
	}
	assert_int_equal(registry__detach_process(e->r, app, 401), 0);
	assert_int_equal(fx_app_stats(&e->fx, XSL_APP_RETIRED(app), &as), 0);
	assert_int_equal(as.packets, 0);

	assert_int_equal(registry__worker_add(e->r, other, 500, 0, &w2), 0);
	assert_int_equal(w2, w);
	assert_int_equal(fx_app_stats(&e->fx, XSL_APP_RETIRED(app), &as), 0);
	assert_int_equal(as.packets, 3);
	assert_int_equal(as.bytes, bytes);
	assert_int_equal(fx_app_stats(&e->fx, XSL_APP_RETIRED(other), &as), 0);
	assert_int_equal(as.packets, 0);

	/* the index again for app: the other app's nothing adds nothing */
	assert_int_equal(registry__detach_process(e->r, other, 500), 0);
	assert_int_equal(registry__worker_add(e->r, app, 402, 0, &w2), 0);
	assert_int_equal(w2, w);
	assert_int_equal(fx_app_stats(&e->fx, XSL_APP_RETIRED(app), &as), 0);
	assert_int_equal(as.packets, 3);
	assert_int_equal(fx_app_stats(&e->fx, XSL_APP_RETIRED(other), &as), 0);
	assert_int_equal(as.packets, 0);
}

/* Reads xsl_ports into e->pf. */
static const struct xsl_port_filter *ports(struct env *e)
{
	__u32 zero = 0;

	assert_int_equal(bpf_map_lookup_elem(e->m.ports, &zero, &e->pf), 0);
	return &e->pf;
}

static int port_bit(struct env *e, int family, uint8_t proto, uint16_t port)
{
	uint32_t bit = xsl_port_bit(family, proto, port);

	return ports(e)->bits[bit / 64] >> (bit % 64) & 1;
}

static int bits_set(struct env *e)
{
	int n = 0;

	ports(e);
	for (int i = 0; i < XSL_PORT_WORDS; i++)
		n += __builtin_popcountll(e->pf.bits[i]);
	return n;
}

static void listener_at(struct env *e, uint32_t app, int family, uint8_t proto,
			const char *addr, uint16_t port, uint32_t *l)
{
	struct xsl_listener_key k = { .family = family, .proto = proto, .port = htons(port) };

	if (addr)
		assert_int_equal(inet_pton(family == XSL_AF_INET ? AF_INET : AF_INET6, addr,
					   k.addr), 1);
	assert_int_equal(registry__listener_add(e->r, app, &k, l), 0);
}

static int wild_bit(struct env *e, int family, uint8_t proto, uint16_t port)
{
	uint32_t bit = xsl_port_bit(family, proto, port);

	return ports(e)->wild[bit / 64] >> (bit % 64) & 1;
}

/*
 * A port's wild bit is set while its listeners are all wildcards, cleared
 * while an exact-address one lives (so the data path looks it up: the
 * exact listener's app gets its address's flows, the wildcard's the rest),
 * set again once the last exact one is freed.
 */
static void test_wild_bit_follows_exact_listeners(void **state)
{
	struct env *e = *state;
	uint32_t a, b, lw, lx, wa, wb;
	struct xsl_session s;
	struct xsl_flow_key k;
	struct fx_pkt p;
	__u32 act;

	assert_int_equal(registry__attach_app(e->r, "any", NULL, &a), 0);
	assert_int_equal(registry__attach_app(e->r, "exact", NULL, &b), 0);
	assert_int_equal(registry__worker_add(e->r, a, 600, 0, &wa), 0);
	assert_int_equal(registry__worker_add(e->r, b, 601, 0, &wb), 0);
	assert_int_equal(mirror__enable_port_filter(&e->mi), 0);
	listener_at(e, a, XSL_AF_INET, IPPROTO_UDP, NULL, PORT, &lw);
	assert_int_equal(registry__listener_add_worker(e->r, lw, wa), 0);
	assert_int_equal(wild_bit(e, XSL_AF_INET, IPPROTO_UDP, PORT), 1);

	listener_at(e, b, XSL_AF_INET, IPPROTO_UDP, "10.1.0.1", PORT, &lx);
	assert_int_equal(registry__listener_add_worker(e->r, lx, wb), 0);
	assert_int_equal(wild_bit(e, XSL_AF_INET, IPPROTO_UDP, PORT), 0);
	flow(&p, 4100);		/* to 10.1.0.1 */
	assert_int_equal(fx_send(&e->fx, &p, &act), 0);
	fx_key(&p, &k);
	assert_int_equal(fx_session(&e->fx, &k, &s), 0);
	assert_int_equal(s.app, b);

	assert_int_equal(registry__listener_del(e->r, lx), 0);
	assert_int_equal(wild_bit(e, XSL_AF_INET, IPPROTO_UDP, PORT), 1);
	assert_int_equal(port_bit(e, XSL_AF_INET, IPPROTO_UDP, PORT), 1);
	flow(&p, 4101);
	assert_int_equal(fx_send(&e->fx, &p, &act), 0);
	fx_key(&p, &k);
	assert_int_equal(fx_session(&e->fx, &k, &s), 0);
	assert_int_equal(s.app, a);
	/* enabling again recomputes it from the registry */
	assert_int_equal(mirror__enable_port_filter(&e->mi), 0);
	assert_int_equal(wild_bit(e, XSL_AF_INET, IPPROTO_UDP, PORT), 1);
}

/* A listener sets its port's bit; freeing it clears the bit. */
static void test_listener_add_and_free_port_bit(void **state)
{
	struct env *e = *state;
	uint32_t app, l, w;

	assert_int_equal(registry__attach_app(e->r, "bits", NULL, &app), 0);
	assert_int_equal(port_bit(e, XSL_AF_INET, IPPROTO_UDP, PORT), 0);
	udp_listener(e, app, &l);
	assert_int_equal(port_bit(e, XSL_AF_INET, IPPROTO_UDP, PORT), 1);
	assert_int_equal(bits_set(e), 1);
	/* worker changes rewrite the listener, the bit stays */
	assert_int_equal(registry__worker_add(e->r, app, 500, 0, &w), 0);
	assert_int_equal(registry__listener_add_worker(e->r, l, w), 0);
	assert_int_equal(port_bit(e, XSL_AF_INET, IPPROTO_UDP, PORT), 1);

	assert_int_equal(registry__listener_del(e->r, l), 0);
	assert_int_equal(port_bit(e, XSL_AF_INET, IPPROTO_UDP, PORT), 0);
	assert_int_equal(bits_set(e), 0);
	assert_int_equal(e->mi.err, 0);
}

/* Exact and wildcard listeners on one port: the bit goes with the last. */
static void test_port_bit_kept_until_last_listener(void **state)
{
	struct env *e = *state;
	uint32_t app, exact, wild, exact2;

	assert_int_equal(registry__attach_app(e->r, "two", NULL, &app), 0);
	listener_at(e, app, XSL_AF_INET, IPPROTO_UDP, "10.1.0.1", PORT, &exact);
	listener_at(e, app, XSL_AF_INET, IPPROTO_UDP, NULL, PORT, &wild);
	assert_int_equal(registry__listener_del(e->r, exact), 0);
	assert_int_equal(port_bit(e, XSL_AF_INET, IPPROTO_UDP, PORT), 1);
	listener_at(e, app, XSL_AF_INET, IPPROTO_UDP, "10.1.0.1", PORT, &exact2);
	assert_int_equal(registry__listener_del(e->r, wild), 0);
	assert_int_equal(port_bit(e, XSL_AF_INET, IPPROTO_UDP, PORT), 1);
	assert_int_equal(registry__listener_del(e->r, exact2), 0);
	assert_int_equal(port_bit(e, XSL_AF_INET, IPPROTO_UDP, PORT), 0);
	assert_int_equal(e->mi.err, 0);
}

/* v4/v6 and TCP/UDP of one port are four bits, set and cleared apart. */
static void test_port_bits_per_family_and_proto(void **state)
{
	static const struct {
		int family;
		uint8_t proto;
	} c[4] = {
		{ XSL_AF_INET, IPPROTO_TCP }, { XSL_AF_INET, IPPROTO_UDP },
		{ XSL_AF_INET6, IPPROTO_TCP }, { XSL_AF_INET6, IPPROTO_UDP },
	};
	struct env *e = *state;
	uint32_t app, l[4];

	assert_int_equal(registry__attach_app(e->r, "four", NULL, &app), 0);
	for (int i = 0; i < 4; i++) {
		listener_at(e, app, c[i].family, c[i].proto, NULL, PORT, &l[i]);
		for (int j = 0; j < 4; j++)
			assert_int_equal(port_bit(e, c[j].family, c[j].proto, PORT), j <= i);
		assert_int_equal(bits_set(e), i + 1);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(registry__listener_del(e->r, l[i]), 0);
		for (int j = 0; j < 4; j++)
			assert_int_equal(port_bit(e, c[j].family, c[j].proto, PORT), j > i);
	}
	assert_int_equal(e->mi.err, 0);
}

/* The app goes (its last worker exits): its listeners' bits go with it. */
static void test_freed_app_clears_port_bits(void **state)
{
	struct env *e = *state;
	uint32_t app, l;

	assert_int_equal(registry__attach_app(e->r, "short", NULL, &app), 0);
	assert_int_equal(registry__worker_add(e->r, app, 600, 0, NULL), 0);
	listener_at(e, app, XSL_AF_INET6, IPPROTO_TCP, NULL, 8443, &l);
	listener_at(e, app, XSL_AF_INET, IPPROTO_TCP, "10.1.0.1", 8443, &l);
	assert_int_equal(bits_set(e), 2);
	assert_int_equal(registry__detach_process(e->r, app, 600), 0);
	assert_null(registry__app(e->r, app));
	assert_int_equal(bits_set(e), 0);
	assert_int_equal(e->mi.err, 0);
}

/* Before the filter is enabled, bits go into the value the map holds (an
 * earlier agent's, here enabled with a stale bit), which stays as it was. */
static void test_port_bits_keep_map_value_until_enabled(void **state)
{
	struct env *e = *state;
	uint32_t app, l;

	assert_int_equal(fx_port_bit(&e->fx, XSL_AF_INET, IPPROTO_UDP, 9999, 1), 0);
	assert_int_equal(fx_port_filter(&e->fx, 1), 0);
	assert_int_equal(registry__attach_app(e->r, "again", NULL, &app), 0);
	udp_listener(e, app, &l);
	assert_int_equal(ports(e)->enabled, 1);
	assert_int_equal(port_bit(e, XSL_AF_INET, IPPROTO_UDP, PORT), 1);
	assert_int_equal(port_bit(e, XSL_AF_INET, IPPROTO_UDP, 9999), 1);
	assert_int_equal(e->mi.err, 0);
}

/* The sessions a mirrored listener gets through the enabled filter, and the
 * traffic to other ports that it keeps away from the listener lookups. */
static void assert_filtered_traffic(struct env *e, uint16_t port, uint16_t other)
{
	struct xsl_stats before, after;
	struct xsl_flow_key k;
	struct xsl_session s;
	struct fx_pkt p;
	__u32 act;

	assert_int_equal(fx_stats(&e->fx, &before), 0);
	assert_int_equal(fx_pkt_init(&p, XSL_AF_INET, IPPROTO_UDP, "10.1.0.2", 7000,
				     "10.1.0.1", port), 0);
	assert_int_equal(fx_send(&e->fx, &p, &act), 0);
	assert_int_equal(act, XDP_PASS);
	fx_key(&p, &k);
	assert_int_equal(fx_session(&e->fx, &k, &s), 0);
	p.dport = other;
	assert_int_equal(fx_send(&e->fx, &p, &act), 0);
	assert_int_equal(act, XDP_PASS);
	fx_key(&p, &k);
	assert_int_equal(fx_session(&e->fx, &k, &s), -ENOENT);
	assert_int_equal(fx_stats(&e->fx, &after), 0);
	assert_int_equal(after.stat[XSL_STAT_SESSION_CREATED] -
			 before.stat[XSL_STAT_SESSION_CREATED], 1);
	assert_int_equal(after.stat[XSL_STAT_NOT_OURS] - before.stat[XSL_STAT_NOT_OURS], 1);
}

/* enable writes enabled = 1 and exactly the registry's listener bits (a
 * stale bit is gone); listeners added later are reachable at once. */
static void test_enable_port_filter_matches_registry(void **state)
{
	struct env *e = *state;
	uint32_t app, w, l[3];

	assert_int_equal(fx_port_bit(&e->fx, XSL_AF_INET, IPPROTO_UDP, 9999, 1), 0);
	assert_int_equal(registry__attach_app(e->r, "on", NULL, &app), 0);
	assert_int_equal(registry__worker_add(e->r, app, 700, 0, &w), 0);
	udp_listener(e, app, &l[0]);
	assert_int_equal(registry__listener_add_worker(e->r, l[0], w), 0);
	listener_at(e, app, XSL_AF_INET6, IPPROTO_TCP, "fd00::1", 443, &l[1]);
	assert_int_equal(ports(e)->enabled, 0);

	assert_int_equal(mirror__enable_port_filter(&e->mi), 0);
	assert_int_equal(ports(e)->enabled, 1);
	assert_int_equal(bits_set(e), 2);
	assert_int_equal(port_bit(e, XSL_AF_INET, IPPROTO_UDP, PORT), 1);
	assert_int_equal(port_bit(e, XSL_AF_INET6, IPPROTO_TCP, 443), 1);
	assert_int_equal(port_bit(e, XSL_AF_INET, IPPROTO_UDP, 9999), 0);
	assert_filtered_traffic(e, PORT, 9999);

	listener_at(e, app, XSL_AF_INET, IPPROTO_UDP, NULL, PORT + 1, &l[2]);
	assert_int_equal(registry__listener_add_worker(e->r, l[2], w), 0);
	assert_int_equal(ports(e)->enabled, 1);
	assert_int_equal(bits_set(e), 3);
	assert_filtered_traffic(e, PORT + 1, PORT + 2);
	assert_int_equal(e->mi.err, 0);
}

/* The bit is written before the listener: when it cannot be, the listener
 * is not written either (the error is kept), and a retry writes both. */
static void test_port_bit_failure_keeps_listener_out(void **state)
{
	struct env *e = *state;
	struct xsl_listener_key k = { .family = XSL_AF_INET, .proto = IPPROTO_UDP,
				      .port = htons(PORT) };
	struct xsl_listener v;
	int ports_fd = e->m.ports;
	uint32_t app, l;

	assert_int_equal(registry__attach_app(e->r, "fail", NULL, &app), 0);
	e->m.ports = -1;
	udp_listener(e, app, &l);
	assert_int_equal(e->mi.err, -EBADF);
	assert_int_not_equal(bpf_map_lookup_elem(e->m.listeners, &k, &v), 0);

	e->m.ports = ports_fd;
	assert_int_equal(mirror__listener(&e->mi, l), 0);
	assert_int_equal(port_bit(e, XSL_AF_INET, IPPROTO_UDP, PORT), 1);
	assert_int_equal(bpf_map_lookup_elem(e->m.listeners, &k, &v), 0);
}

/* mirror__all writes the enabled filter from the registry too. */
static void test_mirror_all_writes_port_filter(void **state)
{
	struct env *e = *state;
	uint32_t app, l;

	assert_int_equal(registry__attach_app(e->r, "all", NULL, &app), 0);
	udp_listener(e, app, &l);
	assert_int_equal(fx_port_bit(&e->fx, XSL_AF_INET, IPPROTO_UDP, PORT, 0), 0);
	assert_int_equal(fx_port_bit(&e->fx, XSL_AF_INET, IPPROTO_TCP, 1, 1), 0);
	assert_int_equal(mirror__all(&e->mi), 0);
	assert_int_equal(ports(e)->enabled, 1);
	assert_int_equal(port_bit(e, XSL_AF_INET, IPPROTO_UDP, PORT), 1);
	assert_int_equal(bits_set(e), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_mirrored_app_creates_sessions_on_table_worker),
		T(test_detached_process_sessions_are_reassigned),
		T(test_restart_new_flows_to_new_instance_old_stay_reassign),
		T(test_restart_new_flows_to_new_instance_old_stay_drop),
		T(test_freed_app_traffic_is_not_ours),
		T(test_reused_worker_starts_with_zero_counters),
		T(test_reused_worker_counters_retired_to_old_app),
		T(test_listener_add_and_free_port_bit),
		T(test_wild_bit_follows_exact_listeners),
		T(test_port_bit_kept_until_last_listener),
		T(test_port_bits_per_family_and_proto),
		T(test_freed_app_clears_port_bits),
		T(test_port_bits_keep_map_value_until_enabled),
		T(test_enable_port_filter_matches_registry),
		T(test_port_bit_failure_keeps_listener_out),
		T(test_mirror_all_writes_port_filter),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
