--
-- 410_database_changes: ckfdw_database_changes reads changes/database:
-- the zones created or changed and the zones deleted since a token, and
-- the token to store next time, also when nothing changed.  All pages
-- (moreComing) are read into one row; a dead token, the public database
-- and too many changes are clear errors.  Token values differ from run to
-- run and are never printed.
--
\getenv ckemu_url CKEMU_URL
\getenv api_token CKFDW_API_TOKEN
\getenv web_auth_token CKFDW_WEB_AUTH_TOKEN
\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
CREATE SCHEMA changes410;
SET search_path = changes410, public;

CREATE SERVER changes_private FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', database 'private', base_url :'ckemu_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER changes_private
	OPTIONS (api_token :'api_token', web_auth_token :'web_auth_token');
CREATE FOREIGN TABLE favorite (
	id text OPTIONS (system 'recordName'),
	note text
) SERVER changes_private OPTIONS (record_type 'Favorite', zone 'Wishlist');

-- what a mirroring job keeps: the token of its last run
CREATE TABLE mirror_state (server name PRIMARY KEY, token text NOT NULL);

-- From the beginning: every zone with changes, one request
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT sync_token <> '' AS has_token, changed_zones, deleted_zones
FROM ckfdw_database_changes('changes_private');
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values(.requests)'
-- the zones are composite values: name and owner (the owner tells apart
-- zones of several users in the shared database)
SELECT z.zone_name, z.owner_record_name
FROM ckfdw_database_changes('changes_private') c, unnest(c.changed_zones) z;
INSERT INTO mirror_state
SELECT 'changes_private', sync_token FROM ckfdw_database_changes('changes_private', '');

-- Nothing changed: empty arrays, and a token to store all the same
SELECT sync_token <> '' AS has_token, changed_zones, deleted_zones,
	cardinality(changed_zones) AS changed, cardinality(deleted_zones) AS deleted
FROM ckfdw_database_changes('changes_private',
	(SELECT token FROM mirror_state WHERE server = 'changes_private'));

-- A record changed in Wishlist, a zone created, a zone created and
-- deleted again, a zone created and then given a record
UPDATE favorite SET note = 'changed' WHERE id = 'favorite-003';
SELECT zone_name FROM ckfdw_create_zone('changes_private', 'Albums');
SELECT zone_name FROM ckfdw_create_zone('changes_private', 'Scratch');
SELECT ckfdw_delete_zone('changes_private', 'Scratch');
SELECT zone_name FROM ckfdw_create_zone('changes_private', 'Trips');
CREATE FOREIGN TABLE trip (id text OPTIONS (system 'recordName'), place text)
	SERVER changes_private OPTIONS (record_type 'Trip', zone 'Trips');
INSERT INTO trip VALUES ('trip-1', 'Lisbon');
-- the nightly job: read the changes and store the new token, in one
-- transaction (a failure before COMMIT keeps the old token: rerun is safe)
SELECT token AS token0 FROM mirror_state WHERE server = 'changes_private' \gset
BEGIN;
CREATE TEMP TABLE run1 AS
SELECT * FROM ckfdw_database_changes('changes_private',
	(SELECT token FROM mirror_state WHERE server = 'changes_private'));
SELECT (SELECT array_agg(zone_name ORDER BY zone_name) FROM unnest(changed_zones)) AS changed,
	(SELECT array_agg(zone_name ORDER BY zone_name) FROM unnest(deleted_zones)) AS deleted
FROM run1;
UPDATE mirror_state SET token = (SELECT sync_token FROM run1) WHERE server = 'changes_private';
COMMIT;
-- the old token read again gives the same answer (reading consumes
-- nothing: a job that failed before COMMIT reruns with it); the new one
-- gives nothing
SELECT (SELECT array_agg(zone_name ORDER BY zone_name) FROM unnest(changed_zones)) AS changed,
	(SELECT array_agg(zone_name ORDER BY zone_name) FROM unnest(deleted_zones)) AS deleted
FROM ckfdw_database_changes('changes_private', :'token0');
SELECT cardinality(changed_zones) + cardinality(deleted_zones) AS changes
FROM ckfdw_database_changes('changes_private',
	(SELECT token FROM mirror_state WHERE server = 'changes_private'));
-- a deleted zone is listed as deleted, not as changed
SELECT ckfdw_delete_zone('changes_private', 'Albums');
SELECT changed_zones, deleted_zones
FROM ckfdw_database_changes('changes_private',
	(SELECT token FROM mirror_state WHERE server = 'changes_private'));
