/*
 * The admin API (PROTOCOL.md section 4) and its authentication
 * (PERSONAS.md rule 4): `Authorization: Bearer <JWT>` signed with a
 * registered principal's key (EdDSA or ES256); `sub` = principal id, `exp`
 * at most 300 s after `iat`, `jti` single use (kept in the store), and the
 * request binding claims `htm` (method), `htu` (request path, without the
 * query) and `bdh` (base64url SHA-256 of the body). Principals are
 * identified by the RFC 7638 thumbprint of their public key.
 *
 * Persona scoping (PERSONAS.md table and rules, docs/personas.md): only a
 * workload provider enrols and disables principals, sets the attestation and
 * resource policies and reference values; every principal (the workload
 * provider included) writes secrets and the release policy only in the
 * namespaces it owns. A namespace gets exactly one owner when it is first
 * handed out and never moves; a disabled owner freezes it. Secrets are
 * write-only (no endpoint returns a value) and arrive sealed to the broker's
 * upload key (rule 5). Each accepted or refused action of an authenticated
 * principal is appended to the audit chain (audit.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>
#include <openssl/evp.h>

#include "coffer/audit.h"
#include "coffer/codec.h"
#include "coffer/evidence.h"
#include "coffer/snp.h"
#include "coffer/tdx.h"
#include "coffer/file.h"
#include "coffer/json.h"
#include "coffer/kbs.h"
#include "coffer/rego.h"
#include "cofferd.h"

#define WP             "workload-provider"
#define JTI_KEEP       60 /* seconds a jti outlives its token (clock leeway) */
#define ADMIN_LEEWAY   5
#define MAX_NAMESPACES 64 /* per enrolment */
#define MAX_VERSION    1000000

/* Serializes namespace hand-out (one owner each) and resource versioning. */
static pthread_mutex_t owner_lock = PTHREAD_MUTEX_INITIALIZER;
/* The sealed-upload key (rule 5): ECDH-ES+A256KW, P-256, private. */
static coffer_jwk *upload_key;

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

/* One durable audit entry for an admin action of `a` (PERSONAS.md rule
 * 7); the fields never carry a secret value. A failure is logged (ids
 * only) and returned. */
static int audit(struct cofferd *d, const struct admin_ctx *a, const char *action, const char *ns,
                 const char *resource, const char *outcome, const char *reason)
{
	json_t *f = json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:s,s:s}", "kind", "admin", "action", action,
	                      "actor", a->p.id, "namespace", ns, "resource", resource, "outcome",
	                      outcome, "reason", reason ? reason : "");
	int error = 0;

	if (f == NULL)
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
	else
		error = cofferd_audit_record(d, f);
	if (error < 0)
		cofferd_log(LOG_ERROR_, "audit append failed",
		            json_pack("{s:s,s:s,s:s?,s:s}", "principal", a->p.id, "action", action,
		                      "namespace", ns, "error", coffer_error_last()));
	cofferd_log(LOG_INFO_, "admin",
	            json_pack("{s:s,s:s,s:s?,s:s?,s:s}", "principal", a->p.id, "action", action,
	                      "namespace", ns, "resource", resource, "outcome", outcome));
	return error;
}

/* Admin changes are recorded before they are made: a change whose entry
 * cannot be made durable is refused (500) and nothing changes, so no
 * change goes unrecorded, not even when the audit log fails. Returns 0,
 * or -1 with the answer set. */
static int audit_before(struct cofferd *d, struct cofferd_resp *r, const struct admin_ctx *a,
                        const char *action, const char *ns, const char *resource,
                        const char *reason)
{
	if (audit(d, a, action, ns, resource, "ok", reason) == 0)
		return 0;
	cofferd_resp_error(r, 500, "PluginInternalError",
	                   "audit log unavailable: the change was not made");
	return -1;
}

/* A change recorded by audit_before that then failed: a second entry,
 * outcome "error", says it was not made (or not completely). */
static void audit_not_made(struct cofferd *d, const struct admin_ctx *a, const char *action,
                           const char *ns, const char *resource, const char *why)
{
	char reason[384];

	snprintf(reason, sizeof(reason), "change not made: %s", why);
	(void)audit(d, a, action, ns, resource, "error", reason);
}

/* A refusal after authentication: audited, then the 403. */
static int deny(struct cofferd *d, struct cofferd_resp *r, const struct admin_ctx *a,
                const char *action, const char *ns, const char *resource, const char *detail)
{
	/* spent: a replay of a refused request is a replay, not another refusal
	 * to log */
	if (coffer_store_jti_use(d->store, a->jti, a->exp + JTI_KEEP) == COFFER_EEXISTS)
		return fail(r, 401, "admin token already used (replay)");
	(void)audit(d, a, action, ns, resource, "error", detail); /* nothing changes */
	return cofferd_resp_error(r, 403, "AdminAuthAccess", "%s", detail);
}

static bool is_wp(const struct admin_ctx *a)
{
	return strcmp(a->p.persona, WP) == 0;
}

/* "tag.vN" -> N (1..MAX_VERSION), else 0: a version the broker assigned. */
static long version_of(const char *tag)
{
	const char *dot = strrchr(tag, '.');
	char *end = NULL;
	long v;

	if (dot == NULL || dot[1] != 'v' || dot[2] < '1' || dot[2] > '9' || strlen(dot + 2) > 7)
		return 0;
	v = strtol(dot + 2, &end, 10);
	if (end == NULL || *end != '\0' || v < 1 || v > MAX_VERSION)
		return 0;
	return v;
}

