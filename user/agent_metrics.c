// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The agent's Prometheus endpoint: GET /metrics on --metrics ADDR:PORT.
 *
 * libmicrohttpd runs without a thread of its own (MHD_USE_EPOLL): its epoll
 * fd sits in the agent's loop (TAG_METRICS) and the timer tick also calls
 * metrics__run(), so a scrape runs between events and never races the
 * registry. Abuse stays bounded: a connection limit, a per-connection memory
 * limit (a longer request gets 414/431), MHD's inactivity timeout (a client
 * that never reads its page is dropped) and, since a client dripping a
 * header line every few seconds is never inactive, an absolute deadline of
 * our own: a request must arrive whole within METRICS_REQUEST_MS of the
 * connection (or of the previous reply) and its page be sent within
 * METRICS_REPLY_MS, else metrics__run() shuts the connection down and MHD
 * closes it. The per-address limit admits a new connection by evicting
 * that address's oldest one still waiting for its request, so slow clients
 * cannot lock a prompt scraper out, even from the same address.
 *
 * The page is built with prom.h by one renderer per family group. Per-CPU
 * maps are read with one batch lookup each; a map that cannot be read leaves
 * its families out (zeros would look like counter resets). Per-app,
 * per-instance and per-worker series exist only for live apps, instances
 * and workers, so a freed worker's series go away.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <microhttpd.h>
#include "addr.h"
#include "agent.h"
#include "clock.h"
#include "cli.h"
#include "instview.h"
#include "log.h"
#include "metrics.h"
#include "prom.h"
#include "xsl/events.h"
#include "xsl/maps.h"
#include "xsl/stats.h"

#define METRICS_PATH		"/metrics"
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define METRICS_TIMEOUT_S	10	/* MHD's inactivity timeout */
#define METRICS_REQUEST_MS	5000	/* connection (or last reply) to whole request */
#define METRICS_REPLY_MS	10000	/* request to page sent */
#define METRICS_MAX_CONNS	64	/* open, not yet evicted */
#define METRICS_MAX_PER_IP	16	/* of those, from one address */
/* MHD's own limit: room for evicted connections MHD has not closed yet */
#define METRICS_MHD_CONNS	(2 * METRICS_MAX_CONNS)
#define METRICS_MEMORY_LIMIT	(16 * 1024)	/* request line + headers */
#define METRICS_BACKLOG		64
#define METRICS_RUNS		4	/* MHD_run calls per wakeup at most */

_Static_assert(sizeof(struct xsl_app_stats) % sizeof(uint64_t) == 0, "u64 fields only");
_Static_assert(sizeof(struct xsl_worker_stats) % sizeof(uint64_t) == 0, "u64 fields only");

#define U64_FIELDS(type) (sizeof(type) / sizeof(uint64_t))
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* What one page reads, too large for the stack: render() allocates it and
 * hands it to the renderers that fill it (per-CPU sums, instances). */
struct render_bufs {
	uint64_t app[XSL_MAX_APPS * U64_FIELDS(struct xsl_app_stats)];
	uint64_t wrk[XSL_MAX_WORKERS * U64_FIELDS(struct xsl_worker_stats)];
	struct agent_delivered delivered;
	struct inst_view inst[XSL_MAX_APPS][XSL_REG_MAX_INSTANCES];
	int n_inst[XSL_MAX_APPS];	/* -ENOENT: no such app */
};

/* ---- reading the maps ---- */

/* ---- label helpers ---- */

#define XSL__NAME(n, s) s,
static const char *const drop_names[] = { XSL_DROP_LIST(XSL__NAME) };
static const char *const parse_names[] = { XSL_PARSE_LIST(XSL__NAME) };
#undef XSL__NAME

static const char *const reg_cause_names[CAUSE__MAX] = {
	[CAUSE_FORK] = "fork", [CAUSE_JOIN] = "join", [CAUSE_API] = "api",
	[CAUSE_RECONCILE] = "reconcile",
};
static const char *const detach_cause_names[DETACH__MAX] = {
	[DETACH_EXIT] = "exit", [DETACH_API] = "api", [DETACH_RECONCILE] = "reconcile",
};
/* a->apps[].expired[] order (agent_gc.c) */
static const char *const expire_cause_names[] = { "idle", "closed", "app_gone" };
_Static_assert(ARRAY_LEN(expire_cause_names) == ARRAY_LEN(((struct agent_app *)0)->expired),
	       "one name per expiry cause");
static const char *const fork_stage_names[FORK_STAGE__MAX] = { "wake", "queue", "handle" };

struct stat_label {
	enum xsl_stat stat;
	const char *value;
};

/* The labels of a live worker: app, worker (global index), map_index, pid. */
struct worker_labels {
	char worker[12], map_index[12], pid[12];
	struct prom_label l[4];
};

static const struct reg_worker *worker_labels(const struct agent *a, uint32_t w,
					      struct worker_labels *wl)
{
	const struct reg_worker *rw = registry__worker(a->reg, w);

