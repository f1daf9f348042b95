/*-------------------------------------------------------------------------
 *
 * modify.c
 *		  INSERT, UPDATE and DELETE on ckfdw foreign tables, through CloudKit's
 *		  records/modify
 *
 * INSERT sends "create" operations (or "forceReplace"/"forceUpdate" with the
 * table option insert_mode 'replace'/'merge'); the record name comes from
 * the column mapped to recordName, else we make up a UUID.  UPDATE sends
 * "update" with only the changed fields and the change tag the scan read,
 * DELETE sends "delete" with that tag, so a record someone else changed or
 * deleted meanwhile fails the statement with 40001 instead of being
 * overwritten; the table option force = true sends forceUpdate/forceDelete.
 *
 * Row identity.  A foreign table has no column to carry a record's name and
 * change tag from the scan to ExecForeignUpdate/Delete, and PostgreSQL wants
 * row-identity Vars of the target relation.  We use ctid as a handle:
 * AddForeignUpdateTargets adds ctid under the junk names ckfdw_record_name
 * and ckfdw_change_tag; the scan of a result relation (a "row source")
 * stores each record's name and tag in a per-query registry, which lives in
 * the executor state's query context, under a fresh handle, and puts the
 * handle into the slot's tts_tid, which is what a ctid Var reads.  The
 * modify callbacks look the handle up and take the entry out, so the
 * registry holds only rows between the scan and the modify.  So that rows
 * the scan's local conditions drop are never registered, the row source
 * evaluates those conditions itself.  Handles are issued in order, so a
 * handle that was issued but is gone belongs to a row this statement
 * already modified (a join can produce a target row twice): it is skipped,
 * as PostgreSQL skips rows already updated by the same command.
 *
 * Batching.  INSERT ... SELECT goes through ExecForeignBatchInsert,
 * batch_size (at most 200, CloudKit's limit) operations per request.  COPY,
 * UPDATE and DELETE are buffered by us the same way, as long as nothing
 * needs a row's result at once: no RETURNING, no triggers, no WITH CHECK
 * OPTION, no ON CONFLICT.  The last batch is sent by EndForeignModify /
 * EndForeignInsert; an error there still fails the statement.  A request
 * CloudKit refuses as too large is split in two and retried; THROTTLED and
 * other retryable answers are retried by the transport, honouring
 * retryAfter (a modify is not idempotent: a lost connection is not retried).
 *
 * Pipelining.  A statement does not wait for a batch's answer before it
 * builds and sends the next: up to ckfdw.max_writes_in_flight requests are
 * in flight (the transport may run fewer at once, and it never sends a
 * modify twice).  Every statement's requests are in one list, so that two
 * modifies of one statement share the limit and the ordering rule: a batch
 * that names a record of a request in flight waits for that request, since
 * CloudKit would apply the two in any order.  Answers are checked as they
 * come; one that fails makes us wait for every other request in flight and
 * count what it wrote before the error is raised, so that the count is
 * exact.  Whatever must see an answer before the next row (RETURNING, ON
 * CONFLICT DO NOTHING's row count) waits for its own request; so does
 * every batch when ckfdw.max_writes_in_flight is 1.  After an error or a
 * cancel nothing stays in flight: the requests of a failed statement are
 * cancelled with its memory, or at the end of the (sub)transaction.
 *
 * Failures.  Every failing record of a request is named (errdetail, capped),
 * and the error says how many records of the statement were already
 * written: CloudKit has no transactions, so those stay written.  With the
 * table option atomic = true (custom zones only), each request is atomic.
 *
 * IDENTIFICATION
 *		  src/modify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ckfdw_json.h"

#include "access/htup_details.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/appendinfo.h"
#include "optimizer/inherit.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ckfdw.h"
#include "ck/ck_error.h"
#include "ck/ck_http.h"
#include "ck/ck_record.h"

/* Junk columns AddForeignUpdateTargets adds. */
#define CKFDW_JUNK_RECORD_NAME	"ckfdw_record_name"
#define CKFDW_JUNK_CHANGE_TAG	"ckfdw_change_tag"
#define CKFDW_JUNK_OLD_ROW		"ckfdw_old_row"

/* Failing records named in an error's detail. */
#define CKFDW_MAX_REPORTED_FAILURES 10

/* Longest record name CloudKit takes. */
#define CKFDW_MAX_RECORD_NAME_LEN 255

/*
 * Indexes of FDW-private information stored in fdw_private lists of
 * ModifyTable (see ckfdwPlanForeignModify).
 */
enum FdwModifyPrivateIndex
{
	/* Integer list of attnums written (all for INSERT, SET ones for UPDATE) */
	FdwModifyPrivateTargetAttnums,
	/* Integer: 1 if the statement has RETURNING */
	FdwModifyPrivateHasReturning,
	/* Integer: 1 for ON CONFLICT DO NOTHING */
	FdwModifyPrivateDoNothing
};

/*
 * The row-handle registry of one query (see the file header).  Handles are
 * issued in order, so the registry is an array of blocks of
 * CKFDW_HANDLE_BLOCK handles; a block whose rows were all modified is freed
 * at once, which keeps memory flat when the scan feeds the modify directly.
 * An entry is the record name and the change tag, each followed by a NUL
 * (the tag empty when CloudKit sent none), in the block's memory context.
 */
#define CKFDW_HANDLE_BLOCK 1024

typedef struct RowHandleBlock
{
	MemoryContext cxt;			/* the entries' strings */
	int			live;			/* entries not taken yet */
	char	   *entries[CKFDW_HANDLE_BLOCK];
} RowHandleBlock;

typedef struct CkFdwRowRegistry
{
	MemoryContext owner;		/* the executor's es_query_cxt */
	uint64		last_handle;	/* handles issued: 1 .. last_handle */
	RowHandleBlock **blocks;	/* block b holds handles b * BLOCK + i */
	int			nblocks;
	int			maxblocks;
	MemoryContextCallback cb;	/* unlinks us when owner goes */
	struct CkFdwRowRegistry *next;
} CkFdwRowRegistry;

/* Registries of the queries running now (nested queries have their own). */
static CkFdwRowRegistry *row_registries = NULL;

/*
 * A scan feeding an UPDATE or DELETE.  It evaluates the scan's local
 * conditions itself, so that only rows that pass are registered: a row the
 * conditions drop would never be taken out of the registry.
 */
struct CkFdwRowSource
{
	ForeignScanState *node;
	ExprState  *qual;			/* taken from node->ss.ps.qual, or NULL */
	CkFdwRowRegistry *registry;
};

/* Table options of writes. */
typedef enum CkFdwInsertMode
{
	CKFDW_INSERT_CREATE,		/* create: an existing record is an error */
	CKFDW_INSERT_REPLACE,		/* forceReplace: the whole record */
	CKFDW_INSERT_MERGE			/* forceUpdate: only the table's fields */
} CkFdwInsertMode;

typedef struct CkFdwWriteOptions
{
	CkFdwInsertMode insert_mode;
	bool		force;
	bool		atomic;
} CkFdwWriteOptions;

/* One operation waiting to be sent. */
typedef struct CkFdwPendingOp
{
	char	   *json;			/* {"operationType": ..., "record": ...}, UTF-8 */
	int			len;
	char	   *record_name;	/* UTF-8 */
} CkFdwPendingOp;

/*
 * A records/modify request in flight.  Its memory holds the body (the
 * operations point into it, to split a request CloudKit refuses as too
 * large) and the sorted record names, which no other request in flight
 * may share.  Every statement's requests are in one list, oldest first:
 * two modifies of one statement (a WITH ... UPDATE and a DELETE) may touch
 * one record too.
 */
typedef struct CkFdwWriteBatch
{
	struct CkFdwModifyState *owner;
	CkFdwPending *req;			/* in cxt; NULL once finished or cancelled */
	MemoryContext cxt;			/* this batch; a child of owner->cxt */
	char	   *body;
	CkFdwPendingOp *ops;
	int			nops;
	const char **names;			/* sorted */
	SubTransactionId subxid;	/* started in */
	MemoryContextCallback cb;	/* cancels req when cxt goes first */
	struct CkFdwWriteBatch *next;
} CkFdwWriteBatch;

static CkFdwWriteBatch *writes_head = NULL;
static CkFdwWriteBatch *writes_tail = NULL;
static int	writes_in_flight = 0;
static bool writes_callbacks_registered = false;

/* A record CloudKit refused. */
typedef struct CkFdwOpFailure
{
	const char *record_name;
	const char *code;
	const char *reason;
} CkFdwOpFailure;

/*
 * Execution state of a modify of one foreign table.
 */
typedef struct CkFdwModifyState
{
	Relation	rel;
	char	   *relname;
	CmdType		operation;
	CkFdwOptions *options;
	CkFdwWriteOptions wopts;
	CkFdwColumn *columns;		/* indexed by attnum - 1 */
	CkFdwWriteColumn *wcolumns;
	int			ncolumns;
	List	   *target_attrs;	/* attnums written */
	List	   *all_attrs;		/* every column, for RETURNING */
	bool		has_returning;
	bool		do_nothing;		/* ON CONFLICT DO NOTHING */
	const char *op_type;		/* CloudKit operationType */
	int			batch_size;
	bool		buffering;		/* see can_buffer() */
	bool		buffering_known;

	/* request parts */
	CkFdwConnection *conn;
	CkFdwRequestInfo info;
	char	   *record_type_json;	/* the record type as a JSON string */
	char	   *zone_json;		/* "zoneID":{...} */
	char	   *desired_keys;	/* JSON array */

	/* UPDATE and DELETE */
	CkFdwRowRegistry *registry;
	AttrNumber	handle_attno;	/* junk ckfdw_record_name in the subplan */
	AttrNumber	old_row_attno;	/* junk ckfdw_old_row (DELETE RETURNING) */

	/* operations not sent yet; their text lives in batch_cxt */
	MemoryContext cxt;			/* this state */
	MemoryContext batch_cxt;	/* reset after each request */
	CkFdwPendingOp *pending;
	int			npending;
	CkFdwAssetUploads *uploads;	/* asset content to upload, or NULL */

	/* counters, for errors and EXPLAIN ANALYZE */
	int64		written;		/* records of this statement CloudKit saved */
	int64		unknown;		/* records of requests whose answer was lost */
	int64		unknown_requests;	/* those requests */
	int64		skipped;		/* ON CONFLICT DO NOTHING */
	int64		requests;
} CkFdwModifyState;

/* Where an encoding error happened, for errcontext. */
typedef struct EncodeLocation
{
	CkFdwModifyState *fmstate;
	CkFdwColumn *column;
	const char *record_name;	/* UTF-8, may be NULL */
} EncodeLocation;

/*
 * FDW callback routines
 */
static void ckfdwAddForeignUpdateTargets(PlannerInfo *root, Index rtindex,
										 RangeTblEntry *target_rte,
										 Relation target_relation);
static List *ckfdwPlanForeignModify(PlannerInfo *root, ModifyTable *plan,
									Index resultRelation, int subplan_index);
static void ckfdwBeginForeignModify(ModifyTableState *mtstate,
									ResultRelInfo *resultRelInfo,
									List *fdw_private, int subplan_index,
									int eflags);
static TupleTableSlot *ckfdwExecForeignInsert(EState *estate,
											  ResultRelInfo *resultRelInfo,
											  TupleTableSlot *slot,
											  TupleTableSlot *planSlot);
static TupleTableSlot **ckfdwExecForeignBatchInsert(EState *estate,
													ResultRelInfo *resultRelInfo,
													TupleTableSlot **slots,
													TupleTableSlot **planSlots,
													int *numSlots);
