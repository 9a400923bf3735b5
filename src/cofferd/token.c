/*
 * EAR attestation tokens (PROTOCOL.md section 5): ES256 on P-256 with the
 * public key in the `jwk` header, JWKS publication, bearer verification
 * against the broker's own key and the configured trusted JWKs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "coffer/codec.h"
#include "coffer/file.h"
#include "coffer/json.h"
#include "cofferd.h"

#define EAR_PROFILE "tag:github.com,2023:veraison/ear"

static int load_or_generate(coffer_jwk **out, const char *path)
{
	struct stat st;
	json_t *j = NULL;
	char *text = NULL;
	int error;

	if (stat(path, &st) == 0) {
		if ((st.st_mode & 077) != 0)
			return coffer_error_set(COFFER_EDENIED, "signing key %s: must be mode 0600",
			                        path);
		if ((error = coffer_jwk_load(out, path)) < 0)
			return coffer_error_wrap(error, "signing key %s", path);
		if (strcmp(coffer_jwk_kty(*out), "EC") != 0 || coffer_jwk_crv(*out) == NULL ||
		    strcmp(coffer_jwk_crv(*out), "P-256") != 0 || !coffer_jwk_has_private(*out)) {
			coffer_jwk_free(*out);
			*out = NULL;
			return coffer_error_set(
			        COFFER_EINVAL, "signing key %s: want a private EC P-256 JWK", path);
		}
		return 0;
	}
	if (errno != ENOENT)
		return coffer_error_set(COFFER_EIO, "signing key %s: %s", path, strerror(errno));
	/* generated once and kept (0600) */
	if ((error = coffer_jwk_generate(out, "EC", "P-256", 0)) < 0)
		return error;
	if ((error = coffer_jwk_to_json(&j, *out, true)) < 0)
		goto fail;
	text = json_dumps(j, JSON_COMPACT);
	if (text == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto fail;
	}
	error = coffer_file_write_private(path, text, strlen(text));
	coffer_free_str_wiped(text);
	json_decref(j);
	if (error < 0)
		goto fail;
	cofferd_log(LOG_INFO_, "generated token signing key", json_pack("{s:s}", "path", path));
	return 0;
fail:
	json_decref(j);
	coffer_jwk_free(*out);
	*out = NULL;
	return error;
}

