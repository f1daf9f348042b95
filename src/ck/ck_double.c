/*-------------------------------------------------------------------------
 *
 * ck_double.c
 *		  When a decimal number is the same value as a CloudKit DOUBLE.
 *
 * Decimals are compared as numbers: both are brought to the form
 * 0.DIGITS x 10^EXP with no leading or trailing zero digit, so "45.10",
 * "4.51e1" and "4.5100000000000000e+01" compare equal.  printf is exact in
 * glibc at any precision, so "%.*e" gives the correctly rounded digits of
 * d, and with enough digits its exact value.
 *
 * src/ck/ck_double.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck/ck_double.h"

/* Most significant digits of a double's exact value (2^-1074 has 751). */
#define CK_DOUBLE_MAX_DIGITS	800

typedef struct CkDecimal
{
	bool		negative;
	char	   *digits;			/* no leading or trailing '0'; "" for zero */
	size_t		ndigits;
	long		exp;			/* value = 0.digits * 10^exp */
} CkDecimal;

/*
 * Parse text into dec (dec->digits is malloc'd, or NULL when out of
 * memory).  Returns false when the text is not a plain decimal.
 */
static bool
ck_decimal_parse(const char *text, CkDecimal *dec)
{
	const char *p = text;
	size_t		n = 0;
	long		point = -1;		/* digits before the '.', when there is one */
	long		exp = 0;
	size_t		lead = 0;

	memset(dec, 0, sizeof(*dec));
	dec->digits = malloc(strlen(text) + 1);
	if (dec->digits == NULL)
		return false;
	if (*p == '-')
	{
		dec->negative = true;
		p++;
	}
	if (!isdigit((unsigned char) *p) && !(*p == '.' && isdigit((unsigned char) p[1])))
		return false;
	for (; isdigit((unsigned char) *p) || (*p == '.' && point < 0); p++)
	{
		if (*p == '.')
			point = (long) n;
		else
			dec->digits[n++] = *p;
	}
	if (point < 0)
		point = (long) n;
	if (*p == 'e' || *p == 'E')
	{
		bool		eneg = false;

		p++;
		if (*p == '+' || *p == '-')
			eneg = (*p++ == '-');
		if (!isdigit((unsigned char) *p))
			return false;
		for (; isdigit((unsigned char) *p); p++)
		{
			/* far beyond any double; strtod says 0 or infinity anyway */
			if (exp < 100000)
				exp = exp * 10 + (*p - '0');
		}
		if (eneg)
			exp = -exp;
	}
	if (*p != '\0')
		return false;

	/* 0.DIGITS x 10^exp without leading and trailing zeros */
	while (lead < n && dec->digits[lead] == '0')
		lead++;
	while (n > lead && dec->digits[n - 1] == '0')
		n--;
	dec->exp = point + exp - (long) lead;
	dec->ndigits = n - lead;
	memmove(dec->digits, dec->digits + lead, dec->ndigits);
	dec->digits[dec->ndigits] = '\0';
	if (dec->ndigits == 0)
	{
		dec->negative = false;
		dec->exp = 0;
	}
	return true;
}

static bool
ck_decimal_equal(const CkDecimal *a, const CkDecimal *b)
{
	return a->negative == b->negative && a->exp == b->exp &&
		a->ndigits == b->ndigits && memcmp(a->digits, b->digits, a->ndigits) == 0;
}

bool
ck_decimal_is_double(const char *text, double *d)
{
	CkDecimal	given;
	CkDecimal	printed;
	char		buf[CK_DOUBLE_MAX_DIGITS + 32];
	int			precision;
	bool		result = false;

	*d = strtod(text, NULL);
	if (!isfinite(*d))
		return false;
	if (!ck_decimal_parse(text, &given))
	{
		free(given.digits);
		return false;
	}
	if (given.ndigits == 0)
		result = (*d == 0);		/* any spelling of zero; -0 reads as -0.0 */
	else if (given.ndigits <= CK_DOUBLE_MAX_DIGITS)
	{
		/* up to 17 digits: d rounded to as many; beyond: d's exact value */
		precision = given.ndigits <= 17 ? (int) given.ndigits - 1 : CK_DOUBLE_MAX_DIGITS;
		snprintf(buf, sizeof(buf), "%.*e", precision, *d);
		if (ck_decimal_parse(buf, &printed))
			result = ck_decimal_equal(&given, &printed);
		free(printed.digits);
	}
	free(given.digits);
	return result;
}
