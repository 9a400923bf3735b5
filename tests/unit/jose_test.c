/* Unit tests: JWK and JWE (src/lib/jose). */
#include "jose_test_util.h"

#include <pthread.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "coffer/codec.h"
#include "coffer/jose.h"
#include "fault_rand.h"
#include "jose/jose_internal.h"

static coffer_jwk *gen(const char *kty, const char *crv, int bits)
{
	coffer_jwk *k = NULL;
	if (strcmp(kty, "RSA") == 0)
		return gen_rsa_pooled(bits);
	int rc = coffer_jwk_generate(&k, kty, crv, bits);
	if (rc != 0)
		fail_msg("generate %s %s: %s", kty, crv ? crv : "", coffer_error_last());
	return k;
}

static coffer_jwk *from_text(const char *s)
{
	coffer_jwk *k = NULL;
	int rc = coffer_jwk_parse(&k, s, strlen(s));
	if (rc != 0)
		fail_msg("parse: %s: %s", coffer_error_last(), s);
	return k;
}

static int parse_rc(const char *s)
{
	coffer_jwk *k = NULL;
	int rc = coffer_jwk_parse(&k, s, strlen(s));
	coffer_jwk_free(k);
	return rc;
}

static char *dump(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	assert_non_null(s);
	return s;
}

/* RFC 7638 section 3.1 example. */
static const char rfc7638_key[] =
        "{\"kty\":\"RSA\",\"n\":"
        "\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
        "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
        "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
        "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\","
        "\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";

