/*-------------------------------------------------------------------------
 *
 * ck_page.c
 *		  Records of a raw answer body read in place (see ck_page.h).
 *
 * The check of a body is stricter than json-c's strict mode: RFC 8259
 * syntax, valid UTF-8 (no overlong forms, no encoded surrogates), no
 * escaped lone surrogate, no integer outside int64, nesting below 32.
 * What passes means to json-c what it means here; what fails goes to
 * json-c, which decides as it always did.  Duplicate keys: the last one
 * counts, as in json-c.
 *
 * src/ck/ck_page.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "ck/ck_page.h"
#include "ck/ck_util.h"

/* deeper bodies are left to json-c (which the transport allows 64) */
#define CK_PAGE_MAX_DEPTH	32

static const char *skip_value(const char *p, const char *end, int depth);

/* ----------------------------------------------------------------
 *		The check
 * ----------------------------------------------------------------
 */

static inline const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

/* The UTF-16 unit of "\uXXXX" at p (6 bytes readable), or -1. */
static long
escape_unit(const char *p)
{
	long		u = 0;
	int			i;

	if (p[0] != '\\' || p[1] != 'u')
		return -1;
	for (i = 2; i < 6; i++)
	{
		int			h = ck_hex_digit(p[i]);

		if (h < 0)
			return -1;
		u = u * 16 + h;
	}
	return u;
}

/*
 * The length of the valid UTF-8 sequence at p (a byte >= 0x80), or 0:
 * shortest forms only, no surrogates, nothing above U+10FFFF.
 */
static int
utf8_sequence(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];

	if (c >= 0xC2 && c <= 0xDF)
		return (end - p >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF)
	{
		if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && p[1] < 0xA0)
			return 0;			/* overlong */
		if (c == 0xED && p[1] >= 0xA0)
			return 0;			/* a surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4)
	{
		if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
			(p[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && p[1] < 0x90)
			return 0;			/* overlong */
		if (c == 0xF4 && p[1] >= 0x90)
			return 0;			/* above U+10FFFF */
		return 4;
	}
	return 0;
}

/*
 * Bytes a string's text may hold as they are (printable ASCII), and bytes
 * that neither end nor escape a string already checked (all but '"', '\\'
 * and the NUL after the body).
 */
static bool plain_byte[256];
static bool inner_byte[256];
static bool plain_byte_ready = false;

static void
init_plain_bytes(void)
{
	int			c;

	for (c = 0; c < 256; c++)
	{
		plain_byte[c] = (c >= 0x20 && c < 0x80 && c != '"' && c != '\\');
		inner_byte[c] = (c != 0 && c != '"' && c != '\\');
	}
	plain_byte_ready = true;
}

/*
 * Check the string whose opening quote is at p; returns the byte after its
 * closing quote, or NULL.  *escaped tells whether it holds an escape.
 */
static const char *
skip_string(const char *p, const char *end, bool *escaped)
{
	const unsigned char *s = (const unsigned char *) p + 1;
	const unsigned char *e = (const unsigned char *) end;

	*escaped = false;
	while (s < e)
	{
		unsigned char c;

		while (s + 4 <= e && plain_byte[s[0]] && plain_byte[s[1]] &&
			   plain_byte[s[2]] && plain_byte[s[3]])
			s += 4;
		while (s < e && plain_byte[*s])
			s++;
		if (s >= e)
			break;
		c = *s;
		if (c == '"')
			return (const char *) s + 1;
		if (c < 0x20)
			return NULL;
		if (c == '\\')
		{
			*escaped = true;
			if (e - s < 2)
				return NULL;
			switch (s[1])
			{
				case '"':
				case '\\':
				case '/':
				case 'b':
				case 'f':
				case 'n':
				case 'r':
				case 't':
					s += 2;
					continue;
				case 'u':
					{
						long		u = e - s >= 6 ? escape_unit((const char *) s) : -1;

						if (u < 0 || (u >= 0xDC00 && u <= 0xDFFF))
							return NULL;
						if (u >= 0xD800 && u <= 0xDBFF)
						{
							long		lo = e - s >= 12 ? escape_unit((const char *) s + 6) : -1;

							if (lo < 0xDC00 || lo > 0xDFFF)
								return NULL;
							s += 12;
							continue;
						}
						s += 6;
						continue;
					}
				default:
					return NULL;
			}
		}
		if (c < 0x80)
		{
			s++;
			continue;
		}
		else
		{
			int			n = utf8_sequence(s, e);

			if (n == 0)
				return NULL;
			s += n;
		}
	}
	return NULL;
}

/*
 * Check the number at p; returns the byte after it, or NULL.  An integer
 * must fit int64: json-c clamps wider ones, which the transport rejects.
 */
