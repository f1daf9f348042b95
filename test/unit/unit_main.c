/*-------------------------------------------------------------------------
 *
 * unit_main.c
 *		  Runner for the unit tests of src/ck; needs no PostgreSQL.
 *
 * test/unit/unit_main.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json.h>

#include "unit.h"

int			unit_passed = 0;
int			unit_failed = 0;

static char tmpdir[256];

bool
unit_check(bool ok, const char *file, int line, const char *fmt,...)
{
	va_list		ap;

	if (ok)
	{
		unit_passed++;
		return true;
	}
	unit_failed++;
	printf("FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return false;
}

const char *
unit_json(struct json_object *obj)
{
	if (obj == NULL)
		return "(null)";
	return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
										  JSON_C_TO_STRING_NOSLASHESCAPE);
}

const char *
unit_tmpdir(void)
{
	if (tmpdir[0] == '\0')
	{
		const char *base = getenv("TMPDIR");

		snprintf(tmpdir, sizeof(tmpdir), "%s/ck_unit_XXXXXX",
				 base && base[0] ? base : "/tmp");
		if (mkdtemp(tmpdir) == NULL)
		{
			fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
			exit(2);
		}
	}
	return tmpdir;
}

const char *
unit_path(const char *name)
{
	static char bufs[16][512];
	static int	next;
	char	   *b = bufs[next++ % 16];

	snprintf(b, 512, "%s/%s", unit_tmpdir(), name);
	return b;
}

int
unit_run(const char *fmt,...)
{
	va_list		ap;
	char		cmd[4096];
	int			rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc == -1 || !WIFEXITED(rc))
		return -1;
	return WEXITSTATUS(rc);
}

char *
unit_read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *data;
	long		n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc(n + 1);
	if (data == NULL || fread(data, 1, n, f) != (size_t) n)
	{
		free(data);
		fclose(f);
		return NULL;
	}
	data[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t) n;
	return data;
}

bool
unit_write_file(const char *path, const void *data, size_t len)
{
	FILE	   *f = fopen(path, "wb");
	bool		ok;

	if (f == NULL)
		return false;
	ok = fwrite(data, 1, len, f) == len;
	return (fclose(f) == 0) && ok;
}

int64_t
unit_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
main(int argc, char **argv)
{
	static const struct
	{
		const char *name;
		void		(*fn) (void);
	}			areas[] = {
		{"util", test_util},
		{"sign", test_sign},
		{"record", test_record},
		{"query", test_query},
		{"error", test_error},
		{"http", test_http},
		{"schema", test_schema},
		{"values", test_values},
		{"changes", test_changes},
		{"page", test_page},
	};
	int			i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < (int) (sizeof(areas) / sizeof(areas[0])); i++)
	{
		/* "unit_tests sign http" runs only those areas */
		if (argc > 1)
		{
			int			j;
			bool		wanted = false;

			for (j = 1; j < argc; j++)
				if (strcmp(argv[j], areas[i].name) == 0)
					wanted = true;
			if (!wanted)
				continue;
		}
		{
			int			before = unit_passed + unit_failed;

			areas[i].fn();
			printf("  %s: %d checks\n", areas[i].name, unit_passed + unit_failed - before);
		}
	}

	if (tmpdir[0] != '\0')
		unit_run("rm -rf '%s'", tmpdir);

	printf("unit: %d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed > 0 ? 1 : 0;
}
