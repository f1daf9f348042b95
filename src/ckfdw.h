/*-------------------------------------------------------------------------
 *
 * ckfdw.h
 *		  Foreign-data wrapper for Apple CloudKit Web Services
 *
 * Shared declarations of the PostgreSQL side of ckfdw, grouped by the file
 * that defines them, as in postgres_fdw.  The CloudKit client itself lives
 * in src/ck and knows nothing about PostgreSQL.
 *
 * IDENTIFICATION
 *		  src/ckfdw.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CKFDW_H
#define CKFDW_H

#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "nodes/execnodes.h"
#include "nodes/pathnodes.h"
#include "utils/rel.h"

#include "ck/ck_http.h"
#include "ck/ck_types.h"

struct json_object;
struct CkRecord;

/* Default values of server and table options. */
#define CKFDW_DEFAULT_BASE_URL		"https://api.apple-cloudkit.com"
#define CKFDW_DEFAULT_ENVIRONMENT	"development"
#define CKFDW_DEFAULT_DATABASE		"public"
#define CKFDW_DEFAULT_ZONE			"_defaultZone"
#define CKFDW_DEFAULT_PAGE_SIZE		200
#define CKFDW_DEFAULT_BATCH_SIZE	200
#define CKFDW_MAX_PAGE_SIZE			200 /* CloudKit's records per response */
#define CKFDW_DEFAULT_CONNECT_TIMEOUT_MS	10000
#define CKFDW_DEFAULT_REQUEST_TIMEOUT_MS	60000
#define CKFDW_DEFAULT_MAX_RESPONSE_SIZE		(64 * 1024 * 1024)
#define CKFDW_DEFAULT_MAX_RETRIES	5
#define CKFDW_DEFAULT_MAX_IN_FLIGHT	8	/* halved while CloudKit throttles */
#define CKFDW_MAX_IN_FLIGHT			64

/*
 * Largest asset read or written as bytea.  Apple's assets/upload page says
 * 15 MB per upload URL, its Data Size Limits page 50 MB per asset field
 * (unconfirmed which holds): the smaller is the default, the server option
 * "max_asset_size" changes it.
 */
#define CKFDW_DEFAULT_MAX_ASSET_SIZE	(15 * 1000 * 1000)
#define CKFDW_DEFAULT_MAX_RETRY_WAIT_MS		30000
#define CKFDW_MAX_SCAN_CURSORS		16	/* option "scan_cursors" */

/* Where a full scan reads its records (option "scan_source"). */
typedef enum CkFdwScanSourceOption
{
	CKFDW_SOURCE_AUTO = 0,		/* the planner's rule (see planner.c) */
	CKFDW_SOURCE_QUERY,			/* records/query (and records/lookup) */
	CKFDW_SOURCE_CHANGES		/* changes/zone */
} CkFdwScanSourceOption;

/*
 * Server and foreign table options merged; table options override server
 * options (postgres_fdw's apply_server_options/apply_table_options).  Strings
 * point into the catalog copies returned by GetForeignServer and
 * GetForeignTable, or at the defaults above.
 */
typedef struct CkFdwOptions
{
	/* server */
	char	   *container;
	char	   *environment;
	char	   *database;
	char	   *base_url;
	long		connect_timeout_ms;
	long		request_timeout_ms;
	long		max_response_size;
	long		max_asset_size;
	int			max_retries;
	long		max_retry_wait_ms;
	int			max_in_flight;	/* requests of one connection at once */
	/* server or table */
	int			page_size;
	int			batch_size;
	CkFdwScanSourceOption scan_source;
	bool		async_capable;	/* runs beside its siblings in an Append */
	int			scan_cursors;	/* range cursors of a split scan (1: none) */
	/* table */
	char	   *record_type;	/* default: the foreign table's name */
	char	   *zone;
	char	   *zone_owner;		/* NULL when not set */
	char	   *split_column;	/* column whose ranges the cursors read */
} CkFdwOptions;

