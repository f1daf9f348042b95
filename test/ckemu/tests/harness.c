/*-------------------------------------------------------------------------
 *
 * harness.c
 *		The ckemu protocol test suite: main, emulator processes, HTTP,
 *		JSON helpers, seed data and the check/report machinery.
 *
 * Usage:
 *	 ckemu_tests --ckemu test/ckemu/ckemu --data test/data [--only SUBSTRING]
 *
 * Each group starts the ckemu processes it needs (fork/exec, port 0 with
 * --port-file) and stops them by PID; a child also gets PR_SET_PDEATHSIG, so
 * no emulator outlives a crashed test binary.  Every failed check prints one
 * line, with the last request and answer; the run ends with
 * "ckemu: N passed, M failed", counting test cases.
 *
 * test/ckemu/tests/harness.c
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ck/ck_util.h"
#include "ckt.h"

const char *g_ckemu_path = "test/ckemu/ckemu";
const char *g_data_dir = "test/data";
char		g_tmpdir[256];
char		g_key_pem[512];
char		g_pub_pem[512];
char		g_other_key_pem[512];
CkKey	   *g_key;
CkKey	   *g_other_key;

static const char *g_only;
static Emu *g_main_emu;

/* running emulators, so that an early exit still stops them */
#define MAX_EMUS 16
static Emu *g_emus[MAX_EMUS];

/* test bookkeeping */
static const char *cur_test;
static bool cur_failed;
static int	n_passed;
static int	n_failed;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

/* the last request made by this thread, for failure lines */
static __thread char last_req[400];
static __thread char last_resp[400];

/* test arena: things freed at test end */
typedef struct ArenaItem
{
	void	   *ptr;
	void		(*free_fn) (void *);
	struct ArenaItem *next;
} ArenaItem;

static ArenaItem *arena;

static void
arena_add(void *ptr, void (*free_fn) (void *))
{
	ArenaItem  *it = malloc(sizeof(ArenaItem));

	if (it == NULL)
		abort();
	it->ptr = ptr;
	it->free_fn = free_fn;
	pthread_mutex_lock(&report_lock);
	it->next = arena;
	arena = it;
	pthread_mutex_unlock(&report_lock);
}

static void
arena_clear(void)
{
	while (arena)
	{
		ArenaItem  *it = arena;

		arena = it->next;
		it->free_fn(it->ptr);
		free(it);
	}
}

static void
json_put_void(void *p)
{
	json_object_put((json_object *) p);
}

static char *
xstrdup(const char *s)
{
	char	   *p = strdup(s ? s : "");

	if (p == NULL)
		abort();
	return p;
}

char *
tfmt(const char *fmt,...)
{
	va_list		ap;
	char	   *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	arena_add(s, free);
	return s;
}

