/*-------------------------------------------------------------------------
 *
 * ckfdw_json.h
 *		  json-c for the PostgreSQL side of ckfdw
 *
 * PostgreSQL's SQL function json_object() (declared in utils/fmgrprotos.h)
 * and json-c's type json_object share a name.  Include this file right after
 * postgres.h, instead of <json.h>: it declares PostgreSQL's function under
 * another name first, so the two never meet.
 *
 * IDENTIFICATION
 *		  src/ckfdw_json.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CKFDW_JSON_H
#define CKFDW_JSON_H

#define json_object pg_json_object_sqlfn
#include "utils/fmgrprotos.h"
#undef json_object

#include <json.h>

#endif							/* CKFDW_JSON_H */
