/*-------------------------------------------------------------------------
 *
 * option.c
 *		  Option validation for ckfdw, and merging of server and table options
 *
 * Which option is legal where, and how its value is checked, is one table
 * (ckfdw_options).  An unknown option is reported with the closest valid
 * name, as postgres_fdw does.  Values of secret options (keys and tokens) are
 * never printed.
 *
 * private_key_file names a file the server process reads with its own
 * operating-system rights, like postgres_fdw's sslkey (which is
 * superuser-only).  We allow it for superusers and for roles with the
 * privileges of pg_read_server_files, the role that already grants reading
 * any server file; everyone else stores the key itself in the user mapping
 * (option private_key), which pg_user_mappings hides from other roles.
 * The server option ca_file (the CAs https is verified against) is a file
 * the server reads too, under the same rule.
 *
 * IDENTIFICATION
 *		  src/option.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>

#include "access/reloptions.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/varlena.h"

#include "ckfdw.h"
#include "ck/ck_sign.h"
#include "ck/ck_types.h"

/* How an option's value is checked. */
typedef enum CkFdwOptionKind
{
	CKFDW_OPT_NAME,				/* a CloudKit name: non-empty, printable */
	CKFDW_OPT_CONTAINER,		/* iCloud.com.example.App */
	CKFDW_OPT_ENUM,				/* one of values[] */
	CKFDW_OPT_INT,				/* integer in [min, max] */
	CKFDW_OPT_SECONDS,			/* duration, bare numbers in seconds */
	CKFDW_OPT_BYTES,			/* size, bare numbers in bytes */
	CKFDW_OPT_URL,				/* base URL, https (or http on loopback) */
	CKFDW_OPT_PATH,				/* absolute path of a file the server reads */
	CKFDW_OPT_PEM,				/* EC P-256 private key in PEM */
	CKFDW_OPT_SECRET,			/* a token: non-empty */
	CKFDW_OPT_CKTYPE,			/* a CloudKit wire type name */
	CKFDW_OPT_BOOL				/* true/false, on/off, ... */
} CkFdwOptionKind;

typedef struct CkFdwOption
{
	const char *keyword;
	Oid			optcontext;		/* catalog the option may appear in */
	CkFdwOptionKind kind;
	const char *const *values;	/* CKFDW_OPT_ENUM */
	double		min;			/* numeric kinds, in the unit of the value */
	double		max;
	bool		secret;			/* never print the value */
} CkFdwOption;

static const char *const environment_values[] = {"development", "production", NULL};
static const char *const database_values[] = {"public", "private", "shared", NULL};
static const char *const insert_mode_values[] = {"create", "replace", "merge", NULL};
static const char *const reference_action_values[] = {"NONE", "VALIDATE", "DELETE_SELF", NULL};
/* Indexed by CkFdwScanSourceOption. */
static const char *const scan_source_values[] = {"auto", "query", "changes", NULL};

/* Indexed by CkFdwSystemField; CKFDW_SYS_NONE has no name. */
static const char *const system_values[] = {
	"recordName",
	"recordChangeTag",
	"createdTimestamp",
	"modifiedTimestamp",
	"createdUserRecordName",
	"modifiedUserRecordName",
	"syncToken",
	"deleted",
	NULL
};

#define SERVER	ForeignServerRelationId
#define MAPPING UserMappingRelationId
#define TABLE	ForeignTableRelationId
#define COLUMN	AttributeRelationId

