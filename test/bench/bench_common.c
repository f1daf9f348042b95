/*-------------------------------------------------------------------------
 *
 * bench_common.c
 *		Helpers shared by the benchmark's direct clients.
 *
 * The clients talk to the sample container of ckemu with the test
 * server-to-server key, as the extension does in the benchmark; they never
 * print the key.
 *
 * test/bench/bench_common.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json.h>

#include "ck/ck_http.h"

#include "bench_common.h"

void
bench_fail(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	fprintf(stderr, "error: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

long
bench_parse_long(const char *option, const char *value, long min, long max)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < min || v > max)
		bench_fail("%s must be an integer from %ld to %ld, not \"%s\"",
				   option, min, max, value);
	return v;
}

double
bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* CPU time this process has used so far, in milliseconds. */
double
bench_own_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* The whole file into a malloc'd, NUL-terminated string. */
static char *
read_file(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	char	   *data = NULL;
	size_t		len = 0;
	size_t		cap = 0;
	size_t		n;

	if (f == NULL)
		bench_fail("could not open \"%s\": %s", path, strerror(errno));
	do
	{
		if (cap - len < 4096)
		{
			cap = cap * 2 + 8192;
			data = realloc(data, cap);
			if (data == NULL)
				bench_fail("out of memory");
		}
		n = fread(data + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	if (ferror(f))
		bench_fail("could not read \"%s\"", path);
	fclose(f);
	data[len] = '\0';
	return data;
}

/*
 * A client of the sample container's public database, signing requests;
 * https is verified against ca_file (NULL: the system's CAs).
 */
CkClient *
bench_client_new(const char *url, const char *key_id, const char *key_file,
				 const char *ca_file)
{
	CkClientConfig cfg;
	CkClient   *client;
	char		err[512];
	char	   *pem = read_file(key_file);

	memset(&cfg, 0, sizeof(cfg));
	cfg.base_url = url;
	cfg.container = "iCloud.com.example.Gallery";
	cfg.environment = "development";
	cfg.database = "public";
	cfg.auth = CK_AUTH_SERVER_KEY;
	cfg.key_id = key_id;
	cfg.private_key_pem = pem;
	cfg.user_agent = "ckfdw-bench";
	cfg.ca_file = ca_file;
	client = ck_client_new(&cfg, err, sizeof(err));
	memset(pem, 0, strlen(pem));
	free(pem);
	if (client == NULL)
		bench_fail("ck_client_new: %s", err);
	return client;
}

/* Die unless the request succeeded with a JSON object. */
void
bench_check_response(const CkResponse *resp, const char *operation)
{
	/* a success holds the parsed answer, or its raw body if asked for */
	if (resp->kind != CK_RESULT_OK || (resp->json == NULL && resp->body == NULL))
		bench_fail("%s failed (result kind %d, HTTP %ld): %s %s", operation,
				   (int) resp->kind, resp->http_status,
				   resp->server_error_code, resp->reason);
}

/* "a,b,c" -> ["a","b","c"]; "" -> [] */
struct json_object *
bench_split_names(const char *list)
{
	struct json_object *arr = json_object_new_array();
	const char *p = list;

	while (*p != '\0')
	{
		const char *comma = strchr(p, ',');
		size_t		len = comma ? (size_t) (comma - p) : strlen(p);

		if (len > 0)
			json_object_array_add(arr, json_object_new_string_len(p, (int) len));
		p += len;
		if (*p == ',')
			p++;
	}
	return arr;
}

/*
 * CPU time (user + system, all threads) a process has used so far, from
 * /proc/<pid>/stat; -1 when pid is 0 or unreadable.  The benchmark uses it
 * to show how busy ckemu was while it served a run.
 */
double
bench_process_cpu_ms(long pid)
{
	char		path[64];
	char		buf[2048];
	FILE	   *f;
	size_t		n;
	char	   *p;
	unsigned long utime,
				stime;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name may hold spaces: fields are counted after its ')' */
	p = strrchr(buf, ')');
	if (p == NULL ||
		sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			   &utime, &stime) != 2)
		return -1;
	return (utime + stime) * 1000.0 / sysconf(_SC_CLK_TCK);
}
