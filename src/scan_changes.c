/*-------------------------------------------------------------------------
 *
 * scan_changes.c
 *		  changes/zone as a source of a scan: full reads and change reads
 *
 * A scan of a custom zone of the private or shared database can read the
 * zone's change feed (planner.c decides when): changes/zone for the
 * table's record type and the columns used, paging while moreComing with
 * the syncToken each answer returns.
 *
 * Without a token condition this is a full read: the records of the type,
 * tombstones dropped.  With "syncToken column = value" it is a change read
 * from that token ('' means from the zone's beginning): every record
 * created or changed since, and every record deleted since as a tombstone
 * (the deleted column true, the record name set, every other column NULL).
 * Every row carries the start token in the syncToken column, so that the
 * condition holds when PostgreSQL rechecks it.
 *
 * The token to store for the next run is kept per foreign table in this
 * backend (ckfdw_sync_token): the token at which the latest change read of
 * the table ended (full reads leave it alone: a count(*) between the job's
 * MERGE and its token update must not move it past what the MERGE saw), precisely where the last page whose rows the executor
 * has all had ends.  A scan stopped early (LIMIT, an error, a cancel) thus
 * never lets a job skip rows: reading again from that token returns some
 * rows twice at worst, which a MERGE applies harmlessly.
 *
 * A per-zone error inside an HTTP 200 answer (a dead token, a deleted
 * zone) is an error, never an empty or partial result.
 *
 * IDENTIFICATION
 *		  src/scan_changes.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ckfdw.h"
#include "scan.h"
#include "ck/ck_changes.h"
#include "ck/ck_error.h"

/* The token at which a table's latest change read ended (see above). */
typedef struct SyncTokenEntry
{
	Oid			relid;			/* hash key: the foreign table */
	char	   *token;			/* UTF-8, in TopMemoryContext */
} SyncTokenEntry;

static HTAB *sync_tokens = NULL;

static void changes_start(CkFdwScanState *fsstate);
static void changes_fetch(CkFdwScanState *fsstate);
static const char *changes_next_request(CkFdwScanState *fsstate);
static bool changes_accept(CkFdwScanState *fsstate, const CkRecord *rec);
static void changes_complete_row(CkFdwScanState *fsstate, const CkRecord *rec,
								 Datum *values, bool *nulls);
static void changes_finished(CkFdwScanState *fsstate);
static char *changes_explain_request(const char *base, CkFdwPushdown *pd,
									 CkFdwParamValues *params,
									 CkFdwOptions *opts);
static void remember_token(Oid relid, const char *token);
static void report_zone_error(CkFdwScanState *fsstate, const CkZoneChanges *z)
			pg_attribute_noreturn();

const CkScanSource ckfdw_changes_source = {
	.operation = "changes/zone",
	.noun = "change read",
	.recheck_label = "CloudKit Changes Since",
	.start = changes_start,
	.fetch = changes_fetch,
	.accept = changes_accept,
	.complete_row = changes_complete_row,
	.next_request = changes_next_request,
	.page_flags = CK_REQUEST_IDEMPOTENT | CK_REQUEST_RAW_BODY | CK_REQUEST_FIRST,
	.finished = changes_finished,
	.explain_request = changes_explain_request,
};

PG_FUNCTION_INFO_V1(ckfdw_sync_token);

/*
 * The scan starts with the current parameter values: the start token, and
 * the table's remembered token reset to it (nothing of this read has been
 * had yet).
 */
static void
changes_start(CkFdwScanState *fsstate)
{
	CkFdwPushdown *pd = fsstate->pushdown;
	MemoryContext oldcxt = MemoryContextSwitchTo(fsstate->params_cxt);
	char	   *start = "";
	ListCell   *lc;

	fsstate->change_read = (pd->token_index >= 0);
	if (pd->token_index >= 0)
	{
		if (fsstate->params.nulls[pd->token_index])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the sync token of a change read of foreign table \"%s\" is NULL",
							fsstate->relname),
					 errhint("Use '' to read the zone's changes from its beginning.")));
		start = TextDatumGetCString(fsstate->params.values[pd->token_index]);
	}
	fsstate->start_token = CStringGetTextDatum(start);

	/* the syncToken columns the scan fills in */
	fsstate->token_attrs = NIL;
	foreach(lc, fsstate->fetch_attrs)
	{
		int			attnum = lfirst_int(lc);

		if (fsstate->columns[attnum - 1].system == CKFDW_SYS_SYNC_TOKEN)
			fsstate->token_attrs = lappend_int(fsstate->token_attrs, attnum);
	}
	fsstate->local_checks = NIL;
	MemoryContextSwitchTo(oldcxt);

	/* tokens outlive a restart's parameters: they live in scan_cxt */
	if (fsstate->send_token != NULL)
		pfree(fsstate->send_token);
	fsstate->send_token = start[0] != '\0' ?
		MemoryContextStrdup(fsstate->scan_cxt, ckfdw_to_utf8(start)) : NULL;
	if (fsstate->page_token != NULL)
		pfree(fsstate->page_token);
	fsstate->page_token = NULL;

	if (fsstate->change_read)
		remember_token(RelationGetRelid(fsstate->rel),
					   fsstate->send_token != NULL ? fsstate->send_token : "");
}