double
now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void
note(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* ------------------------------------------------------------------------
 * Tests and checks
 * ------------------------------------------------------------------------
 */

bool
test_selected(const char *name)
{
	return g_only == NULL || strstr(name, g_only) != NULL;
}

int
test_begin(const char *name)
{
	if (!test_selected(name))
		return 0;
	cur_test = name;
	cur_failed = false;
	last_req[0] = last_resp[0] = '\0';
	return 1;
}

int
test_end(void)
{
	if (cur_failed)
		n_failed++;
	else
		n_passed++;
	arena_clear();
	cur_test = NULL;
	return 0;
}

/* Copy text for a one-line report: no newlines, bounded. */
static void
oneline(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t		i,
				o = 0;

	for (i = 0; i < srclen && o + 4 < dstlen; i++)
	{
		unsigned char c = (unsigned char) src[i];

		dst[o++] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : (char) c;
	}
	if (i < srclen && o + 4 <= dstlen)
	{
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

bool
ckt_check(bool ok, const char *file, int line, const char *fmt,...)
{
	va_list		ap;
	char		msg[1024];
	const char *base = strrchr(file, '/');

	if (ok)
		return true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&report_lock);
	printf("FAIL %s: %s (%s:%d)", cur_test ? cur_test : "(setup)", msg,
		   base ? base + 1 : file, line);
	if (last_req[0])
		printf(" [request: %s => %s]", last_req, last_resp);
	printf("\n");
	fflush(stdout);
	cur_failed = true;
	if (cur_test == NULL)
		n_failed++;
	pthread_mutex_unlock(&report_lock);
	return false;
}

int
code_status(const char *code)
{
	static const struct
	{
		const char *code;
		int			status;
	}			table[] = {
		{"ACCESS_DENIED", 403},
		{"ATOMIC_ERROR", 400},
		{"AUTHENTICATION_FAILED", 401},
		{"AUTHENTICATION_REQUIRED", 421},
		{"BAD_REQUEST", 400},
		{"CONFLICT", 409},
		{"EXISTS", 409},
		{"INTERNAL_ERROR", 500},
		{"NOT_FOUND", 404},
		{"QUOTA_EXCEEDED", 413},
		{"THROTTLED", 429},
		{"TRY_AGAIN_LATER", 503},
		{"VALIDATING_REFERENCE_ERROR", 412},
		{"ZONE_NOT_FOUND", 404},
	};
	int			i;

	if (code == NULL)
		return 0;
	for (i = 0; i < (int) (sizeof(table) / sizeof(table[0])); i++)
	{
		if (strcmp(table[i].code, code) == 0)
			return table[i].status;
	}
	return 0;
}

bool
check_status(Resp *r, long status, const char *file, int line)
{
	if (r->cc != CURLE_OK)
		return ckt_check(false, file, line, "expected HTTP %ld, transport error: %s",
						 status, curl_easy_strerror(r->cc));
	return ckt_check(r->status == status, file, line, "expected HTTP %ld, got %ld",
					 status, r->status);
}

bool
check_str(const char *got, const char *want, const char *what,
		  const char *file, int line)
{
	if (got == NULL && want == NULL)
		return true;
	return ckt_check(got != NULL && want != NULL && strcmp(got, want) == 0, file, line,
					 "%s: expected %s%s%s, got %s%s%s", what,
					 want ? "\"" : "", want ? want : "(absent)", want ? "\"" : "",
					 got ? "\"" : "", got ? got : "(absent)", got ? "\"" : "");
}

bool
check_int(int64_t got, int64_t want, const char *what, const char *file, int line)
{
	return ckt_check(got == want, file, line, "%s: expected %lld, got %lld", what,
					 (long long) want, (long long) got);
}

bool
check_code(Resp *r, const char *code, const char *file, int line)
{
	const char *got;
	int			want_status = code_status(code);

	if (r->cc != CURLE_OK)
		return ckt_check(false, file, line, "expected %s, transport error: %s",
						 code, curl_easy_strerror(r->cc));
	got = jps(r->json, "serverErrorCode");
	if (!ckt_check(got != NULL && strcmp(got, code) == 0, file, line,
				   "expected serverErrorCode %s (HTTP %d), got %s (HTTP %ld)",
				   code, want_status, got ? got : "none", r->status))
		return false;
	return ckt_check(want_status == 0 || r->status == want_status, file, line,
					 "%s must come with HTTP %d, got %ld", code, want_status, r->status);
}

bool
check_item_code(Resp *r, const char *array, int i, const char *code,
				const char *file, int line)
{
	const char *got = jpf(r->json, "%s[%d].serverErrorCode", array, i) ?
	json_object_get_string(jpf(r->json, "%s[%d].serverErrorCode", array, i)) : NULL;

	if (r->cc != CURLE_OK)
		return ckt_check(false, file, line, "expected %s in %s[%d], transport error: %s",
						 code, array, i, curl_easy_strerror(r->cc));
	return ckt_check(got != NULL && strcmp(got, code) == 0, file, line,
					 "expected %s[%d].serverErrorCode %s, got %s (HTTP %ld)",
					 array, i, code, got ? got : "none", r->status);
}

const char *
resp_code(Resp *r, int i)
{
	const char *code = jpf(r->json, "records[%d].serverErrorCode", i) ?
	json_object_get_string(jpf(r->json, "records[%d].serverErrorCode", i)) : NULL;

	return code ? code : jps(r->json, "serverErrorCode");
}

bool
check_reason_has(Resp *r, const char *needle, const char *file, int line)
{
	const char *reason = jps(r->json, "reason");

	return ckt_check(reason != NULL && strcasestr(reason, needle) != NULL, file, line,
					 "expected reason containing \"%s\", got %s", needle,
					 reason ? reason : "(none)");
}

/* ------------------------------------------------------------------------
 * JSON helpers
 * ------------------------------------------------------------------------
 */

json_object *
jp(json_object *root, const char *path)
{
	const char *p = path;
	json_object *cur = root;

	while (cur && *p)
	{
		if (*p == '.')
			p++;
		if (*p == '[')
		{
			char	   *end;
			long		idx = strtol(p + 1, &end, 10);

			if (*end != ']' || !json_object_is_type(cur, json_type_array) ||
				idx < 0 || (size_t) idx >= json_object_array_length(cur))
				return NULL;
			cur = json_object_array_get_idx(cur, idx);
			p = end + 1;
		}
		else
		{
			char		key[256];
			size_t		n = strcspn(p, ".[");

			if (n == 0 || n >= sizeof(key) || !json_object_is_type(cur, json_type_object))
				return NULL;
			memcpy(key, p, n);
			key[n] = '\0';
			if (!json_object_object_get_ex(cur, key, &cur))
				return NULL;
			p += n;
		}
	}
	return cur;
}

json_object *
jpf(json_object *root, const char *fmt,...)
{
	va_list		ap;
	char		path[512];

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return jp(root, path);
}

const char *
jps(json_object *root, const char *path)
{
	json_object *o = jp(root, path);

	return json_object_is_type(o, json_type_string) ? json_object_get_string(o) : NULL;
}

int64_t
jpi(json_object *root, const char *path, int64_t dflt)
{
	json_object *o = jp(root, path);

	return json_object_is_type(o, json_type_int) ? json_object_get_int64(o) : dflt;
}

double
jpd(json_object *root, const char *path, double dflt)
{
	json_object *o = jp(root, path);

	if (json_object_is_type(o, json_type_int) || json_object_is_type(o, json_type_double))
		return json_object_get_double(o);
	return dflt;
}

bool
jpb(json_object *root, const char *path, bool dflt)
{
	json_object *o = jp(root, path);

	return json_object_is_type(o, json_type_boolean) ? json_object_get_boolean(o) : dflt;
}

int
jlen(json_object *root, const char *path)
{
	json_object *o = jp(root, path);

	return json_object_is_type(o, json_type_array) ? (int) json_object_array_length(o) : -1;
}

/* Structural equality; numbers compare by value whatever their JSON form. */
bool
json_equal(json_object *a, json_object *b)
{
	enum json_type ta = json_object_get_type(a);
	enum json_type tb = json_object_get_type(b);

	if ((ta == json_type_int || ta == json_type_double) &&
		(tb == json_type_int || tb == json_type_double))
	{
		if (ta == json_type_int && tb == json_type_int)
			return json_object_get_int64(a) == json_object_get_int64(b);
		return json_object_get_double(a) == json_object_get_double(b);
	}
	if (ta != tb)
		return false;
	switch (ta)
	{
		case json_type_null:
			return true;
		case json_type_boolean:
			return json_object_get_boolean(a) == json_object_get_boolean(b);
		case json_type_string:
			return json_object_get_string_len(a) == json_object_get_string_len(b) &&
				memcmp(json_object_get_string(a), json_object_get_string(b),
					   json_object_get_string_len(a)) == 0;
		case json_type_array:
			{
				size_t		i,
							n = json_object_array_length(a);

				if (n != json_object_array_length(b))
					return false;
				for (i = 0; i < n; i++)
					if (!json_equal(json_object_array_get_idx(a, i),
									json_object_array_get_idx(b, i)))
						return false;
				return true;
			}
		case json_type_object:
			{
				if (json_object_object_length(a) != json_object_object_length(b))
					return false;
				json_object_object_foreach(a, key, va)
				{
					json_object *vb;

					if (!json_object_object_get_ex(b, key, &vb) || !json_equal(va, vb))
						return false;
				}
				return true;
			}
		default:
			return false;
	}
}

json_object *
tkeep(json_object *obj)
{
	if (obj)
		arena_add(obj, json_put_void);
	return obj;
}

json_object *
jparse(const char *text)
{
	return tkeep(json_tokener_parse(text));
}

const char *
jstr(json_object *obj)
{
	if (obj == NULL)
		return "(absent)";
	return tfmt("%s", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
													 JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* ------------------------------------------------------------------------
 * HTTP
 * ------------------------------------------------------------------------
 */

typedef struct RecvBuf
{
	CkBuf		buf;
	Resp	   *resp;
} RecvBuf;

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	RecvBuf    *rb = arg;
	size_t		n = size * nmemb;

	if (rb->buf.len + n > 256 * 1024 * 1024 || !ck_buf_append(&rb->buf, data, n))
		return 0;
	return n;
}

static void
copy_header(char *dst, size_t dstlen, const char *value, size_t len)
{
	while (len > 0 && (value[len - 1] == '\r' || value[len - 1] == '\n' ||
					   value[len - 1] == ' '))
		len--;
	while (len > 0 && *value == ' ')
		value++, len--;
	if (len >= dstlen)
		len = dstlen - 1;
	memcpy(dst, value, len);
	dst[len] = '\0';
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	Resp	   *r = arg;
	size_t		n = size * nmemb;
	const char *colon = memchr(data, ':', n);
	size_t		klen;

	if (colon == NULL)
	{
		/* a new status line (100 Continue, redirects): start over */
		if (n > 5 && strncmp(data, "HTTP/", 5) == 0)
		{
			r->content_type[0] = r->version[0] = r->uuid_header[0] = '\0';
			r->web_token[0] = '\0';
		}
		return n;
	}
	klen = colon - data;
#define HDR(name, field) \
	if (klen == strlen(name) && strncasecmp(data, name, klen) == 0) \
		copy_header(r->field, sizeof(r->field), colon + 1, n - klen - 1)
	HDR("Content-Type", content_type);
	HDR("X-Apple-CloudKit-Version", version);
	HDR("X-Apple-Request-UUID", uuid_header);
	HDR("X-Apple-CloudKit-Web-Auth-Token", web_token);
#undef HDR
	return n;
}

static char *
url_escape(const char *s)
{
	CkBuf		b;
	const char *p;

	ck_buf_init(&b);
	ck_buf_append(&b, "", 0);
	for (p = s; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
			ck_buf_append(&b, p, 1);
		else
			ck_buf_appendf(&b, "%%%02X", c);
	}
	return b.data;
}

/* Sign a request: adds the three S2S headers. */
static struct curl_slist *
add_signature(struct curl_slist *hdrs, const Cred *c, const char *subpath,
			  const char *body, size_t body_len)
{
	char		date[32];
	char		err[256];
	char	   *sig;
	CkKey	   *key = c->key ? c->key : g_key;

	if (c->date)
		snprintf(date, sizeof(date), "%s", c->date);
	else
		ck_iso8601_utc(time(NULL) + c->date_offset, date);
	sig = ck_sign_request(key, date, body ? body : "", body ? body_len : 0,
						  subpath, err, sizeof(err));
	if (sig == NULL)
	{
		CHECKM(false, "signing failed: %s", err);
		return hdrs;
	}
	hdrs = curl_slist_append(hdrs, tfmt("X-Apple-CloudKit-Request-KeyID: %s",
										c->key_id ? c->key_id : CKT_KEY_ID));
	hdrs = curl_slist_append(hdrs, tfmt("X-Apple-CloudKit-Request-ISO8601Date: %s", date));
	hdrs = curl_slist_append(hdrs, tfmt("X-Apple-CloudKit-Request-SignatureV1: %s", sig));
	free(sig);
	return hdrs;
}

/* Automatic checks on every CloudKit (not admin) answer. */
static void
check_envelope(const char *path, Resp *r)
{
	const char *code;

	if (strncmp(path, "/database/", 10) != 0 || r->cc != CURLE_OK)
		return;
	/* asset downloads are not JSON */
	if (r->status == 200 && r->json == NULL &&
		strncasecmp(r->content_type, "application/json", 16) != 0)
		return;
	if (!CHECKM(r->json != NULL && json_object_is_type(r->json, json_type_object),
				"response body is not a JSON object"))
		return;
	if (r->status == 200)
		return;
	/* an atomic batch failure: 400 with per-record errors */
	if (r->status == 400 && json_object_is_type(jp(r->json, "records"), json_type_array))
	{
		int			i;

		for (i = 0; i < jlen(r->json, "records"); i++)
			CHECKM(jpf(r->json, "records[%d].serverErrorCode", i) != NULL,
				   "HTTP 400 batch answer: records[%d] has no serverErrorCode", i);
		return;
	}
	code = jps(r->json, "serverErrorCode");
	CHECKM(code != NULL, "error response without serverErrorCode");
	CHECKM(jps(r->json, "reason") != NULL, "error response without reason");
	CHECKM(jps(r->json, "uuid") != NULL && strlen(jps(r->json, "uuid")) >= 32,
		   "error response without a uuid");
	if (code && code_status(code))
		CHECKM(code_status(code) == r->status, "%s answered with HTTP %ld, CloudKit uses %d",
			   code, r->status, code_status(code));
}

/* CURLOPT_XFERINFOFUNCTION: abort the transfer (and so the connection) on request. */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			curl_off_t ulnow)
{
	return atomic_load((atomic_bool *) arg) ? 1 : 0;
}

Resp *
http(Emu *emu, const Req *req)
{
	Resp	   *r = calloc(1, sizeof(Resp));
	CURL	   *curl = req->curl ? req->curl : curl_easy_init();
	RecvBuf		rb;
	struct curl_slist *hdrs = NULL;
	CkBuf		url;
	CkBuf		subpath;
	size_t		body_len = req->body ? (req->body_len ? req->body_len : strlen(req->body)) : 0;
	const char *method = req->method ? req->method : (req->body ? "POST" : "GET");
	const Cred *c = &req->cred;
	double		t0;

	if (r == NULL || curl == NULL)
		abort();
	ck_buf_init(&url);
	ck_buf_init(&subpath);
	ck_buf_appendf(&subpath, "%s", req->path);

	/* token credentials travel in the query string */
	if (c->kind == CRED_API || c->kind == CRED_API_WEB)
	{
		char	   *api = url_escape(c->api_token ? c->api_token : CKT_API_TOKEN);

		ck_buf_appendf(&subpath, "%cckAPIToken=%s", strchr(req->path, '?') ? '&' : '?', api);
		free(api);
		if (c->kind == CRED_API_WEB && c->web_token)
		{
			char	   *web = url_escape(c->web_token);

			ck_buf_appendf(&subpath, "&%s=%s", c->web_param ? c->web_param : "ckWebAuthToken", web);
			free(web);
		}
	}
	ck_buf_appendf(&url, "%s%s", emu->base, subpath.data);

	if (c->kind == CRED_S2S)
	{
		const char *signed_path = subpath.data;
		char	   *bare = NULL;

		if (c->sign_bare_path && strchr(subpath.data, '?'))
		{
			bare = xstrdup(subpath.data);
			*strchr(bare, '?') = '\0';
			signed_path = bare;
		}
		hdrs = add_signature(hdrs, c, signed_path, req->body, body_len);
		free(bare);
	}
	if (req->content_type == NULL)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	else if (req->content_type[0])
		hdrs = curl_slist_append(hdrs, tfmt("Content-Type: %s", req->content_type));
	else
		hdrs = curl_slist_append(hdrs, "Content-Type:");
	hdrs = curl_slist_append(hdrs, "Expect:");
	for (int h = 0; h < 8 && req->headers[h]; h++)
		hdrs = curl_slist_append(hdrs, req->headers[h]);

	ck_buf_init(&rb.buf);
	rb.resp = r;
	if (req->curl)
		curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url.data);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &rb);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req->timeout_ms ? req->timeout_ms : 30000L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	if (req->hang_up != NULL)
	{
		curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(curl, CURLOPT_XFERINFODATA, req->hang_up);
	}
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	else
	{
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
		if (req->body)
		{
			curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
			curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body_len);
		}
		else if (strcmp(method, "POST") == 0)
		{
			curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
			curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) 0);
		}
	}

	t0 = now_secs();
	r->cc = curl_easy_perform(curl);
	r->secs = now_secs() - t0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &r->num_connects);
	r->body = rb.buf.data ? rb.buf.data : xstrdup("");
	r->len = rb.buf.len;

	if (r->len > 0)
	{
		json_tokener *tok = json_tokener_new_ex(64);
		json_object *obj = json_tokener_parse_ex(tok, r->body, (int) r->len);

		if (obj && json_tokener_get_error(tok) == json_tokener_success)
		{
			size_t		off = json_tokener_get_parse_end(tok);

			while (off < r->len && isspace((unsigned char) r->body[off]))
				off++;
			if (off == r->len)
				r->json = obj;
			else
				json_object_put(obj);
		}
		else if (obj)
			json_object_put(obj);
		json_tokener_free(tok);
	}

	/* remember for failure lines */
	{
		char		b[160];
		char		got[300];

		oneline(b, sizeof(b), req->body ? req->body : "", body_len);
		snprintf(last_req, sizeof(last_req), "%s %s%s%s", method, req->path,
				 body_len ? " " : "", b);
		oneline(got, sizeof(got), r->body, r->len);
		if (r->cc != CURLE_OK)
			snprintf(last_resp, sizeof(last_resp), "transport error: %s",
					 curl_easy_strerror(r->cc));
		else
			snprintf(last_resp, sizeof(last_resp), "%ld %s", r->status, got);
	}

	curl_slist_free_all(hdrs);
	if (!req->curl)
		curl_easy_cleanup(curl);
	ck_buf_free(&url);
	ck_buf_free(&subpath);

	if (!req->detached)
		arena_add(r, (void (*) (void *)) resp_free);
	if (!req->raw)
		check_envelope(req->path, r);
	return r;
}

