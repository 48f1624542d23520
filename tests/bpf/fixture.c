// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Test fixture of the XDP program: see fixture.h for the contract. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "xsl_xdp.skel.h"
#include "xsl/hash.h"
#include "xsl/limits.h"
#include "xsl/maps.h"
#include "fixture.h"
#include "maps.h"

/*
 * Frames shorter than ETH_HLEN: test_run refuses less than ETH_HLEN bytes of
 * data, so such a frame is sent as FX_META bytes of metadata plus ETH_HLEN
 * bytes, with ctx.data_end cutting the linear part at len; the remaining
 * bytes go to a fragment the program (not frags-aware) never sees. To the
 * program that is exactly a len-byte frame.
 */
#define FX_META		16

static int fx_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int fx_table_init(struct fx *fx)
{
	int err;

	/* the header as the agent writes it, with the fixed seed */
	err = xsl_maps__mmap_sessions(bpf_map__fd(fx->skel->maps.xsl_sessions), &fx->sess_mem,
				      &fx->sess_len);
	if (!err)
		err = sesstab__init(fx->sess_mem, fx->sess_len, XSL_HASH_SEED);
	if (!err)
		err = sesstab__open(&fx->tab, fx->sess_mem, fx->sess_len);
	return err;
}

int fx_open(struct fx *fx, __u32 max_sessions)
{
	struct bpf_map *map;
	int err;

	memset(fx, 0, sizeof(*fx));
	libbpf_set_print(fx_libbpf_print);
	fx->ncpus = libbpf_num_possible_cpus();
	if (fx->ncpus < 0)
		return fx->ncpus;
	fx->skel = xsl_xdp__open();
	if (!fx->skel)
		return -errno;
	/* A private instance: nothing is pinned or reused from a pin root. */
	bpf_object__for_each_map(map, fx->skel->obj) {
		err = bpf_map__set_pin_path(map, NULL);
		if (err)
			goto fail;
	}
	err = bpf_map__set_max_entries(
		fx->skel->maps.xsl_sessions,
		sesstab__buckets_for(max_sessions ? max_sessions : FX_DEFAULT_SESSIONS) + 1);
	if (err)
		goto fail;
	err = xsl_xdp__load(fx->skel);
	if (err)
		goto fail;
	err = fx_table_init(fx);
	if (err)
		goto fail;
	fx->prog_fd = bpf_program__fd(fx->skel->progs.xsl_xdp);
	return 0;
fail:
	fprintf(stderr, "fixture: load xsl_xdp: %s\n", strerror(-err));
	xsl_maps__munmap_sessions(fx->sess_mem, fx->sess_len);
	fx->sess_mem = NULL;
	xsl_xdp__destroy(fx->skel);
	fx->skel = NULL;
	return err;
}

void fx_close(struct fx *fx)
{
	xsl_maps__munmap_sessions(fx->sess_mem, fx->sess_len);
	fx->sess_mem = NULL;
	xsl_xdp__destroy(fx->skel);
	fx->skel = NULL;
}

int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	if (fx_open(fx, 0)) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

int fx_teardown(void **state)
{
	struct fx *fx = *state;

	if (fx) {
		fx_close(fx);
		free(fx);
	}
	*state = NULL;
	return 0;
}

int fx_map_fd(struct fx *fx, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(fx->skel->obj, name);

	return map ? bpf_map__fd(map) : -ENOENT;
}

static int fx_update(struct fx *fx, const char *map, const void *key, const void *val)
{
	int fd = fx_map_fd(fx, map);

	if (fd < 0)
		return fd;
	return bpf_map_update_elem(fd, key, val, BPF_ANY) ? -errno : 0;
}

static int fx_lookup(struct fx *fx, const char *map, const void *key, void *val)
{
	int fd = fx_map_fd(fx, map);

	if (fd < 0)
		return fd;
	return bpf_map_lookup_elem(fd, key, val) ? -errno : 0;
}

int fx_app(struct fx *fx, __u32 app, __u32 gen, __u8 policy, __u8 flags)
{
	struct xsl_app a;

	memset(&a, 0, sizeof(a));
	a.gen = gen;
	a.state = XSL_APP_LIVE;
	a.policy = policy;
	a.flags = flags;
	a.idle_timeout_s = XSL_DEFAULT_IDLE_S;
	snprintf(a.name, sizeof(a.name), "app%u", app);
	return fx_update(fx, XSL_MAP_APPS, &app, &a);
}

