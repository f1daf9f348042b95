/*-------------------------------------------------------------------------
 *
 * scan.c
 *		  Executing a scan of a foreign CloudKit table
 *
 * The executor side shared by every source of records (scan.h): the
 * run-time values of the plan, the pages, and the rows.  The records of one
 * page are the only ones in memory: they live in a memory context that is
 * reset before the next page is requested (postgres_fdw's batch_cxt), so
 * memory stays flat for any result size.  Each record is converted into a
 * row in a per-row context, checked against the conditions the scan
 * evaluates itself, and counted against a pushed LIMIT/OFFSET.
 *
 * IDENTIFICATION
 *		  src/scan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ckfdw_json.h"

#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/tuplesort.h"

#include "ckfdw.h"
#include "scan.h"
#include "ck/ck_record.h"

static const CkScanSource *source_of(CkFdwScanMode mode);
static bool next_row(ForeignScanState *node);
static TupleTableSlot *iterate_sorted(ForeignScanState *node);
static void start_scan(ForeignScanState *node);
static void reset_scan(CkFdwScanState *fsstate);
static void read_ahead(CkFdwScanState *fsstate);
static void free_request_obj(void *arg);
static char *explain_value(Node *expr, List *context, ExplainState *es);

/* The source a plan's scan mode reads from. */
static const CkScanSource *
source_of(CkFdwScanMode mode)
{
	switch (mode)
	{
		case CKFDW_SCAN_QUERY:
			return &ckfdw_query_source;
		case CKFDW_SCAN_LOOKUP:
			return &ckfdw_lookup_source;
		case CKFDW_SCAN_CHANGES:
			return &ckfdw_changes_source;
	}
	elog(ERROR, "unknown ckfdw scan mode %d", (int) mode);
	return NULL;				/* keep compiler quiet */
}

/*
 * ckfdwBeginForeignScan
 *		Initiate an executor scan of a foreign CloudKit table.
 */
