// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Maglev-style worker tables (see table.h for the contract).
 *
 * Every worker identity (index, gen) is hashed once; the hash gives an
 * offset and a skip, and the worker's preference order over the slots is
 * offset, offset + skip, offset + 2 * skip, ... (mod S). S is prime, so any
 * skip in [1, S - 1] visits every slot exactly once.
 *
 * Scratch state is kept on the stack (a few tens of KiB at most): pure C, no
 * allocation, no syscalls.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "table.h"

#define S XSL_TABLE_SLOTS

/* A worker's walk through its preference permutation. */
struct perm {
	uint32_t pos;		/* next slot to look at */
	uint32_t skip;
};

/* splitmix64 finalizer: a full-avalanche 64-bit mixer. */
static uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void perm_init(struct perm *p, struct xsl_table_worker w)
{
	uint64_t h = mix64(((uint64_t)w.index << 32) | w.gen);

	p->pos = h % S;
	p->skip = (h >> 32) % (S - 1) + 1;
}

static uint32_t perm_next(struct perm *p)
{
	uint32_t s = p->pos;

	p->pos = (p->pos + p->skip) % S;
	return s;
}

void table__clear(struct xsl_table *t)
{
	for (unsigned int i = 0; i < S; i++)
		t->slot[i] = XSL_NO_WORKER;
}

unsigned int table__load(const struct xsl_table *t, uint32_t w)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < S; i++)
		n += t->slot[i] == w;
	return n;
}

static int cmp_index(const void *a, const void *b)
{
	const struct xsl_table_worker *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

/*
 * Marks each worker of w[] in pos[] (index -> position + 1). -EINVAL for an
 * index out of range or a worker listed twice. pos[] must start zeroed.
 */
static int index_workers(uint32_t *pos, const struct xsl_table_worker *w, unsigned int n)
{
	if (n > XSL_MAX_WORKERS)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		if (w[i].index >= XSL_MAX_WORKERS || pos[w[i].index])
			return -EINVAL;
		pos[w[i].index] = i + 1;
	}
	return 0;
}

int table__build(struct xsl_table *t, const struct xsl_table_worker *w, unsigned int n)
{
	struct xsl_table_worker sorted[XSL_MAX_WORKERS];
	uint32_t pos[XSL_MAX_WORKERS] = { 0 };
	struct perm perm[XSL_MAX_WORKERS];
	unsigned int filled = 0;
	int err;

	err = index_workers(pos, w, n);
	if (err)
		return err;
	table__clear(t);
	if (!n)
		return 0;

	/* The result depends only on the set, not on the caller's order. */
	memcpy(sorted, w, n * sizeof(*w));
	qsort(sorted, n, sizeof(*sorted), cmp_index);
	for (unsigned int i = 0; i < n; i++)
		perm_init(&perm[i], sorted[i]);

	/* Round robin: each worker in turn takes its next free preferred slot. */
	for (;;) {
		for (unsigned int i = 0; i < n; i++) {
			uint32_t s;

			do
				s = perm_next(&perm[i]);
			while (t->slot[s] != XSL_NO_WORKER);
			t->slot[s] = sorted[i].index;
			if (++filled == S)
				return 0;
		}
	}
}

int table__add(struct xsl_table *t, const struct xsl_table_worker *cur, unsigned int n,
	       struct xsl_table_worker w)
{
	struct xsl_table_worker all[XSL_MAX_WORKERS];
	uint32_t pos[XSL_MAX_WORKERS] = { 0 };
	uint32_t load[XSL_MAX_WORKERS] = { 0 };
	unsigned int q, r, hi = 0, taken = 0;
	struct perm p;
	int err;

	err = index_workers(pos, cur, n);
	if (err)
		return err;
	if (w.index >= XSL_MAX_WORKERS || pos[w.index] || n + 1 > XSL_MAX_WORKERS)
		return -EINVAL;

	/*
	 * Loads of the current workers. A slot naming anyone else (an empty
	 * table, or a table that does not match cur) means there is nothing
	 * consistent to preserve: build from scratch.
	 */
	for (unsigned int i = 0; i < S; i++) {
		uint32_t o = t->slot[i];

		if (o >= XSL_MAX_WORKERS || !pos[o])
			goto rebuild;
		load[pos[o] - 1]++;
	}

	/*
	 * Afterwards the new worker holds q slots and exactly r of the others
	 * q + 1, the rest q. Walking the new worker's preference order once,
	 * a slot is taken from a worker above q + 1, or from one at q + 1 while
	 * more than r workers are still at q + 1 or above (hi). Only the
	 * surplus moves, so exactly q slots change owner.
	 */
	q = S / (n + 1);
	r = S % (n + 1);
	for (unsigned int i = 0; i < n; i++)
		hi += load[i] >= q + 1;
	perm_init(&p, w);
	for (unsigned int j = 0; j < S && taken < q; j++) {
		uint32_t s = perm_next(&p);
		uint32_t *l = &load[pos[t->slot[s]] - 1];

		if (*l > q + 1) {
			(*l)--;
		} else if (*l == q + 1 && hi > r) {
			(*l)--;
			hi--;
		} else {
			continue;
		}
		t->slot[s] = w.index;
		taken++;
	}
	return 0;

rebuild:
	if (n)	/* cur may be NULL when the table is empty */
		memcpy(all, cur, n * sizeof(*cur));
	all[n] = w;
	return table__build(t, all, n + 1);
}

int table__del(struct xsl_table *t, uint32_t w, const struct xsl_table_worker *rest,
	       unsigned int n)
{
	uint32_t pos[XSL_MAX_WORKERS] = { 0 };
	uint32_t load[XSL_MAX_WORKERS] = { 0 };
	struct perm perm[XSL_MAX_WORKERS];
	bool orphan[S];
	unsigned int orphans = 0;
	int err;

	err = index_workers(pos, rest, n);
	if (err)
		return err;
	if (w < XSL_MAX_WORKERS && pos[w])
		return -EINVAL;
	if (!n) {
		table__clear(t);
		return 0;
	}

	/* Orphans: slots of w (and, defensively, of anyone not in rest). */
	for (unsigned int i = 0; i < S; i++) {
		uint32_t o = t->slot[i];

		orphan[i] = o >= XSL_MAX_WORKERS || !pos[o];
		if (orphan[i])
			orphans++;
		else
			load[pos[o] - 1]++;
	}
	for (unsigned int i = 0; i < n; i++)
		perm_init(&perm[i], rest[i]);

	/*
	 * Each orphan goes to the least loaded remaining worker (ties: lowest
	 * index), the first orphan in that worker's preference order. Loads
	 * within one of each other stay so.
	 */
	while (orphans) {
		unsigned int m = 0;
		uint32_t s;

		for (unsigned int i = 1; i < n; i++) {
			if (load[i] < load[m] ||
			    (load[i] == load[m] && rest[i].index < rest[m].index))
				m = i;
		}
		do
			s = perm_next(&perm[m]);
		while (!orphan[s]);
		orphan[s] = false;
		t->slot[s] = rest[m].index;
		load[m]++;
		orphans--;
	}
	return 0;
}
