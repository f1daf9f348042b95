/* sql/ckfdw--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION ckfdw UPDATE TO '1.1'" to load this file. \quit

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
