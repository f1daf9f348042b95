/*-------------------------------------------------------------------------
 *
 * t_load.c
 *		Concurrency and robustness: --latency-ms without serialising,
 *		keep-alive clients in parallel, throughput (measured and printed,
 *		never asserted), fresh error uuids, and bad requests of every kind
 *		(malformed JSON, wrong JSON types, a 20 MiB body) that must get
 *		CloudKit error envelopes while ckemu stays up.
 *
 * test/ckemu/tests/t_load.c
 *
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck/ck_util.h"
#include "ckt.h"

typedef struct Worker
{
	pthread_t	thread;
	Emu		   *emu;
	int			id;
	int			requests;		/* to make */
	double		seconds;		/* or: run this long */
	int			ok;				/* answered as expected */
	int			failed;
	long		connects;		/* new connections made */
	long		records;
	double		elapsed;
	char		first_error[200];
} Worker;

static void
worker_fail(Worker *w, Resp *r, const char *what)
{
	w->failed++;
	if (!w->first_error[0])
		snprintf(w->first_error, sizeof(w->first_error), "%s: cc=%d HTTP %ld %.100s", what,
				 r->cc, r->status, r->body);
}

/* Queries, lookups and writes over one keep-alive handle. */
static void *
keepalive_worker(void *arg)
{
	Worker	   *w = arg;
	CURL	   *curl = curl_easy_init();
	int			i;

	for (i = 0; i < w->requests; i++)
	{
		Req			req = {0};
		Resp	   *r;
		int			kind = i % 3;

		req.curl = curl;
		req.cred = cred_s2s();
		req.raw = req.detached = true;
		if (kind == 0)
		{
			req.path = dbpath("development", "public", "records/query");
			req.body = tfmt("{\"resultsLimit\":10,\"query\":{\"recordType\":\"Ticket\",\"filterBy\":[{\"fieldName\":\"batch\","
							"\"comparator\":\"EQUALS\",\"fieldValue\":{\"value\":%d,\"type\":\"INT64\"}}]}}",
							(w->id * 13 + i) % 100);
		}
		else if (kind == 1)
		{
			req.path = dbpath("development", "public", "records/lookup");
			req.body = tfmt("{\"records\":[{\"recordName\":\"ticket-%05d\"}]}", w->id * 1000 + i);
		}
		else
		{
			req.path = dbpath("development", "public", "records/modify");
			req.body = tfmt("{\"operations\":[{\"operationType\":\"forceReplace\",\"record\":{\"recordName\":"
							"\"ka-%d-%d\",\"recordType\":\"AllTypes\",\"fields\":{\"i\":{\"value\":%d}}}}]}",
							w->id, i, i);
		}
		r = http(w->emu, &req);
		w->connects += r->num_connects;
		if (r->cc != CURLE_OK || r->status != 200)
			worker_fail(w, r, req.path);
		else if (kind == 0 && jlen(r->json, "records") != 10)
			worker_fail(w, r, "query returned the wrong number of records");
		else if (kind == 1 && jps(r->json, "records[0].recordName") == NULL)
			worker_fail(w, r, "lookup");
		else if (kind == 2 && jps(r->json, "records[0].serverErrorCode") != NULL)
			worker_fail(w, r, "modify");
		else
			w->ok++;
		resp_free(r);
	}
	curl_easy_cleanup(curl);
	return NULL;
}

/* Pull 200-record pages of Ticket for w->seconds. */
static void *
throughput_worker(void *arg)
{
	Worker	   *w = arg;
	CURL	   *curl = curl_easy_init();
	char	   *marker = NULL;
	double		t0 = now_secs();

	while (now_secs() - t0 < w->seconds)
	{
		Req			req = {0};
		Resp	   *r;
		json_object *body = json_object_new_object();
		json_object *q = json_object_new_object();

		json_object_object_add(q, "recordType", json_object_new_string("Ticket"));
		json_object_object_add(body, "query", q);
		json_object_object_add(body, "resultsLimit", json_object_new_int(200));
		if (marker)
			json_object_object_add(body, "continuationMarker", json_object_new_string(marker));
		req.curl = curl;
		req.path = dbpath("development", "public", "records/query");
		req.body = json_object_to_json_string(body);
		req.cred = cred_s2s();
		req.raw = req.detached = true;
		r = http(w->emu, &req);
		json_object_put(body);
		free(marker);
		marker = NULL;
		if (r->cc != CURLE_OK || r->status != 200)
		{
			worker_fail(w, r, "query page");
			resp_free(r);
			break;
		}
		w->ok++;
		w->records += jlen(r->json, "records");
		if (jps(r->json, "continuationMarker"))
			marker = strdup(jps(r->json, "continuationMarker"));
		resp_free(r);
	}
	w->elapsed = now_secs() - t0;
	free(marker);
	curl_easy_cleanup(curl);
	return NULL;
}

