/*-------------------------------------------------------------------------
 *
 * t_query.c
 *		records/query: every comparator (results checked against the seed
 *		file, computed here independently), system fields in both spellings,
 *		AND of filters, multi-key sorts, resultsLimit, pagination,
 *		zoneWide, and the BAD_REQUESTs CloudKit gives for untyped IN values,
 *		unindexed and unknown fields.
 *
 * test/ckemu/tests/t_query.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckt.h"

/* One filter: the JSON sent, and what the seed evaluation needs. */
typedef struct Cond
{
	const char *field;
	const char *cmp;
	const char *fv;				/* fieldValue JSON */
	double		distance;		/* NEAR */
	json_object *value;			/* parsed fv.value */
} Cond;

static int
scalar_cmp(json_object *a, json_object *b)
{
	enum json_type ta = json_object_get_type(a);
	enum json_type tb = json_object_get_type(b);

	if (ta == json_type_int && tb == json_type_int)
	{
		int64_t		x = json_object_get_int64(a),
					y = json_object_get_int64(b);

		return x < y ? -1 : x > y;
	}
	if ((ta == json_type_int || ta == json_type_double) &&
		(tb == json_type_int || tb == json_type_double))
	{
		double		x = json_object_get_double(a),
					y = json_object_get_double(b);

		return x < y ? -1 : x > y;
	}
	if (ta == json_type_string && tb == json_type_string)
	{
		int			c = strcmp(json_object_get_string(a), json_object_get_string(b));

		return c < 0 ? -1 : c > 0;
	}
	if (ta == json_type_object && tb == json_type_object)
	{
		const char *x = jps(a, "recordName");
		const char *y = jps(b, "recordName");

		if (x && y)
		{
			int			c = strcmp(x, y);

			return c < 0 ? -1 : c > 0;
		}
	}
	return 2;
}

static bool
list_has(json_object *list, json_object *x)
{
	size_t		i;

	for (i = 0; list && i < json_object_array_length(list); i++)
		if (scalar_cmp(json_object_array_get_idx(list, i), x) == 0)
			return true;
	return false;
}

static bool
begins(json_object *s, json_object *prefix)
{
	const char *p = json_object_get_string(prefix);

	return json_object_is_type(s, json_type_string) &&
		strncmp(json_object_get_string(s), p, strlen(p)) == 0;
}

/* Does text contain the (lower-case ASCII) word? */
static bool
has_word(const char *text, const char *word)
{
	const unsigned char *p = (const unsigned char *) text;

	while (*p)
	{
		const unsigned char *start;
		size_t		len;
		size_t		i;

		while (*p && !(isalnum(*p) || *p >= 0x80))
			p++;
		start = p;
		while (*p && (isalnum(*p) || *p >= 0x80))
			p++;
		len = p - start;
		if (len == strlen(word))
		{
			for (i = 0; i < len; i++)
				if (tolower(start[i]) != word[i])
					break;
			if (i == len)
				return true;
		}
	}
	return false;
}

/*
 * Great-circle test without libm (the test binary links no -lm): compare
 * the chord between the two points on the unit sphere with the chord of
 * the allowed angle.
 */
static double
my_sin(double x)
{
	double		term,
				sum;
	int			i;

	while (x > M_PI)
		x -= 2 * M_PI;
	while (x < -M_PI)
		x += 2 * M_PI;
	term = sum = x;
	for (i = 1; i < 12; i++)
	{
		term *= -x * x / ((2 * i) * (2 * i + 1));
		sum += term;
	}
	return sum;
}

static double
my_cos(double x)
{
	return my_sin(x + M_PI / 2);
}

static bool
within_m(double lat1, double lon1, double lat2, double lon2, double metres)
{
	double		r = M_PI / 180;
	double		x1 = my_cos(lat1 * r) * my_cos(lon1 * r),
				y1 = my_cos(lat1 * r) * my_sin(lon1 * r),
				z1 = my_sin(lat1 * r);
	double		x2 = my_cos(lat2 * r) * my_cos(lon2 * r),
				y2 = my_cos(lat2 * r) * my_sin(lon2 * r),
				z2 = my_sin(lat2 * r);
	double		chord2 = (x1 - x2) * (x1 - x2) + (y1 - y2) * (y1 - y2) + (z1 - z2) * (z1 - z2);
	double		half = my_sin(metres / 6371000.0 / 2);

	return chord2 <= 4 * half * half;
}

