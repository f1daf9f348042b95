/*-------------------------------------------------------------------------
 *
 * zones.c
 *		  Zones as data: list, create and delete zones, and read which zones
 *		  of a database changed since a token (changes/database)
 *
 * These SQL functions talk to CloudKit outside any foreign table, so they
 * do the checks a scan gets from the executor themselves: the server must
 * be a ckfdw server, the caller needs USAGE on it (as for a user mapping)
 * and a user mapping, whose client from the connection cache they use.
 *
 * Deleting a zone deletes every record in it.  Nothing in ckfdw does that
 * but ckfdw_delete_zone, called by name.
 *
 * IDENTIFICATION
 *		  src/zones.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ckfdw_json.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "ckfdw.h"
#include "ck/ck_record.h"
#include "ck/ck_error.h"

/*
 * changes/database lists each changed zone; a database with more changed
 * zones than this is better mirrored zone by zone (ckfdw_zones), and the
 * cap keeps a server that never stops saying moreComing from looping.
 */
#define CKFDW_MAX_DATABASE_CHANGES	10000

/* the columns of ckfdw_zones and ckfdw_create_zone */
#define ZONE_NCOLUMNS	5

PG_FUNCTION_INFO_V1(ckfdw_zones);
PG_FUNCTION_INFO_V1(ckfdw_create_zone);
PG_FUNCTION_INFO_V1(ckfdw_delete_zone);
PG_FUNCTION_INFO_V1(ckfdw_database_changes);

/* A function's CloudKit client, for the duration of one call. */
typedef struct ZoneCall
{
	ForeignServer *server;
	CkFdwOptions *options;
	CkFdwConnection *conn;
	CkFdwRequestInfo info;
} ZoneCall;


/* One entry of changes/database, as collected over the pages. */
typedef struct ZoneChange
{
	char	   *zone_name;
	char	   *owner;			/* NULL when CloudKit named none */
	bool		deleted;
	int			seq;			/* order of appearance: the last one counts */
} ZoneChange;

static void zone_call_begin(ZoneCall *call, Name servername);
static CkResponse *zone_send(ZoneCall *call, const char *method,
							   const char *operation, const char *body,
							   bool idempotent);
static void report_request_error(ZoneCall *call, const CkResponse *resp,
								 const char *msg, const char *hint)
			pg_attribute_noreturn();
static void report_zone_error(ZoneCall *call, struct json_object *entry,
							  const char *msg, const char *hint)
			pg_attribute_noreturn();
static void report_bad_answer(ZoneCall *call, const char *what)
			pg_attribute_noreturn();
static int	sqlstate_of(const char *code);
static struct json_object *zone_list(ZoneCall *call, struct json_object *root);
static bool is_zone_error(struct json_object *entry);
static const char *zone_error_code(struct json_object *entry);
static void zone_to_values(ZoneCall *call, struct json_object *zone,
						   Datum *values, bool *nulls);
static struct json_object *lookup_zone(ZoneCall *call, const char *zone_name,
									   CkResponse **zr);
static char *zone_id_body(const char *zone_name);
static Datum zone_result(FunctionCallInfo fcinfo, ZoneCall *call,
						 struct json_object *zone);
static const char *custom_zone_hint(ZoneCall *call);
static int	zone_change_cmp(const void *a, const void *b);
static Datum zone_id_array(ZoneChange *changes, int n, bool deleted,
						   Oid array_type);

/*
 * Look the server up and check what a scan's executor would: that it is a
 * ckfdw server, that the caller may use it, and that a user mapping gives
 * the caller credentials.
 */
static void
zone_call_begin(ZoneCall *call, Name servername)
{
	ForeignServer *server;
	UserMapping *user;

	server = ckfdw_function_server(NameStr(*servername), &user);

	call->server = server;
	call->options = ckfdw_get_options(server, NULL, NULL);
	call->conn = ckfdw_get_connection(user, server, call->options);
	memset(&call->info, 0, sizeof(call->info));
}

