/*
 * JWS compact serialization (RFC 7515) with ES256/384/512, EdDSA (RFC 8037,
 * Ed25519), RS256/384/512 and PS256/384/512 (RFC 7518 section 3), and JWT
 * claim checks (RFC 7519 section 4.1).
 */
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "coffer/codec.h"
#include "coffer/json.h"
#include "jose/jose_internal.h"

enum jws_kind { JWS_ECDSA, JWS_EDDSA, JWS_RSA, JWS_PSS };

typedef struct jws_alg {
	const char *name;
	enum jws_kind kind;
	enum jose_crv crv; /* ECDSA: the one curve the alg uses */
	const char *md;
} jws_alg;

static const jws_alg jws_algs[] = {
	{ "ES256", JWS_ECDSA, JOSE_CRV_P256, "SHA256" },
	{ "ES384", JWS_ECDSA, JOSE_CRV_P384, "SHA384" },
	{ "ES512", JWS_ECDSA, JOSE_CRV_P521, "SHA512" },
	{ "EdDSA", JWS_EDDSA, JOSE_CRV_ED25519, NULL },
	{ "RS256", JWS_RSA, JOSE_CRV_NONE, "SHA256" },
	{ "RS384", JWS_RSA, JOSE_CRV_NONE, "SHA384" },
	{ "RS512", JWS_RSA, JOSE_CRV_NONE, "SHA512" },
	{ "PS256", JWS_PSS, JOSE_CRV_NONE, "SHA256" },
	{ "PS384", JWS_PSS, JOSE_CRV_NONE, "SHA384" },
	{ "PS512", JWS_PSS, JOSE_CRV_NONE, "SHA512" },
};

#define JWS_NALGS (sizeof(jws_algs) / sizeof(jws_algs[0]))

static const jws_alg *alg_find(const char *name)
{
	for (size_t i = 0; i < JWS_NALGS; i++)
		if (strcmp(name, jws_algs[i].name) == 0)
			return &jws_algs[i];
	return NULL;
}

/* Refuse what must never be accepted, before anything else (RFC 8725 3.1). */
static int alg_refused(const char *name)
{
	if (strcmp(name, "none") == 0 || strcasecmp(name, "none") == 0)
		return coffer_error_set(COFFER_EVERIFY, "JWS: alg \"none\" is refused");
	if (strncmp(name, "HS", 2) == 0)
		return coffer_error_set(COFFER_EVERIFY,
		                        "JWS: HMAC alg %s is refused (asymmetric keys only)", name);
	return 0;
}

static bool alg_fits_key(const jws_alg *a, const coffer_jwk *k)
{
	switch (a->kind) {
	case JWS_ECDSA:
		return k->kty == JOSE_KTY_EC && k->crv == a->crv;
	case JWS_EDDSA:
		return k->kty == JOSE_KTY_OKP && k->crv == JOSE_CRV_ED25519;
	default:
		return k->kty == JOSE_KTY_RSA;
	}
}

static const char *default_alg(const coffer_jwk *k)
{
	if (k->alg != NULL)
		return k->alg;
	switch (k->kty) {
	case JOSE_KTY_EC:
		return k->crv == JOSE_CRV_P256   ? "ES256"
		       : k->crv == JOSE_CRV_P384 ? "ES384"
		                                 : "ES512";
	case JOSE_KTY_OKP:
		return "EdDSA";
	default:
		return "RS256";
	}
}

static int md_setup(EVP_MD_CTX *mc, EVP_PKEY *pkey, const jws_alg *a, bool sign)
{
	EVP_PKEY_CTX *pc = NULL;
	const EVP_MD *md = a->md ? jose_md(a->md) : NULL;
	int ok;

	ok = sign ? EVP_DigestSignInit(mc, &pc, md, NULL, pkey) == 1
	          : EVP_DigestVerifyInit(mc, &pc, md, NULL, pkey) == 1;
	if (ok && a->kind == JWS_RSA)
		ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1;
	if (ok && a->kind == JWS_PSS)
		/* RFC 7518 3.5: MGF1 with the same hash, salt as long as the hash */
		ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md) == 1 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) == 1;
	return ok;
}

