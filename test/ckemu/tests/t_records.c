/*-------------------------------------------------------------------------
 *
 * t_records.c
 *		Records: seeds served exactly, every wire type round-trips, change
 *		tags, metadata, zoneID, desiredKeys, numbersAsStrings, references
 *		(VALIDATE, DELETE_SELF), assets end to end, schema enforcement on
 *		writes, grants.
 *
 * test/ckemu/tests/t_records.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ck/ck_util.h"
#include "ckt.h"

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------
 */

/* One record/modify operation; fields is a JSON object text or NULL. */
static Resp *
modify1(Emu *emu, const Cred *c, const char *env, const char *db, const char *zone,
		const char *optype, const char *name, const char *type, const char *tag,
		const char *fields)
{
	json_object *body = tkeep(json_object_new_object());
	json_object *ops = json_object_new_array();
	json_object *op = json_object_new_object();
	json_object *rec = json_object_new_object();

	if (zone)
	{
		json_object *zid = json_object_new_object();

		json_object_object_add(zid, "zoneName", json_object_new_string(zone));
		json_object_object_add(body, "zoneID", zid);
	}
	json_object_object_add(op, "operationType", json_object_new_string(optype));
	if (name)
		json_object_object_add(rec, "recordName", json_object_new_string(name));
	if (type)
		json_object_object_add(rec, "recordType", json_object_new_string(type));
	if (tag)
		json_object_object_add(rec, "recordChangeTag", json_object_new_string(tag));
	if (fields)
	{
		json_object *f = json_tokener_parse(fields);

		CHECKM(f != NULL, "test bug: fields are not JSON: %.80s", fields);
		json_object_object_add(rec, "fields", f);
	}
	json_object_object_add(op, "record", rec);
	json_object_array_add(ops, op);
	json_object_object_add(body, "operations", ops);
	return ck_req(emu, c, NULL, env, db, "records/modify", json_object_to_json_string(body));
}

static Resp *
pub_modify(Emu *emu, const char *optype, const char *name, const char *type,
		   const char *tag, const char *fields)
{
	Cred		c = cred_s2s();

	return modify1(emu, &c, "development", "public", NULL, optype, name, type, tag, fields);
}

static Resp *
pub_lookup(Emu *emu, const char *name)
{
	return ck_postf(emu, "public", "records/lookup", "{\"records\":[{\"recordName\":\"%s\"}]}", name);
}

/* Upload bytes through assets/upload; returns the value to put in a record. */
static json_object *
upload_asset(Emu *emu, const char *recname, const char *type, const char *field,
			 const unsigned char *data, size_t len)
{
	Resp	   *r = ck_postf(emu, "public", "assets/upload",
							 "{\"tokens\":[{\"recordName\":\"%s\",\"recordType\":\"%s\",\"fieldName\":\"%s\"}]}",
							 recname, type, field);
	const char *url;
	Req			req = {0};
	Resp	   *up;
	json_object *single;

	if (!CHECK_STATUS(r, 200))
		return NULL;
	url = jps(r->json, "tokens[0].url");
	CHECK_STR(jps(r->json, "tokens[0].fieldName"), field);
	if (!CHECKM(url != NULL, "assets/upload returned no url"))
		return NULL;
	if (!CHECKM(strncmp(url, emu->base, strlen(emu->base)) == 0,
				"upload url %s is not on ckemu (%s)", url, emu->base))
		return NULL;
	req.path = url + strlen(emu->base);
	req.body = (const char *) data;
	req.body_len = len;
	req.content_type = "application/octet-stream";
	req.raw = true;
	up = http(emu, &req);
	if (!CHECK_STATUS(up, 200))
		return NULL;
	single = jp(up->json, "singleFile");
	if (!CHECKM(single != NULL, "upload answer has no singleFile: %.200s", up->body))
		return NULL;
	CHECKM(jpi(single, "size", -1) == (int64_t) len, "singleFile.size %lld, uploaded %zu",
		   (long long) jpi(single, "size", -1), len);
	CHECKM(jps(single, "fileChecksum") != NULL, "singleFile has no fileChecksum");
	CHECKM(jps(single, "receipt") != NULL, "singleFile has no receipt");
	return tkeep(json_object_get(single));
}

/* GET an asset's downloadURL and compare the bytes. */
static bool
asset_bytes_match(Emu *emu, json_object *asset, const unsigned char *data, size_t len,
				  const char *what)
{
	const char *url = jps(asset, "downloadURL");
	char	   *path;
	char	   *ph;
	Req			req = {0};
	Resp	   *r;

	if (!CHECKM(url != NULL, "%s: asset without downloadURL: %s", what, jstr(asset)))
		return false;
	if (!CHECKM(strncmp(url, emu->base, strlen(emu->base)) == 0,
				"%s: downloadURL %s is not on ckemu", what, url))
		return false;
	path = tfmt("%s", url + strlen(emu->base));
	/* Apple's URLs carry a ${f} file-name placeholder */
	while ((ph = strstr(path, "${f}")) != NULL)
		path = tfmt("%.*sfile.bin%s", (int) (ph - path), path, ph + 4);
	req.method = "GET";
	req.path = path;
	req.raw = true;
	r = http(emu, &req);
	if (!CHECKM(r->cc == CURLE_OK && r->status == 200, "%s: download got HTTP %ld", what, r->status))
		return false;
	CHECKM(jpi(asset, "size", -1) == (int64_t) len, "%s: asset size %lld, expected %zu", what,
		   (long long) jpi(asset, "size", -1), len);
	return CHECKM(r->len == len && memcmp(r->body, data, len) == 0,
				  "%s: downloaded %zu bytes differ from the %zu stored", what, r->len, len);
}

/* Compare a field value as CloudKit may normalise it. */
static bool
value_matches(const char *type, json_object *want, json_object *got)
{
	if (type && (strcmp(type, "REFERENCE_LIST") == 0 || strcmp(type, "LOCATION_LIST") == 0))
	{
		size_t		i;
		char		elem[32];

		if (!json_object_is_type(want, json_type_array) || !json_object_is_type(got, json_type_array) ||
			json_object_array_length(want) != json_object_array_length(got))
			return false;
		snprintf(elem, sizeof(elem), "%.*s", (int) (strlen(type) - 5), type);
		for (i = 0; i < json_object_array_length(want); i++)
			if (!value_matches(elem, json_object_array_get_idx(want, i),
							   json_object_array_get_idx(got, i)))
				return false;
		return true;
	}
	if (type && strcmp(type, "REFERENCE") == 0)
	{
		/* the server may add zoneID; recordName and action must survive */
		if (!json_equal(jp(want, "recordName"), jp(got, "recordName")))
			return false;
		return jp(want, "action") == NULL || json_equal(jp(want, "action"), jp(got, "action"));
	}
	if (type && strcmp(type, "LOCATION") == 0)
	{
		if (!json_object_is_type(want, json_type_object) || !json_object_is_type(got, json_type_object))
			return false;
		json_object_object_foreach(want, key, v)
		{
			json_object *g;

			if (!json_object_object_get_ex(got, key, &g) || !json_equal(v, g))
				return false;
		}
		return true;
	}
	return json_equal(want, got);
}

