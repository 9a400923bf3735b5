/*
 * The admin API (PROTOCOL.md section 4) and its authentication
 * (PERSONAS.md rule 4): `Authorization: Bearer <JWT>` signed with a
 * registered principal's key (EdDSA or ES256); `sub` = principal id, `exp`
 * at most 300 s after `iat`, `jti` single use (kept in the store), and the
 * request binding claims `htm` (method), `htu` (request path, without the
 * query) and `bdh` (base64url SHA-256 of the body). Principals are
 * identified by the RFC 7638 thumbprint of their public key.
 *
 * Persona scoping beyond "workload providers set policies and reference
 * values; a namespace's owner writes its resources" is the persona issue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>
#include <openssl/evp.h>

#include "coffer/codec.h"
#include "coffer/file.h"
#include "coffer/json.h"
#include "coffer/kbs.h"
#include "coffer/rego.h"
#include "cofferd.h"

#define WP           "workload-provider"
#define JTI_KEEP     60 /* seconds a jti outlives its token (clock leeway) */
#define ADMIN_LEEWAY 5

struct admin_ctx {
	coffer_store_principal p;
	char jti[256];
	int64_t exp;
};

static int fail(struct cofferd_resp *r, int status, const char *detail)
{
	cofferd_resp_error(r, status, status == 401 ? "AdminAuthAccess" : "AdminAuthAccess", "%s",
	                   detail);
	return -1;
}

static bool str_claim_eq(const json_t *claims, const char *name, const char *want)
{
	const char *v = json_string_value(json_object_get(claims, name));

	return v && want && strlen(v) == strlen(want) && coffer_ct_equal(v, want, strlen(want));
}

/* Authenticate the request; on success the principal is in a->p and the
 * jti is NOT yet recorded (done only once the request is known valid). */
static int authenticate(struct cofferd *d, const struct cofferd_req *q, struct cofferd_resp *r,
                        struct admin_ctx *a)
{
	json_t *unverified = NULL, *claims = NULL, *hdr = NULL;
	coffer_jwk *key = NULL;
	coffer_jwt_checks chk = COFFER_JWT_CHECKS_INIT;
	const char *token, *sub, *alg, *jti;
	uint8_t md[32];
	unsigned int mdlen = 0;
	char *bdh = NULL;
	int error, ret = -1;

