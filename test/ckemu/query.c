/*-------------------------------------------------------------------------
 *
 * query.c
 *		records/query: filters, sorts, paging (fact sheet section 4).
 *
 * A query is compiled first (type, fields, value types, indexes: the
 * order in which CloudKit reports problems), then run over the zone's
 * records in creation order, then sorted (stable: ties keep creation
 * order).  The full result is kept as a snapshot (see below), so that
 * following a continuationMarker through a large result costs one page of
 * work per page instead of a fresh filter and sort.  The marker holds the
 * query's fingerprint, the snapshot, the offset and the last record
 * returned: a marker sent with a different query is refused.
 *
 * STRING equality (EQUALS, NOT_EQUALS, IN, NOT_IN and the list
 * membership comparators) is case-insensitive by default, as the native
 * CKQuery documentation describes string equality; BEGINS_WITH and the
 * range comparators compare bytes, case-sensitively.  --string-equals
 * case-sensitive switches equality to bytes too.
 *
 * LIST_MEMBER_BEGINS_WITH matches when any member begins with the value
 * (Apple's text says "first item"; any member is what clients expect).
 *
 * A record without the filtered field matches no comparator, the NOT_
 * ones included.  In sorts, records without the field come last in
 * ascending order and first in descending order.
 *
 * test/ckemu/query.c
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckemu.h"

typedef enum EmuCmp
{
	CMP_EQUALS,
	CMP_NOT_EQUALS,
	CMP_LESS_THAN,
	CMP_LESS_THAN_OR_EQUALS,
	CMP_GREATER_THAN,
	CMP_GREATER_THAN_OR_EQUALS,
	CMP_NEAR,
	CMP_CONTAINS_ALL_TOKENS,
	CMP_CONTAINS_ANY_TOKENS,
	CMP_IN,
	CMP_NOT_IN,
	CMP_LIST_CONTAINS,
	CMP_NOT_LIST_CONTAINS,
	CMP_NOT_LIST_CONTAINS_ANY,
	CMP_LIST_CONTAINS_ALL,
	CMP_NOT_LIST_CONTAINS_ALL,
	CMP_BEGINS_WITH,
	CMP_NOT_BEGINS_WITH,
	CMP_LIST_MEMBER_BEGINS_WITH,
	CMP_NOT_LIST_MEMBER_BEGINS_WITH,
	CMP_LIST_CONTAINS_ANY
} EmuCmp;

static const char *const cmp_names[] = {
	"EQUALS", "NOT_EQUALS", "LESS_THAN", "LESS_THAN_OR_EQUALS", "GREATER_THAN",
	"GREATER_THAN_OR_EQUALS", "NEAR", "CONTAINS_ALL_TOKENS", "CONTAINS_ANY_TOKENS",
	"IN", "NOT_IN", "LIST_CONTAINS", "NOT_LIST_CONTAINS", "NOT_LIST_CONTAINS_ANY",
	"LIST_CONTAINS_ALL", "NOT_LIST_CONTAINS_ALL", "BEGINS_WITH", "NOT_BEGINS_WITH",
	"LIST_MEMBER_BEGINS_WITH", "NOT_LIST_MEMBER_BEGINS_WITH", "LIST_CONTAINS_ANY"
};

#define NCMP ((int) (sizeof(cmp_names) / sizeof(cmp_names[0])))

typedef enum EmuSys
{
	SYS_NONE = 0,
	SYS_RECORD_NAME,
	SYS_CREATED_TS,
	SYS_MODIFIED_TS,
	SYS_CREATED_BY,
	SYS_MODIFIED_BY,
	SYS_SHARE,
	SYS_PARENT,
	SYS_ETAG
} EmuSys;

/* systemFieldName, the schema's ___ name, and the wire type */
static const struct
{
	EmuSys		sys;
	const char *wire;
	const char *schema;
	CkScalarType type;
}			sys_fields[] = {
	{SYS_RECORD_NAME, "recordName", "___recordID", CK_TYPE_REFERENCE},
	{SYS_CREATED_TS, "createdTimestamp", "___createTime", CK_TYPE_TIMESTAMP},
	{SYS_MODIFIED_TS, "modifiedTimestamp", "___modTime", CK_TYPE_TIMESTAMP},
	{SYS_CREATED_BY, "createdUserRecordName", "___createdBy", CK_TYPE_REFERENCE},
	{SYS_MODIFIED_BY, "modifiedUserRecordName", "___modifiedBy", CK_TYPE_REFERENCE},
	{SYS_SHARE, "share", "___share", CK_TYPE_REFERENCE},
	{SYS_PARENT, "parent", "___parent", CK_TYPE_REFERENCE},
	{SYS_ETAG, NULL, "___etag", CK_TYPE_STRING},
};

#define NSYS ((int) (sizeof(sys_fields) / sizeof(sys_fields[0])))

typedef struct EmuFilter
{
	EmuCmp		cmp;
	const char *field;			/* field name, or the ___ name of a system field */
	EmuSys		sys;
	CkFieldType ftype;
	EmuValue	value;
	double		distance;		/* NEAR, metres */
	char	  **tokens;			/* token comparators */
	int			ntokens;
	bool		all_searchable; /* token comparator without a field */
	bool		never;			/* a field nobody has written (permissive mode) */
} EmuFilter;

typedef struct EmuSort
{
	const char *field;
	EmuSys		sys;
	CkFieldType ftype;
	bool		ascending;
	bool		relative;		/* LOCATION sorted by distance */
	double		rlat;
	double		rlon;
} EmuSort;

typedef struct EmuQuery
{
	const char *record_type;
	EmuFilter  *filters;
	int			nfilters;
	EmuSort    *sorts;
	int			nsorts;
	const char *creator_only;	/* only records this user created (_creator READ) */
	EmuSchemaSet *set;
} EmuQuery;

/* ---------------------------------------------------------------- result snapshots */

/*
 * A query's full, sorted result is kept as a snapshot of record pointers.
 * A first page reuses a snapshot only while nothing at all has been
 * written since; a continuationMarker names its snapshot, which stays
 * usable across later writes (records deleted since are skipped), because
 * records are freed only by a zone deletion, a reset or a rolled-back
 * create, and those bump emu_store_free_gen.  Without this, a client that
 * deletes the rows of one page before asking for the next would skip
 * records, as offsets into a recomputed result would shift.
 */
