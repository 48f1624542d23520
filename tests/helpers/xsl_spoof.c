// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Spoofed-source UDP flood for the flood test: IPv4 datagrams to ADDR:PORT
 * whose source address (within --src-net, default 198.18.0.0/15, the
 * benchmarking range) and port are random, sent as fast as one raw socket
 * goes (IP_HDRINCL, sendmmsg batches) for --duration seconds. Every datagram
 * is a new flow to the receiver. Prints one line:
 *   sent N seconds S pps X
 *
 *   xsl_spoof --addr A --port P [--duration S] [--src-net NET/LEN]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "args.h"

#define BATCH		64
#define PAYLOAD		8

struct dgram {
	struct iphdr ip;
	struct udphdr udp;
	char payload[PAYLOAD];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: fast, and good enough to spread sources. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static int parse_net(const char *s, uint32_t *net, uint32_t *mask)
{
	char buf[64], *slash;
	struct in_addr a;
	int len;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = 0;
	if (inet_pton(AF_INET, buf, &a) != 1 || helper_int(slash + 1, 8, 32, &len))
		return -1;
	*mask = len == 32 ? 0xffffffffu : ~(0xffffffffu >> len);
	*net = ntohl(a.s_addr) & *mask;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "src-net", required_argument, NULL, 's' },
		{ 0 },
	};
	const char *addr = NULL, *src_net = "198.18.0.0/15";
	struct dgram pkts[BATCH];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in dst = { .sin_family = AF_INET };
	uint32_t net, mask;
	uint64_t seed, sent = 0, t0, end;
	int port = 0, duration = 5, c, bad = 0, fd;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': addr = optarg; break;
		case 'p': bad |= helper_int(optarg, 1, 65535, &port); break;
		case 'd': bad |= helper_int(optarg, 1, 3600, &duration); break;
		case 's': src_net = optarg; break;
		default: bad = 1;
		}
	}
	if (bad || optind < argc || !addr || !port ||
	    inet_pton(AF_INET, addr, &dst.sin_addr) != 1 || parse_net(src_net, &net, &mask)) {
		fprintf(stderr, "usage: xsl_spoof --addr A --port P [--duration S] "
				"[--src-net NET/LEN]\n");
		return 2;
	}
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		perror("xsl_spoof: raw socket");
		return 1;
	}
	memset(pkts, 0, sizeof(pkts));
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		struct dgram *d = &pkts[i];

		d->ip.version = 4;
		d->ip.ihl = 5;
		d->ip.ttl = 64;
		d->ip.protocol = IPPROTO_UDP;
		d->ip.tot_len = htons(sizeof(*d));
		d->ip.daddr = dst.sin_addr.s_addr;
		d->udp.dest = htons((uint16_t)port);
		d->udp.len = htons(sizeof(d->udp) + PAYLOAD);
		memcpy(d->payload, "spoofed", PAYLOAD);
		iov[i].iov_base = d;
		iov[i].iov_len = sizeof(*d);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &dst;
		msgs[i].msg_hdr.msg_namelen = sizeof(dst);
	}
	seed = now_ns() | 1;
	t0 = now_ns();
	end = t0 + (uint64_t)duration * 1000000000ull;
	while (now_ns() < end) {
		int n;

		for (int i = 0; i < BATCH; i++) {
			uint64_t r = rnd(&seed);

			pkts[i].ip.saddr = htonl(net | ((uint32_t)r & ~mask));
			pkts[i].udp.source = htons((uint16_t)(1024 + (r >> 32) % 64000));
		}
		n = sendmmsg(fd, msgs, BATCH, 0);
		if (n < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
			perror("xsl_spoof: sendmmsg");
			return 1;
		}
		if (n > 0)
			sent += (uint64_t)n;
	}
	printf("sent %llu seconds %.1f pps %.0f\n", (unsigned long long)sent,
	       (double)(now_ns() - t0) / 1e9, (double)sent * 1e9 / (double)(now_ns() - t0));
	close(fd);
	return 0;
}
