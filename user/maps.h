/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* File descriptors of the pinned xsl maps under one pin root. */
#ifndef XSL_USER_MAPS_H
#define XSL_USER_MAPS_H

#include <stddef.h>

#define XSL_MAPS_LIST(X)			\
	X(sessions, XSL_MAP_SESSIONS)		\
	X(listeners, XSL_MAP_LISTENERS)		\
	X(slots, XSL_MAP_SLOTS)			\
	X(workers, XSL_MAP_WORKERS)		\
	X(apps, XSL_MAP_APPS)			\
	X(app_cgroups, XSL_MAP_APP_CGROUPS)	\
	X(wsocks, XSL_MAP_WSOCKS)		\
	X(stats, XSL_MAP_STATS)			\
	X(app_stats, XSL_MAP_APP_STATS)		\
	X(wrk_stats, XSL_MAP_WRK_STATS)		\
	X(events, XSL_MAP_EVENTS)		\
	X(cpumap, XSL_MAP_CPUMAP)		\
	X(ports, XSL_MAP_PORTS)

struct xsl_maps {
#define XSL__MAP_FIELD(field, name) int field;
	XSL_MAPS_LIST(XSL__MAP_FIELD)
#undef XSL__MAP_FIELD
};

/* Sets every fd to -1. */
void xsl_maps__init(struct xsl_maps *m);
/* Opens every pinned map under pin_root; -ENOENT names the missing one. */
int xsl_maps__open(struct xsl_maps *m, const char *pin_root);
void xsl_maps__close(struct xsl_maps *m);
/*
 * Maps the session table xsl_sessions (fd) read-write: 0 with *mem and *len
 * (the whole table, header included), or a negative errno.
 */
int xsl_maps__mmap_sessions(int fd, void **mem, size_t *len);
void xsl_maps__munmap_sessions(void *mem, size_t len);
/* Writes a fresh table's header with a random seed (0 when it already has
 * one). */
int xsl_maps__init_sessions(int fd);
/* Unpins every xsl map under pin_root (missing pins are fine). */
int xsl_maps__unpin(const char *pin_root);

#endif /* XSL_USER_MAPS_H */
