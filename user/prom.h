/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A builder for the Prometheus text exposition format 0.0.4, pure C with no
 * I/O, so the page the agent serves can be unit-tested and checked with
 * `promtool check metrics`.
 *
 * A page is a sequence of families: prom__family() writes the family's
 * "# HELP" and "# TYPE" lines, then the samples that follow belong to it
 * (counters and gauges with prom__u64()/prom__double(), histograms with
 * prom__histogram()). The builder enforces what the format requires:
 *
 * - a family is started at most once per page (-EEXIST), so HELP/TYPE appear
 *   once and its samples stay together;
 * - metric and label names are valid ([a-zA-Z_:][a-zA-Z0-9_:]* and
 *   [a-zA-Z_][a-zA-Z0-9_]*), label names are unique within a sample, and a
 *   histogram's own labels do not use "le" (-EINVAL);
 * - label values escape backslash, double quote and newline; HELP text
 *   escapes backslash and newline;
 * - floats are written in their shortest round-trip form, with +Inf, -Inf
 *   and NaN spelled as the format wants.
 *
 * Errors are sticky: the first one is kept, every later call does nothing and
 * returns it, so a renderer can write a whole page and check once at
 * prom__finish(). All functions return 0 or a negative errno.
 */
#ifndef XSL_PROM_H
#define XSL_PROM_H

#include <stddef.h>
#include <stdint.h>

enum prom_type {
	PROM_COUNTER,
	PROM_GAUGE,
	PROM_HISTOGRAM,
};

struct prom_label {
	const char *name;
	const char *value;
};

/* A label list literal and its length, for the two label arguments:
 * prom__u64(p, PROM_LABELS({ "app", name }, { "cause", "fork" }), n). */
#define PROM_LABELS(...)						\
	(const struct prom_label[]){ __VA_ARGS__ },			\
	(sizeof((const struct prom_label[]){ __VA_ARGS__ }) / sizeof(struct prom_label))

#define PROM_NAME_MAX 128

struct prom {
	char *buf;
	size_t len, cap;
	int err;			/* first error, sticky */
	enum prom_type type;		/* of the current family */
	char family[PROM_NAME_MAX];	/* current family, "" before the first */
	char **seen;			/* families started on this page */
	size_t n_seen, cap_seen;
};

void prom__init(struct prom *p);
/* Releases everything, including text not taken by prom__finish(). */
void prom__free(struct prom *p);

/* Starts family name: writes its HELP (help may be NULL: none) and TYPE. */
int prom__family(struct prom *p, const char *name, enum prom_type type, const char *help);

/* One sample of the current counter or gauge family (not a histogram). */
int prom__u64(struct prom *p, const struct prom_label *labels, size_t n_labels, uint64_t value);
int prom__double(struct prom *p, const struct prom_label *labels, size_t n_labels, double value);

/*
 * One histogram of the current histogram family: counts[i] observations fell
 * in (bounds[i-1], bounds[i]] (not cumulative); count is the total, including
 * the ones above the last bound; sum is their sum. Writes the cumulative
 * _bucket series with le="..." and le="+Inf" (== count), then _sum and
 * _count. Bounds must increase strictly and the buckets must not add up to
 * more than count (-EINVAL).
 */
int prom__histogram(struct prom *p, const struct prom_label *labels, size_t n_labels,
		    const double *bounds, const uint64_t *counts, size_t n_bounds,
		    uint64_t count, double sum);

/* Hands over the page: *text (malloc'd, NUL-terminated, *len bytes without
 * the NUL) is the caller's to free(). On error nothing is handed over. p is
 * empty afterwards either way, ready for prom__free() or another page. */
int prom__finish(struct prom *p, char **text, size_t *len);

/* The shortest text that reads back as v (or +Inf, -Inf, NaN); out should
 * hold 32 bytes. Returns out. */
const char *prom__fmt_double(double v, char *out, size_t len);

#endif /* XSL_PROM_H */
