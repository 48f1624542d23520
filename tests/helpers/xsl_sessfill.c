// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark helper: gives one worker many sessions at once by writing them
 * straight into the pinned xsl_sessions map (bpf_map_update_batch), cloned
 * from a real session of that worker, so the clones carry its worker, gen,
 * app and listener. Only the remote side differs: addresses counted up from
 * --base (198.18.0.0/15, the benchmarking range, by default) and ports
 * 1024..61023. No packet ever comes for them; they are there to be held.
 * Plain bpf(2) calls, so it needs no libbpf.
 *
 *   xsl_sessfill --map PIN/xsl_sessions --worker IDX --count N [--base ADDR]
 * Prints: "filled N worker IDX sessions M" (M: the worker's sessions now).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "args.h"
#include "xsl/flow.h"
#include "xsl/records.h"

#define CHUNK		8192
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

/* Next key after prev (NULL: the first); 0, -ENOENT at the end, or -errno. */
static int next_key(int fd, const struct xsl_flow_key *prev, struct xsl_flow_key *next)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (uint32_t)fd;
	attr.key = (uint64_t)(uintptr_t)prev;
	attr.next_key = (uint64_t)(uintptr_t)next;
	return sys_bpf(BPF_MAP_GET_NEXT_KEY, &attr);
}

static int lookup(int fd, const struct xsl_flow_key *key, struct xsl_session *val)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (uint32_t)fd;
	attr.key = (uint64_t)(uintptr_t)key;
	attr.value = (uint64_t)(uintptr_t)val;
	return sys_bpf(BPF_MAP_LOOKUP_ELEM, &attr);
}

static int update_batch(int fd, const struct xsl_flow_key *keys, const struct xsl_session *vals,
			uint32_t n)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.batch.map_fd = (uint32_t)fd;
	attr.batch.keys = (uint64_t)(uintptr_t)keys;
	attr.batch.values = (uint64_t)(uintptr_t)vals;
	attr.batch.count = n;
	attr.batch.elem_flags = BPF_ANY;
	return sys_bpf(BPF_MAP_UPDATE_BATCH, &attr);
}

/*
 * Walks the map: counts the sessions of worker into *count and, when tmpl
 * is not NULL, copies the first of them there. Sessions may come and go
 * during the walk (LRU, XDP): a key gone under it restarts from the start.
 */
static int scan(int fd, uint32_t worker, struct xsl_flow_key *tk, struct xsl_session *tv,
		uint64_t *count)
{
	struct xsl_flow_key key, next;
	struct xsl_session val;
	int err, found = 0;

	*count = 0;
	for (err = next_key(fd, NULL, &key); !err; err = next_key(fd, &key, &next), key = next) {
		if (lookup(fd, &key, &val))
			continue;
		if (val.worker != worker)
			continue;
		if (!found && tk) {
			*tk = key;
			*tv = val;
		}
		found = 1;
		(*count)++;
	}
	return err == -ENOENT ? (found ? 0 : -ESRCH) : err;
}

int main(int argc, char **argv)
{
	const char *path = NULL, *base_s = "198.18.0.0";
	int worker = -1, count = 0;
	struct xsl_flow_key tk, *keys;
	struct xsl_session tv, *vals;
	struct in_addr base;
	uint64_t have = 0;
	int fd, err;

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
	err = scan(fd, (uint32_t)worker, &tk, &tv, &have);
	if (err) {
		fprintf(stderr, "xsl_sessfill: no session of worker %d in %s to clone: %s\n",
			worker, path, strerror(-err));
		return 1;
	}
	keys = calloc(CHUNK, sizeof(*keys));
	vals = calloc(CHUNK, sizeof(*vals));
	if (!keys || !vals) {
		fprintf(stderr, "xsl_sessfill: %d entries: %s\n", CHUNK, strerror(ENOMEM));
		return 1;
	}
	for (long done = 0; done < count;) {
		uint32_t n = 0;

		for (; n < CHUNK && done + n < count; n++) {
			long i = done + n;
			uint32_t host = ntohl(base.s_addr) + (uint32_t)(i / PORTS);

			keys[n] = tk;
			vals[n] = tv;
			keys[n].rport = htons((uint16_t)(1024 + i % PORTS));
			/* v4 in addr[0]; for a v6 template the last word varies */
			keys[n].raddr[tk.family == XSL_AF_INET6 ? 3 : 0] = htonl(host);
		}
		err = update_batch(fd, keys, vals, n);
		if (err) {
			fprintf(stderr, "xsl_sessfill: update %u sessions in %s: %s\n", n, path,
				strerror(-err));
			return 1;
		}
		done += n;
	}
	err = scan(fd, (uint32_t)worker, NULL, NULL, &have);
	printf("filled %d worker %d sessions %llu\n", count, worker, (unsigned long long)have);
	return err ? 1 : 0;
usage:
	fprintf(stderr, "usage: xsl_sessfill --map PIN/xsl_sessions --worker IDX --count N "
			"[--base ADDR]\n");
	return 2;
}
