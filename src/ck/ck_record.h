/*-------------------------------------------------------------------------
 *
 * ck_record.h
 *		The CloudKit record and field-value model: parse records from
 *		responses, decode typed values, and build field values for requests.
 *
 * Parsed records borrow their strings from the json_object they came from:
 * keep that object alive while the CkRecord is used.  No PostgreSQL headers.
 *
 * src/ck/ck_record.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CK_RECORD_H
#define CK_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ck/ck_types.h"

struct json_object;

/* A record, or a per-record error, from records/query|lookup|modify|changes. */
typedef struct CkRecord
{
	bool		is_error;		/* an error dict: see server_error_code */
	bool		deleted;		/* tombstone or {recordName, deleted:true} */
	const char *record_name;
	const char *record_type;	/* NULL for tombstones */
	const char *change_tag;		/* recordChangeTag, may be NULL */
	bool		has_created;
	int64_t		created_ms;
	const char *created_user;	/* created.userRecordName */
	bool		has_modified;
	int64_t		modified_ms;
	const char *modified_user;	/* modified.userRecordName */
	const char *zone_name;		/* zoneID.zoneName, may be NULL */
	const char *zone_owner;		/* zoneID.ownerRecordName, may be NULL */
	struct json_object *fields; /* "fields" object, may be NULL */
	/* error dicts only */
	const char *server_error_code;
	const char *reason;
	double		retry_after;	/* < 0 when absent */
	/* set when ck_record_parse failed on a NUL character in a name */
	bool		nul_in_text;
	/* read in place from a raw page (ck_page.h): fields is NULL */
	const struct CkRawRecord *raw;
} CkRecord;

/*
 * Parse one entry of a "records" array.  Returns false (message in err) when
 * obj is not a record or error dict.
 */
extern bool ck_record_parse(struct json_object *obj, CkRecord *rec,
							char *err, size_t errlen);

/*
 * Find a field's value dict {"value": ..., "type": ...} in rec->fields.
 * Returns false when absent (a missing field is NULL in SQL).  *value gets the
 * "value" member (may be JSON null) and *type the parsed "type" (CK_TYPE_UNKNOWN
 * when the server sent none or an unknown name).
 */
extern bool ck_record_field(const CkRecord *rec, const char *field_name,
							struct json_object **value, CkFieldType *type);

/*
 * Decoders for one scalar wire value.  Each accepts what CloudKit sends,
 * including numbersAsStrings (INT64 and DOUBLE as JSON strings), and returns
 * false when the JSON does not hold that type.
 */
extern bool ck_value_string(struct json_object *v, const char **out);

/* A string member of a JSON object; NULL when absent or not a string. */
extern const char *ck_member_string(struct json_object *obj, const char *key);
/* Whether a string in v (a string, or one inside an object or list) holds
 * a NUL character, which C strings and PostgreSQL text cannot carry. */
extern bool ck_value_has_nul(struct json_object *v);
extern bool ck_value_int64(struct json_object *v, int64_t *out);
extern bool ck_value_double(struct json_object *v, double *out);
extern bool ck_value_timestamp_ms(struct json_object *v, int64_t *out);
/* base64 -> malloc'd bytes */
extern bool ck_value_bytes(struct json_object *v, unsigned char **out, size_t *len);
/* {recordName,...} -> recordName (a bare string is accepted too) */
extern bool ck_value_reference_name(struct json_object *v, const char **out);
/* {latitude, longitude, ...} */
extern bool ck_value_location(struct json_object *v, double *latitude, double *longitude);
/* asset dict -> downloadURL (may be absent: returns false) */
extern bool ck_value_asset_url(struct json_object *v, const char **out);

/*
 * Builders: a field-value dict {"value": value, "type": "<T>"} (type omitted
 * when type.elem is CK_TYPE_UNKNOWN and not a list).  Takes ownership of
 * value.
 */
extern struct json_object *ck_field_value_new(CkFieldType type, struct json_object *value);

/* {"recordName": name, "action": action} ("NONE", "VALIDATE", "DELETE_SELF"; NULL = omit) */
extern struct json_object *ck_reference_new(const char *record_name, const char *action);

/* base64-encode bytes into a JSON string */
extern struct json_object *ck_bytes_value_new(const unsigned char *data, size_t len);

#endif							/* CK_RECORD_H */
