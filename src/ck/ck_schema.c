/*-------------------------------------------------------------------------
 *
 * ck_schema.c
 *		  Parser for the CloudKit Schema Language (.ckdb files).
 *
 * The language is small enough for a hand-written tokenizer and a
 * recursive-descent parser:
 *
 *	 DEFINE SCHEMA
 *	   { CREATE ROLE role ; | RECORD TYPE type ( item [, item]... ) ; } ...
 *
 *	 item      := field data-type [QUERYABLE] [SORTABLE] [SEARCHABLE]
 *				| GRANT {READ|CREATE|WRITE}[, ...] TO role
 *	 data-type := primitive | LIST < primitive >
 *	 primitive := ASSET | BYTES | DOUBLE | INT64 | LOCATION | REFERENCE
 *				| STRING | TIMESTAMP
 *				| ENCRYPTED {BYTES|STRING|DOUBLE|INT64|LOCATION|TIMESTAMP}
 *				| NUMBER [PREFERRED AS {INT64|DOUBLE}]
 *
 * Keywords are case-insensitive; names are case-sensitive and may be quoted
 * with double quotes, which is how system fields ("___recordID") and
 * reserved words are written.  Comments are //, -- and C-style.
 *
 * Beyond the grammar we check what cktool would reject, so that a schema the
 * emulator accepts is one CloudKit would accept too: duplicate types, fields
 * and roles; system fields with a type other than their fixed one; other
 * names starting with '_'; grants to undeclared roles; SEARCHABLE on a
 * non-string field; indexes on encrypted fields.
 *
 * Only the fields written in the file are recorded: the implicit system
 * fields appear in a type only when the file lists them (to add indexes).
 *
 * src/ck/ck_schema.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ck/ck_schema.h"

/* Longest name CloudKit allows for types, fields and roles. */
#define CK_SCHEMA_MAX_NAME	255

/* A schema file larger than this is certainly not a schema. */
#define CK_SCHEMA_MAX_FILE	(16 * 1024 * 1024)

typedef enum CkTokKind
{
	TOK_EOF,
	TOK_IDENT,					/* bare word: keyword or name */
	TOK_QUOTED,					/* "quoted name", quotes stripped */
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_COMMA,
	TOK_SEMI,
	TOK_LT,
	TOK_GT
} CkTokKind;

typedef struct CkToken
{
	CkTokKind	kind;
	const char *start;			/* into the input; for TOK_QUOTED, after the quote */
	size_t		len;
	int			line;
} CkToken;

/* A GRANT whose role is checked once every CREATE ROLE has been seen. */
typedef struct CkPendingRole
{
	const char *role;			/* owned by the schema */
	int			line;
} CkPendingRole;

typedef struct CkParser
{
	const char *text;
	size_t		pos;
	int			line;
	CkToken		tok;			/* current token */
	CkSchema   *schema;
	CkPendingRole *pending;
	int			npending;
	int			pending_cap;
	char	   *err;
	size_t		errlen;
	bool		failed;
} CkParser;

/* The implicit system fields and their fixed types. */
typedef struct CkSystemField
{
	const char *name;
	CkScalarType type;
} CkSystemField;

static const CkSystemField ck_system_fields[] = {
	{"___createTime", CK_TYPE_TIMESTAMP},
	{"___createdBy", CK_TYPE_REFERENCE},
	{"___etag", CK_TYPE_STRING},
	{"___modTime", CK_TYPE_TIMESTAMP},
	{"___modifiedBy", CK_TYPE_REFERENCE},
	{"___recordID", CK_TYPE_REFERENCE},
	{"___share", CK_TYPE_REFERENCE},
	{"___parent", CK_TYPE_REFERENCE},
};

static const char *const ck_builtin_roles[] = {"_world", "_icloud", "_creator"};

/* Words that must be quoted to be used as names. */
static const char *const ck_reserved_words[] = {
	"grant", "preferred", "queryable", "sortable", "searchable"
};

#define lengthof(a) ((int) (sizeof(a) / sizeof((a)[0])))