static void
zone_call_end(ZoneCall *call)
{
	ckfdw_release_connection(call->conn);
}

/*
 * Send a request; whatever its outcome, the response is cleared with the
 * current memory context, also after an error.
 */
static CkResponse *
zone_send(ZoneCall *call, const char *method, const char *operation,
		  const char *body, bool idempotent)
{
	CkResponse *resp = ckfdw_new_response(CurrentMemoryContext);

	call->info.operation = operation;
	ckfdw_try_request(call->conn, method, body, idempotent, &call->info, resp);
	return resp;
}

/* The SQLSTATE of a serverErrorCode, from ck_error's table. */
static int
sqlstate_of(const char *code)
{
	const char *s = ck_error_lookup(code)->sqlstate;

	if (s == NULL || strlen(s) != 5)
		return ERRCODE_FDW_ERROR;
	return MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);
}

/*
 * The hint for a CloudKit error: the caller's for what it knows best (a
 * refused request, a missing zone), the error table's for the rest
 * (credentials, permissions, quotas).
 */
static const char *
error_hint(const char *code, const char *hint)
{
	if (hint != NULL && (strcmp(code, "BAD_REQUEST") == 0 ||
						 strcmp(code, "ZONE_NOT_FOUND") == 0))
		return hint;
	return ck_error_lookup(code)->hint;
}

/*
 * Raise a failed request.  A CloudKit error that a retry cannot cure gets
 * msg and the caller's hint; everything else (transport problems, throttling
 * after the retries, a cancel) is reported as for a scan.
 */
static void
report_request_error(ZoneCall *call, const CkResponse *resp, const char *msg,
					 const char *hint)
{
	if (resp->kind == CK_RESULT_SERVER_ERROR &&
		!ck_error_lookup(resp->server_error_code)->retryable)
	{
		const char *code = resp->server_error_code[0] ?
			resp->server_error_code : ck_error_lookup(NULL)->code;
		const char *reason = resp->reason[0] ? resp->reason : "(no reason given)";
		const char *auth_hint = ckfdw_authentication_hint(resp);

		ereport(ERROR,
				(errcode(sqlstate_of(code)),
				 errmsg_internal("%s", msg),
				 errdetail_internal("CloudKit error %s (HTTP %ld): %s",
									ckfdw_message_text(code), resp->http_status,
									ckfdw_message_text(reason)),
				 errhint("%s", auth_hint ? auth_hint : error_hint(code, hint)),
				 errcontext("CloudKit %s, server \"%s\"", call->info.operation,
							call->server->servername)));
	}
	ckfdw_report_response(resp, &call->info, NULL);
}

/* Raise the error dict CloudKit sent for one zone inside an HTTP 200. */
static void
report_zone_error(ZoneCall *call, struct json_object *entry, const char *msg,
				  const char *hint)
{
	const char *code = zone_error_code(entry);
	const char *reason = ck_member_string(entry, "reason");

	ereport(ERROR,
			(errcode(sqlstate_of(code)),
			 errmsg_internal("%s", msg),
			 errdetail_internal("CloudKit error %s: %s", ckfdw_message_text(code),
								ckfdw_message_text(reason ? reason : "(no reason given)")),
			 errhint("%s", error_hint(code, hint)),
			 errcontext("CloudKit %s, server \"%s\"", call->info.operation,
						call->server->servername)));
}

static void
report_bad_answer(ZoneCall *call, const char *what)
{
	ckfdw_report_bad_answer(&call->info, call->server->servername, what);
}

/* The "zones" array of an answer; anything else is a protocol violation. */
static struct json_object *
zone_list(ZoneCall *call, struct json_object *root)
{
	struct json_object *zones;

	if (!json_object_object_get_ex(root, "zones", &zones) ||
		!json_object_is_type(zones, json_type_array))
		report_bad_answer(call, "The answer has no \"zones\" array.");
	return zones;
}

