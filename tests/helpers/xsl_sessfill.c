// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark helper: gives one worker many sessions at once by writing them
 * straight into the pinned session table (through its own mapping), cloned
 * from a real session of that worker, so the clones carry its worker, gen,
 * app and listener. Only the remote side differs: addresses counted up from
 * --base (198.18.0.0/15, the benchmarking range, by default) and ports
 * 1024..61023. No packet ever comes for them; they are there to be held.
 * Plain bpf(2) calls and mmap, so it needs no libbpf.
 *
 *   xsl_sessfill --map PIN/xsl_sessions --worker IDX --count N [--base ADDR]
 * Prints: "filled N worker IDX sessions M" (N: stored, M: the worker's
 * sessions now); a clone whose two buckets are full is left out (said on
 * stderr), as the data path would refuse it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "args.h"
#include "xsl/flow.h"
#include "xsl/records.h"
#include "sesstab.h"

#define PORTS		60000

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	int ret = (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));

	return ret < 0 ? -errno : ret;
}

static int map_get(const char *path)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.pathname = (uint64_t)(uintptr_t)path;
	return sys_bpf(BPF_OBJ_GET, &attr);
}

/* Maps the table of fd: 0 with *t (and *mem, *len to unmap), or -errno. */
static int map_table(int fd, struct sesstab *t, void **mem, size_t *len)
{
	struct bpf_map_info info;
	union bpf_attr attr;
	int err;

	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = (uint32_t)fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = (uint64_t)(uintptr_t)&info;
	err = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr);
	if (err)
		return err;
	*len = (size_t)info.value_size * info.max_entries;
	*mem = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*mem == MAP_FAILED)
		return -errno;
	return sesstab__open(t, *mem, *len);
}

struct scan_ctx {
	uint32_t worker;
	int found;
	uint64_t count;
	struct xsl_flow_key tk;
	struct xsl_session tv;
};

static int scan_one(const struct sesstab_way *w, const struct xsl_flow_key *k,
		    const struct xsl_session *s, void *ctx)
{
	struct scan_ctx *c = ctx;

	(void)w;
	if (s->worker != c->worker)
		return 0;
	if (!c->found) {
		c->tk = *k;
		c->tv = *s;
	}
	c->found = 1;
	c->count++;
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = NULL, *base_s = "198.18.0.0";
	int worker = -1, count = 0;
	struct scan_ctx sc = { 0 };
	struct in_addr base;
	struct sesstab tab;
	long refused = 0;
	size_t len;
	void *mem;
	int fd, err, rc = 1;

	static const struct option opts[] = {
		{ "map", required_argument, NULL, 'm' },
		{ "worker", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'c' },
		{ "base", required_argument, NULL, 'b' },
		{ 0 },
	};
	int c, bad = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': path = optarg; break;
		case 'w': bad |= helper_int(optarg, 0, XSL_MAX_WORKERS - 1, &worker); break;
		case 'c': bad |= helper_int(optarg, 1, XSL_MAX_SESSIONS, &count); break;
		case 'b': base_s = optarg; break;
		default: bad = 1;
		}
	}
	if (bad || optind < argc || !path || worker < 0 || !count ||
	    inet_pton(AF_INET, base_s, &base) != 1)
		goto usage;
	fd = map_get(path);
	if (fd < 0) {
		fprintf(stderr, "xsl_sessfill: open %s: %s\n", path, strerror(-fd));
		return 1;
	}
	mem = MAP_FAILED;
	err = map_table(fd, &tab, &mem, &len);
	if (err) {
		fprintf(stderr, "xsl_sessfill: map the session table %s: %s\n", path,
			strerror(-err));
		goto out;
	}
	sc.worker = (uint32_t)worker;
	sesstab__scan(&tab, 0, tab.nbuckets, scan_one, &sc);
	if (!sc.found) {
		fprintf(stderr, "xsl_sessfill: no session of worker %d in %s to clone\n", worker,
			path);
		goto out;
	}
	for (long i = 0; i < count; i++) {
		uint32_t host = ntohl(base.s_addr) + (uint32_t)(i / PORTS);
		struct xsl_flow_key k = sc.tk;

		k.rport = htons((uint16_t)(1024 + i % PORTS));
		/* v4 in addr[0]; for a v6 template the last word varies */
		k.raddr[sc.tk.family == XSL_AF_INET6 ? 3 : 0] = htonl(host);
		if (sesstab__put(&tab, &k, &sc.tv))
			refused++;
	}
	if (refused)
		fprintf(stderr, "xsl_sessfill: %ld of %d sessions found no free way in %s\n",
			refused, count, path);
	sc.found = 0;
	sc.count = 0;
	sesstab__scan(&tab, 0, tab.nbuckets, scan_one, &sc);
	printf("filled %ld worker %d sessions %llu\n", count - refused, worker,
	       (unsigned long long)sc.count);
	/* a few finding both their buckets full is normal at high load */
	rc = refused == count ? 1 : 0;
out:
	if (mem != MAP_FAILED)
		munmap(mem, len);
	close(fd);
	return rc;
usage:
	fprintf(stderr, "usage: xsl_sessfill --map PIN/xsl_sessions --worker IDX --count N "
			"[--base ADDR]\n");
	return 2;
}
