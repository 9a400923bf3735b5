/*
 * The KBS 0.4.0 attestation protocol (PROTOCOL.md sections 1-3): auth,
 * attest, resource. Sessions live in the store, so a restarted broker (or
 * another broker on the same store) continues them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>
#include <openssl/rand.h>

#include "coffer/codec.h"
#include "coffer/evidence.h"
#include "coffer/json.h"
#include "coffer/kbs.h"
#include "coffer/toml.h"
#include "cofferd.h"

#define INIT_DATA_MAX ((size_t)256 * 1024)

static void set_cookie(struct cofferd *d, struct cofferd_resp *r, const char *id, int64_t expires)
{
	time_t t = (time_t)expires;
	struct tm tm;
	char when[64];

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(r->set_cookie, sizeof(r->set_cookie),
	         COFFER_KBS_COOKIE "=%s; Expires=%s; Path=/kbs; HttpOnly; SameSite=Strict%s", id,
	         when, d->cfg.tls_cert ? "; Secure" : "");
}

static int parse_body(json_t **out, const struct cofferd_req *q, struct cofferd_resp *r)
{
	if (q->body_len == 0) {
		cofferd_resp_error(r, 400, "SerdeError", "empty request body");
		return -1;
	}
	if (coffer_json_parse(out, (const char *)q->body, q->body_len, 0) < 0 ||
	    !json_is_object(*out)) {
		cofferd_resp_error(r, 400, "SerdeError", "request body: %s",
		                   *out ? "not a JSON object" : coffer_error_last());
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* The binding hash (PROTOCOL.md section 1): SHA-384, SHA-512 for `se`. As
 * upstream, an `se` guest that lists its supported-hash-algorithms must list
 * sha512 and is told "selected-hash-algorithm"; every other guest binds with
 * SHA-384. Coffer extension: a guest whose list lacks the default gets the
 * strongest hash in common, announced the same way. *announce says whether
 * the challenge names the choice. */
static int negotiate_hash(const char *tee, const json_t *extra, char *out, size_t size,
                          bool *announce)
{
	coffer_kbs_hash def = coffer_kbs_binding_hash_for_tee(tee), h;
	const json_t *list = json_object_get(extra, "supported-hash-algorithms"), *e;
	static const coffer_kbs_hash pref[] = { COFFER_KBS_SHA512, COFFER_KBS_SHA384,
		                                COFFER_KBS_SHA256 };
	bool has[3] = { false, false, false };
	size_t i;

	*announce = false;
	snprintf(out, size, "%s", coffer_kbs_hash_name(def));
	if (list == NULL)
		return 0;
	if (!json_is_array(list))
		return coffer_error_set(COFFER_EINVAL,
		                        "extra-params: supported-hash-algorithms is not a list");
	json_array_foreach(list, i, e)
	{
		if (json_is_string(e) && coffer_kbs_hash_from_name(&h, json_string_value(e)) == 0)
			has[h] = true;
	}
	if (has[def]) {
		*announce = def == COFFER_KBS_SHA512;
		return 0;
	}
	if (def == COFFER_KBS_SHA512)
		return coffer_error_set(COFFER_EUNSUPPORTED, "se needs sha512");
	for (i = 0; i < 3; i++) {
		if (has[pref[i]]) {
			snprintf(out, size, "%s", coffer_kbs_hash_name(pref[i]));
			*announce = true;
			return 0;
		}
	}
	return coffer_error_set(COFFER_EUNSUPPORTED, "no supported hash algorithm in common");
}

static bool sample_allowed(struct cofferd *d)
{
	bool v;

	pthread_rwlock_rdlock(&d->cfg_lock);
	v = d->cfg.allow_sample;
	pthread_rwlock_unlock(&d->cfg_lock);
	return v;
}

