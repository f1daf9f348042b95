/*-------------------------------------------------------------------------
 *
 * lookup.c
 *		  Joins by record name, answered with batched records/lookup requests
 *
 * A join "foreign.recordName = other.column" can run as a nested loop over
 * a parameterized lookup (planner.c), but that costs one CloudKit request per
 * outer row.  This file adds, through set_join_pathlist_hook, a custom join
 * ("CloudKit Lookup Join"): it reads up to page_size outer rows, looks all
 * their record names up in one records/lookup request, and joins in memory.
 * A join of N outer rows costs about N / page_size requests (at most 200
 * names per request, CloudKit's limit) and reads only the records named.
 *
 * Inner, left, semi and anti joins are handled: the join conditions (the
 * lookup's, the others of the join, and the foreign table's own conditions,
 * all evaluated here on the joined row) decide which records match; then
 * an outer row is emitted with each match (inner), with its matches or
 * alone (left), once if any matched (semi), or only if none did (anti).
 * Conditions above the join (WHERE on a left join) are the scan's qual.
 *
 * The scan tuple (custom_scan_tlist) is the outer plan's output followed by
 * the foreign table's columns the join needs.  A lookup of a name no record
 * has, or whose record is of another type, is no match; any other per-record
 * error is an error.
 *
 * IDENTIFICATION
 *		  src/lookup.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ckfdw_json.h"
#include <math.h>

#include "access/sysattr.h"
#include "access/table.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/restrictinfo.h"
#include "optimizer/tlist.h"
#include "parser/parsetree.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"

#include "ckfdw.h"
#include "ck/ck_record.h"

/*
 * custom_private of the plan, by position.
 */
enum LookupJoinPrivateIndex
{
	LJPrivateTableOid,			/* Integer: the foreign table */
	LJPrivateJoinType,			/* Integer: JOIN_INNER, _LEFT, _SEMI, _ANTI */
	LJPrivateOuterMap,			/* IntList: per scan column, outer resno or 0 */
	LJPrivateInnerMap,			/* IntList: per scan column, attnum or 0 */
	LJPrivateRequest,			/* String: records/lookup body without records */
	LJPrivateRetrievedAttrs		/* IntList: the table's columns converted */
};

/*
 * custom_exprs of the plan, by position.
 */
enum LookupJoinExprIndex
{
	LJExprKey,					/* the record name(s) of an outer row */
	LJExprLookupCond,			/* the lookup condition, for EXPLAIN */
	LJExprJoinQuals				/* other conditions deciding a match (AND) */
};

/* One outer row of a batch and what it matched. */
typedef struct LookupJoinRow
{
	MinimalTuple tuple;
	int		   *matches;		/* indexes into the batch's records */
	int			nmatches;
} LookupJoinRow;

/*
 * Execution state.
 */
typedef struct LookupJoinState
{
	CustomScanState css;
	JoinType	jointype;

	/* the scan tuple: where each column comes from */
	int			nscan;
	AttrNumber *outer_map;		/* outer plan resno, or 0 */
	AttrNumber *inner_map;		/* foreign table attnum, or 0 */
	ExprState  *key;
	ExprState  *join_quals;		/* NULL if none */

	/* the foreign table */
	Relation	rel;
	char	   *relname;
	char	   *record_type_utf8;
	CkFdwOptions *options;
	CkFdwColumn *columns;
	int			ncolumns;
	List	   *retrieved_attrs;
	char	   *base_request;
	CkFdwConnection *conn;
	CkFdwRequestInfo info;

	/* the current batch, all in batch_cxt */
	MemoryContext batch_cxt;
	TupleTableSlot *outer_slot; /* holds one row of the batch */
	LookupJoinRow *rows;
	int			nrows;
	char	  **names;			/* sorted, unique, database encoding */
	int			nnames;
	Datum	  **rec_values;		/* per name: the record's columns, or NULL */
	bool	  **rec_nulls;
	int			cur_row;		/* row being emitted */
	int			cur_match;		/* its next match */
	bool		outer_done;

	/* EXPLAIN ANALYZE */
	int64		requests;
	int64		records;
} LookupJoinState;

static set_join_pathlist_hook_type prev_set_join_pathlist_hook = NULL;

static void lookup_join_paths(PlannerInfo *root, RelOptInfo *joinrel,
							  RelOptInfo *outerrel, RelOptInfo *innerrel,
							  JoinType jointype, JoinPathExtraData *extra);