static int	ckfdwGetForeignModifyBatchSize(ResultRelInfo *resultRelInfo);
static TupleTableSlot *ckfdwExecForeignUpdate(EState *estate,
											  ResultRelInfo *resultRelInfo,
											  TupleTableSlot *slot,
											  TupleTableSlot *planSlot);
static TupleTableSlot *ckfdwExecForeignDelete(EState *estate,
											  ResultRelInfo *resultRelInfo,
											  TupleTableSlot *slot,
											  TupleTableSlot *planSlot);
static void ckfdwEndForeignModify(EState *estate, ResultRelInfo *resultRelInfo);
static void ckfdwBeginForeignInsert(ModifyTableState *mtstate,
									ResultRelInfo *resultRelInfo);
static void ckfdwEndForeignInsert(EState *estate, ResultRelInfo *resultRelInfo);
static int	ckfdwIsForeignRelUpdatable(Relation rel);
static void ckfdwExplainForeignModify(ModifyTableState *mtstate,
									  ResultRelInfo *rinfo, List *fdw_private,
									  int subplan_index, ExplainState *es);

/*
 * Helper functions
 */
static CkFdwRowRegistry *get_registry(EState *estate, bool create);
static void forget_registry(void *arg);
static void release_block(CkFdwRowRegistry *registry, int b);
static bool take_row(CkFdwRowRegistry *registry, ItemPointer tid,
					 char **record_name, char **change_tag);
static void read_write_options(ForeignTable *table, CkFdwWriteOptions *wopts);
static const char *operation_type(CmdType operation, const CkFdwWriteOptions *wopts);
static CkFdwModifyState *create_modify_state(EState *estate,
											 ResultRelInfo *rinfo, Oid userid,
											 CmdType operation, List *target_attrs,
											 bool has_returning, bool do_nothing);
static bool can_buffer(CkFdwModifyState *fmstate, ResultRelInfo *rinfo);
static void build_insert_op(CkFdwModifyState *fmstate, TupleTableSlot *slot,
							CkFdwPendingOp *op);
static void build_update_op(CkFdwModifyState *fmstate, TupleTableSlot *slot,
							const char *record_name, const char *change_tag,
							CkFdwPendingOp *op);
static void build_delete_op(CkFdwModifyState *fmstate, const char *record_name,
							const char *change_tag, CkFdwPendingOp *op);
static void append_fields(CkFdwModifyState *fmstate, StringInfo buf,
						  TupleTableSlot *slot, bool send_nulls,
						  const char *record_name);
static void add_pending(CkFdwModifyState *fmstate, CkFdwPendingOp *op);
static bool queue_or_send(CkFdwModifyState *fmstate, ResultRelInfo *resultRelInfo,
						  CkFdwPendingOp *op, TupleTableSlot *returning_slot);
static void flush_pending(CkFdwModifyState *fmstate);
static int	send_operations(CkFdwModifyState *fmstate, CkFdwPendingOp *ops,
							int n, TupleTableSlot *returning_slot);
static CkFdwWriteBatch *start_batch(CkFdwModifyState *fmstate,
									CkFdwPendingOp *ops, int n);
static int	compare_names(const void *a, const void *b);
static bool names_intersect(const char **a, int na, const char **b, int nb);
static void wait_for_conflicts(const char **names, int n);
static void wait_for_slot(void);
static int	reap_done_batches(void);
static void drain_batches(CkFdwModifyState *fmstate);
static void wait_for_batch(CkFdwWriteBatch *batch);
static void stop_all_batches(CkFdwModifyState *fmstate) pg_attribute_noreturn();
static void finish_batch(CkFdwWriteBatch *batch, CkResponse *resp);
static void unlink_batch(CkFdwWriteBatch *batch);
static void settle_batches(void);
static bool answer_fails(CkFdwModifyState *fmstate, const CkResponse *resp,
						 CkFdwPendingOp *ops, int n);
static int	complete_batch(CkFdwWriteBatch *batch, TupleTableSlot *returning_slot);
static bool check_response(CkFdwModifyState *fmstate, CkResponse *resp, int nops);
static void forget_batch(void *arg);
static void writes_xact_callback(XactEvent event, void *arg);
static void writes_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
									SubTransactionId parentSubid, void *arg);
static void cancel_batches(SubTransactionId subid);
static struct json_object *response_records(const CkResponse *resp);
static bool refused_as_too_large(const CkResponse *resp);
static int	check_results(CkFdwModifyState *fmstate, CkFdwPendingOp *ops, int n,
						  struct json_object *records, bool atomic_failure,
						  TupleTableSlot *returning_slot);
static void report_failures(CkFdwModifyState *fmstate, CkFdwOpFailure *fails,
							int nfails, int nops, bool atomic_failure) pg_attribute_noreturn();
static char *written_note(CkFdwModifyState *fmstate);
static void count_unknown(CkFdwModifyState *fmstate, int nops);
static const char *unknown_outcome_hint(CkFdwModifyState *fmstate);
static bool outcome_unknown(const CkResponse *resp);
static void store_returning(CkFdwModifyState *fmstate, const CkRecord *rec,
							TupleTableSlot *slot);
static char *generate_record_name(void);
static void check_record_name(const char *name, const char *attname);
static void encode_error_callback(void *arg);
static int	modify_errcontext(CkFdwModifyState *fmstate);
static void end_modify(CkFdwModifyState *fmstate);

/*
 * Install the modify callbacks into the handler's FdwRoutine.
 */
void
ckfdw_install_modify_routines(FdwRoutine *routine)
{
	routine->AddForeignUpdateTargets = ckfdwAddForeignUpdateTargets;
	routine->PlanForeignModify = ckfdwPlanForeignModify;
	routine->BeginForeignModify = ckfdwBeginForeignModify;
	routine->ExecForeignInsert = ckfdwExecForeignInsert;
	routine->ExecForeignBatchInsert = ckfdwExecForeignBatchInsert;
	routine->GetForeignModifyBatchSize = ckfdwGetForeignModifyBatchSize;
	routine->ExecForeignUpdate = ckfdwExecForeignUpdate;
	routine->ExecForeignDelete = ckfdwExecForeignDelete;
	routine->EndForeignModify = ckfdwEndForeignModify;
	routine->BeginForeignInsert = ckfdwBeginForeignInsert;
	routine->EndForeignInsert = ckfdwEndForeignInsert;
	routine->IsForeignRelUpdatable = ckfdwIsForeignRelUpdatable;
	routine->ExplainForeignModify = ckfdwExplainForeignModify;
}

/* ----------------------------------------------------------------
 * The row-handle registry
 * ----------------------------------------------------------------
 */

/*
 * The registry of the query an EState runs, created on first use.  Nested
 * queries (a function called by the UPDATE) have their own EState.
 */
static CkFdwRowRegistry *
get_registry(EState *estate, bool create)
{
	CkFdwRowRegistry *registry;

	for (registry = row_registries; registry != NULL; registry = registry->next)
	{
		if (registry->owner == estate->es_query_cxt)
			return registry;
	}
	if (!create)
		return NULL;

	registry = MemoryContextAllocZero(estate->es_query_cxt,
									  sizeof(CkFdwRowRegistry));
	registry->owner = estate->es_query_cxt;
	registry->maxblocks = 16;
	registry->blocks = MemoryContextAllocZero(estate->es_query_cxt,
											  sizeof(RowHandleBlock *) * registry->maxblocks);

	/* the query's end (or abort) deletes es_query_cxt: forget us then */
	registry->cb.func = forget_registry;
	registry->cb.arg = registry;
	MemoryContextRegisterResetCallback(estate->es_query_cxt, &registry->cb);
	registry->next = row_registries;
	row_registries = registry;
	return registry;
}

static void
forget_registry(void *arg)
{
	CkFdwRowRegistry *registry = (CkFdwRowRegistry *) arg;
	CkFdwRowRegistry **p;

	for (p = &row_registries; *p != NULL; p = &(*p)->next)
	{
		if (*p == registry)
		{
			*p = registry->next;
			break;
		}
	}
}

/*
 * Make a foreign scan register its rows, if it is the scan of the target of
 * an UPDATE or DELETE (a result relation whose plan reads ctid); NULL
 * otherwise.  Takes over the scan's local conditions (see CkFdwRowSource).
 */
CkFdwRowSource *
ckfdw_row_source_begin(ForeignScanState *node)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;
	Index		scanrelid = fsplan->scan.scanrelid;
	Bitmapset  *attrs = NULL;
	CkFdwRowSource *src;

	if (scanrelid == 0 || estate->es_plannedstmt == NULL ||
		!list_member_int(estate->es_plannedstmt->resultRelations, (int) scanrelid))
		return NULL;

	pull_varattnos((Node *) fsplan->scan.plan.targetlist, scanrelid, &attrs);
	pull_varattnos((Node *) fsplan->scan.plan.qual, scanrelid, &attrs);
	pull_varattnos((Node *) fsplan->fdw_scan_tlist, scanrelid, &attrs);
	if (!bms_is_member(SelfItemPointerAttributeNumber - FirstLowInvalidHeapAttributeNumber,
					   attrs))
		return NULL;

	src = MemoryContextAllocZero(estate->es_query_cxt, sizeof(CkFdwRowSource));
	src->node = node;
	src->registry = get_registry(estate, true);
	/* ExecScan reads ps.qual at every call: from now on we evaluate it */
	src->qual = node->ss.ps.qual;
	node->ss.ps.qual = NULL;
	return src;
}

/*
 * Called for each row a scan stored in slot: false when the row fails the
 * scan's local conditions (the slot is cleared; the caller fetches the next
 * record).  Otherwise the record is registered and the slot's ctid becomes
 * its handle.  Runs in the scan's per-tuple memory context.
 */
bool
ckfdw_row_source_accept(CkFdwRowSource *src, TupleTableSlot *slot,
						const char *record_name, const char *change_tag)
{
	CkFdwRowRegistry *registry = src->registry;
	RowHandleBlock *block;
	uint64		handle;
	int			b;
	size_t		name_len;
	size_t		tag_len;
	char	   *entry;

	if (src->qual != NULL)
	{
		ExprContext *econtext = src->node->ss.ps.ps_ExprContext;

		econtext->ecxt_scantuple = slot;
		if (!ExecQual(src->qual, econtext))
		{
			InstrCountFiltered1(src->node, 1);
			ExecClearTuple(slot);
			/* the row's values are garbage now */
			ResetExprContext(econtext);
			return false;
		}
	}

	if (record_name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("CloudKit sent a record without a recordName")));

	handle = ++registry->last_handle;
	b = (int) (handle / CKFDW_HANDLE_BLOCK);
	if (b >= registry->maxblocks)
	{
		int			newmax = registry->maxblocks * 2;

		registry->blocks = repalloc(registry->blocks, sizeof(RowHandleBlock *) * newmax);
		memset(registry->blocks + registry->maxblocks, 0,
			   sizeof(RowHandleBlock *) * (newmax - registry->maxblocks));
		registry->maxblocks = newmax;
	}
	if (b >= registry->nblocks)
	{
		/* a new block; the one before may be done with already */
		block = MemoryContextAllocZero(registry->owner, sizeof(RowHandleBlock));
		block->cxt = AllocSetContextCreate(registry->owner, "ckfdw row handles",
										   ALLOCSET_DEFAULT_SIZES);
		registry->blocks[b] = block;
		registry->nblocks = b + 1;
		if (b > 0 && registry->blocks[b - 1] != NULL &&
			registry->blocks[b - 1]->live == 0)
			release_block(registry, b - 1);
	}
	block = registry->blocks[b];

	name_len = strlen(record_name);
	tag_len = change_tag ? strlen(change_tag) : 0;
	entry = MemoryContextAlloc(block->cxt, name_len + tag_len + 2);
	memcpy(entry, record_name, name_len + 1);
	if (change_tag != NULL)
		memcpy(entry + name_len + 1, change_tag, tag_len + 1);
	else
		entry[name_len + 1] = '\0';
	block->entries[handle % CKFDW_HANDLE_BLOCK] = entry;
	block->live++;

	/* offsets run 1..65535: offset 0 would be an invalid item pointer */
	ItemPointerSet(&slot->tts_tid, (BlockNumber) (handle / 0xFFFF),
				   (OffsetNumber) (handle % 0xFFFF + 1));
	return true;
}

