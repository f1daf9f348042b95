/*-------------------------------------------------------------------------
 *
 * scan_cursors.c
 *		  records/query read by several cursors at once
 *
 * The query of scan_query.c, sent as one cursor per range of the plan's
 * split (range_split.c), or as a single cursor for a scan in an async
 * Append.  Every cursor keeps the request of its next page in flight: all
 * first pages go out when the scan starts, and a cursor asks for its next
 * page as soon as one arrives, so the pages of all cursors travel while
 * the rows of one are returned.  Pages are taken round robin among those
 * that have come; the ranges do not overlap, so every record is read
 * exactly once.  Memory: besides the current page, each cursor holds at
 * most one answered page and one in flight (scan_cursors is at most 16).
 *
 * CloudKit may refuse a filter (or the range itself) for want of an index,
 * on the first page.  No row is returned before every cursor's first page
 * is answered: a refusal then restarts all cursors with the request
 * changed, and nothing is returned twice.  A refused range ends the split:
 * one cursor reads the table.
 *
 * IDENTIFICATION
 *		  src/scan_cursors.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ckfdw_json.h"

#include "utils/memutils.h"

#include "ckfdw.h"
#include "scan.h"
#include "ck/ck_query.h"

typedef struct CkFdwCursor
{
	CkFdwPending *req;		/* the next page in flight, or NULL */
	char	   *body;			/* its request */
	CkFdwPage	held;			/* an answered page not yet returned, read */
	bool		has_held;
	char	   *prev_marker;	/* the marker body was sent with */
	int			pages;			/* answered so far */
	bool		finished;		/* its last page is answered */
} CkFdwCursor;

typedef struct CkFdwCursors
{
	MemoryContext cxt;			/* bodies; reset when the scan restarts */
	MemoryContextCallback cb;	/* drops the pages held (requests in flight
								 * are cancelled with cxt by connection.c) */
	CkFdwListener listener;		/* moves pages on while others wait */
	int			n;
	CkFdwCursor *cursor;
	int			next;			/* the cursor looked at first (round robin) */
	bool		first_round;	/* a first page is not answered yet */
} CkFdwCursors;

static void cursors_start(CkFdwScanState *fsstate);
static void cursors_fetch(CkFdwScanState *fsstate);
static bool cursors_page_waits(CkFdwScanState *fsstate);
static bool cursors_accept(CkFdwScanState *fsstate, const CkRecord *rec);
static char *cursors_explain_request(const char *base, CkFdwPushdown *pd,
									 CkFdwParamValues *params, CkFdwOptions *opts);
static void start_cursors(CkFdwScanState *fsstate);
static void drop_cursors(void *arg);
static char *ranged_request(CkFdwScanState *fsstate, CkFdwPushdown *range);
static bool collect(CkFdwScanState *fsstate);
static void hold_page(CkFdwScanState *fsstate, CkFdwCursor *c);
static void collect_while_waiting(void *arg);
static bool range_refused(CkFdwScanState *fsstate, const CkResponse *resp);
static void read_ahead(CkFdwScanState *fsstate, CkFdwCursor *c);
static void take_page(CkFdwScanState *fsstate, CkFdwCursor *c);
static char *continuation_body(const char *body, const char *marker);

const CkScanSource ckfdw_cursor_source = {
	.operation = "records/query",
	.noun = "query",
	.recheck_label = "CloudKit Filter",
	.start = cursors_start,
	.fetch = cursors_fetch,
	.page_waits = cursors_page_waits,
	.accept = cursors_accept,
	.explain_request = cursors_explain_request,
};

/*
 * Complete the query for the current values (as scan_query.c does) and
 * send every cursor's first page.
 */
static void
cursors_start(CkFdwScanState *fsstate)
{
	ckfdw_query_source.start(fsstate);
	start_cursors(fsstate);
}