static Plan *lookup_join_plan(PlannerInfo *root, RelOptInfo *rel,
							  CustomPath *best_path, List *tlist,
							  List *clauses, List *custom_plans);
static Node *lookup_join_create_state(CustomScan *cscan);
static void lookup_join_begin(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *lookup_join_exec(CustomScanState *node);
static void lookup_join_end(CustomScanState *node);
static void lookup_join_rescan(CustomScanState *node);
static void lookup_join_explain(CustomScanState *node, List *ancestors,
								ExplainState *es);
static TupleTableSlot *lookup_join_next(ScanState *node);
static bool lookup_join_recheck(ScanState *node, TupleTableSlot *slot);
static bool read_batch(LookupJoinState *state);
static void fetch_records(LookupJoinState *state);
static int	find_name(LookupJoinState *state, const char *name);
static void fill_scan_slot(LookupJoinState *state, LookupJoinRow *row, int rec);

static const CustomPathMethods lookup_join_path_methods = {
	.CustomName = "CloudKit Lookup Join",
	.PlanCustomPath = lookup_join_plan,
};

static const CustomScanMethods lookup_join_scan_methods = {
	.CustomName = "CloudKit Lookup Join",
	.CreateCustomScanState = lookup_join_create_state,
};

static const CustomExecMethods lookup_join_exec_methods = {
	.CustomName = "CloudKit Lookup Join",
	.BeginCustomScan = lookup_join_begin,
	.ExecCustomScan = lookup_join_exec,
	.EndCustomScan = lookup_join_end,
	.ReScanCustomScan = lookup_join_rescan,
	.ExplainCustomScan = lookup_join_explain,
};

/* Called from _PG_init. */
void
ckfdw_lookup_join_init(void)
{
	prev_set_join_pathlist_hook = set_join_pathlist_hook;
	set_join_pathlist_hook = lookup_join_paths;
	RegisterCustomScanMethods(&lookup_join_scan_methods);
}

/*
 * set_join_pathlist_hook: offer a lookup join when the inner relation is a
 * ckfdw table and a join condition equates its record name column with an
 * expression of the outer relation.
 */
static void
lookup_join_paths(PlannerInfo *root, RelOptInfo *joinrel,
				  RelOptInfo *outerrel, RelOptInfo *innerrel,
				  JoinType jointype, JoinPathExtraData *extra)
{
	CkFdwRelationInfo *fpinfo;
	RestrictInfo *lookup = NULL;
	double		names_per_row = 0;
	Path	   *outer_path;
	Bitmapset  *attrs = NULL;
	List	   *all_quals;
	CustomPath *cpath;
	QualCost	qcost;
	double		outer_rows;
	double		requests;
	double		records;
	ListCell   *lc;

	if (prev_set_join_pathlist_hook)
		prev_set_join_pathlist_hook(root, joinrel, outerrel, innerrel,
									jointype, extra);

	if (!ckfdw_enable_lookup || !ckfdw_enable_lookup_join ||
		!ckfdw_is_ckfdw_rel(innerrel))
		return;
	if (jointype != JOIN_INNER && jointype != JOIN_LEFT &&
		jointype != JOIN_SEMI && jointype != JOIN_ANTI)
		return;
	/* plain SELECT; no lateral references, no placeholders to compute */
	if (root->parse->commandType != CMD_SELECT || root->parse->rowMarks != NIL ||
		root->placeholder_list != NIL ||
		!bms_is_empty(innerrel->lateral_relids) ||
		!bms_is_empty(outerrel->lateral_relids))
		return;
	fpinfo = (CkFdwRelationInfo *) innerrel->fdw_private;
	/* a change read, or a table whose scans must read the change feed */
	if (!fpinfo->lookups_ok)
		return;

	/* the lookup condition: record name = expression of the outer rel */
	foreach(lc, extra->restrictlist)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
		Expr	   *names;
		double		nnames;

		if (rinfo->pseudoconstant)
			return;				/* gating quals: not for us */
		if (IS_OUTER_JOIN(jointype) && RINFO_IS_PUSHED_DOWN(rinfo, joinrel->relids))
			continue;			/* a filter above the join, not a match condition */
		if (!ckfdw_lookup_clause(root, innerrel, rinfo, &names, &nnames) ||
			!bms_is_subset(pull_varnos(root, (Node *) names), outerrel->relids))
			continue;
		if (lookup == NULL || nnames < names_per_row)
		{
			lookup = rinfo;
			names_per_row = nnames;
		}
	}
	if (lookup == NULL)
		return;
	foreach(lc, innerrel->baserestrictinfo)
	{
		if (((RestrictInfo *) lfirst(lc))->pseudoconstant)
			return;
	}

	/* whole-row and system columns of the table cannot be joined here */
	all_quals = list_concat_copy(extra->restrictlist, innerrel->baserestrictinfo);
	pull_varattnos((Node *) joinrel->reltarget->exprs, innerrel->relid, &attrs);
	foreach(lc, all_quals)
		pull_varattnos((Node *) ((RestrictInfo *) lfirst(lc))->clause,
					   innerrel->relid, &attrs);
	if (bms_next_member(attrs, -1) >= 0 &&
		bms_next_member(attrs, -1) <= 0 - FirstLowInvalidHeapAttributeNumber)
		return;

	outer_path = outerrel->cheapest_total_path;
	if (outer_path == NULL || PATH_REQ_OUTER(outer_path) != NULL)
		return;

	/*
	 * Costs: the outer rows, one lookup per page_size names, converting the
	 * records found, and the conditions on each joined row.
	 */
	outer_rows = outer_path->rows;
	records = outer_rows * names_per_row;
	requests = Max(1.0, ceil(records / fpinfo->options->page_size));
	cost_qual_eval(&qcost, all_quals, root);

	cpath = makeNode(CustomPath);
	cpath->path.pathtype = T_CustomScan;
	cpath->path.parent = joinrel;
	cpath->path.pathtarget = joinrel->reltarget;
	cpath->path.param_info = NULL;
	cpath->path.parallel_aware = false;
	cpath->path.parallel_safe = false;
	cpath->path.parallel_workers = 0;
	cpath->path.rows = joinrel->rows;
	cpath->path.startup_cost = outer_path->startup_cost + CKFDW_LOOKUP_COST +
		qcost.startup;
	cpath->path.total_cost = outer_path->total_cost + requests * CKFDW_LOOKUP_COST +
		records * (CKFDW_RECORD_COST + qcost.per_tuple) +
		outer_rows * cpu_tuple_cost + joinrel->rows * cpu_tuple_cost;
	cpath->path.pathkeys = NIL;
	cpath->flags = 0;
	cpath->custom_paths = list_make1(outer_path);
	cpath->custom_private = list_make4(lookup, extra->restrictlist,
									   makeInteger(innerrel->relid),
									   makeInteger(jointype));
	cpath->methods = &lookup_join_path_methods;
	add_path(joinrel, &cpath->path);
}