static const CkFdwOption ckfdw_options[] = {
	/* server */
	{"container", SERVER, CKFDW_OPT_CONTAINER, NULL, 0, 0, false},
	{"environment", SERVER, CKFDW_OPT_ENUM, environment_values, 0, 0, false},
	{"database", SERVER, CKFDW_OPT_ENUM, database_values, 0, 0, false},
	{"base_url", SERVER, CKFDW_OPT_URL, NULL, 0, 0, false},
	{"page_size", SERVER, CKFDW_OPT_INT, NULL, 1, CKFDW_MAX_PAGE_SIZE, false},
	{"batch_size", SERVER, CKFDW_OPT_INT, NULL, 1, 200, false},
	{"connect_timeout", SERVER, CKFDW_OPT_SECONDS, NULL, 0.001, 3600, false},
	{"request_timeout", SERVER, CKFDW_OPT_SECONDS, NULL, 0.001, 86400, false},
	{"max_response_size", SERVER, CKFDW_OPT_BYTES, NULL, 1024, 1024 * 1024 * 1024, false},
	/* asset content read or written as bytea (asset_download.c, asset_upload.c) */
	{"max_asset_size", SERVER, CKFDW_OPT_BYTES, NULL, 0, 1024 * 1024 * 1024, false},
	{"max_retries", SERVER, CKFDW_OPT_INT, NULL, 0, 100, false},
	{"max_retry_wait", SERVER, CKFDW_OPT_SECONDS, NULL, 0.001, 3600, false},
	{"max_in_flight", SERVER, CKFDW_OPT_INT, NULL, 1, CKFDW_MAX_IN_FLIGHT, false},
	{"scan_source", SERVER, CKFDW_OPT_ENUM, scan_source_values, 0, 0, false},
	/* PEM CA bundle that https is verified against, instead of the system's */
	{"ca_file", SERVER, CKFDW_OPT_PATH, NULL, 0, 0, false},
	/* several requests at once (scan_cursors.c, scan_async.c) */
	{"async_capable", SERVER, CKFDW_OPT_BOOL, NULL, 0, 0, false},
	{"scan_cursors", SERVER, CKFDW_OPT_INT, NULL, 1, CKFDW_MAX_SCAN_CURSORS, false},

	/* user mapping */
	{"key_id", MAPPING, CKFDW_OPT_NAME, NULL, 0, 0, false},
	{"private_key_file", MAPPING, CKFDW_OPT_PATH, NULL, 0, 0, false},
	{"private_key", MAPPING, CKFDW_OPT_PEM, NULL, 0, 0, true},
	{"api_token", MAPPING, CKFDW_OPT_SECRET, NULL, 0, 0, true},
	{"web_auth_token", MAPPING, CKFDW_OPT_SECRET, NULL, 0, 0, true},

	/* foreign table */
	{"record_type", TABLE, CKFDW_OPT_NAME, NULL, 0, 0, false},
	{"zone", TABLE, CKFDW_OPT_NAME, NULL, 0, 0, false},
	{"zone_owner", TABLE, CKFDW_OPT_NAME, NULL, 0, 0, false},
	{"page_size", TABLE, CKFDW_OPT_INT, NULL, 1, CKFDW_MAX_PAGE_SIZE, false},
	{"batch_size", TABLE, CKFDW_OPT_INT, NULL, 1, 200, false},
	{"scan_source", TABLE, CKFDW_OPT_ENUM, scan_source_values, 0, 0, false},
	{"async_capable", TABLE, CKFDW_OPT_BOOL, NULL, 0, 0, false},
	{"scan_cursors", TABLE, CKFDW_OPT_INT, NULL, 1, CKFDW_MAX_SCAN_CURSORS, false},
	{"split_column", TABLE, CKFDW_OPT_NAME, NULL, 0, 0, false},
	/* writes (see modify.c) */
	{"insert_mode", TABLE, CKFDW_OPT_ENUM, insert_mode_values, 0, 0, false},
	{"force", TABLE, CKFDW_OPT_BOOL, NULL, 0, 0, false},
	{"atomic", TABLE, CKFDW_OPT_BOOL, NULL, 0, 0, false},

	/* column */
	{"field", COLUMN, CKFDW_OPT_NAME, NULL, 0, 0, false},
	{"system", COLUMN, CKFDW_OPT_ENUM, system_values, 0, 0, false},
	{"type", COLUMN, CKFDW_OPT_CKTYPE, NULL, 0, 0, false},
	{"reference_action", COLUMN, CKFDW_OPT_ENUM, reference_action_values, 0, 0, false},
	/* the field's CloudKit indexes, for pushdown (see deparse.c) */
	{"queryable", COLUMN, CKFDW_OPT_BOOL, NULL, 0, 0, false},
	{"sortable", COLUMN, CKFDW_OPT_BOOL, NULL, 0, 0, false},
	{"searchable", COLUMN, CKFDW_OPT_BOOL, NULL, 0, 0, false},

	{NULL, InvalidOid, CKFDW_OPT_NAME, NULL, 0, 0, false}
};

/* Longest PEM text or key file we accept; real P-256 keys are ~250 bytes. */
#define CKFDW_MAX_KEY_SIZE	(64 * 1024)

/* Longest CloudKit name (record names, zone names: 255 ASCII characters). */
#define CKFDW_MAX_NAME_LEN	255

PG_FUNCTION_INFO_V1(ckfdw_validator);

static void validate_option(const CkFdwOption *opt, DefElem *def);
static void report_unknown_option(const char *name, Oid catalog);
static void check_user_mapping(List *options);
static void check_column(List *options);
static void check_scan_source(List *options, Oid catalog);
static bool check_base_url(const char *url, bool *loopback, const char **problem);
static const char *context_name(Oid catalog);
static char *values_list(const char *const *values);

