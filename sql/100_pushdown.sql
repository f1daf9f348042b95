--
-- 100_pushdown: what ckfdw sends to CloudKit.  EXPLAIN (VERBOSE) shows the
-- exact request body; "CloudKit Filter" the conditions sent (as filterBy),
-- the usual "Filter" those evaluated locally, including the rechecks of
-- conditions CloudKit evaluates more loosely than PostgreSQL.  Values known
-- only at execution appear as ?n, listed under "CloudKit Parameters".
--
SET timezone = 'UTC';
CREATE SCHEMA px;
SET search_path = px, public;

CREATE FOREIGN TABLE ticket (
	id text OPTIONS (system 'recordName'),
	serial bigint,
	batch bigint,
	price double precision,
	sold timestamptz
) SERVER gallery OPTIONS (record_type 'Ticket');
CREATE FOREIGN TABLE artwork (
	id text OPTIONS (system 'recordName'),
	title text,
	artist text OPTIONS (type 'REFERENCE'),
	year bigint,
	year4 integer OPTIONS (field 'year'),
	price double precision,
	price_real real OPTIONS (field 'price'),
	price_num numeric OPTIONS (field 'price'),
	on_display boolean OPTIONS (field 'onDisplay'),
	acquired timestamptz,
	acquired_day date OPTIONS (field 'acquired'),
	acquired_s timestamptz(0) OPTIONS (field 'acquired'),
	medium text,
	inventory text OPTIONS (field 'inventoryCode') COLLATE "C",
	tags text[],
	exhibited timestamptz[] OPTIONS (field 'exhibitedOn'),
	related text[] OPTIONS (type 'REFERENCE_LIST'),
	notes text,
	created timestamptz OPTIONS (system 'createdTimestamp'),
	modified timestamptz OPTIONS (system 'modifiedTimestamp'),
	creator text OPTIONS (system 'createdUserRecordName'),
	change_tag text OPTIONS (system 'recordChangeTag')
) SERVER gallery OPTIONS (record_type 'Artwork');

--
-- Numbers
--
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ticket WHERE batch = 7;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ticket WHERE batch <> 7 AND serial >= 100 AND serial < 200;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ticket WHERE 7 = batch AND 100 < serial;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ticket WHERE batch IN (1, 2, 3);
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ticket WHERE batch NOT IN (1, 2);
-- NULL in IN changes nothing; NULL in NOT IN makes it never true: not sent
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ticket WHERE batch IN (1, NULL);
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ticket WHERE batch NOT IN (1, NULL);
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ticket WHERE price <= 15 AND price > 12.5::real;
-- NaN and infinity cannot be sent; OR and expressions of columns neither
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ticket WHERE price < 'Infinity' AND price <> 'NaN';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ticket WHERE batch = 7 OR batch = 8;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ticket WHERE serial % 100 = 7;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE year4 = 1900 AND year4 < 5000000000;
-- real (rounded doubles) and numeric (decimal text) columns compare differently
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE price_real = 1.5 AND price_num > 100;

--
-- Timestamps are milliseconds: a bound with microseconds is rounded the way
-- that keeps the comparison exact, and an equality with one is not sent
--
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ticket
	WHERE sold >= '2015-06-01 00:10:00.002+00' AND sold < '2015-06-01 00:10:00.0025+00';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ticket WHERE sold = '2015-06-01 00:10:00.0025+00';
-- stable expressions and parameters are evaluated when the scan starts
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ticket WHERE sold > now() - interval '1 day';
-- a date is the range of its milliseconds (UTC)
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE acquired_day = '2001-05-03';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE acquired_day > '2001-05-03';
-- timestamptz(0) rounds what it reads: not sent
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE acquired_s > '2000-01-01';

--
-- Booleans are INT64 0/1
--
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE on_display;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE NOT on_display;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE on_display IS TRUE;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE on_display IS NOT FALSE;