	if (!rw || !registry__app(a->reg, rw->app))
		return NULL;
	snprintf(wl->worker, sizeof(wl->worker), "%u", w);
	snprintf(wl->map_index, sizeof(wl->map_index), "%u", rw->map_index);
	snprintf(wl->pid, sizeof(wl->pid), "%u", rw->pid);
	wl->l[0] = (struct prom_label){ "app", registry__app_name(a->reg, rw->app) };
	wl->l[1] = (struct prom_label){ "worker", wl->worker };
	wl->l[2] = (struct prom_label){ "map_index", wl->map_index };
	wl->l[3] = (struct prom_label){ "pid", wl->pid };
	return rw;
}

/* ---- renderers, one per family group ---- */

static void render_info(struct prom *p, const struct agent *a)
{
	char libbpf[32];
	struct utsname u;

	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "unknown");
	snprintf(libbpf, sizeof(libbpf), "%u.%u", libbpf_major_version(),
		 libbpf_minor_version());
	prom__family(p, "xsl_build_info", PROM_GAUGE,
		     "Versions of xsl, the libbpf it runs with and the kernel; always 1.");
	prom__u64(p, PROM_LABELS({ "version", XSL_VERSION }, { "libbpf", libbpf },
				 { "kernel", u.release }), 1);
	prom__family(p, "xsl_agent_start_time_seconds", PROM_GAUGE,
		     "When the agent started, in seconds since the Unix epoch.");
	prom__u64(p, NULL, 0, a->start_time);
}

/* Gauges of the registry, and session counts from the last GC pass. */
static void render_registry(struct prom *p, const struct agent *a)
{
	static const struct {
		const char *name, *help;
	} fams[] = {
		{ "xsl_workers", "Live workers of each app." },
		{ "xsl_listeners", "Listeners of each app." },
		{ "xsl_sessions",
		  "Sessions of each app, as counted by the last complete GC pass." },
	};
	uint64_t apps = 0;

	for (uint32_t i = 0; i < XSL_MAX_APPS; i++)
		apps += registry__app(a->reg, i) != NULL;
	prom__family(p, "xsl_apps", PROM_GAUGE, "Live apps.");
	prom__u64(p, NULL, 0, apps);

	for (size_t f = 0; f < ARRAY_LEN(fams); f++) {
		prom__family(p, fams[f].name, PROM_GAUGE, fams[f].help);
		for (uint32_t i = 0; i < XSL_MAX_APPS; i++) {
			const struct reg_app *ra = registry__app(a->reg, i);
			uint64_t v;

			if (!ra)
				continue;
			v = f == 0 ? ra->n_workers : f == 1 ? ra->n_listeners : a->apps[i].sessions;
			prom__u64(p, PROM_LABELS({ "app", ra->name }), v);
		}
	}
}

/*
 * Instances: how many of each app are in each state (every state, zeros
 * too), and the sessions of each live instance: the sum of its workers'
 * xsl_worker_sessions (a dead worker's leftovers count for no instance).
 */
static void render_instances(struct prom *p, struct agent *a, struct render_bufs *b)
{
	static const enum xsl_inst_state states[] = {
		XSL_INST_STARTING, XSL_INST_SERVING, XSL_INST_DRAINING, XSL_INST_STOPPING,
	};
	char num[8];

	for (uint32_t i = 0; i < XSL_MAX_APPS; i++)
		b->n_inst[i] = iview__list(a, i, b->inst[i]);
	prom__family(p, "xsl_instances", PROM_GAUGE,
		     "Live instances of each app, by state (starting, serving, draining, "
		     "stopping).");
	for (uint32_t i = 0; i < XSL_MAX_APPS; i++) {
		for (size_t k = 0; b->n_inst[i] >= 0 && k < ARRAY_LEN(states); k++) {
			uint64_t count = 0;

			for (int j = 0; j < b->n_inst[i]; j++)
				count += b->inst[i][j].state == states[k];
			prom__u64(p, PROM_LABELS({ "app", registry__app_name(a->reg, i) },
						 { "state", instview__state_name(states[k]) }),
				  count);
		}
	}
	prom__family(p, "xsl_instance_sessions", PROM_GAUGE,
		     "Sessions of each live instance, as counted by the last complete GC pass "
		     "(the sum of its workers' xsl_worker_sessions).");
	for (uint32_t i = 0; i < XSL_MAX_APPS; i++) {
		for (int j = 0; j < b->n_inst[i]; j++) {
			snprintf(num, sizeof(num), "%u", b->inst[i][j].num);
			prom__u64(p, PROM_LABELS({ "app", registry__app_name(a->reg, i) },
						 { "instance", num }),
				  b->inst[i][j].sessions);
		}
	}
}

/*
 * Per listener: the workers serving it and the sockets adopted for it (an
 * alert compares them), and the session table's size (its max_entries, as
 * pinned: another agent or `ip link` may have made it) to compare with
 * the xsl_sessions sum.
 */
