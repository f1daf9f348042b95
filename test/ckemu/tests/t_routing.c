/*-------------------------------------------------------------------------
 *
 * t_routing.c
 *		Routing: containers, environments and databases are separate;
 *		private databases are per user; GET vs POST; content types; unknown
 *		operations; the response headers every answer carries.
 *
 * test/ckemu/tests/t_routing.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "ckt.h"

/* A lookup answer that does not return the record: an error or NOT_FOUND. */
static bool
record_absent(Resp *r)
{
	if (r->cc != CURLE_OK)
		return false;
	if (r->status >= 400)
		return jps(r->json, "serverErrorCode") != NULL;
	return r->status == 200 && jps(r->json, "records[0].serverErrorCode") != NULL &&
		jp(r->json, "records[0].fields") == NULL;
}

static Resp *
raw_post(Emu *emu, const char *path, const char *body)
{
	Req			req = {0};

	req.path = path;
	req.body = body;
	req.cred = cred_s2s();
	return http(emu, &req);
}

void
group_routing(void)
{
	Emu		   *emu = emu_main();

	if (emu == NULL)
		return;
	emu_reset(emu);

	TEST("routing/containers are separate")
	{
		Resp	   *r;

		r = ck_post(emu, "public", "records/modify",
					"{\"operations\":[{\"operationType\":\"create\",\"record\":"
					"{\"recordName\":\"route-c1\",\"recordType\":\"AllTypes\","
					"\"fields\":{\"s\":{\"value\":\"here\"}}}}]}");
		CHECK_STATUS(r, 200);
		CHECK_STR(jps(r->json, "records[0].recordName"), "route-c1");

		r = raw_post(emu, "/database/1/iCloud.com.example.Other/development/public/records/lookup",
					 "{\"records\":[{\"recordName\":\"route-c1\"}]}");
		CHECKM(record_absent(r), "a record of one container must not be visible in another");
		r = raw_post(emu, "/database/1/iCloud.com.example.Other/development/public/records/lookup",
					 "{\"records\":[{\"recordName\":\"artist-0001\"}]}");
		CHECKM(record_absent(r), "seed records belong to iCloud.com.example.Gallery only");

		/* a container ID must begin with "iCloud." */
		r = raw_post(emu, "/database/1/com.example.Gallery/development/public/records/lookup",
					 "{\"records\":[{\"recordName\":\"artist-0001\"}]}");
		CHECKM(r->status >= 400 && r->status < 500,
			   "a container not starting with iCloud. must get a 4xx, got %ld", r->status);
	}

	TEST("routing/environments are separate")
	{
		Cred		s2s = cred_s2s();
		Resp	   *r;

		r = ck_req(emu, &s2s, NULL, "production", "public", "records/lookup",
				   "{\"records\":[{\"recordName\":\"route-c1\"},{\"recordName\":\"artist-0001\"}]}");
		CHECK_STATUS(r, 200);
		CHECK_ITEM_CODE(r, 0, "NOT_FOUND");
		CHECK_ITEM_CODE(r, 1, "NOT_FOUND");

		r = ck_req(emu, &s2s, NULL, "production", "public", "records/query",
				   "{\"query\":{\"recordType\":\"Artist\"}}");
		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "records"), 0);

		r = ck_req(emu, &s2s, NULL, "production", "public", "records/modify",
				   "{\"operations\":[{\"operationType\":\"create\",\"record\":"
				   "{\"recordName\":\"route-prod\",\"recordType\":\"AllTypes\","
				   "\"fields\":{\"s\":{\"value\":\"prod\",\"type\":\"STRING\"}}}}]}");
		CHECK_STATUS(r, 200);
		CHECK_STR(jps(r->json, "records[0].recordName"), "route-prod");
		r = ck_postf(emu, "public", "records/lookup", "{\"records\":[{\"recordName\":\"route-prod\"}]}");
		CHECK_ITEM_CODE(r, 0, "NOT_FOUND");
	}

	TEST("routing/bad version, environment or database is a 4xx")
	{
		const char *paths[] = {
			"/database/2/" CKT_CONTAINER "/development/public/records/query",
			"/database/1/" CKT_CONTAINER "/staging/public/records/query",
			"/database/1/" CKT_CONTAINER "/development/secret/records/query",
			"/database/1/" CKT_CONTAINER "/development/records/query",
			"/database/1/" CKT_CONTAINER "/development/public",
		};
		int			i;

		for (i = 0; i < 5; i++)
		{
			Resp	   *r = raw_post(emu, paths[i], "{\"query\":{\"recordType\":\"Artist\"}}");

			CHECKM(r->status >= 400 && r->status < 500, "%s: expected 4xx, got %ld",
				   paths[i], r->status);
		}
	}

	TEST("routing/private databases are per user")
	{
		Cred		a = cred_web(CKT_TOKEN_A);
		Cred		b = cred_web(CKT_TOKEN_B);
		Cred		d = cred_web(CKT_TOKEN_D);
		const char *lookup = "{\"records\":[{\"recordName\":\"route-priv-1\"}]}";
		Resp	   *r;

		r = ck_req(emu, &a, NULL, "development", "private", "records/modify",
				   "{\"operations\":[{\"operationType\":\"create\",\"record\":"
				   "{\"recordName\":\"route-priv-1\",\"recordType\":\"Favorite\","
				   "\"fields\":{\"artworkName\":{\"value\":\"mine\",\"type\":\"STRING\"}}}}]}");
		CHECK_STATUS(r, 200);
		CHECK_STR(jps(r->json, "records[0].recordName"), "route-priv-1");

		r = ck_req(emu, &a, NULL, "development", "private", "records/lookup", lookup);
		CHECK_STATUS(r, 200);
		CHECK_STR(jps(r->json, "records[0].fields.artworkName.value"), "mine");

		r = ck_req(emu, &b, NULL, "development", "private", "records/lookup", lookup);
		CHECK_STATUS(r, 200);
		CHECK_ITEM_CODE(r, 0, "NOT_FOUND");

		/* the private seed belongs to its owner only */
		r = ck_req(emu, &d, NULL, "development", "private", "records/lookup",
				   "{\"zoneID\":{\"zoneName\":\"Wishlist\"},\"records\":[{\"recordName\":\"favorite-001\"}]}");
		CHECK_STATUS(r, 200);
		CHECK_STR(jps(r->json, "records[0].recordType"), "Favorite");
		r = ck_req(emu, &a, NULL, "development", "private", "records/lookup",
				   "{\"zoneID\":{\"zoneName\":\"Wishlist\"},\"records\":[{\"recordName\":\"favorite-001\"}]}");
		CHECKM(record_absent(r), "another user's private zone must not be readable");

		/* the public database is shared by everyone */
		r = ck_req(emu, &b, NULL, "development", "public", "records/lookup",
				   "{\"records\":[{\"recordName\":\"route-c1\"}]}");
		CHECK_STATUS(r, 200);
		CHECK_STR(jps(r->json, "records[0].recordName"), "route-c1");
		CHECK(jps(r->json, "records[0].serverErrorCode") == NULL);
	}

	TEST("routing/GET and POST")
	{
		Cred		s2s = cred_s2s();
		Cred		a = cred_web(CKT_TOKEN_A);
		Resp	   *r;

		r = ck_req(emu, &s2s, "GET", "development", "public", "zones/list", NULL);
		CHECK_STATUS(r, 200);
		CHECK_STR(jps(r->json, "zones[0].zoneID.zoneName"), "_defaultZone");

		r = ck_req(emu, &a, "GET", "development", "public", "users/caller", NULL);
		CHECK_STATUS(r, 200);

		/* records/query is a POST operation */
		r = ck_req(emu, &s2s, "GET", "development", "public", "records/query", NULL);
		CHECKM(r->status >= 400 && r->status < 500, "GET records/query: expected 4xx, got %ld",
			   r->status);
		r = ck_req(emu, &s2s, "GET", "development", "public", "records/lookup", NULL);
		CHECKM(r->status >= 400 && r->status < 500, "GET records/lookup: expected 4xx, got %ld",
			   r->status);
		r = ck_req(emu, &s2s, "DELETE", "development", "public", "records/query", NULL);
		CHECKM(r->status >= 400 && r->status < 500, "DELETE records/query: expected 4xx, got %ld",
			   r->status);
	}

	TEST("routing/text/plain and application/json bodies")
	{
		const char *types[] = {"application/json", "text/plain",
		"text/plain;charset=UTF-8", "application/json; charset=utf-8", ""};
		const char *body = "{\"query\":{\"recordType\":\"Ticket\",\"filterBy\":[{\"fieldName\":\"batch\","
		"\"comparator\":\"EQUALS\",\"fieldValue\":{\"value\":42,\"type\":\"INT64\"}}]},\"resultsLimit\":200}";
		int			i;

		for (i = 0; i < 5; i++)
		{
			Req			req = {0};
			Resp	   *r;

			req.path = dbpath("development", "public", "records/query");
			req.body = body;
			req.content_type = types[i];
			req.cred = cred_s2s();
			r = http(emu, &req);
			CHECKM(r->status == 200, "Content-Type \"%s\": expected 200, got %ld", types[i], r->status);
			CHECKM(jlen(r->json, "records") == 100, "Content-Type \"%s\": expected 100 records, got %d",
				   types[i], jlen(r->json, "records"));
		}
	}

	TEST("routing/unknown operations are CloudKit errors")
	{
		const char *ops[] = {"records/frobnicate", "frobnicate", "records", "zones/list/extra",
		"Records/Query"};
		int			i;

		for (i = 0; i < 5; i++)
		{
			Resp	   *r = ck_post(emu, "public", ops[i], "{}");

			CHECKM(r->status >= 400 && r->status < 500, "%s: expected 4xx, got %ld", ops[i], r->status);
			CHECKM(jps(r->json, "serverErrorCode") != NULL, "%s: no serverErrorCode", ops[i]);
		}
	}

	TEST("routing/response headers")
	{
		Resp	   *ok = ck_post(emu, "public", "records/lookup",
								 "{\"records\":[{\"recordName\":\"artist-0001\"}]}");
		Resp	   *ok2 = ck_post(emu, "public", "records/lookup",
								  "{\"records\":[{\"recordName\":\"artist-0001\"}]}");
		Resp	   *bad = ck_post(emu, "public", "records/query", "{\"query\":{}}");
		Resp	   *list[3] = {ok, ok2, bad};
		int			i;

		CHECK_STATUS(ok, 200);
		CHECK_CODE(bad, "BAD_REQUEST");
		for (i = 0; i < 3; i++)
		{
			Resp	   *r = list[i];

			CHECK_STR(r->content_type, "application/json; charset=UTF-8");
			CHECK_STR(r->version, "1.0");
			CHECKM(strlen(r->uuid_header) >= 32, "X-Apple-Request-UUID missing (\"%s\")",
				   r->uuid_header);
		}
		CHECKM(strcmp(ok->uuid_header, ok2->uuid_header) != 0,
			   "two requests got the same X-Apple-Request-UUID %s", ok->uuid_header);
	}
}
