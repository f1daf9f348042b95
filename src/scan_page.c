/*-------------------------------------------------------------------------
 *
 * scan_page.c
 *		  The records of a page, read from the raw answer body
 *
 * Every read of records asks for its answers as raw text
 * (CK_REQUEST_RAW_BODY) and reads them in place (src/ck/ck_page.h): the
 * body is checked once, and each record is read when its row is made, its
 * values converted straight into Datums (convert_raw.c).  No JSON tree is
 * built and freed per page, which is where a scan's CPU used to go.  The
 * scan's sources (records/query, its range cursors, records/lookup,
 * changes/zone) and ANALYZE all read their pages here.
 *
 * A body the reader declines is parsed with json-c exactly as the
 * transport parsed every answer before (same errors for a body that is
 * not JSON, a lone surrogate, a wide integer), and its page is read from
 * the tree as before; a record the reader declines is parsed by json-c on
 * its own, so that ck_record_parse reports what is wrong with it.
 *
 * IDENTIFICATION
 *		  src/scan_page.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ckfdw_json.h"

#include "ckfdw.h"
#include "scan.h"
#include "ck/ck_page.h"

static void free_page(void *arg);

/*
 * A new, empty page in cxt: the response received into page->resp, and
 * all that is read from it, is freed when cxt is reset or deleted.
 */
CkFdwPage *
ckfdw_page_new(MemoryContext cxt)
{
	CkFdwPage  *page = MemoryContextAllocZero(cxt, sizeof(CkFdwPage));

	page->cb.func = free_page;
	page->cb.arg = page;
	MemoryContextRegisterResetCallback(cxt, &page->cb);
	return page;
}

static void
free_page(void *arg)
{
	ckfdw_page_free((CkFdwPage *) arg);
}

/* Free what a page holds outside PostgreSQL's memory. */
void
ckfdw_page_free(CkFdwPage *page)
{
	if (page->record_json != NULL)
		json_object_put(page->record_json);
	page->record_json = NULL;
	ck_raw_record_free(&page->raw_record);
	ck_page_free(&page->raw_page);
	page->raw = false;
	page->records = NULL;
	page->nrecords = 0;
	ck_response_clear(&page->resp);
}

/*
 * Move what src holds into dst (an empty page): dst frees it from now on,
 * src is left empty.  The reset callbacks stay where they are.
 */
void
ckfdw_page_move(CkFdwPage *dst, CkFdwPage *src)
{
	MemoryContextCallback cb = dst->cb;

	*dst = *src;
	dst->cb = cb;
	cb = src->cb;
	memset(src, 0, sizeof(*src));
	src->cb = cb;
}

/*
 * A body the reader declined, parsed as the transport would have: the
 * JSON object (freed with the page), or the transport's error raised.
 */
static struct json_object *
parse_declined(CkFdwPage *page, const CkFdwRequestInfo *info)
{
	CkResponse *resp = &page->resp;
	struct json_object *obj;

	obj = ck_page_parse_json(resp->body ? resp->body : "",
							 resp->body ? resp->body_len : 0,
							 resp->http_status, &resp->bad_text,
							 resp->reason, sizeof(resp->reason));
	if (obj == NULL)
	{
		resp->kind = CK_RESULT_BAD_RESPONSE;
		ckfdw_report_response(resp, info, NULL);
	}
	resp->json = obj;
	return obj;
}

/*
 * The page's records are those of the raw body its response holds (a
 * success of a CK_REQUEST_RAW_BODY request): the list "records", and for
 * a query the string marker_key (NULL: none).  noun names the read in
 * messages ("query").
 */
void
ckfdw_page_read(CkFdwPage *page, const char *marker_key,
				const CkFdwRequestInfo *info, const char *noun)
{
	CkResponse *resp = &page->resp;

	Assert(resp->kind == CK_RESULT_OK && resp->json == NULL);
	if (resp->body != NULL &&
		ck_page_scan(&page->raw_page, resp->body, resp->body_len, "records",
					 marker_key))
	{
		page->raw = true;
		page->nrecords = page->raw_page.nrecords;
		return;
	}
	/* declined: json-c, as the transport would have parsed it */
	ckfdw_page_set_records(page, parse_declined(page, info), info, noun);
}

/*
 * The page of a changes/zone answer for one zone, read as ck_changes_parse
 * reads it into z (its strings live as long as the page).  False (why in
 * err) when the answer is not one; a zone error is left to the caller
 * (z->is_error), with no records set.
 */