static bool
is_zone_error(struct json_object *entry)
{
	return json_object_object_get_ex(entry, "serverErrorCode", NULL);
}

static const char *
zone_error_code(struct json_object *entry)
{
	const char *code = ck_member_string(entry, "serverErrorCode");

	return code ? code : ck_error_lookup(NULL)->code;
}

static Datum
utf8_text_datum(const char *s)
{
	return CStringGetTextDatum(ckfdw_from_utf8(s, strlen(s)));
}

/*
 * A zone dict {"zoneID": {zoneName, ownerRecordName, zoneType}, "syncToken",
 * "atomic"} as the columns zone_name, owner_record_name, zone_type, atomic,
 * sync_token.  What CloudKit leaves out is NULL, but never the name.
 */
static void
zone_to_values(ZoneCall *call, struct json_object *zone, Datum *values,
			   bool *nulls)
{
	struct json_object *zid = NULL;
	struct json_object *atomic;
	const char *s;

	memset(nulls, 0, sizeof(bool) * ZONE_NCOLUMNS);
	if (!json_object_is_type(zone, json_type_object) ||
		!json_object_object_get_ex(zone, "zoneID", &zid) ||
		(s = ck_member_string(zid, "zoneName")) == NULL)
		report_bad_answer(call, "A zone has no zoneID with a zoneName.");
	values[0] = utf8_text_datum(s);

	if ((s = ck_member_string(zid, "ownerRecordName")) != NULL)
		values[1] = utf8_text_datum(s);
	else
		nulls[1] = true;
	if ((s = ck_member_string(zid, "zoneType")) != NULL)
		values[2] = utf8_text_datum(s);
	else
		nulls[2] = true;
	if (json_object_object_get_ex(zone, "atomic", &atomic) &&
		json_object_is_type(atomic, json_type_boolean))
		values[3] = BoolGetDatum(json_object_get_boolean(atomic));
	else
		nulls[3] = true;
	if ((s = ck_member_string(zone, "syncToken")) != NULL)
		values[4] = utf8_text_datum(s);
	else
		nulls[4] = true;
}

/* {"zoneName": "..."}: zone names go to CloudKit as they are, in UTF-8 */
static char *
zone_id_body(const char *zone_name)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"zoneName\":");
	ckfdw_append_json_string(&buf, zone_name);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* The hint for a custom-zone operation CloudKit refused. */
static const char *
custom_zone_hint(ZoneCall *call)
{
	if (strcmp(call->options->database, "private") != 0)
		return psprintf("Server \"%s\" uses the %s database; custom zones can be created and deleted only in the private database (a server with database 'private', and a user mapping with api_token and web_auth_token).",
						call->server->servername, call->options->database);
	return "Zone names are 1 to 255 ASCII characters and cannot begin with \"_\"; \"_defaultZone\" cannot be created or deleted.";
}

/*
 * Look one zone up (zones/lookup).  Returns its zone dict, or NULL when
 * CloudKit says ZONE_NOT_FOUND; other errors are raised.
 */
static struct json_object *
lookup_zone(ZoneCall *call, const char *zone_name, CkResponse **zrp)
{
	CkResponse *zr;
	struct json_object *zones;
	struct json_object *entry;
	char	   *body;

	body = psprintf("{\"zones\":[%s]}", zone_id_body(zone_name));
	zr = zone_send(call, "POST", "zones/lookup", body, true);
	if (zr->kind != CK_RESULT_OK)
		report_request_error(call, zr,
							 psprintf("could not look up zone \"%s\" of server \"%s\"",
									  zone_name, call->server->servername),
							 custom_zone_hint(call));
	zones = zone_list(call, zr->json);
	if (json_object_array_length(zones) != 1)
		report_bad_answer(call, "One zone was looked up, but the answer does not list exactly one.");
	entry = json_object_array_get_idx(zones, 0);
	*zrp = zr;
	if (is_zone_error(entry))
	{
		if (strcmp(zone_error_code(entry), "ZONE_NOT_FOUND") == 0)
			return NULL;
		report_zone_error(call, entry,
						  psprintf("could not look up zone \"%s\" of server \"%s\"",
								   zone_name, call->server->servername),
						  NULL);
	}
	return entry;
}

