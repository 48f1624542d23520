// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Process and socket hooks: load, attach, pin (contract in hooks.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "hooks.h"
#include "loader.h"
#include "log.h"
#include "xsl_cgroup.skel.h"

struct xsl_hooks {
	struct xsl_cgroup *skel;
};

/* A cgroup socket hook and the suffix of its pin name. */
struct hooks_cg_prog {
	const char *suffix;
	struct bpf_program *(*prog)(struct xsl_cgroup *skel);
};

static struct bpf_program *prog_bind4(struct xsl_cgroup *s)
{
	return s->progs.xsl_post_bind4;
}

static struct bpf_program *prog_bind6(struct xsl_cgroup *s)
{
	return s->progs.xsl_post_bind6;
}

static struct bpf_program *prog_prebind4(struct xsl_cgroup *s)
{
	return s->progs.xsl_bind4;
}

static struct bpf_program *prog_prebind6(struct xsl_cgroup *s)
{
	return s->progs.xsl_bind6;
}

static struct bpf_program *prog_connect4(struct xsl_cgroup *s)
{
	return s->progs.xsl_connect4;
}

static struct bpf_program *prog_connect6(struct xsl_cgroup *s)
{
	return s->progs.xsl_connect6;
}

static struct bpf_program *prog_release(struct xsl_cgroup *s)
{
	return s->progs.xsl_sock_release;
}

static struct bpf_program *prog_sockops(struct xsl_cgroup *s)
{
	return s->progs.xsl_sockops;
}

static struct bpf_program *prog_egress(struct xsl_cgroup *s)
{
	return s->progs.xsl_egress;
}

static const struct hooks_cg_prog cg_progs[] = {
	{ "prebind4", prog_prebind4 },
	{ "prebind6", prog_prebind6 },
	{ "bind4", prog_bind4 },
	{ "bind6", prog_bind6 },
	{ "connect4", prog_connect4 },
	{ "connect6", prog_connect6 },
	{ "release", prog_release },
	{ "sockops", prog_sockops },
	{ "egress", prog_egress },
};

static const char *const tp_pins[] = { XSL_LINK_FORK, XSL_LINK_EXIT, XSL_LINK_JOIN };