static void test_thumbprint_rfc7638(void **state)
{
	coffer_jwk *k = from_text(rfc7638_key);
	char *t = NULL;
	(void)state;
	assert_int_equal(coffer_jwk_thumbprint(&t, k), 0);
	assert_string_equal(t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	assert_string_equal(coffer_jwk_kty(k), "RSA");
	assert_null(coffer_jwk_crv(k));
	assert_string_equal(coffer_jwk_alg(k), "RS256");
	assert_string_equal(coffer_jwk_kid(k), "2011-04-29");
	assert_false(coffer_jwk_has_private(k));
	free(t);
	coffer_jwk_free(k);
}

static void roundtrip(const char *kty, const char *crv, int bits)
{
	coffer_jwk *k = gen(kty, crv, bits), *k2 = NULL, *pub = NULL, *k3 = NULL;
	json_t *j = NULL, *j2 = NULL;
	char *s1, *s2, *t1 = NULL, *t2 = NULL, *pem = NULL, *ppem = NULL;

	assert_true(coffer_jwk_has_private(k));
	assert_string_equal(coffer_jwk_kty(k), kty);
	assert_int_equal(coffer_jwk_set_kid(k, "k1"), 0);
	assert_int_equal(coffer_jwk_to_json(&j, k, true), 0);
	assert_non_null(json_object_get(j, "d"));
	assert_int_equal(coffer_jwk_from_json(&k2, j), 0);
	assert_true(coffer_jwk_has_private(k2));
	assert_int_equal(coffer_jwk_to_json(&j2, k2, true), 0);
	s1 = dump(j);
	s2 = dump(j2);
	assert_string_equal(s1, s2);
	free(s1);
	free(s2);
	json_decref(j2);
	/* public part: no private members, first members in RFC 7638 order */
	assert_int_equal(coffer_jwk_public(&pub, k), 0);
	assert_false(coffer_jwk_has_private(pub));
	assert_int_equal(coffer_jwk_to_json(&j2, pub, true), 0);
	assert_null(json_object_get(j2, "d"));
	assert_null(json_object_get(j2, "p"));
	s1 = dump(j2);
	if (strcmp(kty, "RSA") == 0)
		assert_true(strncmp(s1, "{\"e\":", 5) == 0);
	else
		assert_true(strncmp(s1, "{\"crv\":", 7) == 0);
	free(s1);
	json_decref(j2);
	assert_int_equal(coffer_jwk_thumbprint(&t1, k), 0);
	assert_int_equal(coffer_jwk_thumbprint(&t2, pub), 0);
	assert_string_equal(t1, t2);
	assert_int_equal(strlen(t1), 43);
	/* PEM round trips, private and public */
	assert_int_equal(coffer_jwk_to_pem(&pem, k, true), 0);
	assert_non_null(strstr(pem, "BEGIN PRIVATE KEY"));
	assert_int_equal(coffer_jwk_parse(&k3, pem, strlen(pem)), 0);
	assert_true(coffer_jwk_has_private(k3));
	free(t2);
	assert_int_equal(coffer_jwk_thumbprint(&t2, k3), 0);
	assert_string_equal(t1, t2);
	coffer_jwk_free(k3);
	k3 = NULL;
	assert_int_equal(coffer_jwk_to_pem(&ppem, pub, false), 0);
	assert_non_null(strstr(ppem, "BEGIN PUBLIC KEY"));
	assert_int_equal(coffer_jwk_to_pem(&s1, pub, true), COFFER_EINVAL);
	assert_int_equal(coffer_jwk_parse(&k3, ppem, strlen(ppem)), 0);
	assert_false(coffer_jwk_has_private(k3));
	free(t2);
	assert_int_equal(coffer_jwk_thumbprint(&t2, k3), 0);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	free(pem);
	free(ppem);
	json_decref(j);
	coffer_jwk_free(k);
	coffer_jwk_free(k2);
	coffer_jwk_free(k3);
	coffer_jwk_free(pub);
}

static void test_jwk_roundtrip(void **state)
{
	(void)state;
	roundtrip("EC", "P-256", 0);
	roundtrip("EC", "P-384", 0);
	roundtrip("EC", "P-521", 0);
	roundtrip("OKP", "Ed25519", 0);
	roundtrip("RSA", NULL, 2048);
}

static void test_jwk_generate_bad(void **state)
{
	coffer_jwk *k = NULL;
	(void)state;
	assert_int_equal(coffer_jwk_generate(&k, "RSA", NULL, 1024), COFFER_EINVAL);
	assert_int_equal(coffer_jwk_generate(&k, "RSA", NULL, 2049), COFFER_EINVAL);
	assert_int_equal(coffer_jwk_generate(&k, "EC", "P-192", 0), COFFER_EUNSUPPORTED);
	assert_int_equal(coffer_jwk_generate(&k, "EC", "Ed25519", 0), COFFER_EINVAL);
	assert_int_equal(coffer_jwk_generate(&k, "OKP", "P-256", 0), COFFER_EINVAL);
	assert_int_equal(coffer_jwk_generate(&k, "EC", NULL, 0), COFFER_EINVAL);
	assert_int_equal(coffer_jwk_generate(&k, "oct", NULL, 0), COFFER_EUNSUPPORTED);
	assert_int_equal(coffer_jwk_generate(&k, NULL, NULL, 0), COFFER_EINVAL);
	assert_null(k);
}

/* RFC 7520 section 3.2 key (P-521). */
#define EC521_X \
	"AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt"
#define EC521_Y \
	"AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1"
#define EC521_D \
	"AAhRON2r9cqXX1hg-RoI6R1tX5p2rUAYdmpHZoC1XNM56KtscrX6zbKipQrCW9CGZH3T4ubpnoTKLDYJ_fF3_rJt"

static void test_jwk_bad_inputs(void **state)
{
	char buf[1024];
	(void)state;
	/* a valid baseline first, so the negatives below fail for their reason */
	snprintf(buf, sizeof(buf),
	         "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"%s\",\"y\":\"%s\",\"d\":\"%s\"}",
	         EC521_X, EC521_Y, EC521_D);
	assert_int_equal(parse_rc(buf), 0);
	/* not JSON / not an object / duplicates */
	assert_int_equal(parse_rc("{"), COFFER_EINVAL);
	assert_int_equal(parse_rc("[]"), COFFER_EINVAL);
	assert_int_equal(parse_rc("hello"), COFFER_EINVAL);
	assert_int_equal(parse_rc("{\"kty\":\"EC\",\"kty\":\"EC\"}"), COFFER_EINVAL);
	assert_int_equal(parse_rc("{}"), COFFER_EINVAL);
	assert_int_equal(parse_rc("{\"kty\":5}"), COFFER_EINVAL);
	assert_int_equal(parse_rc("{\"kty\":\"oct\",\"k\":\"AAAA\"}"), COFFER_EUNSUPPORTED);
	assert_int_equal(parse_rc("{\"kty\":\"XYZ\"}"), COFFER_EUNSUPPORTED);
	/* EC: missing crv, bad curve, missing/short coordinates, off-curve point */
	assert_int_equal(parse_rc("{\"kty\":\"EC\",\"x\":\"AA\",\"y\":\"AA\"}"), COFFER_EINVAL);
	assert_int_equal(parse_rc("{\"kty\":\"EC\",\"crv\":\"P-192\",\"x\":\"AA\",\"y\":\"AA\"}"),
	                 COFFER_EUNSUPPORTED);
	assert_int_equal(parse_rc("{\"kty\":\"EC\",\"crv\":\"Ed25519\",\"x\":\"AA\"}"),
	                 COFFER_EINVAL);
	snprintf(buf, sizeof(buf), "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"%s\"}", EC521_X);
	assert_int_equal(parse_rc(buf), COFFER_EINVAL);
	snprintf(buf, sizeof(buf), "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"%s\",\"y\":\"%s\"}",
	         EC521_X + 1, EC521_Y);
	assert_int_equal(parse_rc(buf), COFFER_EINVAL); /* bad base64 length */
	snprintf(buf, sizeof(buf), "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"%s\",\"y\":\"%s\"}",
	         EC521_X, EC521_X);
	assert_int_equal(parse_rc(buf), COFFER_EINVAL); /* not on the curve */
	snprintf(buf, sizeof(buf), "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"%s\",\"y\":\"%s\"}",
	         EC521_X, EC521_Y);
	assert_int_equal(parse_rc(buf), COFFER_EINVAL); /* wrong coordinate length */
	snprintf(buf, sizeof(buf),
	         "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"%s\",\"y\":\"%s\",\"d\":\"AAAA\"}",
	         EC521_X, EC521_Y);
	assert_int_equal(parse_rc(buf), COFFER_EINVAL); /* short d */
	snprintf(buf, sizeof(buf),
	         "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"%s\",\"y\":\"%s\",\"d\":\"%s\"}",
	         EC521_X, EC521_Y, EC521_X);
	assert_int_equal(parse_rc(buf), COFFER_EINVAL); /* d does not match */
	snprintf(buf, sizeof(buf),
	         "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"%s\",\"y\":\"%s\",\"kid\":7}", EC521_X,
	         EC521_Y);
	assert_int_equal(parse_rc(buf), COFFER_EINVAL); /* kid not a string */
	/* OKP */
	assert_int_equal(parse_rc("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AA\"}"),
	                 COFFER_EUNSUPPORTED);
	assert_int_equal(parse_rc("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}"),
	                 COFFER_EINVAL);
	assert_int_equal(parse_rc("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
	                          "\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\",\"d\":"
	                          "\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"),
	                 COFFER_EINVAL); /* x does not match d */
	assert_int_equal(parse_rc("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
	                          "\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"),
	                 0);
	/* RSA: small modulus, even exponent, non-minimal encoding, partial CRT */
	assert_int_equal(
	        parse_rc("{\"kty\":\"RSA\",\"n\":\"wbdxI55VaanZXPY29Lg5hdmv2XhvqAhoxUkanfzf2-"
	                 "5zVUxa6prHRrI4pP1AhoqJRlZfYtWWd5mmHRG2pAHIlh0ySJ9wi0BioZBl1XP2e-C-"
	                 "FyXJGcTy0HdKQWlrfhTm42EW7Vv04r4gfao6uxjLGwfpGrZLarohiWCPnkNrg70\",\"e\":"
	                 "\"AQAB\"}"),
	        COFFER_EINVAL);
	{
		char *k = strdup(rfc7638_key);
		char *e = strstr(k, "\"AQAB\"");
		memcpy(e, "\"AQAA\"", 6);
		assert_int_equal(parse_rc(k), COFFER_EINVAL);
		memcpy(e, "\"AAAB\"", 6);
		assert_int_equal(parse_rc(k), COFFER_EINVAL);
		free(k);
	}
	snprintf(buf, sizeof(buf), "%.*s,\"d\":\"AQAB\"}", (int)strlen(rfc7638_key) - 1,
	         rfc7638_key);
	assert_int_equal(parse_rc(buf), COFFER_EINVAL);
	snprintf(buf, sizeof(buf), "%.*s,\"oth\":[]}", (int)strlen(rfc7638_key) - 1, rfc7638_key);
	assert_int_equal(parse_rc(buf), COFFER_EUNSUPPORTED);
	/* PEM: garbage and an encrypted key are refused without prompting */
	assert_int_equal(parse_rc("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
	                 COFFER_EINVAL);
	assert_int_equal(coffer_jwk_load(&(coffer_jwk *){ NULL }, "/nonexistent/key.jwk"),
	                 COFFER_EIO);
}

static void test_jwk_pem_rsa_small_refused(void **state)
{
	EVP_PKEY *p = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	coffer_jwk *k = NULL;
	(void)state;
	assert_non_null(p);
	assert_int_equal(coffer_jwk_from_pkey(&k, p), COFFER_EINVAL);
	EVP_PKEY_free(p);
	p = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	assert_int_equal(coffer_jwk_from_pkey(&k, p), COFFER_EUNSUPPORTED);
	EVP_PKEY_free(p);
	p = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	assert_int_equal(coffer_jwk_from_pkey(&k, p), COFFER_EUNSUPPORTED);
	EVP_PKEY_free(p);
	assert_int_equal(coffer_jwk_from_pkey(&k, NULL), COFFER_EINVAL);
	assert_null(k);
}

static void test_jwk_load_file(void **state)
{
	char path[] = "/tmp/jose_test_XXXXXX";
	int fd = mkstemp(path);
	coffer_jwk *k = NULL;
	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, rfc7638_key, strlen(rfc7638_key)), (ssize_t)strlen(rfc7638_key));
	close(fd);
	assert_int_equal(coffer_jwk_load(&k, path), 0);
	assert_string_equal(coffer_jwk_kid(k), "2011-04-29");
	assert_int_equal(coffer_jwk_set_alg(k, "PS256"), 0);
	assert_string_equal(coffer_jwk_alg(k), "PS256");
	assert_int_equal(coffer_jwk_set_alg(k, NULL), 0);
	assert_null(coffer_jwk_alg(k));
	coffer_jwk_free(k);
	unlink(path);
}

/* ---- JWE ---- */

static uint8_t *b64d(const char *s, size_t *n)
{
	uint8_t *p = NULL;
	assert_int_equal(coffer_base64_decode(&p, n, s, strlen(s), COFFER_B64_URL_NOPAD), 0);
	return p;
}

static char *b64e(const uint8_t *p, size_t n)
{
	char *s = NULL;
	assert_int_equal(coffer_base64_encode(&s, NULL, p, n, COFFER_B64_URL_NOPAD), 0);
	return s;
}

static int decrypt_rc(const json_t *jwe, const coffer_jwk *k)
{
	coffer_secret out = COFFER_SECRET_INIT;
	int rc = coffer_jwe_decrypt_json(&out, jwe, k, NULL);
	coffer_secret_free(&out);
	return rc;
}

