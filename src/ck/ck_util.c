/*-------------------------------------------------------------------------
 *
 * ck_util.c
 *		  Small helpers shared by the CloudKit client and the emulator: a
 *		  growable byte buffer, base64, SHA-256, UUIDs and timestamps.
 *
 * The base64 decoder is our own rather than EVP_DecodeBlock: that one skips
 * whitespace, does not report padding, and accepts non-canonical input, and
 * CloudKit's BYTES values must round-trip exactly.
 *
 * src/ck/ck_util.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ck/ck_util.h"

/* ----------------------------------------------------------------
 *		CkBuf
 * ----------------------------------------------------------------
 */

void
ck_buf_init(CkBuf *buf)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
}

void
ck_buf_free(CkBuf *buf)
{
	free(buf->data);
	ck_buf_init(buf);
}

void
ck_buf_reset(CkBuf *buf)
{
	buf->len = 0;
	if (buf->data)
		buf->data[0] = '\0';
}

/* Make room for extra more bytes plus the terminating NUL. */
static bool
ck_buf_reserve(CkBuf *buf, size_t extra)
{
	size_t		need;
	size_t		newcap;
	char	   *newdata;

	if (extra > SIZE_MAX - buf->len - 1)
		return false;
	need = buf->len + extra + 1;
	if (need <= buf->cap)
		return true;
	newcap = buf->cap ? buf->cap : 256;
	while (newcap < need)
	{
		if (newcap > SIZE_MAX / 2)
		{
			newcap = need;
			break;
		}
		newcap *= 2;
	}
	newdata = realloc(buf->data, newcap);
	if (newdata == NULL)
		return false;
	buf->data = newdata;
	buf->cap = newcap;
	return true;
}

bool
ck_buf_append(CkBuf *buf, const void *data, size_t len)
{
	if (!ck_buf_reserve(buf, len))
		return false;
	if (len > 0)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
	return true;
}

bool
ck_buf_appendf(CkBuf *buf, const char *fmt,...)
{
	va_list		ap;
	int			n;
	char		small[256];

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return false;
	if ((size_t) n < sizeof(small))
		return ck_buf_append(buf, small, (size_t) n);

	if (!ck_buf_reserve(buf, (size_t) n))
		return false;
	va_start(ap, fmt);
	vsnprintf(buf->data + buf->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	buf->len += (size_t) n;
	return true;
}

/* ----------------------------------------------------------------
 *		base64 and SHA-256
 * ----------------------------------------------------------------
 */

char *
ck_base64_encode(const unsigned char *data, size_t len)
{
	size_t		outlen;
	char	   *out;

	/* EVP_EncodeBlock takes an int length */
	if (len > (size_t) 0x5FFFFFFF)
		return NULL;
	outlen = 4 * ((len + 2) / 3);
	out = malloc(outlen + 1);
	if (out == NULL)
		return NULL;
	if (len == 0)
		out[0] = '\0';
	else
		EVP_EncodeBlock((unsigned char *) out, data, (int) len);
	out[outlen] = '\0';
	return out;
}

static int
ck_base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Strict decoding: length a multiple of 4, only the alphabet, '=' only as
 * one or two final characters, and unused bits zero (so that every byte
 * string has exactly one accepted encoding).
 */
unsigned char *
ck_base64_decode(const char *text, size_t textlen, size_t *outlen)
{
	unsigned char *out;

	*outlen = 0;
	if (text == NULL || textlen % 4 != 0)
		return NULL;
	out = malloc(textlen / 4 * 3 + 1);
	if (out == NULL)
		return NULL;
	if (!ck_base64_decode_to(text, textlen, out, outlen))
	{
		free(out);
		return NULL;
	}
	out[*outlen] = '\0';
	return out;
}

/*
 * ck_base64_decode into the caller's buffer (room for textlen / 4 * 3
 * bytes), for callers that allocate it their own way.
 */
bool
ck_base64_decode_to(const char *text, size_t textlen, unsigned char *out,
					size_t *outlen)
{
	size_t		pad = 0;
	size_t		o = 0;
	size_t		i;

	*outlen = 0;
	if (text == NULL || textlen % 4 != 0)
		return false;
	if (textlen >= 1 && text[textlen - 1] == '=')
		pad++;
	if (textlen >= 2 && text[textlen - 2] == '=')
		pad++;

	for (i = 0; i < textlen; i += 4)
	{
		int			v[4];
		int			k;
		bool		last = (i + 4 == textlen);
		int			nvalid = last ? 4 - (int) pad : 4;

		for (k = 0; k < 4; k++)
		{
			if (k >= nvalid)
			{
				v[k] = 0;		/* an '=' we already counted */
				continue;
			}
			v[k] = ck_base64_value((unsigned char) text[i + k]);
			if (v[k] < 0)
				goto bad;
		}
		out[o++] = (unsigned char) ((v[0] << 2) | (v[1] >> 4));
		if (nvalid >= 3)
			out[o++] = (unsigned char) (((v[1] & 0x0F) << 4) | (v[2] >> 2));
		else if ((v[1] & 0x0F) != 0)
			goto bad;
		if (nvalid == 4)
			out[o++] = (unsigned char) (((v[2] & 0x03) << 6) | v[3]);
		else if (nvalid == 3 && (v[2] & 0x03) != 0)
			goto bad;
	}
	*outlen = o;
	return true;

bad:
	return false;
}

void
ck_sha256_base64(const void *data, size_t len, char out[45])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;

	if (!EVP_Digest(data ? data : "", len, digest, &dlen, EVP_sha256(), NULL) ||
		dlen != 32)
	{
		/* cannot happen with a working libcrypto; never hand out garbage */
		memset(out, 0, 45);
		return;
	}
	EVP_EncodeBlock((unsigned char *) out, digest, 32);
	out[44] = '\0';
}

