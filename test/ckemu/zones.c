/*-------------------------------------------------------------------------
 *
 * zones.c
 *		zones/list, zones/lookup and zones/modify (fact sheet section 7).
 *
 * The public database has only _defaultZone; custom zones live in the
 * private database (the shared database shows other users' zones and is
 * filled by seed files).  Creating a zone that exists returns it, as the
 * native API's save does (EMU_ZONE_CREATE_EXISTING_FAILS switches to
 * EXISTS); deleting a zone deletes its records.
 *
 * test/ckemu/zones.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckemu.h"

/* {"zoneID": {...}, "syncToken": "...", "atomic": bool} */
void
emu_render_zone(CkBuf *buf, const EmuZone *zone)
{
	char	   *tok = emu_token_encode("z", zone->incarnation, zone->seq);

	emu_lit(buf, "{\"zoneID\":");
	emu_render_zone_id(buf, zone);
	emu_lit(buf, ",\"syncToken\":");
	emu_json_string(buf, tok);
	ck_buf_appendf(buf, ",\"atomic\":%s}", zone->is_default ? "false" : "true");
	free(tok);
}

static void
emu_zone_id_error(CkBuf *buf, const char *name, const char *owner, const char *code,
				  const char *reason)
{
	emu_lit(buf, "{\"zoneID\":{\"zoneName\":");
	emu_json_string(buf, name ? name : "");
	if (owner != NULL)
	{
		emu_lit(buf, ",\"ownerRecordName\":");
		emu_json_string(buf, owner);
	}
	emu_lit(buf, "},\"reason\":");
	emu_json_string(buf, reason);
	ck_buf_appendf(buf, ",\"serverErrorCode\":\"%s\"}", code);
}

void
emu_op_zones_list(EmuRequest *req, json_object *body)
{
	int			i;
	bool		first = true;

	emu_lit(&req->out, "{\"zones\":[");
	for (i = 0; i < req->scope->nzones; i++)
	{
		EmuZone    *zone = req->scope->zones[i];

		if (!emu_zone_visible(zone))
			continue;
		if (!first)
			emu_lit(&req->out, ",");
		first = false;
		emu_render_zone(&req->out, zone);
	}
	emu_share_list_zones(req->scope, &req->out, &first);
	emu_lit(&req->out, "]}");
	req->status = 200;
	req->answered = true;
}

void
emu_op_zones_lookup(EmuRequest *req, json_object *body)
{
	json_object *jzones;
	int			n,
				i;

	jzones = emu_body_array(req, body, "zones", "zones", EMU_MAX_OPERATIONS, &n);
	if (jzones == NULL)
		return;
	for (i = 0; i < n; i++)
	{
		const char *name,
				   *owner;
		char		err[256];
		json_object *z = json_object_array_get_idx(jzones, i);

		/* entries are zone ID dicts; accept {zoneID: {...}} too */
		if (emu_get(z, "zoneID") != NULL)
			z = emu_get(z, "zoneID");
		if (z == NULL || !emu_parse_zone_id(z, &name, &owner, err, sizeof(err)))
		{
			emu_error(req, "BAD_REQUEST", "zones[%d]: %s", i, z == NULL ? "missing" : err);
			return;
		}
	}
	emu_lit(&req->out, "{\"zones\":[");
	for (i = 0; i < n; i++)
	{
		const char *name,
				   *owner;
		char		err[256];
		json_object *z = json_object_array_get_idx(jzones, i);
		EmuZone    *zone;

		if (emu_get(z, "zoneID") != NULL)
			z = emu_get(z, "zoneID");
		emu_parse_zone_id(z, &name, &owner, err, sizeof(err));
		if (i > 0)
			emu_lit(&req->out, ",");
		zone = emu_zone_find(req->scope, name, owner);
		if (zone == NULL)
			emu_zone_id_error(&req->out, name, owner, "ZONE_NOT_FOUND", "Zone does not exist");
		else
			emu_render_zone(&req->out, zone);
	}
	emu_lit(&req->out, "]}");
	req->status = 200;
	req->answered = true;
}

