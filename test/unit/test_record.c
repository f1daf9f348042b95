/*-------------------------------------------------------------------------
 *
 * test_record.c
 *		  Unit tests of ck_types.c and ck_record.c: wire type names, record
 *		  parsing (records, tombstones, error dicts), every field decoder and
 *		  the field-value builders.
 *
 * test/unit/test_record.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "ck/ck_record.h"
#include "ck/ck_types.h"
#include "unit.h"

/* A record as CloudKit sends it, with one field of every wire type. */
static const char *full_record =
"{\"recordName\":\"2F95E45A-0000\",\"recordType\":\"Mapping\","
" \"fields\":{"
"  \"country\":{\"value\":\"US\",\"type\":\"STRING\"},"
"  \"status\":{\"value\":-42,\"type\":\"INT64\"},"
"  \"big\":{\"value\":9223372036854775807,\"type\":\"INT64\"},"
"  \"small\":{\"value\":-9223372036854775808,\"type\":\"INT64\"},"
"  \"price\":{\"value\":3.25,\"type\":\"DOUBLE\"},"
"  \"whole\":{\"value\":7,\"type\":\"DOUBLE\"},"
"  \"checkedAt\":{\"value\":1638605892474,\"type\":\"TIMESTAMP\"},"
"  \"blob\":{\"value\":\"AP8Q\",\"type\":\"BYTES\"},"
"  \"author\":{\"value\":{\"recordName\":\"artist-1\",\"action\":\"VALIDATE\"},\"type\":\"REFERENCE\"},"
"  \"shelf\":{\"value\":{\"latitude\":52.5,\"longitude\":-13.25,\"altitude\":3},\"type\":\"LOCATION\"},"
"  \"cover\":{\"value\":{\"fileChecksum\":\"abc\",\"size\":10,\"downloadURL\":\"https://cvws.icloud-content.com/x/${f}\"},\"type\":\"ASSETID\"},"
"  \"tags\":{\"value\":[\"a\",\"b\",\"\"],\"type\":\"STRING_LIST\"},"
"  \"counts\":{\"value\":[1,2,3],\"type\":\"INT64_LIST\"},"
"  \"nothing\":{\"value\":[],\"type\":\"UNKNOWN_LIST\"},"
"  \"refs\":{\"value\":[{\"recordName\":\"r1\",\"action\":\"NONE\"},{\"recordName\":\"r2\",\"action\":\"DELETE_SELF\"}],\"type\":\"REFERENCE_LIST\"},"
"  \"places\":{\"value\":[{\"latitude\":1,\"longitude\":2}],\"type\":\"LOCATION_LIST\"},"
"  \"files\":{\"value\":[{\"downloadURL\":\"https://a/1\"}],\"type\":\"ASSETID_LIST\"},"
"  \"times\":{\"value\":[0,1000],\"type\":\"TIMESTAMP_LIST\"},"
"  \"blobs\":{\"value\":[\"Zm9v\",\"\"],\"type\":\"BYTES_LIST\"},"
"  \"secret\":{\"value\":\"AAAA\",\"type\":\"ENCRYPTED_BYTES\"},"
"  \"untyped\":{\"value\":\"x\"},"
"  \"cleared\":{\"value\":null,\"type\":\"STRING\"}"
" },"
" \"pluginFields\":{},\"recordChangeTag\":\"j7if0cac\","
" \"created\":{\"timestamp\":1505270195464,\"userRecordName\":\"_6936\",\"deviceID\":\"4A85\"},"
" \"modified\":{\"timestamp\":1638605897637,\"userRecordName\":\"_4ab8\",\"deviceID\":\"2\"},"
" \"deleted\":false,"
" \"zoneID\":{\"zoneName\":\"_defaultZone\",\"ownerRecordName\":\"_4ab8\",\"zoneType\":\"DEFAULT_ZONE\"}}";

