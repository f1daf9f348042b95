--
-- 400_changes: change fetches.  A local table mirrors a custom zone of the
-- private database through the README's nightly job (run as written):
-- first a full load, then changes made by an independent client and
-- through ckfdw, paging, a failed run, and the errors of change reads.
-- ckemu's statistics show what each run fetched.
--
\getenv ckemu_url CKEMU_URL
\getenv api_token CKFDW_API_TOKEN
\getenv web_auth_token CKFDW_WEB_AUTH_TOKEN
SET timezone = 'UTC';
\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
CREATE SCHEMA changes400;
SET search_path = changes400, public;

CREATE SERVER mirror FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', database 'private', base_url :'ckemu_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER mirror
	OPTIONS (api_token :'api_token', web_auth_token :'web_auth_token');

-- The independent client: curl, run by the server, with the API token and
-- the signed-in user's web-auth token in the query string.
SELECT set_config('changes400.url', :'ckemu_url' ||
	'/database/1/iCloud.com.example.Gallery/development/private/', false) IS NOT NULL AS ok,
	set_config('changes400.auth', '?ckAPIToken=' || :'api_token' ||
	'&ckWebAuthToken=' || :'web_auth_token', false) IS NOT NULL AS ok;
CREATE FUNCTION ck_client(op text, body jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
	answer text;
BEGIN
	IF to_regclass('pg_temp.ck_answer') IS NULL THEN
		CREATE TEMP TABLE ck_answer (line text);
	END IF;
	TRUNCATE ck_answer;
	EXECUTE format('COPY ck_answer FROM PROGRAM %L WITH (FORMAT csv, QUOTE %L, DELIMITER %L)',
		format('curl -s -X POST %s --data-binary %s',
			'''' || current_setting('changes400.url') || op || current_setting('changes400.auth') || '''',
			'''' || replace(body::text, '''', '''\''''') || ''''),
		E'\x01', E'\x02');
	SELECT string_agg(line, '') INTO answer FROM ck_answer;
	RETURN answer::jsonb;
END
$fn$;
-- records/modify of some Loan records in zone Mirror, as the client
CREATE FUNCTION ck_modify(optype text, names text[], insured double precision DEFAULT 1)
RETURNS text LANGUAGE sql AS $fn$
	SELECT string_agg(coalesce(r->>'serverErrorCode', 'ok'), ',')
	FROM jsonb_array_elements(ck_client('records/modify', jsonb_build_object(
		'zoneID', jsonb_build_object('zoneName', 'Mirror'),
		'operations', (SELECT jsonb_agg(jsonb_build_object(
			'operationType', optype,
			'record', jsonb_build_object('recordName', n, 'recordType', 'Loan',
				'fields', jsonb_build_object(
					'borrower', jsonb_build_object('value', 'client ' || n),
					'insuredValue', jsonb_build_object('value', insured))))
			ORDER BY n) FROM unnest(names) AS n)))->'records') AS r
$fn$;

SELECT ck_client('zones/modify', '{"operations":[{"operationType":"create",
	"zone":{"zoneID":{"zoneName":"Mirror"}}}]}')->'zones'->0->'zoneID'->>'zoneName' AS zone;
SELECT ck_modify('create', ARRAY(SELECT 'loan-' || lpad(i::text, 2, '0')
	FROM generate_series(1, 30) AS i), 100);

--
-- Options
--
CREATE SERVER pub FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', scan_source 'changes');
CREATE SERVER pub FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', scan_source 'sometimes');
CREATE FOREIGN TABLE bad (x text) SERVER mirror OPTIONS (scan_source 'changes');
CREATE FOREIGN TABLE bad (x text) SERVER mirror
	OPTIONS (zone '_defaultZone', scan_source 'changes');
CREATE FOREIGN TABLE bad (t integer OPTIONS (system 'syncToken'))
	SERVER mirror OPTIONS (zone 'Mirror');
EXPLAIN (COSTS OFF) SELECT * FROM bad;
DROP FOREIGN TABLE bad;
-- scan_source 'changes' on the server: a table in the default zone is
-- refused when planned
CREATE SERVER feed FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', database 'private', scan_source 'changes');
CREATE FOREIGN TABLE feed_default (x text) SERVER feed;
EXPLAIN (COSTS OFF) SELECT * FROM feed_default;
DROP SERVER feed CASCADE;