/* The one-row result of ckfdw_create_zone. */
static Datum
zone_result(FunctionCallInfo fcinfo, ZoneCall *call, struct json_object *zone)
{
	TupleDesc	tupdesc;
	Datum		values[ZONE_NCOLUMNS];
	bool		nulls[ZONE_NCOLUMNS];

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	zone_to_values(call, zone, values, nulls);
	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls));
}

/*
 * ckfdw_zones(server name): the zones of the server's database, as
 * zones/list reports them (one GET; CloudKit does not page it).
 */
Datum
ckfdw_zones(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ZoneCall	call;
	CkResponse *zr;
	struct json_object *zones;
	size_t		i,
				n;

	InitMaterializedSRF(fcinfo, 0);
	zone_call_begin(&call, PG_GETARG_NAME(0));

	zr = zone_send(&call, "GET", "zones/list", NULL, true);
	if (zr->kind != CK_RESULT_OK)
		report_request_error(&call, zr,
							 psprintf("could not list the zones of server \"%s\"",
									  call.server->servername),
							 "Check the server's container, environment and database options, and that the user mapping may read this database.");
	zones = zone_list(&call, zr->json);
	n = json_object_array_length(zones);
	for (i = 0; i < n; i++)
	{
		struct json_object *entry = json_object_array_get_idx(zones, i);
		Datum		values[ZONE_NCOLUMNS];
		bool		nulls[ZONE_NCOLUMNS];

		/* a zone we may not see is an error, not a shorter list */
		if (is_zone_error(entry))
			report_zone_error(&call, entry,
							  psprintf("CloudKit reported an error for a zone of server \"%s\"",
									   call.server->servername),
							  NULL);
		zone_to_values(&call, entry, values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	zone_call_end(&call);
	PG_RETURN_VOID();
}

/*
 * ckfdw_create_zone(server name, zone_name text, if_not_exists boolean):
 * create a custom zone and return it.  CloudKit's answer to creating a zone
 * that exists is not documented (the native API returns the zone), so the
 * zone is looked up first: an existing zone is an error, or with
 * if_not_exists a notice, as for CREATE SCHEMA.
 */
Datum
ckfdw_create_zone(PG_FUNCTION_ARGS)
{
	char	   *zone_name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		if_not_exists = PG_GETARG_BOOL(2);
	ZoneCall	call;
	CkResponse *zr;
	struct json_object *zone;
	struct json_object *zones;
	char	   *body;
	Datum		result;

	zone_call_begin(&call, PG_GETARG_NAME(0));

	zone = lookup_zone(&call, zone_name, &zr);
	if (zone == NULL)
	{
		body = psprintf("{\"operations\":[{\"operationType\":\"create\",\"zone\":{\"zoneID\":%s}}]}",
						zone_id_body(zone_name));
		/* a lost answer leaves it unknown whether the zone was created */
		zr = zone_send(&call, "POST", "zones/modify", body, false);
		if (zr->kind != CK_RESULT_OK)
			report_request_error(&call, zr,
								 psprintf("could not create zone \"%s\" on server \"%s\"",
										  zone_name, call.server->servername),
								 custom_zone_hint(&call));
		zones = zone_list(&call, zr->json);
		if (json_object_array_length(zones) != 1)
			report_bad_answer(&call, "One zone was created, but the answer does not list exactly one.");
		zone = json_object_array_get_idx(zones, 0);
		if (is_zone_error(zone))
		{
			/* created meanwhile by someone else */
			if (strcmp(zone_error_code(zone), "EXISTS") == 0 && if_not_exists)
				zone = lookup_zone(&call, zone_name, &zr);
			else if (strcmp(zone_error_code(zone), "EXISTS") == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_SCHEMA),
						 errmsg("zone \"%s\" already exists on server \"%s\"",
								zone_name, call.server->servername),
						 errhint("Use ckfdw_create_zone(..., if_not_exists => true) to accept an existing zone.")));
			else
				report_zone_error(&call, zone,
								  psprintf("could not create zone \"%s\" on server \"%s\"",
										   zone_name, call.server->servername),
								  custom_zone_hint(&call));
			if (zone == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_SCHEMA_NOT_FOUND),
						 errmsg("zone \"%s\" of server \"%s\" was deleted while it was being created",
								zone_name, call.server->servername)));
		}
	}
	else if (if_not_exists)
		ereport(NOTICE,
				(errcode(ERRCODE_DUPLICATE_SCHEMA),
				 errmsg("zone \"%s\" already exists on server \"%s\", skipping",
						zone_name, call.server->servername)));
	else
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_SCHEMA),
				 errmsg("zone \"%s\" already exists on server \"%s\"",
						zone_name, call.server->servername),
				 errhint("Use ckfdw_create_zone(..., if_not_exists => true) to accept an existing zone.")));

	result = zone_result(fcinfo, &call, zone);
	zone_call_end(&call);
	PG_RETURN_DATUM(result);
}