static void
release_block(CkFdwRowRegistry *registry, int b)
{
	RowHandleBlock *block = registry->blocks[b];

	MemoryContextDelete(block->cxt);
	pfree(block);
	registry->blocks[b] = NULL;
}

/*
 * Take a row out of the registry: its record name and tag (copied into the
 * current memory context; the tag NULL when CloudKit sent none).  Returns
 * false for a row this statement already modified.
 */
static bool
take_row(CkFdwRowRegistry *registry, ItemPointer tid, char **record_name,
		 char **change_tag)
{
	uint64		handle;
	RowHandleBlock *block;
	int			b;
	int			i;
	char	   *entry;
	size_t		name_len;

	handle = (uint64) ItemPointerGetBlockNumberNoCheck(tid) * 0xFFFF +
		(ItemPointerGetOffsetNumberNoCheck(tid) - 1);
	if (ItemPointerGetOffsetNumberNoCheck(tid) == 0 || handle == 0 ||
		handle > registry->last_handle)
		elog(ERROR, "ckfdw: unknown row handle (%u,%u)",
			 ItemPointerGetBlockNumberNoCheck(tid),
			 ItemPointerGetOffsetNumberNoCheck(tid));

	b = (int) (handle / CKFDW_HANDLE_BLOCK);
	i = (int) (handle % CKFDW_HANDLE_BLOCK);
	block = registry->blocks[b];
	if (block == NULL || block->entries[i] == NULL)
		return false;

	entry = block->entries[i];
	name_len = strlen(entry);
	*record_name = pstrdup(entry);
	*change_tag = entry[name_len + 1] != '\0' ? pstrdup(entry + name_len + 1) : NULL;
	block->entries[i] = NULL;
	block->live--;

	/* a full block whose rows are all taken is not needed any more */
	if (block->live == 0 && b < registry->nblocks - 1)
		release_block(registry, b);
	return true;
}

/* ----------------------------------------------------------------
 * Planner callbacks
 * ----------------------------------------------------------------
 */

/*
 * ckfdwAddForeignUpdateTargets
 *		Add the row-identity columns UPDATE and DELETE need
 *
 * Both junk columns are ctid, the handle of the registry entry that holds
 * the record's name and change tag (see the file header).  DELETE ...
 * RETURNING also needs the row as read, since CloudKit answers a delete
 * with the record name only.
 */
static void
ckfdwAddForeignUpdateTargets(PlannerInfo *root, Index rtindex,
							 RangeTblEntry *target_rte,
							 Relation target_relation)
{
	Var		   *var;

	var = makeVar(rtindex, SelfItemPointerAttributeNumber, TIDOID, -1,
				  InvalidOid, 0);
	add_row_identity_var(root, var, rtindex, CKFDW_JUNK_RECORD_NAME);

	var = makeVar(rtindex, SelfItemPointerAttributeNumber, TIDOID, -1,
				  InvalidOid, 0);
	add_row_identity_var(root, var, rtindex, CKFDW_JUNK_CHANGE_TAG);

	if (root->parse->commandType == CMD_DELETE && root->parse->returningList != NIL)
	{
		var = makeVar(rtindex, InvalidAttrNumber, RECORDOID, -1, InvalidOid, 0);
		add_row_identity_var(root, var, rtindex, CKFDW_JUNK_OLD_ROW);
	}
}

/*
 * ckfdwPlanForeignModify
 *		Plan an insert/update/delete operation on a foreign table
 *
 * Works out which columns are written, as postgres_fdw does: all for
 * INSERT, the SET ones for UPDATE (so that an UPDATE sends only the changed
 * fields), unless a BEFORE ROW UPDATE trigger may change any column.
 */
static List *
ckfdwPlanForeignModify(PlannerInfo *root, ModifyTable *plan,
					   Index resultRelation, int subplan_index)
{
	CmdType		operation = plan->operation;
	RangeTblEntry *rte = planner_rt_fetch(resultRelation, root);
	Relation	rel;
	CkFdwColumn *columns;
	int			ncolumns;
	List	   *target_attrs = NIL;
	bool		has_returning = false;
	bool		do_nothing = false;
	int			i;

	/* the planner holds a lock on the table already */
	rel = table_open(rte->relid, NoLock);
	columns = ckfdw_get_columns(rel, &ncolumns);

	if (operation == CMD_INSERT)
	{
		for (i = 0; i < ncolumns; i++)
		{
			if (!columns[i].dropped)
				target_attrs = lappend_int(target_attrs, columns[i].attnum);
		}
	}
	else if (operation == CMD_UPDATE)
	{
		RelOptInfo *baserel = find_base_rel(root, resultRelation);
		Bitmapset  *updated = get_rel_all_updated_cols(root, baserel);
		bool		all = (rel->trigdesc && rel->trigdesc->trig_update_before_row);
		int			col = -1;

		while ((col = bms_next_member(updated, col)) >= 0)
		{
			/* bit numbers are offset by FirstLowInvalidHeapAttributeNumber */
			AttrNumber	attno = col + FirstLowInvalidHeapAttributeNumber;
			CkFdwColumn *c;

			if (attno <= InvalidAttrNumber) /* shouldn't happen */
				elog(ERROR, "system-column update is not supported");
			c = &columns[attno - 1];
			if (c->system != CKFDW_SYS_NONE)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot update column \"%s\" of foreign table \"%s\"",
								c->attname, RelationGetRelationName(rel)),
						 errdetail("The column maps CloudKit system field \"%s\", which CloudKit sets itself.",
								   ckfdw_system_field_name(c->system)),
						 c->system == CKFDW_SYS_RECORD_NAME ?
						 errhint("A record cannot be renamed: insert a copy under the new name and delete the old record.") : 0));
			if (!all)
				target_attrs = lappend_int(target_attrs, attno);
		}

		/* a BEFORE ROW UPDATE trigger may change any column: send all */
		for (i = 0; all && i < ncolumns; i++)
		{
			if (!columns[i].dropped && columns[i].system == CKFDW_SYS_NONE)
				target_attrs = lappend_int(target_attrs, columns[i].attnum);
		}
	}

	if (plan->returningLists)
		has_returning = (list_nth(plan->returningLists, subplan_index) != NIL);

	/* ON CONFLICT DO NOTHING: a record that exists is skipped */
	if (plan->onConflictAction == ONCONFLICT_NOTHING)
		do_nothing = true;
	else if (plan->onConflictAction != ONCONFLICT_NONE)
		elog(ERROR, "unexpected ON CONFLICT specification: %d",
			 (int) plan->onConflictAction);

	table_close(rel, NoLock);

	return list_make3(target_attrs, makeInteger(has_returning ? 1 : 0),
					  makeInteger(do_nothing ? 1 : 0));
}

/*
 * ckfdwIsForeignRelUpdatable
 *		Every ckfdw table takes INSERT, UPDATE and DELETE; CloudKit's grants
 *		decide at run time.
 */
static int
ckfdwIsForeignRelUpdatable(Relation rel)
{
	return (1 << CMD_INSERT) | (1 << CMD_UPDATE) | (1 << CMD_DELETE);
}

/* ----------------------------------------------------------------
 * Executor callbacks
 * ----------------------------------------------------------------
 */

/*
 * ckfdwBeginForeignModify
 *		Begin an insert/update/delete operation on a foreign table
 */
static void
ckfdwBeginForeignModify(ModifyTableState *mtstate, ResultRelInfo *resultRelInfo,
						List *fdw_private, int subplan_index, int eflags)
{
	EState	   *estate = mtstate->ps.state;
	CmdType		operation = mtstate->operation;
	CkFdwModifyState *fmstate;
	RangeTblEntry *rte;
	Oid			userid;

	/* Do nothing in EXPLAIN (no ANALYZE) case: ri_FdwState stays NULL. */
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	/* the user to act as, as ExecCheckRTEPerms() does */
	rte = exec_rt_fetch(resultRelInfo->ri_RangeTableIndex, estate);
	userid = rte->checkAsUser ? rte->checkAsUser : GetUserId();

	fmstate = create_modify_state(estate, resultRelInfo, userid, operation,
								  (List *) list_nth(fdw_private, FdwModifyPrivateTargetAttnums),
								  intVal(list_nth(fdw_private, FdwModifyPrivateHasReturning)) != 0,
								  intVal(list_nth(fdw_private, FdwModifyPrivateDoNothing)) != 0);

	if (operation == CMD_UPDATE || operation == CMD_DELETE)
	{
		Plan	   *subplan = outerPlanState(mtstate)->plan;

		fmstate->handle_attno = ExecFindJunkAttributeInTlist(subplan->targetlist,
															 CKFDW_JUNK_RECORD_NAME);
		if (!AttributeNumberIsValid(fmstate->handle_attno))
			elog(ERROR, "could not find junk %s column", CKFDW_JUNK_RECORD_NAME);
		if (operation == CMD_DELETE && fmstate->has_returning)
		{
			fmstate->old_row_attno = ExecFindJunkAttributeInTlist(subplan->targetlist,
																  CKFDW_JUNK_OLD_ROW);
			if (!AttributeNumberIsValid(fmstate->old_row_attno))
				elog(ERROR, "could not find junk %s column", CKFDW_JUNK_OLD_ROW);
		}
		fmstate->registry = get_registry(estate, true);
	}

	resultRelInfo->ri_FdwState = fmstate;
}

/*
 * ckfdwBeginForeignInsert
 *		Begin an insert operation on a foreign table routed from a partitioned
 *		table, or of COPY FROM
 */
static void
ckfdwBeginForeignInsert(ModifyTableState *mtstate, ResultRelInfo *resultRelInfo)
{
	/* COPY has a ModifyTableState without a plan */
	ModifyTable *plan = castNode(ModifyTable, mtstate->ps.plan);
	EState	   *estate = mtstate->ps.state;
	Relation	rel = resultRelInfo->ri_RelationDesc;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	RangeTblEntry *rte;
	Oid			userid;
	List	   *target_attrs = NIL;
	bool		do_nothing = false;
	int			attnum;

	/*
	 * Rows routed into a foreign table that the same UPDATE updates later
	 * would be updated again (postgres_fdw refuses this too).
	 */
	if (plan && plan->operation == CMD_UPDATE && resultRelInfo->ri_FdwState)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot route tuples into foreign table to be updated \"%s\"",
						RelationGetRelationName(rel))));

	for (attnum = 1; attnum <= tupdesc->natts; attnum++)
	{
		if (!TupleDescAttr(tupdesc, attnum - 1)->attisdropped)
			target_attrs = lappend_int(target_attrs, attnum);
	}

	if (plan)
	{
		if (plan->onConflictAction == ONCONFLICT_NOTHING)
			do_nothing = true;
		else if (plan->onConflictAction != ONCONFLICT_NONE)
			elog(ERROR, "unexpected ON CONFLICT specification: %d",
				 (int) plan->onConflictAction);
	}

	/* a partition routed to has no range table entry of its own */
	if (resultRelInfo->ri_RangeTableIndex == 0)
		rte = exec_rt_fetch(resultRelInfo->ri_RootResultRelInfo->ri_RangeTableIndex,
							estate);
	else
		rte = exec_rt_fetch(resultRelInfo->ri_RangeTableIndex, estate);
	userid = rte->checkAsUser ? rte->checkAsUser : GetUserId();

	resultRelInfo->ri_FdwState =
		create_modify_state(estate, resultRelInfo, userid, CMD_INSERT,
							target_attrs, resultRelInfo->ri_returningList != NIL,
							do_nothing);
}