void
ckfdwBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;
	CkFdwScanState *fsstate;
	RangeTblEntry *rte;
	Oid			userid;
	ForeignTable *table;
	ForeignServer *server;
	UserMapping *user;
	MemoryContext oldcxt;

	/*
	 * Do nothing in EXPLAIN (no ANALYZE) case.  node->fdw_state stays NULL.
	 */
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	fsstate = (CkFdwScanState *) palloc0(sizeof(CkFdwScanState));
	node->fdw_state = (void *) fsstate;

	/* everything of the scan lives in scan_cxt, the page in page_cxt */
	fsstate->scan_cxt = AllocSetContextCreate(estate->es_query_cxt,
											  "ckfdw scan state",
											  ALLOCSET_SMALL_SIZES);
	fsstate->page_cxt = AllocSetContextCreate(fsstate->scan_cxt,
											  "ckfdw page data",
											  ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(fsstate->scan_cxt);

	/*
	 * Identify which user to do the remote access as.  This should match what
	 * ExecCheckRTEPerms() does.
	 */
	rte = exec_rt_fetch(fsplan->scan.scanrelid, estate);
	userid = rte->checkAsUser ? rte->checkAsUser : GetUserId();

	fsstate->rel = node->ss.ss_currentRelation;
	fsstate->relname = pstrdup(RelationGetRelationName(fsstate->rel));
	table = GetForeignTable(RelationGetRelid(fsstate->rel));
	server = GetForeignServer(table->serverid);
	user = GetUserMapping(userid, server->serverid);

	fsstate->options = ckfdw_get_options(server, table, fsstate->rel);
	fsstate->columns = ckfdw_get_columns(fsstate->rel, &fsstate->ncolumns);
	fsstate->base_request = strVal(list_nth(fsplan->fdw_private, FdwScanPrivateRequest));
	fsstate->retrieved_attrs = (List *) list_nth(fsplan->fdw_private,
												 FdwScanPrivateRetrievedAttrs);
	fsstate->fetch_attrs = fsstate->retrieved_attrs;
	fsstate->pushdown = ckfdw_pushdown_from_list(list_nth(fsplan->fdw_private,
														  FdwScanPrivatePushdown));
	fsstate->all_rows = boolVal(list_nth(fsplan->fdw_private, FdwScanPrivateAllRows));
	fsstate->record_type_utf8 = ckfdw_to_utf8(fsstate->options->record_type);

	fsstate->source = source_of(fsstate->pushdown->mode);
	if (list_length(fsplan->fdw_private) > FdwScanPrivateSplit)
		fsstate->split = ckfdw_split_from_list(list_nth(fsplan->fdw_private,
														FdwScanPrivateSplit));
	/* range cursors, or an async Append: requests in flight */
	if (fsstate->pushdown->mode == CKFDW_SCAN_QUERY &&
		((fsstate->split != NULL && fsstate->split->ranges != NIL) ||
		 fsplan->scan.plan.async_capable))
		fsstate->source = &ckfdw_cursor_source;
	fsstate->info.operation = fsstate->source->operation;
	fsstate->info.record_type = fsstate->options->record_type;
	fsstate->info.zone = fsstate->options->zone;
	fsstate->info.relname = fsstate->relname;

	/* run-time values: compiled here, evaluated when the scan starts */
	fsstate->planstate = (PlanState *) node;
	fsstate->params_cxt = AllocSetContextCreate(fsstate->scan_cxt,
												"ckfdw scan parameters",
												ALLOCSET_SMALL_SIZES);
	fsstate->row_cxt = AllocSetContextCreate(fsstate->scan_cxt,
											 "ckfdw row data",
											 ALLOCSET_SMALL_SIZES);
	/*
	 * Constants (a split's range bounds) are read from the plan: an
	 * ExprState of theirs is what a plan costly enough for JIT would have
	 * LLVM loaded (some 55 MB) and compiled for.
	 */
	{
		ListCell   *lc;

		foreach(lc, fsplan->fdw_exprs)
		{
			Expr	   *expr = (Expr *) lfirst(lc);

			fsstate->param_states =
				lappend(fsstate->param_states,
						IsA(expr, Const) ? NULL : ExecInitExpr(expr, (PlanState *) node));
		}
	}
	fsstate->params.n = list_length(fsplan->fdw_exprs);
	fsstate->params.values = palloc0(sizeof(Datum) * Max(fsstate->params.n, 1));
	fsstate->params.nulls = palloc0(sizeof(bool) * Max(fsstate->params.n, 1));
	fsstate->params.types = palloc0(sizeof(Oid) * Max(fsstate->params.n, 1));
	fsstate->params.unknown = NULL;
	{
		ListCell   *lc;
		int			i = 0;

		foreach(lc, fsplan->fdw_exprs)
			fsstate->params.types[i++] = exprType((Node *) lfirst(lc));
	}
	fsstate->refused = palloc0(sizeof(bool) * Max(list_length(fsstate->pushdown->filters), 1));
	fsstate->filter_off = palloc0(sizeof(bool) * Max(list_length(fsstate->pushdown->filters), 1));
	fsstate->recheck_quals = fsplan->fdw_recheck_quals;
	fsstate->qual_states = palloc0(sizeof(ExprState *) *
								   Max(list_length(fsplan->fdw_recheck_quals), 1));

	/* the parsed request of continuation pages goes with scan_cxt */
	fsstate->request_cb.func = free_request_obj;
	fsstate->request_cb.arg = fsstate;
	MemoryContextRegisterResetCallback(fsstate->scan_cxt, &fsstate->request_cb);

	/* the client is created at first use, its key problems reported here */
	fsstate->conn = ckfdw_get_connection(user, server, fsstate->options);
	/* asset content is found by its dictionary: json-c reads those records */
	fsstate->records_as_json =
		ckfdw_asset_reader_attach(fsstate->columns, fsstate->ncolumns, fsstate->conn,
								  fsstate->options, fsstate->relname) != NULL;

	/* rows an UPDATE or DELETE will modify carry a handle in ctid */
	fsstate->row_source = ckfdw_row_source_begin(node);

	MemoryContextSwitchTo(oldcxt);
}

/*
 * ckfdwIterateForeignScan
 *		Retrieve next row from the result set, or clear tuple slot to indicate
 *		EOF.
 *
 * The scan starts (the request is completed with the run-time values) on
 * the first call after Begin or ReScan.  A pushed LIMIT/OFFSET is applied
 * here, after any condition the scan had to evaluate itself.
 */