/* DER ECDSA-Sig-Value -> r || s, each `clen` bytes (RFC 7518 3.4). */
static int ecdsa_der_to_raw(uint8_t *raw, size_t clen, const uint8_t *der, size_t derlen)
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	const BIGNUM *r, *s;
	int ok;

	if (sig == NULL)
		return coffer_error_set_ssl(COFFER_ERROR, "ECDSA signature decoding");
	ECDSA_SIG_get0(sig, &r, &s);
	ok = BN_bn2binpad(r, raw, (int)clen) == (int)clen &&
	     BN_bn2binpad(s, raw + clen, (int)clen) == (int)clen;
	ECDSA_SIG_free(sig);
	if (!ok)
		return coffer_error_set(COFFER_ERROR, "ECDSA signature too long");
	return 0;
}

static int ecdsa_raw_to_der(uint8_t **der, size_t *derlen, const uint8_t *raw, size_t clen)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)clen, NULL), *s = BN_bin2bn(raw + clen, (int)clen, NULL);
	unsigned char *p = NULL;
	int n;

	if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
		ECDSA_SIG_free(sig);
		BN_free(r);
		BN_free(s);
		return coffer_error_set_ssl(COFFER_ENOMEM, "ECDSA_SIG");
	}
	n = i2d_ECDSA_SIG(sig, &p);
	ECDSA_SIG_free(sig);
	if (n <= 0)
		return coffer_error_set_ssl(COFFER_ERROR, "ECDSA signature encoding");
	*der = p;
	*derlen = (size_t)n;
	return 0;
}

/* ---- sign ---- */

