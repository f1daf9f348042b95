/*-------------------------------------------------------------------------
 *
 * ck_error.h
 *		The table of CloudKit serverErrorCodes: HTTP status, whether a retry
 *		may help, and the SQLSTATE and hint the extension reports.
 *
 * The SQLSTATE is kept as its five characters so this stays free of
 * PostgreSQL headers; the extension turns it into an errcode.
 *
 * src/ck/ck_error.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CK_ERROR_H
#define CK_ERROR_H

#include <stdbool.h>

typedef struct CkErrorInfo
{
	const char *code;			/* serverErrorCode, e.g. "CONFLICT" */
	int			http_status;	/* status CloudKit answers with, e.g. 409 */
	bool		retryable;		/* THROTTLED, TRY_AGAIN_LATER, INTERNAL_ERROR */
	const char *sqlstate;		/* e.g. "40001" */
	const char *hint;			/* what the user should do; never NULL */
} CkErrorInfo;

/*
 * Look up a serverErrorCode.  Unknown codes (CloudKit may add some) get a
 * generic entry with code "UNKNOWN_ERROR", not NULL.
 */
extern const CkErrorInfo *ck_error_lookup(const char *server_error_code);

/* The serverErrorCode CloudKit uses for an HTTP status, or NULL. */
extern const CkErrorInfo *ck_error_for_status(int http_status);

/* All entries, for the emulator and the tests; *n gets the count. */
extern const CkErrorInfo *ck_error_table(int *n);

#endif							/* CK_ERROR_H */
