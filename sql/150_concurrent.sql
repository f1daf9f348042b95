--
-- 150_concurrent: past one cursor -- scans in an async Append (option
-- async_capable) and scans split into range cursors (scan_cursors,
-- split_column).  Every result is compared with the same query read by one
-- cursor, one scan after the other: same rows, none lost, none twice.
--
\getenv ckemu_url CKEMU_URL
SET timezone = 'UTC';

-- one record type per table; the tables share the server's client
CREATE FOREIGN TABLE c_ticket (
	id text OPTIONS (system 'recordName'),
	serial bigint NOT NULL,
	batch bigint,
	price double precision
) SERVER gallery OPTIONS (record_type 'Ticket');
CREATE FOREIGN TABLE c_visit (
	id text OPTIONS (system 'recordName'),
	visitor text,
	spent double precision
) SERVER gallery OPTIONS (record_type 'Visit');
CREATE FOREIGN TABLE c_artwork (
	id text OPTIONS (system 'recordName'),
	title text,
	year bigint NOT NULL,
	price double precision
) SERVER gallery OPTIONS (record_type 'Artwork');
CREATE FOREIGN TABLE c_artist (
	id text OPTIONS (system 'recordName'),
	name text,
	rating double precision
) SERVER gallery OPTIONS (record_type 'Artist');

-- the options are checked
SELECT ckfdw_test_error($$ALTER FOREIGN TABLE c_ticket OPTIONS (ADD async_capable 'maybe')$$);
SELECT ckfdw_test_error($$ALTER FOREIGN TABLE c_ticket OPTIONS (ADD scan_cursors '0')$$);
SELECT ckfdw_test_error($$ALTER FOREIGN TABLE c_ticket OPTIONS (ADD scan_cursors '17')$$);
SELECT ckfdw_test_error($$ALTER SERVER gallery OPTIONS (ADD split_column 'serial')$$);

-- the rows of the four tables, read one after the other (async off)
CREATE TEMP VIEW all_four AS
	SELECT 'ticket' AS t, id, serial::text AS v FROM c_ticket
	UNION ALL SELECT 'visit', id, visitor FROM c_visit
	UNION ALL SELECT 'artwork', id, title FROM c_artwork
	UNION ALL SELECT 'artist', id, name FROM c_artist;
EXPLAIN (COSTS OFF) SELECT * FROM all_four;
CREATE TEMP TABLE rows_sync AS SELECT * FROM all_four;

--
-- async Append: the same rows
--
ALTER SERVER gallery OPTIONS (ADD async_capable 'true');
EXPLAIN (COSTS OFF) SELECT * FROM all_four;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM c_visit UNION ALL SELECT id FROM c_artist;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
CREATE TEMP TABLE rows_async AS SELECT * FROM all_four;
-- each record once: 10,000 + 1,000 + 3,000 + 300
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'
SELECT t, count(*), count(DISTINCT id) FROM rows_async GROUP BY t ORDER BY t;
SELECT count(*) AS differ FROM
	((TABLE rows_sync EXCEPT ALL TABLE rows_async)
	 UNION ALL (TABLE rows_async EXCEPT ALL TABLE rows_sync)) d;
-- a table option overrides the server's
ALTER FOREIGN TABLE c_artist OPTIONS (ADD async_capable 'false');
EXPLAIN (COSTS OFF) SELECT id FROM c_visit UNION ALL SELECT id FROM c_artist;
ALTER FOREIGN TABLE c_artist OPTIONS (DROP async_capable);
-- local conditions, a LIMIT above the Append, a join on top
SELECT count(*) FROM all_four WHERE v LIKE '1%';
SELECT count(*) FROM rows_sync WHERE v LIKE '1%';
SELECT count(*) FROM (SELECT * FROM all_four LIMIT 7) s;
SELECT count(*) FROM c_visit v JOIN (SELECT id FROM c_visit UNION ALL SELECT id FROM c_artist) u
	ON u.id = v.id;