#define NCACHE 16

typedef struct EmuCacheEntry
{
	uint64_t	id;				/* 0: empty slot */
	uint64_t	fingerprint;
	uint64_t	gen;			/* emu_store_gen when computed */
	uint64_t	free_gen;		/* emu_store_free_gen when computed */
	EmuRecord **recs;
	size_t		n;
	uint64_t	used;
} EmuCacheEntry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static EmuCacheEntry cache[NCACHE];
static uint64_t cache_clock;
static uint64_t cache_next_id;

/* A page cut from a result: where it starts, ends, and whether more follow. */
typedef struct EmuPage
{
	EmuRecord **recs;
	size_t		n;
	size_t		next;			/* offset after the page */
	bool		more;
	uint64_t	snapshot;		/* the snapshot the next marker names */
} EmuPage;

void
emu_query_cache_clear(void)
{
	int			i;

	pthread_mutex_lock(&cache_lock);
	for (i = 0; i < NCACHE; i++)
	{
		free(cache[i].recs);
		memset(&cache[i], 0, sizeof(cache[i]));
	}
	pthread_mutex_unlock(&cache_lock);
}

/*
 * Fill page from recs[offset..], skipping records deleted (or retyped by a
 * re-creation) since the snapshot was taken.
 */
static void
emu_cut_page(EmuRecord **recs, size_t n, size_t offset, size_t limit,
			 const char *record_type, EmuPage *page)
{
	size_t		i = offset;

	page->n = 0;
	while (i < n && page->n < limit)
	{
		EmuRecord  *rec = recs[i++];

		if (rec->deleted || strcmp(rec->type, record_type) != 0)
			continue;
		page->recs[page->n++] = rec;
	}
	while (i < n && (recs[i]->deleted || strcmp(recs[i]->type, record_type) != 0))
		i++;
	page->next = i;
	page->more = (i < n);
}

/*
 * Serve a page from a snapshot: the one a marker names (snapshot != 0), or
 * for a first page one computed with nothing written since.
 */
static bool
emu_cache_page(uint64_t fp, uint64_t snapshot, size_t offset, size_t limit,
			   const char *record_type, EmuPage *page)
{
	int			i;
	bool		found = false;

	pthread_mutex_lock(&cache_lock);
	for (i = 0; i < NCACHE; i++)
	{
		EmuCacheEntry *e = &cache[i];

		if (e->id == 0 || e->fingerprint != fp || e->free_gen != emu_store_free_gen)
			continue;
		if (snapshot != 0 ? e->id != snapshot : e->gen != emu_store_gen)
			continue;
		emu_cut_page(e->recs, e->n, offset, limit, record_type, page);
		page->snapshot = e->id;
		e->used = ++cache_clock;
		found = true;
		break;
	}
	pthread_mutex_unlock(&cache_lock);
	return found;
}

/* Keep a freshly computed result; takes over recs.  Returns its id. */
static uint64_t
emu_cache_put(uint64_t fp, EmuRecord **recs, size_t n)
{
	int			i,
				victim = 0;
	uint64_t	id;

	pthread_mutex_lock(&cache_lock);
	for (i = 0; i < NCACHE; i++)
	{
		if (cache[i].id == 0 || cache[i].free_gen != emu_store_free_gen)
		{
			victim = i;
			break;
		}
		if (cache[i].used < cache[victim].used)
			victim = i;
	}
	free(cache[victim].recs);
	id = ++cache_next_id;
	cache[victim].id = id;
	cache[victim].fingerprint = fp;
	cache[victim].gen = emu_store_gen;
	cache[victim].free_gen = emu_store_free_gen;
	cache[victim].recs = recs;
	cache[victim].n = n;
	cache[victim].used = ++cache_clock;
	pthread_mutex_unlock(&cache_lock);
	return id;
}

/* continuationMarker: base64 of "ckemu:q:<fingerprint>:<snapshot>:<offset>:<last serial>" */
static char *
emu_marker_encode(uint64_t fp, uint64_t snapshot, size_t offset, int64_t last_serial)
{
	char		text[160];

	snprintf(text, sizeof(text), "ckemu:q:%llu:%llu:%zu:%lld", (unsigned long long) fp,
			 (unsigned long long) snapshot, offset, (long long) last_serial);
	return ck_base64_encode((const unsigned char *) text, strlen(text));
}

static bool
emu_marker_decode(const char *marker, uint64_t *fp, uint64_t *snapshot, size_t *offset,
				  int64_t *last_serial)
{
	size_t		len;
	unsigned char *raw = ck_base64_decode(marker, strlen(marker), &len);
	unsigned long long a,
				b;
	size_t		c;
	long long	d;
	int			consumed = 0;
	bool		ok;

	if (raw == NULL)
		return false;
	ok = (strlen((char *) raw) == len &&
		  sscanf((char *) raw, "ckemu:q:%llu:%llu:%zu:%lld%n", &a, &b, &c, &d, &consumed) == 4 &&
		  (size_t) consumed == len);
	free(raw);
	if (ok)
	{
		*fp = a;
		*snapshot = b;
		*offset = c;
		*last_serial = d;
	}
	return ok;
}

/* ---------------------------------------------------------------- values of records */

/*
 * The value a record has for a filter or sort field: a stored field, or a
 * system field materialised into tmp.  NULL when the record has none.
 */
static const EmuValue *
emu_record_value(const EmuRecord *rec, const char *field, EmuSys sys,
				 EmuValue *tmp, EmuScalar *tmpitem)
{
	EmuField   *f;

	if (sys == SYS_NONE)
	{
		f = emu_record_field(rec, field);
		return f ? &f->v : NULL;
	}
	memset(tmp, 0, sizeof(*tmp));
	memset(tmpitem, 0, sizeof(*tmpitem));
	tmp->n = 1;
	tmp->items = tmpitem;
	tmp->type.is_list = false;
	switch (sys)
	{
		case SYS_RECORD_NAME:
			tmp->type.elem = CK_TYPE_REFERENCE;
			tmpitem->s = rec->name;
			return tmp;
		case SYS_CREATED_TS:
			tmp->type.elem = CK_TYPE_TIMESTAMP;
			tmpitem->u.i = rec->created_ms;
			return tmp;
		case SYS_MODIFIED_TS:
			tmp->type.elem = CK_TYPE_TIMESTAMP;
			tmpitem->u.i = rec->modified_ms;
			return tmp;
		case SYS_CREATED_BY:
			tmp->type.elem = CK_TYPE_REFERENCE;
			tmpitem->s = (char *) rec->created_user;
			return tmp;
		case SYS_MODIFIED_BY:
			tmp->type.elem = CK_TYPE_REFERENCE;
			tmpitem->s = (char *) rec->modified_user;
			return tmp;
		case SYS_ETAG:
			tmp->type.elem = CK_TYPE_STRING;
			tmpitem->s = (char *) rec->tag;
			return tmp;
		default:
			return NULL;		/* no sharing: share and parent are never set */
	}
}

