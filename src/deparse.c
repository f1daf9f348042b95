/*-------------------------------------------------------------------------
 *
 * deparse.c
 *		  Query deparser for ckfdw
 *
 * This file includes functions that examine query WHERE clauses and ORDER BY
 * lists to see whether CloudKit can evaluate them, as well as functions to
 * construct the records/query and records/lookup request bodies, as
 * postgres_fdw's deparse.c does for SQL.  The walker (foreign_expr_walker
 * and its helpers) decides; the builder writes filterBy and sortBy entries
 * from what the walker accepted.
 *
 * CloudKit filters are ANDed comparisons of one field with a value: no OR,
 * no expressions.  So a pushable condition is a column compared with a
 * value that does not depend on the row: a constant, a parameter, or a
 * stable expression such as now().  The value goes into the plan's
 * fdw_exprs and is evaluated when the scan starts, so the request is
 * completed at execution (see ckfdw_build_query_request).
 *
 * The rules, which keep results exactly those of local evaluation:
 *
 * - Integers, booleans (INT64 0/1), float8 (finite values: JSON has no NaN
 *   or infinity), timestamps (milliseconds; a bound with microseconds is
 *   rounded the way that keeps the comparison exact), dates (as the range
 *   of milliseconds of the day), references and the system fields are
 *   compared exactly, so their conditions are only sent.
 * - CloudKit's string equality is case-insensitive (the native CKQuery
 *   statement), and how BEGINS_WITH treats case is unconfirmed: =, IN,
 *   LIKE 'prefix%' and list membership of strings are sent (CloudKit then
 *   returns a superset) and rechecked locally.  <> and NOT IN of strings
 *   are not sent: a case-insensitive NOT_EQUALS would drop rows.
 * - Ranges and sorts of strings are sent only under the "C" collation in a
 *   UTF-8 database, where PostgreSQL's order is CloudKit's byte order.
 * - A record without the field matches no CloudKit comparator, NOT_ ones
 *   included, as NULL never satisfies a SQL comparison.  In sorts CloudKit
 *   puts records without the field last when ascending and first when
 *   descending: PostgreSQL's default NULLS LAST / NULLS FIRST, which are the
 *   only orders sent.
 * - A value that cannot be sent exactly (NaN, infinity, NULL, an empty list,
 *   a NULL in NOT IN, a timestamp with microseconds for equality) is not
 *   sent; the scan evaluates that condition itself.
 * - Column options queryable/sortable 'false' keep conditions and sorts
 *   that need that index away from CloudKit.  Without the options the
 *   filter is sent and CloudKit decides; a refusal ("not marked queryable")
 *   makes the scan drop that part of the request and evaluate it locally.
 *
 * IDENTIFICATION
 *		  src/deparse.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ckfdw_json.h"
#include <printbuf.h>
#include <math.h>

#include "access/stratnum.h"
#include "access/sysattr.h"
#include "catalog/pg_am.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "common/shortest_dec.h"
#include "mb/pg_wchar.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/pg_locale.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "ckfdw.h"
#include "ck/ck_changes.h"
#include "ck/ck_query.h"
#include "ck/ck_record.h"

/* Milliseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
#define CKFDW_EPOCH_DIFF_MS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000)
#define CKFDW_MS_PER_DAY	((int64) SECS_PER_DAY * 1000)

/*
 * How a SQL value becomes a CloudKit filter value (CkFdwFilter.kind).
 */
typedef enum CkFdwValueKind
{
	CKFDW_VAL_NONE = 0,			/* the column cannot be filtered */
	CKFDW_VAL_STRING,			/* text -> STRING */
	CKFDW_VAL_REFERENCE,		/* text -> REFERENCE {"recordName"} */
	CKFDW_VAL_INT64,			/* smallint, integer, bigint -> INT64 */
	CKFDW_VAL_BOOL,				/* boolean -> INT64 0/1 */
	CKFDW_VAL_DOUBLE,			/* float8, float4 -> DOUBLE */
	CKFDW_VAL_TIMESTAMP,		/* timestamp(tz) -> TIMESTAMP, rounded per
								 * comparator */
	CKFDW_VAL_DATE_START,		/* date -> TIMESTAMP of its first ms (UTC) */
	CKFDW_VAL_DATE_NEXT,		/* date -> TIMESTAMP of the next day's first */
	CKFDW_VAL_LIKE_PREFIX,		/* LIKE pattern -> STRING, its literal prefix */
	CKFDW_VAL_PREFIX			/* ^@ operand -> STRING */
} CkFdwValueKind;

/* The comparison a condition makes, before mapping to a comparator. */
typedef enum CkFdwSqlOp
{
	SQLOP_EQ,
	SQLOP_NE,
	SQLOP_LT,
	SQLOP_LE,
	SQLOP_GT,
	SQLOP_GE,
	SQLOP_IN,					/* col = ANY(values) */
	SQLOP_NOT_IN,				/* col <> ALL(values) */
	SQLOP_LIST_CONTAINS,		/* value = ANY(col) */
	SQLOP_NOT_LIST_CONTAINS,	/* value <> ALL(col) */
	SQLOP_CONTAINS_ALL,			/* col @> values */
	SQLOP_CONTAINS_ANY,			/* col && values */
	SQLOP_LIKE,					/* col LIKE pattern */
	SQLOP_STARTS_WITH			/* col ^@ prefix */
} CkFdwSqlOp;

/*
 * Global context for foreign_expr_walker's search of an expression tree.
 */
typedef struct foreign_glob_cxt
{
	PlannerInfo *root;			/* global planner state */
	RelOptInfo *foreignrel;		/* the foreign relation we are planning for */
	CkFdwRelationInfo *fpinfo;	/* its planner state */
} foreign_glob_cxt;

/*
 * What the walker found a condition to be: which column, which comparison,
 * which value expression.  The builder turns it into filters.
 */
typedef struct CkFdwCond
{
	CkFdwColumn *col;
	CkFdwValueKind kind;		/* of the column (of its elements, for lists) */
	CkFdwSqlOp op;
	Expr	   *value;			/* evaluated at execution */
	Oid			value_type;		/* scalar type (element type for arrays) */
	bool		recheck;		/* CloudKit may return more rows */
} CkFdwCond;

static bool foreign_expr_walker(Node *node, foreign_glob_cxt *glob_cxt,
								CkFdwCond *cond);
static bool walk_opexpr(OpExpr *oe, foreign_glob_cxt *glob_cxt,
						CkFdwCond *cond);
static bool walk_saop(ScalarArrayOpExpr *saop, foreign_glob_cxt *glob_cxt,
					  CkFdwCond *cond);
static bool walk_bool_column(Node *node, bool value, foreign_glob_cxt *glob_cxt,
							 CkFdwCond *cond);
static CkFdwColumn *column_of(Node *node, foreign_glob_cxt *glob_cxt);
static CkFdwValueKind column_kind(CkFdwColumn *col, bool *is_list);
static bool is_runtime_value(Node *node);
static bool op_is_builtin(Oid opno);
static bool value_type_ok(CkFdwValueKind kind, Oid coltype, Oid valtype);
static bool string_op_ok(CkFdwValueKind kind, CkFdwSqlOp op, Oid collation);
static bool index_allows(foreign_glob_cxt *glob_cxt, CkFdwColumn *col,
						 bool sortable);
static int	cond_filters(CkFdwCond *cond, CkComparator *cmps, int *kinds,
						 bool *list_value);
static bool encode_const_ok(CkFdwCond *cond);
static bool pathkey_sort(foreign_glob_cxt *glob_cxt, PathKey *pk, CkFdwSort *sort);
static bool encode_value(int kind, CkComparator cmp, bool list_value,
						 Oid type, Datum value, bool isnull,
						 struct json_object **out);
static bool encode_scalar(int kind, CkComparator cmp, Oid type, Datum value,
						  struct json_object **out);
static bool like_prefix(const char *pattern, StringInfo prefix);
static CkFieldType wire_type(int kind, bool list_value);
static struct json_object *placeholder_new(int n);
static struct json_object *json_array_of_keys(struct json_object *keys,
											  List *extra_keys);
static char *json_text(struct json_object *obj);
static const char *system_schema_name(const char *system_field);

/*
 * The CloudKit indexes the column options declare, indexed by attnum - 1.
 */
