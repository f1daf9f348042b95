/*-------------------------------------------------------------------------
 *
 * ck_util.h
 *		Small helpers shared by the CloudKit client and the emulator:
 *		a growable byte buffer, base64, SHA-256, UUIDs and timestamps.
 *
 * Everything allocates with malloc; callers free.  No PostgreSQL headers.
 *
 * src/ck/ck_util.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CK_UTIL_H
#define CK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable, NUL-terminated byte buffer. */
typedef struct CkBuf
{
	char	   *data;			/* always NUL-terminated when non-NULL */
	size_t		len;
	size_t		cap;
} CkBuf;

extern void ck_buf_init(CkBuf *buf);
extern void ck_buf_free(CkBuf *buf);
extern void ck_buf_reset(CkBuf *buf);	/* len = 0, keeps memory */
extern bool ck_buf_append(CkBuf *buf, const void *data, size_t len);	/* false on OOM */
extern bool ck_buf_appendf(CkBuf *buf, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/*
 * Standard base64 with '=' padding.  ck_base64_encode returns a malloc'd
 * NUL-terminated string.  ck_base64_decode returns a malloc'd buffer and its
 * length in *outlen, or NULL when the input is not valid base64.
 */
extern char *ck_base64_encode(const unsigned char *data, size_t len);
extern unsigned char *ck_base64_decode(const char *text, size_t textlen, size_t *outlen);
extern bool ck_base64_decode_to(const char *text, size_t textlen,
								unsigned char *out, size_t *outlen);

/*
 * In JSON text that parsed, the offset of the first \uXXXX escape of a
 * lone UTF-16 surrogate (a high one not followed by a low one, or a low one
 * on its own), or -1.  json-c decodes those to U+FFFD without a word.
 */
extern long ck_json_find_lone_surrogate(const char *json, size_t len);

/* SHA-256 of data, as standard base64 (44 characters + NUL) into out[45]. */
extern void ck_sha256_base64(const void *data, size_t len, char out[45]);

/* A random RFC 4122 version 4 UUID, upper-case, into out[37]. */
extern void ck_uuid_v4(char out[37]);

/* Current time in milliseconds since the epoch. */
extern int64_t ck_now_ms(void);

/* "YYYY-MM-DDTHH:MM:SSZ" (UTC, seconds precision) into out[21]. */
extern void ck_iso8601_utc(int64_t epoch_seconds, char out[21]);

/* Parse "YYYY-MM-DDTHH:MM:SSZ"; returns false if malformed. */
extern bool ck_iso8601_parse(const char *text, int64_t *epoch_seconds);

/* The value of a hexadecimal digit, or -1. */
extern int	ck_hex_digit(char c);

#endif							/* CK_UTIL_H */
