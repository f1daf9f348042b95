/*-------------------------------------------------------------------------
 *
 * share.c
 *		Sharing between users: cloudkit.share records, participants,
 *		acceptance, and the shared database (fact sheet sections 3, 5, 7).
 *
 * An owner shares a custom zone of its private database either whole (a
 * zone-wide share, the record named cloudkit.zoneshare) or one record
 * hierarchy (a share whose forRecord names the root; records join the
 * hierarchy through their parent).  A share lists participants, each with
 * a type, a permission and an acceptance status, and has a public
 * permission that lets anyone holding its shortGUID join.
 *
 * A participant who accepted sees the owner's zone in its own shared
 * database, under the owner's ownerRecordName.  Nothing is copied: the
 * shared database resolves a zone to the owner's zone and checks, on every
 * request, what the share allows now, so that removing a participant
 * revokes access at once.  A record share shows only the records whose
 * parent chain reaches the root.  Writes need READ_WRITE; a READ_ONLY
 * participant gets ACCESS_DENIED naming the permission.
 *
 * Shares live here, beside the store, not as store records: they are few,
 * and the record store stays a plain record store.  Everything is guarded
 * by the store lock (writes under the write lock).
 *
 * test/ckemu/share.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ckemu.h"

/*
 * Choices where the fact sheet says "unconfirmed".
 */
/* records/accept takes {"shortGUIDs": [{"value": ...}]} and answers "results" */
#define EMU_SHARE_ACCEPT_KEY		"shortGUIDs"
/* the record name of a zone-wide share (CKRecordNameZoneWideShare) */
#define EMU_ZONE_SHARE_NAME			"cloudkit.zoneshare"
/* the record type of shares as answered (requests may spell it cloudKit.share) */
#define EMU_SHARE_TYPE				"cloudkit.share"
/* a participant's permission when the request names none */
#define EMU_DEFAULT_PERMISSION		"READ_ONLY"
/* the share dict's URL key (Apple's own key is not documented) */
#define EMU_SHARE_URL_KEY			"shareURL"
/* a user that is not the owner writing a share record */
#define EMU_CODE_NOT_SHARE_OWNER	"ACCESS_DENIED"

typedef struct EmuParticipant
{
	char		user[34];		/* userRecordName */
	char	   *email;			/* lookupInfo emailAddress, or NULL */
	char		type[16];		/* OWNER ADMINISTRATOR USER PUBLIC_USER */
	char		permission[16]; /* NONE READ_ONLY READ_WRITE */
	char		status[16];		/* INVITED ACCEPTED REMOVED */
	char		id[37];			/* participantId */
	int64_t		granted;		/* change position when accepted */
} EmuParticipant;

typedef struct EmuShare
{
	EmuZone    *zone;			/* the owner's zone */
	char	   *name;			/* the share's recordName */
	char	   *root;			/* root recordName; NULL for a zone-wide share */
	char		tag[16];
	char		short_guid[24];
	char		public_permission[16];
	int64_t		created_ms;
	int64_t		modified_ms;
	EmuParticipant *parts;
	int			nparts;
	struct EmuShare *next;
} EmuShare;

/* What a user may do in a zone shared with it. */
typedef struct EmuAccess
{
	bool		whole_zone;		/* a zone-wide share */
	bool		whole_write;	/* ... that allows writing */
	bool		any;			/* at least one share reaches the zone */
} EmuAccess;

static EmuShare *shares;
static EmuMap parents;			/* "zone\x1frecord" -> parent recordName */
static EmuMap record_guids;		/* "zone\x1frecord" -> shortGUID */
static bool maps_ready;
static uint64_t guid_counter;

/* Non-zero once anything share-related exists: the hot paths skip us. */
bool		emu_share_active;

static const char *const participant_types[] = {"OWNER", "ADMINISTRATOR", "USER", "PUBLIC_USER", NULL};
static const char *const permissions[] = {"NONE", "READ_ONLY", "READ_WRITE", NULL};

static void
emu_share_maps(void)
{
	if (!maps_ready)
	{
		emu_map_init(&parents);
		emu_map_init(&record_guids);
		maps_ready = true;
	}
}

static void
emu_record_key(const EmuZone *zone, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%p\x1f%s", (const void *) zone, name);
}

static bool
emu_word_in(const char *word, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(word, *list) == 0)
			return true;
	return false;
}

static void
emu_new_guid(char *out, size_t len)
{
	char		b36[16];
	char		uuid[37];

	/* unique (the counter) and not guessable in order (the uuid) */
	ck_uuid_v4(uuid);
	emu_base36(++guid_counter, b36);
	snprintf(out, len, "%.8s%s", uuid, b36);
	for (; *out; out++)
		*out = (char) tolower((unsigned char) *out);
}

static void
emu_share_free(EmuShare *s)
{
	int			i;

	for (i = 0; i < s->nparts; i++)
		free(s->parts[i].email);
	free(s->parts);
	free(s->name);
	free(s->root);
	free(s);
}

/* Reset: the store's zones are about to be freed.  Write lock held. */
void
emu_share_clear(void)
{
	while (shares != NULL)
	{
		EmuShare   *next = shares->next;

		emu_share_free(shares);
		shares = next;
	}
	if (maps_ready)
	{
		emu_map_free(&parents, free);
		emu_map_free(&record_guids, free);
		maps_ready = false;
	}
	emu_share_active = false;
}

