/*-------------------------------------------------------------------------
 *
 * fetch_pages.c
 *		The physical limit of a scan: a plain C client over src/ck that pages
 *		through one record type with records/query and continuationMarker,
 *		exactly as ckfdw does, but with no PostgreSQL around it.
 *
 * Each record is parsed with ck_record_parse and every field value is
 * decoded by its wire type, so the client does the least work a reader of
 * the records must do.  ckfdw's scan does this plus building tuples, which
 * is what the benchmark's ratio measures.
 *
 * One line per timed run on stdout, after one untimed warm-up run
 * (connection set-up):
 *		run 1 records 10000 requests 50 ms 91.2 values 40000 ckemu_cpu_ms 20 client_cpu_ms 85
 * ckemu_cpu_ms is the CPU time the server process used during the run (-1
 * without --ckemu-pid) and client_cpu_ms our own: together they show which
 * side was the bottleneck.
 *
 * Usage: fetch_pages --url URL --key-id ID --key-file PEM --record-type T
 *				[--page-size N] [--runs N] [--limit N] [--fields a,b,c]
 *				[--ckemu-pid PID] [--ca-file CA.pem]
 * --ca-file: the CAs an https URL is verified against (as ckfdw's ca_file).
 *
 * test/bench/fetch_pages.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "ck/ck_http.h"
#include "ck/ck_query.h"
#include "ck/ck_record.h"

#include "bench_common.h"

typedef struct FetchResult
{
	long		records;
	long		requests;
	long		values;			/* field values decoded (a sanity count) */
} FetchResult;

/* Decode one field value by its wire type; false when it does not parse. */
static bool
decode_value(struct json_object *v, CkScalarType type)
{
	const char *s;
	int64_t		i;
	double		d;
	double		lat,
				lon;
	unsigned char *bytes;
	size_t		len;

	switch (type)
	{
		case CK_TYPE_STRING:
			return ck_value_string(v, &s);
		case CK_TYPE_INT64:
			return ck_value_int64(v, &i);
		case CK_TYPE_DOUBLE:
			return ck_value_double(v, &d);
		case CK_TYPE_TIMESTAMP:
			return ck_value_timestamp_ms(v, &i);
		case CK_TYPE_BYTES:
			if (!ck_value_bytes(v, &bytes, &len))
				return false;
			free(bytes);
			return true;
		case CK_TYPE_REFERENCE:
			return ck_value_reference_name(v, &s);
		case CK_TYPE_LOCATION:
			return ck_value_location(v, &lat, &lon);
		case CK_TYPE_ASSETID:
			(void) ck_value_asset_url(v, &s);
			return true;
		case CK_TYPE_UNKNOWN:
			return true;
	}
	return false;
}

/* Decode every field of a record; returns the number of values or -1. */
static long
decode_record(const CkRecord *rec)
{
	long		n = 0;

	if (rec->fields == NULL)
		return 0;
	json_object_object_foreach(rec->fields, name, unused)
	{
		struct json_object *value;
		CkFieldType type;

		(void) unused;
		if (!ck_record_field(rec, name, &value, &type))
			return -1;
		if (type.is_list)
		{
			size_t		k;

			if (!json_object_is_type(value, json_type_array))
				return -1;
			for (k = 0; k < json_object_array_length(value); k++)
			{
				if (!decode_value(json_object_array_get_idx(value, k), type.elem))
					return -1;
				n++;
			}
		}
		else
		{
			if (!decode_value(value, type.elem))
				return -1;
			n++;
		}
	}
	return n;
}