--
-- Full reads.  Loan has no "___recordID" QUERYABLE index: an unfiltered
-- records/query is refused, so 'auto' reads the zone's feed
--
CREATE FOREIGN TABLE loan (
	id text OPTIONS (system 'recordName', queryable 'false'),
	borrower text,
	insured double precision OPTIONS (field 'insuredValue', queryable 'false', sortable 'false'),
	sync_token text OPTIONS (system 'syncToken'),
	deleted boolean OPTIONS (system 'deleted')
) SERVER mirror OPTIONS (record_type 'Loan', zone 'Mirror');
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, borrower FROM loan;
-- a condition CloudKit evaluates: records/query
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM loan WHERE borrower = 'client loan-01';
-- record names: records/lookup
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM loan WHERE id = 'loan-01';
-- no condition CloudKit could evaluate (insuredValue has no index): the
-- feed, and PostgreSQL filters, sorts and limits
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM loan WHERE insured > 5 ORDER BY id LIMIT 3;
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
-- a full read: live records only; its rows carry the start token ''
SELECT count(*), min(id), max(id), bool_or(deleted) AS any_deleted,
	count(*) FILTER (WHERE sync_token = '') AS start_token FROM loan;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | {changes: .["changes/zone"] | {requests, records_out}, query: .["records/query"]}'
SELECT id, borrower, insured FROM loan WHERE insured > 5 ORDER BY id LIMIT 3;
-- scan_source 'query': CloudKit refuses the unfiltered query
CREATE FOREIGN TABLE loan_q (id text OPTIONS (system 'recordName'), borrower text)
	SERVER mirror OPTIONS (record_type 'Loan', zone 'Mirror', scan_source 'query');
EXPLAIN (COSTS OFF) SELECT * FROM loan_q;
SELECT ckfdw_test_error('SELECT * FROM loan_q');
-- scan_source 'changes' forces the feed even with a condition CloudKit
-- could evaluate
ALTER FOREIGN TABLE loan_q OPTIONS (SET scan_source 'changes');
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM loan_q WHERE borrower = 'client loan-07';
SELECT * FROM loan_q WHERE borrower = 'client loan-07';

--
-- The mirror: the README's nightly job, as written
--
CREATE TABLE loan_copy (id text PRIMARY KEY, borrower text, insured double precision);
CREATE TABLE mirror_state (tbl text PRIMARY KEY, token text);
INSERT INTO mirror_state VALUES ('loan', '');
\! sed -n '/<!-- nightly-job -->/,/^```$/p' README.md | sed '1,2d;$d' > test/results/nightly-job.sql
-- the server's state and the copy, compared (rows in one but not the other)
CREATE VIEW mirror_diff AS
	(SELECT 'server' AS side, * FROM (SELECT id, borrower, insured FROM loan
	 EXCEPT SELECT * FROM loan_copy) s)
	UNION ALL
	(SELECT 'copy', * FROM (SELECT * FROM loan_copy
	 EXCEPT SELECT id, borrower, insured FROM loan) c);
-- a change read's plan: the token is known at execution (?1)
EXPLAIN (VERBOSE, COSTS OFF)
	SELECT * FROM loan WHERE sync_token = (SELECT token FROM mirror_state WHERE tbl = 'loan');
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, deleted FROM loan WHERE sync_token = 'abc';

-- the shared database: the zone's owner is sent; '' sends no token
CREATE SERVER shared FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', database 'shared', page_size '50');
CREATE FOREIGN TABLE shared_loan (
	id text OPTIONS (system 'recordName'),
	borrower text,
	sync_token text OPTIONS (system 'syncToken'),
	deleted boolean OPTIONS (system 'deleted')
) SERVER shared OPTIONS (record_type 'Loan', zone 'Team', zone_owner '_0123abcd');
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM shared_loan WHERE sync_token = '';
DROP SERVER shared CASCADE;

-- the first run loads everything
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
\i test/results/nightly-job.sql
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["changes/zone"] | {requests, records_out}'
SELECT count(*) FROM loan_copy;
SELECT * FROM mirror_diff;
SELECT token <> '' AS has_token, token = ckfdw_sync_token('loan') AS stored
FROM mirror_state;