/* The table options of writes (validated by ckfdw_validator). */
static void
read_write_options(ForeignTable *table, CkFdwWriteOptions *wopts)
{
	char	   *value;

	wopts->insert_mode = CKFDW_INSERT_CREATE;
	wopts->force = false;
	wopts->atomic = false;

	value = ckfdw_option_value(table->options, "insert_mode");
	if (value != NULL && strcmp(value, "replace") == 0)
		wopts->insert_mode = CKFDW_INSERT_REPLACE;
	else if (value != NULL && strcmp(value, "merge") == 0)
		wopts->insert_mode = CKFDW_INSERT_MERGE;

	value = ckfdw_option_value(table->options, "force");
	if (value != NULL)
		(void) parse_bool(value, &wopts->force);
	value = ckfdw_option_value(table->options, "atomic");
	if (value != NULL)
		(void) parse_bool(value, &wopts->atomic);
}

/* The CloudKit operationType a statement's rows become. */
static const char *
operation_type(CmdType operation, const CkFdwWriteOptions *wopts)
{
	switch (operation)
	{
		case CMD_INSERT:
			if (wopts->insert_mode == CKFDW_INSERT_REPLACE)
				return "forceReplace";
			if (wopts->insert_mode == CKFDW_INSERT_MERGE)
				return "forceUpdate";
			return "create";
		case CMD_UPDATE:
			return wopts->force ? "forceUpdate" : "update";
		case CMD_DELETE:
			return wopts->force ? "forceDelete" : "delete";
		default:
			elog(ERROR, "unexpected operation %d", (int) operation);
	}
	return NULL;				/* keep compiler quiet */
}

/*
 * Build the execution state of a modify.
 */
static CkFdwModifyState *
create_modify_state(EState *estate, ResultRelInfo *rinfo, Oid userid,
					CmdType operation, List *target_attrs, bool has_returning,
					bool do_nothing)
{
	Relation	rel = rinfo->ri_RelationDesc;
	ForeignTable *table = GetForeignTable(RelationGetRelid(rel));
	ForeignServer *server = GetForeignServer(table->serverid);
	UserMapping *user = GetUserMapping(userid, server->serverid);
	CkFdwModifyState *fmstate;
	MemoryContext cxt;
	MemoryContext oldcxt;
	StringInfoData buf;
	int			i;

	cxt = AllocSetContextCreate(estate->es_query_cxt, "ckfdw modify state",
								ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);

	fmstate = (CkFdwModifyState *) palloc0(sizeof(CkFdwModifyState));
	fmstate->cxt = cxt;
	fmstate->batch_cxt = AllocSetContextCreate(cxt, "ckfdw modify batch",
											   ALLOCSET_DEFAULT_SIZES);
	fmstate->rel = rel;
	fmstate->relname = pstrdup(RelationGetRelationName(rel));
	fmstate->operation = operation;
	fmstate->options = ckfdw_get_options(server, table, rel);
	read_write_options(table, &fmstate->wopts);
	fmstate->op_type = operation_type(operation, &fmstate->wopts);
	fmstate->target_attrs = list_copy(target_attrs);
	fmstate->has_returning = has_returning;
	fmstate->do_nothing = do_nothing;
	fmstate->batch_size = fmstate->options->batch_size;
	fmstate->pending = palloc0(sizeof(CkFdwPendingOp) * fmstate->batch_size);

	if (fmstate->wopts.atomic &&
		strcmp(fmstate->options->zone, CKFDW_DEFAULT_ZONE) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("option \"atomic\" of foreign table \"%s\" needs a custom zone",
						fmstate->relname),
				 errdetail("CloudKit ignores \"atomic\" in the default zone: each record succeeds or fails on its own."),
				 errhint("Drop the option, or set option \"zone\" to a custom zone of the private database.")));

	fmstate->columns = ckfdw_get_columns(rel, &fmstate->ncolumns);
	fmstate->wcolumns = palloc0(sizeof(CkFdwWriteColumn) * Max(fmstate->ncolumns, 1));
	for (i = 0; i < fmstate->ncolumns; i++)
	{
		ckfdw_init_write_column(&fmstate->wcolumns[i], &fmstate->columns[i], rel);
		if (!fmstate->columns[i].dropped)
			fmstate->all_attrs = lappend_int(fmstate->all_attrs,
											 fmstate->columns[i].attnum);
	}

	initStringInfo(&buf);
	ckfdw_append_json_string(&buf, fmstate->options->record_type);
	fmstate->record_type_json = buf.data;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "\"zoneID\":{\"zoneName\":");
	ckfdw_append_json_string(&buf, fmstate->options->zone);
	if (fmstate->options->zone_owner != NULL)
	{
		appendStringInfoString(&buf, ",\"ownerRecordName\":");
		ckfdw_append_json_string(&buf, fmstate->options->zone_owner);
	}
	appendStringInfoChar(&buf, '}');
	fmstate->zone_json = buf.data;

	/* RETURNING needs the saved fields; otherwise CloudKit need send none */
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	if (has_returning)
	{
		bool		first = true;

		for (i = 0; i < fmstate->ncolumns; i++)
		{
			CkFdwColumn *col = &fmstate->columns[i];
			int			j;
			bool		dup = false;

			if (col->dropped || col->system != CKFDW_SYS_NONE)
				continue;
			for (j = 0; j < i; j++)
			{
				if (!fmstate->columns[j].dropped &&
					fmstate->columns[j].system == CKFDW_SYS_NONE &&
					strcmp(fmstate->columns[j].field_utf8, col->field_utf8) == 0)
					dup = true;
			}
			if (dup)
				continue;
			if (!first)
				appendStringInfoChar(&buf, ',');
			escape_json(&buf, col->field_utf8);
			first = false;
		}
	}
	appendStringInfoChar(&buf, ']');
	fmstate->desired_keys = buf.data;

	fmstate->info.operation = "records/modify";
	fmstate->info.record_type = fmstate->options->record_type;
	fmstate->info.zone = fmstate->options->zone;
	fmstate->info.relname = fmstate->relname;

	fmstate->conn = ckfdw_get_connection(user, server, fmstate->options);

	/* asset content: downloaded for RETURNING, uploaded when written */
	ckfdw_asset_reader_attach(fmstate->columns, fmstate->ncolumns, fmstate->conn,
							  fmstate->options, fmstate->relname);
	fmstate->uploads = ckfdw_asset_uploads_begin(fmstate->wcolumns, fmstate->ncolumns,
												 fmstate->conn, fmstate->options,
												 fmstate->relname);

	MemoryContextSwitchTo(oldcxt);
	return fmstate;
}

/*
 * May rows be buffered and sent in batches?  Only when nothing needs a
 * row's outcome before the next row: no RETURNING, no triggers (a BEFORE
 * trigger may read the table, an AFTER trigger sees the row), no WITH CHECK
 * OPTION, and no ON CONFLICT DO NOTHING (whose row count depends on the
 * answer).  ri_projectReturning and ri_WithCheckOptions are set after
 * BeginForeignModify, so this is decided at the first row.
 */
static bool
can_buffer(CkFdwModifyState *fmstate, ResultRelInfo *rinfo)
{
	if (!fmstate->buffering_known)
	{
		fmstate->buffering = !fmstate->has_returning &&
			rinfo->ri_projectReturning == NULL &&
			rinfo->ri_WithCheckOptions == NIL &&
			rinfo->ri_TrigDesc == NULL &&
			!fmstate->do_nothing;
		fmstate->buffering_known = true;
	}
	return fmstate->buffering;
}

/*
 * ckfdwExecForeignInsert
 *		Insert one row into a foreign table
 *
 * Called for INSERT when batching is off (RETURNING, triggers, batch_size
 * 1) and for COPY, whose rows we buffer ourselves when we may.
 */
static TupleTableSlot *
ckfdwExecForeignInsert(EState *estate, ResultRelInfo *resultRelInfo,
					   TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	CkFdwModifyState *fmstate = (CkFdwModifyState *) resultRelInfo->ri_FdwState;
	MemoryContext oldcxt;
	CkFdwPendingOp op;

	oldcxt = MemoryContextSwitchTo(fmstate->batch_cxt);
	build_insert_op(fmstate, slot, &op);
	MemoryContextSwitchTo(oldcxt);

	/* ON CONFLICT DO NOTHING may skip it */
	return queue_or_send(fmstate, resultRelInfo, &op, slot) ? slot : NULL;
}

/*
 * ckfdwExecForeignBatchInsert
 *		Insert multiple rows into a foreign table: one request of up to
 *		batch_size operations
 */
static TupleTableSlot **
ckfdwExecForeignBatchInsert(EState *estate, ResultRelInfo *resultRelInfo,
							TupleTableSlot **slots, TupleTableSlot **planSlots,
							int *numSlots)
{
	CkFdwModifyState *fmstate = (CkFdwModifyState *) resultRelInfo->ri_FdwState;
	int64		skipped = fmstate->skipped;
	int			i;

	flush_pending(fmstate);
	for (i = 0; i < *numSlots; i++)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(fmstate->batch_cxt);
		CkFdwPendingOp op;

		build_insert_op(fmstate, slots[i], &op);
		MemoryContextSwitchTo(oldcxt);
		add_pending(fmstate, &op);
	}
	flush_pending(fmstate);

	/* only the number counts: no RETURNING or triggers with batches */
	*numSlots -= (int) (fmstate->skipped - skipped);
	return slots;
}

/*
 * ckfdwGetForeignModifyBatchSize
 *		Determine the maximum number of tuples that can be inserted in bulk
 */
static int
ckfdwGetForeignModifyBatchSize(ResultRelInfo *resultRelInfo)
{
	CkFdwModifyState *fmstate = (CkFdwModifyState *) resultRelInfo->ri_FdwState;
	int			batch_size;

	/* in EXPLAIN without ANALYZE there is no state: read the options */
	if (fmstate != NULL)
		batch_size = fmstate->batch_size;
	else
	{
		Relation	rel = resultRelInfo->ri_RelationDesc;
		ForeignTable *table = GetForeignTable(RelationGetRelid(rel));
		ForeignServer *server = GetForeignServer(table->serverid);

		batch_size = ckfdw_get_options(server, table, rel)->batch_size;
	}

	/*
	 * Disable batching when we have to use RETURNING, there are any
	 * BEFORE/AFTER ROW INSERT triggers on the foreign table, or there are any
	 * WITH CHECK OPTION constraints from parent views (postgres_fdw's rule).
	 */
	if (resultRelInfo->ri_projectReturning != NULL ||
		resultRelInfo->ri_WithCheckOptions != NIL ||
		(resultRelInfo->ri_TrigDesc &&
		 (resultRelInfo->ri_TrigDesc->trig_insert_before_row ||
		  resultRelInfo->ri_TrigDesc->trig_insert_after_row)))
		return 1;

	return batch_size;
}

/*
 * Queue op for the next batch or, when this statement cannot be batched,
 * send it now, reading what CloudKit saved into returning_slot (NULL: don't).
 * Returns false when CloudKit skipped the record (ON CONFLICT DO NOTHING, or a
 * forced delete of a record already gone).
 */
static bool
queue_or_send(CkFdwModifyState *fmstate, ResultRelInfo *resultRelInfo,
			  CkFdwPendingOp *op, TupleTableSlot *returning_slot)
{
	int			written;

	if (can_buffer(fmstate, resultRelInfo))
	{
		add_pending(fmstate, op);
		return true;
	}

	/* not buffering: nothing is queued */
	Assert(fmstate->npending == 0);
	written = send_operations(fmstate, op, 1,
							  fmstate->has_returning ? returning_slot : NULL);
	MemoryContextReset(fmstate->batch_cxt);
	return written > 0;
}