static const char *
skip_number(const char *p, const char *end)
{
	const char *s = p;
	const char *digits;
	size_t		ndig;
	bool		neg = false;

	if (s < end && *s == '-')
	{
		neg = true;
		s++;
	}
	digits = s;
	if (s >= end || *s < '0' || *s > '9')
		return NULL;
	if (*s == '0')
		s++;
	else
		while (s < end && *s >= '0' && *s <= '9')
			s++;
	ndig = s - digits;
	if (s < end && (*s == '.' || *s == 'e' || *s == 'E'))
	{
		if (*s == '.')
		{
			s++;
			if (s >= end || *s < '0' || *s > '9')
				return NULL;
			while (s < end && *s >= '0' && *s <= '9')
				s++;
		}
		if (s < end && (*s == 'e' || *s == 'E'))
		{
			s++;
			if (s < end && (*s == '+' || *s == '-'))
				s++;
			if (s >= end || *s < '0' || *s > '9')
				return NULL;
			while (s < end && *s >= '0' && *s <= '9')
				s++;
		}
		return s;
	}
	if (ndig > 19)
		return NULL;
	if (ndig == 19 &&
		memcmp(digits, neg ? "9223372036854775808" : "9223372036854775807", 19) > 0)
		return NULL;
	return s;
}

static const char *
skip_literal(const char *p, const char *end, const char *word, size_t n)
{
	if ((size_t) (end - p) < n || memcmp(p, word, n) != 0)
		return NULL;
	return p + n;
}

/*
 * After a member or an element: past the closing bracket (*closed), or at
 * the next one after the comma; NULL when neither follows.
 */
static const char *
after_item(const char *p, const char *end, char close, bool *closed)
{
	p = skip_ws(p, end);
	if (p >= end || (*p != close && *p != ','))
		return NULL;
	*closed = (*p == close);
	return *closed ? p + 1 : skip_ws(p + 1, end);
}

/* Check the object whose '{' is at p; returns the byte after its '}'. */
static const char *
skip_object(const char *p, const char *end, int depth)
{
	bool		escaped;
	bool		closed;

	p = skip_ws(p + 1, end);
	if (p < end && *p == '}')
		return p + 1;
	for (;;)
	{
		if (p >= end || *p != '"' || (p = skip_string(p, end, &escaped)) == NULL)
			return NULL;
		p = skip_ws(p, end);
		if (p >= end || *p != ':')
			return NULL;
		p = skip_ws(p + 1, end);
		if ((p = skip_value(p, end, depth)) == NULL)
			return NULL;
		if ((p = after_item(p, end, '}', &closed)) == NULL || closed)
			return p;
	}
}

static const char *
skip_array(const char *p, const char *end, int depth)
{
	bool		closed;

	p = skip_ws(p + 1, end);
	if (p < end && *p == ']')
		return p + 1;
	for (;;)
	{
		if ((p = skip_value(p, end, depth)) == NULL)
			return NULL;
		if ((p = after_item(p, end, ']', &closed)) == NULL || closed)
			return p;
	}
}

/* Check the value at p (no leading space); returns the byte after it. */
static const char *
skip_value(const char *p, const char *end, int depth)
{
	bool		escaped;

	if (p >= end)
		return NULL;
	switch (*p)
	{
		case '"':
			return skip_string(p, end, &escaped);
		case '{':
			return depth >= CK_PAGE_MAX_DEPTH ? NULL : skip_object(p, end, depth + 1);
		case '[':
			return depth >= CK_PAGE_MAX_DEPTH ? NULL : skip_array(p, end, depth + 1);
		case 't':
			return skip_literal(p, end, "true", 4);
		case 'f':
			return skip_literal(p, end, "false", 5);
		case 'n':
			return skip_literal(p, end, "null", 4);
		default:
			return skip_number(p, end);
	}
}

/* ----------------------------------------------------------------
 *		Pages
 * ----------------------------------------------------------------
 */

/* Is the key (opening quote at p, escape-free, ending before e) word? */
static inline bool
key_is(const char *p, const char *e, const char *word)
{
	size_t		n = strlen(word);

	return (size_t) (e - p) == n + 2 && memcmp(p + 1, word, n) == 0;
}

static bool
page_add_record(CkPage *page, const char *p, size_t len)
{
	if (page->nrecords == page->records_cap)
	{
		int			cap = page->records_cap ? page->records_cap * 2 : 256;
		CkJsonSpan *r = realloc(page->records, sizeof(CkJsonSpan) * cap);

		if (r == NULL)
			return false;
		page->records = r;
		page->records_cap = cap;
	}
	page->records[page->nrecords].p = p;
	page->records[page->nrecords].len = len;
	page->nrecords++;
	return true;
}

/* The records list at p: note each entry, which must be an object. */
static const char *
scan_records(CkPage *page, const char *p, const char *end, int depth)
{
	bool		closed;

	p = skip_ws(p + 1, end);
	if (p < end && *p == ']')
		return p + 1;
	for (;;)
	{
		const char *e;

		if (p >= end || *p != '{' || (e = skip_object(p, end, depth)) == NULL ||
			!page_add_record(page, p, e - p))
			return NULL;
		if ((p = after_item(e, end, ']', &closed)) == NULL || closed)
			return p;
	}
}