	memset(a, 0, sizeof(*a));
	if (q->authorization == NULL || strncmp(q->authorization, "Bearer ", 7) != 0)
		return fail(r, 401, "admin request without a bearer token");
	token = q->authorization + 7;
	if (strlen(token) > 16384)
		return fail(r, 401, "admin token too long");
	if (cofferd_token_claims_unverified(&unverified, token) < 0 ||
	    (sub = json_string_value(json_object_get(unverified, "sub"))) == NULL) {
		fail(r, 401, "admin token: malformed or no sub");
		goto out;
	}
	error = coffer_store_principal_get(&a->p, d->store, sub);
	if (error < 0) {
		fail(r, 401, error == COFFER_ENOTFOUND ? "unknown principal" : "principal lookup");
		goto out;
	}
	if (coffer_jwk_from_json(&key, a->p.public_key) < 0) {
		fail(r, 401, "principal key unusable");
		goto out;
	}
	pthread_rwlock_rdlock(&d->cfg_lock);
	chk.max_lifetime = d->cfg.admin_max_lifetime;
	pthread_rwlock_unlock(&d->cfg_lock);
	chk.require_exp = true;
	/* CLOCK_REALTIME (time(2) may lag it), and a few seconds for clients on
	 * other hosts; the jti is kept JTI_KEEP seconds past exp, longer than
	 * this leeway, so a replay inside it is still refused */
	chk.now = cofferd_now();
	chk.leeway = ADMIN_LEEWAY;
	error = coffer_jwt_verify(&claims, &hdr, token, &key, 1, &chk);
	if (error < 0) {
		fail(r, 401,
		     error == COFFER_EEXPIRED ? "admin token expired or too long-lived"
		                              : "admin token verification failed");
		goto out;
	}
	alg = json_string_value(json_object_get(hdr, "alg"));
	if (alg == NULL || (strcmp(alg, "EdDSA") != 0 && strcmp(alg, "ES256") != 0)) {
		fail(r, 401, "admin token: alg must be EdDSA or ES256");
		goto out;
	}
	if (!json_is_integer(json_object_get(claims, "iat"))) {
		fail(r, 401, "admin token: iat required");
		goto out;
	}
	if (a->p.disabled) {
		fail(r, 403, "principal is disabled");
		goto out;
	}
	/* request binding */
	if (EVP_Digest(q->body ? (const void *)q->body : "", q->body_len, md, &mdlen, EVP_sha256(),
	               NULL) != 1 ||
	    coffer_base64_encode(&bdh, NULL, md, mdlen, COFFER_B64_URL_NOPAD) < 0) {
		cofferd_resp_error(r, 500, "PluginInternalError", "digest failed");
		goto out;
	}
	if (!str_claim_eq(claims, "htm", q->method) || !str_claim_eq(claims, "htu", q->path) ||
	    !str_claim_eq(claims, "bdh", bdh)) {
		fail(r, 401, "admin token is bound to another request (htm/htu/bdh)");
		goto out;
	}
	jti = json_string_value(json_object_get(claims, "jti"));
	if (jti == NULL || jti[0] == '\0' || strlen(jti) >= sizeof(a->jti)) {
		fail(r, 401, "admin token: jti required");
		goto out;
	}
	snprintf(a->jti, sizeof(a->jti), "%s", jti);
	a->exp = json_integer_value(json_object_get(claims, "exp"));
	ret = 0;
out:
	free(bdh);
	coffer_jwk_free(key);
	json_decref(unverified);
	json_decref(claims);
	json_decref(hdr);
	if (ret < 0)
		coffer_store_principal_clear(&a->p);
	return ret;
}

/* Spend the jti: a replay fails here (after every other check passed). */
static int spend_jti(struct cofferd *d, struct admin_ctx *a, struct cofferd_resp *r)
{
	int error = coffer_store_jti_use(d->store, a->jti, a->exp + JTI_KEEP);

	if (error == COFFER_EEXISTS)
		return fail(r, 401, "admin token already used (replay)");
	if (error < 0) {
		cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
		return -1;
	}
	return 0;
}

static bool has_namespace(const coffer_store_principal *p, const char *ns)
{
	size_t i;
	json_t *v;

	json_array_foreach(p->namespaces, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), ns) == 0)
			return true;
	}
	return false;
}

/* Owner of `ns` writes it; a workload provider writes namespaces nobody
 * else owns (PERSONAS.md rule 2: ownership never moves). */
static int may_write_namespace(struct cofferd *d, const coffer_store_principal *p, const char *ns,
                               bool *ok)
{
	coffer_store_principal *all = NULL;
	size_t n = 0;
	int error;

	*ok = has_namespace(p, ns);
	if (*ok || strcmp(p->persona, WP) != 0)
		return 0;
	if ((error = coffer_store_principal_list(&all, &n, d->store)) < 0)
		return error;
	*ok = true;
	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i].id, p->id) != 0 && has_namespace(&all[i], ns))
			*ok = false;
	coffer_store_principal_list_free(all, n);
	return 0;
}

static void audit(struct cofferd *d, const struct admin_ctx *a, const char *action, const char *ns,
                  json_t *record)
{
	if (record == NULL)
		return;
	if (coffer_store_audit_append(NULL, d->store, cofferd_now(), a->p.id, action, ns, record) <
	    0)
		cofferd_log(LOG_ERROR_, "audit append failed",
		            json_pack("{s:s}", "error", coffer_error_last()));
	cofferd_log(LOG_INFO_, "admin",
	            json_pack("{s:s,s:s,s:O}", "principal", a->p.id, "action", action, "record",
	                      record));
	json_decref(record);
}

