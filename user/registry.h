/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The app/worker registry: the VPP session layer's "apps with process
 * workers" rules, in pure C with no syscalls, so cmocka can test them and the
 * agent can mirror every change into the BPF maps.
 *
 * - An app has an index, a cached name, a creator process (0: attached by
 *   an operator), a cgroup id, a policy, workers and listeners.
 * - Attaching with a creator makes worker 0 for the creator and a
 *   process -> app entry for it. An operator attach makes no worker.
 * - worker add for a process other than the creator records the process on
 *   the worker and adds a process -> app entry.
 * - detach process P removes only P's workers; P == 0 frees the whole app;
 *   a P without workers in the app is -ENOENT ("no workers for app A pid P").
 * - worker delete drops the process -> app entry unless it is the creator's
 *   (or the process still has another worker there), frees the worker, and
 *   frees the app (its listeners, its entries) when no worker is left.
 * - Indexes are reused (lowest free first); each allocation bumps the slot's
 *   gen (never 0).
 * - A pid has at most one process -> app entry: adding a worker (or
 *   attaching with a creator) for a pid that belongs to another app is
 *   -EEXIST. pid 0 on worker add makes a worker with no process (no entry).
 *   The entries are the process table (proctab.h): each records the
 *   process's start time, its app's handle (index + gen) and its worker.
 * - App names: 1..XSL_APP_NAME_LEN-1 characters of [A-Za-z0-9_.-], not
 *   starting with '.' or '-' (they name a cgroup directory); unique.
 *   A non-zero cgroup id belongs to at most one app (-EEXIST).
 *
 * - Instances (graceful restart): an app's instances are numbered from 1,
 *   never reused (1..65535; -EOVERFLOW after that). Attach starts instance 1.
 *   Each worker belongs to one instance. worker add puts it in the app's
 *   current instance: the newest one not marked draining or stopping (when
 *   there is none, a new instance is started for it); worker add to puts it
 *   in a given live instance. instance start makes a new instance, which
 *   becomes the current one. An instance serves a listener when one of its
 *   workers serves it. The instance that takes new sessions: walking the
 *   instances not marked draining/stopping from the oldest, the newest one
 *   that serves every listener the one taking them before it serves; until
 *   a newer one does, the older keeps taking them (computed from the state
 *   at each call, not latched: an unmarked older instance takes them back
 *   when the newer one stops serving one of its listeners). Marks only go forward:
 *   draining, then stopping. An instance is freed when its last worker goes,
 *   or when it is marked while it has no worker. At most
 *   XSL_REG_MAX_INSTANCES are live per app, all within 255 of the last
 *   number given out (the worker record keeps only the low 8 bits).
 * - Slot tables (the data path): a listener's table holds only the serving
 *   workers of one instance, the listener's table instance: the instance
 *   taking new sessions when it serves the listener, else the newest
 *   unmarked instance that serves it (a listener only a starting instance
 *   has), else none (an empty table: new flows are dropped). Workers of
 *   other instances keep serving (their sockets stay registered, their
 *   sessions stay with them) without a slot. While the table instance stays
 *   the same, a worker of it joining or leaving moves slots minimally
 *   (table__add / table__del); a worker of another instance joining or
 *   leaving moves none. When it changes (the taking instance changes, or
 *   stops serving the listener), the table is built anew from the new
 *   instance's serving workers (table__build). Sessions of an exited worker
 *   re-home through the table (policy reassign), so to the taking instance.
 * - Freeing apps: an app attached with XSL_APP_F_HELD (an operator's
 *   explicit attach) stays with no instance and no worker until detached;
 *   any other app is freed when its last instance is (with its last worker,
 *   as before instances).
 *
 * - Listeners: an app has at most max_app_listeners of them (default
 *   XSL_MAX_APP_LISTENERS), so that one app cannot fill the table that all
 *   apps share; one more is -EDQUOT.
 *
 * All functions return 0 or a negative errno: -ENOSPC at a capacity limit,
 * -ENOENT for unknown names/indexes/processes, -EEXIST for duplicates,
 * -EINVAL for bad arguments. registry__error() describes the last failure.
 */