/*
 * Validate the generic options given to a FOREIGN DATA WRAPPER, SERVER,
 * USER MAPPING or FOREIGN TABLE (or one of its columns) that uses ckfdw.
 *
 * Raise an ERROR if the option or its value is considered invalid, or if a
 * required option is missing.
 */
Datum
ckfdw_validator(PG_FUNCTION_ARGS)
{
	List	   *options_list = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	ListCell   *cell;

	foreach(cell, options_list)
	{
		DefElem    *def = (DefElem *) lfirst(cell);
		const CkFdwOption *opt;

		for (opt = ckfdw_options; opt->keyword; opt++)
		{
			if (opt->optcontext == catalog &&
				strcmp(opt->keyword, def->defname) == 0)
				break;
		}
		if (opt->keyword == NULL)
			report_unknown_option(def->defname, catalog);

		validate_option(opt, def);
	}

	if (catalog == ForeignServerRelationId &&
		ckfdw_option_value(options_list, "container") == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_DYNAMIC_PARAMETER_VALUE_NEEDED),
				 errmsg("option \"container\" is required for a ckfdw server"),
				 errhint("Name the CloudKit container, e.g. OPTIONS (container 'iCloud.com.example.App').")));

	if (catalog == UserMappingRelationId)
		check_user_mapping(options_list);

	if (catalog == AttributeRelationId)
		check_column(options_list);

	if (catalog == ForeignServerRelationId || catalog == ForeignTableRelationId)
		check_scan_source(options_list, catalog);

	PG_RETURN_VOID();
}

/*
 * Complain about an option that is not legal in this context.  If it is
 * legal elsewhere say where; otherwise suggest the closest valid name, as
 * postgres_fdw does (PostgreSQL 16's ClosestMatchState, spelled out here
 * because PostgreSQL 15 lacks it).
 */
static void
report_unknown_option(const char *name, Oid catalog)
{
	const CkFdwOption *opt;
	StringInfoData elsewhere;
	const char *closest;
	const char **keywords;
	int			nkeywords = 0;
	bool		has_valid_options = false;

	initStringInfo(&elsewhere);
	keywords = palloc(sizeof(char *) * lengthof(ckfdw_options));
	for (opt = ckfdw_options; opt->keyword; opt++)
	{
		if (opt->optcontext == catalog)
		{
			has_valid_options = true;
			keywords[nkeywords++] = opt->keyword;
		}
		else if (strcmp(opt->keyword, name) == 0)
		{
			if (elsewhere.len > 0)
				appendStringInfoString(&elsewhere, " or ");
			appendStringInfoString(&elsewhere, context_name(opt->optcontext));
		}
	}
	keywords[nkeywords] = NULL;
	closest = ckfdw_closest_name(name, keywords);

	if (elsewhere.len > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("invalid option \"%s\"", name),
				 errhint("Option \"%s\" belongs on %s, not on %s.",
						 name, elsewhere.data, context_name(catalog))));

	if (closest != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("invalid option \"%s\"", name),
				 errhint("Perhaps you meant the option \"%s\".", closest)));

	if (has_valid_options)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		for (opt = ckfdw_options; opt->keyword; opt++)
		{
			if (opt->optcontext != catalog)
				continue;
			if (buf.len > 0)
				appendStringInfoString(&buf, ", ");
			appendStringInfoString(&buf, opt->keyword);
		}
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("invalid option \"%s\"", name),
				 errhint("Valid options in this context are: %s.", buf.data)));
	}

	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
			 errmsg("invalid option \"%s\"", name),
			 errhint("There are no valid options in this context.")));
}

/*
 * The candidate closest to name (Levenshtein distance at most 4 and at most
 * half of name's length), or NULL.  candidates ends with NULL.
 */
const char *
ckfdw_closest_name(const char *name, const char *const *candidates)
{
	const char *closest = NULL;
	int			closest_d = -1;
	int			name_len = strlen(name);

	if (name_len == 0 || name_len > 255)
		return NULL;
	for (; *candidates; candidates++)
	{
		int			len = strlen(*candidates);
		int			d;

		if (len > 255)
			continue;
		d = varstr_levenshtein_less_equal(name, name_len, *candidates, len,
										  1, 1, 1, 4, true);
		if (d <= 4 && d <= name_len / 2 &&
			(closest_d < 0 || d < closest_d))
		{
			closest_d = d;
			closest = *candidates;
		}
	}
	return closest;
}

static const char *
context_name(Oid catalog)
{
	switch (catalog)
	{
		case ForeignServerRelationId:
			return "the server";
		case UserMappingRelationId:
			return "the user mapping";
		case ForeignTableRelationId:
			return "the foreign table";
		case AttributeRelationId:
			return "a column";
		case ForeignDataWrapperRelationId:
			return "the foreign-data wrapper";
	}
	return "this object";
}

