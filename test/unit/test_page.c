/*-------------------------------------------------------------------------
 *
 * test_page.c
 *		  Unit tests of ck_page.c: a records page read in place, what the
 *		  reader declines (so that json-c decides), and its value decoders.
 *
 * test/unit/test_page.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "ck/ck_page.h"
#include "unit.h"

static const char *page_body =
"{\"records\":["
" {\"recordName\":\"at-1\",\"recordType\":\"AllTypes\",\"recordChangeTag\":\"t1\","
"  \"created\":{\"timestamp\":1700000000000,\"userRecordName\":\"_u1\",\"deviceID\":\"2\"},"
"  \"modified\":{\"timestamp\":-5,\"userRecordName\":\"_u\\u00e9\"},"
"  \"zoneID\":{\"zoneName\":\"_defaultZone\",\"ownerRecordName\":\"_u1\"},"
"  \"fields\":{"
"   \"s\":{\"value\":\"a \\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/\",\"type\":\"STRING\"},"
"   \"i\":{\"value\":-9223372036854775808,\"type\":\"INT64\"},"
"   \"z\":{\"value\":-0,\"type\":\"DOUBLE\"},"
"   \"d\":{\"value\":1.1000000000000001,\"type\":\"DOUBLE\"},"
"   \"sl\":{\"value\":[\"a\", \"b\" ,null],\"type\":\"STRING_LIST\"},"
"   \"odd\":{\"value\":1,\"type\":\"NO_SUCH_TYPE\"},"
"   \"n\":{\"value\":null,\"type\":\"STRING\"},"
"   \"x\":null,"
"   \"bare\":\"text\","
"   \"s\":{\"value\":\"last\"}"
"  }},"
" {\"recordName\":\"at-2\",\"deleted\":true},"
" {\"recordName\":\"at-3\",\"serverErrorCode\":\"NOT_FOUND\"},"
" {\"recordName\":\"at-4\",\"recordType\":5},"
" {\"recordName\":\"nul\\u0000name\"},"
" {\"recordName\":\"at-6\",\"created\":{\"timestamp\":\"17\"}},"
" {\"recordName\":\"at-7\",\"fields\":{\"f\\u0031\":{\"value\":1}}}"
"], \"continuationMarker\":\"bWFya2Vy\"}";

static void
check_declined_body(const char *body, const char *why)
{
	CkPage		page = {0};

	CHECK_MSG(!ck_page_scan(&page, body, strlen(body), "records", "continuationMarker"),
			  "the reader accepted %s", why);
	ck_page_free(&page);
}

static void
test_page_records(void)
{
	CkPage		page = {0};
	CkRawRecord rr = {0};
	const CkRawField *f;
	char		buf[64];
	size_t		len;
	int64_t		i;
	double		d;

	CHECK(ck_page_scan(&page, page_body, strlen(page_body), "records", "continuationMarker"));
	CHECK_INT(page.nrecords, 7);
	CHECK_STR(page.marker, "bWFya2Vy");

	CHECK(ck_raw_record_read(&rr, &page, 0));
	CHECK(rr.rec.raw == &rr);
	CHECK(rr.rec.fields == NULL);
	CHECK_STR(rr.rec.record_name, "at-1");
	CHECK_STR(rr.rec.record_type, "AllTypes");
	CHECK_STR(rr.rec.change_tag, "t1");
	CHECK_STR(rr.rec.zone_name, "_defaultZone");
	CHECK_STR(rr.rec.created_user, "_u1");
	CHECK_STR(rr.rec.modified_user, "_u\xc3\xa9");
	CHECK(rr.rec.has_created && rr.rec.created_ms == 1700000000000LL);
	CHECK(rr.rec.has_modified && rr.rec.modified_ms == -5);
	CHECK(!rr.rec.deleted && !rr.rec.is_error);

	/* the last of two same-named fields counts, as in json-c */
	f = ck_raw_record_field(&rr, "s", 1);
	CHECK(f != NULL && f->value.p != NULL && !f->type_given);
	CHECK(f && ck_span_string(f->value, buf, &len) && len == 4 && memcmp(buf, "last", 4) == 0);

	f = ck_raw_record_field(&rr, "i", 1);
	CHECK(f && f->type.elem == CK_TYPE_INT64 && !f->type.is_list);
	CHECK(f && ck_span_int64(f->value, &i) && i == INT64_MIN);
	/* json-c reads -0 as the integer 0, never -0.0 */
	f = ck_raw_record_field(&rr, "z", 1);
	CHECK(f && ck_span_double(f->value, &d) && d == 0 && !signbit(d));
	f = ck_raw_record_field(&rr, "d", 1);
	CHECK(f && ck_span_double(f->value, &d) && d == 1.1000000000000001);
	CHECK(f && !ck_span_int64(f->value, &i));
	f = ck_raw_record_field(&rr, "sl", 2);
	CHECK(f && f->type.elem == CK_TYPE_STRING && f->type.is_list);
	CHECK(f && ck_span_list_length(f->value) == 3);
	/* a type name this version does not know: given, but UNKNOWN */
	f = ck_raw_record_field(&rr, "odd", 3);
	CHECK(f && f->type_given && f->type.elem == CK_TYPE_UNKNOWN);
	CHECK_STR(f ? f->type_name : NULL, "NO_SUCH_TYPE");
	/* null values and null fields read as SQL NULL */
	f = ck_raw_record_field(&rr, "n", 1);
	CHECK(f && f->value.p == NULL);
	f = ck_raw_record_field(&rr, "x", 1);
	CHECK(f == NULL || f->value.p == NULL);
	CHECK(ck_raw_record_field(&rr, "missing", 7) == NULL);
	/* an entry that is no dict is its own value, as ck_record_field has it */
	f = ck_raw_record_field(&rr, "bare", 4);
	CHECK(f && ck_span_kind(f->value) == '"' && !f->type_given);

	CHECK(ck_raw_record_read(&rr, &page, 1));
	CHECK_STR(rr.rec.record_name, "at-2");
	CHECK(rr.rec.deleted);
	CHECK(rr.rec.record_type == NULL);

	/* declined, for ck_record_parse to report or read */
	CHECK_MSG(!ck_raw_record_read(&rr, &page, 2), "an error dict was read in place");
	CHECK_MSG(!ck_raw_record_read(&rr, &page, 3), "a non-string recordType was read in place");
	CHECK_MSG(!ck_raw_record_read(&rr, &page, 4), "a NUL in a record name was read in place");
	CHECK_MSG(!ck_raw_record_read(&rr, &page, 5), "a string timestamp was read in place");
	CHECK_MSG(!ck_raw_record_read(&rr, &page, 6), "an escaped field name was read in place");

	ck_raw_record_free(&rr);
	ck_page_free(&page);
}

