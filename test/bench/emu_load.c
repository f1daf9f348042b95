/*-------------------------------------------------------------------------
 *
 * emu_load.c
 *		How much ckemu takes: every-type AllTypes records created through
 *		records/modify from several connections at once, and a seed file of
 *		such records for measuring ckemu's load time and memory.
 *
 * Two modes:
 *
 *	emu_load seed --records N --out FILE
 *		writes a seed file (ckemu --data) of N AllTypes records bench-seed-<n>
 *		with every field set: each scalar type, each list type, assets as
 *		small {"ckemuData": ...} bytes.  Deterministic.
 *
 *	emu_load create --url URL --key-id ID --key-file PEM
 *			[--records N] [--batch-size N] [--connections C] [--prefix P]
 *			[--ckemu-pid PID]
 *		creates N records bench-<prefix>-<n> with every field but the two
 *		asset fields (those need an upload first), 200 creates a request, C
 *		connections each with one request in flight (one thread each).
 *		The request bodies are made before the clock starts, and answers
 *		are checked as text (one saved entry per record, no error), so that
 *		the client, which shares the machine, costs ckemu little CPU.
 *		Prints one line:
 *		records 10000 requests 50 connections 2 ms 250.1 ckemu_cpu_ms 200 client_cpu_ms 40
 *
 * test/bench/emu_load.c
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE				/* memmem */

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "ck/ck_http.h"
#include "ck/ck_query.h"
#include "ck/ck_record.h"
#include "ck/ck_util.h"

#include "bench_common.h"

#define MAX_CONNECTIONS 16

static bool
plain_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char) *s) && *s != '_' && *s != '-')
			return false;
	return true;
}

/* 16 bytes derived from n, base64: a BYTES value or an asset's bytes */
static void
bytes_b64(long n, int salt, char *out)
{
	unsigned char raw[16];
	char	   *b64;
	int			i;

	for (i = 0; i < 16; i++)
		raw[i] = (unsigned char) ((n * 131 + i * 17 + salt * 7) & 0xff);
	b64 = ck_base64_encode(raw, sizeof(raw));
	strcpy(out, b64);
	free(b64);
}

/*
 * The "fields" dictionary of record n: every type of AllTypes.  Assets only
 * for seeds (as ckemuData); references point at an earlier record, NONE.
 */
static void
append_fields(CkBuf *buf, const char *prefix, long n, bool assets)
{
	char		b1[32],
				b2[32],
				b3[32];
	long		ref = n > 1 ? n - 1 : 1;

	bytes_b64(n, 1, b1);
	bytes_b64(n, 2, b2);
	bytes_b64(n, 3, b3);
	ck_buf_appendf(buf,
				   "{\"s\":{\"value\":\"value %ld\",\"type\":\"STRING\"},"
				   "\"i\":{\"value\":%ld,\"type\":\"INT64\"},"
				   "\"d\":{\"value\":%.17g,\"type\":\"DOUBLE\"},"
				   "\"t\":{\"value\":%lld,\"type\":\"TIMESTAMP\"},"
				   "\"b\":{\"value\":\"%s\",\"type\":\"BYTES\"},"
				   "\"r\":{\"value\":{\"recordName\":\"bench-%s-%05ld\",\"action\":\"NONE\"},\"type\":\"REFERENCE\"},"
				   "\"l\":{\"value\":{\"latitude\":%.6f,\"longitude\":%.6f},\"type\":\"LOCATION\"},",
				   n, n, n * 1.5, 1700000000000LL + n, b1, prefix, ref,
				   (double) (n % 180) - 89.5, (double) (n % 360) - 179.5);
	ck_buf_appendf(buf,
				   "\"sl\":{\"value\":[\"red %ld\",\"green\",\"blue\"],\"type\":\"STRING_LIST\"},"
				   "\"il\":{\"value\":[%ld,%ld,%ld],\"type\":\"INT64_LIST\"},"
				   "\"dl\":{\"value\":[%.17g,%.17g],\"type\":\"DOUBLE_LIST\"},"
				   "\"tl\":{\"value\":[%lld,%lld],\"type\":\"TIMESTAMP_LIST\"},"
				   "\"bl\":{\"value\":[\"%s\",\"%s\"],\"type\":\"BYTES_LIST\"},"
				   "\"rl\":{\"value\":[{\"recordName\":\"bench-%s-%05ld\",\"action\":\"NONE\"}],\"type\":\"REFERENCE_LIST\"},"
				   "\"ll\":{\"value\":[{\"latitude\":%.6f,\"longitude\":%.6f}],\"type\":\"LOCATION_LIST\"},"
				   "\"plain\":{\"value\":\"not indexed %ld\",\"type\":\"STRING\"}",
				   n, n, n + 1, n + 2, n * 0.25, n * 0.5,
				   1600000000000LL + n, 1650000000000LL + n, b2, b3, prefix, ref,
				   (double) (n % 90), (double) (n % 90) - 45.0, n);
	if (assets)
		ck_buf_appendf(buf,
					   ",\"a\":{\"value\":{\"ckemuData\":\"%s\"},\"type\":\"ASSETID\"},"
					   "\"al\":{\"value\":[{\"ckemuData\":\"%s\"}],\"type\":\"ASSETID_LIST\"}",
					   b1, b2);
	ck_buf_append(buf, "}", 1);
}

