--
-- 045_bad_answers: answers a scan must not take at face value.  A server
-- that hands out a continuationMarker again would have the scan return the
-- same records until statement_timeout; strings PostgreSQL text cannot hold
-- (a NUL, a lone UTF-16 surrogate) would be cut or changed; "NaN" is no
-- CloudKit DOUBLE.  Each is an error.  ckemu's fault rules make the
-- answers: repeat_marker, and respond with raw text (an answer ckemu would
-- never store).
--
\getenv ckemu_url CKEMU_URL
\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
CREATE SCHEMA bad045;
SET search_path = bad045, public;

CREATE FOREIGN TABLE artist (
	id text OPTIONS (system 'recordName'),
	name text,
	rating double precision,
	mentor text OPTIONS (type 'REFERENCE')
) SERVER gallery OPTIONS (record_type 'Artist', page_size '50');
SELECT count(*) FROM artist;

--
-- A repeated continuationMarker: from the second page on, every answer
-- carries the marker it was asked with.
--
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "repeat_marker", "after": 1, "count": 0}]'
SELECT count(*) FROM artist;
SELECT ckfdw_test_error('SELECT id FROM artist');
ANALYZE artist;
\! curl -s -o /dev/null -X DELETE "$CKEMU_URL/_ckemu/faults"
SELECT count(*) FROM artist;

-- a rescan starts a new scan: the markers of the last one may come again
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SELECT count(*) FROM (VALUES (1), (2), (3)) AS v(x) JOIN artist ON x > 0;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;

--
-- A NUL in a record name: "r\u00001" would read as "r", and an UPDATE
-- would then hit another record.  22P05, as for a NUL in a field.
--
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "respond", "count": 0, "body": "{\"records\":[{\"recordName\":\"r\\u00001\",\"recordType\":\"Artist\",\"fields\":{}}]}"}]'
SELECT id FROM artist;
SELECT ckfdw_test_error('SELECT id FROM artist');
SELECT count(*) FROM artist;
UPDATE artist SET name = 'x';
-- ... in a reference's record name
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "respond", "count": 0, "body": "{\"records\":[{\"recordName\":\"r1\",\"recordType\":\"Artist\",\"fields\":{\"mentor\":{\"value\":{\"recordName\":\"m\\u0000x\"},\"type\":\"REFERENCE\"}}}]}"}]'
SELECT id, mentor FROM artist;
-- ... and in a field, as before
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "respond", "count": 0, "body": "{\"records\":[{\"recordName\":\"r1\",\"recordType\":\"Artist\",\"fields\":{\"name\":{\"value\":\"a\\u0000b\",\"type\":\"STRING\"}}}]}"}]'
SELECT id, name FROM artist;

--
-- A lone surrogate, which a JSON parser would turn into U+FFFD: 22P05.
-- A proper pair is a character like any other.
--
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "respond", "count": 0, "body": "{\"records\":[{\"recordName\":\"r1\",\"recordType\":\"Artist\",\"fields\":{\"name\":{\"value\":\"a\\ud800b\",\"type\":\"STRING\"}}}]}"}]'
SELECT id, name FROM artist;
SELECT ckfdw_test_error('SELECT id FROM artist');
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "respond", "count": 0, "body": "{\"records\":[{\"recordName\":\"r1\",\"recordType\":\"Artist\",\"fields\":{\"name\":{\"value\":\"a\\ud83d\\ude00b\",\"type\":\"STRING\"}}}]}"}]'
SELECT id, name = 'a' || chr(128512) || 'b' AS pair_read FROM artist;

