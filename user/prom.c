// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Prometheus text exposition format 0.0.4 builder (see prom.h). One growing
 * buffer; every write goes through put(), which records -ENOMEM once and
 * makes the rest of the page a no-op.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "prom.h"

#define PROM_INITIAL_CAP 4096

void prom__init(struct prom *p)
{
	memset(p, 0, sizeof(*p));
}

static void forget_families(struct prom *p)
{
	for (size_t i = 0; i < p->n_seen; i++)
		free(p->seen[i]);
	free(p->seen);
	p->seen = NULL;
	p->n_seen = p->cap_seen = 0;
}

void prom__free(struct prom *p)
{
	forget_families(p);
	free(p->buf);
	prom__init(p);
}

static int fail(struct prom *p, int err)
{
	if (!p->err)
		p->err = err;
	return p->err;
}

static void put(struct prom *p, const char *s, size_t n)
{
	if (p->err)
		return;
	if (p->len + n + 1 > p->cap) {
		size_t cap = p->cap ? p->cap : PROM_INITIAL_CAP;
		char *buf;

		while (p->len + n + 1 > cap)
			cap *= 2;
		buf = realloc(p->buf, cap);
		if (!buf) {
			fail(p, -ENOMEM);
			return;
		}
		p->buf = buf;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

static void puts_(struct prom *p, const char *s)
{
	put(p, s, strlen(s));
}

/* Writes s with each character in `special` escaped: newline as \n, the
 * others with a backslash in front. */
static void put_escaped(struct prom *p, const char *s, const char *special)
{
	const char *run = s;

	for (; *s; s++) {
		if (!strchr(special, *s))
			continue;
		put(p, run, (size_t)(s - run));
		put(p, *s == '\n' ? "\\n" : *s == '\\' ? "\\\\" : "\\\"", 2);
		run = s + 1;
	}
	put(p, run, (size_t)(s - run));
}

static bool valid_name(const char *s, bool colon_ok)
{
	if (!*s || strlen(s) >= PROM_NAME_MAX || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || (colon_ok && c == ':')))
			return false;
	}
	return true;
}

const char *prom__fmt_double(double v, char *out, size_t len)
{
	if (isnan(v)) {
		snprintf(out, len, "NaN");
	} else if (isinf(v)) {
		snprintf(out, len, v > 0 ? "+Inf" : "-Inf");
	} else {
		/* %.17g always reads back exactly; try shorter forms first */
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(out, len, "%.*g", prec, v);
			if (strtod(out, NULL) == v)
				break;
		}
	}
	return out;
}

int prom__family(struct prom *p, const char *name, enum prom_type type, const char *help)
{
	static const char *const type_names[] = {
		[PROM_COUNTER] = "counter",
		[PROM_GAUGE] = "gauge",
		[PROM_HISTOGRAM] = "histogram",
	};

	if (p->err)
		return p->err;
	if (!name || !valid_name(name, true) || (unsigned int)type > PROM_HISTOGRAM)
		return fail(p, -EINVAL);
	for (size_t i = 0; i < p->n_seen; i++)
		if (!strcmp(p->seen[i], name))
			return fail(p, -EEXIST);
	if (p->n_seen == p->cap_seen) {
		size_t cap = p->cap_seen ? p->cap_seen * 2 : 32;
		char **seen = realloc(p->seen, cap * sizeof(*seen));

		if (!seen)
			return fail(p, -ENOMEM);
		p->seen = seen;
		p->cap_seen = cap;
	}
	p->seen[p->n_seen] = strdup(name);
	if (!p->seen[p->n_seen])
		return fail(p, -ENOMEM);
	p->n_seen++;
	snprintf(p->family, sizeof(p->family), "%s", name);
	p->type = type;

	if (help) {
		puts_(p, "# HELP ");
		puts_(p, name);
		puts_(p, " ");
		put_escaped(p, help, "\\\n");
		puts_(p, "\n");
	}
	puts_(p, "# TYPE ");
	puts_(p, name);
	puts_(p, " ");
	puts_(p, type_names[type]);
	puts_(p, "\n");
	return p->err;
}