/* Flip one bit in the decoded bytes of member `m` and expect a rejection. */
static void tamper_member(const json_t *jwe, const coffer_jwk *k, const char *m, size_t byte)
{
	json_t *t = json_deep_copy(jwe);
	size_t n;
	uint8_t *p = b64d(json_string_value(json_object_get(t, m)), &n);
	char *s;
	int rc;

	assert_true(n > 0);
	p[byte % n] ^= 0x01;
	s = b64e(p, n);
	json_object_set_new(t, m, json_string(s));
	rc = decrypt_rc(t, k);
	if (rc == 0)
		fail_msg("tampered %s accepted", m);
	/* with the structure intact, everything but a now-unreadable protected
	 * header is one uniform verification failure */
	if (strcmp(m, "protected") != 0) {
		assert_int_equal(rc, COFFER_EVERIFY);
		assert_string_equal(coffer_error_last(), "JWE decryption failed");
	}
	free(p);
	free(s);
	json_decref(t);
}

static void check_protected(const json_t *jwe, const coffer_jwk *k, const char *alg)
{
	size_t n;
	uint8_t *p = b64d(json_string_value(json_object_get(jwe, "protected")), &n);
	char expect[1024];
	const char *crv = coffer_jwk_crv(k);
	json_t *h = json_loadb((const char *)p, n, 0, NULL), *epk;

	assert_non_null(h);
	if (strcmp(alg, "ECDH-ES+A256KW") == 0) {
		size_t xl, yl,
		        want = strcmp(crv, "P-256") == 0   ? 32
		               : strcmp(crv, "P-384") == 0 ? 48
		                                           : 66;
		uint8_t *x, *y;
		epk = json_object_get(h, "epk");
		x = b64d(json_string_value(json_object_get(epk, "x")), &xl);
		y = b64d(json_string_value(json_object_get(epk, "y")), &yl);
		assert_int_equal(xl, want);
		assert_int_equal(yl, want);
		snprintf(expect, sizeof(expect),
		         "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"crv\":\"%s\","
		         "\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}}",
		         crv, json_string_value(json_object_get(epk, "x")),
		         json_string_value(json_object_get(epk, "y")));
		free(x);
		free(y);
	} else {
		snprintf(expect, sizeof(expect), "{\"alg\":\"%s\",\"enc\":\"A256GCM\"}", alg);
	}
	assert_int_equal(n, strlen(expect));
	assert_memory_equal(p, expect, n);
	json_decref(h);
	free(p);
}

static void jwe_case(const char *kty, const char *crv, int bits, const char *alg)
{
	coffer_jwk *k = gen(kty, crv, bits), *pub = NULL, *other = gen(kty, crv, bits);
	uint8_t msg[1024];
	json_t *jwe = NULL;
	coffer_secret out = COFFER_SECRET_INIT;
	const char *key;
	json_t *v;
	size_t i = 0, n;
	static const char *const order[] = { "protected", "encrypted_key", "iv", "ciphertext",
		                             "tag" };
	uint8_t *ek;

	for (size_t j = 0; j < sizeof(msg); j++)
		msg[j] = (uint8_t)(j * 7);
	assert_int_equal(coffer_jwk_public(&pub, k), 0);
	if (coffer_jwe_encrypt(&jwe, pub, alg, msg, sizeof(msg)) != 0)
		fail_msg("encrypt %s: %s", alg, coffer_error_last());
	json_object_foreach(jwe, key, v)
	{
		assert_true(i < 5);
		assert_string_equal(key, order[i]);
		i++;
	}
	assert_int_equal(i, 5);
	check_protected(jwe, k, alg ? alg : "ECDH-ES+A256KW");
	ek = b64d(json_string_value(json_object_get(jwe, "encrypted_key")), &n);
	if (strcmp(kty, "EC") == 0)
		assert_int_equal(n, 40);
	else
		assert_int_equal(n, (size_t)bits / 8);
	free(ek);
	free(b64d(json_string_value(json_object_get(jwe, "iv")), &n));
	assert_int_equal(n, 12);
	free(b64d(json_string_value(json_object_get(jwe, "tag")), &n));
	assert_int_equal(n, 16);
	assert_int_equal(coffer_jwe_decrypt_json(&out, jwe, k, NULL), 0);
	assert_int_equal(out.len, sizeof(msg));
	assert_memory_equal(out.ptr, msg, sizeof(msg));
	coffer_secret_free(&out);
	/* the public key cannot decrypt; another key gets the uniform failure */
	assert_int_equal(decrypt_rc(jwe, pub), COFFER_EINVAL);
	assert_int_equal(decrypt_rc(jwe, other), COFFER_EVERIFY);
	assert_string_equal(coffer_error_last(), "JWE decryption failed");
	for (size_t b = 0; b < 3; b++) {
		tamper_member(jwe, k, "encrypted_key", b * 13);
		tamper_member(jwe, k, "iv", b * 5);
		tamper_member(jwe, k, "ciphertext", b * 333);
		tamper_member(jwe, k, "tag", b * 7);
		tamper_member(jwe, k, "protected", b * 11);
	}
	json_decref(jwe);
	coffer_jwk_free(k);
	coffer_jwk_free(other);
	coffer_jwk_free(pub);
}

static void test_jwe_ecdh(void **state)
{
	(void)state;
	jwe_case("EC", "P-256", 0, "ECDH-ES+A256KW");
	jwe_case("EC", "P-384", 0, "ECDH-ES+A256KW");
	jwe_case("EC", "P-521", 0, NULL);
}

static void test_jwe_rsa(void **state)
{
	(void)state;
	jwe_case("RSA", NULL, 2048, "RSA-OAEP-256");
	jwe_case("RSA", NULL, 3072, "RSA-OAEP");
}

