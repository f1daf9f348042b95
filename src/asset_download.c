/*-------------------------------------------------------------------------
 *
 * asset_download.c
 *		  Asset content read as bytea: a bytea column (or bytea[] list) of
 *		  type ASSETID gets the bytes behind each asset's downloadURL
 *
 * Only what the query returns is downloaded: the planner asks CloudKit for
 * an asset field only when the column is used (desiredKeys), and the
 * content of a record is fetched when the scan turns that record into a
 * row, so a LIMIT stops the downloads with the rows.  The assets of one
 * record (several columns, the elements of a list) are started together
 * and then waited for, so that a transport with several requests in flight
 * fetches them side by side.  Every wait goes through the connection's wait
 * hook: a cancel or statement_timeout stops a download like any request.
 *
 * Limits: an asset whose declared size is over the server option
 * "max_asset_size" is refused before it is fetched, and one whose body is
 * larger or differs from its declared size is an error.  The transport's
 * own cap, max_response_size, bounds what is buffered meanwhile.
 *
 * Download URLs expire.  An answer that looks like an expired URL (see
 * CKFDW_ASSET_URL_EXPIRED) makes us look the record up again for fresh
 * URLs, once, rather than fail.
 *
 * IDENTIFICATION
 *		  src/asset_download.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ckfdw_json.h"

#include "commands/explain.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "ckfdw.h"
#include "ck/ck_http.h"
#include "ck/ck_query.h"
#include "ck/ck_record.h"

/*
 * The HTTP status of a download (or upload) URL that is no longer valid.
 * Apple does not document what its content hosts answer then
 * (unconfirmed); these are the statuses a signed URL past its lifetime
 * commonly gets.
 */
#define CKFDW_ASSET_URL_EXPIRED(status) \
	((status) == 403 || (status) == 404 || (status) == 410)

/* One asset of the current record. */
typedef struct AssetFetch
{
	CkFdwColumn *col;
	int			index;			/* list element, or -1 */
	struct json_object *dict;	/* the asset dictionary in the record */
	char	   *url;			/* its downloadURL, or a fresh one */
	int64		declared_size;	/* "size", or -1 */
	CkFdwPending *req;			/* in flight, or NULL */
	bytea	   *content;		/* the bytes, once downloaded */
	bool		expired;		/* answered as an expired URL */
} AssetFetch;

struct CkFdwAssetReader
{
	CkFdwConnection *conn;
	CkFdwOptions *options;
	const char *relname;
	MemoryContext cxt;			/* the reader and its fetch slots */
	MemoryContextCallback cb;	/* frees the answer when cxt goes */
	CkFdwRequestInfo info;		/* of the downloads */
	AssetFetch *fetches;
	int			nfetches;
	int			maxfetches;
	CkResponse	resp;			/* the answer being looked at */
	int64		downloads;		/* for EXPLAIN ANALYZE */
	int64		relookups;
};

static void reader_cleanup(void *arg);
static void add_fetch(CkFdwAssetReader *reader, CkFdwColumn *col, int index,
					  struct json_object *dict, const CkRecord *rec);
static void start_fetch(CkFdwAssetReader *reader, AssetFetch *f);
static int	wait_fetches(CkFdwAssetReader *reader, const CkRecord *rec,
						 bool last_try);
static void relookup(CkFdwAssetReader *reader, const CkRecord *rec);

/*
 * Give the asset-content columns of a scan a reader that downloads through
 * conn.  Returns NULL (and changes nothing) when there are none.  The
 * reader lives in the current memory context.
 */
