/*
 * RFC 7520 (JOSE cookbook) and RFC 8037 examples from
 * $COFFER_CONFORMANCE/jose: decrypt/verify the given outputs for every
 * algorithm we support, reproduce the outputs where the example fixes the
 * randomness, and refuse the algorithms we do not support.
 */
#include "test_util.h"

#include "coffer/codec.h"
#include "coffer/jose.h"
#include "jose/jose_internal.h"

static char dir[4096];
static unsigned checks;

static json_t *load(const char *name)
{
	char path[4400];
	json_error_t e;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	j = json_load_file(path, 0, &e);
	if (j == NULL)
		fail_msg("%s: %s", path, e.text);
	return j;
}

/* "a.b.c" path into nested objects; arrays by index digits. */
static json_t *at(json_t *j, const char *path)
{
	char buf[256], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && j; tok = strtok_r(NULL, ".", &save)) {
		if (json_is_array(j))
			j = json_array_get(j, (size_t)strtoul(tok, NULL, 10));
		else
			j = json_object_get(j, tok);
	}
	if (j == NULL)
		fail_msg("missing %s", path);
	return j;
}

static const char *str(json_t *j, const char *path)
{
	const char *s = json_string_value(at(j, path));
	if (s == NULL)
		fail_msg("%s is not a string", path);
	return s;
}

static coffer_jwk *key(json_t *j, const char *path)
{
	coffer_jwk *k = NULL;
	if (coffer_jwk_from_json(&k, at(j, path)) != 0)
		fail_msg("key %s: %s", path, coffer_error_last());
	return k;
}

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

/* ---- JWK (RFC 7520 section 3) ---- */

static void test_jwk(void **state)
{
	static const char *const ec[] = { "crv", "kty", "x", "y" };
	static const char *const ecd[] = { "crv", "kty", "x", "y", "d" };
	static const char *const rsa[] = { "e", "kty", "n" };
	static const char *const rsad[] = { "e", "kty", "n", "d", "p", "q", "dp", "dq", "qi" };
	json_t *j, *out = NULL;
	coffer_jwk *k = NULL;
	(void)state;

	/* compare each exported member with the example's input member */
	struct {
		const char *file;
		const char *const *m;
		size_t n;
		bool priv;
	} cases[] = {
		{ "jwk/3_1.ec_public_key.json", ec, 4, false },
		{ "jwk/3_2.ec_private_key.json", ecd, 5, true },
		{ "jwk/3_3.rsa_public_key.json", rsa, 3, false },
		{ "jwk/3_4.rsa_private_key.json", rsad, 9, true },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		j = load(cases[c].file);
		k = key(j, "");
		assert_int_equal(coffer_jwk_has_private(k), cases[c].priv);
		assert_int_equal(coffer_jwk_to_json(&out, k, true), 0);
		for (size_t i = 0; i < cases[c].n; i++) {
			char p[64];
			snprintf(p, sizeof(p), "%s", cases[c].m[i]);
			assert_string_equal(str(out, cases[c].m[i]), str(j, p));
			checks++;
		}
		assert_string_equal(coffer_jwk_kid(k), str(j, "kid"));
		json_decref(out);
		coffer_jwk_free(k);
		json_decref(j);
	}
	/* symmetric keys are not supported */
	j = load("jwk/3_5.symmetric_key_mac_computation.json");
	assert_int_equal(coffer_jwk_from_json(&k, j), COFFER_EUNSUPPORTED);
	json_decref(j);
	j = load("jwk/3_6.symmetric_key_encryption.json");
	assert_int_equal(coffer_jwk_from_json(&k, j), COFFER_EUNSUPPORTED);
	json_decref(j);
	checks += 2;
}

/* ---- JWS (RFC 7520 section 4, RFC 8037 A.4) ---- */

static void verify_ok(const char *compact, coffer_jwk *k, const char *payload)
{
	coffer_jws *jws = NULL;
	coffer_jwk *keys[1] = { k };
	int rc = coffer_jws_verify(&jws, compact, strlen(compact), keys, 1);
	if (rc != 0)
		fail_msg("verify: %s", coffer_error_last());
	assert_int_equal(jws->payload_len, strlen(payload));
	assert_memory_equal(jws->payload, payload, jws->payload_len);
	coffer_jws_free(jws);
	checks++;
}

