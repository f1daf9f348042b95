/*-------------------------------------------------------------------------
 *
 * token_store.c
 *		  The newest web-auth token of a user mapping, shared by every
 *		  session of the cluster and kept across restarts.
 *
 * CloudKit takes a web-auth token once and sends its replacement with the
 * answer.  A token that lived only in one backend's client would die with
 * the session: the next session would start again from the user mapping's
 * option, which CloudKit has long used up.  So the token in use lives in a
 * file of the data directory, one per user mapping, and every request that
 * carries it runs inside the transport's token hooks:
 *
 *	begin	take the user mapping's token lock (a heavyweight lock, so that
 *			a cancel or statement_timeout breaks the wait), read the file
 *			and go on from its token when it is newer than the client's;
 *	end		write the token the answer left (rotated or not) to the file,
 *			atomically, and release the lock.
 *
 * Requests of all sessions of one user mapping are thereby serialised: a
 * token is never sent twice at once.  The lock is never an LWLock, since it
 * is held across the network wait.
 *
 * The files live in $PGDATA/ckfdw_tokens (mode 0700), are named
 * <database OID>_<user mapping OID>, have mode 0600 whatever the cluster's
 * group access, and hold the token with the "origin" of the chain it
 * belongs to: a hash of the server's base_url, container and environment
 * and of the user mapping's api_token and web_auth_token.  When the user
 * signs in again and sets a new web_auth_token, or the server is pointed
 * elsewhere, the origin no longer matches and the option's token is used
 * (and then stored) instead.  README.md ("Web-auth tokens") explains what
 * this means for replicas and backups.
 *
 * Nothing here may longjmp out of a hook: errors are caught, kept, and
 * raised by the caller (ckfdw_token_store_raise) once the transport has
 * returned.
 *
 * IDENTIFICATION
 *		  src/token_store.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/cryptohash.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "ckfdw.h"

/* The directory in the data directory, and its files' first line. */
#define TOKEN_DIR			"ckfdw_tokens"
#define TOKEN_FILE_MAGIC	"ckfdw web-auth token 1"

/* Longest file we read: real tokens are a few hundred bytes. */
#define TOKEN_FILE_MAX		(64 * 1024)

/*
 * locktag_field4 of our advisory locks: pg_advisory_lock uses 1 and 2, so
 * ours never meet a user's advisory lock ("CK").
 */
#define TOKEN_LOCK_SPACE	0x434B

#define SHA256_LEN			32

struct CkFdwTokenStore
{
	Oid			dbid;
	Oid			umid;
	char		path[MAXPGPATH];
	char		origin[SHA256_LEN * 2 + 1]; /* hex */
	uint8		option_token[SHA256_LEN];	/* hash of the option's token */
	bool		locked;

	/* the file as read at begin(): what end() need not write again */
	char	   *seen_token;		/* malloc'd; NULL: no usable file */
	bool		seen_in_doubt;

	/* about the token the last request carried, for the error's hint */
	bool		sent_rotated;	/* CloudKit handed it out */
	bool		sent_in_doubt;	/* a request without an answer carried it */

	ErrorData  *error;			/* raise after the request: it was stopped */
	ErrorData  *warning;		/* report after the request: it went on */
	CkTokenHooks hooks;
};

static bool token_begin(void *arg, char **token);
static void token_end(void *arg, const char *token, bool in_doubt);