/*
 * ckfdw_delete_zone(server name, zone_name text): delete a custom zone and
 * every record in it (zones/modify).  No IF EXISTS: a zone that is not
 * there is reported, so that a mistyped name never passes silently.
 */
Datum
ckfdw_delete_zone(PG_FUNCTION_ARGS)
{
	char	   *zone_name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ZoneCall	call;
	CkResponse *zr;
	struct json_object *zones;
	struct json_object *entry;
	struct json_object *zid = NULL;
	char	   *body;

	zone_call_begin(&call, PG_GETARG_NAME(0));

	body = psprintf("{\"operations\":[{\"operationType\":\"delete\",\"zone\":{\"zoneID\":%s}}]}",
					zone_id_body(zone_name));
	zr = zone_send(&call, "POST", "zones/modify", body, false);
	if (zr->kind != CK_RESULT_OK)
		report_request_error(&call, zr,
							 psprintf("could not delete zone \"%s\" on server \"%s\"",
									  zone_name, call.server->servername),
							 custom_zone_hint(&call));
	zones = zone_list(&call, zr->json);
	if (json_object_array_length(zones) != 1)
		report_bad_answer(&call, "One zone was deleted, but the answer does not list exactly one.");
	entry = json_object_array_get_idx(zones, 0);
	if (is_zone_error(entry))
	{
		if (strcmp(zone_error_code(entry), "ZONE_NOT_FOUND") == 0)
			report_zone_error(&call, entry,
							  psprintf("zone \"%s\" does not exist on server \"%s\"",
									   zone_name, call.server->servername),
							  "ckfdw_zones(server) lists the zones that exist.");
		report_zone_error(&call, entry,
						  psprintf("could not delete zone \"%s\" on server \"%s\"",
								   zone_name, call.server->servername),
						  custom_zone_hint(&call));
	}
	/* a success names the zone; anything else leaves us not knowing */
	if (!json_object_object_get_ex(entry, "zoneID", &zid) ||
		ck_member_string(zid, "zoneName") == NULL)
		report_bad_answer(&call, "The answer to a zone deletion names no zone.");

	zone_call_end(&call);
	PG_RETURN_VOID();
}

