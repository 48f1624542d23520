/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `xslctl top`'s testable part (cli_top.c), with no terminal and no socket:
 * two successive show.apps (or show.workers) replies -> rows with rates ->
 * sorted, busiest first -> the screen's text. ctl_top.c does the I/O (the
 * refresh loop, keys, the terminal).
 */
#ifndef XSL_CLI_TOP_H
#define XSL_CLI_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

/* One app, or one worker, as of the latest reply. */
struct top_row {
	char app[32];
	long long worker;		/* global worker index; -1 in the apps view */
	long long pid;			/* workers: its process; 0 unknown */
	char state[16];
	long long workers;		/* apps: its workers */
	long long sessions;
	/* per second since the previous reply; drops_s < 0: not counted
	 * per worker. A row with no previous reply has rates of 0. */
	double new_s, pkts_s, bytes_s, drops_s;
};

/* What `s` cycles through; the first is the default, busiest first. */
enum top_sort {
	TOP_SORT_PACKETS,
	TOP_SORT_BYTES,
	TOP_SORT_NEW,
	TOP_SORT_SESSIONS,
	TOP_SORT_DROPS,
	TOP_SORT__MAX,
};

extern const char *const top_sort_names[TOP_SORT__MAX];

/* What the screen shows besides the rows. */
struct top_view {
	bool workers;			/* workers view, else apps */
	enum top_sort sort;
	const char *name;		/* only this app; NULL: all */
	const char *status;		/* a line about the agent ("connection lost"); NULL */
	bool keys;			/* show the key help (interactive) */
};

/*
 * Rows of cur (the data of show.apps, or of show.workers when workers),
 * only app name when given, with rates against prev (the same command's
 * previous data, or NULL) over dt_s seconds. A counter that went down (a
 * restarted agent) gives a rate of 0. *rows is malloc'd (NULL when *n is
 * 0). -EBADMSG when the data has not the documented shape, -ENOMEM.
 */
int top_rows(json_t *prev, json_t *cur, double dt_s, bool workers, const char *name,
	     struct top_row **rows, size_t *n);
/* Busiest first by s; ties by app name, then worker index. */
void top_sort(struct top_row *rows, size_t n, enum top_sort s);
/*
 * The screen: a summary line, a blank line, the column header and the
 * rows. Lines are cut at width columns and at most height lines are
 * written (the last says how many rows did not fit); 0 means no limit.
 */
void top_render(FILE *f, const struct top_view *v, const struct top_row *rows, size_t n,
		unsigned int width, unsigned int height);
/* A rate in at most 6 characters: "0", "0.5", "123", "12.3k", "4.5M"; "-" when < 0. */
void top_fmt_rate(char *buf, size_t len, double v);

#endif /* XSL_CLI_TOP_H */
