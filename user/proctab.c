// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The process table (see proctab.h). A fixed array scanned linearly, as the
 * registry's other tables: cheap at these sizes. No syscalls.
 */
#include <errno.h>
#include <stddef.h>
#include "proctab.h"

struct proc_entry *proctab__find(const struct proctab *t, uint32_t pid)
{
	if (!pid)
		return NULL;
	for (unsigned int i = 0; i < XSL_REG_MAX_PROCS; i++) {
		if (t->slot[i].pid == pid)
			return (struct proc_entry *)&t->slot[i];
	}
	return NULL;
}

bool proctab__is(const struct proc_entry *e, uint32_t pid, uint64_t start_ns, uint64_t ino)
{
	if (!e || !pid || e->pid != pid)
		return false;
	if (start_ns && e->start_ns && start_ns != e->start_ns)
		return false;
	return !ino || !e->ino || ino == e->ino;
}

struct proc_entry *proctab__find_proc(const struct proctab *t, uint32_t pid, uint64_t start_ns,
				      uint64_t ino)
{
	struct proc_entry *e = proctab__find(t, pid);

	return proctab__is(e, pid, start_ns, ino) ? e : NULL;
}

bool proctab__full(const struct proctab *t)
{
	for (unsigned int i = 0; i < XSL_REG_MAX_PROCS; i++) {
		if (!t->slot[i].pid)
			return false;
	}
	return true;
}

int proctab__insert(struct proctab *t, uint32_t pid, uint64_t start_ns, uint32_t app,
		    uint32_t app_gen, struct proc_entry **out)
{
	if (!pid)
		return -EINVAL;
	if (proctab__find(t, pid))
		return -EEXIST;
	for (unsigned int i = 0; i < XSL_REG_MAX_PROCS; i++) {
		struct proc_entry *e = &t->slot[i];

		if (e->pid)
			continue;
		*e = (struct proc_entry){ .pid = pid, .pidfd = -1, .start_ns = start_ns,
					  .app = app, .app_gen = app_gen,
					  .worker = XSL_NO_WORKER };
		if (out)
			*out = e;
		return 0;
	}
	return -ENOSPC;
}

void proctab__remove(struct proctab *t, struct proc_entry *e)
{
	if (!e || !e->pid)
		return;
	if (e->pidfd >= 0 && t->release)
		t->release(t->ctx, e);
	*e = (struct proc_entry){ .pidfd = -1, .worker = XSL_NO_WORKER };
}

uint32_t proctab__index(const struct proctab *t, const struct proc_entry *e)
{
	return (uint32_t)(e - t->slot);
}

struct proc_entry *proctab__at(const struct proctab *t, uint32_t index)
{
	if (index >= XSL_REG_MAX_PROCS || !t->slot[index].pid)
		return NULL;
	return (struct proc_entry *)&t->slot[index];
}

int proctab__worker_of(const struct proctab *t, uint32_t pid, uint32_t app, uint32_t app_gen,
		       uint32_t *worker)
{
	const struct proc_entry *e = proctab__find(t, pid);

	if (!e || e->app != app || e->app_gen != app_gen || e->worker == XSL_NO_WORKER)
		return -ENOENT;
	if (worker)
		*worker = e->worker;
	return 0;
}

uint64_t proctab__tick_ns(uint64_t ns, unsigned long hz)
{
	uint64_t tick;

	if (!hz || hz > 1000000000ul)
		return ns;
	tick = 1000000000ull / hz;
	return ns - ns % tick;
}

int proc_ids__find(const struct proc_id *ids, unsigned int n, struct proc_id id)
{
	for (unsigned int i = 0; i < n; i++) {
		if (ids[i].pid == id.pid && ids[i].start_ns == id.start_ns)
			return (int)i;
	}
	return -1;
}
