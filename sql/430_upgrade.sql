--
-- 430_upgrade: extension versions.  ALTER EXTENSION ckfdw UPDATE from
-- 1.0 gives the same objects as a fresh install of 1.1, keeps the servers,
-- user mappings and foreign tables made under 1.0, and the new functions
-- work.  Runs in databases of its own, so the extension of the regression
-- database is never touched.
--
\getenv ckemu_url CKEMU_URL
\getenv key_id CKFDW_KEY_ID
\getenv key_file CKFDW_KEY_FILE
SELECT current_database() AS regress_db \gset
CREATE DATABASE ckfdw_upgrade_from_10;
CREATE DATABASE ckfdw_fresh_11;

-- The extension's member objects, with the signatures of its functions
-- and the columns of its types, one per line
\set members_query 'SELECT string_agg(d, E''\n'' ORDER BY d) AS members FROM (SELECT pg_describe_object(classid, objid, objsubid) || CASE WHEN classid = ''pg_proc''::regclass THEN (SELECT format('' (%s) returns %s, volatility %s, strict %s, parallel %s'', pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), p.provolatile, p.proisstrict, p.proparallel) FROM pg_proc p WHERE p.oid = objid) WHEN classid = ''pg_type''::regclass THEN coalesce((SELECT '' ('' || string_agg(a.attname || '' '' || format_type(a.atttypid, a.atttypmod), '', '' ORDER BY a.attnum) || '')'' FROM pg_type t JOIN pg_attribute a ON a.attrelid = t.typrelid AND a.attnum > 0 WHERE t.oid = objid), '''') ELSE '''' END AS d FROM pg_depend WHERE refclassid = ''pg_extension''::regclass AND deptype = ''e'' AND refobjid = (SELECT oid FROM pg_extension WHERE extname = ''ckfdw'')) m'

\c ckfdw_fresh_11
CREATE EXTENSION ckfdw;
SELECT extversion FROM pg_extension WHERE extname = 'ckfdw';
:members_query \gset fresh_
SELECT :'fresh_members' AS members_of_1_1;

\c ckfdw_upgrade_from_10
CREATE EXTENSION ckfdw VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'ckfdw';
-- what 1.0 has not
SELECT ckfdw_zones('gallery');
-- objects made under 1.0
CREATE SERVER gallery FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'ckemu_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER gallery
	OPTIONS (key_id :'key_id', private_key_file :'key_file');
CREATE FOREIGN TABLE artist (id text OPTIONS (system 'recordName'), name text)
	SERVER gallery OPTIONS (record_type 'Artist');
SELECT name FROM artist WHERE id = 'artist-0001';

ALTER EXTENSION ckfdw UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'ckfdw';
:members_query \gset upgraded_
SELECT :'upgraded_members' = :'fresh_members' AS same_as_fresh_install;
-- the upgrade script cannot be run by hand
\! psql -X -q -d ckfdw_upgrade_from_10 -f sql/ckfdw--1.0--1.1.sql 2>&1

-- what 1.0 made still works, and so does what 1.1 adds
SELECT name FROM artist WHERE id = 'artist-0001';
SELECT zone_name, zone_type FROM ckfdw_zones('gallery');
-- nothing to update any more
ALTER EXTENSION ckfdw UPDATE;

\c :regress_db
DROP DATABASE ckfdw_upgrade_from_10;
DROP DATABASE ckfdw_fresh_11;
