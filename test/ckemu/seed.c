/*-------------------------------------------------------------------------
 *
 * seed.c
 *		Seed files (--data) and dumps (GET /_ckemu/dump), in one format:
 *
 *	{"seeds": [{"container": "iCloud.com.example.Gallery",
 *				"environment": "development",		(default development)
 *				"database": "public",				(default public)
 *				"owner": "alice",					(private/shared: whose database)
 *				"zone": "_defaultZone",				(default _defaultZone)
 *				"zoneOwner": "...",					(shared only: the zone's owner)
 *				"records": [{"recordName", "recordType", "fields": {...},
 *							 "recordChangeTag"?, "created"?: {"timestamp",
 *							 "userRecordName"?}, "modified"?: {...}}]}]}
 *
 * In seed files an asset value may be {"ckemuData": "<base64 bytes>"}; a
 * dump writes assets that way, so a dump loads back as a seed file.
 * Records are loaded through the same checks as a create, except grants
 * and VALIDATE references (records may point at ones later in the file).
 *
 * The files are read once at start-up; a reset reloads that text (see
 * EmuSeedFile).
 *
 * test/ckemu/seed.c
 *
 *-------------------------------------------------------------------------
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckemu.h"

/*
 * A --data file as read at start-up.  A regular file is mapped, not copied:
 * a seed of a million records is over a gigabyte of text, which the page
 * cache then holds instead of the heap, and the pages a load has read are
 * given back as it goes (emu_seed_forget).  The descriptor and mapping stay
 * open, so a reset reads the start-up text even if the file was renamed,
 * replaced or removed since; a file changed in place (its size or mtime
 * differ: not ctime, which a rename sets) no longer holds that text, and
 * the reset fails, leaving the store as it is.  Anything else (a pipe) is
 * read into the heap.
 */
typedef struct EmuSeedFile
{
	const char *text;
	size_t		len;			/* up to the first NUL, as strlen saw it */
	char	   *copy;			/* the heap text, when not mapped */
	int			fd;				/* the mapped file, or -1 */
	size_t		map_len;
	struct stat st;				/* the mapped file at start-up */
} EmuSeedFile;

static EmuSeedFile *seed_files; /* one per --data file, read at start-up */
static EmuSeedFile *seed_loading;	/* the file being loaded */

static bool
emu_read_file(FILE *f, const char *path, EmuSeedFile *sf, char *err, size_t errlen)
{
	CkBuf		buf;
	char		chunk[65536];
	size_t		n;

	ck_buf_init(&buf);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ck_buf_append(&buf, chunk, n);
	if (ferror(f))
	{
		ck_buf_free(&buf);
		snprintf(err, errlen, "cannot read seed file \"%s\"", path);
		return false;
	}
	sf->copy = buf.data ? buf.data : emu_strdup("");
	sf->text = sf->copy;
	sf->len = strlen(sf->copy);
	return true;
}

/* Read or map one --data file at start-up. */
static bool
emu_open_seed_file(const char *path, EmuSeedFile *sf, char *err, size_t errlen)
{
	FILE	   *f = fopen(path, "rb");
	void	   *map;
	const char *nul;
	bool		ok;

	sf->fd = -1;
	if (f == NULL)
	{
		snprintf(err, errlen, "cannot open seed file \"%s\"", path);
		return false;
	}
	if (fstat(fileno(f), &sf->st) == 0 && S_ISREG(sf->st.st_mode) && sf->st.st_size > 0 &&
		(map = mmap(NULL, (size_t) sf->st.st_size, PROT_READ, MAP_PRIVATE,
					fileno(f), 0)) != MAP_FAILED)
	{
		sf->fd = dup(fileno(f));
		if (sf->fd < 0)
			munmap(map, (size_t) sf->st.st_size);
		else
		{
			sf->text = map;
			sf->map_len = (size_t) sf->st.st_size;
			nul = memchr(sf->text, '\0', sf->map_len);
			sf->len = nul ? (size_t) (nul - sf->text) : sf->map_len;
			fclose(f);
			return true;
		}
	}
	ok = emu_read_file(f, path, sf, err, errlen);
	fclose(f);
	return ok;
}

