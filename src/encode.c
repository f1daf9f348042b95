/*-------------------------------------------------------------------------
 *
 * encode.c
 *		  Conversion of PostgreSQL Datums into CloudKit field values, for
 *		  records/modify: the inverse of convert.c
 *
 * A column's value is written with the column's CloudKit wire type (option
 * "type", or the one derived from its PostgreSQL type, see convert.c), as
 * {"value": ..., "type": "<T>"}; a json or jsonb column without "type" sends
 * its JSON value without a type and lets CloudKit's schema decide.
 *
 * Nothing is changed silently: a value CloudKit cannot hold (NaN, infinity,
 * a numeric that is not an exact double or that has a fraction or more than
 * 64 bits for INT64, a NULL list element, a multi-dimensional array) is an
 * error.  The one documented exception: PostgreSQL timestamps carry
 * microseconds and CloudKit milliseconds, so timestamps are rounded to the
 * nearest millisecond.  timestamp (without time zone) values are taken as
 * UTC and dates as midnight UTC, as convert.c reads them.
 *
 * Request bodies are built as UTF-8 text in a StringInfo (so an error leaves
 * nothing behind but palloc'd memory); every string from the database is
 * converted to UTF-8 on its way in.
 *
 * IDENTIFICATION
 *		  src/encode.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "common/base64.h"
#include "common/shortest_dec.h"
#include "foreign/foreign.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/geo_decls.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "ckfdw.h"
#include "ck/ck_double.h"
#include "ck/ck_types.h"

/* Milliseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
#define CKFDW_EPOCH_DIFF_MS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000)
#define CKFDW_MS_PER_DAY	((int64) SECS_PER_DAY * 1000)

static void append_scalar(StringInfo buf, CkFdwWriteColumn *wcol,
						  CkScalarType type, Datum value);
static void append_double(StringInfo buf, double d, const char *what);
static void append_jsonb(StringInfo buf, Jsonb *jb);
static void append_json_numeric(StringInfo buf, Numeric num);
static bool numeric_as_double(Numeric num, double *d);
static char *numeric_message_text(Numeric num);
static bool integer_text_int64(const char *s, int64 *out);
static int64 timestamp_ms(Timestamp ts);

/*
 * Prepare the writing of one column: its reference action and, for types
 * whose text form is the value (varchar, char, uuid), the output function.
 */
void
ckfdw_init_write_column(CkFdwWriteColumn *wcol, CkFdwColumn *col, Relation rel)
{
	List	   *options;
	ListCell   *lc;

	memset(wcol, 0, sizeof(CkFdwWriteColumn));
	wcol->col = col;
	wcol->reference_action = "NONE";
	if (col->dropped)
		return;

	options = GetForeignColumnOptions(RelationGetRelid(rel), col->attnum);
	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "reference_action") == 0)
			wcol->reference_action = defGetString(def);
	}

	if (col->target == CKFDW_TGT_UUID ||
		(col->target == CKFDW_TGT_TEXT && col->use_input))
	{
		Oid			type = col->is_array ? col->elemtypid : col->basetypid;
		Oid			outfn;
		bool		isvarlena;

		getTypeOutputInfo(type, &outfn, &isvarlena);
		fmgr_info(outfn, &wcol->output_fn);
		wcol->use_output = true;
		wcol->strip_blanks = (type == BPCHAROID);
	}
}

/*
 * A string in the database encoding as a JSON string in UTF-8.
 */
void
ckfdw_append_json_string(StringInfo buf, const char *s)
{
	escape_json(buf, ckfdw_to_utf8(s));
}

/*
 * Append {"value": <value>, "type": "<T>"} for a non-null value of a column.
 */
void
ckfdw_append_field_value(StringInfo buf, CkFdwWriteColumn *wcol, Datum value)
{
	CkFdwColumn *col = wcol->col;

	appendStringInfoString(buf, "{\"value\":");
	if (col->is_array)
	{
		ArrayType  *arr = DatumGetArrayTypeP(value);
		Datum	   *elems;
		bool	   *nulls;
		int			n;
		int			i;

		if (ARR_NDIM(arr) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("CloudKit lists have one dimension, but the array has %d",
							ARR_NDIM(arr))));
		deconstruct_array(arr, col->elemtypid, col->elemlen, col->elembyval,
						  col->elemalign, &elems, &nulls, &n);
		appendStringInfoChar(buf, '[');
		for (i = 0; i < n; i++)
		{
			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("CloudKit lists cannot hold NULL elements"),
						 errdetail("Element %d of the array is NULL.", i + 1)));
			if (i > 0)
				appendStringInfoChar(buf, ',');
			append_scalar(buf, wcol, col->cktype.elem, elems[i]);
		}
		appendStringInfoChar(buf, ']');
	}
	else
		append_scalar(buf, wcol, col->cktype.elem, value);

	/* json(b) without option "type": CloudKit's schema decides */
	if (!col->any_type)
		appendStringInfo(buf, ",\"type\":\"%s\"", ck_type_name(col->cktype));
	appendStringInfoChar(buf, '}');
}