CkFdwAssetReader *
ckfdw_asset_reader_attach(CkFdwColumn *columns, int ncolumns,
						  CkFdwConnection *conn, CkFdwOptions *options,
						  const char *relname)
{
	CkFdwAssetReader *reader = NULL;
	int			i;

	for (i = 0; i < ncolumns; i++)
	{
		if (columns[i].dropped || !columns[i].asset_content)
			continue;
		if (reader == NULL)
		{
			MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
													  "ckfdw asset reader",
													  ALLOCSET_SMALL_SIZES);

			reader = MemoryContextAllocZero(cxt, sizeof(CkFdwAssetReader));
			reader->cxt = cxt;
			reader->conn = conn;
			reader->options = options;
			reader->relname = relname;
			reader->resp.retry_after = -1;
			reader->info.operation = "asset download";
			reader->info.record_type = options->record_type;
			reader->info.zone = options->zone;
			reader->info.relname = relname;
			reader->cb.func = reader_cleanup;
			reader->cb.arg = reader;
			MemoryContextRegisterResetCallback(cxt, &reader->cb);
		}
		columns[i].assets = reader;
	}
	return reader;
}

/*
 * An answer still held when the scan ends, by error or not.  Downloads in
 * flight belong to the row's memory context, which cancels them.
 */
static void
reader_cleanup(void *arg)
{
	CkFdwAssetReader *reader = (CkFdwAssetReader *) arg;

	ck_response_clear(&reader->resp);
}

/*
 * Download the content of every asset-content column of retrieved_attrs in
 * one record, before its values are converted (convert.c then takes the
 * bytes with ckfdw_asset_content).  The bytes are allocated in the current
 * memory context, the row's.
 */
void
ckfdw_asset_fetch_record(CkFdwColumn *columns, int ncolumns,
						 List *retrieved_attrs, const CkRecord *rec)
{
	CkFdwAssetReader *reader = NULL;
	ListCell   *lc;
	int			i;

	foreach(lc, retrieved_attrs)
	{
		CkFdwColumn *col = &columns[lfirst_int(lc) - 1];

		if (!col->dropped && col->asset_content)
		{
			if (col->assets == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("the content of CloudKit assets cannot be read here"),
						 errdetail("Column \"%s\" is a bytea column of type ASSETID.",
								   col->attname),
						 errhint("Read the column in a query of its own, or declare it as jsonb to get the asset dictionary.")));
			reader = col->assets;
			break;
		}
	}
	if (reader == NULL)
		return;

	reader->nfetches = 0;

	foreach(lc, retrieved_attrs)
	{
		CkFdwColumn *col = &columns[lfirst_int(lc) - 1];
		struct json_object *value;
		CkFieldType wire;

		if (col->dropped || !col->asset_content)
			continue;
		if (!ck_record_field(rec, col->field_utf8, &value, &wire) ||
			value == NULL)
			continue;
		/* anything but dictionaries is convert.c's to report */
		if (json_object_is_type(value, json_type_array))
		{
			int			n = json_object_array_length(value);

			for (i = 0; i < n; i++)
			{
				struct json_object *elem = json_object_array_get_idx(value, i);

				if (elem != NULL && json_object_is_type(elem, json_type_object))
					add_fetch(reader, col, i, elem, rec);
			}
		}
		else if (json_object_is_type(value, json_type_object))
			add_fetch(reader, col, -1, value, rec);
	}
	if (reader->nfetches == 0)
		return;

	for (i = 0; i < reader->nfetches; i++)
		start_fetch(reader, &reader->fetches[i]);
	if (wait_fetches(reader, rec, false) > 0)
	{
		/* some URLs had expired: fresh ones from a lookup, once */
		relookup(reader, rec);
		for (i = 0; i < reader->nfetches; i++)
		{
			if (reader->fetches[i].expired)
				start_fetch(reader, &reader->fetches[i]);
		}
		(void) wait_fetches(reader, rec, true);
	}
}

/* Check one asset dictionary and queue its download. */
static void
add_fetch(CkFdwAssetReader *reader, CkFdwColumn *col, int index,
		  struct json_object *dict, const CkRecord *rec)
{
	AssetFetch *f;
	struct json_object *jsize;
	const char *url;

