/*-------------------------------------------------------------------------
 *
 * connection.c
 *		  CloudKit client management and error reporting for ckfdw
 *
 * As postgres_fdw keeps one libpq connection per user mapping, we keep one
 * CkClient (one keep-alive libcurl handle plus the credentials) per user
 * mapping, created at first use and dropped when the server or the user
 * mapping changes.
 *
 * The transport never blocks by itself: it calls our wait hook, which waits
 * on the sockets and on MyLatch, and asks the transport to give up when a
 * query cancel or termination is pending.  We then raise the interrupt
 * ourselves with CHECK_FOR_INTERRUPTS, outside libcurl, and never longjmp
 * through it.
 *
 * IDENTIFICATION
 *		  src/connection.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ckfdw_json.h"

#include "access/xact.h"
#include "catalog/pg_user_mapping.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "ckfdw.h"
#include "ck/ck_record.h"
#include "ck/ck_error.h"
#include "ck/ck_http.h"
#include "ck/ck_sign.h"

/* Longest key file we read; real P-256 keys are ~250 bytes. */
#define CKFDW_MAX_KEY_FILE_SIZE	(64 * 1024)

/*
 * What an API-token client needs to ask CloudKit for its sign-in URL when a
 * web-auth token is refused or missing: a request with the API token alone
 * is answered AUTHENTICATION_REQUIRED with a redirectURL.
 */
typedef struct CkFdwSignIn
{
	CkClientConfig config;		/* strings below, no web-auth token */
	char	   *base_url;
	char	   *container;
	char	   *environment;
	char	   *api_token;
	char	   *ca_file;		/* NULL: the system's */
} CkFdwSignIn;

/*
 * The analysis of the last refused authentication, made by
 * ckfdw_try_request while the client is at hand, for the error's hint.
 */
typedef struct CkFdwAuthFailure
{
	const CkResponse *resp;		/* the response it is about */
	bool		has_web_token;	/* the user mapping has a web_auth_token */
	bool		token_spent;	/* the token was CloudKit's, or in doubt */
	char		signin_url[2048];	/* CloudKit's redirectURL, or "" */
} CkFdwAuthFailure;

static CkFdwAuthFailure auth_failure;

/*
 * A connection cache entry, keyed by user mapping OID (so that a PUBLIC
 * user mapping used by many roles has one client, as in postgres_fdw).
 */
struct CkFdwConnection
{
	Oid			key;			/* hash key: user mapping OID (must be first) */
	CkClient   *client;			/* NULL when not connected */
	Oid			serverid;
	Oid			userid;			/* InvalidOid for PUBLIC */
	int			refcount;		/* scans using the client now */
	bool		invalidated;	/* server or user mapping changed */
	uint32		server_hashvalue;
	uint32		mapping_hashvalue;
	int64		requests;		/* HTTP requests this client sent, retries included */
	ErrorData  *hook_error;		/* an error caught inside the wait hook */
	uint64		generation;		/* bumped when the client is freed */
	CkFdwTokenStore *tokens;	/* the web-auth token's store, or NULL */
	CkFdwSignIn *signin;		/* where to ask for a sign-in URL, or NULL */
	MemoryContextCallback close_cb; /* ckfdw_open_connection's clients */
	CkFdwListener *listeners;	/* scans to call back while others wait */
	bool		in_listeners;	/* calling them now */
};

static HTAB *ConnectionHash = NULL;

PG_FUNCTION_INFO_V1(ckfdw_get_connections);
PG_FUNCTION_INFO_V1(ckfdw_disconnect);
PG_FUNCTION_INFO_V1(ckfdw_disconnect_all);

static void make_client(CkFdwConnection *entry, UserMapping *user,
						ForeignServer *server, CkFdwOptions *options);
static void disconnect_client(CkFdwConnection *entry);
static void close_private_connection(void *arg);
static CkFdwSignIn *make_signin(const CkClientConfig *config);
static void free_signin(CkFdwSignIn *signin);
static void note_auth_failure(CkFdwConnection *conn, const CkResponse *resp);
static bool is_auth_failure(const CkResponse *resp);
static char *read_key_file(const char *path, size_t *len);
static bool ckfdw_wait_hook(void *arg, const CkWaitSocket *socks, int nsocks,
							long timeout_ms);
static void ckfdw_inval_callback(Datum arg, int cacheid, uint32 hashvalue);
static void ckfdw_xact_callback(XactEvent event, void *arg);
static bool disconnect_cached_clients(Oid serverid);
static char *describe_request(const CkFdwRequestInfo *info);
static char *with_note(const char *detail, const char *note);
static char *with_hint(const char *hint, const char *extra);
static void report_response(const CkResponse *resp, const CkFdwRequestInfo *info,
							const char *note, const char *hint) pg_attribute_noreturn();
static int	request_errcontext(const CkFdwRequestInfo *info);

/*
 * Get the client for a user mapping, creating it at first use, and mark it
 * in use until ckfdw_release_connection (or the end of the transaction).
 */
CkFdwConnection *
ckfdw_get_connection(UserMapping *user, ForeignServer *server,
					 CkFdwOptions *options)
{
	CkFdwConnection *entry;
	bool		found;
	Oid			key = user->umid;

	if (ConnectionHash == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(CkFdwConnection);
		ConnectionHash = hash_create("ckfdw connections", 8, &ctl,
									 HASH_ELEM | HASH_BLOBS);

		/* drop clients whose server or user mapping changed */
		CacheRegisterSyscacheCallback(FOREIGNSERVEROID, ckfdw_inval_callback,
									  (Datum) 0);
		CacheRegisterSyscacheCallback(USERMAPPINGOID, ckfdw_inval_callback,
									  (Datum) 0);
		/* a server owner losing superuser loses its local addresses */
		CacheRegisterSyscacheCallback(AUTHOID, ckfdw_inval_callback,
									  (Datum) 0);
		RegisterXactCallback(ckfdw_xact_callback, NULL);
	}

	entry = hash_search(ConnectionHash, &key, HASH_ENTER, &found);
	if (!found)
	{
		entry->client = NULL;
		entry->refcount = 0;
		entry->invalidated = false;
		entry->requests = 0;
		entry->hook_error = NULL;
		entry->tokens = NULL;
		entry->signin = NULL;
		entry->generation = 0;
		entry->listeners = NULL;
		entry->in_listeners = false;
	}

	if (entry->client != NULL && entry->invalidated && entry->refcount == 0)
		disconnect_client(entry);

	if (entry->client == NULL)
		make_client(entry, user, server, options);

	entry->refcount++;
	return entry;
}

void
ckfdw_release_connection(CkFdwConnection *conn)
{
	if (conn->refcount > 0)
		conn->refcount--;
	if (conn->refcount == 0 && conn->invalidated && conn->client != NULL)
		disconnect_client(conn);
}

