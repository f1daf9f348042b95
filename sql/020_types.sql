--
-- 020_types: every CloudKit wire type read into its default PostgreSQL type
-- and into the other accepted types, checked record by record against the
-- seed file (test/data/gallery.json) as PostgreSQL's own JSON functions
-- read it.
--
\getenv ckemu_url CKEMU_URL
\pset null '(null)'
SET timezone = 'UTC';
SET extra_float_digits = 0;

-- the seed records, extracted with jq (psql runs in the source directory)
\set seed_artist `jq -c '[.seeds[] | select(.database == "public") | .records[] | select(.recordType == "Artist")]' test/data/gallery.json`
\set seed_exhibition `jq -c '[.seeds[] | select(.database == "public") | .records[] | select(.recordType == "Exhibition")]' test/data/gallery.json`
CREATE TEMP TABLE seed_artist AS
	SELECT r->>'recordName' AS id, r->'fields' AS f
	FROM jsonb_array_elements(:'seed_artist'::jsonb) r;
CREATE TEMP TABLE seed_exhibition AS
	SELECT r->>'recordName' AS id, r->'fields' AS f
	FROM jsonb_array_elements(:'seed_exhibition'::jsonb) r;
SELECT (SELECT count(*) FROM seed_artist) AS artists,
	(SELECT count(*) FROM seed_exhibition) AS exhibitions;

