--
-- 015_local_addresses: only servers owned by a superuser may send requests
-- to the database server's own machine.  The rule is applied to the address
-- the host resolved to, when connecting, so no spelling of a local host gets
-- around it, and a refused address gives one error whatever the port: no
-- port scanner for other roles.
--
-- The ckemu port and the host name never appear in the output: psql echoes
-- variable names, not their values.
--
\getenv ckemu_url CKEMU_URL
\getenv key_id CKFDW_KEY_ID
\getenv key_file CKFDW_KEY_FILE
\set port `echo "$CKEMU_URL" | sed 's/.*://'`
-- the machine's host name, where it resolves (a chroot without /etc/hosts
-- has none that does): else "localhost"
\set host `getent hosts "$(hostname)" >/dev/null && hostname || echo localhost`

CREATE ROLE regress_ckfdw_local;
GRANT USAGE ON FOREIGN DATA WRAPPER ckfdw TO regress_ckfdw_local;
GRANT CREATE ON SCHEMA public TO regress_ckfdw_local;
SET ROLE regress_ckfdw_local;

-- every spelling of this machine the validator lets through, on ckemu's
-- open port; and one port nothing listens on
CREATE FUNCTION local_server(name text, url text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('CREATE SERVER %I FOREIGN DATA WRAPPER ckfdw OPTIONS (container %L, base_url %L)',
				   name, 'iCloud.com.example.Gallery', url);
	EXECUTE format('CREATE USER MAPPING FOR CURRENT_USER SERVER %I OPTIONS (api_token %L)',
				   name, 'token');
	EXECUTE format('CREATE FOREIGN TABLE %I (id text OPTIONS (system %L)) SERVER %I OPTIONS (record_type %L)',
				   name || '_t', 'recordName', name, 'Artist');
END
$$;
SELECT count(local_server(name, url)) AS servers FROM (VALUES
	('l_short', 'https://127.1:' || :'port'),
	('l_decimal', 'https://2130706433:' || :'port'),
	('l_hex', 'https://0x7f000001:' || :'port'),
	('l_octal', 'https://0177.0.0.1:' || :'port'),
	('l_any', 'https://0.0.0.0:' || :'port'),
	('l_zero', 'https://0:' || :'port'),
	('l_mapped', 'https://[::ffff:127.0.0.1]:' || :'port'),
	('l_any6', 'https://[::]:' || :'port'),
	('l_subdomain', 'https://foo.localhost:' || :'port'),
	('l_hostname', 'https://' || :'host' || ':' || :'port'),
	('l_closed', 'https://127.1:1')) AS v(name, url);

-- one and the same error for all of them, open port or closed
SELECT ckfdw_test_error(format('SELECT * FROM %I', t)) AS error, count(*)
FROM unnest(ARRAY['l_short_t', 'l_decimal_t', 'l_hex_t', 'l_octal_t', 'l_any_t',
				  'l_zero_t', 'l_mapped_t', 'l_any6_t', 'l_subdomain_t',
				  'l_hostname_t', 'l_closed_t']) t
GROUP BY 1;
SELECT * FROM l_short_t;

-- the spellings the validator knows are refused when set
CREATE SERVER l_plain FOREIGN DATA WRAPPER ckfdw
	OPTIONS (container 'iCloud.com.example.Gallery', base_url 'https://127.0.0.1');
RESET ROLE;

-- a server a superuser made for 127.0.0.1 but gave away: its owner decides
CREATE SERVER l_given FOREIGN DATA WRAPPER ckfdw
	OPTIONS (container 'iCloud.com.example.Gallery', base_url :'ckemu_url');
CREATE USER MAPPING FOR regress_ckfdw_local SERVER l_given
	OPTIONS (key_id :'key_id', private_key_file :'key_file');
ALTER SERVER l_given OWNER TO regress_ckfdw_local;
SET ROLE regress_ckfdw_local;
CREATE FOREIGN TABLE l_given_t (id text OPTIONS (system 'recordName'))
	SERVER l_given OPTIONS (record_type 'Artist');
SELECT ckfdw_test_error('SELECT count(*) FROM l_given_t');
RESET ROLE;

-- given back to a superuser, it reaches ckemu again, for any user
ALTER SERVER l_given OWNER TO CURRENT_USER;
SET ROLE regress_ckfdw_local;
SELECT count(*) > 0 AS reached FROM l_given_t;
RESET ROLE;

-- an owner who stops being a superuser takes the server's reach along,
-- also from the clients sessions keep
CREATE ROLE regress_ckfdw_su SUPERUSER;
ALTER SERVER l_given OWNER TO regress_ckfdw_su;
SET ROLE regress_ckfdw_local;
SELECT count(*) > 0 AS reached FROM l_given_t;
RESET ROLE;
ALTER ROLE regress_ckfdw_su NOSUPERUSER;
SET ROLE regress_ckfdw_local;
SELECT ckfdw_test_error('SELECT count(*) FROM l_given_t');
RESET ROLE;
ALTER SERVER l_given OWNER TO CURRENT_USER;
DROP ROLE regress_ckfdw_su;

-- and a superuser's server reaches ckemu at 127.0.0.1 as always
CREATE FOREIGN TABLE l_gallery_t (id text OPTIONS (system 'recordName'))
	SERVER gallery OPTIONS (record_type 'Artist');
SELECT count(*) > 0 AS reached FROM l_gallery_t;

DROP FOREIGN TABLE l_gallery_t;
DROP SERVER l_given CASCADE;
DROP OWNED BY regress_ckfdw_local CASCADE;
REVOKE CREATE ON SCHEMA public FROM regress_ckfdw_local;
REVOKE USAGE ON FOREIGN DATA WRAPPER ckfdw FROM regress_ckfdw_local;
DROP ROLE regress_ckfdw_local;