/* What a page object holds, and what its scan found. */
typedef struct PageShape
{
	const char *list_key;		/* the records list */
	const char *marker_key;		/* a string member, or NULL */
	const char *flag_key;		/* a boolean member, or NULL */
	const char *error_key;		/* a member that makes it an error dict */
	const char *wrap_key;		/* the body's list of one page object
								 * ("zones"), or NULL: the body is one */
	bool		seen_list;
	bool		seen_wrap;
	bool		flag;
} PageShape;

static const char *scan_page_object(CkPage *page, const char *p,
									const char *end, PageShape *shape,
									bool wrapper, int depth);

/* The wrapper's list at p: exactly one page object, else declined. */
static const char *
scan_wrapped(CkPage *page, const char *p, const char *end, PageShape *shape,
			 int depth)
{
	/* a second list would replace the first: json-c's job */
	if (shape->seen_wrap || p >= end || *p != '[')
		return NULL;
	shape->seen_wrap = true;
	p = skip_ws(p + 1, end);
	if (p >= end || *p != '{' ||
		(p = scan_page_object(page, p, end, shape, false, depth + 2)) == NULL)
		return NULL;
	p = skip_ws(p, end);
	return (p < end && *p == ']') ? p + 1 : NULL;
}

/*
 * The page object whose '{' is at p (at nesting depth), or the wrapper
 * object holding it: its records and its marker into page, its flag into
 * shape.  Returns the byte after its '}', or NULL to decline.
 */
static const char *
scan_page_object(CkPage *page, const char *p, const char *end,
				 PageShape *shape, bool wrapper, int depth)
{
	bool		closed;

	p = skip_ws(p + 1, end);
	if (p < end && *p == '}')
		return p + 1;
	for (;;)
	{
		const char *key = p;
		const char *key_end;
		const char *v;
		bool		escaped;

		if (p >= end || *p != '"' || (key_end = skip_string(p, end, &escaped)) == NULL)
			return NULL;
		p = skip_ws(key_end, end);
		if (p >= end || *p != ':')
			return NULL;
		v = skip_ws(p + 1, end);
		if (escaped)
			return NULL;		/* it may spell a key we read: json-c's */
		if (wrapper)
			p = key_is(key, key_end, shape->wrap_key) ?
				scan_wrapped(page, v, end, shape, depth) :
				skip_value(v, end, depth);
		else if (key_is(key, key_end, shape->list_key))
		{
			/* a second list would replace the first: json-c's job */
			if (shape->seen_list || v >= end || *v != '[')
				return NULL;
			shape->seen_list = true;
			p = scan_records(page, v, end, depth + 1);
		}
		else if (shape->marker_key != NULL && key_is(key, key_end, shape->marker_key))
		{
			p = skip_value(v, end, depth);
			free(page->marker);
			page->marker = NULL;
			if (p != NULL && *v == '"')
			{
				const char *s;
				size_t		n;
				CkJsonSpan	span = {v, p - v};

				/* an escaped marker is json-c's to decode */
				if (!ck_span_plain_string(span, &s, &n))
					return NULL;
				if (n > 0)		/* an empty one is none */
				{
					page->marker = malloc(n + 1);
					if (page->marker == NULL)
						return NULL;
					memcpy(page->marker, s, n);
					page->marker[n] = '\0';
				}
			}
		}
		else if (shape->flag_key != NULL && key_is(key, key_end, shape->flag_key))
		{
			/* any other kind of value is json-c's to report */
			if (v < end && (*v == 't' || *v == 'f'))
				shape->flag = (*v == 't');
			else
				return NULL;
			p = skip_value(v, end, depth);
		}
		else if (shape->error_key != NULL && key_is(key, key_end, shape->error_key))
			return NULL;		/* an error dict: json-c's reader reports it */
		else
			p = skip_value(v, end, depth);
		if (p == NULL)
			return NULL;
		if ((p = after_item(p, end, '}', &closed)) == NULL || closed)
			return p;
	}
}

/* Check a whole body of the given shape, noting its records. */
static bool
scan_body(CkPage *page, const char *body, size_t len, PageShape *shape)
{
	const char *end = body + len;
	const char *p;

	if (!plain_byte_ready)
		init_plain_bytes();
	page->body = body;
	page->body_len = len;
	page->nrecords = 0;
	free(page->marker);
	page->marker = NULL;

	p = skip_ws(body, end);
	if (p >= end || *p != '{' ||
		(p = scan_page_object(page, p, end, shape, shape->wrap_key != NULL, 1)) == NULL)
		return false;
	/* trailing space is fine, anything else is json-c's to report */
	return skip_ws(p, end) == end && shape->seen_list;
}

bool
ck_page_scan(CkPage *page, const char *body, size_t len,
			 const char *list_key, const char *marker_key)
{
	PageShape	shape = {0};

	shape.list_key = list_key;
	shape.marker_key = marker_key;

	return scan_body(page, body, len, &shape);
}

