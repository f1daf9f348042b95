/*-------------------------------------------------------------------------
 *
 * ck_http.c
 *		  The CloudKit Web Services transport.
 *
 * A client owns one libcurl multi handle, and so one pool of keep-alive
 * connections (HTTP/2 streams on one connection where the server speaks
 * it), and any number of requests, each with its own easy handle; as many
 * run at once as the client's limit allows.  The multi handle runs in event
 * mode: libcurl tells us which sockets it wants (CURLMOPT_SOCKETFUNCTION)
 * and when it next needs a timeout (CURLMOPT_TIMERFUNCTION), and the
 * caller's wait hook does all of the waiting.  That is the only place the
 * transport blocks, so a backend can wait on its latch and notice a query
 * cancel within one hook call.  Event mode rather than curl_multi_fdset()
 * also means sockets above FD_SETSIZE work.
 *
 * Secrets: the API and web-auth tokens travel in the URL, so the URL is
 * never copied into a message; transport messages are scrubbed of both
 * tokens anyway.  Signatures and keys never leave this file.
 *
 * src/ck/ck_http.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json.h>

#include "ck/ck_addr.h"
#include "ck/ck_error.h"
#include "ck/ck_http.h"
#include "ck/ck_page.h"
#include "ck/ck_sign.h"
#include "ck/ck_util.h"

#define CK_DEFAULT_CONNECT_TIMEOUT_MS	10000
#define CK_DEFAULT_REQUEST_TIMEOUT_MS	60000
#define CK_DEFAULT_MAX_RESPONSE_BYTES	((size_t) 64 * 1024 * 1024)
#define CK_DEFAULT_MAX_RETRY_WAIT_MS	30000	/* when max_retry_wait_ms is 0 */
#define CK_FIRST_BACKOFF_MS				500
#define CK_MAX_IN_FLIGHT				64	/* cap on max_in_flight */
#define CK_HTTP2_MAX_BODY				16384	/* larger bodies: HTTP/1.1 (below) */

/* Longest single wait when libcurl has no socket or timer for us (DNS). */
#define CK_IDLE_WAIT_MS					100

#define CK_MAX_SOCKS					(CK_MAX_IN_FLIGHT + 8)

typedef enum CkRequestState
{
	CK_REQUEST_QUEUED,			/* waiting for a slot, or to retry */
	CK_REQUEST_RUNNING,			/* its easy handle is in the multi handle */
	CK_REQUEST_DONE
} CkRequestState;

struct CkRequest
{
	CkClient   *client;
	CkRequest  *next;			/* the client's requests, oldest first */
	CkRequestState state;
	int64_t		not_before;		/* a retry waits until then (monotonic ms) */
	int			retries;

	/* what to send, copied */
	bool		is_post;
	bool		is_url;			/* target is a whole URL, not an operation */
	int			flags;
	char	   *target;			/* "/database/1/..." path, or the URL */
	char	   *content_type;
	char	   *body;
	size_t		body_len;

	/* the attempt in progress */
	CURL	   *easy;
	struct curl_slist *headers;
	char	   *url;			/* may hold tokens */
	bool		sent_web_token;
	int			sends;			/* times libcurl was about to send it */
	bool		resend_refused;
	CkBuf		rbody;
	bool		too_large;
	char	   *new_token;		/* X-Apple-CloudKit-Web-Auth-Token */
	double		header_retry_after; /* Retry-After header, or -1 */
	bool		refused_local;	/* an address was refused as local */
	char		errbuf[CURL_ERROR_SIZE];

	CkResponse	resp;
};

struct CkClient
{
	/* configuration, copied */
	char	   *base_url;		/* without a trailing '/' */
	char	   *container;
	char	   *environment;
	char	   *database;
	CkAuthKind	auth;
	char	   *key_id;
	CkKey	   *key;
	char	   *api_token;
	char	   *web_auth_token; /* rotated by the server */
	bool		web_auth_token_rotated; /* the server sent the one in use */
	bool		web_auth_token_in_doubt;	/* sent, but no answer came back */
	long		connect_timeout_ms;
	long		request_timeout_ms;
	size_t		max_response_bytes;
	int			max_retries;
	long		max_retry_wait_ms;
	int			max_in_flight;
	bool		refuse_local;	/* refuse_local_addresses */
	char	   *user_agent;
	char	   *ca_file;		/* CkClientConfig.ca_file, or NULL */

	CkWaitHook	hook;
	void	   *hook_arg;
	CkTokenHooks token_hooks;

	CURLM	   *multi;

	/* sockets libcurl wants watched, and its timer */
	CkWaitSocket socks[CK_MAX_SOCKS];
	int			nsocks;
	int64_t		timer_deadline; /* monotonic ms, or -1 */

	/* ck_client_wait_fd(): an epoll set of those sockets plus a timer */
	int			epoll_fd;
	int			timer_fd;

	/* requests, and how many may run at once */
	CkRequest  *requests;
	int			running;
	int			limit;			/* max_in_flight, halved while throttled */
	int			successes;		/* answers since the limit last changed */
	int64_t		hold_until;		/* throttled: start nothing before this */
};

static int64_t
ck_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *
ck_strdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* free() after wiping, for strings holding secrets */
static void
ck_free_secret(char *s)
{
	if (s)
	{
		volatile char *p = s;

		while (*p)
			*p++ = '\0';
		free(s);
	}
}

/*
 * Path segments we put into URLs: no '?', '%', spaces or the like, and no
 * segment starting with '.' (libcurl would resolve "..").  With allow_slash
 * (operations such as "users/lookup/email") several segments are allowed.
 */
static bool
ck_valid_segment(const char *s, bool allow_slash)
{
	const char *start = s;

	if (s == NULL || *s == '\0')
		return false;
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == '.' && (s == start || s[-1] == '/'))
			return false;

		if (isalnum(c) || c == '.' || c == '-' || c == '_')
			continue;
		if (allow_slash && c == '/' && s[1] != '/' && s[1] != '\0')
			continue;
		return false;
	}
	return true;
}

/*
 * Plain http is for loopback only (the emulator); anything else must be
 * https, whose certificates libcurl always verifies.
 */
static bool
ck_check_base_url(const char *url, char *err, size_t errlen)
{
	const char *host;
	size_t		hostlen;

	if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else
	{
		snprintf(err, errlen, "base_url must start with \"https://\" (or \"http://\" for a loopback address)");
		return false;
	}
	if (strchr(url, '?') || strchr(url, '#') || strchr(url, '@') ||
		strpbrk(url, " \t\r\n"))
	{
		snprintf(err, errlen, "base_url must be scheme://host[:port][/path], without query, fragment or credentials");
		return false;
	}
	if (url[4] == 's')
		return true;

	if (host[0] == '[')
		hostlen = strcspn(host, "]") + 1;
	else
		hostlen = strcspn(host, ":/");
	if ((hostlen == 9 && strncmp(host, "localhost", 9) == 0) ||
		(hostlen == 5 && strncmp(host, "[::1]", 5) == 0) ||
		(hostlen >= 7 && strncmp(host, "127.", 4) == 0 &&
		 strspn(host, "0123456789.") >= hostlen))
		return true;
	snprintf(err, errlen, "base_url may use plain \"http://\" only for a loopback address (127.0.0.1, ::1, localhost); use \"https://\"");
	return false;
}