static bool
type_matches(const char *want, const char *got, json_object *value)
{
	if (got == NULL || want == NULL)
		return false;
	if (strcmp(want, got) == 0)
		return true;
	/* an empty list loses its element type */
	if (json_object_is_type(value, json_type_array) && json_object_array_length(value) == 0 &&
		strcmp(got, "UNKNOWN_LIST") == 0)
		return true;
	return false;
}

/* Check every field of a seed record against the served record. */
static void
check_against_seed(Emu *emu, json_object *seed, json_object *got)
{
	const char *name = jps(seed, "recordName");
	json_object *sf = jp(seed, "fields");
	json_object *gf = jp(got, "fields");

	CHECK_STR(jps(got, "recordName"), name);
	CHECK_STR(jps(got, "recordType"), jps(seed, "recordType"));
	if (!CHECKM(json_object_is_type(gf, json_type_object), "%s: no fields object", name))
		return;
	CHECKM(json_object_object_length(gf) == json_object_object_length(sf),
		   "%s: %d fields served, %d seeded", name, json_object_object_length(gf),
		   json_object_object_length(sf));
	json_object_object_foreach(sf, field, fv)
	{
		json_object *want = jp(fv, "value");
		const char *wtype = jps(fv, "type");
		json_object *g;
		json_object *gv;

		if (!CHECKM(json_object_object_get_ex(gf, field, &g), "%s.%s missing", name, field))
			continue;
		gv = jp(g, "value");
		CHECKM(type_matches(wtype, jps(g, "type"), gv), "%s.%s: type %s, seeded %s", name, field,
			   jps(g, "type") ? jps(g, "type") : "(none)", wtype);
		if (wtype && strcmp(wtype, "ASSETID") == 0)
		{
			const char *b64 = jps(want, "ckemuData");
			size_t		len = 0;
			unsigned char *bytes = ck_base64_decode(b64, strlen(b64), &len);

			CHECKM(jps(gv, "fileChecksum") != NULL, "%s.%s: asset without fileChecksum", name, field);
			asset_bytes_match(emu, gv, bytes, len, tfmt("%s.%s", name, field));
			free(bytes);
			continue;
		}
		CHECKM(value_matches(wtype, want, gv), "%s.%s: served %s, seeded %s", name, field,
			   jstr(gv), jstr(want));
	}
}

static bool
is_user_record_name(const char *s)
{
	int			i;

	if (s == NULL || strlen(s) != 33 || s[0] != '_')
		return false;
	for (i = 1; i < 33; i++)
		if (!isxdigit((unsigned char) s[i]))
			return false;
	return true;
}

/* ------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------
 */