/* Whether a mapped file still holds its start-up text (see EmuSeedFile). */
static bool
emu_seed_file_unchanged(const EmuSeedFile *sf)
{
	struct stat st;

	return sf->fd < 0 ||
		(fstat(sf->fd, &st) == 0 && st.st_size == sf->st.st_size &&
		 st.st_mtim.tv_sec == sf->st.st_mtim.tv_sec &&
		 st.st_mtim.tv_nsec == sf->st.st_mtim.tv_nsec);
}

/*
 * The text from from to to of the file being loaded has been read: drop
 * its mapped pages from the resident set (the page cache keeps them).
 */
static void
emu_seed_forget(const char *from, const char *to)
{
	uintptr_t	page = (uintptr_t) sysconf(_SC_PAGESIZE);
	uintptr_t	start,
				stop;

	if (seed_loading == NULL || seed_loading->fd < 0)
		return;
	start = ((uintptr_t) from + page - 1) & ~(page - 1);
	stop = (uintptr_t) to & ~(page - 1);
	if (stop > start)
		madvise((void *) start, stop - start, MADV_DONTNEED);
}

static bool
emu_opt_string(json_object *obj, const char *key, const char *dflt, const char **out,
			   char *err, size_t errlen)
{
	json_object *v = emu_get(obj, key);

	*out = dflt;
	if (v == NULL || json_object_is_type(v, json_type_null))
		return true;
	if (!json_object_is_type(v, json_type_string))
	{
		snprintf(err, errlen, "\"%s\" must be a string", key);
		return false;
	}
	*out = json_object_get_string(v);
	return true;
}

static bool
emu_seed_meta(json_object *rec, const char *key, int64_t *ts, const char **user,
			  char *err, size_t errlen)
{
	json_object *m = emu_get(rec, key);
	json_object *t,
			   *u;

	if (m == NULL || json_object_is_type(m, json_type_null))
		return true;
	t = emu_get(m, "timestamp");
	u = emu_get(m, "userRecordName");
	if (!json_object_is_type(m, json_type_object) ||
		(t != NULL && !json_object_is_type(t, json_type_int)) ||
		(u != NULL && !json_object_is_type(u, json_type_string)))
	{
		snprintf(err, errlen, "\"%s\" must be {\"timestamp\": ms, \"userRecordName\": string}", key);
		return false;
	}
	if (t != NULL)
		*ts = json_object_get_int64(t);
	if (u != NULL)
		*user = json_object_get_string(u);
	return true;
}

/* Load one record of a seed entry. */
static bool
emu_seed_record(EmuScope *scope, EmuZone *zone, json_object *jr, const char *creator,
				char *err, size_t errlen)
{
	const char *name,
			   *type,
			   *tag;
	const char *created_user = creator,
			   *modified_user = NULL;
	int64_t		now = ck_now_ms();
	int64_t		created = now,
				modified = -1;
	EmuField   *fields;
	int			nfields;
	char		code[40];
	char		uuid[37];
	EmuRecord  *rec;

	if (!json_object_is_type(jr, json_type_object))
	{
		snprintf(err, errlen, "each record must be a dictionary");
		return false;
	}
	if (!emu_opt_string(jr, "recordName", NULL, &name, err, errlen) ||
		!emu_opt_string(jr, "recordType", NULL, &type, err, errlen) ||
		!emu_opt_string(jr, "recordChangeTag", NULL, &tag, err, errlen))
		return false;
	if (name == NULL)
	{
		ck_uuid_v4(uuid);
		name = uuid;
	}
	if (*name == '\0' || strlen(name) > EMU_MAX_NAME_LEN)
	{
		snprintf(err, errlen, "invalid recordName \"%s\"", name);
		return false;
	}
	if (type == NULL || *type == '\0')
	{
		snprintf(err, errlen, "record \"%s\" needs a recordType", name);
		return false;
	}
	if (emu_record_find(zone, name) != NULL)
	{
		snprintf(err, errlen, "record \"%s\" appears twice", name);
		return false;
	}
	if (!emu_seed_meta(jr, "created", &created, &created_user, err, errlen) ||
		!emu_seed_meta(jr, "modified", &modified, &modified_user, err, errlen))
		return false;
	if (!emu_schema_learn_type(scope->schema, type, err, errlen))
		return false;
	if (!emu_build_fields(NULL, scope->schema, type, emu_get(jr, "fields"), EMU_VALUE_SEED,
						  false, &fields, &nfields, code, err, errlen))
	{
		char	   *tmp = emu_strdup(err);

		snprintf(err, errlen, "record \"%.255s\": %s", name, tmp);
		free(tmp);
		return false;
	}
	fields = emu_fields_pack(fields, nfields);
	rec = emu_record_put(zone, name, type, fields, nfields, created_user, created);
	rec->created_ms = created;
	rec->modified_ms = modified >= 0 ? modified : created;
	if (modified_user != NULL)
		rec->modified_user = emu_intern(modified_user);
	if (tag != NULL && *tag != '\0' && strlen(tag) < sizeof(rec->tag))
	{
		strcpy(rec->tag, tag);
		emu_note_change_tag(tag);
	}
	emu_record_touch(rec);
	return true;
}