static bool parse_fail(CkParser *p, int line, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* ----------------------------------------------------------------
 *		Errors
 * ----------------------------------------------------------------
 */

/* Record the first error only; later ones are consequences of it. */
static bool
parse_fail(CkParser *p, int line, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (p->failed)
		return false;
	p->failed = true;
	if (p->err == NULL || p->errlen == 0)
		return false;
	n = snprintf(p->err, p->errlen, "line %d: ", line);
	if (n < 0 || (size_t) n >= p->errlen)
		return false;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - n, fmt, ap);
	va_end(ap);
	return false;
}

static bool
parse_oom(CkParser *p)
{
	return parse_fail(p, p->line, "out of memory");
}

/* Describe the current token for "expected X, found Y" messages. */
static void
describe_token(const CkToken *tok, char *out, size_t outlen)
{
	int			len = tok->len > 40 ? 40 : (int) tok->len;
	const char *more = tok->len > 40 ? "..." : "";

	switch (tok->kind)
	{
		case TOK_EOF:
			snprintf(out, outlen, "end of input");
			break;
		case TOK_IDENT:
			snprintf(out, outlen, "'%.*s%s'", len, tok->start, more);
			break;
		case TOK_QUOTED:
			snprintf(out, outlen, "\"%.*s%s\"", len, tok->start, more);
			break;
		default:
			snprintf(out, outlen, "'%c'", *tok->start);
			break;
	}
}

static bool
parse_expected(CkParser *p, const char *what)
{
	char		found[64];

	describe_token(&p->tok, found, sizeof(found));
	return parse_fail(p, p->tok.line, "expected %s, found %s", what, found);
}

/* ----------------------------------------------------------------
 *		Tokenizer
 * ----------------------------------------------------------------
 */

static bool
is_ident_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool
is_ident_char(char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9') || c == '_';
}

/* Skip blanks and comments; false on an unterminated block comment. */
static bool
skip_space(CkParser *p)
{
	const char *s = p->text;

	for (;;)
	{
		char		c = s[p->pos];

		if (c == '\n')
		{
			p->line++;
			p->pos++;
		}
		else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v')
			p->pos++;
		else if ((c == '/' && s[p->pos + 1] == '/') ||
				 (c == '-' && s[p->pos + 1] == '-'))
		{
			while (s[p->pos] != '\0' && s[p->pos] != '\n')
				p->pos++;
		}
		else if (c == '/' && s[p->pos + 1] == '*')
		{
			int			start_line = p->line;

			p->pos += 2;
			for (;;)
			{
				if (s[p->pos] == '\0')
					return parse_fail(p, start_line, "unterminated /* comment");
				if (s[p->pos] == '*' && s[p->pos + 1] == '/')
				{
					p->pos += 2;
					break;
				}
				if (s[p->pos] == '\n')
					p->line++;
				p->pos++;
			}
		}
		else
			return true;
	}
}

/* Advance to the next token. */
static bool
next_token(CkParser *p)
{
	const char *s;
	char		c;

	if (!skip_space(p))
		return false;
	s = p->text;
	c = s[p->pos];
	p->tok.line = p->line;
	p->tok.start = s + p->pos;
	p->tok.len = 1;

	switch (c)
	{
		case '\0':
			p->tok.kind = TOK_EOF;
			p->tok.len = 0;
			return true;
		case '(':
			p->tok.kind = TOK_LPAREN;
			break;
		case ')':
			p->tok.kind = TOK_RPAREN;
			break;
		case ',':
			p->tok.kind = TOK_COMMA;
			break;
		case ';':
			p->tok.kind = TOK_SEMI;
			break;
		case '<':
			p->tok.kind = TOK_LT;
			break;
		case '>':
			p->tok.kind = TOK_GT;
			break;
		case '"':
			{
				size_t		start = p->pos + 1;
				size_t		end = start;

				while (s[end] != '"')
				{
					if (s[end] == '\0' || s[end] == '\n')
						return parse_fail(p, p->line, "unterminated quoted name");
					end++;
				}
				if (end == start)
					return parse_fail(p, p->line, "empty quoted name");
				p->tok.kind = TOK_QUOTED;
				p->tok.start = s + start;
				p->tok.len = end - start;
				p->pos = end + 1;
				return true;
			}
		default:
			if (is_ident_start(c))
			{
				size_t		end = p->pos;

				while (is_ident_char(s[end]))
					end++;
				p->tok.kind = TOK_IDENT;
				p->tok.len = end - p->pos;
				p->pos = end;
				return true;
			}
			if ((unsigned char) c >= 0x20 && (unsigned char) c < 0x7f)
				return parse_fail(p, p->line, "unexpected character '%c'", c);
			return parse_fail(p, p->line, "unexpected byte 0x%02x",
							  (unsigned char) c);
	}
	p->pos++;
	return true;
}

