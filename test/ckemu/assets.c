/*-------------------------------------------------------------------------
 *
 * assets.c
 *		Assets: assets/upload hands out upload URLs on ckemu itself, a POST
 *		of bytes there answers {"singleFile": {fileChecksum, size, receipt}}
 *		as Apple's upload host does, and a record saved with that asset
 *		dictionary keeps the bytes, served back from its downloadURL.
 *
 * Bytes live in blobs, found by id (download URLs), by receipt (writes)
 * and by upload token.  They are kept until a reset; assets are small in
 * tests.
 *
 * What Apple documents and ckemu enforces: an upload URL is good for
 * EMU_UPLOAD_URL_TTL_S and for files up to EMU_MAX_ASSET_BYTES; a receipt
 * must come with the checksum and size of the file it was given for.  POST
 * /_ckemu/assets/expire ends every upload URL handed out so far, so that a
 * test needs no clock.  How Apple's hosts answer an expired URL or a file
 * too large is not documented (unconfirmed): ckemu answers 403
 * ACCESS_DENIED and 413 BAD_REQUEST with CloudKit's error envelope.
 * Download URLs are stored in the record and never expire by themselves;
 * a fault rule on operation "assets/download" answers as an expired one.
 *
 * test/ckemu/assets.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "ckemu.h"

/* Apple's assets/upload page: URLs valid 15 minutes, 15 MB per file. */
#define EMU_UPLOAD_URL_TTL_S	(15 * 60)
#define EMU_MAX_ASSET_BYTES		(15 * 1000 * 1000)

/* The status an expired upload URL gets (unconfirmed, see above). */
#define EMU_EXPIRED_URL_STATUS	403

static pthread_mutex_t blob_lock = PTHREAD_MUTEX_INITIALIZER;
static EmuMap blobs;			/* id -> EmuBlob */
static EmuMap receipts;			/* receipt -> EmuBlob */
static EmuMap upload_tokens;	/* token -> EmuUploadToken */
static long token_serial;		/* tokens handed out */
static long expired_upto;		/* tokens up to this serial are dead */

typedef struct EmuUploadToken
{
	long		serial;
	time_t		issued;
} EmuUploadToken;

void
emu_assets_init(void)
{
	emu_map_init_borrowed(&blobs);
	emu_map_init_borrowed(&receipts);
	emu_map_init(&upload_tokens);
}

void
emu_assets_clear(void)
{
	pthread_mutex_lock(&blob_lock);
	emu_map_free(&receipts, NULL);
	emu_map_free(&blobs, free);
	emu_map_free(&upload_tokens, free);
	emu_assets_init();
	pthread_mutex_unlock(&blob_lock);
}

/*
 * Random bytes come from a per-thread pool filled 4 kB at a time: a seed
 * with a million assets would otherwise spend a quarter of its load time
 * in RAND_bytes calls.
 */
static __thread unsigned char random_pool[4096];
static __thread size_t random_left;

static void
emu_random_hex(char *out, size_t nbytes)
{
	size_t		i;

	if (nbytes > 32)
		nbytes = 32;
	if (random_left < nbytes)
	{
		if (RAND_bytes(random_pool, (int) sizeof(random_pool)) != 1)
			for (i = 0; i < sizeof(random_pool); i++)
				random_pool[i] = (unsigned char) random();
		random_left = sizeof(random_pool);
	}
	emu_hex(random_pool + sizeof(random_pool) - random_left, nbytes, out);
	random_left -= nbytes;
}

/*
 * Keep bytes; returns the new blob (valid until a reset).  Only an upload
 * gets a receipt: a seed's asset is found by its download URL alone, and
 * a million of them would otherwise each hold a receipt nobody can know.
 */
static EmuBlob *
emu_blob_new(const unsigned char *data, size_t len, bool uploaded)
{
	EmuBlob    *b = emu_malloc(sizeof(EmuBlob) + len + 1 + (uploaded ? 41 : 0));

	emu_random_hex(b->id, 16);
	b->receipt = "";
	if (uploaded)
	{
		char	   *receipt = (char *) b->data + len + 1;

		emu_random_hex(receipt, 20);
		b->receipt = receipt;
	}
	ck_sha256_base64(data, len, b->checksum);
	memcpy(b->data, data, len);
	b->len = len;
	pthread_mutex_lock(&blob_lock);
	emu_map_put(&blobs, b->id, b);
	if (uploaded)
		emu_map_put(&receipts, b->receipt, b);
	pthread_mutex_unlock(&blob_lock);
	return b;
}

