/*-------------------------------------------------------------------------
 *
 * admin.c
 *		The /_ckemu/ endpoints: statistics, reset, dump, fault rules, asset
 *		upload and download URLs, and a sign-in that issues web-auth
 *		tokens.  No authentication: ckemu listens on loopback only.
 *
 * GET /_ckemu/stats answers, deterministically (keys in this order,
 * operations sorted by name, operations never requested left out):
 *
 *	{"requests":N,"abandoned":N,"in_flight":N,
 *	 "operations":{"records/query":{"requests":n,"records_out":n,
 *	 "records_in":n,"bytes_in":n,"bytes_out":n,"abandoned":n},...}}
 *
 * What counts, precisely:
 *
 * - asset transfers count as operations "assets/download" (GET of a
 *	 downloadURL) and "assets/upload-file" (POST of a file to an upload
 *	 URL), whatever their answer; fault rules apply to them by these names
 *	 (actions "error" and "delay").
 * - requests, records_out, bytes_in, bytes_out: /database/ requests whose
 *	 answer was handed to a client still connected and then sent whole,
 *	 and requests a fault rule dropped or cut short on purpose (those are
 *	 counted as the rule left them: bytes_out 0 or the half sent).  An
 *	 answer is counted when it is queued, so a client that asks for the
 *	 stats after reading its answer finds it counted.
 * - abandoned: requests whose client hung up first.  One that hangs up
 *	 during --latency-ms or a delay fault is not carried out at all; one
 *	 that hangs up while its answer is being written is moved here from
 *	 requests when MHD reports the failed send.
 * - records_in: the records and zones written (operations), also by a
 *	 request abandoned after it ran: the store did change.
 * - records_out counts records returned (tombstones included, error
 *	 entries not).
 * - waiting: requests sleeping in --latency-ms or a delay fault right
 *	 now (so a test can see that they sleep side by side).  Not reset.
 * - in_flight: /database/ requests received and not yet finished.  It is
 *	 not reset with the rest; a test that measures waits for 0 first, so
 *	 that a straggler from an earlier test cannot land in its numbers.
 *
 * GET and POST /_ckemu/index show and move the query index (index.c).
 *
 * test/ckemu/admin.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckemu.h"

/*
 * A fault rule for an asset transfer: an error answer (true: answered) or
 * a delay.
 */
static bool
emu_asset_fault(EmuRequest *req, const char *op)
{
	EmuFault	fault;

	memset(&fault, 0, sizeof(fault));
	emu_faults_pick(op, &fault);
	free(fault.body);
	if (fault.action == EMU_FAULT_DELAY)
		return !emu_wait_for_client(req, fault.delay_ms);
	if (fault.action != EMU_FAULT_ERROR)
		return false;
	emu_error_retry(req, fault.code, fault.retry_after, NULL,
					fault.reason[0] ? fault.reason : "Injected by ckemu");
	if (fault.status > 0)
		req->status = fault.status;
	return true;
}

/* Operations counted, sorted by name (the order of the stats answer). */
static const char *const stat_ops[] = {
	"assets/download", "assets/upload", "assets/upload-file", "changes/database", "changes/zone", "records/lookup",
	"records/modify", "records/query", "users/caller", "users/current",
	"zones/list", "zones/lookup", "zones/modify"
};

#define NSTAT_OPS ((int) (sizeof(stat_ops) / sizeof(stat_ops[0])))

typedef struct EmuOpStats
{
	long		requests;
	long		records_out;
	long		records_in;
	long		bytes_in;
	long		bytes_out;
	long		abandoned;
} EmuOpStats;

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static long total_requests;
static long total_abandoned;
static long in_flight;
static long waiting;
static uint64_t stats_epoch;	/* bumped by every clear */
static EmuOpStats op_stats[NSTAT_OPS];

void
emu_stats_init(void)
{
	emu_stats_clear();
}

void
emu_stats_clear(void)
{
	pthread_mutex_lock(&stats_lock);
	total_requests = 0;
	total_abandoned = 0;
	stats_epoch++;
	memset(op_stats, 0, sizeof(op_stats));
	pthread_mutex_unlock(&stats_lock);
}

/* The counters of op, or NULL when it named no known operation; under stats_lock. */
static EmuOpStats *
emu_op_stats(const char *op)
{
	int			i;

	for (i = 0; op != NULL && i < NSTAT_OPS; i++)
		if (strcmp(stat_ops[i], op) == 0)
			return &op_stats[i];
	return NULL;
}

/*
 * Count one answered /database/ request; op is NULL when it named no known
 * operation.  Returns the epoch it was counted in, for
 * emu_stats_undelivered.
 */
