--
-- 250_assets: asset content as bytea, both ways.  A bytea column (bytea[]
-- for a list) of type ASSETID reads the bytes behind each asset's
-- downloadURL and writes them through assets/upload; ckemu's statistics
-- count the transfers ("assets/download", "assets/upload-file").
--
\getenv ckemu_url CKEMU_URL
\getenv key_id CKFDW_KEY_ID
\getenv key_file CKFDW_KEY_FILE
SET timezone = 'UTC';
CREATE SCHEMA assets;
SET search_path = assets, public;

CREATE FOREIGN TABLE files (
	id text OPTIONS (system 'recordName'),
	s text,
	a bytea OPTIONS (type 'ASSETID'),
	al bytea[] OPTIONS (type 'ASSETID_LIST')
) SERVER gallery OPTIONS (record_type 'AllTypes');

-- the same records, the asset as its dictionary and as its URL
CREATE FOREIGN TABLE files_dict (
	id text OPTIONS (system 'recordName'),
	a jsonb OPTIONS (type 'ASSETID'),
	a_url text OPTIONS (field 'a', type 'ASSETID')
) SERVER gallery OPTIONS (record_type 'AllTypes');

-- binary content from 0 bytes to 3 MB; every byte value occurs
CREATE TABLE content (id text PRIMARY KEY, bytes bytea NOT NULL);
INSERT INTO content
SELECT 'asset-' || n, (SELECT coalesce(decode(string_agg(lpad(to_hex((i * 131 + n) % 256), 2, '0'), ''), 'hex'), '')
					   FROM generate_series(1, size) i)
FROM (VALUES (1, 0), (2, 1), (3, 1000), (4, 100000), (5, 3000000)) v(n, size);
SELECT id, length(bytes) FROM content ORDER BY id;

--
-- Writing: one assets/upload request for the batch's upload URLs, one
-- upload per file (list elements too), then one records/modify
--
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
INSERT INTO files (id, s, a, al)
SELECT id, 'asset test', bytes,
	   CASE WHEN id = 'asset-3' THEN ARRAY['\x00ff'::bytea, '', bytes] END
FROM content;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, bytes_in})'

--
-- Reading: the same bytes
--
SELECT f.id, length(f.a) AS length, f.a = c.bytes AS same,
	   array_length(f.al, 1) AS list
FROM files f JOIN content c USING (id)
WHERE f.id LIKE 'asset-%' ORDER BY f.id;
SELECT al[1] = '\x00ff' AND al[2] = '' AND al[3] = (SELECT bytes FROM content WHERE id = 'asset-3') AS list_same
FROM files WHERE id = 'asset-3';

-- several batches in one statement (batch_size 2: three batches, each
-- with its own upload step)
CREATE FOREIGN TABLE files_b2 (
	id text OPTIONS (system 'recordName'),
	a bytea OPTIONS (type 'ASSETID')
) SERVER gallery OPTIONS (record_type 'AllTypes', batch_size '2');
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
INSERT INTO files_b2 SELECT 'batch-' || g, int4send(g) FROM generate_series(1, 5) g;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values(.requests)'
SELECT id, a FROM files_b2 WHERE id LIKE 'batch-%' ORDER BY id;
DELETE FROM files_b2 WHERE id LIKE 'batch-%';

-- UPDATE uploads the new content; RETURNING reads it back
UPDATE files SET a = '\x0102', al = ARRAY['\x03'::bytea] WHERE id = 'asset-2'
	RETURNING id, a, al;
UPDATE files SET a = (SELECT bytes FROM content WHERE id = 'asset-2'), al = NULL
	WHERE id = 'asset-2';

-- the dictionary and URL forms of the same field
SELECT id, a->>'size' AS size, a ? 'fileChecksum' AS checksum, a_url LIKE 'http%' AS url
FROM files_dict WHERE id LIKE 'asset-%' ORDER BY id;

-- EXPLAIN says which columns download content
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, a FROM files WHERE s = 'asset test';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, s FROM files WHERE s = 'asset test';
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id, length(a) FROM files WHERE s = 'asset test';

--
-- Only what the query returns is downloaded: nothing for a query without
-- the asset column, one download per row returned
--
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*) FROM (SELECT id, s FROM files WHERE s = 'asset test') x;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values(.requests)'
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*), count(a) FROM (SELECT a FROM files WHERE s = 'asset test' LIMIT 2) x;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values(.requests)'

