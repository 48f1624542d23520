// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ADDR:PORT for `xslctl listen` (user/cli.h): IPv4, [IPv6], the wildcard
 * forms, canonical output, and every malformed spelling rejected with a
 * reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "cli.h"

static void assert_addrport(const char *in, const char *addr, unsigned int port)
{
	char got[INET6_ADDRSTRLEN];
	const char *why = NULL;
	unsigned int p = 0;
	int ret = cli_parse_addrport(in, got, sizeof(got), &p, &why);

	if (ret)
		print_message("%s: %s\n", in, why);
	assert_int_equal(ret, 0);
	assert_string_equal(got, addr);
	assert_int_equal(p, port);
}

static void assert_bad(const char *in)
{
	char got[INET6_ADDRSTRLEN];
	const char *why = NULL;
	unsigned int p;

	if (cli_parse_addrport(in, got, sizeof(got), &p, &why) != -EINVAL) {
		print_message("'%s' was accepted\n", in);
		fail();
	}
	assert_non_null(why);
}

static void test_ipv4(void **state)
{
	(void)state;
	assert_addrport("127.0.0.1:53", "127.0.0.1", 53);
	assert_addrport("10.1.2.3:1", "10.1.2.3", 1);
	assert_addrport("192.168.0.1:65535", "192.168.0.1", 65535);
}

static void test_ipv6_in_brackets_canonical(void **state)
{
	(void)state;
	assert_addrport("[::1]:53", "::1", 53);
	assert_addrport("[2001:DB8:0:0::1]:8080", "2001:db8::1", 8080);
	assert_addrport("[fe80:0000::0001]:443", "fe80::1", 443);
	assert_addrport("[::ffff:10.0.0.1]:80", "::ffff:10.0.0.1", 80);
}

static void test_wildcards(void **state)
{
	(void)state;
	assert_addrport("*:80", "0.0.0.0", 80);
	assert_addrport("0.0.0.0:80", "0.0.0.0", 80);
	assert_addrport("[::]:80", "::", 80);
	assert_addrport("[0::0]:80", "::", 80);
}

static void test_bad_addrports(void **state)
{
	static const char *const bad[] = {
		"", ":", ":80", "*", "*:", "1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536",
		"1.2.3.4:99999999999999999999", "1.2.3.4:-1", "1.2.3.4:+80", "1.2.3.4: 80",
		"1.2.3.4:80x", "1.2.3.4:0x50", "1.2.3:80", "1.2.3.256:80", "01.2.3.4:80",
		"host:80", "::1:80", "::1", "[::1]", "[::1]80", "[::1:80", "[1.2.3.4]:80",
		"[*]:80", "[]:80", "[::1]:", "[::1]:0", "[fe80::1%eth0]:80", "[::g]:80",
		" 1.2.3.4:80", "1.2.3.4 :80", "[::1]:80:80",
		"[aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa]:80",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_bad(bad[i]);
}

static void test_reasons(void **state)
{
	char a[INET6_ADDRSTRLEN];
	const char *why;
	unsigned int p;

	(void)state;
	cli_parse_addrport("1.2.3.4", a, sizeof(a), &p, &why);
	assert_string_equal(why, "missing :PORT");
	cli_parse_addrport("1.2.3.4:0", a, sizeof(a), &p, &why);
	assert_string_equal(why, "expected a port 1..65535");
	cli_parse_addrport("::1:53", a, sizeof(a), &p, &why);
	assert_string_equal(why, "IPv6 addresses go in brackets: [ADDR]:PORT");
	cli_parse_addrport("[::1:53", a, sizeof(a), &p, &why);
	assert_string_equal(why, "missing ']' after the IPv6 address");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6_in_brackets_canonical),
		cmocka_unit_test(test_wildcards),
		cmocka_unit_test(test_bad_addrports),
		cmocka_unit_test(test_reasons),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
