/*-------------------------------------------------------------------------
 *
 * ck_changes.c
 *		changes/zone requests and answers (fact sheet section 6.2)
 *
 * src/ck/ck_changes.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include <json.h>

#include "ck/ck_changes.h"
#include "ck/ck_record.h"

struct json_object *
ck_changes_request_new(struct json_object *zone_id, const char *record_type,
					   int results_limit, struct json_object *desired_keys)
{
	struct json_object *request = json_object_new_object();
	struct json_object *zones = json_object_new_array();
	struct json_object *zone = json_object_new_object();
	struct json_object *types = json_object_new_array();

	json_object_object_add(zone, "zoneID", zone_id);
	if (results_limit > 0)
		json_object_object_add(zone, "resultsLimit", json_object_new_int(results_limit));
	if (desired_keys != NULL)
		json_object_object_add(zone, "desiredKeys", desired_keys);
	json_object_array_add(types, json_object_new_string(record_type));
	json_object_object_add(zone, "desiredRecordTypes", types);
	json_object_array_add(zones, zone);
	json_object_object_add(request, "zones", zones);
	return request;
}

struct json_object *
ck_changes_request_with_token(struct json_object *planned, const char *sync_token)
{
	static const char *const keys[] = {"zoneID", "syncToken", "resultsLimit",
	"desiredKeys", "desiredRecordTypes", NULL};
	struct json_object *zones;
	struct json_object *zone;
	struct json_object *request;
	struct json_object *copy;
	struct json_object *copies;
	int			i;

	if (planned == NULL || !json_object_is_type(planned, json_type_object) ||
		!json_object_object_get_ex(planned, "zones", &zones) ||
		!json_object_is_type(zones, json_type_array) ||
		json_object_array_length(zones) != 1)
		return NULL;
	zone = json_object_array_get_idx(zones, 0);
	if (!json_object_is_type(zone, json_type_object) ||
		!json_object_object_get_ex(zone, "zoneID", NULL))
		return NULL;

	copy = json_object_new_object();
	for (i = 0; keys[i] != NULL; i++)
	{
		struct json_object *v;

		if (strcmp(keys[i], "syncToken") == 0)
		{
			if (sync_token != NULL)
				json_object_object_add(copy, "syncToken",
									   json_object_new_string(sync_token));
		}
		else if (json_object_object_get_ex(zone, keys[i], &v))
			json_object_object_add(copy, keys[i], json_object_get(v));
	}
	copies = json_object_new_array();
	json_object_array_add(copies, copy);
	request = json_object_new_object();
	json_object_object_add(request, "zones", copies);
	return request;
}

bool
ck_changes_parse(struct json_object *resp, CkZoneChanges *out,
				 char *err, size_t errlen)
{
	struct json_object *zones;
	struct json_object *zone;
	struct json_object *records;
	struct json_object *more;

	memset(out, 0, sizeof(*out));
	if (resp == NULL || !json_object_is_type(resp, json_type_object) ||
		!json_object_object_get_ex(resp, "zones", &zones) ||
		!json_object_is_type(zones, json_type_array))
	{
		snprintf(err, errlen, "the answer has no \"zones\" list");
		return false;
	}
	if (json_object_array_length(zones) != 1)
	{
		snprintf(err, errlen, "the answer lists %d zones for a request of one",
				 (int) json_object_array_length(zones));
		return false;
	}
	zone = json_object_array_get_idx(zones, 0);
	if (!json_object_is_type(zone, json_type_object))
	{
		snprintf(err, errlen, "the zone's entry is not an object");
		return false;
	}
	out->zone = zone;

	out->server_error_code = ck_member_string(zone, "serverErrorCode");
	if (out->server_error_code != NULL)
	{
		out->is_error = true;
		out->reason = ck_member_string(zone, "reason");
		return true;
	}

	if (!json_object_object_get_ex(zone, "records", &records) ||
		!json_object_is_type(records, json_type_array))
	{
		snprintf(err, errlen, "the zone's entry has no \"records\" list");
		return false;
	}
	out->nrecords = (int) json_object_array_length(records);
	out->sync_token = ck_member_string(zone, "syncToken");
	if (out->sync_token == NULL || out->sync_token[0] == '\0')
	{
		snprintf(err, errlen, "the zone's entry has no \"syncToken\"");
		return false;
	}
	if (json_object_object_get_ex(zone, "moreComing", &more))
	{
		if (!json_object_is_type(more, json_type_boolean))
		{
			snprintf(err, errlen, "\"moreComing\" is not a boolean");
			return false;
		}
		out->more_coming = json_object_get_boolean(more);
	}
	return true;
}