int fx_app_free(struct fx *fx, __u32 app)
{
	struct xsl_app a;
	int err = fx_lookup(fx, XSL_MAP_APPS, &app, &a);

	if (err)
		return err;
	a.state = XSL_APP_FREE;
	return fx_update(fx, XSL_MAP_APPS, &app, &a);
}

int fx_worker(struct fx *fx, __u32 worker, __u32 gen, __u32 app, __u32 app_gen, __s32 cpu)
{
	struct xsl_worker w;

	memset(&w, 0, sizeof(w));
	w.gen = gen;
	w.state = XSL_WORKER_LIVE;
	w.app = app;
	w.app_gen = app_gen;
	w.pid = 1000 + worker;
	w.cpu = cpu;
	return fx_update(fx, XSL_MAP_WORKERS, &worker, &w);
}

int fx_worker_free(struct fx *fx, __u32 worker)
{
	struct xsl_worker w;
	int err = fx_lookup(fx, XSL_MAP_WORKERS, &worker, &w);

	if (err)
		return err;
	w.state = XSL_WORKER_FREE;
	return fx_update(fx, XSL_MAP_WORKERS, &worker, &w);
}

static int fx_addr(int family, const char *s, __u32 addr[4])
{
	memset(addr, 0, 16);
	if (!s)
		return 0;
	if (inet_pton(family == XSL_AF_INET ? AF_INET : AF_INET6, s, addr) != 1)
		return -EINVAL;
	return 0;
}

int fx_listener(struct fx *fx, int family, __u8 proto, const char *addr, __u16 port,
		__u32 index, __u32 app, __u32 app_gen, __u32 n_workers)
{
	struct xsl_listener_key k;
	struct xsl_listener l;
	int err;

	memset(&k, 0, sizeof(k));
	memset(&l, 0, sizeof(l));
	k.family = family;
	k.proto = proto;
	k.port = htons(port);
	err = fx_addr(family, addr, k.addr);
	if (err)
		return err;
	l.index = index;
	l.gen = 1;
	l.app = app;
	l.app_gen = app_gen;
	l.n_workers = n_workers;
	return fx_update(fx, XSL_MAP_LISTENERS, &k, &l);
}

int fx_listener_flags(struct fx *fx, int family, __u8 proto, const char *addr, __u16 port,
		      __u32 flags)
{
	struct xsl_listener_key k;
	struct xsl_listener l;
	int err;

	memset(&k, 0, sizeof(k));
	k.family = family;
	k.proto = proto;
	k.port = htons(port);
	err = fx_addr(family, addr, k.addr);
	if (!err)
		err = fx_lookup(fx, XSL_MAP_LISTENERS, &k, &l);
	if (err)
		return err;
	l.flags = flags;
	return fx_update(fx, XSL_MAP_LISTENERS, &k, &l);
}

int fx_slots(struct fx *fx, __u32 index, const __u32 *workers, const __u32 *gens, unsigned int n)
{
	struct xsl_slot_table *t = calloc(1, sizeof(*t));
	int err, i;

	if (!t)
		return -ENOMEM;
	for (i = 0; i < XSL_TABLE_SLOTS; i++) {
		t->slot[i].worker = n ? workers[i % n] : XSL_NO_WORKER;
		t->slot[i].gen = n ? gens[i % n] : 0;
	}
	err = fx_update(fx, XSL_MAP_SLOTS, &index, t);
	free(t);
	return err;
}

int fx_slot_set(struct fx *fx, __u32 index, __u32 slot, __u32 worker, __u32 gen)
{
	struct xsl_slot_table *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return -ENOMEM;
	err = fx_lookup(fx, XSL_MAP_SLOTS, &index, t);
	if (!err) {
		t->slot[slot % XSL_TABLE_SLOTS].worker = worker;
		t->slot[slot % XSL_TABLE_SLOTS].gen = gen;
		err = fx_update(fx, XSL_MAP_SLOTS, &index, t);
	}
	free(t);
	return err;
}

int fx_simple(struct fx *fx, int family, __u8 proto, __u16 port, unsigned int n_workers,
	      __u8 policy)
{
	__u32 workers[64], gens[64];
	unsigned int i;
	int err;

	if (n_workers > 64)
		return -EINVAL;
	err = fx_app(fx, 1, 1, policy, 0);
	for (i = 0; !err && i < n_workers; i++) {
		workers[i] = i;
		gens[i] = 1;
		err = fx_worker(fx, i, 1, 1, 1, -1);
	}
	if (!err)
		err = fx_slots(fx, 0, workers, gens, n_workers);
	if (!err)
		err = fx_listener(fx, family, proto, NULL, port, 0, 1, 1, n_workers);
	return err;
}

