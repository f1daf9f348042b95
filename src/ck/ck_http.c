/*-------------------------------------------------------------------------
 *
 * ck_http.c
 *		  The CloudKit Web Services transport.
 *
 * Each client owns one libcurl easy handle (so the connection is kept alive
 * between requests) driven through a multi handle in event mode: libcurl
 * tells us which sockets it wants (CURLMOPT_SOCKETFUNCTION) and when it next
 * needs a timeout (CURLMOPT_TIMERFUNCTION), and the caller's wait hook does
 * all of the waiting.  That is the only place the transport blocks, so a
 * backend can wait on its latch and notice a query cancel within one hook
 * call.  Event mode rather than curl_multi_fdset() also means sockets above
 * FD_SETSIZE work.
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
#include <time.h>

#include <curl/curl.h>
#include <json.h>

#include "ck/ck_addr.h"
#include "ck/ck_error.h"
#include "ck/ck_http.h"
#include "ck/ck_sign.h"
#include "ck/ck_util.h"

#define CK_DEFAULT_CONNECT_TIMEOUT_MS	10000
#define CK_DEFAULT_REQUEST_TIMEOUT_MS	60000
#define CK_DEFAULT_MAX_RESPONSE_BYTES	((size_t) 64 * 1024 * 1024)
#define CK_DEFAULT_MAX_RETRY_WAIT_MS	30000	/* when max_retry_wait_ms is 0 */
#define CK_FIRST_BACKOFF_MS				500

/* Longest single wait when libcurl has no socket or timer for us (DNS). */
#define CK_IDLE_WAIT_MS					100

#define CK_MAX_SOCKS					8

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
	bool		refuse_local;	/* refuse_local_addresses */

	CkWaitHook	hook;
	void	   *hook_arg;
	CkTokenHooks token_hooks;

	CURL	   *easy;
	CURLM	   *multi;
	char		errbuf[CURL_ERROR_SIZE];

	/* sockets libcurl wants watched, and its timer */
	CkWaitSocket socks[CK_MAX_SOCKS];
	int			nsocks;
	int64_t		timer_deadline; /* monotonic ms, or -1 */

	/* per-attempt state filled by the callbacks */
	CkBuf		body;
	bool		too_large;
	char	   *new_token;		/* X-Apple-CloudKit-Web-Auth-Token */
	double		header_retry_after; /* Retry-After header, or -1 */
	bool		refused_local;	/* an address was refused as local */
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
	CkClient   *client = (CkClient *) userdata;
	size_t		n = size * nmemb;

	if (client->body.len + n > client->max_response_bytes)
	{
		client->too_large = true;
		return 0;				/* CURLE_WRITE_ERROR */
	}
	if (!ck_buf_append(&client->body, ptr, n))
		return 0;
	return n;
}

