/*-------------------------------------------------------------------------
 *
 * ckt.h
 *		The ckemu protocol test suite: harness declarations.
 *
 * The suite talks to real ckemu processes over HTTP (libcurl), signs
 * requests with src/ck/ck_sign.h, and checks the answers against the
 * protocol (cloudkit-web-services.md) and the seed data in test/data.
 *
 * Writing a test:
 *
 *	 TEST("records/lookup missing")
 *	 {
 *		 Resp *r = ck_post(emu, "public", "records/lookup", "{...}");
 *		 CHECK_STATUS(r, 200);
 *		 CHECK_STR(jps(r->json, "records[0].serverErrorCode"), "NOT_FOUND");
 *	 }
 *
 * Everything a test allocates through the harness (responses, tfmt strings)
 * is freed when the test ends.  Use "continue" to leave a test early; never
 * "break" or "return" out of a TEST block.
 *
 * test/ckemu/tests/ckt.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CKT_H
#define CKT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <curl/curl.h>
#include <json.h>

#include "ck/ck_sign.h"

#define CKT_CONTAINER	"iCloud.com.example.Gallery"
#define CKT_KEY_ID		"ckt-key-1"
#define CKT_API_TOKEN	"ckt-api-token-0123456789abcdef"

/* Web-auth tokens given to ckemu with --web-auth-token TOKEN=USER */
#define CKT_TOKEN_A		"ckt-web-token-alice"
#define CKT_USER_A		"alice"
#define CKT_TOKEN_B		"ckt-web-token-bob"
#define CKT_USER_B		"bob"
#define CKT_TOKEN_C		"ckt-web-token-carol"
#define CKT_USER_C		"carol"
/* D signs in as the owner of the private seed records */
#define CKT_TOKEN_D		"ckt-web-token-seed-owner"

/* The owner of the private seed records in gallery.json */
#define CKT_SEED_OWNER	"_0d1e2a3b4c5d6e7f8091a2b3c4d5e6f7"

/* ------------------------------------------------------------------------
 * Emulator processes
 * ------------------------------------------------------------------------
 */
typedef struct Emu
{
	pid_t		pid;
	int			port;
	char		base[64];		/* http://127.0.0.1:PORT */
	char		name[32];
	char		logfile[512];
} Emu;

typedef struct EmuOpts
{
	const char *name;
	bool		schema;			/* --schema gallery.ckdb */
	bool		data;			/* --data gallery.json */
	bool		keys;			/* --s2s-key */
	bool		tokens;			/* --api-token and --web-auth-token A, B, C, D */
	bool		rotate;			/* --rotate-web-auth-tokens */
	int			latency_ms;
	int			results_limit_max;
	const char *extra[8];		/* more arguments, NULL-terminated */
} EmuOpts;

extern Emu *emu_start(const EmuOpts *opts);
extern void emu_stop(Emu *emu);
extern bool emu_alive(Emu *emu);

/* The shared instance: schema, data, keys and tokens. */
extern Emu *emu_main(void);

/* POST /_ckemu/reset; true on 200. */
extern bool emu_reset(Emu *emu);

/* ------------------------------------------------------------------------
 * HTTP
 * ------------------------------------------------------------------------
 */
typedef enum CredKind
{
	CRED_NONE,
	CRED_S2S,					/* server-to-server key headers */
	CRED_API,					/* ?ckAPIToken= */
	CRED_API_WEB				/* ?ckAPIToken=&ckWebAuthToken= */
} CredKind;

typedef struct Cred
{
	CredKind	kind;
	const char *key_id;			/* default CKT_KEY_ID */
	CkKey	   *key;			/* default the registered key */
	const char *api_token;		/* default CKT_API_TOKEN */
	const char *web_token;
	const char *web_param;		/* default "ckWebAuthToken" */
	long		date_offset;	/* seconds added to now for the signed date */
	const char *date;			/* signed date as given, overrides the above */
	bool		sign_bare_path; /* sign the path without the query string */
} Cred;

typedef struct Req
{
	const char *method;			/* default: POST with a body, else GET */
	const char *path;			/* from "/" on, may include "?query" */
	const char *body;			/* NULL: no body */
	size_t		body_len;		/* 0: strlen(body) */
	const char *content_type;	/* default application/json; "" = none */
	Cred		cred;
	CURL	   *curl;			/* reuse this handle (keep-alive) */
	long		timeout_ms;		/* default 30 s */
	bool		raw;			/* skip the automatic envelope checks */
	bool		detached;		/* not owned by the test (threads): resp_free it */
	atomic_bool *hang_up;		/* when it turns true, close the connection */
	const char *headers[8];		/* extra "Name: value" lines, NULL-terminated */
} Req;

