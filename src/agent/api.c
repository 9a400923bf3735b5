/*
 * The local REST API (PROTOCOL.md section 6), compatible with upstream
 * api-server-rest on 127.0.0.1:8006:
 *   GET  /info
 *   GET  /cdh/resource/<repo>/<type>/<tag>          the secret, octet-stream
 *   POST /cdh/unseal                                 Coffer: body = sealed secret
 *   GET  /aa/evidence?runtime_data=..[&encoding=base64]
 *   GET  /aa/token?token_type=kbs                    only when serve_tee_key is set
 *   POST /aa/aael {"domain","operation","content"}
 * Any peer that is not loopback gets 403; bodies, URLs, connections and the
 * request rate are bounded (413, 414, 429).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "coffer/codec.h"
#include "coffer/file.h"
#include "coffer/http_server.h"
#include "coffer/json.h"
#include "agent.h"

#define URL_MAX        1024
#define AAEL_MAX       1024
#define AAEL_FIELD_MAX 4096

/* one request being answered */
struct conn {
	const coffer_http_req *req;
	coffer_http_reply *rep;
};

struct wiped_body {
	size_t len;
	uint8_t data[];
};

static struct {
	pthread_mutex_t lock;
	double tokens;
	struct timespec last;
	unsigned long served;
	unsigned aael_count;
} api = { PTHREAD_MUTEX_INITIALIZER, 0, { 0, 0 }, 0, 0 };

/* token bucket shared by every peer: `rate` per second, bursts of `rate` */
static bool rate_ok(unsigned rate)
{
	struct timespec now;
	bool ok;

	if (rate == 0)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&api.lock);
	if (api.last.tv_sec == 0 && api.last.tv_nsec == 0) {
		api.tokens = rate;
	} else {
		double dt = (double)(now.tv_sec - api.last.tv_sec) +
		            (double)(now.tv_nsec - api.last.tv_nsec) / 1e9;
		api.tokens += dt * rate;
		if (api.tokens > rate)
			api.tokens = rate;
	}
	api.last = now;
	ok = api.tokens >= 1.0;
	if (ok)
		api.tokens -= 1.0;
	pthread_mutex_unlock(&api.lock);
	return ok;
}

static void free_plain(void *p, size_t len)
{
	(void)len;
	free(p);
}

static int send_bytes(struct conn *c, unsigned status, const char *type, const void *data,
                      size_t len)
{
	void *copy = malloc(len ? len : 1);

	if (copy == NULL)
		return -1;
	if (len)
		memcpy(copy, data, len);
	c->rep->status = status;
	c->rep->content_type = type;
	c->rep->body = copy;
	c->rep->len = len;
	c->rep->free_body = free_plain;
	return 0;
}

static void free_wiped(void *p, size_t len)
{
	coffer_free_wiped(p, len);
}

/* a secret: the server sends our copy straight from this buffer, then the
 * free callback wipes it */
static int send_secret_typed(struct conn *c, const coffer_secret *s, const char *type)
{
	uint8_t *w = malloc(s->len + 1);

	if (w == NULL)
		return -1;
	if (s->len)
		memcpy(w, s->ptr, s->len);
	c->rep->status = 200;
	c->rep->content_type = type;
	c->rep->no_store = true;
	c->rep->body = w;
	c->rep->len = s->len;
	c->rep->free_body = free_wiped;
	return 0;
}

static int send_secret(struct conn *c, const coffer_secret *s)
{
	return send_secret_typed(c, s, "application/octet-stream");
}

/* A JSON string member "key":"value" appended at s->ptr + *at (room was
 * reserved by the caller: 6 bytes per input byte at most). */
static void put_json_member(coffer_secret *s, size_t *at, const char *key, const char *v)
{
	static const char hex[] = "0123456789abcdef";
	char *o = (char *)s->ptr + *at;

	*o++ = '"';
	memcpy(o, key, strlen(key));
	o += strlen(key);
	memcpy(o, "\":\"", 3);
	o += 3;
	for (; *v; v++) {
		unsigned char ch = (unsigned char)*v;
		if (ch == '"' || ch == '\\') {
			*o++ = '\\';
			*o++ = (char)ch;
		} else if (ch == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else if (ch < 0x20) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[ch >> 4];
			o[5] = hex[ch & 15];
			o += 6;
		} else {
			*o++ = (char)ch;
		}
	}
	*o++ = '"';
	*at = (size_t)(o - (char *)s->ptr);
}

