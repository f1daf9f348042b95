/*-------------------------------------------------------------------------
 *
 * fastjson.c
 *		records/modify bodies and seed records read without building a
 *		json-c tree for every field.
 *
 * A records/modify body of 200 every-type creates is ~4,000 small JSON
 * dictionaries; json-c gives each its own hash table, and building and
 * freeing them was half of ckemu's CPU per create.  This reader builds
 * json-c objects only for the few members modify.c and share.c look at
 * (operations, record names, types, tags, zoneID, ...); a record's
 * "fields" dictionary becomes an empty json-c object carrying, as
 * userdata, the list of its members: name, the "type" string and where
 * "value" is in the body text.  value.c reads the common value shapes
 * straight from that text (emu_value_parse_text) and hands anything else
 * to json-c, parsing just that value.
 *
 * The reader is deliberately narrower than JSON: whatever it is not sure
 * json-c would read the same way (a duplicate key, a \u escape of NUL or
 * of a surrogate, a raw control character, a very long integer, invalid
 * or overlong UTF-8, deep nesting) makes it give up, and the caller
 * parses the whole body with json-c as before.  So every malformed body
 * still gets json-c's error, and every accepted body means what json-c
 * would have made of it.
 *
 * test/ckemu/fastjson.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckemu.h"

/* json-c refuses 32 levels; anything near that is left to json-c */
#define FAST_MAX_DEPTH 24
/* integers longer than this may overflow int64: json-c decides */
#define FAST_MAX_INT_DIGITS 18

/* Where a value sits, so that "fields" of a record is recognised. */
typedef enum FastCtx
{
	CTX_OTHER,
	CTX_TOP,					/* the records/modify body */
	CTX_OPERATIONS,				/* its "operations" array */
	CTX_OPERATION,				/* one operation */
	CTX_RECORD,					/* an operation's "record", or a seed record */
	CTX_FIELDS					/* a record's "fields" */
} FastCtx;

typedef struct FastMember FastMember;
typedef struct FastArena FastArena;

typedef struct FastParser
{
	const char *p;
	const char *end;
	int			depth;
	EmuValueMode mode;			/* how field values are read */
	CkBuf		str;			/* the last string read, decoded */
	/* a "fields" dictionary being read (reused from record to record) */
	CkBuf		names;
	FastMember *members;
	int			cap_members;
	FastArena  *arena;			/* the body's "fields" lists */
} FastParser;

/* ---------------------------------------------------------------- tokens */

void
emu_fast_ws(const char **pp, const char *end)
{
	const char *p = *pp;

	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	*pp = p;
}

/* Length of the strictly valid UTF-8 sequence at p (2-4 bytes), or 0. */
static int
fast_utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80,
				hi = 0xBF;
	int			n,
				i;

	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
	{
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;			/* no overlongs */
		else if (c == 0xED)
			hi = 0x9F;			/* no surrogates */
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		n = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;			/* not past U+10FFFF */
	}
	else
		return 0;
	if (end - p < n)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

/*
 * The string at *pp (on its opening quote) decoded into out (reset first,
 * NUL-terminated); *pp ends past the closing quote.  out may be NULL to
 * only check it.  False: not a string this reader is sure about.
 */
