// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
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

/* The last xdp failure, for the agent's reply; each message is also logged. */
static char xdp_err[512];

__attribute__((format(printf, 1, 2))) static void xdp_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(xdp_err, sizeof(xdp_err), fmt, ap);
	va_end(ap);
	pr_err("%s\n", xdp_err);
}

const char *loader__xdp_error(void)
{
	return xdp_err;
}

static int ifindex_of(const char *ifname)
{
	unsigned int ifindex = if_nametoindex(ifname);

	if (!ifindex) {
		xdp_fail("interface %s: %s", ifname, strerror(errno));
		return -ENODEV;
	}
	return (int)ifindex;
}

/* The program ifname runs (0: none) and how (XDP_ATTACHED_*). */
static int dev_prog(int ifindex, const char *ifname, __u32 *prog_id, __u8 *attach_mode)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err = bpf_xdp_query(ifindex, 0, &q);

	if (err) {
		xdp_fail("query xdp on %s: %s", ifname, strerror(-err));
		return err;
	}
	*prog_id = q.prog_id;
	*attach_mode = q.attach_mode;
	return 0;
}

/* The name of program id, for messages ("?" when it is gone). */
static void prog_name(__u32 id, char *name, size_t size)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	snprintf(name, size, "?");
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		snprintf(name, size, "%s", info.name);
	close(fd);
}

/* libxdp found another program on ifname that it cannot share it with. */
static void busy_error(int ifindex, const char *ifname)
{
	__u32 id = 0;
	__u8 how;
	char name[BPF_OBJ_NAME_LEN];

	if (dev_prog(ifindex, ifname, &id, &how) || !id) {
		xdp_fail("attach xdp to %s: %s", ifname, strerror(EBUSY));
		return;
	}
	prog_name(id, name, sizeof(name));
	xdp_fail("attach xdp to %s: it runs XDP program %s (id %u) and libxdp cannot run both "
		 "(no multiprog dispatcher on this kernel); to run it after xsl, pin it and use "
		 "xslctl xdp attach %s --then PINNED_PATH (docs/xdp-coexist.md)",
		 ifname, name, id, ifname);
}

int loader__xdp_attach(const char *pin_root, const char *ifname, enum xsl_xdp_mode mode)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, popts, .prog_name = XSL_XDP_PROG_NAME);
	struct xdp_program *prog;
	struct xsl_xdp *skel;
	int ifindex, err;

	xdp_err[0] = '\0';
	ifindex = ifindex_of(ifname);
	if (ifindex < 0)
		return ifindex;
	err = loader__xdp_attached(ifname);
	if (err > 0) {
		xdp_fail("attach xdp to %s: xsl is already attached", ifname);
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
		xdp_fail("create xdp program for %s: %s", ifname, strerror(-err));
		goto out;
	}
	err = xdp_program__attach(prog, ifindex,
				  mode == XSL_XDP_MODE_SKB ? XDP_MODE_SKB : XDP_MODE_NATIVE, 0);
	if (err == -EBUSY)
		busy_error(ifindex, ifname);
	else if (err)
		xdp_fail("attach xdp to %s: %s", ifname, strerror(-err));
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
			xdp_fail("query xdp on %s: %s", ifname, strerror(-err));
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

/* ---- chaining: xsl, then the operator's program (xslctl xdp attach DEV --then) ---- */

#define XSL_XDP_NEXT_MAP "xsl_xdp_next"

/* Is fd a BPF program (not a map, link or BTF)? Only fdinfo tells. */
static bool is_prog_fd(int fd)
{
	char path[64], line[128];
	bool prog = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!prog && fgets(line, sizeof(line), f))
		prog = !strncmp(line, "prog_type:", 10);
	fclose(f);
	return prog;
}

