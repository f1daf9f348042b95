/*-------------------------------------------------------------------------
 *
 * share.c
 *		  Sharing from SQL: create a share of a zone or of a record
 *		  hierarchy, list its participants, add, change or remove a
 *		  participant, set its public permission, stop sharing, and accept
 *		  a share as a participant.
 *
 * A share is a cloudkit.share record in the owner's custom zone: a
 * zone-wide share is named cloudkit.zoneshare, a record's share is named by
 * the record's "share" reference.  Changing a share is a read (records/
 * lookup) and an update with the change tag read, so that a concurrent
 * change (a participant accepting, another session) is a CONFLICT, and
 * the change is re-applied to the share as it is now, a few times.
 *
 * As for ckfdw_zones, these functions check what a scan's executor would:
 * a ckfdw server, USAGE on it, and a user mapping.  What the mapping's
 * CloudKit user may do decides the rest: CloudKit lets only a zone's owner
 * change its shares, and only an invited participant (or anyone, for a
 * share with a public permission) accept one.  Nothing returned is secret:
 * a share's shortGUID and URL are what an owner hands to participants.
 *
 * IDENTIFICATION
 *		  src/share.c
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
#include "utils/builtins.h"

#include "ckfdw.h"
#include "ck/ck_record.h"
#include "ck/ck_error.h"

/* the record name of a zone-wide share (CKRecordNameZoneWideShare) */
#define ZONE_SHARE_NAME		"cloudkit.zoneshare"
#define SHARE_RECORD_TYPE	"cloudkit.share"

/* re-reads of a share that changed between our read and our write */
#define SHARE_WRITE_ATTEMPTS	4

/* the columns of ckfdw_share_participants */
#define PARTICIPANT_NCOLUMNS	8

PG_FUNCTION_INFO_V1(ckfdw_create_share);
PG_FUNCTION_INFO_V1(ckfdw_share_participants);
PG_FUNCTION_INFO_V1(ckfdw_share_add_participant);
PG_FUNCTION_INFO_V1(ckfdw_share_remove_participant);
PG_FUNCTION_INFO_V1(ckfdw_share_set_public_permission);
PG_FUNCTION_INFO_V1(ckfdw_delete_share);
PG_FUNCTION_INFO_V1(ckfdw_accept_share);

/* One call's CloudKit client and what it is about. */
typedef struct ShareCall
{
	ForeignServer *server;
	CkFdwOptions *options;
	CkFdwConnection *conn;
	CkFdwRequestInfo info;
	const char *zone;			/* in the database's encoding */
	const char *zone_utf8;
	const char *record;			/* the shared record, NULL for the zone */
} ShareCall;


/* What to do to a share's participants or public permission. */
typedef enum ShareEdit
{
	EDIT_ADD,					/* add, or change the permission */
	EDIT_REMOVE,
	EDIT_PUBLIC
} ShareEdit;

static void
share_call_begin(ShareCall *call, FunctionCallInfo fcinfo, int zone_arg,
				 int record_arg)
{
	ForeignServer *server;
	UserMapping *user;
	int			i;

	for (i = 0; i <= zone_arg; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the server and zone arguments of a ckfdw sharing function cannot be NULL")));

	server = ckfdw_function_server(NameStr(*PG_GETARG_NAME(0)), &user);

	memset(call, 0, sizeof(*call));
	call->server = server;
	call->options = ckfdw_get_options(server, NULL, NULL);
	if (zone_arg > 0)
	{
		call->zone = text_to_cstring(PG_GETARG_TEXT_PP(zone_arg));
		call->zone_utf8 = ckfdw_to_utf8(call->zone);
	}
	if (record_arg >= 0 && !PG_ARGISNULL(record_arg))
		call->record = text_to_cstring(PG_GETARG_TEXT_PP(record_arg));
	call->info.zone = call->zone;
	call->info.record_type = SHARE_RECORD_TYPE;
	call->conn = ckfdw_get_connection(user, server, call->options);
}

/* An owner's function on a server that is not the private database. */
static void
share_require_private(ShareCall *call)
{
	if (strcmp(call->options->database, "private") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("server \"%s\" uses the %s database; shares are made and changed in the owner's private database",
						call->server->servername, call->options->database),
				 errhint("Call this function with a server whose option database is 'private', as the zone's owner.")));
}

