/*
 * libFuzzer target: cofferd's request handling, the code that faces the
 * network directly: the router (server.c cofferd_dispatch), the RCAR
 * handlers and their body parsing (rcar.c: auth, attest, resource, the
 * session cookie and bearer tokens), the admin API and its JWT
 * authentication (admin.c), token checks (token.c). A broker is built on
 * the first input (broker.c, as main.c builds it) in a fresh directory
 * under $TMPDIR (else /tmp), removed at exit; there is no HTTP listener:
 * each input goes straight to the dispatcher with conn = NULL, so
 * libmicrohttpd's own parsing (and the query arguments it hands over) is
 * not part of this target.
 *
 * The broker: `sample` evidence allowed, allow_all resource and release
 * policies, plaintext uploads allowed, a bootstrap workload provider whose
 * public key is in the configuration, server.max_body 64 KiB, sessions and
 * tokens living a day (a long run keeps its start-up token). It keeps its
 * state from one input to the next, as a real broker does: a policy an
 * input uploads stays in force for the inputs after it, until the broker
 * is replaced by a new one every 20000 inputs (ROTATE). A finding that
 * needs earlier inputs replays with them: name them all to the binary.
 *
 * Input (text, LF or CRLF line ends):
 *
 *   METHOD PATH[?QUERY]           anything after a second space is ignored
 *   Name: value                   cookie, authorization, content-type, and
 *   ...                           tee (below); other names are ignored
 *                                 an empty line
 *   body                          the rest, raw bytes
 *
 * The head is at most 16 KiB and holds no NUL; a body over max_body after
 * the substitutions is dropped (the server answers 413 before dispatch).
 * Placeholders let inputs past the checks random bytes cannot pass:
 *
 *   @SESSION@      cookie         a session made for this input by a real
 *                                 POST /kbs/v0/auth, tee `sample` or the
 *                                 one the `tee:` line names
 *   @NONCE@        body           that session's nonce
 *   @REPORT_DATA@  body           base64 of the report_data binding of the
 *                                 body's runtime-data and additional_evidence
 *                                 (so `sample` evidence verifies)
 *   @ATTESTED@     cookie         a session attested at start-up
 *   @TOKEN@        authorization  that session's EAR token
 *   @ADMIN@        authorization  an admin JWT of the bootstrap principal,
 *                                 bound to this request (htm, htu, bdh) with
 *                                 a fresh jti
 *
 * e.g.  POST /kbs/v0/attest
 *       cookie: kbs-session-id=@SESSION@
 *
 *       {"runtime-data":{"nonce":"@NONCE@","tee-pubkey":{...}},...}
 *
 * Each answer is checked: a status in 200..599, every error a PROTOCOL.md
 * section 3 document, and a released resource always carrying its audit
 * fields (those are dropped here, not written: the release path's audit
 * append is the server's, and a store write per input would be slow).
 */
#define _GNU_SOURCE /* nftw's FTW_DEPTH and FTW_PHYS */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "coffer/buf.h"
#include "coffer/codec.h"
#include "coffer/file.h"
#include "coffer/json.h"
#include "coffer/kbs.h"
#include "cofferd.h"

#define HEAD_MAX  ((size_t)16 * 1024)
#define BODY_MAX  ((size_t)64 * 1024)
#define VALUE_MAX ((size_t)32 * 1024) /* a header after substitution */
#define TEE_MAX   32
#define ROTATE    20000 /* inputs per broker */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cofferd broker;
static bool ready;
static char data_dir[512];
static coffer_jwk *admin_key; /* the bootstrap principal's private key */
static char *admin_id;        /* its principal id (RFC 7638 thumbprint) */
static char attested_id[33];
static char *attested_token;
static unsigned long admin_jti;
static unsigned long inputs;

struct session {
	bool made;
	char id[33];
	char nonce[64];
	coffer_kbs_hash h;
};

struct subst {
	const char *from;
	const char *to; /* NULL: left as it is */
};