static void
test_types(void)
{
	static const struct
	{
		const char *name;
		CkScalarType elem;
		bool		is_list;
		const char *canonical;
	}			ok[] = {
		{"STRING", CK_TYPE_STRING, false, "STRING"},
		{"INT64", CK_TYPE_INT64, false, "INT64"},
		{"DOUBLE", CK_TYPE_DOUBLE, false, "DOUBLE"},
		{"TIMESTAMP", CK_TYPE_TIMESTAMP, false, "TIMESTAMP"},
		{"BYTES", CK_TYPE_BYTES, false, "BYTES"},
		{"REFERENCE", CK_TYPE_REFERENCE, false, "REFERENCE"},
		{"LOCATION", CK_TYPE_LOCATION, false, "LOCATION"},
		{"ASSETID", CK_TYPE_ASSETID, false, "ASSETID"},
		{"ASSET", CK_TYPE_ASSETID, false, "ASSETID"},
		{"STRING_LIST", CK_TYPE_STRING, true, "STRING_LIST"},
		{"INT64_LIST", CK_TYPE_INT64, true, "INT64_LIST"},
		{"DOUBLE_LIST", CK_TYPE_DOUBLE, true, "DOUBLE_LIST"},
		{"TIMESTAMP_LIST", CK_TYPE_TIMESTAMP, true, "TIMESTAMP_LIST"},
		{"BYTES_LIST", CK_TYPE_BYTES, true, "BYTES_LIST"},
		{"REFERENCE_LIST", CK_TYPE_REFERENCE, true, "REFERENCE_LIST"},
		{"LOCATION_LIST", CK_TYPE_LOCATION, true, "LOCATION_LIST"},
		{"ASSETID_LIST", CK_TYPE_ASSETID, true, "ASSETID_LIST"},
		{"ASSET_LIST", CK_TYPE_ASSETID, true, "ASSETID_LIST"},
		{"UNKNOWN_LIST", CK_TYPE_UNKNOWN, true, "UNKNOWN_LIST"},
	};
	static const char *const bad[] = {
		"", "string", "Int64", "UNKNOWN", "BOOLEAN", "NUMBER", "_LIST", "LIST",
		"STRING_LIST_LIST", "STRING_list", " STRING", "STRING ", "ENCRYPTED_BYTES",
		"LIST<STRING>", "ASSETID_LISTX", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_LIST",
	};
	int			i;
	CkFieldType t;

	for (i = 0; i < (int) (sizeof(ok) / sizeof(ok[0])); i++)
	{
		t.elem = CK_TYPE_STRING;
		t.is_list = !ok[i].is_list;
		CHECK_MSG(ck_type_parse(ok[i].name, &t) && t.elem == ok[i].elem &&
				  t.is_list == ok[i].is_list, "ck_type_parse(\"%s\")", ok[i].name);
		CHECK_STR(ck_type_name(t), ok[i].canonical);
	}
	for (i = 0; i < (int) (sizeof(bad) / sizeof(bad[0])); i++)
		CHECK_MSG(!ck_type_parse(bad[i], &t), "ck_type_parse accepted \"%s\"", bad[i]);
	CHECK(!ck_type_parse(NULL, &t));

	CHECK_STR(ck_scalar_schema_name(CK_TYPE_ASSETID), "ASSET");
	CHECK_STR(ck_scalar_schema_name(CK_TYPE_TIMESTAMP), "TIMESTAMP");
	CHECK_STR(ck_scalar_schema_name(CK_TYPE_REFERENCE), "REFERENCE");
	t.elem = CK_TYPE_UNKNOWN;
	t.is_list = false;
	CHECK(ck_type_name(t) != NULL);
}

static struct json_object *
parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	CHECK_MSG(o != NULL, "test JSON does not parse: %s", text);
	return o;
}

