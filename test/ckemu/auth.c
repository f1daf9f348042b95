/*-------------------------------------------------------------------------
 *
 * auth.c
 *		Who is calling: server-to-server signatures, API tokens, and
 *		signed-in users' web-auth tokens (fact sheet section 2).
 *
 * An S2S request carries KeyID, ISO8601Date and SignatureV1 headers; the
 * signature covers date:base64(sha256(body)):subpath, where subpath is the
 * request target exactly as received (CloudKit JS signs its query string).
 * S2S reaches only the public database, as the developer who owns the key.
 *
 * In API-token mode the public database can be read anonymously; anything
 * else needs ckWebAuthToken (or ckSession) naming a signed-in user, and
 * without one the answer is 421 AUTHENTICATION_REQUIRED with a sign-in URL
 * on ckemu itself.  With --rotate-web-auth-tokens a token is good for one
 * round trip: it dies when used and the answer carries its replacement.
 *
 * test/ckemu/auth.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ckemu.h"

static pthread_mutex_t token_lock = PTHREAD_MUTEX_INITIALIZER;
static EmuMap web_tokens;		/* token -> user name (malloc'd) */
static char default_creator[34];

/*
 * A user's userRecordName: names given as "_" + 32 hex are used as they
 * are; any other name maps to a stable one, so that --web-auth-token
 * tok=alice and a seed file's "owner": "alice" meet.
 */
void
emu_user_record_name(const char *user_name, char out[34])
{
	size_t		i;
	bool		literal = (strlen(user_name) == 33 && user_name[0] == '_');

	for (i = 1; literal && i < 33; i++)
		if (!isxdigit((unsigned char) user_name[i]))
			literal = false;
	if (literal)
	{
		memcpy(out, user_name, 34);
		return;
	}
	emu_user_from_seed("ckemu-user:", user_name, out);
}

/* The creator of seeded public records: the first S2S key's developer. */
const char *
emu_default_creator(void)
{
	return default_creator;
}

static void
emu_free_cb(void *p)
{
	free(p);
}

void
emu_auth_init(void)
{
	int			i;

	emu_map_init(&web_tokens);
	for (i = 0; i < emu_config.nweb_tokens; i++)
		emu_map_put(&web_tokens, emu_config.web_tokens[i].token,
					emu_strdup(emu_config.web_tokens[i].user_name));
	if (emu_config.ns2s_keys > 0)
		memcpy(default_creator, emu_config.s2s_keys[0].user, 34);
	else if (emu_config.no_auth)
		emu_user_record_name("developer", default_creator);
	else
		emu_user_from_seed("ckemu-developer:", "", default_creator);
}

/* Back to the command line's tokens: rotated ones die. */
void
emu_auth_reset(void)
{
	pthread_mutex_lock(&token_lock);
	emu_map_free(&web_tokens, emu_free_cb);
	emu_auth_init();
	pthread_mutex_unlock(&token_lock);
}

void
emu_auth_shutdown(void)
{
	pthread_mutex_lock(&token_lock);
	emu_map_free(&web_tokens, emu_free_cb);
	pthread_mutex_unlock(&token_lock);
}

/* A fresh token: base64 like Apple's, so clients must URL-escape it. */
static char *
emu_new_token(void)
{
	unsigned char raw[33];
	char	   *b64;
	char	   *tok;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
	{
		size_t		i;

		for (i = 0; i < sizeof(raw); i++)
			raw[i] = (unsigned char) random();
	}
	b64 = ck_base64_encode(raw, sizeof(raw));
	tok = emu_malloc(strlen(b64) + 8);
	sprintf(tok, "ckemu_%s", b64);
	free(b64);
	return tok;
}

char *
emu_auth_signin(const char *user_name)
{
	char	   *tok = emu_new_token();

	pthread_mutex_lock(&token_lock);
	emu_map_put(&web_tokens, tok, emu_strdup(user_name));
	pthread_mutex_unlock(&token_lock);
	return tok;
}

static void
emu_auth_failed(EmuRequest *req, const char *why)
{
	if (!emu_config.quiet)
		fprintf(stderr, "ckemu: authentication failed for %s: %s\n", req->path, why);
	emu_error(req, "AUTHENTICATION_FAILED", "Authentication failed");
}

/* Accept "YYYY-MM-DDTHH:MM:SSZ", and tolerate a fraction of a second. */
static bool
emu_parse_date(const char *text, int64_t *secs)
{
	char		copy[32];
	const char *dot;

	if (ck_iso8601_parse(text, secs))
		return true;
	dot = strchr(text, '.');
	if (dot == NULL || dot - text != 19 || strlen(text) > 30 || text[strlen(text) - 1] != 'Z')
		return false;
	memcpy(copy, text, 19);
	copy[19] = 'Z';
	copy[20] = '\0';
	return ck_iso8601_parse(copy, secs);
}

/* Verify a signature over an explicit message (the empty bodyHash variant). */
static bool
emu_verify_message(CkKey *key, const char *msg, const char *sig_b64)
{
	size_t		siglen;
	unsigned char *sig = ck_base64_decode(sig_b64, strlen(sig_b64), &siglen);
	EVP_MD_CTX *ctx;
	bool		ok = false;

	if (sig == NULL)
		return false;
	ctx = EVP_MD_CTX_new();
	if (ctx != NULL &&
		EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
		EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *) msg, strlen(msg)) == 1)
		ok = true;
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	free(sig);
	return ok;
}

