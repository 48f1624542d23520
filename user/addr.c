// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <stdio.h>
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