/* Look up a field that must be present with the given wire type. */
static struct json_object *
field(const CkRecord *rec, const char *name, const char *want_type)
{
	struct json_object *v = NULL;
	CkFieldType t;

	if (!CHECK_MSG(ck_record_field(rec, name, &v, &t), "field %s missing", name))
		return NULL;
	if (want_type)
		CHECK_MSG(strcmp(ck_type_name(t), want_type) == 0, "field %s: type %s, want %s",
				  name, ck_type_name(t), want_type);
	return v;
}

static void
test_full_record(void)
{
	struct json_object *o = parse(full_record);
	CkRecord	rec;
	char		err[256] = "";
	struct json_object *v;
	const char *s;
	int64_t		i64;
	double		d;
	double		lat,
				lon;
	unsigned char *bytes;
	size_t		blen;
	CkFieldType t;
	size_t		k;

	if (!CHECK_MSG(ck_record_parse(o, &rec, err, sizeof(err)), "parse: %s", err))
	{
		json_object_put(o);
		return;
	}
	CHECK(!rec.is_error && !rec.deleted);
	CHECK_STR(rec.record_name, "2F95E45A-0000");
	CHECK_STR(rec.record_type, "Mapping");
	CHECK_STR(rec.change_tag, "j7if0cac");
	CHECK(rec.has_created && rec.created_ms == INT64_C(1505270195464));
	CHECK_STR(rec.created_user, "_6936");
	CHECK(rec.has_modified && rec.modified_ms == INT64_C(1638605897637));
	CHECK_STR(rec.modified_user, "_4ab8");
	CHECK_STR(rec.zone_name, "_defaultZone");
	CHECK_STR(rec.zone_owner, "_4ab8");
	CHECK(rec.fields != NULL);
	CHECK(rec.retry_after < 0);

	/* absent fields are not an error, and are not found */
	CHECK(!ck_record_field(&rec, "nope", &v, &t));
	CHECK(!ck_record_field(&rec, "Country", &v, &t));	/* case-sensitive */

	v = field(&rec, "country", "STRING");
	CHECK(ck_value_string(v, &s) && strcmp(s, "US") == 0);
	v = field(&rec, "status", "INT64");
	CHECK(ck_value_int64(v, &i64) && i64 == -42);
	v = field(&rec, "big", "INT64");
	CHECK(ck_value_int64(v, &i64) && i64 == INT64_MAX);
	v = field(&rec, "small", "INT64");
	CHECK(ck_value_int64(v, &i64) && i64 == INT64_MIN);
	v = field(&rec, "price", "DOUBLE");
	CHECK(ck_value_double(v, &d) && d == 3.25);
	v = field(&rec, "whole", "DOUBLE");
	CHECK(ck_value_double(v, &d) && d == 7.0);
	v = field(&rec, "checkedAt", "TIMESTAMP");
	CHECK(ck_value_timestamp_ms(v, &i64) && i64 == INT64_C(1638605892474));
	v = field(&rec, "blob", "BYTES");
	bytes = NULL;
	CHECK(ck_value_bytes(v, &bytes, &blen) && blen == 3 &&
		  bytes[0] == 0x00 && bytes[1] == 0xFF && bytes[2] == 0x10);
	free(bytes);
	v = field(&rec, "author", "REFERENCE");
	CHECK(ck_value_reference_name(v, &s) && strcmp(s, "artist-1") == 0);
	v = field(&rec, "shelf", "LOCATION");
	CHECK(ck_value_location(v, &lat, &lon) && lat == 52.5 && lon == -13.25);
	v = field(&rec, "cover", "ASSETID");
	CHECK(ck_value_asset_url(v, &s) && strcmp(s, "https://cvws.icloud-content.com/x/${f}") == 0);

	/* lists: an array whose elements decode with the element decoder */
	v = field(&rec, "tags", "STRING_LIST");
	CHECK(json_object_is_type(v, json_type_array) && json_object_array_length(v) == 3);
	CHECK(ck_value_string(json_object_array_get_idx(v, 1), &s) && strcmp(s, "b") == 0);
	CHECK(ck_value_string(json_object_array_get_idx(v, 2), &s) && strcmp(s, "") == 0);
	v = field(&rec, "counts", "INT64_LIST");
	for (k = 0; v && k < json_object_array_length(v); k++)
		CHECK(ck_value_int64(json_object_array_get_idx(v, k), &i64) && i64 == (int64_t) k + 1);
	v = field(&rec, "nothing", "UNKNOWN_LIST");
	CHECK(json_object_is_type(v, json_type_array) && json_object_array_length(v) == 0);
	CHECK(ck_record_field(&rec, "nothing", &v, &t) && t.elem == CK_TYPE_UNKNOWN && t.is_list);
	v = field(&rec, "refs", "REFERENCE_LIST");
	CHECK(ck_value_reference_name(json_object_array_get_idx(v, 1), &s) && strcmp(s, "r2") == 0);
	v = field(&rec, "places", "LOCATION_LIST");
	CHECK(ck_value_location(json_object_array_get_idx(v, 0), &lat, &lon) && lat == 1 && lon == 2);
	v = field(&rec, "files", "ASSETID_LIST");
	CHECK(ck_value_asset_url(json_object_array_get_idx(v, 0), &s) && strcmp(s, "https://a/1") == 0);
	v = field(&rec, "times", "TIMESTAMP_LIST");
	CHECK(ck_value_timestamp_ms(json_object_array_get_idx(v, 1), &i64) && i64 == 1000);
	v = field(&rec, "blobs", "BYTES_LIST");
	bytes = NULL;
	CHECK(ck_value_bytes(json_object_array_get_idx(v, 0), &bytes, &blen) && blen == 3 &&
		  memcmp(bytes, "foo", 3) == 0);
	free(bytes);
	bytes = NULL;
	CHECK(ck_value_bytes(json_object_array_get_idx(v, 1), &bytes, &blen) && blen == 0);
	free(bytes);

	/* a wire type we do not know, no type at all, an explicit null */
	CHECK(ck_record_field(&rec, "secret", &v, &t) && t.elem == CK_TYPE_UNKNOWN && !t.is_list);
	CHECK(ck_record_field(&rec, "untyped", &v, &t) && t.elem == CK_TYPE_UNKNOWN &&
		  ck_value_string(v, &s) && strcmp(s, "x") == 0);
	CHECK(ck_record_field(&rec, "cleared", &v, &t) && v == NULL && t.elem == CK_TYPE_STRING);
	CHECK(!ck_value_string(NULL, &s));

	json_object_put(o);
}

