/*-------------------------------------------------------------------------
 *
 * t_index.c
 *		Index lag (POST /_ckemu/index, --index-lag): writes reach
 *		records/query only when the index catches up, in write order;
 *		records/lookup is exact at once; off by default.
 *
 * test/ckemu/tests/t_index.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "ckt.h"

/* Create (or replace) AllTypes records named NAME with field i = value. */
static Resp *
save(Emu *emu, const char *name, int value)
{
	return ck_postf(emu, "public", "records/modify",
					"{\"operations\":[{\"operationType\":\"forceReplace\",\"record\":{\"recordName\":\"%s\","
					"\"recordType\":\"AllTypes\",\"fields\":{\"i\":{\"value\":%d}}}}]}", name, value);
}

/* The names records/query returns for AllTypes, sorted, as one string. */
static const char *
queried(Emu *emu)
{
	NameSet    *s = query_all(emu, "{\"query\":{\"recordType\":\"AllTypes\"}}", 200, NULL);
	char		buf[512] = "";
	int			i;

	if (s == NULL)
		return "(query failed)";
	nameset_sort(s);
	for (i = 0; i < s->n; i++)
	{
		if (i > 0)
			strncat(buf, ",", sizeof(buf) - strlen(buf) - 1);
		strncat(buf, s->names[i], sizeof(buf) - strlen(buf) - 1);
	}
	return tfmt("%s", buf);
}

static Resp *
index_post(Emu *emu, const char *body)
{
	return admin(emu, "POST", "/_ckemu/index", body);
}

void
group_index(void)
{
	Emu		   *emu = emu_main();

	if (emu == NULL)
		return;
	emu_reset(emu);

	TEST("index/off by default: a write is queryable at once")
	{
		Resp	   *r = admin(emu, "GET", "/_ckemu/index", NULL);

		CHECK_STATUS(r, 200);
		CHECK(jpb(r->json, "lag", true) == false);
		CHECK_INT(jpi(r->json, "pending", -1), 0);
		save(emu, "idx-a", 1);
		CHECK_STR(queried(emu), "idx-a");
	}
	emu_reset(emu);

	TEST("index/lag: queries miss new writes, lookups see them, catch_up goes in write order")
	{
		Resp	   *r;

		r = index_post(emu, "{\"lag\":true}");
		CHECK_STATUS(r, 200);
		CHECK(jpb(r->json, "lag", false) == true);
		save(emu, "idx-a", 1);
		save(emu, "idx-b", 2);
		save(emu, "idx-c", 3);
		CHECK_STR(queried(emu), "");
		/* lookup is exact */
		r = ck_post(emu, "public", "records/lookup",
					"{\"records\":[{\"recordName\":\"idx-a\"},{\"recordName\":\"idx-c\"}]}");
		CHECK_INT(jpi(r->json, "records[0].fields.i.value", -1), 1);
		CHECK_INT(jpi(r->json, "records[1].fields.i.value", -1), 3);
		/* so is the admin view: three writes, none indexed */
		r = admin(emu, "GET", "/_ckemu/index", NULL);
		CHECK_INT(jpi(r->json, "pending", -1), 3);

		r = index_post(emu, "{\"catch_up\":2}");
		CHECK_INT(jpi(r->json, "pending", -1), 1);
		CHECK_STR(queried(emu), "idx-a,idx-b");
		/* an update of an indexed record is missing until indexed too */
		save(emu, "idx-a", 10);
		CHECK_STR(queried(emu), "idx-b");
		index_post(emu, "{\"catch_up\":1}");
		CHECK_STR(queried(emu), "idx-b,idx-c");
		index_post(emu, "{\"catch_up\":\"all\"}");
		CHECK_STR(queried(emu), "idx-a,idx-b,idx-c");
		r = ck_post(emu, "public", "records/query",
					"{\"query\":{\"recordType\":\"AllTypes\",\"filterBy\":[{\"fieldName\":\"i\","
					"\"comparator\":\"EQUALS\",\"fieldValue\":{\"value\":10}}]}}");
		CHECK_STR(jps(r->json, "records[0].recordName"), "idx-a");
		/* still lagging: the next write waits again */
		save(emu, "idx-d", 4);
		CHECK_STR(queried(emu), "idx-a,idx-b,idx-c");
		/* a deletion is seen at once */
		ck_post(emu, "public", "records/modify",
				"{\"operations\":[{\"operationType\":\"forceDelete\",\"record\":{\"recordName\":\"idx-b\"}}]}");
		CHECK_STR(queried(emu), "idx-a,idx-c");
		/* catching up past the end stops at the last write */
		r = index_post(emu, "{\"catch_up\":100}");
		CHECK_INT(jpi(r->json, "pending", -1), 0);
		CHECK_STR(queried(emu), "idx-a,idx-c,idx-d");
		/* lag off: everything indexed, and writes are queryable at once */
		save(emu, "idx-e", 5);
		r = index_post(emu, "{\"lag\":false}");
		CHECK(jpb(r->json, "lag", true) == false);
		save(emu, "idx-f", 6);
		CHECK_STR(queried(emu), "idx-a,idx-c,idx-d,idx-e,idx-f");
	}

	TEST("index/reset turns lag off and indexes the seeds")
	{
		Resp	   *r;

		index_post(emu, "{\"lag\":true}");
		save(emu, "idx-a", 1);
		emu_reset(emu);
		r = admin(emu, "GET", "/_ckemu/index", NULL);
		CHECK(jpb(r->json, "lag", true) == false);
		CHECK_INT(jpi(r->json, "pending", -1), 0);
		CHECK_STR(queried(emu), "");
		r = ck_post(emu, "public", "records/query",
					"{\"resultsLimit\":200,\"query\":{\"recordType\":\"Visit\"}}");
		CHECK_INT(jlen(r->json, "records"), 200);
	}

	TEST("index/bad bodies are refused")
	{
		CHECK_STATUS(index_post(emu, "[]"), 400);
		CHECK_STATUS(index_post(emu, "{}"), 400);
		CHECK_STATUS(index_post(emu, "{\"lag\":1}"), 400);
		CHECK_STATUS(index_post(emu, "{\"catch_up\":-1}"), 400);
		CHECK_STATUS(index_post(emu, "{\"catch_up\":\"some\"}"), 400);
		CHECK_STATUS(admin(emu, "DELETE", "/_ckemu/index", NULL), 405);
	}
	emu_reset(emu);

	if (test_selected("index/--index-lag"))
	{
		EmuOpts		o = {0};
		Emu		   *lagging;

		o.name = "index-lag";
		o.schema = o.data = o.keys = true;
		o.extra[0] = "--index-lag";
		lagging = emu_start(&o);
		if (lagging)
		{
			TEST("index/--index-lag: seeds are queryable, writes wait; reset keeps lagging")
			{
				Resp	   *r = ck_post(lagging, "public", "records/query",
										"{\"resultsLimit\":200,\"query\":{\"recordType\":\"Visit\"}}");

				CHECK_INT(jlen(r->json, "records"), 200);
				save(lagging, "idx-a", 1);
				CHECK_STR(queried(lagging), "");
				emu_reset(lagging);
				save(lagging, "idx-b", 1);
				CHECK_STR(queried(lagging), "");
				index_post(lagging, "{\"catch_up\":1}");
				CHECK_STR(queried(lagging), "idx-b");
			}
			emu_stop(lagging);
		}
	}
}