	if (reader->nfetches >= reader->maxfetches)
	{
		int			newmax = Max(8, reader->maxfetches * 2);

		if (reader->fetches == NULL)
			reader->fetches = MemoryContextAllocZero(reader->cxt,
													 sizeof(AssetFetch) * newmax);
		else
			reader->fetches = repalloc(reader->fetches, sizeof(AssetFetch) * newmax);
		reader->maxfetches = newmax;
	}
	f = &reader->fetches[reader->nfetches++];
	memset(f, 0, sizeof(AssetFetch));
	f->col = col;
	f->index = index;
	f->dict = dict;
	f->declared_size = -1;

	if (json_object_object_get_ex(dict, "size", &jsize) &&
		json_object_is_type(jsize, json_type_int))
		f->declared_size = json_object_get_int64(jsize);
	if (f->declared_size > reader->options->max_asset_size)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("CloudKit asset of " INT64_FORMAT " bytes is larger than the server's max_asset_size of %ld bytes",
						f->declared_size, reader->options->max_asset_size),
				 errdetail("Record \"%s\", column \"%s\"%s.",
						   ckfdw_message_text(rec->record_name ? rec->record_name : ""),
						   col->attname,
						   index >= 0 ? psprintf(", list element %d", index + 1) : ""),
				 errhint("Raise the server option \"max_asset_size\", or read the column as jsonb to get the asset dictionary only.")));
	if (!ck_value_asset_url(dict, &url))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("CloudKit asset has no downloadURL, so its content cannot be read"),
				 errhint("Read the field into a jsonb column to see the whole asset.")));
	f->url = MemoryContextStrdup(reader->cxt, url);
}

/* Start a download, in the row's memory context (see reader_cleanup). */
static void
start_fetch(CkFdwAssetReader *reader, AssetFetch *f)
{
	f->expired = false;
	f->req = ckfdw_start_url_request(reader->conn, "GET", f->url, NULL, NULL, 0,
									 CK_REQUEST_IDEMPOTENT, &reader->info);
	reader->downloads++;
}

/*
 * Wait for every download in flight and keep the bytes.  Returns how many
 * answered as expired URLs (an error instead when last_try).
 */