static int admin_resource(struct cofferd *d, const struct cofferd_req *q, struct cofferd_resp *r,
                          struct admin_ctx *a, const char *sub)
{
	coffer_kbs_resource_path rp;
	char path[3 * (COFFER_KBS_SEGMENT_MAX + 1)];
	bool post = strcmp(q->method, "POST") == 0, ok = false;
	int error;

	if (!post && strcmp(q->method, "DELETE") != 0)
		return cofferd_resp_error(r, 405, "MethodNotAllowed", "POST or DELETE");
	if (coffer_kbs_resource_path_parse(&rp, sub, strlen(sub)) < 0 ||
	    coffer_kbs_resource_path_format(path, sizeof(path), &rp) < 0)
		return cofferd_resp_error(r, 404, "InvalidRequestPath", "%s", coffer_error_last());
	if (may_write_namespace(d, &a->p, rp.repository, &ok) < 0)
		return cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
	if (!ok)
		return cofferd_resp_error(r, 403, "AdminAuthAccess",
		                          "namespace %s belongs to another principal",
		                          rp.repository);
	if (spend_jti(d, a, r) < 0)
		return 0;
	if (post) {
		error = coffer_store_resource_put(d->store, path, q->body, q->body_len, a->p.id,
		                                  cofferd_now());
		if (error < 0)
			return cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
		audit(d, a, "resource.put", rp.repository,
		      json_pack("{s:s,s:I}", "path", path, "size", (json_int_t)q->body_len));
	} else {
		error = coffer_store_resource_delete(d->store, path);
		if (error == COFFER_ENOTFOUND)
			return cofferd_resp_error(r, 404, "ResourceNotFound", "no resource %s",
			                          path);
		if (error < 0)
			return cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
		audit(d, a, "resource.delete", rp.repository, json_pack("{s:s}", "path", path));
	}
	r->status = 200;
	return 0;
}

static int list_resources(struct cofferd *d, struct cofferd_resp *r, const struct cofferd_req *q,
                          struct admin_ctx *a)
{
	const char *ns =
	        q->conn ? MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, "namespace")
	                : NULL;
	coffer_store_resource_info *v = NULL;
	size_t n = 0;
	char prefix[COFFER_KBS_SEGMENT_MAX + 2];
	json_t *arr;

	if (ns && !coffer_kbs_segment_valid(ns, strlen(ns)))
		return cofferd_resp_error(r, 400, "InvalidRequestPath", "bad namespace");
	if (ns)
		snprintf(prefix, sizeof(prefix), "%s/", ns);
	if (spend_jti(d, a, r) < 0)
		return 0;
	if (coffer_store_resource_list(&v, &n, d->store, ns ? prefix : NULL) < 0)
		return cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
	arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		char repo[COFFER_KBS_SEGMENT_MAX + 1];
		const char *slash = strchr(v[i].path, '/');
		size_t rl = slash ? (size_t)(slash - v[i].path) : 0;
		if (rl >= sizeof(repo))
			continue;
		memcpy(repo, v[i].path, rl);
		repo[rl] = '\0';
		/* metadata only; a non-WP principal sees its own namespaces */
		if (strcmp(a->p.persona, WP) != 0 && !has_namespace(&a->p, repo))
			continue;
		json_array_append_new(
		        arr, json_pack("{s:s,s:I,s:I,s:I,s:s?}", "path", v[i].path, "size",
		                       (json_int_t)v[i].size, "created", (json_int_t)v[i].created,
		                       "updated", (json_int_t)v[i].updated, "owner", v[i].owner));
	}
	coffer_store_resource_info_free(v, n);
	return cofferd_resp_json(r, 200, arr);
}