static bool
emu_same_container(const EmuScope *a, const EmuScope *b)
{
	return strcmp(a->container, b->container) == 0 &&
		strcmp(a->environment, b->environment) == 0;
}

static bool
emu_is_shared_scope(const EmuScope *scope)
{
	return strcmp(scope->database, "shared") == 0;
}

/* The largest change position anywhere: grants are ordered after it. */
static int64_t
emu_position_now(void)
{
	EmuScope   *scope;
	int64_t		max = 0;
	int			i;

	for (scope = emu_scope_first(); scope != NULL; scope = scope->next)
		for (i = 0; i < scope->nzones; i++)
		{
			EmuZone    *z = scope->zones[i];

			if (z->nlog > 0 && z->log[z->nlog - 1].rec->write_no > max)
				max = z->log[z->nlog - 1].rec->write_no;
		}
	return max;
}

static EmuParticipant *
emu_participant_of(EmuShare *s, const char *user)
{
	int			i;

	for (i = 0; i < s->nparts; i++)
		if (strcmp(s->parts[i].user, user) == 0)
			return &s->parts[i];
	return NULL;
}

/* The caller's effective permission through a share: NULL = none. */
static const char *
emu_share_permission(EmuShare *s, const char *user)
{
	EmuParticipant *p = emu_participant_of(s, user);

	/* the owner reaches its zone in its private database, not here */
	if (p == NULL || strcmp(p->type, "OWNER") == 0 || strcmp(p->status, "ACCEPTED") != 0 ||
		strcmp(p->permission, "NONE") == 0)
		return NULL;
	return p->permission;
}

static void
emu_zone_access(const EmuZone *zone, const char *user, EmuAccess *acc)
{
	EmuShare   *s;

	memset(acc, 0, sizeof(*acc));
	for (s = shares; s != NULL; s = s->next)
	{
		const char *perm;

		if (s->zone != zone || (perm = emu_share_permission(s, user)) == NULL)
			continue;
		acc->any = true;
		if (s->root == NULL)
		{
			acc->whole_zone = true;
			if (strcmp(perm, "READ_WRITE") == 0)
				acc->whole_write = true;
		}
	}
}

/*
 * The shared database: the zone of another user that a share lets the
 * scope's user (the caller) see.  NULL when there is none.
 */
EmuZone *
emu_share_zone_find(EmuScope *scope, const char *name, const char *owner)
{
	EmuShare   *s;

	if (!emu_share_active || !emu_is_shared_scope(scope))
		return NULL;
	if (owner != NULL && (strcmp(owner, "__defaultOwner__") == 0 || *owner == '\0'))
		owner = NULL;
	for (s = shares; s != NULL; s = s->next)
	{
		EmuZone    *z = s->zone;

		if (z->deleted || strcmp(z->name, name) != 0 ||
			!emu_same_container(z->scope, scope) ||
			(owner != NULL && strcmp(owner, z->owner) != 0))
			continue;
		if (emu_share_permission(s, scope->owner) != NULL)
			return z;
	}
	return NULL;
}

static const char *
emu_parent_of(const EmuZone *zone, const char *name)
{
	char		key[400];

	if (!maps_ready)
		return NULL;
	emu_record_key(zone, name, key, sizeof(key));
	return emu_map_get(&parents, key);
}

/*
 * The share reaching a record through its parent chain for a user, and its
 * permission; NULL when no accepted record share covers the record.
 */
static EmuShare *
emu_record_share(const EmuZone *zone, const char *name, const char *user,
				 const char **perm)
{
	const char *cur = name;
	int			depth;

	/* a chain longer than the zone has records is a cycle */
	for (depth = 0; cur != NULL && depth <= (int) zone->records.count; depth++)
	{
		EmuShare   *s;
		EmuRecord  *rec = emu_record_find((EmuZone *) zone, cur);

		if (rec == NULL || rec->deleted)
			return NULL;
		for (s = shares; s != NULL; s = s->next)
			if (s->zone == zone && s->root != NULL && strcmp(s->root, cur) == 0 &&
				(*perm = emu_share_permission(s, user)) != NULL)
				return s;
		cur = emu_parent_of(zone, cur);
	}
	return NULL;
}

/* Whether the scope's user may see rec (always, outside the shared database). */
bool
emu_share_record_visible(const EmuScope *scope, const EmuRecord *rec)
{
	EmuAccess	acc;
	const char *perm;

	if (!emu_share_active || rec->zone->scope == scope || !emu_is_shared_scope(scope))
		return true;
	emu_zone_access(rec->zone, scope->owner, &acc);
	if (acc.whole_zone)
		return true;
	return emu_record_share(rec->zone, rec->name, scope->owner, &perm) != NULL;
}

/* Drop the records a record share hides; returns the new count. */
size_t
emu_share_filter(const EmuScope *scope, EmuRecord **recs, size_t n)
{
	size_t		i,
				k = 0;

	if (!emu_share_active || !emu_is_shared_scope(scope))
		return n;
	for (i = 0; i < n; i++)
		if (emu_share_record_visible(scope, recs[i]))
			recs[k++] = recs[i];
	return k;
}

/* ---------------------------------------------------------------- zones */

static int
emu_zone_in(EmuZone **list, int n, const EmuZone *z)
{
	int			i;

	for (i = 0; i < n; i++)
		if (list[i] == z)
			return i;
	return -1;
}

