/*
 * A small, bounded HTTP/1.1 server for loopback APIs (include/coffer/http_server.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, pipe2 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "coffer/buf.h"
#include "coffer/codec.h"
#include "coffer/http_server.h"
#include "http/http_internal.h"

#define METHOD_MAX 16
/* a body larger than max_body is read and discarded up to this much, so that
 * the client sees the 413 instead of a reset */
#define DRAIN_MAX ((uint64_t)4 * 1024 * 1024)
/* longest wait for the client's end of stream after our last answer */
#define LINGER_MS 500

struct slot {
	pthread_t thread;
	bool used;
	bool done; /* the thread has finished: join it */
};

struct coffer_http_server {
	coffer_http_server_opts o;
	int lfd;
	int stop_pipe[2];
	unsigned port;
	pthread_t acceptor;
	pthread_mutex_t lock;
	struct slot *slots;
};

struct conn {
	coffer_http_server *s;
	struct slot *slot;
	int fd;
	bool loopback;
	size_t len;
	char buf[COFFER_HTTPD_MAX_HEAD];
	char scratch[COFFER_HTTPD_MAX_HEAD];
};

/* ---- the parser ---- */

/* Decode src[0..n) into scratch at *at (NUL-terminated); 400 on a bad or
 * NUL escape, 431 when scratch is full. */
static int decode(const char **out, char *scratch, size_t *at, const char *src, size_t n, bool plus)
{
	char *o = scratch + *at;

	if (n + 1 > COFFER_HTTPD_MAX_HEAD - *at)
		return 431;
	for (size_t i = 0; i < n; i++) {
		char c = src[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= n)
				return 400;
			hi = coffer_hex_digit((unsigned char)src[i + 1]);
			lo = coffer_hex_digit((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return 400;
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus) {
			*o++ = ' ';
		} else {
			*o++ = c;
		}
	}
	*o++ = '\0';
	*out = scratch + *at;
	*at = (size_t)(o - scratch);
	return 0;
}

static int parse_target(coffer_http_req *req, char *target, char *scratch)
{
	char *q = strchr(target, '?');
	size_t at = 0, plen = q ? (size_t)(q - target) : strlen(target);
	int st;

	if ((st = decode(&req->path, scratch, &at, target, plen, false)) != 0)
		return st;
	req->query = q ? q + 1 : NULL;
	req->nargs = 0;
	if (q == NULL)
		return 0;
	for (const char *p = q + 1; *p;) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		size_t nl = eq ? (size_t)(eq - p) : n;
		coffer_http_header *a;

		if (n > 0) {
			if (req->nargs == COFFER_HTTPD_MAX_ARGS)
				return 400;
			a = &req->args[req->nargs++];
			if ((st = decode(&a->name, scratch, &at, p, nl, true)) != 0)
				return st;
			if (eq) {
				if ((st = decode(&a->value, scratch, &at, eq + 1, n - nl - 1,
				                 true)) != 0)
					return st;
			} else {
				if ((st = decode(&a->value, scratch, &at, p, 0, true)) != 0)
					return st;
			}
		}
		p += n;
		if (*p == '&')
			p++;
	}
	return 0;
}