/* Is the current token the keyword kw (case-insensitive, never quoted)? */
static bool
tok_is_kw(const CkParser *p, const char *kw)
{
	return p->tok.kind == TOK_IDENT &&
		strlen(kw) == p->tok.len &&
		strncasecmp(p->tok.start, kw, p->tok.len) == 0;
}

static bool
expect_kw(CkParser *p, const char *kw)
{
	if (!tok_is_kw(p, kw))
		return parse_expected(p, kw);
	return next_token(p);
}

static bool
expect_punct(CkParser *p, CkTokKind kind, const char *what)
{
	if (p->tok.kind != kind)
		return parse_expected(p, what);
	return next_token(p);
}

/*
 * Take a name (bare or quoted) from the current token into a malloc'd
 * string.  what names the thing for error messages.
 */
static char *
take_name(CkParser *p, const char *what)
{
	char	   *name;
	int			i;

	if (p->tok.kind != TOK_IDENT && p->tok.kind != TOK_QUOTED)
	{
		parse_expected(p, what);
		return NULL;
	}
	if (p->tok.len > CK_SCHEMA_MAX_NAME)
	{
		parse_fail(p, p->tok.line, "%s is longer than %d characters",
				   what, CK_SCHEMA_MAX_NAME);
		return NULL;
	}
	if (p->tok.kind == TOK_IDENT)
	{
		for (i = 0; i < lengthof(ck_reserved_words); i++)
		{
			if (tok_is_kw(p, ck_reserved_words[i]))
			{
				parse_fail(p, p->tok.line,
						   "expected %s, found reserved word '%.*s' (quote it to use it as a name)",
						   what, (int) p->tok.len, p->tok.start);
				return NULL;
			}
		}
	}
	name = strndup(p->tok.start, p->tok.len);
	if (name == NULL)
	{
		parse_oom(p);
		return NULL;
	}
	if (!next_token(p))
	{
		free(name);
		return NULL;
	}
	return name;
}

/* ----------------------------------------------------------------
 *		Growable arrays
 *
 * The schema structs carry counts but no capacities, so capacity is
 * implied: 8 while the count is at most 8, else the next power of two.
 * ----------------------------------------------------------------
 */

static bool
grow_array(void **array, int count, size_t elemsize)
{
	size_t		newcap;
	void	   *grown;

	if (count == 0)
		newcap = 8;
	else if (count >= 8 && (count & (count - 1)) == 0)
		newcap = (size_t) count * 2;
	else
		return true;
	grown = realloc(*array, newcap * elemsize);
	if (grown == NULL)
		return false;
	*array = grown;
	return true;
}

/* ----------------------------------------------------------------
 *		Schema building and lookups
 * ----------------------------------------------------------------
 */

CkSchemaRecordType *
ck_schema_find_type(const CkSchema *schema, const char *name)
{
	int			i;

	if (schema == NULL || name == NULL)
		return NULL;
	for (i = 0; i < schema->ntypes; i++)
	{
		if (strcmp(schema->types[i].name, name) == 0)
			return &schema->types[i];
	}
	return NULL;
}

CkSchemaField *
ck_schema_find_field(const CkSchemaRecordType *type, const char *name)
{
	int			i;

	if (type == NULL || name == NULL)
		return NULL;
	for (i = 0; i < type->nfields; i++)
	{
		if (strcmp(type->fields[i].name, name) == 0)
			return &type->fields[i];
	}
	return NULL;
}

/*
 * Add an empty record type.  Returns NULL if out of memory or if the type
 * already exists.  Adding a type may move the types array, so pointers to
 * other types obtained earlier are invalid afterwards.
 */