/* N when `path` is exactly the first `blen` bytes (a base name) + ".vN". */
static long version_suffix(const char *path, size_t blen)
{
	const char *sfx = path + blen;

	if (strlen(path) <= blen || sfx[0] != '.' || strrchr(sfx, '.') != sfx)
		return 0;
	return version_of(sfx);
}

/* Highest stored version of `base` ("repo/type/tag"), 0 when none. */
static int latest_version(struct cofferd *d, const char *base, long *out)
{
	coffer_store_resource_info *v = NULL;
	size_t n = 0, blen = strlen(base);
	char prefix[3 * (COFFER_KBS_SEGMENT_MAX + 1) + 4];
	int error;

	*out = 0;
	snprintf(prefix, sizeof(prefix), "%s.v", base);
	if ((error = coffer_store_resource_list(&v, &n, d->store, prefix)) < 0)
		return error;
	for (size_t i = 0; i < n; i++) {
		long ver = version_suffix(v[i].path, blen);
		if (ver > *out)
			*out = ver;
	}
	coffer_store_resource_info_free(v, n);
	return 0;
}

static bool has_media_type(const char *ct, const char *want)
{
	size_t n = strlen(want);

	return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';');
}

/* The uploaded value: a JWE sealed to the upload key (rule 5), or plaintext
 * only where the configuration allows it (--dev, admin.allow_plaintext_upload). */
static int upload_value(struct cofferd *d, coffer_secret *out, const struct cofferd_req *q,
                        struct cofferd_resp *r)
{
	bool plain_ok;
	int error;

	if (has_media_type(q->content_type, "application/jose+json") ||
	    has_media_type(q->content_type, "application/jose")) {
		if (upload_key == NULL) {
			cofferd_resp_error(r, 500, "PluginInternalError", "no upload key");
			return -1;
		}
		error = coffer_jwe_decrypt(out,
		                           (const char *)(q->body ? q->body : (const uint8_t *)""),
		                           q->body_len, upload_key, NULL);
		if (error < 0) {
			cofferd_resp_error(
			        r, 400, "SerdeError",
			        "sealed upload: not a JWE to this broker's upload key: %s",
			        coffer_error_last());
			return -1;
		}
		return 0;
	}
	pthread_rwlock_rdlock(&d->cfg_lock);
	plain_ok = d->cfg.dev || d->cfg.allow_plaintext_upload;
	pthread_rwlock_unlock(&d->cfg_lock);
	if (!plain_ok) {
		cofferd_resp_error(r, 415, "UnsupportedMediaType",
		                   "plaintext uploads are refused: seal the value as a JWE "
		                   "(application/jose+json) to the upload key in /kbs/v0/jwks "
		                   "(`coffer resource put` does)");
		return -1;
	}
	if ((error = coffer_secret_alloc(out, q->body_len)) < 0) {
		cofferd_resp_error(r, 500, "PluginInternalError", "out of memory");
		return -1;
	}
	if (q->body_len)
		memcpy(out->ptr, q->body, q->body_len);
	return 0;
}

/* POST: a new version "tag.vN" and the latest "tag" (TEEs ask for either;
 * older versions stay until deleted). DELETE "tag": every version; DELETE
 * "tag.vN": that version, unless it is the latest. */
static int admin_resource(struct cofferd *d, const struct cofferd_req *q, struct cofferd_resp *r,
                          struct admin_ctx *a, const char *sub)
{
	coffer_kbs_resource_path rp;
	char path[3 * (COFFER_KBS_SEGMENT_MAX + 1)], vpath[sizeof(path) + 32];
	bool post = strcmp(q->method, "POST") == 0;
	coffer_secret value = COFFER_SECRET_INIT;
	long ver = 0, latest = 0;
	const char *action;
	const char *both[2] = { vpath, path };
	const char **doomed = NULL;
	coffer_store_resource_info *rows = NULL;
	size_t n_doomed = 0, deleted = 0, n_rows = 0;
	int error;

