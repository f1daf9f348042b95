--
-- 110_pushdown_results: every query gives the same rows with pushdown on
-- (filters, sorts, limits and lookups sent to CloudKit) and off (everything
-- evaluated by PostgreSQL).  Includes what CloudKit could evaluate
-- differently: case in strings, NULL and missing fields, NaN and infinite
-- doubles, LIKE with escaped % and _, sub-millisecond timestamps, non-C
-- collations, NULL in IN and NOT IN, booleans, LIMIT and OFFSET.
--
\getenv ckemu_url CKEMU_URL
SET timezone = 'UTC';
SET extra_float_digits = 0;
CREATE SCHEMA pr;
SET search_path = pr, public;

--
-- pd_same(query [, ordered]) runs the query with every kind of pushdown on,
-- then with all of them off, and reports the rows, the rows only one of the
-- two runs returned (EXCEPT ALL both ways; 0 and 0 means identical), for an
-- ORDER BY whether both runs returned the rows in the same order, and what
-- the first run's plan sent to CloudKit (from its EXPLAIN).
--
CREATE FUNCTION pd_same(q text, ordered boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
	only_on bigint;
	only_off bigint;
	same_order boolean;
	line text;
	pushed text[] := '{}';
	setting text;
BEGIN
	FOREACH setting IN ARRAY ARRAY['on', 'off']
	LOOP
		PERFORM set_config('ckfdw.enable_filter_pushdown', setting, true);
		PERFORM set_config('ckfdw.enable_sort_pushdown', setting, true);
		PERFORM set_config('ckfdw.enable_limit_pushdown', setting, true);
		PERFORM set_config('ckfdw.enable_lookup', setting, true);
		-- a prepared statement is planned again under these settings
		DISCARD PLANS;
		IF setting = 'on' THEN
			FOR line IN EXECUTE 'EXPLAIN (VERBOSE) ' || q
			LOOP
				IF line ~ 'CloudKit Filter:' THEN pushed := pushed || 'filter'::text; END IF;
				IF line ~ '^\s*(Join )?Filter:' THEN pushed := pushed || 'local'::text; END IF;
				IF line ~ 'CloudKit Sort:' THEN pushed := pushed || 'sort'::text; END IF;
				IF line ~ 'CloudKit Limit:' THEN pushed := pushed || 'limit'::text; END IF;
				IF line ~ 'CloudKit Operation: records/lookup' THEN pushed := pushed || 'lookup'::text; END IF;
			END LOOP;
		END IF;
		-- rows in the order the query returns them (a fresh temp table keeps it)
		EXECUTE 'CREATE TEMP TABLE pd_rows AS ' || q;
		EXECUTE format('CREATE TEMP TABLE pd_%s AS SELECT row_number() OVER () AS pd_n, to_jsonb(x) AS r FROM pd_rows x',
					   setting);
		DROP TABLE pd_rows;
	END LOOP;
	SELECT count(*) INTO n FROM pd_on;
	SELECT count(*) INTO only_on FROM (SELECT r FROM pd_on EXCEPT ALL SELECT r FROM pd_off) x;
	SELECT count(*) INTO only_off FROM (SELECT r FROM pd_off EXCEPT ALL SELECT r FROM pd_on) x;
	SELECT coalesce(bool_and(a.r = b.r), true) INTO same_order
		FROM pd_on a FULL JOIN pd_off b USING (pd_n);
	DROP TABLE pd_on, pd_off;
	SELECT coalesce(array_agg(DISTINCT p ORDER BY p), '{}') INTO pushed FROM unnest(pushed) p;
	RETURN format('%s rows, %s only with pushdown, %s only without%s; %s',
				  n, only_on, only_off,
				  CASE WHEN ordered THEN ', same order: ' || same_order ELSE '' END,
				  CASE WHEN cardinality(pushed) = 0 THEN 'nothing sent' ELSE 'sent: ' || array_to_string(pushed, '+') END);
END
$$;

--
-- Edge records, written into ckemu's empty AllTypes with a records/modify
-- request signed by openssl; POST /_ckemu/reset restores the seed after.
--
\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
\setenv CK_BODY '{"operations": [{"operationType": "create", "record": {"recordName": "pd-01", "recordType": "AllTypes", "fields": {"s": {"value": "Apple", "type": "STRING"}, "i": {"value": 1, "type": "INT64"}, "d": {"value": 1.5, "type": "DOUBLE"}, "t": {"value": 1500000000000, "type": "TIMESTAMP"}, "sl": {"value": ["Red", "green"], "type": "STRING_LIST"}, "il": {"value": [1, 2, 3], "type": "INT64_LIST"}, "dl": {"value": [0.5], "type": "DOUBLE_LIST"}, "tl": {"value": [1500000000000], "type": "TIMESTAMP_LIST"}, "r": {"value": {"recordName": "pd-02", "action": "NONE"}, "type": "REFERENCE"}, "rl": {"value": [{"recordName": "pd-02", "action": "NONE"}], "type": "REFERENCE_LIST"}, "plain": {"value": "one", "type": "STRING"}}}}, {"operationType": "create", "record": {"recordName": "pd-02", "recordType": "AllTypes", "fields": {"s": {"value": "apple", "type": "STRING"}, "i": {"value": 2, "type": "INT64"}, "d": {"value": -0.0, "type": "DOUBLE"}, "t": {"value": 1500000000001, "type": "TIMESTAMP"}, "sl": {"value": ["red"], "type": "STRING_LIST"}, "il": {"value": [2], "type": "INT64_LIST"}, "dl": {"value": [0.5, 2.5], "type": "DOUBLE_LIST"}, "r": {"value": {"recordName": "pd-01", "action": "NONE"}, "type": "REFERENCE"}, "plain": {"value": "two", "type": "STRING"}}}}, {"operationType": "create", "record": {"recordName": "pd-03", "recordType": "AllTypes", "fields": {"s": {"value": "APPLE", "type": "STRING"}, "i": {"value": 3, "type": "INT64"}, "d": {"value": 0.1, "type": "DOUBLE"}, "t": {"value": 1499999999999, "type": "TIMESTAMP"}, "sl": {"value": ["RED", "Blue"], "type": "STRING_LIST"}, "il": {"value": [], "type": "INT64_LIST"}, "plain": {"value": "Three", "type": "STRING"}}}}, {"operationType": "create", "record": {"recordName": "pd-04", "recordType": "AllTypes", "fields": {"s": {"value": "ap%ple", "type": "STRING"}, "i": {"value": 4, "type": "INT64"}, "d": {"value": 0.30000000000000004, "type": "DOUBLE"}, "t": {"value": 1500000000500, "type": "TIMESTAMP"}, "sl": {"value": ["a%b"], "type": "STRING_LIST"}}}}, {"operationType": "create", "record": {"recordName": "pd-05", "recordType": "AllTypes", "fields": {"s": {"value": "ap_ple", "type": "STRING"}, "i": {"value": 5, "type": "INT64"}, "d": {"value": 1e300, "type": "DOUBLE"}, "t": {"value": -86400000, "type": "TIMESTAMP"}, "sl": {"value": [], "type": "STRING_LIST"}}}}, {"operationType": "create", "record": {"recordName": "pd-06", "recordType": "AllTypes", "fields": {"s": {"value": "a\\b", "type": "STRING"}, "i": {"value": 6, "type": "INT64"}, "d": {"value": -1e-300, "type": "DOUBLE"}, "t": {"value": 0, "type": "TIMESTAMP"}}}}, {"operationType": "create", "record": {"recordName": "pd-07", "recordType": "AllTypes", "fields": {}}}, {"operationType": "create", "record": {"recordName": "pd-08", "recordType": "AllTypes", "fields": {"s": {"value": "Äpfel", "type": "STRING"}, "i": {"value": 8, "type": "INT64"}, "d": {"value": 2.5, "type": "DOUBLE"}, "t": {"value": 1600000000000, "type": "TIMESTAMP"}, "sl": {"value": ["Äpfel"], "type": "STRING_LIST"}}}}, {"operationType": "create", "record": {"recordName": "pd-09", "recordType": "AllTypes", "fields": {"s": {"value": "äpfel", "type": "STRING"}, "i": {"value": 9, "type": "INT64"}, "d": {"value": 2.5, "type": "DOUBLE"}, "t": {"value": 1600000000000, "type": "TIMESTAMP"}}}}, {"operationType": "create", "record": {"recordName": "pd-10", "recordType": "AllTypes", "fields": {"s": {"value": "", "type": "STRING"}, "i": {"value": 10, "type": "INT64"}, "d": {"value": 0.0, "type": "DOUBLE"}, "sl": {"value": [""], "type": "STRING_LIST"}}}}, {"operationType": "create", "record": {"recordName": "pd-11", "recordType": "AllTypes", "fields": {"s": {"value": "apple ", "type": "STRING"}, "i": {"value": -5, "type": "INT64"}, "d": {"value": -2.5, "type": "DOUBLE"}, "t": {"value": 1500000000002, "type": "TIMESTAMP"}}}}, {"operationType": "create", "record": {"recordName": "pd-12", "recordType": "AllTypes", "fields": {"s": {"value": "b", "type": "STRING"}, "i": {"value": 9223372036854775807, "type": "INT64"}, "d": {"value": 5e-324, "type": "DOUBLE"}, "t": {"value": 253402300799999, "type": "TIMESTAMP"}}}}, {"operationType": "create", "record": {"recordName": "pd-13", "recordType": "AllTypes", "fields": {"i": {"value": 13, "type": "INT64"}, "plain": {"value": "ONE", "type": "STRING"}}}}]}'
\! sh -c 'd=$(date -u +%Y-%m-%dT%H:%M:%SZ); p=/database/1/iCloud.com.example.Gallery/development/public/records/modify; h=$(printf %s "$CK_BODY" | openssl dgst -sha256 -binary | base64); s=$(printf %s "$d:$h:$p" | openssl dgst -sha256 -sign "$CKFDW_KEY_FILE" | base64 -w0); curl -s -X POST "$CKEMU_URL$p" -H "X-Apple-CloudKit-Request-KeyID: $CKFDW_KEY_ID" -H "X-Apple-CloudKit-Request-ISO8601Date: $d" -H "X-Apple-CloudKit-Request-SignatureV1: $s" --data-binary "$CK_BODY"' | jq -c '[.records[] | .serverErrorCode // .recordName]'

CREATE FOREIGN TABLE alltypes (
	id text OPTIONS (system 'recordName'),
	s text,
	sc text OPTIONS (field 's') COLLATE "C",
	su text OPTIONS (field 's') COLLATE "en-x-icu",
	i bigint,
	i4 integer OPTIONS (field 'i'),
	d double precision,
	t timestamptz,
	tw timestamp OPTIONS (field 't'),
	td date OPTIONS (field 't'),
	r text OPTIONS (type 'REFERENCE'),
	sl text[],
	il bigint[],
	dl double precision[],
	tl timestamptz[],
	rl text[] OPTIONS (type 'REFERENCE_LIST'),
	plain text,
	created timestamptz OPTIONS (system 'createdTimestamp'),
	modified timestamptz OPTIONS (system 'modifiedTimestamp')
) SERVER gallery OPTIONS (record_type 'AllTypes');
SELECT count(*), count(s), count(i), count(d), count(t), count(sl) FROM alltypes;

-- strings: CloudKit's equality ignores case, so = and IN are rechecked
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s = 'apple'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s = 'APPLE'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s = 'Äpfel'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s = ''$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s = 'apple '$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s <> 'apple'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s IN ('apple', 'b')$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s IN ('apple', NULL)$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s NOT IN ('apple', NULL)$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s NOT IN ('apple', 'b')$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s IS NULL$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s IS NOT NULL$$);
-- LIKE: the literal prefix goes to CloudKit as BEGINS_WITH, then the pattern is rechecked
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s LIKE 'ap%'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s LIKE 'Ap%'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s LIKE 'ap\%%'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s LIKE 'ap\_%'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s LIKE 'ap_le'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s LIKE 'a\\%'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s LIKE 'ap#%%' ESCAPE '#'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s LIKE '%ple'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s LIKE 'Äp%'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s ILIKE 'ap%'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s ^@ 'ap'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s NOT LIKE 'ap%'$$);
-- ranges: sent under "C" only
SELECT pd_same($$SELECT id, s FROM alltypes WHERE sc < 'b'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE sc >= 'a' AND sc <= 'apple'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE su < 'b'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE s COLLATE "C" > 'Z'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE su = 'apple'$$);

