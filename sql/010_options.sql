--
-- 010_options: the extension, option validation, and the objects the later
-- suites use (server "gallery" on ckemu, a user mapping with the test key).
--
-- Ports and paths come from the environment (test/run-tests.sh) and never
-- appear in the output: psql echoes the variables' names, not their values.
--
\getenv ckemu_url CKEMU_URL
\getenv key_id CKFDW_KEY_ID
\getenv key_file CKFDW_KEY_FILE

CREATE EXTENSION ckfdw;
\dew ckfdw

-- Runs a statement and returns its SQLSTATE, message, detail and hint, with
-- the directories of quoted absolute paths masked (they differ per run).
CREATE FUNCTION ckfdw_test_error(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	state text;
	msg text;
	det text;
	hnt text;
BEGIN
	EXECUTE stmt;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	-- no directories or ckemu's port, which vary from run to run
	RETURN regexp_replace(regexp_replace(state || ': ' || msg
			|| coalesce(E'\nDETAIL: ' || nullif(det, ''), '')
			|| coalesce(E'\nHINT: ' || nullif(hnt, ''), ''),
		'"/[^"]*/', '".../', 'g'), 'http://127\.0\.0\.1:[0-9]+', 'http://127.0.0.1:PORT', 'g');
END
$$;

--
-- Servers
--
CREATE SERVER gallery FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery',
	environment 'development',
	database 'public',
	base_url :'ckemu_url');

-- container is required, here and after ALTER
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw;
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (environment 'production');
ALTER SERVER gallery OPTIONS (DROP container);

-- unknown options: the closest valid name as a hint, or where they belong
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (containr 'iCloud.x');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', pagesize '10');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', colour 'blue');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', record_type 'Artist');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', private_key 'x');
ALTER FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x');

-- enumerations
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', environment 'staging');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', environment 'Development');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', database 'shared ');

-- container identifiers go into the URL path
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.com/../x');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container '');

-- integer ranges
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', page_size '0');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', page_size '201');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', page_size 'ten');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', batch_size '1000');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', max_retries '-1');
-- integers are decimal digits and nothing else: no spaces, signs, hex or octal
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', page_size ' 5');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', page_size '5 ');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', batch_size '+5');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', batch_size '0x10');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', max_retries '010');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', max_in_flight '0');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', max_in_flight '65');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', connect_timeout ' 5');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', max_response_size '20kB ');

-- durations and sizes take units
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', connect_timeout '0');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', request_timeout 'soon');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', max_response_size '10');
CREATE SERVER bad FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x', max_response_size '2GB');
CREATE SERVER good FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x',
	connect_timeout '2.5', request_timeout '2min', max_retry_wait '500ms',
	max_response_size '1MB', max_retries '0', page_size '100', batch_size '50');

-- base_url: https anywhere, http only on loopback, nothing but scheme://host[:port]
ALTER SERVER good OPTIONS (ADD base_url 'https://api.apple-cloudkit.com');
ALTER SERVER good OPTIONS (SET base_url 'http://localhost:8642');
ALTER SERVER good OPTIONS (SET base_url 'http://127.1.2.3:8642/');
ALTER SERVER good OPTIONS (SET base_url 'http://[::1]:8642');
ALTER SERVER good OPTIONS (SET base_url 'http://api.apple-cloudkit.com');
ALTER SERVER good OPTIONS (SET base_url 'http://128.0.0.1');
ALTER SERVER good OPTIONS (SET base_url 'http://localhost.example.com');
ALTER SERVER good OPTIONS (SET base_url 'ftp://127.0.0.1');
ALTER SERVER good OPTIONS (SET base_url 'https://user:secret@api.apple-cloudkit.com');
ALTER SERVER good OPTIONS (SET base_url 'https://api.apple-cloudkit.com/database/1');
ALTER SERVER good OPTIONS (SET base_url 'https://api.apple-cloudkit.com:99999');
ALTER SERVER good OPTIONS (SET base_url 'https://');
DROP SERVER good;

--
-- User mappings: exactly one way to authenticate
--
CREATE USER MAPPING FOR CURRENT_USER SERVER gallery
	OPTIONS (key_id :'key_id', private_key_file :'key_file');

