/*-------------------------------------------------------------------------
 *
 * ckemu.h
 *		ckemu, a CloudKit Web Services emulator for tests and offline work.
 *
 * One process holds every container, environment and database in memory.
 * Requests arrive through libmicrohttpd (one thread per connection); the
 * store is guarded by one reader-writer lock, and the small side tables
 * (tokens, assets, faults, stats, the query cache) by their own mutexes,
 * always taken after the store lock.
 *
 * Declarations are grouped by the file that defines them.
 *
 * test/ckemu/ckemu.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CKEMU_H
#define CKEMU_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <json.h>

#include "ck/ck_schema.h"
#include "ck/ck_sign.h"
#include "ck/ck_types.h"
#include "ck/ck_util.h"

/*
 * Limits CloudKit documents (fact sheet section 9).
 */
#define EMU_MAX_OPERATIONS		200 /* records/modify, zones/modify, lookup */
#define EMU_MAX_TOKENS			200 /* assets/upload */
#define EMU_MAX_RECORD_BYTES	(1024 * 1024)	/* record size without assets */
#define EMU_MAX_DELETE_SELF		750 /* DELETE_SELF sources per target */
#define EMU_MAX_NAME_LEN		255 /* recordName, zoneName */
#define EMU_SIGNATURE_SKEW		600 /* seconds of clock skew accepted */
#define EMU_DEFAULT_BODY_LIMIT	(16 * 1024 * 1024)

/*
 * Choices made where the fact sheet says "unconfirmed".  Each is one
 * constant so that it is easy to change when the real behaviour is known.
 */
/* create of a record that exists: Apple lists EXISTS for "already exists" */
#define EMU_CODE_CREATE_EXISTS		"EXISTS"
/* update/replace/delete/forceDelete of a missing record */
#define EMU_CODE_MISSING_RECORD		"NOT_FOUND"
/* an S2S-signed request to the private or shared database */
#define EMU_CODE_S2S_NOT_PUBLIC		"ACCESS_DENIED"
/* a record larger than 1 MB */
#define EMU_CODE_RECORD_TOO_LARGE	"BAD_REQUEST"
/* zones/modify create of an existing zone succeeds (native saves are idempotent) */
#define EMU_ZONE_CREATE_EXISTING_FAILS false
/* an empty list is answered as UNKNOWN_LIST: the element type is lost */
#define EMU_EMPTY_LIST_IS_UNKNOWN	true

/* ------------------------------------------------------------------------
 * main.c: configuration
 * ------------------------------------------------------------------------
 */
typedef struct EmuS2SKey
{
	char	   *key_id;
	CkKey	   *key;
	char		user[34];		/* the developer's userRecordName */
} EmuS2SKey;

typedef struct EmuWebToken
{
	char	   *token;
	char	   *user_name;		/* as given on the command line */
} EmuWebToken;

typedef struct EmuConfig
{
	char		host[64];
	int			port;			/* the bound port */
	char		base_url[96];	/* http://HOST:PORT, or https:// with TLS */
	EmuS2SKey  *s2s_keys;
	int			ns2s_keys;
	char	  **api_tokens;
	int			napi_tokens;
	EmuWebToken *web_tokens;	/* the initial signed-in users */
	int			nweb_tokens;
	char	  **containers;		/* --container: known containers (none = any) */
	int			ncontainers;
	char	   *schema_file;
	char	   *port_file;
	char	  **data_files;
	int			ndata_files;
	int			latency_ms;
	int			results_limit_max;
	size_t		max_body_bytes;
	bool		rotate_web_tokens;
	bool		string_equals_ci;	/* case-insensitive STRING equality */
	bool		no_auth;		/* every request is the default user */
	bool		index_lag;		/* --index-lag: queries lag behind writes */
	bool		quiet;
	/* --tls-cert/--tls-key: serve HTTPS (PEM text, alive while serving) */
	char	   *tls_cert_pem;
	char	   *tls_key_pem;
} EmuConfig;

extern EmuConfig emu_config;

/* ------------------------------------------------------------------------
 * util.c: JSON output, hashing, maps, error helpers
 * ------------------------------------------------------------------------
 */