-- integers
SELECT pd_same($$SELECT id, i FROM alltypes WHERE i = 2$$);
SELECT pd_same($$SELECT id, i FROM alltypes WHERE i <> 2$$);
SELECT pd_same($$SELECT id, i FROM alltypes WHERE i > 3 AND i <= 9$$);
SELECT pd_same($$SELECT id, i FROM alltypes WHERE i < 0$$);
SELECT pd_same($$SELECT id, i FROM alltypes WHERE i >= 9223372036854775807$$);
SELECT pd_same($$SELECT id, i FROM alltypes WHERE i BETWEEN 2 AND 5$$);
SELECT pd_same($$SELECT id, i FROM alltypes WHERE i = 2::smallint OR i = 3$$);
SELECT pd_same($$SELECT id, i FROM alltypes WHERE i IN (1, 3, NULL)$$);
SELECT pd_same($$SELECT id, i FROM alltypes WHERE i NOT IN (1, 3)$$);
SELECT pd_same($$SELECT id, i FROM alltypes WHERE i NOT IN (1, NULL)$$);
SELECT pd_same($$SELECT id, i FROM alltypes WHERE i = ANY('{}'::bigint[])$$);
SELECT pd_same($$SELECT id, i FROM alltypes WHERE i <> ALL('{}'::bigint[])$$);
SELECT pd_same($$SELECT id, i FROM alltypes WHERE i = NULL::bigint$$);

