// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "addr.h"
#include "xsl/flow.h"

void addr__ip(uint8_t family, const uint32_t *addr, char *buf, size_t len)
{
	if (!inet_ntop(family == XSL_AF_INET6 ? AF_INET6 : AF_INET, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

void addr__endpoint(uint8_t family, const uint32_t *addr, uint16_t port, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	addr__ip(family, addr, ip, sizeof(ip));
	snprintf(buf, len, family == XSL_AF_INET6 ? "[%s]:%u" : "%s:%u", ip, ntohs(port));
}

const char *addr__proto(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "proto?";
}

int addr__proto_parse(const char *name, uint8_t *proto)
{
	if (!strcmp(name, "tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcmp(name, "udp"))
		*proto = IPPROTO_UDP;
	else
		return -EINVAL;
	return 0;
}
