#define _GNU_SOURCE /* memmem */
/*
 * JSON Web Keys (RFC 7517, RFC 7518 section 6, RFC 8037) on OpenSSL 3 EVP,
 * and RFC 7638 thumbprints.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include "coffer/json.h"
#include "coffer/codec.h"
#include "coffer/evp.h"
#include "coffer/file.h"
#include "jose/jose_internal.h"

const jose_curve jose_curves[4] = {
	{ "P-256", "prime256v1", 32 },
	{ "P-384", "secp384r1", 48 },
	{ "P-521", "secp521r1", 66 },
	{ "Ed25519", "ED25519", 32 },
};

/* ---- algorithm implementations, fetched once ---- */

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
/* SHA-2 and AES-256-GCM come from coffer/evp.h, fetched there */
static EVP_MD *md_sha1;
static EVP_CIPHER *c_ecb128, *c_ecb192, *c_ecb256;

static void fetch_all(void)
{
	md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	c_ecb128 = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
	c_ecb192 = EVP_CIPHER_fetch(NULL, "AES-192-ECB", NULL);
	c_ecb256 = EVP_CIPHER_fetch(NULL, "AES-256-ECB", NULL);
}

const EVP_MD *jose_md(const char *name)
{
	pthread_once(&fetch_once, fetch_all);
	if (strcmp(name, "SHA256") == 0)
		return coffer_sha256();
	if (strcmp(name, "SHA384") == 0)
		return coffer_sha384();
	if (strcmp(name, "SHA512") == 0)
		return coffer_sha512();
	if (strcmp(name, "SHA1") == 0)
		return md_sha1;
	return NULL;
}

const EVP_CIPHER *jose_aes256gcm(void)
{
	return coffer_aes256gcm();
}

const EVP_CIPHER *jose_aes_ecb(size_t keylen)
{
	pthread_once(&fetch_once, fetch_all);
	switch (keylen) {
	case 16:
		return c_ecb128;
	case 24:
		return c_ecb192;
	case 32:
		return c_ecb256;
	default:
		return NULL;
	}
}

/* ---- small helpers ---- */

int jose_b64_put(coffer_buf *b, const uint8_t *p, size_t n)
{
	return coffer_base64_encode_buf(b, p, n, COFFER_B64_URL_NOPAD);
}

int jose_b64_dec(uint8_t **out, size_t *out_len, const char *s, size_t n, const char *what)
{
	int error = coffer_base64_decode(out, out_len, s, n, COFFER_B64_URL_NOPAD);

	if (error < 0)
		return coffer_error_wrap(error, "%s", what);
	return 0;
}

int jose_b64_dec_secret(coffer_secret *out, const char *s, size_t n, const char *what)
{
	int error = coffer_base64_decode_secret(out, s, n, COFFER_B64_URL_NOPAD);

	if (error < 0)
		return coffer_error_wrap(error, "%s", what);
	return 0;
}

int jose_json_object(json_t **out, const char *text, size_t len, const char *what)
{
	json_error_t jerr;
	json_t *j;

	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return coffer_error_set(COFFER_EINVAL, "%s: invalid JSON at %d:%d: %s", what,
		                        jerr.line, jerr.column, coffer_json_error_scrub(&jerr));
	if (!json_is_object(j)) {
		json_decref(j);
		return coffer_error_set(COFFER_EINVAL, "%s: not a JSON object", what);
	}
	*out = j;
	return 0;
}

int jose_header_decode(json_t **out, const char *b64, size_t n)
{
	uint8_t *raw = NULL;
	size_t rlen = 0;
	int error;

	if (n == 0)
		return coffer_error_set(COFFER_EINVAL, "empty protected header");
	if (n > JOSE_MAX_HEADER * 4 / 3 + 4)
		return coffer_error_set(COFFER_ELIMIT, "protected header too large");
	if ((error = jose_b64_dec(&raw, &rlen, b64, n, "protected header")) < 0)
		return error;
	error = jose_json_object(out, (const char *)raw, rlen, "protected header");
	free(raw);
	return error;
}

/* Fetch a string member that must be a string when present. */
static int opt_string(const char **out, const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return coffer_error_set(COFFER_EINVAL, "JWK member \"%s\" is not a string", key);
	*out = json_string_value(v);
	return 0;
}

/* Decode a base64url member into a secret, with an exact length when `want` > 0. */
static int member_bytes(coffer_secret *out, const json_t *obj, const char *key, size_t want,
                        bool required)
{
	const char *s;
	int error;

	if ((error = opt_string(&s, obj, key)) < 0)
		return error;
	if (s == NULL) {
		if (required)
			return coffer_error_set(COFFER_EINVAL, "JWK member \"%s\" missing", key);
		return COFFER_ENOTFOUND;
	}
	if ((error = jose_b64_dec_secret(out, s, strlen(s), key)) < 0)
		return coffer_error_wrap(error, "JWK");
	if (want > 0 && out->len != want)
		return coffer_error_set(COFFER_EINVAL, "JWK member \"%s\": %zu bytes, expected %zu",
		                        key, out->len, want);
	if (want == 0 && (out->len == 0 || out->ptr[0] == 0))
		return coffer_error_set(COFFER_EINVAL,
		                        "JWK member \"%s\": empty or not minimal big-endian", key);
	return 0;
}

