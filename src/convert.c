/*-------------------------------------------------------------------------
 *
 * convert.c
 *		  Mapping of foreign table columns to CloudKit fields, and conversion
 *		  of CloudKit values into PostgreSQL Datums
 *
 * Every column has a CloudKit wire type: the one its option "type" names, or
 * one derived from its PostgreSQL type (text -> STRING, integers and boolean
 * -> INT64, floats and numeric -> DOUBLE, timestamps and date -> TIMESTAMP,
 * bytea -> BYTES, point -> LOCATION, arrays -> the element's _LIST).  A json
 * or jsonb column without "type" takes any value.  A value whose wire type
 * differs from the column's, or that does not fit the column, is an error
 * naming the column, the foreign table, the record and the CloudKit type;
 * never a silent NULL.  Only a missing field is NULL.
 *
 * CloudKit timestamps are milliseconds since 1970-01-01 UTC.  They become
 * timestamptz exactly; timestamp columns get the UTC wall-clock time and
 * date columns the UTC date, so that reading does not depend on the
 * session's TimeZone.
 *
 * IDENTIFICATION
 *		  src/convert.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ckfdw_json.h"
#include <math.h>
#include <printbuf.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "common/shortest_dec.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/geo_decls.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "ckfdw.h"
#include "ck/ck_page.h"
#include "ck/ck_record.h"
#include "ck/ck_types.h"

/* Milliseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
#define CKFDW_EPOCH_DIFF_MS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000)
#define CKFDW_MS_PER_DAY	((int64) SECS_PER_DAY * 1000)

/* Where a conversion is, for conversion_error_callback. */
typedef struct ConversionLocation
{
	const char *relname;
	const char *record_name;
	const CkFdwColumn *column;
	const char *wire_type;		/* type the server sent, or NULL */
} ConversionLocation;

static void conversion_error_callback(void *arg);
static void column_target(Relation rel, CkFdwColumn *col);
static void column_cktype(Relation rel, CkFdwColumn *col, const char *type_opt);
static bool target_holds(CkFdwTarget target, CkScalarType type);
static const char *default_pg_type(CkFieldType type);
static Datum convert_field(CkFdwColumn *col, struct json_object *value,
						   CkFieldType expected, ConversionLocation *loc);
static Datum convert_scalar(CkFdwColumn *col, CkScalarType type,
							struct json_object *v);
static Datum convert_timestamp(CkFdwColumn *col, int64 ms);
static Datum text_datum(CkFdwColumn *col, const char *s, size_t len);
static void bad_value(CkScalarType type, struct json_object *v) pg_attribute_noreturn();
static void raw_field_to_value(CkFdwColumn *col, const CkRawRecord *raw,
							   ConversionLocation *loc, Datum *value,
							   bool *isnull);

/*
 * The column mapping of a foreign table, indexed by attnum - 1.  Raises an
 * error for a column whose type cannot hold its CloudKit type, so that a bad
 * definition fails at plan time rather than on some record.
 */
CkFdwColumn *
ckfdw_get_columns(Relation rel, int *ncolumns)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	CkFdwColumn *columns;
	int			i;

	columns = palloc0(sizeof(CkFdwColumn) * Max(tupdesc->natts, 1));
	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		CkFdwColumn *col = &columns[i];
		List	   *options;
		ListCell   *lc;
		char	   *type_opt = NULL;

		col->attnum = att->attnum;
		col->mcxt = CurrentMemoryContext;
		if (att->attisdropped)
		{
			col->dropped = true;
			continue;
		}
		col->attname = pstrdup(NameStr(att->attname));
		col->field = col->attname;
		col->typid = att->atttypid;
		col->typmod = att->atttypmod;

		options = GetForeignColumnOptions(RelationGetRelid(rel), att->attnum);
		foreach(lc, options)
		{
			DefElem    *def = (DefElem *) lfirst(lc);

			if (strcmp(def->defname, "field") == 0)
				col->field = defGetString(def);
			else if (strcmp(def->defname, "type") == 0)
				type_opt = defGetString(def);
			else if (strcmp(def->defname, "system") == 0)
			{
				const char *name = defGetString(def);
				CkFdwSystemField f;

				for (f = CKFDW_SYS_RECORD_NAME; f <= CKFDW_SYS_LAST; f++)
				{
					if (strcmp(ckfdw_system_field_name(f), name) == 0)
						col->system = f;
				}
			}
		}

		column_target(rel, col);
		column_cktype(rel, col, type_opt);
		if (col->system == CKFDW_SYS_NONE)
		{
			col->field_utf8 = ckfdw_to_utf8(col->field);
			col->field_utf8_len = strlen(col->field_utf8);
		}
		else
			col->field = NULL;
	}
	*ncolumns = tupdesc->natts;
	return columns;
}