static bool
cond_match(const Cond *c, json_object *rec)
{
	json_object *v = seed_field(rec, c->field);
	json_object *q = c->value;
	size_t		i;
	int			n;
	bool		any,
				all;

	if (v == NULL)
		return false;
	if (strcmp(c->cmp, "EQUALS") == 0)
		return scalar_cmp(v, q) == 0;
	if (strcmp(c->cmp, "NOT_EQUALS") == 0)
		return scalar_cmp(v, q) != 0;
	if (strcmp(c->cmp, "LESS_THAN") == 0)
		return scalar_cmp(v, q) == -1;
	if (strcmp(c->cmp, "LESS_THAN_OR_EQUALS") == 0)
		return scalar_cmp(v, q) <= 0;
	if (strcmp(c->cmp, "GREATER_THAN") == 0)
		return scalar_cmp(v, q) == 1;
	if (strcmp(c->cmp, "GREATER_THAN_OR_EQUALS") == 0)
		return (n = scalar_cmp(v, q)) == 0 || n == 1;
	if (strcmp(c->cmp, "IN") == 0)
		return list_has(q, v);
	if (strcmp(c->cmp, "NOT_IN") == 0)
		return !list_has(q, v);
	if (strcmp(c->cmp, "BEGINS_WITH") == 0)
		return begins(v, q);
	if (strcmp(c->cmp, "NOT_BEGINS_WITH") == 0)
		return !begins(v, q);
	if (strcmp(c->cmp, "LIST_CONTAINS") == 0)
		return list_has(v, q);
	if (strcmp(c->cmp, "NOT_LIST_CONTAINS") == 0)
		return !list_has(v, q);
	any = false;
	all = true;
	for (i = 0; json_object_is_type(q, json_type_array) && i < json_object_array_length(q); i++)
	{
		bool		has = list_has(v, json_object_array_get_idx(q, i));

		any |= has;
		all &= has;
	}
	if (strcmp(c->cmp, "LIST_CONTAINS_ALL") == 0)
		return all;
	if (strcmp(c->cmp, "NOT_LIST_CONTAINS_ALL") == 0)
		return !all;
	if (strcmp(c->cmp, "LIST_CONTAINS_ANY") == 0)
		return any;
	if (strcmp(c->cmp, "NOT_LIST_CONTAINS_ANY") == 0)
		return !any;
	if (strcmp(c->cmp, "LIST_MEMBER_BEGINS_WITH") == 0 ||
		strcmp(c->cmp, "NOT_LIST_MEMBER_BEGINS_WITH") == 0)
	{
		any = false;
		for (i = 0; i < json_object_array_length(v); i++)
			any |= begins(json_object_array_get_idx(v, i), q);
		return c->cmp[0] == 'L' ? any : !any;
	}
	if (strcmp(c->cmp, "CONTAINS_ALL_TOKENS") == 0 || strcmp(c->cmp, "CONTAINS_ANY_TOKENS") == 0)
	{
		char	   *words = strdup(json_object_get_string(q));
		char	   *save = NULL;
		char	   *w;

		any = false;
		all = true;
		for (w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save))
		{
			bool		has;
			char	   *l;

			for (l = w; *l; l++)
				*l = (char) tolower((unsigned char) *l);
			has = has_word(json_object_get_string(v), w);

			any |= has;
			all &= has;
		}
		free(words);
		return c->cmp[9] == 'A' && c->cmp[10] == 'L' ? all : any;
	}
	if (strcmp(c->cmp, "NEAR") == 0)
		return within_m(jpd(v, "latitude", 0), jpd(v, "longitude", 0),
						jpd(q, "latitude", 0), jpd(q, "longitude", 0), c->distance);
	return false;
}

typedef struct CondSet
{
	Cond	   *conds;
	int			n;
} CondSet;

static bool
conds_match(json_object *rec, void *arg)
{
	CondSet    *cs = arg;
	int			i;

	for (i = 0; i < cs->n; i++)
		if (!cond_match(&cs->conds[i], rec))
			return false;
	return true;
}

static const char *
filters_json(Cond *conds, int n)
{
	const char *out = "";
	int			i;

	for (i = 0; i < n; i++)
	{
		const char *f = tfmt("{\"fieldName\":\"%s\",\"comparator\":\"%s\",\"fieldValue\":%s%s}",
							 conds[i].field, conds[i].cmp, conds[i].fv,
							 conds[i].distance > 0 ? tfmt(",\"distance\":%g", conds[i].distance) : "");

		out = tfmt("%s%s%s", out, i ? "," : "", f);
	}
	return out;
}

/* Query type with the conditions; compare with the seed evaluation. */
static void
expect(Emu *emu, const char *type, Cond *conds, int n, int min_expected)
{
	CondSet		cs = {conds, n};
	NameSet    *want;
	NameSet    *got;
	char		msg[300];
	int			i;

	for (i = 0; i < n; i++)
	{
		json_object *fv = jparse(conds[i].fv);

		if (!CHECKM(fv != NULL, "test bug: bad fieldValue %s", conds[i].fv))
			return;
		conds[i].value = jp(fv, "value");
	}
	want = seed_select(type, conds_match, &cs);
	CHECKM(want->n >= min_expected, "test bug: only %d seed records match %s %s", want->n,
		   conds[0].field, conds[0].cmp);
	got = query_all(emu, tfmt("{\"query\":{\"recordType\":\"%s\",\"filterBy\":[%s]}}", type,
							  filters_json(conds, n)), 200, NULL);
	if (got == NULL)
		return;
	nameset_sort(got);
	CHECKM(nameset_dups(got) == 0, "%s %s %s: %d duplicate records", type, conds[0].field,
		   conds[0].cmp, nameset_dups(got));
	CHECKM(nameset_equal(got, want, msg, sizeof(msg)), "%s %s %s %s: got vs expected: %s",
		   type, conds[0].field, conds[0].cmp, conds[0].fv, msg);
}