static void
run_workers(Worker *w, int n, void *(*fn) (void *))
{
	int			i;

	for (i = 0; i < n; i++)
		pthread_create(&w[i].thread, NULL, fn, &w[i]);
	for (i = 0; i < n; i++)
		pthread_join(w[i].thread, NULL);
}

static double
throughput(Emu *emu, int clients, double seconds)
{
	Worker		w[4];
	long		records = 0;
	double		elapsed = 0;
	int			i;

	memset(w, 0, sizeof(w));
	for (i = 0; i < clients; i++)
	{
		w[i].emu = emu;
		w[i].seconds = seconds;
	}
	run_workers(w, clients, throughput_worker);
	for (i = 0; i < clients; i++)
	{
		records += w[i].records;
		if (w[i].elapsed > elapsed)
			elapsed = w[i].elapsed;
		CHECKM(w[i].failed == 0, "throughput client %d: %s", i, w[i].first_error);
	}
	return elapsed > 0 ? records / elapsed : 0;
}

/* A bad request must get a 4xx envelope and leave ckemu running. */
static void
expect_bad(Emu *emu, const Cred *c, const char *db, const char *op, const char *body,
		   const char *want)
{
	Req			req = {0};
	Resp	   *r;
	const char *code;

	req.path = dbpath("development", db, op);
	req.body = body;
	req.cred = *c;
	r = http(emu, &req);
	code = resp_code(r, 0);
	/* changes/zone reports bad zone entries per zone, inside HTTP 200 */
	if (code == NULL && r->status == 200)
		code = jps(r->json, "zones[0].serverErrorCode");
	if (want)
		CHECKM(code && strcmp(code, want) == 0, "%s %.60s: expected %s, got %s (HTTP %ld)", op, body,
			   want, code ? code : "no error", r->status);
	else
		CHECKM(r->status >= 400 && r->status < 500 && jps(r->json, "serverErrorCode"),
			   "%s %.60s: expected a 4xx CloudKit error, got HTTP %ld", op, body, r->status);
}

