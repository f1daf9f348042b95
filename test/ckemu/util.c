/*-------------------------------------------------------------------------
 *
 * util.c
 *		Small helpers of the emulator: a string hash map, JSON text output,
 *		opaque tokens, names derived from hashes.
 *
 * Responses are written as JSON text straight into a CkBuf rather than
 * built as json-c trees: stored records are shared between threads, and
 * json-c objects cache their serialisation inside themselves, so they must
 * never be shared.  Writing text is also what makes 200-record pages cheap.
 *
 * test/ckemu/util.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "ckemu.h"

/* Out of memory is not recoverable in a test server: say so and stop. */
static void
emu_oom(void)
{
	fprintf(stderr, "ckemu: out of memory\n");
	abort();
}

void *
emu_malloc(size_t size)
{
	void	   *p = malloc(size ? size : 1);

	if (p == NULL)
		emu_oom();
	return p;
}

void *
emu_realloc(void *ptr, size_t size)
{
	void	   *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		emu_oom();
	return p;
}

/* Room for extra more bytes in buf at once (one realloc, not a doubling series). */
void
emu_buf_reserve(CkBuf *buf, size_t extra)
{
	size_t		need = buf->len + extra + 1;

	if (need <= buf->cap)
		return;
	buf->data = emu_realloc(buf->data, need);
	if (buf->len == 0)
		buf->data[0] = '\0';
	buf->cap = need;
}

char *
emu_strdup(const char *s)
{
	char	   *p;

	if (s == NULL)
		return NULL;
	p = strdup(s);
	if (p == NULL)
		emu_oom();
	return p;
}

/* FNV-1a, 64 bits: maps and query fingerprints, not security. */
uint64_t
emu_hash_bytes(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t		i;

	if (h == 0)
		h = UINT64_C(14695981039346656037);
	for (i = 0; i < len; i++)
	{
		h ^= p[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

/* ---------------------------------------------------------------- maps */

void
emu_map_init(EmuMap *map)
{
	map->nbuckets = 16;
	map->count = 0;
	map->borrowed_keys = false;
	map->buckets = calloc(map->nbuckets, sizeof(EmuMapEntry *));
	if (map->buckets == NULL)
		emu_oom();
}

/* A map that keeps the caller's key pointers instead of copies. */
void
emu_map_init_borrowed(EmuMap *map)
{
	emu_map_init(map);
	map->borrowed_keys = true;
}

static void
emu_map_grow(EmuMap *map)
{
	size_t		nb = map->nbuckets * 2;
	EmuMapEntry **b = calloc(nb, sizeof(EmuMapEntry *));
	size_t		i;

	if (b == NULL)
		emu_oom();
	for (i = 0; i < map->nbuckets; i++)
	{
		EmuMapEntry *e = map->buckets[i];

		while (e != NULL)
		{
			EmuMapEntry *next = e->next;
			size_t		k = emu_hash_bytes(0, e->key, strlen(e->key)) & (nb - 1);

			e->next = b[k];
			b[k] = e;
			e = next;
		}
	}
	free(map->buckets);
	map->buckets = b;
	map->nbuckets = nb;
}

void *
emu_map_get(const EmuMap *map, const char *key)
{
	uint64_t	h = emu_hash_bytes(0, key, strlen(key));
	EmuMapEntry *e;

	for (e = map->buckets[h & (map->nbuckets - 1)]; e != NULL; e = e->next)
	{
		if (strcmp(e->key, key) == 0)
			return e->value;
	}
	return NULL;
}

void
emu_map_put(EmuMap *map, const char *key, void *value)
{
	uint64_t	h = emu_hash_bytes(0, key, strlen(key));
	size_t		k = h & (map->nbuckets - 1);
	EmuMapEntry *e;

	for (e = map->buckets[k]; e != NULL; e = e->next)
	{
		if (strcmp(e->key, key) == 0)
		{
			e->value = value;
			if (map->borrowed_keys)
				e->key = (char *) key;
			return;
		}
	}
	e = emu_malloc(sizeof(EmuMapEntry));
	e->key = map->borrowed_keys ? (char *) key : emu_strdup(key);
	e->value = value;
	e->next = map->buckets[k];
	map->buckets[k] = e;
	map->count++;
	if (map->count > map->nbuckets)
		emu_map_grow(map);
}

void *
emu_map_remove(EmuMap *map, const char *key)
{
	uint64_t	h = emu_hash_bytes(0, key, strlen(key));
	EmuMapEntry **pe = &map->buckets[h & (map->nbuckets - 1)];

	while (*pe != NULL)
	{
		EmuMapEntry *e = *pe;

		if (strcmp(e->key, key) == 0)
		{
			void	   *v = e->value;

			*pe = e->next;
			if (!map->borrowed_keys)
				free(e->key);
			free(e);
			map->count--;
			return v;
		}
		pe = &e->next;
	}
	return NULL;
}

void
emu_map_free(EmuMap *map, void (*free_value) (void *))
{
	size_t		i;

	if (map->buckets == NULL)
		return;
	for (i = 0; i < map->nbuckets; i++)
	{
		EmuMapEntry *e = map->buckets[i];

		while (e != NULL)
		{
			EmuMapEntry *next = e->next;

			if (free_value)
				free_value(e->value);
			if (!map->borrowed_keys)
				free(e->key);
			free(e);
			e = next;
		}
	}
	free(map->buckets);
	map->buckets = NULL;
	map->count = 0;
	map->nbuckets = 0;
}

/* ---------------------------------------------------------------- JSON */

void
emu_json_string(CkBuf *buf, const char *s)
{
	/* which bytes are escaped: the quote, the backslash, controls and DEL */
	static const unsigned char escaped[256] = {
		[0x00 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x7f] = 1
	};
	const unsigned char *p = (const unsigned char *) s;
	const unsigned char *run = p;

	emu_lit(buf, "\"");
	for (;; p++)
	{
		const char *esc;
		char		tmp[8];

		while (!escaped[*p])
			p++;
		if (*p == '\0')
			break;
		switch (*p)
		{
			case '"':
				esc = "\\\"";
				break;
			case '\\':
				esc = "\\\\";
				break;
			case '\n':
				esc = "\\n";
				break;
			case '\r':
				esc = "\\r";
				break;
			case '\t':
				esc = "\\t";
				break;
			case '\b':
				esc = "\\b";
				break;
			case '\f':
				esc = "\\f";
				break;
			default:
				snprintf(tmp, sizeof(tmp), "\\u%04x", *p);
				esc = tmp;
				break;
		}
		emu_append(buf, (const char *) run, p - run);
		emu_append(buf, esc, strlen(esc));
		run = p + 1;
	}
	emu_append(buf, (const char *) run, p - run);
	emu_lit(buf, "\"");
}

void
emu_json_object(CkBuf *buf, json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj,
												   JSON_C_TO_STRING_PLAIN |
												   JSON_C_TO_STRING_NOSLASHESCAPE);

	ck_buf_append(buf, s, strlen(s));
}

json_object *
emu_get(json_object *obj, const char *key)
{
	json_object *v = NULL;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/* The Java class CloudKit names in its "Invalid value" reasons. */
const char *
emu_java_class(json_object *v)
{
	switch (json_object_get_type(v))
	{
		case json_type_string:
			return "java.lang.String";
		case json_type_int:
			return "java.lang.Long";
		case json_type_double:
			return "java.lang.Double";
		case json_type_boolean:
			return "java.lang.Boolean";
		case json_type_object:
			return "java.util.LinkedHashMap";
		case json_type_array:
			return "java.util.ArrayList";
		case json_type_null:
			return "null";
	}
	return "java.lang.Object";
}

/* ---------------------------------------------------------------- names */

void
emu_hex(const unsigned char *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t		i;

	for (i = 0; i < len; i++)
	{
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 15];
	}
	out[2 * len] = '\0';
}

/* "_" + 32 hex of SHA-256(prefix + text): a stable userRecordName. */
void
emu_user_from_seed(const char *prefix, const char *text, char out[34])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL)
		emu_oom();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, prefix, strlen(prefix));
	EVP_DigestUpdate(ctx, text, strlen(text));
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	out[0] = '_';
	emu_hex(md, 16, out + 1);
}

