/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Mirrors the registry into the BPF maps: installed as the registry's hooks,
 * it writes each changed app, worker and listener (with its slot table) in
 * the order the registry calls them, which never leaves the data path
 * naming a freed worker. Map errors are logged and kept in mi->err (the
 * first one) so the caller can reconcile later; the registry stays the truth.
 */
#ifndef XSL_MIRROR_H
#define XSL_MIRROR_H

#include "maps.h"
#include "registry.h"

struct xsl_mirror {
	struct xsl_registry *r;
	const struct xsl_maps *m;
	int err;
};

void mirror__install(struct xsl_mirror *mi, struct xsl_registry *r, const struct xsl_maps *m);

int mirror__app(struct xsl_mirror *mi, uint32_t app);
int mirror__worker(struct xsl_mirror *mi, uint32_t worker);
int mirror__listener(struct xsl_mirror *mi, uint32_t listener);
/* Writes every live object (apps, workers, then listeners). */
int mirror__all(struct xsl_mirror *mi);

#endif /* XSL_MIRROR_H */