CkSchemaRecordType *
ck_schema_add_type(CkSchema *schema, const char *name)
{
	CkSchemaRecordType *type;
	char	   *copy;

	if (schema == NULL || name == NULL || ck_schema_find_type(schema, name))
		return NULL;
	copy = strdup(name);
	if (copy == NULL)
		return NULL;
	if (!grow_array((void **) &schema->types, schema->ntypes, sizeof(CkSchemaRecordType)))
	{
		free(copy);
		return NULL;
	}
	type = &schema->types[schema->ntypes++];
	memset(type, 0, sizeof(*type));
	type->name = copy;
	return type;
}

/*
 * Add an unindexed field.  Returns NULL if out of memory or if the field
 * already exists.  Pointers to the type's other fields may move.
 */
CkSchemaField *
ck_schema_add_field(CkSchemaRecordType *type, const char *name,
					CkFieldType field_type)
{
	CkSchemaField *field;
	char	   *copy;

	if (type == NULL || name == NULL || ck_schema_find_field(type, name))
		return NULL;
	copy = strdup(name);
	if (copy == NULL)
		return NULL;
	if (!grow_array((void **) &type->fields, type->nfields, sizeof(CkSchemaField)))
	{
		free(copy);
		return NULL;
	}
	field = &type->fields[type->nfields++];
	memset(field, 0, sizeof(*field));
	field->name = copy;
	field->type = field_type;
	field->is_system = strncmp(name, "___", 3) == 0;
	return field;
}

/*
 * The rights granted to exactly this role on the type.  Roles do not
 * inherit here: a caller acting for a signed-in creator ORs the rights of
 * "_world", "_icloud" and "_creator" itself.
 */
int
ck_schema_rights(const CkSchemaRecordType *type, const char *role)
{
	int			i;
	int			rights = 0;

	if (type == NULL || role == NULL)
		return 0;
	for (i = 0; i < type->ngrants; i++)
	{
		if (strcmp(type->grants[i].role, role) == 0)
			rights |= type->grants[i].rights;
	}
	return rights;
}

void
ck_schema_free(CkSchema *schema)
{
	int			i;
	int			j;

	if (schema == NULL)
		return;
	for (i = 0; i < schema->ntypes; i++)
	{
		CkSchemaRecordType *type = &schema->types[i];

		for (j = 0; j < type->nfields; j++)
			free(type->fields[j].name);
		free(type->fields);
		for (j = 0; j < type->ngrants; j++)
			free(type->grants[j].role);
		free(type->grants);
		free(type->name);
	}
	free(schema->types);
	for (i = 0; i < schema->nroles; i++)
		free(schema->roles[i]);
	free(schema->roles);
	free(schema);
}

static bool
role_is_builtin(const char *role)
{
	int			i;

	for (i = 0; i < lengthof(ck_builtin_roles); i++)
	{
		if (strcmp(role, ck_builtin_roles[i]) == 0)
			return true;
	}
	return false;
}

static bool
role_is_declared(const CkSchema *schema, const char *role)
{
	int			i;

	for (i = 0; i < schema->nroles; i++)
	{
		if (strcmp(schema->roles[i], role) == 0)
			return true;
	}
	return false;
}

/* ----------------------------------------------------------------
 *		Parser
 * ----------------------------------------------------------------
 */

/* CREATE ROLE name ;  (CREATE already consumed) */
static bool
parse_create_role(CkParser *p)
{
	CkSchema   *schema = p->schema;
	int			line;
	char	   *name;

	if (!expect_kw(p, "ROLE"))
		return false;
	line = p->tok.line;
	name = take_name(p, "role name");
	if (name == NULL)
		return false;
	if (name[0] == '_')
	{
		parse_fail(p, line, "role name \"%s\" is reserved (names starting with '_' belong to the system)", name);
		free(name);
		return false;
	}
	if (role_is_declared(schema, name))
	{
		parse_fail(p, line, "role \"%s\" is declared twice", name);
		free(name);
		return false;
	}
	if (!grow_array((void **) &schema->roles, schema->nroles, sizeof(char *)))
	{
		free(name);
		return parse_oom(p);
	}
	schema->roles[schema->nroles++] = name;
	return expect_punct(p, TOK_SEMI, "';' after CREATE ROLE");
}