static void render_capacity(struct prom *p, const struct agent *a)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);

	for (int f = 0; f < 2; f++) {
		prom__family(p, f ? "xsl_listener_sockets" : "xsl_listener_workers", PROM_GAUGE,
			     f ? "Worker sockets adopted for each listener."
			       : "Workers serving each listener.");
		for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
			const struct reg_listener *rl = registry__listener(a->reg, l);
			char addr[INET6_ADDRSTRLEN], port[8];

			if (!rl)
				continue;
			addr__ip(rl->key.family, rl->key.addr, addr, sizeof(addr));
			snprintf(port, sizeof(port), "%u", ntohs(rl->key.port));
			prom__u64(p, PROM_LABELS({ "app", registry__app_name(a->reg, rl->app) },
						 { "proto", addr__proto(rl->key.proto) },
						 { "addr", addr }, { "port", port }),
				  f ? (uint64_t)socks__count(a, l) : rl->n_workers);
		}
	}
	if (bpf_obj_get_info_by_fd(a->maps.sessions, &info, &len)) {
		pr_warn("metrics: info of %s: %s\n", XSL_MAP_SESSIONS, strerror(errno));
		return;
	}
	prom__family(p, "xsl_session_table_size", PROM_GAUGE,
		     "Entries the session table can hold.");
	prom__u64(p, NULL, 0, info.max_entries);
}

static void render_stat_family(struct prom *p, const struct xsl_stats *s, const char *name,
			       const char *label, const char *help,
			       const struct stat_label *sl, size_t n)
{
	prom__family(p, name, PROM_COUNTER, help);
	for (size_t i = 0; i < n; i++)
		prom__u64(p, PROM_LABELS({ label, sl[i].value }), s->stat[sl[i].stat]);
}

/* The global data-path counters of xsl_stats. */
static void render_datapath(struct prom *p, struct agent *a)
{
	static const struct stat_label actions[] = {
		{ XSL_STAT_XDP_PASS, "pass" },	       { XSL_STAT_XDP_DROP, "drop" },
		{ XSL_STAT_XDP_REDIRECT, "redirect" }, { XSL_STAT_XDP_ABORTED, "aborted" },
		{ XSL_STAT_XDP_TX, "tx" },
	};
	/* counters without labels, one family each */
	static const struct {
		int stat;
		const char *name, *help;
	} single[] = {
		{ XSL_STAT_NOT_OURS, "xsl_xdp_not_ours_total",
		  "Packets XDP passed untouched: no listener has their port or address." },
		{ XSL_STAT_TCP_MISS_NOT_SYN, "xsl_xdp_tcp_miss_not_syn_total",
		  "TCP packets without a session that are not a SYN (older connections)." },
		{ XSL_STAT_SK_REPICKED, "xsl_sklookup_repicked_total",
		  "Sessions sk_lookup moved to another worker because theirs had no socket." },
		{ XSL_STAT_SESSION_REFUSED, "xsl_sessions_refused_total",
		  "New flows the full session table did not store (delivered statelessly)." },
		{ XSL_STAT_SESSION_EVICTED, "xsl_sessions_evicted_total",
		  "Sessions a new flow took the way of (unassured, or assured and idle)." },
		{ XSL_STAT_SESSION_ASSURED, "xsl_sessions_assured_total",
		  "Sessions whose worker answered (TCP: handshake completed)." },
		{ XSL_STAT_EVENTS_LOST, "xsl_events_lost_total",
		  "Process and socket events lost because the ring buffer was full." },
	};
	static const struct stat_label lookups[] = {
		{ XSL_STAT_LOOKUP_HIT, "hit" },
		{ XSL_STAT_LOOKUP_MISS, "miss" },
	};
	static const struct stat_label sklookup[] = {
		{ XSL_STAT_SK_ASSIGNED, "assigned" },
		{ XSL_STAT_SK_NO_SOCKET, "no_socket" },
		{ XSL_STAT_SK_NOT_OURS, "not_ours" },
	};
	struct xsl_stats s;
	int err = agent__read_stats(a, &s);

	/* no samples rather than zeros, which would read as counter resets */
	if (err) {
		pr_warn("metrics: read %s: %s\n", XSL_MAP_STATS, strerror(-err));
		return;
	}
	render_stat_family(p, &s, "xsl_xdp_packets_total", "action",
			   "Packets seen by the XDP program, by verdict.", actions,
			   ARRAY_LEN(actions));
	prom__family(p, "xsl_xdp_drops_total", PROM_COUNTER,
		     "Packets dropped by the XDP or sk_lookup program, by reason.");
	for (int i = 0; i < XSL_DROP__MAX; i++)
		prom__u64(p, PROM_LABELS({ "reason", drop_names[i] }), s.drop[i]);
	prom__family(p, "xsl_parse_errors_total", PROM_COUNTER,
		     "Packets XDP passed untouched because they could not be parsed, by kind.");
	for (int i = 0; i < XSL_PARSE__MAX; i++)
		prom__u64(p, PROM_LABELS({ "kind", parse_names[i] }), s.parse[i]);
	render_stat_family(p, &s, "xsl_session_lookups_total", "result",
			   "Session table lookups by XDP, by result.", lookups,
			   ARRAY_LEN(lookups));
	render_stat_family(p, &s, "xsl_sklookup_total", "result",
			   "Socket lookups by the sk_lookup program, by result.", sklookup,
			   ARRAY_LEN(sklookup));
	for (size_t i = 0; i < ARRAY_LEN(single); i++) {
		prom__family(p, single[i].name, PROM_COUNTER, single[i].help);
		prom__u64(p, NULL, 0, s.stat[single[i].stat]);
	}
}

