// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "xsl/maps.h"
#include "log.h"
#include "maps.h"

void xsl_maps__init(struct xsl_maps *m)
{
#define XSL__MAP_INIT(field, name) m->field = -1;
	XSL_MAPS_LIST(XSL__MAP_INIT)
#undef XSL__MAP_INIT
}

static int open_pinned(const char *pin_root, const char *name, int *fd)
{
	char path[PATH_MAX];
	int err;

	if (snprintf(path, sizeof(path), "%s/%s", pin_root, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	*fd = bpf_obj_get(path);
	if (*fd < 0) {
		err = -errno;
		pr_warn("open pinned map %s: %s\n", path, strerror(-err));
		return err;
	}
	return 0;
}

int xsl_maps__open(struct xsl_maps *m, const char *pin_root)
{
	int err;

	xsl_maps__init(m);
#define XSL__MAP_OPEN(field, name)					\
	err = open_pinned(pin_root, name, &m->field);			\
	if (err)							\
		goto fail;
	XSL_MAPS_LIST(XSL__MAP_OPEN)
#undef XSL__MAP_OPEN
	return 0;
fail:
	xsl_maps__close(m);
	return err;
}

void xsl_maps__close(struct xsl_maps *m)
{
#define XSL__MAP_CLOSE(field, name)		\
	if (m->field >= 0)			\
		close(m->field);		\
	m->field = -1;
	XSL_MAPS_LIST(XSL__MAP_CLOSE)
#undef XSL__MAP_CLOSE
}

int xsl_maps__unpin(const char *pin_root)
{
	char path[PATH_MAX];
	int ret = 0;

#define XSL__MAP_UNPIN(field, name)						\
	snprintf(path, sizeof(path), "%s/%s", pin_root, name);			\
	if (unlink(path) && errno != ENOENT) {					\
		ret = -errno;							\
		pr_warn("unpin %s: %s\n", path, strerror(errno));		\
	}
	XSL_MAPS_LIST(XSL__MAP_UNPIN)
#undef XSL__MAP_UNPIN
	return ret;
}
