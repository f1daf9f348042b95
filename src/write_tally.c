/*-------------------------------------------------------------------------
 *
 * write_tally.c
 *		  What the running statement has written to CloudKit, told in every
 *		  error it raises
 *
 * CloudKit has no transactions: what a statement's records/modify requests
 * wrote before an error stays written after the ROLLBACK.  modify.c's own
 * errors say how much; an error raised anywhere else while the statement
 * has written something must say it too: a scan page CloudKit fails under
 * an UPDATE or an INSERT ... SELECT, a value that does not convert, a
 * cancel.  So modify.c counts here, per top-level statement, the records
 * CloudKit confirmed and the records of requests whose answer was lost, and
 * an emit_log_hook adds the count to the detail of every ERROR or FATAL
 * reported while it is not zero.
 *
 * A top-level statement is known by its start time (statement_timestamp(),
 * which PostgreSQL sets for each message from the client), and the tally is
 * cleared at the end of each transaction.
 *
 * Requests in flight (modify.c keeps several) count as unknown while they
 * are: an error raised elsewhere (a scan page, a value that does not
 * convert) leaves them to be cancelled by the abort, and CloudKit may
 * have applied them.  modify.c's own errors wait for them first.  Only errors that are reported go
 * through the hook, and only when they go to the server log too (as every
 * ERROR does unless log_min_messages is above it): an error a PL/pgSQL
 * EXCEPTION block catches carries modify.c's count if a write raised it,
 * and nothing otherwise.
 *
 * IDENTIFICATION
 *		  src/write_tally.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"

#include "ckfdw.h"

typedef struct WriteTally
{
	TimestampTz statement_start;	/* the statement counted */
	int64		written;		/* records CloudKit confirmed */
	int64		unknown;		/* records of requests whose answer was lost */
	int64		unknown_requests;	/* those requests */
} WriteTally;

static WriteTally tally;

/* records/modify requests in flight, and their records */
static int64 in_flight_records = 0;
static int64 in_flight_requests = 0;

static emit_log_hook_type prev_emit_log_hook = NULL;

static void tally_emit_log_hook(ErrorData *edata);
static void tally_xact_callback(XactEvent event, void *arg);
static WriteTally *current_tally(void);
static char *append_sentence(const char *text, const char *sentence);

/* Called from _PG_init. */
void
ckfdw_write_tally_init(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = tally_emit_log_hook;
	RegisterXactCallback(tally_xact_callback, NULL);
}

/* The tally of the statement running now, cleared when a new one began. */
static WriteTally *
current_tally(void)
{
	TimestampTz now = GetCurrentStatementStartTimestamp();

	if (tally.statement_start != now)
	{
		tally.statement_start = now;
		tally.written = 0;
		tally.unknown = 0;
		tally.unknown_requests = 0;
	}
	return &tally;
}

/* CloudKit confirmed n more records written by this statement. */
void
ckfdw_tally_written(int64 n)
{
	current_tally()->written += n;
}

/*
 * Requests of n records in all got no usable answer: they may have been
 * applied.
 */
void
ckfdw_tally_unknown(int64 n, int64 requests)
{
	WriteTally *t = current_tally();

	t->unknown += n;
	t->unknown_requests += requests;
}

/* Requests were started (positive counts) or finished (negative ones). */
void
ckfdw_tally_in_flight(int64 records, int64 requests)
{
	if (records > 0)
		(void) current_tally();	/* the statement that has them */
	in_flight_records = Max(in_flight_records + records, 0);
	in_flight_requests = Max(in_flight_requests + requests, 0);
}

/*
 * The sentence that tells what a statement wrote, for an error's detail.
 * subject is "This statement" or, for the statement the client sent when a
 * statement nested in it told its own part, "In all, the statement you ran".
 */
char *
ckfdw_write_note(const char *subject, int64 written, int64 unknown,
				 int64 unknown_requests)
{
	if (written == 0 && unknown == 0)
		return pstrdup("No record of this statement was written to CloudKit.");
	if (unknown == 0)
		return psprintf("%s wrote " INT64_FORMAT " record%s to CloudKit before the error; a ROLLBACK does not undo %s.",
						subject, written, written == 1 ? "" : "s",
						written == 1 ? "it" : "them");
	if (unknown_requests > 1)
		return psprintf("%s wrote " INT64_FORMAT " record%s to CloudKit before the error, and the outcome of its last " INT64_FORMAT " requests (" INT64_FORMAT " record%s) is unknown: CloudKit may have applied them. A ROLLBACK does not undo what CloudKit applied.",
						subject, written, written == 1 ? "" : "s",
						unknown_requests, unknown, unknown == 1 ? "" : "s");
	return psprintf("%s wrote " INT64_FORMAT " record%s to CloudKit before the error, and the outcome of its last request (" INT64_FORMAT " record%s) is unknown: CloudKit may have applied it. A ROLLBACK does not undo what CloudKit applied.",
					subject, written, written == 1 ? "" : "s",
					unknown, unknown == 1 ? "" : "s");
}

static char *
append_sentence(const char *text, const char *sentence)
{
	if (text == NULL || text[0] == '\0')
		return pstrdup(sentence);
	return psprintf("%s\n%s", text, sentence);
}

/*
 * Add the statement's count to the detail of an error reported while it
 * has written something, unless a write's own error says it already.  Runs
 * in the error's memory context and must not raise an error itself.
 */
static void
tally_emit_log_hook(ErrorData *edata)
{
	if (edata->elevel >= ERROR && tally.statement_start != 0 &&
		tally.statement_start == GetCurrentStatementStartTimestamp() &&
		(tally.written > 0 || tally.unknown > 0 || in_flight_records > 0))
	{
		int64		unknown = tally.unknown + in_flight_records;
		int64		unknown_requests = tally.unknown_requests + in_flight_requests;
		char	   *note = ckfdw_write_note("This statement", tally.written,
											unknown, unknown_requests);

		if (edata->detail == NULL || strstr(edata->detail, note) == NULL)
		{
			/* a nested statement's write told its own, smaller part */
			if (edata->detail != NULL &&
				(strstr(edata->detail, " to CloudKit before the error") != NULL ||
				 strstr(edata->detail, "No record of this statement was written") != NULL))
				note = ckfdw_write_note("In all, the statement you ran", tally.written,
										unknown, unknown_requests);
			edata->detail = append_sentence(edata->detail, note);
			if (edata->detail_log != NULL)
				edata->detail_log = append_sentence(edata->detail_log, note);
		}
	}

	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/* What CloudKit holds does not change at the end, but the count is over. */
static void
tally_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		tally.statement_start = 0;
		tally.written = 0;
		tally.unknown = 0;
		tally.unknown_requests = 0;
		in_flight_records = 0;
		in_flight_requests = 0;
	}
}
