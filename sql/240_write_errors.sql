--
-- 240_write_errors: every error raised while a statement has written
-- records says how many, and checks against what ckemu holds: an answer
-- to records/modify that cannot be used (over max_response_size, not
-- JSON) leaves its request's outcome unknown and says so; a scan that
-- fails under an UPDATE or an INSERT ... SELECT after batches were sent,
-- and a local error after them, tell what was written.
--
\getenv ckemu_url CKEMU_URL
\getenv key_id CKFDW_KEY_ID
\getenv key_file CKFDW_KEY_FILE
\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
-- a schema of our own: other suites leave tables named like ours behind
CREATE SCHEMA write240;
SET search_path = write240, public;

-- record types the sample schema does not declare: development creates
-- them on write
CREATE FOREIGN TABLE item (
	id text OPTIONS (system 'recordName'),
	n bigint,
	v text
) SERVER gallery OPTIONS (record_type 'Item');
CREATE FOREIGN TABLE copy (
	id text OPTIONS (system 'recordName'),
	n bigint,
	v text
) SERVER gallery OPTIONS (record_type 'ItemCopy');

-- answers of at most 20kB: 50 created records of 300-byte strings are more
CREATE SERVER small_answers FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'ckemu_url',
	max_response_size '20kB', batch_size '50');
CREATE USER MAPPING FOR CURRENT_USER SERVER small_answers
	OPTIONS (key_id :'key_id', private_key_file :'key_file');
CREATE FOREIGN TABLE probe_small (
	id text OPTIONS (system 'recordName'),
	n bigint,
	s text
) SERVER small_answers OPTIONS (record_type 'WriteProbe');
CREATE FOREIGN TABLE probe (
	id text OPTIONS (system 'recordName'),
	n bigint,
	s text
) SERVER gallery OPTIONS (record_type 'WriteProbe');

-- the errors as psql shows them: what each statement reported, then
-- what ckemu holds
\set VERBOSITY default
-- one request at a time, so that the counts below are the same numbers
-- on every run; the last part has requests in flight
SET ckfdw.max_writes_in_flight = 1;

--
-- An answer over max_response_size: the first request was applied, its
-- outcome is unknown, and the statement stops there
--
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
INSERT INTO probe_small (id, n, s)
SELECT 'big-' || lpad(g::text, 3, '0'), g, repeat('x', 300) FROM generate_series(1, 200) g;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/modify"] | {requests, records_in}'
SELECT count(*) AS held FROM probe WHERE id LIKE 'big-%';
-- with insert_mode 'replace' a rerun is safe: it converges, and still
-- stops at the first answer, whose outcome it does not know
ALTER FOREIGN TABLE probe_small OPTIONS (ADD insert_mode 'replace');
INSERT INTO probe_small (id, n, s)
SELECT 'big-' || lpad(g::text, 3, '0'), g, repeat('x', 300) FROM generate_series(1, 200) g;
SELECT count(*) AS held, count(DISTINCT id) AS distinct_names FROM probe WHERE id LIKE 'big-%';
ALTER FOREIGN TABLE probe_small OPTIONS (DROP insert_mode);
DELETE FROM probe;

--
-- HTTP 200 with a body that is not JSON, for the second of four requests:
-- 50 records confirmed, 50 unknown (ckemu applied them), none after
--
ALTER FOREIGN TABLE probe OPTIONS (ADD batch_size '50');
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/modify", "after": 1, "count": 1, "action": "malformed"}]'
INSERT INTO probe (id, n) SELECT 'mal-' || lpad(g::text, 3, '0'), g FROM generate_series(1, 200) g;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
SELECT count(*) AS held FROM probe WHERE id LIKE 'mal-%';
-- the hint fits the statement: an UPDATE may not be safe to run again.
-- The 100 records are updated once, then again in two requests, of which
-- the second's answer is unusable (ckemu applied it)
UPDATE probe SET n = n + 1000 WHERE id LIKE 'mal-%';
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/modify", "after": 1, "count": 1, "action": "malformed"}]'
UPDATE probe SET n = n + 1000 WHERE id LIKE 'mal-%';
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
SELECT count(*) FILTER (WHERE n > 2000) AS twice, count(*) FILTER (WHERE n BETWEEN 1000 AND 2000) AS once
FROM probe;
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/modify", "after": 1, "count": 1, "action": "malformed"}]'
DELETE FROM probe;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
SELECT count(*) AS held FROM probe;
ALTER FOREIGN TABLE probe OPTIONS (DROP batch_size);
DELETE FROM probe;

--
-- A scan that fails under an UPDATE: the first page's 200 records were
-- updated before the second page came back malformed
--
INSERT INTO item (id, n, v) SELECT 'item-' || lpad(g::text, 4, '0'), g, 'orig'
FROM generate_series(0, 1599) g;
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "after": 1, "count": 1, "action": "malformed"}]'
UPDATE item SET v = 'upd' WHERE n < 500;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
SELECT count(*) FILTER (WHERE v = 'upd') AS updated FROM item;
-- the rerun converges
UPDATE item SET v = 'upd' WHERE n < 500;
SELECT count(*) FILTER (WHERE v = 'upd') AS updated, count(*) AS items FROM item;

