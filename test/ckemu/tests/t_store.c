/*-------------------------------------------------------------------------
 *
 * t_store.c
 *		The store at scale: a seed file of many every-type records loads
 *		one record at a time (peak memory a small multiple of the file, not
 *		a JSON tree of it), every value comes back exactly, and the seed
 *		format's looser corners (records before the entry's other keys,
 *		trailing commas as json-c allows them) still load.
 *
 * test/ckemu/tests/t_store.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "ckt.h"

/* every-type records in the big seed; fewer under AddressSanitizer, which is slow */
#define STORE_SEED_RECORDS 5000
#define STORE_SEED_RECORDS_ASAN 1500

/* The "fields" of every-type record n, as the seed file and the checks write them. */
static void
write_fields(FILE *f, int n)
{
	fprintf(f, "{\"s\":{\"value\":\"value %d \\u00e9\",\"type\":\"STRING\"},"
			"\"i\":{\"value\":%d,\"type\":\"INT64\"},"
			"\"d\":{\"value\":%d.25,\"type\":\"DOUBLE\"},"
			"\"t\":{\"value\":%lld,\"type\":\"TIMESTAMP\"},"
			"\"b\":{\"value\":\"AAEC%04d\",\"type\":\"BYTES\"},"
			"\"r\":{\"value\":{\"recordName\":\"store-%05d\",\"action\":\"NONE\"},\"type\":\"REFERENCE\"},"
			"\"l\":{\"value\":{\"latitude\":%d.5,\"longitude\":-%d.5},\"type\":\"LOCATION\"},"
			"\"sl\":{\"value\":[\"a%d\",\"b\"],\"type\":\"STRING_LIST\"},"
			"\"il\":{\"value\":[%d,-1],\"type\":\"INT64_LIST\"},"
			"\"dl\":{\"value\":[0.5,%d.75],\"type\":\"DOUBLE_LIST\"},"
			"\"tl\":{\"value\":[%d],\"type\":\"TIMESTAMP_LIST\"},"
			"\"bl\":{\"value\":[\"AQID\"],\"type\":\"BYTES_LIST\"},"
			"\"rl\":{\"value\":[{\"recordName\":\"store-%05d\",\"zoneID\":{\"zoneName\":\"_defaultZone\"},\"action\":\"NONE\"}],\"type\":\"REFERENCE_LIST\"},"
			"\"ll\":{\"value\":[{\"latitude\":1.5,\"longitude\":2.5}],\"type\":\"LOCATION_LIST\"},"
			"\"plain\":{\"value\":\"plain %d\",\"type\":\"STRING\"}}",
			n, n, n, 1700000000000LL + n, n % 10000, n > 1 ? n - 1 : 1, n % 80, n % 170,
			n, n, n, n, n > 1 ? n - 1 : 1, n);
}

/* VmHWM of a process in kB, or -1. */
static long
peak_rss_kb(pid_t pid)
{
	FILE	   *f = fopen(tfmt("/proc/%d/status", (int) pid), "r");
	char		line[256];
	long		kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = atol(line + 6);
	fclose(f);
	return kb;
}

static Emu *
start_with_seed(const char *name, const char *path)
{
	EmuOpts		o = {0};

	o.name = name;
	o.schema = o.keys = true;
	o.extra[0] = "--data";
	o.extra[1] = path;
	return emu_start(&o);
}