void
group_load(void)
{
	Emu		   *emu = emu_main();

	if (emu == NULL)
		return;
	emu_reset(emu);

	if (test_selected("load/--latency-ms"))
	{
		EmuOpts		o = {0};
		Emu		   *slow;

		/*
		 * Ten minutes of latency: the four requests can only be seen waiting
		 * at the same moment if ckemu does not serialise them.  No clock is
		 * read; the bound of admin_wait only ends a failing run.
		 */
		o.name = "latency";
		o.keys = o.schema = true;
		o.latency_ms = 600000;
		slow = emu_start(&o);
		if (slow)
		{
			TEST("load/--latency-ms does not serialise 4 concurrent requests")
			{
				Req			req = {0};

				req.method = "GET";
				req.path = dbpath("development", "public", "zones/list");
				req.cred = cred_s2s();
				CHECK_INT(http_hang_up_n(slow, &req, 4, "/_ckemu/stats", "waiting"),
						  CURLE_ABORTED_BY_CALLBACK);
				CHECKM(stats_wait(slow, "in_flight", 0, 60) == 0,
					   "ckemu still holds requests whose clients hung up");
				CHECK_INT(jpi(admin(slow, "GET", "/_ckemu/stats", NULL)->json, "abandoned", -1), 4);
			}
			emu_stop(slow);
		}
	}

	if (test_selected("load/--latency-ms: a client"))
	{
		EmuOpts		o = {0};
		Emu		   *slow;

		/* ten minutes: only a wait that notices the hang-up ends in time */
		o.name = "latency-hang-up";
		o.keys = o.schema = true;
		o.latency_ms = 600000;
		slow = emu_start(&o);
		if (slow)
		{
			TEST("load/--latency-ms: a client that hangs up ends the wait, and is not counted")
			{
				Req			req = {0};
				Resp	   *r;

				req.method = "GET";
				req.path = dbpath("development", "public", "zones/list");
				req.cred = cred_s2s();
				CHECK_INT(http_hang_up(slow, &req, "/_ckemu/stats", "in_flight"),
						  CURLE_ABORTED_BY_CALLBACK);
				CHECKM(stats_wait(slow, "in_flight", 0, 60) == 0,
					   "ckemu still sleeps for a client that hung up (--latency-ms)");
				r = admin(slow, "GET", "/_ckemu/stats", NULL);
				CHECK_INT(jpi(r->json, "requests", -1), 0);
				CHECK_INT(jpi(r->json, "abandoned", -1), 1);
				CHECK_INT(jpi(r->json, "operations.zones/list.abandoned", -1), 1);
				CHECK_INT(jpi(r->json, "operations.zones/list.requests", -1), 0);
			}
			emu_stop(slow);
		}
	}

	TEST("load/concurrent keep-alive clients: 4 threads x 50 requests")
	{
		Worker		w[4];
		int			i,
					total_ok = 0;
		NameSet    *names = NULL;

		memset(w, 0, sizeof(w));
		for (i = 0; i < 4; i++)
		{
			w[i].emu = emu;
			w[i].id = i;
			w[i].requests = 50;
		}
		run_workers(w, 4, keepalive_worker);
		for (i = 0; i < 4; i++)
		{
			total_ok += w[i].ok;
			CHECKM(w[i].failed == 0, "thread %d: %d failures, first: %s", i, w[i].failed, w[i].first_error);
			CHECKM(w[i].connects <= 2, "thread %d opened %ld connections for 50 requests (no keep-alive?)",
				   i, w[i].connects);
		}
		CHECK_INT(total_ok, 200);

		/* every write landed */
		names = query_all(emu, "{\"query\":{\"recordType\":\"AllTypes\",\"filterBy\":[{\"fieldName\":\"i\","
						  "\"comparator\":\"GREATER_THAN_OR_EQUALS\",\"fieldValue\":{\"value\":0,\"type\":\"INT64\"}}]}}",
						  200, NULL);
		CHECKM(names && names->n == 4 * 16, "expected %d ka-* records, found %d", 4 * 16,
			   names ? names->n : -1);
	}

	TEST("load/throughput of 200-record pages (printed, not asserted)")
	{
		double		one = throughput(emu, 1, 1.5);
		double		two = throughput(emu, 2, 1.5);

		note("ckemu: throughput 1 client: %.0f records/s", one);
		note("ckemu: throughput 2 clients: %.0f records/s", two);
		CHECK(one > 0 && two > 0);
	}

	TEST("errors/every error carries a fresh uuid")
	{
		Resp	   *a = ck_post(emu, "public", "records/query", "{\"query\":{\"recordType\":\"NoSuchType\"}}");
		Resp	   *b = ck_post(emu, "public", "records/query", "{\"query\":{\"recordType\":\"NoSuchType\"}}");
		Cred		bad = cred_s2s();
		Resp	   *c,
				   *d;

		bad.key_id = "nope";
		c = ck_req(emu, &bad, NULL, "development", "public", "records/query", "{}");
		d = ck_req(emu, &bad, NULL, "development", "public", "records/query", "{}");
		CHECK_CODE(a, "BAD_REQUEST");
		CHECK_CODE(b, "BAD_REQUEST");
		CHECKM(jps(a->json, "uuid") && jps(b->json, "uuid") && strcmp(jps(a->json, "uuid"), jps(b->json, "uuid")) != 0,
			   "two identical bad requests got the same uuid");
		CHECK_CODE(c, "AUTHENTICATION_FAILED");
		CHECKM(jps(c->json, "uuid") && jps(d->json, "uuid") && strcmp(jps(c->json, "uuid"), jps(d->json, "uuid")) != 0,
			   "two identical 401s got the same uuid");
		CHECKM(jps(a->json, "uuid") && strlen(jps(a->json, "uuid")) == 36, "uuid is not in UUID form: %s",
			   jps(a->json, "uuid"));
	}

	TEST("badreq/malformed JSON and wrong JSON types")
	{
		Cred		s = cred_s2s();
		Cred		c = cred_web(CKT_TOKEN_C);
		const char *query_bodies[] = {
			"{not json", "", "null", "[]", "42", "\"string\"", "{}",
			"{\"query\":\"x\"}", "{\"query\":{}}", "{\"query\":{\"recordType\":5}}",
			"{\"query\":{\"recordType\":\"Visit\"},\"resultsLimit\":\"abc\"}",
			"{\"query\":{\"recordType\":\"Visit\"},\"resultsLimit\":-5}",
			"{\"query\":{\"recordType\":\"Visit\"},\"resultsLimit\":1.5}",
			"{\"query\":{\"recordType\":\"Visit\",\"filterBy\":\"x\"}}",
			"{\"query\":{\"recordType\":\"Visit\",\"filterBy\":[5]}}",
			"{\"query\":{\"recordType\":\"Visit\",\"sortBy\":\"x\"}}",
			"{\"query\":{\"recordType\":\"Visit\",\"sortBy\":[{\"fieldName\":5}]}}",
			"{\"query\":{\"recordType\":\"Visit\"},\"desiredKeys\":\"x\"}",
			"{\"query\":{\"recordType\":\"Visit\"},\"desiredKeys\":[1,2]}",
			"{\"query\":{\"recordType\":\"Visit\"},\"zoneID\":\"x\"}",
			"{\"query\":{\"recordType\":\"Visit\"},\"continuationMarker\":5}",
			"{\"query\":{\"recordType\":\"Visit\"}} trailing",
		};
		const char *modify_bodies[] = {
			"{\"operations\":5}", "{\"operations\":\"x\"}", "{}", "{\"operations\":{}}",
			"{\"operations\":[],\"atomic\":\"yes\"}",
		};
		const char *modify_item_bodies[] = {
			"{\"operations\":[5]}",
			"{\"operations\":[{\"operationType\":\"create\",\"record\":\"x\"}]}",
			"{\"operations\":[{\"operationType\":5,\"record\":{\"recordName\":\"b1\",\"recordType\":\"AllTypes\"}}]}",
			"{\"operations\":[{\"operationType\":\"create\",\"record\":{\"recordName\":7,\"recordType\":\"AllTypes\"}}]}",
			"{\"operations\":[{\"operationType\":\"create\",\"record\":{\"recordName\":\"b2\",\"recordType\":\"AllTypes\",\"fields\":[]}}]}",
		};
		const char *lookup_bodies[] = {
			"{\"records\":\"x\"}", "{}", "{\"records\":5}",
		};
		int			i;

		for (i = 0; i < (int) (sizeof(query_bodies) / sizeof(query_bodies[0])); i++)
			expect_bad(emu, &s, "public", "records/query", query_bodies[i], "BAD_REQUEST");
		for (i = 0; i < (int) (sizeof(modify_bodies) / sizeof(modify_bodies[0])); i++)
			expect_bad(emu, &s, "public", "records/modify", modify_bodies[i], "BAD_REQUEST");
		for (i = 0; i < (int) (sizeof(modify_item_bodies) / sizeof(modify_item_bodies[0])); i++)
			expect_bad(emu, &s, "public", "records/modify", modify_item_bodies[i], "BAD_REQUEST");
		for (i = 0; i < (int) (sizeof(lookup_bodies) / sizeof(lookup_bodies[0])); i++)
			expect_bad(emu, &s, "public", "records/lookup", lookup_bodies[i], "BAD_REQUEST");
		expect_bad(emu, &s, "public", "records/lookup", "{\"records\":[{\"recordName\":5}]}", "BAD_REQUEST");
		expect_bad(emu, &s, "public", "zones/lookup", "{\"zones\":\"x\"}", "BAD_REQUEST");
		expect_bad(emu, &s, "public", "assets/upload", "{\"tokens\":\"x\"}", "BAD_REQUEST");
		expect_bad(emu, &c, "private", "zones/modify", "{\"operations\":\"x\"}", "BAD_REQUEST");
		expect_bad(emu, &c, "private", "changes/zone", "{\"zones\":\"x\"}", "BAD_REQUEST");
		expect_bad(emu, &c, "private", "changes/zone", "{\"zones\":[{\"zoneID\":5}]}", "BAD_REQUEST");
		expect_bad(emu, &c, "private", "changes/database", "{\"syncToken\":5}", "BAD_REQUEST");
		ck_req(emu, &c, NULL, "development", "private", "zones/modify",
			   "{\"operations\":[{\"operationType\":\"create\",\"zone\":{\"zoneID\":{\"zoneName\":\"BadReqZ\"}}}]}");
		expect_bad(emu, &c, "private", "changes/zone", "{\"zones\":[{\"zoneID\":{\"zoneName\":\"BadReqZ\"}}],"
				   "\"resultsLimit\":\"many\"}", "BAD_REQUEST");
		expect_bad(emu, &c, "private", "changes/zone", "{\"zones\":[{\"zoneID\":{\"zoneName\":\"BadReqZ\"},"
				   "\"resultsLimit\":\"many\"}]}", "BAD_REQUEST");
		expect_bad(emu, &c, "private", "changes/zone", "{\"zones\":[{\"zoneID\":{\"zoneName\":\"BadReqZ\"}}],"
				   "\"desiredKeys\":\"x\"}", "BAD_REQUEST");
		CHECKM(emu_alive(emu), "ckemu died on a malformed request");
	}

	TEST("badreq/deep nesting, NUL bytes, invalid UTF-8")
	{
		Cred		s = cred_s2s();
		size_t		depth = 100000;
		char	   *deep = malloc(depth * 2 + 1);
		Req			req = {0};
		Resp	   *r;
		static const char nul_body[] = "{\"query\":{\"recordType\":\"Vi\0sit\"}}";

		memset(deep, '[', depth);
		memset(deep + depth, ']', depth);
		deep[depth * 2] = '\0';
		expect_bad(emu, &s, "public", "records/query", deep, "BAD_REQUEST");
		free(deep);

		req.path = dbpath("development", "public", "records/query");
		req.body = nul_body;
		req.body_len = sizeof(nul_body) - 1;
		req.cred = s;
		r = http(emu, &req);
		CHECKM(r->status == 400, "a NUL byte in the body: expected 400, got %ld", r->status);

		expect_bad(emu, &s, "public", "records/modify",
				   "{\"operations\":[{\"operationType\":\"create\",\"record\":{\"recordName\":\"utf8-bad\","
				   "\"recordType\":\"AllTypes\",\"fields\":{\"s\":{\"value\":\"\xff\xfe\"}}}}]}", "BAD_REQUEST");
		CHECKM(emu_alive(emu), "ckemu died");
	}

	TEST("badreq/a 20 MiB body is refused with a CloudKit error")
	{
		size_t		n = 20 * 1024 * 1024;
		char	   *big = malloc(n + 1);
		Req			req = {0};
		Resp	   *r;
		const char *head = "{\"records\":[{\"recordName\":\"";

		memcpy(big, head, strlen(head));
		memset(big + strlen(head), 'a', n - strlen(head) - 4);
		memcpy(big + n - 4, "\"}]}", 4);
		big[n] = '\0';
		req.path = dbpath("development", "public", "records/lookup");
		req.body = big;
		req.body_len = n;
		req.cred = cred_s2s();
		req.timeout_ms = 60000;
		r = http(emu, &req);
		CHECKM(r->cc == CURLE_OK, "20 MiB body: transport error %s (the server must answer)",
			   curl_easy_strerror(r->cc));
		CHECKM(r->status == 400 || r->status == 413, "20 MiB body: expected 400 or 413, got %ld", r->status);
		CHECKM(jps(r->json, "serverErrorCode") != NULL, "20 MiB body: no CloudKit error envelope");
		free(big);
		CHECKM(emu_alive(emu), "ckemu died on a 20 MiB body");
	}
}
