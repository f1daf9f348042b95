/*-------------------------------------------------------------------------
 *
 * changes.c
 *		changes/database and changes/zone: the change feeds of the private
 *		and shared databases (fact sheet section 6).
 *
 * Every record change gets the next sequence number of its zone, and
 * every zone change the next sequence number of its database.  A
 * syncToken is an opaque encoding of (zone or database incarnation,
 * sequence); a page lists each record changed after that position once,
 * in its latest state (a tombstone {recordName, deleted:true} when it was
 * deleted), and its token is the position of the last change listed, so
 * that following tokens while moreComing is true never skips a change.
 *
 * Change tracking is a custom-zone capability: the default zone answers a
 * per-zone BAD_REQUEST, and the public database refuses both feeds.
 * Deleted zones appear in changes/database as {zoneID, deleted:true}
 * (how Apple marks them is unconfirmed).
 *
 * test/ckemu/changes.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckemu.h"

/* resultsLimit: absent = the maximum; larger values are clamped. */
static bool
emu_limit(EmuRequest *req, json_object *j, int dflt, int *out, char *err, size_t errlen)
{
	int64_t		v;

	*out = dflt;
	if (j == NULL || json_object_is_type(j, json_type_null))
		return true;
	if (!json_object_is_type(j, json_type_int) || (v = json_object_get_int64(j)) <= 0)
	{
		snprintf(err, errlen, "resultsLimit must be a positive integer");
		return false;
	}
	*out = v > emu_config.results_limit_max ? emu_config.results_limit_max : (int) v;
	return true;
}

void
emu_op_changes_database(EmuRequest *req, json_object *body)
{
	json_object *jtok = emu_get(body, "syncToken");
	EmuScope   *scope = req->scope;
	int64_t		from = 0;
	int			limit,
				i,
				n = 0,
				listed = 0;
	EmuZone   **zones;
	int64_t		last = 0;
	bool		more = false;
	char	   *tok;
	char		err[128];

	if (req->public_db)
	{
		emu_error(req, "BAD_REQUEST", "changes/database is not available in the public database");
		return;
	}
	if (emu_share_active && emu_share_changes_database(req, body))
		return;
	if (!emu_limit(req, emu_get(body, "resultsLimit"), emu_config.results_limit_max, &limit,
				   err, sizeof(err)))
	{
		emu_error(req, "BAD_REQUEST", "%s", err);
		return;
	}
	if (jtok != NULL && !json_object_is_type(jtok, json_type_null))
	{
		int64_t		inc = -1;

		if (!json_object_is_type(jtok, json_type_string) ||
			!emu_token_decode(json_object_get_string(jtok), "d", &inc, &from) ||
			inc != scope->incarnation || from < 0 || from > scope->seq)
		{
			if (inc >= scope->life_incarnation && inc < scope->incarnation)
				emu_error(req, EMU_EXPIRED_TOKEN_CODE, "%s", EMU_EXPIRED_TOKEN_REASON);
			else
				emu_error(req, "BAD_REQUEST", "Invalid syncToken for this database");
			return;
		}
	}

	/* the zones changed since the token, in the order of their last change */
	zones = emu_malloc(sizeof(EmuZone *) * (scope->nzones + 1));
	for (i = 0; i < scope->nzones; i++)
		if (scope->zones[i]->db_seq > from)
			zones[n++] = scope->zones[i];
	for (i = 1; i < n; i++)
	{
		EmuZone    *z = zones[i];
		int			j = i - 1;

		while (j >= 0 && zones[j]->db_seq > z->db_seq)
		{
			zones[j + 1] = zones[j];
			j--;
		}
		zones[j + 1] = z;
	}

	emu_lit(&req->out, "{\"zones\":[");
	for (i = 0; i < n; i++)
	{
		if (listed == limit)
		{
			more = true;
			break;
		}
		if (listed > 0)
			emu_lit(&req->out, ",");
		emu_lit(&req->out, "{\"zoneID\":");
		emu_render_zone_id(&req->out, zones[i]);
		if (zones[i]->deleted)
			emu_lit(&req->out, ",\"deleted\":true");
		emu_lit(&req->out, "}");
		last = zones[i]->db_seq;
		listed++;
	}
	tok = emu_token_encode("d", scope->incarnation, more ? last : scope->seq);
	emu_lit(&req->out, "],\"syncToken\":");
	emu_json_string(&req->out, tok);
	ck_buf_appendf(&req->out, ",\"moreComing\":%s}", more ? "true" : "false");
	free(tok);
	free(zones);
	req->status = 200;
	req->answered = true;
}