static int
wait_fetches(CkFdwAssetReader *reader, const CkRecord *rec, bool last_try)
{
	int			expired = 0;
	int			i;

	for (i = 0; i < reader->nfetches; i++)
	{
		AssetFetch *f = &reader->fetches[i];
		CkResponse *resp = &reader->resp;
		const char *where = psprintf("Record \"%s\", column \"%s\"%s.",
									 ckfdw_message_text(rec->record_name ? rec->record_name : ""),
									 f->col->attname,
									 f->index >= 0 ? psprintf(", list element %d", f->index + 1) : "");

		if (f->req == NULL)
			continue;
		(void) ckfdw_finish_request(f->req, resp);
		f->req = NULL;

		if (resp->kind == CK_RESULT_SERVER_ERROR &&
			CKFDW_ASSET_URL_EXPIRED(resp->http_status) && !last_try)
		{
			f->expired = true;
			expired++;
			ck_response_clear(resp);
			continue;
		}
		if (resp->kind == CK_RESULT_TOO_LARGE)
		{
			ck_response_clear(resp);
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("CloudKit asset is larger than the server's max_response_size of %ld bytes",
							reader->options->max_response_size),
					 errdetail("%s", where),
					 errhint("Raise the server option \"max_response_size\" above \"max_asset_size\".")));
		}
		if (resp->kind != CK_RESULT_OK)
		{
			if (resp->kind == CK_RESULT_SERVER_ERROR)
			{
				/* the asset host, not CloudKit's API: its own message */
				long		status = resp->http_status;
				char	   *code = pstrdup(resp->server_error_code);
				char	   *reason = ckfdw_message_text(resp->reason);

				ck_response_clear(resp);
				ereport(ERROR,
						(errcode(ERRCODE_FDW_ERROR),
						 errmsg("could not download the content of a CloudKit asset"),
						 errdetail("The asset host answered HTTP %ld%s%s: %s\n%s%s",
								   status, code[0] ? " " : "", code, reason, where,
								   CKFDW_ASSET_URL_EXPIRED(status) ?
								   " The download URL was refused again after a fresh lookup of the record." : ""),
						 errhint("Run the query again; read the column as jsonb to see the asset dictionary without its content.")));
			}
			/* a cancel or timeout is raised here too */
			ckfdw_report_response(resp, &reader->info,
								  CKFDW_ASSET_URL_EXPIRED(resp->http_status) ?
								  psprintf("%s The download URL was refused again after a fresh lookup of the record.", where) :
								  where);
		}
		if ((int64) resp->body_len > reader->options->max_asset_size ||
			(f->declared_size >= 0 && (int64) resp->body_len != f->declared_size))
		{
			size_t		got = resp->body_len;

			ck_response_clear(resp);
			if (f->declared_size >= 0 && (int64) got != f->declared_size)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_ERROR),
						 errmsg("CloudKit asset download returned %zu bytes, but the asset's size is " INT64_FORMAT,
								got, f->declared_size),
						 errdetail("%s", where),
						 errhint("Try again; if it persists, the asset is damaged.")));
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("CloudKit asset of %zu bytes is larger than the server's max_asset_size of %ld bytes",
							got, reader->options->max_asset_size),
					 errdetail("%s", where),
					 errhint("Raise the server option \"max_asset_size\", or read the column as jsonb to get the asset dictionary only.")));
		}

		/* resp's body is malloc'd: nothing may throw before it is freed */
		f->content = palloc_extended(resp->body_len + VARHDRSZ, MCXT_ALLOC_NO_OOM);
		if (f->content != NULL)
		{
			SET_VARSIZE(f->content, resp->body_len + VARHDRSZ);
			if (resp->body_len > 0)
				memcpy(VARDATA(f->content), resp->body, resp->body_len);
		}
		ck_response_clear(resp);
		if (f->content == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory for a CloudKit asset"),
					 errdetail("%s", where)));
	}
	return expired;
}

/*
 * Fresh download URLs for the expired assets of a record: a records/lookup
 * of just their fields.
 */
