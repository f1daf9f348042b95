/*-------------------------------------------------------------------------
 *
 * t_auth.c
 *		Authentication: server-to-server signatures (checked against the
 *		openssl command line, which shares no code with ours), API tokens,
 *		web-auth tokens and their rotation, AUTHENTICATION_REQUIRED.
 *
 * test/ckemu/tests/t_auth.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ck/ck_util.h"
#include "ckt.h"

/* Run a shell command and return its trimmed standard output (test arena). */
static char *
capture(const char *cmd)
{
	FILE	   *p = popen(cmd, "r");
	char		buf[4096];
	size_t		n;

	if (p == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, p);
	if (pclose(p) != 0)
		return NULL;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return tfmt("%s", buf);
}

static bool
write_file(const char *path, const char *data, size_t len)
{
	FILE	   *f = fopen(path, "wb");
	bool		ok;

	if (f == NULL)
		return false;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

/* Send body to path with exactly these S2S headers. */
static Resp *
send_signed(Emu *emu, const char *path, const char *body, const char *key_id,
			const char *date, const char *sig)
{
	Req			req = {0};

	req.path = path;
	req.body = body;
	req.headers[0] = tfmt("X-Apple-CloudKit-Request-KeyID: %s", key_id);
	req.headers[1] = tfmt("X-Apple-CloudKit-Request-ISO8601Date: %s", date);
	if (sig)
		req.headers[2] = tfmt("X-Apple-CloudKit-Request-SignatureV1: %s", sig);
	return http(emu, &req);
}

static const char *query_body =
"{\"query\":{\"recordType\":\"Artist\",\"filterBy\":[{\"fieldName\":\"name\","
"\"comparator\":\"EQUALS\",\"fieldValue\":{\"value\":\"Frida Kahlo\",\"type\":\"STRING\"}}]}}";

static Resp *
signed_query(Emu *emu, Cred c)
{
	return ck_req(emu, &c, NULL, "development", "public", "records/query", query_body);
}

static const char *
caller_name(Emu *emu, const char *token)
{
	Cred		c = cred_web(token);
	Resp	   *r = ck_req(emu, &c, "GET", "development", "public", "users/caller", NULL);
	const char *name = jps(r->json, "users[0].userRecordName");

	if (name == NULL)
		name = jps(r->json, "userRecordName");
	return name;
}

static bool
is_user_record_name(const char *s)
{
	int			i;

	if (s == NULL || strlen(s) != 33 || s[0] != '_')
		return false;
	for (i = 1; i < 33; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

void
group_auth(void)
{
	Emu		   *emu = emu_main();
	Emu		   *rot;
	EmuOpts		ro = {0};

	if (emu == NULL)
		return;
	emu_reset(emu);

	TEST("auth/a signature made with the openssl command line is accepted")
	{
		const char *path = dbpath("development", "public", "records/query");
		const char *bodyfile = tfmt("%s/auth-body.json", g_tmpdir);
		const char *msgfile = tfmt("%s/auth-msg.txt", g_tmpdir);
		char		date[21];
		char	   *hash;
		char	   *sig;
		char	   *message;
		char	   *tampered;
		Resp	   *r;

		ck_iso8601_utc(time(NULL), date);
		if (!CHECK(write_file(bodyfile, query_body, strlen(query_body))))
			continue;
		hash = capture(tfmt("openssl dgst -sha256 -binary %s | base64 -w0", bodyfile));
		if (!CHECKM(hash && strlen(hash) == 44, "openssl body hash failed"))
			continue;
		message = tfmt("%s:%s:%s", date, hash, path);
		if (!CHECK(write_file(msgfile, message, strlen(message))))
			continue;
		sig = capture(tfmt("openssl dgst -sha256 -sign %s %s | base64 -w0", g_key_pem, msgfile));
		if (!CHECKM(sig && strlen(sig) > 80, "openssl signing failed"))
			continue;

		r = send_signed(emu, path, query_body, CKT_KEY_ID, date, sig);
		CHECK_STATUS(r, 200);
		CHECK_STR(jps(r->json, "records[0].fields.name.value"), "Frida Kahlo");

		/* one body byte changed: the body hash no longer matches */
		tampered = tfmt("%s", query_body);
		*strstr(tampered, "Frida") = 'G';
		r = send_signed(emu, path, tampered, CKT_KEY_ID, date, sig);
		CHECK_CODE(r, "AUTHENTICATION_FAILED");

		/* the same signature on another path */
		r = send_signed(emu, dbpath("development", "public", "records/lookup"), query_body,
						CKT_KEY_ID, date, sig);
		CHECK_CODE(r, "AUTHENTICATION_FAILED");

		/* and with another date */
		ck_iso8601_utc(time(NULL) - 61, date);
		r = send_signed(emu, path, query_body, CKT_KEY_ID, date, sig);
		CHECK_CODE(r, "AUTHENTICATION_FAILED");
	}

	TEST("auth/our signature is accepted and the reason is Apple's")
	{
		Resp	   *r = signed_query(emu, cred_s2s());

		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "records"), 1);

		r = send_signed(emu, dbpath("development", "public", "records/query"), query_body,
						CKT_KEY_ID, "2016-01-25T22:15:43Z", "MEUCIQDx");
		CHECK_CODE(r, "AUTHENTICATION_FAILED");
		CHECK_STR(jps(r->json, "reason"), "Authentication failed");
	}

	TEST("auth/unknown key ID")
	{
		Cred		c = cred_s2s();

		c.key_id = "no-such-key";
		CHECK_CODE(signed_query(emu, c), "AUTHENTICATION_FAILED");
	}

	TEST("auth/signed with another key")
	{
		Cred		c = cred_s2s();

		c.key = g_other_key;
		CHECK_CODE(signed_query(emu, c), "AUTHENTICATION_FAILED");
	}

	TEST("auth/stale and future dates")
	{
		Cred		c = cred_s2s();

		c.date_offset = -20 * 60;
		CHECK_CODE(signed_query(emu, c), "AUTHENTICATION_FAILED");
		c.date_offset = 20 * 60;
		CHECK_CODE(signed_query(emu, c), "AUTHENTICATION_FAILED");
		c.date_offset = -120;
		CHECK_STATUS(signed_query(emu, c), 200);
		c.date_offset = 120;
		CHECK_STATUS(signed_query(emu, c), 200);
	}

	TEST("auth/malformed date or missing headers")
	{
		Cred		c = cred_s2s();
		const char *path = dbpath("development", "public", "records/query");
		char		date[21];

		c.date = "2024-01-01 10:00:00";
		CHECK_CODE(signed_query(emu, c), "AUTHENTICATION_FAILED");
		c.date = "yesterday";
		CHECK_CODE(signed_query(emu, c), "AUTHENTICATION_FAILED");

		ck_iso8601_utc(time(NULL), date);
		CHECK_CODE(send_signed(emu, path, query_body, CKT_KEY_ID, date, NULL),
				   "AUTHENTICATION_FAILED");
		CHECK_CODE(send_signed(emu, path, query_body, CKT_KEY_ID, date, "not base64 !!"),
				   "AUTHENTICATION_FAILED");
		CHECK_CODE(send_signed(emu, path, query_body, CKT_KEY_ID, date, ""),
				   "AUTHENTICATION_FAILED");
	}

	TEST("auth/the signed path includes the query string (CloudKit JS)")
	{
		Req			req = {0};
		Resp	   *r;

		req.path = tfmt("%s?ckjsBuildVersion=2.6.4&ckjsVersion=2.6.4&clientId=ckt-%d",
						dbpath("development", "public", "records/query"), 7);
		req.body = query_body;
		req.cred = cred_s2s();
		r = http(emu, &req);
		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "records"), 1);

		/* signing the bare path while sending a query string must fail */
		req.cred.sign_bare_path = true;
		r = http(emu, &req);
		CHECK_CODE(r, "AUTHENTICATION_FAILED");
	}

	TEST("auth/GET signed over the empty body")
	{
		Cred		c = cred_s2s();
		Resp	   *r = ck_req(emu, &c, "GET", "development", "public", "zones/list", NULL);

		CHECK_STATUS(r, 200);
	}

	TEST("auth/server-to-server keys reach only the public database")
	{
		Resp	   *r = ck_post(emu, "private", "records/query",
								"{\"query\":{\"recordType\":\"Favorite\"}}");

		CHECKM(r->status >= 400 && r->status < 500, "expected a 4xx, got %ld", r->status);
		CHECKM(jps(r->json, "serverErrorCode") != NULL, "no serverErrorCode");
		CHECKM(jp(r->json, "records") == NULL, "private records returned to an S2S key");
	}

	TEST("auth/API token alone reads the public database")
	{
		Cred		c = cred_api();
		Resp	   *r = signed_query(emu, c);

		CHECK_STATUS(r, 200);
		CHECK_STR(jps(r->json, "records[0].recordName"), "artist-0038");
	}

	TEST("auth/unknown API token or no credentials")
	{
		Cred		c = cred_api();
		Resp	   *r;

		c.api_token = "not-a-token";
		CHECK_CODE(signed_query(emu, c), "AUTHENTICATION_FAILED");

		c = (Cred) {0};
		r = signed_query(emu, c);
		CHECKM(r->status == 401 || r->status == 421, "no credentials: expected 401 or 421, got %ld",
			   r->status);
		CHECKM(jp(r->json, "records") == NULL, "records returned without credentials");
	}

	TEST("auth/API token without a user: writes and private get 421 with redirectURL")
	{
		Cred		c = cred_api();
		Cred		s2s = cred_s2s();
		Resp	   *r;
		struct
		{
			const char *method;
			const char *db;
			const char *op;
			const char *body;
		}			reqs[] = {
			{NULL, "public", "records/modify",
				"{\"operations\":[{\"operationType\":\"create\",\"record\":{\"recordName\":\"auth-anon\","
			"\"recordType\":\"AllTypes\",\"fields\":{\"s\":{\"value\":\"x\"}}}}]}"},
			{NULL, "private", "records/query", "{\"query\":{\"recordType\":\"Favorite\"}}"},
			{"GET", "private", "zones/list", NULL},
			{"GET", "public", "users/caller", NULL},
			{NULL, "private", "changes/database", "{}"},
		};
		int			i;

		for (i = 0; i < 5; i++)
		{
			r = ck_req(emu, &c, reqs[i].method, "development", reqs[i].db, reqs[i].op, reqs[i].body);
			CHECK_CODE(r, "AUTHENTICATION_REQUIRED");
			CHECKM(jps(r->json, "redirectURL") && strncmp(jps(r->json, "redirectURL"), "http", 4) == 0,
				   "%s %s: AUTHENTICATION_REQUIRED without a redirectURL", reqs[i].db, reqs[i].op);
		}
		r = ck_req(emu, &s2s, NULL, "development", "public", "records/lookup",
				   "{\"records\":[{\"recordName\":\"auth-anon\"}]}");
		CHECK_ITEM_CODE(r, 0, "NOT_FOUND");
	}

	TEST("auth/web-auth token: a signed-in user writes as themselves")
	{
		Cred		a = cred_web(CKT_TOKEN_A);
		const char *alice = caller_name(emu, CKT_TOKEN_A);
		const char *bob = caller_name(emu, CKT_TOKEN_B);
		Resp	   *r;

		CHECKM(is_user_record_name(alice), "users/caller userRecordName \"%s\" is not _<32 hex>",
			   alice ? alice : "(none)");
		CHECKM(alice && bob && strcmp(alice, bob) != 0, "two users got the same userRecordName");
		CHECK_STR(caller_name(emu, CKT_TOKEN_D), CKT_SEED_OWNER);

		r = ck_req(emu, &a, NULL, "development", "public", "records/modify",
				   "{\"operations\":[{\"operationType\":\"create\",\"record\":{\"recordName\":\"auth-alice\","
				   "\"recordType\":\"AllTypes\",\"fields\":{\"s\":{\"value\":\"by alice\"}}}}]}");
		CHECK_STATUS(r, 200);
		CHECK_STR(jps(r->json, "records[0].created.userRecordName"), alice);
		CHECK_STR(jps(r->json, "records[0].modified.userRecordName"), alice);

		/* the session may also be passed as ckSession */
		a.web_param = "ckSession";
		r = ck_req(emu, &a, NULL, "development", "private", "records/query",
				   "{\"query\":{\"recordType\":\"Favorite\"}}");
		CHECK_STATUS(r, 200);

		/* without rotation a token stays valid */
		CHECK_STR(caller_name(emu, CKT_TOKEN_A), alice);
	}

	TEST("auth/unknown web-auth token")
	{
		Cred		c = cred_web("no-such-session");
		Resp	   *r = ck_req(emu, &c, NULL, "development", "private", "records/query",
							   "{\"query\":{\"recordType\":\"Favorite\"}}");

		CHECKM(r->status == 401 || r->status == 421, "expected 401 or 421, got %ld", r->status);
		CHECKM(jp(r->json, "records") == NULL, "records returned for an unknown session");
	}

	/* rotation needs its own instance */
	ro.name = "rotate";
	ro.keys = ro.tokens = ro.rotate = true;
	ro.schema = true;
	if (!test_selected("auth/web-auth token rotation"))
		return;
	rot = emu_start(&ro);
	if (rot == NULL)
		return;

	TEST("auth/web-auth token rotation: each token is good for one round trip")
	{
		const char *tok = CKT_TOKEN_A;
		const char *used[4];
		int			i;
		Resp	   *r;

		for (i = 0; i < 4; i++)
		{
			Cred		c = cred_web(tok);

			r = ck_req(rot, &c, NULL, "development", "private", "records/query",
					   "{\"query\":{\"recordType\":\"Favorite\"}}");
			if (!CHECK_STATUS(r, 200))
				break;
			if (!CHECKM(r->web_token[0] != '\0', "no X-Apple-CloudKit-Web-Auth-Token header"))
				break;
			CHECKM(strcmp(r->web_token, tok) != 0, "the replacement token equals the old one");
			used[i] = tok;
			tok = tfmt("%s", r->web_token);

			/* the old token is dead now */
			c = cred_web(used[i]);
			r = ck_req(rot, &c, NULL, "development", "private", "records/query",
					   "{\"query\":{\"recordType\":\"Favorite\"}}");
			CHECKM(r->status == 401 || r->status == 421,
				   "round %d: a used token must be refused, got HTTP %ld", i, r->status);
		}

		/* the rotated token still names the same user */
		{
			Cred		c = cred_web(tok);

			r = ck_req(rot, &c, "GET", "development", "public", "users/caller", NULL);
			CHECK_STATUS(r, 200);
			CHECKM(r->web_token[0] != '\0', "users/caller did not rotate the token");
		}
	}
	emu_stop(rot);
}