/* ----------------------------------------------------------------
 *		libcurl callbacks
 * ----------------------------------------------------------------
 */

static size_t
ck_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	CkRequest  *req = (CkRequest *) userdata;
	size_t		n = size * nmemb;

	if (req->rbody.len + n > req->client->max_response_bytes)
	{
		req->too_large = true;
		return 0;				/* CURLE_WRITE_ERROR */
	}
	if (!ck_buf_append(&req->rbody, ptr, n))
		return 0;
	return n;
}

static size_t
ck_header_cb(char *ptr, size_t size, size_t nitems, void *userdata)
{
	CkRequest  *req = (CkRequest *) userdata;
	size_t		n = size * nitems;
	static const char token_hdr[] = "X-Apple-CloudKit-Web-Auth-Token:";
	static const char retry_hdr[] = "Retry-After:";
	const char *v;
	const char *end;

	if (n > sizeof(token_hdr) - 1 && !req->is_url &&
		strncasecmp(ptr, token_hdr, sizeof(token_hdr) - 1) == 0)
	{
		v = ptr + sizeof(token_hdr) - 1;
		end = ptr + n;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && isspace((unsigned char) end[-1]))
			end--;
		if (end > v)
		{
			char	   *tok = malloc(end - v + 1);

			if (tok)
			{
				memcpy(tok, v, end - v);
				tok[end - v] = '\0';
				ck_free_secret(req->new_token);
				req->new_token = tok;
			}
		}
	}
	else if (n > sizeof(retry_hdr) - 1 &&
			 strncasecmp(ptr, retry_hdr, sizeof(retry_hdr) - 1) == 0)
	{
		char		tmp[32];
		size_t		len = n - (sizeof(retry_hdr) - 1);
		char	   *e;
		long		secs;

		/* only the delta-seconds form; an HTTP date is ignored */
		if (len < sizeof(tmp))
		{
			memcpy(tmp, ptr + sizeof(retry_hdr) - 1, len);
			tmp[len] = '\0';
			errno = 0;
			secs = strtol(tmp, &e, 10);
			while (*e && isspace((unsigned char) *e))
				e++;
			if (errno == 0 && *e == '\0' && e != tmp && secs >= 0)
				req->header_retry_after = (double) secs;
		}
	}
	return n;
}

/*
 * libcurl opens every socket here, with the address it resolved and is
 * about to connect to: the one place a local address can be refused
 * whatever the URL said.  libcurl then tries the host's next address, if
 * any, and fails the transfer when none is left.
 */
static curl_socket_t
ck_open_socket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	CkRequest  *req = (CkRequest *) clientp;

	if (req->client->refuse_local &&
		ck_addr_is_local(&address->addr, (socklen_t) address->addrlen))
	{
		req->refused_local = true;
		return CURL_SOCKET_BAD;
	}
	return socket(address->family, address->socktype, address->protocol);
}

/*
 * libcurl calls this each time it is about to send the request, on a new
 * connection or a reused one: every transmission passes here (multi.c's
 * DO state), including libcurl's own silent resend of a request whose
 * reused connection closed before any answer came, and an HTTP/2 stream
 * retried after GOAWAY.  The server may have applied such a request before
 * the connection went, so a request that must not run twice is refused a
 * second transmission here: it ends as a transport error whose outcome is
 * unknown (request_sent), which the caller reports as such.  That is what
 * lets writes share keep-alive connections and HTTP/2 streams with every
 * other request and still never reach the server twice.
 */
static int
ck_prereq_cb(void *clientp, char *primary_ip, char *local_ip,
			 int primary_port, int local_port)
{
	CkRequest  *req = (CkRequest *) clientp;

	req->sends++;
	if (req->sends > 1 && !(req->flags & CK_REQUEST_IDEMPOTENT))
	{
		req->resend_refused = true;
		return CURL_PREREQFUNC_ABORT;
	}
	return CURL_PREREQFUNC_OK;
}

