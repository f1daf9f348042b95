/*-------------------------------------------------------------------------
 *
 * test_util.c
 *		  Unit tests of ck_util.c: CkBuf, base64, SHA-256, UUIDs, ISO-8601.
 *
 * test/unit/test_util.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck/ck_util.h"
#include "unit.h"

static void
test_buf(void)
{
	CkBuf		b;
	char		big[1000];
	int			i;

	ck_buf_init(&b);
	CHECK(b.data == NULL && b.len == 0);
	CHECK(ck_buf_append(&b, "abc", 3));
	CHECK(ck_buf_append(&b, "", 0));
	CHECK_INT(b.len, 3);
	CHECK_STR(b.data, "abc");
	CHECK(ck_buf_appendf(&b, "-%d-%s", 42, "x"));
	CHECK_STR(b.data, "abc-42-x");

	/* appendf past its 256-byte fast path */
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(ck_buf_appendf(&b, "%s|%d", big, 7));
	CHECK_INT(b.len, 8 + 999 + 2);
	CHECK(b.data[8] == 'y' && b.data[8 + 998] == 'y');
	CHECK_STR(b.data + 8 + 999, "|7");

	/* binary data with NULs keeps its length */
	ck_buf_reset(&b);
	CHECK_INT(b.len, 0);
	CHECK_STR(b.data, "");
	CHECK(ck_buf_append(&b, "a\0b", 3));
	CHECK_INT(b.len, 3);
	CHECK(b.data[1] == '\0' && b.data[2] == 'b' && b.data[3] == '\0');

	/* growth through many small appends */
	ck_buf_reset(&b);
	for (i = 0; i < 10000; i++)
		ck_buf_append(&b, "0123456789", 10);
	CHECK_INT(b.len, 100000);
	CHECK(b.cap > b.len && b.data[b.len] == '\0');
	ck_buf_free(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
}

static void
check_b64_roundtrip(const char *plain, const char *encoded)
{
	char	   *e = ck_base64_encode((const unsigned char *) plain, strlen(plain));
	unsigned char *d;
	size_t		dlen = 99;

	CHECK_STR(e, encoded);
	free(e);
	d = ck_base64_decode(encoded, strlen(encoded), &dlen);
	CHECK_MSG(d != NULL, "decode \"%s\" failed", encoded);
	if (d)
	{
		CHECK_INT(dlen, strlen(plain));
		CHECK_MSG(memcmp(d, plain, dlen) == 0, "decode \"%s\" wrong bytes", encoded);
	}
	free(d);
}

static void
check_b64_rejected(const char *text, size_t len, const char *why)
{
	size_t		dlen = 99;
	unsigned char *d = ck_base64_decode(text, len, &dlen);

	CHECK_MSG(d == NULL, "base64 %s was accepted", why);
	free(d);
}

static void
test_base64(void)
{
	unsigned char bin[300];
	int			n;
	int			i;

	/* RFC 4648 test vectors */
	check_b64_roundtrip("", "");
	check_b64_roundtrip("f", "Zg==");
	check_b64_roundtrip("fo", "Zm8=");
	check_b64_roundtrip("foo", "Zm9v");
	check_b64_roundtrip("foob", "Zm9vYg==");
	check_b64_roundtrip("fooba", "Zm9vYmE=");
	check_b64_roundtrip("foobar", "Zm9vYmFy");

	/* every length 0..299 of binary data, incl. NUL and 0xFF, round-trips */
	for (i = 0; i < (int) sizeof(bin); i++)
		bin[i] = (unsigned char) (i * 37 + 11);
	bin[0] = 0;
	bin[1] = 0xFF;
	for (n = 0; n < (int) sizeof(bin); n++)
	{
		char	   *e = ck_base64_encode(bin, n);
		size_t		dlen = 0;
		unsigned char *d = e ? ck_base64_decode(e, strlen(e), &dlen) : NULL;

		if (!CHECK_MSG(e && strlen(e) == (size_t) (4 * ((n + 2) / 3)) && d &&
					   dlen == (size_t) n && memcmp(d, bin, n) == 0,
					   "base64 round trip of %d bytes", n))
			n = sizeof(bin);
		free(e);
		free(d);
	}

	/* '+' and '/' are standard base64, '-' and '_' (base64url) are not */
	{
		unsigned char x[3] = {0xFB, 0xFF, 0xBF};
		char	   *e = ck_base64_encode(x, 3);

		CHECK_STR(e, "+/+/");
		free(e);
	}
	check_b64_rejected("-_-_", 4, "url-safe alphabet");
	check_b64_rejected("Zg", 2, "without padding");
	check_b64_rejected("Zg=", 3, "with short padding");
	check_b64_rejected("Zm9", 3, "of length 3");
	check_b64_rejected("Zg==Zg==", 8, "with padding in the middle");
	check_b64_rejected("Z===", 4, "with three '='");
	check_b64_rejected("====", 4, "of only padding");
	check_b64_rejected("Zh==", 4, "with non-zero unused bits (Zh==)");
	check_b64_rejected("Zm9=", 4, "with non-zero unused bits (Zm9=)");
	check_b64_rejected("Zm9v\n", 5, "with a trailing newline");
	check_b64_rejected(" Zm9v", 5, "with a leading space");
	check_b64_rejected("Zm 9v", 5, "with an inner space");
	check_b64_rejected("Zm9v\nYmFy", 9, "with an inner newline");
	check_b64_rejected("Zm\0v", 4, "with an embedded NUL");
	check_b64_rejected("Zm9v!A==", 8, "with '!'");
	check_b64_rejected("Zm9vYg=a", 8, "with data after '='");
}

