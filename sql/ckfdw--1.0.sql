/* sql/ckfdw--1.0.sql */

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