static int parse_request_line(coffer_http_req *req, char *line, char *scratch)
{
	char *p = line, *target;
	size_t n = 0;

	while (http_is_tchar((unsigned char)p[n]))
		n++;
	if (n == 0 || n > METHOD_MAX || p[n] != ' ')
		return 400;
	p[n] = '\0';
	req->method = p;
	p += n + 1;
	if (*p != '/')
		return 400;
	target = p;
	while ((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f)
		p++;
	if (*p != ' ')
		return 400;
	*p++ = '\0';
	req->target = target;
	if (strncmp(p, "HTTP/", 5) != 0 || p[5] < '0' || p[5] > '9' || p[6] != '.' || p[7] < '0' ||
	    p[7] > '9' || p[8] != '\0')
		return 400;
	if (p[5] != '1')
		return 505;
	req->minor = p[7] - '0';
	if (req->minor > 1)
		return 505;
	return parse_target(req, target, scratch);
}

static int parse_header(coffer_http_req *req, char *line)
{
	size_t n = 0;
	char *v, *end;

	while (http_is_tchar((unsigned char)line[n]))
		n++;
	if (n == 0 || line[n] != ':')
		return 400; /* also obs-fold and whitespace before the colon */
	if (req->nheaders == COFFER_HTTPD_MAX_HEADERS)
		return 431;
	line[n] = '\0';
	v = line + n + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	for (end = v; *end; end++) {
		unsigned char c = (unsigned char)*end;
		if (c != '\t' && (c < 0x20 || c == 0x7f))
			return 400;
	}
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	req->headers[req->nheaders].name = line;
	req->headers[req->nheaders].value = v;
	req->nheaders++;
	return 0;
}

const char *coffer_http_req_header(const coffer_http_req *req, const char *name)
{
	return http_header_find(req->headers, req->nheaders, name);
}

const char *coffer_http_req_arg(const coffer_http_req *req, const char *name)
{
	for (size_t i = 0; i < req->nargs; i++)
		if (strcmp(req->args[i].name, name) == 0)
			return req->args[i].value;
	return NULL;
}

static int check_framing(coffer_http_req *req, uint64_t *content_length)
{
	bool have_cl = false;
	unsigned hosts = 0;

	*content_length = 0;
	for (size_t i = 0; i < req->nheaders; i++) {
		const char *name = req->headers[i].name, *v = req->headers[i].value;
		if (strcasecmp(name, "Content-Length") == 0) {
			uint64_t x = 0;
			size_t d = 0;
			if (have_cl)
				return 400;
			have_cl = true;
			for (; v[d]; d++) {
				if (v[d] < '0' || v[d] > '9' || d >= 15)
					return 400;
				x = x * 10 + (uint64_t)(v[d] - '0');
			}
			if (d == 0)
				return 400;
			*content_length = x;
		} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
			return 411;
		} else if (strcasecmp(name, "Host") == 0) {
			hosts++;
		} else if (strcasecmp(name, "Expect") == 0) {
			if (strcasecmp(v, "100-continue") != 0)
				return 417;
		}
	}
	if (hosts > 1 || (req->minor == 1 && hosts == 0))
		return 400;
	return 0;
}

int coffer_http_parse_request(coffer_http_req *req, size_t *head_len, uint64_t *content_length,
                              char *buf, size_t len, char *scratch)
{
	size_t end = 0, i;
	char *line, *next;
	int st;

	memset(req, 0, sizeof(*req));
	*head_len = 0;
	*content_length = 0;
	for (i = 0; i < len && i < COFFER_HTTPD_MAX_HEAD; i++) {
		char c = buf[i];
		if (c == '\0')
			return 400;
		if (c == '\n' && (i == 0 || buf[i - 1] != '\r'))
			return 400;
		if (c == '\r' && i + 1 < len && buf[i + 1] != '\n')
			return 400;
		if (c == '\n' && i >= 3 && buf[i - 2] == '\n') {
			end = i + 1;
			break;
		}
	}
	if (end == 0)
		return i >= COFFER_HTTPD_MAX_HEAD ? 431 : 1;
	/* lines end in CRLF: cut them into strings */
	for (i = 0; i < end; i++)
		if (buf[i] == '\r')
			buf[i] = '\0';
	line = buf;
	next = line + strlen(line) + 2; /* before the parser cuts the line up */
	if ((st = parse_request_line(req, line, scratch)) != 0)
		return st;
	for (line = next; line < buf + end - 2; line = next) {
		next = line + strlen(line) + 2;
		if ((st = parse_header(req, line)) != 0)
			return st;
	}
	if ((st = check_framing(req, content_length)) != 0)
		return st;
	*head_len = end;
	return 0;
}

/* ---- I/O ---- */

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* 1: ready, 0: deadline passed, -1: stopping or error */
static int wait_fd(struct conn *c, short events, long long deadline)
{
	for (;;) {
		struct pollfd p[2] = { { c->fd, events, 0 }, { c->s->stop_pipe[0], POLLIN, 0 } };
		long long left = deadline - now_ms();
		int r;

		if (left <= 0)
			return 0;
		r = poll(p, 2, left > 60000 ? 60000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (p[1].revents & POLLIN))
			return -1;
		if (r > 0)
			return 1;
	}
}

