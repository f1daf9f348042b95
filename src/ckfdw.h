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
#define CKFDW_DEFAULT_MAX_RETRY_WAIT_MS		30000

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
	int			max_retries;
	long		max_retry_wait_ms;
	/* server or table */
	int			page_size;
	int			batch_size;
	/* table */
	char	   *record_type;	/* default: the foreign table's name */
	char	   *zone;
	char	   *zone_owner;		/* NULL when not set */
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
	CKFDW_SYS_MODIFIED_USER
} CkFdwSystemField;

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
} CkFdwColumn;

/*
 * Planner state of a foreign table, kept in baserel->fdw_private (compare
 * postgres_fdw's PgFdwRelationInfo).
 */
typedef struct CkFdwRelationInfo
{
	/* conditions CloudKit evaluates, and those PostgreSQL must */
	List	   *remote_conds;
	List	   *local_conds;

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
	int			ncolumns;
	char	   *relname;
} CkFdwRelationInfo;

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

/* in ckfdw.c */
extern bool ckfdw_log_requests;

/* in option.c */
extern CkFdwOptions *ckfdw_get_options(ForeignServer *server, ForeignTable *table,
									   Relation rel);
extern char *ckfdw_option_value(List *options, const char *name);
extern const char *ckfdw_system_field_name(CkFdwSystemField field);

/* in connection.c */
extern CkFdwConnection *ckfdw_get_connection(UserMapping *user, ForeignServer *server,
											 CkFdwOptions *options);
extern void ckfdw_release_connection(CkFdwConnection *conn);
extern void ckfdw_request(CkFdwConnection *conn, const char *method,
						  const char *body, bool idempotent,
						  const CkFdwRequestInfo *info, CkResponse *resp);
extern void ckfdw_report_response(const CkResponse *resp,
								  const CkFdwRequestInfo *info) pg_attribute_noreturn();
extern void ckfdw_report_record_error(const char *server_error_code,
									  const char *reason, const char *record_name,
									  double retry_after,
									  const CkFdwRequestInfo *info) pg_attribute_noreturn();

/* in convert.c */
extern CkFdwColumn *ckfdw_get_columns(Relation rel, int *ncolumns);
extern void ckfdw_record_to_values(CkFdwColumn *columns, int ncolumns,
								   List *retrieved_attrs,
								   const struct CkRecord *rec, const char *relname,
								   Datum *values, bool *nulls);
extern char *ckfdw_to_utf8(const char *s);
extern char *ckfdw_from_utf8(const char *s, size_t len);
extern char *ckfdw_message_text(const char *s);

/* in deparse.c */
extern void ckfdw_classify_conditions(PlannerInfo *root, RelOptInfo *baserel,
									  List *input_conds,
									  List **remote_conds, List **local_conds);
extern bool ckfdw_is_foreign_expr(PlannerInfo *root, RelOptInfo *baserel, Expr *expr);
extern char *ckfdw_deparse_query(PlannerInfo *root, RelOptInfo *baserel,
								 List *remote_conds, Bitmapset *attrs_used,
								 List **retrieved_attrs);

#endif							/* CKFDW_H */
