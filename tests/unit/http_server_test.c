#define _GNU_SOURCE
/*
 * The loopback HTTP/1.1 server (src/lib/http/server.c): its request parser
 * from memory, then the server over real loopback sockets: keep-alive and
 * pipelining, bounds (head size, header count, body 413), malformed
 * requests, chunked refused, slow client and idle timeouts, the connection
 * cap, the free callback that wipes response bodies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "coffer/http_server.h"
#include "test_util.h"

/* ---- the parser, from memory ---- */

static int parse(const char *text, coffer_http_req *req, uint64_t *cl)
{
	static char buf[COFFER_HTTPD_MAX_HEAD + 64], scratch[COFFER_HTTPD_MAX_HEAD];
	size_t n = strlen(text), head = 0;

	assert_true(n <= sizeof(buf));
	memcpy(buf, text, n);
	return coffer_http_parse_request(req, &head, cl, buf, n, scratch);
}

static void test_parse_valid(void **state)
{
	coffer_http_req req;
	uint64_t cl = 99;

	(void)state;
	assert_int_equal(parse("GET /a%2Fb/c?x=1&y=a+b%21&flag&=v HTTP/1.1\r\nHost: h\r\n"
	                       "X-Long:   spaced value \t\r\n\r\n",
	                       &req, &cl),
	                 0);
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.target, "/a%2Fb/c?x=1&y=a+b%21&flag&=v");
	assert_string_equal(req.path, "/a/b/c");
	assert_string_equal(req.query, "x=1&y=a+b%21&flag&=v");
	assert_int_equal(req.minor, 1);
	assert_int_equal(cl, 0);
	assert_string_equal(coffer_http_req_arg(&req, "x"), "1");
	assert_string_equal(coffer_http_req_arg(&req, "y"), "a b!");
	assert_string_equal(coffer_http_req_arg(&req, "flag"), "");
	assert_string_equal(coffer_http_req_arg(&req, ""), "v");
	assert_null(coffer_http_req_arg(&req, "z"));
	assert_string_equal(coffer_http_req_header(&req, "x-long"), "spaced value");
	assert_int_equal(parse("POST /p HTTP/1.0\r\nContent-Length: 12\r\n\r\n", &req, &cl), 0);
	assert_int_equal(cl, 12);
	assert_int_equal(req.minor, 0);
	/* incomplete heads want more */
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n", &req, &cl), 1);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n\r", &req, &cl), 1);
	assert_int_equal(parse("", &req, &cl), 1);
}

