/*-------------------------------------------------------------------------
 *
 * asset_upload.c
 *		  Asset content written from bytea: a bytea column (or bytea[] list)
 *		  of type ASSETID is uploaded through assets/upload, and the record
 *		  then carries the upload's receipt
 *
 * CloudKit saves an asset in three steps: assets/upload hands out one
 * upload URL per (record type, field) asked for, the bytes are POSTed to
 * that URL, which answers {"singleFile": {fileChecksum, size, receipt, ...}},
 * and that dictionary is the field's value in records/modify.
 *
 * encode.c writes a placeholder where an asset's dictionary goes and hands
 * the bytes to us (ckfdw_asset_upload_add); the placeholder is a control
 * character that escape_json never leaves in a value, so no data can forge
 * one.  Before a batch of operations is sent, modify.c passes each through
 * ckfdw_asset_fill: every asset still waiting is uploaded then (upload URLs
 * for up to CKFDW_ASSET_TOKENS_PER_REQUEST assets per request, all uploads
 * started before any is waited for) and the placeholders are replaced by
 * the dictionaries.  So the uploads of a batch happen together, and a
 * failed upload stops the statement before the batch's records/modify is
 * sent: no record is ever saved pointing at a file that is not there.
 *
 * Sizes are checked when the row is encoded, before anything is sent; an
 * upload URL answered as expired gets a fresh one, once.  The content
 * waiting for its batch is bounded: past CKFDW_ASSET_BATCH_BYTES modify.c
 * sends the batch early.
 *
 * IDENTIFICATION
 *		  src/asset_upload.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ckfdw_json.h"

#include "utils/json.h"
#include "utils/memutils.h"

#include "ckfdw.h"
#include "ck/ck_http.h"
#include "ck/ck_query.h"

/* Upload URLs one assets/upload request may ask for (Apple). */
#define CKFDW_ASSET_TOKENS_PER_REQUEST	200

/* Asset content held for one batch before the batch is sent early. */
#define CKFDW_ASSET_BATCH_BYTES		(32 * 1024 * 1024)

/* Marks a placeholder "\001<n>\001" in an operation's JSON. */
#define CKFDW_ASSET_MARK		'\001'

/* See asset_download.c: what an expired URL is answered (unconfirmed). */
#define CKFDW_ASSET_URL_EXPIRED(status) \
	((status) == 403 || (status) == 404 || (status) == 410)

/* The asset dictionary keys an upload answer may carry, sent on as they are. */
static const char *const asset_keys[] = {
	"fileChecksum", "size", "receipt", "referenceChecksum", "wrappingKey"
};

typedef struct PendingAsset
{
	const CkFdwColumn *col;
	char	   *data;			/* the bytes, until uploaded */
	size_t		len;
	char	   *url;			/* upload URL, once asked for */
	CkFdwPending *req;			/* in flight (in data_cxt), or NULL */
	char	   *dict;			/* the asset dictionary (JSON), once uploaded */
	bool		expired;		/* the URL was answered as expired */
	bool		filled;			/* its placeholder was replaced */
} PendingAsset;

struct CkFdwAssetUploads
{
	CkFdwConnection *conn;
	CkFdwOptions *options;
	const char *relname;
	MemoryContext data_cxt;		/* the assets below; reset when all are sent */
	MemoryContextCallback cb;
	CkFdwRequestInfo info;		/* of the uploads */
	PendingAsset *assets;
	int			nassets;
	int			maxassets;
	int			unfilled;
	size_t		bytes;			/* content held now */
	CkResponse	resp;			/* the answer being looked at */
};

static void uploads_cleanup(void *arg);
static void upload_pending(CkFdwAssetUploads *u);
static void request_upload_urls(CkFdwAssetUploads *u, int *which, int n);
static bool wait_upload(CkFdwAssetUploads *u, PendingAsset *a, bool last_try);
static CkFdwRequestInfo upload_info(CkFdwAssetUploads *u, const char *operation);

#define NOTHING_SENT_NOTE "No record of the batch that holds this asset was sent to CloudKit."

/*
 * Give the asset-content columns of a modify an uploader.  Returns NULL
 * when there are none.  Lives in the current memory context.
 */
