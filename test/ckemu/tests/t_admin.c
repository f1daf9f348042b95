/*-------------------------------------------------------------------------
 *
 * t_admin.c
 *		The admin endpoints: fault injection (every action, by operation,
 *		after/count, seeded probability), stats, reset, dump, and the seed
 *		records loaded with --data.
 *
 * test/ckemu/tests/t_admin.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "ckt.h"

static bool
set_faults(Emu *emu, const char *rules)
{
	Resp	   *r = admin(emu, "POST", "/_ckemu/faults", rules);

	return CHECKM(r->cc == CURLE_OK && r->status == 200, "POST /_ckemu/faults %s: HTTP %ld %.200s",
				  rules, r->status, r->body);
}

static bool
clear_faults(Emu *emu)
{
	Resp	   *r = admin(emu, "DELETE", "/_ckemu/faults", NULL);

	return CHECKM(r->cc == CURLE_OK && r->status == 200, "DELETE /_ckemu/faults: HTTP %ld", r->status);
}

static Resp *
visit_query(Emu *emu)
{
	Req			req = {0};

	req.path = dbpath("development", "public", "records/query");
	req.body = "{\"resultsLimit\":5,\"query\":{\"recordType\":\"Visit\"}}";
	req.cred = cred_s2s();
	req.raw = true;				/* faults break the envelope on purpose */
	return http(emu, &req);
}

static Resp *
lookup(Emu *emu, const char *name)
{
	return ck_postf(emu, "public", "records/lookup", "{\"records\":[{\"recordName\":\"%s\"}]}", name);
}

static Resp *
create_raw(Emu *emu, const char *name)
{
	Req			req = {0};

	req.path = dbpath("development", "public", "records/modify");
	req.body = tfmt("{\"operations\":[{\"operationType\":\"create\",\"record\":{\"recordName\":\"%s\","
					"\"recordType\":\"AllTypes\",\"fields\":{\"i\":{\"value\":1}}}}]}", name);
	req.cred = cred_s2s();
	req.raw = true;
	return http(emu, &req);
}

static bool
ok200(Resp *r)
{
	return r->cc == CURLE_OK && r->status == 200 && r->json != NULL;
}

/* Outcome pattern of n zones/list calls: '.' success, 'X' injected failure. */
static const char *
pattern(Emu *emu, int n)
{
	char		buf[128];
	int			i;

	for (i = 0; i < n && i < 127; i++)
	{
		Cred		c = cred_s2s();
		Req			req = {0};
		Resp	   *r;

		req.method = "GET";
		req.path = dbpath("development", "public", "zones/list");
		req.cred = c;
		req.raw = true;
		r = http(emu, &req);
		buf[i] = ok200(r) ? '.' : (r->status == 503 ? 'X' : '?');
	}
	buf[i] = '\0';
	return tfmt("%s", buf);
}

static int64_t
stat_of(Resp *r, const char *op, const char *key)
{
	return jpi(r->json, tfmt("operations.%s.%s", op, key), -1);
}

