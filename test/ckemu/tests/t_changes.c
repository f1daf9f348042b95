/*-------------------------------------------------------------------------
 *
 * t_changes.c
 *		Zones (list, lookup, modify) and the change feeds: changes/zone with
 *		tombstones, syncToken/moreComing paging, desiredRecordTypes,
 *		desiredKeys and per-zone errors; changes/database.
 *
 * All of it runs in carol's private database, which starts empty.
 *
 * test/ckemu/tests/t_changes.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "ckt.h"

static Resp *
priv(Emu *emu, const char *op, const char *body)
{
	Cred		c = cred_web(CKT_TOKEN_C);

	return ck_req(emu, &c, body ? NULL : "GET", "development", "private", op, body);
}

static bool
zone_listed(Resp *r, const char *zone)
{
	int			i;

	for (i = 0; i < jlen(r->json, "zones"); i++)
	{
		const char *z = jps(jpf(r->json, "zones[%d]", i), "zoneID.zoneName");

		if (z && strcmp(z, zone) == 0)
			return true;
	}
	return false;
}

static void
save(Emu *emu, const char *zone, const char *optype, const char *name, const char *type,
	 const char *fields)
{
	Resp	   *r = priv(emu, "records/modify",
						 tfmt("{\"zoneID\":{\"zoneName\":\"%s\"},\"operations\":[{\"operationType\":\"%s\","
							  "\"record\":{\"recordName\":\"%s\",\"recordType\":\"%s\"%s%s}}]}",
							  zone, optype, name, type, fields ? ",\"fields\":" : "", fields ? fields : ""));

	CHECKM(r->status == 200 && jps(r->json, "records[0].serverErrorCode") == NULL,
		   "setup: %s %s failed", optype, name);
}

/* Follow changes/zone to the end from token (NULL = start); collect records. */
static json_object *
changes_all(Emu *emu, const char *zone, const char *token, int limit, int *pages,
			const char **last_token)
{
	json_object *all = tkeep(json_object_new_array());
	const char *tok = token;
	int			n = 0;

	for (;;)
	{
		Resp	   *r = priv(emu, "changes/zone",
							 tfmt("{\"zones\":[{\"zoneID\":{\"zoneName\":\"%s\"}%s%s%s%s}]}", zone,
								  tok ? ",\"syncToken\":\"" : "", tok ? tok : "", tok ? "\"" : "",
								  limit ? tfmt(",\"resultsLimit\":%d", limit) : ""));
		json_object *recs;
		size_t		i;

		n++;
		if (!CHECK_STATUS(r, 200))
			break;
		recs = jp(r->json, "zones[0].records");
		if (!CHECKM(recs != NULL, "changes/zone: no records: %.200s", r->body))
			break;
		if (limit)
			CHECKM((int) json_object_array_length(recs) <= limit, "page of %zu records, limit %d",
				   json_object_array_length(recs), limit);
		for (i = 0; i < json_object_array_length(recs); i++)
			json_object_array_add(all, json_object_get(json_object_array_get_idx(recs, i)));
		tok = jps(r->json, "zones[0].syncToken");
		if (!CHECKM(tok != NULL, "changes/zone page without syncToken"))
			break;
		tok = tfmt("%s", tok);
		if (!jpb(r->json, "zones[0].moreComing", false))
			break;
		if (!CHECKM(n < 100, "changes/zone: more than 100 pages"))
			break;
	}
	if (pages)
		*pages = n;
	if (last_token)
		*last_token = tok;
	return all;
}

static json_object *
find_rec(json_object *arr, const char *name, int *count)
{
	json_object *found = NULL;
	size_t		i;

	*count = 0;
	for (i = 0; i < json_object_array_length(arr); i++)
	{
		json_object *r = json_object_array_get_idx(arr, i);

		if (jps(r, "recordName") && strcmp(jps(r, "recordName"), name) == 0)
		{
			found = r;
			(*count)++;
		}
	}
	return found;
}

