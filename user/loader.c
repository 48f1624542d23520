// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "log.h"
#include "loader.h"
#include "maps.h"
#include "mounts.h"
#include "sesstab.h"
#include "xsl/maps.h"
#include "xsl_sklookup.skel.h"
#include "xsl_xdp.skel.h"

#define XSL_XDP_PROG_NAME "xsl_xdp"

static int library_log(enum xsl_log_level level, const char *fmt, va_list ap)
{
	char buf[512];

	if (level > xsl_log_level)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	xsl_log(level, "%s", buf);
	return 0;
}

static int libbpf_log(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	return library_log(lvl == LIBBPF_WARN ? XSL_LOG_INFO : XSL_LOG_DEBUG, fmt, ap);
}

static int libxdp_log(enum libxdp_print_level lvl, const char *fmt, va_list ap)
{
	return library_log(lvl == LIBXDP_WARN ? XSL_LOG_INFO : XSL_LOG_DEBUG, fmt, ap);
}

void loader__route_library_logs(void)
{
	libbpf_set_print(libbpf_log);
	libxdp_set_print(libxdp_log);
}

static struct xsl_xdp *open_xdp(const char *pin_root)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_root);
	struct xsl_xdp *skel;
	int err;

	skel = xsl_xdp__open_opts(&opts);
	if (!skel) {
		pr_err("open xsl_xdp object: %s\n", strerror(errno));
		return NULL;
	}
	err = loader__adopt_pinned_sizes(skel->obj, pin_root);
	if (err) {
		pr_err("size xsl_xdp maps like those under %s: %s\n", pin_root, strerror(-err));
		xsl_xdp__destroy(skel);
		errno = -err;
		return NULL;
	}
	return skel;
}

/* max_entries of the map pinned as name under pin_root; 0 when none is. */
static unsigned int pinned_size(const char *pin_root, const char *name)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", pin_root, name) >= (int)sizeof(path))
		return 0;
	fd = access(path, F_OK) ? -1 : bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.max_entries = 0;
	close(fd);
	return info.max_entries;
}

int loader__adopt_pinned_sizes(struct bpf_object *obj, const char *pin_root)
{
	struct bpf_map *map;

	if (!pin_root)
		return 0;
	bpf_object__for_each_map(map, obj) {
		unsigned int size = pinned_size(pin_root, bpf_map__name(map));
		int err;

		if (!size || size == bpf_map__max_entries(map))
			continue;
		err = bpf_map__set_max_entries(map, size);
		if (err)
			return err;
	}
	return 0;
}

/* Sets a map's size for creation; a pinned map keeps its own. */
static int size_map(struct bpf_map *map, const char *pin_root, unsigned int size)
{
	if (!size || pinned_size(pin_root, bpf_map__name(map)))
		return 0;
	return bpf_map__set_max_entries(map, size);
}

int loader__create_maps(const char *pin_root, const struct xsl_map_sizes *sizes)
{
	struct xsl_xdp *skel;
	int err;

	err = mounts__prepare_pin_root(pin_root);
	if (err)
		return err;
	skel = open_xdp(pin_root);
	if (!skel)
		return -errno;
	if (sizes) {
		err = size_map(skel->maps.xsl_sessions, pin_root,
			       sizes->max_sessions ?
				       sesstab__buckets_for(sizes->max_sessions) + 1 : 0);
		if (!err)
			err = size_map(skel->maps.xsl_events, pin_root, sizes->ringbuf_bytes);
		if (err) {
			pr_err("size the maps under %s: %s\n", pin_root, strerror(-err));
			xsl_xdp__destroy(skel);
			return err;
		}
	}
	/* Loading creates (or reuses) the pinned maps; the program is dropped. */
	err = xsl_xdp__load(skel);
	if (err)
		pr_err("load xsl_xdp object with pin root %s: %s\n", pin_root, strerror(-err));
	/* a table made here gets its seed and geometry before any packet */
	if (!err) {
		err = xsl_maps__init_sessions(bpf_map__fd(skel->maps.xsl_sessions));
		if (err)
			pr_err("initialise %s/%s: %s\n", pin_root, XSL_MAP_SESSIONS,
			       strerror(-err));
	}
	xsl_xdp__destroy(skel);
	return err;
}

static int ifindex_of(const char *ifname)
{
	unsigned int ifindex = if_nametoindex(ifname);

	if (!ifindex) {
		pr_err("interface %s: %s\n", ifname, strerror(errno));
		return -ENODEV;
	}
	return (int)ifindex;
}

int loader__xdp_attach(const char *pin_root, const char *ifname, enum xsl_xdp_mode mode)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, popts, .prog_name = XSL_XDP_PROG_NAME);
	struct xdp_program *prog;
	struct xsl_xdp *skel;
	int ifindex, err;

	ifindex = ifindex_of(ifname);
	if (ifindex < 0)
		return ifindex;
	err = loader__xdp_attached(ifname);
	if (err > 0) {
		pr_err("attach xdp to %s: xsl is already attached\n", ifname);
		return -EEXIST;
	}
	err = mounts__prepare_pin_root(pin_root);
	if (err)
		return err;
	skel = open_xdp(pin_root);
	if (!skel)
		return -errno;
	popts.obj = skel->obj;
	prog = xdp_program__create(&popts);
	err = libxdp_get_error(prog);
	if (err) {
		pr_err("create xdp program for %s: %s\n", ifname, strerror(-err));
		goto out;
	}
	err = xdp_program__attach(prog, ifindex,
				  mode == XSL_XDP_MODE_SKB ? XDP_MODE_SKB : XDP_MODE_NATIVE, 0);
	if (err)
		pr_err("attach xdp to %s: %s\n", ifname, strerror(-err));
	xdp_program__close(prog);