/* "\"a\", \"b\", \"c\"" */
static char *
values_list(const char *const *values)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (; *values; values++)
	{
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfo(&buf, "\"%s\"", *values);
	}
	return buf.data;
}

static void
invalid_value(const CkFdwOption *opt, const char *value, const char *detail,
			  const char *hint)
{
	if (opt->secret)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"%s\"", opt->keyword),
				 detail ? errdetail_internal("%s", detail) : 0,
				 hint ? errhint("%s", hint) : 0));
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
			 errmsg("invalid value for option \"%s\": \"%s\"", opt->keyword, value),
			 detail ? errdetail_internal("%s", detail) : 0,
			 hint ? errhint("%s", hint) : 0));
}

/* [-]digits, decimal, nothing around: "5", "-1"; not " 5", "+5", "0x5" */
static bool
plain_integer_text(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '\0')
		return false;
	/* a leading zero would be read as octal ("010" is 8) */
	if (s[0] == '0' && s[1] != '\0')
		return false;
	return strspn(s, "0123456789") == strlen(s);
}

/* No white space before or after the value (inside, "500 ms" is fine). */
static bool
trimmed_text(const char *s)
{
	size_t		len = strlen(s);

	return len > 0 && !isspace((unsigned char) s[0]) &&
		!isspace((unsigned char) s[len - 1]);
}