static void test_jwe_compact_general(void **state)
{
	coffer_jwk *ec = gen("EC", "P-256", 0), *rsa = gen("RSA", NULL, 2048),
	           *ed = gen("OKP", "Ed25519", 0);
	coffer_jwk *keys[2] = { ec, rsa };
	const char *algs[2] = { NULL, "RSA-OAEP" };
	coffer_secret out = COFFER_SECRET_INIT;
	char *c = NULL;
	json_t *g = NULL;
	(void)state;

	assert_int_equal(coffer_jwe_encrypt_compact(&c, ec, NULL, (const uint8_t *)"hi", 2), 0);
	assert_int_equal(coffer_jwe_decrypt(&out, c, strlen(c), ec, NULL), 0);
	assert_int_equal(out.len, 2);
	assert_memory_equal(out.ptr, "hi", 2);
	coffer_secret_free(&out);
	assert_int_equal(coffer_jwe_decrypt(&out, c, strlen(c), rsa, NULL), COFFER_EVERIFY);
	c[strlen(c) - 30] = '.';
	assert_int_equal(coffer_jwe_decrypt(&out, c, strlen(c), ec, NULL), COFFER_EINVAL);
	free(c);
	/* empty plaintext */
	assert_int_equal(coffer_jwe_encrypt_compact(&c, rsa, NULL, (const uint8_t *)"", 0), 0);
	assert_int_equal(coffer_jwe_decrypt(&out, c, strlen(c), rsa, NULL), 0);
	assert_int_equal(out.len, 0);
	coffer_secret_free(&out);
	free(c);

	assert_int_equal(coffer_jwe_encrypt_general(&g, keys, algs, 2, (const uint8_t *)"multi", 5),
	                 0);
	assert_int_equal(json_array_size(json_object_get(g, "recipients")), 2);
	assert_int_equal(coffer_jwe_decrypt_json(&out, g, ec, NULL), 0);
	assert_memory_equal(out.ptr, "multi", 5);
	coffer_secret_free(&out);
	assert_int_equal(coffer_jwe_decrypt_json(&out, g, rsa, NULL), 0);
	assert_memory_equal(out.ptr, "multi", 5);
	coffer_secret_free(&out);
	{
		coffer_jwk *other = gen("EC", "P-256", 0);
		assert_int_equal(decrypt_rc(g, other), COFFER_EVERIFY);
		coffer_jwk_free(other);
	}
	/* header members must be disjoint */
	json_object_set_new(
	        json_object_get(json_array_get(json_object_get(g, "recipients"), 0), "header"),
	        "enc", json_string("A256GCM"));
	assert_int_equal(decrypt_rc(g, ec), COFFER_EINVAL);
	json_decref(g);
	assert_int_equal(coffer_jwe_encrypt_general(&g, keys, algs, 0, (const uint8_t *)"", 0),
	                 COFFER_EINVAL);
	/* wrong alg for the key / unsupported / Ed25519 */
	assert_int_equal(coffer_jwe_encrypt(&g, ec, "RSA-OAEP-256", (const uint8_t *)"x", 1),
	                 COFFER_EINVAL);
	assert_int_equal(coffer_jwe_encrypt(&g, rsa, "ECDH-ES+A256KW", (const uint8_t *)"x", 1),
	                 COFFER_EINVAL);
	assert_int_equal(coffer_jwe_encrypt(&g, rsa, "dir", (const uint8_t *)"x", 1),
	                 COFFER_EUNSUPPORTED);
	assert_int_equal(coffer_jwe_encrypt(&g, rsa, "RSA1_5", (const uint8_t *)"x", 1),
	                 COFFER_EUNSUPPORTED);
	assert_int_equal(coffer_jwe_encrypt(&g, ed, NULL, (const uint8_t *)"x", 1),
	                 COFFER_EUNSUPPORTED);
	/* the key's own alg member restricts it */
	assert_int_equal(coffer_jwk_set_alg(rsa, "RSA-OAEP"), 0);
	assert_int_equal(coffer_jwe_encrypt(&g, rsa, "RSA-OAEP-256", (const uint8_t *)"x", 1),
	                 COFFER_EDENIED);
	assert_int_equal(coffer_jwe_encrypt(&g, rsa, NULL, (const uint8_t *)"x", 1), 0);
	assert_int_equal(decrypt_rc(g, rsa), 0);
	json_decref(g);
	coffer_jwk_free(ec);
	coffer_jwk_free(rsa);
	coffer_jwk_free(ed);
}

static void test_jwe_rsa1_5(void **state)
{
	coffer_jwk *rsa = gen("RSA", NULL, 2048);
	coffer_jwe_encrypt_opts eo = COFFER_JWE_ENCRYPT_OPTS_INIT;
	coffer_jwe_decrypt_opts dopt = COFFER_JWE_DECRYPT_OPTS_INIT;
	coffer_secret out = COFFER_SECRET_INIT;
	json_t *j = NULL;
	char *c = NULL;
	(void)state;

	assert_int_equal(coffer_jwe_encrypt_with(&j, rsa, "RSA1_5", &eo, (const uint8_t *)"x", 1),
	                 COFFER_EUNSUPPORTED);
	eo.allow_rsa1_5 = true;
	assert_int_equal(coffer_jwe_encrypt_with(&j, rsa, "RSA1_5", &eo, (const uint8_t *)"x", 1),
	                 0);
	assert_int_equal(coffer_jwe_decrypt_json(&out, j, rsa, NULL), COFFER_EUNSUPPORTED);
	assert_int_equal(coffer_jwe_decrypt_json(&out, j, rsa, &dopt), COFFER_EUNSUPPORTED);
	dopt.allow_rsa1_5 = true;
	assert_int_equal(coffer_jwe_decrypt_json(&out, j, rsa, &dopt), 0);
	assert_memory_equal(out.ptr, "x", 1);
	coffer_secret_free(&out);
	{
		json_t *t = json_deep_copy(j);
		size_t n;
		uint8_t *p = b64d(json_string_value(json_object_get(t, "encrypted_key")), &n);
		char *s;
		p[5] ^= 0x80;
		s = b64e(p, n);
		json_object_set_new(t, "encrypted_key", json_string(s));
		assert_int_equal(coffer_jwe_decrypt_json(&out, t, rsa, &dopt), COFFER_EVERIFY);
		assert_string_equal(coffer_error_last(), "JWE decryption failed");
		free(p);
		free(s);
		json_decref(t);
	}
	json_decref(j);
	assert_int_equal(
	        coffer_jwe_encrypt_compact_with(&c, rsa, "RSA1_5", &eo, (const uint8_t *)"y", 1),
	        0);
	assert_int_equal(coffer_jwe_decrypt(&out, c, strlen(c), rsa, &dopt), 0);
	coffer_secret_free(&out);
	free(c);
	dopt.version = 99;
	assert_int_equal(coffer_jwe_decrypt(&out, "{}", 2, rsa, &dopt), COFFER_EINVAL);
	coffer_jwk_free(rsa);
}

/* `rc` is the result of a call made with test_rand_fail_after armed: it must
 * be the random source's failure at the draw named `what`, reported and
 * with OpenSSL's error queue left clean. Disarms the source first, so a
 * failed assertion cannot leave the later tests without randomness. */
static void expect_draw_failed(int rc, const char *what)
{
	int left = test_rand_fail_after;

	test_rand_fail_after = -1;
	/* the passes were all spent: the failing draw is the one aimed at */
	assert_int_equal(left, 0);
	assert_int_equal(rc, COFFER_ERROR);
	assert_non_null(strstr(coffer_error_last(), what));
	assert_int_equal(ERR_peek_error(), 0);
}

/* A RAND_bytes draw failed. */
static void expect_no_randomness(int rc)
{
	expect_draw_failed(rc, "RAND_bytes");
}

/* An ECDH-ES encryption armed at 1: the CEK and IV were drawn, the
 * ephemeral key's scalar was not (ec.c, jose_ecdh_es). */
static void expect_no_ephemeral_key(int rc)
{
	expect_draw_failed(rc, "ephemeral EC key");
}

/* jwe.c, encrypt_one: the CEK and IV (one draw) or the ephemeral EC key
 * cannot be drawn. Every entry point of the flattened and compact forms
 * fails with nothing allocated (valgrind) and no output, and works again
 * with the source. */
static void test_jwe_encrypt_no_randomness(void **state)
{
	coffer_jwk *ec = gen("EC", "P-256", 0);
	coffer_jwe_encrypt_opts eo = COFFER_JWE_ENCRYPT_OPTS_INIT;
	coffer_secret out = COFFER_SECRET_INIT;
	json_t *j = NULL;
	char *c = NULL;
	(void)state;

	/* pass 0: the CEK and IV's draw fails; pass 1: they are drawn, the
	 * ephemeral key's scalar is not */
	for (int pass = 0; pass < 2; pass++) {
		void (*expect)(int) = pass == 0 ? expect_no_randomness : expect_no_ephemeral_key;
		test_rand_fail_after = pass;
		expect(coffer_jwe_encrypt(&j, ec, NULL, (const uint8_t *)"x", 1));
		assert_null(j);
		test_rand_fail_after = pass;
		expect(coffer_jwe_encrypt_with(&j, ec, NULL, &eo, (const uint8_t *)"x", 1));
		assert_null(j);
		test_rand_fail_after = pass;
		expect(coffer_jwe_encrypt_compact(&c, ec, NULL, (const uint8_t *)"x", 1));
		assert_null(c);
		test_rand_fail_after = pass;
		expect(coffer_jwe_encrypt_compact_with(&c, ec, NULL, &eo, (const uint8_t *)"x", 1));
		assert_null(c);
	}
	assert_int_equal(coffer_jwe_encrypt(&j, ec, NULL, (const uint8_t *)"x", 1), 0);
	assert_int_equal(coffer_jwe_decrypt_json(&out, j, ec, NULL), 0);
	assert_int_equal(out.len, 1);
	assert_memory_equal(out.ptr, "x", 1);
	coffer_secret_free(&out);
	json_decref(j);
	assert_int_equal(coffer_jwe_encrypt_compact(&c, ec, NULL, (const uint8_t *)"y", 1), 0);
	assert_int_equal(coffer_jwe_decrypt(&out, c, strlen(c), ec, NULL), 0);
	assert_memory_equal(out.ptr, "y", 1);
	coffer_secret_free(&out);
	free(c);
	coffer_jwk_free(ec);
}