-- ANALYZE samples without downloading content
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
ANALYZE files;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values(.requests)'

--
-- A download URL that expired: a fresh one from a lookup of the record
--
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"assets/download","count":1,"action":"error","serverErrorCode":"ACCESS_DENIED","status":403,"reason":"URL expired"}]' >/dev/null
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT id, a = (SELECT bytes FROM content WHERE id = 'asset-4') AS same FROM files WHERE id = 'asset-4';
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values(.requests)'
-- refused again after the lookup: an error, not a NULL
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"assets/download","count":0,"action":"error","serverErrorCode":"ACCESS_DENIED","status":403,"reason":"URL expired"}]' >/dev/null
SELECT ckfdw_test_error($$SELECT length(a) FROM assets.files WHERE id = 'asset-4'$$);
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null

--
-- An upload URL that expired gets a fresh one; an upload that fails
-- stops the statement before its records are sent
--
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"assets/upload-file","count":1,"action":"error","serverErrorCode":"ACCESS_DENIED","status":403,"reason":"URL expired"}]' >/dev/null
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
INSERT INTO files (id, a) VALUES ('asset-6', '\xdeadbeef');
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values(.requests)'
SELECT id, a FROM files WHERE id = 'asset-6';
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"assets/upload-file","count":0,"action":"error","serverErrorCode":"BAD_REQUEST","status":400,"reason":"Upload refused"}]' >/dev/null
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT ckfdw_test_error($$INSERT INTO assets.files (id, a) VALUES ('asset-7', '\x01'), ('asset-8', '\x02')$$);
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values(.requests)'
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
SELECT count(*) FROM files_dict WHERE id IN ('asset-7', 'asset-8');

--
-- Limits: an asset over max_asset_size is refused before anything of its
-- batch is sent, and is not downloaded either
--
ALTER SERVER gallery OPTIONS (ADD max_asset_size '1MB');
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT ckfdw_test_error($$INSERT INTO assets.files (id, a)
	SELECT 'big-' || id, bytes FROM assets.content ORDER BY id$$);
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values(.requests)'
SELECT count(*) FROM files_dict WHERE id LIKE 'big-%';
SELECT ckfdw_test_error($$SELECT length(a) FROM assets.files WHERE id = 'asset-5'$$);
ALTER SERVER gallery OPTIONS (DROP max_asset_size);
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', max_asset_size 'lots');

-- a bytea column of type ASSETID_LIST must be an array
CREATE FOREIGN TABLE bad_list (al bytea OPTIONS (type 'ASSETID_LIST'))
	SERVER gallery OPTIONS (record_type 'AllTypes');
SELECT ckfdw_test_error($$SELECT * FROM assets.bad_list$$);

--
-- Cancellable: statement_timeout stops a download that hangs
--
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"assets/download","count":0,"action":"delay","delayMs":5000}]' >/dev/null
SET statement_timeout = '500ms';
SELECT length(a) FROM files WHERE id = 'asset-4';
RESET statement_timeout;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null

--
-- A backup into another container (the same ckemu, its second container)
-- copies the files: INSERT ... SELECT downloads each asset and uploads it
-- again
--
CREATE SERVER asset_copy FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.GalleryCopy', base_url :'ckemu_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER asset_copy
	OPTIONS (key_id :'key_id', private_key_file :'key_file');
CREATE FOREIGN TABLE files_copy (
	id text OPTIONS (system 'recordName'),
	s text,
	a bytea OPTIONS (type 'ASSETID'),
	al bytea[] OPTIONS (type 'ASSETID_LIST')
) SERVER asset_copy OPTIONS (record_type 'AllTypes');
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
INSERT INTO files_copy SELECT * FROM files WHERE id LIKE 'asset-%';
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, bytes_in})'
-- every byte compared, with the copy and with the original content
SELECT c.id, c.a = o.a AND c.al IS NOT DISTINCT FROM o.al AS same,
	   c.a = (SELECT bytes FROM content WHERE id = c.id) IS NOT FALSE AS original
FROM files_copy c JOIN files o USING (id) ORDER BY c.id;
SELECT count(*) FROM files_copy;

-- clean up
DELETE FROM files_copy;
DELETE FROM files WHERE id LIKE 'asset-%';
DROP SCHEMA assets CASCADE;
DROP SERVER asset_copy CASCADE;