#ifndef XSL_REGISTRY_H
#define XSL_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xsl/limits.h"
#include "xsl/flow.h"
#include "xsl/records.h"
#include "proctab.h"
#include "table.h"

#define XSL_REG_WORKER_WORDS (XSL_MAX_WORKERS / 64)

/* Live instances of one app at a time (old ones draining, a new one). */
#define XSL_REG_MAX_INSTANCES	8
#define XSL_REG_MAX_INSTANCE	65535

enum xsl_inst_state {
	XSL_INST_STARTING = 0,		/* newer than the one taking new sessions */
	XSL_INST_SERVING,		/* takes new sessions, or older and not marked */
	XSL_INST_DRAINING,		/* marked: no new sessions, old ones stay */
	XSL_INST_STOPPING,		/* marked: being stopped */
};

struct reg_instance {
	uint16_t num;			/* 0: free slot */
	uint8_t mark;			/* XSL_INST_SERVING (none), DRAINING, STOPPING */
	uint32_t n_workers;
};

struct reg_app {
	uint32_t gen;
	bool live;
	char name[XSL_APP_NAME_LEN];
	uint32_t creator_pid;		/* 0: operator */
	uint64_t cgroup_id;
	uint8_t policy;			/* enum xsl_policy */
	uint8_t flags;			/* XSL_APP_F_* */
	uint32_t idle_timeout_s;
	uint32_t n_workers;
	uint32_t n_listeners;
	uint16_t last_instance;		/* last instance number given out */
	struct reg_instance inst[XSL_REG_MAX_INSTANCES];
	/* next wrk_map_index is the lowest free one (as VPP's pool) */
	uint64_t map_index_used[XSL_REG_WORKER_WORDS];
};

struct reg_worker {
	uint32_t gen;
	bool live;
	uint32_t app;
	uint32_t map_index;
	uint32_t pid;
	uint64_t start_time_ns;
	int32_t cpu;			/* CPU its packets are steered to, -1: none */
	uint16_t instance;		/* number of its app's instance */
};

struct reg_listener {
	uint32_t gen;
	bool live;
	uint32_t app;
	struct xsl_listener_key key;
	uint32_t flags;			/* XSL_LISTENER_F_* */
	uint32_t n_workers;
	uint64_t serving[XSL_REG_WORKER_WORDS];	/* bitmap of worker indexes */
	/* serving workers of each of its app's instance slots (reg_app.inst[]) */
	uint16_t inst_serving[XSL_REG_MAX_INSTANCES];
	/* the serving workers of instance table_inst (0: none, empty) */
	uint16_t table_inst;
	struct xsl_table table;
};

struct xsl_app_opts {
	/* flags: XSL_APP_F_HELD for an operator's explicit attach */
	uint32_t creator_pid;		/* 0: operator attach, no worker made */
	uint64_t cgroup_id;
	uint8_t policy;
	uint8_t flags;
	uint32_t idle_timeout_s;	/* 0: XSL_DEFAULT_IDLE_S */
	uint64_t creator_start_time_ns;	/* recorded on worker 0 */
};

/*
 * Optional change hooks, so the agent can mirror the registry into the maps.
 * They are called in a data-path-safe order: a new worker before any table
 * names it; a table no longer naming a worker before that worker is freed; an
 * app's workers and listeners before the app is freed.
 *
 * Exactly, for each operation:
 * - attach: app_changed(app), then (with a creator) worker_changed(worker 0).
 * - worker add: worker_changed(worker); when it is its instance's first
 *   worker (a new instance made for it, or a fresh one), app_changed(app)
 *   first (the app record names the newest instance with no worker).
 * - instance start / mark: app_changed(app); a mark that frees the app's
 *   last instance frees the app as below.
 * - worker delete / detach process: for each listener it served,
 *   listener_changed(l) (the table no longer names it); then
 *   worker_changed(worker); when that frees its instance, app_changed(app),
 *   or, when it frees the app, the app free below instead.
 * - app free (operator detach or last worker): listener_changed for each of
 *   its listeners (freed), worker_changed for each remaining worker (freed),
 *   app_changed(app) last.
 * - listener add / del / add_worker / del_worker: listener_changed(l).
 * - Besides, whenever an operation changes the table instance of listeners
 *   (the taking instance changed, see the slot table rule), each such
 *   listener gets listener_changed(l) with its rebuilt table: during a
 *   worker's removal before its worker_changed; after a listener's own
 *   listener_changed; after app_changed for start/mark.
 * A hook sees the registry already changed. For a freed object the
 * registry__app/worker/listener getters return NULL; the raw record
 * (r->apps[i] etc.) still holds its index and the gen it had, live false.
 */