static coffer_jwk *jwk_new(EVP_PKEY *pkey, enum jose_kty kty, enum jose_crv crv, bool priv)
{
	coffer_jwk *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	if (pthread_mutex_init(&k->lock, NULL) != 0) {
		free(k);
		return NULL;
	}
	k->pkey = pkey;
	k->kty = kty;
	k->crv = crv;
	k->priv = priv;
	return k;
}

void coffer_jwk_free(coffer_jwk *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->nsign_ctx; i++)
		EVP_PKEY_CTX_free(k->sign_ctx[i]);
	pthread_mutex_destroy(&k->lock);
	EVP_PKEY_free(k->pkey);
	free(k->alg);
	free(k->kid);
	free(k->use);
	free(k);
}

static int set_str(char **dst, const char *s)
{
	char *c = NULL;

	if (s != NULL) {
		c = strdup(s);
		if (c == NULL)
			return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	free(*dst);
	*dst = c;
	return 0;
}

int coffer_jwk_set_alg(coffer_jwk *k, const char *alg)
{
	return set_str(&k->alg, alg);
}

int coffer_jwk_set_kid(coffer_jwk *k, const char *kid)
{
	return set_str(&k->kid, kid);
}

const char *coffer_jwk_kty(const coffer_jwk *k)
{
	switch (k->kty) {
	case JOSE_KTY_EC:
		return "EC";
	case JOSE_KTY_RSA:
		return "RSA";
	default:
		return "OKP";
	}
}

const char *coffer_jwk_crv(const coffer_jwk *k)
{
	return k->crv == JOSE_CRV_NONE ? NULL : jose_curves[k->crv].jwk_name;
}

const char *coffer_jwk_alg(const coffer_jwk *k)
{
	return k->alg;
}

const char *coffer_jwk_kid(const coffer_jwk *k)
{
	return k->kid;
}

bool coffer_jwk_has_private(const coffer_jwk *k)
{
	return k->priv;
}

EVP_PKEY *coffer_jwk_pkey(const coffer_jwk *k)
{
	return jose_pkey(k);
}

EVP_PKEY *jose_pkey(const coffer_jwk *k)
{
	coffer_jwk *m = (coffer_jwk *)k; /* the lock and the cached key only */
	EVP_PKEY *p = atomic_load(&m->pkey);

	if (p != NULL || k->ec_pub_len == 0)
		return p;
	pthread_mutex_lock(&m->lock);
	p = atomic_load(&m->pkey);
	if (p == NULL && jose_ec_public_from_point(&p, k->crv, k->ec_pub, k->ec_pub_len) == 0)
		atomic_store(&m->pkey, p);
	pthread_mutex_unlock(&m->lock);
	return p;
}

/* ---- validation ---- */

static int check_key(EVP_PKEY *pkey, bool priv)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	int ok;

	if (c == NULL)
		return coffer_error_set_ssl(COFFER_ENOMEM, "EVP_PKEY_CTX_new_from_pkey");
	/* P-256/384/521 have cofactor 1: a point on the curve is in the prime-order
	 * group, so the quick check (range and curve equation) is complete and the
	 * n*Q scalar multiplication of the full check would only cost time */
	if (EVP_PKEY_is_a(pkey, "EC"))
		ok = EVP_PKEY_public_check_quick(c) == 1;
	else
		ok = EVP_PKEY_public_check(c) == 1;
	if (ok && priv)
		ok = EVP_PKEY_pairwise_check(c) == 1;
	EVP_PKEY_CTX_free(c);
	if (!ok)
		return coffer_error_set_ssl(COFFER_EINVAL, "JWK: invalid %s key",
		                            priv ? "private" : "public");
	return 0;
}

static int fromdata(EVP_PKEY **out, const char *type, OSSL_PARAM_BLD *bld, bool priv)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *c = NULL;
	int error = COFFER_EINVAL;

	*out = NULL;
	if (params == NULL)
		return coffer_error_set_ssl(COFFER_ENOMEM, "OSSL_PARAM_BLD_to_param");
	c = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (c == NULL || EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, out, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1) {
		error = coffer_error_set_ssl(COFFER_EINVAL, "JWK: %s key rejected", type);
		goto out;
	}
	error = 0;
out:
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_free(params);
	return error;
}

