--
-- 235_doubles: a DOUBLE read into jsonb or numeric writes back as the same
-- double.  CloudKit may send a double with 17 digits (ckemu writes %.15g
-- when that reads back, else %.17g: 45.123456789012337 for the double whose
-- shortest text is 45.12345678901234).  ckfdw reads doubles into jsonb and
-- numeric in their shortest form, and accepts on writing every decimal
-- that is how a double prints (its shortest text, or the double rounded to
-- the decimal's own number of digits, at most 17), and nothing else.
--
\! curl -s -X POST "$CKEMU_URL/_ckemu/reset" >/dev/null
CREATE SCHEMA dbl235;
SET search_path = dbl235, public;

-- the same record type three ways: doubles, jsonb, numeric
CREATE FOREIGN TABLE at_f (
	id text OPTIONS (system 'recordName'),
	d double precision,
	l point,
	dl double precision[]
) SERVER gallery OPTIONS (record_type 'AllTypes');
CREATE FOREIGN TABLE at_j (
	id text OPTIONS (system 'recordName'),
	d jsonb OPTIONS (type 'DOUBLE'),
	l jsonb OPTIONS (type 'LOCATION'),
	dl jsonb OPTIONS (type 'DOUBLE_LIST')
) SERVER gallery OPTIONS (record_type 'AllTypes');
CREATE FOREIGN TABLE at_n (
	id text OPTIONS (system 'recordName'),
	d numeric,
	dl numeric[]
) SERVER gallery OPTIONS (record_type 'AllTypes');

-- doubles whose 15 digits do not read back: ckemu sends 17
INSERT INTO at_f (id, d, l, dl) VALUES
	('dbl-1', 45.12345678901234, point(-122.41941550000001, 45.12345678901234),
	 ARRAY[0.1::float8 + 0.2::float8, 1 / 3.0::float8]),
	('dbl-2', 123456789.12345678, point(0.1, -0.30000000000000004),
	 ARRAY[0.1::float8, 6.02214076e23::float8]);

-- read: the shortest text of each double
SELECT id, d, l, dl FROM at_j WHERE id IN ('dbl-1', 'dbl-2') ORDER BY id;
SELECT id, d, dl FROM at_n WHERE id IN ('dbl-1', 'dbl-2') ORDER BY id;

-- written back from jsonb and from numeric: the very same doubles
INSERT INTO at_j (id, d, l, dl)
	SELECT id || '-j', d, l, dl FROM at_j WHERE id IN ('dbl-1', 'dbl-2');
INSERT INTO at_n (id, d, dl)
	SELECT id || '-n', d, dl FROM at_n WHERE id IN ('dbl-1', 'dbl-2');
SELECT c.id, c.d = o.d AS d_same, c.l ~= o.l AS l_same, c.dl = o.dl AS dl_same
FROM at_f o JOIN at_f c ON c.id IN (o.id || '-j', o.id || '-n')
WHERE o.id IN ('dbl-1', 'dbl-2')
ORDER BY c.id;

-- the 17-digit forms CloudKit may send are accepted as the same doubles
INSERT INTO at_j (id, d, l, dl) VALUES ('dbl-17j', '45.123456789012337',
	'{"latitude": 45.123456789012337, "longitude": -122.41941550000001}',
	'[0.30000000000000004, 0.33333333333333331]');
INSERT INTO at_n (id, d, dl) VALUES ('dbl-17n', 45.123456789012337,
	ARRAY[0.30000000000000004, 0.33333333333333331]);
SELECT c.id, c.d = o.d AS d_same, c.l ~= o.l AS l_same, c.dl = o.dl AS dl_same
FROM at_f o JOIN at_f c ON c.id IN ('dbl-17j', 'dbl-17n')
WHERE o.id = 'dbl-1'
ORDER BY c.id;

-- a decimal that is not how its double prints would be stored as another
-- number: refused
INSERT INTO at_n (id, d) VALUES ('dbl-bad', 1.0000000000000001);
INSERT INTO at_j (id, d) VALUES ('dbl-bad', '0.100000000000000005');
INSERT INTO at_j (id, l) VALUES ('dbl-bad', '{"latitude": 45.1234567890123370001, "longitude": 0}');
SELECT count(*) FROM at_f WHERE id = 'dbl-bad';

-- leave AllTypes as it was
DELETE FROM at_f WHERE id LIKE 'dbl-%';
SELECT count(*) FROM at_f;

DROP SCHEMA dbl235 CASCADE;
