--
-- 230_backup: a backup round trip of 5,000 records with every field type.
-- The records are made with INSERT ... SELECT, copied into a local table,
-- deleted, restored from the copy into the emptied record type, and
-- compared row for row; a rerun of the restore with insert_mode 'replace'
-- is harmless.
--
\getenv ckemu_url CKEMU_URL
SET timezone = 'UTC';
\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
-- a schema of our own: other suites leave tables named like ours behind
CREATE SCHEMA modify230;
SET search_path = modify230, public;

CREATE FOREIGN TABLE alltypes (
	id text OPTIONS (system 'recordName'),
	s text,
	i bigint,
	d double precision,
	t timestamptz,
	b bytea,
	r text OPTIONS (type 'REFERENCE'),
	l point,
	a jsonb OPTIONS (type 'ASSETID'),
	sl text[],
	il bigint[],
	dl double precision[],
	tl timestamptz[],
	bl bytea[],
	rl text[] OPTIONS (type 'REFERENCE_LIST'),
	ll point[],
	al jsonb OPTIONS (type 'ASSETID_LIST'),
	plain text
) SERVER gallery OPTIONS (record_type 'AllTypes');

-- stored files to point assets at
CREATE FOREIGN TABLE artist_portrait (
	id text OPTIONS (system 'recordName'),
	portrait jsonb OPTIONS (type 'ASSETID')
) SERVER gallery OPTIONS (record_type 'Artist');
CREATE TEMP TABLE portraits AS
	SELECT row_number() OVER (ORDER BY id) - 1 AS n, portrait
	FROM artist_portrait WHERE portrait IS NOT NULL;

-- 5,000 rows: NULLs, empty lists, non-ASCII text, extreme integers,
-- doubles that are not short decimals, timestamps before 1970 with
-- milliseconds, bytes of every value
CREATE TEMP TABLE source AS
SELECT 'backup-' || lpad(g::text, 4, '0') AS id,
	CASE WHEN g % 11 = 0 THEN NULL
		WHEN g % 5 = 0 THEN 'Zoë ' || g || ' 🎨 "q" \ ' || chr(10) || 'line'
		ELSE 'text ' || g END AS s,
	CASE WHEN g % 13 = 0 THEN NULL
		WHEN g % 14 = 0 THEN 9223372036854775807
		WHEN g % 7 = 0 THEN -9223372036854775808
		ELSE g::bigint * 1000003 END AS i,
	CASE WHEN g % 17 = 0 THEN NULL ELSE g / 7.0::float8 * (-1) ^ g END AS d,
	timestamptz '1955-03-01 00:00:00.001+00' + g * interval '7 days 3 hours 0.123 second' AS t,
	CASE WHEN g % 3 = 0 THEN NULL
		ELSE decode(repeat(lpad(to_hex(g % 256), 2, '0'), g % 40), 'hex') END AS b,
	CASE WHEN g % 2 = 0 THEN 'artist-' || lpad((g % 300 + 1)::text, 4, '0') END AS r,
	CASE WHEN g % 19 = 0 THEN NULL ELSE point(g % 360 - 180 + 0.25, g % 180 - 90 + 0.5) END AS l,
	CASE WHEN g % 100 = 1 THEN (SELECT portrait FROM portraits WHERE n = g % 10) END AS a,
	CASE WHEN g % 9 = 0 THEN '{}'::text[]
		WHEN g % 23 = 0 THEN NULL
		ELSE ARRAY['x' || g, 'ü', ''] END AS sl,
	ARRAY[g, -g, 9223372036854775807]::bigint[] AS il,
	CASE WHEN g % 4 = 0 THEN ARRAY[g * 0.1, 1e-300, '-0']::float8[] END AS dl,
	ARRAY[timestamptz '1969-12-31 23:59:59.999+00' + g * interval '1 ms']::timestamptz[] AS tl,
	CASE WHEN g % 6 = 0 THEN ARRAY['\x00'::bytea, int4send(g)] END AS bl,
	CASE WHEN g % 10 = 0 THEN ARRAY['artwork-' || lpad((g % 3000 + 1)::text, 5, '0'), 'artist-0001'] END AS rl,
	CASE WHEN g % 8 = 0 THEN ARRAY[point(1, 2), point(-3.5, 4.25)] END AS ll,
	CASE WHEN g % 250 = 7 THEN (SELECT jsonb_agg(portrait ORDER BY n) FROM portraits WHERE n < 3) END AS al,
	CASE WHEN g % 2 = 1 THEN repeat('p', g % 50) END AS plain
FROM generate_series(1, 5000) g;

--
-- Create the records: 25 requests
--
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
INSERT INTO alltypes SELECT * FROM source;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/modify"] | {requests, records_in, records_out}'

-- what CloudKit holds is what was inserted (point and jsonb compare as text)
SELECT count(*) FROM alltypes;
SELECT count(*) AS missing FROM (
	SELECT src::text FROM source src EXCEPT SELECT ft::text FROM alltypes ft) x;
SELECT count(*) AS extra FROM (
	SELECT ft::text FROM alltypes ft EXCEPT SELECT src::text FROM source src) x;

--
-- Back up into a local table, delete everything, restore, compare
--
CREATE TABLE alltypes_backup AS SELECT * FROM alltypes;
SELECT count(*) FROM alltypes_backup;

\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
DELETE FROM alltypes;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/modify"] | {requests, records_in, records_out}'
SELECT count(*) FROM alltypes;

\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
INSERT INTO alltypes SELECT * FROM alltypes_backup;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/modify"] | {requests, records_in, records_out}'

SELECT count(*) FROM alltypes;
SELECT count(*) AS missing FROM (
	SELECT bak::text FROM alltypes_backup bak EXCEPT SELECT ft::text FROM alltypes ft) x;
SELECT count(*) AS extra FROM (
	SELECT ft::text FROM alltypes ft EXCEPT SELECT bak::text FROM alltypes_backup bak) x;

--
-- A restore that stopped half way is rerun: create refuses the records
-- that exist (23505, nothing lost), insert_mode 'replace' overwrites them
--
DELETE FROM alltypes WHERE id > 'backup-2500';
SELECT ckfdw_test_error('INSERT INTO alltypes SELECT * FROM alltypes_backup ORDER BY id');
SELECT count(*) FROM alltypes;
ALTER FOREIGN TABLE alltypes OPTIONS (ADD insert_mode 'replace');
INSERT INTO alltypes SELECT * FROM alltypes_backup;
INSERT INTO alltypes SELECT * FROM alltypes_backup;
SELECT count(*) FROM alltypes;
SELECT count(*) AS missing FROM (
	SELECT bak::text FROM alltypes_backup bak EXCEPT SELECT ft::text FROM alltypes ft) x;
SELECT count(*) AS extra FROM (
	SELECT ft::text FROM alltypes ft EXCEPT SELECT bak::text FROM alltypes_backup bak) x;

-- the comparison sees a change of one millisecond in one list element
UPDATE alltypes SET tl = ARRAY[tl[1] + interval '1 ms'] WHERE id = 'backup-4321';
SELECT count(*) AS missing FROM (
	SELECT bak::text FROM alltypes_backup bak EXCEPT SELECT ft::text FROM alltypes ft) x;
SELECT count(*) AS extra FROM (
	SELECT ft::text FROM alltypes ft EXCEPT SELECT bak::text FROM alltypes_backup bak) x;

\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
DROP TABLE alltypes_backup;
DROP FOREIGN TABLE alltypes, artist_portrait;
RESET search_path;
DROP SCHEMA modify230;