	if (!post && strcmp(q->method, "DELETE") != 0)
		return cofferd_resp_error(r, 405, "MethodNotAllowed", "POST or DELETE");
	if (coffer_kbs_resource_path_parse(&rp, sub, strlen(sub)) < 0 ||
	    coffer_kbs_resource_path_format(path, sizeof(path), &rp) < 0)
		return cofferd_resp_error(r, 404, "InvalidRequestPath", "%s", coffer_error_last());
	if (!has_namespace(&a->p, rp.repository))
		return deny(
		        d, r, a, post ? "resource.put" : "resource.delete", rp.repository, path,
		        "namespace is not yours: a principal writes only the namespaces it owns");
	ver = version_of(rp.tag);
	if (post && ver)
		return cofferd_resp_error(r, 400, "InvalidRequestPath",
		                          "tags ending in .v<N> are versions the broker assigns; "
		                          "put the base name");
	if (post && upload_value(d, &value, q, r) < 0)
		return 0;
	pthread_mutex_lock(&owner_lock);
	if (spend_jti(d, a, r) < 0)
		goto out;
	if (post) {
		if (latest_version(d, path, &latest) < 0 || latest >= MAX_VERSION) {
			cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
			goto out;
		}
		snprintf(vpath, sizeof(vpath), "%s.v%ld", path, latest + 1);
		action = latest ? "resource.rotate" : "resource.put";
		if (audit_before(d, r, a, action, rp.repository, vpath, "") < 0)
			goto out;
		/* the version and the latest together, or neither */
		if ((error = coffer_store_resource_put_paths(d->store, both, 2, value.ptr,
		                                             value.len, a->p.id, cofferd_now())) <
		    0) {
			audit_not_made(d, a, action, rp.repository, vpath, "store failed");
			cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
			goto out;
		}
		cofferd_resp_json(r, 200,
		                  json_pack("{s:s,s:s,s:I}", "path", path, "version_path", vpath,
		                            "version", (json_int_t)(latest + 1)));
		goto out;
	}
	if (ver) {
		char base[sizeof(path)];
		size_t bl = strlen(path) - strlen(strrchr(path, '.'));
		memcpy(base, path, bl);
		base[bl] = '\0';
		if (latest_version(d, base, &latest) < 0) {
			cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
			goto out;
		}
		if (ver == latest) {
			cofferd_resp_error(r, 409, "ResourceConflict",
			                   "%s is the latest version: rotate first, or delete %s",
			                   path, base);
			goto out;
		}
	}
	/* what goes, found first, so that the entry written before the change
	 * is for a delete that happens (owner_lock keeps other writers out):
	 * the resource and, for a base name, all its versions, deleted in one
	 * transaction (all or none) */
	if (coffer_store_resource_list(&rows, &n_rows, d->store, path) < 0 ||
	    (doomed = calloc(n_rows ? n_rows : 1, sizeof(*doomed))) == NULL) {
		cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
		goto out;
	}
	for (size_t i = 0; i < n_rows; i++)
		if (strcmp(rows[i].path, path) == 0 ||
		    (ver == 0 && version_suffix(rows[i].path, strlen(path))))
			doomed[n_doomed++] = rows[i].path;
	if (n_doomed == 0) {
		cofferd_resp_error(r, 404, "ResourceNotFound", "no resource %s", path);
		goto out;
	}
	if (audit_before(d, r, a, "resource.delete", rp.repository, path, "") < 0)
		goto out;
	error = coffer_store_resource_delete_paths(d->store, doomed, n_doomed, &deleted);
	if (error == 0 && deleted == 0) { /* another broker on the store was first */
		audit_not_made(d, a, "resource.delete", rp.repository, path, "already gone");
		cofferd_resp_error(r, 404, "ResourceNotFound", "no resource %s", path);
		goto out;
	}
	if (error < 0) {
		audit_not_made(d, a, "resource.delete", rp.repository, path, "store failed");
		cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
		goto out;
	}
	r->status = 200;
out:
	pthread_mutex_unlock(&owner_lock);
	free(doomed);
	coffer_store_resource_info_free(rows, n_rows);
	coffer_secret_free(&value);
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
	json_t *arr, *byname;

