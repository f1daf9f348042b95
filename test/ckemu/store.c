/*-------------------------------------------------------------------------
 *
 * store.c
 *		The emulator's data: one scope per (container, environment,
 *		database, owner), zones inside scopes, records inside zones, and a
 *		change log per zone.
 *
 * Scopes are created on first use, even by readers (holding the store read
 * lock), under scope_lock; they are freed only by a reset, which holds the
 * store write lock.  Everything inside a scope changes only under the store
 * write lock.  Counters shared by scopes and zones change either under the
 * write lock or under scope_lock with the read lock held, never both at
 * once.
 *
 * Deleted records stay in their zone's map as tombstones so that the
 * change feed can report them.  A zone's log lists (seq, record) pairs in
 * seq order; an entry is stale when the record has changed again since,
 * and stale entries are compacted away.
 *
 * test/ckemu/store.c
 *
 *-------------------------------------------------------------------------
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckemu.h"

pthread_rwlock_t emu_store_lock = PTHREAD_RWLOCK_INITIALIZER;
uint64_t	emu_store_gen = 1;
uint64_t	emu_store_free_gen = 1;

static pthread_mutex_t scope_lock = PTHREAD_MUTEX_INITIALIZER;
static EmuScope *scopes;
static EmuScope **scopes_tail = &scopes;
static EmuSchemaSet *schema_sets;
static int64_t incarnation_counter;
static int64_t serial_counter;
static uint64_t tag_counter = 36 * 36;	/* tags start at three base-36 digits */

static void emu_zone_free_contents(EmuZone *zone);

/*
 * Interned strings: record types, user names and field names repeat in
 * every record, so each distinct text is stored once and records point at
 * it.  They are never freed; there are only as many as the schema has names
 * and the emulator has users.
 */
static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
static EmuMap interned;

const char *
emu_intern(const char *s)
{
	const char *found;

	if (s == NULL)
		return NULL;
	pthread_mutex_lock(&intern_lock);
	if (interned.buckets == NULL)
		emu_map_init_borrowed(&interned);
	found = emu_map_get(&interned, s);
	if (found == NULL)
	{
		char	   *copy = emu_strdup(s);

		emu_map_put(&interned, copy, copy);
		found = copy;
	}
	pthread_mutex_unlock(&intern_lock);
	return found;
}

void
emu_store_init(void)
{
	scopes = NULL;
	scopes_tail = &scopes;
	schema_sets = NULL;

	/*
	 * Every request builds and frees a JSON tree while the store only grows:
	 * without these, glibc gives the freed top of the heap back to the
	 * kernel after each request and takes it again (page faults) for the
	 * next one.  No fast bins: freeing the request's large buffers would
	 * then merge thousands of small chunks each time (tcache still serves
	 * small allocations quickly).
	 */
	mallopt(M_MXFAST, 0);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
	mallopt(M_TOP_PAD, 16 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
}

void
emu_store_bump(void)
{
	emu_store_gen++;
}

void
emu_new_change_tag(char *out)
{
	emu_base36(++tag_counter, out);
}

/*
 * A tag loaded from a seed file: later generated tags must not repeat it,
 * or a stale tag could match a newer version of the record.
 */
void
emu_note_change_tag(const char *tag)
{
	uint64_t	v = 0;
	const char *p;

	for (p = tag; *p; p++)
	{
		int			d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'z')
			d = *p - 'a' + 10;
		else
			return;
		if (v > (UINT64_MAX - 35) / 36)
			return;
		v = v * 36 + d;
	}
	if (v > tag_counter)
		tag_counter = v;
}

int64_t
emu_next_serial(void)
{
	return ++serial_counter;
}

void
emu_public_owner(const char *container, char out[34])
{
	emu_user_from_seed("ckemu-public-owner:", container, out);
}

/* ---------------------------------------------------------------- schema sets */