/* Puts each app's delivered packets and bytes (agent__app_delivered()) into
 * sums, its xsl_app_stats entries. */
static int app_delivered(struct agent *a, struct render_bufs *b, uint64_t *sums)
{
	enum { NF = U64_FIELDS(struct xsl_app_stats) };
	int err = agent__app_delivered(a, &b->delivered);

	if (err)
		pr_warn("metrics: sum the apps' packets over their workers: %s\n", strerror(-err));
	for (uint32_t i = 0; !err && i < XSL_MAX_APPS; i++) {
		sums[i * NF + offsetof(struct xsl_app_stats, packets) / sizeof(uint64_t)] =
			b->delivered.packets[i];
		sums[i * NF + offsetof(struct xsl_app_stats, bytes) / sizeof(uint64_t)] =
			b->delivered.bytes[i];
	}
	return err;
}

/* Per-app counters: xsl_app_stats (data path), packets and bytes summed
 * over the app's workers, and the agent's expiries. */
static void render_apps(struct prom *p, struct agent *a, struct render_bufs *b)
{
	enum { NF = U64_FIELDS(struct xsl_app_stats) };
	static const struct {
		size_t field;
		const char *name, *help;
	} fams[] = {
		{ offsetof(struct xsl_app_stats, sessions_created), "xsl_sessions_created_total",
		  "Sessions created for each app." },
		{ offsetof(struct xsl_app_stats, sessions_reassigned),
		  "xsl_sessions_reassigned_total",
		  "Sessions of each app moved to another worker after theirs went away." },
		{ offsetof(struct xsl_app_stats, packets), "xsl_app_packets_total",
		  "Packets delivered to each app's workers." },
		{ offsetof(struct xsl_app_stats, bytes), "xsl_app_bytes_total",
		  "Bytes delivered to each app's workers." },
		{ offsetof(struct xsl_app_stats, drops), "xsl_app_drops_total",
		  "Packets of each app dropped." },
	};
	uint64_t *sums = b->app;
	int err = agent__percpu_sums(a->maps.app_stats, XSL_MAX_APPS, NF, sums);

	if (err)
		pr_warn("metrics: read %s: %s\n", XSL_MAP_APP_STATS, strerror(-err));
	if (!err)
		err = app_delivered(a, b, sums);
	/* re-homed by the data path or by the GC: reassigned either way */
	for (uint32_t i = 0; !err && i < XSL_MAX_APPS; i++)
		sums[i * NF + offsetof(struct xsl_app_stats, sessions_reassigned) / sizeof(uint64_t)] +=
			a->apps[i].gc_rehomed;
	for (size_t f = 0; !err && f < ARRAY_LEN(fams); f++) {
		prom__family(p, fams[f].name, PROM_COUNTER, fams[f].help);
		for (uint32_t i = 0; i < XSL_MAX_APPS; i++) {
			const struct reg_app *ra = registry__app(a->reg, i);

			if (ra)
				prom__u64(p, PROM_LABELS({ "app", ra->name }),
					  sums[i * NF + fams[f].field / sizeof(uint64_t)]);
		}
	}

	prom__family(p, "xsl_sessions_expired_total", PROM_COUNTER,
		     "Sessions removed by the agent's GC, by app and cause.");
	for (uint32_t i = 0; i < XSL_MAX_APPS; i++) {
		const struct reg_app *ra = registry__app(a->reg, i);

		for (size_t c = 0; ra && c < ARRAY_LEN(expire_cause_names); c++) {
			const char *cause = expire_cause_names[c];

			prom__u64(p, PROM_LABELS({ "app", ra->name }, { "cause", cause }),
				  a->apps[i].expired[c]);
		}
	}
}

