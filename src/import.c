/*-------------------------------------------------------------------------
 *
 * import.c
 *		  IMPORT FOREIGN SCHEMA for ckfdw: foreign tables from a CloudKit
 *		  schema
 *
 * CloudKit publishes no schema over Web Services, so the source is the
 * schema in the CloudKit Schema Language, as "xcrun cktool export-schema"
 * writes it: a file the server process reads (option schema_file, for
 * superusers and pg_read_server_files, like private_key_file) or the text
 * itself (option schema).  Nothing is sent to CloudKit.
 *
 * Each record type becomes one CREATE FOREIGN TABLE.  Every column carries
 * the field's wire type (option "type"), so that writes send exactly what
 * the schema declares, and its indexes as options queryable, sortable and
 * searchable, 'true' or 'false': with 'false' the planner keeps a condition
 * the index would be needed for away from CloudKit, instead of sending a
 * request CloudKit refuses.  The indexes of the system fields ("___recordID",
 * "___createTime", ...) go onto the system columns.
 *
 * Names are snake_case by default (AllTypes -> all_types, firstName ->
 * first_name); options record_type and field keep the CloudKit names.  Two
 * names that would become the same table or column are an error naming
 * both, never a silently dropped field.
 *
 * The remote schema named in IMPORT FOREIGN SCHEMA has no meaning for
 * CloudKit (a container has one schema; zones hold records, not types), so
 * any name is accepted; README.md writes "ckfdw".
 *
 * IDENTIFICATION
 *		  src/import.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "ckfdw.h"
#include "ck/ck_schema.h"
#include "ck/ck_types.h"

/* A schema file larger than this is certainly not a schema (as ck_schema.c). */
#define CKFDW_MAX_SCHEMA_FILE	(16 * 1024 * 1024)

/* The options IMPORT FOREIGN SCHEMA takes. */
static const char *const import_option_names[] = {
	"schema_file",
	"schema",
	"zone",
	"zone_owner",
	"names",
	"system_columns",
	NULL
};

typedef struct CkFdwImportOptions
{
	char	   *schema_file;
	char	   *schema;
	char	   *zone;
	char	   *zone_owner;
	bool		snake_case;		/* names 'snake_case' (default) or 'keep' */
	bool		system_columns;
} CkFdwImportOptions;

/*
 * The columns added for the system fields, and the schema field whose
 * indexes they carry.
 */
typedef struct CkFdwImportSystemColumn
{
	const char *column;
	const char *sql_type;
	CkFdwSystemField system;
	const char *schema_field;
} CkFdwImportSystemColumn;

static const CkFdwImportSystemColumn import_system_columns[] = {
	{"record_name", "text", CKFDW_SYS_RECORD_NAME, "___recordID"},
	{"change_tag", "text", CKFDW_SYS_CHANGE_TAG, "___etag"},
	{"created", "timestamp with time zone", CKFDW_SYS_CREATED_TIMESTAMP, "___createTime"},
	{"created_by", "text", CKFDW_SYS_CREATED_USER, "___createdBy"},
	{"modified", "timestamp with time zone", CKFDW_SYS_MODIFIED_TIMESTAMP, "___modTime"},
	{"modified_by", "text", CKFDW_SYS_MODIFIED_USER, "___modifiedBy"},
};

#define NUM_SYSTEM_COLUMNS	lengthof(import_system_columns)

/* One column of a table to be created. */
typedef struct CkFdwImportColumn
{
	char	   *name;			/* as written in the DDL */
	char	   *effective;		/* as PostgreSQL stores it (truncated) */
	const CkSchemaField *field; /* NULL for a system column */
	const CkFdwImportSystemColumn *sys; /* NULL for a field */
} CkFdwImportColumn;

/* For the error context of reading and parsing the schema. */
typedef struct CkFdwImportSource
{
	const char *path;			/* NULL for inline text */
} CkFdwImportSource;

