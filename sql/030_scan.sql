--
-- 030_scan: paging, request counts (from ckemu's statistics), LIMIT,
-- EXPLAIN, ReScan, flat memory, and the client cache.
--
\getenv ckemu_url CKEMU_URL
SET timezone = 'UTC';
-- this suite tests the scan itself (pages, rescans, LIMIT above the scan):
-- conditions, limits and joins stay local here; pushdown is tested by
-- sql/1*.sql
SET ckfdw.enable_filter_pushdown = off;
SET ckfdw.enable_limit_pushdown = off;
SET ckfdw.enable_lookup = off;

-- Visit has exactly 1,000 records, Ticket 10,000, Exhibition 60
CREATE FOREIGN TABLE visit (
	id text OPTIONS (system 'recordName'),
	exhibition text OPTIONS (type 'REFERENCE'),
	visitor text,
	visited_at timestamptz OPTIONS (field 'visitedAt'),
	party_size bigint OPTIONS (field 'partySize'),
	member boolean,
	spent double precision
) SERVER gallery OPTIONS (record_type 'Visit');
CREATE FOREIGN TABLE ticket (
	id text OPTIONS (system 'recordName'),
	serial bigint,
	batch bigint,
	price double precision,
	sold timestamptz
) SERVER gallery OPTIONS (record_type 'Ticket');
CREATE FOREIGN TABLE exhibition_s (
	id text OPTIONS (system 'recordName'),
	title text,
	free boolean
) SERVER gallery OPTIONS (record_type 'Exhibition');

\set seed_visit `jq -c '[.seeds[] | select(.database == "public") | .records[] | select(.recordType == "Visit")]' test/data/gallery.json`
CREATE TEMP TABLE seed_visit AS
	SELECT r->>'recordName' AS id, r->'fields' AS f
	FROM jsonb_array_elements(:'seed_visit'::jsonb) r;

--
-- EXPLAIN shows the operation, the record type, the zone and the database;
-- VERBOSE adds the exact request body
--
EXPLAIN (COSTS OFF) SELECT * FROM visit;
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM visit;
EXPLAIN (VERBOSE, COSTS OFF) SELECT visitor FROM visit WHERE party_size > 3;
EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FROM visit;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, visited_at FROM visit;
EXPLAIN (VERBOSE, COSTS OFF) SELECT v FROM visit v;
EXPLAIN (VERBOSE, COSTS OFF)
	SELECT v.visitor, e.title FROM visit v JOIN exhibition_s e ON v.exhibition = e.id;
EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON) SELECT visitor FROM visit LIMIT 5;
-- a 1,000-record table is costed as five requests, a single page as one
EXPLAIN SELECT * FROM visit;
ALTER FOREIGN TABLE visit OPTIONS (ADD page_size '50');
EXPLAIN SELECT * FROM visit;
ALTER FOREIGN TABLE visit OPTIONS (DROP page_size);

--
-- 1,000 records in pages of 200: exactly five records/query requests, and
-- every record read once, equal to the seed
--
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*), count(DISTINCT id) AS distinct_ids, min(id), max(id),
	sum(party_size) AS party_sizes
FROM visit;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'