/* Index of the first log entry with seq > from (the log is in seq order). */
static size_t
emu_log_search(const EmuZone *zone, int64_t from)
{
	size_t		lo = 0,
				hi = zone->nlog;

	while (lo < hi)
	{
		size_t		mid = (lo + hi) / 2;

		if (zone->log[mid].seq <= from)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool
emu_type_wanted(json_object *types, const char *type)
{
	int			i,
				n;

	if (types == NULL)
		return true;
	n = (int) json_object_array_length(types);
	for (i = 0; i < n; i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(types, i)), type) == 0)
			return true;
	return false;
}

static void
emu_zone_error(CkBuf *out, json_object *zid, const char *name, const char *code,
			   const char *reason)
{
	emu_lit(out, "{\"zoneID\":");
	if (zid != NULL && json_object_is_type(zid, json_type_object))
		emu_json_object(out, zid);
	else
	{
		emu_lit(out, "{\"zoneName\":");
		emu_json_string(out, name ? name : "");
		emu_lit(out, "}");
	}
	ck_buf_appendf(out, ",\"serverErrorCode\":\"%s\",\"reason\":", code);
	emu_json_string(out, reason);
	emu_lit(out, "}");
}

/* An option of changes/zone: the zone's own value, else the request's. */
static json_object *
emu_zone_opt(json_object *zone, json_object *body, const char *key)
{
	json_object *v = emu_get(zone, key);

	if (v == NULL || json_object_is_type(v, json_type_null))
		v = emu_get(body, key);
	if (v != NULL && json_object_is_type(v, json_type_null))
		v = NULL;
	return v;
}