--
-- Strings: = and IN are rechecked (CloudKit's equality ignores case);
-- LIKE sends its literal prefix as BEGINS_WITH; <> is never sent
--
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE title = 'Sunflowers';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE title IN ('Sunflowers', 'Irises');
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE title <> 'Sunflowers';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE title LIKE 'Sun%';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE title LIKE 'Sun\_flo%w_rs';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE title LIKE '100#%%' ESCAPE '#';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE title LIKE '%flowers';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE title ^@ 'Sun';
-- ranges only under "C" (CloudKit compares UTF-8 bytes)
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork
	WHERE inventory >= 'GAL-100050' AND inventory < 'GAL-100060';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE title COLLATE "C" < 'M';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE title COLLATE "en-x-icu" < 'M';

--
-- References and system fields
--
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE artist = 'artist-0001';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork
	WHERE artist IN ('artist-0001', 'artist-0002') AND artist <> 'artist-0003';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE id <> 'artwork-00001';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork
	WHERE created < '2016-01-01' AND modified >= '2016-01-01 00:00:00.5' AND creator = '_abc';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE change_tag = 'a1';

--
-- Lists: = ANY(list), @>, <@ and && of strings are rechecked too
--
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE 'impressionism' = ANY(tags);
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE tags @> ARRAY['impressionism', 'landscape'];
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE ARRAY['portrait'] <@ tags;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE tags && ARRAY['portrait', 'still life'];
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE tags <@ ARRAY['portrait'];
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE '2015-01-01 10:00+00' = ANY(exhibited);
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork
	WHERE 'artwork-00001' = ANY(related) AND 'artwork-00002' <> ALL(related);

--
-- Sorts: numbers, booleans, timestamps, and strings under "C"; NULLs
-- where CloudKit puts records without the field (last ascending, first
-- descending)
--
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, year FROM artwork ORDER BY year;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, year FROM artwork WHERE year > 2000 ORDER BY year DESC, price;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, inventory FROM artwork ORDER BY inventory DESC, created;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, title FROM artwork ORDER BY title COLLATE "C";
EXPLAIN (COSTS OFF) SELECT id, year FROM artwork ORDER BY year NULLS FIRST;
EXPLAIN (COSTS OFF) SELECT id, title FROM artwork ORDER BY title COLLATE "en-x-icu";
EXPLAIN (COSTS OFF) SELECT id FROM artwork ORDER BY id;
EXPLAIN (COSTS OFF) SELECT id FROM artwork ORDER BY acquired_day;
EXPLAIN (COSTS OFF) SELECT id FROM artwork ORDER BY year, title COLLATE "en-x-icu";

--
-- LIMIT and OFFSET: applied by the scan (resultsLimit = OFFSET + LIMIT)
-- only when every condition and the ORDER BY are sent
--
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE year > 2000 ORDER BY year LIMIT 5 OFFSET 10;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ticket LIMIT 3;
EXPLAIN (COSTS OFF) SELECT id FROM artwork WHERE title = 'Sunflowers' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM artwork WHERE notes IS NOT NULL LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM artwork ORDER BY year NULLS FIRST LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id, year FROM artwork ORDER BY year FETCH FIRST 5 ROWS WITH TIES;
EXPLAIN (COSTS OFF) SELECT count(*) FROM (SELECT id FROM ticket WHERE batch = 7 LIMIT 5) s;
EXPLAIN (COSTS OFF) SELECT batch, count(*) FROM ticket GROUP BY batch LIMIT 5;

-- a prepared statement's generic plan: every value is a parameter
PREPARE q1(bigint, bigint) AS
	SELECT id, serial FROM ticket WHERE batch = $1 ORDER BY serial LIMIT $2;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE q1(7, 5);
EXECUTE q1(7, 5);
EXECUTE q1(8, 2);
EXECUTE q1(7, -1);
RESET plan_cache_mode;
DEALLOCATE q1;

--
-- Record names: records/lookup, up to page_size names per request, no
-- index needed; the other conditions are evaluated locally
--
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, title FROM artwork WHERE id = 'artwork-00001';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, title FROM artwork
	WHERE id IN ('artwork-00001', 'artwork-00002') AND year > 1900;
-- the request shown is the one sent: the names sorted, each once
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork
	WHERE id IN ('artwork-00003', 'artwork-00001', 'artwork-00003');
PREPARE q2(text[]) AS SELECT id, title FROM artwork WHERE id = ANY($1);
SET plan_cache_mode = force_generic_plan;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE q2('{artwork-00001}');
EXECUTE q2('{artwork-00003,artwork-00001,nope,NULL,artwork-00003}');
RESET plan_cache_mode;
DEALLOCATE q2;
-- a join by record name looks up the names of up to page_size outer rows
-- with one request (CloudKit Lookup Join)
CREATE TEMP TABLE wanted AS
	SELECT format('artwork-%s', lpad((g * 10)::text, 5, '0')) AS name FROM generate_series(1, 30) g;
ANALYZE wanted;
EXPLAIN (VERBOSE, COSTS OFF) SELECT w.name, a.title FROM wanted w JOIN artwork a ON a.id = w.name;
EXPLAIN (VERBOSE, COSTS OFF) SELECT w.name, a.title FROM wanted w
	LEFT JOIN artwork a ON a.id = w.name AND a.year > 1900;
EXPLAIN (COSTS OFF) SELECT w.name FROM wanted w WHERE NOT EXISTS (SELECT FROM artwork a WHERE a.id = w.name);
-- a correlated subquery: one lookup per outer row, with the outer value
EXPLAIN (VERBOSE, COSTS OFF) SELECT w.name, (SELECT a.title FROM artwork a WHERE a.id = w.name) FROM wanted w;
-- a nested loop may look up each outer row's record (a parameterized path)
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET ckfdw.enable_lookup_join = off;
CREATE TEMP TABLE few AS SELECT name FROM wanted LIMIT 3;
ANALYZE few;
EXPLAIN (VERBOSE, COSTS OFF) SELECT w.name, a.title FROM few w JOIN artwork a ON a.id = w.name;
SELECT count(*), count(a.title) FROM few w JOIN artwork a ON a.id = w.name;
RESET ckfdw.enable_lookup_join;
RESET enable_hashjoin;
RESET enable_mergejoin;

--
-- Column options: an index known to be missing keeps the condition local
--
ALTER FOREIGN TABLE artwork ALTER COLUMN medium OPTIONS (ADD queryable 'false');
ALTER FOREIGN TABLE artwork ALTER COLUMN year OPTIONS (ADD sortable 'false');
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE medium = 'Oil on canvas' AND year = 1900;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, year FROM artwork WHERE year > 2000 ORDER BY year;
ALTER FOREIGN TABLE artwork ALTER COLUMN medium OPTIONS (SET queryable 'true');
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM artwork WHERE medium = 'Oil on canvas';
ALTER FOREIGN TABLE artwork ALTER COLUMN medium OPTIONS (DROP queryable);
ALTER FOREIGN TABLE artwork ALTER COLUMN year OPTIONS (DROP sortable);
ALTER FOREIGN TABLE artwork ALTER COLUMN medium OPTIONS (ADD queryable 'maybe');
ALTER FOREIGN TABLE artwork ALTER COLUMN medium OPTIONS (ADD searchable 'on');
ALTER FOREIGN TABLE artwork OPTIONS (ADD queryable 'true');

--
-- Settings turn each kind of pushdown off
--
SET ckfdw.enable_filter_pushdown = off;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ticket WHERE batch = 7 ORDER BY serial LIMIT 5;
RESET ckfdw.enable_filter_pushdown;
SET ckfdw.enable_sort_pushdown = off;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ticket WHERE batch = 7 ORDER BY serial LIMIT 5;
RESET ckfdw.enable_sort_pushdown;
SET ckfdw.enable_limit_pushdown = off;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ticket WHERE batch = 7 ORDER BY serial LIMIT 5;
RESET ckfdw.enable_limit_pushdown;
SET ckfdw.enable_lookup = off;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ticket WHERE id = 'ticket-00007';
RESET ckfdw.enable_lookup;
SELECT name, setting, context FROM pg_settings WHERE name LIKE 'ckfdw.enable%' ORDER BY name;

DROP SCHEMA px CASCADE;