static void get_import_options(List *options, CkFdwImportOptions *opts);
static char *read_schema_file(const char *path);
static CkSchema *load_schema(const CkFdwImportOptions *opts);
static void free_schema_callback(void *arg);
static void import_error_callback(void *arg);
static char *clip_message(const char *msg);
static char *sql_name(const char *name, bool snake_case);
static char *effective_name(const char *name);
static bool type_listed(ImportForeignSchemaStmt *stmt, const char *record_type,
						const char *table, bool *by_table_name);
static List *table_columns(const CkSchemaRecordType *type,
						   const CkFdwImportOptions *opts,
						   const char *table);
static void append_index_options(StringInfo buf, const CkSchemaField *field);
static const char *column_sql_type(CkFieldType type);

/*
 * ckfdwImportForeignSchema
 *		Generate CREATE FOREIGN TABLE commands for the record types of a
 *		CloudKit schema
 *
 * PostgreSQL applies LIMIT TO and EXCEPT to the commands by table name
 * afterwards; a user may name a record type by either its CloudKit name or
 * its table name, so we filter here by both.  For a type LIMIT TO names by
 * its CloudKit name only, its table name is added to the statement's list,
 * or PostgreSQL would skip the command.  (The statement is ours to change:
 * ProcessUtility copies a cached plan's statement before running it.)
 */
List *
ckfdwImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	ForeignServer *server = GetForeignServer(serverOid);
	CkFdwImportOptions opts;
	CkSchema   *schema;
	List	   *commands = NIL;
	char	  **tables;
	const CkSchemaRecordType **types;
	int			ntables = 0;
	int			i;
	int			j;

	get_import_options(stmt->options, &opts);
	schema = load_schema(&opts);

	/* the tables to create, after LIMIT TO and EXCEPT */
	tables = palloc(sizeof(char *) * Max(schema->ntypes, 1));
	types = palloc(sizeof(CkSchemaRecordType *) * Max(schema->ntypes, 1));
	for (i = 0; i < schema->ntypes; i++)
	{
		const CkSchemaRecordType *type = &schema->types[i];
		char	   *table = sql_name(type->name, opts.snake_case);
		bool		by_table_name = false;
		bool		listed = type_listed(stmt, type->name, effective_name(table),
										 &by_table_name);

		if (stmt->list_type == FDW_IMPORT_SCHEMA_LIMIT_TO && !listed)
			continue;
		if (stmt->list_type == FDW_IMPORT_SCHEMA_EXCEPT && listed)
			continue;
		if (stmt->list_type == FDW_IMPORT_SCHEMA_LIMIT_TO && !by_table_name)
			stmt->table_list = lappend(stmt->table_list,
									   makeRangeVar(NULL, effective_name(table), -1));

		for (j = 0; j < ntables; j++)
		{
			bool		keep_helps;

			if (strcmp(effective_name(tables[j]), effective_name(table)) != 0)
				continue;
			keep_helps = opts.snake_case &&
				strcmp(effective_name(types[j]->name), effective_name(type->name)) != 0;
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_TABLE),
					 errmsg("CloudKit record types \"%s\" and \"%s\" would both be imported as table \"%s\"",
							types[j]->name, type->name, effective_name(table)),
					 keep_helps ?
					 errhint("Import with option names 'keep', or leave one of them out with EXCEPT and create its table by hand.") :
					 errhint("Leave one of them out with EXCEPT and create its table by hand.")));
		}
		tables[ntables] = table;
		types[ntables] = type;
		ntables++;
	}

	for (i = 0; i < ntables; i++)
	{
		const CkSchemaRecordType *type = types[i];
		List	   *columns = table_columns(type, &opts, tables[i]);
		StringInfoData buf;
		ListCell   *lc;
		bool		first = true;

		initStringInfo(&buf);
		appendStringInfo(&buf, "CREATE FOREIGN TABLE %s (",
						 quote_identifier(tables[i]));
		foreach(lc, columns)
		{
			CkFdwImportColumn *col = (CkFdwImportColumn *) lfirst(lc);

			appendStringInfo(&buf, "%s\n  %s ", first ? "" : ",",
							 quote_identifier(col->name));
			first = false;
			if (col->sys != NULL)
			{
				appendStringInfo(&buf, "%s OPTIONS (system %s",
								 col->sys->sql_type,
								 quote_literal_cstr(ckfdw_system_field_name(col->sys->system)));
				append_index_options(&buf,
									 ck_schema_find_field(type, col->sys->schema_field));
			}
			else
			{
				appendStringInfo(&buf, "%s OPTIONS (",
								 column_sql_type(col->field->type));
				if (strcmp(col->effective, col->field->name) != 0)
					appendStringInfo(&buf, "field %s, ",
									 quote_literal_cstr(col->field->name));
				appendStringInfo(&buf, "type %s",
								 quote_literal_cstr(ck_type_name(col->field->type)));
				append_index_options(&buf, col->field);
			}
			appendStringInfoChar(&buf, ')');
		}
		appendStringInfo(&buf, "\n) SERVER %s OPTIONS (record_type %s",
						 quote_identifier(server->servername),
						 quote_literal_cstr(type->name));
		if (opts.zone != NULL)
			appendStringInfo(&buf, ", zone %s", quote_literal_cstr(opts.zone));
		if (opts.zone_owner != NULL)
			appendStringInfo(&buf, ", zone_owner %s",
							 quote_literal_cstr(opts.zone_owner));
		appendStringInfoString(&buf, ");");
		commands = lappend(commands, buf.data);
	}

	return commands;
}