/*
 * The record name and change tag the scan read for the row to update or
 * delete, found through the handle in its junk column and taken out of the
 * registry.  False when this statement modified the row already (a join
 * produced it twice).
 */
static bool
take_target_row(CkFdwModifyState *fmstate, TupleTableSlot *planSlot,
				char **record_name, char **change_tag)
{
	Datum		datum;
	bool		isnull;

	datum = ExecGetJunkAttribute(planSlot, fmstate->handle_attno, &isnull);
	if (isnull)
		elog(ERROR, "ckfdw: %s is NULL", CKFDW_JUNK_RECORD_NAME);
	return take_row(fmstate->registry, (ItemPointer) DatumGetPointer(datum),
					record_name, change_tag);
}

/*
 * ckfdwExecForeignUpdate
 *		Update one row in a foreign table
 */
static TupleTableSlot *
ckfdwExecForeignUpdate(EState *estate, ResultRelInfo *resultRelInfo,
					   TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	CkFdwModifyState *fmstate = (CkFdwModifyState *) resultRelInfo->ri_FdwState;
	MemoryContext oldcxt;
	CkFdwPendingOp op;
	char	   *record_name;
	char	   *change_tag;

	oldcxt = MemoryContextSwitchTo(fmstate->batch_cxt);
	if (!take_target_row(fmstate, planSlot, &record_name, &change_tag))
	{
		/* this statement updated the row already */
		MemoryContextSwitchTo(oldcxt);
		return NULL;
	}
	build_update_op(fmstate, slot, record_name, change_tag, &op);
	MemoryContextSwitchTo(oldcxt);

	return queue_or_send(fmstate, resultRelInfo, &op, slot) ? slot : NULL;
}

/*
 * ckfdwExecForeignDelete
 *		Delete one row from a foreign table
 */
static TupleTableSlot *
ckfdwExecForeignDelete(EState *estate, ResultRelInfo *resultRelInfo,
					   TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	CkFdwModifyState *fmstate = (CkFdwModifyState *) resultRelInfo->ri_FdwState;
	MemoryContext oldcxt;
	CkFdwPendingOp op;
	Datum		datum;
	bool		isnull;
	char	   *record_name;
	char	   *change_tag;

	oldcxt = MemoryContextSwitchTo(fmstate->batch_cxt);
	if (!take_target_row(fmstate, planSlot, &record_name, &change_tag))
	{
		MemoryContextSwitchTo(oldcxt);
		return NULL;
	}
	build_delete_op(fmstate, record_name, change_tag, &op);
	MemoryContextSwitchTo(oldcxt);

	/* CloudKit answers a delete with the record name only */
	if (!queue_or_send(fmstate, resultRelInfo, &op, NULL))
		return NULL;			/* force: it was gone already */

	/* RETURNING shows the row as it was read (and deleted) */
	if (fmstate->has_returning)
	{
		HeapTupleHeader td;
		HeapTupleData tuple;

		datum = ExecGetJunkAttribute(planSlot, fmstate->old_row_attno, &isnull);
		if (isnull)
			elog(ERROR, "ckfdw: %s is NULL", CKFDW_JUNK_OLD_ROW);
		td = DatumGetHeapTupleHeader(datum);
		tuple.t_len = HeapTupleHeaderGetDatumLength(td);
		ItemPointerSetInvalid(&tuple.t_self);
		tuple.t_tableOid = RelationGetRelid(fmstate->rel);
		tuple.t_data = td;
		ExecForceStoreHeapTuple(&tuple, slot, false);
		ExecMaterializeSlot(slot);
	}
	return slot;
}

/*
 * ckfdwEndForeignModify
 *		Finish an insert/update/delete operation on a foreign table: send the
 *		buffered operations
 */
static void
ckfdwEndForeignModify(EState *estate, ResultRelInfo *resultRelInfo)
{
	CkFdwModifyState *fmstate = (CkFdwModifyState *) resultRelInfo->ri_FdwState;

	/* if fmstate is NULL, we are in EXPLAIN; nothing to do */
	if (fmstate == NULL)
		return;
	end_modify(fmstate);
}

/*
 * ckfdwEndForeignInsert
 *		Finish an insert operation on a foreign table
 */
static void
ckfdwEndForeignInsert(EState *estate, ResultRelInfo *resultRelInfo)
{
	CkFdwModifyState *fmstate = (CkFdwModifyState *) resultRelInfo->ri_FdwState;

	Assert(fmstate != NULL);
	end_modify(fmstate);
}

static void
end_modify(CkFdwModifyState *fmstate)
{
	if (fmstate->conn != NULL)
		drain_batches(fmstate);
	if (fmstate->conn != NULL)
		ckfdw_release_connection(fmstate->conn);
	fmstate->conn = NULL;
	/* the state stays until the query ends: EXPLAIN ANALYZE may print it */
	MemoryContextReset(fmstate->batch_cxt);
}

/*
 * ckfdwExplainForeignModify
 *		Produce extra output for EXPLAIN of a ModifyTable on a foreign table
 */
static void
ckfdwExplainForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
						  List *fdw_private, int subplan_index,
						  ExplainState *es)
{
	CkFdwModifyState *fmstate = (CkFdwModifyState *) rinfo->ri_FdwState;
	Relation	rel = rinfo->ri_RelationDesc;
	ForeignTable *table = GetForeignTable(RelationGetRelid(rel));
	CkFdwWriteOptions wopts;
	const char *op_type;

	/*
	 * EXPLAIN ANALYZE prints before ExecutorEnd, which would send the last
	 * batch: send it now, so that the counts are complete.
	 */
	if (fmstate != NULL && es->analyze && fmstate->conn != NULL)
		drain_batches(fmstate);

	read_write_options(table, &wopts);
	op_type = operation_type(mtstate->operation, &wopts);
	ExplainPropertyText("CloudKit Operation",
						psprintf("records/modify (%s)", op_type), es);

	if (es->verbose)
	{
		int			batch_size;

		if (mtstate->operation == CMD_INSERT)
			batch_size = rinfo->ri_BatchSize;
		else
		{
			ForeignServer *server = GetForeignServer(table->serverid);

			batch_size = ckfdw_get_options(server, table, rel)->batch_size;
			if (rinfo->ri_projectReturning != NULL ||
				rinfo->ri_WithCheckOptions != NIL || rinfo->ri_TrigDesc != NULL)
				batch_size = 1;
		}
		ExplainPropertyInteger("Batch Size", NULL, batch_size, es);
		if (wopts.atomic)
			ExplainPropertyBool("CloudKit Atomic", true, es);
	}

	if (es->analyze && fmstate != NULL)
	{
		ExplainPropertyInteger("CloudKit Requests", NULL, fmstate->requests, es);
		ExplainPropertyInteger("CloudKit Records Written", NULL, fmstate->written, es);
	}
}

/* ----------------------------------------------------------------
 * Building operations
 * ----------------------------------------------------------------
 */

/*
 * An INSERT's row as a create (or forceReplace/forceUpdate) operation.
 * Called in batch_cxt.
 */
static void
build_insert_op(CkFdwModifyState *fmstate, TupleTableSlot *slot,
				CkFdwPendingOp *op)
{
	StringInfoData buf;
	char	   *name = NULL;
	const char *name_col = NULL;
	ListCell   *lc;

	slot_getallattrs(slot);

	/* the record name, and no value for what CloudKit sets itself */
	foreach(lc, fmstate->target_attrs)
	{
		int			attnum = lfirst_int(lc);
		CkFdwColumn *col = &fmstate->columns[attnum - 1];

		if (col->system == CKFDW_SYS_NONE || slot->tts_isnull[attnum - 1])
			continue;
		if (col->system == CKFDW_SYS_RECORD_NAME)
		{
			char	   *value = TextDatumGetCString(slot->tts_values[attnum - 1]);

			check_record_name(value, col->attname);
			if (name != NULL && strcmp(name, value) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("columns \"%s\" and \"%s\" of foreign table \"%s\" give different record names",
								name_col, col->attname, fmstate->relname)));
			name = value;
			name_col = col->attname;
			continue;
		}
		ereport(ERROR,
				(errcode(ERRCODE_GENERATED_ALWAYS),
				 errmsg("cannot insert a value into column \"%s\" of foreign table \"%s\"",
						col->attname, fmstate->relname),
				 errdetail("The column maps CloudKit system field \"%s\", which CloudKit sets itself.",
						   ckfdw_system_field_name(col->system)),
				 errhint("Leave the column out of the INSERT, or insert NULL.")));
	}
	if (name == NULL)
		name = generate_record_name();

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"operationType\":\"%s\",\"record\":{\"recordName\":",
					 fmstate->op_type);
	escape_json(&buf, name);
	appendStringInfoString(&buf, ",\"recordType\":");
	appendStringInfoString(&buf, fmstate->record_type_json);
	appendStringInfoString(&buf, ",\"fields\":{");
	/* merge (forceUpdate) clears the fields NULL stands for */
	append_fields(fmstate, &buf, slot,
				  fmstate->wopts.insert_mode == CKFDW_INSERT_MERGE, name);
	appendStringInfoString(&buf, "}}}");

	op->json = buf.data;
	op->len = buf.len;
	op->record_name = name;
}

/*
 * An UPDATE's row: only the changed fields, NULL clearing a field.
 */
static void
build_update_op(CkFdwModifyState *fmstate, TupleTableSlot *slot,
				const char *record_name, const char *change_tag,
				CkFdwPendingOp *op)
{
	StringInfoData buf;

	if (change_tag == NULL && !fmstate->wopts.force)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("CloudKit sent record \"%s\" without a recordChangeTag, so it cannot be updated safely",
						ckfdw_message_text(record_name)),
				 errhint("Set the foreign table option \"force\" to update without a change tag.")));

	slot_getallattrs(slot);

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"operationType\":\"%s\",\"record\":{\"recordName\":",
					 fmstate->op_type);
	escape_json(&buf, record_name);
	appendStringInfoString(&buf, ",\"recordType\":");
	appendStringInfoString(&buf, fmstate->record_type_json);
	if (!fmstate->wopts.force)
	{
		appendStringInfoString(&buf, ",\"recordChangeTag\":");
		escape_json(&buf, change_tag);
	}
	appendStringInfoString(&buf, ",\"fields\":{");
	append_fields(fmstate, &buf, slot, true, record_name);
	appendStringInfoString(&buf, "}}}");

	op->json = buf.data;
	op->len = buf.len;
	op->record_name = pstrdup(record_name);
}

static void
build_delete_op(CkFdwModifyState *fmstate, const char *record_name,
				const char *change_tag, CkFdwPendingOp *op)
{
	StringInfoData buf;

	if (change_tag == NULL && !fmstate->wopts.force)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("CloudKit sent record \"%s\" without a recordChangeTag, so it cannot be deleted safely",
						ckfdw_message_text(record_name)),
				 errhint("Set the foreign table option \"force\" to delete without a change tag.")));

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"operationType\":\"%s\",\"record\":{\"recordName\":",
					 fmstate->op_type);
	escape_json(&buf, record_name);
	if (!fmstate->wopts.force)
	{
		appendStringInfoString(&buf, ",\"recordChangeTag\":");
		escape_json(&buf, change_tag);
	}
	appendStringInfoString(&buf, "}}");

	op->json = buf.data;
	op->len = buf.len;
	op->record_name = pstrdup(record_name);
}

/*
 * The "fields" members of the written columns.  A NULL is omitted (create,
 * replace: the field stays empty) or sent as {"value": null}, which clears
 * the field (update, merge).  Two columns writing one field is an error
 * unless one of them is an omitted NULL.
 */
