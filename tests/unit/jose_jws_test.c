/* Unit tests: JWS and JWT (src/lib/jose). */
#include "jose_test_util.h"

#include <limits.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "coffer/codec.h"
#include "coffer/jose.h"
#include "jose/jose_internal.h"

/* EVP_PKEY_dup, failing while `dup_fails` is set (linked with
 * -Wl,--wrap=EVP_PKEY_dup: the calls of the jose module land here). A public
 * EC key read from a JWK keeps its checked point and makes its EVP_PKEY, a
 * duplicate of the curve's template, only when something needs one. */
static bool dup_fails;
EVP_PKEY *__real_EVP_PKEY_dup(EVP_PKEY *k);
EVP_PKEY *__wrap_EVP_PKEY_dup(EVP_PKEY *k);
EVP_PKEY *__wrap_EVP_PKEY_dup(EVP_PKEY *k)
{
	return dup_fails ? NULL : __real_EVP_PKEY_dup(k);
}

static coffer_jwk *gen(const char *kty, const char *crv, int bits)
{
	coffer_jwk *k = NULL;
	if (strcmp(kty, "RSA") == 0)
		return gen_rsa_pooled(bits);
	if (coffer_jwk_generate(&k, kty, crv, bits) != 0)
		fail_msg("generate: %s", coffer_error_last());
	return k;
}

static int verify_rc(const char *tok, coffer_jwk *k)
{
	coffer_jws *j = NULL;
	coffer_jwk *keys[1] = { k };
	int rc = coffer_jws_verify(&j, tok, strlen(tok), keys, 1);
	if (rc == 0)
		assert_non_null(j);
	else
		assert_null(j);
	coffer_jws_free(j);
	return rc;
}

static char *b64e(const void *p, size_t n)
{
	char *s = NULL;
	assert_int_equal(coffer_base64_encode(&s, NULL, p, n, COFFER_B64_URL_NOPAD), 0);
	return s;
}

/* Flip one bit inside the decoded bytes of part `idx` (0 header, 1 payload, 2 signature). */
static char *tamper(const char *tok, int idx, size_t byte)
{
	char *parts[3], *copy = strdup(tok), *save = NULL, *res;
	uint8_t *raw = NULL;
	size_t n = 0, total;
	parts[0] = strtok_r(copy, ".", &save);
	parts[1] = strtok_r(NULL, ".", &save);
	parts[2] = strtok_r(NULL, ".", &save);
	assert_int_equal(coffer_base64_decode(&raw, &n, parts[idx], strlen(parts[idx]),
	                                      COFFER_B64_URL_NOPAD),
	                 0);
	assert_true(n > 0);
	raw[byte % n] ^= 0x02;
	parts[idx] = b64e(raw, n);
	total = strlen(parts[0]) + strlen(parts[1]) + strlen(parts[2]) + 3;
	res = malloc(total);
	snprintf(res, total, "%s.%s.%s", parts[0], parts[1], parts[2]);
	free(parts[idx]);
	free(raw);
	free(copy);
	return res;
}

