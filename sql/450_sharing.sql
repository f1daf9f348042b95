--
-- 450_sharing: sharing between two iCloud users, each a PostgreSQL role
-- with a user mapping of its own.  The owner shares a zone from SQL with
-- the reader, read-only; the reader accepts, finds the zone in its shared
-- database and reads it, and is refused a write (42501, naming the record
-- and the permission); the owner raises the permission and the write
-- succeeds; the owner removes the reader and the next read fails.  Then
-- one record hierarchy is shared: the reader sees only those records.
--
\getenv ckemu_url CKEMU_URL
\getenv api_token CKFDW_API_TOKEN
\getenv owner_token CKFDW_WEB_AUTH_TOKEN
\getenv owner_id CKFDW_WEB_AUTH_USER
\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
-- a second iCloud user signs in (ckemu's sign-in page, for tests)
\set reader_token `curl -s -X POST "$CKEMU_URL/_ckemu/signin?user=reader@example.com" | jq -r .ckWebAuthToken`
\set reader_id `curl -s -X POST "$CKEMU_URL/_ckemu/signin?user=reader@example.com" | jq -r .userRecordName`
CREATE SCHEMA sharing450;
SET search_path = sharing450, public;

CREATE ROLE regress_ckfdw_share_owner;
CREATE ROLE regress_ckfdw_share_reader;
GRANT USAGE ON SCHEMA sharing450 TO regress_ckfdw_share_owner, regress_ckfdw_share_reader;

-- the owner's private database, the reader's shared database
CREATE SERVER share_private FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', database 'private', base_url :'ckemu_url');
CREATE SERVER share_shared FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', database 'shared', base_url :'ckemu_url');
GRANT USAGE ON FOREIGN SERVER share_private TO regress_ckfdw_share_owner;
GRANT USAGE ON FOREIGN SERVER share_shared TO regress_ckfdw_share_reader;
CREATE USER MAPPING FOR regress_ckfdw_share_owner SERVER share_private
	OPTIONS (api_token :'api_token', web_auth_token :'owner_token');
CREATE USER MAPPING FOR regress_ckfdw_share_reader SERVER share_shared
	OPTIONS (api_token :'api_token', web_auth_token :'reader_token');

CREATE FOREIGN TABLE trip (
	id text OPTIONS (system 'recordName'),
	artwork text OPTIONS (field 'artworkName'),
	note text,
	stars bigint
) SERVER share_private OPTIONS (record_type 'Favorite', zone 'Trip');
GRANT SELECT, INSERT, UPDATE, DELETE ON trip TO regress_ckfdw_share_owner;

--
-- The owner: a zone, records, and a share of the zone with the reader
--
SET ROLE regress_ckfdw_share_owner;
SELECT zone_name FROM ckfdw_create_zone('share_private', 'Trip');
INSERT INTO trip (id, artwork, note, stars) VALUES
	('t1', 'Sunflowers', 'first', 3), ('t2', 'Water Lilies', 'second', 4);
SELECT share_name, short_guid IS NOT NULL AS has_guid, share_url IS NOT NULL AS has_url
FROM ckfdw_create_share('share_private', 'Trip');
SELECT short_guid AS trip_guid FROM ckfdw_share_participants('share_private', 'Trip') LIMIT 1 \gset
SELECT ckfdw_share_add_participant('share_private', 'Trip', 'reader@example.com', 'read_only');
SELECT share_name, public_permission, user_record_name = :'owner_id' AS is_me, email_address,
	type, permission, acceptance_status
FROM ckfdw_share_participants('share_private', 'Trip') ORDER BY type;
-- a zone is shared once
SELECT ckfdw_test_error($$SELECT ckfdw_create_share('share_private', 'Trip')$$);
RESET ROLE;

--
-- The reader: nothing before accepting; then the zone, under its owner
--
SET ROLE regress_ckfdw_share_reader;
SELECT count(*) FROM ckfdw_zones('share_shared');
SELECT zone_name, owner_record_name = :'owner_id' AS owner_is_owner, root_record_name, permission
FROM ckfdw_accept_share('share_shared', :'trip_guid');
SELECT zone_name, owner_record_name = :'owner_id' AS owner_is_owner, zone_type
FROM ckfdw_zones('share_shared');
SELECT ckfdw_test_error($$SELECT ckfdw_accept_share('share_shared', 'no-such-share')$$);
RESET ROLE;

CREATE FOREIGN TABLE shared_trip (
	id text OPTIONS (system 'recordName'),
	artwork text OPTIONS (field 'artworkName'),
	note text,
	stars bigint
) SERVER share_shared OPTIONS (record_type 'Favorite', zone 'Trip', zone_owner :'owner_id');
CREATE FOREIGN TABLE shared_trip_changes (
	id text OPTIONS (system 'recordName'),
	note text
) SERVER share_shared OPTIONS (record_type 'Favorite', zone 'Trip', zone_owner :'owner_id',
	scan_source 'changes');
GRANT SELECT, INSERT, UPDATE, DELETE ON shared_trip TO regress_ckfdw_share_reader;
GRANT SELECT ON shared_trip_changes TO regress_ckfdw_share_reader;

SET ROLE regress_ckfdw_share_reader;
SELECT id, artwork, note, stars FROM shared_trip ORDER BY id;
-- read-only: every write is refused, naming the record and the permission
SELECT ckfdw_test_error($$UPDATE shared_trip SET note = 'by the reader' WHERE id = 't1'$$);
SELECT ckfdw_test_error($$INSERT INTO shared_trip (id, artwork) VALUES ('r1', 'Irises')$$);
SELECT ckfdw_test_error($$DELETE FROM shared_trip WHERE id = 't2'$$);
-- only the owner changes the share
SELECT ckfdw_test_error($$SELECT ckfdw_share_add_participant('share_shared', 'Trip', 'x@example.com')$$);
RESET ROLE;

-- the owner raises the permission: the same participant, READ_WRITE
SET ROLE regress_ckfdw_share_owner;
SELECT ckfdw_share_add_participant('share_private', 'Trip', 'reader@example.com', 'READ_WRITE');
SELECT email_address, permission, acceptance_status
FROM ckfdw_share_participants('share_private', 'Trip') WHERE type <> 'OWNER';
RESET ROLE;

SET ROLE regress_ckfdw_share_reader;
UPDATE shared_trip SET note = 'by the reader' WHERE id = 't1';
INSERT INTO shared_trip (id, artwork, stars) VALUES ('r1', 'Irises', 5);
-- the shared database's change feeds: which zones changed, and the records
SELECT (z).zone_name, (z).owner_record_name = :'owner_id' AS owner_is_owner
FROM ckfdw_database_changes('share_shared') d, unnest(d.changed_zones) z;
SELECT id, note FROM shared_trip_changes ORDER BY id;
RESET ROLE;
SET ROLE regress_ckfdw_share_owner;
SELECT id, artwork, note, stars FROM trip ORDER BY id;
-- a share that changed between the read and the write (CONFLICT) is read
-- again and the change applied to it as it is now; four conflicts: 40001
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"records/modify","count":1,"action":"respond","body":{"records":[{"recordName":"cloudkit.zoneshare","serverErrorCode":"CONFLICT","reason":"record to update already exists with a different change tag"}]}}]' >/dev/null
SELECT ckfdw_share_add_participant('share_private', 'Trip', 'other@example.com');
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"records/modify","count":100,"action":"respond","body":{"records":[{"recordName":"cloudkit.zoneshare","serverErrorCode":"CONFLICT","reason":"record to update already exists with a different change tag"}]}}]' >/dev/null
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT ckfdw_test_error($$SELECT ckfdw_share_add_participant('share_private', 'Trip', 'third@example.com')$$);
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values(.requests)'
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
SELECT email_address, permission, acceptance_status
FROM ckfdw_share_participants('share_private', 'Trip') WHERE type <> 'OWNER' ORDER BY 1;
-- the owner removes the reader: access ends at once
SELECT ckfdw_share_remove_participant('share_private', 'Trip', 'reader@example.com');
SELECT count(*) AS participants FROM ckfdw_share_participants('share_private', 'Trip');
SELECT ckfdw_test_error($$SELECT ckfdw_share_remove_participant('share_private', 'Trip', 'reader@example.com')$$);
-- a participant named by user record name instead of email address
SELECT ckfdw_share_add_participant('share_private', 'Trip', :'reader_id');
SELECT user_record_name = :'reader_id' AS is_reader, email_address, permission, acceptance_status
FROM ckfdw_share_participants('share_private', 'Trip') WHERE email_address IS NULL AND type <> 'OWNER';
SELECT ckfdw_share_remove_participant('share_private', 'Trip', :'reader_id');
SELECT count(*) AS participants FROM ckfdw_share_participants('share_private', 'Trip');
RESET ROLE;
SET ROLE regress_ckfdw_share_reader;
SELECT ckfdw_test_error($$SELECT * FROM shared_trip$$);
SELECT count(*) FROM ckfdw_zones('share_shared');
RESET ROLE;

