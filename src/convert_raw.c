/*-------------------------------------------------------------------------
 *
 * convert_raw.c
 *		  CloudKit values read in place (ck_page.h) straight into Datums
 *
 * The common shapes of a value: a string into text, a JSON integer into
 * an integer or a timestamp, a number into a float, base64 into bytea, a
 * list of those into an array.  Each is decoded from the answer's bytes
 * into the Datum's own memory, with no JSON tree and no copy between.
 *
 * Anything else, and anything that would be an error, is declined (false):
 * convert.c then parses the value with json-c and converts it as it always
 * did, so that the errors, their wording and the rarer shapes stay in one
 * place.  The wire type checks here are convert_field's, declined when they
 * would fail.
 *
 * IDENTIFICATION
 *		  src/convert_raw.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "common/shortest_dec.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/geo_decls.h"
#include "utils/memutils.h"

#include "ckfdw.h"
#include "ck/ck_page.h"
#include "ck/ck_util.h"

static bool raw_scalar(CkFdwColumn *col, CkScalarType type, CkJsonSpan v,
					   Datum *result);
static bool raw_jsonb(CkJsonSpan v, Datum *result);

/* A NUL escape anywhere in the value: json-c's path reports it. */
static inline bool
may_hold_nul(CkJsonSpan v)
{
	return v.len >= 6 && memmem(v.p, v.len, "\\u0000", 6) != NULL;
}

/* The elements of a list, converted one by one. */
typedef struct ElementReader
{
	CkFdwColumn *col;
	CkScalarType type;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
} ElementReader;

static bool
raw_element(void *arg, CkJsonSpan elem)
{
	ElementReader *r = (ElementReader *) arg;
	int			i = r->n++;

	r->nulls[i] = (ck_span_kind(elem) == 'n');
	r->elems[i] = (Datum) 0;
	return r->nulls[i] || raw_scalar(r->col, r->type, elem, &r->elems[i]);
}

/*
 * Convert one non-null field value read in place; false to leave it to
 * json-c (convert.c).
 */
bool
ckfdw_raw_value(CkFdwColumn *col, const CkRawField *f, Datum *result)
{
	CkFieldType expected = col->cktype;
	CkFieldType wire = f->type;
	bool		wire_given = (wire.elem != CK_TYPE_UNKNOWN || wire.is_list);

	if (col->target == CKFDW_TGT_JSON)
		return false;			/* its text is json-c's: convert.c */
	if (!col->any_type && !wire_given && f->type_given)
		return false;			/* a type this version does not know */
	if (!col->any_type && wire_given)
	{
		bool		match;

		if (wire.is_list && wire.elem == CK_TYPE_UNKNOWN)
			match = expected.is_list;
		else
			match = (wire.is_list == expected.is_list && wire.elem == expected.elem);
		if (!match)
			return false;
	}

	/* a whole value into jsonb, lists included */
	if (!col->is_array && col->target == CKFDW_TGT_JSONB)
		return raw_jsonb(f->value, result);
	if (col->any_type)
		return false;

	if (col->is_array)
	{
		ElementReader r;
		int			n;
		int			dims[1];
		int			lbs[1];

		if (ck_span_kind(f->value) != '[' ||
			(n = ck_span_list_length(f->value)) < 0)
			return false;
		if (n == 0)
		{
			*result = PointerGetDatum(construct_empty_array(col->elemtypid));
			return true;
		}
		r.col = col;
		r.type = expected.elem;
		r.elems = palloc(sizeof(Datum) * n);
		r.nulls = palloc(sizeof(bool) * n);
		r.n = 0;
		if (!ck_span_each_element(f->value, raw_element, &r))
			return false;
		dims[0] = n;
		lbs[0] = 1;
		*result = PointerGetDatum(construct_md_array(r.elems, r.nulls, 1, dims, lbs,
													 col->elemtypid, col->elemlen,
													 col->elembyval, col->elemalign));
		return true;
	}

	if (ck_span_kind(f->value) == '[')
		return false;
	return raw_scalar(col, expected.elem, f->value, result);
}

/* A JSON string as text, decoded into the text's own memory. */
static bool
raw_text(CkFdwColumn *col, CkJsonSpan v, Datum *result)
{
	size_t		len;

	if (ck_span_kind(v) != '"')
		return false;
	if (!col->use_input && GetDatabaseEncoding() == PG_UTF8)
	{
		/* checked UTF-8 without NUL: what pg_any_to_server would accept */
		text	   *t = (text *) palloc(VARHDRSZ + v.len);

		if (!ck_span_string(v, VARDATA(t), &len))
			return false;
		SET_VARSIZE(t, VARHDRSZ + len);
		*result = PointerGetDatum(t);
		return true;
	}
	else
	{
		char	   *buf = palloc(v.len);

		if (!ck_span_string(v, buf, &len))
			return false;
		*result = ckfdw_convert_text(col, buf, len);
		return true;
	}
}

/*
 * One scalar value of the given wire type into the column's type (or its
 * element type); false to leave it to convert.c.
 */