/* >0 bytes read, 0 end of stream, -1 error or stop, -2 deadline */
static ssize_t read_some(struct conn *c, void *p, size_t n, long long deadline)
{
	for (;;) {
		ssize_t got = recv(c->fd, p, n, 0);
		int w;

		if (got >= 0)
			return got;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		w = wait_fd(c, POLLIN, deadline);
		if (w == 0)
			return -2;
		if (w < 0)
			return -1;
	}
}

static int send_all(struct conn *c, struct iovec *iov, int n, long long deadline)
{
	while (n > 0) {
		struct msghdr m;
		ssize_t put;

		memset(&m, 0, sizeof(m));
		m.msg_iov = iov;
		m.msg_iovlen = (size_t)n;
		put = sendmsg(c->fd, &m, MSG_NOSIGNAL);
		if (put < 0) {
			if (errno == EINTR)
				continue;
			if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
			    wait_fd(c, POLLOUT, deadline) != 1)
				return -1;
			continue;
		}
		while (n > 0 && (size_t)put >= iov->iov_len) {
			put -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + put;
			iov->iov_len -= (size_t)put;
		}
	}
	return 0;
}

static const char *reason(unsigned st)
{
	switch (st) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 417:
		return "Expectation Failed";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Status";
	}
}

static int send_reply(struct conn *c, const coffer_http_reply *r, bool keep)
{
	char head[512];
	struct iovec iov[2];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %u %s\r\n%s%s%sContent-Length: %zu\r\n%s%s\r\n", r->status,
	                 reason(r->status), r->content_type ? "Content-Type: " : "",
	                 r->content_type ? r->content_type : "", r->content_type ? "\r\n" : "",
	                 r->len, r->no_store ? "Cache-Control: no-store\r\n" : "",
	                 keep ? "" : "Connection: close\r\n");
	unsigned io = c->s->o.read_timeout_ms;

	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	iov[0].iov_base = head;
	iov[0].iov_len = (size_t)n;
	iov[1].iov_base = r->body;
	iov[1].iov_len = r->body ? r->len : 0;
	return send_all(c, iov, r->body && r->len ? 2 : 1, now_ms() + io);
}

static void send_status(struct conn *c, unsigned st)
{
	char text[64];
	coffer_http_reply r;
	int n = snprintf(text, sizeof(text), "%s\n", reason(st));

	memset(&r, 0, sizeof(r));
	r.status = st;
	r.content_type = "text/plain; charset=utf-8";
	r.body = text;
	r.len = n > 0 ? (size_t)n : 0;
	(void)send_reply(c, &r, false);
}

static bool wants_close(const coffer_http_req *req)
{
	for (size_t i = 0; i < req->nheaders; i++) {
		const char *v = req->headers[i].value;
		if (strcasecmp(req->headers[i].name, "Connection") != 0)
			continue;
		/* a comma-separated token list */
		while (*v) {
			size_t n;
			while (*v == ' ' || *v == '\t' || *v == ',')
				v++;
			n = strcspn(v, " \t,");
			if (n == 5 && strncasecmp(v, "close", 5) == 0)
				return true;
			v += n;
		}
	}
	return req->minor == 0;
}

