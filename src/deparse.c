/*-------------------------------------------------------------------------
 *
 * deparse.c
 *		  Query deparser for ckfdw
 *
 * This file includes functions that examine query WHERE clauses to see
 * whether they're safe to send to CloudKit for execution, as well as
 * functions to construct the records/query request body, as postgres_fdw's
 * deparse.c does for SQL.
 *
 * The request is built at plan time and carried in the plan, so EXPLAIN
 * VERBOSE shows exactly what the scan sends: recordType, zoneID,
 * resultsLimit (the page size), desiredKeys (only the fields the query
 * needs) and, once conditions are pushed down, filterBy and sortBy.
 *
 * No condition is sent to CloudKit yet: foreign_expr_walker accepts nothing,
 * so every qual is evaluated locally.  Pushdown will be added here, by
 * teaching the walker which expressions CloudKit evaluates exactly as
 * PostgreSQL does and deparse_filter how to write them as filterBy entries.
 *
 * IDENTIFICATION
 *		  src/deparse.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ckfdw_json.h"

#include "access/sysattr.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "utils/rel.h"

#include "ckfdw.h"
#include "ck/ck_query.h"

/*
 * Global context for foreign_expr_walker's search of an expression tree.
 */
typedef struct foreign_glob_cxt
{
	PlannerInfo *root;			/* global planner state */
	RelOptInfo *foreignrel;		/* the foreign relation we are planning for */
	CkFdwRelationInfo *fpinfo;	/* its planner state */
} foreign_glob_cxt;

static bool foreign_expr_walker(Node *node, foreign_glob_cxt *glob_cxt);
static struct json_object *deparse_filters(List *remote_conds, CkFdwRelationInfo *fpinfo);

/*
 * Examine each qual clause in input_conds, and classify them into two
 * groups, which are returned as two lists:
 *	- remote_conds contains expressions that can be evaluated by CloudKit
 *	- local_conds contains expressions that can't be
 */
void
ckfdw_classify_conditions(PlannerInfo *root, RelOptInfo *baserel,
						  List *input_conds,
						  List **remote_conds, List **local_conds)
{
	ListCell   *lc;

	*remote_conds = NIL;
	*local_conds = NIL;

	foreach(lc, input_conds)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);

		if (ckfdw_is_foreign_expr(root, baserel, ri->clause))
			*remote_conds = lappend(*remote_conds, ri);
		else
			*local_conds = lappend(*local_conds, ri);
	}
}

/*
 * Returns true if the given expression can be evaluated by CloudKit with
 * the same result PostgreSQL would compute.
 */
bool
ckfdw_is_foreign_expr(PlannerInfo *root, RelOptInfo *baserel, Expr *expr)
{
	foreign_glob_cxt glob_cxt;

	glob_cxt.root = root;
	glob_cxt.foreignrel = baserel;
	glob_cxt.fpinfo = (CkFdwRelationInfo *) baserel->fdw_private;

	if (!foreign_expr_walker((Node *) expr, &glob_cxt))
		return false;

	/*
	 * An expression that includes mutable functions cannot be sent: its value
	 * at plan time need not be its value at run time.  (Last, because it is
	 * the most expensive check.)
	 */
	if (contain_mutable_functions((Node *) expr))
		return false;

	return true;
}

/*
 * Check if expression is safe to send to CloudKit.
 *
 * CloudKit filters are ANDed comparisons of one field with a value; there is
 * no OR and no expression language.  Until the comparators are mapped, no
 * node is accepted and every condition stays local.
 */
static bool
foreign_expr_walker(Node *node, foreign_glob_cxt *glob_cxt)
{
	if (node == NULL)
		return true;

	switch (nodeTag(node))
	{
		default:

			/*
			 * Not a construct CloudKit can evaluate (or not mapped yet):
			 * PostgreSQL evaluates it on the rows CloudKit returns.
			 */
			return false;
	}
}

/*
 * The filterBy array for the remote conditions, or NULL when there are none.
 * Only expressions foreign_expr_walker accepted get here.
 */
static struct json_object *
deparse_filters(List *remote_conds, CkFdwRelationInfo *fpinfo)
{
	ListCell   *lc;

	if (remote_conds == NIL)
		return NULL;

	foreach(lc, remote_conds)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);

		/* foreign_expr_walker accepts nothing yet, so nothing gets here */
		elog(ERROR, "cannot deparse expression of type %d for CloudKit",
			 (int) nodeTag(ri->clause));
	}
	return NULL;
}

/*
 * Build the records/query body of a scan of baserel: the request the first
 * page is fetched with (later pages add continuationMarker).
 *
 * attrs_used are the columns the query needs; *retrieved_attrs gets their
 * attribute numbers (all columns for a whole-row reference), which the scan
 * fills in, leaving the others NULL.  desiredKeys lists only the fields
 * behind them: system fields come with every record, and an empty list
 * asks for no fields at all.
 */
char *
ckfdw_deparse_query(PlannerInfo *root, RelOptInfo *baserel, List *remote_conds,
					Bitmapset *attrs_used, List **retrieved_attrs)
{
	CkFdwRelationInfo *fpinfo = (CkFdwRelationInfo *) baserel->fdw_private;
	CkFdwOptions *opts = fpinfo->options;
	bool		whole_row;
	List	   *keys = NIL;
	char	   *record_type;
	char	   *zone;
	char	   *zone_owner;
	char	   *result = NULL;
	struct json_object *volatile request = NULL;
	struct json_object *volatile filters = NULL;
	struct json_object *volatile desired = NULL;
	int			i;
	ListCell   *lc;

	whole_row = bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, attrs_used);

	*retrieved_attrs = NIL;
	for (i = 0; i < fpinfo->ncolumns; i++)
	{
		CkFdwColumn *col = &fpinfo->columns[i];
		bool		dup = false;

		if (col->dropped)
			continue;
		if (!whole_row &&
			!bms_is_member(col->attnum - FirstLowInvalidHeapAttributeNumber, attrs_used))
			continue;
		*retrieved_attrs = lappend_int(*retrieved_attrs, col->attnum);
		if (col->system != CKFDW_SYS_NONE)
			continue;
		/* two columns may read the same field */
		foreach(lc, keys)
		{
			if (strcmp((char *) lfirst(lc), col->field_utf8) == 0)
				dup = true;
		}
		if (!dup)
			keys = lappend(keys, col->field_utf8);
	}

	/* everything that can throw happens before json-c allocates */
	record_type = ckfdw_to_utf8(opts->record_type);
	zone = ckfdw_to_utf8(opts->zone);
	zone_owner = opts->zone_owner ? ckfdw_to_utf8(opts->zone_owner) : NULL;

	PG_TRY();
	{
		filters = deparse_filters(remote_conds, fpinfo);
		desired = json_object_new_array();
		foreach(lc, keys)
			json_object_array_add(desired, json_object_new_string((char *) lfirst(lc)));
		request = ck_query_request_new(record_type,
									   ck_zone_id_new(zone, zone_owner),
									   opts->page_size,
									   filters, NULL, desired);
		/* taken over by the request */
		filters = NULL;
		desired = NULL;
		result = pstrdup(json_object_to_json_string_ext(request,
														JSON_C_TO_STRING_PLAIN |
														JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	PG_FINALLY();
	{
		if (request != NULL)
			json_object_put(request);
		if (filters != NULL)
			json_object_put(filters);
		if (desired != NULL)
			json_object_put(desired);
	}
	PG_END_TRY();

	return result;
}
