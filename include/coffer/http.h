/*
 * A small, bounded HTTP/1.1 client on OpenSSL (docs/http.md).
 *
 * Why not libcurl: the agent runs inside the TEE and Debian's libcurl pulls
 * about 30 shared libraries (Kerberos, LDAP, SSH, ...) into its trusted
 * computing base and its memory. This client does what Coffer needs and no
 * more: http:// and https:// URLs, one keep-alive connection per handle
 * (reopened when the server closed it), Content-Length and chunked bodies,
 * poll()-based timeouts and a total deadline, TLS >= 1.2 verified against a
 * pinned CA file or the system store, with host name or IP checks and SNI.
 *
 * Every limit is fixed or given by the caller: at most
 * COFFER_HTTP_MAX_HEADERS response headers in COFFER_HTTP_MAX_HEAD bytes,
 * a body of at most `max_body` bytes (COFFER_HTTP_DEFAULT_MAX_BODY).
 * Errors: COFFER_ENET (connect, TLS, I/O, timeouts, malformed or truncated
 * answers), COFFER_EINVAL (bad URL or request), COFFER_ELIMIT (a bound hit).
 * A handle is not thread-safe: use one per thread, or lock around it.
 */
#ifndef COFFER_HTTP_H
#define COFFER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coffer/buf.h"
#include "coffer/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define COFFER_HTTP_MAX_HEADERS      64
#define COFFER_HTTP_MAX_HEAD         (16 * 1024)
#define COFFER_HTTP_DEFAULT_MAX_BODY ((size_t)16 * 1024 * 1024)

typedef struct coffer_http coffer_http;

typedef struct coffer_http_opts {
	const char *cacert;      /* PEM CA file trusted alone; NULL: the system store */
	long connect_timeout_ms; /* TCP connect + TLS handshake; 0: 10 s */
	long io_timeout_ms;      /* longest wait for one read or write; 0: 30 s */
	long total_timeout_ms;   /* whole request, connect to last byte; 0: 60 s */
	const char *user_agent;  /* NULL: "coffer/0.1" */
} coffer_http_opts;

typedef struct coffer_http_request {
	const char *method;         /* "GET", "POST", ... */
	const char *url;            /* http[s]://host[:port][/path[?query]] */
	const char *const *headers; /* "Name: value" lines, NULL-terminated, or NULL */
	const void *body;           /* sent with Content-Length; NULL with 0 */
	size_t body_len;
	size_t max_body; /* largest accepted response body; 0: the default */
} coffer_http_request;

typedef struct coffer_http_header {
	const char *name; /* as sent; compare case-insensitively */
	const char *value;
} coffer_http_header;

typedef struct coffer_http_response {
	int status;
	size_t nheaders;
	coffer_http_header headers[COFFER_HTTP_MAX_HEADERS];
	coffer_buf body; /* NUL-terminated when non-empty */
	char *head_store;
} coffer_http_response;

/* Why the last request on a handle failed (for the caller's retry policy). */
enum coffer_http_failure {
	COFFER_HTTP_FAIL_NONE = 0,
	COFFER_HTTP_FAIL_CONNECT, /* no connection: the request was not sent */
	COFFER_HTTP_FAIL_TLS,     /* handshake or certificate verification */
	COFFER_HTTP_FAIL_IO,      /* the connection broke or timed out mid-exchange */
	COFFER_HTTP_FAIL_PROTO,   /* malformed or oversized answer */
	COFFER_HTTP_FAIL_REQUEST, /* bad URL or request: nothing was sent */
};

int coffer_http_new(coffer_http **out, const coffer_http_opts *opts);
void coffer_http_free(coffer_http *h);

/* One exchange. `resp` is filled (free it with coffer_http_response_free)
 * whatever the status; the call fails only when no complete answer came. */
int coffer_http_perform(coffer_http_response *resp, coffer_http *h, const coffer_http_request *req);

/* Close the kept-alive connection (the next request opens a new one). */
void coffer_http_close(coffer_http *h);

enum coffer_http_failure coffer_http_last_failure(const coffer_http *h);

/* Number of connections opened so far by this handle (tests, diagnostics). */
unsigned coffer_http_connections(const coffer_http *h);

/* First header named `name` (case-insensitive), or NULL. */
const char *coffer_http_response_header(const coffer_http_response *r, const char *name);

void coffer_http_response_free(coffer_http_response *r);

/* A one-shot GET on a fresh handle: *out (malloc'd, NUL-terminated) and
 * *status, whatever the status. */
int coffer_http_get(uint8_t **out, size_t *len, int *status, const char *url, const char *cacert,
                    size_t max_body, long total_timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
