// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Key addresses and protocols as text (user/addr.h): the endpoint forms of
 * `show sessions`/`show listeners` and registry messages, and the protocol
 * names both ways.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "addr.h"
#include "xsl/flow.h"

static void test_addr_endpoint_v4_and_v6(void **state)
{
	uint32_t v4[4] = { htonl(0x0a000001) }, v6[4] = { htonl(0x20010db8), 0, 0, htonl(1) };
	char buf[XSL_ENDPOINT_LEN];

	(void)state;
	addr__endpoint(XSL_AF_INET, v4, htons(53), buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.1:53");
	addr__endpoint(XSL_AF_INET6, v6, htons(443), buf, sizeof(buf));
	assert_string_equal(buf, "[2001:db8::1]:443");
	addr__ip(XSL_AF_INET6, v6, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::1");
}

static void test_addr_proto_names(void **state)
{
	(void)state;
	assert_string_equal(addr__proto(IPPROTO_TCP), "tcp");
	assert_string_equal(addr__proto(IPPROTO_UDP), "udp");
	assert_string_equal(addr__proto(IPPROTO_ICMP), "proto?");
	assert_int_equal(XSL_IPPROTO_TCP, IPPROTO_TCP);
	assert_int_equal(XSL_IPPROTO_UDP, IPPROTO_UDP);
}

static void test_addr_proto_parse(void **state)
{
	uint8_t p = 0;

	(void)state;
	assert_int_equal(addr__proto_parse("tcp", &p), 0);
	assert_int_equal(p, IPPROTO_TCP);
	assert_int_equal(addr__proto_parse("udp", &p), 0);
	assert_int_equal(p, IPPROTO_UDP);
	p = 99;
	assert_int_equal(addr__proto_parse("TCP", &p), -EINVAL);
	assert_int_equal(addr__proto_parse("sctp", &p), -EINVAL);
	assert_int_equal(addr__proto_parse("", &p), -EINVAL);
	assert_int_equal(p, 99);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_endpoint_v4_and_v6),
		cmocka_unit_test(test_addr_proto_names),
		cmocka_unit_test(test_addr_proto_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
