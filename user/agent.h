/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The agent's state, shared by the agent_*.c files. One thread: an epoll loop
 * over the ring buffer, the control socket and its clients, one pidfd per
 * worker process, a signalfd, a timerfd (reconcile, GC) and the metrics
 * server. The registry is the truth for apps/workers/listeners; the mirror
 * writes each change into the maps as it happens.
 */
#ifndef XSL_AGENT_H
#define XSL_AGENT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "instance.h"
#include "lathist.h"
#include "maps.h"
#include "mirror.h"
#include "registry.h"
#include "sched_opt.h"

struct ring_buffer;
struct xsl_hooks;
struct json_t;

/* Control socket limits (agent_ctl.c): slots, the last few kept for root,
 * a share per non-root uid; a request line; replies waiting to be read (a
 * client is not read from above OUT_HIGH; one reply and all together are
 * bounded); requests handled per client per loop turn. */
#define AGENT_MAX_CLIENTS	64
#define AGENT_ROOT_CLIENTS	4
#define AGENT_UID_CLIENTS	16
#define AGENT_MAX_LINE		(64 * 1024)
#define AGENT_OUT_HIGH		(256 * 1024)
#define AGENT_MAX_REPLY		(4 * 1024 * 1024)
#define AGENT_OUT_TOTAL		(8 * 1024 * 1024)
#define AGENT_CLIENT_BURST	16
#define AGENT_CLIENT_SLICE_US	1000	/* ... or fewer once this much time is used */
#define AGENT_CLIENT_IDLE_S	30	/* default of --client-idle-s */
#define AGENT_MAX_LIST		16384	/* sessions in one show.sessions reply */
#define AGENT_MAX_SOCKS		(XSL_MAX_WORKERS * 4)

enum reg_cause { CAUSE_FORK, CAUSE_JOIN, CAUSE_API, CAUSE_RECONCILE, CAUSE__MAX };
enum detach_cause { DETACH_EXIT, DETACH_API, DETACH_RECONCILE, DETACH__MAX };

struct agent_opts {
	const char *pin_root;
	const char *socket_path;
	const char *metrics;
	const char *cgroup_root;	/* NULL: <cgroup2 mount>/xsl */
	bool reset;
	unsigned int reconcile_ms;
	unsigned int gc_ms;
	unsigned int max_sessions;	/* sizes of maps this agent creates; 0: default */
	unsigned int ringbuf_bytes;
	unsigned int client_idle_s;	/* drop a control client without a request this long */
	bool sched_set;			/* --sched given: sched, else the policy inherited */
	struct sched_opt sched;
};

/* A worker's socket for a listener, as inserted into xsl_wsocks. */
struct agent_sock {
	uint64_t cookie;		/* 0: free */
	uint32_t listener;
	uint32_t worker;
};

struct agent_client {
	int fd;				/* -1: free */
	int pidfd;			/* the peer process as it connected, -1: none */
	uint32_t pid, uid;		/* SO_PEERCRED at connect */
	char *in;			/* AGENT_MAX_LINE + 1 bytes */
	size_t in_len;
	char *out;
	size_t out_len, out_off;
	uint64_t active_ns;		/* connect or last complete request (monotonic) */
	uint32_t events;		/* the epoll interest set now */
	bool ready;			/* a complete request line is buffered */
	bool closing;			/* read no more; close once answered and flushed */
	bool deaf;			/* the peer is gone: replies are discarded */
};

#define AGENT_MAX_LEFT 64

/* agent_inst.c: one live instance of an app as the agent drives it (the
 * registry has its number, workers and mark). */
