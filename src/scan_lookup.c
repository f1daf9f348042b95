/*-------------------------------------------------------------------------
 *
 * scan_lookup.c
 *		  records/lookup as a source of a scan
 *
 * The record names a condition names (a value or an array of them, known
 * when the scan starts), sorted, without NULLs and duplicates, looked up in
 * batches of page_size names.  A name no record has, and a record of
 * another type, is no row.  The name helpers are shared with the lookup
 * join (lookup.c).
 *
 * IDENTIFICATION
 *		  src/scan_lookup.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "ckfdw.h"
#include "scan.h"

static void collect_names(CkFdwScanState *fsstate);
static void lookup_fetch(CkFdwScanState *fsstate);
static bool lookup_accept(CkFdwScanState *fsstate, const CkRecord *rec);
static char *explain_lookup_request(const char *base, CkFdwPushdown *pd,
									CkFdwParamValues *params, CkFdwOptions *opts);

const CkScanSource ckfdw_lookup_source = {
	.operation = "records/lookup",
	.noun = "lookup",
	.recheck_label = "CloudKit Lookup",
	.start = collect_names,
	.fetch = lookup_fetch,
	.accept = lookup_accept,
	.explain_request = explain_lookup_request,
};

/*
 * The record names a lookup asks for: the value of the names expression
 * (a name or an array of names), without NULLs and duplicates (a name
 * listed twice is still one row), in UTF-8.
 */
static void
collect_names(CkFdwScanState *fsstate)
{
	CkFdwPushdown *pd = fsstate->pushdown;
	int			idx = pd->names_index;
	MemoryContext oldcxt = MemoryContextSwitchTo(fsstate->params_cxt);
	Datum		value = fsstate->params.values[idx];
	Oid			type = fsstate->params.types[idx];
	int			n = 0;
	int			i;

	fsstate->names = NULL;
	fsstate->nnames = 0;
	fsstate->fetch_attrs = fsstate->retrieved_attrs;
	fsstate->local_checks = NIL;

	if (!fsstate->params.nulls[idx])
	{
		n = ckfdw_key_names(value, type, &fsstate->names);
		for (i = 0; i < n; i++)
			fsstate->names[i] = ckfdw_to_utf8(fsstate->names[i]);
	}

	fsstate->nnames = ckfdw_sort_unique_names(fsstate->names, n);
	MemoryContextSwitchTo(oldcxt);
}

/*
 * Fetch the next batch of up to page_size record names, and make the
 * answer the current page.  The previous page is freed first.
 */
static void
lookup_fetch(CkFdwScanState *fsstate)
{
	const char *body;
	int			batch;

	batch = Min(fsstate->nnames - fsstate->next_name,
				fsstate->options->page_size);
	if (batch <= 0)
	{
		/* no names (all NULL, or none): no request, no rows */
		ckfdw_scan_forget_page(fsstate);
		fsstate->pages_fetched++;
		fsstate->more = false;
		return;
	}
	body = ckfdw_build_lookup_request(fsstate->base_request,
									  fsstate->names + fsstate->next_name,
									  batch, NIL, 0);

	ckfdw_scan_new_page(fsstate);
	ckfdw_request_raw(fsstate->conn, "POST", body, &fsstate->info,
					  &fsstate->page->resp);
	fsstate->pages_fetched++;
	fsstate->requests += fsstate->page->resp.attempts;

	ckfdw_scan_set_body(fsstate, NULL);

	fsstate->next_name += batch;
	fsstate->more = (fsstate->next_name < fsstate->nnames);
}

/*
 * An error instead of a record is an error, never a gap, except that a
 * lookup of a name no record has finds none.
 */
static bool
lookup_accept(CkFdwScanState *fsstate, const CkRecord *rec)
{
	if (rec->is_error)
	{
		if (rec->server_error_code != NULL &&
			strcmp(rec->server_error_code, "NOT_FOUND") == 0)
			return false;
		ckfdw_report_record_error(rec->server_error_code, rec->reason,
								  rec->record_name, rec->retry_after,
								  &fsstate->info);
	}
	if (rec->deleted)
		return false;
	/* a lookup finds records of any type by name: only ours are rows */
	return rec->record_type != NULL &&
		strcmp(rec->record_type, fsstate->record_type_utf8) == 0;
}


/* The lookup request of a plan: its constant names, or a placeholder. */
static char *
explain_lookup_request(const char *base, CkFdwPushdown *pd,
					   CkFdwParamValues *params, CkFdwOptions *opts)
{
	int			idx = pd->names_index;
	char	  **names;
	int			n;
	int			i;

	if (params->unknown[idx])
		return ckfdw_build_lookup_request(base, NULL, 0, NIL, idx + 1);
	if (params->nulls[idx])
		return ckfdw_build_lookup_request(base, NULL, 0, NIL, 0);
	/* the first request's names, as the scan sends them */
	n = ckfdw_key_names(params->values[idx], params->types[idx], &names);
	for (i = 0; i < n; i++)
		names[i] = ckfdw_to_utf8(names[i]);
	n = Min(ckfdw_sort_unique_names(names, n), opts->page_size);
	return ckfdw_build_lookup_request(base, names, n, NIL, 0);
}

/*
 * The record names in a lookup key, a text value or a text array (NULL
 * elements are no names), as palloc'd strings in the database encoding.
 * Returns how many; *names has room for at least one.
 */
int
ckfdw_key_names(Datum key, Oid type, char ***names)
{
	int			n = 0;

	if (type_is_array(type))
	{
		ArrayType  *arr = DatumGetArrayTypeP(key);
		Datum	   *elems;
		bool	   *nulls;
		int			nelems;
		int16		typlen;
		bool		typbyval;
		char		typalign;
		int			i;

		get_typlenbyvalalign(ARR_ELEMTYPE(arr), &typlen, &typbyval, &typalign);
		deconstruct_array(arr, ARR_ELEMTYPE(arr), typlen, typbyval, typalign,
						  &elems, &nulls, &nelems);
		*names = palloc(sizeof(char *) * Max(nelems, 1));
		for (i = 0; i < nelems; i++)
		{
			if (!nulls[i])
				(*names)[n++] = TextDatumGetCString(elems[i]);
		}
	}
	else
	{
		*names = palloc(sizeof(char *));
		(*names)[n++] = TextDatumGetCString(key);
	}
	return n;
}

/* qsort/bsearch comparator of record names (char *) */
int
ckfdw_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * Sort record names and drop duplicates in place; returns how many remain.
 * records/lookup answers once per name, and the sorted array is searched.
 */
int
ckfdw_sort_unique_names(char **names, int n)
{
	int			i,
				j = 0;

	if (n <= 1)
		return n;
	qsort(names, n, sizeof(char *), ckfdw_name_cmp);
	for (i = 1; i < n; i++)
	{
		if (strcmp(names[i], names[j]) != 0)
			names[++j] = names[i];
	}
	return j + 1;
}
