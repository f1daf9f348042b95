/*-------------------------------------------------------------------------
 *
 * test_changes.c
 *		  Unit tests of ck_changes.c: changes/zone bodies with and without a
 *		  syncToken, and answers: pages, the last page, per-zone errors and
 *		  malformed answers.
 *
 * test/unit/test_changes.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include <json.h>

#include "ck/ck_changes.h"
#include "ck/ck_query.h"
#include "unit.h"

static void
test_requests(void)
{
	struct json_object *keys = json_object_new_array();
	struct json_object *planned;
	struct json_object *r;

	json_object_array_add(keys, json_object_new_string("title"));
	planned = ck_changes_request_new(ck_zone_id_new("Notes", "_owner"), "Note", 50, keys);
	CHECK_STR(unit_json(planned),
			  "{\"zones\":[{\"zoneID\":{\"zoneName\":\"Notes\",\"ownerRecordName\":\"_owner\"},"
			  "\"resultsLimit\":50,\"desiredKeys\":[\"title\"],\"desiredRecordTypes\":[\"Note\"]}]}");

	/* the token goes right after the zone ID */
	r = ck_changes_request_with_token(planned, "AQAAAZ9X");
	CHECK_STR(unit_json(r),
			  "{\"zones\":[{\"zoneID\":{\"zoneName\":\"Notes\",\"ownerRecordName\":\"_owner\"},"
			  "\"syncToken\":\"AQAAAZ9X\",\"resultsLimit\":50,\"desiredKeys\":[\"title\"],"
			  "\"desiredRecordTypes\":[\"Note\"]}]}");
	json_object_put(r);

	/* no token: from the zone's beginning */
	r = ck_changes_request_with_token(planned, NULL);
	CHECK_STR(unit_json(r), unit_json(planned));
	json_object_put(r);
	json_object_put(planned);

	/* no desiredKeys: all fields */
	planned = ck_changes_request_new(ck_zone_id_new("Notes", NULL), "Note", 200, NULL);
	CHECK_STR(unit_json(planned),
			  "{\"zones\":[{\"zoneID\":{\"zoneName\":\"Notes\"},\"resultsLimit\":200,"
			  "\"desiredRecordTypes\":[\"Note\"]}]}");
	json_object_put(planned);

	/* not a changes/zone request of one zone */
	planned = json_tokener_parse("{\"zones\":[]}");
	CHECK(ck_changes_request_with_token(planned, "x") == NULL);
	json_object_put(planned);
	CHECK(ck_changes_request_with_token(NULL, "x") == NULL);
}

static bool
parse(const char *text, CkZoneChanges *out, char *err, struct json_object **keep)
{
	*keep = json_tokener_parse(text);
	return ck_changes_parse(*keep, out, err, 256);
}

static void
test_answers(void)
{
	CkZoneChanges z;
	struct json_object *j;
	char		err[256];

	CHECK(parse("{\"zones\":[{\"zoneID\":{\"zoneName\":\"Notes\"},\"records\":[{\"recordName\":\"a\"},"
				"{\"recordName\":\"b\",\"deleted\":true}],\"syncToken\":\"T1\",\"moreComing\":true}]}",
				&z, err, &j));
	CHECK(!z.is_error);
	CHECK_INT(z.nrecords, 2);
	CHECK_STR(z.sync_token, "T1");
	CHECK(z.more_coming);
	json_object_put(j);

	/* the last page, and one without moreComing */
	CHECK(parse("{\"zones\":[{\"records\":[],\"syncToken\":\"T2\",\"moreComing\":false}]}", &z, err, &j));
	CHECK(!z.more_coming && z.nrecords == 0);
	json_object_put(j);
	CHECK(parse("{\"zones\":[{\"records\":[],\"syncToken\":\"T2\"}]}", &z, err, &j));
	CHECK(!z.more_coming);
	json_object_put(j);

	/* a per-zone error inside HTTP 200 */
	CHECK(parse("{\"zones\":[{\"zoneID\":{\"zoneName\":\"Gone\"},\"serverErrorCode\":\"ZONE_NOT_FOUND\","
				"\"reason\":\"Zone does not exist\"}]}", &z, err, &j));
	CHECK(z.is_error);
	CHECK_STR(z.server_error_code, "ZONE_NOT_FOUND");
	CHECK_STR(z.reason, "Zone does not exist");
	json_object_put(j);

	/* not an answer: never an empty page */
	CHECK(!parse("{\"records\":[]}", &z, err, &j));
	CHECK_STR(err, "the answer has no \"zones\" list");
	json_object_put(j);
	CHECK(!parse("{\"zones\":[]}", &z, err, &j));
	json_object_put(j);
	CHECK(!parse("{\"zones\":[{\"syncToken\":\"T\"}]}", &z, err, &j));
	CHECK_STR(err, "the zone's entry has no \"records\" list");
	json_object_put(j);
	CHECK(!parse("{\"zones\":[{\"records\":[]}]}", &z, err, &j));
	CHECK_STR(err, "the zone's entry has no \"syncToken\"");
	json_object_put(j);
	CHECK(!parse("{\"zones\":[{\"records\":[],\"syncToken\":\"T\",\"moreComing\":\"yes\"}]}", &z, err, &j));
	json_object_put(j);
}

void
test_changes(void)
{
	test_requests();
	test_answers();
}