static int add_verify_key(struct cofferd *d, coffer_jwk *k)
{
	coffer_jwk **nv = realloc(d->verify_keys, (d->n_verify_keys + 1) * sizeof(*nv));

	if (nv == NULL) {
		coffer_jwk_free(k);
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	d->verify_keys = nv;
	d->verify_keys[d->n_verify_keys++] = k;
	return 0;
}

/* A trusted key file holds one JWK, a JWKS ({"keys":[...]}) or a PEM key. */
static int load_trusted_file(struct cofferd *d, const char *path)
{
	uint8_t *text = NULL;
	size_t len = 0;
	json_t *j = NULL, *keys, *e;
	coffer_jwk *k = NULL;
	size_t i;
	int error;

	if ((error = coffer_file_read(&text, &len, path, 1024 * 1024)) < 0)
		return coffer_error_wrap(error, "trusted_jwks %s", path);
	if (coffer_json_parse(&j, (const char *)text, len, 0) == 0 &&
	    json_is_array(keys = json_object_get(j, "keys"))) {
		json_array_foreach(keys, i, e)
		{
			if ((error = coffer_jwk_from_json(&k, e)) < 0 ||
			    (error = add_verify_key(d, k)) < 0) {
				coffer_error_wrap(error, "trusted_jwks %s key %zu", path, i);
				goto out;
			}
		}
	} else {
		if ((error = coffer_jwk_parse(&k, (const char *)text, len)) < 0 ||
		    (error = add_verify_key(d, k)) < 0) {
			coffer_error_wrap(error, "trusted_jwks %s", path);
			goto out;
		}
	}
	error = 0;
out:
	json_decref(j);
	free(text);
	return error;
}

int cofferd_load_trusted_keys(struct cofferd *d)
{
	coffer_jwk *own = NULL;
	int error;

	/* [0] is always the broker's own public key */
	for (size_t i = 1; i < d->n_verify_keys; i++)
		coffer_jwk_free(d->verify_keys[i]);
	if (d->n_verify_keys == 0) {
		if ((error = coffer_jwk_public(&own, d->signing_key)) < 0 ||
		    (error = add_verify_key(d, own)) < 0)
			return error;
	}
	d->n_verify_keys = 1;
	for (size_t i = 0; i < d->cfg.n_trusted_jwks; i++)
		if ((error = load_trusted_file(d, d->cfg.trusted_jwks[i])) < 0)
			return error;
	return 0;
}

/* attestation.signing_cert: a PEM chain whose first certificate holds the
 * signing key; its DER certificates go into each token's x5c header. */
static int load_x5c(struct cofferd *d)
{
	BIO *bio = NULL;
	X509 *x = NULL;
	json_t *arr = NULL;
	int error = 0, n = 0;

	if (d->cfg.signing_cert == NULL)
		return 0;
	bio = BIO_new_file(d->cfg.signing_cert, "r");
	arr = json_array();
	if (bio == NULL || arr == NULL) {
		error = coffer_error_set_ssl(COFFER_EIO, "signing_cert %s", d->cfg.signing_cert);
		goto out;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		unsigned char *der = NULL;
		char *b64 = NULL;
		int len = i2d_X509(x, &der);
		if (n == 0 &&
		    EVP_PKEY_eq(X509_get0_pubkey(x), coffer_jwk_pkey(d->signing_key)) != 1) {
			error = coffer_error_set(COFFER_EINVAL,
			                         "signing_cert %s: its key is not the signing key",
			                         d->cfg.signing_cert);
		} else if (len <= 0 ||
		           coffer_base64_encode(&b64, NULL, der, (size_t)len, COFFER_B64_STD) < 0 ||
		           json_array_append_new(arr, json_string(b64)) < 0) {
			error = coffer_error_set(COFFER_ERROR, "signing_cert: encoding failed");
		}
		OPENSSL_free(der);
		free(b64);
		X509_free(x);
		n++;
		if (error < 0)
			goto out;
	}
	ERR_clear_error();
	if (n == 0) {
		error = coffer_error_set(COFFER_EINVAL, "signing_cert %s: no certificate",
		                         d->cfg.signing_cert);
		goto out;
	}
	d->x5c = arr;
	arr = NULL;
out:
	json_decref(arr);
	BIO_free(bio);
	return error;
}

int cofferd_token_init(struct cofferd *d)
{
	json_t *keys = NULL;
	char *kid = NULL;
	int error;

	if ((error = load_or_generate(&d->signing_key, d->cfg.signing_key)) < 0)
		return error;
	if ((error = coffer_jwk_thumbprint(&kid, d->signing_key)) < 0 ||
	    (error = coffer_jwk_set_kid(d->signing_key, kid)) < 0 ||
	    (error = coffer_jwk_set_alg(d->signing_key, "ES256")) < 0 ||
	    (error = coffer_jwk_to_json(&d->signing_jwk_pub, d->signing_key, false)) < 0)
		goto out;
	json_object_set_new(d->signing_jwk_pub, "use", json_string("sig"));
	keys = json_pack("{s:[O]}", "keys", d->signing_jwk_pub);
	if (keys == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	if ((error = coffer_json_dump(&d->jwks_body, &d->jwks_len, keys)) < 0 ||
	    (error = load_x5c(d)) < 0)
		goto out;
	error = cofferd_load_trusted_keys(d);
out:
	json_decref(keys);
	free(kid);
	return error;
}

int cofferd_token_issue(struct cofferd *d, char **token, json_t **claims_out, const json_t *cpu0)
{
	json_t *claims = NULL, *hdr = NULL;
	int64_t now = cofferd_now(), life;
	uint8_t jti_raw[16];
	char *jti = NULL;
	int error;

	pthread_rwlock_rdlock(&d->cfg_lock);
	life = d->cfg.token_lifetime;
	claims = json_pack("{s:s,s:I,s:I,s:I,s:s,s:{s:s,s:s},s:{s:O}}", "eat_profile", EAR_PROFILE,
	                   "iat", (json_int_t)now, "nbf", (json_int_t)now, "exp",
	                   (json_int_t)(now + life), "iss", d->cfg.issuer, "ear.verifier-id",
	                   "developer", "https://github.com/coffer", "build",
	                   "cofferd " COFFERD_VERSION, "submods", "cpu0", cpu0);
	pthread_rwlock_unlock(&d->cfg_lock);
	if (claims == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	if (RAND_bytes(jti_raw, sizeof(jti_raw)) != 1 ||
	    coffer_hex_encode(&jti, jti_raw, sizeof(jti_raw)) < 0) {
		error = coffer_error_set(COFFER_ERROR, "no randomness");
		goto out;
	}
	json_object_set_new(claims, "jti", json_string(jti));
	hdr = json_pack("{s:s,s:O}", "typ", "JWT", "jwk", d->signing_jwk_pub);
	if (hdr && d->x5c)
		json_object_set(hdr, "x5c", d->x5c);
	if (hdr == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	error = coffer_jwt_sign(token, d->signing_key, "ES256", hdr, claims);
	if (error == 0 && claims_out) {
		*claims_out = claims;
		claims = NULL;
	}
out:
	free(jti);
	json_decref(hdr);
	json_decref(claims);
	return error;
}

int cofferd_token_verify(struct cofferd *d, json_t **claims, const char *token)
{
	coffer_jwt_checks chk = COFFER_JWT_CHECKS_INIT;
	int error;

	chk.require_exp = true; /* PROTOCOL.md section 2: exp is required */
	chk.now = cofferd_now();
	pthread_rwlock_rdlock(&d->cfg_lock);
	error = coffer_jwt_verify(claims, NULL, token, d->verify_keys, d->n_verify_keys, &chk);
	pthread_rwlock_unlock(&d->cfg_lock);
	return error;
}

int cofferd_token_claims_unverified(json_t **claims, const char *token)
{
	const char *a = strchr(token, '.'), *b;
	uint8_t *raw = NULL;
	size_t len = 0;
	int error;

	if (a == NULL || (b = strchr(a + 1, '.')) == NULL)
		return coffer_error_set(COFFER_EINVAL, "token: not a compact JWS");
	if ((error = coffer_base64_decode(&raw, &len, a + 1, (size_t)(b - a - 1),
	                                  COFFER_B64_URL_NOPAD)) < 0)
		return error;
	error = coffer_json_parse(claims, (const char *)raw, len, 0);
	free(raw);
	return error;
}
