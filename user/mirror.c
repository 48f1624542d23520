// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "mirror.h"
#include "records.h"

static int keep(struct xsl_mirror *mi, int err, const char *what, uint32_t index)
{
	if (err) {
		pr_warn("mirror %s %u into maps: %s\n", what, index, strerror(-err));
		if (!mi->err)
			mi->err = err;
	}
	return err;
}

static int update(int fd, const void *key, const void *value)
{
	return bpf_map_update_elem(fd, key, value, BPF_ANY) ? -errno : 0;
}

static int delete(int fd, const void *key)
{
	return bpf_map_delete_elem(fd, key) && errno != ENOENT ? -errno : 0;
}

int mirror__app(struct xsl_mirror *mi, uint32_t app)
{
	struct xsl_app rec;
	struct xsl_app_ref ref;
	uint64_t cgid;
	int err = 0;

	if (records__app(mi->r, app, &rec, &ref))
		return -EINVAL;
	cgid = rec.cgroup_id;
	if (rec.state == XSL_APP_LIVE) {
		err = update(mi->m->apps, &app, &rec);
		if (!err && cgid)
			err = update(mi->m->app_cgroups, &cgid, &ref);
	} else {
		/* the hooks stop seeing the cgroup before the record goes */
		if (cgid)
			err = delete(mi->m->app_cgroups, &cgid);
		if (!err)
			err = update(mi->m->apps, &app, &rec);
	}
	return keep(mi, err, "app", app);
}

/*
 * Adds what worker delivered (its per-CPU packets and bytes, summed) to the
 * retired entry of app, whose CPU 0 value only the agent writes (records.h),
 * so app's totals keep them once the worker's counters are zeroed. The old
 * worker is FREE in the map by then: the data path no longer counts for it.
 */
static int retire_worker_stats(struct xsl_mirror *mi, uint32_t worker, uint32_t app)
{
	int ncpus = libbpf_num_possible_cpus();
	uint32_t key = XSL_APP_RETIRED(app);
	struct xsl_worker_stats *ws = NULL;
	struct xsl_app_stats *as = NULL;
	uint64_t packets = 0, bytes = 0;
	int err = 0;

	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	if (app >= XSL_MAX_APPS)
		return 0;
	ws = calloc(ncpus, sizeof(*ws));
	as = calloc(ncpus, sizeof(*as));
	if (!ws || !as) {
		err = -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_elem(mi->m->wrk_stats, &worker, ws)) {
		err = -errno;
		goto out;
	}
	for (int c = 0; c < ncpus; c++) {
		packets += ws[c].packets;
		bytes += ws[c].bytes;
	}
	if (!packets && !bytes)
		goto out;
	if (bpf_map_lookup_elem(mi->m->app_stats, &key, as)) {
		err = -errno;
		goto out;
	}
	as[0].packets += packets;
	as[0].bytes += bytes;
	err = update(mi->m->app_stats, &key, as);
out:
	free(ws);
	free(as);
	return err;
}