/* Page through the record type once. */
static void
fetch_all(CkClient *client, const char *record_type, int page_size,
		  long limit, const char *fields, FetchResult *res)
{
	struct json_object *desired = NULL;
	struct json_object *request;
	char	   *marker = NULL;

	memset(res, 0, sizeof(*res));
	if (fields != NULL)
		desired = bench_split_names(fields);
	request = ck_query_request_new(record_type, ck_zone_id_new("_defaultZone", NULL),
								   page_size, NULL, NULL, desired);
	if (request == NULL)
		bench_fail("out of memory");

	for (;;)
	{
		CkResponse	resp;
		struct json_object *records;
		struct json_object *jmarker;
		const char *body;
		size_t		body_len;
		size_t		k;

		ck_query_set_continuation(request, marker);
		body = json_object_to_json_string_length(request, JSON_C_TO_STRING_PLAIN,
												 &body_len);
		memset(&resp, 0, sizeof(resp));
		ck_client_request(client, "POST", "records/query", body, body_len, true, &resp);
		bench_check_response(&resp, "records/query");
		res->requests++;

		if (!json_object_object_get_ex(resp.json, "records", &records) ||
			!json_object_is_type(records, json_type_array))
			bench_fail("records/query: no \"records\" array in the answer");
		for (k = 0; k < json_object_array_length(records); k++)
		{
			CkRecord	rec;
			char		err[256];
			long		n;

			if (!ck_record_parse(json_object_array_get_idx(records, k), &rec,
								 err, sizeof(err)))
				bench_fail("records/query: %s", err);
			if (rec.is_error)
				bench_fail("records/query: record error %s", rec.server_error_code);
			n = decode_record(&rec);
			if (n < 0)
				bench_fail("records/query: record \"%s\" has a value that does not parse",
						   rec.record_name);
			res->values += n;
			res->records++;
		}

		free(marker);
		marker = NULL;
		if (json_object_object_get_ex(resp.json, "continuationMarker", &jmarker) &&
			json_object_is_type(jmarker, json_type_string))
			marker = strdup(json_object_get_string(jmarker));
		ck_response_clear(&resp);
		if (marker == NULL || (limit > 0 && res->records >= limit))
			break;
	}
	free(marker);
	json_object_put(request);
}

int
main(int argc, char **argv)
{
	const char *url = NULL;
	const char *key_id = NULL;
	const char *key_file = NULL;
	const char *ca_file = NULL;
	const char *record_type = NULL;
	const char *fields = NULL;
	int			page_size = 200;
	int			runs = 3;
	long		limit = 0;
	long		ckemu_pid = 0;
	CkClient   *client;
	FetchResult res;
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
		else if (strcmp(arg, "--fields") == 0)
			fields = val;
		else if (strcmp(arg, "--page-size") == 0)
			page_size = (int) bench_parse_long(arg, val, 1, 200);
		else if (strcmp(arg, "--runs") == 0)
			runs = (int) bench_parse_long(arg, val, 1, 100);
		else if (strcmp(arg, "--limit") == 0)
			limit = bench_parse_long(arg, val, 0, 100000000);
		else if (strcmp(arg, "--ckemu-pid") == 0)
			ckemu_pid = bench_parse_long(arg, val, 1, 1L << 30);
		else
			bench_fail("unknown option %s", arg);
		i++;
	}
	if (url == NULL || key_id == NULL || key_file == NULL || record_type == NULL)
		bench_fail("usage: fetch_pages --url URL --key-id ID --key-file PEM "
				   "--record-type T [--page-size N] [--runs N] [--limit N] [--fields a,b] "
				   "[--ckemu-pid PID] [--ca-file CA.pem]");

	client = bench_client_new(url, key_id, key_file, ca_file);

	fetch_all(client, record_type, page_size, limit, fields, &res);
	for (i = 1; i <= runs; i++)
	{
		double		cpu0 = bench_process_cpu_ms(ckemu_pid);
		double		own0 = bench_own_cpu_ms();
		double		t0 = bench_now_ms();
		double		ms;
		double		cpu1;

		fetch_all(client, record_type, page_size, limit, fields, &res);
		ms = bench_now_ms() - t0;
		cpu1 = bench_process_cpu_ms(ckemu_pid);
		printf("run %d records %ld requests %ld ms %.3f values %ld ckemu_cpu_ms %.0f client_cpu_ms %.1f\n",
			   i, res.records, res.requests, ms, res.values,
			   cpu0 < 0 || cpu1 < 0 ? -1.0 : cpu1 - cpu0, bench_own_cpu_ms() - own0);
		fflush(stdout);
	}
	ck_client_free(client);
	return 0;
}