static void reproduce_sign(const char *file)
{
	json_t *j = load(file), *extra = NULL;
	coffer_jwk *k = key(j, "input.key");
	const char *payload = str(j, "input.payload");
	char *tok = NULL;

	if (json_object_get(at(j, "signing.protected"), "kid"))
		extra = json_pack("{s:s}", "kid", str(j, "signing.protected.kid"));
	if (coffer_jws_sign(&tok, k, str(j, "input.alg"), extra, (const uint8_t *)payload,
	                    strlen(payload)) != 0)
		fail_msg("sign: %s", coffer_error_last());
	assert_string_equal(tok, str(j, "output.compact"));
	checks++;
	verify_ok(str(j, "output.compact"), k, payload);
	free(tok);
	json_decref(extra);
	coffer_jwk_free(k);
	json_decref(j);
}

static void test_jws_reproducible(void **state)
{
	(void)state;
	reproduce_sign("jws/4_1.rsa_v15_signature.json"); /* RS256 */
	reproduce_sign("curve25519/jws.json");            /* EdDSA (RFC 8037 A.4) */
}

static void test_jws_verify(void **state)
{
	json_t *j;
	coffer_jwk *k, *pub = NULL;
	char *t;
	(void)state;

	j = load("jws/4_2.rsa-pss_signature.json"); /* PS384 */
	k = key(j, "input.key");
	verify_ok(str(j, "output.compact"), k, str(j, "input.payload"));
	assert_int_equal(coffer_jwk_public(&pub, k), 0);
	verify_ok(str(j, "output.compact"), pub, str(j, "input.payload"));
	coffer_jwk_free(pub);
	coffer_jwk_free(k);
	json_decref(j);

	j = load("jws/4_3.ecdsa_signature.json"); /* ES512 */
	k = key(j, "input.key");
	verify_ok(str(j, "output.compact"), k, str(j, "input.payload"));
	t = strdup(str(j, "output.compact"));
	t[strlen(t) - 5] ^= 0x01; /* a flipped signature bit */
	{
		coffer_jws *jws = NULL;
		coffer_jwk *keys[1] = { k };
		assert_int_not_equal(coffer_jws_verify(&jws, t, strlen(t), keys, 1), 0);
		checks++;
	}
	free(t);
	coffer_jwk_free(k);
	json_decref(j);

	/* 4.8: the RS256 signature of the multiple-signature example */
	j = load("jws/4_8.multiple_signatures.json");
	k = key(j, "input.key.0");
	{
		char buf[8192];
		snprintf(buf, sizeof(buf), "%s.%s.%s", str(j, "output.json.signatures.0.protected"),
		         str(j, "output.json.payload"),
		         str(j, "output.json.signatures.0.signature"));
		verify_ok(buf, k, str(j, "input.payload"));
	}
	coffer_jwk_free(k);
	json_decref(j);
}

static void test_jws_hmac_refused(void **state)
{
	static const char *const files[] = { "jws/4_4.hmac-sha2_integrity_protection.json",
		                             "jws/4_5.signature_with_detached_content.json" };
	json_t *rsa = load("jws/4_1.rsa_v15_signature.json");
	coffer_jwk *k = key(rsa, "input.key"), *keys[1] = { k }, *sym = NULL;
	(void)state;

	for (size_t i = 0; i < 2; i++) {
		json_t *j = load(files[i]);
		const char *c = str(j, "output.compact");
		coffer_jws *jws = NULL;
		assert_int_equal(coffer_jws_verify(&jws, c, strlen(c), keys, 1), COFFER_EVERIFY);
		assert_int_equal(coffer_jwk_from_json(&sym, at(j, "input.key")),
		                 COFFER_EUNSUPPORTED);
		checks += 2;
		json_decref(j);
	}
	coffer_jwk_free(k);
	json_decref(rsa);
}

/* ---- JWE (RFC 7520 section 5) ---- */

static void decrypt_ok(json_t *j, coffer_jwk *k, const char *member)
{
	coffer_secret out = COFFER_SECRET_INIT;
	const char *pt = str(j, "input.plaintext");
	json_t *v = at(j, member);
	int rc;

	if (json_is_string(v))
		rc = coffer_jwe_decrypt(&out, json_string_value(v), json_string_length(v), k, NULL);
	else
		rc = coffer_jwe_decrypt_json(&out, v, k, NULL);
	if (rc != 0)
		fail_msg("decrypt %s: %s", member, coffer_error_last());
	assert_int_equal(out.len, strlen(pt));
	assert_memory_equal(out.ptr, pt, out.len);
	coffer_secret_free(&out);
	checks++;
}