bool
emu_fast_string(const char **pp, const char *end, CkBuf *out)
{
	const unsigned char *p = (const unsigned char *) *pp + 1;
	const unsigned char *e = (const unsigned char *) end;

	if (out != NULL)
	{
		ck_buf_reset(out);
		ck_buf_append(out, "", 0);
	}
	for (;;)
	{
		const unsigned char *run = p;

		while (p < e && *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			p++;
		if (p > run && out != NULL)
			ck_buf_append(out, run, (size_t) (p - run));
		if (p >= e)
			return false;
		if (*p == '"')
		{
			*pp = (const char *) p + 1;
			return true;
		}
		if (*p == '\\')
		{
			char		c;
			char		tmp[4];
			size_t		n = 1;

			if (e - p < 2)
				return false;
			switch (p[1])
			{
				case '"':
				case '\\':
				case '/':
					c = (char) p[1];
					break;
				case 'b':
					c = '\b';
					break;
				case 'f':
					c = '\f';
					break;
				case 'n':
					c = '\n';
					break;
				case 'r':
					c = '\r';
					break;
				case 't':
					c = '\t';
					break;
				case 'u':
					{
						int			code = 0,
									i;

						if (e - p < 6)
							return false;
						for (i = 2; i < 6; i++)
						{
							int			h = ck_hex_digit((char) p[i]);

							if (h < 0)
								return false;
							code = code * 16 + h;
						}
						/* NUL and surrogate pairs: json-c's own rules */
						if (code == 0 || (code >= 0xD800 && code <= 0xDFFF))
							return false;
						if (code < 0x80)
							tmp[0] = (char) code;
						else if (code < 0x800)
						{
							tmp[0] = (char) (0xC0 | (code >> 6));
							tmp[1] = (char) (0x80 | (code & 0x3F));
							n = 2;
						}
						else
						{
							tmp[0] = (char) (0xE0 | (code >> 12));
							tmp[1] = (char) (0x80 | ((code >> 6) & 0x3F));
							tmp[2] = (char) (0x80 | (code & 0x3F));
							n = 3;
						}
						if (out != NULL)
							ck_buf_append(out, tmp, n);
						p += 6;
						continue;
					}
				default:
					return false;
			}
			if (out != NULL)
				ck_buf_append(out, &c, 1);
			p += 2;
			continue;
		}
		if (*p < 0x80)
			return false;		/* a raw control character or DEL */
		{
			int			n = fast_utf8_len(p, e);

			if (n == 0)
				return false;
			if (out != NULL)
				ck_buf_append(out, p, (size_t) n);
			p += n;
		}
	}
}

/*
 * The number at *pp: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, and
 * whether it has a fraction or exponent (json-c makes those doubles).
 * False for an integer too long to be sure of.
 */
bool
emu_fast_number(const char **pp, const char *end, bool *is_double)
{
	const char *p = *pp;
	const char *digits;

	*is_double = false;
	if (p < end && *p == '-')
		p++;
	digits = p;
	if (p < end && *p == '0')
		p++;
	else if (p < end && *p >= '1' && *p <= '9')
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	else
		return false;
	if (p - digits > FAST_MAX_INT_DIGITS)
		return false;
	if (p < end && *p == '.')
	{
		*is_double = true;
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return false;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E'))
	{
		*is_double = true;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return false;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	/* json-c reads a number up to the next delimiter */
	if (p < end && !(*p == ',' || *p == ']' || *p == '}' || *p == ' ' ||
					 *p == '\n' || *p == '\r' || *p == '\t'))
		return false;
	*pp = p;
	return true;
}

static bool
fast_literal(const char **pp, const char *end, const char *word)
{
	size_t		len = strlen(word);

	if ((size_t) (end - *pp) < len || memcmp(*pp, word, len) != 0)
		return false;
	*pp += len;
	return true;
}

/* Check the value at *pp without keeping it. */
static bool
fast_skip(const char **pp, const char *end, int depth)
{
	bool		is_double;

	if (depth > FAST_MAX_DEPTH || *pp >= end)
		return false;
	switch (**pp)
	{
		case '"':
			return emu_fast_string(pp, end, NULL);
		case 't':
			return fast_literal(pp, end, "true");
		case 'f':
			return fast_literal(pp, end, "false");
		case 'n':
			return fast_literal(pp, end, "null");
		case '{':
		case '[':
			{
				char		close = **pp == '{' ? '}' : ']';
				bool		object = close == '}';

				(*pp)++;
				emu_fast_ws(pp, end);
				if (*pp < end && **pp == close)
				{
					(*pp)++;
					return true;
				}
				for (;;)
				{
					if (object)
					{
						if (*pp >= end || **pp != '"' || !emu_fast_string(pp, end, NULL))
							return false;
						emu_fast_ws(pp, end);
						if (*pp >= end || **pp != ':')
							return false;
						(*pp)++;
						emu_fast_ws(pp, end);
					}
					if (!fast_skip(pp, end, depth + 1))
						return false;
					emu_fast_ws(pp, end);
					if (*pp >= end)
						return false;
					if (**pp == close)
					{
						(*pp)++;
						return true;
					}
					if (**pp != ',')
						return false;
					(*pp)++;
					emu_fast_ws(pp, end);
				}
			}
		default:
			return emu_fast_number(pp, end, &is_double);
	}
}

/* ---------------------------------------------------------------- fields */

/* The userdata of a "fields" placeholder: one block. */
typedef struct EmuFastFields
{
	struct EmuFastFields *next; /* the body's other records */
	int			n;
	EmuFastField f[];
} EmuFastFields;

/*
 * Every "fields" list of one body lives in one arena, freed with the
 * body's top object: a list per record is larger than glibc's small bins,
 * and a malloc of that size per record made it consolidate its free lists
 * every time.
 */
typedef struct FastChunk
{
	struct FastChunk *next;
	size_t		used;
	size_t		size;
	char		data[];
} FastChunk;

#define FAST_CHUNK_SIZE (64 * 1024)

struct FastArena
{
	FastChunk  *chunks;
	EmuFastFields *lists;		/* to free the values nobody took */
};

static void *
fast_arena_alloc(FastArena *arena, size_t size)
{
	FastChunk  *c = arena->chunks;

	size = (size + 15) & ~(size_t) 15;
	if (c == NULL || c->size - c->used < size)
	{
		size_t		csize = size > FAST_CHUNK_SIZE / 4 ? size : FAST_CHUNK_SIZE;

		c = emu_malloc(sizeof(FastChunk) + csize);
		c->size = csize;
		c->used = 0;
		if (arena->chunks != NULL && csize != FAST_CHUNK_SIZE)
		{
			/* a big one goes behind the current chunk, which stays open */
			c->next = arena->chunks->next;
			arena->chunks->next = c;
		}
		else
		{
			c->next = arena->chunks;
			arena->chunks = c;
		}
	}
	c->used += size;
	return c->data + c->used - size;
}

static void
fast_arena_free(json_object *obj, void *userdata)
{
	FastArena  *arena = userdata;
	EmuFastFields *ff;
	FastChunk  *c;
	int			i;

	(void) obj;
	for (ff = arena->lists; ff != NULL; ff = ff->next)
		for (i = 0; i < ff->n; i++)
			if (ff->f[i].prepared)
				emu_value_free(&ff->f[i].prepared_value);
	for (c = arena->chunks; c != NULL;)
	{
		FastChunk  *next = c->next;

		free(c);
		c = next;
	}
	free(arena);
}

/* The members of a "fields" placeholder; false for any other object. */
bool
emu_fast_fields(json_object *fields, EmuFastField **list, int *n)
{
	EmuFastFields *ff;

	if (fields == NULL || !json_object_is_type(fields, json_type_object))
		return false;
	ff = json_object_get_userdata(fields);
	if (ff == NULL)
		return false;
	*n = ff->n;
	*list = ff->f;
	return true;
}

/* Each thread's tokener for single values: making one costs a malloc'd stack. */
static pthread_key_t tok_key;
static pthread_once_t tok_once = PTHREAD_ONCE_INIT;

static void
fast_tok_free(void *tok)
{
	json_tokener_free(tok);
}

static void
fast_tok_key_init(void)
{
	if (pthread_key_create(&tok_key, fast_tok_free) != 0)
		abort();
}

/* A field value's json-c tree (for what value.c does not read from text). */
json_object *
emu_fast_value_json(const EmuFastField *f)
{
	json_tokener *tok;
	json_object *arr;
	json_object *obj = NULL;
	char	   *copy;

	if (f->value == NULL)
		return NULL;
	pthread_once(&tok_once, fast_tok_key_init);
	tok = pthread_getspecific(tok_key);
	if (tok == NULL)
	{
		tok = json_tokener_new();
		if (tok == NULL)
			return NULL;
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
		pthread_setspecific(tok_key, tok);
	}
	/* inside brackets, so that a number ends as it did in the body */
	copy = emu_malloc(f->value_len + 2);
	copy[0] = '[';
	memcpy(copy + 1, f->value, f->value_len);
	copy[f->value_len + 1] = ']';
	json_tokener_reset(tok);
	arr = json_tokener_parse_ex(tok, copy, (int) f->value_len + 2);
	if (json_tokener_get_error(tok) != json_tokener_success)
	{
		json_object_put(arr);
		arr = NULL;
	}
	free(copy);
	if (arr != NULL && json_object_is_type(arr, json_type_array) &&
		json_object_array_length(arr) == 1)
		obj = json_object_get(json_object_array_get_idx(arr, 0));
	json_object_put(arr);
	return obj;
}

struct FastMember
{
	size_t		name_off;		/* in names */
	size_t		name_len;
	size_t		type_off;		/* in names, or (size_t) -1 */
	const char *value;
	size_t		value_len;
	bool		is_dict;
};

/*
 * After a member or an element: past the closing bracket (*closed) or at
 * the next one after the comma; false when neither follows.
 */
static bool
fast_after_item(FastParser *fp, char close, bool *closed)
{
	emu_fast_ws(&fp->p, fp->end);
	if (fp->p >= fp->end || (*fp->p != close && *fp->p != ','))
		return false;
	*closed = (*fp->p == close);
	fp->p++;
	if (!*closed)
		emu_fast_ws(&fp->p, fp->end);
	return true;
}

/* A record's "fields" dictionary (*pp on its '{'): the placeholder. */
static json_object *
fast_fields(FastParser *fp)
{
	CkBuf	   *names = &fp->names;
	bool		closed;
	int			n = 0,
				i,
				j;
	EmuFastFields *ff = NULL;
	size_t		size;
	char	   *strs;

	ck_buf_reset(names);
	fp->p++;
	emu_fast_ws(&fp->p, fp->end);
	if (fp->p < fp->end && *fp->p == '}')
		fp->p++;
	else
		for (;;)
		{
			FastMember *m;

			if (fp->p >= fp->end || *fp->p != '"' ||
				!emu_fast_string(&fp->p, fp->end, &fp->str) ||
				strlen(fp->str.data) != fp->str.len)
				return NULL;
			if (n == fp->cap_members)
			{
				fp->cap_members = fp->cap_members ? fp->cap_members * 2 : 32;
				fp->members = emu_realloc(fp->members, sizeof(FastMember) * fp->cap_members);
			}
			m = &fp->members[n];
			memset(m, 0, sizeof(*m));
			m->type_off = (size_t) -1;
			/* a field named twice: json-c's rules */
			for (j = 0; j < n; j++)
				if (fp->members[j].name_len == fp->str.len &&
					memcmp(names->data + fp->members[j].name_off, fp->str.data, fp->str.len) == 0)
					return NULL;
			m->name_off = names->len;
			m->name_len = fp->str.len;
			ck_buf_append(names, fp->str.data, fp->str.len + 1);
			emu_fast_ws(&fp->p, fp->end);
			if (fp->p >= fp->end || *fp->p != ':')
				return NULL;
			fp->p++;
			emu_fast_ws(&fp->p, fp->end);
			if (fp->p < fp->end && *fp->p == '{')
			{
				bool		seen_value = false,
							seen_type = false;

				/* the field's dictionary: "value" and "type"; others ignored */
				m->is_dict = true;
				fp->p++;
				emu_fast_ws(&fp->p, fp->end);
				if (fp->p < fp->end && *fp->p == '}')
					fp->p++;
				else
					for (;;)
					{
						bool		is_value,
									is_type;

						if (fp->p >= fp->end || *fp->p != '"' ||
							!emu_fast_string(&fp->p, fp->end, &fp->str))
							return NULL;
						is_value = strcmp(fp->str.data, "value") == 0 && fp->str.len == 5;
						is_type = strcmp(fp->str.data, "type") == 0 && fp->str.len == 4;
						if ((is_value && seen_value) || (is_type && seen_type))
							return NULL;
						emu_fast_ws(&fp->p, fp->end);
						if (fp->p >= fp->end || *fp->p != ':')
							return NULL;
						fp->p++;
						emu_fast_ws(&fp->p, fp->end);
						if (is_value)
						{
							const char *start = fp->p;

							seen_value = true;
							if (!fast_skip(&fp->p, fp->end, fp->depth + 3))
								return NULL;
							/* null is as good as absent */
							if (!(fp->p - start == 4 && memcmp(start, "null", 4) == 0))
							{
								m->value = start;
								m->value_len = (size_t) (fp->p - start);
							}
						}
						else if (is_type)
						{
							seen_type = true;
							if (fp->p < fp->end && *fp->p == '"')
							{
								if (!emu_fast_string(&fp->p, fp->end, &fp->str) ||
									strlen(fp->str.data) != fp->str.len)
									return NULL;
								m->type_off = names->len;
								ck_buf_append(names, fp->str.data, fp->str.len + 1);
							}
							else if (!fast_literal(&fp->p, fp->end, "null"))
								return NULL;	/* json-c tells the error */
						}
						else if (!fast_skip(&fp->p, fp->end, fp->depth + 3))
							return NULL;
						if (!fast_after_item(fp, '}', &closed))
							return NULL;
						if (closed)
							break;
					}
			}
			else if (!fast_skip(&fp->p, fp->end, fp->depth + 2))
				return NULL;
			n++;
			if (!fast_after_item(fp, '}', &closed))
				return NULL;
			if (closed)
				break;
		}

	/* one block: the list, then the names and types */
	size = sizeof(EmuFastFields) + sizeof(EmuFastField) * n + names->len;
	ff = fast_arena_alloc(fp->arena, size);
	ff->n = n;
	ff->next = fp->arena->lists;
	fp->arena->lists = ff;
	strs = (char *) &ff->f[n];
	if (names->len > 0)
		memcpy(strs, names->data, names->len);
	for (i = 0; i < n; i++)
	{
		FastMember *m = &fp->members[i];

		ff->f[i].name = strs + m->name_off;
		ff->f[i].type = m->type_off == (size_t) -1 ? NULL : strs + m->type_off;
		ff->f[i].value = m->value;
		ff->f[i].value_len = m->value_len;
		ff->f[i].is_dict = m->is_dict;
		ff->f[i].prepared = false;

		/*
		 * Read the value now, outside the store lock, as its "type" says;
		 * modify.c uses it when the schema agrees with that type.
		 */
		if (m->value != NULL && ff->f[i].type != NULL &&
			emu_type_parse(ff->f[i].type, &ff->f[i].prepared_type) &&
			ff->f[i].prepared_type.elem != CK_TYPE_ASSETID)	/* stores a blob */
		{
			ff->f[i].prepared_mode = fp->mode;
			ff->f[i].prepared =
				emu_value_parse_text(m->value, m->value_len, ff->f[i].prepared_type,
									 fp->mode, &ff->f[i].prepared_value);
		}
	}
	{
		json_object *obj = json_object_new_object();

		json_object_set_userdata(obj, ff, NULL);	/* the arena's */
		return obj;
	}
}

/* ---------------------------------------------------------------- values */

static json_object *fast_value(FastParser *fp, FastCtx ctx, bool *ok);

static FastCtx
fast_member_ctx(FastCtx ctx, const char *key)
{
	if (ctx == CTX_TOP && strcmp(key, "operations") == 0)
		return CTX_OPERATIONS;
	if (ctx == CTX_OPERATION && strcmp(key, "record") == 0)
		return CTX_RECORD;
	if (ctx == CTX_RECORD && strcmp(key, "fields") == 0)
		return CTX_FIELDS;
	return CTX_OTHER;
}

/*
 * The keys every operation repeats, as constants json-c keeps without a
 * copy of its own (a strdup and a free per key and operation otherwise).
 */
static const char *const fast_known_keys[] = {
	"operationType", "record", "recordName", "recordType", "recordChangeTag",
	"fields", "desiredKeys", "zoneID", "zoneName", "ownerRecordName",
	"operations", "atomic", "numbersAsStrings"
};

static const char *
fast_constant_key(const char *key, size_t len)
{
	int			i;

	for (i = 0; i < (int) (sizeof(fast_known_keys) / sizeof(fast_known_keys[0])); i++)
		if (fast_known_keys[i][0] == key[0] && strlen(fast_known_keys[i]) == len &&
			memcmp(fast_known_keys[i], key, len) == 0)
			return fast_known_keys[i];
	return NULL;
}

static json_object *
fast_object(FastParser *fp, FastCtx ctx, bool *ok)
{
	json_object *obj = json_object_new_object();
	bool		closed;

	fp->p++;
	emu_fast_ws(&fp->p, fp->end);
	if (fp->p < fp->end && *fp->p == '}')
	{
		fp->p++;
		return obj;
	}
	for (;;)
	{
		char		key[EMU_MAX_NAME_LEN + 2];
		json_object *v;

		if (fp->p >= fp->end || *fp->p != '"' ||
			!emu_fast_string(&fp->p, fp->end, &fp->str) ||
			fp->str.len >= sizeof(key) || strlen(fp->str.data) != fp->str.len)
			break;
		memcpy(key, fp->str.data, fp->str.len + 1);
		/* a key given twice: json-c's rules */
		if (json_object_object_get_ex(obj, key, NULL))
			break;
		emu_fast_ws(&fp->p, fp->end);
		if (fp->p >= fp->end || *fp->p != ':')
			break;
		fp->p++;
		emu_fast_ws(&fp->p, fp->end);
		v = fast_value(fp, fast_member_ctx(ctx, key), ok);
		if (!*ok)
			break;
		{
			/* not there yet (checked above): no look-up to replace it */
			const char *constant = fast_constant_key(key, strlen(key));

			if (constant != NULL)
				json_object_object_add_ex(obj, constant, v,
										  JSON_C_OBJECT_ADD_KEY_IS_NEW |
										  JSON_C_OBJECT_KEY_IS_CONSTANT);
			else
				json_object_object_add_ex(obj, key, v, JSON_C_OBJECT_ADD_KEY_IS_NEW);
		}
		if (!fast_after_item(fp, '}', &closed))
			break;
		if (closed)
			return obj;
	}
	*ok = false;
	json_object_put(obj);
	return NULL;
}

static json_object *
fast_array(FastParser *fp, FastCtx ctx, bool *ok)
{
	json_object *arr = json_object_new_array();
	FastCtx		elem = ctx == CTX_OPERATIONS ? CTX_OPERATION : CTX_OTHER;
	bool		closed;

	fp->p++;
	emu_fast_ws(&fp->p, fp->end);
	if (fp->p < fp->end && *fp->p == ']')
	{
		fp->p++;
		return arr;
	}
	for (;;)
	{
		json_object *v = fast_value(fp, elem, ok);

		if (!*ok)
			break;
		json_object_array_add(arr, v);
		if (!fast_after_item(fp, ']', &closed))
			break;
		if (closed)
			return arr;
	}
	*ok = false;
	json_object_put(arr);
	return NULL;
}

/* A number as json-c makes it: parse its text alone. */
static json_object *
fast_number_object(const char *start, size_t len, bool *ok)
{
	char		text[64];
	json_object *obj;

	if (len >= sizeof(text))
	{
		*ok = false;
		return NULL;
	}
	memcpy(text, start, len);
	text[len] = '\0';
	obj = json_tokener_parse(text);
	if (obj == NULL)
		*ok = false;
	return obj;
}

static json_object *
fast_value(FastParser *fp, FastCtx ctx, bool *ok)
{
	json_object *v = NULL;

	if (fp->p >= fp->end || fp->depth >= FAST_MAX_DEPTH)
	{
		*ok = false;
		return NULL;
	}
	fp->depth++;
	switch (*fp->p)
	{
		case '{':
			if (ctx == CTX_FIELDS)
			{
				v = fast_fields(fp);
				if (v == NULL)
					*ok = false;
			}
			else
				v = fast_object(fp, ctx, ok);
			break;
		case '[':
			v = fast_array(fp, ctx, ok);
			break;
		case '"':
			if (!emu_fast_string(&fp->p, fp->end, &fp->str) ||
				strlen(fp->str.data) != fp->str.len)
				*ok = false;
			else
				v = json_object_new_string_len(fp->str.data, (int) fp->str.len);
			break;
		case 't':
			if (fast_literal(&fp->p, fp->end, "true"))
				v = json_object_new_boolean(1);
			else
				*ok = false;
			break;
		case 'f':
			if (fast_literal(&fp->p, fp->end, "false"))
				v = json_object_new_boolean(0);
			else
				*ok = false;
			break;
		case 'n':
			if (!fast_literal(&fp->p, fp->end, "null"))
				*ok = false;
			break;
		default:
			{
				const char *start = fp->p;
				bool		is_double;

				if (!emu_fast_number(&fp->p, fp->end, &is_double))
					*ok = false;
				else
					v = fast_number_object(start, (size_t) (fp->p - start), ok);
			}
			break;
	}
	fp->depth--;
	return v;
}

/* Each thread keeps its parser's buffers from body to body (and record to record). */
typedef struct FastScratch
{
	CkBuf		str;
	CkBuf		names;
	FastMember *members;
	int			cap_members;
} FastScratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void
fast_scratch_free(void *p)
{
	FastScratch *sc = p;

	ck_buf_free(&sc->str);
	ck_buf_free(&sc->names);
	free(sc->members);
	free(sc);
}

static void
fast_scratch_key_init(void)
{
	if (pthread_key_create(&scratch_key, fast_scratch_free) != 0)
		abort();
}

static void
fast_scratch_get(FastParser *fp)
{
	FastScratch *sc;

	pthread_once(&scratch_once, fast_scratch_key_init);
	sc = pthread_getspecific(scratch_key);
	if (sc == NULL)
	{
		sc = emu_malloc(sizeof(FastScratch));
		memset(sc, 0, sizeof(*sc));
		ck_buf_init(&sc->str);
		ck_buf_init(&sc->names);
		pthread_setspecific(scratch_key, sc);
	}
	fp->str = sc->str;
	fp->names = sc->names;
	fp->members = sc->members;
	fp->cap_members = sc->cap_members;
}

/* Give the buffers back (they may have moved while growing). */
static void
fast_scratch_put(FastParser *fp)
{
	FastScratch *sc = pthread_getspecific(scratch_key);

	sc->str = fp->str;
	sc->names = fp->names;
	sc->members = fp->members;
	sc->cap_members = fp->cap_members;
}

/*
 * Read a records/modify body (seed_record false) or one seed record (true)
 * with the fields as placeholders.  NULL when this reader is not sure:
 * the caller parses text with json-c instead, errors included.
 */
json_object *
emu_fast_parse(const char *text, size_t len, bool seed_record)
{
	FastParser	fp;
	json_object *obj;
	bool		ok = true;

	fp.p = text;
	fp.end = text + len;
	fp.depth = 0;
	fp.mode = seed_record ? EMU_VALUE_SEED : EMU_VALUE_WRITE;
	emu_fast_ws(&fp.p, fp.end);
	if (fp.p >= fp.end || *fp.p != '{')
		return NULL;
	fast_scratch_get(&fp);
	fp.arena = emu_malloc(sizeof(FastArena));
	memset(fp.arena, 0, sizeof(FastArena));
	obj = fast_value(&fp, seed_record ? CTX_RECORD : CTX_TOP, &ok);
	fast_scratch_put(&fp);
	if (ok)
		json_object_set_userdata(obj, fp.arena, fast_arena_free);
	else
		fast_arena_free(NULL, fp.arena);
	if (ok)
	{
		/* only whitespace may follow */
		emu_fast_ws(&fp.p, fp.end);
		if (fp.p == fp.end)
			return obj;
	}
	json_object_put(obj);
	return NULL;
}
