/*-------------------------------------------------------------------------
 *
 * ck_record.c
 *		  The CloudKit record and field-value model.
 *
 * Records are parsed in place: CkRecord points into the json_object it came
 * from, so a page of results costs one parse and no copies.
 *
 * The decoders are strict on purpose.  json-c converts silently (a double
 * read as int64 is truncated, a string is parsed with atoll, an out-of-range
 * integer saturates), and a silent conversion here would become a wrong value
 * in a table.  So each decoder checks the JSON type itself and accepts only
 * what CloudKit sends for that wire type, including numbersAsStrings.
 *
 * src/ck/ck_record.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "ck/ck_record.h"
#include "ck/ck_util.h"

/* ----------------------------------------------------------------
 *		Records
 * ----------------------------------------------------------------
 */

/*
 * Fetch an optional string member.  Absent or JSON null gives NULL; any other
 * non-string is an error.
 */
static bool
ck_opt_string(struct json_object *obj, const char *key, const char **out,
			  const char *what, char *err, size_t errlen)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return true;
	if (!json_object_is_type(v, json_type_string))
	{
		snprintf(err, errlen, "%s \"%s\" is not a string", what, key);
		return false;
	}

	/*
	 * A NUL ("\u0000") would cut the C string short: "r\u00001" would
	 * become record "r", and an UPDATE could then hit another record.
	 */
	if (ck_value_has_nul(v))
	{
		snprintf(err, errlen, "%s \"%s\" contains a NUL character (\\u0000)", what, key);
		return false;
	}
	*out = json_object_get_string(v);
	return true;
}