/*
 * Fetch the next page: from the start token, or from where the previous
 * page ended.  Being asked for the next page means the executor has had
 * every row of the previous one: its end is now the table's token.
 */
static void
changes_fetch(CkFdwScanState *fsstate)
{
	CkZoneChanges z;
	char		err[256];
	char	   *body;

	if (fsstate->page_token != NULL)
	{
		if (fsstate->change_read)
			remember_token(RelationGetRelid(fsstate->rel), fsstate->page_token);
		if (fsstate->send_token != NULL)
			pfree(fsstate->send_token);
		fsstate->send_token = fsstate->page_token;
		fsstate->page_token = NULL;
	}

	if (!ckfdw_scan_take_ahead(fsstate))
	{
		body = ckfdw_build_changes_request(fsstate->base_request,
										   fsstate->send_token, 0);
		ckfdw_scan_new_page(fsstate);
		ckfdw_request_raw(fsstate->conn, "POST", body, &fsstate->info,
						  &fsstate->page->resp);
		pfree(body);
	}
	fsstate->pages_fetched++;
	fsstate->requests += fsstate->page->resp.attempts;

	if (!ckfdw_page_read_zone(fsstate->page, &fsstate->info,
							  ckfdw_changes_source.noun, &z, err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("CloudKit sent an invalid answer to the change read of record type \"%s\"",
						fsstate->options->record_type),
				 errdetail_internal("%s", err)));
	if (z.is_error)
		report_zone_error(fsstate, &z);

	ckfdw_scan_use_page(fsstate);

	if (z.more_coming)
		ckfdw_check_next_marker(&fsstate->markers, fsstate->scan_cxt,
								z.sync_token, fsstate->send_token, z.nrecords,
								fsstate->pages_fetched, "syncToken",
								"change read", fsstate->options->record_type);

	fsstate->page_token = MemoryContextStrdup(fsstate->scan_cxt, z.sync_token);
	fsstate->more = z.more_coming;
}

/* The next page starts where this one ends (for read-ahead). */
static const char *
changes_next_request(CkFdwScanState *fsstate)
{
	return ckfdw_build_changes_request(fsstate->base_request,
									   fsstate->page_token, 0);
}

/*
 * Live records of the table's type are rows; tombstones are rows of a
 * change read only.  CloudKit sends tombstones without a record type, so a
 * change read also returns those of the zone's other types, if CloudKit
 * sends them: their names match no record of this type.
 */
static bool
changes_accept(CkFdwScanState *fsstate, const CkRecord *rec)
{
	if (rec->is_error)
		ckfdw_report_record_error(rec->server_error_code, rec->reason,
								  rec->record_name, rec->retry_after,
								  &fsstate->info);
	if (rec->deleted)
		return fsstate->change_read && rec->record_name != NULL;
	/* desiredRecordTypes asked for ours only; any other is not a row */
	return rec->record_type != NULL &&
		strcmp(rec->record_type, fsstate->record_type_utf8) == 0;
}

/* Every row carries the start token: the condition holds on recheck. */
static void
changes_complete_row(CkFdwScanState *fsstate, const CkRecord *rec,
					 Datum *values, bool *nulls)
{
	ListCell   *lc;

	foreach(lc, fsstate->token_attrs)
	{
		int			attnum = lfirst_int(lc);

		values[attnum - 1] = fsstate->start_token;
		nulls[attnum - 1] = false;
	}
}

/* The executor has had every row: the read ends where the last page ends. */
static void
changes_finished(CkFdwScanState *fsstate)
{
	if (fsstate->change_read && fsstate->page_token != NULL)
		remember_token(RelationGetRelid(fsstate->rel), fsstate->page_token);
}