EmuSchemaSet *
emu_schema_set_get(const char *container, bool production)
{
	EmuSchemaSet *set;

	pthread_mutex_lock(&scope_lock);
	for (set = schema_sets; set != NULL; set = set->next)
	{
		if (set->production == production && strcmp(set->container, container) == 0)
		{
			pthread_mutex_unlock(&scope_lock);
			return set;
		}
	}
	set = emu_malloc(sizeof(EmuSchemaSet));
	memset(set, 0, sizeof(*set));
	set->container = emu_strdup(container);
	set->production = production;
	if (emu_config.schema_file)
	{
		char		err[512];

		/* checked at start-up, so this only fails if the file changed */
		set->schema = emu_schema_load(err, sizeof(err));
		if (set->schema == NULL)
		{
			fprintf(stderr, "ckemu: schema reload failed: %s\n", err);
			set->schema = calloc(1, sizeof(CkSchema));
		}
	}
	else
		set->learned = calloc(1, sizeof(CkSchema));
	set->next = schema_sets;
	schema_sets = set;
	pthread_mutex_unlock(&scope_lock);
	return set;
}

/* ---------------------------------------------------------------- scopes */

static EmuZone *
emu_zone_new(EmuScope *scope, const char *name, const char *owner, bool is_default)
{
	EmuZone    *zone = emu_malloc(sizeof(EmuZone));

	memset(zone, 0, sizeof(*zone));
	zone->name = emu_strdup(name);
	zone->owner = emu_strdup(owner);
	zone->is_default = is_default;
	zone->scope = scope;
	zone->incarnation = ++incarnation_counter;
	zone->life_incarnation = zone->incarnation;
	emu_map_init_borrowed(&zone->records);
	emu_map_init(&zone->backrefs);
	return zone;
}

EmuScope *
emu_scope_get(const char *container, const char *environment,
			  const char *database, const char *owner)
{
	EmuScope   *scope;
	EmuSchemaSet *set;
	char		zone_owner[34];
	const char *zo;

	if (owner == NULL)
		owner = "";
	/* first, so that a scope is never visible without its schema */
	set = emu_schema_set_get(container, strcmp(environment, "production") == 0);
	pthread_mutex_lock(&scope_lock);
	for (scope = scopes; scope != NULL; scope = scope->next)
	{
		if (strcmp(scope->container, container) == 0 &&
			strcmp(scope->environment, environment) == 0 &&
			strcmp(scope->database, database) == 0 &&
			strcmp(scope->owner, owner) == 0)
		{
			pthread_mutex_unlock(&scope_lock);
			return scope;
		}
	}
	scope = emu_malloc(sizeof(EmuScope));
	memset(scope, 0, sizeof(*scope));
	scope->container = emu_strdup(container);
	scope->environment = emu_strdup(environment);
	scope->database = emu_strdup(database);
	scope->owner = emu_strdup(owner);
	scope->incarnation = ++incarnation_counter;
	scope->life_incarnation = scope->incarnation;
	scope->schema = set;
	if (*owner == '\0')
	{
		emu_public_owner(container, zone_owner);
		zo = zone_owner;
	}
	else
		zo = owner;
	scope->zones = emu_malloc(sizeof(EmuZone *) * 4);
	scope->zones[0] = emu_zone_new(scope, "_defaultZone", zo, true);
	scope->nzones = 1;
	*scopes_tail = scope;
	scopes_tail = &scope->next;
	pthread_mutex_unlock(&scope_lock);
	return scope;
}

/*
 * POST /_ckemu/expire-tokens: every changes/zone and changes/database token
 * handed out so far expires (a token after this call differs from all
 * earlier ones).
 */
void
emu_expire_tokens(void)
{
	EmuScope   *scope;
	int			i;

	pthread_rwlock_wrlock(&emu_store_lock);
	pthread_mutex_lock(&scope_lock);
	for (scope = scopes; scope != NULL; scope = scope->next)
	{
		scope->incarnation = ++incarnation_counter;
		for (i = 0; i < scope->nzones; i++)
			scope->zones[i]->incarnation = ++incarnation_counter;
	}
	pthread_mutex_unlock(&scope_lock);
	emu_store_gen++;
	pthread_rwlock_unlock(&emu_store_lock);
}