/* CloudKit system fields a column can map to (column option "system"). */
typedef enum CkFdwSystemField
{
	CKFDW_SYS_NONE = 0,
	CKFDW_SYS_RECORD_NAME,
	CKFDW_SYS_CHANGE_TAG,
	CKFDW_SYS_CREATED_TIMESTAMP,
	CKFDW_SYS_MODIFIED_TIMESTAMP,
	CKFDW_SYS_CREATED_USER,
	CKFDW_SYS_MODIFIED_USER,
	/* change reads (scan_changes.c): not CloudKit fields */
	CKFDW_SYS_SYNC_TOKEN,		/* the token the change read started from */
	CKFDW_SYS_DELETED			/* the row is a tombstone */
} CkFdwSystemField;

#define CKFDW_SYS_LAST	CKFDW_SYS_DELETED

/*
 * The kind of PostgreSQL value a column (or an array column's element)
 * holds, which decides how a CloudKit value is converted into it.
 */
typedef enum CkFdwTarget
{
	CKFDW_TGT_TEXT,				/* text, varchar, char(n) */
	CKFDW_TGT_UUID,
	CKFDW_TGT_INT8,
	CKFDW_TGT_INT4,
	CKFDW_TGT_INT2,
	CKFDW_TGT_BOOL,
	CKFDW_TGT_NUMERIC,
	CKFDW_TGT_FLOAT8,
	CKFDW_TGT_FLOAT4,
	CKFDW_TGT_TIMESTAMPTZ,
	CKFDW_TGT_TIMESTAMP,
	CKFDW_TGT_DATE,
	CKFDW_TGT_BYTEA,
	CKFDW_TGT_JSONB,
	CKFDW_TGT_JSON,
	CKFDW_TGT_POINT
} CkFdwTarget;

/*
 * How one column of a foreign table maps to CloudKit, worked out once per
 * scan from the column's type and options (see convert.c).
 */
typedef struct CkFdwColumn
{
	AttrNumber	attnum;
	bool		dropped;
	char	   *attname;
	char	   *field;			/* CloudKit field name; NULL for system columns */
	char	   *field_utf8;		/* the same in UTF-8, as sent on the wire */
	size_t		field_utf8_len;
	CkFdwSystemField system;
	CkFieldType cktype;			/* declared (option "type") or derived */
	bool		any_type;		/* json(b) without "type": any wire type */
	Oid			typid;			/* the column's type (a domain, possibly) */
	int32		typmod;
	Oid			basetypid;		/* typid with domains stripped */
	bool		is_array;
	CkFdwTarget target;			/* of the value, or of the elements */
	Oid			elemtypid;		/* arrays: element type */
	int16		elemlen;
	bool		elembyval;
	char		elemalign;
	bool		use_input;		/* convert through the type's input function */
	Oid			typinput;		/* ... of basetypid, or of the element type */
	Oid			typioparam;
	int32		input_typmod;	/* typmod the input function is given */
	void	   *domain_extra;	/* domain_check() cache ... */
	MemoryContext mcxt;			/* ... and where it lives */

	/*
	 * A bytea column (or bytea[] list) of type ASSETID: the asset's content,
	 * downloaded by the reader a scan attaches (asset_download.c), uploaded
	 * when written (asset_upload.c).
	 */
	bool		asset_content;
	struct CkFdwAssetReader *assets;
} CkFdwColumn;

/*
 * A column's CloudKit indexes, as its options "queryable" and "sortable"
 * declare them.  Unknown means: send the filter or sort and let CloudKit
 * decide (a refusal makes the scan fall back to local evaluation).
 */
typedef enum CkFdwIndexOption
{
	CKFDW_INDEX_UNKNOWN = 0,
	CKFDW_INDEX_YES,
	CKFDW_INDEX_NO
} CkFdwIndexOption;

typedef struct CkFdwColumnIndexes
{
	CkFdwIndexOption queryable; /* equality, IN, lists, BEGINS_WITH */
	CkFdwIndexOption sortable;	/* ranges and sorts */
	CkFdwIndexOption searchable;	/* tokens (not used by pushdown) */
} CkFdwColumnIndexes;

/*
 * Planner state of a foreign table, kept in baserel->fdw_private (compare
 * postgres_fdw's PgFdwRelationInfo).  Upper relations (ORDER BY, LIMIT) get
 * one too, with is_upper set and only the fields marked "upper" filled in.
 */