TupleTableSlot *
ckfdwIterateForeignScan(ForeignScanState *node)
{
	CkFdwScanState *fsstate = (CkFdwScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;

	if (!fsstate->started)
		start_scan(node);

	/* CloudKit refused the sort: all rows are sorted here first */
	if (fsstate->sort_locally)
		return iterate_sorted(node);

	for (;;)
	{
		if (fsstate->has_limit && fsstate->rows_returned >= fsstate->limit)
			return ExecClearTuple(slot);
		if (!next_row(node))
			return ExecClearTuple(slot);
		if (fsstate->rows_seen++ < fsstate->offset)
			continue;
		fsstate->rows_returned++;
		return slot;
	}
}

/*
 * Store the next record of the scan in the scan slot; false at the end.
 * Conditions the scan evaluates itself (refused by CloudKit, or with a
 * value that could not be sent) are checked here.
 */
static bool
next_row(ForeignScanState *node)
{
	CkFdwScanState *fsstate = (CkFdwScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;

	for (;;)
	{
		CkRecord	rec;
		char		err[256];
		MemoryContext oldcxt;

		if (fsstate->next_record >= fsstate->num_records)
		{
			/* the page is used up: the next one, if CloudKit has more */
			if (fsstate->pages_fetched > 0 && !fsstate->more)
			{
				if (fsstate->source->finished != NULL)
					fsstate->source->finished(fsstate);
				return false;
			}
			/* an async Append does not wait here (scan_async.c) */
			if (fsstate->nowait && fsstate->source->page_waits != NULL &&
				fsstate->source->page_waits(fsstate))
			{
				fsstate->would_block = true;
				return false;
			}
			fsstate->source->fetch(fsstate);
			continue;
		}

		/* ask for the next page, or keep it moving while this one is read */
		if (fsstate->ahead == NULL && fsstate->cursors == NULL)
			read_ahead(fsstate);
		else if ((fsstate->next_record & 31) == 0)
			ckfdw_poll_requests(fsstate->conn);

		if (!ckfdw_scan_next_record(fsstate, &rec, err, sizeof(err)))
			ereport(ERROR,
					(errcode(ckfdw_invalid_record_errcode(&rec)),
					 errmsg("CloudKit sent an invalid record in response to the %s of record type \"%s\"",
							fsstate->source->noun,
							fsstate->options->record_type),
					 errdetail_internal("%s", err)));

		/* the source decides which records are rows, and what is an error */
		if (!fsstate->source->accept(fsstate, &rec))
			continue;

		/* the row's values live until the next row is read */
		MemoryContextReset(fsstate->row_cxt);
		oldcxt = MemoryContextSwitchTo(fsstate->row_cxt);
		ExecClearTuple(slot);
		ckfdw_record_to_values(fsstate->columns, fsstate->ncolumns,
							   fsstate->fetch_attrs, &rec, fsstate->relname,
							   slot->tts_values, slot->tts_isnull);
		if (fsstate->source->complete_row != NULL)
			fsstate->source->complete_row(fsstate, &rec, slot->tts_values,
										  slot->tts_isnull);
		ExecStoreVirtualTuple(slot);
		MemoryContextSwitchTo(oldcxt);

		if (fsstate->local_checks != NIL)
		{
			ExprContext *econtext = node->ss.ps.ps_ExprContext;
			ListCell   *lc;
			bool		pass = true;

			ResetExprContext(econtext);
			econtext->ecxt_scantuple = slot;
			foreach(lc, fsstate->local_checks)
			{
				if (!ExecQual((ExprState *) lfirst(lc), econtext))
				{
					pass = false;
					break;
				}
			}
			if (!pass)
				continue;
		}

		/*
		 * The scan feeding an UPDATE or DELETE evaluates the local conditions
		 * (modify.c) and puts the record's handle into the slot's ctid.
		 */
		if (fsstate->row_source != NULL &&
			!ckfdw_row_source_accept(fsstate->row_source, slot, rec.record_name,
									 rec.change_tag))
			continue;
		return true;
	}
}

/*
 * CloudKit refused a sortBy: read every row, sort, and return the rows in
 * order (with OFFSET/LIMIT when they were pushed).
 */
static TupleTableSlot *
iterate_sorted(ForeignScanState *node)
{
	CkFdwScanState *fsstate = (CkFdwScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;

	if (fsstate->has_limit && fsstate->rows_returned >= fsstate->limit)
		return ExecClearTuple(slot);

	if (fsstate->sortstate == NULL)
	{
		List	   *sorts = fsstate->pushdown->sorts;
		int			nkeys = list_length(sorts);
		AttrNumber *attnums = palloc(sizeof(AttrNumber) * nkeys);
		Oid		   *sortops = palloc(sizeof(Oid) * nkeys);
		Oid		   *collations = palloc(sizeof(Oid) * nkeys);
		bool	   *nulls_first = palloc(sizeof(bool) * nkeys);
		MemoryContext oldcxt;
		ListCell   *lc;
		int			i = 0;

		foreach(lc, sorts)
		{
			CkFdwSort  *s = (CkFdwSort *) lfirst(lc);

			attnums[i] = s->attnum;
			sortops[i] = s->sortop;
			collations[i] = s->collation;
			nulls_first[i] = s->nulls_first;
			i++;
		}
		oldcxt = MemoryContextSwitchTo(fsstate->scan_cxt);
		fsstate->sortstate = tuplesort_begin_heap(RelationGetDescr(fsstate->rel),
												  nkeys, attnums, sortops,
												  collations, nulls_first,
												  work_mem, NULL, TUPLESORT_NONE);
		if (fsstate->has_limit && fsstate->limit < PG_INT64_MAX - fsstate->offset)
			tuplesort_set_bound(fsstate->sortstate,
								Max(fsstate->offset + fsstate->limit, 1));
		if (fsstate->sort_slot == NULL)
			fsstate->sort_slot = MakeSingleTupleTableSlot(RelationGetDescr(fsstate->rel),
														  &TTSOpsMinimalTuple);
		MemoryContextSwitchTo(oldcxt);

		while (next_row(node))
			tuplesort_puttupleslot(fsstate->sortstate, slot);
		tuplesort_performsort(fsstate->sortstate);
	}

	for (;;)
	{
		if (fsstate->has_limit && fsstate->rows_returned >= fsstate->limit)
			return ExecClearTuple(slot);
		if (!tuplesort_gettupleslot(fsstate->sortstate, true, false,
									fsstate->sort_slot, NULL))
			return ExecClearTuple(slot);
		if (fsstate->rows_seen++ < fsstate->offset)
			continue;
		fsstate->rows_returned++;
		return ExecCopySlot(slot, fsstate->sort_slot);
	}
}

/*
 * Start (or restart) the scan: evaluate the plan's run-time values
 * (condition values, record names, LIMIT/OFFSET) and complete the request.
 */
static void
start_scan(ForeignScanState *node)
{
	CkFdwScanState *fsstate = (CkFdwScanState *) node->fdw_state;
	CkFdwPushdown *pd = fsstate->pushdown;
	ExprContext *econtext = node->ss.ps.ps_ExprContext;
	MemoryContext oldcxt;
	ListCell   *lc;
	ListCell   *lc2;
	int			i;

	/* forget what earlier parameters fetched */
	reset_scan(fsstate);
	MemoryContextReset(fsstate->params_cxt);

	/* values are copied into params_cxt: they outlive this call */
	oldcxt = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
	i = 0;
	forboth(lc, fsstate->param_states, lc2, ((ForeignScan *) node->ss.ps.plan)->fdw_exprs)
	{
		ExprState  *state = (ExprState *) lfirst(lc);
		Oid			type = fsstate->params.types[i];
		int16		typlen;
		bool		typbyval;
		Datum		value;
		bool		isnull;

		if (state != NULL)
			value = ExecEvalExpr(state, econtext, &isnull);
		else
		{
			value = lfirst_node(Const, lc2)->constvalue;
			isnull = lfirst_node(Const, lc2)->constisnull;
		}
		get_typlenbyval(type, &typlen, &typbyval);
		fsstate->params.nulls[i] = isnull;
		fsstate->params.values[i] = (Datum) 0;
		if (!isnull)
		{
			MemoryContextSwitchTo(fsstate->params_cxt);
			fsstate->params.values[i] = datumCopy(value, typbyval, typlen);
			MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
		}
		i++;
	}
	MemoryContextSwitchTo(oldcxt);

	/* LIMIT and OFFSET, checked as the Limit node checks them */
	fsstate->has_limit = false;
	fsstate->offset = 0;
	if (pd->has_limit)
	{
		if (pd->offset_index >= 0 && !fsstate->params.nulls[pd->offset_index])
		{
			fsstate->offset = DatumGetInt64(fsstate->params.values[pd->offset_index]);
			if (fsstate->offset < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE),
						 errmsg("OFFSET must not be negative")));
		}
		if (pd->limit_index >= 0 && !fsstate->params.nulls[pd->limit_index])
		{
			fsstate->limit = DatumGetInt64(fsstate->params.values[pd->limit_index]);
			if (fsstate->limit < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_ROW_COUNT_IN_LIMIT_CLAUSE),
						 errmsg("LIMIT must not be negative")));
			fsstate->has_limit = true;
		}
	}

	fsstate->source->start(fsstate);
	fsstate->started = true;

	/*
	 * Ask for the first page now: should CloudKit refuse a sort, the rows
	 * must be sorted here, which the iteration has to know from the start.
	 */
	if (!(fsstate->has_limit && fsstate->limit == 0) &&
		!(fsstate->nowait && fsstate->source->page_waits != NULL))
		fsstate->source->fetch(fsstate);
}

