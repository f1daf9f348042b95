/*-------------------------------------------------------------------------
 *
 * scan.h
 *		  The executor side of a foreign scan, and the sources it reads
 *
 * scan.c runs every scan: Begin/Iterate/ReScan/End and EXPLAIN, the
 * run-time values, the page memory context, and the conversion of records
 * into rows.  Where the records come from is a source: records/query
 * (scan_query.c), records/lookup (scan_lookup.c), changes/zone
 * (scan_changes.c).  A source completes the request when the scan starts,
 * fetches one page at a time into the scan state, decides which records of
 * a page are rows, and shows its request in EXPLAIN.  The planner
 * (planner.c) knows nothing of this file.
 *
 * IDENTIFICATION
 *		  src/scan.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CKFDW_SCAN_H
#define CKFDW_SCAN_H

#include "commands/explain.h"
#include "utils/tuplesort.h"

#include "ckfdw.h"
#include "ck/ck_changes.h"
#include "ck/ck_http.h"
#include "ck/ck_page.h"
#include "ck/ck_record.h"

/* One page of records (scan_page.c): the response and the records in it. */
typedef struct CkFdwPage
{
	CkResponse	resp;			/* owns the raw body, or its parsed JSON */
	MemoryContextCallback cb;	/* frees it when its context is reset */
	int			nrecords;

	/* a raw body read in place: no JSON tree */
	bool		raw;
	CkPage		raw_page;		/* where its records are */
	CkRawRecord raw_record;		/* the current one, read in place */
	struct json_object *record_json;	/* or parsed by json-c */

	/* a body the reader declined: json-c's tree (in resp.json) */
	struct json_object *records;	/* its "records" list */
} CkFdwPage;

/*
 * Execution state of a foreign scan.
 */
typedef struct CkFdwScanState
{
	const struct CkScanSource *source;	/* where the records come from */
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
	int			num_records;
	int			next_record;
	const char *marker;			/* continuationMarker of this page, or NULL */
	char	   *prev_marker;	/* the one this page was requested with */
	CkFdwMarkerGuard *markers;	/* the markers this scan has received */
	int			pages_fetched;	/* since the scan (re)started */
	CkFdwPending *ahead;		/* the next page's request, already sent
								 * (read-ahead; in params_cxt) */
	bool		records_as_json;	/* read each record of a raw page with
									 * json-c (asset content columns) */
	bool		all_rows;		/* the query wants every row: read ahead
								 * as soon as a page is in */

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

	/* changes/zone (scan_changes.c) */
	bool		change_read;	/* from a token: tombstones are rows, the
								 * end token is remembered */
	Datum		start_token;	/* text: the syncToken column's value */
	List	   *token_attrs;	/* attnums of syncToken columns fetched */
	char	   *send_token;		/* UTF-8 token of the next request, or NULL */
	char	   *page_token;		/* UTF-8 token where the current page ends */

	/* sorting here after CloudKit refused to */
	Tuplesortstate *sortstate;
	TupleTableSlot *sort_slot;

	/* for EXPLAIN ANALYZE */
	int64		requests;
	int64		records_received;

	/* the scan feeding an UPDATE or DELETE: see modify.c */
	CkFdwRowSource *row_source;

	/* several requests at once (scan_cursors.c, scan_async.c) */
	CkFdwSplit *split;			/* the plan's range cursors, or NULL */
	bool		split_dropped;	/* CloudKit refused the ranges */
	struct CkFdwCursors *cursors;	/* the cursors in flight */
	bool		nowait;			/* async Append: never wait for a page */
	bool		would_block;	/* ... and the next page is not here yet */
} CkFdwScanState;

/*
 * A source of records for a scan.  The scan calls start when it (re)starts
 * with the run-time values in fsstate->params, fetch whenever the current
 * page is used up and fsstate->more (or before the first page), and accept
 * for each record of a page.
 */
