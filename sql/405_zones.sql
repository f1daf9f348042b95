--
-- 405_zones: zones as data.  ckfdw_zones lists a database's zones,
-- ckfdw_create_zone and ckfdw_delete_zone create and delete custom zones
-- (zones/list, zones/lookup, zones/modify); the same checks as a scan
-- (a ckfdw server, USAGE, a user mapping) and CloudKit's refusals as
-- errors.  Sync tokens differ from run to run: only their presence shows.
--
\getenv ckemu_url CKEMU_URL
\getenv api_token CKFDW_API_TOKEN
\getenv web_auth_token CKFDW_WEB_AUTH_TOKEN
\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
CREATE SCHEMA zones400;
SET search_path = zones400, public;

CREATE SERVER zones_private FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', database 'private', base_url :'ckemu_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER zones_private
	OPTIONS (api_token :'api_token', web_auth_token :'web_auth_token');

-- the public database has only its default zone (one zones/list request)
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT zone_name, owner_record_name IS NOT NULL AS has_owner, zone_type, atomic,
	sync_token IS NOT NULL AS has_token
FROM ckfdw_zones('gallery');
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values(.requests)'

-- the private database of the signed-in user: the default zone and Wishlist
SELECT zone_name, owner_record_name, zone_type, atomic, sync_token IS NOT NULL AS has_token
FROM ckfdw_zones('zones_private') ORDER BY zone_name;

--
-- Create: looked up first (zones/lookup), then created (zones/modify)
--
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT zone_name, owner_record_name, zone_type, atomic, sync_token IS NOT NULL AS has_token
FROM ckfdw_create_zone('zones_private', 'Scratch');
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values(.requests)'
SELECT zone_name FROM ckfdw_zones('zones_private') ORDER BY zone_name;
-- a zone that exists: an error, or with if_not_exists a notice and the zone
SELECT ckfdw_test_error($$SELECT ckfdw_create_zone('zones_private', 'Scratch')$$);
SELECT zone_name, zone_type FROM ckfdw_create_zone('zones_private', 'Scratch', if_not_exists => true);
-- created meanwhile by someone else: CloudKit answers EXISTS for the zone
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"zones/modify","action":"respond","body":{"zones":[{"zoneID":{"zoneName":"Raced"},"serverErrorCode":"EXISTS","reason":"Zone already exists"}]}}]' >/dev/null
SELECT ckfdw_test_error($$SELECT ckfdw_create_zone('zones_private', 'Raced')$$);
-- with if_not_exists the zone is looked up again (here it is gone again)
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"zones/modify","action":"respond","body":{"zones":[{"zoneID":{"zoneName":"Raced"},"serverErrorCode":"EXISTS","reason":"Zone already exists"}]}}]' >/dev/null
SELECT ckfdw_test_error($$SELECT ckfdw_create_zone('zones_private', 'Raced', true)$$);
-- zones/list: a zone CloudKit cannot show is an error, not a shorter list;
-- an answer without zone names is not CloudKit's
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"zones/list","action":"respond","body":{"zones":[{"zoneID":{"zoneName":"_defaultZone"}},{"zoneID":{"zoneName":"Hidden"},"serverErrorCode":"ACCESS_DENIED","reason":"no access"}]}}]' >/dev/null
SELECT ckfdw_test_error($$SELECT * FROM ckfdw_zones('zones_private')$$);
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"zones/list","action":"respond","body":{"zones":[{"zoneID":{}}]}}]' >/dev/null
SELECT ckfdw_test_error($$SELECT * FROM ckfdw_zones('zones_private')$$);
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"zones/list","action":"respond","body":{"records":[]}}]' >/dev/null
SELECT ckfdw_test_error($$SELECT * FROM ckfdw_zones('zones_private')$$);
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
-- what CloudKit leaves out of a zone is NULL
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"zones/list","action":"respond","body":{"zones":[{"zoneID":{"zoneName":"Bare"}}]}}]' >/dev/null
SELECT * FROM ckfdw_zones('zones_private');
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null