static void
test_numbers_as_strings(void)
{
	struct json_object *o = parse(
								  "{\"recordName\":\"n\",\"recordType\":\"T\",\"fields\":{"
								  "\"i\":{\"value\":\"-9223372036854775808\",\"type\":\"INT64\"},"
								  "\"j\":{\"value\":\"9223372036854775807\",\"type\":\"INT64\"},"
								  "\"d\":{\"value\":\"1.5e3\",\"type\":\"DOUBLE\"},"
								  "\"e\":{\"value\":\"-0.125\",\"type\":\"DOUBLE\"},"
								  "\"n\":{\"value\":\"NaN\",\"type\":\"DOUBLE\"},"
								  "\"p\":{\"value\":\"Infinity\",\"type\":\"DOUBLE\"},"
								  "\"t\":{\"value\":\"1638605892474\",\"type\":\"TIMESTAMP\"},"
								  "\"l\":{\"value\":[\"1\",\"-2\"],\"type\":\"INT64_LIST\"}},"
								  "\"created\":{\"timestamp\":\"1505270195464\"}}");
	CkRecord	rec;
	char		err[256] = "";
	int64_t		i64;
	double		d;
	struct json_object *v;

	CHECK_MSG(ck_record_parse(o, &rec, err, sizeof(err)), "parse: %s", err);
	CHECK(rec.has_created && rec.created_ms == INT64_C(1505270195464));
	CHECK(!rec.has_modified);
	CHECK(ck_value_int64(field(&rec, "i", "INT64"), &i64) && i64 == INT64_MIN);
	CHECK(ck_value_int64(field(&rec, "j", "INT64"), &i64) && i64 == INT64_MAX);
	CHECK(ck_value_double(field(&rec, "d", "DOUBLE"), &d) && d == 1500.0);
	CHECK(ck_value_double(field(&rec, "e", "DOUBLE"), &d) && d == -0.125);
	/* strings that are no JSON number are no CloudKit DOUBLE */
	CHECK(!ck_value_double(field(&rec, "n", "DOUBLE"), &d));
	CHECK(!ck_value_double(field(&rec, "p", "DOUBLE"), &d));
	CHECK(ck_value_timestamp_ms(field(&rec, "t", "TIMESTAMP"), &i64) && i64 == INT64_C(1638605892474));
	v = field(&rec, "l", "INT64_LIST");
	CHECK(ck_value_int64(json_object_array_get_idx(v, 1), &i64) && i64 == -2);
	json_object_put(o);
}

