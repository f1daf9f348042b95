--
-- 040_errors: CloudKit's errors, transport failures and key problems become
-- PostgreSQL errors with the right SQLSTATE, CloudKit's reason in the
-- detail, a hint and a context; no error ever shows key material.
--
\getenv ckemu_url CKEMU_URL
\getenv key_id CKFDW_KEY_ID
\getenv key_file CKFDW_KEY_FILE
\getenv other_key_file CKFDW_OTHER_KEY_FILE
\getenv rsa_key_file CKFDW_RSA_KEY_FILE

-- the SQLSTATE of an error (and its text, paths masked)
CREATE FUNCTION pg_temp.sqlstate_of(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END
$$;

--
-- CloudKit rejects the request: BAD_REQUEST with its reason
--
CREATE FOREIGN TABLE no_such_type (id text OPTIONS (system 'recordName'))
	SERVER gallery OPTIONS (record_type 'Sculpture');
SELECT * FROM no_such_type;
SELECT pg_temp.sqlstate_of('SELECT * FROM no_such_type');

-- Loan has no "___recordID" index: an unfiltered query is refused
CREATE FOREIGN TABLE loan (id text OPTIONS (system 'recordName'), borrower text)
	SERVER gallery OPTIONS (record_type 'Loan');
SELECT * FROM loan;

-- an unknown zone
CREATE FOREIGN TABLE artist_elsewhere (id text OPTIONS (system 'recordName'))
	SERVER gallery OPTIONS (record_type 'Artist', zone 'Archive');
SELECT * FROM artist_elsewhere;
SELECT pg_temp.sqlstate_of('SELECT * FROM artist_elsewhere');

--
-- Authentication
--
CREATE SERVER gallery_keys FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'ckemu_url');
CREATE FOREIGN TABLE artist_k (id text OPTIONS (system 'recordName'))
	SERVER gallery_keys OPTIONS (record_type 'Artist');

-- a valid P-256 key that CloudKit does not know: 28000
CREATE USER MAPPING FOR CURRENT_USER SERVER gallery_keys
	OPTIONS (key_id :'key_id', private_key_file :'other_key_file');
SELECT count(*) FROM artist_k;
SELECT pg_temp.sqlstate_of('SELECT count(*) FROM artist_k');
-- a key ID CloudKit does not know: 28000
ALTER USER MAPPING FOR CURRENT_USER SERVER gallery_keys
	OPTIONS (SET key_id 'no-such-key', SET private_key_file :'key_file');
SELECT count(*) FROM artist_k;
SELECT pg_temp.sqlstate_of('SELECT count(*) FROM artist_k');
-- the right key works in the same session
ALTER USER MAPPING FOR CURRENT_USER SERVER gallery_keys OPTIONS (SET key_id :'key_id');
SELECT count(*) FROM artist_k;

-- a key file that does not exist, at first use
ALTER USER MAPPING FOR CURRENT_USER SERVER gallery_keys
	OPTIONS (SET private_key_file '/nonexistent/ckfdw/key.pem');
SELECT count(*) FROM artist_k;
SELECT pg_temp.sqlstate_of('SELECT count(*) FROM artist_k');
-- an RSA key: not an EC P-256 key
ALTER USER MAPPING FOR CURRENT_USER SERVER gallery_keys
	OPTIONS (SET private_key_file :'rsa_key_file');
SELECT ckfdw_test_error('SELECT count(*) FROM artist_k');
-- a file that is not a key at all: its contents are not shown
ALTER USER MAPPING FOR CURRENT_USER SERVER gallery_keys
	OPTIONS (SET private_key_file '/etc/passwd');
SELECT count(*) FROM artist_k;
-- a directory
ALTER USER MAPPING FOR CURRENT_USER SERVER gallery_keys
	OPTIONS (SET private_key_file '/');
SELECT ckfdw_test_error('SELECT count(*) FROM artist_k');

-- an API token CloudKit does not accept: 28000, and the token never shows
ALTER USER MAPPING FOR CURRENT_USER SERVER gallery_keys
	OPTIONS (DROP key_id, DROP private_key_file, ADD api_token 'tok-3f9a7c-sekrit');