static void sign_case(const char *kty, const char *crv, int bits, const char *alg, size_t siglen)
{
	coffer_jwk *k = gen(kty, crv, bits), *pub = NULL, *other = gen(kty, crv, bits);
	coffer_jwk *keys[2];
	coffer_jws *j = NULL;
	char *tok = NULL, *t;
	const char *dot;
	uint8_t *sig = NULL;
	size_t n = 0;
	json_t *extra = json_pack("{s:s}", "kid", "abc");

	assert_int_equal(coffer_jwk_public(&pub, k), 0);
	if (coffer_jws_sign(&tok, k, alg, extra, (const uint8_t *)"payload!", 8) != 0)
		fail_msg("sign %s: %s", alg, coffer_error_last());
	dot = strrchr(tok, '.');
	assert_int_equal(
	        coffer_base64_decode(&sig, &n, dot + 1, strlen(dot + 1), COFFER_B64_URL_NOPAD), 0);
	assert_int_equal(n, siglen);
	free(sig);
	keys[0] = other;
	keys[1] = pub;
	assert_int_equal(coffer_jws_verify(&j, tok, strlen(tok), keys, 2), 0);
	assert_int_equal(j->key_index, 1);
	assert_int_equal(j->payload_len, 8);
	assert_memory_equal(j->payload, "payload!", 8);
	assert_string_equal(json_string_value(json_object_get(j->header, "alg")), alg);
	assert_string_equal(json_string_value(json_object_get(j->header, "kid")), "abc");
	coffer_jws_free(j);
	assert_int_equal(verify_rc(tok, other), COFFER_EVERIFY);
	for (size_t b = 0; b < 4; b++) {
		t = tamper(tok, 1, b);
		assert_int_equal(verify_rc(t, pub), COFFER_EVERIFY);
		free(t);
		t = tamper(tok, 2, b * 17);
		assert_int_equal(verify_rc(t, pub), COFFER_EVERIFY);
		free(t);
		t = tamper(tok, 0, b + 9);
		assert_int_not_equal(verify_rc(t, pub), 0);
		free(t);
	}
	/* the kid in the header picks the key: a key with another kid is skipped */
	assert_int_equal(coffer_jwk_set_kid(pub, "other"), 0);
	assert_int_equal(verify_rc(tok, pub), COFFER_EVERIFY);
	assert_int_equal(coffer_jwk_set_kid(pub, "abc"), 0);
	assert_int_equal(verify_rc(tok, pub), 0);
	/* a key whose own alg differs is refused */
	assert_int_equal(coffer_jwk_set_alg(pub, strcmp(alg, "PS256") == 0 ? "RS256" : "PS256"), 0);
	assert_int_equal(verify_rc(tok, pub), COFFER_EVERIFY);
	/* signing with a public key */
	assert_int_equal(coffer_jws_sign(&t, pub, alg, NULL, (const uint8_t *)"x", 1),
	                 COFFER_EDENIED);
	assert_int_equal(coffer_jwk_set_alg(pub, NULL), 0);
	assert_int_equal(coffer_jws_sign(&t, pub, alg, NULL, (const uint8_t *)"x", 1),
	                 COFFER_EINVAL);
	free(tok);
	json_decref(extra);
	coffer_jwk_free(k);
	coffer_jwk_free(other);
	coffer_jwk_free(pub);
}

static void test_sign_verify(void **state)
{
	(void)state;
	sign_case("EC", "P-256", 0, "ES256", 64);
	sign_case("EC", "P-384", 0, "ES384", 96);
	sign_case("EC", "P-521", 0, "ES512", 132);
	sign_case("OKP", "Ed25519", 0, "EdDSA", 64);
	sign_case("RSA", NULL, 2048, "RS256", 256);
	sign_case("RSA", NULL, 2048, "PS256", 256);
	sign_case("RSA", NULL, 2048, "RS384", 256);
	sign_case("RSA", NULL, 2048, "PS512", 256);
}

static char *make_token(const char *header, const void *sig, size_t siglen)
{
	char *h = b64e(header, strlen(header)), *p = b64e("{}", 2), *s = b64e(sig, siglen), *t;
	size_t n = strlen(h) + strlen(p) + strlen(s) + 3;
	t = malloc(n);
	snprintf(t, n, "%s.%s.%s", h, p, s);
	free(h);
	free(p);
	free(s);
	return t;
}