static void
relookup(CkFdwAssetReader *reader, const CkRecord *rec)
{
	CkFdwOptions *opts = reader->options;
	CkFdwRequestInfo info;
	struct json_object *body = json_object_new_object();
	struct json_object *records = json_object_new_array();
	struct json_object *one = json_object_new_object();
	struct json_object *keys = json_object_new_array();
	struct json_object *jrecords;
	struct json_object *entry = NULL;
	char	   *text;
	CkRecord	fresh;
	char		err[256];
	int			i;

	memset(&fresh, 0, sizeof(fresh));
	json_object_object_add(one, "recordName",
						   json_object_new_string(rec->record_name ? rec->record_name : ""));
	json_object_array_add(records, one);
	json_object_object_add(body, "records", records);
	json_object_object_add(body, "zoneID",
						   ck_zone_id_new(rec->zone_name ? rec->zone_name : opts->zone,
										  rec->zone_owner ? rec->zone_owner : opts->zone_owner));
	for (i = 0; i < reader->nfetches; i++)
	{
		AssetFetch *f = &reader->fetches[i];
		int			j;
		bool		dup = false;

		if (!f->expired)
			continue;
		for (j = 0; j < i; j++)
			dup |= (reader->fetches[j].expired && reader->fetches[j].col == f->col);
		if (!dup)
			json_object_array_add(keys, json_object_new_string(f->col->field_utf8));
	}
	json_object_object_add(body, "desiredKeys", keys);
	text = pstrdup(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
												  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(body);

	info.operation = "records/lookup";
	info.record_type = opts->record_type;
	info.zone = opts->zone;
	info.relname = reader->relname;
	reader->relookups++;
	ckfdw_request(reader->conn, "POST", text, true, &info, &reader->resp);

	if (!json_object_object_get_ex(reader->resp.json, "records", &jrecords) ||
		!json_object_is_type(jrecords, json_type_array) ||
		(entry = json_object_array_get_idx(jrecords, 0)) == NULL ||
		!ck_record_parse(entry, &fresh, err, sizeof(err)) || fresh.is_error)
	{
		const char *code = NULL;
		const char *reason = NULL;

		if (entry != NULL && fresh.is_error)
		{
			code = pstrdup(fresh.server_error_code ? fresh.server_error_code : "");
			reason = pstrdup(fresh.reason ? fresh.reason : "");
		}
		ck_response_clear(&reader->resp);
		ereport(ERROR,
				(errcode(code && strcmp(code, "NOT_FOUND") == 0 ?
						 ERRCODE_FDW_ERROR : ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("could not get fresh download URLs for the assets of record \"%s\"",
						ckfdw_message_text(rec->record_name ? rec->record_name : "")),
				 code ? errdetail("CloudKit answered %s: %s", code, ckfdw_message_text(reason)) :
				 errdetail("The download URLs had expired, and the lookup of the record gave no record."),
				 errhint("The record may have been deleted meanwhile; run the query again.")));
	}

	for (i = 0; i < reader->nfetches; i++)
	{
		AssetFetch *f = &reader->fetches[i];
		struct json_object *value;
		struct json_object *dict;
		CkFieldType wire;
		const char *url;

		if (!f->expired)
			continue;
		dict = NULL;
		if (ck_record_field(&fresh, f->col->field_utf8, &value, &wire) && value != NULL)
			dict = f->index >= 0 ?
				(json_object_is_type(value, json_type_array) ?
				 json_object_array_get_idx(value, f->index) : NULL) : value;
		if (dict == NULL || !ck_value_asset_url(dict, &url))
		{
			ck_response_clear(&reader->resp);
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("asset of record \"%s\" changed while it was read",
							ckfdw_message_text(rec->record_name ? rec->record_name : "")),
					 errdetail("Its download URL had expired, and the record looked up again no longer has that asset in column \"%s\".",
							   f->col->attname),
					 errhint("Run the query again.")));
		}
		f->url = MemoryContextStrdup(reader->cxt, url);
	}
	ck_response_clear(&reader->resp);
}

/*
 * The content of one asset dictionary of the record being converted, as
 * ckfdw_asset_fetch_record downloaded it.
 */
Datum
ckfdw_asset_content(CkFdwColumn *col, struct json_object *dict)
{
	CkFdwAssetReader *reader = col->assets;
	int			i;

	if (reader != NULL)
	{
		for (i = 0; i < reader->nfetches; i++)
		{
			if (reader->fetches[i].dict == dict && reader->fetches[i].content != NULL)
				return PointerGetDatum(reader->fetches[i].content);
		}
	}
	elog(ERROR, "content of a CloudKit asset of column \"%s\" was not downloaded",
		 col->attname);
	return (Datum) 0;			/* keep compiler quiet */
}

/*
 * EXPLAIN: which columns download asset content (one GET per asset of each
 * row returned) and, with ANALYZE, how many downloads were made.
 */
void
ckfdw_explain_asset_content(CkFdwColumn *columns, int ncolumns,
							List *retrieved_attrs, ExplainState *es)
{
	StringInfoData buf;
	CkFdwAssetReader *reader = NULL;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, retrieved_attrs)
	{
		CkFdwColumn *col = &columns[lfirst_int(lc) - 1];

		if (col->dropped || !col->asset_content)
			continue;
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, quote_identifier(col->attname));
		reader = col->assets;
	}
	if (buf.len == 0)
		return;
	ExplainPropertyText("CloudKit Asset Content", buf.data, es);
	if (es->analyze && reader != NULL)
	{
		ExplainPropertyInteger("CloudKit Asset Downloads", NULL, reader->downloads, es);
		if (reader->relookups > 0)
			ExplainPropertyInteger("CloudKit Asset Lookups", NULL, reader->relookups, es);
	}
}