/*
 * A client of its own, outside the cache, for a call that needs options the
 * cached client does not have (users/caller lives in the public database,
 * whatever the server's).  It is freed with the current memory context,
 * also after an error; do not release it.
 */
CkFdwConnection *
ckfdw_open_connection(UserMapping *user, ForeignServer *server,
					  CkFdwOptions *options)
{
	CkFdwConnection *entry;

	entry = MemoryContextAllocZero(TopMemoryContext, sizeof(CkFdwConnection));
	entry->key = user->umid;
	PG_TRY();
	{
		make_client(entry, user, server, options);
	}
	PG_CATCH();
	{
		pfree(entry);
		PG_RE_THROW();
	}
	PG_END_TRY();
	entry->refcount = 1;
	entry->close_cb.func = close_private_connection;
	entry->close_cb.arg = entry;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &entry->close_cb);
	return entry;
}

static void
close_private_connection(void *arg)
{
	CkFdwConnection *entry = (CkFdwConnection *) arg;

	disconnect_client(entry);
	pfree(entry);
}

/*
 * Create the client of a user mapping.  Key problems (a missing or
 * unreadable file, a key that is not EC P-256) are reported here, at first
 * use, with the file or option they come from; never with key material.
 */
static void
make_client(CkFdwConnection *entry, UserMapping *user, ForeignServer *server,
			CkFdwOptions *options)
{
	CkClientConfig config;
	char		err[512];
	char	   *key_id = ckfdw_option_value(user->options, "key_id");
	char	   *key_file = ckfdw_option_value(user->options, "private_key_file");
	char	   *key_pem = ckfdw_option_value(user->options, "private_key");
	char	   *api_token = ckfdw_option_value(user->options, "api_token");
	char	   *web_token = ckfdw_option_value(user->options, "web_auth_token");
	char	   *volatile pem = NULL;
	volatile size_t pem_len = 0;
	CkClient   *volatile client = NULL;

	memset(&config, 0, sizeof(config));
	if (key_id != NULL)
		config.auth = CK_AUTH_SERVER_KEY;
	else if (api_token != NULL)
		config.auth = CK_AUTH_API_TOKEN;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("user mapping for server \"%s\" has no CloudKit credentials",
						server->servername),
				 errhint("Set \"key_id\" with \"private_key_file\" or \"private_key\", or \"api_token\".")));

	config.key_id = key_id;
	config.api_token = api_token;
	config.web_auth_token = web_token;
	config.base_url = options->base_url;
	config.container = options->container;
	config.environment = options->environment;
	config.database = options->database;
	config.connect_timeout_ms = options->connect_timeout_ms;
	config.request_timeout_ms = options->request_timeout_ms;
	config.max_response_bytes = options->max_response_size;
	config.max_retries = options->max_retries;
	config.max_in_flight = options->max_in_flight;
	config.max_retry_wait_ms = options->max_retry_wait_ms;
	config.user_agent = "ckfdw/1.0";
	config.ca_file = ckfdw_option_value(server->options, "ca_file");
	config.refuse_local_addresses = !ckfdw_may_reach_local_machine(server);

	/* the client holds one socket, like a libpq connection */
	if (!AcquireExternalFD())
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not create a CloudKit client for server \"%s\"",
						server->servername),
				 errdetail("There are too many open files on the local server."),
				 errhint("Raise the server's max_files_per_process and/or \"ulimit -n\" limits.")));

	/* ck_client_new copies what it keeps; the key text is wiped after */
	PG_TRY();
	{
		if (config.auth == CK_AUTH_SERVER_KEY)
		{
			CkKey	   *key;
			size_t		len = 0;

			if (key_file != NULL)
			{
				pem = read_key_file(key_file, &len);
				pem_len = len;
			}
			else if (key_pem != NULL)
			{
				pem = pstrdup(key_pem);
				pem_len = strlen(key_pem);
			}
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
						 errmsg("user mapping for server \"%s\" has a key ID but no private key",
								server->servername)));

			/* check the key here, to say which option holds a bad one */
			key = ck_key_load_private_pem(pem, err, sizeof(err));
			if (key == NULL)
			{
				if (key_file != NULL)
					ereport(ERROR,
							(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
							 errmsg("private key file \"%s\" does not hold an EC P-256 private key",
									key_file),
							 errdetail_internal("%s", err),
							 errhint("CloudKit server-to-server keys are made with \"openssl ecparam -name prime256v1 -genkey -noout\".")));
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("option \"private_key\" of the user mapping for server \"%s\" does not hold an EC P-256 private key",
								server->servername),
						 errdetail_internal("%s", err)));
			}
			ck_key_free(key);
			config.private_key_pem = pem;
		}

		client = ck_client_new(&config, err, sizeof(err));
		if (client == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("could not create a CloudKit client for server \"%s\"",
							server->servername),
					 errdetail_internal("%s", err)));
	}
	PG_FINALLY();
	{
		if (pem != NULL)
			explicit_bzero(pem, pem_len);
		if (client == NULL)
			ReleaseExternalFD();
	}
	PG_END_TRY();

	ck_client_set_wait_hook(client, ckfdw_wait_hook, entry);

	/*
	 * Every session of the user mapping goes on from the newest web-auth
	 * token (token_store.c); an API-token client can fetch the sign-in URL.
	 */
	if (config.auth == CK_AUTH_API_TOKEN)
	{
		PG_TRY();
		{
			if (web_token != NULL && web_token[0] != '\0')
			{
				entry->tokens = ckfdw_token_store_open(user->umid, &config);
				ckfdw_token_store_attach(entry->tokens, client);
			}
			entry->signin = make_signin(&config);
		}
		PG_CATCH();
		{
			ck_client_free(client);
			ReleaseExternalFD();
			ckfdw_token_store_close(entry->tokens);
			entry->tokens = NULL;
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	entry->client = client;
	entry->requests = 0;
	entry->serverid = server->serverid;
	entry->userid = user->userid;
	entry->invalidated = false;
	entry->server_hashvalue =
		GetSysCacheHashValue1(FOREIGNSERVEROID, ObjectIdGetDatum(server->serverid));
	entry->mapping_hashvalue =
		GetSysCacheHashValue1(USERMAPPINGOID, ObjectIdGetDatum(user->umid));
}

/* Keep what asking for the sign-in URL takes (see CkFdwSignIn). */
static CkFdwSignIn *
make_signin(const CkClientConfig *config)
{
	CkFdwSignIn *signin;

	signin = MemoryContextAllocZero(TopMemoryContext, sizeof(CkFdwSignIn));
	signin->config = *config;
	signin->base_url = MemoryContextStrdup(TopMemoryContext, config->base_url);
	signin->container = MemoryContextStrdup(TopMemoryContext, config->container);
	signin->environment = MemoryContextStrdup(TopMemoryContext, config->environment);
	signin->api_token = MemoryContextStrdup(TopMemoryContext, config->api_token);
	signin->config.base_url = signin->base_url;
	signin->config.container = signin->container;
	signin->config.environment = signin->environment;
	signin->config.api_token = signin->api_token;
	if (config->ca_file != NULL)
		signin->ca_file = MemoryContextStrdup(TopMemoryContext, config->ca_file);
	signin->config.ca_file = signin->ca_file;
	signin->config.database = "public";
	signin->config.key_id = NULL;
	signin->config.private_key_pem = NULL;
	signin->config.web_auth_token = NULL;
	signin->config.user_agent = NULL;
	signin->config.max_retries = 0;
	return signin;
}

static void
free_signin(CkFdwSignIn *signin)
{
	if (signin == NULL)
		return;
	explicit_bzero(signin->api_token, strlen(signin->api_token));
	pfree(signin->api_token);
	pfree(signin->base_url);
	pfree(signin->container);
	pfree(signin->environment);
	if (signin->ca_file != NULL)
		pfree(signin->ca_file);
	pfree(signin);
}

/*
 * Read a PEM key file.  The server process reads it, so the validator
 * allows the option only to roles that may read server files anyway.
 */
static char *
read_key_file(const char *path, size_t *len)
{
	FILE	   *file;
	char	   *buf;
	size_t		n;

	file = AllocateFile(path, "r");
	if (file == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("could not open private key file \"%s\": %m", path),
				 errhint("The file named by option \"private_key_file\" must be readable by the PostgreSQL server process.")));

	buf = palloc(CKFDW_MAX_KEY_FILE_SIZE + 1);
	n = fread(buf, 1, CKFDW_MAX_KEY_FILE_SIZE + 1, file);
	if (ferror(file))
	{
		int			save_errno = errno;

		FreeFile(file);
		errno = save_errno;
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("could not read private key file \"%s\": %m", path)));
	}
	FreeFile(file);
	if (n > CKFDW_MAX_KEY_FILE_SIZE)
	{
		explicit_bzero(buf, n);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("private key file \"%s\" is too large to be a key", path)));
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void
disconnect_client(CkFdwConnection *entry)
{
	if (entry->client != NULL)
	{
		ck_client_free(entry->client);
		entry->client = NULL;
		entry->generation++;	/* its requests went with it */
		ReleaseExternalFD();
	}
	ckfdw_token_store_close(entry->tokens);
	entry->tokens = NULL;
	free_signin(entry->signin);
	entry->signin = NULL;
	entry->invalidated = false;
	entry->refcount = 0;
}