static void die(const char *what)
{
	fprintf(stderr, "fuzz_cofferd_request: %s: %s\n", what, coffer_error_last());
	abort();
}

static void resp_free(struct cofferd_resp *r)
{
	if (r->wipe && r->body)
		coffer_free_str_wiped(r->body);
	else
		free(r->body);
	json_decref(r->audit);
	memset(r, 0, sizeof(*r));
}

/* What every answer must satisfy, whatever the request. */
static void check(const struct cofferd_resp *r, enum cofferd_endpoint ep)
{
	static const char prefix[] = "https://github.com/confidential-containers/kbs/errors/";
	json_t *doc = NULL;
	const char *type;

	if (r->status < 200 || r->status > 599 || (int)ep < 0 || ep >= EP_COUNT)
		abort();
	/* rcar.c: no secret leaves unaudited, and only a release is audited so */
	if ((ep == EP_RESOURCE && r->status == 200) != (r->audit != NULL))
		abort();
	if (r->status < 400)
		return;
	/* every error is {"type": ".../errors/<Variant>", "detail": "..."} */
	if (r->body == NULL || coffer_json_parse(&doc, r->body, r->len, 0) < 0)
		abort();
	type = json_string_value(json_object_get(doc, "type"));
	if (type == NULL || strncmp(type, prefix, sizeof(prefix) - 1) != 0 ||
	    !json_is_string(json_object_get(doc, "detail")))
		abort();
	json_decref(doc);
}

/* The server's part around the dispatcher (server.c on_request), less the
 * audit append; the caller frees the answer with resp_free. */
static void dispatch(const struct cofferd_req *q, struct cofferd_resp *r)
{
	enum cofferd_endpoint ep = EP_OTHER;

	memset(r, 0, sizeof(*r));
	cofferd_dispatch(&broker, q, r, &ep);
	check(r, ep);
	cofferd_metrics_request(ep, r->status, 0.0);
}

/* A real POST /kbs/v0/auth: the session's id (from Set-Cookie), nonce and
 * binding hash. Returns 0, or -1 when the broker refused (e.g. the tee). */
static int new_session(struct session *s, const char *tee)
{
	struct cofferd_req q;
	struct cofferd_resp r;
	json_t *req, *doc = NULL;
	const json_t *extra;
	const char *nonce, *id, *end;
	char *text;
	int ret = -1;

	memset(s, 0, sizeof(*s));
	req = json_pack("{s:s,s:s,s:{}}", "version", COFFER_KBS_VERSION, "tee", tee,
	                "extra-params");
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (text == NULL)
		return -1;
	memset(&q, 0, sizeof(q));
	q.method = "POST";
	q.path = COFFER_KBS_PREFIX "/auth";
	q.body = (const uint8_t *)text;
	q.body_len = strlen(text);
	dispatch(&q, &r);
	free(text);
	if (r.status != 200 || coffer_json_parse(&doc, r.body, r.len, 0) < 0)
		goto out;
	nonce = json_string_value(json_object_get(doc, "nonce"));
	id = strchr(r.set_cookie, '=');
	end = id ? strchr(id, ';') : NULL;
	if (nonce == NULL || strlen(nonce) >= sizeof(s->nonce) || end == NULL ||
	    (size_t)(end - id - 1) >= sizeof(s->id))
		abort(); /* a 200 without a session is a broker bug */
	memcpy(s->id, id + 1, (size_t)(end - id - 1));
	snprintf(s->nonce, sizeof(s->nonce), "%s", nonce);
	/* the challenge names the binding hash when it is not the TEE's default */
	extra = json_object_get(json_object_get(doc, "extra-params"), "selected-hash-algorithm");
	if (coffer_kbs_hash_from_name(&s->h, json_string_value(extra)) < 0)
		s->h = coffer_kbs_binding_hash_for_tee(tee);
	s->made = true;
	ret = 0;
out:
	json_decref(doc);
	resp_free(&r);
	return ret;
}