/* GRANT right [, right]... TO role  (current token is GRANT) */
static bool
parse_grant(CkParser *p, CkSchemaRecordType *type)
{
	int			rights = 0;
	int			line;
	char	   *role;
	int			i;

	if (!next_token(p))
		return false;
	for (;;)
	{
		if (tok_is_kw(p, "READ"))
			rights |= CK_GRANT_READ;
		else if (tok_is_kw(p, "CREATE"))
			rights |= CK_GRANT_CREATE;
		else if (tok_is_kw(p, "WRITE"))
			rights |= CK_GRANT_WRITE;
		else
			return parse_expected(p, "READ, CREATE or WRITE");
		if (!next_token(p))
			return false;
		if (p->tok.kind != TOK_COMMA)
			break;
		if (!next_token(p))
			return false;
	}
	if (!expect_kw(p, "TO"))
		return false;
	line = p->tok.line;
	role = take_name(p, "role name");
	if (role == NULL)
		return false;

	/* repeated grants to one role accumulate */
	for (i = 0; i < type->ngrants; i++)
	{
		if (strcmp(type->grants[i].role, role) == 0)
		{
			type->grants[i].rights |= rights;
			free(role);
			return true;
		}
	}
	if (!grow_array((void **) &type->grants, type->ngrants, sizeof(CkSchemaGrant)) ||
		!grow_array((void **) &p->pending, p->npending, sizeof(CkPendingRole)))
	{
		free(role);
		return parse_oom(p);
	}
	type->grants[type->ngrants].role = role;
	type->grants[type->ngrants].rights = rights;
	type->ngrants++;
	if (!role_is_builtin(role))
	{
		p->pending[p->npending].role = role;
		p->pending[p->npending].line = line;
		p->npending++;
	}
	return true;
}

/*
 * A primitive type.  Sets *elem and, for ENCRYPTED types, *encrypted.
 */
static bool
parse_primitive(CkParser *p, CkScalarType *elem, bool *encrypted)
{
	static const struct
	{
		const char *kw;
		CkScalarType type;
		bool		encryptable;
	}			prims[] = {
		{"ASSET", CK_TYPE_ASSETID, false},
		{"BYTES", CK_TYPE_BYTES, true},
		{"DOUBLE", CK_TYPE_DOUBLE, true},
		{"INT64", CK_TYPE_INT64, true},
		{"LOCATION", CK_TYPE_LOCATION, true},
		{"REFERENCE", CK_TYPE_REFERENCE, false},
		{"STRING", CK_TYPE_STRING, true},
		{"TIMESTAMP", CK_TYPE_TIMESTAMP, true},
	};
	int			i;

	if (tok_is_kw(p, "ENCRYPTED"))
	{
		if (!next_token(p))
			return false;
		for (i = 0; i < lengthof(prims); i++)
		{
			if (prims[i].encryptable && tok_is_kw(p, prims[i].kw))
			{
				*elem = prims[i].type;
				*encrypted = true;
				return next_token(p);
			}
		}
		return parse_expected(p, "BYTES, STRING, DOUBLE, INT64, LOCATION or TIMESTAMP after ENCRYPTED");
	}

	/* legacy sandbox type: an integer unless it prefers DOUBLE */
	if (tok_is_kw(p, "NUMBER"))
	{
		*elem = CK_TYPE_INT64;
		if (!next_token(p))
			return false;
		if (!tok_is_kw(p, "PREFERRED"))
			return true;
		if (!next_token(p) || !expect_kw(p, "AS"))
			return false;
		if (tok_is_kw(p, "INT64"))
			*elem = CK_TYPE_INT64;
		else if (tok_is_kw(p, "DOUBLE"))
			*elem = CK_TYPE_DOUBLE;
		else
			return parse_expected(p, "INT64 or DOUBLE after PREFERRED AS");
		return next_token(p);
	}

	for (i = 0; i < lengthof(prims); i++)
	{
		if (tok_is_kw(p, prims[i].kw))
		{
			*elem = prims[i].type;
			return next_token(p);
		}
	}
	return parse_expected(p, "a data type (ASSET, BYTES, DOUBLE, INT64, LOCATION, REFERENCE, STRING, TIMESTAMP, LIST<...>, ENCRYPTED or NUMBER)");
}