/* ---------------------------------------------------------------- tokens */

static bool
emu_stop_word(const char *w)
{
	static const char *const stop[] = {
		"a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is",
		"it", "of", "on", "or", "that", "the", "this", "to", "was", "with"
	};
	size_t		i;

	for (i = 0; i < sizeof(stop) / sizeof(stop[0]); i++)
		if (strcmp(stop[i], w) == 0)
			return true;
	return false;
}

/* Lower-cased words of text, English stop words left out. */
static int
emu_tokenize(const char *text, char ***out)
{
	int			n = 0,
				cap = 8;
	char	  **toks = emu_malloc(sizeof(char *) * cap);
	const unsigned char *p = (const unsigned char *) text;

	while (*p)
	{
		const unsigned char *start;
		char	   *w;
		size_t		len,
					i;

		while (*p && !(isalnum(*p) || *p >= 0x80))
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && (isalnum(*p) || *p >= 0x80))
			p++;
		len = p - start;
		w = emu_malloc(len + 1);
		for (i = 0; i < len; i++)
			w[i] = (char) tolower(start[i]);
		w[len] = '\0';
		if (emu_stop_word(w))
		{
			free(w);
			continue;
		}
		if (n == cap)
		{
			cap *= 2;
			toks = emu_realloc(toks, sizeof(char *) * cap);
		}
		toks[n++] = w;
	}
	*out = toks;
	return n;
}

static void
emu_tokens_free(char **toks, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		free(toks[i]);
	free(toks);
}

static bool
emu_tokens_match(const EmuFilter *f, const EmuRecord *rec)
{
	CkBuf		text;
	char	  **toks;
	int			ntoks,
				i,
				j,
				found = 0;

	ck_buf_init(&text);
	for (i = 0; i < rec->nfields; i++)
	{
		const EmuField *fld = &rec->fields[i];

		if (fld->v.type.elem != CK_TYPE_STRING)
			continue;
		if (f->all_searchable)
		{
			EmuFieldInfo info;

			emu_schema_field(rec->zone->scope->schema, rec->type, fld->name, &info);
			if (!info.searchable)
				continue;
		}
		else if (strcmp(fld->name, f->field) != 0)
			continue;
		for (j = 0; j < fld->v.n; j++)
		{
			emu_lit(&text, " ");
			ck_buf_append(&text, fld->v.items[j].s, strlen(fld->v.items[j].s));
		}
	}
	if (text.data == NULL)
		return false;
	ntoks = emu_tokenize(text.data, &toks);
	ck_buf_free(&text);
	for (i = 0; i < f->ntokens; i++)
	{
		for (j = 0; j < ntoks; j++)
			if (strcmp(f->tokens[i], toks[j]) == 0)
				break;
		if (j < ntoks)
			found++;
	}
	emu_tokens_free(toks, ntoks);
	if (f->cmp == CMP_CONTAINS_ALL_TOKENS)
		return f->ntokens > 0 && found == f->ntokens;
	return found > 0;
}

/* ---------------------------------------------------------------- matching */

static double
emu_distance_m(double lat1, double lon1, double lat2, double lon2)
{
	const double r = 6371008.8;
	double		p1 = lat1 * M_PI / 180,
				p2 = lat2 * M_PI / 180;
	double		dp = (lat2 - lat1) * M_PI / 180,
				dl = (lon2 - lon1) * M_PI / 180;
	double		a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);

	return 2 * r * atan2(sqrt(a), sqrt(1 - a));
}

static bool
emu_in_list(CkScalarType t, const EmuScalar *x, const EmuValue *list)
{
	int			i;

	for (i = 0; i < list->n; i++)
		if (emu_scalar_eq(t, x, &list->items[i], emu_config.string_equals_ci))
			return true;
	return false;
}

static bool
emu_begins(const EmuScalar *s, const EmuScalar *prefix)
{
	return strncmp(s->s, prefix->s, strlen(prefix->s)) == 0;
}