typedef struct CkScanSource
{
	/* "records/query": EXPLAIN's CloudKit Operation, errcontext */
	const char *operation;
	/* what the source does, in messages ("query", "lookup") */
	const char *noun;
	/* EXPLAIN's label of the conditions CloudKit evaluates */
	const char *recheck_label;

	/* complete the request for the current parameter values */
	void		(*start) (CkFdwScanState *fsstate);

	/*
	 * Fetch the next page (the first one if none was fetched): read it
	 * (ckfdw_scan_set_body or ckfdw_scan_use_page) and set fsstate->more.
	 */
	void		(*fetch) (CkFdwScanState *fsstate);

	/* is this record of the page a row?  Raises what is an error. */
	bool		(*accept) (CkFdwScanState *fsstate, const CkRecord *rec);

	/* optional: fill in what the record itself does not give */
	void		(*complete_row) (CkFdwScanState *fsstate, const CkRecord *rec,
								 Datum *values, bool *nulls);

	/*
	 * optional: the body asking for the page after the current one (when
	 * fsstate->more), for read-ahead; fetch then takes that page with
	 * ckfdw_scan_take_ahead.
	 */
	const char *(*next_request) (CkFdwScanState *fsstate);
	int			page_flags;		/* CK_REQUEST_* flags of those requests */

	/*
	 * optional: would fetch wait for the network?  (A source that keeps
	 * requests in flight; an async Append asks before fetching.)
	 */
	bool		(*page_waits) (CkFdwScanState *fsstate);

	/* optional: the executor has had every row of every page */
	void		(*finished) (CkFdwScanState *fsstate);

	/*
	 * The request EXPLAIN VERBOSE shows: the planned body completed with
	 * the values known at plan time, the others as placeholders.
	 */
	char	   *(*explain_request) (const char *base, CkFdwPushdown *pd,
									CkFdwParamValues *params,
									CkFdwOptions *opts);
} CkScanSource;

/* in scan.c */
extern void ckfdwBeginForeignScan(ForeignScanState *node, int eflags);
extern TupleTableSlot *ckfdwIterateForeignScan(ForeignScanState *node);
extern void ckfdwReScanForeignScan(ForeignScanState *node);
extern void ckfdwEndForeignScan(ForeignScanState *node);
extern void ckfdwExplainForeignScan(ForeignScanState *node, ExplainState *es);
extern void ckfdw_scan_new_page(CkFdwScanState *fsstate);
extern void ckfdw_scan_forget_page(CkFdwScanState *fsstate);
extern bool ckfdw_scan_take_ahead(CkFdwScanState *fsstate);

/* in scan_page.c */
extern CkFdwPage *ckfdw_page_new(MemoryContext cxt);
extern void ckfdw_page_free(CkFdwPage *page);
extern void ckfdw_page_move(CkFdwPage *dst, CkFdwPage *src);
extern void ckfdw_page_read(CkFdwPage *page, const char *marker_key,
							const CkFdwRequestInfo *info, const char *noun);
extern bool ckfdw_page_read_zone(CkFdwPage *page, const CkFdwRequestInfo *info,
								 const char *noun, CkZoneChanges *z,
								 char *err, size_t errlen);
extern void ckfdw_page_set_records(CkFdwPage *page, struct json_object *obj,
								   const CkFdwRequestInfo *info,
								   const char *noun);
extern const char *ckfdw_page_marker(CkFdwPage *page, const char *marker_key);
extern bool ckfdw_page_record(CkFdwPage *page, int i, bool as_json,
							  CkRecord *rec, char *err, size_t errlen);
extern void ckfdw_scan_use_page(CkFdwScanState *fsstate);
extern void ckfdw_scan_set_body(CkFdwScanState *fsstate, const char *marker_key);
extern bool ckfdw_scan_has_page(CkFdwScanState *fsstate);
extern bool ckfdw_scan_next_record(CkFdwScanState *fsstate, CkRecord *rec,
								   char *err, size_t errlen);

/* in scan_query.c */
extern const CkScanSource ckfdw_query_source;
extern bool ckfdw_query_refused(CkFdwScanState *fsstate, const CkResponse *resp);

/* in scan_cursors.c */
extern const CkScanSource ckfdw_cursor_source;
extern void ckfdw_explain_cursors(CkFdwSplit *split, ExplainState *es);

/* in scan_lookup.c */
extern const CkScanSource ckfdw_lookup_source;

/* in scan_changes.c */
extern const CkScanSource ckfdw_changes_source;

#endif							/* CKFDW_SCAN_H */