static void test_jwe_rsa_oaep(void **state)
{
	json_t *j = load("jwe/5_2.key_encryption_using_rsa-oaep_with_aes-gcm.json");
	json_t *other = load("jwe/5_1.key_encryption_using_rsa_v15_and_aes-hmac-sha2.json");
	coffer_jwk *k = key(j, "input.key"), *wrong = key(other, "input.key");
	const char *pt = str(j, "input.plaintext"),
	           *prot = str(j, "encrypting_content.protected_b64u");
	uint8_t *cek, *iv, *ct, tag[16];
	size_t ckl, ivl;
	char *s;
	coffer_secret out = COFFER_SECRET_INIT;
	(void)state;

	decrypt_ok(j, k, "output.compact");
	decrypt_ok(j, k, "output.json");
	decrypt_ok(j, k, "output.json_flat");
	assert_int_equal(coffer_jwe_decrypt_json(&out, at(j, "output.json_flat"), wrong, NULL),
	                 COFFER_EVERIFY);
	checks++;
	/* the content encryption is fixed by cek and iv: reproduce it */
	cek = b64d(str(j, "generated.cek"), &ckl);
	iv = b64d(str(j, "generated.iv"), &ivl);
	assert_int_equal(ckl, 32);
	assert_int_equal(ivl, 12);
	ct = malloc(strlen(pt));
	assert_int_equal(jose_a256gcm_seal(ct, tag, cek, iv, (const uint8_t *)prot, strlen(prot),
	                                   (const uint8_t *)pt, strlen(pt)),
	                 0);
	s = b64e(ct, strlen(pt));
	assert_string_equal(s, str(j, "encrypting_content.ciphertext"));
	free(s);
	s = b64e(tag, 16);
	assert_string_equal(s, str(j, "encrypting_content.tag"));
	free(s);
	checks += 2;
	free(cek);
	free(iv);
	free(ct);
	coffer_jwk_free(k);
	coffer_jwk_free(wrong);
	json_decref(j);
	json_decref(other);
}

/* ECDH-ES key agreement with the example's ephemeral private key: the
 * Concat KDF and AES key wrap must give the example's encrypted_key. */
static void reproduce_ecdh_kw(json_t *j, const char *keypath, const char *epkpath, const char *alg,
                              size_t kek_len, const char *ek_b64)
{
	coffer_jwk *k = key(j, keypath), *eph = key(j, epkpath);
	coffer_secret z = COFFER_SECRET_INIT;
	uint8_t kek[32], wrapped[64], unwrapped[64], *cek;
	size_t cekl, n = 0;
	char *s;

	assert_int_equal(jose_ecdh(&z, coffer_jwk_pkey(eph), coffer_jwk_pkey(k)), 0);
	assert_int_equal(jose_concat_kdf(kek, kek_len, z.ptr, z.len, alg, NULL, 0, NULL, 0), 0);
	cek = b64d(str(j, "generated.cek"), &cekl);
	assert_int_equal(jose_aes_kw(wrapped, &n, kek, kek_len, cek, cekl, true), 0);
	s = b64e(wrapped, n);
	assert_string_equal(s, ek_b64);
	free(s);
	/* and the recipient side: its private key with the public epk */
	coffer_secret_free(&z);
	assert_int_equal(jose_ecdh(&z, coffer_jwk_pkey(k), coffer_jwk_pkey(eph)), 0);
	assert_int_equal(jose_concat_kdf(kek, kek_len, z.ptr, z.len, alg, NULL, 0, NULL, 0), 0);
	assert_int_equal(jose_aes_kw(unwrapped, &n, kek, kek_len, wrapped, cekl + 8, false), 0);
	assert_int_equal(n, cekl);
	assert_memory_equal(unwrapped, cek, cekl);
	wrapped[3] ^= 1;
	assert_int_equal(jose_aes_kw(unwrapped, &n, kek, kek_len, wrapped, cekl + 8, false),
	                 COFFER_EVERIFY);
	checks += 3;
	free(cek);
	coffer_secret_free(&z);
	coffer_jwk_free(k);
	coffer_jwk_free(eph);
}