int cofferd_handle_auth(struct cofferd *d, const struct cofferd_req *q, struct cofferd_resp *r)
{
	json_t *req = NULL;
	const char *version, *tee;
	coffer_store_session s;
	uint8_t raw_id[16], nonce[COFFER_KBS_NONCE_BYTES], rnd[10 + COFFER_KBS_NONCE_BYTES];
	char *hex = NULL, *nonce_b64 = NULL;
	int64_t now = cofferd_now(), life;
	bool announce = false;
	int error;

	memset(&s, 0, sizeof(s));
	if (parse_body(&req, q, r) < 0)
		return 0;
	version = json_string_value(json_object_get(req, "version"));
	tee = json_string_value(json_object_get(req, "tee"));
	if (version == NULL || tee == NULL || json_object_get(req, "extra-params") == NULL) {
		cofferd_resp_error(r, 400, "SerdeError",
		                   "auth request: version, tee and extra-params are required");
		goto out;
	}
	if (strcmp(version, COFFER_KBS_VERSION) != 0) {
		cofferd_resp_error(r, 400, "ProtocolVersion", "protocol version %.20s is not %s",
		                   version, COFFER_KBS_VERSION);
		goto out;
	}
	if (!coffer_kbs_tee_known(tee) || coffer_verifier_find(tee) == NULL) {
		cofferd_resp_error(r, 400, "UnsupportedTee", "tee '%.32s' is not supported", tee);
		goto out;
	}
	if (strcmp(tee, "sample") == 0 && !sample_allowed(d)) {
		cofferd_resp_error(r, 400, "UnsupportedTee",
		                   "sample evidence is not accepted by this broker");
		goto out;
	}
	if (negotiate_hash(tee, json_object_get(req, "extra-params"), s.hash_algs,
	                   sizeof(s.hash_algs), &announce) < 0) {
		cofferd_resp_error(r, 400, "SerdeError", "%s", coffer_error_last());
		goto out;
	}
	/* the session id starts with the time in milliseconds (48 bits, big
	 * endian) and ends with 80 random bits: ids sort by creation, so the
	 * store appends sessions at one end of its b-tree instead of touching a
	 * random page per write */
	{
		struct timespec ts;
		uint64_t ms;
		clock_gettime(CLOCK_REALTIME, &ts);
		ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
		for (int i = 0; i < 6; i++)
			raw_id[i] = (uint8_t)(ms >> (40 - 8 * i));
	}
	/* one call to the DRBG for both (each takes its lock and re-keys it) */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		cofferd_resp_error(r, 500, "PluginInternalError", "no randomness");
		goto out;
	}
	memcpy(raw_id + 6, rnd, 10);
	memcpy(nonce, rnd + 10, sizeof(nonce));
	if (coffer_hex_encode(&hex, raw_id, sizeof(raw_id)) < 0 ||
	    coffer_base64_encode(&nonce_b64, NULL, nonce, sizeof(nonce), COFFER_B64_STD) < 0) {
		cofferd_resp_error(r, 500, "PluginInternalError", "no randomness");
		goto out;
	}
	pthread_rwlock_rdlock(&d->cfg_lock);
	life = d->cfg.session_lifetime;
	pthread_rwlock_unlock(&d->cfg_lock);
	snprintf(s.id, sizeof(s.id), "%s", hex);
	snprintf(s.nonce, sizeof(s.nonce), "%s", nonce_b64);
	snprintf(s.tee, sizeof(s.tee), "%s", tee);
	s.created = now;
	s.expires = now + life;
	if ((error = coffer_store_session_create(d->store, &s)) < 0) {
		cofferd_resp_error(r, 500, "PluginInternalError", "session store failed");
		cofferd_log(LOG_ERROR_, "session create failed",
		            json_pack("{s:s}", "error", coffer_error_last()));
		goto out;
	}
	cofferd_pending_put(&s);
	if (announce)
		cofferd_resp_json(r, 200,
		                  json_pack("{s:s,s:{s:s}}", "nonce", nonce_b64, "extra-params",
		                            "selected-hash-algorithm", s.hash_algs));
	else
		cofferd_resp_json(r, 200,
		                  json_pack("{s:s,s:s}", "nonce", nonce_b64, "extra-params", ""));
	set_cookie(d, r, s.id, s.expires);
out:
	json_decref(req);
	free(hex);
	free(nonce_b64);
	return 0;
}

/* Load the session named by the cookie; on failure the response is set. */
static int load_session(struct cofferd *d, const struct cofferd_req *q, struct cofferd_resp *r,
                        coffer_store_session *s)
{
	int error;

	if (q->cookie_session == NULL) {
		cofferd_resp_error(r, 401, "TokenNotFound", "no kbs-session-id cookie");
		return -1;
	}
	error = coffer_store_session_get(s, d->store, q->cookie_session);
	if (error == COFFER_ENOTFOUND) {
		cofferd_resp_error(r, 401, "InvalidCookie", "unknown session");
		return -1;
	}
	if (error < 0) {
		cofferd_resp_error(r, 500, "PluginInternalError", "session store failed");
		return -1;
	}
	if (s->expires <= cofferd_now()) {
		coffer_store_session_clear(s);
		cofferd_resp_error(r, 401, "ExpiredCookie", "session expired");
		return -1;
	}
	return 0;
}

struct attest_in {
	const char *nonce;
	const json_t *tee_pubkey;
	const json_t *evidence;
	const char *additional;
	const char *init_format;
	const char *init_body;
	size_t init_len;
};