	if (ns && !coffer_kbs_segment_valid(ns, strlen(ns)))
		return cofferd_resp_error(r, 400, "InvalidRequestPath", "bad namespace");
	if (ns)
		snprintf(prefix, sizeof(prefix), "%s/", ns);
	if (spend_jti(d, a, r) < 0)
		return 0;
	if (coffer_store_resource_list(&v, &n, d->store, ns ? prefix : NULL) < 0)
		return cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
	arr = json_array();
	byname = json_object();
	/* base names first (sorted by path), versions folded into them */
	for (size_t i = 0; arr && byname && i < n; i++) {
		char repo[COFFER_KBS_SEGMENT_MAX + 1];
		const char *slash = strchr(v[i].path, '/'), *tag = strrchr(v[i].path, '/');
		size_t rl = slash ? (size_t)(slash - v[i].path) : 0;
		json_t *e;
		if (rl >= sizeof(repo) || tag == NULL || version_of(tag + 1))
			continue;
		memcpy(repo, v[i].path, rl);
		repo[rl] = '\0';
		/* metadata only; a non-WP principal sees its own namespaces */
		if (!is_wp(a) && !has_namespace(&a->p, repo))
			continue;
		e = json_pack("{s:s,s:I,s:I,s:I,s:s?,s:[]}", "path", v[i].path, "size",
		              (json_int_t)v[i].size, "created", (json_int_t)v[i].created, "updated",
		              (json_int_t)v[i].updated, "owner", v[i].owner, "versions");
		json_object_set(byname, v[i].path, e);
		json_array_append_new(arr, e);
	}
	for (size_t i = 0; arr && byname && i < n; i++) {
		const char *tag = strrchr(v[i].path, '/');
		long ver = tag ? version_of(tag + 1) : 0;
		char base[3 * (COFFER_KBS_SEGMENT_MAX + 1)];
		size_t bl;
		json_t *e;
		if (!ver)
			continue;
		bl = strlen(v[i].path) - strlen(strrchr(v[i].path, '.'));
		if (bl >= sizeof(base))
			continue;
		memcpy(base, v[i].path, bl);
		base[bl] = '\0';
		if ((e = json_object_get(byname, base)) != NULL)
			json_array_append_new(json_object_get(e, "versions"), json_integer(ver));
	}
	/* the numbers sorted (the store sorts "v10" before "v2") */
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *vs = json_object_get(json_array_get(arr, i), "versions");
		size_t m = json_array_size(vs);
		for (size_t x = 1; x < m; x++)
			for (size_t y = x;
			     y > 0 && json_integer_value(json_array_get(vs, y - 1)) >
			                      json_integer_value(json_array_get(vs, y));
			     y--) {
				json_t *t = json_incref(json_array_get(vs, y));
				json_array_set(vs, y, json_array_get(vs, y - 1));
				json_array_set_new(vs, y - 1, t);
			}
		if (m)
			json_object_set(json_array_get(arr, i), "version",
			                json_array_get(vs, m - 1));
	}
	json_decref(byname);
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
	const char *id = "default", *action;

	if (!is_wp(a))
		return deny(d, r, a,
		            strcmp(kind, "resource") == 0 ? "policy.resource"
		                                          : "policy.attestation",
		            NULL, NULL,
		            "only a workload provider sets attestation or resource policies");
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
	action = strcmp(kind, "resource") == 0 ? "policy.resource" : "policy.attestation";
	if (audit_before(d, r, a, action, NULL, NULL, id) < 0)
		goto out;
	if (coffer_store_policy_put(d->store, kind, id, (const char *)text, len, cofferd_now()) <
	    0) {
		audit_not_made(d, a, action, NULL, NULL, "store failed");
		cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
		goto out;
	}
	/* compiled once, here; requests still evaluating the old one finish */
	if (d->policy->reload(d->policy_ctx, kind, id, (const char *)text, len, NULL) < 0) {
		audit_not_made(d, a, action, NULL, NULL,
		               "stored, but not in force until a restart");
		cofferd_resp_error(r, 500, "PluginInternalError", "%s", coffer_error_last());
		goto out;
	}
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
		return deny(d, r, a, "policy.release", ns, NULL,
		            "only the owner of a namespace sets its release policy");
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
	if (check_rego(text, len, r) < 0 || spend_jti(d, a, r) < 0 ||
	    audit_before(d, r, a, "policy.release", ns, NULL, "") < 0)
		goto out;
	if (coffer_store_policy_put(d->store, "release", ns, (const char *)text, len,
	                            cofferd_now()) < 0) {
		audit_not_made(d, a, "policy.release", ns, NULL, "store failed");
		cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
		goto out;
	}
	if (d->policy->reload(d->policy_ctx, "release", ns, (const char *)text, len, NULL) < 0) {
		audit_not_made(d, a, "policy.release", ns, NULL,
		               "stored, but not in force until a restart");
		cofferd_resp_error(r, 500, "PluginInternalError", "%s", coffer_error_last());
		goto out;
	}
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
	size_t recorded = 0;
	bool logged = true;
	int error;

	if (!is_wp(a))
		return deny(d, r, a, "refval.set", NULL, NULL,
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
	/* an entry per name first, then all names in one transaction */
	json_object_foreach(payload, name, v)
	{
		if (audit_before(d, r, a, "refval.set", NULL, NULL, name) < 0) {
			logged = false;
			break;
		}
		recorded++;
	}
	if (logged && coffer_store_refval_set_many(d->store, payload, cofferd_now()) == 0) {
		r->status = 200;
		goto out;
	}
	/* not made: each name whose entry was written gets its error twin */
	json_object_foreach(payload, name, v)
	{
		char why[COFFER_KBS_SEGMENT_MAX + 48];
		if (recorded-- == 0)
			break;
		snprintf(why, sizeof(why), "%s (%s)",
		         logged ? "store failed" : "audit log unavailable", name);
		audit_not_made(d, a, "refval.set", NULL, NULL, why);
	}
	if (logged)
		cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
out:
	free(raw);
	json_decref(payload);
	json_decref(req);
	return 0;
}

/* ---- principals (POST/GET /kbs/v0/admin/principals, .../<id>/disable) ---- */

static const char *const personas[] = { WP, "image-provider", "data-owner" };

static bool valid_persona(const char *p)
{
	for (size_t i = 0; p && i < sizeof(personas) / sizeof(personas[0]); i++)
		if (strcmp(p, personas[i]) == 0)
			return true;
	return false;
}

static json_t *principal_json(const coffer_store_principal *p)
{
	return json_pack("{s:s,s:s,s:O,s:O,s:s?,s:I,s:b}", "id", p->id, "persona", p->persona,
	                 "public_key", p->public_key, "namespaces", p->namespaces, "enrolled_by",
	                 p->enrolled_by, "enrolled_at", (json_int_t)p->enrolled_at, "disabled",
	                 p->disabled);
}

static int principal_add(struct cofferd *d, const struct cofferd_req *q, struct cofferd_resp *r,
                         struct admin_ctx *a)
{
	json_t *req = NULL, *nss, *v, *pubj = NULL;
	coffer_jwk *key = NULL;
	coffer_store_principal np, *all = NULL;
	const char *persona, *kty, *crv;
	char *id = NULL;
	size_t n = 0, i, granted = 0;
	int error = 0;