CkFdwAssetUploads *
ckfdw_asset_uploads_begin(CkFdwWriteColumn *wcolumns, int ncolumns,
						  CkFdwConnection *conn, CkFdwOptions *options,
						  const char *relname)
{
	CkFdwAssetUploads *u = NULL;
	int			i;

	for (i = 0; i < ncolumns; i++)
	{
		CkFdwColumn *col = wcolumns[i].col;

		if (col == NULL || col->dropped || !col->asset_content)
			continue;
		if (u == NULL)
		{
			u = palloc0(sizeof(CkFdwAssetUploads));
			u->conn = conn;
			u->options = options;
			u->relname = relname;
			u->resp.retry_after = -1;
			u->info.operation = "asset upload";
			u->info.record_type = options->record_type;
			u->info.zone = options->zone;
			u->info.relname = relname;
			u->data_cxt = AllocSetContextCreate(CurrentMemoryContext,
												"ckfdw asset uploads",
												ALLOCSET_DEFAULT_SIZES);
			u->cb.func = uploads_cleanup;
			u->cb.arg = u;
			MemoryContextRegisterResetCallback(u->data_cxt, &u->cb);
		}
		wcolumns[i].uploads = u;
	}
	return u;
}

/*
 * The assets are gone with data_cxt (uploads in flight belong to it too,
 * which cancels them); so is an answer still held.
 */
static void
uploads_cleanup(void *arg)
{
	CkFdwAssetUploads *u = (CkFdwAssetUploads *) arg;

	ck_response_clear(&u->resp);
	u->assets = NULL;
	u->nassets = 0;
	u->maxassets = 0;
	u->unfilled = 0;
	u->bytes = 0;
}

/*
 * Take one bytea value (a column's or a list element's) for upload, and
 * write its placeholder into buf.  Too large a value is an error here,
 * before anything of its batch is sent.
 */
void
ckfdw_asset_upload_add(CkFdwAssetUploads *u, StringInfo buf,
					   const CkFdwColumn *col, Datum value)
{
	bytea	   *b = DatumGetByteaPP(value);
	size_t		len = VARSIZE_ANY_EXHDR(b);
	PendingAsset *a;

	if (u == NULL)
		elog(ERROR, "asset content of column \"%s\" has no uploader", col->attname);
	if ((int64) len > u->options->max_asset_size)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("asset of %zu bytes is larger than the server's max_asset_size of %ld bytes",
						len, u->options->max_asset_size),
				 errdetail("CloudKit takes at most 15 MB per upload URL (Apple's assets/upload documentation). "
						   NOTHING_SENT_NOTE),
				 errhint("Store smaller files, or raise the server option \"max_asset_size\" if CloudKit accepts larger ones.")));

	if (u->nassets >= u->maxassets)
	{
		int			newmax = Max(16, u->maxassets * 2);

		if (u->assets == NULL)
			u->assets = MemoryContextAllocZero(u->data_cxt, sizeof(PendingAsset) * newmax);
		else
			u->assets = repalloc(u->assets, sizeof(PendingAsset) * newmax);
		u->maxassets = newmax;
	}
	a = &u->assets[u->nassets];
	memset(a, 0, sizeof(PendingAsset));
	a->col = col;
	a->len = len;
	a->data = MemoryContextAlloc(u->data_cxt, len + 1);
	memcpy(a->data, VARDATA_ANY(b), len);
	u->bytes += len;
	u->unfilled++;

	appendStringInfo(buf, "%c%d%c", CKFDW_ASSET_MARK, u->nassets, CKFDW_ASSET_MARK);
	u->nassets++;
}

/* Is enough content waiting that its batch should be sent now? */
bool
ckfdw_asset_uploads_full(CkFdwAssetUploads *u)
{
	return u->bytes >= CKFDW_ASSET_BATCH_BYTES;
}

/*
 * An operation's JSON with its asset placeholders replaced by the uploaded
 * assets' dictionaries, uploading whatever waits first.  Returns json
 * itself when it holds none; the new text is allocated in the current
 * memory context.
 */
