/*-------------------------------------------------------------------------
 *
 * ck_query.h
 *		Builders for CloudKit request bodies: zone IDs, filters, sorts and the
 *		records/query, records/lookup and records/modify envelopes.
 *
 * All return new json-c objects (refcount 1) that the caller puts into a
 * larger object or frees with json_object_put.  No PostgreSQL headers.
 *
 * src/ck/ck_query.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CK_QUERY_H
#define CK_QUERY_H

#include <stdbool.h>

struct json_object;

/* The comparators of records/query filters (CloudKit's spelling via ck_comparator_name). */
typedef enum CkComparator
{
	CK_CMP_EQUALS,
	CK_CMP_NOT_EQUALS,
	CK_CMP_LESS_THAN,
	CK_CMP_LESS_THAN_OR_EQUALS,
	CK_CMP_GREATER_THAN,
	CK_CMP_GREATER_THAN_OR_EQUALS,
	CK_CMP_NEAR,
	CK_CMP_CONTAINS_ALL_TOKENS,
	CK_CMP_CONTAINS_ANY_TOKENS,
	CK_CMP_IN,
	CK_CMP_NOT_IN,
	CK_CMP_LIST_CONTAINS,
	CK_CMP_NOT_LIST_CONTAINS,
	CK_CMP_NOT_LIST_CONTAINS_ANY,
	CK_CMP_LIST_CONTAINS_ALL,
	CK_CMP_NOT_LIST_CONTAINS_ALL,
	CK_CMP_BEGINS_WITH,
	CK_CMP_NOT_BEGINS_WITH,
	CK_CMP_LIST_MEMBER_BEGINS_WITH,
	CK_CMP_NOT_LIST_MEMBER_BEGINS_WITH,
	CK_CMP_LIST_CONTAINS_ANY	/* CloudKit JS's 21st value */
} CkComparator;

#define CK_CMP_COUNT (CK_CMP_LIST_CONTAINS_ANY + 1)

extern const char *ck_comparator_name(CkComparator cmp);
extern bool ck_comparator_parse(const char *name, CkComparator *out);

/* {"zoneName": zone, "ownerRecordName": owner}; owner may be NULL. */
extern struct json_object *ck_zone_id_new(const char *zone_name, const char *owner);

/*
 * A filter {"comparator", "fieldName"|"systemFieldName", "fieldValue"}.
 * field_value is a field-value dict (ck_field_value_new) and is taken over.
 */
extern struct json_object *ck_filter_new(const char *field, bool is_system_field,
										 CkComparator cmp,
										 struct json_object *field_value);

/* A sort {"fieldName"|"systemFieldName", "ascending"}. */
extern struct json_object *ck_sort_new(const char *field, bool is_system_field,
									   bool ascending);

/*
 * A records/query body:
 * {"zoneID", "resultsLimit", "query": {"recordType", "filterBy", "sortBy"},
 *  "desiredKeys"?}.  filters/sorts are json arrays (taken over, may be NULL);
 * desired_keys is a json array (taken over) or NULL for all fields.
 */
extern struct json_object *ck_query_request_new(const char *record_type,
												struct json_object *zone_id,
												int results_limit,
												struct json_object *filters,
												struct json_object *sorts,
												struct json_object *desired_keys);

/* Set or replace "continuationMarker" on a records/query body. */
extern void ck_query_set_continuation(struct json_object *request, const char *marker);

#endif							/* CK_QUERY_H */
