/*-------------------------------------------------------------------------
 *
 * t_modify.c
 *		records/modify: the seven operation types, conflicts, limits, one
 *		operation per record, atomic batches in custom zones, per-item
 *		results in the default zone, delete answers.
 *
 * test/ckemu/tests/t_modify.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "ck/ck_util.h"
#include "ckt.h"

/* An operation as JSON text. */
static const char *
op(const char *optype, const char *name, const char *type, const char *tag, const char *fields)
{
	return tfmt("{\"operationType\":\"%s\",\"record\":{\"recordName\":\"%s\"%s%s%s%s%s%s%s}}",
				optype, name,
				type ? ",\"recordType\":\"" : "", type ? type : "", type ? "\"" : "",
				tag ? ",\"recordChangeTag\":\"" : "", tag ? tag : "", tag ? "\"" : "",
				fields ? tfmt(",\"fields\":%s", fields) : "");
}

static Resp *
ops1(Emu *emu, const char *o)
{
	return ck_postf(emu, "public", "records/modify", "{\"operations\":[%s]}", o);
}

static Resp *
lookup(Emu *emu, const char *name)
{
	return ck_postf(emu, "public", "records/lookup", "{\"records\":[{\"recordName\":\"%s\"}]}", name);
}

static const char *
create_tag(Emu *emu, const char *name, const char *fields)
{
	Resp	   *r = ops1(emu, op("create", name, "AllTypes", NULL, fields));

	CHECKM(r->status == 200 && jps(r->json, "records[0].serverErrorCode") == NULL,
		   "setup: create %s failed", name);
	return jps(r->json, "records[0].recordChangeTag");
}

static bool
item_ok(Resp *r, int i)
{
	return r->status == 200 && jpf(r->json, "records[%d].recordName", i) != NULL &&
		jpf(r->json, "records[%d].serverErrorCode", i) == NULL;
}


/*
 * Create name with fields (JSON text) and return the stored value of field
 * as compact JSON text, or the item's "CODE: reason" when it was refused.
 */
static const char *
stored_value(Emu *emu, const char *name, const char *fields, const char *field)
{
	Resp	   *r = ops1(emu, op("create", name, "AllTypes", NULL, fields));
	json_object *v;

	if (r->status != 200)
		return tfmt("HTTP %ld %s: %s", r->status, jps(r->json, "serverErrorCode"),
					jps(r->json, "reason"));
	if (jps(r->json, "records[0].serverErrorCode") != NULL)
		return tfmt("%s: %s", jps(r->json, "records[0].serverErrorCode"),
					jps(r->json, "records[0].reason"));
	v = jpf(r->json, "records[0].fields.%s.value", field);
	return v ? jstr(v) : "(absent)";
}

#define CHECK_STORED(emu, name, fields, field, want) \
	CHECK_STR(stored_value((emu), (name), (fields), (field)), (want))