	memset(&np, 0, sizeof(np));
	if (parse_json_body(&req, q, r) < 0)
		return 0;
	persona = json_string_value(json_object_get(req, "persona"));
	nss = json_object_get(req, "namespaces");
	if (!valid_persona(persona)) {
		cofferd_resp_error(r, 400, "SerdeError",
		                   "persona: workload-provider, image-provider or data-owner");
		goto out;
	}
	if (nss == NULL)
		nss = json_array();
	else
		json_incref(nss);
	if (!json_is_array(nss) || json_array_size(nss) > MAX_NAMESPACES) {
		json_decref(nss);
		cofferd_resp_error(r, 400, "SerdeError", "namespaces: an array of at most %d names",
		                   MAX_NAMESPACES);
		goto out;
	}
	np.namespaces = nss;
	json_array_foreach(nss, i, v)
	{
		const char *ns = json_string_value(v);
		if (ns == NULL || !coffer_kbs_segment_valid(ns, strlen(ns))) {
			cofferd_resp_error(r, 400, "SerdeError",
			                   "namespaces[%zu]: not a valid name", i);
			goto out;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(json_string_value(json_array_get(nss, k)), ns) == 0) {
				cofferd_resp_error(r, 400, "SerdeError", "namespace %s twice", ns);
				goto out;
			}
	}
	if (!json_is_object(json_object_get(req, "public_key")) ||
	    coffer_jwk_from_json(&key, json_object_get(req, "public_key")) < 0) {
		cofferd_resp_error(r, 400, "SerdeError", "public_key: not a JWK: %s",
		                   coffer_error_last());
		goto out;
	}
	kty = coffer_jwk_kty(key);
	crv = coffer_jwk_crv(key);
	if (coffer_jwk_has_private(key)) {
		cofferd_resp_error(r, 400, "SerdeError",
		                   "public_key holds a private key: send the public part only");
		goto out;
	}
	if (crv == NULL || !((strcmp(kty, "OKP") == 0 && strcmp(crv, "Ed25519") == 0) ||
	                     (strcmp(kty, "EC") == 0 && strcmp(crv, "P-256") == 0))) {
		cofferd_resp_error(r, 400, "SerdeError",
		                   "public_key: Ed25519 (OKP) or EC P-256 required");
		goto out;
	}
	if ((error = coffer_jwk_thumbprint(&id, key)) < 0 ||
	    (error = coffer_jwk_to_json(&pubj, key, false)) < 0) {
		cofferd_resp_error(r, 500, "PluginInternalError", "key: %s", coffer_error_last());
		goto out;
	}
	pthread_mutex_lock(&owner_lock);
	/* spent before the conflict checks: a replayed 409 is a replay */
	if (spend_jti(d, a, r) < 0)
		goto unlock;
	if (coffer_store_principal_list(&all, &n, d->store) < 0) {
		cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
		goto unlock;
	}
	for (size_t k = 0; k < n; k++) {
		if (strcmp(all[k].id, id) == 0) {
			cofferd_resp_error(r, 409, "PrincipalConflict",
			                   "this key is already enrolled as %s", all[k].id);
			goto unlock;
		}
		json_array_foreach(nss, i, v)
		{
			if (has_namespace(&all[k], json_string_value(v))) {
				audit(d, a, "principal.add", json_string_value(v), NULL, "error",
				      "namespace already owned");
				cofferd_resp_error(
				        r, 409, "NamespaceConflict",
				        "namespace %s already has an owner: ownership never "
				        "moves",
				        json_string_value(v));
				goto unlock;
			}
		}
	}
	np.id = id;
	np.persona = (char *)persona;
	np.public_key = pubj;
	np.enrolled_by = a->p.id;
	np.enrolled_at = cofferd_now();
	/* the enrolment and each grant, recorded before the principal is
	 * stored with them (one store write) */
	if (audit_before(d, r, a, "principal.add", NULL, NULL, id) < 0)
		goto unlock;
	json_array_foreach(nss, i, v)
	{
		if (audit_before(d, r, a, "namespace.grant", json_string_value(v), NULL, id) < 0)
			break;
		granted++;
	}
	if (granted == json_array_size(nss))
		error = coffer_store_principal_add(d->store, &np);
	if (granted < json_array_size(nss) || error < 0) {
		char why[192];
		snprintf(why, sizeof(why), "%s (principal %s)",
		         granted < json_array_size(nss) ? "audit log unavailable" : "store failed",
		         id);
		audit_not_made(d, a, "principal.add", NULL, NULL, why);
		for (i = 0; i < granted; i++)
			audit_not_made(d, a, "namespace.grant",
			               json_string_value(json_array_get(nss, i)), NULL, why);
		if (granted == json_array_size(nss))
			cofferd_resp_error(r, error == COFFER_EEXISTS ? 409 : 500,
			                   error == COFFER_EEXISTS ? "PrincipalConflict"
			                                           : "PluginInternalError",
			                   "principal add: %s", coffer_error_last());
		goto unlock;
	}
	cofferd_resp_json(
	        r, 201,
	        json_pack("{s:s,s:s,s:O}", "id", id, "persona", persona, "namespaces", nss));
unlock:
	pthread_mutex_unlock(&owner_lock);
out:
	coffer_store_principal_list_free(all, n);
	json_decref(np.namespaces);
	json_decref(pubj);
	coffer_jwk_free(key);
	free(id);
	json_decref(req);
	return 0;
}

static int admin_principals(struct cofferd *d, const struct cofferd_req *q, struct cofferd_resp *r,
                            struct admin_ctx *a, const char *sub)
{
	coffer_store_principal *all = NULL, tp;
	size_t n = 0;
	json_t *arr;
	char id[128];
	const char *slash;
	int error;

