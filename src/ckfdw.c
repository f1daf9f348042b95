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
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/array.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"
#include "utils/tuplesort.h"

#include "ckfdw.h"
#include "ck/ck_http.h"
#include "ck/ck_query.h"
#include "ck/ck_record.h"

PG_MODULE_MAGIC;

/* Planner costs are in ckfdw.h.  Rows assumed for a table without statistics: */
#define CKFDW_DEFAULT_ROWS		1000.0

/* GUCs */
bool		ckfdw_log_requests = false;
bool		ckfdw_enable_filter_pushdown = true;
bool		ckfdw_enable_sort_pushdown = true;
bool		ckfdw_enable_limit_pushdown = true;
bool		ckfdw_enable_lookup = true;
bool		ckfdw_enable_lookup_join = true;

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
	FdwScanPrivateRetrievedAttrs,
	/* filters, sorts, limit, lookup: ckfdw_pushdown_to_list's List */
	FdwScanPrivatePushdown
};

/*
 * Similarly, this enum describes what's kept in the fdw_private list for
 * a ForeignPath (NIL for a plain records/query).
 */
enum FdwPathPrivateIndex
{
	/* the RestrictInfo a records/lookup answers, or NULL */
	FdwPathPrivateLookup,
	/* Boolean: the scan applies the query's LIMIT/OFFSET */
	FdwPathPrivateHasLimit
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
	CkFdwMarkerGuard *markers;	/* the markers this scan has received */
	int			pages_fetched;	/* since the scan (re)started */

	bool		more;			/* more pages (query) or names (lookup) */

	/* what the plan asks of CloudKit (deparse.c) */
	PlanState  *planstate;
	CkFdwPushdown *pushdown;
	char	   *base_request;	/* planned body, completed by start_scan */
	char	   *record_type_utf8;
	List	   *param_states;	/* ExprStates of the plan's fdw_exprs */
	CkFdwParamValues params;	/* their values, in params_cxt */
	MemoryContext params_cxt;	/* reset when the scan (re)starts */
	MemoryContext row_cxt;		/* the current row's values */
	bool		started;		/* the request for these values is built */

	/* conditions and sorts CloudKit refused or could not be sent */
	bool	   *refused;		/* per filter: CloudKit has no index for it */
	bool	   *filter_off;		/* per filter: not sent this time */
	bool		sort_locally;	/* CloudKit refused the sort */
	List	   *refusals;		/* for EXPLAIN ANALYZE */
	List	   *recheck_quals;	/* the plan's fdw_recheck_quals */
	ExprState **qual_states;	/* the same, compiled when needed */
	List	   *local_checks;	/* ExprStates the scan checks now */
	List	   *fetch_attrs;	/* retrieved_attrs and what the checks need */

	/* LIMIT/OFFSET applied by the scan */
	bool		has_limit;
	int64		limit;
	int64		offset;
	int64		rows_seen;
	int64		rows_returned;

	/* records/lookup */
	char	  **names;			/* UTF-8, sorted, unique */
	int			nnames;
	int			next_name;

	/* sorting here after CloudKit refused to */
	Tuplesortstate *sortstate;
	TupleTableSlot *sort_slot;

	/* for EXPLAIN ANALYZE */
	int64		requests;
	int64		records_received;

	/* the scan feeding an UPDATE or DELETE: see modify.c */
	CkFdwRowSource *row_source;
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
static void ckfdwGetForeignUpperPaths(PlannerInfo *root, UpperRelationKind stage,
									  RelOptInfo *input_rel, RelOptInfo *output_rel,
									  void *extra);

/*
 * Helper functions
 */
static void estimate_costs(PlannerInfo *root, RelOptInfo *baserel,
						   CkFdwRelationInfo *fpinfo);
static void fetch_page(CkFdwScanState *fsstate);
static void forget_page(CkFdwScanState *fsstate);
static void free_page(void *arg);
static void free_request_obj(void *arg);
static void add_lookup_paths(PlannerInfo *root, RelOptInfo *baserel,
							 CkFdwRelationInfo *fpinfo);
static List *add_lookup_param_info(PlannerInfo *root, RelOptInfo *baserel,
								   RestrictInfo *rinfo, List *ppi_list);
static bool ec_member_is_record_name(PlannerInfo *root, RelOptInfo *rel,
									 EquivalenceClass *ec, EquivalenceMember *em,
									 void *arg);
static void add_foreign_ordered_paths(PlannerInfo *root, RelOptInfo *input_rel,
									  RelOptInfo *ordered_rel);
static void add_foreign_final_paths(PlannerInfo *root, RelOptInfo *input_rel,
									RelOptInfo *final_rel,
									FinalPathExtraData *extra);
static bool next_row(ForeignScanState *node);
static TupleTableSlot *iterate_sorted(ForeignScanState *node);
static void start_scan(ForeignScanState *node);
static void reset_scan(CkFdwScanState *fsstate);
static void build_request(CkFdwScanState *fsstate);
static void collect_names(CkFdwScanState *fsstate);
static bool send_query(CkFdwScanState *fsstate, const char *body, CkResponse *resp);
static bool refuse_field(CkFdwScanState *fsstate, const char *reason);
static char *explain_value(Node *expr, List *context, ExplainState *es);
static char *explain_lookup_request(const char *base, CkFdwPushdown *pd,
									CkFdwParamValues *params, int page_size);

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

