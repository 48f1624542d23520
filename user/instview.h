/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * An app's instances as `show instances` and the metrics present them,
 * from the registry alone (no syscalls: cmocka tests it):
 *
 * - oldest (lowest number) first, live instances only;
 * - state: registry__instance_state() (starting, serving, draining,
 *   stopping);
 * - first pid: the instance's first process, defined as its live worker
 *   with the earliest process start time (ties: the lower pid); workers
 *   without a process (pid 0) are skipped, and with none left it is 0. The
 *   process `xslctl run` started is older than everything it forks, so
 *   this is it while it lives, and the oldest survivor after;
 * - sessions: the sum over the instance's workers of what the caller's
 *   count gives each worker (the agent: the last GC pass's count of the
 *   sessions made for that worker, so a dead worker's leftovers belong to
 *   no instance, as they belong to no worker).
 */
#ifndef XSL_INSTVIEW_H
#define XSL_INSTVIEW_H

#include <stdint.h>
#include "registry.h"

struct inst_view {
	uint16_t num;
	uint8_t state;			/* enum xsl_inst_state */
	bool taking;			/* the one new sessions go to */
	unsigned int slot;		/* its index in reg_app.inst[] */
	uint32_t first_pid;		/* 0: no worker with a process */
	uint64_t first_start_ns;	/* that process's start time (0: none) */
	uint32_t workers;
	uint64_t sessions;
};

/* Sessions of one live worker. */
typedef uint64_t (*instview_count_fn)(const void *ctx, uint32_t worker);

/*
 * Fills out[0..n-1] (room for XSL_REG_MAX_INSTANCES) with app's live
 * instances, oldest first; count may be NULL (sessions 0). Returns n, or
 * -ENOENT when app is not live.
 */
int instview__list(const struct xsl_registry *r, uint32_t app, instview_count_fn count,
		   const void *ctx, struct inst_view *out);
/* "starting", "serving", "draining", "stopping"; "unknown" otherwise. */
const char *instview__state_name(unsigned int state);

#endif /* XSL_INSTVIEW_H */