#define EXPECT1(emu, type, field, cmp, fv, min) \
	do { Cond c_[1] = {{field, cmp, fv, 0, NULL}}; expect(emu, type, c_, 1, min); } while (0)

static Resp *
query(Emu *emu, const char *body)
{
	return ck_post(emu, "public", "records/query", body);
}

static const char *
one_filter(const char *type, const char *field, const char *cmp, const char *fv)
{
	return tfmt("{\"query\":{\"recordType\":\"%s\",\"filterBy\":[{\"fieldName\":\"%s\","
				"\"comparator\":\"%s\",\"fieldValue\":%s}]}}", type, field, cmp, fv);
}

/* Names of a query's records in answer order (one page). */
static const char *
names_in_order(Resp *r)
{
	const char *out = "";
	int			i;

	for (i = 0; i < jlen(r->json, "records"); i++)
		out = tfmt("%s%s%s", out, i ? "," : "", jpf(r->json, "records[%d].recordName", i) ?
				   json_object_get_string(jpf(r->json, "records[%d].recordName", i)) : "?");
	return out;
}

/* Seed order for a multi-key sort of Visit: partySize asc, visitedAt desc. */
static int
visit_cmp(const void *a, const void *b)
{
	json_object *x = *(json_object *const *) a;
	json_object *y = *(json_object *const *) b;
	int64_t		px = json_object_get_int64(seed_field(x, "partySize"));
	int64_t		py = json_object_get_int64(seed_field(y, "partySize"));
	int64_t		tx,
				ty;

	if (px != py)
		return px < py ? -1 : 1;
	tx = json_object_get_int64(seed_field(x, "visitedAt"));
	ty = json_object_get_int64(seed_field(y, "visitedAt"));
	return tx > ty ? -1 : tx < ty;
}