/* base64 of the report_data the attest handler expects for `req`:
 * H(JCS({"additional-evidence", "nonce", "tee-pubkey"})). NULL when the
 * body has no such fields. */
static char *binding_of(const json_t *req, coffer_kbs_hash h)
{
	const json_t *rt = json_object_get(req, "runtime-data");
	const json_t *add =
	        json_object_get(json_object_get(req, "tee-evidence"), "additional_evidence");
	const char *nonce = json_string_value(json_object_get(rt, "nonce"));
	const json_t *pk = json_object_get(rt, "tee-pubkey");
	uint8_t dg[COFFER_KBS_DIGEST_MAX];
	size_t n = 0;
	char *b64 = NULL;

	if (nonce == NULL || !json_is_object(pk) ||
	    coffer_kbs_binding_digest(dg, &n, h, nonce, pk,
	                              json_is_string(add) ? json_string_value(add) : "") < 0 ||
	    coffer_base64_encode(&b64, NULL, dg, n, COFFER_B64_STD) < 0)
		return NULL;
	return b64;
}

/* Copy `in` into `out` with every placeholder of `s` replaced; fails
 * beyond out's maximum. */
static int substitute(coffer_buf *out, const uint8_t *in, size_t len, const struct subst *s,
                      size_t n)
{
	size_t i = 0;

	while (i < len) {
		const uint8_t *at = memchr(in + i, '@', len - i);
		size_t k, plain = at ? (size_t)(at - in) - i : len - i;

		if (coffer_buf_append(out, in + i, plain) < 0)
			return -1;
		i += plain;
		if (at == NULL)
			break;
		for (k = 0; k < n; k++) {
			size_t fl = strlen(s[k].from);
			if (s[k].to && len - i >= fl && memcmp(in + i, s[k].from, fl) == 0)
				break;
		}
		if (k == n) {
			if (coffer_buf_putc(out, '@') < 0)
				return -1;
			i++;
		} else {
			if (coffer_buf_puts(out, s[k].to) < 0)
				return -1;
			i += strlen(s[k].from);
		}
	}
	/* an empty result is still a string: append terminates, reserve does not */
	return coffer_buf_append(out, "", 0);
}

static bool contains(const uint8_t *p, size_t len, const char *s)
{
	return p && memmem(p, len, s, strlen(s)) != NULL;
}

/* A JWT for the admin API from the bootstrap principal (admin.c
 * authenticate): bound to the method, the path and the body. */