static CkResponse *
share_send(ShareCall *call, const char *operation, const char *body, bool idempotent)
{
	CkResponse *resp = ckfdw_new_response(CurrentMemoryContext);

	call->info.operation = operation;
	if (!ckfdw_try_request(call->conn, "POST", body, idempotent, &call->info, resp))
		ckfdw_report_response(resp, &call->info, NULL);
	return resp;
}

static struct json_object *
member(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
		!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

static void
bad_answer(ShareCall *call, const char *what)
{
	ckfdw_report_bad_answer(&call->info, call->server->servername, what);
}

/* The one entry of a one-record "records" answer. */
static struct json_object *
only_record(ShareCall *call, CkResponse *sr)
{
	struct json_object *recs = member(sr->json, "records");

	if (recs == NULL || !json_object_is_type(recs, json_type_array) ||
		json_object_array_length(recs) != 1 ||
		!json_object_is_type(json_object_array_get_idx(recs, 0), json_type_object))
		bad_answer(call, "One record was asked for, but the answer does not have exactly one.");
	return json_object_array_get_idx(recs, 0);
}

static char *
zone_id_json(ShareCall *call)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"zoneName\":");
	ckfdw_append_json_string(&buf, call->zone_utf8);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* Look one record up; NULL when CloudKit says NOT_FOUND. */
static struct json_object *
lookup_record(ShareCall *call, const char *name_utf8)
{
	StringInfoData body;
	struct json_object *rec;
	const char *code;

	initStringInfo(&body);
	appendStringInfo(&body, "{\"zoneID\":%s,\"records\":[{\"recordName\":", zone_id_json(call));
	ckfdw_append_json_string(&body, name_utf8);
	appendStringInfoString(&body, "}]}");
	rec = only_record(call, share_send(call, "records/lookup", body.data, true));
	code = ck_member_string(rec, "serverErrorCode");
	if (code != NULL && strcmp(code, "NOT_FOUND") == 0)
		return NULL;
	if (code != NULL)
		ckfdw_report_record_error(code, ck_member_string(rec, "reason"),
								  ck_member_string(rec, "recordName"), -1, &call->info);
	return rec;
}

/* The share's record name: the zone's, or the one the record points to. */
static char *
share_name(ShareCall *call)
{
	struct json_object *rec;
	const char *name;

	if (call->record == NULL)
		return ZONE_SHARE_NAME;
	rec = lookup_record(call, ckfdw_to_utf8(call->record));
	if (rec == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("record \"%s\" does not exist in zone \"%s\" of server \"%s\"",
						call->record, call->zone, call->server->servername)));
	name = ck_member_string(member(rec, "share"), "recordName");
	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("record \"%s\" of zone \"%s\" is not shared", call->record, call->zone),
				 errhint("Share it first with ckfdw_create_share('%s', '%s', '%s').",
						 call->server->servername, call->zone, call->record)));
	return pstrdup(name);
}

/* The share record now; an error when there is none. */
static struct json_object *
read_share(ShareCall *call, const char *name)
{
	struct json_object *share = lookup_record(call, name);

	if (share == NULL)
	{
		if (call->record == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("zone \"%s\" of server \"%s\" is not shared", call->zone,
							call->server->servername),
					 errhint("Share it first with ckfdw_create_share('%s', '%s').",
							 call->server->servername, call->zone)));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the share of record \"%s\" of zone \"%s\" no longer exists",
						call->record, call->zone)));
	}
	return share;
}

/* NONE, READ_ONLY or READ_WRITE, in any case; allow_none for public. */
static const char *
check_permission(const char *given, bool allow_none, const char *what)
{
	if (pg_strcasecmp(given, "READ_ONLY") == 0)
		return "READ_ONLY";
	if (pg_strcasecmp(given, "READ_WRITE") == 0)
		return "READ_WRITE";
	if (allow_none && pg_strcasecmp(given, "NONE") == 0)
		return "NONE";
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s \"%s\"", what, given),
			 errhint(allow_none ? "Use NONE, READ_ONLY or READ_WRITE." : "Use READ_ONLY or READ_WRITE.")));
	return NULL;				/* keep compiler quiet */
}