static void test_alg_confusion(void **state)
{
	coffer_jwk *ec = gen("EC", "P-256", 0), *ec384 = gen("EC", "P-384", 0);
	coffer_jwk *rsa = gen("RSA", NULL, 2048), *ed = gen("OKP", "Ed25519", 0);
	char *tok = NULL, *pem = NULL, *t;
	uint8_t mac[64];
	unsigned maclen = 0;
	(void)state;

	/* "none" and an empty signature */
	t = make_token("{\"alg\":\"none\"}", "", 0);
	assert_int_equal(verify_rc(t, ec), COFFER_EVERIFY);
	free(t);
	t = make_token("{\"alg\":\"NONE\"}", "", 0);
	assert_int_equal(verify_rc(t, ec), COFFER_EVERIFY);
	free(t);
	/* HS256 keyed with the public key's PEM (the classic confusion) */
	assert_int_equal(coffer_jwk_to_pem(&pem, rsa, false), 0);
	{
		char *h = b64e("{\"alg\":\"HS256\"}", 15), *p = b64e("{}", 2), in[256], *s;
		size_t n;
		snprintf(in, sizeof(in), "%s.%s", h, p);
		assert_non_null(HMAC(EVP_sha256(), pem, (int)strlen(pem), (const uint8_t *)in,
		                     strlen(in), mac, &maclen));
		s = b64e(mac, maclen);
		n = strlen(in) + strlen(s) + 2;
		t = malloc(n);
		snprintf(t, n, "%s.%s", in, s);
		assert_int_equal(verify_rc(t, rsa), COFFER_EVERIFY);
		free(t);
		free(h);
		free(p);
		free(s);
	}
	free(pem);
	/* a signature by one kind of key presented under another alg */
	assert_int_equal(coffer_jws_sign(&tok, ec, "ES256", NULL, (const uint8_t *)"x", 1), 0);
	assert_int_equal(verify_rc(tok, ec384), COFFER_EVERIFY);
	assert_int_equal(verify_rc(tok, rsa), COFFER_EVERIFY);
	assert_int_equal(verify_rc(tok, ed), COFFER_EVERIFY);
	free(tok);
	assert_int_equal(coffer_jws_sign(&tok, rsa, "RS256", NULL, (const uint8_t *)"x", 1), 0);
	{
		/* same signature bytes relabelled PS256 */
		const char *d = strrchr(tok, '.');
		char *h = b64e("{\"alg\":\"PS256\"}", 15), *p = b64e("x", 1), *rt;
		size_t n = strlen(h) + strlen(p) + strlen(d) + 2;
		rt = malloc(n);
		snprintf(rt, n, "%s.%s%s", h, p, d);
		assert_int_equal(verify_rc(rt, rsa), COFFER_EVERIFY);
		free(rt);
		free(h);
		free(p);
	}
	assert_int_equal(verify_rc(tok, ec), COFFER_EVERIFY);
	free(tok);
	/* signing: algs that do not fit the key, HMAC, none, unknown */
	assert_int_equal(coffer_jws_sign(&tok, ec, "ES384", NULL, (const uint8_t *)"x", 1),
	                 COFFER_EINVAL);
	assert_int_equal(coffer_jws_sign(&tok, ec, "RS256", NULL, (const uint8_t *)"x", 1),
	                 COFFER_EINVAL);
	assert_int_equal(coffer_jws_sign(&tok, rsa, "EdDSA", NULL, (const uint8_t *)"x", 1),
	                 COFFER_EINVAL);
	assert_int_equal(coffer_jws_sign(&tok, rsa, "HS256", NULL, (const uint8_t *)"x", 1),
	                 COFFER_EINVAL);
	assert_int_equal(coffer_jws_sign(&tok, rsa, "none", NULL, (const uint8_t *)"x", 1),
	                 COFFER_EINVAL);
	assert_int_equal(coffer_jws_sign(&tok, rsa, "XX1", NULL, (const uint8_t *)"x", 1),
	                 COFFER_EUNSUPPORTED);
	/* extra header cannot override alg */
	{
		json_t *e = json_pack("{s:s}", "alg", "none");
		assert_int_equal(coffer_jws_sign(&tok, ed, NULL, e, (const uint8_t *)"x", 1),
		                 COFFER_EINVAL);
		json_decref(e);
	}
	/* key "use":"enc" is not for signatures */
	{
		json_t *j = NULL;
		coffer_jwk *k2 = NULL;
		assert_int_equal(coffer_jwk_to_json(&j, ed, true), 0);
		json_object_set_new(j, "use", json_string("enc"));
		assert_int_equal(coffer_jwk_from_json(&k2, j), 0);
		assert_int_equal(coffer_jws_sign(&tok, k2, NULL, NULL, (const uint8_t *)"x", 1),
		                 COFFER_EDENIED);
		json_decref(j);
		coffer_jwk_free(k2);
	}
	/* default algs by key */
	assert_int_equal(coffer_jws_sign(&tok, ec384, NULL, NULL, (const uint8_t *)"x", 1), 0);
	assert_int_equal(verify_rc(tok, ec384), 0);
	free(tok);
	coffer_jwk_free(ec);
	coffer_jwk_free(ec384);
	coffer_jwk_free(rsa);
	coffer_jwk_free(ed);
}

