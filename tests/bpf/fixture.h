/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Fixture for the BPF_PROG_TEST_RUN tests of the XDP program: a private,
 * unpinned instance of the xsl_xdp skeleton per test, helpers that fill its
 * maps the way the agent would, a packet builder, and readers for sessions
 * and per-CPU counters (summed over CPUs).
 *
 * All helpers return 0 or a negative errno. Addresses are strings parsed by
 * inet_pton ("10.0.0.1", "fd00::1"); NULL or an all-zero address is the
 * wildcard where a listener is meant. Ports are host byte order here and are
 * converted when written into packets and keys.
 */
#ifndef XSL_TESTS_BPF_FIXTURE_H
#define XSL_TESTS_BPF_FIXTURE_H

#include <stddef.h>
#include <linux/types.h>
#include "xsl/flow.h"
#include "xsl/records.h"
#include "xsl/stats.h"
#include "sesstab.h"

/* Sessions map size of a test instance unless a test asks otherwise. */
#define FX_DEFAULT_SESSIONS	4096
#define FX_PKT_MAX		512

struct xsl_xdp;

struct fx {
	struct xsl_xdp *skel;
	int prog_fd;
	int ncpus;
	void *sess_mem;		/* the session table, mapped */
	size_t sess_len;
	struct sesstab tab;	/* seeded with XSL_HASH_SEED: fx_slot_of() holds */
};

/* Opens and loads a fresh instance; max_sessions 0 means FX_DEFAULT_SESSIONS
 * (rounded up to whole buckets of a power-of-two table). */
int fx_open(struct fx *fx, __u32 max_sessions);
void fx_close(struct fx *fx);
/* Maps a loaded instance's session table and writes its header with
 * XSL_HASH_SEED (fx_open does it; for instances loaded otherwise). */
int fx_table_init(struct fx *fx);

/* cmocka setup/teardown: *state becomes a struct fx * loaded with defaults. */
int fx_setup(void **state);
int fx_teardown(void **state);

/* Map contents, written as the agent would write them. */
int fx_app(struct fx *fx, __u32 app, __u32 gen, __u8 policy, __u8 flags);
int fx_app_free(struct fx *fx, __u32 app);
int fx_worker(struct fx *fx, __u32 worker, __u32 gen, __u32 app, __u32 app_gen, __s32 cpu);
int fx_worker_free(struct fx *fx, __u32 worker);
int fx_listener(struct fx *fx, int family, __u8 proto, const char *addr, __u16 port,
		__u32 index, __u32 app, __u32 app_gen, __u32 n_workers);
/* Sets the XSL_LISTENER_F_* flags of an existing listener. */
int fx_listener_flags(struct fx *fx, int family, __u8 proto, const char *addr, __u16 port,
		      __u32 flags);
/* Fills a listener's whole table round-robin: slot i = workers[i % n]. */
int fx_slots(struct fx *fx, __u32 index, const __u32 *workers, const __u32 *gens, unsigned int n);
int fx_slot_set(struct fx *fx, __u32 index, __u32 slot, __u32 worker, __u32 gen);

/*
 * The usual setup: app 1 (gen 1, given policy and flags), workers 0..n-1
 * (gen 1, no CPU), a wildcard listener (index 0) on (family, proto, port)
 * with a round-robin table over the workers.
 */
int fx_simple(struct fx *fx, int family, __u8 proto, __u16 port, unsigned int n_workers,
	      __u8 policy);

/* Slot of a flow in a listener table, as the program computes it. */
__u32 fx_slot_of(const struct xsl_flow_key *k);