-- doubles: NaN and infinities cannot be sent (JSON has neither)
SELECT pd_same($$SELECT id, d FROM alltypes WHERE d = 0.1$$);
SELECT pd_same($$SELECT id, d FROM alltypes WHERE d = 0.3$$);
SELECT pd_same($$SELECT id, d FROM alltypes WHERE d = 0.30000000000000004$$);
SELECT pd_same($$SELECT id, d FROM alltypes WHERE d = 0$$);
SELECT pd_same($$SELECT id, d FROM alltypes WHERE d = '-0'$$);
SELECT pd_same($$SELECT id, d FROM alltypes WHERE d < 0$$);
SELECT pd_same($$SELECT id, d FROM alltypes WHERE d > 1e299$$);
SELECT pd_same($$SELECT id, d FROM alltypes WHERE d = 5e-324$$);
SELECT pd_same($$SELECT id, d FROM alltypes WHERE d < 'Infinity'$$);
SELECT pd_same($$SELECT id, d FROM alltypes WHERE d > '-Infinity'$$);
SELECT pd_same($$SELECT id, d FROM alltypes WHERE d = 'NaN'$$);
SELECT pd_same($$SELECT id, d FROM alltypes WHERE d <> 'NaN'$$);
SELECT pd_same($$SELECT id, d FROM alltypes WHERE d < 'NaN'$$);
SELECT pd_same($$SELECT id, d FROM alltypes WHERE d IN (2.5, 'NaN')$$);
SELECT pd_same($$SELECT id, d FROM alltypes WHERE d = 2.5::real$$);
SELECT pd_same($$SELECT id, d FROM alltypes WHERE d = 0.1::real$$);