struct xsl_registry_hooks {
	void *ctx;
	void (*app_changed)(void *ctx, uint32_t app);
	void (*worker_changed)(void *ctx, uint32_t worker);
	void (*listener_changed)(void *ctx, uint32_t listener);
};

struct xsl_registry {
	struct xsl_registry_hooks hooks;
	struct reg_app apps[XSL_MAX_APPS];
	struct reg_worker workers[XSL_MAX_WORKERS];
	struct reg_listener listeners[XSL_MAX_LISTENERS];
	/* the process -> app entries: the process table (proctab.h), whose
	 * entries come and go with the workers of their process */
	struct proctab procs;
	uint32_t max_app_listeners;	/* per-app listener quota */
	char err[160];
};

/* Allocate an empty registry (it is large); NULL with errno set on failure. */
struct xsl_registry *registry__new(void);
void registry__free(struct xsl_registry *r);
const char *registry__error(const struct xsl_registry *r);
/* 0 when name is a valid app name (1..XSL_APP_NAME_LEN-1 of A-Za-z0-9_.-,
 * not starting with '.' or '-'); else -EINVAL and why says what is wrong. */
int registry__check_name(const char *name, char *why, size_t len);

/* opts may be NULL (operator attach, defaults); app may be NULL. An unknown
 * policy is -EINVAL. */
int registry__attach_app(struct xsl_registry *r, const char *name,
			 const struct xsl_app_opts *opts, uint32_t *app);
int registry__app_by_name(const struct xsl_registry *r, const char *name, uint32_t *app);
/* Only live apps; -ENOENT otherwise. */
int registry__app_by_pid(const struct xsl_registry *r, uint32_t pid, uint32_t *app);
/* cgroup id 0 never matches. */
int registry__app_by_cgroup(const struct xsl_registry *r, uint64_t cgroup_id, uint32_t *app);
/* The live app a kernel event names: the app of cgroup_id, and when gen is
 * non-zero only if that app is still index app with that gen (the event was
 * not queued for an app since freed, whose index or cgroup was reused).
 * -ENOENT otherwise. */
int registry__app_of_event(const struct xsl_registry *r, uint64_t cgroup_id, uint32_t app,
			   uint32_t gen, uint32_t *out);
/* The getters return NULL for an index out of range or not live. */
const struct reg_app *registry__app(const struct xsl_registry *r, uint32_t app);
const char *registry__app_name(const struct xsl_registry *r, uint32_t app);

/* worker may be NULL. */
int registry__worker_add(struct xsl_registry *r, uint32_t app, uint32_t pid,
			 uint64_t start_time_ns, uint32_t *worker);
int registry__worker_del(struct xsl_registry *r, uint32_t worker);
const struct reg_worker *registry__worker(const struct xsl_registry *r, uint32_t worker);
/* The CPU a worker's packets are steered to (-1: none); calls worker_changed. */
int registry__worker_set_cpu(struct xsl_registry *r, uint32_t worker, int32_t cpu);
/* pid 0: operator detach, frees the app. */
int registry__detach_process(struct xsl_registry *r, uint32_t app, uint32_t pid);
int registry__detach_app(struct xsl_registry *r, uint32_t app);

