/* Unit tests: verifier registry and the sample verifier. */
#include "test_util.h"

#include "coffer/evidence.h"

static json_t *sample_ev(const char *rd_b64)
{
	return json_pack("{s:s,s:s}", "svn", "1", "report_data", rd_b64);
}

static void test_sample_ok(void **state)
{
	uint8_t rd[48];
	coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
	json_t *ev, *claims = NULL;
	(void)state;

	memset(rd, 0xab, sizeof(rd));
	p.report_data = rd;
	p.report_data_len = sizeof(rd);
	/* 48 bytes of 0xab, base64 std */
	ev = sample_ev("q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6ur");
	assert_int_equal(coffer_evidence_verify(&claims, "sample", ev, &p), 0);
	assert_string_equal(json_string_value(json_object_get(claims, "svn")), "1");
	assert_true(json_is_false(json_object_get(claims, "debug")));
	assert_int_equal(strlen(json_string_value(json_object_get(claims, "report_data"))), 96);
	json_decref(claims);
	json_decref(ev);
}

static void test_sample_binding_mismatch(void **state)
{
	uint8_t rd[48];
	coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
	json_t *ev, *claims = NULL;
	(void)state;

	memset(rd, 0xac, sizeof(rd));
	p.report_data = rd;
	p.report_data_len = sizeof(rd);
	ev = sample_ev("q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6ur");
	assert_int_equal(coffer_evidence_verify(&claims, "sample", ev, &p), COFFER_EVERIFY);
	assert_null(claims);
	/* a shorter report_data never matches a longer expected binding */
	json_decref(ev);
	ev = sample_ev("q6urq6ur");
	assert_int_equal(coffer_evidence_verify(&claims, "sample", ev, &p), COFFER_EVERIFY);
	json_decref(ev);
}

static void test_sample_malformed(void **state)
{
	json_t *claims = NULL, *ev;
	(void)state;

	ev = json_pack("{s:s}", "svn", "1");
	assert_int_equal(coffer_evidence_verify(&claims, "sample", ev, NULL), COFFER_EINVAL);
	json_decref(ev);
	ev = sample_ev("not base64!");
	assert_int_equal(coffer_evidence_verify(&claims, "sample", ev, NULL), COFFER_EINVAL);
	json_decref(ev);
	ev = json_string("x");
	assert_int_equal(coffer_evidence_verify(&claims, "sample", ev, NULL), COFFER_EINVAL);
	json_decref(ev);
	assert_int_equal(coffer_evidence_verify(&claims, "sample", NULL, NULL), COFFER_EINVAL);
	assert_null(claims);
}

static void test_unknown_tee(void **state)
{
	json_t *claims = NULL, *ev = json_object();
	(void)state;
	assert_null(coffer_verifier_find("nonesuch"));
	assert_int_equal(coffer_evidence_verify(&claims, "nonesuch", ev, NULL),
	                 COFFER_EUNSUPPORTED);
	json_decref(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_ok),
		cmocka_unit_test(test_sample_binding_mismatch),
		cmocka_unit_test(test_sample_malformed),
		cmocka_unit_test(test_unknown_tee),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
