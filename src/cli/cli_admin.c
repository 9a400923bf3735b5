/* Shared broker-client code of the persona commands (see cli_admin.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "coffer/codec.h"
#include "coffer/file.h"
#include "coffer/http.h"
#include "coffer/json.h"
#include "coffer/kbs.h"
#include "cli.h"
#include "cli_admin.h"

#define ADMIN_TOKEN_LIFETIME 60
#define RESPONSE_MAX         ((size_t)16 * 1024 * 1024)

const char cli_admin_common_help[] =
        "common flags:\n"
        "  --broker URL     the broker (default: $COFFER_BROKER)\n"
        "  --key FILE       principal private key, JWK or PEM (default: $COFFER_KEY)\n"
        "  --cacert FILE    CA certificate(s) to trust for https\n"
        "  --json           machine-readable output\n";

int cli_admin_opt(struct cli_admin *a, const struct cli_flag *flags, int argc, char **argv, int *i)
{
	const char *o = argv[*i];
	const char **dst = NULL;

	if (strcmp(o, "--json") == 0) {
		a->json = true;
		return 1;
	}
	if (strcmp(o, "--broker") == 0)
		dst = &a->broker;
	else if (strcmp(o, "--key") == 0)
		dst = &a->key_path;
	else if (strcmp(o, "--cacert") == 0)
		dst = &a->cacert;
	else {
		/* the command's own flag without its value: the caller reports it */
		if ((dst = cli_flag_find(flags, o)) == NULL || *i + 1 >= argc)
			return 0;
		*dst = argv[++*i];
		return 1;
	}
	if (*i + 1 >= argc) {
		cli_error(a->cmd, "%s needs a value", o);
		return -1;
	}
	*dst = argv[++*i];
	return 1;
}

void cli_admin_print_raw(const coffer_buf *resp)
{
	fwrite(resp->ptr, 1, resp->len, stdout);
	putchar('\n');
}

int cli_admin_print_list(struct cli_admin *a, const coffer_buf *resp,
                         void (*print_entry)(const json_t *e))
{
	json_t *arr = json_loadb((const char *)resp->ptr, resp->len, 0, NULL), *e;
	size_t i;

	if (!json_is_array(arr)) {
		json_decref(arr);
		cli_error(a->cmd, "broker answer is not a list");
		return CLI_INTERNAL;
	}
	if (a->json)
		cli_admin_print_raw(resp);
	else
		json_array_foreach(arr, i, e) print_entry(e);
	json_decref(arr);
	return CLI_OK;
}

int cli_admin_init_anon(struct cli_admin *a)
{
	if (a->broker == NULL)
		a->broker = getenv("COFFER_BROKER");
	if (a->broker == NULL || a->broker[0] == '\0') {
		cli_error(a->cmd, "no broker: use --broker URL or set COFFER_BROKER");
		return CLI_USAGE;
	}
	if (strncmp(a->broker, "http://", 7) != 0 && strncmp(a->broker, "https://", 8) != 0) {
		cli_error(a->cmd, "--broker must be an http:// or https:// URL");
		return CLI_USAGE;
	}
	return CLI_OK;
}

int cli_admin_init(struct cli_admin *a)
{
	int error;

	if (a->key_path == NULL)
		a->key_path = getenv("COFFER_KEY");
	if ((error = cli_admin_init_anon(a)) != CLI_OK)
		return error;
	if (a->key_path == NULL) {
		cli_error(a->cmd, "no principal key: use --key FILE or set COFFER_KEY");
		return CLI_USAGE;
	}
	if ((error = coffer_jwk_load(&a->key, a->key_path)) < 0) {
		cli_error(a->cmd, "%s: %s", a->key_path, coffer_error_last());
		return CLI_USAGE;
	}
	if (!coffer_jwk_has_private(a->key)) {
		cli_error(a->cmd, "%s: not a private key", a->key_path);
		return CLI_USAGE;
	}
	if ((error = coffer_jwk_thumbprint(&a->sub, a->key)) < 0) {
		cli_error(a->cmd, NULL);
		return cli_exit_code(error);
	}
	return CLI_OK;
}

void cli_admin_free(struct cli_admin *a)
{
	coffer_jwk_free(a->key);
	free(a->sub);
	a->key = NULL;
	a->sub = NULL;
}

static const char *alg_for(const coffer_jwk *k)
{
	const char *kty = coffer_jwk_kty(k), *crv = coffer_jwk_crv(k);

	if (strcmp(kty, "OKP") == 0 && crv && strcmp(crv, "Ed25519") == 0)
		return "EdDSA";
	if (strcmp(kty, "EC") == 0 && crv && strcmp(crv, "P-256") == 0)
		return "ES256";
	return NULL;
}