/* Instances (see the rules above); inst is an instance number. */
/* worker add into a live instance of app (-ENOENT when there is none). */
int registry__worker_add_to(struct xsl_registry *r, uint32_t app, uint16_t inst, uint32_t pid,
			    uint64_t start_time_ns, uint32_t *worker);
/* A new instance, the app's current one from now on; inst may be NULL.
 * -ENOSPC with XSL_REG_MAX_INSTANCES live, -EOVERFLOW when all numbers were
 * given out, -EBUSY while an instance 255 or more older than it lives. */
int registry__instance_start(struct xsl_registry *r, uint32_t app, uint16_t *inst);
/* Marks an instance XSL_INST_DRAINING or XSL_INST_STOPPING; -EINVAL for
 * another state or a step back (stopping to draining); the same mark again
 * is 0. An instance with no worker is freed at once. */
int registry__instance_mark(struct xsl_registry *r, uint32_t app, uint16_t inst,
			    enum xsl_inst_state state);
/* The live instance, or NULL. */
const struct reg_instance *registry__instance(const struct xsl_registry *r, uint32_t app,
					      uint16_t inst);
/* The current instance (where worker add puts a worker); -ENOENT: none. */
int registry__instance_current(const struct xsl_registry *r, uint32_t app, uint16_t *inst);
/* The instance that takes new sessions; -ENOENT when none does. */
int registry__instance_taking(const struct xsl_registry *r, uint32_t app, uint16_t *inst);
/* The state of a live instance (enum xsl_inst_state); -ENOENT otherwise. */
int registry__instance_state(const struct xsl_registry *r, uint32_t app, uint16_t inst,
			     enum xsl_inst_state *state);
/* Whether one of the instance's workers serves listener. */
bool registry__instance_serves(const struct xsl_registry *r, uint32_t app, uint16_t inst,
			       uint32_t listener);
/* The instance whose workers listener's table should hold now (see the
 * slot table rule): 0 when none, or for a listener not live. */
uint16_t registry__table_instance(const struct xsl_registry *r, uint32_t listener);
/* Rebuilds the tables of app's listeners whose table instance changed since
 * they were last built (listener_changed for each); the registry does it
 * after every operation itself; after a restore, whose tables are kept as
 * the maps had them, the agent calls it once it has marked the instances
 * again (registry__restore_mark: one by one, registry__instance_mark could
 * hand the tables to an instance in between and back, which builds them
 * anew). -ENOENT for an app not live. */
int registry__sync_tables(struct xsl_registry *r, uint32_t app);

/* key: family XSL_AF_INET/INET6, proto TCP (6) or UDP (17), else -EINVAL;
 * -EEXIST when any app has that exact key; -EDQUOT when the app has its
 * quota of listeners; -ENOSPC when the table is full. listener may be
 * NULL. */
int registry__listener_add(struct xsl_registry *r, uint32_t app,
			   const struct xsl_listener_key *key, uint32_t *listener);
/* Sets a listener's XSL_LISTENER_F_* flags (calls listener_changed when
 * they change). XSL_LISTENER_F_DUAL needs a v6 wildcard key (-EINVAL). */
int registry__listener_set_flags(struct xsl_registry *r, uint32_t listener, uint32_t flags);
/* Whether app may add a listener now: 0, -EDQUOT or -ENOSPC. */
int registry__listener_room(const struct xsl_registry *r, uint32_t app);
int registry__listener_del(struct xsl_registry *r, uint32_t listener);
/* Exact key match (the wildcard fallback is the data path's job). */
int registry__listener_find(const struct xsl_registry *r, const struct xsl_listener_key *key,
			    uint32_t *listener);
const struct reg_listener *registry__listener(const struct xsl_registry *r, uint32_t listener);
/* Worker starts/stops serving a listener of its app; the table is updated
 * with minimal movement. -EEXIST / -ENOENT when already / not serving,
 * -EINVAL for a worker of another app. */
int registry__listener_add_worker(struct xsl_registry *r, uint32_t listener, uint32_t worker);
int registry__listener_del_worker(struct xsl_registry *r, uint32_t listener, uint32_t worker);

