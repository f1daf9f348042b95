/*-------------------------------------------------------------------------
 *
 * planner.c
 *		  Planning a scan of a foreign CloudKit table
 *
 * Paths and their costs (records/query, sorted by CloudKit, with LIMIT,
 * records/lookup by record name, parameterized lookups), the split of the
 * conditions into those CloudKit evaluates and those PostgreSQL must, and
 * the plan node: the planned request and what the scan completes at run
 * time (deparse.c builds both).  Execution is in scan.c.
 *
 * IDENTIFICATION
 *		  src/planner.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/sysattr.h"
#include "access/table.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
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
#include "utils/rel.h"

#include "ckfdw.h"

/* Planner costs are in ckfdw.h.  Rows assumed for a table without statistics: */
#define CKFDW_DEFAULT_ROWS		1000.0

/*
 * Similarly, this enum describes what's kept in the fdw_private list for
 * a ForeignPath (NIL for a plain records/query).
 */
enum FdwPathPrivateIndex
{
	/* the RestrictInfo a records/lookup answers, or NULL */
	FdwPathPrivateLookup,
	/* Boolean: the scan applies the query's LIMIT/OFFSET */
	FdwPathPrivateHasLimit,
	/* Boolean: the scan reads changes/zone (absent: false) */
	FdwPathPrivateChanges
};

static void estimate_costs(PlannerInfo *root, RelOptInfo *baserel,
						   CkFdwRelationInfo *fpinfo);
static void choose_source(PlannerInfo *root, RelOptInfo *baserel,
						  CkFdwRelationInfo *fpinfo);
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
void
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

	/* records/query and records/lookup, or the zone's change feed */
	choose_source(root, baserel, fpinfo);

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
 * Does the table declare that CloudKit cannot query its record type without
 * a filter?  That is its record name column with queryable 'false', which
 * IMPORT FOREIGN SCHEMA sets when the type lacks the "___recordID"
 * QUERYABLE index: records/query then refuses an unfiltered query.
 */
static bool
unfiltered_query_refused(CkFdwRelationInfo *fpinfo)
{
	int			i;

	for (i = 0; i < fpinfo->ncolumns; i++)
	{
		if (!fpinfo->columns[i].dropped &&
			fpinfo->columns[i].system == CKFDW_SYS_RECORD_NAME &&
			fpinfo->indexes[i].queryable == CKFDW_INDEX_NO)
			return true;
	}
	return false;
}

/*
 * Where the scan reads: the zone's change feed (changes/zone) when
 *
 * - a condition "syncToken column = value" asks for a change read;
 * - the table (or server) has scan_source 'changes';
 * - scan_source is 'auto' (the default), the table is in a custom zone of
 *   the private or shared database, nothing would be sent to CloudKit (no
 *   condition it evaluates, no lookup by record name) and records/query
 *   would refuse the unfiltered query (unfiltered_query_refused).
 *
 * Otherwise records/query and records/lookup.  'auto' does not pick the
 * feed for cost: a full read through it takes as many pages as the query,
 * plus the zone's tombstones.  The feed evaluates no condition, sort or
 * limit: everything but the token condition is PostgreSQL's.
 */
