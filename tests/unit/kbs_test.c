/* Unit tests: KBS protocol helpers (binding digest, init-data digest,
 * resource paths, error bodies). Expected digests were computed
 * independently with Python (json.dumps(sort_keys=True, separators=(',',':'))
 * + hashlib), i.e. straight from PROTOCOL.md section 1. */
#include "test_util.h"

#include "coffer/codec.h"
#include "coffer/kbs.h"

static json_t *test_jwk(void)
{
	/* insertion order deliberately not sorted: JCS must sort it */
	return json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "alg",
	                 "ECDH-ES+A256KW", "x", "WbbF2Q", "y", "Ab-c_d");
}

static void assert_digest_hex(const uint8_t *d, size_t len, const char *want)
{
	char *hex = NULL;

	assert_int_equal(coffer_hex_encode(&hex, d, len), 0);
	assert_string_equal(hex, want);
	free(hex);
}

static void test_binding_vectors(void **state)
{
	uint8_t d[COFFER_KBS_DIGEST_MAX];
	size_t n = 0;
	json_t *jwk = test_jwk();
	(void)state;

	assert_int_equal(
	        coffer_kbs_binding_digest(d, &n, COFFER_KBS_SHA384, "q2wG+9b/A==", jwk, ""), 0);
	assert_int_equal(n, 48);
	assert_digest_hex(d, n,
	                  "0415c4a0fd459fb29d172a4efe09d737852d50042eddeb646cf78ad17a88a68f5752318"
	                  "6e24843d1798f03ee8917f7e6");
	/* additional device form: no additional-evidence member */
	assert_int_equal(
	        coffer_kbs_binding_digest(d, &n, COFFER_KBS_SHA384, "q2wG+9b/A==", jwk, NULL), 0);
	assert_digest_hex(d, n,
	                  "3a4e0300ea09de64a1f0634dd90c2e865f6ad1dcd09df06ddef72fbac97c6ec62a106db"
	                  "ddbabc60e8716799ed2b44507");
	assert_int_equal(coffer_kbs_binding_digest(d, &n, COFFER_KBS_SHA384, "q2wG+9b/A==", jwk,
	                                           "{\"nvidia\":{\"x\":1}}"),
	                 0);
	assert_digest_hex(d, n,
	                  "7becdb9a56f7555ab6b40d8023cf78ef6f30c5fe3bc52d91163f07a0415302374b89420"
	                  "e367d02c5caca6c7e4b3aa640");
	/* `se` binds with SHA-512 */
	assert_int_equal(coffer_kbs_binding_hash_for_tee("se"), COFFER_KBS_SHA512);
	assert_int_equal(coffer_kbs_binding_hash_for_tee("snp"), COFFER_KBS_SHA384);
	assert_int_equal(coffer_kbs_binding_digest(d, &n, coffer_kbs_binding_hash_for_tee("se"),
	                                           "q2wG+9b/A==", jwk, ""),
	                 0);
	assert_int_equal(n, 64);
	assert_digest_hex(d, n,
	                  "02a1327d64085259f7054a258e14ecbeae3fbbd6edc587003fc12edab62fca8a594de8a"
	                  "fbc112e0881889c31d9991c888bc310b8db2c5c3f240e71973d69cef2");
	/* a different key gives a different digest */
	json_object_set_new(jwk, "x", json_string("WbbF2R"));
	assert_int_equal(
	        coffer_kbs_binding_digest(d, &n, COFFER_KBS_SHA384, "q2wG+9b/A==", jwk, ""), 0);
	assert_false(d[0] == 0x04 && d[1] == 0x15 && d[2] == 0xc4);
	json_decref(jwk);
}

