/*
 * HTTP/1.1 response parsing (RFC 9112), bounded: a status line and at most
 * COFFER_HTTP_MAX_HEADERS headers in COFFER_HTTP_MAX_HEAD bytes, a body by
 * Content-Length, chunked coding or connection close of at most max_body
 * bytes. Ambiguous framing (both Content-Length and Transfer-Encoding,
 * differing Content-Lengths, codings other than chunked) is refused, as is
 * obsolete line folding. The input is read through http_reader so that the
 * same code parses a socket and, in the fuzz target, a memory buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coffer/codec.h"
#include "http/http_internal.h"

#define MAX_INTERIM    8    /* 1xx answers skipped before the final one */
#define MAX_CHUNK_LINE 1024 /* chunk size with extensions */

static int truncated(void)
{
	return coffer_error_set(COFFER_ENET,
	                        "HTTP: connection closed before the end of the response");
}

/* 1: more bytes, 0: end of stream, < 0: error */
static int rd_more(http_reader *r)
{
	size_t got = 0;
	int error;

	if (r->off > 0) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	if (r->len == sizeof(r->buf))
		return coffer_error_set(COFFER_ELIMIT, "HTTP: line too long");
	if ((error = r->fill(r->ctx, r->buf + r->len, sizeof(r->buf) - r->len, &got)) < 0)
		return error;
	if (got > sizeof(r->buf) - r->len)
		return coffer_error_set(COFFER_ERROR, "HTTP: reader overrun");
	r->len += got;
	r->received += got;
	return got > 0;
}

/* One line of at most `max` bytes without its CRLF (or LF); *line points
 * into the reader's buffer until the next read. */
static int rd_line(char **line, size_t *n, http_reader *r, size_t max, int code, const char *what)
{
	for (;;) {
		uint8_t *s = r->buf + r->off;
		size_t avail = r->len - r->off;
		uint8_t *nl = memchr(s, '\n', avail);
		int m;

		if (nl != NULL) {
			size_t l = (size_t)(nl - s);
			r->off += l + 1;
			if (l > 0 && s[l - 1] == '\r')
				l--;
			if (l > max)
				return coffer_error_set(code, "HTTP: %s", what);
			*line = (char *)s;
			*n = l;
			return 0;
		}
		if (avail > max + 1)
			return coffer_error_set(code, "HTTP: %s", what);
		if ((m = rd_more(r)) < 0)
			return m;
		if (m == 0)
			return truncated();
	}
}

/* Exactly n body bytes into b. */
static int rd_body(coffer_buf *b, http_reader *r, uint64_t n)
{
	while (n > 0) {
		size_t avail = r->len - r->off;
		int m;

		if (avail > 0) {
			size_t take = avail < n ? avail : (size_t)n;
			int error = coffer_buf_append(b, r->buf + r->off, take);
			if (error == COFFER_ELIMIT)
				return coffer_error_set(COFFER_ELIMIT,
				                        "HTTP: response body larger than %zu bytes",
				                        b->max - 1);
			if (error < 0)
				return error;
			r->off += take;
			n -= take;
			continue;
		}
		if ((m = rd_more(r)) < 0)
			return m;
		if (m == 0)
			return truncated();
	}
	return 0;
}

bool http_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool token_eq(const char *v, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(v, want, n) == 0;
}

/* Does a comma-separated header value contain `tok`? */
static bool list_has(const char *v, const char *tok)
{
	while (*v) {
		size_t n;
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		n = strcspn(v, ",");
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (n > 0 && token_eq(v, n, tok))
			return true;
		v += strcspn(v, ",");
	}
	return false;
}

struct head {
	int minor;
	int status;
	size_t nheaders;
	size_t off[COFFER_HTTP_MAX_HEADERS][2];
	coffer_buf store;
};