/* Zeroes a new worker's per-CPU counters: the index may have served another. */
static int zero_worker_stats(struct xsl_mirror *mi, uint32_t worker)
{
	int ncpus = libbpf_num_possible_cpus();
	struct xsl_worker_stats *zero;
	int err;

	if (ncpus < 0)
		return ncpus;
	zero = calloc(ncpus, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	err = update(mi->m->wrk_stats, &worker, zero);
	free(zero);
	return err;
}

int mirror__worker(struct xsl_mirror *mi, uint32_t worker)
{
	struct xsl_worker rec, old = {};
	int err = 0;

	if (records__worker(mi->r, worker, &rec))
		return -EINVAL;
	if (rec.state == XSL_WORKER_LIVE &&
	    (bpf_map_lookup_elem(mi->m->workers, &worker, &old) || old.gen != rec.gen)) {
		/* the old one's packets stay its app's (an unread record: none);
		 * failing that loses counts, not the worker */
		if (old.gen)
			err = retire_worker_stats(mi, worker, old.app);
		if (err)
			pr_warn("retire the counters of worker %u into app %u: %s\n", worker,
				old.app, strerror(-err));
		err = zero_worker_stats(mi, worker);
	}
	if (!err)
		err = update(mi->m->workers, &worker, &rec);
	return keep(mi, err, "worker", worker);
}

static uint32_t key_port_bit(const struct xsl_listener_key *k)
{
	return xsl_port_bit(k->family, k->proto, ntohs(k->port));
}

static bool port_bit(const __u64 *words, uint32_t bit)
{
	return words[bit / 64] >> (bit % 64) & 1;
}

static void port_bit_put(__u64 *words, uint32_t bit, bool on)
{
	if (on)
		words[bit / 64] |= 1ULL << (bit % 64);
	else
		words[bit / 64] &= ~(1ULL << (bit % 64));
}

/* Whether a live exact-address listener has k's family, proto and port. */
static bool port_exact(const struct xsl_registry *r, const struct xsl_listener_key *k)
{
	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
		const struct reg_listener *rl = &r->listeners[l];
		const uint32_t *a = rl->key.addr;

		if (rl->live && rl->key.family == k->family && rl->key.proto == k->proto &&
		    rl->key.port == k->port && (a[0] | a[1] | a[2] | a[3]))
			return true;
	}
	return false;
}

/* Whether a live listener, exact or wildcard, has k's family, proto, port;
 * a dual-stack [::] listener has its port for IPv4 too. */
static bool port_listened(const struct xsl_registry *r, const struct xsl_listener_key *k)
{
	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
		const struct reg_listener *rl = &r->listeners[l];

		if (!rl->live || rl->key.proto != k->proto || rl->key.port != k->port)
			continue;
		if (rl->key.family == k->family ||
		    (k->family == XSL_AF_INET && (rl->flags & XSL_LISTENER_F_DUAL)))
			return true;
	}
	return false;
}

/* The IPv4 side of a [::] key (whose bit a dual-stack listener also
 * needs); false for any other key. */
static bool v4_side(const struct xsl_listener_key *k, struct xsl_listener_key *v4)
{
	if (k->family != XSL_AF_INET6 || (k->addr[0] | k->addr[1] | k->addr[2] | k->addr[3]))
		return false;
	*v4 = (struct xsl_listener_key){ .family = XSL_AF_INET, .proto = k->proto,
					 .port = k->port };
	return true;
}

static int ports_write(struct xsl_mirror *mi)
{
	uint32_t zero = 0;

	return update(mi->m->ports, &zero, &mi->ports);
}

/*
 * Makes k's port bit in xsl_ports say whether a live listener has that port,
 * and its wild bit whether none of them has an address, writing the whole
 * value only when a bit changes. The first call reads the map's value (an
 * earlier agent's, or zero) into mi->ports.
 */
static int port_sync(struct xsl_mirror *mi, const struct xsl_listener_key *k)
{
	uint32_t zero = 0, bit = key_port_bit(k);
	bool want = port_listened(mi->r, k), wild = !port_exact(mi->r, k), had, had_wild;
	int err;

	if (!mi->ports_loaded) {
		if (bpf_map_lookup_elem(mi->m->ports, &zero, &mi->ports))
			return -errno;
		mi->ports_loaded = true;
	}
	had = port_bit(mi->ports.bits, bit);
	had_wild = port_bit(mi->ports.wild, bit);
	if (had == want && had_wild == wild)
		return 0;
	port_bit_put(mi->ports.bits, bit, want);
	port_bit_put(mi->ports.wild, bit, wild);
	err = ports_write(mi);
	if (err) {	/* the map kept its old value: so does the copy */
		port_bit_put(mi->ports.bits, bit, had);
		port_bit_put(mi->ports.wild, bit, had_wild);
	}
	return err;
}

