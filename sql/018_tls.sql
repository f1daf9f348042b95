--
-- 018_tls: a ckemu serving HTTPS with a certificate of the test CA
-- (test/lib.sh make_test_ca).  The server option ca_file names the CA to
-- verify it with; without it the system's CAs are used, and they do not
-- know the test CA.  Verification cannot be turned off.
--
-- URLs and paths never appear in the output: psql echoes variable names.
--
\getenv tls_url CKEMU_TLS_URL
\getenv ca_file CKFDW_CA_FILE
\getenv key_id CKFDW_KEY_ID
\getenv key_file CKFDW_KEY_FILE

-- trusting the test CA: a scan works
CREATE SERVER tls_ca FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'tls_url', ca_file :'ca_file');
CREATE USER MAPPING FOR CURRENT_USER SERVER tls_ca
	OPTIONS (key_id :'key_id', private_key_file :'key_file');
CREATE FOREIGN TABLE tls_artist (id text OPTIONS (system 'recordName'), name text)
	SERVER tls_ca OPTIONS (record_type 'Artist');
SELECT count(*) > 0 AS scanned FROM tls_artist;
SELECT id, name FROM tls_artist WHERE id = 'artist-0002';

-- the system's CAs only: the certificate cannot be verified
CREATE SERVER tls_system FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'tls_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER tls_system
	OPTIONS (key_id :'key_id', private_key_file :'key_file');
CREATE FOREIGN TABLE tls_system_artist (id text OPTIONS (system 'recordName'))
	SERVER tls_system OPTIONS (record_type 'Artist');
SELECT count(*) FROM tls_system_artist;
\echo :LAST_ERROR_SQLSTATE

-- a CA file of other CAs (the system's bundle): the same
ALTER SERVER tls_system OPTIONS (ADD ca_file '/etc/ssl/certs/ca-certificates.crt');
SELECT count(*) FROM tls_system_artist;
\echo :LAST_ERROR_SQLSTATE

-- a CA file that does not exist
ALTER SERVER tls_system OPTIONS (SET ca_file '/nonexistent/ckfdw-ca.pem');
SELECT count(*) FROM tls_system_artist;
\echo :LAST_ERROR_SQLSTATE

-- the right CA, set on the existing server: the cached connection is
-- replaced, and the scan works
ALTER SERVER tls_system OPTIONS (SET ca_file :'ca_file');
SELECT count(*) > 0 AS scanned FROM tls_system_artist;

-- a relative path is refused
ALTER SERVER tls_system OPTIONS (SET ca_file 'ca.pem');

-- only superusers (and pg_read_server_files) may set it: the server reads
-- the file
CREATE ROLE regress_ckfdw_tls;
GRANT USAGE ON FOREIGN DATA WRAPPER ckfdw TO regress_ckfdw_tls;
SET ROLE regress_ckfdw_tls;
CREATE SERVER tls_user FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', ca_file '/etc/ssl/certs/ca-certificates.crt');
CREATE SERVER tls_user FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery');
ALTER SERVER tls_user OPTIONS (ADD ca_file '/etc/ssl/certs/ca-certificates.crt');
DROP SERVER tls_user;
RESET ROLE;
REVOKE USAGE ON FOREIGN DATA WRAPPER ckfdw FROM regress_ckfdw_tls;
DROP ROLE regress_ckfdw_tls;

DROP SERVER tls_ca, tls_system CASCADE;