char *
ckfdw_asset_fill(CkFdwAssetUploads *u, char *json, int *len)
{
	StringInfoData out;
	const char *p;
	const char *end;

	if (u->nassets == 0 || memchr(json, CKFDW_ASSET_MARK, *len) == NULL)
		return json;

	upload_pending(u);

	initStringInfo(&out);
	p = json;
	end = json + *len;
	while (p < end)
	{
		const char *mark = memchr(p, CKFDW_ASSET_MARK, end - p);
		char	   *after;
		long		idx;

		if (mark == NULL)
		{
			appendBinaryStringInfo(&out, p, end - p);
			break;
		}
		appendBinaryStringInfo(&out, p, mark - p);
		idx = strtol(mark + 1, &after, 10);
		if (after >= end || *after != CKFDW_ASSET_MARK || idx < 0 || idx >= u->nassets ||
			u->assets[idx].dict == NULL)
			elog(ERROR, "damaged asset placeholder in a CloudKit operation");
		appendStringInfoString(&out, u->assets[idx].dict);
		if (!u->assets[idx].filled)
		{
			u->assets[idx].filled = true;
			u->unfilled--;
		}
		p = after + 1;
	}

	/*
	 * Every asset taken is in an operation now: start afresh.  The reset
	 * runs uploads_cleanup, which forgets the assets; a reset callback runs
	 * once, so it is registered again.
	 */
	if (u->unfilled == 0)
	{
		MemoryContextReset(u->data_cxt);
		MemoryContextRegisterResetCallback(u->data_cxt, &u->cb);
	}

	*len = out.len;
	return out.data;
}

/*
 * Upload every asset not uploaded yet: upload URLs in requests of up to
 * CKFDW_ASSET_TOKENS_PER_REQUEST, then all uploads of that request started
 * before any is waited for.  An upload URL answered as expired is asked
 * for again, once.
 */
static void
upload_pending(CkFdwAssetUploads *u)
{
	int		   *which = palloc(sizeof(int) * CKFDW_ASSET_TOKENS_PER_REQUEST);
	int			attempt;

	for (attempt = 0; attempt < 2; attempt++)
	{
		int			i = 0;
		bool		any_expired = false;

		while (i < u->nassets)
		{
			int			n = 0;
			int			k;

			for (; i < u->nassets && n < CKFDW_ASSET_TOKENS_PER_REQUEST; i++)
			{
				if (u->assets[i].dict == NULL)
					which[n++] = i;
			}
			if (n == 0)
				break;
			request_upload_urls(u, which, n);
			for (k = 0; k < n; k++)
			{
				PendingAsset *a = &u->assets[which[k]];

				MemoryContext oldcxt = MemoryContextSwitchTo(u->data_cxt);

				a->expired = false;
				a->req = ckfdw_start_url_request(u->conn, "POST", a->url,
												 "application/octet-stream",
												 a->data, a->len, 0, &u->info);
				MemoryContextSwitchTo(oldcxt);
			}
			for (k = 0; k < n; k++)
			{
				if (!wait_upload(u, &u->assets[which[k]], attempt == 1))
					any_expired = true;
			}
		}
		if (!any_expired)
			break;
	}
	pfree(which);
}

/* Upload URLs for the assets which[0..n-1]. */
static void
request_upload_urls(CkFdwAssetUploads *u, int *which, int n)
{
	CkFdwRequestInfo info = upload_info(u, "assets/upload");
	StringInfoData body;
	struct json_object *zone;
	struct json_object *tokens;
	char	   *record_type = ckfdw_to_utf8(u->options->record_type);
	int			k;

	zone = ck_zone_id_new(u->options->zone, u->options->zone_owner);
	initStringInfo(&body);
	appendStringInfo(&body, "{\"zoneID\":%s,\"tokens\":[",
					 json_object_to_json_string_ext(zone, JSON_C_TO_STRING_PLAIN |
													JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(zone);
	for (k = 0; k < n; k++)
	{
		if (k > 0)
			appendStringInfoChar(&body, ',');
		appendStringInfoString(&body, "{\"recordType\":");
		escape_json(&body, record_type);
		appendStringInfoString(&body, ",\"fieldName\":");
		escape_json(&body, u->assets[which[k]].col->field_utf8);
		appendStringInfoChar(&body, '}');
	}
	appendStringInfoString(&body, "]}");

	/* asking for URLs changes nothing: safe to resend */
	ckfdw_request(u->conn, "POST", body.data, true, &info, &u->resp);

	if (!json_object_object_get_ex(u->resp.json, "tokens", &tokens) ||
		!json_object_is_type(tokens, json_type_array) ||
		json_object_array_length(tokens) != (size_t) n)
	{
		ck_response_clear(&u->resp);
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("CloudKit answered assets/upload without one upload URL per asset"),
				 errdetail("%d were asked for. " NOTHING_SENT_NOTE, n)));
	}
	for (k = 0; k < n; k++)
	{
		struct json_object *t = json_object_array_get_idx(tokens, k);
		struct json_object *jurl;

		if (t == NULL || !json_object_object_get_ex(t, "url", &jurl) ||
			!json_object_is_type(jurl, json_type_string))
		{
			ck_response_clear(&u->resp);
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("CloudKit answered assets/upload with a token that has no url"),
					 errdetail(NOTHING_SENT_NOTE)));
		}
		u->assets[which[k]].url = MemoryContextStrdup(u->data_cxt,
													  json_object_get_string(jurl));
	}
	ck_response_clear(&u->resp);
}