void
group_records(void)
{
	Emu		   *emu = emu_main();

	if (emu == NULL)
		return;
	emu_reset(emu);

	TEST("records/seeded records are served exactly, assets included")
	{
		const char *names[] = {
			"artist-0001", "artist-0002", "artist-0003", "artist-0010", "artist-0038",
			"artist-0075", "artist-0112", "artist-0186", "artist-0300",
			"artwork-00001", "artwork-00004", "artwork-00013", "artwork-00026", "artwork-00151",
			"artwork-00300", "artwork-03000",
			"exhibition-001", "exhibition-002", "exhibition-003", "exhibition-015",
			"exhibition-060", "visit-0001", "visit-1000", "ticket-00000", "ticket-09999",
			"loan-001",
		};
		int			n = sizeof(names) / sizeof(names[0]);
		json_object *body = tkeep(json_object_new_object());
		json_object *recs = json_object_new_array();
		Resp	   *r;
		int			i;

		for (i = 0; i < n; i++)
		{
			json_object *o = json_object_new_object();

			json_object_object_add(o, "recordName", json_object_new_string(names[i]));
			json_object_array_add(recs, o);
		}
		json_object_object_add(body, "records", recs);
		r = ck_post(emu, "public", "records/lookup", json_object_to_json_string(body));
		if (!CHECK_STATUS(r, 200) || !CHECK_INT(jlen(r->json, "records"), n))
			continue;
		for (i = 0; i < n; i++)
		{
			json_object *seed = seed_record(names[i]);

			if (!CHECKM(seed != NULL, "test bug: %s not in the seed", names[i]))
				continue;
			check_against_seed(emu, seed, jpf(r->json, "records[%d]", i));
		}
	}

	TEST("records/lookup answers in request order with NOT_FOUND items")
	{
		Resp	   *r = ck_post(emu, "public", "records/lookup",
								"{\"records\":[{\"recordName\":\"artist-0002\"},{\"recordName\":\"no-such-record\"},"
								"{\"recordName\":\"artist-0001\"}]}");

		CHECK_STATUS(r, 200);
		CHECK_INT(jlen(r->json, "records"), 3);
		CHECK_STR(jps(r->json, "records[0].recordName"), "artist-0002");
		CHECK_ITEM_CODE(r, 1, "NOT_FOUND");
		CHECK_STR(jps(r->json, "records[1].recordName"), "no-such-record");
		CHECKM(jps(r->json, "records[1].reason") != NULL, "NOT_FOUND item without reason");
		CHECK_STR(jps(r->json, "records[2].recordName"), "artist-0001");
	}

	TEST("records/every wire type round-trips through modify and lookup")
	{
		static const unsigned char blob1[] = {0x89, 'P', 'N', 'G', 0, 1, 2, 3, 0xff, 0xfe, '\n', 0};
		unsigned char blob2[3000];
		static const unsigned char blob3[] = "third asset";
		json_object *a1,
				   *a2,
				   *a3;
		json_object *fields;
		Resp	   *r;
		const char *fnames[] = {"s", "i", "d", "t", "b", "r", "l", "sl", "il", "dl", "tl", "bl",
		"rl", "ll"};
		int			i;

		for (i = 0; i < (int) sizeof(blob2); i++)
			blob2[i] = (unsigned char) (i * 7 + i / 256);
		a1 = upload_asset(emu, "rt-1", "AllTypes", "a", blob1, sizeof(blob1));
		a2 = upload_asset(emu, "rt-1", "AllTypes", "al", blob2, sizeof(blob2));
		a3 = upload_asset(emu, "rt-1", "AllTypes", "al", blob3, sizeof(blob3) - 1);
		if (a1 == NULL || a2 == NULL || a3 == NULL)
			continue;

		fields = jparse("{"
						"\"s\":{\"value\":\"Gr\\u00fc\\u00dfe, \\u4e16\\u754c \\ud83c\\udfa8 \\\"q\\\" back\\\\slash\\nnl\\ttab\",\"type\":\"STRING\"},"
						"\"i\":{\"value\":9223372036854775807,\"type\":\"INT64\"},"
						"\"d\":{\"value\":0.1,\"type\":\"DOUBLE\"},"
						"\"t\":{\"value\":-1234567890123,\"type\":\"TIMESTAMP\"},"
						"\"b\":{\"value\":\"AAEC//4Afw==\",\"type\":\"BYTES\"},"
						"\"r\":{\"value\":{\"recordName\":\"artist-0001\",\"action\":\"VALIDATE\"},\"type\":\"REFERENCE\"},"
						"\"l\":{\"value\":{\"latitude\":37.33182,\"longitude\":-122.03118,\"horizontalAccuracy\":5.5,"
						"\"verticalAccuracy\":3.25,\"altitude\":12.75,\"speed\":1.5,\"course\":270.25,"
						"\"timestamp\":1700000000123},\"type\":\"LOCATION\"},"
						"\"sl\":{\"value\":[\"a\",\"\\u00df\",\"\",\"\\ud83c\\udfa8\"],\"type\":\"STRING_LIST\"},"
						"\"il\":{\"value\":[1,-1,0,9223372036854775807,-9223372036854775808],\"type\":\"INT64_LIST\"},"
						"\"dl\":{\"value\":[0.5,-2.25,1e300,-4.9e-324],\"type\":\"DOUBLE_LIST\"},"
						"\"tl\":{\"value\":[0,-1,1700000000123,253402300799999],\"type\":\"TIMESTAMP_LIST\"},"
						"\"bl\":{\"value\":[\"AA==\",\"/w==\",\"\"],\"type\":\"BYTES_LIST\"},"
						"\"rl\":{\"value\":[{\"recordName\":\"artist-0001\",\"action\":\"NONE\"},"
						"{\"recordName\":\"artist-0002\",\"action\":\"NONE\"}],\"type\":\"REFERENCE_LIST\"},"
						"\"ll\":{\"value\":[{\"latitude\":-33.9,\"longitude\":18.4},{\"latitude\":90,\"longitude\":-180}],"
						"\"type\":\"LOCATION_LIST\"}"
						"}");
		if (!CHECKM(fields != NULL, "test bug: round-trip fields are not JSON"))
			continue;
		{
			json_object *fa = json_object_new_object();
			json_object *fal = json_object_new_object();
			json_object *arr = json_object_new_array();

			json_object_object_add(fa, "value", json_object_get(a1));
			json_object_object_add(fa, "type", json_object_new_string("ASSETID"));
			json_object_object_add(fields, "a", fa);
			json_object_array_add(arr, json_object_get(a2));
			json_object_array_add(arr, json_object_get(a3));
			json_object_object_add(fal, "value", arr);
			json_object_object_add(fal, "type", json_object_new_string("ASSETID_LIST"));
			json_object_object_add(fields, "al", fal);
		}

		r = pub_modify(emu, "create", "rt-1", "AllTypes", NULL, json_object_to_json_string(fields));
		CHECK_STATUS(r, 200);
		CHECKM(jps(r->json, "records[0].serverErrorCode") == NULL, "create failed: %s",
			   jstr(jp(r->json, "records[0]")));

		for (int pass = 0; pass < 2; pass++)
		{
			json_object *got;

			if (pass == 1)
				r = pub_lookup(emu, "rt-1");
			got = jp(r->json, "records[0].fields");
			if (!CHECKM(got != NULL, "%s: no fields", pass ? "lookup" : "modify"))
				continue;
			for (i = 0; i < (int) (sizeof(fnames) / sizeof(fnames[0])); i++)
			{
				json_object *want = jpf(fields, "%s", fnames[i]);
				json_object *g = jpf(got, "%s", fnames[i]);

				CHECKM(type_matches(jps(want, "type"), jps(g, "type"), NULL),
					   "%s: field %s has type %s, sent %s", pass ? "lookup" : "modify", fnames[i],
					   jps(g, "type") ? jps(g, "type") : "(none)", jps(want, "type"));
				CHECKM(value_matches(jps(want, "type"), jp(want, "value"), jp(g, "value")),
					   "%s: field %s came back as %s, sent %s", pass ? "lookup" : "modify", fnames[i],
					   jstr(jp(g, "value")), jstr(jp(want, "value")));
			}
			CHECK_STR(jps(got, "a.type"), "ASSETID");
			CHECK_STR(jps(got, "al.type"), "ASSETID_LIST");
			if (pass == 1)
			{
				asset_bytes_match(emu, jp(got, "a.value"), blob1, sizeof(blob1), "a");
				CHECK_INT(jlen(got, "al.value"), 2);
				asset_bytes_match(emu, jp(got, "al.value[0]"), blob2, sizeof(blob2), "al[0]");
				asset_bytes_match(emu, jp(got, "al.value[1]"), blob3, sizeof(blob3) - 1, "al[1]");
				CHECK_STR(jps(got, "a.value.fileChecksum"), jps(a1, "fileChecksum"));
			}
		}

		/* values sent without a type take the schema's; empty lists stay empty */
		r = pub_modify(emu, "create", "rt-2", "AllTypes", NULL,
					   "{\"i\":{\"value\":-9223372036854775808},\"d\":{\"value\":-1.7976931348623157e308},"
					   "\"t\":{\"value\":253402300799999},\"s\":{\"value\":\"\"},"
					   "\"sl\":{\"value\":[],\"type\":\"STRING_LIST\"},\"il\":{\"value\":[]}}");
		CHECK_STATUS(r, 200);
		r = pub_lookup(emu, "rt-2");
		CHECK_STR(jps(r->json, "records[0].fields.i.type"), "INT64");
		CHECK_INT(jpi(r->json, "records[0].fields.i.value", 0), INT64_MIN);
		CHECK_STR(jps(r->json, "records[0].fields.d.type"), "DOUBLE");
		CHECKM(jpd(r->json, "records[0].fields.d.value", 0) == -1.7976931348623157e308,
			   "d came back as %s", jstr(jp(r->json, "records[0].fields.d.value")));
		CHECK_STR(jps(r->json, "records[0].fields.t.type"), "TIMESTAMP");
		CHECK_INT(jpi(r->json, "records[0].fields.t.value", 0), 253402300799999LL);
		CHECK_STR(jps(r->json, "records[0].fields.s.value"), "");
		CHECK_INT(jlen(r->json, "records[0].fields.sl.value"), 0);
		CHECK_INT(jlen(r->json, "records[0].fields.il.value"), 0);
	}

	TEST("records/the change tag changes on every write")
	{
		const char *tags[6];
		Resp	   *r;
		int			i,
					j;

		r = pub_modify(emu, "create", "tag-1", "AllTypes", NULL, "{\"i\":{\"value\":1}}");
		tags[0] = jps(r->json, "records[0].recordChangeTag");
		r = pub_modify(emu, "update", "tag-1", "AllTypes", tags[0], "{\"i\":{\"value\":2}}");
		tags[1] = jps(r->json, "records[0].recordChangeTag");
		r = pub_modify(emu, "forceUpdate", "tag-1", "AllTypes", NULL, "{\"i\":{\"value\":3}}");
		tags[2] = jps(r->json, "records[0].recordChangeTag");
		r = pub_modify(emu, "replace", "tag-1", "AllTypes", tags[2], "{\"i\":{\"value\":4}}");
		tags[3] = jps(r->json, "records[0].recordChangeTag");
		r = pub_modify(emu, "forceReplace", "tag-1", "AllTypes", NULL, "{\"i\":{\"value\":5}}");
		tags[4] = jps(r->json, "records[0].recordChangeTag");
		r = pub_lookup(emu, "tag-1");
		tags[5] = jps(r->json, "records[0].recordChangeTag");
		CHECK_INT(jpi(r->json, "records[0].fields.i.value", 0), 5);
		for (i = 0; i < 5; i++)
		{
			CHECKM(tags[i] != NULL && tags[i][0], "write %d returned no recordChangeTag", i);
			for (j = 0; j < i; j++)
				CHECKM(tags[i] && tags[j] && strcmp(tags[i], tags[j]) != 0,
					   "writes %d and %d returned the same tag %s", j, i, tags[i]);
		}
		CHECK_STR(tags[5], tags[4]);
		/* a read does not change it */
		r = pub_lookup(emu, "tag-1");
		CHECK_STR(jps(r->json, "records[0].recordChangeTag"), tags[4]);
	}

	TEST("records/created and modified metadata, zoneID, deleted, pluginFields")
	{
		int64_t		before = ck_now_ms();
		Resp	   *r = pub_modify(emu, "create", "meta-1", "AllTypes", NULL, "{\"i\":{\"value\":1}}");
		int64_t		after = ck_now_ms();
		int64_t		created;
		const char *tag;
		Resp	   *l;

		CHECK_STATUS(r, 200);
		created = jpi(r->json, "records[0].created.timestamp", 0);
		CHECKM(created >= before - 2000 && created <= after + 2000,
			   "created.timestamp %lld not within the request (%lld..%lld)", (long long) created,
			   (long long) before, (long long) after);
		CHECKM(jpi(r->json, "records[0].modified.timestamp", 0) >= created,
			   "modified.timestamp before created.timestamp");
		CHECKM(is_user_record_name(jps(r->json, "records[0].created.userRecordName")),
			   "created.userRecordName is not _<32 hex>");
		CHECKM(jps(r->json, "records[0].created.deviceID") != NULL, "created.deviceID missing");
		CHECKM(is_user_record_name(jps(r->json, "records[0].modified.userRecordName")),
			   "modified.userRecordName is not _<32 hex>");
		tag = jps(r->json, "records[0].recordChangeTag");

		l = pub_lookup(emu, "meta-1");
		CHECK_STR(jps(l->json, "records[0].recordType"), "AllTypes");
		CHECK(jp(l->json, "records[0].deleted") != NULL && !jpb(l->json, "records[0].deleted", true));
		CHECK_STR(jps(l->json, "records[0].zoneID.zoneName"), "_defaultZone");
		CHECK_STR(jps(l->json, "records[0].zoneID.zoneType"), "DEFAULT_ZONE");
		CHECKM(is_user_record_name(jps(l->json, "records[0].zoneID.ownerRecordName")),
			   "zoneID.ownerRecordName is not _<32 hex>");
		CHECKM(json_object_is_type(jp(l->json, "records[0].pluginFields"), json_type_object),
			   "pluginFields {} missing");
		CHECK_INT(jpi(l->json, "records[0].created.timestamp", 0), created);

		sleep_ms(30);
		r = pub_modify(emu, "update", "meta-1", "AllTypes", tag, "{\"i\":{\"value\":2}}");
		CHECK_INT(jpi(r->json, "records[0].created.timestamp", 0), created);
		CHECKM(jpi(r->json, "records[0].modified.timestamp", 0) >= created + 20,
			   "modified.timestamp did not advance on update (%lld, created %lld)",
			   (long long) jpi(r->json, "records[0].modified.timestamp", 0), (long long) created);
	}

	TEST("records/zoneID of a custom zone record")
	{
		Cred		a = cred_web(CKT_TOKEN_A);
		Resp	   *r;
		const char *owner;

		r = ck_req(emu, &a, NULL, "development", "private", "zones/modify",
				   "{\"operations\":[{\"operationType\":\"create\",\"zone\":{\"zoneID\":{\"zoneName\":\"RecZone\"}}}]}");
		CHECK_STATUS(r, 200);
		r = modify1(emu, &a, "development", "private", "RecZone", "create", "cz-1", "Favorite", NULL,
					"{\"stars\":{\"value\":4}}");
		CHECK_STATUS(r, 200);
		r = ck_req(emu, &a, NULL, "development", "private", "records/lookup",
				   "{\"zoneID\":{\"zoneName\":\"RecZone\"},\"records\":[{\"recordName\":\"cz-1\"}]}");
		CHECK_STATUS(r, 200);
		CHECK_STR(jps(r->json, "records[0].zoneID.zoneName"), "RecZone");
		CHECK_STR(jps(r->json, "records[0].zoneID.zoneType"), "REGULAR_CUSTOM_ZONE");
		owner = jps(r->json, "records[0].zoneID.ownerRecordName");
		CHECK_STR(owner, jps(r->json, "records[0].created.userRecordName"));
		/* not in the default zone */
		r = ck_req(emu, &a, NULL, "development", "private", "records/lookup",
				   "{\"records\":[{\"recordName\":\"cz-1\"}]}");
		CHECK_ITEM_CODE(r, 0, "NOT_FOUND");
	}

	TEST("records/desiredKeys: absent, empty, subset, per item")
	{
		json_object *seed = seed_record("artist-0001");
		Resp	   *r;

		r = ck_post(emu, "public", "records/lookup", "{\"records\":[{\"recordName\":\"artist-0001\"}]}");
		CHECK_INT(json_object_object_length(jp(r->json, "records[0].fields")),
				  json_object_object_length(jp(seed, "fields")));

		r = ck_post(emu, "public", "records/lookup",
					"{\"desiredKeys\":[],\"records\":[{\"recordName\":\"artist-0001\"}]}");
		CHECKM(json_object_is_type(jp(r->json, "records[0].fields"), json_type_object) &&
			   json_object_object_length(jp(r->json, "records[0].fields")) == 0,
			   "desiredKeys [] must give an empty fields object, got %s",
			   jstr(jp(r->json, "records[0].fields")));
		CHECKM(jps(r->json, "records[0].recordChangeTag") != NULL, "desiredKeys []: metadata missing");
		CHECKM(jp(r->json, "records[0].created.timestamp") != NULL, "desiredKeys []: created missing");

		r = ck_post(emu, "public", "records/lookup",
					"{\"desiredKeys\":[\"name\",\"born\",\"noSuchField\"],"
					"\"records\":[{\"recordName\":\"artist-0001\"}]}");
		CHECK_INT(json_object_object_length(jp(r->json, "records[0].fields")), 2);
		CHECK_STR(jps(r->json, "records[0].fields.name.value"), "葛飾 北斎");
		CHECKM(jp(r->json, "records[0].fields.born") != NULL, "born missing");

		r = ck_post(emu, "public", "records/lookup",
					"{\"desiredKeys\":[\"name\"],\"records\":[{\"recordName\":\"artist-0001\","
					"\"desiredKeys\":[\"living\"]},{\"recordName\":\"artist-0002\"}]}");
		CHECK_INT(json_object_object_length(jp(r->json, "records[0].fields")), 1);
		CHECKM(jp(r->json, "records[0].fields.living") != NULL, "per-item desiredKeys ignored");
		CHECK_INT(json_object_object_length(jp(r->json, "records[1].fields")), 1);
		CHECKM(jp(r->json, "records[1].fields.name") != NULL, "top-level desiredKeys ignored");

		r = ck_post(emu, "public", "records/query",
					"{\"desiredKeys\":[\"serial\"],\"resultsLimit\":5,\"query\":{\"recordType\":\"Ticket\"}}");
		CHECK_INT(jlen(r->json, "records"), 5);
		CHECK_INT(json_object_object_length(jp(r->json, "records[0].fields")), 1);
		CHECKM(jp(r->json, "records[0].fields.serial") != NULL, "query desiredKeys ignored");

		r = ck_post(emu, "public", "records/modify",
					"{\"desiredKeys\":[],\"operations\":[{\"operationType\":\"create\",\"record\":"
					"{\"recordName\":\"dk-1\",\"recordType\":\"AllTypes\",\"fields\":{\"i\":{\"value\":1},"
					"\"s\":{\"value\":\"x\"}}}}]}");
		CHECK_STATUS(r, 200);
		CHECKM(json_object_object_length(jp(r->json, "records[0].fields")) == 0,
			   "modify with desiredKeys [] returned fields %s", jstr(jp(r->json, "records[0].fields")));
		CHECKM(jps(r->json, "records[0].recordChangeTag") != NULL, "modify desiredKeys []: no tag");
	}

	TEST("records/numbersAsStrings")
	{
		Resp	   *r;

		r = ck_post(emu, "public", "records/lookup",
					"{\"numbersAsStrings\":true,\"records\":[{\"recordName\":\"ticket-00001\"}]}");
		CHECK_STATUS(r, 200);
		CHECK_STR(jps(r->json, "records[0].fields.serial.value"), "1");
		CHECK_STR(jps(r->json, "records[0].fields.serial.type"), "INT64");
		CHECKM(jps(r->json, "records[0].fields.price.value") &&
			   strtod(jps(r->json, "records[0].fields.price.value"), NULL) == 15.0,
			   "price with numbersAsStrings: %s", jstr(jp(r->json, "records[0].fields.price.value")));

		r = ck_post(emu, "public", "records/lookup",
					"{\"numbersAsStrings\":true,\"records\":[{\"recordName\":\"rt-1\"}]}");
		CHECK_STR(jps(r->json, "records[0].fields.i.value"), "9223372036854775807");
		CHECK_STR(jps(r->json, "records[0].fields.il.value[4]"), "-9223372036854775808");

		r = ck_post(emu, "public", "records/lookup", "{\"records\":[{\"recordName\":\"ticket-00001\"}]}");
		CHECK(json_object_is_type(jp(r->json, "records[0].fields.serial.value"), json_type_int));

		r = ck_post(emu, "public", "records/query",
					"{\"numbersAsStrings\":true,\"resultsLimit\":1,\"query\":{\"recordType\":\"Ticket\","
					"\"filterBy\":[{\"fieldName\":\"serial\",\"comparator\":\"EQUALS\","
					"\"fieldValue\":{\"value\":77,\"type\":\"INT64\"}}]}}");
		CHECK_STR(jps(r->json, "records[0].fields.serial.value"), "77");
	}

	TEST("records/VALIDATE reference to a missing record")
	{
		Resp	   *r;

		r = pub_modify(emu, "create", "val-1", "Artwork", NULL,
					   "{\"title\":{\"value\":\"orphan\"},\"artist\":{\"value\":{\"recordName\":\"artist-9999\","
					   "\"action\":\"VALIDATE\"},\"type\":\"REFERENCE\"}}");
		CHECK_STATUS(r, 200);
		CHECK_ITEM_CODE(r, 0, "VALIDATING_REFERENCE_ERROR");
		CHECK_STR(jps(r->json, "records[0].recordName"), "val-1");
		CHECK_ITEM_CODE(pub_lookup(emu, "val-1"), 0, "NOT_FOUND");

		r = pub_modify(emu, "create", "val-2", "Artwork", NULL,
					   "{\"artist\":{\"value\":{\"recordName\":\"artist-9999\",\"action\":\"NONE\"},"
					   "\"type\":\"REFERENCE\"}}");
		CHECKM(jps(r->json, "records[0].serverErrorCode") == NULL, "NONE reference to a missing record refused");

		r = pub_modify(emu, "create", "val-3", "Artwork", NULL,
					   "{\"artist\":{\"value\":{\"recordName\":\"artist-0001\",\"action\":\"VALIDATE\"},"
					   "\"type\":\"REFERENCE\"}}");
		CHECKM(jps(r->json, "records[0].serverErrorCode") == NULL, "valid VALIDATE reference refused");

		/* a VALIDATE reference in a list is checked too */
		r = pub_modify(emu, "create", "val-4", "AllTypes", NULL,
					   "{\"rl\":{\"value\":[{\"recordName\":\"artist-0001\",\"action\":\"VALIDATE\"},"
					   "{\"recordName\":\"nobody\",\"action\":\"VALIDATE\"}],\"type\":\"REFERENCE_LIST\"}}");
		CHECK_ITEM_CODE(r, 0, "VALIDATING_REFERENCE_ERROR");
	}

	TEST("records/DELETE_SELF cascades, NONE does not")
	{
		Resp	   *r;
		const char *ds = "{\"artist\":{\"value\":{\"recordName\":\"cas-artist\",\"action\":\"DELETE_SELF\"},\"type\":\"REFERENCE\"}}";

		pub_modify(emu, "create", "cas-artist", "Artist", NULL, "{\"name\":{\"value\":\"Cascade\"}}");
		pub_modify(emu, "create", "cas-w1", "Artwork", NULL, ds);
		pub_modify(emu, "create", "cas-w3", "Artwork", NULL, ds);
		pub_modify(emu, "create", "cas-w2", "Artwork", NULL,
				   "{\"artist\":{\"value\":{\"recordName\":\"cas-artist\",\"action\":\"NONE\"},\"type\":\"REFERENCE\"}}");
		r = pub_modify(emu, "create", "cas-loan", "Loan", NULL,
					   "{\"artwork\":{\"value\":{\"recordName\":\"cas-w1\",\"action\":\"DELETE_SELF\"},\"type\":\"REFERENCE\"}}");
		CHECKM(jps(r->json, "records[0].serverErrorCode") == NULL, "setup failed: %s", jstr(r->json));

		r = pub_modify(emu, "forceDelete", "cas-artist", NULL, NULL, NULL);
		CHECK_STATUS(r, 200);
		CHECK(jpb(r->json, "records[0].deleted", false));
		CHECK_ITEM_CODE(pub_lookup(emu, "cas-w1"), 0, "NOT_FOUND");
		CHECK_ITEM_CODE(pub_lookup(emu, "cas-w3"), 0, "NOT_FOUND");
		CHECK_ITEM_CODE(pub_lookup(emu, "cas-loan"), 0, "NOT_FOUND");
		r = pub_lookup(emu, "cas-w2");
		CHECK_STR(jps(r->json, "records[0].recordName"), "cas-w2");
		CHECK(jps(r->json, "records[0].serverErrorCode") == NULL);
	}

	TEST("records/DELETE_SELF cascade over the seed")
	{
		const char *q = "{\"query\":{\"recordType\":\"Artwork\",\"filterBy\":[{\"fieldName\":\"artist\","
		"\"comparator\":\"EQUALS\",\"fieldValue\":{\"value\":{\"recordName\":\"artist-0003\"},"
		"\"type\":\"REFERENCE\"}}]}}";
		int			expected = 0;
		int			i;
		NameSet    *before,
				   *after;
		Resp	   *r;

		for (i = 0; i < seed_count("Artwork"); i++)
			if (strcmp(jps(seed_nth("Artwork", i), "fields.artist.value.recordName"), "artist-0003") == 0)
				expected++;
		before = query_all(emu, q, 200, NULL);
		CHECKM(before && before->n == expected && expected > 0, "artist-0003 has %d artworks, query found %d",
			   expected, before ? before->n : -1);
		r = pub_modify(emu, "forceDelete", "artist-0003", NULL, NULL, NULL);
		CHECK(jpb(r->json, "records[0].deleted", false));
		after = query_all(emu, q, 200, NULL);
		CHECKM(after && after->n == 0, "%d artworks survived their DELETE_SELF target", after ? after->n : -1);
		if (before && before->n > 0)
			CHECK_ITEM_CODE(pub_lookup(emu, before->names[0]), 0, "NOT_FOUND");
	}

	TEST("records/a record over 1 MB is refused")
	{
		size_t		n = 1100 * 1000;
		char	   *big = malloc(n + 64);
		Resp	   *r;
		const char *code;

		snprintf(big, 64, "{\"plain\":{\"value\":\"");
		memset(big + 19, 'x', n);
		strcpy(big + 19 + n, "\"}}");
		r = pub_modify(emu, "create", "huge-1", "AllTypes", NULL, big);
		free(big);
		code = resp_code(r, 0);
		CHECKM(code && (strcmp(code, "BAD_REQUEST") == 0 || strcmp(code, "QUOTA_EXCEEDED") == 0),
			   "a 1.1 MB record: expected BAD_REQUEST or QUOTA_EXCEEDED, got %s", code ? code : "success");
		CHECK_ITEM_CODE(pub_lookup(emu, "huge-1"), 0, "NOT_FOUND");

		/* just under the limit is fine */
		big = malloc(900 * 1000 + 64);
		snprintf(big, 64, "{\"plain\":{\"value\":\"");
		memset(big + 19, 'y', 900 * 1000);
		strcpy(big + 19 + 900 * 1000, "\"}}");
		r = pub_modify(emu, "create", "huge-2", "AllTypes", NULL, big);
		free(big);
		CHECKM(resp_code(r, 0) == NULL, "a 900 kB record was refused: %s", resp_code(r, 0));
		r = pub_lookup(emu, "huge-2");
		CHECKM(jps(r->json, "records[0].fields.plain.value") &&
			   strlen(jps(r->json, "records[0].fields.plain.value")) == 900 * 1000,
			   "the 900 kB value did not round-trip");
	}

	TEST("records/at most 750 DELETE_SELF references to one target")
	{
		CkBuf		b;
		Resp	   *r;
		int			batch,
					i,
					failures = 0;
		const char *code;

		pub_modify(emu, "create", "many-target", "Artist", NULL, "{\"name\":{\"value\":\"popular\"}}");
		ck_buf_init(&b);
		for (batch = 0; batch < 4; batch++)
		{
			int			from = batch * 200,
						to = batch == 3 ? 750 : from + 200;

			ck_buf_reset(&b);
			ck_buf_appendf(&b, "{\"operations\":[");
			for (i = from; i < to; i++)
				ck_buf_appendf(&b, "%s{\"operationType\":\"create\",\"record\":{\"recordName\":\"many-%03d\","
							   "\"recordType\":\"Loan\",\"fields\":{\"artwork\":{\"value\":{\"recordName\":"
							   "\"many-target\",\"action\":\"DELETE_SELF\"}}}}}", i > from ? "," : "", i);
			ck_buf_appendf(&b, "]}");
			r = ck_post(emu, "public", "records/modify", b.data);
			for (i = 0; i < jlen(r->json, "records"); i++)
				if (jpf(r->json, "records[%d].serverErrorCode", i))
					failures++;
			CHECK_STATUS(r, 200);
		}
		ck_buf_free(&b);
		CHECKM(failures == 0, "%d of the first 750 DELETE_SELF references were refused", failures);
		r = pub_modify(emu, "create", "many-750", "Loan", NULL,
					   "{\"artwork\":{\"value\":{\"recordName\":\"many-target\",\"action\":\"DELETE_SELF\"}}}");
		code = resp_code(r, 0);
		CHECKM(code != NULL, "the 751st DELETE_SELF reference was accepted");
		/* a NONE reference is not limited */
		r = pub_modify(emu, "create", "many-none", "Loan", NULL,
					   "{\"artwork\":{\"value\":{\"recordName\":\"many-target\",\"action\":\"NONE\"}}}");
		CHECKM(resp_code(r, 0) == NULL, "a NONE reference refused: %s", resp_code(r, 0));
		/* and the cascade takes all 750 */
		pub_modify(emu, "forceDelete", "many-target", NULL, NULL, NULL);
		r = ck_post(emu, "public", "records/lookup",
					"{\"records\":[{\"recordName\":\"many-000\"},{\"recordName\":\"many-749\"},{\"recordName\":\"many-none\"}]}");
		CHECK_ITEM_CODE(r, 0, "NOT_FOUND");
		CHECK_ITEM_CODE(r, 1, "NOT_FOUND");
		CHECK_STR(jps(r->json, "records[2].recordName"), "many-none");
		CHECK(jps(r->json, "records[2].serverErrorCode") == NULL);
	}

	TEST("records/queries see writes at once")
	{
		Resp	   *r;
		const char *q = "{\"query\":{\"recordType\":\"AllTypes\",\"filterBy\":[{\"fieldName\":\"s\","
		"\"comparator\":\"EQUALS\",\"fieldValue\":{\"value\":\"fresh-value\",\"type\":\"STRING\"}}]}}";
		const char *tag;

		r = pub_modify(emu, "create", "fresh-1", "AllTypes", NULL, "{\"s\":{\"value\":\"fresh-value\"},\"i\":{\"value\":1}}");
		tag = jps(r->json, "records[0].recordChangeTag");
		r = ck_post(emu, "public", "records/query", q);
		CHECK_INT(jlen(r->json, "records"), 1);
		r = pub_modify(emu, "update", "fresh-1", "AllTypes", tag, "{\"i\":{\"value\":2}}");
		r = ck_post(emu, "public", "records/query", q);
		CHECK_INT(jpi(r->json, "records[0].fields.i.value", 0), 2);
		pub_modify(emu, "forceDelete", "fresh-1", NULL, NULL, NULL);
		r = ck_post(emu, "public", "records/query", q);
		CHECK_INT(jlen(r->json, "records"), 0);
	}

	TEST("records/grants: READ _world, CREATE _icloud, WRITE _creator")
	{
		Cred		a = cred_web(CKT_TOKEN_A);
		Cred		b = cred_web(CKT_TOKEN_B);
		Resp	   *r;
		const char *tag;

		r = modify1(emu, &a, "development", "public", NULL, "create", "grant-1", "AllTypes", NULL,
					"{\"s\":{\"value\":\"alice's\"}}");
		CHECKM(jps(r->json, "records[0].serverErrorCode") == NULL, "signed-in create refused");
		tag = jps(r->json, "records[0].recordChangeTag");

		r = modify1(emu, &b, "development", "public", NULL, "update", "grant-1", "AllTypes", tag,
					"{\"s\":{\"value\":\"bob's\"}}");
		CHECK_STATUS(r, 200);
		CHECK_ITEM_CODE(r, 0, "ACCESS_DENIED");
		r = modify1(emu, &b, "development", "public", NULL, "forceDelete", "grant-1", NULL, NULL, NULL);
		CHECK_ITEM_CODE(r, 0, "ACCESS_DENIED");

		r = modify1(emu, &a, "development", "public", NULL, "update", "grant-1", "AllTypes", tag,
					"{\"s\":{\"value\":\"still alice's\"}}");
		CHECKM(jps(r->json, "records[0].serverErrorCode") == NULL, "the creator's update refused: %s",
			   jstr(r->json));

		/* anyone reads */
		{
			Cred		api = cred_api();

			r = ck_req(emu, &api, NULL, "development", "public", "records/lookup",
					   "{\"records\":[{\"recordName\":\"grant-1\"}]}");
			CHECK_STR(jps(r->json, "records[0].fields.s.value"), "still alice's");
		}
	}

	TEST("schema/production rejects unknown fields and types")
	{
		Cred		c = cred_s2s();
		Resp	   *r;
		const char *code;

		r = modify1(emu, &c, "production", "public", NULL, "create", "prod-ok", "AllTypes", NULL,
					"{\"s\":{\"value\":\"fine\",\"type\":\"STRING\"}}");
		CHECKM(r->status == 200 && jps(r->json, "records[0].serverErrorCode") == NULL,
			   "a declared field refused in production");

		r = modify1(emu, &c, "production", "public", NULL, "create", "prod-f", "AllTypes", NULL,
					"{\"zzzUndeclared\":{\"value\":\"x\",\"type\":\"STRING\"}}");
		code = resp_code(r, 0);
		CHECK_STR(code, "BAD_REQUEST");
		r = modify1(emu, &c, "production", "public", NULL, "create", "prod-t", "GhostType", NULL,
					"{\"x\":{\"value\":\"x\",\"type\":\"STRING\"}}");
		code = resp_code(r, 0);
		CHECKM(code != NULL && (strcmp(code, "BAD_REQUEST") == 0 || strcmp(code, "ACCESS_DENIED") == 0),
			   "undeclared type in production: expected BAD_REQUEST, got %s", code ? code : "success");
		r = ck_req(emu, &c, NULL, "production", "public", "records/lookup",
				   "{\"records\":[{\"recordName\":\"prod-f\"},{\"recordName\":\"prod-t\"}]}");
		CHECK_ITEM_CODE(r, 0, "NOT_FOUND");
		CHECK_ITEM_CODE(r, 1, "NOT_FOUND");
	}

	TEST("schema/development adds types and fields just in time")
	{
		Resp	   *r;

		r = pub_modify(emu, "create", "ghost-1", "GhostType", NULL,
					   "{\"x\":{\"value\":\"boo\",\"type\":\"STRING\"},\"n\":{\"value\":3,\"type\":\"INT64\"}}");
		CHECKM(r->status == 200 && jps(r->json, "records[0].serverErrorCode") == NULL,
			   "development refused a new type: %s", jstr(r->json));
		r = pub_lookup(emu, "ghost-1");
		CHECK_STR(jps(r->json, "records[0].recordType"), "GhostType");
		CHECK_STR(jps(r->json, "records[0].fields.x.value"), "boo");

		r = pub_modify(emu, "create", "ghost-2", "AllTypes", NULL,
					   "{\"extraField\":{\"value\":1.5,\"type\":\"DOUBLE\"}}");
		CHECKM(r->status == 200 && jps(r->json, "records[0].serverErrorCode") == NULL,
			   "development refused a new field: %s", jstr(r->json));
		CHECKM(jpd(pub_lookup(emu, "ghost-2")->json, "records[0].fields.extraField.value", 0) == 1.5,
			   "new field not stored");

		/* the learned type sticks */
		r = pub_modify(emu, "create", "ghost-3", "AllTypes", NULL,
					   "{\"extraField\":{\"value\":\"text\",\"type\":\"STRING\"}}");
		CHECK_STR(resp_code(r, 0), "BAD_REQUEST");
	}

	TEST("schema/a value of the wrong type is BAD_REQUEST")
	{
		const char *bad[] = {
			"{\"i\":{\"value\":\"abc\",\"type\":\"INT64\"}}",
			"{\"i\":{\"value\":\"hello\"}}",
			"{\"i\":{\"value\":\"x\",\"type\":\"STRING\"}}",
			"{\"i\":{\"value\":1.5,\"type\":\"INT64\"}}",
			"{\"s\":{\"value\":42,\"type\":\"STRING\"}}",
			"{\"t\":{\"value\":\"2020-01-01\",\"type\":\"TIMESTAMP\"}}",
			"{\"r\":{\"value\":\"artist-0001\",\"type\":\"REFERENCE\"}}",
			"{\"sl\":{\"value\":\"not a list\",\"type\":\"STRING_LIST\"}}",
			"{\"il\":{\"value\":[1,\"two\"],\"type\":\"INT64_LIST\"}}",
			"{\"l\":{\"value\":{\"latitude\":\"north\",\"longitude\":1},\"type\":\"LOCATION\"}}",
			"{\"b\":{\"value\":\"!!not base64!!\",\"type\":\"BYTES\"}}",
			"{\"d\":{\"value\":true,\"type\":\"DOUBLE\"}}",
			"{\"s\":{\"value\":\"x\",\"type\":\"NOSUCHTYPE\"}}",
			"{\"s\":\"bare string, not a field dictionary\"}",
		};
		int			i;

		for (i = 0; i < (int) (sizeof(bad) / sizeof(bad[0])); i++)
		{
			const char *name = tfmt("wrong-%d", i);
			Resp	   *r = pub_modify(emu, "create", name, "AllTypes", NULL, bad[i]);
			const char *code = resp_code(r, 0);

			CHECKM(code && strcmp(code, "BAD_REQUEST") == 0, "fields %s: expected BAD_REQUEST, got %s",
				   bad[i], code ? code : "success");
			CHECKM(jps(r->json, "reason") || jps(r->json, "records[0].reason"), "no reason given");
			CHECK_ITEM_CODE(pub_lookup(emu, name), 0, "NOT_FOUND");
		}
	}

	TEST("assets/upload, save, downloadURL serves the same bytes")
	{
		unsigned char data[70000];
		json_object *asset;
		Resp	   *r;
		json_object *fields;
		int			i;

		for (i = 0; i < (int) sizeof(data); i++)
			data[i] = (unsigned char) ((i * 31) ^ (i >> 8));
		asset = upload_asset(emu, "asset-1", "Artwork", "image", data, sizeof(data));
		if (asset == NULL)
			continue;
		fields = tkeep(json_object_new_object());
		{
			json_object *f = json_object_new_object();

			json_object_object_add(f, "value", json_object_get(asset));
			json_object_object_add(fields, "image", f);
		}
		r = pub_modify(emu, "create", "asset-1", "Artwork", NULL, json_object_to_json_string(fields));
		CHECKM(jps(r->json, "records[0].serverErrorCode") == NULL, "saving the asset failed: %s",
			   jstr(r->json));
		CHECK_STR(jps(r->json, "records[0].fields.image.type"), "ASSETID");
		r = pub_lookup(emu, "asset-1");
		CHECK_STR(jps(r->json, "records[0].fields.image.value.fileChecksum"), jps(asset, "fileChecksum"));
		asset_bytes_match(emu, jp(r->json, "records[0].fields.image.value"), data, sizeof(data), "image");

		/* more than 200 tokens is too many */
		{
			CkBuf		b;

			ck_buf_init(&b);
			ck_buf_appendf(&b, "{\"tokens\":[");
			for (i = 0; i < 201; i++)
				ck_buf_appendf(&b, "%s{\"recordType\":\"Artwork\",\"fieldName\":\"image\"}", i ? "," : "");
			ck_buf_appendf(&b, "]}");
			r = ck_post(emu, "public", "assets/upload", b.data);
			ck_buf_free(&b);
			CHECK_CODE(r, "BAD_REQUEST");
		}
		/* a made-up receipt is not an asset */
		r = pub_modify(emu, "create", "asset-2", "Artwork", NULL,
					   "{\"image\":{\"value\":{\"fileChecksum\":\"AAAA\",\"size\":3,\"receipt\":\"bogus\"}}}");
		CHECKM(resp_code(r, 0) != NULL, "an unknown asset receipt was accepted");
	}

	TEST("assets: upload URLs expire, files over 15 MB are refused, a receipt needs its checksum")
	{
		Resp	   *r;
		Req			req = {0};
		const char *url;
		unsigned char *big;
		json_object *asset;
		static const unsigned char small[] = "abc";

		r = ck_post(emu, "public", "assets/upload",
					"{\"tokens\":[{\"recordType\":\"Artwork\",\"fieldName\":\"image\"}]}");
		url = jps(r->json, "tokens[0].url");
		if (!CHECKM(url != NULL, "assets/upload returned no url"))
			continue;
		url = tfmt("%s", url);
		r = admin(emu, "POST", "/_ckemu/assets/expire", "");
		CHECK_STATUS(r, 200);
		req.path = url + strlen(emu->base);
		req.body = (const char *) small;
		req.body_len = 3;
		req.content_type = "application/octet-stream";
		req.raw = true;
		r = http(emu, &req);
		CHECKM(r->status == 403 && strstr(r->body ? r->body : "", "expired") != NULL,
			   "an expired upload URL got HTTP %ld: %.200s", r->status, r->body ? r->body : "");

		/* a URL handed out after the expiry works */
		asset = upload_asset(emu, "asset-3", "Artwork", "image", small, 3);
		CHECKM(asset != NULL, "a fresh upload URL did not work");

		/* over the limit: refused with 413 */
		r = ck_post(emu, "public", "assets/upload",
					"{\"tokens\":[{\"recordType\":\"Artwork\",\"fieldName\":\"image\"}]}");
		url = jps(r->json, "tokens[0].url");
		if (!CHECKM(url != NULL, "assets/upload returned no url"))
			continue;
		big = calloc(1, 15 * 1000 * 1000 + 1);
		req.path = tfmt("%s", url + strlen(emu->base));
		req.body = (const char *) big;
		req.body_len = 15 * 1000 * 1000 + 1;
		r = http(emu, &req);
		free(big);
		CHECKM(r->status == 413, "a file over 15 MB got HTTP %ld", r->status);

		/* a receipt without the checksum of its upload is refused */
		if (asset != NULL)
		{
			r = pub_modify(emu, "create", "asset-4", "Artwork", NULL,
						   tfmt("{\"image\":{\"value\":{\"size\":3,\"receipt\":\"%s\"}}}",
								jps(asset, "receipt")));
			CHECKM(resp_code(r, 0) != NULL, "a receipt without fileChecksum was accepted");
			r = pub_modify(emu, "create", "asset-4", "Artwork", NULL,
						   tfmt("{\"image\":{\"value\":{\"fileChecksum\":\"%s\",\"size\":4,\"receipt\":\"%s\"}}}",
								jps(asset, "fileChecksum"), jps(asset, "receipt")));
			CHECKM(resp_code(r, 0) != NULL, "a receipt with the wrong size was accepted");
		}
	}
}
