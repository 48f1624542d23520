// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Worker table properties (user/table.h): balanced builds independent of
 * input order, adds that move exactly floor(S / (n + 1)) slots to the new
 * worker, deletes that move only the removed worker's slots, and balance
 * kept through long add/delete sequences.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>
#include "table.h"

#define S XSL_TABLE_SLOTS

static struct xsl_table_worker wk(uint32_t index, uint32_t gen)
{
	return (struct xsl_table_worker){ .index = index, .gen = gen };
}

/* Workers 0..n-1 with gen index + 1. */
static void make_workers(struct xsl_table_worker *w, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		w[i] = wk(i * 2 + 1, i + 1);
}

/* Every slot names one of w[], and the loads of w[] differ by at most one. */
static void assert_table_balanced(const struct xsl_table *t, const struct xsl_table_worker *w,
				  unsigned int n)
{
	unsigned int min = S, max = 0, sum = 0;

	for (unsigned int i = 0; i < n; i++) {
		unsigned int l = table__load(t, w[i].index);

		min = l < min ? l : min;
		max = l > max ? l : max;
		sum += l;
	}
	assert_int_equal(sum, S);
	assert_true(max - min <= 1);
}

static unsigned int slots_changed(const struct xsl_table *a, const struct xsl_table *b)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < S; i++)
		n += a->slot[i] != b->slot[i];
	return n;
}

static void test_table_build_is_balanced(void **state)
{
	static const unsigned int sizes[] = { 1, 2, 3, 7, 16, 64, 100, 509, 1021, 2000 };
	static struct xsl_table_worker w[XSL_MAX_WORKERS];
	struct xsl_table t;

	(void)state;
	for (unsigned int k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		make_workers(w, sizes[k]);
		assert_int_equal(table__build(&t, w, sizes[k]), 0);
		assert_table_balanced(&t, w, sizes[k]);
	}
}

