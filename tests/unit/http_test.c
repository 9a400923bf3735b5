#define _GNU_SOURCE
/*
 * The HTTP client (src/lib/http) against a loopback server run in a thread
 * of this test: plain and TLS (a throwaway CA made with the openssl
 * command), keep-alive, reconnect, chunked, bounds, truncation, timeouts,
 * wrong CA and wrong host name.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "coffer/http.h"
#include "http/http_internal.h"
#include "test_util.h"

/* ---- the loopback server ---- */

static struct {
	int lfd;
	int port;
	pthread_t thread;
	volatile int stop;
	SSL_CTX *tls; /* NULL: plain */
	int accepted; /* connections accepted */
	int slow;     /* /slow requests received */
	char last_header[256];
} srv;

static char dir[] = "/tmp/http_test.XXXXXX";

struct conn {
	int fd;
	SSL *ssl;
};

/* 1 readable, 0 stop requested */
static int srv_wait(int fd)
{
	while (!srv.stop) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 50) > 0)
			return 1;
	}
	return 0;
}

static ssize_t c_read(struct conn *c, char *b, size_t n)
{
	if (c->ssl && SSL_pending(c->ssl) == 0 && !srv_wait(c->fd))
		return -1;
	if (!c->ssl && !srv_wait(c->fd))
		return -1;
	if (c->ssl) {
		size_t got = 0;
		if (SSL_read_ex(c->ssl, b, n, &got) != 1)
			return 0;
		return (ssize_t)got;
	}
	return read(c->fd, b, n);
}