/*
 * Check the options of IMPORT FOREIGN SCHEMA.  Values that end up as table
 * options (zone, zone_owner) are checked by the validator when the tables
 * are created.
 */
static void
get_import_options(List *options, CkFdwImportOptions *opts)
{
	ListCell   *lc;

	memset(opts, 0, sizeof(*opts));
	opts->snake_case = true;
	opts->system_columns = true;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);
		const char *const *name;
		ListCell   *prev;

		for (name = import_option_names; *name; name++)
		{
			if (strcmp(*name, def->defname) == 0)
				break;
		}
		if (*name == NULL)
		{
			const char *closest = ckfdw_closest_name(def->defname,
													 import_option_names);

			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\" for IMPORT FOREIGN SCHEMA",
							def->defname),
					 closest ?
					 errhint("Perhaps you meant the option \"%s\".", closest) :
					 errhint("Valid options are: schema_file, schema, zone, zone_owner, names, system_columns.")));
		}

		foreach(prev, options)
		{
			DefElem    *other = (DefElem *) lfirst(prev);

			if (other == def)
				break;
			if (strcmp(other->defname, def->defname) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_SYNTAX_ERROR),
						 errmsg("option \"%s\" provided more than once",
								def->defname)));
		}

		if (strcmp(def->defname, "schema_file") == 0)
		{
			opts->schema_file = defGetString(def);
			ckfdw_check_server_file(def->defname, opts->schema_file,
									"Pass the schema text itself in option \"schema\" instead.");
		}
		else if (strcmp(def->defname, "schema") == 0)
			opts->schema = defGetString(def);
		else if (strcmp(def->defname, "zone") == 0)
			opts->zone = defGetString(def);
		else if (strcmp(def->defname, "zone_owner") == 0)
			opts->zone_owner = defGetString(def);
		else if (strcmp(def->defname, "names") == 0)
		{
			char	   *value = defGetString(def);

			if (strcmp(value, "snake_case") == 0)
				opts->snake_case = true;
			else if (strcmp(value, "keep") == 0)
				opts->snake_case = false;
			else
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"names\": \"%s\"", value),
						 errhint("Valid values are \"snake_case\" (the default: AllTypes becomes all_types) and \"keep\" (CloudKit's names).")));
		}
		else if (strcmp(def->defname, "system_columns") == 0)
		{
			char	   *value = defGetString(def);

			if (!parse_bool(value, &opts->system_columns))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"system_columns\": \"%s\"", value),
						 errhint("Valid values are \"true\" and \"false\".")));
		}
	}

	if (opts->schema_file != NULL && opts->schema != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("options \"schema_file\" and \"schema\" cannot be used together"),
				 errhint("Give the CloudKit schema one way only.")));
	if (opts->schema_file == NULL && opts->schema == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_DYNAMIC_PARAMETER_VALUE_NEEDED),
				 errmsg("IMPORT FOREIGN SCHEMA needs option \"schema_file\" or \"schema\""),
				 errdetail("CloudKit publishes no schema over Web Services."),
				 errhint("Export the schema with \"xcrun cktool export-schema\" and give the file's path in option \"schema_file\", or its text in option \"schema\".")));
}

