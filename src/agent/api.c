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

#include <microhttpd.h>

#include "coffer/codec.h"
#include "coffer/file.h"
#include "coffer/json.h"
#include "agent.h"

#define URL_MAX        1024
#define AAEL_MAX       1024
#define AAEL_FIELD_MAX 4096

struct req_state {
	coffer_buf body;
	bool too_big;
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

static bool peer_is_loopback(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa;

	if (ci == NULL || ci->client_addr == NULL)
		return false;
	sa = ci->client_addr;
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

static enum MHD_Result send_bytes(struct MHD_Connection *c, unsigned status, const char *type,
                                  const void *data, size_t len)
{
	struct MHD_Response *r =
	        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void free_wiped(void *cls)
{
	struct wiped_body *w = cls;

	coffer_wipe(w->data, w->len);
	free(w);
}

/* a secret: MHD sends our buffer and the free callback wipes it */
static enum MHD_Result send_secret_typed(struct MHD_Connection *c, const coffer_secret *s,
                                         const char *type)
{
	struct wiped_body *w = malloc(sizeof(*w) + s->len + 1);
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (w == NULL)
		return MHD_NO;
	w->len = s->len;
	if (s->len)
		memcpy(w->data, s->ptr, s->len);
	r = MHD_create_response_from_buffer_with_free_callback_cls(s->len, w->data, free_wiped, w);
	if (r == NULL) {
		free_wiped(w);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_secret(struct MHD_Connection *c, const coffer_secret *s)
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

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *msg)
{
	char line[600];
	int n = snprintf(line, sizeof(line), "%s\n", msg);

	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	return send_bytes(c, status, "text/plain; charset=utf-8", line, (size_t)n);
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *v)
{
	char *text = NULL;
	size_t len = 0;
	enum MHD_Result ret;

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
static enum MHD_Result send_error(struct MHD_Connection *c, int error)
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

static enum MHD_Result h_info(struct MHD_Connection *c, struct agent *a)
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

static enum MHD_Result h_resource(struct MHD_Connection *c, struct agent *a, const char *path)
{
	coffer_secret s = COFFER_SECRET_INIT;
	enum MHD_Result ret;
	int error;

	if ((error = agent_get_resource(&s, a, path)) < 0) {
		fprintf(stderr, "coffer-agent: resource %.200s: %s\n", path, coffer_error_last());
		return send_error(c, error);
	}
	ret = send_secret(c, &s);
	coffer_secret_free(&s);
	return ret;
}

static enum MHD_Result h_unseal(struct MHD_Connection *c, struct agent *a, const coffer_buf *body)
{
	coffer_secret s = COFFER_SECRET_INIT;
	enum MHD_Result ret;
	int error;

	if ((error = agent_unseal(&s, a, (const char *)body->ptr, body->len)) < 0) {
		fprintf(stderr, "coffer-agent: unseal: %s\n", coffer_error_last());
		return send_error(c, error);
	}
	ret = send_secret(c, &s);
	coffer_secret_free(&s);
	return ret;
}

static enum MHD_Result h_evidence(struct MHD_Connection *c, struct agent *a)
{
	const char *rd = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "runtime_data");
	const char *enc = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "encoding");
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
			return MHD_NO;
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

static enum MHD_Result h_token(struct MHD_Connection *c, struct agent *a)
{
	const char *tt = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token_type");
	char *token = NULL, *pem = NULL;
	coffer_secret body = COFFER_SECRET_INIT;
	size_t cap = 0, at = 0;
	enum MHD_Result ret;
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
	 * MHD sends and the free callback wipes: not through jansson, whose
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

static enum MHD_Result h_aael(struct MHD_Connection *c, const coffer_buf *body)
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

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
	struct agent *a = cls;
	struct req_state *st = *con_cls;
	bool post = strcmp(method, "POST") == 0;

	(void)version;
	if (st == NULL) {
		st = calloc(1, sizeof(*st));
		if (st == NULL)
			return MHD_NO;
		coffer_buf_init(&st->body, a->cfg.max_body);
		*con_cls = st;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!st->too_big && coffer_buf_append(&st->body, upload, *upload_size) < 0)
			st->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (!peer_is_loopback(c))
		return send_text(c, 403, "the agent answers loopback peers only");
	if (!rate_ok(a->cfg.rate_per_s))
		return send_text(c, 429, "too many requests");
	if (st->too_big)
		return send_text(c, 413, "request body too large");
	if (strlen(url) > URL_MAX)
		return send_text(c, 414, "URL too long");
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
	} else if (post) {
		if (strcmp(url, "/cdh/unseal") == 0)
			return h_unseal(c, a, &st->body);
		if (strcmp(url, "/aa/aael") == 0)
			return h_aael(c, &st->body);
	}
	if (strcmp(url, "/info") == 0 || strncmp(url, "/cdh/", 5) == 0 ||
	    strncmp(url, "/aa/", 4) == 0)
		return send_text(c, 405, "method not allowed");
	return send_text(c, 404, "no such endpoint");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	struct req_state *st = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (st) {
		/* a sealed secret body is not secret, but wipe anyway: it is cheap */
		coffer_wipe(st->body.ptr, st->body.cap);
		coffer_buf_free(&st->body);
		free(st);
		*con_cls = NULL;
	}
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
	struct MHD_Daemon *d;
	sigset_t set;
	int sig = 0;
	const union MHD_DaemonInfo *di;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	int error;

	if ((error = parse_listen(&ss, &sl, a->cfg.listen ? a->cfg.listen : AGENT_LISTEN_DEFAULT)) <
	    0)
		return error;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* the MHD threads inherit a mask without SIGTERM/SIGINT: only this
	 * thread takes them, in sigwait below */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d = MHD_start_daemon(flags, 0, NULL, NULL, handler, a, MHD_OPTION_SOCK_ADDR, &ss,
	                     MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_CONNECTION_LIMIT,
	                     a->cfg.max_conns ? a->cfg.max_conns : 16u,
	                     MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	                     (size_t)32 * 1024, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	                     MHD_OPTION_END);
	if (d == NULL)
		return coffer_error_set(COFFER_EIO, "cannot listen on %s: %s",
		                        a->cfg.listen ? a->cfg.listen : AGENT_LISTEN_DEFAULT,
		                        strerror(errno));
	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	fprintf(stderr, "coffer-agent: serving on %s (port %u), TEE %s, broker %s\n",
	        a->cfg.listen ? a->cfg.listen : AGENT_LISTEN_DEFAULT, di ? (unsigned)di->port : 0u,
	        coffer_attester_source(a->att), a->cfg.broker);
	fflush(stderr);
	if (a->cfg.port_file && di) {
		char text[16];
		int n = snprintf(text, sizeof(text), "%u\n", (unsigned)di->port);
		if ((error = coffer_file_write(a->cfg.port_file, text, (size_t)n, 0644)) < 0) {
			MHD_stop_daemon(d);
			return error;
		}
	}
	while (sigwait(&set, &sig) != 0)
		;
	MHD_stop_daemon(d);
	fprintf(stderr, "coffer-agent: stopped after %lu requests\n", api.served);
	return 0;
}