/* Sort by zone name, owner (NULL first), then order of appearance. */
static int
zone_change_cmp(const void *a, const void *b)
{
	const ZoneChange *x = (const ZoneChange *) a;
	const ZoneChange *y = (const ZoneChange *) b;
	int			c = strcmp(x->zone_name, y->zone_name);

	if (c != 0)
		return c;
	if ((x->owner == NULL) != (y->owner == NULL))
		return x->owner == NULL ? -1 : 1;
	if (x->owner != NULL && (c = strcmp(x->owner, y->owner)) != 0)
		return c;
	return x->seq < y->seq ? -1 : (x->seq > y->seq ? 1 : 0);
}

/* An array of ckfdw_zone_id: the zones with the given deleted flag. */
static Datum
zone_id_array(ZoneChange *changes, int n, bool deleted, Oid array_type)
{
	Oid			elemtype = get_element_type(array_type);
	TupleDesc	tupdesc;
	Datum	   *elems;
	int			nelems = 0;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			i;

	if (!OidIsValid(elemtype))
		elog(ERROR, "changed_zones and deleted_zones must be arrays");
	tupdesc = lookup_rowtype_tupdesc_copy(elemtype, -1);
	if (tupdesc->natts != 2)
		elog(ERROR, "ckfdw_zone_id must have two columns");
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);

	elems = palloc(sizeof(Datum) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		if (changes[i].deleted != deleted)
			continue;
		values[0] = utf8_text_datum(changes[i].zone_name);
		if (changes[i].owner != NULL)
			values[1] = utf8_text_datum(changes[i].owner);
		else
			nulls[1] = true;
		elems[nelems++] = HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
	}
	return PointerGetDatum(construct_array(elems, nelems, elemtype, typlen,
										   typbyval, typalign));
}

/*
 * ckfdw_database_changes(server name, since text): the zones created or
 * changed, and those deleted, since a changes/database token ('' = since
 * the beginning), and the token to store for next time, which CloudKit
 * gives also when nothing changed.  All pages are read (moreComing) before
 * anything is returned: the token is only good with every zone before it.
 */
