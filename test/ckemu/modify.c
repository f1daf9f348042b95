/*-------------------------------------------------------------------------
 *
 * modify.c
 *		records/modify: the seven operation types (fact sheet section 5),
 *		reference actions, grants and atomic batches.
 *
 * Each operation is checked completely before it changes anything, so a
 * failed operation leaves no trace; an atomic batch (custom zones only)
 * additionally records the state of every record it touches and rolls
 * all of them back when one operation fails.
 *
 * Whole-request problems (bad shape, more than 200 operations, two
 * operations on one record) are answered before anything is applied.
 *
 * test/ckemu/modify.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckemu.h"

typedef enum EmuOpType
{
	OP_CREATE,
	OP_UPDATE,
	OP_FORCE_UPDATE,
	OP_REPLACE,
	OP_FORCE_REPLACE,
	OP_DELETE,
	OP_FORCE_DELETE
} EmuOpType;

static const char *const op_names[] = {
	"create", "update", "forceUpdate", "replace", "forceReplace", "delete", "forceDelete"
};

#define NOP_NAMES ((int) (sizeof(op_names) / sizeof(op_names[0])))

/* The outcome of one operation. */
typedef struct EmuOpResult
{
	bool		ok;
	char		code[40];
	char		reason[512];
	CkBuf	   *texts;			/* the request's rendered entries, one buffer */
	size_t		off;			/* this entry's text in texts */
	size_t		len;
} EmuOpResult;

/*
 * The members of one operation and its record, looked up once (a walk over
 * each dictionary instead of a hash look-up per key and per use).
 */
typedef struct EmuOpIn
{
	json_object *op;
	json_object *type;			/* operationType */
	json_object *keys;			/* the operation's desiredKeys */
	json_object *rec;			/* record */
	json_object *name;			/* record.recordName */
	json_object *fields;		/* record.fields */
	json_object *rtype;			/* record.recordType */
	json_object *tag;			/* record.recordChangeTag */
	json_object *rec_keys;		/* record.desiredKeys */
} EmuOpIn;

static void
emu_op_members(json_object *op, EmuOpIn *in)
{
	memset(in, 0, sizeof(*in));
	in->op = op;
	if (op == NULL || !json_object_is_type(op, json_type_object))
		return;
	json_object_object_foreach(op, key, val)
	{
		if (strcmp(key, "operationType") == 0)
			in->type = val;
		else if (strcmp(key, "record") == 0)
			in->rec = val;
		else if (strcmp(key, "desiredKeys") == 0)
			in->keys = val;
	}
	if (in->rec == NULL || !json_object_is_type(in->rec, json_type_object))
		return;
	json_object_object_foreach(in->rec, rkey, rval)
	{
		switch (rkey[0])
		{
			case 'f':
				if (strcmp(rkey, "fields") == 0)
					in->fields = rval;
				break;
			case 'd':
				if (strcmp(rkey, "desiredKeys") == 0)
					in->rec_keys = rval;
				break;
			case 'r':
				if (strcmp(rkey, "recordName") == 0)
					in->name = rval;
				else if (strcmp(rkey, "recordType") == 0)
					in->rtype = rval;
				else if (strcmp(rkey, "recordChangeTag") == 0)
					in->tag = rval;
				break;
		}
	}
}

static bool
emu_fail(EmuOpResult *res, const char *code, const char *fmt,...)
	__attribute__((format(printf, 3, 4)));