typedef struct CkFdwRelationInfo
{
	/* upper: GetForeignUpperPaths stage, and the relation it builds on */
	bool		is_upper;
	UpperRelationKind stage;
	struct RelOptInfo *outerrel;
	/* upper too: later stages may build on this relation */
	bool		pushdown_safe;
	/* CloudKit can return the rows in the order of root->query_pathkeys */
	bool		qp_is_pushdown_safe;

	/*
	 * Conditions CloudKit evaluates, and those PostgreSQL must.  A condition
	 * CloudKit may evaluate more loosely than PostgreSQL (string equality,
	 * LIKE) is in both lists: sent, and rechecked.
	 */
	List	   *remote_conds;
	List	   *local_conds;

	/* the best records/lookup condition among the quals, or NULL */
	RestrictInfo *lookup_cond;
	double		lookup_names;	/* record names it looks up (estimate) */
	bool		lookups_ok;		/* lookup paths and lookup joins allowed */

	/* the scan reads changes/zone; from the token of token_cond, if set */
	bool		use_changes;
	RestrictInfo *token_cond;

	/* attributes needed by the target list and the local conditions */
	Bitmapset  *attrs_used;

	/* cost of evaluating local_conds per row */
	QualCost	local_conds_cost;
	Selectivity local_conds_sel;

	/* estimates */
	double		retrieved_rows; /* records CloudKit sends */
	double		pages;			/* requests for them */
	Cost		startup_cost;
	Cost		total_cost;

	/* catalog information */
	ForeignTable *table;
	ForeignServer *server;
	CkFdwOptions *options;
	CkFdwColumn *columns;		/* indexed by attnum - 1 */
	CkFdwColumnIndexes *indexes;	/* the same */
	int			ncolumns;
	char	   *relname;
} CkFdwRelationInfo;

/*
 * What a scan plan asks of CloudKit beyond the base request (deparse.c
 * builds it at plan time, the scan completes it with run-time values).
 * Values are expressions in the plan's fdw_exprs, evaluated when the scan
 * starts: constants, parameters and stable expressions such as now().
 */
typedef enum CkFdwScanMode
{
	CKFDW_SCAN_QUERY,			/* records/query */
	CKFDW_SCAN_LOOKUP,			/* records/lookup by record name */
	CKFDW_SCAN_CHANGES			/* changes/zone */
} CkFdwScanMode;

/* One filterBy entry. */
typedef struct CkFdwFilter
{
	char	   *field;			/* fieldName or systemFieldName (UTF-8) */
	bool		is_system;
	int			comparator;		/* CkComparator sent */
	int			kind;			/* how the value is encoded (deparse.c) */
	bool		list_value;		/* the value is a list (IN, LIST_CONTAINS_ALL) */
	int			expr_index;		/* the value: fdw_exprs item */
	Oid			value_type;		/* its SQL type (of the elements, for lists) */
	int			qual_index;		/* the condition: fdw_recheck_quals item */
	AttrNumber	attnum;			/* the column filtered */
	bool		recheck;		/* the condition is also in the plan's qual */
	bool		needs_sortable; /* a range: needs a SORTABLE index */
} CkFdwFilter;

/* One sortBy entry, with what sorting locally would need. */
typedef struct CkFdwSort
{
	char	   *field;
	bool		is_system;
	bool		ascending;
	AttrNumber	attnum;
	Oid			sortop;
	Oid			collation;
	bool		nulls_first;
} CkFdwSort;

typedef struct CkFdwPushdown
{
	CkFdwScanMode mode;
	List	   *filters;		/* CkFdwFilter * */
	List	   *sorts;			/* CkFdwSort * */
	bool		has_limit;		/* LIMIT/OFFSET are applied by the scan */
	int			limit_index;	/* fdw_exprs item, or -1 (no LIMIT) */
	int			offset_index;	/* fdw_exprs item, or -1 (no OFFSET) */
	int			names_index;	/* lookups: fdw_exprs item with the names */
	int			token_index;	/* change reads: fdw_exprs item with the
								 * sync token, or -1 (a full read) */
} CkFdwPushdown;

/*
 * Indexes of FDW-private information stored in a ForeignScan's fdw_private
 * (planner.c makes the list, scan.c reads it).
 *
 * These items are indexed with the enum FdwScanPrivateIndex, so an item
 * can be fetched with list_nth().  For example, to get the request body:
 *		request = strVal(list_nth(fdw_private, FdwScanPrivateRequest));
 */