void
resp_free(Resp *r)
{
	if (r == NULL)
		return;
	json_object_put(r->json);
	free(r->body);
	free(r);
}

const char *
dbpath(const char *env, const char *db, const char *op)
{
	return tfmt("/database/1/%s/%s/%s/%s", CKT_CONTAINER, env, db, op);
}

Cred
cred_s2s(void)
{
	Cred		c = {0};

	c.kind = CRED_S2S;
	return c;
}

Cred
cred_api(void)
{
	Cred		c = {0};

	c.kind = CRED_API;
	return c;
}

Cred
cred_web(const char *web_token)
{
	Cred		c = {0};

	c.kind = CRED_API_WEB;
	c.web_token = web_token;
	return c;
}

Resp *
ck_req(Emu *emu, const Cred *cred, const char *method, const char *env,
	   const char *db, const char *op, const char *body)
{
	Req			req = {0};

	req.method = method;
	req.path = dbpath(env, db, op);
	req.body = body;
	req.cred = *cred;
	return http(emu, &req);
}

Resp *
ck_post(Emu *emu, const char *db, const char *op, const char *body)
{
	Cred		c = cred_s2s();

	return ck_req(emu, &c, NULL, "development", db, op, body);
}

Resp *
ck_postf(Emu *emu, const char *db, const char *op, const char *fmt,...)
{
	va_list		ap;
	char	   *body;
	Resp	   *r;

	va_start(ap, fmt);
	if (vasprintf(&body, fmt, ap) < 0)
		abort();
	va_end(ap);
	r = ck_post(emu, db, op, body);
	free(body);
	return r;
}

