/* The HTTP client's response parser, shared with the fuzz target, and the
 * helpers it shares with the server's request parser (server.c). */
#ifndef COFFER_HTTP_INTERNAL_H
#define COFFER_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coffer/http.h"

/* longest line the reader holds at once (status line, header, chunk size) */
#define HTTP_RD_BUF (COFFER_HTTP_MAX_HEAD + 64)

/* Where the response bytes come from: *got = 0 means end of stream. */
typedef int (*http_fill_fn)(void *ctx, uint8_t *p, size_t n, size_t *got);

typedef struct http_reader {
	http_fill_fn fill;
	void *ctx;
	size_t off, len; /* unread bytes are buf[off..len) */
	uint64_t received;
	uint8_t buf[HTTP_RD_BUF];
} http_reader;

/*
 * Read one response from `r`. `head_only`: a HEAD request (no body).
 * *keep: the connection may carry another request afterwards.
 */
int coffer_http_read_response(coffer_http_response *resp, bool *keep, http_reader *r,
                              bool head_only, size_t max_body);

/* The same over a memory buffer, fed in small pieces (the fuzz target). */
int coffer_http_parse_response(coffer_http_response *resp, const uint8_t *data, size_t len,
                               bool head_only, size_t max_body);

/* A tchar of a token: header names, methods (RFC 9110 section 5.6.2). */
bool http_is_tchar(unsigned char c);

/* The value of the first of headers[0..n) named `name` (compared
 * case-insensitively), or NULL. */
const char *http_header_find(const coffer_http_header *headers, size_t n, const char *name);

#endif