struct agent_inst {
	uint16_t num;			/* 0: free */
	uint8_t phase;			/* enum inst_phase */
	bool own_dir;			/* <app cgroup>/i<num> is the agent's */
	bool fresh;			/* started for a join still under way */
	struct inst_replace_opts opts;	/* how it is started (ready) and stopped */
	uint64_t deadline_ns;		/* of its phase (monotonic) */
	uint64_t takeover_ns;		/* when a newer instance took over, 0: none */
	uint64_t drain_gc;		/* complete GC passes when its drain began */
	uint32_t first_pid;		/* its first process (gets the stop signal) */
	uint64_t first_start_ns;
	uint64_t born_ns;		/* first seen by this agent (monotonic) */
};

/* How the app's last `run --replace` went (instance.status). */
enum replace_result { REPLACE_NONE, REPLACE_PENDING, REPLACE_SERVING, REPLACE_ABORTED };
enum restart_result { RESTART_REPLACED, RESTART_ABORTED, RESTART__MAX };

/* Per-app agent-side facts the registry does not keep. */
struct agent_app {
	/* processes (pid + start time) that detached themselves while staying
	 * in the cgroup: reconcile and join events must not make them workers
	 * again; a later process with the same pid is not one of them */
	struct proc_id left[AGENT_MAX_LEFT];
	unsigned int n_left;
	/* a fork, exit or socket event since the last attribution pass
	 * (monotonic ns of the latest; 0: nothing pending) */
	uint64_t attr_dirty_ns;
	char cgroup[PATH_MAX];		/* the app's cgroup directory */
	int cgroup_fd;
	bool own_cgroup;		/* made by us: removed with the app */
	uint64_t registrations[CAUSE__MAX];
	uint64_t gc_rehomed;		/* its sessions the GC re-homed (reassigned) */
	uint64_t detaches[DETACH__MAX];
	uint64_t sessions;		/* from the last GC pass */
	uint64_t expired[3];		/* idle, closed, app gone */
	struct agent_inst inst[XSL_REG_MAX_INSTANCES];
	struct {
		uint16_t num;		/* its new instance, 0: none yet */
		uint8_t result;		/* enum replace_result */
		char reason[256];	/* REPLACE_ABORTED: why */
	} replace;
	uint64_t restarts[RESTART__MAX];	/* xsl_restarts_total */
	/* when the instance in each slot of reg_app.inst[] started
	 * (CLOCK_BOOTTIME ns, as process start times), and which instance
	 * number that was: a slot reused by a newer instance starts again
	 * (agent_instview.c) */
	struct {
		uint16_t num;
		uint64_t start_ns;
	} inst_start[XSL_REG_MAX_INSTANCES];
};

/* Why a socket was refused as a listener (xsl_sockets_refused_total). */
enum sock_refusal { REFUSED_NETNS, REFUSED_QUOTA, REFUSED_TABLE_FULL, REFUSED__MAX };

#define AGENT_MAX_REFUSED	256

/* agent_socks.c: which sockets may become listeners, and those refused. */
struct agent_sockpol {
	uint64_t netns_cookie;		/* the agent's network namespace, 0: not read yet */
	uint16_t eph_lo, eph_hi;	/* ip_local_port_range as last read */
	uint64_t eph_read_ns;
	/* sockets refused lately: each is counted and logged once */
	struct {
		uint64_t cookie;
		uint32_t reason;
	} refused[AGENT_MAX_REFUSED];
	unsigned int refused_next;
	uint64_t refused_total[REFUSED__MAX];
	/* apps with a socket refused for lack of room (quota, full table):
	 * they are attributed again once there is room */
	bool wants_room[XSL_MAX_APPS];
	unsigned int n_wants_room;
};

/* The parts of a fork's registration latency (xsl_fork_stage_seconds). */
enum fork_stage { FORK_STAGE_WAKE, FORK_STAGE_QUEUE, FORK_STAGE_HANDLE, FORK_STAGE__MAX };

