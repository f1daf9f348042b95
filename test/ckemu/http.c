/*-------------------------------------------------------------------------
 *
 * http.c
 *		libmicrohttpd glue: collect each request, route it, run it under the
 *		store lock, and send the answer with CloudKit's headers, applying
 *		injected faults on the way.
 *
 * The daemon runs one thread per connection, so --latency-ms and "delay"
 * faults wait in that connection's thread without holding up the others,
 * and keep-alive connections are served as long as the client keeps them.
 * The wait watches the client's socket: a client that hangs up (a
 * cancelled statement, a client timeout) ends it at once, and the request
 * is dropped without being carried out, so that no answer nobody asked for
 * turns up later in the statistics or the store.
 *
 * The signed subpath must be the request target exactly as received, query
 * string included; MHD hands the access handler an unescaped path without
 * the query, so the raw target is captured in the URI log callback.
 *
 * test/ckemu/http.c
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE				/* POLLRDHUP */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "ck/ck_error.h"
#include "ckemu.h"

#define EMU_CONTENT_TYPE_JSON "application/json; charset=UTF-8"

typedef struct EmuOpDef
{
	const char *name;
	const char *method;
	bool		needs_user;		/* even in the public database */
	bool		writes;			/* takes the store write lock */
	void		(*fn) (EmuRequest *req, json_object *body);
} EmuOpDef;

static const EmuOpDef op_defs[] = {
	{"assets/upload", "POST", true, false, emu_op_assets_upload},
	{"changes/database", "POST", true, false, emu_op_changes_database},
	{"changes/zone", "POST", true, false, emu_op_changes_zone},
	{"records/accept", "POST", true, true, emu_op_records_accept},
	{"records/lookup", "POST", false, false, emu_op_records_lookup},
	{"records/modify", "POST", true, true, emu_op_records_modify},
	{"records/query", "POST", false, false, emu_op_records_query},
	{"users/caller", "GET", true, false, emu_op_users_caller},
	{"users/current", "GET", true, false, emu_op_users_current},
	{"zones/list", "GET", false, false, emu_op_zones_list},
	{"zones/lookup", "POST", false, false, emu_op_zones_lookup},
	{"zones/modify", "POST", true, true, emu_op_zones_modify},
};

#define NOP_DEFS ((int) (sizeof(op_defs) / sizeof(op_defs[0])))

/* ---------------------------------------------------------------- errors */

/*
 * CloudKit's HTTP status for a serverErrorCode: the table the client uses
 * too (src/ck/ck_error.c), so both sides agree on Apple's list.
 */
int
emu_status_for_code(const char *code)
{
	return emu_code_known(code) ? ck_error_lookup(code)->http_status : 500;
}

bool
emu_code_known(const char *code)
{
	return strcmp(ck_error_lookup(code)->code, code) == 0;
}

/* The top-level error envelope; replaces whatever answer was being built. */
void
emu_error_retry(EmuRequest *req, const char *code, int retry_after,
				const char *redirect_url, const char *reason)
{
	char		uuid[37];

	ck_uuid_v4(uuid);
	ck_buf_reset(&req->out);
	ck_buf_appendf(&req->out, "{\"uuid\":\"%s\",\"serverErrorCode\":", uuid);
	emu_json_string(&req->out, code);
	emu_lit(&req->out, ",\"reason\":");
	emu_json_string(&req->out, reason);
	if (retry_after >= 0)
		ck_buf_appendf(&req->out, ",\"retryAfter\":%d", retry_after);
	if (redirect_url != NULL)
	{
		emu_lit(&req->out, ",\"redirectURL\":");
		emu_json_string(&req->out, redirect_url);
	}
	emu_lit(&req->out, "}");
	req->status = emu_status_for_code(code);
	req->answered = true;
}

void
emu_error(EmuRequest *req, const char *code, const char *fmt,...)
{
	char		reason[1024];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	emu_error_retry(req, code, -1, NULL, reason);
}

/*
 * The request body's array member "key", holding at most "max" entries
 * ("what" names them in the error).  Otherwise answers BAD_REQUEST and
 * returns NULL.
 */