-- milliseconds since 1970 as timestamptz, computed exactly
CREATE FUNCTION pg_temp.ms(v jsonb) RETURNS timestamptz
	LANGUAGE sql IMMUTABLE
	RETURN timestamptz 'epoch' + (v #>> '{}')::bigint * interval '1 millisecond';

--
-- Artist, default mapping: text, timestamptz, bigint, double precision,
-- text[], bigint[], jsonb (LOCATION, ASSETID), text (REFERENCE), bytea
--
CREATE FOREIGN TABLE artist (
	id text OPTIONS (system 'recordName'),
	change_tag text OPTIONS (system 'recordChangeTag'),
	created timestamptz OPTIONS (system 'createdTimestamp'),
	modified timestamptz OPTIONS (system 'modifiedTimestamp'),
	created_by text OPTIONS (system 'createdUserRecordName'),
	modified_by text OPTIONS (system 'modifiedUserRecordName'),
	name text,
	born timestamptz,
	died timestamptz,
	nationality text,
	living bigint,
	rating double precision,
	movements text[],
	award_years bigint[] OPTIONS (field 'awardYears'),
	studio jsonb,
	mentor text OPTIONS (type 'REFERENCE'),
	signature bytea,
	portrait jsonb,
	bio text,
	website text
) SERVER gallery OPTIONS (record_type 'Artist');

SELECT id, name, born, died, nationality, living, rating, movements,
	award_years, studio, mentor, signature, bio, website
FROM artist WHERE id IN ('artist-0001', 'artist-0003', 'artist-0120')
ORDER BY id;

-- every record and every field equals the seed; missing fields are NULL
\x on
SELECT count(*) AS records,
	count(*) FILTER (WHERE a.id IS NULL OR s.id IS NULL) AS unmatched,
	count(*) FILTER (WHERE a.name IS DISTINCT FROM s.f #>> '{name,value}') AS name,
	count(*) FILTER (WHERE a.born IS DISTINCT FROM pg_temp.ms(s.f #> '{born,value}')) AS born,
	count(*) FILTER (WHERE a.died IS DISTINCT FROM pg_temp.ms(s.f #> '{died,value}')) AS died,
	count(*) FILTER (WHERE a.nationality IS DISTINCT FROM s.f #>> '{nationality,value}') AS nationality,
	count(*) FILTER (WHERE a.living IS DISTINCT FROM (s.f #>> '{living,value}')::bigint) AS living,
	count(*) FILTER (WHERE a.rating IS DISTINCT FROM (s.f #>> '{rating,value}')::float8) AS rating,
	count(*) FILTER (WHERE a.movements IS DISTINCT FROM
		(SELECT array_agg(e ORDER BY o) FILTER (WHERE e IS NOT NULL)
		 FROM jsonb_array_elements_text(s.f #> '{movements,value}') WITH ORDINALITY x(e, o))
		AND NOT (a.movements = '{}' AND s.f #> '{movements,value}' = '[]')) AS movements,
	count(*) FILTER (WHERE a.award_years IS DISTINCT FROM
		(SELECT array_agg(e::bigint ORDER BY o)
		 FROM jsonb_array_elements_text(s.f #> '{awardYears,value}') WITH ORDINALITY x(e, o))
		AND NOT (a.award_years = '{}' AND s.f #> '{awardYears,value}' = '[]')) AS award_years,
	count(*) FILTER (WHERE a.studio IS DISTINCT FROM s.f #> '{studio,value}') AS studio,
	count(*) FILTER (WHERE a.mentor IS DISTINCT FROM s.f #>> '{mentor,value,recordName}') AS mentor,
	count(*) FILTER (WHERE a.signature IS DISTINCT FROM decode(s.f #>> '{signature,value}', 'base64')) AS signature,
	count(*) FILTER (WHERE (a.portrait IS NULL) <> (s.f -> 'portrait' IS NULL)) AS portrait,
	count(*) FILTER (WHERE a.bio IS DISTINCT FROM s.f #>> '{bio,value}') AS bio,
	count(*) FILTER (WHERE a.website IS DISTINCT FROM s.f #>> '{website,value}') AS website
FROM artist a FULL JOIN seed_artist s ON a.id = s.id;
\x off

-- the counts of present values the data set documents (test/data/README.md)
SELECT count(*), count(died) AS died, count(rating) AS rating,
	count(award_years) AS award_years, count(mentor) AS mentor,
	count(signature) AS signature, count(portrait) AS portrait,
	count(bio) AS bio, count(website) AS website,
	count(*) FILTER (WHERE living = 1) AS living,
	count(*) FILTER (WHERE movements = '{}') AS no_movements
FROM artist;

-- system fields: always there, timestamps at millisecond precision
SELECT count(change_tag) AS change_tag, count(created) AS created,
	count(modified) AS modified, count(created_by) AS created_by,
	count(modified_by) AS modified_by,
	bool_and(modified >= created) AS modified_after_created,
	bool_and(extract(microseconds FROM created)::bigint % 1000 = 0) AS created_ms,
	bool_and(created_by ~ '^_[0-9a-f]{32}$') AS user_record_names
FROM artist;

-- negative (pre-1970) timestamps keep their milliseconds
SELECT id, born, extract(epoch FROM born) * 1000 AS born_ms
FROM artist WHERE id = 'artist-0001';

-- assets: the whole dictionary as jsonb
SELECT id, jsonb_typeof(portrait) AS type, portrait ? 'downloadURL' AS has_url,
	(portrait ->> 'size')::int > 0 AS has_size
FROM artist WHERE portrait IS NOT NULL ORDER BY id LIMIT 3;

--
-- Artist again, in the other accepted types: varchar(n), char(n), timestamp,
-- date, boolean, integer, smallint, numeric, real, point, jsonb for lists,
-- references and any value, text for asset URLs
--
CREATE FOREIGN TABLE artist_alt (
	id varchar(20) OPTIONS (system 'recordName'),
	created timestamp OPTIONS (system 'createdTimestamp'),
	modified date OPTIONS (system 'modifiedTimestamp'),
	name varchar(60),
	name_char char(40) OPTIONS (field 'name'),
	born timestamp,
	born_date date OPTIONS (field 'born'),
	living boolean,
	living_int integer OPTIONS (field 'living'),
	living_small smallint OPTIONS (field 'living'),
	living_num numeric OPTIONS (field 'living', type 'INT64'),
	rating real,
	rating_num numeric OPTIONS (field 'rating'),
	movements jsonb OPTIONS (type 'STRING_LIST'),
	award_years integer[] OPTIONS (field 'awardYears'),
	award_years_json jsonb OPTIONS (field 'awardYears'),
	studio point,
	mentor jsonb OPTIONS (type 'REFERENCE'),
	portrait text OPTIONS (type 'ASSETID'),
	signature jsonb,
	bio json
) SERVER gallery OPTIONS (record_type 'Artist');

SELECT id, name, name_char, born, born_date, living, living_int, living_small,
	living_num, rating, rating_num, movements, award_years, award_years_json,
	studio, mentor
FROM artist_alt WHERE id IN ('artist-0001', 'artist-0003', 'artist-0120')
ORDER BY id;

\x on
SELECT count(*) AS records,
	count(*) FILTER (WHERE b.id IS NULL) AS unmatched,
	count(*) FILTER (WHERE b.created IS DISTINCT FROM (a.created AT TIME ZONE 'UTC')) AS created,
	count(*) FILTER (WHERE b.modified IS DISTINCT FROM (a.modified AT TIME ZONE 'UTC')::date) AS modified,
	count(*) FILTER (WHERE b.name IS DISTINCT FROM a.name) AS name,
	count(*) FILTER (WHERE b.name_char IS DISTINCT FROM a.name::char(40)) AS name_char,
	count(*) FILTER (WHERE b.born IS DISTINCT FROM (a.born AT TIME ZONE 'UTC')) AS born,
	count(*) FILTER (WHERE b.born_date IS DISTINCT FROM (a.born AT TIME ZONE 'UTC')::date) AS born_date,
	count(*) FILTER (WHERE b.living IS DISTINCT FROM (a.living = 1)) AS living,
	count(*) FILTER (WHERE b.living_int IS DISTINCT FROM a.living) AS living_int,
	count(*) FILTER (WHERE b.living_small IS DISTINCT FROM a.living) AS living_small,
	count(*) FILTER (WHERE b.living_num IS DISTINCT FROM a.living) AS living_num,
	count(*) FILTER (WHERE b.rating IS DISTINCT FROM a.rating::real) AS rating,
	count(*) FILTER (WHERE b.rating_num::text IS DISTINCT FROM s.f #>> '{rating,value}') AS rating_num,
	count(*) FILTER (WHERE b.movements IS DISTINCT FROM s.f #> '{movements,value}') AS movements,
	count(*) FILTER (WHERE b.award_years IS DISTINCT FROM a.award_years::int[]) AS award_years,
	count(*) FILTER (WHERE b.award_years_json IS DISTINCT FROM s.f #> '{awardYears,value}') AS award_years_json,
	count(*) FILTER (WHERE b.studio::text IS DISTINCT FROM
		point((a.studio ->> 'longitude')::float8, (a.studio ->> 'latitude')::float8)::text) AS studio,
	count(*) FILTER (WHERE b.mentor IS DISTINCT FROM s.f #> '{mentor,value}') AS mentor,
	count(*) FILTER (WHERE b.portrait IS DISTINCT FROM a.portrait ->> 'downloadURL') AS portrait,
	count(*) FILTER (WHERE b.signature #>> '{}' IS DISTINCT FROM s.f #>> '{signature,value}') AS signature,
	count(*) FILTER (WHERE b.bio::text IS DISTINCT FROM (s.f #> '{bio,value}')::text) AS bio
FROM artist a JOIN seed_artist s ON a.id = s.id
	LEFT JOIN artist_alt b ON b.id = a.id;
\x off

-- the asset's download URL points at the CloudKit server (here: ckemu)
SELECT count(*) AS portraits,
	bool_and(starts_with(portrait, :'ckemu_url')) AS served_by_ckemu
FROM artist_alt WHERE portrait IS NOT NULL;

--
-- Exhibition: every list type, in arrays and in jsonb
--
CREATE FOREIGN TABLE exhibition (
	id text OPTIONS (system 'recordName'),
	title text,
	opens timestamptz,
	closes timestamptz,
	curator text,
	venue jsonb,
	artworks text[] OPTIONS (type 'REFERENCE_LIST'),
	tour_stops point[] OPTIONS (field 'tourStops'),
	daily_visitors bigint[] OPTIONS (field 'dailyVisitors'),
	ticket_prices double precision[] OPTIONS (field 'ticketPrices'),
	press_dates timestamptz[] OPTIONS (field 'pressDates'),
	stamps bytea[],
	poster jsonb,
	photos jsonb,
	summary text,
	free boolean
) SERVER gallery OPTIONS (record_type 'Exhibition');

CREATE FOREIGN TABLE exhibition_json (
	id text OPTIONS (system 'recordName'),
	venue point,
	artworks jsonb,
	artworks_refs jsonb[] OPTIONS (field 'artworks', type 'REFERENCE_LIST'),
	tour_stops jsonb OPTIONS (field 'tourStops', type 'LOCATION_LIST'),
	daily_visitors numeric[] OPTIONS (field 'dailyVisitors', type 'INT64_LIST'),
	daily_visitors_small smallint[] OPTIONS (field 'dailyVisitors'),
	ticket_prices real[] OPTIONS (field 'ticketPrices'),
	ticket_prices_num numeric[] OPTIONS (field 'ticketPrices'),
	press_dates date[] OPTIONS (field 'pressDates'),
	press_dates_ts timestamp[] OPTIONS (field 'pressDates'),
	stamps jsonb,
	poster text OPTIONS (type 'ASSETID')
) SERVER gallery OPTIONS (record_type 'Exhibition');

SELECT id, title, opens, closes, curator, artworks[1:3] AS first_artworks,
	cardinality(artworks) AS n_artworks, tour_stops, daily_visitors,
	ticket_prices, press_dates, stamps, free
FROM exhibition WHERE id IN ('exhibition-001', 'exhibition-003', 'exhibition-015')
ORDER BY id;

SELECT e.id, j.venue, j.artworks -> 0 AS first_artwork, j.artworks_refs[1] AS first_ref,
	j.tour_stops, j.daily_visitors, j.daily_visitors_small, j.ticket_prices,
	j.ticket_prices_num, j.press_dates, j.press_dates_ts
FROM exhibition e JOIN exhibition_json j USING (id)
WHERE id IN ('exhibition-001', 'exhibition-003', 'exhibition-015')
ORDER BY id;

\x on
SELECT count(*) AS records,
	count(*) FILTER (WHERE e.id IS NULL OR s.id IS NULL) AS unmatched,
	count(*) FILTER (WHERE e.title IS DISTINCT FROM s.f #>> '{title,value}') AS title,
	count(*) FILTER (WHERE e.opens IS DISTINCT FROM pg_temp.ms(s.f #> '{opens,value}')) AS opens,
	count(*) FILTER (WHERE e.closes IS DISTINCT FROM pg_temp.ms(s.f #> '{closes,value}')) AS closes,
	count(*) FILTER (WHERE e.venue IS DISTINCT FROM s.f #> '{venue,value}') AS venue,
	count(*) FILTER (WHERE to_jsonb(e.artworks) IS DISTINCT FROM
		jsonb_path_query_array(s.f, '$.artworks.value[*].recordName')) AS artworks,
	count(*) FILTER (WHERE j.artworks IS DISTINCT FROM s.f #> '{artworks,value}') AS artworks_json,
	count(*) FILTER (WHERE to_jsonb(j.artworks_refs) IS DISTINCT FROM s.f #> '{artworks,value}') AS artworks_refs,
	count(*) FILTER (WHERE j.tour_stops IS DISTINCT FROM s.f #> '{tourStops,value}') AS tour_stops_json,
	count(*) FILTER (WHERE cardinality(e.tour_stops) IS DISTINCT FROM
		jsonb_array_length(s.f #> '{tourStops,value}')) AS tour_stops,
	count(*) FILTER (WHERE to_jsonb(e.daily_visitors) IS DISTINCT FROM s.f #> '{dailyVisitors,value}') AS daily_visitors,
	count(*) FILTER (WHERE to_jsonb(j.daily_visitors) IS DISTINCT FROM s.f #> '{dailyVisitors,value}') AS daily_visitors_num,
	count(*) FILTER (WHERE to_jsonb(e.ticket_prices) IS DISTINCT FROM s.f #> '{ticketPrices,value}') AS ticket_prices,
	count(*) FILTER (WHERE to_jsonb(j.ticket_prices_num) IS DISTINCT FROM s.f #> '{ticketPrices,value}') AS ticket_prices_num,
	count(*) FILTER (WHERE to_jsonb(e.press_dates) IS DISTINCT FROM
		(SELECT coalesce(jsonb_agg(pg_temp.ms(x) ORDER BY o), '[]')
		 FROM jsonb_array_elements(s.f #> '{pressDates,value}') WITH ORDINALITY t(x, o))) AS press_dates,
	count(*) FILTER (WHERE to_jsonb(e.stamps) IS DISTINCT FROM
		(SELECT jsonb_agg(decode(x, 'base64') ORDER BY o)
		 FROM jsonb_array_elements_text(s.f #> '{stamps,value}') WITH ORDINALITY t(x, o))) AS stamps,
	count(*) FILTER (WHERE j.stamps IS DISTINCT FROM s.f #> '{stamps,value}') AS stamps_json,
	count(*) FILTER (WHERE (e.poster IS NULL) <> (s.f -> 'poster' IS NULL)) AS poster,
	count(*) FILTER (WHERE e.photos IS NOT NULL) AS photos,
	count(*) FILTER (WHERE e.summary IS DISTINCT FROM s.f #>> '{summary,value}') AS summary,
	count(*) FILTER (WHERE e.free IS DISTINCT FROM ((s.f #>> '{free,value}')::int = 1)) AS free
FROM exhibition e FULL JOIN seed_exhibition s ON e.id = s.id
	LEFT JOIN exhibition_json j ON j.id = e.id;
\x off

-- empty lists are empty arrays, not NULL
SELECT count(*) FILTER (WHERE artworks = '{}') AS empty_artworks,
	count(*) FILTER (WHERE ticket_prices = '{}') AS empty_prices,
	count(*) FILTER (WHERE artworks IS NULL OR ticket_prices IS NULL) AS null_lists
FROM exhibition;

-- a whole-row reference reads every field
SELECT to_jsonb(a) - 'change_tag' - 'created' - 'modified' - 'created_by'
	- 'modified_by' - 'portrait' AS artist
FROM artist a WHERE id = 'artist-0120';

--
-- Values that do not fit their column are errors naming the column, the
-- foreign table, the record and the CloudKit type; never NULLs
--
CREATE FOREIGN TABLE artist_bad (
	id text OPTIONS (system 'recordName'),
	name integer,
	born bigint OPTIONS (type 'INT64'),
	movements text,
	living jsonb OPTIONS (type 'STRING'),
	mentor text,
	rating numeric(2,2),
	nationality varchar(3),
	award_years numeric(3,0)[] OPTIONS (field 'awardYears', type 'INT64_LIST'),
	award_doubles numeric[] OPTIONS (field 'awardYears')
) SERVER gallery OPTIONS (record_type 'Artist');
SELECT id, name FROM artist_bad;
SELECT id, born FROM artist_bad;
SELECT id, movements FROM artist_bad;
SELECT id, living FROM artist_bad;
SELECT id, mentor FROM artist_bad;
SELECT id, nationality FROM artist_bad;
SELECT id, award_years FROM artist_bad;
SELECT id, award_doubles FROM artist_bad;
SELECT id, rating FROM artist_bad;

-- UUIDs are checked by uuid's input function
CREATE FOREIGN TABLE artist_uuid (
	id text OPTIONS (system 'recordName'),
	name uuid
) SERVER gallery OPTIONS (record_type 'Artist');
SELECT * FROM artist_uuid;

-- INT64 0/1 only into boolean; other INT64 values are errors
CREATE FOREIGN TABLE exhibition_bad (
	id text OPTIONS (system 'recordName'),
	daily_visitors boolean[] OPTIONS (field 'dailyVisitors')
) SERVER gallery OPTIONS (record_type 'Exhibition');
SELECT * FROM exhibition_bad;

-- domains are checked
CREATE DOMAIN short_name AS text CHECK (length(VALUE) < 12);
CREATE FOREIGN TABLE artist_domain (
	id text OPTIONS (system 'recordName'),
	name short_name
) SERVER gallery OPTIONS (record_type 'Artist');
SELECT * FROM artist_domain;

DROP FOREIGN TABLE artist_bad, artist_uuid, exhibition_bad, artist_domain;
DROP DOMAIN short_name;

--
-- Edge values, written into ckemu's empty AllTypes with a records/modify
-- request signed by openssl; POST /_ckemu/reset restores the seed after.
--
\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
\setenv CK_BODY '{"operations": [{"operationType": "create", "record": {"recordName": "edge-1", "recordType": "AllTypes", "fields": {"i": {"value": 100000, "type": "INT64"}, "d": {"value": 1e300, "type": "DOUBLE"}, "t": {"value": 253402300799999, "type": "TIMESTAMP"}, "s": {"value": "Zoë 🎨 Ångström", "type": "STRING"}, "il": {"value": [9223372036854775807, -9223372036854775808], "type": "INT64_LIST"}, "b": {"value": "AAEC/w==", "type": "BYTES"}, "sl": {"value": ["a", ""], "type": "STRING_LIST"}}}}, {"operationType": "create", "record": {"recordName": "edge-2", "recordType": "AllTypes", "fields": {"i": {"value": 2147483648, "type": "INT64"}, "d": {"value": 5e-324, "type": "DOUBLE"}, "t": {"value": -2208988800001, "type": "TIMESTAMP"}, "tl": {"value": [9223372036854775807], "type": "TIMESTAMP_LIST"}}}}, {"operationType": "create", "record": {"recordName": "edge-3", "recordType": "AllTypes", "fields": {"i": {"value": -9223372036854775808, "type": "INT64"}, "d": {"value": -0.0, "type": "DOUBLE"}, "t": {"value": -210866803200000, "type": "TIMESTAMP"}, "s": {"value": "", "type": "STRING"}, "sl": {"value": ["", ""], "type": "STRING_LIST"}}}}]}'
\! sh -c 'd=$(date -u +%Y-%m-%dT%H:%M:%SZ); p=/database/1/iCloud.com.example.Gallery/development/public/records/modify; h=$(printf %s "$CK_BODY" | openssl dgst -sha256 -binary | base64); s=$(printf %s "$d:$h:$p" | openssl dgst -sha256 -sign "$CKFDW_KEY_FILE" | base64 -w0); curl -s -X POST "$CKEMU_URL$p" -H "X-Apple-CloudKit-Request-KeyID: $CKFDW_KEY_ID" -H "X-Apple-CloudKit-Request-ISO8601Date: $d" -H "X-Apple-CloudKit-Request-SignatureV1: $s" --data-binary "$CK_BODY"' | jq -c '[.records[] | .serverErrorCode // .recordName]'
CREATE FOREIGN TABLE alltypes (
	id text OPTIONS (system 'recordName'),
	s text,
	i bigint,
	d double precision,
	t timestamptz,
	b bytea,
	il bigint[],
	sl text[]
) SERVER gallery OPTIONS (record_type 'AllTypes');
-- int64 extremes, 1e300, the smallest subnormal double, -0, the earliest
-- millisecond PostgreSQL can hold (4714 BC), empty strings and lists
SELECT * FROM alltypes ORDER BY id;
CREATE FOREIGN TABLE alltypes_alt (
	id text OPTIONS (system 'recordName'),
	i2 smallint OPTIONS (field 'i'),
	i4 integer OPTIONS (field 'i'),
	inum numeric OPTIONS (field 'i', type 'INT64'),
	dr real OPTIONS (field 'd'),
	dnum numeric OPTIONS (field 'd'),
	ilnum numeric[] OPTIONS (field 'il', type 'INT64_LIST'),
	tl timestamptz[],
	t timestamp,
	td date OPTIONS (field 't')
) SERVER gallery OPTIONS (record_type 'AllTypes');
SELECT id, inum, ilnum, t, td FROM alltypes_alt ORDER BY id;
SELECT id, dnum = 1e300 AS is_1e300, dnum > 0 AND dnum < 1e-323 AS is_tiny,
	dnum = 0 AS is_zero FROM alltypes_alt ORDER BY id;
-- what does not fit is an error naming the record
SELECT id, i2 FROM alltypes_alt;
SELECT id, i4 FROM alltypes_alt;
SELECT id, dr FROM alltypes_alt;
SELECT id, tl FROM alltypes_alt;
\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
SELECT count(*) FROM alltypes;
DROP FOREIGN TABLE alltypes, alltypes_alt;

--
-- A database in another encoding: names go to CloudKit in UTF-8, values
-- come back converted, and what LATIN1 cannot hold is an error
--
\set regress_db :DBNAME
\getenv key_id CKFDW_KEY_ID
\getenv key_file CKFDW_KEY_FILE
CREATE DATABASE regress_ckfdw_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'
	TEMPLATE template0;
\c regress_ckfdw_latin1
SET client_encoding = 'UTF8';
CREATE EXTENSION ckfdw;
CREATE SERVER gallery FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'ckemu_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER gallery
	OPTIONS (key_id :'key_id', private_key_file :'key_file');
CREATE FOREIGN TABLE exhibition (id text OPTIONS (system 'recordName'),
	summary text) SERVER gallery OPTIONS (record_type 'Exhibition');
SELECT id, summary, length(summary) AS chars, octet_length(summary) AS latin1_bytes
FROM exhibition WHERE id IN ('exhibition-001', 'exhibition-002') ORDER BY id;
CREATE FOREIGN TABLE artist (id text OPTIONS (system 'recordName'), name text)
	SERVER gallery OPTIONS (record_type 'Artist');
SELECT count(*) FROM artist;
SELECT id, name FROM artist;
CREATE FOREIGN TABLE "Künstler" ("naïve" text) SERVER gallery;
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM "Künstler";
SELECT * FROM "Künstler";
\c :regress_db
DROP DATABASE regress_ckfdw_latin1;
