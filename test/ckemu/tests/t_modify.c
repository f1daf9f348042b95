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
}