/*
 * The schema, parsed.  It is malloc'd by ck_schema.c: a reset callback on
 * the current memory context frees it, at the end of the command or on
 * error.
 */
static CkSchema *
load_schema(const CkFdwImportOptions *opts)
{
	CkFdwImportSource source;
	ErrorContextCallback errcallback;
	MemoryContextCallback *cb;
	const char *text;
	CkSchema   *schema;
	char		err[512];

	source.path = opts->schema_file;
	errcallback.callback = import_error_callback;
	errcallback.arg = &source;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	text = opts->schema_file ? read_schema_file(opts->schema_file) : opts->schema;

	cb = palloc(sizeof(MemoryContextCallback));
	schema = ck_schema_parse(text, err, sizeof(err));
	if (schema == NULL)
	{
		if (opts->schema_file)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("could not parse CloudKit schema file \"%s\"",
							opts->schema_file),
					 errdetail_internal("%s", clip_message(err)),
					 errhint("The file must be in the CloudKit Schema Language, as \"xcrun cktool export-schema\" writes it.")));
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("could not parse the CloudKit schema given in option \"schema\""),
				 errdetail_internal("%s", clip_message(err)),
				 errhint("The text must be in the CloudKit Schema Language, as \"xcrun cktool export-schema\" writes it.")));
	}
	cb->func = free_schema_callback;
	cb->arg = schema;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);

	error_context_stack = errcallback.previous;
	return schema;
}

static void
free_schema_callback(void *arg)
{
	ck_schema_free((CkSchema *) arg);
}

static void
import_error_callback(void *arg)
{
	CkFdwImportSource *source = (CkFdwImportSource *) arg;

	if (source->path)
		errcontext("CloudKit schema file \"%s\"", source->path);
	else
		errcontext("CloudKit schema in option \"schema\"");
}

/*
 * The text of a schema file (UTF-8, as cktool writes it) in the database
 * encoding.  AllocateFile closes the file if we error out.
 */
static char *
read_schema_file(const char *path)
{
	FILE	   *file;
	StringInfoData buf;
	char	   *text;

	file = AllocateFile(path, PG_BINARY_R);
	if (file == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open CloudKit schema file \"%s\": %m", path),
				 errhint("The file is read by the database server's process: it must exist on the database server and be readable by the operating-system user PostgreSQL runs as.")));

	initStringInfo(&buf);
	for (;;)
	{
		size_t		n;

		CHECK_FOR_INTERRUPTS();
		enlargeStringInfo(&buf, 8192);
		n = fread(buf.data + buf.len, 1, 8192, file);
		buf.len += n;
		buf.data[buf.len] = '\0';
		if (n == 0)
			break;
		if (buf.len > CKFDW_MAX_SCHEMA_FILE)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("CloudKit schema file \"%s\" is larger than %d MB",
							path, CKFDW_MAX_SCHEMA_FILE / (1024 * 1024))));
	}
	if (ferror(file))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read CloudKit schema file \"%s\": %m", path)));
	FreeFile(file);

	/* checks the encoding, and refuses NUL bytes */
	text = pg_any_to_server(buf.data, buf.len, PG_UTF8);
	return text;
}

