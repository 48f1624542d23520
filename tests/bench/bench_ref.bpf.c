// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Reference programs for bench_xdp (issue 11): what an LRU-hash session
 * design pays per packet, measured in the same run as xsl.
 *
 *   ref_lru    parses the frame as xsl_xdp does (flow_parse.h) and looks
 *              the 40-byte key up in a 1M-entry LRU_HASH, nothing more on a
 *              hit (no counters, no clock: the lookup alone); a miss inserts
 *              (BPF_NOEXIST), evicting when full.
 *   ref_parse  the same parse to a whole flow key, nothing else.
 * Private maps (not pinned). Built by make bench, not by make.
 */
#include "parse.h"
#include "flow_parse.h"
#include "bench_ref.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 20);
	__type(key, struct xsl_flow_key);
	__type(value, struct ref_session);
} ref_sessions SEC(".maps");

SEC("xdp")
int ref_lru(struct xdp_md *ctx)
{
	struct ref_session *s, n;
	struct xsl_pkt p;

	if (xsl_parse(ctx, &p))
		return XDP_PASS;
	s = bpf_map_lookup_elem(&ref_sessions, &p.key);
	if (s)
		return s->worker < 0xffff ? XDP_PASS : XDP_DROP;
	__builtin_memset(&n, 0, sizeof(n));
	n.packets = 1;
	n.bytes = p.bytes;
	n.worker_gen = 1;
	n.app = 1;
	bpf_map_update_elem(&ref_sessions, &p.key, &n, BPF_NOEXIST);
	return XDP_PASS;
}

SEC("xdp")
int ref_parse(struct xdp_md *ctx)
{
	struct xsl_pkt p;

	if (xsl_parse(ctx, &p))
		return XDP_PASS;
	/* uses the whole key, so no part of the parse is optimised away */
	return (p.key.family | p.key.lport | p.key.raddr[0] | p.key.raddr[3] | p.key.laddr[0] |
		p.key.laddr[3]) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