/*
 * The transport's wait: sockets, MyLatch and a timeout.  Returns false when
 * an interrupt that would raise an error is pending, so the transport stops
 * cleanly; the caller then raises it.  An error inside (say, epoll failing)
 * is caught and rethrown by the caller after the transport returned: nothing
 * may longjmp through libcurl.
 */
static bool
ckfdw_wait_hook(void *arg, const CkWaitSocket *socks, int nsocks,
				long timeout_ms)
{
	CkFdwConnection *entry = (CkFdwConnection *) arg;
	MemoryContext oldcxt = CurrentMemoryContext;
	WaitEventSet *volatile set = NULL;
	volatile bool result = true;

	if (InterruptPending && (QueryCancelPending || ProcDiePending))
		return false;

	PG_TRY();
	{
		WaitEvent	events[8];
		int			nevents;
		int			i;

		set = CreateWaitEventSet(CurrentMemoryContext, nsocks + 2);
		AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		for (i = 0; i < nsocks; i++)
		{
			uint32		ev = 0;

			if (socks[i].want_read)
				ev |= WL_SOCKET_READABLE;
			if (socks[i].want_write)
				ev |= WL_SOCKET_WRITEABLE;
			if (ev != 0 && socks[i].fd >= 0)
				AddWaitEventToSet(set, ev, socks[i].fd, NULL, NULL);
		}

		nevents = WaitEventSetWait(set, timeout_ms < 0 ? -1 : timeout_ms,
								   events, lengthof(events), PG_WAIT_EXTENSION);
		for (i = 0; i < nevents; i++)
		{
			if (events[i].events & WL_LATCH_SET)
				ResetLatch(MyLatch);
		}
		FreeWaitEventSet(set);
		set = NULL;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		if (set != NULL)
			FreeWaitEventSet(set);
		entry->hook_error = CopyErrorData();
		FlushErrorState();
		result = false;
	}
	PG_END_TRY();

	if (InterruptPending && (QueryCancelPending || ProcDiePending))
		return false;
	return result;
}

/*
 * Send a request through a client and return once it is over, whatever its
 * outcome: true when CloudKit answered with success, false otherwise, with
 * resp telling what happened (resp->kind; for a CloudKit error also its
 * serverErrorCode, reason and JSON body).  The caller handles the failures
 * it can and passes the others to ckfdw_report_response.
 *
 * A request stopped by a cancel, a timeout or a termination comes back as
 * CK_RESULT_ABORTED with the interrupt still pending, so that the caller can
 * say what the interruption leaves unknown; ckfdw_report_response raises it.
 * Only an error inside our wait hook is raised here.
 *
 * resp must be cleared by the caller (ck_response_clear), also after an
 * error: tie it to a memory context reset callback.
 */
bool
ckfdw_try_request(CkFdwConnection *conn, const char *method, const char *body,
				  bool idempotent, const CkFdwRequestInfo *info, CkResponse *resp)
{
	CkFdwPending *pending = ckfdw_start_request(conn, method, body,
												idempotent ? CK_REQUEST_IDEMPOTENT : 0,
												info);

	return ckfdw_finish_request(pending, resp);
}

/*
 * ckfdw_try_request for a read whose answer the caller parses itself: a
 * success comes back as resp->body (CK_REQUEST_RAW_BODY), resp->json NULL.
 */
bool
ckfdw_try_request_raw(CkFdwConnection *conn, const char *method,
					  const char *body, const CkFdwRequestInfo *info,
					  CkResponse *resp)
{
	CkFdwPending *pending = ckfdw_start_request(conn, method, body,
												CK_REQUEST_IDEMPOTENT | CK_REQUEST_RAW_BODY,
												info);

	return ckfdw_finish_request(pending, resp);
}

/* ckfdw_request for a read whose answer the caller parses itself. */
void
ckfdw_request_raw(CkFdwConnection *conn, const char *method, const char *body,
				  const CkFdwRequestInfo *info, CkResponse *resp)
{
	if (!ckfdw_try_request_raw(conn, method, body, info, resp))
		ckfdw_report_response(resp, info, NULL);
}

/*
 * A response that is cleared when cxt is reset or deleted, also after an
 * error: for an answer read across calls that may raise.
 */
typedef struct CkFdwHeldResponse
{
	CkResponse	resp;
	MemoryContextCallback cb;
} CkFdwHeldResponse;

static void
clear_held_response(void *arg)
{
	ck_response_clear(&((CkFdwHeldResponse *) arg)->resp);
}

