/*-------------------------------------------------------------------------
 *
 * ck_error.c
 *		  The table of CloudKit serverErrorCodes.
 *
 * The codes and HTTP statuses are Apple's complete list (CloudKit Web
 * Services Reference, "Error Codes").  The SQLSTATEs are our choice; the
 * reasoning for each is next to the entry.  Transport failures (connect,
 * TLS, timeout, reset) are not in this table: the extension reports those as
 * class 08 connection exceptions.
 *
 * src/ck/ck_error.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "ck/ck_error.h"

static const CkErrorInfo ck_errors[] = {
	/* 42501 insufficient_privilege: a permission check, as in SQL GRANTs */
	{"ACCESS_DENIED", 403, false, "42501",
		"Check the record type's grants in CloudKit Console (the public database needs READ for \"_world\", CREATE for \"_icloud\" and WRITE for \"_creator\"); server-to-server keys reach only the public database.  In the shared database the share's owner decides: a READ_ONLY participant cannot write until the owner raises the permission (ckfdw_share_add_participant)."},

	/*
	 * HV000 fdw_error: a sibling of the real failure in an atomic batch; the
	 * culprit carries its own code, which is what should be reported.
	 */
	{"ATOMIC_ERROR", 400, false, "HV000",
		"Another operation in the same atomic batch failed, so nothing was saved; fix the failing record and retry the statement."},

	/* 28000 invalid_authorization_specification: credentials rejected */
	{"AUTHENTICATION_FAILED", 401, false, "28000",
		"Check the user mapping: key_id and the private key must belong to a server-to-server key of this container and environment (and the clock must be correct), or the API token must be valid for this container."},

	/* 28000 too: a signed-in user is missing, which is an authorization problem */
	{"AUTHENTICATION_REQUIRED", 421, false, "28000",
		"This database or operation needs a signed-in iCloud user: add a current web_auth_token to the user mapping (private and shared databases, and writes with an API token, need one)."},

	/*
	 * HV00L fdw_unable_to_create_execution: CloudKit could not run the
	 * request as sent (unknown field, wrong value type, unindexed field).
	 */
	{"BAD_REQUEST", 400, false, "HV00L",
		"Check the foreign table's field names and types, and that filtered or sorted fields are marked QUERYABLE or SORTABLE in the CloudKit schema."},

	/* 40001 serialization_failure: optimistic-locking failure on the change tag */
	{"CONFLICT", 409, false, "40001",
		"The record was changed by someone else after it was read; re-read it and retry the transaction."},

	/* 23505 unique_violation: a record with this recordName already exists */
	{"EXISTS", 409, false, "23505",
		"A record with this recordName already exists; update it instead, or insert under another name."},

	/*
	 * HV000 fdw_error: a fault on the remote side (XX000 is reserved for
	 * PostgreSQL's own internal errors).
	 */
	{"INTERNAL_ERROR", 500, true, "HV000",
		"CloudKit reported an internal error; retry later."},

	/*
	 * HV00R fdw_table_not_found: a request-level 404 means the container,
	 * environment or database in the path does not exist.  (A per-record
	 * NOT_FOUND in records/lookup simply means no such record.)
	 */
	{"NOT_FOUND", 404, false, "HV00R",
		"Check the server's container, environment and database options, and the record name."},

	/* 53400 configuration_limit_exceeded: a quota set by the service */
	{"QUOTA_EXCEEDED", 413, false, "53400",
		"The container's storage quota (public database) or the user's iCloud quota (private database) is used up; delete data or raise the quota."},

	/*
	 * 53000 insufficient_resources: the service refused for lack of capacity
	 * granted to us; class 53 is conventionally treated as transient.
	 */
	{"THROTTLED", 429, true, "53000",
		"CloudKit is rate-limiting this container; wait the time it asked for before retrying, or send fewer requests."},

	/*
	 * 57P03 cannot_connect_now: the service is temporarily unavailable,
	 * which retry logic conventionally treats as transient.
	 */
	{"TRY_AGAIN_LATER", 503, true, "57P03",
		"CloudKit is temporarily unavailable; retry later."},

	/* 23503 foreign_key_violation: a VALIDATE reference's target is missing */
	{"VALIDATING_REFERENCE_ERROR", 412, false, "23503",
		"A REFERENCE with action VALIDATE points to a record that does not exist (or a referenced record is still in use); write the target record first, or use action NONE."},

	/*
	 * HV00Q fdw_schema_not_found: a zone is CloudKit's namespace of records,
	 * the nearest thing to a schema.
	 */
	{"ZONE_NOT_FOUND", 404, false, "HV00Q",
		"Check the foreign table's zone option: the public database has only \"_defaultZone\"; custom zones exist only in the private database.  In the shared database a zone is there only while its owner shares it with this user: ckfdw_zones lists them, and zone_owner must name the owner."},
};

#define CK_NERRORS ((int) (sizeof(ck_errors) / sizeof(ck_errors[0])))

/* Codes CloudKit adds later (or a server that is not CloudKit) land here. */
static const CkErrorInfo ck_unknown_error = {
	"UNKNOWN_ERROR", 0, false, "HV000",
	"CloudKit answered with an error code ckfdw does not know; the server's reason is in the detail."
};

const CkErrorInfo *
ck_error_lookup(const char *server_error_code)
{
	int			i;

	if (server_error_code != NULL)
	{
		for (i = 0; i < CK_NERRORS; i++)
		{
			if (strcmp(ck_errors[i].code, server_error_code) == 0)
				return &ck_errors[i];
		}
	}
	return &ck_unknown_error;
}

const CkErrorInfo *
ck_error_for_status(int http_status)
{
	/*
	 * Where two codes share a status (400, 404, 409), the more general one
	 * wins: BAD_REQUEST, NOT_FOUND, CONFLICT.
	 */
	switch (http_status)
	{
		case 400:
			return ck_error_lookup("BAD_REQUEST");
		case 401:
			return ck_error_lookup("AUTHENTICATION_FAILED");
		case 403:
			return ck_error_lookup("ACCESS_DENIED");
		case 404:
			return ck_error_lookup("NOT_FOUND");
		case 409:
			return ck_error_lookup("CONFLICT");
		case 412:
			return ck_error_lookup("VALIDATING_REFERENCE_ERROR");
		case 413:
			return ck_error_lookup("QUOTA_EXCEEDED");
		case 421:
			return ck_error_lookup("AUTHENTICATION_REQUIRED");
		case 429:
			return ck_error_lookup("THROTTLED");
		case 500:
			return ck_error_lookup("INTERNAL_ERROR");
		case 503:
			return ck_error_lookup("TRY_AGAIN_LATER");
		default:
			return NULL;
	}
}

const CkErrorInfo *
ck_error_table(int *n)
{
	*n = CK_NERRORS;
	return ck_errors;
}