enum FdwScanPrivateIndex
{
	/* records/query body of the first page (as a String) */
	FdwScanPrivateRequest,
	/* Integer list of attribute numbers the scan fills in */
	FdwScanPrivateRetrievedAttrs,
	/* filters, sorts, limit, lookup: ckfdw_pushdown_to_list's List */
	FdwScanPrivatePushdown,
	/* Boolean: the query wants every row (tuple_fraction 0): read ahead at once */
	FdwScanPrivateAllRows,
	/* range cursors: ckfdw_plan_split's List (NIL: not asked for) */
	FdwScanPrivateSplit
};

/* A scan split into range cursors (range_split.c). */
typedef struct CkFdwSplit
{
	char	   *column;			/* option split_column, or "" */
	char	   *why_not;		/* why there are no ranges, or NULL */
	List	   *ranges;			/* CkFdwPushdown * with a range's filters */
	List	   *labels;			/* char *: the ranges in SQL, for EXPLAIN */
} CkFdwSplit;

/* The values of a plan's fdw_exprs, or placeholders (?n) for EXPLAIN. */
typedef struct CkFdwParamValues
{
	int			n;
	Datum	   *values;
	bool	   *nulls;
	Oid		   *types;
	bool	   *unknown;		/* NULL, or true where only a placeholder */
} CkFdwParamValues;

/* What a CloudKit request was for, for errmsg and errcontext. */
typedef struct CkFdwRequestInfo
{
	const char *operation;		/* "records/query" */
	const char *record_type;
	const char *zone;
	const char *relname;		/* foreign table, may be NULL */
} CkFdwRequestInfo;

/* A client from the connection cache. */
typedef struct CkFdwConnection CkFdwConnection;

/*
 * Planner cost model.  One CloudKit request is a round trip over the
 * internet (tens to hundreds of milliseconds): far dearer than reading a
 * local page.  Each record is parsed from JSON and converted.  A
 * records/lookup reads records by key: no index, no snapshot to page
 * through, and never behind the latest writes.
 */
#define CKFDW_REQUEST_COST		1000.0
#define CKFDW_LOOKUP_COST		900.0
#define CKFDW_RECORD_COST		0.1

/* in ckfdw.c */
extern bool ckfdw_log_requests;
extern bool ckfdw_read_ahead;
extern bool ckfdw_enable_filter_pushdown;
extern bool ckfdw_enable_sort_pushdown;
extern bool ckfdw_enable_limit_pushdown;
extern bool ckfdw_enable_lookup;
extern bool ckfdw_enable_lookup_join;
extern int	ckfdw_max_writes_in_flight;

/* in planner.c */
extern bool ckfdw_is_ckfdw_rel(RelOptInfo *rel);
extern void ckfdwGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel,
								   Oid foreigntableid);
extern void ckfdwGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel,
								 Oid foreigntableid);
extern ForeignScan *ckfdwGetForeignPlan(PlannerInfo *root, RelOptInfo *foreignrel,
										Oid foreigntableid, ForeignPath *best_path,
										List *tlist, List *scan_clauses,
										Plan *outer_plan);
extern bool ckfdwIsForeignPathAsyncCapable(ForeignPath *path);
extern void ckfdwGetForeignUpperPaths(PlannerInfo *root, UpperRelationKind stage,
									  RelOptInfo *input_rel, RelOptInfo *output_rel,
									  void *extra);

/* in range_split.c */
extern List *ckfdw_plan_split(PlannerInfo *root, RelOptInfo *baserel,
							  const CkFdwPushdown *pd, List **fdw_exprs);
extern CkFdwSplit *ckfdw_split_from_list(List *item);

/* in scan_async.c */
extern void ckfdwForeignAsyncRequest(AsyncRequest *areq);
extern void ckfdwForeignAsyncConfigureWait(AsyncRequest *areq);
extern void ckfdwForeignAsyncNotify(AsyncRequest *areq);

/* in analyze.c */
extern bool ckfdwAnalyzeForeignTable(Relation relation,
									 AcquireSampleRowsFunc *func,
									 BlockNumber *totalpages);

/* in lookup.c */
extern void ckfdw_lookup_join_init(void);

/* in scan_lookup.c */
extern int	ckfdw_key_names(Datum key, Oid type, char ***names);
extern int	ckfdw_name_cmp(const void *a, const void *b);
extern int	ckfdw_sort_unique_names(char **names, int n);