static void
choose_source(PlannerInfo *root, RelOptInfo *baserel, CkFdwRelationInfo *fpinfo)
{
	CkFdwOptions *opts = fpinfo->options;
	ListCell   *lc;
	int			i;

	fpinfo->lookups_ok = true;
	fpinfo->use_changes = false;
	fpinfo->token_cond = NULL;

	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
		Expr	   *token;

		if (ckfdw_token_clause(root, baserel, rinfo, &token))
		{
			fpinfo->token_cond = rinfo;
			break;
		}
	}

	/*
	 * Any other condition on the syncToken column would silently match no
	 * row (the column holds the start token, or NULL): refuse it.
	 */
	if (fpinfo->token_cond == NULL)
	{
		foreach(lc, baserel->baserestrictinfo)
		{
			RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
			Bitmapset  *attrs = NULL;
			int			att = -1;

			pull_varattnos((Node *) rinfo->clause, baserel->relid, &attrs);
			while ((att = bms_next_member(attrs, att)) >= 0)
			{
				AttrNumber	attnum = att + FirstLowInvalidHeapAttributeNumber;

				if (attnum > 0 && attnum <= fpinfo->ncolumns &&
					fpinfo->columns[attnum - 1].system == CKFDW_SYS_SYNC_TOKEN)
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("condition on column \"%s\" of foreign table \"%s\" cannot start a change read",
									fpinfo->columns[attnum - 1].attname, fpinfo->relname),
							 errdetail("A change read starts from \"%s = value\", where the value is known when the scan starts: a constant, a parameter, a scalar subquery or a stable expression.",
									   fpinfo->columns[attnum - 1].attname),
							 errhint("ckfdw_sync_token() is volatile: store the token first (in a table or a variable) and compare with that.")));
			}
		}
	}

	if (fpinfo->token_cond != NULL)
	{
		bool		has_deleted = false;

		if (opts->scan_source == CKFDW_SOURCE_QUERY)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("a change read of foreign table \"%s\" needs the change feed, but its option \"scan_source\" is 'query'",
							fpinfo->relname),
					 errdetail("A condition on the syncToken column asks for the records changed since that token."),
					 errhint("Set scan_source to 'auto' or 'changes', or drop the condition on the syncToken column.")));
		ckfdw_check_changes(opts, fpinfo->relname, "a change read");
		for (i = 0; i < fpinfo->ncolumns; i++)
		{
			if (!fpinfo->columns[i].dropped &&
				fpinfo->columns[i].system == CKFDW_SYS_DELETED)
				has_deleted = true;
		}
		if (!has_deleted)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
					 errmsg("a change read of foreign table \"%s\" needs a column with option system 'deleted'",
							fpinfo->relname),
					 errdetail("A change read returns deleted records as rows; without that column they could not be told apart, and the deletions would be lost."),
					 errhint("Add one: ALTER FOREIGN TABLE %s ADD COLUMN deleted boolean OPTIONS (system 'deleted').",
							 quote_identifier(fpinfo->relname))));
		if (baserel->relid == root->parse->resultRelation)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("a change read of foreign table \"%s\" cannot feed an UPDATE or DELETE of it",
							fpinfo->relname),
					 errhint("Read the changes with SELECT or MERGE ... USING, and write with a separate statement.")));
		fpinfo->use_changes = true;
		fpinfo->lookups_ok = false;
	}
	else if (opts->scan_source == CKFDW_SOURCE_CHANGES)
	{
		ckfdw_check_changes(opts, fpinfo->relname, "option \"scan_source\" 'changes'");
		fpinfo->use_changes = true;
		fpinfo->lookups_ok = false;
	}
	else if (opts->scan_source == CKFDW_SOURCE_AUTO &&
			 strcmp(opts->database, "public") != 0 &&
			 strcmp(opts->zone, CKFDW_DEFAULT_ZONE) != 0 &&
			 fpinfo->remote_conds == NIL && fpinfo->lookup_cond == NULL &&
			 unfiltered_query_refused(fpinfo))
		fpinfo->use_changes = true;

	if (!fpinfo->use_changes)
		return;

	/* only the token condition is the feed's (for costs: its selectivity) */
	fpinfo->remote_conds = NIL;
	fpinfo->local_conds = NIL;
	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		if (rinfo == fpinfo->token_cond)
			fpinfo->remote_conds = list_make1(rinfo);
		else
			fpinfo->local_conds = lappend(fpinfo->local_conds, rinfo);
	}
	fpinfo->lookup_cond = NULL;
	/* no ORDER BY or LIMIT on the feed */
	fpinfo->pushdown_safe = false;
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
void
ckfdwGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	CkFdwRelationInfo *fpinfo = (CkFdwRelationInfo *) baserel->fdw_private;
	ForeignPath *path;

	/* the change feed: one path, and lookups by record name if allowed */
	if (fpinfo->use_changes)
	{
		path = create_foreignscan_path(root, baserel, NULL, baserel->rows,
									   fpinfo->startup_cost, fpinfo->total_cost,
									   NIL, baserel->lateral_relids, NULL,
									   list_make3(NULL, makeBoolean(false),
												  makeBoolean(true)));
		add_path(baserel, (Path *) path);
		if (ckfdw_enable_lookup && fpinfo->lookups_ok)
			add_lookup_paths(root, baserel, fpinfo);
		return;
	}

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
void
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
 * ckfdwIsForeignPathAsyncCapable
 *		Can the scan of this path run beside its siblings in an Append?
 *
 * A plain records/query scan, when the user allows it (option
 * async_capable).  A sorted scan is not: CloudKit may refuse the sort on
 * the first page, and the rows must then be sorted here before the first
 * one is returned.  Lookups and limited scans read few pages.
 */
