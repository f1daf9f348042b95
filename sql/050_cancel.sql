--
-- 050_cancel: statement_timeout and pg_cancel_backend stop a scan waiting
-- on a slow CloudKit (a ckemu that answers after 5 seconds) within about a
-- second, and the session and its client stay usable.
--
\getenv slow_url CKEMU_SLOW_URL
\getenv key_id CKFDW_KEY_ID
\getenv key_file CKFDW_KEY_FILE

CREATE SERVER slow FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'slow_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER slow
	OPTIONS (key_id :'key_id', private_key_file :'key_file');
CREATE FOREIGN TABLE slow_exhibition (id text OPTIONS (system 'recordName'))
	SERVER slow OPTIONS (record_type 'Exhibition');
CREATE FOREIGN TABLE fast_exhibition (id text OPTIONS (system 'recordName'))
	SERVER gallery OPTIONS (record_type 'Exhibition');

-- statement_timeout
SET statement_timeout = '1s';
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM slow_exhibition;
SELECT clock_timestamp() - :'t0' < interval '2 s' AS stopped_within_2s;
RESET statement_timeout;

-- the same session goes on working, on another server ...
SELECT count(*) FROM fast_exhibition;
-- ... and on the slow one: its client dropped the aborted connection
SELECT server_name, valid FROM ckfdw_get_connections() ORDER BY 1;
SET statement_timeout = '30s';
SELECT count(*) FROM slow_exhibition;
RESET statement_timeout;

-- in a transaction the timeout aborts only that transaction
BEGIN;
SET LOCAL statement_timeout = '500ms';
SELECT count(*) FROM slow_exhibition;
ROLLBACK;
SELECT count(*) FROM fast_exhibition;

-- pg_cancel_backend from another session, a second after the scan starts
\! (sleep 1; psql -X -q -d postgres -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT count(*) AS cancel_me%' AND pid <> pg_backend_pid()") >/dev/null 2>&1 &
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS cancel_me FROM slow_exhibition;
SELECT clock_timestamp() - :'t0' < interval '3 s' AS stopped_within_3s;
SELECT count(*) FROM fast_exhibition;

-- a cancel also stops the wait before a retry (THROTTLED, retryAfter 30 s)
\getenv ckemu_url CKEMU_URL
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "error", "serverErrorCode": "THROTTLED", "retryAfter": 30, "count": 0}]' >/dev/null
ALTER SERVER gallery OPTIONS (ADD max_retry_wait '60');
SET statement_timeout = '1s';
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM fast_exhibition;
SELECT clock_timestamp() - :'t0' < interval '2 s' AS stopped_within_2s;
RESET statement_timeout;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
ALTER SERVER gallery OPTIONS (DROP max_retry_wait);
SELECT count(*) FROM fast_exhibition;

-- a timeout in the middle of a multi-page scan (the second page is slow)
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "delay", "delayMs": 10000, "after": 1, "count": 1}]' >/dev/null
CREATE FOREIGN TABLE fast_visit (id text OPTIONS (system 'recordName'))
	SERVER gallery OPTIONS (record_type 'Visit');
SET statement_timeout = '1s';
SELECT count(*) FROM fast_visit;
RESET statement_timeout;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
SELECT count(*) FROM fast_visit;

-- request_timeout bounds a request even without statement_timeout
ALTER SERVER slow OPTIONS (ADD request_timeout '1s', max_retries '0');
SELECT clock_timestamp() AS t0 \gset
SELECT split_part(ckfdw_test_error('SELECT count(*) FROM slow_exhibition'), E'\n', 1);
SELECT clock_timestamp() - :'t0' < interval '3 s' AS stopped_within_3s;

-- a timeout while a write is in flight: the request is not sent again, and
-- the error says what may have been written
CREATE FOREIGN TABLE slow_probe (id text OPTIONS (system 'recordName'), s text)
	SERVER slow OPTIONS (record_type 'CancelProbe');
SET statement_timeout = '500ms';
INSERT INTO slow_probe VALUES ('cancel-1', 'a'), ('cancel-2', 'b');
RESET statement_timeout;
SELECT count(*) FROM fast_exhibition;

-- no straggler: ckemu drops the delayed requests whose clients went away,
-- and the suites after this one measure ckemu's stats, so wait (up to 30 s)
-- until nothing is in flight
\! for i in $(seq 300); do n=$(curl -s "$CKEMU_URL/_ckemu/stats" | jq .in_flight); [ "$n" = 0 ] && break; sleep 0.1; done; echo "ckemu requests in flight: $n"
DROP SERVER slow CASCADE;
DROP FOREIGN TABLE fast_exhibition, fast_visit;
