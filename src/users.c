/*-------------------------------------------------------------------------
 *
 * users.c
 *		  ckfdw_whoami(server): the CloudKit user a user mapping acts as.
 *
 * CloudKit answers users/caller with the caller's user identity: for a
 * web-auth token the signed-in iCloud user, for a server-to-server key the
 * developer who owns it.  users/caller lives in the public database
 * (cloudkit-web-services.md section 1), so the request goes there whatever
 * the server's "database" option, through a client of its own that shares
 * the user mapping's web-auth token (token_store.c).  One line tells a user
 * whether a set-up works, and a failure is the error a query would get.
 *
 * IDENTIFICATION
 *		  src/users.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ckfdw_json.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "ckfdw.h"

PG_FUNCTION_INFO_V1(ckfdw_whoami);

#define WHOAMI_NCOLUMNS 4

/* A string member of obj as text in the database encoding, or NULL. */
static char *
string_member(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
		!json_object_object_get_ex(obj, key, &v) ||
		!json_object_is_type(v, json_type_string))
		return NULL;
	return ckfdw_from_utf8(json_object_get_string(v), json_object_get_string_len(v));
}

static struct json_object *
object_member(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
		!json_object_object_get_ex(obj, key, &v) ||
		!json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

/*
 * ckfdw_whoami(server name): user_record_name, given_name, family_name and
 * email_address of the CloudKit user the caller's user mapping acts as.
 */
Datum
ckfdw_whoami(PG_FUNCTION_ARGS)
{
	ForeignServer *server;
	UserMapping *user;
	CkFdwOptions *options;
	CkFdwConnection *conn;
	CkFdwRequestInfo info;
	CkResponse *resp;
	TupleDesc	tupdesc;
	Datum		values[WHOAMI_NCOLUMNS];
	bool		nulls[WHOAMI_NCOLUMNS];
	char	   *fields[WHOAMI_NCOLUMNS];
	struct json_object *names;
	struct json_object *lookup;
	int			i;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	server = ckfdw_function_server(NameStr(*PG_GETARG_NAME(0)), &user);

	options = ckfdw_get_options(server, NULL, NULL);
	options->database = "public";
	conn = ckfdw_open_connection(user, server, options);

	resp = ckfdw_new_response(CurrentMemoryContext);
	memset(&info, 0, sizeof(info));
	info.operation = "users/caller";
	if (!ckfdw_try_request(conn, "GET", NULL, true, &info, resp))
		ckfdw_report_response(resp, &info, NULL);

	fields[0] = string_member(resp->json, "userRecordName");
	if (fields[0] == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("CloudKit's answer to users/caller names no user"),
				 errdetail("The answer has no string \"userRecordName\".")));
	names = object_member(resp->json, "nameComponents");
	lookup = object_member(resp->json, "lookupInfo");
	fields[1] = string_member(names, "givenName");
	fields[2] = string_member(names, "familyName");
	fields[3] = string_member(lookup, "emailAddress");

	for (i = 0; i < WHOAMI_NCOLUMNS; i++)
	{
		nulls[i] = fields[i] == NULL;
		values[i] = nulls[i] ? (Datum) 0 : CStringGetTextDatum(fields[i]);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}
