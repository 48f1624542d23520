/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The test helpers' one way to turn "ADDR" and a port into a sockaddr. */
#ifndef XSL_TEST_SOCKADDR_H
#define XSL_TEST_SOCKADDR_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/* IPv4 or IPv6 text address -> *ss, *len; 0 or -EINVAL. */
static inline int helper_sockaddr(const char *addr, int port, struct sockaddr_storage *ss,
				  socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	return -EINVAL;
}

#endif /* XSL_TEST_SOCKADDR_H */