/*
 * One scalar value (or list element) of the column's target type, written
 * as CloudKit type "type".
 */
static void
append_scalar(StringInfo buf, CkFdwWriteColumn *wcol, CkScalarType type,
			  Datum value)
{
	CkFdwColumn *col = wcol->col;

	switch (col->target)
	{
		case CKFDW_TGT_JSONB:
			append_jsonb(buf, DatumGetJsonbP(value));
			return;
		case CKFDW_TGT_JSON:
			{
				char	   *str = TextDatumGetCString(value);

				/* jsonb's parser checks it and gives us its iterator */
				append_jsonb(buf, DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
																	 CStringGetDatum(str))));
				return;
			}
		case CKFDW_TGT_TEXT:
		case CKFDW_TGT_UUID:
			{
				char	   *s;

				if (wcol->use_output)
				{
					s = OutputFunctionCall(&wcol->output_fn, value);
					/* char(n)'s padding is not part of the value */
					if (wcol->strip_blanks)
					{
						int			len = strlen(s);

						while (len > 0 && s[len - 1] == ' ')
							len--;
						s[len] = '\0';
					}
				}
				else
					s = TextDatumGetCString(value);

				if (type == CK_TYPE_STRING)
					ckfdw_append_json_string(buf, s);
				else if (type == CK_TYPE_REFERENCE)
				{
					if (s[0] == '\0')
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("a CloudKit REFERENCE needs a record name, not an empty string")));
					appendStringInfoString(buf, "{\"recordName\":");
					ckfdw_append_json_string(buf, s);
					appendStringInfo(buf, ",\"action\":\"%s\"}", wcol->reference_action);
				}
				else if (type == CK_TYPE_ASSETID)
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("cannot write a CloudKit asset from a text column"),
							 errdetail("A text column of type ASSETID holds the asset's download URL, which cannot be written back."),
							 errhint("Write assets through a jsonb column holding the asset dictionary (fileChecksum, size, receipt) of a CloudKit upload.")));
				else
					elog(ERROR, "unexpected CloudKit type %d for a text column", (int) type);
				return;
			}
		case CKFDW_TGT_INT8:
			appendStringInfo(buf, INT64_FORMAT, DatumGetInt64(value));
			return;
		case CKFDW_TGT_INT4:
			appendStringInfo(buf, "%d", DatumGetInt32(value));
			return;
		case CKFDW_TGT_INT2:
			appendStringInfo(buf, "%d", (int) DatumGetInt16(value));
			return;
		case CKFDW_TGT_BOOL:
			/* CloudKit has no booleans: INT64 0 and 1 */
			appendStringInfoChar(buf, DatumGetBool(value) ? '1' : '0');
			return;
		case CKFDW_TGT_NUMERIC:
			{
				Numeric		num = DatumGetNumeric(value);
				char	   *str;

				if (numeric_is_nan(num) || numeric_is_inf(num))
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("CloudKit cannot hold the numeric value %s",
									numeric_is_nan(num) ? "NaN" : "Infinity")));
				str = DatumGetCString(DirectFunctionCall1(numeric_out, value));
				if (type == CK_TYPE_INT64)
				{
					char	   *point = strchr(str, '.');
					int64		n;

					if (point != NULL)
					{
						const char *p;

						for (p = point + 1; *p; p++)
						{
							if (*p != '0')
								ereport(ERROR,
										(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
										 errmsg("numeric value %s has a fraction, which a CloudKit INT64 cannot hold",
												numeric_message_text(num))));
						}
						*point = '\0';
					}
					if (!integer_text_int64(str, &n))
						ereport(ERROR,
								(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
								 errmsg("numeric value %s is out of range for a CloudKit INT64",
										numeric_message_text(num))));
					appendStringInfo(buf, INT64_FORMAT, n);
				}
				else
				{
					double		d;

					if (!numeric_as_double(num, &d) && isinf(d))
						ereport(ERROR,
								(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
								 errmsg("numeric value %s is out of range for a CloudKit DOUBLE",
										numeric_message_text(num))));
					if (!numeric_as_double(num, &d))
						ereport(ERROR,
								(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
								 errmsg("numeric value %s cannot be stored exactly as a CloudKit DOUBLE",
										numeric_message_text(num)),
								 errhint("Round the value to at most 15 significant digits, or declare the column with option type 'INT64' if it holds integers.")));
					append_double(buf, d, "numeric");
				}
				return;
			}
		case CKFDW_TGT_FLOAT8:
			append_double(buf, DatumGetFloat8(value), "double precision");
			return;
		case CKFDW_TGT_FLOAT4:
			/* every real is exactly a double */
			append_double(buf, (double) DatumGetFloat4(value), "real");
			return;
		case CKFDW_TGT_TIMESTAMPTZ:
		case CKFDW_TGT_TIMESTAMP:
			{
				Timestamp	ts = DatumGetTimestamp(value);

				if (TIMESTAMP_NOT_FINITE(ts))
					ereport(ERROR,
							(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
							 errmsg("CloudKit cannot hold an infinite timestamp")));
				appendStringInfo(buf, INT64_FORMAT, timestamp_ms(ts));
				return;
			}
		case CKFDW_TGT_DATE:
			{
				DateADT		date = DatumGetDateADT(value);

				if (DATE_NOT_FINITE(date))
					ereport(ERROR,
							(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
							 errmsg("CloudKit cannot hold an infinite date")));
				appendStringInfo(buf, INT64_FORMAT,
								 (int64) date * CKFDW_MS_PER_DAY + CKFDW_EPOCH_DIFF_MS);
				return;
			}
		case CKFDW_TGT_BYTEA:
			if (type == CK_TYPE_ASSETID)
			{
				/* content to upload: a placeholder for its receipt */
				ckfdw_asset_upload_add(wcol->uploads, buf, col, value);
				return;
			}
			{
				bytea	   *b = DatumGetByteaPP(value);
				int			len = VARSIZE_ANY_EXHDR(b);
				int			enclen = pg_b64_enc_len(len);
				int			n;

				enlargeStringInfo(buf, enclen + 2);
				buf->data[buf->len++] = '"';
				n = pg_b64_encode(VARDATA_ANY(b), len, buf->data + buf->len, enclen);
				if (n < 0)
					elog(ERROR, "could not encode %d bytes as base64", len);
				buf->len += n;
				buf->data[buf->len++] = '"';
				buf->data[buf->len] = '\0';
				return;
			}
		case CKFDW_TGT_POINT:
			{
				Point	   *p = DatumGetPointP(value);

				/* a point is (longitude, latitude), as convert.c reads it */
				appendStringInfoString(buf, "{\"latitude\":");
				append_double(buf, p->y, "point");
				appendStringInfoString(buf, ",\"longitude\":");
				append_double(buf, p->x, "point");
				appendStringInfoChar(buf, '}');
				return;
			}
	}
	elog(ERROR, "unexpected conversion target %d", (int) col->target);
}