/* Work out how values are stored into the column's type. */
static void
column_target(Relation rel, CkFdwColumn *col)
{
	int32		basetypmod = col->typmod;
	Oid			type;

	col->basetypid = getBaseTypeAndTypmod(col->typid, &basetypmod);
	type = col->basetypid;
	col->input_typmod = basetypmod;

	if (type_is_array(type))
	{
		col->is_array = true;
		col->elemtypid = get_element_type(type);
		get_typlenbyvalalign(col->elemtypid, &col->elemlen, &col->elembyval,
							 &col->elemalign);
		type = col->elemtypid;
	}

	switch (type)
	{
		case TEXTOID:
			col->target = CKFDW_TGT_TEXT;
			break;
		case VARCHAROID:
		case BPCHAROID:
			col->target = CKFDW_TGT_TEXT;
			/* the input function applies the length limit and padding */
			col->use_input = true;
			break;
		case UUIDOID:
			col->target = CKFDW_TGT_UUID;
			col->use_input = true;
			break;
		case INT8OID:
			col->target = CKFDW_TGT_INT8;
			break;
		case INT4OID:
			col->target = CKFDW_TGT_INT4;
			break;
		case INT2OID:
			col->target = CKFDW_TGT_INT2;
			break;
		case BOOLOID:
			col->target = CKFDW_TGT_BOOL;
			break;
		case NUMERICOID:
			col->target = CKFDW_TGT_NUMERIC;
			break;
		case FLOAT8OID:
			col->target = CKFDW_TGT_FLOAT8;
			break;
		case FLOAT4OID:
			col->target = CKFDW_TGT_FLOAT4;
			break;
		case TIMESTAMPTZOID:
			col->target = CKFDW_TGT_TIMESTAMPTZ;
			break;
		case TIMESTAMPOID:
			col->target = CKFDW_TGT_TIMESTAMP;
			break;
		case DATEOID:
			col->target = CKFDW_TGT_DATE;
			break;
		case BYTEAOID:
			col->target = CKFDW_TGT_BYTEA;
			break;
		case JSONBOID:
			col->target = CKFDW_TGT_JSONB;
			break;
		case JSONOID:
			col->target = CKFDW_TGT_JSON;
			break;
		case POINTOID:
			col->target = CKFDW_TGT_POINT;
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("column \"%s\" of foreign table \"%s\" has type %s, which ckfdw cannot map to CloudKit",
							col->attname, RelationGetRelationName(rel),
							format_type_with_typemod(col->typid, col->typmod)),
					 errhint("Use text, varchar, char, uuid, bigint, integer, smallint, boolean, numeric, double precision, real, timestamptz, timestamp, date, bytea, point, json, jsonb, or an array of one of them.")));
	}

	if (col->use_input)
	{
		Oid			typinput;

		getTypeInputInfo(type, &typinput, &col->typioparam);
		col->typinput = typinput;
	}
}

