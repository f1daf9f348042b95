--
-- 445_web_auth_tokens: a web-auth token is good for one round trip, and
-- CloudKit sends the next one with each answer (ckemu with
-- --rotate-web-auth-tokens).  From the one token of the user mapping,
-- sessions in sequence, sessions at once and a restart of PostgreSQL all go
-- on, since the newest token is kept in the data directory, readable by the
-- server's OS user only.  A lost answer takes the token with it: 28000 with
-- the sign-in page in the hint, until the user signs in again.
-- ckfdw_whoami tells whom a user mapping acts as.
--
\getenv rotating_url CKEMU_ROTATING_URL
\getenv ckemu_url CKEMU_URL
\getenv api_token CKFDW_API_TOKEN
\getenv web_auth_token CKFDW_WEB_AUTH_TOKEN
\getenv web_auth_user CKFDW_WEB_AUTH_USER
\getenv key_id CKFDW_KEY_ID
\getenv other_key_file CKFDW_OTHER_KEY_FILE
\! curl -sf -X POST "$CKEMU_ROTATING_URL/_ckemu/reset" >/dev/null
-- sessions started from the shell connect to this database
\setenv PGDATABASE :DBNAME

CREATE SERVER rotating FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'rotating_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER rotating
	OPTIONS (api_token :'api_token', web_auth_token :'web_auth_token');
CREATE FOREIGN TABLE rot_artist (id text OPTIONS (system 'recordName'), name text)
	SERVER rotating OPTIONS (record_type 'Artist');

-- whom the token signs in (users/caller, in the public database)
SELECT user_record_name = :'web_auth_user' AS the_signed_in_user,
	given_name IS NOT NULL AS has_name
FROM ckfdw_whoami('rotating');

-- three sessions in sequence, each with several requests (two pages per
-- query), all from the one token of the user mapping
SELECT count(*) FROM rot_artist;
SELECT count(*) FROM rot_artist WHERE name IS NOT NULL;
\c
SELECT count(*) FROM rot_artist;
\c
SELECT count(*) FROM rot_artist;
SELECT user_record_name = :'web_auth_user' AS the_signed_in_user FROM ckfdw_whoami('rotating');

-- a cursor closed while its next page is read ahead: the answer, which
-- brings the next token, is waited for, not dropped
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM rot_artist;
MOVE 150 IN c;
CLOSE c;
COMMIT;
SELECT count(*) FROM rot_artist;

-- two sessions at once, each request held up by ckemu so that they meet:
-- each waits for the other's answer and goes on with the token it brought
\! curl -sf -o /dev/null -X POST "$CKEMU_ROTATING_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "delay", "delayMs": 150, "count": 0}]'
\! for s in 1 2; do psql -X -At -c 'SELECT count(*) FROM rot_artist' -c 'SELECT count(*) FROM rot_artist' & done 2>&1; wait
\! curl -sf -o /dev/null -X DELETE "$CKEMU_ROTATING_URL/_ckemu/faults"
SELECT count(*) FROM rot_artist;

-- a session waiting for another's request waits on a lock (pg_locks:
-- advisory, objsubid 17227), which a cancel or statement_timeout breaks;
-- the token goes on
\! curl -sf -o /dev/null -X POST "$CKEMU_ROTATING_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "delay", "delayMs": 3000}]'
\! psql -X -Atq -c 'SELECT count(*) FROM rot_artist' & for i in $(seq 100); do psql -X -Atq -c "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 17227 AND granted" | grep -q 1 && break; sleep 0.1; done; psql -X -Atq -c 'SET statement_timeout = 200' -c 'SELECT count(*) FROM rot_artist' 2>&1; wait
\! curl -sf -o /dev/null -X DELETE "$CKEMU_ROTATING_URL/_ckemu/faults"
SELECT count(*) FROM rot_artist;

