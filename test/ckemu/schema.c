/*-------------------------------------------------------------------------
 *
 * schema.c
 *		The schema as the emulator enforces it: field types, indexes
 *		(QUERYABLE, SORTABLE, SEARCHABLE), public-database grants, and the
 *		development environment's just-in-time schema.
 *
 * Each (container, environment) has its own copy of the --schema file, so
 * that development can grow while production stays as declared.  Without
 * --schema the emulator is permissive: types and fields are learned from
 * the first write, every field is indexed, and there are no grants.
 *
 * test/ckemu/schema.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckemu.h"

/* The implicit system fields of every record type (fact sheet section 10). */
static const struct
{
	const char *name;
	CkScalarType type;
}			system_fields[] = {
	{"___recordID", CK_TYPE_REFERENCE},
	{"___createTime", CK_TYPE_TIMESTAMP},
	{"___modTime", CK_TYPE_TIMESTAMP},
	{"___createdBy", CK_TYPE_REFERENCE},
	{"___modifiedBy", CK_TYPE_REFERENCE},
	{"___etag", CK_TYPE_STRING},
	{"___share", CK_TYPE_REFERENCE},
	{"___parent", CK_TYPE_REFERENCE},
};

#define NSYSTEM_FIELDS ((int) (sizeof(system_fields) / sizeof(system_fields[0])))

CkSchema *
emu_schema_load(char *err, size_t errlen)
{
	return ck_schema_load_file(emu_config.schema_file, err, errlen);
}

void
emu_schema_free_set(EmuSchemaSet *set)
{
	ck_schema_free(set->schema);
	ck_schema_free(set->learned);
	free(set->container);
	free(set);
}

bool
emu_schema_permissive(EmuSchemaSet *set)
{
	return set->schema == NULL;
}

static CkSchema *
emu_schema_of(EmuSchemaSet *set)
{
	return set->schema ? set->schema : set->learned;
}

bool
emu_schema_has_type(EmuSchemaSet *set, const char *type)
{
	return ck_schema_find_type(emu_schema_of(set), type) != NULL;
}

/*
 * What the schema says about type.field.  System fields (___recordID, ...)
 * always exist; their indexes come from the schema when it lists them.
 * Returns false when the type itself is unknown.
 */
/*
 * ck_schema_find_type/_field, comparing first letters before strcmp: every
 * field of every record written is looked up here.
 */
static CkSchemaRecordType *
emu_find_type(CkSchema *schema, const char *name)
{
	int			i;

	if (schema == NULL || name == NULL)
		return NULL;
	for (i = 0; i < schema->ntypes; i++)
		if (schema->types[i].name[0] == name[0] && strcmp(schema->types[i].name, name) == 0)
			return &schema->types[i];
	return NULL;
}

static CkSchemaField *
emu_find_field(CkSchemaRecordType *type, const char *name)
{
	int			i;

	for (i = 0; i < type->nfields; i++)
		if (type->fields[i].name[0] == name[0] && strcmp(type->fields[i].name, name) == 0)
			return &type->fields[i];
	return NULL;
}

bool
emu_schema_field(EmuSchemaSet *set, const char *type, const char *field,
				 EmuFieldInfo *info)
{
	CkSchemaRecordType *t = emu_find_type(emu_schema_of(set), type);
	CkSchemaField *f;
	int			i;
	bool		permissive = emu_schema_permissive(set);

	memset(info, 0, sizeof(*info));
	/* every system field starts with "___"; most fields need no look */
	for (i = (field[0] == '_' ? 0 : NSYSTEM_FIELDS); i < NSYSTEM_FIELDS; i++)
	{
		if (strcmp(field, system_fields[i].name) == 0)
		{
			info->known = true;
			info->system = true;
			info->type.elem = system_fields[i].type;
			info->type.is_list = false;
			break;
		}
	}
	if (t == NULL)
	{
		if (permissive && info->system)
			info->queryable = info->sortable = true;
		return false;
	}
	f = emu_find_field(t, field);
	if (f != NULL)
	{
		info->known = true;
		if (!info->system)
			info->type = f->type;
		info->queryable = f->queryable;
		info->sortable = f->sortable;
		info->searchable = f->searchable;
	}
	if (permissive && info->known)
	{
		info->queryable = info->sortable = true;
		info->searchable = (info->type.elem == CK_TYPE_STRING);
	}
	return true;
}

