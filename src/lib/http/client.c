/*
 * The HTTP/1.1 client: URL parsing, TCP connect with a timeout, TLS on
 * OpenSSL, request writing and keep-alive (docs/http.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "http/http_internal.h"

#define DEFAULT_CONNECT_MS 10000
#define DEFAULT_IO_MS      30000
#define DEFAULT_TOTAL_MS   60000
#define URL_MAX            8192
#define HOST_MAX           255

struct url {
	bool tls;
	bool ip6;
	char host[HOST_MAX + 1];
	char port[6];
	const char *path; /* into the caller's URL; "" means "/" */
};

struct coffer_http {
	coffer_http_opts o;
	char *cacert;
	char *agent;
	SSL_CTX *ctx;
	/* the kept-alive connection */
	int fd;
	SSL *ssl;
	bool tls;
	char host[HOST_MAX + 1];
	char port[6];
	int64_t deadline;
	enum coffer_http_failure fail;
	bool timed_out; /* this exchange: a wait timed out */
	bool broken;    /* this exchange: EOF, reset or a socket/TLS error */
	unsigned connections;
	http_reader *rd;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- URLs ---- */

static int parse_url(struct url *u, const char *s)
{
	const char *a, *end, *hs, *he, *colon = NULL;
	size_t hl;

	memset(u, 0, sizeof(*u));
	if (strlen(s) > URL_MAX)
		return coffer_error_set(COFFER_EINVAL, "URL too long");
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p == 0x7f)
			return coffer_error_set(COFFER_EINVAL,
			                        "URL contains a space or control byte");
	if (strncasecmp(s, "https://", 8) == 0) {
		u->tls = true;
		a = s + 8;
	} else if (strncasecmp(s, "http://", 7) == 0) {
		a = s + 7;
	} else {
		return coffer_error_set(COFFER_EINVAL, "URL '%.200s': only http:// and https://",
		                        s);
	}
	end = a + strcspn(a, "/?#");
	u->path = end;
	if (*end == '#')
		u->path = "";
	if (memchr(a, '@', (size_t)(end - a)) != NULL)
		return coffer_error_set(COFFER_EINVAL, "URL '%.200s': user info not supported", s);
	if (*a == '[') {
		he = memchr(a, ']', (size_t)(end - a));
		if (he == NULL)
			return coffer_error_set(COFFER_EINVAL, "URL '%.200s': bad IPv6 literal", s);
		hs = a + 1;
		u->ip6 = true;
		if (he + 1 < end) {
			if (he[1] != ':')
				return coffer_error_set(COFFER_EINVAL,
				                        "URL '%.200s': bad authority", s);
			colon = he + 1;
		}
	} else {
		hs = a;
		colon = memchr(a, ':', (size_t)(end - a));
		he = colon ? colon : end;
	}
	hl = (size_t)(he - hs);
	if (hl == 0 || hl > HOST_MAX)
		return coffer_error_set(COFFER_EINVAL, "URL '%.200s': bad host", s);
	memcpy(u->host, hs, hl);
	u->host[hl] = '\0';
	if (u->ip6) {
		struct in6_addr a6;
		if (inet_pton(AF_INET6, u->host, &a6) != 1)
			return coffer_error_set(COFFER_EINVAL, "URL '%.200s': bad IPv6 literal", s);
	} else {
		for (size_t i = 0; i < hl; i++) {
			char c = u->host[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
				return coffer_error_set(COFFER_EINVAL, "URL '%.200s': bad host", s);
		}
	}
	if (colon != NULL) {
		const char *p = colon + 1;
		unsigned long port = 0;
		if (p == end || end - p > 5)
			return coffer_error_set(COFFER_EINVAL, "URL '%.200s': bad port", s);
		for (; p < end; p++) {
			if (*p < '0' || *p > '9')
				return coffer_error_set(COFFER_EINVAL, "URL '%.200s': bad port", s);
			port = port * 10 + (unsigned long)(*p - '0');
		}
		if (port == 0 || port > 65535)
			return coffer_error_set(COFFER_EINVAL, "URL '%.200s': bad port", s);
		snprintf(u->port, sizeof(u->port), "%lu", port);
	} else {
		snprintf(u->port, sizeof(u->port), "%s", u->tls ? "443" : "80");
	}
	return 0;
}

/* ---- handle ---- */

int coffer_http_new(coffer_http **out, const coffer_http_opts *opts)
{
	coffer_http *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (h == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	if (opts)
		h->o = *opts;
	h->fd = -1;
	if (h->o.connect_timeout_ms <= 0)
		h->o.connect_timeout_ms = DEFAULT_CONNECT_MS;
	if (h->o.io_timeout_ms <= 0)
		h->o.io_timeout_ms = DEFAULT_IO_MS;
	if (h->o.total_timeout_ms <= 0)
		h->o.total_timeout_ms = DEFAULT_TOTAL_MS;
	h->cacert = h->o.cacert ? strdup(h->o.cacert) : NULL;
	h->agent = strdup(h->o.user_agent ? h->o.user_agent : "coffer/0.1");
	h->rd = malloc(sizeof(*h->rd));
	if ((h->o.cacert && h->cacert == NULL) || h->agent == NULL || h->rd == NULL) {
		coffer_http_free(h);
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	h->o.cacert = h->cacert;
	h->o.user_agent = h->agent;
	for (const char *p = h->agent; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			coffer_http_free(h);
			return coffer_error_set(COFFER_EINVAL, "HTTP: bad user agent");
		}
	*out = h;
	return 0;
}

/* SSL_write and SSL_shutdown write to the socket with write(): keep a peer
 * that went away from killing the process with SIGPIPE (the signal is
 * blocked for this thread and a pending one consumed). */
struct sigpipe_guard {
	sigset_t old;
	bool pending_before;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t set, pend;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pend);
	g->pending_before = sigismember(&pend, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void sigpipe_restore(const struct sigpipe_guard *g)
{
	sigset_t set, pend;

	if (!g->pending_before) {
		sigpending(&pend);
		if (sigismember(&pend, SIGPIPE) == 1) {
			struct timespec zero = { 0, 0 };
			sigemptyset(&set);
			sigaddset(&set, SIGPIPE);
			while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
				;
		}
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

void coffer_http_close(coffer_http *h)
{
	if (h == NULL)
		return;
	if (h->ssl) {
		struct sigpipe_guard g;
		sigpipe_block(&g);
		(void)SSL_shutdown(h->ssl);
		sigpipe_restore(&g);
		SSL_free(h->ssl);
		h->ssl = NULL;
	}
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	h->host[0] = '\0';
	if (h->rd)
		h->rd->off = h->rd->len = 0;
	ERR_clear_error();
}

void coffer_http_free(coffer_http *h)
{
	if (h == NULL)
		return;
	coffer_http_close(h);
	SSL_CTX_free(h->ctx);
	free(h->cacert);
	free(h->agent);
	free(h->rd);
	free(h);
}

enum coffer_http_failure coffer_http_last_failure(const coffer_http *h)
{
	return h->fail;
}

unsigned coffer_http_connections(const coffer_http *h)
{
	return h->connections;
}

/* ---- I/O with timeouts ---- */

/* Wait for `events` within the I/O timeout and the request deadline. */
static int wait_fd(coffer_http *h, short events, long limit_ms, const char *what)
{
	for (;;) {
		struct pollfd p = { h->fd, events, 0 };
		int64_t left = h->deadline - now_ms();
		long t = limit_ms;
		int n;

		if (left <= 0) {
			h->timed_out = true;
			return coffer_error_set(COFFER_ENET, "%s %s:%s: timed out (total deadline)",
			                        what, h->host, h->port);
		}
		if (left < t)
			t = (long)left;
		n = poll(&p, 1, (int)t);
		if (n > 0)
			return 0;
		if (n == 0) {
			if (t == limit_ms) {
				h->timed_out = true;
				return coffer_error_set(COFFER_ENET,
				                        "%s %s:%s: timed out after %ld ms", what,
				                        h->host, h->port, limit_ms);
			}
			continue;
		}
		if (errno != EINTR)
			return coffer_error_set(COFFER_ENET, "%s %s:%s: poll: %s", what, h->host,
			                        h->port, strerror(errno));
	}
}

static int tls_error(coffer_http *h, const char *what)
{
	long v = h->ssl ? SSL_get_verify_result(h->ssl) : X509_V_OK;
	unsigned long e;
	char buf[256];

	h->fail = COFFER_HTTP_FAIL_TLS;
	if (v != X509_V_OK) {
		ERR_clear_error();
		return coffer_error_set(COFFER_ENET,
		                        "TLS: certificate verify failed (%s) for %s:%s",
		                        X509_verify_cert_error_string(v), h->host, h->port);
	}
	e = ERR_peek_last_error();
	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		ERR_clear_error();
		return coffer_error_set(COFFER_ENET, "TLS: %s with %s:%s failed: %s", what, h->host,
		                        h->port, buf);
	}
	return coffer_error_set(COFFER_ENET, "TLS: %s with %s:%s failed", what, h->host, h->port);
}

static int conn_fill(void *ctx, uint8_t *p, size_t n, size_t *got)
{
	coffer_http *h = ctx;
	int error;

	*got = 0;
	for (;;) {
		if (h->ssl) {
			size_t r = 0;
			int rc, e;
			ERR_clear_error();
			rc = SSL_read_ex(h->ssl, p, n, &r);
			if (rc == 1) {
				*got = r;
				return 0;
			}
			e = SSL_get_error(h->ssl, rc);
			if (e == SSL_ERROR_ZERO_RETURN) {
				h->broken = true;
				return 0;
			}
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
				if ((error = wait_fd(h, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
				                     h->o.io_timeout_ms, "read from")) < 0)
					return error;
				continue;
			}
			if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
				/* closed without close_notify: end of stream; the
				 * framing check tells a truncated answer */
				ERR_clear_error();
				h->broken = true;
				return 0;
			}
			h->broken = true;
			error = tls_error(h, "read");
			h->fail = COFFER_HTTP_FAIL_NONE; /* mid-exchange: an I/O failure */
			return error;
		} else {
			ssize_t r = recv(h->fd, p, n, 0);
			if (r >= 0) {
				*got = (size_t)r;
				h->broken = h->broken || r == 0;
				return 0;
			}
			if (errno == EINTR)
				continue;
			if (errno == ECONNRESET) {
				h->broken = true;
				return 0;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				h->broken = true;
				return coffer_error_set(COFFER_ENET, "read from %s:%s: %s", h->host,
				                        h->port, strerror(errno));
			}
			if ((error = wait_fd(h, POLLIN, h->o.io_timeout_ms, "read from")) < 0)
				return error;
		}
	}
}

static int conn_write(coffer_http *h, const uint8_t *p, size_t n)
{
	int error;

	while (n > 0) {
		if (h->ssl) {
			struct sigpipe_guard g;
			size_t w = 0;
			int rc, e;
			ERR_clear_error();
			sigpipe_block(&g);
			rc = SSL_write_ex(h->ssl, p, n, &w);
			sigpipe_restore(&g);
			if (rc == 1) {
				p += w;
				n -= w;
				continue;
			}
			e = SSL_get_error(h->ssl, rc);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
				if ((error = wait_fd(h, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
				                     h->o.io_timeout_ms, "write to")) < 0)
					return error;
				continue;
			}
			ERR_clear_error();
			h->broken = true;
			return coffer_error_set(COFFER_ENET, "write to %s:%s: connection lost",
			                        h->host, h->port);
		} else {
			ssize_t w = send(h->fd, p, n, MSG_NOSIGNAL);
			if (w >= 0) {
				p += w;
				n -= (size_t)w;
				continue;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				h->broken = true;
				return coffer_error_set(COFFER_ENET, "write to %s:%s: %s", h->host,
				                        h->port, strerror(errno));
			}
			if ((error = wait_fd(h, POLLOUT, h->o.io_timeout_ms, "write to")) < 0)
				return error;
		}
	}
	return 0;
}

/* ---- connect ---- */

static int tcp_connect(coffer_http *h, const struct url *u)
{
	struct addrinfo hints, *res = NULL;
	int gai, last = 0, error;
	bool timed_out = false;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (u->ip6)
		hints.ai_flags |= AI_NUMERICHOST;
	gai = getaddrinfo(u->host, u->port, &hints, &res);
	if (gai != 0)
		return coffer_error_set(COFFER_ENET, "connect to %s:%s: %s", u->host, u->port,
		                        gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		                ai->ai_protocol);
		int one = 1, soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (fd < 0) {
			last = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			if (errno != EINPROGRESS) {
				last = errno;
				close(fd);
				continue;
			}
			h->fd = fd;
			error = wait_fd(h, POLLOUT, h->o.connect_timeout_ms, "connect to");
			h->fd = -1;
			if (error < 0) {
				timed_out = true;
				last = ETIMEDOUT;
				close(fd);
				continue;
			}
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
				soerr = errno;
			if (soerr != 0) {
				last = soerr;
				close(fd);
				continue;
			}
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		h->fd = fd;
		break;
	}
	freeaddrinfo(res);
	if (h->fd < 0) {
		if (u->ip6)
			return coffer_error_set(
			        COFFER_ENET, "connect to [%s]:%s: %s", u->host, u->port,
			        timed_out && last == ETIMEDOUT ? "timed out" : strerror(last));
		return coffer_error_set(COFFER_ENET, "connect to %s:%s: %s", u->host, u->port,
		                        timed_out && last == ETIMEDOUT ? "timed out"
		                                                       : strerror(last));
	}
	return 0;
}

static int tls_ctx(coffer_http *h)
{
	SSL_CTX *ctx;

	if (h->ctx)
		return 0;
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return coffer_error_set_ssl(COFFER_ERROR, "TLS: SSL_CTX_new");
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		SSL_CTX_free(ctx);
		return coffer_error_set_ssl(COFFER_ERROR, "TLS: minimum version");
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
	/* decrypted records (tokens, secrets) are wiped when OpenSSL is done */
	SSL_CTX_set_options(ctx, SSL_OP_CLEANSE_PLAINTEXT);
	if (h->cacert) {
		/* pinned: this CA file and no other */
		if (SSL_CTX_load_verify_locations(ctx, h->cacert, NULL) != 1) {
			SSL_CTX_free(ctx);
			return coffer_error_set_ssl(COFFER_EINVAL, "TLS: cannot load CA file %s",
			                            h->cacert);
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		SSL_CTX_free(ctx);
		return coffer_error_set_ssl(COFFER_ERROR, "TLS: cannot load the system CA store");
	}
	h->ctx = ctx;
	return 0;
}

static int tls_connect(coffer_http *h, const struct url *u)
{
	X509_VERIFY_PARAM *vp;
	int error;

	if ((error = tls_ctx(h)) < 0) {
		h->fail = COFFER_HTTP_FAIL_TLS;
		return error;
	}
	h->ssl = SSL_new(h->ctx);
	if (h->ssl == NULL || SSL_set_fd(h->ssl, h->fd) != 1)
		return coffer_error_set_ssl(COFFER_ERROR, "TLS: SSL_new");
	vp = SSL_get0_param(h->ssl);
	{
		unsigned char ipbuf[16];
		bool is_ip = u->ip6 || inet_pton(AF_INET, u->host, ipbuf) == 1;
		if (is_ip) {
			if (X509_VERIFY_PARAM_set1_ip_asc(vp, u->host) != 1)
				return coffer_error_set_ssl(COFFER_ERROR, "TLS: set IP");
		} else {
			X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			if (X509_VERIFY_PARAM_set1_host(vp, u->host, 0) != 1 ||
			    SSL_set_tlsext_host_name(h->ssl, u->host) != 1)
				return coffer_error_set_ssl(COFFER_ERROR, "TLS: set host name");
		}
	}
	for (;;) {
		int rc, e;
		ERR_clear_error();
		rc = SSL_connect(h->ssl);
		if (rc == 1)
			break;
		e = SSL_get_error(h->ssl, rc);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if ((error = wait_fd(h, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			                     h->o.connect_timeout_ms, "TLS handshake with")) < 0) {
				h->fail = COFFER_HTTP_FAIL_TLS;
				return error;
			}
			continue;
		}
		return tls_error(h, "handshake");
	}
	return 0;
}

static int open_conn(coffer_http *h, const struct url *u)
{
	int error;

	coffer_http_close(h);
	/* names in messages while connecting */
	snprintf(h->host, sizeof(h->host), "%s", u->host);
	snprintf(h->port, sizeof(h->port), "%s", u->port);
	if ((error = tcp_connect(h, u)) < 0) {
		h->fail = COFFER_HTTP_FAIL_CONNECT;
		h->host[0] = '\0';
		return error;
	}
	h->connections++;
	h->tls = u->tls;
	if (u->tls && (error = tls_connect(h, u)) < 0) {
		if (h->fail != COFFER_HTTP_FAIL_TLS)
			h->fail = COFFER_HTTP_FAIL_CONNECT;
		coffer_http_close(h);
		return error;
	}
	snprintf(h->host, sizeof(h->host), "%s", u->host);
	snprintf(h->port, sizeof(h->port), "%s", u->port);
	h->rd->fill = conn_fill;
	h->rd->ctx = h;
	h->rd->off = h->rd->len = 0;
	return 0;
}

/* Is the kept connection still open (no EOF or stray bytes waiting)? */
static bool conn_alive(coffer_http *h)
{
	struct pollfd p = { h->fd, POLLIN, 0 };

	if (h->fd < 0)
		return false;
	if (h->ssl && SSL_pending(h->ssl) > 0)
		return false;
	if (poll(&p, 1, 0) == 0)
		return true;
	if (h->ssl) {
		/* TLS 1.3 session tickets and other post-handshake messages
		 * make the socket readable without any application data */
		char c;
		size_t n = 0;
		int rc = SSL_peek_ex(h->ssl, &c, 1, &n);
		bool alive = rc != 1 && SSL_get_error(h->ssl, rc) == SSL_ERROR_WANT_READ;
		ERR_clear_error();
		return alive;
	}
	return false; /* readable means EOF or junk: start afresh */
}

/* ---- requests ---- */

static size_t max_body_or_default(const coffer_http_request *req)
{
	return req->max_body ? req->max_body : COFFER_HTTP_DEFAULT_MAX_BODY;
}

static int build_request(coffer_buf *out, const coffer_http *h, const struct url *u,
                         const coffer_http_request *req)
{
	const char *m = req->method ? req->method : "GET";
	bool has_body = req->body_len > 0 || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
	                strcmp(m, "PATCH") == 0;
	bool default_port = strcmp(u->port, u->tls ? "443" : "80") == 0;

	for (const char *p = m; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || *p == '-'))
			return coffer_error_set(COFFER_EINVAL, "HTTP: bad method");
	if (*m == '\0')
		return coffer_error_set(COFFER_EINVAL, "HTTP: bad method");
	if (req->body_len > 0 && req->body == NULL)
		return coffer_error_set(COFFER_EINVAL, "HTTP: body length without a body");
	{
		/* one allocation, never grown: the head may carry credentials and
		 * a realloc would leave a copy in freed memory */
		size_t est = strlen(m) + strlen(req->url) + strlen(h->agent) + 128;
		for (const char *const *hp = req->headers; hp && *hp; hp++)
			if (coffer_size_add(&est, est, strlen(*hp) + 2) < 0)
				return coffer_error_set(COFFER_ELIMIT, "HTTP: request too large");
		if (coffer_buf_reserve(out, est) < 0)
			return coffer_error_set(COFFER_ELIMIT, "HTTP: request too large");
	}
	if (coffer_buf_printf(out, "%s %s%.*s HTTP/1.1\r\nHost: %s%s%s%s%s\r\n", m,
	                      (*u->path == '/') ? "" : "/", (int)strcspn(u->path, "#"), u->path,
	                      u->ip6 ? "[" : "", u->host, u->ip6 ? "]" : "",
	                      default_port ? "" : ":", default_port ? "" : u->port) < 0 ||
	    coffer_buf_printf(out, "User-Agent: %s\r\n", h->agent) < 0)
		return coffer_error_set(COFFER_ELIMIT, "HTTP: request too large");
	for (const char *const *hp = req->headers; hp && *hp; hp++) {
		const char *colon = strchr(*hp, ':');
		if (colon == NULL || colon == *hp || strpbrk(*hp, "\r\n") != NULL)
			return coffer_error_set(COFFER_EINVAL, "HTTP: bad request header");
		if (coffer_buf_printf(out, "%s\r\n", *hp) < 0)
			return coffer_error_set(COFFER_ELIMIT, "HTTP: request too large");
	}
	if (has_body && coffer_buf_printf(out, "Content-Length: %zu\r\n", req->body_len) < 0)
		return coffer_error_set(COFFER_ELIMIT, "HTTP: request too large");
	if (coffer_buf_puts(out, "\r\n") < 0)
		return coffer_error_set(COFFER_ELIMIT, "HTTP: request too large");
	return 0;
}

static int exchange(coffer_http_response *resp, bool *keep, coffer_http *h, const coffer_buf *head,
                    const coffer_http_request *req, bool head_only, size_t max_body)
{
	int error;

	h->rd->received = 0;
	h->timed_out = h->broken = false;
	h->fail = COFFER_HTTP_FAIL_NONE;
	if ((error = conn_write(h, head->ptr, head->len)) < 0)
		return error;
	if (req->body_len > 0 && (error = conn_write(h, req->body, req->body_len)) < 0)
		return error;
	return coffer_http_read_response(resp, keep, h->rd, head_only, max_body);
}

int coffer_http_perform(coffer_http_response *resp, coffer_http *h, const coffer_http_request *req)
{
	coffer_buf head = COFFER_BUF_INIT_MAX(COFFER_HTTP_MAX_HEAD * 4);
	struct url u;
	bool reused, keep = false, head_only;
	int error;

	memset(resp, 0, sizeof(*resp));
	h->fail = COFFER_HTTP_FAIL_REQUEST;
	if (req == NULL || req->url == NULL)
		return coffer_error_set(COFFER_EINVAL, "HTTP: no URL");
	if ((error = parse_url(&u, req->url)) < 0 || (error = build_request(&head, h, &u, req)) < 0)
		goto out;
	head_only = req->method && strcmp(req->method, "HEAD") == 0;
	h->deadline = now_ms() + h->o.total_timeout_ms;
	h->fail = COFFER_HTTP_FAIL_NONE;
	reused = h->fd >= 0 && h->tls == u.tls && strcmp(h->host, u.host) == 0 &&
	         strcmp(h->port, u.port) == 0 && conn_alive(h);
	if (!reused && (error = open_conn(h, &u)) < 0)
		goto out;
	error = exchange(resp, &keep, h, &head, req, head_only, max_body_or_default(req));
	if (error < 0 && reused && h->rd->received == 0 && h->broken && !h->timed_out) {
		/* the server closed the kept connection before answering (it
		 * timed it out as we sent): nothing was processed, send again
		 * on a new connection. Never after a timeout: the server may be
		 * working on the request. */
		if ((error = open_conn(h, &u)) < 0)
			goto out;
		error = exchange(resp, &keep, h, &head, req, head_only, max_body_or_default(req));
	}
	if (error < 0) {
		if (h->fail == COFFER_HTTP_FAIL_NONE)
			h->fail = h->timed_out || h->broken ? COFFER_HTTP_FAIL_IO
			                                    : COFFER_HTTP_FAIL_PROTO;
		coffer_http_close(h);
		goto out;
	}
	if (!keep)
		coffer_http_close(h);
out:
	/* the request may carry credentials (Authorization, Cookie), the
	 * answer tokens and cookies: no copy stays behind */
	coffer_wipe(h->rd->buf, sizeof(h->rd->buf)); /* ~1 us; compaction leaves bytes past len */
	h->rd->off = h->rd->len = 0;
	coffer_buf_free(&head); /* wipes */
	return error;
}

int coffer_http_get(uint8_t **out, size_t *len, int *status, const char *url, const char *cacert,
                    size_t max_body, long total_timeout_ms)
{
	coffer_http_opts o = { .cacert = cacert, .total_timeout_ms = total_timeout_ms };
	coffer_http_request req = { .method = "GET", .url = url, .max_body = max_body };
	coffer_http_response resp;
	coffer_http *h = NULL;
	int error;

	*out = NULL;
	*len = 0;
	*status = 0;
	if ((error = coffer_http_new(&h, &o)) < 0)
		return error;
	if ((error = coffer_http_perform(&resp, h, &req)) == 0) {
		*status = resp.status;
		/* an empty body too comes as a block (coffer_buf_detach) */
		*out = coffer_buf_detach(&resp.body, len);
		if (*out == NULL)
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		coffer_http_response_free(&resp);
	}
	coffer_http_free(h);
	return error;
}