bool
ck_page_scan_zone(CkPage *page, const char *body, size_t len,
				  bool *more_coming)
{
	PageShape	shape = {0};

	shape.list_key = "records";
	shape.marker_key = "syncToken";
	shape.flag_key = "moreComing";
	shape.error_key = "serverErrorCode";
	shape.wrap_key = "zones";

	/* a zone without a syncToken is json-c's to report */
	if (!scan_body(page, body, len, &shape) || page->marker == NULL)
		return false;
	*more_coming = shape.flag;
	return true;
}

void
ck_page_free(CkPage *page)
{
	free(page->records);
	free(page->marker);
	memset(page, 0, sizeof(*page));
}

/* ----------------------------------------------------------------
 *		Values in place (the body has been checked: no bound checks)
 * ----------------------------------------------------------------
 */

/* The byte after the checked string whose opening quote is at p. */
const char *
ck_span_string_end(const char *p)
{
	const unsigned char *s = (const unsigned char *) p + 1;

	if (!plain_byte_ready)
		init_plain_bytes();
	for (;;)
	{
		/* && stops at the quote: nothing past it is read */
		while (inner_byte[s[0]] && inner_byte[s[1]] && inner_byte[s[2]] &&
			   inner_byte[s[3]])
			s += 4;
		while (inner_byte[*s])
			s++;
		if (*s == '"')
			return (const char *) s + 1;
		/* an escape is two bytes at least ("\\u" goes on as text) */
		s += 2;
	}
}

/* The byte after the checked value at p. */
static const char *
end_of_value(const char *p)
{
	int			depth = 0;

	switch (*p)
	{
		case '"':
			return ck_span_string_end(p);
		case '{':
		case '[':
			for (;;)
			{
				char		c = *p;

				if (c == '"')
				{
					p = ck_span_string_end(p);
					continue;
				}
				if (c == '{' || c == '[')
					depth++;
				else if ((c == '}' || c == ']') && --depth == 0)
					return p + 1;
				p++;
			}
		default:
			while (*p != ',' && *p != '}' && *p != ']' && *p != ' ' &&
				   *p != '\n' && *p != '\r' && *p != '\t' && *p != '\0')
				p++;
			return p;
	}
}

bool
ck_span_plain_string(CkJsonSpan v, const char **s, size_t *len)
{
	if (v.p == NULL || v.p[0] != '"' || memchr(v.p, '\\', v.len) != NULL)
		return false;
	*s = v.p + 1;
	*len = v.len - 2;
	return true;
}

/* Append code point u as UTF-8 at o; returns the new end. */
static char *
put_utf8(char *o, unsigned long u)
{
	if (u < 0x80)
		*o++ = (char) u;
	else if (u < 0x800)
	{
		*o++ = (char) (0xC0 | (u >> 6));
		*o++ = (char) (0x80 | (u & 0x3F));
	}
	else if (u < 0x10000)
	{
		*o++ = (char) (0xE0 | (u >> 12));
		*o++ = (char) (0x80 | ((u >> 6) & 0x3F));
		*o++ = (char) (0x80 | (u & 0x3F));
	}
	else
	{
		*o++ = (char) (0xF0 | (u >> 18));
		*o++ = (char) (0x80 | ((u >> 12) & 0x3F));
		*o++ = (char) (0x80 | ((u >> 6) & 0x3F));
		*o++ = (char) (0x80 | (u & 0x3F));
	}
	return o;
}

bool
ck_span_string(CkJsonSpan v, char *out, size_t *outlen)
{
	const char *s;
	const char *e;
	char	   *o = out;

	if (v.p == NULL || v.p[0] != '"')
		return false;
	s = v.p + 1;
	e = v.p + v.len - 1;		/* the closing quote */
	while (s < e)
	{
		const char *bs = memchr(s, '\\', e - s);
		size_t		n = (bs ? bs : e) - s;

		memcpy(o, s, n);
		o += n;
		s += n;
		if (bs == NULL)
			break;
		switch (s[1])
		{
			case 'b':
				*o++ = '\b';
				break;
			case 'f':
				*o++ = '\f';
				break;
			case 'n':
				*o++ = '\n';
				break;
			case 'r':
				*o++ = '\r';
				break;
			case 't':
				*o++ = '\t';
				break;
			case 'u':
				{
					unsigned long u = (unsigned long) escape_unit(s);

					if (u == 0)
						return false;	/* NUL */
					if (u >= 0xD800 && u <= 0xDBFF)
					{
						u = 0x10000 + ((u - 0xD800) << 10) +
							((unsigned long) escape_unit(s + 6) - 0xDC00);
						s += 6;
					}
					o = put_utf8(o, u);
					s += 6;
					continue;
				}
			default:			/* '"', '\\', '/' */
				*o++ = s[1];
				break;
		}
		s += 2;
	}
	*outlen = o - out;
	return true;
}

