/*-------------------------------------------------------------------------
 *
 * ck_seen.h
 *		A set of opaque strings seen before (continuation markers, change
 *		tokens), to notice a server that leads a client round in circles.
 *
 * Each string is kept as a 128-bit digest of SHA-256, with a tag the caller
 * chooses (the page that carried it), so a set costs about 32 bytes a
 * string whatever the strings' length.  malloc'd; no PostgreSQL headers.
 *
 * src/ck/ck_seen.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CK_SEEN_H
#define CK_SEEN_H

#include <stddef.h>

typedef struct CkSeenSet CkSeenSet;

extern CkSeenSet *ck_seen_new(void);	/* NULL when out of memory */
extern void ck_seen_free(CkSeenSet *set);
extern void ck_seen_clear(CkSeenSet *set);
extern size_t ck_seen_count(const CkSeenSet *set);

/*
 * Add a string with a tag > 0.  Returns 0 when it is new (and now in the
 * set), the tag it was first added with when it was seen before, or -1 when
 * out of memory.
 */
extern long ck_seen_add(CkSeenSet *set, const char *s, size_t len, long tag);

#endif							/* CK_SEEN_H */
