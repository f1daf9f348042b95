/*-------------------------------------------------------------------------
 *
 * bench_common.h
 *		Helpers shared by the benchmark's direct clients (fetch_pages.c,
 *		modify_batches.c): argument parsing, a signed client, timing, and
 *		dying with a clear message on any error.
 *
 * test/bench/bench_common.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include "ck/ck_http.h"

struct json_object;

extern void bench_fail(const char *fmt,...)
			__attribute__((format(printf, 1, 2), noreturn));
extern long bench_parse_long(const char *option, const char *value, long min, long max);
extern double bench_now_ms(void);
extern CkClient *bench_client_new(const char *url, const char *key_id, const char *key_file,
								  const char *ca_file);
extern void bench_check_response(const CkResponse *resp, const char *operation);
extern struct json_object *bench_split_names(const char *list);
extern double bench_process_cpu_ms(long pid);
extern double bench_own_cpu_ms(void);

#endif							/* BENCH_COMMON_H */