/* The CloudKit type of the column: from option "type", or derived. */
static void
column_cktype(Relation rel, CkFdwColumn *col, const char *type_opt)
{
	bool		json = (col->target == CKFDW_TGT_JSON || col->target == CKFDW_TGT_JSONB);
	CkScalarType derived;

	if (col->system != CKFDW_SYS_NONE)
	{
		bool		is_time = (col->system == CKFDW_SYS_CREATED_TIMESTAMP ||
							   col->system == CKFDW_SYS_MODIFIED_TIMESTAMP);
		bool		is_bool = (col->system == CKFDW_SYS_DELETED);
		bool		ok;

		if (is_time)
			ok = !col->is_array && (col->target == CKFDW_TGT_TIMESTAMPTZ ||
									col->target == CKFDW_TGT_TIMESTAMP ||
									col->target == CKFDW_TGT_DATE);
		else if (is_bool)
			ok = !col->is_array && col->target == CKFDW_TGT_BOOL;
		else
			ok = !col->is_array && col->target == CKFDW_TGT_TEXT;
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("column \"%s\" of foreign table \"%s\" has type %s, which cannot hold CloudKit system field \"%s\"",
							col->attname, RelationGetRelationName(rel),
							format_type_with_typemod(col->typid, col->typmod),
							ckfdw_system_field_name(col->system)),
					 errhint("Declare the column as %s.",
							 is_time ? "timestamptz, timestamp or date" :
							 is_bool ? "boolean" : "text")));
		col->cktype.elem = is_time ? CK_TYPE_TIMESTAMP :
			is_bool ? CK_TYPE_INT64 : CK_TYPE_STRING;
		col->cktype.is_list = false;
		return;
	}

	if (type_opt != NULL)
	{
		bool		ok;

		if (!ck_type_parse(type_opt, &col->cktype))
			elog(ERROR, "invalid CloudKit type \"%s\"", type_opt);	/* validator checked */

		if (col->cktype.is_list)
			ok = col->is_array ? target_holds(col->target, col->cktype.elem) : json;
		else
			ok = !col->is_array && target_holds(col->target, col->cktype.elem);
		/* bytea of type ASSETID: the asset's content (asset_download.c) */
		col->asset_content = (col->target == CKFDW_TGT_BYTEA &&
							  col->cktype.elem == CK_TYPE_ASSETID);
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("column \"%s\" of foreign table \"%s\" has type %s, which cannot hold CloudKit type %s",
							col->attname, RelationGetRelationName(rel),
							format_type_with_typemod(col->typid, col->typmod),
							type_opt),
					 errhint("CloudKit %s values are read into %s.", type_opt,
							 default_pg_type(col->cktype))));
		return;
	}

	switch (col->target)
	{
		case CKFDW_TGT_TEXT:
		case CKFDW_TGT_UUID:
			derived = CK_TYPE_STRING;
			break;
		case CKFDW_TGT_INT8:
		case CKFDW_TGT_INT4:
		case CKFDW_TGT_INT2:
		case CKFDW_TGT_BOOL:
			derived = CK_TYPE_INT64;
			break;
		case CKFDW_TGT_NUMERIC:
		case CKFDW_TGT_FLOAT8:
		case CKFDW_TGT_FLOAT4:
			derived = CK_TYPE_DOUBLE;
			break;
		case CKFDW_TGT_TIMESTAMPTZ:
		case CKFDW_TGT_TIMESTAMP:
		case CKFDW_TGT_DATE:
			derived = CK_TYPE_TIMESTAMP;
			break;
		case CKFDW_TGT_BYTEA:
			derived = CK_TYPE_BYTES;
			break;
		case CKFDW_TGT_POINT:
			derived = CK_TYPE_LOCATION;
			break;
		case CKFDW_TGT_JSON:
		case CKFDW_TGT_JSONB:
		default:
			derived = CK_TYPE_UNKNOWN;
			col->any_type = true;
			break;
	}
	col->cktype.elem = derived;
	col->cktype.is_list = col->is_array;
}

/* Can a column (or array element) of this kind hold a CloudKit scalar type? */
static bool
target_holds(CkFdwTarget target, CkScalarType type)
{
	if (target == CKFDW_TGT_JSON || target == CKFDW_TGT_JSONB)
		return true;
	switch (type)
	{
		case CK_TYPE_STRING:
			return target == CKFDW_TGT_TEXT || target == CKFDW_TGT_UUID;
		case CK_TYPE_INT64:
			return target == CKFDW_TGT_INT8 || target == CKFDW_TGT_INT4 ||
				target == CKFDW_TGT_INT2 || target == CKFDW_TGT_BOOL ||
				target == CKFDW_TGT_NUMERIC;
		case CK_TYPE_DOUBLE:
			return target == CKFDW_TGT_FLOAT8 || target == CKFDW_TGT_FLOAT4 ||
				target == CKFDW_TGT_NUMERIC;
		case CK_TYPE_TIMESTAMP:
			return target == CKFDW_TGT_TIMESTAMPTZ ||
				target == CKFDW_TGT_TIMESTAMP || target == CKFDW_TGT_DATE;
		case CK_TYPE_BYTES:
			return target == CKFDW_TGT_BYTEA;
		case CK_TYPE_REFERENCE:
			return target == CKFDW_TGT_TEXT;
		case CK_TYPE_ASSETID:
			return target == CKFDW_TGT_TEXT || target == CKFDW_TGT_BYTEA;
		case CK_TYPE_LOCATION:
			return target == CKFDW_TGT_POINT;
		case CK_TYPE_UNKNOWN:
			return false;
	}
	return false;
}