-- changes by the independent client: 3 created, 2 updated, 2 deleted, one
-- created and deleted again, one updated twice
SELECT ck_modify('create', '{loan-31,loan-32,loan-33}', 200);
SELECT ck_modify('forceUpdate', '{loan-02,loan-03}', 300);
SELECT ck_modify('forceDelete', '{loan-04,loan-05}');
SELECT ck_modify('create', '{loan-temp}');
SELECT ck_modify('forceDelete', '{loan-temp}');
SELECT ck_modify('forceUpdate', '{loan-06}', 400);
SELECT ck_modify('forceUpdate', '{loan-06}', 401);
-- ... and through ckfdw: one insert, one update, one delete
INSERT INTO loan (id, borrower, insured) VALUES ('loan-fdw', 'via ckfdw', 7);
UPDATE loan SET insured = 8 WHERE id = 'loan-07';
DELETE FROM loan WHERE id = 'loan-08';
-- one run: only the 12 changed records are fetched (loan-temp as a
-- tombstone), in one request
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
\i test/results/nightly-job.sql
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations | {changes: .["changes/zone"] | {requests, records_out}, query: .["records/query"], lookup: .["records/lookup"]}'
SELECT * FROM mirror_diff;
SELECT * FROM loan_copy WHERE id IN ('loan-02', 'loan-04', 'loan-06', 'loan-07', 'loan-08',
	'loan-31', 'loan-fdw', 'loan-temp') ORDER BY id;
SELECT count(*) FROM loan_copy;

-- what a change read returns: tombstones carry the name only, every row
-- the start token
SELECT token AS t0 FROM mirror_state \gset
SELECT ck_modify('forceUpdate', '{loan-09}', 900);
SELECT ck_modify('forceDelete', '{loan-10}');
SELECT id, borrower, insured, deleted, sync_token = :'t0' AS start_token
FROM loan WHERE sync_token = :'t0' ORDER BY id;

-- a run with no changes fetches nothing and keeps a valid token
\i test/results/nightly-job.sql
SELECT token AS t1 FROM mirror_state \gset
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
\i test/results/nightly-job.sql
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["changes/zone"] | {requests, records_out}'
SELECT token = :'t1' AS same_token FROM mirror_state;
SELECT count(*) FROM loan WHERE sync_token = :'t1';
SELECT * FROM mirror_diff;

-- a full read (no token condition) leaves the stored token alone: it may
-- run between the MERGE and the token update without skipping changes
SELECT ck_modify('forceUpdate', '{loan-11}', 499);
SELECT count(*) FROM loan;
SELECT ckfdw_sync_token('loan') = :'t1' AS unchanged;

-- paging across moreComing: 12 changes, 5 per answer
ALTER FOREIGN TABLE loan OPTIONS (ADD page_size '5');
SELECT ck_modify('forceUpdate', ARRAY(SELECT 'loan-' || i FROM generate_series(11, 22) AS i), 500);
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
\i test/results/nightly-job.sql
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["changes/zone"] | {requests, records_out}'
SELECT * FROM mirror_diff;

-- a read cut short by LIMIT: the token stays at the last page read to its
-- end, never past rows the query did not get
SELECT token AS t2 FROM mirror_state \gset
SELECT ck_modify('forceUpdate', ARRAY(SELECT 'loan-' || i FROM generate_series(23, 30) AS i), 600);
SELECT count(*) FROM (SELECT * FROM loan WHERE sync_token = :'t2' LIMIT 3) s;
SELECT ckfdw_sync_token('loan') = :'t2' AS at_start;
SELECT count(*) FROM (SELECT * FROM loan WHERE sync_token = :'t2' LIMIT 6) s;
SELECT ckfdw_sync_token('loan') <> :'t2' AS past_first_page;

-- a per-zone error inside the HTTP 200 answer for the second page: an
-- error, never a short result; the token stays where the first page ends
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"changes/zone","after":1,"action":"zone_error","serverErrorCode":"ACCESS_DENIED","reason":"Zone access revoked"}]' >/dev/null
SELECT ckfdw_test_error($$SELECT count(*) FROM loan WHERE sync_token = (SELECT token FROM mirror_state)$$);
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null
SELECT ckfdw_sync_token('loan') AS t_err \gset
SELECT :'t_err' <> :'t2' AS past_first_page;
SELECT count(*) AS still_to_read FROM loan WHERE sync_token = :'t_err';