CkFdwColumnIndexes *
ckfdw_column_indexes(Oid relid, CkFdwColumn *columns, int ncolumns)
{
	CkFdwColumnIndexes *indexes;
	int			i;

	indexes = palloc0(sizeof(CkFdwColumnIndexes) * Max(ncolumns, 1));
	for (i = 0; i < ncolumns; i++)
	{
		List	   *options;
		ListCell   *lc;

		if (columns[i].dropped)
			continue;
		options = GetForeignColumnOptions(relid, columns[i].attnum);
		foreach(lc, options)
		{
			DefElem    *def = (DefElem *) lfirst(lc);
			CkFdwIndexOption *opt = NULL;

			if (strcmp(def->defname, "queryable") == 0)
				opt = &indexes[i].queryable;
			else if (strcmp(def->defname, "sortable") == 0)
				opt = &indexes[i].sortable;
			else if (strcmp(def->defname, "searchable") == 0)
				opt = &indexes[i].searchable;
			if (opt != NULL)
				*opt = defGetBoolean(def) ? CKFDW_INDEX_YES : CKFDW_INDEX_NO;
		}
	}
	return indexes;
}

/*
 * Examine each qual clause in input_conds, and classify them into two
 * groups, which are returned as two lists:
 *	- remote_conds contains expressions that can be evaluated by CloudKit
 *	- local_conds contains expressions that PostgreSQL must evaluate
 * A condition CloudKit evaluates more loosely is in both lists.
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
		bool		recheck = false;

		if (ckfdw_enable_filter_pushdown &&
			ckfdw_is_foreign_expr(root, baserel, ri->clause, &recheck))
		{
			*remote_conds = lappend(*remote_conds, ri);
			if (recheck)
				*local_conds = lappend(*local_conds, ri);
		}
		else
			*local_conds = lappend(*local_conds, ri);
	}
}

/*
 * Returns true if CloudKit can evaluate the given condition: exactly, or
 * (*recheck set) returning a superset of the rows, which PostgreSQL then
 * rechecks.
 */
bool
ckfdw_is_foreign_expr(PlannerInfo *root, RelOptInfo *baserel, Expr *expr,
					  bool *recheck)
{
	foreign_glob_cxt glob_cxt;
	CkFdwCond	cond;

	glob_cxt.root = root;
	glob_cxt.foreignrel = baserel;
	glob_cxt.fpinfo = (CkFdwRelationInfo *) baserel->fdw_private;

	memset(&cond, 0, sizeof(cond));
	if (!foreign_expr_walker((Node *) expr, &glob_cxt, &cond))
		return false;

	/* a constant we cannot send exactly (NaN, '{}', ...) stays local */
	if (!encode_const_ok(&cond))
		return false;

	*recheck = cond.recheck;
	return true;
}

/*
 * Check if a condition is safe to send to CloudKit, and fill *cond with
 * what it compares.
 *
 * Unlike postgres_fdw's walker, which accepts whole expression trees, we
 * accept only the shapes CloudKit's comparators express: the top node
 * compares a column with a value, and the value may be any expression that
 * does not depend on the row (is_runtime_value).
 */
static bool
foreign_expr_walker(Node *node, foreign_glob_cxt *glob_cxt, CkFdwCond *cond)
{
	bool		ok;

	if (node == NULL)
		return false;

	switch (nodeTag(node))
	{
		case T_Var:
		case T_RelabelType:
			/* a boolean column by itself: col = true */
			ok = walk_bool_column(node, true, glob_cxt, cond);
			break;
		case T_BoolExpr:
			{
				BoolExpr   *b = (BoolExpr *) node;

				/* NOT col; there is no AND or OR inside a CloudKit filter */
				ok = (b->boolop == NOT_EXPR && list_length(b->args) == 1 &&
					  walk_bool_column(linitial(b->args), false, glob_cxt, cond));
				break;
			}
		case T_BooleanTest:
			{
				BooleanTest *bt = (BooleanTest *) node;

				/* IS TRUE and IS FALSE exclude NULLs, as CloudKit does */
				ok = ((bt->booltesttype == IS_TRUE || bt->booltesttype == IS_FALSE) &&
					  walk_bool_column((Node *) bt->arg,
									   bt->booltesttype == IS_TRUE,
									   glob_cxt, cond));
				break;
			}
		case T_OpExpr:
			ok = walk_opexpr((OpExpr *) node, glob_cxt, cond);
			break;
		case T_ScalarArrayOpExpr:
			ok = walk_saop((ScalarArrayOpExpr *) node, glob_cxt, cond);
			break;
		default:

			/*
			 * Not a construct CloudKit can evaluate: PostgreSQL evaluates it
			 * on the rows CloudKit returns.
			 */
			ok = false;
			break;
	}
	if (!ok)
		return false;

	/* the column's index must not be known to be missing */
	switch (cond->op)
	{
		case SQLOP_LT:
		case SQLOP_LE:
		case SQLOP_GT:
		case SQLOP_GE:
			if (!index_allows(glob_cxt, cond->col, true))
				return false;
			break;
		case SQLOP_EQ:
			/* a date's equality is a range of milliseconds */
			if (!index_allows(glob_cxt, cond->col,
							  cond->kind == CKFDW_VAL_DATE_START))
				return false;
			break;
		default:
			if (!index_allows(glob_cxt, cond->col, false))
				return false;
			break;
	}

	/*
	 * CloudKit's string equality ignores case, and BEGINS_WITH's handling of
	 * case is unconfirmed: it returns at least PostgreSQL's rows, which are
	 * then rechecked.  A LIKE pattern has more than its prefix anyway.
	 */
	cond->recheck = (cond->kind == CKFDW_VAL_STRING);
	return true;
}

/* col = value for a boolean column (stored as INT64 0/1) */
static bool
walk_bool_column(Node *node, bool value, foreign_glob_cxt *glob_cxt,
				 CkFdwCond *cond)
{
	CkFdwColumn *col = column_of(node, glob_cxt);
	bool		is_list;

	if (col == NULL || column_kind(col, &is_list) != CKFDW_VAL_BOOL || is_list)
		return false;
	cond->col = col;
	cond->kind = CKFDW_VAL_BOOL;
	cond->op = SQLOP_EQ;
	cond->value = (Expr *) makeBoolConst(value, false);
	cond->value_type = BOOLOID;
	return true;
}

/*
 * col op value (or value op col, commuted): comparisons, LIKE, ^@, and the
 * array operators @>, <@ and && on list columns.
 */
static bool
walk_opexpr(OpExpr *oe, foreign_glob_cxt *glob_cxt, CkFdwCond *cond)
{
	Node	   *colnode;
	Node	   *value;
	CkFdwColumn *col;
	Oid			opno = oe->opno;
	Oid			opfuncid = oe->opfuncid;
	Oid			coltype;
	Oid			valtype;
	char	   *opname;
	bool		is_list;
	CkFdwValueKind kind;

	if (list_length(oe->args) != 2 || !op_is_builtin(opno))
		return false;

	colnode = linitial(oe->args);
	value = lsecond(oe->args);
	col = column_of(colnode, glob_cxt);
	if (col == NULL)
	{
		/* value op col: use the commutator */
		colnode = lsecond(oe->args);
		value = linitial(oe->args);
		col = column_of(colnode, glob_cxt);
		if (col == NULL)
			return false;
		if (opfuncid == F_ARRAYCONTAINED)
			opfuncid = F_ARRAYCONTAINS; /* values <@ col is col @> values */
		else if (opfuncid != F_ARRAYOVERLAP)
		{
			opno = get_commutator(opno);
			if (!OidIsValid(opno) || !op_is_builtin(opno))
				return false;
			opfuncid = get_opcode(opno);
		}
	}
	else if (opfuncid == F_ARRAYCONTAINED)
		return false;			/* col <@ values: no CloudKit equivalent */

	if (!is_runtime_value(value))
		return false;
	kind = column_kind(col, &is_list);
	if (kind == CKFDW_VAL_NONE)
		return false;

	if (is_list)
	{
		Oid			elemtype;

		/* col @> values, col && values, both arrays of the same type */
		if (opfuncid == F_ARRAYCONTAINS)
			cond->op = SQLOP_CONTAINS_ALL;
		else if (opfuncid == F_ARRAYOVERLAP)
			cond->op = SQLOP_CONTAINS_ANY;
		else
			return false;
		if (exprType(value) != exprType(colnode))
			return false;
		elemtype = get_element_type(exprType(value));
		if (!OidIsValid(elemtype) || !value_type_ok(kind, elemtype, elemtype))
			return false;
		if ((kind == CKFDW_VAL_STRING || kind == CKFDW_VAL_REFERENCE) &&
			!string_op_ok(kind, cond->op, oe->inputcollid))
			return false;
		cond->value_type = elemtype;
	}
	else
	{
		op_input_types(opno, &coltype, &valtype);
		opname = get_opname(opno);
		if (opname == NULL)
			return false;
		if (opfuncid == F_TEXTLIKE)
			cond->op = SQLOP_LIKE;
		else if (opfuncid == F_STARTS_WITH)
			cond->op = SQLOP_STARTS_WITH;
		else if (strcmp(opname, "=") == 0)
			cond->op = SQLOP_EQ;
		else if (strcmp(opname, "<>") == 0)
			cond->op = SQLOP_NE;
		else if (strcmp(opname, "<") == 0)
			cond->op = SQLOP_LT;
		else if (strcmp(opname, "<=") == 0)
			cond->op = SQLOP_LE;
		else if (strcmp(opname, ">") == 0)
			cond->op = SQLOP_GT;
		else if (strcmp(opname, ">=") == 0)
			cond->op = SQLOP_GE;
		else
			return false;

		if (!value_type_ok(kind, coltype, valtype))
			return false;
		switch (kind)
		{
			case CKFDW_VAL_STRING:
				if (!string_op_ok(kind, cond->op, oe->inputcollid))
					return false;
				break;
			case CKFDW_VAL_REFERENCE:
				/* a reference is equal to a record name or not: no order */
				if (cond->op != SQLOP_EQ && cond->op != SQLOP_NE)
					return false;
				if (!string_op_ok(kind, cond->op, oe->inputcollid))
					return false;
				break;
			case CKFDW_VAL_BOOL:
				if (cond->op != SQLOP_EQ && cond->op != SQLOP_NE)
					return false;
				break;
			case CKFDW_VAL_DATE_START:
				/* date <> d would be two ranges ORed */
				if (cond->op == SQLOP_NE)
					return false;
				break;
			default:
				if (cond->op == SQLOP_LIKE || cond->op == SQLOP_STARTS_WITH)
					return false;
				break;
		}
		cond->value_type = valtype;
	}

	cond->col = col;
	cond->kind = kind;
	cond->value = (Expr *) value;
	return true;
}