void
group_admin(void)
{
	Emu		   *emu = emu_main();

	if (emu == NULL)
		return;
	emu_reset(emu);

	TEST("faults/THROTTLED with retryAfter, then back to normal")
	{
		Resp	   *r;

		if (!set_faults(emu, "[{\"operation\":\"records/query\",\"action\":\"error\","
						"\"serverErrorCode\":\"THROTTLED\",\"retryAfter\":3}]"))
			continue;
		r = visit_query(emu);
		CHECK_CODE(r, "THROTTLED");
		CHECK_INT(jpi(r->json, "retryAfter", -1), 3);
		CHECKM(jps(r->json, "uuid") != NULL, "THROTTLED without uuid");
		CHECKM(jps(r->json, "reason") != NULL, "THROTTLED without reason");
		r = visit_query(emu);
		CHECKM(ok200(r), "the fault was for one request only; second got HTTP %ld", r->status);
	}

	TEST("faults/TRY_AGAIN_LATER and INTERNAL_ERROR, with a reason")
	{
		Resp	   *r;

		set_faults(emu, "[{\"operation\":\"records/query\",\"action\":\"error\","
				   "\"serverErrorCode\":\"TRY_AGAIN_LATER\",\"retryAfter\":1,\"reason\":\"maintenance\"}]");
		r = visit_query(emu);
		CHECK_CODE(r, "TRY_AGAIN_LATER");
		CHECK_STR(jps(r->json, "reason"), "maintenance");
		CHECK_INT(jpi(r->json, "retryAfter", -1), 1);
		set_faults(emu, "[{\"operation\":\"records/query\",\"action\":\"error\",\"serverErrorCode\":\"INTERNAL_ERROR\"}]");
		r = visit_query(emu);
		CHECK_CODE(r, "INTERNAL_ERROR");
		CHECKM(jp(r->json, "retryAfter") == NULL, "retryAfter given though the rule has none");
		CHECKM(ok200(visit_query(emu)), "not back to normal");
	}

	TEST("faults/delay")
	{
		Resp	   *r;

		set_faults(emu, "[{\"operation\":\"records/query\",\"action\":\"delay\",\"delayMs\":400}]");
		r = visit_query(emu);
		CHECKM(ok200(r), "a delayed request must still succeed, got HTTP %ld", r->status);
		CHECKM(r->secs >= 0.38, "delay of 400 ms took %.3f s", r->secs);
		r = visit_query(emu);
		CHECKM(r->secs < 0.3, "the second request was delayed too (%.3f s)", r->secs);
	}

	TEST("faults/respond: the rule's JSON answers instead, once")
	{
		Resp	   *r;
		Req			req = {0};

		set_faults(emu, "[{\"operation\":\"records/query\",\"action\":\"respond\","
				   "\"body\":{\"records\":[{\"recordName\":\"x\",\"serverErrorCode\":\"ACCESS_DENIED\"}]}}]");
		r = visit_query(emu);
		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "records"), 1);
		CHECK_STR(jps(r->json, "records[0].serverErrorCode"), "ACCESS_DENIED");
		r = visit_query(emu);
		CHECK_INT(jlen(r->json, "records"), 5);
		/* with a status; a rule without a body is refused */
		set_faults(emu, "[{\"action\":\"respond\",\"status\":418,\"body\":{}}]");
		req.path = dbpath("development", "public", "records/query");
		req.body = "{\"query\":{\"recordType\":\"Visit\"}}";
		req.cred = cred_s2s();
		req.raw = true;
		r = http(emu, &req);
		CHECK_INT(r->status, 418);
		CHECK_STR(r->body, "{}");
		r = admin(emu, "POST", "/_ckemu/faults", "[{\"action\":\"respond\"}]");
		CHECK_STATUS(r, 400);
		clear_faults(emu);
	}

	TEST("faults/drop_before: connection dropped, nothing applied")
	{
		Resp	   *r;

		set_faults(emu, "[{\"operation\":\"records/modify\",\"action\":\"drop_before\"}]");
		r = create_raw(emu, "fault-db-1");
		CHECKM(r->cc != CURLE_OK || r->status == 0, "expected a dropped connection, got HTTP %ld", r->status);
		CHECK_ITEM_CODE(lookup(emu, "fault-db-1"), 0, "NOT_FOUND");
		r = create_raw(emu, "fault-db-2");
		CHECKM(ok200(r), "the next modify failed: %ld", r->status);
	}

	TEST("faults/drop_after: connection dropped, change applied")
	{
		Resp	   *r;

		set_faults(emu, "[{\"operation\":\"records/modify\",\"action\":\"drop_after\"}]");
		r = create_raw(emu, "fault-da-1");
		CHECKM(r->cc != CURLE_OK || r->status == 0, "expected a dropped connection, got HTTP %ld", r->status);
		r = lookup(emu, "fault-da-1");
		CHECKM(jps(r->json, "records[0].serverErrorCode") == NULL &&
			   jps(r->json, "records[0].recordName") != NULL,
			   "drop_after must apply the change before dropping");
	}

	TEST("faults/truncate and malformed bodies")
	{
		Resp	   *r;

		set_faults(emu, "[{\"operation\":\"records/query\",\"action\":\"truncate\"}]");
		r = visit_query(emu);
		CHECKM(r->cc != CURLE_OK || r->json == NULL, "truncate: got a complete JSON body");
		CHECKM(r->cc != CURLE_OK || r->len > 0, "truncate: empty body (that is a drop)");
		set_faults(emu, "[{\"operation\":\"records/query\",\"action\":\"malformed\"}]");
		r = visit_query(emu);
		CHECKM(r->cc == CURLE_OK && r->json == NULL && r->len > 0,
			   "malformed: expected a non-JSON body, got cc=%d json=%s", r->cc, r->json ? "yes" : "no");
		CHECKM(ok200(visit_query(emu)), "not back to normal");
	}

	TEST("faults/repeat_marker answers with the request's own marker")
	{
		const char *page = "{\"resultsLimit\":5,\"query\":{\"recordType\":\"Visit\"}";
		Resp	   *r;
		const char *m;
		char	   *m1 = NULL;

		clear_faults(emu);
		r = ck_post(emu, "public", "records/query", tfmt("%s}", page));
		m = jps(r->json, "continuationMarker");
		CHECKM(m != NULL, "no continuationMarker on page 1");
		if (m != NULL)
		{
			m1 = strdup(m);
			set_faults(emu, "[{\"operation\":\"records/query\",\"action\":\"repeat_marker\"}]");
			r = ck_post(emu, "public", "records/query",
						tfmt("%s,\"continuationMarker\":\"%s\"}", page, m1));
			m = jps(r->json, "continuationMarker");
			CHECKM(ok200(r) && m != NULL && strcmp(m, m1) == 0,
				   "page 2 does not carry page 1's marker again");
			CHECKM(jps(r->json, "records[0].recordName") != NULL, "page 2 has no records");
			/* the rule fired once: the next answer moves on */
			r = ck_post(emu, "public", "records/query",
						tfmt("%s,\"continuationMarker\":\"%s\"}", page, m1));
			m = jps(r->json, "continuationMarker");
			CHECKM(m != NULL && strcmp(m, m1) != 0, "the marker repeated without a fault");
			free(m1);
		}
		clear_faults(emu);
	}

	TEST("faults/respond with a string answers with that text as it is")
	{
		static const char text[] = "{\"records\":[{\"recordName\":\"r\\u00001\"}]}";
		Resp	   *r;

		set_faults(emu, "[{\"operation\":\"records/query\",\"action\":\"respond\",\"status\":202,"
				   "\"body\":\"{\\\"records\\\":[{\\\"recordName\\\":\\\"r\\\\u00001\\\"}]}\"}]");
		r = visit_query(emu);
		CHECKM(r->cc == CURLE_OK && r->status == 202 && r->len == strlen(text) &&
			   memcmp(r->body, text, r->len) == 0,
			   "got HTTP %ld: %.*s", r->status, (int) r->len, r->body ? r->body : "");
		CHECKM(ok200(visit_query(emu)), "not back to normal");
		r = admin(emu, "POST", "/_ckemu/faults", "[{\"action\":\"respond\",\"body\":1}]");
		CHECKM(r->status == 400, "a respond rule whose body is a number: HTTP %ld", r->status);
		clear_faults(emu);
	}

	TEST("faults/by operation")
	{
		set_faults(emu, "[{\"operation\":\"records/lookup\",\"action\":\"error\",\"serverErrorCode\":\"THROTTLED\",\"count\":0}]");
		CHECKM(ok200(visit_query(emu)), "a records/lookup rule hit records/query");
		{
			Req			req = {0};
			Resp	   *r;

			req.path = dbpath("development", "public", "records/lookup");
			req.body = "{\"records\":[{\"recordName\":\"artist-0001\"}]}";
			req.cred = cred_s2s();
			r = http(emu, &req);
			CHECK_CODE(r, "THROTTLED");
		}
		clear_faults(emu);

		/* without "operation" a rule hits everything */
		set_faults(emu, "[{\"action\":\"error\",\"serverErrorCode\":\"TRY_AGAIN_LATER\",\"count\":2}]");
		CHECK_CODE(visit_query(emu), "TRY_AGAIN_LATER");
		CHECK_CODE(lookup(emu, "artist-0001"), "TRY_AGAIN_LATER");
		CHECKM(ok200(visit_query(emu)), "count 2 exceeded");
	}

	TEST("faults/after and count")
	{
		const char *p;

		set_faults(emu, "[{\"operation\":\"zones/list\",\"action\":\"error\",\"serverErrorCode\":\"TRY_AGAIN_LATER\","
				   "\"after\":2,\"count\":2}]");
		p = pattern(emu, 6);
		CHECK_STR(p, "..XX..");
	}

	TEST("faults/count 0 is unlimited; DELETE /_ckemu/faults clears")
	{
		set_faults(emu, "[{\"operation\":\"zones/list\",\"action\":\"error\",\"serverErrorCode\":\"TRY_AGAIN_LATER\",\"count\":0}]");
		CHECK_STR(pattern(emu, 8), "XXXXXXXX");
		clear_faults(emu);
		CHECK_STR(pattern(emu, 3), "...");
	}

	TEST("faults/seeded probability: same seed, same pattern")
	{
		const char *rule = "[{\"operation\":\"zones/list\",\"action\":\"error\",\"serverErrorCode\":\"TRY_AGAIN_LATER\","
		"\"count\":0,\"probability\":0.5,\"seed\":42}]";
		const char *p1,
				   *p2,
				   *p3;

		set_faults(emu, rule);
		p1 = pattern(emu, 32);
		clear_faults(emu);
		set_faults(emu, rule);
		p2 = pattern(emu, 32);
		clear_faults(emu);
		set_faults(emu, "[{\"operation\":\"zones/list\",\"action\":\"error\",\"serverErrorCode\":\"TRY_AGAIN_LATER\","
				   "\"count\":0,\"probability\":0.5,\"seed\":4242}]");
		p3 = pattern(emu, 32);
		clear_faults(emu);
		CHECK_STR(p2, p1);
		CHECKM(strchr(p1, 'X') && strchr(p1, '.'), "probability 0.5 gave %s", p1);
		CHECKM(strcmp(p1, p3) != 0, "seeds 42 and 4242 gave the same pattern %s", p1);
		CHECKM(strchr(p1, '?') == NULL, "unexpected outcome in %s", p1);
	}

	TEST("faults/bad rules are refused")
	{
		Resp	   *r;

		r = admin(emu, "POST", "/_ckemu/faults", "not json");
		CHECKM(r->status == 400, "non-JSON rules: expected 400, got %ld", r->status);
		r = admin(emu, "POST", "/_ckemu/faults", "[{\"action\":\"explode\"}]");
		CHECKM(r->status == 400, "unknown action: expected 400, got %ld", r->status);
		r = admin(emu, "POST", "/_ckemu/faults", "[{\"action\":\"error\",\"serverErrorCode\":\"NOT_A_CODE\"}]");
		CHECKM(r->status == 400, "unknown serverErrorCode: expected 400, got %ld", r->status);
		r = admin(emu, "POST", "/_ckemu/faults", "[{\"action\":\"error\",\"serverErrorCode\":\"THROTTLED\",\"probability\":2}]");
		CHECKM(r->status == 400, "probability 2: expected 400, got %ld", r->status);
		CHECKM(ok200(visit_query(emu)), "a refused rule was installed");
		clear_faults(emu);
	}

	TEST("stats/counts per operation; DELETE /_ckemu/stats zeroes")
	{
		Resp	   *r;
		int			i;

		r = admin(emu, "DELETE", "/_ckemu/stats", NULL);
		CHECK_STATUS(r, 200);
		for (i = 0; i < 3; i++)
			ck_post(emu, "public", "records/query", "{\"resultsLimit\":50,\"query\":{\"recordType\":\"Visit\"}}");
		ck_post(emu, "public", "records/lookup",
				"{\"records\":[{\"recordName\":\"artist-0001\"},{\"recordName\":\"artist-0002\"}]}");
		ck_post(emu, "public", "records/modify",
				"{\"operations\":[{\"operationType\":\"forceUpdate\",\"record\":{\"recordName\":\"st-1\",\"recordType\":\"AllTypes\"}},"
				"{\"operationType\":\"forceUpdate\",\"record\":{\"recordName\":\"st-2\",\"recordType\":\"AllTypes\"}}]}");

		r = admin(emu, "GET", "/_ckemu/stats", NULL);
		CHECK_STATUS(r, 200);
		CHECK_INT(stat_of(r, "records/query", "requests"), 3);
		CHECK_INT(stat_of(r, "records/query", "records_out"), 150);
		CHECK_INT(stat_of(r, "records/query", "records_in"), 0);
		CHECKM(stat_of(r, "records/query", "bytes_in") > 3 * 40, "bytes_in %lld",
			   (long long) stat_of(r, "records/query", "bytes_in"));
		CHECKM(stat_of(r, "records/query", "bytes_out") > 150 * 100, "bytes_out %lld",
			   (long long) stat_of(r, "records/query", "bytes_out"));
		CHECK_INT(stat_of(r, "records/lookup", "requests"), 1);
		CHECK_INT(stat_of(r, "records/lookup", "records_out"), 2);
		CHECK_INT(stat_of(r, "records/modify", "requests"), 1);
		CHECK_INT(stat_of(r, "records/modify", "records_in"), 2);
		CHECKM(jpi(r->json, "requests", -1) >= 5 && jpi(r->json, "requests", -1) <= 7,
			   "total requests %lld, expected 5 (plus admin calls at most)",
			   (long long) jpi(r->json, "requests", -1));

		admin(emu, "DELETE", "/_ckemu/stats", NULL);
		r = admin(emu, "GET", "/_ckemu/stats", NULL);
		CHECKM(jpi(r->json, "requests", -1) >= 0 && jpi(r->json, "requests", -1) <= 1,
			   "after DELETE: requests %lld", (long long) jpi(r->json, "requests", -1));
		CHECKM(stat_of(r, "records/query", "requests") <= 0, "after DELETE: records/query requests %lld",
			   (long long) stat_of(r, "records/query", "requests"));
	}

	/*
	 * 050_cancel's regress straggler: a 10 s delay outlived its cancelled
	 * client, ran late and landed in another suite's numbers.  The delay
	 * here is ten minutes, so only a wait that notices the hang-up can end
	 * within the minute allowed.
	 */
	TEST("stats/a delayed request whose client hung up is dropped, not run or counted")
	{
		Req			req = {0};
		Resp	   *r;

		emu_reset(emu);
		if (!set_faults(emu, "[{\"operation\":\"records/modify\",\"action\":\"delay\",\"delayMs\":600000}]"))
			continue;
		req.path = dbpath("development", "public", "records/modify");
		req.body = "{\"operations\":[{\"operationType\":\"create\",\"record\":{\"recordName\":\"hung-up-1\","
			"\"recordType\":\"AllTypes\",\"fields\":{\"i\":{\"value\":1}}}}]}";
		req.cred = cred_s2s();
		/* the rule fires as the delay begins */
		CHECK_INT(http_hang_up(emu, &req, "/_ckemu/faults", "faults[0].fired"),
				  CURLE_ABORTED_BY_CALLBACK);
		CHECKM(stats_wait(emu, "in_flight", 0, 60) == 0,
			   "ckemu still sleeps for a client that hung up (delay fault)");
		clear_faults(emu);

		r = admin(emu, "GET", "/_ckemu/stats", NULL);
		CHECK_INT(jpi(r->json, "requests", -1), 0);
		CHECK_INT(jpi(r->json, "abandoned", -1), 1);
		CHECK_INT(stat_of(r, "records/modify", "requests"), 0);
		CHECK_INT(stat_of(r, "records/modify", "abandoned"), 1);
		CHECK_INT(stat_of(r, "records/modify", "records_in"), 0);
		CHECK_INT(stat_of(r, "records/modify", "bytes_out"), 0);
		/* not carried out: the record was never written */
		CHECK_ITEM_CODE(lookup(emu, "hung-up-1"), 0, "NOT_FOUND");

		/* the next request on a fresh connection is answered and counted as usual */
		admin(emu, "DELETE", "/_ckemu/stats", NULL);
		CHECKM(ok200(visit_query(emu)), "query after the hang-up");
		r = admin(emu, "GET", "/_ckemu/stats", NULL);
		CHECK_INT(stat_of(r, "records/query", "requests"), 1);
		CHECK_INT(stat_of(r, "records/query", "records_out"), 5);
		CHECK_INT(jpi(r->json, "abandoned", -1), 0);
	}

	TEST("admin/reset restores the seed, clears faults and stats")
	{
		Cred		c = cred_web(CKT_TOKEN_C);
		Resp	   *r;
		const char *orig = jps(seed_record("artist-0008"), "fields.name.value");

		ck_post(emu, "public", "records/modify",
				"{\"operations\":[{\"operationType\":\"forceDelete\",\"record\":{\"recordName\":\"artist-0005\"}},"
				"{\"operationType\":\"forceUpdate\",\"record\":{\"recordName\":\"artist-0008\",\"recordType\":\"Artist\","
				"\"fields\":{\"name\":{\"value\":\"Renamed\"}}}},"
				"{\"operationType\":\"create\",\"record\":{\"recordName\":\"reset-new\",\"recordType\":\"AllTypes\"}}]}");
		ck_req(emu, &c, NULL, "development", "private", "zones/modify",
			   "{\"operations\":[{\"operationType\":\"create\",\"zone\":{\"zoneID\":{\"zoneName\":\"ResetZ\"}}}]}");
		CHECK_ITEM_CODE(lookup(emu, "artist-0005"), 0, "NOT_FOUND");
		set_faults(emu, "[{\"operation\":\"zones/lookup\",\"action\":\"error\",\"serverErrorCode\":\"THROTTLED\",\"count\":0}]");

		r = admin(emu, "POST", "/_ckemu/reset", NULL);
		CHECK_STATUS(r, 200);
		r = admin(emu, "GET", "/_ckemu/stats", NULL);
		CHECKM(jpi(r->json, "requests", -1) >= 0 && jpi(r->json, "requests", -1) <= 1,
			   "stats not cleared by reset: requests %lld", (long long) jpi(r->json, "requests", -1));

		r = ck_post(emu, "public", "records/lookup",
					"{\"records\":[{\"recordName\":\"artist-0005\"},{\"recordName\":\"artist-0008\"},"
					"{\"recordName\":\"reset-new\"}]}");
		CHECK_STR(jps(r->json, "records[0].recordName"), "artist-0005");
		CHECK(jps(r->json, "records[0].serverErrorCode") == NULL);
		CHECK_STR(jps(r->json, "records[1].fields.name.value"), orig);
		CHECK_ITEM_CODE(r, 2, "NOT_FOUND");
		r = ck_post(emu, "public", "zones/lookup", "{\"zones\":[{\"zoneName\":\"_defaultZone\"}]}");
		CHECK_STATUS(r, 200);
		r = ck_req(emu, &c, NULL, "development", "private", "zones/lookup", "{\"zones\":[{\"zoneName\":\"ResetZ\"}]}");
		CHECK_ZONE_CODE(r, 0, "ZONE_NOT_FOUND");
		/* the private seed is back too */
		{
			Cred		d = cred_web(CKT_TOKEN_D);

			r = ck_req(emu, &d, NULL, "development", "private", "records/query",
					   "{\"zoneID\":{\"zoneName\":\"Wishlist\"},\"query\":{\"recordType\":\"Favorite\"}}");
			CHECK_INT(jlen(r->json, "records"), 25);
		}
	}

	TEST("admin/--data: every seeded record is served")
	{
		const char *types[] = {"Artist", "Artwork", "Exhibition", "Visit", "Ticket"};
		int			i;

		for (i = 0; i < 5; i++)
		{
			NameSet    *got = query_all(emu, tfmt("{\"desiredKeys\":[],\"query\":{\"recordType\":\"%s\"}}", types[i]),
										200, NULL);
			NameSet    *want = seed_select(types[i], NULL, NULL);
			char		msg[300];

			if (got)
				CHECKM(nameset_equal(got, want, msg, sizeof(msg)), "%s: %s", types[i], msg);
		}
	}

	TEST("admin/dump: a JSON snapshot that loads back with --data")
	{
		Resp	   *r;
		const char *path = tfmt("%s/dump.json", g_tmpdir);
		FILE	   *f;
		Emu		   *again;
		EmuOpts		o = {0};

		ck_post(emu, "public", "records/modify",
				"{\"operations\":[{\"operationType\":\"create\",\"record\":{\"recordName\":\"dump-new\","
				"\"recordType\":\"AllTypes\",\"fields\":{\"s\":{\"value\":\"dumped \\u00e9\"},"
				"\"il\":{\"value\":[1,2,3]}}}},"
				"{\"operationType\":\"forceDelete\",\"record\":{\"recordName\":\"artist-0006\"}}]}");
		r = admin(emu, "GET", "/_ckemu/dump", NULL);
		CHECK_STATUS(r, 200);
		if (!CHECKM(r->json != NULL, "dump is not JSON"))
			continue;
		CHECKM(strstr(r->body, "\"artist-0001\"") && strstr(r->body, "\"dump-new\""),
			   "dump lacks records");
		CHECKM(jp(r->json, "seeds") != NULL, "dump is not in the seed format ({\"seeds\":[...]})");
		f = fopen(path, "w");
		if (!CHECK(f != NULL))
			continue;
		fwrite(r->body, 1, r->len, f);
		fclose(f);

		o.name = "from-dump";
		o.schema = o.keys = true;
		o.extra[0] = "--data";
		o.extra[1] = path;
		again = emu_start(&o);
		if (again == NULL)
			continue;
		r = ck_post(again, "public", "records/lookup",
					"{\"records\":[{\"recordName\":\"dump-new\"},{\"recordName\":\"artist-0006\"},"
					"{\"recordName\":\"artist-0001\"}]}");
		CHECK_STR(jps(r->json, "records[0].fields.s.value"), "dumped \xc3\xa9");
		CHECK_INT(jlen(r->json, "records[0].fields.il.value"), 3);
		CHECK_ITEM_CODE(r, 1, "NOT_FOUND");
		CHECK_STR(jps(r->json, "records[2].fields.name.value"), "葛飾 北斎");
		/* assets survive a dump too */
		CHECKM(jps(r->json, "records[2].fields.portrait.value.downloadURL") != NULL,
			   "asset lost in the dump: %s", jstr(jp(r->json, "records[2].fields.portrait")));
		emu_stop(again);
	}
}
