// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * XDP fast path (DESIGN.md "Data path"): parse to a TCP/UDP flow key, find
 * or create its session, deliver it to the session's worker (XDP_PASS, or a
 * cpumap redirect to the worker's CPU when the app steers).
 *
 * Verdicts: anything not parsed, not ours or not a new flow passes untouched;
 * the only drops are the counted reasons of xsl_drop(). Each packet counts
 * exactly one stat[XDP_*] at the single exit of xsl_xdp().
 *
 * Loadable by `ip link set dev DEV xdp obj xsl_xdp.bpf.o sec xdp` (one
 * program, maps pinned by name) and by libxdp.
 *
 * Chaining (`xslctl xdp attach DEV --then PROG`, docs/xdp-coexist.md): every
 * packet whose verdict is XDP_PASS is then tail-called into slot 0 of
 * xsl_xdp_next, the operator's XDP program, whose verdict is final. The map
 * is not pinned: each attached copy of this program has its own, so each
 * device its own next program. Empty (the usual case), the tail call does
 * nothing and the packet passes. A chained copy (xsl_chained) makes no
 * session for a new flow: the next program may drop the packet, so sk_lookup
 * makes it for the packets that reach the stack; nor does it steer a packet
 * to a CPU, past the next program.
 */
#include "maps.h"
#include "parse.h"
#include "stats.h"
#include "session.h"

#define XSL_TCP_FIN	0x01
#define XSL_TCP_SYN	0x02
#define XSL_TCP_RST	0x04
#define XSL_TCP_ACK	0x10

/* Not a verdict: look the session up again (stale one removed, or raced). */
#define XSL_RETRY	(-1)

/* A parse failure, carried as a negative value: -(counter + 1). */
#define XSL_PARSE_FAIL(e)	(-1 - (int)XSL_PARSE_##e)

struct xsl_pkt {
	struct xsl_flow_key key;
	__u64 bytes;		/* the whole frame, as received */
	__u8 tcp_flags;		/* byte 13 of the TCP header */
};

/* Fills p->key from a TCP or UDP packet. Returns 0 or XSL_PARSE_FAIL(). */
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
	int proto, i;

	p->bytes = data_end - data;
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
		p->key.family = XSL_AF_INET;
		p->key.raddr[0] = iph->saddr;
		p->key.laddr[0] = iph->daddr;
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
		p->key.family = XSL_AF_INET6;
		__builtin_memcpy(p->key.raddr, &ip6h->saddr, sizeof(p->key.raddr));
		__builtin_memcpy(p->key.laddr, &ip6h->daddr, sizeof(p->key.laddr));
	} else {
		return XSL_PARSE_FAIL(ETHERTYPE);
	}

	if (proto == IPPROTO_UDP) {
		if (parse_udphdr(&nh, data_end, &uh) < 0)
			return XSL_PARSE_FAIL(L4);
		p->key.rport = uh->source;
		p->key.lport = uh->dest;
	} else if (proto == IPPROTO_TCP) {
		if (parse_tcphdr(&nh, data_end, &th) < 0)
			return XSL_PARSE_FAIL(L4);
		p->key.rport = th->source;
		p->key.lport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
	} else {
		return XSL_PARSE_FAIL(L4_PROTO);
	}
	p->key.proto = proto;
	return 0;
}

/* Set by the agent before loading a copy it chains (--then); see the top. */
const volatile __u8 xsl_chained = 0;

/* XDP_PASS, or the redirect to the worker's CPU when the app steers. */
static __always_inline int xsl_deliver(struct xsl_target *t, __u32 app, struct xsl_app *a)
{
	__s32 cpu = XSL_READ_ONCE(t->w->cpu);

	if (cpu < 0 || xsl_chained)
		return XDP_PASS;
	if (!a)
		a = bpf_map_lookup_elem(&xsl_apps, &app);
	if (!a || !(a->flags & XSL_APP_F_CPU_STEER))
		return XDP_PASS;
	/* No cpumap entry for that CPU: the fallback action, XDP_PASS. */
	return bpf_redirect_map(&xsl_cpumap, (__u32)cpu, XDP_PASS);
}

/*
 * FIN or RST marks the session CLOSING (the agent expires it after the
 * linger); a new SYN on the same 4-tuple reopens it.
 */
static __always_inline void xsl_tcp_track(struct xsl_stats *st, struct xsl_session *s, __u8 flags)
{
	if (flags & (XSL_TCP_FIN | XSL_TCP_RST)) {
		if (s->state != XSL_SESSION_CLOSING) {
			s->state = XSL_SESSION_CLOSING;
			xsl_count(st, XSL_STAT_SESSION_CLOSING);
		}
	} else if ((flags & (XSL_TCP_SYN | XSL_TCP_ACK)) == XSL_TCP_SYN &&
		   s->state == XSL_SESSION_CLOSING) {
		s->state = XSL_SESSION_OPEN;
	}
}