/* jwe.c, coffer_jwe_encrypt_general: as above, with the output object and
 * the recipients array already allocated when the draw fails. */
static void test_jwe_encrypt_general_no_randomness(void **state)
{
	coffer_jwk *ec = gen("EC", "P-256", 0), *rsa = gen("RSA", NULL, 2048);
	coffer_jwk *keys[2] = { ec, rsa };
	coffer_secret out = COFFER_SECRET_INIT;
	json_t *g = NULL;
	(void)state;

	/* the CEK and IV's draw, then the EC recipient's ephemeral key */
	for (int pass = 0; pass < 2; pass++) {
		test_rand_fail_after = pass;
		(pass == 0 ? expect_no_randomness : expect_no_ephemeral_key)(
		        coffer_jwe_encrypt_general(&g, keys, NULL, 2, (const uint8_t *)"multi", 5));
		assert_null(g);
	}
	assert_int_equal(coffer_jwe_encrypt_general(&g, keys, NULL, 2, (const uint8_t *)"multi", 5),
	                 0);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(coffer_jwe_decrypt_json(&out, g, keys[i], NULL), 0);
		assert_int_equal(out.len, 5);
		assert_memory_equal(out.ptr, "multi", 5);
		coffer_secret_free(&out);
	}
	json_decref(g);
	coffer_jwk_free(ec);
	coffer_jwk_free(rsa);
}

/* jwe.c, unwrap_cek: RSA1_5 decryption draws its stand-in CEK before it
 * looks at the padding. Without it the decryption fails, the same whether
 * the padding is good or bad (no oracle), through the JSON, JSON-text and
 * compact entry points, with no output and the CEK freed (valgrind). */
static void test_jwe_rsa1_5_no_randomness(void **state)
{
	coffer_jwk *rsa = gen("RSA", NULL, 2048);
	coffer_jwe_encrypt_opts eo = COFFER_JWE_ENCRYPT_OPTS_INIT;
	coffer_jwe_decrypt_opts dopt = COFFER_JWE_DECRYPT_OPTS_INIT;
	coffer_secret out = COFFER_SECRET_INIT;
	json_t *j = NULL, *bad;
	char *c = NULL, *text, *ek;
	uint8_t *p;
	size_t n;
	(void)state;

	eo.allow_rsa1_5 = true;
	dopt.allow_rsa1_5 = true;
	assert_int_equal(coffer_jwe_encrypt_with(&j, rsa, "RSA1_5", &eo, (const uint8_t *)"x", 1),
	                 0);
	assert_int_equal(
	        coffer_jwe_encrypt_compact_with(&c, rsa, "RSA1_5", &eo, (const uint8_t *)"y", 1),
	        0);
	text = json_dumps(j, JSON_COMPACT);
	assert_non_null(text);
	bad = json_deep_copy(j);
	p = b64d(json_string_value(json_object_get(bad, "encrypted_key")), &n);
	p[5] ^= 0x80;
	ek = b64e(p, n);
	json_object_set_new(bad, "encrypted_key", json_string(ek));

	test_rand_fail_after = 0;
	expect_no_randomness(coffer_jwe_decrypt_json(&out, j, rsa, &dopt));
	assert_null(out.ptr);
	assert_int_equal(out.len, 0);
	test_rand_fail_after = 0;
	expect_no_randomness(coffer_jwe_decrypt_json(&out, bad, rsa, &dopt));
	assert_null(out.ptr);
	test_rand_fail_after = 0;
	expect_no_randomness(coffer_jwe_decrypt(&out, text, strlen(text), rsa, &dopt));
	assert_null(out.ptr);
	test_rand_fail_after = 0;
	expect_no_randomness(coffer_jwe_decrypt(&out, c, strlen(c), rsa, &dopt));
	assert_null(out.ptr);
	assert_int_equal(out.len, 0);

	assert_int_equal(coffer_jwe_decrypt_json(&out, j, rsa, &dopt), 0);
	assert_memory_equal(out.ptr, "x", 1);
	coffer_secret_free(&out);
	assert_int_equal(coffer_jwe_decrypt_json(&out, bad, rsa, &dopt), COFFER_EVERIFY);
	assert_int_equal(coffer_jwe_decrypt(&out, text, strlen(text), rsa, &dopt), 0);
	assert_memory_equal(out.ptr, "x", 1);
	coffer_secret_free(&out);
	assert_int_equal(coffer_jwe_decrypt(&out, c, strlen(c), rsa, &dopt), 0);
	assert_memory_equal(out.ptr, "y", 1);
	coffer_secret_free(&out);
	free(p);
	free(ek);
	free(text);
	free(c);
	json_decref(bad);
	json_decref(j);
	coffer_jwk_free(rsa);
}

static int dec_text_rc(const char *text, const coffer_jwk *k)
{
	coffer_secret out = COFFER_SECRET_INIT;
	int rc = coffer_jwe_decrypt(&out, text, strlen(text), k, NULL);
	coffer_secret_free(&out);
	return rc;
}

/* The ephemeral key of a JWE must be on the curve (invalid-curve attacks). */
static void test_jwe_epk_off_curve(void **state)
{
	static const char *const crvs[] = { "P-256", "P-384", "P-521" };
	(void)state;
	for (size_t c = 0; c < 3; c++) {
		coffer_jwk *k = gen("EC", crvs[c], 0);
		json_t *j = NULL, *h;
		size_t n, yl;
		uint8_t *p, *y;
		char *s, *ys;
		assert_int_equal(coffer_jwe_encrypt(&j, k, NULL, (const uint8_t *)"abc", 3), 0);
		p = b64d(json_string_value(json_object_get(j, "protected")), &n);
		h = json_loadb((const char *)p, n, 0, NULL);
		y = b64d(json_string_value(json_object_get(json_object_get(h, "epk"), "y")), &yl);
		for (size_t bit = 0; bit < 3; bit++) {
			json_t *t = json_deep_copy(j), *h2 = json_deep_copy(h);
			y[yl - 1 - bit * 5] ^= (uint8_t)(1u << bit);
			ys = b64e(y, yl);
			json_object_set_new(json_object_get(h2, "epk"), "y", json_string(ys));
			s = json_dumps(h2, JSON_COMPACT);
			free(ys);
			ys = b64e((const uint8_t *)s, strlen(s));
			json_object_set_new(t, "protected", json_string(ys));
			assert_int_equal(decrypt_rc(t, k), COFFER_EINVAL);
			free(s);
			free(ys);
			json_decref(t);
			json_decref(h2);
			y[yl - 1 - bit * 5] ^= (uint8_t)(1u << bit);
		}
		free(y);
		free(p);
		json_decref(h);
		json_decref(j);
		coffer_jwk_free(k);
	}
}