static int parse_attest(struct attest_in *a, const json_t *req, struct cofferd_resp *r)
{
	const json_t *rt = json_object_get(req, "runtime-data");
	const json_t *ev = json_object_get(req, "tee-evidence");
	const json_t *init = json_object_get(req, "init-data");
	const json_t *add;

	memset(a, 0, sizeof(*a));
	if (!json_is_object(rt) || !json_is_object(ev)) {
		cofferd_resp_error(
		        r, 400, "SerdeError",
		        "attest request: runtime-data and tee-evidence objects required");
		return -1;
	}
	a->nonce = json_string_value(json_object_get(rt, "nonce"));
	a->tee_pubkey = json_object_get(rt, "tee-pubkey");
	if (a->nonce == NULL || !json_is_object(a->tee_pubkey)) {
		cofferd_resp_error(r, 400, "SerdeError",
		                   "runtime-data: nonce string and tee-pubkey object required");
		return -1;
	}
	a->evidence = json_object_get(ev, "primary_evidence");
	if (a->evidence == NULL || json_is_null(a->evidence)) {
		cofferd_resp_error(r, 400, "SerdeError", "tee-evidence: primary_evidence required");
		return -1;
	}
	add = json_object_get(ev, "additional_evidence");
	if (add != NULL && !json_is_string(add)) {
		cofferd_resp_error(r, 400, "SerdeError",
		                   "tee-evidence: additional_evidence must be a JSON string");
		return -1;
	}
	a->additional = add ? json_string_value(add) : "";
	if (init != NULL && !json_is_null(init)) {
		const json_t *body = json_object_get(init, "body");
		a->init_format = json_string_value(json_object_get(init, "format"));
		if (!json_is_object(init) || a->init_format == NULL || !json_is_string(body)) {
			cofferd_resp_error(r, 400, "SerdeError",
			                   "init-data: format and body strings required");
			return -1;
		}
		if (strcmp(a->init_format, "toml") != 0) {
			cofferd_resp_error(r, 400, "SerdeError", "init-data: format must be toml");
			return -1;
		}
		a->init_body = json_string_value(body);
		a->init_len = json_string_length(body);
		if (a->init_len > INIT_DATA_MAX) {
			cofferd_resp_error(r, 413, "SerdeError", "init-data too large");
			return -1;
		}
	}
	return 0;
}

/* The tee-pubkey must be a key the broker can encrypt a resource to. */
static int check_tee_pubkey(struct cofferd *d, const json_t *jwk, struct cofferd_resp *r,
                            coffer_jwk **out)
{
	coffer_jwk *k = NULL;
	const char *kty, *alg;
	bool ok;

	if (coffer_jwk_from_json(&k, jwk) < 0) {
		cofferd_resp_error(r, 400, "SerdeError", "tee-pubkey: %s", coffer_error_last());
		return -1;
	}
	if (coffer_jwk_has_private(k)) {
		coffer_jwk_free(k);
		cofferd_resp_error(r, 400, "SerdeError", "tee-pubkey holds private key material");
		return -1;
	}
	kty = coffer_jwk_kty(k);
	alg = coffer_jwk_alg(k);
	if (strcmp(kty, "EC") == 0)
		ok = (alg == NULL || strcmp(alg, "ECDH-ES+A256KW") == 0) && coffer_jwk_crv(k) &&
		     (strcmp(coffer_jwk_crv(k), "P-256") == 0 ||
		      strcmp(coffer_jwk_crv(k), "P-384") == 0 ||
		      strcmp(coffer_jwk_crv(k), "P-521") == 0);
	else if (strcmp(kty, "RSA") == 0)
		ok = alg == NULL || strcmp(alg, "RSA-OAEP-256") == 0 ||
		     (strcmp(alg, "RSA1_5") == 0 && d->cfg.allow_rsa1_5);
	else
		ok = false;
	if (!ok) {
		coffer_jwk_free(k);
		cofferd_resp_error(r, 400, "SerdeError", "tee-pubkey: unsupported key type or alg");
		return -1;
	}
	*out = k;
	return 0;
}

/* Digest of the init-data TOML with the algorithm it names; its parsed
 * form becomes init_data_claims. */
static int init_data(const struct attest_in *a, uint8_t dg[COFFER_KBS_DIGEST_MAX], size_t *dg_len,
                     json_t **claims, struct cofferd_resp *r)
{
	coffer_toml *doc = NULL;
	const char *alg = NULL;
	coffer_kbs_hash h;
	int error;

	if ((error = coffer_toml_parse(&doc, a->init_body, a->init_len, NULL)) < 0 ||
	    (error = coffer_toml_get_string(&alg, coffer_toml_root(doc), "algorithm")) < 0 ||
	    (error = coffer_kbs_hash_from_name(&h, alg)) < 0) {
		cofferd_resp_error(r, 400, "SerdeError", "init-data: %s", coffer_error_last());
		goto out;
	}
	if ((error = coffer_kbs_init_data_digest(dg, dg_len, h, a->init_body, a->init_len)) < 0 ||
	    (error = coffer_toml_to_json(claims, coffer_toml_root(doc))) < 0) {
		cofferd_resp_error(r, 400, "SerdeError", "init-data: %s", coffer_error_last());
		goto out;
	}
	error = 0;
out:
	coffer_toml_free(doc);
	return error;
}

static const char *annotated_key(const char *tee)
{
	/* simulated TEEs produce the real formats: their claims sit where
	 * policies look for the real ones */
	if (strcmp(tee, "snp-sim") == 0)
		return "snp";
	if (strcmp(tee, "tdx-sim") == 0)
		return "tdx";
	return tee;
}

