// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The kernel edges the control protocol reaches, faked for the fuzzer
 * (tests/fuzz/fuzz_ctl.c), which links them instead of user/hooks.c and
 * user/loader.c: the socket hooks "attach" to any cgroup, and one
 * interface, fz0 (a veth of the fuzzer's network namespace), can have
 * XDP "attached" and detached. Nothing here touches BPF.
 *
 * Also the wrappers the fuzzer links with -Wl,--wrap: mkdir gives each
 * directory the agent makes a cgroup.procs file (as a cgroup has), rmdir
 * removes it first, and xsl_log is quiet unless XSL_FUZZ_LOG is set.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hooks.h"
#include "loader.h"
#include "log.h"

#define FAKE_DEV "fz0"

static bool fz0_attached;

int hooks__load(struct xsl_hooks **out, const char *pin_root)
{
	(void)pin_root;
	*out = NULL;
	return 0;
}

int hooks__attach_tracepoints(struct xsl_hooks *h, const char *pin_root)
{
	(void)h;
	(void)pin_root;
	return 0;
}

int hooks__detach_tracepoints(const char *pin_root)
{
	(void)pin_root;
	return 0;
}

int hooks__attach_cgroup(struct xsl_hooks *h, int cgroup_fd, __u64 cgroup_id,
			 const char *pin_root)
{
	(void)h;
	(void)cgroup_id;
	return pin_root && cgroup_fd >= 0 ? 0 : -EINVAL;
}

int hooks__detach_cgroup(__u64 cgroup_id, const char *pin_root)
{
	(void)cgroup_id;
	return pin_root ? 0 : -EINVAL;
}

int hooks__map_fd(const struct xsl_hooks *h, const char *name)
{
	(void)h;
	(void)name;
	return -EBADF;
}

void hooks__destroy(struct xsl_hooks *h)
{
	(void)h;
}

int loader__adopt_pinned_sizes(struct bpf_object *obj, const char *pin_root)
{
	(void)obj;
	(void)pin_root;
	return 0;
}

int loader__create_maps(const char *pin_root, const struct xsl_map_sizes *sizes)
{
	(void)pin_root;
	(void)sizes;
	return -EOPNOTSUPP;
}

int loader__xdp_attach(const char *pin_root, const char *ifname, enum xsl_xdp_mode mode)
{
	(void)pin_root;
	(void)mode;
	if (strcmp(ifname, FAKE_DEV))
		return -ENODEV;
	if (fz0_attached)
		return -EEXIST;
	fz0_attached = true;
	return 0;
}

int loader__xdp_attach_then(const char *pin_root, const char *ifname, enum xsl_xdp_mode mode,
			    const char *then_path)
{
	(void)then_path;
	return loader__xdp_attach(pin_root, ifname, mode);
}

int loader__xdp_detach(const char *pin_root, const char *ifname)
{
	(void)pin_root;
	if (strcmp(ifname, FAKE_DEV))
		return -ENODEV;
	if (!fz0_attached)
		return -ENOENT;
	fz0_attached = false;
	return 0;
}

int loader__xdp_detach_then(const char *pin_root, const char *ifname)
{
	(void)pin_root;
	if (strcmp(ifname, FAKE_DEV))
		return -ENODEV;
	return -ENOENT;	/* no next program is ever chained here */
}

const char *loader__xdp_error(void)
{
	return "";
}

int loader__xdp_attached(const char *ifname)
{
	return strcmp(ifname, FAKE_DEV) ? -ENODEV : fz0_attached;
}

int loader__sklookup_attach(const char *pin_root, int netns_fd)
{
	(void)pin_root;
	(void)netns_fd;
	return 0;
}

int loader__sklookup_detach(const char *pin_root)
{
	(void)pin_root;
	return 0;
}

void loader__route_library_logs(void)
{
}

/* Called by the harness between inputs: every input starts alike. */
void fake_edges__reset(void)
{
	fz0_attached = false;
}

int __real_mkdir(const char *path, mode_t mode);
int __real_rmdir(const char *path);

int __wrap_mkdir(const char *path, mode_t mode)
{
	char procs[PATH_MAX];
	int fd;

	if (__real_mkdir(path, mode))
		return -1;
	if (snprintf(procs, sizeof(procs), "%s/cgroup.procs", path) < (int)sizeof(procs)) {
		fd = open(procs, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

int __wrap_rmdir(const char *path)
{
	char procs[PATH_MAX];

	if (snprintf(procs, sizeof(procs), "%s/cgroup.procs", path) < (int)sizeof(procs))
		unlink(procs);
	return __real_rmdir(path);
}

void __wrap_xsl_log(enum xsl_log_level level, const char *fmt, ...)
{
	static int on = -1;
	va_list ap;

	if (on < 0)
		on = getenv("XSL_FUZZ_LOG") != NULL;
	if (!on)
		return;
	fprintf(stderr, "fuzz log %d: ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}
