// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* xsl-agent: owns the pinned maps, the registry, cleanup and GC. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "xsl/maps.h"

#define XSL_SOCKET_DEFAULT "/run/xsl/xsl.sock"
#define XSL_METRICS_DEFAULT "127.0.0.1:9477"

struct agent_opts {
	const char *pin_root;
	const char *socket_path;
	const char *metrics;
	const char *cgroup_root;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: xsl-agent [OPTIONS]\n"
		"\n"
		"Runs the xsl control agent in the foreground: owns the pinned maps,\n"
		"registers app workers, cleans up after them and serves xslctl.\n"
		"\n"
		"Options:\n"
		"  --pin-root DIR      bpffs directory of the pinned maps (default %s)\n"
		"  --socket PATH       control socket (default %s)\n"
		"  --metrics ADDR:PORT Prometheus endpoint (default %s)\n"
		"  --cgroup-root DIR   cgroup v2 directory for app cgroups (default: found\n"
		"                      in /proc/mounts, then xsl/ below it)\n"
		"  --log-level LEVEL   error, warn, info or debug (default info)\n"
		"  -h, --help          show this help\n"
		"  -V, --version       show the version\n",
		XSL_PIN_ROOT_DEFAULT, XSL_SOCKET_DEFAULT, XSL_METRICS_DEFAULT);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pin-root", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "cgroup-root", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct agent_opts o = {
		.pin_root = XSL_PIN_ROOT_DEFAULT,
		.socket_path = XSL_SOCKET_DEFAULT,
		.metrics = XSL_METRICS_DEFAULT,
	};
	int c;

	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o.pin_root = optarg; break;
		case 's': o.socket_path = optarg; break;
		case 'm': o.metrics = optarg; break;
		case 'c': o.cgroup_root = optarg; break;
		case 'l':
			if (xsl_log_parse_level(optarg, &xsl_log_level)) {
				fprintf(stderr, "xsl-agent: bad --log-level '%s'\n", optarg);
				usage(stderr);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("xsl-agent %s\n", XSL_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xsl-agent: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	pr_err("agent: not implemented yet (pin root %s)\n", o.pin_root);
	return 1;
}
