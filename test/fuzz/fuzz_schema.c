/*-------------------------------------------------------------------------
 *
 * fuzz_schema.c
 *		Fuzz target: a CloudKit Schema Language (.ckdb) file, parsed as
 *		IMPORT FOREIGN SCHEMA and ckemu --schema parse it, then looked
 *		through the way they use it (types, fields, grants).
 *
 * test/fuzz/fuzz_schema.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "ck/ck_schema.h"
#include "fuzz.h"

static volatile uintptr_t sink;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = malloc(size + 1);
	char		err[512];
	CkSchema   *schema;
	int			t,
				f;

	if (text == NULL)
		return 0;
	/* the parser takes a C string: a NUL in the input ends it there */
	memcpy(text, data, size);
	text[size] = '\0';
	schema = ck_schema_parse(text, err, sizeof(err));
	if (schema == NULL)
		sink += (uintptr_t) strlen(err);
	else
	{
		for (t = 0; t < schema->ntypes; t++)
		{
			CkSchemaRecordType *type = &schema->types[t];

			if (ck_schema_find_type(schema, type->name) == NULL)
				abort();		/* a parsed type must be found by its name */
			for (f = 0; f < type->nfields; f++)
			{
				if (ck_schema_find_field(type, type->fields[f].name) == NULL)
					abort();
				sink += (uintptr_t) ck_type_name(type->fields[f].type)[0];
			}
			sink += (uintptr_t) ck_schema_rights(type, "_world") +
				(uintptr_t) ck_schema_rights(type, "_creator");
		}
		ck_schema_free(schema);
	}
	free(text);
	return 0;
}
