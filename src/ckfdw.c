/*-------------------------------------------------------------------------
 *
 * ckfdw.c
 *		  Foreign-data wrapper for Apple CloudKit Web Services
 *
 * A foreign table is a CloudKit record type; a scan is a records/query
 * request, fetched page by page with continuationMarker.  The records of
 * one page are the only ones in memory: they live in a memory context that
 * is reset before the next page is requested (postgres_fdw's batch_cxt), so
 * memory stays flat for any result size.
 *
 * IDENTIFICATION
 *		  src/ckfdw.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ckfdw_json.h"
#include <math.h>

#include "access/table.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ckfdw.h"
#include "ck/ck_http.h"
#include "ck/ck_query.h"
#include "ck/ck_record.h"

PG_MODULE_MAGIC;

/*
 * Planner cost model.  One CloudKit request is a round trip over the
 * internet (tens to hundreds of milliseconds): far dearer than reading a
 * local page.  Each record is parsed from JSON and converted.
 */
#define CKFDW_REQUEST_COST		1000.0
#define CKFDW_RECORD_COST		0.1
/* rows assumed for a foreign table that has no statistics */
#define CKFDW_DEFAULT_ROWS		1000.0

/* GUCs */
bool		ckfdw_log_requests = false;

/*
 * Indexes of FDW-private information stored in fdw_private lists.
 *
 * These items are indexed with the enum FdwScanPrivateIndex, so an item
 * can be fetched with list_nth().  For example, to get the request body:
 *		request = strVal(list_nth(fdw_private, FdwScanPrivateRequest));
 */
enum FdwScanPrivateIndex
{
	/* records/query body of the first page (as a String) */
	FdwScanPrivateRequest,
	/* Integer list of attribute numbers the scan fills in */
	FdwScanPrivateRetrievedAttrs
};

/* One page of a scan: the response and the records in it. */
typedef struct CkFdwPage
{
	CkResponse	resp;			/* owns the parsed JSON */
	MemoryContextCallback cb;	/* frees it when page_cxt is reset */
} CkFdwPage;

/*
 * Execution state of a foreign scan.
 */
typedef struct CkFdwScanState
{
	Relation	rel;			/* relcache entry for the foreign table */
	char	   *relname;
	CkFdwOptions *options;
	CkFdwColumn *columns;		/* indexed by attnum - 1 */
	int			ncolumns;
	List	   *retrieved_attrs;	/* attnums the scan fills in */
	CkFdwRequestInfo info;		/* for error messages */

	/* the request */
	char	   *request;		/* body of the first page, from the plan */
	struct json_object *request_obj;	/* parsed, for continuation pages */
	MemoryContextCallback request_cb;
	CkFdwConnection *conn;

	/* the current page */
	MemoryContext scan_cxt;		/* lives as long as the scan */
	MemoryContext page_cxt;		/* reset before each page */
	CkFdwPage  *page;
	struct json_object *records;	/* the page's "records" array */
	int			num_records;
	int			next_record;
	const char *marker;			/* continuationMarker of this page, or NULL */
	char	   *prev_marker;	/* the one this page was requested with */
	int			pages_fetched;	/* since the scan (re)started */

	/* for EXPLAIN ANALYZE */
	int64		requests;
	int64		records_received;
} CkFdwScanState;

PG_FUNCTION_INFO_V1(ckfdw_handler);

void		_PG_init(void);

/*
 * FDW callback routines
 */
static void ckfdwGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel,
								   Oid foreigntableid);
static void ckfdwGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel,
								 Oid foreigntableid);
static ForeignScan *ckfdwGetForeignPlan(PlannerInfo *root, RelOptInfo *foreignrel,
										Oid foreigntableid, ForeignPath *best_path,
										List *tlist, List *scan_clauses,
										Plan *outer_plan);
static void ckfdwBeginForeignScan(ForeignScanState *node, int eflags);
static TupleTableSlot *ckfdwIterateForeignScan(ForeignScanState *node);
static void ckfdwReScanForeignScan(ForeignScanState *node);
static void ckfdwEndForeignScan(ForeignScanState *node);
static void ckfdwExplainForeignScan(ForeignScanState *node, ExplainState *es);

/*
 * Helper functions
 */
static void estimate_costs(PlannerInfo *root, RelOptInfo *baserel,
						   CkFdwRelationInfo *fpinfo);
static void fetch_page(CkFdwScanState *fsstate);
static void forget_page(CkFdwScanState *fsstate);
static void free_page(void *arg);
static void free_request_obj(void *arg);