/* Which PostgreSQL types read a CloudKit type, for hints. */
static const char *
default_pg_type(CkFieldType type)
{
	static const char *const scalar[] = {
		[CK_TYPE_UNKNOWN] = "jsonb",
		[CK_TYPE_STRING] = "text, varchar, char(n), uuid or jsonb",
		[CK_TYPE_INT64] = "bigint, integer, smallint, boolean, numeric or jsonb",
		[CK_TYPE_DOUBLE] = "double precision, real, numeric or jsonb",
		[CK_TYPE_TIMESTAMP] = "timestamptz, timestamp, date or jsonb",
		[CK_TYPE_BYTES] = "bytea or jsonb",
		[CK_TYPE_REFERENCE] = "text (the record name) or jsonb",
		[CK_TYPE_LOCATION] = "jsonb or point",
		[CK_TYPE_ASSETID] = "jsonb, text (the download URL) or bytea (the content)",
	};

	if (type.is_list)
		return psprintf("arrays of %s, or into jsonb", scalar[type.elem]);
	return scalar[type.elem];
}

/*
 * Fill values/nulls for the attributes in retrieved_attrs from one record;
 * every other attribute is NULL.  Datums are allocated in the current
 * memory context.
 */
void
ckfdw_record_to_values(CkFdwColumn *columns, int ncolumns,
					   List *retrieved_attrs, const CkRecord *rec,
					   const char *relname, Datum *values, bool *nulls)
{
	ConversionLocation loc;
	ErrorContextCallback errcallback;
	ListCell   *lc;

	memset(values, 0, sizeof(Datum) * ncolumns);
	memset(nulls, true, sizeof(bool) * ncolumns);

	loc.relname = relname;
	loc.record_name = rec->record_name;
	loc.column = NULL;
	loc.wire_type = NULL;
	errcallback.callback = conversion_error_callback;
	errcallback.arg = &loc;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	/* asset content of this record: downloaded side by side, first */
	ckfdw_asset_fetch_record(columns, ncolumns, retrieved_attrs, rec);

	foreach(lc, retrieved_attrs)
	{
		int			attnum = lfirst_int(lc);
		CkFdwColumn *col = &columns[attnum - 1];
		int			i = attnum - 1;

		Assert(attnum >= 1 && attnum <= ncolumns);
		if (col->dropped)
			continue;
		loc.column = col;
		loc.wire_type = NULL;

		switch (col->system)
		{
			case CKFDW_SYS_NONE:
				{
					struct json_object *value;
					struct json_object *dict;
					struct json_object *typeobj;
					CkFieldType wire;

					if (rec->raw != NULL)
					{
						raw_field_to_value(col, rec->raw, &loc, &values[i], &nulls[i]);
						break;
					}
					if (!ck_record_field(rec, col->field_utf8, &value, &wire))
						break;	/* missing field: NULL */
					if (rec->fields != NULL &&
						json_object_object_get_ex(rec->fields, col->field_utf8, &dict) &&
						json_object_is_type(dict, json_type_object) &&
						json_object_object_get_ex(dict, "type", &typeobj) &&
						json_object_is_type(typeobj, json_type_string))
						loc.wire_type = json_object_get_string(typeobj);
					if (value == NULL || json_object_is_type(value, json_type_null))
						break;
					values[i] = convert_field(col, value, wire, &loc);
					nulls[i] = false;
					break;
				}
			case CKFDW_SYS_RECORD_NAME:
			case CKFDW_SYS_CHANGE_TAG:
			case CKFDW_SYS_CREATED_USER:
			case CKFDW_SYS_MODIFIED_USER:
				{
					const char *s;

					if (col->system == CKFDW_SYS_RECORD_NAME)
						s = rec->record_name;
					else if (col->system == CKFDW_SYS_CHANGE_TAG)
						s = rec->change_tag;
					else if (col->system == CKFDW_SYS_CREATED_USER)
						s = rec->created_user;
					else
						s = rec->modified_user;
					if (s != NULL)
					{
						values[i] = text_datum(col, s, strlen(s));
						nulls[i] = false;
					}
					break;
				}
			case CKFDW_SYS_CREATED_TIMESTAMP:
				if (rec->has_created)
				{
					values[i] = convert_timestamp(col, rec->created_ms);
					nulls[i] = false;
				}
				break;
			case CKFDW_SYS_MODIFIED_TIMESTAMP:
				if (rec->has_modified)
				{
					values[i] = convert_timestamp(col, rec->modified_ms);
					nulls[i] = false;
				}
				break;
			case CKFDW_SYS_DELETED:
				values[i] = BoolGetDatum(rec->deleted);
				nulls[i] = false;
				break;
			case CKFDW_SYS_SYNC_TOKEN:
				/* a change read fills it in (scan_changes.c); NULL otherwise */
				break;
		}

		if (col->typid != col->basetypid)
			domain_check(values[i], nulls[i], col->typid, &col->domain_extra,
						 col->mcxt);
	}

	error_context_stack = errcallback.previous;
}

