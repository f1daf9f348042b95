/*-------------------------------------------------------------------------
 *
 * scan_query.c
 *		  records/query as a source of a scan
 *
 * The planned query completed with the run-time values of its filters and
 * limit, fetched page by page with continuationMarker.  CloudKit may refuse
 * a filter or sort of the first page for want of an index: the scan then
 * asks again without it and evaluates (or sorts) locally.
 *
 * IDENTIFICATION
 *		  src/scan_query.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ckfdw_json.h"

#include "executor/executor.h"
#include "utils/memutils.h"

#include "ckfdw.h"
#include "scan.h"
#include "ck/ck_query.h"

static void build_request(CkFdwScanState *fsstate);
static void query_fetch(CkFdwScanState *fsstate);
static bool query_accept(CkFdwScanState *fsstate, const CkRecord *rec);
static const char *query_next_request(CkFdwScanState *fsstate);
static char *query_explain_request(const char *base, CkFdwPushdown *pd,
								   CkFdwParamValues *params, CkFdwOptions *opts);
static bool send_query(CkFdwScanState *fsstate, const char *body, CkResponse *resp);
static bool refuse_field(CkFdwScanState *fsstate, const char *reason);
static bool refused_unfiltered(CkFdwScanState *fsstate, const CkResponse *resp);

const CkScanSource ckfdw_query_source = {
	.operation = "records/query",
	.noun = "query",
	.recheck_label = "CloudKit Filter",
	.start = build_request,
	.fetch = query_fetch,
	.accept = query_accept,
	.next_request = query_next_request,
	.page_flags = CK_REQUEST_IDEMPOTENT | CK_REQUEST_RAW_BODY | CK_REQUEST_FIRST,
	.explain_request = query_explain_request,
};

/*
 * The records/query body for the current values: filters whose value
 * cannot be sent, and those CloudKit refused, become conditions this scan
 * evaluates (local_checks); the fields they need are requested too.
 */
static void
build_request(CkFdwScanState *fsstate)
{
	CkFdwPushdown *pd = fsstate->pushdown;
	MemoryContext oldcxt = MemoryContextSwitchTo(fsstate->params_cxt);
	List	   *extra_attrs = NIL;
	List	   *extra_keys = NIL;
	Bitmapset  *quals = NULL;
	int			results_limit = fsstate->options->page_size;
	ListCell   *lc;
	int			i;
	int			pass;

	/* sorting here needs all rows: no limit on what CloudKit sends */
	if (fsstate->has_limit && !fsstate->sort_locally &&
		fsstate->limit < PG_INT64_MAX - fsstate->offset)
		results_limit = (int) Max(Min(fsstate->offset + fsstate->limit,
									  (int64) results_limit), 1);

	/* twice at most: the second time with the fields the checks need */
	for (pass = 0; pass < 2; pass++)
	{
		fsstate->request = ckfdw_build_query_request(fsstate->base_request, pd,
													 &fsstate->params,
													 fsstate->refused,
													 fsstate->filter_off,
													 fsstate->sort_locally,
													 extra_keys, results_limit);
		if (pass > 0)
			break;

		i = 0;
		foreach(lc, pd->filters)
		{
			CkFdwFilter *f = (CkFdwFilter *) lfirst(lc);

			/* a condition also in the plan's qual is checked there */
			if (fsstate->filter_off[i] && !f->recheck)
			{
				quals = bms_add_member(quals, f->qual_index);
				extra_attrs = lappend_int(extra_attrs, f->attnum);
			}
			i++;
		}
		if (fsstate->sort_locally)
		{
			foreach(lc, pd->sorts)
				extra_attrs = lappend_int(extra_attrs, ((CkFdwSort *) lfirst(lc))->attnum);
		}

		fsstate->fetch_attrs = list_copy(fsstate->retrieved_attrs);
		foreach(lc, extra_attrs)
		{
			int			attnum = lfirst_int(lc);
			CkFdwColumn *col = &fsstate->columns[attnum - 1];

			if (list_member_int(fsstate->fetch_attrs, attnum))
				continue;
			fsstate->fetch_attrs = lappend_int(fsstate->fetch_attrs, attnum);
			if (col->system == CKFDW_SYS_NONE)
				extra_keys = lappend(extra_keys, col->field_utf8);
		}
		if (extra_keys == NIL)
			break;
	}
	MemoryContextSwitchTo(oldcxt);

	/* the conditions to check here, compiled once per scan */
	fsstate->local_checks = NIL;
	i = -1;
	while ((i = bms_next_member(quals, i)) >= 0)
	{
		if (fsstate->qual_states[i] == NULL)
		{
			oldcxt = MemoryContextSwitchTo(fsstate->scan_cxt);
			fsstate->qual_states[i] =
				ExecInitQual(list_make1(list_nth(fsstate->recheck_quals, i)),
							 fsstate->planstate);
			MemoryContextSwitchTo(oldcxt);
		}
		fsstate->local_checks = lappend(fsstate->local_checks,
										fsstate->qual_states[i]);
	}
	/* local_checks lives in params_cxt, reset at the next start */
	oldcxt = MemoryContextSwitchTo(fsstate->params_cxt);
	fsstate->local_checks = list_copy(fsstate->local_checks);
	MemoryContextSwitchTo(oldcxt);
}