	if (!is_wp(a))
		return deny(d, r, a, "principal.manage", NULL, NULL,
		            "only a workload provider enrols, lists or disables principals");
	if (sub == NULL) {
		if (strcmp(q->method, "POST") == 0)
			return principal_add(d, q, r, a);
		if (strcmp(q->method, "GET") != 0)
			return cofferd_resp_error(r, 405, "MethodNotAllowed", "GET or POST");
		if (spend_jti(d, a, r) < 0)
			return 0;
		if (coffer_store_principal_list(&all, &n, d->store) < 0)
			return cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
		arr = json_array();
		for (size_t i = 0; arr && i < n; i++)
			json_array_append_new(arr, principal_json(&all[i]));
		coffer_store_principal_list_free(all, n);
		return cofferd_resp_json(r, 200, arr);
	}
	/* <id>/disable */
	slash = strchr(sub, '/');
	if (slash == NULL || strcmp(slash, "/disable") != 0 ||
	    (size_t)(slash - sub) >= sizeof(id) || slash == sub)
		return cofferd_resp_error(r, 404, "InvalidRequestPath",
		                          "want /kbs/v0/admin/principals/<id>/disable");
	if (strcmp(q->method, "POST") != 0)
		return cofferd_resp_error(r, 405, "MethodNotAllowed", "POST only");
	memcpy(id, sub, (size_t)(slash - sub));
	id[slash - sub] = '\0';
	if (strcmp(id, a->p.id) == 0)
		return cofferd_resp_error(r, 409, "PrincipalConflict",
		                          "a principal cannot disable itself");
	error = coffer_store_principal_get(&tp, d->store, id);
	if (error == COFFER_ENOTFOUND)
		return cofferd_resp_error(r, 404, "PrincipalNotFound", "no principal %s", id);
	if (error < 0)
		return cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
	coffer_store_principal_clear(&tp);
	if (spend_jti(d, a, r) < 0)
		return 0;
	if (audit_before(d, r, a, "principal.disable", NULL, NULL, id) < 0)
		return 0;
	if (coffer_store_principal_set_disabled(d->store, id, true) < 0) {
		audit_not_made(d, a, "principal.disable", NULL, NULL, "store failed");
		return cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
	}
	return cofferd_resp_json(r, 200, json_pack("{s:s,s:b}", "id", id, "disabled", 1));
}

/* ---- audit (GET /kbs/v0/admin/audit[?namespace=NS], .../audit/export) ----
 * Both answer one page (docs/cofferd.md "Audit pages"): from=SEQ (first seq,
 * default 1) and limit=N (1..admin.audit_page_max, the default), and
 * Coffer-Audit-Next: SEQ when more entries follow. The chain grows with
 * every release, so no answer holds more than a page. */

struct page_args {
	const char *from, *limit;
	bool dup; /* an argument given twice or without a value */
};

static enum MHD_Result page_arg_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
	struct page_args *pa = cls;
	const char **slot = NULL;
	(void)kind;

	if (key && strcmp(key, "from") == 0)
		slot = &pa->from;
	else if (key && strcmp(key, "limit") == 0)
		slot = &pa->limit;
	if (slot == NULL)
		return MHD_YES;
	if (*slot != NULL || value == NULL)
		pa->dup = true;
	else
		*slot = value;
	return MHD_YES;
}

/* from= / limit=: coffer_dec_parse, or `dflt` when absent. */
static int64_t page_number(const char *s, int64_t dflt, int64_t max)
{
	return s == NULL ? dflt : coffer_dec_parse(s, max);
}

static int admin_audit(struct cofferd *d, const struct cofferd_req *q, struct cofferd_resp *r,
                       struct admin_ctx *a, bool export)
{
	const char *ns =
	        q->conn ? MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, "namespace")
	                : NULL;
	coffer_audit_scope scope = COFFER_AUDIT_SCOPE_INIT;
	const coffer_audit_scope *filter = NULL;
	const char **names = NULL;
	struct page_args pa = { NULL, NULL, false };
	json_t *entries = NULL, *cps = NULL, *doc = NULL, *view = NULL;
	int64_t from, limit, next = 0, last;
	int error = 0;
	int64_t page_max =
	        d->cfg.audit_page_max > 0 ? d->cfg.audit_page_max : COFFERD_AUDIT_PAGE_MAX;
	size_t i, n;

	if (strcmp(q->method, "GET") != 0)
		return cofferd_resp_error(r, 405, "MethodNotAllowed", "GET only");
	if (ns && !coffer_kbs_segment_valid(ns, strlen(ns)))
		return cofferd_resp_error(r, 400, "InvalidRequestPath", "bad namespace");
	if (q->conn)
		MHD_get_connection_values(q->conn, MHD_GET_ARGUMENT_KIND, page_arg_iter, &pa);
	if (pa.dup)
		return cofferd_resp_error(r, 400, "InvalidRequestPath",
		                          "from and limit take exactly one value each");
	if ((from = page_number(pa.from, 1, COFFER_AUDIT_MAX_SEQ)) < 0)
		return cofferd_resp_error(r, 400, "InvalidRequestPath",
		                          "bad from: a seq 1..%" PRId64, COFFER_AUDIT_MAX_SEQ);
	if ((limit = page_number(pa.limit, page_max, page_max)) < 0)
		return cofferd_resp_error(r, 400, "InvalidRequestPath",
		                          "bad limit: an entry count 1..%" PRId64, page_max);
	if (ns && !is_wp(a) && !has_namespace(&a->p, ns))
		return deny(d, r, a, "audit.read", ns, NULL, "not your namespace");
	if (spend_jti(d, a, r) < 0)
		return 0;
	scope.all = is_wp(a);
	if (!scope.all) {
		size_t m = json_array_size(a->p.namespaces);
		names = calloc(m ? m : 1, sizeof(*names));
		if (names == NULL)
			return cofferd_resp_error(r, 500, "PluginInternalError", "out of memory");
		for (i = 0; i < m; i++)
			names[scope.nnamespaces++] =
			        json_string_value(json_array_get(a->p.namespaces, i));
		scope.namespaces = names;
	}
	/* a list pages over the entries the caller sees; one namespace is the
	 * store's own filter, several are filtered while reading */
	if (!export && ns == NULL && !scope.all) {
		if (scope.nnamespaces == 1)
			ns = scope.namespaces[0];
		else if (scope.nnamespaces > 1)
			filter = &scope;
	}
	if (!export && !scope.all && scope.nnamespaces == 0)
		entries = json_array(); /* nothing in its scope */
	else if (cofferd_audit_page(d, &entries, &next, from, (size_t)limit, export ? NULL : ns,
	                            filter) < 0) {
		cofferd_resp_error(r, 500, "PluginInternalError", "store failed");
		goto out;
	}
	if (entries == NULL) {
		cofferd_resp_error(r, 500, "PluginInternalError", "out of memory");
		goto out;
	}
	if (export) {
		/* the checkpoints that sign a seq in [from - 1, last]: the one at
		 * from - 1 anchors the range's head (docs/audit.md), none past
		 * its end (that would read as a cut tail) */
		n = json_array_size(entries);
		last = n ? json_integer_value(
		                   json_object_get(json_array_get(entries, n - 1), "seq"))
		         : 0;
		if (n > 0)
			error = cofferd_audit_checkpoints(d, &cps, from - 1, last);
		else if ((cps = json_array()) == NULL)
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		if (error < 0 || coffer_audit_export_new(&doc, entries, cps) < 0 ||
		    coffer_audit_filter(&view, doc, &scope) < 0) {
			cofferd_resp_error(r, 500, "PluginInternalError", "export: %s",
			                   coffer_error_last());
			goto out;
		}
		cofferd_resp_json(r, 200, view);
		view = NULL;
	} else {
		cofferd_resp_json(r, 200, entries);
		entries = NULL;
	}
	if (next > 0 && r->status == 200) {
		r->extra_header = "Coffer-Audit-Next";
		snprintf(r->extra_value, sizeof(r->extra_value), "%" PRId64, next);
	}