/* Per-worker series: xsl_wrk_stats (data path) and GC session counts. */
static void render_workers(struct prom *p, struct agent *a, struct render_bufs *b)
{
	enum { NF = U64_FIELDS(struct xsl_worker_stats) };
	static const struct {
		size_t field;
		const char *name, *help;
	} fams[] = {
		{ offsetof(struct xsl_worker_stats, packets), "xsl_worker_packets_total",
		  "Packets delivered to each live worker." },
		{ offsetof(struct xsl_worker_stats, bytes), "xsl_worker_bytes_total",
		  "Bytes delivered to each live worker." },
		{ offsetof(struct xsl_worker_stats, sessions_created),
		  "xsl_worker_sessions_created_total", "Sessions created for each live worker." },
	};
	uint64_t *sums = b->wrk;
	struct worker_labels wl;
	int err = agent__percpu_sums(a->maps.wrk_stats, XSL_MAX_WORKERS, NF, sums);

	if (err)
		pr_warn("metrics: read %s: %s\n", XSL_MAP_WRK_STATS, strerror(-err));
	for (size_t f = 0; !err && f < ARRAY_LEN(fams); f++) {
		prom__family(p, fams[f].name, PROM_COUNTER, fams[f].help);
		for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++)
			if (worker_labels(a, w, &wl))
				prom__u64(p, wl.l, ARRAY_LEN(wl.l),
					  sums[w * NF + fams[f].field / sizeof(uint64_t)]);
	}
	prom__family(p, "xsl_worker_sessions", PROM_GAUGE,
		     "Sessions of each live worker, as counted by the last complete GC pass.");
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++)
		if (worker_labels(a, w, &wl))
			prom__u64(p, wl.l, ARRAY_LEN(wl.l), gc__worker_sessions(a, w));
}

/* The agent's own work: registrations, latency, events, loops, control. */
static void render_agent(struct prom *p, const struct agent *a)
{
	static const char *const event_names[] = {
		[XSL_EV_FORK] = "fork",	      [XSL_EV_EXIT] = "exit", [XSL_EV_JOIN] = "join",
		[XSL_EV_BIND] = "bind",	      [XSL_EV_LISTEN] = "listen",
		[XSL_EV_RELEASE] = "release",
	};
	static const char *const refusal_names[REFUSED__MAX] = {
		[REFUSED_NETNS] = "netns", [REFUSED_QUOTA] = "quota",
		[REFUSED_TABLE_FULL] = "table_full",
	};
	const struct agent_counters *c = &a->c;

	prom__family(p, "xsl_worker_registrations_total", PROM_COUNTER,
		     "Workers registered for each app, by what found the process.");
	for (uint32_t i = 0; i < XSL_MAX_APPS; i++)
		for (int k = 0; registry__app(a->reg, i) && k < CAUSE__MAX; k++)
			prom__u64(p, PROM_LABELS({ "app", registry__app_name(a->reg, i) },
						 { "cause", reg_cause_names[k] }),
				  a->apps[i].registrations[k]);
	prom__family(p, "xsl_worker_detaches_total", PROM_COUNTER,
		     "Workers removed from each app, by cause.");
	for (uint32_t i = 0; i < XSL_MAX_APPS; i++)
		for (int k = 0; registry__app(a->reg, i) && k < DETACH__MAX; k++)
			prom__u64(p, PROM_LABELS({ "app", registry__app_name(a->reg, i) },
						 { "cause", detach_cause_names[k] }),
				  a->apps[i].detaches[k]);

	prom__family(p, "xsl_xdp_attached", PROM_GAUGE,
		     "Interfaces of the agent's namespace running xsl's XDP program.");
	for (unsigned int i = 0; i < a->n_xdp_devs; i++)
		prom__u64(p, PROM_LABELS({ "dev", a->xdp_devs[i].name }), 1);
	prom__family(p, "xsl_xdp_detached_behind_total", PROM_COUNTER,
		     "Times xsl's XDP program vanished from an interface without the agent.");
	prom__u64(p, NULL, 0, a->xdp_lost);

	prom__family(p, "xsl_fork_to_register_seconds", PROM_HISTOGRAM,
		     "From a fork event's kernel timestamp to the new worker being live in the "
		     "maps (a child gone by then: to the agent finding it gone).");
	prom__histogram(p, NULL, 0, lathist_bounds, c->fork_lat.bucket, LATHIST_BUCKETS,
			c->fork_lat.count, c->fork_lat.sum);
	prom__family(p, "xsl_fork_stage_seconds", PROM_HISTOGRAM,
		     "xsl_fork_to_register_seconds in parts: wake (kernel timestamp -> the "
		     "agent awake: ring buffer wake-up, wait for a CPU), queue (-> the agent "
		     "reaching the event), handle (-> registered).");
	for (int k = 0; k < FORK_STAGE__MAX; k++)
		prom__histogram(p, PROM_LABELS({ "stage", fork_stage_names[k] }), lathist_bounds,
				c->fork_stage[k].bucket, LATHIST_BUCKETS, c->fork_stage[k].count,
				c->fork_stage[k].sum);
	prom__family(p, "xsl_agent_sched_demotions_total", PROM_COUNTER,
		     "Times the real-time agent (--sched) ran its RLIMIT_RTTIME limit without "
		     "sleeping and dropped to SCHED_OTHER for a second.");
	prom__u64(p, NULL, 0, c->sched_demotions);
	prom__family(p, "xsl_exit_to_detach_seconds", PROM_HISTOGRAM,
		     "From an exit event's kernel timestamp to the process's workers being "
		     "removed from the registry and the maps.");
	prom__histogram(p, NULL, 0, lathist_bounds, c->exit_lat.bucket, LATHIST_BUCKETS,
			c->exit_lat.count, c->exit_lat.sum);

	prom__family(p, "xsl_events_total", PROM_COUNTER,
		     "Process and socket events handled by the agent, by type.");
	for (size_t t = 1; t < ARRAY_LEN(event_names); t++)
		prom__u64(p, PROM_LABELS({ "type", event_names[t] }), c->events[t]);
	prom__family(p, "xsl_reconcile_runs_total", PROM_COUNTER,
		     "Reconcile passes over the app cgroups and /proc.");
	prom__u64(p, NULL, 0, c->reconcile_runs);
	prom__family(p, "xsl_gc_runs_total", PROM_COUNTER, "Complete session GC passes.");
	prom__u64(p, NULL, 0, c->gc_runs);
	prom__family(p, "xsl_control_requests_total", PROM_COUNTER,
		     "Requests received on the control socket.");
	prom__u64(p, NULL, 0, c->ctl_requests);
	prom__family(p, "xsl_control_errors_total", PROM_COUNTER,
		     "Control requests answered with an error.");
	prom__u64(p, NULL, 0, c->ctl_errors);
	prom__family(p, "xsl_control_bad_requests_total", PROM_COUNTER,
		     "Control requests that were not valid JSON objects or were too long.");
	prom__u64(p, NULL, 0, c->ctl_bad);
	prom__family(p, "xsl_socket_attach_failures_total", PROM_COUNTER,
		     "Worker listener sockets the agent could not put into the socket map.");
	prom__u64(p, NULL, 0, c->sock_attach_fail);
	prom__family(p, "xsl_sockets_refused_total", PROM_COUNTER,
		     "Sockets of app processes not adopted as listeners, by reason: another "
		     "network namespace, the app's listener quota, a full listener table.");
	for (size_t r = 0; r < REFUSED__MAX; r++)
		prom__u64(p, PROM_LABELS({ "reason", refusal_names[r] }),
			  a->sockpol.refused_total[r]);
}

