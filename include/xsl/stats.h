/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Global data-path counters (per-CPU, one struct in xsl_stats[0]). Each list
 * is an X-macro so the enum and the metric label names come from one place.
 * The first five counters are indexed by XDP action (XDP_ABORTED..XDP_REDIRECT).
 * drop[] counts drops of every hook by reason: sum(drop) == XDP_DROP + SK_DROP.
 */
#ifndef XSL_STATS_H
#define XSL_STATS_H

#include <linux/types.h>

#define XSL_STAT_LIST(X)					\
	X(XDP_ABORTED, "xdp_aborted")				\
	X(XDP_DROP, "xdp_drop")					\
	X(XDP_PASS, "xdp_pass")					\
	X(XDP_TX, "xdp_tx")					\
	X(XDP_REDIRECT, "xdp_redirect")				\
	X(LOOKUP_HIT, "lookup_hit")				\
	X(LOOKUP_MISS, "lookup_miss")				\
	X(SESSION_CREATED, "session_created")			\
	X(SESSION_REASSIGNED, "session_reassigned")		\
	X(SESSION_CLOSING, "session_closing")			\
	X(SESSION_EVICTED, "session_evicted")			\
	X(SESSION_REFUSED, "session_refused")			\
	X(SESSION_ASSURED, "session_assured")			\
	X(NOT_OURS, "not_ours")					\
	X(TCP_MISS_NOT_SYN, "tcp_miss_not_syn")			\
	X(SK_ASSIGNED, "sk_assigned")				\
	X(SK_NO_SOCKET, "sk_no_socket")				\
	X(SK_NOT_OURS, "sk_not_ours")				\
	X(SK_REPICKED, "sk_repicked")				\
	X(SK_DROP, "sk_drop")					\
	X(EVENTS_LOST, "events_lost")

#define XSL_DROP_LIST(X)					\
	X(NO_WORKER, "no_worker")				\
	X(WORKER_GONE, "worker_gone")				\
	X(NO_SOCKET, "no_socket")				\
	X(SESSION_CREATE, "session_create")

#define XSL_PARSE_LIST(X)					\
	X(ETH, "eth_truncated")					\
	X(VLAN, "vlan_truncated")				\
	X(IPV4, "ipv4_truncated")				\
	X(IPV4_HDR, "ipv4_bad_header")				\
	X(IPV6, "ipv6_truncated")				\
	X(IPV6_EXT, "ipv6_ext_truncated")			\
	X(L4, "l4_truncated")					\
	X(FRAGMENT, "fragment")					\
	X(ETHERTYPE, "unknown_ethertype")			\
	X(L4_PROTO, "unknown_l4_proto")

#define XSL__ENUM_STAT(n, s) XSL_STAT_##n,
#define XSL__ENUM_DROP(n, s) XSL_DROP_##n,
#define XSL__ENUM_PARSE(n, s) XSL_PARSE_##n,
enum xsl_stat { XSL_STAT_LIST(XSL__ENUM_STAT) XSL_STAT__MAX };
enum xsl_drop_reason { XSL_DROP_LIST(XSL__ENUM_DROP) XSL_DROP__MAX };
enum xsl_parse_error { XSL_PARSE_LIST(XSL__ENUM_PARSE) XSL_PARSE__MAX };
#undef XSL__ENUM_STAT
#undef XSL__ENUM_DROP
#undef XSL__ENUM_PARSE

/* xsl_stats: per-CPU array with one entry. */
struct xsl_stats {
	__u64 stat[XSL_STAT__MAX];
	__u64 drop[XSL_DROP__MAX];
	__u64 parse[XSL_PARSE__MAX];
};

#endif /* XSL_STATS_H */
