/*-------------------------------------------------------------------------
 *
 * analyze.c
 *		  ANALYZE of CloudKit foreign tables
 *
 * CloudKit has no count and no statistics, and cannot sample on the server:
 * the only way to learn how many records a record type has is to read them.
 * ANALYZE therefore reads the whole record type with records/query, page by
 * page (page_size records a request, every mapped field), and keeps a
 * reservoir sample of the rows as postgres_fdw's analyze_row_processor does.
 * The records of one page are the only ones in memory: the page (read in
 * place as a scan reads it, scan_page.c) lives in a memory context reset
 * before the next page is requested.
 *
 * PostgreSQL analyzes a foreign table only when it is named (ANALYZE
 * without a table list and autovacuum leave foreign tables alone), so a
 * large record type is read only when someone asks for it.
 *
 * IDENTIFICATION
 *		  src/analyze.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ckfdw_json.h"
#include <math.h>

#include "access/htup_details.h"
#include "commands/vacuum.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/sampling.h"

#include "ckfdw.h"
#include "scan.h"
#include "ck/ck_http.h"
#include "ck/ck_query.h"
#include "ck/ck_record.h"

/* The records/query body, a json-c object freed with its context. */
typedef struct CkFdwAnalyzeRequest
{
	struct json_object *obj;
	MemoryContextCallback cb;
} CkFdwAnalyzeRequest;

/*
 * State of one ANALYZE scan, as postgres_fdw's PgFdwAnalyzeState.
 */
typedef struct CkFdwAnalyzeState
{
	Relation	rel;
	const char *relname;
	CkFdwColumn *columns;		/* indexed by attnum - 1 */
	int			ncolumns;
	List	   *retrieved_attrs;	/* every column */
	Datum	   *values;
	bool	   *nulls;

	/* collected sample rows */
	HeapTuple  *rows;			/* array of size targrows */
	int			targrows;		/* target # of sample rows */
	int			numrows;		/* # of sample rows collected */

	/* for random sampling */
	double		samplerows;		/* # of records read */
	double		rowstoskip;		/* # of records to skip before next sample */
	ReservoirStateData rstate;	/* state for reservoir sampling */

	/* working memory contexts */
	MemoryContext anl_cxt;		/* context for per-analyze lifespan data */
	MemoryContext row_cxt;		/* one record's converted values */
} CkFdwAnalyzeState;

static int	ckfdwAcquireSampleRows(Relation relation, int elevel,
								   HeapTuple *rows, int targrows,
								   double *totalrows,
								   double *totaldeadrows);
static CkFdwAnalyzeRequest *build_request(CkFdwAnalyzeState *astate,
										  CkFdwOptions *options,
										  MemoryContext cxt);
static void analyze_record(CkFdwAnalyzeState *astate, const CkRecord *rec);
static void free_request(void *arg);

/*
 * ckfdwAnalyzeForeignTable
 *		Test whether analyzing this foreign table is supported
 *
 * It always is.  *totalpages is what ANALYZE stores as relpages, and how an
 * inheritance tree's ANALYZE shares out its sample among the children (a
 * child with 0 pages is left out): we cannot know it without reading the
 * records, so it is the records the previous ANALYZE counted in pages of
 * page_size (the requests a scan needs), and 1 before the first.
 */
bool
ckfdwAnalyzeForeignTable(Relation relation,
						 AcquireSampleRowsFunc *func,
						 BlockNumber *totalpages)
{
	ForeignTable *table = GetForeignTable(RelationGetRelid(relation));
	ForeignServer *server = GetForeignServer(table->serverid);
	CkFdwOptions *options = ckfdw_get_options(server, table, relation);
	double		reltuples = relation->rd_rel->reltuples;
	double		pages = 1;

	*func = ckfdwAcquireSampleRows;

	if (reltuples > 0)
		pages = ceil(reltuples / options->page_size);
	*totalpages = (BlockNumber) Min(Max(pages, 1), (double) MaxBlockNumber);

	return true;
}

/*
 * Acquire a random sample of rows from the foreign table
 *
 * Every record of the record type is read; up to targrows of them are kept
 * (Vitter's reservoir algorithm, as in postgres_fdw), converted as a scan
 * converts them.  *totalrows is the number of records read; CloudKit has
 * no dead rows.  The rows are returned in no particular order, so the
 * "correlation" statistic means nothing here (it means nothing for CloudKit
 * anyway: it has no physical order).
 */