static int send_text(struct conn *c, unsigned status, const char *msg)
{
	char line[600];
	int n = snprintf(line, sizeof(line), "%s\n", msg);

	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	return send_bytes(c, status, "text/plain; charset=utf-8", line, (size_t)n);
}

static int send_json(struct conn *c, unsigned status, json_t *v)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	if (v == NULL || coffer_json_dump(&text, &len, v) < 0) {
		json_decref(v);
		return send_text(c, 500, "internal error");
	}
	json_decref(v);
	ret = send_bytes(c, status, "application/json", text, len);
	free(text);
	return ret;
}

/* A library failure as an HTTP status and message. */
static int send_error(struct conn *c, int error)
{
	unsigned status;

	switch (error) {
	case COFFER_EINVAL:
		status = 400;
		break;
	case COFFER_ENOTFOUND:
		status = 404;
		break;
	case COFFER_EDENIED:
	case COFFER_EVERIFY:
		status = 403;
		break;
	case COFFER_EUNSUPPORTED:
		status = 400;
		break;
	case COFFER_ENET:
	case COFFER_EAUTH:
		status = 502;
		break;
	case COFFER_ELIMIT:
		status = 413;
		break;
	default:
		status = 500;
	}
	return send_text(c, status, coffer_error_last());
}

static int h_info(struct conn *c, struct agent *a)
{
	json_t *v = json_pack(
	        "{s:s,s:s,s:s,s:s,s:s,s:i,s:b,s:[s,s,s,s,s,s]}", "name", "coffer-agent", "version",
	        AGENT_VERSION, "tee", coffer_attester_tee(a->att), "evidence_source",
	        coffer_attester_source(a->att), "broker", a->cfg.broker, "attestations",
	        (int)coffer_kbs_client_attest_count(a->kbs), "tee_key_served", a->cfg.serve_tee_key,
	        "endpoints", "/info", "/cdh/resource/<repo>/<type>/<tag>", "/cdh/unseal",
	        "/aa/evidence", "/aa/token", "/aa/aael");
	return send_json(c, 200, v);
}

static int h_resource(struct conn *c, struct agent *a, const char *path)
{
	coffer_secret s = COFFER_SECRET_INIT;
	int ret;
	int error;

	if ((error = agent_get_resource(&s, a, path)) < 0) {
		fprintf(stderr, "coffer-agent: resource %.200s: %s\n", path, coffer_error_last());
		return send_error(c, error);
	}
	ret = send_secret(c, &s);
	coffer_secret_free(&s);
	return ret;
}

static int h_unseal(struct conn *c, struct agent *a, const coffer_buf *body)
{
	coffer_secret s = COFFER_SECRET_INIT;
	int ret;
	int error;

	if ((error = agent_unseal(&s, a, (const char *)body->ptr, body->len)) < 0) {
		fprintf(stderr, "coffer-agent: unseal: %s\n", coffer_error_last());
		return send_error(c, error);
	}
	ret = send_secret(c, &s);
	coffer_secret_free(&s);
	return ret;
}

static int h_evidence(struct conn *c, struct agent *a)
{
	const char *rd = coffer_http_req_arg(c->req, "runtime_data");
	const char *enc = coffer_http_req_arg(c->req, "encoding");
	uint8_t *raw = NULL;
	size_t len = 0;
	json_t *ev = NULL;
	int error;

	if (rd == NULL)
		return send_text(c, 400, "runtime_data is required");
	if (enc && strcmp(enc, "base64") == 0) {
		if (coffer_base64_decode(&raw, &len, rd, strlen(rd), COFFER_B64_STD) < 0)
			return send_text(c, 400, "runtime_data is not base64");
	} else if (enc && strcmp(enc, "utf8") != 0 && enc[0] != '\0') {
		return send_text(c, 400, "encoding must be base64 or utf8");
	} else {
		len = strlen(rd);
		raw = (uint8_t *)strdup(rd);
		if (raw == NULL)
			return -1;
	}
	if (len > COFFER_REPORT_DATA_MAX) {
		free(raw);
		return send_text(c, 400, "runtime_data longer than 64 bytes");
	}
	error = coffer_attester_evidence(&ev, a->att, raw, len);
	free(raw);
	if (error < 0)
		return send_error(c, error);
	return send_json(c, 200, ev);
}