static void
append_fields(CkFdwModifyState *fmstate, StringInfo buf, TupleTableSlot *slot,
			  bool send_nulls, const char *record_name)
{
	EncodeLocation loc;
	ErrorContextCallback errcallback;
	const char **written = palloc0(sizeof(char *) * Max(fmstate->ncolumns, 1));
	int			nwritten = 0;
	ListCell   *lc;

	loc.fmstate = fmstate;
	loc.column = NULL;
	loc.record_name = record_name;
	errcallback.callback = encode_error_callback;
	errcallback.arg = &loc;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	foreach(lc, fmstate->target_attrs)
	{
		int			attnum = lfirst_int(lc);
		CkFdwColumn *col = &fmstate->columns[attnum - 1];
		bool		isnull = slot->tts_isnull[attnum - 1];
		int			i;

		if (col->dropped || col->system != CKFDW_SYS_NONE)
			continue;
		if (isnull && !send_nulls)
			continue;
		loc.column = col;

		for (i = 0; i < nwritten; i++)
		{
			if (strcmp(written[i], col->field_utf8) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("two columns of foreign table \"%s\" write CloudKit field \"%s\"",
								fmstate->relname, col->field),
						 errhint("Write the field through one column only; leave the other out or NULL.")));
		}
		written[nwritten++] = col->field_utf8;

		if (nwritten > 1)
			appendStringInfoChar(buf, ',');
		escape_json(buf, col->field_utf8);
		appendStringInfoChar(buf, ':');
		if (isnull)
			appendStringInfoString(buf, "{\"value\":null}");
		else
			ckfdw_append_field_value(buf, &fmstate->wcolumns[attnum - 1],
									 slot->tts_values[attnum - 1]);
	}

	error_context_stack = errcallback.previous;
}

/* errcontext of a value that cannot be written */
static void
encode_error_callback(void *arg)
{
	EncodeLocation *loc = (EncodeLocation *) arg;

	if (loc->column == NULL)
		return;
	if (loc->record_name != NULL)
		errcontext("column \"%s\" of foreign table \"%s\", CloudKit field \"%s\" of record \"%s\"",
				   loc->column->attname, loc->fmstate->relname, loc->column->field,
				   ckfdw_message_text(loc->record_name));
	else
		errcontext("column \"%s\" of foreign table \"%s\", CloudKit field \"%s\"",
				   loc->column->attname, loc->fmstate->relname, loc->column->field);
}

/* A fresh record name: an upper-case version 4 UUID, as CloudKit makes. */
static char *
generate_record_name(void)
{
	uint8		b[16];

	if (!pg_strong_random(b, sizeof(b)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random record name")));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	return psprintf("%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X",
					b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
					b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* CloudKit record names are 1 to 255 printable ASCII characters. */
static void
check_record_name(const char *name, const char *attname)
{
	const unsigned char *p;

	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a CloudKit record name cannot be empty"),
				 errdetail("Column \"%s\" holds the record name.", attname),
				 errhint("Insert NULL to let ckfdw name the record with a UUID.")));
	if (strlen(name) > CKFDW_MAX_RECORD_NAME_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("CloudKit record name is longer than %d characters",
						CKFDW_MAX_RECORD_NAME_LEN),
				 errdetail("Column \"%s\" holds the record name.", attname)));
	for (p = (const unsigned char *) name; *p; p++)
	{
		if (*p < 0x20 || *p >= 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("CloudKit record name \"%s\" contains a character other than printable ASCII",
							name),
					 errdetail("Column \"%s\" holds the record name.", attname)));
	}
}

/* ----------------------------------------------------------------
 * Sending operations
 * ----------------------------------------------------------------
 */

/*
 * Queue an operation.  CloudKit takes one operation per record and request,
 * so a second one for the same record sends the queue first.
 */
static void
add_pending(CkFdwModifyState *fmstate, CkFdwPendingOp *op)
{
	bool		dup = false;
	int			i;

	for (i = 0; i < fmstate->npending && !dup; i++)
		dup = (strcmp(fmstate->pending[i].record_name, op->record_name) == 0);

	if (dup)
	{
		/* op lives in batch_cxt, which the flush resets: keep a copy */
		char	   *json = MemoryContextStrdup(fmstate->cxt, op->json);
		char	   *name = MemoryContextStrdup(fmstate->cxt, op->record_name);
		int			len = op->len;

		flush_pending(fmstate);
		fmstate->pending[0].json = MemoryContextStrdup(fmstate->batch_cxt, json);
		fmstate->pending[0].len = len;
		fmstate->pending[0].record_name = MemoryContextStrdup(fmstate->batch_cxt, name);
		fmstate->npending = 1;
		pfree(json);
		pfree(name);
	}
	else
		fmstate->pending[fmstate->npending++] = *op;

	if (fmstate->npending >= fmstate->batch_size ||
		(fmstate->uploads != NULL && ckfdw_asset_uploads_full(fmstate->uploads)))
		flush_pending(fmstate);
}

/*
 * Send the queued operations, if any.  ON CONFLICT DO NOTHING needs each
 * batch's answer before the next rows (PostgreSQL counts the rows a batch
 * inserted at once), and ckfdw.max_writes_in_flight = 1 asks for one
 * request at a time; everything else goes into the pipeline.
 */
static void
flush_pending(CkFdwModifyState *fmstate)
{
	int			n = fmstate->npending;

	if (n == 0)
		return;
	/* nothing is left queued if this fails: the statement fails with it */
	fmstate->npending = 0;
	if (fmstate->do_nothing || ckfdw_max_writes_in_flight <= 1)
		send_operations(fmstate, fmstate->pending, n, NULL);
	else
	{
		start_batch(fmstate, fmstate->pending, n);
		/* get it going; the transport may have answered some already */
		ckfdw_poll_requests(fmstate->conn);
		reap_done_batches();
	}
	MemoryContextReset(fmstate->batch_cxt);
}

/*
 * Send operations in one records/modify request, wait for its answer and
 * check every result.  Returns the number of records written (ON CONFLICT
 * DO NOTHING and forceDelete of a missing record write none); any failure
 * is an error.  returning_slot (one operation only) gets the saved record.
 * Other batches stay in flight meanwhile.
 */
static int
send_operations(CkFdwModifyState *fmstate, CkFdwPendingOp *ops, int n,
				TupleTableSlot *returning_slot)
{
	CkFdwWriteBatch *batch;

	if (n == 0)
		return 0;
	batch = start_batch(fmstate, ops, n);
	wait_for_batch(batch);
	return complete_batch(batch, returning_slot);
}

/* ----------------------------------------------------------------
 * The pipeline: records/modify requests in flight
 * ----------------------------------------------------------------
 */

/*
 * Start a request of n operations, once a slot is free (at most
 * ckfdw.max_writes_in_flight requests) and no request in flight touches a
 * record of this one.  The operations are copied: the caller may reset
 * their memory.
 */