/* in option.c */
extern CkFdwOptions *ckfdw_get_options(ForeignServer *server, ForeignTable *table,
									   Relation rel);
extern char *ckfdw_option_value(List *options, const char *name);
extern const char *ckfdw_system_field_name(CkFdwSystemField field);
extern const char *ckfdw_closest_name(const char *name,
									  const char *const *candidates);
extern void ckfdw_check_server_file(const char *option, const char *path,
									const char *hint);
extern bool ckfdw_may_reach_local_machine(ForeignServer *server);
extern void ckfdw_check_changes(CkFdwOptions *opts, const char *relname,
								const char *what);

/* in connection.c */
extern CkFdwConnection *ckfdw_get_connection(UserMapping *user, ForeignServer *server,
											 CkFdwOptions *options);
extern void ckfdw_release_connection(CkFdwConnection *conn);
extern bool ckfdw_try_request(CkFdwConnection *conn, const char *method,
							  const char *body, bool idempotent,
							  const CkFdwRequestInfo *info, CkResponse *resp);
typedef struct CkFdwPending CkFdwPending;
extern CkFdwPending *ckfdw_start_request(CkFdwConnection *conn, const char *method,
										 const char *body, int flags,
										 const CkFdwRequestInfo *info);
extern CkFdwPending *ckfdw_start_url_request(CkFdwConnection *conn,
											 const char *method, const char *url,
											 const char *content_type,
											 const char *body, size_t body_len,
											 int flags,
											 const CkFdwRequestInfo *info);
extern bool ckfdw_request_ready(CkFdwPending *pending);
extern bool ckfdw_request_succeeded(CkFdwPending *pending);

/*
 * A scan that keeps pages in flight is called back whenever a request of
 * its connection is answered while another node of the plan waits (a
 * modify waiting for its writes), so that it sends its next pages then,
 * not when the executor next asks it for a row.  The callback takes only
 * answers that succeeded (a page it cannot read is an error there, as it
 * would be later); failed answers are the scan's to raise when it is asked
 * for a row.  A listener is removed when the memory context it was added
 * in goes.
 */
typedef struct CkFdwListener
{
	void		(*func) (void *arg);
	void	   *arg;
	CkFdwConnection *conn;
	struct CkFdwListener *next;
	MemoryContextCallback cb;
} CkFdwListener;
extern void ckfdw_add_listener(CkFdwConnection *conn, CkFdwListener *listener,
							   void (*func) (void *arg), void *arg);
extern bool ckfdw_wait_request_listening(CkFdwPending *pending);
extern void ckfdw_poll_requests(CkFdwConnection *conn);
extern ForeignServer *ckfdw_function_server(const char *servername, UserMapping **user);
extern bool ckfdw_wait_request(CkFdwPending *pending);
extern bool ckfdw_wait_any_request(CkFdwConnection *conn);
extern void ckfdw_take_request(CkFdwPending *pending, CkResponse *resp);
extern void ckfdw_cancel_request(CkFdwPending *pending);
extern bool ckfdw_finish_request(CkFdwPending *pending, CkResponse *resp);
extern void ckfdw_rethrow_wait_error(CkFdwConnection *conn);
extern CkResponse *ckfdw_new_response(MemoryContext cxt);
extern void ckfdw_report_bad_answer(const CkFdwRequestInfo *info,
									const char *servername,
									const char *what) pg_attribute_noreturn();
extern int	ckfdw_request_wait_fd(CkFdwConnection *conn);
extern void ckfdw_request(CkFdwConnection *conn, const char *method,
						  const char *body, bool idempotent,
						  const CkFdwRequestInfo *info, CkResponse *resp);
extern bool ckfdw_try_request_raw(CkFdwConnection *conn, const char *method,
								  const char *body, const CkFdwRequestInfo *info,
								  CkResponse *resp);
extern void ckfdw_request_raw(CkFdwConnection *conn, const char *method,
							  const char *body, const CkFdwRequestInfo *info,
							  CkResponse *resp);
extern void ckfdw_report_response(const CkResponse *resp,
								  const CkFdwRequestInfo *info,
								  const char *note) pg_attribute_noreturn();
