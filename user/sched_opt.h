/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The agent's --sched option: the CPU scheduling policy it runs its loop
 * under. "other" is the default time-sharing policy (SCHED_OTHER, nice
 * unchanged), "fifo:N" and "rr:N" the real-time ones at priority N (1..99).
 * Parsing is pure; applying is one sched_setscheduler() call.
 */
#ifndef XSL_SCHED_OPT_H
#define XSL_SCHED_OPT_H

#include <stddef.h>

struct sched_opt {
	int policy;		/* SCHED_OTHER, SCHED_FIFO or SCHED_RR */
	int prio;		/* 0 for SCHED_OTHER, 1..99 for the others */
};

/* s as "other", "fifo:N" or "rr:N": 0, or -EINVAL with what is wrong
 * written to why (a sentence without the option's name). */
int sched_opt__parse(const char *s, struct sched_opt *out, char *why, size_t why_len);
/* "SCHED_FIFO priority 10", "SCHED_OTHER" into buf. */
const char *sched_opt__describe(const struct sched_opt *o, char *buf, size_t len);
/* Puts the calling thread under o, with SCHED_RESET_ON_FORK for the
 * real-time ones (a child never inherits them): 0 or -errno. */
int sched_opt__apply(const struct sched_opt *o);

#endif /* XSL_SCHED_OPT_H */