/*
 * A seed's inline asset, {"ckemuData": base64}, given as its base64 text:
 * what emu_asset_resolve does for it.  False (nothing stored) when the
 * text is not base64.
 */
bool
emu_asset_from_seed_data(const char *base64, size_t len, char *id_out)
{
	size_t		rawlen;
	unsigned char *raw = ck_base64_decode(base64, len, &rawlen);
	EmuBlob    *b;

	if (raw == NULL)
		return false;
	b = emu_blob_new(raw, rawlen, false);
	free(raw);
	strcpy(id_out, b->id);
	return true;
}

/*
 * The blob an asset dictionary of a write names: by receipt (after an
 * upload), by a ckemu downloadURL (a record's asset written back as read),
 * or, in seed files only, by inline bytes {"ckemuData": base64}.
 */
bool
emu_asset_resolve(json_object *dict, bool seed, char *id_out, char *err, size_t errlen)
{
	json_object *jdata = emu_get(dict, "ckemuData");
	json_object *jreceipt = emu_get(dict, "receipt");
	json_object *jurl = emu_get(dict, "downloadURL");
	json_object *jsum = emu_get(dict, "fileChecksum");
	EmuBlob    *b = NULL;

	if (seed && jdata != NULL && json_object_is_type(jdata, json_type_string))
	{
		size_t		len;
		const char *text = json_object_get_string(jdata);
		unsigned char *raw = ck_base64_decode(text, strlen(text), &len);

		if (raw == NULL)
		{
			snprintf(err, errlen, "ckemuData is not valid base64");
			return false;
		}
		b = emu_blob_new(raw, len, false);
		free(raw);
		strcpy(id_out, b->id);
		return true;
	}
	pthread_mutex_lock(&blob_lock);
	if (jreceipt != NULL && json_object_is_type(jreceipt, json_type_string))
		b = emu_map_get(&receipts, json_object_get_string(jreceipt));
	else if (jurl != NULL && json_object_is_type(jurl, json_type_string))
	{
		const char *url = json_object_get_string(jurl);
		const char *marker = strstr(url, "/_ckemu/assets/download/");

		if (marker != NULL)
			b = emu_map_get(&blobs, marker + strlen("/_ckemu/assets/download/"));
	}
	if (b != NULL && jsum != NULL && json_object_is_type(jsum, json_type_string) &&
		strcmp(json_object_get_string(jsum), b->checksum) != 0)
	{
		pthread_mutex_unlock(&blob_lock);
		snprintf(err, errlen, "BadRequestException: Invalid value, asset fileChecksum does not match the uploaded file");
		return false;
	}
	if (b != NULL && jreceipt != NULL)
	{
		json_object *jsize = emu_get(dict, "size");

		/* a receipt is good only with what the upload answered */
		if (jsum == NULL ||
			(jsize != NULL && json_object_get_int64(jsize) != (int64_t) b->len))
		{
			pthread_mutex_unlock(&blob_lock);
			snprintf(err, errlen, "BadRequestException: Invalid value, asset receipt needs the fileChecksum and size of its upload");
			return false;
		}
	}
	if (b != NULL)
		strcpy(id_out, b->id);
	pthread_mutex_unlock(&blob_lock);
	if (b == NULL)
	{
		snprintf(err, errlen, "BadRequestException: Invalid value, an asset needs the receipt of an upload (assets/upload)");
		return false;
	}
	return true;
}

bool
emu_asset_info(const char *id, char *checksum, size_t *len)
{
	EmuBlob    *b;

	pthread_mutex_lock(&blob_lock);
	b = emu_map_get(&blobs, id);
	if (b != NULL)
	{
		strcpy(checksum, b->checksum);
		*len = b->len;
	}
	else
	{
		checksum[0] = '\0';
		*len = 0;
	}
	pthread_mutex_unlock(&blob_lock);
	return b != NULL;
}

unsigned char *
emu_asset_bytes(const char *id, size_t *len)
{
	EmuBlob    *b;
	unsigned char *copy = NULL;

	pthread_mutex_lock(&blob_lock);
	b = emu_map_get(&blobs, id);
	*len = 0;
	if (b != NULL)
	{
		copy = emu_malloc(b->len + 1);
		memcpy(copy, b->data, b->len);
		*len = b->len;
	}
	pthread_mutex_unlock(&blob_lock);
	return copy;
}