static void test_jwe_malformed(void **state)
{
	coffer_jwk *ec = gen("EC", "P-256", 0);
	json_t *j = NULL, *t;
	char *s;
	(void)state;

	assert_int_equal(dec_text_rc("", ec), COFFER_EINVAL);
	assert_int_equal(dec_text_rc("   \n", ec), COFFER_EINVAL);
	assert_int_equal(dec_text_rc("a.b.c.d", ec), COFFER_EINVAL);
	assert_int_equal(dec_text_rc("a.b.c.d.e.f", ec), COFFER_EINVAL);
	assert_int_equal(dec_text_rc("....", ec), COFFER_EINVAL);
	assert_int_equal(dec_text_rc("{", ec), COFFER_EINVAL);
	assert_int_equal(dec_text_rc("[1]", ec), COFFER_EINVAL);
	assert_int_equal(dec_text_rc("{}", ec), COFFER_EINVAL);
	assert_int_equal(coffer_jwe_encrypt(&j, ec, NULL, (const uint8_t *)"abc", 3), 0);
	s = json_dumps(j, JSON_COMPACT);
	assert_int_equal(dec_text_rc(s, ec), 0);
	free(s);
	/* each required member removed, or of the wrong type */
	{
		static const char *const m[] = { "protected", "encrypted_key", "iv", "ciphertext",
			                         "tag" };
		for (size_t i = 0; i < 5; i++) {
			t = json_deep_copy(j);
			json_object_del(t, m[i]);
			assert_int_not_equal(decrypt_rc(t, ec), 0);
			json_object_set_new(t, m[i], json_integer(1));
			assert_int_equal(decrypt_rc(t, ec), COFFER_EINVAL);
			json_decref(t);
		}
	}
	/* bad base64 */
	t = json_deep_copy(j);
	json_object_set_new(t, "iv", json_string("@@@@"));
	assert_int_equal(decrypt_rc(t, ec), COFFER_EINVAL);
	json_object_set_new(t, "iv", json_string("AAAA"));
	assert_int_equal(decrypt_rc(t, ec), COFFER_EINVAL); /* 3-byte iv */
	json_decref(t);
	/* duplicate JSON members */
	assert_int_equal(dec_text_rc("{\"iv\":\"AAAA\",\"iv\":\"AAAA\"}", ec), COFFER_EINVAL);
	/* headers: not JSON, wrong enc, zip, crit, unknown alg, bad epk */
	{
		static const char *const hdrs[] = {
			"not json",
			"[1]",
			"{\"alg\":\"ECDH-ES+A256KW\"}",
			"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A128GCM\"}",
			"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"zip\":\"DEF\"}",
			"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"crit\":[\"x\"],\"x\":1}",
			"{\"alg\":\"dir\",\"enc\":\"A256GCM\"}",
			"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\"}",
			"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":\"x\"}",
			"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"kty\":\"RSA\"}"
			"}",
			"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"kty\":\"EC\","
			"\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}}",
			"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"kty\":\"EC\","
			"\"crv\":\"P-256\","
			"\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"y\":"
			"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}}",
			"{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"alg\":\"RSA-OAEP\"}",
		};
		for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
			char *h = b64e((const uint8_t *)hdrs[i], strlen(hdrs[i]));
			int rc;
			t = json_deep_copy(j);
			json_object_set_new(t, "protected", json_string(h));
			rc = decrypt_rc(t, ec);
			if (rc != COFFER_EINVAL && rc != COFFER_EUNSUPPORTED)
				fail_msg("header %s: rc %d", hdrs[i], rc);
			json_decref(t);
			free(h);
		}
	}
	/* an aad member changes the AAD (so the tag fails) and must be base64url */
	t = json_deep_copy(j);
	json_object_set_new(t, "aad", json_string("YWFk"));
	assert_int_equal(decrypt_rc(t, ec), COFFER_EVERIFY);
	json_object_set_new(t, "aad", json_string("a+b/"));
	assert_int_equal(decrypt_rc(t, ec), COFFER_EINVAL);
	json_object_set_new(t, "aad", json_integer(3));
	assert_int_equal(decrypt_rc(t, ec), COFFER_EINVAL);
	json_decref(t);
	/* recipients together with encrypted_key; empty recipients */
	t = json_deep_copy(j);
	json_object_set_new(t, "recipients", json_array());
	assert_int_equal(decrypt_rc(t, ec), COFFER_EINVAL);
	json_decref(t);
	json_decref(j);
	coffer_jwk_free(ec);
}

/* A malformed private JWK must not reach an error message (jansson quotes
 * the token near the error). */
static void test_jwk_parse_error_hides_input(void **state)
{
	static const char bad[] = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"d\" \"S3CRETVALUE\"}";
	coffer_jwk *k = NULL;
	(void)state;
	assert_int_equal(coffer_jwk_parse(&k, bad, sizeof(bad) - 1), COFFER_EINVAL);
	assert_null(k);
	assert_null(strstr(coffer_error_last(), "S3CRET"));
}

/* ---- RFC 3394 key wrap (jwe_crypto.c, on the AES block cipher) ---- */

static void hex_in(uint8_t *out, const char *hex)
{
	for (size_t i = 0; hex[2 * i]; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char ch = hex[2 * i + (size_t)k];
			v = v * 16 + (unsigned)(ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10);
		}
		out[i] = (uint8_t)v;
	}
}

/* OpenSSL's own AES-*-WRAP, as the reference. */
static size_t ossl_kw(uint8_t *out, const uint8_t *kek, size_t keklen, const uint8_t *in,
                      size_t inlen, int wrap)
{
	static const char *const names[3] = { "AES-128-WRAP", "AES-192-WRAP", "AES-256-WRAP" };
	EVP_CIPHER *ci = EVP_CIPHER_fetch(NULL, names[keklen / 8 - 2], NULL);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n1 = 0, n2 = 0;

	assert_non_null(ci);
	assert_non_null(c);
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	assert_int_equal(EVP_CipherInit_ex(c, ci, NULL, kek, NULL, wrap), 1);
	assert_int_equal(EVP_CipherUpdate(c, out, &n1, in, (int)inlen), 1);
	assert_int_equal(EVP_CipherFinal_ex(c, out + n1, &n2), 1);
	EVP_CIPHER_CTX_free(c);
	EVP_CIPHER_free(ci);
	return (size_t)(n1 + n2);
}

