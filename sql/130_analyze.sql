--
-- 130_analyze: ANALYZE reads the whole record type (CloudKit has no count,
-- no statistics and no server-side sampling) and keeps a random sample of
-- the rows; the planner then knows how many records a type has, and has
-- column statistics for conditions and joins.
--
\getenv ckemu_url CKEMU_URL
\getenv slow_url CKEMU_SLOW_URL
\getenv key_id CKFDW_KEY_ID
\getenv key_file CKFDW_KEY_FILE
SET timezone = 'UTC';
CREATE SCHEMA an;
SET search_path = an, public;

CREATE SERVER an_gallery FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'ckemu_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER an_gallery
	OPTIONS (key_id :'key_id', private_key_file :'key_file');

-- Ticket: 10,000 records, batch = serial % 100, four prices of 2,500 each
CREATE FOREIGN TABLE ticket (
	id text OPTIONS (system 'recordName'),
	serial bigint,
	batch bigint,
	price double precision,
	sold timestamptz
) SERVER an_gallery OPTIONS (record_type 'Ticket');

-- local tables to join with: 1,400 ticket names, and 4,000 sales by batch
CREATE TABLE wanted AS
	SELECT 'ticket-' || lpad((i * 7)::text, 5, '0') AS id FROM generate_series(0, 1399) i;
CREATE TABLE sale AS SELECT i % 100 AS batch, i AS qty FROM generate_series(1, 4000) i;
ANALYZE wanted, sale;

--
-- Never analyzed (reltuples -1): the planner assumes 1,000 records (five
-- requests) and the default selectivity of an equality (0.5%)
--
SELECT relpages, reltuples FROM pg_class WHERE oid = 'ticket'::regclass;
EXPLAIN SELECT * FROM ticket;
EXPLAIN SELECT * FROM ticket WHERE batch = 7;

-- so a join by record name with 1,400 local names looks cheaper as a scan
-- of the "1,000" records than as 7 lookups, and costs 50 requests
EXPLAIN (COSTS OFF) SELECT count(*), sum(t.serial) FROM wanted w JOIN ticket t ON t.id = w.id;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*), sum(t.serial) FROM wanted w JOIN ticket t ON t.id = w.id;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, records_out})'
-- and the 2,500 tickets of price 20 look like 5: they are put in the hash
EXPLAIN (COSTS OFF)
SELECT s.batch, count(*) FROM sale s JOIN ticket t ON t.batch = s.batch
WHERE t.price = 20 GROUP BY 1;

--
-- ANALYZE reads every record in pages of 200: 50 requests for 10,000
--
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
ANALYZE ticket;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, records_out})'
-- relpages is the number of requests the previous ANALYZE found (1 before
-- the first: ANALYZE learns the count only by reading)
SELECT relpages, reltuples FROM pg_class WHERE oid = 'ticket'::regclass;
-- the sample (up to 300 x the statistics target = 30,000 rows) holds every
-- record, so the statistics are exact
SELECT attname, null_frac, n_distinct, avg_width,
	array_length(most_common_vals::text::text[], 1) AS mcvs,
	(SELECT min(f) || '..' || max(f) FROM unnest(most_common_freqs) f) AS mcv_freqs,
	array_length(histogram_bounds::text::text[], 1) AS histogram
FROM pg_stats WHERE schemaname = 'an' AND tablename = 'ticket' ORDER BY attname;
SELECT most_common_vals, most_common_freqs FROM pg_stats
WHERE schemaname = 'an' AND tablename = 'ticket' AND attname = 'price';
-- the values went through the scan's conversion: the same as a SELECT reads
SELECT (histogram_bounds::text::text[])[1] AS first_id,
	(histogram_bounds::text::text[])[101] AS last_id,
	(SELECT (histogram_bounds::text::timestamptz[])[1] FROM pg_stats
	 WHERE schemaname = 'an' AND tablename = 'ticket' AND attname = 'sold') AS first_sold,
	(SELECT (histogram_bounds::text::timestamptz[])[101] FROM pg_stats
	 WHERE schemaname = 'an' AND tablename = 'ticket' AND attname = 'sold') AS last_sold
FROM pg_stats WHERE schemaname = 'an' AND tablename = 'ticket' AND attname = 'id';
SELECT min(id), max(id), min(sold), max(sold) FROM ticket;

