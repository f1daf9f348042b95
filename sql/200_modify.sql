--
-- 200_modify: INSERT, UPDATE and DELETE through records/modify: every type
-- written and read back, RETURNING, record names, NULLs, what CloudKit
-- cannot hold, the system columns, insert modes and ON CONFLICT DO NOTHING.
--
\getenv ckemu_url CKEMU_URL
SET timezone = 'UTC';
\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
-- a schema of our own: other suites leave tables named like ours behind
CREATE SCHEMA modify200;
SET search_path = modify200, public;

-- the ModifyTable part of a plan, and of the scan below it only its output
-- (the row identity) and filter counts: the scan's request is pinned by
-- the scan suites (used by the later modify suites too)
CREATE FUNCTION public.ckfdw_test_modify_plan(options text, stmt text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	line text;
	below boolean := false;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (' || options || ') ' || stmt LOOP
		IF line ~ '^\s*->' THEN
			below := true;
		ELSIF below AND line !~ '^\s*(Output|Rows Removed by Filter):' THEN
			CONTINUE;
		END IF;
		RETURN NEXT line;
	END LOOP;
END
$$;

-- AllTypes (empty) has one field of every wire type
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
-- the same fields as CloudKit sent them (any type: the whole JSON value)
CREATE FOREIGN TABLE alltypes_json (
	id text OPTIONS (system 'recordName'),
	tag text OPTIONS (system 'recordChangeTag'),
	created timestamptz OPTIONS (system 'createdTimestamp'),
	modified timestamptz OPTIONS (system 'modifiedTimestamp'),
	s jsonb, i jsonb, d jsonb, t jsonb, b jsonb, r jsonb, l jsonb,
	sl jsonb, il jsonb, dl jsonb, tl jsonb, bl jsonb, rl jsonb, ll jsonb
) SERVER gallery OPTIONS (record_type 'AllTypes');

-- assets are written as the dictionary CloudKit returned for a stored file
-- (here: Artist portraits served by ckemu)
CREATE FOREIGN TABLE artist_portrait (
	id text OPTIONS (system 'recordName'),
	portrait jsonb OPTIONS (type 'ASSETID')
) SERVER gallery OPTIONS (record_type 'Artist');
CREATE TEMP TABLE portraits AS
	SELECT id, portrait FROM artist_portrait WHERE portrait IS NOT NULL;
SELECT count(*) FROM portraits;

--
-- INSERT of every type, read back through both tables
--
INSERT INTO alltypes (id, s, i, d, t, b, r, l, a, sl, il, dl, tl, bl, rl, ll, al, plain)
SELECT 'every-1', 'Zoë "quoted" \ 🎨', 9223372036854775807, 0.1,
	'2024-02-29 23:59:59.999+00', '\x00ff10'::bytea, 'artist-0001',
	point(2.2945, 48.8584), (SELECT portrait FROM portraits WHERE id = 'artist-0001'),
	ARRAY['a', '', 'ü'], ARRAY[-9223372036854775808, 0], ARRAY[1e300, '-0', 5e-324]::float8[],
	ARRAY['1969-12-31 23:59:59.999+00', '2000-01-01 00:00:00+00']::timestamptz[],
	ARRAY['\x'::bytea, '\xdeadbeef'], ARRAY['artist-0002', 'artist-0003'],
	ARRAY[point(0, 0), point(-180, -90)],
	(SELECT jsonb_agg(portrait ORDER BY id) FROM portraits WHERE id IN ('artist-0002', 'artist-0003')),
	'plain';
SELECT id, s, i, d, t, b, r, l, sl, il, dl, tl, bl, rl, ll, plain,
	a = (SELECT portrait FROM portraits WHERE id = 'artist-0001') AS same_asset,
	jsonb_array_length(al) AS assets
FROM alltypes;
SELECT s, i, d, t, b, r, l, sl, il, tl, bl, rl, ll,
	ARRAY(SELECT v::float8 FROM jsonb_array_elements(dl) v) AS dl_values,
	tag IS NOT NULL AS has_tag, created = modified AS never_modified
FROM alltypes_json;

-- NULLs are left out of a created record: CloudKit sends no such fields
INSERT INTO alltypes (id) VALUES ('every-null');
SELECT * FROM alltypes WHERE id = 'every-null';
SELECT s, i, d, t, b, r, l, sl FROM alltypes_json WHERE id = 'every-null';

--
-- UPDATE sends only the changed fields, with the change tag the scan read
--
CREATE TEMP TABLE before AS SELECT * FROM alltypes_json WHERE id = 'every-1';
UPDATE alltypes SET i = i - 1, s = upper(s), sl = array_append(sl, 'new'), l = point(1, 2)
WHERE id = 'every-1';
SELECT a.s, a.i, a.sl, a.l, a.tag <> b.tag AS new_tag,
	a.t = b.t AND a.b = b.b AND a.dl = b.dl AS others_unchanged
FROM alltypes_json a, before b WHERE a.id = 'every-1';
-- NULL clears a field
UPDATE alltypes SET d = NULL, dl = NULL, r = NULL, al = NULL WHERE id = 'every-1';
SELECT d, dl, r FROM alltypes_json WHERE id = 'every-1';
SELECT al IS NULL AS al_cleared FROM alltypes WHERE id = 'every-1';
-- every type can be set by UPDATE
UPDATE alltypes SET s = 'x', i = -1, d = 2.5, t = '1950-06-01 12:00:00.25+00',
	b = '\x01', r = 'artwork-00001', l = point(-1, -1),
	a = (SELECT portrait FROM portraits WHERE id = 'artist-0004'),
	sl = '{}', il = '{7}', dl = '{0.5}', tl = '{1970-01-01 00:00:00.001+00}', bl = '{"\\x02"}',
	rl = '{artwork-00002}', ll = ARRAY[point(3, 4)],
	al = (SELECT jsonb_agg(portrait) FROM portraits WHERE id = 'artist-0005'),
	plain = NULL
WHERE id = 'every-null';
SELECT id, s, i, d, t, b, r, l, sl, il, dl, tl, bl, rl, ll, plain,
	a = (SELECT portrait FROM portraits WHERE id = 'artist-0004') AS same_asset,
	al -> 0 = (SELECT portrait FROM portraits WHERE id = 'artist-0005') AS same_asset_list
FROM alltypes WHERE id = 'every-null';

--
-- RETURNING shows what CloudKit saved: record name, change tag, timestamps
--
CREATE FOREIGN TABLE visit (
	id text OPTIONS (system 'recordName'),
	tag text OPTIONS (system 'recordChangeTag'),
	created timestamptz OPTIONS (system 'createdTimestamp'),
	modified timestamptz OPTIONS (system 'modifiedTimestamp'),
	modified_by text OPTIONS (system 'modifiedUserRecordName'),
	exhibition text OPTIONS (type 'REFERENCE'),
	visitor text,
	visited_at timestamptz OPTIONS (field 'visitedAt'),
	party_size bigint OPTIONS (field 'partySize'),
	member boolean,
	spent double precision
) SERVER gallery OPTIONS (record_type 'Visit');
CREATE TEMP TABLE visit_before AS SELECT * FROM visit WHERE id = 'visit-0001';
UPDATE visit SET party_size = party_size + 10 WHERE id = 'visit-0001'
RETURNING id, party_size, visitor,
	tag <> (SELECT tag FROM visit_before) AS new_tag,
	created = (SELECT created FROM visit_before) AS same_created,
	modified > (SELECT modified FROM visit_before) AS later_modified,
	modified_by IS NOT NULL AS has_modifier;
-- INSERT without a record name: a UUID, as CloudKit names records
INSERT INTO visit (visitor, party_size, member) VALUES ('walk-in', 2, true)
RETURNING id ~ '^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$' AS uuid,
	visitor, party_size, member, spent, tag IS NOT NULL AS has_tag,
	created = modified AS new_record;
INSERT INTO visit (id, visitor) VALUES ('visit-new-1', 'Ada'), ('visit-new-2', 'Bob')
RETURNING id, visitor;
-- DELETE ... RETURNING shows the row as read, which is what was deleted
DELETE FROM visit WHERE visitor = 'walk-in' RETURNING visitor, party_size, member;
DELETE FROM visit WHERE id IN ('visit-new-1', 'visit-new-2') RETURNING id, visitor;
SELECT count(*) FROM visit WHERE visitor IN ('walk-in', 'Ada', 'Bob');
-- row counts without RETURNING
UPDATE visit SET member = NOT member WHERE id IN ('visit-0002', 'visit-0003');
DELETE FROM visit WHERE id = 'visit-no-such';

-- a target row a join produces twice is updated once, as in PostgreSQL
UPDATE visit v SET party_size = 1 FROM (VALUES (1), (2)) x(n)
WHERE v.id = 'visit-0004';
SELECT party_size FROM visit WHERE id = 'visit-0004';

--
-- EXPLAIN
--
EXPLAIN (COSTS OFF) INSERT INTO visit (visitor) VALUES ('x');
EXPLAIN (VERBOSE, COSTS OFF) INSERT INTO visit (visitor) VALUES ('x');
EXPLAIN (VERBOSE, COSTS OFF) INSERT INTO visit (visitor) VALUES ('x') RETURNING id;
-- the scan outputs the row identity (ctid, twice: ckfdw_record_name and
-- ckfdw_change_tag), and for UPDATE the whole row (unchanged columns)
SELECT ckfdw_test_modify_plan('VERBOSE, COSTS OFF', $$UPDATE visit SET spent = 0 WHERE id = 'visit-0001'$$);
SELECT ckfdw_test_modify_plan('VERBOSE, COSTS OFF', $$DELETE FROM visit WHERE id = 'visit-0001'$$);
SELECT ckfdw_test_modify_plan('VERBOSE, COSTS OFF', $$DELETE FROM visit WHERE id = 'visit-0001' RETURNING visitor$$);
SELECT ckfdw_test_modify_plan('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF',
	$$UPDATE visit SET spent = 1.5 WHERE party_size % 7 = 4$$);

--
-- Other PostgreSQL types
--
CREATE DOMAIN positive AS bigint CHECK (VALUE > 0);
CREATE FOREIGN TABLE alltypes_alt (
	id text OPTIONS (system 'recordName'),
	i2 smallint OPTIONS (field 'plain_i2'),
	i4 integer OPTIONS (field 'plain_i4'),
	ipos positive OPTIONS (field 'plain_pos'),
	flag boolean OPTIONS (field 'plain_flag'),
	inum numeric OPTIONS (field 'plain_inum', type 'INT64'),
	dnum numeric OPTIONS (field 'plain_dnum'),
	dr real OPTIONS (field 'plain_real'),
	ts timestamp OPTIONS (field 'plain_ts'),
	dt date OPTIONS (field 'plain_date'),
	vc varchar(10) OPTIONS (field 'plain_vc'),
	ch char(6) OPTIONS (field 'plain_char'),
	u uuid OPTIONS (field 'plain_uuid'),
	js json OPTIONS (field 'plain_json', type 'STRING_LIST'),
	jb jsonb OPTIONS (field 'plain_any'),
	jb_s jsonb OPTIONS (field 'plain'),
	ref jsonb OPTIONS (field 'plain_ref', type 'REFERENCE'),
	loc jsonb OPTIONS (field 'plain_loc', type 'LOCATION'),
	nums numeric[] OPTIONS (field 'plain_nums')
) SERVER gallery OPTIONS (record_type 'AllTypes');
INSERT INTO alltypes_alt VALUES ('alt-1', -32768, 2147483647, 5, true, 123456789012345678,
	1234.5678, 0.1, '2000-02-29 12:34:56.789', '1901-01-01', 'varchar', 'ab',
	'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '["x", "y"]', '[1, 2, 3]', '"a string"',
	'{"recordName": "artist-0007", "action": "NONE"}',
	'{"latitude": 10.5, "longitude": -20.25, "altitude": 100}',
	'{1.5, -2, 1e-10}');
SELECT * FROM alltypes_alt WHERE id = 'alt-1';
CREATE FOREIGN TABLE alltypes_alt_json (
	id text OPTIONS (system 'recordName'),
	plain_i2 jsonb, plain_i4 jsonb, plain_pos jsonb, plain_flag jsonb, plain_inum jsonb,
	plain_real jsonb, plain_date jsonb, plain_char jsonb, plain_uuid jsonb,
	plain_json jsonb, plain_any jsonb, plain jsonb, plain_dnum jsonb, plain_ts jsonb,
	plain_vc jsonb, plain_ref jsonb, plain_loc jsonb, plain_nums jsonb
) SERVER gallery OPTIONS (record_type 'AllTypes');
SELECT * FROM alltypes_alt_json WHERE id = 'alt-1';
-- the domain's check runs before anything is sent
INSERT INTO alltypes_alt (id, ipos) VALUES ('alt-2', -1);

--
-- Timestamps are rounded to CloudKit's milliseconds (halves up)
--
INSERT INTO alltypes (id, t, tl) VALUES
	('ms-1', '2024-01-01 00:00:00.000499+00', ARRAY['2024-01-01 00:00:00.0005+00'::timestamptz]),
	('ms-2', '1960-01-01 00:00:00.0015+00', ARRAY['1960-01-01 00:00:00.0025+00'::timestamptz]),
	('ms-3', '1999-12-31 23:59:59.9995+00', ARRAY['1969-12-31 23:59:59.9994+00'::timestamptz]);
SELECT id, t, tl FROM alltypes WHERE id LIKE 'ms-%' ORDER BY id;
SELECT id, t, tl FROM alltypes_json WHERE id LIKE 'ms-%' ORDER BY id;

--
-- What CloudKit cannot hold is an error naming the column, and nothing
-- of the statement is sent
--
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
INSERT INTO alltypes (id, d) VALUES ('bad', 'NaN');
SELECT ckfdw_test_error($$INSERT INTO alltypes (id, d) VALUES ('bad', 'NaN')$$);
INSERT INTO alltypes (id, d) VALUES ('bad', 'Infinity');
INSERT INTO alltypes (id, dl) VALUES ('bad', ARRAY[1, '-Infinity']::float8[]);
INSERT INTO alltypes_alt (id, dnum) VALUES ('bad', 'NaN');
INSERT INTO alltypes_alt (id, dnum) VALUES ('bad', 0.1234567890123456789);
INSERT INTO alltypes_alt (id, nums) VALUES ('bad', ARRAY[1, 1e400]);
INSERT INTO alltypes_alt (id, nums) VALUES ('bad', ARRAY[1, 1e-400]);
INSERT INTO alltypes_alt (id, inum) VALUES ('bad', 1.5);
INSERT INTO alltypes_alt (id, inum) VALUES ('bad', 9223372036854775808);
INSERT INTO alltypes_alt (id, inum) VALUES ('ok', 9223372036854775807.000);
INSERT INTO alltypes_alt (id, jb) VALUES ('bad', '123456789012345678901234567890');
INSERT INTO alltypes_alt (id, jb) VALUES ('bad', '{"x": 0.30000000000000000001}');
INSERT INTO alltypes (id, t) VALUES ('bad', 'infinity');
INSERT INTO alltypes_alt (id, dt) VALUES ('bad', '-infinity');
INSERT INTO alltypes (id, sl) VALUES ('bad', ARRAY['a', NULL]);
INSERT INTO alltypes (id, il) VALUES ('bad', '{{1,2},{3,4}}');
INSERT INTO alltypes (id, l) VALUES ('bad', point('NaN', 1));
INSERT INTO alltypes (id, r) VALUES ('bad', '');
CREATE FOREIGN TABLE artist_url (
	id text OPTIONS (system 'recordName'),
	portrait text OPTIONS (type 'ASSETID')
) SERVER gallery OPTIONS (record_type 'Artist');
UPDATE artist_url SET portrait = portrait WHERE id = 'artist-0001';
-- record names: 1 to 255 printable ASCII characters
INSERT INTO alltypes (id) VALUES ('');
INSERT INTO alltypes (id) VALUES ('naïve');
INSERT INTO alltypes (id) VALUES (repeat('x', 256));
INSERT INTO alltypes (id) VALUES (repeat('x', 255));
-- system fields are CloudKit's
INSERT INTO visit (id, created) VALUES ('sys-1', now());
INSERT INTO visit (id, tag) VALUES ('sys-1', 'abc');
INSERT INTO visit (id, tag, created) VALUES ('sys-1', NULL, NULL) RETURNING id;
UPDATE visit SET tag = 'x' WHERE id = 'visit-0001';
UPDATE visit SET id = 'visit-renamed' WHERE id = 'visit-0001';
UPDATE visit SET created = now() WHERE id = 'visit-0001';
-- two columns writing one field
CREATE FOREIGN TABLE visit_twice (
	id text OPTIONS (system 'recordName'),
	visitor text,
	visitor_json jsonb OPTIONS (field 'visitor')
) SERVER gallery OPTIONS (record_type 'Visit');
INSERT INTO visit_twice VALUES ('twice-1', 'a', '"b"');
INSERT INTO visit_twice VALUES ('twice-1', 'a', NULL) RETURNING *;
UPDATE visit_twice SET visitor = 'c', visitor_json = '"d"' WHERE id = 'twice-1';
-- none of the errors above sent anything but the records that were fine
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/modify"] | {requests, records_in, records_out}'

--
-- References: the action comes from the column option reference_action
--
CREATE FOREIGN TABLE artwork_ref (
	id text OPTIONS (system 'recordName'),
	title text,
	artist text OPTIONS (type 'REFERENCE', reference_action 'VALIDATE'),
	artist_json jsonb OPTIONS (field 'artist'),
	related text[] OPTIONS (field 'relatedWorks', type 'REFERENCE_LIST', reference_action 'DELETE_SELF')
) SERVER gallery OPTIONS (record_type 'Artwork');
INSERT INTO artwork_ref (id, title, artist, related)
VALUES ('artwork-ref-1', 'Study', 'artist-0009', ARRAY['artwork-00001']);
SELECT artist, artist_json, related FROM artwork_ref WHERE id = 'artwork-ref-1';
-- VALIDATE: CloudKit refuses a reference to a record that does not exist
INSERT INTO artwork_ref (id, title, artist) VALUES ('artwork-ref-2', 'Lost', 'artist-9999');
SELECT ckfdw_test_error($$INSERT INTO artwork_ref (id, title, artist) VALUES ('artwork-ref-2', 'Lost', 'artist-9999')$$);
-- option checks
ALTER FOREIGN TABLE artwork_ref ALTER COLUMN title OPTIONS (ADD reference_action 'NONE');
ALTER FOREIGN TABLE artwork_ref ALTER COLUMN artist OPTIONS (SET reference_action 'CASCADE');
ALTER FOREIGN TABLE artwork_ref OPTIONS (ADD insert_mode 'upsert');
ALTER FOREIGN TABLE artwork_ref OPTIONS (ADD force 'maybe');
ALTER FOREIGN TABLE artwork_ref OPTIONS (ADD atomc 'true');

--
-- INSERT of an existing record: 23505, unless asked otherwise
--
INSERT INTO visit (id, visitor) VALUES ('visit-0005', 'again');
SELECT ckfdw_test_error($$INSERT INTO visit (id, visitor) VALUES ('visit-0005', 'again')$$);
-- ON CONFLICT DO NOTHING skips existing records
INSERT INTO visit (id, visitor) VALUES ('visit-0005', 'again'), ('visit-oc-1', 'new')
ON CONFLICT DO NOTHING;
INSERT INTO visit (id, visitor) VALUES ('visit-0006', 'again'), ('visit-oc-2', 'new')
ON CONFLICT DO NOTHING RETURNING id, visitor;
SELECT id, visitor FROM visit WHERE id IN ('visit-0005', 'visit-0006', 'visit-oc-1', 'visit-oc-2')
ORDER BY id;
-- insert_mode 'replace' (forceReplace): the whole record is the row
CREATE FOREIGN TABLE visit_partial (
	id text OPTIONS (system 'recordName'),
	visitor text
) SERVER gallery OPTIONS (record_type 'Visit', insert_mode 'replace');
INSERT INTO visit_partial VALUES ('visit-0007', 'replaced'), ('visit-ins-1', 'fresh');
SELECT id, visitor, party_size, member, exhibition FROM visit
WHERE id IN ('visit-0007', 'visit-ins-1') ORDER BY id;
-- insert_mode 'merge' (forceUpdate): only the table's fields change
ALTER FOREIGN TABLE visit_partial OPTIONS (SET insert_mode 'merge');
INSERT INTO visit_partial VALUES ('visit-0008', 'merged'), ('visit-ins-2', 'fresh');
SELECT id, visitor, party_size, member, exhibition IS NOT NULL AS has_exhibition FROM visit
WHERE id IN ('visit-0008', 'visit-ins-2') ORDER BY id;
-- a rerun of the same INSERT is harmless
INSERT INTO visit_partial VALUES ('visit-0008', 'merged'), ('visit-ins-2', 'fresh');
SELECT count(*) FROM visit WHERE id IN ('visit-0008', 'visit-ins-2');

--
-- DELETE of every record of a type
--
DELETE FROM alltypes;
SELECT count(*) FROM alltypes;

\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
DROP FOREIGN TABLE alltypes, alltypes_json, alltypes_alt, alltypes_alt_json,
	artist_portrait, artist_url, visit, visit_twice, visit_partial, artwork_ref;
DROP DOMAIN positive;
RESET search_path;
DROP SCHEMA modify200;