/*
 * Module load callback
 */
void
_PG_init(void)
{
	DefineCustomBoolVariable("ckfdw.log_requests",
							 "Logs every CloudKit request ckfdw sends.",
							 "Each request's operation and JSON body, and the answer's HTTP status, "
							 "go to the server log at level LOG. Keys and tokens are never logged.",
							 &ckfdw_log_requests,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("ckfdw");
}

/*
 * Foreign-data wrapper handler function: return a struct with pointers
 * to my callback routines.
 */
Datum
ckfdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	/* Functions for scanning foreign tables */
	routine->GetForeignRelSize = ckfdwGetForeignRelSize;
	routine->GetForeignPaths = ckfdwGetForeignPaths;
	routine->GetForeignPlan = ckfdwGetForeignPlan;
	routine->BeginForeignScan = ckfdwBeginForeignScan;
	routine->IterateForeignScan = ckfdwIterateForeignScan;
	routine->ReScanForeignScan = ckfdwReScanForeignScan;
	routine->EndForeignScan = ckfdwEndForeignScan;

	/* Support functions for EXPLAIN */
	routine->ExplainForeignScan = ckfdwExplainForeignScan;

	PG_RETURN_POINTER(routine);
}

/*
 * ckfdwGetForeignRelSize
 *		Estimate # of rows and width of the result of the scan
 *
 * We read the table's options and column mapping here (so a bad definition
 * fails at plan time), classify the quals, and estimate from the table's
 * statistics if ANALYZE filled them in, or from a default otherwise.
 */
static void
ckfdwGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel,
					   Oid foreigntableid)
{
	CkFdwRelationInfo *fpinfo;
	Relation	rel;
	ListCell   *lc;

	fpinfo = (CkFdwRelationInfo *) palloc0(sizeof(CkFdwRelationInfo));
	baserel->fdw_private = (void *) fpinfo;

	fpinfo->table = GetForeignTable(foreigntableid);
	fpinfo->server = GetForeignServer(fpinfo->table->serverid);

	/* the planner holds a lock on the table already */
	rel = table_open(foreigntableid, NoLock);
	fpinfo->options = ckfdw_get_options(fpinfo->server, fpinfo->table, rel);
	fpinfo->columns = ckfdw_get_columns(rel, &fpinfo->ncolumns);
	fpinfo->relname = pstrdup(RelationGetRelationName(rel));
	table_close(rel, NoLock);

	/*
	 * Identify which baserestrictinfo clauses can be sent to CloudKit and
	 * which can't.
	 */
	ckfdw_classify_conditions(root, baserel, baserel->baserestrictinfo,
							  &fpinfo->remote_conds, &fpinfo->local_conds);

	/*
	 * Identify which attributes will need to be retrieved: those in the
	 * target list and those the local conditions use.
	 */
	fpinfo->attrs_used = NULL;
	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid,
				   &fpinfo->attrs_used);
	foreach(lc, fpinfo->local_conds)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		pull_varattnos((Node *) rinfo->clause, baserel->relid,
					   &fpinfo->attrs_used);
	}

	fpinfo->local_conds_sel = clauselist_selectivity(root, fpinfo->local_conds,
													 baserel->relid,
													 JOIN_INNER, NULL);
	cost_qual_eval(&fpinfo->local_conds_cost, fpinfo->local_conds, root);

	/*
	 * A table never analyzed has reltuples < 0; assume a moderate size
	 * rather than postgres_fdw's "10 pages", which means nothing here.
	 */
	if (baserel->tuples < 0)
		baserel->tuples = CKFDW_DEFAULT_ROWS;

	/* rows = tuples times the selectivity of all conditions */
	set_baserel_size_estimates(root, baserel);

	estimate_costs(root, baserel, fpinfo);
}

/*
 * Costs: the first page's round trip before the first row, one more round
 * trip per further page, and parsing and checking each record.
 */