static __always_inline int xsl_on_hit(struct xsl_stats *st, struct xsl_pkt *p,
				      struct xsl_session *s)
{
	struct xsl_target t;
	__u32 app = s->app;
	int err;

	err = xsl_session_resolve(st, &p->key, s, &t);
	if (err == -ESTALE) {
		bpf_map_delete_elem(&xsl_sessions, &p->key);
		return XSL_RETRY;
	}
	xsl_count(st, XSL_STAT_LOOKUP_HIT);
	if (err == -ESHUTDOWN)
		return xsl_drop(st, XSL_DROP_WORKER_GONE, app);
	if (err)
		return xsl_drop(st, XSL_DROP_NO_WORKER, app);

	xsl_session_touch(s, 1, p->bytes, xsl_now_ns());
	if (p->key.proto == IPPROTO_TCP)
		xsl_tcp_track(st, s, p->tcp_flags);
	xsl_count_delivery(app, t.worker, p->bytes);
	return xsl_deliver(&t, app, NULL);
}

static __always_inline int xsl_on_miss(struct xsl_stats *st, struct xsl_pkt *p)
{
	struct xsl_listener *l;
	struct xsl_target t;
	struct xsl_app *a;
	__u32 app;
	int err;

	xsl_count(st, XSL_STAT_LOOKUP_MISS);
	l = xsl_listener_find(&p->key);
	if (!l) {
		xsl_count(st, XSL_STAT_NOT_OURS);
		return XDP_PASS;
	}
	/* Only a SYN opens a TCP session; the rest is the stack's business. */
	if (p->key.proto == IPPROTO_TCP &&
	    (p->tcp_flags & (XSL_TCP_SYN | XSL_TCP_ACK)) != XSL_TCP_SYN) {
		xsl_count(st, XSL_STAT_TCP_MISS_NOT_SYN);
		return XDP_PASS;
	}
	app = l->app;
	a = xsl_app_get(app, l->app_gen);
	if (!a) {
		xsl_count(st, XSL_STAT_NOT_OURS);
		return XDP_PASS;
	}
	if (xsl_chained)
		return XDP_PASS;

	err = xsl_session_create(st, &p->key, l, xsl_session_hash(&p->key), xsl_now_ns(), 1,
				 p->bytes, &t);
	if (err == -EEXIST)
		return XSL_RETRY;
	if (err == -ENOENT)
		return xsl_drop(st, XSL_DROP_NO_WORKER, app);
	if (err)
		return xsl_drop(st, XSL_DROP_SESSION_CREATE, app);
	xsl_count_delivery(app, t.worker, p->bytes);
	return xsl_deliver(&t, app, a);
}

static __always_inline int xsl_process(struct xdp_md *ctx, struct xsl_stats *st)
{
	struct xsl_session *s;
	struct xsl_pkt p;
	int err, act, i;

	__builtin_memset(&p, 0, sizeof(p));
	err = xsl_parse(ctx, &p);
	if (err) {
		xsl_count_parse(st, -err - 1);
		return XDP_PASS;
	}

	/*
	 * A port no listener has is not ours, before any lookup: the agent sets
	 * a port's bit before its first listener appears and clears it after
	 * the last one is gone, so a session on a clear port has no socket left
	 * to reach and the stack may have the packet untouched.
	 */
	if (xsl_port_not_ours(&p.key)) {
		xsl_count(st, XSL_STAT_NOT_OURS);
		return XDP_PASS;
	}

	/* Two rounds: a stale session removed, or a create race lost. */
#pragma unroll
	for (i = 0; i < 2; i++) {
		s = bpf_map_lookup_elem(&xsl_sessions, &p.key);
		if (s)
			act = xsl_on_hit(st, &p, s);
		else
			act = xsl_on_miss(st, &p);
		if (act != XSL_RETRY)
			return act;
	}
	return xsl_drop(st, XSL_DROP_SESSION_CREATE, XSL_NO_APP);
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} xsl_xdp_next SEC(".maps");

SEC("xdp")
int xsl_xdp(struct xdp_md *ctx)
{
	struct xsl_stats *st = xsl_stats_get();
	int act = xsl_count_action(st, xsl_process(ctx, st));

	/* Does not return when a next program is set. */
	if (act == XDP_PASS)
		bpf_tail_call(ctx, &xsl_xdp_next, 0);
	return act;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