static void test_malformed(void **state)
{
	coffer_jwk *ec = gen("EC", "P-256", 0);
	char *t;
	(void)state;
	assert_int_equal(verify_rc("", ec), COFFER_EINVAL);
	assert_int_equal(verify_rc("a.b", ec), COFFER_EINVAL);
	assert_int_equal(verify_rc("a.b.c.d", ec), COFFER_EINVAL);
	assert_int_equal(verify_rc("..", ec), COFFER_EINVAL);
	assert_int_equal(verify_rc("e30.e30.@@", ec), COFFER_EINVAL);
	assert_int_equal(verify_rc("e30.e30.AA", ec), COFFER_EINVAL); /* {} : no alg */
	t = make_token("{\"alg\":5}", "x", 1);
	assert_int_equal(verify_rc(t, ec), COFFER_EINVAL);
	free(t);
	t = make_token("[\"ES256\"]", "x", 1);
	assert_int_equal(verify_rc(t, ec), COFFER_EINVAL);
	free(t);
	t = make_token("{\"alg\":\"ES256\",\"alg\":\"ES256\"}", "x", 1);
	assert_int_equal(verify_rc(t, ec), COFFER_EINVAL);
	free(t);
	t = make_token("{\"alg\":\"ES256\",\"crit\":[\"b64\"],\"b64\":false}", "x", 1);
	assert_int_equal(verify_rc(t, ec), COFFER_EUNSUPPORTED);
	free(t);
	t = make_token("{\"alg\":\"ES256\",\"kid\":1}", "x", 1);
	assert_int_equal(verify_rc(t, ec), COFFER_EINVAL);
	free(t);
	t = make_token("{\"alg\":\"ES999\"}", "x", 1);
	assert_int_equal(verify_rc(t, ec), COFFER_EUNSUPPORTED);
	free(t);
	t = make_token("{\"alg\":\"ES256\"}", "xx", 2); /* short r||s */
	assert_int_equal(verify_rc(t, ec), COFFER_EVERIFY);
	free(t);
	coffer_jwk_free(ec);
}