static bool
emu_filter_match(const EmuFilter *f, const EmuRecord *rec)
{
	EmuValue	tmp;
	EmuScalar	tmpitem;
	const EmuValue *v;
	CkScalarType t = f->ftype.elem;
	const EmuScalar *q = f->value.items;
	int			i,
				c;

	if (f->never)
		return false;
	if (f->cmp == CMP_CONTAINS_ALL_TOKENS || f->cmp == CMP_CONTAINS_ANY_TOKENS)
		return emu_tokens_match(f, rec);
	v = emu_record_value(rec, f->field, f->sys, &tmp, &tmpitem);
	if (v == NULL)
		return false;
	/* a stored value of another type (permissive mode) never matches */
	if (v->type.elem != t && !(v->type.is_list && v->n == 0))
		return false;

	switch (f->cmp)
	{
		case CMP_EQUALS:
		case CMP_NOT_EQUALS:
			{
				bool		eq;

				if (f->ftype.is_list)
				{
					eq = (v->n == f->value.n);
					for (i = 0; eq && i < v->n; i++)
						eq = emu_scalar_eq(t, &v->items[i], &q[i], emu_config.string_equals_ci);
				}
				else
					eq = emu_scalar_eq(t, &v->items[0], &q[0], emu_config.string_equals_ci);
				return f->cmp == CMP_EQUALS ? eq : !eq;
			}
		case CMP_LESS_THAN:
		case CMP_LESS_THAN_OR_EQUALS:
		case CMP_GREATER_THAN:
		case CMP_GREATER_THAN_OR_EQUALS:
			c = emu_scalar_cmp(t, &v->items[0], &q[0]);
			switch (f->cmp)
			{
				case CMP_LESS_THAN:
					return c < 0;
				case CMP_LESS_THAN_OR_EQUALS:
					return c <= 0;
				case CMP_GREATER_THAN:
					return c > 0;
				default:
					return c >= 0;
			}
		case CMP_IN:
			return emu_in_list(t, &v->items[0], &f->value);
		case CMP_NOT_IN:
			return !emu_in_list(t, &v->items[0], &f->value);
		case CMP_LIST_CONTAINS:
		case CMP_NOT_LIST_CONTAINS:
			{
				bool		any = false;

				for (i = 0; i < v->n && !any; i++)
					any = emu_scalar_eq(t, &v->items[i], &q[0], emu_config.string_equals_ci);
				return f->cmp == CMP_LIST_CONTAINS ? any : !any;
			}
		case CMP_LIST_CONTAINS_ANY:
		case CMP_NOT_LIST_CONTAINS_ANY:
			{
				bool		any = false;

				for (i = 0; i < v->n && !any; i++)
					any = emu_in_list(t, &v->items[i], &f->value);
				return f->cmp == CMP_LIST_CONTAINS_ANY ? any : !any;
			}
		case CMP_LIST_CONTAINS_ALL:
		case CMP_NOT_LIST_CONTAINS_ALL:
			{
				bool		all = true;

				for (i = 0; i < f->value.n && all; i++)
					all = emu_in_list(t, &q[i], v);
				return f->cmp == CMP_LIST_CONTAINS_ALL ? all : !all;
			}
		case CMP_BEGINS_WITH:
			return emu_begins(&v->items[0], &q[0]);
		case CMP_NOT_BEGINS_WITH:
			return !emu_begins(&v->items[0], &q[0]);
		case CMP_LIST_MEMBER_BEGINS_WITH:
		case CMP_NOT_LIST_MEMBER_BEGINS_WITH:
			{
				bool		any = false;

				for (i = 0; i < v->n && !any; i++)
					any = emu_begins(&v->items[i], &q[0]);
				return f->cmp == CMP_LIST_MEMBER_BEGINS_WITH ? any : !any;
			}
		case CMP_NEAR:
			return emu_distance_m(v->items[0].u.loc.lat, v->items[0].u.loc.lon,
								  q[0].u.loc.lat, q[0].u.loc.lon) <= f->distance;
		default:
			return false;
	}
}

/* ---------------------------------------------------------------- sorting */

static int
emu_sort_cmp(const void *pa, const void *pb, void *arg)
{
	const EmuQuery *q = arg;
	const EmuRecord *a = *(EmuRecord *const *) pa;
	const EmuRecord *b = *(EmuRecord *const *) pb;
	int			i;

	for (i = 0; i < q->nsorts; i++)
	{
		const EmuSort *s = &q->sorts[i];
		EmuValue	ta,
					tb;
		EmuScalar	ia,
					ib;
		const EmuValue *va = emu_record_value(a, s->field, s->sys, &ta, &ia);
		const EmuValue *vb = emu_record_value(b, s->field, s->sys, &tb, &ib);
		int			c;

		if (va != NULL && (va->type.elem != s->ftype.elem || va->n == 0))
			va = NULL;
		if (vb != NULL && (vb->type.elem != s->ftype.elem || vb->n == 0))
			vb = NULL;
		if (va == NULL || vb == NULL)
		{
			if (va == vb)
				continue;
			/* missing values: last ascending, first descending */
			c = (va == NULL) ? 1 : -1;
			return s->ascending ? c : -c;
		}
		if (s->relative)
		{
			double		da = emu_distance_m(va->items[0].u.loc.lat, va->items[0].u.loc.lon,
											s->rlat, s->rlon);
			double		db = emu_distance_m(vb->items[0].u.loc.lat, vb->items[0].u.loc.lon,
											s->rlat, s->rlon);

			c = (da > db) - (da < db);
		}
		else
			c = emu_scalar_cmp(s->ftype.elem, &va->items[0], &vb->items[0]);
		if (c != 0)
			return s->ascending ? c : -c;
	}
	return (a->serial > b->serial) - (a->serial < b->serial);
}

/* ---------------------------------------------------------------- compiling */

static void
emu_query_free(EmuQuery *q)
{
	int			i;

	for (i = 0; i < q->nfilters; i++)
	{
		emu_value_free(&q->filters[i].value);
		emu_tokens_free(q->filters[i].tokens, q->filters[i].ntokens);
	}
	free(q->filters);
	free(q->sorts);
}

/*
 * Which field a filter or sort names: fieldName (a ___ system name is
 * accepted too) or systemFieldName.  Fills field/sys/ftype and, in info,
 * the indexes.  Answers and returns false on an unknown field.
 */
static bool
emu_resolve_field(EmuRequest *req, EmuQuery *q, json_object *item, bool tokens_ok,
				  const char **field, EmuSys *sys, CkFieldType *ftype,
				  EmuFieldInfo *info, bool *none)
{
	json_object *fn = emu_get(item, "fieldName");
	json_object *sfn = emu_get(item, "systemFieldName");
	int			i;

	*none = false;
	*sys = SYS_NONE;
	if (sfn != NULL && !json_object_is_type(sfn, json_type_null))
	{
		const char *name;

		if (!json_object_is_type(sfn, json_type_string))
		{
			emu_error(req, "BAD_REQUEST", "systemFieldName must be a string");
			return false;
		}
		name = json_object_get_string(sfn);
		for (i = 0; i < NSYS; i++)
			if (sys_fields[i].wire && strcmp(sys_fields[i].wire, name) == 0)
				break;
		if (i == NSYS)
		{
			emu_error(req, "BAD_REQUEST", "Unknown systemFieldName '%s'", name);
			return false;
		}
		*sys = sys_fields[i].sys;
		*field = sys_fields[i].schema;
	}
	else if (fn != NULL && !json_object_is_type(fn, json_type_null))
	{
		if (!json_object_is_type(fn, json_type_string) || json_object_get_string_len(fn) == 0)
		{
			emu_error(req, "BAD_REQUEST", "fieldName must be a non-empty string");
			return false;
		}
		*field = json_object_get_string(fn);
		for (i = 0; i < NSYS; i++)
			if (strcmp(sys_fields[i].schema, *field) == 0)
				*sys = sys_fields[i].sys;
	}
	else if (tokens_ok)
	{
		*none = true;
		*field = NULL;
		return true;
	}
	else
	{
		emu_error(req, "BAD_REQUEST", "A filter or sort needs fieldName or systemFieldName");
		return false;
	}

	if (!emu_schema_field(q->set, q->record_type, *field, info) && !emu_schema_permissive(q->set))
	{
		emu_error(req, "BAD_REQUEST", "Did not find record type: %s", q->record_type);
		return false;
	}
	if (!info->known)
	{
		if (!emu_schema_permissive(q->set))
		{
			emu_error(req, "BAD_REQUEST", "Did not find field: '%s' in type: '%s'",
					  *field, q->record_type);
			return false;
		}
		/* permissive: nobody wrote this field yet, so nothing matches */
		ftype->elem = CK_TYPE_UNKNOWN;
		ftype->is_list = false;
		return true;
	}
	*ftype = info->type;
	return true;
}