typedef struct Resp
{
	CURLcode	cc;				/* transport result */
	long		status;
	char	   *body;
	size_t		len;
	json_object *json;			/* parsed body, or NULL */
	char		content_type[128];
	char		version[32];	/* X-Apple-CloudKit-Version */
	char		uuid_header[64];	/* X-Apple-Request-UUID */
	char		web_token[512]; /* X-Apple-CloudKit-Web-Auth-Token */
	double		secs;
	long		num_connects;
	struct Resp *next;			/* test arena */
} Resp;

extern Resp *http(Emu *emu, const Req *req);
extern void resp_free(Resp *resp);

/* /database/1/CKT_CONTAINER/<env>/<db>/<op> (a tfmt string) */
extern const char *dbpath(const char *env, const char *db, const char *op);

/* Signed (S2S), development: POST with body, GET when body is NULL. */
extern Resp *ck_post(Emu *emu, const char *db, const char *op, const char *body);
/* Same with a printf-style body. */
extern Resp *ck_postf(Emu *emu, const char *db, const char *op, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));
/* Any credential, environment and method. */
extern Resp *ck_req(Emu *emu, const Cred *cred, const char *method, const char *env,
					const char *db, const char *op, const char *body);

/* Credentials */
extern Cred cred_s2s(void);
extern Cred cred_api(void);
extern Cred cred_web(const char *web_token);

/* Admin endpoints (unsigned) */
extern Resp *admin(Emu *emu, const char *method, const char *path, const char *body);

/*
 * Poll GET admin_path ("/_ckemu/stats") until the number at path
 * ("in_flight", "operations.records/query.requests") equals want, for at
 * most max_secs; returns the last value seen (-1: absent).  max_secs only
 * bounds a failing run: it is never what a test measures.
 */
extern int64_t admin_wait(Emu *emu, const char *admin_path, const char *path,
						  int64_t want, double max_secs);
#define stats_wait(emu, path, want, max_secs) \
	admin_wait((emu), "/_ckemu/stats", (path), (want), (max_secs))

/*
 * Send req (a /database/ request) from another thread, wait until ckemu
 * holds it (GET admin_path shows 1 at path), then hang up as a cancelled
 * client does.  Returns the transport result: normally
 * CURLE_ABORTED_BY_CALLBACK.
 */
extern CURLcode http_hang_up(Emu *emu, const Req *req, const char *admin_path,
							 const char *path);

/*
 * The same with n (at most 8) copies of req at once: waits until path
 * shows n, then all hang up.  Returns CURLE_ABORTED_BY_CALLBACK when every
 * one ended so, else the first other result.
 */
extern CURLcode http_hang_up_n(Emu *emu, const Req *req, int n,
							   const char *admin_path, const char *path);

/* ------------------------------------------------------------------------
 * JSON
 * ------------------------------------------------------------------------
 */
