/*
 * HTTP on libmicrohttpd: request bodies up to the configured limit (413
 * beyond), routing, responses with the PROTOCOL.md section 3 error bodies,
 * metrics and one log line per request.
 *
 * The URL reaches the handlers raw (percent-encoding kept: see
 * identity_unescape), so a resource path like "%2e%2e" or "a%2Fb" is judged
 * as the bytes the client sent and refused by the segment rule.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "coffer/codec.h"
#include "coffer/json.h"
#include "coffer/kbs.h"
#include "cofferd.h"
#include "server.h"

#define DISCARD_FACTOR 4 /* keep reading (and dropping) up to 4x the limit, then close */

struct conn_state {
	coffer_buf body;
	size_t seen;
	bool too_big;
	struct timespec start;
	/* a response waiting for its audit entry (group commit): the
	 * connection is suspended until the audit writer reports */
	struct MHD_Connection *conn;
	struct cofferd_resp pending;
	enum cofferd_endpoint pending_ep;
	bool audit_wait;
	atomic_bool audit_ready;
	int audit_error;
};

/* Audit writer thread: the entry is durable (or failed); answer. */
static void on_audit_done(void *ctx, int error, const char *msg)
{
	struct conn_state *st = ctx;
	(void)msg;

	st->audit_error = error;
	atomic_store(&st->audit_ready, true);
	MHD_resume_connection(st->conn);
}

int64_t cofferd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

int cofferd_resp_json(struct cofferd_resp *r, int status, json_t *body)
{
	char *text = NULL;
	size_t len = 0;
	int error;

	if (body == NULL)
		return cofferd_resp_error(r, 500, "PluginInternalError", "out of memory");
	error = coffer_json_dump(&text, &len, body);
	json_decref(body);
	if (error < 0)
		return cofferd_resp_error(r, 500, "PluginInternalError", "out of memory");
	free(r->body);
	r->body = text;
	r->len = len;
	r->status = status;
	r->content_type = "application/json";
	return 0;
}

/* jansson refuses a string that is not UTF-8, and a client's string quoted
 * with a bound ("%.32s" for the tee, "%.20s" for the version) or cut by the
 * detail's size can end inside a character: such an answer had no body at
 * all (fuzz_cofferd_request). Each byte outside a valid sequence becomes
 * '?'. */
static void utf8_scrub(char *text)
{
	unsigned char *p = (unsigned char *)text;
	size_t len = strlen(text), i = 0;
	uint32_t cp;

	while (i < len)
		if (coffer_utf8_next(&cp, p, len, &i) < 0)
			p[i++] = '?';
}

int cofferd_resp_error(struct cofferd_resp *r, int status, const char *variant, const char *fmt,
                       ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	utf8_scrub(detail);
	if (r->wipe && r->body)
		coffer_free_str_wiped(r->body);
	else
		free(r->body);
	r->body = NULL;
	r->len = 0;
	r->wipe = false;
	r->status = status;
	r->content_type = "application/json";
	r->set_cookie[0] = '\0';
	r->extra_header = NULL;
	if (coffer_kbs_error_body(&r->body, &r->len, variant, detail) < 0) {
		r->body = NULL;
		r->len = 0;
	}
	return 0;
}