void
emu_base36(uint64_t n, char *out)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char		tmp[16];
	int			i = 0,
				j = 0;

	do
	{
		tmp[i++] = digits[n % 36];
		n /= 36;
	} while (n > 0 && i < 15);
	while (i > 0)
		out[j++] = tmp[--i];
	out[j] = '\0';
}

/*
 * Opaque tokens (syncToken, continuationMarker): base64 of
 * "kind:a:b".  Clients must treat them as opaque; we check them on the way
 * back in so that a token from another query or zone is refused.
 */
char *
emu_token_encode(const char *kind, int64_t a, int64_t b)
{
	char		text[96];

	snprintf(text, sizeof(text), "ckemu:%s:%lld:%lld", kind, (long long) a, (long long) b);
	return ck_base64_encode((const unsigned char *) text, strlen(text));
}

bool
emu_token_decode(const char *token, const char *kind, int64_t *a, int64_t *b)
{
	size_t		len;
	unsigned char *raw;
	char		k[32];
	long long	x,
				y;
	int			consumed = 0;
	bool		ok;

	if (token == NULL)
		return false;
	raw = ck_base64_decode(token, strlen(token), &len);
	if (raw == NULL)
		return false;
	ok = (strlen((char *) raw) == len &&
		  sscanf((char *) raw, "ckemu:%31[a-z]:%lld:%lld%n", k, &x, &y, &consumed) == 3 &&
		  (size_t) consumed == len && strcmp(k, kind) == 0);
	free(raw);
	if (ok)
	{
		*a = x;
		*b = y;
	}
	return ok;
}

void
emu_sleep_ms(int ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long) (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}
