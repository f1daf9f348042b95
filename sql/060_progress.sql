--
-- 060_progress: a long COPY into a foreign table reports its progress the
-- PostgreSQL way, in pg_stat_progress_copy, while it waits on CloudKit.
-- The COPY runs in a second session (dblink, asynchronously) against the
-- ckemu that answers after 5 seconds; this session waits until the view
-- shows the rows read so far (a wait for a state, not for a time).
--
\getenv slow_url CKEMU_SLOW_URL
\getenv key_id CKFDW_KEY_ID
\getenv key_file CKFDW_KEY_FILE
CREATE EXTENSION dblink;
CREATE SERVER slow_copy FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'slow_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER slow_copy
	OPTIONS (key_id :'key_id', private_key_file :'key_file');
CREATE FOREIGN TABLE slow_progress_row (id text OPTIONS (system 'recordName'), n bigint)
	SERVER slow_copy OPTIONS (record_type 'ProgressRow', batch_size '200');

SELECT dblink_connect('copier', format('dbname=%s host=%s port=%s',
	current_database(), split_part(current_setting('unix_socket_directories'), ',', 1),
	current_setting('port')));
SELECT dblink_send_query('copier',
	'COPY slow_progress_row (n) FROM PROGRAM ''seq 1 300''');

CREATE FUNCTION pg_temp.wait_for_copy_progress(min_rows bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	seen bigint;
BEGIN
	FOR i IN 1..600 LOOP
		-- activity statistics are read once per transaction unless cleared
		PERFORM pg_stat_clear_snapshot();
		SELECT tuples_processed INTO seen FROM pg_stat_progress_copy
			WHERE relid = 'slow_progress_row'::regclass;
		IF seen >= min_rows THEN
			RETURN seen;
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN seen;
END $$;

-- the first batch of 200 is on the wire: the view shows at least those rows
SELECT pg_temp.wait_for_copy_progress(200) >= 200 AS progress_seen;
SELECT command, type FROM pg_stat_progress_copy WHERE relid = 'slow_progress_row'::regclass;
SELECT pg_stat_clear_snapshot();
SELECT * FROM dblink_get_result('copier') AS t(status text);
SELECT dblink_disconnect('copier');
SELECT count(*), sum(n) FROM slow_progress_row;
DROP EXTENSION dblink;
DROP SERVER slow_copy CASCADE;