/* Drop the current pages, sort and counters: the scan starts anew. */
static void
reset_scan(CkFdwScanState *fsstate)
{
	ckfdw_scan_forget_page(fsstate);
	fsstate->pages_fetched = 0;
	/* a request read ahead is cancelled with params_cxt */
	fsstate->ahead = NULL;
	fsstate->more = false;
	if (fsstate->prev_marker)
		pfree(fsstate->prev_marker);
	fsstate->prev_marker = NULL;
	ckfdw_forget_markers(fsstate->markers);
	free_request_obj(fsstate);
	fsstate->next_name = 0;
	fsstate->rows_seen = 0;
	fsstate->rows_returned = 0;
	if (fsstate->sortstate != NULL)
		tuplesort_end(fsstate->sortstate);
	fsstate->sortstate = NULL;
	fsstate->started = false;
}


/*
 * Read ahead: send the request for the next page now, so that it is on the
 * wire while the rows of the current page are converted.  At most two pages
 * are held: this one, and the next one arriving.  A query that wants every
 * row asks as soon as a page is in; one that may stop early (all_rows
 * false) once half of the page is used; a scan that applies a LIMIT itself
 * asks only when it needs the page.
 */
static void
read_ahead(CkFdwScanState *fsstate)
{
	MemoryContext oldcxt;

	if (fsstate->ahead != NULL || !fsstate->more || fsstate->has_limit ||
		!ckfdw_read_ahead || fsstate->source->next_request == NULL ||
		(!fsstate->all_rows && fsstate->next_record * 2 < fsstate->num_records))
		return;
	/* the request belongs to this run of the scan: params_cxt */
	oldcxt = MemoryContextSwitchTo(fsstate->params_cxt);
	fsstate->ahead = ckfdw_start_request(fsstate->conn, "POST",
										 fsstate->source->next_request(fsstate),
										 fsstate->source->page_flags, &fsstate->info);
	MemoryContextSwitchTo(oldcxt);
}