-- a sorted scan is never async (CloudKit may refuse the sort on page one)
SET ckfdw.enable_sort_pushdown = on;
EXPLAIN (COSTS OFF)
	SELECT * FROM (SELECT serial FROM c_ticket UNION ALL SELECT year FROM c_artwork) u
	ORDER BY 1 LIMIT 3;
SELECT * FROM (SELECT serial FROM c_ticket UNION ALL SELECT year FROM c_artwork) u
	ORDER BY 1 LIMIT 3;
-- an error in one scan is the statement's error
CREATE FOREIGN TABLE c_loan (id text OPTIONS (system 'recordName'))
	SERVER gallery OPTIONS (record_type 'Loan');
SELECT ckfdw_test_error($$SELECT count(*) FROM (SELECT id FROM c_visit UNION ALL SELECT id FROM c_loan) u$$);
-- and the next statement runs
SELECT count(*) FROM (SELECT id FROM c_visit UNION ALL SELECT id FROM c_artist) u;

--
-- a partitioned table whose partitions are foreign tables, one record type
-- each (recordNames begin with the type)
--
CREATE TABLE c_things (id text COLLATE "C", label text) PARTITION BY RANGE (id);
CREATE FOREIGN TABLE c_things_artist PARTITION OF c_things
	FOR VALUES FROM ('artist-') TO ('artist.')
	SERVER gallery OPTIONS (record_type 'Artist');
ALTER FOREIGN TABLE c_things_artist ALTER COLUMN id OPTIONS (ADD system 'recordName'),
	ALTER COLUMN label OPTIONS (ADD field 'name');
CREATE FOREIGN TABLE c_things_visit PARTITION OF c_things
	FOR VALUES FROM ('visit-') TO ('visit.')
	SERVER gallery OPTIONS (record_type 'Visit');
ALTER FOREIGN TABLE c_things_visit ALTER COLUMN id OPTIONS (ADD system 'recordName'),
	ALTER COLUMN label OPTIONS (ADD field 'visitor');
CREATE FOREIGN TABLE c_things_exhibition PARTITION OF c_things
	FOR VALUES FROM ('exhibition-') TO ('exhibition.')
	SERVER gallery OPTIONS (record_type 'Exhibition');
ALTER FOREIGN TABLE c_things_exhibition ALTER COLUMN id OPTIONS (ADD system 'recordName'),
	ALTER COLUMN label OPTIONS (ADD field 'title');
CREATE FOREIGN TABLE c_things_artwork PARTITION OF c_things
	FOR VALUES FROM ('artwork-') TO ('artwork.')
	SERVER gallery OPTIONS (record_type 'Artwork');
ALTER FOREIGN TABLE c_things_artwork ALTER COLUMN id OPTIONS (ADD system 'recordName'),
	ALTER COLUMN label OPTIONS (ADD field 'title');
EXPLAIN (COSTS OFF) SELECT * FROM c_things;
CREATE TEMP TABLE things_async AS SELECT * FROM c_things;
ALTER SERVER gallery OPTIONS (SET async_capable 'false');
EXPLAIN (COSTS OFF) SELECT * FROM c_things;
CREATE TEMP TABLE things_sync AS SELECT * FROM c_things;
SELECT count(*), count(DISTINCT id), count(label) FROM things_async;
-- partition pruning leaves the others out
SELECT count(*) FROM c_things WHERE id >= 'visit-' AND id < 'visit.';
SELECT count(*) AS differ FROM
	((TABLE things_sync EXCEPT ALL TABLE things_async)
	 UNION ALL (TABLE things_async EXCEPT ALL TABLE things_sync)) d;
ALTER SERVER gallery OPTIONS (DROP async_capable);

--
-- range cursors: one scan read by several cursors, over a histogram's
-- ranges (ANALYZE); the same rows as one cursor
--
CREATE TEMP TABLE ticket_one AS SELECT * FROM c_ticket;
ALTER FOREIGN TABLE c_ticket OPTIONS (ADD scan_cursors '4', ADD split_column 'serial');
-- without statistics there are no bounds: one cursor, and EXPLAIN says why
EXPLAIN (COSTS OFF) SELECT * FROM c_ticket;
ANALYZE c_ticket;
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM c_ticket;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM c_ticket WHERE batch = 7;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
CREATE TEMP TABLE ticket_split AS SELECT * FROM c_ticket;
-- 4 cursors of 13 pages: every record sent once
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'
SELECT count(*), count(DISTINCT id), sum(hashtext(id)) = (SELECT sum(hashtext(id)) FROM ticket_one) AS same_hash
	FROM ticket_split;
