// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* xslctl: drives and shows xsl through the agent's control socket. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: xslctl [--socket PATH] [--json] COMMAND [ARGS...]\n"
		"\n"
		"Commands:\n"
		"  app attach NAME [--cgroup PATH] [--policy reassign|drop]\n"
		"                  [--idle-timeout SECONDS] [--cpu-steer]\n"
		"  app detach NAME\n"
		"  run NAME [--] CMD [ARGS...]\n"
		"  listen NAME tcp|udp ADDR:PORT\n"
		"  show apps | app NAME | workers [NAME] | listeners\n"
		"       | sessions [NAME] [--limit N] | stats\n"
		"  xdp attach DEV [--mode native|skb]\n"
		"  xdp detach DEV\n"
		"\n"
		"Options:\n"
		"  --socket PATH   agent control socket (default /run/xsl/xsl.sock)\n"
		"  --json          machine-readable output for show commands\n"
		"  -h, --help      show this help (also COMMAND --help)\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	fprintf(stderr, "xslctl: %s: not implemented yet\n", argv[1]);
	return 1;
}
