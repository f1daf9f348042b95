/*-------------------------------------------------------------------------
 *
 * test_values.c
 *		  Unit tests of what the client refuses to change silently: the
 *		  decimal forms of a double (ck_double.c), lone surrogates in JSON
 *		  text (ck_util.c), repeated markers (ck_seen.c); and what is an
 *		  address of this machine (ck_addr.c).
 *
 * test/unit/test_values.c
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck/ck_addr.h"
#include "ck/ck_double.h"
#include "ck/ck_seen.h"
#include "ck/ck_util.h"
#include "unit.h"

static void
test_double_forms(void)
{
	/* each is how the double it reads as prints */
	static const char *const same[] = {
		"45.12345678901234",	/* shortest */
		"45.123456789012337",	/* the same double, %.17g (ckemu's form) */
		"45.1234567890123370",	/* trailing zeros add no digit */
		"4.5123456789012337e1", "4512345678901233.7e-14",
		"0.1", "0.10000000000000001", "1.0000000000000000e-1",
		"0.1000000000000000055511151231257827021181583404541015625",	/* exact */
		"0.30000000000000004", "0.29999999999999999", "0.3",
		"123456789.12345678", "4.9406564584124654e-324", "5e-324",
		"1.7976931348623157e308", "-2.5", "1500.000", "1.5e3", "0", "-0",
		"0.000", "9007199254740992",	/* 2^53 */
	};
	/* each reads as a double that prints otherwise: storing it changes it */
	static const char *const other[] = {
		"1.0000000000000001",	/* reads as 1.0, whose 17 digits are 1.0000000000000000 */
		"0.100000000000000005", /* 18 digits, not 0.1's exact value */
		"0.10000000000000000555",
		"9007199254740993",		/* 2^53 + 1 would be stored as 2^53 */
		"9007199254740993.0000001",
		"1e400", "-1e400", "1e-400", "", "abc", "1.5x", "NaN", "Infinity",
		"--1", "1e", ".", "0x10", " 1", "1 ",
	};
	double		d;
	int			i;

	for (i = 0; i < (int) (sizeof(same) / sizeof(same[0])); i++)
		CHECK_MSG(ck_decimal_is_double(same[i], &d) && d == strtod(same[i], NULL),
				  "%s refused", same[i]);
	for (i = 0; i < (int) (sizeof(other) / sizeof(other[0])); i++)
		CHECK_MSG(!ck_decimal_is_double(other[i], &d), "%s accepted as %.17g",
				  other[i], d);

	/* *d is strtod's, also when refused: callers tell overflow apart */
	CHECK(!ck_decimal_is_double("1e400", &d) && isinf(d));
	CHECK(ck_decimal_is_double("-0", &d) && d == 0 && signbit(d));

	/*
	 * Every double written in its 15-, 16- and 17-digit forms that read back
	 * as it (as %.15g-else-%.17g servers write them) is accepted as itself.
	 */
	{
		unsigned long long bits = 0x3FF0000000000001ULL;
		int			refused = 0;
		int			n;

		for (n = 0; n < 20000; n++)
		{
			double		x;
			char		buf[40];
			int			prec;

			bits = bits * 6364136223846793005ULL + 1442695040888963407ULL;
			memcpy(&x, &bits, sizeof(x));
			if (!isfinite(x))
				continue;
			for (prec = 15; prec <= 17; prec++)
			{
				double		back;

				snprintf(buf, sizeof(buf), "%.*g", prec, x);
				if (strtod(buf, NULL) != x)
					continue;
				if (!ck_decimal_is_double(buf, &back) || back != x)
					refused++;
			}
		}
		CHECK_INT(refused, 0);
	}
}

static void
test_lone_surrogates(void)
{
	static const struct
	{
		const char *json;
		long		at;
	}			cases[] = {
		{"{\"a\":\"x\\uD800y\"}", 7},
		{"{\"a\":\"\\uDE00\"}", 6},
		{"[\"\\ud800\\u0041\"]", 2},
		{"[\"\\uD83D\"]", 2},	/* a high one at the end of its string */
		{"[\"\\uD83D\\uDE00\"]", -1},	/* a pair: U+1F600 */
		{"[\"\\\\uD800\"]", -1},	/* an escaped backslash, then text */
		{"[\"\\\\\\uD800\"]", 4},	/* an escaped backslash, then the escape */
		{"[\"\\\"\\uDFFF\"]", 4},
		{"[\"\\n\\t\\u00e9\\u0000\"]", -1},
		{"{\"plain\":[1,2.5,\"text\"]}", -1},
	};
	int			i;

	for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++)
		CHECK_MSG(ck_json_find_lone_surrogate(cases[i].json, strlen(cases[i].json)) == cases[i].at,
				  "%s: got %ld, want %ld", cases[i].json,
				  ck_json_find_lone_surrogate(cases[i].json, strlen(cases[i].json)),
				  cases[i].at);
}

