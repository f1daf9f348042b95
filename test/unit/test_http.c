/*-------------------------------------------------------------------------
 *
 * test_http.c
 *		  Unit tests of ck_http.c against a tiny HTTP/1.1 server that runs in
 *		  a thread of this process on 127.0.0.1 (port 0).  Each test installs
 *		  a handler that decides the answers; the server records every
 *		  request so the test can check what the client really sent.
 *
 * test/unit/test_http.c
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json.h>

#include "ck/ck_http.h"
#include "ck/ck_sign.h"
#include "ck/ck_util.h"
#include "unit.h"

#define CONTAINER	"iCloud.com.example.App"
#define PATH_PREFIX "/database/1/" CONTAINER "/development/public/"
#define MAX_REQS	16

/* ----------------------------------------------------------------
 *		The test server
 * ----------------------------------------------------------------
 */

typedef struct SrvRequest
{
	char		method[16];
	char		target[1024];
	char	   *headers;		/* raw header lines */
	char	   *body;
	size_t		body_len;
	int			conn_id;		/* which accepted connection */
} SrvRequest;

typedef struct SrvResponse
{
	int			status;
	const char *extra_headers;	/* "Name: value\r\n..." */
	const char *body;
	size_t		body_len;
	bool		hang;			/* never answer; wait for the client to leave */
	size_t		short_by;		/* send this many bytes less than announced */
	bool		drop;			/* close the connection without answering */
} SrvResponse;

typedef void (*SrvHandler) (void *ctx, int nth, const SrvRequest *req, SrvResponse *resp);

typedef struct Srv
{
	int			listen_fd;
	int			port;
	pthread_t	thread;
	volatile bool stop;
	pthread_mutex_t lock;
	SrvHandler	handler;
	void	   *ctx;
	SrvRequest	reqs[MAX_REQS];
	int			nreqs;			/* since the last srv_reset */
	int			nconns;
} Srv;

static Srv	srv;

/* Wait for fd to be readable, checking srv.stop; false when stopping. */
static bool
srv_wait_readable(int fd)
{
	while (!srv.stop)
	{
		struct pollfd p = {fd, POLLIN, 0};

		if (poll(&p, 1, 50) > 0)
			return true;
	}
	return false;
}

static bool
srv_send_all(int fd, const char *data, size_t len)
{
	while (len > 0)
	{
		ssize_t		n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return false;
		}
		data += n;
		len -= (size_t) n;
	}
	return true;
}