/* Reference-typed system fields accept a bare record name, as a convenience. */
static json_object *
emu_system_value(json_object *value, EmuSys sys, bool list)
{
	int			i,
				n;
	json_object *arr;

	if (sys != SYS_RECORD_NAME && sys != SYS_CREATED_BY && sys != SYS_MODIFIED_BY &&
		sys != SYS_SHARE && sys != SYS_PARENT)
		return json_object_get(value);
	if (!list && json_object_is_type(value, json_type_string))
	{
		json_object *o = json_object_new_object();

		json_object_object_add(o, "recordName", json_object_get(value));
		return o;
	}
	if (!list || !json_object_is_type(value, json_type_array))
		return json_object_get(value);
	n = (int) json_object_array_length(value);
	arr = json_object_new_array();
	for (i = 0; i < n; i++)
	{
		json_object *e = json_object_array_get_idx(value, i);

		if (json_object_is_type(e, json_type_string))
		{
			json_object *o = json_object_new_object();

			json_object_object_add(o, "recordName", json_object_get(e));
			json_object_array_add(arr, o);
		}
		else
			json_object_array_add(arr, json_object_get(e));
	}
	return arr;
}

static bool
emu_compile_filter(EmuRequest *req, EmuQuery *q, json_object *item, EmuFilter *f)
{
	json_object *jc = emu_get(item, "comparator");
	json_object *fv = emu_get(item, "fieldValue");
	json_object *value,
			   *jtype,
			   *conv;
	const char *cname;
	EmuFieldInfo info;
	CkFieldType want;
	CkFieldType given;
	bool		need_list_field = false,
				need_scalar_field = false,
				want_list = false;
	bool		none;
	const char *index_kind;
	bool		index_ok;
	char		err[512];
	int			i;

	memset(f, 0, sizeof(*f));
	if (!json_object_is_type(item, json_type_object))
	{
		emu_error(req, "BAD_REQUEST", "Each filterBy entry must be a dictionary");
		return false;
	}
	if (jc == NULL || !json_object_is_type(jc, json_type_string))
	{
		emu_error(req, "BAD_REQUEST", "A filter needs a comparator");
		return false;
	}
	cname = json_object_get_string(jc);
	for (i = 0; i < NCMP; i++)
		if (strcmp(cmp_names[i], cname) == 0)
			break;
	if (i == NCMP)
	{
		emu_error(req, "BAD_REQUEST", "Unknown comparator '%s'", cname);
		return false;
	}
	f->cmp = (EmuCmp) i;

	if (!emu_resolve_field(req, q, item,
						   f->cmp == CMP_CONTAINS_ALL_TOKENS || f->cmp == CMP_CONTAINS_ANY_TOKENS,
						   &f->field, &f->sys, &f->ftype, &info, &none))
		return false;
	f->all_searchable = none;

	if (fv == NULL || !json_object_is_type(fv, json_type_object))
	{
		emu_error(req, "BAD_REQUEST", "A filter needs a fieldValue dictionary");
		return false;
	}
	value = emu_get(fv, "value");
	if (value == NULL || json_object_is_type(value, json_type_null))
	{
		emu_error(req, "BAD_REQUEST", "fieldValue needs a value");
		return false;
	}
	jtype = emu_get(fv, "type");
	if (jtype != NULL && json_object_is_type(jtype, json_type_null))
		jtype = NULL;
	if (jtype != NULL && (!json_object_is_type(jtype, json_type_string) ||
						  !ck_type_parse(json_object_get_string(jtype), &given)))
	{
		emu_error(req, "BAD_REQUEST", "Unknown field value type '%s'",
				  json_object_get_string(jtype));
		return false;
	}

	/* token comparators: the value is text to split into words */
	if (f->cmp == CMP_CONTAINS_ALL_TOKENS || f->cmp == CMP_CONTAINS_ANY_TOKENS)
	{
		if (!json_object_is_type(value, json_type_string))
		{
			CkFieldType st = {CK_TYPE_STRING, false};

			emu_type_mismatch(err, sizeof(err), st, value);
			emu_error(req, "BAD_REQUEST", "%s", err);
			return false;
		}
		if (!none && info.known && (f->ftype.elem != CK_TYPE_STRING))
		{
			emu_error(req, "BAD_REQUEST", "Comparator %s needs a STRING field, '%s' is %s",
					  cname, f->field, ck_type_name(f->ftype));
			return false;
		}
		if (!none && info.known && !info.searchable)
		{
			emu_error(req, "BAD_REQUEST", "Field '%s' is not marked searchable", f->field);
			return false;
		}
		f->ntokens = emu_tokenize(json_object_get_string(value), &f->tokens);
		f->value.items = NULL;
		f->value.json = emu_strdup(json_object_get_string(value));
		f->never = !none && !info.known;
		return true;
	}

	if (!info.known)
	{
		/* permissive mode, never-written field: check the value, match nothing */
		f->never = true;
		f->value.json = emu_strdup(json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN));
		return true;
	}

	/* which value type the comparator needs */
	switch (f->cmp)
	{
		case CMP_IN:
		case CMP_NOT_IN:
			need_scalar_field = true;
			want_list = true;
			break;
		case CMP_LIST_CONTAINS:
		case CMP_NOT_LIST_CONTAINS:
		case CMP_LIST_MEMBER_BEGINS_WITH:
		case CMP_NOT_LIST_MEMBER_BEGINS_WITH:
			need_list_field = true;
			break;
		case CMP_LIST_CONTAINS_ALL:
		case CMP_NOT_LIST_CONTAINS_ALL:
		case CMP_LIST_CONTAINS_ANY:
		case CMP_NOT_LIST_CONTAINS_ANY:
			need_list_field = true;
			want_list = true;
			break;
		case CMP_EQUALS:
		case CMP_NOT_EQUALS:
			want_list = f->ftype.is_list;
			break;
		default:
			need_scalar_field = true;
			break;
	}
	if ((need_list_field && !f->ftype.is_list) || (need_scalar_field && f->ftype.is_list))
	{
		emu_error(req, "BAD_REQUEST", "Comparator %s cannot be used with field '%s' of type %s",
				  cname, f->field, ck_type_name(f->ftype));
		return false;
	}
	switch (f->cmp)
	{
		case CMP_LESS_THAN:
		case CMP_LESS_THAN_OR_EQUALS:
		case CMP_GREATER_THAN:
		case CMP_GREATER_THAN_OR_EQUALS:
			if (f->ftype.elem == CK_TYPE_LOCATION || f->ftype.elem == CK_TYPE_ASSETID ||
				f->ftype.elem == CK_TYPE_BYTES)
			{
				emu_error(req, "BAD_REQUEST", "Comparator %s cannot be used with field '%s' of type %s",
						  cname, f->field, ck_type_name(f->ftype));
				return false;
			}
			break;
		case CMP_BEGINS_WITH:
		case CMP_NOT_BEGINS_WITH:
		case CMP_LIST_MEMBER_BEGINS_WITH:
		case CMP_NOT_LIST_MEMBER_BEGINS_WITH:
			if (f->ftype.elem != CK_TYPE_STRING)
			{
				emu_error(req, "BAD_REQUEST", "Comparator %s needs a STRING field, '%s' is %s",
						  cname, f->field, ck_type_name(f->ftype));
				return false;
			}
			break;
		case CMP_NEAR:
			if (f->ftype.elem != CK_TYPE_LOCATION)
			{
				emu_error(req, "BAD_REQUEST", "Comparator NEAR needs a LOCATION field, '%s' is %s",
						  f->field, ck_type_name(f->ftype));
				return false;
			}
			break;
		default:
			if (f->ftype.elem == CK_TYPE_ASSETID)
			{
				emu_error(req, "BAD_REQUEST", "Asset field '%s' cannot be used in a filter", f->field);
				return false;
			}
			break;
	}
	want.elem = f->ftype.elem;
	want.is_list = want_list;

	/*
	 * An IN value without a type is read as the field's own type, and a
	 * list then fails: the reason is the one the live service gives.
	 */
	if (jtype == NULL && (f->cmp == CMP_IN || f->cmp == CMP_NOT_IN) &&
		json_object_is_type(value, json_type_array) && f->sys == SYS_NONE)
	{
		emu_type_mismatch(err, sizeof(err), f->ftype, value);
		emu_error(req, "BAD_REQUEST", "%s", err);
		return false;
	}
	if (jtype != NULL)
	{
		bool		ok = (given.is_list == want.is_list &&
						  (given.elem == want.elem ||
						   (given.is_list && given.elem == CK_TYPE_UNKNOWN) ||
						   (want.elem == CK_TYPE_DOUBLE && given.elem == CK_TYPE_INT64) ||
						   (want.elem == CK_TYPE_REFERENCE && given.elem == CK_TYPE_STRING &&
							f->sys != SYS_NONE)));

		if (!ok)
		{
			emu_type_mismatch(err, sizeof(err), want, value);
			emu_error(req, "BAD_REQUEST", "%s", err);
			return false;
		}
	}
	conv = emu_system_value(value, f->sys, want.is_list);
	if (!emu_value_parse(conv, want, EMU_VALUE_FILTER, &f->value, err, sizeof(err)))
	{
		json_object_put(conv);
		emu_error(req, "BAD_REQUEST", "%s", err);
		return false;
	}
	json_object_put(conv);

	if (f->cmp == CMP_NEAR)
	{
		json_object *d = emu_get(item, "distance");

		if (d == NULL || !(json_object_is_type(d, json_type_int) ||
						   json_object_is_type(d, json_type_double)) ||
			json_object_get_double(d) < 0)
		{
			emu_error(req, "BAD_REQUEST", "NEAR needs a non-negative distance in metres");
			return false;
		}
		f->distance = json_object_get_double(d);
	}

	/* indexes: equality and membership need QUERYABLE, ranges SORTABLE */
	switch (f->cmp)
	{
		case CMP_LESS_THAN:
		case CMP_LESS_THAN_OR_EQUALS:
		case CMP_GREATER_THAN:
		case CMP_GREATER_THAN_OR_EQUALS:
			index_kind = "sortable";
			index_ok = info.sortable;
			break;
		default:
			index_kind = "queryable";
			index_ok = info.queryable;
			break;
	}
	if (!index_ok)
	{
		emu_error(req, "BAD_REQUEST", "Field '%s' is not marked %s", f->field, index_kind);
		return false;
	}
	return true;
}