static int decode_b64_field(uint8_t **out, size_t *len, const json_t *req, const char *name,
                            coffer_b64 variant, struct cofferd_resp *r)
{
	const char *s = json_string_value(json_object_get(req, name));

	if (s == NULL) {
		cofferd_resp_error(r, 400, "SerdeError", "%s: string required", name);
		return -1;
	}
	if (coffer_base64_decode(out, len, s, strlen(s), variant) < 0) {
		/* upstream tools send both padded and unpadded forms */
		coffer_b64 alt =
		        variant == COFFER_B64_URL_NOPAD ? COFFER_B64_URL : COFFER_B64_STD_NOPAD;
		if (coffer_base64_decode(out, len, s, strlen(s), alt) < 0) {
			cofferd_resp_error(r, 400, "SerdeError", "%s: bad base64", name);
			return -1;
		}
	}
	return 0;
}

static int parse_json_body(json_t **out, const struct cofferd_req *q, struct cofferd_resp *r)
{
	*out = NULL;
	if (coffer_json_parse(out, (const char *)(q->body ? q->body : (const uint8_t *)""),
	                      q->body_len, 0) < 0 ||
	    !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		cofferd_resp_error(r, 400, "SerdeError", "body: want a JSON object");
		return -1;
	}
	return 0;
}

static bool utf8_text(const uint8_t *p, size_t n)
{
	json_t *s = json_stringn((const char *)p, n);
	bool ok = s != NULL;

	json_decref(s);
	return ok;
}

/* A policy is stored only if the Rego engine compiles it. */
static int check_rego(const uint8_t *text, size_t len, struct cofferd_resp *r)
{
	coffer_rego_module m = { "policy.rego", (const char *)text, len };
	coffer_rego_policy *pol = NULL;
	coffer_rego_diag diag;

	memset(&diag, 0, sizeof(diag));
	if (coffer_rego_policy_compile(&pol, &m, 1, &diag) < 0) {
		cofferd_resp_error(r, 400, "ParsePolicyError", "%s at line %d, column %d: %s",
		                   diag.code, diag.line, diag.col, diag.message);
		return -1;
	}
	coffer_rego_policy_free(pol);
	return 0;
}

static int admin_policy(struct cofferd *d, const struct cofferd_req *q, struct cofferd_resp *r,
                        struct admin_ctx *a, const char *kind)
{
	json_t *req = NULL, *ids = NULL;
	uint8_t *text = NULL;
	size_t len = 0;
	const char *id = "default";

	if (strcmp(a->p.persona, WP) != 0)
		return cofferd_resp_error(r, 403, "AdminAuthAccess",
		                          "only a workload provider sets %s policies", kind);
	if (strcmp(q->method, "GET") == 0) {
		if (spend_jti(d, a, r) < 0)
			return 0;
		if (coffer_store_policy_list(&ids, d->store, kind) < 0)
			return cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
		return cofferd_resp_json(r, 200, ids);
	}
	if (strcmp(q->method, "POST") != 0)
		return cofferd_resp_error(r, 405, "MethodNotAllowed", "GET or POST");
	if (parse_json_body(&req, q, r) < 0)
		return 0;
	if (strcmp(kind, "attestation") == 0) {
		const char *type = json_string_value(json_object_get(req, "type"));
		id = json_string_value(json_object_get(req, "policy_id"));
		if (type == NULL || strcmp(type, "rego") != 0 || id == NULL ||
		    !coffer_kbs_segment_valid(id, strlen(id))) {
			cofferd_resp_error(
			        r, 400, "SerdeError",
			        "attestation policy: type \"rego\" and a policy_id required");
			goto out;
		}
	}
	if (decode_b64_field(&text, &len, req, "policy", COFFER_B64_URL_NOPAD, r) < 0)
		goto out;
	if (len == 0 || !utf8_text(text, len)) {
		cofferd_resp_error(r, 400, "ParsePolicyError", "policy: empty or not UTF-8");
		goto out;
	}
	if (check_rego(text, len, r) < 0)
		goto out;
	if (spend_jti(d, a, r) < 0)
		goto out;
	if (coffer_store_policy_put(d->store, kind, id, (const char *)text, len, cofferd_now()) <
	    0) {
		cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
		goto out;
	}
	audit(d, a, strcmp(kind, "resource") == 0 ? "policy.resource" : "policy.attestation", NULL,
	      json_pack("{s:s,s:I}", "policy_id", id, "size", (json_int_t)len));
	r->status = 200;
out:
	free(text);
	json_decref(req);
	return 0;
}