/* data-type := primitive | LIST < primitive > */
static bool
parse_data_type(CkParser *p, CkFieldType *type, bool *encrypted)
{
	type->is_list = false;
	type->elem = CK_TYPE_UNKNOWN;
	*encrypted = false;

	if (tok_is_kw(p, "LIST"))
	{
		if (!next_token(p) || !expect_punct(p, TOK_LT, "'<' after LIST"))
			return false;
		if (tok_is_kw(p, "LIST"))
			return parse_fail(p, p->tok.line, "lists of lists are not supported");
		if (!parse_primitive(p, &type->elem, encrypted))
			return false;
		type->is_list = true;
		return expect_punct(p, TOK_GT, "'>' to close LIST<");
	}
	return parse_primitive(p, &type->elem, encrypted);
}

/* field data-type [QUERYABLE] [SORTABLE] [SEARCHABLE] */
static bool
parse_field(CkParser *p, CkSchemaRecordType *type)
{
	int			line = p->tok.line;
	char	   *name;
	CkFieldType ftype;
	bool		encrypted;
	bool		queryable = false;
	bool		sortable = false;
	bool		searchable = false;
	CkSchemaField *field;
	int			i;

	name = take_name(p, "field name or GRANT");
	if (name == NULL)
		return false;
	if (ck_schema_find_field(type, name))
	{
		parse_fail(p, line, "field \"%s\" is declared twice in record type \"%s\"",
				   name, type->name);
		free(name);
		return false;
	}
	if (!parse_data_type(p, &ftype, &encrypted))
	{
		free(name);
		return false;
	}

	for (;;)
	{
		bool	   *flag;
		const char *opt;

		if (tok_is_kw(p, "QUERYABLE"))
			flag = &queryable, opt = "QUERYABLE";
		else if (tok_is_kw(p, "SORTABLE"))
			flag = &sortable, opt = "SORTABLE";
		else if (tok_is_kw(p, "SEARCHABLE"))
			flag = &searchable, opt = "SEARCHABLE";
		else
			break;
		if (*flag)
		{
			parse_fail(p, p->tok.line, "%s given twice for field \"%s\"", opt, name);
			free(name);
			return false;
		}
		*flag = true;
		if (!next_token(p))
		{
			free(name);
			return false;
		}
	}

	/* system fields exist already; listing them only adds indexes */
	if (name[0] == '_')
	{
		const CkSystemField *sys = NULL;

		for (i = 0; i < lengthof(ck_system_fields); i++)
		{
			if (strcmp(name, ck_system_fields[i].name) == 0)
				sys = &ck_system_fields[i];
		}
		if (sys == NULL)
		{
			parse_fail(p, line, "field name \"%s\" is reserved (names starting with '_' belong to system fields)", name);
			free(name);
			return false;
		}
		if (ftype.is_list || ftype.elem != sys->type || encrypted)
		{
			parse_fail(p, line, "system field \"%s\" must have type %s",
					   name, ck_scalar_schema_name(sys->type));
			free(name);
			return false;
		}
	}
	if (searchable && ftype.elem != CK_TYPE_STRING)
	{
		parse_fail(p, line, "SEARCHABLE needs a STRING field, and \"%s\" is not one", name);
		free(name);
		return false;
	}
	if (encrypted && (queryable || sortable || searchable))
	{
		parse_fail(p, line, "encrypted field \"%s\" cannot be indexed", name);
		free(name);
		return false;
	}

	field = ck_schema_add_field(type, name, ftype);
	free(name);
	if (field == NULL)
		return parse_oom(p);
	field->encrypted = encrypted;
	field->queryable = queryable;
	field->sortable = sortable;
	field->searchable = searchable;
	return true;
}

/* RECORD TYPE name ( item [, item]... ) ;  (RECORD already consumed) */
static bool
parse_record_type(CkParser *p)
{
	CkSchemaRecordType *type;
	int			line;
	char	   *name;

	if (!expect_kw(p, "TYPE"))
		return false;
	line = p->tok.line;
	name = take_name(p, "record type name");
	if (name == NULL)
		return false;
	if (name[0] == '_')
	{
		parse_fail(p, line, "record type name \"%s\" is reserved (names starting with '_' belong to the system)", name);
		free(name);
		return false;
	}
	if (ck_schema_find_type(p->schema, name))
	{
		parse_fail(p, line, "record type \"%s\" is declared twice", name);
		free(name);
		return false;
	}
	type = ck_schema_add_type(p->schema, name);
	free(name);
	if (type == NULL)
		return parse_oom(p);

	if (!expect_punct(p, TOK_LPAREN, "'(' after the record type name"))
		return false;
	for (;;)
	{
		if (tok_is_kw(p, "GRANT"))
		{
			if (!parse_grant(p, type))
				return false;
		}
		else if (!parse_field(p, type))
			return false;

		if (p->tok.kind == TOK_RPAREN)
			break;
		if (p->tok.kind != TOK_COMMA)
			return parse_expected(p, "',' or ')' after a field or grant");
		if (!next_token(p))
			return false;
	}
	if (!next_token(p))
		return false;
	return expect_punct(p, TOK_SEMI, "';' after the record type's closing ')'");
}