--
-- The estimates now: 10,000 records in 50 requests; batch = 7 is 1% (100
-- records, one request); conditions CloudKit evaluates still lower the
-- requests
--
EXPLAIN SELECT * FROM ticket;
EXPLAIN SELECT * FROM ticket WHERE batch = 7;
EXPLAIN SELECT * FROM ticket WHERE batch IN (1, 2, 3) AND price = 20;
EXPLAIN SELECT * FROM ticket WHERE serial < 500;

-- the join by record name becomes 7 batched lookups (1,400 records)
EXPLAIN (COSTS OFF) SELECT count(*), sum(t.serial) FROM wanted w JOIN ticket t ON t.id = w.id;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*), sum(t.serial) FROM wanted w JOIN ticket t ON t.id = w.id;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, records_out})'
-- and the small local table is the one hashed
EXPLAIN (COSTS OFF)
SELECT s.batch, count(*) FROM sale s JOIN ticket t ON t.batch = s.batch
WHERE t.price = 20 GROUP BY 1;
SELECT count(*), sum(n) FROM (
	SELECT s.batch, count(*) AS n FROM sale s JOIN ticket t ON t.batch = s.batch
	WHERE t.price = 20 GROUP BY 1) j;

--
-- A sample smaller than the table: 3,000 rows (statistics target 10) out of
-- 10,000, picked at random from the whole type (reservoir sampling), not
-- the first 3,000; every record is still read and counted
--
SET default_statistics_target = 10;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
ANALYZE VERBOSE ticket;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, records_out})'
RESET default_statistics_target;
SELECT relpages, reltuples FROM pg_class WHERE oid = 'ticket'::regclass;
SELECT attname, n_distinct,
	array_length(histogram_bounds::text::text[], 1) AS histogram,
	(histogram_bounds::text::bigint[])[1] < 1000 AS low_first,
	(histogram_bounds::text::bigint[])[11] > 9000 AS high_last
FROM pg_stats WHERE schemaname = 'an' AND tablename = 'ticket' AND attname = 'serial';
SELECT n_distinct FROM pg_stats
WHERE schemaname = 'an' AND tablename = 'ticket' AND attname = 'batch';

--
-- The request asks for every field a column maps (desiredKeys), once each;
-- system columns need no key, and a field the records lack reads as NULL
--
CREATE FOREIGN TABLE exhibition (
	id text OPTIONS (system 'recordName'),
	title text,
	nosuch text,
	title_again text OPTIONS (field 'title'),
	modified timestamptz OPTIONS (system 'modifiedTimestamp')
) SERVER an_gallery OPTIONS (record_type 'Exhibition');
-- a table of system columns asks for no field at all
CREATE FOREIGN TABLE exhibition_name (id text OPTIONS (system 'recordName'))
	SERVER an_gallery OPTIONS (record_type 'Exhibition');
SET client_min_messages = log;
SET ckfdw.log_requests = on;
ANALYZE exhibition;
ANALYZE exhibition_name;
RESET ckfdw.log_requests;
RESET client_min_messages;
-- (the modification times depend on when ckemu loaded the records)
SELECT attname, null_frac, CASE WHEN attname <> 'modified' THEN n_distinct END AS n_distinct
FROM pg_stats WHERE schemaname = 'an' AND tablename = 'exhibition' ORDER BY attname;
SELECT relpages, reltuples FROM pg_class WHERE oid = 'exhibition'::regclass;
-- 1,000 records in five pages
CREATE FOREIGN TABLE visit_name (id text OPTIONS (system 'recordName'))
	SERVER an_gallery OPTIONS (record_type 'Visit');
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
ANALYZE visit_name;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, records_out})'
SELECT reltuples FROM pg_class WHERE oid = 'visit_name'::regclass;
-- an empty record type
CREATE FOREIGN TABLE all_types (id text OPTIONS (system 'recordName'))
	SERVER an_gallery OPTIONS (record_type 'AllTypes');
ANALYZE all_types;
SELECT relpages, reltuples FROM pg_class WHERE oid = 'all_types'::regclass;
EXPLAIN SELECT * FROM all_types;

--
-- A foreign table in an inheritance tree: ANALYZE of the parent samples the
-- CloudKit child too (PostgreSQL shares the sample out by relpages, and
-- leaves out children with none: a never analyzed type counts as one)
--
CREATE TABLE ticket_all (id text, serial bigint, batch bigint, price float8, sold timestamptz);
INSERT INTO ticket_all VALUES ('local-1', -1, 7, 1.5, '2015-01-01');
CREATE FOREIGN TABLE ticket_remote () INHERITS (ticket_all)
	SERVER an_gallery OPTIONS (record_type 'Ticket');