/*
 * Make the page read ahead the current page (a new page, the old one
 * freed); false if none was read ahead.  Raises what failed.
 */
bool
ckfdw_scan_take_ahead(CkFdwScanState *fsstate)
{
	CkFdwPending *ahead = fsstate->ahead;

	if (ahead == NULL)
		return false;
	fsstate->ahead = NULL;
	ckfdw_scan_new_page(fsstate);
	if (!ckfdw_finish_request(ahead, &fsstate->page->resp))
		ckfdw_report_response(&fsstate->page->resp, &fsstate->info, NULL);
	return true;
}

/* Drop the current page (its JSON goes with page_cxt's reset callback). */
void
ckfdw_scan_forget_page(CkFdwScanState *fsstate)
{
	fsstate->page = NULL;
	fsstate->num_records = 0;
	fsstate->next_record = 0;
	fsstate->marker = NULL;
	MemoryContextReset(fsstate->page_cxt);
}

/*
 * Make a new, empty current page, dropping the previous one: the response
 * the caller receives into fsstate->page->resp is freed with the page, on
 * success, error or end.
 */
void
ckfdw_scan_new_page(CkFdwScanState *fsstate)
{
	ckfdw_scan_forget_page(fsstate);
	fsstate->page = ckfdw_page_new(fsstate->page_cxt);
}

static void
free_request_obj(void *arg)
{
	CkFdwScanState *fsstate = (CkFdwScanState *) arg;

	if (fsstate->request_obj != NULL)
		json_object_put(fsstate->request_obj);
	fsstate->request_obj = NULL;
}