EmuScope *
emu_scope_first(void)
{
	return scopes;
}

static void
emu_zone_free(EmuZone *zone)
{
	emu_zone_free_contents(zone);
	emu_map_free(&zone->records, NULL);
	emu_map_free(&zone->backrefs, NULL);
	free(zone->name);
	free(zone->owner);
	free(zone);
}

/* Drop everything: reset and exit.  Caller holds the write lock. */
void
emu_store_clear(void)
{
	EmuScope   *scope = scopes;
	EmuSchemaSet *set = schema_sets;

	emu_share_clear();			/* shares point at the zones freed here */
	while (scope != NULL)
	{
		EmuScope   *next = scope->next;
		int			i;

		for (i = 0; i < scope->nzones; i++)
			emu_zone_free(scope->zones[i]);
		free(scope->zones);
		free(scope->container);
		free(scope->environment);
		free(scope->database);
		free(scope->owner);
		free(scope);
		scope = next;
	}
	scopes = NULL;
	scopes_tail = &scopes;
	while (set != NULL)
	{
		EmuSchemaSet *next = set->next;

		emu_schema_free_set(set);
		set = next;
	}
	schema_sets = NULL;
	emu_store_free_gen++;
	emu_store_bump();
}

/* ---------------------------------------------------------------- zones */

/* Live, and not the shared database's default zone (it has none). */
bool
emu_zone_visible(const EmuZone *zone)
{
	return !zone->deleted &&
		!(zone->is_default && strcmp(zone->scope->database, "shared") == 0);
}

EmuZone *
emu_zone_find(EmuScope *scope, const char *name, const char *owner)
{
	int			i;

	if (owner != NULL && strcmp(owner, "__defaultOwner__") == 0)
		owner = NULL;
	if (emu_share_active)
	{
		/* the shared database: another user's zone shared with the caller */
		EmuZone    *shared = emu_share_zone_find(scope, name, owner);

		if (shared != NULL)
			return shared;
	}
	for (i = 0; i < scope->nzones; i++)
	{
		EmuZone    *zone = scope->zones[i];

		if (!emu_zone_visible(zone) || strcmp(zone->name, name) != 0)
			continue;
		if (owner != NULL && *owner != '\0' && strcmp(owner, zone->owner) != 0)
			continue;
		return zone;
	}
	return NULL;
}

static void
emu_scope_changed(EmuZone *zone)
{
	zone->scope->seq++;
	zone->db_seq = zone->scope->seq;
}

/* Create (or revive) a custom zone.  Caller holds the write lock. */
EmuZone *
emu_zone_create(EmuScope *scope, const char *name, const char *owner)
{
	EmuZone    *zone = NULL;
	int			i;

	for (i = 0; i < scope->nzones; i++)
	{
		if (strcmp(scope->zones[i]->name, name) == 0 &&
			strcmp(scope->zones[i]->owner, owner) == 0)
		{
			zone = scope->zones[i];
			break;
		}
	}
	if (zone != NULL && !zone->deleted)
		return zone;
	if (zone != NULL)
	{
		/* a new life for a deleted zone: old tokens must not work */
		zone->deleted = false;
		zone->incarnation = ++incarnation_counter;
		zone->life_incarnation = zone->incarnation;
		emu_map_init_borrowed(&zone->records);
		emu_map_init(&zone->backrefs);
	}
	else
	{
		zone = emu_zone_new(scope, name, owner, false);
		if ((scope->nzones & (scope->nzones - 1)) == 0 && scope->nzones >= 4)
			scope->zones = emu_realloc(scope->zones, sizeof(EmuZone *) * scope->nzones * 2);
		scope->zones[scope->nzones++] = zone;
	}
	zone->created_serial = emu_next_serial();
	emu_scope_changed(zone);
	emu_store_bump();
	return zone;
}