static int h_token(struct conn *c, struct agent *a)
{
	const char *tt = coffer_http_req_arg(c->req, "token_type");
	char *token = NULL, *pem = NULL;
	coffer_secret body = COFFER_SECRET_INIT;
	size_t cap = 0, at = 0;
	int ret;
	int error;

	if (!a->cfg.serve_tee_key)
		return send_text(c, 403,
		                 "/aa/token is disabled: it hands out the TEE private key; set "
		                 "[agent] serve_tee_key = true to enable it");
	if (tt && strcmp(tt, "kbs") != 0)
		return send_text(c, 400, "token_type must be kbs");
	if ((error = coffer_kbs_client_token(&token, a->kbs)) < 0 ||
	    (error = coffer_kbs_client_tee_key_pem(&pem, a->kbs)) < 0) {
		coffer_free_str_wiped(token);
		return send_error(c, error);
	}
	/* the private key and the token are built into one wiped buffer that
	 * the server sends and the free callback wipes: not through jansson, whose
	 * copies are freed without a wipe */
	if (coffer_size_mul(&cap, strlen(token) + strlen(pem), 6) < 0 ||
	    coffer_size_add(&cap, cap, 64) < 0 || coffer_secret_alloc(&body, cap) < 0) {
		coffer_free_str_wiped(token);
		coffer_free_str_wiped(pem);
		return send_text(c, 500, "internal error");
	}
	body.ptr[at++] = '{';
	put_json_member(&body, &at, "token", token);
	body.ptr[at++] = ',';
	put_json_member(&body, &at, "tee_keypair", pem);
	body.ptr[at++] = '}';
	coffer_free_str_wiped(token);
	coffer_free_str_wiped(pem);
	body.len = at;
	ret = send_secret_typed(c, &body, "application/json");
	coffer_secret_free(&body);
	return ret;
}

static int h_aael(struct conn *c, const coffer_buf *body)
{
	json_t *v = NULL;
	const char *f[3];
	static const char *const names[] = { "domain", "operation", "content" };
	unsigned n;

	if (coffer_json_parse(&v, (const char *)body->ptr, body->len, 0) < 0 ||
	    !json_is_object(v)) {
		json_decref(v);
		return send_text(c, 400, "body must be {\"domain\",\"operation\",\"content\"}");
	}
	for (int i = 0; i < 3; i++) {
		f[i] = json_string_value(json_object_get(v, names[i]));
		if (f[i] == NULL || strlen(f[i]) > AAEL_FIELD_MAX) {
			json_decref(v);
			return send_text(c, 400, "domain, operation and content must be strings");
		}
	}
	pthread_mutex_lock(&api.lock);
	n = api.aael_count < AAEL_MAX ? ++api.aael_count : 0;
	pthread_mutex_unlock(&api.lock);
	/* recorded for the operator; no runtime measurement register is
	 * extended yet (configfs-tsm has no RTMR interface) */
	if (n)
		fprintf(stderr, "coffer-agent: aael event %u: domain=%.64s operation=%.64s\n", n,
		        f[0], f[1]);
	json_decref(v);
	if (n == 0)
		return send_text(c, 429, "event log full");
	return send_text(c, 200, "ok");
}