/*
 * A field of a record read in place (ck_page.h): converted in place where
 * convert_raw.c can, else parsed with json-c and converted as above, which
 * also raises whatever is wrong with it.
 */
static void
raw_field_to_value(CkFdwColumn *col, const CkRawRecord *raw,
				   ConversionLocation *loc, Datum *value, bool *isnull)
{
	const CkRawField *f = ck_raw_record_field(raw, col->field_utf8,
											  col->field_utf8_len);
	struct json_object *volatile json;

	if (f == NULL || f->value.p == NULL)
		return;					/* missing field, or null: NULL */
	loc->wire_type = f->type_given ? f->type_name : NULL;
	if (ckfdw_raw_value(col, f, value))
	{
		*isnull = false;
		return;
	}

	json = ck_json_parse_span(f->value);
	if (json == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Failed to parse a CloudKit value.")));
	PG_TRY();
	{
		*value = convert_field(col, json, f->type, loc);
	}
	PG_FINALLY();
	{
		json_object_put(json);
	}
	PG_END_TRY();
	*isnull = false;
}

/* text_datum, for convert_raw.c */
Datum
ckfdw_convert_text(CkFdwColumn *col, const char *s, size_t len)
{
	return text_datum(col, s, len);
}

/* convert_timestamp, for convert_raw.c */
Datum
ckfdw_convert_timestamp(CkFdwColumn *col, int64 ms)
{
	return convert_timestamp(col, ms);
}

/*
 * errcontext for a value that does not convert: which column of which
 * foreign table, which CloudKit field and type, which record.
 */
static void
conversion_error_callback(void *arg)
{
	ConversionLocation *loc = (ConversionLocation *) arg;
	const CkFdwColumn *col = loc->column;
	const char *record = loc->record_name ?
		ckfdw_message_text(loc->record_name) : "(unnamed)";

	if (col == NULL)
		return;
	if (col->system != CKFDW_SYS_NONE)
		errcontext("column \"%s\" of foreign table \"%s\", CloudKit system field \"%s\" of record \"%s\"",
				   col->attname, loc->relname,
				   ckfdw_system_field_name(col->system), record);
	else
		errcontext("column \"%s\" of foreign table \"%s\", CloudKit field \"%s\" of type %s in record \"%s\"",
				   col->attname, loc->relname, col->field,
				   loc->wire_type ? loc->wire_type :
				   (col->any_type ? "(not given)" : ck_type_name(col->cktype)),
				   record);
}

/* Convert a non-null field value after checking its wire type. */
static Datum
convert_field(CkFdwColumn *col, struct json_object *value, CkFieldType wire,
			  ConversionLocation *loc)
{
	CkFieldType expected = col->cktype;
	bool		wire_given = (wire.elem != CK_TYPE_UNKNOWN || wire.is_list);

	/* a type name this version does not know: only json(b) can take it */
	if (!wire_given && loc->wire_type != NULL && !col->any_type)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("CloudKit sent a value of unsupported type \"%s\"",
						loc->wire_type),
				 errhint("Read the field into a jsonb column to see its value.")));

	if (wire_given && !col->any_type)
	{
		bool		match;

		if (wire.is_list && wire.elem == CK_TYPE_UNKNOWN)
			match = expected.is_list;	/* an empty list of any type */
		else
			match = (wire.is_list == expected.is_list && wire.elem == expected.elem);
		if (!match)
		{
			bool		could_hold;

			if (wire.is_list)
				could_hold = col->is_array ? target_holds(col->target, wire.elem) :
					(col->target == CKFDW_TGT_JSON || col->target == CKFDW_TGT_JSONB);
			else
				could_hold = !col->is_array && target_holds(col->target, wire.elem);
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("CloudKit sent a value of type %s for a column of CloudKit type %s",
							ck_type_name(wire), ck_type_name(expected)),
					 could_hold ?
					 errhint("Set the column's option \"type\" to '%s'.",
							 ck_type_name(wire)) :
					 errhint("CloudKit %s values are read into %s.",
							 ck_type_name(wire), default_pg_type(wire))));
		}
	}
	else if (col->any_type && wire_given)
		expected = wire;

	/* a whole value into json(b), lists included */
	if (!col->is_array &&
		(col->target == CKFDW_TGT_JSON || col->target == CKFDW_TGT_JSONB))
		return convert_scalar(col, CK_TYPE_UNKNOWN, value);

	if (col->is_array)
	{
		int			n;
		int			i;
		Datum	   *elems;
		bool	   *enulls;
		int			dims[1];
		int			lbs[1];

		if (!json_object_is_type(value, json_type_array))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("CloudKit value is not a list, but the column is an array")));
		n = json_object_array_length(value);
		if (n == 0)
			return PointerGetDatum(construct_empty_array(col->elemtypid));
		elems = palloc(sizeof(Datum) * n);
		enulls = palloc(sizeof(bool) * n);
		for (i = 0; i < n; i++)
		{
			struct json_object *ev = json_object_array_get_idx(value, i);

			enulls[i] = (ev == NULL || json_object_is_type(ev, json_type_null));
			elems[i] = enulls[i] ? (Datum) 0 :
				convert_scalar(col, col->any_type ? CK_TYPE_UNKNOWN : expected.elem, ev);
		}
		dims[0] = n;
		lbs[0] = 1;
		return PointerGetDatum(construct_md_array(elems, enulls, 1, dims, lbs,
												  col->elemtypid, col->elemlen,
												  col->elembyval, col->elemalign));
	}

	if (json_object_is_type(value, json_type_array))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("CloudKit sent a list for a column that is not an array"),
				 errhint("Declare the column as an array or as jsonb.")));
	return convert_scalar(col, expected.elem, value);
}