static void
test_page_declined(void)
{
	CkPage		page = {0};
	const char *empty = "{\"records\":[],\"continuationMarker\":\"\"} ";

	/* an empty marker is no marker */
	CHECK(ck_page_scan(&page, empty, strlen(empty), "records", "continuationMarker"));
	CHECK(page.nrecords == 0 && page.marker == NULL);
	ck_page_free(&page);

	check_declined_body("", "an empty body");
	check_declined_body("[1]", "a list");
	check_declined_body("{\"records\":[1]}", "a record that is no object");
	check_declined_body("{\"records\":{}}", "records that are no list");
	check_declined_body("{\"other\":[]}", "a body without records");
	check_declined_body("{\"records\":[],\"records\":[]}", "two records lists");
	check_declined_body("{\"rec\\u006frds\":[]}", "an escaped key");
	check_declined_body("{\"records\":[]} x", "trailing data");
	check_declined_body("{\"records\":[{\"recordName\":\"a\"}]", "a truncated body");
	check_declined_body("{\"records\":[],\"v\":9223372036854775808}", "an integer above int64");
	check_declined_body("{\"records\":[],\"v\":-9223372036854775809}", "an integer below int64");
	check_declined_body("{\"records\":[],\"v\":\"\\ud800\"}", "a lone surrogate");
	check_declined_body("{\"records\":[],\"v\":\"\\udc00\\ud800\"}", "surrogates out of order");
	check_declined_body("{\"records\":[],\"v\":\"\xed\xa0\x80\"}", "a UTF-8 encoded surrogate");
	check_declined_body("{\"records\":[],\"v\":\"\xc0\xaf\"}", "an overlong UTF-8 form");
	check_declined_body("{\"records\":[],\"v\":\"a\tb\"}", "a raw control character");
	check_declined_body("{\"records\":[],\"v\":01}", "a leading zero");
	check_declined_body("{\"records\":[],\"v\":NaN}", "NaN");
	check_declined_body("{\"records\":[],\"continuationMarker\":\"a\\/b\"}", "an escaped marker");
	check_declined_body("{\"records\":[],\"v\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
						"nesting deeper than 32");
}

static void
check_declined_zone(const char *body, const char *why)
{
	CkPage		page = {0};
	bool		more = false;

	CHECK_MSG(!ck_page_scan_zone(&page, body, strlen(body), &more),
			  "the reader accepted %s", why);
	ck_page_free(&page);
}