/* Opens the program pinned at path, which must be an XDP program other than xsl's. */
static int open_then(const char *ifname, const char *path, struct bpf_prog_info *info)
{
	__u32 len = sizeof(*info);
	int fd, err;

	if (path[0] != '/') {
		xdp_fail("attach xdp to %s: --then %s: not an absolute path", ifname, path);
		return -EINVAL;
	}
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		xdp_fail("attach xdp to %s: --then %s: %s", ifname, path, strerror(-err));
		return err;
	}
	memset(info, 0, sizeof(*info));
	if (!is_prog_fd(fd) || bpf_obj_get_info_by_fd(fd, info, &len)) {
		xdp_fail("attach xdp to %s: --then %s: not a pinned BPF program", ifname, path);
		close(fd);
		return -EINVAL;
	}
	if (info->type != BPF_PROG_TYPE_XDP) {
		xdp_fail("attach xdp to %s: --then %s: program %s is not an XDP program (type %u)",
			 ifname, path, info->name, info->type);
		close(fd);
		return -EINVAL;
	}
	if (!strcmp(info->name, XSL_XDP_PROG_NAME)) {
		xdp_fail("attach xdp to %s: --then %s: that is xsl's own program", ifname, path);
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* The next-program array of the xsl program prog_id: an fd, or a negative errno. */
static int next_map_of(__u32 prog_id)
{
	struct bpf_prog_info info = {};
	__u32 map_ids[64], len = sizeof(info);
	int fd, err;

	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return -errno;
	info.nr_map_ids = sizeof(map_ids) / sizeof(map_ids[0]);
	info.map_ids = (__u64)(unsigned long)map_ids;
	err = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;
	close(fd);
	if (err)
		return err;
	if (info.nr_map_ids > sizeof(map_ids) / sizeof(map_ids[0]))
		info.nr_map_ids = sizeof(map_ids) / sizeof(map_ids[0]);
	for (__u32 i = 0; i < info.nr_map_ids; i++) {
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi);
		int mfd = bpf_map_get_fd_by_id(map_ids[i]);

		if (mfd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(mfd, &mi, &mlen) &&
		    mi.type == BPF_MAP_TYPE_PROG_ARRAY && !strcmp(mi.name, XSL_XDP_NEXT_MAP))
			return mfd;
		close(mfd);
	}
	return -ENOENT;
}

/*
 * A prog array is emptied when the last fd or pin of it goes (the program
 * using it does not count), so a chained copy's array is pinned, one per
 * device: <pin_root>/xsl_xdp_next_<ifname>.
 */
static int next_pin_path(const char *pin_root, const char *ifname, const char *suffix,
			 char *path, size_t size)
{
	if (snprintf(path, size, "%s/%s_%s%s", pin_root, XSL_XDP_NEXT_MAP, ifname, suffix) >=
	    (int)size)
		return -ENAMETOOLONG;
	return 0;
}

static void next_unpin(const char *pin_root, const char *ifname)
{
	char path[PATH_MAX];

	if (pin_root && !next_pin_path(pin_root, ifname, "", path, sizeof(path)))
		unlink(path);
}

/* Slot 0 of xsl's next-program array := next_fd. */
static int set_next(int map_fd, int next_fd, const char *ifname, const struct bpf_prog_info *next)
{
	__u32 zero = 0;
	int err;

	err = bpf_map_update_elem(map_fd, &zero, &next_fd, BPF_ANY) ? -errno : 0;
	if (err == -EINVAL)
		xdp_fail("attach xdp to %s: the kernel refuses %s (id %u) as the program after "
			 "xsl's: a tail call needs the same program type and frags support (xsl is "
			 "SEC(\"xdp\"), not xdp.frags) and no device binding",
			 ifname, next->name, next->id);
	else if (err)
		xdp_fail("attach xdp to %s: set %s (id %u) as the next program: %s", ifname,
			 next->name, next->id, strerror(-err));
	return err;
}

/* The id of xsl's program on ifname: 1 (found), 0 (not attached) or a negative errno. */
static int xsl_prog_id(const char *ifname, int *ifindex, __u32 *id)
{
	struct xdp_multiprog *mp = NULL;
	struct xdp_program *p = NULL;
	int found = lookup_xsl(ifname, ifindex, &mp, &p);

	if (found == 1) {
		*id = xdp_program__id(p);
		xdp_multiprog__close(mp);
	}
	return found;
}

static __u32 mode_flag(__u8 attach_mode, enum xsl_xdp_mode mode)
{
	if (attach_mode == XDP_ATTACHED_SKB)
		return XDP_FLAGS_SKB_MODE;
	if (attach_mode == XDP_ATTACHED_DRV)
		return XDP_FLAGS_DRV_MODE;
	return mode == XSL_XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

/*
 * Loads a copy of xsl's XDP program: chained to next_fd (its next slot set,
 * xsl_chained), or alone when next_fd < 0.
 */
static struct xsl_xdp *load_copy(const char *pin_root, const char *ifname, int next_fd,
				 const struct bpf_prog_info *next)
{
	struct xsl_xdp *skel;
	int err;

	err = mounts__prepare_pin_root(pin_root);
	if (err) {
		xdp_fail("attach xdp to %s: pin root %s: %s", ifname, pin_root, strerror(-err));
		errno = -err;
		return NULL;
	}
	skel = open_xdp(pin_root);
	if (!skel) {
		err = -errno;
		xdp_fail("attach xdp to %s: open xsl_xdp object: %s", ifname, strerror(-err));
		errno = -err;
		return NULL;
	}
	skel->rodata->xsl_chained = next_fd >= 0;
	err = xsl_xdp__load(skel);
	if (err)
		xdp_fail("attach xdp to %s: load xsl_xdp object with pin root %s: %s", ifname,
			 pin_root, strerror(-err));
	else if (next_fd >= 0)
		err = set_next(bpf_map__fd(skel->maps.xsl_xdp_next), next_fd, ifname, next);
	if (err) {
		xsl_xdp__destroy(skel);
		errno = -err;
		return NULL;
	}
	return skel;
}

/* Puts the program new_fd on ifindex in place of old_fd, in the mode old_fd runs in. */
static int replace_prog(int ifindex, int new_fd, int old_fd, __u8 how)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, aopts, .old_prog_fd = old_fd);
	__u32 flags = XDP_FLAGS_REPLACE | mode_flag(how, XSL_XDP_MODE_NATIVE);

	return bpf_xdp_attach(ifindex, new_fd, flags, &aopts);
}