static void render_http(struct prom *p, const struct agent *a);

/* Graceful restarts (agent_inst.c): run --replace outcomes and drains. */
static void render_restarts(struct prom *p, const struct agent *a)
{
	static const char *const results[RESTART__MAX] = {
		[RESTART_REPLACED] = "replaced", [RESTART_ABORTED] = "aborted",
	};

	prom__family(p, "xsl_restarts_total", PROM_COUNTER,
		     "run --replace of each app, by result: the new instance took over "
		     "(replaced) or did not serve in time (aborted).");
	for (uint32_t i = 0; i < XSL_MAX_APPS; i++)
		for (int k = 0; registry__app(a->reg, i) && k < RESTART__MAX; k++)
			prom__u64(p, PROM_LABELS({ "app", registry__app_name(a->reg, i) },
						 { "result", results[k] }),
				  a->apps[i].restarts[k]);
	prom__family(p, "xsl_drain_seconds", PROM_HISTOGRAM,
		     "From a new instance taking over to the old instance it replaced being "
		     "gone (drain, stop signal and stop timeout).");
	prom__histogram(p, NULL, 0, drainhist_bounds, a->drain_hist.bucket, DRAINHIST_BUCKETS,
			a->drain_hist.count, a->drain_hist.sum);
}

static int render(struct agent *a, char **text, size_t *len)
{
	struct render_bufs *b = malloc(sizeof(*b));
	struct prom p;
	int err;

	if (!b)
		return -ENOMEM;
	prom__init(&p);
	render_info(&p, a);
	render_registry(&p, a);
	render_instances(&p, a, b);
	render_capacity(&p, a);
	render_datapath(&p, a);
	render_apps(&p, a, b);
	render_workers(&p, a, b);
	render_agent(&p, a);
	render_http(&p, a);
	render_restarts(&p, a);
	err = prom__finish(&p, text, len);
	free(b);
	return err;
}

/* ---- connections and their deadlines ---- */

enum evict_reason { EVICT_DEADLINE, EVICT_PER_ADDRESS, EVICT_FULL, EVICT__MAX };
static const char *const evict_names[EVICT__MAX] = {
	[EVICT_DEADLINE] = "deadline", [EVICT_PER_ADDRESS] = "per_address", [EVICT_FULL] = "full",
};

/* One TCP connection, from MHD's STARTED notification to its CLOSED one. */
struct metrics_conn {
	struct MHD_Connection *conn;	/* NULL: free */
	int fd;
	sa_family_t family;		/* of the client's address */
	uint8_t peer[16];		/* the address (IPv4: the first 4 bytes) */
	uint64_t since_ms;		/* connected, or its last page sent */
	uint64_t deadline_ms;		/* shut down when this passes */
	bool answering;			/* its request is in, the page on its way */
	bool evicted;			/* shut down; MHD closes it when it next runs */
};