const char *
ck_member_string(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
		!json_object_object_get_ex(obj, key, &v) ||
		!json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* ck_opt_string, noting in rec a failure caused by a NUL character */
static bool
ck_rec_string(CkRecord *rec, struct json_object *obj, const char *key,
			  const char **out, const char *what, char *err, size_t errlen)
{
	struct json_object *v;

	if (ck_opt_string(obj, key, out, what, err, errlen))
		return true;
	if (json_object_object_get_ex(obj, key, &v) && ck_value_has_nul(v))
		rec->nul_in_text = true;
	return false;
}

/* created / modified: {"timestamp": ms, "userRecordName": "...", ...} */
static bool
ck_parse_stamp(CkRecord *rec, struct json_object *obj, const char *key,
			   bool *has, int64_t *ms, const char **user, char *err, size_t errlen)
{
	struct json_object *v;
	struct json_object *ts;

	*has = false;
	*ms = 0;
	*user = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return true;
	if (!json_object_is_type(v, json_type_object))
	{
		snprintf(err, errlen, "record member \"%s\" is not an object", key);
		return false;
	}
	if (json_object_object_get_ex(v, "timestamp", &ts) && ts != NULL)
	{
		if (!ck_value_timestamp_ms(ts, ms))
		{
			snprintf(err, errlen, "record member \"%s.timestamp\" is not an integer timestamp", key);
			return false;
		}
		*has = true;
	}
	return ck_rec_string(rec, v, "userRecordName", user, "record member", err, errlen);
}

bool
ck_record_parse(struct json_object *obj, CkRecord *rec, char *err, size_t errlen)
{
	struct json_object *v;

	memset(rec, 0, sizeof(*rec));
	rec->retry_after = -1;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
	{
		snprintf(err, errlen, "record entry is not a JSON object");
		return false;
	}

	if (!ck_rec_string(rec, obj, "recordName", &rec->record_name, "record member", err, errlen))
		return false;

	/* zoneID appears on records and on error dicts alike */
	if (json_object_object_get_ex(obj, "zoneID", &v) && v != NULL)
	{
		if (!json_object_is_type(v, json_type_object))
		{
			snprintf(err, errlen, "record member \"zoneID\" is not an object");
			return false;
		}
		if (!ck_rec_string(rec, v, "zoneName", &rec->zone_name, "zoneID member", err, errlen) ||
			!ck_rec_string(rec, v, "ownerRecordName", &rec->zone_owner, "zoneID member", err, errlen))
			return false;
	}

	/* A per-record error: {recordName, reason, serverErrorCode, retryAfter?, uuid} */
	if (json_object_object_get_ex(obj, "serverErrorCode", &v) && v != NULL)
	{
		if (!json_object_is_type(v, json_type_string))
		{
			snprintf(err, errlen, "record error member \"serverErrorCode\" is not a string");
			return false;
		}
		rec->is_error = true;
		rec->server_error_code = json_object_get_string(v);
		/* a message, not a name: cut at a NUL it only reads shorter */
		if (json_object_object_get_ex(obj, "reason", &v) && v != NULL)
		{
			if (!json_object_is_type(v, json_type_string))
			{
				snprintf(err, errlen, "record error member \"reason\" is not a string");
				return false;
			}
			rec->reason = json_object_get_string(v);
		}
		if (json_object_object_get_ex(obj, "retryAfter", &v) && v != NULL)
		{
			double		ra;

			if (!ck_value_double(v, &ra) || ra < 0)
			{
				snprintf(err, errlen, "record error member \"retryAfter\" is not a non-negative number");
				return false;
			}
			rec->retry_after = ra;
		}
		return true;
	}

	if (rec->record_name == NULL)
	{
		snprintf(err, errlen, "record has no \"recordName\"");
		return false;
	}

	if (json_object_object_get_ex(obj, "deleted", &v) && v != NULL)
	{
		if (!json_object_is_type(v, json_type_boolean))
		{
			snprintf(err, errlen, "record member \"deleted\" is not a boolean");
			return false;
		}
		rec->deleted = json_object_get_boolean(v);
	}

	/*
	 * Everything else is optional: tombstones carry only recordName and
	 * deleted, and a modify answered with desiredKeys [] has no recordType.
	 */
	if (!ck_rec_string(rec, obj, "recordType", &rec->record_type, "record member", err, errlen) ||
		!ck_rec_string(rec, obj, "recordChangeTag", &rec->change_tag, "record member", err, errlen) ||
		!ck_parse_stamp(rec, obj, "created", &rec->has_created, &rec->created_ms,
						&rec->created_user, err, errlen) ||
		!ck_parse_stamp(rec, obj, "modified", &rec->has_modified, &rec->modified_ms,
						&rec->modified_user, err, errlen))
		return false;

	if (json_object_object_get_ex(obj, "fields", &v) && v != NULL)
	{
		if (!json_object_is_type(v, json_type_object))
		{
			snprintf(err, errlen, "record member \"fields\" is not an object");
			return false;
		}
		rec->fields = v;
	}
	return true;
}

bool
ck_record_field(const CkRecord *rec, const char *field_name,
				struct json_object **value, CkFieldType *type)
{
	struct json_object *fv;
	struct json_object *t;

	*value = NULL;
	type->elem = CK_TYPE_UNKNOWN;
	type->is_list = false;

	if (rec->fields == NULL ||
		!json_object_object_get_ex(rec->fields, field_name, &fv) || fv == NULL)
		return false;

	if (!json_object_is_type(fv, json_type_object))
	{
		/*
		 * Not a field-value dict.  Hand the raw JSON to the caller rather
		 * than report NULL: its decoder will reject it unless it happens to
		 * be the right shape.
		 */
		*value = fv;
		return true;
	}
	json_object_object_get_ex(fv, "value", value);
	if (json_object_object_get_ex(fv, "type", &t) &&
		json_object_is_type(t, json_type_string))
	{
		if (!ck_type_parse(json_object_get_string(t), type))
		{
			type->elem = CK_TYPE_UNKNOWN;
			type->is_list = false;
		}
	}
	return true;
}

/* ----------------------------------------------------------------
 *		Decoders
 * ----------------------------------------------------------------
 */

bool
ck_value_has_nul(struct json_object *v)
{
	switch (json_object_get_type(v))
	{
		case json_type_string:
			return strlen(json_object_get_string(v)) !=
				(size_t) json_object_get_string_len(v);
		case json_type_object:
			{
				json_object_object_foreach(v, key, member)
				{
					(void) key;
					if (member != NULL && ck_value_has_nul(member))
						return true;
				}
				return false;
			}
		case json_type_array:
			{
				size_t		n = json_object_array_length(v);
				size_t		i;

				for (i = 0; i < n; i++)
				{
					struct json_object *e = json_object_array_get_idx(v, i);

					if (e != NULL && ck_value_has_nul(e))
						return true;
				}
				return false;
			}
		default:
			return false;
	}
}

bool
ck_value_string(struct json_object *v, const char **out)
{
	if (v == NULL || !json_object_is_type(v, json_type_string))
		return false;
	*out = json_object_get_string(v);
	return true;
}

/*
 * An int64 from a JSON integer.  json-c keeps integers above INT64_MAX as
 * uint64 and json_object_get_int64 then returns INT64_MAX: catch that.
 * (Negative overflow saturates inside the parser; ck_http rejects such
 * bodies before they get here.)
 */
static bool
ck_json_int64(struct json_object *v, int64_t *out)
{
	int64_t		i = json_object_get_int64(v);

	if (i == INT64_MAX && json_object_get_uint64(v) != (uint64_t) INT64_MAX)
		return false;
	*out = i;
	return true;
}

/* A decimal integer string as numbersAsStrings sends it: [-]digits. */
static bool
ck_parse_int64_text(const char *s, int64_t *out)
{
	char	   *end;
	long long	v;

	if (s == NULL || *s == '\0')
		return false;
	if (!(isdigit((unsigned char) s[0]) || (s[0] == '-' && isdigit((unsigned char) s[1]))))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = (int64_t) v;
	return true;
}

bool
ck_value_int64(struct json_object *v, int64_t *out)
{
	if (v == NULL)
		return false;
	switch (json_object_get_type(v))
	{
		case json_type_int:
			return ck_json_int64(v, out);
		case json_type_string:
			return ck_parse_int64_text(json_object_get_string(v), out);
		default:
			/* doubles (1.5, and also 2.0), booleans, objects: not INT64 */
			return false;
	}
}

bool
ck_value_double(struct json_object *v, double *out)
{
	const char *s;
	char	   *end;
	double		d;

	if (v == NULL)
		return false;
	switch (json_object_get_type(v))
	{
		case json_type_double:
			d = json_object_get_double(v);
			/* 1e400 parses to infinity: out of range, not a value */
			if (!isfinite(d))
				return false;
			*out = d;
			return true;
		case json_type_int:
			{
				int64_t		i;

				if (ck_json_int64(v, &i))
					*out = (double) i;
				else
					*out = (double) json_object_get_uint64(v);
				return true;
			}
		case json_type_string:
			s = json_object_get_string(v);

			/*
			 * Plain decimal notation only: no spaces, hex, "inf" or "nan".
			 * "NaN" and "Infinity" (JavaScript's String(x) of non-finite
			 * doubles) are refused too: a CloudKit DOUBLE is a JSON number,
			 * which cannot be either, so no field holds one, and reading
			 * the string as a double would invent a value.
			 */
			if (!(isdigit((unsigned char) s[0]) ||
				  ((s[0] == '-' || s[0] == '.') && s[1] != '\0')))
				return false;
			if (strpbrk(s, "xXnNiI") != NULL)
				return false;
			errno = 0;
			d = strtod(s, &end);
			if (*end != '\0' || end == s)
				return false;
			if (errno == ERANGE && isinf(d))
				return false;
			*out = d;
			return true;
		default:
			return false;
	}
}

bool
ck_value_timestamp_ms(struct json_object *v, int64_t *out)
{
	/* ms since the epoch: an integer, or a string with numbersAsStrings */
	return ck_value_int64(v, out);
}

bool
ck_value_bytes(struct json_object *v, unsigned char **out, size_t *len)
{
	const char *s;
	unsigned char *b;

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return false;
	s = json_object_get_string(v);
	b = ck_base64_decode(s, (size_t) json_object_get_string_len(v), len);
	if (b == NULL)
		return false;
	*out = b;
	return true;
}

bool
ck_value_reference_name(struct json_object *v, const char **out)
{
	struct json_object *rn;

	if (v == NULL)
		return false;
	if (json_object_is_type(v, json_type_string))
	{
		*out = json_object_get_string(v);
		return true;
	}
	if (!json_object_is_type(v, json_type_object) ||
		!json_object_object_get_ex(v, "recordName", &rn) ||
		!json_object_is_type(rn, json_type_string))
		return false;
	*out = json_object_get_string(rn);
	return true;
}

bool
ck_value_location(struct json_object *v, double *latitude, double *longitude)
{
	struct json_object *lat;
	struct json_object *lon;
	double		la;
	double		lo;

	if (v == NULL || !json_object_is_type(v, json_type_object) ||
		!json_object_object_get_ex(v, "latitude", &lat) ||
		!json_object_object_get_ex(v, "longitude", &lon) ||
		!ck_value_double(lat, &la) || !ck_value_double(lon, &lo))
		return false;
	/* NaN fails these comparisons too */
	if (!(la >= -90.0 && la <= 90.0) || !(lo >= -180.0 && lo <= 180.0))
		return false;
	*latitude = la;
	*longitude = lo;
	return true;
}

bool
ck_value_asset_url(struct json_object *v, const char **out)
{
	struct json_object *u;

	if (v == NULL || !json_object_is_type(v, json_type_object) ||
		!json_object_object_get_ex(v, "downloadURL", &u) ||
		!json_object_is_type(u, json_type_string))
		return false;
	*out = json_object_get_string(u);
	return true;
}

/* ----------------------------------------------------------------
 *		Builders
 * ----------------------------------------------------------------
 */

struct json_object *
ck_field_value_new(CkFieldType type, struct json_object *value)
{
	struct json_object *fv = json_object_new_object();

	if (fv == NULL)
	{
		json_object_put(value);
		return NULL;
	}
	json_object_object_add(fv, "value", value);
	if (type.elem != CK_TYPE_UNKNOWN || type.is_list)
		json_object_object_add(fv, "type", json_object_new_string(ck_type_name(type)));
	return fv;
}

struct json_object *
ck_reference_new(const char *record_name, const char *action)
{
	struct json_object *ref = json_object_new_object();

	if (ref == NULL)
		return NULL;
	json_object_object_add(ref, "recordName", json_object_new_string(record_name));
	if (action != NULL)
		json_object_object_add(ref, "action", json_object_new_string(action));
	return ref;
}

struct json_object *
ck_bytes_value_new(const unsigned char *data, size_t len)
{
	char	   *b64 = ck_base64_encode(data, len);
	struct json_object *s;

	if (b64 == NULL)
		return NULL;
	s = json_object_new_string(b64);
	free(b64);
	return s;
}