/* The zones shared with the scope's user, each once. */
static int
emu_shared_zones(const EmuScope *scope, EmuZone ***out)
{
	EmuShare   *s;
	EmuZone   **list = NULL;
	int			n = 0;

	for (s = shares; s != NULL; s = s->next)
	{
		if (s->zone->deleted || !emu_same_container(s->zone->scope, scope) ||
			emu_share_permission(s, scope->owner) == NULL ||
			emu_zone_in(list, n, s->zone) >= 0)
			continue;
		list = emu_realloc(list, sizeof(EmuZone *) * (n + 1));
		list[n++] = s->zone;
	}
	*out = list;
	return n;
}

/* zones/list in the shared database: append the zones shared with the caller. */
void
emu_share_list_zones(const EmuScope *scope, CkBuf *out, bool *first)
{
	EmuZone   **list;
	int			n,
				i;

	if (!emu_share_active || !emu_is_shared_scope(scope))
		return;
	n = emu_shared_zones(scope, &list);
	for (i = 0; i < n; i++)
	{
		if (!*first)
			emu_lit(out, ",");
		*first = false;
		emu_render_zone(out, list[i]);
	}
	free(list);
}

/* When the user last gained access to the zone, as a change position. */
static int64_t
emu_zone_position(const EmuZone *z, const char *user)
{
	EmuShare   *s;
	int64_t		pos = 0;

	if (z->nlog > 0)
		pos = 2 * z->log[z->nlog - 1].rec->write_no;
	for (s = shares; s != NULL; s = s->next)
	{
		EmuParticipant *p;

		if (s->zone == z && (p = emu_participant_of(s, user)) != NULL &&
			strcmp(p->status, "ACCEPTED") == 0 && p->granted > pos)
			pos = p->granted;
	}
	return pos;
}

/*
 * changes/database in the shared database: the shared zones changed (or
 * shared with the caller) since the token.  Positions are store-wide write
 * numbers doubled, and a grant's is odd, so that a grant sorts after every
 * write it follows.  Answers and returns true when the scope is shared.
 */
bool
emu_share_changes_database(EmuRequest *req, json_object *body)
{
	json_object *jtok = emu_get(body, "syncToken");
	int64_t		from = 0,
				zero = 0,
				last = 0;
	EmuZone   **list;
	int			n,
				i;
	bool		first = true;
	char	   *tok;

	if (!emu_is_shared_scope(req->scope))
		return false;
	if (jtok != NULL && !json_object_is_type(jtok, json_type_null) &&
		(!json_object_is_type(jtok, json_type_string) ||
		 !emu_token_decode(json_object_get_string(jtok), "sd", &zero, &from) || from < 0))
	{
		emu_error(req, "BAD_REQUEST", "Invalid syncToken for the shared database");
		return true;
	}
	n = emu_shared_zones(req->scope, &list);
	emu_lit(&req->out, "{\"zones\":[");
	for (i = 0; i < n; i++)
	{
		int64_t		pos = emu_zone_position(list[i], req->scope->owner);

		if (pos > last)
			last = pos;
		if (pos <= from)
			continue;
		if (!first)
			emu_lit(&req->out, ",");
		first = false;
		emu_lit(&req->out, "{\"zoneID\":");
		emu_render_zone_id(&req->out, list[i]);
		emu_lit(&req->out, "}");
	}
	free(list);
	if (last < from)
		last = from;
	tok = emu_token_encode("sd", 0, last);
	emu_lit(&req->out, "],\"syncToken\":");
	emu_json_string(&req->out, tok);
	emu_lit(&req->out, ",\"moreComing\":false}");
	free(tok);
	req->status = 200;
	req->answered = true;
	return true;
}

/* ---------------------------------------------------------------- rendering */

static void
emu_render_participant(CkBuf *buf, const EmuParticipant *p)
{
	emu_lit(buf, "{\"participantId\":");
	emu_json_string(buf, p->id);
	emu_lit(buf, ",\"userIdentity\":{\"userRecordName\":");
	emu_json_string(buf, p->user);
	emu_lit(buf, ",\"lookupInfo\":{");
	if (p->email != NULL)
	{
		emu_lit(buf, "\"emailAddress\":");
		emu_json_string(buf, p->email);
		emu_lit(buf, ",");
	}
	emu_lit(buf, "\"userRecordName\":");
	emu_json_string(buf, p->user);
	emu_lit(buf, "}},\"type\":");
	emu_json_string(buf, p->type);
	emu_lit(buf, ",\"permission\":");
	emu_json_string(buf, p->permission);
	emu_lit(buf, ",\"acceptanceStatus\":");
	emu_json_string(buf, p->status);
	emu_lit(buf, "}");
}