static void
write_seed(long records, const char *path)
{
	FILE	   *f = fopen(path, "w");
	CkBuf		buf;
	long		n;

	if (f == NULL)
		bench_fail("cannot write \"%s\"", path);
	fputs("{\"seeds\":[{\"container\":\"iCloud.com.example.Gallery\",\"records\":[\n", f);
	ck_buf_init(&buf);
	for (n = 1; n <= records; n++)
	{
		ck_buf_reset(&buf);
		ck_buf_appendf(&buf, "%s{\"recordName\":\"bench-seed-%05ld\",\"recordType\":\"AllTypes\",\"fields\":",
					   n > 1 ? ",\n" : "", n);
		append_fields(&buf, "seed", n, true);
		ck_buf_append(&buf, "}", 1);
		if (fwrite(buf.data, 1, buf.len, f) != buf.len)
			bench_fail("cannot write \"%s\"", path);
	}
	fputs("\n]}]}\n", f);
	if (fclose(f) != 0)
		bench_fail("cannot write \"%s\"", path);
	ck_buf_free(&buf);
}

/* One connection's share: batches first, first + stride, ... */
typedef struct Worker
{
	pthread_t	thread;
	CkClient   *client;
	const char *prefix;
	long		records;
	long		batch_size;
	int			index;
	int			nworkers;
	long		requests;
	CkBuf	   *bodies;			/* its requests, made before the clock starts */
	long	   *firsts;			/* each request's first and last record */
	long	   *lasts;
	long		nbodies;
} Worker;

/* The records/modify body creating records first..last. */
static void
make_batch(CkBuf *body, const char *prefix, long first, long last)
{
	long		n;

	ck_buf_init(body);
	ck_buf_appendf(body, "{\"operations\":[");
	for (n = first; n <= last; n++)
	{
		ck_buf_appendf(body, "%s{\"operationType\":\"create\",\"record\":{\"recordType\":\"AllTypes\","
					   "\"recordName\":\"bench-%s-%05ld\",\"fields\":",
					   n > first ? "," : "", prefix, n);
		append_fields(body, prefix, n, false);
		ck_buf_append(body, "}}", 2);
	}
	if (!ck_buf_appendf(body, "],\"zoneID\":{\"zoneName\":\"_defaultZone\"},"
						"\"atomic\":false,\"desiredKeys\":[]}"))
		bench_fail("out of memory");
}

static size_t
count_text(const char *s, size_t len, const char *what)
{
	size_t		n = 0,
				wlen = strlen(what);
	const char *end = s + len;

	while (s < end && (s = memmem(s, (size_t) (end - s), what, wlen)) != NULL)
	{
		n++;
		s += wlen;
	}
	return n;
}

/*
 * Send one prebuilt batch and check its answer without a JSON tree (that
 * would cost the client as much as ckemu): HTTP 200, one entry with a
 * change tag per record, and no per-record error.
 */
static void
send_batch(Worker *w, long b)
{
	CkRequest  *req;
	CkResponse	resp;
	long		expected = w->lasts[b] - w->firsts[b] + 1;

	memset(&resp, 0, sizeof(resp));
	req = ck_request_start(w->client, "POST", "records/modify", w->bodies[b].data,
						   w->bodies[b].len, CK_REQUEST_RAW_BODY);
	ck_client_wait(w->client, req);
	ck_request_finish(req, &resp);
	if (resp.kind != CK_RESULT_OK || resp.body == NULL)
		bench_fail("records/modify failed (result kind %d, HTTP %ld): %s %s",
				   (int) resp.kind, resp.http_status, resp.server_error_code, resp.reason);
	if (count_text(resp.body, resp.body_len, "\"serverErrorCode\"") != 0)
		bench_fail("records/modify: a record was refused: %.300s", resp.body);
	if (count_text(resp.body, resp.body_len, "\"recordChangeTag\":\"") != (size_t) expected ||
		strncmp(resp.body, "{\"records\":[", 12) != 0)
		bench_fail("records/modify: expected %ld saved records in \"records\"", expected);
	ck_response_clear(&resp);
}

static void
prepare_batches(Worker *w)
{
	long		first;
	long		b = 0;
	long		n = 0;
	long		total = (w->records + w->batch_size - 1) / w->batch_size;

	w->bodies = calloc(total, sizeof(CkBuf));
	w->firsts = calloc(total, sizeof(long));
	w->lasts = calloc(total, sizeof(long));
	if (w->bodies == NULL || w->firsts == NULL || w->lasts == NULL)
		bench_fail("out of memory");
	for (first = 1; first <= w->records; first += w->batch_size, b++)
	{
		long		last = first + w->batch_size - 1;

		if (b % w->nworkers != w->index)
			continue;
		if (last > w->records)
			last = w->records;
		make_batch(&w->bodies[n], w->prefix, first, last);
		w->firsts[n] = first;
		w->lasts[n] = last;
		n++;
	}
	w->nbodies = n;
}