Resp *
admin(Emu *emu, const char *method, const char *path, const char *body)
{
	Req			req = {0};

	req.method = method;
	req.path = path;
	req.body = body;
	req.raw = true;
	return http(emu, &req);
}

int64_t
admin_wait(Emu *emu, const char *admin_path, const char *path, int64_t want,
		   double max_secs)
{
	double		deadline = now_secs() + max_secs;
	int64_t		got = -1;

	for (;;)
	{
		Req			req = {0};
		Resp	   *r;

		req.method = "GET";
		req.path = admin_path;
		req.raw = true;
		req.detached = true;
		r = http(emu, &req);
		got = r->json ? jpi(r->json, path, -1) : -1;
		resp_free(r);
		if (got == want || now_secs() >= deadline)
			return got;
		sleep_ms(20);
	}
}

typedef struct HangUp
{
	Emu		   *emu;
	Req			req;
	atomic_bool hang_up;
	CURLcode	cc;
} HangUp;

static void *
hang_up_worker(void *arg)
{
	HangUp	   *h = arg;
	Resp	   *r = http(h->emu, &h->req);

	h->cc = r->cc;
	resp_free(r);
	return NULL;
}

CURLcode
http_hang_up(Emu *emu, const Req *req, const char *admin_path, const char *path)
{
	return http_hang_up_n(emu, req, 1, admin_path, path);
}