int jose_ec_from_xy(EVP_PKEY **out, enum jose_crv crv, const uint8_t *x, const uint8_t *y)
{
	uint8_t pt[1 + 2 * 66];
	size_t cl = jose_curves[crv].len;

	pt[0] = 0x04;
	memcpy(pt + 1, x, cl);
	memcpy(pt + 1 + cl, y, cl);
	/* No separate EVP_PKEY_public_check: decoding the point already refuses
	 * one out of range or not on the curve (ec.c), which tests/unit/jose_test.c
	 * checks; this runs for every JWE decryption. */
	return jose_ec_public_from_point(out, crv, pt, 1 + 2 * cl);
}

static int parse_crv(enum jose_crv *out, const char *crv)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(crv, jose_curves[i].jwk_name) == 0) {
			*out = (enum jose_crv)i;
			return 0;
		}
	return coffer_error_set(COFFER_EUNSUPPORTED, "JWK: unsupported curve \"%s\"", crv);
}

/* A private EC key in *out; a public one only as its checked point, in
 * pub[0..*pub_len) (*out stays NULL; see struct coffer_jwk). */
static int ec_from_json(EVP_PKEY **out, enum jose_crv crv, const json_t *j, bool *priv,
                        uint8_t *pub, size_t *pub_len)
{
	coffer_secret x = COFFER_SECRET_INIT, y = COFFER_SECRET_INIT, d = COFFER_SECRET_INIT;
	size_t cl = jose_curves[crv].len;
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *bn = NULL;
	uint8_t pt[1 + 2 * 66];
	int error;

	if ((error = member_bytes(&x, j, "x", cl, true)) < 0 ||
	    (error = member_bytes(&y, j, "y", cl, true)) < 0)
		goto out;
	error = member_bytes(&d, j, "d", cl, false);
	if (error < 0 && error != COFFER_ENOTFOUND)
		goto out;
	*priv = error == 0;
	pt[0] = 0x04;
	memcpy(pt + 1, x.ptr, cl);
	memcpy(pt + 1 + cl, y.ptr, cl);
	if (!*priv) {
		/* the guest's tee-pubkey on every handshake: no key yet, and the
		 * point decoding does what EVP_PKEY_public_check_quick would (range,
		 * on the curve, not at infinity; ec.c) */
		if ((error = jose_ec_check_point(crv, pt, 1 + 2 * cl)) < 0) {
			error = coffer_error_wrap(error, "JWK");
			goto out;
		}
		memcpy(pub, pt, 1 + 2 * cl);
		*pub_len = 1 + 2 * cl;
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	                                     jose_curves[crv].ossl_name, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * cl)) {
		error = coffer_error_set_ssl(COFFER_ENOMEM, "OSSL_PARAM_BLD");
		goto out;
	}
	bn = BN_secure_new();
	if (bn == NULL || BN_bin2bn(d.ptr, (int)cl, bn) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn)) {
		error = coffer_error_set_ssl(COFFER_ENOMEM, "OSSL_PARAM_BLD");
		goto out;
	}
	if ((error = fromdata(out, "EC", bld, true)) < 0)
		goto out;
	if ((error = check_key(*out, true)) < 0) {
		EVP_PKEY_free(*out);
		*out = NULL;
	}
out:
	BN_clear_free(bn);
	OSSL_PARAM_BLD_free(bld);
	coffer_secret_free(&x);
	coffer_secret_free(&y);
	coffer_secret_free(&d);
	return error;
}

static const char *const rsa_priv_members[] = { "d", "p", "q", "dp", "dq", "qi" };
static const char *const rsa_priv_params[] = {
	OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
	OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
	OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
};