/* Overwrite a secret before freeing it. */
static void
free_secret(char *s)
{
	if (s != NULL)
	{
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void
sha256_update_str(pg_cryptohash_ctx *ctx, const char *s)
{
	/* the terminating NUL separates the parts */
	if (s == NULL)
		s = "";
	if (pg_cryptohash_update(ctx, (const uint8 *) s, strlen(s) + 1) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
}

/* SHA-256 over NUL-terminated parts (NULL ends the list). */
static void
sha256_parts(uint8 *out, const char *first,...)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	va_list		ap;
	const char *s;

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
	va_start(ap, first);
	for (s = first; s != NULL; s = va_arg(ap, const char *))
		sha256_update_str(ctx, s);
	va_end(ap);
	if (pg_cryptohash_final(ctx, out, SHA256_LEN) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
}

/*
 * The store of a user mapping whose client uses config (API-token
 * authentication with a web-auth token).  It lives in TopMemoryContext,
 * with its client.
 */
CkFdwTokenStore *
ckfdw_token_store_open(Oid umid, const CkClientConfig *config)
{
	CkFdwTokenStore *store;
	uint8		origin[SHA256_LEN];

	store = MemoryContextAllocZero(TopMemoryContext, sizeof(CkFdwTokenStore));
	store->dbid = MyDatabaseId;
	store->umid = umid;
	snprintf(store->path, sizeof(store->path), "%s/%u_%u",
			 TOKEN_DIR, MyDatabaseId, umid);
	sha256_parts(origin, "ckfdw web-auth token origin", config->base_url,
				 config->container, config->environment, config->api_token,
				 config->web_auth_token, (const char *) NULL);
	hex_encode((const char *) origin, SHA256_LEN, store->origin);
	store->origin[SHA256_LEN * 2] = '\0';
	sha256_parts(store->option_token, config->web_auth_token, (const char *) NULL);
	store->hooks.begin = token_begin;
	store->hooks.end = token_end;
	store->hooks.arg = store;
	return store;
}

void
ckfdw_token_store_close(CkFdwTokenStore *store)
{
	if (store == NULL)
		return;
	/* a transaction-level lock: the end of the transaction releases it */
	free_secret(store->seen_token);
	pfree(store);
}

/* Let the client's requests go through the store. */
void
ckfdw_token_store_attach(CkFdwTokenStore *store, CkClient *client)
{
	ck_client_set_token_hooks(client, &store->hooks);
}

/*
 * After a request: raise the error that stopped it inside a hook, report
 * what went wrong in a hook that let it go on.
 */
void
ckfdw_token_store_raise(CkFdwTokenStore *store)
{
	if (store->warning != NULL)
	{
		ErrorData  *edata = store->warning;

		store->warning = NULL;
		edata->elevel = WARNING;
		ThrowErrorData(edata);
	}
	if (store->error != NULL)
	{
		ErrorData  *edata = store->error;

		store->error = NULL;
		ReThrowError(edata);
	}
}

/*
 * Whether the token the last request carried was one CloudKit handed out
 * (the sign-in itself was accepted before), or one a request whose answer
 * was lost carried: then a refusal means the sign-in expired or the token
 * was used up, not that the option is wrong.
 */
bool
ckfdw_token_store_sent_spent(const CkFdwTokenStore *store)
{
	return store->sent_rotated || store->sent_in_doubt;
}

/*
 * Read the store's file into seen_token / seen_in_doubt.  A missing file,
 * or one of another chain (origin), leaves seen_token NULL.
 */
static void
read_token_file(CkFdwTokenStore *store)
{
	char	   *buf;
	int			fd;
	ssize_t		n;
	char	   *line;
	char	   *next;
	int			lineno = 0;
	bool		origin_ok = false;
	bool		in_doubt = false;
	char	   *token = NULL;

	free_secret(store->seen_token);
	store->seen_token = NULL;
	store->seen_in_doubt = false;

	fd = OpenTransientFile(store->path, O_RDONLY | PG_BINARY);
	if (fd < 0)
	{
		if (errno == ENOENT)
			return;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open web-auth token file \"%s\": %m", store->path)));
	}
	buf = palloc(TOKEN_FILE_MAX + 1);
	n = read(fd, buf, TOKEN_FILE_MAX + 1);
	if (n < 0)
	{
		int			save_errno = errno;

		CloseTransientFile(fd);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read web-auth token file \"%s\": %m", store->path)));
	}
	CloseTransientFile(fd);
	buf[Min(n, TOKEN_FILE_MAX)] = '\0';

	for (line = buf; line != NULL && *line != '\0'; line = next)
	{
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		if (lineno == 1 && strcmp(line, TOKEN_FILE_MAGIC) != 0)
			break;
		else if (strncmp(line, "origin ", 7) == 0)
			origin_ok = strcmp(line + 7, store->origin) == 0;
		else if (strncmp(line, "in_doubt ", 9) == 0)
			in_doubt = strcmp(line + 9, "1") == 0;
		else if (strncmp(line, "token ", 6) == 0 && line[6] != '\0')
			token = line + 6;
	}

	/* a file cut short (it never is: written atomically) or of another chain */
	if (n <= TOKEN_FILE_MAX && lineno >= 4 && origin_ok && token != NULL)
	{
		store->seen_token = strdup(token);
		if (store->seen_token == NULL)
		{
			explicit_bzero(buf, n);
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
		}
		store->seen_in_doubt = in_doubt;
	}
	explicit_bzero(buf, Min(n, TOKEN_FILE_MAX + 1));
	pfree(buf);
}

/*
 * Write the file: to a temporary file of mode 0600, made durable and
 * renamed over the old one, so that a crash leaves the old token or the
 * new one, never half of one.
 */