bool
ckfdw_page_read_zone(CkFdwPage *page, const CkFdwRequestInfo *info,
					 const char *noun, CkZoneChanges *z, char *err,
					 size_t errlen)
{
	CkResponse *resp = &page->resp;
	bool		more_coming;

	Assert(resp->kind == CK_RESULT_OK && resp->json == NULL);
	if (resp->body != NULL &&
		ck_page_scan_zone(&page->raw_page, resp->body, resp->body_len,
						  &more_coming))
	{
		memset(z, 0, sizeof(*z));
		z->nrecords = page->raw_page.nrecords;
		z->sync_token = page->raw_page.marker;
		z->more_coming = more_coming;
		page->raw = true;
		page->nrecords = page->raw_page.nrecords;
		return true;
	}
	/* declined: json-c says what is wrong, if anything */
	if (!ck_changes_parse(parse_declined(page, info), z, err, errlen))
		return false;
	if (!z->is_error)
		ckfdw_page_set_records(page, z->zone, info, noun);
	return true;
}

/*
 * The records of a page read with json-c: the "records" list of obj, a
 * part of the page's response.
 */
void
ckfdw_page_set_records(CkFdwPage *page, struct json_object *obj,
					   const CkFdwRequestInfo *info, const char *noun)
{
	struct json_object *records;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
		!json_object_object_get_ex(obj, "records", &records) ||
		!json_object_is_type(records, json_type_array))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("CloudKit response to the %s of record type \"%s\" has no \"records\" list",
						noun, info->record_type)));
	page->records = records;
	page->nrecords = json_object_array_length(records);
}

/*
 * The page's continuation string (marker_key), or NULL when it has none or
 * an empty one: no more records follow.
 */
const char *
ckfdw_page_marker(CkFdwPage *page, const char *marker_key)
{
	struct json_object *marker;

	if (page->raw)
		return page->raw_page.marker;
	if (json_object_object_get_ex(page->resp.json, marker_key, &marker) &&
		json_object_is_type(marker, json_type_string) &&
		json_object_get_string_len(marker) > 0)
		return json_object_get_string(marker);
	return NULL;
}

/*
 * Record i of the page into rec, which stays valid until the next call;
 * false (with why in err) when the entry is no record.  as_json: read a
 * record of a raw page with json-c all the same (rec->fields set).
 */
bool
ckfdw_page_record(CkFdwPage *page, int i, bool as_json, CkRecord *rec,
				  char *err, size_t errlen)
{
	if (!page->raw)
		return ck_record_parse(json_object_array_get_idx(page->records, i),
							   rec, err, errlen);

	if (page->record_json != NULL)
	{
		json_object_put(page->record_json);
		page->record_json = NULL;
	}
	if (!as_json && ck_raw_record_read(&page->raw_record, &page->raw_page, i))
	{
		*rec = page->raw_record.rec;
		return true;
	}

	/* not the plain shape: json-c reads it, and says what is wrong */
	page->record_json = ck_json_parse_span(page->raw_page.records[i]);
	if (page->record_json == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Failed to parse a CloudKit record.")));
	return ck_record_parse(page->record_json, rec, err, errlen);
}

/* ----------------------------------------------------------------
 *		The current page of a scan
 * ----------------------------------------------------------------
 */

/* The scan's current page has been read: its records are the scan's. */
void
ckfdw_scan_use_page(CkFdwScanState *fsstate)
{
	fsstate->num_records = fsstate->page->nrecords;
	fsstate->next_record = 0;
	fsstate->records_received += fsstate->num_records;
}

/* ckfdw_page_read for the scan's current page. */
void
ckfdw_scan_set_body(CkFdwScanState *fsstate, const char *marker_key)
{
	ckfdw_page_read(fsstate->page, marker_key, &fsstate->info,
					fsstate->source->noun);
	ckfdw_scan_use_page(fsstate);
}

/* Is there a current page (read in place or from a tree)? */
bool
ckfdw_scan_has_page(CkFdwScanState *fsstate)
{
	return fsstate->page != NULL &&
		(fsstate->page->raw || fsstate->page->records != NULL);
}

/* The next record of the current page (see ckfdw_page_record). */
bool
ckfdw_scan_next_record(CkFdwScanState *fsstate, CkRecord *rec, char *err,
					   size_t errlen)
{
	return ckfdw_page_record(fsstate->page, fsstate->next_record++,
							 fsstate->records_as_json, rec, err, errlen);
}