/*
 * col = ANY(values) (IN), col <> ALL(values) (NOT IN), and on list columns
 * value = ANY(col) (LIST_CONTAINS), value <> ALL(col) (NOT_LIST_CONTAINS).
 */
static bool
walk_saop(ScalarArrayOpExpr *saop, foreign_glob_cxt *glob_cxt, CkFdwCond *cond)
{
	Node	   *left;
	Node	   *right;
	CkFdwColumn *col;
	char	   *opname;
	bool		is_list;
	CkFdwValueKind kind;
	Oid			lefttype;
	Oid			righttype;
	bool		eq_any;
	bool		ne_all;

	if (list_length(saop->args) != 2 || !op_is_builtin(saop->opno))
		return false;
	left = linitial(saop->args);
	right = lsecond(saop->args);
	opname = get_opname(saop->opno);
	if (opname == NULL)
		return false;
	eq_any = (strcmp(opname, "=") == 0 && saop->useOr);
	ne_all = (strcmp(opname, "<>") == 0 && !saop->useOr);
	op_input_types(saop->opno, &lefttype, &righttype);

	col = column_of(left, glob_cxt);
	if (col != NULL)
	{
		kind = column_kind(col, &is_list);
		if (kind == CKFDW_VAL_NONE || is_list || !is_runtime_value(right))
			return false;
		if (eq_any)
			cond->op = SQLOP_IN;
		else if (ne_all)
			cond->op = SQLOP_NOT_IN;
		else
			return false;
		if (!value_type_ok(kind, lefttype, righttype))
			return false;
		cond->value = (Expr *) right;
		cond->value_type = righttype;
	}
	else
	{
		col = column_of(right, glob_cxt);
		if (col == NULL || !is_runtime_value(left))
			return false;
		kind = column_kind(col, &is_list);
		if (kind == CKFDW_VAL_NONE || !is_list)
			return false;
		if (eq_any)
			cond->op = SQLOP_LIST_CONTAINS;
		else if (ne_all)
			cond->op = SQLOP_NOT_LIST_CONTAINS;
		else
			return false;
		/* the operator's inputs are (value, element of col) */
		if (!value_type_ok(kind, righttype, lefttype))
			return false;
		cond->value = (Expr *) left;
		cond->value_type = lefttype;
	}

	/* booleans: = and <> only; dates: ranges only */
	if (kind == CKFDW_VAL_BOOL || kind == CKFDW_VAL_DATE_START)
		return false;
	if ((kind == CKFDW_VAL_STRING || kind == CKFDW_VAL_REFERENCE) &&
		!string_op_ok(kind, cond->op, saop->inputcollid))
		return false;
	cond->col = col;
	cond->kind = kind;
	return true;
}

/*
 * The column a node reads, if it is a plain column of the foreign table
 * (binary-compatible relabelings, such as varchar to text, are looked
 * through).
 */
static CkFdwColumn *
column_of(Node *node, foreign_glob_cxt *glob_cxt)
{
	Var		   *var;
	CkFdwRelationInfo *fpinfo = glob_cxt->fpinfo;

	while (node != NULL && IsA(node, RelabelType))
		node = (Node *) ((RelabelType *) node)->arg;
	if (node == NULL || !IsA(node, Var))
		return NULL;
	var = (Var *) node;
	if ((Index) var->varno != glob_cxt->foreignrel->relid || var->varlevelsup != 0 ||
		var->varattno <= 0 || var->varattno > fpinfo->ncolumns)
		return NULL;
	if (fpinfo->columns[var->varattno - 1].dropped)
		return NULL;
	return &fpinfo->columns[var->varattno - 1];
}

/*
 * How a column's values compare in CloudKit: as which value kind, or not at
 * all (CKFDW_VAL_NONE).  Only columns whose values PostgreSQL reads without
 * changing them qualify: a real column holds rounded doubles, a numeric
 * holds decimal text, char(n) pads, timestamp(0) rounds, jsonb takes any
 * type.  *is_list tells a list field (an array column).
 */
static CkFdwValueKind
column_kind(CkFdwColumn *col, bool *is_list)
{
	Oid			type;

	*is_list = false;
	if (col->dropped)
		return CKFDW_VAL_NONE;

	switch (col->system)
	{
		case CKFDW_SYS_RECORD_NAME:
		case CKFDW_SYS_CREATED_USER:
		case CKFDW_SYS_MODIFIED_USER:
			return (col->basetypid == TEXTOID || col->basetypid == VARCHAROID) ?
				CKFDW_VAL_REFERENCE : CKFDW_VAL_NONE;
		case CKFDW_SYS_CREATED_TIMESTAMP:
		case CKFDW_SYS_MODIFIED_TIMESTAMP:
			if (col->target == CKFDW_TGT_DATE)
				return CKFDW_VAL_DATE_START;
			if (col->input_typmod >= 0 && col->input_typmod < 3)
				return CKFDW_VAL_NONE;
			return CKFDW_VAL_TIMESTAMP;
		case CKFDW_SYS_CHANGE_TAG:
		case CKFDW_SYS_SYNC_TOKEN:
		case CKFDW_SYS_DELETED:
			return CKFDW_VAL_NONE;
		case CKFDW_SYS_NONE:
			break;
	}

	if (col->any_type || col->cktype.is_list != col->is_array)
		return CKFDW_VAL_NONE;
	*is_list = col->is_array;
	type = col->is_array ? col->elemtypid : col->basetypid;

	switch (col->cktype.elem)
	{
		case CK_TYPE_STRING:
		case CK_TYPE_REFERENCE:
			if (type != TEXTOID && type != VARCHAROID)
				return CKFDW_VAL_NONE;
			return col->cktype.elem == CK_TYPE_STRING ?
				CKFDW_VAL_STRING : CKFDW_VAL_REFERENCE;
		case CK_TYPE_INT64:
			if (col->target == CKFDW_TGT_INT8 || col->target == CKFDW_TGT_INT4 ||
				col->target == CKFDW_TGT_INT2)
				return CKFDW_VAL_INT64;
			if (col->target == CKFDW_TGT_BOOL)
				return CKFDW_VAL_BOOL;
			return CKFDW_VAL_NONE;
		case CK_TYPE_DOUBLE:
			return col->target == CKFDW_TGT_FLOAT8 ? CKFDW_VAL_DOUBLE : CKFDW_VAL_NONE;
		case CK_TYPE_TIMESTAMP:
			if (col->target == CKFDW_TGT_DATE)
				return col->is_array ? CKFDW_VAL_NONE : CKFDW_VAL_DATE_START;
			if (col->target != CKFDW_TGT_TIMESTAMPTZ && col->target != CKFDW_TGT_TIMESTAMP)
				return CKFDW_VAL_NONE;
			if (col->input_typmod >= 0 && col->input_typmod < 3)
				return CKFDW_VAL_NONE;
			return CKFDW_VAL_TIMESTAMP;
		default:
			return CKFDW_VAL_NONE;
	}
}