static void
write_token_file(CkFdwTokenStore *store, const char *token, bool in_doubt)
{
	char		tmp[MAXPGPATH];
	char	   *text;
	size_t		len;
	int			fd;

	if (strchr(token, '\n') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("CloudKit sent a web-auth token with a line break")));

	if (mkdir(TOKEN_DIR, S_IRWXU) < 0 && errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", TOKEN_DIR)));

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", store->path, MyProcPid);
	text = psprintf("%s\norigin %s\nin_doubt %d\ntoken %s\n", TOKEN_FILE_MAGIC,
					store->origin, in_doubt ? 1 : 0, token);
	len = strlen(text);

	fd = OpenTransientFilePerm(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY,
							   S_IRUSR | S_IWUSR);
	if (fd < 0)
	{
		explicit_bzero(text, len);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create web-auth token file \"%s\": %m", tmp)));
	}
	errno = 0;
	if (write(fd, text, len) != (ssize_t) len)
	{
		int			save_errno = errno ? errno : ENOSPC;

		explicit_bzero(text, len);
		CloseTransientFile(fd);
		unlink(tmp);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write web-auth token file \"%s\": %m", tmp)));
	}
	explicit_bzero(text, len);
	pfree(text);
	if (CloseTransientFile(fd) != 0)
	{
		int			save_errno = errno;

		unlink(tmp);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close web-auth token file \"%s\": %m", tmp)));
	}
	/* fsyncs the file and the directory (when the server's fsync is on) */
	if (durable_rename(tmp, store->path, LOG) != 0)
	{
		int			save_errno = errno;

		unlink(tmp);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not rename web-auth token file \"%s\" to \"%s\": %m",
						tmp, store->path)));
	}

	free_secret(store->seen_token);
	store->seen_token = strdup(token);
	store->seen_in_doubt = in_doubt;
}

static void
token_lock_tag(const CkFdwTokenStore *store, LOCKTAG *tag)
{
	SET_LOCKTAG_ADVISORY(*tag, store->dbid, store->umid, 0, TOKEN_LOCK_SPACE);
}

/*
 * Before a request with the token: wait for the other sessions of this user
 * mapping, and go on from the newest token.  False (with store->error set)
 * stops the request: a cancel while waiting, or a file we cannot read.
 */
static bool
token_begin(void *arg, char **token)
{
	CkFdwTokenStore *store = (CkFdwTokenStore *) arg;
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile bool ok = true;

	store->error = NULL;
	PG_TRY();
	{
		LOCKTAG		tag;
		uint8		hash[SHA256_LEN];

		token_lock_tag(store, &tag);
		/* waits interruptibly: a cancel raises an error here */
		(void) LockAcquire(&tag, ExclusiveLock, false, false);
		store->locked = true;

		read_token_file(store);
		if (store->seen_token != NULL && strcmp(store->seen_token, *token) != 0)
		{
			char	   *copy = strdup(store->seen_token);

			if (copy == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("out of memory")));
			free_secret(*token);
			*token = copy;
		}
		sha256_parts(hash, *token, (const char *) NULL);
		store->sent_rotated = memcmp(hash, store->option_token, SHA256_LEN) != 0;
		store->sent_in_doubt = store->seen_token != NULL && store->seen_in_doubt;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		store->error = CopyErrorData();
		FlushErrorState();
		/* a lock wait broken by the error: leave the wait queue now */
		LockErrorCleanup();
		ok = false;
	}
	PG_END_TRY();

	if (!ok && store->locked)
	{
		LOCKTAG		tag;

		token_lock_tag(store, &tag);
		LockRelease(&tag, ExclusiveLock, false);
		store->locked = false;
	}
	return ok;
}

/*
 * After the request: keep the token it left for every later request, and
 * let the next session go.
 */
static void
token_end(void *arg, const char *token, bool in_doubt)
{
	CkFdwTokenStore *store = (CkFdwTokenStore *) arg;
	MemoryContext oldcxt = CurrentMemoryContext;
	LOCKTAG		tag;
	bool		held;

	/*
	 * A request cancelled while its transaction is aborted ends after the
	 * transaction's locks are gone: another session may have the turn, and
	 * the file is then its to write.
	 */
	token_lock_tag(store, &tag);
	held = store->locked && LockHeldByMe(&tag, ExclusiveLock);
	store->locked = false;

	PG_TRY();
	{
		if (held && token != NULL &&
			(store->seen_token == NULL || strcmp(store->seen_token, token) != 0 ||
			 store->seen_in_doubt != in_doubt))
			write_token_file(store, token, in_doubt);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		/* this session goes on with the token; others cannot */
		edata->detail = pstrdup("The web-auth token CloudKit sent last could not be kept for other sessions and for after a restart; they may have to sign in again.");
		if (store->warning == NULL)
			store->warning = edata;
	}
	PG_END_TRY();

	if (held)
		LockRelease(&tag, ExclusiveLock, false);
}