static int rsa_from_json(EVP_PKEY **out, const json_t *j, bool *priv)
{
	coffer_secret n = COFFER_SECRET_INIT, e = COFFER_SECRET_INIT, v = COFFER_SECRET_INIT;
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *bns[8] = { 0 };
	int error, nbits;

	if (json_object_get(j, "oth") != NULL)
		return coffer_error_set(COFFER_EUNSUPPORTED,
		                        "JWK: multi-prime RSA is not supported");
	if ((error = member_bytes(&n, j, "n", 0, true)) < 0 ||
	    (error = member_bytes(&e, j, "e", 0, true)) < 0)
		goto out;
	if (n.len > JOSE_RSA_MAX_BITS / 8) {
		error = coffer_error_set(COFFER_EINVAL, "JWK: RSA modulus larger than %d bits",
		                         JOSE_RSA_MAX_BITS);
		goto out;
	}
	if (e.len > 8 || (e.ptr[e.len - 1] & 1) == 0 || (e.len == 1 && e.ptr[0] < 3)) {
		error = coffer_error_set(COFFER_EINVAL, "JWK: bad RSA public exponent");
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	bns[0] = BN_bin2bn(n.ptr, (int)n.len, NULL);
	bns[1] = BN_bin2bn(e.ptr, (int)e.len, NULL);
	if (bld == NULL || bns[0] == NULL || bns[1] == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bns[0]) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bns[1])) {
		error = coffer_error_set_ssl(COFFER_ENOMEM, "OSSL_PARAM_BLD");
		goto out;
	}
	nbits = BN_num_bits(bns[0]);
	if (nbits < JOSE_RSA_MIN_BITS) {
		error = coffer_error_set(COFFER_EINVAL, "JWK: RSA key of %d bits (minimum %d)",
		                         nbits, JOSE_RSA_MIN_BITS);
		goto out;
	}
	*priv = json_object_get(j, "d") != NULL;
	for (size_t i = 0; *priv && i < 6; i++) {
		if ((error = member_bytes(&v, j, rsa_priv_members[i], 0, true)) < 0)
			goto out;
		if (v.len > n.len) {
			error = coffer_error_set(COFFER_EINVAL, "JWK: RSA member \"%s\" too long",
			                         rsa_priv_members[i]);
			goto out;
		}
		bns[2 + i] = BN_secure_new();
		if (bns[2 + i] == NULL || BN_bin2bn(v.ptr, (int)v.len, bns[2 + i]) == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, rsa_priv_params[i], bns[2 + i])) {
			error = coffer_error_set_ssl(COFFER_ENOMEM, "OSSL_PARAM_BLD");
			goto out;
		}
	}
	if ((error = fromdata(out, "RSA", bld, *priv)) < 0)
		goto out;
	if ((error = check_key(*out, *priv)) < 0) {
		EVP_PKEY_free(*out);
		*out = NULL;
	}
out:
	for (size_t i = 0; i < 8; i++)
		BN_clear_free(bns[i]);
	OSSL_PARAM_BLD_free(bld);
	coffer_secret_free(&n);
	coffer_secret_free(&e);
	coffer_secret_free(&v);
	return error;
}

static int okp_from_json(EVP_PKEY **out, const json_t *j, bool *priv)
{
	coffer_secret x = COFFER_SECRET_INIT, d = COFFER_SECRET_INIT;
	uint8_t pub[32];
	size_t publen = sizeof(pub);
	int error;

	*out = NULL;
	if ((error = member_bytes(&x, j, "x", 32, true)) < 0)
		goto out;
	error = member_bytes(&d, j, "d", 32, false);
	if (error < 0 && error != COFFER_ENOTFOUND)
		goto out;
	*priv = error == 0;
	if (*priv)
		*out = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, d.ptr, 32);
	else
		*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x.ptr, 32);
	if (*out == NULL) {
		error = coffer_error_set_ssl(COFFER_EINVAL, "JWK: Ed25519 key rejected");
		goto out;
	}
	error = 0;
	if (*priv && (EVP_PKEY_get_raw_public_key(*out, pub, &publen) != 1 || publen != 32 ||
	              CRYPTO_memcmp(pub, x.ptr, 32) != 0)) {
		error = coffer_error_set(COFFER_EINVAL, "JWK: Ed25519 \"x\" does not match \"d\"");
		EVP_PKEY_free(*out);
		*out = NULL;
	}
out:
	coffer_secret_free(&x);
	coffer_secret_free(&d);
	return error;
}