/*
 * Make the CustomScan of a lookup join.
 */
static Plan *
lookup_join_plan(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
				 List *tlist, List *clauses, List *custom_plans)
{
	RestrictInfo *lookup = (RestrictInfo *) linitial(best_path->custom_private);
	List	   *restrictlist = (List *) lsecond(best_path->custom_private);
	Index		inner_relid = (Index) intVal(lthird(best_path->custom_private));
	JoinType	jointype = (JoinType) intVal(lfourth(best_path->custom_private));
	RelOptInfo *innerrel = find_base_rel(root, inner_relid);
	RangeTblEntry *rte = planner_rt_fetch(inner_relid, root);
	Plan	   *outer_plan = (Plan *) linitial(custom_plans);
	CustomScan *cscan = makeNode(CustomScan);
	List	   *join_clauses;
	List	   *other_clauses;
	List	   *join_quals = NIL;
	List	   *scan_tlist = NIL;
	List	   *outer_map = NIL;
	List	   *inner_map = NIL;
	List	   *vars;
	List	   *retrieved_attrs;
	Bitmapset  *attrs_used = NULL;
	Expr	   *names;
	double		nnames;
	char	   *request;
	ListCell   *lc;

	/* which conditions decide a match, which filter joined rows */
	if (IS_OUTER_JOIN(jointype))
		extract_actual_join_clauses(restrictlist, rel->relids,
									&join_clauses, &other_clauses);
	else
	{
		join_clauses = extract_actual_clauses(restrictlist, false);
		other_clauses = NIL;
	}
	foreach(lc, join_clauses)
	{
		if ((Expr *) lfirst(lc) != lookup->clause)
			join_quals = lappend(join_quals, lfirst(lc));
	}
	join_quals = list_concat(join_quals,
							 extract_actual_clauses(innerrel->baserestrictinfo, false));

	if (!ckfdw_lookup_clause(root, innerrel, lookup, &names, &nnames))
		elog(ERROR, "cannot use condition for a CloudKit lookup join");

	/* the scan tuple: the outer plan's output, then the table's columns */
	foreach(lc, outer_plan->targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		scan_tlist = lappend(scan_tlist,
							 makeTargetEntry(copyObject(tle->expr),
											 list_length(scan_tlist) + 1,
											 NULL, false));
		outer_map = lappend_int(outer_map, tle->resno);
		inner_map = lappend_int(inner_map, 0);
	}
	vars = pull_var_clause((Node *) list_make4(tlist, join_quals, other_clauses,
											   list_make2(names, lookup->clause)),
						   PVC_RECURSE_PLACEHOLDERS);
	foreach(lc, vars)
	{
		Var		   *var = (Var *) lfirst(lc);

		if (!IsA(var, Var) || (Index) var->varno != inner_relid || var->varattno <= 0)
			continue;
		if (list_member_int(inner_map, var->varattno))
			continue;
		scan_tlist = lappend(scan_tlist,
							 makeTargetEntry((Expr *) makeVar(var->varno, var->varattno,
															  var->vartype, var->vartypmod,
															  var->varcollid, 0),
											 list_length(scan_tlist) + 1,
											 NULL, false));
		outer_map = lappend_int(outer_map, 0);
		inner_map = lappend_int(inner_map, var->varattno);
		attrs_used = bms_add_member(attrs_used,
									var->varattno - FirstLowInvalidHeapAttributeNumber);
	}

	request = ckfdw_deparse_query(root, innerrel, attrs_used,
								  ((CkFdwRelationInfo *) innerrel->fdw_private)->options->page_size,
								  CKFDW_SCAN_LOOKUP, &retrieved_attrs);

	cscan->scan.plan.targetlist = tlist;
	cscan->scan.plan.qual = other_clauses;
	cscan->scan.scanrelid = 0;
	cscan->flags = best_path->flags;
	cscan->custom_plans = custom_plans;
	cscan->custom_exprs = list_make3(names, lookup->clause,
									 join_quals != NIL ? make_ands_explicit(join_quals) : NULL);
	cscan->custom_private = list_make5(makeInteger((int) rte->relid),
									   makeInteger(jointype),
									   outer_map,
									   inner_map,
									   makeString(request));
	cscan->custom_private = lappend(cscan->custom_private, retrieved_attrs);
	cscan->custom_scan_tlist = scan_tlist;
	cscan->custom_relids = rel->relids;
	cscan->methods = &lookup_join_scan_methods;
	return &cscan->scan.plan;
}