static void
estimate_costs(PlannerInfo *root, RelOptInfo *baserel, CkFdwRelationInfo *fpinfo)
{
	Selectivity remote_sel;
	double		retrieved;
	double		pages;
	Cost		run_cost;

	remote_sel = clauselist_selectivity(root, fpinfo->remote_conds,
										baserel->relid, JOIN_INNER, NULL);
	retrieved = clamp_row_est(baserel->tuples * remote_sel);
	pages = Max(1.0, ceil(retrieved / fpinfo->options->page_size));

	fpinfo->retrieved_rows = retrieved;
	fpinfo->pages = pages;
	fpinfo->startup_cost = CKFDW_REQUEST_COST + fpinfo->local_conds_cost.startup +
		baserel->reltarget->cost.startup;

	run_cost = (pages - 1) * CKFDW_REQUEST_COST;
	run_cost += retrieved * (CKFDW_RECORD_COST + cpu_tuple_cost +
							 fpinfo->local_conds_cost.per_tuple);
	run_cost += baserel->rows * baserel->reltarget->cost.per_tuple;
	fpinfo->total_cost = fpinfo->startup_cost + run_cost;
}

/*
 * ckfdwGetForeignPaths
 *		Create possible scan paths for a scan on the foreign table
 *
 * One path: CloudKit returns records in no order we know of, and without
 * remote estimates parameterized paths would not pay (postgres_fdw draws the
 * same line).
 */
static void
ckfdwGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	CkFdwRelationInfo *fpinfo = (CkFdwRelationInfo *) baserel->fdw_private;
	ForeignPath *path;

	path = create_foreignscan_path(root, baserel,
								   NULL,	/* default pathtarget */
								   baserel->rows,
								   fpinfo->startup_cost,
								   fpinfo->total_cost,
								   NIL, /* no pathkeys */
								   baserel->lateral_relids,
								   NULL,	/* no extra plan */
								   NIL);	/* no fdw_private list */
	add_path(baserel, (Path *) path);
}

/*
 * ckfdwGetForeignPlan
 *		Create ForeignScan plan node which implements selected best path
 */
static ForeignScan *
ckfdwGetForeignPlan(PlannerInfo *root, RelOptInfo *foreignrel,
					Oid foreigntableid, ForeignPath *best_path,
					List *tlist, List *scan_clauses, Plan *outer_plan)
{
	CkFdwRelationInfo *fpinfo = (CkFdwRelationInfo *) foreignrel->fdw_private;
	Index		scan_relid = foreignrel->relid;
	List	   *remote_conds = NIL;
	List	   *local_exprs = NIL;
	List	   *retrieved_attrs;
	Bitmapset  *attrs_used;
	List	   *fdw_private;
	char	   *request;
	ListCell   *lc;

	/*
	 * Separate the scan_clauses into those that can be executed remotely and
	 * those that can't.  baserestrictinfo clauses that were previously
	 * determined to be safe or unsafe by classifyConditions are found in
	 * fpinfo->remote_conds and fpinfo->local_conds.  Anything else in the
	 * scan_clauses list will be a join clause, which we have to check for
	 * remote-safety.
	 *
	 * This code must match "extract_actual_clauses(scan_clauses, false)"
	 * except for the additional decision about remote versus local
	 * execution.
	 */
	foreach(lc, scan_clauses)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		/* Ignore any pseudoconstants, they're dealt with elsewhere */
		if (rinfo->pseudoconstant)
			continue;

		if (list_member_ptr(fpinfo->remote_conds, rinfo))
			remote_conds = lappend(remote_conds, rinfo);
		else if (list_member_ptr(fpinfo->local_conds, rinfo))
			local_exprs = lappend(local_exprs, rinfo->clause);
		else if (ckfdw_is_foreign_expr(root, foreignrel, rinfo->clause))
			remote_conds = lappend(remote_conds, rinfo);
		else
			local_exprs = lappend(local_exprs, rinfo->clause);
	}

	/* the columns local conditions read must be fetched too */
	attrs_used = bms_copy(fpinfo->attrs_used);
	pull_varattnos((Node *) local_exprs, scan_relid, &attrs_used);

	request = ckfdw_deparse_query(root, foreignrel, remote_conds, attrs_used,
								  &retrieved_attrs);

	fdw_private = list_make2(makeString(request), retrieved_attrs);

	/*
	 * Create the ForeignScan node for the given relation.
	 *
	 * Note that the remote parameter expressions are stored in the fdw_exprs
	 * field of the finished plan node; we can't keep them in private state
	 * because then they wouldn't be subject to later planner processing.
	 * There are none until conditions are pushed down.
	 */
	return make_foreignscan(tlist,
							local_exprs,
							scan_relid,
							NIL,	/* no expressions to evaluate */
							fdw_private,
							NIL,	/* no custom tlist */
							NIL,	/* no remote quals */
							outer_plan);
}

/*
 * ckfdwBeginForeignScan
 *		Initiate an executor scan of a foreign CloudKit table.
 */