/*
 * A double as the shortest JSON number that reads back as the same double;
 * with a "." or exponent, so -0.0 stays a double on the other side.
 */
static void
append_double(StringInfo buf, double d, const char *what)
{
	char		str[DOUBLE_SHORTEST_DECIMAL_LEN + 2];

	if (isnan(d) || isinf(d))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("CloudKit cannot hold the %s value %s", what,
						isnan(d) ? "NaN" : (d > 0 ? "Infinity" : "-Infinity"))));
	double_to_shortest_decimal_buf(d, str);
	if (strpbrk(str, ".eE") == NULL)
		strcat(str, ".0");
	appendStringInfoString(buf, str);
}

/*
 * A numeric as a double, if the numeric is how that double prints: the
 * double rounded to the numeric's own number of significant digits (at most
 * 17), the double's exact value, or its shortest decimal text (which
 * convert.c reads DOUBLE values as).  So whatever form CloudKit sent a
 * double in (shortest, %.15g, %.17g), it writes back as the same double,
 * and a decimal that would be stored as another number is refused.
 */
static bool
numeric_as_double(Numeric num, double *d)
{
	char	   *str = DatumGetCString(DirectFunctionCall1(numeric_out,
														  NumericGetDatum(num)));
	char		shortest[DOUBLE_SHORTEST_DECIMAL_LEN];
	Datum		back;

	/* strtod rounds correctly, and overflows to infinity instead of failing */
	if (ck_decimal_is_double(str, d))
		return true;
	if (isnan(*d) || isinf(*d))
		return false;

	/*
	 * The shortest text is nearly always d rounded to its length; not when
	 * d is a power of two whose nearest shorter decimal lies outside d's
	 * narrower lower half-interval.  Then it is accepted here.
	 */
	double_to_shortest_decimal_buf(*d, shortest);
	back = DirectFunctionCall3(numeric_in, CStringGetDatum(shortest),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	return DatumGetBool(DirectFunctionCall2(numeric_eq, NumericGetDatum(num), back));
}

/* A numeric for an error message: long ones in scientific notation. */
static char *
numeric_message_text(Numeric num)
{
	char	   *str = DatumGetCString(DirectFunctionCall1(numeric_out,
														  NumericGetDatum(num)));

	if (strlen(str) > 40)
		return numeric_out_sci(num, 15);
	return str;
}

/* "-123" as an int64; false when it is not one or out of range */
static bool
integer_text_int64(const char *s, int64 *out)
{
	char	   *end;
	long long	v;

	if (*s == '\0')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = (int64) v;
	return true;
}

/*
 * Microseconds since 2000 as milliseconds since 1970, rounded to the
 * nearest millisecond (halves up).
 */
static int64
timestamp_ms(Timestamp ts)
{
	int64		q = ts / 1000;
	int64		r = ts % 1000;

	if (r < 0)
	{
		q--;
		r += 1000;
	}
	if (r >= 500)
		q++;
	return q + CKFDW_EPOCH_DIFF_MS;
}

/*
 * A jsonb value as JSON text.  Numbers are checked: an integer must fit
 * int64 (or be an exact double), a fraction must read back exactly as a
 * double; otherwise CloudKit would store something else.
 */
static void
append_jsonb(StringInfo buf, Jsonb *jb)
{
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		need_comma = false;
	bool		raw_scalar = false;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_BEGIN_ARRAY:
				if (v.val.array.rawScalar)
				{
					raw_scalar = true;
					break;
				}
				if (need_comma)
					appendStringInfoChar(buf, ',');
				appendStringInfoChar(buf, '[');
				need_comma = false;
				break;
			case WJB_BEGIN_OBJECT:
				if (need_comma)
					appendStringInfoChar(buf, ',');
				appendStringInfoChar(buf, '{');
				need_comma = false;
				break;
			case WJB_END_ARRAY:
				if (!raw_scalar)
					appendStringInfoChar(buf, ']');
				need_comma = true;
				break;
			case WJB_END_OBJECT:
				appendStringInfoChar(buf, '}');
				need_comma = true;
				break;
			case WJB_KEY:
				if (need_comma)
					appendStringInfoChar(buf, ',');
				ckfdw_append_json_string(buf, pnstrdup(v.val.string.val,
													   v.val.string.len));
				appendStringInfoChar(buf, ':');
				need_comma = false;
				break;
			case WJB_VALUE:
			case WJB_ELEM:
				if (need_comma)
					appendStringInfoChar(buf, ',');
				switch (v.type)
				{
					case jbvNull:
						appendStringInfoString(buf, "null");
						break;
					case jbvString:
						ckfdw_append_json_string(buf, pnstrdup(v.val.string.val,
															   v.val.string.len));
						break;
					case jbvNumeric:
						append_json_numeric(buf, v.val.numeric);
						break;
					case jbvBool:
						appendStringInfoString(buf, v.val.boolean ? "true" : "false");
						break;
					default:
						elog(ERROR, "unexpected jsonb value type %d", (int) v.type);
				}
				need_comma = true;
				break;
			case WJB_DONE:
				break;
		}
	}
}

static void
append_json_numeric(StringInfo buf, Numeric num)
{
	char	   *str = DatumGetCString(DirectFunctionCall1(numeric_out,
														   NumericGetDatum(num)));
	int64		n;
	double		d;

	if (strchr(str, '.') == NULL && integer_text_int64(str, &n))
	{
		appendStringInfoString(buf, str);
		return;
	}
	if (!numeric_as_double(num, &d))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("JSON number %s cannot be stored exactly by CloudKit",
						numeric_message_text(num)),
				 errdetail("CloudKit numbers are 64-bit integers or doubles.")));
	/* the user's decimal form when it has a fraction, else a double */
	if (strchr(str, '.') != NULL)
		appendStringInfoString(buf, str);
	else
		append_double(buf, d, "JSON number");
}