/*
 * A value CloudKit can be sent: it does not depend on the row, and
 * evaluating it once when the scan starts gives what evaluating it for
 * every row would (so no volatile functions).  Vars of other relations only
 * appear in join clauses, which become parameters.
 */
static bool
is_runtime_value(Node *node)
{
	if (contain_var_clause(node))
		return false;
	if (contain_volatile_functions(node))
		return false;
	if (contain_subplans(node))
		return false;
	return true;
}

/* Built-in operators only: their semantics are known (postgres_fdw's rule). */
static bool
op_is_builtin(Oid opno)
{
	return opno < FirstGenbkiObjectId;
}

/*
 * The operator's input types, on the column's side and on the value's, are
 * ones whose comparison CloudKit makes identically.
 */
static bool
value_type_ok(CkFdwValueKind kind, Oid coltype, Oid valtype)
{
	switch (kind)
	{
		case CKFDW_VAL_INT64:
			return (coltype == INT8OID || coltype == INT4OID || coltype == INT2OID) &&
				(valtype == INT8OID || valtype == INT4OID || valtype == INT2OID);
		case CKFDW_VAL_BOOL:
			return coltype == BOOLOID && valtype == BOOLOID;
		case CKFDW_VAL_DOUBLE:
			return coltype == FLOAT8OID && (valtype == FLOAT8OID || valtype == FLOAT4OID);
		case CKFDW_VAL_TIMESTAMP:
			/* timestamp against timestamptz would depend on TimeZone */
			return (coltype == TIMESTAMPTZOID && valtype == TIMESTAMPTZOID) ||
				(coltype == TIMESTAMPOID && valtype == TIMESTAMPOID);
		case CKFDW_VAL_DATE_START:
			return coltype == DATEOID && valtype == DATEOID;
		case CKFDW_VAL_STRING:
		case CKFDW_VAL_REFERENCE:
			return coltype == TEXTOID && valtype == TEXTOID;
		default:
			return false;
	}
}

/*
 * Whether a comparison of strings under this collation can be sent.
 * Equality-like tests need a deterministic collation (then PostgreSQL
 * compares bytes); ranges need "C" in a UTF-8 database (CloudKit orders
 * UTF-8 bytes).  Negations of case-insensitive string equality would drop
 * rows, so they are never sent for strings; references are exact.
 */
static bool
string_op_ok(CkFdwValueKind kind, CkFdwSqlOp op, Oid collation)
{
	if (!OidIsValid(collation))
		return false;
	switch (op)
	{
		case SQLOP_LT:
		case SQLOP_LE:
		case SQLOP_GT:
		case SQLOP_GE:
			return kind == CKFDW_VAL_STRING && lc_collate_is_c(collation) &&
				GetDatabaseEncoding() == PG_UTF8;
		case SQLOP_NE:
		case SQLOP_NOT_IN:
		case SQLOP_NOT_LIST_CONTAINS:
			if (kind != CKFDW_VAL_REFERENCE)
				return false;
			return get_collation_isdeterministic(collation);
		default:
			return get_collation_isdeterministic(collation);
	}
}

/* Is the index the comparison needs not known to be missing? */
static bool
index_allows(foreign_glob_cxt *glob_cxt, CkFdwColumn *col, bool sortable)
{
	CkFdwColumnIndexes *ix = &glob_cxt->fpinfo->indexes[col->attnum - 1];

	return (sortable ? ix->sortable : ix->queryable) != CKFDW_INDEX_NO;
}

/*
 * The filters a condition becomes: their comparators and value kinds, and
 * whether the value is a list.  A date's equality becomes two ranges.
 */
static int
cond_filters(CkFdwCond *cond, CkComparator *cmps, int *kinds, bool *list_value)
{
	bool		date = (cond->kind == CKFDW_VAL_DATE_START);

	kinds[0] = kinds[1] = cond->kind;
	*list_value = false;
	switch (cond->op)
	{
		case SQLOP_EQ:
			if (date)
			{
				cmps[0] = CK_CMP_GREATER_THAN_OR_EQUALS;
				cmps[1] = CK_CMP_LESS_THAN;
				kinds[1] = CKFDW_VAL_DATE_NEXT;
				return 2;
			}
			cmps[0] = CK_CMP_EQUALS;
			return 1;
		case SQLOP_NE:
			cmps[0] = CK_CMP_NOT_EQUALS;
			return 1;
		case SQLOP_LT:
			cmps[0] = CK_CMP_LESS_THAN;
			return 1;
		case SQLOP_LE:
			if (date)
			{
				cmps[0] = CK_CMP_LESS_THAN;
				kinds[0] = CKFDW_VAL_DATE_NEXT;
				return 1;
			}
			cmps[0] = CK_CMP_LESS_THAN_OR_EQUALS;
			return 1;
		case SQLOP_GT:
			if (date)
			{
				cmps[0] = CK_CMP_GREATER_THAN_OR_EQUALS;
				kinds[0] = CKFDW_VAL_DATE_NEXT;
				return 1;
			}
			cmps[0] = CK_CMP_GREATER_THAN;
			return 1;
		case SQLOP_GE:
			cmps[0] = CK_CMP_GREATER_THAN_OR_EQUALS;
			return 1;
		case SQLOP_IN:
			cmps[0] = CK_CMP_IN;
			*list_value = true;
			return 1;
		case SQLOP_NOT_IN:
			cmps[0] = CK_CMP_NOT_IN;
			*list_value = true;
			return 1;
		case SQLOP_LIST_CONTAINS:
			cmps[0] = CK_CMP_LIST_CONTAINS;
			return 1;
		case SQLOP_NOT_LIST_CONTAINS:
			cmps[0] = CK_CMP_NOT_LIST_CONTAINS;
			return 1;
		case SQLOP_CONTAINS_ALL:
			cmps[0] = CK_CMP_LIST_CONTAINS_ALL;
			*list_value = true;
			return 1;
		case SQLOP_CONTAINS_ANY:
			cmps[0] = CK_CMP_LIST_CONTAINS_ANY;
			*list_value = true;
			return 1;
		case SQLOP_LIKE:
			cmps[0] = CK_CMP_BEGINS_WITH;
			kinds[0] = CKFDW_VAL_LIKE_PREFIX;
			return 1;
		case SQLOP_STARTS_WITH:
			cmps[0] = CK_CMP_BEGINS_WITH;
			kinds[0] = CKFDW_VAL_PREFIX;
			return 1;
	}
	return 0;
}

/* Can a constant value be sent?  (Others are checked when the scan starts.) */
static bool
encode_const_ok(CkFdwCond *cond)
{
	CkComparator cmps[2];
	int			kinds[2];
	bool		list_value;
	int			n;
	int			i;
	Const	   *c;

	if (!IsA(cond->value, Const))
		return true;
	c = (Const *) cond->value;
	n = cond_filters(cond, cmps, kinds, &list_value);
	for (i = 0; i < n; i++)
	{
		struct json_object *v = NULL;

		if (!encode_value(kinds[i], cmps[i], list_value, cond->value_type,
						  c->constvalue, c->constisnull, &v))
			return false;
		json_object_put(v);
	}
	return true;
}

/*
 * Is rinfo a condition records/lookup can answer: the record name column
 * equal to a value, or to any of an array of values?  The value may use
 * other relations' columns (a join clause: a parameterized path).
 * *names_expr gets the value, *nnames an estimate of how many names.
 */