/* Path access: "records[0].fields.name.value"; NULL when absent. */
extern json_object *jp(json_object *root, const char *path);
extern json_object *jpf(json_object *root, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern const char *jps(json_object *root, const char *path);	/* string or NULL */
extern int64_t jpi(json_object *root, const char *path, int64_t dflt);
extern double jpd(json_object *root, const char *path, double dflt);
extern bool jpb(json_object *root, const char *path, bool dflt);
extern int	jlen(json_object *root, const char *path);	/* array length or -1 */
extern bool json_equal(json_object *a, json_object *b);
extern const char *jstr(json_object *obj);	/* compact text, for messages */
extern json_object *tkeep(json_object *obj);	/* json_object_put at test end */
extern json_object *jparse(const char *text);	/* parsed, kept until test end */

/* ------------------------------------------------------------------------
 * Seed data (test/data/gallery.json)
 * ------------------------------------------------------------------------
 */
extern json_object *seed_record(const char *name);	/* public seeds */
extern int	seed_count(const char *type);
extern json_object *seed_nth(const char *type, int i);	/* i-th record of type */
extern json_object *seed_field(json_object *rec, const char *field); /* value or NULL */

/* A sorted set of record names, for comparing query results. */
typedef struct NameSet
{
	char	  **names;
	int			n;
	int			cap;
} NameSet;

extern NameSet *nameset_new(void);	/* freed with the test */
extern void nameset_add(NameSet *set, const char *name);
extern void nameset_sort(NameSet *set);
extern int	nameset_dups(NameSet *set);	/* after sort: duplicates */
/* Compare; on mismatch writes a description into msg. */
extern bool nameset_equal(NameSet *a, NameSet *b, char *msg, size_t msglen);

typedef bool (*SeedPred) (json_object *rec, void *arg);
extern NameSet *seed_select(const char *type, SeedPred pred, void *arg);

/*
 * Run a query to its end following continuationMarker; returns the names,
 * or NULL after recording a failure.  query_json is the whole request body
 * without resultsLimit/continuationMarker.  *pages receives the page count.
 */
extern NameSet *query_all(Emu *emu, const char *body, int limit, int *pages);

/* ------------------------------------------------------------------------
 * Tests and checks
 * ------------------------------------------------------------------------
 */
extern int	test_begin(const char *name);
extern int	test_end(void);
extern bool test_selected(const char *name);

#define TEST(name) for (int ckt_once_ = test_begin(name); ckt_once_; ckt_once_ = test_end())

extern bool ckt_check(bool ok, const char *file, int line, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

#define CHECK(cond) ckt_check((cond), __FILE__, __LINE__, "%s", #cond)
#define CHECKM(cond, ...) ckt_check((cond), __FILE__, __LINE__, __VA_ARGS__)

extern bool check_status(Resp *r, long status, const char *file, int line);
extern bool check_str(const char *got, const char *want, const char *what,
					  const char *file, int line);
extern bool check_int(int64_t got, int64_t want, const char *what,
					  const char *file, int line);
extern bool check_code(Resp *r, const char *code, const char *file, int line);
extern bool check_item_code(Resp *r, const char *array, int i, const char *code,
							const char *file, int line);
/* serverErrorCode of records[i], else the top-level one, else NULL */
extern const char *resp_code(Resp *r, int i);

extern bool check_reason_has(Resp *r, const char *needle, const char *file, int line);

#define CHECK_STATUS(r, s) check_status((r), (s), __FILE__, __LINE__)
#define CHECK_STR(got, want) check_str((got), (want), #got, __FILE__, __LINE__)
#define CHECK_INT(got, want) check_int((got), (want), #got, __FILE__, __LINE__)
/* top-level error: status from the code table, envelope, code */
#define CHECK_CODE(r, code) check_code((r), (code), __FILE__, __LINE__)
/* per-item error inside HTTP 200: r->json[array][i].serverErrorCode */
#define CHECK_ITEM_CODE(r, i, code) check_item_code((r), "records", (i), (code), __FILE__, __LINE__)
#define CHECK_ZONE_CODE(r, i, code) check_item_code((r), "zones", (i), (code), __FILE__, __LINE__)
#define CHECK_REASON(r, needle) check_reason_has((r), (needle), __FILE__, __LINE__)

/* A string that lives until the test ends. */
extern char *tfmt(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* HTTP status CloudKit uses for a serverErrorCode (0 if unknown). */
extern int	code_status(const char *code);

extern double now_secs(void);
extern void sleep_ms(int ms);
extern void note(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* Globals set by main */
extern const char *g_ckemu_path;
extern const char *g_data_dir;
extern char g_tmpdir[];
extern char g_key_pem[];		/* registered private key (PEM file) */
extern char g_pub_pem[];
extern char g_other_key_pem[];	/* a second, unregistered key */
extern CkKey *g_key;
extern CkKey *g_other_key;

/* ------------------------------------------------------------------------
 * Test groups (one per file)
 * ------------------------------------------------------------------------
 */
extern void group_routing(void);	/* t_routing.c */
extern void group_auth(void);	/* t_auth.c */
extern void group_records(void);	/* t_records.c */
extern void group_modify(void); /* t_modify.c */
extern void group_query(void);	/* t_query.c */
extern void group_zones_changes(void);	/* t_changes.c */
extern void group_admin(void);	/* t_admin.c */
extern void group_index(void);	/* t_index.c */
extern void group_load(void);	/* t_load.c */
extern void group_sharing(void);	/* t_share.c */
extern void group_store(void);	/* t_store.c */

#endif							/* CKT_H */
