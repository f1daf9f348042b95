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
 * cleared at the end of each transaction.  Only errors that are reported go
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
} WriteTally;

static WriteTally tally;

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
	}
	return &tally;
}

/* CloudKit confirmed n more records written by this statement. */
void
ckfdw_tally_written(int64 n)
{
	current_tally()->written += n;
}

/* A request of n records got no usable answer: it may have been applied. */
void
ckfdw_tally_unknown(int64 n)
{
	current_tally()->unknown += n;
}

/*
 * The sentence that tells what a statement wrote, for an error's detail.
 * subject is "This statement" or, for the statement the client sent when a
 * statement nested in it told its own part, "In all, the statement you ran".
 */
char *
ckfdw_write_note(const char *subject, int64 written, int64 unknown)
{
	if (written == 0 && unknown == 0)
		return pstrdup("No record of this statement was written to CloudKit.");
	if (unknown == 0)
		return psprintf("%s wrote " INT64_FORMAT " record%s to CloudKit before the error; a ROLLBACK does not undo %s.",
						subject, written, written == 1 ? "" : "s",
						written == 1 ? "it" : "them");
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
		(tally.written > 0 || tally.unknown > 0))
	{
		char	   *note = ckfdw_write_note("This statement", tally.written,
											tally.unknown);

		if (edata->detail == NULL || strstr(edata->detail, note) == NULL)
		{
			/* a nested statement's write told its own, smaller part */
			if (edata->detail != NULL &&
				(strstr(edata->detail, " to CloudKit before the error") != NULL ||
				 strstr(edata->detail, "No record of this statement was written") != NULL))
				note = ckfdw_write_note("In all, the statement you ran", tally.written,
										tally.unknown);
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
	}
}
