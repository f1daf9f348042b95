/* sql/ckfdw--1.2.sql */

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

-- Sharing between iCloud users.  The owner's functions take a server of
-- the private database; the user mapping's CloudKit user must own the zone.

-- Share a zone (record_name NULL) or a record and the records below it.
CREATE FUNCTION ckfdw_create_share (server name, zone_name text,
    record_name text DEFAULT NULL, public_permission text DEFAULT 'NONE',
    OUT share_name text, OUT short_guid text, OUT share_url text)
RETURNS record
AS 'MODULE_PATHNAME'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL RESTRICTED;

-- The participants of a zone's or a record's share, the owner included.
CREATE FUNCTION ckfdw_share_participants (server name, zone_name text,
    record_name text DEFAULT NULL,
    OUT share_name text, OUT public_permission text, OUT user_record_name text,
    OUT email_address text, OUT type text, OUT permission text,
    OUT acceptance_status text, OUT short_guid text)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL RESTRICTED;

-- Invite a user (email address or user record name), or change the
-- permission of one already invited.
CREATE FUNCTION ckfdw_share_add_participant (server name, zone_name text,
    participant text, permission text DEFAULT 'READ_ONLY',
    record_name text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL RESTRICTED;

-- Remove a participant: access ends at once.
CREATE FUNCTION ckfdw_share_remove_participant (server name, zone_name text,
    participant text, record_name text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL RESTRICTED;

-- Who may join with the share's shortGUID alone: NONE, READ_ONLY, READ_WRITE.
CREATE FUNCTION ckfdw_share_set_public_permission (server name, zone_name text,
    permission text, record_name text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL RESTRICTED;

-- Stop sharing (the records stay).
CREATE FUNCTION ckfdw_delete_share (server name, zone_name text,
    record_name text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL RESTRICTED;

-- Accept a share as the mapping's user: its zone then appears in the
-- user's shared database.
CREATE FUNCTION ckfdw_accept_share (server name, short_guid text,
    OUT zone_name text, OUT owner_record_name text, OUT root_record_name text,
    OUT permission text)
RETURNS record
AS 'MODULE_PATHNAME'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL RESTRICTED;

-- The CloudKit user the caller's user mapping of a server acts as
-- (users/caller): a set-up checked in one line.
CREATE FUNCTION ckfdw_whoami (server name,
    OUT user_record_name text, OUT given_name text, OUT family_name text,
    OUT email_address text)
RETURNS record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
