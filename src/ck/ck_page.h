/*-------------------------------------------------------------------------
 *
 * ck_page.h
 *		Records of a raw answer body (records/query, records/lookup,
 *		changes/zone) read in place, without building a JSON tree per page.
 *
 * A page of 200 records parsed into a json-c tree costs thousands of small
 * mallocs, all freed again before the next page: that, not the network,
 * was where a scan's CPU went.  Here the body is checked once, strictly,
 * and the offsets of its records noted; each record is then read in place
 * when its row is made, its strings decoded into one reused buffer.
 *
 * Only the plain shape CloudKit sends is read here.  Anything else (a JSON
 * construct this reader is stricter about than json-c, an error dict, a
 * member of an unexpected type, an escaped key) makes the reader decline,
 * and the caller parses that body or record with json-c as before, which
 * gives exactly the old results and errors.  So the fast path only ever
 * has to agree with json-c on what it accepts.
 *
 * No PostgreSQL headers; everything is malloc'd.
 *
 * src/ck/ck_page.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CK_PAGE_H
#define CK_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ck/ck_record.h"
#include "ck/ck_types.h"

struct json_object;

/* One JSON value in a body: its first byte and its length. */
typedef struct CkJsonSpan
{
	const char *p;				/* NULL: absent (or JSON null, for values) */
	size_t		len;
} CkJsonSpan;

/* The records of one page, as offsets into the body (which is borrowed). */
typedef struct CkPage
{
	const char *body;
	size_t		body_len;
	CkJsonSpan *records;		/* one per entry of the records list */
	int			nrecords;
	int			records_cap;
	char	   *marker;			/* the marker member's string, or NULL */
} CkPage;

/* One field of a record read in place. */
typedef struct CkRawField
{
	const char *name;			/* the key as sent (it holds no escape) */
	size_t		name_len;
	CkJsonSpan	value;			/* "value"; the whole entry when it is no dict */
	CkFieldType type;			/* parsed "type"; UNKNOWN when none or unknown */
	char		type_name[32];	/* "type" as sent, "" when none */
	bool		type_given;		/* "type" was a string (type_name may be cut) */
} CkRawField;

/* A record read in place: the CkRecord (fields NULL) and its fields. */
typedef struct CkRawRecord
{
	CkRecord	rec;
	CkRawField *fields;
	int			nfields;
	int			fields_cap;
	char	   *text;			/* the record's strings, decoded */
	size_t		text_cap;
} CkRawRecord;

/*
 * Check a whole body and note its records: those of the top-level member
 * list_key ("records"), and the string of marker_key (may be NULL) if any.
 * Returns false when the body is not a plain JSON object with such a list
 * of objects, or holds anything this reader leaves to json-c: the caller
 * then parses it with ck_page_parse_json.  Resets page first.
 */
extern bool ck_page_scan(CkPage *page, const char *body, size_t len,
						 const char *list_key, const char *marker_key);

/*
 * The same for a changes/zone answer for one zone: the records of the
 * zone's entry, its syncToken as page->marker, and its moreComing.
 * Returns false (json-c's ck_changes_parse then decides) for anything but
 * one zone that is no error dict and has a records list and a non-empty
 * plain syncToken.
 */
extern bool ck_page_scan_zone(CkPage *page, const char *body, size_t len,
							  bool *more_coming);
extern void ck_page_free(CkPage *page);

/*
 * Read record i of a scanned page into rr (reusing its buffers): its system
 * members into rr->rec, its fields into rr->fields, with rr->rec.raw set.
 * Returns false when the record is not of the plain shape: parse its span
 * with ck_json_parse_span and ck_record_parse instead.
 */
extern bool ck_raw_record_read(CkRawRecord *rr, const CkPage *page, int i);
extern void ck_raw_record_free(CkRawRecord *rr);

/* The last field of rr named name (as sent: UTF-8), or NULL. */
extern const CkRawField *ck_raw_record_field(const CkRawRecord *rr,
											 const char *name, size_t name_len);

/*
 * Parse a whole body as the transport does for an answer it parses itself
 * (strict JSON, valid UTF-8, no integer outside 64 bits, no lone UTF-16
 * surrogate): returns the JSON object, or NULL with the transport's reason
 * in err and *bad_text set for a lone surrogate.
 */
/*
 * Parse a whole answer as one strict JSON value (any value: an error
 * envelope too); NULL and why in err if it is not one, or holds an integer
 * outside 64 bits (which json-c would clamp).
 */
extern struct json_object *ck_json_parse_body(const char *body, size_t len,
											  char *err, size_t errlen);
extern struct json_object *ck_page_parse_json(const char *body, size_t len,
											  long http_status, bool *bad_text,
											  char *err, size_t errlen);

/* One value of a scanned body parsed with json-c (NULL: out of memory). */
extern struct json_object *ck_json_parse_span(CkJsonSpan span);

/* ----------------------------------------------------------------
 *		Values in place.  Each returns false for a shape it leaves to
 *		json-c's decoders (ck_record.h), which then decide.
 * ----------------------------------------------------------------
 */

/* The JSON kind of a span's value: its first byte. */
static inline char
ck_span_kind(CkJsonSpan v)
{
	return v.p[0];				/* '"', '{', '[', 't', 'f', 'n', digit or '-' */
}

/*
 * A JSON string, decoded into out (room for v.len bytes): the length; false
 * when it holds a NUL (which a C string or text cannot hold).
 */
extern bool ck_span_string(CkJsonSpan v, char *out, size_t *outlen);

/* A JSON string without escapes: its bytes inside the quotes. */
extern bool ck_span_plain_string(CkJsonSpan v, const char **s, size_t *len);

/* The byte after the string (of a checked body) whose quote is at p. */
extern const char *ck_span_string_end(const char *p);

/* A JSON integer (no fraction, no exponent): its value. */
extern bool ck_span_int64(CkJsonSpan v, int64_t *out);

/* A finite JSON number, as json-c reads it. */
extern bool ck_span_double(CkJsonSpan v, double *out);

/*
 * The elements of a JSON list: calls fn for each, stopping (and returning
 * false) when fn returns false.
 */
extern bool ck_span_each_element(CkJsonSpan list,
								 bool (*fn) (void *arg, CkJsonSpan elem),
								 void *arg);
extern int	ck_span_list_length(CkJsonSpan list);

/* The members of a JSON object, in order (keys as sent, without quotes). */
extern bool ck_span_each_member(CkJsonSpan obj,
								bool (*fn) (void *arg, const char *key,
											size_t key_len, bool key_escaped,
											CkJsonSpan value),
								void *arg);

/*
 * A LOCATION dict's latitude and longitude, finite (not range-checked);
 * false for any other shape, an escaped key included.
 */
extern bool ck_span_location(CkJsonSpan v, double *latitude, double *longitude);

/* A REFERENCE dict's recordName value (the last one), not yet decoded. */
extern bool ck_span_reference_name(CkJsonSpan v, CkJsonSpan *name);

#endif							/* CK_PAGE_H */