-- names CloudKit refuses, inside its HTTP 200 answer
SELECT ckfdw_test_error($$SELECT ckfdw_create_zone('zones_private', '_mine')$$);
SELECT ckfdw_test_error($$SELECT ckfdw_create_zone('zones_private', '')$$);
-- a non-ASCII name is sent in UTF-8; CloudKit allows only ASCII
SELECT ckfdw_test_error($$SELECT ckfdw_create_zone('zones_private', 'Zoë')$$);
-- custom zones exist only in the private database
SELECT ckfdw_test_error($$SELECT ckfdw_create_zone('gallery', 'Scratch')$$);

--
-- Records live in the zone; deleting the zone deletes them
--
CREATE FOREIGN TABLE scratch_note (
	id text OPTIONS (system 'recordName'),
	body text
) SERVER zones_private OPTIONS (record_type 'Note', zone 'Scratch');
INSERT INTO scratch_note VALUES ('note-1', 'one'), ('note-2', 'two');
SELECT id, body FROM scratch_note ORDER BY id;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT ckfdw_delete_zone('zones_private', 'Scratch');
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, records_in})'
SELECT zone_name FROM ckfdw_zones('zones_private') ORDER BY zone_name;
SELECT ckfdw_test_error('SELECT * FROM scratch_note');
-- created again: a new, empty zone
SELECT zone_name FROM ckfdw_create_zone('zones_private', 'Scratch');
SELECT count(*) FROM scratch_note;
SELECT ckfdw_delete_zone('zones_private', 'Scratch');
-- a zone that does not exist, and the default zone
SELECT ckfdw_test_error($$SELECT ckfdw_delete_zone('zones_private', 'Scratch')$$);
SELECT ckfdw_test_error($$SELECT ckfdw_delete_zone('zones_private', '_defaultZone')$$);
SELECT ckfdw_test_error($$SELECT ckfdw_delete_zone('gallery', '_defaultZone')$$);
-- Wishlist is untouched
SELECT zone_name FROM ckfdw_zones('zones_private') ORDER BY zone_name;

--
-- Who may call them: a ckfdw server, USAGE on it, a user mapping
--
SELECT ckfdw_test_error($$SELECT * FROM ckfdw_zones('no_such_server')$$);
CREATE FOREIGN DATA WRAPPER zones_other_fdw;
CREATE SERVER zones_other FOREIGN DATA WRAPPER zones_other_fdw;
SELECT ckfdw_test_error($$SELECT * FROM ckfdw_zones('zones_other')$$);
DROP FOREIGN DATA WRAPPER zones_other_fdw CASCADE;
CREATE ROLE regress_ckfdw_zones;
GRANT USAGE ON SCHEMA zones400 TO regress_ckfdw_zones;
SET ROLE regress_ckfdw_zones;
SELECT ckfdw_test_error($$SELECT * FROM ckfdw_zones('zones_private')$$);
SELECT ckfdw_test_error($$SELECT ckfdw_delete_zone('zones_private', 'Wishlist')$$);
RESET ROLE;
GRANT USAGE ON FOREIGN SERVER zones_private TO regress_ckfdw_zones;
SET ROLE regress_ckfdw_zones;
SELECT ckfdw_test_error($$SELECT ckfdw_delete_zone('zones_private', 'Wishlist')$$);
RESET ROLE;
-- with a user mapping of its own, but a web-auth token CloudKit refuses
CREATE USER MAPPING FOR regress_ckfdw_zones SERVER zones_private
	OPTIONS (api_token :'api_token', web_auth_token 'not-a-signed-in-user');
SET ROLE regress_ckfdw_zones;
SELECT ckfdw_test_error($$SELECT ckfdw_delete_zone('zones_private', 'Wishlist')$$);
RESET ROLE;
DROP USER MAPPING FOR regress_ckfdw_zones SERVER zones_private;
REVOKE ALL ON FOREIGN SERVER zones_private FROM regress_ckfdw_zones;
REVOKE ALL ON SCHEMA zones400 FROM regress_ckfdw_zones;
DROP ROLE regress_ckfdw_zones;
SELECT count(*) AS wishlist_zones FROM ckfdw_zones('zones_private') z
WHERE z.zone_name = 'Wishlist';

-- NULL arguments: STRICT functions return NULL without a request
SELECT ckfdw_delete_zone(NULL, 'Wishlist') IS NULL AS is_null;

\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
DROP SCHEMA zones400 CASCADE;
DROP SERVER zones_private CASCADE;