/* A short printable form of a JSON value for error messages. */
static char *
json_snippet(struct json_object *v)
{
	const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
												   JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t		len = strlen(s);

	if (len > 60)
		return psprintf("%s...", pnstrdup(s, pg_mbcliplen(s, len, 60)));
	return pstrdup(s);
}

static void
bad_value(CkScalarType type, struct json_object *v)
{
	CkFieldType t = {type, false};
	char	   *snippet = ckfdw_message_text(json_snippet(v));

	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
			 errmsg("invalid CloudKit %s value: %s", ck_type_name(t), snippet)));
}

/* A string from CloudKit (UTF-8) as text, varchar(n) or char(n). */
static Datum
text_datum(CkFdwColumn *col, const char *s, size_t len)
{
	char	   *local = ckfdw_from_utf8(s, len);

	if (col->use_input)
		return OidInputFunctionCall(col->typinput, local, col->typioparam,
									col->input_typmod);
	return PointerGetDatum(cstring_to_text(local));
}

static Datum
convert_timestamp(CkFdwColumn *col, int64 ms)
{
	int64		since2000;
	Timestamp	ts;

	if (pg_sub_s64_overflow(ms, CKFDW_EPOCH_DIFF_MS, &since2000) ||
		pg_mul_s64_overflow(since2000, 1000, &ts) ||
		!IS_VALID_TIMESTAMP(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("CloudKit TIMESTAMP value " INT64_FORMAT " is out of range for type %s",
						ms, format_type_be(col->is_array ? col->elemtypid : col->basetypid))));

	switch (col->target)
	{
		case CKFDW_TGT_DATE:
			{
				int64		days = since2000 / CKFDW_MS_PER_DAY;

				if (since2000 % CKFDW_MS_PER_DAY < 0)
					days--;		/* floor, for times before 2000 */
				return DateADTGetDatum((DateADT) days);
			}
		case CKFDW_TGT_TIMESTAMP:
		case CKFDW_TGT_TIMESTAMPTZ:
			if (col->input_typmod >= 0)
				AdjustTimestampForTypmod(&ts, col->input_typmod);
			return TimestampGetDatum(ts);
		default:
			elog(ERROR, "unexpected target %d for a TIMESTAMP", (int) col->target);
	}
	return (Datum) 0;			/* keep compiler quiet */
}

/*
 * json-c writes a double as the text it was parsed from, and a server may
 * send 17 digits (45.123456789012337) where the shortest text that reads
 * back as the same double (45.12345678901234) is what a user wrote; numeric
 * columns get that shortest text, and json and jsonb get it from here.
 * encode.c accepts both forms back, as the same double.  A ".0" keeps a
 * whole number a double, as encode.c writes doubles.
 */
static int
shortest_double_to_json(struct json_object *jso, struct printbuf *pb,
						int level, int flags)
{
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN + 2];

	double_to_shortest_decimal_buf(json_object_get_double(jso), buf);
	if (strpbrk(buf, ".eE") == NULL)
		strcat(buf, ".0");
	return printbuf_memappend(pb, buf, strlen(buf));
}