static void
ck_epoll_update(CkClient *client, int fd, bool want_read, bool want_write, bool remove)
{
	struct epoll_event ev;

	if (client->epoll_fd < 0)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.data.fd = fd;
	ev.events = (want_read ? EPOLLIN : 0) | (want_write ? EPOLLOUT : 0);
	if (remove)
		(void) epoll_ctl(client->epoll_fd, EPOLL_CTL_DEL, fd, &ev);
	else if (epoll_ctl(client->epoll_fd, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT)
		(void) epoll_ctl(client->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

static int
ck_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	CkClient   *client = (CkClient *) userp;
	int			i;

	for (i = 0; i < client->nsocks; i++)
		if (client->socks[i].fd == (int) s)
			break;

	if (what == CURL_POLL_REMOVE)
	{
		if (i < client->nsocks)
		{
			ck_epoll_update(client, (int) s, false, false, true);
			client->socks[i] = client->socks[client->nsocks - 1];
			client->nsocks--;
		}
		return 0;
	}
	if (i == client->nsocks)
	{
		if (client->nsocks == CK_MAX_SOCKS)
			return -1;			/* libcurl fails the transfer */
		client->nsocks++;
	}
	client->socks[i].fd = (int) s;
	client->socks[i].want_read = (what == CURL_POLL_IN || what == CURL_POLL_INOUT);
	client->socks[i].want_write = (what == CURL_POLL_OUT || what == CURL_POLL_INOUT);
	ck_epoll_update(client, (int) s, client->socks[i].want_read,
					client->socks[i].want_write, false);
	return 0;
}

static int
ck_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	CkClient   *client = (CkClient *) userp;

	if (timeout_ms < 0)
		client->timer_deadline = -1;
	else
		client->timer_deadline = ck_monotonic_ms() + timeout_ms;
	return 0;
}

/* ----------------------------------------------------------------
 *		Client lifecycle
 * ----------------------------------------------------------------
 */

static bool
ck_client_make_multi(CkClient *client)
{
	client->multi = curl_multi_init();
	if (client->multi == NULL)
		return false;
	curl_multi_setopt(client->multi, CURLMOPT_SOCKETFUNCTION, ck_socket_cb);
	curl_multi_setopt(client->multi, CURLMOPT_SOCKETDATA, client);
	curl_multi_setopt(client->multi, CURLMOPT_TIMERFUNCTION, ck_timer_cb);
	curl_multi_setopt(client->multi, CURLMOPT_TIMERDATA, client);
	/* HTTP/2 streams share one connection where the server allows it */
	curl_multi_setopt(client->multi, CURLMOPT_PIPELINING, (long) CURLPIPE_MULTIPLEX);
	/*
	 * Keep a connection for every request that may be in flight, twice over
	 * (an HTTP/2 connection's large bodies go on HTTP/1.1 ones, below).
	 * libcurl's default keeps four per easy handle added, and ours come and
	 * go with their requests: with one left running, connections beyond
	 * four were closed as they came back, and the next burst paid a new
	 * connection (TCP and TLS: two round trips) for each.
	 */
	curl_multi_setopt(client->multi, CURLMOPT_MAXCONNECTS, (long) (2 * client->max_in_flight));
	client->nsocks = 0;
	client->timer_deadline = -1;
	return true;
}

CkClient *
ck_client_new(const CkClientConfig *config, char *err, size_t errlen)
{
	static bool curl_initialized = false;
	CkClient   *client;
	size_t		len;
	char		ua[128];

	if (!curl_initialized)
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		{
			snprintf(err, errlen, "could not initialize libcurl");
			return NULL;
		}
		curl_initialized = true;
	}

	if (config->base_url == NULL || config->base_url[0] == '\0')
	{
		snprintf(err, errlen, "base_url is required");
		return NULL;
	}
	if (!ck_check_base_url(config->base_url, err, errlen))
		return NULL;
	if (!ck_valid_segment(config->container, false))
	{
		snprintf(err, errlen, "container must be a container identifier such as \"iCloud.com.example.App\"");
		return NULL;
	}
	if (!ck_valid_segment(config->environment, false))
	{
		snprintf(err, errlen, "environment must be \"development\" or \"production\"");
		return NULL;
	}
	if (!ck_valid_segment(config->database, false))
	{
		snprintf(err, errlen, "database must be \"public\", \"private\" or \"shared\"");
		return NULL;
	}

	client = calloc(1, sizeof(CkClient));
	if (client == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	client->epoll_fd = -1;
	client->timer_fd = -1;

	switch (config->auth)
	{
		case CK_AUTH_SERVER_KEY:
			if (config->key_id == NULL || config->key_id[0] == '\0')
			{
				snprintf(err, errlen, "a server-to-server key needs key_id");
				goto fail;
			}
			if (config->private_key_pem == NULL)
			{
				snprintf(err, errlen, "a server-to-server key needs the private key");
				goto fail;
			}
			for (len = 0; config->key_id[len]; len++)
			{
				/* it goes into a header line verbatim */
				if ((unsigned char) config->key_id[len] < 0x21 ||
					(unsigned char) config->key_id[len] > 0x7E || len >= 200)
				{
					snprintf(err, errlen, "key_id must be at most 200 printable ASCII characters without spaces");
					goto fail;
				}
			}
			client->key = ck_key_load_private_pem(config->private_key_pem, err, errlen);
			if (client->key == NULL)
				goto fail;
			break;
		case CK_AUTH_API_TOKEN:
			if (config->api_token == NULL || config->api_token[0] == '\0')
			{
				snprintf(err, errlen, "API-token authentication needs api_token");
				goto fail;
			}
			break;
		case CK_AUTH_NONE:
			break;
		default:
			snprintf(err, errlen, "unknown authentication kind");
			goto fail;
	}

	if (config->user_agent && config->user_agent[0])
		snprintf(ua, sizeof(ua), "%s", config->user_agent);
	else
		snprintf(ua, sizeof(ua), "ckfdw/1.0 libcurl/%s",
				 curl_version_info(CURLVERSION_NOW)->version);

	client->base_url = strdup(config->base_url);
	client->container = strdup(config->container);
	client->environment = strdup(config->environment);
	client->database = strdup(config->database);
	client->auth = config->auth;
	client->key_id = ck_strdup_or_null(config->key_id);
	client->api_token = ck_strdup_or_null(config->api_token);
	client->web_auth_token = (config->web_auth_token && config->web_auth_token[0]) ?
		strdup(config->web_auth_token) : NULL;
	client->user_agent = strdup(ua);
	client->ca_file = ck_strdup_or_null(config->ca_file);
	if (!client->base_url || !client->container || !client->environment ||
		!client->database || !client->user_agent ||
		(config->ca_file && !client->ca_file) ||
		(config->key_id && !client->key_id) ||
		(config->api_token && !client->api_token))
	{
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	len = strlen(client->base_url);
	while (len > 0 && client->base_url[len - 1] == '/')
		client->base_url[--len] = '\0';

	client->connect_timeout_ms = config->connect_timeout_ms > 0 ?
		config->connect_timeout_ms : CK_DEFAULT_CONNECT_TIMEOUT_MS;
	client->request_timeout_ms = config->request_timeout_ms > 0 ?
		config->request_timeout_ms : CK_DEFAULT_REQUEST_TIMEOUT_MS;
	client->max_response_bytes = config->max_response_bytes > 0 ?
		config->max_response_bytes : CK_DEFAULT_MAX_RESPONSE_BYTES;
	client->max_retries = config->max_retries > 0 ? config->max_retries : 0;
	client->max_retry_wait_ms = config->max_retry_wait_ms > 0 ?
		config->max_retry_wait_ms : CK_DEFAULT_MAX_RETRY_WAIT_MS;
	client->max_in_flight = config->max_in_flight > 0 ?
		(config->max_in_flight < CK_MAX_IN_FLIGHT ? config->max_in_flight : CK_MAX_IN_FLIGHT) : 1;
	client->limit = client->max_in_flight;
	client->refuse_local = config->refuse_local_addresses;

	if (!ck_client_make_multi(client))
	{
		snprintf(err, errlen, "could not create a libcurl handle");
		goto fail;
	}
	return client;

fail:
	ck_client_free(client);
	return NULL;
}

void
ck_client_free(CkClient *client)
{
	if (client == NULL)
		return;
	while (client->requests)
		ck_request_cancel(client->requests);
	if (client->multi)
		curl_multi_cleanup(client->multi);
	if (client->epoll_fd >= 0)
		close(client->epoll_fd);
	if (client->timer_fd >= 0)
		close(client->timer_fd);
	ck_key_free(client->key);
	free(client->base_url);
	free(client->container);
	free(client->environment);
	free(client->database);
	free(client->key_id);
	free(client->user_agent);
	free(client->ca_file);
	ck_free_secret(client->api_token);
	ck_free_secret(client->web_auth_token);
	free(client);
}

void
ck_client_set_wait_hook(CkClient *client, CkWaitHook hook, void *arg)
{
	client->hook = hook;
	client->hook_arg = arg;
}

void
ck_client_set_token_hooks(CkClient *client, const CkTokenHooks *hooks)
{
	if (hooks)
		client->token_hooks = *hooks;
	else
		memset(&client->token_hooks, 0, sizeof(client->token_hooks));
}

char *
ck_client_path(const CkClient *client, const char *operation)
{
	CkBuf		b;

	ck_buf_init(&b);
	if (!ck_buf_appendf(&b, "/database/1/%s/%s/%s/%s", client->container,
						client->environment, client->database, operation))
	{
		ck_buf_free(&b);
		return NULL;
	}
	return b.data;
}

const char *
ck_client_web_auth_token(const CkClient *client)
{
	return client->web_auth_token;
}

/*
 * Drop the keep-alive connections.  The connection pool belongs to the
 * multi handle, so replacing the multi handle closes every connection; the
 * requests still running are stopped first (they end CK_RESULT_ABORTED).
 */
static void ck_client_abort_running(CkClient *client, const char *why);

void
ck_client_reset_connection(CkClient *client)
{
	ck_client_abort_running(client, "request stopped: its connection was closed");
	if (client->multi)
		curl_multi_cleanup(client->multi);
	client->multi = NULL;
	if (client->epoll_fd >= 0)
	{
		/* libcurl's sockets are gone; a new epoll set starts empty */
		close(client->epoll_fd);
		client->epoll_fd = -1;
		if (client->timer_fd >= 0)
			close(client->timer_fd);
		client->timer_fd = -1;
	}
	/* on OOM we retry creating it at the next request */
	ck_client_make_multi(client);
}

void
ck_response_clear(CkResponse *resp)
{
	if (resp->json)
		json_object_put(resp->json);
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
	resp->retry_after = -1;
}

/* ----------------------------------------------------------------
 *		Answers: secrets scrubbed, bodies parsed, errors read
 * ----------------------------------------------------------------
 */

/* Replace every occurrence of secret in s (in place) by "***". */
static void
ck_scrub(char *s, const char *secret)
{
	size_t		slen;
	char	   *p;

	if (secret == NULL || (slen = strlen(secret)) < 4)
		return;
	while ((p = strstr(s, secret)) != NULL)
	{
		size_t		tail = strlen(p + slen);

		memcpy(p, "***", 3);
		memmove(p + 3, p + slen, tail + 1);
	}
}

static void
ck_scrub_secrets(CkRequest *req, char *s, size_t size)
{
	CkClient   *client = req->client;
	const char *secrets[3] = {client->api_token, client->web_auth_token,
	req->new_token};
	int			i;

	for (i = 0; i < 3; i++)
	{
		char	   *esc;

		if (secrets[i] == NULL)
			continue;
		ck_scrub(s, secrets[i]);
		esc = curl_easy_escape(NULL, secrets[i], 0);
		if (esc)
		{
			ck_scrub(s, esc);
			curl_free(esc);
		}
	}
	/* and in case some message carries the URL itself */
	if ((size > 0) && strstr(s, "ckAPIToken=") != NULL)
		snprintf(s, size, "request failed (message withheld: it contained the request URL)");
}

static void
ck_copy_member(struct json_object *obj, const char *key, char *dst, size_t size)
{
	struct json_object *v;

	if (json_object_object_get_ex(obj, key, &v) &&
		json_object_is_type(v, json_type_string))
		snprintf(dst, size, "%s", json_object_get_string(v));
}

/* Fill resp from a non-2xx answer. */
static void
ck_fill_server_error(CkRequest *req, CkResponse *resp, struct json_object *json)
{
	const CkErrorInfo *info = ck_error_for_status((int) resp->http_status);
	struct json_object *v;

	resp->kind = CK_RESULT_SERVER_ERROR;
	resp->json = json;
	if (json && json_object_is_type(json, json_type_object))
	{
		ck_copy_member(json, "serverErrorCode", resp->server_error_code,
					   sizeof(resp->server_error_code));
		ck_copy_member(json, "reason", resp->reason, sizeof(resp->reason));
		ck_copy_member(json, "uuid", resp->uuid, sizeof(resp->uuid));
		if (json_object_object_get_ex(json, "retryAfter", &v))
		{
			double		ra = -1;

			if (json_object_is_type(v, json_type_int) ||
				json_object_is_type(v, json_type_double))
				ra = json_object_get_double(v);
			else if (json_object_is_type(v, json_type_string))
			{
				char	   *end;

				ra = strtod(json_object_get_string(v), &end);
				if (*end != '\0')
					ra = -1;
			}
			if (ra >= 0 && ra < 1e9)
				resp->retry_after = ra;
		}
	}
	if (resp->server_error_code[0] == '\0')
		snprintf(resp->server_error_code, sizeof(resp->server_error_code), "%s",
				 info ? info->code : "UNKNOWN_ERROR");
	if (resp->reason[0] == '\0')
		snprintf(resp->reason, sizeof(resp->reason), "HTTP status %ld%s",
				 resp->http_status,
				 json ? "" : " (the body is not a CloudKit error)");
	if (resp->retry_after < 0 && req->header_retry_after >= 0)
		resp->retry_after = req->header_retry_after;
}

/* curl_slist_append returns NULL on OOM and leaves the list as it was */
static void
ck_header_add(struct curl_slist **list, const char *line, bool *oom)
{
	struct curl_slist *l = curl_slist_append(*list, line);

	if (l == NULL)
		*oom = true;
	else
		*list = l;
}

/* Build the URL; the result may hold tokens: free with ck_free_secret. */
static char *
ck_build_url(CkClient *client, const char *path)
{
	CkBuf		b;
	char	   *esc;

	ck_buf_init(&b);
	if (!ck_buf_appendf(&b, "%s%s", client->base_url, path))
		goto oom;
	if (client->auth == CK_AUTH_API_TOKEN)
	{
		esc = curl_easy_escape(NULL, client->api_token, 0);
		if (esc == NULL || !ck_buf_appendf(&b, "?ckAPIToken=%s", esc))
		{
			curl_free(esc);
			goto oom;
		}
		curl_free(esc);
		if (client->web_auth_token)
		{
			esc = curl_easy_escape(NULL, client->web_auth_token, 0);
			if (esc == NULL || !ck_buf_appendf(&b, "&ckWebAuthToken=%s", esc))
			{
				curl_free(esc);
				goto oom;
			}
			curl_free(esc);
		}
	}
	return b.data;

oom:
	ck_free_secret(b.data);
	return NULL;
}


/* ----------------------------------------------------------------
 *		Requests
 *
 * A request is QUEUED until the client has a slot for it (and, after a
 * retryable error, until its retry is due), RUNNING while its easy handle
 * is in the multi handle, and DONE once its response is final.
 * ----------------------------------------------------------------
 */

/* The end() of a token hook's begin() (see CkTokenHooks). */
static void
ck_token_end(CkClient *client, bool began, bool in_doubt)
{
	if (began && client->token_hooks.end)
		client->token_hooks.end(client->token_hooks.arg, client->web_auth_token,
								in_doubt);
}

static void
ck_request_fail(CkRequest *req, CkResultKind kind, const char *reason)
{
	req->resp.kind = kind;
	snprintf(req->resp.reason, sizeof(req->resp.reason), "%s", reason);
	req->state = CK_REQUEST_DONE;
}

/* Free what one attempt holds. */
static void
ck_attempt_cleanup(CkRequest *req)
{
	if (req->easy)
		curl_easy_cleanup(req->easy);
	req->easy = NULL;
	curl_slist_free_all(req->headers);
	req->headers = NULL;
	ck_free_secret(req->url);
	req->url = NULL;
	ck_free_secret(req->new_token);
	req->new_token = NULL;
}

/* Start each attempt from a clean response, keeping the counters. */
static void
ck_response_reset(CkResponse *resp)
{
	CkResponse	keep = *resp;

	if (resp->json)
		json_object_put(resp->json);
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
	resp->retry_after = -1;
	resp->attempts = keep.attempts;
	resp->bytes_sent = keep.bytes_sent;
	resp->bytes_received = keep.bytes_received;
}

static CkRequest *
ck_request_new(CkClient *client, const char *method, const char *target,
			   bool is_url, const char *content_type, const char *body,
			   size_t body_len, int flags)
{
	CkRequest  *req = calloc(1, sizeof(CkRequest));
	CkRequest **tail;
	char		err[256];

	if (req == NULL)
		return NULL;
	req->client = client;
	req->flags = flags;
	req->is_url = is_url;
	req->resp.retry_after = -1;
	req->header_retry_after = -1;
	req->state = CK_REQUEST_QUEUED;
	ck_buf_init(&req->rbody);
	for (tail = &client->requests; *tail; tail = &(*tail)->next)
		;
	*tail = req;

	if (method != NULL && strcmp(method, "POST") == 0)
		req->is_post = true;
	else if (method == NULL || strcmp(method, "GET") != 0)
	{
		ck_request_fail(req, CK_RESULT_CONFIG, "unsupported HTTP method");
		return req;
	}
	if (is_url ? !ck_check_base_url(target, err, sizeof(err)) :
		!ck_valid_segment(target, true))
	{
		ck_request_fail(req, CK_RESULT_CONFIG,
						is_url ? "the URL must be an \"https://\" URL" :
						"invalid CloudKit operation name");
		return req;
	}
	req->target = is_url ? strdup(target) : ck_client_path(client, target);
	req->content_type = content_type ? strdup(content_type) : NULL;
	if (body != NULL && body_len > 0)
	{
		req->body = malloc(body_len + 1);
		if (req->body)
		{
			memcpy(req->body, body, body_len);
			req->body[body_len] = '\0';
			req->body_len = body_len;
		}
	}
	if (req->target == NULL || (content_type && req->content_type == NULL) ||
		(body != NULL && body_len > 0 && req->body == NULL))
		ck_request_fail(req, CK_RESULT_CONFIG, "out of memory");
	return req;
}

/* Build the attempt's headers; false (and resp filled) on failure. */
static bool
ck_attempt_headers(CkRequest *req)
{
	CkClient   *client = req->client;
	bool		oom = false;
	char		line[512];

	/* no "Expect: 100-continue" round trip for larger bodies */
	ck_header_add(&req->headers, "Expect:", &oom);
	if (req->is_url)
	{
		if (req->content_type)
		{
			snprintf(line, sizeof(line), "Content-Type: %s", req->content_type);
			ck_header_add(&req->headers, line, &oom);
		}
	}
	else if (req->is_post)
		ck_header_add(&req->headers, "Content-Type: application/json", &oom);
	if (!req->is_url && client->auth == CK_AUTH_SERVER_KEY)
	{
		char		date[21];
		char		serr[256];
		char	   *sig;

		ck_iso8601_utc(ck_now_ms() / 1000, date);
		/* a GET has no body: the hash of zero bytes is signed */
		sig = ck_sign_request(client->key, date, req->is_post && req->body ? req->body : "",
							  req->is_post ? req->body_len : 0, req->target,
							  serr, sizeof(serr));
		if (sig == NULL)
		{
			ck_request_fail(req, CK_RESULT_CONFIG, serr);
			return false;
		}
		snprintf(line, sizeof(line), "X-Apple-CloudKit-Request-KeyID: %s", client->key_id);
		ck_header_add(&req->headers, line, &oom);
		snprintf(line, sizeof(line), "X-Apple-CloudKit-Request-ISO8601Date: %s", date);
		ck_header_add(&req->headers, line, &oom);
		snprintf(line, sizeof(line), "X-Apple-CloudKit-Request-SignatureV1: %s", sig);
		ck_header_add(&req->headers, line, &oom);
		free(sig);
	}
	if (oom)
	{
		ck_request_fail(req, CK_RESULT_TRANSPORT, "out of memory building the request");
		return false;
	}
	return true;
}

/* Start an attempt: the request runs, or ends DONE with why it could not. */
static void
ck_attempt_begin(CkRequest *req)
{
	CkClient   *client = req->client;
	CURL	   *easy;

	ck_response_reset(&req->resp);
	req->resp.auth = client->auth;
	req->too_large = false;
	req->refused_local = false;
	req->header_retry_after = -1;
	req->sends = 0;
	req->resend_refused = false;
	req->errbuf[0] = '\0';
	ck_buf_reset(&req->rbody);

	if (client->multi == NULL && !ck_client_make_multi(client))
	{
		ck_request_fail(req, CK_RESULT_TRANSPORT, "out of memory creating a libcurl handle");
		return;
	}

	req->sent_web_token = (!req->is_url && client->auth == CK_AUTH_API_TOKEN &&
						   client->web_auth_token != NULL);
	if (req->sent_web_token && client->token_hooks.begin &&
		!client->token_hooks.begin(client->token_hooks.arg, &client->web_auth_token))
	{
		req->sent_web_token = false;
		ck_request_fail(req, CK_RESULT_ABORTED,
						"request cancelled while waiting for the web-auth token");
		return;
	}

	req->url = req->is_url ? strdup(req->target) : ck_build_url(client, req->target);
	req->easy = easy = curl_easy_init();
	if (req->url == NULL || easy == NULL)
	{
		ck_request_fail(req, CK_RESULT_TRANSPORT, "out of memory building the request");
		goto failed;
	}
	if (!ck_attempt_headers(req))
		goto failed;

	curl_easy_setopt(easy, CURLOPT_PRIVATE, req);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, req->errbuf);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, ck_write_cb);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, ck_header_cb);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, req);
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, ck_open_socket_cb);
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, req);
	curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, ck_prereq_cb);
	curl_easy_setopt(easy, CURLOPT_PREREQDATA, req);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, client->connect_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, client->request_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	/* gzip etc.; the size cap applies to the decoded body */
	curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(easy, CURLOPT_USERAGENT, client->user_agent);
	if (client->ca_file)
		curl_easy_setopt(easy, CURLOPT_CAINFO, client->ca_file);
	/*
	 * Over TLS, wait for a connection whose ALPN may still say HTTP/2 rather
	 * than open another; plain HTTP is HTTP/1.1, known at once.
	 */
	if (strncmp(req->url, "https://", 8) == 0)
		curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);

	/*
	 * A large body goes over HTTP/1.1: libcurl 7.88 (Debian 12), sending it
	 * on an HTTP/2 stream whose flow-control window is used up, keeps asking
	 * for a writable socket until the peer opens the window, one round trip
	 * later, and the wait spins a core meanwhile (an INSERT of 20,000 rows:
	 * 0.69 of the single-stream limit at 91 % CPU, against 3.0 over
	 * HTTP/1.1).  Keep-alive connections of their own carry such requests.
	 */
	if (req->is_post && req->body_len > CK_HTTP2_MAX_BODY)
		curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(easy, CURLOPT_URL, req->url);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, req->headers);
	if (req->is_post)
	{
		curl_easy_setopt(easy, CURLOPT_POST, 1L);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
	}
	else
		curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);

	if (curl_multi_add_handle(client->multi, easy) != CURLM_OK)
	{
		ck_request_fail(req, CK_RESULT_TRANSPORT, "could not start the request");
		goto failed;
	}
	req->state = CK_REQUEST_RUNNING;
	client->running++;
	return;