/*
 * The body asking for the page after the current one: the same query with
 * the current page's marker (copied by json-c).
 */
static const char *
query_next_request(CkFdwScanState *fsstate)
{
	if (fsstate->request_obj == NULL)
	{
		fsstate->request_obj = json_tokener_parse(fsstate->request);
		if (fsstate->request_obj == NULL)
			elog(ERROR, "could not parse the planned CloudKit request");
	}
	if (fsstate->prev_marker)
		pfree(fsstate->prev_marker);
	fsstate->prev_marker = MemoryContextStrdup(fsstate->scan_cxt, fsstate->marker);
	ck_query_set_continuation(fsstate->request_obj, fsstate->marker);
	return json_object_to_json_string_ext(fsstate->request_obj,
										  JSON_C_TO_STRING_PLAIN |
										  JSON_C_TO_STRING_NOSLASHESCAPE);
}

/*
 * Fetch the next page of the query (the first one if none was fetched), and
 * make it the current page.  The previous page is freed first.
 */
static void
query_fetch(CkFdwScanState *fsstate)
{
	const char *body;

	if (!ckfdw_scan_take_ahead(fsstate))
	{
		if (fsstate->pages_fetched == 0)
			body = fsstate->request;	/* what EXPLAIN VERBOSE shows, completed */
		else
			body = query_next_request(fsstate);

		for (;;)
		{
			ckfdw_scan_new_page(fsstate);

			/* CloudKit may refuse a filter or sort of the first page */
			if (fsstate->pages_fetched > 0)
			{
				ckfdw_request_raw(fsstate->conn, "POST", body, &fsstate->info,
								  &fsstate->page->resp);
				break;
			}
			if (!send_query(fsstate, body, &fsstate->page->resp))
				break;
			fsstate->requests += fsstate->page->resp.attempts;
			build_request(fsstate);
			body = fsstate->request;
		}
	}
	fsstate->pages_fetched++;
	fsstate->requests += fsstate->page->resp.attempts;

	ckfdw_scan_set_body(fsstate, "continuationMarker");

	/* the marker is present only when more records follow */
	fsstate->marker = ckfdw_page_marker(fsstate->page, "continuationMarker");
	fsstate->more = (fsstate->marker != NULL);

	if (fsstate->marker != NULL)
		ckfdw_check_next_marker(&fsstate->markers, fsstate->scan_cxt,
								fsstate->marker, fsstate->prev_marker,
								fsstate->num_records, fsstate->pages_fetched,
								"continuationMarker", "query",
								fsstate->options->record_type);
}

/* An error instead of a record is an error, never a gap. */
static bool
query_accept(CkFdwScanState *fsstate, const CkRecord *rec)
{
	if (rec->is_error)
		ckfdw_report_record_error(rec->server_error_code, rec->reason,
								  rec->record_name, rec->retry_after,
								  &fsstate->info);
	/* a query has no tombstones to return; skip any */
	return !rec->deleted;
}

/* The plan's query: constants as sent, other values as ?n. */
static char *
query_explain_request(const char *base, CkFdwPushdown *pd,
					  CkFdwParamValues *params, CkFdwOptions *opts)
{
	return ckfdw_build_query_request(base, pd, params, NULL, NULL,
									 false, NIL, 0);
}

/*
 * Send the first page's query.  If CloudKit refuses it because a field the
 * request filters or sorts on has no index ("Field 'x' is not marked
 * queryable"), mark what needs that index as refused, say so, and return
 * true: the caller asks again without it, and the scan evaluates it
 * locally.  Every other failure is raised.
 */
static bool
send_query(CkFdwScanState *fsstate, const char *body, CkResponse *resp)
{
	if (ckfdw_try_request_raw(fsstate->conn, "POST", body, &fsstate->info, resp))
		return false;
	return ckfdw_query_refused(fsstate, resp);
}

/*
 * The failed answer to the first page of a query: true when CloudKit
 * refused an index the request needs, which is now marked (the request
 * is to be built again); every other failure is raised.
 */
bool
ckfdw_query_refused(CkFdwScanState *fsstate, const CkResponse *resp)
{
	if (resp->kind == CK_RESULT_SERVER_ERROR &&
		strcmp(resp->server_error_code, "BAD_REQUEST") == 0 &&
		refuse_field(fsstate, resp->reason))
		return true;
	if (refused_unfiltered(fsstate, resp))
		ckfdw_report_response_hint(resp, &fsstate->info, NULL,
								   "CloudKit lists a record type only where recordName is QUERYABLE in the schema: add a condition on a QUERYABLE field, add that index, or, in a custom zone of the private or shared database, read the zone's change feed (foreign table option scan_source 'changes').");
	ckfdw_report_response(resp, &fsstate->info, NULL);
}