/*
 * A string-keyed hash map; keys are copied, values are the caller's.  An
 * entry keeps no hash (24 bytes, a 32-byte malloc chunk, not 48): a seed of
 * a million records has three million entries, and a chain is about one
 * entry long.
 */
typedef struct EmuMapEntry
{
	char	   *key;
	void	   *value;
	struct EmuMapEntry *next;
} EmuMapEntry;

typedef struct EmuMap
{
	EmuMapEntry **buckets;
	size_t		nbuckets;
	size_t		count;
	bool		borrowed_keys;	/* keys are the caller's, alive while mapped */
} EmuMap;

extern void emu_map_init(EmuMap *map);
extern void emu_map_init_borrowed(EmuMap *map);
extern void *emu_map_get(const EmuMap *map, const char *key);
extern void emu_map_put(EmuMap *map, const char *key, void *value);
extern void *emu_map_remove(EmuMap *map, const char *key);
extern void emu_map_free(EmuMap *map, void (*free_value) (void *));

/*
 * Append to an answer: inline while it fits, since rendering a page is
 * mostly short appends; ck_buf_append grows the buffer when it does not.
 */
static inline void
emu_append(CkBuf *buf, const char *s, size_t len)
{
	if (buf->len + len < buf->cap)
	{
		memcpy(buf->data + buf->len, s, len);
		buf->len += len;
		buf->data[buf->len] = '\0';
	}
	else
		ck_buf_append(buf, s, len);
}

/* append a string literal */
#define emu_lit(buf, s) emu_append((buf), (s), sizeof(s) - 1)

extern uint64_t emu_hash_bytes(uint64_t h, const void *data, size_t len);
extern void emu_json_string(CkBuf *buf, const char *s);
extern void emu_json_object(CkBuf *buf, json_object *obj);
extern void emu_hex(const unsigned char *data, size_t len, char *out);
extern void emu_user_from_seed(const char *prefix, const char *text, char out[34]);
extern char *emu_strdup(const char *s);
extern void emu_buf_reserve(CkBuf *buf, size_t extra);
extern void *emu_malloc(size_t size);
extern void *emu_realloc(void *ptr, size_t size);
extern void emu_base36(uint64_t n, char *out);
extern char *emu_token_encode(const char *kind, int64_t a, int64_t b);
extern bool emu_token_decode(const char *token, const char *kind, int64_t *a, int64_t *b);
extern void emu_sleep_ms(int ms);
extern const char *emu_java_class(json_object *v);

/* json-c getters that check types; NULL/false when absent or wrongly typed */
extern json_object *emu_get(json_object *obj, const char *key);

/* ------------------------------------------------------------------------
 * http.c: requests, responses, routing
 * ------------------------------------------------------------------------
 */
typedef struct EmuCaller
{
	bool		signed_in;		/* a user (web token) or the developer (S2S) */
	bool		s2s;
	char		user[34];		/* userRecordName when signed in */
	char		user_name[128]; /* the web token's user name, or "" */
	char	   *web_token;		/* the token presented (to rotate) */
} EmuCaller;

struct EmuScope;
struct EmuSchemaSet;

typedef struct EmuRequest
{
	struct MHD_Connection *conn;
	char	   *raw_uri;		/* request target exactly as received */
	const char *method;
	CkBuf		body;
	bool		body_too_large;
	bool		started;		/* first handler call seen */
	char		uuid[37];

	/* routing */
	char	   *path;			/* raw_uri without the query */
	char	   *query;			/* after '?', or NULL */
	char	   *container;
	char	   *environment;
	char	   *database;
	const char *op;				/* "records/query" ... (static) */
	bool		production;
	bool		public_db;

	/* who */
	EmuCaller	caller;
	struct EmuScope *scope;
	struct EmuSchemaSet *schema;

	/* the answer */
	int			status;
	CkBuf		out;
	char	   *rotated_token;	/* new X-Apple-CloudKit-Web-Auth-Token */
	long		records_in;
	long		records_out;
	bool		answered;

	/* accounting (admin.c) */
	bool		in_flight;		/* counted in the in_flight gauge */
	bool		abandoned;		/* the client hung up before its answer */
	bool		counted_whole;	/* counted as answered, to be sent whole */
	long		counted_out;	/* records_out and bytes_out as counted */
	size_t		counted_bytes_out;
	uint64_t	stats_epoch;	/* the statistics it was counted in */
} EmuRequest;