SELECT count(*) FROM artist_k;
SELECT pg_temp.sqlstate_of('SELECT count(*) FROM artist_k');

--
-- Secrets never appear in EXPLAIN output or in errors
--
\set ec_pem `cat "$CKFDW_OTHER_KEY_FILE"`
\set pem_body `sed -n 2p "$CKFDW_OTHER_KEY_FILE"`
ALTER USER MAPPING FOR CURRENT_USER SERVER gallery_keys
	OPTIONS (DROP api_token, ADD key_id :'key_id', ADD private_key :'ec_pem');
CREATE FUNCTION pg_temp.leaks(stmt text, secrets text[]) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	out text := '';
	line text;
	msg text;
	det text;
	hnt text;
	ctx text;
	s text;
BEGIN
	BEGIN
		FOR line IN EXECUTE stmt LOOP
			out := out || line || E'\n';
		END LOOP;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
			hnt = PG_EXCEPTION_HINT, ctx = PG_EXCEPTION_CONTEXT;
		out := out || msg || E'\n' || det || E'\n' || hnt || E'\n' || ctx;
	END;
	FOREACH s IN ARRAY secrets LOOP
		IF position(s IN out) > 0 THEN
			RETURN 'LEAKED';
		END IF;
	END LOOP;
	RETURN CASE WHEN out = '' THEN 'no output' ELSE 'clean' END;
END
$$;
SELECT pg_temp.leaks('EXPLAIN (VERBOSE) SELECT * FROM artist_k',
	ARRAY[:'pem_body', 'PRIVATE KEY']);
SELECT pg_temp.leaks('EXPLAIN (ANALYZE, VERBOSE) SELECT * FROM artist_k',
	ARRAY[:'pem_body', 'PRIVATE KEY', 'Signature']);
ALTER USER MAPPING FOR CURRENT_USER SERVER gallery_keys
	OPTIONS (DROP key_id, DROP private_key, ADD api_token 'tok-3f9a7c-sekrit',
			 ADD web_auth_token 'web-77d1-sekrit');
SELECT pg_temp.leaks('SELECT * FROM artist_k', ARRAY['sekrit', '3f9a7c', '77d1']);
SELECT pg_temp.leaks('EXPLAIN (VERBOSE) SELECT * FROM artist_k', ARRAY['sekrit']);
SET ckfdw.log_requests = on;
SET client_min_messages = log;
SELECT pg_temp.leaks('SELECT * FROM artist_k', ARRAY['sekrit']);
RESET client_min_messages;
RESET ckfdw.log_requests;
DROP SERVER gallery_keys CASCADE;

--
-- Retries: THROTTLED is retried after retryAfter seconds; when retries run
-- out the hint says how long to wait.  (ckemu's fault injection.)
--
CREATE FOREIGN TABLE exhibition_e (id text OPTIONS (system 'recordName'))
	SERVER gallery OPTIONS (record_type 'Exhibition');
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "error", "serverErrorCode": "THROTTLED", "retryAfter": 1, "count": 1}]' >/dev/null
SELECT count(*) FROM exhibition_e;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests}'
ALTER SERVER gallery OPTIONS (ADD max_retries '2');
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "error", "serverErrorCode": "THROTTLED", "retryAfter": 1, "count": 0}]' >/dev/null
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT ckfdw_test_error('SELECT count(*) FROM exhibition_e');
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests}'
-- TRY_AGAIN_LATER without retryAfter: the table's hint
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "error", "serverErrorCode": "TRY_AGAIN_LATER", "count": 0}]' >/dev/null
ALTER SERVER gallery OPTIONS (SET max_retries '0');
SELECT count(*) FROM exhibition_e;
SELECT pg_temp.sqlstate_of('SELECT count(*) FROM exhibition_e');
-- ACCESS_DENIED: 42501, not retried
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "error", "serverErrorCode": "ACCESS_DENIED", "reason": "READ operation not permitted", "count": 0}]' >/dev/null
ALTER SERVER gallery OPTIONS (SET max_retries '2');
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*) FROM exhibition_e;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests}'
SELECT pg_temp.sqlstate_of('SELECT count(*) FROM exhibition_e');