/* A CloudKit user record name: "_" and 32 hex digits. */
static bool
is_user_record_name(const char *s)
{
	int			i;

	if (strlen(s) != 33 || s[0] != '_')
		return false;
	for (i = 1; i < 33; i++)
		if (!isxdigit((unsigned char) s[i]))
			return false;
	return true;
}

/* Whether a participant dict is who (an email address or user record name). */
static bool
participant_is(struct json_object *p, const char *who)
{
	struct json_object *ident = member(p, "userIdentity");
	struct json_object *look = member(ident, "lookupInfo");
	const char *s;

	if ((s = ck_member_string(ident, "userRecordName")) != NULL && strcmp(s, who) == 0)
		return true;
	if ((s = ck_member_string(look, "userRecordName")) != NULL && strcmp(s, who) == 0)
		return true;
	if ((s = ck_member_string(look, "emailAddress")) != NULL && pg_strcasecmp(s, who) == 0)
		return true;
	return false;
}

static void
append_participant(StringInfo buf, const char *who, const char *permission,
				   const char *type)
{
	appendStringInfo(buf, "{\"type\":\"%s\",\"permission\":\"%s\",\"acceptanceStatus\":\"INVITED\",\"userIdentity\":{\"lookupInfo\":{\"%s\":",
					 type, permission, is_user_record_name(who) ? "userRecordName" : "emailAddress");
	ckfdw_append_json_string(buf, who);
	appendStringInfoString(buf, "}}}");
}

/*
 * Send an update of share (as read) with its participants edited; false on
 * CONFLICT (the share changed since it was read).
 */
static bool
write_share(ShareCall *call, const char *name, struct json_object *share,
			ShareEdit edit, const char *who, const char *permission)
{
	StringInfoData body;
	struct json_object *parts = member(share, "participants");
	struct json_object *rec;
	const char *tag = ck_member_string(share, "recordChangeTag");
	const char *code;
	bool		found = false;
	bool		first = true;
	size_t		i,
				n = 0;

	if (tag == NULL)
		bad_answer(call, "The share has no recordChangeTag.");
	if (parts != NULL && json_object_is_type(parts, json_type_array))
		n = json_object_array_length(parts);

	initStringInfo(&body);
	appendStringInfo(&body, "{\"zoneID\":%s,\"atomic\":false,\"operations\":[{\"operationType\":\"update\",\"record\":{\"recordName\":",
					 zone_id_json(call));
	ckfdw_append_json_string(&body, name);
	appendStringInfoString(&body, ",\"recordType\":\"" SHARE_RECORD_TYPE "\",\"recordChangeTag\":");
	ckfdw_append_json_string(&body, tag);
	if (edit == EDIT_PUBLIC)
		appendStringInfo(&body, ",\"publicPermission\":\"%s\"", permission);
	else
	{
		appendStringInfoString(&body, ",\"participants\":[");
		for (i = 0; i < n; i++)
		{
			struct json_object *p = json_object_array_get_idx(parts, i);
			const char *type = ck_member_string(p, "type");

			if (type != NULL && strcmp(type, "OWNER") == 0)
				continue;
			if (participant_is(p, who))
			{
				found = true;
				if (edit == EDIT_REMOVE)
					continue;
				/* the same participant, with the new permission */
				json_object_object_add(p, "permission", json_object_new_string(permission));
			}
			if (!first)
				appendStringInfoChar(&body, ',');
			first = false;
			appendStringInfoString(&body, json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
		}
		if (edit == EDIT_ADD && !found)
		{
			if (!first)
				appendStringInfoChar(&body, ',');
			append_participant(&body, who, permission, "USER");
		}
		appendStringInfoChar(&body, ']');
		if (edit == EDIT_REMOVE && !found)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("\"%s\" is not a participant of the share", ckfdw_message_text(who)),
					 errhint("ckfdw_share_participants('%s', '%s') lists the participants.",
							 call->server->servername, call->zone)));
	}
	appendStringInfoString(&body, "}}]}");

	rec = only_record(call, share_send(call, "records/modify", body.data, false));
	code = ck_member_string(rec, "serverErrorCode");
	if (code != NULL && strcmp(code, "CONFLICT") == 0)
		return false;
	if (code != NULL)
		ckfdw_report_record_error(code, ck_member_string(rec, "reason"), name, -1, &call->info);
	return true;
}