CkResponse *
ckfdw_new_response(MemoryContext cxt)
{
	CkFdwHeldResponse *r = MemoryContextAllocZero(cxt, sizeof(CkFdwHeldResponse));

	r->cb.func = clear_held_response;
	r->cb.arg = r;
	MemoryContextRegisterResetCallback(cxt, &r->cb);
	return &r->resp;
}

/*
 * An answer of CloudKit's that a SQL function (zones, sharing) cannot use:
 * what describes the problem.
 */
void
ckfdw_report_bad_answer(const CkFdwRequestInfo *info, const char *servername,
						const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROTOCOL_VIOLATION),
			 errmsg("CloudKit sent an invalid response to the %s request",
					info->operation),
			 errdetail_internal("%s", what),
			 errcontext("CloudKit %s, server \"%s\"", info->operation, servername)));
}

/*
 * A request in flight.  It belongs to the memory context it was started in:
 * when that goes (the statement ended, or an error unwound it) before the
 * answer was taken, the request is cancelled, so nothing runs on unseen.
 */
struct CkFdwPending
{
	CkFdwConnection *conn;
	CkRequest  *req;			/* NULL once finished or cancelled */
	uint64		generation;		/* of conn's client when started */
	const CkFdwRequestInfo *info;
	MemoryContextCallback cancel_cb;
};

static void
cancel_pending(void *arg)
{
	CkFdwPending *pending = (CkFdwPending *) arg;
	CkFdwConnection *conn = pending->conn;

	/* a freed client freed its requests */
	if (pending->req != NULL && conn->generation == pending->generation)
	{
		/*
		 * CloudKit takes a web-auth token once the request is out, and its
		 * answer brings the next one: dropping the answer (a cursor closed
		 * while a page was read ahead) would lose the token for every
		 * session.  So wait for it, unless the transaction is failing (an
		 * error, a cancel), which must not wait.
		 */
		if (conn->tokens != NULL && IsTransactionState())
		{
			CkResponse	resp;

			(void) ck_client_wait(conn->client, pending->req);
			ck_request_finish(pending->req, &resp);
			ck_response_clear(&resp);
			conn->hook_error = NULL;
		}
		else
			ck_request_cancel(pending->req);
	}
	pending->req = NULL;
}

static CkFdwPending *
new_pending(CkFdwConnection *conn, const CkFdwRequestInfo *info)
{
	CkFdwPending *pending = palloc0(sizeof(CkFdwPending));

	pending->conn = conn;
	pending->generation = conn->generation;
	pending->info = info;
	conn->hook_error = NULL;
	return pending;
}

/* The request has started: it goes with the current memory context. */
static CkFdwPending *
track_pending(CkFdwPending *pending)
{
	if (pending->req == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	pending->cancel_cb.func = cancel_pending;
	pending->cancel_cb.arg = pending;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &pending->cancel_cb);
	return pending;
}

/*
 * Start a request and return at once (CK_REQUEST_* flags); the connection
 * runs it alongside the others it has in flight.  ckfdw_finish_request()
 * takes the answer.
 */
CkFdwPending *
ckfdw_start_request(CkFdwConnection *conn, const char *method, const char *body,
					int flags, const CkFdwRequestInfo *info)
{
	CkFdwPending *pending = new_pending(conn, info);

	if (ckfdw_log_requests)
		ereport(LOG,
				(errmsg("ckfdw: %s %s %s", method, info->operation,
						body ? body : ""),
				 errhidestmt(true)));

	pending->req = ck_request_start(conn->client, method, info->operation, body,
									body ? strlen(body) : 0, flags);
	return track_pending(pending);
}

/*
 * The same for a URL outside CloudKit's API (an asset's upload or download
 * URL): no authentication is added, the body goes as content_type, and the
 * answer's body is kept raw.  The URL is not logged: a download URL is a
 * credential while it lasts.
 */
CkFdwPending *
ckfdw_start_url_request(CkFdwConnection *conn, const char *method,
						const char *url, const char *content_type,
						const char *body, size_t body_len, int flags,
						const CkFdwRequestInfo *info)
{
	CkFdwPending *pending = new_pending(conn, info);

	if (ckfdw_log_requests)
		ereport(LOG,
				(errmsg("ckfdw: %s %s of %zu bytes", method, info->operation, body_len),
				 errhidestmt(true)));

	pending->req = ck_request_start_url(conn->client, method, url, content_type,
										body, body_len, flags);
	return track_pending(pending);
}

/*
 * The ckfdw server a SQL function names (ckfdw_zones, the sharing
 * functions, ckfdw_whoami): another wrapper's server is refused, the caller
 * needs USAGE on it, and *user is the caller's user mapping ("user mapping
 * not found for ..." when there is none).
 */
/* in ckfdw.c */
extern PGDLLEXPORT Datum ckfdw_handler(PG_FUNCTION_ARGS);

ForeignServer *
ckfdw_function_server(const char *servername, UserMapping **user)
{
	ForeignServer *server = GetForeignServerByName(servername, false);
	ForeignDataWrapper *fdw = GetForeignDataWrapper(server->fdwid);
	FmgrInfo	handler;
	AclResult	aclresult;

	if (OidIsValid(fdw->fdwhandler))
		fmgr_info(fdw->fdwhandler, &handler);
	if (!OidIsValid(fdw->fdwhandler) || handler.fn_addr != ckfdw_handler)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("server \"%s\" is not a ckfdw server", server->servername),
				 errdetail("It belongs to foreign-data wrapper \"%s\".", fdw->fdwname)));
	aclresult = pg_foreign_server_aclcheck(server->serverid, GetUserId(), ACL_USAGE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_FOREIGN_SERVER, server->servername);
	*user = GetUserMapping(GetUserId(), server->serverid);
	return server;
}

/*
 * Move the connection's requests on without waiting: send what can be sent,
 * read what has arrived.  Cheap (one poll(2)); called while rows are
 * converted so that a request read ahead is not left waiting for us.
 */
void
ckfdw_poll_requests(CkFdwConnection *conn)
{
	if (conn->client != NULL)
		ck_client_poll(conn->client);
}

/* Has the answer come (so that ckfdw_finish_request will not wait)? */
bool
ckfdw_request_ready(CkFdwPending *pending)
{
	return pending->req == NULL || ck_request_done(pending->req);
}

/* A started request, not yet finished, of a client that still exists. */
static void
check_waitable(CkFdwPending *pending)
{
	if (pending->req == NULL || pending->conn->generation != pending->generation)
		elog(ERROR, "ckfdw: a request was waited for after it was finished, or after its connection closed");
}

/*
 * Wait until a started request is done.  False when a cancel, a timeout or
 * an error in our wait hook stopped the wait: every unfinished request of
 * the connection then ends CK_RESULT_ABORTED; the caller takes their
 * answers, says what they leave unknown, and raises the cause
 * (ckfdw_rethrow_wait_error, or ckfdw_report_response of an aborted answer).
 */