-- a feed that goes round in circles (the second answer hands back the
-- token it was asked with, and more to come): an error, never the same
-- rows again and again
\! curl -s -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation":"changes/zone","after":1,"count":1,"action":"repeat_marker"}]' >/dev/null
SELECT ckfdw_test_error($$SELECT count(*) FROM loan WHERE sync_token = (SELECT token FROM mirror_state)$$);
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/faults" >/dev/null

-- a job killed between fetching and storing the token: the transaction
-- rolls back, the rerun converges
BEGIN;
MERGE INTO loan_copy AS l
USING (SELECT * FROM loan
       WHERE sync_token = (SELECT token FROM mirror_state WHERE tbl = 'loan')) AS c
ON l.id = c.id
WHEN MATCHED AND c.deleted THEN DELETE
WHEN MATCHED THEN UPDATE SET borrower = c.borrower, insured = c.insured
WHEN NOT MATCHED AND NOT c.deleted THEN
    INSERT (id, borrower, insured) VALUES (c.id, c.borrower, c.insured);
SELECT 1 / 0;
ROLLBACK;
SELECT token = :'t2' AS old_token FROM mirror_state;
SELECT count(*) FROM mirror_diff;
\i test/results/nightly-job.sql
SELECT * FROM mirror_diff;
-- and a second run after a successful one changes nothing
\i test/results/nightly-job.sql
SELECT * FROM mirror_diff;
-- a record changed while the feed is being paged appears twice in one
-- read (here the query itself changes loan-12 once its row is out, before
-- the next page): MERGE refuses with 21000, and a rerun converges
SELECT ck_modify('forceUpdate', ARRAY(SELECT 'loan-' || i FROM generate_series(11, 17) AS i), 700);
-- (read-ahead off: it would have asked for the next page already)
SET ckfdw.read_ahead = off;
SELECT ckfdw_test_error($$
MERGE INTO loan_copy AS l
USING (SELECT *, CASE WHEN id = 'loan-12' THEN ck_modify('forceUpdate', '{loan-12}', 701) END
       FROM loan WHERE sync_token = (SELECT token FROM mirror_state WHERE tbl = 'loan')) AS c
ON l.id = c.id
WHEN MATCHED AND c.deleted THEN DELETE
WHEN MATCHED THEN UPDATE SET borrower = c.borrower, insured = c.insured
WHEN NOT MATCHED AND NOT c.deleted THEN
    INSERT (id, borrower, insured) VALUES (c.id, c.borrower, c.insured)$$);
RESET ckfdw.read_ahead;
\i test/results/nightly-job.sql
SELECT * FROM mirror_diff;
SELECT insured FROM loan_copy WHERE id = 'loan-12';
ALTER FOREIGN TABLE loan OPTIONS (DROP page_size);