int coffer_jwk_from_json(coffer_jwk **out, const json_t *j)
{
	const char *kty, *crv = NULL, *alg, *kid, *use;
	enum jose_crv c = JOSE_CRV_NONE;
	enum jose_kty t;
	EVP_PKEY *pkey = NULL;
	coffer_jwk *k = NULL;
	uint8_t pub[1 + 2 * 66];
	size_t pub_len = 0;
	bool priv = false;
	int error;

	*out = NULL;
	if (!json_is_object(j))
		return coffer_error_set(COFFER_EINVAL, "JWK: not a JSON object");
	if ((error = opt_string(&kty, j, "kty")) < 0 || (error = opt_string(&alg, j, "alg")) < 0 ||
	    (error = opt_string(&kid, j, "kid")) < 0 || (error = opt_string(&use, j, "use")) < 0)
		return error;
	if (kty == NULL)
		return coffer_error_set(COFFER_EINVAL, "JWK: \"kty\" missing");
	if (strcmp(kty, "EC") == 0 || strcmp(kty, "OKP") == 0) {
		t = kty[0] == 'E' ? JOSE_KTY_EC : JOSE_KTY_OKP;
		if ((error = opt_string(&crv, j, "crv")) < 0)
			return error;
		if (crv == NULL)
			return coffer_error_set(COFFER_EINVAL, "JWK: \"crv\" missing");
		if ((error = parse_crv(&c, crv)) < 0)
			return error;
		if ((t == JOSE_KTY_EC) != (c != JOSE_CRV_ED25519))
			return coffer_error_set(COFFER_EINVAL, "JWK: curve %s does not fit kty %s",
			                        crv, kty);
		error = t == JOSE_KTY_EC ? ec_from_json(&pkey, c, j, &priv, pub, &pub_len)
		                         : okp_from_json(&pkey, j, &priv);
	} else if (strcmp(kty, "RSA") == 0) {
		t = JOSE_KTY_RSA;
		error = rsa_from_json(&pkey, j, &priv);
	} else if (strcmp(kty, "oct") == 0) {
		return coffer_error_set(COFFER_EUNSUPPORTED,
		                        "JWK: symmetric keys are not supported");
	} else {
		return coffer_error_set(COFFER_EUNSUPPORTED, "JWK: unsupported kty \"%s\"", kty);
	}
	if (error < 0)
		return error;
	k = jwk_new(pkey, t, c, priv);
	if (k == NULL) {
		EVP_PKEY_free(pkey);
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	memcpy(k->ec_pub, pub, pub_len);
	k->ec_pub_len = pub_len;
	if ((error = set_str(&k->alg, alg)) < 0 || (error = set_str(&k->kid, kid)) < 0 ||
	    (error = set_str(&k->use, use)) < 0) {
		coffer_jwk_free(k);
		return error;
	}
	*out = k;
	return 0;
}

/* ---- from an EVP_PKEY (PEM, generation) ---- */

static bool pkey_has_private(EVP_PKEY *pkey, enum jose_kty t)
{
	BIGNUM *bn = NULL;
	size_t len = 0;
	bool has;

	if (t == JOSE_KTY_OKP)
		return EVP_PKEY_get_raw_private_key(pkey, NULL, &len) == 1 && len > 0;
	has = EVP_PKEY_get_bn_param(
	              pkey, t == JOSE_KTY_EC ? OSSL_PKEY_PARAM_PRIV_KEY : OSSL_PKEY_PARAM_RSA_D,
	              &bn) == 1;
	BN_clear_free(bn);
	ERR_clear_error();
	return has;
}

int coffer_jwk_from_pkey(coffer_jwk **out, EVP_PKEY *pkey)
{
	enum jose_crv c = JOSE_CRV_NONE;
	enum jose_kty t;
	coffer_jwk *k;
	char group[64];
	size_t glen = 0;
	int error;

	*out = NULL;
	if (pkey == NULL)
		return coffer_error_set(COFFER_EINVAL, "no key");
	if (EVP_PKEY_is_a(pkey, "EC")) {
		t = JOSE_KTY_EC;
		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
		                                   sizeof(group), &glen) != 1)
			return coffer_error_set_ssl(COFFER_EUNSUPPORTED,
			                            "EC key without a named curve");
		for (int i = 0; i < 3; i++)
			if (strcmp(group, jose_curves[i].ossl_name) == 0)
				c = (enum jose_crv)i;
		if (c == JOSE_CRV_NONE)
			return coffer_error_set(COFFER_EUNSUPPORTED, "unsupported EC curve %s",
			                        group);
	} else if (EVP_PKEY_is_a(pkey, "RSA")) {
		t = JOSE_KTY_RSA;
		if (EVP_PKEY_get_bits(pkey) < JOSE_RSA_MIN_BITS ||
		    EVP_PKEY_get_bits(pkey) > JOSE_RSA_MAX_BITS)
			return coffer_error_set(
			        COFFER_EINVAL, "RSA key of %d bits (allowed %d..%d)",
			        EVP_PKEY_get_bits(pkey), JOSE_RSA_MIN_BITS, JOSE_RSA_MAX_BITS);
	} else if (EVP_PKEY_is_a(pkey, "ED25519")) {
		t = JOSE_KTY_OKP;
		c = JOSE_CRV_ED25519;
	} else {
		return coffer_error_set(COFFER_EUNSUPPORTED, "unsupported key type %s",
		                        EVP_PKEY_get0_type_name(pkey));
	}
	if (t != JOSE_KTY_OKP && (error = check_key(pkey, false)) < 0)
		return error;
	if (!EVP_PKEY_up_ref(pkey))
		return coffer_error_set_ssl(COFFER_ERROR, "EVP_PKEY_up_ref");
	k = jwk_new(pkey, t, c, pkey_has_private(pkey, t));
	if (k == NULL) {
		EVP_PKEY_free(pkey);
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	*out = k;
	return 0;
}