--
-- "NaN" and "Infinity" as strings are no CloudKit DOUBLE (a DOUBLE is a
-- JSON number, which is never either).
--
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "respond", "count": 0, "body": "{\"records\":[{\"recordName\":\"r1\",\"recordType\":\"Artist\",\"fields\":{\"rating\":{\"value\":\"NaN\",\"type\":\"DOUBLE\"}}}]}"}]'
SELECT id, rating FROM artist;
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "respond", "count": 0, "body": "{\"records\":[{\"recordName\":\"r1\",\"recordType\":\"Artist\",\"fields\":{\"rating\":{\"value\":\"-Infinity\",\"type\":\"DOUBLE\"}}}]}"}]'
SELECT id, rating FROM artist;
-- a number as a string (numbersAsStrings) still reads
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "respond", "count": 0, "body": "{\"records\":[{\"recordName\":\"r1\",\"recordType\":\"Artist\",\"fields\":{\"rating\":{\"value\":\"4.5\",\"type\":\"DOUBLE\"}}}]}"}]'
SELECT id, rating FROM artist;

--
-- An async Append scans through cursors (scan_cursors.c), and ANALYZE
-- pages on its own: both read the same answers in place, with the same
-- errors as a plain scan.
--
ALTER FOREIGN TABLE artist OPTIONS (ADD async_capable 'true');
CREATE TEMP VIEW both_halves AS SELECT id FROM artist UNION ALL SELECT id FROM artist;
EXPLAIN (COSTS OFF) SELECT * FROM both_halves;
SELECT count(*) FROM both_halves;
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "repeat_marker", "after": 1, "count": 0}]'
SELECT ckfdw_test_error('SELECT count(*) FROM both_halves');
-- a NUL in a record name
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "respond", "count": 0, "body": "{\"records\":[{\"recordName\":\"r\\u00001\",\"recordType\":\"Artist\",\"fields\":{}}]}"}]'
SELECT ckfdw_test_error('SELECT count(*) FROM both_halves');
SELECT ckfdw_test_error('ANALYZE artist');
-- a lone surrogate
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "respond", "count": 0, "body": "{\"records\":[{\"recordName\":\"r1\",\"recordType\":\"Artist\",\"fields\":{\"name\":{\"value\":\"a\\ud800b\",\"type\":\"STRING\"}}}]}"}]'
SELECT ckfdw_test_error('SELECT count(*) FROM both_halves');
SELECT ckfdw_test_error('ANALYZE artist');
-- a truncated answer
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "respond", "count": 0, "body": "{\"records\":[{\"recordName\":\"r1\""}]'
SELECT ckfdw_test_error('SELECT count(*) FROM both_halves');
SELECT ckfdw_test_error('ANALYZE artist');
-- records that are no list
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "respond", "count": 0, "body": "{\"records\":{},\"continuationMarker\":\"m\"}"}]'
SELECT ckfdw_test_error('SELECT count(*) FROM both_halves');
SELECT ckfdw_test_error('ANALYZE artist');
-- a record member of the wrong type
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "respond", "count": 0, "body": "{\"records\":[{\"recordName\":\"r1\",\"recordType\":7}]}"}]'
SELECT ckfdw_test_error('SELECT count(*) FROM both_halves');
SELECT ckfdw_test_error('ANALYZE artist');
-- an empty page that points back at itself
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "respond", "after": 1, "count": 0, "body": "{\"records\":[],\"continuationMarker\":\"loop\"}"}]'
SELECT ckfdw_test_error('SELECT count(*) FROM both_halves');
SELECT ckfdw_test_error('ANALYZE artist');
-- an escaped key and a bare field value go to json-c, and still read
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "respond", "count": 0, "body": "{\"rec\\u006frds\":[{\"recordName\":\"r\\u0031\",\"recordType\":\"Artist\",\"fields\":{\"name\":\"bare\"}}]}"}]'
SELECT * FROM both_halves;
ANALYZE artist;
\! curl -s -o /dev/null -X DELETE "$CKEMU_URL/_ckemu/faults"
ALTER FOREIGN TABLE artist OPTIONS (DROP async_capable);

\! curl -s -o /dev/null -X DELETE "$CKEMU_URL/_ckemu/faults"
DROP SCHEMA bad045 CASCADE;
