/*
 * test_netaddr.c - trusted proxy networks (IPv4, IPv6, mapped, prefixes at
 * and off byte boundaries, bad entries) and the client address behind
 * X-Forwarded-For: only trusted peers are believed, the rightmost
 * untrusted entry wins, garbage stops the walk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "netaddr.h"

static void test_parse_and_match(void **state)
{
	struct netaddr_set s;
	struct gw_error e = {0};

	(void)state;
	assert_int_equal(netaddr_set_parse(" 10.0.0.0/8, 127.0.0.1,::1 ,fd00::/8,"
					   "192.168.1.128/25", &s, &e), 0);
	assert_int_equal(s.n, 5);
	assert_true(netaddr_in(&s, "10.1.2.3"));
	assert_false(netaddr_in(&s, "11.0.0.1"));
	assert_true(netaddr_in(&s, "127.0.0.1"));
	assert_false(netaddr_in(&s, "127.0.0.2"));
	assert_true(netaddr_in(&s, "::ffff:10.9.9.9")); /* mapped */
	assert_true(netaddr_in(&s, "::1"));
	assert_true(netaddr_in(&s, "fd12::5"));
	assert_false(netaddr_in(&s, "fe80::1"));
	assert_true(netaddr_in(&s, "192.168.1.200"));
	assert_false(netaddr_in(&s, "192.168.1.100"));
	assert_false(netaddr_in(&s, "nonsense"));
	assert_false(netaddr_in(&s, NULL));
	netaddr_set_release(&s);
	assert_int_equal(netaddr_set_parse("", &s, &e), 0);
	assert_int_equal(s.n, 0);
	assert_false(netaddr_in(&s, "127.0.0.1"));
	netaddr_set_release(&s);
	for (const char *bad[] = {"10.0.0.0/33", "10.0.0/8", "host.example", "::1/129",
				  "1.2.3.4/", "1.2.3.4/8x", "1.2.3.4 5"}, **b = bad;
	     b < bad + 7; b++) {
		memset(&e, 0, sizeof(e));
		if (netaddr_set_parse(*b, &s, &e) != GW_EBADREQ)
			fail_msg("\"%s\" accepted", *b);
		assert_non_null(strstr(e.msg, "not an IP address"));
		assert_int_equal(s.n, 0);
	}
}

static void test_client(void **state)
{
	struct netaddr_set s;
	char out[NETADDR_STR_MAX + 1];

	(void)state;
	assert_int_equal(netaddr_set_parse("10.0.0.0/8", &s, NULL), 0);
	/* an untrusted peer: its own address, whatever it claims */
	netaddr_client(&s, "203.0.113.9", "1.1.1.1", out);
	assert_string_equal(out, "203.0.113.9");
	/* through one proxy */
	netaddr_client(&s, "10.0.0.2", "198.51.100.7", out);
	assert_string_equal(out, "198.51.100.7");
	/* the client wrote its own entry first: the proxy's entry counts */
	netaddr_client(&s, "10.0.0.2", "6.6.6.6, 198.51.100.7", out);
	assert_string_equal(out, "198.51.100.7");
	/* two trusted hops */
	netaddr_client(&s, "10.0.0.2", "198.51.100.7,10.0.0.9", out);
	assert_string_equal(out, "198.51.100.7");
	/* garbage: the last address vouched for */
	netaddr_client(&s, "10.0.0.2", "x, 10.0.0.9", out);
	assert_string_equal(out, "10.0.0.9");
	netaddr_client(&s, "10.0.0.2", NULL, out);
	assert_string_equal(out, "10.0.0.2");
	netaddr_client(&s, "10.0.0.2", "", out);
	assert_string_equal(out, "10.0.0.2");
	/* mapped peers are normalized */
	netaddr_client(&s, "::ffff:10.0.0.2", "2001:db8::1", out);
	assert_string_equal(out, "2001:db8::1");
	netaddr_set_release(&s);
}

static void test_text(void **state)
{
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	struct sockaddr other;
	char out[NETADDR_STR_MAX + 1];

	(void)state;
	memset(&a4, 0, sizeof(a4));
	a4.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, "203.0.113.9", &a4.sin_addr), 1);
	assert_true(netaddr_text((struct sockaddr *)&a4, out));
	assert_string_equal(out, "203.0.113.9");
	memset(&a6, 0, sizeof(a6));
	a6.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &a6.sin6_addr), 1);
	assert_true(netaddr_text((struct sockaddr *)&a6, out));
	assert_string_equal(out, "2001:db8::1");
	memset(&other, 0, sizeof(other));
	other.sa_family = AF_UNIX;
	assert_false(netaddr_text(&other, out));
	assert_string_equal(out, "");
	assert_false(netaddr_text(NULL, out));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_match),
		cmocka_unit_test(test_client),
		cmocka_unit_test(test_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