-- the token is kept in the data directory, readable by the server's OS
-- user only; never the token of the option, which CloudKit used up
SELECT current_setting('data_directory') || '/ckfdw_tokens' AS token_dir,
	current_setting('data_directory') || '/ckfdw_tokens/' || d.oid || '_' || m.umid AS token_file
FROM pg_user_mappings m, pg_database d
WHERE m.srvname = 'rotating' AND m.usename = current_user AND d.datname = current_database() \gset
\setenv CKFDW_TOKEN_DIR :token_dir
\setenv CKFDW_TOKEN_FILE :token_file
\! stat -c '%a' "$CKFDW_TOKEN_DIR" "$CKFDW_TOKEN_FILE"
\! grep -c "^token " "$CKFDW_TOKEN_FILE"; grep -c "^token $CKFDW_WEB_AUTH_TOKEN\$" "$CKFDW_TOKEN_FILE"

-- a restart of PostgreSQL in between
\! "$CKFDW_RESTART_CLUSTER"
\c
SELECT count(*) FROM rot_artist;
\c
SELECT count(*) FROM rot_artist;
-- fifteen scans of two pages, none of them sent twice
\! curl -sf "$CKEMU_ROTATING_URL/_ckemu/stats" | jq -c '.operations["records/query"].requests'

-- an answer lost after CloudKit took the token: the query's resend and
-- every later session are refused, with the way back in the hint
\! curl -sf -o /dev/null -X POST "$CKEMU_ROTATING_URL/_ckemu/faults" -d '[{"operation": "records/query", "action": "drop_after"}]'
SELECT ckfdw_test_error('SELECT count(*) FROM rot_artist');
\! curl -sf -o /dev/null -X DELETE "$CKEMU_ROTATING_URL/_ckemu/faults"
\c
SELECT ckfdw_test_error('SELECT count(*) FROM rot_artist');
SELECT ckfdw_test_error($$SELECT * FROM ckfdw_whoami('rotating')$$);

-- signing in again and setting the new token is the way back, for every
-- session
\set new_token `curl -sf "$CKEMU_ROTATING_URL/_ckemu/signin?user=$CKFDW_WEB_AUTH_USER" | jq -r .ckWebAuthToken`
ALTER USER MAPPING FOR CURRENT_USER SERVER rotating
	OPTIONS (SET web_auth_token :'new_token');
SELECT count(*) FROM rot_artist;
\c
SELECT count(*) FROM rot_artist;

-- no web-auth token where CloudKit needs a signed-in user: 28000 with
-- CloudKit's redirectURL, and which option to set
CREATE SERVER rotating_private FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', database 'private', base_url :'rotating_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER rotating_private
	OPTIONS (api_token :'api_token');
CREATE FOREIGN TABLE rot_wish (id text OPTIONS (system 'recordName'))
	SERVER rotating_private OPTIONS (record_type 'Wish', zone 'Wishlist');
SELECT ckfdw_test_error('SELECT count(*) FROM rot_wish');
SELECT ckfdw_test_error($$SELECT * FROM ckfdw_whoami('rotating_private')$$);

-- a token that was never a sign-in: the sign-in page too (CloudKit gives it
-- to a request with the API token alone)
ALTER USER MAPPING FOR CURRENT_USER SERVER rotating_private
	OPTIONS (ADD web_auth_token 'not-a-signed-in-user');
SELECT ckfdw_test_error('SELECT count(*) FROM rot_wish');

-- server-to-server keys: the hint names the key, never tokens
CREATE SERVER keys_public FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'ckemu_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER keys_public
	OPTIONS (key_id :'key_id', private_key_file :'other_key_file');
SELECT ckfdw_test_error($$SELECT * FROM ckfdw_whoami('keys_public')$$);
-- a registered key: the developer who owns it
SELECT user_record_name IS NOT NULL AS the_developer FROM ckfdw_whoami('gallery');

SET client_min_messages = warning;
DROP SERVER rotating, rotating_private, keys_public CASCADE;
RESET client_min_messages;