-- timestamps: milliseconds in CloudKit, microseconds in PostgreSQL
SELECT pd_same($$SELECT id, t FROM alltypes WHERE t = '2017-07-14 02:40:00.001+00'$$);
SELECT pd_same($$SELECT id, t FROM alltypes WHERE t = '2017-07-14 02:40:00.0005+00'$$);
SELECT pd_same($$SELECT id, t FROM alltypes WHERE t < '2017-07-14 02:40:00.0005+00'$$);
SELECT pd_same($$SELECT id, t FROM alltypes WHERE t <= '2017-07-14 02:40:00.0005+00'$$);
SELECT pd_same($$SELECT id, t FROM alltypes WHERE t > '2017-07-14 02:40:00.0005+00'$$);
SELECT pd_same($$SELECT id, t FROM alltypes WHERE t >= '2017-07-14 02:40:00.0005+00'$$);
SELECT pd_same($$SELECT id, t FROM alltypes WHERE t > '2017-07-14 02:39:59.9995+00'$$);
SELECT pd_same($$SELECT id, t FROM alltypes WHERE t < '1970-01-01 00:00:00.0001+00'$$);
SELECT pd_same($$SELECT id, t FROM alltypes WHERE t <= '1969-12-31 23:59:59.9999+00'$$);
SELECT pd_same($$SELECT id, t FROM alltypes WHERE t IN ('2017-07-14 02:40:00+00', '2017-07-14 02:40:00.0005+00')$$);
SELECT pd_same($$SELECT id, t FROM alltypes WHERE t < 'infinity'$$);
SELECT pd_same($$SELECT id, t FROM alltypes WHERE t > '-infinity'$$);
SELECT pd_same($$SELECT id, t FROM alltypes WHERE t < now() - interval '1 year'$$);
SELECT pd_same($$SELECT id, tw FROM alltypes WHERE tw >= '2017-07-14 02:40:00.0005'$$);
SELECT pd_same($$SELECT id, tw FROM alltypes WHERE tw = '1970-01-01 00:00:00'$$);
-- dates: the range of milliseconds of the day (UTC)
SELECT pd_same($$SELECT id, td FROM alltypes WHERE td = '2017-07-14'$$);
SELECT pd_same($$SELECT id, td FROM alltypes WHERE td = '1969-12-31'$$);
SELECT pd_same($$SELECT id, td FROM alltypes WHERE td < '1970-01-01'$$);
SELECT pd_same($$SELECT id, td FROM alltypes WHERE td <= '1970-01-01'$$);
SELECT pd_same($$SELECT id, td FROM alltypes WHERE td > '2017-07-14'$$);
SELECT pd_same($$SELECT id, td FROM alltypes WHERE td >= '2017-07-14'$$);
SELECT pd_same($$SELECT id, td FROM alltypes WHERE td > '-infinity'$$);