failed:
	ck_token_end(client, req->sent_web_token, false);
	ck_attempt_cleanup(req);
}

/* What went out and what came back; the token's fate. */
static void
ck_attempt_account(CkRequest *req)
{
	CkClient   *client = req->client;
	CkResponse *resp = &req->resp;
	curl_off_t	up = 0;
	curl_off_t	down = 0;
	long		request_headers = 0;
	long		status = 0;

	curl_easy_getinfo(req->easy, CURLINFO_SIZE_UPLOAD_T, &up);
	curl_easy_getinfo(req->easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
	curl_easy_getinfo(req->easy, CURLINFO_REQUEST_SIZE, &request_headers);
	curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
	resp->attempts++;
	resp->bytes_sent += (size_t) up;
	resp->bytes_received += (size_t) down;
	resp->request_sent = req->resend_refused ||
		(request_headers > 0 && (size_t) up >= (req->is_post ? req->body_len : 0));
	resp->http_status = status;

	/*
	 * The old web-auth token is spent once the server has answered.  A
	 * request that went out and got no answer at all may have spent it too,
	 * and the answer that would have brought its replacement is lost: we
	 * keep the token (it still works if the server never read the
	 * request), and remember the doubt to explain a refusal.
	 */
	if (req->new_token)
	{
		ck_free_secret(client->web_auth_token);
		client->web_auth_token = req->new_token;
		req->new_token = NULL;
		client->web_auth_token_rotated = true;
		client->web_auth_token_in_doubt = false;
	}
	else if (req->sent_web_token && resp->request_sent && status == 0)
		client->web_auth_token_in_doubt = true;
	ck_token_end(client, req->sent_web_token,
				 req->sent_web_token && resp->request_sent && status == 0);
	req->sent_web_token = false;
}

/* Turn a finished transfer into the response. */
static void
ck_attempt_result(CkRequest *req, CURLcode code)
{
	CkClient   *client = req->client;
	CkResponse *resp = &req->resp;
	long		status = resp->http_status;
	struct json_object *json;
	char		perr[160];

	if (code == CURLE_WRITE_ERROR && req->too_large)
	{
		resp->kind = CK_RESULT_TOO_LARGE;
		snprintf(resp->reason, sizeof(resp->reason),
				 "the response exceeded the limit of %zu bytes", client->max_response_bytes);
		return;
	}
	if (code != CURLE_OK && req->refused_local)
	{
		/* one message for every spelling and port: no port scanner */
		resp->kind = CK_RESULT_REFUSED_ADDRESS;
		snprintf(resp->reason, sizeof(resp->reason),
				 "the server's address is on this machine, which this client may not connect to");
		return;
	}
	if (code != CURLE_OK)
	{
		resp->kind = CK_RESULT_TRANSPORT;
		if (req->resend_refused)
			snprintf(resp->reason, sizeof(resp->reason),
					 "the connection closed before an answer came, so the request may have been applied; it was not sent again");
		else
			snprintf(resp->reason, sizeof(resp->reason), "%s",
					 req->errbuf[0] ? req->errbuf : curl_easy_strerror(code));
		ck_scrub_secrets(req, resp->reason, sizeof(resp->reason));
		return;
	}

	if ((req->flags & CK_REQUEST_RAW_BODY) && status >= 200 && status < 300)
	{
		/* the caller parses it; the buffer is handed over */
		if (!ck_buf_append(&req->rbody, "", 1))
		{
			resp->kind = CK_RESULT_TRANSPORT;
			snprintf(resp->reason, sizeof(resp->reason), "out of memory");
			return;
		}
		resp->kind = CK_RESULT_OK;
		resp->body = req->rbody.data;
		resp->body_len = req->rbody.len - 1;
		ck_buf_init(&req->rbody);
		return;
	}

	if (status >= 200 && status < 300)
	{
		resp->json = ck_page_parse_json(req->rbody.data, req->rbody.len, status,
										&resp->bad_text, resp->reason,
										sizeof(resp->reason));
		resp->kind = resp->json ? CK_RESULT_OK : CK_RESULT_BAD_RESPONSE;
		return;
	}
	json = ck_json_parse_body(req->rbody.data, req->rbody.len, perr, sizeof(perr));
	ck_fill_server_error(req, resp, json);
	if (!req->is_url && client->auth == CK_AUTH_API_TOKEN &&
		(client->web_auth_token_rotated || client->web_auth_token_in_doubt) &&
		(resp->http_status == 401 ||
		 strcmp(resp->server_error_code, "AUTHENTICATION_FAILED") == 0))
		resp->web_auth_token_spent = true;
}

/*
 * After an attempt: done, or queued again to retry THROTTLED /
 * TRY_AGAIN_LATER / INTERNAL_ERROR / 5xx (and transport errors of
 * idempotent requests) once retryAfter has passed.  Throttling halves the
 * client's concurrency and holds every request back until then, so a
 * throttled app sends less, never more; answers earn the slots back one by
 * one.
 */
static void
ck_request_settle(CkRequest *req)
{
	CkClient   *client = req->client;
	CkResponse *resp = &req->resp;
	bool		retry = false;
	bool		throttled = false;
	long		wait_ms;

	if (resp->kind == CK_RESULT_SERVER_ERROR)
	{
		retry = ck_error_lookup(resp->server_error_code)->retryable ||
			resp->http_status >= 500;
		throttled = resp->http_status == 429 || resp->http_status == 503 ||
			strcmp(resp->server_error_code, "THROTTLED") == 0 ||
			strcmp(resp->server_error_code, "TRY_AGAIN_LATER") == 0;
	}
	else if (resp->kind == CK_RESULT_TRANSPORT)
		retry = (req->flags & CK_REQUEST_IDEMPOTENT) != 0;

	if (throttled)
	{
		client->limit = client->limit > 1 ? client->limit / 2 : 1;
		client->successes = 0;
	}
	else if (resp->kind == CK_RESULT_OK && client->limit < client->max_in_flight &&
			 ++client->successes >= client->limit)
	{
		client->limit++;
		client->successes = 0;
	}

	if (!retry || req->retries >= client->max_retries)
	{
		req->state = CK_REQUEST_DONE;
		return;
	}
	if (resp->retry_after >= 0)
		wait_ms = (long) (resp->retry_after * 1000.0);
	else
		wait_ms = CK_FIRST_BACKOFF_MS << (req->retries < 16 ? req->retries : 16);
	if (wait_ms > client->max_retry_wait_ms)
		wait_ms = client->max_retry_wait_ms;
	req->retries++;
	req->not_before = ck_monotonic_ms() + wait_ms;
	if (throttled && client->hold_until < req->not_before)
		client->hold_until = req->not_before;
	req->state = CK_REQUEST_QUEUED;
}

/* A transfer is over (or stopped): take its easy handle out. */
static void
ck_request_stop(CkRequest *req)
{
	CkClient   *client = req->client;

	if (client->multi)
		curl_multi_remove_handle(client->multi, req->easy);
	client->running--;
	ck_attempt_account(req);
}

static void
ck_client_collect(CkClient *client)
{
	CURLMsg    *msg;
	int			left;

	while ((msg = curl_multi_info_read(client->multi, &left)) != NULL)
	{
		CkRequest  *req = NULL;
		CURLcode	code;

		if (msg->msg != CURLMSG_DONE)
			continue;
		code = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &req);
		if (req == NULL || req->state != CK_REQUEST_RUNNING)
			continue;
		ck_request_stop(req);
		ck_attempt_result(req, code);
		ck_attempt_cleanup(req);
		ck_request_settle(req);
	}
}