void
group_store(void)
{
	TEST("store/seed: 5,000 every-type records load one at a time, in a small multiple of the file")
	{
		const char *path = tfmt("%s/store-seed.json", g_tmpdir);
		const char *empty_path = tfmt("%s/store-empty.json", g_tmpdir);
		FILE	   *f = fopen(path, "w");
		struct stat st;
		Emu		   *big,
				   *small;
		long		big_kb,
					small_kb,
					file_kb;
		int			n;
		Resp	   *r;
		NameSet    *all;
		bool		asan = getenv("ASAN_OPTIONS") != NULL;
		int			nrec = asan ? STORE_SEED_RECORDS_ASAN : STORE_SEED_RECORDS;

		if (!CHECK(f != NULL))
			continue;
		/* "records" before the entry's container: the entry is read whole first */
		fputs("{\"seeds\":[{\"records\":[\n", f);
		for (n = 1; n <= nrec; n++)
		{
			fprintf(f, "%s{\"recordName\":\"store-%05d\",\"recordType\":\"AllTypes\",\"fields\":",
					n > 1 ? ",\n" : "", n);
			write_fields(f, n);
			fputs("}", f);
		}
		fputs("\n],\"container\":\"iCloud.com.example.Gallery\"}]}\n", f);
		fclose(f);
		f = fopen(empty_path, "w");
		if (!CHECK(f != NULL))
			continue;
		fputs("{\"seeds\":[{\"container\":\"iCloud.com.example.Gallery\",\"records\":[]}]}\n", f);
		fclose(f);
		if (!CHECK(stat(path, &st) == 0))
			continue;
		file_kb = (long) (st.st_size / 1024);

		small = start_with_seed("store-empty", empty_path);
		big = start_with_seed("store-big", path);
		if (small == NULL || big == NULL)
		{
			CHECKM(false, "ckemu did not start with the seeds");
			continue;
		}
		small_kb = peak_rss_kb(small->pid);
		big_kb = peak_rss_kb(big->pid);
		note("store: seed file %ld kB; ckemu peak %ld kB with it, %ld kB without",
			 file_kb, big_kb, small_kb);

		/*
		 * The file's text is mapped (its pages dropped as they are loaded)
		 * and the records take about twice their text; a JSON tree of the
		 * whole file took 25-30x.
		 * (AddressSanitizer's shadow memory and quarantine inflate this.)
		 */
		if (!asan)
			CHECKM(big_kb >= 0 && small_kb >= 0 && big_kb - small_kb < 8 * file_kb,
				   "ckemu's peak grew by %ld kB for a %ld kB seed file (limit 8x)",
				   big_kb - small_kb, file_kb);

		/* every record is there, and values come back exactly */
		all = query_all(big, "{\"desiredKeys\":[],\"query\":{\"recordType\":\"AllTypes\"}}", 200, NULL);
		if (CHECK(all != NULL))
			CHECK_INT(all->n, nrec);
		r = ck_post(big, "public", "records/lookup",
					tfmt("{\"records\":[{\"recordName\":\"store-00001\"},{\"recordName\":\"store-01234\"},"
						 "{\"recordName\":\"store-%05d\"}]}", nrec));
		CHECK_STR(jps(r->json, "records[1].fields.s.value"), "value 1234 \xc3\xa9");
		CHECK_INT(jpi(r->json, "records[1].fields.i.value", 0), 1234);
		CHECKM(jpd(r->json, "records[1].fields.d.value", 0) == 1234.25, "d: %s",
			   jstr(jp(r->json, "records[1].fields.d")));
		CHECK_INT(jpi(r->json, "records[1].fields.t.value", 0), 1700000001234LL);
		CHECK_STR(jps(r->json, "records[1].fields.b.value"), "AAEC1234");
		CHECK_STR(jps(r->json, "records[1].fields.r.value.recordName"), "store-01233");
		CHECK_STR(jps(r->json, "records[1].fields.r.value.action"), "NONE");
		CHECKM(jpd(r->json, "records[1].fields.l.value.latitude", 0) == 34.5 &&
			   jpd(r->json, "records[1].fields.l.value.longitude", 0) == -44.5,
			   "l: %s", jstr(jp(r->json, "records[1].fields.l")));
		CHECK_STR(jps(r->json, "records[1].fields.sl.value[0]"), "a1234");
		CHECK_INT(jpi(r->json, "records[1].fields.il.value[1]", 0), -1);
		CHECKM(jpd(r->json, "records[1].fields.dl.value[1]", 0) == 1234.75, "dl: %s",
			   jstr(jp(r->json, "records[1].fields.dl")));
		CHECK_INT(jpi(r->json, "records[1].fields.tl.value[0]", 0), 1234);
		CHECK_STR(jps(r->json, "records[1].fields.bl.value[0]"), "AQID");
		CHECK_STR(jps(r->json, "records[1].fields.rl.value[0].recordName"), "store-01233");
		CHECK_STR(jps(r->json, "records[1].fields.rl.value[0].zoneID.zoneName"), "_defaultZone");
		CHECKM(jpd(r->json, "records[1].fields.ll.value[0].longitude", 0) == 2.5, "ll: %s",
			   jstr(jp(r->json, "records[1].fields.ll")));
		CHECK_STR(jps(r->json, "records[1].fields.plain.value"), "plain 1234");
		CHECK_STR(jps(r->json, "records[0].fields.r.value.recordName"), "store-00001");
		CHECK_STR(jps(r->json, "records[2].fields.plain.value"), tfmt("plain %d", nrec));
		CHECK_STR(jps(r->json, "records[2].recordType"), "AllTypes");

		/* a reset loads the same text again */
		CHECK(emu_reset(big));
		r = ck_post(big, "public", "records/lookup",
					tfmt("{\"records\":[{\"recordName\":\"store-%05d\"}]}", nrec));
		CHECK_STR(jps(r->json, "records[0].fields.s.value"), tfmt("value %d \xc3\xa9", nrec));
		emu_stop(big);
		emu_stop(small);
	}

	TEST("store/seed: a reset reads the start-up text of a file renamed since; one changed in place fails it")
	{
		const char *path = tfmt("%s/store-reset.json", g_tmpdir);
		const char *moved = tfmt("%s/store-reset-moved.json", g_tmpdir);
		const char *seed = "{\"seeds\":[{\"container\":\"iCloud.com.example.Gallery\",\"records\":["
			"{\"recordName\":\"%s\",\"recordType\":\"AllTypes\",\"fields\":{\"i\":{\"value\":%d}}}]}]}\n";
		FILE	   *f = fopen(path, "w");
		Emu		   *emu;
		Resp	   *r;

		if (!CHECK(f != NULL))
			continue;
		fprintf(f, seed, "reset-old", 1);
		fclose(f);
		emu = start_with_seed("store-reset", path);
		if (!CHECKM(emu != NULL, "ckemu did not start with the seed"))
			continue;

		/* renamed, and another file in its place: the reset loads the old text */
		if (!CHECK(rename(path, moved) == 0) || !CHECK((f = fopen(path, "w")) != NULL))
			continue;
		fprintf(f, seed, "reset-new", 2);
		fclose(f);
		r = admin(emu, "POST", "/_ckemu/reset", NULL);
		CHECK_STATUS(r, 200);
		r = ck_post(emu, "public", "records/lookup",
					"{\"records\":[{\"recordName\":\"reset-old\"},{\"recordName\":\"reset-new\"}]}");
		CHECK_INT(jpi(r->json, "records[0].fields.i.value", 0), 1);
		CHECK_STR(jps(r->json, "records[1].serverErrorCode"), "NOT_FOUND");

		/* the start-up file changed in place: the reset fails, the data stays */
		if (!CHECK((f = fopen(moved, "a")) != NULL))
			continue;
		fputs("\n", f);
		fclose(f);
		r = admin(emu, "POST", "/_ckemu/reset", NULL);
		CHECK_STATUS(r, 500);
		CHECKM(r->body && strstr(r->body, "changed since start-up"), "ckemu said: %s",
			   r->body ? r->body : "");
		r = ck_post(emu, "public", "records/lookup", "{\"records\":[{\"recordName\":\"reset-old\"}]}");
		CHECK_INT(jpi(r->json, "records[0].fields.i.value", 0), 1);
		emu_stop(emu);
	}

	TEST("store/seed: trailing commas load as json-c reads them; bad JSON is refused")
	{
		const char *path = tfmt("%s/store-commas.json", g_tmpdir);
		const char *bad = tfmt("%s/store-bad.json", g_tmpdir);
		FILE	   *f = fopen(path, "w");
		Emu		   *emu;
		Resp	   *r;

		if (!CHECK(f != NULL))
			continue;
		fputs("{\"seeds\":[{\"container\":\"iCloud.com.example.Gallery\",\"records\":["
			  "{\"recordName\":\"comma-1\",\"recordType\":\"AllTypes\",\"fields\":{\"i\":{\"value\":7}}},"
			  "],},]}\n", f);
		fclose(f);
		emu = start_with_seed("store-commas", path);
		if (!CHECKM(emu != NULL, "ckemu refused a seed with trailing commas"))
			continue;
		r = ck_post(emu, "public", "records/lookup", "{\"records\":[{\"recordName\":\"comma-1\"}]}");
		CHECK_INT(jpi(r->json, "records[0].fields.i.value", 0), 7);
		emu_stop(emu);

		f = fopen(bad, "w");
		if (!CHECK(f != NULL))
			continue;
		fputs("{\"seeds\":[{\"container\":\"iCloud.com.example.Gallery\",\"records\":[{\"recordName\":", f);
		fclose(f);
		{
			/* it must refuse to start (timeout ends it should it start anyway) */
			const char *log = tfmt("%s/store-bad.log", g_tmpdir);
			int			rc = system(tfmt("timeout 20 %s --listen 127.0.0.1:0 --data %s --quiet >%s 2>&1",
										 g_ckemu_path, bad, log));
			FILE	   *lf = fopen(log, "r");
			char		text[512] = "";

			if (lf)
			{
				size_t		got = fread(text, 1, sizeof(text) - 1, lf);

				text[got] = '\0';
				fclose(lf);
			}
			CHECKM(rc != 0 && WEXITSTATUS(rc) != 124, "ckemu started with a truncated seed file");
			CHECKM(strstr(text, "not valid JSON") != NULL, "ckemu said: %s", text);
		}
	}
}