/*
 * Wait for one upload and keep the asset dictionary it answered.  Returns
 * false when its URL was answered as expired (an error instead when
 * last_try).
 */
static bool
wait_upload(CkFdwAssetUploads *u, PendingAsset *a, bool last_try)
{
	CkResponse *resp = &u->resp;
	struct json_object *answer;
	struct json_object *single;
	struct json_object *v;
	StringInfoData dict;
	int			i;

	(void) ckfdw_finish_request(a->req, resp);
	a->req = NULL;

	if (resp->kind == CK_RESULT_SERVER_ERROR &&
		CKFDW_ASSET_URL_EXPIRED(resp->http_status) && !last_try)
	{
		a->expired = true;
		ck_response_clear(resp);
		return false;
	}
	if (resp->kind != CK_RESULT_OK)
	{
		if (resp->kind == CK_RESULT_SERVER_ERROR)
		{
			/* the upload host, not CloudKit's API: its own message */
			long		status = resp->http_status;
			char	   *code = pstrdup(resp->server_error_code);
			char	   *reason = ckfdw_message_text(resp->reason);

			ck_response_clear(resp);
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("could not upload asset content to CloudKit"),
					 errdetail("The upload host answered HTTP %ld%s%s: %s\nThe upload of %zu bytes for column \"%s\" failed%s. " NOTHING_SENT_NOTE,
							   status, code[0] ? " " : "", code, reason,
							   a->len, a->col->attname,
							   CKFDW_ASSET_URL_EXPIRED(status) ?
							   ", also with a fresh upload URL" : ""),
					 errhint("Run the statement again; records of batches sent before this one are saved.")));
		}
		/* a cancel or timeout is raised here too */
		ckfdw_report_response(resp, &u->info,
							  psprintf("The upload of %zu bytes for column \"%s\" failed%s. " NOTHING_SENT_NOTE,
									   a->len, a->col->attname,
									   CKFDW_ASSET_URL_EXPIRED(resp->http_status) ?
									   ", also with a fresh upload URL" : ""));
	}

	answer = resp->body ? json_tokener_parse(resp->body) : NULL;
	ck_response_clear(resp);
	if (answer == NULL ||
		!json_object_object_get_ex(answer, "singleFile", &single) ||
		!json_object_is_type(single, json_type_object) ||
		!json_object_object_get_ex(single, "receipt", &v) ||
		!json_object_is_type(v, json_type_string) ||
		!json_object_object_get_ex(single, "fileChecksum", &v) ||
		!json_object_object_get_ex(single, "size", &v) ||
		json_object_get_int64(v) != (int64) a->len)
	{
		if (answer != NULL)
			json_object_put(answer);
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("CloudKit answered the upload of an asset without a receipt for its %zu bytes",
						a->len),
				 errdetail("Column \"%s\". " NOTHING_SENT_NOTE, a->col->attname),
				 errhint("Try again.")));
	}

	/* the dictionary records/modify takes, as the upload gave it */
	initStringInfo(&dict);
	appendStringInfoChar(&dict, '{');
	for (i = 0; i < lengthof(asset_keys); i++)
	{
		if (!json_object_object_get_ex(single, asset_keys[i], &v))
			continue;
		if (dict.len > 1)
			appendStringInfoChar(&dict, ',');
		escape_json(&dict, asset_keys[i]);
		appendStringInfoChar(&dict, ':');
		appendStringInfoString(&dict,
							   json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
															  JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	appendStringInfoChar(&dict, '}');
	json_object_put(answer);
	a->dict = MemoryContextStrdup(u->data_cxt, dict.data);
	pfree(dict.data);

	/* the bytes are CloudKit's now */
	u->bytes -= a->len;
	pfree(a->data);
	a->data = NULL;
	return true;
}

static CkFdwRequestInfo
upload_info(CkFdwAssetUploads *u, const char *operation)
{
	CkFdwRequestInfo info;

	info.operation = operation;
	info.record_type = u->options->record_type;
	info.zone = u->options->zone;
	info.relname = u->relname;
	return info;
}
