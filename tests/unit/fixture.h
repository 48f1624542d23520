/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Fixture of the unit tests that drive a registry: cmocka setup/teardown
 * giving each test a fresh one, and checked shorthands for test bodies (a
 * failed call fails the test; each returns the new index). Include after
 * <cmocka.h>.
 */
#ifndef XSL_TESTS_UNIT_FIXTURE_H
#define XSL_TESTS_UNIT_FIXTURE_H

#include <stdint.h>
#include "registry.h"

/* *state becomes a new, empty struct xsl_registry *. */
int reg_setup(void **state);
int reg_teardown(void **state);

uint32_t attach_opts(struct xsl_registry *r, const char *name, const struct xsl_app_opts *o);
/* A worker of app for process pid (thread id 1000 + pid). */
uint32_t add_worker(struct xsl_registry *r, uint32_t app, uint32_t pid);
uint32_t add_listener_key(struct xsl_registry *r, uint32_t app, const struct xsl_listener_key *k);
/* A listener of app on UDP port (host order), any IPv4 address. */
uint32_t add_udp_listener(struct xsl_registry *r, uint32_t app, uint16_t port);
/* Worker w joins listener l's table. */
void serve(struct xsl_registry *r, uint32_t l, uint32_t w);

#endif /* XSL_TESTS_UNIT_FIXTURE_H */