--
-- The same under an INSERT ... SELECT from CloudKit, failing on the 8th
-- page: seven pages were read, six batches of 200 sent (the seventh was
-- still being filled)
--
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "after": 7, "count": 1, "action": "malformed"}]'
INSERT INTO copy (id, n, v) SELECT 'copy-' || id, n, v FROM item;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
SELECT count(*) AS copied FROM copy;
-- the rerun, with insert_mode 'replace', converges
ALTER FOREIGN TABLE copy OPTIONS (ADD insert_mode 'replace');
INSERT INTO copy (id, n, v) SELECT 'copy-' || id, n, v FROM item;
SELECT count(*) AS copied, count(DISTINCT id) AS distinct_names FROM copy;

--
-- A local error after batches were sent: a value that does not convert
--
DELETE FROM copy;
INSERT INTO copy (id, n, v)
(SELECT 'copy-' || id, n, v FROM item ORDER BY n LIMIT 500)
UNION ALL (SELECT 'copy-late', ('x' || n)::bigint, v FROM item WHERE n = 1);
SELECT count(*) AS copied FROM copy;
-- and a DELETE whose scan fails on its second page
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "after": 1, "count": 1, "action": "error", "serverErrorCode": "BAD_REQUEST", "reason": "injected"}]'
DELETE FROM item;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
SELECT count(*) AS items FROM item;

--
-- A statement that wrote nothing says nothing, even in a transaction
-- whose earlier statement wrote (and reported it)
--
BEGIN;
INSERT INTO item (id, n, v) VALUES ('item-x1', -1, 'x');
SELECT 1 / 0;
ROLLBACK;
SELECT 1 / 0;
SELECT count(*) AS items FROM item WHERE id = 'item-x1';

--
-- With requests in flight (ckfdw.max_writes_in_flight): how many were in
-- flight when the error came depends on the network, but the counts are
-- exact -- what the error says was written is held, and what is held is
-- at most that and the records whose outcome it says is unknown
--
SET ckfdw.max_writes_in_flight = 4;
CREATE FUNCTION pg_temp.write_counts(err text, OUT written bigint, OUT unknown bigint)
LANGUAGE sql AS $$
	SELECT coalesce((regexp_match(err, 'wrote (\d+) records? to CloudKit'))[1]::bigint, 0),
		coalesce((regexp_match(err, '\((\d+) records?\) is unknown'))[1]::bigint, 0)
$$;
-- statement_timeout, which EXCEPTION WHEN OTHERS does not catch
CREATE FUNCTION pg_temp.cancel_error(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	state text;
	msg text;
	det text;
BEGIN
	EXECUTE stmt;
	RETURN 'no error';
EXCEPTION WHEN query_canceled THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL;
	RETURN state || ': ' || msg || E'\nDETAIL: ' || det;
END
$$;
DELETE FROM probe;
ALTER FOREIGN TABLE probe OPTIONS (ADD batch_size '50');
-- an unusable answer to the second of eight requests
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/modify", "after": 1, "count": 1, "action": "malformed"}]'
SELECT ckfdw_test_error($$INSERT INTO probe (id, n)
	SELECT 'pmal-' || lpad(g::text, 3, '0'), g FROM generate_series(1, 400) g$$) AS err \gset
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
SELECT split_part(:'err', E'\n', 1) AS error, (c).unknown FROM pg_temp.write_counts(:'err') c;
SELECT held BETWEEN written AND written + unknown AS counted
FROM pg_temp.write_counts(:'err'),
	(SELECT count(*) AS held FROM probe WHERE id LIKE 'pmal-%') h;
-- a scan that fails under an INSERT ... SELECT: requests still in flight
-- are cancelled, and CloudKit may have applied them
DELETE FROM copy;
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "after": 3, "count": 1, "action": "malformed"}]'
SELECT split_part(ckfdw_test_error($$INSERT INTO copy (id, n, v)
	SELECT 'copy-' || id, n, v FROM item$$), E'\n', 1) AS error;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
SELECT count(*) BETWEEN 0 AND 600 AS at_most_three_pages FROM copy;
-- statement_timeout while requests wait on a slow CloudKit: the cancel
-- says what was written, and nothing stays in flight
DELETE FROM probe;
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/modify", "after": 2, "count": 0, "action": "delay", "delayMs": 2000}]'
SET statement_timeout = '500ms';
SELECT pg_temp.cancel_error($$INSERT INTO probe (id, n)
	SELECT 'pslow-' || lpad(g::text, 3, '0'), g FROM generate_series(1, 400) g$$) AS err \gset
RESET statement_timeout;
SELECT split_part(:'err', E'\n', 1) AS error;
SELECT count(*) AS batches FROM pg_backend_memory_contexts WHERE name = 'ckfdw write batch';
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
-- (ckemu applies a delayed request after the client has gone)
SELECT pg_sleep(2.5);
SELECT held BETWEEN written AND written + unknown AS counted
FROM pg_temp.write_counts(:'err'),
	(SELECT count(*) AS held FROM probe WHERE id LIKE 'pslow-%') h;
-- the session goes on
INSERT INTO probe (id, n) VALUES ('pafter', 1);
SELECT count(*) FROM probe WHERE id = 'pafter';
RESET ckfdw.max_writes_in_flight;

\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
DROP FOREIGN TABLE item, copy, probe, probe_small;
DROP SERVER small_answers CASCADE;
RESET search_path;
DROP SCHEMA write240;