static Node *
lookup_join_create_state(CustomScan *cscan)
{
	LookupJoinState *state = (LookupJoinState *) newNode(sizeof(LookupJoinState),
														 T_CustomScanState);

	state->css.methods = &lookup_join_exec_methods;
	return (Node *) state;
}

/*
 * Start a lookup join: the outer plan, the foreign table's mapping, the
 * CloudKit client.
 */
static void
lookup_join_begin(CustomScanState *node, EState *estate, int eflags)
{
	LookupJoinState *state = (LookupJoinState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	Oid			relid = (Oid) intVal(list_nth(cscan->custom_private, LJPrivateTableOid));
	List	   *outer_map = (List *) list_nth(cscan->custom_private, LJPrivateOuterMap);
	List	   *inner_map = (List *) list_nth(cscan->custom_private, LJPrivateInnerMap);
	Expr	   *join_quals = (Expr *) list_nth(cscan->custom_exprs, LJExprJoinQuals);
	ForeignTable *table;
	ForeignServer *server;
	UserMapping *user;
	Oid			userid = InvalidOid;
	ListCell   *lc;
	int			i;

	node->custom_ps = list_make1(ExecInitNode((Plan *) linitial(cscan->custom_plans),
											  estate, eflags));
	state->jointype = (JoinType) intVal(list_nth(cscan->custom_private, LJPrivateJoinType));
	state->key = ExecInitExpr((Expr *) list_nth(cscan->custom_exprs, LJExprKey),
							  &node->ss.ps);
	state->join_quals = join_quals != NULL ?
		ExecInitQual(list_make1(join_quals), &node->ss.ps) : NULL;

	state->nscan = list_length(outer_map);
	state->outer_map = palloc(sizeof(AttrNumber) * Max(state->nscan, 1));
	state->inner_map = palloc(sizeof(AttrNumber) * Max(state->nscan, 1));
	i = 0;
	foreach(lc, outer_map)
		state->outer_map[i++] = (AttrNumber) lfirst_int(lc);
	i = 0;
	foreach(lc, inner_map)
		state->inner_map[i++] = (AttrNumber) lfirst_int(lc);

	state->outer_slot = ExecInitExtraTupleSlot(estate,
											   ExecGetResultType(linitial(node->custom_ps)),
											   &TTSOpsMinimalTuple);
	state->batch_cxt = AllocSetContextCreate(estate->es_query_cxt,
											 "ckfdw lookup join batch",
											 ALLOCSET_DEFAULT_SIZES);

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	/* the user whose mapping is used: as for the table's own scans */
	i = -1;
	while ((i = bms_next_member(cscan->custom_relids, i)) >= 0)
	{
		RangeTblEntry *rte = exec_rt_fetch(i, estate);

		if (rte->rtekind == RTE_RELATION && rte->relid == relid)
		{
			userid = rte->checkAsUser;
			break;
		}
	}
	if (!OidIsValid(userid))
		userid = GetUserId();

	state->rel = table_open(relid, AccessShareLock);
	state->relname = pstrdup(RelationGetRelationName(state->rel));
	table = GetForeignTable(relid);
	server = GetForeignServer(table->serverid);
	user = GetUserMapping(userid, server->serverid);
	state->options = ckfdw_get_options(server, table, state->rel);
	state->columns = ckfdw_get_columns(state->rel, &state->ncolumns);
	state->record_type_utf8 = ckfdw_to_utf8(state->options->record_type);
	state->retrieved_attrs = (List *) list_nth(cscan->custom_private,
											   LJPrivateRetrievedAttrs);
	state->base_request = strVal(list_nth(cscan->custom_private, LJPrivateRequest));
	state->info.operation = "records/lookup";
	state->info.record_type = state->options->record_type;
	state->info.zone = state->options->zone;
	state->info.relname = state->relname;
	state->conn = ckfdw_get_connection(user, server, state->options);
	ckfdw_asset_reader_attach(state->columns, state->ncolumns, state->conn,
							  state->options, state->relname);
}

static TupleTableSlot *
lookup_join_exec(CustomScanState *node)
{
	return ExecScan(&node->ss, lookup_join_next, lookup_join_recheck);
}

/* No EvalPlanQual for lookup joins (no row marks): nothing to recheck. */
static bool
lookup_join_recheck(ScanState *node, TupleTableSlot *slot)
{
	return true;
}

/*
 * The next joined row, into the scan slot; an empty slot at the end.
 */
static TupleTableSlot *
lookup_join_next(ScanState *ss)
{
	LookupJoinState *state = (LookupJoinState *) ss;
	TupleTableSlot *slot = ss->ss_ScanTupleSlot;
	ExprContext *econtext = ss->ps.ps_ExprContext;

	for (;;)
	{
		LookupJoinRow *row;

		if (state->cur_row >= state->nrows)
		{
			if (state->outer_done || !read_batch(state))
				return ExecClearTuple(slot);
			continue;
		}
		row = &state->rows[state->cur_row];

		/* the first time at this row: which records match it */
		if (state->cur_match < 0)
		{
			int			n = 0;
			int			i;

			for (i = 0; i < row->nmatches; i++)
			{
				fill_scan_slot(state, row, row->matches[i]);
				econtext->ecxt_scantuple = slot;
				if (state->join_quals == NULL ||
					ExecQual(state->join_quals, econtext))
					row->matches[n++] = row->matches[i];
			}
			row->nmatches = n;
			state->cur_match = 0;

			if ((state->jointype == JOIN_LEFT && n == 0) ||
				(state->jointype == JOIN_SEMI && n > 0) ||
				(state->jointype == JOIN_ANTI && n == 0))
			{
				/* the outer row once, without the table's columns */
				fill_scan_slot(state, row, -1);
				state->cur_row++;
				state->cur_match = -1;
				return slot;
			}
			if (state->jointype == JOIN_SEMI || state->jointype == JOIN_ANTI)
			{
				state->cur_row++;
				state->cur_match = -1;
				continue;
			}
		}

		if (state->cur_match < row->nmatches)
		{
			fill_scan_slot(state, row, row->matches[state->cur_match++]);
			return slot;
		}
		state->cur_row++;
		state->cur_match = -1;
	}
}

/*
 * Read the next batch of outer rows (up to page_size) and look up their
 * record names.  False when the outer plan has no more rows.
 */
static bool
read_batch(LookupJoinState *state)
{
	PlanState  *outer = (PlanState *) linitial(state->css.custom_ps);
	ExprContext *econtext = state->css.ss.ps.ps_ExprContext;
	TupleTableSlot *scan_slot = state->css.ss.ss_ScanTupleSlot;
	int			batch = state->options->page_size;
	char	  **all_names;
	int			nall = 0;
	int			cap = batch;
	MemoryContext oldcxt;
	int			i;

	MemoryContextReset(state->batch_cxt);
	state->rows = NULL;
	state->nrows = 0;
	state->cur_row = 0;
	state->cur_match = -1;

	oldcxt = MemoryContextSwitchTo(state->batch_cxt);
	state->rows = palloc0(sizeof(LookupJoinRow) * batch);
	all_names = palloc(sizeof(char *) * cap);

	while (state->nrows < batch && nall < batch)
	{
		TupleTableSlot *outer_slot;
		LookupJoinRow *row;
		Datum		key;
		bool		isnull;
		char	  **row_names = NULL;
		int			nrow_names = 0;

		MemoryContextSwitchTo(oldcxt);
		outer_slot = ExecProcNode(outer);
		MemoryContextSwitchTo(state->batch_cxt);
		if (TupIsNull(outer_slot))
		{
			state->outer_done = true;
			break;
		}
		row = &state->rows[state->nrows++];
		row->tuple = ExecCopySlotMinimalTuple(outer_slot);

		/* the key expression reads the outer columns of the scan slot */
		ExecStoreMinimalTuple(row->tuple, state->outer_slot, false);
		fill_scan_slot(state, row, -1);
		econtext->ecxt_scantuple = scan_slot;
		key = ExecEvalExpr(state->key, econtext, &isnull);
		if (!isnull)
		{
			nrow_names = ckfdw_key_names(key, exprType((Node *) state->key->expr),
										 &row_names);
		}
		/* matches are indexes into the batch's names for now */
		row->matches = palloc(sizeof(int) * Max(nrow_names, 1));
		row->nmatches = nrow_names;
		for (i = 0; i < nrow_names; i++)
		{
			if (nall == cap)
			{
				cap *= 2;
				all_names = repalloc(all_names, sizeof(char *) * cap);
			}
			row->matches[i] = nall;
			all_names[nall++] = row_names[i];
		}
		ResetExprContext(econtext);
	}

	if (state->nrows == 0)
	{
		MemoryContextSwitchTo(oldcxt);
		return false;
	}

	/* the batch's names, sorted and unique */
	state->names = palloc(sizeof(char *) * Max(nall, 1));
	memcpy(state->names, all_names, sizeof(char *) * nall);
	state->nnames = ckfdw_sort_unique_names(state->names, nall);
	state->rec_values = palloc0(sizeof(Datum *) * Max(state->nnames, 1));
	state->rec_nulls = palloc0(sizeof(bool *) * Max(state->nnames, 1));

	/* each row's names become the names' indexes, once each */
	for (i = 0; i < state->nrows; i++)
	{
		LookupJoinRow *row = &state->rows[i];
		int			n = 0;
		int			k;

		for (k = 0; k < row->nmatches; k++)
		{
			int			idx = find_name(state, all_names[row->matches[k]]);
			int			m;
			bool		dup = false;

			for (m = 0; m < n; m++)
			{
				if (row->matches[m] == idx)
					dup = true;
			}
			if (!dup)
				row->matches[n++] = idx;
		}
		row->nmatches = n;
	}

	fetch_records(state);

	/* keep only names a record was found for */
	for (i = 0; i < state->nrows; i++)
	{
		LookupJoinRow *row = &state->rows[i];
		int			n = 0;
		int			k;

		for (k = 0; k < row->nmatches; k++)
		{
			if (state->rec_values[row->matches[k]] != NULL)
				row->matches[n++] = row->matches[k];
		}
		row->nmatches = n;
	}
	MemoryContextSwitchTo(oldcxt);
	return true;
}

/*
 * Look up the batch's names, page_size per request, and convert the records
 * found into rec_values/rec_nulls (in batch_cxt).
 */
static void
fetch_records(LookupJoinState *state)
{
	int			page = state->options->page_size;
	volatile int start;			/* changes between PG_TRYs */

	for (start = 0; start < state->nnames; start += page)
	{
		int			n = Min(page, state->nnames - start);
		char	  **utf8 = palloc(sizeof(char *) * n);
		CkResponse *volatile resp = palloc0(sizeof(CkResponse));
		char	   *body;
		int			i;

		for (i = 0; i < n; i++)
			utf8[i] = ckfdw_to_utf8(state->names[start + i]);
		body = ckfdw_build_lookup_request(state->base_request, utf8, n, NIL, 0);

		/* the response's JSON is freed on success and on error */
		PG_TRY();
		{
			struct json_object *records;

			ckfdw_request(state->conn, "POST", body, true, &state->info,
						  (CkResponse *) resp);
			state->requests += resp->attempts;
			if (resp->json == NULL ||
				!json_object_object_get_ex(resp->json, "records", &records) ||
				!json_object_is_type(records, json_type_array))
				ereport(ERROR,
						(errcode(ERRCODE_PROTOCOL_VIOLATION),
						 errmsg("CloudKit response to the lookup of record type \"%s\" has no \"records\" list",
								state->options->record_type)));

			for (i = 0; i < (int) json_object_array_length(records); i++)
			{
				CkRecord	rec;
				char		err[256];
				int			idx;
				Datum	   *values;
				bool	   *nulls;

				if (!ck_record_parse(json_object_array_get_idx(records, i), &rec,
									 err, sizeof(err)))
					ereport(ERROR,
							(errcode(ckfdw_invalid_record_errcode(&rec)),
							 errmsg("CloudKit sent an invalid record in response to the lookup of record type \"%s\"",
									state->options->record_type),
							 errdetail_internal("%s", err)));
				if (rec.is_error)
				{
					/* a name no record has is no match */
					if (rec.server_error_code != NULL &&
						strcmp(rec.server_error_code, "NOT_FOUND") == 0)
						continue;
					ckfdw_report_record_error(rec.server_error_code, rec.reason,
											  rec.record_name, rec.retry_after,
											  &state->info);
				}
				if (rec.deleted || rec.record_name == NULL || rec.record_type == NULL ||
					strcmp(rec.record_type, state->record_type_utf8) != 0)
					continue;
				idx = find_name(state, ckfdw_from_utf8(rec.record_name,
													   strlen(rec.record_name)));
				if (idx < 0)
					continue;	/* not a name we asked for */
				state->records++;
				values = palloc(sizeof(Datum) * Max(state->ncolumns, 1));
				nulls = palloc(sizeof(bool) * Max(state->ncolumns, 1));
				ckfdw_record_to_values(state->columns, state->ncolumns,
									   state->retrieved_attrs, &rec, state->relname,
									   values, nulls);
				state->rec_values[idx] = values;
				state->rec_nulls[idx] = nulls;
			}
		}
		PG_FINALLY();
		{
			ck_response_clear((CkResponse *) resp);
		}
		PG_END_TRY();
	}
}

/* The index of a name in the batch's sorted names, or -1. */
static int
find_name(LookupJoinState *state, const char *name)
{
	char	  **found = bsearch(&name, state->names, state->nnames,
								sizeof(char *), ckfdw_name_cmp);

	return found ? (int) (found - state->names) : -1;
}

/*
 * The scan slot for an outer row joined with a record (rec >= 0), or with
 * NULLs for the table's columns (rec < 0).
 */
static void
fill_scan_slot(LookupJoinState *state, LookupJoinRow *row, int rec)
{
	TupleTableSlot *slot = state->css.ss.ss_ScanTupleSlot;
	int			i;

	ExecClearTuple(slot);
	ExecStoreMinimalTuple(row->tuple, state->outer_slot, false);
	slot_getallattrs(state->outer_slot);
	for (i = 0; i < state->nscan; i++)
	{
		if (state->outer_map[i] > 0)
		{
			slot->tts_values[i] = state->outer_slot->tts_values[state->outer_map[i] - 1];
			slot->tts_isnull[i] = state->outer_slot->tts_isnull[state->outer_map[i] - 1];
		}
		else if (rec >= 0)
		{
			slot->tts_values[i] = state->rec_values[rec][state->inner_map[i] - 1];
			slot->tts_isnull[i] = state->rec_nulls[rec][state->inner_map[i] - 1];
		}
		else
		{
			slot->tts_values[i] = (Datum) 0;
			slot->tts_isnull[i] = true;
		}
	}
	ExecStoreVirtualTuple(slot);
}

static void
lookup_join_rescan(CustomScanState *node)
{
	LookupJoinState *state = (LookupJoinState *) node;
	PlanState  *outer = (PlanState *) linitial(node->custom_ps);

	/*
	 * The outer plan restarts: now, or at its next row if a parameter it
	 * uses changed (it is not our lefttree, so ExecReScan does not pass
	 * the change on).
	 */
	if (node->ss.ps.chgParam != NULL)
		UpdateChangedParamSet(outer, node->ss.ps.chgParam);
	if (outer->chgParam == NULL)
		ExecReScan(outer);
	MemoryContextReset(state->batch_cxt);
	state->rows = NULL;
	state->nrows = 0;
	state->cur_row = 0;
	state->cur_match = -1;
	state->outer_done = false;
}

static void
lookup_join_end(CustomScanState *node)
{
	LookupJoinState *state = (LookupJoinState *) node;

	ExecEndNode((PlanState *) linitial(node->custom_ps));
	if (state->conn != NULL)
		ckfdw_release_connection(state->conn);
	state->conn = NULL;
	if (state->rel != NULL)
		table_close(state->rel, NoLock);
	state->rel = NULL;
	MemoryContextDelete(state->batch_cxt);
}

/*
 * EXPLAIN: the foreign table, the lookup condition, and with VERBOSE the
 * request, the names shown as ?1 (the keys of the outer rows).
 */
static void
lookup_join_explain(CustomScanState *node, List *ancestors, ExplainState *es)
{
	LookupJoinState *state = (LookupJoinState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	Oid			relid = (Oid) intVal(list_nth(cscan->custom_private, LJPrivateTableOid));
	Relation	rel = table_open(relid, AccessShareLock);
	ForeignTable *table = GetForeignTable(relid);
	ForeignServer *server = GetForeignServer(table->serverid);
	CkFdwOptions *opts = ckfdw_get_options(server, table, rel);
	List	   *context;
	Node	   *join_quals = (Node *) list_nth(cscan->custom_exprs, LJExprJoinQuals);

	context = set_deparse_context_plan(es->deparse_cxt, (Plan *) cscan, ancestors);

	ExplainPropertyText("CloudKit Operation", "records/lookup", es);
	ExplainPropertyText("CloudKit Foreign Table",
						es->verbose ?
						quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												   RelationGetRelationName(rel)) :
						quote_identifier(RelationGetRelationName(rel)),
						es);
	ExplainPropertyText("CloudKit Record Type", opts->record_type, es);
	ExplainPropertyText("CloudKit Lookup Cond",
						deparse_expression((Node *) list_nth(cscan->custom_exprs,
															 LJExprLookupCond),
										   context, true, false),
						es);
	if (join_quals != NULL)
		ExplainPropertyText("Join Filter",
							deparse_expression(join_quals, context, true, false),
							es);
	if (es->verbose)
	{
		char	   *base = strVal(list_nth(cscan->custom_private, LJPrivateRequest));
		char	   *request = ckfdw_build_lookup_request(base, NULL, 0, NIL, 1);

		ExplainPropertyText("CloudKit Request",
							ckfdw_from_utf8(request, strlen(request)), es);
		ExplainPropertyText("CloudKit Parameters",
							psprintf("?1 = %s, of up to %d outer rows per request",
									 deparse_expression((Node *) list_nth(cscan->custom_exprs,
																		  LJExprKey),
														context, true, false),
									 opts->page_size),
							es);
	}
	if (es->analyze)
	{
		ExplainPropertyInteger("CloudKit Requests", NULL, state->requests, es);
		ExplainPropertyInteger("CloudKit Records", NULL, state->records, es);
	}
	table_close(rel, AccessShareLock);
}
