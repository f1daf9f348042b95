/*-------------------------------------------------------------------------
 *
 * test_schema.c
 *		  Unit tests of the CloudKit Schema Language parser (ck_schema.c).
 *
 * test/unit/test_schema.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck/ck_schema.h"
#include "unit.h"

extern void test_schema(void);

static const char *example =
"// an example schema\n"
"DEFINE SCHEMA\n"
"    CREATE ROLE Curator;\n"
"\n"
"    record type Book (\n"
"        \"___recordID\"    REFERENCE QUERYABLE,\n"
"        \"___modTime\"     TIMESTAMP QUERYABLE SORTABLE,\n"
"        title            STRING QUERYABLE SORTABLE SEARCHABLE,\n"
"        pages            int64 queryable sortable,  -- keywords ignore case\n"
"        price            DOUBLE SORTABLE,\n"
"        tags             LIST<STRING> QUERYABLE,   /* a list\n"
"                                                      over lines */\n"
"        author           REFERENCE QUERYABLE,\n"
"        cover            ASSET,\n"
"        shelf            LOCATION QUERYABLE,\n"
"        blob             BYTES,\n"
"        secret           ENCRYPTED STRING,\n"
"        codes            LIST<ENCRYPTED INT64>,\n"
"        legacy           NUMBER,\n"
"        legacyD          NUMBER PREFERRED AS DOUBLE,\n"
"        \"grant\"          STRING,\n"
"        GRANT READ TO \"_world\",\n"
"        GRANT CREATE TO \"_icloud\",\n"
"        GRANT WRITE TO \"_creator\",\n"
"        GRANT READ, CREATE, WRITE TO Curator,\n"
"        GRANT WRITE TO \"_world\"\n"
"    );\n"
"    RECORD TYPE \"Weird Type\" (x LIST<TIMESTAMP>);\n";

/* Parse text that must fail; the error must name the line and contain needle. */
static void
expect_error(const char *text, int line, const char *needle)
{
	char		err[256];
	char		prefix[32];
	CkSchema   *s = ck_schema_parse(text, err, sizeof(err));

	CHECK_MSG(s == NULL, "schema accepted, expected an error with \"%s\": %s", needle, text);
	ck_schema_free(s);
	snprintf(prefix, sizeof(prefix), "line %d: ", line);
	CHECK_MSG(strncmp(err, prefix, strlen(prefix)) == 0 && strstr(err, needle) != NULL,
			  "error \"%s\", expected \"%s...%s\"", err, prefix, needle);
}