uint64_t
emu_stats_count(const char *op, long records_in, long records_out,
				size_t bytes_in, size_t bytes_out)
{
	EmuOpStats *s;
	uint64_t	epoch;

	pthread_mutex_lock(&stats_lock);
	total_requests++;
	s = emu_op_stats(op);
	if (s != NULL)
	{
		s->requests++;
		s->records_in += records_in;
		s->records_out += records_out;
		s->bytes_in += (long) bytes_in;
		s->bytes_out += (long) bytes_out;
	}
	epoch = stats_epoch;
	pthread_mutex_unlock(&stats_lock);
	return epoch;
}

/* A request whose client hung up before it was answered. */
void
emu_stats_abandoned(const char *op, long records_in)
{
	EmuOpStats *s;

	pthread_mutex_lock(&stats_lock);
	total_abandoned++;
	s = emu_op_stats(op);
	if (s != NULL)
	{
		s->abandoned++;
		s->records_in += records_in;
	}
	pthread_mutex_unlock(&stats_lock);
}

/*
 * An answer counted by emu_stats_count that the client did not receive
 * whole: move it to abandoned, unless the stats were cleared since (the
 * counts it would take back are gone).
 */
void
emu_stats_undelivered(const char *op, long records_out, size_t bytes_in,
					  size_t bytes_out, uint64_t epoch)
{
	EmuOpStats *s;

	pthread_mutex_lock(&stats_lock);
	if (epoch == stats_epoch)
	{
		total_requests--;
		total_abandoned++;
		s = emu_op_stats(op);
		if (s != NULL)
		{
			s->requests--;
			s->abandoned++;
			s->records_out -= records_out;
			s->bytes_in -= (long) bytes_in;
			s->bytes_out -= (long) bytes_out;
		}
	}
	pthread_mutex_unlock(&stats_lock);
}

/* Requests sleeping in --latency-ms or a delay fault right now. */
void
emu_stats_waiting(int delta)
{
	pthread_mutex_lock(&stats_lock);
	waiting += delta;
	pthread_mutex_unlock(&stats_lock);
}

void
emu_stats_in_flight(int delta)
{
	pthread_mutex_lock(&stats_lock);
	in_flight += delta;
	pthread_mutex_unlock(&stats_lock);
}

static void
emu_stats_render(CkBuf *out)
{
	json_object *root = json_object_new_object();
	json_object *ops = json_object_new_object();
	int			i;

	pthread_mutex_lock(&stats_lock);
	json_object_object_add(root, "requests", json_object_new_int64(total_requests));
	json_object_object_add(root, "abandoned", json_object_new_int64(total_abandoned));
	json_object_object_add(root, "in_flight", json_object_new_int64(in_flight));
	json_object_object_add(root, "waiting", json_object_new_int64(waiting));
	for (i = 0; i < NSTAT_OPS; i++)
	{
		json_object *o;

		if (op_stats[i].requests == 0 && op_stats[i].abandoned == 0)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "requests", json_object_new_int64(op_stats[i].requests));
		json_object_object_add(o, "records_out", json_object_new_int64(op_stats[i].records_out));
		json_object_object_add(o, "records_in", json_object_new_int64(op_stats[i].records_in));
		json_object_object_add(o, "bytes_in", json_object_new_int64(op_stats[i].bytes_in));
		json_object_object_add(o, "bytes_out", json_object_new_int64(op_stats[i].bytes_out));
		json_object_object_add(o, "abandoned", json_object_new_int64(op_stats[i].abandoned));
		json_object_object_add(ops, stat_ops[i], o);
	}
	pthread_mutex_unlock(&stats_lock);
	json_object_object_add(root, "operations", ops);
	emu_json_object(out, root);
	json_object_put(root);
}

static void
emu_admin_error(EmuRequest *req, int status, const char *msg)
{
	ck_buf_reset(&req->out);
	emu_lit(&req->out, "{\"error\":");
	emu_json_string(&req->out, msg);
	emu_lit(&req->out, "}");
	req->status = status;
	req->answered = true;
}

static void
emu_admin_ok(EmuRequest *req, const char *json)
{
	ck_buf_reset(&req->out);
	ck_buf_append(&req->out, json, strlen(json));
	req->status = 200;
	req->answered = true;
}

static bool
emu_method(EmuRequest *req, const char *allowed)
{
	if (strstr(allowed, req->method) != NULL)
		return true;
	emu_admin_error(req, 405, "method not allowed here");
	return false;
}