static void
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
	fsstate->request = strVal(list_nth(fsplan->fdw_private, FdwScanPrivateRequest));
	fsstate->retrieved_attrs = (List *) list_nth(fsplan->fdw_private,
												 FdwScanPrivateRetrievedAttrs);

	fsstate->info.operation = "records/query";
	fsstate->info.record_type = fsstate->options->record_type;
	fsstate->info.zone = fsstate->options->zone;
	fsstate->info.relname = fsstate->relname;

	/* the client is created at first use, its key problems reported here */
	fsstate->conn = ckfdw_get_connection(user, server, fsstate->options);

	MemoryContextSwitchTo(oldcxt);
}

/*
 * ckfdwIterateForeignScan
 *		Retrieve next row from the result set, or clear tuple slot to indicate
 *		EOF.
 *
 * Runs in the executor's per-tuple memory context, which is reset before the
 * next call: the row's Datums are made there.
 */
static TupleTableSlot *
ckfdwIterateForeignScan(ForeignScanState *node)
{
	CkFdwScanState *fsstate = (CkFdwScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;

	for (;;)
	{
		struct json_object *obj;
		CkRecord	rec;
		char		err[256];

		if (fsstate->next_record >= fsstate->num_records)
		{
			/* the page is used up: the next one, if CloudKit has more */
			if (fsstate->pages_fetched > 0 && fsstate->marker == NULL)
				return ExecClearTuple(slot);
			fetch_page(fsstate);
			continue;
		}

		obj = json_object_array_get_idx(fsstate->records, fsstate->next_record++);
		if (!ck_record_parse(obj, &rec, err, sizeof(err)))
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("CloudKit sent an invalid record in response to the query of record type \"%s\"",
							fsstate->options->record_type),
					 errdetail_internal("%s", err)));

		/* an error instead of a record is an error, never a gap */
		if (rec.is_error)
			ckfdw_report_record_error(rec.server_error_code, rec.reason,
									  rec.record_name, rec.retry_after,
									  &fsstate->info);
		/* a query has no tombstones to return; skip any */
		if (rec.deleted)
			continue;

		ExecClearTuple(slot);
		ckfdw_record_to_values(fsstate->columns, fsstate->ncolumns,
							   fsstate->retrieved_attrs, &rec, fsstate->relname,
							   slot->tts_values, slot->tts_isnull);
		ExecStoreVirtualTuple(slot);
		return slot;
	}
}

/*
 * Fetch the next page of the scan (the first one if none was fetched), and
 * make it the current page.  The previous page is freed first.
 */
static void
fetch_page(CkFdwScanState *fsstate)
{
	const char *body;
	struct json_object *records;
	struct json_object *marker;
	MemoryContext oldcxt;

	if (fsstate->pages_fetched == 0)
		body = fsstate->request;	/* exactly what EXPLAIN VERBOSE shows */
	else
	{
		/* the same query with this page's marker (copied by json-c) */
		if (fsstate->request_obj == NULL)
		{
			MemoryContext cxt = fsstate->scan_cxt;

			fsstate->request_obj = json_tokener_parse(fsstate->request);
			if (fsstate->request_obj == NULL)
				elog(ERROR, "could not parse the planned CloudKit request");
			fsstate->request_cb.func = free_request_obj;
			fsstate->request_cb.arg = fsstate;
			MemoryContextRegisterResetCallback(cxt, &fsstate->request_cb);
		}
		if (fsstate->prev_marker)
			pfree(fsstate->prev_marker);
		fsstate->prev_marker = MemoryContextStrdup(fsstate->scan_cxt, fsstate->marker);
		ck_query_set_continuation(fsstate->request_obj, fsstate->marker);
		body = json_object_to_json_string_ext(fsstate->request_obj,
											  JSON_C_TO_STRING_PLAIN |
											  JSON_C_TO_STRING_NOSLASHESCAPE);
	}

	forget_page(fsstate);

	/* the response is freed with the page, on success, error or end */
	oldcxt = MemoryContextSwitchTo(fsstate->page_cxt);
	fsstate->page = palloc0(sizeof(CkFdwPage));
	fsstate->page->cb.func = free_page;
	fsstate->page->cb.arg = fsstate->page;
	MemoryContextRegisterResetCallback(fsstate->page_cxt, &fsstate->page->cb);
	MemoryContextSwitchTo(oldcxt);

	ckfdw_request(fsstate->conn, "POST", body, true, &fsstate->info,
				  &fsstate->page->resp);
	fsstate->pages_fetched++;
	fsstate->requests += fsstate->page->resp.attempts;

	if (fsstate->page->resp.json == NULL ||
		!json_object_is_type(fsstate->page->resp.json, json_type_object) ||
		!json_object_object_get_ex(fsstate->page->resp.json, "records", &records) ||
		!json_object_is_type(records, json_type_array))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("CloudKit response to the query of record type \"%s\" has no \"records\" list",
						fsstate->options->record_type)));

	fsstate->records = records;
	fsstate->num_records = json_object_array_length(records);
	fsstate->next_record = 0;
	fsstate->records_received += fsstate->num_records;

	/* the marker is present only when more records follow */
	if (json_object_object_get_ex(fsstate->page->resp.json, "continuationMarker", &marker) &&
		json_object_is_type(marker, json_type_string) &&
		json_object_get_string_len(marker) > 0)
		fsstate->marker = json_object_get_string(marker);

	/* an empty page that points back at itself would loop for ever */
	if (fsstate->num_records == 0 && fsstate->marker != NULL &&
		fsstate->prev_marker != NULL &&
		strcmp(fsstate->marker, fsstate->prev_marker) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("CloudKit returned an empty page with an unchanged continuationMarker for the query of record type \"%s\"",
						fsstate->options->record_type)));
}