bool
ck_span_int64(CkJsonSpan v, int64_t *out)
{
	const char *s = v.p;
	const char *e = v.p + v.len;
	bool		neg = false;
	uint64_t	n = 0;

	if (v.p == NULL)
		return false;
	if (*s == '-')
	{
		neg = true;
		s++;
	}
	if (s >= e || *s < '0' || *s > '9')
		return false;
	for (; s < e; s++)
	{
		if (*s < '0' || *s > '9')
			return false;		/* a fraction or an exponent: a double */
		n = n * 10 + (uint64_t) (*s - '0');
	}
	/* the check kept it within int64 */
	*out = neg ? (int64_t) (0 - n) : (int64_t) n;
	return true;
}

bool
ck_span_double(CkJsonSpan v, double *out)
{
	int64_t		i;
	char	   *endp;
	double		d;

	if (v.p == NULL || !(v.p[0] == '-' || (v.p[0] >= '0' && v.p[0] <= '9')))
		return false;
	/* json-c reads an integer as int64: "-0" is 0, not -0.0 */
	if (ck_span_int64(v, &i))
	{
		*out = (double) i;
		return true;
	}
	/* the number ends at a delimiter, where strtod stops too */
	errno = 0;
	d = strtod(v.p, &endp);
	if (endp != v.p + v.len || !isfinite(d))
		return false;
	*out = d;
	return true;
}

bool
ck_span_each_element(CkJsonSpan list, bool (*fn) (void *arg, CkJsonSpan elem),
					 void *arg)
{
	const char *end = list.p + list.len;
	const char *p;

	if (list.p == NULL || list.p[0] != '[')
		return false;
	p = skip_ws(list.p + 1, end);
	if (*p == ']')
		return true;
	for (;;)
	{
		const char *e = end_of_value(p);
		CkJsonSpan	elem = {p, e - p};

		if (!fn(arg, elem))
			return false;
		p = skip_ws(e, end);
		if (*p == ']')
			return true;
		p = skip_ws(p + 1, end);
	}
}

static bool
count_one(void *arg, CkJsonSpan elem)
{
	(*(int *) arg)++;
	return true;
}

int
ck_span_list_length(CkJsonSpan list)
{
	int			n = 0;

	if (!ck_span_each_element(list, count_one, &n))
		return -1;
	return n;
}

bool
ck_span_each_member(CkJsonSpan obj,
					bool (*fn) (void *arg, const char *key, size_t key_len,
								bool key_escaped, CkJsonSpan value),
					void *arg)
{
	const char *end = obj.p + obj.len;
	const char *p;

	if (obj.p == NULL || obj.p[0] != '{')
		return false;
	p = skip_ws(obj.p + 1, end);
	if (*p == '}')
		return true;
	for (;;)
	{
		const char *key_end = ck_span_string_end(p);
		bool		escaped = memchr(p + 1, '\\', key_end - p - 2) != NULL;
		const char *v = skip_ws(skip_ws(key_end, end) + 1, end);
		const char *e = end_of_value(v);
		CkJsonSpan	value = {v, e - v};

		if (!fn(arg, p + 1, key_end - p - 2, escaped, value))
			return false;
		p = skip_ws(e, end);
		if (*p == '}')
			return true;
		p = skip_ws(p + 1, end);
	}
}

/* ----------------------------------------------------------------
 *		Records
 * ----------------------------------------------------------------
 */

typedef struct RecordReader
{
	CkRawRecord *rr;
	char	   *text_end;		/* free space in rr->text */
	bool		saw_fields;
} RecordReader;

#define KEY_IS(key, len, word) \
	((len) == sizeof(word) - 1 && memcmp((key), (word), sizeof(word) - 1) == 0)

/* A string member into the record's text; JSON null is absent. */
static bool
read_text(RecordReader *r, CkJsonSpan v, const char **out)
{
	size_t		n;

	if (v.p[0] == 'n')
	{
		*out = NULL;
		return true;
	}
	if (v.p[0] != '"' || !ck_span_string(v, r->text_end, &n))
		return false;
	r->text_end[n] = '\0';
	*out = r->text_end;
	r->text_end += n + 1;
	return true;
}

typedef struct StampReader
{
	RecordReader *r;
	bool	   *has;
	int64_t    *ms;
	const char **user;
} StampReader;

static bool
stamp_member(void *arg, const char *key, size_t len, bool escaped, CkJsonSpan v)
{
	StampReader *s = (StampReader *) arg;

	if (escaped)
		return false;
	if (KEY_IS(key, len, "timestamp"))
	{
		if (v.p[0] == 'n')
		{
			*s->has = false;
			return true;
		}
		if (!ck_span_int64(v, s->ms))
			return false;		/* a numbersAsStrings timestamp, say */
		*s->has = true;
		return true;
	}
	if (KEY_IS(key, len, "userRecordName"))
		return read_text(s->r, v, s->user);
	return true;
}

static bool
read_stamp(RecordReader *r, CkJsonSpan v, bool *has, int64_t *ms,
		   const char **user)
{
	StampReader s = {r, has, ms, user};

	*has = false;
	*ms = 0;
	*user = NULL;
	if (v.p[0] == 'n')
		return true;
	return ck_span_each_member(v, stamp_member, &s);
}