static const char *
find_header(const char *headers, const char *name, char *out, size_t outlen)
{
	size_t		nlen = strlen(name);
	const char *p = headers;

	while (p && *p)
	{
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':')
		{
			const char *v = p + nlen + 1;
			size_t		n;

			while (*v == ' ')
				v++;
			n = strcspn(v, "\r\n");
			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return out;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

/* Serve one connection until the client closes it or a response closes it. */
static void
srv_serve(int fd, int conn_id)
{
	CkBuf		in;

	ck_buf_init(&in);
	for (;;)
	{
		char	   *hdr_end;
		size_t		hdr_len;
		size_t		clen = 0;
		char		tmp[64];
		SrvRequest	req;
		SrvResponse resp;
		SrvHandler	handler;
		void	   *ctx;
		int			nth;
		CkBuf		out;

		/* headers */
		while ((hdr_end = in.data ? strstr(in.data, "\r\n\r\n") : NULL) == NULL)
		{
			char		buf[8192];
			ssize_t		n;

			if (!srv_wait_readable(fd))
				goto done;
			n = recv(fd, buf, sizeof(buf), 0);
			if (n <= 0)
				goto done;
			ck_buf_append(&in, buf, (size_t) n);
		}
		hdr_len = (size_t) (hdr_end - in.data) + 4;

		memset(&req, 0, sizeof(req));
		req.conn_id = conn_id;
		sscanf(in.data, "%15s %1023s", req.method, req.target);
		req.headers = strndup(in.data, hdr_len);
		if (find_header(req.headers, "Content-Length", tmp, sizeof(tmp)))
			clen = strtoul(tmp, NULL, 10);

		/* body */
		while (in.len < hdr_len + clen)
		{
			char		buf[8192];
			ssize_t		n;

			if (!srv_wait_readable(fd))
			{
				free(req.headers);
				goto done;
			}
			n = recv(fd, buf, sizeof(buf), 0);
			if (n <= 0)
			{
				free(req.headers);
				goto done;
			}
			ck_buf_append(&in, buf, (size_t) n);
		}
		req.body = malloc(clen + 1);
		memcpy(req.body, in.data + hdr_len, clen);
		req.body[clen] = '\0';
		req.body_len = clen;
		/* keep whatever follows (a pipelined request) */
		memmove(in.data, in.data + hdr_len + clen, in.len - hdr_len - clen);
		in.len -= hdr_len + clen;
		in.data[in.len] = '\0';

		pthread_mutex_lock(&srv.lock);
		nth = srv.nreqs;
		if (srv.nreqs < MAX_REQS)
			srv.reqs[srv.nreqs++] = req;
		else
		{
			free(req.headers);
			free(req.body);
		}
		handler = srv.handler;
		ctx = srv.ctx;
		pthread_mutex_unlock(&srv.lock);

		memset(&resp, 0, sizeof(resp));
		resp.status = 200;
		resp.body = "{}";
		resp.body_len = 2;
		if (handler)
			handler(ctx, nth, nth < MAX_REQS ? &srv.reqs[nth] : &req, &resp);
		if (resp.body && resp.body_len == 0)
			resp.body_len = strlen(resp.body);

		if (resp.drop)
			goto done;
		if (resp.hang)
		{
			/* until the client gives up (EOF) or the test ends */
			char		buf[512];

			while (srv_wait_readable(fd))
				if (recv(fd, buf, sizeof(buf), 0) <= 0)
					break;
			goto done;
		}

		ck_buf_init(&out);
		ck_buf_appendf(&out, "HTTP/1.1 %d X\r\nContent-Type: application/json; charset=UTF-8\r\n"
					   "Content-Length: %zu\r\n%s%s\r\n",
					   resp.status, resp.body_len,
					   resp.extra_headers ? resp.extra_headers : "",
					   resp.short_by ? "Connection: close\r\n" : "");
		ck_buf_append(&out, resp.body, resp.body_len - resp.short_by);
		if (!srv_send_all(fd, out.data, out.len) || resp.short_by)
		{
			ck_buf_free(&out);
			goto done;
		}
		ck_buf_free(&out);
	}
done:
	ck_buf_free(&in);
}

typedef struct SrvConn
{
	pthread_t	thread;
	int			fd;
	int			id;
} SrvConn;

#define MAX_CONNS 64
static SrvConn srv_conns[MAX_CONNS];

static void *
srv_conn_main(void *arg)
{
	SrvConn    *conn = (SrvConn *) arg;

	srv_serve(conn->fd, conn->id);
	close(conn->fd);
	return NULL;
}

/* Accept connections; each gets a thread, as clients keep them alive. */
static void *
srv_main(void *arg)
{
	int			nthreads = 0;
	int			i;

	while (!srv.stop)
	{
		int			fd;
		int			id;

		if (!srv_wait_readable(srv.listen_fd))
			break;
		fd = accept(srv.listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		if (nthreads == MAX_CONNS)
		{
			close(fd);
			continue;
		}
		pthread_mutex_lock(&srv.lock);
		id = ++srv.nconns;
		pthread_mutex_unlock(&srv.lock);
		srv_conns[nthreads].fd = fd;
		srv_conns[nthreads].id = id;
		if (pthread_create(&srv_conns[nthreads].thread, NULL, srv_conn_main,
						   &srv_conns[nthreads]) != 0)
		{
			close(fd);
			continue;
		}
		nthreads++;
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(srv_conns[i].thread, NULL);
	return NULL;
}

static bool
srv_start(void)
{
	struct sockaddr_in addr;
	socklen_t	alen = sizeof(addr);

	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.lock, NULL);
	srv.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	if (srv.listen_fd < 0 ||
		bind(srv.listen_fd, (struct sockaddr *) &addr, sizeof(addr)) != 0 ||
		listen(srv.listen_fd, 8) != 0 ||
		getsockname(srv.listen_fd, (struct sockaddr *) &addr, &alen) != 0)
		return false;
	srv.port = ntohs(addr.sin_port);
	return pthread_create(&srv.thread, NULL, srv_main, NULL) == 0;
}

static void
srv_reset(SrvHandler handler, void *ctx)
{
	int			i;

	pthread_mutex_lock(&srv.lock);
	for (i = 0; i < srv.nreqs; i++)
	{
		free(srv.reqs[i].headers);
		free(srv.reqs[i].body);
	}
	memset(srv.reqs, 0, sizeof(srv.reqs));
	srv.nreqs = 0;
	srv.handler = handler;
	srv.ctx = ctx;
	pthread_mutex_unlock(&srv.lock);
}

static int
srv_nreqs(void)
{
	int			n;

	pthread_mutex_lock(&srv.lock);
	n = srv.nreqs;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

static void
srv_stop(void)
{
	srv.stop = true;
	pthread_join(srv.thread, NULL);
	close(srv.listen_fd);
	srv_reset(NULL, NULL);
	pthread_mutex_destroy(&srv.lock);
}

/* ----------------------------------------------------------------
 *		Handlers
 * ----------------------------------------------------------------
 */

/* A fixed answer for every request */
static void
h_fixed(void *ctx, int nth, const SrvRequest *req, SrvResponse *resp)
{
	*resp = *(SrvResponse *) ctx;
}

/* The first answer from ctx[0], every later one ctx[1] */
static void
h_first_then(void *ctx, int nth, const SrvRequest *req, SrvResponse *resp)
{
	SrvResponse *r = (SrvResponse *) ctx;

	*resp = r[nth == 0 ? 0 : 1];
}

/* ----------------------------------------------------------------
 *		Wait hooks
 * ----------------------------------------------------------------
 */

typedef struct HookState
{
	int			calls;
	int			sleeps;			/* calls with nsocks == 0 and timeout > 0 */
	long		max_sleep;
	int64_t		first_ms;
	long		abort_after_ms; /* return false once this much time passed */
	bool		abort_on_sleep; /* return false on a retry sleep */
	int			max_nsocks;
} HookState;

static bool
test_hook(void *arg, const CkWaitSocket *socks, int nsocks, long timeout_ms)
{
	HookState  *h = (HookState *) arg;
	struct pollfd pfd[8];
	int			i;

	if (h->calls++ == 0)
		h->first_ms = unit_now_ms();
	if (nsocks > h->max_nsocks)
		h->max_nsocks = nsocks;
	if (nsocks == 0 && timeout_ms > 0 && socks == NULL)
	{
		h->sleeps++;
		if (timeout_ms > h->max_sleep)
			h->max_sleep = timeout_ms;
		if (h->abort_on_sleep)
			return false;
	}
	if (h->abort_after_ms > 0 && unit_now_ms() - h->first_ms >= h->abort_after_ms)
		return false;
	/* wait at most 50 ms at a time, as a backend checking interrupts would */
	for (i = 0; i < nsocks && i < 8; i++)
	{
		pfd[i].fd = socks[i].fd;
		pfd[i].events = (socks[i].want_read ? POLLIN : 0) | (socks[i].want_write ? POLLOUT : 0);
		pfd[i].revents = 0;
	}
	poll(pfd, (nfds_t) i, timeout_ms > 50 ? 50 : (int) timeout_ms);
	return true;
}

/* ----------------------------------------------------------------
 *		Tests
 * ----------------------------------------------------------------
 */

static char *sec1_pem;
static CkKey *pubkey;

/* A client of the test server's public database; url holds its base URL. */
static void
test_config(CkClientConfig *cfg, char *url, size_t url_len)
{
	snprintf(url, url_len, "http://127.0.0.1:%d/", srv.port);
	memset(cfg, 0, sizeof(*cfg));
	cfg->base_url = url;
	cfg->container = CONTAINER;
	cfg->environment = "development";
	cfg->database = "public";
	cfg->auth = CK_AUTH_SERVER_KEY;
	cfg->key_id = "test-key-id";
	cfg->private_key_pem = sec1_pem;
}

static CkClient *
make_client(CkAuthKind auth, const char *api_token, const char *web_token,
			int max_retries, long max_retry_wait_ms, size_t max_bytes)
{
	CkClientConfig cfg;
	char		url[64];
	char		err[256] = "";
	CkClient   *c;

	test_config(&cfg, url, sizeof(url));
	cfg.auth = auth;
	cfg.api_token = api_token;
	cfg.web_auth_token = web_token;
	cfg.max_retries = max_retries;
	cfg.max_retry_wait_ms = max_retry_wait_ms;
	cfg.max_response_bytes = max_bytes;
	cfg.request_timeout_ms = 5000;
	c = ck_client_new(&cfg, err, sizeof(err));
	CHECK_MSG(c != NULL, "ck_client_new: %s", err);
	return c;
}

/* Check the S2S headers of a recorded request against the body sent. */
static void
check_signed(const SrvRequest *r, const char *want_path)
{
	char		keyid[128],
				date[64],
				sig[256];
	int64_t		t = 0;
	int64_t		now = ck_now_ms() / 1000;

	CHECK_STR(r->target, want_path);
	CHECK(find_header(r->headers, "X-Apple-CloudKit-Request-KeyID", keyid, sizeof(keyid)) &&
		  strcmp(keyid, "test-key-id") == 0);
	CHECK(find_header(r->headers, "X-Apple-CloudKit-Request-ISO8601Date", date, sizeof(date)) &&
		  ck_iso8601_parse(date, &t) && t >= now - 60 && t <= now + 1);
	CHECK(find_header(r->headers, "X-Apple-CloudKit-Request-SignatureV1", sig, sizeof(sig)));
	CHECK_MSG(ck_verify_request(pubkey, date, r->body, r->body_len, r->target, sig),
			  "signature of %s %s does not verify", r->method, r->target);
	/* and not over anything else */
	CHECK(!ck_verify_request(pubkey, date, "x", 1, r->target, sig));
}

static void
test_signed_requests(void)
{
	CkClient   *c = make_client(CK_AUTH_SERVER_KEY, NULL, NULL, 0, 0, 0);
	CkResponse	resp;
	SrvResponse ok = {200, NULL, "{\"records\":[]}", 0, false, 0, false};
	const char *body = "{\"query\":{\"recordType\":\"Note\"}}";
	char		hv[128];
	struct json_object *recs;

	if (c == NULL)
		return;
	srv_reset(h_fixed, &ok);
	ck_client_request(c, "POST", "records/query", body, strlen(body), true, &resp);
	CHECK_MSG(resp.kind == CK_RESULT_OK, "kind %d: %s", resp.kind, resp.reason);
	CHECK_INT(resp.http_status, 200);
	CHECK_INT(resp.attempts, 1);
	CHECK_INT(resp.bytes_sent, strlen(body));
	CHECK_INT(resp.bytes_received, 14);
	CHECK(resp.json && json_object_object_get_ex(resp.json, "records", &recs) &&
		  json_object_is_type(recs, json_type_array));
	if (CHECK_MSG(srv_nreqs() == 1, "server saw %d requests, want 1", srv_nreqs()))
	{
		SrvRequest *r = &srv.reqs[0];

		CHECK_STR(r->method, "POST");
		CHECK(r->body_len == strlen(body) && memcmp(r->body, body, r->body_len) == 0);
		check_signed(r, PATH_PREFIX "records/query");
		CHECK(find_header(r->headers, "Content-Type", hv, sizeof(hv)) &&
			  strcmp(hv, "application/json") == 0);
		CHECK(find_header(r->headers, "Expect", hv, sizeof(hv)) == NULL);
		CHECK(find_header(r->headers, "User-Agent", hv, sizeof(hv)) && strncmp(hv, "ckfdw/", 6) == 0);
	}
	ck_response_clear(&resp);
	CHECK(resp.json == NULL && resp.kind == CK_RESULT_OK && resp.attempts == 0);

	/* a GET signs the empty body's hash, and reuses the connection */
	ck_client_request(c, "GET", "zones/list", NULL, 0, true, &resp);
	CHECK_MSG(resp.kind == CK_RESULT_OK, "kind %d: %s", resp.kind, resp.reason);
	if (CHECK_MSG(srv_nreqs() == 2, "server saw %d requests, want 2", srv_nreqs()))
	{
		SrvRequest *r = &srv.reqs[1];

		CHECK_STR(r->method, "GET");
		CHECK_INT(r->body_len, 0);
		check_signed(r, PATH_PREFIX "zones/list");
		CHECK(find_header(r->headers, "Content-Type", hv, sizeof(hv)) == NULL);
		CHECK_MSG(r->conn_id == srv.reqs[0].conn_id, "keep-alive: connection %d then %d",
				  srv.reqs[0].conn_id, r->conn_id);
	}
	ck_response_clear(&resp);

	/* a body with bytes json-c would re-escape is signed as sent */
	{
		const char *odd = "{\"a\":\"x/y\\u00e9\",  \"b\" : [ ]}";

		ck_client_request(c, "POST", "records/modify", odd, strlen(odd), false, &resp);
		CHECK(resp.kind == CK_RESULT_OK);
		if (CHECK_MSG(srv_nreqs() == 3, "server saw %d requests, want 3", srv_nreqs()))
			check_signed(&srv.reqs[2], PATH_PREFIX "records/modify");
		ck_response_clear(&resp);
	}

	{
		char	   *p = ck_client_path(c, "users/lookup/email");

		CHECK_STR(p, PATH_PREFIX "users/lookup/email");
		free(p);
	}

	/* bad method / operation never reach the server */
	srv_reset(h_fixed, &ok);
	ck_client_request(c, "PUT", "records/query", "{}", 2, true, &resp);
	CHECK(resp.kind == CK_RESULT_CONFIG && resp.reason[0]);
	ck_response_clear(&resp);
	ck_client_request(c, "POST", "../../x", "{}", 2, true, &resp);
	CHECK(resp.kind == CK_RESULT_CONFIG);
	ck_response_clear(&resp);
	ck_client_request(c, "POST", "records/query?ckAPIToken=x", "{}", 2, true, &resp);
	CHECK(resp.kind == CK_RESULT_CONFIG);
	ck_response_clear(&resp);
	CHECK_INT(srv_nreqs(), 0);
	ck_client_free(c);
}

static void
test_retries(void)
{
	CkClient   *c = make_client(CK_AUTH_SERVER_KEY, NULL, NULL, 2, 5000, 0);
	CkResponse	resp;
	HookState	hs;
	SrvResponse seq[2] = {
		{429, NULL, "{\"uuid\":\"u1\",\"serverErrorCode\":\"THROTTLED\",\"reason\":\"slow down\",\"retryAfter\":0.2}", 0, false, 0, false},
		{200, NULL, "{\"records\":[]}", 0, false, 0, false},
	};
	const char *body = "{\"query\":{\"recordType\":\"Note\"}}";
	int64_t		t0;
	int64_t		elapsed;

	if (c == NULL)
		return;

	/* THROTTLED with retryAfter, then success */
	memset(&hs, 0, sizeof(hs));
	ck_client_set_wait_hook(c, test_hook, &hs);
	srv_reset(h_first_then, seq);
	t0 = unit_now_ms();
	ck_client_request(c, "POST", "records/query", body, strlen(body), false, &resp);
	elapsed = unit_now_ms() - t0;
	CHECK_MSG(resp.kind == CK_RESULT_OK, "kind %d: %s", resp.kind, resp.reason);
	CHECK_INT(resp.attempts, 2);
	CHECK_INT(srv_nreqs(), 2);
	CHECK_MSG(elapsed >= 190 && elapsed < 2000, "retry after 0.2 s took %lld ms", (long long) elapsed);
	CHECK_MSG(hs.sleeps >= 1 && hs.max_sleep > 100 && hs.max_sleep <= 200,
			  "retry wait through the hook: %d sleeps, longest %ld ms", hs.sleeps, hs.max_sleep);
	CHECK_INT(resp.bytes_sent, 2 * strlen(body));
	if (srv_nreqs() == 2)		/* checked above */
	{
		/* the retry is signed afresh and carries the same body */
		check_signed(&srv.reqs[0], PATH_PREFIX "records/query");
		check_signed(&srv.reqs[1], PATH_PREFIX "records/query");
	}
	ck_response_clear(&resp);

	/* THROTTLED every time: gives up after max_retries, keeps the details */
	{
		SrvResponse thr = {429, NULL, "{\"uuid\":\"u2\",\"serverErrorCode\":\"THROTTLED\",\"reason\":\"still\",\"retryAfter\":0.05}", 0, false, 0, false};

		srv_reset(h_fixed, &thr);
		ck_client_request(c, "POST", "records/query", body, strlen(body), true, &resp);
		CHECK(resp.kind == CK_RESULT_SERVER_ERROR);
		CHECK_INT(resp.attempts, 3);
		CHECK_INT(srv_nreqs(), 3);
		CHECK_STR(resp.server_error_code, "THROTTLED");
		CHECK_STR(resp.reason, "still");
		CHECK_STR(resp.uuid, "u2");
		CHECK(resp.retry_after > 0.049 && resp.retry_after < 0.051);
		CHECK_INT(resp.http_status, 429);
		ck_response_clear(&resp);
	}

	/* a retryAfter beyond the cap waits only the cap */
	{
		CkClient   *c2 = make_client(CK_AUTH_NONE, NULL, NULL, 1, 100, 0);
		SrvResponse seq2[2] = {
			{503, NULL, "{\"serverErrorCode\":\"TRY_AGAIN_LATER\",\"retryAfter\":30}", 0, false, 0, false},
			{200, NULL, "{}", 0, false, 0, false},
		};

		if (c2)
		{
			srv_reset(h_first_then, seq2);
			t0 = unit_now_ms();
			ck_client_request(c2, "GET", "zones/list", NULL, 0, true, &resp);
			elapsed = unit_now_ms() - t0;
			CHECK(resp.kind == CK_RESULT_OK && resp.attempts == 2);
			CHECK_MSG(elapsed >= 90 && elapsed < 1000, "capped wait took %lld ms", (long long) elapsed);
			ck_response_clear(&resp);
			ck_client_free(c2);
		}
	}

	/* not retryable: CONFLICT answers at once */
	{
		SrvResponse conflict = {409, NULL, "{\"uuid\":\"u3\",\"serverErrorCode\":\"CONFLICT\",\"reason\":\"record to update already exists with a different change tag\"}", 0, false, 0, false};

		srv_reset(h_fixed, &conflict);
		ck_client_request(c, "POST", "records/modify", body, strlen(body), false, &resp);
		CHECK(resp.kind == CK_RESULT_SERVER_ERROR && resp.attempts == 1);
		CHECK_STR(resp.server_error_code, "CONFLICT");
		CHECK(resp.retry_after < 0);
		ck_response_clear(&resp);
	}

	/* 5xx without a CloudKit body: retried, code from the status */
	{
		SrvResponse seq3[2] = {
			{502, "Retry-After: 0\r\n", "<html>Bad Gateway</html>", 0, false, 0, false},
			{503, NULL, "Service Unavailable", 0, false, 0, false},
		};

		CkClient   *c4 = make_client(CK_AUTH_NONE, NULL, NULL, 2, 50, 0);

		if (c4 == NULL)
			return;
		srv_reset(h_first_then, seq3);
		ck_client_request(c4, "GET", "zones/list", NULL, 0, true, &resp);
		ck_client_free(c4);
		CHECK(resp.kind == CK_RESULT_SERVER_ERROR);
		CHECK_INT(resp.attempts, 3);
		CHECK_INT(resp.http_status, 503);
		CHECK_STR(resp.server_error_code, "TRY_AGAIN_LATER");
		CHECK_MSG(strstr(resp.reason, "503") != NULL, "reason: %s", resp.reason);
		CHECK(resp.json == NULL);
		ck_response_clear(&resp);

		srv_reset(h_first_then, seq3);
		{
			CkClient   *c3 = make_client(CK_AUTH_NONE, NULL, NULL, 0, 0, 0);

			if (c3)
			{
				ck_client_request(c3, "GET", "zones/list", NULL, 0, true, &resp);
				CHECK(resp.kind == CK_RESULT_SERVER_ERROR && resp.attempts == 1);
				CHECK_STR(resp.server_error_code, "UNKNOWN_ERROR");
				CHECK_INT(resp.http_status, 502);
				/* the Retry-After header is used when the body has none */
				CHECK(resp.retry_after == 0.0);
				ck_response_clear(&resp);
				ck_client_free(c3);
			}
		}
	}

	/* the hook refusing a retry wait aborts at once */
	{
		SrvResponse thr = {429, NULL, "{\"serverErrorCode\":\"THROTTLED\",\"retryAfter\":5}", 0, false, 0, false};

		memset(&hs, 0, sizeof(hs));
		hs.abort_on_sleep = true;
		srv_reset(h_fixed, &thr);
		t0 = unit_now_ms();
		ck_client_request(c, "POST", "records/query", body, strlen(body), true, &resp);
		elapsed = unit_now_ms() - t0;
		CHECK(resp.kind == CK_RESULT_ABORTED);
		CHECK_INT(resp.attempts, 1);
		CHECK(resp.json == NULL);
		CHECK_MSG(elapsed < 1000, "abort during retry wait took %lld ms", (long long) elapsed);
		ck_response_clear(&resp);
	}
	ck_client_free(c);
}

static void
test_abort_and_timeout(void)
{
	CkClient   *c = make_client(CK_AUTH_NONE, NULL, NULL, 3, 100, 0);
	CkResponse	resp;
	HookState	hs;
	SrvResponse hang = {200, NULL, NULL, 0, true, 0, false};
	SrvResponse ok = {200, NULL, "{\"ok\":1}", 0, false, 0, false};
	int64_t		t0;
	int64_t		elapsed;
	int			conns;

	if (c == NULL)
		return;

	/* the server never answers; the hook gives up after 200 ms */
	memset(&hs, 0, sizeof(hs));
	hs.abort_after_ms = 200;
	ck_client_set_wait_hook(c, test_hook, &hs);
	srv_reset(h_fixed, &hang);
	t0 = unit_now_ms();
	ck_client_request(c, "POST", "records/query", "{}", 2, true, &resp);
	elapsed = unit_now_ms() - t0;
	CHECK_MSG(resp.kind == CK_RESULT_ABORTED, "kind %d: %s", resp.kind, resp.reason);
	CHECK_INT(resp.attempts, 1);	/* an abort is never retried */
	CHECK_MSG(elapsed >= 180 && elapsed < 1000, "abort took %lld ms", (long long) elapsed);
	CHECK(hs.calls >= 2);
	/* the wait for the answer was on the socket, through the hook */
	CHECK(hs.max_nsocks >= 1);
	ck_response_clear(&resp);

	/* the client still works, on a new connection */
	pthread_mutex_lock(&srv.lock);
	conns = srv.nconns;
	pthread_mutex_unlock(&srv.lock);
	memset(&hs, 0, sizeof(hs));
	srv_reset(h_fixed, &ok);
	ck_client_request(c, "POST", "records/query", "{}", 2, true, &resp);
	CHECK_MSG(resp.kind == CK_RESULT_OK, "after abort: kind %d: %s", resp.kind, resp.reason);
	CHECK_MSG(srv_nreqs() == 1 && srv.reqs[0].conn_id == conns + 1,
			  "after an abort the connection must be new (%d requests)", srv_nreqs());
	ck_response_clear(&resp);
	ck_client_free(c);

	/* request_timeout_ms: a transport error, retried only if idempotent */
	{
		CkClientConfig cfg;
		char		url[64];
		char		err[256];

		snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.port);
		memset(&cfg, 0, sizeof(cfg));
		cfg.base_url = url;
		cfg.container = CONTAINER;
		cfg.environment = "development";
		cfg.database = "public";
		cfg.request_timeout_ms = 250;
		cfg.max_retries = 1;
		cfg.max_retry_wait_ms = 10;
		c = ck_client_new(&cfg, err, sizeof(err));
		if (!CHECK_MSG(c != NULL, "%s", err))
			return;
		srv_reset(h_fixed, &hang);
		t0 = unit_now_ms();
		ck_client_request(c, "POST", "records/modify", "{}", 2, false, &resp);
		elapsed = unit_now_ms() - t0;
		CHECK_MSG(resp.kind == CK_RESULT_TRANSPORT, "kind %d: %s", resp.kind, resp.reason);
		CHECK_INT(resp.attempts, 1);
		CHECK_MSG(strstr(resp.reason, "imed out") != NULL, "reason: %s", resp.reason);
		CHECK_MSG(elapsed >= 240 && elapsed < 1500, "timeout took %lld ms", (long long) elapsed);
		ck_response_clear(&resp);
		ck_client_free(c);
	}
}

static void
test_bad_responses(void)
{
	CkClient   *c = make_client(CK_AUTH_NONE, NULL, NULL, 2, 10, 1000);
	CkResponse	resp;
	static char big[5001];
	static char exact[1001];
	SrvResponse r;
	int			conns;

	if (c == NULL)
		return;

	/* over the cap: TOO_LARGE, not retried, the client recovers */
	memset(big, ' ', 5000);
	big[0] = '{';
	big[4999] = '}';
	memset(&r, 0, sizeof(r));
	r.status = 200;
	r.body = big;
	r.body_len = 5000;
	srv_reset(h_fixed, &r);
	ck_client_request(c, "GET", "zones/list", NULL, 0, true, &resp);
	CHECK_MSG(resp.kind == CK_RESULT_TOO_LARGE, "kind %d: %s", resp.kind, resp.reason);
	CHECK_INT(resp.attempts, 1);
	CHECK(resp.json == NULL);
	CHECK(strstr(resp.reason, "1000") != NULL);
	ck_response_clear(&resp);

	/* exactly at the cap is fine */
	memset(exact, ' ', 1000);
	exact[0] = '{';
	exact[999] = '}';
	r.body = exact;
	r.body_len = 1000;
	srv_reset(h_fixed, &r);
	pthread_mutex_lock(&srv.lock);
	conns = srv.nconns;
	pthread_mutex_unlock(&srv.lock);
	ck_client_request(c, "GET", "zones/list", NULL, 0, true, &resp);
	CHECK_MSG(resp.kind == CK_RESULT_OK, "kind %d: %s", resp.kind, resp.reason);
	CHECK_INT(resp.bytes_received, 1000);
	/* the oversized answer's connection was not reused */
	CHECK(srv_nreqs() == 1 && srv.reqs[0].conn_id == conns + 1);
	ck_response_clear(&resp);

	/* 2xx bodies that are not a JSON object */
	{
		static const struct
		{
			const char *body;
			const char *why;
		}			bad[] = {
			{"<html>hello</html>", "invalid JSON"},
			{"[1,2,3]", "not a JSON object"},
			{"{\"records\":[", "truncated"},
			{"{\"a\":1} {\"b\":2}", "byte 8"},
			{"null", "JSON null"},
			{"", "empty"},
			{"123", "another JSON value"},
			{"{\"v\":-9223372036854775809}", "64-bit range"},
			{"{\"v\":[1, 184467440737095516150]}", "64-bit range"},
			/* a string ending in an escaped backslash, then a wide integer */
			{"{\"s\":\"x\\\\\",\"v\":99999999999999999999}", "64-bit range"},
			{"{\"s\":\"\xff\xfe\"}", "invalid JSON"},
		};
		int			i;

		for (i = 0; i < (int) (sizeof(bad) / sizeof(bad[0])); i++)
		{
			memset(&r, 0, sizeof(r));
			r.status = 200;
			r.body = bad[i].body;
			srv_reset(h_fixed, &r);
			ck_client_request(c, "POST", "records/query", "{}", 2, true, &resp);
			CHECK_MSG(resp.kind == CK_RESULT_BAD_RESPONSE, "%s: kind %d", bad[i].body, resp.kind);
			CHECK_MSG(strstr(resp.reason, bad[i].why) != NULL, "%s: reason \"%s\" lacks \"%s\"",
					  bad[i].body, resp.reason, bad[i].why);
			CHECK_INT(resp.attempts, 1);
			ck_response_clear(&resp);
		}
	}

	/* what looks wide but is not an integer token passes */
	memset(&r, 0, sizeof(r));
	r.status = 200;
	r.body = "{\"s\":\"-99999999999999999999\\\"\",\"d\":-1e30,\"e\":123456789012345678901234.5,"
		"\"m\":-9223372036854775808,\"u\":18446744073709551615}";
	srv_reset(h_fixed, &r);
	ck_client_request(c, "POST", "records/query", "{}", 2, true, &resp);
	CHECK_MSG(resp.kind == CK_RESULT_OK, "kind %d: %s", resp.kind, resp.reason);
	ck_response_clear(&resp);

	/* the server closes early: a transport error, retried when idempotent */
	memset(&r, 0, sizeof(r));
	r.status = 200;
	r.body = "{\"records\":[1,2,3,4,5,6,7,8,9]}";
	r.short_by = 10;
	srv_reset(h_fixed, &r);
	ck_client_request(c, "POST", "records/query", "{}", 2, true, &resp);
	CHECK_MSG(resp.kind == CK_RESULT_TRANSPORT, "kind %d: %s", resp.kind, resp.reason);
	CHECK_INT(resp.attempts, 3);
	ck_response_clear(&resp);
	ck_client_request(c, "POST", "records/modify", "{}", 2, false, &resp);
	CHECK(resp.kind == CK_RESULT_TRANSPORT && resp.attempts == 1);
	ck_response_clear(&resp);

	/*
	 * A keep-alive connection that dies after the server read a request: the
	 * server may have applied it, so a modify must not be sent again
	 * (libcurl resends on a reused connection that answered nothing).
	 */
	memset(&r, 0, sizeof(r));
	r.status = 200;
	r.body = "{}";
	srv_reset(h_fixed, &r);
	ck_client_request(c, "POST", "records/query", "{}", 2, true, &resp);
	CHECK(resp.kind == CK_RESULT_OK);
	ck_response_clear(&resp);
	r.drop = true;
	srv_reset(h_fixed, &r);
	ck_client_request(c, "POST", "records/modify", "{}", 2, false, &resp);
	CHECK_MSG(resp.kind == CK_RESULT_TRANSPORT, "kind %d: %s", resp.kind, resp.reason);
	CHECK_MSG(srv_nreqs() == 1, "server saw %d modify requests, want 1", srv_nreqs());
	ck_response_clear(&resp);

	/* error envelopes */
	memset(&r, 0, sizeof(r));
	r.status = 401;
	r.body = "{\"uuid\":\"4f02f7aa-1\",\"serverErrorCode\":\"AUTHENTICATION_FAILED\",\"reason\":\"Authentication failed\"}";
	srv_reset(h_fixed, &r);
	ck_client_request(c, "POST", "records/query", "{}", 2, true, &resp);
	CHECK(resp.kind == CK_RESULT_SERVER_ERROR);
	CHECK_INT(resp.http_status, 401);
	CHECK_INT(resp.attempts, 1);
	CHECK_STR(resp.server_error_code, "AUTHENTICATION_FAILED");
	CHECK_STR(resp.reason, "Authentication failed");
	CHECK_STR(resp.uuid, "4f02f7aa-1");
	CHECK(resp.retry_after < 0);
	CHECK(resp.json != NULL);
	ck_response_clear(&resp);

	r.status = 421;
	r.body = "{\"uuid\":\"u\",\"serverErrorCode\":\"AUTHENTICATION_REQUIRED\",\"reason\":\"request needs authorization\",\"redirectURL\":\"https://idmsa.apple.com/x\"}";
	srv_reset(h_fixed, &r);
	ck_client_request(c, "GET", "users/caller", NULL, 0, true, &resp);
	CHECK(resp.kind == CK_RESULT_SERVER_ERROR && resp.http_status == 421);
	CHECK_STR(resp.server_error_code, "AUTHENTICATION_REQUIRED");
	{
		struct json_object *v;

		CHECK(resp.json && json_object_object_get_ex(resp.json, "redirectURL", &v) &&
			  strcmp(json_object_get_string(v), "https://idmsa.apple.com/x") == 0);
	}
	ck_response_clear(&resp);

	/* a non-2xx JSON body without serverErrorCode */
	r.status = 404;
	r.body = "{\"message\":\"nope\"}";
	srv_reset(h_fixed, &r);
	ck_client_request(c, "GET", "zones/list", NULL, 0, true, &resp);
	CHECK(resp.kind == CK_RESULT_SERVER_ERROR);
	CHECK_STR(resp.server_error_code, "NOT_FOUND");
	CHECK(strstr(resp.reason, "404") != NULL);
	ck_response_clear(&resp);
	ck_client_free(c);
}

static void
test_api_token(void)
{
	CkClient   *c = make_client(CK_AUTH_API_TOKEN, "SECRET+/=api", "web1", 0, 0, 0);
	CkResponse	resp;
	SrvResponse r[2] = {
		{200, "x-apple-cloudkit-web-auth-token: web2+/=tok\r\n", "{}", 0, false, 0, false},
		{200, NULL, "{}", 0, false, 0, false},
	};
	char		hv[64];

	if (c == NULL)
		return;
	CHECK_STR(ck_client_web_auth_token(c), "web1");
	srv_reset(h_first_then, r);
	ck_client_request(c, "POST", "records/modify", "{}", 2, false, &resp);
	CHECK(resp.kind == CK_RESULT_OK);
	ck_response_clear(&resp);
	CHECK_STR(ck_client_web_auth_token(c), "web2+/=tok");
	ck_client_request(c, "GET", "users/caller", NULL, 0, true, &resp);
	CHECK(resp.kind == CK_RESULT_OK);
	ck_response_clear(&resp);
	/* no header in the second answer: the token stays */
	CHECK_STR(ck_client_web_auth_token(c), "web2+/=tok");
	if (CHECK_MSG(srv_nreqs() == 2, "server saw %d requests, want 2", srv_nreqs()))
	{
		CHECK_STR(srv.reqs[0].target,
				  PATH_PREFIX "records/modify?ckAPIToken=SECRET%2B%2F%3Dapi&ckWebAuthToken=web1");
		CHECK_STR(srv.reqs[1].target,
				  PATH_PREFIX "users/caller?ckAPIToken=SECRET%2B%2F%3Dapi&ckWebAuthToken=web2%2B%2F%3Dtok");
		CHECK(find_header(srv.reqs[0].headers, "X-Apple-CloudKit-Request-SignatureV1", hv, sizeof(hv)) == NULL);
	}
	ck_client_free(c);

	/* API token only */
	c = make_client(CK_AUTH_API_TOKEN, "tok", NULL, 0, 0, 0);
	if (c)
	{
		srv_reset(NULL, NULL);
		ck_client_request(c, "GET", "zones/list", NULL, 0, true, &resp);
		CHECK(resp.kind == CK_RESULT_OK);
		ck_response_clear(&resp);
		CHECK(srv_nreqs() == 1 && strcmp(srv.reqs[0].target, PATH_PREFIX "zones/list?ckAPIToken=tok") == 0);
		CHECK(ck_client_web_auth_token(c) == NULL);
		ck_client_free(c);
	}
}

/*
 * A request that went out and got no answer: it may have been applied
 * (request_sent), and CloudKit may have taken its web-auth token, whose
 * replacement came in the lost answer.  A refusal of the token then says
 * so; a refusal of the configured token, never rotated nor in doubt, does
 * not.
 */
static void
test_lost_answer(void)
{
	CkClient   *c;
	CkResponse	resp;
	SrvResponse r[2] = {
		{0, NULL, NULL, 0, false, 0, true},
		{401, NULL, "{\"serverErrorCode\":\"AUTHENTICATION_FAILED\",\"reason\":\"no\"}", 0, false, 0, false},
	};
	SrvResponse refused = {401, NULL, "{\"serverErrorCode\":\"AUTHENTICATION_FAILED\",\"reason\":\"no\"}", 0, false, 0, false};
	SrvResponse rotating = {200, "X-Apple-CloudKit-Web-Auth-Token: web2\r\n", "{}", 0, false, 0, false};

	c = make_client(CK_AUTH_API_TOKEN, "api", "web1", 0, 0, 0);
	if (c == NULL)
		return;
	srv_reset(h_first_then, r);
	ck_client_request(c, "POST", "records/modify", "{\"operations\":[]}", 17, false, &resp);
	CHECK_MSG(resp.kind == CK_RESULT_TRANSPORT, "kind %d: %s", resp.kind, resp.reason);
	CHECK(resp.request_sent);
	CHECK(!resp.web_auth_token_spent);
	ck_response_clear(&resp);
	/* the token stays: CloudKit may never have read the request */
	CHECK_STR(ck_client_web_auth_token(c), "web1");
	ck_client_request(c, "POST", "records/query", "{}", 2, true, &resp);
	CHECK(resp.kind == CK_RESULT_SERVER_ERROR && resp.http_status == 401);
	CHECK(resp.auth == CK_AUTH_API_TOKEN);
	CHECK(resp.web_auth_token_spent);
	ck_response_clear(&resp);
	ck_client_free(c);

	/* the configured token refused at once: a wrong or expired sign-in */
	c = make_client(CK_AUTH_API_TOKEN, "api", "web1", 0, 0, 0);
	if (c == NULL)
		return;
	srv_reset(h_fixed, &refused);
	ck_client_request(c, "POST", "records/query", "{}", 2, true, &resp);
	CHECK(resp.kind == CK_RESULT_SERVER_ERROR && resp.request_sent);
	CHECK(!resp.web_auth_token_spent);
	ck_response_clear(&resp);

	/* a token CloudKit sent, refused later: used up or expired */
	srv_reset(h_fixed, &rotating);
	ck_client_request(c, "POST", "records/query", "{}", 2, true, &resp);
	CHECK(resp.kind == CK_RESULT_OK);
	ck_response_clear(&resp);
	srv_reset(h_fixed, &refused);
	ck_client_request(c, "POST", "records/query", "{}", 2, true, &resp);
	CHECK(resp.kind == CK_RESULT_SERVER_ERROR);
	CHECK(resp.web_auth_token_spent);
	ck_response_clear(&resp);
	ck_client_free(c);
}

static void
test_transport_errors(void)
{
	int			fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr;
	socklen_t	alen = sizeof(addr);
	int			port;
	CkClientConfig cfg;
	char		url[64];
	char		err[256];
	CkClient   *c;
	CkResponse	resp;
	HookState	hs;

	/* a port nobody listens on */
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *) &addr, sizeof(addr));
	getsockname(fd, (struct sockaddr *) &addr, &alen);
	port = ntohs(addr.sin_port);
	close(fd);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	memset(&cfg, 0, sizeof(cfg));
	cfg.base_url = url;
	cfg.container = CONTAINER;
	cfg.environment = "development";
	cfg.database = "public";
	cfg.auth = CK_AUTH_API_TOKEN;
	cfg.api_token = "SUPERSECRETAPITOKEN";
	cfg.web_auth_token = "SUPERSECRETWEBTOKEN";
	cfg.max_retries = 2;
	cfg.max_retry_wait_ms = 20;
	c = ck_client_new(&cfg, err, sizeof(err));
	if (!CHECK_MSG(c != NULL, "%s", err))
		return;
	memset(&hs, 0, sizeof(hs));
	ck_client_set_wait_hook(c, test_hook, &hs);

	ck_client_request(c, "POST", "records/modify", "{}", 2, false, &resp);
	CHECK_MSG(resp.kind == CK_RESULT_TRANSPORT, "kind %d: %s", resp.kind, resp.reason);
	CHECK_INT(resp.attempts, 1);
	CHECK(resp.http_status == 0 && resp.reason[0] != '\0');
	/* never connected: certainly not applied */
	CHECK(!resp.request_sent);
	CHECK_MSG(strstr(resp.reason, "SUPERSECRET") == NULL && strstr(resp.reason, "ckAPIToken") == NULL,
			  "secret in reason: %s", resp.reason);
	ck_response_clear(&resp);

	ck_client_request(c, "POST", "records/query", "{}", 2, true, &resp);
	CHECK(resp.kind == CK_RESULT_TRANSPORT);
	CHECK_INT(resp.attempts, 3);
	CHECK(hs.sleeps >= 2 && hs.max_sleep <= 20);
	ck_response_clear(&resp);
	ck_client_free(c);
}

static void
test_config_errors(void)
{
	CkClientConfig cfg;
	char		err[256];
	CkClient   *c;
	static const char *const bad_urls[] = {
		"http://example.com", "http://127.0.0.1.example.com", "ftp://127.0.0.1",
		"127.0.0.1:8642", "https://x/?a=b", "https://user:pw@x", "",
	};
	static const char *const good_urls[] = {
		"https://api.apple-cloudkit.com", "http://127.0.0.1:8642", "http://localhost:1/",
		"http://[::1]:8642", "https://example.com/prefix",
	};
	int			i;

	memset(&cfg, 0, sizeof(cfg));
	cfg.container = CONTAINER;
	cfg.environment = "development";
	cfg.database = "public";

	for (i = 0; i < (int) (sizeof(bad_urls) / sizeof(bad_urls[0])); i++)
	{
		err[0] = '\0';
		cfg.base_url = bad_urls[i];
		c = ck_client_new(&cfg, err, sizeof(err));
		CHECK_MSG(c == NULL && err[0] != '\0', "base_url \"%s\" accepted", bad_urls[i]);
		ck_client_free(c);
	}
	for (i = 0; i < (int) (sizeof(good_urls) / sizeof(good_urls[0])); i++)
	{
		cfg.base_url = good_urls[i];
		c = ck_client_new(&cfg, err, sizeof(err));
		CHECK_MSG(c != NULL, "base_url \"%s\" rejected: %s", good_urls[i], err);
		ck_client_free(c);
	}

	cfg.base_url = "https://api.apple-cloudkit.com";
	cfg.container = "iCloud.a/../b";
	CHECK(ck_client_new(&cfg, err, sizeof(err)) == NULL && strstr(err, "container"));
	cfg.container = CONTAINER;
	cfg.environment = "dev elopment";
	CHECK(ck_client_new(&cfg, err, sizeof(err)) == NULL && strstr(err, "environment"));
	cfg.environment = "development";
	cfg.database = NULL;
	CHECK(ck_client_new(&cfg, err, sizeof(err)) == NULL && strstr(err, "database"));
	cfg.database = "public";

	cfg.auth = CK_AUTH_SERVER_KEY;
	cfg.private_key_pem = sec1_pem;
	CHECK(ck_client_new(&cfg, err, sizeof(err)) == NULL && strstr(err, "key_id"));
	cfg.key_id = "k\r\nX-Injected: 1";
	CHECK(ck_client_new(&cfg, err, sizeof(err)) == NULL && strstr(err, "key_id"));
	cfg.key_id = "k";
	cfg.private_key_pem = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
	CHECK(ck_client_new(&cfg, err, sizeof(err)) == NULL && strstr(err, "private key"));
	cfg.private_key_pem = NULL;
	CHECK(ck_client_new(&cfg, err, sizeof(err)) == NULL && strstr(err, "private key"));
	cfg.private_key_pem = sec1_pem;
	c = ck_client_new(&cfg, err, sizeof(err));
	CHECK_MSG(c != NULL, "%s", err);
	ck_client_free(c);

	cfg.auth = CK_AUTH_API_TOKEN;
	CHECK(ck_client_new(&cfg, err, sizeof(err)) == NULL && strstr(err, "api_token"));
	ck_client_free(NULL);
}

/*
 * refuse_local_addresses: nothing reaches a local server, and a refusal
 * reads the same whatever the spelling or the port (open or closed).
 */
static void
test_local_addresses(void)
{
	static const char *const urls[] = {
		"http://127.0.0.1:%d", "http://localhost:%d", "http://127.0.0.1:1",
		"http://[::1]:%d",
	};
	SrvResponse ok = {200, NULL, "{\"records\":[]}", 0, false, 0, false};
	char		first_reason[sizeof(((CkResponse *) 0)->reason)] = "";
	int			i;

	srv_reset(h_fixed, &ok);
	for (i = 0; i < (int) (sizeof(urls) / sizeof(urls[0])); i++)
	{
		CkClientConfig cfg;
		char		url[64];
		char		err[256] = "";
		CkClient   *c;
		CkResponse	resp;
		int			conns = srv.nconns;

		snprintf(url, sizeof(url), urls[i], srv.port);
		memset(&cfg, 0, sizeof(cfg));
		cfg.base_url = url;
		cfg.container = CONTAINER;
		cfg.environment = "development";
		cfg.database = "public";
		cfg.auth = CK_AUTH_API_TOKEN;
		cfg.api_token = "token";
		cfg.request_timeout_ms = 5000;
		cfg.max_retries = 2;
		cfg.refuse_local_addresses = true;
		c = ck_client_new(&cfg, err, sizeof(err));
		if (!CHECK_MSG(c != NULL, "ck_client_new: %s", err))
			continue;
		ck_client_request(c, "POST", "records/query", "{}", 2, true, &resp);
		CHECK_MSG(resp.kind == CK_RESULT_REFUSED_ADDRESS, "%s: kind %d: %s",
				  url, resp.kind, resp.reason);
		CHECK_MSG(resp.attempts == 1, "%s: %d attempts", url, resp.attempts);
		CHECK_MSG(srv.nconns == conns, "%s: the server was reached", url);
		if (i == 0)
			snprintf(first_reason, sizeof(first_reason), "%s", resp.reason);
		else
			CHECK_STR(resp.reason, first_reason);
		ck_response_clear(&resp);
		ck_client_free(c);
	}
	CHECK_INT(srv_nreqs(), 0);

	/* without the flag the same server answers */
	{
		CkClient   *c = make_client(CK_AUTH_API_TOKEN, "token", NULL, 0, 0, 0);
		CkResponse	resp;

		if (c != NULL)
		{
			ck_client_request(c, "POST", "records/query", "{}", 2, true, &resp);
			CHECK_MSG(resp.kind == CK_RESULT_OK, "kind %d: %s", resp.kind, resp.reason);
			ck_response_clear(&resp);
			ck_client_free(c);
		}
	}
}

/* A lone surrogate, which json-c would turn into U+FFFD, is refused. */
static void
test_lone_surrogate_body(void)
{
	SrvResponse lone = {200, NULL, "{\"records\":[{\"recordName\":\"a\\uD800b\"}]}", 0, false, 0, false};
	SrvResponse pair = {200, NULL, "{\"records\":[{\"recordName\":\"a\\uD83D\\uDE00\"}]}", 0, false, 0, false};
	CkClient   *c = make_client(CK_AUTH_API_TOKEN, "token", NULL, 0, 0, 0);
	CkResponse	resp;

	if (c == NULL)
		return;
	srv_reset(h_fixed, &lone);
	ck_client_request(c, "POST", "records/query", "{}", 2, true, &resp);
	CHECK_MSG(resp.kind == CK_RESULT_BAD_RESPONSE && resp.bad_text,
			  "kind %d: %s", resp.kind, resp.reason);
	CHECK(strstr(resp.reason, "\\uD800") != NULL);
	ck_response_clear(&resp);
	srv_reset(h_fixed, &pair);
	ck_client_request(c, "POST", "records/query", "{}", 2, true, &resp);
	CHECK_MSG(resp.kind == CK_RESULT_OK && !resp.bad_text, "kind %d: %s", resp.kind, resp.reason);
	ck_response_clear(&resp);
	ck_client_free(c);
}

/* ----------------------------------------------------------------
 *		Several requests in flight
 * ----------------------------------------------------------------
 */

/* Hold each request until `want` are inside at once (or hold_ms pass). */
typedef struct Overlap
{
	int			want;
	int			hold_ms;		/* the longest a request waits for the others */
	int			inside;
	int			max_inside;
} Overlap;

static void
h_overlap(void *ctx, int nth, const SrvRequest *req, SrvResponse *resp)
{
	Overlap    *o = (Overlap *) ctx;
	int64_t		t0 = unit_now_ms();

	pthread_mutex_lock(&srv.lock);
	o->inside++;
	if (o->inside > o->max_inside)
		o->max_inside = o->inside;
	pthread_mutex_unlock(&srv.lock);
	for (;;)
	{
		int			n;

		pthread_mutex_lock(&srv.lock);
		n = o->inside;
		pthread_mutex_unlock(&srv.lock);
		if (n >= o->want || unit_now_ms() - t0 > o->hold_ms)
			break;
		usleep(1000);
	}
	/* count down only once all were seen (or the wait gave up) */
	pthread_mutex_lock(&srv.lock);
	o->want = 0;
	o->inside--;
	pthread_mutex_unlock(&srv.lock);
	resp->status = 200;
	resp->body = "{\"records\":[]}";
	resp->body_len = 0;
}

/* The second request (the POST) is dropped unanswered, the others answered. */
static void
h_drop_second(void *ctx, int nth, const SrvRequest *req, SrvResponse *resp)
{
	resp->status = 200;
	resp->body = "{\"records\":[]}";
	resp->body_len = 0;
	if (nth == 1)
		resp->drop = true;
}

static CkClient *
make_concurrent_client(int max_in_flight)
{
	CkClientConfig cfg;
	char		url[64];
	char		err[256] = "";
	CkClient   *c;

	test_config(&cfg, url, sizeof(url));
	cfg.max_retries = 2;
	cfg.max_retry_wait_ms = 5000;
	cfg.request_timeout_ms = 20000;
	cfg.max_in_flight = max_in_flight;
	c = ck_client_new(&cfg, err, sizeof(err));
	CHECK_MSG(c != NULL, "ck_client_new: %s", err);
	return c;
}

static void
test_concurrency(void)
{
	const char *body = "{\"query\":{\"recordType\":\"Note\"}}";
	CkClient   *c = make_concurrent_client(4);
	CkRequest  *reqs[4];
	CkResponse	resp;
	Overlap		o = {4, 10000, 0, 0};
	int			i;

	if (c == NULL)
		return;

	/* four requests are at the server at the same time */
	srv_reset(h_overlap, &o);
	for (i = 0; i < 4; i++)
		reqs[i] = ck_request_start(c, "POST", "records/query", body, strlen(body),
								   CK_REQUEST_IDEMPOTENT);
	for (i = 0; i < 4; i++)
	{
		CHECK(ck_client_wait(c, reqs[i]));
		CHECK(ck_request_done(reqs[i]));
		ck_request_finish(reqs[i], &resp);
		CHECK_MSG(resp.kind == CK_RESULT_OK, "request %d: %s", i, resp.reason);
		ck_response_clear(&resp);
	}
	CHECK_INT(o.max_inside, 4);
	CHECK_INT(srv_nreqs(), 4);

	/* max_in_flight 2: never more than two at once */
	ck_client_free(c);
	c = make_concurrent_client(2);
	/* (they wait 1 s for a third, which must not come) */
	o.want = 3;
	o.hold_ms = 1000;
	o.inside = o.max_inside = 0;
	srv_reset(h_overlap, &o);
	for (i = 0; i < 3; i++)
		reqs[i] = ck_request_start(c, "POST", "records/query", body, strlen(body),
								   CK_REQUEST_IDEMPOTENT);
	/* wait for any: returns once one finished */
	CHECK(ck_client_wait(c, NULL));
	for (i = 0; i < 3; i++)
	{
		CHECK(ck_client_wait(c, reqs[i]));
		ck_request_finish(reqs[i], &resp);
		ck_response_clear(&resp);
	}
	CHECK_INT(o.max_inside, 2);

	/*
	 * A write goes on a reused keep-alive connection; the server reads it
	 * and closes without answering.  libcurl would resend it on a new
	 * connection; the transport refuses, and says the outcome is unknown.
	 */
	srv_reset(h_drop_second, NULL);
	ck_client_request(c, "POST", "records/query", body, strlen(body), true, &resp);
	CHECK(resp.kind == CK_RESULT_OK);
	ck_response_clear(&resp);
	ck_client_request(c, "POST", "records/modify", body, strlen(body), false, &resp);
	CHECK_MSG(resp.kind == CK_RESULT_TRANSPORT, "kind %d: %s", resp.kind, resp.reason);
	CHECK(resp.request_sent);
	CHECK_INT(srv_nreqs(), 2);
	ck_response_clear(&resp);
	/* an idempotent request may go again, on a new connection */
	srv_reset(h_drop_second, NULL);
	ck_client_request(c, "POST", "records/query", body, strlen(body), true, &resp);
	ck_response_clear(&resp);
	ck_client_request(c, "POST", "records/query", body, strlen(body), true, &resp);
	CHECK_MSG(resp.kind == CK_RESULT_OK, "kind %d: %s", resp.kind, resp.reason);
	CHECK_INT(srv_nreqs(), 3);
	ck_response_clear(&resp);
	ck_client_free(c);

	/*
	 * Throttled: the limit halves, and nothing is sent before retryAfter
	 * (a lower bound: load cannot make it fail); answers earn it back.
	 */
	{
		SrvResponse seq[2] = {
			{429, NULL, "{\"serverErrorCode\":\"THROTTLED\",\"retryAfter\":0.3}", 0, false, 0, false},
			{200, NULL, "{\"records\":[]}", 0, false, 0, false},
		};
		int64_t		t0;

		c = make_concurrent_client(4);
		srv_reset(h_first_then, seq);
		t0 = unit_now_ms();
		reqs[0] = ck_request_start(c, "POST", "records/query", body, strlen(body),
								   CK_REQUEST_IDEMPOTENT);
		while (srv_nreqs() < 1)
			CHECK(ck_client_wait(c, NULL) || true);
		/* wait until the throttle answer is in */
		while (ck_client_limit(c) == 4 && unit_now_ms() - t0 < 10000)
			ck_client_poll(c);
		CHECK_INT(ck_client_limit(c), 2);
		reqs[1] = ck_request_start(c, "POST", "records/query", body, strlen(body),
								   CK_REQUEST_IDEMPOTENT);
		for (i = 0; i < 2; i++)
		{
			CHECK(ck_client_wait(c, reqs[i]));
			ck_request_finish(reqs[i], &resp);
			CHECK_MSG(resp.kind == CK_RESULT_OK, "kind %d: %s", resp.kind, resp.reason);
			ck_response_clear(&resp);
		}
		CHECK_MSG(unit_now_ms() - t0 >= 300, "throttled requests went out after %lld ms",
				  (long long) (unit_now_ms() - t0));
		CHECK_INT(srv_nreqs(), 3);
		CHECK_INT(ck_client_limit(c), 3);
		ck_client_free(c);
	}
}

/* Record the order operations arrive in; answer each at once. */
typedef struct Arrivals
{
	char		order[8][32];
	int			n;
} Arrivals;

static void
h_arrivals(void *ctx, int nth, const SrvRequest *req, SrvResponse *resp)
{
	Arrivals   *a = (Arrivals *) ctx;
	const char *op = strstr(req->target, "/records/");

	pthread_mutex_lock(&srv.lock);
	if (a->n < 8)
		snprintf(a->order[a->n++], sizeof(a->order[0]), "%.31s", op ? op + 9 : req->target);
	pthread_mutex_unlock(&srv.lock);
	resp->status = 200;
	resp->body = "{\"records\":[]}";
	resp->body_len = 0;
}

/*
 * A queued request marked CK_REQUEST_FIRST (a scan's page) starts before
 * the requests queued without it (the writes waiting for its rows).
 */
static void
test_first_requests(void)
{
	const char *body = "{}";
	CkClient   *c = make_concurrent_client(1);
	CkRequest  *reqs[4];
	CkResponse	resp;
	Arrivals	a;
	int			i;

	if (c == NULL)
		return;
	memset(&a, 0, sizeof(a));
	srv_reset(h_arrivals, &a);
	/* one in flight at a time: the first runs, the others queue */
	reqs[0] = ck_request_start(c, "POST", "records/modify", body, 2, 0);
	reqs[1] = ck_request_start(c, "POST", "records/modify", body, 2, 0);
	reqs[2] = ck_request_start(c, "POST", "records/query", body, 2,
							   CK_REQUEST_IDEMPOTENT | CK_REQUEST_FIRST);
	reqs[3] = ck_request_start(c, "POST", "records/lookup", body, 2,
							   CK_REQUEST_IDEMPOTENT);
	for (i = 0; i < 4; i++)
	{
		CHECK(ck_client_wait(c, reqs[i]));
		ck_request_finish(reqs[i], &resp);
		CHECK_MSG(resp.kind == CK_RESULT_OK, "request %d: %s", i, resp.reason);
		ck_response_clear(&resp);
	}
	CHECK_INT(a.n, 4);
	CHECK_STR(a.order[0], "modify");
	CHECK_STR(a.order[1], "query");
	CHECK_STR(a.order[2], "modify");
	CHECK_STR(a.order[3], "lookup");
	ck_client_free(c);

	/*
	 * A scan's page that is in but not yet taken keeps its slot: of four
	 * slots, the other requests get three, so the scan's next page finds
	 * one free.
	 */
	{
		Overlap		o = {4, 1000, 0, 0};
		CkRequest  *page;

		c = make_concurrent_client(4);
		if (c == NULL)
			return;
		srv_reset(h_arrivals, &a);
		page = ck_request_start(c, "POST", "records/query", body, 2,
								CK_REQUEST_IDEMPOTENT | CK_REQUEST_FIRST);
		CHECK(ck_client_wait(c, page));
		/* (they wait 1 s for a fourth, which must not come) */
		srv_reset(h_overlap, &o);
		for (i = 0; i < 4; i++)
			reqs[i] = ck_request_start(c, "POST", "records/modify", body, 2, 0);
		for (i = 0; i < 4; i++)
		{
			CHECK(ck_client_wait(c, reqs[i]));
			ck_request_finish(reqs[i], &resp);
			ck_response_clear(&resp);
		}
		CHECK_INT(o.max_inside, 3);
		ck_request_finish(page, &resp);
		CHECK(resp.kind == CK_RESULT_OK);
		ck_response_clear(&resp);
		ck_client_free(c);
	}
}

void
test_http(void)
{
	char		err[256];

	if (unit_run("openssl ecparam -name prime256v1 -genkey -noout -out '%s' 2>/dev/null && "
				 "openssl ec -in '%s' -pubout -out '%s' 2>/dev/null",
				 unit_path("http_ec.pem"), unit_path("http_ec.pem"),
				 unit_path("http_pub.pem")) != 0)
	{
		CHECK_MSG(false, "openssl could not make a test key");
		return;
	}
	sec1_pem = unit_read_file(unit_path("http_ec.pem"), NULL);
	{
		char	   *pub = unit_read_file(unit_path("http_pub.pem"), NULL);

		pubkey = pub ? ck_key_load_public_pem(pub, err, sizeof(err)) : NULL;
		free(pub);
	}
	if (!CHECK(sec1_pem && pubkey) || !CHECK(srv_start()))
		return;

	test_config_errors();
	test_signed_requests();
	test_lost_answer();
	test_retries();
	test_abort_and_timeout();
	test_bad_responses();
	test_api_token();
	test_transport_errors();
	test_local_addresses();
	test_lone_surrogate_body();
	test_concurrency();
	test_first_requests();

	srv_stop();
	ck_key_free(pubkey);
	free(sec1_pem);
}
