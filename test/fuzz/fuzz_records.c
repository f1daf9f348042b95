/*-------------------------------------------------------------------------
 *
 * fuzz_records.c
 *		Fuzz target: a records/query|lookup|modify or changes/zone answer
 *		body, parsed as the client parses it and walked as the scan does:
 *		every record (or per-record error), every field, every decoder.
 *
 * Every decoder runs on every value, whatever type the answer claims, and
 * on every element of a list: the decoders must reject a wrong shape, never
 * misread it.  The body is parsed as the transport parses an answer
 * (ck_http.c is included, so the harness runs exactly the client's code).
 *
 * test/fuzz/fuzz_records.c
 *
 *-------------------------------------------------------------------------
 */
#include "ck/ck_http.c"

#include "ck/ck_record.h"
#include "ck/ck_types.h"
#include "fuzz.h"

/* Consume a pointer so the work cannot be optimised away. */
static volatile uintptr_t sink;

static void
decode_all(struct json_object *v)
{
	const char *s;
	int64_t		i;
	double		d,
				lat,
				lon;
	unsigned char *bytes;
	size_t		len;

	if (ck_value_string(v, &s))
		sink += (uintptr_t) s[0];
	if (ck_value_int64(v, &i))
		sink += (uintptr_t) i;
	if (ck_value_double(v, &d))
		sink += (uintptr_t) (d == d);
	if (ck_value_timestamp_ms(v, &i))
		sink += (uintptr_t) i;
	if (ck_value_bytes(v, &bytes, &len))
	{
		if (len > 0)
			sink += bytes[len - 1];
		free(bytes);
	}
	if (ck_value_reference_name(v, &s))
		sink += (uintptr_t) s[0];
	if (ck_value_location(v, &lat, &lon))
		sink += (lat > lon);
	if (ck_value_asset_url(v, &s))
		sink += (uintptr_t) s[0];
}

static void
walk_record(struct json_object *entry)
{
	CkRecord	rec;
	char		err[256];

	if (!ck_record_parse(entry, &rec, err, sizeof(err)))
	{
		sink += (uintptr_t) err[0];
		return;
	}
	if (rec.is_error)
	{
		/* the FDW maps the code through the error table */
		sink += (uintptr_t) ck_error_lookup(rec.server_error_code)->http_status;
		return;
	}
	if (rec.fields == NULL)
		return;
	json_object_object_foreach(rec.fields, name, unused)
	{
		struct json_object *value;
		CkFieldType type;

		(void) unused;
		if (!ck_record_field(&rec, name, &value, &type))
			continue;
		/* a type read from the wire prints back as a name that reads the same */
		if (type.elem != CK_TYPE_UNKNOWN || type.is_list)
		{
			CkFieldType again;

			if (!ck_type_parse(ck_type_name(type), &again) ||
				again.elem != type.elem || again.is_list != type.is_list)
				abort();
		}
		decode_all(value);
		if (value != NULL && json_object_is_type(value, json_type_array))
		{
			size_t		n = json_object_array_length(value);
			size_t		k;

			for (k = 0; k < n; k++)
				decode_all(json_object_array_get_idx(value, k));
		}
	}
}

static void
walk_records(struct json_object *obj)
{
	struct json_object *v;
	size_t		n,
				k;

	if (!json_object_object_get_ex(obj, "records", &v) ||
		!json_object_is_type(v, json_type_array))
		return;
	n = json_object_array_length(v);
	for (k = 0; k < n; k++)
		walk_record(json_object_array_get_idx(v, k));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	CkBuf		body;
	struct json_object *json;
	struct json_object *v;
	char		err[160];

	/* as received: a CkBuf, NUL-terminated */
	ck_buf_init(&body);
	if (!ck_buf_append(&body, data, size))
		return 0;
	json = ck_json_parse_body(body.data ? body.data : "", body.len, err, sizeof(err));
	if (json != NULL && json_object_is_type(json, json_type_object))
	{
		walk_records(json);
		/* changes/zone: {"zones": [{"records": [...], "syncToken": ...}]} */
		if (json_object_object_get_ex(json, "zones", &v) &&
			json_object_is_type(v, json_type_array))
		{
			size_t		n = json_object_array_length(v);
			size_t		k;

			for (k = 0; k < n; k++)
			{
				struct json_object *zone = json_object_array_get_idx(v, k);

				if (zone != NULL && json_object_is_type(zone, json_type_object))
					walk_records(zone);
			}
		}
		if (json_object_object_get_ex(json, "continuationMarker", &v) &&
			json_object_is_type(v, json_type_string))
			sink += (uintptr_t) json_object_get_string_len(v);
		if (json_object_object_get_ex(json, "syncToken", &v) &&
			json_object_is_type(v, json_type_string))
			sink += (uintptr_t) json_object_get_string_len(v);
	}
	json_object_put(json);
	ck_buf_free(&body);
	return 0;
}