static void
emu_record_free(EmuRecord *rec)
{
	emu_fields_free(rec->fields, rec->nfields);
	free(rec);
}

static void
emu_reflist_free(void *p)
{
	EmuRefList *list = p;

	free(list->srcs);
	free(list);
}

static void
emu_record_free_cb(void *p)
{
	emu_record_free(p);
}

static void
emu_zone_free_contents(EmuZone *zone)
{
	emu_map_free(&zone->records, emu_record_free_cb);
	emu_map_free(&zone->backrefs, emu_reflist_free);
	free(zone->order);
	free(zone->log);
	zone->order = NULL;
	zone->log = NULL;
	zone->norder = zone->cap_order = zone->nholes = 0;
	zone->nlog = zone->cap_log = 0;
	zone->nstale = 0;
	zone->seq = 0;
}

/* Delete a custom zone and its records.  Caller holds the write lock. */
void
emu_zone_delete(EmuZone *zone)
{
	emu_zone_free_contents(zone);
	zone->deleted = true;
	emu_scope_changed(zone);
	emu_store_free_gen++;
	emu_store_bump();
}

/* ---------------------------------------------------------------- records */

EmuRecord *
emu_record_find(EmuZone *zone, const char *name)
{
	EmuRecord  *rec = emu_map_get(&zone->records, name);

	return (rec != NULL && !rec->deleted) ? rec : NULL;
}

EmuField *
emu_record_field(const EmuRecord *rec, const char *name)
{
	int			i;

	for (i = 0; i < rec->nfields; i++)
	{
		if (strcmp(rec->fields[i].name, name) == 0)
			return &rec->fields[i];
	}
	return NULL;
}

void
emu_fields_free(EmuField *fields, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		emu_value_free(&fields[i].v);
	free(fields);
}

EmuRefList *
emu_backrefs(EmuZone *zone, const char *target)
{
	return emu_map_get(&zone->backrefs, target);
}

/* Call fn for every VALIDATE/DELETE_SELF reference of rec into its own zone. */
static void
emu_record_refs(EmuRecord *rec, bool add)
{
	EmuZone    *zone = rec->zone;
	int			i,
				j;

	for (i = 0; i < rec->nfields; i++)
	{
		EmuValue   *v = &rec->fields[i].v;

		if (v->type.elem != CK_TYPE_REFERENCE)
			continue;
		for (j = 0; j < v->n; j++)
		{
			EmuScalar  *s = &v->items[j];
			EmuRefList *list;

			if (s->u.ref.action == EMU_REF_NONE)
				continue;
			if (s->u.ref.zone != NULL && strcmp(s->u.ref.zone, zone->name) != 0)
				continue;
			list = emu_map_get(&zone->backrefs, s->s);
			if (add)
			{
				if (list == NULL)
				{
					list = emu_malloc(sizeof(EmuRefList));
					memset(list, 0, sizeof(*list));
					emu_map_put(&zone->backrefs, s->s, list);
				}
				if (list->n == list->cap)
				{
					list->cap = list->cap ? list->cap * 2 : 4;
					list->srcs = emu_realloc(list->srcs, sizeof(EmuRecord *) * list->cap);
				}
				list->srcs[list->n++] = rec;
			}
			else if (list != NULL)
			{
				int			k;

				for (k = 0; k < list->n; k++)
				{
					if (list->srcs[k] == rec)
					{
						list->srcs[k] = list->srcs[--list->n];
						break;
					}
				}
				if (list->n == 0)
				{
					emu_map_remove(&zone->backrefs, s->s);
					emu_reflist_free(list);
				}
			}
		}
	}
}