json_object *
emu_body_array(EmuRequest *req, json_object *body, const char *key,
			   const char *what, int max, int *n)
{
	json_object *arr = emu_get(body, key);

	if (arr == NULL || !json_object_is_type(arr, json_type_array))
	{
		emu_error(req, "BAD_REQUEST", "%s needs a %s array", req->op, key);
		return NULL;
	}
	*n = (int) json_object_array_length(arr);
	if (*n > max)
	{
		emu_error(req, "BAD_REQUEST", "%s accepts at most %d %s, got %d",
				  req->op, max, what, *n);
		return NULL;
	}
	return arr;
}

/*
 * An optional boolean member of the request body: *value is left alone when
 * it is absent or null.  Answers BAD_REQUEST and returns false when it is
 * something else.
 */
bool
emu_body_bool(EmuRequest *req, json_object *body, const char *key, bool *value)
{
	json_object *v = emu_get(body, key);

	if (v == NULL || json_object_is_type(v, json_type_null))
		return true;
	if (!json_object_is_type(v, json_type_boolean))
	{
		emu_error(req, "BAD_REQUEST", "%s must be a boolean", key);
		return false;
	}
	*value = json_object_get_boolean(v);
	return true;
}

/* ---------------------------------------------------------------- query strings */

static char *
emu_url_decode(const char *s, size_t len)
{
	char	   *out = emu_malloc(len + 1);
	size_t		i,
				o = 0;

	for (i = 0; i < len; i++)
	{
		if (s[i] == '%' && i + 2 < len &&
			ck_hex_digit(s[i + 1]) >= 0 && ck_hex_digit(s[i + 2]) >= 0)
		{
			out[o++] = (char) (ck_hex_digit(s[i + 1]) * 16 + ck_hex_digit(s[i + 2]));
			i += 2;
		}
		else if (s[i] == '+')
			out[o++] = ' ';
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

/* The decoded value of a query parameter (malloc'd), or NULL. */
char *
emu_query_param(const char *query, const char *name)
{
	const char *p = query;
	size_t		nlen = strlen(name);

	if (query == NULL)
		return NULL;
	while (*p)
	{
		const char *amp = strchr(p, '&');
		const char *end = amp ? amp : p + strlen(p);
		const char *eq = memchr(p, '=', end - p);

		if (eq != NULL && (size_t) (eq - p) == nlen && strncmp(p, name, nlen) == 0)
			return emu_url_decode(eq + 1, end - eq - 1);
		if (eq == NULL && (size_t) (end - p) == nlen && strncmp(p, name, nlen) == 0)
			return emu_strdup("");
		if (amp == NULL)
			break;
		p = amp + 1;
	}
	return NULL;
}

/* ---------------------------------------------------------------- routing */

static const EmuOpDef *
emu_find_op(const char *name)
{
	int			i;

	for (i = 0; i < NOP_DEFS; i++)
		if (strcmp(op_defs[i].name, name) == 0)
			return &op_defs[i];
	return NULL;
}

/*
 * Split /database/1/<container>/<environment>/<database>/<op> into req's
 * fields; *def gets the operation when it is known (also when something
 * else is wrong, so that the request is counted under it).  Answers and
 * returns false when the path is not one CloudKit would accept.
 */
static bool
emu_route(EmuRequest *req, const EmuOpDef **def)
{
	char	   *parts[8];
	int			nparts = 0;
	char	   *copy = emu_strdup(req->path + strlen("/database/"));
	char	   *save = NULL;
	char	   *tok;
	char		opname[128];
	int			i;
	bool		ok = false;

	*def = NULL;
	for (tok = strtok_r(copy, "/", &save); tok != NULL && nparts < 8;
		 tok = strtok_r(NULL, "/", &save))
		parts[nparts++] = tok;

	if (nparts < 5)
	{
		emu_error(req, "NOT_FOUND", "Unknown request path: expected /database/1/<container>/<environment>/<database>/<operation>");
		goto done;
	}
	if (strcmp(parts[0], "1") != 0)
	{
		emu_error(req, "BAD_REQUEST", "Unsupported protocol version '%s'", parts[0]);
		goto done;
	}
	req->container = emu_strdup(parts[1]);
	req->environment = emu_strdup(parts[2]);
	req->database = emu_strdup(parts[3]);

	opname[0] = '\0';
	for (i = 4; i < nparts; i++)
	{
		if (i > 4)
			strncat(opname, "/", sizeof(opname) - strlen(opname) - 1);
		strncat(opname, parts[i], sizeof(opname) - strlen(opname) - 1);
	}
	*def = emu_find_op(opname);
	if (*def != NULL)
		req->op = (*def)->name;

	if (strncmp(req->container, "iCloud.", 7) != 0)
	{
		emu_error(req, "NOT_FOUND", "Container '%s' not found: container identifiers begin with 'iCloud.'",
				  req->container);
		goto done;
	}
	if (emu_config.ncontainers > 0)
	{
		for (i = 0; i < emu_config.ncontainers; i++)
			if (strcmp(emu_config.containers[i], req->container) == 0)
				break;
		if (i == emu_config.ncontainers)
		{
			emu_error(req, "NOT_FOUND", "Container '%s' not found", req->container);
			goto done;
		}
	}
	if (strcmp(req->environment, "development") == 0)
		req->production = false;
	else if (strcmp(req->environment, "production") == 0)
		req->production = true;
	else
	{
		emu_error(req, "BAD_REQUEST", "Invalid environment '%s': use development or production",
				  req->environment);
		goto done;
	}
	if (strcmp(req->database, "public") == 0)
		req->public_db = true;
	else if (strcmp(req->database, "private") != 0 && strcmp(req->database, "shared") != 0)
	{
		emu_error(req, "BAD_REQUEST", "Invalid database '%s': use public, private or shared",
				  req->database);
		goto done;
	}
	if (*def == NULL)
	{
		emu_error(req, "NOT_FOUND", "Unknown operation '%s'", opname);
		goto done;
	}
	if (strcmp(req->method, (*def)->method) != 0)
	{
		emu_error(req, "BAD_REQUEST", "%s expects %s, not %s", opname, (*def)->method, req->method);
		goto done;
	}
	ok = true;
done:
	free(copy);
	return ok;
}

/* Parse the JSON body; answers BAD_REQUEST and returns NULL when it is not an object. */
static json_object *
emu_parse_body(EmuRequest *req)
{
	json_tokener *tok;
	json_object *obj;
	enum json_tokener_error jerr;

	if (req->body.len == 0)
	{
		emu_error(req, "BAD_REQUEST", "Request body is empty: %s expects a JSON dictionary", req->op);
		return NULL;
	}
	if (memchr(req->body.data, '\0', req->body.len) != NULL)
	{
		emu_error(req, "BAD_REQUEST", "Request body is not valid JSON: it contains a NUL byte");
		return NULL;
	}
	tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, req->body.data, (int) req->body.len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_success && json_tokener_get_parse_end(tok) < req->body.len)
	{
		/* only whitespace may follow the value */
		const char *p = req->body.data + json_tokener_get_parse_end(tok);

		while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
			p++;
		if (*p != '\0')
		{
			json_object_put(obj);
			json_tokener_free(tok);
			emu_error(req, "BAD_REQUEST", "Request body is not valid JSON: unexpected data after the value");
			return NULL;
		}
	}
	if (jerr != json_tokener_success)
	{
		if (jerr == json_tokener_continue)
			emu_error(req, "BAD_REQUEST", "Request body is not valid JSON: unexpected end of input");
		else
			emu_error(req, "BAD_REQUEST", "Request body is not valid JSON: %s",
					  json_tokener_error_desc(jerr));
		json_object_put(obj);
		json_tokener_free(tok);
		return NULL;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(obj, json_type_object))
	{
		json_object_put(obj);
		emu_error(req, "BAD_REQUEST", "Request body must be a JSON dictionary");
		return NULL;
	}
	return obj;
}

static void
emu_run_op(EmuRequest *req, const EmuOpDef *def)
{
	json_object *body = NULL;
	bool		needs_user = def->needs_user || !req->public_db;
	const char *owner;

	if (!emu_authenticate(req, needs_user))
		return;
	if (strcmp(def->method, "POST") == 0)
	{
		/* records/modify: fields without a json-c tree each (fastjson.c) */
		if (def->fn == emu_op_records_modify && req->body.len > 0)
			body = emu_fast_parse(req->body.data, req->body.len, false);
		if (body == NULL)
			body = emu_parse_body(req);
		if (body == NULL)
			return;
	}
	owner = req->public_db ? "" : req->caller.user;

	/* scopes are found (or made) under the store lock: a reset frees them */
	if (def->writes)
		pthread_rwlock_wrlock(&emu_store_lock);
	else
		pthread_rwlock_rdlock(&emu_store_lock);
	req->scope = emu_scope_get(req->container, req->environment, req->database, owner);
	req->schema = req->scope->schema;
	def->fn(req, body);
	pthread_rwlock_unlock(&emu_store_lock);

	if (!req->answered)
		emu_error(req, "INTERNAL_ERROR", "ckemu produced no answer for %s", def->name);
	json_object_put(body);
}

/* ---------------------------------------------------------------- responses */

typedef struct EmuTruncated
{
	char	   *data;
	size_t		limit;
} EmuTruncated;

static ssize_t
emu_truncated_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	EmuTruncated *t = cls;
	size_t		n;

	if (pos >= t->limit)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = t->limit - pos;
	if (n > max)
		n = max;
	memcpy(buf, t->data + pos, n);
	return (ssize_t) n;
}