static bool is_sim_tee(const char *tee)
{
	size_t n = strlen(tee);

	return n > 4 && strcmp(tee + n - 4, "-sim") == 0;
}

static void verify_params(struct cofferd *d, coffer_verify_params *p, const char *tee)
{
	p->now = cofferd_now();
	p->roots_dir = d->cfg.roots_dir;
	p->collateral_dir = d->cfg.collateral_dir;
	/* the simulated root is handed to the simulated TEEs only: evidence
	 * sent as `snp` or `tdx` must chain to the vendor's root even on a
	 * broker configured for tests */
	p->sim_root = is_sim_tee(tee) ? d->cfg.sim_root : NULL;
	/* the owner's checks (minimum TCB, allow-lists...) for this TEE; a
	 * simulated TEE gets those of the real one */
	p->options = json_object_get(d->tee_options, annotated_key(tee));
}

/* Each additional device binds H(JCS({nonce, tee-pubkey})). */
static int verify_additional(struct cofferd *d, json_t *annotated, const struct attest_in *a,
                             coffer_kbs_hash h, struct cofferd_resp *r)
{
	json_t *add = NULL, *ev, *claims = NULL;
	const char *tee;
	uint8_t dg[COFFER_KBS_DIGEST_MAX];
	size_t dg_len = 0;
	coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
	int error = -1;

	if (a->additional[0] == '\0')
		return 0;
	if (coffer_json_parse(&add, a->additional, strlen(a->additional), 0) < 0 ||
	    !json_is_object(add)) {
		cofferd_resp_error(r, 400, "SerdeError",
		                   "additional_evidence: not a JSON object of devices");
		goto out;
	}
	if (coffer_kbs_binding_digest(dg, &dg_len, h, a->nonce, a->tee_pubkey, NULL) < 0) {
		cofferd_resp_error(r, 400, "SerdeError", "binding: %s", coffer_error_last());
		goto out;
	}
	p.report_data = dg;
	p.report_data_len = dg_len;
	json_object_foreach(add, tee, ev)
	{
		verify_params(d, &p, tee);
		if (strcmp(tee, "sample") == 0 && !sample_allowed(d)) {
			cofferd_resp_error(r, 401, "AttestationError",
			                   "sample evidence is not accepted");
			goto out;
		}
		if (coffer_evidence_verify(&claims, tee, ev, &p) < 0) {
			cofferd_resp_error(r, 401, "AttestationError",
			                   "additional device %.32s: %s", tee, coffer_error_last());
			goto out;
		}
		json_object_set_new(annotated, annotated_key(tee), claims);
		claims = NULL;
	}
	error = 0;
out:
	json_decref(add);
	return error;
}

/* {"token":"<token>"}: a compact JWS is base64url and dots only (that is how
 * coffer_jws_sign writes it; a token read back from the store was sealed
 * there under the master key, so it is one this broker or its twin signed),
 * which JSON needs no escape for: the body is written directly, where
 * json_dumps would walk a 1.5 KiB token through its UTF-8 decoder. */
static int resp_token(struct cofferd_resp *r, const char *token)
{
	size_t n = strlen(token);
	char *body;

	body = malloc(n + sizeof("{\"token\":\"\"}"));
	if (body == NULL)
		return cofferd_resp_error(r, 500, "PluginInternalError", "out of memory");
	memcpy(body, "{\"token\":\"", 10);
	memcpy(body + 10, token, n);
	memcpy(body + 10 + n, "\"}", 3);
	free(r->body);
	r->body = body;
	r->len = n + 12;
	r->status = 200;
	r->content_type = "application/json";
	return 0;
}

