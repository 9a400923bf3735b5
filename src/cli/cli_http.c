/* A bounded HTTP(S) GET for the CLI (the AMD KDS fetch of coffer collateral),
 * over Coffer's HTTP client (coffer/http.h; no libcurl, docs/http.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli_http.h"
#include "coffer/buf.h"
#include "coffer/http.h"

#define MAX_REDIRECTS 3
#define URL_MAX       2048

/* The next URL from a Location header: an absolute https:// URL, or a path
 * on the current origin when that is https. Anything else is refused. */
static int redirect_target(char *next, size_t size, const char *cur, const char *loc)
{
	int n;

	if (strncasecmp(loc, "https://", 8) == 0) {
		n = snprintf(next, size, "%s", loc);
	} else if (loc[0] == '/' && loc[1] != '/' && strncasecmp(cur, "https://", 8) == 0) {
		size_t origin = 8 + strcspn(cur + 8, "/?#");
		n = snprintf(next, size, "%.*s%s", (int)origin, cur, loc);
	} else {
		return coffer_error_set(COFFER_ENET, "redirect to a non-https URL refused");
	}
	if (n < 0 || (size_t)n >= size)
		return coffer_error_set(COFFER_ENET, "redirect URL too long");
	return 0;
}

int cli_http_get(uint8_t **out, size_t *len, const char *url, size_t max, void *arg)
{
	coffer_http_opts o = { .connect_timeout_ms = 10000, .total_timeout_ms = 30000 };
	coffer_http_response r;
	coffer_http *h = NULL;
	char cur[URL_MAX], next[URL_MAX];
	int error, n;

	(void)arg;
	*out = NULL;
	*len = 0;
	n = snprintf(cur, sizeof(cur), "%s", url);
	if (n < 0 || (size_t)n >= sizeof(cur))
		return coffer_error_set(COFFER_EINVAL, "URL too long");
	if ((error = coffer_http_new(&h, &o)) < 0)
		return error;
	for (int hops = 0;; hops++) {
		coffer_http_request req = { .method = "GET", .url = cur, .max_body = max };
		const char *loc;

		if ((error = coffer_http_perform(&r, h, &req)) < 0) {
			if (error == COFFER_ELIMIT)
				error = coffer_error_set(COFFER_ELIMIT,
				                         "answer larger than %zu bytes", max);
			goto out;
		}
		loc = coffer_http_response_header(&r, "Location");
		if (r.status != 301 && r.status != 302 && r.status != 303 && r.status != 307 &&
		    r.status != 308)
			break;
		if (loc == NULL || hops >= MAX_REDIRECTS) {
			error = coffer_error_set(COFFER_ENET, loc ? "too many redirects"
			                                          : "redirect without a Location");
			goto fail;
		}
		if ((error = redirect_target(next, sizeof(next), cur, loc)) < 0)
			goto fail;
		memcpy(cur, next, sizeof(cur));
		coffer_http_response_free(&r);
	}
	if (r.status != 200) {
		error = coffer_error_set(r.status == 404 ? COFFER_ENOTFOUND : COFFER_ENET,
		                         "HTTP status %d", r.status);
		goto fail;
	}
	if (r.body.len == 0) {
		error = coffer_error_set(COFFER_EINVAL, "empty answer");
		goto fail;
	}
	*out = coffer_buf_detach(&r.body, len);
	error = *out ? 0 : coffer_error_set(COFFER_ENOMEM, "out of memory");
fail:
	coffer_http_response_free(&r);
out:
	coffer_http_free(h);
	return error;
}
