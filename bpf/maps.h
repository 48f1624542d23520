/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Every map of xsl, declared once and included by each BPF object. All are
 * pinned by name, so the XDP object loaded by `ip link`, the agent's objects
 * and any later loader share one set under the pin root. Identifiers must
 * match the names in include/xsl/maps.h.
 */
#ifndef XSL_BPF_MAPS_H
#define XSL_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xsl/limits.h"
#include "xsl/flow.h"
#include "xsl/records.h"
#include "xsl/events.h"
#include "xsl/stats.h"
#include "xsl/session.h"

#define XSL_MAX_CPUS 64

/* The session table: element 0 its header, then the buckets (session.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XSL_SESS_BUCKETS_DEFAULT + 1);
	__type(key, __u32);
	__type(value, struct xsl_sess_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xsl_sessions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XSL_MAX_LISTENERS);
	__type(key, struct xsl_listener_key);
	__type(value, struct xsl_listener);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xsl_listeners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XSL_MAX_LISTENERS);
	__type(key, __u32);
	__type(value, struct xsl_slot_table);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xsl_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XSL_MAX_WORKERS);
	__type(key, __u32);
	__type(value, struct xsl_worker);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xsl_workers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XSL_MAX_APPS);
	__type(key, __u32);
	__type(value, struct xsl_app);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xsl_apps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XSL_MAX_APPS);
	__type(key, __u64);
	__type(value, struct xsl_app_ref);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xsl_app_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, XSL_MAX_WORKERS * 4);
	__type(key, struct xsl_wsock_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xsl_wsocks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xsl_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xsl_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XSL_APP_STATS_ENTRIES);
	__type(key, __u32);
	__type(value, struct xsl_app_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xsl_app_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XSL_MAX_WORKERS);
	__type(key, __u32);
	__type(value, struct xsl_worker_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xsl_wrk_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, XSL_RINGBUF_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xsl_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, XSL_MAX_CPUS);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xsl_cpumap SEC(".maps");

/* One struct xsl_port_filter: the ports some listener has (see records.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xsl_port_filter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xsl_ports SEC(".maps");

/*
 * Flows XDP refused lately (table full), so sk_lookup, seeing the same
 * packet next, does not count the refusal again: one tag per slot, slot =
 * flow hash % XSL_REFUSED_SLOTS (session.h). Shared by all CPUs: a packet
 * steered to another CPU is seen there too. Not read by userspace.
 */
#define XSL_REFUSED_SLOTS	1024

struct xsl_refused_marks {
	__u32 tag[XSL_REFUSED_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xsl_refused_marks);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xsl_refused SEC(".maps");

#endif /* XSL_BPF_MAPS_H */
