// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Socket attribution, the decisions (see attribution.h). Sizes are small (a
 * pass has at most a few hundred sockets and holders), so plain scans.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "attribution.h"

static bool same_key(const struct xsl_listener_key *a, const struct xsl_listener_key *b)
{
	return !memcmp(a, b, sizeof(*a));
}

void attr__reset(struct xsl_attr *at)
{
	at->n = 0;
}

int attr__add(struct xsl_attr *at, uint64_t cookie, const struct xsl_listener_key *key, bool dual,
	      uint32_t worker, bool polls)
{
	struct xsl_attr_sock *s = NULL;

	for (unsigned int i = 0; i < at->n; i++) {
		if (at->socks[i].cookie == cookie && same_key(&at->socks[i].key, key)) {
			s = &at->socks[i];
			break;
		}
	}
	if (!s) {
		if (at->n == XSL_ATTR_MAX_SOCKS)
			return -ENOSPC;
		s = &at->socks[at->n++];
		*s = (struct xsl_attr_sock){ .cookie = cookie, .key = *key, .dual = dual };
	}
	s->polled |= polls;
	for (uint32_t h = 0; h < s->n_holder; h++) {
		if (s->holder[h] == worker) {
			s->polls[h] |= polls;
			return 0;
		}
	}
	if (s->n_holder == XSL_ATTR_MAX_HOLDERS)
		return -ENOSPC;
	s->polls[s->n_holder] = polls;
	s->holder[s->n_holder++] = worker;
	return 0;
}

/* Sockets of key that worker holds (only those it polls, with polled). */
static unsigned int held(const struct xsl_attr *at, const struct xsl_listener_key *key,
			 uint32_t worker, bool polled)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < at->n; i++) {
		const struct xsl_attr_sock *s = &at->socks[i];

		if (!same_key(&s->key, key))
			continue;
		for (uint32_t h = 0; h < s->n_holder; h++)
			n += s->holder[h] == worker && (!polled || s->polls[h]);
	}
	return n;
}

/* The first of socks[0..below) with key that serves worker, or NULL. */
static const struct xsl_attr_sock *server_of(const struct xsl_attr *at,
					     const struct xsl_listener_key *key, uint32_t worker,
					     unsigned int below)
{
	for (unsigned int i = 0; i < below; i++) {
		const struct xsl_attr_sock *s = &at->socks[i];

		if (!same_key(&s->key, key))
			continue;
		for (uint32_t k = 0; k < s->n_server; k++)
			if (s->server[k] == worker)
				return s;
	}
	return NULL;
}

/*
 * Each socket serves the candidates (its pollers if it has any, else its
 * holders) with the fewest sockets of its listener, unless an earlier
 * socket of the listener serves them already.
 */
void attr__choose(struct xsl_attr *at)
{
	for (unsigned int i = 0; i < at->n; i++) {
		struct xsl_attr_sock *s = &at->socks[i];
		unsigned int min = ~0u, cnt[XSL_ATTR_MAX_HOLDERS];

		for (uint32_t h = 0; h < s->n_holder; h++) {
			cnt[h] = ~0u;
			if (s->polled && !s->polls[h])
				continue;
			cnt[h] = held(at, &s->key, s->holder[h], s->polled);
			if (cnt[h] < min)
				min = cnt[h];
		}
		s->n_server = 0;
		for (uint32_t h = 0; h < s->n_holder; h++)
			if (cnt[h] == min && !server_of(at, &s->key, s->holder[h], i))
				s->server[s->n_server++] = s->holder[h];
	}
}

const struct xsl_attr_sock *attr__wanted(const struct xsl_attr *at,
					 const struct xsl_listener_key *key, uint32_t worker)
{
	return server_of(at, key, worker, at->n);
}

int attr__parse_tfd(const char *line, struct xsl_attr_file *f)
{
	unsigned long long ino;
	unsigned int dev;
	const char *p;

	if (strncmp(line, "tfd:", 4) || !(p = strstr(line, " ino:")))
		return -EINVAL;
	if (sscanf(p, " ino:%llx sdev:%x", &ino, &dev) != 2)
		return -EINVAL;
	/* the kernel's dev_t: major in the bits above 20 */
	*f = (struct xsl_attr_file){ .ino = ino, .major = dev >> 20, .minor = dev & 0xfffff };
	return 0;
}

bool attr__file_in(const struct xsl_attr_file *files, unsigned int n,
		   const struct xsl_attr_file *f)
{
	for (unsigned int i = 0; i < n; i++)
		if (files[i].ino == f->ino && files[i].major == f->major &&
		    files[i].minor == f->minor)
			return true;
	return false;
}
