// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <bpf/bpf.h>
#include "xsl/maps.h"
#include "log.h"
#include "maps.h"
#include "sesstab.h"

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

int xsl_maps__mmap_sessions(int fd, void **mem, size_t *len)
{
	struct bpf_map_info info = {};
	__u32 ilen = sizeof(info);
	long page = sysconf(_SC_PAGESIZE);
	size_t bytes;
	void *p;

	if (bpf_obj_get_info_by_fd(fd, &info, &ilen))
		return -errno;
	if (info.value_size != sizeof(struct xsl_sess_bucket) || !(info.map_flags & BPF_F_MMAPABLE)) {
		pr_warn("map %s: not a session table (value size %u, flags 0x%x)\n",
			XSL_MAP_SESSIONS, info.value_size, info.map_flags);
		return -EINVAL;
	}
	bytes = (size_t)info.value_size * info.max_entries;
	bytes = (bytes + (size_t)page - 1) / (size_t)page * (size_t)page;
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		pr_warn("mmap %s (%zu bytes): %s\n", XSL_MAP_SESSIONS, bytes, strerror(errno));
		return -errno;
	}
	*mem = p;
	*len = (size_t)info.value_size * info.max_entries;
	return 0;
}

void xsl_maps__munmap_sessions(void *mem, size_t len)
{
	long page = sysconf(_SC_PAGESIZE);

	if (mem)
		munmap(mem, (len + (size_t)page - 1) / (size_t)page * (size_t)page);
}

int xsl_maps__init_sessions(int fd)
{
	uint32_t seed;
	size_t len;
	void *mem;
	int err;

	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		return -errno;
	err = xsl_maps__mmap_sessions(fd, &mem, &len);
	if (err)
		return err;
	err = sesstab__init(mem, len, seed);
	xsl_maps__munmap_sessions(mem, len);
	return err == -EEXIST ? 0 : err;
}