/* Header lines up to the empty line; stored unless `store` is NULL. */
static int read_fields(struct head *h, http_reader *r, size_t *used, bool store)
{
	for (;;) {
		char *line, *colon, *v;
		size_t n, nlen, vlen;
		int error;

		size_t left = *used < COFFER_HTTP_MAX_HEAD ? COFFER_HTTP_MAX_HEAD - *used : 0;

		if ((error = rd_line(&line, &n, r, left, COFFER_ELIMIT,
		                     "response header too large")) < 0)
			return error;
		*used += n + 2;
		if (n == 0)
			return 0;
		if (line[0] == ' ' || line[0] == '\t')
			return coffer_error_set(COFFER_ENET, "HTTP: folded header line");
		colon = memchr(line, ':', n);
		if (colon == NULL || colon == line)
			return coffer_error_set(COFFER_ENET, "HTTP: malformed header line");
		nlen = (size_t)(colon - line);
		for (size_t i = 0; i < nlen; i++)
			if (!http_is_tchar((unsigned char)line[i]))
				return coffer_error_set(COFFER_ENET, "HTTP: bad header name");
		v = colon + 1;
		vlen = n - nlen - 1;
		while (vlen > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		for (size_t i = 0; i < vlen; i++) {
			unsigned char c = (unsigned char)v[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return coffer_error_set(
				        COFFER_ENET, "HTTP: control character in a header value");
		}
		if (h->nheaders >= COFFER_HTTP_MAX_HEADERS)
			return coffer_error_set(COFFER_ELIMIT,
			                        "HTTP: more than %d response headers",
			                        COFFER_HTTP_MAX_HEADERS);
		if (!store) {
			h->nheaders++;
			continue;
		}
		h->off[h->nheaders][0] = h->store.len;
		if (coffer_buf_append(&h->store, line, nlen) < 0 ||
		    coffer_buf_append(&h->store, "", 1) < 0)
			return coffer_error_set(COFFER_ELIMIT, "HTTP: response header too large");
		h->off[h->nheaders][1] = h->store.len;
		if (coffer_buf_append(&h->store, v, vlen) < 0 ||
		    coffer_buf_append(&h->store, "", 1) < 0)
			return coffer_error_set(COFFER_ELIMIT, "HTTP: response header too large");
		h->nheaders++;
	}
}

static int read_head(struct head *h, http_reader *r)
{
	for (unsigned interim = 0;; interim++) {
		size_t n, used;
		char *line;
		int error;

		if ((error = rd_line(&line, &n, r, COFFER_HTTP_MAX_HEAD, COFFER_ELIMIT,
		                     "response header too large")) < 0)
			return error;
		if (n < 12 || memcmp(line, "HTTP/1.", 7) != 0 ||
		    (line[7] != '0' && line[7] != '1') || line[8] != ' ' || line[9] < '1' ||
		    line[9] > '5' || line[10] < '0' || line[10] > '9' || line[11] < '0' ||
		    line[11] > '9' || (n > 12 && line[12] != ' '))
			return coffer_error_set(COFFER_ENET, "HTTP: malformed status line");
		h->minor = line[7] - '0';
		h->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
		used = n + 2;
		h->nheaders = 0;
		coffer_buf_clear(&h->store);
		if ((error = read_fields(h, r, &used, true)) < 0)
			return error;
		if (h->status >= 200)
			return 0;
		if (h->status == 101)
			return coffer_error_set(COFFER_ENET, "HTTP: unexpected protocol switch");
		if (interim + 1 >= MAX_INTERIM)
			return coffer_error_set(COFFER_ELIMIT, "HTTP: too many interim responses");
	}
}

static const char *hv(const struct head *h, size_t i, int which)
{
	return (const char *)h->store.ptr + h->off[i][which];
}

static int parse_length(uint64_t *out, const char *v)
{
	uint64_t x = 0;

	if (*v == '\0')
		return coffer_error_set(COFFER_ENET, "HTTP: bad Content-Length");
	for (; *v; v++) {
		if (*v < '0' || *v > '9' || x > (UINT64_MAX - 9) / 10)
			return coffer_error_set(COFFER_ENET, "HTTP: bad Content-Length");
		x = x * 10 + (uint64_t)(*v - '0');
	}
	*out = x;
	return 0;
}

static int read_chunked(coffer_buf *body, http_reader *r, size_t max_body)
{
	struct head trailers;
	size_t used = 0;

	for (;;) {
		uint64_t size = 0;
		size_t n, i = 0;
		char *line;
		int error;

		if ((error = rd_line(&line, &n, r, MAX_CHUNK_LINE, COFFER_ENET,
		                     "chunk size line too long")) < 0)
			return error;
		for (; i < n && coffer_hex_digit((unsigned char)line[i]) >= 0; i++) {
			if (size > (UINT64_MAX >> 4))
				return coffer_error_set(COFFER_ENET, "HTTP: chunk size overflows");
			size = size << 4 | (uint64_t)coffer_hex_digit((unsigned char)line[i]);
		}
		if (i == 0)
			return coffer_error_set(COFFER_ENET, "HTTP: bad chunk size");
		while (i < n && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i < n && line[i] != ';')
			return coffer_error_set(COFFER_ENET, "HTTP: bad chunk size");
		if (size == 0)
			break;
		if (size > max_body - body->len)
			return coffer_error_set(COFFER_ELIMIT,
			                        "HTTP: response body larger than %zu bytes",
			                        max_body);
		if ((error = rd_body(body, r, size)) < 0)
			return error;
		if ((error = rd_line(&line, &n, r, 0, COFFER_ENET, "chunk not followed by CRLF")) <
		    0)
			return error;
	}
	/* trailer fields: checked and bounded like headers, then dropped */
	memset(&trailers, 0, sizeof(trailers));
	return read_fields(&trailers, r, &used, false);
}

static int read_to_close(coffer_buf *body, http_reader *r, size_t max_body)
{
	for (;;) {
		size_t avail = r->len - r->off;
		int m;

		if (avail > max_body - body->len)
			return coffer_error_set(COFFER_ELIMIT,
			                        "HTTP: response body larger than %zu bytes",
			                        max_body);
		if (avail > 0 && coffer_buf_append(body, r->buf + r->off, avail) < 0)
			return coffer_error_set(COFFER_ENOMEM, "out of memory");
		r->off = r->len = 0;
		if ((m = rd_more(r)) < 0)
			return m;
		if (m == 0)
			return 0;
	}
}

int coffer_http_read_response(coffer_http_response *resp, bool *keep, http_reader *r,
                              bool head_only, size_t max_body)
{
	struct head h;
	const char *te = NULL;
	bool have_len = false, close = false, ka = false;
	uint64_t clen = 0;
	int error;

	memset(resp, 0, sizeof(*resp));
	memset(&h, 0, sizeof(h));
	*keep = false;
	if (max_body == 0)
		max_body = COFFER_HTTP_DEFAULT_MAX_BODY;
	coffer_buf_init(&h.store, COFFER_HTTP_MAX_HEAD + 2 * COFFER_HTTP_MAX_HEADERS);
	/* +1: the NUL kept after the body */
	coffer_buf_init(&resp->body, max_body + 1);
	if ((error = read_head(&h, r)) < 0)
		goto out;
	for (size_t i = 0; i < h.nheaders; i++) {
		const char *name = hv(&h, i, 0), *v = hv(&h, i, 1);
		if (strcasecmp(name, "Transfer-Encoding") == 0) {
			if (te != NULL) {
				error = coffer_error_set(COFFER_ENET,
				                         "HTTP: repeated Transfer-Encoding");
				goto out;
			}
			te = v;
		} else if (strcasecmp(name, "Content-Length") == 0) {
			uint64_t x = 0;
			if ((error = parse_length(&x, v)) < 0)
				goto out;
			if (have_len && x != clen) {
				error = coffer_error_set(
				        COFFER_ENET, "HTTP: conflicting Content-Length headers");
				goto out;
			}
			have_len = true;
			clen = x;
		} else if (strcasecmp(name, "Connection") == 0) {
			close = close || list_has(v, "close");
			ka = ka || list_has(v, "keep-alive");
		}
	}
	if (te != NULL && have_len) {
		error = coffer_error_set(COFFER_ENET,
		                         "HTTP: both Content-Length and Transfer-Encoding");
		goto out;
	}
	if (te != NULL && strcasecmp(te, "chunked") != 0) {
		error = coffer_error_set(COFFER_ENET, "HTTP: unsupported Transfer-Encoding");
		goto out;
	}
	*keep = !close && (h.minor == 1 || ka);
	if (head_only || h.status == 204 || h.status == 304) {
		/* no body */
	} else if (te != NULL) {
		if ((error = read_chunked(&resp->body, r, max_body)) < 0)
			goto out;
	} else if (have_len) {
		if (clen > max_body) {
			error = coffer_error_set(COFFER_ELIMIT,
			                         "HTTP: response body larger than %zu bytes",
			                         max_body);
			goto out;
		}
		if ((error = rd_body(&resp->body, r, clen)) < 0)
			goto out;
	} else {
		*keep = false;
		if ((error = read_to_close(&resp->body, r, max_body)) < 0)
			goto out;
	}
	/* bytes beyond the answer: the stream is out of step, do not reuse it */
	if (r->off != r->len)
		*keep = false;
	resp->status = h.status;
	resp->nheaders = h.nheaders;
	resp->head_store = (char *)coffer_buf_detach(&h.store, NULL);
	if (resp->head_store == NULL && h.nheaders > 0) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < h.nheaders; i++) {
		resp->headers[i].name = resp->head_store + h.off[i][0];
		resp->headers[i].value = resp->head_store + h.off[i][1];
	}
	error = 0;
out:
	coffer_buf_free(&h.store);
	if (error < 0) {
		coffer_http_response_free(resp);
		*keep = false;
	}
	return error;
}

const char *http_header_find(const coffer_http_header *headers, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(headers[i].name, name) == 0)
			return headers[i].value;
	return NULL;
}