/* One zone of changes/zone; appends its entry to req->out. */
static void
emu_zone_changes(EmuRequest *req, json_object *body, json_object *jz)
{
	json_object *zid = emu_get(jz, "zoneID");
	json_object *jtok = emu_zone_opt(jz, body, "syncToken");
	json_object *jtypes = emu_zone_opt(jz, body, "desiredRecordTypes");
	json_object *jrev = emu_zone_opt(jz, body, "reverse");
	json_object *jnas = emu_zone_opt(jz, body, "numbersAsStrings");
	const char *name = NULL,
			   *owner = NULL;
	EmuZone    *zone;
	EmuKeys		keys;
	int64_t		from = 0;
	int			limit,
				listed = 0,
				i;
	size_t		pos;
	int64_t		last = 0;
	bool		more = false;
	bool		nas = false;
	char	   *tok;
	char		err[256];

	if (jnas == NULL)
		jnas = emu_zone_opt(jz, body, "numberAsStrings");	/* Apple's spelling on this page */
	if (!json_object_is_type(jz, json_type_object) ||
		!emu_parse_zone_id(zid, &name, &owner, err, sizeof(err)) || zid == NULL)
	{
		emu_zone_error(&req->out, zid, name, "BAD_REQUEST", "Each zones entry needs a zoneID with a zoneName");
		return;
	}
	zone = emu_zone_find(req->scope, name, owner);
	if (zone == NULL)
	{
		emu_zone_error(&req->out, zid, name, "ZONE_NOT_FOUND", "Zone does not exist");
		return;
	}
	if (zone->is_default)
	{
		emu_zone_error(&req->out, zid, name, "BAD_REQUEST",
					   "Fetching changes is not supported in the default zone");
		return;
	}
	if (jrev != NULL && (!json_object_is_type(jrev, json_type_boolean) ||
						 json_object_get_boolean(jrev)))
	{
		emu_zone_error(&req->out, zid, name, "BAD_REQUEST",
					   strcmp(req->database, "shared") == 0 ?
					   "Reverse sync of share db is unsupported" :
					   "Reverse sync is unsupported");
		return;
	}
	if (jnas != NULL)
	{
		if (!json_object_is_type(jnas, json_type_boolean))
		{
			emu_zone_error(&req->out, zid, name, "BAD_REQUEST", "numbersAsStrings must be a boolean");
			return;
		}
		nas = json_object_get_boolean(jnas);
	}
	if (!emu_limit(req, emu_zone_opt(jz, body, "resultsLimit"), emu_config.results_limit_max,
				   &limit, err, sizeof(err)))
	{
		emu_zone_error(&req->out, zid, name, "BAD_REQUEST", err);
		return;
	}
	if (jtypes != NULL)
	{
		int			n;

		if (!json_object_is_type(jtypes, json_type_array))
		{
			emu_zone_error(&req->out, zid, name, "BAD_REQUEST", "desiredRecordTypes must be an array of strings");
			return;
		}
		n = (int) json_object_array_length(jtypes);
		for (i = 0; i < n; i++)
			if (!json_object_is_type(json_object_array_get_idx(jtypes, i), json_type_string))
			{
				emu_zone_error(&req->out, zid, name, "BAD_REQUEST", "desiredRecordTypes must be an array of strings");
				return;
			}
	}
	if (jtok != NULL)
	{
		int64_t		inc = -1;

		if (!json_object_is_type(jtok, json_type_string) ||
			!emu_token_decode(json_object_get_string(jtok), "z", &inc, &from) ||
			inc != zone->incarnation || from < 0 || from > zone->seq)
		{
			bool		expired = (inc >= zone->life_incarnation &&
								   inc < zone->incarnation);

			emu_zone_error(&req->out, zid, name,
						   expired ? EMU_EXPIRED_TOKEN_CODE : "BAD_REQUEST",
						   expired ? EMU_EXPIRED_TOKEN_REASON : "Invalid syncToken for this zone");
			return;
		}
	}
	if (!emu_keys_parse(emu_zone_opt(jz, body, "desiredKeys"), &keys, NULL, err, sizeof(err)))
	{
		emu_zone_error(&req->out, zid, name, "BAD_REQUEST", err);
		return;
	}

	emu_lit(&req->out, "{\"zoneID\":");
	emu_render_zone_id(&req->out, zone);
	emu_lit(&req->out, ",\"records\":[");
	for (pos = emu_log_search(zone, from); pos < zone->nlog; pos++)
	{
		EmuLogEntry *e = &zone->log[pos];

		/* a later entry holds this record's latest state */
		if (e->rec->seq != e->seq)
			continue;
		if (!emu_type_wanted(jtypes, e->rec->type) ||
			!emu_share_record_visible(req->scope, e->rec))
			continue;
		if (listed == limit)
		{
			more = true;
			break;
		}
		if (listed > 0)
			emu_lit(&req->out, ",");
		emu_render_record(&req->out, e->rec, &keys, nas);
		last = e->seq;
		listed++;
	}
	tok = emu_token_encode("z", zone->incarnation, more ? last : zone->seq);
	emu_lit(&req->out, "],\"syncToken\":");
	emu_json_string(&req->out, tok);
	ck_buf_appendf(&req->out, ",\"moreComing\":%s}", more ? "true" : "false");
	free(tok);
	emu_keys_free(&keys);
	req->records_out += listed;
}

/*
 * The zone_error fault (faults.c): HTTP 200 with an error dict for each zone
 * the changes/zone request names.
 */
void
emu_changes_zone_error(EmuRequest *req, const char *code, const char *reason)
{
	json_object *body = req->body.len > 0 ? json_tokener_parse(req->body.data) : NULL;
	json_object *jzones = body ? emu_get(body, "zones") : NULL;
	int			n = 0,
				i;

	if (jzones != NULL && json_object_is_type(jzones, json_type_array))
		n = (int) json_object_array_length(jzones);
	ck_buf_reset(&req->out);
	emu_lit(&req->out, "{\"zones\":[");
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			emu_lit(&req->out, ",");
		emu_zone_error(&req->out, emu_get(json_object_array_get_idx(jzones, i), "zoneID"),
					   NULL, code, reason);
	}
	emu_lit(&req->out, "]}");
	if (body != NULL)
		json_object_put(body);
	req->status = 200;
	req->answered = true;
}

void
emu_op_changes_zone(EmuRequest *req, json_object *body)
{
	json_object *jzones;
	int			n,
				i;

	if (req->public_db)
	{
		emu_error(req, "BAD_REQUEST", "changes/zone is not available in the public database");
		return;
	}
	jzones = emu_body_array(req, body, "zones", "zones", EMU_MAX_OPERATIONS, &n);
	if (jzones == NULL)
		return;
	emu_lit(&req->out, "{\"zones\":[");
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			emu_lit(&req->out, ",");
		emu_zone_changes(req, body, json_object_array_get_idx(jzones, i));
	}
	emu_lit(&req->out, "]}");
	req->status = 200;
	req->answered = true;
}
