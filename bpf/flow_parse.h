/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A frame to a flow key (server's view: the source is remote), as the XDP
 * program sees it: Ethernet, up to two VLAN tags, IPv4 or IPv6 (extension
 * headers skipped, fragments refused), TCP or UDP. Shared by xsl_xdp and
 * the benchmark's reference programs, so they parse the same way.
 */
#ifndef XSL_BPF_FLOW_PARSE_H
#define XSL_BPF_FLOW_PARSE_H

#include "parse.h"
#include "xsl/flow.h"
#include "xsl/stats.h"

_Static_assert(sizeof(struct xsl_flow_key) == 5 * 8, "xsl_flow_key is five words");

/* A parse failure, carried as a negative value: -(counter + 1). */
#define XSL_PARSE_FAIL(e)	(-1 - (int)XSL_PARSE_##e)

struct xsl_pkt {
	struct xsl_flow_key key;
	__u64 bytes;		/* the whole frame, as received */
	__u8 tcp_flags;		/* byte 13 of the TCP header */
};

/*
 * Fills all of *p from a TCP or UDP packet. Returns 0 or XSL_PARSE_FAIL()
 * (*p partly written). The key is assembled in registers and stored as its
 * five 8-byte words: the hash and the key compare then read what whole
 * stores wrote (a load spanning several narrower stores waits for them to
 * retire instead of being forwarded).
 */
static __always_inline int xsl_parse(struct xdp_md *ctx, struct xsl_pkt *p)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct xsl_ipv6_frag_hdr *fh;
	struct xsl_vlan_hdr *vlh;
	struct ipv6hdr *ip6h;
	struct ethhdr *eth;
	struct iphdr *iph;
	struct tcphdr *th;
	struct udphdr *uh;
	__u64 w[5], family;
	__u16 sport, dport;
	int proto, i;

	p->bytes = data_end - data;
	p->tcp_flags = 0;
	proto = parse_ethhdr(&nh, data_end, &eth);
	if (proto < 0)
		return XSL_PARSE_FAIL(ETH);
#pragma unroll
	for (i = 0; i < 2; i++) {
		if (!vlan_proto(proto))
			break;
		proto = parse_vlanhdr(&nh, data_end, &vlh);
		if (proto < 0)
			return XSL_PARSE_FAIL(VLAN);
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		proto = parse_iphdr(&nh, data_end, &iph);
		if (proto == PARSE_BAD)
			return XSL_PARSE_FAIL(IPV4_HDR);
		if (proto < 0)
			return XSL_PARSE_FAIL(IPV4);
		if (ipv4_is_fragment(iph))
			return XSL_PARSE_FAIL(FRAGMENT);
		family = XSL_AF_INET;
		w[1] = iph->saddr;
		w[2] = 0;
		w[3] = iph->daddr;
		w[4] = 0;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		proto = parse_ip6hdr(&nh, data_end, &ip6h);
		if (proto < 0)
			return XSL_PARSE_FAIL(IPV6);
		proto = parse_ip6_ext(&nh, data_end, proto);
		if (proto < 0)
			return XSL_PARSE_FAIL(IPV6_EXT);
		if (proto == IPPROTO_FRAGMENT) {
			if (parse_ip6_frag(&nh, data_end, &fh) < 0)
				return XSL_PARSE_FAIL(IPV6_EXT);
			return XSL_PARSE_FAIL(FRAGMENT);
		}
		family = XSL_AF_INET6;
		__builtin_memcpy(&w[1], &ip6h->saddr, 16);
		__builtin_memcpy(&w[3], &ip6h->daddr, 16);
	} else {
		return XSL_PARSE_FAIL(ETHERTYPE);
	}

	if (proto == IPPROTO_UDP) {
		if (parse_udphdr(&nh, data_end, &uh) < 0)
			return XSL_PARSE_FAIL(L4);
		sport = uh->source;
		dport = uh->dest;
	} else if (proto == IPPROTO_TCP) {
		if (parse_tcphdr(&nh, data_end, &th) < 0)
			return XSL_PARSE_FAIL(L4);
		sport = th->source;
		dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
	} else {
		return XSL_PARSE_FAIL(L4_PROTO);
	}
	/* struct xsl_flow_key's first word: family, proto, pad, rport, lport
	 * (ports as they are on the wire) */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	w[0] = family | (__u64)proto << 8 | (__u64)sport << 32 | (__u64)dport << 48;
#else
	w[0] = family << 56 | (__u64)proto << 48 | (__u64)sport << 16 | dport;
#endif
	__builtin_memcpy(&p->key, w, sizeof(w));
	return 0;
}

#endif /* XSL_BPF_FLOW_PARSE_H */