bool
ckfdwIsForeignPathAsyncCapable(ForeignPath *path)
{
	RelOptInfo *rel = path->path.parent;
	CkFdwRelationInfo *fpinfo = (CkFdwRelationInfo *) rel->fdw_private;

	return fpinfo != NULL && !fpinfo->is_upper &&
		fpinfo->options->async_capable &&
		path->fdw_private == NIL && path->path.pathkeys == NIL &&
		!fpinfo->use_changes;
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
ForeignScan *
ckfdwGetForeignPlan(PlannerInfo *root, RelOptInfo *foreignrel,
					Oid foreigntableid, ForeignPath *best_path,
					List *tlist, List *scan_clauses, Plan *outer_plan)
{
	CkFdwRelationInfo *fpinfo = (CkFdwRelationInfo *) foreignrel->fdw_private;
	Index		scan_relid = foreignrel->relid;
	RestrictInfo *lookup_rinfo = NULL;
	bool		has_limit = false;
	bool		changes = false;
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
		changes = list_length(best_path->fdw_private) > FdwPathPrivateChanges &&
			boolVal(list_nth(best_path->fdw_private, FdwPathPrivateChanges));
	}

	memset(&pd, 0, sizeof(pd));
	pd.mode = changes ? CKFDW_SCAN_CHANGES :
		lookup_rinfo != NULL ? CKFDW_SCAN_LOOKUP : CKFDW_SCAN_QUERY;
	pd.limit_index = pd.offset_index = pd.names_index = pd.token_index = -1;

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
		else if (pd.mode == CKFDW_SCAN_CHANGES)
		{
			/* the feed answers the token condition, and no other */
			if (rinfo == fpinfo->token_cond)
				remote_exprs = lappend(remote_exprs, rinfo->clause);
			else
				local_exprs = lappend(local_exprs, rinfo->clause);
		}
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
	else if (pd.mode == CKFDW_SCAN_CHANGES)
	{
		Expr	   *token;

		if (fpinfo->token_cond != NULL)
		{
			if (!ckfdw_token_clause(root, foreignrel, fpinfo->token_cond, &token))
				elog(ERROR, "cannot use condition for a CloudKit change read");
			pd.token_index = list_length(fdw_exprs);
			fdw_exprs = lappend(fdw_exprs, token);
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

	/*
	 * A query that may stop early (LIMIT, EXISTS, a cursor) reads a page
	 * ahead only once half of the current one is used, so that LIMIT 10
	 * costs one request; one that wants every row reads ahead at once.
	 */
	fdw_private = list_make5(makeString(request), retrieved_attrs,
							 ckfdw_pushdown_to_list(&pd),
							 makeBoolean(root->tuple_fraction <= 0.0),
							 ckfdw_plan_split(root, foreignrel, &pd, &fdw_exprs));

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