__u32 fx_slot_of(const struct xsl_flow_key *k)
{
	return xsl_flow_hash(k) % XSL_TABLE_SLOTS;
}

int fx_pkt_init(struct fx_pkt *p, int family, __u8 proto, const char *src, __u16 sport,
		const char *dst, __u16 dport)
{
	int err;

	memset(p, 0, sizeof(*p));
	p->family = family;
	p->proto = proto;
	p->sport = sport;
	p->dport = dport;
	p->payload = 16;
	if (proto == IPPROTO_TCP)
		p->tcp_flags = 0x02;	/* SYN */
	err = fx_addr(family, src, p->saddr);
	if (!err)
		err = fx_addr(family, dst, p->daddr);
	return err;
}

static void put16(__u8 *b, __u16 v)
{
	b[0] = v >> 8;
	b[1] = v & 0xff;
}

static __u16 ip_csum(const __u8 *b, size_t len)
{
	__u32 sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)b[i] << 8 | b[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

static void lay_add(struct fx_layout *lay, size_t end, int parse)
{
	if (lay && lay->n < (int)(sizeof(lay->seg) / sizeof(lay->seg[0]))) {
		lay->seg[lay->n].end = end;
		lay->seg[lay->n].parse = parse;
		lay->n++;
	}
}

/* IPv6 extension header of the given type at b; returns its length. */
static size_t build_ext(__u8 *b, __u8 type, __u8 next, __u16 frag6_off)
{
	switch (type) {
	case IPPROTO_ROUTING:
		/* A segment routing header with one segment: 24 bytes. */
		memset(b, 0, 24);
		b[0] = next;
		b[1] = 2;
		b[2] = 4;
		b[3] = 0;
		b[8 + 15] = 1;
		return 24;
	case IPPROTO_FRAGMENT:
		memset(b, 0, 8);
		b[0] = next;
		put16(b + 2, frag6_off);
		b[4] = 0x12;
		b[7] = 0x34;
		return 8;
	default:
		/* Hop-by-hop / destination options: 8 bytes, one PadN. */
		memset(b, 0, 8);
		b[0] = next;
		b[1] = 0;
		b[2] = 1;
		b[3] = 4;
		return 8;
	}
}

int fx_build(const struct fx_pkt *p, __u8 *buf, size_t cap, struct fx_layout *lay)
{
	static const __u8 dmac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const __u8 smac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	size_t off = 0, l3, l4, l4_len, need;
	__u8 *b = buf;
	int i, ihl;

	if (lay)
		memset(lay, 0, sizeof(*lay));
	l4_len = p->proto == IPPROTO_TCP ? 20 : p->proto == IPPROTO_UDP ? 8 : 0;
	need = 14 + 4 * p->n_vlans + 40 + 40 + 24 * p->n_ext + l4_len + p->payload;
	if (need > cap || p->n_vlans > 4 || p->n_ext > 8 || p->ip_opt_len > 40 || p->payload < 0)
		return -EMSGSIZE;
	memset(buf, 0, need);

	memcpy(b, dmac, 6);
	memcpy(b + 6, smac, 6);
	off = 12;
	for (i = 0; i < p->n_vlans; i++) {
		put16(b + off, p->vlan_tpid[i] ? p->vlan_tpid[i] : ETH_P_8021Q);
		put16(b + off + 2, 100 + i);
		off += 4;
	}
	put16(b + off, p->ethertype ? p->ethertype :
		       p->family == XSL_AF_INET ? ETH_P_IP : ETH_P_IPV6);
	off += 2;
	/* As parsed: 14 bytes of Ethernet ending in the first TPID, then
	 * 4-byte tags of TCI + encapsulated ethertype. */
	lay_add(lay, 14, XSL_PARSE_ETH);
	for (i = 0; i < p->n_vlans; i++)
		lay_add(lay, 18 + 4 * i, XSL_PARSE_VLAN);

	l3 = off;
	if (p->family == XSL_AF_INET) {
		ihl = p->set_ihl ? p->ihl : 5 + p->ip_opt_len / 4;
		b[l3] = 0x40 | (ihl & 0x0f);
		put16(b + l3 + 4, 0x1234);
		put16(b + l3 + 6, p->frag_off);
		b[l3 + 8] = 64;
		b[l3 + 9] = p->proto;
		memcpy(b + l3 + 12, &p->saddr[0], 4);
		memcpy(b + l3 + 16, &p->daddr[0], 4);
		/* Options: NOPs then an end-of-list. */
		memset(b + l3 + 20, 1, p->ip_opt_len);
		if (p->ip_opt_len)
			b[l3 + 20 + p->ip_opt_len - 1] = 0;
		off = l3 + 20 + p->ip_opt_len;
		lay_add(lay, off, XSL_PARSE_IPV4);
	} else {
		__u8 next = p->n_ext ? p->ext[0] : p->proto;

		b[l3] = 0x60;
		b[l3 + 6] = next;
		b[l3 + 7] = 64;
		memcpy(b + l3 + 8, p->saddr, 16);
		memcpy(b + l3 + 24, p->daddr, 16);
		off = l3 + 40;
		lay_add(lay, off, XSL_PARSE_IPV6);
		for (i = 0; i < p->n_ext; i++) {
			next = i + 1 < p->n_ext ? p->ext[i + 1] : p->proto;
			off += build_ext(b + off, p->ext[i], next, p->frag6_off);
			lay_add(lay, off, XSL_PARSE_IPV6_EXT);
		}
	}

	l4 = off;
	if (p->proto == IPPROTO_UDP) {
		put16(b + l4, p->sport);
		put16(b + l4 + 2, p->dport);
		put16(b + l4 + 4, 8 + p->payload);
	} else if (p->proto == IPPROTO_TCP) {
		put16(b + l4, p->sport);
		put16(b + l4 + 2, p->dport);
		b[l4 + 4] = 0x11;	/* seq */
		b[l4 + 12] = 5 << 4;
		b[l4 + 13] = p->tcp_flags;
		put16(b + l4 + 14, 65535);
	}
	off = l4 + l4_len;
	if (l4_len)
		lay_add(lay, off, XSL_PARSE_L4);
	for (i = 0; i < p->payload; i++)
		b[off + i] = 0xa0 + (i & 0x0f);
	off += p->payload;

	if (p->family == XSL_AF_INET) {
		put16(b + l3 + 2, off - l3);
		put16(b + l3 + 10, ip_csum(b + l3, 20 + p->ip_opt_len));
	} else {
		put16(b + l3 + 4, off - l3 - 40);
	}
	return off;
}

void fx_key(const struct fx_pkt *p, struct xsl_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->proto = p->proto;
	k->rport = htons(p->sport);
	k->lport = htons(p->dport);
	memcpy(k->raddr, p->saddr, sizeof(k->raddr));
	memcpy(k->laddr, p->daddr, sizeof(k->laddr));
}

int fx_run(struct fx *fx, const void *frame, size_t len, __u32 *action)
{
	__u8 buf[FX_META + FX_PKT_MAX];
	struct xdp_md ctx;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .repeat = 1);
	int err;

	if (len > FX_PKT_MAX)
		return -EMSGSIZE;
	if (len < ETH_HLEN) {
		memset(&ctx, 0, sizeof(ctx));
		memset(buf, 0, FX_META + ETH_HLEN);
		memcpy(buf + FX_META, frame, len);
		ctx.data = FX_META;
		ctx.data_end = FX_META + len;
		opts.data_in = buf;
		opts.data_size_in = FX_META + ETH_HLEN;
		opts.ctx_in = &ctx;
		opts.ctx_size_in = sizeof(ctx);
	} else {
		opts.data_in = frame;
		opts.data_size_in = len;
	}
	err = bpf_prog_test_run_opts(fx->prog_fd, &opts);
	if (err)
		return -errno;
	*action = opts.retval;
	return 0;
}

