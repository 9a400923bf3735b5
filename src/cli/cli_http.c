/* A bounded HTTP(S) GET for the CLI (the AMD KDS fetch of coffer collateral). */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "coffer/buf.h"
#include "cli_http.h"

struct sink {
	coffer_buf buf;
	int overflow;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n;

	if (coffer_size_mul(&n, size, nmemb) != 0 || coffer_buf_append(&s->buf, ptr, n) != 0) {
		s->overflow = 1;
		return 0;
	}
	return n;
}

int cli_http_get(uint8_t **out, size_t *len, const char *url, size_t max, void *arg)
{
	CURL *c = curl_easy_init();
	struct sink s;
	long status = 0;
	CURLcode rc;
	int error;

	(void)arg;
	*out = NULL;
	*len = 0;
	if (c == NULL)
		return coffer_error_set(COFFER_ERROR, "curl: init");
	/* coffer_buf keeps 4 KiB of growth slack under its maximum */
	coffer_buf_init(&s.buf, max + 4096);
	s.overflow = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (s.overflow || s.buf.len > max) {
		error = coffer_error_set(COFFER_ELIMIT, "answer larger than %zu bytes", max);
		goto fail;
	}
	if (rc != CURLE_OK) {
		error = coffer_error_set(COFFER_ENET, "%s", curl_easy_strerror(rc));
		goto fail;
	}
	if (status != 200) {
		error = coffer_error_set(status == 404 ? COFFER_ENOTFOUND : COFFER_ENET,
		                         "HTTP status %ld", status);
		goto fail;
	}
	if (s.buf.len == 0) {
		error = coffer_error_set(COFFER_EINVAL, "empty answer");
		goto fail;
	}
	*out = coffer_buf_detach(&s.buf, len);
	return *out ? 0 : coffer_error_set(COFFER_ENOMEM, "out of memory");
fail:
	coffer_buf_free(&s.buf);
	return error;
}
