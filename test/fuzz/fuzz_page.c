/*-------------------------------------------------------------------------
 *
 * fuzz_page.c
 *		Fuzz target: the in-place page reader (src/ck/ck_page.c) against
 *		json-c, on a records/query or records/lookup answer body.
 *
 * The reader may decline anything, but what it accepts must mean exactly
 * what json-c (as the transport parses answers) makes of it: the same
 * records, the same system members, the same fields with the same types
 * and values, the same marker (for a changes/zone answer: the zone's
 * records, syncToken and moreComing as ck_changes_parse reads them, and
 * never a zone error); and its value decoders must agree with
 * ck_record.c's wherever they accept.  Any disagreement aborts.  The
 * check of a whole body must also never accept what the transport
 * rejects (invalid JSON, a lone surrogate, a wide integer).
 *
 * test/fuzz/fuzz_page.c
 *
 *-------------------------------------------------------------------------
 */
#include "ck/ck_http.c"

#include <math.h>

#include "ck/ck_changes.h"
#include "ck/ck_page.h"
#include "ck/ck_record.h"
#include "ck/ck_types.h"
#include "fuzz.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static bool
same_string(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void check_value(CkJsonSpan span, struct json_object *want);

typedef struct ElementCheck
{
	struct json_object *list;
	size_t		i;
} ElementCheck;

static bool
check_element(void *arg, CkJsonSpan elem)
{
	ElementCheck *c = (ElementCheck *) arg;

	CHECK(c->i < json_object_array_length(c->list));
	check_value(elem, json_object_array_get_idx(c->list, c->i++));
	return true;
}

/*
 * A value read in place parses (json-c) to what json-c has there, and
 * decodes as json-c's decoders do; a list element by element.
 */
static void
check_value(CkJsonSpan span, struct json_object *want)
{
	struct json_object *got = ck_json_parse_span(span);
	char	   *buf;
	size_t		len;
	const char *s;
	int64_t		i,
				j;
	double		d,
				e;

	CHECK(got != NULL);
	CHECK(json_object_equal(got, want));
	json_object_put(got);

	buf = malloc(span.len + 1);
	CHECK(buf != NULL);
	if (ck_span_kind(span) == '"' && ck_span_string(span, buf, &len))
	{
		CHECK(ck_value_string(want, &s));
		CHECK(!ck_value_has_nul(want));
		CHECK(len == (size_t) json_object_get_string_len(want));
		CHECK(memcmp(buf, s, len) == 0);
	}
	free(buf);
	if (ck_span_int64(span, &i))
	{
		CHECK(ck_value_int64(want, &j));
		CHECK(i == j);
	}
	if (ck_span_double(span, &d))
	{
		CHECK(ck_value_double(want, &e));
		CHECK(memcmp(&d, &e, sizeof(d)) == 0);
	}
	if (ck_span_kind(span) == '[')
	{
		ElementCheck c = {want, 0};

		CHECK(json_object_is_type(want, json_type_array));
		CHECK(ck_span_each_element(span, check_element, &c));
		CHECK(c.i == json_object_array_length(want));
	}
}

static bool
count_element(void *arg, CkJsonSpan elem)
{
	(*(int *) arg)++;
	return true;
}

static void
check_record(const CkPage *page, int i, struct json_object *entry,
			 CkRawRecord *rr)
{
	CkRecord	rec;
	char		err[256];
	int			k;

	if (!ck_raw_record_read(rr, page, i))
		return;					/* declined: json-c's alone */
	CHECK(ck_record_parse(entry, &rec, err, sizeof(err)));
	CHECK(!rec.is_error);
	CHECK(rr->rec.raw == rr);
	CHECK(same_string(rr->rec.record_name, rec.record_name));
	CHECK(same_string(rr->rec.record_type, rec.record_type));
	CHECK(same_string(rr->rec.change_tag, rec.change_tag));
	CHECK(same_string(rr->rec.zone_name, rec.zone_name));
	CHECK(same_string(rr->rec.zone_owner, rec.zone_owner));
	CHECK(same_string(rr->rec.created_user, rec.created_user));
	CHECK(same_string(rr->rec.modified_user, rec.modified_user));
	CHECK(rr->rec.deleted == rec.deleted);
	CHECK(rr->rec.has_created == rec.has_created);
	CHECK(!rec.has_created || rr->rec.created_ms == rec.created_ms);
	CHECK(rr->rec.has_modified == rec.has_modified);
	CHECK(!rec.has_modified || rr->rec.modified_ms == rec.modified_ms);

	/* every field json-c has, read in place the same way */
	if (rec.fields != NULL)
	{
		json_object_object_foreach(rec.fields, name, unused)
		{
			struct json_object *value;
			struct json_object *dict;
			struct json_object *t;
			CkFieldType type;
			const CkRawField *f = ck_raw_record_field(rr, name, strlen(name));
			bool		present = ck_record_field(&rec, name, &value, &type);

			(void) unused;
			/* a value in SQL: present, and not JSON null, in both */
			if (!present || value == NULL ||
				json_object_is_type(value, json_type_null))
			{
				CHECK(f == NULL || f->value.p == NULL);
				continue;
			}
			CHECK(f != NULL);
			CHECK(f->type.elem == type.elem && f->type.is_list == type.is_list);
			dict = json_object_object_get(rec.fields, name);
			if (json_object_is_type(dict, json_type_object) &&
				json_object_object_get_ex(dict, "type", &t) &&
				json_object_is_type(t, json_type_string))
				CHECK(f->type_given && strcmp(f->type_name, json_object_get_string(t)) == 0);
			else
				CHECK(!f->type_given);
			CHECK(f->value.p != NULL);
			check_value(f->value, value);
			if (ck_span_kind(f->value) == '[')
			{
				int			n = 0;

				CHECK(ck_span_each_element(f->value, count_element, &n));
				CHECK(n == ck_span_list_length(f->value));
				CHECK((size_t) n == json_object_array_length(value));
			}
		}
	}

	/* and no field json-c does not have */
	for (k = 0; k < rr->nfields; k++)
	{
		char	   *name = strndup(rr->fields[k].name, rr->fields[k].name_len);

		CHECK(name != NULL);
		CHECK(rec.fields != NULL && json_object_object_get_ex(rec.fields, name, NULL));
		free(name);
	}
}

/* The body read as a changes/zone answer agrees with ck_changes_parse. */
static void
check_zone(const CkBuf *body, struct json_object *json, CkRawRecord *rr)
{
	CkPage		page = {0};
	CkZoneChanges z;
	struct json_object *records;
	char		err[256];
	bool		more = false;
	int			i;

	if (ck_page_scan_zone(&page, body->data, body->len, &more))
	{
		CHECK(json != NULL);
		CHECK(ck_changes_parse(json, &z, err, sizeof(err)));
		CHECK(!z.is_error);
		CHECK(page.nrecords == z.nrecords);
		CHECK(page.marker != NULL && strcmp(page.marker, z.sync_token) == 0);
		CHECK(more == z.more_coming);
		CHECK(json_object_object_get_ex(z.zone, "records", &records));
		for (i = 0; i < page.nrecords; i++)
			check_record(&page, i, json_object_array_get_idx(records, i), rr);
	}
	ck_page_free(&page);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	CkBuf		body;
	CkPage		page = {0};
	CkRawRecord rr = {0};
	struct json_object *json;
	struct json_object *records;
	struct json_object *marker;
	char		err[256];
	bool		bad_text;
	bool		scanned;

	/* as received: a CkBuf, NUL-terminated */
	ck_buf_init(&body);
	if (!ck_buf_append(&body, data, size) || !ck_buf_append(&body, "", 1))
		return 0;
	body.len--;

	scanned = ck_page_scan(&page, body.data, body.len, "records", "continuationMarker");

	/* the fallback parse (the transport's too) */
	json = ck_page_parse_json(body.data, body.len, 200, &bad_text, err, sizeof(err));

	if (scanned)
	{
		int			i;

		CHECK(json != NULL);
		CHECK(json_object_object_get_ex(json, "records", &records));
		CHECK(json_object_is_type(records, json_type_array));
		CHECK((size_t) page.nrecords == json_object_array_length(records));
		if (json_object_object_get_ex(json, "continuationMarker", &marker) &&
			json_object_is_type(marker, json_type_string) &&
			json_object_get_string_len(marker) > 0)
			CHECK(page.marker != NULL && strcmp(page.marker, json_object_get_string(marker)) == 0);
		else
			CHECK(page.marker == NULL);
		for (i = 0; i < page.nrecords; i++)
			check_record(&page, i, json_object_array_get_idx(records, i), &rr);
	}

	check_zone(&body, json, &rr);

	json_object_put(json);
	ck_raw_record_free(&rr);
	ck_page_free(&page);
	ck_buf_free(&body);
	return 0;
}
