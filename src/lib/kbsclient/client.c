/*
 * The KBS client (PROTOCOL.md sections 1-3) over Coffer's own HTTP client
 * (coffer/http.h: no libcurl inside the TEE, docs/http.md).
 *
 * RCAR: POST /kbs/v0/auth -> nonce + session cookie; a fresh ephemeral TEE
 * key; report_data = H(JCS({"additional-evidence":"", nonce, tee-pubkey}));
 * evidence from the callback; POST /kbs/v0/attest -> token. Resources are
 * fetched with the session cookie (as upstream clients do); a 401 means the
 * session or token is gone (expired, broker restarted) and the handshake is
 * run once more. The session cookie is kept here (Set-Cookie name=value,
 * sent back as Cookie), one keep-alive connection per client.
 *
 * Network failures, 5xx and 429 are retried with exponential backoff; other
 * answers are final. Every failure names the broker, the step and, when the
 * broker sent one, its error body.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "coffer/buf.h"
#include "coffer/http.h"
#include "coffer/jose.h"
#include "coffer/json.h"
#include "coffer/kbs.h"
#include "coffer/kbs_client.h"
#include "kbsclient/kbsclient_internal.h"

#define DEFAULT_RETRIES      3
#define DEFAULT_BACKOFF_MS   200
#define BACKOFF_CAP_MS       5000
#define DEFAULT_TIMEOUT_MS   10000
#define DEFAULT_MARGIN_S     30
#define DEFAULT_MAX_RESPONSE ((size_t)4 * 1024 * 1024)
#define URL_MAX              2048
#define MAX_COOKIES          8
#define COOKIE_MAX           4096

struct coffer_kbs_client {
	pthread_mutex_t lock;
	coffer_http *http;
	char *cookies[MAX_COOKIES]; /* "name=value" */
	char *url;
	char *cacert;
	char *tee;
	char *key_type;
	char *init_data;
	size_t init_data_len;
	coffer_kbs_evidence_fn evidence;
	void *evidence_ctx;
	unsigned retries, backoff_ms, margin_s;
	long timeout_ms;
	size_t max_response;
	/* the current session */
	coffer_jwk *key;
	char *token;
	int64_t exp;
	unsigned attest_count;
};

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static const char *key_alg(const coffer_kbs_client *c)
{
	return strcmp(c->key_type, "RSA") == 0 ? "RSA-OAEP-256" : "ECDH-ES+A256KW";
}

