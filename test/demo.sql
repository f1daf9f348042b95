-- make demo: the sample art gallery in ckemu, read with SQL.
\getenv ckemu_url CKEMU_URL
\getenv key_id CKFDW_KEY_ID
\getenv key_file CKFDW_KEY_FILE
\pset null '(null)'

CREATE EXTENSION ckfdw;

-- A CloudKit container and database is a foreign server.
CREATE SERVER gallery FOREIGN DATA WRAPPER ckfdw OPTIONS (
    container   'iCloud.com.example.Gallery',
    environment 'development',
    database    'public',
    base_url    :'ckemu_url'
);

-- Server-to-server key: requests are signed with this private key.
CREATE USER MAPPING FOR CURRENT_USER SERVER gallery OPTIONS (
    key_id :'key_id', private_key_file :'key_file'
);

-- A record type is a foreign table; fields are columns.
CREATE FOREIGN TABLE artist (
    id          text OPTIONS (system 'recordName'),
    name        text,
    born        timestamptz,
    nationality text,
    living      boolean,
    rating      double precision,
    movements   text[]
) SERVER gallery OPTIONS (record_type 'Artist');

CREATE FOREIGN TABLE artwork (
    id          text OPTIONS (system 'recordName'),
    title       text,
    artist_id   text OPTIONS (field 'artist', type 'REFERENCE'),
    year        integer,
    price       numeric(12,2),
    medium      text,
    tags        text[],
    modified    timestamptz OPTIONS (system 'modifiedTimestamp')
) SERVER gallery OPTIONS (record_type 'Artwork');

-- EXPLAIN shows the CloudKit request.
EXPLAIN (VERBOSE, COSTS OFF) SELECT name, born FROM artist;

-- Query CloudKit records.
SELECT id, name, born, nationality, living, movements
  FROM artist ORDER BY id LIMIT 5;

SELECT medium, count(*), round(avg(price), 2) AS avg_price
  FROM artwork GROUP BY medium ORDER BY count(*) DESC;

-- WHERE, ORDER BY and LIMIT run on CloudKit when it computes what PostgreSQL would.
EXPLAIN (VERBOSE, COSTS OFF)
SELECT name, born FROM artist WHERE living ORDER BY born DESC LIMIT 3;
SELECT name, born FROM artist WHERE living ORDER BY born DESC LIMIT 3;

-- Writes are batched records/modify requests that carry the change tag the
-- scan read, so a record changed by someone else meanwhile is a conflict.
UPDATE artwork SET price = price * 1.10
 WHERE medium = 'Bronze' AND year >= 2021
RETURNING id, title, price, modified;

-- Join with a local table.
CREATE TEMP TABLE favourite_medium (medium text PRIMARY KEY, shelf text);
INSERT INTO favourite_medium SELECT medium, 'shelf ' || row_number() OVER (ORDER BY medium)
  FROM (SELECT DISTINCT medium FROM artwork) m LIMIT 3;

SELECT f.shelf, a.name AS artist, w.title, w.year
  FROM artwork w
  JOIN artist a ON a.id = w.artist_id
  JOIN favourite_medium f ON f.medium = w.medium
 ORDER BY w.year DESC, w.title LIMIT 8;

-- Back up a record type into a local table with INSERT ... SELECT.
CREATE TABLE artwork_backup AS SELECT * FROM artwork WITH NO DATA;
INSERT INTO artwork_backup SELECT * FROM artwork;
SELECT count(*) AS backed_up, min(year), max(year) FROM artwork_backup;