int fx_send(struct fx *fx, const struct fx_pkt *p, __u32 *action)
{
	__u8 buf[FX_PKT_MAX];
	int len = fx_build(p, buf, sizeof(buf), NULL);

	if (len < 0)
		return len;
	return fx_run(fx, buf, len, action);
}

/* Sums a per-CPU value of n_u64 counters into out. */
static int fx_percpu_sum(struct fx *fx, const char *map, __u32 key, __u64 *out, size_t n_u64)
{
	size_t stride = (n_u64 * sizeof(__u64) + 7) / 8 * 8 / sizeof(__u64);
	__u64 *vals = calloc(fx->ncpus, stride * sizeof(__u64));
	int err, cpu;
	size_t i;

	if (!vals)
		return -ENOMEM;
	err = fx_lookup(fx, map, &key, vals);
	memset(out, 0, n_u64 * sizeof(__u64));
	for (cpu = 0; !err && cpu < fx->ncpus; cpu++)
		for (i = 0; i < n_u64; i++)
			out[i] += vals[cpu * stride + i];
	free(vals);
	return err;
}

int fx_stats(struct fx *fx, struct xsl_stats *out)
{
	return fx_percpu_sum(fx, XSL_MAP_STATS, 0, (__u64 *)out, sizeof(*out) / sizeof(__u64));
}