/* A share as a record dictionary, seen by user. */
static void
emu_render_share(CkBuf *buf, const EmuShare *s, const char *user)
{
	int			i;
	const EmuParticipant *me = NULL;

	emu_lit(buf, "{\"recordName\":");
	emu_json_string(buf, s->name);
	emu_lit(buf, ",\"recordType\":\"" EMU_SHARE_TYPE "\",\"fields\":{},\"pluginFields\":{},\"recordChangeTag\":");
	emu_json_string(buf, s->tag);
	ck_buf_appendf(buf, ",\"created\":{\"timestamp\":%lld,\"userRecordName\":",
				   (long long) s->created_ms);
	emu_json_string(buf, s->zone->owner);
	ck_buf_appendf(buf, ",\"deviceID\":\"ckemu\"},\"modified\":{\"timestamp\":%lld,\"userRecordName\":",
				   (long long) s->modified_ms);
	emu_json_string(buf, s->zone->owner);
	emu_lit(buf, ",\"deviceID\":\"ckemu\"},\"deleted\":false,\"zoneID\":");
	emu_render_zone_id(buf, s->zone);
	emu_lit(buf, ",\"shortGUID\":");
	emu_json_string(buf, s->short_guid);
	ck_buf_appendf(buf, ",\"" EMU_SHARE_URL_KEY "\":\"%s/share/%s\"", emu_config.base_url,
				   s->short_guid);
	if (s->root != NULL)
	{
		emu_lit(buf, ",\"forRecord\":{\"recordName\":");
		emu_json_string(buf, s->root);
		emu_lit(buf, "}");
	}
	emu_lit(buf, ",\"publicPermission\":");
	emu_json_string(buf, s->public_permission);
	emu_lit(buf, ",\"participants\":[");
	for (i = 0; i < s->nparts; i++)
	{
		if (i > 0)
			emu_lit(buf, ",");
		emu_render_participant(buf, &s->parts[i]);
		if (strcmp(s->parts[i].user, user) == 0)
			me = &s->parts[i];
	}
	emu_lit(buf, "]");
	for (i = 0; i < s->nparts; i++)
		if (strcmp(s->parts[i].type, "OWNER") == 0)
		{
			emu_lit(buf, ",\"owner\":");
			emu_render_participant(buf, &s->parts[i]);
			break;
		}
	if (me != NULL)
	{
		emu_lit(buf, ",\"currentUserParticipant\":");
		emu_render_participant(buf, me);
	}
	emu_lit(buf, "}");
}

/* parent, shortGUID and share of a record, before its zoneID. */
void
emu_share_render_extras(CkBuf *buf, const EmuRecord *rec)
{
	char		key[400];
	const char *v;
	EmuShare   *s;

	if (!emu_share_active || !maps_ready)
		return;
	emu_record_key(rec->zone, rec->name, key, sizeof(key));
	if ((v = emu_map_get(&parents, key)) != NULL)
	{
		emu_lit(buf, ",\"parent\":{\"recordName\":");
		emu_json_string(buf, v);
		emu_lit(buf, "}");
	}
	if ((v = emu_map_get(&record_guids, key)) != NULL)
	{
		emu_lit(buf, ",\"shortGUID\":");
		emu_json_string(buf, v);
	}
	for (s = shares; s != NULL; s = s->next)
		if (s->zone == rec->zone && s->root != NULL && strcmp(s->root, rec->name) == 0)
		{
			emu_lit(buf, ",\"share\":{\"recordName\":");
			emu_json_string(buf, s->name);
			emu_lit(buf, "}");
			break;
		}
}