static bool
zone_member(void *arg, const char *key, size_t len, bool escaped, CkJsonSpan v)
{
	RecordReader *r = (RecordReader *) arg;

	if (escaped)
		return false;
	if (KEY_IS(key, len, "zoneName"))
		return read_text(r, v, &r->rr->rec.zone_name);
	if (KEY_IS(key, len, "ownerRecordName"))
		return read_text(r, v, &r->rr->rec.zone_owner);
	return true;
}

/*
 * The wire names ck_type_name prints, for a quick match of the names every
 * field carries (the rest go to ck_type_parse).
 */
typedef struct KnownType
{
	const char *name;
	size_t		len;
	CkFieldType type;
} KnownType;

static KnownType known_types[2 * (CK_TYPE_ASSETID + 1)];
static int	nknown_types = 0;

static bool
known_type(const char *s, size_t n, CkFieldType *type)
{
	int			i;

	if (nknown_types == 0)
	{
		int			t;
		int			list;

		for (t = CK_TYPE_UNKNOWN; t <= CK_TYPE_ASSETID; t++)
			for (list = 0; list <= 1; list++)
			{
				KnownType  *k;

				if (t == CK_TYPE_UNKNOWN && !list)
					continue;	/* no wire type: ck_type_parse refuses it */
				k = &known_types[nknown_types++];

				k->type.elem = (CkScalarType) t;
				k->type.is_list = list;
				k->name = ck_type_name(k->type);
				k->len = strlen(k->name);
			}
	}
	for (i = 0; i < nknown_types; i++)
	{
		if (known_types[i].len == n && memcmp(known_types[i].name, s, n) == 0)
		{
			*type = known_types[i].type;
			return true;
		}
	}
	return false;
}

static bool
field_dict_member(void *arg, const char *key, size_t len, bool escaped,
				  CkJsonSpan v)
{
	CkRawField *f = (CkRawField *) arg;

	if (escaped)
		return false;
	if (KEY_IS(key, len, "value"))
	{
		f->value.p = v.p[0] == 'n' ? NULL : v.p;
		f->value.len = v.len;
	}
	else if (KEY_IS(key, len, "type"))
	{
		const char *s;
		size_t		n;

		f->type.elem = CK_TYPE_UNKNOWN;
		f->type.is_list = false;
		f->type_name[0] = '\0';
		f->type_given = false;
		if (v.p[0] != '"')
			return true;		/* not a type name: ignored, as by json-c */
		if (!ck_span_plain_string(v, &s, &n) || n >= sizeof(f->type_name))
			return false;
		memcpy(f->type_name, s, n);
		f->type_name[n] = '\0';
		f->type_given = true;
		if (!known_type(s, n, &f->type) && !ck_type_parse(f->type_name, &f->type))
		{
			f->type.elem = CK_TYPE_UNKNOWN;
			f->type.is_list = false;
		}
	}
	return true;
}

static bool
field_member(void *arg, const char *key, size_t len, bool escaped, CkJsonSpan v)
{
	RecordReader *r = (RecordReader *) arg;
	CkRawRecord *rr = r->rr;
	CkRawField *f;

	if (escaped)
		return false;
	if (rr->nfields == rr->fields_cap)
	{
		int			cap = rr->fields_cap ? rr->fields_cap * 2 : 32;
		CkRawField *fields = realloc(rr->fields, sizeof(CkRawField) * cap);

		if (fields == NULL)
			return false;
		rr->fields = fields;
		rr->fields_cap = cap;
	}
	f = &rr->fields[rr->nfields++];
	f->name = key;
	f->name_len = len;
	f->value.p = NULL;
	f->value.len = 0;
	f->type.elem = CK_TYPE_UNKNOWN;
	f->type.is_list = false;
	f->type_name[0] = '\0';
	f->type_given = false;
	if (v.p[0] == 'n')
		return true;			/* a null field is a missing one */
	if (v.p[0] != '{')
	{
		/* no dict: its decoder gets the raw value, as ck_record_field does */
		f->value = v;
		return true;
	}
	return ck_span_each_member(v, field_dict_member, f);
}