static int pin_path(char *out, size_t len, const char *pin_root, const char *name)
{
	int n = snprintf(out, len, "%s/%s", pin_root, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int cg_pin_path(char *out, size_t len, const char *pin_root, __u64 cgroup_id,
		       const char *suffix)
{
	int n = snprintf(out, len, "%s/xsl_cg_%llu_%s", pin_root, (unsigned long long)cgroup_id,
			 suffix);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* unlink(2) where a missing file is success. */
/*
 * Detaches the link pinned at path now, then removes the pin. Dropping the
 * last reference alone would detach it only once the kernel gets round to
 * freeing the link, so events could still come right after. Links that
 * cannot be detached early (tracing) just go with their pin.
 */
static int unpin(const char *path)
{
	int fd = access(path, F_OK) ? -1 : bpf_obj_get(path);

	if (fd >= 0) {
		bpf_link_detach(fd);
		close(fd);
	}
	if (unlink(path) && errno != ENOENT) {
		int err = -errno;

		pr_err("hooks: unpin %s: %s\n", path, strerror(-err));
		return err;
	}
	return 0;
}

int hooks__load(struct xsl_hooks **out, const char *pin_root)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_root);
	struct xsl_hooks *h;
	struct bpf_map *map;
	int err;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->skel = xsl_cgroup__open_opts(&opts);
	if (!h->skel) {
		err = -errno;
		pr_err("hooks: open xsl_cgroup: %s\n", strerror(-err));
		goto err_free;
	}
	if (!pin_root) {
		bpf_object__for_each_map(map, h->skel->obj) {
			err = bpf_map__set_pin_path(map, NULL);
			if (err)
				goto err_destroy;
		}
	}
	err = loader__adopt_pinned_sizes(h->skel->obj, pin_root);
	if (!err)
		err = xsl_cgroup__load(h->skel);
	if (err) {
		pr_err("hooks: load xsl_cgroup (pin root %s): %s\n", pin_root ? pin_root : "none",
		       strerror(-err));
		goto err_destroy;
	}
	*out = h;
	return 0;

err_destroy:
	xsl_cgroup__destroy(h->skel);
err_free:
	free(h);
	return err;
}

void hooks__destroy(struct xsl_hooks *h)
{
	if (!h)
		return;
	xsl_cgroup__destroy(h->skel);
	free(h);
}

int hooks__map_fd(const struct xsl_hooks *h, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(h->skel->obj, name);

	return map ? bpf_map__fd(map) : -ENOENT;
}

/*
 * Attaches a tracing program and makes its link the one pinned at path:
 * pinned under a temporary name, then renamed over any earlier pin, which
 * drops (detaches) the earlier link only once the new one runs.
 */
static int attach_trace_pinned(struct bpf_program *prog, const char *path)
{
	char tmp[PATH_MAX];
	struct bpf_link *link;
	int err;

	/* bpffs refuses names with a dot */
	if (snprintf(tmp, sizeof(tmp), "%s_new", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	err = unpin(tmp);
	if (err)
		return err;
	link = bpf_program__attach_trace(prog);
	if (!link) {
		err = -errno;
		pr_err("hooks: attach %s: %s\n", bpf_program__name(prog), strerror(-err));
		return err;
	}
	err = bpf_link__pin(link, tmp);
	if (err) {
		pr_err("hooks: pin %s: %s\n", tmp, strerror(-err));
		goto out;
	}
	if (rename(tmp, path)) {
		err = -errno;
		pr_err("hooks: rename %s to %s: %s\n", tmp, path, strerror(-err));
		unpin(tmp);
	}
out:
	/* the pin holds the link; our fd goes, the attachment stays */
	bpf_link__destroy(link);
	return err;
}

int hooks__attach_tracepoints(struct xsl_hooks *h, const char *pin_root)
{
	struct bpf_program *progs[] = {
		h->skel->progs.xsl_fork,
		h->skel->progs.xsl_exit,
		h->skel->progs.xsl_join,
	};
	char path[PATH_MAX];
	unsigned int i;
	int err;

	if (!pin_root)
		return -EINVAL;
	for (i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		err = pin_path(path, sizeof(path), pin_root, tp_pins[i]);
		if (!err)
			err = attach_trace_pinned(progs[i], path);
		if (err)
			return err;
	}
	return 0;
}

int hooks__detach_tracepoints(const char *pin_root)
{
	char path[PATH_MAX];
	unsigned int i;
	int err, ret = 0;

	if (!pin_root)
		return -EINVAL;
	for (i = 0; i < sizeof(tp_pins) / sizeof(tp_pins[0]); i++) {
		err = pin_path(path, sizeof(path), pin_root, tp_pins[i]);
		if (!err)
			err = unpin(path);
		if (err && !ret)
			ret = err;
	}
	return ret;
}

/*
 * Makes the link pinned at path run prog on the cgroup: an existing live
 * link gets prog in place; a missing, stale (cgroup gone) or foreign pin is
 * replaced by a new attachment.
 */
static int attach_cg_pinned(struct bpf_program *prog, int cgroup_fd, const char *path)
{
	struct bpf_link *link;
	int err;

	link = access(path, F_OK) ? NULL : bpf_link__open(path);
	if (link) {
		err = bpf_link__update_program(link, prog);
		bpf_link__destroy(link);
		if (!err)
			return 0;
		pr_debug("hooks: replace %s: update: %s\n", path, strerror(-err));
	}
	err = unpin(path);
	if (err)
		return err;
	link = bpf_program__attach_cgroup(prog, cgroup_fd);
	if (!link) {
		err = -errno;
		pr_err("hooks: attach %s to cgroup: %s\n", bpf_program__name(prog), strerror(-err));
		return err;
	}
	err = bpf_link__pin(link, path);
	if (err)
		pr_err("hooks: pin %s: %s\n", path, strerror(-err));
	bpf_link__destroy(link);
	return err;
}

int hooks__attach_cgroup(struct xsl_hooks *h, int cgroup_fd, __u64 cgroup_id,
			 const char *pin_root)
{
	char path[PATH_MAX];
	unsigned int i;
	int err;

	if (!pin_root || cgroup_fd < 0)
		return -EINVAL;
	for (i = 0; i < sizeof(cg_progs) / sizeof(cg_progs[0]); i++) {
		err = cg_pin_path(path, sizeof(path), pin_root, cgroup_id, cg_progs[i].suffix);
		if (!err)
			err = attach_cg_pinned(cg_progs[i].prog(h->skel), cgroup_fd, path);
		if (err) {
			hooks__detach_cgroup(cgroup_id, pin_root);
			return err;
		}
	}
	return 0;
}

int hooks__detach_cgroup(__u64 cgroup_id, const char *pin_root)
{
	char path[PATH_MAX];
	unsigned int i;
	int err, ret = 0;

	if (!pin_root)
		return -EINVAL;
	for (i = 0; i < sizeof(cg_progs) / sizeof(cg_progs[0]); i++) {
		err = cg_pin_path(path, sizeof(path), pin_root, cgroup_id, cg_progs[i].suffix);
		if (!err)
			err = unpin(path);
		if (err && !ret)
			ret = err;
	}
	return ret;
}