Datum
ckfdw_database_changes(PG_FUNCTION_ARGS)
{
	char	   *since = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ZoneCall	call;
	TupleDesc	tupdesc;
	ZoneChange *changes;
	int			nchanges = 0;
	int			nfinal = 0;
	char	   *token = since;
	bool		more = true;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	Datum		result;
	int			i;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	zone_call_begin(&call, PG_GETARG_NAME(0));

	changes = palloc(sizeof(ZoneChange) * 64);
	while (more)
	{
		StringInfoData body;
		CkResponse *zr;
		struct json_object *zones;
		struct json_object *jmore;
		const char *next;
		size_t		n,
					j;

		CHECK_FOR_INTERRUPTS();
		initStringInfo(&body);
		appendStringInfoChar(&body, '{');
		if (token[0] != '\0')
		{
			appendStringInfoString(&body, "\"syncToken\":");
			ckfdw_append_json_string(&body, token);
		}
		appendStringInfoChar(&body, '}');

		zr = zone_send(&call, "POST", "changes/database", body.data, true);
		if (zr->kind != CK_RESULT_OK)
		{
			const CkResponse *resp = zr;

			if (strcmp(call.options->database, "public") == 0)
				report_request_error(&call, resp,
									 psprintf("could not read the zone changes of server \"%s\"",
											  call.server->servername),
									 "The public database has no change feed: read its record types incrementally by modifiedTimestamp, and find deletions by looking up the record names you hold (see the README, \"The public database: an incremental job\").");
			if (resp->kind == CK_RESULT_SERVER_ERROR && since[0] != '\0' &&
				(strcmp(resp->server_error_code, "BAD_REQUEST") == 0 ||
				 strstr(resp->server_error_code, "TOKEN") != NULL))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("CloudKit refused the changes/database token of server \"%s\"",
								call.server->servername),
						 errdetail_internal("CloudKit error %s (HTTP %ld): %s",
											ckfdw_message_text(resp->server_error_code),
											resp->http_status,
											ckfdw_message_text(resp->reason)),
						 errhint("The token has expired, or comes from another database or container. Start again with a full read: ckfdw_database_changes(server, '') lists every zone, and mirror each zone in full."),
						 errcontext("CloudKit changes/database, server \"%s\"",
									call.server->servername)));
			report_request_error(&call, resp,
								 psprintf("could not read the zone changes of server \"%s\"",
										  call.server->servername),
								 NULL);
		}

		zones = zone_list(&call, zr->json);
		n = json_object_array_length(zones);
		if (nchanges + n > CKFDW_MAX_DATABASE_CHANGES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("more than %d zone changes of server \"%s\" since the token",
							CKFDW_MAX_DATABASE_CHANGES, call.server->servername),
					 errhint("Mirror a database with this many zones zone by zone: ckfdw_zones(server) lists them.")));
		changes = repalloc(changes, sizeof(ZoneChange) * (nchanges + n + 1));
		for (j = 0; j < n; j++)
		{
			struct json_object *entry = json_object_array_get_idx(zones, j);
			struct json_object *zid = NULL;
			struct json_object *del;
			ZoneChange *c = &changes[nchanges];
			const char *s;

			/* one zone we cannot read would make the list incomplete */
			if (is_zone_error(entry))
			{
				const char *zname = json_object_object_get_ex(entry, "zoneID", &zid) ?
					ck_member_string(zid, "zoneName") : NULL;

				report_zone_error(&call, entry,
								  psprintf("CloudKit reported an error for zone \"%s\" in the zone changes of server \"%s\"",
										   zname ? ckfdw_message_text(zname) : "(unnamed)",
										   call.server->servername),
								  "No token was returned; retry later, or start again with a full read (since => '').");
			}
			if (!json_object_object_get_ex(entry, "zoneID", &zid) ||
				(s = ck_member_string(zid, "zoneName")) == NULL)
				report_bad_answer(&call, "A changed zone has no zoneID with a zoneName.");
			c->zone_name = pstrdup(s);
			s = ck_member_string(zid, "ownerRecordName");
			c->owner = s ? pstrdup(s) : NULL;
			/* purged zones are gone as well (the native API lists both) */
			c->deleted =
				(json_object_object_get_ex(entry, "deleted", &del) &&
				 json_object_get_boolean(del)) ||
				(json_object_object_get_ex(entry, "purged", &del) &&
				 json_object_get_boolean(del));
			c->seq = nchanges++;
		}

		next = ck_member_string(zr->json, "syncToken");
		if (next == NULL)
			report_bad_answer(&call, "The answer has no syncToken.");
		token = pstrdup(next);
		more = json_object_object_get_ex(zr->json, "moreComing", &jmore) &&
			json_object_get_boolean(jmore);
		/* "more" with nothing listed would never end */
		if (more && n == 0)
			report_bad_answer(&call, "moreComing is true, but the page lists no zones.");

		pfree(body.data);
	}

	/* a zone listed on several pages: its last state counts */
	qsort(changes, nchanges, sizeof(ZoneChange), zone_change_cmp);
	for (i = 0; i < nchanges; i++)
	{
		if (i + 1 < nchanges &&
			strcmp(changes[i].zone_name, changes[i + 1].zone_name) == 0 &&
			(changes[i].owner == NULL) == (changes[i + 1].owner == NULL) &&
			(changes[i].owner == NULL || strcmp(changes[i].owner, changes[i + 1].owner) == 0))
			continue;
		changes[nfinal++] = changes[i];
	}

	values[0] = utf8_text_datum(token);
	values[1] = zone_id_array(changes, nfinal, false, TupleDescAttr(tupdesc, 1)->atttypid);
	values[2] = zone_id_array(changes, nfinal, true, TupleDescAttr(tupdesc, 2)->atttypid);
	result = HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls));
	zone_call_end(&call);
	PG_RETURN_DATUM(result);
}
