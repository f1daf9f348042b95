--
-- 120_pushdown_stats: what pushdown saves, counted by ckemu (requests and
-- records sent per operation), each with pushdown on and then off; and
-- the fallback when CloudKit refuses a filter or sort on a field without
-- an index.
--
\getenv ckemu_url CKEMU_URL
SET timezone = 'UTC';
CREATE SCHEMA ps;
SET search_path = ps, public;

CREATE FOREIGN TABLE ticket (
	id text OPTIONS (system 'recordName'),
	serial bigint,
	batch bigint,
	price double precision,
	sold timestamptz
) SERVER gallery OPTIONS (record_type 'Ticket');
CREATE FOREIGN TABLE artwork (
	id text OPTIONS (system 'recordName'),
	title text,
	year bigint,
	notes text,
	dimensions double precision[]
) SERVER gallery OPTIONS (record_type 'Artwork');
CREATE FOREIGN TABLE artist (
	id text OPTIONS (system 'recordName'),
	name text,
	website text
) SERVER gallery OPTIONS (record_type 'Artist');

--
-- A 1% filter on the 10,000 tickets: CloudKit sends the 100 matching
-- records, in one request; without pushdown all 10,000 in 50
--
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*), sum(serial) FROM ticket WHERE batch = 7;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, records_out})'
SET ckfdw.enable_filter_pushdown = off;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*), sum(serial) FROM ticket WHERE batch = 7;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'
RESET ckfdw.enable_filter_pushdown;

-- two conditions, 0.25%: 25 records
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*), min(serial), max(serial) FROM ticket WHERE batch = 7 AND price >= 17.5 AND sold < '2015-08-01';
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'

--
-- LIMIT 5 with a pushed filter: one request, five records (resultsLimit);
-- without limit pushdown the first page (100 records) is fetched; without
-- any pushdown until 5 rows passed the local filter
--
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT id, serial FROM ticket WHERE batch = 7 LIMIT 5;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'
SET ckfdw.enable_limit_pushdown = off;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT id, serial FROM ticket WHERE batch = 7 LIMIT 5;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'
SET ckfdw.enable_filter_pushdown = off;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT id, serial FROM ticket WHERE batch = 7 LIMIT 5;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'
RESET ckfdw.enable_filter_pushdown;
RESET ckfdw.enable_limit_pushdown;

-- ORDER BY ... LIMIT ... OFFSET, sorted by CloudKit: OFFSET + LIMIT records
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT id, serial FROM ticket WHERE batch = 7 ORDER BY serial DESC LIMIT 3 OFFSET 2;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'
-- ... and more than a page: the scan stops after 250 records
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*), min(serial), max(serial) FROM (SELECT serial FROM ticket ORDER BY sold DESC LIMIT 250) s;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'
SET ckfdw.enable_sort_pushdown = off;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*), min(serial), max(serial) FROM (SELECT serial FROM ticket ORDER BY sold DESC LIMIT 250) s;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'
RESET ckfdw.enable_sort_pushdown;

--
-- Record names: records/lookup reads only the records named, 200 names per
-- request at most
--
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT id, serial FROM ticket WHERE id IN ('ticket-00042', 'ticket-09999', 'ticket-10000');
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, records_out})'
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*), sum(serial) FROM ticket
WHERE id = ANY(ARRAY(SELECT format('ticket-%s', lpad(g::text, 5, '0')) FROM generate_series(1, 450) g));
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, records_out})'

-- a join of 50 local rows by record name: one records/lookup request for
-- the 50 names (CloudKit Lookup Join), where a scan would read all 3,000
-- artworks in 15 requests
CREATE TEMP TABLE wanted AS
	SELECT format('artwork-%s', lpad((g * 7)::text, 5, '0')) AS name FROM generate_series(1, 50) g;
