/*-------------------------------------------------------------------------
 *
 * t_share.c
 *		Sharing between users over HTTP: zone-wide and record shares,
 *		participants and their permissions, acceptance (records/accept and
 *		the admin shortcut), public permission, the shared database's
 *		zones/list, records/query, records/lookup, changes/database,
 *		changes/zone and records/modify, READ_ONLY enforcement, and
 *		revocation at once when a participant is removed.
 *
 * alice owns; bob and carol are other users with their own web-auth
 * tokens, in an instance of their own (no rotation).
 *
 * test/ckemu/tests/t_share.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "ckt.h"

static Emu *g_emu;

static Resp *
as(const char *token, const char *db, const char *op, const char *body)
{
	Cred		c = cred_web(token);

	return ck_req(g_emu, &c, body ? NULL : "GET", "development", db, op, body);
}

#define ALICE CKT_TOKEN_A
#define BOB CKT_TOKEN_B
#define CAROL CKT_TOKEN_C

/* alice's userRecordName, as her private database reports it */
static const char *
alice_id(void)
{
	Resp	   *r = as(ALICE, "public", "users/caller", NULL);

	return jps(r->json, "userRecordName");
}

static void
owner_save(const char *zone, const char *name, const char *extra)
{
	Resp	   *r = as(ALICE, "private", "records/modify",
					   tfmt("{\"zoneID\":{\"zoneName\":\"%s\"},\"operations\":[{\"operationType\":\"create\","
							"\"record\":{\"recordName\":\"%s\",\"recordType\":\"Photo\","
							"\"fields\":{\"title\":{\"value\":\"%s\"}}%s}}]}",
							zone, name, name, extra ? extra : ""));

	CHECKM(r->status == 200 && resp_code(r, 0) == NULL, "setup: create %s: %.300s", name, r->body);
}

static void
owner_zone(const char *zone)
{
	Resp	   *r = as(ALICE, "private", "zones/modify",
					   tfmt("{\"operations\":[{\"operationType\":\"create\",\"zone\":{\"zoneID\":{\"zoneName\":\"%s\"}}}]}",
							zone));

	CHECK_STATUS(r, 200);
}

/* Create or update a share; returns the answer's share record. */
static json_object *
share_write(const char *op, const char *zone, const char *name, const char *extra)
{
	Resp	   *r = as(ALICE, "private", "records/modify",
					   tfmt("{\"zoneID\":{\"zoneName\":\"%s\"},\"operations\":[{\"operationType\":\"%s\","
							"\"record\":{\"recordName\":\"%s\",\"recordType\":\"cloudKit.share\"%s}}]}",
							zone, op, name, extra));

	if (!CHECKM(r->status == 200 && resp_code(r, 0) == NULL, "share %s: %.400s", op, r->body))
		return NULL;
	return jp(r->json, "records[0]");
}

/* The share's change tag now (acceptance changes it). */
static const char *
share_tag(const char *zone, const char *name)
{
	Resp	   *r = as(ALICE, "private", "records/lookup",
					   tfmt("{\"zoneID\":{\"zoneName\":\"%s\"},\"records\":[{\"recordName\":\"%s\"}]}",
							zone, name));
	const char *t = jps(r->json, "records[0].recordChangeTag");

	CHECKM(t != NULL, "share lookup: %.300s", r->body);
	return t ? t : "";
}

static const char *
participants(const char *who, const char *perm)
{
	return tfmt(",\"participants\":[{\"type\":\"USER\",\"permission\":\"%s\",\"acceptanceStatus\":\"INVITED\","
				"\"userIdentity\":{\"lookupInfo\":{\"emailAddress\":\"%s\"}}}]", perm, who);
}

static Resp *
accept_share(const char *token, const char *guid)
{
	return as(token, "shared", "records/accept",
			  tfmt("{\"shortGUIDs\":[{\"value\":\"%s\"}]}", guid));
}

static Resp *
shared_query(const char *token, const char *zone, const char *owner)
{
	return as(token, "shared", "records/query",
			  tfmt("{\"zoneID\":{\"zoneName\":\"%s\",\"ownerRecordName\":\"%s\"},"
				   "\"query\":{\"recordType\":\"Photo\"}}", zone, owner));
}

static Resp *
shared_modify(const char *token, const char *zone, const char *owner, const char *op)
{
	return as(token, "shared", "records/modify",
			  tfmt("{\"zoneID\":{\"zoneName\":\"%s\",\"ownerRecordName\":\"%s\"},\"operations\":[%s]}",
				   zone, owner, op));
}