-- an error on the third page of five: the scan fails, it does not end early
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "error", "serverErrorCode": "INTERNAL_ERROR", "after": 2, "count": 0}]' >/dev/null
CREATE FOREIGN TABLE visit_e (id text OPTIONS (system 'recordName'))
	SERVER gallery OPTIONS (record_type 'Visit');
ALTER SERVER gallery OPTIONS (SET max_retries '1');
SELECT count(*) FROM visit_e;

-- a malformed or truncated body: 08P01
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "malformed", "count": 0}]' >/dev/null
SELECT pg_temp.sqlstate_of('SELECT count(*) FROM exhibition_e');
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "truncate", "count": 0}]' >/dev/null
SELECT pg_temp.sqlstate_of('SELECT count(*) FROM exhibition_e');
-- a dropped connection: retried (a query is idempotent), then 08006
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "drop_before", "count": 1}]' >/dev/null
SELECT count(*) FROM exhibition_e;
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "drop_before", "count": 0}]' >/dev/null
SELECT pg_temp.sqlstate_of('SELECT count(*) FROM exhibition_e');
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
ALTER SERVER gallery OPTIONS (DROP max_retries);

-- nothing listens: 08006 after the retries
CREATE SERVER closed FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url 'http://127.0.0.1:1',
	max_retries '1', max_retry_wait '10ms');
CREATE USER MAPPING FOR CURRENT_USER SERVER closed
	OPTIONS (key_id :'key_id', private_key_file :'key_file');
CREATE FOREIGN TABLE closed_artist (id text OPTIONS (system 'recordName'))
	SERVER closed OPTIONS (record_type 'Artist');
SELECT pg_temp.sqlstate_of('SELECT * FROM closed_artist');
DROP SERVER closed CASCADE;

-- a response larger than max_response_size: 54000
ALTER SERVER gallery OPTIONS (ADD max_response_size '4kB');
SELECT count(*) FROM exhibition_e;
SELECT pg_temp.sqlstate_of('SELECT count(*) FROM exhibition_e');
ALTER SERVER gallery OPTIONS (DROP max_response_size);

-- failed scans leak nothing (json-c and libcurl memory is tied to memory
-- contexts): the backend's resident size before and after 500 scans that
-- fail on their first record, and 200 that CloudKit refuses
CREATE FUNCTION pg_temp.rss_kb() RETURNS bigint LANGUAGE sql VOLATILE
	RETURN (regexp_match(pg_read_file('/proc/self/status'), 'VmRSS:\s+(\d+)'))[1]::bigint;
CREATE FOREIGN TABLE artist_leak (
	id text OPTIONS (system 'recordName'),
	bio text,
	nationality varchar(3)
) SERVER gallery OPTIONS (record_type 'Artist');
CREATE FUNCTION pg_temp.fail_scans(n int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	failed int := 0;
BEGIN
	FOR i IN 1..n LOOP
		BEGIN
			PERFORM nationality, bio FROM artist_leak;
		EXCEPTION WHEN string_data_right_truncation OR insufficient_privilege THEN
			failed := failed + 1;
		END;
	END LOOP;
	RETURN failed || ' of ' || n || ' scans failed';
END
$$;
SELECT pg_temp.fail_scans(20);
SELECT pg_temp.rss_kb() AS rss_before \gset
SELECT pg_temp.fail_scans(500);
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "error", "serverErrorCode": "ACCESS_DENIED", "count": 0}]' >/dev/null
SELECT pg_temp.fail_scans(200);
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
SELECT pg_temp.rss_kb() - :rss_before < 4096 AS no_leak;
DROP FOREIGN TABLE artist_leak;

-- after all of this the session and the client still work
SELECT count(*) FROM exhibition_e;
SELECT count(*) FROM visit_e;
DROP FOREIGN TABLE no_such_type, loan, artist_elsewhere, exhibition_e, visit_e;