/* Drop the current page (its JSON goes with page_cxt's reset callback). */
static void
forget_page(CkFdwScanState *fsstate)
{
	fsstate->page = NULL;
	fsstate->records = NULL;
	fsstate->num_records = 0;
	fsstate->next_record = 0;
	fsstate->marker = NULL;
	MemoryContextReset(fsstate->page_cxt);
}

static void
free_page(void *arg)
{
	CkFdwPage  *page = (CkFdwPage *) arg;

	ck_response_clear(&page->resp);
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
static void
ckfdwReScanForeignScan(ForeignScanState *node)
{
	CkFdwScanState *fsstate = (CkFdwScanState *) node->fdw_state;

	/*
	 * If no parameters changed and the whole result is the one page still in
	 * memory, just rewind it (postgres_fdw does the same with its first
	 * batch).  Otherwise, ask CloudKit again from the first page.
	 */
	if (node->ss.ps.chgParam == NULL && fsstate->pages_fetched == 1 &&
		fsstate->marker == NULL && fsstate->records != NULL)
	{
		fsstate->next_record = 0;
		return;
	}

	forget_page(fsstate);
	fsstate->pages_fetched = 0;
	if (fsstate->prev_marker)
		pfree(fsstate->prev_marker);
	fsstate->prev_marker = NULL;
}

/*
 * ckfdwEndForeignScan
 *		Finish scanning foreign table and dispose objects used for this scan
 */
static void
ckfdwEndForeignScan(ForeignScanState *node)
{
	CkFdwScanState *fsstate = (CkFdwScanState *) node->fdw_state;

	/* if fsstate is NULL, we are in EXPLAIN; nothing to do */
	if (fsstate == NULL)
		return;

	if (fsstate->conn != NULL)
		ckfdw_release_connection(fsstate->conn);
	fsstate->conn = NULL;

	/* frees the page's and the request's JSON through their callbacks */
	MemoryContextDelete(fsstate->scan_cxt);
	node->fdw_state = NULL;
}

/*
 * ckfdwExplainForeignScan
 *		Produce extra output for EXPLAIN of a ForeignScan on a foreign table
 *
 * Nothing printed here comes from the user mapping: no key, token or
 * signature can appear.
 */
static void
ckfdwExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	CkFdwScanState *fsstate = (CkFdwScanState *) node->fdw_state;
	Relation	rel = node->ss.ss_currentRelation;
	ForeignTable *table = GetForeignTable(RelationGetRelid(rel));
	ForeignServer *server = GetForeignServer(table->serverid);
	CkFdwOptions *opts = ckfdw_get_options(server, table, rel);

	ExplainPropertyText("CloudKit Operation", "records/query", es);
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

	if (es->verbose)
	{
		char	   *request = strVal(list_nth(plan->fdw_private,
											  FdwScanPrivateRequest));

		ExplainPropertyText("CloudKit Request",
							ckfdw_from_utf8(request, strlen(request)), es);
	}

	if (es->analyze && fsstate != NULL)
	{
		ExplainPropertyInteger("CloudKit Requests", NULL, fsstate->requests, es);
		ExplainPropertyInteger("CloudKit Records", NULL, fsstate->records_received, es);
	}
}