bool
ckfdw_wait_request(CkFdwPending *pending)
{
	check_waitable(pending);
	if (ck_request_done(pending->req))
		return true;
	pending->conn->hook_error = NULL;
	return ck_client_wait(pending->conn->client, pending->req);
}

/* Has the answer come, and is it a success? */
bool
ckfdw_request_succeeded(CkFdwPending *pending)
{
	return pending->req != NULL && ck_request_succeeded(pending->req);
}

static void
remove_listener(void *arg)
{
	CkFdwListener *listener = (CkFdwListener *) arg;
	CkFdwListener **p;

	for (p = &listener->conn->listeners; *p != NULL; p = &(*p)->next)
	{
		if (*p == listener)
		{
			*p = listener->next;
			break;
		}
	}
}

/*
 * Call func(arg) whenever a request of conn is answered during
 * ckfdw_wait_request_listening or ckfdw_wait_any_request, until the
 * current memory context is reset.  listener is the caller's, in that
 * context.
 */
void
ckfdw_add_listener(CkFdwConnection *conn, CkFdwListener *listener,
				   void (*func) (void *arg), void *arg)
{
	listener->func = func;
	listener->arg = arg;
	listener->conn = conn;
	listener->next = conn->listeners;
	conn->listeners = listener;
	listener->cb.func = remove_listener;
	listener->cb.arg = listener;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &listener->cb);
}

static void
call_listeners(CkFdwConnection *conn)
{
	CkFdwListener *listener;

	if (conn->in_listeners)
		return;
	conn->in_listeners = true;
	PG_TRY();
	{
		for (listener = conn->listeners; listener != NULL; listener = listener->next)
			listener->func(listener->arg);
	}
	PG_FINALLY();
	{
		conn->in_listeners = false;
	}
	PG_END_TRY();
}

/*
 * ckfdw_wait_request, calling the connection's listeners each time one of
 * its requests is answered meanwhile: for the waits of a statement's
 * normal course (not those that settle its requests after an error).
 */
bool
ckfdw_wait_request_listening(CkFdwPending *pending)
{
	CkFdwConnection *conn = pending->conn;

	check_waitable(pending);
	while (!ck_request_done(pending->req))
	{
		if (conn->listeners == NULL)
			return ckfdw_wait_request(pending);
		conn->hook_error = NULL;
		if (!ck_client_wait(conn->client, NULL))
			return false;
		call_listeners(conn);
	}
	return true;
}

/*
 * Wait until some request of the connection finishes (or none is left),
 * then call the connection's listeners; false as for ckfdw_wait_request.
 */
bool
ckfdw_wait_any_request(CkFdwConnection *conn)
{
	conn->hook_error = NULL;
	if (!ck_client_wait(conn->client, NULL))
		return false;
	call_listeners(conn);
	return true;
}

/*
 * Take the answer of a request that is done (or was stopped), without
 * raising anything; the request is freed.
 */
void
ckfdw_take_request(CkFdwPending *pending, CkResponse *resp)
{
	if (pending->req == NULL || pending->conn->generation != pending->generation)
		elog(ERROR, "ckfdw: a request was finished twice, or after its connection closed");
	ck_request_finish(pending->req, resp);
	pending->req = NULL;
	pending->conn->requests += resp->attempts;

	if (ckfdw_log_requests)
		ereport(LOG,
				(errmsg("ckfdw: %s answered with HTTP %ld after %d attempt(s)",
						pending->info->operation, resp->http_status, resp->attempts),
				 errhidestmt(true)));

	/* the sign-in URL for the error's hint, should this be reported */
	auth_failure.resp = NULL;
	if (is_auth_failure(resp))
		note_auth_failure(pending->conn, resp);
}

/* Stop a request whose answer nobody wants any more. */
void
ckfdw_cancel_request(CkFdwPending *pending)
{
	cancel_pending(pending);
}

/*
 * Wait for a started request and take its answer: the same contract as
 * ckfdw_try_request().  Other requests of the connection go on meanwhile.
 */
bool
ckfdw_finish_request(CkFdwPending *pending, CkResponse *resp)
{
	(void) ckfdw_wait_request(pending);
	ckfdw_take_request(pending, resp);
	if (resp->kind == CK_RESULT_ABORTED)
		ckfdw_rethrow_wait_error(pending->conn);
	else if (pending->conn->tokens != NULL)
		ckfdw_token_store_raise(pending->conn->tokens);

	return resp->kind == CK_RESULT_OK;
}

/* Raise an error our wait hook caught while requests were in flight. */
void
ckfdw_rethrow_wait_error(CkFdwConnection *conn)
{
	if (conn->hook_error != NULL)
	{
		ErrorData  *edata = conn->hook_error;

		conn->hook_error = NULL;
		ReThrowError(edata);
	}
	/* a cancel while waiting for the token, a token that could not be kept */
	if (conn->tokens != NULL)
		ckfdw_token_store_raise(conn->tokens);
}

/* CloudKit refused the credentials, or wants a signed-in user. */
static bool
is_auth_failure(const CkResponse *resp)
{
	return resp->kind == CK_RESULT_SERVER_ERROR &&
		(resp->http_status == 401 || resp->http_status == 421 ||
		 strcmp(resp->server_error_code, "AUTHENTICATION_FAILED") == 0 ||
		 strcmp(resp->server_error_code, "AUTHENTICATION_REQUIRED") == 0);
}

/*
 * Keep a sign-in URL for the hint, with every occurrence of the API token
 * cut out: a token never goes into an error.
 */
static void
set_signin_url(const char *url, const char *api_token)
{
	StringInfoData buf;
	size_t		toklen = api_token ? strlen(api_token) : 0;
	const char *p = url;
	const char *hit;

	initStringInfo(&buf);
	while (toklen > 0 && (hit = strstr(p, api_token)) != NULL)
	{
		appendBinaryStringInfo(&buf, p, hit - p);
		appendStringInfoString(&buf, "<api_token>");
		p = hit + toklen;
	}
	appendStringInfoString(&buf, p);
	strlcpy(auth_failure.signin_url, ckfdw_message_text(buf.data),
			sizeof(auth_failure.signin_url));
	pfree(buf.data);
}

/*
 * A refused authentication of an API-token client: remember whether the
 * token it carried was CloudKit's own (then the sign-in expired or was used
 * up), and CloudKit's sign-in URL.  When the refusal came without one (a
 * dead token gets AUTHENTICATION_FAILED), ask for it as CloudKit JS does: a
 * request with the API token alone is answered with the URL.
 */