/* k's port bit, and for a [::] key its IPv4 bit (a dual-stack listener's). */
static int ports_sync(struct xsl_mirror *mi, const struct xsl_listener_key *k)
{
	struct xsl_listener_key v4;
	int err = port_sync(mi, k);

	if (!err && v4_side(k, &v4))
		err = port_sync(mi, &v4);
	return err;
}

int mirror__listener(struct xsl_mirror *mi, uint32_t listener)
{
	static struct xsl_slot_table tab;
	struct xsl_listener_key key;
	struct xsl_listener rec;
	int err;

	if (listener >= XSL_MAX_LISTENERS)
		return -EINVAL;
	if (!mi->r->listeners[listener].live) {
		records__listener(mi->r, listener, &key, &rec, NULL);
		err = delete(mi->m->listeners, &key);
		if (err)
			return keep(mi, err, "listener", listener);
		/* After the delete: no listener is found with its bit clear. */
		return keep(mi, ports_sync(mi, &key), "port bit of listener", listener);
	}
	/* The port bit, then the table, then the listener: a new listener is
	 * only found once its port passes the filter and its table is
	 * complete. */
	records__listener(mi->r, listener, &key, &rec, &tab);
	err = ports_sync(mi, &key);
	if (err)
		return keep(mi, err, "port bit of listener", listener);
	err = update(mi->m->slots, &listener, &tab);
	if (!err)
		err = update(mi->m->listeners, &key, &rec);
	return keep(mi, err, "listener", listener);
}

int mirror__enable_port_filter(struct xsl_mirror *mi)
{
	int err;

	memset(&mi->ports, 0, sizeof(mi->ports));
	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++) {
		const struct reg_listener *rl = &mi->r->listeners[l];
		struct xsl_listener_key v4;

		if (!rl->live)
			continue;
		port_bit_put(mi->ports.bits, key_port_bit(&rl->key), true);
		port_bit_put(mi->ports.wild, key_port_bit(&rl->key), !port_exact(mi->r, &rl->key));
		if ((rl->flags & XSL_LISTENER_F_DUAL) && v4_side(&rl->key, &v4)) {
			port_bit_put(mi->ports.bits, key_port_bit(&v4), true);
			port_bit_put(mi->ports.wild, key_port_bit(&v4), !port_exact(mi->r, &v4));
		}
	}
	mi->ports.enabled = 1;
	err = ports_write(mi);
	/* On failure the map holds what it held: read it again when needed. */
	mi->ports_loaded = !err;
	return keep(mi, err, "port filter", 0);
}

int mirror__all(struct xsl_mirror *mi)
{
	int err = 0, e;

	for (uint32_t a = 0; a < XSL_MAX_APPS; a++)
		if (mi->r->apps[a].live && (e = mirror__app(mi, a)) && !err)
			err = e;
	for (uint32_t w = 0; w < XSL_MAX_WORKERS; w++)
		if (mi->r->workers[w].live && (e = mirror__worker(mi, w)) && !err)
			err = e;
	/* Every live listener's bit before any listener is written. */
	e = mirror__enable_port_filter(mi);
	if (e && !err)
		err = e;
	for (uint32_t l = 0; l < XSL_MAX_LISTENERS; l++)
		if (mi->r->listeners[l].live && (e = mirror__listener(mi, l)) && !err)
			err = e;
	return err;
}

static void hook_app(void *ctx, uint32_t app)
{
	mirror__app(ctx, app);
}

static void hook_worker(void *ctx, uint32_t worker)
{
	mirror__worker(ctx, worker);
}

static void hook_listener(void *ctx, uint32_t listener)
{
	mirror__listener(ctx, listener);
}

void mirror__install(struct xsl_mirror *mi, struct xsl_registry *r, const struct xsl_maps *m)
{
	mi->r = r;
	mi->m = m;
	mi->err = 0;
	mi->ports_loaded = false;
	r->hooks = (struct xsl_registry_hooks){
		.ctx = mi,
		.app_changed = hook_app,
		.worker_changed = hook_worker,
		.listener_changed = hook_listener,
	};
}