CURLcode
http_hang_up_n(Emu *emu, const Req *req, int n, const char *admin_path,
			   const char *path)
{
	HangUp		h[8];
	pthread_t	thread[8];
	CURLcode	result = CURLE_ABORTED_BY_CALLBACK;
	int			i;

	if (n < 1 || n > 8)
		abort();
	memset(h, 0, sizeof(h));
	for (i = 0; i < n; i++)
	{
		h[i].emu = emu;
		h[i].req = *req;
		h[i].req.hang_up = &h[i].hang_up;
		h[i].req.detached = true;
		h[i].req.raw = true;
		h[i].req.timeout_ms = 600000;	/* the hang-up, not a timeout, ends it */
		atomic_init(&h[i].hang_up, false);
		if (pthread_create(&thread[i], NULL, hang_up_worker, &h[i]) != 0)
			abort();
	}
	CHECKM(admin_wait(emu, admin_path, path, n, 60) == n,
		   "the requests did not all reach ckemu (%s never %d in %s)", path, n, admin_path);
	for (i = 0; i < n; i++)
		atomic_store(&h[i].hang_up, true);
	for (i = 0; i < n; i++)
	{
		pthread_join(thread[i], NULL);
		if (result == CURLE_ABORTED_BY_CALLBACK)
			result = h[i].cc;
	}
	return result;
}

/* ------------------------------------------------------------------------
 * Emulator processes
 * ------------------------------------------------------------------------
 */

static void
log_tail(const char *logfile)
{
	FILE	   *f = fopen(logfile, "r");
	char		line[512];
	long		size;

	if (f == NULL)
		return;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size > 2000 ? size - 2000 : 0, SEEK_SET);
	while (fgets(line, sizeof(line), f))
		printf("    | %s", line);
	fclose(f);
}