struct agent_counters {
	uint64_t events[8];		/* by enum xsl_event_type */
	uint64_t events_lost_seen;	/* kernel-side EVENTS_LOST at last read */
	uint64_t reconcile_runs;
	uint64_t gc_runs;
	uint64_t gc_rehomed;		/* sessions of gone workers re-homed by GC */
	uint64_t ctl_requests, ctl_errors, ctl_bad;
	uint64_t sock_attach_fail;
	/* from a FORK event's kernel timestamp to the worker registered (or
	 * found gone already), and from an EXIT event's to the detach */
	struct lathist fork_lat, exit_lat;
	/* fork_lat in parts (agent_events.c): kernel timestamp -> the loop
	 * awake, awake -> the event's turn, its handling */
	struct lathist fork_stage[FORK_STAGE__MAX];
	uint64_t sched_demotions;	/* real-time agent dropped by its watchdog */
};

struct agent {
	struct agent_opts o;
	struct xsl_registry *reg;
	struct xsl_maps maps;
	struct xsl_mirror mirror;
	struct xsl_hooks *hooks;
	struct ring_buffer *rb;
	int epfd, sigfd, timerfd, ctl_fd;
	char cgroup2[PATH_MAX];
	char cgroup_root[PATH_MAX];
	uint64_t start_time;		/* unix seconds */
	bool exiting;
	uint64_t woke_ns;		/* when the loop's epoll_wait last returned */
	/* agent_sched.c: running real-time (--sched); when its watchdog last
	 * dropped it to SCHED_OTHER, 0: not dropped */
	bool sched_rt;
	uint64_t sched_demoted_ns;
	/* time since the last reconcile and GC passes, in timer ticks' ms */
	unsigned int since_reconcile_ms, since_gc_ms;
	struct agent_app apps[XSL_MAX_APPS];
	/* processes: reg->procs (proctab.h), whose entries hold the pidfds */
	struct agent_sock socks[AGENT_MAX_SOCKS];
	bool listener_static[XSL_MAX_LISTENERS];	/* made by `xslctl listen` */
	struct agent_client clients[AGENT_MAX_CLIENTS];
	struct {
		size_t out_total;	/* reply bytes waiting in all clients */
		uint64_t refused, dropped, warned_ns;
	} ctl;
	struct agent_counters c;
	struct agent_sockpol sockpol;
	struct socks_pass *pass;	/* agent_socks.c: the attribution pass's buffers */
	/* interfaces of the agent's netns where xsl's XDP program runs, as
	 * last seen; one that loses it behind the agent's back is reported */
	struct {
		char name[16];
		unsigned int ifindex;
	} xdp_devs[32];
	unsigned int n_xdp_devs;
	uint64_t xdp_lost;		/* detached by someone else */
	/* app cgroups to remove once their last exiting task has left them */
	struct {
		char path[PATH_MAX];
		unsigned int tries;
	} rmdirs[8];
	struct xsl_gc_state *gc;
	/* the app room's clean-up of an app the registry freed (agent_apps.c
	 * sets it; agent_procs.c calls it after a detach freed the app) */
	void (*on_app_freed)(struct agent *a, uint32_t app);
	void *metrics;			/* struct metrics_server * (agent_metrics.c) */
	struct drainhist drain_hist;	/* xsl_drain_seconds */
};

/* epoll tags: the high 32 bits say what, the low 32 bits which one. */
enum agent_tag {
	TAG_RINGBUF = 1, TAG_CTL, TAG_CLIENT, TAG_PIDFD, TAG_SIGNAL, TAG_TIMER, TAG_METRICS,
};
#define AGENT_EV(tag, idx) (((uint64_t)(tag) << 32) | (uint32_t)(idx))

/* agent_sched.c: --sched applied once started, and its watchdog's tick */
void agent__sched_start(struct agent *a);
void agent__sched_tick(struct agent *a);

/* agent_epoll.c */
int agent__epoll_add(struct agent *a, int fd, enum agent_tag tag, uint32_t idx);
/* Handles the process events queued now (ring buffer): a long pass calls
 * it between steps that hold no state an event could change, so a fork or
 * exit waits for one step, not the whole pass. */