/* Have every finite double in v written by shortest_double_to_json. */
static void
prefer_shortest_doubles(struct json_object *v)
{
	switch (json_object_get_type(v))
	{
		case json_type_double:
			if (isfinite(json_object_get_double(v)))
				json_object_set_serializer(v, shortest_double_to_json, NULL, NULL);
			break;
		case json_type_object:
			{
				json_object_object_foreach(v, key, member)
				{
					(void) key;
					if (member != NULL)
						prefer_shortest_doubles(member);
				}
				break;
			}
		case json_type_array:
			{
				size_t		n = json_object_array_length(v);
				size_t		i;

				for (i = 0; i < n; i++)
				{
					struct json_object *e = json_object_array_get_idx(v, i);

					if (e != NULL)
						prefer_shortest_doubles(e);
				}
				break;
			}
		default:
			break;
	}
}

/*
 * Convert one scalar wire value of the given type (CK_TYPE_UNKNOWN: json or
 * jsonb only) into the column's type, or its element type for arrays.
 */
static Datum
convert_scalar(CkFdwColumn *col, CkScalarType type, struct json_object *v)
{
	switch (col->target)
	{
		case CKFDW_TGT_JSON:
		case CKFDW_TGT_JSONB:
			{
				const char *s;
				size_t		len;
				char	   *local;

				prefer_shortest_doubles(v);
				s = json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN |
													  JSON_C_TO_STRING_NOSLASHESCAPE,
													  &len);
				local = ckfdw_from_utf8(s, len);
				if (col->target == CKFDW_TGT_JSONB)
					return DirectFunctionCall1(jsonb_in, CStringGetDatum(local));
				return DirectFunctionCall1(json_in, CStringGetDatum(local));
			}
		case CKFDW_TGT_TEXT:
		case CKFDW_TGT_UUID:
			{
				const char *s = NULL;

				/* text cannot hold a NUL: it would cut the value short */
				if (ck_value_has_nul(v))
				{
					CkFieldType t = {type, false};

					ereport(ERROR,
							(errcode(ERRCODE_UNTRANSLATABLE_CHARACTER),
							 errmsg("CloudKit %s value contains a NUL character",
									ck_type_name(t))));
				}
				if (type == CK_TYPE_STRING)
				{
					if (!ck_value_string(v, &s))
						bad_value(type, v);
				}
				else if (type == CK_TYPE_REFERENCE)
				{
					if (!ck_value_reference_name(v, &s))
						bad_value(type, v);
				}
				else if (type == CK_TYPE_ASSETID)
				{
					if (!ck_value_asset_url(v, &s))
						ereport(ERROR,
								(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
								 errmsg("CloudKit asset has no downloadURL"),
								 errhint("Read the field into a jsonb column to see the whole asset.")));
				}
				else
					bad_value(type, v);
				return text_datum(col, s, strlen(s));
			}
		case CKFDW_TGT_INT8:
		case CKFDW_TGT_INT4:
		case CKFDW_TGT_INT2:
		case CKFDW_TGT_BOOL:
			{
				int64		n;

				if (!ck_value_int64(v, &n))
					bad_value(type, v);
				switch (col->target)
				{
					case CKFDW_TGT_INT8:
						return Int64GetDatum(n);
					case CKFDW_TGT_INT4:
						if (n < PG_INT32_MIN || n > PG_INT32_MAX)
							ereport(ERROR,
									(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
									 errmsg("CloudKit INT64 value " INT64_FORMAT " is out of range for type integer", n)));
						return Int32GetDatum((int32) n);
					case CKFDW_TGT_INT2:
						if (n < PG_INT16_MIN || n > PG_INT16_MAX)
							ereport(ERROR,
									(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
									 errmsg("CloudKit INT64 value " INT64_FORMAT " is out of range for type smallint", n)));
						return Int16GetDatum((int16) n);
					default:
						if (n != 0 && n != 1)
							ereport(ERROR,
									(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
									 errmsg("CloudKit INT64 value " INT64_FORMAT " is not a boolean", n),
									 errdetail("CloudKit stores booleans as the integers 0 and 1.")));
						return BoolGetDatum(n == 1);
				}
			}
		case CKFDW_TGT_NUMERIC:
			{
				char		buf[Max(DOUBLE_SHORTEST_DECIMAL_LEN, 32)];

				if (type == CK_TYPE_INT64)
				{
					int64		n;

					if (!ck_value_int64(v, &n))
						bad_value(type, v);
					snprintf(buf, sizeof(buf), INT64_FORMAT, n);
				}
				else
				{
					double		d;

					if (!ck_value_double(v, &d))
						bad_value(type, v);
					/* the shortest text that reads back as the same double */
					double_to_shortest_decimal_buf(d, buf);
				}
				return DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
										   ObjectIdGetDatum(InvalidOid),
										   Int32GetDatum(col->input_typmod));
			}
		case CKFDW_TGT_FLOAT8:
		case CKFDW_TGT_FLOAT4:
			{
				double		d;

				if (!ck_value_double(v, &d))
					bad_value(type, v);
				if (col->target == CKFDW_TGT_FLOAT8)
					return Float8GetDatum(d);
				/* dtof reports overflow and underflow */
				return DirectFunctionCall1(dtof, Float8GetDatum(d));
			}
		case CKFDW_TGT_TIMESTAMPTZ:
		case CKFDW_TGT_TIMESTAMP:
		case CKFDW_TGT_DATE:
			{
				int64		ms;

				if (!ck_value_timestamp_ms(v, &ms))
					bad_value(type, v);
				return convert_timestamp(col, ms);
			}
		case CKFDW_TGT_BYTEA:
			{
				unsigned char *data = NULL;
				size_t		len = 0;
				bytea	   *result;

				if (type == CK_TYPE_ASSETID)
					return ckfdw_asset_content(col, v);
				if (!ck_value_bytes(v, &data, &len))
					bad_value(type, v);
				/* data is malloc'd: nothing may throw before it is freed */
				if (len > MaxAllocSize - VARHDRSZ)
					result = NULL;
				else
					result = palloc_extended(len + VARHDRSZ, MCXT_ALLOC_NO_OOM);
				if (result != NULL)
				{
					SET_VARSIZE(result, len + VARHDRSZ);
					if (len > 0)
						memcpy(VARDATA(result), data, len);
				}
				free(data);
				if (result == NULL)
					ereport(ERROR,
							(errcode(ERRCODE_OUT_OF_MEMORY),
							 errmsg("out of memory"),
							 errdetail("Failed on a CloudKit BYTES value of %zu bytes.", len)));
				return PointerGetDatum(result);
			}
		case CKFDW_TGT_POINT:
			{
				double		latitude;
				double		longitude;
				Point	   *p;

				if (!ck_value_location(v, &latitude, &longitude))
					bad_value(type, v);
				p = palloc(sizeof(Point));
				p->x = longitude;
				p->y = latitude;
				return PointPGetDatum(p);
			}
	}
	elog(ERROR, "unexpected conversion target %d", (int) col->target);
	return (Datum) 0;			/* keep compiler quiet */
}