/*
 * Did CloudKit refuse to list the record type at all: a query without any
 * condition, on a type whose recordName (___recordID) has no QUERYABLE
 * index?  The user asked for no filter, so the generic hint about
 * filtered fields would mislead.
 */
static bool
refused_unfiltered(CkFdwScanState *fsstate, const CkResponse *resp)
{
	char	   *field;
	int			refusal;
	int			i;

	if (resp->kind != CK_RESULT_SERVER_ERROR ||
		strcmp(resp->server_error_code, "BAD_REQUEST") != 0 ||
		!ckfdw_index_refusal(resp->reason, &field, &refusal) ||
		refusal != CKFDW_REFUSED_QUERYABLE ||
		!ckfdw_field_matches(field, "recordName", true))
		return false;
	for (i = 0; i < list_length(fsstate->pushdown->filters); i++)
	{
		if (!fsstate->filter_off[i] && !fsstate->refused[i])
			return false;
	}
	return true;
}

/*
 * Mark the filters (or sorts) on the field a refusal names: those needing
 * the missing index, or all of them for a field CloudKit does not know (a
 * column without a field reads as NULL: no row matches, locally either).
 * reason is CloudKit's, in UTF-8 like the field names we send.  False if
 * none was sent, so that the refusal is an error.
 */
static bool
refuse_field(CkFdwScanState *fsstate, const char *reason)
{
	CkFdwPushdown *pd = fsstate->pushdown;
	char	   *field;
	int			refusal;
	bool		sortable;
	bool		unknown;
	AttrNumber	attnum = InvalidAttrNumber;
	bool		sort_hit = false;
	const char *what;
	MemoryContext oldcxt;
	ListCell   *lc;
	int			i = 0;

	if (!ckfdw_index_refusal(reason, &field, &refusal))
		return false;
	sortable = (refusal == CKFDW_REFUSED_SORTABLE);
	unknown = (refusal == CKFDW_REFUSED_UNKNOWN);

	foreach(lc, pd->filters)
	{
		CkFdwFilter *f = (CkFdwFilter *) lfirst(lc);

		if (!fsstate->filter_off[i] && (unknown || f->needs_sortable == sortable) &&
			ckfdw_field_matches(field, f->field, f->is_system))
		{
			fsstate->refused[i] = true;
			attnum = f->attnum;
		}
		i++;
	}
	if ((sortable || unknown) && !fsstate->sort_locally)
	{
		foreach(lc, pd->sorts)
		{
			CkFdwSort  *s = (CkFdwSort *) lfirst(lc);

			if (ckfdw_field_matches(field, s->field, s->is_system))
			{
				fsstate->sort_locally = true;
				sort_hit = true;
				if (attnum == InvalidAttrNumber)
					attnum = s->attnum;
			}
		}
	}
	if (attnum == InvalidAttrNumber)
		return false;

	what = unknown ? "unknown" : sortable ? "sortable" : "queryable";

	/* for EXPLAIN ANALYZE: we run in the per-tuple context here */
	oldcxt = MemoryContextSwitchTo(fsstate->scan_cxt);
	fsstate->refusals = lappend(fsstate->refusals,
								psprintf("%s (%s)", ckfdw_message_text(field), what));
	MemoryContextSwitchTo(oldcxt);

	if (unknown)
		ereport(NOTICE,
				(errmsg("CloudKit has no field \"%s\" in record type \"%s\"",
						ckfdw_message_text(field), fsstate->options->record_type),
				 errdetail("ckfdw evaluates the conditions on column \"%s\" locally instead: the column reads as NULL.",
						   fsstate->columns[attnum - 1].attname),
				 errhint("Check the option \"field\" of column \"%s\" of foreign table \"%s\".",
						 fsstate->columns[attnum - 1].attname, fsstate->relname)));
	else
		ereport(NOTICE,
				(errmsg("CloudKit cannot %s field \"%s\" of record type \"%s\"",
						sort_hit ? "sort by" : "filter on",
						ckfdw_message_text(field), fsstate->options->record_type),
				 errdetail("The field is not marked %s in the CloudKit schema; ckfdw %s instead.",
						   sortable ? "SORTABLE" : "QUERYABLE",
						   sort_hit ? "sorts the rows locally" : "evaluates the condition locally"),
				 errhint("Add the index in CloudKit, or set option %s 'false' on column \"%s\" of foreign table \"%s\" so that ckfdw stops sending it.",
						 what, fsstate->columns[attnum - 1].attname, fsstate->relname)));
	return true;
}