static int
ckfdwAcquireSampleRows(Relation relation, int elevel,
					   HeapTuple *rows, int targrows,
					   double *totalrows,
					   double *totaldeadrows)
{
	CkFdwAnalyzeState astate;
	ForeignTable *table;
	ForeignServer *server;
	UserMapping *user;
	CkFdwOptions *options;
	CkFdwConnection *conn;
	CkFdwRequestInfo info;
	CkFdwAnalyzeRequest *request;
	MemoryContext work_cxt;
	MemoryContext page_cxt;
	MemoryContext oldcxt;
	char	   *prev_marker = NULL;
	CkFdwMarkerGuard *markers = NULL;
	int			pages = 0;
	int64		requests = 0;
	int			i;

	memset(&astate, 0, sizeof(astate));
	astate.rel = relation;
	astate.rows = rows;
	astate.targrows = targrows;
	astate.numrows = 0;
	astate.samplerows = 0;
	astate.rowstoskip = -1;		/* -1 means not set yet */
	reservoir_init_selection_state(&astate.rstate, targrows);

	/* the sample rows go in the caller's context; the rest in work_cxt */
	astate.anl_cxt = CurrentMemoryContext;
	work_cxt = AllocSetContextCreate(CurrentMemoryContext,
									 "ckfdw analyze",
									 ALLOCSET_DEFAULT_SIZES);
	page_cxt = AllocSetContextCreate(work_cxt,
									 "ckfdw analyze page",
									 ALLOCSET_DEFAULT_SIZES);
	astate.row_cxt = AllocSetContextCreate(work_cxt,
										   "ckfdw analyze row",
										   ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(work_cxt);

	/*
	 * The table owner's user mapping, as postgres_fdw's ANALYZE: ANALYZE
	 * runs as the owner (or a superuser), whoever issues it.
	 */
	table = GetForeignTable(RelationGetRelid(relation));
	server = GetForeignServer(table->serverid);
	user = GetUserMapping(relation->rd_rel->relowner, table->serverid);
	options = ckfdw_get_options(server, table, relation);

	/* the columns' domain caches live in work_cxt, the current context */
	astate.relname = pstrdup(RelationGetRelationName(relation));
	astate.columns = ckfdw_get_columns(relation, &astate.ncolumns);
	for (i = 0; i < astate.ncolumns; i++)
	{
		/*
		 * Asset content is not downloaded for a sample: every file of the
		 * record type would be.  Such a column samples as NULL.
		 */
		if (!astate.columns[i].dropped && !astate.columns[i].asset_content)
			astate.retrieved_attrs = lappend_int(astate.retrieved_attrs,
												 astate.columns[i].attnum);
	}
	astate.values = palloc(sizeof(Datum) * Max(astate.ncolumns, 1));
	astate.nulls = palloc(sizeof(bool) * Max(astate.ncolumns, 1));

	info.operation = "records/query";
	info.record_type = options->record_type;
	info.zone = options->zone;
	info.relname = astate.relname;

	request = build_request(&astate, options, work_cxt);
	conn = ckfdw_get_connection(user, server, options);

	for (;;)
	{
		CkFdwPage  *page;
		const char *body;
		const char *next_marker;

		CHECK_FOR_INTERRUPTS();

		/* the previous page's records go; the response is freed with them */
		MemoryContextReset(page_cxt);
		MemoryContextSwitchTo(page_cxt);
		page = ckfdw_page_new(page_cxt);

		body = json_object_to_json_string_ext(request->obj,
											  JSON_C_TO_STRING_PLAIN |
											  JSON_C_TO_STRING_NOSLASHESCAPE);
		if (body == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
		ckfdw_request_raw(conn, "POST", body, &info, &page->resp);
		requests += page->resp.attempts;
		pages++;
		ckfdw_page_read(page, "continuationMarker", &info, ckfdw_query_source.noun);

		for (i = 0; i < page->nrecords; i++)
		{
			CkRecord	rec;
			char		err[256];

			/* ANALYZE honours vacuum_cost_delay and checks for interrupts */
			vacuum_delay_point();

			if (!ckfdw_page_record(page, i, false, &rec, err, sizeof(err)))
				ereport(ERROR,
						(errcode(ckfdw_invalid_record_errcode(&rec)),
						 errmsg("CloudKit sent an invalid record in response to the query of record type \"%s\"",
								options->record_type),
						 errdetail_internal("%s", err)));
			/* an error instead of a record is an error, never a gap */
			if (rec.is_error)
				ckfdw_report_record_error(rec.server_error_code, rec.reason,
										  rec.record_name, rec.retry_after,
										  &info);
			/* a query has no tombstones to return; skip any */
			if (rec.deleted)
				continue;

			analyze_record(&astate, &rec);
		}

		/* the marker is present only when more records follow */
		next_marker = ckfdw_page_marker(page, "continuationMarker");
		if (next_marker == NULL)
			break;
		ckfdw_check_next_marker(&markers, work_cxt, next_marker, prev_marker,
								page->nrecords, pages, "continuationMarker",
								ckfdw_query_source.noun, options->record_type);

		/* the marker outlives this page: copy it before the reset */
		MemoryContextSwitchTo(work_cxt);
		if (prev_marker != NULL)
			pfree(prev_marker);
		prev_marker = pstrdup(next_marker);
		ck_query_set_continuation(request->obj, prev_marker);
	}

	ckfdw_release_connection(conn);
	MemoryContextSwitchTo(oldcxt);

	ereport(elevel,
			(errmsg("\"%s\": CloudKit record type \"%s\" has %.0f records (read with %lld requests), %d rows in sample",
					RelationGetRelationName(relation), options->record_type,
					astate.samplerows, (long long) requests, astate.numrows)));

	/* frees the last page's and the request's JSON through their callbacks */
	MemoryContextDelete(work_cxt);

	/* we read every record: the "sample" of pages is the whole table */
	*totalrows = astate.samplerows;
	*totaldeadrows = 0;

	return astate.numrows;
}

/*
 * The records/query body: the whole record type in pages of page_size,
 * with every field a column maps (system columns come with every record).
 */
static CkFdwAnalyzeRequest *
build_request(CkFdwAnalyzeState *astate, CkFdwOptions *options, MemoryContext cxt)
{
	CkFdwAnalyzeRequest *request;
	List	   *keys = NIL;
	char	   *record_type;
	char	   *zone;
	char	   *zone_owner;
	struct json_object *desired;
	ListCell   *lc;
	int			i;

	for (i = 0; i < astate->ncolumns; i++)
	{
		CkFdwColumn *col = &astate->columns[i];

		if (col->dropped || col->system != CKFDW_SYS_NONE)
			continue;
		keys = ckfdw_add_desired_key(keys, col->field_utf8);
	}

	/* everything that can throw happens before json-c allocates */
	record_type = ckfdw_to_utf8(options->record_type);
	zone = ckfdw_to_utf8(options->zone);
	zone_owner = options->zone_owner ? ckfdw_to_utf8(options->zone_owner) : NULL;
	request = MemoryContextAllocZero(cxt, sizeof(CkFdwAnalyzeRequest));

	desired = json_object_new_array();
	if (desired != NULL)
	{
		foreach(lc, keys)
			json_object_array_add(desired, json_object_new_string((char *) lfirst(lc)));
	}
	/* takes over the zone ID and the keys, also when it fails */
	request->obj = ck_query_request_new(record_type, ck_zone_id_new(zone, zone_owner),
										options->page_size, NULL, NULL, desired);
	if (request->obj == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	request->cb.func = free_request;
	request->cb.arg = request;
	MemoryContextRegisterResetCallback(cxt, &request->cb);

	return request;
}

/*
 * Count one record, and keep it in the sample if the reservoir algorithm
 * picks it (postgres_fdw's analyze_row_processor).  Only the records kept
 * are converted.
 */
static void
analyze_record(CkFdwAnalyzeState *astate, const CkRecord *rec)
{
	int			targrows = astate->targrows;
	int			pos;			/* array index to store tuple in */
	MemoryContext oldcxt;

	/* Always increment sample row counter. */
	astate->samplerows += 1;

	/*
	 * Determine the slot where this sample row should be stored.  Set pos to
	 * negative value to indicate the row should be skipped.
	 */
	if (astate->numrows < targrows)
	{
		/* First targrows rows are always included into the sample */
		pos = astate->numrows++;
	}
	else
	{
		/*
		 * Now we start replacing tuples in the sample until we reach the end
		 * of the relation.  Same algorithm as in acquire_sample_rows in
		 * analyze.c; see Jeff Vitter's paper.
		 */
		if (astate->rowstoskip < 0)
			astate->rowstoskip = reservoir_get_next_S(&astate->rstate,
													  astate->samplerows,
													  targrows);

		if (astate->rowstoskip <= 0)
		{
			/* Choose a random reservoir element to replace. */
			pos = (int) (targrows * sampler_random_fract(&astate->rstate.randstate));
			Assert(pos >= 0 && pos < targrows);
			heap_freetuple(astate->rows[pos]);
			astate->rows[pos] = NULL;
		}
		else
		{
			/* Skip this tuple. */
			pos = -1;
		}

		astate->rowstoskip -= 1;
	}

	if (pos >= 0)
	{
		/* the values live until the next record; the tuple until the end */
		MemoryContextReset(astate->row_cxt);
		oldcxt = MemoryContextSwitchTo(astate->row_cxt);
		ckfdw_record_to_values(astate->columns, astate->ncolumns,
							   astate->retrieved_attrs, rec, astate->relname,
							   astate->values, astate->nulls);
		MemoryContextSwitchTo(astate->anl_cxt);
		astate->rows[pos] = heap_form_tuple(RelationGetDescr(astate->rel),
											astate->values, astate->nulls);
		MemoryContextSwitchTo(oldcxt);
	}
}

static void
free_request(void *arg)
{
	CkFdwAnalyzeRequest *request = (CkFdwAnalyzeRequest *) arg;

	if (request->obj != NULL)
		json_object_put(request->obj);
	request->obj = NULL;
}