/* The owner's release policy of a namespace (PERSONAS.md rule 3); stored
 * as policy kind "release", id = the namespace. */
static int admin_release_policy(struct cofferd *d, const struct cofferd_req *q,
                                struct cofferd_resp *r, struct admin_ctx *a, const char *ns)
{
	json_t *req = NULL;
	uint8_t *text = NULL;
	size_t len = 0;
	char *got = NULL;

	if (!coffer_kbs_segment_valid(ns, strlen(ns)))
		return cofferd_resp_error(r, 404, "InvalidRequestPath", "bad namespace");
	if (!has_namespace(&a->p, ns))
		return cofferd_resp_error(r, 403, "AdminAuthAccess",
		                          "only the owner of %s sets its release policy", ns);
	if (strcmp(q->method, "GET") == 0) {
		int error;
		if (spend_jti(d, a, r) < 0)
			return 0;
		error = coffer_store_policy_get(&got, &len, d->store, "release", ns);
		if (error == COFFER_ENOTFOUND)
			return cofferd_resp_error(r, 404, "PolicyNotFound", "no release policy");
		if (error < 0)
			return cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
		r->body = got;
		r->len = len;
		r->status = 200;
		r->content_type = "text/plain; charset=utf-8";
		return 0;
	}
	if (strcmp(q->method, "POST") != 0)
		return cofferd_resp_error(r, 405, "MethodNotAllowed", "GET or POST");
	if (parse_json_body(&req, q, r) < 0)
		return 0;
	if (decode_b64_field(&text, &len, req, "policy", COFFER_B64_URL_NOPAD, r) < 0)
		goto out;
	if (len == 0 || !utf8_text(text, len)) {
		cofferd_resp_error(r, 400, "ParsePolicyError", "policy: empty or not UTF-8");
		goto out;
	}
	if (check_rego(text, len, r) < 0 || spend_jti(d, a, r) < 0)
		goto out;
	if (coffer_store_policy_put(d->store, "release", ns, (const char *)text, len,
	                            cofferd_now()) < 0) {
		cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
		goto out;
	}
	audit(d, a, "policy.release", ns,
	      json_pack("{s:s,s:I}", "namespace", ns, "size", (json_int_t)len));
	r->status = 200;
out:
	free(text);
	json_decref(req);
	return 0;
}

static int admin_refval(struct cofferd *d, const struct cofferd_req *q, struct cofferd_resp *r,
                        struct admin_ctx *a, const char *sub)
{
	json_t *req = NULL, *payload = NULL, *v, *vals = NULL;
	uint8_t *raw = NULL;
	size_t len = 0;
	const char *name, *version, *type;
	int error;

