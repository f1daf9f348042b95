/*-------------------------------------------------------------------------
 *
 * ck_http.h
 *		The CloudKit Web Services transport: one keep-alive libcurl handle per
 *		client, request signing or API-token authentication, interruptible
 *		waits, a response size cap, and retries of throttled requests.
 *
 * The caller (the extension) provides a wait hook: the transport never
 * blocks anywhere else, so the caller can wait on its latch and notice query
 * cancels.  No PostgreSQL headers; everything is malloc'd.
 *
 * src/ck/ck_http.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CK_HTTP_H
#define CK_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

typedef enum CkAuthKind
{
	CK_AUTH_NONE = 0,
	CK_AUTH_SERVER_KEY,			/* key_id + EC private key: signed requests */
	CK_AUTH_API_TOKEN			/* ckAPIToken [+ ckWebAuthToken] query params */
} CkAuthKind;

typedef struct CkClientConfig
{
	const char *base_url;		/* "https://api.apple-cloudkit.com" */
	const char *container;		/* "iCloud.com.example.App" */
	const char *environment;	/* "development" | "production" */
	const char *database;		/* "public" | "private" | "shared" */
	CkAuthKind	auth;
	const char *key_id;			/* CK_AUTH_SERVER_KEY */
	const char *private_key_pem;	/* CK_AUTH_SERVER_KEY: PEM text */
	const char *api_token;		/* CK_AUTH_API_TOKEN */
	const char *web_auth_token; /* CK_AUTH_API_TOKEN, optional */
	long		connect_timeout_ms; /* 0 = 10000 */
	long		request_timeout_ms; /* whole request incl. body; 0 = 60000 */
	size_t		max_response_bytes; /* 0 = 64 MiB */
	int			max_retries;	/* retries of retryable errors; 0 = none */
	long		max_retry_wait_ms;	/* cap on one wait before a retry */
	int			max_in_flight;	/* requests in flight at once; 0 = 1 */
	const char *user_agent;		/* optional */
	const char *ca_file;		/* PEM CA bundle to verify https against;
								 * NULL: the system's.  Always verified. */

	/*
	 * Never connect to this machine (ck_addr.c): checked on every address
	 * libcurl resolved, at connect time.  A refused address is reported as
	 * CK_RESULT_REFUSED_ADDRESS, the same for every spelling and port, so
	 * that nothing tells open ports from closed ones.
	 */
	bool		refuse_local_addresses;
} CkClientConfig;

/* One socket the transport wants to wait on. */
typedef struct CkWaitSocket
{
	int			fd;
	bool		want_read;
	bool		want_write;
} CkWaitSocket;

/*
 * Wait until a socket is ready or timeout_ms passes (nsocks may be 0: a plain
 * sleep, used before retries).  Return false to abort the request: the
 * transport then cleans up and returns CK_RESULT_ABORTED.  The hook must not
 * longjmp.
 */
typedef bool (*CkWaitHook) (void *arg, const CkWaitSocket *socks, int nsocks,
							long timeout_ms);

typedef enum CkResultKind
{
	CK_RESULT_OK = 0,			/* HTTP 2xx with a JSON object body */
	CK_RESULT_SERVER_ERROR,		/* CloudKit error envelope (or bare non-2xx) */
	CK_RESULT_TRANSPORT,		/* connect, TLS, timeout, reset */
	CK_RESULT_BAD_RESPONSE,		/* 2xx whose body is not a JSON object */
	CK_RESULT_TOO_LARGE,		/* body exceeded max_response_bytes */
	CK_RESULT_ABORTED,			/* the wait hook asked to stop */
	CK_RESULT_CONFIG,			/* bad key, bad URL: message in error */
	CK_RESULT_REFUSED_ADDRESS	/* refuse_local_addresses: nothing was sent */
} CkResultKind;

typedef struct CkResponse
{
	CkResultKind kind;
	long		http_status;	/* 0 if no HTTP answer */
	struct json_object *json;	/* parsed body (owned) when it was JSON */
	char		server_error_code[64];	/* CK_RESULT_SERVER_ERROR */
	char		reason[1024];	/* server's reason, or transport message */
	char		uuid[64];		/* server's error uuid, if any */
	double		retry_after;	/* seconds; < 0 when absent */
	bool		bad_text;		/* CK_RESULT_BAD_RESPONSE: a string that is
								 * not Unicode text (a lone surrogate) */
	int			attempts;		/* requests made, retries included */
	size_t		bytes_sent;
	size_t		bytes_received;

	/*
	 * The last attempt went out whole, so the server may have acted on it
	 * even when no usable answer came back (false when it could not connect
	 * or was answered with an error before the abort of a retry).
	 */
	bool		request_sent;
	CkAuthKind	auth;			/* how the request was authenticated */

	/*
	 * Authentication was refused for a web-auth token CloudKit itself sent
	 * (rotated), or one an unanswered request carried: the sign-in expired,
	 * or a request whose answer was lost used the token up and the next
	 * one, which came in that answer, is lost with it.
	 */
	bool		web_auth_token_spent;

	/*
	 * The answer's body as it came (decoded, NUL-terminated, owned), when
	 * the request asked for it with CK_REQUEST_RAW_BODY; json is then NULL
	 * for a 2xx answer (the caller parses it).
	 */
	char	   *body;
	size_t		body_len;
} CkResponse;

