--
-- 420_public_incremental: the public database has no change feed.  The
-- README's incremental job reads records by modifiedTimestamp with an
-- inclusive bound (>=) and de-duplicates by change tag, and finds deleted
-- records with an anti-join of the local mirror against the foreign table,
-- which runs as records/lookup requests of 200 names.  ckemu's index lag
-- (POST /_ckemu/index) makes records written before a run invisible to
-- that run's query, as CloudKit's asynchronous index does; the next run
-- catches them.  Requests are pinned from ckemu's statistics.
--
\getenv ckemu_url CKEMU_URL
\getenv key_id CKFDW_KEY_ID
\getenv key_file CKFDW_KEY_FILE
SET timezone = 'UTC';
\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
CREATE SCHEMA public420;
SET search_path = public420, public;

-- "someone else" writes through a server of its own: another client
CREATE SERVER gallery_other FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'ckemu_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER gallery_other
	OPTIONS (key_id :'key_id', private_key_file :'key_file');
CREATE FOREIGN TABLE artwork_other (
	id text OPTIONS (system 'recordName'),
	title text,
	year bigint
) SERVER gallery_other OPTIONS (record_type 'Artwork');

--
-- The README's job, as written there (up to its CALL): the foreign table,
-- the mirror, the watermark and the procedure
--
\! awk '/^<!-- sql\/420_public_incremental.sql runs the next block/ {f = 1; next} f && /^```sql/ {g = 1; next} g && (/^```/ || /^CALL/) {exit} g' README.md > test/results/420_public_job.sql
\i test/results/420_public_job.sql

-- the plans the job's statements get: the timestamp goes to CloudKit, and
-- the names are looked up
EXPLAIN (COSTS OFF) SELECT DISTINCT ON (id) id, change_tag, title, year, modified
FROM artwork WHERE modified >= '2026-01-01'::timestamptz ORDER BY id, modified DESC;
EXPLAIN (COSTS OFF) DELETE FROM artwork_mirror
WHERE id IN (SELECT id FROM artwork_mirror
             EXCEPT
             SELECT id FROM artwork
             WHERE id = ANY (ARRAY(SELECT id FROM artwork_mirror)));
-- An anti-join can run as a lookup join too, but only when the planner
-- finds it cheaper than reading the whole type; a full read would take the
-- records the index has not caught up with for deleted ones
EXPLAIN (COSTS OFF) SELECT m.id FROM artwork_mirror m
WHERE NOT EXISTS (SELECT FROM artwork a WHERE a.id = m.id);
INSERT INTO artwork_mirror SELECT 'x-' || i, '', NULL, NULL, now() FROM generate_series(1, 3000) i;
ANALYZE artwork_mirror;
EXPLAIN (COSTS OFF) SELECT m.id FROM artwork_mirror m
WHERE NOT EXISTS (SELECT FROM artwork a WHERE a.id = m.id);
TRUNCATE artwork_mirror;

-- the last write before the first run: the newest modification it sees
-- is this one's alone
SELECT pg_sleep(0.01);  -- a millisecond later than anything before, whatever the clock
INSERT INTO artwork_other VALUES ('artwork-anchor', 'Anchor', 2026);

--
-- Run 1: the first run reads everything (3,001 records: 16 pages, and 16
-- lookups of 200 names)
--
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
CALL mirror_artwork();
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, records_out})'
SELECT count(*) FROM artwork_mirror;
-- the watermark: the anchor's modification, which only it has
SELECT (SELECT array_agg(id) FROM artwork_mirror m WHERE m.modified = w.modified) AS at_watermark
FROM mirror_watermark w;

--
-- Meanwhile, with the index lagging: someone creates three artworks in one
-- request (one timestamp), then changes one and deletes two
--
\! curl -s -X POST "$CKEMU_URL/_ckemu/index" -d '{"lag":true}' | jq -c '{lag, pending}'
SELECT pg_sleep(0.01);  -- a millisecond later than anything before, whatever the clock
INSERT INTO artwork_other VALUES
	('artwork-new-1', 'New One', 2026), ('artwork-new-2', 'New Two', 2026),
	('artwork-new-3', 'New Three', 2026);