	if (strcmp(a->p.persona, WP) != 0)
		return cofferd_resp_error(r, 403, "AdminAuthAccess",
		                          "only a workload provider manages reference values");
	if (strcmp(q->method, "GET") == 0) {
		if (sub == NULL || !coffer_kbs_segment_valid(sub, strlen(sub)))
			return cofferd_resp_error(r, 404, "InvalidRequestPath",
			                          "want /reference-value/<id>");
		if (spend_jti(d, a, r) < 0)
			return 0;
		error = coffer_store_refval_get(&vals, d->store, sub);
		if (error == COFFER_ENOTFOUND)
			return cofferd_resp_error(r, 404, "ReferenceValueNotFound",
			                          "no reference value %s", sub);
		if (error < 0)
			return cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
		v = json_object();
		json_object_set_new(v, sub, vals);
		return cofferd_resp_json(r, 200, v);
	}
	if (strcmp(q->method, "POST") != 0 || sub != NULL)
		return cofferd_resp_error(r, 405, "MethodNotAllowed", "POST /reference-value");
	if (parse_json_body(&req, q, r) < 0)
		return 0;
	version = json_string_value(json_object_get(req, "version"));
	type = json_string_value(json_object_get(req, "type"));
	if (version == NULL || strcmp(version, "0.1.0") != 0 || type == NULL ||
	    strcmp(type, "sample") != 0) {
		cofferd_resp_error(
		        r, 400, "SerdeError",
		        "reference value: version \"0.1.0\" and type \"sample\" required");
		goto out;
	}
	if (decode_b64_field(&raw, &len, req, "payload", COFFER_B64_STD, r) < 0)
		goto out;
	if (coffer_json_parse(&payload, (const char *)raw, len, 0) < 0 ||
	    !json_is_object(payload) || json_object_size(payload) == 0 ||
	    json_object_size(payload) > 1024) {
		cofferd_resp_error(r, 400, "SerdeError", "payload: want {\"<name>\":[values]}");
		goto out;
	}
	json_object_foreach(payload, name, v)
	{
		if (!json_is_array(v) || !coffer_kbs_segment_valid(name, strlen(name))) {
			cofferd_resp_error(r, 400, "SerdeError",
			                   "payload: each name maps to an array of values");
			goto out;
		}
	}
	if (spend_jti(d, a, r) < 0)
		goto out;
	json_object_foreach(payload, name, v)
	{
		if (coffer_store_refval_set(d->store, name, v, cofferd_now()) < 0) {
			cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
			goto out;
		}
		audit(d, a, "refval.set", NULL,
		      json_pack("{s:s,s:I}", "name", name, "count",
		                (json_int_t)json_array_size(v)));
	}
	r->status = 200;
out:
	free(raw);
	json_decref(payload);
	json_decref(req);
	return 0;
}

int cofferd_handle_admin(struct cofferd *d, const struct cofferd_req *q, struct cofferd_resp *r,
                         enum cofferd_endpoint *ep)
{
	static const char pfx[] = COFFER_KBS_PREFIX "/";
	const char *p = q->path + sizeof(pfx) - 1;
	struct admin_ctx a;

	if (strncmp(p, "resource/", 9) == 0)
		*ep = EP_ADMIN_RESOURCE;
	else if (strcmp(p, "resource-policy") == 0 || strcmp(p, "attestation-policy") == 0)
		*ep = EP_ADMIN_POLICY;
	else if (strcmp(p, "reference-value") == 0 || strncmp(p, "reference-value/", 16) == 0)
		*ep = EP_ADMIN_REFVAL;
	else if (strncmp(p, "release-policy/", 15) == 0)
		*ep = EP_ADMIN_POLICY;
	else if (strcmp(p, "admin/resources") == 0)
		*ep = EP_ADMIN_OTHER;
	else
		return cofferd_resp_error(r, 404, "InvalidRequestPath", "no such endpoint");

	if (authenticate(d, q, r, &a) < 0)
		return 0;
	if (*ep == EP_ADMIN_RESOURCE)
		admin_resource(d, q, r, &a, p + 9);
	else if (strcmp(p, "resource-policy") == 0)
		admin_policy(d, q, r, &a, "resource");
	else if (strcmp(p, "attestation-policy") == 0)
		admin_policy(d, q, r, &a, "attestation");
	else if (strncmp(p, "release-policy/", 15) == 0)
		admin_release_policy(d, q, r, &a, p + 15);
	else if (*ep == EP_ADMIN_REFVAL)
		admin_refval(d, q, r, &a, p[15] == '/' ? p + 16 : NULL);
	else if (strcmp(q->method, "GET") == 0)
		list_resources(d, r, q, &a);
	else
		cofferd_resp_error(r, 405, "MethodNotAllowed", "GET only");
	coffer_store_principal_clear(&a.p);
	return 0;
}