static bool
parse_schema(CkParser *p)
{
	int			i;

	if (!next_token(p))
		return false;
	if (!expect_kw(p, "DEFINE") || !expect_kw(p, "SCHEMA"))
		return false;

	while (p->tok.kind != TOK_EOF)
	{
		if (tok_is_kw(p, "CREATE"))
		{
			if (!next_token(p) || !parse_create_role(p))
				return false;
		}
		else if (tok_is_kw(p, "RECORD"))
		{
			if (!next_token(p) || !parse_record_type(p))
				return false;
		}
		else
			return parse_expected(p, "CREATE ROLE, RECORD TYPE or end of input");
	}

	/* roles may be declared after the grants that use them */
	for (i = 0; i < p->npending; i++)
	{
		if (!role_is_declared(p->schema, p->pending[i].role))
			return parse_fail(p, p->pending[i].line,
							  "role \"%s\" is not declared (use CREATE ROLE, or one of \"_world\", \"_icloud\", \"_creator\")",
							  p->pending[i].role);
	}
	return true;
}

CkSchema *
ck_schema_parse(const char *text, char *err, size_t errlen)
{
	CkParser	p;
	bool		ok;

	if (err && errlen > 0)
		err[0] = '\0';
	memset(&p, 0, sizeof(p));
	p.text = text;
	p.line = 1;
	p.err = err;
	p.errlen = errlen;
	if (text == NULL)
	{
		parse_fail(&p, 0, "no schema text");
		return NULL;
	}
	p.schema = calloc(1, sizeof(CkSchema));
	if (p.schema == NULL)
	{
		parse_oom(&p);
		return NULL;
	}

	ok = parse_schema(&p);
	free(p.pending);
	if (!ok)
	{
		ck_schema_free(p.schema);
		return NULL;
	}
	return p.schema;
}

CkSchema *
ck_schema_load_file(const char *path, char *err, size_t errlen)
{
	FILE	   *f;
	char	   *text;
	size_t		len = 0;
	size_t		cap = 8192;
	CkSchema   *schema;

	if (err && errlen > 0)
		err[0] = '\0';
	f = fopen(path, "rb");
	if (f == NULL)
	{
		snprintf(err, errlen, "could not open schema file \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	text = malloc(cap);
	if (text == NULL)
	{
		fclose(f);
		snprintf(err, errlen, "out of memory reading schema file \"%s\"", path);
		return NULL;
	}
	for (;;)
	{
		size_t		n;

		if (len + 1 >= cap)
		{
			char	   *grown;

			if (cap >= CK_SCHEMA_MAX_FILE)
			{
				snprintf(err, errlen, "schema file \"%s\" is larger than %d MB",
						 path, CK_SCHEMA_MAX_FILE / (1024 * 1024));
				free(text);
				fclose(f);
				return NULL;
			}
			grown = realloc(text, cap * 2);
			if (grown == NULL)
			{
				snprintf(err, errlen, "out of memory reading schema file \"%s\"", path);
				free(text);
				fclose(f);
				return NULL;
			}
			text = grown;
			cap *= 2;
		}
		n = fread(text + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f))
	{
		snprintf(err, errlen, "could not read schema file \"%s\": %s", path, strerror(errno));
		free(text);
		fclose(f);
		return NULL;
	}
	fclose(f);
	text[len] = '\0';
	if (memchr(text, '\0', len) != NULL)
	{
		snprintf(err, errlen, "schema file \"%s\" contains a NUL byte", path);
		free(text);
		return NULL;
	}

	schema = ck_schema_parse(text, err, errlen);
	free(text);
	return schema;
}
