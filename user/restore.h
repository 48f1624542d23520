/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Restart recovery: rebuilds a registry from the records found in the pinned
 * maps (the inverse of what mirror.c / records.c write). Pure C, no syscalls;
 * the agent reads the maps, calls restore__registry(), then checks the
 * restored processes against the app cgroups and /proc.
 *
 * Rules:
 * - Every LIVE app record comes back at its index with its gen, name,
 *   creator pid, cgroup id, policy, flags and idle timeout (0 becomes the
 *   default); its creator gets its process -> app entry.
 * - Every LIVE worker record whose app is live with the record's app_gen
 *   comes back at its index with its gen, map_index, pid and start time, and
 *   its process entry as worker add makes it (one per pid; the creator's
 *   exists already).
 * - Every listener entry whose app is live with its app_gen comes back at
 *   value.index with its key and gen. Its serving set is the live workers
 *   of that app its slot table names with their current gen, and those of
 *   its xsl_wsocks keys (workers of an instance the table does not hold).
 *   The table is kept slot for slot; slots naming anything else are cleared
 *   and given to the remaining workers as table__del() does (nothing else
 *   moves); with no worker left the table is empty. n_workers is recomputed.
 * - A table must name the serving workers of one instance, all of them, or
 *   none (registry.h, slot tables); it is kept so, whichever instance that
 *   is (marks are not in the maps). A table naming several instances' or
 *   only some of one's is made to hold its listener's table instance's
 *   workers (keeping their slots, see registry__restore_table) and is
 *   reported repaired.
 * - Several keys may name one listener index (an alias, e.g. the v4 wildcard
 *   key of a dual-stack v6 listener). The registry keeps one key per
 *   listener, the primary: the entries with the highest gen for that index,
 *   of those the IPv6 one, then the lowest key bytes. Keys with the same
 *   (gen, app, app_gen) as the primary are reported as aliases, to be kept by
 *   the agent; any other key of that index is dropped.
 * - Freed slots keep their gen: a FREE record's gen, raised to the highest gen
 *   any record names for that index (slot tables for workers, worker and
 *   listener records for apps, listener values for listeners), so the next
 *   allocation of it gets a gen no session or stale record still holds.
 *   Listener entries are deleted when a listener is freed, so a free listener
 *   index that no entry names restarts at gen 0 (the data path never checks
 *   listener gens).
 * - Records are validated: a bad state, gen 0, an index out of range, a name
 *   that is unterminated or invalid, an unknown policy, a bad listener key,
 *   a second app with the same name, cgroup id or creator pid, a map_index
 *   used twice in an app, a pid of two apps: the later record (by index; for
 *   listeners by input order) is dropped and reported, never trusted.
 * - An app whose workers were all dropped stays, with none: whether its
 *   processes still run is for the agent to find out (cgroup, /proc).
 * - Instances: each worker comes back in its instance (the app record keeps
 *   the last number and the newest instance with no worker yet, the worker
 *   record the low 8 bits of its number; records from before instances are
 *   all instance 1). A worker that would need a 9th live instance is dropped.
 *   Draining/stopping marks are not in the maps: the agent marks again
 *   (registry__restore_mark, no hook, no table moves), then calls
 *   registry__sync_tables() for each app, which rebuilds only the tables
 *   whose instance the marks changed. Only the newest instance with no
 *   worker is in the maps: an older one with none comes back missing.
 * - No registry hook is called (the maps hold this state already).
 *
 * Without wsocks, a worker with no slot (of an instance the table does not
 * hold, or beyond XSL_TABLE_SLOTS workers) comes back not serving.
 */
#ifndef XSL_RESTORE_H
#define XSL_RESTORE_H

#include <stdint.h>
#include "registry.h"

struct xsl_restore_input {
	const struct xsl_app *apps;		/* XSL_MAX_APPS records (map xsl_apps) */
	const struct xsl_worker *workers;	/* XSL_MAX_WORKERS records (xsl_workers) */
	const struct xsl_listener_key *lkeys;	/* n_listeners entries of xsl_listeners */
	const struct xsl_listener *lvals;
	unsigned int n_listeners;		/* at most XSL_MAX_LISTENERS (its size) */
	const struct xsl_slot_table *slots;	/* XSL_MAX_LISTENERS rows (xsl_slots) */
	/* Optional: the keys of xsl_wsocks, (listener, worker) pairs with a
	 * socket; the workers of instances a table does not hold serve by them */
	const struct xsl_wsock_key *wsocks;
	unsigned int n_wsocks;
	/* Optional: called once per dropped or repaired record with a message
	 * naming it and the reason (no trailing newline). */
	void (*note)(void *ctx, const char *msg);
	void *ctx;
};

struct xsl_restore_alias {
	struct xsl_listener_key key;
	uint32_t listener;			/* the index it names */
};

/*
 * What the agent must fix in the maps afterwards: write the dropped apps and
 * workers again (mirror__app / mirror__worker now write them FREE with their
 * kept gen; a dropped app's cgroup id is not kept, so stale xsl_app_cgroups
 * entries are the agent's to remove), delete the dropped keys, and rewrite
 * the repaired listeners (mirror__listener) together with their aliases.
 */
struct xsl_restore_report {
	unsigned int apps, workers, listeners;	/* restored live */
	unsigned int slots_cleared;		/* slots that named a dropped/stale worker */
	unsigned int n_dropped_apps;
	uint32_t dropped_apps[XSL_MAX_APPS];
	unsigned int n_dropped_workers;
	uint32_t dropped_workers[XSL_MAX_WORKERS];
	unsigned int n_dropped_keys;
	struct xsl_listener_key dropped_keys[XSL_MAX_LISTENERS];
	unsigned int n_aliases;
	struct xsl_restore_alias aliases[XSL_MAX_LISTENERS];
	/* restored listeners whose table or n_workers differ from the map */
	unsigned int n_repaired_listeners;
	uint32_t repaired_listeners[XSL_MAX_LISTENERS];
};

/*
 * Rebuilds the fresh registry r (registry__new(), hooks may be installed:
 * none is called) from in; report may be NULL. 0 even when records were
 * dropped (see the report); -EINVAL for a NULL input array or n_listeners
 * above XSL_MAX_LISTENERS, -EBUSY when r is not empty (nothing changed).
 */
int restore__registry(struct xsl_registry *r, const struct xsl_restore_input *in,
		      struct xsl_restore_report *report);

#endif /* XSL_RESTORE_H */