int cofferd_handle_attest(struct cofferd *d, const struct cofferd_req *q, struct cofferd_resp *r)
{
	coffer_store_session s;
	json_t *req = NULL, *claims = NULL, *annotated = NULL, *init_claims = NULL, *tv = NULL;
	json_t *reference = NULL, *cpu0 = NULL, *tok_claims = NULL, *ext = NULL;
	coffer_jwk *tee_key = NULL;
	struct attest_in a;
	coffer_kbs_hash h;
	uint8_t binding[COFFER_KBS_DIGEST_MAX], idg[COFFER_KBS_DIGEST_MAX];
	size_t binding_len = 0, idg_len = 0;
	coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
	char *hex = NULL, *idhex = NULL, *policy_id = NULL, *token = NULL;
	const char *status;
	bool counted = false;
	int error;

	memset(&s, 0, sizeof(s));
	/* a session this broker created and has not seen attest yet comes from
	 * memory; any other (a restart, a second broker, a retry) from the store */
	if (q->cookie_session == NULL ||
	    !cofferd_pending_take(&s, q->cookie_session, cofferd_now())) {
		if (load_session(d, q, r, &s) < 0)
			return 0;
	}
	if (s.attested && s.token) {
		/* attesting an attested session returns its token again */
		resp_token(r, s.token);
		set_cookie(d, r, s.id, s.expires);
		goto out;
	}
	if (parse_body(&req, q, r) < 0 || parse_attest(&a, req, r) < 0)
		goto out;
	if (strlen(a.nonce) != strlen(s.nonce) ||
	    !coffer_ct_equal(a.nonce, s.nonce, strlen(s.nonce))) {
		cofferd_resp_error(r, 401, "AttestationError",
		                   "runtime-data nonce does not match the session");
		goto out;
	}
	if (check_tee_pubkey(d, a.tee_pubkey, r, &tee_key) < 0)
		goto out;
	if (strcmp(s.tee, "sample") == 0 && !sample_allowed(d)) {
		cofferd_resp_error(r, 401, "AttestationError", "sample evidence is not accepted");
		goto out;
	}
	if (coffer_kbs_hash_from_name(&h, s.hash_algs) < 0)
		h = coffer_kbs_binding_hash_for_tee(s.tee);
	if (coffer_kbs_binding_digest(binding, &binding_len, h, a.nonce, a.tee_pubkey,
	                              a.additional) < 0) {
		cofferd_resp_error(r, 400, "SerdeError", "binding: %s", coffer_error_last());
		goto out;
	}
	if (a.init_body && init_data(&a, idg, &idg_len, &init_claims, r) < 0)
		goto out;

	/* A nonce is used once: the first verification attempt spends it,
	 * whatever its outcome (on success atomically with recording the
	 * token, so of two concurrent attempts only one gets a token). */
	if (s.nonce_used) {
		cofferd_resp_error(r, 401, "AttestationError", "nonce already used");
		goto out;
	}
	counted = true;
	verify_params(d, &p, s.tee);
	p.report_data = binding;
	p.report_data_len = binding_len;
	if (a.init_body) {
		p.init_data_digest = idg;
		p.init_data_digest_len = idg_len;
	}
	if (coffer_evidence_verify(&claims, s.tee, a.evidence, &p) < 0) {
		cofferd_resp_error(r, 401, "AttestationError", "%s: %s", s.tee,
		                   coffer_error_last());
		goto fail;
	}
	annotated = json_object();
	if (annotated == NULL || json_object_set_new(annotated, annotated_key(s.tee), claims) < 0) {
		claims = NULL;
		cofferd_resp_error(r, 500, "PluginInternalError", "out of memory");
		goto fail;
	}
	claims = NULL;
	if (verify_additional(d, annotated, &a, h, r) < 0)
		goto fail;

	/* appraisal: input = the annotated evidence, data.reference = refvals */
	if (coffer_store_refval_all(&reference, d->store) < 0) {
		cofferd_resp_error(r, 500, "PluginInternalError", "reference values unavailable");
		goto fail;
	}
	if (d->policy->appraise(d->policy_ctx, &tv, &ext, &policy_id, s.tee, annotated, reference) <
	    0) {
		cofferd_resp_error(r, 401, "AttestationError", "appraisal: %s",
		                   coffer_error_last());
		goto fail;
	}
	status = cofferd_ear_status(tv);
	if (strcmp(status, "none") == 0) {
		cofferd_resp_error(r, 401, "AttestationError",
		                   "the attestation policy set no trust claim");
		goto fail;
	}
	if (coffer_hex_encode(&hex, binding, binding_len) < 0 ||
	    (a.init_body && coffer_hex_encode(&idhex, idg, idg_len) < 0)) {
		cofferd_resp_error(r, 500, "PluginInternalError", "out of memory");
		goto fail;
	}
	json_object_set_new(annotated, "report_data", json_string(hex));
	json_object_set_new(annotated, "runtime_data_claims",
	                    json_pack("{s:s,s:O}", "nonce", a.nonce, "tee-pubkey", a.tee_pubkey));
	if (idhex) {
		json_object_set_new(annotated, "init_data", json_string(idhex));
		json_object_set(annotated, "init_data_claims", init_claims);
	}
	cpu0 = json_pack("{s:s,s:O,s:s,s:O}", "ear.status", status, "ear.trustworthiness-vector",
	                 tv, "ear.appraisal-policy-id", policy_id,
	                 "ear.veraison.annotated-evidence", annotated);
	if (cpu0 && ext)
		json_object_set(cpu0, "ear.veraison.policy-claims", ext);
	if (cpu0 == NULL || cofferd_token_issue(d, &token, &tok_claims, cpu0) < 0) {
		cofferd_resp_error(r, 500, "PluginInternalError", "token: %s", coffer_error_last());
		goto fail;
	}
	{
		int64_t life, exp;
		pthread_rwlock_rdlock(&d->cfg_lock);
		life = d->cfg.token_lifetime;
		pthread_rwlock_unlock(&d->cfg_lock);
		exp = cofferd_now() + life;
		error = coffer_store_session_attest(d->store, s.id, token, exp, cofferd_now());
		if (error == COFFER_EEXISTS) {
			/* attested meanwhile (a concurrent attempt, or another
			 * broker on the store while this one remembered the
			 * session): an attested session answers with its token */
			coffer_store_session cur;
			memset(&cur, 0, sizeof(cur));
			if (coffer_store_session_get(&cur, d->store, s.id) == 0 && cur.attested &&
			    cur.token != NULL) {
				counted = false;
				resp_token(r, cur.token);
				set_cookie(d, r, cur.id, cur.expires);
				coffer_store_session_clear(&cur);
				goto out;
			}
			coffer_store_session_clear(&cur);
			cofferd_resp_error(r, 401, "AttestationError", "nonce already used");
			goto fail;
		} else if (error == COFFER_EEXPIRED || error == COFFER_ENOTFOUND) {
			cofferd_resp_error(r, 401, "ExpiredCookie", "session expired");
			goto fail;
		} else if (error < 0) {
			cofferd_resp_error(r, 500, "PluginInternalError", "session store failed");
			goto fail;
		}
		counted = false;
		resp_token(r, token);
		set_cookie(d, r, s.id, exp);
		/* the resource requests that follow find the claims and the
		 * imported key without parsing or validating them again */
		{
			struct cofferd_tok *t = cofferd_tokcache_put(token, tok_claims, tee_key);
			cofferd_tokcache_put_session(s.id, t);
			cofferd_tok_release(t);
		}
		tok_claims = NULL;
		tee_key = NULL;
	}
	cofferd_metrics_attestation(s.tee, true);
	cofferd_log(LOG_INFO_, "attested",
	            json_pack("{s:s,s:s,s:s}", "tee", s.tee, "ear.status", status, "policy",
	                      policy_id));
	goto out;
fail:
	if (counted) {
		(void)coffer_store_session_use_nonce(d->store, s.id, cofferd_now());
		cofferd_metrics_attestation(s.tee, false);
		cofferd_log(LOG_INFO_, "attestation refused",
		            json_pack("{s:s,s:i}", "tee", s.tee, "status", r->status));
	}
out:
	coffer_store_session_clear(&s);
	coffer_jwk_free(tee_key);
	json_decref(tok_claims);
	json_decref(req);
	json_decref(claims);
	json_decref(annotated);
	json_decref(init_claims);
	json_decref(tv);
	json_decref(ext);
	json_decref(reference);
	json_decref(cpu0);
	free(hex);
	free(idhex);
	free(policy_id);
	coffer_free_str_wiped(token);
	return 0;
}