static int check_labels(const struct prom_label *labels, size_t n, bool histogram)
{
	if (n && !labels)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!labels[i].name || !labels[i].value || !valid_name(labels[i].name, false))
			return -EINVAL;
		if (histogram && !strcmp(labels[i].name, "le"))
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(labels[i].name, labels[j].name))
				return -EINVAL;
	}
	return 0;
}

/* name{labels[,le="le"]} value_text */
static void put_sample(struct prom *p, const char *suffix, const struct prom_label *labels,
		       size_t n, const char *le, const char *value)
{
	bool any = n || le;

	puts_(p, p->family);
	puts_(p, suffix);
	if (any)
		puts_(p, "{");
	for (size_t i = 0; i < n; i++) {
		if (i)
			puts_(p, ",");
		puts_(p, labels[i].name);
		puts_(p, "=\"");
		put_escaped(p, labels[i].value, "\\\"\n");
		puts_(p, "\"");
	}
	if (le) {
		puts_(p, n ? ",le=\"" : "le=\"");
		puts_(p, le);
		puts_(p, "\"");
	}
	if (any)
		puts_(p, "}");
	puts_(p, " ");
	puts_(p, value);
	puts_(p, "\n");
}

/* A plain sample needs a started counter or gauge family. */
static int check_plain(struct prom *p, const struct prom_label *labels, size_t n)
{
	if (p->err)
		return p->err;
	if (!p->family[0] || p->type == PROM_HISTOGRAM)
		return fail(p, -EINVAL);
	if (check_labels(labels, n, false))
		return fail(p, -EINVAL);
	return 0;
}

int prom__u64(struct prom *p, const struct prom_label *labels, size_t n_labels, uint64_t value)
{
	char v[24];

	if (check_plain(p, labels, n_labels))
		return p->err;
	snprintf(v, sizeof(v), "%" PRIu64, value);
	put_sample(p, "", labels, n_labels, NULL, v);
	return p->err;
}

int prom__double(struct prom *p, const struct prom_label *labels, size_t n_labels, double value)
{
	char v[32];

	if (check_plain(p, labels, n_labels))
		return p->err;
	put_sample(p, "", labels, n_labels, NULL, prom__fmt_double(value, v, sizeof(v)));
	return p->err;
}

int prom__histogram(struct prom *p, const struct prom_label *labels, size_t n_labels,
		    const double *bounds, const uint64_t *counts, size_t n_bounds,
		    uint64_t count, double sum)
{
	uint64_t cum = 0;
	char le[32], v[32];

	if (p->err)
		return p->err;
	if (!p->family[0] || p->type != PROM_HISTOGRAM ||
	    check_labels(labels, n_labels, true) || (n_bounds && (!bounds || !counts)))
		return fail(p, -EINVAL);
	for (size_t i = 0; i < n_bounds; i++) {
		if (isnan(bounds[i]) || isinf(bounds[i]) || (i && bounds[i] <= bounds[i - 1]))
			return fail(p, -EINVAL);
		if (counts[i] > count - cum)
			return fail(p, -EINVAL);
		cum += counts[i];
	}

	cum = 0;
	for (size_t i = 0; i < n_bounds; i++) {
		cum += counts[i];
		snprintf(v, sizeof(v), "%" PRIu64, cum);
		put_sample(p, "_bucket", labels, n_labels,
			   prom__fmt_double(bounds[i], le, sizeof(le)), v);
	}
	snprintf(v, sizeof(v), "%" PRIu64, count);
	put_sample(p, "_bucket", labels, n_labels, "+Inf", v);
	put_sample(p, "_sum", labels, n_labels, NULL, prom__fmt_double(sum, le, sizeof(le)));
	put_sample(p, "_count", labels, n_labels, NULL, v);
	return p->err;
}

int prom__finish(struct prom *p, char **text, size_t *len)
{
	int err = p->err;

	*text = NULL;
	*len = 0;
	if (!err && !p->buf)
		put(p, "", 0);
	err = p->err;
	if (!err) {
		*text = p->buf;
		*len = p->len;
		p->buf = NULL;
	}
	prom__free(p);
	return err;
}