static bool
emu_fail(EmuOpResult *res, const char *code, const char *fmt,...)
{
	va_list		ap;

	res->ok = false;
	snprintf(res->code, sizeof(res->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	return false;
}

/* A field given as {"value": null} (or without value): clears the field. */
static bool
emu_field_is_null(const EmuField *f)
{
	return f->v.json == NULL;
}

/*
 * One member of "fields": from a json-c tree, or from the fast reader
 * (fastjson.c), whose value is text that becomes a json-c tree only when
 * value.c cannot read it directly or an error message needs it.
 */
typedef struct EmuFieldIn
{
	const char *name;
	bool		is_dict;
	bool		value_null;		/* "value" absent or null */
	json_object *value;			/* json-c value (made on demand when fast) */
	json_object *jtype;			/* json-c "type", or NULL */
	const char *type_text;		/* fast: "type" when a string, or NULL */
	EmuFastField *fast;
	bool		made;			/* value was made here: put it */
} EmuFieldIn;

static json_object *
emu_field_value(EmuFieldIn *in)
{
	if (in->fast != NULL && !in->made && !in->value_null)
	{
		in->value = emu_fast_value_json(in->fast);
		in->made = true;
	}
	return in->value;
}

/* Check one member of "fields" and build *f; false with err set. */
static bool
emu_build_field(EmuSchemaSet *set, const char *type, EmuFieldIn *in, EmuValueMode mode,
				bool nulls_allowed, EmuField *f, bool *keep, char *err, size_t errlen)
{
	CkFieldType given,
				ftype;
	bool		have_given = false;
	EmuFieldInfo info;
	const char *name = in->name;

	*keep = false;
	if (name[0] == '\0' || strncmp(name, "___", 3) == 0 || strlen(name) > EMU_MAX_NAME_LEN)
	{
		snprintf(err, errlen, "Invalid field name '%s'", name);
		return false;
	}
	if (!in->is_dict)
	{
		snprintf(err, errlen, "Field '%s' must be a dictionary with a value", name);
		return false;
	}
	if (in->fast != NULL)
	{
		if (in->type_text != NULL)
		{
			if (!emu_type_parse(in->type_text, &given))
			{
				snprintf(err, errlen, "Field '%s' has an unknown type '%s'", name, in->type_text);
				return false;
			}
			have_given = true;
		}
	}
	else if (in->jtype != NULL && !json_object_is_type(in->jtype, json_type_null))
	{
		if (!json_object_is_type(in->jtype, json_type_string) ||
			!emu_type_parse(json_object_get_string(in->jtype), &given))
		{
			snprintf(err, errlen, "Field '%s' has an unknown type '%s'", name,
					 json_object_get_string(in->jtype));
			return false;
		}
		have_given = true;
	}
	memset(f, 0, sizeof(*f));
	if (in->value_null)
	{
		if (!nulls_allowed)
			return true;
		f->name = emu_intern(name);
		*keep = true;
		return true;
	}

	emu_schema_field(set, type, name, &info);
	if (info.known)
	{
		ftype = info.type;
		if (have_given &&
			!(given.elem == ftype.elem && given.is_list == ftype.is_list) &&
			!(given.is_list && given.elem == CK_TYPE_UNKNOWN && ftype.is_list) &&
			!(given.elem == CK_TYPE_INT64 && ftype.elem == CK_TYPE_DOUBLE &&
			  given.is_list == ftype.is_list))
		{
			emu_type_mismatch(err, errlen, ftype, emu_field_value(in));
			return false;
		}
	}
	else
	{
		if (have_given)
			ftype = given;
		else if (!emu_value_infer_type(emu_field_value(in), &ftype))
		{
			snprintf(err, errlen, "Cannot tell the type of field '%s': send a type", name);
			return false;
		}
		if (!emu_schema_learn(set, type, name, ftype, err, errlen))
			return false;
	}
	if (in->fast != NULL && in->fast->prepared && in->fast->prepared_mode == mode &&
		in->fast->prepared_type.elem == ftype.elem &&
		in->fast->prepared_type.is_list == ftype.is_list)
	{
		/* read before the lock was taken, as this type */
		f->v = in->fast->prepared_value;
		in->fast->prepared = false;
		memset(&in->fast->prepared_value, 0, sizeof(EmuValue));
	}
	else if (!(in->fast != NULL && !in->made &&
			   emu_value_parse_text(in->fast->value, in->fast->value_len, ftype, mode,
									&f->v)) &&
			 !emu_value_parse(emu_field_value(in), ftype, mode, &f->v, err, errlen))
		return false;
	f->name = emu_intern(name);
	*keep = true;
	return true;
}

/*
 * Check a record's "fields" against the schema and build stored values.
 * Unknown fields are added to the development schema (and refused in
 * production).  Nulls are kept as entries with v.json == NULL when
 * nulls_allowed, so that update can clear those fields.
 */
bool
emu_build_fields(EmuRequest *req, EmuSchemaSet *set, const char *type,
				 json_object *fields, EmuValueMode mode, bool nulls_allowed,
				 EmuField **out, int *nout, char *code, char *err, size_t errlen)
{
	int			n = 0,
				cap,
				nfast = 0,
				i;
	EmuFastField *fast = NULL;
	bool		ok = true;
	EmuField   *arr;

	(void) req;
	*out = NULL;
	*nout = 0;
	strcpy(code, "BAD_REQUEST");
	if (fields == NULL || json_object_is_type(fields, json_type_null))
		return true;
	if (!json_object_is_type(fields, json_type_object))
	{
		snprintf(err, errlen, "fields must be a dictionary");
		return false;
	}
	if (emu_fast_fields(fields, &fast, &nfast))
		cap = nfast;
	else
		cap = json_object_object_length(fields);
	arr = emu_malloc(sizeof(EmuField) * (cap > 0 ? cap : 1));

	if (fast != NULL)
	{
		for (i = 0; i < nfast && ok; i++)
		{
			EmuFieldIn	in;
			bool		keep;

			memset(&in, 0, sizeof(in));
			in.name = fast[i].name;
			in.is_dict = fast[i].is_dict;
			in.value_null = fast[i].value == NULL;
			in.type_text = fast[i].type;
			in.fast = &fast[i];
			ok = emu_build_field(set, type, &in, mode, nulls_allowed, &arr[n], &keep,
								 err, errlen);
			if (in.made)
				json_object_put(in.value);
			if (ok && keep)
				n++;
		}
	}
	else
	{
		json_object_object_foreach(fields, name, fdict)
		{
			EmuFieldIn	in;
			bool		keep;

			memset(&in, 0, sizeof(in));
			in.name = name;
			in.is_dict = fdict != NULL && json_object_is_type(fdict, json_type_object);
			if (in.is_dict)
			{
				in.value = emu_get(fdict, "value");
				in.jtype = emu_get(fdict, "type");
			}
			in.value_null = in.value == NULL || json_object_is_type(in.value, json_type_null);
			ok = emu_build_field(set, type, &in, mode, nulls_allowed, &arr[n], &keep,
								 err, errlen);
			if (!ok)
				break;
			if (keep)
				n++;
		}
	}
	if (!ok)
	{
		emu_fields_free(arr, n);
		return false;
	}
	*out = arr;
	*nout = n;
	return true;
}

/* Fields after an update: the old ones with the given ones laid over them. */
static void
emu_merge_fields(const EmuRecord *old, EmuField *given, int ngiven,
				 EmuField **out, int *nout)
{
	EmuField   *arr = emu_malloc(sizeof(EmuField) * (old->nfields + ngiven + 1));
	int			n = 0,
				i,
				j;

	for (i = 0; i < old->nfields; i++)
	{
		for (j = 0; j < ngiven; j++)
			if (strcmp(given[j].name, old->fields[i].name) == 0)
				break;
		if (j < ngiven)
			continue;			/* replaced or cleared below */
		arr[n].name = old->fields[i].name;
		emu_value_copy(&arr[n].v, &old->fields[i].v);
		n++;
	}
	for (j = 0; j < ngiven; j++)
	{
		if (emu_field_is_null(&given[j]))
			continue;
		arr[n++] = given[j];
	}
	free(given);
	*out = arr;
	*nout = n;
}

/* Drop null entries (create and replace: an omitted field is null anyway). */
static void
emu_drop_nulls(EmuField *fields, int *n)
{
	int			i,
				j = 0;

	for (i = 0; i < *n; i++)
	{
		if (emu_field_is_null(&fields[i]))
			continue;
		fields[j++] = fields[i];
	}
	*n = j;
}

/* VALIDATE targets must exist; a target takes at most 750 DELETE_SELF sources. */
static bool
emu_check_references(EmuZone *zone, const char *self, EmuField *fields, int n,
					 EmuOpResult *res)
{
	int			i,
				j;

	for (i = 0; i < n; i++)
	{
		EmuValue   *v = &fields[i].v;

		if (v->type.elem != CK_TYPE_REFERENCE)
			continue;
		for (j = 0; j < v->n; j++)
		{
			EmuScalar  *s = &v->items[j];
			EmuZone    *tz = zone;

			if (s->u.ref.zone != NULL && strcmp(s->u.ref.zone, zone->name) != 0)
				tz = emu_zone_find(zone->scope, s->u.ref.zone, NULL);
			if (s->u.ref.action == EMU_REF_VALIDATE && strcmp(s->s, self) != 0 &&
				(tz == NULL || emu_record_find(tz, s->s) == NULL))
				return emu_fail(res, "VALIDATING_REFERENCE_ERROR",
								"Field '%s' references record '%s', which does not exist",
								fields[i].name, s->s);
			if (s->u.ref.action == EMU_REF_DELETE_SELF && tz == zone)
			{
				EmuRefList *list = emu_backrefs(zone, s->s);
				int			k,
							count = 0;

				for (k = 0; list != NULL && k < list->n; k++)
					if (strcmp(list->srcs[k]->name, self) != 0)
						count++;
				if (count >= EMU_MAX_DELETE_SELF)
					return emu_fail(res, "BAD_REQUEST",
									"Record '%s' already has %d DELETE_SELF references",
									s->s, EMU_MAX_DELETE_SELF);
			}
		}
	}
	return true;
}

/* Does src hold a reference with this action to target? */
static bool
emu_refers(const EmuRecord *src, const char *target, EmuRefAction action)
{
	int			i,
				j;

	for (i = 0; i < src->nfields; i++)
	{
		const EmuValue *v = &src->fields[i].v;

		if (v->type.elem != CK_TYPE_REFERENCE)
			continue;
		for (j = 0; j < v->n; j++)
			if (v->items[j].u.ref.action == action && strcmp(v->items[j].s, target) == 0 &&
				(v->items[j].u.ref.zone == NULL ||
				 strcmp(v->items[j].u.ref.zone, src->zone->name) == 0))
				return true;
	}
	return false;
}

/*
 * Delete rec and, transitively, the records that point at it with
 * DELETE_SELF.  Fails, changing nothing, while a record outside that set
 * still points at one inside it with VALIDATE.
 */
static bool
emu_delete_cascade(EmuRecord *rec, int64_t now, EmuOpResult *res)
{
	EmuZone    *zone = rec->zone;
	EmuRecord **set = emu_malloc(sizeof(EmuRecord *) * 16);
	int			n = 0,
				cap = 16,
				i,
				k;
	EmuMap		member;
	bool		ok = true;

	emu_map_init(&member);
	set[n++] = rec;
	emu_map_put(&member, rec->name, rec);
	for (i = 0; i < n; i++)
	{
		EmuRefList *list = emu_backrefs(zone, set[i]->name);

		for (k = 0; list != NULL && k < list->n; k++)
		{
			EmuRecord  *src = list->srcs[k];

			if (emu_map_get(&member, src->name) || !emu_refers(src, set[i]->name, EMU_REF_DELETE_SELF))
				continue;
			if (n == cap)
			{
				cap *= 2;
				set = emu_realloc(set, sizeof(EmuRecord *) * cap);
			}
			set[n++] = src;
			emu_map_put(&member, src->name, src);
		}
	}
	for (i = 0; i < n && ok; i++)
	{
		EmuRefList *list = emu_backrefs(zone, set[i]->name);

		for (k = 0; list != NULL && k < list->n; k++)
		{
			EmuRecord  *src = list->srcs[k];

			if (!emu_map_get(&member, src->name) &&
				emu_refers(src, set[i]->name, EMU_REF_VALIDATE))
			{
				ok = emu_fail(res, "VALIDATING_REFERENCE_ERROR",
							  "Record '%s' is still referenced by record '%s' with action VALIDATE",
							  set[i]->name, src->name);
				break;
			}
		}
	}
	if (ok)
		for (i = 0; i < n; i++)
			emu_record_delete(set[i], now);
	emu_map_free(&member, NULL);
	free(set);
	return ok;
}

static bool
emu_valid_name(const char *s)
{
	const unsigned char *p;

	if (*s == '\0' || strlen(s) > EMU_MAX_NAME_LEN)
		return false;
	for (p = (const unsigned char *) s; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return false;
	return true;
}

static bool
emu_size_ok(EmuField *fields, int n, EmuOpResult *res)
{
	size_t		size = 0;
	int			i;

	for (i = 0; i < n; i++)
		if (!emu_field_is_null(&fields[i]))
			size += strlen(fields[i].name) + emu_value_size(&fields[i].v);
	if (size > EMU_MAX_RECORD_BYTES)
		return emu_fail(res, EMU_CODE_RECORD_TOO_LARGE,
						"Record size of %zu bytes exceeds the limit of %d bytes",
						size, EMU_MAX_RECORD_BYTES);
	return true;
}

/*
 * Apply one operation.  Everything is checked before the store changes.
 * On success res->texts holds the answer entry at res->off, res->len.
 */
/* A write of a cloudkit.share record, by operation type. */
static bool
emu_apply_share_op(EmuRequest *req, EmuZone *zone, EmuOpType type, json_object *jrec,
				   const char *name, EmuOpResult *res)
{
	const char *op;
	bool		check_tag = (type == OP_UPDATE || type == OP_REPLACE || type == OP_DELETE);

	if (type == OP_CREATE)
		op = "create";
	else if (type == OP_DELETE || type == OP_FORCE_DELETE)
		op = "delete";
	else if (type == OP_UPDATE || type == OP_REPLACE)
		op = "update";
	else
		op = "upsert";
	res->off = res->texts->len;
	res->ok = emu_share_modify(req, zone, op, name, jrec, check_tag, res->texts,
							   res->code, sizeof(res->code), res->reason, sizeof(res->reason));
	res->len = res->texts->len - res->off;
	return res->ok;
}

static bool
emu_apply_op(EmuRequest *req, EmuZone *zone, EmuOpType type, const EmuOpIn *in,
			 const char *name, const EmuKeys *keys, bool nas, int64_t now,
			 EmuOpResult *res)
{
	json_object *jrec = in->rec;
	json_object *jtype = in->rtype;
	json_object *jtag = in->tag;
	const char *rtype = NULL;
	const char *tag = NULL;
	EmuRecord  *existing = emu_record_find(zone, name);
	EmuField   *fields = NULL;
	int			nfields = 0;
	bool		creating;
	bool		needs_tag = (type == OP_UPDATE || type == OP_REPLACE || type == OP_DELETE);
	char		code[40];
	char		err[512];
	EmuRecord  *saved;

	if (jtype != NULL && json_object_is_type(jtype, json_type_string))
		rtype = json_object_get_string(jtype);
	if (jtag != NULL && json_object_is_type(jtag, json_type_string))
		tag = json_object_get_string(jtag);

	/* share records and the shared database's permissions: share.c */
	if (emu_share_is_share_op(zone, name, jrec))
		return emu_apply_share_op(req, zone, type, jrec, name, res);
	if (emu_share_active &&
		!emu_share_write_check(req, zone, name, jrec, existing != NULL && !existing->deleted,
							   err, sizeof(err)))
		return emu_fail(res, "ACCESS_DENIED", "%s", err);

	/* existence and change tags */
	if (type == OP_CREATE && existing != NULL)
		return emu_fail(res, EMU_CODE_CREATE_EXISTS, "record to insert already exists");
	if (existing == NULL && (type == OP_UPDATE || type == OP_REPLACE ||
							 type == OP_DELETE || type == OP_FORCE_DELETE))
		return emu_fail(res, EMU_CODE_MISSING_RECORD, "Record not found");
	if (needs_tag)
	{
		if (tag == NULL)
			return emu_fail(res, "BAD_REQUEST", "recordChangeTag is required for %s",
							op_names[type]);
		if (strcmp(tag, existing->tag) != 0)
		{
			if (type == OP_DELETE)
				return emu_fail(res, "CONFLICT",
								"record to delete already exists with a different change tag");
			return emu_fail(res, "CONFLICT",
							"record to update already exists with a different change tag");
		}
	}
	creating = (existing == NULL);

	/* deletes */
	if (type == OP_DELETE || type == OP_FORCE_DELETE)
	{
		if (req->public_db)
		{
			bool		mine = strcmp(existing->created_user, req->caller.user) == 0;

			if (!(emu_schema_rights(req->schema, existing->type, &req->caller, mine) & CK_GRANT_WRITE))
				return emu_fail(res, "ACCESS_DENIED", "WRITE operation not permitted");
		}
		if (!emu_delete_cascade(existing, now, res))
			return false;
		res->off = res->texts->len;
		emu_lit(res->texts, "{\"recordName\":");
		emu_json_string(res->texts, name);
		emu_lit(res->texts, ",\"deleted\":true}");
		res->len = res->texts->len - res->off;
		res->ok = true;
		return true;
	}

	/* the record type */
	if (creating)
	{
		if (rtype == NULL || *rtype == '\0')
			return emu_fail(res, "BAD_REQUEST", "recordType is required to create record '%s'", name);
		if (!emu_schema_learn_type(req->schema, rtype, err, sizeof(err)))
			return emu_fail(res, "BAD_REQUEST", "%s", err);
		if (req->public_db)
		{
			int			rights = emu_schema_rights(req->schema, rtype, &req->caller, true);

			/* the creator must be able to write what it creates */
			if (!(rights & CK_GRANT_CREATE) || !(rights & CK_GRANT_WRITE))
				return emu_fail(res, "ACCESS_DENIED", "CREATE operation not permitted");
		}
	}
	else
	{
		if (rtype != NULL && strcmp(rtype, existing->type) != 0)
			return emu_fail(res, "BAD_REQUEST",
							"Record '%s' has type %s, not %s", name, existing->type, rtype);
		rtype = existing->type;
		if (req->public_db)
		{
			bool		mine = strcmp(existing->created_user, req->caller.user) == 0;

			if (!(emu_schema_rights(req->schema, rtype, &req->caller, mine) & CK_GRANT_WRITE))
				return emu_fail(res, "ACCESS_DENIED", "WRITE operation not permitted");
		}
	}

	/* the fields */
	if (!emu_build_fields(req, req->schema, rtype, in->fields, EMU_VALUE_WRITE,
						  true, &fields, &nfields, code, err, sizeof(err)))
		return emu_fail(res, code, "%s", err);
	if (!creating && (type == OP_UPDATE || type == OP_FORCE_UPDATE))
		emu_merge_fields(existing, fields, nfields, &fields, &nfields);
	else
		emu_drop_nulls(fields, &nfields);
	if (!emu_size_ok(fields, nfields, res) ||
		!emu_check_references(zone, name, fields, nfields, res))
	{
		emu_fields_free(fields, nfields);
		return false;
	}

	saved = emu_record_put(zone, name, rtype, fields, nfields, req->caller.user, now);
	emu_share_note_record(zone, saved, jrec, creating);
	res->off = res->texts->len;
	emu_render_record(res->texts, saved, keys, nas);
	res->len = res->texts->len - res->off;
	res->ok = true;
	return true;
}

/*
 * The buffer a request's entries are rendered into, one per thread and
 * kept: a few hundred kB grown from nothing each request was reallocated
 * and faulted in page by page every time.
 */
static pthread_key_t texts_key;
static pthread_once_t texts_once = PTHREAD_ONCE_INIT;

static void
emu_texts_free(void *p)
{
	ck_buf_free((CkBuf *) p);
	free(p);
}

static void
emu_texts_key_init(void)
{
	pthread_key_create(&texts_key, emu_texts_free);
}

static CkBuf *
emu_thread_texts(void)
{
	CkBuf	   *buf;

	pthread_once(&texts_once, emu_texts_key_init);
	buf = pthread_getspecific(texts_key);
	if (buf == NULL)
	{
		buf = emu_malloc(sizeof(CkBuf));
		ck_buf_init(buf);
		pthread_setspecific(texts_key, buf);
	}
	ck_buf_reset(buf);
	return buf;
}

static void
emu_render_results(CkBuf *out, EmuOpResult *results, const char **names, int n,
				   int failed_at)
{
	int			i;

	/* the entries and their commas; errors grow it if need be */
	emu_buf_reserve(out, (n > 0 ? results[0].texts->len : 0) + (size_t) n + 16);
	emu_lit(out, "{\"records\":[");
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			emu_lit(out, ",");
		if (failed_at >= 0 && i != failed_at)
			emu_render_record_error(out, names[i], "ATOMIC_ERROR",
									"Atomic failure: record will not be saved because of an error in another record of the atomic batch");
		else if (results[i].ok)
			ck_buf_append(out, results[i].texts->data + results[i].off, results[i].len);
		else
			emu_render_record_error(out, names[i], results[i].code, results[i].reason);
	}
	emu_lit(out, "]}");
}

void
emu_op_records_modify(EmuRequest *req, json_object *body)
{
	json_object *jops;
	EmuKeys		top;
	EmuZone    *zone;
	EmuOpResult *results = NULL;
	EmuOpType  *types = NULL;
	EmuOpIn    *ins = NULL;
	const char **names = NULL;
	char	  **generated = NULL;
	EmuMap		seen;
	CkBuf	   *texts;			/* every operation's rendered entry */
	bool		atomic = true;
	bool		nas = false;
	int			n,
				i,
				failed_at = -1;
	int64_t		now = ck_now_ms();
	char		err[256];

	texts = emu_thread_texts();
	jops = emu_body_array(req, body, "operations", "operations", EMU_MAX_OPERATIONS, &n);
	if (jops == NULL || !emu_body_bool(req, body, "atomic", &atomic) ||
		!emu_body_bool(req, body, "numbersAsStrings", &nas))
		return;
	if (!emu_keys_parse(emu_get(body, "desiredKeys"), &top, NULL, err, sizeof(err)))
	{
		emu_error(req, "BAD_REQUEST", "%s", err);
		return;
	}
	zone = emu_resolve_zone(req, emu_get(body, "zoneID"), true);
	if (zone == NULL)
	{
		emu_keys_free(&top);
		return;
	}

	/* the shape of every operation, before anything is applied */
	emu_map_init_borrowed(&seen);	/* names live in the body, or in generated */
	ins = emu_malloc(sizeof(EmuOpIn) * (n > 0 ? n : 1));
	types = emu_malloc(sizeof(EmuOpType) * (n > 0 ? n : 1));
	names = emu_malloc(sizeof(char *) * (n > 0 ? n : 1));
	generated = calloc(n > 0 ? n : 1, sizeof(char *));
	for (i = 0; i < n; i++)
	{
		json_object *op = json_object_array_get_idx(jops, i);
		json_object *jtype,
				   *jrec,
				   *jname,
				   *jfields,
				   *jrtype,
				   *jtag;
		int			t;

		emu_op_members(op, &ins[i]);
		jtype = ins[i].type;
		jrec = ins[i].rec;
		jname = ins[i].name;
		jfields = ins[i].fields;
		jrtype = ins[i].rtype;
		jtag = ins[i].tag;

		if (op == NULL || !json_object_is_type(op, json_type_object))
		{
			emu_error(req, "BAD_REQUEST", "operations[%d] must be a dictionary", i);
			goto done;
		}
		if (jtype == NULL || !json_object_is_type(jtype, json_type_string))
		{
			emu_error(req, "BAD_REQUEST", "operations[%d] needs an operationType", i);
			goto done;
		}
		for (t = 0; t < NOP_NAMES; t++)
			if (strcmp(op_names[t], json_object_get_string(jtype)) == 0)
				break;
		if (t == NOP_NAMES)
		{
			emu_error(req, "BAD_REQUEST", "Unknown operationType '%s'", json_object_get_string(jtype));
			goto done;
		}
		types[i] = (EmuOpType) t;
		if (jrec == NULL || !json_object_is_type(jrec, json_type_object))
		{
			emu_error(req, "BAD_REQUEST", "operations[%d] needs a record dictionary", i);
			goto done;
		}
		if ((jfields != NULL && !json_object_is_type(jfields, json_type_null) &&
			 !json_object_is_type(jfields, json_type_object)) ||
			(jrtype != NULL && !json_object_is_type(jrtype, json_type_null) &&
			 !json_object_is_type(jrtype, json_type_string)) ||
			(jtag != NULL && !json_object_is_type(jtag, json_type_null) &&
			 !json_object_is_type(jtag, json_type_string)))
		{
			emu_error(req, "BAD_REQUEST", "operations[%d]: fields must be a dictionary, recordType and recordChangeTag strings", i);
			goto done;
		}
		if (jname == NULL || json_object_is_type(jname, json_type_null))
		{
			char		uuid[37];

			if (types[i] != OP_CREATE && types[i] != OP_FORCE_UPDATE && types[i] != OP_FORCE_REPLACE)
			{
				emu_error(req, "BAD_REQUEST", "operations[%d] needs a recordName", i);
				goto done;
			}
			/* CloudKit names records it creates without a name with a UUID */
			ck_uuid_v4(uuid);
			generated[i] = emu_strdup(uuid);
			names[i] = generated[i];
		}
		else if (!json_object_is_type(jname, json_type_string) ||
				 strlen(json_object_get_string(jname)) != (size_t) json_object_get_string_len(jname) ||
				 !emu_valid_name(json_object_get_string(jname)))
		{
			emu_error(req, "BAD_REQUEST", "operations[%d]: recordName must be 1 to %d printable ASCII characters",
					  i, EMU_MAX_NAME_LEN);
			goto done;
		}
		else
			names[i] = json_object_get_string(jname);
		if (emu_map_get(&seen, names[i]) != NULL)
		{
			emu_error(req, "BAD_REQUEST", "Only one operation per record is allowed: record '%s' appears twice",
					  names[i]);
			goto done;
		}
		emu_map_put(&seen, names[i], (void *) names[i]);
	}

	/* apply, in order */
	/* not zeroed: each entry is set before it is read (reason is 512 bytes) */
	results = emu_malloc(sizeof(EmuOpResult) * (n > 0 ? n : 1));
	for (i = 0; i < n; i++)
	{
		results[i].ok = false;
		results[i].code[0] = '\0';
		results[i].reason[0] = '\0';
		results[i].texts = texts;
		results[i].off = results[i].len = 0;
	}
	atomic = atomic && !zone->is_default;
	if (atomic)
		emu_batch_begin();
	for (i = 0; i < n; i++)
	{
		EmuKeys		keys;
		json_object *kd = ins[i].keys;

		if (kd == NULL || json_object_is_type(kd, json_type_null))
			kd = ins[i].rec_keys;
		if (!emu_keys_parse(kd, &keys, &top, err, sizeof(err)))
		{
			emu_fail(&results[i], "BAD_REQUEST", "%s", err);
		}
		else
		{
			emu_apply_op(req, zone, types[i], &ins[i], names[i], &keys, nas, now, &results[i]);
			emu_keys_free(&keys);
		}
		req->records_in++;
		if (!results[i].ok && atomic)
		{
			failed_at = i;
			break;
		}
	}
	if (atomic)
	{
		if (failed_at >= 0)
			emu_batch_rollback();
		else
			emu_batch_commit();
	}
	if (failed_at >= 0)
	{
		emu_render_results(&req->out, results, names, n, failed_at);
		req->status = 400;
	}
	else
	{
		emu_render_results(&req->out, results, names, n, -1);
		for (i = 0; i < n; i++)
			if (results[i].ok)
				req->records_out++;
		req->status = 200;
	}
	req->answered = true;

done:
	if (texts->cap > 16 * 1024 * 1024)
		ck_buf_free(texts);		/* a huge answer's buffer is not kept */
	if (generated != NULL)
		for (i = 0; i < n; i++)
			free(generated[i]);
	free(results);
	free(types);
	free(ins);
	free(names);
	free(generated);
	emu_map_free(&seen, NULL);
	emu_keys_free(&top);
}