static void
validate_option(const CkFdwOption *opt, DefElem *def)
{
	char	   *value = defGetString(def);
	size_t		len = strlen(value);

	switch (opt->kind)
	{
		case CKFDW_OPT_NAME:
			{
				const char *p;

				if (len == 0)
					invalid_value(opt, value, "The value must not be empty.", NULL);
				if (len > CKFDW_MAX_NAME_LEN)
					invalid_value(opt, value, "CloudKit names are at most 255 bytes long.", NULL);
				for (p = value; *p; p++)
				{
					if ((unsigned char) *p < 0x20 || *p == 0x7f)
						invalid_value(opt, value, "The value must not contain control characters.", NULL);
				}
				break;
			}
		case CKFDW_OPT_CONTAINER:
			{
				const char *p;

				for (p = value; *p; p++)
				{
					if (!(isalnum((unsigned char) *p) || *p == '.' || *p == '-' || *p == '_'))
						break;
				}
				if (len == 0 || len > CKFDW_MAX_NAME_LEN || *p != '\0')
					invalid_value(opt, value,
								  "A container identifier consists of letters, digits, \".\", \"-\" and \"_\".",
								  "Container identifiers look like \"iCloud.com.example.App\".");
				break;
			}
		case CKFDW_OPT_ENUM:
			{
				const char *const *v;

				for (v = opt->values; *v; v++)
				{
					if (strcmp(*v, value) == 0)
						break;
				}
				if (*v == NULL)
				{
					char	   *hint = psprintf("Valid values are: %s.",
												values_list(opt->values));

					invalid_value(opt, value, NULL, hint);
				}
				break;
			}
		case CKFDW_OPT_INT:
			{
				int			n;
				const char *hintmsg = NULL;

				/*
				 * parse_int alone would take " 5", "5 " and "0x10" (16), and
				 * "010" as octal 8: a value must be exactly what it means.
				 */
				if (!plain_integer_text(value) ||
					!parse_int(value, &n, 0, &hintmsg))
					invalid_value(opt, value, "The value must be an integer, written in decimal digits.", hintmsg);
				if (n < opt->min || n > opt->max)
					ereport(ERROR,
							(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
							 errmsg("value %d for option \"%s\" is out of range",
									n, opt->keyword),
							 errhint("Valid values are between %d and %d.",
									 (int) opt->min, (int) opt->max)));
				break;
			}
		case CKFDW_OPT_SECONDS:
			{
				double		secs;
				const char *hintmsg = NULL;

				if (!trimmed_text(value) ||
					!parse_real(value, &secs, GUC_UNIT_S, &hintmsg))
					invalid_value(opt, value,
								  "The value must be a duration, in seconds unless a unit (ms, s, min) is given.",
								  hintmsg);
				if (secs < opt->min || secs > opt->max)
					ereport(ERROR,
							(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
							 errmsg("value \"%s\" for option \"%s\" is out of range",
									value, opt->keyword),
							 errhint("Valid values are between %g and %g seconds.",
									 opt->min, opt->max)));
				break;
			}
		case CKFDW_OPT_BYTES:
			{
				int			n;
				const char *hintmsg = NULL;

				if (!trimmed_text(value) ||
					!parse_int(value, &n, GUC_UNIT_BYTE, &hintmsg))
					invalid_value(opt, value,
								  "The value must be a size, in bytes unless a unit (kB, MB, GB) is given.",
								  hintmsg);
				if (n < opt->min || n > opt->max)
					ereport(ERROR,
							(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
							 errmsg("value \"%s\" for option \"%s\" is out of range",
									value, opt->keyword),
							 errhint("Valid values are between 1kB and 1GB.")));
				break;
			}
		case CKFDW_OPT_URL:
			{
				bool		loopback;
				const char *problem = NULL;

				if (!check_base_url(value, &loopback, &problem))
					invalid_value(opt, value, problem,
								  "A base URL looks like \"https://api.apple-cloudkit.com\".");
				if (pg_strncasecmp(value, "http://", 7) == 0 && !loopback)
					ereport(ERROR,
							(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
							 errmsg("option \"base_url\" may use http:// only with a loopback address"),
							 errdetail("\"%s\" is not 127.0.0.0/8, ::1 or localhost.", value),
							 errhint("Use https://; plain http is meant for a local emulator.")));

				/*
				 * Services on the database server's own machine often trust
				 * local callers: only a superuser may point ckfdw at them.
				 */
				if (loopback && !superuser())
					ereport(ERROR,
							(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
							 errmsg("permission denied to set option \"base_url\" to a loopback address"),
							 errdetail("Only superusers may send CloudKit requests to services on the database server's machine."),
							 errhint("Ask a superuser to create the server.")));
				break;
			}
		case CKFDW_OPT_PATH:
			ckfdw_check_server_file(opt->keyword, value,
									strcmp(opt->keyword, "ca_file") == 0 ?
									"Ask a superuser to set it on the server." :
									"Put the key itself into option \"private_key\" instead.");
			break;
		case CKFDW_OPT_PEM:
			{
				char		err[256];
				CkKey	   *key;

				if (len > CKFDW_MAX_KEY_SIZE)
					invalid_value(opt, value, "The value is too long to be a key.", NULL);
				key = ck_key_load_private_pem(value, err, sizeof(err));
				if (key == NULL)
					invalid_value(opt, value, err,
								  "The key must be an EC P-256 private key in PEM form, as made by \"openssl ecparam -name prime256v1 -genkey -noout\".");
				ck_key_free(key);
				break;
			}
		case CKFDW_OPT_SECRET:
			if (len == 0)
				invalid_value(opt, value, "The value must not be empty.", NULL);
			break;
		case CKFDW_OPT_CKTYPE:
			{
				CkFieldType type;

				if (!ck_type_parse(value, &type) ||
					(type.is_list && type.elem == CK_TYPE_UNKNOWN))
					invalid_value(opt, value, NULL,
								  "Valid types are STRING, INT64, DOUBLE, TIMESTAMP, BYTES, REFERENCE, LOCATION, ASSETID and their lists such as STRING_LIST.");
				break;
			}
		case CKFDW_OPT_BOOL:
			{
				bool		b;

				if (!parse_bool(value, &b))
					invalid_value(opt, value, NULL,
								  "Valid values are \"true\" and \"false\".");
				break;
			}
	}
}

/*
 * An option naming a file the server process reads (private_key_file, and
 * IMPORT FOREIGN SCHEMA's schema_file): only superusers and roles with the
 * privileges of pg_read_server_files may set it, and the path is absolute.
 */
void
ckfdw_check_server_file(const char *option, const char *path, const char *hint)
{
	if (!superuser() &&
		!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to set option \"%s\"", option),
				 errdetail("Only superusers and roles with the privileges of pg_read_server_files may set it, because the server process reads the file."),
				 hint ? errhint("%s", hint) : 0));
	if (!is_absolute_path(path))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", option, path),
				 errdetail_internal("The path must be absolute.")));
}