static bool
emu_stop_pending(void)
{
	sigset_t	pending;

	return sigpending(&pending) == 0 &&
		(sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1);
}

static bool emu_seed_records_text(EmuScope *scope, EmuZone *zone, const char *creator,
								  const char *p, const char *end, char *err, size_t errlen);

/*
 * One entry of "seeds".  Its records are either in e (an array) or, when
 * the entry came from a seed file, the text of that array from recs to
 * recs_end, parsed one record at a time.
 */
static bool
emu_seed_entry(json_object *e, const char *recs, const char *recs_end,
			   char *err, size_t errlen)
{
	const char *container,
			   *env,
			   *db,
			   *owner,
			   *zone_name,
			   *zone_owner;
	char		owner_urn[34] = "";
	char		zone_owner_urn[34];
	json_object *jrecs = emu_get(e, "records");
	EmuScope   *scope;
	EmuZone    *zone;
	const char *creator;
	int			i,
				n;

	if (!json_object_is_type(e, json_type_object))
	{
		snprintf(err, errlen, "each seed must be a dictionary");
		return false;
	}
	if (!emu_opt_string(e, "container", NULL, &container, err, errlen) ||
		!emu_opt_string(e, "environment", "development", &env, err, errlen) ||
		!emu_opt_string(e, "database", "public", &db, err, errlen) ||
		!emu_opt_string(e, "owner", NULL, &owner, err, errlen) ||
		!emu_opt_string(e, "zone", "_defaultZone", &zone_name, err, errlen) ||
		!emu_opt_string(e, "zoneOwner", NULL, &zone_owner, err, errlen))
		return false;
	if (container == NULL || strncmp(container, "iCloud.", 7) != 0)
	{
		snprintf(err, errlen, "\"container\" must name a container (iCloud.…)");
		return false;
	}
	if (strcmp(env, "development") != 0 && strcmp(env, "production") != 0)
	{
		snprintf(err, errlen, "\"environment\" must be development or production");
		return false;
	}
	if (strcmp(db, "public") != 0 && strcmp(db, "private") != 0 && strcmp(db, "shared") != 0)
	{
		snprintf(err, errlen, "\"database\" must be public, private or shared");
		return false;
	}
	if (strcmp(db, "public") != 0)
	{
		if (owner == NULL || *owner == '\0')
		{
			snprintf(err, errlen, "a %s database seed needs \"owner\"", db);
			return false;
		}
		emu_user_record_name(owner, owner_urn);
	}
	if (jrecs != NULL && !json_object_is_type(jrecs, json_type_array))
	{
		snprintf(err, errlen, "\"records\" must be an array");
		return false;
	}

	scope = emu_scope_get(container, env, db, owner_urn);
	if (strcmp(zone_name, "_defaultZone") == 0 && strcmp(db, "shared") == 0)
	{
		snprintf(err, errlen, "the shared database has no _defaultZone: name a zone and its zoneOwner");
		return false;
	}
	if (strcmp(zone_name, "_defaultZone") == 0)
		zone = scope->zones[0];
	else
	{
		if (strcmp(db, "public") == 0)
		{
			snprintf(err, errlen, "the public database has only _defaultZone");
			return false;
		}
		if (zone_name[0] == '_' || strlen(zone_name) > EMU_MAX_NAME_LEN)
		{
			snprintf(err, errlen, "invalid zone name \"%s\"", zone_name);
			return false;
		}
		if (zone_owner != NULL && strcmp(db, "shared") == 0)
			emu_user_record_name(zone_owner, zone_owner_urn);
		else
			strcpy(zone_owner_urn, owner_urn);
		zone = emu_zone_find(scope, zone_name, zone_owner_urn);
		if (zone == NULL)
			zone = emu_zone_create(scope, zone_name, zone_owner_urn);
	}

	creator = owner_urn[0] ? owner_urn : emu_default_creator();
	if (recs != NULL)
		return emu_seed_records_text(scope, zone, creator, recs, recs_end, err, errlen);
	n = jrecs ? (int) json_object_array_length(jrecs) : 0;
	for (i = 0; i < n; i++)
	{
		char		e2[512];

		/* a big seed takes seconds: let SIGTERM/SIGINT stop it */
		if (i % 1024 == 1023 && emu_stop_pending())
		{
			snprintf(err, errlen, "interrupted by a signal");
			return false;
		}

		if (!emu_seed_record(scope, zone, json_object_array_get_idx(jrecs, i), creator,
							 e2, sizeof(e2)))
		{
			snprintf(err, errlen, "records[%d]: %s", i, e2);
			return false;
		}
	}
	return true;
}

