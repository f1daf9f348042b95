/*-------------------------------------------------------------------------
 *
 * scan_page.c
 *		  The records of a scan's page, read from the raw answer body
 *
 * A records/query or records/lookup answer is asked for as raw text
 * (CK_REQUEST_RAW_BODY) and read in place (src/ck/ck_page.h): the body is
 * checked once, and each record is read when its row is made, its values
 * converted straight into Datums (convert_raw.c).  No JSON tree is built
 * and freed per page, which is where a scan's CPU used to go.
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

/*
 * The current page's records are those of the raw body its response holds
 * (a success of ckfdw_request_raw): the list "records", and for a query
 * the string marker_key (NULL: none).
 */
void
ckfdw_scan_set_body(CkFdwScanState *fsstate, const char *marker_key)
{
	CkFdwPage  *page = fsstate->page;
	CkResponse *resp = &page->resp;
	struct json_object *obj;

	Assert(resp->kind == CK_RESULT_OK && resp->json == NULL);
	if (resp->body != NULL &&
		ck_page_scan(&page->raw_page, resp->body, resp->body_len, "records",
					 marker_key))
	{
		page->raw = true;
		fsstate->records = NULL;
		fsstate->num_records = page->raw_page.nrecords;
		fsstate->next_record = 0;
		fsstate->records_received += fsstate->num_records;
		return;
	}

	/* declined: json-c, as the transport would have parsed it */
	obj = ck_page_parse_json(resp->body ? resp->body : "",
							 resp->body ? resp->body_len : 0,
							 resp->http_status, &resp->bad_text,
							 resp->reason, sizeof(resp->reason));
	if (obj == NULL)
	{
		resp->kind = CK_RESULT_BAD_RESPONSE;
		ckfdw_report_response(resp, &fsstate->info, NULL);
	}
	resp->json = obj;			/* freed with the page */
	ckfdw_scan_set_records(fsstate, obj);
}

/* Is there a current page (read in place or from a tree)? */
bool
ckfdw_scan_has_page(CkFdwScanState *fsstate)
{
	return fsstate->records != NULL ||
		(fsstate->page != NULL && fsstate->page->raw);
}

/*
 * The page's continuation string (continuationMarker), or NULL when it has
 * none or an empty one: no more records follow.
 */
const char *
ckfdw_scan_page_marker(CkFdwScanState *fsstate, const char *marker_key)
{
	CkFdwPage  *page = fsstate->page;
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
 * The next record of the current page into rec, which stays valid until
 * the next call; false (with why in err) when the entry is no record.
 */
bool
ckfdw_scan_next_record(CkFdwScanState *fsstate, CkRecord *rec, char *err,
					   size_t errlen)
{
	CkFdwPage  *page = fsstate->page;
	int			i = fsstate->next_record++;

	if (!page->raw)
		return ck_record_parse(json_object_array_get_idx(fsstate->records, i),
							   rec, err, errlen);

	if (page->record_json != NULL)
	{
		json_object_put(page->record_json);
		page->record_json = NULL;
	}
	if (!fsstate->records_as_json &&
		ck_raw_record_read(&page->raw_record, &page->raw_page, i))
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

/* Free what a page holds outside PostgreSQL's memory. */
void
ckfdw_scan_free_page(CkFdwPage *page)
{
	if (page->record_json != NULL)
		json_object_put(page->record_json);
	page->record_json = NULL;
	ck_raw_record_free(&page->raw_record);
	ck_page_free(&page->raw_page);
	page->raw = false;
	ck_response_clear(&page->resp);
}