void
test_schema(void)
{
	char		err[256];
	CkSchema   *s = ck_schema_parse(example, err, sizeof(err));
	CkSchemaRecordType *t;
	CkSchemaField *f;
	int			i;

	CHECK_MSG(s != NULL, "example schema: %s", err);
	if (s == NULL)
		return;
	CHECK_INT(s->ntypes, 2);
	CHECK_INT(s->nroles, 1);
	CHECK_STR(s->roles[0], "Curator");

	t = ck_schema_find_type(s, "Book");
	CHECK(t != NULL);
	CHECK(ck_schema_find_type(s, "book") == NULL);	/* names are case-sensitive */
	CHECK(ck_schema_find_type(s, "Weird Type") != NULL);
	CHECK_INT(t->nfields, 15);

	f = ck_schema_find_field(t, "___recordID");
	CHECK(f && f->is_system && f->queryable && !f->sortable && f->type.elem == CK_TYPE_REFERENCE);
	f = ck_schema_find_field(t, "title");
	CHECK(f && !f->is_system && f->queryable && f->sortable && f->searchable &&
		  f->type.elem == CK_TYPE_STRING && !f->type.is_list);
	f = ck_schema_find_field(t, "pages");
	CHECK(f && f->queryable && f->sortable && f->type.elem == CK_TYPE_INT64);
	f = ck_schema_find_field(t, "price");
	CHECK(f && !f->queryable && f->sortable && f->type.elem == CK_TYPE_DOUBLE);
	f = ck_schema_find_field(t, "tags");
	CHECK(f && f->type.is_list && f->type.elem == CK_TYPE_STRING && f->queryable);
	f = ck_schema_find_field(t, "cover");
	CHECK(f && f->type.elem == CK_TYPE_ASSETID && !f->queryable);
	f = ck_schema_find_field(t, "shelf");
	CHECK(f && f->type.elem == CK_TYPE_LOCATION);
	f = ck_schema_find_field(t, "blob");
	CHECK(f && f->type.elem == CK_TYPE_BYTES);
	f = ck_schema_find_field(t, "secret");
	CHECK(f && f->encrypted && f->type.elem == CK_TYPE_STRING);
	f = ck_schema_find_field(t, "codes");
	CHECK(f && f->encrypted && f->type.is_list && f->type.elem == CK_TYPE_INT64);
	f = ck_schema_find_field(t, "legacy");
	CHECK(f && f->type.elem == CK_TYPE_INT64);
	f = ck_schema_find_field(t, "legacyD");
	CHECK(f && f->type.elem == CK_TYPE_DOUBLE);
	CHECK(ck_schema_find_field(t, "grant") != NULL);
	CHECK(ck_schema_find_field(t, "Title") == NULL);

	CHECK_INT(ck_schema_rights(t, "_world"), CK_GRANT_READ | CK_GRANT_WRITE);
	CHECK_INT(ck_schema_rights(t, "_icloud"), CK_GRANT_CREATE);
	CHECK_INT(ck_schema_rights(t, "_creator"), CK_GRANT_WRITE);
	CHECK_INT(ck_schema_rights(t, "Curator"), CK_GRANT_READ | CK_GRANT_CREATE | CK_GRANT_WRITE);
	CHECK_INT(ck_schema_rights(t, "nobody"), 0);
	CHECK_INT(ck_schema_rights(ck_schema_find_type(s, "Weird Type"), "_world"), 0);

	/* growth, as development mode's just-in-time schema uses it */
	{
		CkFieldType st = {CK_TYPE_STRING, false};
		CkSchemaRecordType *nt = ck_schema_add_type(s, "Grown");

		CHECK(nt != NULL);
		for (i = 0; i < 100 && nt; i++)
		{
			char		name[16];

			snprintf(name, sizeof(name), "f%d", i);
			CHECK(ck_schema_add_field(nt, name, st) != NULL);
		}
		CHECK(ck_schema_add_field(nt, "f7", st) == NULL);	/* exists */
		for (i = 0; i < 40; i++)
		{
			char		name[16];

			snprintf(name, sizeof(name), "T%d", i);
			CHECK(ck_schema_add_type(s, name) != NULL);
		}
		CHECK(ck_schema_add_type(s, "Book") == NULL);	/* exists */
		nt = ck_schema_find_type(s, "Grown");
		CHECK(nt && nt->nfields == 100 && ck_schema_find_field(nt, "f99") != NULL);
		f = ck_schema_add_field(ck_schema_find_type(s, "T3"), "___createTime",
								(CkFieldType) {CK_TYPE_TIMESTAMP, false});
		CHECK(f && f->is_system);
		CHECK_INT(s->ntypes, 43);
	}
	ck_schema_free(s);

	/* the smallest schema */
	s = ck_schema_parse("define schema", err, sizeof(err));
	CHECK(s != NULL && s->ntypes == 0);
	ck_schema_free(s);

	/* errors name the line */
	expect_error("SCHEMA", 1, "expected DEFINE");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (x STRING)", 2, "expected ';'");
	expect_error("DEFINE SCHEMA\n\nRECORD TYPE A (x STRNG);", 3, "expected a data type");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (x STRING,);", 2, "expected field name");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A ();", 2, "expected field name");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (queryable STRING);", 2, "reserved word");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (x STRING, x INT64);", 2, "declared twice");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (x STRING);\nRECORD TYPE A (y STRING);", 3, "declared twice");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (x LIST<STRING QUERYABLE);", 2, "'>'");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (x LIST<LIST<STRING>>);", 2, "lists of lists");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (x ENCRYPTED ASSET);", 2, "after ENCRYPTED");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (x ENCRYPTED STRING QUERYABLE);", 2, "cannot be indexed");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (x INT64 SEARCHABLE);", 2, "SEARCHABLE");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (x STRING QUERYABLE QUERYABLE);", 2, "twice");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (\"___recordID\" STRING);", 2, "must have type REFERENCE");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (\"_x\" STRING);", 2, "reserved");
	expect_error("DEFINE SCHEMA\nRECORD TYPE \"_A\" (x STRING);", 2, "reserved");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (x NUMBER PREFERRED INT64);", 2, "expected AS");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (GRANT READ WRITE TO Foo);", 2, "expected TO");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (GRANT READ, TO \"_world\");", 2, "READ, CREATE or WRITE");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (\n  GRANT READ TO Nobody);", 3, "not declared");
	expect_error("DEFINE SCHEMA\nCREATE ROLE \"_world\";", 2, "reserved");
	expect_error("DEFINE SCHEMA\nCREATE ROLE R;\nCREATE ROLE R;", 3, "declared twice");
	expect_error("DEFINE SCHEMA\n/* open\n\n", 2, "unterminated");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (x \"STRING);", 2, "unterminated");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (\"\" STRING);", 2, "empty");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (x STRING) ;\n  @", 3, "unexpected character");
	expect_error("DEFINE SCHEMA\nRECORD TYPE A (x \xc3\xa9 STRING);", 2, "unexpected byte");
	expect_error("DEFINE SCHEMA\nDROP TYPE A;", 2, "expected CREATE ROLE, RECORD TYPE");

	/* a role may be declared after the grant that uses it */
	s = ck_schema_parse("DEFINE SCHEMA RECORD TYPE A (GRANT READ TO R); CREATE ROLE R;", err, sizeof(err));
	CHECK_MSG(s != NULL, "late CREATE ROLE: %s", err);
	ck_schema_free(s);

	/* files */
	CHECK(ck_schema_load_file(unit_path("no-such.ckdb"), err, sizeof(err)) == NULL);
	CHECK_MSG(strstr(err, "no-such.ckdb") != NULL, "I/O error does not name the file: %s", err);
	unit_write_file(unit_path("ok.ckdb"), example, strlen(example));
	s = ck_schema_load_file(unit_path("ok.ckdb"), err, sizeof(err));
	CHECK_MSG(s != NULL && s->ntypes == 2, "load_file: %s", err);
	ck_schema_free(s);
	unit_write_file(unit_path("nul.ckdb"), "DEFINE SCHEMA\0x", 15);
	CHECK(ck_schema_load_file(unit_path("nul.ckdb"), err, sizeof(err)) == NULL);
}
