/*-------------------------------------------------------------------------
 *
 * range_split.c
 *		  Planning a scan split into range cursors
 *
 * With the table options scan_cursors N (> 1) and split_column, a plain
 * records/query scan is read by up to N cursors at once, each the same
 * query with a range of split_column added: "col < b1", "col >= b1 AND
 * col < b2", ..., "col >= b(N-1)".  The bounds are taken from the column's
 * histogram in pg_statistic (ANALYZE), so that the ranges hold about as
 * many records each.  Every value falls in exactly one range, but a record
 * without the field falls in none (CloudKit has no "is null" filter): the
 * split is made only on a column that cannot be NULL, a system field or a
 * column declared NOT NULL.  Ranges are sent only where CloudKit compares
 * exactly as PostgreSQL does (deparse.c decides, as for any condition).
 * A sorted or limited scan is never split: its order and its first rows
 * are those of one cursor.  Nor is the scan of an UPDATE that changes the
 * split column (one it sets, or a system field every write changes): a
 * record it moves into a range whose cursor has not read it yet would be
 * read, and updated, twice.
 *
 * The executor side is scan_cursors.c; this file only plans.
 *
 * IDENTIFICATION
 *		  src/range_split.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/stratnum.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_statistic.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/restrictinfo.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "ckfdw.h"

static List *plan_ranges(PlannerInfo *root, RelOptInfo *baserel,
						 CkFdwRelationInfo *fpinfo, CkFdwColumn *col,
						 List **fdw_exprs, char **why_not);
static bool updates_column(PlannerInfo *root, RelOptInfo *baserel,
						   CkFdwColumn *col);
static bool column_never_null(Oid relid, CkFdwColumn *col);
static RestrictInfo *bound_clause(PlannerInfo *root, RelOptInfo *baserel,
								  CkFdwColumn *col, Oid opno, Oid collation,
								  Datum value);
static char *range_label(CkFdwColumn *col, Oid typoutput, Datum *lower,
						 Datum *upper);

/*
 * The split of a scan, for the plan's fdw_private (FdwScanPrivateSplit):
 * NIL when the options ask for none.  Bounds are appended to fdw_exprs as
 * constants.
 */
List *
ckfdw_plan_split(PlannerInfo *root, RelOptInfo *baserel,
				 const CkFdwPushdown *pd, List **fdw_exprs)
{
	CkFdwRelationInfo *fpinfo = (CkFdwRelationInfo *) baserel->fdw_private;
	CkFdwOptions *opts = fpinfo->options;
	CkFdwColumn *col = NULL;
	char	   *why_not = NULL;
	List	   *ranges = NIL;
	int			i;

	if (opts->scan_cursors <= 1)
		return NIL;

	if (opts->split_column != NULL)
	{
		for (i = 0; i < fpinfo->ncolumns; i++)
		{
			if (!fpinfo->columns[i].dropped &&
				strcmp(fpinfo->columns[i].attname, opts->split_column) == 0)
				col = &fpinfo->columns[i];
		}
		if (col == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("option \"split_column\" of foreign table \"%s\" names no column: \"%s\"",
							fpinfo->relname, opts->split_column),
					 errhint("Set it to the name of a column of the table (ALTER FOREIGN TABLE ... OPTIONS (SET split_column '...')).")));
	}

	if (col == NULL)
		why_not = "no option \"split_column\"";
	else if (pd->mode != CKFDW_SCAN_QUERY)
		why_not = "the scan is not a query";
	else if (pd->sorts != NIL)
		why_not = "CloudKit sorts the rows";
	else if (pd->has_limit)
		why_not = "CloudKit applies a LIMIT";
	else if (updates_column(root, baserel, col))
		why_not = "the UPDATE changes the split column";
	else
		ranges = plan_ranges(root, baserel, fpinfo, col, fdw_exprs, &why_not);

	return list_make3(makeString(col ? pstrdup(col->attname) : ""),
					  makeString(why_not ? why_not : ""),
					  ranges);
}

/* The split a plan carries (NULL when none was asked for). */
CkFdwSplit *
ckfdw_split_from_list(List *item)
{
	CkFdwSplit *split;
	ListCell   *lc;

	if (item == NIL)
		return NULL;
	split = palloc0(sizeof(CkFdwSplit));
	split->column = strVal(linitial(item));
	split->why_not = strVal(lsecond(item));
	if (split->why_not[0] == '\0')
		split->why_not = NULL;
	foreach(lc, (List *) lthird(item))
	{
		List	   *range = (List *) lfirst(lc);

		split->ranges = lappend(split->ranges,
								ckfdw_pushdown_from_list(linitial(range)));
		split->labels = lappend(split->labels, strVal(lsecond(range)));
	}
	return split;
}

