/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packet header parsers for XDP. Contract of every parse_X():
 *
 *   int parse_X(struct hdr_cursor *nh, void *data_end, struct X **hdr)
 *
 * checks that the whole header at nh->pos fits before data_end, stores a
 * pointer to it in *hdr, advances nh->pos past it and returns the next
 * protocol (an ethertype in network byte order after L2 headers, an IP
 * protocol number after L3 headers, 0 after L4 headers). On failure it
 * returns PARSE_TRUNC when the header does not fit or PARSE_BAD when it is
 * malformed, and leaves the cursor alone. Bounds checks are always written
 * `if ((void *)(p + 1) > data_end)` (or with an explicit byte length) right
 * before the access, the form the verifier tracks. parse_ip6_ext() walks a
 * chain rather than one header and says so.
 *
 * Only UAPI headers: no vmlinux.h.
 */
#ifndef XSL_BPF_PARSE_H
#define XSL_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define PARSE_TRUNC	(-1)
#define PARSE_BAD	(-2)

/* IPv6 extension headers walked before giving up (verifier bound). */
#define XSL_IPV6_MAX_EXT	6

#define XSL_IP_MF	0x2000
#define XSL_IP_OFFSET	0x1fff

struct hdr_cursor {
	void *pos;
};

/* 802.1Q / 802.1AD tag, as it follows the outer ethertype. */
struct xsl_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* The common start of hop-by-hop, routing and destination-options headers. */
struct xsl_ipv6_opt_hdr {
	__u8 nexthdr;
	__u8 hdrlen;		/* in 8-byte units, not counting the first 8 */
};

struct xsl_ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

static __always_inline int vlan_proto(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

/* Returns the ethertype (network byte order). */
static __always_inline int parse_ethhdr(struct hdr_cursor *nh, void *data_end,
					struct ethhdr **ethhdr)
{
	struct ethhdr *eth = nh->pos;

	if ((void *)(eth + 1) > data_end)
		return PARSE_TRUNC;
	nh->pos = eth + 1;
	*ethhdr = eth;
	return eth->h_proto;
}

/* Returns the encapsulated ethertype (network byte order). */
static __always_inline int parse_vlanhdr(struct hdr_cursor *nh, void *data_end,
					 struct xsl_vlan_hdr **vlh)
{
	struct xsl_vlan_hdr *v = nh->pos;

	if ((void *)(v + 1) > data_end)
		return PARSE_TRUNC;
	nh->pos = v + 1;
	*vlh = v;
	return v->encap_proto;
}

/*
 * Returns the IP protocol. The header length comes from ihl, so options are
 * skipped; a version other than 4 or an ihl below 5 is PARSE_BAD.
 */
static __always_inline int parse_iphdr(struct hdr_cursor *nh, void *data_end,
				       struct iphdr **iphdr)
{
	struct iphdr *iph = nh->pos;
	__u32 hdrsize;

	if ((void *)(iph + 1) > data_end)
		return PARSE_TRUNC;
	if (iph->version != 4 || iph->ihl < 5)
		return PARSE_BAD;
	hdrsize = iph->ihl * 4;
	if (nh->pos + hdrsize > data_end)
		return PARSE_TRUNC;
	nh->pos += hdrsize;
	*iphdr = iph;
	return iph->protocol;
}

static __always_inline int ipv4_is_fragment(const struct iphdr *iph)
{
	return (iph->frag_off & bpf_htons(XSL_IP_MF | XSL_IP_OFFSET)) != 0;
}

/* Returns the next header of the fixed IPv6 header. */
static __always_inline int parse_ip6hdr(struct hdr_cursor *nh, void *data_end,
					struct ipv6hdr **ip6hdr)
{
	struct ipv6hdr *ip6h = nh->pos;

	if ((void *)(ip6h + 1) > data_end)
		return PARSE_TRUNC;
	nh->pos = ip6h + 1;
	*ip6hdr = ip6h;
	return ip6h->nexthdr;
}

static __always_inline int ipv6_skippable_ext(int nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
	       nexthdr == IPPROTO_DSTOPTS;
}

/*
 * Walks hop-by-hop, routing and destination-options headers starting with
 * nexthdr, at most XSL_IPV6_MAX_EXT of them, and returns the first other
 * next header: the upper-layer protocol, or IPPROTO_FRAGMENT with the
 * cursor on the fragment header. A chain longer than the bound is PARSE_BAD.
 */
static __always_inline int parse_ip6_ext(struct hdr_cursor *nh, void *data_end, int nexthdr)
{
	int i;

#pragma unroll
	for (i = 0; i < XSL_IPV6_MAX_EXT; i++) {
		struct xsl_ipv6_opt_hdr *oh = nh->pos;
		__u32 len;

		if (!ipv6_skippable_ext(nexthdr))
			return nexthdr;
		if ((void *)(oh + 1) > data_end)
			return PARSE_TRUNC;
		len = ((__u32)oh->hdrlen + 1) * 8;
		if (nh->pos + len > data_end)
			return PARSE_TRUNC;
		nexthdr = oh->nexthdr;
		nh->pos += len;
	}
	return ipv6_skippable_ext(nexthdr) ? PARSE_BAD : nexthdr;
}

/* Returns the next header after an IPv6 fragment header. */
static __always_inline int parse_ip6_frag(struct hdr_cursor *nh, void *data_end,
					  struct xsl_ipv6_frag_hdr **fh)
{
	struct xsl_ipv6_frag_hdr *f = nh->pos;

	if ((void *)(f + 1) > data_end)
		return PARSE_TRUNC;
	nh->pos = f + 1;
	*fh = f;
	return f->nexthdr;
}

/* Only the fixed 20 bytes are needed (ports and flags); options are not read. */
static __always_inline int parse_tcphdr(struct hdr_cursor *nh, void *data_end,
					struct tcphdr **tcphdr)
{
	struct tcphdr *th = nh->pos;

	if ((void *)(th + 1) > data_end)
		return PARSE_TRUNC;
	nh->pos = th + 1;
	*tcphdr = th;
	return 0;
}

static __always_inline int parse_udphdr(struct hdr_cursor *nh, void *data_end,
					struct udphdr **udphdr)
{
	struct udphdr *uh = nh->pos;

	if ((void *)(uh + 1) > data_end)
		return PARSE_TRUNC;
	nh->pos = uh + 1;
	*udphdr = uh;
	return 0;
}

#endif /* XSL_BPF_PARSE_H */