int coffer_jwk_generate(coffer_jwk **out, const char *kty, const char *crv, int rsa_bits)
{
	EVP_PKEY *pkey = NULL;
	enum jose_crv c = JOSE_CRV_NONE;
	int error;

	*out = NULL;
	if (kty == NULL)
		return coffer_error_set(COFFER_EINVAL, "kty missing");
	if (strcmp(kty, "RSA") == 0) {
		if (rsa_bits < JOSE_RSA_MIN_BITS || rsa_bits > JOSE_RSA_MAX_BITS || rsa_bits % 8)
			return coffer_error_set(
			        COFFER_EINVAL, "RSA size %d: a multiple of 8 in %d..%d is required",
			        rsa_bits, JOSE_RSA_MIN_BITS, JOSE_RSA_MAX_BITS);
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)rsa_bits);
	} else if (strcmp(kty, "EC") == 0 || strcmp(kty, "OKP") == 0) {
		if (crv == NULL)
			return coffer_error_set(COFFER_EINVAL, "crv missing");
		if ((error = parse_crv(&c, crv)) < 0)
			return error;
		if ((kty[0] == 'E') != (c != JOSE_CRV_ED25519))
			return coffer_error_set(COFFER_EINVAL, "curve %s does not fit kty %s", crv,
			                        kty);
		if (c == JOSE_CRV_ED25519)
			pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		else
			pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", jose_curves[c].ossl_name);
	} else {
		return coffer_error_set(COFFER_EUNSUPPORTED, "unsupported kty \"%s\"", kty);
	}
	if (pkey == NULL)
		return coffer_error_set_ssl(COFFER_ERROR, "key generation failed");
	error = coffer_jwk_from_pkey(out, pkey);
	EVP_PKEY_free(pkey);
	return error;
}

/* ---- text and files ---- */

static int no_passphrase(char *buf, size_t size, size_t *len, const OSSL_PARAM params[], void *arg)
{
	(void)buf;
	(void)size;
	(void)len;
	(void)params;
	(void)arg;
	return 0;
}

static int pem_parse(coffer_jwk **out, const char *text, size_t len)
{
	OSSL_DECODER_CTX *dctx = NULL;
	EVP_PKEY *pkey = NULL;
	const unsigned char *p = (const unsigned char *)text;
	size_t left = len;
	int error;

	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, NULL, 0, NULL, NULL);
	if (dctx == NULL)
		return coffer_error_set_ssl(COFFER_ERROR, "OSSL_DECODER_CTX_new_for_pkey");
	OSSL_DECODER_CTX_set_passphrase_cb(dctx, no_passphrase, NULL);
	if (OSSL_DECODER_from_data(dctx, &p, &left) != 1 || pkey == NULL) {
		error = coffer_error_set_ssl(COFFER_EINVAL,
		                             "not a JWK and not an unencrypted PEM key");
		goto out;
	}
	error = coffer_jwk_from_pkey(out, pkey);
out:
	EVP_PKEY_free(pkey);
	OSSL_DECODER_CTX_free(dctx);
	return error;
}

int coffer_jwk_parse(coffer_jwk **out, const char *text, size_t len)
{
	json_t *j = NULL;
	size_t i = 0;
	int error;

	*out = NULL;
	if (len > JOSE_MAX_JWK)
		return coffer_error_set(COFFER_ELIMIT, "key text larger than %zu bytes",
		                        JOSE_MAX_JWK);
	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
		i++;
	if (i < len && text[i] == '{') {
		if ((error = jose_json_object(&j, text, len, "JWK")) < 0)
			return error;
		error = coffer_jwk_from_json(out, j);
		json_decref(j);
		return error;
	}
	if (len >= 11 && memmem(text, len, "-----BEGIN ", 11) != NULL)
		return pem_parse(out, text, len);
	return coffer_error_set(COFFER_EINVAL, "not a JWK (JSON object) or PEM key");
}

int coffer_jwk_load(coffer_jwk **out, const char *path)
{
	coffer_secret s = COFFER_SECRET_INIT;
	int error;

	*out = NULL;
	if ((error = coffer_file_read_secret(&s, path, JOSE_MAX_JWK)) < 0)
		return error;
	error = coffer_jwk_parse(out, (const char *)s.ptr, s.len);
	coffer_secret_free(&s);
	if (error < 0)
		return coffer_error_wrap(error, "%s", path);
	return 0;
}

/* ---- export ---- */

int jose_ec_point(uint8_t *xy, const EVP_PKEY *pkey, size_t clen)
{
	uint8_t pt[1 + 2 * 66];
	size_t n = 0;
	BIGNUM *x = NULL, *y = NULL;
	int ok;

	if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &n) ==
	            1 &&
	    n == 1 + 2 * clen && pt[0] == 0x04) {
		memcpy(xy, pt + 1, 2 * clen);
		return 0;
	}
	ERR_clear_error();
	ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
	     EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
	     BN_bn2binpad(x, xy, (int)clen) == (int)clen &&
	     BN_bn2binpad(y, xy + clen, (int)clen) == (int)clen;
	BN_free(x);
	BN_free(y);
	if (!ok)
		return coffer_error_set_ssl(COFFER_ERROR, "cannot read the EC public point");
	return 0;
}