/* ---- resources ---- */

static enum MHD_Result query_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
	json_t *obj = cls;
	char *k, *v;
	(void)kind;

	if (key == NULL || json_object_size(obj) >= 32)
		return MHD_YES;
	/* the server keeps URLs raw (server.c); the policy sees decoded
	 * query arguments, as upstream's does; non-UTF-8 ones are dropped */
	k = strdup(key);
	v = strdup(value ? value : "");
	if (k && v) {
		k[MHD_http_unescape(k)] = '\0';
		v[MHD_http_unescape(v)] = '\0';
		json_object_set_new(obj, k, json_string(v));
	}
	free(k);
	free(v);
	return MHD_YES;
}

static const json_t *tee_pubkey_claim(const json_t *claims)
{
	return json_object_get(
	        json_object_get(
	                json_object_get(json_object_get(json_object_get(claims, "submods"), "cpu0"),
	                                "ear.veraison.annotated-evidence"),
	                "runtime_data_claims"),
	        "tee-pubkey");
}

/* Cache the claims of a token with its imported tee-pubkey (takes claims). */
static struct cofferd_tok *cache_token(const char *token, json_t *claims, struct cofferd_resp *r)
{
	const json_t *pk = tee_pubkey_claim(claims);
	coffer_jwk *key = NULL;
	struct cofferd_tok *t;

	if (!json_is_object(pk) || coffer_jwk_from_json(&key, pk) < 0) {
		json_decref(claims);
		cofferd_resp_error(r, 401, "TokenVerifierError",
		                   "token carries no usable tee-pubkey");
		return NULL;
	}
	t = cofferd_tokcache_put(token, claims, key);
	if (t == NULL)
		cofferd_resp_error(r, 500, "PluginInternalError", "out of memory");
	return t;
}

/* The caller's verified token: a bearer token (passport) or the session
 * cookie (background check). Sets the response on failure. */
static struct cofferd_tok *caller_token(struct cofferd *d, const struct cofferd_req *q,
                                        struct cofferd_resp *r)
{
	coffer_store_session s;
	const char *auth = q->authorization;
	struct cofferd_tok *t;
	json_t *claims = NULL;
	int64_t now = cofferd_now();
	int error;

