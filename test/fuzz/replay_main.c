/*-------------------------------------------------------------------------
 *
 * replay_main.c
 *		Standalone driver for a fuzz harness: feeds each file named on the
 *		command line (or each file in a directory named there) to
 *		LLVMFuzzerTestOneInput once, the way libFuzzer's own standalone
 *		driver does, so that "make test" replays the corpora without clang.
 *
 * Each input runs in a child process, so one that crashes is reported by
 * name and the rest still run.  Ends with "NAME: N passed, M failed".
 *
 * test/fuzz/replay_main.c
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE				/* asprintf */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

static int	passed;
static int	failed;

static int
run_input(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	unsigned char *data;
	long		size;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
		fseek(f, 0, SEEK_SET) != 0)
	{
		fprintf(stderr, "cannot read %s\n", path);
		return 2;
	}
	/* a copy of exactly size bytes, so overreads are caught */
	data = malloc(size > 0 ? (size_t) size : 1);
	if (data == NULL || fread(data, 1, (size_t) size, f) != (size_t) size)
	{
		fprintf(stderr, "cannot read %s\n", path);
		return 2;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t) size);
	free(data);
	return 0;
}

static void
replay_file(const char *path)
{
	pid_t		pid;
	int			status;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
	{
		perror("fork");
		failed++;
		return;
	}
	if (pid == 0)
		_exit(run_input(path));
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		passed++;
	else
	{
		failed++;
		if (WIFSIGNALED(status))
			printf("FAIL %s: killed by signal %d\n", path, WTERMSIG(status));
		else
			printf("FAIL %s: exit status %d\n", path, WEXITSTATUS(status));
	}
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
replay_dir(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *e;
	char	  **names = NULL;
	size_t		n = 0,
				cap = 0,
				i;

	if (d == NULL)
	{
		printf("FAIL %s: cannot open the directory\n", dir);
		failed++;
		return;
	}
	while ((e = readdir(d)) != NULL)
	{
		if (e->d_name[0] == '.')
			continue;
		if (n == cap)
		{
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(char *));
			if (names == NULL)
				abort();
		}
		if (asprintf(&names[n], "%s/%s", dir, e->d_name) < 0)
			abort();
		n++;
	}
	closedir(d);
	/* in name order, so a failure report reads the same on every run */
	if (n > 1)
		qsort(names, n, sizeof(char *), cmp_names);
	for (i = 0; i < n; i++)
	{
		replay_file(names[i]);
		free(names[i]);
	}
	free(names);
}

int
main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int			i;

	if (argc < 2)
	{
		fprintf(stderr, "usage: %s FILE_OR_DIRECTORY...\n", name);
		return 2;
	}
	for (i = 1; i < argc; i++)
	{
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			replay_dir(argv[i]);
		else
			replay_file(argv[i]);
	}
	printf("%s: %d passed, %d failed\n", name, passed, failed);
	return failed == 0 ? 0 : 1;
}