static EmuShare *
emu_share_find(const EmuZone *zone, const char *name)
{
	EmuShare   *s;

	for (s = shares; s != NULL; s = s->next)
		if (s->zone == zone && strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

/*
 * records/lookup of a share's recordName: the owner sees it in its zone, a
 * participant through the shared database.  Returns false when name is no
 * share the caller may see.
 */
bool
emu_share_lookup(EmuRequest *req, EmuZone *zone, const char *name, CkBuf *out)
{
	EmuShare   *s;

	if (!emu_share_active || (s = emu_share_find(zone, name)) == NULL)
		return false;
	if (zone->scope != req->scope && emu_share_permission(s, req->scope->owner) == NULL)
		return false;
	emu_render_share(out, s, req->caller.user);
	return true;
}

/* ---------------------------------------------------------------- writes */

/*
 * Remember a record's parent and shortGUID after a save; a record created
 * again starts without those of its earlier life.  Write lock held.
 */
void
emu_share_note_record(EmuZone *zone, const EmuRecord *rec, json_object *jrec,
					  bool created)
{
	json_object *jparent = emu_get(jrec, "parent");
	json_object *jguid = emu_get(jrec, "createShortGUID");
	char		key[400];

	if (created && maps_ready)
	{
		emu_record_key(zone, rec->name, key, sizeof(key));
		free(emu_map_remove(&parents, key));
		free(emu_map_remove(&record_guids, key));
	}
	if (jparent == NULL && jguid == NULL)
		return;
	emu_share_maps();
	emu_record_key(zone, rec->name, key, sizeof(key));
	if (jparent != NULL)
	{
		json_object *pn = emu_get(jparent, "recordName");

		free(emu_map_remove(&parents, key));
		if (pn != NULL && json_object_is_type(pn, json_type_string))
			emu_map_put(&parents, key, emu_strdup(json_object_get_string(pn)));
		emu_share_active = true;
	}
	if (jguid != NULL && json_object_get_boolean(jguid) &&
		emu_map_get(&record_guids, key) == NULL)
	{
		char		guid[24];

		emu_new_guid(guid, sizeof(guid));
		emu_map_put(&record_guids, key, emu_strdup(guid));
		emu_share_active = true;
	}
}

/*
 * Whether the caller may write record name in zone.  Outside the shared
 * database the zone is the caller's own.  In it, a zone-wide READ_WRITE
 * share allows everything; a record share allows records in its hierarchy
 * (a new record joins through its parent).  On refusal, code and reason
 * say why.
 */
bool
emu_share_write_check(EmuRequest *req, EmuZone *zone, const char *name,
					  json_object *jrec, bool exists, char *reason, size_t len)
{
	EmuAccess	acc;
	const char *perm = NULL;
	const char *what = exists ? "WRITE" : "CREATE";
	const char *user = req->scope->owner;

	if (zone->scope == req->scope || !emu_is_shared_scope(req->scope))
		return true;
	emu_zone_access(zone, user, &acc);
	if (acc.whole_write)
		return true;
	if (exists)
		emu_record_share(zone, name, user, &perm);
	else
	{
		json_object *pn = emu_get(emu_get(jrec, "parent"), "recordName");

		if (pn != NULL && json_object_is_type(pn, json_type_string))
			emu_record_share(zone, json_object_get_string(pn), user, &perm);
	}
	if (perm != NULL && strcmp(perm, "READ_WRITE") == 0)
		return true;
	if (acc.whole_zone || perm != NULL)
		snprintf(reason, len, "%s operation not permitted: the participant's permission on record '%s' is READ_ONLY",
				 what, name);
	else if (exists)
		snprintf(reason, len, "%s operation not permitted: record '%s' is not in a hierarchy shared with the participant",
				 what, name);
	else
		snprintf(reason, len, "%s operation not permitted: a new record in a shared hierarchy needs a parent in it",
				 what);
	return false;
}

/* A write of a share record (cloudkit.share, or a known share's name). */
bool
emu_share_is_share_op(EmuZone *zone, const char *name, json_object *jrec)
{
	json_object *jt = emu_get(jrec, "recordType");

	if (jt != NULL && json_object_is_type(jt, json_type_string) &&
		strcasecmp(json_object_get_string(jt), EMU_SHARE_TYPE) == 0)
		return true;
	return name != NULL && emu_share_find(zone, name) != NULL;
}

static bool
emu_share_fail(char *code, size_t codelen, char *reason, size_t len,
			   const char *c, const char *r)
{
	snprintf(code, codelen, "%s", c);
	snprintf(reason, len, "%s", r);
	return false;
}

/* One participant dict into p (identity and permission). */
static bool
emu_parse_participant(json_object *jp, EmuParticipant *p, char *err, size_t len)
{
	json_object *ident = emu_get(jp, "userIdentity");
	json_object *look = emu_get(ident, "lookupInfo");
	json_object *jemail = emu_get(look, "emailAddress");
	json_object *juser = emu_get(look, "userRecordName");
	json_object *jtype = emu_get(jp, "type");
	json_object *jperm = emu_get(jp, "permission");
	json_object *jstat = emu_get(jp, "acceptanceStatus");

	memset(p, 0, sizeof(*p));
	if (juser == NULL)
		juser = emu_get(ident, "userRecordName");
	if (jemail != NULL && json_object_is_type(jemail, json_type_string) &&
		json_object_get_string_len(jemail) > 0)
	{
		p->email = emu_strdup(json_object_get_string(jemail));
		/* a ckemu user's email address is its user name */
		emu_user_record_name(p->email, p->user);
	}
	else if (juser != NULL && json_object_is_type(juser, json_type_string) &&
			 json_object_get_string_len(juser) > 0)
		emu_user_record_name(json_object_get_string(juser), p->user);
	else
	{
		snprintf(err, len, "a participant needs userIdentity.lookupInfo with an emailAddress or a userRecordName");
		return false;
	}
	snprintf(p->type, sizeof(p->type), "%s",
			 jtype && json_object_is_type(jtype, json_type_string) ? json_object_get_string(jtype) : "USER");
	snprintf(p->permission, sizeof(p->permission), "%s",
			 jperm && json_object_is_type(jperm, json_type_string) ? json_object_get_string(jperm) : EMU_DEFAULT_PERMISSION);
	snprintf(p->status, sizeof(p->status), "%s",
			 jstat && json_object_is_type(jstat, json_type_string) ? json_object_get_string(jstat) : "INVITED");
	if (!emu_word_in(p->type, participant_types) || strcmp(p->type, "OWNER") == 0)
	{
		snprintf(err, len, "participant type must be ADMINISTRATOR, USER or PUBLIC_USER, not '%s'", p->type);
		free(p->email);
		return false;
	}
	if (!emu_word_in(p->permission, permissions))
	{
		snprintf(err, len, "participant permission must be NONE, READ_ONLY or READ_WRITE, not '%s'", p->permission);
		free(p->email);
		return false;
	}
	if (strcmp(p->status, "INVITED") != 0 && strcmp(p->status, "ACCEPTED") != 0 &&
		strcmp(p->status, "REMOVED") != 0 && strcmp(p->status, "UNKNOWN") != 0)
	{
		snprintf(err, len, "participant acceptanceStatus must be INVITED, ACCEPTED or REMOVED, not '%s'", p->status);
		free(p->email);
		return false;
	}
	return true;
}

/*
 * The participants a share write sends replace the list: the owner stays,
 * those left out or sent as REMOVED lose access at once, and those already
 * there keep their acceptance (only the participant accepts).
 */
static bool
emu_set_participants(EmuShare *s, json_object *jparts, char *err, size_t len)
{
	EmuParticipant *next;
	int			n = 0,
				i,
				k,
				count;

	count = (int) json_object_array_length(jparts);
	next = emu_malloc(sizeof(EmuParticipant) * (count + 1));
	for (i = 0; i < s->nparts; i++)
		if (strcmp(s->parts[i].type, "OWNER") == 0)
		{
			next[n] = s->parts[i];
			next[n].email = s->parts[i].email ? emu_strdup(s->parts[i].email) : NULL;
			n++;
		}
	for (i = 0; i < count; i++)
	{
		EmuParticipant p;
		EmuParticipant *old;
		json_object *jt = emu_get(json_object_array_get_idx(jparts, i), "type");

		/* the owner's own entry, echoed back by a client, is not a change */
		if (jt != NULL && json_object_is_type(jt, json_type_string) &&
			strcmp(json_object_get_string(jt), "OWNER") == 0)
			continue;
		if (!emu_parse_participant(json_object_array_get_idx(jparts, i), &p, err, len))
			goto fail;
		if (strcmp(p.user, s->zone->owner) == 0)
		{
			free(p.email);
			continue;
		}
		for (k = 0; k < n; k++)
			if (strcmp(next[k].user, p.user) == 0)
				break;
		if (k < n)
		{
			free(p.email);
			snprintf(err, len, "participant '%s' appears twice", p.user);
			goto fail;
		}
		if (strcmp(p.status, "REMOVED") == 0)
		{
			free(p.email);
			continue;
		}
		old = emu_participant_of(s, p.user);
		if (old != NULL && strcmp(old->status, "ACCEPTED") == 0)
		{
			strcpy(p.status, "ACCEPTED");
			p.granted = old->granted;
			/* a raised permission is a change the participant should see */
			if (strcmp(old->permission, p.permission) != 0)
				p.granted = 2 * emu_position_now() + 1;
		}
		else
			strcpy(p.status, "INVITED");
		if (old != NULL)
			memcpy(p.id, old->id, sizeof(p.id));
		else
			ck_uuid_v4(p.id);
		next[n++] = p;
	}
	for (i = 0; i < s->nparts; i++)
		free(s->parts[i].email);
	free(s->parts);
	s->parts = next;
	s->nparts = n;
	return true;

fail:
	for (i = 0; i < n; i++)
		free(next[i].email);
	free(next);
	return false;
}

static bool
emu_set_public_permission(EmuShare *s, json_object *jrec, char *err, size_t len)
{
	json_object *jpp = emu_get(jrec, "publicPermission");

	if (jpp == NULL || json_object_is_type(jpp, json_type_null))
		return true;
	if (!json_object_is_type(jpp, json_type_string) ||
		!emu_word_in(json_object_get_string(jpp), permissions))
	{
		snprintf(err, len, "publicPermission must be NONE, READ_ONLY or READ_WRITE");
		return false;
	}
	snprintf(s->public_permission, sizeof(s->public_permission), "%s",
			 json_object_get_string(jpp));
	return true;
}

/*
 * A records/modify operation on a share record: create, update (the
 * participants and publicPermission), delete (sharing stops).  op is
 * "create", "update" or "delete" (force variants map onto them).  Only the
 * zone's owner, in its private database, writes shares.
 */
bool
emu_share_modify(EmuRequest *req, EmuZone *zone, const char *op, const char *name,
				 json_object *jrec, bool check_tag, CkBuf *text,
				 char *code, size_t codelen, char *reason, size_t len)
{
	EmuShare   *s = emu_share_find(zone, name);
	json_object *jtag = emu_get(jrec, "recordChangeTag");
	json_object *jparts = emu_get(jrec, "participants");
	json_object *jfor = emu_get(jrec, "forRecord");
	char		err[256];

	if (zone->scope != req->scope || strcmp(req->scope->database, "private") != 0)
		return emu_share_fail(code, codelen, reason, len, EMU_CODE_NOT_SHARE_OWNER,
							  "WRITE operation not permitted: only the zone's owner can change a share");
	if (zone->is_default)
		return emu_share_fail(code, codelen, reason, len, "BAD_REQUEST",
							  "Shares can only be created in custom zones of the private database");
	if (jparts != NULL && !json_object_is_type(jparts, json_type_null) &&
		!json_object_is_type(jparts, json_type_array))
		return emu_share_fail(code, codelen, reason, len, "BAD_REQUEST",
							  "participants must be an array");
	if (s != NULL && check_tag && strcmp(op, "create") != 0 &&
		(jtag == NULL || !json_object_is_type(jtag, json_type_string) ||
		 strcmp(json_object_get_string(jtag), s->tag) != 0))
		return emu_share_fail(code, codelen, reason, len, "CONFLICT",
							  "record to update already exists with a different change tag");

	if (strcmp(op, "delete") == 0)
	{
		EmuShare  **pp;

		if (s == NULL)
			return emu_share_fail(code, codelen, reason, len, EMU_CODE_MISSING_RECORD, "Record not found");
		for (pp = &shares; *pp != s; pp = &(*pp)->next)
			;
		*pp = s->next;
		emu_share_free(s);
		emu_store_bump();
		emu_lit(text, "{\"recordName\":");
		emu_json_string(text, name);
		emu_lit(text, ",\"deleted\":true}");
		return true;
	}

	if (s == NULL)
	{
		EmuParticipant *owner;
		char		key[400];

		if (strcmp(op, "update") == 0)
			return emu_share_fail(code, codelen, reason, len, EMU_CODE_MISSING_RECORD, "Record not found");
		if (emu_record_find(zone, name) != NULL)
			return emu_share_fail(code, codelen, reason, len, EMU_CODE_CREATE_EXISTS,
								  "record to insert already exists");
		s = emu_malloc(sizeof(EmuShare));
		memset(s, 0, sizeof(*s));
		s->zone = zone;
		s->name = emu_strdup(name);
		strcpy(s->public_permission, "NONE");
		if (jfor != NULL && !json_object_is_type(jfor, json_type_null))
		{
			json_object *rn = emu_get(jfor, "recordName");
			EmuShare   *other;

			if (rn == NULL || !json_object_is_type(rn, json_type_string) ||
				emu_record_find(zone, json_object_get_string(rn)) == NULL ||
				emu_record_find(zone, json_object_get_string(rn))->deleted)
			{
				emu_share_free(s);
				return emu_share_fail(code, codelen, reason, len, "NOT_FOUND",
									  "forRecord names no record of the zone");
			}
			s->root = emu_strdup(json_object_get_string(rn));
			for (other = shares; other != NULL; other = other->next)
				if (other->zone == zone && other->root != NULL && strcmp(other->root, s->root) == 0)
				{
					emu_share_free(s);
					return emu_share_fail(code, codelen, reason, len, "EXISTS",
										  "the record is already shared");
				}
		}
		else if (strcmp(name, EMU_ZONE_SHARE_NAME) != 0)
		{
			emu_share_free(s);
			return emu_share_fail(code, codelen, reason, len, "BAD_REQUEST",
								  "A share needs forRecord, or the name " EMU_ZONE_SHARE_NAME " to share the whole zone");
		}
		emu_new_guid(s->short_guid, sizeof(s->short_guid));
		s->created_ms = ck_now_ms();
		s->parts = emu_malloc(sizeof(EmuParticipant));
		s->nparts = 1;
		owner = &s->parts[0];
		memset(owner, 0, sizeof(*owner));
		memcpy(owner->user, zone->owner, 34);
		strcpy(owner->type, "OWNER");
		strcpy(owner->permission, "READ_WRITE");
		strcpy(owner->status, "ACCEPTED");
		ck_uuid_v4(owner->id);
		if (!emu_set_public_permission(s, jrec, err, sizeof(err)) ||
			(jparts != NULL && json_object_is_type(jparts, json_type_array) &&
			 !emu_set_participants(s, jparts, err, sizeof(err))))
		{
			emu_share_free(s);
			return emu_share_fail(code, codelen, reason, len, "BAD_REQUEST", err);
		}
		/* the root gets a shortGUID if it had none (Apple's records/modify page) */
		if (s->root != NULL)
		{
			emu_share_maps();
			emu_record_key(zone, s->root, key, sizeof(key));
			if (emu_map_get(&record_guids, key) == NULL)
			{
				char		guid[24];

				emu_new_guid(guid, sizeof(guid));
				emu_map_put(&record_guids, key, emu_strdup(guid));
			}
		}
		s->next = shares;
		shares = s;
	}
	else
	{
		if (strcmp(op, "create") == 0)
			return emu_share_fail(code, codelen, reason, len, EMU_CODE_CREATE_EXISTS,
								  "record to insert already exists");
		if (!emu_set_public_permission(s, jrec, err, sizeof(err)) ||
			(jparts != NULL && json_object_is_type(jparts, json_type_array) &&
			 !emu_set_participants(s, jparts, err, sizeof(err))))
			return emu_share_fail(code, codelen, reason, len, "BAD_REQUEST", err);
	}
	emu_new_change_tag(s->tag);
	s->modified_ms = ck_now_ms();
	emu_share_active = true;
	emu_store_bump();
	emu_render_share(text, s, req->caller.user);
	return true;
}

/* ---------------------------------------------------------------- acceptance */

static EmuShare *
emu_share_by_guid(const char *container, const char *environment, const char *guid)
{
	EmuShare   *s;

	for (s = shares; s != NULL; s = s->next)
		if (strcmp(s->short_guid, guid) == 0 && !s->zone->deleted &&
			strcmp(s->zone->scope->container, container) == 0 &&
			strcmp(s->zone->scope->environment, environment) == 0)
			return s;
	return NULL;
}

/*
 * user accepts the share: an invited participant, or anyone when the share
 * has a public permission.  Write lock held.
 */
static bool
emu_accept(EmuShare *s, const char *user_name, const char *user, char *code,
		   size_t codelen, char *reason, size_t len)
{
	EmuParticipant *p = emu_participant_of(s, user);

	if (strcmp(user, s->zone->owner) == 0)
		return emu_share_fail(code, codelen, reason, len, "BAD_REQUEST",
							  "The owner of a share cannot accept it");
	if (p == NULL && strcmp(s->public_permission, "NONE") != 0)
	{
		s->parts = emu_realloc(s->parts, sizeof(EmuParticipant) * (s->nparts + 1));
		p = &s->parts[s->nparts++];
		memset(p, 0, sizeof(*p));
		memcpy(p->user, user, 34);
		p->email = emu_strdup(user_name);
		strcpy(p->type, "PUBLIC_USER");
		strcpy(p->permission, s->public_permission);
		ck_uuid_v4(p->id);
	}
	if (p == NULL)
		return emu_share_fail(code, codelen, reason, len, "ACCESS_DENIED",
							  "The share does not list this user as a participant");
	if (strcmp(p->status, "ACCEPTED") != 0)
	{
		strcpy(p->status, "ACCEPTED");
		p->granted = 2 * emu_position_now() + 1;
		emu_new_change_tag(s->tag);
		s->modified_ms = ck_now_ms();
		emu_store_bump();
	}
	return true;
}

static void
emu_render_accepted(CkBuf *buf, EmuShare *s, const char *user)
{
	emu_lit(buf, "{\"shortGUID\":");
	emu_json_string(buf, s->short_guid);
	emu_lit(buf, ",\"zoneID\":");
	emu_render_zone_id(buf, s->zone);
	if (s->root != NULL)
	{
		emu_lit(buf, ",\"rootRecordName\":");
		emu_json_string(buf, s->root);
	}
	emu_lit(buf, ",\"share\":");
	emu_render_share(buf, s, user);
	emu_lit(buf, "}");
}

/*
 * POST {db}/records/accept {"shortGUIDs": [{"value": GUID}]}: the caller
 * joins each share; one result per GUID, errors as per-item dicts.
 */
void
emu_op_records_accept(EmuRequest *req, json_object *body)
{
	json_object *jg;
	int			n,
				i;

	jg = emu_body_array(req, body, EMU_SHARE_ACCEPT_KEY, EMU_SHARE_ACCEPT_KEY, EMU_MAX_OPERATIONS, &n);
	if (jg == NULL)
		return;
	emu_lit(&req->out, "{\"results\":[");
	for (i = 0; i < n; i++)
	{
		json_object *item = json_object_array_get_idx(jg, i);
		json_object *jv = json_object_is_type(item, json_type_string) ? item : emu_get(item, "value");
		const char *guid = jv && json_object_is_type(jv, json_type_string) ? json_object_get_string(jv) : "";
		EmuShare   *s = emu_share_by_guid(req->container, req->environment, guid);
		char		code[40],
					reason[256];

		if (i > 0)
			emu_lit(&req->out, ",");
		if (s == NULL)
		{
			snprintf(code, sizeof(code), "NOT_FOUND");
			snprintf(reason, sizeof(reason), "No share has this shortGUID");
		}
		else if (emu_accept(s, req->caller.user_name, req->caller.user, code, sizeof(code),
							reason, sizeof(reason)))
		{
			emu_render_accepted(&req->out, s, req->caller.user);
			req->records_out++;
			continue;
		}
		emu_lit(&req->out, "{\"shortGUID\":");
		emu_json_string(&req->out, guid);
		emu_lit(&req->out, ",\"reason\":");
		emu_json_string(&req->out, reason);
		ck_buf_appendf(&req->out, ",\"serverErrorCode\":\"%s\"}", code);
	}
	emu_lit(&req->out, "]}");
	req->status = 200;
	req->answered = true;
}

/*
 * The admin shortcut for tests: POST /_ckemu/accept-share
 * {"user": NAME, "shortGUID": GUID, "container"?, "environment"?}
 * accepts as that user without a web-auth token.
 */
bool
emu_share_admin(EmuRequest *req, const char *path)
{
	json_object *body;
	const char *user_name,
			   *guid,
			   *container,
			   *environment;
	EmuShare   *s;
	char		user[34],
				code[40],
				reason[256];

	if (strcmp(path, "/_ckemu/accept-share") != 0)
		return false;
	req->answered = true;
	body = req->body.len > 0 ? json_tokener_parse(req->body.data) : NULL;
	user_name = json_object_get_string(emu_get(body, "user"));
	guid = json_object_get_string(emu_get(body, "shortGUID"));
	container = json_object_get_string(emu_get(body, "container"));
	environment = json_object_get_string(emu_get(body, "environment"));
	if (strcmp(req->method, "POST") != 0 || user_name == NULL || guid == NULL)
	{
		req->status = 400;
		emu_lit(&req->out, "{\"error\":\"POST {\\\"user\\\": NAME, \\\"shortGUID\\\": GUID}\"}");
		json_object_put(body);
		return true;
	}
	emu_user_record_name(user_name, user);
	pthread_rwlock_wrlock(&emu_store_lock);
	for (s = shares; s != NULL; s = s->next)
		if (strcmp(s->short_guid, guid) == 0 && !s->zone->deleted &&
			(container == NULL || strcmp(container, s->zone->scope->container) == 0) &&
			(environment == NULL || strcmp(environment, s->zone->scope->environment) == 0))
			break;
	if (s == NULL)
	{
		req->status = 404;
		emu_lit(&req->out, "{\"error\":\"no share has this shortGUID\"}");
	}
	else if (!emu_accept(s, user_name, user, code, sizeof(code), reason, sizeof(reason)))
	{
		req->status = emu_status_for_code(code);
		emu_lit(&req->out, "{\"error\":");
		emu_json_string(&req->out, reason);
		emu_lit(&req->out, "}");
	}
	else
	{
		req->status = 200;
		emu_render_accepted(&req->out, s, user);
	}
	pthread_rwlock_unlock(&emu_store_lock);
	json_object_put(body);
	return true;
}