static void
note_auth_failure(CkFdwConnection *conn, const CkResponse *resp)
{
	const char *url;

	if (resp->auth != CK_AUTH_API_TOKEN || conn->signin == NULL)
		return;
	auth_failure.resp = resp;
	auth_failure.has_web_token = conn->tokens != NULL;
	auth_failure.token_spent = resp->web_auth_token_spent ||
		(conn->tokens != NULL && ckfdw_token_store_sent_spent(conn->tokens));
	auth_failure.signin_url[0] = '\0';

	url = ck_member_string(resp->json, "redirectURL");
	if (url != NULL)
	{
		set_signin_url(url, conn->signin->api_token);
		return;
	}

	if (AcquireExternalFD())
	{
		CkClient   *client;
		CkResponse	r;
		char		err[256];

		client = ck_client_new(&conn->signin->config, err, sizeof(err));
		if (client != NULL)
		{
			ck_client_set_wait_hook(client, ckfdw_wait_hook, conn);
			ck_client_request(client, "GET", "users/caller", NULL, 0, true, &r);
			conn->requests += r.attempts;
			url = (r.kind == CK_RESULT_SERVER_ERROR) ?
				ck_member_string(r.json, "redirectURL") : NULL;
			PG_TRY();
			{
				if (url != NULL)
					set_signin_url(url, conn->signin->api_token);
			}
			PG_FINALLY();
			{
				ck_response_clear(&r);
				ck_client_free(client);
				ReleaseExternalFD();
			}
			PG_END_TRY();
		}
		else
			ReleaseExternalFD();
		/* a cancel meanwhile is raised with the refusal's report */
		conn->hook_error = NULL;
	}
}

/*
 * Send a request through a client.  Returns only when CloudKit answered with
 * success; every other outcome is raised as an error here.  resp must be
 * cleared by the caller, as for ckfdw_try_request.
 */
void
ckfdw_request(CkFdwConnection *conn, const char *method, const char *body,
			  bool idempotent, const CkFdwRequestInfo *info, CkResponse *resp)
{
	if (!ckfdw_try_request(conn, method, body, idempotent, info, resp))
		ckfdw_report_response(resp, info, NULL);
}

/*
 * The descriptor that becomes readable when the connection's requests need
 * us (async Append waits on it), or -1 when none is in flight.
 */
int
ckfdw_request_wait_fd(CkFdwConnection *conn)
{
	return conn->client != NULL ? ck_client_wait_fd(conn->client) : -1;
}

/*
 * What a request was, for errmsg: "the query of record type \"Artist\"",
 * "the records/modify request for record type \"Artist\"".
 */
static char *
describe_request(const CkFdwRequestInfo *info)
{
	if (info->record_type == NULL)
		return psprintf("the %s request", info->operation);
	if (strcmp(info->operation, "records/query") == 0)
		return psprintf("the query of record type \"%s\"", info->record_type);
	if (strcmp(info->operation, "records/lookup") == 0)
		return psprintf("the lookup of record type \"%s\"", info->record_type);
	return psprintf("the %s request for record type \"%s\"",
					info->operation, info->record_type);
}

/* A detail with the caller's note, if any, on a line of its own. */
static char *
with_note(const char *detail, const char *note)
{
	if (note == NULL)
		return detail ? pstrdup(detail) : NULL;
	if (detail == NULL)
		return pstrdup(note);
	return psprintf("%s\n%s", detail, note);
}

/* errcontext naming the operation, record type and zone */
static int
request_errcontext(const CkFdwRequestInfo *info)
{
	if (info->record_type && info->zone && info->relname)
		return errcontext("CloudKit %s of record type \"%s\" in zone \"%s\", foreign table \"%s\"",
						  info->operation, info->record_type, info->zone,
						  info->relname);
	if (info->record_type && info->zone)
		return errcontext("CloudKit %s of record type \"%s\" in zone \"%s\"",
						  info->operation, info->record_type, info->zone);
	return errcontext("CloudKit %s", info->operation);
}

/* The SQLSTATE of a CloudKit error, from ck_error's table. */
static int
error_sqlstate(const CkErrorInfo *e)
{
	const char *s = e->sqlstate;

	if (s == NULL || strlen(s) != 5)
		return ERRCODE_FDW_ERROR;
	return MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);
}

/*
 * Raise a CloudKit error (a whole-request error, or one record's error dict
 * when record_name is set).  The uuid, only useful when asking Apple about a
 * request, goes to the server log.  note, if any, ends the detail.
 */
static void
report_server_error(const char *code, const char *reason, const char *uuid,
					long http_status, double retry_after, int attempts,
					const char *record_name, const CkFdwRequestInfo *info,
					const char *note, const char *own_hint)
{
	const CkErrorInfo *e = ck_error_lookup(code);
	char	   *what = describe_request(info);
	char	   *detail;
	char	   *log_detail;
	char	   *msg;
	char	   *hint;

	if (code == NULL || code[0] == '\0')
		code = e->code;
	if (reason == NULL || reason[0] == '\0')
		reason = "(no reason given)";
	/* CloudKit writes UTF-8; the database may use another encoding */
	code = ckfdw_message_text(code);
	reason = ckfdw_message_text(reason);
	if (record_name != NULL)
		record_name = ckfdw_message_text(record_name);

	if (http_status > 0)
		detail = psprintf("CloudKit error %s (HTTP %ld): %s", code, http_status, reason);
	else
		detail = psprintf("CloudKit error %s: %s", code, reason);
	if (uuid != NULL && uuid[0] != '\0')
		log_detail = with_note(psprintf("%s; request uuid %s", detail,
										ckfdw_message_text(uuid)), note);
	else
		log_detail = NULL;
	detail = with_note(detail, note);

	if (record_name != NULL)
		msg = psprintf("CloudKit returned an error for record \"%s\" in %s",
					   record_name, what);
	else if (e->retryable && attempts > 1)
		msg = psprintf("CloudKit could not serve %s after %d attempts", what, attempts);
	else if (e->retryable)
		msg = psprintf("CloudKit could not serve %s", what);
	else
		msg = psprintf("CloudKit rejected %s", what);

	if (own_hint != NULL)
		hint = pstrdup(own_hint);
	else if (e->retryable && retry_after >= 0)
		hint = psprintf("CloudKit asked to wait %g %s before trying again; retry then, or raise the server option \"max_retries\".",
						retry_after, retry_after == 1 ? "second" : "seconds");
	else
		hint = pstrdup(e->hint);

	ereport(ERROR,
			(errcode(error_sqlstate(e)),
			 errmsg_internal("%s", msg),
			 errdetail_internal("%s", detail),
			 log_detail ? errdetail_log("%s", log_detail) : 0,
			 errhint("%s", hint),
			 request_errcontext(info)));
}

/*
 * Raise the interrupt that stopped a request (a cancel, a timeout, a
 * termination), with the caller's note added to its detail.
 */