SELECT ckfdw_delete_zone('changes_private', 'Trips');

--
-- More changes than one answer holds: 450 new zones, three pages
--
SELECT sync_token AS before_bulk FROM ckfdw_database_changes('changes_private') \gset
\! for first in 0 200 400; do jq -nc --argjson f $first '{operations: [range($f; [$f + 200, 450] | min) | {operationType: "create", zone: {zoneID: {zoneName: "bulk-\(.)"}}}]}' | curl -s -o /dev/null -X POST --data-binary @- "$CKEMU_URL/database/1/iCloud.com.example.Gallery/development/private/zones/modify?ckAPIToken=$CKFDW_API_TOKEN&ckWebAuthToken=$CKFDW_WEB_AUTH_TOKEN"; done
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT cardinality(changed_zones) AS changed, cardinality(deleted_zones) AS deleted,
	(SELECT count(DISTINCT zone_name) FROM unnest(changed_zones)) AS distinct_names,
	(SELECT min(zone_name) || ' .. ' || max(zone_name) FROM unnest(changed_zones)) AS names
FROM ckfdw_database_changes('changes_private', :'before_bulk');
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["changes/database"] | {requests, bytes_out: (.bytes_out > 0)}'

--
-- Errors
--
-- a token CloudKit does not know
SELECT ckfdw_test_error($$SELECT * FROM ckfdw_database_changes('changes_private', 'not-a-token')$$);
-- a token of another life of the database (ckemu's reset starts a new one)
\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
SELECT ckfdw_test_error(format('SELECT * FROM ckfdw_database_changes(%L, %L)', 'changes_private', :'before_bulk'));
-- the public database has no change feed
SELECT ckfdw_test_error($$SELECT * FROM ckfdw_database_changes('gallery')$$);
-- a per-zone error inside an HTTP 200 answer, and an answer without a token
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"changes/database","action":"respond","body":{"zones":[{"zoneID":{"zoneName":"Wishlist"},"serverErrorCode":"ACCESS_DENIED","reason":"zone not readable"}],"syncToken":"x","moreComing":false}}]' >/dev/null
SELECT ckfdw_test_error($$SELECT * FROM ckfdw_database_changes('changes_private')$$);
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"changes/database","action":"respond","body":{"zones":[],"moreComing":false}}]' >/dev/null
SELECT ckfdw_test_error($$SELECT * FROM ckfdw_database_changes('changes_private')$$);
-- moreComing with nothing in the page would never end
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"changes/database","action":"respond","count":0,"body":{"zones":[],"syncToken":"x","moreComing":true}}]' >/dev/null
SELECT ckfdw_test_error($$SELECT * FROM ckfdw_database_changes('changes_private')$$);
-- a zone listed on two pages counts as its last state; purged zones are
-- deleted too; owners tell apart zones with the same name
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"changes/database","action":"respond","count":1,"body":{"zones":[{"zoneID":{"zoneName":"A","ownerRecordName":"_u1"}},{"zoneID":{"zoneName":"A","ownerRecordName":"_u2"}},{"zoneID":{"zoneName":"B","ownerRecordName":"_u1"}}],"syncToken":"t1","moreComing":true}}, {"operation":"changes/database","action":"respond","after":1,"count":1,"body":{"zones":[{"zoneID":{"zoneName":"A","ownerRecordName":"_u1"},"deleted":true},{"zoneID":{"zoneName":"C","ownerRecordName":"_u1"},"purged":true},{"zoneID":{"zoneName":"B","ownerRecordName":"_u1"}}],"syncToken":"t2","moreComing":false}}]' >/dev/null
SELECT * FROM ckfdw_database_changes('changes_private');
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
-- more changed zones than ckfdw reads (10,000): 10,001 zones
\! for first in $(seq 0 200 10000); do jq -nc --argjson f $first '{operations: [range($f; [$f + 200, 10001] | min) | {operationType: "create", zone: {zoneID: {zoneName: "many-\(.)"}}}]}' | curl -s -o /dev/null -X POST --data-binary @- "$CKEMU_URL/database/1/iCloud.com.example.Gallery/development/private/zones/modify?ckAPIToken=$CKFDW_API_TOKEN&ckWebAuthToken=$CKFDW_WEB_AUTH_TOKEN"; done
SELECT ckfdw_test_error($$SELECT * FROM ckfdw_database_changes('changes_private')$$);
SELECT count(*) AS zones FROM ckfdw_zones('changes_private');

\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
DROP SCHEMA changes410 CASCADE;
DROP SERVER changes_private CASCADE;
