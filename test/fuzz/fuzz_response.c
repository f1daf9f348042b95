/*-------------------------------------------------------------------------
 *
 * fuzz_response.c
 *		Fuzz target: a whole HTTP answer as it comes off the wire (status
 *		line, header lines, blank line, body), handled as ck_attempt
 *		handles one after libcurl is done: the header callback sees every
 *		line (X-Apple-CloudKit-Web-Auth-Token, Retry-After), the body is
 *		parsed, and a non-2xx answer goes through the error envelope.
 *
 * The static functions of ck_http.c are reached by including it; libcurl
 * itself is not run (its HTTP parser is not ours to fuzz).
 *
 * test/fuzz/fuzz_response.c
 *
 *-------------------------------------------------------------------------
 */
#include "ck/ck_http.c"

#include "fuzz.h"

static volatile uintptr_t sink;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	CkClient	client;
	CkRequest	req;
	CkResponse	resp;
	const char *p = (const char *) data;
	const char *end = p + size;
	long		status = 0;
	bool		first = true;
	struct json_object *json;
	char		perr[160];

	memset(&client, 0, sizeof(client));
	memset(&req, 0, sizeof(req));
	req.client = &client;
	ck_buf_init(&req.rbody);
	req.header_retry_after = -1;
	memset(&resp, 0, sizeof(resp));
	resp.retry_after = -1;

	/*
	 * Header lines, each with its line end, as libcurl hands them to the
	 * header callback; the status line comes first, the blank line last.
	 * libcurl's callback data is not NUL-terminated: neither is this copy.
	 */
	while (p < end)
	{
		const char *nl = memchr(p, '\n', end - p);
		size_t		n = nl ? (size_t) (nl - p) + 1 : (size_t) (end - p);
		char	   *line = malloc(n > 0 ? n : 1);
		bool		blank;

		if (line == NULL)
			break;
		memcpy(line, p, n);
		if (first)
		{
			char		head[64];
			size_t		h = n < sizeof(head) - 1 ? n : sizeof(head) - 1;

			memcpy(head, p, h);
			head[h] = '\0';
			if (sscanf(head, "HTTP/%*s %ld", &status) != 1)
				status = 0;
			first = false;
		}
		ck_header_cb(line, 1, n, &req);
		free(line);
		blank = (n == 1 || (n == 2 && p[0] == '\r'));
		p += n;
		if (blank)
			break;
	}

	/* the body, as ck_write_cb collects it */
	if (p < end && !ck_buf_append(&req.rbody, p, (size_t) (end - p)))
		goto done;
	resp.http_status = status;
	json = ck_json_parse_body(req.rbody.data ? req.rbody.data : "", req.rbody.len,
						 perr, sizeof(perr));
	if (status >= 200 && status < 300)
	{
		resp.json = json;
		resp.kind = (json && json_object_is_type(json, json_type_object)) ?
			CK_RESULT_OK : CK_RESULT_BAD_RESPONSE;
	}
	else
	{
		const CkErrorInfo *info;

		ck_fill_server_error(&req, &resp, json);
		/* what the FDW does next: map the code, decide on a retry */
		info = ck_error_lookup(resp.server_error_code);
		sink += (uintptr_t) info->retryable + (uintptr_t) (resp.retry_after >= 0) +
			(uintptr_t) strlen(resp.reason) + (uintptr_t) strlen(resp.uuid);
	}
	if (req.new_token)
		sink += (uintptr_t) strlen(req.new_token);

done:
	ck_response_clear(&resp);
	ck_free_secret(req.new_token);
	ck_buf_free(&req.rbody);
	return 0;
}