static void
emu_zone_compact(EmuZone *zone)
{
	size_t		i,
				j;

	if (emu_batch_active())
		return;
	if (zone->norder > 64 && zone->nholes > zone->norder / 2)
	{
		for (i = 0, j = 0; i < zone->norder; i++)
		{
			if (zone->order[i] == NULL)
				continue;
			zone->order[j] = zone->order[i];
			zone->order[j]->order_idx = j;
			j++;
		}
		zone->norder = j;
		zone->nholes = 0;
	}
	if (zone->nlog > 64 && zone->nstale > zone->nlog / 2)
	{
		for (i = 0, j = 0; i < zone->nlog; i++)
		{
			if (zone->log[i].rec->seq != zone->log[i].seq)
				continue;
			zone->log[j++] = zone->log[i];
		}
		zone->nlog = j;
		zone->nstale = 0;
	}
}

static void
emu_log_append(EmuRecord *rec)
{
	EmuZone    *zone = rec->zone;

	if (zone->nlog == zone->cap_log)
	{
		zone->cap_log = zone->cap_log ? zone->cap_log * 2 : 64;
		zone->log = emu_realloc(zone->log, sizeof(EmuLogEntry) * zone->cap_log);
	}
	/* the record's previous entry, if any, is now superseded */
	if (rec->seq != 0)
		zone->nstale++;
	rec->seq = ++zone->seq;
	emu_index_note_write(rec);
	zone->log[zone->nlog].seq = rec->seq;
	zone->log[zone->nlog].rec = rec;
	zone->nlog++;
	emu_scope_changed(zone);
	emu_store_bump();
}

static void
emu_order_append(EmuRecord *rec)
{
	EmuZone    *zone = rec->zone;

	if (zone->norder == zone->cap_order)
	{
		zone->cap_order = zone->cap_order ? zone->cap_order * 2 : 64;
		zone->order = emu_realloc(zone->order, sizeof(EmuRecord *) * zone->cap_order);
	}
	rec->order_idx = zone->norder;
	zone->order[zone->norder++] = rec;
}

/*
 * Save a record: create it (or revive its tombstone) or give it new fields.
 * Takes ownership of fields.  Caller holds the write lock and has checked
 * everything: this cannot fail.
 */
EmuRecord *
emu_record_put(EmuZone *zone, const char *name, const char *type,
			   EmuField *fields, int nfields, const char *user,
			   int64_t now_ms)
{
	EmuRecord  *rec = emu_map_get(&zone->records, name);

	if (rec != NULL)
		emu_batch_save(zone, rec, true);
	if (rec == NULL)
	{
		size_t		len = strlen(name) + 1;

		/* the name lives right after the record; the map borrows it */
		rec = emu_malloc(sizeof(EmuRecord) + len);
		memset(rec, 0, sizeof(*rec));
		rec->name = (char *) (rec + 1);
		memcpy(rec->name, name, len);
		rec->zone = zone;
		rec->deleted = true;	/* so that the creation branch below runs */
		emu_map_put(&zone->records, rec->name, rec);
		emu_batch_save(zone, rec, false);
	}
	if (rec->deleted)
	{
		rec->deleted = false;
		rec->created_ms = now_ms;
		rec->created_user = emu_intern(user);
		rec->serial = emu_next_serial();
		emu_order_append(rec);
	}
	else
		emu_record_refs(rec, false);

	emu_fields_free(rec->fields, rec->nfields);
	rec->fields = fields;
	rec->nfields = nfields;
	if (rec->type == NULL || strcmp(rec->type, type) != 0)
		rec->type = emu_intern(type);
	rec->modified_ms = now_ms;
	rec->modified_user = emu_intern(user);
	emu_new_change_tag(rec->tag);
	emu_record_refs(rec, true);
	emu_log_append(rec);
	emu_zone_compact(zone);
	return rec;
}

/* Turn a live record into a tombstone.  Caller holds the write lock. */
void
emu_record_delete(EmuRecord *rec, int64_t now_ms)
{
	EmuZone    *zone = rec->zone;

	emu_batch_save(zone, rec, true);
	emu_record_refs(rec, false);
	emu_fields_free(rec->fields, rec->nfields);
	rec->fields = NULL;
	rec->nfields = 0;
	rec->deleted = true;
	rec->modified_ms = now_ms;
	if (rec->order_idx < zone->norder && zone->order[rec->order_idx] == rec)
	{
		zone->order[rec->order_idx] = NULL;
		zone->nholes++;
	}
	emu_log_append(rec);
	emu_zone_compact(zone);
}