typedef struct CkClient CkClient;

/*
 * Create a client.  Loads and checks the key (EC P-256) for
 * CK_AUTH_SERVER_KEY.  On failure returns NULL with a user-facing message in
 * err (never containing secrets).
 */
extern CkClient *ck_client_new(const CkClientConfig *config, char *err, size_t errlen);
extern void ck_client_free(CkClient *client);
extern void ck_client_set_wait_hook(CkClient *client, CkWaitHook hook, void *arg);

/*
 * A web-auth token lives beyond one client: CloudKit replaces it in every
 * answer, and other sessions of the same user must go on from the newest.
 * begin() runs before a request carrying the token is sent: it may replace
 * *token (malloc'd; free the old one) by a newer one, and returns false to
 * abort the request (a cancel while waiting for another session).  end()
 * runs once that request is over, with the token now current (rotated or
 * not) and whether the request went out without an answer (the token may
 * be spent).  Every begin() is followed by exactly one end().
 */
typedef struct CkTokenHooks
{
	bool		(*begin) (void *arg, char **token);
	void		(*end) (void *arg, const char *token, bool in_doubt);
	void	   *arg;
} CkTokenHooks;

extern void ck_client_set_token_hooks(CkClient *client, const CkTokenHooks *hooks);

/*
 * Send one request for an operation such as "records/query" (method "POST"
 * with a JSON body) or "zones/list" (method "GET", body NULL).  Retries
 * THROTTLED / TRY_AGAIN_LATER / INTERNAL_ERROR / 5xx up to max_retries,
 * waiting retryAfter seconds (capped) through the wait hook.  Transport
 * errors are retried only when idempotent is true (a modify that lost its
 * connection may have been applied).
 *
 * Always fills resp; call ck_response_clear() before reusing or dropping it.
 */
extern void ck_client_request(CkClient *client, const char *method,
							  const char *operation, const char *body,
							  size_t body_len, bool idempotent,
							  CkResponse *resp);

extern void ck_response_clear(CkResponse *resp);

/* ----------------------------------------------------------------
 *		Asynchronous requests: several in flight per client
 *
 * ck_request_start() queues a request and returns at once; the client starts
 * it when its concurrency allows (CkClientConfig.max_in_flight, lowered while
 * CloudKit throttles; 1 for a web-auth token, which every answer replaces).
 * ck_client_wait() drives every request of the client and returns when the
 * one asked for is done; ck_request_finish() then hands over its response and
 * frees it.  Retries and their waits happen inside, as for
 * ck_client_request(), which is start + wait + finish.
 * ----------------------------------------------------------------
 */
typedef struct CkRequest CkRequest;

#define CK_REQUEST_IDEMPOTENT	0x01	/* may be resent after a transport error */
#define CK_REQUEST_RAW_BODY		0x02	/* keep a 2xx body as text, unparsed */
#define CK_REQUEST_FIRST		0x04	/* start before queued requests without it */

/* A CloudKit operation, as ck_client_request().  The body is copied. */
extern CkRequest *ck_request_start(CkClient *client, const char *method,
								   const char *operation, const char *body,
								   size_t body_len, int flags);

/*
 * Any URL the client may reach (an asset's upload or download URL): no
 * authentication is added, the body is sent as content_type (NULL: none),
 * and the answer's body is kept raw (CK_REQUEST_RAW_BODY is implied).
 */
extern CkRequest *ck_request_start_url(CkClient *client, const char *method,
									   const char *url, const char *content_type,
									   const char *body, size_t body_len, int flags);

extern bool ck_request_done(const CkRequest *req);
/* Done, and CloudKit answered with success? */
extern bool ck_request_succeeded(const CkRequest *req);

/*
 * Drive the client's requests until req is done (req NULL: until some
 * request finishes during the call, or at once when none is queued or
 * running).  Returns false when the wait
 * hook asked to stop: every unfinished request then ends CK_RESULT_ABORTED.
 */
extern bool ck_client_wait(CkClient *client, CkRequest *req);

/*
 * For callers that wait on many things at once (PostgreSQL's async Append):
 * a descriptor that becomes readable when the client has work to do (a
 * socket is ready or a timer is due), or -1 when nothing is in flight; and
 * a step that does that work without blocking.
 */
extern int	ck_client_wait_fd(CkClient *client);
extern void ck_client_poll(CkClient *client);

/* How many requests may run at once now (max_in_flight while unthrottled). */
extern int	ck_client_limit(const CkClient *client);

/* Move the response out (see ck_client_request) and free the request. */
extern void ck_request_finish(CkRequest *req, CkResponse *resp);

/* Stop and free a request whose answer nobody wants any more. */
extern void ck_request_cancel(CkRequest *req);

/* "/database/1/<container>/<env>/<db>/<operation>" into a malloc'd string. */
extern char *ck_client_path(const CkClient *client, const char *operation);

/* The web-auth token now in use (rotated by the server), or NULL. */
extern const char *ck_client_web_auth_token(const CkClient *client);

/* Drop the keep-alive connection (e.g. after an aborted request). */
extern void ck_client_reset_connection(CkClient *client);

#endif							/* CK_HTTP_H */