out:
	free(names);
	json_decref(entries);
	json_decref(cps);
	json_decref(doc);
	json_decref(view);
	return 0;
}

/* ---- collateral uploads (POST /kbs/v0/collateral; no principal) ----
 * The infrastructure operator supplies vendor-signed collateral: SEV-SNP
 * VCEK/VLEK certificates and AMD CRLs, Intel TCB info, QE identity, signing
 * chains and CRLs. Anyone may send it; it is stored in collateral_dir only
 * after it verifies against a vendor root (and it is checked again on use). */

#define COLLATERAL_MAX ((size_t)256 * 1024)

static pthread_mutex_t collateral_lock = PTHREAD_MUTEX_INITIALIZER;

static int collateral_upload(struct cofferd *d, const struct cofferd_req *q, struct cofferd_resp *r)
{
	coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
	unsigned stored = 0;
	int error;

	if (strcmp(q->method, "POST") != 0)
		return cofferd_resp_error(r, 405, "MethodNotAllowed", "POST only");
	if (d->cfg.collateral_dir == NULL)
		return cofferd_resp_error(r, 404, "InvalidRequestPath",
		                          "this broker keeps no collateral cache "
		                          "(attestation.collateral_dir)");
	if (q->body == NULL || q->body_len == 0 || q->body_len > COLLATERAL_MAX)
		return cofferd_resp_error(r, 400, "CollateralError",
		                          "want one certificate, CRL or Intel collateral document "
		                          "(at most %zu bytes)",
		                          COLLATERAL_MAX);
	p.now = cofferd_now();
	p.roots_dir = d->cfg.roots_dir;
	p.sim_root = d->cfg.sim_root; /* only when configured (test deployments) */
	pthread_mutex_lock(&collateral_lock);
	error = coffer_tdx_collateral_add(d->cfg.collateral_dir, q->body, q->body_len, &p, &stored);
	if (error == COFFER_ENOTFOUND)
		error = coffer_snp_collateral_add(d->cfg.collateral_dir, q->body, q->body_len, &p,
		                                  &stored);
	pthread_mutex_unlock(&collateral_lock);
	cofferd_log(LOG_INFO_, "collateral upload",
	            json_pack("{s:I,s:b,s:s?}", "stored", (json_int_t)stored, "ok", error == 0,
	                      "error", error < 0 ? coffer_error_last() : NULL));
	if (error == COFFER_EVERIFY || error == COFFER_EEXPIRED)
		return cofferd_resp_error(r, 422, "CollateralNotVerified", "not stored: %s",
		                          coffer_error_last());
	if (error == COFFER_EINVAL || error == COFFER_ENOTFOUND || error == COFFER_ELIMIT ||
	    error == COFFER_EUNSUPPORTED)
		return cofferd_resp_error(r, 400, "CollateralError", "%s", coffer_error_last());
	if (error < 0)
		return cofferd_resp_error(r, 500, "PluginInternalError", "collateral cache failed");
	return cofferd_resp_json(r, 200, json_pack("{s:I}", "stored", (json_int_t)stored));
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
	else if (strcmp(p, "collateral") == 0) {
		*ep = EP_OTHER;
		return collateral_upload(d, q, r); /* open to anyone: verified, not trusted */
	} else if (strcmp(p, "admin/resources") == 0 || strcmp(p, "admin/principals") == 0 ||
	           strncmp(p, "admin/principals/", 17) == 0 || strcmp(p, "admin/audit") == 0 ||
	           strcmp(p, "admin/audit/export") == 0)
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
	else if (strcmp(p, "admin/principals") == 0)
		admin_principals(d, q, r, &a, NULL);
	else if (strncmp(p, "admin/principals/", 17) == 0)
		admin_principals(d, q, r, &a, p + 17);
	else if (strcmp(p, "admin/audit") == 0)
		admin_audit(d, q, r, &a, false);
	else if (strcmp(p, "admin/audit/export") == 0)
		admin_audit(d, q, r, &a, true);
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
	coffer_store_principal p, *all = NULL;
	size_t n = 0;
	char *id = NULL;
	json_t *jwk = NULL, *ns = NULL;
	int error;

	memset(&p, 0, sizeof(p));
	if ((error = coffer_jwk_thumbprint(&id, pub)) < 0 ||
	    (error = coffer_jwk_to_json(&jwk, pub, false)) < 0 ||
	    (error = coffer_store_principal_list(&all, &n, d->store)) < 0)
		goto out;
	ns = json_array();
	for (size_t i = 0; i < (d->cfg.n_bootstrap_namespaces ? d->cfg.n_bootstrap_namespaces : 1);
	     i++) {
		const char *name =
		        d->cfg.n_bootstrap_namespaces ? d->cfg.bootstrap_namespaces[i] : "default";
		bool owned = false;
		/* one owner per namespace, even from the configuration (rule 2) */
		for (size_t k = 0; k < n && !owned; k++)
			owned = strcmp(all[k].id, id) != 0 && has_namespace(&all[k], name);
		if (owned)
			cofferd_log(LOG_WARN_,
			            "bootstrap namespace already has an owner: not granted",
			            json_pack("{s:s,s:s}", "namespace", name, "principal", id));
		else
			json_array_append_new(ns, json_string(name));
	}
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
	coffer_store_principal_list_free(all, n);
	free(id);
	json_decref(jwk);
	json_decref(ns);
	return error;
}