/*
 * The parser's message, cut back to whole characters (it quotes at most 40
 * bytes of a token, which may end inside a multibyte character).
 */
static char *
clip_message(const char *msg)
{
	int			len = strlen(msg);
	int			valid = pg_encoding_verifymbstr(GetDatabaseEncoding(), msg, len);

	return pnstrdup(msg, valid);
}

/*
 * The SQL name of a CloudKit name: unchanged, or in snake_case.  Only ASCII
 * letters change; an upper-case letter starts a new word after a lower-case
 * letter or a digit, and so does the last capital of a run of them that is
 * followed by a lower-case letter (URLString -> url_string).
 */
static char *
sql_name(const char *name, bool snake_case)
{
	StringInfoData buf;
	const char *p;

	if (!snake_case)
		return pstrdup(name);

	initStringInfo(&buf);
	for (p = name; *p; p++)
	{
		char		c = *p;

		if (c >= 'A' && c <= 'Z')
		{
			if (p > name &&
				((p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= '0' && p[-1] <= '9') ||
				 (p[-1] >= 'A' && p[-1] <= 'Z' && p[1] >= 'a' && p[1] <= 'z')))
				appendStringInfoChar(&buf, '_');
			appendStringInfoChar(&buf, c - 'A' + 'a');
		}
		else
			appendStringInfoChar(&buf, c);
	}
	return buf.data;
}

/* A name as PostgreSQL stores it: at most NAMEDATALEN - 1 bytes. */
static char *
effective_name(const char *name)
{
	int			len = strlen(name);

	if (len < NAMEDATALEN)
		return (char *) name;
	return pnstrdup(name, pg_mbcliplen(name, len, NAMEDATALEN - 1));
}

/*
 * Is the record type named in LIMIT TO or EXCEPT, by its CloudKit name or
 * by its table name?  *by_table_name tells whether the table name is.
 */
static bool
type_listed(ImportForeignSchemaStmt *stmt, const char *record_type,
			const char *table, bool *by_table_name)
{
	ListCell   *lc;
	bool		listed = false;

	*by_table_name = false;
	foreach(lc, stmt->table_list)
	{
		RangeVar   *rv = (RangeVar *) lfirst(lc);

		if (strcmp(rv->relname, table) == 0)
		{
			*by_table_name = true;
			listed = true;
		}
		else if (strcmp(rv->relname, record_type) == 0)
			listed = true;
	}
	return listed;
}

/*
 * The columns of a record type's table: record_name first, then the fields
 * in the schema's order, then the other system columns.
 */
