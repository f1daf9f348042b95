/*-------------------------------------------------------------------------
 *
 * ck_types.h
 *		CloudKit wire types (STRING, INT64, ..., <T>_LIST) and their names.
 *
 * Shared by the extension, the emulator and the unit tests: no PostgreSQL
 * headers here.
 *
 * src/ck/ck_types.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CK_TYPES_H
#define CK_TYPES_H

#include <stdbool.h>

typedef enum CkScalarType
{
	CK_TYPE_UNKNOWN = 0,		/* "UNKNOWN_LIST" element, or not given */
	CK_TYPE_STRING,
	CK_TYPE_INT64,
	CK_TYPE_DOUBLE,
	CK_TYPE_TIMESTAMP,			/* milliseconds since the epoch */
	CK_TYPE_BYTES,				/* standard base64 */
	CK_TYPE_REFERENCE,			/* {recordName, zoneID?, action} */
	CK_TYPE_LOCATION,			/* {latitude, longitude, ...} */
	CK_TYPE_ASSETID				/* asset dictionary */
} CkScalarType;

typedef struct CkFieldType
{
	CkScalarType elem;			/* scalar type, or the element type of a list */
	bool		is_list;
} CkFieldType;

/*
 * Parse a wire type name: "STRING", "INT64_LIST", "ASSETID", "ASSET" (alias of
 * ASSETID), "UNKNOWN_LIST".  Returns false for anything else.
 */
extern bool ck_type_parse(const char *name, CkFieldType *out);

/*
 * The wire name of a type ("STRING_LIST"; ASSETID for assets).  Returns a
 * pointer to a static string.
 */
extern const char *ck_type_name(CkFieldType type);

/* The schema-language name of a scalar type ("ASSET" for ASSETID). */
extern const char *ck_scalar_schema_name(CkScalarType type);

#endif							/* CK_TYPES_H */
