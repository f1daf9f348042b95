/*-------------------------------------------------------------------------
 *
 * unit.h
 *		  A tiny test harness for the unit tests of src/ck.
 *
 * Each CHECK prints one line when it fails and counts passes and failures;
 * main() prints "unit: N passed, M failed" and exits non-zero on failure.
 *
 * test/unit/unit.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern int	unit_passed;
extern int	unit_failed;

extern bool unit_check(bool ok, const char *file, int line, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

#define CHECK(cond) \
	unit_check((cond), __FILE__, __LINE__, "%s", #cond)

#define CHECK_MSG(cond, ...) \
	unit_check((cond), __FILE__, __LINE__, __VA_ARGS__)

/* strings: NULL-safe, prints both values on failure */
#define CHECK_STR(got, want) \
	do { \
		const char *g_ = (got); \
		const char *w_ = (want); \
		unit_check(g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0, \
				   __FILE__, __LINE__, "%s: got \"%s\", want \"%s\"", \
				   #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
	} while (0)

#define CHECK_INT(got, want) \
	do { \
		long long g_ = (long long) (got); \
		long long w_ = (long long) (want); \
		unit_check(g_ == w_, __FILE__, __LINE__, "%s: got %lld, want %lld", \
				   #got, g_, w_); \
	} while (0)

/* A JSON object serialised compactly (json-c's plain form, no "\/"). */
struct json_object;
extern const char *unit_json(struct json_object *obj);

/* The per-run scratch directory (created on first use, removed at exit). */
extern const char *unit_tmpdir(void);

/* Path of a file in the scratch directory (static buffer, 16 in rotation). */
extern const char *unit_path(const char *name);

/* Run a shell command; returns its exit status (-1 if it did not exit). */
extern int	unit_run(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* Read/write whole files (malloc'd, NUL-terminated; *len optional). */
extern char *unit_read_file(const char *path, size_t *len);
extern bool unit_write_file(const char *path, const void *data, size_t len);

/* Monotonic milliseconds */
extern int64_t unit_now_ms(void);

/* The test areas */
extern void test_util(void);
extern void test_sign(void);
extern void test_record(void);
extern void test_query(void);
extern void test_error(void);
extern void test_http(void);
extern void test_schema(void);
extern void test_values(void);
extern void test_changes(void);
extern void test_page(void);

#endif							/* UNIT_H */