static List *
table_columns(const CkSchemaRecordType *type, const CkFdwImportOptions *opts,
			  const char *table)
{
	List	   *columns = NIL;
	List	   *system_columns = NIL;
	ListCell   *lc;
	ListCell   *lc2;
	int			i;

	if (opts->system_columns)
	{
		for (i = 0; i < (int) NUM_SYSTEM_COLUMNS; i++)
		{
			CkFdwImportColumn *col = palloc0(sizeof(CkFdwImportColumn));

			col->sys = &import_system_columns[i];
			col->name = pstrdup(col->sys->column);
			col->effective = col->name;
			if (col->sys->system == CKFDW_SYS_RECORD_NAME)
				columns = lappend(columns, col);
			else
				system_columns = lappend(system_columns, col);
		}
	}
	for (i = 0; i < type->nfields; i++)
	{
		CkFdwImportColumn *col;

		/* the system fields' indexes go onto the system columns */
		if (type->fields[i].is_system)
			continue;
		col = palloc0(sizeof(CkFdwImportColumn));
		col->field = &type->fields[i];
		col->name = sql_name(col->field->name, opts->snake_case);
		col->effective = effective_name(col->name);
		columns = lappend(columns, col);
	}
	columns = list_concat(columns, system_columns);

	foreach(lc, columns)
	{
		CkFdwImportColumn *col = (CkFdwImportColumn *) lfirst(lc);

		for_each_cell(lc2, columns, lnext(columns, lc))
		{
			CkFdwImportColumn *other = (CkFdwImportColumn *) lfirst(lc2);
			CkFdwImportColumn *a = col;
			CkFdwImportColumn *b = other;
			bool		keep_helps;

			if (strcmp(col->effective, other->effective) != 0)
				continue;
			/* name the field first */
			if (a->sys != NULL)
			{
				a = other;
				b = col;
			}
			if (b->sys != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("field \"%s\" of CloudKit record type \"%s\" would be imported as column \"%s\", which is the system column for %s",
								a->field->name, type->name, a->effective,
								ckfdw_system_field_name(b->sys->system)),
						 errhint("Import this record type with option system_columns 'false', or leave it out with EXCEPT and create its table \"%s\" by hand.",
								 table)));
			keep_helps = opts->snake_case &&
				strcmp(effective_name(a->field->name),
					   effective_name(b->field->name)) != 0;
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_COLUMN),
					 errmsg("fields \"%s\" and \"%s\" of CloudKit record type \"%s\" would both be imported as column \"%s\"",
							a->field->name, b->field->name, type->name,
							a->effective),
					 keep_helps ?
					 errhint("Import with option names 'keep', or leave this record type out with EXCEPT and create its table \"%s\" by hand.",
							 table) :
					 errhint("Leave this record type out with EXCEPT and create its table \"%s\" by hand.",
							 table)));
		}
	}
	return columns;
}

/*
 * ", queryable 'true', sortable 'false', searchable 'false'": every index,
 * present or not, so that the planner knows which ones are missing.  A
 * system field the schema does not list has no indexes.
 */
static void
append_index_options(StringInfo buf, const CkSchemaField *field)
{
	bool		queryable = field != NULL && field->queryable;
	bool		sortable = field != NULL && field->sortable;
	bool		searchable = field != NULL && field->searchable;

	appendStringInfo(buf, ", queryable '%s', sortable '%s', searchable '%s'",
					 queryable ? "true" : "false",
					 sortable ? "true" : "false",
					 searchable ? "true" : "false");
}

/*
 * The column type for a CloudKit type (README's type table).  Lists of
 * locations and assets, whose elements are JSON objects, are one jsonb
 * array rather than jsonb[], so that jsonb's operators work on them.
 */
static const char *
column_sql_type(CkFieldType type)
{
	if (type.is_list)
	{
		switch (type.elem)
		{
			case CK_TYPE_STRING:
			case CK_TYPE_REFERENCE:
				return "text[]";
			case CK_TYPE_INT64:
				return "bigint[]";
			case CK_TYPE_DOUBLE:
				return "double precision[]";
			case CK_TYPE_TIMESTAMP:
				return "timestamp with time zone[]";
			case CK_TYPE_BYTES:
				return "bytea[]";
			case CK_TYPE_LOCATION:
			case CK_TYPE_ASSETID:
			case CK_TYPE_UNKNOWN:
				return "jsonb";
		}
		return "jsonb";
	}
	switch (type.elem)
	{
		case CK_TYPE_STRING:
		case CK_TYPE_REFERENCE:
			return "text";
		case CK_TYPE_INT64:
			return "bigint";
		case CK_TYPE_DOUBLE:
			return "double precision";
		case CK_TYPE_TIMESTAMP:
			return "timestamp with time zone";
		case CK_TYPE_BYTES:
			return "bytea";
		case CK_TYPE_LOCATION:
		case CK_TYPE_ASSETID:
		case CK_TYPE_UNKNOWN:
			return "jsonb";
	}
	return "jsonb";
}
