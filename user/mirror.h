/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Mirrors the registry into the BPF maps: installed as the registry's hooks,
 * it writes each changed app, worker and listener (with its slot table and
 * port bit) in the order the registry calls them, which never leaves the
 * data path naming a freed worker, nor a listener whose port bit is clear.
 * Map errors are logged and kept in mi->err (the first one) so the caller
 * can reconcile later; the registry stays the truth.
 */
#ifndef XSL_MIRROR_H
#define XSL_MIRROR_H

#include <stdbool.h>
#include "maps.h"
#include "registry.h"

struct xsl_mirror {
	struct xsl_registry *r;
	const struct xsl_maps *m;
	int err;
	/* The xsl_ports value as last written (valid once ports_loaded): each
	 * listener change rewrites it whole, without reading it back. */
	bool ports_loaded;
	struct xsl_port_filter ports;
};

void mirror__install(struct xsl_mirror *mi, struct xsl_registry *r, const struct xsl_maps *m);

int mirror__app(struct xsl_mirror *mi, uint32_t app);
int mirror__worker(struct xsl_mirror *mi, uint32_t worker);
/*
 * Also keeps the listener's port bit in xsl_ports: set before a live
 * listener is written, cleared (when no live listener of the registry has
 * that family, proto and port, any address) after a freed one is deleted, so
 * the data path never finds a listener whose bit is clear; and its wild bit
 * (records.h): cleared before an exact-address listener is written, set
 * after the last one of its port is deleted. Until
 * mirror__enable_port_filter(), bits go into the map's current value, read
 * once, whatever its enabled flag.
 */
int mirror__listener(struct xsl_mirror *mi, uint32_t listener);
/* Writes xsl_ports whole from the registry's live listeners, enabled = 1:
 * from then on the data path skips the listener lookups for ports no
 * listener has. The agent calls it once its registry is complete. */
int mirror__enable_port_filter(struct xsl_mirror *mi);
/* Writes every live object (apps, workers, the enabled port filter, then
 * listeners). */
int mirror__all(struct xsl_mirror *mi);

#endif /* XSL_MIRROR_H */