/* The sealed-upload key (rule 5): DIR/upload.jwk, EC P-256 for
 * ECDH-ES+A256KW, generated once (mode 0600); its public half joins the
 * JWKS with "use":"enc" so the CLI can seal values to it. */
static int upload_key_init(struct cofferd *d)
{
	coffer_jwk *k = NULL;
	json_t *j = NULL, *pub = NULL, *keys = NULL;
	char *path = NULL, *id = NULL, *text = NULL, *body = NULL;
	size_t n, blen = 0;
	int error = 0;

	if (d->cfg.data_dir == NULL)
		return 0; /* no place for it: sealed uploads unavailable */
	n = strlen(d->cfg.data_dir) + 16;
	if ((path = malloc(n)) == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	snprintf(path, n, "%s/upload.jwk", d->cfg.data_dir);
	if (coffer_jwk_load(&k, path) < 0) {
		if ((error = coffer_jwk_generate(&k, "EC", "P-256", 0)) < 0 ||
		    (error = coffer_jwk_to_json(&j, k, true)) < 0)
			goto out;
		text = json_dumps(j, JSON_COMPACT);
		if (text == NULL) {
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			goto out;
		}
		if ((error = coffer_file_write_private(path, text, strlen(text))) < 0)
			goto out;
	}
	if (strcmp(coffer_jwk_kty(k), "EC") != 0 || coffer_jwk_crv(k) == NULL ||
	    strcmp(coffer_jwk_crv(k), "P-256") != 0 || !coffer_jwk_has_private(k)) {
		error = coffer_error_set(COFFER_EINVAL, "%s: want a private EC P-256 key", path);
		goto out;
	}
	if ((error = coffer_jwk_thumbprint(&id, k)) < 0 ||
	    (error = coffer_jwk_set_kid(k, id)) < 0 ||
	    (error = coffer_jwk_set_alg(k, "ECDH-ES+A256KW")) < 0 ||
	    (error = coffer_jwk_to_json(&pub, k, false)) < 0)
		goto out;
	json_object_set_new(pub, "use", json_string("enc"));
	if ((error = coffer_json_parse(&keys, d->jwks_body, d->jwks_len, 0)) < 0 ||
	    !json_is_array(json_object_get(keys, "keys"))) {
		error = error < 0 ? error : coffer_error_set(COFFER_EINVAL, "jwks: no keys");
		goto out;
	}
	json_array_append(json_object_get(keys, "keys"), pub);
	if ((error = coffer_json_dump(&body, &blen, keys)) < 0)
		goto out;
	free(d->jwks_body);
	d->jwks_body = body;
	d->jwks_len = blen;
	body = NULL;
	coffer_jwk_free(upload_key);
	upload_key = k;
	k = NULL;
out:
	if (text)
		coffer_free_str_wiped(text);
	json_decref(j);
	json_decref(pub);
	json_decref(keys);
	free(body);
	free(id);
	free(path);
	coffer_jwk_free(k);
	return error;
}

void cofferd_admin_free(void)
{
	coffer_jwk_free(upload_key);
	upload_key = NULL;
}

int cofferd_admin_bootstrap(struct cofferd *d)
{
	coffer_jwk *k = NULL, *pub = NULL;
	json_t *j = NULL;
	char *path = NULL, *id = NULL, *text = NULL;
	size_t n;
	int error = 0;

	cofferd_audit_set_checkpoint_every(d->cfg.audit_checkpoint_every);
	cofferd_audit_set_commit_delay((long)d->cfg.audit_commit_delay_us);
	if ((error = upload_key_init(d)) < 0)
		goto out;
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