static void test_binding_bad_input(void **state)
{
	uint8_t d[COFFER_KBS_DIGEST_MAX];
	size_t n = 0;
	json_t *jwk = test_jwk(), *arr = json_array();
	(void)state;

	assert_int_equal(coffer_kbs_binding_digest(d, &n, COFFER_KBS_SHA384, NULL, jwk, ""),
	                 COFFER_EINVAL);
	assert_int_equal(coffer_kbs_binding_digest(d, &n, COFFER_KBS_SHA384, "n", NULL, ""),
	                 COFFER_EINVAL);
	assert_int_equal(coffer_kbs_binding_digest(d, &n, COFFER_KBS_SHA384, "n", arr, ""),
	                 COFFER_EINVAL);
	/* not UTF-8 */
	assert_int_equal(coffer_kbs_binding_digest(d, &n, COFFER_KBS_SHA384, "\xff", jwk, ""),
	                 COFFER_EINVAL);
	json_decref(arr);
	json_decref(jwk);
}

static void test_init_data(void **state)
{
	static const char toml[] = "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data]\n"
	                           "\"aa.toml\" = '''x'''\n";
	uint8_t d[COFFER_KBS_DIGEST_MAX], field[48];
	size_t n = 0;
	coffer_kbs_hash h;
	(void)state;

	assert_int_equal(coffer_kbs_hash_from_name(&h, "sha256"), 0);
	assert_int_equal(coffer_kbs_init_data_digest(d, &n, h, toml, strlen(toml)), 0);
	assert_int_equal(n, 32);
	assert_digest_hex(d, n, "f2b8275c8070ef8104ed5c42599dc4dce729e3a41e86612691892dd9057abf01");
	assert_int_equal(coffer_kbs_hash_from_name(&h, "sha384"), 0);
	assert_int_equal(coffer_kbs_init_data_digest(d, &n, h, toml, strlen(toml)), 0);
	assert_digest_hex(d, n,
	                  "8b0d4963b8c8a2ec12febabddbbb8759389f39dd930feb8e212db6160cf991b5885c30f"
	                  "b6ac2369aac8884b56d79c6f8");
	/* fit: truncation to 32 (SNP HOST_DATA) and zero-padding to 48 (TDX) */
	coffer_kbs_fit_digest(field, 32, d, n);
	assert_memory_equal(field, d, 32);
	assert_int_equal(coffer_kbs_hash_from_name(&h, "sha256"), 0);
	assert_int_equal(coffer_kbs_init_data_digest(d, &n, h, toml, strlen(toml)), 0);
	memset(field, 0xee, sizeof(field));
	coffer_kbs_fit_digest(field, 48, d, n);
	assert_memory_equal(field, d, 32);
	for (size_t i = 32; i < 48; i++)
		assert_int_equal(field[i], 0);
	assert_int_equal(coffer_kbs_hash_from_name(&h, "sm3"), COFFER_EUNSUPPORTED);
	assert_int_equal(coffer_kbs_hash_from_name(&h, NULL), COFFER_EINVAL);
	assert_string_equal(coffer_kbs_hash_name(COFFER_KBS_SHA512), "sha512");
	assert_int_equal(coffer_kbs_init_data_digest(d, &n, h, NULL, 3), COFFER_EINVAL);
}

static void test_segments(void **state)
{
	(void)state;
	assert_true(coffer_kbs_segment_valid("default", 7));
	assert_true(coffer_kbs_segment_valid("a.b-c_d", 7));
	assert_true(coffer_kbs_segment_valid("-x", 2));
	assert_true(coffer_kbs_segment_valid("x..", 3)); /* matches the upstream regex */
	assert_false(coffer_kbs_segment_valid("..", 2));
	assert_false(coffer_kbs_segment_valid(".", 1));
	assert_false(coffer_kbs_segment_valid(".hidden", 7));
	assert_false(coffer_kbs_segment_valid("", 0));
	assert_false(coffer_kbs_segment_valid("%2e%2e", 6));
	assert_false(coffer_kbs_segment_valid("a b", 3));
	assert_false(coffer_kbs_segment_valid("a\\b", 3));
	assert_false(coffer_kbs_segment_valid("\xc3\xa9", 2));
	{
		char big[COFFER_KBS_SEGMENT_MAX + 2];
		memset(big, 'a', sizeof(big));
		assert_true(coffer_kbs_segment_valid(big, COFFER_KBS_SEGMENT_MAX));
		assert_false(coffer_kbs_segment_valid(big, COFFER_KBS_SEGMENT_MAX + 1));
	}
}