/* Read, edit and write a share until no one changed it in between. */
static void
edit_share(FunctionCallInfo fcinfo, ShareCall *call, ShareEdit edit,
		   const char *who, const char *permission)
{
	char	   *name;
	int			attempt;

	share_require_private(call);
	name = share_name(call);
	for (attempt = 1; attempt <= SHARE_WRITE_ATTEMPTS; attempt++)
	{
		struct json_object *share = read_share(call, name);

		if (write_share(call, name, share, edit, who, permission))
			return;
		CHECK_FOR_INTERRUPTS();
	}
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("the share of zone \"%s\" changed during each of %d attempts to change it",
					call->zone, SHARE_WRITE_ATTEMPTS),
			 errhint("Retry when the share is not being changed by others.")));
}

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = (s == NULL);
	return s ? CStringGetTextDatum(ckfdw_from_utf8(s, strlen(s))) : (Datum) 0;
}

/*
 * ckfdw_create_share(server, zone_name, record_name DEFAULT NULL,
 *		public_permission DEFAULT 'NONE'): share the zone (record_name NULL)
 *		or the record and the records below it; returns the share's name,
 *		shortGUID and URL, which participants need to accept it.
 */
Datum
ckfdw_create_share(PG_FUNCTION_ARGS)
{
	ShareCall	call;
	StringInfoData body;
	const char *public_permission = "NONE";
	struct json_object *rec;
	const char *code;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3];

	share_call_begin(&call, fcinfo, 1, 2);
	if (!PG_ARGISNULL(3))
		public_permission = check_permission(text_to_cstring(PG_GETARG_TEXT_PP(3)), true,
											 "public permission");
	share_require_private(&call);

	initStringInfo(&body);
	appendStringInfo(&body, "{\"zoneID\":%s,\"atomic\":false,\"operations\":[{\"operationType\":\"create\",\"record\":{",
					 zone_id_json(&call));
	if (call.record == NULL)
		appendStringInfoString(&body, "\"recordName\":\"" ZONE_SHARE_NAME "\",");
	appendStringInfo(&body, "\"recordType\":\"" SHARE_RECORD_TYPE "\",\"publicPermission\":\"%s\",\"participants\":[]",
					 public_permission);
	if (call.record != NULL)
	{
		struct json_object *target = lookup_record(&call, ckfdw_to_utf8(call.record));

		if (target == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("record \"%s\" does not exist in zone \"%s\" of server \"%s\"",
							call.record, call.zone, call.server->servername)));
		appendStringInfoString(&body, ",\"forRecord\":{\"recordName\":");
		ckfdw_append_json_string(&body, ckfdw_to_utf8(call.record));
		if (ck_member_string(target, "recordChangeTag") != NULL)
		{
			appendStringInfoString(&body, ",\"recordChangeTag\":");
			ckfdw_append_json_string(&body, ck_member_string(target, "recordChangeTag"));
		}
		appendStringInfoChar(&body, '}');
	}
	appendStringInfoString(&body, "}}]}");
	rec = only_record(&call, share_send(&call, "records/modify", body.data, false));
	code = ck_member_string(rec, "serverErrorCode");
	if (code != NULL && strcmp(code, "EXISTS") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 call.record ? errmsg("record \"%s\" of zone \"%s\" is already shared", call.record, call.zone)
				 : errmsg("zone \"%s\" of server \"%s\" is already shared", call.zone, call.server->servername),
				 errdetail_internal("CloudKit error EXISTS: %s",
									ckfdw_message_text(ck_member_string(rec, "reason") ? ck_member_string(rec, "reason") : "(no reason given)")),
				 errhint("Change the existing share with ckfdw_share_add_participant or ckfdw_share_set_public_permission.")));
	if (code != NULL)
		ckfdw_report_record_error(code, ck_member_string(rec, "reason"),
								  call.record ? call.record : ZONE_SHARE_NAME, -1, &call.info);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = text_or_null(ck_member_string(rec, "recordName"), &nulls[0]);
	values[1] = text_or_null(ck_member_string(rec, "shortGUID"), &nulls[1]);
	values[2] = text_or_null(ck_member_string(rec, "shareURL"), &nulls[2]);
	ckfdw_release_connection(call.conn);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * ckfdw_share_participants(server, zone_name, record_name DEFAULT NULL):
 *		one row per participant of the zone's (or the record's) share, the
 *		owner included.
 */
