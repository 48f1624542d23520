// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ADDR:PORT for `xslctl listen` (see cli.h): IPv4 as A.B.C.D:PORT, IPv6 in
 * brackets, "*" as the IPv4 wildcard. Addresses go through inet_pton() and
 * come out in inet_ntop()'s canonical form, so the agent sees one spelling.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "strnum.h"

int cli_parse_addrport(const char *s, char *addr, size_t len, unsigned int *port,
		       const char **why)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char host[INET6_ADDRSTRLEN];
	const char *colon, *end;
	int family = AF_INET;
	size_t n;

	if (*s == '[') {
		end = strchr(s, ']');
		if (!end) {
			*why = "missing ']' after the IPv6 address";
			return -EINVAL;
		}
		if (end[1] != ':') {
			*why = "missing :PORT";
			return -EINVAL;
		}
		family = AF_INET6;
		s++;
		n = (size_t)(end - s);
		colon = end + 1;
	} else {
		colon = strchr(s, ':');
		if (!colon) {
			*why = "missing :PORT";
			return -EINVAL;
		}
		if (strchr(colon + 1, ':')) {
			*why = "IPv6 addresses go in brackets: [ADDR]:PORT";
			return -EINVAL;
		}
		n = (size_t)(colon - s);
	}
	if (strnum__uint(colon + 1, 1, 65535, port)) {
		*why = "expected a port 1..65535";
		return -EINVAL;
	}
	if (n >= sizeof(host))
		goto bad_addr;
	memcpy(host, s, n);
	host[n] = '\0';
	if (family == AF_INET && !strcmp(host, "*"))
		strcpy(host, "0.0.0.0");
	if (inet_pton(family, host, bin) != 1)
		goto bad_addr;
	if (!inet_ntop(family, bin, addr, (socklen_t)len)) {
		*why = "address too long";
		return -EINVAL;
	}
	return 0;
bad_addr:
	*why = family == AF_INET ? "expected an IPv4 address, [IPv6] or *"
				 : "expected an IPv6 address in brackets";
	return -EINVAL;
}