-- lists
SELECT pd_same($$SELECT id, sl FROM alltypes WHERE 'red' = ANY(sl)$$);
SELECT pd_same($$SELECT id, sl FROM alltypes WHERE 'red' <> ALL(sl)$$);
SELECT pd_same($$SELECT id, sl FROM alltypes WHERE '' = ANY(sl)$$);
SELECT pd_same($$SELECT id, sl FROM alltypes WHERE sl @> ARRAY['Red']$$);
SELECT pd_same($$SELECT id, sl FROM alltypes WHERE sl @> ARRAY['Red', 'green']$$);
SELECT pd_same($$SELECT id, sl FROM alltypes WHERE ARRAY['RED'] <@ sl$$);
SELECT pd_same($$SELECT id, sl FROM alltypes WHERE sl && ARRAY['RED', 'x']$$);
SELECT pd_same($$SELECT id, sl FROM alltypes WHERE sl && ARRAY['RED', NULL]$$);
SELECT pd_same($$SELECT id, sl FROM alltypes WHERE sl @> '{}'$$);
SELECT pd_same($$SELECT id, sl FROM alltypes WHERE sl <@ ARRAY['red', 'green', 'Red']$$);
SELECT pd_same($$SELECT id, il FROM alltypes WHERE 2 = ANY(il)$$);
SELECT pd_same($$SELECT id, il FROM alltypes WHERE 2 <> ALL(il)$$);
SELECT pd_same($$SELECT id, il FROM alltypes WHERE il @> ARRAY[1, 2]::bigint[]$$);
SELECT pd_same($$SELECT id, il FROM alltypes WHERE il @> ARRAY[1, NULL]::bigint[]$$);
SELECT pd_same($$SELECT id, il FROM alltypes WHERE il && ARRAY[3, 9]::bigint[]$$);
SELECT pd_same($$SELECT id, dl FROM alltypes WHERE 0.5 = ANY(dl)$$);
SELECT pd_same($$SELECT id, dl FROM alltypes WHERE 'NaN' = ANY(dl)$$);
SELECT pd_same($$SELECT id, tl FROM alltypes WHERE '2017-07-14 02:40:00+00' = ANY(tl)$$);
SELECT pd_same($$SELECT id, rl FROM alltypes WHERE 'pd-02' = ANY(rl)$$);
SELECT pd_same($$SELECT id, rl FROM alltypes WHERE 'pd-02' <> ALL(rl)$$);

-- references and system fields
SELECT pd_same($$SELECT id, r FROM alltypes WHERE r = 'pd-02'$$);
SELECT pd_same($$SELECT id, r FROM alltypes WHERE r = 'PD-02'$$);
SELECT pd_same($$SELECT id, r FROM alltypes WHERE r <> 'pd-02'$$);
SELECT pd_same($$SELECT id, r FROM alltypes WHERE r IN ('pd-01', 'pd-02')$$);
SELECT pd_same($$SELECT id FROM alltypes WHERE id <> 'pd-01'$$);
SELECT pd_same($$SELECT id FROM alltypes WHERE id NOT IN ('pd-01', 'pd-02')$$);
SELECT pd_same($$SELECT id FROM alltypes WHERE created > '2000-01-01' AND modified <= now()$$);

