/*-------------------------------------------------------------------------
 *
 * index.c
 *		Index lag: CloudKit updates its query index asynchronously, so a
 *		record written a moment ago can be missing from records/query
 *		while records/lookup (by name) already returns it (fact sheet
 *		section 4.3).  Off by default.
 *
 * Every record write (a save or a delete) gets the next write number.
 * While the index lags, queries see only records whose last write is at or
 * below the index position; the position moves only when asked, so a test
 * decides exactly which writes a query sees (no timers):
 *
 *	GET  /_ckemu/index					{"lag":b,"writes":N,"indexed":M,"pending":N-M}
 *	POST /_ckemu/index {"lag":true}		start lagging (--index-lag at start-up)
 *	POST /_ckemu/index {"catch_up":K}	index the next K writes, in write order
 *	POST /_ckemu/index {"catch_up":"all"}	index every write so far
 *	POST /_ckemu/index {"lag":false}	index everything and stop lagging
 *
 * A record whose latest write is not indexed yet is left out of queries.
 * (Apple's index would still show its previous version; for a job that
 * reads by modifiedTimestamp both mean the same: the change is not seen.)
 * Deleted records vanish from queries at once.  Seed records are indexed;
 * POST /_ckemu/reset restores the start-up setting.
 *
 * test/ckemu/index.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckemu.h"

/* all three under the store lock */
static bool index_lagging;
static int64_t index_writes;	/* writes so far */
static int64_t index_position;	/* writes the index has seen */

/* A record was saved or deleted.  Caller holds the write lock. */
void
emu_index_note_write(EmuRecord *rec)
{
	rec->write_no = ++index_writes;
	if (!index_lagging)
		index_position = index_writes;
}

/* Whether records/query sees the record's latest state.  Read lock held. */
bool
emu_index_visible(const EmuRecord *rec)
{
	return rec->write_no <= index_position;
}

/* Everything indexed, and lagging as at start-up.  Write lock held. */
void
emu_index_reset(void)
{
	index_position = index_writes;
	index_lagging = emu_config.index_lag;
}

static void
emu_index_render(CkBuf *out)
{
	ck_buf_appendf(out, "{\"lag\":%s,\"writes\":%lld,\"indexed\":%lld,\"pending\":%lld}",
				   index_lagging ? "true" : "false", (long long) index_writes,
				   (long long) index_position, (long long) (index_writes - index_position));
}

/*
 * GET or POST /_ckemu/index.  Returns an error message for a bad body (the
 * caller answers 400), or NULL after filling req->out.
 */
const char *
emu_index_admin(EmuRequest *req)
{
	json_object *body = NULL;
	json_object *jlag = NULL;
	json_object *jcatch = NULL;
	int64_t		catch_up = 0;
	bool		all = false;

	if (strcmp(req->method, "POST") == 0)
	{
		body = req->body.len > 0 ? json_tokener_parse(req->body.data) : NULL;
		if (body == NULL || !json_object_is_type(body, json_type_object))
		{
			json_object_put(body);
			return "the body must be a JSON object: {\"lag\": true|false} or {\"catch_up\": N|\"all\"}";
		}
		jlag = emu_get(body, "lag");
		jcatch = emu_get(body, "catch_up");
		if (jlag == NULL && jcatch == NULL)
		{
			json_object_put(body);
			return "nothing to do: give \"lag\" or \"catch_up\"";
		}
		if (jlag != NULL && !json_object_is_type(jlag, json_type_boolean))
		{
			json_object_put(body);
			return "\"lag\" must be true or false";
		}
		if (jcatch != NULL)
		{
			if (json_object_is_type(jcatch, json_type_string) &&
				strcmp(json_object_get_string(jcatch), "all") == 0)
				all = true;
			else if (json_object_is_type(jcatch, json_type_int) &&
					 (catch_up = json_object_get_int64(jcatch)) >= 0)
				;
			else
			{
				json_object_put(body);
				return "\"catch_up\" must be a number of writes (0 or more) or \"all\"";
			}
		}
	}

	pthread_rwlock_wrlock(&emu_store_lock);
	if (jlag != NULL)
	{
		index_lagging = json_object_get_boolean(jlag);
		if (!index_lagging)
			all = true;
	}
	if (all)
		index_position = index_writes;
	else if (catch_up > index_writes - index_position)
		index_position = index_writes;
	else
		index_position += catch_up;
	/* cached query results were computed with the old index */
	emu_store_bump();
	ck_buf_reset(&req->out);
	emu_index_render(&req->out);
	pthread_rwlock_unlock(&emu_store_lock);
	json_object_put(body);
	req->status = 200;
	req->answered = true;
	return NULL;
}