/* A new type of the development schema gets Apple's suggested grants. */
static void
emu_schema_default_grants(CkSchemaRecordType *t)
{
	static const struct
	{
		const char *role;
		int			rights;
	}			grants[] = {
		{"_world", CK_GRANT_READ},
		{"_icloud", CK_GRANT_CREATE},
		{"_creator", CK_GRANT_WRITE},
	};
	int			i;

	t->grants = emu_malloc(sizeof(CkSchemaGrant) * 3);
	for (i = 0; i < 3; i++)
	{
		t->grants[i].role = emu_strdup(grants[i].role);
		t->grants[i].rights = grants[i].rights;
	}
	t->ngrants = 3;
}

bool
emu_schema_learn_type(EmuSchemaSet *set, const char *type, char *err, size_t errlen)
{
	CkSchema   *s = emu_schema_of(set);
	CkSchemaRecordType *t;
	int			i;

	if (ck_schema_find_type(s, type) != NULL)
		return true;
	if (set->schema != NULL && set->production)
	{
		snprintf(err, errlen, "Cannot create new type %s in production schema", type);
		return false;
	}
	if (type[0] == '\0' || type[0] == '_' || strlen(type) > EMU_MAX_NAME_LEN)
	{
		snprintf(err, errlen, "Invalid record type name '%s'", type);
		return false;
	}
	t = ck_schema_add_type(s, type);
	if (t == NULL)
	{
		snprintf(err, errlen, "Cannot create type %s", type);
		return false;
	}
	if (set->schema != NULL)
	{
		/*
		 * Just-in-time types are made usable at once: Apple's suggested
		 * grants, and the system indexes an unfiltered or time-sorted query
		 * needs.
		 */
		emu_schema_default_grants(t);
		for (i = 0; i < 3; i++)
		{
			CkFieldType ft = {system_fields[i].type, false};
			CkSchemaField *f = ck_schema_add_field(t, system_fields[i].name, ft);

			if (f != NULL)
			{
				f->queryable = true;
				f->sortable = (i > 0);
			}
		}
	}
	return true;
}

/*
 * Make sure type.field exists for a write: production refuses what is not
 * declared, development and the permissive mode add it.  The caller has
 * checked that an existing field has a matching type.
 */
bool
emu_schema_learn(EmuSchemaSet *set, const char *type, const char *field,
				 CkFieldType ftype, char *err, size_t errlen)
{
	CkSchemaRecordType *t;
	CkSchemaField *f;

	if (!emu_schema_learn_type(set, type, err, errlen))
		return false;
	t = ck_schema_find_type(emu_schema_of(set), type);
	if (ck_schema_find_field(t, field) != NULL)
		return true;
	if (set->schema != NULL && set->production)
	{
		snprintf(err, errlen, "Cannot create new field '%s' in type %s in production schema",
				 field, type);
		return false;
	}
	if (field[0] == '\0' || field[0] == '_' || strlen(field) > EMU_MAX_NAME_LEN)
	{
		snprintf(err, errlen, "Invalid field name '%s'", field);
		return false;
	}
	/* an empty list carries no element type: wait for one that does */
	if (ftype.elem == CK_TYPE_UNKNOWN)
		return true;
	f = ck_schema_add_field(t, field, ftype);
	if (f == NULL)
	{
		snprintf(err, errlen, "Cannot create field '%s'", field);
		return false;
	}
	/* just-in-time fields are indexed so that tests can query them */
	f->queryable = (ftype.elem != CK_TYPE_ASSETID && ftype.elem != CK_TYPE_BYTES);
	f->sortable = (!ftype.is_list && ftype.elem != CK_TYPE_ASSETID &&
				   ftype.elem != CK_TYPE_BYTES && ftype.elem != CK_TYPE_REFERENCE);
	f->searchable = (ftype.elem == CK_TYPE_STRING && !ftype.is_list);
	return true;
}

/*
 * The rights the caller has on a type of the public database: _world for
 * everyone, _icloud for a signed-in user (the S2S developer counts), and
 * _creator on records the caller created.
 */
int
emu_schema_rights(EmuSchemaSet *set, const char *type, const EmuCaller *caller,
				  bool is_creator)
{
	CkSchemaRecordType *t;
	int			rights;

	if (emu_schema_permissive(set))
		return CK_GRANT_READ | CK_GRANT_CREATE | CK_GRANT_WRITE;
	t = ck_schema_find_type(set->schema, type);
	if (t == NULL)
		return 0;
	rights = ck_schema_rights(t, "_world");
	if (caller->signed_in)
	{
		rights |= ck_schema_rights(t, "_icloud");
		if (is_creator)
			rights |= ck_schema_rights(t, "_creator");
	}
	return rights;
}
