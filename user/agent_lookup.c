// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Questions to the process table that the rooms above it share (worker
 * registration, socket attribution, commands): which worker a process is in
 * a live app, and the pidfd held on it. Read-only; no syscalls.
 */
#include <errno.h>
#include "agent.h"

uint32_t procs__app_gen(const struct agent *a, uint32_t app)
{
	const struct reg_app *ra = registry__app(a->reg, app);

	return ra ? ra->gen : 0;
}

int procs__worker_of(const struct agent *a, uint32_t app, uint32_t pid, uint32_t *worker)
{
	uint32_t w;

	if (proctab__worker_of(&a->reg->procs, pid, app, procs__app_gen(a, app), &w) ||
	    !registry__worker(a->reg, w))
		return -ENOENT;
	if (worker)
		*worker = w;
	return 0;
}

int procs__pidfd(const struct agent *a, uint32_t pid)
{
	const struct proc_entry *e = proctab__find(&a->reg->procs, pid);

	return e ? e->pidfd : -1;
}