static bool
emu_compile_sort(EmuRequest *req, EmuQuery *q, json_object *item, EmuSort *s)
{
	EmuFieldInfo info;
	json_object *asc = emu_get(item, "ascending");
	json_object *rel = emu_get(item, "relativeLocation");
	bool		none;

	memset(s, 0, sizeof(*s));
	if (!json_object_is_type(item, json_type_object))
	{
		emu_error(req, "BAD_REQUEST", "Each sortBy entry must be a dictionary");
		return false;
	}
	if (!emu_resolve_field(req, q, item, false, &s->field, &s->sys, &s->ftype, &info, &none))
		return false;
	s->ascending = true;
	if (asc != NULL && !json_object_is_type(asc, json_type_null))
	{
		if (!json_object_is_type(asc, json_type_boolean))
		{
			emu_error(req, "BAD_REQUEST", "ascending must be a boolean");
			return false;
		}
		s->ascending = json_object_get_boolean(asc);
	}
	if (!info.known)
		return true;			/* permissive, never written: all values missing */
	if (s->ftype.is_list || s->ftype.elem == CK_TYPE_ASSETID || s->ftype.elem == CK_TYPE_BYTES)
	{
		emu_error(req, "BAD_REQUEST", "Field '%s' of type %s cannot be sorted",
				  s->field, ck_type_name(s->ftype));
		return false;
	}
	if (s->ftype.elem == CK_TYPE_LOCATION)
	{
		json_object *rv = rel ? emu_get(rel, "value") : NULL;
		json_object *lat = rv ? emu_get(rv, "latitude") : NULL;
		json_object *lon = rv ? emu_get(rv, "longitude") : NULL;

		if (lat == NULL || lon == NULL ||
			!(json_object_is_type(lat, json_type_double) || json_object_is_type(lat, json_type_int)) ||
			!(json_object_is_type(lon, json_type_double) || json_object_is_type(lon, json_type_int)))
		{
			emu_error(req, "BAD_REQUEST", "Sorting by LOCATION field '%s' needs a relativeLocation",
					  s->field);
			return false;
		}
		s->relative = true;
		s->rlat = json_object_get_double(lat);
		s->rlon = json_object_get_double(lon);
	}
	if (!info.sortable)
	{
		emu_error(req, "BAD_REQUEST", "Field '%s' is not marked sortable", s->field);
		return false;
	}
	return true;
}