static void c_write(struct conn *c, const void *p, size_t n)
{
	if (c->ssl) {
		size_t w;
		(void)SSL_write_ex(c->ssl, p, n, &w);
		return;
	}
	while (n > 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
}

static void c_puts(struct conn *c, const char *s)
{
	c_write(c, s, strlen(s));
}

static void sleep_ms(int ms)
{
	for (int i = 0; i < ms / 10 && !srv.stop; i++)
		usleep(10000);
}

/* Answer one request; returns false when the connection is to be closed. */
static bool answer(struct conn *c, const char *path, const char *body, size_t blen, int nreq)
{
	char hdr[256];

	if (strcmp(path, "/drop-second") == 0 && nreq > 1)
		return false; /* as a server that timed out the idle connection */
	if (strcmp(path, "/ok") == 0 || strcmp(path, "/drop-second") == 0) {
		c_puts(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: "
		          "text/plain\r\n\r\nhello");
	} else if (strcmp(path, "/echo") == 0) {
		c_puts(c, "HTTP/1.1 100 Continue\r\n\r\n");
		snprintf(hdr, sizeof(hdr), "HTTP/1.1 201 Created\r\nContent-Length: %zu\r\n\r\n",
		         blen);
		c_puts(c, hdr);
		c_write(c, body, blen);
	} else if (strcmp(path, "/chunked") == 0) {
		c_puts(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n"
		          "6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n");
	} else if (strcmp(path, "/close-after") == 0) {
		/* no Connection: close, the server just goes away */
		c_puts(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
		return false;
	} else if (strcmp(path, "/conn-close") == 0) {
		c_puts(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
		return false;
	} else if (strcmp(path, "/bighead") == 0) {
		char *big = malloc(20001);
		memset(big, 'a', 20000);
		big[20000] = '\0';
		c_puts(c, "HTTP/1.1 200 OK\r\nX-Big: ");
		c_puts(c, big);
		c_puts(c, "\r\nContent-Length: 0\r\n\r\n");
		free(big);
		return false;
	} else if (strcmp(path, "/manyheaders") == 0) {
		c_puts(c, "HTTP/1.1 200 OK\r\n");
		for (int i = 0; i < 70; i++) {
			snprintf(hdr, sizeof(hdr), "X-H%d: %d\r\n", i, i);
			c_puts(c, hdr);
		}
		c_puts(c, "Content-Length: 0\r\n\r\n");
		return false;
	} else if (strcmp(path, "/bigbody") == 0) {
		c_puts(c, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n");
		return false;
	} else if (strcmp(path, "/bigchunks") == 0) {
		c_puts(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
		for (int i = 0; i < 20; i++) {
			char chunk[300];
			memset(chunk, 'z', sizeof(chunk));
			c_puts(c, "12c\r\n");
			c_write(c, chunk, sizeof(chunk));
			c_puts(c, "\r\n");
		}
		c_puts(c, "0\r\n\r\n");
		return false;
	} else if (strcmp(path, "/trunc") == 0) {
		c_puts(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello");
		return false;
	} else if (strcmp(path, "/trunc-chunked") == 0) {
		c_puts(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
		return false;
	} else if (strcmp(path, "/both") == 0) {
		c_puts(c,
		       "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
		       "0\r\n\r\n");
		return false;
	} else if (strcmp(path, "/slow") == 0) {
		__atomic_add_fetch(&srv.slow, 1, __ATOMIC_SEQ_CST);
		sleep_ms(1500);
		c_puts(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	} else if (strcmp(path, "/drip") == 0) {
		c_puts(c, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n");
		for (int i = 0; i < 20 && !srv.stop; i++) {
			c_puts(c, "x");
			sleep_ms(100);
		}
	} else if (strcmp(path, "/garbage") == 0) {
		c_puts(c, "SSH-2.0-OpenSSH\r\n\r\n");
		return false;
	} else {
		c_puts(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	}
	return true;
}

static void serve_conn(struct conn *c)
{
	static char req[70000];
	size_t have = 0;
	int nreq = 0;

	for (;;) {
		char *end, path[256], *sp, *cl;
		size_t hlen, blen = 0;
		ssize_t n;

		while ((end = memmem(req, have, "\r\n\r\n", 4)) == NULL) {
			if (have == sizeof(req) - 1)
				return;
			n = c_read(c, req + have, sizeof(req) - 1 - have);
			if (n <= 0)
				return;
			have += (size_t)n;
		}
		hlen = (size_t)(end - req) + 4;
		req[have] = '\0';
		sp = strchr(req, ' ');
		if (sp == NULL)
			return;
		snprintf(path, sizeof(path), "%.*s", (int)strcspn(sp + 1, " "), sp + 1);
		{
			char *x = strcasestr(req, "\r\nX-Test: ");
			if (x != NULL && x < end)
				snprintf(srv.last_header, sizeof(srv.last_header), "%.*s",
				         (int)strcspn(x + 10, "\r"), x + 10);
		}
		cl = strcasestr(req, "\r\nContent-Length: ");
		if (cl != NULL && cl < end)
			blen = strtoul(cl + 18, NULL, 10);
		if (blen > sizeof(req) - 1 - hlen)
			return;
		while (have < hlen + blen) {
			n = c_read(c, req + have, sizeof(req) - 1 - have);
			if (n <= 0)
				return;
			have += (size_t)n;
		}
		if (!answer(c, path, req + hlen, blen, ++nreq))
			return;
		memmove(req, req + hlen + blen, have - hlen - blen);
		have -= hlen + blen;
	}
}

static void *server(void *arg)
{
	(void)arg;
	while (srv_wait(srv.lfd)) {
		struct conn c = { accept(srv.lfd, NULL, NULL), NULL };
		if (c.fd < 0)
			continue;
		__atomic_add_fetch(&srv.accepted, 1, __ATOMIC_SEQ_CST);
		if (srv.tls) {
			c.ssl = SSL_new(srv.tls);
			SSL_set_fd(c.ssl, c.fd);
			if (SSL_accept(c.ssl) == 1)
				serve_conn(&c);
			SSL_shutdown(c.ssl);
			SSL_free(c.ssl);
		} else {
			serve_conn(&c);
		}
		close(c.fd);
	}
	return NULL;
}

/* On 127.0.0.1, or on ::1 when `v6` (false when IPv6 is not available). */
static bool server_listen(SSL_CTX *tls, bool v6)
{
	struct sockaddr_in a;
	struct sockaddr_in6 a6;
	socklen_t al = sizeof(a), al6 = sizeof(a6);
	int one = 1;

	memset(&srv, 0, sizeof(srv));
	srv.tls = tls;
	srv.lfd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	if (v6 && srv.lfd < 0)
		return false;
	assert_true(srv.lfd >= 0);
	setsockopt(srv.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6) {
		memset(&a6, 0, sizeof(a6));
		a6.sin6_family = AF_INET6;
		a6.sin6_addr = in6addr_loopback;
		if (bind(srv.lfd, (struct sockaddr *)&a6, sizeof(a6)) != 0) {
			close(srv.lfd);
			return false;
		}
		getsockname(srv.lfd, (struct sockaddr *)&a6, &al6);
		srv.port = ntohs(a6.sin6_port);
	} else {
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(srv.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
		getsockname(srv.lfd, (struct sockaddr *)&a, &al);
		srv.port = ntohs(a.sin_port);
	}
	assert_int_equal(listen(srv.lfd, 8), 0);
	assert_int_equal(pthread_create(&srv.thread, NULL, server, NULL), 0);
	return true;
}

static void server_start(SSL_CTX *tls)
{
	assert_true(server_listen(tls, false));
}

static void server_stop(void)
{
	srv.stop = 1;
	pthread_join(srv.thread, NULL);
	close(srv.lfd);
}

static char *url(const char *host, const char *path)
{
	static char u[256];
	snprintf(u, sizeof(u), "%s://%s:%d%s", srv.tls ? "https" : "http", host, srv.port, path);
	return u;
}

static int get(coffer_http_response *r, coffer_http *h, const char *path, size_t max)
{
	coffer_http_request req = { .method = "GET",
		                    .url = url("127.0.0.1", path),
		                    .max_body = max };
	return coffer_http_perform(r, h, &req);
}

static coffer_http *client(long io_ms, long total_ms, const char *ca)
{
	coffer_http_opts o = { .cacert = ca, .io_timeout_ms = io_ms, .total_timeout_ms = total_ms };
	coffer_http *h = NULL;

	assert_int_equal(coffer_http_new(&h, &o), 0);
	return h;
}

/* ---- plain HTTP ---- */

static void test_keepalive(void **state)
{
	coffer_http *h = client(0, 0, NULL);
	coffer_http_response r;

	(void)state;
	server_start(NULL);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(get(&r, h, "/ok", 0), 0);
		assert_int_equal(r.status, 200);
		assert_int_equal(r.body.len, 5);
		assert_memory_equal(r.body.ptr, "hello", 5);
		assert_string_equal(coffer_http_response_header(&r, "content-type"), "text/plain");
		coffer_http_response_free(&r);
	}
	assert_int_equal(coffer_http_connections(h), 1);
	assert_int_equal(srv.accepted, 1);
	/* a 404 is an answer, not a failure */
	assert_int_equal(get(&r, h, "/nothing", 0), 0);
	assert_int_equal(r.status, 404);
	coffer_http_response_free(&r);
	assert_int_equal(coffer_http_connections(h), 1);
	/* the one-shot GET (the test server serves one connection at a time) */
	coffer_http_close(h);
	{
		uint8_t *out = NULL;
		size_t len = 0;
		int status = 0;
		if (coffer_http_get(&out, &len, &status, url("127.0.0.1", "/ok"), NULL, 0, 0) != 0)
			fail_msg("%s", coffer_error_last());
		assert_int_equal(status, 200);
		assert_int_equal(len, 5);
		assert_string_equal((char *)out, "hello");
		free(out);
		assert_int_equal(coffer_http_get(&out, &len, &status, url("127.0.0.1", "/nothing"),
		                                 NULL, 0, 0),
		                 0);
		assert_int_equal(status, 404);
		assert_int_equal(len, 0);
		assert_string_equal((char *)out, "");
		free(out);
		assert_int_equal(coffer_http_get(&out, &len, &status, url("127.0.0.1", "/bigbody"),
		                                 NULL, 100, 0),
		                 COFFER_ELIMIT);
		assert_null(out);
		assert_int_equal(coffer_http_get(&out, &len, &status, "gopher://x/", NULL, 0, 0),
		                 COFFER_EINVAL);
	}
	assert_int_equal(srv.accepted, 4); /* one per GET */
	coffer_http_free(h);
	server_stop();
}

static void test_reconnect(void **state)
{
	coffer_http *h = client(0, 0, NULL);
	coffer_http_response r;

	(void)state;
	server_start(NULL);
	assert_int_equal(get(&r, h, "/close-after", 0), 0);
	coffer_http_response_free(&r);
	usleep(100000); /* the server has closed its side by now */
	assert_int_equal(get(&r, h, "/ok", 0), 0);
	assert_int_equal(r.status, 200);
	coffer_http_response_free(&r);
	assert_int_equal(coffer_http_connections(h), 2);
	/* Connection: close is obeyed */
	assert_int_equal(get(&r, h, "/conn-close", 0), 0);
	coffer_http_response_free(&r);
	assert_int_equal(get(&r, h, "/ok", 0), 0);
	coffer_http_response_free(&r);
	/* close-after, ok, conn-close (on the ok's connection), ok */
	assert_int_equal(coffer_http_connections(h), 3);
	assert_int_equal(srv.accepted, 3);
	coffer_http_free(h);
	server_stop();
}

/* The server drops a kept connection just as the next request arrives:
 * nothing was answered, so the request goes again on a new connection. */
static void test_resend_on_dropped(void **state)
{
	coffer_http *h = client(200, 0, NULL);
	coffer_http_response r;

	(void)state;
	server_start(NULL);
	assert_int_equal(get(&r, h, "/ok", 0), 0);
	coffer_http_response_free(&r);
	assert_int_equal(get(&r, h, "/drop-second", 0), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal((char *)r.body.ptr, "hello");
	coffer_http_response_free(&r);
	assert_int_equal(coffer_http_connections(h), 2);
	/* but never after a timeout: the server may be working on it */
	assert_int_equal(get(&r, h, "/ok", 0), 0);
	coffer_http_response_free(&r);
	assert_int_equal(get(&r, h, "/slow", 0), COFFER_ENET);
	assert_int_equal(coffer_http_last_failure(h), COFFER_HTTP_FAIL_IO);
	coffer_http_free(h);
	server_stop();
	assert_int_equal(srv.slow, 1);
}

static void test_ipv6(void **state)
{
	coffer_http *h = client(0, 0, NULL);
	coffer_http_request req = { .method = "GET" };
	coffer_http_response r;
	char u[128];

	(void)state;
	if (!server_listen(NULL, true)) {
		coffer_http_free(h);
		skip(); /* no IPv6 loopback on this machine */
	}
	snprintf(u, sizeof(u), "http://[::1]:%d/ok", srv.port);
	req.url = u;
	assert_int_equal(coffer_http_perform(&r, h, &req), 0);
	assert_string_equal((char *)r.body.ptr, "hello");
	coffer_http_response_free(&r);
	coffer_http_free(h);
	server_stop();
}

static void test_chunked_and_post(void **state)
{
	static const char *const hdrs[] = { "X-Test: forty-two", "Accept: text/plain", NULL };
	coffer_http *h = client(0, 0, NULL);
	coffer_http_request req = { 0 };
	coffer_http_response r;

	(void)state;
	server_start(NULL);
	assert_int_equal(get(&r, h, "/chunked", 0), 0);
	assert_int_equal(r.body.len, 11);
	assert_string_equal((char *)r.body.ptr, "hello world");
	coffer_http_response_free(&r);
	req.method = "POST";
	req.url = url("127.0.0.1", "/echo");
	req.headers = hdrs;
	req.body = "{\"a\":1}";
	req.body_len = 7;
	assert_int_equal(coffer_http_perform(&r, h, &req), 0);
	assert_int_equal(r.status, 201); /* after the 100 Continue */
	assert_string_equal((char *)r.body.ptr, "{\"a\":1}");
	assert_string_equal(srv.last_header, "forty-two");
	coffer_http_response_free(&r);
	/* an empty POST carries Content-Length: 0 */
	req.body = NULL;
	req.body_len = 0;
	assert_int_equal(coffer_http_perform(&r, h, &req), 0);
	assert_int_equal(r.status, 201);
	assert_int_equal(r.body.len, 0);
	coffer_http_response_free(&r);
	assert_int_equal(coffer_http_connections(h), 1);
	coffer_http_free(h);
	server_stop();
}

static void expect_fail(coffer_http *h, const char *path, size_t max, int code, const char *msg)
{
	coffer_http_response r;
	int rc = get(&r, h, path, max);

	if (rc != code || strstr(coffer_error_last(), msg) == NULL)
		fail_msg("%s: rc %d (want %d), message '%s' (want '%s')", path, rc, code,
		         coffer_error_last(), msg);
	assert_int_equal(r.status, 0);
	assert_null(r.body.ptr);
}

static void test_bounds(void **state)
{
	coffer_http *h = client(0, 0, NULL);
	coffer_http_response r;

	(void)state;
	server_start(NULL);
	expect_fail(h, "/bighead", 0, COFFER_ELIMIT, "HTTP: response header too large");
	assert_int_equal(coffer_http_last_failure(h), COFFER_HTTP_FAIL_PROTO);
	expect_fail(h, "/manyheaders", 0, COFFER_ELIMIT, "more than 64 response headers");
	expect_fail(h, "/bigbody", 1000, COFFER_ELIMIT, "response body larger than 1000 bytes");
	expect_fail(h, "/bigchunks", 1000, COFFER_ELIMIT, "response body larger than 1000 bytes");
	expect_fail(h, "/trunc", 0, COFFER_ENET, "closed before the end of the response");
	assert_int_equal(coffer_http_last_failure(h), COFFER_HTTP_FAIL_IO);
	expect_fail(h, "/trunc-chunked", 0, COFFER_ENET, "closed before the end");
	expect_fail(h, "/both", 0, COFFER_ENET, "both Content-Length and Transfer-Encoding");
	expect_fail(h, "/garbage", 0, COFFER_ENET, "malformed status line");
	/* the chunked body within its bound */
	assert_int_equal(get(&r, h, "/bigchunks", 6000), 0);
	assert_int_equal(r.body.len, 6000);
	coffer_http_response_free(&r);
	coffer_http_free(h);
	server_stop();
}

static void test_timeouts(void **state)
{
	coffer_http *h = client(200, 0, NULL);
	coffer_http_response r;

	(void)state;
	server_start(NULL);
	expect_fail(h, "/slow", 0, COFFER_ENET, "timed out after 200 ms");
	coffer_http_free(h);
	/* each byte comes in time, the whole answer does not */
	h = client(1000, 500, NULL);
	expect_fail(h, "/drip", 0, COFFER_ENET, "total deadline");
	/* the handle works afterwards (the server may still be dripping) */
	coffer_http_free(h);
	h = client(0, 0, NULL);
	assert_int_equal(get(&r, h, "/ok", 0), 0);
	coffer_http_response_free(&r);
	coffer_http_free(h);
	server_stop();
}

static void test_connect_errors(void **state)
{
	coffer_http *h = client(0, 0, NULL);
	coffer_http_request req = { .method = "GET" };
	coffer_http_response r;
	char u[128], want[128];
	int port;

	(void)state;
	/* a port nobody listens on: bind one, close it */
	server_start(NULL);
	port = srv.port;
	server_stop();
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/ok", port);
	snprintf(want, sizeof(want), "connect to 127.0.0.1:%d: Connection refused", port);
	req.url = u;
	assert_int_equal(coffer_http_perform(&r, h, &req), COFFER_ENET);
	assert_string_equal(coffer_error_last(), want);
	assert_int_equal(coffer_http_last_failure(h), COFFER_HTTP_FAIL_CONNECT);
	/* IPv6 literal */
	req.url = "http://[::1]:1/";
	assert_int_equal(coffer_http_perform(&r, h, &req), COFFER_ENET);
	assert_non_null(strstr(coffer_error_last(), "connect to [::1]:1: "));
	/* bad URLs and requests: nothing sent */
	{
		static const char *bad[] = { "ftp://h/",    "http://",           "http:///x",
			                     "http://h:0/", "http://h:65536/",   "http://h:1x/",
			                     "http://u@h/", "http://[::1/",      "http://[zz]/",
			                     "http://h /",  "http://h\r\nX: y/", "https://h:/" };
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			req.url = bad[i];
			if (coffer_http_perform(&r, h, &req) != COFFER_EINVAL)
				fail_msg("URL '%s' accepted (%s)", bad[i], coffer_error_last());
			assert_int_equal(coffer_http_last_failure(h), COFFER_HTTP_FAIL_REQUEST);
		}
	}
	{
		static const char *const inj[] = { "X-A: b\r\nX-Evil: 1", NULL };
		static const char *const noname[] = { ": v", NULL };
		req.url = "http://127.0.0.1:1/";
		req.headers = inj;
		assert_int_equal(coffer_http_perform(&r, h, &req), COFFER_EINVAL);
		req.headers = noname;
		assert_int_equal(coffer_http_perform(&r, h, &req), COFFER_EINVAL);
		req.headers = NULL;
		req.method = "G T";
		assert_int_equal(coffer_http_perform(&r, h, &req), COFFER_EINVAL);
	}
	coffer_http_free(h);
}

/* ---- TLS ---- */

static char *path_in(const char *name)
{
	static char p[4][256];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void make_pki(void)
{
	char cmd[4096];
	FILE *f;

	if (mkdtemp(dir) == NULL)
		fail_msg("mkdtemp");
	f = fopen(path_in("dns.ext"), "w");
	fputs("subjectAltName=DNS:localhost\n", f);
	fclose(f);
	f = fopen(path_in("ip.ext"), "w");
	fputs("subjectAltName=IP:127.0.0.1\n", f);
	fclose(f);
	snprintf(
	        cmd, sizeof(cmd),
	        "cd %s && for ca in ca other; do openssl req -x509 -newkey ec -pkeyopt "
	        "ec_paramgen_curve:P-256 -nodes -keyout $ca.key -out $ca.pem -subj /CN=$ca -days 2 "
	        "|| exit 1; done && for s in dns ip; do openssl req -newkey ec -pkeyopt "
	        "ec_paramgen_curve:P-256 -nodes -keyout $s.key -out $s.csr -subj /CN=server && "
	        "openssl x509 -req -in $s.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
	        "-extfile $s.ext -out $s.pem || exit 1; done",
	        dir);
	if (system(cmd) != 0)
		test_skip_all("the openssl command could not make a test PKI");
}

static SSL_CTX *server_ctx(const char *which)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char name[32];

	snprintf(name, sizeof(name), "%s.pem", which);
	assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, path_in(name)), 1);
	snprintf(name, sizeof(name), "%s.key", which);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, path_in(name), SSL_FILETYPE_PEM), 1);
	return ctx;
}

static void test_tls(void **state)
{
	SSL_CTX *dns = server_ctx("dns"), *ip = server_ctx("ip");
	coffer_http *h = client(0, 0, path_in("ca.pem"));
	coffer_http_request req = { .method = "GET" };
	coffer_http_response r;

	(void)state;
	/* host name checked against DNS:localhost, with SNI; keep-alive over TLS */
	server_start(dns);
	req.url = url("localhost", "/ok");
	for (int i = 0; i < 2; i++) {
		assert_int_equal(coffer_http_perform(&r, h, &req), 0);
		assert_string_equal((char *)r.body.ptr, "hello");
		coffer_http_response_free(&r);
	}
	assert_int_equal(coffer_http_connections(h), 1);
	req.url = url("localhost", "/chunked");
	assert_int_equal(coffer_http_perform(&r, h, &req), 0);
	assert_string_equal((char *)r.body.ptr, "hello world");
	coffer_http_response_free(&r);
	/* reconnect over TLS */
	req.url = url("localhost", "/close-after");
	assert_int_equal(coffer_http_perform(&r, h, &req), 0);
	coffer_http_response_free(&r);
	usleep(100000);
	req.url = url("localhost", "/ok");
	assert_int_equal(coffer_http_perform(&r, h, &req), 0);
	coffer_http_response_free(&r);
	assert_int_equal(coffer_http_connections(h), 2);
	/* wrong host name: the certificate names localhost, not 127.0.0.1 */
	req.url = url("127.0.0.1", "/ok");
	assert_int_equal(coffer_http_perform(&r, h, &req), COFFER_ENET);
	assert_non_null(strstr(coffer_error_last(),
	                       "TLS: certificate verify failed (IP address mismatch)"));
	assert_int_equal(coffer_http_last_failure(h), COFFER_HTTP_FAIL_TLS);
	coffer_http_free(h);
	/* wrong CA */
	h = client(0, 0, path_in("other.pem"));
	req.url = url("localhost", "/ok");
	assert_int_equal(coffer_http_perform(&r, h, &req), COFFER_ENET);
	assert_non_null(strstr(coffer_error_last(), "TLS: certificate verify failed ("));
	assert_int_equal(coffer_http_last_failure(h), COFFER_HTTP_FAIL_TLS);
	coffer_http_free(h);
	/* a missing CA file */
	h = client(0, 0, path_in("absent.pem"));
	assert_int_equal(coffer_http_perform(&r, h, &req), COFFER_EINVAL);
	assert_non_null(strstr(coffer_error_last(), "cannot load CA file"));
	coffer_http_free(h);
	/* the system store does not know our CA */
	h = client(0, 0, NULL);
	assert_int_equal(coffer_http_perform(&r, h, &req), COFFER_ENET);
	assert_non_null(strstr(coffer_error_last(), "certificate verify failed"));
	coffer_http_free(h);
	/* plain HTTP to a TLS server: no valid status line comes back */
	h = client(500, 2000, NULL);
	{
		char u[128];
		snprintf(u, sizeof(u), "http://127.0.0.1:%d/ok", srv.port);
		req.url = u;
		assert_true(coffer_http_perform(&r, h, &req) < 0);
	}
	coffer_http_free(h);
	server_stop();

	/* an IP address checked against IP:127.0.0.1 */
	server_start(ip);
	h = client(0, 0, path_in("ca.pem"));
	req.url = url("127.0.0.1", "/ok");
	assert_int_equal(coffer_http_perform(&r, h, &req), 0);
	assert_int_equal(r.status, 200);
	coffer_http_response_free(&r);
	req.url = url("localhost", "/ok");
	assert_int_equal(coffer_http_perform(&r, h, &req), COFFER_ENET);
	assert_non_null(
	        strstr(coffer_error_last(), "TLS: certificate verify failed (hostname mismatch)"));
	coffer_http_free(h);
	server_stop();
	SSL_CTX_free(dns);
	SSL_CTX_free(ip);
}

/* ---- the parser over memory (the fuzz entry point) ---- */

static void test_parse_memory(void **state)
{
	static const struct {
		const char *in;
		int rc;
	} cases[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0 },
		{ "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 0 },
		{ "HTTP/1.0 200 OK\r\n\r\nto the end", 0 },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", 0 },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!",
		  COFFER_ENET },
		{ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", COFFER_ENET },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1,1\r\n\r\nx", COFFER_ENET },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
		  COFFER_ENET },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
		  "chunked\r\n\r\n",
		  COFFER_ENET },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", COFFER_ENET },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
		  COFFER_ENET },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
		  COFFER_ELIMIT },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", COFFER_ENET },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n0\r\n\r\n",
		  COFFER_ENET },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n",
		  COFFER_ENET },
		{ "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", COFFER_ENET },
		{ "HTTP/1.1 200 OK\r\nX a\r\n\r\n", COFFER_ENET },
		{ "HTTP/1.1 200 OK\r\nX\x01: a\r\n\r\n", COFFER_ENET },
		{ "HTTP/1.1 200 OK\r\nX: a\x01\r\n\r\n", COFFER_ENET },
		{ "HTTP/1.1 101 Switching\r\n\r\n", COFFER_ENET },
		{ "HTTP/2 200 OK\r\n\r\n", COFFER_ENET },
		{ "HTTP/1.1 20 OK\r\n\r\n", COFFER_ENET },
		{ "HTTP/1.1 600 OK\r\n\r\n", COFFER_ENET },
		{ "HTTP/1.1 200OK\r\n\r\n", COFFER_ENET },
		{ "", COFFER_ENET },
	};
	coffer_http_response r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = coffer_http_parse_response(&r, (const uint8_t *)cases[i].in,
		                                    strlen(cases[i].in), false, 1000);
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d want %d (%s)", i, rc, cases[i].rc,
			         coffer_error_last());
		if (rc == 0) {
			assert_int_equal(r.status, 200);
			coffer_http_response_free(&r);
		}
	}
	/* 1xx answers skipped, a bounded number of them */
	{
		char many[2048];
		size_t n = 0;
		for (int i = 0; i < 10; i++)
			n += (size_t)snprintf(many + n, sizeof(many) - n,
			                      "HTTP/1.1 100 Continue\r\n\r\n");
		snprintf(many + n, sizeof(many) - n, "HTTP/1.1 204 No Content\r\n\r\n");
		assert_int_equal(coffer_http_parse_response(&r, (const uint8_t *)many, strlen(many),
		                                            false, 0),
		                 COFFER_ELIMIT);
	}
	/* HEAD: a Content-Length but no body */
	{
		const char *in = "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n";
		assert_int_equal(
		        coffer_http_parse_response(&r, (const uint8_t *)in, strlen(in), true, 0),
		        0);
		assert_int_equal(r.body.len, 0);
		coffer_http_response_free(&r);
	}
	/* exactly 64 headers pass, 65 do not */
	{
		static char in[8192];
		size_t n = (size_t)snprintf(in, sizeof(in), "HTTP/1.1 200 OK\r\n");
		for (int i = 0; i < 64; i++)
			n += (size_t)snprintf(in + n, sizeof(in) - n, "H%d: v\r\n", i);
		snprintf(in + n, sizeof(in) - n, "\r\n");
		assert_int_equal(
		        coffer_http_parse_response(&r, (uint8_t *)in, strlen(in), false, 0), 0);
		assert_int_equal(r.nheaders, 64);
		assert_string_equal(coffer_http_response_header(&r, "h63"), "v");
		coffer_http_response_free(&r);
		snprintf(in + n, sizeof(in) - n, "H64: v\r\n\r\n");
		assert_int_equal(
		        coffer_http_parse_response(&r, (uint8_t *)in, strlen(in), false, 0),
		        COFFER_ELIMIT);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_memory),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_chunked_and_post),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_connect_errors),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_resend_on_dropped),
		cmocka_unit_test(test_ipv6),
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	make_pki();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	{
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return rc;
}