out:
	xsl_xdp__destroy(skel);
	return err;
}

/* Finds xsl's program among those attached (legacy single program or dispatcher). */
static int find_xsl_prog(struct xdp_multiprog *mp, struct xdp_program **out)
{
	struct xdp_program *p;

	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p && !strcmp(xdp_program__name(p), XSL_XDP_PROG_NAME)) {
			*out = p;
			return 1;
		}
		return 0;
	}
	for (p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp)) {
		if (!strcmp(xdp_program__name(p), XSL_XDP_PROG_NAME)) {
			*out = p;
			return 1;
		}
	}
	return 0;
}

static struct xdp_multiprog *multiprog_of(int ifindex, const char *ifname)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	int err = libxdp_get_error(mp);

	if (err) {
		/* ENOENT: nothing attached, not worth a message */
		if (err != -ENOENT)
			pr_err("query xdp on %s: %s\n", ifname, strerror(-err));
		errno = -err;
		return NULL;
	}
	return mp;
}

/*
 * Finds xsl's program on ifname: 1 with *mp (to close) and *p set, 0 when it
 * is not attached there, or a negative errno.
 */
static int lookup_xsl(const char *ifname, int *ifindex, struct xdp_multiprog **mp,
		      struct xdp_program **p)
{
	*ifindex = ifindex_of(ifname);
	if (*ifindex < 0)
		return *ifindex;
	*mp = multiprog_of(*ifindex, ifname);
	if (!*mp)
		return errno == ENOENT ? 0 : -errno;
	if (find_xsl_prog(*mp, p))
		return 1;
	xdp_multiprog__close(*mp);
	*mp = NULL;
	return 0;
}

int loader__xdp_attached(const char *ifname)
{
	struct xdp_multiprog *mp = NULL;
	struct xdp_program *p = NULL;
	int ifindex, found;

	found = lookup_xsl(ifname, &ifindex, &mp, &p);
	if (found == 1)
		xdp_multiprog__close(mp);
	return found;
}

int loader__xdp_detach(const char *ifname)
{
	struct xdp_multiprog *mp = NULL;
	struct xdp_program *p = NULL;
	int ifindex, err;

	err = lookup_xsl(ifname, &ifindex, &mp, &p);
	if (err < 0)
		return err;
	if (!err) {
		pr_err("detach xdp from %s: xsl is not attached\n", ifname);
		return -ENOENT;
	}
	if (xdp_multiprog__is_legacy(mp))
		err = xdp_multiprog__detach(mp);
	else
		err = xdp_program__detach(p, ifindex, xdp_multiprog__attach_mode(mp), 0);
	if (err && err != -ENOENT)
		pr_err("detach xdp from %s: %s\n", ifname, strerror(-err));
	xdp_multiprog__close(mp);
	return err;
}

#define SKLOOKUP_LINK "xsl_link_sklookup"

int loader__sklookup_attach(const char *pin_root, int netns_fd)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_root);
	struct xsl_sklookup *skel;
	struct bpf_link *link;
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/" SKLOOKUP_LINK, pin_root);
	skel = xsl_sklookup__open_opts(&opts);
	if (!skel) {
		err = -errno;
		pr_err("open xsl_sklookup object: %s\n", strerror(-err));
		return err;
	}
	err = loader__adopt_pinned_sizes(skel->obj, pin_root);
	if (!err)
		err = xsl_sklookup__load(skel);
	if (err) {
		pr_err("load xsl_sklookup object with pin root %s: %s\n", pin_root, strerror(-err));
		goto out;
	}
	link = access(path, F_OK) ? NULL : bpf_link__open(path);
	if (link) {
		/* an earlier agent's link: keep it, running this build's program */
		err = bpf_link__update_program(link, skel->progs.xsl_sk_lookup);
		if (err)
			pr_err("update sk_lookup link %s: %s\n", path, strerror(-err));
		bpf_link__disconnect(link);
		bpf_link__destroy(link);
		goto out;
	}
	link = bpf_program__attach_netns(skel->progs.xsl_sk_lookup, netns_fd);
	if (!link) {
		err = -errno;
		pr_err("attach sk_lookup to netns: %s\n", strerror(-err));
		goto out;
	}
	err = bpf_link__pin(link, path);
	if (err)
		pr_err("pin sk_lookup link at %s: %s\n", path, strerror(-err));
	bpf_link__disconnect(link);
	bpf_link__destroy(link);
out:
	xsl_sklookup__destroy(skel);
	return err;
}

int loader__sklookup_detach(const char *pin_root)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/" SKLOOKUP_LINK, pin_root);
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}