static uint64_t
emu_query_fingerprint(EmuRequest *req, const EmuQuery *q, EmuZone *zone, bool zone_wide)
{
	uint64_t	h = emu_hash_bytes(0, "q", 1);
	int			i;

	h = emu_hash_bytes(h, &req->scope, sizeof(req->scope));
	h = emu_hash_bytes(h, q->record_type, strlen(q->record_type) + 1);
	if (zone != NULL)
		h = emu_hash_bytes(h, &zone->incarnation, sizeof(zone->incarnation));
	h = emu_hash_bytes(h, &zone_wide, sizeof(zone_wide));
	if (q->creator_only)
		h = emu_hash_bytes(h, q->creator_only, strlen(q->creator_only) + 1);
	for (i = 0; i < q->nfilters; i++)
	{
		const EmuFilter *f = &q->filters[i];

		h = emu_hash_bytes(h, &f->cmp, sizeof(f->cmp));
		if (f->field)
			h = emu_hash_bytes(h, f->field, strlen(f->field) + 1);
		if (f->value.json)
			h = emu_hash_bytes(h, f->value.json, strlen(f->value.json) + 1);
		h = emu_hash_bytes(h, &f->distance, sizeof(f->distance));
	}
	h = emu_hash_bytes(h, "|", 1);
	for (i = 0; i < q->nsorts; i++)
	{
		const EmuSort *s = &q->sorts[i];

		h = emu_hash_bytes(h, s->field, strlen(s->field) + 1);
		h = emu_hash_bytes(h, &s->ascending, sizeof(s->ascending));
		h = emu_hash_bytes(h, &s->rlat, sizeof(s->rlat));
		h = emu_hash_bytes(h, &s->rlon, sizeof(s->rlon));
	}
	/* markers are signed-looking 63-bit numbers */
	return h & INT64_MAX;
}

/* Run the query over one zone, appending matches to *out. */
static void
emu_scan_zone(const EmuQuery *q, EmuZone *zone, EmuRecord ***out, size_t *n, size_t *cap)
{
	size_t		i;
	int			k;

	for (i = 0; i < zone->norder; i++)
	{
		EmuRecord  *rec = zone->order[i];

		if (rec == NULL || strcmp(rec->type, q->record_type) != 0)
			continue;
		if (!emu_index_visible(rec))
			continue;
		if (q->creator_only && strcmp(rec->created_user, q->creator_only) != 0)
			continue;
		for (k = 0; k < q->nfilters; k++)
			if (!emu_filter_match(&q->filters[k], rec))
				break;
		if (k < q->nfilters)
			continue;
		if (*n == *cap)
		{
			*cap = *cap ? *cap * 2 : 256;
			*out = emu_realloc(*out, sizeof(EmuRecord *) * *cap);
		}
		(*out)[(*n)++] = rec;
	}
}

