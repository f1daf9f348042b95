/*-------------------------------------------------------------------------
 *
 * faults.c
 *		Injected failures for /database/ requests, so that clients' retry,
 *		timeout and error paths can be tested deterministically.
 *
 * POST /_ckemu/faults replaces the rule list with a JSON array of rules:
 *
 *	{"operation": "records/query",	optional; omitted = every operation
 *	 "after": N,					skip the first N matching requests (0)
 *	 "count": K,					fire K times (1); 0 = unlimited
 *	 "probability": p, "seed": S,	fire with probability p, seeded PRNG
 *	 "action": "error" | "delay" | "drop_before" | "drop_after" |
 *			   "truncate" | "malformed" | "repeat_marker" |
 *			   "zone_error" | "respond",
 *	 "serverErrorCode": "THROTTLED", "retryAfter": secs, "reason": "...",
 *	 "status": http (optional; default from the code), "delayMs": ms,
 *	 "body": {...} or "raw answer text" (respond)}
 *
 * repeat_marker answers a request sent with a continuationMarker with that
 * same marker (the records are the right ones), and a changes/zone request
 * sent with a syncToken with that token and moreComing: a server whose
 * paging goes round in circles.  The request itself is carried out.
 *
 * "zone_error" answers a changes/zone request with HTTP 200 and, for each
 * zone asked for, the error dict {zoneID, serverErrorCode, reason}: the
 * per-zone failure clients must not take for an empty page.
 *
 * "respond" answers with "body" (and "status", default 200) instead of
 * carrying the request out: answers ckemu never gives by itself (a
 * per-zone error in zones/list, a missing key), for testing a client's
 * handling of them.  A JSON object is sent as JSON; a string is sent as
 * it is, so that it can hold what ckemu would never store or print, such
 * as "\u0000" in a record name or a lone surrogate "\uD800".
 *
 * Every rule counts every request it matches; the first rule that is due
 * fires.  Probabilities use a per-rule splitmix64 generator, so a given
 * seed gives the same sequence on every run.
 *
 * test/ckemu/faults.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckemu.h"

typedef struct EmuFaultRule
{
	char	   *operation;		/* NULL = any */
	int64_t		after;
	int64_t		count;
	double		probability;
	uint64_t	rng;
	EmuFault	fault;
	int64_t		matched;
	int64_t		fired;
} EmuFaultRule;

static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;
static EmuFaultRule *rules;
static int	nrules;

static const char *const action_names[] = {
	NULL, "error", "delay", "drop_before", "drop_after", "truncate", "malformed",
	"repeat_marker", "zone_error", "respond"
};

void
emu_faults_init(void)
{
	rules = NULL;
	nrules = 0;
}

static void
emu_rules_free(EmuFaultRule *r, int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		free(r[i].operation);
		free(r[i].fault.body);
	}
	free(r);
}

void
emu_faults_clear(void)
{
	pthread_mutex_lock(&fault_lock);
	emu_rules_free(rules, nrules);
	rules = NULL;
	nrules = 0;
	pthread_mutex_unlock(&fault_lock);
}