-- record names: records/lookup
SELECT pd_same($$SELECT id, s FROM alltypes WHERE id = 'pd-03'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE id = 'PD-03'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE id IN ('pd-01', 'pd-07', 'nope', 'pd-01')$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE id = ANY(ARRAY['pd-01', NULL])$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE id IN ('pd-01', 'pd-02', 'pd-03') AND s = 'apple'$$);
SELECT pd_same($$SELECT id, s FROM alltypes WHERE id = NULL$$);
-- a record of another type with that name is not a row of this table
SELECT pd_same($$SELECT id FROM alltypes WHERE id IN ('pd-01', 'artist-0001')$$);

-- sorts: NULLs (missing fields) last ascending, first descending
SELECT pd_same($$SELECT id, i FROM alltypes ORDER BY i$$, true);
SELECT pd_same($$SELECT id, i FROM alltypes ORDER BY i DESC$$, true);
SELECT pd_same($$SELECT id, i FROM alltypes ORDER BY i NULLS FIRST$$, true);
SELECT pd_same($$SELECT id, i FROM alltypes ORDER BY i DESC NULLS LAST$$, true);
SELECT pd_same($$SELECT id, d, i FROM alltypes ORDER BY d, i$$, true);
SELECT pd_same($$SELECT id, t, i FROM alltypes ORDER BY t DESC, i$$, true);
SELECT pd_same($$SELECT id, s, i FROM alltypes ORDER BY sc, i$$, true);
SELECT pd_same($$SELECT id, s, i FROM alltypes ORDER BY su, i$$, true);
SELECT pd_same($$SELECT id, s, i FROM alltypes ORDER BY s COLLATE "C" DESC, i$$, true);
SELECT pd_same($$SELECT id, i FROM alltypes WHERE i > 2 ORDER BY i DESC$$, true);

-- LIMIT and OFFSET: applied by the scan only when everything else is sent
SELECT pd_same($$SELECT id, i FROM alltypes ORDER BY i LIMIT 3$$, true);
SELECT pd_same($$SELECT id, i FROM alltypes ORDER BY i LIMIT 3 OFFSET 2$$, true);
SELECT pd_same($$SELECT id, i FROM alltypes ORDER BY i DESC LIMIT 2 OFFSET 1$$, true);
SELECT pd_same($$SELECT id, i FROM alltypes ORDER BY i OFFSET 11$$, true);
SELECT pd_same($$SELECT id, i FROM alltypes ORDER BY i LIMIT 5 OFFSET 100$$, true);
SELECT pd_same($$SELECT id, i FROM alltypes WHERE i > 0 ORDER BY i LIMIT 0$$, true);
SELECT pd_same($$SELECT id, i FROM alltypes WHERE i > 0 ORDER BY i LIMIT NULL OFFSET NULL$$, true);
SELECT pd_same($$SELECT id, i FROM alltypes WHERE i > 0 ORDER BY i LIMIT ALL OFFSET 3$$, true);
SELECT pd_same($$SELECT id, i FROM alltypes WHERE i > 0 ORDER BY i FETCH FIRST 2 ROWS WITH TIES$$, true);
-- a local-only or rechecked condition keeps the Limit node
SELECT pd_same($$SELECT id, i FROM alltypes WHERE s ILIKE 'a%' ORDER BY i LIMIT 2$$, true);
SELECT pd_same($$SELECT id, i FROM alltypes WHERE s = 'apple' ORDER BY i LIMIT 1$$, true);
SELECT pd_same($$SELECT id, i FROM alltypes WHERE d < 'NaN' ORDER BY i LIMIT 2$$, true);

-- a field without an index: CloudKit refuses, the scan falls back
SELECT pd_same($$SELECT id, plain FROM alltypes WHERE plain = 'one'$$);
SELECT pd_same($$SELECT id, plain FROM alltypes WHERE plain = 'one' ORDER BY i LIMIT 1$$, true);
SELECT pd_same($$SELECT id, plain, i FROM alltypes ORDER BY plain COLLATE "C" DESC, i LIMIT 3$$, true);