static void test_table_build_is_order_independent(void **state)
{
	struct xsl_table_worker w[40], rev[40], shuf[40];
	struct xsl_table a, b, c;

	(void)state;
	make_workers(w, 40);
	for (unsigned int i = 0; i < 40; i++) {
		rev[i] = w[39 - i];
		shuf[i] = w[(i * 17) % 40];	/* 17 is coprime with 40 */
	}
	assert_int_equal(table__build(&a, w, 40), 0);
	assert_int_equal(table__build(&b, rev, 40), 0);
	assert_int_equal(table__build(&c, shuf, 40), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_memory_equal(&a, &c, sizeof(a));
}

static void test_table_build_of_no_workers_is_empty(void **state)
{
	struct xsl_table t;

	(void)state;
	assert_int_equal(table__build(&t, NULL, 0), 0);
	for (unsigned int i = 0; i < S; i++)
		assert_int_equal(t.slot[i], XSL_NO_WORKER);
}

static void test_table_build_rejects_duplicate_worker(void **state)
{
	struct xsl_table_worker w[3] = { wk(1, 1), wk(2, 1), wk(1, 2) };
	struct xsl_table t;

	(void)state;
	assert_int_equal(table__build(&t, w, 3), -EINVAL);
	w[2] = wk(XSL_MAX_WORKERS, 1);
	assert_int_equal(table__build(&t, w, 3), -EINVAL);
}

static void test_table_generation_changes_preferences(void **state)
{
	struct xsl_table_worker a[2] = { wk(1, 1), wk(2, 1) };
	struct xsl_table_worker b[2] = { wk(1, 1), wk(2, 2) };
	struct xsl_table ta, tb;

	(void)state;
	assert_int_equal(table__build(&ta, a, 2), 0);
	assert_int_equal(table__build(&tb, b, 2), 0);
	/* A reused index with a new gen is a different worker to the hash. */
	assert_true(slots_changed(&ta, &tb) > 0);
}

static void test_table_add_worker_moves_few_slots(void **state)
{
	struct xsl_table_worker w[65];
	struct xsl_table before, after;

	(void)state;
	for (unsigned int n = 1; n <= 64; n++) {
		unsigned int q = S / (n + 1), moved = 0;

		make_workers(w, n + 1);
		assert_int_equal(table__build(&before, w, n), 0);
		after = before;
		assert_int_equal(table__add(&after, w, n, w[n]), 0);
		for (unsigned int i = 0; i < S; i++) {
			if (before.slot[i] != after.slot[i]) {
				/* Every moved slot went to the new worker. */
				assert_int_equal(after.slot[i], w[n].index);
				moved++;
			}
		}
		assert_true(moved <= S / (n + 1) + 1);
		assert_int_equal(moved, q);
		assert_int_equal(table__load(&after, w[n].index), q);
		assert_table_balanced(&after, w, n + 1);
	}
}

static void test_table_add_to_empty_table_builds(void **state)
{
	struct xsl_table_worker w[1] = { wk(5, 1) };
	struct xsl_table t, built;

	(void)state;
	table__clear(&t);
	assert_int_equal(table__add(&t, NULL, 0, w[0]), 0);
	assert_int_equal(table__build(&built, w, 1), 0);
	assert_memory_equal(&t, &built, sizeof(t));
	assert_int_equal(table__load(&t, 5), S);
}

static void test_table_add_rejects_present_worker(void **state)
{
	struct xsl_table_worker w[3];
	struct xsl_table t;

	(void)state;
	make_workers(w, 3);
	assert_int_equal(table__build(&t, w, 3), 0);
	assert_int_equal(table__add(&t, w, 3, w[1]), -EINVAL);
}

static void test_table_del_worker_moves_only_its_slots(void **state)
{
	struct xsl_table_worker w[64], rest[64];
	struct xsl_table before, after;

	(void)state;
	for (unsigned int n = 2; n <= 64; n++) {
		unsigned int gone = (n * 7 + 3) % n, m = 0;

		make_workers(w, n);
		for (unsigned int i = 0; i < n; i++) {
			if (i != gone)
				rest[m++] = w[i];
		}
		assert_int_equal(table__build(&before, w, n), 0);
		after = before;
		assert_int_equal(table__del(&after, w[gone].index, rest, m), 0);
		for (unsigned int i = 0; i < S; i++) {
			if (before.slot[i] != w[gone].index)
				assert_int_equal(after.slot[i], before.slot[i]);
			else
				assert_int_not_equal(after.slot[i], w[gone].index);
		}
		assert_int_equal(slots_changed(&before, &after), table__load(&before, w[gone].index));
		assert_table_balanced(&after, rest, m);
	}
}

static void test_table_del_last_worker_empties_table(void **state)
{
	struct xsl_table_worker w[1] = { wk(9, 4) };
	struct xsl_table t;

	(void)state;
	assert_int_equal(table__build(&t, w, 1), 0);
	assert_int_equal(table__del(&t, 9, NULL, 0), 0);
	for (unsigned int i = 0; i < S; i++)
		assert_int_equal(t.slot[i], XSL_NO_WORKER);
}

static void test_table_del_rejects_removed_worker_in_rest(void **state)
{
	struct xsl_table_worker w[3];
	struct xsl_table t;

	(void)state;
	make_workers(w, 3);
	assert_int_equal(table__build(&t, w, 3), 0);
	assert_int_equal(table__del(&t, w[0].index, w, 3), -EINVAL);
}

/* xorshift32: a fixed, reproducible sequence. */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void test_table_is_balanced(void **state)
{
	struct xsl_table_worker cur[200], rest[200];
	uint32_t seed = 12345, next_gen = 1;
	unsigned int n = 0;
	struct xsl_table t;

	(void)state;
	table__clear(&t);
	for (unsigned int step = 0; step < 3000; step++) {
		bool add = n == 0 || (n < 200 && rnd(&seed) % 100 < 55);
		struct xsl_table before = t;

		if (add) {
			/* Lowest free index, as the registry allocates them. */
			uint32_t idx = 0;
			struct xsl_table_worker w;

			for (bool clash = true; clash; ) {
				clash = false;
				for (unsigned int i = 0; i < n; i++) {
					if (cur[i].index == idx) {
						clash = true;
						idx++;
						break;
					}
				}
			}
			w = wk(idx, next_gen++);
			assert_int_equal(table__add(&t, cur, n, w), 0);
			assert_int_equal(slots_changed(&before, &t), S / (n + 1));
			cur[n++] = w;
		} else {
			unsigned int k = rnd(&seed) % n, m = 0;
			uint32_t gone = cur[k].index;

			for (unsigned int i = 0; i < n; i++) {
				if (i != k)
					rest[m++] = cur[i];
			}
			assert_int_equal(table__del(&t, gone, rest, m), 0);
			assert_int_equal(slots_changed(&before, &t), table__load(&before, gone));
			memcpy(cur, rest, m * sizeof(*rest));
			n = m;
		}
		if (n)
			assert_table_balanced(&t, cur, n);
		else
			assert_int_equal(table__load(&t, XSL_NO_WORKER), S);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_build_is_balanced),
		cmocka_unit_test(test_table_build_is_order_independent),
		cmocka_unit_test(test_table_build_of_no_workers_is_empty),
		cmocka_unit_test(test_table_build_rejects_duplicate_worker),
		cmocka_unit_test(test_table_generation_changes_preferences),
		cmocka_unit_test(test_table_add_worker_moves_few_slots),
		cmocka_unit_test(test_table_add_to_empty_table_builds),
		cmocka_unit_test(test_table_add_rejects_present_worker),
		cmocka_unit_test(test_table_del_worker_moves_only_its_slots),
		cmocka_unit_test(test_table_del_last_worker_empties_table),
		cmocka_unit_test(test_table_del_rejects_removed_worker_in_rest),
		cmocka_unit_test(test_table_is_balanced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
