--
-- 300_import: IMPORT FOREIGN SCHEMA from a CloudKit schema (.ckdb), the
-- generated definitions, and reads through them against ckemu.
--
-- Paths come from the environment (test/run-tests.sh) and never appear in
-- the output; ckfdw_test_error (010_options) masks the directories of
-- quoted absolute paths.
--
\getenv schema_file CKFDW_SCHEMA_FILE
\getenv ckemu_url CKEMU_URL
\getenv key_file CKFDW_KEY_FILE
\getenv api_token CKFDW_API_TOKEN
\getenv web_auth_token CKFDW_WEB_AUTH_TOKEN
\pset null '(null)'
SET timezone = 'UTC';
SET extra_float_digits = 0;

-- the columns of the foreign tables in a schema, with their options
CREATE FUNCTION pg_temp.imported_columns(nsp text)
RETURNS TABLE ("table" name, "column" name, type text, options text)
LANGUAGE sql STABLE AS $$
	SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
		array_to_string(a.attfdwoptions, ', ')
	FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid
	WHERE n.nspname = nsp AND c.relkind = 'f' AND a.attnum > 0
		AND NOT a.attisdropped
	ORDER BY c.relname COLLATE "C", a.attnum
$$;

-- the foreign tables of a schema, with their server and options
CREATE FUNCTION pg_temp.imported_tables(nsp text)
RETURNS TABLE ("table" name, server name, options text, columns bigint)
LANGUAGE sql STABLE AS $$
	SELECT c.relname, s.srvname, array_to_string(ft.ftoptions, ', '),
		(SELECT count(*) FROM pg_attribute a
		 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
	FROM pg_foreign_table ft
		JOIN pg_class c ON c.oid = ft.ftrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_foreign_server s ON s.oid = ft.ftserver
	WHERE n.nspname = nsp
	ORDER BY c.relname COLLATE "C"
$$;

--
-- The sample schema, with the defaults: snake_case names, system columns
--
CREATE SCHEMA gallery_import;
IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO gallery_import
	OPTIONS (schema_file :'schema_file');
SELECT * FROM pg_temp.imported_tables('gallery_import');
\d+ gallery_import.artist
-- one column of every wire type; LIST<LOCATION> and LIST<ASSET> are jsonb
SELECT "column", type, options FROM pg_temp.imported_columns('gallery_import')
WHERE "table" = 'all_types';
-- no "___recordID" index: record_name says it is not queryable
SELECT "table", options FROM pg_temp.imported_columns('gallery_import')
WHERE "column" = 'record_name';
-- the generated definitions hold nothing from the user mapping
SELECT count(*) AS mentions_of_the_key
FROM pg_temp.imported_columns('gallery_import')
WHERE options LIKE '%' || :'key_file' || '%' OR options LIKE '%BEGIN%';

--
-- The imported tables read real records
--
SELECT (SELECT count(*) FROM gallery_import.artwork) AS artworks,
	(SELECT count(*) FROM gallery_import.artist) AS artists,
	(SELECT count(*) FROM gallery_import.exhibition) AS exhibitions,
	(SELECT count(*) FROM gallery_import.visit) AS visits,
	(SELECT count(*) FROM gallery_import.all_types) AS all_types;

SELECT record_name, name, born, died, nationality, living, rating, movements,
	award_years, studio, mentor, signature, website
FROM gallery_import.artist
WHERE record_name IN ('artist-0001', 'artist-0003', 'artist-0120')
ORDER BY record_name;

SELECT record_name, title, tour_stops, daily_visitors, ticket_prices,
	press_dates, stamps, jsonb_typeof(photos) AS photos, free
FROM gallery_import.exhibition
WHERE record_name IN ('exhibition-001', 'exhibition-003')
ORDER BY record_name;

-- every Artist record and field equals the seed file
\set seed_artist `jq -c '[.seeds[] | select(.database == "public") | .records[] | select(.recordType == "Artist")]' test/data/gallery.json`
CREATE TEMP TABLE seed_artist AS
	SELECT r->>'recordName' AS id, r->'fields' AS f
	FROM jsonb_array_elements(:'seed_artist'::jsonb) r;
CREATE FUNCTION pg_temp.ms(v jsonb) RETURNS timestamptz
	LANGUAGE sql IMMUTABLE
	RETURN timestamptz 'epoch' + (v #>> '{}')::bigint * interval '1 millisecond';
\x on
SELECT count(*) AS records,
	count(*) FILTER (WHERE a.record_name IS NULL OR s.id IS NULL) AS unmatched,
	count(*) FILTER (WHERE a.name IS DISTINCT FROM s.f #>> '{name,value}') AS name,
	count(*) FILTER (WHERE a.born IS DISTINCT FROM pg_temp.ms(s.f #> '{born,value}')) AS born,
	count(*) FILTER (WHERE a.died IS DISTINCT FROM pg_temp.ms(s.f #> '{died,value}')) AS died,
	count(*) FILTER (WHERE a.nationality IS DISTINCT FROM s.f #>> '{nationality,value}') AS nationality,
	count(*) FILTER (WHERE a.living IS DISTINCT FROM (s.f #>> '{living,value}')::bigint) AS living,
	count(*) FILTER (WHERE a.rating IS DISTINCT FROM (s.f #>> '{rating,value}')::float8) AS rating,
	count(*) FILTER (WHERE to_jsonb(a.movements) IS DISTINCT FROM s.f #> '{movements,value}') AS movements,
	count(*) FILTER (WHERE to_jsonb(a.award_years) IS DISTINCT FROM s.f #> '{awardYears,value}') AS award_years,
	count(*) FILTER (WHERE a.studio IS DISTINCT FROM s.f #> '{studio,value}') AS studio,
	count(*) FILTER (WHERE a.mentor IS DISTINCT FROM s.f #>> '{mentor,value,recordName}') AS mentor,
	count(*) FILTER (WHERE a.signature IS DISTINCT FROM decode(s.f #>> '{signature,value}', 'base64')) AS signature,
	count(*) FILTER (WHERE (a.portrait IS NULL) <> (s.f -> 'portrait' IS NULL)) AS portrait,
	count(*) FILTER (WHERE a.bio IS DISTINCT FROM s.f #>> '{bio,value}') AS bio,
	count(*) FILTER (WHERE a.website IS DISTINCT FROM s.f #>> '{website,value}') AS website,
	count(*) FILTER (WHERE a.change_tag IS NULL OR a.created IS NULL OR a.modified IS NULL
		OR a.created_by IS NULL OR a.modified_by IS NULL) AS system_nulls
FROM gallery_import.artist a FULL JOIN seed_artist s ON a.record_name = s.id;
\x off

-- an imported table is an ordinary foreign table: joins, filters
SELECT a.name, count(*) AS works, min(w.year) AS first_year
FROM gallery_import.artwork w JOIN gallery_import.artist a ON w.artist = a.record_name
WHERE a.record_name IN ('artist-0001', 'artist-0002')
GROUP BY a.name ORDER BY a.name;

-- a filter and a sort on a field without indexes (Artist.website) stay in
-- PostgreSQL: no request is refused, every record is read once
\! curl -s -X DELETE "$CKEMU_URL/_ckemu/stats" >/dev/null
SELECT count(*) FROM gallery_import.artist WHERE website LIKE 'https://%';
SELECT record_name, website FROM gallery_import.artist
WHERE website IS NOT NULL ORDER BY website LIMIT 2;
\! curl -s "$CKEMU_URL/_ckemu/stats" | jq -c '.operations["records/query"] | {requests, records_out}'

-- Loan has no "___recordID" index: CloudKit refuses to list it, but looks
-- records up by name, and filters on indexed fields
SELECT ckfdw_test_error('SELECT count(*) FROM gallery_import.loan');
SELECT record_name, borrower FROM gallery_import.loan
WHERE record_name IN ('loan-001', 'loan-002') ORDER BY record_name;
SELECT count(*) FROM gallery_import.loan WHERE borrower = (
	SELECT borrower FROM gallery_import.loan WHERE record_name = 'loan-001');

-- importing again into the same schema: the tables exist
SELECT ckfdw_test_error(format($$IMPORT FOREIGN SCHEMA ckfdw LIMIT TO (artist)
	FROM SERVER gallery INTO gallery_import OPTIONS (schema_file %L)$$, :'schema_file'));

--
-- LIMIT TO and EXCEPT take CloudKit names and table names
--
CREATE SCHEMA import_limit;
IMPORT FOREIGN SCHEMA ckfdw LIMIT TO ("Artist", visit, "AllTypes", nosuchtype)
	FROM SERVER gallery INTO import_limit OPTIONS (schema_file :'schema_file');
SELECT "table", options FROM pg_temp.imported_tables('import_limit');
CREATE SCHEMA import_except;
IMPORT FOREIGN SCHEMA ckfdw EXCEPT ("Artwork", all_types, "Loan", favorite)
	FROM SERVER gallery INTO import_except OPTIONS (schema_file :'schema_file');
SELECT "table", options FROM pg_temp.imported_tables('import_except');
-- nothing matches: nothing is imported
CREATE SCHEMA import_none;
IMPORT FOREIGN SCHEMA ckfdw LIMIT TO (nothing_here)
	FROM SERVER gallery INTO import_none OPTIONS (schema_file :'schema_file');
SELECT count(*) FROM pg_temp.imported_tables('import_none');
DROP SCHEMA import_limit, import_except, import_none CASCADE;

--
-- names 'keep', system_columns 'false'; zone and zone_owner on every table
--
CREATE SCHEMA import_keep;
IMPORT FOREIGN SCHEMA anything_goes LIMIT TO ("Artist", "AllTypes")
	FROM SERVER gallery INTO import_keep
	OPTIONS (schema_file :'schema_file', names 'keep', system_columns 'false',
		zone 'Gallery Zone', zone_owner '_abc''def');
SELECT * FROM pg_temp.imported_tables('import_keep');
SELECT "table", "column", type, options FROM pg_temp.imported_columns('import_keep')
WHERE "table" = 'Artist';
DROP SCHEMA import_keep CASCADE;

-- the private database: Favorite records live in zone Wishlist
CREATE SERVER gallery_private FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', database 'private',
	base_url :'ckemu_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER gallery_private
	OPTIONS (api_token :'api_token', web_auth_token :'web_auth_token');
CREATE SCHEMA import_private;
IMPORT FOREIGN SCHEMA ckfdw LIMIT TO ("Favorite") FROM SERVER gallery_private
	INTO import_private OPTIONS (schema_file :'schema_file', zone 'Wishlist');
SELECT * FROM pg_temp.imported_tables('import_private');
SELECT count(*), min(record_name), max(record_name), min(stars), max(stars)
FROM import_private.favorite;
DROP SCHEMA import_private CASCADE;
DROP SERVER gallery_private CASCADE;

--
-- Inline schema text, with awkward names: reserved words, quotes, spaces,
-- non-ASCII letters, acronyms, encrypted and legacy NUMBER fields
--
CREATE SCHEMA import_inline;
IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO import_inline
	OPTIONS (schema $ckdb$
DEFINE SCHEMA
    CREATE ROLE Editor;
    RECORD TYPE "Order" (
        "___recordID"   REFERENCE QUERYABLE,
        "___modTime"    TIMESTAMP SORTABLE,
        "grant"         STRING QUERYABLE,      // a reserved word of the language
        "select"        INT64 SORTABLE,        -- and of SQL
        firstName       STRING QUERYABLE SORTABLE SEARCHABLE,
        "it's \ here"   STRING,
        "Größe"         DOUBLE,
        URLString       STRING,
        HTTPServer2Go   LIST<REFERENCE>,
        Point3D         LOCATION,
        secret          ENCRYPTED STRING,
        amount          NUMBER PREFERRED AS DOUBLE,
        count           NUMBER,
        GRANT READ, WRITE TO Editor
    );
    /* only a system field: no columns but the system columns */
    RECORD TYPE Bare_Type ("___recordID" REFERENCE);
$ckdb$);
SELECT * FROM pg_temp.imported_tables('import_inline');
SELECT "table", "column", type, options FROM pg_temp.imported_columns('import_inline');
-- the request names the record type "Order" (which ckemu's container lacks)
SELECT ckfdw_test_error('SELECT * FROM import_inline."order"');
DROP SCHEMA import_inline CASCADE;

-- names that collide after conversion are reported, naming both
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema 'DEFINE SCHEMA RECORD TYPE ArtWork (a STRING); RECORD TYPE Art_Work (b STRING);')$$);
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema 'DEFINE SCHEMA RECORD TYPE T (firstName STRING, first_name INT64);')$$);
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema 'DEFINE SCHEMA RECORD TYPE T (created TIMESTAMP, createdBy STRING);')$$);
-- ... after truncation to NAMEDATALEN - 1 bytes
SELECT ckfdw_test_error(format($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema 'DEFINE SCHEMA RECORD TYPE T (%s STRING, %s STRING);')$$,
	repeat('a', 63) || 'X', repeat('a', 63) || 'Y'));
-- ... and avoided: with names 'keep', system_columns 'false', or EXCEPT
CREATE SCHEMA import_avoid;
IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO import_avoid
	OPTIONS (schema 'DEFINE SCHEMA RECORD TYPE T (firstName STRING, first_name INT64);',
		names 'keep');
IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO import_avoid
	OPTIONS (schema 'DEFINE SCHEMA RECORD TYPE U (created TIMESTAMP);',
		system_columns 'false');
IMPORT FOREIGN SCHEMA ckfdw EXCEPT ("Art_Work") FROM SERVER gallery INTO import_avoid
	OPTIONS (schema 'DEFINE SCHEMA RECORD TYPE ArtWork (a STRING); RECORD TYPE Art_Work (b STRING);');
SELECT "table", "column", type, options FROM pg_temp.imported_columns('import_avoid');
DROP SCHEMA import_avoid CASCADE;

--
-- Errors
--
-- the schema's syntax, with the line
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema E'DEFINE SCHEMA\n  RECORD TYPE A (\n    x STRNG\n  );')$$);
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema E'DEFINE SCHEMA\n  RECORD TYPE A (grant STRING);')$$);
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema E'DEFINE SCHEMA\n  RECORD TYPE A (x STRING);\n  RECORD TYPE A (y STRING);')$$);
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema '')$$);
-- the context names where the schema came from
IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema E'DEFINE SCHEMA\n\n  RECORD TYPE "Grüße" (x LIST<LIST<STRING>>);');
-- files: missing, not a schema, a directory, a relative path
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema_file '/nonexistent/gallery.ckdb')$$);
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema_file '/dev/null')$$);
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema_file '/')$$);
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema_file 'gallery.ckdb')$$);
-- options
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public$$);
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema_fle '/x.ckdb')$$);
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema 'DEFINE SCHEMA', nmaes 'keep')$$);
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema 'DEFINE SCHEMA', record_type 'Artist')$$);
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema 'DEFINE SCHEMA', schema_file '/x.ckdb')$$);
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema 'DEFINE SCHEMA', names 'camelCase')$$);
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema 'DEFINE SCHEMA', system_columns 'maybe')$$);
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema 'DEFINE SCHEMA', names 'keep', names 'snake_case')$$);
-- table options are checked by the validator as the tables are created
SELECT ckfdw_test_error($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO public
	OPTIONS (schema 'DEFINE SCHEMA RECORD TYPE A (x STRING);', zone '')$$);

