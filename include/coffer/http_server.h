/*
 * A small, bounded HTTP/1.1 server for loopback APIs (the agent's REST API).
 *
 * Why not libmicrohttpd: Debian builds it against gnutls, which drags
 * gnutls, p11-kit, nettle, gmp, hogweed, tasn1, idn2, unistring and ffi
 * (about 2.3 MiB RSS) into the TEE although the agent serves plain HTTP on
 * loopback only.
 *
 * One acceptor thread; each accepted connection is served by its own thread,
 * at most `max_conns` at a time (further connections are closed at once).
 * Every bound is fixed: a request head of COFFER_HTTPD_MAX_HEAD bytes with
 * at most COFFER_HTTPD_MAX_HEADERS headers (431 beyond), a body of at most
 * `max_body` bytes framed by Content-Length only (chunked or any other
 * Transfer-Encoding: 411; duplicate or malformed Content-Length: 400), a
 * read deadline per request (slowloris), an idle timeout between keep-alive
 * requests. The parser is strict: token methods, origin-form targets,
 * HTTP/1.0 or 1.1, CRLF line ends only (bare CR or LF, NUL, obs-fold: 400),
 * Host required in HTTP/1.1. Responses always carry Content-Length; the
 * body is sent straight from the handler's buffer and then handed to its
 * free function (which wipes it when it held a secret).
 */
#ifndef COFFER_HTTP_SERVER_H
#define COFFER_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "coffer/common.h"
#include "coffer/http.h"

#ifdef __cplusplus
extern "C" {
#endif

#define COFFER_HTTPD_MAX_HEAD    (8 * 1024)
#define COFFER_HTTPD_MAX_HEADERS 64
#define COFFER_HTTPD_MAX_ARGS    32

typedef struct coffer_http_server coffer_http_server;

typedef struct coffer_http_req {
	const char *method;
	const char *target; /* as received */
	const char *path;   /* percent-decoded, without the query */
	const char *query;  /* raw text after '?', or NULL */
	int minor;          /* HTTP/1.<minor> */
	size_t nheaders;
	coffer_http_header headers[COFFER_HTTPD_MAX_HEADERS];
	size_t nargs; /* query arguments, decoded ('+' is a space) */
	coffer_http_header args[COFFER_HTTPD_MAX_ARGS];
	const uint8_t *body; /* Content-Length bytes (NULL when none) */
	size_t body_len;
	bool body_too_big; /* Content-Length > max_body: the body was discarded */
	bool peer_loopback;
} coffer_http_req;

typedef struct coffer_http_reply {
	unsigned status;
	const char *content_type; /* NULL: none */
	bool no_store;            /* Cache-Control: no-store */
	void *body;
	size_t len;
	/* called once the body is sent (or the send failed); NULL: not owned */
	void (*free_body)(void *body, size_t len);
} coffer_http_reply;

/* Fill *rep for *req; a negative return closes the connection with a 500. */
typedef int (*coffer_http_handler)(coffer_http_reply *rep, const coffer_http_req *req, void *ctx);

typedef struct coffer_http_server_opts {
	const struct sockaddr *addr; /* where to listen (port 0: any) */
	socklen_t addr_len;
	unsigned max_conns;       /* 0: 16 */
	size_t max_body;          /* 0: 64 KiB */
	unsigned idle_timeout_ms; /* between keep-alive requests; 0: 30 s */
	unsigned read_timeout_ms; /* first byte to last byte of a request; 0: 10 s */
	coffer_http_handler handler;
	void *ctx;
} coffer_http_server_opts;

/* Listen and serve in background threads until coffer_http_server_stop. */
int coffer_http_server_start(coffer_http_server **out, const coffer_http_server_opts *opts);
unsigned coffer_http_server_port(const coffer_http_server *s);
/* Stop accepting, close every connection, join every thread, free. */
void coffer_http_server_stop(coffer_http_server *s);

/* The value of query argument `name`, or NULL. */
const char *coffer_http_req_arg(const coffer_http_req *req, const char *name);
/* The value of header `name` (case-insensitive), or NULL. */
const char *coffer_http_req_header(const coffer_http_req *req, const char *name);
bool coffer_http_addr_is_loopback(const struct sockaddr *sa);

/*
 * The request-head parser (also the fuzz target's entry): `buf` holds `len`
 * received bytes. Returns 0 with *head_len set once a complete, valid head
 * was parsed (buf is modified in place; `req` points into it and into
 * `scratch`, which must hold COFFER_HTTPD_MAX_HEAD bytes), 1 when more bytes
 * are needed, or an HTTP error status (400, 411, 417, 431, 501, 505).
 * *content_length is the declared body length (0 when none).
 */
int coffer_http_parse_request(coffer_http_req *req, size_t *head_len, uint64_t *content_length,
                              char *buf, size_t len, char *scratch);

#ifdef __cplusplus
}
#endif

#endif
