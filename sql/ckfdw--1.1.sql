/* sql/ckfdw--1.1.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION ckfdw" to load this file. \quit

CREATE FUNCTION ckfdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FUNCTION ckfdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER ckfdw
  HANDLER ckfdw_handler
  VALIDATOR ckfdw_validator;

COMMENT ON FOREIGN DATA WRAPPER ckfdw IS 'foreign data wrapper for Apple CloudKit Web Services';

-- The CloudKit clients this backend holds (one per user mapping).
CREATE FUNCTION ckfdw_get_connections (OUT server_name text,
    OUT user_name text, OUT valid boolean, OUT requests bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT PARALLEL RESTRICTED;

-- Drop this backend's CloudKit clients of one server, or of all servers.
CREATE FUNCTION ckfdw_disconnect (text)
RETURNS bool
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT PARALLEL RESTRICTED;

CREATE FUNCTION ckfdw_disconnect_all ()
RETURNS bool
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT PARALLEL RESTRICTED;

-- A zone, as changes/database names it: the owner matters in the shared
-- database, where zones of several users can have the same name.
CREATE TYPE ckfdw_zone_id AS (zone_name text, owner_record_name text);

-- The zones of a server's database (zones/list).
CREATE FUNCTION ckfdw_zones (server name,
    OUT zone_name text, OUT owner_record_name text, OUT zone_type text,
    OUT atomic boolean, OUT sync_token text)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

-- Create a custom zone (zones/modify); the private database only.
CREATE FUNCTION ckfdw_create_zone (server name, zone_name text,
    if_not_exists boolean DEFAULT false,
    OUT zone_name text, OUT owner_record_name text, OUT zone_type text,
    OUT atomic boolean, OUT sync_token text)
RETURNS record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

-- Delete a custom zone AND EVERY RECORD IN IT (zones/modify).
CREATE FUNCTION ckfdw_delete_zone (server name, zone_name text)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

-- The zones changed and deleted since a changes/database token ('' = since
-- the beginning), and the token to pass next time.
CREATE FUNCTION ckfdw_database_changes (server name, since text DEFAULT '',
    OUT sync_token text, OUT changed_zones ckfdw_zone_id[],
    OUT deleted_zones ckfdw_zone_id[])
RETURNS record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

-- The sync token at which the latest change read of a foreign table in this
-- session ended: what a mirror job stores to read from next time.
CREATE FUNCTION ckfdw_sync_token (regclass)
RETURNS text
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