static bool
emu_valid_zone_name(const char *s)
{
	const unsigned char *p;

	if (*s == '\0' || *s == '_' || strlen(s) > EMU_MAX_NAME_LEN)
		return false;
	for (p = (const unsigned char *) s; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

void
emu_op_zones_modify(EmuRequest *req, json_object *body)
{
	json_object *jops;
	EmuMap		seen;
	int			n,
				i;

	if (req->public_db)
	{
		emu_error(req, "BAD_REQUEST", "Custom zones are not supported in the public database");
		return;
	}
	if (strcmp(req->database, "shared") == 0)
	{
		emu_error(req, "BAD_REQUEST", "Zones of the shared database belong to other users and cannot be modified");
		return;
	}
	jops = emu_body_array(req, body, "operations", "operations", EMU_MAX_OPERATIONS, &n);
	if (jops == NULL)
		return;
	emu_map_init(&seen);
	for (i = 0; i < n; i++)
	{
		json_object *op = json_object_array_get_idx(jops, i);
		json_object *jt = emu_get(op, "operationType");
		json_object *jz = emu_get(op, "zone");
		const char *name,
				   *owner;
		char		err[256];

		if (jt == NULL || !json_object_is_type(jt, json_type_string) ||
			(strcmp(json_object_get_string(jt), "create") != 0 &&
			 strcmp(json_object_get_string(jt), "delete") != 0))
		{
			emu_error(req, "BAD_REQUEST", "operations[%d]: operationType must be create or delete", i);
			goto done;
		}
		if (jz == NULL || !json_object_is_type(jz, json_type_object) ||
			!emu_parse_zone_id(emu_get(jz, "zoneID"), &name, &owner, err, sizeof(err)) ||
			emu_get(jz, "zoneID") == NULL)
		{
			emu_error(req, "BAD_REQUEST", "operations[%d] needs zone.zoneID with a zoneName", i);
			goto done;
		}
		if (emu_map_get(&seen, name) != NULL)
		{
			emu_error(req, "BAD_REQUEST", "Only one operation per zone is allowed: zone '%s' appears twice", name);
			goto done;
		}
		emu_map_put(&seen, name, (void *) name);
	}

	emu_lit(&req->out, "{\"zones\":[");
	for (i = 0; i < n; i++)
	{
		json_object *op = json_object_array_get_idx(jops, i);
		bool		create = strcmp(json_object_get_string(emu_get(op, "operationType")), "create") == 0;
		const char *name,
				   *owner;
		char		err[256];
		EmuZone    *zone;

		emu_parse_zone_id(emu_get(emu_get(op, "zone"), "zoneID"), &name, &owner, err, sizeof(err));
		if (i > 0)
			emu_lit(&req->out, ",");
		req->records_in++;
		if (owner != NULL && *owner != '\0' && strcmp(owner, "__defaultOwner__") != 0 &&
			strcmp(owner, req->caller.user) != 0)
		{
			emu_zone_id_error(&req->out, name, owner, "ACCESS_DENIED",
							  "Zones of other users cannot be modified");
			continue;
		}
		zone = emu_zone_find(req->scope, name, NULL);
		if (create)
		{
			if (zone != NULL && EMU_ZONE_CREATE_EXISTING_FAILS)
			{
				emu_zone_id_error(&req->out, name, owner, "EXISTS", "Zone already exists");
				continue;
			}
			if (zone == NULL && !emu_valid_zone_name(name))
			{
				emu_zone_id_error(&req->out, name, owner, "BAD_REQUEST",
								  "Invalid zone name: 1 to 255 printable ASCII characters, not starting with '_'");
				continue;
			}
			if (zone == NULL)
				zone = emu_zone_create(req->scope, name, req->scope->zones[0]->owner);
			emu_render_zone(&req->out, zone);
			req->records_out++;
		}
		else
		{
			if (zone == NULL)
			{
				emu_zone_id_error(&req->out, name, owner, "ZONE_NOT_FOUND", "Zone does not exist");
				continue;
			}
			if (zone->is_default)
			{
				emu_zone_id_error(&req->out, name, owner, "BAD_REQUEST", "The default zone cannot be deleted");
				continue;
			}
			emu_zone_delete(zone);
			emu_lit(&req->out, "{\"zoneID\":");
			emu_render_zone_id(&req->out, zone);
			emu_lit(&req->out, ",\"deleted\":true}");
			req->records_out++;
		}
	}
	emu_lit(&req->out, "]}");
	req->status = 200;
	req->answered = true;
done:
	emu_map_free(&seen, NULL);
}