void
emu_op_records_query(EmuRequest *req, json_object *body)
{
	json_object *jq = emu_get(body, "query");
	json_object *jtype,
			   *jfilters,
			   *jsorts,
			   *jlimit,
			   *jmarker;
	EmuQuery	q;
	EmuKeys		keys;
	EmuZone    *zone = NULL;
	bool		zone_wide = false;
	bool		nas = false;
	int			limit = emu_config.results_limit_max;
	size_t		offset = 0;
	uint64_t	snapshot = 0;
	int64_t		last_serial = 0;
	uint64_t	fp;
	EmuRecord **page = NULL;
	EmuPage		pg;
	size_t		i;
	char		err[256];
	int			k;

	memset(&q, 0, sizeof(q));
	memset(&keys, 0, sizeof(keys));
	q.set = req->schema;

	if (jq == NULL || !json_object_is_type(jq, json_type_object))
	{
		emu_error(req, "BAD_REQUEST", "records/query needs a query dictionary");
		return;
	}
	jtype = emu_get(jq, "recordType");
	if (jtype == NULL || !json_object_is_type(jtype, json_type_string) ||
		json_object_get_string_len(jtype) == 0)
	{
		emu_error(req, "BAD_REQUEST", "query needs a recordType");
		return;
	}
	q.record_type = json_object_get_string(jtype);

	/* paging and projection options */
	jlimit = emu_get(body, "resultsLimit");
	if (jlimit != NULL && !json_object_is_type(jlimit, json_type_null))
	{
		int64_t		v;

		if (!json_object_is_type(jlimit, json_type_int))
		{
			emu_error(req, "BAD_REQUEST", "resultsLimit must be an integer");
			return;
		}
		v = json_object_get_int64(jlimit);
		if (v <= 0)
		{
			emu_error(req, "BAD_REQUEST", "resultsLimit must be positive");
			return;
		}
		/* over the maximum: clamped, as the real service appears to do */
		limit = v > emu_config.results_limit_max ? emu_config.results_limit_max : (int) v;
	}
	if (!emu_body_bool(req, body, "numbersAsStrings", &nas) ||
		!emu_body_bool(req, body, "zoneWide", &zone_wide))
		return;
	if (!emu_keys_parse(emu_get(body, "desiredKeys"), &keys, NULL, err, sizeof(err)))
	{
		emu_error(req, "BAD_REQUEST", "%s", err);
		return;
	}

	/* zone: zoneWide only counts when no zoneID is given */
	if (emu_get(body, "zoneID") != NULL && !json_object_is_type(emu_get(body, "zoneID"), json_type_null))
		zone_wide = false;
	if (!zone_wide)
	{
		zone = emu_resolve_zone(req, emu_get(body, "zoneID"), true);
		if (zone == NULL)
			goto done;
	}

	/* the record type, its filters and sorts, and their indexes */
	if (!emu_schema_has_type(q.set, q.record_type) && !emu_schema_permissive(q.set))
	{
		emu_error(req, "BAD_REQUEST", "Did not find record type: %s", q.record_type);
		goto done;
	}
	jfilters = emu_get(jq, "filterBy");
	if (jfilters != NULL && !json_object_is_type(jfilters, json_type_null))
	{
		int			n;

		if (!json_object_is_type(jfilters, json_type_array))
		{
			emu_error(req, "BAD_REQUEST", "filterBy must be an array");
			goto done;
		}
		n = (int) json_object_array_length(jfilters);
		q.filters = emu_malloc(sizeof(EmuFilter) * (n > 0 ? n : 1));
		for (k = 0; k < n; k++)
		{
			bool		ok = emu_compile_filter(req, &q, json_object_array_get_idx(jfilters, k),
												&q.filters[k]);

			q.nfilters = k + 1;
			if (!ok)
				goto done;
		}
	}
	if (q.nfilters == 0)
	{
		EmuFieldInfo info;

		emu_schema_field(q.set, q.record_type, "___recordID", &info);
		if (!info.queryable && emu_schema_has_type(q.set, q.record_type))
		{
			emu_error(req, "BAD_REQUEST", "Field 'recordName' is not marked queryable");
			goto done;
		}
	}
	jsorts = emu_get(jq, "sortBy");
	if (jsorts != NULL && !json_object_is_type(jsorts, json_type_null))
	{
		int			n;

		if (!json_object_is_type(jsorts, json_type_array))
		{
			emu_error(req, "BAD_REQUEST", "sortBy must be an array");
			goto done;
		}
		n = (int) json_object_array_length(jsorts);
		q.sorts = emu_malloc(sizeof(EmuSort) * (n > 0 ? n : 1));
		for (k = 0; k < n; k++)
		{
			if (!emu_compile_sort(req, &q, json_object_array_get_idx(jsorts, k), &q.sorts[k]))
				goto done;
			q.nsorts = k + 1;
		}
	}

	/* grants of the public database */
	if (req->public_db)
	{
		int			rights = emu_schema_rights(q.set, q.record_type, &req->caller, false);

		if (!(rights & CK_GRANT_READ))
		{
			int			own = emu_schema_rights(q.set, q.record_type, &req->caller, true);

			if (!(own & (CK_GRANT_READ | CK_GRANT_WRITE)) &&
				emu_schema_has_type(q.set, q.record_type))
			{
				emu_error(req, "ACCESS_DENIED", "READ operation not permitted");
				goto done;
			}
			q.creator_only = req->caller.user;
		}
	}

	fp = emu_query_fingerprint(req, &q, zone, zone_wide);
	jmarker = emu_get(body, "continuationMarker");
	if (jmarker != NULL && !json_object_is_type(jmarker, json_type_null))
	{
		uint64_t	mfp;

		if (!json_object_is_type(jmarker, json_type_string) ||
			!emu_marker_decode(json_object_get_string(jmarker), &mfp, &snapshot, &offset,
							   &last_serial) ||
			mfp != fp || snapshot == 0)
		{
			emu_error(req, "BAD_REQUEST", "Invalid continuationMarker: it does not belong to this query");
			goto done;
		}
	}

	pg.recs = page = emu_malloc(sizeof(EmuRecord *) * limit);
	if (!emu_cache_page(fp, snapshot, offset, (size_t) limit, q.record_type, &pg))
	{
		EmuRecord **all = NULL;
		size_t		n = 0,
					cap = 0,
					start = 0;

		if (zone != NULL)
		{
			emu_scan_zone(&q, zone, &all, &n, &cap);
			n = emu_share_filter(req->scope, all, n);	/* record shares */
		}
		else
		{
			for (k = 0; k < req->scope->nzones; k++)
				if (emu_zone_visible(req->scope->zones[k]))
					emu_scan_zone(&q, req->scope->zones[k], &all, &n, &cap);
		}
		if (q.nsorts > 0 || zone == NULL)
			qsort_r(all, n, sizeof(EmuRecord *), emu_sort_cmp, &q);

		/* the marker's snapshot is gone: resume after its last record */
		if (snapshot != 0)
		{
			start = offset < n ? offset : n;
			for (i = 0; i < n; i++)
				if (all[i]->serial == last_serial)
				{
					start = i + 1;
					break;
				}
		}
		emu_cut_page(all, n, start, (size_t) limit, q.record_type, &pg);
		pg.snapshot = all != NULL ? emu_cache_put(fp, all, n) : 0;
	}

	emu_lit(&req->out, "{\"records\":[");
	for (i = 0; i < pg.n; i++)
	{
		if (i > 0)
			emu_lit(&req->out, ",");
		emu_render_record(&req->out, pg.recs[i], &keys, nas);
	}
	emu_lit(&req->out, "]");
	if (pg.more && pg.n > 0)
	{
		char	   *marker = emu_marker_encode(fp, pg.snapshot, pg.next,
											   pg.recs[pg.n - 1]->serial);

		emu_lit(&req->out, ",\"continuationMarker\":");
		emu_json_string(&req->out, marker);
		free(marker);
	}
	emu_lit(&req->out, "}");
	req->status = 200;
	req->answered = true;
	req->records_out = (long) pg.n;

done:
	free(page);
	emu_keys_free(&keys);
	emu_query_free(&q);
}
