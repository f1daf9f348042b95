/*-------------------------------------------------------------------------
 *
 * markers.c
 *		  The continuation markers of a paged scan, checked against the ones
 *		  the scan has already followed
 *
 * CloudKit pages a query with continuationMarker.  A server that hands out
 * a marker it gave before (with records) would have the scan return the
 * same rows again and again until statement_timeout: wrong results, not
 * slowness.  So every marker a scan receives is remembered (as a digest,
 * src/ck/ck_seen.c: about 32 bytes a page), and a repeat is an error.  The
 * same check suits any opaque position token a server hands out, such as
 * change-feed sync tokens.
 *
 * IDENTIFICATION
 *		  src/markers.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "ckfdw.h"
#include "ck/ck_seen.h"

struct CkFdwMarkerGuard
{
	CkSeenSet  *seen;			/* malloc'd, freed with the memory context */
	MemoryContextCallback cb;
};

static void
free_guard(void *arg)
{
	CkFdwMarkerGuard *guard = (CkFdwMarkerGuard *) arg;

	ck_seen_free(guard->seen);
	guard->seen = NULL;
}

/*
 * Note that page number "page" (1 for the first) of a scan carried marker,
 * and raise 08P01 if an earlier page of the same scan carried it already.
 * *guard is created at first use in cxt, which must live as long as the
 * scan.  field names the marker ("continuationMarker", or "syncToken" for
 * a change feed), read what it pages ("query", "change read") and
 * record_type the type, in the message.
 */
void
ckfdw_check_marker(CkFdwMarkerGuard **guard, MemoryContext cxt,
				   const char *marker, size_t len, int page,
				   const char *field, const char *read,
				   const char *record_type)
{
	long		first;

	if (*guard == NULL)
	{
		CkFdwMarkerGuard *g = MemoryContextAllocZero(cxt, sizeof(CkFdwMarkerGuard));

		g->seen = ck_seen_new();
		if (g->seen == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
		g->cb.func = free_guard;
		g->cb.arg = g;
		MemoryContextRegisterResetCallback(cxt, &g->cb);
		*guard = g;
	}

	first = ck_seen_add((*guard)->seen, marker, len, page);
	if (first < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (first > 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("CloudKit repeated a %s in its answers to the %s of record type \"%s\"",
						field, read, record_type),
				 errdetail("Page %d carried the same %s as page %ld; following it would return records again.",
						   page, field, first),
				 errhint("The server's paging is broken; retry the statement, and report the problem to the service's operator if it persists.")));
}

/*
 * The marker of a page that says more records follow: page number "page",
 * with nrecords records, requested with prev (NULL for the first page).
 * An empty page that points back at itself would loop for ever, and a
 * marker an earlier page carried would return its records again: both
 * raise 08P01.  The arguments are ckfdw_check_marker's.
 */
void
ckfdw_check_next_marker(CkFdwMarkerGuard **guard, MemoryContext cxt,
						const char *marker, const char *prev, int nrecords,
						int page, const char *field, const char *read,
						const char *record_type)
{
	if (nrecords == 0 && prev != NULL && strcmp(marker, prev) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("CloudKit returned an empty page with an unchanged %s for the %s of record type \"%s\"",
						field, read, record_type)));
	ckfdw_check_marker(guard, cxt, marker, strlen(marker), page, field, read,
					   record_type);
}

/* The scan starts anew (a rescan): markers seen so far are legitimate again. */
void
ckfdw_forget_markers(CkFdwMarkerGuard *guard)
{
	if (guard != NULL && guard->seen != NULL)
		ck_seen_clear(guard->seen);
}
