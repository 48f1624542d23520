/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The map records of registry objects, exactly as the agent writes them into
 * xsl_apps, xsl_workers, xsl_listeners and xsl_slots. Pure C, no syscalls:
 * mirror.c writes what these build, and the unit tests build the same
 * records without BPF (restore.c is their inverse).
 *
 * Every function fills its outputs for live and freed objects alike (a freed
 * one keeps its index's gen and state FREE; a freed listener is deleted from
 * xsl_listeners by its key) and returns 0, or -EINVAL for an index out of
 * range (outputs untouched).
 */
#ifndef XSL_RECORDS_BUILD_H
#define XSL_RECORDS_BUILD_H

#include <stdint.h>
#include "registry.h"

/* rec: the xsl_apps value; ref (may be NULL): the xsl_app_cgroups value. */
int records__app(const struct xsl_registry *r, uint32_t app, struct xsl_app *rec,
		 struct xsl_app_ref *ref);
int records__worker(const struct xsl_registry *r, uint32_t worker, struct xsl_worker *rec);
/* key and val: the xsl_listeners entry; tab (may be NULL): the xsl_slots row,
 * each slot with the gen its worker has now (0 for an empty slot). */
int records__listener(const struct xsl_registry *r, uint32_t listener,
		      struct xsl_listener_key *key, struct xsl_listener *val,
		      struct xsl_slot_table *tab);

#endif /* XSL_RECORDS_BUILD_H */
