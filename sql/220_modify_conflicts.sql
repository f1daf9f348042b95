--
-- 220_modify_conflicts: UPDATE and DELETE send the change tag the scan
-- read, so a record someone else changed or deleted meanwhile fails the
-- statement with 40001 and keeps the other writer's version; the table
-- option force overwrites.  Atomic and non-atomic batches in a custom zone
-- of the private database.
--
\getenv ckemu_url CKEMU_URL
\getenv key_id CKFDW_KEY_ID
\getenv key_file CKFDW_KEY_FILE
\getenv api_token CKFDW_API_TOKEN
\getenv web_auth_token CKFDW_WEB_AUTH_TOKEN
SET timezone = 'UTC';
\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
-- a schema of our own: other suites leave tables named like ours behind
CREATE SCHEMA modify220;
SET search_path = modify220, public;


CREATE FOREIGN TABLE visit (
	id text OPTIONS (system 'recordName'),
	tag text OPTIONS (system 'recordChangeTag'),
	visitor text,
	party_size bigint OPTIONS (field 'partySize'),
	spent double precision
) SERVER gallery OPTIONS (record_type 'Visit');

-- "someone else": a second server on the same container, so a second
-- CloudKit client, used from a volatile function the UPDATE calls after its
-- scan read the record
CREATE SERVER modify_other FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'ckemu_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER modify_other
	OPTIONS (key_id :'key_id', private_key_file :'key_file');
CREATE FOREIGN TABLE visit_other (
	id text OPTIONS (system 'recordName'),
	visitor text,
	party_size bigint OPTIONS (field 'partySize')
) SERVER modify_other OPTIONS (record_type 'Visit');

CREATE FUNCTION meanwhile_update(rec text, size bigint) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
	UPDATE visit_other SET party_size = size, visitor = 'someone else' WHERE id = rec;
	SELECT 1::bigint;
$$;
CREATE FUNCTION meanwhile_delete(rec text) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
	DELETE FROM visit_other WHERE id = rec;
	SELECT 1::bigint;
$$;

--
-- An UPDATE that loses the race: 40001 naming the record
--
CREATE TEMP TABLE v1 AS SELECT * FROM visit WHERE id = 'visit-0001';
UPDATE visit SET party_size = party_size + meanwhile_update(id, 77) WHERE id = 'visit-0001';
SELECT ckfdw_test_error($$UPDATE visit SET party_size = party_size + meanwhile_update(id, 78) WHERE id = 'visit-0001'$$);
-- CloudKit keeps the other writer's version
SELECT v.party_size, v.visitor, v.tag <> v1.tag AS changed_by_other
FROM visit v, v1 WHERE v.id = 'visit-0001';
-- several lost races: every record is named
SELECT ckfdw_test_error($$UPDATE visit SET spent = 1 + meanwhile_update(id, 79)
	WHERE id IN ('visit-0002', 'visit-0003')$$);
SELECT id, spent, party_size, visitor FROM visit WHERE id IN ('visit-0002', 'visit-0003')
ORDER BY id;

-- a DELETE that loses the race
SELECT ckfdw_test_error($$DELETE FROM visit WHERE id = 'visit-0004' AND meanwhile_update(id, 80) = 1$$);
SELECT id, party_size, visitor FROM visit WHERE id = 'visit-0004';
-- a record deleted meanwhile
SELECT ckfdw_test_error($$UPDATE visit SET spent = meanwhile_delete(id) WHERE id = 'visit-0005'$$);
SELECT count(*) FROM visit WHERE id = 'visit-0005';

--
-- force: forceUpdate and forceDelete overwrite whatever is there
--
ALTER FOREIGN TABLE visit OPTIONS (ADD force 'true');
SELECT ckfdw_test_modify_plan('COSTS OFF', 'UPDATE visit SET spent = 0');
UPDATE visit SET party_size = 5 + meanwhile_update(id, 81) WHERE id = 'visit-0001';
SELECT party_size, visitor FROM visit WHERE id = 'visit-0001';
DELETE FROM visit WHERE id = 'visit-0004' AND meanwhile_update(id, 82) = 1;
SELECT count(*) FROM visit WHERE id = 'visit-0004';
-- a record already gone is no error for forceDelete
DELETE FROM visit WHERE id = 'visit-0006' AND meanwhile_delete(id) = 1;
SELECT count(*) FROM visit WHERE id = 'visit-0006';
ALTER FOREIGN TABLE visit OPTIONS (DROP force);

-- a lost race in a batch of 200: the record is named, the others written
-- (one request at a time: the batches after it are not sent)
SET ckfdw.max_writes_in_flight = 1;
SELECT ckfdw_test_error($$UPDATE visit SET spent = 2 +
	CASE WHEN id = 'visit-0150' THEN meanwhile_update(id, 83) ELSE 0 END$$);
SELECT count(*) FILTER (WHERE spent = 2) AS written, count(*) FILTER (WHERE id = 'visit-0150' AND party_size = 83) AS kept
FROM visit;
-- with requests in flight: the error waits for the others and counts
-- what they wrote (how many were in flight depends on the network)
SET ckfdw.max_writes_in_flight = 4;
SELECT ckfdw_test_error($$UPDATE visit SET spent = 3 +
	CASE WHEN id = 'visit-0350' THEN meanwhile_update(id, 84) ELSE 0 END$$) AS err \gset