bool
ckfdw_lookup_clause(PlannerInfo *root, RelOptInfo *baserel, RestrictInfo *rinfo,
					Expr **names_expr, double *nnames)
{
	foreign_glob_cxt glob_cxt;
	Node	   *clause = (Node *) rinfo->clause;
	CkFdwColumn *col;
	Node	   *value;
	Oid			collation;
	bool		is_list;

	glob_cxt.root = root;
	glob_cxt.foreignrel = baserel;
	glob_cxt.fpinfo = (CkFdwRelationInfo *) baserel->fdw_private;

	if (IsA(clause, OpExpr))
	{
		OpExpr	   *oe = (OpExpr *) clause;

		if (oe->opno != TextEqualOperator || list_length(oe->args) != 2)
			return false;
		col = column_of(linitial(oe->args), &glob_cxt);
		value = lsecond(oe->args);
		if (col == NULL || col->system != CKFDW_SYS_RECORD_NAME)
		{
			col = column_of(lsecond(oe->args), &glob_cxt);
			value = linitial(oe->args);
		}
		collation = oe->inputcollid;
		if (IsA(value, Const))
			*nnames = ((Const *) value)->constisnull ? 0 : 1;
		else
			*nnames = 1;
	}
	else if (IsA(clause, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *saop = (ScalarArrayOpExpr *) clause;

		if (saop->opno != TextEqualOperator || !saop->useOr ||
			list_length(saop->args) != 2)
			return false;
		col = column_of(linitial(saop->args), &glob_cxt);
		value = lsecond(saop->args);
		collation = saop->inputcollid;
		if (IsA(value, Const))
			*nnames = ((Const *) value)->constisnull ? 0 :
				ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(((Const *) value)->constvalue)),
							   ARR_DIMS(DatumGetArrayTypeP(((Const *) value)->constvalue)));
		else if (IsA(value, ArrayExpr))
			*nnames = list_length(((ArrayExpr *) value)->elements);
		else
			*nnames = 10;		/* an array parameter: a guess */
	}
	else
		return false;

	if (col == NULL || col->system != CKFDW_SYS_RECORD_NAME ||
		column_kind(col, &is_list) != CKFDW_VAL_REFERENCE)
		return false;
	/* record names match exactly: PostgreSQL must compare bytes too */
	if (!OidIsValid(collation) || !get_collation_isdeterministic(collation))
		return false;
	/* the value: no column of this table, nothing volatile */
	if (bms_is_member(baserel->relid, pull_varnos(root, value)) ||
		contain_volatile_functions(value) || contain_subplans(value))
		return false;

	*names_expr = (Expr *) value;
	return true;
}

/*
 * Is rinfo a change read's starting point: the syncToken column equal to a
 * value known when the scan starts (a constant, a parameter, a scalar
 * subquery's result, a stable expression)?  *token_expr gets the value.
 */
bool
ckfdw_token_clause(PlannerInfo *root, RelOptInfo *baserel, RestrictInfo *rinfo,
				   Expr **token_expr)
{
	foreign_glob_cxt glob_cxt;
	OpExpr	   *oe;
	CkFdwColumn *col;
	Node	   *value;

	glob_cxt.root = root;
	glob_cxt.foreignrel = baserel;
	glob_cxt.fpinfo = (CkFdwRelationInfo *) baserel->fdw_private;

	if (!IsA(rinfo->clause, OpExpr))
		return false;
	oe = (OpExpr *) rinfo->clause;
	if (oe->opno != TextEqualOperator || list_length(oe->args) != 2)
		return false;
	col = column_of(linitial(oe->args), &glob_cxt);
	value = lsecond(oe->args);
	if (col == NULL || col->system != CKFDW_SYS_SYNC_TOKEN)
	{
		col = column_of(lsecond(oe->args), &glob_cxt);
		value = linitial(oe->args);
	}
	if (col == NULL || col->system != CKFDW_SYS_SYNC_TOKEN)
		return false;
	/* tokens match exactly */
	if (!OidIsValid(oe->inputcollid) || !get_collation_isdeterministic(oe->inputcollid))
		return false;
	/* the value: no column of any relation, nothing volatile */
	if (!bms_is_empty(pull_varnos(root, value)) ||
		contain_volatile_functions(value) || contain_subplans(value))
		return false;

	*token_expr = (Expr *) value;
	return true;
}

/*
 * Can CloudKit return the rows in the order of these pathkeys?
 */
bool
ckfdw_pathkeys_pushable(PlannerInfo *root, RelOptInfo *baserel, List *pathkeys)
{
	foreign_glob_cxt glob_cxt;
	ListCell   *lc;

	if (pathkeys == NIL)
		return false;
	glob_cxt.root = root;
	glob_cxt.foreignrel = baserel;
	glob_cxt.fpinfo = (CkFdwRelationInfo *) baserel->fdw_private;
	foreach(lc, pathkeys)
	{
		CkFdwSort	sort;

		if (!pathkey_sort(&glob_cxt, (PathKey *) lfirst(lc), &sort))
			return false;
	}
	return true;
}

/*
 * The sortBy entries for pathkeys ckfdw_pathkeys_pushable accepted.
 */
List *
ckfdw_deparse_sorts(PlannerInfo *root, RelOptInfo *baserel, List *pathkeys)
{
	foreign_glob_cxt glob_cxt;
	List	   *sorts = NIL;
	ListCell   *lc;

	glob_cxt.root = root;
	glob_cxt.foreignrel = baserel;
	glob_cxt.fpinfo = (CkFdwRelationInfo *) baserel->fdw_private;
	foreach(lc, pathkeys)
	{
		CkFdwSort  *sort = palloc0(sizeof(CkFdwSort));

		if (!pathkey_sort(&glob_cxt, (PathKey *) lfirst(lc), sort))
			elog(ERROR, "cannot send sort key to CloudKit");
		sorts = lappend(sorts, sort);
	}
	return sorts;
}

/*
 * One pathkey as a CloudKit sort: a column of this table whose CloudKit
 * order is PostgreSQL's (numbers, booleans, timestamps; strings only under
 * "C"), in the type's default btree order, with NULLs where CloudKit puts
 * records without the field (last ascending, first descending).
 */
static bool
pathkey_sort(foreign_glob_cxt *glob_cxt, PathKey *pk, CkFdwSort *sort)
{
	EquivalenceClass *ec = pk->pk_eclass;
	CkFdwColumn *col = NULL;
	Oid			exprtype = InvalidOid;
	Oid			opclass;
	Oid			sortop;
	bool		is_list;
	bool		ascending;
	ListCell   *lc;

	if (ec->ec_has_volatile)
		return false;
	if (pk->pk_strategy != BTLessStrategyNumber &&
		pk->pk_strategy != BTGreaterStrategyNumber)
		return false;
	foreach(lc, ec->ec_members)
	{
		EquivalenceMember *em = (EquivalenceMember *) lfirst(lc);

		if (em->em_is_child || em->em_is_const ||
			!bms_equal(em->em_relids, glob_cxt->foreignrel->relids))
			continue;
		col = column_of((Node *) em->em_expr, glob_cxt);
		if (col != NULL)
		{
			exprtype = exprType((Node *) em->em_expr);
			break;
		}
	}
	if (col == NULL)
		return false;

	switch (column_kind(col, &is_list))
	{
		case CKFDW_VAL_INT64:
		case CKFDW_VAL_BOOL:
		case CKFDW_VAL_DOUBLE:
		case CKFDW_VAL_TIMESTAMP:
			break;
		case CKFDW_VAL_STRING:
			if (!lc_collate_is_c(ec->ec_collation) ||
				GetDatabaseEncoding() != PG_UTF8)
				return false;
			break;
		default:
			/* references, dates (many per value), lists: not sortable */
			return false;
	}
	if (is_list || !index_allows(glob_cxt, col, true))
		return false;

	opclass = GetDefaultOpClass(exprtype, BTREE_AM_OID);
	if (!OidIsValid(opclass) || get_opclass_family(opclass) != pk->pk_opfamily)
		return false;
	ascending = (pk->pk_strategy == BTLessStrategyNumber);
	if (pk->pk_nulls_first != !ascending)
		return false;
	sortop = get_opfamily_member(pk->pk_opfamily, exprtype, exprtype,
								 pk->pk_strategy);
	if (!OidIsValid(sortop))
		return false;

	sort->field = col->system != CKFDW_SYS_NONE ?
		pstrdup(ckfdw_system_field_name(col->system)) : col->field_utf8;
	sort->is_system = (col->system != CKFDW_SYS_NONE);
	sort->ascending = ascending;
	sort->attnum = col->attnum;
	sort->sortop = sortop;
	sort->collation = ec->ec_collation;
	sort->nulls_first = pk->pk_nulls_first;
	return true;
}

/*
 * The filterBy entries for remote_conds (conditions ckfdw_is_foreign_expr
 * accepted, in the order of the plan's fdw_recheck_quals).  Their values
 * are appended to *fdw_exprs.  recheck_conds are those also in the plan's
 * qual.
 */