-- schema_file is for superusers and pg_read_server_files; schema for all
CREATE ROLE regress_ckfdw_importer;
CREATE SCHEMA import_role AUTHORIZATION regress_ckfdw_importer;
GRANT USAGE ON FOREIGN SERVER gallery TO regress_ckfdw_importer;
SET ROLE regress_ckfdw_importer;
SELECT ckfdw_test_error(format($$IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery
	INTO import_role OPTIONS (schema_file %L)$$, :'schema_file'));
IMPORT FOREIGN SCHEMA ckfdw FROM SERVER gallery INTO import_role
	OPTIONS (schema 'DEFINE SCHEMA RECORD TYPE Artist (name STRING QUERYABLE);');
RESET ROLE;
GRANT pg_read_server_files TO regress_ckfdw_importer;
SET ROLE regress_ckfdw_importer;
IMPORT FOREIGN SCHEMA ckfdw LIMIT TO (visit) FROM SERVER gallery
	INTO import_role OPTIONS (schema_file :'schema_file');
RESET ROLE;
SELECT * FROM pg_temp.imported_tables('import_role');
DROP SCHEMA import_role CASCADE;
REVOKE USAGE ON FOREIGN SERVER gallery FROM regress_ckfdw_importer;
DROP ROLE regress_ckfdw_importer;

DROP SCHEMA gallery_import CASCADE;