/* One request on the connection: 1 keep going, 0 close. */
static int serve_one(struct conn *c)
{
	const coffer_http_server_opts *o = &c->s->o;
	coffer_http_req req;
	coffer_http_reply rep;
	size_t head_len = 0, from_buf, used;
	uint64_t cl = 0;
	long long deadline;
	uint8_t *body = NULL;
	bool keep;
	int st, ret = 0;

	if (c->len == 0) {
		ssize_t got;
		if (wait_fd(c, POLLIN, now_ms() + o->idle_timeout_ms) != 1)
			return 0;
		got = read_some(c, c->buf, sizeof(c->buf), now_ms() + o->read_timeout_ms);
		if (got <= 0)
			return 0;
		c->len = (size_t)got;
	}
	deadline = now_ms() + o->read_timeout_ms;
	for (;;) {
		ssize_t got;
		st = coffer_http_parse_request(&req, &head_len, &cl, c->buf, c->len, c->scratch);
		if (st != 1)
			break;
		got = read_some(c, c->buf + c->len, sizeof(c->buf) - c->len, deadline);
		if (got == -2)
			send_status(c, 408);
		if (got <= 0)
			return 0;
		c->len += (size_t)got;
	}
	if (st != 0) {
		send_status(c, (unsigned)st);
		return 0;
	}
	keep = !wants_close(&req);
	req.peer_loopback = c->loopback;
	from_buf = c->len - head_len;
	if (from_buf > cl)
		from_buf = (size_t)cl;
	used = head_len + from_buf;
	if (cl > o->max_body) {
		/* read and drop a bounded amount so the client sees the answer */
		uint64_t left = cl - from_buf;
		bool expect = coffer_http_req_header(&req, "Expect") != NULL;
		char sink[2048];
		keep = false;
		req.body_too_big = true;
		if (left > DRAIN_MAX || expect)
			left = 0;
		while (left > 0) {
			ssize_t got = read_some(c, sink,
			                        left < sizeof(sink) ? (size_t)left : sizeof(sink),
			                        deadline);
			if (got == -2)
				send_status(c, 408);
			if (got <= 0)
				return 0;
			left -= (uint64_t)got;
		}
	} else if (cl > 0) {
		size_t have = from_buf;
		if ((body = malloc((size_t)cl)) == NULL) {
			send_status(c, 500);
			return 0;
		}
		memcpy(body, c->buf + head_len, from_buf);
		if (have < cl && coffer_http_req_header(&req, "Expect") != NULL && req.minor == 1) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
			struct iovec iov = { (void *)cont, sizeof(cont) - 1 };
			if (send_all(c, &iov, 1, deadline) < 0)
				goto out;
		}
		while (have < cl) {
			ssize_t got = read_some(c, body + have, (size_t)cl - have, deadline);
			if (got == -2)
				send_status(c, 408);
			if (got <= 0)
				goto out;
			have += (size_t)got;
		}
		req.body = body;
		req.body_len = (size_t)cl;
	}
	memset(&rep, 0, sizeof(rep));
	if (o->handler(&rep, &req, o->ctx) < 0 || rep.status < 100 || rep.status > 599) {
		if (rep.free_body)
			rep.free_body(rep.body, rep.len);
		send_status(c, 500);
		goto out;
	}
	if (send_reply(c, &rep, keep) == 0)
		ret = keep ? 1 : 0;
	if (rep.free_body)
		rep.free_body(rep.body, rep.len);
	/* keep what followed the request (pipelining) */
	memmove(c->buf, c->buf + used, c->len - used);
	c->len -= used;
out:
	if (body)
		coffer_free_wiped(body, (size_t)cl);
	return ret;
}

/* Close after an answer without resetting it away: send our FIN, then read
 * and drop what the client still sends (bounded in bytes and time), so that
 * unread request bytes do not turn the close into a reset that could
 * discard the answer before the client reads it. */
static void linger_close(struct conn *c)
{
	long long deadline = now_ms() + LINGER_MS;
	size_t dropped = 0;

	if (shutdown(c->fd, SHUT_WR) == 0) {
		while (dropped < DRAIN_MAX) {
			ssize_t got = read_some(c, c->buf, sizeof(c->buf), deadline);
			if (got <= 0)
				break;
			dropped += (size_t)got;
		}
	}
	close(c->fd);
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	coffer_http_server *s = c->s;
	struct slot *slot = c->slot;

	while (serve_one(c) == 1)
		;
	linger_close(c);
	coffer_wipe(c->buf, sizeof(c->buf));
	coffer_wipe(c->scratch, sizeof(c->scratch));
	free(c);
	pthread_mutex_lock(&s->lock);
	slot->done = true;
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

bool coffer_http_addr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return true;
		return memcmp(in6->sin6_addr.s6_addr, v4mapped, 12) == 0 &&
		       in6->sin6_addr.s6_addr[12] == 127;
	}
	return false;
}