static CkFdwWriteBatch *
start_batch(CkFdwModifyState *fmstate, CkFdwPendingOp *ops, int n)
{
	CkFdwWriteBatch *batch;
	MemoryContext cxt;
	MemoryContext oldcxt;
	StringInfoData body;
	const char **names;
	int		   *offsets;
	int			i;

	CHECK_FOR_INTERRUPTS();

	/* asset content first: the operations then carry the upload receipts */
	if (fmstate->uploads != NULL)
	{
		for (i = 0; i < n; i++)
			ops[i].json = ckfdw_asset_fill(fmstate->uploads, ops[i].json, &ops[i].len);
	}

	/* the record names, sorted: the same in two batches makes one wait */
	names = palloc(sizeof(char *) * n);
	for (i = 0; i < n; i++)
		names[i] = ops[i].record_name;
	qsort(names, n, sizeof(char *), compare_names);
	wait_for_conflicts(names, n);
	wait_for_slot();
	pfree(names);

	cxt = AllocSetContextCreate(fmstate->cxt, "ckfdw write batch",
								ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	batch = palloc0(sizeof(CkFdwWriteBatch));
	batch->owner = fmstate;
	batch->cxt = cxt;
	batch->nops = n;
	batch->subxid = GetCurrentSubTransactionId();

	/* the body; the operations then point into it (to split it) */
	offsets = palloc(sizeof(int) * n);
	initStringInfo(&body);
	appendStringInfoString(&body, "{\"operations\":[");
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(&body, ',');
		offsets[i] = body.len;
		appendBinaryStringInfo(&body, ops[i].json, ops[i].len);
	}
	appendStringInfoString(&body, "],");
	appendStringInfoString(&body, fmstate->zone_json);
	appendStringInfo(&body, ",\"atomic\":%s,\"desiredKeys\":%s}",
					 fmstate->wopts.atomic ? "true" : "false",
					 fmstate->desired_keys);
	batch->body = body.data;
	batch->ops = palloc(sizeof(CkFdwPendingOp) * n);
	batch->names = palloc(sizeof(char *) * n);
	for (i = 0; i < n; i++)
	{
		batch->ops[i].json = body.data + offsets[i];
		batch->ops[i].len = ops[i].len;
		batch->ops[i].record_name = pstrdup(ops[i].record_name);
		batch->names[i] = batch->ops[i].record_name;
	}
	qsort(batch->names, n, sizeof(char *), compare_names);
	pfree(offsets);
	MemoryContextSwitchTo(oldcxt);

	/* an abort deletes the memory: the request goes with it */
	batch->cb.func = forget_batch;
	batch->cb.arg = batch;
	MemoryContextRegisterResetCallback(cxt, &batch->cb);
	if (!writes_callbacks_registered)
	{
		/* after connection.c's: ours run first, while clients live */
		RegisterXactCallback(writes_xact_callback, NULL);
		RegisterSubXactCallback(writes_subxact_callback, NULL);
		writes_callbacks_registered = true;
	}

	/* a modify is not idempotent: the transport never sends it twice */
	oldcxt = MemoryContextSwitchTo(cxt);
	batch->req = ckfdw_start_request(fmstate->conn, "POST", body.data, 0,
									 &fmstate->info);
	MemoryContextSwitchTo(oldcxt);
	if (writes_tail != NULL)
		writes_tail->next = batch;
	else
		writes_head = batch;
	writes_tail = batch;
	writes_in_flight++;
	ckfdw_tally_in_flight(n, 1);
	return batch;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Do two sorted lists of record names share one? */
static bool
names_intersect(const char **a, int na, const char **b, int nb)
{
	int			i = 0;
	int			j = 0;

	while (i < na && j < nb)
	{
		int			c = strcmp(a[i], b[j]);

		if (c == 0)
			return true;
		if (c < 0)
			i++;
		else
			j++;
	}
	return false;
}

/*
 * Answers are checked in the order the requests were sent, so that a
 * statement that fails names the same first failing record however the
 * answers arrive.  The oldest request is the one to wait for.
 */
static void
complete_oldest_batch(void)
{
	CkFdwWriteBatch *batch = writes_head;

	wait_for_batch(batch);
	complete_batch(batch, NULL);
}

/* Wait until no request in flight names one of these records. */
static void
wait_for_conflicts(const char **names, int n)
{
	CkFdwWriteBatch *newest = NULL;
	CkFdwWriteBatch *batch;

	for (batch = writes_head; batch != NULL; batch = batch->next)
	{
		if (names_intersect(names, n, batch->names, batch->nops))
			newest = batch;
	}
	if (newest == NULL)
		return;
	/* that one, and the older ones before it */
	while (writes_head != newest)
		complete_oldest_batch();
	complete_oldest_batch();
}

/* Wait until fewer than ckfdw.max_writes_in_flight requests are in flight. */
static void
wait_for_slot(void)
{
	while (writes_in_flight >= ckfdw_max_writes_in_flight)
		complete_oldest_batch();
}

/*
 * Check the requests that are done, in the order they were sent, without
 * waiting.  Returns how many.
 */
static int
reap_done_batches(void)
{
	int			n = 0;

	while (writes_head != NULL && ckfdw_request_ready(writes_head->req))
	{
		complete_batch(writes_head, NULL);
		n++;
	}
	return n;
}

/*
 * Send what a modify has queued and wait for all its requests: at its end,
 * and before EXPLAIN ANALYZE prints its counts.
 */
static void
drain_batches(CkFdwModifyState *fmstate)
{
	CkFdwWriteBatch *batch;

	flush_pending(fmstate);
	for (batch = writes_head; batch != NULL;)
	{
		if (batch->owner == fmstate)
		{
			wait_for_batch(batch);
			complete_batch(batch, NULL);
			batch = writes_head;
		}
		else
			batch = batch->next;
	}
}

/*
 * Wait for one request.  When a cancel, a timeout or an error stops the
 * wait, every request in flight is finished and counted, and the cause is
 * raised with what the statement wrote.
 */
static void
wait_for_batch(CkFdwWriteBatch *batch)
{
	if (!ckfdw_wait_request_listening(batch->req))
		stop_all_batches(batch->owner);
}

/*
 * After a wait was stopped: count every request in flight (those that
 * were answered, what is unknown of the others), then raise the cause.
 */
static void
stop_all_batches(CkFdwModifyState *fmstate)
{
	CkResponse	aborted;

	settle_batches();
	ckfdw_rethrow_wait_error(fmstate->conn);

	memset(&aborted, 0, sizeof(aborted));
	aborted.kind = CK_RESULT_ABORTED;
	ckfdw_report_response_hint(&aborted, &fmstate->info, written_note(fmstate),
							   fmstate->unknown > 0 ? unknown_outcome_hint(fmstate) : NULL);
}

/*
 * Take a done request out of the pipeline and its response into resp.
 */
static void
finish_batch(CkFdwWriteBatch *batch, CkResponse *resp)
{
	ckfdw_take_request(batch->req, resp);
	batch->req = NULL;
	batch->owner->requests += resp->attempts;
	unlink_batch(batch);
}

static void
unlink_batch(CkFdwWriteBatch *batch)
{
	CkFdwWriteBatch *prev = NULL;
	CkFdwWriteBatch *b;

	for (b = writes_head; b != NULL; prev = b, b = b->next)
	{
		if (b == batch)
		{
			if (prev != NULL)
				prev->next = b->next;
			else
				writes_head = b->next;
			if (writes_tail == b)
				writes_tail = prev;
			b->next = NULL;
			writes_in_flight--;
			ckfdw_tally_in_flight(-b->nops, -1);
			return;
		}
	}
}

/*
 * Wait for every request in flight and count what each wrote, raising
 * nothing: another request's failure, or a stopped wait, is being
 * reported.  A request CloudKit refused whole (too large, atomic) wrote
 * nothing and is not sent again.
 */
static void
settle_batches(void)
{
	while (writes_head != NULL)
	{
		CkFdwWriteBatch *batch = writes_head;
		CkFdwModifyState *fmstate = batch->owner;
		CkResponse *resp;
		struct json_object *records;

		/* a stopped wait ends every request of the client: no loop */
		(void) ckfdw_wait_request(batch->req);
		resp = ckfdw_new_response(batch->cxt);
		finish_batch(batch, resp);

		records = response_records(resp);
		if (resp->kind == CK_RESULT_OK &&
			(records == NULL || (int) json_object_array_length(records) != batch->nops))
			count_unknown(fmstate, batch->nops);
		else if (resp->kind == CK_RESULT_OK)
		{
			int			written = 0;
			int			i;

			for (i = 0; i < batch->nops; i++)
			{
				CkRecord	rec;
				char		err[256];

				if (!ck_record_parse(json_object_array_get_idx(records, i), &rec,
									 err, sizeof(err)))
					break;
				if (!rec.is_error)
					written++;
			}
			if (i < batch->nops)
				count_unknown(fmstate, batch->nops);
			else
			{
				fmstate->written += written;
				ckfdw_tally_written(written);
			}
		}
		else if (outcome_unknown(resp))
			count_unknown(fmstate, batch->nops);
		MemoryContextDelete(batch->cxt);
	}
}

/*
 * Will this answer be raised as an error (by check_response or
 * check_results)?  Then the other requests in flight are waited for first,
 * so that the error counts what they wrote.  Only then: the others' own
 * failures are not reported, so an answer we go on from (a request refused
 * as too large, split and sent again; an atomic request that failed only
 * on records ON CONFLICT DO NOTHING skips) must not wait for them here.
 */
static bool
answer_fails(CkFdwModifyState *fmstate, const CkResponse *resp,
			 CkFdwPendingOp *ops, int n)
{
	struct json_object *records = response_records(resp);
	bool		atomic_failure = false;
	int			nskip = 0;
	int			i;

	if (resp->kind != CK_RESULT_OK)
	{
		if (resp->kind != CK_RESULT_SERVER_ERROR)
			return true;
		if (records == NULL)
			return !(n > 1 && refused_as_too_large(resp));
		atomic_failure = true;
	}
	if (records == NULL || (int) json_object_array_length(records) != n)
		return true;
	for (i = 0; i < n; i++)
	{
		struct json_object *obj = json_object_array_get_idx(records, i);
		struct json_object *code;
		struct json_object *name;
		const char *s;

		if (!json_object_is_type(obj, json_type_object))
			return true;
		/* an answer about another record is an error too */
		if (json_object_object_get_ex(obj, "recordName", &name) &&
			(!json_object_is_type(name, json_type_string) ||
			 strcmp(json_object_get_string(name), ops[i].record_name) != 0))
			return true;
		if (!json_object_object_get_ex(obj, "serverErrorCode", &code))
			continue;
		s = json_object_get_string(code);
		if (s == NULL)
			return true;
		if (strcmp(s, "ATOMIC_ERROR") == 0)
			continue;
		if (fmstate->do_nothing && strcmp(s, "EXISTS") == 0)
		{
			nskip++;
			continue;
		}
		if (fmstate->operation == CMD_DELETE && fmstate->wopts.force &&
			strcmp(s, "NOT_FOUND") == 0)
			continue;
		return true;
	}
	/* an atomic failure that names no record it skips is an error */
	return atomic_failure && nskip == 0;
}

/*
 * Check the answer to a request that is done.  Returns the number of
 * records written; any failure is an error, raised once every other
 * request in flight is over and counted.
 *
 * A request refused as too large is split in two; an atomic request that
 * failed only on records ON CONFLICT DO NOTHING skips is sent again
 * without them.
 */
static int
complete_batch(CkFdwWriteBatch *batch, TupleTableSlot *returning_slot)
{
	CkFdwModifyState *fmstate = batch->owner;
	CkFdwPendingOp *ops = batch->ops;
	int			n = batch->nops;
	CkResponse *resp;
	struct json_object *records;
	MemoryContext oldcxt;
	int			written;

	resp = ckfdw_new_response(batch->cxt);
	finish_batch(batch, resp);
	if (answer_fails(fmstate, resp, ops, n))
		settle_batches();

	/* everything here, RETURNING's values too, lives until the end */
	oldcxt = MemoryContextSwitchTo(batch->cxt);
	if (check_response(fmstate, resp, n))
	{
		records = response_records(resp);
		if (records == NULL)
		{
			count_unknown(fmstate, n);
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("CloudKit response to records/modify has no \"records\" list"),
					 errdetail_internal("%s", written_note(fmstate)),
					 errhint("%s", unknown_outcome_hint(fmstate)),
					 modify_errcontext(fmstate)));
		}
		written = check_results(fmstate, ops, n, records, false, returning_slot);
	}
	else if ((records = response_records(resp)) == NULL)
	{
		int			half = n / 2;

		/* refused as too large: send each half on its own */
		if (ckfdw_log_requests)
			ereport(LOG,
					(errmsg("ckfdw: records/modify of %d operations refused as too large; splitting it",
							n),
					 errhidestmt(true)));
		written = send_operations(fmstate, ops, half, NULL);
		written += send_operations(fmstate, ops + half, n - half, NULL);
	}
	else
	{
		/* an atomic request failed: nothing of it was saved */
		written = check_results(fmstate, ops, n, records, true, returning_slot);
	}

	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(batch->cxt);
	return written;
}

/*
 * Is a request's answer a success?  True on success, false for the two
 * CloudKit errors the caller handles: an atomic failure (an error status
 * with a "records" list) and a request refused as too large.  Every other
 * failure is raised, with the number of records the statement already
 * wrote added to its detail.
 */
static bool
check_response(CkFdwModifyState *fmstate, CkResponse *resp, int nops)
{
	if (resp->kind == CK_RESULT_OK)
		return true;

	if (resp->kind == CK_RESULT_SERVER_ERROR &&
		(response_records(resp) != NULL ||
		 (nops > 1 && refused_as_too_large(resp))))
		return false;

	/* without a usable answer, the request may or may not have been applied */
	if (outcome_unknown(resp))
		count_unknown(fmstate, nops);
	if (resp->kind == CK_RESULT_ABORTED)
		ckfdw_rethrow_wait_error(fmstate->conn);
	if (outcome_unknown(resp))
		ckfdw_report_response_hint(resp, &fmstate->info, written_note(fmstate),
								   unknown_outcome_hint(fmstate));
	ckfdw_report_response(resp, &fmstate->info, written_note(fmstate));
}

/*
 * The memory of a batch is going (the statement failed): stop its request
 * and forget it.
 */
static void
forget_batch(void *arg)
{
	CkFdwWriteBatch *batch = (CkFdwWriteBatch *) arg;

	if (batch->req != NULL)
	{
		ckfdw_cancel_request(batch->req);
		batch->req = NULL;
		unlink_batch(batch);
	}
}

/*
 * At the end of a transaction nothing may stay in flight: cancel what an
 * error left (before connection.c may free the clients).
 */
static void
writes_xact_callback(XactEvent event, void *arg)
{
	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	cancel_batches(InvalidSubTransactionId);
}

/* A subtransaction's abort (an EXCEPTION block): cancel what it started. */
static void
writes_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		cancel_batches(mySubid);
}

/* Cancel the requests started in subtransaction subid or later (or all). */
static void
cancel_batches(SubTransactionId subid)
{
	CkFdwWriteBatch *batch = writes_head;

	while (batch != NULL)
	{
		CkFdwWriteBatch *next = batch->next;

		if (subid == InvalidSubTransactionId || batch->subxid >= subid)
			forget_batch(batch);
		batch = next;
	}
}

/*
 * Is what a failed request did unknown?  A request that went out whole and
 * got no answer, a cut or unreadable one, or one over max_response_size,
 * may have been applied.  A CloudKit error means it was refused; a request
 * that could not be sent whole (no connection) was not applied.
 */
static bool
outcome_unknown(const CkResponse *resp)
{
	switch (resp->kind)
	{
		case CK_RESULT_TRANSPORT:
		case CK_RESULT_ABORTED:
		case CK_RESULT_BAD_RESPONSE:
		case CK_RESULT_TOO_LARGE:
			return resp->request_sent;
		case CK_RESULT_OK:
		case CK_RESULT_SERVER_ERROR:
		case CK_RESULT_CONFIG:
		case CK_RESULT_REFUSED_ADDRESS:
			return false;
	}
	return true;
}

/* A request of nops operations got no usable answer. */
static void
count_unknown(CkFdwModifyState *fmstate, int nops)
{
	fmstate->unknown += nops;
	fmstate->unknown_requests++;
	ckfdw_tally_unknown(nops, 1);
}