/* ----------------------------------------------------------------
 *		UUIDs and time
 * ----------------------------------------------------------------
 */

void
ck_uuid_v4(char out[37])
{
	unsigned char b[16];
	static const char hex[] = "0123456789ABCDEF";
	int			i;
	int			o = 0;

	if (RAND_bytes(b, sizeof(b)) != 1)
	{
		/* fall back to the kernel; RAND_bytes only fails if unseeded */
		size_t		got = 0;

		while (got < sizeof(b))
		{
			ssize_t		n = getrandom(b + got, sizeof(b) - got, 0);

			if (n < 0)
			{
				if (errno == EINTR)
					continue;
				abort();		/* no source of randomness at all */
			}
			got += (size_t) n;
		}
	}
	b[6] = (unsigned char) ((b[6] & 0x0F) | 0x40);	/* version 4 */
	b[8] = (unsigned char) ((b[8] & 0x3F) | 0x80);	/* RFC 4122 variant */

	for (i = 0; i < 16; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0x0F];
	}
	out[o] = '\0';
}

int64_t
ck_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
ck_iso8601_utc(int64_t epoch_seconds, char out[21])
{
	time_t		t = (time_t) epoch_seconds;
	struct tm	tm;
	char		tmp[64];

	if (gmtime_r(&t, &tm) == NULL ||
		tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
	{
		/* outside what the 20-character format can carry */
		memcpy(out, "1970-01-01T00:00:00Z", 21);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
	memcpy(out, tmp, 20);
	out[20] = '\0';
}

static bool
ck_parse_digits(const char *s, int n, int *out)
{
	int			v = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool
ck_iso8601_parse(const char *text, int64_t *epoch_seconds)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			year,
				mon,
				day,
				hour,
				min,
				sec;
	int			maxday;
	struct tm	tm;
	time_t		t;

	if (text == NULL || strlen(text) != 20)
		return false;
	if (text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
		text[13] != ':' || text[16] != ':' || text[19] != 'Z')
		return false;
	if (!ck_parse_digits(text, 4, &year) ||
		!ck_parse_digits(text + 5, 2, &mon) ||
		!ck_parse_digits(text + 8, 2, &day) ||
		!ck_parse_digits(text + 11, 2, &hour) ||
		!ck_parse_digits(text + 14, 2, &min) ||
		!ck_parse_digits(text + 17, 2, &sec))
		return false;
	if (mon < 1 || mon > 12 || hour > 23 || min > 59 || sec > 59 || day < 1)
		return false;
	maxday = mdays[mon - 1];
	if (mon == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
		maxday = 29;
	if (day > maxday)
		return false;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*epoch_seconds = (int64_t) t;
	return true;
}

/* The code unit of "\uXXXX" at s (6 bytes readable), or -1. */
static long
ck_json_escape_unit(const char *s)
{
	long		unit = 0;
	int			i;

	if (s[0] != '\\' || s[1] != 'u')
		return -1;
	for (i = 2; i < 6; i++)
	{
		char		c = s[i];

		unit <<= 4;
		if (c >= '0' && c <= '9')
			unit |= c - '0';
		else if (c >= 'a' && c <= 'f')
			unit |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			unit |= c - 'A' + 10;
		else
			return -1;
	}
	return unit;
}

/*
 * Backslashes occur only inside strings, each starting an escape, so
 * walking from one escape to the next (memchr finds them fast) sees every
 * escape once: "\\\\uD800" is an escaped backslash and text, not a
 * surrogate.
 */
long
ck_json_find_lone_surrogate(const char *json, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		const char *p = memchr(json + i, '\\', len - i);
		long		unit;

		if (p == NULL)
			break;
		i = (size_t) (p - json);
		if (len - i < 6 || (unit = ck_json_escape_unit(p)) < 0)
		{
			i += 2;				/* \n, \", \\ and the like */
			continue;
		}
		if (unit >= 0xDC00 && unit <= 0xDFFF)
			return (long) i;	/* a low surrogate with no high one */
		if (unit >= 0xD800 && unit <= 0xDBFF)
		{
			long		next = len - i >= 12 ? ck_json_escape_unit(p + 6) : -1;

			if (next < 0xDC00 || next > 0xDFFF)
				return (long) i;
			i += 12;
			continue;
		}
		i += 6;
	}
	return -1;
}

int
ck_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