/*
 * Restore primitives: rebuilding a registry from the map records after an
 * agent restart (see restore.h, which drives them). Each puts one object at
 * an exact index with the exact gen it had, calls no hook (the maps hold it
 * already), checks the same rules as the normal calls and, when it fails,
 * changes nothing and says why in registry__error().
 */
enum xsl_reg_kind {
	XSL_REG_APP,
	XSL_REG_WORKER,
	XSL_REG_LISTENER,
};

/* A free slot keeps at least gen, so its next allocation gets a higher one
 * (a gen the data path may still hold is never handed out again). -EINVAL
 * for an index out of range, -EBUSY for a live slot. */
int registry__restore_gen(struct xsl_registry *r, enum xsl_reg_kind kind, uint32_t index,
			  uint32_t gen);
/* A LIVE xsl_apps record at its index: -EINVAL for a bad record (not LIVE,
 * gen 0, bad name, unknown policy), -EBUSY for a live slot, -EEXIST for a
 * name, cgroup id or creator pid already taken. The creator gets its
 * process entry; an idle timeout of 0 becomes XSL_DEFAULT_IDLE_S. The last
 * instance number is kept (0, a record from before instances: 1, and
 * instance 1 is made); a fresh instance (no worker yet) is made again. */
int registry__restore_app(struct xsl_registry *r, uint32_t app, const struct xsl_app *rec);
/* A LIVE xsl_workers record at its index: -ENOENT unless its app is live
 * with rec->app_gen; -EINVAL for a bad record (gen 0, map_index out of
 * range); -EEXIST for a map_index already used in the app or a pid of
 * another app. The process entry is made as by worker add. Its instance is
 * the one within 255 of the app's last number with the record's low 8 bits
 * (0: a record from before instances, instance 1), made when not live yet
 * (unmarked; -ENOSPC when the app has XSL_REG_MAX_INSTANCES). */
int registry__restore_worker(struct xsl_registry *r, uint32_t worker, const struct xsl_worker *rec);
/* An xsl_listeners entry at val->index with val->gen, and its worker table:
 * -ENOENT unless the app is live with val->app_gen; -EINVAL for a bad key,
 * gen 0, or a table slot naming anything but a live worker of the app (or
 * empty slots next to full ones); -EEXIST for a key already taken. The
 * serving set is the workers the table names (val->n_workers is ignored),
 * to which registry__restore_serving() adds the others.
 * The flags are kept (unknown bits and a DUAL flag on any key but the v6
 * wildcard are dropped); the quota is not checked. */
int registry__restore_listener(struct xsl_registry *r, const struct xsl_listener_key *key,
			       const struct xsl_listener *val, const struct xsl_table *table);
/* Worker serves restored listener too (it has a socket for it, in
 * xsl_wsocks, but no slot: a worker of an instance the table does not
 * hold). -ENOENT for a listener or worker not live, -EINVAL for a worker of
 * another app; serving already is 0. */
int registry__restore_serving(struct xsl_registry *r, uint32_t listener, uint32_t worker);
/* Marks instance inst of app as registry__instance_mark() does, but calls
 * no hook and rebuilds no table (see registry__sync_tables). An instance
 * with no worker is freed, unless it is the last of an app that is not held
 * (-EBUSY: registry__instance_mark frees the app). */
int registry__restore_mark(struct xsl_registry *r, uint32_t app, uint16_t inst,
			   enum xsl_inst_state state);
/* After the listeners and their serving sets: the table is kept when it
 * names exactly the serving workers of one instance (that is its table
 * instance, even when the taking instance is another until the marks are
 * restored: see registry__sync_tables) or nothing; otherwise it is made to
 * hold the serving workers of its table instance, keeping the slots of
 * those it names (table__del) and adding the others (table__add), and
 * *changed is set. */
int registry__restore_table(struct xsl_registry *r, uint32_t listener, bool *changed);

#endif /* XSL_REGISTRY_H */