static bool
zone_listed(Resp *r, const char *zone, const char *owner)
{
	int			i;

	for (i = 0; i < jlen(r->json, "zones"); i++)
	{
		const char *z = jps(jpf(r->json, "zones[%d]", i), "zoneID.zoneName");
		const char *o = jps(jpf(r->json, "zones[%d]", i), "zoneID.ownerRecordName");

		if (z && strcmp(z, zone) == 0 && o && strcmp(o, owner) == 0)
			return true;
	}
	return false;
}

static NameSet *
names_of(Resp *r, const char *array)
{
	NameSet    *set = nameset_new();
	int			i;

	for (i = 0; i < jlen(r->json, array); i++)
		nameset_add(set, jps(jpf(r->json, "%s[%d]", array, i), "recordName"));
	nameset_sort(set);
	return set;
}

static bool
names_are(Resp *r, const char *array, const char *csv)
{
	NameSet    *want = nameset_new();
	char	   *copy = tfmt("%s", csv);
	char	   *tok;
	char		msg[512];

	for (tok = strtok(copy, ","); tok; tok = strtok(NULL, ","))
		nameset_add(want, tok);
	nameset_sort(want);
	if (!nameset_equal(names_of(r, array), want, msg, sizeof(msg)))
		return CHECKM(false, "%s: %s (%.300s)", array, msg, r->body);
	return true;
}