SELECT count(*) AS differ FROM
	((TABLE ticket_one EXCEPT ALL TABLE ticket_split)
	 UNION ALL (TABLE ticket_split EXCEPT ALL TABLE ticket_one)) d;
-- with conditions: CloudKit's and the ranges together
SELECT count(*), sum(serial) FROM c_ticket WHERE batch = 7;
SELECT count(*), sum(serial) FROM ticket_one WHERE batch = 7;
SELECT count(*), min(serial), max(serial) FROM c_ticket WHERE serial >= 2400 AND serial < 2600;
-- sorted or limited scans are read by one cursor: exact order, exact rows
EXPLAIN (COSTS OFF) SELECT serial FROM c_ticket ORDER BY serial DESC LIMIT 3;
SELECT serial FROM c_ticket ORDER BY serial DESC LIMIT 3;
EXPLAIN (COSTS OFF) SELECT serial FROM c_ticket WHERE batch = 3 LIMIT 2;
SELECT count(*) FROM (SELECT serial FROM c_ticket WHERE batch = 3 LIMIT 2) s;
-- an order PostgreSQL makes above the split scan is exact too
SET ckfdw.enable_sort_pushdown = off;
SELECT serial FROM c_ticket ORDER BY serial LIMIT 3 OFFSET 2499;
RESET ckfdw.enable_sort_pushdown;
-- split and async together
ALTER FOREIGN TABLE c_ticket OPTIONS (ADD async_capable 'true');
ALTER FOREIGN TABLE c_artist OPTIONS (ADD async_capable 'true');
EXPLAIN (COSTS OFF) SELECT id FROM c_ticket UNION ALL SELECT id FROM c_artist;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM c_ticket UNION ALL SELECT id FROM c_artist) u;
ALTER FOREIGN TABLE c_ticket OPTIONS (DROP async_capable);
ALTER FOREIGN TABLE c_artist OPTIONS (DROP async_capable);
-- memory stays flat: at most one page per cursor waits (resident size
-- sampled at one row in 20 while the 4 cursors run, as in 030_scan)
CREATE FUNCTION pg_temp.rss_kb() RETURNS bigint LANGUAGE sql VOLATILE
	RETURN (regexp_match(pg_read_file('/proc/self/status'), 'VmRSS:\s+(\d+)'))[1]::bigint;
SELECT count(*) AS tickets, count(DISTINCT id) AS distinct_ids,
	max(rss) FILTER (WHERE n > 9000) - max(rss) FILTER (WHERE n <= 1000) < 2048 AS flat_memory
FROM (
	SELECT t.id, row_number() OVER () AS n,
		CASE WHEN t.serial % 20 = 0 THEN pg_temp.rss_kb() END AS rss
	FROM c_ticket t
) s;
-- the range bounds are constants: even where the plan's cost calls for
-- JIT, nothing of the scan is compiled (LLVM is not loaded for them)
\c -
SET timezone = 'UTC';
SELECT pg_read_file('/proc/self/maps') ~ 'libLLVM' AS llvm_loaded;
SET jit_above_cost = 0;
COPY (SELECT * FROM c_ticket) TO '/dev/null';
RESET jit_above_cost;
SELECT pg_read_file('/proc/self/maps') ~ 'libLLVM' AS llvm_loaded;
-- (JIT is there: this loads LLVM)
SELECT pg_jit_available();
-- a rescan reads every cursor again, with the new values
SELECT v.n, s.c FROM (VALUES (98), (99)) v(n),
	LATERAL (SELECT count(*) AS c FROM c_ticket WHERE batch >= v.n) s;