static bool
record_member(void *arg, const char *key, size_t len, bool escaped, CkJsonSpan v)
{
	RecordReader *r = (RecordReader *) arg;
	CkRecord   *rec = &r->rr->rec;

	if (escaped)
		return false;
	switch (key[0])
	{
		case 'r':
			if (KEY_IS(key, len, "recordName"))
				return read_text(r, v, &rec->record_name);
			if (KEY_IS(key, len, "recordType"))
				return read_text(r, v, &rec->record_type);
			if (KEY_IS(key, len, "recordChangeTag"))
				return read_text(r, v, &rec->change_tag);
			if (KEY_IS(key, len, "reason") || KEY_IS(key, len, "retryAfter"))
				return v.p[0] == 'n';
			break;
		case 'f':
			if (KEY_IS(key, len, "fields"))
			{
				r->rr->nfields = 0; /* the last "fields" counts */
				r->saw_fields = true;
				if (v.p[0] == 'n')
					return true;
				return ck_span_each_member(v, field_member, r);
			}
			break;
		case 'c':
			if (KEY_IS(key, len, "created"))
				return read_stamp(r, v, &rec->has_created, &rec->created_ms,
								  &rec->created_user);
			break;
		case 'm':
			if (KEY_IS(key, len, "modified"))
				return read_stamp(r, v, &rec->has_modified, &rec->modified_ms,
								  &rec->modified_user);
			break;
		case 'd':
			if (KEY_IS(key, len, "deleted"))
			{
				if (v.p[0] == 'n')
					return true;
				if (v.p[0] != 't' && v.p[0] != 'f')
					return false;
				rec->deleted = (v.p[0] == 't');
			}
			break;
		case 'z':
			if (KEY_IS(key, len, "zoneID"))
			{
				rec->zone_name = NULL;
				rec->zone_owner = NULL;
				if (v.p[0] == 'n')
					return true;
				return ck_span_each_member(v, zone_member, r);
			}
			break;
		case 's':
			/* an error dict: ck_record_parse reads those */
			if (KEY_IS(key, len, "serverErrorCode"))
				return v.p[0] == 'n';
			break;
	}
	return true;
}

bool
ck_raw_record_read(CkRawRecord *rr, const CkPage *page, int i)
{
	CkJsonSpan	span = page->records[i];
	RecordReader r;

	/* decoded strings never outgrow their quoted form */
	if (rr->text_cap < span.len + 1)
	{
		char	   *text = realloc(rr->text, span.len + 1);

		if (text == NULL)
			return false;
		rr->text = text;
		rr->text_cap = span.len + 1;
	}
	memset(&rr->rec, 0, sizeof(rr->rec));
	rr->rec.retry_after = -1;
	rr->nfields = 0;
	r.rr = rr;
	r.text_end = rr->text;
	r.saw_fields = false;

	/*
	 * A member of another type than ck_record_parse expects, a NUL in a
	 * name: declined, so that ck_record_parse says what is wrong.
	 */
	if (!ck_span_each_member(span, record_member, &r) ||
		rr->rec.record_name == NULL)
		return false;
	rr->rec.raw = rr;
	return true;
}

void
ck_raw_record_free(CkRawRecord *rr)
{
	free(rr->fields);
	free(rr->text);
	memset(rr, 0, sizeof(*rr));
}

const CkRawField *
ck_raw_record_field(const CkRawRecord *rr, const char *name, size_t name_len)
{
	int			i;

	for (i = rr->nfields - 1; i >= 0; i--)
	{
		const CkRawField *f = &rr->fields[i];

		if (f->name_len == name_len && memcmp(f->name, name, name_len) == 0)
			return f;
	}
	return NULL;
}

/* ----------------------------------------------------------------
 *		Dictionary values in place
 * ----------------------------------------------------------------
 */

typedef struct LocationReader
{
	bool		has_lat;
	bool		has_lon;
	CkJsonSpan	lat;
	CkJsonSpan	lon;
} LocationReader;

static bool
location_member(void *arg, const char *key, size_t len, bool escaped,
				CkJsonSpan v)
{
	LocationReader *r = (LocationReader *) arg;

	if (escaped)
		return false;
	if (len == 8 && memcmp(key, "latitude", 8) == 0)
	{
		r->has_lat = true;
		r->lat = v;
	}
	else if (len == 9 && memcmp(key, "longitude", 9) == 0)
	{
		r->has_lon = true;
		r->lon = v;
	}
	return true;
}

bool
ck_span_location(CkJsonSpan v, double *latitude, double *longitude)
{
	LocationReader r = {false, false, {NULL, 0}, {NULL, 0}};

	return ck_span_kind(v) == '{' &&
		ck_span_each_member(v, location_member, &r) &&
		r.has_lat && r.has_lon &&
		ck_span_double(r.lat, latitude) && ck_span_double(r.lon, longitude);
}

static bool
reference_member(void *arg, const char *key, size_t len, bool escaped,
				 CkJsonSpan v)
{
	CkJsonSpan *name = (CkJsonSpan *) arg;

	if (escaped)
		return false;
	if (len == 10 && memcmp(key, "recordName", 10) == 0)
		*name = v;
	return true;
}

bool
ck_span_reference_name(CkJsonSpan v, CkJsonSpan *name)
{
	name->p = NULL;
	name->len = 0;
	return ck_span_kind(v) == '{' &&
		ck_span_each_member(v, reference_member, name) &&
		name->p != NULL;
}

/* ----------------------------------------------------------------
 *		json-c, for what is declined above
 * ----------------------------------------------------------------
 */

/*
 * As the transport's check: integer literals outside [INT64_MIN,
 * UINT64_MAX] are clamped silently by json-c.  Returns the offset of the
 * first, or -1.
 */