void agent__events_drain(struct agent *a);

/* agent_lookup.c: the process table's answers (no syscalls) */
/* The live app's handle gen, or 0 (never a live app's gen). */
uint32_t procs__app_gen(const struct agent *a, uint32_t app);
/* The worker pid owns in live app (the process table's one lookup). */
int procs__worker_of(const struct agent *a, uint32_t app, uint32_t pid, uint32_t *worker);
/* The pidfd held on pid (a worker process), or -1. */
int procs__pidfd(const struct agent *a, uint32_t pid);

/* agent_procs.c: processes, registration and cleanup */
/* pids of a cgroup tree, sorted; the caller frees pids */
struct pid_set {
	uint32_t *pids;
	unsigned int n, cap;
};
/* The process table's pidfd release (closes it); call once at start. */
void procs__init(struct agent *a);
/* Closes every pidfd the process table holds (agent exit). */
void procs__close_all(struct agent *a);
int procs__start_time(uint32_t pid, uint64_t *start_ns);
/* Start time and whether the process is already exiting (exiting may be
 * NULL): a process whose leader exited while other threads run is not. */
int procs__stat(uint32_t pid, uint64_t *start_ns, bool *exiting);
/* A kernel start_boottime (ns) in procs__stat's units (whole clock ticks). */
uint64_t procs__event_start(uint64_t start_boottime_ns);
/* EXIT of the process (pid, start, ino) in app: detaches its workers if the
 * table has exactly that process there; event_ts_ns: the event's kernel
 * timestamp (exit -> detach latency). */
int procs__exited(struct agent *a, uint32_t app, uint32_t pid, uint64_t start_ns, uint64_t ino,
		  uint64_t event_ts_ns);
/* start_ns (procs__stat units) and ino (pidfs inode): the process the caller
 * means, 0 if any with that pid (-ESRCH when it is gone or pid now names
 * another). -EEXIST when it is a worker of app already (*worker set). A
 * process tracked in another app has left it (moved into this app's cgroup):
 * its workers there are detached first. */
int procs__register(struct agent *a, uint32_t app, uint32_t pid, uint64_t start_ns,
		    enum reg_cause cause, uint64_t event_ts_ns, uint32_t *worker);
/* ppid: a FORK's parent (its instance is the child's), 0 otherwise. */
int procs__register_proc(struct agent *a, uint32_t app, uint32_t pid, uint64_t start_ns,
			 uint64_t ino, uint32_t ppid, enum reg_cause cause, uint64_t event_ts_ns,
			 uint32_t *worker);
/* Detaches pid's workers of app (all of them for pid 0: frees the app). */
int procs__detach(struct agent *a, uint32_t app, uint32_t pid, enum detach_cause cause);
void procs__pidfd_ready(struct agent *a, uint32_t idx);
int procs__reconcile(struct agent *a);
/* The pids in the cgroup tree at cgroup (s->pids grown as needed). */
int procs__cgroup_pids(const char *cgroup, struct pid_set *s);

/* agent_steer.c: pins a worker of a --cpu-steer app to its CPU */
void steer__worker(struct agent *a, uint32_t app, uint32_t worker);

/* agent_rmdir.c: cgroup directories the agent removes */
/* Removes the cgroup directory path now, or on the next ticks while an
 * exiting task still holds it; what names it in a warning. */
void rmdirs__remove(struct agent *a, const char *path, const char *what);
/* Retries the queued removals (an exiting task stays a moment). */
void rmdirs__retry(struct agent *a);
/* Takes path off the queue (made again by the agent): true if it was on it. */
bool rmdirs__cancel(struct agent *a, const char *path);

/* agent_apps.c: app lifecycle (cgroups, attach, detach, removal) */
/* Sets a->on_app_freed; call once at start. */
void apps__init(struct agent *a);
/* why (why_len bytes) says what failed, with which object */
int apps__attach(struct agent *a, const char *name, const char *cgroup,
		 const struct xsl_app_opts *opts, uint32_t *app, char *why, size_t why_len);