static void
test_tombstones_and_errors(void)
{
	struct json_object *o;
	CkRecord	rec;
	char		err[256];

	/* changes/zone tombstone and modify's delete echo */
	o = parse("{\"recordName\":\"gone\",\"deleted\":true}");
	CHECK(ck_record_parse(o, &rec, err, sizeof(err)));
	CHECK(rec.deleted && !rec.is_error);
	CHECK_STR(rec.record_name, "gone");
	CHECK(rec.record_type == NULL && rec.fields == NULL && rec.change_tag == NULL);
	CHECK(!rec.has_created && !rec.has_modified);
	json_object_put(o);

	/* a modify answered with desiredKeys []: no recordType, no fields */
	o = parse("{\"recordName\":\"r\",\"recordChangeTag\":\"1e\",\"created\":{\"timestamp\":1},\"modified\":{\"timestamp\":2}}");
	CHECK(ck_record_parse(o, &rec, err, sizeof(err)));
	CHECK(!rec.deleted && !rec.is_error && rec.record_type == NULL);
	CHECK_STR(rec.change_tag, "1e");
	CHECK(rec.created_ms == 1 && rec.modified_ms == 2);
	json_object_put(o);

	/* a per-record error */
	o = parse("{\"recordName\":\"r9\",\"reason\":\"record to update already exists with a different change tag\","
			  "\"serverErrorCode\":\"CONFLICT\",\"uuid\":\"u-1\",\"retryAfter\":3}");
	CHECK(ck_record_parse(o, &rec, err, sizeof(err)));
	CHECK(rec.is_error && !rec.deleted);
	CHECK_STR(rec.record_name, "r9");
	CHECK_STR(rec.server_error_code, "CONFLICT");
	CHECK_STR(rec.reason, "record to update already exists with a different change tag");
	CHECK(rec.retry_after == 3.0);
	json_object_put(o);

	/* an error without recordName or retryAfter (e.g. a shortGUID error) */
	o = parse("{\"serverErrorCode\":\"THROTTLED\",\"reason\":\"slow down\",\"retryAfter\":0.5,"
			  "\"zoneID\":{\"zoneName\":\"Z\"}}");
	CHECK(ck_record_parse(o, &rec, err, sizeof(err)));
	CHECK(rec.is_error && rec.record_name == NULL && rec.retry_after == 0.5);
	CHECK_STR(rec.zone_name, "Z");
	json_object_put(o);
	o = parse("{\"recordName\":\"x\",\"serverErrorCode\":\"NOT_FOUND\"}");
	CHECK(ck_record_parse(o, &rec, err, sizeof(err)));
	CHECK(rec.is_error && rec.retry_after < 0 && rec.reason == NULL);
	json_object_put(o);
}