static bool
raw_scalar(CkFdwColumn *col, CkScalarType type, CkJsonSpan v, Datum *result)
{
	switch (col->target)
	{
		case CKFDW_TGT_TEXT:
		case CKFDW_TGT_UUID:
			if (type == CK_TYPE_STRING)
				return raw_text(col, v, result);
			if (type == CK_TYPE_REFERENCE)
			{
				CkJsonSpan	name;

				/* a NUL anywhere in the reference is an error */
				if (may_hold_nul(v) || !ck_span_reference_name(v, &name))
					return false;
				return raw_text(col, name, result);
			}
			return false;		/* assets and the rest: convert.c */
		case CKFDW_TGT_INT8:
		case CKFDW_TGT_INT4:
		case CKFDW_TGT_INT2:
		case CKFDW_TGT_BOOL:
			{
				int64		n;

				if (!ck_span_int64(v, &n))
					return false;
				switch (col->target)
				{
					case CKFDW_TGT_INT8:
						*result = Int64GetDatum(n);
						return true;
					case CKFDW_TGT_INT4:
						if (n < PG_INT32_MIN || n > PG_INT32_MAX)
							return false;
						*result = Int32GetDatum((int32) n);
						return true;
					case CKFDW_TGT_INT2:
						if (n < PG_INT16_MIN || n > PG_INT16_MAX)
							return false;
						*result = Int16GetDatum((int16) n);
						return true;
					default:
						if (n != 0 && n != 1)
							return false;
						*result = BoolGetDatum(n == 1);
						return true;
				}
			}
		case CKFDW_TGT_NUMERIC:
			{
				char		buf[Max(DOUBLE_SHORTEST_DECIMAL_LEN, 32)];

				if (type == CK_TYPE_INT64)
				{
					int64		n;

					if (!ck_span_int64(v, &n))
						return false;
					snprintf(buf, sizeof(buf), INT64_FORMAT, n);
				}
				else
				{
					double		d;

					if (!ck_span_double(v, &d))
						return false;
					double_to_shortest_decimal_buf(d, buf);
				}
				*result = DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
											  ObjectIdGetDatum(InvalidOid),
											  Int32GetDatum(col->input_typmod));
				return true;
			}
		case CKFDW_TGT_FLOAT8:
		case CKFDW_TGT_FLOAT4:
			{
				double		d;

				if (!ck_span_double(v, &d))
					return false;
				if (col->target == CKFDW_TGT_FLOAT8)
					*result = Float8GetDatum(d);
				else
					*result = DirectFunctionCall1(dtof, Float8GetDatum(d));
				return true;
			}
		case CKFDW_TGT_TIMESTAMPTZ:
		case CKFDW_TGT_TIMESTAMP:
		case CKFDW_TGT_DATE:
			{
				int64		ms;

				if (!ck_span_int64(v, &ms))
					return false;
				*result = ckfdw_convert_timestamp(col, ms);
				return true;
			}
		case CKFDW_TGT_BYTEA:
			{
				const char *s;
				size_t		len;
				size_t		n;
				bytea	   *b;

				/* base64 has no escapes but "\/", which json-c reads */
				if (!ck_span_plain_string(v, &s, &len) || len % 4 != 0 ||
					len / 4 * 3 > MaxAllocSize - VARHDRSZ)
					return false;
				b = (bytea *) palloc(VARHDRSZ + len / 4 * 3);
				if (!ck_base64_decode_to(s, len, (unsigned char *) VARDATA(b), &n))
				{
					pfree(b);
					return false;
				}
				SET_VARSIZE(b, VARHDRSZ + n);
				*result = PointerGetDatum(b);
				return true;
			}
		case CKFDW_TGT_POINT:
			{
				double		la;
				double		lo;
				Point	   *p;

				if (!ck_span_location(v, &la, &lo) ||
					!(la >= -90.0 && la <= 90.0) || !(lo >= -180.0 && lo <= 180.0))
					return false;
				p = palloc(sizeof(Point));
				p->x = lo;
				p->y = la;
				*result = PointPGetDatum(p);
				return true;
			}
		case CKFDW_TGT_JSONB:
			return raw_jsonb(v, result);
		case CKFDW_TGT_JSON:
			return false;
	}
	return false;
}

/*
 * A value into jsonb.  convert.c gives jsonb_in json-c's text of the value,
 * with every double in its shortest form ("1.50" reads as 1.5, "2.0" stays
 * a double); jsonb ignores everything else in which that text differs from
 * the answer's (spacing, escapes, key order, duplicate keys: the last one
 * counts in both).  So the answer's own text, with its numbers written as
 * json-c writes them, makes the same jsonb.  Only for UTF-8 databases,
 * where jsonb_in reads escapes as json-c does, and without a NUL, whose
 * error would quote the text.
 */
static bool
raw_jsonb(CkJsonSpan v, Datum *result)
{
	StringInfoData buf;
	const char *p = v.p;
	const char *end = v.p + v.len;

	if (GetDatabaseEncoding() != PG_UTF8 || may_hold_nul(v))
		return false;
	initStringInfo(&buf);
	enlargeStringInfo(&buf, v.len + 16);
	while (p < end)
	{
		const char *s = p;

		/* copy up to the next number outside a string */
		while (s < end && *s != '"' && *s != '-' && !(*s >= '0' && *s <= '9'))
			s++;
		appendBinaryStringInfo(&buf, p, s - p);
		p = s;
		if (p >= end)
			break;
		if (*p == '"')
		{
			s = ck_span_string_end(p);
			appendBinaryStringInfo(&buf, p, s - p);
			p = s;
			continue;
		}
		else
		{
			CkJsonSpan	num;
			int64		i;
			double		d;
			char		text[DOUBLE_SHORTEST_DECIMAL_LEN + 2];

			while (s < end && ((*s >= '0' && *s <= '9') || *s == '-' ||
							   *s == '+' || *s == '.' || *s == 'e' || *s == 'E'))
				s++;
			num.p = p;
			num.len = s - p;
			if (ck_span_int64(num, &i))
				appendStringInfo(&buf, INT64_FORMAT, i);
			else
			{
				if (!ck_span_double(num, &d))
					return false;	/* infinite: json-c's text */
				double_to_shortest_decimal_buf(d, text);
				if (strpbrk(text, ".eE") == NULL)
					strcat(text, ".0");
				appendStringInfoString(&buf, text);
			}
			p = s;
		}
	}
	*result = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
	return true;
}