int loader__xdp_attach_then(const char *pin_root, const char *ifname, enum xsl_xdp_mode mode,
			    const char *then_path)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, aopts);
	char cur_name[BPF_OBJ_NAME_LEN], pin[PATH_MAX], pin_new[PATH_MAX];
	struct xsl_xdp *skel = NULL;
	struct bpf_prog_info next;
	__u32 xsl_id = 0, cur_id;
	int ifindex, next_fd, old_fd = -1, found, err;
	__u8 how;

	xdp_err[0] = '\0';
	found = xsl_prog_id(ifname, &ifindex, &xsl_id);
	if (found < 0)
		return found;
	next_fd = open_then(ifname, then_path, &next);
	if (next_fd < 0)
		return next_fd;
	err = dev_prog(ifindex, ifname, &cur_id, &how);
	if (err)
		goto out;
	if (found && cur_id != xsl_id) {
		xdp_fail("attach xdp to %s: xsl runs there in libxdp's dispatcher; detach it "
			 "first (xslctl xdp detach %s)", ifname, ifname);
		err = -EBUSY;
		goto out;
	}
	if (cur_id && cur_id != xsl_id && cur_id != next.id) {
		prog_name(cur_id, cur_name, sizeof(cur_name));
		xdp_fail("attach xdp to %s: it runs XDP program %s (id %u), not the --then program "
			 "%s (id %u); detach it first, or name it with --then",
			 ifname, cur_name, cur_id, next.name, next.id);
		err = -EBUSY;
		goto out;
	}
	skel = load_copy(pin_root, ifname, next_fd, &next);
	if (!skel) {
		err = -errno;
		goto out;
	}
	/* pinned aside first (bpffs names take no dot); over an older chain's pin once attached */
	err = next_pin_path(pin_root, ifname, "_new", pin_new, sizeof(pin_new));
	if (!err)
		err = next_pin_path(pin_root, ifname, "", pin, sizeof(pin));
	if (!err) {
		unlink(pin_new);
		err = bpf_obj_pin(bpf_map__fd(skel->maps.xsl_xdp_next), pin_new) ? -errno : 0;
	}
	if (err) {
		xdp_fail("attach xdp to %s: pin %s under %s: %s", ifname, XSL_XDP_NEXT_MAP,
			 pin_root, strerror(-err));
		goto out;
	}
	if (cur_id) {
		/* in the place of xsl or of the next program: no moment without either */
		old_fd = cur_id == next.id ? dup(next_fd) : bpf_prog_get_fd_by_id(cur_id);
		err = old_fd < 0 ? -errno :
				   replace_prog(ifindex, bpf_program__fd(skel->progs.xsl_xdp),
						old_fd, how);
	} else {
		__u32 flags = XDP_FLAGS_UPDATE_IF_NOEXIST | mode_flag(XDP_ATTACHED_NONE, mode);

		err = bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.xsl_xdp), flags, &aopts);
	}
	if (!err && rename(pin_new, pin))
		err = -errno;
	if (err) {
		unlink(pin_new);
		xdp_fail("attach xdp to %s (then %s): %s", ifname, next.name, strerror(-err));
	} else {
		pr_info("xdp: %s runs xsl, then %s (id %u)\n", ifname, next.name, next.id);
	}
out:
	if (old_fd >= 0)
		close(old_fd);
	if (skel)
		xsl_xdp__destroy(skel);
	close(next_fd);
	return err;
}