static size_t
ck_header_cb(char *ptr, size_t size, size_t nitems, void *userdata)
{
	CkClient   *client = (CkClient *) userdata;
	size_t		n = size * nitems;
	static const char token_hdr[] = "X-Apple-CloudKit-Web-Auth-Token:";
	static const char retry_hdr[] = "Retry-After:";
	const char *v;
	const char *end;

	if (n > sizeof(token_hdr) - 1 &&
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
				ck_free_secret(client->new_token);
				client->new_token = tok;
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
				client->header_retry_after = (double) secs;
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
	CkClient   *client = (CkClient *) clientp;

	if (client->refuse_local &&
		ck_addr_is_local(&address->addr, (socklen_t) address->addrlen))
	{
		client->refused_local = true;
		return CURL_SOCKET_BAD;
	}
	return socket(address->family, address->socktype, address->protocol);
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
	ck_buf_init(&client->body);
	client->header_retry_after = -1;

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

	client->base_url = strdup(config->base_url);
	client->container = strdup(config->container);
	client->environment = strdup(config->environment);
	client->database = strdup(config->database);
	client->auth = config->auth;
	client->key_id = ck_strdup_or_null(config->key_id);
	client->api_token = ck_strdup_or_null(config->api_token);
	client->web_auth_token = (config->web_auth_token && config->web_auth_token[0]) ?
		strdup(config->web_auth_token) : NULL;
	if (!client->base_url || !client->container || !client->environment ||
		!client->database ||
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
	client->refuse_local = config->refuse_local_addresses;

	client->easy = curl_easy_init();
	if (client->easy == NULL || !ck_client_make_multi(client))
	{
		snprintf(err, errlen, "could not create a libcurl handle");
		goto fail;
	}

	/* Options that stay the same for every request of this client */
	curl_easy_setopt(client->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(client->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(client->easy, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(client->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(client->easy, CURLOPT_ERRORBUFFER, client->errbuf);
	curl_easy_setopt(client->easy, CURLOPT_WRITEFUNCTION, ck_write_cb);
	curl_easy_setopt(client->easy, CURLOPT_WRITEDATA, client);
	curl_easy_setopt(client->easy, CURLOPT_HEADERFUNCTION, ck_header_cb);
	curl_easy_setopt(client->easy, CURLOPT_HEADERDATA, client);
	curl_easy_setopt(client->easy, CURLOPT_OPENSOCKETFUNCTION, ck_open_socket_cb);
	curl_easy_setopt(client->easy, CURLOPT_OPENSOCKETDATA, client);
	curl_easy_setopt(client->easy, CURLOPT_CONNECTTIMEOUT_MS, client->connect_timeout_ms);
	curl_easy_setopt(client->easy, CURLOPT_TIMEOUT_MS, client->request_timeout_ms);
	curl_easy_setopt(client->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	/* gzip etc.; the size cap applies to the decoded body */
	curl_easy_setopt(client->easy, CURLOPT_ACCEPT_ENCODING, "");
	if (config->user_agent && config->user_agent[0])
		curl_easy_setopt(client->easy, CURLOPT_USERAGENT, config->user_agent);
	else
	{
		snprintf(ua, sizeof(ua), "ckfdw/1.0 libcurl/%s",
				 curl_version_info(CURLVERSION_NOW)->version);
		curl_easy_setopt(client->easy, CURLOPT_USERAGENT, ua);
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
	if (client->multi)
	{
		if (client->easy)
			curl_multi_remove_handle(client->multi, client->easy);
		curl_multi_cleanup(client->multi);
	}
	if (client->easy)
		curl_easy_cleanup(client->easy);
	ck_key_free(client->key);
	free(client->base_url);
	free(client->container);
	free(client->environment);
	free(client->database);
	free(client->key_id);
	ck_free_secret(client->api_token);
	ck_free_secret(client->web_auth_token);
	ck_free_secret(client->new_token);
	ck_buf_free(&client->body);
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

/* The end() of a token hook's begin() (see CkTokenHooks). */
static void
ck_token_end(CkClient *client, bool began, bool in_doubt)
{
	if (began && client->token_hooks.end)
		client->token_hooks.end(client->token_hooks.arg, client->web_auth_token,
								in_doubt);
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
 * Drop the keep-alive connection.  The connection pool belongs to the multi
 * handle, so replacing the multi handle closes every connection.
 */
void
ck_client_reset_connection(CkClient *client)
{
	if (client->multi)
	{
		curl_multi_remove_handle(client->multi, client->easy);
		curl_multi_cleanup(client->multi);
		client->multi = NULL;
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
 *		Waiting
 * ----------------------------------------------------------------
 */

/* What we do without a hook: poll the sockets, or sleep. */
static bool
ck_default_wait(const CkWaitSocket *socks, int nsocks, long timeout_ms)
{
	struct pollfd pfd[CK_MAX_SOCKS];
	int			i;

	for (i = 0; i < nsocks && i < CK_MAX_SOCKS; i++)
	{
		pfd[i].fd = socks[i].fd;
		pfd[i].events = (socks[i].want_read ? POLLIN : 0) |
			(socks[i].want_write ? POLLOUT : 0);
		pfd[i].revents = 0;
	}
	(void) poll(pfd, (nfds_t) i, (int) timeout_ms);
	return true;
}

static bool
ck_wait(CkClient *client, const CkWaitSocket *socks, int nsocks, long timeout_ms)
{
	if (client->hook)
		return client->hook(client->hook_arg, socks, nsocks, timeout_ms);
	return ck_default_wait(socks, nsocks, timeout_ms);
}

/* Sleep before a retry, through the hook so a cancel still works. */
static bool
ck_sleep(CkClient *client, long ms)
{
	int64_t		deadline = ck_monotonic_ms() + ms;

	for (;;)
	{
		int64_t		left = deadline - ck_monotonic_ms();

		if (left <= 0)
			return true;
		if (!ck_wait(client, NULL, 0, (long) left))
			return false;
	}
}

/*
 * Drive the transfer until it finishes.  Returns false when the hook asked to
 * stop; otherwise *code is libcurl's result.
 */
static bool
ck_run_transfer(CkClient *client, CURLcode *code)
{
	int			running = 1;
	CURLMcode	mc;
	CURLMsg    *msg;
	int			left;

	*code = CURLE_OK;
	client->nsocks = 0;
	client->timer_deadline = -1;
	mc = curl_multi_add_handle(client->multi, client->easy);
	if (mc != CURLM_OK)
	{
		snprintf(client->errbuf, sizeof(client->errbuf), "%s", curl_multi_strerror(mc));
		*code = CURLE_FAILED_INIT;
		return true;
	}

	while (running)
	{
		int64_t		now = ck_monotonic_ms();
		long		timeout;
		CkWaitSocket socks[CK_MAX_SOCKS];
		struct pollfd pfd[CK_MAX_SOCKS];
		int			n;
		int			i;

		if (client->timer_deadline >= 0 && now >= client->timer_deadline)
		{
			client->timer_deadline = -1;
			mc = curl_multi_socket_action(client->multi, CURL_SOCKET_TIMEOUT, 0, &running);
			if (mc != CURLM_OK)
				break;
			continue;
		}

		if (client->timer_deadline >= 0)
			timeout = (long) (client->timer_deadline - now);
		else
			timeout = CK_IDLE_WAIT_MS;
		/* no socket yet (e.g. resolving): look again soon */
		if (client->nsocks == 0 && timeout > CK_IDLE_WAIT_MS)
			timeout = CK_IDLE_WAIT_MS;

		/* the callbacks may change client->socks while we act on them */
		n = client->nsocks;
		memcpy(socks, client->socks, n * sizeof(CkWaitSocket));
		if (!ck_wait(client, socks, n, timeout))
		{
			curl_multi_remove_handle(client->multi, client->easy);
			ck_client_reset_connection(client);
			return false;
		}

		/* which of them are ready?  (the hook only says "go on") */
		for (i = 0; i < n; i++)
		{
			pfd[i].fd = socks[i].fd;
			pfd[i].events = (socks[i].want_read ? POLLIN : 0) |
				(socks[i].want_write ? POLLOUT : 0);
			pfd[i].revents = 0;
		}
		if (n > 0 && poll(pfd, (nfds_t) n, 0) > 0)
		{
			for (i = 0; i < n && running; i++)
			{
				int			ev = 0;

				if (pfd[i].revents & (POLLIN | POLLHUP))
					ev |= CURL_CSELECT_IN;
				if (pfd[i].revents & POLLOUT)
					ev |= CURL_CSELECT_OUT;
				if (pfd[i].revents & (POLLERR | POLLNVAL))
					ev |= CURL_CSELECT_ERR;
				if (ev == 0)
					continue;
				mc = curl_multi_socket_action(client->multi, pfd[i].fd, ev, &running);
				if (mc != CURLM_OK)
					break;
			}
			if (mc != CURLM_OK)
				break;
		}
	}

	if (mc != CURLM_OK)
	{
		snprintf(client->errbuf, sizeof(client->errbuf), "%s", curl_multi_strerror(mc));
		*code = CURLE_RECV_ERROR;
	}
	else
	{
		*code = CURLE_GOT_NOTHING;
		while ((msg = curl_multi_info_read(client->multi, &left)) != NULL)
		{
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == client->easy)
				*code = msg->data.result;
		}
	}
	curl_multi_remove_handle(client->multi, client->easy);
	return true;
}

/* ----------------------------------------------------------------
 *		Requests
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
ck_scrub_secrets(CkClient *client, char *s, size_t size)
{
	const char *secrets[3] = {client->api_token, client->web_auth_token,
	client->new_token};
	int			i;

	for (i = 0; i < 3; i++)
	{
		char	   *esc;

		if (secrets[i] == NULL)
			continue;
		ck_scrub(s, secrets[i]);
		esc = curl_easy_escape(client->easy, secrets[i], 0);
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

/*
 * Integer literals outside [INT64_MIN, UINT64_MAX] are saturated silently by
 * json-c's parser, and INT64_MIN cannot be told apart afterwards, so a body
 * containing one is rejected here before it could become a wrong value.
 * Returns the offending offset, or -1.
 */
static long
ck_find_wide_integer(const char *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		char		c = s[i];

		if (c == '"')
		{
			/* skip the string: find its closing quote, not an escaped one */
			for (;;)
			{
				const char *q = memchr(s + i + 1, '"', len - i - 1);
				size_t		nbackslash = 0;

				if (q == NULL)
					return -1;
				i = (size_t) (q - s);
				while (s[i - 1 - nbackslash] == '\\')
					nbackslash++;
				if (nbackslash % 2 == 0)
					break;
			}
			i++;
			continue;
		}
		if (c == '-' || (c >= '0' && c <= '9'))
		{
			size_t		start = i;
			bool		neg = (c == '-');
			size_t		dstart;
			size_t		ndig;
			bool		is_int = true;

			if (neg)
				i++;
			dstart = i;
			while (i < len && s[i] >= '0' && s[i] <= '9')
				i++;
			ndig = i - dstart;
			while (i < len && (s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
							   s[i] == '+' || s[i] == '-' ||
							   (s[i] >= '0' && s[i] <= '9')))
			{
				is_int = false;
				i++;
			}
			if (is_int)
			{
				const char *limit = neg ? "9223372036854775808" : "18446744073709551615";
				size_t		llen = strlen(limit);

				/* skip leading zeros the lax parser may accept */
				while (ndig > 1 && s[dstart] == '0')
				{
					dstart++;
					ndig--;
				}
				if (ndig > llen ||
					(ndig == llen && strncmp(s + dstart, limit, llen) > 0))
					return (long) start;
			}
			continue;
		}
		i++;
	}
	return -1;
}

/*
 * Parse the body as JSON.  Returns NULL (and why in err) if it is not one
 * complete JSON value.  data[len] must be readable (a CkBuf's NUL).
 */
static struct json_object *
ck_parse_body(const char *data, size_t len, char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *obj;
	long		wide;

	if (len == 0)
	{
		snprintf(err, errlen, "empty body");
		return NULL;
	}
	if (len > (size_t) INT32_MAX)
	{
		snprintf(err, errlen, "body too large to parse");
		return NULL;
	}
	tok = json_tokener_new_ex(64);
	if (tok == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);

	/*
	 * Hand over the terminating NUL too (CkBuf always has one): it tells
	 * json-c the input ends here, so a truncated body is an error rather
	 * than "continue", and a bare top-level literal is complete.
	 */
	obj = json_tokener_parse_ex(tok, data, (int) len + (data[len] == '\0' ? 1 : 0));
	if (obj == NULL || json_tokener_get_parse_end(tok) != len)
	{
		enum json_tokener_error jerr = json_tokener_get_error(tok);

		if (obj == NULL && (jerr == json_tokener_continue ||
							jerr == json_tokener_error_parse_eof))
			snprintf(err, errlen, "truncated JSON");
		else if (obj == NULL && jerr == json_tokener_success)
			snprintf(err, errlen, "JSON null");
		else if (obj == NULL)
			snprintf(err, errlen, "invalid JSON at byte %zu: %s",
					 json_tokener_get_parse_end(tok), json_tokener_error_desc(jerr));
		else
			snprintf(err, errlen, "trailing data after the JSON value at byte %zu",
					 json_tokener_get_parse_end(tok));
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);

	/* valid JSON, but json-c may have clamped an integer in it */
	if (obj != NULL && (wide = ck_find_wide_integer(data, len)) >= 0)
	{
		snprintf(err, errlen, "integer out of 64-bit range at byte %ld", wide);
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
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
ck_fill_server_error(CkClient *client, CkResponse *resp, struct json_object *json)
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
	if (resp->retry_after < 0 && client->header_retry_after >= 0)
		resp->retry_after = client->header_retry_after;
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
		esc = curl_easy_escape(client->easy, client->api_token, 0);
		if (esc == NULL || !ck_buf_appendf(&b, "?ckAPIToken=%s", esc))
		{
			curl_free(esc);
			goto oom;
		}
		curl_free(esc);
		if (client->web_auth_token)
		{
			esc = curl_easy_escape(client->easy, client->web_auth_token, 0);
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

/*
 * One attempt: fills resp's kind, status, body and error fields, and adds to
 * its byte counts (the caller counts attempts).
 */
static void
ck_attempt(CkClient *client, bool is_post, const char *path, bool is_url,
		   const char *content_type, const char *body, size_t body_len,
		   int flags, CkResponse *resp)
{
	bool		idempotent = (flags & CK_REQUEST_IDEMPOTENT) != 0;
	struct curl_slist *headers = NULL;
	bool		oom = false;
	char	   *url = NULL;
	char		line[512];
	CURLcode	code;
	curl_off_t	up = 0;
	curl_off_t	down = 0;
	long		request_headers = 0;
	long		status = 0;
	bool		sent_web_token;
	struct json_object *json;
	char		perr[160];

	client->errbuf[0] = '\0';
	client->too_large = false;
	client->refused_local = false;
	client->header_retry_after = -1;
	ck_free_secret(client->new_token);
	client->new_token = NULL;
	ck_buf_reset(&client->body);

	if (client->multi == NULL && !ck_client_make_multi(client))
	{
		resp->kind = CK_RESULT_TRANSPORT;
		snprintf(resp->reason, sizeof(resp->reason), "out of memory creating a libcurl handle");
		return;
	}

	sent_web_token = (!is_url && client->auth == CK_AUTH_API_TOKEN &&
					  client->web_auth_token != NULL);
	if (sent_web_token && client->token_hooks.begin &&
		!client->token_hooks.begin(client->token_hooks.arg, &client->web_auth_token))
	{
		resp->kind = CK_RESULT_ABORTED;
		snprintf(resp->reason, sizeof(resp->reason),
				 "request cancelled while waiting for the web-auth token");
		return;
	}
	url = is_url ? strdup(path) : ck_build_url(client, path);
	if (url == NULL)
	{
		ck_token_end(client, sent_web_token, false);
		resp->kind = CK_RESULT_TRANSPORT;
		snprintf(resp->reason, sizeof(resp->reason), "out of memory building the request");
		return;
	}

	/* no "Expect: 100-continue" round trip for larger bodies */
	ck_header_add(&headers, "Expect:", &oom);
	if (is_url && content_type)
	{
		snprintf(line, sizeof(line), "Content-Type: %s", content_type);
		ck_header_add(&headers, line, &oom);
	}
	else if (is_post && !is_url)
		ck_header_add(&headers, "Content-Type: application/json", &oom);
	if (!is_url && client->auth == CK_AUTH_SERVER_KEY)
	{
		char		date[21];
		char		serr[256];
		char	   *sig;

		ck_iso8601_utc(ck_now_ms() / 1000, date);
		/* a GET has no body: the hash of zero bytes is signed */
		sig = ck_sign_request(client->key, date, is_post ? body : "",
							  is_post ? body_len : 0, path, serr, sizeof(serr));
		if (sig == NULL)
		{
			ck_token_end(client, sent_web_token, false);
			curl_slist_free_all(headers);
			ck_free_secret(url);
			resp->kind = CK_RESULT_CONFIG;
			snprintf(resp->reason, sizeof(resp->reason), "%s", serr);
			return;
		}
		snprintf(line, sizeof(line), "X-Apple-CloudKit-Request-KeyID: %s", client->key_id);
		ck_header_add(&headers, line, &oom);
		snprintf(line, sizeof(line), "X-Apple-CloudKit-Request-ISO8601Date: %s", date);
		ck_header_add(&headers, line, &oom);
		snprintf(line, sizeof(line), "X-Apple-CloudKit-Request-SignatureV1: %s", sig);
		ck_header_add(&headers, line, &oom);
		free(sig);
	}
	if (oom)
	{
		ck_token_end(client, sent_web_token, false);
		curl_slist_free_all(headers);
		ck_free_secret(url);
		resp->kind = CK_RESULT_TRANSPORT;
		snprintf(resp->reason, sizeof(resp->reason), "out of memory building the request");
		return;
	}

	curl_easy_setopt(client->easy, CURLOPT_URL, url);
	curl_easy_setopt(client->easy, CURLOPT_HTTPHEADER, headers);
	if (is_post)
	{
		curl_easy_setopt(client->easy, CURLOPT_POST, 1L);
		curl_easy_setopt(client->easy, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(client->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body_len);
	}
	else
		curl_easy_setopt(client->easy, CURLOPT_HTTPGET, 1L);

	/*
	 * libcurl silently resends a request whose reused keep-alive connection
	 * closed without an answer.  The server may have applied it before
	 * closing, so a request that must not run twice gets a new connection,
	 * where libcurl never resends.
	 */
	curl_easy_setopt(client->easy, CURLOPT_FRESH_CONNECT, idempotent ? 0L : 1L);

	if (!ck_run_transfer(client, &code))
	{
		resp->kind = CK_RESULT_ABORTED;
		snprintf(resp->reason, sizeof(resp->reason), "request cancelled while waiting for CloudKit");
		code = CURLE_ABORTED_BY_CALLBACK;
	}
	/* libcurl copied the URL; drop the headers before anything can fail */
	curl_easy_setopt(client->easy, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	ck_free_secret(url);

	curl_easy_getinfo(client->easy, CURLINFO_SIZE_UPLOAD_T, &up);
	curl_easy_getinfo(client->easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
	resp->bytes_sent += (size_t) up;
	resp->bytes_received += (size_t) down;
	curl_easy_getinfo(client->easy, CURLINFO_REQUEST_SIZE, &request_headers);
	curl_easy_getinfo(client->easy, CURLINFO_RESPONSE_CODE, &status);
	resp->request_sent = request_headers > 0 && (size_t) up >= (is_post ? body_len : 0);

	/*
	 * The old web-auth token is spent once the server has answered.  A
	 * request that went out and got no answer at all may have spent it too,
	 * and the answer that would have brought its replacement is lost: we
	 * keep the token (it still works if the server never read the
	 * request), and remember the doubt to explain a refusal.  (libcurl
	 * itself resends a request whose reused connection closed unanswered,
	 * with the same token: then the refusal of a rotated token is all we
	 * see.)
	 */
	if (client->new_token)
	{
		ck_free_secret(client->web_auth_token);
		client->web_auth_token = client->new_token;
		client->new_token = NULL;
		client->web_auth_token_rotated = true;
		client->web_auth_token_in_doubt = false;
	}
	else if (sent_web_token && resp->request_sent && status == 0)
		client->web_auth_token_in_doubt = true;
	ck_token_end(client, sent_web_token,
				 sent_web_token && resp->request_sent && status == 0);
	status = 0;

	if (resp->kind == CK_RESULT_ABORTED)
		return;

	if (code == CURLE_WRITE_ERROR && client->too_large)
	{
		resp->kind = CK_RESULT_TOO_LARGE;
		snprintf(resp->reason, sizeof(resp->reason),
				 "the response exceeded the limit of %zu bytes", client->max_response_bytes);
		curl_easy_getinfo(client->easy, CURLINFO_RESPONSE_CODE, &resp->http_status);
		/* the rest of the body is still on the wire */
		ck_client_reset_connection(client);
		return;
	}
	if (code != CURLE_OK && client->refused_local)
	{
		/* one message for every spelling and port: no port scanner */
		resp->kind = CK_RESULT_REFUSED_ADDRESS;
		snprintf(resp->reason, sizeof(resp->reason),
				 "the server's address is on this machine, which this client may not connect to");
		ck_client_reset_connection(client);
		return;
	}
	if (code != CURLE_OK)
	{
		resp->kind = CK_RESULT_TRANSPORT;
		snprintf(resp->reason, sizeof(resp->reason), "%s",
				 client->errbuf[0] ? client->errbuf : curl_easy_strerror(code));
		ck_scrub_secrets(client, resp->reason, sizeof(resp->reason));
		ck_client_reset_connection(client);
		return;
	}

	curl_easy_getinfo(client->easy, CURLINFO_RESPONSE_CODE, &status);
	resp->http_status = status;
	if ((flags & CK_REQUEST_RAW_BODY) && status >= 200 && status < 300)
	{
		/* the caller parses it; the buffer is handed over */
		resp->kind = CK_RESULT_OK;
		if (!ck_buf_append(&client->body, "", 1))
		{
			resp->kind = CK_RESULT_TRANSPORT;
			snprintf(resp->reason, sizeof(resp->reason), "out of memory");
			return;
		}
		resp->body = client->body.data;
		resp->body_len = client->body.len - 1;
		ck_buf_init(&client->body);
		return;
	}
	json = ck_parse_body(client->body.data, client->body.len, perr, sizeof(perr));

	if (status >= 200 && status < 300)
	{
		long		lone;

		resp->json = json;
		if (json && (lone = ck_json_find_lone_surrogate(client->body.data,
														 client->body.len)) >= 0)
		{
			/* json-c made it U+FFFD: a changed string, not CloudKit's */
			resp->kind = CK_RESULT_BAD_RESPONSE;
			resp->bad_text = true;
			snprintf(resp->reason, sizeof(resp->reason),
					 "a string holds a lone UTF-16 surrogate (%.6s at byte %ld), which is not Unicode text",
					 client->body.data + lone, lone);
		}
		else if (json && json_object_is_type(json, json_type_object))
			resp->kind = CK_RESULT_OK;
		else
		{
			resp->kind = CK_RESULT_BAD_RESPONSE;
			snprintf(resp->reason, sizeof(resp->reason),
					 "CloudKit answered HTTP %ld with a body that is not a JSON object (%s)",
					 status, json ? "another JSON value" : perr);
		}
		return;
	}
	ck_fill_server_error(client, resp, json);
	if (sent_web_token &&
		(client->web_auth_token_rotated || client->web_auth_token_in_doubt) &&
		(resp->http_status == 401 ||
		 strcmp(resp->server_error_code, "AUTHENTICATION_FAILED") == 0))
		resp->web_auth_token_spent = true;
}

static void
ck_perform(CkClient *client, const char *method, const char *target, bool is_url,
		   const char *content_type, const char *body, size_t body_len,
		   int flags, CkResponse *resp)
{
	bool		is_post;
	char	   *path;
	int			retries = 0;
	bool		idempotent = (flags & CK_REQUEST_IDEMPOTENT) != 0;

	memset(resp, 0, sizeof(*resp));
	resp->retry_after = -1;

	if (method != NULL && (strcmp(method, "POST") == 0 || (is_url && strcmp(method, "PUT") == 0)))
		is_post = true;
	else if (method != NULL && strcmp(method, "GET") == 0)
		is_post = false;
	else
	{
		resp->kind = CK_RESULT_CONFIG;
		snprintf(resp->reason, sizeof(resp->reason), "unsupported HTTP method");
		return;
	}
	if (!is_url && !ck_valid_segment(target, true))
	{
		resp->kind = CK_RESULT_CONFIG;
		snprintf(resp->reason, sizeof(resp->reason), "invalid CloudKit operation name");
		return;
	}
	if (body == NULL)
		body_len = 0;

	path = is_url ? strdup(target) : ck_client_path(client, target);
	if (path == NULL)
	{
		resp->kind = CK_RESULT_CONFIG;
		snprintf(resp->reason, sizeof(resp->reason), "out of memory");
		return;
	}
	for (;;)
	{
		bool		retry = false;
		long		wait_ms;
		size_t		sent = resp->bytes_sent;
		size_t		received = resp->bytes_received;
		int			attempts = resp->attempts;

		/* start each attempt from a clean response, keeping the counters */
		if (resp->json)
			json_object_put(resp->json);
		free(resp->body);
		memset(resp, 0, sizeof(*resp));
		resp->retry_after = -1;
		resp->bytes_sent = sent;
		resp->bytes_received = received;
		resp->attempts = attempts + 1;
		resp->auth = client->auth;

		free(resp->body);
		resp->body = NULL;
		ck_attempt(client, is_post, path, is_url, content_type, body, body_len,
				   flags, resp);

		if (resp->kind == CK_RESULT_SERVER_ERROR)
			retry = ck_error_lookup(resp->server_error_code)->retryable ||
				resp->http_status >= 500;
		else if (resp->kind == CK_RESULT_TRANSPORT)
			retry = idempotent;

		if (!retry || retries >= client->max_retries)
			break;

		if (resp->retry_after >= 0)
			wait_ms = (long) (resp->retry_after * 1000.0);
		else
			wait_ms = CK_FIRST_BACKOFF_MS << (retries < 16 ? retries : 16);
		if (wait_ms > client->max_retry_wait_ms)
			wait_ms = client->max_retry_wait_ms;
		retries++;

		if (!ck_sleep(client, wait_ms))
		{
			if (resp->json)
				json_object_put(resp->json);
			resp->json = NULL;
			/* an attempt answered with an error was not applied */
			if (resp->kind == CK_RESULT_SERVER_ERROR)
				resp->request_sent = false;
			resp->kind = CK_RESULT_ABORTED;
			resp->server_error_code[0] = '\0';
			snprintf(resp->reason, sizeof(resp->reason),
					 "request cancelled while waiting to retry");
			break;
		}
	}
	free(path);
}

void
ck_client_request(CkClient *client, const char *method, const char *operation,
				  const char *body, size_t body_len, bool idempotent,
				  CkResponse *resp)
{
	ck_perform(client, method, operation, false, NULL, body, body_len,
			   idempotent ? CK_REQUEST_IDEMPOTENT : 0, resp);
}

/* ----------------------------------------------------------------
 *		Asynchronous requests
 * ----------------------------------------------------------------
 */

struct CkRequest
{
	CkClient   *client;
	bool		done;
	CkResponse	resp;
};

static CkRequest *
ck_request_new(CkClient *client)
{
	CkRequest  *req = calloc(1, sizeof(CkRequest));

	if (req)
		req->client = client;
	return req;
}

CkRequest *
ck_request_start(CkClient *client, const char *method, const char *operation,
				 const char *body, size_t body_len, int flags)
{
	CkRequest  *req = ck_request_new(client);

	if (req == NULL)
		return NULL;
	ck_perform(client, method, operation, false, NULL, body, body_len, flags,
			   &req->resp);
	req->done = true;
	return req;
}

CkRequest *
ck_request_start_url(CkClient *client, const char *method, const char *url,
					 const char *content_type, const char *body,
					 size_t body_len, int flags)
{
	CkRequest  *req = ck_request_new(client);

	if (req == NULL)
		return NULL;
	ck_perform(client, method, url, true, content_type, body, body_len,
			   flags | CK_REQUEST_RAW_BODY, &req->resp);
	req->done = true;
	return req;
}

bool
ck_request_done(const CkRequest *req)
{
	return req->done;
}

bool
ck_client_wait(CkClient *client, CkRequest *req)
{
	return true;
}

int
ck_client_wait_fd(CkClient *client)
{
	return -1;
}

void
ck_client_poll(CkClient *client)
{
}

void
ck_request_finish(CkRequest *req, CkResponse *resp)
{
	*resp = req->resp;
	free(req);
}

void
ck_request_cancel(CkRequest *req)
{
	ck_response_clear(&req->resp);
	free(req);
}
