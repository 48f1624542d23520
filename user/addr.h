/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Addresses and protocols of flow and listener keys as text: the one formatter. */
#ifndef XSL_ADDR_H
#define XSL_ADDR_H

#include <stddef.h>
#include <stdint.h>

/* Longest "[v6 address]:65535" with its NUL. */
#define XSL_ENDPOINT_LEN 56

/* family XSL_AF_INET/INET6, addr as in the keys (network order) -> text. */
void addr__ip(uint8_t family, const uint32_t *addr, char *buf, size_t len);
/* The same with a port in network order: "a.b.c.d:P" or "[v6]:P". */
void addr__endpoint(uint8_t family, const uint32_t *addr, uint16_t port, char *buf, size_t len);
/* IPPROTO_TCP/IPPROTO_UDP as "tcp"/"udp"; "proto?" for any other. */
const char *addr__proto(uint8_t proto);
/* "tcp"/"udp" -> IPPROTO_TCP/IPPROTO_UDP; -EINVAL for any other name. */
int addr__proto_parse(const char *name, uint8_t *proto);

#endif /* XSL_ADDR_H */