extern void ckfdw_report_response_hint(const CkResponse *resp,
										const CkFdwRequestInfo *info,
										const char *note,
										const char *hint) pg_attribute_noreturn();
extern void ckfdw_report_record_error(const char *server_error_code,
									  const char *reason, const char *record_name,
									  double retry_after,
									  const CkFdwRequestInfo *info) pg_attribute_noreturn();

extern const char *ckfdw_authentication_hint(const CkResponse *resp);
extern CkFdwConnection *ckfdw_open_connection(UserMapping *user,
											  ForeignServer *server,
											  CkFdwOptions *options);

/* in token_store.c */
typedef struct CkFdwTokenStore CkFdwTokenStore;

extern CkFdwTokenStore *ckfdw_token_store_open(Oid umid,
											   const CkClientConfig *config);
extern void ckfdw_token_store_close(CkFdwTokenStore *store);
extern void ckfdw_token_store_attach(CkFdwTokenStore *store, CkClient *client);
extern void ckfdw_token_store_raise(CkFdwTokenStore *store);
extern bool ckfdw_token_store_sent_spent(const CkFdwTokenStore *store);

/* in convert.c */
extern CkFdwColumn *ckfdw_get_columns(Relation rel, int *ncolumns);
extern void ckfdw_record_to_values(CkFdwColumn *columns, int ncolumns,
								   List *retrieved_attrs,
								   const struct CkRecord *rec, const char *relname,
								   Datum *values, bool *nulls);
extern char *ckfdw_to_utf8(const char *s);
extern char *ckfdw_from_utf8(const char *s, size_t len);
extern char *ckfdw_message_text(const char *s);
extern int	ckfdw_invalid_record_errcode(const struct CkRecord *rec);
extern Datum ckfdw_convert_text(CkFdwColumn *col, const char *s, size_t len);
extern Datum ckfdw_convert_timestamp(CkFdwColumn *col, int64 ms);

/* in convert_raw.c */
struct CkRawField;
extern bool ckfdw_raw_value(CkFdwColumn *col, const struct CkRawField *f,
							Datum *result);

/*
 * How one column is written to CloudKit (see encode.c).
 */
typedef struct CkFdwWriteColumn
{
	CkFdwColumn *col;
	const char *reference_action;	/* option "reference_action", or NONE */
	bool		use_output;		/* the value is the type's text form */
	bool		strip_blanks;	/* char(n): without its padding */
	FmgrInfo	output_fn;
	struct CkFdwAssetUploads *uploads;	/* asset content: see asset_upload.c */
} CkFdwWriteColumn;

/* A scan feeding an UPDATE or DELETE, which registers its rows (modify.c). */
typedef struct CkFdwRowSource CkFdwRowSource;

/* in modify.c */
extern void ckfdw_install_modify_routines(FdwRoutine *routine);
extern CkFdwRowSource *ckfdw_row_source_begin(ForeignScanState *node);
extern bool ckfdw_row_source_accept(CkFdwRowSource *src, TupleTableSlot *slot,
									const char *record_name,
									const char *change_tag);

/* in asset_download.c */
typedef struct CkFdwAssetReader CkFdwAssetReader;
extern CkFdwAssetReader *ckfdw_asset_reader_attach(CkFdwColumn *columns, int ncolumns,
												   CkFdwConnection *conn,
												   CkFdwOptions *options,
												   const char *relname);
extern void ckfdw_asset_fetch_record(CkFdwColumn *columns, int ncolumns,
									 List *retrieved_attrs,
									 const struct CkRecord *rec);
extern Datum ckfdw_asset_content(CkFdwColumn *col, struct json_object *dict);
extern void ckfdw_explain_asset_content(CkFdwColumn *columns, int ncolumns,
										List *retrieved_attrs,
										struct ExplainState *es);

/* in asset_upload.c */
typedef struct CkFdwAssetUploads CkFdwAssetUploads;
extern CkFdwAssetUploads *ckfdw_asset_uploads_begin(CkFdwWriteColumn *wcolumns,
													int ncolumns,
													CkFdwConnection *conn,
													CkFdwOptions *options,
													const char *relname);
extern void ckfdw_asset_upload_add(CkFdwAssetUploads *uploads, StringInfo buf,
								   const CkFdwColumn *col, Datum value);