List *
ckfdw_deparse_filters(PlannerInfo *root, RelOptInfo *baserel,
					  List *remote_conds, List *recheck_conds,
					  List **fdw_exprs)
{
	foreign_glob_cxt glob_cxt;
	List	   *filters = NIL;
	ListCell   *lc;
	int			qual_index = 0;

	glob_cxt.root = root;
	glob_cxt.foreignrel = baserel;
	glob_cxt.fpinfo = (CkFdwRelationInfo *) baserel->fdw_private;

	foreach(lc, remote_conds)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
		CkFdwCond	cond;
		CkComparator cmps[2];
		int			kinds[2];
		bool		list_value;
		int			n;
		int			i;
		int			expr_index;

		memset(&cond, 0, sizeof(cond));
		if (!foreign_expr_walker((Node *) rinfo->clause, &glob_cxt, &cond))
			elog(ERROR, "cannot send condition to CloudKit");

		expr_index = list_length(*fdw_exprs);
		*fdw_exprs = lappend(*fdw_exprs, cond.value);

		n = cond_filters(&cond, cmps, kinds, &list_value);
		for (i = 0; i < n; i++)
		{
			CkFdwFilter *f = palloc0(sizeof(CkFdwFilter));
			CkFdwColumn *col = cond.col;

			f->is_system = (col->system != CKFDW_SYS_NONE);
			f->field = f->is_system ?
				pstrdup(ckfdw_system_field_name(col->system)) : col->field_utf8;
			f->comparator = cmps[i];
			f->kind = kinds[i];
			f->list_value = list_value;
			f->expr_index = expr_index;
			f->value_type = cond.value_type;
			f->qual_index = qual_index;
			f->attnum = col->attnum;
			f->recheck = list_member_ptr(recheck_conds, rinfo);
			f->needs_sortable = (cmps[i] == CK_CMP_LESS_THAN ||
								 cmps[i] == CK_CMP_LESS_THAN_OR_EQUALS ||
								 cmps[i] == CK_CMP_GREATER_THAN ||
								 cmps[i] == CK_CMP_GREATER_THAN_OR_EQUALS);
			filters = lappend(filters, f);
		}
		qual_index++;
	}
	return filters;
}

/*
 * Build the base request of a scan of baserel: for records/query, the body
 * the first page is fetched with, before filters and sorts are added (see
 * ckfdw_build_query_request); for records/lookup, the body without the
 * record names.
 *
 * attrs_used are the columns the query needs; *retrieved_attrs gets their
 * attribute numbers (all columns for a whole-row reference), which the scan
 * fills in, leaving the others NULL.  desiredKeys lists only the fields
 * behind them: system fields come with every record, and an empty list
 * asks for no fields at all.
 */
char *
ckfdw_deparse_query(PlannerInfo *root, RelOptInfo *baserel,
					Bitmapset *attrs_used, int results_limit,
					CkFdwScanMode mode, List **retrieved_attrs)
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
	struct json_object *volatile desired = NULL;
	int			i;
	ListCell   *lc;

	whole_row = bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, attrs_used);

	*retrieved_attrs = NIL;
	for (i = 0; i < fpinfo->ncolumns; i++)
	{
		CkFdwColumn *col = &fpinfo->columns[i];

		if (col->dropped)
			continue;
		if (!whole_row &&
			!bms_is_member(col->attnum - FirstLowInvalidHeapAttributeNumber, attrs_used))
			continue;
		*retrieved_attrs = lappend_int(*retrieved_attrs, col->attnum);
		if (col->system != CKFDW_SYS_NONE)
			continue;
		keys = ckfdw_add_desired_key(keys, col->field_utf8);
	}

	/* everything that can throw happens before json-c allocates */
	record_type = ckfdw_to_utf8(opts->record_type);
	zone = ckfdw_to_utf8(opts->zone);
	zone_owner = opts->zone_owner ? ckfdw_to_utf8(opts->zone_owner) : NULL;

	PG_TRY();
	{
		desired = json_object_new_array();
		foreach(lc, keys)
			json_object_array_add(desired, json_object_new_string((char *) lfirst(lc)));
		if (mode == CKFDW_SCAN_LOOKUP)
		{
			request = json_object_new_object();
			json_object_object_add(request, "zoneID", ck_zone_id_new(zone, zone_owner));
			json_object_object_add(request, "desiredKeys", desired);
		}
		else if (mode == CKFDW_SCAN_CHANGES)
		{
			/* the scan adds the zone's syncToken (ck_changes_request) */
			request = ck_changes_request_new(ck_zone_id_new(zone, zone_owner),
											 record_type, results_limit, desired);
		}
		else
			request = ck_query_request_new(record_type,
										   ck_zone_id_new(zone, zone_owner),
										   results_limit, NULL, NULL, desired);
		/* taken over by the request */
		desired = NULL;
		result = json_text(request);
	}
	PG_FINALLY();
	{
		if (request != NULL)
			json_object_put(request);
		if (desired != NULL)
			json_object_put(desired);
	}
	PG_END_TRY();

	return result;
}

/*
 * Plan-private form of a CkFdwPushdown: nested Lists of value nodes, so
 * that copyObject and EXPLAIN of a cached plan work.  The positions are
 * fixed by the order below.
 */
List *
ckfdw_pushdown_to_list(const CkFdwPushdown *pd)
{
	List	   *filters = NIL;
	List	   *sorts = NIL;
	ListCell   *lc;

	foreach(lc, pd->filters)
	{
		CkFdwFilter *f = (CkFdwFilter *) lfirst(lc);

		List	   *item;

		item = list_make5(makeString(pstrdup(f->field)),
						  makeBoolean(f->is_system),
						  makeInteger(f->comparator),
						  makeInteger(f->kind),
						  makeBoolean(f->list_value));
		item = lappend(item, makeInteger(f->expr_index));
		item = lappend(item, makeInteger((int) f->value_type));
		item = lappend(item, makeInteger(f->qual_index));
		item = lappend(item, makeInteger(f->attnum));
		item = lappend(item, makeBoolean(f->recheck));
		item = lappend(item, makeBoolean(f->needs_sortable));
		filters = lappend(filters, item);
	}
	foreach(lc, pd->sorts)
	{
		CkFdwSort  *s = (CkFdwSort *) lfirst(lc);
		List	   *item;

		item = list_make4(makeString(pstrdup(s->field)),
						  makeBoolean(s->is_system),
						  makeBoolean(s->ascending),
						  makeInteger(s->attnum));
		item = lappend(item, makeInteger((int) s->sortop));
		item = lappend(item, makeInteger((int) s->collation));
		item = lappend(item, makeBoolean(s->nulls_first));
		sorts = lappend(sorts, item);
	}
	return list_make5(makeInteger(pd->mode),
					  filters,
					  sorts,
					  list_make3(makeBoolean(pd->has_limit),
								 makeInteger(pd->limit_index),
								 makeInteger(pd->offset_index)),
					  list_make2(makeInteger(pd->names_index),
								 makeInteger(pd->token_index)));
}

CkFdwPushdown *
ckfdw_pushdown_from_list(List *list)
{
	CkFdwPushdown *pd = palloc0(sizeof(CkFdwPushdown));
	List	   *limit;
	ListCell   *lc;

	pd->mode = (CkFdwScanMode) intVal(list_nth(list, 0));
	foreach(lc, (List *) list_nth(list, 1))
	{
		List	   *item = (List *) lfirst(lc);
		CkFdwFilter *f = palloc0(sizeof(CkFdwFilter));

		f->field = strVal(list_nth(item, 0));
		f->is_system = boolVal(list_nth(item, 1));
		f->comparator = intVal(list_nth(item, 2));
		f->kind = intVal(list_nth(item, 3));
		f->list_value = boolVal(list_nth(item, 4));
		f->expr_index = intVal(list_nth(item, 5));
		f->value_type = (Oid) intVal(list_nth(item, 6));
		f->qual_index = intVal(list_nth(item, 7));
		f->attnum = (AttrNumber) intVal(list_nth(item, 8));
		f->recheck = boolVal(list_nth(item, 9));
		f->needs_sortable = boolVal(list_nth(item, 10));
		pd->filters = lappend(pd->filters, f);
	}
	foreach(lc, (List *) list_nth(list, 2))
	{
		List	   *item = (List *) lfirst(lc);
		CkFdwSort  *s = palloc0(sizeof(CkFdwSort));

		s->field = strVal(list_nth(item, 0));
		s->is_system = boolVal(list_nth(item, 1));
		s->ascending = boolVal(list_nth(item, 2));
		s->attnum = (AttrNumber) intVal(list_nth(item, 3));
		s->sortop = (Oid) intVal(list_nth(item, 4));
		s->collation = (Oid) intVal(list_nth(item, 5));
		s->nulls_first = boolVal(list_nth(item, 6));
		pd->sorts = lappend(pd->sorts, s);
	}
	limit = (List *) list_nth(list, 3);
	pd->has_limit = boolVal(list_nth(limit, 0));
	pd->limit_index = intVal(list_nth(limit, 1));
	pd->offset_index = intVal(list_nth(limit, 2));
	pd->names_index = intVal(linitial((List *) list_nth(list, 4)));
	pd->token_index = intVal(lsecond((List *) list_nth(list, 4)));
	return pd;
}