/* A record changed outside emu_record_put (seed metadata): just invalidate caches. */
void
emu_record_touch(EmuRecord *rec)
{
	(void) rec;
	emu_store_bump();
}

/* ---------------------------------------------------------------- atomic batches */

typedef struct EmuUndo
{
	EmuRecord  *rec;
	bool		existed;
	EmuRecord	saved;			/* deep copy of the state before the batch */
} EmuUndo;

typedef struct EmuZoneUndo
{
	EmuZone    *zone;
	int64_t		seq;
	int64_t		db_seq;
	int64_t		scope_seq;
	size_t		nlog;
	size_t		nstale;
	size_t		norder;
	size_t		nholes;
} EmuZoneUndo;

static bool batch_active;
static uint64_t batch_id;
static EmuUndo *undos;
static int	nundos,
			cap_undos;
static EmuZoneUndo zone_undos[8];
static int	nzone_undos;

bool
emu_batch_active(void)
{
	return batch_active;
}

void
emu_batch_begin(void)
{
	batch_active = true;
	batch_id++;
	nundos = 0;
	nzone_undos = 0;
}

void
emu_batch_save(EmuZone *zone, EmuRecord *rec, bool existed)
{
	EmuUndo    *u;
	int			i;

	if (!batch_active || rec->undo_batch == batch_id)
		return;
	rec->undo_batch = batch_id;

	for (i = 0; i < nzone_undos; i++)
		if (zone_undos[i].zone == zone)
			break;
	if (i == nzone_undos && nzone_undos < 8)
	{
		EmuZoneUndo *z = &zone_undos[nzone_undos++];

		z->zone = zone;
		z->seq = zone->seq;
		z->db_seq = zone->db_seq;
		z->scope_seq = zone->scope->seq;
		z->nlog = zone->nlog;
		z->nstale = zone->nstale;
		z->norder = zone->norder;
		z->nholes = zone->nholes;
	}

	if (nundos == cap_undos)
	{
		cap_undos = cap_undos ? cap_undos * 2 : 32;
		undos = emu_realloc(undos, sizeof(EmuUndo) * cap_undos);
	}
	u = &undos[nundos++];
	u->rec = rec;
	u->existed = existed;
	u->saved = *rec;
	if (existed)
	{
		u->saved.fields = emu_malloc(sizeof(EmuField) * (rec->nfields > 0 ? rec->nfields : 1));
		for (i = 0; i < rec->nfields; i++)
		{
			u->saved.fields[i].name = rec->fields[i].name;
			emu_value_copy(&u->saved.fields[i].v, &rec->fields[i].v);
		}
	}
	else
	{
		u->saved.type = NULL;
		u->saved.created_user = NULL;
		u->saved.modified_user = NULL;
		u->saved.fields = NULL;
		u->saved.nfields = 0;
	}
}

static void
emu_undo_free(EmuUndo *u)
{
	emu_fields_free(u->saved.fields, u->saved.nfields);
}

void
emu_batch_commit(void)
{
	int			i;

	for (i = 0; i < nundos; i++)
		emu_undo_free(&undos[i]);
	nundos = 0;
	batch_active = false;
	for (i = 0; i < nzone_undos; i++)
		emu_zone_compact(zone_undos[i].zone);
	nzone_undos = 0;
}