static char *admin_token(const char *method, const char *path, const uint8_t *body, size_t len)
{
	uint8_t md[32];
	unsigned int mdlen = 0;
	char *bdh = NULL, *token = NULL, jti[32];
	int64_t now = cofferd_now();
	json_t *claims = NULL;

	snprintf(jti, sizeof(jti), "fuzz-%lu", ++admin_jti);
	if (EVP_Digest(body ? (const void *)body : "", len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    coffer_base64_encode(&bdh, NULL, md, mdlen, COFFER_B64_URL_NOPAD) < 0)
		die("admin token digest");
	/* json_pack refuses a method or path that is not UTF-8: no token */
	claims = json_pack("{s:s,s:I,s:I,s:s,s:s,s:s,s:s}", "sub", admin_id, "iat", (json_int_t)now,
	                   "exp", (json_int_t)(now + 60), "jti", jti, "htm", method, "htu", path,
	                   "bdh", bdh);
	if (claims && coffer_jwt_sign(&token, admin_key, "ES256", NULL, claims) < 0)
		die("admin token");
	json_decref(claims);
	free(bdh);
	return token;
}

/* Attest one session at start-up with sample evidence, as a guest would:
 * its id and token stand in for @ATTESTED@ and @TOKEN@. */
static void attest_once(void)
{
	struct session s;
	struct cofferd_req q;
	struct cofferd_resp r;
	coffer_jwk *tee_key = NULL;
	json_t *pub = NULL, *req = NULL, *doc = NULL;
	char *rd = NULL, *text = NULL;
	const char *token;

	if (new_session(&s, "sample") < 0)
		die("auth at start-up");
	if (coffer_jwk_generate(&tee_key, "EC", "P-256", 0) < 0 ||
	    coffer_jwk_to_json(&pub, tee_key, false) < 0)
		die("tee key");
	req = json_pack("{s:{s:s,s:O},s:{s:{s:s,s:s},s:s}}", "runtime-data", "nonce", s.nonce,
	                "tee-pubkey", pub, "tee-evidence", "primary_evidence", "svn", "1",
	                "report_data", "", "additional_evidence", "");
	if (req == NULL || (rd = binding_of(req, s.h)) == NULL)
		die("attest request");
	json_object_set_new(
	        json_object_get(json_object_get(req, "tee-evidence"), "primary_evidence"),
	        "report_data", json_string(rd));
	if ((text = json_dumps(req, JSON_COMPACT)) == NULL)
		die("attest request");
	memset(&q, 0, sizeof(q));
	q.method = "POST";
	q.path = COFFER_KBS_PREFIX "/attest";
	q.body = (const uint8_t *)text;
	q.body_len = strlen(text);
	q.cookie_session = s.id;
	dispatch(&q, &r);
	if (r.status != 200 || coffer_json_parse(&doc, r.body, r.len, 0) < 0 ||
	    (token = json_string_value(json_object_get(doc, "token"))) == NULL) {
		fprintf(stderr, "fuzz_cofferd_request: attest at start-up: %d %.*s\n", r.status,
		        (int)r.len, r.body ? r.body : "");
		abort();
	}
	memcpy(attested_id, s.id, sizeof(attested_id));
	if ((attested_token = strdup(token)) == NULL)
		die("out of memory");
	json_decref(doc);
	resp_free(&r);
	free(text);
	free(rd);
	json_decref(req);
	json_decref(pub);
	coffer_jwk_free(tee_key);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void broker_down(void)
{
	if (!ready)
		return;
	ready = false;
	cofferd_close(&broker);
	memset(&broker, 0, sizeof(broker));
	coffer_jwk_free(admin_key);
	admin_key = NULL;
	free(admin_id);
	admin_id = NULL;
	free(attested_token);
	attested_token = NULL;
	nftw(data_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	if ((*dst = strdup(v)) == NULL)
		die("out of memory");
}

/* A broker (broker.c, as main.c opens it) in a fresh directory, and what
 * the placeholders name. */
static void broker_up(void)
{
	const char *tmp = getenv("TMPDIR");
	struct cofferd_config *c = &broker.cfg;
	json_t *pub = NULL;
	char *text = NULL, path[sizeof(data_dir) + 32];

	snprintf(data_dir, sizeof(data_dir), "%s/cofferd-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(data_dir) == NULL) {
		perror(data_dir);
		abort();
	}
	pthread_rwlock_init(&broker.cfg_lock, NULL);
	cofferd_config_init(c);
	/* the bootstrap principal: its public key in a file, as configured */
	snprintf(path, sizeof(path), "%s/bootstrap.jwk", data_dir);
	if (coffer_jwk_generate(&admin_key, "EC", "P-256", 0) < 0 ||
	    coffer_jwk_thumbprint(&admin_id, admin_key) < 0 ||
	    coffer_jwk_to_json(&pub, admin_key, false) < 0 ||
	    (text = json_dumps(pub, JSON_COMPACT)) == NULL ||
	    coffer_file_write_private(path, text, strlen(text)) < 0)
		die("bootstrap key");
	free(text);
	json_decref(pub);
	set_str(&c->data_dir, data_dir);
	set_str(&c->bootstrap_key, path);
	set_str(&c->resource_policy, "allow_all");
	set_str(&c->release_policy, "allow_all");
	set_str(&c->log_level, "error"); /* no line per attestation */
	c->allow_sample = true;
	c->allow_plaintext_upload = true;
	c->max_body = BODY_MAX;
	c->session_lifetime = 86400;
	c->token_lifetime = 86400;
	if (cofferd_config_finish(c) < 0)
		die("configuration");
	cofferd_log_set_level(c->log_level);
	if (cofferd_open(&broker) < 0)
		die("broker");
	attest_once();
	ready = true;
}

static void once(void)
{
	coffer_json_wipe_on_free(); /* as main.c: before any JSON value exists */
	/* exit handlers run last registered first: OpenSSL's cleanup, which
	 * registers itself on first use, must come after the broker's last
	 * checkpoint signature (options 0 would return before registering) */
	if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL) != 1)
		die("OpenSSL");
	atexit(broker_down);
}

/* The first line ending at or after `p`: its length without the line end,
 * and where the next line starts. */
static size_t line_len(const uint8_t *p, size_t avail, size_t *next)
{
	const uint8_t *nl = memchr(p, '\n', avail);
	size_t n = nl ? (size_t)(nl - p) : avail;

	*next = nl ? n + 1 : avail;
	return n > 0 && p[n - 1] == '\r' ? n - 1 : n;
}

struct head {
	const char *method, *target, *cookie, *authorization, *content_type, *tee;
};

/* Split the head (NUL-terminated lines, modified in place) into the
 * request line and the headers the handlers read; the first of a repeated
 * header wins, as with MHD_lookup_connection_value. */
static int parse_head(struct head *h, char *text)
{
	char *line = text + strlen(text) + 1, *next, *sp;

	memset(h, 0, sizeof(*h));
	h->method = text;
	if ((sp = strchr(text, ' ')) == NULL)
		return -1;
	*sp = '\0';
	h->target = sp + 1;
	if ((sp = strchr(h->target, ' ')) != NULL)
		*sp = '\0';
	if (h->method[0] == '\0' || h->target[0] == '\0')
		return -1;
	for (; *line; line = next) {
		char *colon = strchr(line, ':'), *v, *end;
		const char **slot = NULL;

		next = line + strlen(line) + 1;
		if (colon == NULL)
			continue;
		*colon = '\0';
		if (strcasecmp(line, "cookie") == 0)
			slot = &h->cookie;
		else if (strcasecmp(line, "authorization") == 0)
			slot = &h->authorization;
		else if (strcasecmp(line, "content-type") == 0)
			slot = &h->content_type;
		else if (strcasecmp(line, "tee") == 0)
			slot = &h->tee;
		/* blanks around a value are not part of it */
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t'); end--)
			;
		*end = '\0';
		if (slot && *slot == NULL)
			*slot = v;
	}
	return 0;
}

/* The kbs-session-id of a Cookie header: pairs split at ';', blanks before
 * a name skipped, the first match wins. */
static const char *session_cookie(char *cookie)
{
	static const char name[] = COFFER_KBS_COOKIE "=";

	for (char *p = cookie; p && *p;) {
		char *semi = strchr(p, ';');
		if (semi)
			*semi = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, name, sizeof(name) - 1) == 0)
			return p + sizeof(name) - 1;
		p = semi ? semi + 1 : NULL;
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[HEAD_MAX + 2]; /* the lines, each NUL-terminated, then a NUL */
	coffer_buf body = COFFER_BUF_INIT_MAX(BODY_MAX), cookie = COFFER_BUF_INIT_MAX(VALUE_MAX),
	           authz = COFFER_BUF_INIT_MAX(VALUE_MAX);
	struct head h;
	struct session s;
	struct cofferd_req q;
	struct cofferd_resp r;
	const uint8_t *raw_body = NULL;
	size_t pos = 0, next, n, raw_len = 0, head_len = size;
	char *rd = NULL, *admin = NULL, *qm;

	/* The broker keeps what inputs leave, as a real one would, and some
	 * requests cost more as that state grows (an audit page fills up to
	 * admin.audit_page_max entries, an export lists every checkpoint id):
	 * a new broker every ROTATE inputs keeps the run's speed. */
	if (inputs == 0)
		once();
	if (inputs++ % ROTATE == 0) {
		broker_down();
		broker_up();
	}
	/* the head ends at the first empty line */
	while (pos < size) {
		n = line_len(data + pos, size - pos, &next);
		if (n == 0 && pos > 0) {
			head_len = pos;
			raw_body = data + pos + next;
			raw_len = size - pos - next;
			break;
		}
		pos += next;
	}
	if (head_len > HEAD_MAX || memchr(data, '\0', head_len) != NULL)
		return 0;
	/* one NUL-terminated string per line */
	for (pos = 0, n = 0; pos < head_len; pos += next) {
		size_t len = line_len(data + pos, head_len - pos, &next);
		memcpy(text + n, data + pos, len);
		text[n + len] = '\0';
		n += len + 1;
	}
	text[n] = '\0';
	if (parse_head(&h, text) < 0)
		return 0;

	memset(&s, 0, sizeof(s));
	if ((h.cookie && strstr(h.cookie, "@SESSION@")) || contains(raw_body, raw_len, "@NONCE@") ||
	    contains(raw_body, raw_len, "@REPORT_DATA@")) {
		const char *tee = h.tee ? h.tee : "sample";
		/* a refused tee leaves the placeholders as they are */
		if (strlen(tee) <= TEE_MAX)
			(void)new_session(&s, tee);
	}
	{
		const struct subst bs[] = { { "@NONCE@", s.made ? s.nonce : NULL } };
		if (substitute(&body, raw_body, raw_len, bs, 1) < 0)
			goto out; /* over max_body: the server's 413 */
	}
	if (s.made && contains(body.ptr, body.len, "@REPORT_DATA@")) {
		json_t *req = NULL;
		if (coffer_json_parse(&req, (const char *)body.ptr, body.len, 0) == 0)
			rd = binding_of(req, s.h);
		json_decref(req);
		if (rd) {
			const struct subst rs[] = { { "@REPORT_DATA@", rd } };
			coffer_buf tmp = COFFER_BUF_INIT_MAX(BODY_MAX);
			int error = substitute(&tmp, body.ptr, body.len, rs, 1);
			coffer_buf_free(&body);
			body = tmp;
			if (error < 0)
				goto out;
		}
	}

	memset(&q, 0, sizeof(q));
	q.method = h.method;
	/* as server.c: the path is the URL before the first '?', still encoded */
	q.path = h.target;
	if ((qm = strchr(h.target, '?')) != NULL) {
		*qm = '\0';
		q.query = qm + 1;
	}
	q.body = body.ptr;
	q.body_len = body.len;
	q.content_type = h.content_type;
	if (h.cookie) {
		const struct subst cs[] = { { "@SESSION@", s.made ? s.id : NULL },
			                    { "@ATTESTED@", attested_id } };
		if (substitute(&cookie, (const uint8_t *)h.cookie, strlen(h.cookie), cs, 2) < 0)
			goto out;
		q.cookie_session = session_cookie((char *)cookie.ptr);
	}
	if (h.authorization) {
		struct subst as[] = { { "@TOKEN@", attested_token }, { "@ADMIN@", NULL } };
		/* signed over the request as it is sent, the body substituted */
		if (strstr(h.authorization, "@ADMIN@"))
			as[1].to = admin = admin_token(q.method, q.path, q.body, q.body_len);
		if (substitute(&authz, (const uint8_t *)h.authorization, strlen(h.authorization),
		               as, 2) < 0)
			goto out;
		q.authorization = (const char *)authz.ptr;
	}
	dispatch(&q, &r);
	resp_free(&r);
out:
	/* bodies may carry secrets being uploaded, the authorization a token:
	 * wiped, as server.c does */
	if (body.ptr)
		coffer_wipe(body.ptr, body.cap);
	if (authz.ptr)
		coffer_wipe(authz.ptr, authz.cap);
	coffer_buf_free(&body);
	coffer_buf_free(&cookie);
	coffer_buf_free(&authz);
	free(rd);
	coffer_free_str_wiped(admin);
	return 0;
}