/*
 * The ranges of col: a list of (pushdown with the range's filters, label),
 * or NIL with *why_not saying why there are none.
 */
static List *
plan_ranges(PlannerInfo *root, RelOptInfo *baserel, CkFdwRelationInfo *fpinfo,
			CkFdwColumn *col, List **fdw_exprs, char **why_not)
{
	Oid			relid = fpinfo->table->relid;
	int			ncursors = fpinfo->options->scan_cursors;
	HeapTuple	stats;
	AttStatsSlot sslot;
	Oid			opfamily;
	Oid			opcintype;
	int16		strategy;
	Oid			geop;
	Oid			typoutput;
	bool		typisvarlena;
	FmgrInfo	ltproc;
	Datum	   *bounds;
	int			nbounds = 0;
	List	   *ranges = NIL;
	int			first_expr = list_length(*fdw_exprs);
	int16		vallen;
	bool		valbyval;
	int			i;

	if (col->is_array || (col->system == CKFDW_SYS_NONE && col->any_type))
	{
		*why_not = psprintf("column \"%s\" holds no single comparable value", col->attname);
		return NIL;
	}
	if (!column_never_null(relid, col))
	{
		*why_not = psprintf("column \"%s\" may be NULL, and CloudKit cannot select the records without the field: declare it NOT NULL",
							col->attname);
		return NIL;
	}

	stats = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(relid),
							Int16GetDatum(col->attnum), BoolGetDatum(false));
	if (!HeapTupleIsValid(stats))
	{
		*why_not = psprintf("no statistics of column \"%s\": run ANALYZE", col->attname);
		return NIL;
	}
	if (!get_attstatsslot(&sslot, stats, STATISTIC_KIND_HISTOGRAM, InvalidOid,
						  ATTSTATSSLOT_VALUES) || sslot.nvalues < 2)
	{
		ReleaseSysCache(stats);
		*why_not = psprintf("ANALYZE found too few distinct values of column \"%s\"", col->attname);
		return NIL;
	}

	/* the histogram is in the order of its "<"; ">=" of the same family */
	if (!get_ordering_op_properties(sslot.staop, &opfamily, &opcintype, &strategy) ||
		strategy != BTLessStrategyNumber ||
		!OidIsValid(geop = get_opfamily_member(opfamily, opcintype, opcintype,
											   BTGreaterEqualStrategyNumber)))
	{
		free_attstatsslot(&sslot);
		ReleaseSysCache(stats);
		*why_not = psprintf("column \"%s\" has no btree order", col->attname);
		return NIL;
	}
	fmgr_info(get_opcode(sslot.staop), &ltproc);
	get_typlenbyval(sslot.valuetype, &vallen, &valbyval);

	/* ncursors - 1 distinct bounds at equal steps of the histogram */
	bounds = palloc(sizeof(Datum) * ncursors);
	for (i = 1; i < ncursors; i++)
	{
		int			k = (int) (((int64) i * (sslot.nvalues - 1)) / ncursors);
		Datum		v = sslot.values[k];

		if (k == 0)
			continue;
		if (nbounds > 0 &&
			!DatumGetBool(FunctionCall2Coll(&ltproc, sslot.stacoll,
											bounds[nbounds - 1], v)))
			continue;
		bounds[nbounds++] = datumCopy(v, valbyval, vallen);
	}
	if (nbounds == 0)
	{
		free_attstatsslot(&sslot);
		ReleaseSysCache(stats);
		*why_not = psprintf("ANALYZE found too few distinct values of column \"%s\"", col->attname);
		return NIL;
	}

	getTypeOutputInfo(sslot.valuetype, &typoutput, &typisvarlena);

	/* cursor i reads [bounds[i-1], bounds[i]), the ends open */
	for (i = 0; i <= nbounds; i++)
	{
		List	   *conds = NIL;
		CkFdwPushdown range;
		ListCell   *lc;

		if (i > 0)
			conds = lappend(conds, bound_clause(root, baserel, col, geop,
												sslot.stacoll, bounds[i - 1]));
		if (i < nbounds)
			conds = lappend(conds, bound_clause(root, baserel, col, sslot.staop,
												sslot.stacoll, bounds[i]));
		foreach(lc, conds)
		{
			RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
			bool		recheck = false;

			if (!ckfdw_is_foreign_expr(root, baserel, rinfo->clause, &recheck) ||
				recheck)
			{
				/* forget the bounds already added: nothing is split */
				*fdw_exprs = list_truncate(*fdw_exprs, first_expr);
				free_attstatsslot(&sslot);
				ReleaseSysCache(stats);
				*why_not = psprintf("CloudKit cannot compare ranges of column \"%s\" exactly as PostgreSQL does",
									col->attname);
				return NIL;
			}
		}

		memset(&range, 0, sizeof(range));
		range.mode = CKFDW_SCAN_QUERY;
		range.limit_index = range.offset_index = range.names_index = range.token_index = -1;
		range.filters = ckfdw_deparse_filters(root, baserel, conds, NIL, fdw_exprs);
		foreach(lc, range.filters)
			((CkFdwFilter *) lfirst(lc))->qual_index = -1;	/* in no qual */
		ranges = lappend(ranges,
						 list_make2(ckfdw_pushdown_to_list(&range),
									makeString(range_label(col, typoutput,
														   i > 0 ? &bounds[i - 1] : NULL,
														   i < nbounds ? &bounds[i] : NULL))));
	}

	free_attstatsslot(&sslot);
	ReleaseSysCache(stats);
	return ranges;
}