static void test_aes_kw(void **state)
{
	/* RFC 3394 sections 4.1 and 4.6 */
	static const struct {
		const char *kek, *data, *wrapped;
	} v[] = {
		{ "000102030405060708090A0B0C0D0E0F", "00112233445566778899AABBCCDDEEFF",
		  "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5" },
		{ "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
		  "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
		  "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD2"
		  "1" },
	};
	uint8_t kek[32], data[1024], w[1032], ref[1032], back[1032], zero[1032] = { 0 };
	size_t n, m;
	(void)state;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t kl = strlen(v[i].kek) / 2, dl = strlen(v[i].data) / 2;
		hex_in(kek, v[i].kek);
		hex_in(data, v[i].data);
		hex_in(ref, v[i].wrapped);
		assert_int_equal(jose_aes_kw(w, &n, kek, kl, data, dl, true), 0);
		assert_int_equal(n, dl + 8);
		assert_memory_equal(w, ref, n);
		assert_int_equal(jose_aes_kw(back, &m, kek, kl, w, n, false), 0);
		assert_int_equal(m, dl);
		assert_memory_equal(back, data, dl);
	}
	/* the same bytes as OpenSSL's wrap ciphers, every KEK size, lengths 16..1016 */
	for (size_t kl = 16; kl <= 32; kl += 8)
		for (size_t dl = 16; dl <= 1016; dl += dl < 64 ? 8 : 120) {
			assert_int_equal(RAND_bytes(kek, (int)kl), 1);
			assert_int_equal(RAND_bytes(data, (int)dl), 1);
			assert_int_equal(jose_aes_kw(w, &n, kek, kl, data, dl, true), 0);
			assert_int_equal(ossl_kw(ref, kek, kl, data, dl, 1), n);
			assert_memory_equal(w, ref, n);
			assert_int_equal(jose_aes_kw(back, &m, kek, kl, ref, n, false), 0);
			assert_int_equal(m, dl);
			assert_memory_equal(back, data, dl);
		}
	/* integrity: any changed bit or the wrong KEK fails, and leaves no output */
	assert_int_equal(RAND_bytes(kek, 32), 1);
	assert_int_equal(RAND_bytes(data, 32), 1);
	assert_int_equal(jose_aes_kw(w, &n, kek, 32, data, 32, true), 0);
	for (size_t bit = 0; bit < 8 * n; bit += 5) {
		w[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		memset(back, 0x55, sizeof(back));
		assert_int_equal(jose_aes_kw(back, &m, kek, 32, w, n, false), COFFER_EVERIFY);
		assert_memory_equal(back, zero, 32);
		w[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	kek[0] ^= 1;
	assert_int_equal(jose_aes_kw(back, &m, kek, 32, w, n, false), COFFER_EVERIFY);
	kek[0] ^= 1;
	assert_int_equal(jose_aes_kw(back, &m, kek, 32, w, n, false), 0);
	/* lengths and KEK sizes outside the RFC */
	assert_int_equal(jose_aes_kw(w, &n, kek, 20, data, 32, true), COFFER_EINVAL);
	assert_int_equal(jose_aes_kw(w, &n, kek, 32, data, 8, true), COFFER_EINVAL);
	assert_int_equal(jose_aes_kw(w, &n, kek, 32, data, 30, true), COFFER_EINVAL);
	assert_int_equal(jose_aes_kw(w, &n, kek, 32, data, 1032, true), COFFER_EINVAL);
	assert_int_equal(jose_aes_kw(back, &m, kek, 32, w, 16, false), COFFER_EINVAL);
}

/* ---- EC public keys: what the import refuses (src/lib/jose/ec.c) ---- */

static const char *const ec_crvs[3] = { "P-256", "P-384", "P-521" };
static const size_t ec_lens[3] = { 32, 48, 66 };

static int ec_pub_rc(const char *crv, const uint8_t *x, const uint8_t *y, size_t cl)
{
	char *xs = b64e(x, cl), *ys = b64e(y, cl), buf[512];
	snprintf(buf, sizeof(buf), "{\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}", crv,
	         xs, ys);
	free(xs);
	free(ys);
	return parse_rc(buf);
}

/* A point of the curve with a small x (x^3 + ax + b a square mod p), so that
 * x + p, the same point with its x not reduced, still fits in `cl` bytes;
 * also p itself. */
static void small_x_point(uint8_t *x, uint8_t *y, uint8_t *x_plus_p, uint8_t *y_plus_p,
                          bool *y_plus_p_fits, EVP_PKEY *pk, size_t cl)
{
	BIGNUM *p = NULL, *a = NULL, *b = NULL, *bx = BN_new(), *by = BN_new(), *t = BN_new(),
	       *rhs = BN_new();
	BN_CTX *ctx = BN_CTX_new();
	unsigned long i;

	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_P, &p), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_A, &a), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_B, &b), 1);
	for (i = 1; i < 1000; i++) {
		assert_true(BN_set_word(bx, i));
		assert_true(BN_mod_sqr(t, bx, p, ctx) && BN_mod_mul(t, t, bx, p, ctx) &&
		            BN_mod_mul(rhs, a, bx, p, ctx) && BN_mod_add(rhs, rhs, t, p, ctx) &&
		            BN_mod_add(rhs, rhs, b, p, ctx));
		if (BN_mod_sqrt(by, rhs, p, ctx) != NULL)
			break;
	}
	ERR_clear_error();
	assert_true(i < 1000);
	assert_int_equal(BN_bn2binpad(bx, x, (int)cl), (int)cl);
	assert_int_equal(BN_bn2binpad(by, y, (int)cl), (int)cl);
	assert_true(BN_add(t, bx, p));
	assert_int_equal(BN_bn2binpad(t, x_plus_p, (int)cl), (int)cl);
	assert_true(BN_add(t, by, p));
	*y_plus_p_fits = BN_num_bytes(t) <= (int)cl;
	if (*y_plus_p_fits)
		assert_int_equal(BN_bn2binpad(t, y_plus_p, (int)cl), (int)cl);
	BN_free(p);
	BN_free(a);
	BN_free(b);
	BN_free(bx);
	BN_free(by);
	BN_free(t);
	BN_free(rhs);
	BN_CTX_free(ctx);
}

/* Replace the epk coordinates of a JWE's protected header. */
static json_t *with_epk(const json_t *jwe, const uint8_t *x, const uint8_t *y, size_t cl)
{
	json_t *t = json_deep_copy(jwe), *h;
	size_t n;
	uint8_t *p = b64d(json_string_value(json_object_get(jwe, "protected")), &n);
	char *xs = b64e(x, cl), *ys = b64e(y, cl), *s, *enc;

	h = json_loadb((const char *)p, n, 0, NULL);
	assert_non_null(h);
	json_object_set_new(json_object_get(h, "epk"), "x", json_string(xs));
	json_object_set_new(json_object_get(h, "epk"), "y", json_string(ys));
	s = json_dumps(h, JSON_COMPACT);
	enc = b64e((const uint8_t *)s, strlen(s));
	json_object_set_new(t, "protected", json_string(enc));
	free(enc);
	free(s);
	free(xs);
	free(ys);
	free(p);
	json_decref(h);
	return t;
}

/* Imported EC public keys are still validated although the import no longer
 * calls EVP_PKEY_public_check: off the curve, a coordinate >= p (even when
 * it reduces to a point of the curve), the all-zero "point at infinity" and
 * a wrong length are refused, for JWKs and for the epk of a JWE alike. */
