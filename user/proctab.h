/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The process table: the one owner of what xsl knows about an app process.
 * An entry is a process (pid + start time, and the pidfs inode of its pid
 * when known), the pidfd the agent holds on it, the app it belongs to (index
 * + gen: a handle that goes stale when the app is freed) and the worker it
 * owns there. Pure C, no syscalls: the registry adds and removes entries with
 * its workers (a process -> app entry per worker process), the agent fills in
 * the pidfd and checks every process event against the table.
 *
 * - At most one entry per pid. A pid names a process only together with its
 *   start time: a recycled pid is another process (proctab__is()).
 * - Start times are boot-based nanoseconds truncated to the clock tick, as
 *   /proc/PID/stat's starttime gives them (proctab__tick_ns() turns the
 *   kernel's start_boottime into that). The pidfs inode (st_ino of a pidfd,
 *   never reused within a boot) tells apart two processes started in the
 *   same tick; 0 means unknown and is not compared.
 * - Removing an entry that holds a pidfd calls release() first (the agent
 *   closes it there), whoever removes it.
 */
#ifndef XSL_PROCTAB_H
#define XSL_PROCTAB_H

#include <stdbool.h>
#include <stdint.h>
#include "xsl/limits.h"

/* Each process entry is a creator or owns a worker: never more than this. */
#define XSL_REG_MAX_PROCS (XSL_MAX_WORKERS + XSL_MAX_APPS)

/* A process: pid and start time (0: unknown). */
struct proc_id {
	uint32_t pid;
	uint64_t start_ns;
};

struct proc_entry {
	uint32_t pid;			/* 0: free */
	int pidfd;			/* -1: not held */
	uint64_t start_ns;		/* 0: unknown (restored without one) */
	uint64_t ino;			/* pidfs inode of its pid, 0: unknown */
	uint32_t app, app_gen;		/* the app's handle */
	uint32_t worker;		/* its worker in app, XSL_NO_WORKER: none */
};

struct proctab {
	/* an entry holding a pidfd is about to be removed */
	void (*release)(void *ctx, struct proc_entry *e);
	void *ctx;
	struct proc_entry slot[XSL_REG_MAX_PROCS];
};

/* The entry of pid, or NULL (pid 0 has none). */
struct proc_entry *proctab__find(const struct proctab *t, uint32_t pid);
/* Does e describe the process (pid, start_ns, ino)? A start time or inode
 * of 0 on either side is not compared. */
bool proctab__is(const struct proc_entry *e, uint32_t pid, uint64_t start_ns, uint64_t ino);
/* The entry of exactly that process, or NULL. */
struct proc_entry *proctab__find_proc(const struct proctab *t, uint32_t pid, uint64_t start_ns,
				      uint64_t ino);
bool proctab__full(const struct proctab *t);
/* A new entry (no pidfd, no worker): -EINVAL for pid 0, -EEXIST when pid has
 * one, -ENOSPC when full. out may be NULL. */
int proctab__insert(struct proctab *t, uint32_t pid, uint64_t start_ns, uint32_t app,
		    uint32_t app_gen, struct proc_entry **out);
/* Frees e (release() first when it holds a pidfd). */
void proctab__remove(struct proctab *t, struct proc_entry *e);
/* Entry index (epoll tags name it), and back; NULL for a free or bad index. */
uint32_t proctab__index(const struct proctab *t, const struct proc_entry *e);
struct proc_entry *proctab__at(const struct proctab *t, uint32_t index);

/*
 * The one "worker of pid" lookup: the worker pid owns in the app with that
 * handle (app index + gen). -ENOENT when pid has no entry, belongs to
 * another app, to an older app at that index, or owns no worker.
 */
int proctab__worker_of(const struct proctab *t, uint32_t pid, uint32_t app, uint32_t app_gen,
		       uint32_t *worker);

/* ns truncated to a clock tick of hz per second (what /proc/PID/stat keeps
 * of a start_boottime): ns - ns % (1e9 / hz). hz 0: ns. */
uint64_t proctab__tick_ns(uint64_t ns, unsigned long hz);

/* Index of id in ids[0..n), or -1. Start times are compared (0 matches 0 only). */
int proc_ids__find(const struct proc_id *ids, unsigned int n, struct proc_id id);

#endif /* XSL_PROCTAB_H */