/*
 * Does an UPDATE of baserel change col: a column it sets, or a system field
 * every write changes?  (PostgreSQL 15 has no MERGE into foreign tables.)
 */
static bool
updates_column(PlannerInfo *root, RelOptInfo *baserel, CkFdwColumn *col)
{
	RangeTblEntry *rte = planner_rt_fetch(baserel->relid, root);

	if (root->parse->commandType != CMD_UPDATE)
		return false;
	if (!bms_is_member(baserel->relid, root->all_result_relids))
		return false;
	if (col->system == CKFDW_SYS_MODIFIED_TIMESTAMP ||
		col->system == CKFDW_SYS_MODIFIED_USER ||
		col->system == CKFDW_SYS_CHANGE_TAG)
		return true;
	if (col->system != CKFDW_SYS_NONE)
		return false;
	return bms_is_member(col->attnum - FirstLowInvalidHeapAttributeNumber,
						 rte->updatedCols);
}

/*
 * Does every record have a value for col?  System fields always do; a
 * column the user declared NOT NULL is taken at its word (as PostgreSQL
 * takes any constraint of a foreign table).
 */
static bool
column_never_null(Oid relid, CkFdwColumn *col)
{
	HeapTuple	tuple;
	bool		notnull;

	if (col->system == CKFDW_SYS_RECORD_NAME ||
		col->system == CKFDW_SYS_CHANGE_TAG ||
		col->system == CKFDW_SYS_CREATED_TIMESTAMP ||
		col->system == CKFDW_SYS_MODIFIED_TIMESTAMP ||
		col->system == CKFDW_SYS_CREATED_USER ||
		col->system == CKFDW_SYS_MODIFIED_USER)
		return true;
	if (col->system != CKFDW_SYS_NONE)
		return false;

	tuple = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid),
							Int16GetDatum(col->attnum));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for attribute %d of relation %u",
			 col->attnum, relid);
	notnull = ((Form_pg_attribute) GETSTRUCT(tuple))->attnotnull;
	ReleaseSysCache(tuple);
	return notnull;
}

/* "col OP value" as a qual of baserel. */
static RestrictInfo *
bound_clause(PlannerInfo *root, RelOptInfo *baserel, CkFdwColumn *col,
			 Oid opno, Oid collation, Datum value)
{
	Oid			lefttype;
	Oid			righttype;
	Var		   *var;
	Const	   *con;
	int16		typlen;
	bool		typbyval;

	op_input_types(opno, &lefttype, &righttype);
	get_typlenbyval(righttype, &typlen, &typbyval);
	var = makeVar(baserel->relid, col->attnum, col->typid, col->typmod,
				  collation, 0);
	con = makeConst(righttype, -1, collation, typlen,
					datumCopy(value, typbyval, typlen), false, typbyval);
	return make_simple_restrictinfo(root,
									make_opclause(opno, BOOLOID, false,
												  (Expr *) var, (Expr *) con,
												  InvalidOid, collation));
}

/* "col >= 10 AND col < 20", for EXPLAIN. */
static char *
range_label(CkFdwColumn *col, Oid typoutput, Datum *lower, Datum *upper)
{
	const char *name = quote_identifier(col->attname);

	if (lower != NULL && upper != NULL)
		return psprintf("%s >= %s AND %s < %s",
						name, quote_literal_cstr(OidOutputFunctionCall(typoutput, *lower)),
						name, quote_literal_cstr(OidOutputFunctionCall(typoutput, *upper)));
	if (lower != NULL)
		return psprintf("%s >= %s", name,
						quote_literal_cstr(OidOutputFunctionCall(typoutput, *lower)));
	return psprintf("%s < %s", name,
					quote_literal_cstr(OidOutputFunctionCall(typoutput, *upper)));
}