int jose_ec_public_xy(uint8_t *xy, const coffer_jwk *k)
{
	size_t cl = jose_curves[k->crv].len;
	EVP_PKEY *p;

	if (k->ec_pub_len == 1 + 2 * cl) {
		memcpy(xy, k->ec_pub + 1, 2 * cl);
		return 0;
	}
	/* no point kept: the key came from an EVP_PKEY, which it holds */
	if ((p = jose_pkey(k)) == NULL)
		return coffer_error_set(COFFER_EINVAL, "EC key without a public point");
	return jose_ec_point(xy, p, cl);
}

static int put_b64_member(json_t *o, const char *key, const uint8_t *p, size_t n)
{
	char *s = NULL;
	int error;

	if ((error = coffer_base64_encode(&s, NULL, p, n, COFFER_B64_URL_NOPAD)) < 0)
		return error;
	error = json_object_set_new(o, key, json_string(s)) == 0
	                ? 0
	                : coffer_error_set(COFFER_ENOMEM, "out of memory");
	coffer_free_str_wiped(s);
	return error;
}

static int put_bn_member(json_t *o, const char *key, const EVP_PKEY *pkey, const char *param,
                         size_t fixed)
{
	BIGNUM *bn = NULL;
	coffer_secret b = COFFER_SECRET_INIT;
	size_t n;
	int error;

	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
		return coffer_error_set_ssl(COFFER_ERROR, "cannot read key member %s", key);
	n = fixed ? fixed : (size_t)BN_num_bytes(bn);
	if (n == 0)
		n = 1;
	if ((error = coffer_secret_alloc(&b, n)) < 0)
		goto out;
	if (BN_bn2binpad(bn, b.ptr, (int)n) != (int)n) {
		error = coffer_error_set_ssl(COFFER_ERROR, "key member %s too long", key);
		goto out;
	}
	error = put_b64_member(o, key, b.ptr, n);
out:
	BN_clear_free(bn);
	coffer_secret_free(&b);
	return error;
}

static int put_str(json_t *o, const char *key, const char *v)
{
	if (v == NULL)
		return 0;
	if (json_object_set_new(o, key, json_string(v)) != 0)
		return coffer_error_set(COFFER_EINVAL, "JWK member \"%s\" is not valid UTF-8", key);
	return 0;
}