/* What a->metrics points to. */
struct metrics_server {
	struct MHD_Daemon *d;
	struct metrics_conn conns[METRICS_MHD_CONNS];
	uint64_t evictions[EVICT__MAX];
};

/*
 * Ends c at once whatever the client does: after shutdown() MHD's next run
 * reads the end of the stream and closes the connection (CLOSED frees c).
 * The fd stays MHD's to close.
 */
static void conn_evict(struct metrics_server *m, struct metrics_conn *c, enum evict_reason why)
{
	if (c->evicted)
		return;
	c->evicted = true;
	shutdown(c->fd, SHUT_RDWR);
	m->evictions[why]++;
	pr_debug("metrics: connection fd %d closed: %s\n", c->fd, evict_names[why]);
}

static void conn_peer(struct MHD_Connection *conn, struct metrics_conn *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	c->family = sa ? sa->sa_family : AF_UNSPEC;
	if (c->family == AF_INET)
		memcpy(c->peer, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (c->family == AF_INET6)
		memcpy(c->peer, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
}

/*
 * Admits a new connection. At a limit (per address, or in all) room is made
 * by evicting the oldest connection still waiting for its request (of that
 * address first): a client that sends its request at once always gets in,
 * and one that dawdles loses its place to it. When every connection is
 * being answered the new one is refused.
 */
static void conn_started(struct metrics_server *m, struct MHD_Connection *conn, void **ctx)
{
	const union MHD_ConnectionInfo *fi =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct metrics_conn *slot = NULL, *oldest = NULL, *oldest_here = NULL;
	uint64_t now = mono_ms();
	struct metrics_conn nc = { .conn = conn, .fd = fi ? fi->connect_fd : -1,
				   .since_ms = now, .deadline_ms = now + METRICS_REQUEST_MS };
	unsigned int n = 0, n_here = 0;

	conn_peer(conn, &nc);
	for (unsigned int i = 0; i < METRICS_MHD_CONNS; i++) {
		struct metrics_conn *c = &m->conns[i];
		bool here;

		if (!c->conn) {
			slot = slot ? slot : c;
			continue;
		}
		if (c->evicted)
			continue;
		here = c->family == nc.family && !memcmp(c->peer, nc.peer, sizeof(c->peer));
		n++;
		n_here += here;
		if (c->answering)
			continue;
		if (!oldest || c->since_ms < oldest->since_ms)
			oldest = c;
		if (here && (!oldest_here || c->since_ms < oldest_here->since_ms))
			oldest_here = c;
	}
	if (n_here >= METRICS_MAX_PER_IP) {
		if (oldest_here)
			conn_evict(m, oldest_here, EVICT_PER_ADDRESS);
		else
			slot = NULL;
	} else if (n >= METRICS_MAX_CONNS) {
		if (oldest)
			conn_evict(m, oldest, EVICT_FULL);
		else
			slot = NULL;
	}
	if (!slot || nc.fd < 0) {
		m->evictions[EVICT_FULL]++;
		if (nc.fd >= 0)
			shutdown(nc.fd, SHUT_RDWR);
		return;
	}
	*slot = nc;
	*ctx = slot;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **ctx,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct metrics_server *m = cls;
	struct metrics_conn *c = *ctx;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		*ctx = NULL;
		conn_started(m, conn, ctx);
	} else if (c) {
		memset(c, 0, sizeof(*c));
		*ctx = NULL;
	}
}

static struct metrics_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* A reply went out: the connection may wait for its next request. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct metrics_conn *c = conn_of(conn);
	uint64_t now = mono_ms();

	(void)cls;
	(void)req_cls;
	(void)toe;
	if (!c)
		return;
	c->answering = false;
	c->since_ms = now;
	c->deadline_ms = now + METRICS_REQUEST_MS;
}

/* Shuts down every connection past its deadline; true if any. */
static bool enforce_deadlines(struct metrics_server *m)
{
	uint64_t now = mono_ms();
	bool any = false;

	for (unsigned int i = 0; i < METRICS_MHD_CONNS; i++) {
		struct metrics_conn *c = &m->conns[i];

		if (c->conn && !c->evicted && now >= c->deadline_ms) {
			conn_evict(m, c, EVICT_DEADLINE);
			any = true;
		}
	}
	return any;
}

static void render_http(struct prom *p, const struct agent *a)
{
	const struct metrics_server *m = a->metrics;

	prom__family(p, "xsl_metrics_connections_closed_total", PROM_COUNTER,
		     "Connections to this endpoint the agent closed, by reason: past their "
		     "deadline, or to make room (per address, or in all).");
	for (int i = 0; i < EVICT__MAX; i++)
		prom__u64(p, PROM_LABELS({ "reason", evict_names[i] }), m ? m->evictions[i] : 0);
}