/*
 * The SQLSTATE for a record ck_record_parse refused: a name holding a NUL
 * character is text PostgreSQL cannot hold (as for a field's value), the
 * rest is a malformed answer.
 */
int
ckfdw_invalid_record_errcode(const CkRecord *rec)
{
	return rec->nul_in_text ? ERRCODE_UNTRANSLATABLE_CHARACTER :
		ERRCODE_PROTOCOL_VIOLATION;
}

/* A string in the database encoding, as UTF-8 for the wire. */
char *
ckfdw_to_utf8(const char *s)
{
	return pg_server_to_any(s, strlen(s), PG_UTF8);
}

/*
 * UTF-8 text from CloudKit for an error message or context: never throws.
 * Characters the database encoding may lack become "?" unless the database
 * is UTF-8 (or SQL_ASCII) and the text is valid UTF-8.
 */
char *
ckfdw_message_text(const char *s)
{
	int			enc = GetDatabaseEncoding();
	size_t		len;
	char	   *result;
	const unsigned char *p;
	char	   *q;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	for (p = (const unsigned char *) s; *p; p++)
	{
		if (*p >= 0x80)
			break;
	}
	if (*p == '\0')
		return pstrdup(s);
	if ((enc == PG_UTF8 || enc == PG_SQL_ASCII) &&
		pg_verify_mbstr(PG_UTF8, s, len, true))
		return pstrdup(s);

	/* one "?" per non-ASCII character (UTF-8 continuation bytes dropped) */
	result = palloc(len + 1);
	q = result;
	for (p = (const unsigned char *) s; *p; p++)
	{
		if (*p < 0x80)
			*q++ = (char) *p;
		else if ((*p & 0xC0) != 0x80)
			*q++ = '?';
	}
	*q = '\0';
	return result;
}

/* UTF-8 from the wire in the database encoding (validated). */
char *
ckfdw_from_utf8(const char *s, size_t len)
{
	char	   *result = pg_any_to_server(s, len, PG_UTF8);

	/* pg_any_to_server may return its input, which need not end at len */
	if (result == s)
		result = pnstrdup(s, len);
	return result;
}