/* (Re)start every cursor from its first page; forget earlier ones. */
static void
start_cursors(CkFdwScanState *fsstate)
{
	CkFdwCursors *cs = fsstate->cursors;
	CkFdwSplit *split = fsstate->split;
	bool		ranges = (split != NULL && split->ranges != NIL &&
						  !fsstate->split_dropped);
	MemoryContext oldcxt;
	int			i;

	if (cs == NULL)
	{
		cs = MemoryContextAllocZero(fsstate->scan_cxt, sizeof(CkFdwCursors));
		cs->cxt = AllocSetContextCreate(fsstate->scan_cxt, "ckfdw cursors",
										ALLOCSET_SMALL_SIZES);
		fsstate->cursors = cs;
	}
	/* cancels the requests of the previous run, drops its pages */
	MemoryContextReset(cs->cxt);
	cs->cb.func = drop_cursors;
	cs->cb.arg = cs;
	MemoryContextRegisterResetCallback(cs->cxt, &cs->cb);

	oldcxt = MemoryContextSwitchTo(cs->cxt);
	cs->n = ranges ? list_length(split->ranges) : 1;
	cs->cursor = palloc0(sizeof(CkFdwCursor) * cs->n);
	cs->next = 0;
	cs->first_round = true;
	for (i = 0; i < cs->n; i++)
		cs->cursor[i].body = ranges ?
			ranged_request(fsstate, list_nth(split->ranges, i)) :
			pstrdup(fsstate->request);
	/* all first pages in flight at once */
	for (i = 0; i < cs->n; i++)
		cs->cursor[i].req = ckfdw_start_request(fsstate->conn, "POST",
												cs->cursor[i].body,
												ckfdw_query_source.page_flags,
												&fsstate->info);
	ckfdw_add_listener(fsstate->conn, &cs->listener, collect_while_waiting, fsstate);
	MemoryContextSwitchTo(oldcxt);
	fsstate->more = true;
}

/* The memory of the cursors goes: the pages they hold go with it. */
static void
drop_cursors(void *arg)
{
	CkFdwCursors *cs = (CkFdwCursors *) arg;
	int			i;

	for (i = 0; i < cs->n; i++)
	{
		cs->cursor[i].req = NULL;
		if (cs->cursor[i].has_held)
			ckfdw_page_free(&cs->cursor[i].held);
		cs->cursor[i].has_held = false;
	}
	cs->n = 0;
}

/*
 * The scan's request with a range's filters added: the range's values are
 * plan-time constants among the plan's parameters.
 */