static size_t identity_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static double elapsed(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, struct cofferd_resp *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (r->body == NULL) {
		r->body = strdup("");
		r->len = 0;
	}
	resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	if (r->content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
	if (r->set_cookie[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->set_cookie);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (r->retry_after)
		MHD_add_response_header(resp, "Retry-After", "1");
	if (r->extra_header)
		MHD_add_response_header(resp, r->extra_header, r->extra_value);
	ret = MHD_queue_response(conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static const struct sockaddr *client_addr(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	        c ? MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;

	return ci ? ci->client_addr : NULL;
}

void cofferd_dispatch(struct cofferd *d, const struct cofferd_req *q, struct cofferd_resp *r,
                      enum cofferd_endpoint *ep)
{
	const char *p = q->path;
	static const char res_prefix[] = COFFER_KBS_PREFIX "/resource/";
	bool get = strcmp(q->method, "GET") == 0, post = strcmp(q->method, "POST") == 0;

	*ep = EP_OTHER;
	if (strcmp(p, "/healthz") == 0) {
		*ep = EP_HEALTHZ;
		if (!get) {
			cofferd_resp_error(r, 405, "MethodNotAllowed", "GET only");
			return;
		}
		cofferd_resp_json(r, 200, json_pack("{s:s}", "status", "ok"));
		return;
	}
	if (strcmp(p, "/metrics") == 0) {
		*ep = EP_METRICS;
		if (!get) {
			cofferd_resp_error(r, 405, "MethodNotAllowed", "GET only");
			return;
		}
		if (cofferd_metrics_render(&r->body, &r->len) < 0) {
			cofferd_resp_error(r, 500, "PluginInternalError", "metrics unavailable");
			return;
		}
		r->status = 200;
		r->content_type = "text/plain; version=0.0.4; charset=utf-8";
		return;
	}
	if (strcmp(p, COFFER_KBS_PREFIX "/auth") == 0) {
		*ep = EP_AUTH;
		if (!post) {
			cofferd_resp_error(r, 405, "MethodNotAllowed", "POST only");
		} else if (!cofferd_ratelimit_allow(client_addr(q->conn), d->cfg.auth_rate,
		                                    d->cfg.auth_burst)) {
			cofferd_resp_error(r, 429, "TooManyRequests",
			                   "too many new sessions from this client");
			r->retry_after = true;
		} else {
			cofferd_handle_auth(d, q, r);
		}
		return;
	}
	if (strcmp(p, COFFER_KBS_PREFIX "/attest") == 0) {
		*ep = EP_ATTEST;
		if (!post)
			cofferd_resp_error(r, 405, "MethodNotAllowed", "POST only");
		else
			cofferd_handle_attest(d, q, r);
		return;
	}
	if (strcmp(p, COFFER_KBS_PREFIX "/jwks") == 0) {
		*ep = EP_JWKS;
		if (!get) {
			cofferd_resp_error(r, 405, "MethodNotAllowed", "GET only");
			return;
		}
		r->body = strdup(d->jwks_body);
		r->len = d->jwks_len;
		r->status = r->body ? 200 : 500;
		r->content_type = "application/json";
		return;
	}
	if (get && strncmp(p, res_prefix, sizeof(res_prefix) - 1) == 0) {
		*ep = EP_RESOURCE;
		cofferd_handle_resource_get(d, q, r, p + sizeof(res_prefix) - 1);
		return;
	}
	if (strncmp(p, COFFER_KBS_PREFIX "/", sizeof(COFFER_KBS_PREFIX)) == 0) {
		cofferd_handle_admin(d, q, r, ep);
		return;
	}
	cofferd_resp_error(r, 404, "InvalidRequestPath", "no such endpoint");
}

static const char *ep_log_name(enum cofferd_endpoint ep)
{
	static const char *const n[EP_COUNT] = {
		"auth",         "attest",       "resource",    "admin_resource",
		"admin_policy", "admin_refval", "admin_other", "jwks",
		"metrics",      "healthz",      "other",
	};
	return ((int)ep >= 0 && ep < EP_COUNT) ? n[ep] : "other";
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct cofferd *d = cls;
	struct conn_state *st = *con_cls;
	struct cofferd_req q;
	struct cofferd_resp r;
	enum cofferd_endpoint ep = EP_OTHER;
	enum MHD_Result ret;
	char *path = NULL;
	const char *qm;
	(void)version;

	if (st == NULL) {
		const char *cl;
		st = calloc(1, sizeof(*st));
		if (st == NULL)
			return MHD_NO;
		coffer_buf_init(&st->body, d->cfg.max_body);
		clock_gettime(CLOCK_MONOTONIC, &st->start);
		*con_cls = st;
		atomic_fetch_add(&d->inflight, 1);
		/* refuse a declared oversize body before reading it */
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			char *end = NULL;
			unsigned long long n = strtoull(cl, &end, 10);
			if (end == cl || *end != '\0' || n > d->cfg.max_body) {
				memset(&r, 0, sizeof(r));
				cofferd_resp_error(&r, 413, "PayloadTooLarge",
				                   "request body over %zu bytes", d->cfg.max_body);
				ret = send_resp(conn, &r);
				cofferd_metrics_request(EP_OTHER, 413, elapsed(&st->start));
				free(r.body);
				return ret;
			}
		}
		return MHD_YES;
	}
	if (st->audit_wait) {
		/* resumed by on_audit_done */
		if (!atomic_load(&st->audit_ready))
			return MHD_YES;
		r = st->pending;
		memset(&st->pending, 0, sizeof(st->pending));
		st->audit_wait = false;
		ep = st->pending_ep;
		if (st->audit_error < 0)
			cofferd_resp_error(&r, 500, "PluginInternalError", "audit log unavailable");
		goto respond;
	}
	if (*upload_data_size) {
		st->seen += *upload_data_size;
		if (!st->too_big &&
		    coffer_buf_append(&st->body, upload_data, *upload_data_size) < 0) {
			st->too_big = true;
			coffer_buf_free(&st->body);
		}
		*upload_data_size = 0;
		if (st->too_big && st->seen / DISCARD_FACTOR > d->cfg.max_body)
			return MHD_NO;
		return MHD_YES;
	}

	memset(&r, 0, sizeof(r));
	if (st->too_big) {
		cofferd_resp_error(&r, 413, "PayloadTooLarge", "request body over %zu bytes",
		                   d->cfg.max_body);
		goto respond;
	}
	memset(&q, 0, sizeof(q));
	q.method = method;
	qm = strchr(url, '?');
	path = qm ? strndup(url, (size_t)(qm - url)) : strdup(url);
	if (path == NULL)
		return MHD_NO;
	q.path = path;
	q.query = qm ? qm + 1 : NULL;
	q.body = st->body.ptr;
	q.body_len = st->body.len;
	q.cookie_session = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, COFFER_KBS_COOKIE);
	q.authorization =
	        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	q.content_type =
	        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	q.conn = conn;
	cofferd_dispatch(d, &q, &r, &ep);
	if (r.audit) {
		/* answer once the audit entry is durable (docs/audit.md); the
		 * thread serves other connections meanwhile. While stopping, wait
		 * here instead: a suspended connection must not outlive the
		 * daemon. */
		json_t *fields = r.audit;
		int aerr = 0;

		r.audit = NULL;
		if (cofferd_audit_try_now(d, fields, &aerr)) {
			/* the writer was idle: written here, no hand-off */
			if (aerr < 0)
				cofferd_resp_error(&r, 500, "PluginInternalError",
				                   "audit log unavailable");
			goto respond;
		}
		if (!atomic_load(&d->stopping)) {
			st->pending = r;
			st->pending_ep = ep;
			st->conn = conn;
			st->audit_wait = true;
			atomic_store(&st->audit_ready, false);
			MHD_suspend_connection(conn);
			cofferd_audit_submit(d, fields, on_audit_done, st);
			free(path);
			return MHD_YES;
		}
		if (cofferd_audit_record(d, fields) < 0)
			cofferd_resp_error(&r, 500, "PluginInternalError", "audit log unavailable");
	}
respond:
	ret = send_resp(conn, &r);
	{
		double secs = elapsed(&st->start);
		cofferd_metrics_request(ep, r.status, secs);
		if (ep != EP_METRICS && ep != EP_HEALTHZ &&
		    cofferd_log_enabled(r.status >= 500 ? LOG_ERROR_ : LOG_DEBUG_))
			cofferd_log(r.status >= 500 ? LOG_ERROR_ : LOG_DEBUG_, "request",
			            json_pack("{s:s,s:s,s:i,s:f}", "method", method, "endpoint",
			                      ep_log_name(ep), "status", r.status, "ms",
			                      secs * 1000.0));
	}
	if (r.wipe && r.body)
		coffer_free_str_wiped(r.body);
	else
		free(r.body);
	free(path);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct cofferd *d = cls;
	struct conn_state *st = *con_cls;
	(void)conn;
	(void)toe;

	if (st == NULL)
		return;
	if (st->pending.body) { /* never sent (connection closed while waiting) */
		if (st->pending.wipe)
			coffer_free_str_wiped(st->pending.body);
		else
			free(st->pending.body);
	}
	coffer_buf_free(&st->body); /* wiped: it may hold a secret being uploaded */
	free(st);
	*con_cls = NULL;
	atomic_fetch_sub(&d->inflight, 1);
}

/* a printf-style logger: the format is libmicrohttpd's, which the
 * attribute tells -Wformat-nonliteral (clang) */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	(void)cls;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	cofferd_log(LOG_DEBUG_, "http", json_pack("{s:s}", "detail", msg));
}

static int parse_listen(struct sockaddr_storage *ss, socklen_t *len, const char *listen)
{
	char host[128];
	const char *colon = strrchr(listen, ':');
	char *end = NULL;
	unsigned long port;
	size_t hl;

	if (colon == NULL)
		return coffer_error_set(COFFER_EINVAL, "listen: want host:port");
	port = strtoul(colon + 1, &end, 10);
	if (end == colon + 1 || *end != '\0' || port > 65535)
		return coffer_error_set(COFFER_EINVAL, "listen: bad port");
	hl = (size_t)(colon - listen);
	if (hl >= sizeof(host))
		return coffer_error_set(COFFER_EINVAL, "listen: host too long");
	memcpy(host, listen, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		host[hl - 1] = '\0';
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
			return coffer_error_set(COFFER_EINVAL, "listen: bad IPv6 address");
		*len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		if (strcmp(host, "localhost") == 0)
			snprintf(host, sizeof(host), "127.0.0.1");
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return coffer_error_set(COFFER_EINVAL, "listen: bad IPv4 address '%s'",
			                        host);
		*len = sizeof(*a4);
	}
	return 0;
}

int cofferd_server_start(struct MHD_Daemon **out, struct cofferd *d, char *tls_cert, char *tls_key,
                         unsigned *port_out)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
	                 MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
	struct MHD_OptionItem opts[16];
	size_t n = 0;
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *daemon;
	int error;

	if ((error = parse_listen(&ss, &sl, d->cfg.listen)) < 0)
		return error;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (tls_cert) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			return coffer_error_set(COFFER_EUNSUPPORTED,
			                        "libmicrohttpd was built without TLS");
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, tls_cert };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, tls_key };
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &ss };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, d->cfg.threads, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, d->cfg.max_connections,
		                             NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, d->cfg.timeout, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		                             (intptr_t)d->cfg.max_header, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_UNESCAPE_CALLBACK,
		                             (intptr_t)identity_unescape, NULL };
	opts[n++] =
	        (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, d };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, d, MHD_OPTION_ARRAY, opts,
	                          MHD_OPTION_END);
	if (daemon == NULL)
		return coffer_error_set(COFFER_EIO, "cannot listen on %s", d->cfg.listen);
	info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
	*port_out = info ? info->port : 0;
	*out = daemon;
	return 0;
}