static void
check_record_rejected(const char *text, const char *want_in_err)
{
	struct json_object *o = parse(text);
	CkRecord	rec;
	char		err[256] = "";

	CHECK_MSG(!ck_record_parse(o, &rec, err, sizeof(err)), "accepted as a record: %s", text);
	CHECK_MSG(strstr(err, want_in_err) != NULL, "error \"%s\" lacks \"%s\"", err, want_in_err);
	json_object_put(o);
}

static void
test_record_rejections(void)
{
	CkRecord	rec;
	char		err[256] = "";

	CHECK(!ck_record_parse(NULL, &rec, err, sizeof(err)) && err[0]);
	check_record_rejected("[1,2]", "not a JSON object");
	check_record_rejected("\"record\"", "not a JSON object");
	check_record_rejected("{\"recordType\":\"T\"}", "recordName");
	check_record_rejected("{\"recordName\":5}", "recordName");
	check_record_rejected("{\"recordName\":\"a\",\"recordType\":[]}", "recordType");
	check_record_rejected("{\"recordName\":\"a\",\"fields\":[]}", "fields");
	check_record_rejected("{\"recordName\":\"a\",\"deleted\":\"yes\"}", "deleted");
	check_record_rejected("{\"recordName\":\"a\",\"created\":{\"timestamp\":\"soon\"}}", "created.timestamp");
	check_record_rejected("{\"recordName\":\"a\",\"modified\":{\"timestamp\":1.5}}", "modified.timestamp");
	check_record_rejected("{\"recordName\":\"a\",\"modified\":7}", "modified");
	check_record_rejected("{\"recordName\":\"a\",\"zoneID\":\"z\"}", "zoneID");
	check_record_rejected("{\"recordName\":\"a\",\"recordChangeTag\":12}", "recordChangeTag");
	check_record_rejected("{\"recordName\":\"a\",\"serverErrorCode\":12}", "serverErrorCode");
	check_record_rejected("{\"recordName\":\"a\",\"serverErrorCode\":\"X\",\"retryAfter\":\"later\"}", "retryAfter");
	check_record_rejected("{\"recordName\":\"a\",\"serverErrorCode\":\"X\",\"retryAfter\":-1}", "retryAfter");

	/* a NUL would cut a name short: "r\u00001" must not become "r" */
	check_record_rejected("{\"recordName\":\"r\\u00001\"}", "recordName");
	check_record_rejected("{\"recordName\":\"r\",\"recordChangeTag\":\"\\u0000\"}", "recordChangeTag");
	check_record_rejected("{\"recordName\":\"r\",\"recordType\":\"T\\u0000x\"}", "recordType");
	check_record_rejected("{\"recordName\":\"r\",\"zoneID\":{\"zoneName\":\"Z\\u0000\"}}", "zoneName");
	check_record_rejected("{\"recordName\":\"r\",\"created\":{\"userRecordName\":\"_u\\u0000\"}}", "userRecordName");
	check_record_rejected("{\"recordName\":\"r\\u0000\",\"serverErrorCode\":\"X\"}", "recordName");
	{
		struct json_object *o = parse("{\"recordName\":\"r\\u00001\"}");

		CHECK(!ck_record_parse(o, &rec, err, sizeof(err)) && rec.nul_in_text);
		json_object_put(o);
		o = parse("{\"recordName\":5}");
		CHECK(!ck_record_parse(o, &rec, err, sizeof(err)) && !rec.nul_in_text);
		json_object_put(o);
		/* an error's reason is a message: still the error it reports */
		o = parse("{\"recordName\":\"r\",\"serverErrorCode\":\"CONFLICT\",\"reason\":\"a\\u0000b\"}");
		CHECK(ck_record_parse(o, &rec, err, sizeof(err)) && rec.is_error &&
			  strcmp(rec.server_error_code, "CONFLICT") == 0);
		json_object_put(o);
	}
}