/* Exactly one way of authenticating: a server-to-server key or an API token. */
static void
check_user_mapping(List *options)
{
	bool		key_id = ckfdw_option_value(options, "key_id") != NULL;
	bool		key_file = ckfdw_option_value(options, "private_key_file") != NULL;
	bool		key_pem = ckfdw_option_value(options, "private_key") != NULL;
	bool		api_token = ckfdw_option_value(options, "api_token") != NULL;
	bool		web_token = ckfdw_option_value(options, "web_auth_token") != NULL;

	if (key_file && key_pem)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("options \"private_key_file\" and \"private_key\" cannot be used together"),
				 errhint("Give the server-to-server key one way only.")));
	if ((key_id || key_file || key_pem) && (api_token || web_token))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("a ckfdw user mapping uses either a server-to-server key or an API token, not both"),
				 errhint("Drop \"key_id\", \"private_key_file\" and \"private_key\", or drop \"api_token\" and \"web_auth_token\".")));
	if (key_id && !key_file && !key_pem)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_DYNAMIC_PARAMETER_VALUE_NEEDED),
				 errmsg("option \"key_id\" needs option \"private_key_file\" or \"private_key\"")));
	if ((key_file || key_pem) && !key_id)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_DYNAMIC_PARAMETER_VALUE_NEEDED),
				 errmsg("option \"%s\" needs option \"key_id\"",
						key_file ? "private_key_file" : "private_key"),
				 errhint("The key ID is shown next to the key in CloudKit Console.")));
	if (web_token && !api_token)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_DYNAMIC_PARAMETER_VALUE_NEEDED),
				 errmsg("option \"web_auth_token\" needs option \"api_token\"")));
	if (!key_id && !api_token)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_DYNAMIC_PARAMETER_VALUE_NEEDED),
				 errmsg("a ckfdw user mapping needs credentials"),
				 errhint("Set \"key_id\" with \"private_key_file\" or \"private_key\" for a server-to-server key, or \"api_token\" (with \"web_auth_token\" for a signed-in user).")));
}

static void
check_column(List *options)
{
	bool		system = ckfdw_option_value(options, "system") != NULL;

	if (system && ckfdw_option_value(options, "field") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("options \"system\" and \"field\" cannot be used together"),
				 errhint("A column maps either a CloudKit system field or a record field.")));
	if (system && ckfdw_option_value(options, "type") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("options \"system\" and \"type\" cannot be used together"),
				 errhint("System fields have fixed types.")));
	if (ckfdw_option_value(options, "reference_action") != NULL)
	{
		char	   *type_opt = ckfdw_option_value(options, "type");
		CkFieldType type;

		if (type_opt == NULL || !ck_type_parse(type_opt, &type) ||
			type.elem != CK_TYPE_REFERENCE)
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("option \"reference_action\" needs option \"type\" 'REFERENCE' or 'REFERENCE_LIST'"),
					 errhint("The action is sent with each reference the column writes.")));
	}
}

/*
 * scan_source 'changes' needs a change feed: CloudKit keeps them for custom
 * zones of the private and shared databases.  Here we refuse what the
 * options at hand already rule out (a public server; a table in the default
 * zone); the planner checks the merged options (ckfdw_check_changes).
 */
static void
check_scan_source(List *options, Oid catalog)
{
	char	   *source = ckfdw_option_value(options, "scan_source");
	char	   *database = ckfdw_option_value(options, "database");
	char	   *zone = ckfdw_option_value(options, "zone");

	if (source == NULL || strcmp(source, "changes") != 0)
		return;
	if (catalog == ForeignServerRelationId &&
		(database == NULL || strcmp(database, "public") == 0))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("option \"scan_source\" 'changes' needs the private or shared database"),
				 errdetail("CloudKit keeps change feeds only for custom zones of the private and shared databases; this server uses the public database."),
				 errhint("Use scan_source 'auto' or 'query', or set option \"database\" to 'private' or 'shared'.")));
	if (catalog == ForeignTableRelationId &&
		(zone == NULL || strcmp(zone, CKFDW_DEFAULT_ZONE) == 0))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("option \"scan_source\" 'changes' needs a custom zone"),
				 errdetail("CloudKit keeps change feeds only for custom zones; the table is in \"%s\".",
						   CKFDW_DEFAULT_ZONE),
				 errhint("Set the table's option \"zone\" to a custom zone, or use scan_source 'auto' or 'query'.")));
}

/*
 * The merged options of a table whose scan reads the change feed: a custom
 * zone of the private or shared database.  what names the reason the scan
 * reads the feed, for the message.
 */
void
ckfdw_check_changes(CkFdwOptions *opts, const char *relname, const char *what)
{
	if (strcmp(opts->database, "public") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("%s of foreign table \"%s\" needs the private or shared database", what, relname),
				 errdetail("CloudKit keeps change feeds only for custom zones of the private and shared databases; the table's server uses the public database."),
				 errhint("Read public-database changes with a condition on the modifiedTimestamp column instead.")));
	if (strcmp(opts->zone, CKFDW_DEFAULT_ZONE) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("%s of foreign table \"%s\" needs a custom zone", what, relname),
				 errdetail("CloudKit keeps change feeds only for custom zones; the table is in \"%s\".",
						   CKFDW_DEFAULT_ZONE),
				 errhint("Set the table's option \"zone\" to a custom zone.")));
}