static int put_header(coffer_buf *b, const jws_alg *a, const json_t *extra, bool jwt)
{
	json_t *h;
	char *s = NULL;
	size_t len = 0;
	int error;

	if (extra == NULL && !jwt)
		return coffer_buf_printf(b, "{\"alg\":\"%s\"}", a->name);
	if (extra != NULL && !json_is_object(extra))
		return coffer_error_set(COFFER_EINVAL, "JWS: extra header is not an object");
	if (extra != NULL && json_object_get(extra, "alg") != NULL)
		return coffer_error_set(COFFER_EINVAL, "JWS: extra header must not set \"alg\"");
	h = json_pack("{s:s}", "alg", a->name);
	if (h == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	if (jwt && (extra == NULL || json_object_get(extra, "typ") == NULL) &&
	    json_object_set_new(h, "typ", json_string("JWT")) != 0) {
		json_decref(h);
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	if (extra != NULL && json_object_update(h, (json_t *)extra) != 0) {
		json_decref(h);
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	error = coffer_json_dump(&s, &len, h);
	json_decref(h);
	if (error < 0)
		return coffer_error_wrap(error, "JWS header");
	error = coffer_buf_append(b, s, len);
	free(s);
	return error;
}

/* ECDSA signing contexts of a key: taken from its pool, or set up. */
static EVP_PKEY_CTX *sign_ctx_take(const coffer_jwk *k, const EVP_MD *md)
{
	coffer_jwk *m = (coffer_jwk *)k; /* the pool is a cache, not the key's value */
	EVP_PKEY_CTX *c = NULL;

	pthread_mutex_lock(&m->lock);
	if (m->nsign_ctx > 0)
		c = m->sign_ctx[--m->nsign_ctx];
	pthread_mutex_unlock(&m->lock);
	if (c != NULL)
		return c;
	c = EVP_PKEY_CTX_new_from_pkey(NULL, jose_pkey(k), NULL);
	if (c != NULL &&
	    (EVP_PKEY_sign_init(c) != 1 || EVP_PKEY_CTX_set_signature_md(c, md) != 1)) {
		EVP_PKEY_CTX_free(c);
		c = NULL;
	}
	return c;
}

static void sign_ctx_give(const coffer_jwk *k, EVP_PKEY_CTX *c)
{
	coffer_jwk *m = (coffer_jwk *)k;

	pthread_mutex_lock(&m->lock);
	if (m->nsign_ctx < JOSE_SIGN_CTX_POOL) {
		m->sign_ctx[m->nsign_ctx++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&m->lock);
	EVP_PKEY_CTX_free(c);
}

/* ECDSA over the digest of `in`, DER-encoded: EVP_DigestSign would set up a
 * new context (signature and digest fetches, provider context) for every
 * token, a tenth of the signature's cost; the signature is the same. */
static int ecdsa_sign(uint8_t *der, size_t *derlen, const coffer_jwk *k, const jws_alg *a,
                      const uint8_t *in, size_t inlen)
{
	const EVP_MD *md = jose_md(a->md);
	uint8_t h[EVP_MAX_MD_SIZE];
	unsigned int hlen = 0;
	EVP_PKEY_CTX *c;

	if (md == NULL || EVP_Digest(in, inlen, h, &hlen, md, NULL) != 1)
		return coffer_error_set_ssl(COFFER_ERROR, "JWS: %s digest failed", a->name);
	c = sign_ctx_take(k, md);
	if (c == NULL)
		return coffer_error_set_ssl(COFFER_ERROR, "JWS: %s signing set-up failed", a->name);
	if (EVP_PKEY_sign(c, der, derlen, h, hlen) != 1) {
		/* not pooled again after a failure */
		EVP_PKEY_CTX_free(c);
		return coffer_error_set_ssl(COFFER_ERROR, "JWS: %s signing failed", a->name);
	}
	sign_ctx_give(k, c);
	return 0;
}

static int sign_common(char **out, const coffer_jwk *k, const char *alg, const json_t *extra,
                       bool jwt, const uint8_t *payload, size_t len)
{
	coffer_buf hdr = COFFER_BUF_INIT_MAX(JOSE_MAX_HEADER);
	coffer_buf b = COFFER_BUF_INIT;
	EVP_MD_CTX *mc = NULL;
	uint8_t sig[JOSE_RSA_MAX_BITS / 8], raw[2 * 66];
	size_t siglen = sizeof(sig);
	const jws_alg *a;
	int error;

	*out = NULL;
	if (alg == NULL)
		alg = default_alg(k);
	if ((error = alg_refused(alg)) < 0)
		return coffer_error_set(COFFER_EINVAL, "%s", coffer_error_last());
	a = alg_find(alg);
	if (a == NULL)
		return coffer_error_set(COFFER_EUNSUPPORTED, "JWS: unsupported alg \"%s\"", alg);
	if (!alg_fits_key(a, k))
		return coffer_error_set(COFFER_EINVAL, "JWS: alg %s does not fit a %s key", alg,
		                        coffer_jwk_kty(k));
	if (!jose_key_allows(k, alg, false))
		return coffer_error_set(COFFER_EDENIED, "JWS: the key does not allow alg %s", alg);
	if (!k->priv)
		return coffer_error_set(COFFER_EINVAL, "JWS: signing needs a private key");
	if (len > JOSE_MAX_INPUT)
		return coffer_error_set(COFFER_ELIMIT, "JWS: payload too large");
	if ((error = put_header(&hdr, a, extra, jwt)) < 0)
		goto out;
	if ((error = coffer_buf_reserve(
	             &b, coffer_base64_encoded_len(hdr.len, COFFER_B64_URL_NOPAD) +
	                         coffer_base64_encoded_len(len, COFFER_B64_URL_NOPAD) + 2 + 1400)) <
	            0 ||
	    (error = jose_b64_put(&b, hdr.ptr, hdr.len)) < 0 ||
	    (error = coffer_buf_putc(&b, '.')) < 0 || (error = jose_b64_put(&b, payload, len)) < 0)
		goto out;
	if (a->kind == JWS_ECDSA) {
		if ((error = ecdsa_sign(sig, &siglen, k, a, b.ptr, b.len)) < 0)
			goto out;
	} else {
		mc = EVP_MD_CTX_new();
		if (mc == NULL || !md_setup(mc, jose_pkey(k), a, true) ||
		    EVP_DigestSign(mc, sig, &siglen, b.ptr, b.len) != 1) {
			error = coffer_error_set_ssl(COFFER_ERROR, "JWS: %s signing failed", alg);
			goto out;
		}
	}
	if ((error = coffer_buf_putc(&b, '.')) < 0)
		goto out;
	if (a->kind == JWS_ECDSA) {
		size_t cl = jose_curves[a->crv].len;
		if ((error = ecdsa_der_to_raw(raw, cl, sig, siglen)) < 0 ||
		    (error = jose_b64_put(&b, raw, 2 * cl)) < 0)
			goto out;
	} else if ((error = jose_b64_put(&b, sig, siglen)) < 0) {
		goto out;
	}
	*out = (char *)coffer_buf_detach(&b, NULL);
	if (*out == NULL)
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
out:
	EVP_MD_CTX_free(mc);
	coffer_buf_free(&hdr);
	coffer_buf_free(&b);
	return error;
}

int coffer_jws_sign(char **out, const coffer_jwk *key, const char *alg, const json_t *extra_header,
                    const uint8_t *payload, size_t len)
{
	return sign_common(out, key, alg, extra_header, false, payload, len);
}

/* ---- verify ---- */

static int verify_one(const coffer_jwk *k, const jws_alg *a, const char *input, size_t inlen,
                      const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	uint8_t *der = NULL;
	size_t derlen = 0;
	int ok, error = 0;

	if (mc == NULL)
		return coffer_error_set_ssl(COFFER_ENOMEM, "EVP_MD_CTX_new");
	if (a->kind == JWS_ECDSA) {
		size_t cl = jose_curves[a->crv].len;
		if (siglen != 2 * cl) {
			EVP_MD_CTX_free(mc);
			return COFFER_EVERIFY;
		}
		if ((error = ecdsa_raw_to_der(&der, &derlen, sig, cl)) < 0) {
			EVP_MD_CTX_free(mc);
			return error;
		}
		sig = der;
		siglen = derlen;
	}
	if (!md_setup(mc, jose_pkey(k), a, false))
		error = coffer_error_set_ssl(COFFER_ERROR, "JWS: %s verification setup", a->name);
	ok = error == 0 && EVP_DigestVerify(mc, sig, siglen, (const uint8_t *)input, inlen) == 1;
	ERR_clear_error();
	OPENSSL_free(der);
	EVP_MD_CTX_free(mc);
	if (error < 0)
		return error;
	return ok ? 0 : COFFER_EVERIFY;
}

void coffer_jws_free(coffer_jws *jws)
{
	if (jws == NULL)
		return;
	json_decref(jws->header);
	free(jws->payload);
	free(jws);
}

int coffer_jws_verify(coffer_jws **out, const char *compact, size_t len, coffer_jwk *const *keys,
                      size_t nkeys)
{
	const char *d1, *d2, *alg, *kid;
	json_t *h = NULL;
	uint8_t *payload = NULL, *sig = NULL;
	size_t plen = 0, siglen = 0;
	const jws_alg *a;
	bool tried = false;
	coffer_jws *j;
	int error;

	*out = NULL;
	if (len > JOSE_MAX_INPUT)
		return coffer_error_set(COFFER_ELIMIT, "JWS larger than %zu bytes", JOSE_MAX_INPUT);
	d1 = memchr(compact, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - compact)) : NULL;
	if (d1 == NULL || d2 == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - compact)) != NULL)
		return coffer_error_set(COFFER_EINVAL, "JWS: compact form needs 3 parts");
	if ((error = jose_header_decode(&h, compact, (size_t)(d1 - compact))) < 0)
		return error;
	alg = json_string_value(json_object_get(h, "alg"));
	if (alg == NULL) {
		error = coffer_error_set(COFFER_EINVAL, "JWS: \"alg\" missing or not a string");
		goto out;
	}
	if ((error = alg_refused(alg)) < 0)
		goto out;
	a = alg_find(alg);
	if (a == NULL) {
		error = coffer_error_set(COFFER_EUNSUPPORTED, "JWS: unsupported alg \"%s\"", alg);
		goto out;
	}
	if (json_object_get(h, "crit") != NULL) {
		error = coffer_error_set(COFFER_EUNSUPPORTED,
		                         "JWS: no critical header extension is understood");
		goto out;
	}
	if (json_object_get(h, "kid") != NULL && !json_is_string(json_object_get(h, "kid"))) {
		error = coffer_error_set(COFFER_EINVAL, "JWS: \"kid\" is not a string");
		goto out;
	}
	kid = json_string_value(json_object_get(h, "kid"));
	if ((error = jose_b64_dec(&payload, &plen, d1 + 1, (size_t)(d2 - d1 - 1), "JWS payload")) <
	            0 ||
	    (error = jose_b64_dec(&sig, &siglen, d2 + 1, len - (size_t)(d2 + 1 - compact),
	                          "JWS signature")) < 0)
		goto out;
	error = COFFER_EVERIFY;
	for (size_t i = 0; i < nkeys; i++) {
		const coffer_jwk *k = keys[i];
		if (k == NULL || !alg_fits_key(a, k) || !jose_key_allows(k, alg, false))
			continue;
		if (kid != NULL && k->kid != NULL && strcmp(kid, k->kid) != 0)
			continue;
		tried = true;
		error = verify_one(k, a, compact, (size_t)(d2 - compact), sig, siglen);
		if (error == 0) {
			j = calloc(1, sizeof(*j));
			if (j == NULL) {
				error = coffer_error_set(COFFER_ENOMEM, "out of memory");
				goto out;
			}
			j->header = h;
			j->payload = payload;
			j->payload_len = plen;
			j->key_index = i;
			h = NULL;
			payload = NULL;
			*out = j;
			goto out;
		}
		if (error != COFFER_EVERIFY)
			goto out;
	}
	if (!tried)
		error = coffer_error_set(COFFER_EVERIFY, "JWS: no key allows alg %s%s%s", alg,
		                         kid ? " with kid " : "", kid ? kid : "");
	else
		error = coffer_error_set(COFFER_EVERIFY, "JWS: signature verification failed");
out:
	json_decref(h);
	free(payload);
	free(sig);
	return error;
}

/* ---- JWT ---- */

int coffer_jwt_sign(char **out, const coffer_jwk *key, const char *alg, const json_t *extra_header,
                    const json_t *claims)
{
	char *s = NULL;
	size_t len = 0;
	int error;

	*out = NULL;
	if (!json_is_object(claims))
		return coffer_error_set(COFFER_EINVAL, "JWT: claims must be a JSON object");
	if ((error = coffer_json_dump(&s, &len, claims)) < 0)
		return coffer_error_wrap(error, "JWT claims");
	error = sign_common(out, key, alg, extra_header, true, (const uint8_t *)s, len);
	free(s);
	return error;
}

static int numeric_date(int64_t *out, const json_t *claims, const char *name, bool *present)
{
	const json_t *v = json_object_get(claims, name);
	double d;

	*present = v != NULL;
	if (v == NULL)
		return 0;
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_real(v))
		return coffer_error_set(COFFER_EINVAL, "JWT: \"%s\" is not a NumericDate", name);
	d = json_real_value(v);
	if (!(d > -9.0e15 && d < 9.0e15))
		return coffer_error_set(COFFER_EINVAL, "JWT: \"%s\" out of range", name);
	*out = (int64_t)d;
	return 0;
}