/*
 * Start what may start now: requests marked CK_REQUEST_FIRST (the pages a
 * scan reads, which the rest of the statement waits for), then the others,
 * oldest first in each group.  Each CK_REQUEST_FIRST request not yet taken
 * by its owner keeps a slot for it, so that the others (writes waiting for
 * the scan's rows) do not take the slot a page leaves before the scan has
 * asked for the next one; the others always get one slot.
 */
static void
ck_client_start_ready(CkClient *client)
{
	int64_t		now = ck_monotonic_ms();
	int			first = 0;
	int			others_running = 0;
	int			others_limit;
	int			pass;
	CkRequest  *req;

	for (req = client->requests; req; req = req->next)
	{
		if (req->flags & CK_REQUEST_FIRST)
			first++;
		else if (req->state == CK_REQUEST_RUNNING)
			others_running++;
	}
	others_limit = client->limit - first > 1 ? client->limit - first : 1;

	for (pass = 0; pass < 2; pass++)
	{
		for (req = client->requests; req; req = req->next)
		{
			if (req->state != CK_REQUEST_QUEUED ||
				((req->flags & CK_REQUEST_FIRST) != 0) != (pass == 0))
				continue;
			if (client->running >= client->limit ||
				(pass == 1 && others_running >= others_limit))
				return;
			/* CloudKit replaces a web-auth token in every answer: one at a time */
			if (client->auth == CK_AUTH_API_TOKEN && client->web_auth_token &&
				client->running > 0)
				return;
			if (req->not_before > now || client->hold_until > now)
				continue;
			ck_attempt_begin(req);
			others_running += (pass == 1);
		}
	}
}