/* Decoders given JSON they must refuse. */
static void
test_decoder_rejections(void)
{
	static const char *const not_int64[] = {
		"1.5", "2.0", "1e3", "\"1.5\"", "\"abc\"", "\"12x\"", "\" 12\"", "\"12 \"",
		"\"+12\"", "\"\"", "\"-\"", "\"0x10\"", "true", "null", "[]", "{}",
		"9223372036854775808", "18446744073709551615", "\"9223372036854775808\"",
		"\"-9223372036854775809\"", "\"99999999999999999999\"",
	};
	static const char *const not_double[] = {
		"\"abc\"", "\"1.5x\"", "\" 1.5\"", "\"\"", "\"1e400\"", "1e400", "-1e400",
		"\"inf\"", "\"nan\"", "\"0x1p3\"", "\"+1\"", "true", "{}", "[1]", "\"-\"",
		"\"NaN\"", "\"Infinity\"", "\"-Infinity\"",
	};
	static const char *const not_bytes[] = {
		"\"Zm9v!\"", "\"Zg\"", "\"Zh==\"", "\"Zm9v\\n\"", "\"Zm9v Zm9v\"", "\"-_-_\"", "12", "[]", "null",
	};
	static const char *const not_location[] = {
		"{}", "{\"latitude\":1}", "{\"longitude\":1}", "{\"latitude\":\"x\",\"longitude\":1}",
		"{\"latitude\":91,\"longitude\":0}", "{\"latitude\":0,\"longitude\":-180.5}",
		"{\"latitude\":\"NaN\",\"longitude\":0}", "[1,2]", "\"1,2\"",
	};
	int			i;
	int64_t		i64;
	double		d;
	unsigned char *b;
	size_t		blen;
	const char *s;
	struct json_object *o;

	for (i = 0; i < (int) (sizeof(not_int64) / sizeof(not_int64[0])); i++)
	{
		o = json_tokener_parse(not_int64[i]);
		CHECK_MSG(!ck_value_int64(o, &i64), "INT64 accepted %s as %lld", not_int64[i], (long long) i64);
		CHECK_MSG(!ck_value_timestamp_ms(o, &i64), "TIMESTAMP accepted %s", not_int64[i]);
		json_object_put(o);
	}
	for (i = 0; i < (int) (sizeof(not_double) / sizeof(not_double[0])); i++)
	{
		o = json_tokener_parse(not_double[i]);
		CHECK_MSG(!ck_value_double(o, &d), "DOUBLE accepted %s as %g", not_double[i], d);
		json_object_put(o);
	}
	for (i = 0; i < (int) (sizeof(not_bytes) / sizeof(not_bytes[0])); i++)
	{
		o = json_tokener_parse(not_bytes[i]);
		b = NULL;
		CHECK_MSG(!ck_value_bytes(o, &b, &blen), "BYTES accepted %s", not_bytes[i]);
		free(b);
		json_object_put(o);
	}
	for (i = 0; i < (int) (sizeof(not_location) / sizeof(not_location[0])); i++)
	{
		double		la,
					lo;

		o = json_tokener_parse(not_location[i]);
		CHECK_MSG(!ck_value_location(o, &la, &lo), "LOCATION accepted %s", not_location[i]);
		json_object_put(o);
	}

	/* a string where an int is expected, and the other way round */
	o = json_tokener_parse("\"hello\"");
	CHECK(!ck_value_int64(o, &i64));
	CHECK(!ck_value_double(o, &d));
	CHECK(!ck_value_asset_url(o, &s));
	CHECK(ck_value_reference_name(o, &s) && strcmp(s, "hello") == 0);
	json_object_put(o);
	o = json_tokener_parse("5");
	CHECK(!ck_value_string(o, &s));
	CHECK(!ck_value_reference_name(o, &s));
	CHECK(ck_value_double(o, &d) && d == 5.0);
	json_object_put(o);
	o = json_tokener_parse("{\"action\":\"NONE\"}");
	CHECK(!ck_value_reference_name(o, &s));
	CHECK(!ck_value_asset_url(o, &s));
	json_object_put(o);
	o = json_tokener_parse("{\"recordName\":7}");
	CHECK(!ck_value_reference_name(o, &s));
	json_object_put(o);
	o = json_tokener_parse("{\"downloadURL\":null,\"size\":3}");
	CHECK(!ck_value_asset_url(o, &s));
	json_object_put(o);

	/* NULL (JSON null) is never a value */
	CHECK(!ck_value_int64(NULL, &i64));
	CHECK(!ck_value_double(NULL, &d));
	CHECK(!ck_value_bytes(NULL, &b, &blen));
	CHECK(!ck_value_reference_name(NULL, &s));
	CHECK(!ck_value_location(NULL, &d, &d));
	CHECK(!ck_value_asset_url(NULL, &s));

	/* the edges that are accepted */
	o = json_tokener_parse("\"-0\"");
	CHECK(ck_value_int64(o, &i64) && i64 == 0);
	json_object_put(o);
	o = json_tokener_parse("{\"latitude\":-90,\"longitude\":180}");
	{
		double		la,
					lo;

		CHECK(ck_value_location(o, &la, &lo) && la == -90 && lo == 180);
	}
	json_object_put(o);
	o = json_tokener_parse("\"1e-400\"");	/* underflow rounds to 0 */
	CHECK(ck_value_double(o, &d) && d == 0.0);
	json_object_put(o);
}