ANALYZE wanted;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*), count(a.title), min(a.id), max(a.id) FROM wanted w JOIN artwork a ON a.id = w.name;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, records_out})'
SET ckfdw.enable_lookup = off;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*), count(a.title), min(a.id), max(a.id) FROM wanted w JOIN artwork a ON a.id = w.name;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, records_out})'
RESET ckfdw.enable_lookup;
-- 450 outer rows: three requests (200 + 200 + 50 names)
CREATE TEMP TABLE many AS
	SELECT format('ticket-%s', lpad((g * 20)::text, 5, '0')) AS name FROM generate_series(1, 450) g;
ANALYZE many;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*), sum(t.serial) FROM many m JOIN ticket t ON t.id = m.name;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | map_values({requests, records_out})'
-- EXPLAIN ANALYZE counts them too
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
	SELECT count(*) FROM many m JOIN ticket t ON t.id = m.name;

-- a parameter that changes per outer row: one request per rescan, each
-- with only the matching records
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT n, s.cnt FROM (VALUES (1), (2), (3)) v(n),
	LATERAL (SELECT count(*) AS cnt FROM ticket WHERE ticket.batch = v.n) s ORDER BY n;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'

--
-- A field without an index: CloudKit refuses the filter; the scan says so,
-- asks again without it, and evaluates the condition itself.  The rows
-- are those of a scan without pushdown.
--
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*), min(id), max(id) FROM artwork WHERE notes LIKE 'Restauré%' AND year > 1900;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'
SET ckfdw.enable_filter_pushdown = off;
SELECT count(*), min(id), max(id) FROM artwork WHERE notes LIKE 'Restauré%' AND year > 1900;
RESET ckfdw.enable_filter_pushdown;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
	SELECT count(*) FROM artwork WHERE notes LIKE 'Restauré%' AND year > 1900;
-- ... also when the refused condition limits a pushed LIMIT
SELECT id, year FROM artwork WHERE 1114.8 = ANY(dimensions) AND year > 1900 ORDER BY year DESC LIMIT 2;
SET ckfdw.enable_filter_pushdown = off;
SELECT id, year FROM artwork WHERE 1114.8 = ANY(dimensions) AND year > 1900 ORDER BY year DESC LIMIT 2;
RESET ckfdw.enable_filter_pushdown;
-- ... and a refused sort is done locally
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
	SELECT id, website FROM artist ORDER BY website COLLATE "C" LIMIT 3;
SELECT id, website FROM artist ORDER BY website COLLATE "C" LIMIT 3;
SET ckfdw.enable_sort_pushdown = off;
SELECT id, website FROM artist ORDER BY website COLLATE "C" LIMIT 3;
RESET ckfdw.enable_sort_pushdown;
-- the column option says what the schema lacks: no refusal, no notice
ALTER FOREIGN TABLE artwork ALTER COLUMN notes OPTIONS (ADD queryable 'false', sortable 'false');
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*), min(id), max(id) FROM artwork WHERE notes LIKE 'Restauré%' AND year > 1900;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'

-- a type without a "___recordID" index refuses unfiltered queries: a
-- pushed filter makes them possible
CREATE FOREIGN TABLE loan (
	id text OPTIONS (system 'recordName'),
	borrower text,
	starts timestamptz
) SERVER gallery OPTIONS (record_type 'Loan');
SELECT count(*) FROM loan WHERE starts > '2000-01-01';
SET ckfdw.enable_filter_pushdown = off;
SELECT count(*) FROM loan WHERE starts > '2000-01-01';
RESET ckfdw.enable_filter_pushdown;

-- a field CloudKit does not know (a typo in the column name): the column
-- reads as NULL, and the condition on it is evaluated locally too
CREATE FOREIGN TABLE ticket_typo (
	id text OPTIONS (system 'recordName'),
	batch bigint,
	bacth bigint
) SERVER gallery OPTIONS (record_type 'Ticket');
SELECT count(*) FROM ticket_typo WHERE batch = 7 AND bacth = 7;
SET ckfdw.enable_filter_pushdown = off;
SELECT count(*) FROM ticket_typo WHERE batch = 7 AND bacth = 7;
RESET ckfdw.enable_filter_pushdown;

DROP SCHEMA ps CASCADE;