/* When something is next due (monotonic ms), or -1. */
static int64_t
ck_client_next_deadline(CkClient *client)
{
	int64_t		deadline = client->timer_deadline;
	CkRequest  *req;

	if (client->running < client->limit)
	{
		for (req = client->requests; req; req = req->next)
		{
			int64_t		due;

			if (req->state != CK_REQUEST_QUEUED)
				continue;
			due = req->not_before > client->hold_until ? req->not_before : client->hold_until;
			if (deadline < 0 || due < deadline)
				deadline = due;
		}
	}
	/* no socket yet (e.g. resolving): look again soon */
	if (client->running > 0 && client->nsocks == 0)
	{
		int64_t		soon = ck_monotonic_ms() + CK_IDLE_WAIT_MS;

		if (deadline < 0 || soon < deadline)
			deadline = soon;
	}
	return deadline;
}

/* The sockets libcurl wants, as poll(2) takes them. */
static void
ck_pollfds(const CkWaitSocket *socks, int n, struct pollfd *pfd)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		pfd[i].fd = socks[i].fd;
		pfd[i].events = (socks[i].want_read ? POLLIN : 0) |
			(socks[i].want_write ? POLLOUT : 0);
		pfd[i].revents = 0;
	}
}

/* Act on ready sockets and due timers, and start what can start: never blocks. */
static void
ck_client_step(CkClient *client)
{
	CkWaitSocket socks[CK_MAX_SOCKS];
	struct pollfd pfd[CK_MAX_SOCKS];
	int			running;
	int			n;
	int			i;

	ck_client_start_ready(client);
	if (client->multi == NULL)
		return;
	if (client->timer_deadline >= 0 && ck_monotonic_ms() >= client->timer_deadline)
	{
		client->timer_deadline = -1;
		curl_multi_socket_action(client->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}

	/* the callbacks may change client->socks while we act on them */
	n = client->nsocks;
	memcpy(socks, client->socks, n * sizeof(CkWaitSocket));
	ck_pollfds(socks, n, pfd);
	if (n > 0 && poll(pfd, (nfds_t) n, 0) > 0)
	{
		for (i = 0; i < n; i++)
		{
			int			ev = 0;

			if (pfd[i].revents & (POLLIN | POLLHUP))
				ev |= CURL_CSELECT_IN;
			if (pfd[i].revents & POLLOUT)
				ev |= CURL_CSELECT_OUT;
			if (pfd[i].revents & (POLLERR | POLLNVAL))
				ev |= CURL_CSELECT_ERR;
			if (ev != 0)
				curl_multi_socket_action(client->multi, pfd[i].fd, ev, &running);
		}
	}
	ck_client_collect(client);
	ck_client_start_ready(client);
}

/*
 * Stop every unfinished request: each ends CK_RESULT_ABORTED, saying
 * whether it went out.  Running transfers are taken out mid-way, so the
 * caller closes the connections afterwards.
 */
static void
ck_client_abort_all(CkClient *client, const char *why, bool queued_too)
{
	CkRequest  *req;

	for (req = client->requests; req; req = req->next)
	{
		CkResponse *resp = &req->resp;

		if (req->state == CK_REQUEST_RUNNING)
		{
			ck_request_stop(req);
			ck_attempt_cleanup(req);
			if (resp->json)
				json_object_put(resp->json);
			resp->json = NULL;
			resp->kind = CK_RESULT_ABORTED;
			resp->server_error_code[0] = '\0';
			snprintf(resp->reason, sizeof(resp->reason), "%s", why);
			req->state = CK_REQUEST_DONE;
		}
		else if (req->state == CK_REQUEST_QUEUED && queued_too)
		{
			if (resp->json)
				json_object_put(resp->json);
			resp->json = NULL;
			/* an attempt answered with an error was not applied */
			if (resp->kind == CK_RESULT_SERVER_ERROR || resp->attempts == 0)
				resp->request_sent = false;
			resp->kind = CK_RESULT_ABORTED;
			resp->server_error_code[0] = '\0';
			snprintf(resp->reason, sizeof(resp->reason), "%s",
					 resp->attempts > 0 ? "request cancelled while waiting to retry" : why);
			req->state = CK_REQUEST_DONE;
		}
	}
}

static void
ck_client_abort_running(CkClient *client, const char *why)
{
	ck_client_abort_all(client, why, false);
}

static bool
ck_wait(CkClient *client, const CkWaitSocket *socks, int nsocks, long timeout_ms)
{
	struct pollfd pfd[CK_MAX_SOCKS];

	if (client->hook)
		return client->hook(client->hook_arg, socks, nsocks, timeout_ms);
	/* without a hook: poll the sockets, or sleep */
	ck_pollfds(socks, nsocks, pfd);
	(void) poll(pfd, (nfds_t) nsocks, (int) timeout_ms);
	return true;
}

static bool
ck_client_pending(const CkClient *client)
{
	const CkRequest *req;

	for (req = client->requests; req; req = req->next)
		if (req->state != CK_REQUEST_DONE)
			return true;
	return false;
}

bool
ck_client_wait(CkClient *client, CkRequest *until)
{
	int			done_before = 0;
	CkRequest  *req;

	for (req = client->requests; req; req = req->next)
		done_before += (req->state == CK_REQUEST_DONE);

	for (;;)
	{
		CkWaitSocket socks[CK_MAX_SOCKS];
		int64_t		deadline;
		long		timeout;
		int			done_now = 0;
		int			n;

		ck_client_step(client);
		if (until != NULL)
		{
			if (until->state == CK_REQUEST_DONE)
				return true;
		}
		else
		{
			for (req = client->requests; req; req = req->next)
				done_now += (req->state == CK_REQUEST_DONE);
			if (done_now > done_before || !ck_client_pending(client))
				return true;
		}

		deadline = ck_client_next_deadline(client);
		timeout = deadline < 0 ? CK_IDLE_WAIT_MS : (long) (deadline - ck_monotonic_ms());
		if (timeout < 0)
			timeout = 0;
		n = client->nsocks;
		memcpy(socks, client->socks, n * sizeof(CkWaitSocket));
		if (!ck_wait(client, n > 0 ? socks : NULL, n, timeout))
		{
			ck_client_abort_all(client, "request cancelled while waiting for CloudKit", true);
			return false;
		}
	}
}

CkRequest *
ck_request_start(CkClient *client, const char *method, const char *operation,
				 const char *body, size_t body_len, int flags)
{
	CkRequest  *req = ck_request_new(client, method, operation, false, NULL,
									 body, body_len, flags);

	/* on the wire now, as far as that goes without waiting */
	if (req)
		ck_client_step(client);
	return req;
}

CkRequest *
ck_request_start_url(CkClient *client, const char *method, const char *url,
					 const char *content_type, const char *body,
					 size_t body_len, int flags)
{
	CkRequest  *req = ck_request_new(client, method, url, true, content_type,
									 body, body_len, flags | CK_REQUEST_RAW_BODY);

	if (req)
		ck_client_step(client);
	return req;
}

bool
ck_request_done(const CkRequest *req)
{
	return req->state == CK_REQUEST_DONE;
}

bool
ck_request_succeeded(const CkRequest *req)
{
	return req->state == CK_REQUEST_DONE && req->resp.kind == CK_RESULT_OK;
}

int
ck_client_limit(const CkClient *client)
{
	return client->limit;
}

int
ck_client_wait_fd(CkClient *client)
{
	struct itimerspec its;
	int64_t		deadline;
	int			i;

	if (!ck_client_pending(client))
		return -1;
	if (client->epoll_fd < 0)
	{
		struct epoll_event ev;

		client->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
		client->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (client->epoll_fd < 0 || client->timer_fd < 0)
		{
			if (client->epoll_fd >= 0)
				close(client->epoll_fd);
			if (client->timer_fd >= 0)
				close(client->timer_fd);
			client->epoll_fd = client->timer_fd = -1;
			return -1;
		}
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.fd = client->timer_fd;
		(void) epoll_ctl(client->epoll_fd, EPOLL_CTL_ADD, client->timer_fd, &ev);
		for (i = 0; i < client->nsocks; i++)
			ck_epoll_update(client, client->socks[i].fd, client->socks[i].want_read,
							client->socks[i].want_write, false);
	}

	/* the timer fires when libcurl's timer or a retry is due */
	memset(&its, 0, sizeof(its));
	deadline = ck_client_next_deadline(client);
	if (deadline >= 0)
	{
		int64_t		left = deadline - ck_monotonic_ms();

		if (left < 1)
			left = 1;
		its.it_value.tv_sec = left / 1000;
		its.it_value.tv_nsec = (left % 1000) * 1000000;
	}
	(void) timerfd_settime(client->timer_fd, 0, &its, NULL);
	return client->epoll_fd;
}

void
ck_client_poll(CkClient *client)
{
	uint64_t	expirations;

	if (client->timer_fd >= 0)
		(void) !read(client->timer_fd, &expirations, sizeof(expirations));
	ck_client_step(client);
}

static void
ck_request_free(CkRequest *req)
{
	CkClient   *client = req->client;
	CkRequest **p;

	for (p = &client->requests; *p; p = &(*p)->next)
	{
		if (*p == req)
		{
			*p = req->next;
			break;
		}
	}
	ck_attempt_cleanup(req);
	ck_buf_free(&req->rbody);
	ck_response_clear(&req->resp);
	free(req->target);
	free(req->content_type);
	free(req->body);
	free(req);
}

void
ck_request_finish(CkRequest *req, CkResponse *resp)
{
	if (req->state != CK_REQUEST_DONE)
	{
		/* not waited for: it cannot be told apart from a cancel */
		if (req->state == CK_REQUEST_RUNNING)
		{
			ck_request_stop(req);
			ck_attempt_cleanup(req);
		}
		ck_request_fail(req, CK_RESULT_ABORTED, "request abandoned before its answer came");
	}
	*resp = req->resp;
	memset(&req->resp, 0, sizeof(req->resp));
	ck_request_free(req);
}

void
ck_request_cancel(CkRequest *req)
{
	if (req->state == CK_REQUEST_RUNNING)
		ck_request_stop(req);
	ck_request_free(req);
}

void
ck_client_request(CkClient *client, const char *method, const char *operation,
				  const char *body, size_t body_len, bool idempotent,
				  CkResponse *resp)
{
	CkRequest  *req = ck_request_start(client, method, operation, body, body_len,
									   idempotent ? CK_REQUEST_IDEMPOTENT : 0);

	if (req == NULL)
	{
		memset(resp, 0, sizeof(*resp));
		resp->retry_after = -1;
		resp->kind = CK_RESULT_TRANSPORT;
		snprintf(resp->reason, sizeof(resp->reason), "out of memory");
		return;
	}
	(void) ck_client_wait(client, req);
	ck_request_finish(req, resp);
}