static void
emu_truncated_free(void *cls)
{
	EmuTruncated *t = cls;

	free(t->data);
	free(t);
}

static void
emu_add_headers(struct MHD_Response *resp, EmuRequest *req, const char *content_type)
{
	MHD_add_response_header(resp, "Content-Type", content_type);
	MHD_add_response_header(resp, "X-Apple-CloudKit-Version", "1.0");
	MHD_add_response_header(resp, "X-Apple-Request-UUID", req->uuid);
	MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
	MHD_add_response_header(resp, "Access-Control-Expose-Headers",
							"X-Apple-Request-UUID,X-Apple-CloudKit-Web-Auth-Token,X-Responding-Instance,Via");
	MHD_add_response_header(resp, "Server", "ckemu");
	if (req->rotated_token != NULL)
		MHD_add_response_header(resp, "X-Apple-CloudKit-Web-Auth-Token", req->rotated_token);
}

/*
 * An answer leaves in as few segments as the network takes: corked from
 * when it is queued until MHD has written it (emu_completed).  MHD writes a
 * TLS answer one 16 kB record at a time, and every record sent on its own
 * made the client wait for eight more wake-ups before its last byte.
 */
static void
emu_cork(struct MHD_Connection *conn, bool on)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	int			v = on ? 1 : 0;

	if (ci != NULL)
		(void) setsockopt(ci->connect_fd, IPPROTO_TCP, TCP_CORK, &v, sizeof(v));
}