/* Handle /_ckemu/...; returns false for an unknown path. */
bool
emu_admin_handle(EmuRequest *req, const char *path)
{
	const char *p = path + strlen("/_ckemu/");
	char		err[512];

	if (strcmp(p, "stats") == 0)
	{
		if (!emu_method(req, "GET DELETE"))
			return true;
		if (strcmp(req->method, "DELETE") == 0)
			emu_stats_clear();
		emu_stats_render(&req->out);
		req->status = 200;
		req->answered = true;
		return true;
	}
	if (strcmp(p, "reset") == 0)
	{
		if (!emu_method(req, "POST"))
			return true;
		if (!emu_reset(err, sizeof(err)))
			emu_admin_error(req, 500, err);
		else
			emu_admin_ok(req, "{\"reset\":true}");
		return true;
	}
	if (strcmp(p, "dump") == 0)
	{
		if (!emu_method(req, "GET"))
			return true;
		pthread_rwlock_rdlock(&emu_store_lock);
		emu_seed_dump(&req->out);
		pthread_rwlock_unlock(&emu_store_lock);
		req->status = 200;
		req->answered = true;
		return true;
	}
	if (strcmp(p, "faults") == 0)
	{
		json_object *list;

		if (!emu_method(req, "GET POST DELETE"))
			return true;
		if (strcmp(req->method, "POST") == 0)
		{
			json_object *body = req->body.len > 0 ?
				json_tokener_parse(req->body.data) : NULL;

			if (body == NULL)
			{
				emu_admin_error(req, 400, "the body must be a JSON array of fault rules");
				return true;
			}
			if (!emu_faults_set(body, err, sizeof(err)))
			{
				json_object_put(body);
				emu_admin_error(req, 400, err);
				return true;
			}
			json_object_put(body);
		}
		else if (strcmp(req->method, "DELETE") == 0)
			emu_faults_clear();
		list = emu_faults_list();
		ck_buf_reset(&req->out);
		emu_lit(&req->out, "{\"faults\":");
		emu_json_object(&req->out, list);
		emu_lit(&req->out, "}");
		json_object_put(list);
		req->status = 200;
		req->answered = true;
		return true;
	}
	if (strncmp(p, "assets/upload/", 14) == 0)
	{
		if (!emu_method(req, "POST PUT"))
			return true;
		if (emu_wait_for_client(req, emu_config.latency_ms) &&
			!emu_asset_fault(req, "assets/upload-file"))
			emu_asset_upload_bytes(req, p + 14);
		emu_stats_count("assets/upload-file", 0, 0, req->body.len, req->out.len);
		return true;
	}
	if (strncmp(p, "assets/download/", 16) == 0)
	{
		unsigned char *data;
		size_t		len;

		if (!emu_method(req, "GET"))
			return true;
		if (!emu_wait_for_client(req, emu_config.latency_ms))
			return true;
		if (!emu_asset_fault(req, "assets/download"))
		{
			emu_asset_download(req, p + 16, &data, &len);
			if (data != NULL)
			{
				ck_buf_reset(&req->out);
				ck_buf_append(&req->out, data, len);
				free(data);
				req->status = 200;
				req->answered = true;
			}
		}
		emu_stats_count("assets/download", 0, 0, req->body.len, req->out.len);
		return true;
	}
	if (strcmp(p, "assets/expire") == 0)
	{
		if (!emu_method(req, "POST"))
			return true;
		emu_assets_expire_urls();
		emu_admin_ok(req, "{\"expired\":true}");
		return true;
	}
	if (strcmp(p, "signin") == 0)
	{
		char	   *user = emu_query_param(req->query, "user");
		char	   *tok;
		char		urn[34];

		if (!emu_method(req, "GET POST"))
		{
			free(user);
			return true;
		}
		if (user == NULL || *user == '\0')
		{
			free(user);
			emu_admin_error(req, 400, "sign in with /_ckemu/signin?user=NAME");
			return true;
		}
		tok = emu_auth_signin(user);
		emu_user_record_name(user, urn);
		ck_buf_reset(&req->out);
		emu_lit(&req->out, "{\"ckWebAuthToken\":");
		emu_json_string(&req->out, tok);
		emu_lit(&req->out, ",\"userRecordName\":");
		emu_json_string(&req->out, urn);
		emu_lit(&req->out, "}");
		req->status = 200;
		req->answered = true;
		free(tok);
		free(user);
		return true;
	}
	if (strcmp(p, "expire-tokens") == 0)
	{
		if (!emu_method(req, "POST"))
			return true;
		emu_expire_tokens();
		emu_admin_ok(req, "{\"expired\":true}");
		return true;
	}
	if (strcmp(p, "index") == 0)
	{
		const char *msg;

		if (!emu_method(req, "GET POST"))
			return true;
		if ((msg = emu_index_admin(req)) != NULL)
			emu_admin_error(req, 400, msg);
		return true;
	}
	if (strcmp(p, "health") == 0)
	{
		emu_admin_ok(req, "{\"ok\":true}");
		return true;
	}
	return false;
}