void
emu_batch_rollback(void)
{
	int			i;

	for (i = nundos - 1; i >= 0; i--)
	{
		EmuUndo    *u = &undos[i];
		EmuRecord  *rec = u->rec;
		EmuZone    *zone = rec->zone;

		if (!rec->deleted)
		{
			emu_record_refs(rec, false);
			if (rec->order_idx < zone->norder && zone->order[rec->order_idx] == rec)
				zone->order[rec->order_idx] = NULL;
		}
		if (!u->existed)
		{
			emu_map_remove(&zone->records, rec->name);
			emu_record_free(rec);
			emu_undo_free(u);
			continue;
		}
		emu_fields_free(rec->fields, rec->nfields);
		*rec = u->saved;		/* takes over the saved fields */
		if (!rec->deleted)
		{
			zone->order[rec->order_idx] = rec;
			emu_record_refs(rec, true);
		}
	}
	nundos = 0;
	for (i = 0; i < nzone_undos; i++)
	{
		EmuZoneUndo *z = &zone_undos[i];

		z->zone->seq = z->seq;
		z->zone->db_seq = z->db_seq;
		z->zone->scope->seq = z->scope_seq;
		z->zone->nlog = z->nlog;
		z->zone->nstale = z->nstale;
		z->zone->norder = z->norder;
		z->zone->nholes = z->nholes;
	}
	nzone_undos = 0;
	batch_active = false;
	emu_store_free_gen++;		/* records created in the batch were freed */
	emu_store_bump();
}

/* ---------------------------------------------------------------- rendering */

bool
emu_keys_parse(json_object *arr, EmuKeys *keys, const EmuKeys *dflt,
			   char *err, size_t errlen)
{
	int			i,
				n;

	memset(keys, 0, sizeof(*keys));
	if (arr == NULL || json_object_is_type(arr, json_type_null))
	{
		if (dflt != NULL)
		{
			keys->all = dflt->all;
			keys->n = dflt->n;
			if (dflt->n > 0)
			{
				keys->names = emu_malloc(sizeof(char *) * dflt->n);
				memcpy(keys->names, dflt->names, sizeof(char *) * dflt->n);
			}
		}
		else
			keys->all = true;
		return true;
	}
	if (!json_object_is_type(arr, json_type_array))
	{
		snprintf(err, errlen, "desiredKeys must be an array of field names");
		return false;
	}
	n = (int) json_object_array_length(arr);
	keys->names = emu_malloc(sizeof(char *) * (n > 0 ? n : 1));
	for (i = 0; i < n; i++)
	{
		json_object *k = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(k, json_type_string))
		{
			free(keys->names);
			keys->names = NULL;
			snprintf(err, errlen, "desiredKeys must be an array of field names");
			return false;
		}
		keys->names[i] = json_object_get_string(k);
	}
	keys->n = n;
	keys->all = false;
	return true;
}

void
emu_keys_free(EmuKeys *keys)
{
	free(keys->names);
	keys->names = NULL;
	keys->n = 0;
}

static bool
emu_keys_want(const EmuKeys *keys, const char *name)
{
	int			i;

	if (keys == NULL || keys->all)
		return true;
	for (i = 0; i < keys->n; i++)
		if (strcmp(keys->names[i], name) == 0)
			return true;
	return false;
}

void
emu_render_zone_id(CkBuf *buf, const EmuZone *zone)
{
	emu_lit(buf, "{\"zoneName\":");
	emu_json_string(buf, zone->name);
	emu_lit(buf, ",\"ownerRecordName\":");
	emu_json_string(buf, zone->owner);
	if (zone->is_default)
		emu_lit(buf, ",\"zoneType\":\"DEFAULT_ZONE\"}");
	else
		emu_lit(buf, ",\"zoneType\":\"REGULAR_CUSTOM_ZONE\"}");
}