static int parse(coffer_kbs_resource_path *p, const char *s)
{
	return coffer_kbs_resource_path_parse(p, s, strlen(s));
}

static void test_paths(void **state)
{
	coffer_kbs_resource_path p;
	char text[800];
	static const char *const bad[] = {
		"",          "a",        "a/b",    "a/b/c/d", "a//c",       "/a/b/c",
		"a/b/c/",    "../b/c",   "a/../c", "a/b/..",  "%2e%2e/b/c", "a%2fb/c/d",
		"a/b%2Fc/d", "a/b/c%00", "a/./c",  "a/b/c?x", NULL,
	};
	(void)state;

	assert_int_equal(parse(&p, "default/key/k1"), 0);
	assert_string_equal(p.repository, "default");
	assert_string_equal(p.type, "key");
	assert_string_equal(p.tag, "k1");
	assert_int_equal(coffer_kbs_resource_path_format(text, sizeof(text), &p), 0);
	assert_string_equal(text, "default/key/k1");
	assert_int_equal(coffer_kbs_resource_path_format(text, 5, &p), COFFER_ELIMIT);
	for (size_t i = 0; bad[i]; i++) {
		if (parse(&p, bad[i]) != COFFER_EINVAL)
			fail_msg("path '%s' accepted", bad[i]);
	}
	/* an embedded NUL inside the length */
	assert_int_equal(coffer_kbs_resource_path_parse(&p, "a/b\0/c", 6), COFFER_EINVAL);
	assert_int_equal(coffer_kbs_resource_path_parse(&p, NULL, 0), COFFER_EINVAL);

	assert_int_equal(coffer_kbs_resource_uri_parse(&p, "kbs:///repo/key/tag1"), 0);
	assert_string_equal(p.repository, "repo");
	assert_string_equal(p.tag, "tag1");
	assert_int_equal(coffer_kbs_resource_uri_parse(&p, "kbs://host:8080/r/t/g"), 0);
	assert_string_equal(p.repository, "r");
	assert_int_equal(coffer_kbs_resource_uri_parse(&p, "https:///r/t/g"), COFFER_EINVAL);
	assert_int_equal(coffer_kbs_resource_uri_parse(&p, "kbs://host"), COFFER_EINVAL);
	assert_int_equal(coffer_kbs_resource_uri_parse(&p, "kbs:///r/t/../g"), COFFER_EINVAL);
}

static void test_tees_and_errors(void **state)
{
	char *body = NULL;
	size_t len = 0;
	(void)state;

	assert_true(coffer_kbs_tee_known("sample"));
	assert_true(coffer_kbs_tee_known("snp-sim"));
	assert_true(coffer_kbs_tee_known("az-tdx-vtpm"));
	assert_false(coffer_kbs_tee_known("SNP"));
	assert_false(coffer_kbs_tee_known("nope"));
	assert_false(coffer_kbs_tee_known(NULL));
	assert_int_equal(coffer_kbs_error_body(&body, &len, "PolicyDeny", "no \"way\""), 0);
	assert_string_equal(body, "{\"type\":\"https://github.com/confidential-containers/kbs/"
	                          "errors/PolicyDeny\",\"detail\":\"no \\\"way\\\"\"}");
	assert_int_equal(len, strlen(body));
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binding_vectors), cmocka_unit_test(test_binding_bad_input),
		cmocka_unit_test(test_init_data),       cmocka_unit_test(test_segments),
		cmocka_unit_test(test_paths),           cmocka_unit_test(test_tees_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