--
-- NULLs: a record without the field is in no range, so a column that may
-- be NULL is never split
--
ALTER FOREIGN TABLE c_artwork OPTIONS (ADD scan_cursors '3', ADD split_column 'price');
ANALYZE c_artwork;
EXPLAIN (COSTS OFF) SELECT * FROM c_artwork;
SELECT count(*), count(price), count(DISTINCT id) FROM c_artwork;
-- year: every artwork has one (NOT NULL)
ALTER FOREIGN TABLE c_artwork OPTIONS (SET split_column 'year');
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM c_artwork;
SELECT count(*), count(price), count(DISTINCT id) FROM c_artwork;
-- the record name is always there, but CloudKit compares no ranges of it
ALTER FOREIGN TABLE c_artwork OPTIONS (SET split_column 'id');
ANALYZE c_artwork;
EXPLAIN (COSTS OFF) SELECT id FROM c_artwork;
SELECT count(*), count(DISTINCT id) FROM c_artwork;
-- nor of a column without a SORTABLE index
ALTER FOREIGN TABLE c_artwork ALTER COLUMN year OPTIONS (ADD sortable 'false');
ALTER FOREIGN TABLE c_artwork OPTIONS (SET split_column 'year');
EXPLAIN (COSTS OFF) SELECT id FROM c_artwork;
ALTER FOREIGN TABLE c_artwork ALTER COLUMN year OPTIONS (DROP sortable);
-- a split_column naming no column
ALTER FOREIGN TABLE c_artwork OPTIONS (SET split_column 'nope');
SELECT ckfdw_test_error($$SELECT count(*) FROM c_artwork$$);

-- CloudKit refuses the ranges (here: a fault rule says what CloudKit says
-- of a field without a SORTABLE index) on one cursor's first page: the
-- pages the others already have are dropped, and one cursor reads the table
DROP VIEW all_four;
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"records/query","count":1,"action":"error","serverErrorCode":"BAD_REQUEST","reason":"Field '"'"'serial'"'"' is not marked sortable"}]' >/dev/null
SELECT count(*), count(DISTINCT id), sum(serial) FROM c_ticket;
-- a refused condition: the cursors start again without it, and the scan
-- checks it
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"records/query","after":2,"count":1,"action":"error","serverErrorCode":"BAD_REQUEST","reason":"Field '"'"'batch'"'"' is not marked queryable"}]' >/dev/null
SELECT count(*), count(DISTINCT id), sum(serial) FROM c_ticket WHERE batch = 7;
-- a failure on a later page is the statement's error
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"records/query","after":9,"count":1,"action":"error","serverErrorCode":"ACCESS_DENIED","reason":"no"}]' >/dev/null
SELECT ckfdw_test_error($$SELECT count(*) FROM c_ticket$$);
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
SELECT count(*) FROM c_ticket;

-- an UPDATE or DELETE finds its rows through the cursors too, every record
-- once; not an UPDATE that changes the split column: a record it moved into
-- a range not read yet would be read, and updated, twice
EXPLAIN (COSTS OFF) UPDATE c_ticket SET price = price + 1 WHERE batch < 20;
EXPLAIN (COSTS OFF) UPDATE c_ticket SET serial = serial + 1 WHERE batch < 20;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
UPDATE c_ticket SET price = price + 1 WHERE batch < 20;
-- 12 pages (3 from each of the 4 cursors), 10 writes of 200
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '{queries: .operations["records/query"].requests, modifies: .operations["records/modify"].requests, records_in: .operations["records/modify"].records_in}'
SELECT count(*) FILTER (WHERE t.price = o.price + 1) AS plus_one,
	count(*) FILTER (WHERE t.price = o.price) AS unchanged
	FROM c_ticket t JOIN ticket_one o USING (id);
DELETE FROM c_ticket WHERE batch >= 90;
SELECT count(*), count(*) FILTER (WHERE batch >= 90) AS left_behind FROM c_ticket;
\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null

DROP TABLE c_things;
DROP FOREIGN TABLE c_ticket, c_visit, c_artwork, c_artist, c_loan;