void
group_modify(void)
{
	Emu		   *emu = emu_main();

	if (emu == NULL)
		return;
	emu_reset(emu);

	TEST("modify/create, and create of an existing record")
	{
		Resp	   *r;

		r = ops1(emu, op("create", "mod-c1", "AllTypes", NULL, "{\"s\":{\"value\":\"one\"}}"));
		CHECK(item_ok(r, 0));
		CHECK_STR(jps(r->json, "records[0].fields.s.value"), "one");
		CHECK_STR(jps(r->json, "records[0].recordType"), "AllTypes");

		r = ops1(emu, op("create", "mod-c1", "AllTypes", NULL, "{\"s\":{\"value\":\"two\"}}"));
		CHECK_STATUS(r, 200);
		CHECK_ITEM_CODE(r, 0, "EXISTS");
		CHECK_STR(jps(r->json, "records[0].recordName"), "mod-c1");
		CHECK_STR(jps(lookup(emu, "mod-c1")->json, "records[0].fields.s.value"), "one");

		/* on a seeded record too */
		r = ops1(emu, op("create", "artist-0001", "Artist", NULL, "{\"name\":{\"value\":\"dup\"}}"));
		CHECK_ITEM_CODE(r, 0, "EXISTS");
	}

	TEST("modify/create without recordName gets a server-assigned name")
	{
		Resp	   *r = ck_post(emu, "public", "records/modify",
								"{\"operations\":[{\"operationType\":\"create\",\"record\":"
								"{\"recordType\":\"AllTypes\",\"fields\":{\"i\":{\"value\":7}}}}]}");
		const char *name = jps(r->json, "records[0].recordName");

		CHECK(item_ok(r, 0));
		CHECKM(name && strlen(name) >= 8, "no server-assigned recordName");
		if (name)
			CHECK_INT(jpi(lookup(emu, name)->json, "records[0].fields.i.value", 0), 7);
	}

	TEST("modify/update merges the given fields; stale tag is CONFLICT")
	{
		const char *tag = create_tag(emu, "mod-u1", "{\"s\":{\"value\":\"keep\"},\"i\":{\"value\":1}}");
		Resp	   *r;

		r = ops1(emu, op("update", "mod-u1", "AllTypes", tag, "{\"i\":{\"value\":2}}"));
		CHECK(item_ok(r, 0));
		r = lookup(emu, "mod-u1");
		CHECK_STR(jps(r->json, "records[0].fields.s.value"), "keep");
		CHECK_INT(jpi(r->json, "records[0].fields.i.value", 0), 2);

		/* the old tag is stale now */
		r = ops1(emu, op("update", "mod-u1", "AllTypes", tag, "{\"i\":{\"value\":3}}"));
		CHECK_STATUS(r, 200);
		CHECK_ITEM_CODE(r, 0, "CONFLICT");
		CHECKM(jps(r->json, "records[0].reason") != NULL, "CONFLICT without reason");
		CHECK_INT(jpi(lookup(emu, "mod-u1")->json, "records[0].fields.i.value", 0), 2);

		r = ops1(emu, op("update", "mod-missing", "AllTypes", "abc", "{\"i\":{\"value\":3}}"));
		CHECK_ITEM_CODE(r, 0, "NOT_FOUND");

		/* update needs a tag */
		r = ops1(emu, op("update", "mod-u1", "AllTypes", NULL, "{\"i\":{\"value\":4}}"));
		CHECKM(resp_code(r, 0) != NULL, "update without recordChangeTag succeeded");
		CHECK_INT(jpi(lookup(emu, "mod-u1")->json, "records[0].fields.i.value", 0), 2);
	}

	TEST("modify/forceUpdate merges ignoring the tag, and creates")
	{
		Resp	   *r;

		create_tag(emu, "mod-fu1", "{\"s\":{\"value\":\"keep\"},\"i\":{\"value\":1}}");
		r = ops1(emu, op("forceUpdate", "mod-fu1", "AllTypes", "stale-tag", "{\"i\":{\"value\":5}}"));
		CHECK(item_ok(r, 0));
		r = lookup(emu, "mod-fu1");
		CHECK_STR(jps(r->json, "records[0].fields.s.value"), "keep");
		CHECK_INT(jpi(r->json, "records[0].fields.i.value", 0), 5);

		r = ops1(emu, op("forceUpdate", "mod-fu2", "AllTypes", NULL, "{\"i\":{\"value\":6}}"));
		CHECK(item_ok(r, 0));
		CHECK_INT(jpi(lookup(emu, "mod-fu2")->json, "records[0].fields.i.value", 0), 6);
	}

	TEST("modify/replace drops unspecified fields; stale tag is CONFLICT")
	{
		const char *tag = create_tag(emu, "mod-r1", "{\"s\":{\"value\":\"gone\"},\"i\":{\"value\":1}}");
		Resp	   *r;

		r = ops1(emu, op("replace", "mod-r1", "AllTypes", tag, "{\"i\":{\"value\":2}}"));
		CHECK(item_ok(r, 0));
		r = lookup(emu, "mod-r1");
		CHECKM(jp(r->json, "records[0].fields.s") == NULL, "replace kept an unspecified field");
		CHECK_INT(jpi(r->json, "records[0].fields.i.value", 0), 2);

		r = ops1(emu, op("replace", "mod-r1", "AllTypes", tag, "{\"i\":{\"value\":3}}"));
		CHECK_ITEM_CODE(r, 0, "CONFLICT");
		r = ops1(emu, op("replace", "mod-r-missing", "AllTypes", "abc", "{\"i\":{\"value\":3}}"));
		CHECKM(resp_code(r, 0) != NULL, "replace of a missing record succeeded");
		CHECK_ITEM_CODE(lookup(emu, "mod-r-missing"), 0, "NOT_FOUND");
	}

	TEST("modify/forceReplace replaces ignoring the tag, and creates")
	{
		Resp	   *r;

		create_tag(emu, "mod-fr1", "{\"s\":{\"value\":\"gone\"},\"i\":{\"value\":1}}");
		r = ops1(emu, op("forceReplace", "mod-fr1", "AllTypes", NULL, "{\"i\":{\"value\":9}}"));
		CHECK(item_ok(r, 0));
		r = lookup(emu, "mod-fr1");
		CHECKM(jp(r->json, "records[0].fields.s") == NULL, "forceReplace kept an unspecified field");
		CHECK_INT(jpi(r->json, "records[0].fields.i.value", 0), 9);

		r = ops1(emu, op("forceReplace", "mod-fr2", "AllTypes", NULL, "{\"i\":{\"value\":10}}"));
		CHECK(item_ok(r, 0));
		CHECK_INT(jpi(lookup(emu, "mod-fr2")->json, "records[0].fields.i.value", 0), 10);
	}

	TEST("modify/delete answers {recordName, deleted:true}; stale tag is CONFLICT")
	{
		const char *tag = create_tag(emu, "mod-d1", "{\"i\":{\"value\":1}}");
		const char *tag2;
		Resp	   *r;

		/* make the first tag stale */
		r = ops1(emu, op("update", "mod-d1", "AllTypes", tag, "{\"i\":{\"value\":2}}"));
		tag2 = jps(r->json, "records[0].recordChangeTag");
		r = ops1(emu, op("delete", "mod-d1", NULL, tag, NULL));
		CHECK_ITEM_CODE(r, 0, "CONFLICT");
		CHECK_INT(jpi(lookup(emu, "mod-d1")->json, "records[0].fields.i.value", 0), 2);

		r = ops1(emu, op("delete", "mod-d1", NULL, tag2, NULL));
		CHECK_STATUS(r, 200);
		CHECK_STR(jps(r->json, "records[0].recordName"), "mod-d1");
		CHECK(jpb(r->json, "records[0].deleted", false));
		CHECKM(jp(r->json, "records[0].fields") == NULL && jp(r->json, "records[0].serverErrorCode") == NULL,
			   "delete answer must be {recordName, deleted:true}, got %s", jstr(jp(r->json, "records[0]")));
		CHECK_ITEM_CODE(lookup(emu, "mod-d1"), 0, "NOT_FOUND");

		r = ops1(emu, op("delete", "mod-d1", NULL, tag2, NULL));
		CHECK_ITEM_CODE(r, 0, "NOT_FOUND");
	}

	TEST("modify/forceDelete ignores the tag")
	{
		Resp	   *r;

		create_tag(emu, "mod-fd1", "{\"i\":{\"value\":1}}");
		r = ops1(emu, op("forceDelete", "mod-fd1", NULL, "stale", NULL));
		CHECK_STATUS(r, 200);
		CHECK_STR(jps(r->json, "records[0].recordName"), "mod-fd1");
		CHECK(jpb(r->json, "records[0].deleted", false));
		CHECK_ITEM_CODE(lookup(emu, "mod-fd1"), 0, "NOT_FOUND");
		r = ops1(emu, op("forceDelete", "mod-fd1", NULL, NULL, NULL));
		CHECK_ITEM_CODE(r, 0, "NOT_FOUND");

		/* a deleted record can be created again */
		r = ops1(emu, op("create", "mod-fd1", "AllTypes", NULL, "{\"i\":{\"value\":2}}"));
		CHECK(item_ok(r, 0));
	}

	TEST("modify/unknown operationType or missing recordType")
	{
		Resp	   *r;

		r = ops1(emu, op("upsert", "mod-x1", "AllTypes", NULL, "{\"i\":{\"value\":1}}"));
		CHECK_STR(resp_code(r, 0), "BAD_REQUEST");
		r = ops1(emu, op("create", "mod-x2", NULL, NULL, "{\"i\":{\"value\":1}}"));
		CHECK_STR(resp_code(r, 0), "BAD_REQUEST");
		r = ck_post(emu, "public", "records/modify", "{\"operations\":[{\"operationType\":\"create\"}]}");
		CHECK_STR(resp_code(r, 0), "BAD_REQUEST");
		CHECK_ITEM_CODE(lookup(emu, "mod-x1"), 0, "NOT_FOUND");
		CHECK_ITEM_CODE(lookup(emu, "mod-x2"), 0, "NOT_FOUND");
	}

	TEST("modify/more than 200 operations is BAD_REQUEST; 200 is fine")
	{
		CkBuf		b;
		Resp	   *r;
		int			i;

		ck_buf_init(&b);
		ck_buf_appendf(&b, "{\"operations\":[");
		for (i = 0; i < 201; i++)
			ck_buf_appendf(&b, "%s%s", i ? "," : "", op("create", tfmt("lim-%03d", i), "AllTypes", NULL,
														  tfmt("{\"i\":{\"value\":%d}}", i)));
		ck_buf_appendf(&b, "]}");
		r = ck_post(emu, "public", "records/modify", b.data);
		CHECK_CODE(r, "BAD_REQUEST");
		CHECK_ITEM_CODE(lookup(emu, "lim-000"), 0, "NOT_FOUND");

		ck_buf_reset(&b);
		ck_buf_appendf(&b, "{\"operations\":[");
		for (i = 0; i < 200; i++)
			ck_buf_appendf(&b, "%s%s", i ? "," : "", op("create", tfmt("lim-%03d", i), "AllTypes", NULL,
														  tfmt("{\"i\":{\"value\":%d}}", i)));
		ck_buf_appendf(&b, "]}");
		r = ck_post(emu, "public", "records/modify", b.data);
		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "records"), 200);
		CHECK(item_ok(r, 0) && item_ok(r, 199));
		CHECK_STR(jps(r->json, "records[137].recordName"), "lim-137");
		ck_buf_free(&b);
	}

	TEST("modify/two operations on one record is BAD_REQUEST")
	{
		Resp	   *r = ck_postf(emu, "public", "records/modify", "{\"operations\":[%s,%s]}",
								 op("create", "twice-1", "AllTypes", NULL, "{\"i\":{\"value\":1}}"),
								 op("forceUpdate", "twice-1", "AllTypes", NULL, "{\"i\":{\"value\":2}}"));

		CHECK_CODE(r, "BAD_REQUEST");
		CHECK_ITEM_CODE(lookup(emu, "twice-1"), 0, "NOT_FOUND");
	}

	TEST("modify/default zone is per-item even with atomic:true")
	{
		Resp	   *r = ck_postf(emu, "public", "records/modify", "{\"atomic\":true,\"operations\":[%s,%s,%s]}",
								 op("create", "pi-1", "AllTypes", NULL, "{\"i\":{\"value\":1}}"),
								 op("create", "artist-0002", "Artist", NULL, "{\"name\":{\"value\":\"x\"}}"),
								 op("create", "pi-2", "AllTypes", NULL, "{\"i\":{\"value\":2}}"));

		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "records"), 3);
		CHECK(item_ok(r, 0));
		CHECK_ITEM_CODE(r, 1, "EXISTS");
		CHECK(item_ok(r, 2));
		CHECK_INT(jpi(lookup(emu, "pi-1")->json, "records[0].fields.i.value", 0), 1);
		CHECK_INT(jpi(lookup(emu, "pi-2")->json, "records[0].fields.i.value", 0), 2);
	}

	TEST("modify/atomic batch in a custom zone: HTTP 400, ATOMIC_ERROR, nothing applied")
	{
		Cred		a = cred_web(CKT_TOKEN_A);
		Resp	   *r;
		const char *tag;
		const char *zone = "\"zoneID\":{\"zoneName\":\"AtomicZ\"}";

		r = ck_req(emu, &a, NULL, "development", "private", "zones/modify",
				   "{\"operations\":[{\"operationType\":\"create\",\"zone\":{\"zoneID\":{\"zoneName\":\"AtomicZ\"}}}]}");
		CHECK_STATUS(r, 200);
		r = ck_req(emu, &a, NULL, "development", "private", "records/modify",
				   tfmt("{%s,\"operations\":[%s]}", zone,
						op("create", "at-existing", "Favorite", NULL, "{\"stars\":{\"value\":1}}")));
		CHECK(item_ok(r, 0));
		tag = jps(r->json, "records[0].recordChangeTag");

		r = ck_req(emu, &a, NULL, "development", "private", "records/modify",
				   tfmt("{%s,\"operations\":[%s,%s,%s]}", zone,
						op("create", "at-new-1", "Favorite", NULL, "{\"stars\":{\"value\":2}}"),
						op("update", "at-existing", "Favorite", "stale", "{\"stars\":{\"value\":3}}"),
						op("create", "at-new-2", "Favorite", NULL, "{\"stars\":{\"value\":4}}")));
		CHECK_STATUS(r, 400);
		CHECK_INT(jlen(r->json, "records"), 3);
		CHECK_ITEM_CODE(r, 0, "ATOMIC_ERROR");
		CHECK_ITEM_CODE(r, 1, "CONFLICT");
		CHECK_ITEM_CODE(r, 2, "ATOMIC_ERROR");

		r = ck_req(emu, &a, NULL, "development", "private", "records/lookup",
				   tfmt("{%s,\"records\":[{\"recordName\":\"at-new-1\"},{\"recordName\":\"at-new-2\"},"
						"{\"recordName\":\"at-existing\"}]}", zone));
		CHECK_ITEM_CODE(r, 0, "NOT_FOUND");
		CHECK_ITEM_CODE(r, 1, "NOT_FOUND");
		CHECK_STR(jps(r->json, "records[2].recordChangeTag"), tag);
		CHECK_INT(jpi(r->json, "records[2].fields.stars.value", 0), 1);

		/* a failure late in the batch rolls back earlier updates and deletes too */
		r = ck_req(emu, &a, NULL, "development", "private", "records/modify",
				   tfmt("{%s,\"operations\":[%s,%s]}", zone,
						op("forceUpdate", "at-existing", "Favorite", NULL, "{\"stars\":{\"value\":5}}"),
						op("create", "at-existing-2", "Favorite", "x", "{\"stars\":{\"value\":\"bad\"}}")));
		CHECK_STATUS(r, 400);
		CHECK_ITEM_CODE(r, 0, "ATOMIC_ERROR");
		r = ck_req(emu, &a, NULL, "development", "private", "records/lookup",
				   tfmt("{%s,\"records\":[{\"recordName\":\"at-existing\"}]}", zone));
		CHECK_STR(jps(r->json, "records[0].recordChangeTag"), tag);
		CHECK_INT(jpi(r->json, "records[0].fields.stars.value", 0), 1);

		/* atomic:false in a custom zone is per item */
		r = ck_req(emu, &a, NULL, "development", "private", "records/modify",
				   tfmt("{%s,\"atomic\":false,\"operations\":[%s,%s,%s]}", zone,
						op("create", "at-new-1", "Favorite", NULL, "{\"stars\":{\"value\":2}}"),
						op("update", "at-existing", "Favorite", "stale", "{\"stars\":{\"value\":3}}"),
						op("create", "at-new-2", "Favorite", NULL, "{\"stars\":{\"value\":4}}")));
		CHECK_STATUS(r, 200);
		CHECK(item_ok(r, 0));
		CHECK_ITEM_CODE(r, 1, "CONFLICT");
		CHECK(item_ok(r, 2));
	}

	/*
	 * Bodies are read by ckemu's own reader (fastjson.c) and values from
	 * their text (value.c); whatever it is not sure of goes to json-c.
	 * Each answer here is json-c's, so a reader that differs fails.
	 */
	TEST("modify/values read from text: numbers, strings, escapes, shapes")
	{
		/* INT64: integers, json-c's doubles that are whole, strings, limits */
		CHECK_STORED(emu, "fj-i1", "{\"i\":{\"value\":-0,\"type\":\"INT64\"}}", "i", "0");
		CHECK_STORED(emu, "fj-i2", "{\"i\":{\"value\":1e2,\"type\":\"INT64\"}}", "i", "100");
		CHECK_STORED(emu, "fj-i3", "{\"i\":{\"value\":\"42\",\"type\":\"INT64\"}}", "i", "42");
		CHECK_STORED(emu, "fj-i4", "{\"i\":{\"value\":9223372036854775807,\"type\":\"INT64\"}}", "i",
					 "9223372036854775807");
		CHECK_STORED(emu, "fj-i5", "{\"i\":{\"value\":-123456789012345678,\"type\":\"INT64\"}}", "i",
					 "-123456789012345678");
		CHECK_STORED(emu, "fj-i6", "{\"i\":{\"value\":92233720368547758070,\"type\":\"INT64\"}}", "i",
					 "BAD_REQUEST: BadRequestException: Invalid value, expected type INT64 but actual value was of class java.lang.Long");
		CHECK_STORED(emu, "fj-i7", "{\"i\":{\"value\":1.5,\"type\":\"INT64\"}}", "i",
					 "BAD_REQUEST: BadRequestException: Invalid value, expected type INT64 but actual value was of class java.lang.Double");
		/* DOUBLE: integers become doubles; shortest text that reads back */
		CHECK_STORED(emu, "fj-d1", "{\"d\":{\"value\":5,\"type\":\"DOUBLE\"}}", "d", "5.0");
		CHECK_STORED(emu, "fj-d2", "{\"d\":{\"value\":0.1,\"type\":\"DOUBLE\"}}", "d", "0.1");
		CHECK_STORED(emu, "fj-d3", "{\"d\":{\"value\":-2.5E-3,\"type\":\"DOUBLE\"}}", "d", "-0.0025");
		CHECK_STORED(emu, "fj-d4", "{\"d\":{\"value\":1e400,\"type\":\"DOUBLE\"}}", "d",
					 "BAD_REQUEST: BadRequestException: Invalid value, expected type DOUBLE but actual value was of class java.lang.Double");
		CHECK_STORED(emu, "fj-d5", "{\"d\":{\"value\":5,\"type\":\"INT64\"}}", "d", "5.0");
		/* printf's %.15g (else %.17g), whichever way ckemu writes them */
		{
			static const char *const doubles[][2] = {
				{"1e-5", "1e-05"}, {"0.0001", "0.0001"}, {"1e15", "1e+15"},
				{"999999999999999", "999999999999999.0"},
				{"123456789012345.6", "123456789012345.59"}, {"-0.0", "-0.0"},
				{"0.30000000000000004", "0.30000000000000004"}, {"1234.5678", "1234.5678"},
				{"-89.500000", "-89.5"}, {"12345678901234.5", "12345678901234.5"},
				{"-7.25e2", "-725.0"}, {"0.000123", "0.000123"}
			};
			int			k;

			for (k = 0; k < (int) (sizeof(doubles) / sizeof(doubles[0])); k++)
				CHECK_STORED(emu, tfmt("fj-dd%d", k),
							 tfmt("{\"d\":{\"value\":%s,\"type\":\"DOUBLE\"}}", doubles[k][0]),
							 "d", doubles[k][1]);
		}
		/* STRING: escapes decoded, surrogate pairs, NUL refused */
		CHECK_STORED(emu, "fj-s1", "{\"s\":{\"value\":\"a\\u00e9\\n\\\"\\\\\\/\\t\",\"type\":\"STRING\"}}", "s",
					 "\"a\xc3\xa9\\n\\\"\\\\/\\t\"");
		CHECK_STORED(emu, "fj-s2", "{\"s\":{\"value\":\"\\ud83d\\ude00\",\"type\":\"STRING\"}}", "s",
					 "\"\xf0\x9f\x98\x80\"");
		CHECK_STORED(emu, "fj-s3", "{\"s\":{\"value\":\"a\\u0000b\",\"type\":\"STRING\"}}", "s",
					 "BAD_REQUEST: BadRequestException: Invalid value, strings may not contain NUL characters");
		CHECK_STORED(emu, "fj-s4", "{\"s\":{\"value\":\"\xe2\x82\xac \xf0\x9f\x98\x80\",\"type\":\"STRING\"}}", "s",
					 "\"\xe2\x82\xac \xf0\x9f\x98\x80\"");
		CHECK_STORED(emu, "fj-s5", "{\"s\":{\"value\":5,\"type\":\"STRING\"}}", "s",
					 "BAD_REQUEST: BadRequestException: Invalid value, expected type STRING but actual value was of class java.lang.Long");
		/* BYTES: re-encoded; bad base64 refused */
		CHECK_STORED(emu, "fj-b1", "{\"b\":{\"value\":\"AQID\",\"type\":\"BYTES\"}}", "b", "\"AQID\"");
		CHECK_STORED(emu, "fj-b3", "{\"b\":{\"value\":\"AQ==\",\"type\":\"BYTES\"}}", "b", "\"AQ==\"");
		CHECK_STORED(emu, "fj-b4", "{\"b\":{\"value\":\"AR==\",\"type\":\"BYTES\"}}", "b",
					 "BAD_REQUEST: BadRequestException: Invalid value, BYTES value is not valid base64");
		CHECK_STORED(emu, "fj-b5", "{\"b\":{\"value\":\"AQI\",\"type\":\"BYTES\"}}", "b",
					 "BAD_REQUEST: BadRequestException: Invalid value, BYTES value is not valid base64");
		CHECK_STORED(emu, "fj-b2", "{\"b\":{\"value\":\"!!\",\"type\":\"BYTES\"}}", "b",
					 "BAD_REQUEST: BadRequestException: Invalid value, BYTES value is not valid base64");
		/* REFERENCE: action default and check, zoneID kept */
		CHECK_STORED(emu, "fj-r1", "{\"r\":{\"value\":{\"recordName\":\"x\"},\"type\":\"REFERENCE\"}}", "r",
					 "{\"recordName\":\"x\",\"action\":\"NONE\"}");
		CHECK_STORED(emu, "fj-r2", "{\"r\":{\"value\":{\"action\":null,\"recordName\":\"x\"},\"type\":\"REFERENCE\"}}", "r",
					 "{\"recordName\":\"x\",\"action\":\"NONE\"}");
		CHECK_STORED(emu, "fj-r3", "{\"r\":{\"value\":{\"recordName\":\"x\",\"action\":\"MAYBE\"},\"type\":\"REFERENCE\"}}", "r",
					 "BAD_REQUEST: BadRequestException: Invalid value, unknown reference action 'MAYBE'");
		CHECK_STORED(emu, "fj-r4", "{\"r\":{\"value\":{\"recordName\":\"x\",\"zoneID\":{\"zoneName\":\"_defaultZone\"}},\"type\":\"REFERENCE\"}}", "r",
					 "{\"recordName\":\"x\",\"zoneID\":{\"zoneName\":\"_defaultZone\"},\"action\":\"NONE\"}");
		CHECK_STORED(emu, "fj-r5", "{\"r\":{\"value\":{\"recordName\":\"\"},\"type\":\"REFERENCE\"}}", "r",
					 "BAD_REQUEST: BadRequestException: Invalid value, a REFERENCE needs a recordName string");
		/* LOCATION: keys in CloudKit's order, integers kept, unknown keys dropped, ranges */
		CHECK_STORED(emu, "fj-l1", "{\"l\":{\"value\":{\"longitude\":2.5,\"speed\":3,\"latitude\":10,\"x\":1},\"type\":\"LOCATION\"}}", "l",
					 "{\"latitude\":10,\"longitude\":2.5,\"speed\":3}");
		CHECK_STORED(emu, "fj-l2", "{\"l\":{\"value\":{\"latitude\":91,\"longitude\":0},\"type\":\"LOCATION\"}}", "l",
					 "BAD_REQUEST: BadRequestException: Invalid value, LOCATION latitude out of range");
		/* lists, empty lists, a null element */
		CHECK_STORED(emu, "fj-li1", "{\"il\":{\"value\":[ 1 , 2.0 ,\"3\" ],\"type\":\"INT64_LIST\"}}", "il", "[1,2,3]");
		CHECK_STORED(emu, "fj-li2", "{\"sl\":{\"value\":[],\"type\":\"STRING_LIST\"}}", "sl", "[]");
		CHECK_STORED(emu, "fj-li3", "{\"sl\":{\"value\":[\"a\",null],\"type\":\"STRING_LIST\"}}", "sl",
					 "BAD_REQUEST: BadRequestException: Invalid value, list elements of type STRING may not be null");
		/* no type: inferred; the schema's type wins over a compatible one */
		CHECK_STORED(emu, "fj-t1", "{\"s\":{\"value\":\"v\"}}", "s", "\"v\"");
		CHECK_STORED(emu, "fj-t2", "{\"s\":{\"value\":\"v\",\"type\":null}}", "s", "\"v\"");
		CHECK_STORED(emu, "fj-t3", "{\"s\":{\"value\":\"v\",\"type\":\"NOPE\"}}", "s",
					 "BAD_REQUEST: Field 's' has an unknown type 'NOPE'");
		CHECK_STORED(emu, "fj-t4", "{\"s\":{\"value\":\"v\",\"type\":5}}", "s",
					 "BAD_REQUEST: Field 's' has an unknown type '5'");
		CHECK_STORED(emu, "fj-t5", "{\"s\":5}", "s",
					 "BAD_REQUEST: Field 's' must be a dictionary with a value");
		CHECK_STORED(emu, "fj-t6", "{\"s\":{\"value\":[\"v\"],\"type\":\"STRING_LIST\"}}", "s",
					 "BAD_REQUEST: BadRequestException: Invalid value, expected type STRING but actual value was a list with objects of class java.lang.String");
		/* keys given twice: json-c keeps the last */
		CHECK_STORED(emu, "fj-k1", "{\"s\":{\"value\":\"first\",\"value\":\"last\"}}", "s", "\"last\"");
		CHECK_STORED(emu, "fj-k2", "{\"s\":{\"value\":\"first\"},\"s\":{\"value\":\"last\"}}", "s", "\"last\"");
		CHECK_STORED(emu, "fj-k3", "{\"r\":{\"value\":{\"recordName\":\"a\",\"recordName\":\"b\"},\"type\":\"REFERENCE\"}}", "r",
					 "{\"recordName\":\"b\",\"action\":\"NONE\"}");
		/* whitespace anywhere */
		CHECK_STORED(emu, "fj-w1", "{ \"s\" :\n\t{ \"value\" : \"w\" ,\r\n \"type\" : \"STRING\" } }", "s", "\"w\"");
	}

	TEST("modify/whole bodies the fast reader leaves to json-c")
	{
		Resp	   *r;
		char	   *deep;
		int			i;

		/* a key twice at the top: json-c keeps the last */
		r = ck_post(emu, "public", "records/modify",
					"{\"operations\":[{\"operationType\":\"create\",\"record\":{\"recordName\":\"fj-dup1\",\"recordType\":\"AllTypes\"}}],"
					"\"operations\":[{\"operationType\":\"create\",\"record\":{\"recordName\":\"fj-dup2\",\"recordType\":\"AllTypes\"}}]}");
		CHECK(item_ok(r, 0));
		CHECK_INT(jlen(r->json, "records"), 1);
		CHECK_STR(jps(r->json, "records[0].recordName"), "fj-dup2");
		/* the record's name given twice */
		r = ops1(emu, "{\"operationType\":\"create\",\"record\":{\"recordName\":\"fj-dup3\",\"recordName\":\"fj-dup4\",\"recordType\":\"AllTypes\"}}");
		CHECK(item_ok(r, 0));
		CHECK_STR(jps(r->json, "records[0].recordName"), "fj-dup4");
		/* a name with an escape, and one with \u0000 */
		r = ops1(emu, "{\"operationType\":\"create\",\"record\":{\"recordName\":\"fj-\\u0041\",\"recordType\":\"AllTypes\"}}");
		CHECK(item_ok(r, 0));
		CHECK_STR(jps(r->json, "records[0].recordName"), "fj-A");
		r = ops1(emu, "{\"operationType\":\"create\",\"record\":{\"recordName\":\"fj-\\u0000x\",\"recordType\":\"AllTypes\"}}");
		CHECK_CODE(r, "BAD_REQUEST");
		CHECK_STR(jps(r->json, "reason"), "operations[0]: recordName must be 1 to 255 printable ASCII characters");
		/* malformed: json-c's reasons */
		r = ck_post(emu, "public", "records/modify", "{\"operations\":[],}");
		CHECK_CODE(r, "BAD_REQUEST");
		CHECK_STR(jps(r->json, "reason"), "Request body is not valid JSON: unexpected character");
		r = ck_post(emu, "public", "records/modify", "{\"operations\":[]} x");
		CHECK_CODE(r, "BAD_REQUEST");
		CHECK_STR(jps(r->json, "reason"), "Request body is not valid JSON: unexpected character");
		r = ck_post(emu, "public", "records/modify", "{\"operations\":[{\"operationType\":\"create\",\"record\":{\"recordName\":\"fj-x\",\"recordType\":\"AllTypes\",\"fields\":{\"i\":{\"value\":01}}}}]}");
		CHECK_CODE(r, "BAD_REQUEST");
		CHECK_STR(jps(r->json, "reason"), "Request body is not valid JSON: number expected");
		/* json-c takes a raw control character in a string */
		r = ck_post(emu, "public", "records/modify", "{\"operations\":[{\"operationType\":\"create\",\"record\":{\"recordName\":\"fj-ctl\",\"recordType\":\"AllTypes\",\"fields\":{\"s\":{\"value\":\"a\x01\"}}}}]}");
		CHECK(item_ok(r, 0));
		CHECK_STR(jstr(jp(r->json, "records[0].fields.s.value")), "\"a\\u0001\"");
		r = ck_post(emu, "public", "records/modify", "{\"operations\":[{\"operationType\":\"create\",\"record\":{\"recordName\":\"fj-x\",\"recordType\":\"AllTypes\",\"fields\":{\"s\":{\"value\":\"a\xc3\"}}}}]}");
		CHECK_CODE(r, "BAD_REQUEST");
		CHECK_STR(jps(r->json, "reason"), "Request body is not valid JSON: invalid utf-8 string");
		r = ck_post(emu, "public", "records/modify", "{\"operations\":[{\"operationType\":\"create\"");
		CHECK_CODE(r, "BAD_REQUEST");
		CHECK_STR(jps(r->json, "reason"), "Request body is not valid JSON: unexpected end of input");
		/* nesting deeper than json-c takes, inside a value */
		deep = malloc(200);
		strcpy(deep, "{\"operations\":[{\"operationType\":\"create\",\"record\":{\"recordName\":\"fj-x\",\"recordType\":\"AllTypes\",\"fields\":{\"il\":{\"value\":");
		r = NULL;
		{
			char	   *body = malloc(4096);

			strcpy(body, deep);
			for (i = 0; i < 40; i++)
				strcat(body, "[");
			for (i = 0; i < 40; i++)
				strcat(body, "]");
			strcat(body, "}}}}]}");
			r = ck_post(emu, "public", "records/modify", body);
			free(body);
		}
		free(deep);
		CHECK_CODE(r, "BAD_REQUEST");
		CHECK_STR(jps(r->json, "reason"), "Request body is not valid JSON: nesting too deep");
		/* none of the refused bodies wrote anything */
		CHECK_STR(jps(lookup(emu, "fj-x")->json, "records[0].serverErrorCode"), "NOT_FOUND");
	}
}