/* The plan's first request: the token as sent if constant, else ?n. */
static char *
changes_explain_request(const char *base, CkFdwPushdown *pd,
						CkFdwParamValues *params, CkFdwOptions *opts)
{
	int			idx = pd->token_index;
	char	   *token;

	if (idx < 0 || params->nulls[idx])
		return ckfdw_build_changes_request(base, NULL, 0);
	if (params->unknown[idx])
		return ckfdw_build_changes_request(base, NULL, idx + 1);
	token = TextDatumGetCString(params->values[idx]);
	return ckfdw_build_changes_request(base,
									   token[0] != '\0' ? ckfdw_to_utf8(token) : NULL,
									   0);
}

/*
 * Raise a per-zone error of a changes/zone answer.  A request with a token
 * that CloudKit calls bad means the token is dead (expired, or not one of
 * this zone's): the job must start again from a full read.
 */
static void
report_zone_error(CkFdwScanState *fsstate, const CkZoneChanges *z)
{
	const CkErrorInfo *e = ck_error_lookup(z->server_error_code);
	const char *code = ckfdw_message_text(z->server_error_code);
	const char *reason = z->reason != NULL && z->reason[0] != '\0' ?
		ckfdw_message_text(z->reason) : "(no reason given)";
	const char *zone = fsstate->options->zone;
	const char *s = e->sqlstate;
	int			sqlstate = ERRCODE_FDW_ERROR;

	if (s != NULL && strlen(s) == 5)
		sqlstate = MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);

	if (fsstate->send_token != NULL && strcmp(z->server_error_code, "BAD_REQUEST") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("CloudKit refused the sync token of the change read of foreign table \"%s\"",
						fsstate->relname),
				 errdetail("CloudKit error %s in zone \"%s\": %s", code, zone, reason),
				 errhint("The token has expired or is not one of this zone's. Start again with a full read: empty the local copy and read from the token ''."),
				 errcontext("CloudKit changes/zone of record type \"%s\" in zone \"%s\", foreign table \"%s\"",
							fsstate->options->record_type, zone, fsstate->relname)));
	if (strcmp(z->server_error_code, "ZONE_NOT_FOUND") == 0)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("zone \"%s\" of foreign table \"%s\" does not exist", zone,
						fsstate->relname),
				 errdetail("CloudKit error %s: %s", code, reason),
				 errhint("The zone was deleted, and all its records with it, or the table's option \"zone\" is wrong. A copy of a deleted zone is stale: empty it."),
				 errcontext("CloudKit changes/zone of record type \"%s\" in zone \"%s\", foreign table \"%s\"",
							fsstate->options->record_type, zone, fsstate->relname)));
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("CloudKit refused the change read of zone \"%s\" for foreign table \"%s\"",
					zone, fsstate->relname),
			 errdetail("CloudKit error %s: %s", code, reason),
			 errhint("%s", e->hint),
			 errcontext("CloudKit changes/zone of record type \"%s\" in zone \"%s\", foreign table \"%s\"",
						fsstate->options->record_type, zone, fsstate->relname)));
}

/* Set the token of a table's latest change read (UTF-8). */
static void
remember_token(Oid relid, const char *token)
{
	SyncTokenEntry *entry;
	char	   *copy;
	bool		found;

	if (sync_tokens == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(SyncTokenEntry);
		ctl.hcxt = TopMemoryContext;
		sync_tokens = hash_create("ckfdw sync tokens", 16, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	/* copy first: running out of memory leaves the entry as it was */
	copy = MemoryContextStrdup(TopMemoryContext, token);
	entry = (SyncTokenEntry *) hash_search(sync_tokens, &relid, HASH_ENTER, &found);
	if (found)
		pfree(entry->token);
	entry->token = copy;
}

/*
 * ckfdw_sync_token(regclass): the token at which the latest change read of
 * the foreign table in this session ended (see the top of this file): what
 * a job stores to read from next time, even when nothing changed.
 */
Datum
ckfdw_sync_token(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	SyncTokenEntry *entry = NULL;
	char	   *relname;

	if (sync_tokens != NULL)
		entry = (SyncTokenEntry *) hash_search(sync_tokens, &relid, HASH_FIND, NULL);
	if (entry == NULL)
	{
		relname = get_rel_name(relid);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no change read of foreign table \"%s\" has run in this session",
						relname ? relname : psprintf("%u", relid)),
				 errhint("Read the table's changes first in the same session: a condition \"syncToken column = stored token\" ('' the first time).")));
	}
	PG_RETURN_TEXT_P(cstring_to_text(ckfdw_from_utf8(entry->token,
													 strlen(entry->token))));
}