static bool
emu_auth_s2s(EmuRequest *req, const char *key_id)
{
	const char *date = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
												   "X-Apple-CloudKit-Request-ISO8601Date");
	const char *sig = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
												  "X-Apple-CloudKit-Request-SignatureV1");
	EmuS2SKey  *key = NULL;
	int64_t		secs;
	int64_t		now;
	bool		ok;
	int			i;

	for (i = 0; i < emu_config.ns2s_keys; i++)
		if (strcmp(emu_config.s2s_keys[i].key_id, key_id) == 0)
			key = &emu_config.s2s_keys[i];
	if (key == NULL)
	{
		emu_auth_failed(req, "unknown key ID");
		return false;
	}
	if (date == NULL || sig == NULL)
	{
		emu_auth_failed(req, "ISO8601Date or SignatureV1 header missing");
		return false;
	}
	if (!emu_parse_date(date, &secs))
	{
		emu_auth_failed(req, "date is not YYYY-MM-DDTHH:MM:SSZ");
		return false;
	}
	now = ck_now_ms() / 1000;
	if (secs < now - EMU_SIGNATURE_SKEW || secs > now + EMU_SIGNATURE_SKEW)
	{
		emu_auth_failed(req, "date outside the allowed clock skew");
		return false;
	}
	ok = ck_verify_request(key->key, date, req->body.data ? req->body.data : "",
						   req->body.len, req->raw_uri, sig);
	if (!ok && req->body.len == 0)
	{
		/* some clients send an empty bodyHash when there is no body */
		size_t		n = strlen(date) + strlen(req->raw_uri) + 3;
		char	   *msg = emu_malloc(n);

		snprintf(msg, n, "%s::%s", date, req->raw_uri);
		ok = emu_verify_message(key->key, msg, sig);
		free(msg);
	}
	if (!ok)
	{
		emu_auth_failed(req, "signature does not verify");
		return false;
	}
	if (!req->public_db)
	{
		emu_error(req, EMU_CODE_S2S_NOT_PUBLIC,
				  "Server-to-server keys can only access the public database");
		return false;
	}
	req->caller.signed_in = true;
	req->caller.s2s = true;
	memcpy(req->caller.user, key->user, 34);
	snprintf(req->caller.user_name, sizeof(req->caller.user_name), "%s", "developer");
	return true;
}

/*
 * Establish req->caller.  needs_user: the operation needs a signed-in user
 * (writes, private and shared databases, users and changes operations).  Answers and
 * returns false when the request may not proceed.
 */
bool
emu_authenticate(EmuRequest *req, bool needs_user)
{
	const char *key_id;
	char	   *api_token;
	char	   *web_token;
	char	   *user_name = NULL;
	int			i;

	memset(&req->caller, 0, sizeof(req->caller));
	if (emu_config.no_auth)
	{
		req->caller.signed_in = true;
		emu_user_record_name("developer", req->caller.user);
		strcpy(req->caller.user_name, "developer");
		return true;
	}

	key_id = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
										 "X-Apple-CloudKit-Request-KeyID");
	if (key_id != NULL)
		return emu_auth_s2s(req, key_id);

	api_token = emu_query_param(req->query, "ckAPIToken");
	if (api_token == NULL)
	{
		emu_auth_failed(req, "neither S2S headers nor ckAPIToken");
		return false;
	}
	for (i = 0; i < emu_config.napi_tokens; i++)
		if (strcmp(emu_config.api_tokens[i], api_token) == 0)
			break;
	free(api_token);
	if (i == emu_config.napi_tokens)
	{
		emu_auth_failed(req, "unknown API token");
		return false;
	}

	web_token = emu_query_param(req->query, "ckWebAuthToken");
	if (web_token == NULL)
		web_token = emu_query_param(req->query, "ckSession");
	if (web_token != NULL && *web_token != '\0')
	{
		pthread_mutex_lock(&token_lock);
		if (emu_config.rotate_web_tokens)
			user_name = emu_map_remove(&web_tokens, web_token);
		else
		{
			user_name = emu_map_get(&web_tokens, web_token);
			user_name = emu_strdup(user_name);
		}
		pthread_mutex_unlock(&token_lock);
		if (user_name == NULL)
		{
			free(web_token);
			emu_auth_failed(req, "unknown or used web auth token");
			return false;
		}
		req->caller.signed_in = true;
		req->caller.web_token = web_token;
		emu_user_record_name(user_name, req->caller.user);
		snprintf(req->caller.user_name, sizeof(req->caller.user_name), "%s", user_name);
		free(user_name);
		return true;
	}
	free(web_token);

	if (needs_user)
	{
		char		url[512];

		snprintf(url, sizeof(url), "%s/_ckemu/signin?container=%s",
				 emu_config.base_url, req->container);
		emu_error_retry(req, "AUTHENTICATION_REQUIRED", -1, url, "request needs authorization");
		return false;
	}
	return true;				/* anonymous public read, as _world */
}

/* After the answer is built: hand out the web token's replacement. */
void
emu_auth_finish(EmuRequest *req)
{
	if (req->caller.web_token == NULL)
		return;
	if (emu_config.rotate_web_tokens)
	{
		char	   *tok = emu_new_token();

		pthread_mutex_lock(&token_lock);
		emu_map_put(&web_tokens, tok, emu_strdup(req->caller.user_name));
		pthread_mutex_unlock(&token_lock);
		req->rotated_token = tok;
	}
	else
		req->rotated_token = emu_strdup(req->caller.web_token);
}
