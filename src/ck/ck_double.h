/*-------------------------------------------------------------------------
 *
 * ck_double.h
 *		When a decimal number is the same value as a CloudKit DOUBLE.
 *
 * src/ck/ck_double.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CK_DOUBLE_H
#define CK_DOUBLE_H

#include <stdbool.h>

/*
 * Whether the decimal text ([-]digits[.digits][e[+-]digits], as JSON and
 * numeric_out write numbers) is a way of printing the double d it reads as
 * (*d gets strtod's result, also when false is returned):
 *
 *	- d rounded correctly to the text's own number of significant digits,
 *	  when that is at most 17 (printf's "%.*e"), or
 *	- d's exact value, however many digits that takes.
 *
 * Every double prints so: with 17 digits always, with its shortest
 * round-tripping form nearly always (see encode.c for the rest), and with
 * %.15g or %.16g whenever that reads back as d.  So a value CloudKit sent,
 * in whichever of those forms, writes back as the same double.  A decimal
 * that is not how d prints (0.100000000000000005, or 1.00000000000000001 of
 * 18 digits) would be stored as another number, so the caller refuses it.
 */
extern bool ck_decimal_is_double(const char *text, double *d);

#endif							/* CK_DOUBLE_H */
