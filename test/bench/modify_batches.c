/*-------------------------------------------------------------------------
 *
 * modify_batches.c
 *		The physical limit of an INSERT: a plain C client over src/ck that
 *		creates records with records/modify, a batch of creates per request,
 *		with no PostgreSQL around it.
 *
 * The records are the ones the benchmark's INSERT ... SELECT writes into
 * AllTypes: record name bench-<prefix>-<n>, fields s (STRING), i (INT64),
 * d (DOUBLE) and t (TIMESTAMP).  desiredKeys is empty: the client needs
 * only to know that each create succeeded, which it checks record by record.
 *
 * One line on stdout, after one untimed warm-up request (a records/query
 * for one record, which opens the connection):
 *		records 10000 requests 50 ms 250.1 ckemu_cpu_ms 200 client_cpu_ms 40
 * ckemu_cpu_ms is the CPU time the server process used meanwhile (-1
 * without --ckemu-pid), client_cpu_ms our own.
 *
 * Usage: modify_batches --url URL --key-id ID --key-file PEM
 *				[--record-type T] [--records N] [--batch-size N] [--prefix P]
 *				[--ckemu-pid PID] [--ca-file CA.pem]
 * --ca-file: the CAs an https URL is verified against (as ckfdw's ca_file).
 *
 * test/bench/modify_batches.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
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

/* Letters, digits, '_' and '-' only (nothing JSON would need escaped). */
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

/*
 * Append one create operation for record number n.  The body is written as
 * text, as ckfdw writes its own, so that building it costs no more than it
 * must; every string here is plain ASCII that needs no escaping.
 */
static void
append_create(CkBuf *buf, const char *record_type, const char *prefix, long n)
{
	if (!ck_buf_appendf(buf,
						"{\"operationType\":\"create\",\"record\":{\"recordType\":\"%s\","
						"\"recordName\":\"bench-%s-%05ld\",\"fields\":{"
						"\"s\":{\"value\":\"value %ld\",\"type\":\"STRING\"},"
						"\"i\":{\"value\":%ld,\"type\":\"INT64\"},"
						"\"d\":{\"value\":%.17g,\"type\":\"DOUBLE\"},"
						"\"t\":{\"value\":%lld,\"type\":\"TIMESTAMP\"}}}}",
						record_type, prefix, n, n, n, n * 1.5, 1700000000000LL + n))
		bench_fail("out of memory");
}

/* Send creates first..last (inclusive) in one request; die on any failure. */
static void
send_batch(CkClient *client, const char *record_type, const char *prefix,
		   long first, long last)
{
	CkBuf		body;
	struct json_object *records;
	CkResponse	resp;
	size_t		k;
	long		n;

	ck_buf_init(&body);
	if (!ck_buf_appendf(&body, "{\"operations\":["))
		bench_fail("out of memory");
	for (n = first; n <= last; n++)
	{
		if (n > first && !ck_buf_append(&body, ",", 1))
			bench_fail("out of memory");
		append_create(&body, record_type, prefix, n);
	}
	if (!ck_buf_appendf(&body, "],\"zoneID\":{\"zoneName\":\"_defaultZone\"},"
						"\"atomic\":false,\"desiredKeys\":[]}"))
		bench_fail("out of memory");

	memset(&resp, 0, sizeof(resp));
	ck_client_request(client, "POST", "records/modify", body.data, body.len, false, &resp);
	bench_check_response(&resp, "records/modify");
	if (!json_object_object_get_ex(resp.json, "records", &records) ||
		!json_object_is_type(records, json_type_array) ||
		json_object_array_length(records) != (size_t) (last - first + 1))
		bench_fail("records/modify: expected %ld entries in \"records\"", last - first + 1);
	for (k = 0; k < json_object_array_length(records); k++)
	{
		CkRecord	rec;
		char		err[256];

		if (!ck_record_parse(json_object_array_get_idx(records, k), &rec, err, sizeof(err)))
			bench_fail("records/modify: %s", err);
		if (rec.is_error)
			bench_fail("records/modify: %s: %s", rec.server_error_code,
					   rec.reason ? rec.reason : "");
	}
	ck_response_clear(&resp);
	ck_buf_free(&body);
}

int
main(int argc, char **argv)
{
	const char *url = NULL;
	const char *key_id = NULL;
	const char *key_file = NULL;
	const char *ca_file = NULL;
	const char *record_type = "AllTypes";
	const char *prefix = "direct";
	long		records = 10000;
	long		batch_size = 200;
	long		requests = 0;
	long		ckemu_pid = 0;
	double		cpu0;
	double		cpu1;
	double		own0;
	long		first;
	CkClient   *client;
	CkResponse	resp;
	struct json_object *warm;
	double		t0;
	double		ms;
	int			i;

	for (i = 1; i < argc; i++)
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
		else if (strcmp(arg, "--ca-file") == 0)
			ca_file = val;
		else if (strcmp(arg, "--record-type") == 0)
			record_type = val;
		else if (strcmp(arg, "--prefix") == 0)
			prefix = val;
		else if (strcmp(arg, "--records") == 0)
			records = bench_parse_long(arg, val, 1, 10000000);
		else if (strcmp(arg, "--batch-size") == 0)
			batch_size = bench_parse_long(arg, val, 1, 200);
		else if (strcmp(arg, "--ckemu-pid") == 0)
			ckemu_pid = bench_parse_long(arg, val, 1, 1L << 30);
		else
			bench_fail("unknown option %s", arg);
		i++;
	}
	if (url == NULL || key_id == NULL || key_file == NULL)
		bench_fail("usage: modify_batches --url URL --key-id ID --key-file PEM "
				   "[--record-type T] [--records N] [--batch-size N] [--prefix P] "
				   "[--ckemu-pid PID] [--ca-file CA.pem]");

	/* they are written into the body unescaped */
	if (!plain_name(record_type) || !plain_name(prefix))
		bench_fail("--record-type and --prefix may hold only letters, digits, '_' and '-'");

	client = bench_client_new(url, key_id, key_file, ca_file);

	/* warm up: open the connection */
	warm = ck_query_request_new(record_type, ck_zone_id_new("_defaultZone", NULL),
								1, NULL, NULL, json_object_new_array());
	memset(&resp, 0, sizeof(resp));
	ck_client_request(client, "POST", "records/query", json_object_to_json_string(warm),
					  strlen(json_object_to_json_string(warm)), true, &resp);
	bench_check_response(&resp, "records/query");
	ck_response_clear(&resp);
	json_object_put(warm);

	cpu0 = bench_process_cpu_ms(ckemu_pid);
	own0 = bench_own_cpu_ms();
	t0 = bench_now_ms();
	for (first = 1; first <= records; first += batch_size)
	{
		long		last = first + batch_size - 1;

		if (last > records)
			last = records;
		send_batch(client, record_type, prefix, first, last);
		requests++;
	}
	ms = bench_now_ms() - t0;
	cpu1 = bench_process_cpu_ms(ckemu_pid);
	printf("records %ld requests %ld ms %.3f ckemu_cpu_ms %.0f client_cpu_ms %.1f\n",
		   records, requests, ms, cpu0 < 0 || cpu1 < 0 ? -1.0 : cpu1 - cpu0,
		   bench_own_cpu_ms() - own0);
	ck_client_free(client);
	return 0;
}