static void test_ec_public_validation(void **state)
{
	(void)state;
	for (size_t c = 0; c < 3; c++) {
		const size_t cl = ec_lens[c];
		coffer_jwk *k = gen("EC", ec_crvs[c], 0), *imp = NULL, *pub = NULL;
		uint8_t xy[2 * 66], x[66], y[66], xp[66], yp[66], zero[66] = { 0 }, ff[66];
		char *pem1 = NULL, *pem2 = NULL;
		json_t *j = NULL, *jwe = NULL, *t;
		coffer_secret out = COFFER_SECRET_INIT;
		bool yp_fits = false;
		size_t n;
		uint8_t *bx, *by;

		memset(ff, 0xff, sizeof(ff));
		assert_int_equal(coffer_jwk_to_json(&j, k, false), 0);
		bx = b64d(json_string_value(json_object_get(j, "x")), &n);
		assert_int_equal(n, cl);
		by = b64d(json_string_value(json_object_get(j, "y")), &n);
		memcpy(xy, bx, cl);
		memcpy(xy + cl, by, cl);
		free(bx);
		free(by);
		/* the real point imports, and is the same key (named curve, PEM) */
		assert_int_equal(coffer_jwk_from_json(&imp, j), 0);
		assert_false(coffer_jwk_has_private(imp));
		assert_string_equal(coffer_jwk_crv(imp), ec_crvs[c]);
		assert_int_equal(coffer_jwk_public(&pub, k), 0);
		assert_int_equal(coffer_jwk_to_pem(&pem1, pub, false), 0);
		assert_int_equal(coffer_jwk_to_pem(&pem2, imp, false), 0);
		assert_string_equal(pem1, pem2);
		/* and works: encrypt to the imported key, decrypt with the private */
		assert_int_equal(coffer_jwe_encrypt(&jwe, imp, NULL, (const uint8_t *)"secret", 6),
		                 0);
		assert_int_equal(coffer_jwe_decrypt_json(&out, jwe, k, NULL), 0);
		assert_int_equal(out.len, 6);
		coffer_secret_free(&out);
		assert_int_equal(ec_pub_rc(ec_crvs[c], xy, xy + cl, cl), 0);
		/* off the curve: one bit of y */
		xy[2 * cl - 1] ^= 1;
		assert_int_equal(ec_pub_rc(ec_crvs[c], xy, xy + cl, cl), COFFER_EINVAL);
		assert_non_null(strstr(coffer_error_last(), "not on"));
		xy[2 * cl - 1] ^= 1;
		/* the point at infinity as encoders write it, and coordinates >= p */
		assert_int_equal(ec_pub_rc(ec_crvs[c], zero, zero, cl), COFFER_EINVAL);
		assert_int_equal(ec_pub_rc(ec_crvs[c], ff, ff, cl), COFFER_EINVAL);
		assert_int_equal(ec_pub_rc(ec_crvs[c], xy, ff, cl), COFFER_EINVAL);
		small_x_point(x, y, xp, yp, &yp_fits, coffer_jwk_pkey(k), cl);
		assert_int_equal(ec_pub_rc(ec_crvs[c], x, y, cl), 0); /* on the curve */
		assert_int_equal(ec_pub_rc(ec_crvs[c], xp, y, cl), COFFER_EINVAL);
		if (yp_fits) /* P-521: 66 bytes hold y + p */
			assert_int_equal(ec_pub_rc(ec_crvs[c], x, yp, cl), COFFER_EINVAL);
		assert_true(yp_fits == (c == 2));
		/* wrong length: a coordinate of the next curve's size */
		if (c < 2)
			assert_int_equal(ec_pub_rc(ec_crvs[c], ff, ff, ec_lens[c + 1]),
			                 COFFER_EINVAL);
		/* the same refusals for the ephemeral key of a JWE */
		t = with_epk(jwe, x, y, cl); /* a valid point: the wrong key, uniform failure */
		assert_int_equal(decrypt_rc(t, k), COFFER_EVERIFY);
		json_decref(t);
		t = with_epk(jwe, zero, zero, cl);
		assert_int_equal(decrypt_rc(t, k), COFFER_EINVAL);
		json_decref(t);
		t = with_epk(jwe, xp, y, cl);
		assert_int_equal(decrypt_rc(t, k), COFFER_EINVAL);
		json_decref(t);
		t = with_epk(jwe, ff, ff, cl);
		assert_int_equal(decrypt_rc(t, k), COFFER_EINVAL);
		json_decref(t);
		free(pem1);
		free(pem2);
		json_decref(jwe);
		json_decref(j);
		coffer_jwk_free(imp);
		coffer_jwk_free(pub);
		coffer_jwk_free(k);
	}
}

/* ---- the broker's calls from several threads at once ---- */

#define THREADS    4
#define THREAD_OPS 25

typedef struct thread_case {
	const char *crv, *sig_alg;
	json_t *tee_pub;        /* the guest's key as JSON */
	coffer_jwk *tee;        /* its private key */
	coffer_jwk *signer;     /* shared by the threads of this curve */
	coffer_jwk *signer_pub; /* to verify */
	int seed, failures;
} thread_case;

static void *thread_main(void *arg)
{
	thread_case *tc = arg;

	for (int i = 0; i < THREAD_OPS; i++) {
		coffer_jwk *k = NULL, *keys[1] = { tc->signer_pub };
		coffer_secret out = COFFER_SECRET_INIT;
		json_t *jwe = NULL, *claims, *got = NULL;
		uint8_t secret[64];
		char *tok = NULL;
		int ok;

		for (size_t b = 0; b < sizeof(secret); b++)
			secret[b] = (uint8_t)(tc->seed * 31 + i * 7 + (int)b);
		ok = coffer_jwk_from_json(&k, tc->tee_pub) == 0 &&
		     coffer_jwe_encrypt(&jwe, k, "ECDH-ES+A256KW", secret, sizeof(secret)) == 0 &&
		     coffer_jwe_decrypt_json(&out, jwe, tc->tee, NULL) == 0 &&
		     out.len == sizeof(secret) &&
		     CRYPTO_memcmp(out.ptr, secret, sizeof(secret)) == 0;
		claims = json_pack("{s:I,s:i,s:i}", "exp", (json_int_t)4102444800LL, "i", i, "t",
		                   tc->seed);
		ok = ok && claims != NULL &&
		     coffer_jwt_sign(&tok, tc->signer, tc->sig_alg, NULL, claims) == 0 &&
		     coffer_jwt_verify(&got, NULL, tok, keys, 1, NULL) == 0 &&
		     json_integer_value(json_object_get(got, "i")) == i &&
		     json_integer_value(json_object_get(got, "t")) == tc->seed;
		if (!ok)
			tc->failures++;
		coffer_secret_free(&out);
		json_decref(jwe);
		json_decref(claims);
		json_decref(got);
		free(tok);
		coffer_jwk_free(k);
	}
	return NULL;
}

/* Per-thread key generation contexts, the shared curve parameters and the
 * signing-context pool of one key used by several threads: every result
 * checked; threads end and new ones start (their contexts are freed, which
 * ASan checks in the sanitizer build). */
static void test_threads(void **state)
{
	static const char *const algs[3] = { "ES256", "ES384", "ES512" };
	thread_case tc[THREADS];
	pthread_t th[THREADS];
	(void)state;

	for (int c = 0; c < 3; c++) {
		coffer_jwk *tee = gen("EC", ec_crvs[c], 0), *signer = gen("EC", ec_crvs[c], 0);
		coffer_jwk *signer_pub = NULL;
		json_t *tee_pub = NULL;

		assert_int_equal(coffer_jwk_to_json(&tee_pub, tee, false), 0);
		assert_int_equal(coffer_jwk_public(&signer_pub, signer), 0);
		for (int round = 0; round < 2; round++) {
			for (int t = 0; t < THREADS; t++) {
				tc[t] = (thread_case){ ec_crvs[c], algs[c],    tee_pub,        tee,
					               signer,     signer_pub, t + 10 * round, 0 };
				assert_int_equal(pthread_create(&th[t], NULL, thread_main, &tc[t]),
				                 0);
			}
			for (int t = 0; t < THREADS; t++) {
				assert_int_equal(pthread_join(th[t], NULL), 0);
				assert_int_equal(tc[t].failures, 0);
			}
		}
		json_decref(tee_pub);
		coffer_jwk_free(tee);
		coffer_jwk_free(signer);
		coffer_jwk_free(signer_pub);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jwk_parse_error_hides_input),
		cmocka_unit_test(test_thumbprint_rfc7638),
		cmocka_unit_test(test_jwk_roundtrip),
		cmocka_unit_test(test_jwk_generate_bad),
		cmocka_unit_test(test_jwk_bad_inputs),
		cmocka_unit_test(test_jwk_pem_rsa_small_refused),
		cmocka_unit_test(test_jwk_load_file),
		cmocka_unit_test(test_jwe_ecdh),
		cmocka_unit_test(test_jwe_rsa),
		cmocka_unit_test(test_jwe_compact_general),
		cmocka_unit_test(test_jwe_rsa1_5),
		cmocka_unit_test(test_jwe_encrypt_no_randomness),
		cmocka_unit_test(test_jwe_encrypt_general_no_randomness),
		cmocka_unit_test(test_jwe_rsa1_5_no_randomness),
		cmocka_unit_test(test_jwe_epk_off_curve),
		cmocka_unit_test(test_jwe_malformed),
		cmocka_unit_test(test_ec_public_validation),
		cmocka_unit_test(test_aes_kw),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