static void *
worker_main(void *arg)
{
	Worker	   *w = arg;
	long		b;

	for (b = 0; b < w->nbodies; b++)
	{
		send_batch(w, b);
		w->requests++;
	}
	return NULL;
}

static void
free_batches(Worker *w)
{
	long		b;

	for (b = 0; b < w->nbodies; b++)
		ck_buf_free(&w->bodies[b]);
	free(w->bodies);
	free(w->firsts);
	free(w->lasts);
}

static void
warm_up(CkClient *client)
{
	struct json_object *warm;
	CkResponse	resp;

	warm = ck_query_request_new("AllTypes", ck_zone_id_new("_defaultZone", NULL),
								1, NULL, NULL, json_object_new_array());
	memset(&resp, 0, sizeof(resp));
	ck_client_request(client, "POST", "records/query", json_object_to_json_string(warm),
					  strlen(json_object_to_json_string(warm)), true, &resp);
	bench_check_response(&resp, "records/query");
	ck_response_clear(&resp);
	json_object_put(warm);
}

int
main(int argc, char **argv)
{
	const char *url = NULL;
	const char *key_id = NULL;
	const char *key_file = NULL;
	const char *prefix = "load";
	const char *out = NULL;
	long		records = 10000;
	long		batch_size = 200;
	long		connections = 2;
	long		ckemu_pid = 0;
	long		requests = 0;
	bool		seed;
	Worker		workers[MAX_CONNECTIONS];
	double		cpu0,
				cpu1,
				own0,
				t0,
				ms;
	int			i;

	if (argc < 2 || (strcmp(argv[1], "seed") != 0 && strcmp(argv[1], "create") != 0))
		bench_fail("usage: emu_load seed --records N --out FILE | "
				   "emu_load create --url URL --key-id ID --key-file PEM [--records N] "
				   "[--batch-size N] [--connections C] [--prefix P] [--ckemu-pid PID]");
	seed = strcmp(argv[1], "seed") == 0;
	for (i = 2; i < argc; i++)
	{
		const char *arg = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (val == NULL)
			bench_fail("option %s needs a value", arg);
		if (strcmp(arg, "--url") == 0)
			url = val;
		else if (strcmp(arg, "--key-id") == 0)
			key_id = val;
		else if (strcmp(arg, "--key-file") == 0)
			key_file = val;
		else if (strcmp(arg, "--prefix") == 0)
			prefix = val;
		else if (strcmp(arg, "--out") == 0)
			out = val;
		else if (strcmp(arg, "--records") == 0)
			records = bench_parse_long(arg, val, 1, 100000000);
		else if (strcmp(arg, "--batch-size") == 0)
			batch_size = bench_parse_long(arg, val, 1, 200);
		else if (strcmp(arg, "--connections") == 0)
			connections = bench_parse_long(arg, val, 1, MAX_CONNECTIONS);
		else if (strcmp(arg, "--ckemu-pid") == 0)
			ckemu_pid = bench_parse_long(arg, val, 1, 1L << 30);
		else
			bench_fail("unknown option %s", arg);
		i++;
	}
	if (seed)
	{
		if (out == NULL)
			bench_fail("emu_load seed needs --out FILE");
		write_seed(records, out);
		return 0;
	}
	if (url == NULL || key_id == NULL || key_file == NULL)
		bench_fail("emu_load create needs --url, --key-id and --key-file");
	if (!plain_name(prefix))
		bench_fail("--prefix may hold only letters, digits, '_' and '-'");

	/* clients are made one after the other (curl's global set-up is not thread-safe) */
	for (i = 0; i < connections; i++)
	{
		memset(&workers[i], 0, sizeof(Worker));
		workers[i].client = bench_client_new(url, key_id, key_file, NULL);
		workers[i].prefix = prefix;
		workers[i].records = records;
		workers[i].batch_size = batch_size;
		workers[i].index = i;
		workers[i].nworkers = (int) connections;
		prepare_batches(&workers[i]);
		warm_up(workers[i].client);
	}

	cpu0 = bench_process_cpu_ms(ckemu_pid);
	own0 = bench_own_cpu_ms();
	t0 = bench_now_ms();
	for (i = 0; i < connections; i++)
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0)
			bench_fail("cannot start a thread");
	for (i = 0; i < connections; i++)
	{
		pthread_join(workers[i].thread, NULL);
		requests += workers[i].requests;
	}
	ms = bench_now_ms() - t0;
	cpu1 = bench_process_cpu_ms(ckemu_pid);
	printf("records %ld requests %ld connections %ld ms %.3f ckemu_cpu_ms %.0f client_cpu_ms %.1f\n",
		   records, requests, connections, ms, cpu0 < 0 || cpu1 < 0 ? -1.0 : cpu1 - cpu0,
		   bench_own_cpu_ms() - own0);
	for (i = 0; i < connections; i++)
	{
		free_batches(&workers[i]);
		ck_client_free(workers[i].client);
	}
	return 0;
}