/*
 * ckfdwReScanForeignScan
 *		Restart the scan.
 */
void
ckfdwReScanForeignScan(ForeignScanState *node)
{
	CkFdwScanState *fsstate = (CkFdwScanState *) node->fdw_state;

	/*
	 * If no parameters changed and the whole result is the one page still in
	 * memory, just rewind it (postgres_fdw does the same with its first
	 * batch).  Otherwise, ask CloudKit again from the first page, with the
	 * request completed for the new parameter values.
	 */
	if (node->ss.ps.chgParam == NULL && fsstate->started &&
		!fsstate->sort_locally && fsstate->pages_fetched == 1 &&
		!fsstate->more && ckfdw_scan_has_page(fsstate))
	{
		fsstate->next_record = 0;
		fsstate->rows_seen = 0;
		fsstate->rows_returned = 0;
		return;
	}

	reset_scan(fsstate);
}

/*
 * ckfdwEndForeignScan
 *		Finish scanning foreign table and dispose objects used for this scan
 */
void
ckfdwEndForeignScan(ForeignScanState *node)
{
	CkFdwScanState *fsstate = (CkFdwScanState *) node->fdw_state;

	/* if fsstate is NULL, we are in EXPLAIN; nothing to do */
	if (fsstate == NULL)
		return;

	if (fsstate->conn != NULL)
		ckfdw_release_connection(fsstate->conn);
	fsstate->conn = NULL;

	/* a local sort may hold temporary files */
	if (fsstate->sortstate != NULL)
		tuplesort_end(fsstate->sortstate);
	fsstate->sortstate = NULL;
	if (fsstate->sort_slot != NULL)
		ExecDropSingleTupleTableSlot(fsstate->sort_slot);
	fsstate->sort_slot = NULL;

	/* frees the page's and the request's JSON through their callbacks */
	MemoryContextDelete(fsstate->scan_cxt);
	node->fdw_state = NULL;
}

/*
 * ckfdwExplainForeignScan
 *		Produce extra output for EXPLAIN of a ForeignScan on a foreign table
 *
 * Shows the operation, the conditions CloudKit evaluates ("CloudKit
 * Filter", or "CloudKit Lookup"; the usual "Filter" line shows those
 * evaluated locally), the sort and limit it applies, and with VERBOSE the
 * request body, values known only at execution shown as ?n.  Nothing
 * printed here comes from the user mapping: no key, token or signature can
 * appear.
 */