static void
report_interrupt(const CkFdwRequestInfo *info, const char *note,
				 const char *hint)
{
	if (note == NULL && hint == NULL)
		CHECK_FOR_INTERRUPTS();
	else
	{
		MemoryContext cxt = CurrentMemoryContext;

		/* ProcessInterrupts builds the error; we only add to its detail */
		PG_TRY();
		{
			CHECK_FOR_INTERRUPTS();
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			edata->detail = with_note(edata->detail, note);
			if (hint != NULL)
				edata->hint = edata->hint ? with_hint(edata->hint, hint) : pstrdup(hint);
			ReThrowError(edata);
		}
		PG_END_TRY();
	}

	/* the interrupt did not raise (held off): stop anyway */
	ereport(ERROR,
			(errcode(ERRCODE_QUERY_CANCELED),
			 errmsg("canceling CloudKit request"),
			 note ? errdetail_internal("%s", note) : 0,
			 hint ? errhint("%s", hint) : 0,
			 request_errcontext(info)));
}

/*
 * The hint of a refused authentication, naming only the options the user
 * mapping uses, with CloudKit's sign-in URL for a web-auth token; NULL when
 * resp is not a refused authentication.
 */
const char *
ckfdw_authentication_hint(const CkResponse *resp)
{
	bool		required;
	bool		spent;
	const char *signin;

	if (!is_auth_failure(resp))
		return NULL;
	required = resp->http_status == 421 ||
		strcmp(resp->server_error_code, "AUTHENTICATION_REQUIRED") == 0;

	/* only the options the user mapping uses */
	if (resp->auth == CK_AUTH_SERVER_KEY)
		return required ?
			"Server-to-server keys act as the developer, in the public database only: to act as an iCloud user, give the user mapping \"api_token\" and \"web_auth_token\" instead of \"key_id\"." :
			"Check the user mapping: \"key_id\" and the private key must belong to a server-to-server key of this container and environment, and the database server's clock must be correct.";
	if (resp->auth != CK_AUTH_API_TOKEN)
		return NULL;

	spent = resp->web_auth_token_spent;
	signin = "";
	if (auth_failure.resp == resp)
	{
		spent = auth_failure.token_spent;
		if (auth_failure.signin_url[0] != '\0')
			signin = psprintf(" CloudKit's sign-in page for this container: %s",
							  auth_failure.signin_url);
	}

	if (required)
		return psprintf("This database or operation needs a signed-in iCloud user: sign in and give the web-auth token to the user mapping's option \"web_auth_token\" (ALTER USER MAPPING ... OPTIONS (ADD web_auth_token '...'), or SET if it has one).%s",
						signin);
	if (auth_failure.resp == resp && !auth_failure.has_web_token)
		return "Check the user mapping's \"api_token\": it must be an API token of this container and environment.";
	if (spent)
		return psprintf("Sign in to iCloud again and give the new token to the user mapping's option \"web_auth_token\" (ALTER USER MAPPING ... OPTIONS (SET web_auth_token '...')); every session then starts over with it.%s",
						signin);
	return psprintf("Check the user mapping: \"api_token\" must be an API token of this container, and \"web_auth_token\" a current sign-in of an iCloud user (one expires, and CloudKit takes each token once and sends the next with its answer): sign in again and set the new token with ALTER USER MAPPING ... OPTIONS (SET web_auth_token '...').%s",
					signin);
}

/*
 * Did a transport error come from verifying the server's certificate?
 * ck_http gives libcurl's message only, so this reads it: OpenSSL's "SSL
 * certificate problem: ..." and a host name the certificate does not name.
 */
static bool
tls_verify_failure(const char *reason)
{
	return strstr(reason, "SSL certificate problem") != NULL ||
		strstr(reason, "certificate subject name") != NULL ||
		strstr(reason, "does not match target host name") != NULL ||
		strstr(reason, "certificate verify failed") != NULL;
}

/* Two hints in one: the failure's own, then what the caller adds. */
static char *
with_hint(const char *hint, const char *extra)
{
	if (extra == NULL)
		return pstrdup(hint);
	return psprintf("%s %s", hint, extra);
}

/*
 * Raise the error a failed CloudKit response stands for; see
 * ckfdw_report_response.  hint, if not NULL, follows the failure's own
 * hint (a write whose outcome is unknown says what to do about it).
 */
static void
report_response(const CkResponse *resp, const CkFdwRequestInfo *info,
				const char *note, const char *hint)
{
	char	   *what = describe_request(info);

	switch (resp->kind)
	{
		case CK_RESULT_SERVER_ERROR:
			{
				const char *auth_hint = ckfdw_authentication_hint(resp);

				if (auth_failure.resp == resp ? auth_failure.token_spent :
					resp->web_auth_token_spent)
					note = with_note("CloudKit refused the web-auth token its last answer handed out: the sign-in expired, or a request whose answer was lost used the token up (CloudKit takes each web-auth token once, and sends the next with its answer).",
									 note);
				report_server_error(resp->server_error_code, resp->reason, resp->uuid,
									resp->http_status, resp->retry_after,
									resp->attempts, NULL, info, note,
									auth_hint && hint ? with_hint(auth_hint, hint) :
									auth_hint ? auth_hint : hint);
			}
			break;
		case CK_RESULT_TRANSPORT:
			if (strstr(resp->reason, "error setting certificate") != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
						 errmsg("could not load the CA certificates of server option \"ca_file\" for %s", what),
						 errdetail_internal("%s", with_note(ckfdw_message_text(resp->reason), note)),
						 errhint("%s", with_hint("Set \"ca_file\" to a file the database server can read, holding CA certificates in PEM form.", hint)),
						 request_errcontext(info)));
			if (tls_verify_failure(resp->reason))
				ereport(ERROR,
						(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
						 errmsg("could not verify the TLS certificate of CloudKit's server for %s", what),
						 errdetail_internal("%s", with_note(ckfdw_message_text(resp->reason), note)),
						 errhint("%s", with_hint("The server's certificate must be signed by a trusted CA: for a service with a CA of its own (such as a test emulator), set the server option \"ca_file\" to that CA's certificate in PEM form; otherwise check the server option \"base_url\".", hint)),
						 request_errcontext(info)));
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("could not get an answer from CloudKit for %s", what),
					 errdetail_internal("%s", with_note(ckfdw_message_text(resp->reason), note)),
					 resp->attempts > 1 ?
					 errhint("%s", with_hint(psprintf("The request was tried %d times; check the network and the server option \"base_url\".",
													  resp->attempts), hint)) :
					 errhint("%s", with_hint("Check the network and the server option \"base_url\".", hint)),
					 request_errcontext(info)));
			break;
		case CK_RESULT_BAD_RESPONSE:
			ereport(ERROR,
					(errcode(resp->bad_text ? ERRCODE_UNTRANSLATABLE_CHARACTER :
							 ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("CloudKit sent an invalid response to %s", what),
					 errdetail_internal("HTTP %ld: %s", resp->http_status,
										with_note(ckfdw_message_text(resp->reason), note)),
					 hint ? errhint("%s", hint) : 0,
					 request_errcontext(info)));
			break;
		case CK_RESULT_TOO_LARGE:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("CloudKit response to %s exceeds the size limit", what),
					 errdetail_internal("%s", with_note(ckfdw_message_text(resp->reason), note)),
					 errhint("%s", with_hint(strcmp(info->operation, "records/modify") == 0 ?
											 "Raise the server option \"max_response_size\" or lower \"batch_size\"." :
											 "Raise the server option \"max_response_size\" or lower \"page_size\".",
											 hint)),
					 request_errcontext(info)));
			break;
		case CK_RESULT_CONFIG:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("could not send %s", what),
					 errdetail_internal("%s", with_note(ckfdw_message_text(resp->reason), note)),
					 request_errcontext(info)));
			break;
		case CK_RESULT_REFUSED_ADDRESS:
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to send %s to the database server's own machine", what),
					 errdetail_internal("%s", with_note("The server's base_url leads to a loopback address or an address of this machine; nothing was sent.", note)),
					 errhint("Only servers owned by a superuser may reach the database server's machine; ask a superuser to create the server."),
					 request_errcontext(info)));
			break;
		case CK_RESULT_ABORTED:
			report_interrupt(info, note, hint);
			break;
		case CK_RESULT_OK:
			break;
	}
	elog(ERROR, "unexpected CloudKit result %d", (int) resp->kind);
}