--
-- Errors of change reads
--
-- no column for tombstones: refused, deletions would be lost
CREATE FOREIGN TABLE loan_nodel (
	id text OPTIONS (system 'recordName'),
	sync_token text OPTIONS (system 'syncToken')
) SERVER mirror OPTIONS (record_type 'Loan', zone 'Mirror');
SELECT ckfdw_test_error($$SELECT * FROM loan_nodel WHERE sync_token = ''$$);
-- a NULL token
SELECT ckfdw_test_error($$SELECT * FROM loan WHERE sync_token = (SELECT NULL::text)$$);
-- scan_source 'query' and a token condition
ALTER FOREIGN TABLE loan_q OPTIONS (SET scan_source 'query');
ALTER FOREIGN TABLE loan_q ADD COLUMN t text OPTIONS (system 'syncToken');
ALTER FOREIGN TABLE loan_q ADD COLUMN d boolean OPTIONS (system 'deleted');
SELECT ckfdw_test_error($$SELECT * FROM loan_q WHERE t = ''$$);
-- the default zone and the public database have no feed
CREATE FOREIGN TABLE loan_default (
	id text OPTIONS (system 'recordName'),
	sync_token text OPTIONS (system 'syncToken'),
	deleted boolean OPTIONS (system 'deleted')
) SERVER mirror OPTIONS (record_type 'Loan');
SELECT ckfdw_test_error($$SELECT * FROM loan_default WHERE sync_token = ''$$);
CREATE FOREIGN TABLE visit_pub (
	id text OPTIONS (system 'recordName'),
	sync_token text OPTIONS (system 'syncToken'),
	deleted boolean OPTIONS (system 'deleted')
) SERVER gallery OPTIONS (record_type 'Visit', zone 'Mirror');
SELECT ckfdw_test_error($$SELECT * FROM visit_pub WHERE sync_token = ''$$);
-- a change read cannot feed an UPDATE of its table
SELECT ckfdw_test_error($$UPDATE loan SET insured = 0 WHERE sync_token = ''$$);
-- a condition on the token column that cannot start a change read
SELECT ckfdw_test_error($$SELECT * FROM loan WHERE sync_token = ckfdw_sync_token('loan')$$);
SELECT ckfdw_test_error($$SELECT * FROM loan WHERE sync_token > ''$$);
-- no change read of the table in this session
SELECT ckfdw_test_error($$SELECT ckfdw_sync_token('loan_default')$$);
-- a token CloudKit does not know
SELECT ckfdw_test_error($$SELECT * FROM loan WHERE sync_token = 'no-such-token'$$);
-- an expired token: the job fails, nothing is applied, the token stays
SELECT token AS t3 FROM mirror_state \gset
SELECT ck_modify('forceUpdate', '{loan-11}', 1100);
\! curl -s -X POST "$CKEMU_URL/_ckemu/expire-tokens"; echo
SELECT ckfdw_test_error($$SELECT count(*) FROM loan WHERE sync_token = (SELECT token FROM mirror_state)$$);
\i test/results/nightly-job.sql
SELECT token = :'t3' AS old_token FROM mirror_state;
-- ... and starting again from a full read converges
BEGIN;
TRUNCATE loan_copy;
UPDATE mirror_state SET token = '';
COMMIT;
\i test/results/nightly-job.sql
SELECT * FROM mirror_diff;
SELECT insured FROM loan_copy WHERE id = 'loan-11';
-- a deleted zone
SELECT ck_client('zones/modify', '{"operations":[{"operationType":"delete",
	"zone":{"zoneID":{"zoneName":"Mirror"}}}]}')->'zones'->0->'zoneID'->>'zoneName' AS zone;
SELECT ckfdw_test_error($$SELECT * FROM loan WHERE sync_token = (SELECT token FROM mirror_state)$$);
SELECT ckfdw_test_error('SELECT * FROM loan');

