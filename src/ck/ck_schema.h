/*-------------------------------------------------------------------------
 *
 * ck_schema.h
 *		Parser for the CloudKit Schema Language (.ckdb files, as exported by
 *		xcrun cktool): record types, fields with their types and indexes
 *		(QUERYABLE, SORTABLE, SEARCHABLE), roles and grants.
 *
 * Used by the emulator to enforce indexes and by IMPORT FOREIGN SCHEMA.  No
 * PostgreSQL headers; everything is malloc'd.
 *
 * src/ck/ck_schema.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CK_SCHEMA_H
#define CK_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "ck/ck_types.h"

/* Grant bits */
#define CK_GRANT_READ	0x1
#define CK_GRANT_CREATE	0x2
#define CK_GRANT_WRITE	0x4

typedef struct CkSchemaGrant
{
	char	   *role;			/* "_world", "_icloud", "_creator", or a role */
	int			rights;			/* CK_GRANT_* bits */
} CkSchemaGrant;

typedef struct CkSchemaField
{
	char	   *name;			/* as written, quotes removed ("___recordID") */
	CkFieldType type;
	bool		is_system;		/* name starts with "___" */
	bool		encrypted;		/* ENCRYPTED <type> */
	bool		queryable;
	bool		sortable;
	bool		searchable;
} CkSchemaField;

typedef struct CkSchemaRecordType
{
	char	   *name;
	CkSchemaField *fields;
	int			nfields;
	CkSchemaGrant *grants;
	int			ngrants;
} CkSchemaRecordType;

typedef struct CkSchema
{
	CkSchemaRecordType *types;
	int			ntypes;
	char	  **roles;			/* CREATE ROLE names */
	int			nroles;
} CkSchema;

/*
 * Parse schema text.  On a syntax error returns NULL and writes
 * "line N: what was expected" into err.
 */
extern CkSchema *ck_schema_parse(const char *text, char *err, size_t errlen);

/* Read and parse a file; errors (including I/O) go to err. */
extern CkSchema *ck_schema_load_file(const char *path, char *err, size_t errlen);

extern void ck_schema_free(CkSchema *schema);

/* Lookups return NULL when absent.  Names compare case-sensitively. */
extern CkSchemaRecordType *ck_schema_find_type(const CkSchema *schema, const char *name);
extern CkSchemaField *ck_schema_find_field(const CkSchemaRecordType *type, const char *name);

/* Growth, for development-mode just-in-time schema. */
extern CkSchemaRecordType *ck_schema_add_type(CkSchema *schema, const char *name);
extern CkSchemaField *ck_schema_add_field(CkSchemaRecordType *type, const char *name,
										  CkFieldType field_type);

/* Rights the role has on the type (CK_GRANT_* bits). */
extern int	ck_schema_rights(const CkSchemaRecordType *type, const char *role);

#endif							/* CK_SCHEMA_H */