/*
 * The records/query body a scan sends: the planned base request with its
 * filters (values from params, or placeholders for EXPLAIN), sorts, results
 * limit, and extra desiredKeys.
 *
 * refused (may be NULL) marks filters CloudKit refused; filter_off (may be
 * NULL) gets the filters not sent: refused ones, and those whose value
 * cannot be sent exactly (the scan evaluates those conditions itself).
 * sorts_off leaves sortBy out.  results_limit <= 0 keeps the planned one.
 */
char *
ckfdw_build_query_request(const char *base, const CkFdwPushdown *pd,
						  const CkFdwParamValues *params,
						  const bool *refused, bool *filter_off,
						  bool sorts_off, List *extra_keys, int results_limit)
{
	struct json_object *volatile request = NULL;
	char	   *result = NULL;

	PG_TRY();
	{
		struct json_object *query;
		struct json_object *keys;
		struct json_object *filters = json_object_new_array();
		ListCell   *lc;
		int			i = 0;

		request = json_tokener_parse(base);
		if (request == NULL ||
			!json_object_object_get_ex(request, "query", &query))
			elog(ERROR, "could not parse the planned CloudKit request");
		json_object_object_add(query, "filterBy", filters);

		foreach(lc, pd->filters)
		{
			CkFdwFilter *f = (CkFdwFilter *) lfirst(lc);
			struct json_object *value = NULL;
			bool		off = (refused != NULL && refused[i]);

			if (!off)
			{
				if (params->unknown != NULL && params->unknown[f->expr_index])
					value = placeholder_new(f->expr_index + 1);
				else if (!encode_value(f->kind, (CkComparator) f->comparator,
									   f->list_value, f->value_type,
									   params->values[f->expr_index],
									   params->nulls[f->expr_index], &value))
					off = true;
			}
			if (filter_off != NULL)
				filter_off[i] = off;
			if (!off)
				json_object_array_add(filters,
									  ck_filter_new(f->field, f->is_system,
													(CkComparator) f->comparator,
													ck_field_value_new(wire_type(f->kind,
																				 f->list_value),
																	   value)));
			i++;
		}
		if (json_object_array_length(filters) == 0)
			json_object_object_del(query, "filterBy");

		if (!sorts_off && pd->sorts != NIL)
		{
			struct json_object *sorts = json_object_new_array();

			json_object_object_add(query, "sortBy", sorts);
			foreach(lc, pd->sorts)
			{
				CkFdwSort  *s = (CkFdwSort *) lfirst(lc);

				json_object_array_add(sorts, ck_sort_new(s->field, s->is_system,
														 s->ascending));
			}
		}

		if (results_limit > 0)
			json_object_object_add(request, "resultsLimit",
								   json_object_new_int(results_limit));
		if (extra_keys != NIL &&
			json_object_object_get_ex(request, "desiredKeys", &keys))
			json_array_of_keys(keys, extra_keys);

		result = json_text(request);
	}
	PG_FINALLY();
	{
		if (request != NULL)
			json_object_put(request);
	}
	PG_END_TRY();

	return result;
}

/*
 * The changes/zone body of a change read: the planned base request with the
 * zone's syncToken (UTF-8; NULL: none, from the zone's beginning), or with a
 * placeholder (?n) instead when placeholder > 0.
 */
char *
ckfdw_build_changes_request(const char *base, const char *token, int placeholder)
{
	struct json_object *volatile parsed = NULL;
	struct json_object *volatile request = NULL;
	char	   *result = NULL;

	PG_TRY();
	{
		parsed = json_tokener_parse(base);
		request = ck_changes_request_with_token(parsed,
												placeholder > 0 ? "?" : token);
		if (request == NULL)
			elog(ERROR, "could not parse the planned CloudKit request");
		if (placeholder > 0)
		{
			struct json_object *zones;

			json_object_object_get_ex(request, "zones", &zones);
			json_object_object_add(json_object_array_get_idx(zones, 0),
								   "syncToken", placeholder_new(placeholder));
		}
		result = json_text(request);
	}
	PG_FINALLY();
	{
		if (request != NULL)
			json_object_put(request);
		if (parsed != NULL)
			json_object_put(parsed);
	}
	PG_END_TRY();

	return result;
}

/*
 * The records/lookup body for some record names (UTF-8), or with a
 * placeholder (?n) instead of them when placeholder > 0.
 */
char *
ckfdw_build_lookup_request(const char *base, char **names, int nnames,
						   List *extra_keys, int placeholder)
{
	struct json_object *volatile parsed = NULL;
	struct json_object *volatile request = NULL;
	char	   *result = NULL;

	PG_TRY();
	{
		struct json_object *zone;
		struct json_object *keys;
		struct json_object *records;
		int			i;

		parsed = json_tokener_parse(base);
		if (parsed == NULL ||
			!json_object_object_get_ex(parsed, "zoneID", &zone) ||
			!json_object_object_get_ex(parsed, "desiredKeys", &keys))
			elog(ERROR, "could not parse the planned CloudKit request");

		/* zoneID, records, desiredKeys: in the order Apple documents */
		request = json_object_new_object();
		json_object_object_add(request, "zoneID", json_object_get(zone));
		if (placeholder > 0)
			records = placeholder_new(placeholder);
		else
		{
			records = json_object_new_array();
			for (i = 0; i < nnames; i++)
			{
				struct json_object *r = json_object_new_object();

				json_object_object_add(r, "recordName", json_object_new_string(names[i]));
				json_object_array_add(records, r);
			}
		}
		json_object_object_add(request, "records", records);
		json_object_object_add(request, "desiredKeys", json_object_get(keys));
		if (extra_keys != NIL)
			json_array_of_keys(keys, extra_keys);
		result = json_text(request);
	}
	PG_FINALLY();
	{
		if (request != NULL)
			json_object_put(request);
		if (parsed != NULL)
			json_object_put(parsed);
	}
	PG_END_TRY();

	return result;
}

/*
 * Encode a filter value; false when it cannot be sent exactly.  Lists drop
 * NULL elements where SQL ignores them (IN, &&) and refuse them where SQL
 * would never be true (NOT IN, @>).  An empty list is refused.
 */
static bool
encode_value(int kind, CkComparator cmp, bool list_value, Oid type,
			 Datum value, bool isnull, struct json_object **out)
{
	ArrayType  *arr;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *elem_nulls;
	int			nelems;
	volatile int i;
	struct json_object *volatile list;

	*out = NULL;
	if (isnull)
		return false;
	if (!list_value)
		return encode_scalar(kind, cmp, type, value, out);

	arr = DatumGetArrayTypeP(value);
	if (ARR_ELEMTYPE(arr) != type)
		return false;
	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, type, typlen, typbyval, typalign,
					  &elems, &elem_nulls, &nelems);
	for (i = 0; i < nelems; i++)
	{
		if (elem_nulls[i] && cmp != CK_CMP_IN && cmp != CK_CMP_LIST_CONTAINS_ANY)
			return false;
	}

	/* json-c allocates with malloc: free the list if encoding throws */
	list = json_object_new_array();
	PG_TRY();
	{
		for (i = 0; i < nelems; i++)
		{
			struct json_object *v;

			if (elem_nulls[i])
				continue;
			if (!encode_scalar(kind, CK_CMP_EQUALS, type, elems[i], &v))
				break;
			json_object_array_add(list, v);
		}
	}
	PG_CATCH();
	{
		json_object_put(list);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (i < nelems || json_object_array_length(list) == 0)
	{
		json_object_put(list);
		return false;
	}
	*out = list;
	return true;
}

/*
 * Encode one scalar value.  Timestamps are milliseconds: a bound with
 * microseconds is rounded in the direction that keeps a range exact
 * (ts < x.5 ms is ts < x+1 ms), and refused for equality.
 */
