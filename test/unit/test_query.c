/*-------------------------------------------------------------------------
 *
 * test_query.c
 *		  Unit tests of ck_query.c: comparators, zone IDs, filters, sorts and
 *		  records/query bodies, compared as serialised JSON.
 *
 * test/unit/test_query.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "ck/ck_query.h"
#include "ck/ck_record.h"
#include "ck/ck_util.h"
#include "unit.h"

static void
check_json(struct json_object *obj, const char *want)
{
	CHECK_STR(unit_json(obj), want);
	json_object_put(obj);
}

static void
test_comparators(void)
{
	/* Apple's 20 plus CloudKit JS's LIST_CONTAINS_ANY */
	static const char *const names[] = {
		"EQUALS", "NOT_EQUALS", "LESS_THAN", "LESS_THAN_OR_EQUALS", "GREATER_THAN",
		"GREATER_THAN_OR_EQUALS", "NEAR", "CONTAINS_ALL_TOKENS", "CONTAINS_ANY_TOKENS",
		"IN", "NOT_IN", "LIST_CONTAINS", "NOT_LIST_CONTAINS", "NOT_LIST_CONTAINS_ANY",
		"LIST_CONTAINS_ALL", "NOT_LIST_CONTAINS_ALL", "BEGINS_WITH", "NOT_BEGINS_WITH",
		"LIST_MEMBER_BEGINS_WITH", "NOT_LIST_MEMBER_BEGINS_WITH", "LIST_CONTAINS_ANY",
	};
	int			i;
	CkComparator c;

	CHECK_INT(CK_CMP_COUNT, 21);
	CHECK_INT(sizeof(names) / sizeof(names[0]), CK_CMP_COUNT);
	for (i = 0; i < CK_CMP_COUNT; i++)
	{
		CHECK_STR(ck_comparator_name((CkComparator) i), names[i]);
		CHECK_MSG(ck_comparator_parse(names[i], &c) && c == (CkComparator) i,
				  "ck_comparator_parse(\"%s\")", names[i]);
	}
	CHECK(ck_comparator_name((CkComparator) CK_CMP_COUNT) == NULL);
	CHECK(ck_comparator_name((CkComparator) -1) == NULL);
	CHECK(!ck_comparator_parse("equals", &c));
	CHECK(!ck_comparator_parse("LIKE", &c));
	CHECK(!ck_comparator_parse("", &c));
	CHECK(!ck_comparator_parse(NULL, &c));
}

static struct json_object *
typed(CkScalarType elem, bool is_list, struct json_object *value)
{
	CkFieldType t;

	t.elem = elem;
	t.is_list = is_list;
	return ck_field_value_new(t, value);
}

static void
test_pieces(void)
{
	struct json_object *list;

	check_json(ck_zone_id_new("_defaultZone", NULL), "{\"zoneName\":\"_defaultZone\"}");
	check_json(ck_zone_id_new("Notes", "_35c0"),
			   "{\"zoneName\":\"Notes\",\"ownerRecordName\":\"_35c0\"}");

	check_json(ck_filter_new("title", false, CK_CMP_EQUALS,
							 typed(CK_TYPE_STRING, false, json_object_new_string("Dune"))),
			   "{\"comparator\":\"EQUALS\",\"fieldName\":\"title\","
			   "\"fieldValue\":{\"value\":\"Dune\",\"type\":\"STRING\"}}");

	/* Apple's system-field example */
	check_json(ck_filter_new("createdUserRecordName", true, CK_CMP_EQUALS,
							 typed(CK_TYPE_REFERENCE, false, ck_reference_new("recordA", NULL))),
			   "{\"comparator\":\"EQUALS\",\"systemFieldName\":\"createdUserRecordName\","
			   "\"fieldValue\":{\"value\":{\"recordName\":\"recordA\"},\"type\":\"REFERENCE\"}}");

	/* IN needs a typed list */
	list = json_object_new_array();
	json_object_array_add(list, json_object_new_string("a"));
	json_object_array_add(list, json_object_new_string("b"));
	check_json(ck_filter_new("tag", false, CK_CMP_IN, typed(CK_TYPE_STRING, true, list)),
			   "{\"comparator\":\"IN\",\"fieldName\":\"tag\","
			   "\"fieldValue\":{\"value\":[\"a\",\"b\"],\"type\":\"STRING_LIST\"}}");

	check_json(ck_filter_new("modifiedTimestamp", true, CK_CMP_GREATER_THAN_OR_EQUALS,
							 typed(CK_TYPE_TIMESTAMP, false,
								   json_object_new_int64(INT64_C(1638605892474)))),
			   "{\"comparator\":\"GREATER_THAN_OR_EQUALS\",\"systemFieldName\":\"modifiedTimestamp\","
			   "\"fieldValue\":{\"value\":1638605892474,\"type\":\"TIMESTAMP\"}}");

	/* an invalid comparator gives NULL and frees the value (valgrind) */
	CHECK(ck_filter_new("x", false, (CkComparator) 99,
						typed(CK_TYPE_STRING, false, json_object_new_string("v"))) == NULL);

	check_json(ck_sort_new("title", false, true), "{\"fieldName\":\"title\",\"ascending\":true}");
	check_json(ck_sort_new("createdTimestamp", true, false),
			   "{\"systemFieldName\":\"createdTimestamp\",\"ascending\":false}");
}