static int handler(coffer_http_reply *rep, const coffer_http_req *req, void *ctx)
{
	struct agent *a = ctx;
	struct conn conn = { req, rep }, *c = &conn;
	const char *url = req->path, *method = req->method;
	coffer_buf body;

	if (!req->peer_loopback)
		return send_text(c, 403, "the agent answers loopback peers only");
	if (!rate_ok(a->cfg.rate_per_s))
		return send_text(c, 429, "too many requests");
	if (req->body_too_big)
		return send_text(c, 413, "request body too large");
	if (strlen(url) > URL_MAX)
		return send_text(c, 414, "URL too long");
	/* a read-only view of the request body */
	memset(&body, 0, sizeof(body));
	body.ptr = (uint8_t *)(uintptr_t)req->body;
	body.len = req->body_len;
	body.cap = req->body_len;
	__atomic_add_fetch(&api.served, 1, __ATOMIC_RELAXED);
	if (strcmp(method, "GET") == 0) {
		if (strcmp(url, "/info") == 0)
			return h_info(c, a);
		if (strncmp(url, "/cdh/resource/", 14) == 0)
			return h_resource(c, a, url + 14);
		if (strcmp(url, "/aa/evidence") == 0)
			return h_evidence(c, a);
		if (strcmp(url, "/aa/token") == 0)
			return h_token(c, a);
	} else if (strcmp(method, "POST") == 0) {
		if (strcmp(url, "/cdh/unseal") == 0)
			return h_unseal(c, a, &body);
		if (strcmp(url, "/aa/aael") == 0)
			return h_aael(c, &body);
	}
	if (strcmp(url, "/info") == 0 || strncmp(url, "/cdh/", 5) == 0 ||
	    strncmp(url, "/aa/", 4) == 0)
		return send_text(c, 405, "method not allowed");
	return send_text(c, 404, "no such endpoint");
}

static int parse_listen(struct sockaddr_storage *ss, socklen_t *sl, const char *listen)
{
	char host[64];
	const char *colon = strrchr(listen, ':');
	char *end = NULL;
	long port;
	size_t hl;

	if (colon == NULL)
		return coffer_error_set(COFFER_EINVAL, "listen '%s': want HOST:PORT", listen);
	hl = (size_t)(colon - listen);
	if (hl == 0 || hl >= sizeof(host))
		return coffer_error_set(COFFER_EINVAL, "listen '%s': bad host", listen);
	memcpy(host, listen, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end != '\0' || port < 0 || port > 65535)
		return coffer_error_set(COFFER_EINVAL, "listen '%s': bad port", listen);
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
			return coffer_error_set(COFFER_EINVAL, "listen '%s': bad IPv6 address",
			                        listen);
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		if (strcmp(host, "localhost") == 0)
			memcpy(host, "127.0.0.1", 10);
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return coffer_error_set(COFFER_EINVAL, "listen '%s': bad IPv4 address",
			                        listen);
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		*sl = sizeof(*in);
	}
	return 0;
}

int agent_serve(struct agent *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	coffer_http_server *srv = NULL;
	coffer_http_server_opts o;
	sigset_t set;
	int sig = 0;
	unsigned port;
	int error;

	if ((error = parse_listen(&ss, &sl, a->cfg.listen ? a->cfg.listen : AGENT_LISTEN_DEFAULT)) <
	    0)
		return error;
	/* the server threads inherit a mask without SIGTERM/SIGINT: only this
	 * thread takes them, in sigwait below */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	memset(&o, 0, sizeof(o));
	o.addr = (const struct sockaddr *)&ss;
	o.addr_len = sl;
	o.max_conns = a->cfg.max_conns ? a->cfg.max_conns : 16u;
	o.max_body = a->cfg.max_body;
	o.idle_timeout_ms = 30000;
	o.read_timeout_ms = 30000;
	o.handler = handler;
	o.ctx = a;
	if ((error = coffer_http_server_start(&srv, &o)) < 0) {
		char why[256];
		snprintf(why, sizeof(why), "%s", coffer_error_last());
		return coffer_error_set(error, "cannot listen on %s: %s",
		                        a->cfg.listen ? a->cfg.listen : AGENT_LISTEN_DEFAULT, why);
	}
	port = coffer_http_server_port(srv);
	fprintf(stderr, "coffer-agent: serving on %s (port %u), TEE %s, broker %s\n",
	        a->cfg.listen ? a->cfg.listen : AGENT_LISTEN_DEFAULT, port,
	        coffer_attester_source(a->att), a->cfg.broker);
	fflush(stderr);
	if (a->cfg.port_file) {
		char text[16];
		int n = snprintf(text, sizeof(text), "%u\n", port);
		if ((error = coffer_file_write(a->cfg.port_file, text, (size_t)n, 0644)) < 0) {
			coffer_http_server_stop(srv);
			return error;
		}
	}
	while (sigwait(&set, &sig) != 0)
		;
	coffer_http_server_stop(srv);
	fprintf(stderr, "coffer-agent: stopped after %lu requests\n", api.served);
	return 0;
}