static long
find_wide_integer(const char *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		char		c = s[i];

		if (c == '"')
		{
			for (;;)
			{
				const char *q = memchr(s + i + 1, '"', len - i - 1);
				size_t		nbackslash = 0;

				if (q == NULL)
					return -1;
				i = (size_t) (q - s);
				while (s[i - 1 - nbackslash] == '\\')
					nbackslash++;
				if (nbackslash % 2 == 0)
					break;
			}
			i++;
			continue;
		}
		if (c == '-' || (c >= '0' && c <= '9'))
		{
			size_t		start = i;
			bool		neg = (c == '-');
			size_t		dstart;
			size_t		ndig;
			bool		is_int = true;

			if (neg)
				i++;
			dstart = i;
			while (i < len && s[i] >= '0' && s[i] <= '9')
				i++;
			ndig = i - dstart;
			while (i < len && (s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
							   s[i] == '+' || s[i] == '-' ||
							   (s[i] >= '0' && s[i] <= '9')))
			{
				is_int = false;
				i++;
			}
			if (is_int && ndig > 0)
			{
				const char *limit = neg ? "9223372036854775808" : "18446744073709551615";
				size_t		llen = strlen(limit);

				while (ndig > 1 && s[dstart] == '0')
				{
					dstart++;
					ndig--;
				}
				if (ndig > llen ||
					(ndig == llen && strncmp(s + dstart, limit, llen) > 0))
					return (long) start;
			}
			continue;
		}
		i++;
	}
	return -1;
}

static struct json_object *
parse_strict(const char *data, size_t len, size_t *parse_end,
			 enum json_tokener_error *jerr)
{
	struct json_tokener *tok = json_tokener_new_ex(64);
	struct json_object *obj;

	if (tok == NULL)
	{
		*jerr = json_tokener_error_parse_unexpected;	/* out of memory */
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	/* the NUL after the data tells json-c the input ends there */
	obj = json_tokener_parse_ex(tok, data, (int) len + (data[len] == '\0' ? 1 : 0));
	*parse_end = json_tokener_get_parse_end(tok);
	*jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	return obj;
}

struct json_object *
ck_json_parse_body(const char *body, size_t len, char *err, size_t errlen)
{
	struct json_object *obj = NULL;
	size_t		end = 0;
	enum json_tokener_error jerr = json_tokener_success;
	long		at;

	err[0] = '\0';
	if (len == 0)
	{
		snprintf(err, errlen, "empty body");
		return NULL;
	}
	if (len > (size_t) INT32_MAX)
	{
		snprintf(err, errlen, "body too large to parse");
		return NULL;
	}
	obj = parse_strict(body, len, &end, &jerr);
	if (obj == NULL || end != len)
	{
		if (obj == NULL && (jerr == json_tokener_continue ||
							jerr == json_tokener_error_parse_eof))
			snprintf(err, errlen, "truncated JSON");
		else if (obj == NULL && jerr == json_tokener_success)
			snprintf(err, errlen, "JSON null");
		else if (obj == NULL)
			snprintf(err, errlen, "invalid JSON at byte %zu: %s",
					 end, json_tokener_error_desc(jerr));
		else
			snprintf(err, errlen, "trailing data after the JSON value at byte %zu",
					 end);
		json_object_put(obj);
		return NULL;
	}
	/* valid JSON, but json-c may have clamped an integer in it */
	if ((at = find_wide_integer(body, len)) >= 0)
	{
		snprintf(err, errlen, "integer out of 64-bit range at byte %ld", at);
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

struct json_object *
ck_page_parse_json(const char *body, size_t len, long http_status,
				   bool *bad_text, char *err, size_t errlen)
{
	char		perr[256];
	struct json_object *obj = ck_json_parse_body(body, len, perr, sizeof(perr));
	long		at;

	*bad_text = false;
	if (obj != NULL && (at = ck_json_find_lone_surrogate(body, len)) >= 0)
	{
		/* json-c made it U+FFFD: a changed string, not CloudKit's */
		*bad_text = true;
		snprintf(err, errlen,
				 "a string holds a lone UTF-16 surrogate (%.6s at byte %ld), which is not Unicode text",
				 body + at, at);
		json_object_put(obj);
		return NULL;
	}
	if (obj != NULL && json_object_is_type(obj, json_type_object))
		return obj;
	snprintf(err, errlen,
			 "CloudKit answered HTTP %ld with a body that is not a JSON object (%s)",
			 http_status, obj ? "another JSON value" : perr);
	json_object_put(obj);
	return NULL;
}

struct json_object *
ck_json_parse_span(CkJsonSpan span)
{
	size_t		end;
	enum json_tokener_error jerr;
	struct json_object *obj;
	char	   *copy;

	/* json-c wants to see where the input ends: a NUL-terminated copy */
	copy = malloc(span.len + 1);
	if (copy == NULL)
		return NULL;
	memcpy(copy, span.p, span.len);
	copy[span.len] = '\0';
	obj = parse_strict(copy, span.len, &end, &jerr);
	free(copy);
	return obj;
}