--
-- A record hierarchy: an album, its pages, and a record outside it.  The
-- parent links are set as an app would (records/modify with "parent").
--
SET ROLE regress_ckfdw_share_owner;
SELECT zone_name FROM ckfdw_create_zone('share_private', 'Album');
RESET ROLE;
\! curl -s "$CKEMU_URL/database/1/iCloud.com.example.Gallery/development/private/records/modify?ckAPIToken=$CKFDW_API_TOKEN&ckWebAuthToken=$CKFDW_WEB_AUTH_TOKEN" -d '{"zoneID":{"zoneName":"Album"},"operations":[{"operationType":"create","record":{"recordName":"album","recordType":"Favorite","fields":{"artworkName":{"value":"Album"}}}},{"operationType":"create","record":{"recordName":"page1","recordType":"Favorite","parent":{"recordName":"album"},"fields":{"artworkName":{"value":"Page 1"}}}},{"operationType":"create","record":{"recordName":"page2","recordType":"Favorite","parent":{"recordName":"page1"},"fields":{"artworkName":{"value":"Page 2"}}}},{"operationType":"create","record":{"recordName":"loose","recordType":"Favorite","fields":{"artworkName":{"value":"Loose"}}}}]}' | jq -c '[.records[] | .recordName]'
SET ROLE regress_ckfdw_share_owner;
SELECT short_guid AS album_guid FROM ckfdw_create_share('share_private', 'Album', 'album') \gset
SELECT ckfdw_share_add_participant('share_private', 'Album', 'reader@example.com', 'READ_ONLY',
	record_name => 'album');