static void test_jwt(void **state)
{
	coffer_jwk *k = gen("EC", "P-256", 0);
	coffer_jwk *keys[1] = { k };
	coffer_jwt_checks c = COFFER_JWT_CHECKS_INIT;
	json_t *claims = json_pack("{s:i,s:i,s:i,s:s,s:[s,s]}", "iat", 1000, "nbf", 1000, "exp",
	                           1300, "iss", "coffer", "aud", "a", "b");
	json_t *out = NULL, *hdr = NULL;
	char *tok = NULL;
	(void)state;

	assert_int_equal(coffer_jwt_sign(&tok, k, "ES256", NULL, claims), 0);
	c.now = 1100;
	assert_int_equal(coffer_jwt_verify(&out, &hdr, tok, keys, 1, &c), 0);
	assert_int_equal(json_integer_value(json_object_get(out, "exp")), 1300);
	assert_string_equal(json_string_value(json_object_get(hdr, "typ")), "JWT");
	json_decref(out);
	json_decref(hdr);
	c.now = 1300;
	assert_int_equal(coffer_jwt_verify(&out, NULL, tok, keys, 1, &c), COFFER_EEXPIRED);
	assert_null(out);
	c.leeway = 10;
	assert_int_equal(coffer_jwt_verify(&out, NULL, tok, keys, 1, &c), 0);
	json_decref(out);
	c.now = 1310;
	assert_int_equal(coffer_jwt_check_claims(claims, &c), COFFER_EEXPIRED);
	c.now = 990;
	assert_int_equal(coffer_jwt_check_claims(claims, &c), 0);
	c.now = 989;
	assert_int_equal(coffer_jwt_check_claims(claims, &c), COFFER_EEXPIRED); /* nbf and iat */
	c.leeway = 0;
	c.now = 1100;
	c.iss = "coffer";
	c.aud = "b";
	assert_int_equal(coffer_jwt_check_claims(claims, &c), 0);
	c.iss = "other";
	assert_int_equal(coffer_jwt_check_claims(claims, &c), COFFER_EVERIFY);
	c.iss = NULL;
	c.aud = "c";
	assert_int_equal(coffer_jwt_check_claims(claims, &c), COFFER_EVERIFY);
	c.aud = NULL;
	c.max_lifetime = 299;
	assert_int_equal(coffer_jwt_check_claims(claims, &c), COFFER_EVERIFY);
	c.max_lifetime = 300;
	assert_int_equal(coffer_jwt_check_claims(claims, &c), 0);
	json_object_del(claims, "iat");
	assert_int_equal(coffer_jwt_check_claims(claims, &c), COFFER_EVERIFY);
	c.max_lifetime = 0;
	json_object_del(claims, "exp");
	assert_int_equal(coffer_jwt_check_claims(claims, &c), COFFER_EVERIFY);
	c.require_exp = false;
	assert_int_equal(coffer_jwt_check_claims(claims, &c), 0);
	json_object_set_new(claims, "exp", json_string("soon"));
	assert_int_equal(coffer_jwt_check_claims(claims, &c), COFFER_EINVAL);
	json_object_set_new(claims, "exp", json_real(1200.5));
	assert_int_equal(coffer_jwt_check_claims(claims, &c), 0);
	json_object_set_new(claims, "aud", json_string("b"));
	c.aud = "b";
	assert_int_equal(coffer_jwt_check_claims(claims, &c), 0);
	c.version = 7;
	assert_int_equal(coffer_jwt_check_claims(claims, &c), COFFER_EINVAL);
	c.version = COFFER_JWT_CHECKS_VERSION;
	c.leeway = -1;
	assert_int_equal(coffer_jwt_check_claims(claims, &c), COFFER_EINVAL);
	{
		json_t *str = json_string("x");
		assert_int_equal(coffer_jwt_check_claims(str, NULL), COFFER_EINVAL);
		json_decref(str);
	}
	/* a JWS whose payload is not a JSON object is no JWT */
	free(tok);
	assert_int_equal(coffer_jws_sign(&tok, k, NULL, NULL, (const uint8_t *)"[1]", 3), 0);
	c.now = 0;
	assert_int_equal(coffer_jwt_verify(&out, NULL, tok, keys, 1, &c), COFFER_EINVAL);
	free(tok);
	{
		json_t *arr = json_array();
		assert_int_equal(coffer_jwt_sign(&tok, k, NULL, NULL, arr), COFFER_EINVAL);
		json_decref(arr);
	}
	/* default checks: exp required, current time */
	free(tok);
	json_decref(claims);
	claims = json_pack("{s:I}", "exp", (json_int_t)4102444800LL);
	assert_int_equal(coffer_jwt_sign(&tok, k, NULL, NULL, claims), 0);
	assert_int_equal(coffer_jwt_verify(&out, NULL, tok, keys, 1, NULL), 0);
	json_decref(out);
	free(tok);
	json_decref(claims);
	coffer_jwk_free(k);
}

/* The base64url segment `seg` (len bytes) decodes to exactly
 * json_dumps(want, JSON_COMPACT). */
static void assert_segment_dumps(const char *seg, size_t len, const json_t *want)
{
	char *got = NULL, *w = json_dumps(want, JSON_COMPACT);
	size_t n = 0;

	assert_non_null(w);
	assert_int_equal(coffer_base64_decode((uint8_t **)&got, &n, seg, len, COFFER_B64_URL_NOPAD),
	                 0);
	assert_int_equal(n, strlen(w));
	assert_memory_equal(got, w, n);
	free(got);
	free(w);
}