static char *
ranged_request(CkFdwScanState *fsstate, CkFdwPushdown *range)
{
	bool	   *off = palloc0(sizeof(bool) * Max(list_length(range->filters), 1));
	char	   *only_range;
	struct json_object *volatile request = NULL;
	struct json_object *volatile filters_only = NULL;
	char	   *result = NULL;
	int			i;

	only_range = ckfdw_build_query_request(fsstate->base_request, range,
										   &fsstate->params, NULL, off, true,
										   NIL, 0);
	for (i = 0; i < list_length(range->filters); i++)
	{
		if (off[i])
			elog(ERROR, "could not encode the range of a CloudKit cursor");
	}

	PG_TRY();
	{
		struct json_object *query;
		struct json_object *range_query;
		struct json_object *added;
		struct json_object *filter_by;
		size_t		k;

		request = json_tokener_parse(fsstate->request);
		filters_only = json_tokener_parse(only_range);
		if (request == NULL || filters_only == NULL ||
			!json_object_object_get_ex(request, "query", &query) ||
			!json_object_object_get_ex(filters_only, "query", &range_query) ||
			!json_object_object_get_ex(range_query, "filterBy", &added))
			elog(ERROR, "could not parse the planned CloudKit request");
		if (!json_object_object_get_ex(query, "filterBy", &filter_by))
		{
			filter_by = json_object_new_array();
			json_object_object_add(query, "filterBy", filter_by);
		}
		for (k = 0; k < json_object_array_length(added); k++)
			json_object_array_add(filter_by,
								  json_object_get(json_object_array_get_idx(added, k)));
		result = pstrdup(json_object_to_json_string_ext(request,
														JSON_C_TO_STRING_PLAIN |
														JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	PG_FINALLY();
	{
		if (request != NULL)
			json_object_put(request);
		if (filters_only != NULL)
			json_object_put(filters_only);
	}
	PG_END_TRY();
	return result;
}

/*
 * Would fetch wait?  Not when a page is held or answered, nor at the end;
 * before the first rows, only once every first page is answered.
 */
static bool
cursors_page_waits(CkFdwScanState *fsstate)
{
	CkFdwCursors *cs = fsstate->cursors;
	bool		any_ready = false;
	bool		any_pending = false;
	int			i;

	for (i = 0; i < cs->n; i++)
	{
		CkFdwCursor *c = &cs->cursor[i];
		bool		ready = c->has_held || (c->req != NULL && ckfdw_request_ready(c->req));

		if (ready)
			any_ready = true;
		else if (c->req != NULL)
		{
			any_pending = true;
			if (cs->first_round && c->pages == 0)
				return true;
		}
	}
	return !any_ready && any_pending;
}

/*
 * Make the next answered page the current one, waiting for one if none
 * is; the cursor it came from asks for its next page at once.
 */
static void
cursors_fetch(CkFdwScanState *fsstate)
{
	CkFdwCursors *cs = fsstate->cursors;

	for (;;)
	{
		bool		travelling = false;
		int			i;

		/* take every answer in; a refusal restarts the cursors */
		if (!collect(fsstate))
			continue;

		/* no row before every first page is answered and accepted */
		if (cs->first_round)
		{
			bool		all_answered = true;

			for (i = 0; i < cs->n; i++)
			{
				if (cs->cursor[i].pages == 0)
					all_answered = false;
			}
			if (!all_answered)
			{
				(void) ckfdw_wait_any_request(fsstate->conn);
				continue;
			}
			cs->first_round = false;
		}

		for (i = 0; i < cs->n; i++)
		{
			CkFdwCursor *c = &cs->cursor[(cs->next + i) % cs->n];

			if (c->has_held)
			{
				cs->next = (cs->next + i + 1) % cs->n;
				take_page(fsstate, c);
				return;
			}
			if (c->req != NULL)
				travelling = true;
		}
		if (!travelling)
		{
			/* every cursor is at its end */
			ckfdw_scan_forget_page(fsstate);
			fsstate->more = false;
			return;
		}
		(void) ckfdw_wait_any_request(fsstate->conn);
	}
}

/*
 * Move every answered page into its cursor.  Returns false when a refusal
 * of a first page restarted the cursors; raises every other failure.
 */
static bool
collect(CkFdwScanState *fsstate)
{
	CkFdwCursors *cs = fsstate->cursors;
	int			i;

	for (i = 0; i < cs->n; i++)
	{
		CkFdwCursor *c = &cs->cursor[i];
		CkFdwPending *req = c->req;

		if (req == NULL || c->has_held || !ckfdw_request_ready(req))
			continue;
		if (ckfdw_request_succeeded(req))
		{
			hold_page(fsstate, c);
			continue;
		}
		c->req = NULL;
		c->has_held = true;
		(void) ckfdw_finish_request(req, &c->held.resp);
		fsstate->requests += c->held.resp.attempts;

		/* before any row: the request may change, from the first page */
		if (c->pages == 0 && cs->first_round)
		{
			if (range_refused(fsstate, &c->held.resp))
				fsstate->split_dropped = true;
			else if (ckfdw_query_refused(fsstate, &c->held.resp))
				ckfdw_query_source.start(fsstate);
			start_cursors(fsstate);
			return false;
		}
		ckfdw_report_response(&c->held.resp, &fsstate->info, NULL);
	}
	return true;
}

/* A cursor's page has come with success: read it, hold it, ask for the next. */
static void
hold_page(CkFdwScanState *fsstate, CkFdwCursor *c)
{
	CkFdwPending *req = c->req;

	c->req = NULL;
	c->has_held = true;
	(void) ckfdw_finish_request(req, &c->held.resp);
	fsstate->requests += c->held.resp.attempts;
	c->pages++;
	ckfdw_page_read(&c->held, "continuationMarker", &fsstate->info,
					ckfdw_cursor_source.noun);
	read_ahead(fsstate, c);
}

/*
 * A listener (connection.c): while another node waits -- a modify for its
 * writes -- pages that came are held and the next ones sent, so that the
 * cursors keep travelling.  Failures wait for collect.
 */
static void
collect_while_waiting(void *arg)
{
	CkFdwScanState *fsstate = (CkFdwScanState *) arg;
	CkFdwCursors *cs = fsstate->cursors;
	int			i;

	if (cs->first_round)
		return;
	for (i = 0; i < cs->n; i++)
	{
		CkFdwCursor *c = &cs->cursor[i];

		if (c->req != NULL && !c->has_held && ckfdw_request_succeeded(c->req))
			hold_page(fsstate, c);
	}
}

/*
 * Did CloudKit refuse the field the ranges are on (not sortable, say)?
 * Then one cursor reads the table; the other conditions are unchanged.
 */
static bool
range_refused(CkFdwScanState *fsstate, const CkResponse *resp)
{
	CkFdwSplit *split = fsstate->split;
	CkFdwPushdown *range;
	CkFdwFilter *f;
	char	   *field;
	int			refusal;
	MemoryContext oldcxt;

	if (split == NULL || split->ranges == NIL || fsstate->split_dropped ||
		resp->kind != CK_RESULT_SERVER_ERROR ||
		strcmp(resp->server_error_code, "BAD_REQUEST") != 0 ||
		!ckfdw_index_refusal(resp->reason, &field, &refusal))
		return false;
	range = (CkFdwPushdown *) linitial(split->ranges);
	if (range->filters == NIL)
		return false;
	f = (CkFdwFilter *) linitial(range->filters);
	if (!ckfdw_field_matches(field, f->field, f->is_system))
		return false;

	oldcxt = MemoryContextSwitchTo(fsstate->scan_cxt);
	fsstate->refusals = lappend(fsstate->refusals,
								psprintf("%s (ranges)", ckfdw_message_text(field)));
	MemoryContextSwitchTo(oldcxt);
	ereport(NOTICE,
			(errmsg("CloudKit cannot compare ranges of field \"%s\" of record type \"%s\"",
					ckfdw_message_text(field), fsstate->options->record_type),
			 errdetail("CloudKit said: %s; ckfdw reads the table with one cursor instead.",
					   ckfdw_message_text(resp->reason)),
			 errhint("Mark the field SORTABLE in the CloudKit schema, or set option \"split_column\" of foreign table \"%s\" to a column whose field is.",
					 fsstate->relname)));
	return true;
}

/*
 * A cursor's page has come: its next page goes on the wire at once, while
 * this one waits its turn (so every cursor keeps a request in flight).
 */
static void
read_ahead(CkFdwScanState *fsstate, CkFdwCursor *c)
{
	const char *marker = ckfdw_page_marker(&c->held, "continuationMarker");
	MemoryContext oldcxt;
	char	   *next;

	if (marker == NULL)
	{
		c->finished = true;
		return;
	}
	ckfdw_check_next_marker(&fsstate->markers, fsstate->scan_cxt, marker,
							c->prev_marker, c->held.nrecords, c->pages,
							"continuationMarker", "query",
							fsstate->options->record_type);

	oldcxt = MemoryContextSwitchTo(fsstate->cursors->cxt);
	if (c->prev_marker != NULL)
		pfree(c->prev_marker);
	c->prev_marker = pstrdup(marker);
	next = continuation_body(c->body, marker);
	pfree(c->body);
	c->body = next;
	c->req = ckfdw_start_request(fsstate->conn, "POST", c->body,
								 ckfdw_query_source.page_flags, &fsstate->info);
	MemoryContextSwitchTo(oldcxt);
}

/* Make a cursor's held page the current one. */
static void
take_page(CkFdwScanState *fsstate, CkFdwCursor *c)
{
	CkFdwCursors *cs = fsstate->cursors;
	int			i;

	ckfdw_scan_new_page(fsstate);
	ckfdw_page_move(fsstate->page, &c->held);	/* freed with the page now */
	c->has_held = false;
	fsstate->pages_fetched++;
	ckfdw_scan_use_page(fsstate);
	fsstate->marker = NULL;

	/* more pages: held, or travelling */
	fsstate->more = false;
	for (i = 0; i < cs->n; i++)
	{
		if (cs->cursor[i].req != NULL || cs->cursor[i].has_held)
			fsstate->more = true;
	}
}

/* body with its continuationMarker set to marker, palloc'd. */
static char *
continuation_body(const char *body, const char *marker)
{
	struct json_object *obj = json_tokener_parse(body);
	char	   *result;

	if (obj == NULL)
		elog(ERROR, "could not parse the planned CloudKit request");
	ck_query_set_continuation(obj, marker);
	result = pstrdup(json_object_to_json_string_ext(obj,
													JSON_C_TO_STRING_PLAIN |
													JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
	return result;
}

/* As a plain query: an error instead of a record is an error. */
static bool
cursors_accept(CkFdwScanState *fsstate, const CkRecord *rec)
{
	return ckfdw_query_source.accept(fsstate, rec);
}

/* The unsplit query; EXPLAIN shows the ranges beside it. */
static char *
cursors_explain_request(const char *base, CkFdwPushdown *pd,
						CkFdwParamValues *params, CkFdwOptions *opts)
{
	return ckfdw_query_source.explain_request(base, pd, params, opts);
}

/*
 * EXPLAIN: how many cursors read the table and their ranges (VERBOSE), or
 * why the table is read by one although the options ask for more.
 */
void
ckfdw_explain_cursors(CkFdwSplit *split, ExplainState *es)
{
	if (split->ranges == NIL)
	{
		ExplainPropertyText("CloudKit Cursors",
							psprintf("1 (not split: %s)", split->why_not), es);
		return;
	}
	ExplainPropertyInteger("CloudKit Cursors", NULL, list_length(split->ranges), es);
	if (es->verbose)
	{
		StringInfoData buf;
		ListCell   *lc;

		initStringInfo(&buf);
		foreach(lc, split->labels)
		{
			if (buf.len > 0)
				appendStringInfoString(&buf, "; ");
			appendStringInfoString(&buf, (char *) lfirst(lc));
		}
		ExplainPropertyText("CloudKit Ranges", buf.data, es);
	}
}
