/*-------------------------------------------------------------------------
 *
 * value.c
 *		Field values: check a JSON value against a wire type, keep it typed
 *		for comparisons, and keep its canonical wire text for answers.
 *
 * A stored value carries both forms: typed scalars (for filters and sorts)
 * and the JSON text of "value" (so that rendering a record is copying
 * text).  Values are canonicalised on the way in: bytes are re-encoded,
 * references and locations keep only the keys CloudKit defines.
 *
 * test/ckemu/value.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ckemu.h"

static const char *const location_keys[] = {
	"latitude", "longitude", "horizontalAccuracy", "verticalAccuracy",
	"altitude", "speed", "course", "timestamp"
};

#define NLOCATION_KEYS ((int) (sizeof(location_keys) / sizeof(location_keys[0])))

/* "BadRequestException: Invalid value, expected type X but actual value was ..." */
void
emu_type_mismatch(char *err, size_t errlen, CkFieldType expected, json_object *value)
{
	if (value != NULL && json_object_is_type(value, json_type_array))
	{
		const char *cls = "java.lang.Object";

		if (json_object_array_length(value) > 0)
			cls = emu_java_class(json_object_array_get_idx(value, 0));
		snprintf(err, errlen,
				 "BadRequestException: Invalid value, expected type %s but actual value was a list with objects of class %s",
				 ck_type_name(expected), cls);
	}
	else
		snprintf(err, errlen,
				 "BadRequestException: Invalid value, expected type %s but actual value was of class %s",
				 ck_type_name(expected), value ? emu_java_class(value) : "null");
}

static const double emu_pow10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15
};

/*
 * emu_format_double without printf for the usual doubles: those between
 * 1e-4 and 1e15 that are a decimal m / 10^k of at most 15 digits (the
 * decimal reads back as d).  %.15g prints exactly that decimal: d is within
 * half an ulp (< 1.2e-16 relative) of it, far less than half a step of 15
 * digits (>= 5e-16 relative), and in that range %g writes no exponent.
 * False for any other double (printf then).
 */
static bool
emu_format_double_fast(double d, char *out)
{
	double		a = fabs(d);
	char		tmp[24];
	char	   *p = tmp + sizeof(tmp);
	char	   *o = out;
	int64_t		m = 0;
	int			k,
				i;

	if (!(a >= 1e-4 && a < 1e15))
		return false;			/* also zero, NaN and infinities */
	for (k = 0; k < 16; k++)
	{
		double		md = a * emu_pow10[k];

		if (md >= 1e15)
			return false;
		if (md == (double) (int64_t) md && md / emu_pow10[k] == a)
		{
			m = (int64_t) md;
			break;
		}
	}
	if (k == 16)
		return false;
	/* drop trailing zeros of the fraction (%g does) */
	while (k > 0 && m % 10 == 0)
	{
		m /= 10;
		k--;
	}
	/* digits of m, with at least k + 1 of them (leading zeros) */
	for (i = 0; m != 0 || i <= k; i++)
	{
		*--p = (char) ('0' + m % 10);
		m /= 10;
	}
	if (d < 0)
		*o++ = '-';
	memcpy(o, p, (size_t) (i - k));
	o += i - k;
	*o++ = '.';
	if (k == 0)
		*o++ = '0';
	else
	{
		memcpy(o, p + (i - k), (size_t) k);
		o += k;
	}
	*o = '\0';
	return true;
}

/* Shortest text that reads back as the same double, always with a '.' or 'e'. */
static void
emu_format_double(double d, char *out, size_t outlen)
{
	if (outlen >= 32 && emu_format_double_fast(d, out))
		return;
	snprintf(out, outlen, "%.15g", d);
	if (strtod(out, NULL) != d)
		snprintf(out, outlen, "%.17g", d);
	if (strpbrk(out, ".eEn") == NULL)
		strncat(out, ".0", outlen - strlen(out) - 1);
}