static bool
encode_scalar(int kind, CkComparator cmp, Oid type, Datum value,
			  struct json_object **out)
{
	*out = NULL;
	switch (kind)
	{
		case CKFDW_VAL_STRING:
		case CKFDW_VAL_REFERENCE:
		case CKFDW_VAL_PREFIX:
		case CKFDW_VAL_LIKE_PREFIX:
			{
				char	   *s = TextDatumGetCString(value);
				char	   *utf8;

				if (kind == CKFDW_VAL_LIKE_PREFIX)
				{
					StringInfoData prefix;

					initStringInfo(&prefix);
					if (!like_prefix(s, &prefix))
						return false;
					s = prefix.data;
				}
				if ((kind == CKFDW_VAL_PREFIX || kind == CKFDW_VAL_LIKE_PREFIX) &&
					s[0] == '\0')
					return false;	/* every string begins with "" */
				utf8 = ckfdw_to_utf8(s);
				if (kind == CKFDW_VAL_REFERENCE)
					*out = ck_reference_new(utf8, NULL);
				else
					*out = json_object_new_string(utf8);
				return true;
			}
		case CKFDW_VAL_INT64:
			{
				int64		n;

				if (type == INT8OID)
					n = DatumGetInt64(value);
				else if (type == INT4OID)
					n = DatumGetInt32(value);
				else if (type == INT2OID)
					n = DatumGetInt16(value);
				else
					return false;
				*out = json_object_new_int64(n);
				return true;
			}
		case CKFDW_VAL_BOOL:
			*out = json_object_new_int64(DatumGetBool(value) ? 1 : 0);
			return true;
		case CKFDW_VAL_DOUBLE:
			{
				double		d;
				char		buf[DOUBLE_SHORTEST_DECIMAL_LEN + 2];

				if (type == FLOAT8OID)
					d = DatumGetFloat8(value);
				else if (type == FLOAT4OID)
					d = (double) DatumGetFloat4(value);
				else
					return false;
				/* JSON has no NaN or infinity; CloudKit holds neither */
				if (isnan(d) || isinf(d))
					return false;
				double_to_shortest_decimal_buf(d, buf);
				if (strpbrk(buf, ".eE") == NULL)
					strcat(buf, ".0");
				*out = json_object_new_double_s(d, buf);
				return true;
			}
		case CKFDW_VAL_TIMESTAMP:
			{
				int64		us;
				int64		rem;
				int64		ms;

				if (type != TIMESTAMPTZOID && type != TIMESTAMPOID)
					return false;
				us = DatumGetInt64(value);
				if (TIMESTAMP_NOT_FINITE(us))
					return false;
				us += CKFDW_EPOCH_DIFF_MS * 1000;
				rem = us % 1000;
				if (rem < 0)
					rem += 1000;
				ms = (us - rem) / 1000;
				if (rem != 0)
				{
					switch (cmp)
					{
						case CK_CMP_LESS_THAN:
						case CK_CMP_GREATER_THAN_OR_EQUALS:
							ms++;	/* ceiling */
							break;
						case CK_CMP_LESS_THAN_OR_EQUALS:
						case CK_CMP_GREATER_THAN:
							break;	/* floor */
						default:
							return false;	/* no millisecond equals it */
					}
				}
				*out = json_object_new_int64(ms);
				return true;
			}
		case CKFDW_VAL_DATE_START:
		case CKFDW_VAL_DATE_NEXT:
			{
				DateADT		d;
				int64		days;

				if (type != DATEOID)
					return false;
				d = DatumGetDateADT(value);
				if (DATE_NOT_FINITE(d))
					return false;
				days = (int64) d + (kind == CKFDW_VAL_DATE_NEXT ? 1 : 0);
				*out = json_object_new_int64(days * CKFDW_MS_PER_DAY + CKFDW_EPOCH_DIFF_MS);
				return true;
			}
	}
	return false;
}

/*
 * The literal prefix of a LIKE pattern (backslash escapes, as ESCAPE
 * clauses are rewritten to by like_escape): up to the first unescaped % or
 * _.  False for a pattern ending in an escape (which LIKE rejects).
 */
static bool
like_prefix(const char *pattern, StringInfo prefix)
{
	const char *p = pattern;

	while (*p)
	{
		int			len;

		if (*p == '%' || *p == '_')
			break;
		if (*p == '\\')
		{
			p++;
			if (*p == '\0')
				return false;
		}
		len = pg_mblen(p);
		appendBinaryStringInfo(prefix, p, len);
		p += len;
	}
	return true;
}

/* The wire type of a filter value. */
static CkFieldType
wire_type(int kind, bool list_value)
{
	CkFieldType t;

	switch (kind)
	{
		case CKFDW_VAL_REFERENCE:
			t.elem = CK_TYPE_REFERENCE;
			break;
		case CKFDW_VAL_INT64:
		case CKFDW_VAL_BOOL:
			t.elem = CK_TYPE_INT64;
			break;
		case CKFDW_VAL_DOUBLE:
			t.elem = CK_TYPE_DOUBLE;
			break;
		case CKFDW_VAL_TIMESTAMP:
		case CKFDW_VAL_DATE_START:
		case CKFDW_VAL_DATE_NEXT:
			t.elem = CK_TYPE_TIMESTAMP;
			break;
		default:
			t.elem = CK_TYPE_STRING;
			break;
	}
	t.is_list = list_value;
	return t;
}

/* json-c serializer of a placeholder: its text, unquoted (?1) */
static int
placeholder_to_json(struct json_object *jso, struct printbuf *pb, int level,
					int flags)
{
	const char *s = json_object_get_string(jso);

	return printbuf_memappend(pb, s, strlen(s));
}

/* A value shown as ?n in EXPLAIN: fdw_exprs item n, known at execution */
static struct json_object *
placeholder_new(int n)
{
	char		buf[32];
	struct json_object *obj;

	snprintf(buf, sizeof(buf), "?%d", n);
	obj = json_object_new_string(buf);
	json_object_set_serializer(obj, placeholder_to_json, NULL, NULL);
	return obj;
}

/* Append extra_keys (UTF-8 field names) to a desiredKeys array, once each. */
static struct json_object *
json_array_of_keys(struct json_object *keys, List *extra_keys)
{
	ListCell   *lc;

	foreach(lc, extra_keys)
	{
		const char *key = (const char *) lfirst(lc);
		size_t		i;
		bool		dup = false;

		for (i = 0; i < json_object_array_length(keys); i++)
		{
			if (strcmp(json_object_get_string(json_object_array_get_idx(keys, i)),
					   key) == 0)
				dup = true;
		}
		if (!dup)
			json_object_array_add(keys, json_object_new_string(key));
	}
	return keys;
}

/* A json-c object as text in palloc'd memory. */
static char *
json_text(struct json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj,
												   JSON_C_TO_STRING_PLAIN |
												   JSON_C_TO_STRING_NOSLASHESCAPE);

	if (s == NULL)
		elog(ERROR, "could not serialize a CloudKit request");
	return pstrdup(s);
}

/*
 * If a CloudKit error detail says a field a request filters or sorts on
 * lacks an index ("Field 'x' is not marked queryable"), or does not exist
 * ("Did not find field: 'x' in type: 'T'"), return the field and which:
 * CKFDW_REFUSED_QUERYABLE, _SORTABLE or _UNKNOWN.
 */
bool
ckfdw_index_refusal(const char *detail, char **field, int *refusal)
{
	const char *start;
	const char *end;

	if (detail == NULL)
		return false;

	start = strstr(detail, "Did not find field: '");
	if (start != NULL)
	{
		start += strlen("Did not find field: '");
		end = strstr(start, "' in type");
		if (end == NULL)
			return false;
		*refusal = CKFDW_REFUSED_UNKNOWN;
		*field = pnstrdup(start, end - start);
		return true;
	}

	start = strstr(detail, "Field '");
	if (start == NULL)
		return false;
	start += strlen("Field '");
	end = strstr(start, "' is not marked ");
	if (end == NULL)
		return false;
	if (strncmp(end + strlen("' is not marked "), "queryable", 9) == 0)
		*refusal = CKFDW_REFUSED_QUERYABLE;
	else if (strncmp(end + strlen("' is not marked "), "sortable", 8) == 0)
		*refusal = CKFDW_REFUSED_SORTABLE;
	else
		return false;
	*field = pnstrdup(start, end - start);
	return true;
}

/*
 * Does a field name in a CloudKit error mean this filter's or sort's field?
 * System fields are named by their schema names (___createTime) there.
 */
bool
ckfdw_field_matches(const char *refused, const char *field, bool is_system)
{
	if (strcmp(refused, field) == 0)
		return true;
	if (is_system)
	{
		const char *schema = system_schema_name(field);

		return schema != NULL && strcmp(refused, schema) == 0;
	}
	return false;
}

/* The schema name of a system field (fact sheet section 4.2). */
static const char *
system_schema_name(const char *system_field)
{
	static const char *const names[][2] = {
		{"recordName", "___recordID"},
		{"createdTimestamp", "___createTime"},
		{"modifiedTimestamp", "___modTime"},
		{"createdUserRecordName", "___createdBy"},
		{"modifiedUserRecordName", "___modifiedBy"},
	};
	size_t		i;

	for (i = 0; i < lengthof(names); i++)
	{
		if (strcmp(names[i][0], system_field) == 0)
			return names[i][1];
	}
	return NULL;
}

/*
 * Add a field to a desiredKeys list once: two columns may read the same
 * field.
 */
List *
ckfdw_add_desired_key(List *keys, const char *field)
{
	ListCell   *lc;

	foreach(lc, keys)
	{
		if (strcmp((char *) lfirst(lc), field) == 0)
			return keys;
	}
	return lappend(keys, (char *) field);
}
