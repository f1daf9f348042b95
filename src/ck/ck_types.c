/*-------------------------------------------------------------------------
 *
 * ck_types.c
 *		  CloudKit wire type names: parsing and printing.
 *
 * CloudKit spells a type as a scalar name ("STRING") or as the scalar name
 * with "_LIST" appended; an empty list arrives as "UNKNOWN_LIST" because the
 * element type is lost.  Assets are "ASSETID" on the wire and "ASSET" in the
 * schema language; both spellings are accepted.
 *
 * src/ck/ck_types.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "ck/ck_types.h"

typedef struct CkTypeName
{
	CkScalarType type;
	const char *wire;			/* scalar wire name */
	const char *wire_list;		/* list wire name */
	const char *schema;			/* schema-language name */
} CkTypeName;

static const CkTypeName ck_type_names[] = {
	{CK_TYPE_UNKNOWN, "UNKNOWN", "UNKNOWN_LIST", "UNKNOWN"},
	{CK_TYPE_STRING, "STRING", "STRING_LIST", "STRING"},
	{CK_TYPE_INT64, "INT64", "INT64_LIST", "INT64"},
	{CK_TYPE_DOUBLE, "DOUBLE", "DOUBLE_LIST", "DOUBLE"},
	{CK_TYPE_TIMESTAMP, "TIMESTAMP", "TIMESTAMP_LIST", "TIMESTAMP"},
	{CK_TYPE_BYTES, "BYTES", "BYTES_LIST", "BYTES"},
	{CK_TYPE_REFERENCE, "REFERENCE", "REFERENCE_LIST", "REFERENCE"},
	{CK_TYPE_LOCATION, "LOCATION", "LOCATION_LIST", "LOCATION"},
	{CK_TYPE_ASSETID, "ASSETID", "ASSETID_LIST", "ASSET"},
};

#define CK_NTYPES ((int) (sizeof(ck_type_names) / sizeof(ck_type_names[0])))

bool
ck_type_parse(const char *name, CkFieldType *out)
{
	size_t		len;
	bool		is_list = false;
	char		base[32];
	int			i;

	if (name == NULL)
		return false;
	len = strlen(name);
	if (len >= sizeof(base))
		return false;
	memcpy(base, name, len + 1);
	if (len > 5 && strcmp(base + len - 5, "_LIST") == 0)
	{
		is_list = true;
		base[len - 5] = '\0';
	}

	/* "ASSET" is the schema spelling; MistKit sends ASSET_LIST too */
	if (strcmp(base, "ASSET") == 0)
	{
		out->elem = CK_TYPE_ASSETID;
		out->is_list = is_list;
		return true;
	}

	for (i = 0; i < CK_NTYPES; i++)
	{
		if (strcmp(base, ck_type_names[i].wire) != 0)
			continue;
		/* a bare "UNKNOWN" is not a wire type, only the empty-list marker is */
		if (ck_type_names[i].type == CK_TYPE_UNKNOWN && !is_list)
			return false;
		out->elem = ck_type_names[i].type;
		out->is_list = is_list;
		return true;
	}
	return false;
}

const char *
ck_type_name(CkFieldType type)
{
	int			i;

	for (i = 0; i < CK_NTYPES; i++)
	{
		if (ck_type_names[i].type == type.elem)
			return type.is_list ? ck_type_names[i].wire_list : ck_type_names[i].wire;
	}
	return type.is_list ? "UNKNOWN_LIST" : "UNKNOWN";
}

const char *
ck_scalar_schema_name(CkScalarType type)
{
	int			i;

	for (i = 0; i < CK_NTYPES; i++)
	{
		if (ck_type_names[i].type == type)
			return ck_type_names[i].schema;
	}
	return "UNKNOWN";
}