/* ---------------------------------------------------------------- streaming */

/*
 * A seed file can hold a million records: parsing it into one JSON tree
 * would take many times its size in memory.  So the file's structure
 * ({"seeds": [{..., "records": [...]}, ...]}) is walked here as text, and
 * json-c parses one record (or one small member of an entry) at a time.
 */

static const char *
emu_skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

/* After the string starting at p (at its '"'), or NULL when it never ends. */
static const char *
emu_skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++)
	{
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/*
 * After the JSON value starting at p, or NULL when it is malformed.  Only
 * the nesting is checked; json-c checks every value it is handed.
 */
static const char *
emu_skip_value(const char *p, const char *end)
{
	int			depth = 0;

	do
	{
		p = emu_skip_ws(p, end);
		if (p >= end)
			return NULL;
		switch (*p)
		{
			case '"':
				p = emu_skip_string(p, end);
				if (p == NULL)
					return NULL;
				break;
			case '{':
			case '[':
				depth++;
				p++;
				break;
			case '}':
			case ']':
				if (depth == 0)
					return NULL;
				depth--;
				p++;
				break;
			case ',':
			case ':':
				if (depth == 0)
					return NULL;
				p++;
				break;
			default:
				/* a number or a literal */
				if (!((*p >= '0' && *p <= '9') || *p == '-' || (*p >= 'a' && *p <= 'z')))
					return NULL;
				while (p < end && ((*p >= '0' && *p <= '9') || *p == '-' || *p == '+' ||
								   *p == '.' || (*p >= 'a' && *p <= 'z') || *p == 'E'))
					p++;
				break;
		}
	} while (depth > 0);
	return p;
}

/* json-c's value of the text from p to end, or NULL. */
static json_object *
emu_parse_span(json_tokener *tok, const char *p, const char *end)
{
	json_object *obj;

	json_tokener_reset(tok);
	obj = json_tokener_parse_ex(tok, p, (int) (end - p));
	/* a bare number cannot know it has ended: show it a delimiter */
	if (obj == NULL && json_tokener_get_error(tok) == json_tokener_continue)
		obj = json_tokener_parse_ex(tok, " ", 1);
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success)
	{
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/*
 * Walk the members of the object at p ('{'): for each, fn gets the key
 * (decoded) and the value's text.  Returns the position after the object,
 * or NULL when it is malformed or fn fails (fn then sets *failed).
 */
typedef bool (*EmuMemberFn) (void *arg, const char *key, const char *v, const char *vend);

static const char *
emu_walk_object(json_tokener *tok, const char *p, const char *end, EmuMemberFn fn, void *arg,
				bool *failed)
{
	*failed = false;
	p = emu_skip_ws(p, end);
	if (p >= end || *p != '{')
		return NULL;
	p = emu_skip_ws(p + 1, end);
	if (p < end && *p == '}')
		return p + 1;
	for (;;)
	{
		const char *kend,
				   *v,
				   *vend;
		json_object *jkey;
		bool		ok;

		if (p >= end || *p != '"' || (kend = emu_skip_string(p, end)) == NULL)
			return NULL;
		jkey = emu_parse_span(tok, p, kend);
		if (jkey == NULL)
			return NULL;
		p = emu_skip_ws(kend, end);
		if (p >= end || *p != ':')
		{
			json_object_put(jkey);
			return NULL;
		}
		v = emu_skip_ws(p + 1, end);
		vend = emu_skip_value(v, end);
		if (vend == NULL)
		{
			json_object_put(jkey);
			return NULL;
		}
		ok = fn(arg, json_object_get_string(jkey), v, vend);
		json_object_put(jkey);
		if (!ok)
		{
			*failed = true;
			return NULL;
		}
		p = emu_skip_ws(vend, end);
		if (p < end && *p == ',')
		{
			p = emu_skip_ws(p + 1, end);
			/* json-c allows a trailing comma */
			if (p < end && *p == '}')
				return p + 1;
			continue;
		}
		if (p < end && *p == '}')
			return p + 1;
		return NULL;
	}
}

/* One entry of "seeds" being read: its small members, its records' text. */
typedef struct EmuSeedEntryText
{
	json_tokener *tok;
	json_object *members;
	const char *recs;
	const char *recs_end;
} EmuSeedEntryText;

static bool
emu_entry_member(void *arg, const char *key, const char *v, const char *vend)
{
	EmuSeedEntryText *et = arg;
	json_object *value;

	if (strcmp(key, "records") == 0 && *v == '[')
	{
		et->recs = v;
		et->recs_end = vend;
		json_object_object_del(et->members, "records");
		return true;
	}
	value = emu_parse_span(et->tok, v, vend);
	if (value == NULL)
		return false;
	if (strcmp(key, "records") == 0)
		et->recs = NULL;
	json_object_object_add(et->members, key, value);
	return true;
}

/* The records of one entry, from the text of their array. */
static bool
emu_seed_records_text(EmuScope *scope, EmuZone *zone, const char *creator,
					  const char *p, const char *end, char *err, size_t errlen)
{
	json_tokener *tok = json_tokener_new();
	int			i = 0;
	bool		ok = true;
	const char *forgotten = p;

	/* finding the array's end read all of it: drop that, read it again below */
	emu_seed_forget(p, end);
	p = emu_skip_ws(p + 1, end);	/* after '[' */
	if (p < end && *p == ']')
		p = end;
	while (ok && p < end)
	{
		const char *vend = emu_skip_value(p, end);
		json_object *jr = NULL;
		char		e2[512];

		/* fields without a json-c tree each (fastjson.c); json-c if unsure */
		if (vend != NULL)
		{
			jr = emu_fast_parse(p, (size_t) (vend - p), true);
			if (jr == NULL)
				jr = emu_parse_span(tok, p, vend);
		}

		if (i % 1024 == 1023)
		{
			emu_seed_forget(forgotten, p);
			forgotten = p;
		}
		/* a big seed takes seconds: let SIGTERM/SIGINT stop it */
		if (i % 1024 == 1023 && emu_stop_pending())
		{
			snprintf(err, errlen, "interrupted by a signal");
			ok = false;
		}
		else if (jr == NULL)
		{
			snprintf(err, errlen, "records[%d]: not valid JSON", i);
			ok = false;
		}
		else if (!emu_seed_record(scope, zone, jr, creator, e2, sizeof(e2)))
		{
			snprintf(err, errlen, "records[%d]: %s", i, e2);
			ok = false;
		}
		json_object_put(jr);
		if (!ok)
			break;
		i++;
		p = emu_skip_ws(vend, end);
		if (p < end && *p == ',')
		{
			p = emu_skip_ws(p + 1, end);
			if (p < end && *p == ']')
				break;			/* json-c allows a trailing comma */
		}
		else if (p < end && *p == ']')
			break;
		else
		{
			snprintf(err, errlen, "records[%d]: not valid JSON", i);
			ok = false;
		}
	}
	json_tokener_free(tok);
	return ok;
}

/* The root's members: "seeds" is loaded entry by entry, others ignored. */
typedef struct EmuSeedRoot
{
	json_tokener *tok;
	const char *path;
	bool		have_seeds;
	bool		bad_json;
	char	   *err;
	size_t		errlen;
} EmuSeedRoot;

static bool
emu_root_member(void *arg, const char *key, const char *v, const char *vend)
{
	EmuSeedRoot *root = arg;
	const char *p;
	int			i = 0;

	if (strcmp(key, "seeds") != 0 || *v != '[')
		return true;
	root->have_seeds = true;
	p = emu_skip_ws(v + 1, vend);
	if (p < vend && *p == ']')
		return true;
	for (;;)
	{
		EmuSeedEntryText et;
		const char *eend;
		char		e[768];
		bool		failed;
		bool		ok;

		memset(&et, 0, sizeof(et));
		et.tok = root->tok;
		et.members = json_object_new_object();
		if (*p == '{')
			eend = emu_walk_object(root->tok, p, vend, emu_entry_member, &et, &failed);
		else
		{
			/* not a dictionary: emu_seed_entry says so */
			json_object_put(et.members);
			eend = emu_skip_value(p, vend);
			et.members = eend ? emu_parse_span(root->tok, p, eend) : NULL;
			failed = false;
		}
		if (eend == NULL || et.members == NULL)
		{
			json_object_put(et.members);
			root->bad_json = true;
			return false;
		}
		ok = emu_seed_entry(et.members, et.recs, et.recs_end, e, sizeof(e));
		json_object_put(et.members);
		if (!ok)
		{
			snprintf(root->err, root->errlen, "%s: seeds[%d]: %s", root->path, i, e);
			return false;
		}
		i++;
		p = emu_skip_ws(eend, vend);
		if (p < vend && *p == ',')
		{
			p = emu_skip_ws(p + 1, vend);
			if (p < vend && *p == ']')
				return true;	/* json-c allows a trailing comma */
		}
		else if (p < vend && *p == ']')
			return true;
		else
		{
			root->bad_json = true;
			return false;
		}
	}
}

static bool
emu_seed_load_text(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
	const char *end = text + len;
	const char *p = emu_skip_ws(text, end);
	EmuSeedRoot root;
	bool		failed;

	memset(&root, 0, sizeof(root));
	root.path = path;
	root.err = err;
	root.errlen = errlen;
	if (p >= end || *p != '{')
	{
		/* not an object: say whether it is JSON at all */
		json_tokener *tok = json_tokener_new();
		json_object *any = emu_parse_span(tok, p, end);

		json_tokener_free(tok);
		if (any == NULL)
			snprintf(err, errlen, "%s: not valid JSON", path);
		else
			snprintf(err, errlen, "%s: expected {\"seeds\": [...]}", path);
		json_object_put(any);
		return false;
	}
	root.tok = json_tokener_new();
	p = emu_walk_object(root.tok, p, end, emu_root_member, &root, &failed);
	json_tokener_free(root.tok);
	if (failed && !root.bad_json)
		return false;			/* err is set */
	/* like json_tokener_parse, ignore what follows the value */
	if (p == NULL)
	{
		snprintf(err, errlen, "%s: not valid JSON", path);
		return false;
	}
	if (!root.have_seeds)
	{
		snprintf(err, errlen, "%s: expected {\"seeds\": [...]}", path);
		return false;
	}
	return true;
}

/* Load every --data file: at start-up (reading them) and on reset. */
bool
emu_seed_load_all(char *err, size_t errlen)
{
	int			i;
	bool		starting = (seed_files == NULL);

	if (seed_files == NULL && emu_config.ndata_files > 0)
	{
		seed_files = calloc(emu_config.ndata_files, sizeof(EmuSeedFile));
		for (i = 0; i < emu_config.ndata_files; i++)
			if (!emu_open_seed_file(emu_config.data_files[i], &seed_files[i], err, errlen))
				return false;
	}
	for (i = 0; i < emu_config.ndata_files; i++)
	{
		EmuSeedFile *sf = &seed_files[i];
		bool		ok;

		seed_loading = sf;
		ok = emu_seed_load_text(emu_config.data_files[i], sf->text, sf->len, err, errlen);
		emu_seed_forget(sf->text, sf->text + sf->map_len);
		seed_loading = NULL;
		if (!ok)
			return false;
	}
	/*
	 * Give back what parsing the seed JSON used, at start-up only: on a
	 * reset, the memory freed is about to be used again, and trimming it
	 * made the next requests fault every page of it in anew.
	 */
	if (starting)
		malloc_trim(0);
	/* seed records are indexed, whatever the index lag */
	emu_index_reset();
	return true;
}

void
emu_seed_free_texts(void)
{
	int			i;

	if (seed_files == NULL)
		return;
	for (i = 0; i < emu_config.ndata_files; i++)
	{
		EmuSeedFile *sf = &seed_files[i];

		if (sf->fd >= 0)
		{
			munmap((void *) sf->text, sf->map_len);
			close(sf->fd);
		}
		free(sf->copy);
	}
	free(seed_files);
	seed_files = NULL;
}

/* Everything, in the seed format.  Caller holds the store lock. */
void
emu_seed_dump(CkBuf *buf)
{
	EmuScope   *scope;
	bool		first_seed = true;

	emu_lit(buf, "{\"seeds\":[");
	for (scope = emu_scope_first(); scope != NULL; scope = scope->next)
	{
		int			z;

		for (z = 0; z < scope->nzones; z++)
		{
			EmuZone    *zone = scope->zones[z];
			size_t		i;
			bool		first = true;

			if (zone->deleted || (zone->is_default && zone->norder == zone->nholes))
				continue;
			if (!first_seed)
				emu_lit(buf, ",");
			first_seed = false;
			emu_lit(buf, "{\"container\":");
			emu_json_string(buf, scope->container);
			emu_lit(buf, ",\"environment\":");
			emu_json_string(buf, scope->environment);
			emu_lit(buf, ",\"database\":");
			emu_json_string(buf, scope->database);
			if (scope->owner[0] != '\0')
			{
				emu_lit(buf, ",\"owner\":");
				emu_json_string(buf, scope->owner);
			}
			emu_lit(buf, ",\"zone\":");
			emu_json_string(buf, zone->name);
			if (scope->owner[0] != '\0' && strcmp(zone->owner, scope->owner) != 0)
			{
				emu_lit(buf, ",\"zoneOwner\":");
				emu_json_string(buf, zone->owner);
			}
			emu_lit(buf, ",\"records\":[");
			for (i = 0; i < zone->norder; i++)
			{
				EmuRecord  *rec = zone->order[i];
				int			f;

				if (rec == NULL)
					continue;
				if (!first)
					emu_lit(buf, ",");
				first = false;
				emu_lit(buf, "{\"recordName\":");
				emu_json_string(buf, rec->name);
				emu_lit(buf, ",\"recordType\":");
				emu_json_string(buf, rec->type);
				emu_lit(buf, ",\"recordChangeTag\":");
				emu_json_string(buf, rec->tag);
				ck_buf_appendf(buf, ",\"created\":{\"timestamp\":%lld,\"userRecordName\":",
							   (long long) rec->created_ms);
				emu_json_string(buf, rec->created_user);
				ck_buf_appendf(buf, "},\"modified\":{\"timestamp\":%lld,\"userRecordName\":",
							   (long long) rec->modified_ms);
				emu_json_string(buf, rec->modified_user);
				emu_lit(buf, "},\"fields\":{");
				for (f = 0; f < rec->nfields; f++)
				{
					if (f > 0)
						emu_lit(buf, ",");
					emu_json_string(buf, rec->fields[f].name);
					emu_lit(buf, ":");
					emu_value_render_dump(buf, &rec->fields[f].v);
				}
				emu_lit(buf, "}}");
			}
			emu_lit(buf, "]}");
		}
	}
	emu_lit(buf, "]}");
}

/* POST /_ckemu/reset: the seed data again, no faults, zero statistics. */
bool
emu_reset(char *err, size_t errlen)
{
	bool		ok;
	int			i;

	pthread_rwlock_wrlock(&emu_store_lock);
	for (i = 0; seed_files != NULL && i < emu_config.ndata_files; i++)
		if (!emu_seed_file_unchanged(&seed_files[i]))
		{
			pthread_rwlock_unlock(&emu_store_lock);
			snprintf(err, errlen, "seed file \"%s\" was changed since start-up: "
					 "restart ckemu to load it", emu_config.data_files[i]);
			return false;
		}
	emu_store_clear();
	emu_query_cache_clear();
	emu_assets_clear();
	ok = emu_seed_load_all(err, errlen);
	pthread_rwlock_unlock(&emu_store_lock);
	emu_faults_clear();
	emu_stats_clear();
	emu_auth_reset();
	return ok;
}