	if (auth) {
		if (strncmp(auth, "Bearer ", 7) != 0 || auth[7] == '\0') {
			cofferd_resp_error(r, 401, "TokenNotFound",
			                   "Authorization: want a Bearer token");
			return NULL;
		}
		if ((t = cofferd_tokcache_get(auth + 7, now)) != NULL)
			return t;
		error = cofferd_token_verify(d, &claims, auth + 7);
		if (error < 0) {
			cofferd_resp_error(r, 401, "TokenVerifierError", "%s",
			                   error == COFFER_EEXPIRED ? "token expired"
			                                            : "token verification failed");
			return NULL;
		}
		return cache_token(auth + 7, claims, r);
	}
	if (q->cookie_session && (t = cofferd_tokcache_get_session(q->cookie_session, now)))
		return t;
	memset(&s, 0, sizeof(s));
	if (load_session(d, q, r, &s) < 0)
		return NULL;
	if (!s.attested || s.token == NULL) {
		coffer_store_session_clear(&s);
		cofferd_resp_error(r, 401, "TokenNotFound", "session is not attested");
		return NULL;
	}
	/* the session's token was issued here and kept sealed: no signature
	 * check, but its exp still applies */
	if ((t = cofferd_tokcache_get(s.token, now)) != NULL) {
		coffer_store_session_clear(&s);
		return t;
	}
	error = cofferd_token_claims_unverified(&claims, s.token);
	if (error < 0) {
		coffer_store_session_clear(&s);
		cofferd_resp_error(r, 500, "PluginInternalError", "stored token unreadable");
		return NULL;
	}
	if (json_integer_value(json_object_get(claims, "exp")) <= now) {
		coffer_store_session_clear(&s);
		json_decref(claims);
		cofferd_resp_error(r, 401, "TokenVerifierError", "token expired");
		return NULL;
	}
	t = cache_token(s.token, claims, r);
	cofferd_tokcache_put_session(s.id, t);
	coffer_store_session_clear(&s);
	return t;
}

/* Who asked, from the token claims: never a secret, never the token. */
static json_t *release_actor(const json_t *claims, const struct cofferd_decision *dec)
{
	const json_t *cpu0 = json_object_get(json_object_get(claims, "submods"), "cpu0");
	const json_t *ev = json_object_get(cpu0, "ear.veraison.annotated-evidence");
	const json_t *pid = json_object_get(cpu0, "ear.appraisal-policy-id");
	const json_t *tee = NULL, *meas = NULL, *chip = NULL, *plat = NULL;
	json_t *actor = json_object(), *ids = json_array();
	const char *names[] = { "snp", "tdx", "sample", "az-snp-vtpm", "az-tdx-vtpm" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && tee == NULL; i++) {
		const json_t *t = json_object_get(ev, names[i]);
		if (!json_is_object(t))
			continue;
		tee = json_string(names[i]);
		if (i == 0) {
			meas = json_object_get(t, "measurement");
			chip = json_object_get(t, "chip_id");
		} else if (i == 1) {
			meas = json_object_get(json_object_get(json_object_get(t, "quote"), "body"),
			                       "mr_td");
			plat = json_object_get(t, "platform_instance_id");
		} else if (i == 2) {
			meas = json_object_get(t, "launch_digest");
		}
	}
	if (actor == NULL || ids == NULL) {
		json_decref((json_t *)tee);
		json_decref(actor);
		json_decref(ids);
		return NULL;
	}
	/* the audit rules require a tee; a trusted issuer's token may name none */
	json_object_set_new(actor, "tee", tee ? (json_t *)tee : json_string("unknown"));
	json_object_set_new(actor, "measurement",
	                    json_is_string(meas) ? json_copy((json_t *)meas) : json_null());
	if (json_is_string(chip))
		json_object_set_new(actor, "chip_id", json_copy((json_t *)chip));
	if (json_is_string(plat))
		json_object_set_new(actor, "platform_id", json_copy((json_t *)plat));
	json_object_set_new(actor, "init_data",
	                    json_is_string(json_object_get(ev, "init_data"))
	                            ? json_copy(json_object_get(ev, "init_data"))
	                            : json_null());
	if (json_is_string(pid))
		json_array_append_new(ids, json_sprintf("attestation:%s", json_string_value(pid)));
	for (size_t i = 0; i < 2; i++)
		if (dec->policy_ids[i][0])
			json_array_append_new(ids, json_string(dec->policy_ids[i]));
	json_object_set_new(actor, "policy_ids", ids);
	return actor;
}

/* The audit fields of a release decision (NULL: out of memory). */
static json_t *release_fields(const coffer_kbs_resource_path *rp, const char *path,
                              const json_t *claims, const struct cofferd_decision *dec)
{
	json_t *actor = release_actor(claims, dec);
	char reason[sizeof(dec->policy) + sizeof(dec->reason) + 2];

	if (actor == NULL)
		return NULL;
	/* a denial names the policy that denied */
	if (dec->allowed)
		snprintf(reason, sizeof(reason), "%s", dec->reason);
	else
		snprintf(reason, sizeof(reason), "%s: %s", dec->policy, dec->reason);
	return json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:s}", "kind", "release", "action", "release",
	                 "namespace", rp->repository, "resource", path, "actor", actor, "outcome",
	                 dec->allowed ? "allowed" : "denied", "reason", reason);
}