/* assets/upload: one upload URL per requested (recordName, fieldName). */
void
emu_op_assets_upload(EmuRequest *req, json_object *body)
{
	json_object *jtoks;
	int			n,
				i;

	jtoks = emu_body_array(req, body, "tokens", "tokens", EMU_MAX_TOKENS, &n);
	if (jtoks == NULL)
		return;
	for (i = 0; i < n; i++)
	{
		json_object *t = json_object_array_get_idx(jtoks, i);
		json_object *rt = emu_get(t, "recordType");
		json_object *fn = emu_get(t, "fieldName");
		json_object *rn = emu_get(t, "recordName");

		if (rt == NULL || !json_object_is_type(rt, json_type_string) ||
			fn == NULL || !json_object_is_type(fn, json_type_string) ||
			(rn != NULL && !json_object_is_type(rn, json_type_string) &&
			 !json_object_is_type(rn, json_type_null)))
		{
			emu_error(req, "BAD_REQUEST", "tokens[%d] needs recordType and fieldName strings", i);
			return;
		}
	}
	if (emu_resolve_zone(req, emu_get(body, "zoneID"), true) == NULL)
		return;

	emu_lit(&req->out, "{\"tokens\":[");
	for (i = 0; i < n; i++)
	{
		json_object *t = json_object_array_get_idx(jtoks, i);
		json_object *rn = emu_get(t, "recordName");
		char		uuid[37];
		char		tok[41];
		const char *name;
		EmuUploadToken *ut;

		if (rn != NULL && json_object_is_type(rn, json_type_string))
			name = json_object_get_string(rn);
		else
		{
			ck_uuid_v4(uuid);
			name = uuid;
		}
		emu_random_hex(tok, 20);
		ut = emu_malloc(sizeof(EmuUploadToken));
		ut->issued = time(NULL);
		pthread_mutex_lock(&blob_lock);
		ut->serial = ++token_serial;
		emu_map_put(&upload_tokens, tok, ut);
		pthread_mutex_unlock(&blob_lock);
		if (i > 0)
			emu_lit(&req->out, ",");
		emu_lit(&req->out, "{\"recordName\":");
		emu_json_string(&req->out, name);
		emu_lit(&req->out, ",\"fieldName\":");
		emu_json_string(&req->out, json_object_get_string(emu_get(t, "fieldName")));
		ck_buf_appendf(&req->out, ",\"url\":\"%s/_ckemu/assets/upload/%s\"}", emu_config.base_url, tok);
	}
	emu_lit(&req->out, "]}");
	req->status = 200;
	req->answered = true;
}

/* POST of the file's bytes to an upload URL. */
void
emu_asset_upload_bytes(EmuRequest *req, const char *token)
{
	EmuBlob    *b;
	EmuUploadToken *ut;
	bool		known;
	bool		expired = false;

	pthread_mutex_lock(&blob_lock);
	ut = emu_map_get(&upload_tokens, token);
	known = (ut != NULL);
	if (known)
		expired = (ut->serial <= expired_upto ||
				   time(NULL) - ut->issued > EMU_UPLOAD_URL_TTL_S);
	pthread_mutex_unlock(&blob_lock);
	if (!known)
	{
		emu_error(req, "NOT_FOUND", "Unknown upload URL");
		return;
	}
	if (expired)
	{
		emu_error(req, "ACCESS_DENIED", "Upload URL has expired");
		req->status = EMU_EXPIRED_URL_STATUS;
		return;
	}
	if (req->body.len > EMU_MAX_ASSET_BYTES)
	{
		emu_error(req, "BAD_REQUEST", "Asset file of %zu bytes exceeds the limit of %d bytes",
				  req->body.len, EMU_MAX_ASSET_BYTES);
		req->status = 413;
		return;
	}
	b = emu_blob_new((const unsigned char *) (req->body.data ? req->body.data : ""), req->body.len,
					 true);
	emu_lit(&req->out, "{\"singleFile\":{\"fileChecksum\":");
	emu_json_string(&req->out, b->checksum);
	ck_buf_appendf(&req->out, ",\"size\":%zu,\"receipt\":\"%s\"}}", b->len, b->receipt);
	req->status = 200;
	req->answered = true;
}

/* POST /_ckemu/assets/expire: every upload URL handed out so far is dead. */
void
emu_assets_expire_urls(void)
{
	pthread_mutex_lock(&blob_lock);
	expired_upto = token_serial;
	pthread_mutex_unlock(&blob_lock);
}

/* GET of a downloadURL: the bytes themselves. */
void
emu_asset_download(EmuRequest *req, const char *id, unsigned char **data, size_t *len)
{
	*data = emu_asset_bytes(id, len);
	if (*data == NULL)
		emu_error(req, "NOT_FOUND", "Unknown asset");
}