static enum MHD_Result
emu_send(EmuRequest *req, const char *content_type, EmuFaultAction fault)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char	   *data = req->out.data;
	size_t		len = req->out.len;

	if (data == NULL)
	{
		data = emu_strdup("");
		len = 0;
	}
	req->out.data = NULL;
	req->out.len = req->out.cap = 0;

	if (fault == EMU_FAULT_MALFORMED)
	{
		static const char junk[] = "{\"records\":[{\"recordName\":\"ckemu-malformed\",";

		free(data);
		data = emu_strdup(junk);
		len = strlen(junk);
		req->status = 200;
	}
	if (fault == EMU_FAULT_TRUNCATE && len > 0)
	{
		EmuTruncated *t = emu_malloc(sizeof(EmuTruncated));

		t->data = data;
		t->limit = len / 2;
		resp = MHD_create_response_from_callback(len, 4096, emu_truncated_reader, t,
												 emu_truncated_free);
	}
	else
		resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL)
	{
		free(data);
		return MHD_NO;
	}
	emu_add_headers(resp, req, content_type);
	emu_cork(req->conn, true);
	ret = MHD_queue_response(req->conn, req->status ? req->status : 500, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---------------------------------------------------------------- waiting */

/*
 * Whether the client has hung up, waiting up to timeout_ms for it (0: just
 * look).  POLLRDHUP is the peer's FIN, POLLHUP/POLLERR a reset or our own
 * shutdown (MHD_stop_daemon shuts connection sockets down to end their
 * threads).  POLLIN is not asked for: a pipelined next request must not
 * look like a hang-up.  A client that only half-closes after its request
 * counts as gone, as it does for MHD itself when it reads the EOF.
 */
static bool
emu_client_gone_within(EmuRequest *req, int timeout_ms)
{
	const union MHD_ConnectionInfo *info;
	struct pollfd pfd;
	int			rc;

	info = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (info == NULL)
	{
		emu_sleep_ms(timeout_ms);
		return false;
	}
	pfd.fd = info->connect_fd;
	pfd.events = POLLRDHUP;
	pfd.revents = 0;
	rc = poll(&pfd, 1, timeout_ms);
	if (rc < 0)
	{
		/* EINTR: the caller recomputes and waits again; else just sleep */
		if (errno != EINTR)
			emu_sleep_ms(timeout_ms);
		return false;
	}
	return rc > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

static int64_t
emu_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait ms milliseconds for the request (latency, a delay fault); false as
 * soon as the client hangs up.  Sets req->abandoned then.
 */
bool
emu_wait_for_client(EmuRequest *req, int ms)
{
	int64_t		deadline = emu_monotonic_ms() + ms;
	int64_t		left;

	bool		stayed = true;

	if (ms <= 0)
		return true;
	emu_stats_waiting(1);
	while ((left = deadline - emu_monotonic_ms()) > 0)
	{
		if (emu_client_gone_within(req, (int) left))
		{
			req->abandoned = true;
			stayed = false;
			break;
		}
	}
	emu_stats_waiting(-1);
	return stayed;
}

/* ---------------------------------------------------------------- requests */

/*
 * Drop a request whose client has gone: nothing is sent (MHD closes the
 * connection), and the statistics count it only as abandoned.  records_in
 * is what it already wrote, if it ran.
 */
static enum MHD_Result
emu_abandon(EmuRequest *req)
{
	req->abandoned = true;
	emu_stats_abandoned(req->op, req->records_in);
	return MHD_NO;
}

static enum MHD_Result
emu_handle_database(EmuRequest *req)
{
	const EmuOpDef *def = NULL;
	EmuFault	fault;
	enum MHD_Result ret;

	memset(&fault, 0, sizeof(fault));
	if (!emu_wait_for_client(req, emu_config.latency_ms))
	{
		/* routed only to count it under its operation */
		(void) emu_route(req, &def);
		return emu_abandon(req);
	}

	if (emu_route(req, &def))
	{
		emu_faults_pick(def->name, &fault);
		switch (fault.action)
		{
			case EMU_FAULT_DROP_BEFORE:
				emu_stats_count(req->op, 0, 0, req->body.len, 0);
				return MHD_NO;
			case EMU_FAULT_ERROR:
				emu_error_retry(req, fault.code, fault.retry_after, NULL,
								fault.reason[0] ? fault.reason : "Injected by ckemu");
				if (fault.status > 0)
					req->status = fault.status;
				break;
			case EMU_FAULT_ZONE_ERROR:
				emu_changes_zone_error(req, fault.code,
									   fault.reason[0] ? fault.reason : "Injected by ckemu");
				break;
			case EMU_FAULT_RESPOND:
				ck_buf_reset(&req->out);
				ck_buf_append(&req->out, fault.body, strlen(fault.body));
				req->status = fault.status;
				req->answered = true;
				free(fault.body);
				fault.body = NULL;
				break;
			case EMU_FAULT_DELAY:
				if (!emu_wait_for_client(req, fault.delay_ms))
					return emu_abandon(req);
				/* fall through */
			default:
				emu_run_op(req, def);
				emu_auth_finish(req);
				break;
		}
	}
	else if (!req->answered)
		emu_error(req, "INTERNAL_ERROR", "routing failed");
	emu_faults_apply(req, &fault);

	/*
	 * A client that left while the operation ran gets no answer; a write it
	 * made stays made (CloudKit does not undo it either) and is counted in
	 * records_in.  Faults that cut the answer on purpose are counted as
	 * before: the rule, not the client, decided.
	 */
	if (fault.action != EMU_FAULT_DROP_AFTER && fault.action != EMU_FAULT_TRUNCATE &&
		emu_client_gone_within(req, 0))
		return emu_abandon(req);

	req->stats_epoch =
		emu_stats_count(req->op, req->records_in, req->records_out, req->body.len,
						fault.action == EMU_FAULT_DROP_AFTER ? 0 :
						fault.action == EMU_FAULT_TRUNCATE ? req->out.len / 2 : req->out.len);
	if (fault.action == EMU_FAULT_DROP_AFTER)
		return MHD_NO;
	if (fault.action != EMU_FAULT_TRUNCATE)
	{
		req->counted_out = req->records_out;
		req->counted_bytes_out = req->out.len;
		req->counted_whole = true;
	}
	ret = emu_send(req, EMU_CONTENT_TYPE_JSON, fault.action);
	return ret;
}

static enum MHD_Result
emu_handle(EmuRequest *req)
{
	char	   *q;

	ck_uuid_v4(req->uuid);
	req->path = emu_strdup(req->raw_uri);
	q = strchr(req->path, '?');
	if (q != NULL)
	{
		*q = '\0';
		req->query = emu_strdup(q + 1);
	}

	if (strcmp(req->method, "OPTIONS") == 0)
	{
		struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		enum MHD_Result ret;

		MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
		MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
		MHD_add_response_header(resp, "Access-Control-Allow-Headers",
								"Content-Type, X-Apple-CloudKit-Request-KeyID, X-Apple-CloudKit-Request-ISO8601Date, X-Apple-CloudKit-Request-SignatureV1");
		ret = MHD_queue_response(req->conn, 204, resp);
		MHD_destroy_response(resp);
		return ret;
	}

	if (req->body_too_large)
	{
		emu_error(req, "BAD_REQUEST", "Request body exceeds the limit of %zu bytes",
				  emu_config.max_body_bytes);
		return emu_send(req, EMU_CONTENT_TYPE_JSON, EMU_FAULT_NONE);
	}

	if (strncmp(req->path, "/database/", 10) == 0)
		return emu_handle_database(req);

	if (strncmp(req->path, "/_ckemu/", 8) == 0)
	{
		if (emu_share_admin(req, req->path) || emu_admin_handle(req, req->path))
		{
			const char *ct = EMU_CONTENT_TYPE_JSON;

			if (req->abandoned)
				return MHD_NO;

			if (req->status == 200 && strncmp(req->path, "/_ckemu/assets/download/", 24) == 0)
				ct = "application/octet-stream";
			return emu_send(req, ct, EMU_FAULT_NONE);
		}
	}
	emu_error(req, "NOT_FOUND", "Unknown request path '%s'", req->path);
	return emu_send(req, EMU_CONTENT_TYPE_JSON, EMU_FAULT_NONE);
}

static void *
emu_uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
	EmuRequest *req = calloc(1, sizeof(EmuRequest));

	if (req == NULL)
		return NULL;
	req->raw_uri = strdup(uri ? uri : "/");
	req->conn = conn;
	ck_buf_init(&req->body);
	ck_buf_init(&req->out);
	return req;
}

static enum MHD_Result
emu_access(void *cls, struct MHD_Connection *conn, const char *url,
		   const char *method, const char *version, const char *upload_data,
		   size_t *upload_data_size, void **con_cls)
{
	EmuRequest *req = *con_cls;

	if (req == NULL || req->raw_uri == NULL)
		return MHD_NO;
	if (!req->started)
	{
		req->started = true;
		req->conn = conn;
		req->method = method;
		/* MHD calls emu_completed for every request it has shown us */
		if (strncmp(req->raw_uri, "/database/", 10) == 0)
		{
			req->in_flight = true;
			emu_stats_in_flight(1);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0)
	{
		if (!req->body_too_large)
		{
			if (req->body.len + *upload_data_size > emu_config.max_body_bytes)
			{
				req->body_too_large = true;
				ck_buf_free(&req->body);
			}
			else if (!ck_buf_append(&req->body, upload_data, *upload_data_size))
				return MHD_NO;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return emu_handle(req);
}

static void
emu_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			  enum MHD_RequestTerminationCode toe)
{
	EmuRequest *req = *con_cls;

	if (req == NULL)
		return;
	emu_cork(conn, false);

	/*
	 * An answer counted when it was queued but not sent whole (the client
	 * hung up while it was being written) was not received: it moves to
	 * "abandoned".  Counted before sending, not here, so that a client that
	 * reads the stats right after its answer always finds it counted.
	 */
	if (req->counted_whole && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		emu_stats_undelivered(req->op, req->counted_out, req->body.len,
							  req->counted_bytes_out, req->stats_epoch);
	if (req->in_flight)
		emu_stats_in_flight(-1);
	free(req->raw_uri);
	free(req->path);
	free(req->query);
	free(req->container);
	free(req->environment);
	free(req->database);
	free(req->caller.web_token);
	free(req->rotated_token);
	ck_buf_free(&req->body);
	ck_buf_free(&req->out);
	free(req);
	*con_cls = NULL;
}

static void
emu_mhd_log(void *cls, const char *fmt, va_list ap)
{
	if (emu_config.quiet)
		return;
	fprintf(stderr, "ckemu: ");
	vfprintf(stderr, fmt, ap);
}

struct MHD_Daemon *
emu_http_start(char *errbuf, size_t errlen)
{
	struct sockaddr_in addr;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	bool		tls = emu_config.tls_cert_pem != NULL;

	/* HTTPS (--tls-cert): libmicrohttpd's GnuTLS; the options only then */
	struct MHD_OptionItem tls_options[] = {
		{MHD_OPTION_HTTPS_MEM_CERT, 0, emu_config.tls_cert_pem},
		{MHD_OPTION_HTTPS_MEM_KEY, 0, emu_config.tls_key_pem},
		{MHD_OPTION_END, 0, NULL}
	};

	if (!tls)
		tls_options[0].option = MHD_OPTION_END;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t) emu_config.port);
	if (inet_pton(AF_INET, emu_config.host, &addr.sin_addr) != 1)
	{
		snprintf(errbuf, errlen, "cannot parse listen address \"%s\"", emu_config.host);
		return NULL;
	}
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
						 MHD_USE_POLL | MHD_USE_ERROR_LOG | (tls ? MHD_USE_TLS : 0),
						 0, NULL, NULL, emu_access, NULL,
						 MHD_OPTION_EXTERNAL_LOGGER, emu_mhd_log, NULL,
						 MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr,
						 MHD_OPTION_URI_LOG_CALLBACK, emu_uri_log, NULL,
						 MHD_OPTION_NOTIFY_COMPLETED, emu_completed, NULL,
						 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 300,
						 MHD_OPTION_CONNECTION_LIMIT, (unsigned int) 1000,
						 MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int) 1,
						 MHD_OPTION_ARRAY, tls_options,
						 MHD_OPTION_END);
	if (d == NULL)
	{
		snprintf(errbuf, errlen, tls ?
				 "cannot listen on %s:%d (address in use, or a bad TLS certificate or key?)" :
				 "cannot listen on %s:%d (address in use?)",
				 emu_config.host, emu_config.port);
		return NULL;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (info != NULL && info->port != 0)
		emu_config.port = info->port;
	snprintf(emu_config.base_url, sizeof(emu_config.base_url), "%s://%s:%d",
			 tls ? "https" : "http", emu_config.host, emu_config.port);
	return d;
}