-- booleans are INT64 0/1
CREATE FOREIGN TABLE artwork (
	id text OPTIONS (system 'recordName'),
	title text,
	year bigint,
	year4 integer OPTIONS (field 'year'),
	on_display boolean OPTIONS (field 'onDisplay'),
	price double precision
) SERVER gallery OPTIONS (record_type 'Artwork');
-- an integer column
SELECT pd_same($$SELECT id FROM artwork WHERE year4 = 1900$$);
SELECT pd_same($$SELECT id FROM artwork WHERE year4 > 2020 AND year4 <= 5000000000$$);
SELECT pd_same($$SELECT id FROM artwork WHERE on_display$$);
SELECT pd_same($$SELECT id FROM artwork WHERE NOT on_display$$);
SELECT pd_same($$SELECT id FROM artwork WHERE on_display IS TRUE AND year < 1900$$);
SELECT pd_same($$SELECT id FROM artwork WHERE on_display IS FALSE AND year < 1900$$);
SELECT pd_same($$SELECT id FROM artwork WHERE on_display IS NOT TRUE AND year < 1900$$);
SELECT pd_same($$SELECT id FROM artwork WHERE on_display = false AND price IS NULL$$);
SELECT pd_same($$SELECT id FROM artwork WHERE on_display <> true AND year = 2000$$);
-- many pages, sorted by CloudKit, then limited
SELECT pd_same($$SELECT id, year, price FROM artwork WHERE year >= 1990 ORDER BY price DESC, year LIMIT 40 OFFSET 180$$, true);
SELECT pd_same($$SELECT id, year, price FROM artwork WHERE price IS NULL ORDER BY year, id$$, true);

-- parameters and stable functions: values known when the scan starts
PREPARE p1(bigint, double precision) AS
	SELECT id, year, price FROM artwork WHERE year = $1 AND price < $2 ORDER BY price;
SET plan_cache_mode = force_generic_plan;
SELECT pd_same($$EXECUTE p1(1900, 50000)$$, true);
SELECT pd_same($$EXECUTE p1(1900, 'NaN')$$, true);
SELECT pd_same($$EXECUTE p1(NULL, 50000)$$, true);
PREPARE p2(text[]) AS SELECT id, s FROM alltypes WHERE id = ANY($1);
SELECT pd_same($$EXECUTE p2('{pd-01,pd-02,NULL,pd-01}')$$);
SELECT pd_same($$EXECUTE p2(NULL)$$);
PREPARE p3(bigint, bigint) AS SELECT id, i FROM alltypes WHERE i > 0 ORDER BY i LIMIT $1 OFFSET $2;
SELECT pd_same($$EXECUTE p3(2, 1)$$, true);
SELECT pd_same($$EXECUTE p3(NULL, NULL)$$, true);
RESET plan_cache_mode;

-- joins and rescans: lookups by record name, parameters from outer rows
CREATE TEMP TABLE names AS SELECT format('pd-%s', lpad(g::text, 2, '0')) AS name, g FROM generate_series(0, 14) g;
ANALYZE names;
SELECT pd_same($$SELECT n.name, a.s FROM names n JOIN alltypes a ON a.id = n.name$$);
SELECT pd_same($$SELECT n.name, a.s FROM names n LEFT JOIN alltypes a ON a.id = n.name AND a.i > 2$$);
SELECT pd_same($$SELECT n.name FROM names n WHERE EXISTS (SELECT FROM alltypes a WHERE a.id = n.name AND a.s IS NOT NULL)$$);
SELECT pd_same($$SELECT n.name FROM names n WHERE NOT EXISTS (SELECT FROM alltypes a WHERE a.id = n.name)$$);
SELECT pd_same($$SELECT n.name, (SELECT a.i FROM alltypes a WHERE a.id = n.name) FROM names n$$);
SELECT pd_same($$SELECT n.g, c.cnt FROM names n, LATERAL (SELECT count(*) AS cnt FROM alltypes a WHERE a.i > n.g) c$$);
SELECT pd_same($$SELECT n.name, a.s, a.i FROM names n LEFT JOIN alltypes a ON a.id = n.name WHERE a.i IS NULL OR a.i > 5$$);
SELECT pd_same($$SELECT a.id AS a_id, b.id AS b_id, b.s FROM alltypes a JOIN alltypes b ON b.id = a.r$$);
SELECT pd_same($$SELECT n.g, c.ids FROM names n, LATERAL (SELECT string_agg(a.id, ',' ORDER BY a.id) AS ids FROM alltypes a WHERE a.i = n.g OR a.i = n.g + 1) c$$);

\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null

DROP SCHEMA pr CASCADE;