void
group_zones_changes(void)
{
	Emu		   *emu = emu_main();

	if (emu == NULL)
		return;
	emu_reset(emu);

	TEST("zones/list")
	{
		Cred		d = cred_web(CKT_TOKEN_D);
		Cred		s2s = cred_s2s();
		Resp	   *r;

		r = ck_req(emu, &s2s, "GET", "development", "public", "zones/list", NULL);
		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "zones"), 1);
		CHECK_STR(jps(r->json, "zones[0].zoneID.zoneName"), "_defaultZone");

		r = ck_req(emu, &d, "GET", "development", "private", "zones/list", NULL);
		CHECK_STATUS(r, 200);
		CHECKM(zone_listed(r, "_defaultZone"), "private zones/list lacks _defaultZone");
		CHECKM(zone_listed(r, "Wishlist"), "the seed's Wishlist zone is not listed");
		r = priv(emu, "zones/list", NULL);
		CHECKM(!zone_listed(r, "Wishlist"), "another user's zone is listed");
	}

	TEST("zones/lookup")
	{
		Resp	   *r = ck_post(emu, "public", "zones/lookup",
								"{\"zones\":[{\"zoneName\":\"_defaultZone\"},{\"zoneName\":\"NoSuchZone\"}]}");

		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "zones"), 2);
		CHECK_STR(jps(r->json, "zones[0].zoneID.zoneName"), "_defaultZone");
		CHECK_ZONE_CODE(r, 1, "ZONE_NOT_FOUND");
		CHECK_STR(jps(r->json, "zones[1].zoneID.zoneName"), "NoSuchZone");
	}

	TEST("zones/modify: create and delete in the private database")
	{
		Resp	   *r;

		r = priv(emu, "zones/modify",
				 "{\"operations\":[{\"operationType\":\"create\",\"zone\":{\"zoneID\":{\"zoneName\":\"Z1\"}}},"
				 "{\"operationType\":\"create\",\"zone\":{\"zoneID\":{\"zoneName\":\"Z2\"}}}]}");
		CHECK_STATUS(r, 200);
		CHECK_STR(jps(r->json, "zones[0].zoneID.zoneName"), "Z1");
		CHECK_STR(jps(r->json, "zones[1].zoneID.zoneName"), "Z2");
		save(emu, "Z2", "create", "z2-rec", "Favorite", "{\"stars\":{\"value\":1}}");
		r = priv(emu, "zones/list", NULL);
		CHECKM(zone_listed(r, "Z1") && zone_listed(r, "Z2"), "created zones not listed");

		r = priv(emu, "zones/modify",
				 "{\"operations\":[{\"operationType\":\"delete\",\"zone\":{\"zoneID\":{\"zoneName\":\"Z2\"}}}]}");
		CHECK_STATUS(r, 200);
		r = priv(emu, "zones/list", NULL);
		CHECKM(zone_listed(r, "Z1") && !zone_listed(r, "Z2"), "deleted zone still listed");
		r = priv(emu, "zones/lookup", "{\"zones\":[{\"zoneName\":\"Z2\"}]}");
		CHECK_ZONE_CODE(r, 0, "ZONE_NOT_FOUND");
		r = priv(emu, "records/lookup", "{\"zoneID\":{\"zoneName\":\"Z2\"},\"records\":[{\"recordName\":\"z2-rec\"}]}");
		CHECKM(resp_code(r, 0) != NULL && strcmp(resp_code(r, 0), "ZONE_NOT_FOUND") == 0,
			   "a record of a deleted zone: expected ZONE_NOT_FOUND, got %s",
			   resp_code(r, 0) ? resp_code(r, 0) : "the record");

		/* the public database has only the default zone */
		r = ck_post(emu, "public", "zones/modify",
					"{\"operations\":[{\"operationType\":\"create\",\"zone\":{\"zoneID\":{\"zoneName\":\"PubZ\"}}}]}");
		CHECKM(r->status != 200 || jps(r->json, "zones[0].serverErrorCode") != NULL,
			   "a custom zone was created in the public database");
		r = ck_post(emu, "public", "zones/lookup", "{\"zones\":[{\"zoneName\":\"PubZ\"}]}");
		CHECK_ZONE_CODE(r, 0, "ZONE_NOT_FOUND");
	}

	TEST("changes/zone: live records and tombstones, each once")
	{
		json_object *all;
		json_object *rec;
		int			n;
		const char *tok = NULL;
		int			i;

		priv(emu, "zones/modify",
			 "{\"operations\":[{\"operationType\":\"create\",\"zone\":{\"zoneID\":{\"zoneName\":\"Feed\"}}}]}");
		for (i = 1; i <= 5; i++)
			save(emu, "Feed", "create", tfmt("f-%d", i), "Favorite", tfmt("{\"stars\":{\"value\":%d}}", i));
		save(emu, "Feed", "forceUpdate", "f-2", "Favorite", "{\"stars\":{\"value\":22}}");
		save(emu, "Feed", "forceDelete", "f-3", "Favorite", NULL);

		all = changes_all(emu, "Feed", NULL, 0, NULL, &tok);
		CHECK_INT((int) json_object_array_length(all), 5);
		for (i = 1; i <= 5; i++)
		{
			rec = find_rec(all, tfmt("f-%d", i), &n);
			CHECKM(n == 1, "f-%d appears %d times", i, n);
		}
		rec = find_rec(all, "f-2", &n);
		CHECK_INT(jpi(rec, "fields.stars.value", 0), 22);
		CHECK_STR(jps(rec, "recordType"), "Favorite");
		CHECKM(jps(rec, "recordChangeTag") != NULL, "live record without recordChangeTag");
		rec = find_rec(all, "f-3", &n);
		CHECK(jpb(rec, "deleted", false));
		CHECKM(jp(rec, "fields") == NULL && jp(rec, "recordType") == NULL,
			   "a tombstone is {recordName, deleted:true}, got %s", jstr(rec));
		rec = find_rec(all, "f-1", &n);
		CHECKM(jp(rec, "deleted") == NULL || !jpb(rec, "deleted", true), "live record marked deleted");
		CHECKM(tok != NULL, "no syncToken");
	}

	TEST("changes/zone: syncToken and moreComing paging with resultsLimit")
	{
		int			pages = 0;
		json_object *all = changes_all(emu, "Feed", NULL, 2, &pages, NULL);
		int			i,
					n;

		CHECK_INT((int) json_object_array_length(all), 5);
		CHECK_INT(pages, 3);
		for (i = 1; i <= 5; i++)
		{
			find_rec(all, tfmt("f-%d", i), &n);
			CHECKM(n == 1, "f-%d appears %d times over the pages", i, n);
		}
	}

	TEST("changes/zone: incremental from a token")
	{
		const char *tok = NULL;
		const char *tok2 = NULL;
		json_object *all;
		int			n;

		changes_all(emu, "Feed", NULL, 0, NULL, &tok);
		all = changes_all(emu, "Feed", tok, 0, NULL, &tok2);
		CHECK_INT((int) json_object_array_length(all), 0);

		save(emu, "Feed", "forceUpdate", "f-4", "Favorite", "{\"stars\":{\"value\":44}}");
		save(emu, "Feed", "forceDelete", "f-5", "Favorite", NULL);
		all = changes_all(emu, "Feed", tok2, 0, NULL, NULL);
		CHECK_INT((int) json_object_array_length(all), 2);
		CHECK_INT(jpi(find_rec(all, "f-4", &n), "fields.stars.value", 0), 44);
		CHECK(jpb(find_rec(all, "f-5", &n), "deleted", false));

		/* the old token still works and sees everything since */
		all = changes_all(emu, "Feed", tok, 0, NULL, NULL);
		CHECK_INT((int) json_object_array_length(all), 2);
	}

	TEST("changes/zone: desiredRecordTypes and desiredKeys")
	{
		Resp	   *r;
		int			i;

		priv(emu, "zones/modify",
			 "{\"operations\":[{\"operationType\":\"create\",\"zone\":{\"zoneID\":{\"zoneName\":\"Feed2\"}}}]}");
		save(emu, "Feed2", "create", "g-1", "Favorite", "{\"stars\":{\"value\":1},\"note\":{\"value\":\"n\"}}");
		save(emu, "Feed2", "create", "g-2", "Memo", "{\"text\":{\"value\":\"memo\",\"type\":\"STRING\"}}");
		save(emu, "Feed2", "create", "g-3", "Favorite", "{\"stars\":{\"value\":3},\"note\":{\"value\":\"m\"}}");

		r = priv(emu, "changes/zone",
				 "{\"zones\":[{\"zoneID\":{\"zoneName\":\"Feed2\"}}],\"desiredRecordTypes\":[\"Favorite\"],"
				 "\"desiredKeys\":[\"stars\"]}");
		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "zones[0].records"), 2);
		for (i = 0; i < jlen(r->json, "zones[0].records"); i++)
		{
			json_object *rec = jpf(r->json, "zones[0].records[%d]", i);

			CHECK_STR(jps(rec, "recordType"), "Favorite");
			CHECKM(json_object_object_length(jp(rec, "fields")) == 1 && jp(rec, "fields.stars"),
				   "desiredKeys [stars] gave %s", jstr(jp(rec, "fields")));
		}

		/* per-zone settings override the top level */
		r = priv(emu, "changes/zone",
				 "{\"zones\":[{\"zoneID\":{\"zoneName\":\"Feed2\"},\"desiredRecordTypes\":[\"Memo\"]}],"
				 "\"desiredRecordTypes\":[\"Favorite\"]}");
		CHECK_INT(jlen(r->json, "zones[0].records"), 1);
		CHECK_STR(jps(r->json, "zones[0].records[0].recordName"), "g-2");
	}

	TEST("changes/zone: ZONE_NOT_FOUND per zone inside HTTP 200")
	{
		Resp	   *r = priv(emu, "changes/zone",
							 "{\"zones\":[{\"zoneID\":{\"zoneName\":\"Feed\"}},{\"zoneID\":{\"zoneName\":\"NoSuchZone\"}}]}");

		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "zones"), 2);
		CHECKM(jp(r->json, "zones[0].records") != NULL, "the good zone has no records");
		CHECK_ZONE_CODE(r, 1, "ZONE_NOT_FOUND");
		CHECK_STR(jps(r->json, "zones[1].zoneID.zoneName"), "NoSuchZone");

		r = priv(emu, "changes/zone", "{\"zones\":[{\"zoneID\":{\"zoneName\":\"Feed\"},\"syncToken\":\"garbage!\"}]}");
		CHECKM(resp_code(r, 0) == NULL ? (jps(r->json, "zones[0].serverErrorCode") != NULL) : true,
			   "a garbage syncToken was accepted");
	}

	TEST("changes/zone: /_ckemu/expire-tokens expires every earlier token")
	{
		const char *tok = NULL;
		const char *tok2 = NULL;
		Resp	   *r;

		const char *dbtok;

		changes_all(emu, "Feed", NULL, 0, NULL, &tok);
		r = priv(emu, "changes/database", "{}");
		dbtok = tfmt("%s", jps(r->json, "syncToken") ? jps(r->json, "syncToken") : "");
		r = admin(emu, "POST", "/_ckemu/expire-tokens", "");
		CHECK_STATUS(r, 200);

		/* the database's feed too */
		r = priv(emu, "changes/database", tfmt("{\"syncToken\":\"%s\"}", dbtok));
		CHECK_STATUS(r, 400);
		CHECK_STR(jps(r->json, "serverErrorCode"), "BAD_REQUEST");
		CHECKM(jps(r->json, "reason") != NULL && strstr(jps(r->json, "reason"), "expired") != NULL,
			   "reason: %s", jps(r->json, "reason"));
		r = priv(emu, "changes/zone",
				 tfmt("{\"zones\":[{\"zoneID\":{\"zoneName\":\"Feed\"},\"syncToken\":\"%s\"}]}", tok));
		CHECK_STATUS(r, 200);
		/* ckemu.h's EMU_EXPIRED_TOKEN_CODE and _REASON */
		CHECK_ZONE_CODE(r, 0, "BAD_REQUEST");
		CHECKM(jps(r->json, "zones[0].reason") != NULL &&
			   strstr(jps(r->json, "zones[0].reason"), "expired") != NULL,
			   "reason: %s", jps(r->json, "zones[0].reason"));

		/* a full fetch gives a new token, which works */
		changes_all(emu, "Feed", NULL, 0, NULL, &tok2);
		CHECKM(strcmp(tok, tok2) != 0, "the token after expiry equals the expired one");
		r = priv(emu, "changes/zone",
				 tfmt("{\"zones\":[{\"zoneID\":{\"zoneName\":\"Feed\"},\"syncToken\":\"%s\"}]}", tok2));
		CHECK_STATUS(r, 200);
		CHECKM(jp(r->json, "zones[0].records") != NULL, "the new token was refused: %.200s", r->body);
	}

	TEST("changes/zone: the zone_error fault answers HTTP 200 with a per-zone error")
	{
		Resp	   *r;

		r = admin(emu, "POST", "/_ckemu/faults",
				  "[{\"operation\":\"changes/zone\",\"action\":\"zone_error\","
				  "\"serverErrorCode\":\"ACCESS_DENIED\",\"reason\":\"not yours\"}]");
		CHECK_STATUS(r, 200);
		r = priv(emu, "changes/zone", "{\"zones\":[{\"zoneID\":{\"zoneName\":\"Feed\"}}]}");
		CHECK_STATUS(r, 200);
		CHECK_ZONE_CODE(r, 0, "ACCESS_DENIED");
		CHECK_STR(jps(r->json, "zones[0].reason"), "not yours");
		CHECK_STR(jps(r->json, "zones[0].zoneID.zoneName"), "Feed");
		CHECKM(jp(r->json, "zones[0].records") == NULL, "a zone error with records");
		/* count 1: the next request is served */
		r = priv(emu, "changes/zone", "{\"zones\":[{\"zoneID\":{\"zoneName\":\"Feed\"}}]}");
		CHECKM(jp(r->json, "zones[0].records") != NULL, "the fault fired twice: %.200s", r->body);
		admin(emu, "DELETE", "/_ckemu/faults", NULL);
	}

	TEST("changes/database lists changed zones")
	{
		Resp	   *r;
		const char *tok;

		r = priv(emu, "changes/database", "{}");
		CHECK_STATUS(r, 200);
		CHECKM(zone_listed(r, "Feed") && zone_listed(r, "Feed2") && zone_listed(r, "Z1"),
			   "changes/database from the start misses zones: %.300s", r->body);
		CHECK(!jpb(r->json, "moreComing", true));
		tok = jps(r->json, "syncToken");
		if (!CHECKM(tok != NULL, "no syncToken"))
			continue;
		tok = tfmt("%s", tok);

		r = priv(emu, "changes/database", tfmt("{\"syncToken\":\"%s\"}", tok));
		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "zones"), 0);

		save(emu, "Feed2", "forceUpdate", "g-1", "Favorite", "{\"stars\":{\"value\":5}}");
		r = priv(emu, "changes/database", tfmt("{\"syncToken\":\"%s\"}", tok));
		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "zones"), 1);
		CHECK_STR(jps(r->json, "zones[0].zoneID.zoneName"), "Feed2");

		/* paging */
		r = priv(emu, "changes/database", "{\"resultsLimit\":1}");
		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "zones"), 1);
		CHECK(jpb(r->json, "moreComing", false));
	}

	TEST("changes/* are for the private and shared databases")
	{
		Cred		a = cred_web(CKT_TOKEN_A);
		Resp	   *r = ck_req(emu, &a, NULL, "development", "public", "changes/database", "{}");

		CHECKM(r->status >= 400 && r->status < 500, "public changes/database: expected 4xx, got %ld",
			   r->status);
		r = ck_req(emu, &a, NULL, "development", "public", "changes/zone",
				   "{\"zones\":[{\"zoneID\":{\"zoneName\":\"_defaultZone\"}}]}");
		CHECKM(r->status >= 400 || jps(r->json, "zones[0].serverErrorCode") != NULL,
			   "public changes/zone answered records");
	}
}