static uint64_t
emu_splitmix64(uint64_t *state)
{
	uint64_t	z = (*state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static bool
emu_rule_int(json_object *rule, const char *key, int64_t dflt, int64_t min, int64_t max,
			 int64_t *out, char *err, size_t errlen)
{
	json_object *v = emu_get(rule, key);

	*out = dflt;
	if (v == NULL || json_object_is_type(v, json_type_null))
		return true;
	if (!json_object_is_type(v, json_type_int) ||
		json_object_get_int64(v) < min || json_object_get_int64(v) > max)
	{
		snprintf(err, errlen, "\"%s\" must be an integer from %lld to %lld", key,
				 (long long) min, (long long) max);
		return false;
	}
	*out = json_object_get_int64(v);
	return true;
}

static bool
emu_rule_parse(json_object *j, EmuFaultRule *r, char *err, size_t errlen)
{
	json_object *v;
	int64_t		tmp;
	int			a;
	static const char *const known_keys[] = {
		"operation", "after", "count", "probability", "seed", "action",
		"serverErrorCode", "retryAfter", "reason", "delayMs", "status", "body"
	};

	memset(r, 0, sizeof(*r));
	r->fault.retry_after = -1;
	r->probability = 1.0;
	if (!json_object_is_type(j, json_type_object))
	{
		snprintf(err, errlen, "each rule must be a JSON object");
		return false;
	}
	json_object_object_foreach(j, key, val)
	{
		size_t		k;

		(void) val;
		for (k = 0; k < sizeof(known_keys) / sizeof(known_keys[0]); k++)
			if (strcmp(known_keys[k], key) == 0)
				break;
		if (k == sizeof(known_keys) / sizeof(known_keys[0]))
		{
			snprintf(err, errlen, "unknown rule key \"%s\"", key);
			return false;
		}
	}

	v = emu_get(j, "action");
	if (v == NULL || !json_object_is_type(v, json_type_string))
	{
		snprintf(err, errlen, "\"action\" is required: error, delay, drop_before, drop_after, truncate, malformed, repeat_marker, zone_error or respond");
		return false;
	}
	for (a = 1; a < (int) (sizeof(action_names) / sizeof(action_names[0])); a++)
		if (strcmp(action_names[a], json_object_get_string(v)) == 0)
			break;
	if (a == (int) (sizeof(action_names) / sizeof(action_names[0])))
	{
		snprintf(err, errlen, "unknown action \"%s\"", json_object_get_string(v));
		return false;
	}
	r->fault.action = (EmuFaultAction) a;

	v = emu_get(j, "operation");
	if (v != NULL && !json_object_is_type(v, json_type_null))
	{
		if (!json_object_is_type(v, json_type_string))
		{
			snprintf(err, errlen, "\"operation\" must be a string such as \"records/query\"");
			return false;
		}
		r->operation = emu_strdup(json_object_get_string(v));
	}
	if (!emu_rule_int(j, "after", 0, 0, INT64_MAX, &r->after, err, errlen) ||
		!emu_rule_int(j, "count", 1, 0, INT64_MAX, &r->count, err, errlen) ||
		!emu_rule_int(j, "seed", 0, INT64_MIN, INT64_MAX, &tmp, err, errlen))
		return false;
	r->rng = (uint64_t) tmp;
	v = emu_get(j, "probability");
	if (v != NULL && !json_object_is_type(v, json_type_null))
	{
		if (!(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) ||
			json_object_get_double(v) < 0 || json_object_get_double(v) > 1)
		{
			snprintf(err, errlen, "\"probability\" must be a number from 0 to 1");
			return false;
		}
		r->probability = json_object_get_double(v);
	}

	if (r->fault.action == EMU_FAULT_ERROR || r->fault.action == EMU_FAULT_ZONE_ERROR)
	{
		v = emu_get(j, "serverErrorCode");
		if (v == NULL || !json_object_is_type(v, json_type_string) ||
			json_object_get_string_len(v) == 0 ||
			json_object_get_string_len(v) >= (int) sizeof(r->fault.code))
		{
			snprintf(err, errlen, "an error rule needs \"serverErrorCode\"");
			return false;
		}
		snprintf(r->fault.code, sizeof(r->fault.code), "%s", json_object_get_string(v));
		if (!emu_rule_int(j, "status", 0, 0, 599, &tmp, err, errlen))
			return false;
		r->fault.status = (int) tmp;
		if (!emu_code_known(r->fault.code) && r->fault.status == 0)
		{
			snprintf(err, errlen, "unknown serverErrorCode \"%s\": give \"status\" too", r->fault.code);
			return false;
		}
		if (!emu_rule_int(j, "retryAfter", -1, 0, 86400, &tmp, err, errlen))
			return false;
		r->fault.retry_after = (int) tmp;
		v = emu_get(j, "reason");
		if (v != NULL && json_object_is_type(v, json_type_string))
			snprintf(r->fault.reason, sizeof(r->fault.reason), "%s", json_object_get_string(v));
	}
	if (r->fault.action == EMU_FAULT_RESPOND)
	{
		v = emu_get(j, "body");
		if (json_object_is_type(v, json_type_string))
			r->fault.body = emu_strdup(json_object_get_string(v));
		else if (json_object_is_type(v, json_type_object))
			r->fault.body = emu_strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		else
		{
			snprintf(err, errlen, "a respond rule needs \"body\": a JSON object, or the answer's raw text");
			return false;
		}
		if (!emu_rule_int(j, "status", 200, 100, 599, &tmp, err, errlen))
			return false;
		r->fault.status = (int) tmp;
	}
	if (r->fault.action == EMU_FAULT_DELAY)
	{
		if (emu_get(j, "delayMs") == NULL)
		{
			snprintf(err, errlen, "a delay rule needs \"delayMs\"");
			return false;
		}
		if (!emu_rule_int(j, "delayMs", 0, 0, 600000, &tmp, err, errlen))
			return false;
		r->fault.delay_ms = (int) tmp;
	}
	return true;
}

/* Replace the rules; on error nothing changes. */
bool
emu_faults_set(json_object *list, char *err, size_t errlen)
{
	EmuFaultRule *nr;
	int			n,
				i;

	if (json_object_is_type(list, json_type_object))
	{
		/* a single rule, or {"rules": [...]} */
		if (emu_get(list, "rules") != NULL)
			list = emu_get(list, "rules");
		else
		{
			nr = emu_malloc(sizeof(EmuFaultRule));
			if (!emu_rule_parse(list, nr, err, errlen))
			{
				emu_rules_free(nr, 1);
				return false;
			}
			pthread_mutex_lock(&fault_lock);
			emu_rules_free(rules, nrules);
			rules = nr;
			nrules = 1;
			pthread_mutex_unlock(&fault_lock);
			return true;
		}
	}
	if (!json_object_is_type(list, json_type_array))
	{
		snprintf(err, errlen, "the body must be a JSON array of rules");
		return false;
	}
	n = (int) json_object_array_length(list);
	nr = calloc(n > 0 ? n : 1, sizeof(EmuFaultRule));
	for (i = 0; i < n; i++)
	{
		char		e[256];

		if (!emu_rule_parse(json_object_array_get_idx(list, i), &nr[i], e, sizeof(e)))
		{
			snprintf(err, errlen, "rule %d: %s", i, e);
			emu_rules_free(nr, i + 1);
			return false;
		}
	}
	pthread_mutex_lock(&fault_lock);
	emu_rules_free(rules, nrules);
	rules = nr;
	nrules = n;
	pthread_mutex_unlock(&fault_lock);
	return true;
}

/* The fault to apply to this request, if any (action NONE otherwise). */
void
emu_faults_pick(const char *op, EmuFault *fault)
{
	int			i;
	bool		chosen = false;

	memset(fault, 0, sizeof(*fault));
	fault->retry_after = -1;
	pthread_mutex_lock(&fault_lock);
	for (i = 0; i < nrules; i++)
	{
		EmuFaultRule *r = &rules[i];

		if (r->operation != NULL && strcmp(r->operation, op) != 0)
			continue;
		r->matched++;
		if (r->matched <= r->after)
			continue;
		if (r->count > 0 && r->fired >= r->count)
			continue;
		if (r->probability < 1.0)
		{
			double		draw = (double) (emu_splitmix64(&r->rng) >> 11) / (double) (UINT64_C(1) << 53);

			if (draw >= r->probability)
				continue;
		}
		if (chosen)
			continue;
		r->fired++;
		*fault = r->fault;
		/* the rules may be replaced before the caller is done with it */
		if (fault->body != NULL)
			fault->body = emu_strdup(fault->body);
		chosen = true;
	}
	pthread_mutex_unlock(&fault_lock);
}

json_object *
emu_faults_list(void)
{
	json_object *arr = json_object_new_array();
	int			i;

	pthread_mutex_lock(&fault_lock);
	for (i = 0; i < nrules; i++)
	{
		EmuFaultRule *r = &rules[i];
		json_object *o = json_object_new_object();

		if (r->operation)
			json_object_object_add(o, "operation", json_object_new_string(r->operation));
		json_object_object_add(o, "action", json_object_new_string(action_names[r->fault.action]));
		json_object_object_add(o, "after", json_object_new_int64(r->after));
		json_object_object_add(o, "count", json_object_new_int64(r->count));
		json_object_object_add(o, "probability", json_object_new_double(r->probability));
		if (r->fault.action == EMU_FAULT_ERROR || r->fault.action == EMU_FAULT_ZONE_ERROR)
			json_object_object_add(o, "serverErrorCode", json_object_new_string(r->fault.code));
		if (r->fault.action == EMU_FAULT_DELAY)
			json_object_object_add(o, "delayMs", json_object_new_int(r->fault.delay_ms));
		json_object_object_add(o, "matched", json_object_new_int64(r->matched));
		json_object_object_add(o, "fired", json_object_new_int64(r->fired));
		json_object_array_add(arr, o);
	}
	pthread_mutex_unlock(&fault_lock);
	return arr;
}

/*
 * Rewrite the answer of a request whose operation ran, for the actions
 * that change what it says rather than how it arrives.  Frees fault->body.
 */
void
emu_faults_apply(EmuRequest *req, EmuFault *fault)
{
	if (fault->action == EMU_FAULT_REPEAT_MARKER && req->status == 200)
	{
		json_object *body = json_tokener_parse(req->body.data ? req->body.data : "");
		json_object *out = json_tokener_parse(req->out.data ? req->out.data : "");
		json_object *sent = emu_get(body, "continuationMarker");
		json_object *page = out;
		const char *field = "continuationMarker";

		/* changes/zone: the first zone's syncToken, and more coming */
		if (sent == NULL && json_object_is_type(emu_get(body, "zones"), json_type_array) &&
			json_object_is_type(emu_get(out, "zones"), json_type_array))
		{
			sent = emu_get(json_object_array_get_idx(emu_get(body, "zones"), 0), "syncToken");
			page = json_object_array_get_idx(emu_get(out, "zones"), 0);
			field = "syncToken";
			if (json_object_is_type(page, json_type_object) && emu_get(page, field) != NULL)
				json_object_object_add(page, "moreComing", json_object_new_boolean(true));
		}
		if (json_object_is_type(page, json_type_object) &&
			sent != NULL && json_object_is_type(sent, json_type_string) &&
			emu_get(page, field) != NULL)
		{
			const char *text;

			json_object_object_add(page, field, json_object_get(sent));
			text = json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN |
												  JSON_C_TO_STRING_NOSLASHESCAPE);
			ck_buf_reset(&req->out);
			ck_buf_append(&req->out, text, strlen(text));
		}
		json_object_put(body);
		json_object_put(out);
	}
	free(fault->body);
	fault->body = NULL;
}