int apps__detach(struct agent *a, uint32_t app);

/* agent_inst.c: app instances (graceful restart), see instance.h */
/* The instance a process started for app by `run` (or a root app.join)
 * goes into: a new one (replace, when the app has one already; -EBUSY while
 * another replace is starting), else the current one (made when there is
 * none). Its cgroup <app cgroup>/i<N> is made. *replacing: a new instance
 * replaces others. */
int inst__prepare(struct agent *a, uint32_t app, bool replace, uint16_t *inst, bool *replacing,
		  char *why, size_t why_len);
/* Moves pid into instance inst's cgroup. */
int inst__move(struct agent *a, uint32_t app, uint16_t inst, uint32_t pid);
/* The process of a prepared instance is registered: a replacing instance
 * starts its ready timer (o: the replace options). */
void inst__started(struct agent *a, uint32_t app, uint16_t inst, bool replacing,
		   const struct inst_replace_opts *o);
/* A prepared instance that got no process is given up (freed if empty). */
void inst__abandon(struct agent *a, uint32_t app, uint16_t inst);
/* The instance a process registering in app belongs to: its parent's
 * (ppid, a worker of app; 0: unknown), else its cgroup's; 0: the current. */
uint16_t inst__of_process(struct agent *a, uint32_t app, uint32_t pid, uint32_t ppid);
/* A worker was registered: the first one of its instance is its first
 * process. */
void inst__worker_added(struct agent *a, uint32_t app, uint32_t worker);
/* Readiness, drains, stop signals and kills due now; freed instances'
 * cgroups removed. Each timer tick. */
void inst__tick(struct agent *a);
/* Acts on a takeover at once (each loop turn). */
void inst__settle(struct agent *a);
/* app is freed: its instance cgroups go (before the app's own). */
void inst__app_freed(struct agent *a, uint32_t app);
/* After a restart: the instances' cgroups and timers from the registry
 * (drains and stops continue with fresh timers, see docs/protocol.md). */
void inst__recover(struct agent *a);
/* The instance's state name: starting, serving, draining, stopping; gone. */
const char *inst__state_name(struct agent *a, uint32_t app, uint16_t inst);
/* The agent's record of live instance inst (first pid, age), or NULL. */
const struct agent_inst *inst__get(struct agent *a, uint32_t app, uint16_t inst);

/* agent_socks.c: listener sockets of worker processes */
int socks__init(struct agent *a);
void socks__free(struct agent *a);
int socks__bound(struct agent *a, uint32_t app, uint32_t pid, uint64_t cookie,
		 const struct xsl_listener_key *key);
int socks__released(struct agent *a, uint64_t cookie);
void socks__worker_gone(struct agent *a, uint32_t worker);
int socks__scan_process(struct agent *a, uint32_t app, uint32_t pid);
int socks__count(const struct agent *a, uint32_t listener);
/* Workers served by the socket worker has for listener (1: its own, N > 1:
 * one socket shared by N holders, 0: none); *cookie (may be NULL): its cookie. */
int socks__sharers(const struct agent *a, uint32_t listener, uint32_t worker, uint64_t *cookie);
/* Something changed who holds which socket in app: attribute again soon. */
void socks__dirty(struct agent *a, uint32_t app);
/* Runs the attribution pass of every app whose changes have settled. */
void socks__settle(struct agent *a);
/* Re-attributes app's listener sockets to the processes holding them. */
int socks__attribute(struct agent *a, uint32_t app);

/* agent_xdp.c: which interfaces run xsl's XDP program */
void xdp__scan(struct agent *a);
/* The agent itself attached or detached XDP on ifname: not a surprise. */
void xdp__note(struct agent *a, const char *ifname, bool attached);

/* agent_events.c */
int events__handle(void *ctx, void *data, size_t len);