	DefineCustomBoolVariable("ckfdw.enable_filter_pushdown",
							 "Sends WHERE conditions to CloudKit as query filters.",
							 "When off, CloudKit returns every record of the type and PostgreSQL filters them.",
							 &ckfdw_enable_filter_pushdown,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("ckfdw.enable_sort_pushdown",
							 "Lets CloudKit sort the records for ORDER BY.",
							 NULL,
							 &ckfdw_enable_sort_pushdown,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("ckfdw.enable_limit_pushdown",
							 "Lets a scan stop after LIMIT (and OFFSET) records.",
							 "Only applies when every condition and the ORDER BY are sent to CloudKit.",
							 &ckfdw_enable_limit_pushdown,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("ckfdw.enable_lookup",
							 "Fetches records by record name with records/lookup.",
							 "For conditions and joins on the record name column.",
							 &ckfdw_enable_lookup,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("ckfdw.enable_lookup_join",
							 "Joins by record name with batched lookups (CloudKit Lookup Join).",
							 "When off, such joins use a nested loop with one lookup per outer row, or scan the table.",
							 &ckfdw_enable_lookup_join,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("ckfdw");

	/* joins by record name, with batched lookups (lookup.c) */
	ckfdw_lookup_join_init();

	/* every error says what the statement wrote (write_tally.c) */
	ckfdw_write_tally_init();
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

	/* ORDER BY and LIMIT on CloudKit */
	routine->GetForeignUpperPaths = ckfdwGetForeignUpperPaths;

	/* Support functions for EXPLAIN */
	routine->ExplainForeignScan = ckfdwExplainForeignScan;

	/* Support functions for IMPORT FOREIGN SCHEMA (import.c) */
	routine->ImportForeignSchema = ckfdwImportForeignSchema;

	/* Support functions for ANALYZE (analyze.c) */
	routine->AnalyzeForeignTable = ckfdwAnalyzeForeignTable;

	/* INSERT, UPDATE, DELETE and COPY FROM (modify.c) */
	ckfdw_install_modify_routines(routine);

	PG_RETURN_POINTER(routine);
}

/* Is rel a base relation this FDW plans (with our fdw_private)? */
bool
ckfdw_is_ckfdw_rel(RelOptInfo *rel)
{
	return rel->reloptkind == RELOPT_BASEREL && rel->fdwroutine != NULL &&
		rel->fdwroutine->GetForeignRelSize == ckfdwGetForeignRelSize &&
		rel->fdw_private != NULL &&
		!((CkFdwRelationInfo *) rel->fdw_private)->is_upper;
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

	/* upper stages (ORDER BY, LIMIT) may build on a base relation */
	fpinfo->pushdown_safe = true;

	fpinfo->table = GetForeignTable(foreigntableid);
	fpinfo->server = GetForeignServer(fpinfo->table->serverid);

	/* the planner holds a lock on the table already */
	rel = table_open(foreigntableid, NoLock);
	fpinfo->options = ckfdw_get_options(fpinfo->server, fpinfo->table, rel);
	fpinfo->columns = ckfdw_get_columns(rel, &fpinfo->ncolumns);
	fpinfo->relname = pstrdup(RelationGetRelationName(rel));
	table_close(rel, NoLock);
	fpinfo->indexes = ckfdw_column_indexes(foreigntableid, fpinfo->columns,
										   fpinfo->ncolumns);

	/*
	 * Identify which baserestrictinfo clauses can be sent to CloudKit and
	 * which can't (a clause CloudKit evaluates loosely is in both lists).
	 */
	ckfdw_classify_conditions(root, baserel, baserel->baserestrictinfo,
							  &fpinfo->remote_conds, &fpinfo->local_conds);

	/* the record-name condition a records/lookup would answer best */
	fpinfo->lookup_cond = NULL;
	if (ckfdw_enable_lookup)
	{
		foreach(lc, baserel->baserestrictinfo)
		{
			RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
			Expr	   *names;
			double		nnames;

			if (ckfdw_lookup_clause(root, baserel, rinfo, &names, &nnames) &&
				(fpinfo->lookup_cond == NULL || nnames < fpinfo->lookup_names))
			{
				fpinfo->lookup_cond = rinfo;
				fpinfo->lookup_names = nnames;
			}
		}
	}

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
 * trip per further page, and parsing and checking each record.  CloudKit
 * sends the records matching the pushed conditions (their selectivity, by
 * clauselist_selectivity).
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
 * A records/query of the (filtered) record type; the same sorted by
 * CloudKit when the query's ORDER BY can be sent; a records/lookup when a
 * condition names the records; and lookups parameterized by other
 * relations' columns (record name = outer.column), for nested loops.
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
								   NIL);	/* a records/query */
	add_path(baserel, (Path *) path);

	/*
	 * The same rows in ORDER BY order.  Sorting costs CloudKit no extra
	 * request; a token amount per row keeps the unsorted path preferred
	 * when the order is of no use.
	 */
	fpinfo->qp_is_pushdown_safe = false;
	if (ckfdw_enable_sort_pushdown && root->query_pathkeys != NIL &&
		root->parse->commandType == CMD_SELECT && root->parse->rowMarks == NIL &&
		ckfdw_pathkeys_pushable(root, baserel, root->query_pathkeys))
	{
		fpinfo->qp_is_pushdown_safe = true;
		path = create_foreignscan_path(root, baserel,
									   NULL,
									   baserel->rows,
									   fpinfo->startup_cost,
									   fpinfo->total_cost +
									   fpinfo->retrieved_rows * cpu_operator_cost,
									   root->query_pathkeys,
									   baserel->lateral_relids,
									   NULL,
									   NIL);
		add_path(baserel, (Path *) path);
	}

	if (ckfdw_enable_lookup)
		add_lookup_paths(root, baserel, fpinfo);
}

/*
 * If rinfo is a join clause "record name = outer expression" that a lookup
 * can use, add the parameterization it needs to ppi_list.
 */
static List *
add_lookup_param_info(PlannerInfo *root, RelOptInfo *baserel,
					  RestrictInfo *rinfo, List *ppi_list)
{
	Relids		required_outer;
	Expr	   *names;
	double		nnames;

	if (!join_clause_is_movable_to(rinfo, baserel) ||
		!ckfdw_lookup_clause(root, baserel, rinfo, &names, &nnames))
		return ppi_list;
	required_outer = bms_union(rinfo->clause_relids, baserel->lateral_relids);
	required_outer = bms_del_member(required_outer, baserel->relid);
	if (bms_is_empty(required_outer))
		return ppi_list;
	return list_append_unique_ptr(ppi_list,
								  get_baserel_parampathinfo(root, baserel,
															required_outer));
}

/*
 * records/lookup paths: by a condition of the query itself, and
 * parameterized by join clauses "record name = other.column" (found among
 * the join clauses and the equivalence classes, as postgres_fdw finds its
 * parameterized paths).  A lookup is one request per page_size names and
 * needs no index; conditions other than the record name's are evaluated
 * locally.  CloudKit's lookups are exact and authoritative (no index lag),
 * which the slightly lower request cost reflects.
 */
static void
add_lookup_paths(PlannerInfo *root, RelOptInfo *baserel, CkFdwRelationInfo *fpinfo)
{
	List	   *ppi_list = NIL;
	ListCell   *lc;
	QualCost	qcost;

	cost_qual_eval(&qcost, baserel->baserestrictinfo, root);

	if (fpinfo->lookup_cond != NULL)
	{
		double		nnames = fpinfo->lookup_names;
		double		requests = ceil(nnames / fpinfo->options->page_size);
		Cost		startup = (requests > 0 ? CKFDW_LOOKUP_COST : 0) + qcost.startup;
		Cost		total;
		ForeignPath *path;

		total = startup + Max(requests - 1, 0) * CKFDW_LOOKUP_COST +
			nnames * (CKFDW_RECORD_COST + cpu_tuple_cost + qcost.per_tuple);
		path = create_foreignscan_path(root, baserel, NULL, baserel->rows,
									   startup, total, NIL,
									   baserel->lateral_relids, NULL,
									   list_make2(fpinfo->lookup_cond,
												  makeBoolean(false)));
		add_path(baserel, (Path *) path);
	}

	/* join clauses "record name = outer expression" */
	foreach(lc, baserel->joininfo)
		ppi_list = add_lookup_param_info(root, baserel,
										 (RestrictInfo *) lfirst(lc), ppi_list);

	/* ... and those the equivalence classes imply */
	if (baserel->has_eclass_joins)
	{
		List	   *clauses;

		clauses = generate_implied_equalities_for_column(root, baserel,
														 ec_member_is_record_name,
														 NULL,
														 baserel->lateral_referencers);
		foreach(lc, clauses)
			ppi_list = add_lookup_param_info(root, baserel,
											 (RestrictInfo *) lfirst(lc), ppi_list);
	}

	foreach(lc, ppi_list)
	{
		ParamPathInfo *ppi = (ParamPathInfo *) lfirst(lc);
		RestrictInfo *lookup = NULL;
		double		best = 0;
		ListCell   *lc2;
		Cost		startup;
		Cost		total;
		ForeignPath *path;

		foreach(lc2, ppi->ppi_clauses)
		{
			RestrictInfo *rinfo = (RestrictInfo *) lfirst(lc2);
			Expr	   *names;
			double		nnames;

			if (ckfdw_lookup_clause(root, baserel, rinfo, &names, &nnames) &&
				(lookup == NULL || nnames < best))
			{
				lookup = rinfo;
				best = nnames;
			}
		}
		if (lookup == NULL)
			continue;

		/* one request per execution, i.e. per outer row */
		startup = CKFDW_LOOKUP_COST + qcost.startup;
		total = startup + best * (CKFDW_RECORD_COST + cpu_tuple_cost + qcost.per_tuple);
		path = create_foreignscan_path(root, baserel, NULL, ppi->ppi_rows,
									   startup, total, NIL,
									   ppi->ppi_req_outer, NULL,
									   list_make2(lookup, makeBoolean(false)));
		add_path(baserel, (Path *) path);
	}
}

/* generate_implied_equalities_for_column callback: the record name column */
static bool
ec_member_is_record_name(PlannerInfo *root, RelOptInfo *rel,
						 EquivalenceClass *ec, EquivalenceMember *em, void *arg)
{
	CkFdwRelationInfo *fpinfo = (CkFdwRelationInfo *) rel->fdw_private;
	Node	   *expr = (Node *) em->em_expr;
	Var		   *var;

	while (IsA(expr, RelabelType))
		expr = (Node *) ((RelabelType *) expr)->arg;
	if (!IsA(expr, Var))
		return false;
	var = (Var *) expr;
	return (Index) var->varno == rel->relid && var->varlevelsup == 0 &&
		var->varattno > 0 && var->varattno <= fpinfo->ncolumns &&
		fpinfo->columns[var->varattno - 1].system == CKFDW_SYS_RECORD_NAME;
}

/*
 * ckfdwGetForeignUpperPaths
 *		Add paths for post-join operations: ORDER BY and LIMIT/OFFSET on a
 *		single foreign table (postgres_fdw's add_foreign_ordered_paths and
 *		add_foreign_final_paths).
 */
static void
ckfdwGetForeignUpperPaths(PlannerInfo *root, UpperRelationKind stage,
						  RelOptInfo *input_rel, RelOptInfo *output_rel,
						  void *extra)
{
	CkFdwRelationInfo *ifpinfo = (CkFdwRelationInfo *) input_rel->fdw_private;
	CkFdwRelationInfo *fpinfo;

	/*
	 * If input rel is not safe to pushdown, then simply return as we cannot
	 * perform any post-join operations on CloudKit.  (Joins of two ckfdw
	 * tables reach here with no fdw_private: we do not push joins.)
	 */
	if (ifpinfo == NULL || !ifpinfo->pushdown_safe)
		return;

	/* Ignore stages we don't support; and skip any duplicate calls. */
	if ((stage != UPPERREL_ORDERED && stage != UPPERREL_FINAL) ||
		output_rel->fdw_private)
		return;

	fpinfo = (CkFdwRelationInfo *) palloc0(sizeof(CkFdwRelationInfo));
	fpinfo->is_upper = true;
	fpinfo->pushdown_safe = false;
	fpinfo->stage = stage;
	output_rel->fdw_private = fpinfo;

	if (stage == UPPERREL_ORDERED)
		add_foreign_ordered_paths(root, input_rel, output_rel);
	else
		add_foreign_final_paths(root, input_rel, output_rel,
								(FinalPathExtraData *) extra);
}

/*
 * The ORDER BY of a query on one foreign table: GetForeignPaths already
 * made the sorted path (query_pathkeys are the sort_pathkeys then); just
 * record whether the final stage may build on it.
 */
static void
add_foreign_ordered_paths(PlannerInfo *root, RelOptInfo *input_rel,
						  RelOptInfo *ordered_rel)
{
	CkFdwRelationInfo *ifpinfo = (CkFdwRelationInfo *) input_rel->fdw_private;
	CkFdwRelationInfo *fpinfo = (CkFdwRelationInfo *) ordered_rel->fdw_private;

	if (root->parse->hasTargetSRFs)
		return;
	fpinfo->outerrel = input_rel;
	if (input_rel->reloptkind == RELOPT_BASEREL && !ifpinfo->is_upper)
		fpinfo->pushdown_safe = ifpinfo->qp_is_pushdown_safe;
}

/*
 * LIMIT/OFFSET: when every condition and the ORDER BY (if any) are sent to
 * CloudKit, the scan itself stops after OFFSET + LIMIT records, and asks
 * for no more than that (resultsLimit).  A condition evaluated locally,
 * even as a recheck, would make the first records not the first rows, so
 * then the usual Limit node stays.
 */
static void
add_foreign_final_paths(PlannerInfo *root, RelOptInfo *input_rel,
						RelOptInfo *final_rel, FinalPathExtraData *extra)
{
	Query	   *parse = root->parse;
	CkFdwRelationInfo *ifpinfo = (CkFdwRelationInfo *) input_rel->fdw_private;
	CkFdwRelationInfo *fpinfo = (CkFdwRelationInfo *) final_rel->fdw_private;
	List	   *pathkeys = NIL;
	double		rows;
	double		input_rows;
	double		offset_rows;
	double		count_rows;
	double		fraction;
	Cost		startup_cost;
	Cost		total_cost;
	ForeignPath *final_path;

	/* only SELECT, with a LIMIT, no FOR UPDATE, no set-returning functions */
	if (parse->commandType != CMD_SELECT || !extra->limit_needed ||
		parse->rowMarks != NIL || parse->hasTargetSRFs ||
		parse->limitOption == LIMIT_OPTION_WITH_TIES ||
		!ckfdw_enable_limit_pushdown)
		return;

	/* ORDER BY: build on the base relation the ordered relation came from */
	if (input_rel->reloptkind == RELOPT_UPPER_REL &&
		ifpinfo->stage == UPPERREL_ORDERED)
	{
		input_rel = ifpinfo->outerrel;
		ifpinfo = (CkFdwRelationInfo *) input_rel->fdw_private;
		pathkeys = root->sort_pathkeys;
	}
	if (input_rel->reloptkind != RELOPT_BASEREL || ifpinfo == NULL ||
		ifpinfo->is_upper)
		return;

	/* every condition must be CloudKit's alone */
	if (ifpinfo->local_conds != NIL)
		return;

	/* LIMIT and OFFSET must be computable when the scan starts */
	if ((parse->limitCount && (contain_var_clause(parse->limitCount) ||
							   contain_volatile_functions(parse->limitCount) ||
							   contain_subplans(parse->limitCount))) ||
		(parse->limitOffset && (contain_var_clause(parse->limitOffset) ||
								contain_volatile_functions(parse->limitOffset) ||
								contain_subplans(parse->limitOffset))))
		return;

	fpinfo->pushdown_safe = true;

	/*
	 * Costs: the scan's (sorted, if ORDER BY is sent), for the share of rows
	 * OFFSET + LIMIT need, as create_limit_path estimates them (10% of the
	 * rows for a parameter).  No Limit node passes the rows on; and CloudKit
	 * sends no more than that (resultsLimit), so pushing is never dearer.
	 */
	input_rows = Max(input_rel->rows, 1.0);
	offset_rows = extra->offset_est > 0 ? (double) extra->offset_est :
		extra->offset_est < 0 ? clamp_row_est(input_rows * 0.10) : 0;
	count_rows = extra->count_est > 0 ? (double) extra->count_est :
		extra->count_est < 0 ? clamp_row_est(input_rows * 0.10) : input_rows;
	rows = clamp_row_est(Min(count_rows, Max(input_rows - offset_rows, 0)));
	fraction = Min(1.0, (offset_rows + count_rows) / input_rows);
	startup_cost = ifpinfo->startup_cost;
	total_cost = ifpinfo->total_cost;
	if (pathkeys != NIL)
		total_cost += ifpinfo->retrieved_rows * cpu_operator_cost;
	total_cost = startup_cost + (total_cost - startup_cost) * fraction;
	total_cost = Max(startup_cost, total_cost - rows * cpu_tuple_cost);

	final_path = create_foreign_upper_path(root,
										   input_rel,
										   root->upper_targets[UPPERREL_FINAL],
										   rows,
										   startup_cost,
										   total_cost,
										   pathkeys,
										   NULL,	/* no extra plan */
										   list_make2(NULL, makeBoolean(true)));
	add_path(final_rel, (Path *) final_path);
}

/*
 * ckfdwGetForeignPlan
 *		Create ForeignScan plan node which implements selected best path
 *
 * The request is planned as far as it can be: the base body (zone, record
 * type, desiredKeys, resultsLimit) and the filter, sort and limit
 * descriptors.  Values of conditions, record names and LIMIT/OFFSET are in
 * fdw_exprs, evaluated when the scan starts.
 */
static ForeignScan *
ckfdwGetForeignPlan(PlannerInfo *root, RelOptInfo *foreignrel,
					Oid foreigntableid, ForeignPath *best_path,
					List *tlist, List *scan_clauses, Plan *outer_plan)
{
	CkFdwRelationInfo *fpinfo = (CkFdwRelationInfo *) foreignrel->fdw_private;
	Index		scan_relid = foreignrel->relid;
	RestrictInfo *lookup_rinfo = NULL;
	bool		has_limit = false;
	List	   *remote_conds = NIL;
	List	   *recheck_conds = NIL;
	List	   *remote_exprs = NIL;
	List	   *local_exprs = NIL;
	List	   *fdw_exprs = NIL;
	List	   *retrieved_attrs;
	Bitmapset  *attrs_used;
	List	   *fdw_private;
	CkFdwPushdown pd;
	int			results_limit;
	char	   *request;
	ListCell   *lc;

	if (best_path->fdw_private != NIL)
	{
		lookup_rinfo = (RestrictInfo *) list_nth(best_path->fdw_private,
												 FdwPathPrivateLookup);
		has_limit = boolVal(list_nth(best_path->fdw_private,
									 FdwPathPrivateHasLimit));
	}

	memset(&pd, 0, sizeof(pd));
	pd.mode = lookup_rinfo != NULL ? CKFDW_SCAN_LOOKUP : CKFDW_SCAN_QUERY;
	pd.limit_index = pd.offset_index = pd.names_index = -1;

	/*
	 * Separate the scan_clauses into those that can be executed remotely and
	 * those that can't.  baserestrictinfo clauses that were previously
	 * determined to be safe or unsafe by classifyConditions are found in
	 * fpinfo->remote_conds and fpinfo->local_conds (a recheck in both).
	 * Anything else in the scan_clauses list will be a join clause: the
	 * lookup's own, or one evaluated locally.  A lookup sends no filters.
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

		if (rinfo == lookup_rinfo)
			remote_exprs = lappend(remote_exprs, rinfo->clause);
		else if (pd.mode == CKFDW_SCAN_LOOKUP)
			local_exprs = lappend(local_exprs, rinfo->clause);
		else if (list_member_ptr(fpinfo->remote_conds, rinfo))
		{
			remote_conds = lappend(remote_conds, rinfo);
			if (list_member_ptr(fpinfo->local_conds, rinfo))
			{
				recheck_conds = lappend(recheck_conds, rinfo);
				local_exprs = lappend(local_exprs, rinfo->clause);
			}
		}
		else
			local_exprs = lappend(local_exprs, rinfo->clause);
	}

	results_limit = fpinfo->options->page_size;
	if (pd.mode == CKFDW_SCAN_QUERY)
	{
		pd.filters = ckfdw_deparse_filters(root, foreignrel, remote_conds,
										   recheck_conds, &fdw_exprs);
		remote_exprs = extract_actual_clauses(remote_conds, false);
		if (best_path->path.pathkeys != NIL)
			pd.sorts = ckfdw_deparse_sorts(root, foreignrel,
										   best_path->path.pathkeys);
		if (has_limit)
		{
			Node	   *count = root->parse->limitCount;
			Node	   *offset = root->parse->limitOffset;

			pd.has_limit = true;
			if (count != NULL)
			{
				pd.limit_index = list_length(fdw_exprs);
				fdw_exprs = lappend(fdw_exprs, count);
			}
			if (offset != NULL)
			{
				pd.offset_index = list_length(fdw_exprs);
				fdw_exprs = lappend(fdw_exprs, offset);
			}
			/* with constants, the planned request shows the real limit */
			if (count != NULL && IsA(count, Const) && !((Const *) count)->constisnull &&
				(offset == NULL ||
				 (IsA(offset, Const) && !((Const *) offset)->constisnull)))
			{
				int64		n = DatumGetInt64(((Const *) count)->constvalue);

				if (offset != NULL)
					n += Max(DatumGetInt64(((Const *) offset)->constvalue), 0);
				if (n > 0 && n < results_limit)
					results_limit = (int) n;
			}
		}
	}
	else
	{
		Expr	   *names;
		double		nnames;

		if (!ckfdw_lookup_clause(root, foreignrel, lookup_rinfo, &names, &nnames))
			elog(ERROR, "cannot use condition for a CloudKit lookup");
		pd.names_index = list_length(fdw_exprs);
		fdw_exprs = lappend(fdw_exprs, names);
	}

	/* the columns local conditions read must be fetched too */
	attrs_used = bms_copy(fpinfo->attrs_used);
	pull_varattnos((Node *) local_exprs, scan_relid, &attrs_used);

	request = ckfdw_deparse_query(root, foreignrel, attrs_used, results_limit,
								  pd.mode, &retrieved_attrs);

	fdw_private = list_make3(makeString(request), retrieved_attrs,
							 ckfdw_pushdown_to_list(&pd));

	/*
	 * Create the ForeignScan node for the given relation.
	 *
	 * Note that the remote parameter expressions are stored in the fdw_exprs
	 * field of the finished plan node; we can't keep them in private state
	 * because then they wouldn't be subject to later planner processing.
	 * The conditions sent to CloudKit are fdw_recheck_quals: for EvalPlanQual
	 * and for the scan, which evaluates those CloudKit refuses.
	 */
	return make_foreignscan(tlist,
							local_exprs,
							scan_relid,
							fdw_exprs,
							fdw_private,
							NIL,	/* no custom tlist */
							remote_exprs,
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
	fsstate->base_request = strVal(list_nth(fsplan->fdw_private, FdwScanPrivateRequest));
	fsstate->retrieved_attrs = (List *) list_nth(fsplan->fdw_private,
												 FdwScanPrivateRetrievedAttrs);
	fsstate->fetch_attrs = fsstate->retrieved_attrs;
	fsstate->pushdown = ckfdw_pushdown_from_list(list_nth(fsplan->fdw_private,
														  FdwScanPrivatePushdown));
	fsstate->record_type_utf8 = ckfdw_to_utf8(fsstate->options->record_type);

	fsstate->info.operation =
		fsstate->pushdown->mode == CKFDW_SCAN_LOOKUP ? "records/lookup" : "records/query";
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
	fsstate->param_states = ExecInitExprList(fsplan->fdw_exprs, (PlanState *) node);
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
static TupleTableSlot *
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
	bool		lookup = (fsstate->pushdown->mode == CKFDW_SCAN_LOOKUP);

	for (;;)
	{
		struct json_object *obj;
		CkRecord	rec;
		char		err[256];
		MemoryContext oldcxt;

		if (fsstate->next_record >= fsstate->num_records)
		{
			/* the page is used up: the next one, if CloudKit has more */
			if (fsstate->pages_fetched > 0 && !fsstate->more)
				return false;
			fetch_page(fsstate);
			continue;
		}

		obj = json_object_array_get_idx(fsstate->records, fsstate->next_record++);
		if (!ck_record_parse(obj, &rec, err, sizeof(err)))
			ereport(ERROR,
					(errcode(ckfdw_invalid_record_errcode(&rec)),
					 errmsg("CloudKit sent an invalid record in response to the %s of record type \"%s\"",
							lookup ? "lookup" : "query",
							fsstate->options->record_type),
					 errdetail_internal("%s", err)));

		/* an error instead of a record is an error, never a gap ... */
		if (rec.is_error)
		{
			/* ... except that a lookup of a name no record has finds none */
			if (lookup && rec.server_error_code != NULL &&
				strcmp(rec.server_error_code, "NOT_FOUND") == 0)
				continue;
			ckfdw_report_record_error(rec.server_error_code, rec.reason,
									  rec.record_name, rec.retry_after,
									  &fsstate->info);
		}
		/* a query has no tombstones to return; skip any */
		if (rec.deleted)
			continue;
		/* a lookup finds records of any type by name: only ours are rows */
		if (lookup && (rec.record_type == NULL ||
					   strcmp(rec.record_type, fsstate->record_type_utf8) != 0))
			continue;

		/* the row's values live until the next row is read */
		MemoryContextReset(fsstate->row_cxt);
		oldcxt = MemoryContextSwitchTo(fsstate->row_cxt);
		ExecClearTuple(slot);
		ckfdw_record_to_values(fsstate->columns, fsstate->ncolumns,
							   fsstate->fetch_attrs, &rec, fsstate->relname,
							   slot->tts_values, slot->tts_isnull);
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
	int			i;

	/* forget what earlier parameters fetched */
	reset_scan(fsstate);
	MemoryContextReset(fsstate->params_cxt);

	/* values are copied into params_cxt: they outlive this call */
	oldcxt = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
	i = 0;
	foreach(lc, fsstate->param_states)
	{
		ExprState  *state = (ExprState *) lfirst(lc);
		Oid			type = fsstate->params.types[i];
		int16		typlen;
		bool		typbyval;
		Datum		value;
		bool		isnull;

		value = ExecEvalExpr(state, econtext, &isnull);
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

	if (pd->mode == CKFDW_SCAN_LOOKUP)
		collect_names(fsstate);
	else
		build_request(fsstate);
	fsstate->started = true;

	/*
	 * Ask for the first page now: should CloudKit refuse a sort, the rows
	 * must be sorted here, which the iteration has to know from the start.
	 */
	if (!(fsstate->has_limit && fsstate->limit == 0))
		fetch_page(fsstate);
}

/* Drop the current pages, sort and counters: the scan starts anew. */
static void
reset_scan(CkFdwScanState *fsstate)
{
	forget_page(fsstate);
	fsstate->pages_fetched = 0;
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
 * The record names a lookup asks for: the value of the names expression
 * (a name or an array of names), without NULLs and duplicates (a name
 * listed twice is still one row), in UTF-8.
 */
static void
collect_names(CkFdwScanState *fsstate)
{
	CkFdwPushdown *pd = fsstate->pushdown;
	int			idx = pd->names_index;
	MemoryContext oldcxt = MemoryContextSwitchTo(fsstate->params_cxt);
	Datum		value = fsstate->params.values[idx];
	Oid			type = fsstate->params.types[idx];
	int			n = 0;
	int			i;

	fsstate->names = NULL;
	fsstate->nnames = 0;
	fsstate->fetch_attrs = fsstate->retrieved_attrs;
	fsstate->local_checks = NIL;

	if (!fsstate->params.nulls[idx])
	{
		n = ckfdw_key_names(value, type, &fsstate->names);
		for (i = 0; i < n; i++)
			fsstate->names[i] = ckfdw_to_utf8(fsstate->names[i]);
	}

	fsstate->nnames = ckfdw_sort_unique_names(fsstate->names, n);
	MemoryContextSwitchTo(oldcxt);
}

/*
 * Fetch the next page of the scan (the first one if none was fetched), and
 * make it the current page.  The previous page is freed first.  A lookup's
 * pages are batches of up to page_size record names.
 */
static void
fetch_page(CkFdwScanState *fsstate)
{
	const char *body;
	struct json_object *records;
	struct json_object *marker;
	MemoryContext oldcxt;
	bool		lookup = (fsstate->pushdown->mode == CKFDW_SCAN_LOOKUP);
	int			batch = 0;

	if (lookup)
	{
		batch = Min(fsstate->nnames - fsstate->next_name,
					fsstate->options->page_size);
		if (batch <= 0)
		{
			/* no names (all NULL, or none): no request, no rows */
			forget_page(fsstate);
			fsstate->pages_fetched++;
			fsstate->more = false;
			return;
		}
		body = ckfdw_build_lookup_request(fsstate->base_request,
										  fsstate->names + fsstate->next_name,
										  batch, NIL, 0);
	}
	else if (fsstate->pages_fetched == 0)
		body = fsstate->request;	/* what EXPLAIN VERBOSE shows, completed */
	else
	{
		/* the same query with this page's marker (copied by json-c) */
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
		body = json_object_to_json_string_ext(fsstate->request_obj,
											  JSON_C_TO_STRING_PLAIN |
											  JSON_C_TO_STRING_NOSLASHESCAPE);
	}

	for (;;)
	{
		forget_page(fsstate);

		/* the response is freed with the page, on success, error or end */
		oldcxt = MemoryContextSwitchTo(fsstate->page_cxt);
		fsstate->page = palloc0(sizeof(CkFdwPage));
		fsstate->page->cb.func = free_page;
		fsstate->page->cb.arg = fsstate->page;
		MemoryContextRegisterResetCallback(fsstate->page_cxt, &fsstate->page->cb);
		MemoryContextSwitchTo(oldcxt);

		/* CloudKit may refuse a filter or sort of the first page */
		if (lookup || fsstate->pages_fetched > 0)
		{
			ckfdw_request(fsstate->conn, "POST", body, true, &fsstate->info,
						  &fsstate->page->resp);
			break;
		}
		if (!send_query(fsstate, body, &fsstate->page->resp))
			break;
		fsstate->requests += fsstate->page->resp.attempts;
		build_request(fsstate);
		body = fsstate->request;
	}
	fsstate->pages_fetched++;
	fsstate->requests += fsstate->page->resp.attempts;

	if (fsstate->page->resp.json == NULL ||
		!json_object_is_type(fsstate->page->resp.json, json_type_object) ||
		!json_object_object_get_ex(fsstate->page->resp.json, "records", &records) ||
		!json_object_is_type(records, json_type_array))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("CloudKit response to the %s of record type \"%s\" has no \"records\" list",
						lookup ? "lookup" : "query",
						fsstate->options->record_type)));

	fsstate->records = records;
	fsstate->num_records = json_object_array_length(records);
	fsstate->next_record = 0;
	fsstate->records_received += fsstate->num_records;

	if (lookup)
	{
		fsstate->next_name += batch;
		fsstate->more = (fsstate->next_name < fsstate->nnames);
		return;
	}

	/* the marker is present only when more records follow */
	if (json_object_object_get_ex(fsstate->page->resp.json, "continuationMarker", &marker) &&
		json_object_is_type(marker, json_type_string) &&
		json_object_get_string_len(marker) > 0)
		fsstate->marker = json_object_get_string(marker);
	fsstate->more = (fsstate->marker != NULL);

	/* an empty page that points back at itself would loop for ever */
	if (fsstate->num_records == 0 && fsstate->marker != NULL &&
		fsstate->prev_marker != NULL &&
		strcmp(fsstate->marker, fsstate->prev_marker) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("CloudKit returned an empty page with an unchanged continuationMarker for the query of record type \"%s\"",
						fsstate->options->record_type)));
	/* a marker an earlier page carried would return its records again */
	if (fsstate->marker != NULL)
		ckfdw_check_marker(&fsstate->markers, fsstate->scan_cxt, fsstate->marker,
						   strlen(fsstate->marker), fsstate->pages_fetched,
						   fsstate->options->record_type);
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
	if (ckfdw_try_request(fsstate->conn, "POST", body, true, &fsstate->info, resp))
		return false;
	if (resp->kind == CK_RESULT_SERVER_ERROR &&
		strcmp(resp->server_error_code, "BAD_REQUEST") == 0 &&
		refuse_field(fsstate, resp->reason))
		return true;
	ckfdw_report_response(resp, &fsstate->info, NULL);
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
	 * batch).  Otherwise, ask CloudKit again from the first page, with the
	 * request completed for the new parameter values.
	 */
	if (node->ss.ps.chgParam == NULL && fsstate->started &&
		!fsstate->sort_locally && fsstate->pages_fetched == 1 &&
		!fsstate->more && fsstate->records != NULL)
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
static void
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
	bool		lookup = (pd->mode == CKFDW_SCAN_LOOKUP);
	List	   *context = NIL;

	ExplainPropertyText("CloudKit Operation",
						lookup ? "records/lookup" : "records/query", es);
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
		ExplainPropertyText(lookup ? "CloudKit Lookup" : "CloudKit Filter",
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

		if (lookup)
			request = explain_lookup_request(base, pd, &params, opts->page_size);
		else
			request = ckfdw_build_query_request(base, pd, &params, NULL, NULL,
												false, NIL, 0);
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

/* The lookup request of a plan: its constant names, or a placeholder. */
static char *
explain_lookup_request(const char *base, CkFdwPushdown *pd,
					   CkFdwParamValues *params, int page_size)
{
	int			idx = pd->names_index;
	char	  **names;
	int			n;
	int			i;

	if (params->unknown[idx])
		return ckfdw_build_lookup_request(base, NULL, 0, NIL, idx + 1);
	if (params->nulls[idx])
		return ckfdw_build_lookup_request(base, NULL, 0, NIL, 0);
	/* the first request's names, as the scan sends them */
	n = ckfdw_key_names(params->values[idx], params->types[idx], &names);
	for (i = 0; i < n; i++)
		names[i] = ckfdw_to_utf8(names[i]);
	n = Min(ckfdw_sort_unique_names(names, n), page_size);
	return ckfdw_build_lookup_request(base, names, n, NIL, 0);
}