static bool
emu_parse_int64_text(const char *s, int64_t *out)
{
	char	   *end;
	long long	v;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

static bool
emu_json_int64(json_object *v, bool strings_ok, int64_t *out)
{
	switch (json_object_get_type(v))
	{
		case json_type_int:
			errno = 0;
			*out = json_object_get_int64(v);
			/* json-c clamps values beyond int64; refuse them */
			if ((*out == INT64_MAX || *out == INT64_MIN) && errno == ERANGE)
				return false;
			if (*out == INT64_MAX && json_object_get_uint64(v) > (uint64_t) INT64_MAX)
				return false;
			return true;
		case json_type_double:
			{
				double		d = json_object_get_double(v);

				if (d != floor(d) || d < -9.2e18 || d > 9.2e18)
					return false;
				*out = (int64_t) d;
				return true;
			}
		case json_type_string:
			return strings_ok && emu_parse_int64_text(json_object_get_string(v), out);
		default:
			return false;
	}
}

static bool
emu_json_double(json_object *v, bool strings_ok, double *out)
{
	switch (json_object_get_type(v))
	{
		case json_type_int:
			*out = (double) json_object_get_int64(v);
			return true;
		case json_type_double:
			*out = json_object_get_double(v);
			return isfinite(*out);
		case json_type_string:
			{
				const char *s = json_object_get_string(v);
				char	   *end;

				if (!strings_ok || *s == '\0')
					return false;
				errno = 0;
				*out = strtod(s, &end);
				return errno == 0 && *end == '\0' && isfinite(*out);
			}
		default:
			return false;
	}
}

/*
 * While a value is parsed, its strings go into the thread's scratch buffer
 * and a scalar's s/zone hold their offset there plus one (NULL stays
 * NULL); emu_value_pack turns them into pointers into the packed block.
 */
static char *
emu_scratch_str(CkBuf *strs, const char *s, size_t len)
{
	size_t		off = strs->len;

	ck_buf_append(strs, s, len + 1);	/* with its NUL */
	return (char *) (uintptr_t) (off + 1);
}

static const char *
emu_scratch_str_at(const CkBuf *strs, const char *enc)
{
	return strs->data + ((uintptr_t) enc - 1);
}

/*
 * ck_type_parse for the names a client sends on every field, without its
 * scan of strcmp calls: the valid names (found by ck_type_parse itself
 * once) compared by length first.  Anything else goes to ck_type_parse.
 */
typedef struct EmuTypeName
{
	char		name[24];
	size_t		len;
	CkFieldType type;
} EmuTypeName;

static EmuTypeName type_names[2 * (CK_TYPE_ASSETID + 1) + 2];
static int	ntype_names;
static pthread_once_t type_names_once = PTHREAD_ONCE_INIT;

static void
emu_type_name_add(const char *name)
{
	EmuTypeName *t = &type_names[ntype_names];

	if (strlen(name) >= sizeof(t->name) || !ck_type_parse(name, &t->type))
		return;
	strcpy(t->name, name);
	t->len = strlen(name);
	ntype_names++;
}

static void
emu_type_names_init(void)
{
	int			e;

	for (e = CK_TYPE_UNKNOWN; e <= CK_TYPE_ASSETID; e++)
	{
		CkFieldType t = {.elem = (CkScalarType) e,.is_list = false};

		emu_type_name_add(ck_type_name(t));
		t.is_list = true;
		emu_type_name_add(ck_type_name(t));
	}
	emu_type_name_add("ASSET");
	emu_type_name_add("ASSET_LIST");
}

bool
emu_type_parse(const char *name, CkFieldType *out)
{
	size_t		len;
	int			i;

	if (name == NULL)
		return false;
	pthread_once(&type_names_once, emu_type_names_init);
	len = strlen(name);
	for (i = 0; i < ntype_names; i++)
		if (type_names[i].len == len && type_names[i].name[0] == name[0] &&
			memcmp(type_names[i].name, name, len) == 0)
		{
			*out = type_names[i].type;
			return true;
		}
	return ck_type_parse(name, out);
}

/* A decimal integer, without printf. */
void
emu_append_int64(CkBuf *buf, int64_t v)
{
	char		tmp[24];
	char	   *p = tmp + sizeof(tmp);
	uint64_t	u = v < 0 ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v;

	do
	{
		*--p = (char) ('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	emu_append(buf, p, (size_t) (tmp + sizeof(tmp) - p));
}

/* Parse one scalar; appends its canonical JSON to buf. */
static bool
emu_scalar_parse(json_object *v, CkScalarType type, EmuValueMode mode,
				 EmuScalar *out, CkBuf *buf, CkBuf *strs, char *err, size_t errlen)
{
	CkFieldType ft = {type, false};
	char		num[64];

	memset(out, 0, sizeof(*out));
	if (v == NULL || json_object_is_type(v, json_type_null))
	{
		snprintf(err, errlen, "BadRequestException: Invalid value, list elements of type %s may not be null",
				 ck_type_name(ft));
		return false;
	}

	switch (type)
	{
		case CK_TYPE_STRING:
			if (!json_object_is_type(v, json_type_string))
				goto mismatch;
			if (strlen(json_object_get_string(v)) != (size_t) json_object_get_string_len(v))
			{
				snprintf(err, errlen, "BadRequestException: Invalid value, strings may not contain NUL characters");
				return false;
			}
			out->s = emu_scratch_str(strs, json_object_get_string(v),
									 (size_t) json_object_get_string_len(v));
			emu_json_string(buf, json_object_get_string(v));
			return true;

		case CK_TYPE_INT64:
			/* numbersAsStrings clients send strings */
			if (!emu_json_int64(v, true, &out->u.i))
				goto mismatch;
			emu_append_int64(buf, out->u.i);
			return true;

		case CK_TYPE_TIMESTAMP:
			if (!emu_json_int64(v, true, &out->u.i))
				goto mismatch;
			emu_append_int64(buf, out->u.i);
			return true;

		case CK_TYPE_DOUBLE:
			if (!emu_json_double(v, true, &out->u.d))
				goto mismatch;
			emu_format_double(out->u.d, num, sizeof(num));
			ck_buf_append(buf, num, strlen(num));
			return true;

		case CK_TYPE_BYTES:
			{
				const char *s;
				unsigned char *raw;
				size_t		len;

				if (!json_object_is_type(v, json_type_string))
					goto mismatch;
				s = json_object_get_string(v);
				raw = ck_base64_decode(s, strlen(s), &len);
				if (raw == NULL)
				{
					snprintf(err, errlen, "BadRequestException: Invalid value, BYTES value is not valid base64");
					return false;
				}
				{
					char	   *b64 = ck_base64_encode(raw, len);
					const char *text = b64 ? b64 : "";

					free(raw);
					out->s = emu_scratch_str(strs, text, strlen(text));
					emu_json_string(buf, text);
					free(b64);
				}
				return true;
			}

		case CK_TYPE_REFERENCE:
			{
				json_object *name = emu_get(v, "recordName");
				json_object *act = emu_get(v, "action");
				json_object *zid = emu_get(v, "zoneID");
				const char *action = "NONE";

				if (!json_object_is_type(v, json_type_object))
					goto mismatch;
				if (name == NULL || !json_object_is_type(name, json_type_string) ||
					json_object_get_string_len(name) == 0)
				{
					snprintf(err, errlen, "BadRequestException: Invalid value, a REFERENCE needs a recordName string");
					return false;
				}
				if (act != NULL && !json_object_is_type(act, json_type_null))
				{
					if (!json_object_is_type(act, json_type_string))
					{
						snprintf(err, errlen, "BadRequestException: Invalid value, reference action must be a string");
						return false;
					}
					action = json_object_get_string(act);
					if (strcmp(action, "NONE") == 0)
						out->u.ref.action = EMU_REF_NONE;
					else if (strcmp(action, "DELETE_SELF") == 0)
						out->u.ref.action = EMU_REF_DELETE_SELF;
					else if (strcmp(action, "VALIDATE") == 0)
						out->u.ref.action = EMU_REF_VALIDATE;
					else
					{
						snprintf(err, errlen, "BadRequestException: Invalid value, unknown reference action '%s'", action);
						return false;
					}
				}
				if (zid != NULL && !json_object_is_type(zid, json_type_null))
				{
					json_object *zn = emu_get(zid, "zoneName");

					if (zn == NULL || !json_object_is_type(zn, json_type_string))
					{
						snprintf(err, errlen, "BadRequestException: Invalid value, reference zoneID needs a zoneName");
						return false;
					}
					out->u.ref.zone = emu_scratch_str(strs, json_object_get_string(zn),
												strlen(json_object_get_string(zn)));
				}
				out->s = emu_scratch_str(strs, json_object_get_string(name),
										 strlen(json_object_get_string(name)));
				emu_lit(buf, "{\"recordName\":");
				emu_json_string(buf, json_object_get_string(name));
				if (out->u.ref.zone)
				{
					emu_lit(buf, ",\"zoneID\":{\"zoneName\":");
					emu_json_string(buf, json_object_get_string(emu_get(zid, "zoneName")));
					emu_lit(buf, "}");
				}
				if (mode != EMU_VALUE_FILTER)
					ck_buf_appendf(buf, ",\"action\":\"%s\"", action);
				emu_lit(buf, "}");
				return true;
			}

		case CK_TYPE_LOCATION:
			{
				int			k;
				bool		first = true;

				if (!json_object_is_type(v, json_type_object))
					goto mismatch;
				emu_lit(buf, "{");
				for (k = 0; k < NLOCATION_KEYS; k++)
				{
					json_object *m = emu_get(v, location_keys[k]);
					double		d;

					if (m == NULL || json_object_is_type(m, json_type_null))
					{
						if (k < 2)
						{
							snprintf(err, errlen, "BadRequestException: Invalid value, a LOCATION needs %s",
									 location_keys[k]);
							return false;
						}
						continue;
					}
					if (!emu_json_double(m, false, &d))
					{
						snprintf(err, errlen, "BadRequestException: Invalid value, LOCATION %s must be a number",
								 location_keys[k]);
						return false;
					}
					if ((k == 0 && (d < -90 || d > 90)) || (k == 1 && (d < -180 || d > 180)))
					{
						snprintf(err, errlen, "BadRequestException: Invalid value, LOCATION %s out of range",
								 location_keys[k]);
						return false;
					}
					if (k == 0)
						out->u.loc.lat = d;
					else if (k == 1)
						out->u.loc.lon = d;
					if (!first)
						emu_lit(buf, ",");
					first = false;
					ck_buf_appendf(buf, "\"%s\":", location_keys[k]);
					if (json_object_is_type(m, json_type_int))
						emu_append_int64(buf, json_object_get_int64(m));
					else
					{
						emu_format_double(d, num, sizeof(num));
						ck_buf_append(buf, num, strlen(num));
					}
				}
				emu_lit(buf, "}");
				return true;
			}

		case CK_TYPE_ASSETID:
			{
				char		id[33];

				if (!json_object_is_type(v, json_type_object))
					goto mismatch;
				if (mode == EMU_VALUE_FILTER)
				{
					snprintf(err, errlen, "BadRequestException: Asset fields cannot be used in query filters");
					return false;
				}
				if (!emu_asset_resolve(v, mode == EMU_VALUE_SEED, id, err, errlen))
					return false;
				out->s = emu_scratch_str(strs, id, strlen(id));
				return true;
			}

		case CK_TYPE_UNKNOWN:
			break;
	}
mismatch:
	emu_type_mismatch(err, errlen, ft, v);
	return false;
}

/*
 * Scratch space of the thread parsing a value: the canonical JSON and the
 * scalars are built here and then packed into one allocation, so that a
 * value costs one malloc however many elements and strings it has.
 */
typedef struct EmuValueScratch
{
	CkBuf		json;
	CkBuf		strs;			/* the scalars' strings (emu_scratch_str) */
	CkBuf		text;			/* a string decoded by emu_value_parse_text */
	EmuScalar  *items;
	int			cap;
} EmuValueScratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void
emu_scratch_free(void *p)
{
	EmuValueScratch *sc = p;

	ck_buf_free(&sc->json);
	ck_buf_free(&sc->strs);
	ck_buf_free(&sc->text);
	free(sc->items);
	free(sc);
}

static void
emu_scratch_key_init(void)
{
	if (pthread_key_create(&scratch_key, emu_scratch_free) != 0)
		abort();
}

static EmuValueScratch *
emu_scratch(int nitems)
{
	EmuValueScratch *sc;

	pthread_once(&scratch_once, emu_scratch_key_init);
	sc = pthread_getspecific(scratch_key);
	if (sc == NULL)
	{
		sc = emu_malloc(sizeof(EmuValueScratch));
		memset(sc, 0, sizeof(*sc));
		ck_buf_init(&sc->json);
		ck_buf_init(&sc->strs);
		ck_buf_init(&sc->text);
		pthread_setspecific(scratch_key, sc);
	}
	ck_buf_reset(&sc->json);
	ck_buf_reset(&sc->strs);
	if (nitems > sc->cap)
	{
		sc->cap = nitems > 16 ? nitems : 16;
		sc->items = emu_realloc(sc->items, sizeof(EmuScalar) * sc->cap);
	}
	return sc;
}

static void
emu_scalars_free(CkScalarType type, EmuScalar *items, int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		free(items[i].s);
		if (type == CK_TYPE_REFERENCE)
			free(items[i].u.ref.zone);
	}
}

/* Copy the scratch string enc to *p and return where it went (NULL stays NULL). */
static char *
emu_pack_string(char **p, const CkBuf *strs, const char *enc)
{
	const char *s;
	char	   *at = *p;
	size_t		len;

	if (enc == NULL)
		return NULL;
	s = emu_scratch_str_at(strs, enc);
	len = strlen(s) + 1;
	memcpy(at, s, len);
	*p += len;
	return at;
}

/*
 * One block: the scalars, then their strings, then the JSON text.  An
 * asset's JSON is left out (""): emu_asset_value_json writes it from the
 * blob, whose checksum, size and URL never change, and a seed of a million
 * records would otherwise keep it once per asset.
 */
static void
emu_value_pack(EmuValue *out, const EmuValueScratch *sc, int n)
{
	bool		asset = (out->type.elem == CK_TYPE_ASSETID);
	const char *json = (asset || sc->json.data == NULL) ? "" : sc->json.data;
	size_t		json_len = asset ? 0 : sc->json.len;
	size_t		size = sizeof(EmuScalar) * (size_t) n + sc->strs.len + json_len + 1;
	char	   *p;
	int			i;

	out->items = emu_malloc(size);
	out->n = n;
	out->packed = true;
	p = (char *) (out->items + n);
	for (i = 0; i < n; i++)
	{
		out->items[i] = sc->items[i];
		out->items[i].s = emu_pack_string(&p, &sc->strs, sc->items[i].s);
		if (out->type.elem == CK_TYPE_REFERENCE)
			out->items[i].u.ref.zone = emu_pack_string(&p, &sc->strs,
													   sc->items[i].u.ref.zone);
	}
	memcpy(p, json, json_len + 1);
	out->json = p;
}

/*
 * Check value (the JSON of a field dict's "value", not null) against type
 * and build out.  type must be resolved by the caller; UNKNOWN_LIST is
 * accepted only for an empty list.
 */
bool
emu_value_parse(json_object *value, CkFieldType type, EmuValueMode mode,
				EmuValue *out, char *err, size_t errlen)
{
	EmuValueScratch *sc;
	int			i,
				n = 1;

	memset(out, 0, sizeof(*out));
	out->type = type;

	if (type.is_list)
	{
		if (!json_object_is_type(value, json_type_array))
		{
			emu_type_mismatch(err, errlen, type, value);
			return false;
		}
		n = (int) json_object_array_length(value);
		if (type.elem == CK_TYPE_UNKNOWN && n > 0)
		{
			snprintf(err, errlen, "BadRequestException: Invalid value, UNKNOWN_LIST must be empty");
			return false;
		}
		sc = emu_scratch(n);
		emu_lit(&sc->json, "[");
		for (i = 0; i < n; i++)
		{
			if (i > 0)
				emu_lit(&sc->json, ",");
			if (!emu_scalar_parse(json_object_array_get_idx(value, i), type.elem, mode,
								  &sc->items[i], &sc->json, &sc->strs, err, errlen))
				return false;
		}
		emu_lit(&sc->json, "]");
	}
	else
	{
		if (type.elem == CK_TYPE_UNKNOWN)
		{
			snprintf(err, errlen, "BadRequestException: Invalid value, unknown type");
			return false;
		}
		sc = emu_scratch(1);
		if (!emu_scalar_parse(value, type.elem, mode, &sc->items[0], &sc->json, &sc->strs,
							  err, errlen))
			return false;
	}
	emu_value_pack(out, sc, n);
	return true;
}

/* ------------------------------------------------ values read from text */

/* An integer token of at most 18 digits (emu_fast_number checked it). */
static int64_t
emu_text_int64(const char *start, const char *end)
{
	const char *p = start;
	bool		neg = (p < end && *p == '-');
	int64_t		v = 0;

	if (neg)
		p++;
	for (; p < end; p++)
		v = v * 10 + (*p - '0');
	return neg ? -v : v;
}

/* A number token read as json-c would: an integer, or strtod's double. */
static bool
emu_text_number(const char **pp, const char *end, bool *is_int, int64_t *i, double *d)
{
	const char *start = *pp;
	bool		is_double;
	char		tmp[64];
	size_t		len;

	if (!emu_fast_number(pp, end, &is_double))
		return false;
	len = (size_t) (*pp - start);
	*is_int = !is_double;
	if (!is_double)
	{
		*i = emu_text_int64(start, *pp);
		*d = (double) *i;
		return true;
	}
	if (len >= sizeof(tmp))
		return false;
	memcpy(tmp, start, len);
	tmp[len] = '\0';
	*d = strtod(tmp, NULL);
	return isfinite(*d);
}

/* A member's key and its colon (the key into key); false when not there. */
static bool
emu_text_member_key(const char **pp, const char *end, CkBuf *key)
{
	if (*pp >= end || **pp != '"' || !emu_fast_string(pp, end, key))
		return false;
	emu_fast_ws(pp, end);
	if (*pp >= end || **pp != ':')
		return false;
	(*pp)++;
	emu_fast_ws(pp, end);
	return true;
}

/*
 * The next member's key of an object, after a comma (into key); false when
 * none is left, or (*failed) when what follows is neither.
 */
static bool
emu_text_key(const char **pp, const char *end, CkBuf *key, bool *failed)
{
	emu_fast_ws(pp, end);
	if (*pp < end && **pp == '}')
	{
		(*pp)++;
		return false;
	}
	if (*pp >= end || **pp != ',')
	{
		*failed = true;
		return false;
	}
	(*pp)++;
	emu_fast_ws(pp, end);
	if (!emu_text_member_key(pp, end, key))
	{
		*failed = true;
		return false;
	}
	return true;
}

/*
 * emu_scalar_parse for the shapes a client usually sends, read from JSON
 * text; false (nothing reported) for anything else, which the caller then
 * parses with json-c, errors included.
 */
static bool
emu_text_scalar(const char **pp, const char *end, CkScalarType type, EmuValueMode mode,
				EmuScalar *out, EmuValueScratch *sc)
{
	CkBuf	   *text = &sc->text;
	char		num[64];
	bool		is_int;
	int64_t		i;
	double		d;

	memset(out, 0, sizeof(*out));
	emu_fast_ws(pp, end);
	if (*pp >= end)
		return false;
	switch (type)
	{
		case CK_TYPE_STRING:
			if (**pp != '"' || !emu_fast_string(pp, end, text) ||
				strlen(text->data) != text->len)
				return false;
			out->s = emu_scratch_str(&sc->strs, text->data, text->len);
			emu_json_string(&sc->json, text->data);
			return true;

		case CK_TYPE_INT64:
		case CK_TYPE_TIMESTAMP:
			if (!emu_text_number(pp, end, &is_int, &i, &d) || !is_int)
				return false;
			out->u.i = i;
			emu_append_int64(&sc->json, i);
			return true;

		case CK_TYPE_DOUBLE:
			if (!emu_text_number(pp, end, &is_int, &i, &d))
				return false;
			out->u.d = d;
			emu_format_double(d, num, sizeof(num));
			ck_buf_append(&sc->json, num, strlen(num));
			return true;

		case CK_TYPE_BYTES:
			{
				unsigned char *raw;
				char	   *b64;
				size_t		len;

				if (**pp != '"' || !emu_fast_string(pp, end, text) ||
					strlen(text->data) != text->len)
					return false;
				/*
				 * Strict base64 has one encoding per byte string: text that
				 * decodes is its own canonical form (no copy made).
				 */
				if (text->len <= 4096)
				{
					unsigned char small[4096 / 4 * 3];

					if (!ck_base64_decode_to(text->data, text->len, small, &len))
						return false;
					out->s = emu_scratch_str(&sc->strs, text->data, text->len);
					emu_json_string(&sc->json, text->data);
					return true;
				}
				raw = ck_base64_decode(text->data, text->len, &len);
				if (raw == NULL)
					return false;
				b64 = ck_base64_encode(raw, len);
				free(raw);
				if (b64 == NULL)
					return false;
				out->s = emu_scratch_str(&sc->strs, b64, strlen(b64));
				emu_json_string(&sc->json, b64);
				free(b64);
				return true;
			}

		case CK_TYPE_REFERENCE:
			{
				bool		failed = false;
				bool		seen_name = false,
							seen_action = false;
				const char *action = "NONE";
				size_t		name_at = 0;

				if (**pp != '{')
					return false;
				(*pp)++;
				emu_fast_ws(pp, end);
				if (*pp < end && **pp == '}')
					return false;	/* no recordName */
				/* the first key has no comma before it */
				while (true)
				{
					bool		more;

					if (!seen_name && !seen_action)
					{
						more = true;
						if (!emu_text_member_key(pp, end, text))
							return false;
					}
					else
						more = emu_text_key(pp, end, text, &failed);
					if (failed)
						return false;
					if (!more)
						break;
					if (strcmp(text->data, "recordName") == 0 && text->len == 10 && !seen_name)
					{
						seen_name = true;
						if (*pp >= end || **pp != '"' || !emu_fast_string(pp, end, text) ||
							text->len == 0 || strlen(text->data) != text->len)
							return false;
						name_at = sc->strs.len;
						out->s = emu_scratch_str(&sc->strs, text->data, text->len);
					}
					else if (strcmp(text->data, "action") == 0 && text->len == 6 && !seen_action)
					{
						seen_action = true;
						if (*pp >= end || **pp != '"' || !emu_fast_string(pp, end, text))
							return false;
						if (strcmp(text->data, "NONE") == 0 && text->len == 4)
							action = "NONE";
						else if (strcmp(text->data, "DELETE_SELF") == 0 && text->len == 11)
						{
							action = "DELETE_SELF";
							out->u.ref.action = EMU_REF_DELETE_SELF;
						}
						else if (strcmp(text->data, "VALIDATE") == 0 && text->len == 8)
						{
							action = "VALIDATE";
							out->u.ref.action = EMU_REF_VALIDATE;
						}
						else
							return false;
					}
					else
						return false;	/* zoneID, a key twice, anything else */
				}
				if (!seen_name)
					return false;
				emu_lit(&sc->json, "{\"recordName\":");
				emu_json_string(&sc->json, sc->strs.data + name_at);
				if (mode != EMU_VALUE_FILTER)
				{
					emu_lit(&sc->json, ",\"action\":\"");
					ck_buf_append(&sc->json, action, strlen(action));
					emu_lit(&sc->json, "\"");
				}
				emu_lit(&sc->json, "}");
				return true;
			}

		case CK_TYPE_LOCATION:
			{
				bool		failed = false;
				bool		seen[NLOCATION_KEYS];
				bool		ints[NLOCATION_KEYS];
				int64_t		ivals[NLOCATION_KEYS];
				double		dvals[NLOCATION_KEYS];
				bool		first = true;
				int			k;

				if (**pp != '{')
					return false;
				memset(seen, 0, sizeof(seen));
				(*pp)++;
				emu_fast_ws(pp, end);
				if (*pp < end && **pp == '}')
					return false;	/* no latitude */
				for (;;)
				{
					if (!first)
					{
						if (!emu_text_key(pp, end, text, &failed))
						{
							if (failed)
								return false;
							break;
						}
					}
					else if (!emu_text_member_key(pp, end, text))
						return false;
					first = false;
					for (k = 0; k < NLOCATION_KEYS; k++)
						if (strcmp(text->data, location_keys[k]) == 0 &&
							text->len == strlen(location_keys[k]))
							break;
					if (k == NLOCATION_KEYS || seen[k])
						return false;	/* other keys, a key twice: json-c */
					seen[k] = true;
					if (!emu_text_number(pp, end, &ints[k], &ivals[k], &dvals[k]))
						return false;
				}
				if (!seen[0] || !seen[1] ||
					dvals[0] < -90 || dvals[0] > 90 || dvals[1] < -180 || dvals[1] > 180)
					return false;
				out->u.loc.lat = dvals[0];
				out->u.loc.lon = dvals[1];
				emu_lit(&sc->json, "{");
				first = true;
				for (k = 0; k < NLOCATION_KEYS; k++)
				{
					if (!seen[k])
						continue;
					if (!first)
						emu_lit(&sc->json, ",");
					first = false;
					emu_lit(&sc->json, "\"");
					ck_buf_append(&sc->json, location_keys[k], strlen(location_keys[k]));
					emu_lit(&sc->json, "\":");
					if (ints[k])
						emu_append_int64(&sc->json, ivals[k]);
					else
					{
						emu_format_double(dvals[k], num, sizeof(num));
						ck_buf_append(&sc->json, num, strlen(num));
					}
				}
				emu_lit(&sc->json, "}");
				return true;
			}

		case CK_TYPE_ASSETID:
			{
				char		id[33];

				/* a seed's {"ckemuData": base64}, and nothing else here */
				if (mode != EMU_VALUE_SEED || **pp != '{')
					return false;
				(*pp)++;
				emu_fast_ws(pp, end);
				if (*pp >= end || **pp != '"' || !emu_fast_string(pp, end, text) ||
					strcmp(text->data, "ckemuData") != 0 || text->len != 9)
					return false;
				emu_fast_ws(pp, end);
				if (*pp >= end || **pp != ':')
					return false;
				(*pp)++;
				emu_fast_ws(pp, end);
				if (*pp >= end || **pp != '"' || !emu_fast_string(pp, end, text) ||
					strlen(text->data) != text->len)
					return false;
				emu_fast_ws(pp, end);
				if (*pp >= end || **pp != '}')
					return false;
				(*pp)++;
				if (!emu_asset_from_seed_data(text->data, text->len, id))
					return false;
				out->s = emu_scratch_str(&sc->strs, id, strlen(id));
				return true;
			}

		default:
			return false;		/* unknown: json-c */
	}
}

/*
 * emu_value_parse for a value given as JSON text (fastjson.c), for the
 * usual shapes only.  False means "not read here", never an error: the
 * caller then parses the text with json-c and calls emu_value_parse.
 */
bool
emu_value_parse_text(const char *text, size_t len, CkFieldType type, EmuValueMode mode,
					 EmuValue *out)
{
	EmuValueScratch *sc;
	const char *p = text;
	const char *end = text + len;
	int			n = 0;

	if (type.elem == CK_TYPE_UNKNOWN)
		return false;
	sc = emu_scratch(16);
	if (type.is_list)
	{
		emu_fast_ws(&p, end);
		if (p >= end || *p != '[')
			return false;
		p++;
		emu_fast_ws(&p, end);
		emu_lit(&sc->json, "[");
		if (p < end && *p == ']')
			p++;
		else
			for (;;)
			{
				if (n == sc->cap)
				{
					sc->cap *= 2;
					sc->items = emu_realloc(sc->items, sizeof(EmuScalar) * sc->cap);
				}
				if (n > 0)
					emu_lit(&sc->json, ",");
				if (!emu_text_scalar(&p, end, type.elem, mode, &sc->items[n], sc))
					return false;
				n++;
				emu_fast_ws(&p, end);
				if (p < end && *p == ',')
				{
					p++;
					continue;
				}
				if (p < end && *p == ']')
				{
					p++;
					break;
				}
				return false;
			}
		emu_lit(&sc->json, "]");
	}
	else
	{
		if (!emu_text_scalar(&p, end, type.elem, mode, &sc->items[0], sc))
			return false;
		n = 1;
	}
	emu_fast_ws(&p, end);
	if (p != end)
		return false;
	memset(out, 0, sizeof(*out));
	out->type = type;
	emu_value_pack(out, sc, n);
	return true;
}

/* The type a JSON value most likely has when the client sent none. */
bool
emu_value_infer_type(json_object *value, CkFieldType *type)
{
	type->is_list = false;
	switch (json_object_get_type(value))
	{
		case json_type_string:
			type->elem = CK_TYPE_STRING;
			return true;
		case json_type_int:
			type->elem = CK_TYPE_INT64;
			return true;
		case json_type_double:
			type->elem = CK_TYPE_DOUBLE;
			return true;
		case json_type_object:
			if (emu_get(value, "recordName"))
				type->elem = CK_TYPE_REFERENCE;
			else if (emu_get(value, "latitude") || emu_get(value, "longitude"))
				type->elem = CK_TYPE_LOCATION;
			else if (emu_get(value, "fileChecksum") || emu_get(value, "receipt") ||
					 emu_get(value, "downloadURL") || emu_get(value, "ckemuData"))
				type->elem = CK_TYPE_ASSETID;
			else
				return false;
			return true;
		case json_type_array:
			if (json_object_array_length(value) == 0)
			{
				type->elem = CK_TYPE_UNKNOWN;
				type->is_list = true;
				return true;
			}
			if (json_object_is_type(json_object_array_get_idx(value, 0), json_type_array) ||
				!emu_value_infer_type(json_object_array_get_idx(value, 0), type))
				return false;
			type->is_list = true;
			return true;
		default:
			return false;
	}
}

void
emu_value_free(EmuValue *v)
{
	if (!v->packed)
	{
		emu_scalars_free(v->type.elem, v->items, v->n);
		free(v->json);
	}
	if (!v->in_fields)
		free(v->items);
	v->items = NULL;
	v->json = NULL;
	v->n = 0;
	v->packed = false;
	v->in_fields = false;
}

/* The size of a packed value's block, which ends with the JSON text. */
static size_t
emu_value_block_size(const EmuValue *v)
{
	return (size_t) (v->json - (const char *) v->items) + strlen(v->json) + 1;
}

/* Copy the block of the packed value src to block, for dst, and point dst into it. */
static void
emu_value_place(EmuValue *dst, const EmuValue *src, char *block)
{
	const char *base = (const char *) src->items;
	int			i;

	memcpy(block, base, emu_value_block_size(src));
	dst->items = (EmuScalar *) block;
	for (i = 0; i < src->n; i++)
	{
		if (src->items[i].s)
			dst->items[i].s = block + (src->items[i].s - base);
		if (src->type.elem == CK_TYPE_REFERENCE && src->items[i].u.ref.zone)
			dst->items[i].u.ref.zone = block + (src->items[i].u.ref.zone - base);
	}
	dst->json = block + (src->json - base);
}

void
emu_value_copy(EmuValue *dst, const EmuValue *src)
{
	int			i;

	dst->type = src->type;
	dst->n = src->n;
	dst->packed = src->packed;
	dst->in_fields = false;
	if (src->packed)
	{
		emu_value_place(dst, src, emu_malloc(emu_value_block_size(src)));
		return;
	}
	dst->items = emu_malloc(sizeof(EmuScalar) * (src->n > 0 ? src->n : 1));
	for (i = 0; i < src->n; i++)
	{
		dst->items[i] = src->items[i];
		dst->items[i].s = emu_strdup(src->items[i].s);
		if (src->type.elem == CK_TYPE_REFERENCE)
			dst->items[i].u.ref.zone = emu_strdup(src->items[i].u.ref.zone);
	}
	dst->json = emu_strdup(src->json);
}

/* A value's block in a field array's block starts at a multiple of 8 bytes. */
#define EMU_FIELD_BLOCK_ALIGN(size) (((size) + 7) & ~(size_t) 7)

/*
 * A field array with its values' blocks in its own block: one allocation
 * for a record's fields instead of one more per field, which for a seed of
 * a million records is hundreds of megabytes of malloc overhead.  fields
 * is freed; returned as it is when a value is not packed.
 */
EmuField *
emu_fields_pack(EmuField *fields, int n)
{
	size_t		size = sizeof(EmuField) * (size_t) n;
	EmuField   *out;
	char	   *p;
	int			i;

	if (n == 0)
		return fields;
	for (i = 0; i < n; i++)
	{
		if (!fields[i].v.packed || fields[i].v.in_fields)
			return fields;
		size += EMU_FIELD_BLOCK_ALIGN(emu_value_block_size(&fields[i].v));
	}
	out = emu_malloc(size);
	memcpy(out, fields, sizeof(EmuField) * (size_t) n);
	p = (char *) (out + n);
	for (i = 0; i < n; i++)
	{
		emu_value_place(&out[i].v, &fields[i].v, p);
		out[i].v.in_fields = true;
		p += EMU_FIELD_BLOCK_ALIGN(emu_value_block_size(&fields[i].v));
		free(fields[i].v.items);
	}
	free(fields);
	return out;
}

static void
emu_scalar_render_string(CkBuf *buf, CkScalarType type, const EmuScalar *s)
{
	char		num[64];

	if (type == CK_TYPE_INT64)
		ck_buf_appendf(buf, "\"%lld\"", (long long) s->u.i);
	else
	{
		emu_format_double(s->u.d, num, sizeof(num));
		ck_buf_appendf(buf, "\"%s\"", num);
	}
}

/* The JSON of an asset value (see emu_value_pack). */
static void
emu_asset_value_json(CkBuf *buf, const EmuValue *v)
{
	int			i;

	if (v->type.is_list)
		emu_lit(buf, "[");
	for (i = 0; i < v->n; i++)
	{
		char		checksum[45];
		size_t		len;

		if (i > 0)
			emu_lit(buf, ",");
		emu_asset_info(v->items[i].s, checksum, &len);
		emu_lit(buf, "{\"fileChecksum\":");
		emu_json_string(buf, checksum);
		emu_lit(buf, ",\"size\":");
		emu_append_int64(buf, (int64_t) len);
		emu_lit(buf, ",\"downloadURL\":\"");
		emu_append(buf, emu_config.base_url, strlen(emu_config.base_url));
		emu_lit(buf, "/_ckemu/assets/download/");
		emu_append(buf, v->items[i].s, strlen(v->items[i].s));
		emu_lit(buf, "\"}");
	}
	if (v->type.is_list)
		emu_lit(buf, "]");
}

/* {"value": ..., "type": "..."}; numbersAsStrings turns INT64/DOUBLE into strings. */
void
emu_value_render(CkBuf *buf, const EmuValue *v, bool numbers_as_strings)
{
	CkFieldType t = v->type;
	int			i;

	emu_lit(buf, "{\"value\":");
	if (numbers_as_strings && (t.elem == CK_TYPE_INT64 || t.elem == CK_TYPE_DOUBLE))
	{
		if (t.is_list)
		{
			emu_lit(buf, "[");
			for (i = 0; i < v->n; i++)
			{
				if (i > 0)
					emu_lit(buf, ",");
				emu_scalar_render_string(buf, t.elem, &v->items[i]);
			}
			emu_lit(buf, "]");
		}
		else
			emu_scalar_render_string(buf, t.elem, &v->items[0]);
	}
	else if (t.elem == CK_TYPE_ASSETID)
		emu_asset_value_json(buf, v);
	else
		emu_append(buf, v->json, strlen(v->json));
	if (t.is_list && v->n == 0 && EMU_EMPTY_LIST_IS_UNKNOWN)
		t.elem = CK_TYPE_UNKNOWN;
	/* no printf: this runs for every field of every record in a page */
	emu_lit(buf, ",\"type\":\"");
	emu_append(buf, ck_type_name(t), strlen(ck_type_name(t)));
	emu_lit(buf, "\"}");
}

/* The seed-file form: assets carry their bytes as {"ckemuData": base64}. */
void
emu_value_render_dump(CkBuf *buf, const EmuValue *v)
{
	int			i;

	if (v->type.elem != CK_TYPE_ASSETID)
	{
		CkFieldType t = v->type;

		emu_lit(buf, "{\"value\":");
		ck_buf_append(buf, v->json, strlen(v->json));
		if (t.is_list && v->n == 0)
			t.elem = CK_TYPE_UNKNOWN;
		ck_buf_appendf(buf, ",\"type\":\"%s\"}", ck_type_name(t));
		return;
	}
	emu_lit(buf, "{\"value\":");
	if (v->type.is_list)
		emu_lit(buf, "[");
	for (i = 0; i < v->n; i++)
	{
		size_t		len = 0;
		unsigned char *bytes = emu_asset_bytes(v->items[i].s, &len);
		char	   *b64 = ck_base64_encode(bytes ? bytes : (const unsigned char *) "", len);

		if (i > 0)
			emu_lit(buf, ",");
		emu_lit(buf, "{\"ckemuData\":");
		emu_json_string(buf, b64 ? b64 : "");
		emu_lit(buf, "}");
		free(b64);
		free(bytes);
	}
	if (v->type.is_list)
		emu_lit(buf, "]");
	ck_buf_appendf(buf, ",\"type\":\"%s\"}", ck_type_name(v->type));
}

int
emu_scalar_cmp(CkScalarType type, const EmuScalar *a, const EmuScalar *b)
{
	switch (type)
	{
		case CK_TYPE_INT64:
		case CK_TYPE_TIMESTAMP:
			return (a->u.i > b->u.i) - (a->u.i < b->u.i);
		case CK_TYPE_DOUBLE:
			return (a->u.d > b->u.d) - (a->u.d < b->u.d);
		case CK_TYPE_LOCATION:
			if (a->u.loc.lat != b->u.loc.lat)
				return a->u.loc.lat < b->u.loc.lat ? -1 : 1;
			return (a->u.loc.lon > b->u.loc.lon) - (a->u.loc.lon < b->u.loc.lon);
		default:
			return strcmp(a->s ? a->s : "", b->s ? b->s : "");
	}
}

bool
emu_scalar_eq(CkScalarType type, const EmuScalar *a, const EmuScalar *b, bool string_ci)
{
	if (type == CK_TYPE_STRING && string_ci)
		return strcasecmp(a->s, b->s) == 0;
	return emu_scalar_cmp(type, a, b) == 0;
}

size_t
emu_value_size(const EmuValue *v)
{
	CkBuf		asset;
	size_t		size;

	if (v->type.elem != CK_TYPE_ASSETID)
		return strlen(v->json) + 16;
	ck_buf_init(&asset);
	emu_asset_value_json(&asset, v);
	size = asset.len + 16;
	ck_buf_free(&asset);
	return size;
}