/* agent_ctl.c: control socket */
int ctl__open(struct agent *a);
void ctl__accept(struct agent *a);
void ctl__client_io(struct agent *a, uint32_t idx, uint32_t events);
/* Are requests buffered that ctl__serve() would handle now? */
bool ctl__pending(const struct agent *a);
/* Handles up to AGENT_CLIENT_BURST buffered requests of each client: once
 * per loop turn, after the turn's events. */
void ctl__serve(struct agent *a);
/* Drops clients idle longer than --client-idle-s. */
void ctl__tick(struct agent *a);
void ctl__close(struct agent *a);

/* agent_peer.c: 0 when the peer process that connected is still alive (its
 * pid is still its own), -ESRCH once it has exited. */
int peer__alive(const struct agent_client *cl);

/* agent_cmds.c: one request -> one reply (a new json_t, never NULL) */
struct json_t *cmds__dispatch(struct agent *a, const struct agent_client *cl,
			      struct json_t *req);

/* agent_gc.c: session expiry (in bounded steps per tick) and per-app and
 * per-worker session counts from the last complete pass */
int gc__init(struct agent *a);
void gc__tick(struct agent *a);
/* A pass is in progress: the next timer tick goes on with it. */
bool gc__busy(const struct agent *a);
void gc__free(struct agent *a);
/* Deletes every session of app now. */
int gc__flush_app(struct agent *a, uint32_t app);
uint64_t gc__worker_sessions(const struct agent *a, uint32_t worker);
/* Appends up to limit sessions (of app, or all with XSL_NO_APP) to arr;
 * *total counts all that match. */
int gc__list_sessions(struct agent *a, uint32_t app, uint32_t limit, struct json_t *arr,
		      uint64_t *total);

/* agent_instview.c: instances as shown (show.instances, metrics; agent_inst.c
 * drives them) */
struct inst_view;
/* Records the start time of every instance not seen before: when it was
 * first seen, or its oldest process's start time if earlier (an agent
 * restart keeps the ages). Each timer tick. */
void iview__tick(struct agent *a);
/* instview__list() of app with the last GC pass's session counts, its
 * start times recorded first. */
int iview__list(struct agent *a, uint32_t app, struct inst_view *out);
/* Whole seconds since v's instance of app started. */
uint64_t iview__age_s(const struct agent *a, uint32_t app, const struct inst_view *v);

/* agent_stats.c: the data path's per-CPU counters summed over CPUs */
struct xsl_stats;
int agent__read_stats(struct agent *a, struct xsl_stats *sum);
struct xsl_app_stats;
struct xsl_worker_stats;
/* Packets and bytes delivered to each app (agent__app_delivered()). */
struct agent_delivered {
	uint64_t packets[XSL_MAX_APPS];
	uint64_t bytes[XSL_MAX_APPS];
};
/* One app's data-path counters (xsl_app_stats), its packets and bytes taken
 * from d, which one agent__app_delivered() serves for every app of a reply. */
int agent__app_stats(struct agent *a, uint32_t app, const struct agent_delivered *d,
		     struct xsl_app_stats *sum);
/* One worker's data-path counters (xsl_wrk_stats). */
int agent__worker_stats(struct agent *a, uint32_t worker, struct xsl_worker_stats *sum);
/* Sums entries 0..n-1 of the per-CPU array map fd over the CPUs with one
 * batch lookup: out[k * nf + f] is u64 field f of entry k. */
int agent__percpu_sums(int fd, uint32_t n, size_t nf, uint64_t *out);
/* Packets and bytes delivered to each app: its retired totals plus the
 * counters of each worker index whose xsl_workers record names it
 * (records.h, xsl_app_stats). Reads every worker's counters: once per reply
 * or page, not once per app. */
int agent__app_delivered(struct agent *a, struct agent_delivered *d);

#endif /* XSL_AGENT_H */