SELECT share_name <> 'cloudkit.zoneshare' AS record_share, email_address, permission
FROM ckfdw_share_participants('share_private', 'Album', 'album') WHERE type <> 'OWNER';
-- a record without a share, a record that does not exist
SELECT ckfdw_test_error($$SELECT * FROM ckfdw_share_participants('share_private', 'Album', 'loose')$$);
SELECT ckfdw_test_error($$SELECT * FROM ckfdw_create_share('share_private', 'Album', 'nope')$$);
-- the whole zone is not shared
SELECT ckfdw_test_error($$SELECT * FROM ckfdw_share_participants('share_private', 'Album')$$);
RESET ROLE;

SET ROLE regress_ckfdw_share_reader;
SELECT zone_name, root_record_name, permission FROM ckfdw_accept_share('share_shared', :'album_guid');
RESET ROLE;
CREATE FOREIGN TABLE shared_album (
	id text OPTIONS (system 'recordName'),
	artwork text OPTIONS (field 'artworkName')
) SERVER share_shared OPTIONS (record_type 'Favorite', zone 'Album', zone_owner :'owner_id');
GRANT SELECT, UPDATE ON shared_album TO regress_ckfdw_share_reader;
SET ROLE regress_ckfdw_share_reader;
SELECT id, artwork FROM shared_album ORDER BY id;
SELECT id FROM shared_album WHERE id = 'loose';
SELECT ckfdw_test_error($$UPDATE shared_album SET artwork = 'x' WHERE id = 'page2'$$);
RESET ROLE;

--
-- Public permission, stopping to share, argument checks
--
SET ROLE regress_ckfdw_share_owner;
SELECT ckfdw_share_set_public_permission('share_private', 'Album', 'read_only', record_name => 'album');
SELECT DISTINCT public_permission FROM ckfdw_share_participants('share_private', 'Album', 'album');
SELECT ckfdw_test_error($$SELECT ckfdw_share_set_public_permission('share_private', 'Album', 'ALL', 'album')$$);
SELECT ckfdw_test_error($$SELECT ckfdw_share_add_participant('share_private', 'Album', 'x@example.com', 'NONE', 'album')$$);
SELECT ckfdw_test_error($$SELECT ckfdw_share_add_participant('share_private', NULL, 'x@example.com')$$);
SELECT ckfdw_delete_share('share_private', 'Album', 'album');
SELECT ckfdw_test_error($$SELECT ckfdw_delete_share('share_private', 'Trip', 'nope')$$);
RESET ROLE;
SET ROLE regress_ckfdw_share_reader;
SELECT ckfdw_test_error($$SELECT * FROM shared_album$$);
-- sharing is the owner's, in the private database
SELECT ckfdw_test_error($$SELECT * FROM ckfdw_create_share('share_shared', 'Album')$$);
RESET ROLE;

DROP SCHEMA sharing450 CASCADE;
DROP SERVER share_private CASCADE;
DROP SERVER share_shared CASCADE;
DROP ROLE regress_ckfdw_share_owner;
DROP ROLE regress_ckfdw_share_reader;