/* The token's header and payload are the bytes json_dumps wrote for them
 * before: {"alg"} updated with "typ":"JWT" and then the extra header. */
static void test_jwt_bytes(void **state)
{
	coffer_jwk *k = gen("EC", "P-256", 0), *keys[1] = { k };
	json_t *claims = json_pack("{s:I,s:s,s:{s:[i,b,n]},s:f}", "exp", (json_int_t)4102444800LL,
	                           "iss", "https://kbs/é\t", "nested", "a", 1, 1, "r", 1.25);
	json_t *extras[3], *h, *got = NULL;
	char *tok = NULL;
	const char *d1, *d2;
	(void)state;

	extras[0] = NULL;
	extras[1] = json_pack("{s:s,s:{s:s}}", "kid", "k/1", "jwk", "kty", "EC");
	extras[2] = json_pack("{s:s,s:s}", "kid", "k2", "typ", "at+jwt");
	for (int i = 0; i < 3; i++) {
		assert_int_equal(coffer_jwt_sign(&tok, k, "ES256", extras[i], claims), 0);
		assert_int_equal(coffer_jwt_verify(&got, NULL, tok, keys, 1, NULL), 0);
		assert_true(json_equal(got, claims));
		json_decref(got);
		d1 = strchr(tok, '.');
		d2 = strchr(d1 + 1, '.');
		h = json_pack("{s:s}", "alg", "ES256");
		if (extras[i] == NULL || json_object_get(extras[i], "typ") == NULL)
			json_object_set_new(h, "typ", json_string("JWT"));
		if (extras[i] != NULL)
			json_object_update(h, extras[i]);
		assert_segment_dumps(tok, (size_t)(d1 - tok), h);
		json_decref(h);
		assert_segment_dumps(d1 + 1, (size_t)(d2 - d1 - 1), claims);
		free(tok);
		json_decref(extras[i]);
	}
	/* claims jansson cannot write are refused, as before */
	json_object_set_new(claims, "bad", json_stringn_nocheck("\xc3", 1));
	assert_int_equal(coffer_jwt_sign(&tok, k, "ES256", NULL, claims), COFFER_EINVAL);
	assert_null(tok);
	json_decref(claims);
	coffer_jwk_free(k);
}

/* The lazy EVP_PKEY of a public EC key cannot be made: verification fails
 * with an error of its own (not "bad signature", not valid), and the failure
 * is not kept: the next attempt makes the key and verifies. */
static void test_lazy_pkey_failure(void **state)
{
	coffer_jwk *k = gen("EC", "P-256", 0), *pub = NULL;
	json_t *j = NULL;
	char *text, *tok = NULL;
	(void)state;

	assert_int_equal(coffer_jwk_to_json(&j, k, false), 0);
	text = json_dumps(j, JSON_COMPACT);
	assert_non_null(text);
	assert_int_equal(coffer_jwk_parse(&pub, text, strlen(text)), 0);
	assert_int_equal(coffer_jws_sign(&tok, k, "ES256", NULL, (const uint8_t *)"x", 1), 0);

	dup_fails = true;
	assert_null(coffer_jwk_pkey(pub));
	assert_non_null(strstr(coffer_error_last(), "EVP_PKEY_dup"));
	assert_int_equal(verify_rc(tok, pub), COFFER_ERROR);
	assert_non_null(strstr(coffer_error_last(), "verification setup"));
	dup_fails = false;

	assert_int_equal(verify_rc(tok, pub), 0);
	assert_non_null(coffer_jwk_pkey(pub));
	free(tok);
	free(text);
	json_decref(j);
	coffer_jwk_free(pub);
	coffer_jwk_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_verify), cmocka_unit_test(test_alg_confusion),
		cmocka_unit_test(test_malformed),   cmocka_unit_test(test_jwt),
		cmocka_unit_test(test_jwt_bytes),   cmocka_unit_test(test_lazy_pkey_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