static void
test_seen_set(void)
{
	CkSeenSet  *set = ck_seen_new();
	char		marker[64];
	int			i;
	int			wrong = 0;

	CHECK(set != NULL);
	if (set == NULL)
		return;
	for (i = 1; i <= 5000; i++)
	{
		snprintf(marker, sizeof(marker), "marker-%d", i);
		if (ck_seen_add(set, marker, strlen(marker), i) != 0)
			wrong++;
	}
	CHECK_INT(wrong, 0);
	CHECK_INT(ck_seen_count(set), 5000);
	/* a repeat names the page it came with first */
	CHECK_INT(ck_seen_add(set, "marker-1", 8, 9999), 1);
	CHECK_INT(ck_seen_add(set, "marker-4321", 11, 9999), 4321);
	/* the whole string counts, NULs and prefixes included */
	CHECK_INT(ck_seen_add(set, "marker-1\0x", 10, 6000), 0);
	CHECK_INT(ck_seen_add(set, "marker-", 7, 6001), 0);
	CHECK_INT(ck_seen_add(set, "marker-1\0x", 10, 7000), 6000);
	CHECK_INT(ck_seen_count(set), 5002);
	ck_seen_clear(set);
	CHECK_INT(ck_seen_count(set), 0);
	CHECK_INT(ck_seen_add(set, "marker-1", 8, 3), 0);
	ck_seen_free(set);
}

/* text -> sockaddr (IPv4 or IPv6), for the address classifier */
static socklen_t
make_addr(const char *text, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(text, ':') != NULL)
	{
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) ss;

		a6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, text, &a6->sin6_addr) != 1)
			return 0;
		return sizeof(*a6);
	}
	else
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *) ss;

		a4->sin_family = AF_INET;
		if (inet_pton(AF_INET, text, &a4->sin_addr) != 1)
			return 0;
		return sizeof(*a4);
	}
}

static void
test_local_addresses(void)
{
	static const char *const local[] = {
		"127.0.0.1", "127.1.2.3", "127.255.255.255", "0.0.0.0", "0.1.2.3",
		"::1", "::", "::ffff:127.0.0.1", "::ffff:127.9.9.9", "::ffff:0.0.0.0",
		"::127.0.0.1",
		/* the fake interfaces below */
		"192.0.2.7", "2001:db8::7", "::ffff:192.0.2.7",
	};
	static const char *const remote[] = {
		"17.253.144.10", "1.1.1.1", "128.0.0.1", "126.255.255.255", "10.0.0.1",
		"192.0.2.8", "169.254.1.1", "255.255.255.255", "2001:db8::8", "fe80::1",
		"::ffff:17.253.144.10", "2a01:b740::1", "64:ff9b::7f00:1",
	};
	struct sockaddr_storage ss;
	struct sockaddr_storage if4;
	struct sockaddr_storage if6;
	struct ifaddrs ifs[2];
	struct ifaddrs *real = NULL;
	struct ifaddrs *ifa;
	socklen_t	len;
	int			i;
	int			checked = 0;

	memset(ifs, 0, sizeof(ifs));
	make_addr("192.0.2.7", &if4);
	make_addr("2001:db8::7", &if6);
	ifs[0].ifa_name = "eth0";
	ifs[0].ifa_addr = (struct sockaddr *) &if4;
	ifs[0].ifa_next = &ifs[1];
	ifs[1].ifa_name = "eth0";
	ifs[1].ifa_addr = (struct sockaddr *) &if6;

	for (i = 0; i < (int) (sizeof(local) / sizeof(local[0])); i++)
	{
		len = make_addr(local[i], &ss);
		CHECK_MSG(len > 0 && ck_addr_is_local_among((struct sockaddr *) &ss, len, ifs),
				  "%s not local", local[i]);
	}
	for (i = 0; i < (int) (sizeof(remote) / sizeof(remote[0])); i++)
	{
		len = make_addr(remote[i], &ss);
		CHECK_MSG(len > 0 && !ck_addr_is_local_among((struct sockaddr *) &ss, len, ifs),
				  "%s local", remote[i]);
	}
	/* loopback needs no interface list; an address of unknown family is local */
	len = make_addr("127.0.0.1", &ss);
	CHECK(ck_addr_is_local_among((struct sockaddr *) &ss, len, NULL));
	ss.ss_family = AF_UNIX;
	CHECK(ck_addr_is_local_among((struct sockaddr *) &ss, sizeof(ss), NULL));
	CHECK(ck_addr_is_local_among(NULL, 0, NULL));

	/* every address of this machine's interfaces is local */
	if (CHECK(getifaddrs(&real) == 0))
	{
		for (ifa = real; ifa != NULL; ifa = ifa->ifa_next)
		{
			if (ifa->ifa_addr == NULL ||
				(ifa->ifa_addr->sa_family != AF_INET && ifa->ifa_addr->sa_family != AF_INET6))
				continue;
			len = ifa->ifa_addr->sa_family == AF_INET ?
				sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
			if (!ck_addr_is_local(ifa->ifa_addr, len))
				CHECK_MSG(false, "an address of interface %s is not local", ifa->ifa_name);
			checked++;
		}
		freeifaddrs(real);
		/* lo has 127.0.0.1 at least */
		CHECK(checked > 0);
	}
}

void
test_values(void)
{
	test_local_addresses();
	test_double_forms();
	test_lone_surrogates();
	test_seen_set();
}