Datum
ckfdw_share_participants(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ShareCall	call;
	char	   *name;
	struct json_object *share;
	struct json_object *parts;
	size_t		i,
				n = 0;

	share_call_begin(&call, fcinfo, 1, 2);
	InitMaterializedSRF(fcinfo, 0);
	share_require_private(&call);
	name = share_name(&call);
	share = read_share(&call, name);
	parts = member(share, "participants");
	if (parts != NULL && json_object_is_type(parts, json_type_array))
		n = json_object_array_length(parts);
	for (i = 0; i < n; i++)
	{
		struct json_object *p = json_object_array_get_idx(parts, i);
		struct json_object *ident = member(p, "userIdentity");
		const char *user = ck_member_string(ident, "userRecordName");
		Datum		values[PARTICIPANT_NCOLUMNS];
		bool		nulls[PARTICIPANT_NCOLUMNS];

		if (user == NULL)
			user = ck_member_string(member(ident, "lookupInfo"), "userRecordName");
		values[0] = text_or_null(name, &nulls[0]);
		values[1] = text_or_null(ck_member_string(share, "publicPermission"), &nulls[1]);
		values[2] = text_or_null(user, &nulls[2]);
		values[3] = text_or_null(ck_member_string(member(ident, "lookupInfo"), "emailAddress"), &nulls[3]);
		values[4] = text_or_null(ck_member_string(p, "type"), &nulls[4]);
		values[5] = text_or_null(ck_member_string(p, "permission"), &nulls[5]);
		values[6] = text_or_null(ck_member_string(p, "acceptanceStatus"), &nulls[6]);
		values[7] = text_or_null(ck_member_string(share, "shortGUID"), &nulls[7]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	ckfdw_release_connection(call.conn);
	return (Datum) 0;
}

/*
 * ckfdw_share_add_participant(server, zone_name, participant,
 *		permission DEFAULT 'READ_ONLY', record_name DEFAULT NULL): invite a
 *		user by email address or user record name; for a participant already
 *		there, change the permission.
 */
Datum
ckfdw_share_add_participant(PG_FUNCTION_ARGS)
{
	ShareCall	call;
	const char *who;
	const char *permission;

	if (PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("participant and permission cannot be NULL")));
	share_call_begin(&call, fcinfo, 1, 4);
	who = ckfdw_to_utf8(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	permission = check_permission(text_to_cstring(PG_GETARG_TEXT_PP(3)), false,
								  "participant permission");
	if (*who == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a participant is an email address or a user record name, not an empty string")));
	edit_share(fcinfo, &call, EDIT_ADD, who, permission);
	ckfdw_release_connection(call.conn);
	PG_RETURN_VOID();
}

/*
 * ckfdw_share_remove_participant(server, zone_name, participant,
 *		record_name DEFAULT NULL): the participant loses access at once.
 */
Datum
ckfdw_share_remove_participant(PG_FUNCTION_ARGS)
{
	ShareCall	call;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("participant cannot be NULL")));
	share_call_begin(&call, fcinfo, 1, 3);
	edit_share(fcinfo, &call, EDIT_REMOVE,
			   ckfdw_to_utf8(text_to_cstring(PG_GETARG_TEXT_PP(2))), NULL);
	ckfdw_release_connection(call.conn);
	PG_RETURN_VOID();
}

/*
 * ckfdw_share_set_public_permission(server, zone_name, permission,
 *		record_name DEFAULT NULL): NONE makes the share private again.
 */
Datum
ckfdw_share_set_public_permission(PG_FUNCTION_ARGS)
{
	ShareCall	call;
	const char *permission;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("permission cannot be NULL")));
	share_call_begin(&call, fcinfo, 1, 3);
	permission = check_permission(text_to_cstring(PG_GETARG_TEXT_PP(2)), true,
								  "public permission");
	edit_share(fcinfo, &call, EDIT_PUBLIC, NULL, permission);
	ckfdw_release_connection(call.conn);
	PG_RETURN_VOID();
}