static void
check_json(struct json_object *obj, const char *want)
{
	CHECK_STR(unit_json(obj), want);
	json_object_put(obj);
}

static void
test_builders(void)
{
	CkFieldType t;
	struct json_object *arr;
	unsigned char raw[4] = {0, 0xFF, 0x10, 'a'};

	t.elem = CK_TYPE_INT64;
	t.is_list = false;
	check_json(ck_field_value_new(t, json_object_new_int64(INT64_MIN)),
			   "{\"value\":-9223372036854775808,\"type\":\"INT64\"}");
	t.elem = CK_TYPE_STRING;
	check_json(ck_field_value_new(t, json_object_new_string("a/\"b\"")),
			   "{\"value\":\"a/\\\"b\\\"\",\"type\":\"STRING\"}");
	check_json(ck_field_value_new(t, NULL), "{\"value\":null,\"type\":\"STRING\"}");
	t.elem = CK_TYPE_UNKNOWN;
	check_json(ck_field_value_new(t, json_object_new_int(1)), "{\"value\":1}");
	t.is_list = true;
	check_json(ck_field_value_new(t, json_object_new_array()),
			   "{\"value\":[],\"type\":\"UNKNOWN_LIST\"}");
	t.elem = CK_TYPE_ASSETID;
	check_json(ck_field_value_new(t, json_object_new_array()),
			   "{\"value\":[],\"type\":\"ASSETID_LIST\"}");

	arr = json_object_new_array();
	json_object_array_add(arr, ck_reference_new("a", "NONE"));
	json_object_array_add(arr, ck_reference_new("b", NULL));
	t.elem = CK_TYPE_REFERENCE;
	check_json(ck_field_value_new(t, arr),
			   "{\"value\":[{\"recordName\":\"a\",\"action\":\"NONE\"},{\"recordName\":\"b\"}],"
			   "\"type\":\"REFERENCE_LIST\"}");
	check_json(ck_reference_new("artist-1", "VALIDATE"),
			   "{\"recordName\":\"artist-1\",\"action\":\"VALIDATE\"}");

	t.elem = CK_TYPE_BYTES;
	t.is_list = false;
	check_json(ck_field_value_new(t, ck_bytes_value_new(raw, 4)),
			   "{\"value\":\"AP8QYQ==\",\"type\":\"BYTES\"}");
	check_json(ck_bytes_value_new(raw, 0), "\"\"");
}

void
test_record(void)
{
	test_types();
	test_full_record();
	test_numbers_as_strings();
	test_tombstones_and_errors();
	test_record_rejections();
	test_decoder_rejections();
	test_builders();
}
