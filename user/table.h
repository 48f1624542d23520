/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A listener's worker table: XSL_TABLE_SLOTS slots, each naming one serving
 * worker, filled Maglev-style. Every worker has a preference permutation of
 * the slots derived from its (index, gen) identity.
 *
 * - table__build() fills an empty table from a set of workers (Maglev
 *   round-robin population): loads differ by at most one.
 * - table__add() moves exactly floor(S / (n + 1)) slots to the new worker,
 *   taken in its preference order from the most loaded workers only.
 * - table__del() reassigns only the removed worker's slots, each to the
 *   least loaded remaining worker in that worker's preference order.
 * Both keep loads within one of each other when they were before.
 * Pure C, no syscalls.
 */
#ifndef XSL_TABLE_H
#define XSL_TABLE_H

#include <stdint.h>
#include "xsl/limits.h"

struct xsl_table_worker {
	uint32_t index;
	uint32_t gen;
};

struct xsl_table {
	uint32_t slot[XSL_TABLE_SLOTS];		/* worker index or XSL_NO_WORKER */
};

void table__clear(struct xsl_table *t);
/* 0, or -EINVAL for a worker twice or n too large. */
int table__build(struct xsl_table *t, const struct xsl_table_worker *w, unsigned int n);
/* Add w to a table currently served by the n workers in cur. */
int table__add(struct xsl_table *t, const struct xsl_table_worker *cur, unsigned int n,
	       struct xsl_table_worker w);
/* Remove worker index w; rest[] (n entries) are the workers that remain. */
int table__del(struct xsl_table *t, uint32_t w, const struct xsl_table_worker *rest,
	       unsigned int n);
/* Slots held by worker index w. */
unsigned int table__load(const struct xsl_table *t, uint32_t w);

#endif /* XSL_TABLE_H */