static void test_jwe_ecdh(void **state)
{
	json_t *j;
	(void)state;

	/* 5.4: ECDH-ES+A128KW (P-384): key agreement, KDF and wrap reproduced */
	j = load("jwe/"
	         "5_4.key_agreement_with_key_wrapping_using_ecdh-es_and_aes-keywrap_with_aes-gcm."
	         "json");
	reproduce_ecdh_kw(j, "input.key", "encrypting_key.epk", "ECDH-ES+A128KW", 16,
	                  str(j, "encrypting_key.encrypted_key"));
	json_decref(j);
	/* 5.13: the ECDH-ES+A256KW recipient (P-384), exactly our alg */
	j = load("jwe/5_13.encrypting_to_multiple_recipients.json");
	reproduce_ecdh_kw(j, "input.key.1", "encrypting_key.1.epk", "ECDH-ES+A256KW", 32,
	                  str(j, "encrypting_key.1.encrypted_key"));
	json_decref(j);
}

static void test_jwe_unsupported(void **state)
{
	static const char *const files[] = {
		"jwe/5_1.key_encryption_using_rsa_v15_and_aes-hmac-sha2.json",
		"jwe/5_3.key_wrap_using_pbes2-aes-keywrap_with-aes-cbc-hmac-sha2.json",
		"jwe/"
		"5_4.key_agreement_with_key_wrapping_using_ecdh-es_and_aes-keywrap_with_aes-gcm."
		"json",
		"jwe/5_5.key_agreement_using_ecdh-es_with_aes-cbc-hmac-sha2.json",
		"jwe/5_6.direct_encryption_using_aes-gcm.json",
		"jwe/5_7.key_wrap_using_aes-gcm_keywrap_with_aes-cbc-hmac-sha2.json",
		"jwe/5_8.key_wrap_using_aes-keywrap_with_aes-gcm.json",
		"jwe/5_9.compressed_content.json",
		"jwe/5_10.including_additional_authentication_data.json",
		"jwe/5_11.protecting_specific_header_fields.json",
		"jwe/5_12.protecting_content_only.json",
		"jwe/5_13.encrypting_to_multiple_recipients.json",
	};
	coffer_jwe_decrypt_opts o = COFFER_JWE_DECRYPT_OPTS_INIT;
	coffer_jwk *fallback = NULL;
	(void)state;

	o.allow_rsa1_5 = true;
	assert_int_equal(coffer_jwk_generate(&fallback, "EC", "P-384", 0), 0);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		json_t *j = load(files[i]), *in = json_object_get(at(j, "input"), "key");
		coffer_jwk *k = NULL;
		coffer_secret out = COFFER_SECRET_INIT;
		int rc;
		if (json_is_array(in))
			in = json_array_get(in, 0);
		if (in == NULL || coffer_jwk_from_json(&k, in) != 0)
			k = NULL;
		rc = coffer_jwe_decrypt_json(&out, at(j, "output.json"), k ? k : fallback, &o);
		if (rc != COFFER_EUNSUPPORTED)
			fail_msg("%s: rc %d (%s)", files[i], rc, coffer_error_last());
		checks++;
		coffer_jwk_free(k);
		json_decref(j);
	}
	coffer_jwk_free(fallback);
}

int main(void)
{
	const char *base = test_env_dir("COFFER_CONFORMANCE");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jwk),
		cmocka_unit_test(test_jws_reproducible),
		cmocka_unit_test(test_jws_verify),
		cmocka_unit_test(test_jws_hmac_refused),
		cmocka_unit_test(test_jwe_rsa_oaep),
		cmocka_unit_test(test_jwe_ecdh),
		cmocka_unit_test(test_jwe_unsupported),
	};
	int rc;

	if (base == NULL)
		test_skip_all("COFFER_CONFORMANCE not set or missing");
	snprintf(dir, sizeof(dir), "%s/jose", base);
	{
		struct stat st;
		if (stat(dir, &st) != 0)
			test_skip_all("no jose suite in COFFER_CONFORMANCE");
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	printf("jose_rfc7520: %u checks\n", checks);
	return rc;
}
