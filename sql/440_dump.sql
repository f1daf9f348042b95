--
-- 440_dump: pg_dump of a database with ckfdw servers, user mappings and
-- foreign tables restores into a new database, where the tables read
-- CloudKit as before.  pg_dump writes user mapping options as they are,
-- secrets included, as it does for every foreign data wrapper.
--
\getenv ckemu_url CKEMU_URL
\getenv key_id CKFDW_KEY_ID
\getenv key_file CKFDW_KEY_FILE
\getenv api_token CKFDW_API_TOKEN
\getenv web_auth_token CKFDW_WEB_AUTH_TOKEN
SELECT current_database() AS regress_db \gset
CREATE DATABASE ckfdw_dump_source;
CREATE DATABASE ckfdw_dump_restored;

\c ckfdw_dump_source
CREATE EXTENSION ckfdw;
CREATE SERVER gallery FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'ckemu_url', page_size '50');
CREATE USER MAPPING FOR CURRENT_USER SERVER gallery
	OPTIONS (key_id :'key_id', private_key_file :'key_file');
CREATE SERVER wishlist FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', database 'private', base_url :'ckemu_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER wishlist
	OPTIONS (api_token :'api_token', web_auth_token :'web_auth_token');
CREATE SCHEMA art;
CREATE FOREIGN TABLE art.artist (
	id        text OPTIONS (system 'recordName'),
	name      text OPTIONS (queryable 'true'),
	born      timestamptz,
	movements text[],
	mentor    text OPTIONS (type 'REFERENCE', reference_action 'VALIDATE')
) SERVER gallery OPTIONS (record_type 'Artist');
CREATE FOREIGN TABLE art.favorite (
	id text OPTIONS (system 'recordName'),
	artwork_name text OPTIONS (field 'artworkName')
) SERVER wishlist OPTIONS (record_type 'Favorite', zone 'Wishlist', insert_mode 'merge');
CREATE VIEW art.early_artists AS SELECT id, name FROM art.artist WHERE born < '1850-01-01';
SELECT count(*) FROM art.early_artists;

-- dumped and restored with psql; errors would show here
\! pg_dump -d ckfdw_dump_source | psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d ckfdw_dump_restored && echo restored
-- the secrets of user mappings are in the dump (the key file only by name)
\! pg_dump -d ckfdw_dump_source | grep -c -e "$CKFDW_API_TOKEN" -e "$CKFDW_WEB_AUTH_TOKEN"

\c ckfdw_dump_restored
SELECT extversion FROM pg_extension WHERE extname = 'ckfdw';
-- (the port of ckemu differs from run to run)
SELECT srvname, regexp_replace(srvoptions::text, ':[0-9]+', ':PORT') AS srvoptions FROM pg_foreign_server ORDER BY srvname;
SELECT srvname, array_length(umoptions, 1) AS options FROM pg_user_mappings ORDER BY srvname;
SELECT c.relname, ft.ftoptions FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid ORDER BY 1;
\d+ art.artist
-- the restored tables query CloudKit
SELECT count(*) FROM art.early_artists;
SELECT name, movements FROM art.artist WHERE id = 'artist-0002';
SELECT count(*), min(id) FROM art.favorite;
SELECT zone_name FROM ckfdw_zones('wishlist') ORDER BY 1;

\c :regress_db
DROP DATABASE ckfdw_dump_source;
DROP DATABASE ckfdw_dump_restored;