/* The next program of xsl's program xsl_id: an fd, or -ENOENT when it has none. */
static int next_of(__u32 xsl_id)
{
	__u32 zero = 0, next_id = 0;
	int map_fd, fd, err;

	map_fd = next_map_of(xsl_id);
	if (map_fd < 0)
		return -ENOENT;
	/* from userspace, a prog array slot reads as the program's id */
	err = bpf_map_lookup_elem(map_fd, &zero, &next_id);
	close(map_fd);
	if (err || !next_id)
		return -ENOENT;
	fd = bpf_prog_get_fd_by_id(next_id);
	return fd < 0 ? -errno : fd;
}

/*
 * Detaching a chained xsl (a single program, not in a dispatcher) puts its
 * next program back in its place: 1 done, 0 not chained, or a negative errno.
 */
static int detach_chained(const char *pin_root, int ifindex, const char *ifname,
			  struct xdp_multiprog *mp, struct xdp_program *p)
{
	__u32 xsl_id = xdp_program__id(p);
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int next_fd, xsl_fd, err;

	if (!xdp_multiprog__is_legacy(mp))
		return 0;
	next_fd = next_of(xsl_id);
	if (next_fd == -ENOENT)
		return 0;
	if (next_fd < 0)
		return next_fd;
	xsl_fd = bpf_prog_get_fd_by_id(xsl_id);
	err = xsl_fd < 0 ? -errno :
			   replace_prog(ifindex, next_fd, xsl_fd,
					xdp_multiprog__attach_mode(mp) == XDP_MODE_SKB ?
						XDP_ATTACHED_SKB : XDP_ATTACHED_DRV);
	if (xsl_fd >= 0)
		close(xsl_fd);
	if (err) {
		xdp_fail("detach xdp from %s: put its next program back: %s", ifname,
			 strerror(-err));
	} else {
		if (!bpf_obj_get_info_by_fd(next_fd, &info, &len))
			pr_info("xdp: %s runs %s (id %u) again, without xsl\n", ifname, info.name,
				info.id);
		next_unpin(pin_root, ifname);
		err = 1;
	}
	close(next_fd);
	return err;
}

int loader__xdp_detach_then(const char *pin_root, const char *ifname)
{
	struct xsl_xdp *skel = NULL;
	int ifindex, next_fd, xsl_fd = -1, err;
	__u32 xsl_id = 0, cur_id;
	__u8 how;

	xdp_err[0] = '\0';
	err = xsl_prog_id(ifname, &ifindex, &xsl_id);
	if (err < 0)
		return err;
	if (!err) {
		xdp_fail("detach the next xdp program on %s: xsl is not attached", ifname);
		return -ENOENT;
	}
	next_fd = next_of(xsl_id);
	if (next_fd < 0) {
		xdp_fail("detach the next xdp program on %s: xsl hands packets to none", ifname);
		return -ENOENT;
	}
	close(next_fd);
	err = dev_prog(ifindex, ifname, &cur_id, &how);
	if (err)
		return err;
	/* a copy of xsl alone takes the chained one's place */
	skel = load_copy(pin_root, ifname, -1, NULL);
	if (!skel)
		return -errno;
	xsl_fd = bpf_prog_get_fd_by_id(xsl_id);
	err = xsl_fd < 0 ? -errno :
			   replace_prog(ifindex, bpf_program__fd(skel->progs.xsl_xdp), xsl_fd, how);
	if (err)
		xdp_fail("detach the next xdp program on %s: %s", ifname, strerror(-err));
	else
		next_unpin(pin_root, ifname);
	if (!err)
		pr_info("xdp: %s runs xsl alone\n", ifname);
	if (xsl_fd >= 0)
		close(xsl_fd);
	xsl_xdp__destroy(skel);
	return err;
}

int loader__xdp_detach(const char *pin_root, const char *ifname)
{
	struct xdp_multiprog *mp = NULL;
	struct xdp_program *p = NULL;
	int ifindex, err;

	xdp_err[0] = '\0';
	err = lookup_xsl(ifname, &ifindex, &mp, &p);
	if (err < 0)
		return err;
	if (!err) {
		xdp_fail("detach xdp from %s: xsl is not attached", ifname);
		return -ENOENT;
	}
	err = detach_chained(pin_root, ifindex, ifname, mp, p);
	if (err == 1)
		err = 0;
	else if (!err && xdp_multiprog__is_legacy(mp))
		err = xdp_multiprog__detach(mp);
	else if (!err)
		err = xdp_program__detach(p, ifindex, xdp_multiprog__attach_mode(mp), 0);
	if (err && err != -ENOENT)
		xdp_fail("detach xdp from %s: %s", ifname, strerror(-err));
	if (!err)
		next_unpin(pin_root, ifname);
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