int cofferd_handle_resource_get(struct cofferd *d, const struct cofferd_req *q,
                                struct cofferd_resp *r, const char *subpath)
{
	coffer_kbs_resource_path rp;
	char path[3 * (COFFER_KBS_SEGMENT_MAX + 1)];
	json_t *data = NULL, *jwe = NULL;
	const json_t *claims;
	const coffer_jwk *key;
	struct cofferd_tok *tok;
	coffer_secret value = COFFER_SECRET_INIT;
	coffer_jwe_encrypt_opts jwe_opts = COFFER_JWE_ENCRYPT_OPTS_INIT;
	struct cofferd_decision dec;
	bool allowed = false;
	int error;

	if (coffer_kbs_resource_path_parse(&rp, subpath, strlen(subpath)) < 0 ||
	    coffer_kbs_resource_path_format(path, sizeof(path), &rp) < 0) {
		cofferd_resp_error(r, 404, "InvalidRequestPath", "%s", coffer_error_last());
		return 0;
	}
	if ((tok = caller_token(d, q, r)) == NULL)
		return 0;
	claims = cofferd_tok_claims(tok);
	key = cofferd_tok_key(tok);
	data = json_pack("{s:s,s:[s,s,s],s:{}}", "plugin", "resource", "resource-path",
	                 rp.repository, rp.type, rp.tag, "query");
	if (data == NULL) {
		cofferd_resp_error(r, 500, "PluginInternalError", "out of memory");
		goto out;
	}
	if (q->conn)
		MHD_get_connection_values(q->conn, MHD_GET_ARGUMENT_KIND, query_iter,
		                          json_object_get(data, "query"));
	/* PERSONAS.md rule 3: token valid (above) AND the resource policy AND
	 * the namespace owner's release policy; every policy error denies */
	if (d->policy->release(d->policy_ctx, &dec, claims, data, rp.repository) < 0) {
		dec.allowed = false;
		snprintf(dec.policy, sizeof(dec.policy), "policy engine");
		snprintf(dec.reason, sizeof(dec.reason), "%s", coffer_error_last());
	}
	allowed = dec.allowed;
	cofferd_metrics_release(allowed);
	if (!allowed) {
		json_t *fields = release_fields(&rp, path, claims, &dec);
		if (fields == NULL || cofferd_audit_record(d, fields) < 0)
			cofferd_log(LOG_ERROR_, "audit record failed",
			            json_pack("{s:s,s:s}", "resource", path, "error",
			                      coffer_error_last()));
		cofferd_resp_error(r, 403, "PolicyDeny", "%s denied %s: %s", dec.policy, path,
		                   dec.reason);
		cofferd_log(LOG_INFO_, "release denied",
		            json_pack("{s:s,s:s,s:s}", "resource", path, "policy", dec.policy,
		                      "reason", dec.reason));
		goto out;
	}
	if (coffer_jwk_alg(key) && strcmp(coffer_jwk_alg(key), "RSA1_5") == 0 &&
	    !d->cfg.allow_rsa1_5) {
		cofferd_resp_error(r, 401, "JweError", "RSA1_5 is not enabled");
		goto out;
	}
	error = coffer_store_resource_get(&value, d->store, path);
	if (error == COFFER_ENOTFOUND) {
		cofferd_resp_error(r, 404, "ResourceNotFound", "no resource %s", path);
		goto out;
	}
	if (error < 0) {
		cofferd_resp_error(r, 500, "PluginInternalError", "resource unavailable");
		cofferd_log(LOG_ERROR_, "resource read failed",
		            json_pack("{s:s,s:s}", "resource", path, "error", coffer_error_last()));
		goto out;
	}
	/* RSA1_5 tee-pubkeys were refused above unless configured */
	jwe_opts.allow_rsa1_5 = d->cfg.allow_rsa1_5;
	if (coffer_jwe_encrypt_with(&jwe, key, NULL, &jwe_opts, value.ptr, value.len) < 0) {
		cofferd_resp_error(r, 500, "JweError", "%s", coffer_error_last());
		goto out;
	}
	if (coffer_json_dump(&r->body, &r->len, jwe) < 0) {
		cofferd_resp_error(r, 500, "JweError", "serialization failed");
		goto out;
	}
	/* allowed releases are recorded once the JWE exists (a missing resource
	 * is neither released nor denied); the server sends the JWE only once
	 * the record is durable (r->audit, group commit, docs/audit.md), and a
	 * 500 instead if the append fails: no secret leaves unaudited */
	if ((r->audit = release_fields(&rp, path, claims, &dec)) == NULL) {
		cofferd_resp_error(r, 500, "PluginInternalError", "out of memory");
		goto out;
	}
	r->status = 200;
	r->content_type = "application/json";
	if (cofferd_log_enabled(LOG_DEBUG_))
		cofferd_log(LOG_DEBUG_, "released", json_pack("{s:s}", "resource", path));
out:
	coffer_secret_free(&value);
	cofferd_tok_release(tok);
	json_decref(jwe);
	json_decref(data);
	return 0;
}