int coffer_kbs_client_new(coffer_kbs_client **out, const coffer_kbs_client_opts *o)
{
	coffer_kbs_client *c;
	const char *kt;
	size_t ulen;

	if (o == NULL || o->version != COFFER_KBS_CLIENT_OPTS_VERSION)
		return coffer_error_set(COFFER_EINVAL, "KBS client: bad options version");
	if (o->url == NULL ||
	    (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0))
		return coffer_error_set(COFFER_EINVAL,
		                        "KBS client: the broker URL must start with http:// or "
		                        "https://");
	ulen = strlen(o->url);
	if (ulen > 512)
		return coffer_error_set(COFFER_EINVAL, "KBS client: broker URL too long");
	if (o->tee == NULL || !coffer_kbs_tee_known(o->tee))
		return coffer_error_set(COFFER_EINVAL, "KBS client: unknown TEE '%s'",
		                        o->tee ? o->tee : "(none)");
	if (o->evidence == NULL)
		return coffer_error_set(COFFER_EINVAL, "KBS client: no evidence callback");
	kt = o->key_type ? o->key_type : "EC-P256";
	if (strcmp(kt, "EC-P256") != 0 && strcmp(kt, "EC-P521") != 0 && strcmp(kt, "RSA") != 0)
		return coffer_error_set(COFFER_EINVAL,
		                        "KBS client: key type '%s' (expected EC-P256, EC-P521 or "
		                        "RSA)",
		                        kt);
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	pthread_mutex_init(&c->lock, NULL);
	c->url = strdup(o->url);
	/* no trailing slash: paths are appended */
	if (c->url)
		while (strlen(c->url) > 8 && c->url[strlen(c->url) - 1] == '/')
			c->url[strlen(c->url) - 1] = '\0';
	c->cacert = o->cacert ? strdup(o->cacert) : NULL;
	c->tee = strdup(o->tee);
	c->key_type = strdup(kt);
	if (o->init_data) {
		c->init_data = malloc(o->init_data_len + 1);
		if (c->init_data) {
			memcpy(c->init_data, o->init_data, o->init_data_len);
			c->init_data[o->init_data_len] = '\0';
			c->init_data_len = o->init_data_len;
		}
	}
	c->evidence = o->evidence;
	c->evidence_ctx = o->evidence_ctx;
	c->retries = o->retries ? o->retries : DEFAULT_RETRIES;
	c->backoff_ms = o->backoff_ms ? o->backoff_ms : DEFAULT_BACKOFF_MS;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	c->margin_s = o->refresh_margin_s ? o->refresh_margin_s : DEFAULT_MARGIN_S;
	c->max_response = o->max_response ? o->max_response : DEFAULT_MAX_RESPONSE;
	if (c->url == NULL || (o->cacert && c->cacert == NULL) || c->tee == NULL ||
	    c->key_type == NULL || (o->init_data && c->init_data == NULL)) {
		coffer_kbs_client_free(c);
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	{
		coffer_http_opts ho = { .cacert = c->cacert,
			                .connect_timeout_ms = c->timeout_ms,
			                .io_timeout_ms = c->timeout_ms,
			                .total_timeout_ms = c->timeout_ms,
			                .user_agent = "coffer-agent/0.1" };
		int error = coffer_http_new(&c->http, &ho);
		if (error < 0) {
			coffer_kbs_client_free(c);
			return error;
		}
	}
	if (o->init_data && memchr(o->init_data, '\0', o->init_data_len) != NULL) {
		coffer_kbs_client_free(c);
		return coffer_error_set(COFFER_EINVAL, "KBS client: init-data contains a NUL byte");
	}
	*out = c;
	return 0;
}

void coffer_kbs_client_free(coffer_kbs_client *c)
{
	if (c == NULL)
		return;
	coffer_http_free(c->http);
	for (size_t i = 0; i < MAX_COOKIES; i++)
		coffer_free_str_wiped(c->cookies[i]);
	free(c->url);
	free(c->cacert);
	free(c->tee);
	free(c->key_type);
	if (c->init_data)
		coffer_free_wiped(c->init_data, c->init_data_len);
	coffer_jwk_free(c->key);
	coffer_free_str_wiped(c->token);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

unsigned coffer_kbs_client_attest_count(const coffer_kbs_client *c)
{
	return __atomic_load_n(&c->attest_count, __ATOMIC_RELAXED);
}

/* ---- HTTP ---- */

/* ---- cookies: the broker's session (PROTOCOL.md section 2) ---- */

static void cookies_clear(coffer_kbs_client *c)
{
	for (size_t i = 0; i < MAX_COOKIES; i++) {
		coffer_free_str_wiped(c->cookies[i]);
		c->cookies[i] = NULL;
	}
}

/* Keep "name=value" from one Set-Cookie (attributes ignored: one broker,
 * one session); an empty value or Max-Age=0 removes the cookie. */
static void cookie_store(coffer_kbs_client *c, const char *set)
{
	size_t n = strcspn(set, ";"), nlen;
	const char *eq = memchr(set, '=', n);
	bool remove;
	char *kv;

	if (eq == NULL || eq == set || n > COOKIE_MAX)
		return;
	nlen = (size_t)(eq - set);
	remove = n == nlen + 1 || strstr(set + n, "Max-Age=0") != NULL ||
	         strstr(set + n, "max-age=0") != NULL;
	for (size_t i = 0; i < MAX_COOKIES; i++) {
		if (c->cookies[i] && strncmp(c->cookies[i], set, nlen + 1) == 0) {
			coffer_free_str_wiped(c->cookies[i]);
			c->cookies[i] = NULL;
		}
	}
	if (remove)
		return;
	kv = strndup(set, n);
	if (kv == NULL)
		return;
	for (size_t i = 0; i < MAX_COOKIES; i++) {
		if (c->cookies[i] == NULL) {
			c->cookies[i] = kv;
			return;
		}
	}
	coffer_free_str_wiped(kv);
}

static int cookie_header(coffer_buf *out, const coffer_kbs_client *c)
{
	bool first = true;

	for (size_t i = 0; i < MAX_COOKIES; i++) {
		if (c->cookies[i] == NULL)
			continue;
		if (coffer_buf_puts(out, first ? "Cookie: " : "; ") < 0 ||
		    coffer_buf_puts(out, c->cookies[i]) < 0)
			return coffer_error_set(COFFER_ENOMEM, "out of memory");
		first = false;
	}
	if (coffer_buf_putc(out, '\0') < 0)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	return 0;
}

/* ---- HTTP ---- */

enum req_kind { REQ_GET, REQ_POST };

/*
 * One request with retries. `retry_all`: retry on any transient failure
 * (idempotent requests); otherwise only when the connection could not be
 * made (the request never reached the broker). On return *status is the
 * HTTP status (0 when none) and `body` holds the answer.
 */
static int http(long *status, coffer_buf *body, coffer_kbs_client *c, enum req_kind kind,
                const char *path, const char *json_body, bool retry_all, const char *step)
{
	char url[URL_MAX];
	unsigned pause = c->backoff_ms;
	int error = 0, n;
	enum coffer_http_failure fail = COFFER_HTTP_FAIL_NONE;

	*status = 0;
	n = snprintf(url, sizeof(url), "%s%s", c->url, path);
	if (n < 0 || (size_t)n >= sizeof(url))
		return coffer_error_set(COFFER_EINVAL, "KBS client: URL too long");
	for (unsigned attempt = 0;; attempt++) {
		coffer_buf cookie = COFFER_BUF_INIT_MAX(MAX_COOKIES * (COOKIE_MAX + 2) + 16);
		const char *hdrs[4];
		size_t nh = 0;
		coffer_http_request req = { 0 };
		coffer_http_response resp;

		coffer_buf_clear(body);
		hdrs[nh++] = "Accept: application/json";
		if (kind == REQ_POST)
			hdrs[nh++] = "Content-Type: application/json";
		if ((error = cookie_header(&cookie, c)) < 0)
			return error;
		if (cookie.len > 1)
			hdrs[nh++] = (const char *)cookie.ptr;
		hdrs[nh] = NULL;
		req.method = kind == REQ_POST ? "POST" : "GET";
		req.url = url;
		req.headers = hdrs;
		req.max_body = body->max > 1 ? body->max - 1 : 1;
		if (kind == REQ_POST) {
			req.body = json_body;
			req.body_len = strlen(json_body);
		}
		error = coffer_http_perform(&resp, c->http, &req);
		coffer_wipe(cookie.ptr, cookie.len); /* the session cookie */
		coffer_buf_free(&cookie);
		if (error == 0) {
			*status = resp.status;
			for (size_t i = 0; i < resp.nheaders; i++)
				if (strcasecmp(resp.headers[i].name, "Set-Cookie") == 0)
					cookie_store(c, resp.headers[i].value);
			/* the answer moves into `body` (no copy: it may hold the
			 * token); the client bounded it to body->max - 1 */
			coffer_buf_free(body); /* wipes */
			body->ptr = resp.body.ptr;
			body->len = resp.body.len;
			body->cap = resp.body.cap;
			resp.body.ptr = NULL;
			resp.body.len = resp.body.cap = 0;
			coffer_http_response_free(&resp);
			if ((*status < 500 && *status != 429) || attempt >= c->retries)
				break;
		} else {
			fail = coffer_http_last_failure(c->http);
			if (error == COFFER_ELIMIT && fail == COFFER_HTTP_FAIL_PROTO)
				return coffer_error_wrap(
				        COFFER_ELIMIT, "broker %s: %s answer larger than %zu bytes",
				        c->url, step, body->max);
			if (fail == COFFER_HTTP_FAIL_TLS)
				return coffer_error_wrap(COFFER_EAUTH, "broker %s: %s", c->url,
				                         step);
			if (fail == COFFER_HTTP_FAIL_REQUEST)
				return error;
			if (attempt >= c->retries || !(fail == COFFER_HTTP_FAIL_CONNECT ||
			                               (retry_all && fail == COFFER_HTTP_FAIL_IO)))
				break;
		}
		sleep_ms(pause);
		pause = pause * 2 > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : pause * 2;
	}
	if (error < 0)
		return coffer_error_wrap(COFFER_ENET,
		                         "broker %s unreachable (%s, after %u attempts)", c->url,
		                         step, c->retries + 1);
	return 0;
}

/* A non-2xx answer as an error code and message. */
static int status_error(long status, const coffer_buf *body, const char *url, const char *step)
{
	char *text = coffer_kbs_error_text((const char *)body->ptr, body->len);
	const char *why = text ? text : "no error body";
	int code;

	switch (status) {
	case 400:
		code = COFFER_EINVAL;
		break;
	case 401:
		code = COFFER_EAUTH;
		break;
	case 403:
		code = COFFER_EDENIED;
		break;
	case 404:
		code = COFFER_ENOTFOUND;
		break;
	case 413:
	case 429:
		code = COFFER_ELIMIT;
		break;
	default:
		code = status >= 500 ? COFFER_ENET : COFFER_ERROR;
	}
	coffer_error_set(code, "broker %s: %s: HTTP %ld (%s)", url, step, status, why);
	free(text);
	return code;
}

/* ---- RCAR ---- */

static int make_key(coffer_jwk **out, const coffer_kbs_client *c)
{
	coffer_jwk *k = NULL;
	int error;

	if (strcmp(c->key_type, "RSA") == 0)
		error = coffer_jwk_generate(&k, "RSA", NULL, 2048);
	else
		error = coffer_jwk_generate(
		        &k, "EC", strcmp(c->key_type, "EC-P521") == 0 ? "P-521" : "P-256", 0);
	if (error < 0)
		return coffer_error_wrap(error, "KBS client: TEE key");
	if ((error = coffer_jwk_set_alg(k, key_alg(c))) < 0) {
		coffer_jwk_free(k);
		return error;
	}
	*out = k;
	return 0;
}

/* tee-pubkey as PROTOCOL.md section 1 writes it: EC {kty,crv,alg,x,y},
 * RSA {kty,alg,n,e}. */
static int tee_pubkey_json(json_t **out, const coffer_jwk *k)
{
	static const char *const ec[] = { "kty", "crv", "alg", "x", "y" };
	static const char *const rsa[] = { "kty", "alg", "n", "e" };
	const char *const *names;
	size_t n;
	json_t *full = NULL, *pub;
	int error;

	if ((error = coffer_jwk_to_json(&full, k, false)) < 0)
		return error;
	if (strcmp(coffer_jwk_kty(k), "RSA") == 0) {
		names = rsa;
		n = 4;
	} else {
		names = ec;
		n = 5;
	}
	pub = json_object();
	if (pub == NULL) {
		json_decref(full);
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		json_t *v = strcmp(names[i], "alg") == 0
		                    ? json_string(coffer_jwk_alg(k))
		                    : json_incref(json_object_get(full, names[i]));
		if (v == NULL || json_object_set_new(pub, names[i], v) < 0) {
			json_decref(full);
			json_decref(pub);
			return coffer_error_set(COFFER_ERROR, "KBS client: TEE key lacks '%s'",
			                        names[i]);
		}
	}
	json_decref(full);
	*out = pub;
	return 0;
}

static int build_attest_body(char **out, coffer_kbs_client *c, const coffer_jwk *key,
                             const char *nonce, const char *hash_name)
{
	json_t *pub = NULL, *ev = NULL, *req = NULL;
	coffer_kbs_hash h;
	uint8_t digest[COFFER_KBS_DIGEST_MAX];
	size_t dlen = 0, len;
	int error;

	*out = NULL;
	if (hash_name) {
		if ((error = coffer_kbs_hash_from_name(&h, hash_name)) < 0)
			return error;
	} else {
		h = coffer_kbs_binding_hash_for_tee(c->tee);
	}
	if ((error = tee_pubkey_json(&pub, key)) < 0)
		goto out;
	/* no additional devices: the member is the empty string */
	if ((error = coffer_kbs_binding_digest(digest, &dlen, h, nonce, pub, "")) < 0)
		goto out;
	if ((error = c->evidence(&ev, c->evidence_ctx, digest, dlen)) < 0) {
		error = coffer_error_wrap(error, "evidence");
		goto out;
	}
	req = json_pack("{s:{s:s,s:O},s:{s:O,s:s}}", "runtime-data", "nonce", nonce, "tee-pubkey",
	                pub, "tee-evidence", "primary_evidence", ev, "additional_evidence", "");
	if (req == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	if (c->init_data) {
		json_t *id = json_pack("{s:s,s:s}", "format", "toml", "body", c->init_data);
		if (id == NULL || json_object_set_new(req, "init-data", id) < 0) {
			error = coffer_error_set(
			        COFFER_EINVAL,
			        "init-data: not valid UTF-8 text (or out of memory)");
			goto out;
		}
	}
	error = coffer_json_dump(out, &len, req);
out:
	json_decref(pub);
	json_decref(ev);
	json_decref(req);
	return error;
}

static int rcar(coffer_kbs_client *c)
{
	static const char auth_body[] = "{\"version\":\"" COFFER_KBS_VERSION "\",\"tee\":\"%s\","
	                                "\"extra-params\":{\"supported-hash-algorithms\":"
	                                "[\"sha384\",\"sha256\",\"sha512\"]}}";
	coffer_buf body = COFFER_BUF_INIT_MAX(64 * 1024);
	char auth[256], *nonce = NULL, *hash = NULL, *attest = NULL, *token = NULL;
	coffer_jwk *key = NULL;
	int64_t exp = 0;
	long status;
	int error;

	/* a new session: forget the old cookie, token and key */
	cookies_clear(c);
	coffer_free_str_wiped(c->token);
	c->token = NULL;
	c->exp = 0;
	coffer_jwk_free(c->key);
	c->key = NULL;

	snprintf(auth, sizeof(auth), auth_body, c->tee);
	if ((error = http(&status, &body, c, REQ_POST, COFFER_KBS_PREFIX "/auth", auth, true,
	                  "auth")) < 0)
		goto out;
	if (status != 200) {
		error = status_error(status, &body, c->url, "auth");
		goto out;
	}
	if ((error = coffer_kbs_parse_challenge(&nonce, &hash, (const char *)body.ptr, body.len)) <
	    0)
		goto out;
	if ((error = make_key(&key, c)) < 0 ||
	    (error = build_attest_body(&attest, c, key, nonce, hash)) < 0)
		goto out;
	coffer_buf_free(&body);
	coffer_buf_init(&body, KBSC_TOKEN_MAX + 4096);
	/* the nonce is single-use: only a connection that never opened is retried */
	if ((error = http(&status, &body, c, REQ_POST, COFFER_KBS_PREFIX "/attest", attest, false,
	                  "attest")) < 0)
		goto out;
	if (status != 200) {
		error = status_error(status, &body, c->url, "attest");
		if (error == COFFER_EAUTH)
			error = coffer_error_wrap(COFFER_EVERIFY, "attestation refused");
		goto out;
	}
	if ((error = coffer_kbs_parse_attest_response(&token, &exp, (const char *)body.ptr,
	                                              body.len)) < 0)
		goto out;
	c->key = key;
	key = NULL;
	c->token = token;
	token = NULL;
	c->exp = exp;
	__atomic_add_fetch(&c->attest_count, 1, __ATOMIC_RELAXED);
	error = 0;
out:
	/* the attest answer holds the token: wipe it, and every copy */
	coffer_wipe(body.ptr, body.len);
	coffer_buf_free(&body);
	free(nonce);
	free(hash);
	free(attest);
	coffer_free_str_wiped(token);
	coffer_jwk_free(key);
	return error;
}

static bool token_fresh(const coffer_kbs_client *c)
{
	if (c->token == NULL || c->key == NULL)
		return false;
	if (c->exp == 0)
		return true; /* no exp: kept until the broker says 401 */
	return (int64_t)time(NULL) + (int64_t)c->margin_s < c->exp;
}

/* RCAR with retries of the whole handshake for network-level failures and
 * broker errors (a consumed nonce needs a new auth). */
static int attest_locked(coffer_kbs_client *c)
{
	unsigned pause = c->backoff_ms;
	int error = 0;

	for (unsigned attempt = 0; attempt <= 1; attempt++) {
		error = rcar(c);
		if (error != COFFER_ENET)
			break;
		if (strstr(coffer_error_last(), "unreachable") != NULL)
			break; /* http() already retried the connection */
		sleep_ms(pause);
		pause *= 2;
	}
	return error;
}

int coffer_kbs_client_attest(coffer_kbs_client *c)
{
	int error;

	pthread_mutex_lock(&c->lock);
	error = attest_locked(c);
	pthread_mutex_unlock(&c->lock);
	return error;
}

int coffer_kbs_client_token(char **out, coffer_kbs_client *c)
{
	int error = 0;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	if (!token_fresh(c))
		error = attest_locked(c);
	if (error == 0) {
		*out = strdup(c->token);
		if (*out == NULL)
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	pthread_mutex_unlock(&c->lock);
	return error;
}

int coffer_kbs_client_tee_key_pem(char **out, coffer_kbs_client *c)
{
	int error = 0;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	if (!token_fresh(c))
		error = attest_locked(c);
	if (error == 0)
		error = coffer_jwk_to_pem(out, c->key, true);
	pthread_mutex_unlock(&c->lock);
	return error;
}

static int fetch_once(coffer_secret *out, coffer_kbs_client *c, const char *urlpath, long *status)
{
	coffer_buf body = COFFER_BUF_INIT_MAX(c->max_response);
	json_t *jwe = NULL;
	int error;

	if ((error = http(status, &body, c, REQ_GET, urlpath, NULL, true, "resource")) < 0)
		goto out;
	if (*status != 200) {
		error = status_error(*status, &body, c->url, "resource");
		goto out;
	}
	if ((error = coffer_kbs_parse_resource_jwe(&jwe, (const char *)body.ptr, body.len,
	                                           coffer_jwk_alg(c->key))) < 0)
		goto out;
	if ((error = coffer_jwe_decrypt_json(out, jwe, c->key, NULL)) < 0)
		error = coffer_error_wrap(error == COFFER_EVERIFY ? COFFER_EVERIFY : error,
		                          "broker %s: resource answer: JWE does not decrypt with "
		                          "the TEE key",
		                          c->url);
out:
	json_decref(jwe);
	coffer_buf_free(&body);
	return error;
}

int coffer_kbs_client_get_resource(coffer_secret *out, coffer_kbs_client *c, const char *path)
{
	coffer_kbs_resource_path rp;
	char norm[3 * (COFFER_KBS_SEGMENT_MAX + 1)], urlpath[URL_MAX];
	long status = 0;
	int error, n;

	if (path == NULL)
		return coffer_error_set(COFFER_EINVAL, "resource path missing");
	if ((error = coffer_kbs_resource_path_parse(&rp, path, strlen(path))) < 0 ||
	    (error = coffer_kbs_resource_path_format(norm, sizeof(norm), &rp)) < 0)
		return error;
	n = snprintf(urlpath, sizeof(urlpath), COFFER_KBS_PREFIX "/resource/%s", norm);
	if (n < 0 || (size_t)n >= sizeof(urlpath))
		return coffer_error_set(COFFER_EINVAL, "resource path too long");
	pthread_mutex_lock(&c->lock);
	if (!token_fresh(c) && (error = attest_locked(c)) < 0)
		goto out;
	error = fetch_once(out, c, urlpath, &status);
	if (error < 0 && status == 401) {
		/* session or token gone (expired, broker restarted): attest again */
		if ((error = attest_locked(c)) < 0)
			goto out;
		error = fetch_once(out, c, urlpath, &status);
	}
out:
	pthread_mutex_unlock(&c->lock);
	return error;
}
