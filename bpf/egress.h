/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cgroup_skb/egress in each app cgroup (with the socket hooks): a packet a
 * worker sends on a flow that has a session makes the session assured
 * (DESIGN.md "Data path" item 6: a new flow may take only an unassured or
 * an expired way). For TCP the handshake decides (XDP marks it on the
 * client's ACK), so the SYN-ACK does not count here; a later segment still
 * marks a session XDP never saw (loopback). Always lets the packet go.
 *
 * Cost per egress packet: two bpf_skb_load_bytes() calls, the hash and the
 * table lookup; the tag line is written once per session. Included by
 * xsl_cgroup.bpf.c, so it is attached and pinned like the other socket
 * hooks.
 */
#ifndef XSL_BPF_EGRESS_H
#define XSL_BPF_EGRESS_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include "maps.h"
#include "stats.h"
#include "sesstab.h"

#define XSL_EG_TCP_SYN	0x02

/* The flow key (server's view) of an outgoing packet; 0, or -1 when it is
 * not TCP/UDP or a SYN. */
static __always_inline int xsl_egress_key(struct __sk_buff *skb, struct xsl_flow_key *k)
{
	__u8 l4[14];
	__u32 off;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return -1;
		if (ip.frag_off & bpf_htons(0x1fff))
			return -1;
		k->family = XSL_AF_INET;
		k->proto = ip.protocol;
		k->raddr[0] = ip.daddr;
		k->laddr[0] = ip.saddr;
		off = ip.ihl * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return -1;
		k->family = XSL_AF_INET6;
		k->proto = ip6.nexthdr;
		__builtin_memcpy(k->raddr, &ip6.daddr, sizeof(k->raddr));
		__builtin_memcpy(k->laddr, &ip6.saddr, sizeof(k->laddr));
		off = sizeof(ip6);
	} else {
		return -1;
	}
	if (k->proto == IPPROTO_UDP) {
		if (bpf_skb_load_bytes(skb, off, l4, 4))
			return -1;
	} else if (k->proto == IPPROTO_TCP) {
		if (bpf_skb_load_bytes(skb, off, l4, sizeof(l4)))
			return -1;
		if (l4[13] & XSL_EG_TCP_SYN)
			return -1;
	} else {
		return -1;
	}
	__builtin_memcpy(&k->lport, &l4[0], 2);
	__builtin_memcpy(&k->rport, &l4[2], 2);
	return 0;
}

SEC("cgroup_skb/egress")
int xsl_egress(struct __sk_buff *skb)
{
	struct xsl_sess_ctx c;
	struct xsl_flow_key k;
	struct xsl_sref r;

	__builtin_memset(&k, 0, sizeof(k));
	__builtin_memset(&r, 0, sizeof(r));
	if (xsl_egress_key(skb, &k))
		return 1;
	xsl_sess_ctx_init(&c, &k);
	if (!xsl_sess_find(&c, &k, &r))
		return 1;
	if (!(xsl_way_state(r.b, r.way) & XSL_WAY_ASSURED)) {
		xsl_way_set(r.b, r.way, XSL_WAY_ASSURED);
		xsl_count(xsl_stats_get(), XSL_STAT_SESSION_ASSURED);
	}
	return 1;
}

#endif /* XSL_BPF_EGRESS_H */