CREATE SERVER auth FOREIGN DATA WRAPPER ckfdw OPTIONS (container 'iCloud.x');
\set ec_pem `cat "$CKFDW_KEY_FILE"`
CREATE USER MAPPING FOR CURRENT_USER SERVER auth;
CREATE USER MAPPING FOR CURRENT_USER SERVER auth OPTIONS (key_id 'k');
CREATE USER MAPPING FOR CURRENT_USER SERVER auth OPTIONS (private_key_file '/etc/ckfdw/key.pem');
CREATE USER MAPPING FOR CURRENT_USER SERVER auth
	OPTIONS (key_id 'k', private_key_file '/etc/ckfdw/key.pem', private_key :'ec_pem');
CREATE USER MAPPING FOR CURRENT_USER SERVER auth
	OPTIONS (key_id 'k', private_key_file '/etc/ckfdw/key.pem', api_token 'tok-secret');
CREATE USER MAPPING FOR CURRENT_USER SERVER auth OPTIONS (web_auth_token 'web-secret');
CREATE USER MAPPING FOR CURRENT_USER SERVER auth OPTIONS (api_token '');
CREATE USER MAPPING FOR CURRENT_USER SERVER auth OPTIONS (key_id 'k', private_key_file 'key.pem');
CREATE USER MAPPING FOR CURRENT_USER SERVER auth OPTIONS (api_tokn 'tok-secret');
CREATE USER MAPPING FOR CURRENT_USER SERVER auth OPTIONS (api_token 'tok', container 'iCloud.x');
-- a private_key that is not a key: the value is never printed
CREATE USER MAPPING FOR CURRENT_USER SERVER auth
	OPTIONS (key_id 'k', private_key '-----BEGIN EC PRIVATE KEY-----
c2VjcmV0LWtleS1tYXRlcmlhbA==
-----END EC PRIVATE KEY-----');
-- an RSA key in private_key is refused when the mapping is made
\set rsa_pem `cat "$CKFDW_RSA_KEY_FILE"`
CREATE USER MAPPING FOR CURRENT_USER SERVER auth
	OPTIONS (key_id 'k', private_key :'rsa_pem');
-- a good key in private_key is accepted
CREATE USER MAPPING FOR CURRENT_USER SERVER auth
	OPTIONS (key_id 'k', private_key :'ec_pem');
ALTER USER MAPPING FOR CURRENT_USER SERVER auth OPTIONS (ADD api_token 'tok');
ALTER USER MAPPING FOR CURRENT_USER SERVER auth
	OPTIONS (DROP key_id, DROP private_key, ADD api_token 'tok', ADD web_auth_token 'web');
DROP USER MAPPING FOR CURRENT_USER SERVER auth;

-- private_key_file is read by the server process: superusers and
-- pg_read_server_files only (like postgres_fdw's sslkey)
CREATE ROLE regress_ckfdw_user;
GRANT USAGE ON FOREIGN SERVER auth TO regress_ckfdw_user;
SET ROLE regress_ckfdw_user;
CREATE USER MAPPING FOR CURRENT_USER SERVER auth
	OPTIONS (key_id 'k', private_key_file '/etc/ckfdw/key.pem');
CREATE USER MAPPING FOR CURRENT_USER SERVER auth
	OPTIONS (key_id 'k', private_key :'ec_pem');
DROP USER MAPPING FOR CURRENT_USER SERVER auth;
RESET ROLE;
GRANT pg_read_server_files TO regress_ckfdw_user;
SET ROLE regress_ckfdw_user;
CREATE USER MAPPING FOR CURRENT_USER SERVER auth
	OPTIONS (key_id 'k', private_key_file '/etc/ckfdw/key.pem');
DROP USER MAPPING FOR CURRENT_USER SERVER auth;
RESET ROLE;
-- services on the server's own machine: superusers only
GRANT USAGE ON FOREIGN DATA WRAPPER ckfdw TO regress_ckfdw_user;
SET ROLE regress_ckfdw_user;
CREATE SERVER user_local FOREIGN DATA WRAPPER ckfdw
	OPTIONS (container 'iCloud.com.example.Gallery', base_url 'http://127.0.0.1:8642');
CREATE SERVER user_local FOREIGN DATA WRAPPER ckfdw
	OPTIONS (container 'iCloud.com.example.Gallery', base_url 'https://localhost');
CREATE SERVER user_remote FOREIGN DATA WRAPPER ckfdw
	OPTIONS (container 'iCloud.com.example.Gallery', base_url 'https://api.apple-cloudkit.com');
DROP SERVER user_remote;
RESET ROLE;
REVOKE USAGE ON FOREIGN DATA WRAPPER ckfdw FROM regress_ckfdw_user;
DROP SERVER auth;
DROP ROLE regress_ckfdw_user;

--
-- Foreign tables and columns
--
CREATE FOREIGN TABLE bad_t (a text) SERVER gallery OPTIONS (record_typ 'Artist');
CREATE FOREIGN TABLE bad_t (a text) SERVER gallery OPTIONS (container 'iCloud.x');
CREATE FOREIGN TABLE bad_t (a text) SERVER gallery OPTIONS (page_size '500');
CREATE FOREIGN TABLE bad_t (a text) SERVER gallery OPTIONS (zone '');
CREATE FOREIGN TABLE bad_t (a text OPTIONS (feild 'name')) SERVER gallery;
CREATE FOREIGN TABLE bad_t (a text OPTIONS (system 'recordname')) SERVER gallery;
CREATE FOREIGN TABLE bad_t (a text OPTIONS (system 'recordName', field 'name')) SERVER gallery;
CREATE FOREIGN TABLE bad_t (a text OPTIONS (system 'recordName', type 'STRING')) SERVER gallery;
CREATE FOREIGN TABLE bad_t (a text OPTIONS (type 'VARCHAR')) SERVER gallery;
CREATE FOREIGN TABLE bad_t (a text OPTIONS (type 'UNKNOWN_LIST')) SERVER gallery;
CREATE FOREIGN TABLE bad_t (a text OPTIONS (record_type 'Artist')) SERVER gallery;

-- column types are checked when a query is planned
CREATE FOREIGN TABLE bad_t (
	id text OPTIONS (system 'recordName'),
	n integer OPTIONS (field 'name', type 'REFERENCE')
) SERVER gallery OPTIONS (record_type 'Artist');
EXPLAIN (COSTS OFF) SELECT id FROM bad_t;
ALTER FOREIGN TABLE bad_t ALTER COLUMN n OPTIONS (SET type 'STRING_LIST');
EXPLAIN (COSTS OFF) SELECT id FROM bad_t;
ALTER FOREIGN TABLE bad_t ALTER COLUMN n TYPE integer[];
EXPLAIN (COSTS OFF) SELECT id FROM bad_t;
ALTER FOREIGN TABLE bad_t ALTER COLUMN n TYPE inet;
ALTER FOREIGN TABLE bad_t ALTER COLUMN n OPTIONS (DROP type);
EXPLAIN (COSTS OFF) SELECT id FROM bad_t;
ALTER FOREIGN TABLE bad_t ALTER COLUMN n TYPE integer;
ALTER FOREIGN TABLE bad_t ALTER COLUMN id TYPE timestamptz;
EXPLAIN (COSTS OFF) SELECT id FROM bad_t;
ALTER FOREIGN TABLE bad_t ALTER COLUMN id TYPE text;
ALTER FOREIGN TABLE bad_t ALTER COLUMN id OPTIONS (SET system 'modifiedTimestamp');
EXPLAIN (COSTS OFF) SELECT id FROM bad_t;
ALTER FOREIGN TABLE bad_t ALTER COLUMN id OPTIONS (SET system 'recordName');
EXPLAIN (COSTS OFF) SELECT id FROM bad_t;
DROP FOREIGN TABLE bad_t;

--
-- Table options override server options; record_type defaults to the
-- table's name (EXPLAIN needs no network)
--
CREATE SERVER paged FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', environment 'production',
	database 'private', page_size '100');
CREATE FOREIGN TABLE "Visit" (visitor text) SERVER paged;
CREATE FOREIGN TABLE visit50 (visitor text) SERVER paged
	OPTIONS (record_type 'Visit', page_size '50', zone 'Archive', zone_owner '_abc');
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM "Visit";
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM visit50;
ALTER SERVER paged OPTIONS (DROP page_size);
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM "Visit";
DROP SERVER paged CASCADE;

-- no user mapping: PostgreSQL's own error, at execution
CREATE FOREIGN TABLE nomap (x text) SERVER gallery;
CREATE ROLE regress_ckfdw_nomap;
GRANT SELECT ON nomap TO regress_ckfdw_nomap;
SET ROLE regress_ckfdw_nomap;
EXPLAIN (COSTS OFF) SELECT * FROM nomap;
SELECT * FROM nomap;
RESET ROLE;
DROP FOREIGN TABLE nomap;
DROP ROLE regress_ckfdw_nomap;

--
-- GUCs are under the reserved prefix ckfdw.
--
SHOW ckfdw.log_requests;
SET ckfdw.no_such_setting = on;