static void
test_request(void)
{
	struct json_object *req;
	struct json_object *filters;
	struct json_object *sorts;
	struct json_object *keys;
	const char *s;
	char		hash[45];

	/* the minimal body is the fact sheet's worked example, byte for byte */
	req = ck_query_request_new("Note", NULL, 0, NULL, NULL, NULL);
	s = unit_json(req);
	CHECK_STR(s, "{\"query\":{\"recordType\":\"Note\"}}");
	ck_sha256_base64(s, strlen(s), hash);
	CHECK_STR(hash, "pHA+lOPYejRxN4Iswc9kV8pFFX5glteEnI4oFVFBk9M=");
	json_object_put(req);

	filters = json_object_new_array();
	json_object_array_add(filters,
						  ck_filter_new("born", false, CK_CMP_LESS_THAN,
										typed(CK_TYPE_TIMESTAMP, false, json_object_new_int64(0))));
	json_object_array_add(filters,
						  ck_filter_new("name", false, CK_CMP_BEGINS_WITH,
										typed(CK_TYPE_STRING, false, json_object_new_string("Jo"))));
	sorts = json_object_new_array();
	json_object_array_add(sorts, ck_sort_new("name", false, true));
	json_object_array_add(sorts, ck_sort_new("modifiedTimestamp", true, false));
	keys = json_object_new_array();
	json_object_array_add(keys, json_object_new_string("name"));
	json_object_array_add(keys, json_object_new_string("born"));

	req = ck_query_request_new("Artist", ck_zone_id_new("_defaultZone", NULL), 200,
							   filters, sorts, keys);
	CHECK_STR(unit_json(req),
			  "{\"zoneID\":{\"zoneName\":\"_defaultZone\"},\"resultsLimit\":200,"
			  "\"query\":{\"recordType\":\"Artist\","
			  "\"filterBy\":[{\"comparator\":\"LESS_THAN\",\"fieldName\":\"born\","
			  "\"fieldValue\":{\"value\":0,\"type\":\"TIMESTAMP\"}},"
			  "{\"comparator\":\"BEGINS_WITH\",\"fieldName\":\"name\","
			  "\"fieldValue\":{\"value\":\"Jo\",\"type\":\"STRING\"}}],"
			  "\"sortBy\":[{\"fieldName\":\"name\",\"ascending\":true},"
			  "{\"systemFieldName\":\"modifiedTimestamp\",\"ascending\":false}]},"
			  "\"desiredKeys\":[\"name\",\"born\"]}");

	/* paging: add, replace, remove the marker */
	ck_query_set_continuation(req, "AQID");
	s = unit_json(req);
	CHECK(strstr(s, ",\"continuationMarker\":\"AQID\"}") != NULL);
	ck_query_set_continuation(req, "BBBB");
	s = unit_json(req);
	CHECK(strstr(s, "\"continuationMarker\":\"BBBB\"") != NULL && strstr(s, "AQID") == NULL);
	ck_query_set_continuation(req, NULL);
	CHECK(strstr(unit_json(req), "continuationMarker") == NULL);
	json_object_put(req);

	/* desiredKeys [] (metadata only) and empty filter list are kept */
	req = ck_query_request_new("T", NULL, 10, json_object_new_array(), NULL,
							   json_object_new_array());
	CHECK_STR(unit_json(req),
			  "{\"resultsLimit\":10,\"query\":{\"recordType\":\"T\",\"filterBy\":[]},\"desiredKeys\":[]}");
	json_object_put(req);
}

void
test_query(void)
{
	test_comparators();
	test_pieces();
	test_request();
}