struct xsl_stats get_stats(struct fx *fx)
{
	struct xsl_stats s;

	assert_int_equal(fx_stats(fx, &s), 0);
	return s;
}

__u32 send_pkt(struct fx *fx, const struct fx_pkt *p)
{
	__u32 act = 0xffff;

	assert_int_equal(fx_send(fx, p, &act), 0);
	return act;
}

int fx_app_stats(struct fx *fx, __u32 app, struct xsl_app_stats *out)
{
	return fx_percpu_sum(fx, XSL_MAP_APP_STATS, app, (__u64 *)out, sizeof(*out) / sizeof(__u64));
}

int fx_wrk_stats(struct fx *fx, __u32 worker, struct xsl_worker_stats *out)
{
	return fx_percpu_sum(fx, XSL_MAP_WRK_STATS, worker, (__u64 *)out,
			     sizeof(*out) / sizeof(__u64));
}

int fx_session(struct fx *fx, const struct xsl_flow_key *k, struct xsl_session *out)
{
	struct sesstab_way w;
	struct xsl_flow_key got;

	if (sesstab__find(&fx->tab, k, &w))
		return -ENOENT;
	return sesstab__read(&fx->tab, &w, &got, out);
}

int fx_session_put(struct fx *fx, const struct xsl_flow_key *k, const struct xsl_session *s)
{
	return sesstab__put(&fx->tab, k, s);
}

int fx_session_count(struct fx *fx)
{
	return (int)sesstab__count(&fx->tab);
}

/* Reads xsl_ports, lets edit() change it, writes it back. */
static int fx_ports_edit(struct fx *fx, void (*edit)(struct xsl_port_filter *, __u32, int),
			 __u32 bit, int v)
{
	struct xsl_port_filter *f = calloc(1, sizeof(*f));
	__u32 zero = 0;
	int err;

	if (!f)
		return -ENOMEM;
	err = fx_lookup(fx, XSL_MAP_PORTS, &zero, f);
	if (!err) {
		edit(f, bit, v);
		err = fx_update(fx, XSL_MAP_PORTS, &zero, f);
	}
	free(f);
	return err;
}

static void fx_ports_enable(struct xsl_port_filter *f, __u32 bit, int v)
{
	(void)bit;
	f->enabled = v;
}

static void fx_ports_bit(struct xsl_port_filter *f, __u32 bit, int on)
{
	if (on)
		f->bits[bit / 64] |= 1ULL << (bit % 64);
	else
		f->bits[bit / 64] &= ~(1ULL << (bit % 64));
}

static void fx_ports_wild(struct xsl_port_filter *f, __u32 bit, int on)
{
	if (on)
		f->wild[bit / 64] |= 1ULL << (bit % 64);
	else
		f->wild[bit / 64] &= ~(1ULL << (bit % 64));
}

int fx_port_wild(struct fx *fx, int family, __u8 proto, __u16 port, int on)
{
	return fx_ports_edit(fx, fx_ports_wild, xsl_port_bit(family, proto, port), on);
}

int fx_port_filter(struct fx *fx, int enabled)
{
	return fx_ports_edit(fx, fx_ports_enable, 0, enabled);
}

int fx_port_bit(struct fx *fx, int family, __u8 proto, __u16 port, int on)
{
	return fx_ports_edit(fx, fx_ports_bit, xsl_port_bit(family, proto, port), on);
}

int fx_cpumap_add(struct fx *fx, __u32 cpu)
{
	struct bpf_cpumap_val v;

	memset(&v, 0, sizeof(v));
	v.qsize = 256;
	return fx_update(fx, XSL_MAP_CPUMAP, &cpu, &v);
}

__u64 fx_sum_actions(const struct xsl_stats *s)
{
	__u64 n = 0;
	int i;

	for (i = XSL_STAT_XDP_ABORTED; i <= XSL_STAT_XDP_REDIRECT; i++)
		n += s->stat[i];
	return n;
}

__u64 fx_sum_drops(const struct xsl_stats *s)
{
	__u64 n = 0;
	int i;

	for (i = 0; i < XSL_DROP__MAX; i++)
		n += s->drop[i];
	return n;
}

__u64 fx_sum_parse(const struct xsl_stats *s)
{
	__u64 n = 0;
	int i;

	for (i = 0; i < XSL_PARSE__MAX; i++)
		n += s->parse[i];
	return n;
}

int fx_sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}