ALTER FOREIGN TABLE ticket_remote ALTER id OPTIONS (ADD system 'recordName');
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
ANALYZE ticket_all;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, records_out})'
SELECT attname, inherited, null_frac, n_distinct FROM pg_stats
WHERE schemaname = 'an' AND tablename = 'ticket_all' ORDER BY attname, inherited;

--
-- ANALYZE uses the table owner's user mapping, as postgres_fdw does
--
CREATE ROLE regress_ckfdw_analyze_owner;
CREATE FOREIGN TABLE owned (id text OPTIONS (system 'recordName'))
	SERVER an_gallery OPTIONS (record_type 'Exhibition');
ALTER FOREIGN TABLE owned OWNER TO regress_ckfdw_analyze_owner;
ANALYZE owned;
CREATE USER MAPPING FOR regress_ckfdw_analyze_owner SERVER an_gallery
	OPTIONS (key_id :'key_id', private_key_file :'key_file');
ANALYZE owned;
SELECT reltuples FROM pg_class WHERE oid = 'owned'::regclass;
DROP FOREIGN TABLE owned;
DROP USER MAPPING FOR regress_ckfdw_analyze_owner SERVER an_gallery;
DROP ROLE regress_ckfdw_analyze_owner;

--
-- Errors are CloudKit's, with its reason; nothing is stored
--
CREATE FOREIGN TABLE nosuch (id text OPTIONS (system 'recordName'))
	SERVER an_gallery OPTIONS (record_type 'NoSuchType');
ANALYZE nosuch;
SELECT reltuples FROM pg_class WHERE oid = 'nosuch'::regclass;
-- Loan lacks the "___recordID" index: CloudKit refuses unfiltered queries
CREATE FOREIGN TABLE loan (id text OPTIONS (system 'recordName'))
	SERVER an_gallery OPTIONS (record_type 'Loan');
ANALYZE loan;
-- a value its column cannot hold is an error naming column and record
CREATE FOREIGN TABLE bad_ticket (id text OPTIONS (system 'recordName'), price bigint)
	SERVER an_gallery OPTIONS (record_type 'Ticket');
ANALYZE bad_ticket;
SELECT count(*) FROM pg_stats WHERE schemaname = 'an' AND tablename = 'bad_ticket';
-- an error in the middle of the type (the third page) fails ANALYZE too
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "error", "serverErrorCode": "ACCESS_DENIED", "after": 2, "count": 1}]' >/dev/null
ANALYZE visit_name;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
SELECT reltuples FROM pg_class WHERE oid = 'visit_name'::regclass;

--
-- ANALYZE is cancellable like a scan: statement_timeout stops it while it
-- waits for a slow CloudKit (5 s an answer), and the session goes on
--
CREATE SERVER an_slow FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'slow_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER an_slow
	OPTIONS (key_id :'key_id', private_key_file :'key_file');
CREATE FOREIGN TABLE slow_ticket (id text OPTIONS (system 'recordName'), batch bigint)
	SERVER an_slow OPTIONS (record_type 'Ticket');
SET statement_timeout = '1s';
SELECT clock_timestamp() AS t0 \gset
ANALYZE slow_ticket;
SELECT clock_timestamp() - :'t0' < interval '2 s' AS stopped_within_2s;
RESET statement_timeout;
SELECT relpages, reltuples FROM pg_class WHERE oid = 'slow_ticket'::regclass;
SELECT count(*) FROM pg_stats WHERE schemaname = 'an' AND tablename = 'slow_ticket';
-- also in the middle of the type: the third page is slow
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "delay", "delayMs": 3000, "after": 2, "count": 1}]' >/dev/null
SET statement_timeout = '1s';
SELECT clock_timestamp() AS t0 \gset
ANALYZE visit_name;
SELECT clock_timestamp() - :'t0' < interval '2 s' AS stopped_within_2s;
RESET statement_timeout;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
ANALYZE visit_name;
SELECT reltuples FROM pg_class WHERE oid = 'visit_name'::regclass;

-- no straggler: ckemu drops the delayed requests whose clients went away,
-- and the suites after this one measure ckemu's stats, so wait (up to 30 s)
-- until nothing is in flight
\! for i in $(seq 300); do n=$(curl -s "$CKEMU_URL/_ckemu/stats" | jq .in_flight); [ "$n" = 0 ] && break; sleep 0.1; done; echo "ckemu requests in flight: $n"
DROP SCHEMA an CASCADE;
DROP SERVER an_gallery CASCADE;
DROP SERVER an_slow CASCADE;
RESET search_path;