--
-- Change pages are read in place: answers that are no change page are the
-- same errors as ever (ckemu answers with the fault's body).
--
-- a truncated answer
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "changes/zone", "action": "respond", "count": 0, "body": "{\"zones\":[{\"zoneID\":{\"zoneName\":\"Mirror\"},\"records\":["}]'
SELECT ckfdw_test_error($$SELECT id, borrower, deleted FROM loan WHERE sync_token = ''$$);
-- a lone surrogate
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "changes/zone", "action": "respond", "count": 0, "body": "{\"zones\":[{\"records\":[],\"syncToken\":\"\\ud800\"}]}"}]'
SELECT ckfdw_test_error($$SELECT id, borrower, deleted FROM loan WHERE sync_token = ''$$);
-- a NUL in a record name
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "changes/zone", "action": "respond", "count": 0, "body": "{\"zones\":[{\"records\":[{\"recordName\":\"l\\u00001\",\"recordType\":\"Loan\"}],\"syncToken\":\"t\"}]}"}]'
SELECT ckfdw_test_error($$SELECT id, borrower, deleted FROM loan WHERE sync_token = ''$$);
-- two zones
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "changes/zone", "action": "respond", "count": 0, "body": "{\"zones\":[{\"records\":[],\"syncToken\":\"a\"},{\"records\":[],\"syncToken\":\"b\"}]}"}]'
SELECT ckfdw_test_error($$SELECT id, borrower, deleted FROM loan WHERE sync_token = ''$$);
-- no zone
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "changes/zone", "action": "respond", "count": 0, "body": "{\"zones\":[]}"}]'
SELECT ckfdw_test_error($$SELECT id, borrower, deleted FROM loan WHERE sync_token = ''$$);
-- records that are no list
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "changes/zone", "action": "respond", "count": 0, "body": "{\"zones\":[{\"records\":{},\"syncToken\":\"t\"}]}"}]'
SELECT ckfdw_test_error($$SELECT id, borrower, deleted FROM loan WHERE sync_token = ''$$);
-- no syncToken
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "changes/zone", "action": "respond", "count": 0, "body": "{\"zones\":[{\"records\":[]}]}"}]'
SELECT ckfdw_test_error($$SELECT id, borrower, deleted FROM loan WHERE sync_token = ''$$);
-- an empty syncToken
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "changes/zone", "action": "respond", "count": 0, "body": "{\"zones\":[{\"records\":[],\"syncToken\":\"\"}]}"}]'
SELECT ckfdw_test_error($$SELECT id, borrower, deleted FROM loan WHERE sync_token = ''$$);
-- a last syncToken that is no string
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "changes/zone", "action": "respond", "count": 0, "body": "{\"zones\":[{\"records\":[],\"syncToken\":\"t\",\"syncToken\":5}]}"}]'
SELECT ckfdw_test_error($$SELECT id, borrower, deleted FROM loan WHERE sync_token = ''$$);
-- moreComing that is no boolean
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "changes/zone", "action": "respond", "count": 0, "body": "{\"zones\":[{\"records\":[],\"syncToken\":\"t\",\"moreComing\":\"yes\"}]}"}]'
SELECT ckfdw_test_error($$SELECT id, borrower, deleted FROM loan WHERE sync_token = ''$$);
-- a record member of the wrong type
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "changes/zone", "action": "respond", "count": 0, "body": "{\"zones\":[{\"records\":[{\"recordName\":\"l1\",\"recordType\":[\"Loan\"]}],\"syncToken\":\"t\"}]}"}]'
SELECT ckfdw_test_error($$SELECT id, borrower, deleted FROM loan WHERE sync_token = ''$$);
-- a zone error
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "changes/zone", "action": "respond", "count": 0, "body": "{\"zones\":[{\"serverErrorCode\":\"ZONE_NOT_FOUND\",\"reason\":\"gone\",\"records\":[],\"syncToken\":\"t\"}]}"}]'
SELECT ckfdw_test_error($$SELECT id, borrower, deleted FROM loan WHERE sync_token = ''$$);
-- an empty page that points back at itself
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "changes/zone", "action": "respond", "count": 0, "body": "{\"zones\":[{\"records\":[],\"syncToken\":\"same\",\"moreComing\":true}]}"}]'
SELECT ckfdw_test_error($$SELECT id, borrower, deleted FROM loan WHERE sync_token = ''$$);
-- an escaped key and a bare field value go to json-c, and still read
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "changes/zone", "action": "respond", "count": 0, "body": "{\"zones\":[{\"records\":[{\"recordName\":\"l\\u0031\",\"recordType\":\"Loan\",\"fields\":{\"borrower\":\"bare\"}},{\"recordName\":\"l2\",\"deleted\":true}],\"sync\\u0054oken\":\"t-1\",\"moreComing\":false}]}"}]'
SELECT id, borrower, deleted FROM loan WHERE sync_token = '';
SELECT ckfdw_sync_token('loan');
-- read in place
\! curl -s -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[{"operation": "changes/zone", "action": "respond", "count": 0, "body": "{\"zones\":[{\"records\":[{\"recordName\":\"l1\",\"recordType\":\"Loan\",\"fields\":{\"borrower\":{\"value\":\"in place\"}}},{\"recordName\":\"l2\",\"deleted\":true}],\"syncToken\":\"t-2\",\"moreComing\":false}]}"}]'
SELECT id, borrower, deleted FROM loan WHERE sync_token = '';
SELECT ckfdw_sync_token('loan');
\! curl -s -o /dev/null -X DELETE "$CKEMU_URL/_ckemu/faults"

DROP SCHEMA changes400 CASCADE;
DROP USER MAPPING FOR CURRENT_USER SERVER mirror;
DROP SERVER mirror;