const char *coffer_http_response_header(const coffer_http_response *r, const char *name)
{
	return http_header_find(r->headers, r->nheaders, name);
}

void coffer_http_response_free(coffer_http_response *r)
{
	if (r == NULL)
		return;
	coffer_buf_free(&r->body);
	if (r->head_store) {
		/* names and values are stored one after the other */
		size_t n = 0;
		if (r->nheaders > 0) {
			const char *last = r->headers[r->nheaders - 1].value;
			n = (size_t)(last - r->head_store) + strlen(last) + 1;
		}
		coffer_wipe(r->head_store, n);
		free(r->head_store);
	}
	memset(r, 0, sizeof(*r));
}

struct mem_src {
	const uint8_t *p;
	size_t len, pos;
};

/* Pieces of 1 to 13 bytes, so that every buffer boundary gets crossed. */
static int mem_fill(void *ctx, uint8_t *p, size_t n, size_t *got)
{
	struct mem_src *m = ctx;
	size_t take = 1 + m->pos % 13;

	if (take > n)
		take = n;
	if (take > m->len - m->pos)
		take = m->len - m->pos;
	memcpy(p, m->p + m->pos, take);
	m->pos += take;
	*got = take;
	return 0;
}

int coffer_http_parse_response(coffer_http_response *resp, const uint8_t *data, size_t len,
                               bool head_only, size_t max_body)
{
	struct mem_src m = { data, len, 0 };
	http_reader *r = malloc(sizeof(*r));
	bool keep;
	int error;

	if (r == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	r->fill = mem_fill;
	r->ctx = &m;
	r->off = r->len = 0;
	r->received = 0;
	error = coffer_http_read_response(resp, &keep, r, head_only, max_body);
	free(r);
	return error;
}