SELECT count(*) AS records,
	count(*) FILTER (WHERE v.id IS NULL OR s.id IS NULL) AS unmatched,
	count(*) FILTER (WHERE v.exhibition IS DISTINCT FROM s.f #>> '{exhibition,value,recordName}') AS exhibition,
	count(*) FILTER (WHERE v.visitor IS DISTINCT FROM s.f #>> '{visitor,value}') AS visitor,
	count(*) FILTER (WHERE v.visited_at IS DISTINCT FROM
		timestamptz 'epoch' + (s.f #>> '{visitedAt,value}')::bigint * interval '1 ms') AS visited_at,
	count(*) FILTER (WHERE v.party_size IS DISTINCT FROM (s.f #>> '{partySize,value}')::bigint) AS party_size,
	count(*) FILTER (WHERE v.member IS DISTINCT FROM ((s.f #>> '{member,value}')::int = 1)) AS member,
	count(*) FILTER (WHERE v.spent IS DISTINCT FROM (s.f #>> '{spent,value}')::float8) AS spent
FROM visit v FULL JOIN seed_visit s ON v.id = s.id;

-- page_size 50 (a table option): twenty requests for the same records
ALTER FOREIGN TABLE visit OPTIONS (ADD page_size '50');
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*), count(DISTINCT id) AS distinct_ids FROM visit;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'
-- or a server option, which the table's own option overrides
ALTER FOREIGN TABLE visit OPTIONS (DROP page_size);
ALTER SERVER gallery OPTIONS (ADD page_size '100');
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*) FROM visit;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'
ALTER SERVER gallery OPTIONS (DROP page_size);

-- LIMIT stops early: the first page only, or as many as needed
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT id, visitor FROM visit LIMIT 3;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*) FROM (SELECT id FROM visit LIMIT 450) s;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'

-- fields no column needs are not requested: count(*) asks for none, and
-- CloudKit sends less than for a whole-row reference
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*) FROM visit;
\set bytes_none `curl -s "$CKEMU_URL/_ckemu/stats" | jq '.operations["records/query"].bytes_out'`
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(v.*) FROM visit v;
\set bytes_all `curl -s "$CKEMU_URL/_ckemu/stats" | jq '.operations["records/query"].bytes_out'`
SELECT :bytes_none < :bytes_all * 0.8 AS fewer_bytes;

-- EXPLAIN ANALYZE counts the requests and records
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM visit;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM visit LIMIT 10;

--
-- 10,000 records: memory stays flat, pages are not accumulated.  The
-- backend's resident size is sampled every 500 rows while the scan runs.
--
CREATE FUNCTION pg_temp.rss_kb() RETURNS bigint LANGUAGE sql VOLATILE
	RETURN (regexp_match(pg_read_file('/proc/self/status'), 'VmRSS:\s+(\d+)'))[1]::bigint;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*) AS tickets, sum(serial) AS serials, count(DISTINCT id) AS distinct_ids,
	max(rss) FILTER (WHERE n > 9000) - max(rss) FILTER (WHERE n <= 1000) < 2048 AS flat_memory
FROM (
	SELECT t.id, t.serial, row_number() OVER () AS n,
		CASE WHEN t.serial % 500 = 0 THEN pg_temp.rss_kb() END AS rss
	FROM ticket t
) s;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'

--
-- ReScan.  A local copy is the reference.
--
CREATE TEMP TABLE local_visit AS SELECT * FROM visit;
CREATE TEMP TABLE local_exhibition AS SELECT * FROM exhibition_s;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;

-- a parameter changes (LATERAL): every rescan asks CloudKit again, from the
-- first page: 3 outer rows x 5 pages
EXPLAIN (COSTS OFF)
SELECT n, s.cnt FROM (VALUES (1), (2), (3)) v(n),
	LATERAL (SELECT count(*) AS cnt FROM visit WHERE visit.party_size = v.n) s;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT n, s.cnt,
	(SELECT count(*) FROM local_visit l WHERE l.party_size = v.n) AS expected,
	s.visitors = (SELECT string_agg(visitor, ',' ORDER BY id) FROM local_visit l
				  WHERE l.party_size = v.n) AS same_visitors
FROM (VALUES (1), (2), (3)) v(n),
	LATERAL (SELECT count(*) AS cnt, string_agg(visitor, ',' ORDER BY id) AS visitors
			 FROM visit WHERE visit.party_size = v.n) s
ORDER BY n;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'

-- no parameter, several pages: each rescan starts again from the first page
EXPLAIN (COSTS OFF)
SELECT v.n, count(x.id) FROM (VALUES (1), (2), (3)) v(n)
	LEFT JOIN visit x ON x.party_size = v.n GROUP BY v.n;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT v.n, count(x.id) AS cnt,
	(SELECT count(*) FROM local_visit l WHERE l.party_size = v.n) AS expected
FROM (VALUES (1), (2), (3)) v(n)
	LEFT JOIN visit x ON x.party_size = v.n
GROUP BY v.n ORDER BY v.n;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'

-- no parameter, the whole result in one page: rescans replay it (one request)
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT v.n, count(e.id) AS cnt,
	(SELECT count(*) FROM local_exhibition l WHERE l.free = (v.n = 1)) AS expected
FROM (VALUES (1), (2), (3)) v(n)
	LEFT JOIN exhibition_s e ON e.free = (v.n = 1)
GROUP BY v.n ORDER BY v.n;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'

-- a join of two foreign tables equals the join of the local copies
SELECT count(*), count(DISTINCT v.id) FROM visit v JOIN exhibition_s e ON v.exhibition = e.id;
SELECT count(*), count(DISTINCT v.id) FROM local_visit v JOIN local_exhibition e ON v.exhibition = e.id;
(SELECT v.id, e.title FROM visit v JOIN exhibition_s e ON v.exhibition = e.id
 EXCEPT SELECT v.id, e.title FROM local_visit v JOIN local_exhibition e ON v.exhibition = e.id)
UNION ALL
(SELECT v.id, e.title FROM local_visit v JOIN local_exhibition e ON v.exhibition = e.id
 EXCEPT SELECT v.id, e.title FROM visit v JOIN exhibition_s e ON v.exhibition = e.id);
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;

-- a cursor reads page by page as it is fetched (a cursor may stop early:
-- it reads the next page ahead once half of a page is used)
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM visit;
FETCH 2 FROM c;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'
MOVE 399 FROM c;
FETCH 1 FROM c;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'
CLOSE c;
COMMIT;

--
-- The request log (ckfdw.log_requests): operation and body, never a key
--
SET client_min_messages = log;
SET ckfdw.log_requests = on;
SELECT count(*) FROM exhibition_s;
RESET ckfdw.log_requests;
RESET client_min_messages;

--
-- The client cache: one client per user mapping, dropped when the server or
-- the user mapping changes, or on request
--
SELECT ckfdw_disconnect_all();
SELECT * FROM ckfdw_get_connections();
SELECT count(*) FROM exhibition_s;
SELECT server_name, user_name = current_user AS current_user, valid, requests
FROM ckfdw_get_connections();
SELECT count(*) FROM exhibition_s;
SELECT server_name, valid, requests FROM ckfdw_get_connections();
-- a change of the server drops the idle client
ALTER SERVER gallery OPTIONS (ADD max_retries '3');
SELECT server_name, valid, requests FROM ckfdw_get_connections();
SELECT count(*) FROM exhibition_s;
SELECT server_name, valid, requests FROM ckfdw_get_connections();
-- ... and marks a busy one, dropped when its scan ends
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM visit;
FETCH 1 FROM c;
ALTER SERVER gallery OPTIONS (DROP max_retries);
SELECT server_name, valid FROM ckfdw_get_connections();
SELECT ckfdw_disconnect('gallery');
MOVE 998 FROM c;
FETCH 1 FROM c;
CLOSE c;
SELECT server_name, valid FROM ckfdw_get_connections();
COMMIT;
-- a change of the user mapping drops it too
SELECT count(*) FROM exhibition_s;
SELECT server_name, valid FROM ckfdw_get_connections();
\getenv key_file CKFDW_KEY_FILE
ALTER USER MAPPING FOR CURRENT_USER SERVER gallery OPTIONS (SET private_key_file :'key_file');
SELECT server_name, valid FROM ckfdw_get_connections();
SELECT count(*) FROM exhibition_s;
SELECT ckfdw_disconnect('gallery');
SELECT ckfdw_disconnect('gallery');
SELECT ckfdw_disconnect('no_such_server');
SELECT * FROM ckfdw_get_connections();

--
-- Read-ahead.  A query that wants every row asks for the next page as soon
-- as a page is in: while the first row is read, ckemu has had (or, for a
-- moment, will have) two records/query requests.
--
\getenv ckemu_url CKEMU_URL
SELECT set_config('scan030.url', :'ckemu_url', false) IS NOT NULL AS url_set;
CREATE FUNCTION ckemu_queries_seen(want int) RETURNS int
LANGUAGE plpgsql AS $fn$
DECLARE
	n int;
BEGIN
	CREATE TEMP TABLE IF NOT EXISTS ck_seen (n int);
	TRUNCATE ck_seen;
	EXECUTE format('COPY ck_seen FROM PROGRAM %L',
		format('for i in $(seq 300); do n=$(curl -s %s/_ckemu/stats | jq ''.operations["records/query"].requests''); [ "$n" -ge %s ] && break; sleep 0.1; done; echo $n',
			current_setting('scan030.url'), want));
	SELECT ck_seen.n INTO n FROM ck_seen;
	RETURN n;
END
$fn$;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*), max(seen) AS requests_seen_at_first_row
FROM (SELECT id, CASE WHEN id = 'visit-0001' THEN ckemu_queries_seen(2) END AS seen
      FROM visit) s;
-- a cursor (which may stop early) asks once half of the page is used: one
-- row costs one request, 150 rows two
BEGIN;
DECLARE ahead CURSOR FOR SELECT id FROM visit;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
FETCH 1 FROM ahead;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests}'
MOVE 149 FROM ahead;
\! for i in $(seq 300); do n=$(curl -s "$CKEMU_URL/_ckemu/stats" | jq '.operations["records/query"].requests'); [ "$n" = 2 ] && break; sleep 0.1; done; echo "records/query requests after 150 rows: $n"
CLOSE ahead;
COMMIT;
-- off: one page at a time
SET ckfdw.read_ahead = off;
BEGIN;
DECLARE ahead CURSOR FOR SELECT id FROM visit;
\! for i in $(seq 300); do n=$(curl -s "$CKEMU_URL/_ckemu/stats" | jq .in_flight); [ "$n" = 0 ] && break; sleep 0.1; done
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
MOVE 199 FROM ahead;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests}'
CLOSE ahead;
COMMIT;
RESET ckfdw.read_ahead;
-- the rows are the same either way
SELECT count(*), count(DISTINCT id), sum(party_size) FROM visit;
SET ckfdw.read_ahead = off;
SELECT count(*), count(DISTINCT id), sum(party_size) FROM visit;
RESET ckfdw.read_ahead;
DROP FUNCTION ckemu_queries_seen(int);