static void test_parse_malformed(void **state)
{
	static const struct {
		const char *text;
		int status;
	} cases[] = {
		{ "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
		{ "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400 },
		{ "GET /\r\nHost: h\r\n\r\n", 400 },
		{ "GET x HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
		{ "GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
		{ "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
		{ "ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
		{ "GET / HTTQ/1.1\r\nHost: h\r\n\r\n", 400 },
		{ "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505 },
		{ "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505 },
		{ "GET / HTTP/1.1\nHost: h\r\n\r\n", 400 },         /* bare LF */
		{ "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400 }, /* bare CR */
		{ "GET / HTTP/1.1\r\nHost: h\r\n\n", 400 },
		{ "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\n\r\n", 400 }, /* no Host */
		{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\n: h\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: h\x01\r\n\r\n", 400 },
		{ "GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
		{ "GET /%4 HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
		{ "GET /a%00b HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
		{ "GET /?a=%00 HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
		  400 },
		{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1,1\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n",
		  400 },
		{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 411 },
		{ "POST / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n\r\n", 417 },
	};
	coffer_http_req req;
	uint64_t cl;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = parse(cases[i].text, &req, &cl);
		if (st != cases[i].status)
			fail_msg("case %zu (%s): %d, want %d", i, cases[i].text, st,
			         cases[i].status);
	}
	/* a NUL byte anywhere */
	{
		char buf[64], scratch[COFFER_HTTPD_MAX_HEAD];
		size_t head;
		static const char nul[] = "GET /\0 HTTP/1.1\r\nHost: h\r\n\r\n";
		memcpy(buf, nul, sizeof(nul) - 1);
		assert_int_equal(
		        coffer_http_parse_request(&req, &head, &cl, buf, sizeof(nul) - 1, scratch),
		        400);
	}
}

static void test_parse_bounds(void **state)
{
	static char text[COFFER_HTTPD_MAX_HEAD + 64];
	coffer_http_req req;
	uint64_t cl;
	size_t at;

	(void)state;
	/* 64 headers pass, 65 do not */
	at = (size_t)snprintf(text, sizeof(text), "GET / HTTP/1.1\r\nHost: h\r\n");
	for (int i = 1; i < COFFER_HTTPD_MAX_HEADERS; i++)
		at += (size_t)snprintf(text + at, sizeof(text) - at, "X-%d: v\r\n", i);
	snprintf(text + at, sizeof(text) - at, "\r\n");
	assert_int_equal(parse(text, &req, &cl), 0);
	assert_int_equal(req.nheaders, COFFER_HTTPD_MAX_HEADERS);
	snprintf(text + at, sizeof(text) - at, "X-last: v\r\n\r\n");
	assert_int_equal(parse(text, &req, &cl), 431);
	/* a head that does not end within the bound */
	memset(text, 'a', sizeof(text) - 1);
	memcpy(text, "GET /", 5);
	text[COFFER_HTTPD_MAX_HEAD] = '\0';
	assert_int_equal(parse(text, &req, &cl), 431);
	/* 33 query arguments */
	at = (size_t)snprintf(text, sizeof(text), "GET /?");
	for (int i = 0; i <= COFFER_HTTPD_MAX_ARGS; i++)
		at += (size_t)snprintf(text + at, sizeof(text) - at, "a%d=1&", i);
	snprintf(text + at, sizeof(text) - at, " HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(parse(text, &req, &cl), 400);
}

/* ---- the server over loopback sockets ---- */

static int freed_bodies;

static void free_counted(void *p, size_t len)
{
	coffer_wipe(p, len);
	free(p);
	__atomic_add_fetch(&freed_bodies, 1, __ATOMIC_SEQ_CST);
}

/* echoes "method path arg(q) body-length body" */
static int echo(coffer_http_reply *rep, const coffer_http_req *req, void *ctx)
{
	char *out = malloc(256 + req->body_len);
	const char *q = coffer_http_req_arg(req, "q");
	int n;

	(void)ctx;
	if (strcmp(req->path, "/fail") == 0) {
		free(out);
		return -1;
	}
	if (out == NULL)
		return -1;
	if (strcmp(req->path, "/slowhandler") == 0)
		usleep(200 * 1000);
	n = snprintf(out, 256, "%s %s %s %zu %d%d ", req->method, req->path, q ? q : "-",
	             req->body_len, req->body_too_big, req->peer_loopback);
	if (req->body_len)
		memcpy(out + n, req->body, req->body_len);
	rep->status = req->body_too_big ? 413 : 200;
	rep->content_type = "text/plain";
	rep->no_store = true;
	rep->body = out;
	rep->len = (size_t)n + req->body_len;
	rep->free_body = free_counted;
	return 0;
}

static coffer_http_server *start(unsigned max_conns, unsigned idle_ms, unsigned read_ms)
{
	struct sockaddr_in in;
	coffer_http_server_opts o;
	coffer_http_server *s = NULL;

	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(&o, 0, sizeof(o));
	o.addr = (struct sockaddr *)&in;
	o.addr_len = sizeof(in);
	o.max_conns = max_conns;
	o.max_body = 1024;
	o.idle_timeout_ms = idle_ms;
	o.read_timeout_ms = read_ms;
	o.handler = echo;
	assert_int_equal(coffer_http_server_start(&s, &o), 0);
	assert_true(coffer_http_server_port(s) > 0);
	return s;
}

static int dial(coffer_http_server *s)
{
	struct sockaddr_in in;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	in.sin_port = htons((uint16_t)coffer_http_server_port(s));
	assert_int_equal(connect(fd, (struct sockaddr *)&in, sizeof(in)), 0);
	return fd;
}

static void put(int fd, const void *p, size_t n)
{
	assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void put_str(int fd, const char *text)
{
	put(fd, text, strlen(text));
}

/* Read one response (head + Content-Length body) into out; returns its
 * length, 0 on end of stream before any byte, -1 on timeout. */
static ssize_t get(int fd, char *out, size_t cap, int timeout_ms)
{
	size_t len = 0;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		char *end;
		ssize_t got;

		out[len] = '\0';
		end = strstr(out, "\r\n\r\n");
		if (end) {
			const char *cl = strstr(out, "Content-Length: ");
			size_t want =
			        (size_t)(end + 4 - out) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
			if (len >= want)
				return (ssize_t)len;
		}
		if (poll(&p, 1, timeout_ms) <= 0)
			return -1;
		got = recv(fd, out + len, cap - 1 - len, 0);
		if (got <= 0)
			return (ssize_t)len;
		len += (size_t)got;
	}
}

/* the peer closed: recv returns 0 (or a reset) within timeout_ms */
static bool closed_within(int fd, int timeout_ms)
{
	char b[512];
	struct pollfd p = { fd, POLLIN, 0 };

	for (;;) {
		ssize_t got;
		if (poll(&p, 1, timeout_ms) <= 0)
			return false;
		got = recv(fd, b, sizeof(b), 0);
		if (got <= 0)
			return true;
	}
}

static void test_keepalive_pipelining(void **state)
{
	coffer_http_server *s = start(4, 2000, 2000);
	int fd = dial(s), before = freed_bodies;
	char out[4096];
	static const char two[] = "GET /a?q=1 HTTP/1.1\r\nHost: h\r\n\r\n"
	                          "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";

	(void)state;
	put_str(fd, "GET /x?q=a%20b HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_true(get(fd, out, sizeof(out), 2000) > 0);
	assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(out, "Cache-Control: no-store\r\n"));
	assert_null(strstr(out, "Connection: close"));
	assert_non_null(strstr(out, "\r\n\r\nGET /x a b 0 01 "));
	/* the same connection again, two pipelined requests at once */
	put(fd, two, sizeof(two) - 1);
	assert_true(get(fd, out, sizeof(out), 2000) > 0);
	assert_non_null(strstr(out, "GET /a 1 0 01 "));
	assert_true(get(fd, out, sizeof(out), 2000) > 0);
	assert_non_null(strstr(out, "POST /b - 5 01 hello"));
	/* Connection: close is honoured */
	put_str(fd, "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
	assert_true(get(fd, out, sizeof(out), 2000) > 0);
	assert_non_null(strstr(out, "Connection: close\r\n"));
	assert_true(closed_within(fd, 2000));
	close(fd);
	coffer_http_server_stop(s);
	assert_int_equal(freed_bodies - before, 4);
}

static void test_errors_over_socket(void **state)
{
	coffer_http_server *s = start(4, 2000, 2000);
	char out[4096], big[COFFER_HTTPD_MAX_HEAD + 16];
	int fd;

	(void)state;
	/* malformed request line */
	fd = dial(s);
	put_str(fd, "GET / HTTP/1.1 junk\r\nHost: h\r\n\r\n");
	assert_true(get(fd, out, sizeof(out), 2000) > 0);
	assert_non_null(strstr(out, "HTTP/1.1 400 "));
	assert_true(closed_within(fd, 2000));
	close(fd);
	/* oversized head */
	fd = dial(s);
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	put(fd, big, sizeof(big));
	assert_true(get(fd, out, sizeof(out), 2000) > 0);
	assert_non_null(strstr(out, "HTTP/1.1 431 "));
	close(fd);
	/* chunked body refused */
	fd = dial(s);
	put_str(fd, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
	assert_true(get(fd, out, sizeof(out), 2000) > 0);
	assert_non_null(strstr(out, "HTTP/1.1 411 "));
	close(fd);
	/* duplicate Content-Length */
	fd = dial(s);
	put_str(fd,
	        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-length: 2\r\n\r\nab");
	assert_true(get(fd, out, sizeof(out), 2000) > 0);
	assert_non_null(strstr(out, "HTTP/1.1 400 "));
	close(fd);
	/* a body over max_body: read, dropped, 413, connection closed */
	fd = dial(s);
	{
		static char body[100 * 1024];
		char head[128];
		int n = snprintf(head, sizeof(head),
		                 "POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: %zu\r\n\r\n",
		                 sizeof(body));
		memset(body, 'b', sizeof(body));
		put(fd, head, (size_t)n);
		put(fd, body, sizeof(body));
	}
	assert_true(get(fd, out, sizeof(out), 2000) > 0);
	assert_non_null(strstr(out, "HTTP/1.1 413 "));
	assert_non_null(strstr(out, "POST /big - 0 11 "));
	assert_true(closed_within(fd, 2000));
	close(fd);
	/* an error answer is not lost to a reset when request bytes stay unread */
	fd = dial(s);
	{
		static char junk[64 * 1024];
		memset(junk, 'j', sizeof(junk));
		put_str(fd, "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n");
		put(fd, junk, sizeof(junk));
	}
	assert_true(get(fd, out, sizeof(out), 2000) > 0);
	assert_non_null(strstr(out, "HTTP/1.1 400 "));
	assert_true(closed_within(fd, 2000));
	close(fd);
	/* a handler failure is a 500 */
	fd = dial(s);
	put_str(fd, "GET /fail HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_true(get(fd, out, sizeof(out), 2000) > 0);
	assert_non_null(strstr(out, "HTTP/1.1 500 "));
	close(fd);
	/* Expect: 100-continue gets the interim answer before the body */
	fd = dial(s);
	put_str(fd,
	        "POST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
	assert_true(get(fd, out, sizeof(out), 2000) > 0);
	assert_non_null(strstr(out, "HTTP/1.1 100 Continue\r\n\r\n"));
	put_str(fd, "xyz");
	assert_true(get(fd, out, sizeof(out), 2000) > 0);
	assert_non_null(strstr(out, "POST /e - 3 01 xyz"));
	close(fd);
	coffer_http_server_stop(s);
}

static long long ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void test_timeouts(void **state)
{
	coffer_http_server *s = start(4, 300, 400);
	char out[4096];
	long long t0;
	int fd;

	(void)state;
	/* slowloris: a head that trickles in is cut at the read deadline */
	fd = dial(s);
	t0 = ms();
	put_str(fd, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < 6; i++) {
		usleep(100 * 1000);
		if (send(fd, "X: y\r\n", 6, MSG_NOSIGNAL) < 0)
			break;
	}
	assert_true(get(fd, out, sizeof(out), 2000) > 0);
	assert_non_null(strstr(out, "HTTP/1.1 408 "));
	assert_true(closed_within(fd, 2000));
	assert_true(ms() - t0 < 1500);
	close(fd);
	/* a body that never arrives */
	fd = dial(s);
	put_str(fd, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc");
	assert_true(get(fd, out, sizeof(out), 2000) > 0);
	assert_non_null(strstr(out, "HTTP/1.1 408 "));
	close(fd);
	/* an idle keep-alive connection is closed after the idle timeout */
	fd = dial(s);
	put_str(fd, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_true(get(fd, out, sizeof(out), 2000) > 0);
	t0 = ms();
	assert_true(closed_within(fd, 2000));
	assert_true(ms() - t0 >= 250);
	close(fd);
	/* a connection that never sends a byte too */
	fd = dial(s);
	assert_true(closed_within(fd, 2000));
	close(fd);
	coffer_http_server_stop(s);
}

static void test_connection_cap(void **state)
{
	coffer_http_server *s = start(2, 3000, 3000);
	char out[4096];
	int a, b, c;

	(void)state;
	a = dial(s);
	b = dial(s);
	put_str(a, "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_true(get(a, out, sizeof(out), 2000) > 0);
	put_str(b, "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_true(get(b, out, sizeof(out), 2000) > 0);
	/* two open connections: the third is closed at once */
	c = dial(s);
	assert_true(closed_within(c, 1000));
	close(c);
	/* once one closes, a new one is served */
	close(a);
	usleep(200 * 1000);
	c = dial(s);
	put_str(c, "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_true(get(c, out, sizeof(out), 2000) > 0);
	assert_non_null(strstr(out, "GET /3 - 0 01"));
	close(b);
	close(c);
	coffer_http_server_stop(s);
}

static void test_stop_with_open_connections(void **state)
{
	coffer_http_server *s = start(4, 30000, 30000);
	int a = dial(s), b = dial(s);
	char out[512];
	long long t0;

	(void)state;
	put_str(a, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_true(get(a, out, sizeof(out), 2000) > 0);
	put_str(b, "GET / HTTP/1.1\r\n");
	usleep(50 * 1000);
	t0 = ms();
	coffer_http_server_stop(s);
	assert_true(ms() - t0 < 2000);
	assert_true(closed_within(a, 1000));
	close(a);
	close(b);
}

static void test_start_errors(void **state)
{
	coffer_http_server_opts o;
	coffer_http_server *s = NULL, *t = NULL;
	struct sockaddr_in in;

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(coffer_http_server_start(&s, &o), COFFER_EINVAL);
	/* the port is taken */
	s = start(1, 1000, 1000);
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	in.sin_port = htons((uint16_t)coffer_http_server_port(s));
	o.addr = (struct sockaddr *)&in;
	o.addr_len = sizeof(in);
	o.handler = echo;
	assert_int_equal(coffer_http_server_start(&t, &o), COFFER_EIO);
	assert_null(t);
	coffer_http_server_stop(s);
	coffer_http_server_stop(NULL);
}

static void test_loopback(void **state)
{
	struct sockaddr_in in;
	struct sockaddr_in6 in6;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	inet_pton(AF_INET, "127.1.2.3", &in.sin_addr);
	assert_true(coffer_http_addr_is_loopback((struct sockaddr *)&in));
	inet_pton(AF_INET, "10.0.0.1", &in.sin_addr);
	assert_false(coffer_http_addr_is_loopback((struct sockaddr *)&in));
	memset(&in6, 0, sizeof(in6));
	in6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::1", &in6.sin6_addr);
	assert_true(coffer_http_addr_is_loopback((struct sockaddr *)&in6));
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6.sin6_addr);
	assert_true(coffer_http_addr_is_loopback((struct sockaddr *)&in6));
	inet_pton(AF_INET6, "::ffff:10.0.0.1", &in6.sin6_addr);
	assert_false(coffer_http_addr_is_loopback((struct sockaddr *)&in6));
	inet_pton(AF_INET6, "fe80::1", &in6.sin6_addr);
	assert_false(coffer_http_addr_is_loopback((struct sockaddr *)&in6));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_bounds),
		cmocka_unit_test(test_keepalive_pipelining),
		cmocka_unit_test(test_errors_over_socket),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_connection_cap),
		cmocka_unit_test(test_stop_with_open_connections),
		cmocka_unit_test(test_start_errors),
		cmocka_unit_test(test_loopback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