/* Answer with the CloudKit error envelope (status from the code). */
extern void emu_error(EmuRequest *req, const char *code, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
extern void emu_error_retry(EmuRequest *req, const char *code, int retry_after,
							const char *redirect_url, const char *reason);
extern json_object *emu_body_array(EmuRequest *req, json_object *body,
								   const char *key, const char *what, int max,
								   int *n);
extern bool emu_body_bool(EmuRequest *req, json_object *body, const char *key,
						  bool *value);
extern int	emu_status_for_code(const char *code);
extern bool emu_code_known(const char *code);
extern char *emu_query_param(const char *query, const char *name);
extern bool emu_wait_for_client(EmuRequest *req, int ms);
extern struct MHD_Daemon *emu_http_start(char *errbuf, size_t errlen);

/* ------------------------------------------------------------------------
 * auth.c: credentials
 * ------------------------------------------------------------------------
 */
extern void emu_auth_init(void);
extern void emu_auth_reset(void);
extern void emu_auth_shutdown(void);
extern bool emu_authenticate(EmuRequest *req, bool needs_user);
extern void emu_auth_finish(EmuRequest *req);
extern char *emu_auth_signin(const char *user_name);
extern void emu_user_record_name(const char *user_name, char out[34]);
extern const char *emu_default_creator(void);

/* ------------------------------------------------------------------------
 * value.c: field values
 * ------------------------------------------------------------------------
 */
typedef enum EmuRefAction
{
	EMU_REF_NONE = 0,
	EMU_REF_DELETE_SELF,
	EMU_REF_VALIDATE
} EmuRefAction;

typedef struct EmuScalar
{
	union
	{
		int64_t		i;			/* INT64, TIMESTAMP */
		double		d;			/* DOUBLE */
		struct
		{
			double		lat;
			double		lon;
		}			loc;		/* LOCATION */
		/* a million-record seed has many scalars: no room of their own */
		struct
		{
			EmuRefAction action;
			char	   *zone;	/* zoneName, or NULL */
		}			ref;		/* REFERENCE */
	}			u;
	char	   *s;				/* STRING, BYTES (base64), REFERENCE name, asset id */
} EmuScalar;

/*
 * A value parsed by emu_value_parse is packed: one allocation holds the
 * scalars, their strings and the JSON text, and items points at it.  A
 * seed record's field array holds its values' blocks (emu_fields_pack).
 */
typedef struct EmuValue
{
	CkFieldType type;
	int			n;				/* elements; 1 for a scalar */
	bool		packed;			/* items is the one block (see above) */
	bool		in_fields;		/* that block is in the field array's */
	EmuScalar  *items;
	char	   *json;			/* the wire "value" as JSON text */
} EmuValue;

typedef struct EmuField
{
	const char *name;			/* interned (emu_intern): never freed */
	EmuValue	v;
} EmuField;

/* How a value is parsed: writes and filters differ a little. */
typedef enum EmuValueMode
{
	EMU_VALUE_WRITE,			/* a record field on a write */
	EMU_VALUE_SEED,				/* a record field in a seed file (ckemuData) */
	EMU_VALUE_FILTER			/* a query filter value */
} EmuValueMode;

extern bool emu_type_parse(const char *name, CkFieldType *out);
extern bool emu_value_parse(json_object *value, CkFieldType type, EmuValueMode mode,
							EmuValue *out, char *err, size_t errlen);
extern bool emu_value_parse_text(const char *text, size_t len, CkFieldType type,
								 EmuValueMode mode, EmuValue *out);
extern bool emu_value_infer_type(json_object *value, CkFieldType *type);
extern void emu_value_free(EmuValue *v);
extern void emu_value_copy(EmuValue *dst, const EmuValue *src);
extern EmuField *emu_fields_pack(EmuField *fields, int n);
extern void emu_value_render(CkBuf *buf, const EmuValue *v, bool numbers_as_strings);
extern void emu_append_int64(CkBuf *buf, int64_t v);
extern void emu_value_render_dump(CkBuf *buf, const EmuValue *v);
extern int	emu_scalar_cmp(CkScalarType type, const EmuScalar *a, const EmuScalar *b);
extern bool emu_scalar_eq(CkScalarType type, const EmuScalar *a, const EmuScalar *b,
						  bool string_ci);
extern size_t emu_value_size(const EmuValue *v);
extern void emu_type_mismatch(char *err, size_t errlen, CkFieldType expected,
							  json_object *value);

/* ------------------------------------------------------------------------
 * store.c: scopes, zones, records, change logs
 * ------------------------------------------------------------------------
 */
/*
 * A record is one allocation with its name after it; type and users are
 * interned (emu_intern), shared by every record and never freed.
 */
typedef struct EmuRecord
{
	char	   *name;			/* inside the record's allocation */
	const char *type;
	char		tag[16];		/* recordChangeTag */
	int64_t		created_ms;
	int64_t		modified_ms;
	const char *created_user;
	const char *modified_user;
	EmuField   *fields;
	int			nfields;
	bool		deleted;		/* a tombstone, kept for the change feed */
	int64_t		seq;			/* zone change sequence of the last change */
	int64_t		serial;			/* creation order, the default query order */
	int64_t		write_no;		/* store-wide number of its last write (index.c) */
	size_t		order_idx;		/* slot in zone->order */
	struct EmuZone *zone;
	uint64_t	undo_batch;		/* batch that saved this record's state */
} EmuRecord;

typedef struct EmuLogEntry
{
	int64_t		seq;
	EmuRecord  *rec;
} EmuLogEntry;

typedef struct EmuRefList
{
	EmuRecord **srcs;
	int			n;
	int			cap;
} EmuRefList;

typedef struct EmuZone
{
	char	   *name;
	char	   *owner;			/* ownerRecordName */
	bool		is_default;
	bool		deleted;
	int64_t		incarnation;	/* identifies this life of the zone in tokens */
	int64_t		life_incarnation;	/* its incarnation when created or revived:
									 * tokens between it and incarnation were
									 * expired by /_ckemu/expire-tokens */
	struct EmuScope *scope;
	EmuMap		records;		/* name -> EmuRecord (live or tombstone) */
	EmuRecord **order;			/* live records in creation order; NULL holes */
	size_t		norder;
	size_t		cap_order;
	size_t		nholes;
	EmuLogEntry *log;			/* change log, seq ascending */
	size_t		nlog;
	size_t		cap_log;
	size_t		nstale;			/* log entries superseded by later ones */
	int64_t		seq;			/* last record change */
	int64_t		db_seq;			/* scope sequence of the zone's last change */
	EmuMap		backrefs;		/* target name -> EmuRefList (VALIDATE/DELETE_SELF) */
	int64_t		created_serial;
} EmuZone;

typedef struct EmuSchemaSet
{
	char	   *container;
	bool		production;
	CkSchema   *schema;			/* NULL: permissive (no --schema) */
	CkSchema   *learned;		/* permissive mode: types learned from writes */
	struct EmuSchemaSet *next;
} EmuSchemaSet;

typedef struct EmuScope
{
	char	   *container;
	char	   *environment;
	char	   *database;
	char	   *owner;			/* the user whose database this is; "" for public */
	EmuZone   **zones;			/* [0] is the default zone */
	int			nzones;
	int64_t		seq;			/* database change sequence */
	int64_t		incarnation;
	int64_t		life_incarnation;	/* the first: tokens between it and
									 * incarnation were expired */
	EmuSchemaSet *schema;
	struct EmuScope *next;
} EmuScope;

/* The store lock: readers query, writers modify. */
extern pthread_rwlock_t emu_store_lock;
extern uint64_t emu_store_gen;	/* bumped on every write, under the write lock */
extern uint64_t emu_store_free_gen;	/* bumped whenever records are freed */

extern void emu_store_init(void);
extern const char *emu_intern(const char *s);
extern void emu_store_clear(void);
extern EmuScope *emu_scope_get(const char *container, const char *environment,
							   const char *database, const char *owner);
extern EmuScope *emu_scope_first(void);
extern EmuSchemaSet *emu_schema_set_get(const char *container, bool production);
extern void emu_public_owner(const char *container, char out[34]);
extern bool emu_zone_visible(const EmuZone *zone);
extern EmuZone *emu_zone_find(EmuScope *scope, const char *name, const char *owner);
extern EmuZone *emu_zone_create(EmuScope *scope, const char *name, const char *owner);
extern void emu_expire_tokens(void);

/*
 * A changes/zone or changes/database token that POST /_ckemu/expire-tokens
 * has expired is
 * answered with this per-zone error.  Natively it is CKErrorChangeTokenExpired;
 * the Web Services code is not documented (fact sheet sections 6 and 8, whose
 * table has no token code), so the default is BAD_REQUEST, the code of any
 * request CloudKit cannot run as sent.  Change it here.
 */
#define EMU_EXPIRED_TOKEN_CODE		"BAD_REQUEST"
#define EMU_EXPIRED_TOKEN_REASON	"syncToken has expired; fetch the zone's changes again without a syncToken"
extern void emu_zone_delete(EmuZone *zone);
extern EmuRecord *emu_record_find(EmuZone *zone, const char *name);
extern EmuField *emu_record_field(const EmuRecord *rec, const char *name);
extern EmuRecord *emu_record_put(EmuZone *zone, const char *name, const char *type,
								 EmuField *fields, int nfields, const char *user,
								 int64_t now_ms);
extern void emu_record_delete(EmuRecord *rec, int64_t now_ms);
extern void emu_record_touch(EmuRecord *rec);
extern void emu_fields_free(EmuField *fields, int n);
extern EmuRefList *emu_backrefs(EmuZone *zone, const char *target);
extern void emu_store_bump(void);
extern void emu_new_change_tag(char *out);
extern void emu_note_change_tag(const char *tag);
extern int64_t emu_next_serial(void);

/* atomic batches: save states, then commit or roll back */
extern void emu_batch_begin(void);
extern void emu_batch_save(EmuZone *zone, EmuRecord *rec, bool existed);
extern void emu_batch_commit(void);
extern void emu_batch_rollback(void);
extern bool emu_batch_active(void);

/* rendering */
typedef struct EmuKeys
{
	bool		all;
	int			n;
	const char **names;
} EmuKeys;

extern bool emu_keys_parse(json_object *arr, EmuKeys *keys, const EmuKeys *dflt,
						   char *err, size_t errlen);
extern void emu_keys_free(EmuKeys *keys);
extern void emu_render_record(CkBuf *buf, const EmuRecord *rec, const EmuKeys *keys,
							  bool numbers_as_strings);
extern void emu_render_zone_id(CkBuf *buf, const EmuZone *zone);
extern void emu_render_record_error(CkBuf *buf, const char *record_name,
									const char *code, const char *reason);
extern bool emu_parse_zone_id(json_object *zid, const char **name, const char **owner,
							  char *err, size_t errlen);
extern EmuZone *emu_resolve_zone(EmuRequest *req, json_object *zone_id, bool report);

/* ------------------------------------------------------------------------
 * schema.c: indexes, grants, just-in-time schema
 * ------------------------------------------------------------------------
 */
typedef struct EmuFieldInfo
{
	bool		known;			/* declared or learned */
	bool		system;			/* ___recordID etc. */
	CkFieldType type;
	bool		queryable;
	bool		sortable;
	bool		searchable;
} EmuFieldInfo;

extern bool emu_schema_permissive(EmuSchemaSet *set);
extern bool emu_schema_has_type(EmuSchemaSet *set, const char *type);
extern bool emu_schema_field(EmuSchemaSet *set, const char *type, const char *field,
							 EmuFieldInfo *info);
extern bool emu_schema_learn(EmuSchemaSet *set, const char *type, const char *field,
							 CkFieldType ftype, char *err, size_t errlen);
extern bool emu_schema_learn_type(EmuSchemaSet *set, const char *type,
								  char *err, size_t errlen);
extern int	emu_schema_rights(EmuSchemaSet *set, const char *type, const EmuCaller *caller,
							  bool is_creator);
extern void emu_schema_free_set(EmuSchemaSet *set);
extern CkSchema *emu_schema_load(char *err, size_t errlen);

/* ------------------------------------------------------------------------
 * Operations: one function per CloudKit endpoint
 * ------------------------------------------------------------------------
 */
extern void emu_op_records_query(EmuRequest *req, json_object *body);	/* query.c */
extern void emu_op_records_lookup(EmuRequest *req, json_object *body);	/* lookup.c */
extern void emu_op_records_modify(EmuRequest *req, json_object *body);	/* modify.c */
extern void emu_op_changes_database(EmuRequest *req, json_object *body); /* changes.c */
extern void emu_op_changes_zone(EmuRequest *req, json_object *body);	/* changes.c */
extern void emu_changes_zone_error(EmuRequest *req, const char *code,
								   const char *reason);	/* changes.c */
extern void emu_op_zones_list(EmuRequest *req, json_object *body);	/* zones.c */
extern void emu_op_zones_lookup(EmuRequest *req, json_object *body);	/* zones.c */
extern void emu_op_zones_modify(EmuRequest *req, json_object *body);	/* zones.c */
extern void emu_op_users_caller(EmuRequest *req, json_object *body);	/* users.c */
extern void emu_op_users_current(EmuRequest *req, json_object *body);	/* users.c */
extern void emu_op_assets_upload(EmuRequest *req, json_object *body);	/* assets.c */

extern void emu_render_zone(CkBuf *buf, const EmuZone *zone);	/* zones.c */
extern void emu_query_cache_clear(void);	/* query.c */

/* modify.c: the write path shared with the seed loader */
extern bool emu_build_fields(EmuRequest *req, EmuSchemaSet *set, const char *type,
							 json_object *fields, EmuValueMode mode, bool nulls_allowed,
							 EmuField **out, int *nout, char *code, char *err, size_t errlen);

/* ------------------------------------------------------------------------
 * fastjson.c: records/modify bodies and seed records without a tree per field
 * ------------------------------------------------------------------------
 */
/* One member of a record's "fields", as the fast reader found it. */
typedef struct EmuFastField
{
	const char *name;
	const char *type;			/* "type" when a string; NULL when absent or null */
	const char *value;			/* "value"'s JSON text; NULL when absent or null */
	size_t		value_len;
	bool		is_dict;		/* the member is a dictionary */
	/*
	 * The value already read as "type" says (emu_value_parse_text, before
	 * the store lock is taken), for a write or seed as mode says; taken
	 * (zeroed) by whoever stores it, freed with the body otherwise.
	 */
	bool		prepared;
	EmuValueMode prepared_mode;
	CkFieldType prepared_type;
	EmuValue	prepared_value;
} EmuFastField;

extern json_object *emu_fast_parse(const char *text, size_t len, bool seed_record);
extern bool emu_fast_fields(json_object *fields, EmuFastField **list, int *n);
extern json_object *emu_fast_value_json(const EmuFastField *f);
extern void emu_fast_ws(const char **pp, const char *end);
extern bool emu_fast_string(const char **pp, const char *end, CkBuf *out);
extern bool emu_fast_number(const char **pp, const char *end, bool *is_double);

/* ------------------------------------------------------------------------
 * assets.c: uploaded bytes
 * ------------------------------------------------------------------------
 */
/*
 * One allocation with its bytes after it, and after them an upload's
 * receipt; the maps borrow id and receipt.
 */
typedef struct EmuBlob
{
	char		id[33];
	char		checksum[45];
	const char *receipt;		/* "" for a seed's asset: never handed out */
	size_t		len;
	unsigned char data[];
} EmuBlob;

extern void emu_assets_init(void);
extern void emu_assets_clear(void);
extern bool emu_asset_resolve(json_object *dict, bool seed, char *id_out, char *err, size_t errlen);
extern bool emu_asset_from_seed_data(const char *base64, size_t len, char *id_out);
extern bool emu_asset_info(const char *id, char *checksum, size_t *len);
extern unsigned char *emu_asset_bytes(const char *id, size_t *len);
extern void emu_asset_upload_bytes(EmuRequest *req, const char *token);
extern void emu_assets_expire_urls(void);
extern void emu_asset_download(EmuRequest *req, const char *id, unsigned char **data,
							   size_t *len);

/* ------------------------------------------------------------------------
 * faults.c: injected failures
 * ------------------------------------------------------------------------
 */
typedef enum EmuFaultAction
{
	EMU_FAULT_NONE = 0,
	EMU_FAULT_ERROR,
	EMU_FAULT_DELAY,
	EMU_FAULT_DROP_BEFORE,
	EMU_FAULT_DROP_AFTER,
	EMU_FAULT_TRUNCATE,
	EMU_FAULT_MALFORMED,
	EMU_FAULT_REPEAT_MARKER,	/* answer with the request's own marker */
	EMU_FAULT_ZONE_ERROR,		/* changes/zone: a per-zone error in HTTP 200 */
	EMU_FAULT_RESPOND			/* answer with the rule's body instead */
} EmuFaultAction;

typedef struct EmuFault
{
	EmuFaultAction action;
	char		code[48];
	int			status;			/* 0 = from the code */
	int			retry_after;	/* -1 = none */
	char		reason[256];
	int			delay_ms;
	char	   *body;			/* EMU_FAULT_RESPOND: the answer's text (a
								 * malloc'd copy, freed after use) */
} EmuFault;

extern void emu_faults_init(void);
extern void emu_faults_clear(void);
extern bool emu_faults_set(json_object *rules, char *err, size_t errlen);
extern void emu_faults_pick(const char *op, EmuFault *fault);
extern json_object *emu_faults_list(void);
extern void emu_faults_apply(EmuRequest *req, EmuFault *fault);

/* ------------------------------------------------------------------------
 * admin.c: stats, reset, dump
 * ------------------------------------------------------------------------
 */
extern void emu_stats_init(void);
extern void emu_stats_clear(void);
extern uint64_t emu_stats_count(const char *op, long records_in, long records_out,
								size_t bytes_in, size_t bytes_out);
extern void emu_stats_abandoned(const char *op, long records_in);
extern void emu_stats_undelivered(const char *op, long records_out, size_t bytes_in,
								  size_t bytes_out, uint64_t epoch);
extern void emu_stats_waiting(int delta);
extern void emu_stats_in_flight(int delta);
extern bool emu_admin_handle(EmuRequest *req, const char *path);

/* ------------------------------------------------------------------------
 * index.c: index lag
 * ------------------------------------------------------------------------
 */
extern void emu_index_note_write(EmuRecord *rec);
extern bool emu_index_visible(const EmuRecord *rec);
extern void emu_index_reset(void);
extern const char *emu_index_admin(EmuRequest *req);

/* ------------------------------------------------------------------------
 * share.c: shares, participants, acceptance, the shared database
 * ------------------------------------------------------------------------
 */
extern bool emu_share_active;	/* anything share-related exists */
extern void emu_share_clear(void);
extern EmuZone *emu_share_zone_find(EmuScope *scope, const char *name, const char *owner);
extern bool emu_share_record_visible(const EmuScope *scope, const EmuRecord *rec);
extern size_t emu_share_filter(const EmuScope *scope, EmuRecord **recs, size_t n);
extern void emu_share_list_zones(const EmuScope *scope, CkBuf *out, bool *first);
extern bool emu_share_changes_database(EmuRequest *req, json_object *body);
extern void emu_share_render_extras(CkBuf *buf, const EmuRecord *rec);
extern bool emu_share_lookup(EmuRequest *req, EmuZone *zone, const char *name, CkBuf *out);
extern void emu_share_note_record(EmuZone *zone, const EmuRecord *rec, json_object *jrec,
								  bool created);
extern bool emu_share_write_check(EmuRequest *req, EmuZone *zone, const char *name,
								  json_object *jrec, bool exists, char *reason, size_t len);
extern bool emu_share_is_share_op(EmuZone *zone, const char *name, json_object *jrec);
extern bool emu_share_modify(EmuRequest *req, EmuZone *zone, const char *op,
							 const char *name, json_object *jrec, bool check_tag,
							 CkBuf *text, char *code, size_t codelen,
							 char *reason, size_t len);
extern void emu_op_records_accept(EmuRequest *req, json_object *body);
extern bool emu_share_admin(EmuRequest *req, const char *path);

/* ------------------------------------------------------------------------
 * seed.c: seed files and dumps
 * ------------------------------------------------------------------------
 */
extern bool emu_seed_load_all(char *err, size_t errlen);
extern void emu_seed_dump(CkBuf *buf);
extern bool emu_reset(char *err, size_t errlen);
extern void emu_seed_free_texts(void);

#endif							/* CKEMU_H */
