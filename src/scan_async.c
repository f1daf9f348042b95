/*-------------------------------------------------------------------------
 *
 * scan_async.c
 *		  Foreign scans in an async Append (PostgreSQL 14+)
 *
 * With the option async_capable, the scans of a UNION ALL or of the
 * foreign partitions of a table run side by side: each keeps its next page
 * in flight (scan_cursors.c), and the Append takes rows from whichever has
 * a page.  As in postgres_fdw, a scan asked for a row returns one if its
 * page has one, or says it is pending; the Append then waits on the
 * client's descriptor (ck_client_wait_fd) and calls us back when it is
 * ready.  Several scans may share one client (one per user mapping): its
 * descriptor is added once per wait, by the first of them, and a notified
 * scan drives the client for all of them (ck_client_poll), so a scan may
 * find its page already here when the Append next configures its wait;
 * it then returns a row at once instead of waiting.
 *
 * The Append's wait set holds MyLatch (PostgreSQL adds it), so a cancel
 * ends the wait at once; a scan that completes while the wait is being
 * set up sets the latch, so that the Append does not sleep with a row in
 * hand.  A transport that completes requests at once (ck_client_wait_fd
 * -1) never leaves a scan pending: every row is produced inside the
 * request.
 *
 * IDENTIFICATION
 *		  src/scan_async.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/execAsync.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "storage/latch.h"

#include "ckfdw.h"
#include "scan.h"

static void produce_row(AsyncRequest *areq);
static bool page_waits(CkFdwScanState *fsstate);
static bool is_our_scan(AsyncRequest *areq);
static bool first_waiting(AsyncRequest *areq);
static bool complete_now(AsyncRequest *areq);

static CkFdwScanState *
scan_state(AsyncRequest *areq)
{
	return (CkFdwScanState *) ((ForeignScanState *) areq->requestee)->fdw_state;
}

/*
 * Run the scan node for one row without waiting for the network: a row, the
 * end (an empty slot), or pending when the next page is still travelling.
 */
static void
produce_row(AsyncRequest *areq)
{
	CkFdwScanState *fsstate = scan_state(areq);
	TupleTableSlot *slot;

	fsstate->nowait = true;
	fsstate->would_block = false;
	slot = areq->requestee->ExecProcNodeReal(areq->requestee);
	fsstate->nowait = false;

	if (TupIsNull(slot) && fsstate->would_block)
		ExecAsyncRequestPending(areq);
	else
		ExecAsyncRequestDone(areq, slot);
}

/* Would the scan wait for a page now? */
static bool
page_waits(CkFdwScanState *fsstate)
{
	if (!fsstate->started || fsstate->next_record < fsstate->num_records ||
		(fsstate->pages_fetched > 0 && !fsstate->more) ||
		fsstate->source->page_waits == NULL)
		return false;
	return fsstate->source->page_waits(fsstate);
}

/*
 * ckfdwForeignAsyncRequest
 *		The Append asks for a row.
 */
void
ckfdwForeignAsyncRequest(AsyncRequest *areq)
{
	produce_row(areq);
}

/*
 * ckfdwForeignAsyncConfigureWait
 *		The Append is about to wait: add what this scan waits on.
 */
void
ckfdwForeignAsyncConfigureWait(AsyncRequest *areq)
{
	CkFdwScanState *fsstate = scan_state(areq);
	AppendState *requestor = (AppendState *) areq->requestor;
	WaitEventSet *set = requestor->as_eventset;
	int			fd;

	Assert(IsA(requestor, AppendState));
	Assert(areq->callback_pending);

	/* another scan's notification brought our page: no need to wait */
	if (!page_waits(fsstate) && complete_now(areq))
		return;

	/* the client's descriptor, once per client */
	if (!first_waiting(areq))
		return;
	fd = ckfdw_request_wait_fd(fsstate->conn);
	if (fd >= 0)
	{
		AddWaitEventToSet(set, WL_SOCKET_READABLE, fd, NULL, areq);
		return;
	}

	/*
	 * Nothing to wait on although a page is expected: the Append would
	 * call us again and again without sleeping.  Wait for the client here
	 * instead (interruptibly), and return the row.
	 */
	while (page_waits(fsstate))
		ckfdw_wait_any_request(fsstate->conn);
	(void) complete_now(areq);
}

/*
 * Produce a row for a waiting request outside Notify (whose caller would
 * answer the Append itself); true unless it still waits.
 */
static bool
complete_now(AsyncRequest *areq)
{
	areq->callback_pending = false;
	produce_row(areq);
	ExecAsyncResponse(areq);
	if (areq->callback_pending)
		return false;
	/* the Append must not sleep with a row in hand */
	SetLatch(MyLatch);
	return true;
}

/*
 * ckfdwForeignAsyncNotify
 *		The client's descriptor is ready: let it work, then try for a row.
 */
void
ckfdwForeignAsyncNotify(AsyncRequest *areq)
{
	CkFdwScanState *fsstate = scan_state(areq);

	ckfdw_poll_requests(fsstate->conn);
	produce_row(areq);
}

/* Is this request's scan one of ours? */
static bool
is_our_scan(AsyncRequest *areq)
{
	ForeignScanState *node = (ForeignScanState *) areq->requestee;

	return IsA(node, ForeignScanState) && node->fdwroutine != NULL &&
		node->fdwroutine->ForeignAsyncConfigureWait == ckfdwForeignAsyncConfigureWait &&
		node->fdw_state != NULL;
}

/*
 * Is no earlier scan of the same Append on the same client still waiting?
 * The Append configures its scans in order, and a scan that still waits
 * after its own turn has added the client's descriptor, or left it to an
 * earlier one: so the first waiting scan of a client adds it, and no
 * descriptor is added twice.
 */
static bool
first_waiting(AsyncRequest *areq)
{
	AppendState *requestor = (AppendState *) areq->requestor;
	CkFdwScanState *fsstate = scan_state(areq);
	int			i = -1;

	while ((i = bms_next_member(requestor->as_asyncplans, i)) >= 0 &&
		   i < areq->request_index)
	{
		AsyncRequest *other = requestor->as_asyncrequests[i];

		if (other->callback_pending && is_our_scan(other) &&
			scan_state(other)->conn == fsstate->conn)
			return false;
	}
	return true;
}