extern bool ckfdw_asset_uploads_full(CkFdwAssetUploads *uploads);
extern char *ckfdw_asset_fill(CkFdwAssetUploads *uploads, char *json, int *len);

/* in write_tally.c */
extern void ckfdw_write_tally_init(void);
extern void ckfdw_tally_written(int64 n);
extern void ckfdw_tally_unknown(int64 n, int64 requests);
extern void ckfdw_tally_in_flight(int64 records, int64 requests);
extern char *ckfdw_write_note(const char *subject, int64 written, int64 unknown,
							  int64 unknown_requests);

/* in encode.c */
extern void ckfdw_init_write_column(CkFdwWriteColumn *wcol, CkFdwColumn *col,
									Relation rel);
extern void ckfdw_append_field_value(StringInfo buf, CkFdwWriteColumn *wcol,
									 Datum value);
extern void ckfdw_append_json_string(StringInfo buf, const char *s);

/* in import.c */
extern List *ckfdwImportForeignSchema(ImportForeignSchemaStmt *stmt,
									  Oid serverOid);

/* in deparse.c */
extern List *ckfdw_add_desired_key(List *keys, const char *field);
extern CkFdwColumnIndexes *ckfdw_column_indexes(Oid relid, CkFdwColumn *columns,
												int ncolumns);
extern void ckfdw_classify_conditions(PlannerInfo *root, RelOptInfo *baserel,
									  List *input_conds,
									  List **remote_conds, List **local_conds);
extern bool ckfdw_is_foreign_expr(PlannerInfo *root, RelOptInfo *baserel,
								  Expr *expr, bool *recheck);
extern bool ckfdw_lookup_clause(PlannerInfo *root, RelOptInfo *baserel,
								RestrictInfo *rinfo, Expr **names_expr,
								double *nnames);
extern bool ckfdw_token_clause(PlannerInfo *root, RelOptInfo *baserel,
							   RestrictInfo *rinfo, Expr **token_expr);
extern bool ckfdw_pathkeys_pushable(PlannerInfo *root, RelOptInfo *baserel,
									List *pathkeys);
extern List *ckfdw_deparse_sorts(PlannerInfo *root, RelOptInfo *baserel,
								 List *pathkeys);
extern List *ckfdw_deparse_filters(PlannerInfo *root, RelOptInfo *baserel,
								   List *remote_conds, List *recheck_conds,
								   List **fdw_exprs);
extern char *ckfdw_deparse_query(PlannerInfo *root, RelOptInfo *baserel,
								 Bitmapset *attrs_used, int results_limit,
								 CkFdwScanMode mode, List **retrieved_attrs);
extern List *ckfdw_pushdown_to_list(const CkFdwPushdown *pd);
extern CkFdwPushdown *ckfdw_pushdown_from_list(List *list);
extern char *ckfdw_build_query_request(const char *base, const CkFdwPushdown *pd,
									   const CkFdwParamValues *params,
									   const bool *refused, bool *filter_off,
									   bool sorts_off, List *extra_keys,
									   int results_limit);
extern char *ckfdw_build_lookup_request(const char *base, char **names, int nnames,
										List *extra_keys, int placeholder);
extern char *ckfdw_build_changes_request(const char *base, const char *token,
										 int placeholder);
#define CKFDW_REFUSED_QUERYABLE	0	/* not marked queryable */
#define CKFDW_REFUSED_SORTABLE	1	/* not marked sortable */
#define CKFDW_REFUSED_UNKNOWN	2	/* no such field */
extern bool ckfdw_index_refusal(const char *detail, char **field, int *refusal);
extern bool ckfdw_field_matches(const char *refused, const char *field,
								bool is_system);

/* in markers.c */
typedef struct CkFdwMarkerGuard CkFdwMarkerGuard;
extern void ckfdw_check_marker(CkFdwMarkerGuard **guard, MemoryContext cxt,
							   const char *marker, size_t len, int page,
							   const char *field, const char *read,
							   const char *record_type);
extern void ckfdw_check_next_marker(CkFdwMarkerGuard **guard, MemoryContext cxt,
									const char *marker, const char *prev,
									int nrecords, int page, const char *field,
									const char *read, const char *record_type);
extern void ckfdw_forget_markers(CkFdwMarkerGuard *guard);

#endif							/* CKFDW_H */