SELECT split_part(:'err', E'\n', 1) AS error;
SELECT (regexp_match(:'err', 'wrote (\d+) records'))[1]::bigint = count(*) FILTER (WHERE spent = 3) AS counted,
	count(*) FILTER (WHERE id = 'visit-0350' AND party_size = 84) AS kept,
	:'err' LIKE '%is unknown%' AS unknown
FROM visit;
RESET ckfdw.max_writes_in_flight;

--
-- The private database: an API token and a signed-in user, who owns the
-- custom zone Wishlist (25 Favorite records)
--
CREATE SERVER modify_private FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', database 'private', base_url :'ckemu_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER modify_private
	OPTIONS (api_token :'api_token', web_auth_token :'web_auth_token');
CREATE FOREIGN TABLE favorite (
	id text OPTIONS (system 'recordName'),
	artwork_name text OPTIONS (field 'artworkName'),
	note text,
	added timestamptz,
	stars bigint
) SERVER modify_private OPTIONS (record_type 'Favorite', zone 'Wishlist', atomic 'true');
SELECT count(*), min(id), max(id) FROM favorite;
EXPLAIN (VERBOSE, COSTS OFF) INSERT INTO favorite (id) VALUES ('x');

-- atomic: one failing record, and nothing of the request is saved
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT ckfdw_test_error($$INSERT INTO favorite (id, artwork_name, stars) VALUES
	('favorite-new-1', 'a', 1), ('favorite-002', 'b', 2), ('favorite-new-3', 'c', 3)$$);
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/modify"] | {requests, records_in, records_out}'
SELECT count(*) FROM favorite;
SELECT stars FROM favorite WHERE id = 'favorite-002';
-- an atomic UPDATE that loses a race on one record writes none
CREATE SERVER modify_private_other FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', database 'private', base_url :'ckemu_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER modify_private_other
	OPTIONS (api_token :'api_token', web_auth_token :'web_auth_token');
CREATE FOREIGN TABLE favorite_other (
	id text OPTIONS (system 'recordName'),
	note text
) SERVER modify_private_other OPTIONS (record_type 'Favorite', zone 'Wishlist');
CREATE FUNCTION meanwhile_note(rec text) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
	UPDATE favorite_other SET note = 'changed meanwhile' WHERE id = rec;
	SELECT 0::bigint;
$$;
SELECT ckfdw_test_error($$UPDATE favorite SET stars = 100 +
	CASE WHEN id = 'favorite-010' THEN meanwhile_note(id) ELSE 0 END$$);
SELECT count(*) FILTER (WHERE stars >= 100) AS updated,
	count(*) FILTER (WHERE note = 'changed meanwhile') AS changed_meanwhile
FROM favorite;
-- ON CONFLICT DO NOTHING in an atomic batch: sent again without the
-- existing record
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
INSERT INTO favorite (id, artwork_name, stars) VALUES
	('favorite-new-1', 'a', 1), ('favorite-002', 'b', 2), ('favorite-new-3', 'c', 3)
ON CONFLICT DO NOTHING;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/modify"] | {requests, records_in, records_out}'
SELECT id, artwork_name, stars FROM favorite WHERE id IN ('favorite-new-1', 'favorite-002', 'favorite-new-3')
ORDER BY id;

-- non-atomic: the good records are written, the failing one named
ALTER FOREIGN TABLE favorite OPTIONS (SET atomic 'false');
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT ckfdw_test_error($$INSERT INTO favorite (id, artwork_name, stars) VALUES
	('favorite-new-4', 'd', 4), ('favorite-003', 'e', 5), ('favorite-new-6', 'f', 6)$$);
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/modify"] | {requests, records_in, records_out}'
SELECT id, stars FROM favorite WHERE id IN ('favorite-new-4', 'favorite-003', 'favorite-new-6')
ORDER BY id;
SELECT ckfdw_test_error($$UPDATE favorite SET stars = 200 +
	CASE WHEN id = 'favorite-011' THEN meanwhile_note(id) ELSE 0 END$$);
SELECT count(*) FILTER (WHERE stars = 200) AS updated, count(*) AS records FROM favorite;

-- atomic has no effect in the default zone: an error, not a silent no-op
CREATE FOREIGN TABLE visit_atomic (id text OPTIONS (system 'recordName'), visitor text)
	SERVER gallery OPTIONS (record_type 'Visit', atomic 'true');
INSERT INTO visit_atomic VALUES ('visit-atomic', 'x');
-- and a zone that does not exist is CloudKit's error
CREATE FOREIGN TABLE favorite_nozone (id text OPTIONS (system 'recordName'), note text)
	SERVER modify_private OPTIONS (record_type 'Favorite', zone 'NoSuchZone');
SELECT ckfdw_test_error($$INSERT INTO favorite_nozone VALUES ('x', 'y')$$);

\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
DROP FOREIGN TABLE visit, visit_other, favorite, favorite_other, visit_atomic, favorite_nozone;
DROP FUNCTION meanwhile_update(text, bigint), meanwhile_delete(text), meanwhile_note(text);
DROP USER MAPPING FOR CURRENT_USER SERVER modify_other;
DROP USER MAPPING FOR CURRENT_USER SERVER modify_private;
DROP USER MAPPING FOR CURRENT_USER SERVER modify_private_other;
DROP SERVER modify_other, modify_private, modify_private_other;
RESET search_path;
DROP SCHEMA modify220;