void
ckfdwExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	CkFdwScanState *fsstate = (CkFdwScanState *) node->fdw_state;
	Relation	rel = node->ss.ss_currentRelation;
	ForeignTable *table = GetForeignTable(RelationGetRelid(rel));
	ForeignServer *server = GetForeignServer(table->serverid);
	CkFdwOptions *opts = ckfdw_get_options(server, table, rel);
	CkFdwPushdown *pd = ckfdw_pushdown_from_list(list_nth(plan->fdw_private,
														  FdwScanPrivatePushdown));
	const CkScanSource *source = source_of(pd->mode);
	List	   *context = NIL;

	ExplainPropertyText("CloudKit Operation", source->operation, es);
	ExplainPropertyText("CloudKit Record Type", opts->record_type, es);
	if (opts->zone_owner != NULL)
		ExplainPropertyText("CloudKit Zone",
							psprintf("%s (owner %s)", opts->zone, opts->zone_owner),
							es);
	else
		ExplainPropertyText("CloudKit Zone", opts->zone, es);
	ExplainPropertyText("CloudKit Database",
						psprintf("%s/%s/%s", opts->container, opts->environment,
								 opts->database),
						es);

	if (plan->fdw_recheck_quals != NIL || plan->fdw_exprs != NIL)
		context = set_deparse_context_plan(es->deparse_cxt, (Plan *) plan, NIL);
	if (plan->fdw_recheck_quals != NIL)
		ExplainPropertyText(source->recheck_label,
							deparse_expression((Node *) make_ands_explicit(plan->fdw_recheck_quals),
											   context, es->verbose, false),
							es);
	if (pd->sorts != NIL)
	{
		StringInfoData buf;
		ListCell   *lc;

		initStringInfo(&buf);
		foreach(lc, pd->sorts)
		{
			CkFdwSort  *s = (CkFdwSort *) lfirst(lc);

			if (buf.len > 0)
				appendStringInfoString(&buf, ", ");
			appendStringInfoString(&buf,
								   quote_identifier(get_attname(RelationGetRelid(rel),
																s->attnum, false)));
			if (!s->ascending)
				appendStringInfoString(&buf, " DESC");
		}
		ExplainPropertyText("CloudKit Sort", buf.data, es);
	}
	if (pd->has_limit)
	{
		ExplainPropertyText("CloudKit Limit",
							pd->limit_index >= 0 ?
							explain_value(list_nth(plan->fdw_exprs, pd->limit_index),
										  context, es) : "ALL",
							es);
		if (pd->offset_index >= 0)
			ExplainPropertyText("CloudKit Offset",
								explain_value(list_nth(plan->fdw_exprs, pd->offset_index),
											  context, es),
								es);
	}

	if (list_length(plan->fdw_private) > FdwScanPrivateSplit &&
		list_nth(plan->fdw_private, FdwScanPrivateSplit) != NIL)
		ckfdw_explain_cursors(ckfdw_split_from_list(list_nth(plan->fdw_private,
															 FdwScanPrivateSplit)),
							  es);

	if (es->verbose)
	{
		char	   *base = strVal(list_nth(plan->fdw_private, FdwScanPrivateRequest));
		CkFdwParamValues params;
		StringInfoData buf;
		char	   *request;
		ListCell   *lc;
		int			i = 0;

		/* constants are shown as sent; anything else as ?n */
		params.n = list_length(plan->fdw_exprs);
		params.values = palloc0(sizeof(Datum) * Max(params.n, 1));
		params.nulls = palloc0(sizeof(bool) * Max(params.n, 1));
		params.types = palloc0(sizeof(Oid) * Max(params.n, 1));
		params.unknown = palloc0(sizeof(bool) * Max(params.n, 1));
		initStringInfo(&buf);
		foreach(lc, plan->fdw_exprs)
		{
			Node	   *expr = (Node *) lfirst(lc);

			params.types[i] = exprType(expr);
			if (IsA(expr, Const))
			{
				params.values[i] = ((Const *) expr)->constvalue;
				params.nulls[i] = ((Const *) expr)->constisnull;
			}
			else
			{
				params.unknown[i] = true;
				if (buf.len > 0)
					appendStringInfoString(&buf, ", ");
				appendStringInfo(&buf, "?%d = %s", i + 1,
								 deparse_expression(expr, context, true, false));
			}
			i++;
		}

		request = source->explain_request(base, pd, &params, opts);
		ExplainPropertyText("CloudKit Request",
							ckfdw_from_utf8(request, strlen(request)), es);
		if (buf.len > 0)
			ExplainPropertyText("CloudKit Parameters", buf.data, es);
	}

	if (es->analyze && fsstate != NULL)
	{
		ExplainPropertyInteger("CloudKit Requests", NULL, fsstate->requests, es);
		ExplainPropertyInteger("CloudKit Records", NULL, fsstate->records_received, es);
		if (fsstate->refusals != NIL)
		{
			StringInfoData buf;
			ListCell   *lc;

			initStringInfo(&buf);
			foreach(lc, fsstate->refusals)
			{
				if (buf.len > 0)
					appendStringInfoString(&buf, ", ");
				appendStringInfoString(&buf, (char *) lfirst(lc));
			}
			ExplainPropertyText("CloudKit Refused", buf.data, es);
		}
	}
	if (fsstate != NULL)
		ckfdw_explain_asset_content(fsstate->columns, fsstate->ncolumns,
									fsstate->fetch_attrs, es);
	else
	{
		int			ncolumns;
		CkFdwColumn *columns = ckfdw_get_columns(rel, &ncolumns);

		ckfdw_explain_asset_content(columns, ncolumns,
									(List *) list_nth(plan->fdw_private,
													  FdwScanPrivateRetrievedAttrs), es);
	}
}

/* A LIMIT or OFFSET value for EXPLAIN: the number, or the expression. */
static char *
explain_value(Node *expr, List *context, ExplainState *es)
{
	if (IsA(expr, Const))
	{
		Const	   *c = (Const *) expr;

		if (c->constisnull)
			return "NULL";
		return psprintf(INT64_FORMAT, DatumGetInt64(c->constvalue));
	}
	return deparse_expression(expr, context, es->verbose, false);
}
