// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Registry fixture of the unit tests: see fixture.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "fixture.h"

int reg_setup(void **state)
{
	struct xsl_registry *r = registry__new();

	if (!r)
		return -1;
	*state = r;
	return 0;
}

int reg_teardown(void **state)
{
	registry__free(*state);
	return 0;
}

uint32_t attach_opts(struct xsl_registry *r, const char *name, const struct xsl_app_opts *o)
{
	uint32_t a = XSL_NO_APP;

	assert_int_equal(registry__attach_app(r, name, o, &a), 0);
	return a;
}

uint32_t add_worker(struct xsl_registry *r, uint32_t app, uint32_t pid)
{
	uint32_t w = XSL_NO_WORKER;

	assert_int_equal(registry__worker_add(r, app, pid, 1000 + pid, &w), 0);
	return w;
}

uint32_t add_listener_key(struct xsl_registry *r, uint32_t app, const struct xsl_listener_key *k)
{
	uint32_t l = XSL_NO_WORKER;

	assert_int_equal(registry__listener_add(r, app, k, &l), 0);
	return l;
}

uint32_t add_udp_listener(struct xsl_registry *r, uint32_t app, uint16_t port)
{
	struct xsl_listener_key k;

	memset(&k, 0, sizeof(k));
	k.family = XSL_AF_INET;
	k.proto = IPPROTO_UDP;
	k.port = htons(port);
	return add_listener_key(r, app, &k);
}

void serve(struct xsl_registry *r, uint32_t l, uint32_t w)
{
	assert_int_equal(registry__listener_add_worker(r, l, w), 0);
}