/*
 * A base URL is scheme://host[:port] with an optional final "/": no user
 * name or password (credentials belong in the user mapping), no path, query
 * or fragment.  *loopback tells whether the host is 127.0.0.0/8, ::1 or
 * localhost.
 */
static bool
check_base_url(const char *url, bool *loopback, const char **problem)
{
	const char *p;
	const char *host_end;
	char		host[256];
	size_t		host_len;

	*loopback = false;
	if (pg_strncasecmp(url, "https://", 8) == 0)
		p = url + 8;
	else if (pg_strncasecmp(url, "http://", 7) == 0)
		p = url + 7;
	else
	{
		*problem = "The URL must begin with https:// (or http:// for a loopback address).";
		return false;
	}

	if (strpbrk(p, "@") != NULL)
	{
		*problem = "The URL must not contain a user name or password.";
		return false;
	}

	if (*p == '[')
	{
		host_end = strchr(p, ']');
		if (host_end == NULL)
		{
			*problem = "An IPv6 address must be closed with \"]\".";
			return false;
		}
		host_len = host_end - (p + 1);
		if (host_len == 0 || host_len >= sizeof(host))
		{
			*problem = "The host name is missing or too long.";
			return false;
		}
		memcpy(host, p + 1, host_len);
		host[host_len] = '\0';
		p = host_end + 1;
		{
			struct in6_addr addr6;

			if (inet_pton(AF_INET6, host, &addr6) != 1)
			{
				*problem = "The bracketed host is not an IPv6 address.";
				return false;
			}
			*loopback = IN6_IS_ADDR_LOOPBACK(&addr6);
		}
	}
	else
	{
		host_len = strcspn(p, ":/?#");
		if (host_len == 0 || host_len >= sizeof(host))
		{
			*problem = "The host name is missing or too long.";
			return false;
		}
		memcpy(host, p, host_len);
		host[host_len] = '\0';
		p += host_len;
		for (host_end = host; *host_end; host_end++)
		{
			if (!(isalnum((unsigned char) *host_end) || *host_end == '-' || *host_end == '.'))
			{
				*problem = "The host name contains characters other than letters, digits, \"-\" and \".\".";
				return false;
			}
		}
		{
			struct in_addr addr4;

			if (pg_strcasecmp(host, "localhost") == 0)
				*loopback = true;
			else if (inet_pton(AF_INET, host, &addr4) == 1)
				*loopback = (ntohl(addr4.s_addr) >> 24) == 127;
		}
	}

	if (*p == ':')
	{
		long		port = 0;

		p++;
		if (!isdigit((unsigned char) *p))
		{
			*problem = "The port must be a number.";
			return false;
		}
		while (isdigit((unsigned char) *p) && port <= 65535)
			port = port * 10 + (*p++ - '0');
		if (port < 1 || port > 65535)
		{
			*problem = "The port must be between 1 and 65535.";
			return false;
		}
	}

	if (*p == '/')
		p++;
	if (*p != '\0')
	{
		*problem = "The URL must not have a path, query or fragment: ckfdw adds \"/database/1/...\" itself.";
		return false;
	}
	return true;
}

/*
 * Whether a server's requests may go to the database server's own machine
 * (loopback, 0.0.0.0, the addresses of its interfaces).  Services there
 * often trust local callers, so only a superuser may point ckfdw at them.
 * The validator refuses loopback spellings of base_url to other roles;
 * this is the rule the transport applies, at connect time, to the address
 * the host name resolved to, however it was spelled.  It asks who owns the
 * server: only the owner (or a superuser) can change its base_url.
 */
bool
ckfdw_may_reach_local_machine(ForeignServer *server)
{
	return superuser_arg(server->owner);
}

/*
 * The value of option "name" in a list of DefElems, or NULL.
 */
char *
ckfdw_option_value(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, name) == 0)
			return defGetString(def);
	}
	return NULL;
}

const char *
ckfdw_system_field_name(CkFdwSystemField field)
{
	if (field == CKFDW_SYS_NONE)
		return NULL;
	return system_values[field - 1];
}

/* Values were checked by the validator; these only convert them. */
static long
seconds_ms(const char *value)
{
	double		secs = 0;

	(void) parse_real(value, &secs, GUC_UNIT_S, NULL);
	return (long) rint(secs * 1000.0);
}

static int
int_value(const char *value)
{
	int			n = 0;

	(void) parse_int(value, &n, 0, NULL);
	return n;
}

