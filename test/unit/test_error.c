/*-------------------------------------------------------------------------
 *
 * test_error.c
 *		  Unit tests of ck_error.c: the serverErrorCode table.
 *
 * test/unit/test_error.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "ck/ck_error.h"
#include "unit.h"

void
test_error(void)
{
	/* Apple's complete table (fact sheet section 8) and our SQLSTATEs */
	static const struct
	{
		const char *code;
		int			status;
		bool		retryable;
		const char *sqlstate;	/* NULL: any well-formed one */
	}			want[] = {
		{"ACCESS_DENIED", 403, false, "42501"},
		{"ATOMIC_ERROR", 400, false, NULL},
		{"AUTHENTICATION_FAILED", 401, false, "28000"},
		{"AUTHENTICATION_REQUIRED", 421, false, "28000"},
		{"BAD_REQUEST", 400, false, NULL},
		{"CONFLICT", 409, false, "40001"},
		{"EXISTS", 409, false, "23505"},
		{"INTERNAL_ERROR", 500, true, NULL},
		{"NOT_FOUND", 404, false, NULL},
		{"QUOTA_EXCEEDED", 413, false, NULL},
		{"THROTTLED", 429, true, NULL},
		{"TRY_AGAIN_LATER", 503, true, NULL},
		{"VALIDATING_REFERENCE_ERROR", 412, false, "23503"},
		{"ZONE_NOT_FOUND", 404, false, NULL},
	};
	int			n = 0;
	const CkErrorInfo *table = ck_error_table(&n);
	const CkErrorInfo *e;
	int			i;
	int			j;

	CHECK_INT(n, (int) (sizeof(want) / sizeof(want[0])));
	for (i = 0; i < (int) (sizeof(want) / sizeof(want[0])); i++)
	{
		e = ck_error_lookup(want[i].code);
		if (!CHECK_MSG(e && strcmp(e->code, want[i].code) == 0, "lookup %s", want[i].code))
			continue;
		CHECK_MSG(e->http_status == want[i].status, "%s: HTTP %d, want %d",
				  e->code, e->http_status, want[i].status);
		CHECK_MSG(e->retryable == want[i].retryable, "%s: retryable %d", e->code, e->retryable);
		if (want[i].sqlstate)
			CHECK_STR(e->sqlstate, want[i].sqlstate);
	}

	/* every entry: distinct code, a well-formed SQLSTATE, a real hint */
	for (i = 0; i < n; i++)
	{
		const char *s = table[i].sqlstate;
		bool		ok = s && strlen(s) == 5;

		for (j = 0; ok && j < 5; j++)
			ok = isdigit((unsigned char) s[j]) || isupper((unsigned char) s[j]);
		CHECK_MSG(ok, "%s: SQLSTATE \"%s\" is not 5 of [0-9A-Z]", table[i].code, s ? s : "(null)");
		/* class 08 is for transport errors only, and 00/01/02 are not errors */
		CHECK_MSG(s && strncmp(s, "08", 2) != 0 && strncmp(s, "00", 2) != 0 &&
				  strncmp(s, "01", 2) != 0 && strncmp(s, "02", 2) != 0,
				  "%s: SQLSTATE %s in a class it must not use", table[i].code, s);
		CHECK_MSG(table[i].hint && strlen(table[i].hint) > 20, "%s: hint too short", table[i].code);
		for (j = 0; j < i; j++)
			CHECK_MSG(strcmp(table[i].code, table[j].code) != 0, "duplicate %s", table[i].code);
		CHECK(ck_error_lookup(table[i].code) == &table[i]);
	}

	/* the brief's spot checks */
	CHECK_STR(ck_error_lookup("CONFLICT")->sqlstate, "40001");
	CHECK(ck_error_lookup("THROTTLED")->retryable);
	CHECK(!ck_error_lookup("CONFLICT")->retryable);
	CHECK(!ck_error_lookup("BAD_REQUEST")->retryable);

	/* unknown codes get the generic entry, never NULL */
	e = ck_error_lookup("LIMIT_EXCEEDED");
	CHECK(e != NULL);
	CHECK_STR(e->code, "UNKNOWN_ERROR");
	CHECK_STR(e->sqlstate, "HV000");
	CHECK(!e->retryable && e->hint && e->hint[0]);
	CHECK_STR(ck_error_lookup(NULL)->code, "UNKNOWN_ERROR");
	CHECK_STR(ck_error_lookup("")->code, "UNKNOWN_ERROR");
	CHECK_STR(ck_error_lookup("conflict")->code, "UNKNOWN_ERROR");	/* case matters */

	/* HTTP status -> code, the general code where two share a status */
	CHECK_STR(ck_error_for_status(409)->code, "CONFLICT");
	CHECK_STR(ck_error_for_status(400)->code, "BAD_REQUEST");
	CHECK_STR(ck_error_for_status(404)->code, "NOT_FOUND");
	CHECK_STR(ck_error_for_status(401)->code, "AUTHENTICATION_FAILED");
	CHECK_STR(ck_error_for_status(421)->code, "AUTHENTICATION_REQUIRED");
	CHECK_STR(ck_error_for_status(429)->code, "THROTTLED");
	CHECK_STR(ck_error_for_status(503)->code, "TRY_AGAIN_LATER");
	CHECK_STR(ck_error_for_status(500)->code, "INTERNAL_ERROR");
	CHECK_STR(ck_error_for_status(412)->code, "VALIDATING_REFERENCE_ERROR");
	CHECK_STR(ck_error_for_status(413)->code, "QUOTA_EXCEEDED");
	CHECK_STR(ck_error_for_status(403)->code, "ACCESS_DENIED");
	CHECK(ck_error_for_status(200) == NULL);
	CHECK(ck_error_for_status(418) == NULL);
	CHECK(ck_error_for_status(502) == NULL);
	for (i = 0; i < n; i++)
	{
		e = ck_error_for_status(table[i].http_status);
		CHECK_MSG(e && e->http_status == table[i].http_status,
				  "status %d of %s has no code", table[i].http_status, table[i].code);
	}
}