int cli_admin_token(char **out, const coffer_jwk *key, const char *sub, const char *method,
                    const char *path, const uint8_t *body, size_t len, int64_t now)
{
	uint8_t md[32], rnd[16];
	unsigned int mdlen = 0;
	char *bdh = NULL, *jti = NULL, htu[2048];
	const char *alg = alg_for(key);
	const char *q = strchr(path, '?');
	json_t *claims = NULL, *hdr = NULL;
	int error;

	if (alg == NULL)
		return coffer_error_set(COFFER_EUNSUPPORTED,
		                        "principal keys are Ed25519 (EdDSA) or EC P-256 (ES256)");
	/* htu is the request path without its query */
	if ((size_t)(q ? q - path : (ptrdiff_t)strlen(path)) >= sizeof(htu))
		return coffer_error_set(COFFER_ELIMIT, "path too long");
	snprintf(htu, sizeof(htu), "%.*s", (int)(q ? q - path : (ptrdiff_t)strlen(path)), path);
	if (EVP_Digest(body ? (const void *)body : "", len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1)
		return coffer_error_set_ssl(COFFER_ERROR, "digest or randomness failed");
	if ((error = coffer_base64_encode(&bdh, NULL, md, mdlen, COFFER_B64_URL_NOPAD)) < 0 ||
	    (error = coffer_hex_encode(&jti, rnd, sizeof(rnd))) < 0)
		goto out;
	claims = json_pack("{s:s,s:I,s:I,s:s,s:s,s:s,s:s}", "sub", sub, "iat", (json_int_t)now,
	                   "exp", (json_int_t)(now + ADMIN_TOKEN_LIFETIME), "jti", jti, "htm",
	                   method, "htu", htu, "bdh", bdh);
	hdr = json_pack("{s:s}", "typ", "JWT");
	if (claims == NULL || hdr == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	error = coffer_jwt_sign(out, key, alg, hdr, claims);
out:
	json_decref(claims);
	json_decref(hdr);
	free(bdh);
	free(jti);
	return error;
}

static void print_broker_error(struct cli_admin *a, long status, const coffer_buf *resp)
{
	json_t *j = NULL;
	const char *type, *detail, *variant;
	char text[400];

	if (resp->len)
		j = json_loadb((const char *)resp->ptr, resp->len, 0, NULL);
	type = json_string_value(json_object_get(j, "type"));
	detail = json_string_value(json_object_get(j, "detail"));
	variant = type ? strrchr(type, '/') : NULL;
	if (detail) {
		/* the broker may be hostile: no control characters (terminal
		 * escapes) reach the user's terminal, as in coffer_kbs_error_text */
		snprintf(text, sizeof(text), "%.60s: %.300s", variant ? variant + 1 : "", detail);
		for (char *p = text; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
				*p = '?';
		cli_error(a->cmd, "broker answered %ld %s", status, text);
	} else
		cli_error(a->cmd, "broker answered %ld", status);
	json_decref(j);
}

int cli_admin_request(struct cli_admin *a, const char *method, const char *path,
                      const uint8_t *body, size_t len, const char *content_type, long *status,
                      coffer_buf *resp)
{
	return cli_admin_request_hdr(a, method, path, body, len, content_type, status, resp, NULL,
	                             NULL, 0);
}

int cli_admin_request_hdr(struct cli_admin *a, const char *method, const char *path,
                          const uint8_t *body, size_t len, const char *content_type, long *status,
                          coffer_buf *resp, const char *hname, char *hval, size_t hval_size)
{
	coffer_http_opts ho = { 0 };
	coffer_http_request rq = { 0 };
	coffer_http_response rs;
	coffer_http *h = NULL;
	char *token = NULL, *url = NULL, auth[20000], ct[160];
	const char *hdrs[3];
	size_t blen = strlen(a->broker), nh = 0;
	int rc = CLI_INTERNAL, error;

	memset(&rs, 0, sizeof(rs));
	*status = 0;
	auth[0] = '\0';
	if (hval != NULL && hval_size > 0)
		hval[0] = '\0';
	/* no key (cli_admin_init_anon): an unauthenticated request */
	if (a->key && (error = cli_admin_token(&token, a->key, a->sub, method, path, body, len,
	                                       (int64_t)time(NULL))) < 0) {
		cli_error(a->cmd, NULL);
		return cli_exit_code(error);
	}
	while (blen && a->broker[blen - 1] == '/')
		blen--;
	url = malloc(blen + strlen(path) + 1);
	if (url == NULL)
		goto out;
	memcpy(url, a->broker, blen);
	memcpy(url + blen, path, strlen(path) + 1);
	snprintf(ct, sizeof(ct), "Content-Type: %s",
	         content_type ? content_type : "application/octet-stream");
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hdrs[nh++] = auth;
	}
	hdrs[nh++] = ct;
	hdrs[nh] = NULL;
	/* libcoffer's own HTTP client (TLS verified against --cacert, or the
	 * system store) */
	ho.cacert = a->cacert;
	ho.total_timeout_ms = 30000;
	ho.user_agent = "coffer-cli/0.1";
	if ((error = coffer_http_new(&h, &ho)) < 0) {
		cli_error(a->cmd, NULL);
		goto out;
	}
	rq.method = method;
	rq.url = url;
	rq.headers = hdrs;
	rq.body = body;
	rq.body_len = body ? len : 0;
	rq.max_body = resp->max;
	if ((error = coffer_http_perform(&rs, h, &rq)) < 0) {
		cli_error(a->cmd, "%s: %s", a->broker, coffer_error_last());
		rc = error == COFFER_EINVAL ? CLI_USAGE : CLI_INTERNAL;
		goto out;
	}
	*status = rs.status;
	if (hname != NULL && hval_size > 0) {
		const char *v = coffer_http_response_header(&rs, hname);
		/* truncated when too long: never "" for a header that is there, so
		 * the caller's parse refuses an over-long value instead of taking
		 * it for an absent one */
		if (v != NULL)
			snprintf(hval, hval_size, "%s", v);
	}
	if (rs.body.len && coffer_buf_append(resp, rs.body.ptr, rs.body.len) < 0) {
		cli_error(a->cmd, "broker answer too large");
		goto out;
	}
	if (*status >= 200 && *status < 300)
		rc = CLI_OK;
	else {
		print_broker_error(a, *status, resp);
		/* 409: refused (an owned namespace, an enrolled key, the latest version) */
		if (*status == 401 || *status == 403 || *status == 404 || *status == 409)
			rc = CLI_FAIL;
		else if (*status >= 400 && *status < 500)
			rc = CLI_USAGE;
	}
out:
	coffer_wipe(auth, sizeof(auth));
	coffer_http_response_free(&rs);
	coffer_http_free(h);
	free(url);
	coffer_free_str_wiped(token);
	return rc;
}

/* ---- coffer policy set (the `set` row of src/cli/policy.c) ---- */

static void policy_set_usage(FILE *f)
{
	fprintf(f,
	        "usage: coffer policy set --kind attestation|resource --in policy.rego [--id ID]\n"
	        "       coffer policy set --kind release --namespace NAME --in policy.rego\n"
	        "attestation: POST /kbs/v0/attestation-policy (policy_id ID, default "
	        "default_cpu)\n"
	        "resource:    POST /kbs/v0/resource-policy\n"
	        "release:     POST /kbs/v0/release-policy/NAME (the namespace owner's policy)\n%s",
	        cli_admin_common_help);
}

int cli_policy_set(int argc, char **argv)
{
	struct cli_admin a = { .cmd = "policy set" };
	const char *kind = NULL, *in = NULL, *id = "default_cpu", *ns = NULL;
	const struct cli_flag flags[] = { { "--kind", &kind },
		                          { "--in", &in },
		                          { "--id", &id },
		                          { "--namespace", &ns },
		                          { NULL, NULL } };
	uint8_t *text = NULL;
	size_t len = 0;
	char *b64 = NULL, *body = NULL, path[512];
	json_t *req = NULL;
	coffer_buf resp = COFFER_BUF_INIT_MAX((size_t)1024 * 1024);
	long status = 0;
	int rc = CLI_USAGE, r;

	/* argv[0] is "set": without flags, the usage on stderr */
	if (cli_help_or_usage(&rc, argc, argv, policy_set_usage))
		return rc;
	for (int i = 1; i < argc; i++) {
		if ((r = cli_admin_opt(&a, flags, argc, argv, &i)) < 0)
			return CLI_USAGE;
		if (r == 0) {
			cli_error(a.cmd, "unexpected argument '%s'", argv[i]);
			policy_set_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (kind == NULL || in == NULL) {
		policy_set_usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(kind, "release") == 0) {
		if (ns == NULL || !coffer_kbs_segment_valid(ns, strlen(ns))) {
			cli_error(a.cmd, "--kind release needs --namespace NAME");
			return CLI_USAGE;
		}
		snprintf(path, sizeof(path), "/kbs/v0/release-policy/%s", ns);
	} else if (strcmp(kind, "attestation") == 0) {
		if (!coffer_kbs_segment_valid(id, strlen(id))) {
			cli_error(a.cmd, "invalid --id '%s'", id);
			return CLI_USAGE;
		}
		snprintf(path, sizeof(path), "/kbs/v0/attestation-policy");
	} else if (strcmp(kind, "resource") == 0) {
		snprintf(path, sizeof(path), "/kbs/v0/resource-policy");
	} else {
		cli_error(a.cmd, "--kind must be attestation, resource or release");
		return CLI_USAGE;
	}
	if (ns && strcmp(kind, "release") != 0) {
		cli_error(a.cmd, "--namespace goes with --kind release");
		return CLI_USAGE;
	}
	if (coffer_file_read(&text, &len, in, CLI_INPUT_MAX) < 0) {
		cli_error(a.cmd, "%s: %s", in, coffer_error_last());
		return CLI_USAGE;
	}
	/* upstream's body: the Rego text as base64url without padding */
	if (coffer_base64_encode(&b64, NULL, text, len, COFFER_B64_URL_NOPAD) < 0) {
		rc = CLI_INTERNAL;
		goto out;
	}
	if (strcmp(kind, "attestation") == 0)
		req = json_pack("{s:s,s:s,s:s}", "type", "rego", "policy_id", id, "policy", b64);
	else
		req = json_pack("{s:s}", "policy", b64);
	if (req == NULL || (body = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
		rc = CLI_INTERNAL;
		goto out;
	}
	if ((rc = cli_admin_init(&a)) != CLI_OK)
		goto out;
	rc = cli_admin_request(&a, "POST", path, (const uint8_t *)body, strlen(body),
	                       "application/json", &status, &resp);
out:
	free(text);
	free(b64);
	free(body);
	json_decref(req);
	coffer_buf_free(&resp);
	cli_admin_free(&a);
	return rc;
}

/* ---- the broker's sealed-upload key ---- */

static int pick_upload_key(coffer_jwk **out, const json_t *doc)
{
	const json_t *keys = json_object_get(doc, "keys"), *k = NULL, *v;
	size_t i;
	int error;

	if (keys == NULL)
		k = doc;
	json_array_foreach(keys, i, v)
	{
		const char *use = json_string_value(json_object_get(v, "use"));
		if (use && strcmp(use, "enc") == 0) {
			k = v;
			break;
		}
	}
	if (!json_is_object(k))
		return coffer_error_set(COFFER_ENOTFOUND, "no upload key (\"use\":\"enc\")");
	if ((error = coffer_jwk_from_json(out, k)) < 0)
		return error;
	if (strcmp(coffer_jwk_kty(*out), "EC") != 0) {
		coffer_jwk_free(*out);
		*out = NULL;
		return coffer_error_set(COFFER_EUNSUPPORTED, "the upload key is not an EC key");
	}
	return 0;
}

int cli_admin_upload_key(coffer_jwk **out, struct cli_admin *a, const char *file)
{
	uint8_t *text = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	coffer_buf resp = COFFER_BUF_INIT_MAX((size_t)1024 * 1024);
	long status = 0;
	coffer_jwk *saved = a->key;
	int rc = CLI_USAGE;

	*out = NULL;
	if (file) {
		if (coffer_file_read(&text, &len, file, CLI_INPUT_MAX) < 0 ||
		    coffer_json_parse(&doc, (const char *)text, len, 0) < 0 ||
		    pick_upload_key(out, doc) < 0) {
			cli_error(a->cmd, "--upload-key %s: %s", file, coffer_error_last());
			goto out;
		}
		rc = CLI_OK;
		goto out;
	}
	/* the public JWKS needs no token */
	a->key = NULL;
	rc = cli_admin_request(a, "GET", "/kbs/v0/jwks", NULL, 0, NULL, &status, &resp);
	a->key = saved;
	if (rc != CLI_OK)
		goto out;
	if (coffer_json_parse(&doc, (const char *)resp.ptr, resp.len, 0) < 0 ||
	    pick_upload_key(out, doc) < 0) {
		cli_error(a->cmd, "broker JWKS: %s", coffer_error_last());
		rc = CLI_INTERNAL;
		goto out;
	}
	rc = CLI_OK;
out:
	free(text);
	json_decref(doc);
	coffer_buf_free(&resp);
	return rc;
}