static void
apply_option(CkFdwOptions *opts, DefElem *def)
{
	const char *name = def->defname;
	char	   *value = defGetString(def);

	if (strcmp(name, "container") == 0)
		opts->container = value;
	else if (strcmp(name, "environment") == 0)
		opts->environment = value;
	else if (strcmp(name, "database") == 0)
		opts->database = value;
	else if (strcmp(name, "base_url") == 0)
	{
		size_t		len = strlen(value);

		/* we append "/database/1/..." ourselves */
		if (len > 0 && value[len - 1] == '/')
			value = pnstrdup(value, len - 1);
		opts->base_url = value;
	}
	else if (strcmp(name, "page_size") == 0)
		opts->page_size = int_value(value);
	else if (strcmp(name, "batch_size") == 0)
		opts->batch_size = int_value(value);
	else if (strcmp(name, "connect_timeout") == 0)
		opts->connect_timeout_ms = seconds_ms(value);
	else if (strcmp(name, "request_timeout") == 0)
		opts->request_timeout_ms = seconds_ms(value);
	else if (strcmp(name, "max_response_size") == 0)
	{
		int			n = 0;

		(void) parse_int(value, &n, GUC_UNIT_BYTE, NULL);
		opts->max_response_size = n;
	}
	else if (strcmp(name, "max_asset_size") == 0)
	{
		int			n = 0;

		(void) parse_int(value, &n, GUC_UNIT_BYTE, NULL);
		opts->max_asset_size = n;
	}
	else if (strcmp(name, "max_retries") == 0)
		opts->max_retries = int_value(value);
	else if (strcmp(name, "max_retry_wait") == 0)
		opts->max_retry_wait_ms = seconds_ms(value);
	else if (strcmp(name, "max_in_flight") == 0)
		opts->max_in_flight = int_value(value);
	else if (strcmp(name, "record_type") == 0)
		opts->record_type = value;
	else if (strcmp(name, "zone") == 0)
		opts->zone = value;
	else if (strcmp(name, "zone_owner") == 0)
		opts->zone_owner = value;
	else if (strcmp(name, "async_capable") == 0)
		opts->async_capable = defGetBoolean(def);
	else if (strcmp(name, "scan_cursors") == 0)
		opts->scan_cursors = int_value(value);
	else if (strcmp(name, "split_column") == 0)
		opts->split_column = value;
	else if (strcmp(name, "scan_source") == 0)
	{
		CkFdwScanSourceOption s;

		for (s = CKFDW_SOURCE_AUTO; s <= CKFDW_SOURCE_CHANGES; s++)
		{
			if (strcmp(scan_source_values[s], value) == 0)
				opts->scan_source = s;
		}
	}
}

/*
 * The options of a foreign table: defaults, then the server's options, then
 * the table's.  table and rel may be NULL for server-level use.
 */
CkFdwOptions *
ckfdw_get_options(ForeignServer *server, ForeignTable *table, Relation rel)
{
	CkFdwOptions *opts = palloc0(sizeof(CkFdwOptions));
	ListCell   *lc;

	opts->environment = CKFDW_DEFAULT_ENVIRONMENT;
	opts->database = CKFDW_DEFAULT_DATABASE;
	opts->base_url = CKFDW_DEFAULT_BASE_URL;
	opts->page_size = CKFDW_DEFAULT_PAGE_SIZE;
	opts->batch_size = CKFDW_DEFAULT_BATCH_SIZE;
	opts->connect_timeout_ms = CKFDW_DEFAULT_CONNECT_TIMEOUT_MS;
	opts->request_timeout_ms = CKFDW_DEFAULT_REQUEST_TIMEOUT_MS;
	opts->max_response_size = CKFDW_DEFAULT_MAX_RESPONSE_SIZE;
	opts->max_asset_size = CKFDW_DEFAULT_MAX_ASSET_SIZE;
	opts->max_retries = CKFDW_DEFAULT_MAX_RETRIES;
	opts->max_retry_wait_ms = CKFDW_DEFAULT_MAX_RETRY_WAIT_MS;
	opts->max_in_flight = CKFDW_DEFAULT_MAX_IN_FLIGHT;
	opts->zone = CKFDW_DEFAULT_ZONE;
	opts->scan_cursors = 1;

	foreach(lc, server->options)
		apply_option(opts, (DefElem *) lfirst(lc));
	if (table != NULL)
	{
		foreach(lc, table->options)
			apply_option(opts, (DefElem *) lfirst(lc));
	}
	if (opts->record_type == NULL && rel != NULL)
		opts->record_type = pstrdup(RelationGetRelationName(rel));

	/* the validator insists on it, but a server may predate the validator */
	if (opts->container == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_DYNAMIC_PARAMETER_VALUE_NEEDED),
				 errmsg("server \"%s\" has no option \"container\"",
						server->servername)));
	return opts;
}