/* What to build. Zeroed then filled by fx_pkt_init(); tweak fields after. */
struct fx_pkt {
	int family;		/* XSL_AF_INET or XSL_AF_INET6 */
	__u8 proto;		/* IP protocol of the L4 header */
	__u32 saddr[4];		/* network order, IPv4 in [0] */
	__u32 daddr[4];
	__u16 sport, dport;	/* host order */
	__u8 tcp_flags;		/* byte 13 of the TCP header */
	int n_vlans;		/* tags before the L3 ethertype, at most 4 */
	__u16 vlan_tpid[4];	/* 0: 0x8100 */
	__u16 ethertype;	/* 0: from family */
	int ip_opt_len;		/* IPv4 option bytes, multiple of 4, at most 40 */
	int set_ihl;		/* 0: ihl from ip_opt_len; 1: write ihl as is */
	int ihl;
	__u16 frag_off;		/* IPv4 frag_off (host order: 0x2000 MF | offset) */
	int n_ext;		/* IPv6 extension headers, in order */
	__u8 ext[8];		/* IPPROTO_HOPOPTS/ROUTING/DSTOPTS/FRAGMENT */
	__u16 frag6_off;	/* fragment header's offset+M field, host order */
	int payload;		/* L4 payload bytes */
};

int fx_pkt_init(struct fx_pkt *p, int family, __u8 proto, const char *src, __u16 sport,
		const char *dst, __u16 dport);

/* Where each header ends in a built packet, and the parse counter a packet
 * cut inside it must hit. */
struct fx_layout {
	int n;
	struct {
		size_t end;
		int parse;	/* enum xsl_parse_error */
	} seg[16];
};

/* Builds the frame into buf; returns its length or a negative errno. */
int fx_build(const struct fx_pkt *p, __u8 *buf, size_t cap, struct fx_layout *lay);
/* The session key the program must derive from the packet. */
void fx_key(const struct fx_pkt *p, struct xsl_flow_key *k);

/* Runs the program once on a frame (any length, even below ETH_HLEN). */
int fx_run(struct fx *fx, const void *frame, size_t len, __u32 *action);
/* Builds p and runs it. */
int fx_send(struct fx *fx, const struct fx_pkt *p, __u32 *action);

int fx_stats(struct fx *fx, struct xsl_stats *out);
int fx_app_stats(struct fx *fx, __u32 app, struct xsl_app_stats *out);
int fx_wrk_stats(struct fx *fx, __u32 worker, struct xsl_worker_stats *out);
/* 0 with *out filled, or -ENOENT. */
int fx_session(struct fx *fx, const struct xsl_flow_key *k, struct xsl_session *out);
int fx_session_put(struct fx *fx, const struct xsl_flow_key *k, const struct xsl_session *s);
/* Number of sessions in the table, or a negative errno. */
int fx_session_count(struct fx *fx);
/* xsl_ports, read-modify-write: the enabled flag, and the bit of one
 * (family, proto, port) with every other bit kept. */
int fx_port_filter(struct fx *fx, int enabled);
int fx_port_bit(struct fx *fx, int family, __u8 proto, __u16 port, int on);
/* Sets (on) or clears the wild bit of (family, proto, port): wildcard
 * listeners only there, no exact-address lookup. */
int fx_port_wild(struct fx *fx, int family, __u8 proto, __u16 port, int on);
/* Adds a cpumap entry so a redirect to cpu can succeed. */
int fx_cpumap_add(struct fx *fx, __u32 cpu);

/* Sum of stat[XDP_ABORTED..XDP_REDIRECT], of drop[] and of parse[]. */
__u64 fx_sum_actions(const struct xsl_stats *s);
__u64 fx_sum_drops(const struct xsl_stats *s);
__u64 fx_sum_parse(const struct xsl_stats *s);

/* File descriptor of a map of the instance, by its name in include/xsl/maps.h. */
int fx_map_fd(struct fx *fx, const char *name);

/* Shorthands for test bodies, failing the test (cmocka) where the call fails:
 * the summed xsl_stats, and the verdict of a built packet. */
struct xsl_stats get_stats(struct fx *fx);
__u32 send_pkt(struct fx *fx, const struct fx_pkt *p);

/* Runs the shell command made from fmt (system(3)'s status). */
int fx_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* XSL_TESTS_BPF_FIXTURE_H */