int coffer_jwk_to_json(json_t **out, const coffer_jwk *k, bool with_private)
{
	json_t *o = json_object();
	uint8_t xy[2 * 66];
	coffer_secret d = COFFER_SECRET_INIT;
	size_t cl, n = 32;
	int error;

	*out = NULL;
	if (o == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	with_private = with_private && k->priv;
	switch (k->kty) {
	case JOSE_KTY_EC:
		cl = jose_curves[k->crv].len;
		if ((error = put_str(o, "crv", jose_curves[k->crv].jwk_name)) < 0 ||
		    (error = put_str(o, "kty", "EC")) < 0 ||
		    (error = jose_ec_public_xy(xy, k)) < 0 ||
		    (error = put_b64_member(o, "x", xy, cl)) < 0 ||
		    (error = put_b64_member(o, "y", xy + cl, cl)) < 0)
			goto out;
		if (with_private &&
		    (error = put_bn_member(o, "d", jose_pkey(k), OSSL_PKEY_PARAM_PRIV_KEY, cl)) < 0)
			goto out;
		break;
	case JOSE_KTY_RSA:
		if ((error = put_bn_member(o, "e", jose_pkey(k), OSSL_PKEY_PARAM_RSA_E, 0)) < 0 ||
		    (error = put_str(o, "kty", "RSA")) < 0 ||
		    (error = put_bn_member(o, "n", jose_pkey(k), OSSL_PKEY_PARAM_RSA_N, 0)) < 0)
			goto out;
		for (size_t i = 0; with_private && i < 6; i++)
			if ((error = put_bn_member(o, rsa_priv_members[i], jose_pkey(k),
			                           rsa_priv_params[i], 0)) < 0)
				goto out;
		break;
	default:
		if ((error = put_str(o, "crv", "Ed25519")) < 0 ||
		    (error = put_str(o, "kty", "OKP")) < 0)
			goto out;
		if (EVP_PKEY_get_raw_public_key(jose_pkey(k), xy, &n) != 1 || n != 32) {
			error = coffer_error_set_ssl(COFFER_ERROR, "cannot read the Ed25519 key");
			goto out;
		}
		if ((error = put_b64_member(o, "x", xy, 32)) < 0)
			goto out;
		if (with_private) {
			n = 32;
			if ((error = coffer_secret_alloc(&d, 32)) < 0)
				goto out;
			if (EVP_PKEY_get_raw_private_key(jose_pkey(k), d.ptr, &n) != 1 || n != 32) {
				error = coffer_error_set_ssl(COFFER_ERROR,
				                             "cannot read the Ed25519 key");
				goto out;
			}
			if ((error = put_b64_member(o, "d", d.ptr, 32)) < 0)
				goto out;
		}
		break;
	}
	if ((error = put_str(o, "alg", k->alg)) < 0 || (error = put_str(o, "kid", k->kid)) < 0 ||
	    (error = put_str(o, "use", k->use)) < 0)
		goto out;
	*out = o;
	o = NULL;
out:
	coffer_secret_free(&d);
	json_decref(o);
	return error;
}

int coffer_jwk_to_pem(char **out, const coffer_jwk *k, bool with_private)
{
	BIO *b = BIO_new(with_private ? BIO_s_secmem() : BIO_s_mem());
	char *data = NULL, *s;
	long n;
	int ok;

	*out = NULL;
	if (b == NULL)
		return coffer_error_set_ssl(COFFER_ENOMEM, "BIO_new");
	if (with_private && !k->priv) {
		BIO_free(b);
		return coffer_error_set(COFFER_EINVAL, "the key has no private part");
	}
	ok = with_private ? PEM_write_bio_PrivateKey(b, jose_pkey(k), NULL, NULL, 0, NULL, NULL)
	                  : PEM_write_bio_PUBKEY(b, jose_pkey(k));
	n = BIO_get_mem_data(b, &data);
	if (!ok || n <= 0) {
		BIO_free(b);
		return coffer_error_set_ssl(COFFER_ERROR, "PEM encoding failed");
	}
	s = malloc((size_t)n + 1);
	if (s == NULL) {
		BIO_free(b);
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	BIO_free(b);
	*out = s;
	return 0;
}

int coffer_jwk_public(coffer_jwk **out, const coffer_jwk *k)
{
	coffer_jwk *p = NULL;
	uint8_t *der = NULL;
	const unsigned char *q;
	EVP_PKEY *pub = NULL;
	int n, error;

	*out = NULL;
	n = i2d_PUBKEY(jose_pkey(k), &der);
	if (n <= 0)
		return coffer_error_set_ssl(COFFER_ERROR, "i2d_PUBKEY");
	q = der;
	pub = d2i_PUBKEY(NULL, &q, n);
	OPENSSL_free(der);
	if (pub == NULL)
		return coffer_error_set_ssl(COFFER_ERROR, "d2i_PUBKEY");
	p = jwk_new(pub, k->kty, k->crv, false);
	if (p == NULL) {
		EVP_PKEY_free(pub);
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	if ((error = set_str(&p->alg, k->alg)) < 0 || (error = set_str(&p->kid, k->kid)) < 0 ||
	    (error = set_str(&p->use, k->use)) < 0) {
		coffer_jwk_free(p);
		return error;
	}
	*out = p;
	return 0;
}

int coffer_jwk_thumbprint(char **out, const coffer_jwk *k)
{
	json_t *j = NULL, *v;
	coffer_buf b = COFFER_BUF_INIT_MAX(8192);
	uint8_t md[32];
	const char *name;
	void *iter;
	int error;

	*out = NULL;
	if ((error = coffer_jwk_to_json(&j, k, false)) < 0)
		return error;
	/* RFC 7638 section 3.2: the required members only, in lexicographic order,
	 * which is the order coffer_jwk_to_json writes them in. */
	error = coffer_buf_putc(&b, '{');
	for (iter = json_object_iter(j); error == 0 && iter;
	     iter = json_object_iter_next(j, iter)) {
		name = json_object_iter_key(iter);
		v = json_object_iter_value(iter);
		if (strcmp(name, "alg") == 0 || strcmp(name, "kid") == 0 ||
		    strcmp(name, "use") == 0)
			continue;
		error = coffer_buf_printf(&b, "%s\"%s\":\"%s\"", b.len > 1 ? "," : "", name,
		                          json_string_value(v));
	}
	if (error == 0)
		error = coffer_buf_putc(&b, '}');
	if (error == 0 && EVP_Digest(b.ptr, b.len, md, NULL, jose_md("SHA256"), NULL) != 1)
		error = coffer_error_set_ssl(COFFER_ERROR, "SHA-256");
	if (error == 0)
		error = coffer_base64_encode(out, NULL, md, sizeof(md), COFFER_B64_URL_NOPAD);
	coffer_buf_free(&b);
	json_decref(j);
	return error;
}

bool jose_key_allows(const coffer_jwk *k, const char *alg, bool for_enc)
{
	if (k->alg != NULL && strcmp(k->alg, alg) != 0)
		return false;
	if (k->use != NULL && strcmp(k->use, for_enc ? "enc" : "sig") != 0)
		return false;
	return true;
}
