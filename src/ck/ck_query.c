/*-------------------------------------------------------------------------
 *
 * ck_query.c
 *		  Builders for CloudKit request bodies: zone IDs, filters, sorts and
 *		  the records/query envelope.
 *
 * Keys are added in a fixed order so that the serialised request is stable:
 * EXPLAIN VERBOSE prints it and the regression tests pin it.
 *
 * src/ck/ck_query.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include <json.h>

#include "ck/ck_query.h"

/* Indexed by CkComparator */
static const char *const ck_comparator_names[CK_CMP_COUNT] = {
	[CK_CMP_EQUALS] = "EQUALS",
	[CK_CMP_NOT_EQUALS] = "NOT_EQUALS",
	[CK_CMP_LESS_THAN] = "LESS_THAN",
	[CK_CMP_LESS_THAN_OR_EQUALS] = "LESS_THAN_OR_EQUALS",
	[CK_CMP_GREATER_THAN] = "GREATER_THAN",
	[CK_CMP_GREATER_THAN_OR_EQUALS] = "GREATER_THAN_OR_EQUALS",
	[CK_CMP_NEAR] = "NEAR",
	[CK_CMP_CONTAINS_ALL_TOKENS] = "CONTAINS_ALL_TOKENS",
	[CK_CMP_CONTAINS_ANY_TOKENS] = "CONTAINS_ANY_TOKENS",
	[CK_CMP_IN] = "IN",
	[CK_CMP_NOT_IN] = "NOT_IN",
	[CK_CMP_LIST_CONTAINS] = "LIST_CONTAINS",
	[CK_CMP_NOT_LIST_CONTAINS] = "NOT_LIST_CONTAINS",
	[CK_CMP_NOT_LIST_CONTAINS_ANY] = "NOT_LIST_CONTAINS_ANY",
	[CK_CMP_LIST_CONTAINS_ALL] = "LIST_CONTAINS_ALL",
	[CK_CMP_NOT_LIST_CONTAINS_ALL] = "NOT_LIST_CONTAINS_ALL",
	[CK_CMP_BEGINS_WITH] = "BEGINS_WITH",
	[CK_CMP_NOT_BEGINS_WITH] = "NOT_BEGINS_WITH",
	[CK_CMP_LIST_MEMBER_BEGINS_WITH] = "LIST_MEMBER_BEGINS_WITH",
	[CK_CMP_NOT_LIST_MEMBER_BEGINS_WITH] = "NOT_LIST_MEMBER_BEGINS_WITH",
	[CK_CMP_LIST_CONTAINS_ANY] = "LIST_CONTAINS_ANY",
};

const char *
ck_comparator_name(CkComparator cmp)
{
	if ((int) cmp < 0 || (int) cmp >= CK_CMP_COUNT)
		return NULL;
	return ck_comparator_names[cmp];
}

bool
ck_comparator_parse(const char *name, CkComparator *out)
{
	int			i;

	if (name == NULL)
		return false;
	for (i = 0; i < CK_CMP_COUNT; i++)
	{
		if (strcmp(ck_comparator_names[i], name) == 0)
		{
			*out = (CkComparator) i;
			return true;
		}
	}
	return false;
}

struct json_object *
ck_zone_id_new(const char *zone_name, const char *owner)
{
	struct json_object *z = json_object_new_object();

	if (z == NULL)
		return NULL;
	json_object_object_add(z, "zoneName", json_object_new_string(zone_name));
	if (owner != NULL)
		json_object_object_add(z, "ownerRecordName", json_object_new_string(owner));
	return z;
}

struct json_object *
ck_filter_new(const char *field, bool is_system_field, CkComparator cmp,
			  struct json_object *field_value)
{
	struct json_object *f;
	const char *name = ck_comparator_name(cmp);

	if (name == NULL || (f = json_object_new_object()) == NULL)
	{
		json_object_put(field_value);
		return NULL;
	}
	json_object_object_add(f, "comparator", json_object_new_string(name));
	json_object_object_add(f, is_system_field ? "systemFieldName" : "fieldName",
						   json_object_new_string(field));
	json_object_object_add(f, "fieldValue", field_value);
	return f;
}

struct json_object *
ck_sort_new(const char *field, bool is_system_field, bool ascending)
{
	struct json_object *s = json_object_new_object();

	if (s == NULL)
		return NULL;
	json_object_object_add(s, is_system_field ? "systemFieldName" : "fieldName",
						   json_object_new_string(field));
	json_object_object_add(s, "ascending", json_object_new_boolean(ascending));
	return s;
}

/*
 * NULL zone_id means the default zone, results_limit <= 0 the server's
 * default, NULL filters/sorts no filterBy/sortBy, NULL desired_keys all
 * fields: each is then left out of the request.
 */
struct json_object *
ck_query_request_new(const char *record_type, struct json_object *zone_id,
					 int results_limit, struct json_object *filters,
					 struct json_object *sorts, struct json_object *desired_keys)
{
	struct json_object *req = json_object_new_object();
	struct json_object *query = json_object_new_object();

	if (req == NULL || query == NULL)
	{
		json_object_put(req);
		json_object_put(query);
		json_object_put(zone_id);
		json_object_put(filters);
		json_object_put(sorts);
		json_object_put(desired_keys);
		return NULL;
	}
	if (zone_id != NULL)
		json_object_object_add(req, "zoneID", zone_id);
	if (results_limit > 0)
		json_object_object_add(req, "resultsLimit", json_object_new_int(results_limit));

	json_object_object_add(query, "recordType", json_object_new_string(record_type));
	if (filters != NULL)
		json_object_object_add(query, "filterBy", filters);
	if (sorts != NULL)
		json_object_object_add(query, "sortBy", sorts);
	json_object_object_add(req, "query", query);

	if (desired_keys != NULL)
		json_object_object_add(req, "desiredKeys", desired_keys);
	return req;
}

void
ck_query_set_continuation(struct json_object *request, const char *marker)
{
	if (marker == NULL)
		json_object_object_del(request, "continuationMarker");
	else
		json_object_object_add(request, "continuationMarker",
							   json_object_new_string(marker));
}
