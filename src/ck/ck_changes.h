/*-------------------------------------------------------------------------
 *
 * ck_changes.h
 *		changes/zone requests and answers (fact sheet section 6.2)
 *
 * A change read asks for one zone's records changed since a syncToken
 * (none: since the zone began), pages while moreComing is true with the
 * token each answer returns, and must treat a per-zone error inside an
 * HTTP 200 answer as an error.  No PostgreSQL headers.
 *
 * src/ck/ck_changes.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CK_CHANGES_H
#define CK_CHANGES_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;

/*
 * {"zones":[{"zoneID", "resultsLimit", "desiredKeys", "desiredRecordTypes"}]}
 * for one zone and one record type.  Takes over zone_id and desired_keys
 * (desired_keys may be NULL: all fields).  Returns a new object.
 */
extern struct json_object *ck_changes_request_new(struct json_object *zone_id,
												  const char *record_type,
												  int results_limit,
												  struct json_object *desired_keys);

/*
 * A copy of a request made by ck_changes_request_new with the zone's
 * syncToken set (NULL: none), its keys in the order Apple documents
 * (zoneID, syncToken, resultsLimit, desiredKeys, desiredRecordTypes).
 * NULL if planned is not such a request.
 */
extern struct json_object *ck_changes_request_with_token(struct json_object *planned,
														 const char *sync_token);

/* The answer for the (one) zone of a changes/zone request. */
typedef struct CkZoneChanges
{
	struct json_object *zone;	/* the zone's entry: holds "records" */
	bool		is_error;		/* a zone error dict */
	const char *server_error_code;
	const char *reason;
	int			nrecords;
	const char *sync_token;		/* where this page ends */
	bool		more_coming;
} CkZoneChanges;

/*
 * Parse a changes/zone answer for a request of one zone.  False (message in
 * err) when the answer is not one: no zones list, not one zone, a success
 * without records or syncToken.  Strings borrow from resp.
 */
extern bool ck_changes_parse(struct json_object *resp, CkZoneChanges *out,
							 char *err, size_t errlen);

#endif							/* CK_CHANGES_H */
