/* sql/ckfdw--1.1--1.2.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION ckfdw UPDATE TO '1.2'" to load this file. \quit

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