void
group_query(void)
{
	Emu		   *emu = emu_main();

	if (emu == NULL)
		return;
	emu_reset(emu);

	TEST("query/EQUALS on INT64: a 1% filter over 10,000 records")
	{
		int			pages = 0;
		NameSet    *got = query_all(emu, one_filter("Ticket", "batch", "EQUALS",
													"{\"value\":7,\"type\":\"INT64\"}"), 200, &pages);

		CHECKM(got && got->n == 100, "expected 100 tickets, got %d", got ? got->n : -1);
		CHECK_INT(pages, 1);
		EXPECT1(emu, "Ticket", "batch", "EQUALS", "{\"value\":7,\"type\":\"INT64\"}", 100);
	}

	TEST("query/EQUALS on STRING, DOUBLE, TIMESTAMP, REFERENCE")
	{
		json_object *v500 = seed_record("visit-0500");

		EXPECT1(emu, "Artist", "name", "EQUALS", "{\"value\":\"葛飾 北斎\",\"type\":\"STRING\"}", 1);
		EXPECT1(emu, "Artist", "name", "EQUALS", "{\"value\":\"Zoë \\\"Zed\\\" Ångström\"}", 1);
		EXPECT1(emu, "Ticket", "price", "EQUALS", "{\"value\":17.5,\"type\":\"DOUBLE\"}", 2500);
		EXPECT1(emu, "Visit", "visitedAt", "EQUALS",
				tfmt("{\"value\":%lld,\"type\":\"TIMESTAMP\"}",
					 (long long) json_object_get_int64(seed_field(v500, "visitedAt"))), 1);
		EXPECT1(emu, "Artwork", "artist", "EQUALS",
				"{\"value\":{\"recordName\":\"artist-0007\"},\"type\":\"REFERENCE\"}", 1);
		EXPECT1(emu, "Artist", "living", "EQUALS", "{\"value\":1,\"type\":\"INT64\"}", 50);
	}

	TEST("query/NOT_EQUALS")
	{
		EXPECT1(emu, "Visit", "partySize", "NOT_EQUALS", "{\"value\":1,\"type\":\"INT64\"}", 500);
		EXPECT1(emu, "Artwork", "medium", "NOT_EQUALS", "{\"value\":\"Bronze\",\"type\":\"STRING\"}", 2000);
	}

	TEST("query/LESS_THAN, LESS_THAN_OR_EQUALS, GREATER_THAN, GREATER_THAN_OR_EQUALS")
	{
		json_object *v900 = seed_record("visit-0900");

		EXPECT1(emu, "Ticket", "serial", "LESS_THAN", "{\"value\":150,\"type\":\"INT64\"}", 150);
		EXPECT1(emu, "Ticket", "serial", "LESS_THAN_OR_EQUALS", "{\"value\":150,\"type\":\"INT64\"}", 151);
		EXPECT1(emu, "Ticket", "serial", "GREATER_THAN", "{\"value\":9900,\"type\":\"INT64\"}", 99);
		EXPECT1(emu, "Ticket", "serial", "GREATER_THAN_OR_EQUALS", "{\"value\":9900,\"type\":\"INT64\"}", 100);
		EXPECT1(emu, "Visit", "visitedAt", "GREATER_THAN",
				tfmt("{\"value\":%lld,\"type\":\"TIMESTAMP\"}",
					 (long long) json_object_get_int64(seed_field(v900, "visitedAt"))), 100);
		EXPECT1(emu, "Artwork", "price", "LESS_THAN", "{\"value\":20000.5,\"type\":\"DOUBLE\"}", 5);
		EXPECT1(emu, "Artwork", "inventoryCode", "GREATER_THAN_OR_EQUALS",
				"{\"value\":\"GAL-120000\",\"type\":\"STRING\"}", 100);
		EXPECT1(emu, "Artist", "born", "LESS_THAN", "{\"value\":-3000000000000,\"type\":\"TIMESTAMP\"}", 5);
	}

	TEST("query/IN and NOT_IN with typed lists")
	{
		EXPECT1(emu, "Artwork", "medium", "IN",
				"{\"value\":[\"Bronze\",\"Marble\"],\"type\":\"STRING_LIST\"}", 300);
		EXPECT1(emu, "Ticket", "serial", "IN", "{\"value\":[1,2,3,9999,12345],\"type\":\"INT64_LIST\"}", 4);
		EXPECT1(emu, "Exhibition", "curator", "NOT_IN",
				"{\"value\":[\"Chen Wei\",\"Fatima Zahra\"],\"type\":\"STRING_LIST\"}", 30);
		EXPECT1(emu, "Artwork", "artist", "IN",
				"{\"value\":[{\"recordName\":\"artist-0001\"},{\"recordName\":\"artist-0002\"}],"
				"\"type\":\"REFERENCE_LIST\"}", 2);
	}

	TEST("query/BEGINS_WITH and NOT_BEGINS_WITH (case-sensitive)")
	{
		Resp	   *r;

		EXPECT1(emu, "Artwork", "inventoryCode", "BEGINS_WITH", "{\"value\":\"GAL-1000\",\"type\":\"STRING\"}", 14);
		EXPECT1(emu, "Exhibition", "title", "NOT_BEGINS_WITH", "{\"value\":\"Cubism\",\"type\":\"STRING\"}", 40);
		EXPECT1(emu, "Artist", "name", "BEGINS_WITH", "{\"value\":\"Zo\\u00eb\",\"type\":\"STRING\"}", 2);
		r = query(emu, one_filter("Artwork", "inventoryCode", "BEGINS_WITH", "{\"value\":\"gal-\",\"type\":\"STRING\"}"));
		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "records"), 0);
	}

	TEST("query/LIST_CONTAINS, NOT_LIST_CONTAINS, *_ALL, *_ANY")
	{
		json_object *aw = seed_record("artwork-00004");

		EXPECT1(emu, "Artist", "movements", "LIST_CONTAINS", "{\"value\":\"Cubism\",\"type\":\"STRING\"}", 10);
		EXPECT1(emu, "Artist", "movements", "NOT_LIST_CONTAINS", "{\"value\":\"Cubism\",\"type\":\"STRING\"}", 100);
		EXPECT1(emu, "Artist", "movements", "LIST_CONTAINS_ALL",
				"{\"value\":[\"Cubism\",\"Fauvism\"],\"type\":\"STRING_LIST\"}", 1);
		EXPECT1(emu, "Artist", "movements", "NOT_LIST_CONTAINS_ALL",
				"{\"value\":[\"Cubism\",\"Fauvism\"],\"type\":\"STRING_LIST\"}", 100);
		EXPECT1(emu, "Artist", "movements", "LIST_CONTAINS_ANY",
				"{\"value\":[\"Dada\",\"Pop Art\"],\"type\":\"STRING_LIST\"}", 10);
		EXPECT1(emu, "Artist", "movements", "NOT_LIST_CONTAINS_ANY",
				"{\"value\":[\"Dada\",\"Pop Art\"],\"type\":\"STRING_LIST\"}", 100);
		EXPECT1(emu, "Artist", "awardYears", "LIST_CONTAINS", "{\"value\":2001,\"type\":\"INT64\"}", 1);
		EXPECT1(emu, "Artwork", "tags", "LIST_CONTAINS", "{\"value\":\"🎨 colourful\",\"type\":\"STRING\"}", 10);
		EXPECT1(emu, "Exhibition", "artworks", "LIST_CONTAINS",
				"{\"value\":{\"recordName\":\"artwork-00877\"},\"type\":\"REFERENCE\"}", 1);
		EXPECT1(emu, "Artwork", "exhibitedOn", "LIST_CONTAINS",
				tfmt("{\"value\":%lld,\"type\":\"TIMESTAMP\"}",
					 (long long) json_object_get_int64(jp(seed_field(aw, "exhibitedOn"), "[0]"))), 1);
		EXPECT1(emu, "Exhibition", "ticketPrices", "LIST_CONTAINS", "{\"value\":12.5,\"type\":\"DOUBLE\"}", 1);
	}

	TEST("query/LIST_MEMBER_BEGINS_WITH and NOT_LIST_MEMBER_BEGINS_WITH")
	{
		EXPECT1(emu, "Artist", "movements", "LIST_MEMBER_BEGINS_WITH", "{\"value\":\"Abs\",\"type\":\"STRING\"}", 5);
		EXPECT1(emu, "Artist", "movements", "NOT_LIST_MEMBER_BEGINS_WITH", "{\"value\":\"Abs\",\"type\":\"STRING\"}", 100);
	}

	TEST("query/CONTAINS_ALL_TOKENS and CONTAINS_ANY_TOKENS")
	{
		EXPECT1(emu, "Artist", "bio", "CONTAINS_ALL_TOKENS", "{\"value\":\"cubism british\",\"type\":\"STRING\"}", 10);
		EXPECT1(emu, "Artist", "bio", "CONTAINS_ALL_TOKENS", "{\"value\":\"CUBISM Watercolour\",\"type\":\"STRING\"}", 2);
		EXPECT1(emu, "Artist", "bio", "CONTAINS_ANY_TOKENS", "{\"value\":\"fauvism dada\",\"type\":\"STRING\"}", 10);
	}

	TEST("query/NEAR")
	{
		Cond		c[1] = {{"studio", "NEAR", "{\"value\":{\"latitude\":48.860611,\"longitude\":2.337644},"
		"\"type\":\"LOCATION\"}", 10000, NULL}};

		expect(emu, "Artist", c, 1, 10);
		c[0].distance = 1;
		c[0].fv = "{\"value\":{\"latitude\":0.0,\"longitude\":0.0},\"type\":\"LOCATION\"}";
		expect(emu, "Artist", c, 1, 0);
	}

	TEST("query/AND of filters")
	{
		Cond		c[3] = {
			{"batch", "EQUALS", "{\"value\":7,\"type\":\"INT64\"}", 0, NULL},
			{"serial", "LESS_THAN", "{\"value\":5000,\"type\":\"INT64\"}", 0, NULL},
			{"price", "EQUALS", "{\"value\":20.0,\"type\":\"DOUBLE\"}", 0, NULL},
		};
		Cond		d[2] = {
			{"medium", "EQUALS", "{\"value\":\"Bronze\",\"type\":\"STRING\"}", 0, NULL},
			{"year", "GREATER_THAN_OR_EQUALS", "{\"value\":1990,\"type\":\"INT64\"}", 0, NULL},
		};

		expect(emu, "Ticket", c, 2, 50);
		expect(emu, "Ticket", c, 3, 50);
		expect(emu, "Artwork", d, 2, 10);
	}

	TEST("query/system fields: recordName as systemFieldName and ___recordID")
	{
		Resp	   *r;

		r = query(emu, "{\"query\":{\"recordType\":\"Visit\",\"filterBy\":[{\"systemFieldName\":\"recordName\","
				  "\"comparator\":\"EQUALS\",\"fieldValue\":{\"value\":{\"recordName\":\"visit-0005\"},\"type\":\"REFERENCE\"}}]}}");
		CHECK_STATUS(r, 200);
		CHECK_STR(names_in_order(r), "visit-0005");
		r = query(emu, one_filter("Visit", "___recordID", "EQUALS",
								  "{\"value\":{\"recordName\":\"visit-0006\"},\"type\":\"REFERENCE\"}"));
		CHECK_STATUS(r, 200);
		CHECK_STR(names_in_order(r), "visit-0006");
		r = query(emu, "{\"query\":{\"recordType\":\"Visit\",\"filterBy\":[{\"systemFieldName\":\"recordName\","
				  "\"comparator\":\"IN\",\"fieldValue\":{\"value\":[{\"recordName\":\"visit-0007\"},"
				  "{\"recordName\":\"visit-0008\"}],\"type\":\"REFERENCE_LIST\"}}],"
				  "\"sortBy\":[{\"fieldName\":\"visitedAt\",\"ascending\":false}]}}");
		CHECK_STATUS(r, 200);
		CHECK_STR(names_in_order(r), "visit-0008,visit-0007");
	}

	TEST("query/system fields: createdTimestamp / ___createTime, modifiedTimestamp / ___modTime")
	{
		int64_t		t[3];
		const char *tag0 = NULL;
		Resp	   *r;
		int			i;

		for (i = 0; i < 3; i++)
		{
			r = ck_postf(emu, "public", "records/modify",
						 "{\"operations\":[{\"operationType\":\"create\",\"record\":{\"recordName\":\"qt-%d\","
						 "\"recordType\":\"AllTypes\",\"fields\":{\"s\":{\"value\":\"qt\"}}}}]}", i);
			t[i] = jpi(r->json, "records[0].created.timestamp", 0);
			if (i == 0)
				tag0 = jps(r->json, "records[0].recordChangeTag");
			sleep_ms(25);
		}
		r = query(emu, tfmt("{\"query\":{\"recordType\":\"AllTypes\",\"filterBy\":["
							"{\"fieldName\":\"s\",\"comparator\":\"EQUALS\",\"fieldValue\":{\"value\":\"qt\",\"type\":\"STRING\"}},"
							"{\"systemFieldName\":\"createdTimestamp\",\"comparator\":\"GREATER_THAN\","
							"\"fieldValue\":{\"value\":%lld,\"type\":\"TIMESTAMP\"}}],"
							"\"sortBy\":[{\"systemFieldName\":\"createdTimestamp\",\"ascending\":false}]}}",
							(long long) t[0]));
		CHECK_STATUS(r, 200);
		CHECK_STR(names_in_order(r), "qt-2,qt-1");
		r = query(emu, tfmt("{\"query\":{\"recordType\":\"AllTypes\",\"filterBy\":["
							"{\"fieldName\":\"s\",\"comparator\":\"EQUALS\",\"fieldValue\":{\"value\":\"qt\",\"type\":\"STRING\"}},"
							"{\"fieldName\":\"___createTime\",\"comparator\":\"LESS_THAN_OR_EQUALS\","
							"\"fieldValue\":{\"value\":%lld,\"type\":\"TIMESTAMP\"}}],"
							"\"sortBy\":[{\"fieldName\":\"___createTime\",\"ascending\":true}]}}",
							(long long) t[1]));
		CHECK_STATUS(r, 200);
		CHECK_STR(names_in_order(r), "qt-0,qt-1");

		/* touch qt-0: it becomes the most recently modified */
		ck_postf(emu, "public", "records/modify",
				 "{\"operations\":[{\"operationType\":\"update\",\"record\":{\"recordName\":\"qt-0\","
				 "\"recordType\":\"AllTypes\",\"recordChangeTag\":\"%s\",\"fields\":{\"i\":{\"value\":1}}}}]}",
				 tag0 ? tag0 : "");
		r = query(emu, "{\"query\":{\"recordType\":\"AllTypes\",\"filterBy\":["
				  "{\"fieldName\":\"s\",\"comparator\":\"EQUALS\",\"fieldValue\":{\"value\":\"qt\",\"type\":\"STRING\"}}],"
				  "\"sortBy\":[{\"systemFieldName\":\"modifiedTimestamp\",\"ascending\":false}]}}");
		CHECK_STR(names_in_order(r), "qt-0,qt-2,qt-1");
		r = query(emu, "{\"query\":{\"recordType\":\"AllTypes\",\"filterBy\":["
				  "{\"fieldName\":\"s\",\"comparator\":\"EQUALS\",\"fieldValue\":{\"value\":\"qt\",\"type\":\"STRING\"}}],"
				  "\"sortBy\":[{\"fieldName\":\"___modTime\",\"ascending\":true}]}}");
		CHECK_STR(names_in_order(r), "qt-1,qt-2,qt-0");
	}

	TEST("query/multi-key sortBy across pages")
	{
		int			n = seed_count("Visit");
		json_object **sorted = malloc(sizeof(json_object *) * n);
		NameSet    *got;
		int			i,
					bad = -1;

		for (i = 0; i < n; i++)
			sorted[i] = seed_nth("Visit", i);
		qsort(sorted, n, sizeof(json_object *), visit_cmp);
		got = query_all(emu, "{\"query\":{\"recordType\":\"Visit\",\"sortBy\":["
						"{\"fieldName\":\"partySize\",\"ascending\":true},"
						"{\"fieldName\":\"visitedAt\",\"ascending\":false}]}}", 200, NULL);
		if (got && CHECK_INT(got->n, n))
		{
			for (i = 0; i < n && bad < 0; i++)
				if (strcmp(got->names[i], jps(sorted[i], "recordName")) != 0)
					bad = i;
			CHECKM(bad < 0, "sort order differs at position %d: got %s, expected %s", bad,
				   bad >= 0 ? got->names[bad] : "", bad >= 0 ? jps(sorted[bad], "recordName") : "");
		}
		free(sorted);

		/* a descending STRING sort */
		{
			Resp	   *r = query(emu, "{\"resultsLimit\":3,\"query\":{\"recordType\":\"Artwork\","
								  "\"filterBy\":[{\"fieldName\":\"inventoryCode\",\"comparator\":\"BEGINS_WITH\","
								  "\"fieldValue\":{\"value\":\"GAL-1000\",\"type\":\"STRING\"}}],"
								  "\"sortBy\":[{\"fieldName\":\"inventoryCode\",\"ascending\":false}]}}");

			/* codes are GAL-(100000 + 7i): the largest below GAL-100100 is i = 14 */
			CHECK_STR(names_in_order(r), "artwork-00014,artwork-00013,artwork-00012");
		}
	}

	TEST("query/pagination over exactly 1,000 records: 5 pages of 200, each once")
	{
		NameSet    *got = nameset_new();
		NameSet    *want = seed_select("Visit", NULL, NULL);
		char	   *marker = NULL;
		char		msg[300];
		int			page;

		for (page = 0; page < 6; page++)
		{
			Resp	   *r;
			int			i;

			r = query(emu, marker ? tfmt("{\"resultsLimit\":200,\"continuationMarker\":\"%s\","
										 "\"query\":{\"recordType\":\"Visit\"}}", marker)
					  : "{\"resultsLimit\":200,\"query\":{\"recordType\":\"Visit\"}}");
			free(marker);
			marker = NULL;
			if (!CHECK_STATUS(r, 200))
				break;
			CHECKM(jlen(r->json, "records") == 200, "page %d has %d records", page + 1,
				   jlen(r->json, "records"));
			for (i = 0; i < jlen(r->json, "records"); i++)
				nameset_add(got, json_object_get_string(jpf(r->json, "records[%d].recordName", i)));
			if (jps(r->json, "continuationMarker") == NULL)
				break;
			marker = strdup(jps(r->json, "continuationMarker"));
		}
		free(marker);
		CHECKM(page == 4, "expected the continuationMarker to disappear on page 5, it did on page %d",
			   page + 1);
		nameset_sort(got);
		CHECK_INT(nameset_dups(got), 0);
		CHECKM(nameset_equal(got, want, msg, sizeof(msg)), "pages vs seed: %s", msg);

		/* without resultsLimit the page is the maximum, 200 */
		{
			Resp	   *r = query(emu, "{\"query\":{\"recordType\":\"Visit\"}}");

			CHECK_INT(jlen(r->json, "records"), 200);
			CHECKM(jps(r->json, "continuationMarker") != NULL, "no continuationMarker on page 1 of 5");
		}
		/* and an odd page size */
		{
			int			pages = 0;
			NameSet    *s = query_all(emu, "{\"query\":{\"recordType\":\"Visit\"}}", 333, &pages);

			CHECKM(s && s->n == 1000, "333-record pages returned %d records", s ? s->n : -1);
			CHECK_INT(pages, 5);	/* clamped to 200 */
		}
	}

	TEST("query/resultsLimit is clamped; a bad continuationMarker is BAD_REQUEST")
	{
		Resp	   *r;

		r = query(emu, "{\"resultsLimit\":500,\"query\":{\"recordType\":\"Visit\"}}");
		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "records"), 200);
		CHECKM(jps(r->json, "continuationMarker") != NULL, "no continuationMarker");
		r = query(emu, "{\"resultsLimit\":1,\"query\":{\"recordType\":\"Visit\"}}");
		CHECK_INT(jlen(r->json, "records"), 1);
		CHECKM(jps(r->json, "continuationMarker") != NULL, "no continuationMarker");
		r = query(emu, "{\"continuationMarker\":\"not-a-marker\",\"query\":{\"recordType\":\"Visit\"}}");
		CHECK_CODE(r, "BAD_REQUEST");
		r = query(emu, one_filter("Ticket", "serial", "EQUALS", "{\"value\":-1,\"type\":\"INT64\"}"));
		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "records"), 0);
		CHECKM(jp(r->json, "continuationMarker") == NULL, "continuationMarker on an empty result");
	}

	TEST("query/zoneWide")
	{
		Cred		d = cred_web(CKT_TOKEN_D);
		Resp	   *r;

		r = ck_req(emu, &d, NULL, "development", "private", "records/query",
				   "{\"zoneWide\":true,\"query\":{\"recordType\":\"Favorite\"}}");
		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "records"), 25);
		CHECK_STR(jps(r->json, "records[0].zoneID.zoneName"), "Wishlist");
		r = ck_req(emu, &d, NULL, "development", "private", "records/query",
				   "{\"query\":{\"recordType\":\"Favorite\"}}");
		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "records"), 0);
		r = ck_req(emu, &d, NULL, "development", "private", "records/query",
				   "{\"zoneID\":{\"zoneName\":\"Wishlist\"},\"query\":{\"recordType\":\"Favorite\"}}");
		CHECK_INT(jlen(r->json, "records"), 25);
		r = query(emu, tfmt("{\"zoneWide\":true,%s", one_filter("Ticket", "batch", "EQUALS",
																 "{\"value\":7,\"type\":\"INT64\"}") + 1));
		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "records"), 100);
	}

	TEST("query/IN without a typed list is BAD_REQUEST")
	{
		Resp	   *r;

		r = query(emu, one_filter("Artwork", "medium", "IN", "{\"value\":[\"Bronze\",\"Marble\"]}"));
		CHECK_CODE(r, "BAD_REQUEST");
		CHECK_REASON(r, "Invalid value");
		r = query(emu, one_filter("Artwork", "medium", "IN", "{\"value\":[\"Bronze\"],\"type\":\"STRING\"}"));
		CHECK_CODE(r, "BAD_REQUEST");
		r = query(emu, one_filter("Artwork", "medium", "IN", "{\"value\":\"Bronze\",\"type\":\"STRING_LIST\"}"));
		CHECK_CODE(r, "BAD_REQUEST");
		r = query(emu, one_filter("Ticket", "serial", "EQUALS", "{\"value\":\"abc\",\"type\":\"INT64\"}"));
		CHECK_CODE(r, "BAD_REQUEST");
	}

	TEST("query/unindexed fields: not marked queryable / sortable / searchable")
	{
		Resp	   *r;

		r = query(emu, one_filter("Artist", "website", "EQUALS", "{\"value\":\"x\",\"type\":\"STRING\"}"));
		CHECK_CODE(r, "BAD_REQUEST");
		CHECK_REASON(r, "Field 'website' is not marked queryable");

		r = query(emu, "{\"query\":{\"recordType\":\"Loan\"}}");
		CHECK_CODE(r, "BAD_REQUEST");
		CHECK_REASON(r, "is not marked queryable");
		CHECKM(jps(r->json, "reason") && (strstr(jps(r->json, "reason"), "recordName") ||
										  strstr(jps(r->json, "reason"), "___recordID")),
			   "reason should name recordName/___recordID: %s", jps(r->json, "reason"));
		/* a filtered Loan query is fine */
		r = query(emu, one_filter("Loan", "borrower", "EQUALS", "{\"value\":\"MoMA\",\"type\":\"STRING\"}"));
		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "records"), 8);

		r = query(emu, one_filter("Artist", "living", "GREATER_THAN", "{\"value\":0,\"type\":\"INT64\"}"));
		CHECK_CODE(r, "BAD_REQUEST");
		CHECK_REASON(r, "Field 'living' is not marked sortable");

		r = query(emu, "{\"query\":{\"recordType\":\"Artist\",\"sortBy\":[{\"fieldName\":\"living\"}]}}");
		CHECK_CODE(r, "BAD_REQUEST");
		CHECK_REASON(r, "Field 'living' is not marked sortable");

		r = query(emu, "{\"query\":{\"recordType\":\"Exhibition\",\"sortBy\":[{\"systemFieldName\":\"createdTimestamp\"}]}}");
		CHECK_CODE(r, "BAD_REQUEST");
		CHECK_REASON(r, "not marked sortable");

		r = query(emu, one_filter("Artwork", "dimensions", "LIST_CONTAINS", "{\"value\":1.5,\"type\":\"DOUBLE\"}"));
		CHECK_CODE(r, "BAD_REQUEST");
		CHECK_REASON(r, "Field 'dimensions' is not marked queryable");

		r = query(emu, one_filter("Artist", "nationality", "CONTAINS_ANY_TOKENS", "{\"value\":\"french\",\"type\":\"STRING\"}"));
		CHECK_CODE(r, "BAD_REQUEST");
		CHECK_REASON(r, "searchable");
	}

	TEST("query/unknown field, type or comparator")
	{
		Resp	   *r;

		r = query(emu, one_filter("Artist", "noSuchField", "EQUALS", "{\"value\":\"x\",\"type\":\"STRING\"}"));
		CHECK_CODE(r, "BAD_REQUEST");
		CHECK_REASON(r, "Did not find field");
		r = query(emu, one_filter("Artist", "recordName", "EQUALS", "{\"value\":\"artist-0001\",\"type\":\"STRING\"}"));
		CHECK_CODE(r, "BAD_REQUEST");
		CHECK_REASON(r, "Did not find field: 'recordName' in type: 'Artist'");
		r = query(emu, "{\"query\":{\"recordType\":\"Artist\",\"sortBy\":[{\"fieldName\":\"noSuchField\"}]}}");
		CHECK_CODE(r, "BAD_REQUEST");
		r = query(emu, "{\"query\":{\"recordType\":\"NoSuchType\"}}");
		CHECK_CODE(r, "BAD_REQUEST");
		r = query(emu, one_filter("Artist", "name", "LIKE", "{\"value\":\"x\",\"type\":\"STRING\"}"));
		CHECK_CODE(r, "BAD_REQUEST");
		r = query(emu, "{\"query\":{\"recordType\":\"Artist\",\"filterBy\":[{\"fieldName\":\"name\",\"comparator\":\"EQUALS\"}]}}");
		CHECK_CODE(r, "BAD_REQUEST");
	}

	/* a server with a lower page cap */
	if (test_selected("query/--results-limit-max"))
	{
		EmuOpts		o = {0};
		Emu		   *small;

		o.name = "limit100";
		o.schema = o.data = o.keys = true;
		o.results_limit_max = 100;
		small = emu_start(&o);
		if (small)
		{
			TEST("query/--results-limit-max 100 clamps pages to 100")
			{
				int			pages = 0;
				NameSet    *s;
				Resp	   *r = ck_post(small, "public", "records/query",
										"{\"resultsLimit\":200,\"query\":{\"recordType\":\"Visit\"}}");

				CHECK_INT(jlen(r->json, "records"), 100);
				s = query_all(small, "{\"query\":{\"recordType\":\"Visit\"}}", 200, &pages);
				CHECKM(s && s->n == 1000, "got %d records", s ? s->n : -1);
				CHECK_INT(pages, 10);
			}
			emu_stop(small);
		}
	}
}