/* ---- HTTP ---- */

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status,
				  const char *body, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **req_cls)
{
	struct agent *a = cls;
	struct metrics_conn *c;
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *text;
	size_t len;
	int err;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	c = conn_of(conn);
	if (c) {
		c->answering = true;
		c->deadline_ms = mono_ms() + METRICS_REPLY_MS;
	}
	/* answered at the first call: a body, if any, is never read */
	if (strcmp(method, MHD_HTTP_METHOD_GET))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "method not allowed: only GET " METRICS_PATH "\n", "GET");
	if (strcmp(url, METRICS_PATH))
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found: try " METRICS_PATH "\n",
				  NULL);
	err = render(a, &text, &len);
	if (err) {
		pr_warn("metrics: render page: %s\n", strerror(-err));
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "internal error rendering metrics\n", NULL);
	}
	r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CONTENT_TYPE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* MHD's messages are about single clients (resets, limits): debug level. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];

	(void)cls;
	if (xsl_log_level < XSL_LOG_DEBUG)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	pr_debug("metrics: %s%s", buf, buf[0] && buf[strlen(buf) - 1] == '\n' ? "" : "\n");
}

/* A listening socket for spec (ADDR:PORT, [ADDR6]:PORT, *:PORT). We bind it
 * ourselves so a failure names the address and the errno. */
static int listen_on(const char *spec, bool *v6)
{
	char host[INET6_ADDRSTRLEN];
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	const char *why = "";
	unsigned int port;
	int fd, err, one = 1;

	if (cli_parse_addrport(spec, host, sizeof(host), &port, &why)) {
		pr_err("metrics: bad --metrics '%s': %s (ADDR:PORT, [ADDR6]:PORT or none)\n",
		       spec, why);
		return -EINVAL;
	}
	*v6 = inet_pton(AF_INET6, host, &s6.sin6_addr) == 1;
	if (!*v6)
		inet_pton(AF_INET, host, &s4.sin_addr);
	s6.sin6_port = s4.sin_port = htons((uint16_t)port);

	fd = socket(*v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		pr_err("metrics: socket for %s: %s\n", spec, strerror(-err));
		return err;
	}
	/* a restarted agent rebinds while old connections sit in TIME_WAIT */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if ((*v6 ? bind(fd, (struct sockaddr *)&s6, sizeof(s6))
		 : bind(fd, (struct sockaddr *)&s4, sizeof(s4))) ||
	    listen(fd, METRICS_BACKLOG)) {
		err = -errno;
		pr_err("metrics: cannot listen on %s: %s\n", spec, strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

int metrics__start(struct agent *a)
{
	const union MHD_DaemonInfo *info;
	struct metrics_server *m;
	bool v6 = false;
	int fd, err;

	a->metrics = NULL;
	if (!a->o.metrics || !strcmp(a->o.metrics, "none")) {
		pr_info("metrics: disabled\n");
		return 0;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	fd = listen_on(a->o.metrics, &v6);
	if (fd < 0) {
		free(m);
		return fd;
	}
	/*
	 * On failure the fd is left alone: MHD may have closed it already,
	 * and the agent exits anyway. MHD's per-IP limit stays off: ours
	 * (conn_started) makes room instead of refusing.
	 */
	m->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0), 0,
				NULL, NULL, on_request, a, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
				NULL, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned int)METRICS_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT,
				(unsigned int)METRICS_MHD_CONNS, MHD_OPTION_NOTIFY_CONNECTION,
				on_connection, m, MHD_OPTION_NOTIFY_COMPLETED, on_completed, m,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_MEMORY_LIMIT,
				MHD_OPTION_END);
	if (!m->d) {
		pr_err("metrics: cannot start the HTTP server on %s\n", a->o.metrics);
		free(m);
		return -EIO;
	}
	info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD);
	err = info ? agent__epoll_add(a, info->epoll_fd, TAG_METRICS, 0) : -EIO;
	if (err) {
		pr_err("metrics: add the HTTP server to the event loop: %s\n", strerror(-err));
		MHD_stop_daemon(m->d);
		free(m);
		return err;
	}
	a->metrics = m;
	pr_info("metrics: serving http://%s%s\n", a->o.metrics, METRICS_PATH);
	return 0;
}

void metrics__run(struct agent *a)
{
	struct metrics_server *m = a->metrics;
	MHD_UNSIGNED_LONG_LONG ms;

	if (!m)
		return;
	enforce_deadlines(m);
	/*
	 * MHD keeps connections that still have work in a list of its own, and
	 * then its epoll fd need not be readable: run again while it says it
	 * has work now. Bounded, so a busy client cannot hold the loop; the
	 * timer tick picks up the rest.
	 */
	for (int i = 0; i < METRICS_RUNS; i++) {
		MHD_run(m->d);
		if (MHD_get_timeout(m->d, &ms) != MHD_YES || ms > 0)
			break;
	}
}

void metrics__stop(struct agent *a)
{
	struct metrics_server *m = a->metrics;

	if (m) {
		MHD_stop_daemon(m->d);
		free(m);
	}
	a->metrics = NULL;
}