/* What to do after a write whose outcome is unknown. */
static const char *
unknown_outcome_hint(CkFdwModifyState *fmstate)
{
	switch (fmstate->operation)
	{
		case CMD_INSERT:
			if (fmstate->wopts.insert_mode != CKFDW_INSERT_CREATE)
				return "Running the statement again is safe: insert_mode writes the records whether CloudKit applied them or not.";
			return "Read the records back by record name to see which were written; running the statement again is safe with the foreign table option insert_mode 'replace' or 'merge', or with ON CONFLICT DO NOTHING.";
		case CMD_UPDATE:
			return "Read the records back to see whether the change was applied before running the statement again: an UPDATE that computes from the old values (SET n = n + 1) would apply twice.";
		case CMD_DELETE:
			return "Running the statement again is safe: it deletes only the records still there.";
		default:
			return "Read the records back to see what was applied.";
	}
}

/* The "records" array of a response, or NULL. */
static struct json_object *
response_records(const CkResponse *resp)
{
	struct json_object *records;

	if (resp->json != NULL &&
		json_object_is_type(resp->json, json_type_object) &&
		json_object_object_get_ex(resp->json, "records", &records) &&
		json_object_is_type(records, json_type_array))
		return records;
	return NULL;
}

/*
 * Did CloudKit refuse the request for its size?  CloudKit documents no code
 * for that: an HTTP 413 that is not a CloudKit error (a proxy's), or a
 * BAD_REQUEST (or LIMIT_EXCEEDED) whose reason speaks of a limit.  Such a
 * request was refused whole, before anything was applied.
 */
static bool
refused_as_too_large(const CkResponse *resp)
{
	static const char *const words[] = {
		"too large", "too big", "too many", "exceeds", "limit", "at most", NULL
	};
	const char *const *w;
	struct json_object *code;
	char	   *reason;
	char	   *p;

	if (resp->http_status == 413 &&
		(resp->json == NULL ||
		 !json_object_is_type(resp->json, json_type_object) ||
		 !json_object_object_get_ex(resp->json, "serverErrorCode", &code)))
		return true;
	if (strcmp(resp->server_error_code, "LIMIT_EXCEEDED") == 0)
		return true;
	if (strcmp(resp->server_error_code, "BAD_REQUEST") != 0)
		return false;
	reason = pstrdup(resp->reason);
	for (p = reason; *p; p++)
		*p = pg_tolower((unsigned char) *p);
	for (w = words; *w; w++)
	{
		if (strstr(reason, *w) != NULL)
			return true;
	}
	return false;
}

/*
 * Check the per-record results of a request: count what was written, fill
 * returning_slot, and raise an error naming every failed record.  For an
 * atomic failure, the siblings of the failing records carry ATOMIC_ERROR.
 */
static int
check_results(CkFdwModifyState *fmstate, CkFdwPendingOp *ops, int n,
			  struct json_object *records, bool atomic_failure,
			  TupleTableSlot *returning_slot)
{
	CkFdwOpFailure *fails;
	int			nfails = 0;
	int			nskip = 0;
	int			written = 0;
	bool	   *skip;
	CkRecord	returning_rec;
	bool		have_returning = false;
	int			i;

	/* an answer we cannot read tells nothing about what was applied */
	if ((int) json_object_array_length(records) != n)
	{
		count_unknown(fmstate, n);
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("CloudKit answered %d operations of records/modify with %d results",
						n, (int) json_object_array_length(records)),
				 errdetail_internal("%s", written_note(fmstate)),
				 errhint("%s", unknown_outcome_hint(fmstate)),
				 modify_errcontext(fmstate)));
	}

	fails = palloc0(sizeof(CkFdwOpFailure) * n);
	skip = palloc0(sizeof(bool) * n);
	for (i = 0; i < n; i++)
	{
		struct json_object *obj = json_object_array_get_idx(records, i);
		CkRecord	rec;
		char		err[256];

		if (!ck_record_parse(obj, &rec, err, sizeof(err)))
		{
			count_unknown(fmstate, n);
			ereport(ERROR,
					(errcode(ckfdw_invalid_record_errcode(&rec)),
					 errmsg("CloudKit sent an invalid result for record \"%s\" of records/modify",
							ckfdw_message_text(ops[i].record_name)),
					 errdetail_internal("%s\n%s", err, written_note(fmstate)),
					 errhint("%s", unknown_outcome_hint(fmstate)),
					 modify_errcontext(fmstate)));
		}
		if (rec.record_name != NULL && strcmp(rec.record_name, ops[i].record_name) != 0)
		{
			count_unknown(fmstate, n);
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("CloudKit answered the operation on record \"%s\" with record \"%s\"",
							ckfdw_message_text(ops[i].record_name),
							ckfdw_message_text(rec.record_name)),
					 errdetail_internal("%s", written_note(fmstate)),
					 errhint("%s", unknown_outcome_hint(fmstate)),
					 modify_errcontext(fmstate)));
		}

		if (!rec.is_error)
		{
			if (atomic_failure)
				continue;		/* cannot be: nothing was saved */
			written++;
			if (returning_slot != NULL)
			{
				/* after counting: converting it may fail */
				returning_rec = rec;
				have_returning = true;
			}
			continue;
		}

		if (rec.server_error_code != NULL &&
			strcmp(rec.server_error_code, "ATOMIC_ERROR") == 0)
			continue;

		/* ON CONFLICT DO NOTHING: an existing record is not inserted */
		if (fmstate->do_nothing && rec.server_error_code != NULL &&
			strcmp(rec.server_error_code, "EXISTS") == 0)
		{
			skip[i] = true;
			nskip++;
			continue;
		}
		/* forceDelete of a record that is gone already: nothing to do */
		if (fmstate->operation == CMD_DELETE && fmstate->wopts.force &&
			rec.server_error_code != NULL &&
			strcmp(rec.server_error_code, "NOT_FOUND") == 0)
			continue;

		fails[nfails].record_name = ops[i].record_name;
		fails[nfails].code = rec.server_error_code ? rec.server_error_code : "UNKNOWN_ERROR";
		fails[nfails].reason = rec.reason ? rec.reason : "(no reason given)";
		nfails++;
	}

	/* every result was read: now they count */
	fmstate->written += written;
	ckfdw_tally_written(written);
	if (have_returning)
		store_returning(fmstate, &returning_rec, returning_slot);

	if (nfails > 0)
		report_failures(fmstate, fails, nfails, n, atomic_failure);

	fmstate->skipped += nskip;
	if (atomic_failure)
	{
		CkFdwPendingOp *rest;
		int			nrest = 0;

		/* only skipped records failed: send the others again */
		if (nskip == 0)
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("CloudKit failed an atomic records/modify request without naming a failing record"),
					 errdetail_internal("%s", written_note(fmstate)),
					 modify_errcontext(fmstate)));
		rest = MemoryContextAlloc(fmstate->batch_cxt, sizeof(CkFdwPendingOp) * n);
		for (i = 0; i < n; i++)
		{
			if (!skip[i])
				rest[nrest++] = ops[i];
		}
		return send_operations(fmstate, rest, nrest, returning_slot);
	}
	return written;
}

/*
 * Raise the error for the records of a request CloudKit refused: name each
 * (up to CKFDW_MAX_REPORTED_FAILURES), and say how many records of the
 * statement were written anyway.  A change tag that no longer matches, or a
 * record gone since the scan, is 40001 serialization_failure.
 */
static void
report_failures(CkFdwModifyState *fmstate, CkFdwOpFailure *fails, int nfails,
				int nops, bool atomic_failure)
{
	bool		tagged = (fmstate->operation != CMD_INSERT && !fmstate->wopts.force);
	bool		all_conflicts = true;
	const CkErrorInfo *e = ck_error_lookup(fails[0].code);
	const char *sqlstate = e->sqlstate;
	const char *first_name = ckfdw_message_text(fails[0].record_name);
	StringInfoData detail;
	char	   *msg;
	const char *hint;
	int			i;

	for (i = 0; i < nfails; i++)
	{
		bool		conflict = strcmp(fails[i].code, "CONFLICT") == 0 ||
			(tagged && strcmp(fails[i].code, "NOT_FOUND") == 0);

		if (!conflict)
			all_conflicts = false;
	}
	if (all_conflicts)
		sqlstate = "40001";

	if (nfails == 1 && all_conflicts)
	{
		if (strcmp(fails[0].code, "NOT_FOUND") == 0)
			msg = psprintf("record \"%s\" was deleted from CloudKit after it was read", first_name);
		else
			msg = psprintf("record \"%s\" was changed in CloudKit after it was read", first_name);
	}
	else if (all_conflicts)
		msg = psprintf("%d records were changed or deleted in CloudKit after they were read, the first \"%s\"",
					   nfails, first_name);
	else if (nfails == 1 && strcmp(fails[0].code, "EXISTS") == 0)
		msg = psprintf("record \"%s\" already exists in CloudKit", first_name);
	else if (nfails == 1)
		msg = psprintf("CloudKit rejected the %s of record \"%s\"", fmstate->op_type,
					   first_name);
	else
		msg = psprintf("CloudKit rejected %d of %d %s operations, the first on record \"%s\"",
					   nfails, nops, fmstate->op_type, first_name);

	initStringInfo(&detail);
	for (i = 0; i < nfails && i < CKFDW_MAX_REPORTED_FAILURES; i++)
		appendStringInfo(&detail, "Record \"%s\": CloudKit error %s: %s\n",
						 ckfdw_message_text(fails[i].record_name),
						 ckfdw_message_text(fails[i].code),
						 ckfdw_message_text(fails[i].reason));
	if (nfails > CKFDW_MAX_REPORTED_FAILURES)
		appendStringInfo(&detail, "... and %d more failed records.\n",
						 nfails - CKFDW_MAX_REPORTED_FAILURES);
	if (atomic_failure)
		appendStringInfo(&detail, "The request was atomic: none of its %d operation%s was saved.\n",
						 nops, nops == 1 ? "" : "s");
	appendStringInfoString(&detail, written_note(fmstate));

	if (all_conflicts)
		hint = "Someone else changed the records after this statement read them: re-read them and retry, or set the foreign table option \"force\" to overwrite their changes.";
	else if (strcmp(fails[0].code, "EXISTS") == 0)
		hint = "Insert under another record name, use ON CONFLICT DO NOTHING to skip existing records, or set the foreign table option \"insert_mode\" to 'replace' or 'merge' to overwrite them.";
	else
		hint = e->hint;

	ereport(ERROR,
			(errcode(MAKE_SQLSTATE(sqlstate[0], sqlstate[1], sqlstate[2],
								   sqlstate[3], sqlstate[4])),
			 errmsg_internal("%s", msg),
			 errdetail_internal("%s", detail.data),
			 errhint("%s", hint),
			 modify_errcontext(fmstate)));
	pg_unreachable();
}

/*
 * How many records of the statement CloudKit saved, and how many it may
 * have, for error details (the sentence write_tally.c adds to other
 * errors, which it then leaves out).
 */
static char *
written_note(CkFdwModifyState *fmstate)
{
	return ckfdw_write_note("This statement", fmstate->written, fmstate->unknown,
							fmstate->unknown_requests);
}

static int
modify_errcontext(CkFdwModifyState *fmstate)
{
	return errcontext("CloudKit records/modify of record type \"%s\" in zone \"%s\", foreign table \"%s\"",
					  fmstate->options->record_type, fmstate->options->zone,
					  fmstate->relname);
}

/* RETURNING: the record as CloudKit saved it. */
static void
store_returning(CkFdwModifyState *fmstate, const CkRecord *rec,
				TupleTableSlot *slot)
{
	ExecClearTuple(slot);
	ckfdw_record_to_values(fmstate->columns, fmstate->ncolumns,
						   fmstate->all_attrs, rec, fmstate->relname,
						   slot->tts_values, slot->tts_isnull);
	ExecStoreVirtualTuple(slot);
	/* copy the values out of batch_cxt, which is reset next */
	ExecMaterializeSlot(slot);
}