static void
test_sha256(void)
{
	char		h[45];
	const char *body = "{\"query\":{\"recordType\":\"Note\"}}";

	/* the fact sheet's worked example (section 2.2) */
	ck_sha256_base64(body, strlen(body), h);
	CHECK_STR(h, "pHA+lOPYejRxN4Iswc9kV8pFFX5glteEnI4oFVFBk9M=");
	ck_sha256_base64("", 0, h);
	CHECK_STR(h, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	ck_sha256_base64(NULL, 0, h);
	CHECK_STR(h, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	/* FIPS 180-2 "abc" */
	ck_sha256_base64("abc", 3, h);
	CHECK_STR(h, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
	/* binary data with a NUL: the length counts, not strlen */
	ck_sha256_base64("a\0b", 3, h);
	CHECK_STR(h, "WbJxrhu8sdMdQZKYF/Sxb7Q5608xUgta0dXOmJIKcTg=");
	{
		char		h1[45];

		ck_sha256_base64("a", 1, h1);
		CHECK(strcmp(h, h1) != 0);
	}
}

static void
test_uuid(void)
{
	char		a[37];
	char		b[37];
	int			i;
	bool		ok = true;

	ck_uuid_v4(a);
	ck_uuid_v4(b);
	CHECK_INT(strlen(a), 36);
	CHECK(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
	CHECK(a[14] == '4');
	CHECK(strchr("89AB", a[19]) != NULL);
	for (i = 0; i < 36; i++)
	{
		if (i == 8 || i == 13 || i == 18 || i == 23)
			continue;
		if (!strchr("0123456789ABCDEF", a[i]))
			ok = false;
	}
	CHECK_MSG(ok, "uuid %s has characters other than upper-case hex", a);
	CHECK(strcmp(a, b) != 0);
}

static void
test_time(void)
{
	char		d[21];
	int64_t		t = -1;
	int64_t		now = ck_now_ms();

	/* sometime after 2023 and before 2100 */
	CHECK(now > INT64_C(1700000000000) && now < INT64_C(4102444800000));

	ck_iso8601_utc(0, d);
	CHECK_STR(d, "1970-01-01T00:00:00Z");
	ck_iso8601_utc(1453760143, d);
	CHECK_STR(d, "2016-01-25T22:15:43Z");
	ck_iso8601_utc(951782400, d);	/* leap day 2000 */
	CHECK_STR(d, "2000-02-29T00:00:00Z");

	CHECK(ck_iso8601_parse("2016-01-25T22:15:43Z", &t));
	CHECK_INT(t, 1453760143);
	CHECK(ck_iso8601_parse("1970-01-01T00:00:00Z", &t));
	CHECK_INT(t, 0);
	CHECK(ck_iso8601_parse("2000-02-29T00:00:00Z", &t));
	CHECK_INT(t, 951782400);
	CHECK(ck_iso8601_parse("2016-12-31T23:59:59Z", &t));
	CHECK_INT(t, 1483228799);

	/* format and parse are inverses around now */
	ck_iso8601_utc(now / 1000, d);
	CHECK(ck_iso8601_parse(d, &t) && t == now / 1000);

	CHECK(!ck_iso8601_parse("2016-01-25T22:15:43.123Z", &t));
	CHECK(!ck_iso8601_parse("2016-01-25T22:15:43+00:00", &t));
	CHECK(!ck_iso8601_parse("2016-01-25 22:15:43Z", &t));
	CHECK(!ck_iso8601_parse("2016-01-25T22:15:43z", &t));
	CHECK(!ck_iso8601_parse("2016-01-25T22:15:43", &t));
	CHECK(!ck_iso8601_parse("2016-1-25T22:15:43Z", &t));
	CHECK(!ck_iso8601_parse("2016-13-01T00:00:00Z", &t));
	CHECK(!ck_iso8601_parse("2016-00-01T00:00:00Z", &t));
	CHECK(!ck_iso8601_parse("2015-02-29T00:00:00Z", &t));
	CHECK(!ck_iso8601_parse("2100-02-29T00:00:00Z", &t));
	CHECK(!ck_iso8601_parse("2016-04-31T00:00:00Z", &t));
	CHECK(!ck_iso8601_parse("2016-01-25T24:00:00Z", &t));
	CHECK(!ck_iso8601_parse("2016-01-25T22:60:00Z", &t));
	CHECK(!ck_iso8601_parse("2016-01-25T22:15:60Z", &t));
	CHECK(!ck_iso8601_parse("2016-01-25T22:15:4xZ", &t));
	CHECK(!ck_iso8601_parse("", &t));
	CHECK(!ck_iso8601_parse(NULL, &t));
}

void
test_util(void)
{
	test_buf();
	test_base64();
	test_sha256();
	test_uuid();
	test_time();
}