void
emu_render_record(CkBuf *buf, const EmuRecord *rec, const EmuKeys *keys,
				  bool numbers_as_strings)
{
	int			i;
	bool		first = true;

	emu_lit(buf, "{\"recordName\":");
	emu_json_string(buf, rec->name);
	if (rec->deleted)
	{
		emu_lit(buf, ",\"deleted\":true}");
		return;
	}
	emu_lit(buf, ",\"recordType\":");
	emu_json_string(buf, rec->type);
	emu_lit(buf, ",\"fields\":{");
	for (i = 0; i < rec->nfields; i++)
	{
		if (!emu_keys_want(keys, rec->fields[i].name))
			continue;
		if (!first)
			emu_lit(buf, ",");
		first = false;
		emu_json_string(buf, rec->fields[i].name);
		emu_lit(buf, ":");
		emu_value_render(buf, &rec->fields[i].v, numbers_as_strings);
	}
	emu_lit(buf, "},\"pluginFields\":{},\"recordChangeTag\":");
	emu_json_string(buf, rec->tag);
	/* no printf: this runs under the store lock for every record written */
	emu_lit(buf, ",\"created\":{\"timestamp\":");
	emu_append_int64(buf, rec->created_ms);
	emu_lit(buf, ",\"userRecordName\":");
	emu_json_string(buf, rec->created_user);
	emu_lit(buf, ",\"deviceID\":\"ckemu\"},\"modified\":{\"timestamp\":");
	emu_append_int64(buf, rec->modified_ms);
	emu_lit(buf, ",\"userRecordName\":");
	emu_json_string(buf, rec->modified_user);
	emu_lit(buf, ",\"deviceID\":\"ckemu\"},\"deleted\":false");
	emu_share_render_extras(buf, rec);
	emu_lit(buf, ",\"zoneID\":");
	emu_render_zone_id(buf, rec->zone);
	emu_lit(buf, "}");
}

void
emu_render_record_error(CkBuf *buf, const char *record_name,
						const char *code, const char *reason)
{
	char		uuid[37];

	ck_uuid_v4(uuid);
	emu_lit(buf, "{\"recordName\":");
	emu_json_string(buf, record_name ? record_name : "");
	emu_lit(buf, ",\"reason\":");
	emu_json_string(buf, reason);
	ck_buf_appendf(buf, ",\"serverErrorCode\":\"%s\",\"uuid\":\"%s\"}", code, uuid);
}

/* A zone ID dict: zoneName required, ownerRecordName optional. */
bool
emu_parse_zone_id(json_object *zid, const char **name, const char **owner,
				  char *err, size_t errlen)
{
	json_object *zn,
			   *zo;

	*name = "_defaultZone";
	*owner = NULL;
	if (zid == NULL || json_object_is_type(zid, json_type_null))
		return true;
	if (!json_object_is_type(zid, json_type_object))
	{
		snprintf(err, errlen, "zoneID must be a dictionary");
		return false;
	}
	zn = emu_get(zid, "zoneName");
	if (zn == NULL || !json_object_is_type(zn, json_type_string) ||
		json_object_get_string_len(zn) == 0)
	{
		snprintf(err, errlen, "zoneID needs a zoneName string");
		return false;
	}
	*name = json_object_get_string(zn);
	zo = emu_get(zid, "ownerRecordName");
	if (zo != NULL && !json_object_is_type(zo, json_type_null))
	{
		if (!json_object_is_type(zo, json_type_string))
		{
			snprintf(err, errlen, "zoneID ownerRecordName must be a string");
			return false;
		}
		*owner = json_object_get_string(zo);
	}
	return true;
}

/*
 * The zone a request names (the default zone when zone_id is absent).
 * With report, a bad or missing zone is answered; otherwise NULL is
 * returned quietly.
 */
EmuZone *
emu_resolve_zone(EmuRequest *req, json_object *zone_id, bool report)
{
	const char *name,
			   *owner;
	char		err[256];
	EmuZone    *zone;

	if (!emu_parse_zone_id(zone_id, &name, &owner, err, sizeof(err)))
	{
		if (report)
			emu_error(req, "BAD_REQUEST", "%s", err);
		return NULL;
	}
	zone = emu_zone_find(req->scope, name, owner);
	if (zone == NULL && report)
		emu_error(req, "ZONE_NOT_FOUND", "Zone '%s' does not exist", name);
	return zone;
}