/*
 * Raise the error a failed CloudKit response (from ckfdw_try_request)
 * stands for.  note, if not NULL, is what the caller adds to the detail:
 * what the statement did so far, what the failure leaves unknown.
 */
void
ckfdw_report_response(const CkResponse *resp, const CkFdwRequestInfo *info,
					  const char *note)
{
	report_response(resp, info, note, NULL);
}

/*
 * The same with the caller's hint (if not NULL): what to do in the caller's
 * situation, such as a write whose outcome is unknown.  It replaces the
 * error table's hint for a CloudKit error, and follows the hint of a
 * transport failure.
 */
void
ckfdw_report_response_hint(const CkResponse *resp, const CkFdwRequestInfo *info,
							const char *note, const char *hint)
{
	report_response(resp, info, note, hint);
}

/* Raise the error dict CloudKit sent for one record of a batch or query. */
void
ckfdw_report_record_error(const char *server_error_code, const char *reason,
						  const char *record_name, double retry_after,
						  const CkFdwRequestInfo *info)
{
	report_server_error(server_error_code, reason, NULL, 0, retry_after, 1,
						record_name ? record_name : "(unnamed)", info, NULL, NULL);
	pg_unreachable();
}

/*
 * Syscache invalidation: drop the clients of a changed server or user
 * mapping, or mark them to be dropped when the scans using them end.
 */
static void
ckfdw_inval_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS scan;
	CkFdwConnection *entry;

	Assert(cacheid == FOREIGNSERVEROID || cacheid == USERMAPPINGOID ||
		   cacheid == AUTHOID);
	if (cacheid == AUTHOID)
		hashvalue = 0;			/* roles change rarely: drop every client */

	hash_seq_init(&scan, ConnectionHash);
	while ((entry = (CkFdwConnection *) hash_seq_search(&scan)))
	{
		if (entry->client == NULL)
			continue;
		if (hashvalue == 0 ||
			(cacheid == FOREIGNSERVEROID && entry->server_hashvalue == hashvalue) ||
			(cacheid == USERMAPPINGOID && entry->mapping_hashvalue == hashvalue))
		{
			if (entry->refcount == 0)
				disconnect_client(entry);
			else
				entry->invalidated = true;
		}
	}
}

/*
 * At the end of a transaction no scan is running any more; a scan ended by
 * an error never called ckfdw_release_connection.
 */
static void
ckfdw_xact_callback(XactEvent event, void *arg)
{
	HASH_SEQ_STATUS scan;
	CkFdwConnection *entry;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT)
		return;

	hash_seq_init(&scan, ConnectionHash);
	while ((entry = (CkFdwConnection *) hash_seq_search(&scan)))
	{
		entry->refcount = 0;
		entry->hook_error = NULL;
		if (entry->client != NULL && entry->invalidated)
			disconnect_client(entry);
	}
}

/*
 * ckfdw_get_connections: the clients this backend holds, like
 * postgres_fdw_get_connections.
 */
Datum
ckfdw_get_connections(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS scan;
	CkFdwConnection *entry;

	InitMaterializedSRF(fcinfo, 0);

	if (ConnectionHash == NULL)
		PG_RETURN_VOID();

	hash_seq_init(&scan, ConnectionHash);
	while ((entry = (CkFdwConnection *) hash_seq_search(&scan)))
	{
		Datum		values[4];
		bool		nulls[4];
		ForeignServer *server;

		if (entry->client == NULL)
			continue;

		memset(nulls, 0, sizeof(nulls));
		server = GetForeignServerExtended(entry->serverid, FSV_MISSING_OK);

		/* a server dropped in this transaction has no name any more */
		if (server != NULL)
			values[0] = CStringGetTextDatum(server->servername);
		else
			nulls[0] = true;
		if (OidIsValid(entry->userid))
		{
			char	   *name = GetUserNameFromId(entry->userid, true);

			if (name != NULL)
				values[1] = CStringGetTextDatum(name);
			else
				nulls[1] = true;
		}
		else
			values[1] = CStringGetTextDatum("public");
		values[2] = BoolGetDatum(!entry->invalidated);
		values[3] = Int64GetDatum(entry->requests);

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}

/*
 * ckfdw_disconnect(server name): drop this backend's clients of a server.
 * Returns true if one was dropped.
 */
Datum
ckfdw_disconnect(PG_FUNCTION_ARGS)
{
	ForeignServer *server;
	char	   *servername = text_to_cstring(PG_GETARG_TEXT_PP(0));

	server = GetForeignServerByName(servername, false);
	PG_RETURN_BOOL(disconnect_cached_clients(server->serverid));
}

/* ckfdw_disconnect_all(): drop all of this backend's clients. */
Datum
ckfdw_disconnect_all(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(disconnect_cached_clients(InvalidOid));
}

static bool
disconnect_cached_clients(Oid serverid)
{
	HASH_SEQ_STATUS scan;
	CkFdwConnection *entry;
	bool		result = false;

	if (ConnectionHash == NULL)
		return false;

	hash_seq_init(&scan, ConnectionHash);
	while ((entry = (CkFdwConnection *) hash_seq_search(&scan)))
	{
		if (entry->client == NULL)
			continue;
		if (OidIsValid(serverid) && entry->serverid != serverid)
			continue;
		if (entry->refcount > 0)
		{
			ForeignServer *server = GetForeignServerExtended(entry->serverid,
															 FSV_MISSING_OK);

			ereport(WARNING,
					(errmsg("cannot close the CloudKit client of server \"%s\" because it is still in use",
							server ? server->servername : "(dropped)")));
			continue;
		}
		disconnect_client(entry);
		result = true;
	}
	return result;
}
