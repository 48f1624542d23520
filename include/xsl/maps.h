/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Names of the pinned maps (BPF object names are at most 15 characters).
 * The BPF side declares maps with exactly these identifiers in bpf/maps.h;
 * userspace opens them as <pin root>/<name>.
 */
#ifndef XSL_MAPS_H
#define XSL_MAPS_H

#define XSL_PIN_ROOT_DEFAULT	"/sys/fs/bpf/tc/globals"

#define XSL_MAP_SESSIONS	"xsl_sessions"
#define XSL_MAP_LISTENERS	"xsl_listeners"
#define XSL_MAP_SLOTS		"xsl_slots"
#define XSL_MAP_WORKERS		"xsl_workers"
#define XSL_MAP_APPS		"xsl_apps"
#define XSL_MAP_APP_CGROUPS	"xsl_app_cgroups"
#define XSL_MAP_WSOCKS		"xsl_wsocks"
#define XSL_MAP_STATS		"xsl_stats"
#define XSL_MAP_APP_STATS	"xsl_app_stats"
#define XSL_MAP_WRK_STATS	"xsl_wrk_stats"
#define XSL_MAP_EVENTS		"xsl_events"
#define XSL_MAP_CPUMAP		"xsl_cpumap"
#define XSL_MAP_PORTS		"xsl_ports"
#define XSL_MAP_SK_OWNER	"xsl_sk_owner"
#define XSL_MAP_REFUSED		"xsl_refused"

#endif /* XSL_MAPS_H */