Emu *
emu_start(const EmuOpts *o)
{
	static int	seq = 0;
	Emu		   *emu = calloc(1, sizeof(Emu));
	char		portfile[512];
	const char *argv[64];
	int			argc = 0;
	char	   *keyarg,
			   *latency = NULL,
			   *limit = NULL;
	char	   *tokarg[4];
	char	   *schema,
			   *data;
	double		deadline;
	int			i;

	if (emu == NULL)
		abort();
	snprintf(emu->name, sizeof(emu->name), "%s", o->name ? o->name : "ckemu");
	seq++;
	snprintf(portfile, sizeof(portfile), "%s/port-%d", g_tmpdir, seq);
	snprintf(emu->logfile, sizeof(emu->logfile), "%s/ckemu-%d-%s.log", g_tmpdir, seq, emu->name);
	keyarg = malloc(strlen(g_pub_pem) + 64);
	sprintf(keyarg, "%s=%s", CKT_KEY_ID, g_pub_pem);
	if (asprintf(&schema, "%s/gallery.ckdb", g_data_dir) < 0 ||
		asprintf(&data, "%s/gallery.json", g_data_dir) < 0 ||
		asprintf(&tokarg[0], "%s=%s", CKT_TOKEN_A, CKT_USER_A) < 0 ||
		asprintf(&tokarg[1], "%s=%s", CKT_TOKEN_B, CKT_USER_B) < 0 ||
		asprintf(&tokarg[2], "%s=%s", CKT_TOKEN_C, CKT_USER_C) < 0 ||
		asprintf(&tokarg[3], "%s=%s", CKT_TOKEN_D, CKT_SEED_OWNER) < 0)
		abort();

	argv[argc++] = g_ckemu_path;
	argv[argc++] = "--listen";
	argv[argc++] = "127.0.0.1:0";
	argv[argc++] = "--port-file";
	argv[argc++] = portfile;
	if (o->schema)
	{
		argv[argc++] = "--schema";
		argv[argc++] = schema;
	}
	if (o->data)
	{
		argv[argc++] = "--data";
		argv[argc++] = data;
	}
	if (o->keys)
	{
		argv[argc++] = "--s2s-key";
		argv[argc++] = keyarg;
	}
	if (o->tokens)
	{
		argv[argc++] = "--api-token";
		argv[argc++] = CKT_API_TOKEN;
		for (i = 0; i < 4; i++)
		{
			argv[argc++] = "--web-auth-token";
			argv[argc++] = tokarg[i];
		}
	}
	if (o->rotate)
		argv[argc++] = "--rotate-web-auth-tokens";
	if (o->latency_ms)
	{
		if (asprintf(&latency, "%d", o->latency_ms) < 0)
			abort();
		argv[argc++] = "--latency-ms";
		argv[argc++] = latency;
	}
	if (o->results_limit_max)
	{
		if (asprintf(&limit, "%d", o->results_limit_max) < 0)
			abort();
		argv[argc++] = "--results-limit-max";
		argv[argc++] = limit;
	}
	for (i = 0; i < 8 && o->extra[i]; i++)
		argv[argc++] = o->extra[i];
	argv[argc] = NULL;

	unlink(portfile);
	fflush(stdout);
	emu->pid = fork();
	if (emu->pid == 0)
	{
		int			fd = open(emu->logfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0)
		{
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(g_ckemu_path, (char *const *) argv);
		fprintf(stderr, "exec %s: %s\n", g_ckemu_path, strerror(errno));
		_exit(127);
	}
	free(keyarg);
	free(latency);
	free(limit);
	free(schema);
	free(data);
	for (i = 0; i < 4; i++)
		free(tokarg[i]);
	if (emu->pid < 0)
	{
		CHECKM(false, "fork failed: %s", strerror(errno));
		free(emu);
		return NULL;
	}
	for (i = 0; i < MAX_EMUS; i++)
	{
		if (g_emus[i] == NULL)
		{
			g_emus[i] = emu;
			break;
		}
	}

	/* wait for the port file, then for an answer */
	deadline = now_secs() + 20;
	while (now_secs() < deadline)
	{
		FILE	   *f;
		int			status;

		if (waitpid(emu->pid, &status, WNOHANG) == emu->pid)
		{
			printf("FAIL (setup): ckemu %s exited during start-up (status %d); log:\n",
				   emu->name, status);
			log_tail(emu->logfile);
			n_failed++;
			emu->pid = 0;
			emu_stop(emu);
			return NULL;
		}
		f = fopen(portfile, "r");
		if (f)
		{
			int			port = 0;

			if (fscanf(f, "%d", &port) == 1 && port > 0)
				emu->port = port;
			fclose(f);
		}
		if (emu->port > 0)
			break;
		sleep_ms(20);
	}
	if (emu->port > 0)
	{
		snprintf(emu->base, sizeof(emu->base), "http://127.0.0.1:%d", emu->port);
		while (now_secs() < deadline)
		{
			Req			req = {0};
			Resp	   *r;
			bool		ok;

			req.method = "GET";
			req.path = "/_ckemu/stats";
			req.raw = true;
			req.detached = true;
			req.timeout_ms = 2000;
			r = http(emu, &req);
			ok = r->cc == CURLE_OK && r->status == 200;
			resp_free(r);
			if (ok)
				return emu;
			sleep_ms(50);
		}
	}
	printf("FAIL (setup): ckemu %s did not start answering within 20 s; log:\n", emu->name);
	log_tail(emu->logfile);
	n_failed++;
	emu_stop(emu);
	return NULL;
}

bool
emu_alive(Emu *emu)
{
	int			status;
	Req			req = {0};
	Resp	   *r;
	bool		ok;

	if (emu == NULL || emu->pid <= 0)
		return false;
	if (waitpid(emu->pid, &status, WNOHANG) == emu->pid)
	{
		printf("NOTE ckemu %s exited (status 0x%x); log tail:\n", emu->name, status);
		log_tail(emu->logfile);
		emu->pid = 0;
		return false;
	}
	req.method = "GET";
	req.path = "/_ckemu/stats";
	req.raw = true;
	req.detached = true;
	req.timeout_ms = 5000;
	r = http(emu, &req);
	ok = r->cc == CURLE_OK && r->status == 200;
	resp_free(r);
	return ok;
}

void
emu_stop(Emu *emu)
{
	int			i;

	if (emu == NULL)
		return;
	if (emu->pid > 0)
	{
		int			status;
		/* a sanitizer build checks for leaks at exit, which takes a while */
		double		deadline = now_secs() + 20;
		bool		gone = false;

		if (waitpid(emu->pid, &status, WNOHANG) == emu->pid)
		{
			printf("FAIL (teardown): ckemu %s had already exited (status 0x%x); log:\n",
				   emu->name, status);
			log_tail(emu->logfile);
			n_failed++;
			gone = true;
		}
		else
			kill(emu->pid, SIGTERM);
		while (!gone && now_secs() < deadline)
		{
			if (waitpid(emu->pid, &status, WNOHANG) == emu->pid)
			{
				gone = true;

				/*
				 * SIGTERM is a clean shutdown: anything but exit status 0
				 * is a failure, such as a LeakSanitizer report in
				 * "make check-asan".
				 */
				if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				{
					printf("FAIL (teardown): ckemu %s did not shut down cleanly (status 0x%x); log:\n",
						   emu->name, status);
					log_tail(emu->logfile);
					n_failed++;
				}
			}
			else
				sleep_ms(10);
		}
		if (!gone)
		{
			printf("NOTE ckemu %s ignored SIGTERM for 20 s; killed\n", emu->name);
			kill(emu->pid, SIGKILL);
			waitpid(emu->pid, &status, 0);
		}
	}
	for (i = 0; i < MAX_EMUS; i++)
	{
		if (g_emus[i] == emu)
			g_emus[i] = NULL;
	}
	if (emu == g_main_emu)
		g_main_emu = NULL;
	free(emu);
}

Emu *
emu_main(void)
{
	if (g_main_emu == NULL)
	{
		EmuOpts		o = {0};

		o.name = "main";
		o.schema = o.data = o.keys = o.tokens = true;
		g_main_emu = emu_start(&o);
	}
	return g_main_emu;
}

bool
emu_reset(Emu *emu)
{
	Resp	   *r = admin(emu, "POST", "/_ckemu/reset", NULL);

	return CHECKM(r->cc == CURLE_OK && r->status == 200, "POST /_ckemu/reset failed");
}

static void
stop_all(void)
{
	int			i;

	for (i = 0; i < MAX_EMUS; i++)
	{
		if (g_emus[i] && g_emus[i]->pid > 0)
		{
			kill(g_emus[i]->pid, SIGKILL);
			waitpid(g_emus[i]->pid, NULL, 0);
			g_emus[i]->pid = 0;
		}
	}
}

/* ------------------------------------------------------------------------
 * Seed data
 * ------------------------------------------------------------------------
 */

static json_object *seed_root;
static json_object *seed_by_name;	/* name -> record */
static json_object *seed_by_type;	/* type -> array of records */

static bool
seed_load(void)
{
	char		path[PATH_MAX];
	json_object *records;
	size_t		i;

	snprintf(path, sizeof(path), "%s/gallery.json", g_data_dir);
	seed_root = json_object_from_file(path);
	if (seed_root == NULL)
	{
		fprintf(stderr, "ckemu_tests: cannot read %s\n", path);
		return false;
	}
	seed_by_name = json_object_new_object();
	seed_by_type = json_object_new_object();
	records = jp(seed_root, "seeds[0].records");
	for (i = 0; records && i < json_object_array_length(records); i++)
	{
		json_object *rec = json_object_array_get_idx(records, i);
		const char *type = jps(rec, "recordType");
		json_object *arr;

		json_object_object_add(seed_by_name, jps(rec, "recordName"), json_object_get(rec));
		if (!json_object_object_get_ex(seed_by_type, type, &arr))
		{
			arr = json_object_new_array();
			json_object_object_add(seed_by_type, type, arr);
		}
		json_object_array_add(arr, json_object_get(rec));
	}
	return true;
}

json_object *
seed_record(const char *name)
{
	json_object *rec;

	return json_object_object_get_ex(seed_by_name, name, &rec) ? rec : NULL;
}

int
seed_count(const char *type)
{
	json_object *arr;

	return json_object_object_get_ex(seed_by_type, type, &arr) ?
		(int) json_object_array_length(arr) : 0;
}

json_object *
seed_nth(const char *type, int i)
{
	json_object *arr;

	if (!json_object_object_get_ex(seed_by_type, type, &arr))
		return NULL;
	return json_object_array_get_idx(arr, i);
}

json_object *
seed_field(json_object *rec, const char *field)
{
	json_object *fields = jp(rec, "fields");
	json_object *f;

	if (fields == NULL || !json_object_object_get_ex(fields, field, &f))
		return NULL;
	return jp(f, "value");
}

static void
nameset_free(void *p)
{
	NameSet    *s = p;
	int			i;

	for (i = 0; i < s->n; i++)
		free(s->names[i]);
	free(s->names);
	free(s);
}

NameSet *
nameset_new(void)
{
	NameSet    *s = calloc(1, sizeof(NameSet));

	if (s == NULL)
		abort();
	arena_add(s, nameset_free);
	return s;
}

void
nameset_add(NameSet *s, const char *name)
{
	if (s->n == s->cap)
	{
		s->cap = s->cap ? s->cap * 2 : 64;
		s->names = realloc(s->names, s->cap * sizeof(char *));
		if (s->names == NULL)
			abort();
	}
	s->names[s->n++] = xstrdup(name);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

void
nameset_sort(NameSet *s)
{
	/* qsort's array must be valid even for no elements: names is NULL then */
	if (s->n > 1)
		qsort(s->names, s->n, sizeof(char *), cmp_str);
}

int
nameset_dups(NameSet *s)
{
	int			i,
				d = 0;

	for (i = 1; i < s->n; i++)
		if (strcmp(s->names[i - 1], s->names[i]) == 0)
			d++;
	return d;
}

bool
nameset_equal(NameSet *a, NameSet *b, char *msg, size_t msglen)
{
	int			i = 0,
				j = 0;

	nameset_sort(a);
	nameset_sort(b);
	while (i < a->n || j < b->n)
	{
		int			c;

		if (i == a->n)
			c = 1;
		else if (j == b->n)
			c = -1;
		else
			c = strcmp(a->names[i], b->names[j]);
		if (c != 0)
		{
			snprintf(msg, msglen, "%d vs %d names; first difference: %s only in %s",
					 a->n, b->n, c < 0 ? a->names[i] : b->names[j],
					 c < 0 ? "the first set" : "the second set");
			return false;
		}
		i++, j++;
	}
	return true;
}

NameSet *
seed_select(const char *type, SeedPred pred, void *arg)
{
	NameSet    *s = nameset_new();
	int			i,
				n = seed_count(type);

	for (i = 0; i < n; i++)
	{
		json_object *rec = seed_nth(type, i);

		if (pred == NULL || pred(rec, arg))
			nameset_add(s, jps(rec, "recordName"));
	}
	nameset_sort(s);
	return s;
}

NameSet *
query_all(Emu *emu, const char *body, int limit, int *pages)
{
	NameSet    *s = nameset_new();
	json_object *req = json_tokener_parse(body);
	char	   *marker = NULL;
	int			npages = 0;

	if (!CHECKM(req != NULL, "query_all: test bug, body is not JSON: %s", body))
		return NULL;
	if (limit > 0)
		json_object_object_add(req, "resultsLimit", json_object_new_int(limit));
	for (;;)
	{
		Resp	   *r;
		json_object *recs;
		size_t		i;
		const char *next;

		if (marker)
			json_object_object_add(req, "continuationMarker", json_object_new_string(marker));
		r = ck_post(emu, "public", "records/query", json_object_to_json_string(req));
		npages++;
		if (!CHECK_STATUS(r, 200))
			break;
		recs = jp(r->json, "records");
		if (!CHECKM(json_object_is_type(recs, json_type_array), "query: no records array"))
			break;
		for (i = 0; i < json_object_array_length(recs); i++)
		{
			const char *name = jps(json_object_array_get_idx(recs, i), "recordName");

			if (CHECKM(name != NULL, "query: record without recordName"))
				nameset_add(s, name);
		}
		next = jps(r->json, "continuationMarker");
		free(marker);
		marker = NULL;
		if (next == NULL)
			break;
		if (!CHECKM(npages < 500, "query: more than 500 pages"))
			break;
		marker = xstrdup(next);
	}
	free(marker);
	json_object_put(req);
	if (pages)
		*pages = npages;
	return s;
}

/* ------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------
 */

static bool
run_cmd(const char *cmd)
{
	int			rc = system(cmd);

	if (rc != 0)
		fprintf(stderr, "ckemu_tests: command failed (%d): %s\n", rc, cmd);
	return rc == 0;
}

static CkKey *
load_key(const char *path)
{
	FILE	   *f = fopen(path, "r");
	char		pem[4096];
	size_t		n;
	char		err[256];
	CkKey	   *key;

	if (f == NULL)
		return NULL;
	n = fread(pem, 1, sizeof(pem) - 1, f);
	fclose(f);
	pem[n] = '\0';
	key = ck_key_load_private_pem(pem, err, sizeof(err));
	if (key == NULL)
		fprintf(stderr, "ckemu_tests: %s: %s\n", path, err);
	return key;
}

static void
usage(void)
{
	fprintf(stderr, "usage: ckemu_tests [--ckemu PATH] [--data DIR] [--only SUBSTRING]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	int			i;
	char		cmd[4096];

	for (i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--ckemu") == 0 && i + 1 < argc)
			g_ckemu_path = argv[++i];
		else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
			g_data_dir = argv[++i];
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			g_only = argv[++i];
		else
			usage();
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (access(g_ckemu_path, X_OK) != 0)
	{
		fprintf(stderr, "ckemu_tests: %s is not executable (make test/ckemu/ckemu)\n",
				g_ckemu_path);
		printf("ckemu: 0 passed, 1 failed\n");
		return 1;
	}

	snprintf(g_tmpdir, sizeof(g_tmpdir), "/tmp/ckemu-tests-XXXXXX");
	if (mkdtemp(g_tmpdir) == NULL)
	{
		perror("mkdtemp");
		return 1;
	}
	snprintf(g_key_pem, sizeof(g_key_pem), "%s/key.pem", g_tmpdir);
	snprintf(g_pub_pem, sizeof(g_pub_pem), "%s/pub.pem", g_tmpdir);
	snprintf(g_other_key_pem, sizeof(g_other_key_pem), "%s/other.pem", g_tmpdir);
	snprintf(cmd, sizeof(cmd),
			 "openssl ecparam -name prime256v1 -genkey -noout -out %s && "
			 "openssl ec -in %s -pubout -out %s 2>/dev/null && "
			 "openssl ecparam -name prime256v1 -genkey -noout -out %s",
			 g_key_pem, g_key_pem, g_pub_pem, g_other_key_pem);
	if (!run_cmd(cmd) || (g_key = load_key(g_key_pem)) == NULL ||
		(g_other_key = load_key(g_other_key_pem)) == NULL || !seed_load())
	{
		printf("ckemu: 0 passed, 1 failed\n");
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	atexit(stop_all);

	group_routing();
	group_auth();
	group_records();
	group_modify();
	group_query();
	group_zones_changes();
	group_sharing();
	group_admin();
	group_index();
	group_load();
	group_store();

	if (g_main_emu)
	{
		TEST("ckemu/main instance survived the whole suite")
			CHECK(emu_alive(g_main_emu));
		emu_stop(g_main_emu);
	}

	ck_key_free(g_key);
	ck_key_free(g_other_key);
	json_object_put(seed_root);
	json_object_put(seed_by_name);
	json_object_put(seed_by_type);
	curl_global_cleanup();
	if (n_failed == 0)
	{
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_tmpdir);
		run_cmd(cmd);
	}
	else
		printf("ckemu logs kept in %s\n", g_tmpdir);
	printf("ckemu: %d passed, %d failed\n", n_passed, n_failed);
	return n_failed ? 1 : 0;
}