static void reap(coffer_http_server *s, bool all)
{
	for (unsigned i = 0; i < s->o.max_conns; i++) {
		bool join;
		pthread_mutex_lock(&s->lock);
		join = s->slots[i].used && (all || s->slots[i].done);
		pthread_mutex_unlock(&s->lock);
		if (join) {
			pthread_join(s->slots[i].thread, NULL);
			s->slots[i].used = false;
			s->slots[i].done = false;
		}
	}
}

static void *accept_main(void *arg)
{
	coffer_http_server *s = arg;

	for (;;) {
		struct pollfd p[2] = { { s->lfd, POLLIN, 0 }, { s->stop_pipe[0], POLLIN, 0 } };
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		struct slot *slot = NULL;
		struct conn *c;
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents & POLLIN)
			break;
		fd = accept4(s->lfd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		reap(s, false);
		for (unsigned i = 0; i < s->o.max_conns && slot == NULL; i++)
			if (!s->slots[i].used)
				slot = &s->slots[i];
		if (slot == NULL || (c = calloc(1, sizeof(*c))) == NULL) {
			close(fd); /* over the connection cap */
			continue;
		}
		c->s = s;
		c->slot = slot;
		c->fd = fd;
		c->loopback = coffer_http_addr_is_loopback((struct sockaddr *)&peer);
		slot->used = true;
		slot->done = false;
		if (pthread_create(&slot->thread, NULL, conn_main, c) != 0) {
			slot->used = false;
			close(fd);
			free(c);
		}
	}
	return NULL;
}

int coffer_http_server_start(coffer_http_server **out, const coffer_http_server_opts *opts)
{
	coffer_http_server *s;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int one = 1, error;

	*out = NULL;
	if (opts == NULL || opts->handler == NULL || opts->addr == NULL ||
	    opts->addr_len > sizeof(ss))
		return coffer_error_set(COFFER_EINVAL, "http server: bad options");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	s->o = *opts;
	if (s->o.max_conns == 0)
		s->o.max_conns = 16;
	if (s->o.max_body == 0)
		s->o.max_body = 64 * 1024;
	if (s->o.idle_timeout_ms == 0)
		s->o.idle_timeout_ms = 30000;
	if (s->o.read_timeout_ms == 0)
		s->o.read_timeout_ms = 10000;
	s->lfd = -1;
	s->stop_pipe[0] = s->stop_pipe[1] = -1;
	pthread_mutex_init(&s->lock, NULL);
	if ((s->slots = calloc(s->o.max_conns, sizeof(*s->slots))) == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto fail;
	}
	if (pipe2(s->stop_pipe, O_CLOEXEC) < 0 ||
	    (s->lfd = socket(opts->addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		error = coffer_error_set(COFFER_EIO, "http server: %s", strerror(errno));
		goto fail;
	}
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->lfd, opts->addr, opts->addr_len) < 0 || listen(s->lfd, 64) < 0 ||
	    getsockname(s->lfd, (struct sockaddr *)&ss, &sl) < 0) {
		error = coffer_error_set(COFFER_EIO, "http server: cannot listen: %s",
		                         strerror(errno));
		goto fail;
	}
	s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                         : ((struct sockaddr_in *)&ss)->sin_port);
	if (pthread_create(&s->acceptor, NULL, accept_main, s) != 0) {
		error = coffer_error_set(COFFER_EIO, "http server: no thread");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->stop_pipe[0] >= 0) {
		close(s->stop_pipe[0]);
		close(s->stop_pipe[1]);
	}
	pthread_mutex_destroy(&s->lock);
	free(s->slots);
	free(s);
	return error;
}

unsigned coffer_http_server_port(const coffer_http_server *s)
{
	return s ? s->port : 0;
}

void coffer_http_server_stop(coffer_http_server *s)
{
	char x = 1;

	if (s == NULL)
		return;
	/* the pipe stays readable: every poll in every thread wakes up */
	while (write(s->stop_pipe[1], &x, 1) < 0 && errno == EINTR)
		;
	pthread_join(s->acceptor, NULL);
	reap(s, true);
	close(s->lfd);
	close(s->stop_pipe[0]);
	close(s->stop_pipe[1]);
	pthread_mutex_destroy(&s->lock);
	free(s->slots);
	free(s);
}