/* A changes/zone answer: the zone's records, syncToken and moreComing. */
static void
test_page_zone(void)
{
	CkPage		page = {0};
	bool		more = false;
	const char *body =
		"{\"zones\":[{\"zoneID\":{\"zoneName\":\"Gallery\"},"
		"\"records\":[{\"recordName\":\"a\",\"fields\":{}},{\"recordName\":\"b\",\"deleted\":true}],"
		"\"syncToken\":\"old\",\"moreComing\":false,\"syncToken\":\"t-2\",\"moreComing\":true}],"
		"\"other\":[[1]]}";
	const char *last = "{\"zones\":[{\"records\":[],\"syncToken\":\"t-3\"}]}";

	CHECK(ck_page_scan_zone(&page, body, strlen(body), &more));
	CHECK(page.nrecords == 2 && more);
	CHECK_STR(page.marker, "t-2");
	CHECK(strncmp(page.records[1].p, "{\"recordName\":\"b\"", 17) == 0);
	CHECK(ck_page_scan_zone(&page, last, strlen(last), &more));
	CHECK(page.nrecords == 0 && !more);
	CHECK_STR(page.marker, "t-3");
	ck_page_free(&page);

	check_declined_zone("{\"records\":[],\"syncToken\":\"t\"}", "a page without zones");
	check_declined_zone("{\"zones\":[]}", "no zone");
	check_declined_zone("{\"zones\":[{\"records\":[],\"syncToken\":\"t\"},{\"records\":[],\"syncToken\":\"u\"}]}",
						"two zones");
	check_declined_zone("{\"zones\":[{\"records\":[],\"syncToken\":\"t\"}],\"zones\":[]}", "two zones lists");
	check_declined_zone("{\"zones\":[{\"serverErrorCode\":\"ZONE_NOT_FOUND\",\"records\":[],\"syncToken\":\"t\"}]}",
						"a zone error");
	check_declined_zone("{\"zones\":[{\"records\":[]}]}", "no syncToken");
	check_declined_zone("{\"zones\":[{\"records\":[],\"syncToken\":\"\"}]}", "an empty syncToken");
	check_declined_zone("{\"zones\":[{\"records\":[],\"syncToken\":\"t\",\"syncToken\":7}]}",
						"a last syncToken that is no string");
	check_declined_zone("{\"zones\":[{\"syncToken\":\"t\"}]}", "no records");
	check_declined_zone("{\"zones\":[{\"records\":[],\"syncToken\":\"t\",\"moreComing\":1}]}",
						"moreComing that is no boolean");
	check_declined_zone("{\"zones\":[{\"records\":[],\"syncToken\":\"t\",\"moreComing\":null}]}",
						"moreComing null");
	check_declined_zone("{\"zones\":[{\"records\":[],\"syncToken\":\"t\"}]} x", "trailing data");
	check_declined_zone("{\"zones\":[{\"records\":[],\"syncToken\":\"t\\u0000\"}]}", "an escaped syncToken");
	check_declined_zone("{\"zones\":[{\"records\":[],\"syncToken\":\"t\",\"v\":\"\\udc00\"}]}",
						"a lone surrogate");
}

/* The fallback parse gives the transport's reasons. */
static void
test_page_fallback(void)
{
	char		err[256];
	bool		bad_text;
	struct json_object *obj;
	const char *lone = "{\"records\":[],\"v\":\"\\ud800\"}";

	obj = ck_page_parse_json("{\"records\":[]", 13, 200, &bad_text, err, sizeof(err));
	CHECK(obj == NULL && !bad_text);
	CHECK_STR(err, "CloudKit answered HTTP 200 with a body that is not a JSON object (truncated JSON)");
	obj = ck_page_parse_json(lone, strlen(lone), 200, &bad_text, err, sizeof(err));
	CHECK(obj == NULL && bad_text);
	CHECK_MSG(strstr(err, "lone UTF-16 surrogate (\\ud800 at byte 19)") != NULL, "%s", err);
	obj = ck_page_parse_json("{\"v\":99999999999999999999}", 26, 200, &bad_text, err, sizeof(err));
	CHECK(obj == NULL && strstr(err, "64-bit range at byte 5") != NULL);
	obj = ck_page_parse_json("{\"records\":[],\"records\":[1]}", 28, 200, &bad_text, err, sizeof(err));
	CHECK(obj != NULL);
	json_object_put(obj);
}

static void
test_page_values(void)
{
	CkJsonSpan	v;
	char		buf[64];
	size_t		len;
	double		d;
	int64_t		i;

	v.p = "\"a\\u0000b\"";
	v.len = strlen(v.p);
	CHECK_MSG(!ck_span_string(v, buf, &len), "a NUL was decoded into a string");
	v.p = "1e400";
	v.len = 5;
	CHECK_MSG(!ck_span_double(v, &d), "an infinite double was read");
	v.p = "\"12\"";
	v.len = 4;
	CHECK_MSG(!ck_span_int64(v, &i) && !ck_span_double(v, &d),
			  "numbersAsStrings read in place (json-c's decoders do)");
	v.p = "-2.5e-3,";
	v.len = 7;
	CHECK(ck_span_double(v, &d) && d == -2.5e-3);
}

void
test_page(void)
{
	test_page_records();
	test_page_declined();
	test_page_zone();
	test_page_fallback();
	test_page_values();
}
