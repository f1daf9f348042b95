/*-------------------------------------------------------------------------
 *
 * fetch_pages.c
 *		The physical limit of a scan: a plain C client over src/ck that pages
 *		through one record type with records/query and continuationMarker,
 *		exactly as ckfdw does, but with no PostgreSQL around it.
 *
 * Each page is read in place as ckfdw reads it (src/ck/ck_page.c: the body
 * checked once, each record read where it lies, no JSON tree), and every
 * field value is decoded by its wire type, so the client does the least
 * work a reader of the records must do.  What the reader declines goes to
 * json-c, as in ckfdw.  ckfdw's scan does this plus building tuples, which
 * is what the benchmark's ratio measures.  One request at a time: the next
 * page is asked for once this one is read (ckfdw reads ahead).
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
#include "ck/ck_page.h"
#include "ck/ck_query.h"
#include "ck/ck_record.h"
#include "ck/ck_util.h"

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

/* Decode one field value of a record read with json-c. */
static bool
decode_json_value(struct json_object *v, CkFieldType type)
{
	size_t		k;

	if (!type.is_list)
		return decode_value(v, type.elem);
	if (!json_object_is_type(v, json_type_array))
		return false;
	for (k = 0; k < json_object_array_length(v); k++)
	{
		if (!decode_value(json_object_array_get_idx(v, k), type.elem))
			return false;
	}
	return true;
}

/* Decode every field of a record read with json-c; the values or -1. */
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
		if (!ck_record_field(rec, name, &value, &type) ||
			!decode_json_value(value, type))
			return -1;
		n += type.is_list ? (long) json_object_array_length(value) : 1;
	}
	return n;
}

/* Scratch room for the strings and bytes of values read in place. */
static char *scratch;
static size_t scratch_cap;

static char *
scratch_for(size_t len)
{
	if (len > scratch_cap)
	{
		free(scratch);
		scratch_cap = len * 2;
		scratch = malloc(scratch_cap);
		if (scratch == NULL)
			bench_fail("out of memory");
	}
	return scratch;
}

/*
 * Decode one value read in place by its wire type, as convert_raw.c does;
 * false when the reader declines it (json-c then decodes it).
 */
static bool
decode_span(CkJsonSpan v, CkScalarType type)
{
	size_t		len;
	int64_t		i;
	double		d,
				lat,
				lon;
	const char *s;
	CkJsonSpan	name;

	switch (type)
	{
		case CK_TYPE_STRING:
			return ck_span_kind(v) == '"' &&
				ck_span_string(v, scratch_for(v.len), &len);
		case CK_TYPE_INT64:
		case CK_TYPE_TIMESTAMP:
			return ck_span_int64(v, &i);
		case CK_TYPE_DOUBLE:
			return ck_span_double(v, &d);
		case CK_TYPE_BYTES:
			return ck_span_plain_string(v, &s, &len) && len % 4 == 0 &&
				ck_base64_decode_to(s, len, (unsigned char *) scratch_for(len / 4 * 3 + 1),
									&len);
		case CK_TYPE_REFERENCE:
			return ck_span_reference_name(v, &name) && ck_span_kind(name) == '"' &&
				ck_span_string(name, scratch_for(name.len), &len);
		case CK_TYPE_LOCATION:
			return ck_span_location(v, &lat, &lon);
		case CK_TYPE_ASSETID:
		case CK_TYPE_UNKNOWN:
			return true;
	}
	return false;
}

/* A value read in place, or by json-c where the reader declines it. */
static bool
decode_field_value(CkJsonSpan v, CkScalarType type)
{
	struct json_object *obj;
	bool		ok;

	if (ck_span_kind(v) == 'n' || decode_span(v, type))
		return true;
	obj = ck_json_parse_span(v);
	ok = obj != NULL && decode_value(obj, type);
	json_object_put(obj);
	return ok;
}

typedef struct ListDecoder
{
	CkScalarType type;
	long		n;
} ListDecoder;

static bool
decode_element(void *arg, CkJsonSpan elem)
{
	ListDecoder *d = (ListDecoder *) arg;

	d->n++;
	return decode_field_value(elem, d->type);
}

/* Decode every field of a record read in place; the values or -1. */
static long
decode_raw_record(const CkRawRecord *rr)
{
	long		n = 0;
	int			k;

	for (k = 0; k < rr->nfields; k++)
	{
		const CkRawField *f = &rr->fields[k];

		/* a field sent twice counts once: the last one */
		if (ck_raw_record_field(rr, f->name, f->name_len) != f ||
			f->value.p == NULL)
			continue;
		if (f->type.is_list)
		{
			ListDecoder d = {f->type.elem, 0};

			if (ck_span_kind(f->value) != '[' ||
				!ck_span_each_element(f->value, decode_element, &d))
				return -1;
			n += d.n;
		}
		else
		{
			if (!decode_field_value(f->value, f->type.elem))
				return -1;
			n++;
		}
	}
	return n;
}

/* Record i of a page: in place, or with json-c where the reader declines. */
static long
read_record(const CkPage *page, int i, CkRawRecord *rr)
{
	CkRecord	rec;
	struct json_object *obj;
	char		err[256];
	long		n;

	if (ck_raw_record_read(rr, page, i))
	{
		if (rr->rec.is_error)
			bench_fail("records/query: record error %s", rr->rec.server_error_code);
		return decode_raw_record(rr);
	}
	obj = ck_json_parse_span(page->records[i]);
	if (obj == NULL || !ck_record_parse(obj, &rec, err, sizeof(err)))
		bench_fail("records/query: %s", obj == NULL ? "out of memory" : err);
	if (rec.is_error)
		bench_fail("records/query: record error %s", rec.server_error_code);
	n = decode_record(&rec);
	json_object_put(obj);
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
	CkPage		page = {0};
	CkRawRecord rr = {0};

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
		CkRequest  *req;
		const char *body;
		size_t		body_len;
		int			k;

		ck_query_set_continuation(request, marker);
		body = json_object_to_json_string_length(request, JSON_C_TO_STRING_PLAIN,
												 &body_len);
		memset(&resp, 0, sizeof(resp));
		req = ck_request_start(client, "POST", "records/query", body, body_len,
							   CK_REQUEST_IDEMPOTENT | CK_REQUEST_RAW_BODY);
		ck_client_wait(client, req);
		ck_request_finish(req, &resp);
		bench_check_response(&resp, "records/query");
		res->requests++;

		/* ckemu's answers are plain: a declined page would skew the figure */
		if (resp.body == NULL ||
			!ck_page_scan(&page, resp.body, resp.body_len, "records", "continuationMarker"))
			bench_fail("records/query: the page reader declined the answer");
		for (k = 0; k < page.nrecords; k++)
		{
			long		n = read_record(&page, k, &rr);

			if (n < 0)
				bench_fail("records/query: record %d of a page has a value that does not parse", k);
			res->values += n;
			res->records++;
		}

		free(marker);
		marker = page.marker != NULL ? strdup(page.marker) : NULL;
		ck_response_clear(&resp);
		if (marker == NULL || (limit > 0 && res->records >= limit))
			break;
	}
	free(marker);
	ck_raw_record_free(&rr);
	ck_page_free(&page);
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