void
group_sharing(void)
{
	EmuOpts		o = {.name = "share", .tokens = true};
	/* these outlive one test, unlike tfmt strings */
	static char alice[64],
				guid[64];

	if (!test_selected("sharing"))
		return;
	g_emu = emu_start(&o);
	if (g_emu == NULL)
		return;
	snprintf(alice, sizeof(alice), "%s", alice_id() ? alice_id() : "");

	TEST("sharing: a zone-wide share with an invited participant")
	{
		json_object *s;

		owner_zone("Trip");
		owner_save("Trip", "p1", NULL);
		owner_save("Trip", "p2", NULL);
		s = share_write("create", "Trip", "cloudkit.zoneshare",
						tfmt(",\"publicPermission\":\"NONE\"%s", participants(CKT_USER_B, "READ_ONLY")));
		if (CHECK(s != NULL))
		{
			snprintf(guid, sizeof(guid), "%s", jps(s, "shortGUID") ? jps(s, "shortGUID") : "");
			CHECK_STR(jps(s, "recordType"), "cloudkit.share");
			CHECK_INT(jlen(s, "participants"), 2);
			CHECK_STR(jps(s, "participants[0].type"), "OWNER");
			CHECK_STR(jps(s, "participants[1].permission"), "READ_ONLY");
			CHECK_STR(jps(s, "participants[1].acceptanceStatus"), "INVITED");
			CHECK_STR(jps(s, "owner.userIdentity.userRecordName"), alice);
			CHECK_STR(jps(s, "currentUserParticipant.type"), "OWNER");
			CHECK_STR(jps(s, "publicPermission"), "NONE");
		}
	}

	TEST("sharing: before acceptance the shared database shows nothing")
	{
		Resp	   *r = as(BOB, "shared", "zones/list", NULL);

		CHECK_STATUS(r, 200);
		CHECKM(!zone_listed(r, "Trip", alice), "an unaccepted share is listed");
		r = shared_query(BOB, "Trip", alice);
		CHECK_CODE(r, "ZONE_NOT_FOUND");
	}

	TEST("sharing: records/accept by the participant")
	{
		Resp	   *r = accept_share(BOB, guid);

		CHECK_STATUS(r, 200);
		CHECK_STR(jps(r->json, "results[0].zoneID.zoneName"), "Trip");
		CHECK_STR(jps(r->json, "results[0].zoneID.ownerRecordName"), alice);
		CHECK_STR(jps(r->json, "results[0].share.currentUserParticipant.acceptanceStatus"), "ACCEPTED");
		r = accept_share(CAROL, guid);
		CHECK_STR(jps(r->json, "results[0].serverErrorCode"), "ACCESS_DENIED");
		r = accept_share(BOB, "no-such-guid");
		CHECK_STR(jps(r->json, "results[0].serverErrorCode"), "NOT_FOUND");
	}

	TEST("sharing: the participant reads the zone through the shared database")
	{
		Resp	   *r = as(BOB, "shared", "zones/list", NULL);
		const char *tok;

		CHECKM(zone_listed(r, "Trip", alice), "the accepted zone is not listed: %.300s", r->body);
		r = shared_query(BOB, "Trip", alice);
		CHECK_STATUS(r, 200);
		names_are(r, "records", "p1,p2");
		CHECK_STR(jps(r->json, "records[0].zoneID.ownerRecordName"), alice);
		r = as(BOB, "shared", "records/lookup",
			   tfmt("{\"zoneID\":{\"zoneName\":\"Trip\",\"ownerRecordName\":\"%s\"},"
					"\"records\":[{\"recordName\":\"p2\"},{\"recordName\":\"cloudkit.zoneshare\"}]}", alice));
		CHECK_STATUS(r, 200);
		CHECK_STR(jps(r->json, "records[0].fields.title.value"), "p2");
		CHECK_STR(jps(r->json, "records[1].currentUserParticipant.permission"), "READ_ONLY");
		r = as(BOB, "shared", "changes/zone",
			   tfmt("{\"zones\":[{\"zoneID\":{\"zoneName\":\"Trip\",\"ownerRecordName\":\"%s\"}}]}", alice));
		CHECK_STATUS(r, 200);
		names_are(r, "zones[0].records", "p1,p2");
		r = as(BOB, "shared", "changes/database", "{}");
		CHECK_STATUS(r, 200);
		CHECKM(zone_listed(r, "Trip", alice), "changes/database lacks the shared zone: %.300s", r->body);
		tok = tfmt("%s", jps(r->json, "syncToken"));
		r = as(BOB, "shared", "changes/database", tfmt("{\"syncToken\":\"%s\"}", tok));
		CHECK_INT(jlen(r->json, "zones"), 0);
		owner_save("Trip", "p3", NULL);
		r = as(BOB, "shared", "changes/database", tfmt("{\"syncToken\":\"%s\"}", tok));
		CHECKM(zone_listed(r, "Trip", alice), "an owner's write is not a change: %.300s", r->body);
		/* others see nothing; the owner's own shared database neither */
		r = shared_query(CAROL, "Trip", alice);
		CHECK_CODE(r, "ZONE_NOT_FOUND");
		r = as(ALICE, "shared", "zones/list", NULL);
		CHECKM(!zone_listed(r, "Trip", alice), "the owner's zone is in its own shared database");
	}

	TEST("sharing: READ_ONLY refuses writes with ACCESS_DENIED")
	{
		Resp	   *r = as(BOB, "shared", "records/lookup",
						   tfmt("{\"zoneID\":{\"zoneName\":\"Trip\",\"ownerRecordName\":\"%s\"},"
								"\"records\":[{\"recordName\":\"p1\"}]}", alice));
		const char *ptag = tfmt("%s", jps(r->json, "records[0].recordChangeTag"));

		r = shared_modify(BOB, "Trip", alice,
						  tfmt("{\"operationType\":\"update\",\"record\":{\"recordName\":\"p1\",\"recordType\":\"Photo\","
							   "\"recordChangeTag\":\"%s\",\"fields\":{\"title\":{\"value\":\"bob\"}}}}", ptag));
		CHECK_ITEM_CODE(r, 0, "ACCESS_DENIED");
		CHECKM(strstr(r->body, "READ_ONLY") && strstr(r->body, "p1"),
			   "the reason names neither the permission nor the record: %.300s", r->body);
		r = shared_modify(BOB, "Trip", alice,
						  "{\"operationType\":\"create\",\"record\":{\"recordName\":\"b1\",\"recordType\":\"Photo\"}}");
		CHECK_ITEM_CODE(r, 0, "ACCESS_DENIED");
		r = shared_modify(BOB, "Trip", alice,
						  "{\"operationType\":\"forceDelete\",\"record\":{\"recordName\":\"p2\"}}");
		CHECK_ITEM_CODE(r, 0, "ACCESS_DENIED");
		/* and the participant cannot change the share itself */
		r = shared_modify(BOB, "Trip", alice,
						  "{\"operationType\":\"forceUpdate\",\"record\":{\"recordName\":\"cloudkit.zoneshare\","
						  "\"recordType\":\"cloudkit.share\",\"publicPermission\":\"READ_WRITE\"}}");
		CHECK_ITEM_CODE(r, 0, "ACCESS_DENIED");
	}

	TEST("sharing: raising the permission to READ_WRITE allows writes")
	{
		json_object *s;
		Resp	   *r;

		/* a stale change tag is a conflict, as for any record */
		r = as(ALICE, "private", "records/modify",
			   "{\"zoneID\":{\"zoneName\":\"Trip\"},\"operations\":[{\"operationType\":\"update\","
			   "\"record\":{\"recordName\":\"cloudkit.zoneshare\",\"recordType\":\"cloudkit.share\","
			   "\"recordChangeTag\":\"stale\"}}]}");
		CHECK_ITEM_CODE(r, 0, "CONFLICT");
		s = share_write("update", "Trip", "cloudkit.zoneshare",
						tfmt(",\"recordChangeTag\":\"%s\"%s", share_tag("Trip", "cloudkit.zoneshare"), participants(CKT_USER_B, "READ_WRITE")));
		if (CHECK(s != NULL))
		{
			CHECK_STR(jps(s, "participants[1].permission"), "READ_WRITE");
			/* the owner cannot accept for the participant */
			CHECK_STR(jps(s, "participants[1].acceptanceStatus"), "ACCEPTED");
		}
		r = shared_modify(BOB, "Trip", alice,
						  "{\"operationType\":\"create\",\"record\":{\"recordName\":\"b1\",\"recordType\":\"Photo\","
						  "\"fields\":{\"title\":{\"value\":\"from bob\"}}}}");
		CHECK_STATUS(r, 200);
		CHECKM(resp_code(r, 0) == NULL, "a READ_WRITE participant's create failed: %.300s", r->body);
		r = as(ALICE, "private", "records/lookup",
			   "{\"zoneID\":{\"zoneName\":\"Trip\"},\"records\":[{\"recordName\":\"b1\"}]}");
		CHECK_STR(jps(r->json, "records[0].fields.title.value"), "from bob");
	}

	TEST("sharing: removing the participant revokes access at once")
	{
		json_object *s = share_write("update", "Trip", "cloudkit.zoneshare",
									 tfmt(",\"recordChangeTag\":\"%s\",\"participants\":[]", share_tag("Trip", "cloudkit.zoneshare")));
		Resp	   *r;

		if (CHECK(s != NULL))
			CHECK_INT(jlen(s, "participants"), 1);
		r = shared_query(BOB, "Trip", alice);
		CHECK_CODE(r, "ZONE_NOT_FOUND");
		r = as(BOB, "shared", "zones/list", NULL);
		CHECKM(!zone_listed(r, "Trip", alice), "a removed participant still lists the zone");
		r = shared_modify(BOB, "Trip", alice,
						  "{\"operationType\":\"forceDelete\",\"record\":{\"recordName\":\"p1\"}}");
		CHECK_CODE(r, "ZONE_NOT_FOUND");
		/* a removed participant cannot accept again */
		r = accept_share(BOB, guid);
		CHECK_STR(jps(r->json, "results[0].serverErrorCode"), "ACCESS_DENIED");
	}

	TEST("sharing: a record hierarchy share shows only that hierarchy")
	{
		json_object *s;
		Resp	   *r;
		const char *rguid;

		owner_zone("Album");
		owner_save("Album", "root", ",\"createShortGUID\":true");
		owner_save("Album", "child", ",\"parent\":{\"recordName\":\"root\"}");
		owner_save("Album", "grandchild", ",\"parent\":{\"recordName\":\"child\"}");
		owner_save("Album", "other", NULL);
		s = share_write("create", "Album", "share-root",
						tfmt(",\"forRecord\":{\"recordName\":\"root\"}%s", participants(CKT_USER_C, "READ_WRITE")));
		if (!CHECK(s != NULL))
			break;
		rguid = tfmt("%s", jps(s, "shortGUID"));
		CHECK_STR(jps(s, "forRecord.recordName"), "root");
		r = as(ALICE, "private", "records/lookup",
			   "{\"zoneID\":{\"zoneName\":\"Album\"},\"records\":[{\"recordName\":\"root\"},{\"recordName\":\"child\"}]}");
		CHECK_STR(jps(r->json, "records[0].share.recordName"), "share-root");
		CHECKM(jps(r->json, "records[0].shortGUID") != NULL, "createShortGUID gave no shortGUID");
		CHECK_STR(jps(r->json, "records[1].parent.recordName"), "root");

		/* the admin shortcut accepts without a token */
		r = admin(g_emu, "POST", "/_ckemu/accept-share",
				  tfmt("{\"user\":\"%s\",\"shortGUID\":\"%s\"}", CKT_USER_C, rguid));
		CHECK_STATUS(r, 200);
		CHECK_STR(jps(r->json, "rootRecordName"), "root");

		r = shared_query(CAROL, "Album", alice);
		CHECK_STATUS(r, 200);
		names_are(r, "records", "child,grandchild,root");
		r = as(CAROL, "shared", "records/lookup",
			   tfmt("{\"zoneID\":{\"zoneName\":\"Album\",\"ownerRecordName\":\"%s\"},"
					"\"records\":[{\"recordName\":\"grandchild\"},{\"recordName\":\"other\"}]}", alice));
		CHECK_STR(jps(r->json, "records[0].recordName"), "grandchild");
		CHECK_ITEM_CODE(r, 1, "NOT_FOUND");
		r = as(CAROL, "shared", "changes/zone",
			   tfmt("{\"zones\":[{\"zoneID\":{\"zoneName\":\"Album\",\"ownerRecordName\":\"%s\"}}]}", alice));
		names_are(r, "zones[0].records", "child,grandchild,root");

		/* writes: inside the hierarchy (new records join by parent), not outside */
		r = shared_modify(CAROL, "Album", alice,
						  "{\"operationType\":\"create\",\"record\":{\"recordName\":\"c-new\",\"recordType\":\"Photo\","
						  "\"parent\":{\"recordName\":\"child\"}}}");
		CHECKM(resp_code(r, 0) == NULL, "a create under the shared root failed: %.300s", r->body);
		r = shared_modify(CAROL, "Album", alice,
						  "{\"operationType\":\"create\",\"record\":{\"recordName\":\"c-orphan\",\"recordType\":\"Photo\"}}");
		CHECK_ITEM_CODE(r, 0, "ACCESS_DENIED");
		r = shared_modify(CAROL, "Album", alice,
						  "{\"operationType\":\"forceDelete\",\"record\":{\"recordName\":\"other\"}}");
		CHECK_ITEM_CODE(r, 0, "ACCESS_DENIED");
		r = shared_query(CAROL, "Album", alice);
		names_are(r, "records", "c-new,child,grandchild,root");
		/* bob has no share in this zone */
		r = shared_query(BOB, "Album", alice);
		CHECK_CODE(r, "ZONE_NOT_FOUND");
	}

	TEST("sharing: public permission lets anyone with the shortGUID join")
	{
		json_object *s;
		Resp	   *r;

		owner_zone("Open");
		owner_save("Open", "o1", NULL);
		s = share_write("create", "Open", "cloudkit.zoneshare", ",\"publicPermission\":\"READ_ONLY\"");
		if (!CHECK(s != NULL))
			break;
		r = accept_share(BOB, jps(s, "shortGUID"));
		CHECK_STR(jps(r->json, "results[0].share.currentUserParticipant.type"), "PUBLIC_USER");
		CHECK_STR(jps(r->json, "results[0].share.currentUserParticipant.permission"), "READ_ONLY");
		r = shared_query(BOB, "Open", alice);
		names_are(r, "records", "o1");
		r = shared_modify(BOB, "Open", alice,
						  "{\"operationType\":\"forceDelete\",\"record\":{\"recordName\":\"o1\"}}");
		CHECK_ITEM_CODE(r, 0, "ACCESS_DENIED");

		/* deleting the share stops sharing */
		r = as(ALICE, "private", "records/modify",
			   "{\"zoneID\":{\"zoneName\":\"Open\"},\"operations\":[{\"operationType\":\"forceDelete\","
			   "\"record\":{\"recordName\":\"cloudkit.zoneshare\"}}]}");
		CHECKM(r->status == 200 && jpb(r->json, "records[0].deleted", false), "share delete: %.300s", r->body);
		r = shared_query(BOB, "Open", alice);
		CHECK_CODE(r, "ZONE_NOT_FOUND");
	}

	TEST("sharing: a participant named by userRecordName; deleting the zone ends access")
	{
		json_object *s;
		Resp	   *r;
		const char *carol_id;

		r = as(CAROL, "public", "users/caller", NULL);
		carol_id = tfmt("%s", jps(r->json, "userRecordName"));
		owner_zone("Gone");
		owner_save("Gone", "g1", NULL);
		s = share_write("create", "Gone", "cloudkit.zoneshare",
						tfmt(",\"participants\":[{\"permission\":\"READ_WRITE\","
							 "\"userIdentity\":{\"lookupInfo\":{\"userRecordName\":\"%s\"}}}]", carol_id));
		if (!CHECK(s != NULL))
			break;
		CHECK_STR(jps(s, "participants[1].userIdentity.userRecordName"), carol_id);
		CHECK_STR(jps(s, "participants[1].type"), "USER");
		r = accept_share(CAROL, jps(s, "shortGUID"));
		CHECK_STR(jps(r->json, "results[0].share.currentUserParticipant.permission"), "READ_WRITE");
		r = shared_query(CAROL, "Gone", alice);
		names_are(r, "records", "g1");
		r = as(ALICE, "private", "zones/modify",
			   "{\"operations\":[{\"operationType\":\"delete\",\"zone\":{\"zoneID\":{\"zoneName\":\"Gone\"}}}]}");
		CHECK_STATUS(r, 200);
		r = shared_query(CAROL, "Gone", alice);
		CHECK_CODE(r, "ZONE_NOT_FOUND");
		r = as(CAROL, "shared", "zones/list", NULL);
		CHECKM(!zone_listed(r, "Gone", alice), "a deleted zone is still shared");
	}

	TEST("sharing: a record created again has no parent of its earlier life")
	{
		Resp	   *r;

		r = as(ALICE, "private", "records/modify",
			   "{\"zoneID\":{\"zoneName\":\"Album\"},\"operations\":[{\"operationType\":\"forceDelete\","
			   "\"record\":{\"recordName\":\"grandchild\"}}]}");
		CHECK_STATUS(r, 200);
		owner_save("Album", "grandchild", NULL);
		r = as(ALICE, "private", "records/lookup",
			   "{\"zoneID\":{\"zoneName\":\"Album\"},\"records\":[{\"recordName\":\"grandchild\"}]}");
		CHECKM(jp(r->json, "records[0].parent") == NULL, "a stale parent: %.300s", r->body);
		r = shared_query(CAROL, "Album", alice);
		names_are(r, "records", "c-new,child,root");
	}

	TEST("sharing: where shares may not be made")
	{
		Resp	   *r;

		r = as(ALICE, "private", "records/modify",
			   "{\"operations\":[{\"operationType\":\"create\",\"record\":{\"recordName\":\"cloudkit.zoneshare\","
			   "\"recordType\":\"cloudkit.share\"}}]}");
		CHECK_ITEM_CODE(r, 0, "BAD_REQUEST");
		r = as(ALICE, "private", "records/modify",
			   "{\"zoneID\":{\"zoneName\":\"Album\"},\"operations\":[{\"operationType\":\"create\","
			   "\"record\":{\"recordName\":\"s2\",\"recordType\":\"cloudkit.share\"}}]}");
		CHECK_ITEM_CODE(r, 0, "BAD_REQUEST");
		r = as(ALICE, "private", "records/modify",
			   "{\"zoneID\":{\"zoneName\":\"Album\"},\"operations\":[{\"operationType\":\"create\","
			   "\"record\":{\"recordName\":\"s3\",\"recordType\":\"cloudkit.share\",\"forRecord\":{\"recordName\":\"nope\"}}}]}");
		CHECK_ITEM_CODE(r, 0, "NOT_FOUND");
		r = as(ALICE, "private", "records/modify",
			   "{\"zoneID\":{\"zoneName\":\"Album\"},\"operations\":[{\"operationType\":\"create\","
			   "\"record\":{\"recordName\":\"s4\",\"recordType\":\"cloudkit.share\",\"forRecord\":{\"recordName\":\"root\"}}}]}");
		CHECK_ITEM_CODE(r, 0, "EXISTS");
		r = as(ALICE, "private", "records/modify",
			   "{\"zoneID\":{\"zoneName\":\"Trip\"},\"operations\":[{\"operationType\":\"forceUpdate\","
			   "\"record\":{\"recordName\":\"cloudkit.zoneshare\",\"recordType\":\"cloudkit.share\","
			   "\"participants\":[{\"permission\":\"ALL\",\"userIdentity\":{\"lookupInfo\":{\"emailAddress\":\"x\"}}}]}}]}");
		CHECK_ITEM_CODE(r, 0, "BAD_REQUEST");
	}

	TEST("sharing: reset forgets shares")
	{
		Resp	   *r;

		CHECK(emu_reset(g_emu));
		r = shared_query(CAROL, "Album", alice);
		CHECK_CODE(r, "ZONE_NOT_FOUND");
	}

	emu_stop(g_emu);
	g_emu = NULL;
}