SELECT pg_sleep(0.01);
UPDATE artwork_other SET title = 'Renamed' WHERE id = 'artwork-00007';
DELETE FROM artwork_other WHERE id IN ('artwork-00010', 'artwork-00011');
-- the index has caught up with the first two writes only
\! curl -s -X POST "$CKEMU_URL/_ckemu/index" -d '{"catch_up":2}' | jq -c '{lag, pending}'
SELECT id FROM artwork WHERE id LIKE 'artwork-new-%' ORDER BY id;
-- lookups are exact
SELECT id, title FROM artwork WHERE id IN ('artwork-new-3', 'artwork-00007', 'artwork-00010') ORDER BY id;

--
-- Run 2: sees two new records and both deletions; it re-reads the record
-- at the watermark (already mirrored, skipped) and looks up 3,003 names
--
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
CALL mirror_artwork();
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, records_out})'
SELECT id, title FROM artwork_mirror WHERE id LIKE 'artwork-new-%' OR id IN ('artwork-00007', 'artwork-00010', 'artwork-00011') ORDER BY id;
-- the watermark is the new records' timestamp
SELECT modified = (SELECT max(modified) FROM artwork_mirror WHERE id LIKE 'artwork-new-%') AS at_new
FROM mirror_watermark;

--
-- The index catches up.  A strict > on the watermark would now miss
-- artwork-new-3, written in the same millisecond as the records run 2 saw;
-- >= finds it
--
\! curl -s -X POST "$CKEMU_URL/_ckemu/index" -d '{"catch_up":"all"}' | jq -c '{lag, pending}'
SELECT id FROM artwork WHERE modified > (SELECT modified FROM mirror_watermark) ORDER BY id;
SELECT id FROM artwork WHERE modified >= (SELECT modified FROM mirror_watermark) ORDER BY id;

-- Run 3 fails after its MERGE (a lookup refused): nothing of it stays,
-- the watermark included
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"records/lookup","after":3,"action":"error","serverErrorCode":"ACCESS_DENIED"}]' >/dev/null
SELECT ckfdw_test_error('CALL public420.mirror_artwork()');
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
SELECT count(*) AS mirrored, count(*) FILTER (WHERE title = 'Renamed') AS renamed,
	(SELECT modified FROM mirror_watermark) = max(modified) FILTER (WHERE id LIKE 'artwork-new-%') AS watermark_kept
FROM artwork_mirror;

-- Run 3 again: catches up; the two records run 2 saw are skipped by change tag
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
CALL mirror_artwork();
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, records_out})'

-- the mirror is exactly CloudKit's state (a full read, compared both ways)
CREATE TEMP TABLE full_read AS SELECT id, change_tag, title, year, modified FROM artwork;
SELECT count(*) AS records,
	(SELECT count(*) FROM (TABLE artwork_mirror EXCEPT TABLE full_read) x) AS only_in_mirror,
	(SELECT count(*) FROM (TABLE full_read EXCEPT TABLE artwork_mirror) x) AS only_in_cloudkit
FROM full_read;

-- Run 4: nothing changed; one query page (the record at the watermark)
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
CALL mirror_artwork();
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, records_out})'

-- an overlap reads a window again, for indexes that publish out of order:
-- the records changed in it are read and skipped by change tag
UPDATE mirror_watermark SET overlap = '1 hour';
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
CALL mirror_artwork();
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, records_out})'

\! curl -s -X POST "$CKEMU_URL/_ckemu/index" -d '{"lag":false}' | jq -c '{lag, pending}'
\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
DROP SCHEMA public420 CASCADE;
DROP SERVER gallery_other CASCADE;