/*
 * ckfdw_delete_share(server, zone_name, record_name DEFAULT NULL): stop
 *		sharing; every participant loses access.  The records stay.
 */
Datum
ckfdw_delete_share(PG_FUNCTION_ARGS)
{
	ShareCall	call;
	char	   *name;
	StringInfoData body;
	struct json_object *rec;
	const char *code;

	share_call_begin(&call, fcinfo, 1, 2);
	share_require_private(&call);
	name = share_name(&call);
	initStringInfo(&body);
	appendStringInfo(&body, "{\"zoneID\":%s,\"atomic\":false,\"operations\":[{\"operationType\":\"forceDelete\",\"record\":{\"recordName\":",
					 zone_id_json(&call));
	ckfdw_append_json_string(&body, name);
	appendStringInfoString(&body, "}}]}");
	rec = only_record(&call, share_send(&call, "records/modify", body.data, false));
	code = ck_member_string(rec, "serverErrorCode");
	if (code != NULL && strcmp(code, "NOT_FOUND") == 0)
		(void) read_share(&call, name);	/* raises "is not shared" */
	if (code != NULL)
		ckfdw_report_record_error(code, ck_member_string(rec, "reason"), name, -1, &call.info);
	ckfdw_release_connection(call.conn);
	PG_RETURN_VOID();
}

/*
 * ckfdw_accept_share(server, short_guid): the mapping's user accepts a
 *		share (records/accept); its zone then appears in the user's shared
 *		database under the owner's record name, both returned.
 */
Datum
ckfdw_accept_share(PG_FUNCTION_ARGS)
{
	ShareCall	call;
	StringInfoData body;
	CkResponse *sr;
	struct json_object *results;
	struct json_object *res;
	const char *code;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4];
	char	   *guid;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("short_guid cannot be NULL")));
	share_call_begin(&call, fcinfo, 0, -1);
	guid = ckfdw_to_utf8(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	initStringInfo(&body);
	appendStringInfoString(&body, "{\"shortGUIDs\":[{\"value\":");
	ckfdw_append_json_string(&body, guid);
	appendStringInfoString(&body, "}]}");
	sr = share_send(&call, "records/accept", body.data, true);
	results = member(sr->json, "results");
	if (results == NULL || !json_object_is_type(results, json_type_array) ||
		json_object_array_length(results) != 1)
		bad_answer(&call, "One share was accepted, but the answer does not have exactly one result.");
	res = json_object_array_get_idx(results, 0);
	code = ck_member_string(res, "serverErrorCode");
	if (code != NULL)
	{
		const char *reason = ck_member_string(res, "reason");

		ereport(ERROR,
				(errcode(strcmp(code, "NOT_FOUND") == 0 ? ERRCODE_UNDEFINED_OBJECT :
						 strcmp(code, "ACCESS_DENIED") == 0 ? ERRCODE_INSUFFICIENT_PRIVILEGE :
						 ERRCODE_FDW_ERROR),
				 errmsg("could not accept share \"%s\" on server \"%s\"",
						ckfdw_message_text(guid), call.server->servername),
				 errdetail_internal("CloudKit error %s: %s", ckfdw_message_text(code),
									ckfdw_message_text(reason ? reason : "(no reason given)")),
				 errhint("Only a user the owner invited can accept a share whose public permission is NONE; ask the owner to add this user with ckfdw_share_add_participant.")));
	}
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = text_or_null(ck_member_string(member(res, "zoneID"), "zoneName"), &nulls[0]);
	values[1] = text_or_null(ck_member_string(member(res, "zoneID"), "ownerRecordName"), &nulls[1]);
	values[2] = text_or_null(ck_member_string(res, "rootRecordName"), &nulls[2]);
	values[3] = text_or_null(ck_member_string(member(member(res, "share"), "currentUserParticipant"),
										   "permission"), &nulls[3]);
	if (nulls[0])
		bad_answer(&call, "The accepted share names no zone.");
	ckfdw_release_connection(call.conn);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
