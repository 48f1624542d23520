/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Flow and listener keys. One layout for IPv4 and IPv6: an IPv4 address sits
 * in addr[0] with addr[1..3] zero and family AF_INET; addresses and ports are
 * in network byte order. Keys are hashed by the kernel, so every padding byte
 * must be zeroed by whoever builds one.
 */
#ifndef XSL_FLOW_H
#define XSL_FLOW_H

#include <linux/types.h>

#define XSL_AF_INET	2
#define XSL_AF_INET6	10
/* IPPROTO_TCP and IPPROTO_UDP, for headers here that cannot include
 * <netinet/in.h> or <linux/in.h> (which of them depends on the includer) */
#define XSL_IPPROTO_TCP	6
#define XSL_IPPROTO_UDP	17

/* A session: seen from the server, "local" is the listener side. */
struct xsl_flow_key {
	__u8 family;
	__u8 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	__u16 pad;
	__be16 rport;
	__be16 lport;
	__u32 raddr[4];
	__u32 laddr[4];
} __attribute__((aligned(8)));	/* compared as five 8-byte words */
_Static_assert(sizeof(struct xsl_flow_key) == 40, "xsl_flow_key layout");

/* A listener: (proto, local address, port); all-zero addr is the wildcard. */
struct xsl_listener_key {
	__u8 family;
	__u8 proto;
	__be16 port;
	__u32 addr[4];
};
_Static_assert(sizeof(struct xsl_listener_key) == 20, "xsl_listener_key layout");

#endif /* XSL_FLOW_H */