int coffer_jwt_check_claims(const json_t *claims, const coffer_jwt_checks *c)
{
	static const coffer_jwt_checks defaults = COFFER_JWT_CHECKS_INIT;
	int64_t now, exp = 0, nbf = 0, iat = 0, lw;
	bool has_exp, has_nbf, has_iat;
	int error;

	if (c == NULL)
		c = &defaults;
	if (c->version != COFFER_JWT_CHECKS_VERSION)
		return coffer_error_set(COFFER_EINVAL, "JWT: unknown checks version");
	if (!json_is_object(claims))
		return coffer_error_set(COFFER_EINVAL, "JWT: claims are not a JSON object");
	if (c->leeway < 0 || c->leeway > 86400)
		return coffer_error_set(COFFER_EINVAL, "JWT: leeway out of range");
	now = c->now ? c->now : (int64_t)time(NULL);
	lw = c->leeway;
	if ((error = numeric_date(&exp, claims, "exp", &has_exp)) < 0 ||
	    (error = numeric_date(&nbf, claims, "nbf", &has_nbf)) < 0 ||
	    (error = numeric_date(&iat, claims, "iat", &has_iat)) < 0)
		return error;
	if (!has_exp && (c->require_exp || c->max_lifetime > 0))
		return coffer_error_set(COFFER_EVERIFY, "JWT: \"exp\" is required");
	if (has_exp && now >= exp + lw)
		return coffer_error_set(COFFER_EEXPIRED, "JWT: expired at %lld (now %lld)",
		                        (long long)exp, (long long)now);
	if (has_nbf && now + lw < nbf)
		return coffer_error_set(COFFER_EEXPIRED, "JWT: not valid before %lld (now %lld)",
		                        (long long)nbf, (long long)now);
	if (has_iat && iat > now + lw)
		return coffer_error_set(COFFER_EEXPIRED,
		                        "JWT: issued in the future (%lld, now %lld)",
		                        (long long)iat, (long long)now);
	if (c->max_lifetime > 0) {
		if (!has_iat)
			return coffer_error_set(COFFER_EVERIFY, "JWT: \"iat\" is required");
		if (exp - iat > c->max_lifetime)
			return coffer_error_set(COFFER_EVERIFY,
			                        "JWT: lifetime %lld s exceeds the maximum %lld s",
			                        (long long)(exp - iat), (long long)c->max_lifetime);
	}
	if (c->iss != NULL) {
		const char *iss = json_string_value(json_object_get(claims, "iss"));
		if (iss == NULL || strcmp(iss, c->iss) != 0)
			return coffer_error_set(COFFER_EVERIFY, "JWT: issuer mismatch");
	}
	if (c->aud != NULL) {
		const json_t *aud = json_object_get(claims, "aud"), *v;
		bool found = false;
		size_t i;
		if (json_is_string(aud)) {
			found = strcmp(json_string_value(aud), c->aud) == 0;
		} else if (json_is_array(aud)) {
			json_array_foreach(aud, i, v)
			{
				if (json_is_string(v) && strcmp(json_string_value(v), c->aud) == 0)
					found = true;
			}
		}
		if (!found)
			return coffer_error_set(COFFER_EVERIFY, "JWT: audience mismatch");
	}
	return 0;
}

int coffer_jwt_verify(json_t **claims_out, json_t **header_out, const char *token,
                      coffer_jwk *const *keys, size_t nkeys, const coffer_jwt_checks *checks)
{
	coffer_jws *jws = NULL;
	json_t *claims = NULL;
	int error;

	*claims_out = NULL;
	if (header_out)
		*header_out = NULL;
	if (token == NULL)
		return coffer_error_set(COFFER_EINVAL, "JWT: no token");
	if ((error = coffer_jws_verify(&jws, token, strlen(token), keys, nkeys)) < 0)
		return error;
	if ((error = jose_json_object(&claims, (const char *)jws->payload, jws->payload_len,
	                              "JWT claims")) < 0)
		goto out;
	if ((error = coffer_jwt_check_claims(claims, checks)) < 0)
		goto out;
	*claims_out = claims;
	claims = NULL;
	if (header_out) {
		*header_out = jws->header;
		jws->header = NULL;
	}
out:
	json_decref(claims);
	coffer_jws_free(jws);
	return error;
}
