/*-------------------------------------------------------------------------
 *
 * lookup.c
 *		records/lookup: fetch records by name, one answer per name, in
 *		request order; a missing record is a NOT_FOUND entry inside HTTP 200.
 *
 * test/ckemu/lookup.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "ckemu.h"

void
emu_op_records_lookup(EmuRequest *req, json_object *body)
{
	json_object *jrecs;
	EmuKeys		top;
	EmuZone    *zone;
	bool		nas = false;
	int			n,
				i;
	char		err[256];

	jrecs = emu_body_array(req, body, "records", "records", EMU_MAX_OPERATIONS, &n);
	if (jrecs == NULL || !emu_body_bool(req, body, "numbersAsStrings", &nas))
		return;
	for (i = 0; i < n; i++)
	{
		json_object *item = json_object_array_get_idx(jrecs, i);
		json_object *name = emu_get(item, "recordName");

		if (name == NULL || !json_object_is_type(name, json_type_string) ||
			json_object_get_string_len(name) == 0)
		{
			emu_error(req, "BAD_REQUEST", "records[%d] needs a recordName string", i);
			return;
		}
	}
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

	emu_lit(&req->out, "{\"records\":[");
	for (i = 0; i < n; i++)
	{
		json_object *item = json_object_array_get_idx(jrecs, i);
		const char *name = json_object_get_string(emu_get(item, "recordName"));
		EmuRecord  *rec = emu_record_find(zone, name);
		EmuKeys		keys;

		if (i > 0)
			emu_lit(&req->out, ",");
		if (rec == NULL && emu_share_lookup(req, zone, name, &req->out))
			continue;
		if (rec == NULL || !emu_share_record_visible(req->scope, rec))
		{
			emu_render_record_error(&req->out, name, "NOT_FOUND", "Record not found");
			continue;
		}
		if (req->public_db)
		{
			bool		mine = req->caller.signed_in &&
				strcmp(rec->created_user, req->caller.user) == 0;
			int			rights = emu_schema_rights(req->schema, rec->type, &req->caller, mine);

			if (!(rights & CK_GRANT_READ) && !(mine && (rights & CK_GRANT_WRITE)))
			{
				emu_render_record_error(&req->out, name, "ACCESS_DENIED", "READ operation not permitted");
				continue;
			}
		}
		if (!emu_keys_parse(emu_get(item, "desiredKeys"), &keys, &top, err, sizeof(err)))
		{
			emu_render_record_error(&req->out, name, "BAD_REQUEST", err);
			continue;
		}
		emu_render_record(&req->out, rec, &keys, nas);
		emu_keys_free(&keys);
		req->records_out++;
	}
	emu_lit(&req->out, "]}");
	emu_keys_free(&top);
	req->status = 200;
	req->answered = true;
}
