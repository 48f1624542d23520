/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The Prometheus endpoint of the agent (libmicrohttpd, no thread of its
 * own: its epoll fd sits in the agent's loop, so a scrape runs between
 * events and never races the registry).
 */
#ifndef XSL_METRICS_H
#define XSL_METRICS_H

struct agent;

/* Listens on a->o.metrics (ADDR:PORT, [V6]:PORT, or "none"). */
int metrics__start(struct agent *a);
/* Called when the metrics epoll fd is ready. */
void metrics__run(struct agent *a);
void metrics__stop(struct agent *a);

#endif /* XSL_METRICS_H */