/* ---- bootstrap: the first workload provider ---- */

static int register_principal(struct cofferd *d, const coffer_jwk *pub, const char *origin)
{
	coffer_store_principal p;
	char *id = NULL;
	json_t *jwk = NULL, *ns = NULL;
	int error;

	memset(&p, 0, sizeof(p));
	if ((error = coffer_jwk_thumbprint(&id, pub)) < 0 ||
	    (error = coffer_jwk_to_json(&jwk, pub, false)) < 0)
		goto out;
	ns = json_array();
	for (size_t i = 0; i < d->cfg.n_bootstrap_namespaces; i++)
		json_array_append_new(ns, json_string(d->cfg.bootstrap_namespaces[i]));
	if (d->cfg.n_bootstrap_namespaces == 0)
		json_array_append_new(ns, json_string("default"));
	p.id = id;
	p.persona = WP;
	p.public_key = jwk;
	p.namespaces = ns;
	p.enrolled_by = (char *)origin;
	p.enrolled_at = cofferd_now();
	error = coffer_store_principal_add(d->store, &p);
	if (error == COFFER_EEXISTS)
		error = 0;
	else if (error == 0)
		cofferd_log(LOG_INFO_, "bootstrap workload provider enrolled",
		            json_pack("{s:s,s:s}", "principal", id, "from", origin));
out:
	free(id);
	json_decref(jwk);
	json_decref(ns);
	return error;
}

int cofferd_admin_bootstrap(struct cofferd *d)
{
	coffer_jwk *k = NULL, *pub = NULL;
	json_t *j = NULL;
	char *path = NULL, *id = NULL, *text = NULL;
	size_t n;
	int error = 0;

	if (d->cfg.bootstrap_key) {
		if ((error = coffer_jwk_load(&k, d->cfg.bootstrap_key)) < 0 ||
		    (error = coffer_jwk_public(&pub, k)) < 0 ||
		    (error = register_principal(d, pub, "config")) < 0) {
			coffer_error_wrap(error, "admin.bootstrap_key %s", d->cfg.bootstrap_key);
			goto out;
		}
		coffer_jwk_free(k);
		coffer_jwk_free(pub);
		k = pub = NULL;
	}
	if (!d->cfg.dev)
		goto out;
	/* dev mode: DIR/admin.jwk, a private key the CLI uses directly */
	n = strlen(d->cfg.data_dir) + 16;
	path = malloc(n);
	if (path == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(path, n, "%s/admin.jwk", d->cfg.data_dir);
	if (coffer_jwk_load(&k, path) < 0) {
		if ((error = coffer_jwk_generate(&k, "EC", "P-256", 0)) < 0 ||
		    (error = coffer_jwk_thumbprint(&id, k)) < 0 ||
		    (error = coffer_jwk_set_kid(k, id)) < 0 ||
		    (error = coffer_jwk_set_alg(k, "ES256")) < 0 ||
		    (error = coffer_jwk_to_json(&j, k, true)) < 0)
			goto out;
		text = json_dumps(j, JSON_COMPACT);
		if (text == NULL) {
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			goto out;
		}
		if ((error = coffer_file_write_private(path, text, strlen(text))) < 0)
			goto out;
		fprintf(stderr, "cofferd: development admin key written to %s\n", path);
	}
	if ((error = coffer_jwk_public(&pub, k)) < 0 ||
	    (error = register_principal(d, pub, "dev")) < 0)
		goto out;
out:
	if (text)
		coffer_free_str_wiped(text);
	json_decref(j);
	free(id);
	free(path);
	coffer_jwk_free(k);
	coffer_jwk_free(pub);
	return error;
}
