/*-------------------------------------------------------------------------
 *
 * ckfdw.c
 *		  Foreign-data wrapper for Apple CloudKit Web Services
 *
 * The module: its settings, and the handler that hands PostgreSQL the
 * callbacks of the files that implement them -- planning (planner.c),
 * scans (scan.c and its sources scan_query.c, scan_lookup.c), writes
 * (modify.c), IMPORT FOREIGN SCHEMA (import.c) and ANALYZE (analyze.c).
 * Nothing calls back into this file.
 *
 * IDENTIFICATION
 *		  src/ckfdw.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "foreign/fdwapi.h"
#include "utils/guc.h"

#include "ckfdw.h"
#include "scan.h"

PG_MODULE_MAGIC;

/* GUCs */
bool		ckfdw_log_requests = false;
bool		ckfdw_read_ahead = true;
bool		ckfdw_enable_filter_pushdown = true;
bool		ckfdw_enable_sort_pushdown = true;
bool		ckfdw_enable_limit_pushdown = true;
bool		ckfdw_enable_lookup = true;
bool		ckfdw_enable_lookup_join = true;
int			ckfdw_max_writes_in_flight = 8;

PG_FUNCTION_INFO_V1(ckfdw_handler);

void		_PG_init(void);

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

	DefineCustomBoolVariable("ckfdw.read_ahead",
							 "Requests a scan's next page while the current one is read.",
							 "The next page is then on the wire while this one is converted: "
							 "at most two pages are held. Scans with a LIMIT do not read ahead.",
							 &ckfdw_read_ahead,
							 true,
							 PGC_USERSET,
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

	DefineCustomIntVariable("ckfdw.max_writes_in_flight",
							"Sets how many records/modify requests a statement keeps in flight.",
							"INSERT, UPDATE, DELETE and COPY send their batches without waiting for "
							"the answer to the one before, up to this many at once. 1 sends one "
							"batch at a time.",
							&ckfdw_max_writes_in_flight,
							8, 1, 32,
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

	/* async Append (scan_async.c) */
	routine->IsForeignPathAsyncCapable = ckfdwIsForeignPathAsyncCapable;
	routine->ForeignAsyncRequest = ckfdwForeignAsyncRequest;
	routine->ForeignAsyncConfigureWait = ckfdwForeignAsyncConfigureWait;
	routine->ForeignAsyncNotify = ckfdwForeignAsyncNotify;

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
