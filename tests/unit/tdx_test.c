/*
 * TDX / SGX DCAP: real vectors ($COFFER_VECTORS/tdx, sgx) with the expected
 * values read from the vectors' README, the negative vectors, single-byte
 * mutations, collateral pairings, CRLs, the event log, owner options, and the
 * simulated TDX PKI (src/sim/sim_tdx.c) end to end through the verifier.
 */
#include "test_util.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <unistd.h>

#include "coffer/codec.h"
#include "coffer/evidence.h"
#include "coffer/tdx.h"
#include "tdx/tdx_internal.h"
#include "../../src/sim/sim_tdx.h"

#define NOW_2026    1795780800 /* 2026-11-27T12:00:00Z */
#define NOW_2023    1687219200 /* 2023-06-20: inside the 2023 collateral window */
#define NOW_2025    1761955200 /* 2025-11-01: inside trustee's collateral window */
#define NOW_2026_02 1770681600

static const char *vec;

static char *vpath(const char *rel)
{
	static char buf[8][1024];
	static int i;
	char *b = buf[i++ % 8];

	snprintf(b, 1024, "%s/%s", vec, rel);
	return b;
}

static uint8_t *vread(const char *rel, size_t *len)
{
	return test_read_file(vpath(rel), len);
}

static coffer_tdx_ctx *ctx_plain(void)
{
	coffer_tdx_ctx *ctx = NULL;

	assert_int_equal(coffer_tdx_ctx_new(&ctx, NULL), 0);
	return ctx;
}

static void add_file(coffer_tdx_ctx *ctx, const char *rel, int want)
{
	size_t len;
	uint8_t *d = vread(rel, &len);
	int rc = coffer_tdx_ctx_add_collateral(ctx, NULL, NULL, d, len);

	if (rc != want)
		fail_msg("add %s: %d (%s), want %d", rel, rc, coffer_error_last(), want);
	free(d);
}

static void hex_of(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* --- the built-in root --------------------------------------------------- */

static void test_builtin_root(void **state)
{
	size_t len;
	uint8_t *der = vread("roots/intel/Intel_SGX_RootCA.der", &len);
	uint8_t h[32];
	char hex[65];

	(void)state;
	assert_int_equal(len, coffer_intel_sgx_root_ca_der_len);
	assert_memory_equal(der, coffer_intel_sgx_root_ca_der, len);
	SHA256(coffer_intel_sgx_root_ca_der, coffer_intel_sgx_root_ca_der_len, h);
	hex_of(hex, h, 32);
	assert_string_equal(hex,
	                    "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3");
	free(der);
}

/* --- every positive quote of the README ------------------------------------ */

typedef struct expect {
	char file[256];
	int version;
	char fmspc[16];
	char mrtd[100], rtmr[4][100], report_data[130];
} expect;

static int read_expectations(expect *out, int max)
{
	size_t len;
	char *t = (char *)vread("tdx/README.md", &len), *save = NULL;
	int n = -1;

	for (char *line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "### ", 4) == 0) {
			if (n + 1 >= max)
				break;
			n++;
			memset(&out[n], 0, sizeof(out[n]));
			snprintf(out[n].file, sizeof(out[n].file), "tdx/%s", line + 4);
			continue;
		}
		if (n < 0 || strncmp(line, "- ", 2) != 0)
			continue;
		if (strncmp(line, "- quote v", 9) == 0 && out[n].version == 0) {
			char *f = strstr(line, "FMSPC ");
			out[n].version = line[9] - '0';
			if (f)
				snprintf(out[n].fmspc, sizeof(out[n].fmspc), "%.12s", f + 6);
		} else if (strncmp(line, "- MRTD ", 7) == 0 && out[n].mrtd[0] == 0) {
			snprintf(out[n].mrtd, sizeof(out[n].mrtd), "%.96s", line + 7);
		} else if (strncmp(line, "- RTMR", 6) == 0 && line[6] >= '0' && line[6] <= '3' &&
		           out[n].rtmr[line[6] - '0'][0] == 0) {
			snprintf(out[n].rtmr[line[6] - '0'], 100, "%.96s", line + 8);
		} else if (strncmp(line, "- REPORTDATA ", 13) == 0 && out[n].report_data[0] == 0) {
			snprintf(out[n].report_data, sizeof(out[n].report_data), "%.128s",
			         line + 13);
		}
	}
	free(t);
	return n + 1;
}

static void test_positive_vectors(void **state)
{
	expect ex[16];
	int n = read_expectations(ex, 16), checked = 0;
	coffer_tdx_ctx *ctx = ctx_plain();

	(void)state;
	assert_true(n >= 6);
	for (int i = 0; i < n; i++) {
		coffer_tdx_result r;
		uint8_t *q;
		size_t len;
		char hex[200];
		int rc;

		if (access(vpath(ex[i].file), R_OK) != 0)
			fail_msg("README lists %s but it is missing", ex[i].file);
		q = vread(ex[i].file, &len);
		rc = coffer_tdx_verify(&r, ctx, q, len, NOW_2026);
		if (rc != 0)
			fail_msg("%s: %d %s", ex[i].file, rc, coffer_error_last());
		assert_int_equal(r.quote.version, ex[i].version);
		assert_string_equal(r.root, "intel");
		assert_int_equal(r.tcb_status, COFFER_TDX_TCB_UNKNOWN);
		hex_of(hex, r.quote.body + COFFER_TDX_OFF_MR_TD, 48);
		assert_string_equal(hex, ex[i].mrtd);
		for (int k = 0; k < 4; k++) {
			hex_of(hex, r.quote.body + COFFER_TDX_OFF_RTMR0 + 48 * k, 48);
			assert_string_equal(hex, ex[i].rtmr[k]);
		}
		hex_of(hex, r.quote.body + COFFER_TDX_OFF_REPORT_DATA, 64);
		assert_string_equal(hex, ex[i].report_data);
		hex_of(hex, r.pck.fmspc, 6);
		assert_string_equal(hex, ex[i].fmspc);
		coffer_tdx_result_clear(&r);
		free(q);
		checked++;
	}
	print_message("%d positive TDX quotes verified\n", checked);
	coffer_tdx_ctx_free(ctx);
}

/* --- negative/ -------------------------------------------------------------- */

static void test_negative_vectors(void **state)
{
	static const struct {
		const char *file, *reason;
	} neg[] = {
		{ "SPR_E4.version_byte0_eq3.dat", "quote format not supported" },
		{ "SPR_E4.sigdata_size_0x278_eq0x10.dat", "size of certification data is 0x1045" },
		{ "SPR_E4.certchain_0x1343_eq0x32.dat", "PCK certificate chain invalid" },
		{ "SPR_E4.rootcert_0x1329_eq0x32.dat", "unable to validate root cert" },
		{ "SPR_E4.intermediate_0xF5F_eq0x32.dat", "signature failure at depth 1" },
		{ "SPR_E4.pckcert_0xB77_eq0x32.dat", "signature failure at depth 0" },
		{ "SPR_E4.header_0x1E_eq0x32.dat", "quote signature does not verify" },
		{ "SPR_E4.body_0x3C_eq0x32.dat", "quote signature does not verify" },
	};
	coffer_tdx_ctx *ctx = ctx_plain();
	size_t len;
	uint8_t *orig = vread("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat", &len);
	coffer_tdx_result r;

	(void)state;
	/* the unmodified quote verifies (so each failure is the mutation's) */
	assert_int_equal(coffer_tdx_verify(&r, ctx, orig, len, NOW_2026), 0);
	assert_int_equal(r.quote.trailing, 39);
	coffer_tdx_result_clear(&r);
	for (size_t i = 0; i < sizeof(neg) / sizeof(neg[0]); i++) {
		char rel[256];
		size_t ql;
		uint8_t *q;
		int rc;

		snprintf(rel, sizeof(rel), "tdx/negative/%s", neg[i].file);
		q = vread(rel, &ql);
		rc = coffer_tdx_verify(&r, ctx, q, ql, NOW_2026);
		if (rc == 0 || strstr(coffer_error_last(), neg[i].reason) == NULL)
			fail_msg("%s: rc %d '%s', want '%s'", neg[i].file, rc, coffer_error_last(),
			         neg[i].reason);
		free(q);
	}
	free(orig);
	coffer_tdx_ctx_free(ctx);
}

/* --- every single-byte flip of the signed / signing parts fails ------------- */

static void mutate_region(coffer_tdx_ctx *ctx, uint8_t *q, size_t len, const uint8_t *start,
                          size_t n, const char *what)
{
	size_t off = (size_t)(start - q);
	/* every byte in release and ASan builds; a stride under valgrind
	 * (scripts/valgrind-unit.sh), where each verify is ~50x slower */
	size_t step = getenv("COFFER_UNDER_VALGRIND") ? 7 : 1;

	for (size_t i = 0; i < n; i += step) {
		coffer_tdx_result r;
		int rc;

		q[off + i] ^= 0x01;
		rc = coffer_tdx_verify(&r, ctx, q, len, NOW_2026);
		q[off + i] ^= 0x01;
		if (rc == 0)
			fail_msg("flipping %s byte %zu (offset %zu) still verifies", what, i,
			         off + i);
	}
}

static void test_mutations(void **state)
{
	static const char *const files[] = {
		"tdx/trustee/tdx_quote_4.dat",
		"tdx/trustee/tdx_quote_5.dat",
	};
	coffer_tdx_ctx *ctx = ctx_plain();

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		size_t len;
		uint8_t *q = vread(files[f], &len);
		coffer_tdx_result r;
		coffer_tdx_quote v;

		assert_int_equal(coffer_tdx_verify(&r, ctx, q, len, NOW_2026), 0);
		v = r.quote;
		coffer_tdx_result_clear(&r);
		mutate_region(ctx, q, len, v.header, COFFER_TDX_HEADER_SIZE, "header");
		/* v5: the body type/size fields and the body */
		mutate_region(ctx, q, len, v.header + COFFER_TDX_HEADER_SIZE,
		              v.signed_len - COFFER_TDX_HEADER_SIZE, "body");
		mutate_region(ctx, q, len, v.signature, 64, "quote signature");
		mutate_region(ctx, q, len, v.attest_key, 64, "attestation key");
		mutate_region(ctx, q, len, v.qe_report, COFFER_SGX_REPORT_SIZE, "QE report");
		mutate_region(ctx, q, len, v.qe_report_sig, 64, "QE report signature");
		mutate_region(ctx, q, len, v.qe_auth, v.qe_auth_len, "QE auth data");
		free(q);
	}
	coffer_tdx_ctx_free(ctx);
}

/* --- parser edge cases ------------------------------------------------------- */

static void test_parse_lengths(void **state)
{
	size_t len;
	uint8_t *q = vread("tdx/trustee/tdx_quote_6.dat", &len);
	coffer_tdx_quote v;
	uint8_t *big;

	(void)state;
	assert_int_equal(coffer_tdx_quote_parse(&v, q, len), 0);
	assert_int_equal(v.trailing, 70);
	assert_int_equal(v.cert_type, 5);
	assert_int_equal(v.qe_auth_len, 32);
	/* every truncation fails cleanly */
	for (size_t n = 0; n < 632 + 4 + 4300; n += 7)
		assert_int_not_equal(coffer_tdx_quote_parse(&v, q, n), 0);
	/* a sig_data_len larger than the quote */
	big = malloc(len);
	memcpy(big, q, len);
	big[632 + 3] = 0x7f;
	assert_int_equal(coffer_tdx_quote_parse(&v, big, len), COFFER_EINVAL);
	assert_non_null(strstr(coffer_error_last(), "signature data length"));
	/* QE auth length pointing past the type-6 data */
	memcpy(big, q, len);
	big[632 + 4 + 134 + 384 + 64 + 1] = 0x40;
	assert_int_equal(coffer_tdx_quote_parse(&v, big, len), COFFER_EINVAL);
	/* unknown attestation key type, unknown TEE type, v5 body size */
	memcpy(big, q, len);
	big[2] = 3;
	assert_int_equal(coffer_tdx_quote_parse(&v, big, len), COFFER_EUNSUPPORTED);
	memcpy(big, q, len);
	big[4] = 0x7f;
	assert_int_equal(coffer_tdx_quote_parse(&v, big, len), COFFER_EUNSUPPORTED);
	memcpy(big, q, len);
	big[0] = 9;
	assert_int_equal(coffer_tdx_quote_parse(&v, big, len), COFFER_EUNSUPPORTED);
	free(big);
	free(q);
	q = vread("tdx/trustee/tdx_quote_5.dat", &len);
	assert_int_equal(coffer_tdx_quote_parse(&v, q, len), 0);
	assert_int_equal(v.body_type, COFFER_TDX_BODY_TD15);
	assert_int_equal(v.signed_len, 702);
	q[50] = 0x02; /* body size 0x0288 -> 0x0202 */
	assert_int_equal(coffer_tdx_quote_parse(&v, q, len), COFFER_EINVAL);
	q[50] = 0x88;
	q[48] = 0x07; /* body type 7 */
	assert_int_equal(coffer_tdx_quote_parse(&v, q, len), COFFER_EUNSUPPORTED);
	free(q);
	assert_int_equal(coffer_tdx_quote_parse(&v, NULL, 0), COFFER_EINVAL);
}

/* --- collateral pairings (README table) -------------------------------------- */

static coffer_tdx_ctx *ctx_with(const char *tcb, const char *qe)
{
	coffer_tdx_ctx *ctx = ctx_plain();

	add_file(ctx, "tdx/go-tdx-guest/tcbinfo_issuer_chain.pem", 0);
	add_file(ctx, tcb, 0);
	add_file(ctx, qe, 0);
	return ctx;
}

static void pairing(const char *quote, const char *tcb, const char *qe, int64_t now,
                    coffer_tdx_tcb_status want, bool expired, const char *fail_reason)
{
	coffer_tdx_ctx *ctx = ctx_with(tcb, qe);
	size_t len;
	uint8_t *q = vread(quote, &len);
	coffer_tdx_result r;
	int rc = coffer_tdx_verify(&r, ctx, q, len, now);

	if (fail_reason) {
		if (rc == 0 || strstr(coffer_error_last(), fail_reason) == NULL)
			fail_msg("%s: rc %d '%s', want failure '%s'", quote, rc,
			         coffer_error_last(), fail_reason);
	} else {
		if (rc != 0)
			fail_msg("%s: %s", quote, coffer_error_last());
		if (r.tcb_status != want)
			fail_msg("%s: status %s, want %s", quote,
			         coffer_tdx_tcb_status_name(r.tcb_status),
			         coffer_tdx_tcb_status_name(want));
		assert_true(r.has_collateral);
		assert_int_equal(r.collateral_expired, expired);
		/* the TCB signing certificate expired 2025-05-21 */
		assert_int_equal(r.signer_cert_expired, now > 1747785600);
		coffer_tdx_result_clear(&r);
		/* the same collateral is past nextUpdate today */
		assert_int_equal(coffer_tdx_verify(&r, ctx, q, len, NOW_2026), 0);
		assert_true(r.collateral_expired);
		coffer_tdx_result_clear(&r);
	}
	free(q);
	coffer_tdx_ctx_free(ctx);
}

static void test_collateral_pairings(void **state)
{
	(void)state;
	pairing("tdx/trustee/tdx_quote_4.dat", "tdx/go-tdx-guest/sample_tcbInfo_response",
	        "tdx/go-tdx-guest/sample_qeIdentity_response", NOW_2023, COFFER_TDX_TCB_UP_TO_DATE,
	        false, NULL);
	pairing("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat",
	        "tdx/go-tdx-guest/sample_tcbInfo_response",
	        "tdx/go-tdx-guest/sample_qeIdentity_response", NOW_2023, 0, false,
	        "no TCB level matches");
	pairing("tdx/go-tdx-guest/quote_v5_sample.dat",
	        "tdx/go-tdx-guest/sample_tcbinfo_response_v5",
	        "tdx/go-tdx-guest/sample_qeIdentity_response", NOW_2026_02,
	        COFFER_TDX_TCB_UP_TO_DATE, true /* the 2023 QE identity */, NULL);
	pairing("tdx/trustee/tdx_quote_6.dat", "tdx/trustee/tcbInfo.json",
	        "tdx/trustee/enclaveIdentity.json", NOW_2025, COFFER_TDX_TCB_OUT_OF_DATE, false,
	        NULL);
}

static void test_collateral_rejects(void **state)
{
	coffer_tdx_ctx *ctx = ctx_plain();
	size_t len;
	uint8_t *t = vread("tdx/trustee/tcbInfo.json", &len);
	char *p;

	(void)state;
	/* no signing certificate yet: nothing verifies */
	assert_int_equal(coffer_tdx_ctx_add_collateral(ctx, NULL, NULL, t, len), COFFER_EVERIFY);
	add_file(ctx, "tdx/go-tdx-guest/tcbinfo_issuer_chain.pem", 0);
	/* the PCK Platform CA chain is not a TCB signing chain */
	add_file(ctx, "tdx/go-tdx-guest/pckcrl_issuer_chain.pem", COFFER_EVERIFY);
	/* one changed byte inside the signed tcbInfo */
	p = strstr((char *)t, "\"pcesvn\":13");
	assert_non_null(p);
	p[10] = '1';
	assert_int_equal(coffer_tdx_ctx_add_collateral(ctx, NULL, NULL, t, len), COFFER_EVERIFY);
	p[10] = '3';
	{
		coffer_tdx_collateral_kind kind = 0;
		char name[64];
		assert_int_equal(coffer_tdx_ctx_add_collateral(ctx, &kind, name, t, len), 0);
		assert_int_equal(kind, COFFER_TDX_COLL_TCB_INFO);
		assert_string_equal(name, "tcbinfo-tdx-00a06d080000-17.json");
	}
	/* a duplicate member is refused even with a valid signature elsewhere */
	{
		const char dup[] = "{\"tcbInfo\":{},\"tcbInfo\":{},\"signature\":\"00\"}";
		assert_int_equal(coffer_tdx_ctx_add_collateral(
		                         ctx, NULL, NULL, (const uint8_t *)dup, sizeof(dup) - 1),
		                 COFFER_EINVAL);
	}
	/* the SGX test PKI's tcbSignChain does not chain to the Intel root */
	add_file(ctx, "sgx/intel-dcap-sampleData-2019/tcbSignChain.pem", COFFER_EVERIFY);
	/* CRLs load */
	add_file(ctx, "tdx/go-tdx-guest/rootcrl.der", 0);
	add_file(ctx, "tdx/go-tdx-guest/pckcrl", 0);
	free(t);
	coffer_tdx_ctx_free(ctx);
}

static void test_crls_real(void **state)
{
	coffer_tdx_ctx *ctx = ctx_plain();
	size_t len;
	uint8_t *q = vread("tdx/trustee/tdx_quote_4.dat", &len);
	coffer_tdx_result r;

	(void)state;
	add_file(ctx, "tdx/go-tdx-guest/rootcrl.der", 0);
	add_file(ctx, "tdx/go-tdx-guest/pckcrl", 0);
	/* not revoked; the 2023 CRLs are past nextUpdate today */
	assert_int_equal(coffer_tdx_verify(&r, ctx, q, len, NOW_2026), 0);
	assert_true(r.collateral_expired);
	coffer_tdx_result_clear(&r);
	free(q);
	coffer_tdx_ctx_free(ctx);
}

/* --- through the registry interface ----------------------------------------- */

static json_t *evidence_of(const char *quote_rel, const char *el_rel)
{
	size_t len;
	uint8_t *q = vread(quote_rel, &len);
	char *b64 = NULL;
	json_t *ev;

	assert_int_equal(coffer_base64_encode(&b64, NULL, q, len, COFFER_B64_STD), 0);
	ev = json_pack("{s:s}", "quote", b64);
	free(b64);
	free(q);
	if (el_rel) {
		q = vread(el_rel, &len);
		assert_int_equal(coffer_base64_encode(&b64, NULL, q, len, COFFER_B64_STD), 0);
		json_object_set_new(ev, "cc_eventlog", json_string(b64));
		free(b64);
		free(q);
	}
	return ev;
}

static int run_verifier(json_t **claims, const coffer_verifier *v, const json_t *ev,
                        const char *options_json, const char *collateral_dir, int64_t now)
{
	coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
	json_t *opts = options_json ? json_loads(options_json, 0, NULL) : NULL;
	int rc;

	p.now = now;
	p.options = opts;
	p.collateral_dir = collateral_dir;
	*claims = NULL;
	rc = v->verify(claims, ev, &p);
	json_decref(opts);
	return rc;
}

static void test_claims_trustee(void **state)
{
	json_t *ev = evidence_of("tdx/trustee/tdx_quote_4.dat", NULL), *claims = NULL, *want;
	const char *k;
	json_t *v;

	(void)state;
	/* tdx_quote_4 is a debug TD: refused by default */
	assert_int_equal(run_verifier(&claims, &coffer_verifier_tdx, ev, NULL, NULL, NOW_2026),
	                 COFFER_EDENIED);
	assert_non_null(strstr(coffer_error_last(), "debug"));
	assert_int_equal(run_verifier(&claims, &coffer_verifier_tdx, ev, "{\"allow_debug\":true}",
	                              NULL, NOW_2026),
	                 0);
	want = json_load_file(vpath("tdx/trustee/parse_tdx_claims_expected.json"), 0, NULL);
	assert_non_null(want);
	json_object_foreach(want, k, v)
	{
		if (strcmp(k, "uefi_event_logs") == 0)
			continue; /* that log is not this quote's (README) */
		if (!json_equal(json_object_get(claims, k), v)) {
			char *got = json_dumps(json_object_get(claims, k), 0);
			fail_msg("claim %s differs from trustee's: %s", k, got);
		}
	}
	assert_string_equal(json_string_value(json_object_get(claims, "tcb_status")), "unknown");
	assert_string_equal(json_string_value(json_object_get(claims, "fmspc")), "50806f000000");
	json_decref(want);
	json_decref(claims);
	/* the sgx verifier refuses a TDX quote, tdx-sim refuses without a sim root */
	assert_int_equal(run_verifier(&claims, &coffer_verifier_sgx, ev, NULL, NULL, NOW_2026),
	                 COFFER_EVERIFY);
	assert_int_equal(run_verifier(&claims, &coffer_verifier_tdx_sim, ev, NULL, NULL, NOW_2026),
	                 COFFER_EDENIED);
	json_decref(ev);
}

static void test_options(void **state)
{
	json_t *ev = evidence_of("tdx/trustee/tdx_quote_6.dat", NULL), *claims = NULL;
	static const struct {
		const char *opts;
		int rc;
		const char *reason;
	} cases[] = {
		{ "{}", 0, NULL },
		{ "{\"mr_td\":["
		  "\"21e8dead92d6c69d7cbba79816686c03a48485c7df0c11f6f04792d5e1d378f6b8c4"
		  "6615ba6946adccac6becffbb1e88\"]}",
		  0, NULL },
		{ "{\"mr_td\":"
		  "\"00e8dead92d6c69d7cbba79816686c03a48485c7df0c11f6f04792d5e1d378f6b8c46"
		  "615ba6946adccac6becffbb1e88\"}",
		  COFFER_EDENIED, "MRTD" },
		{ "{\"mr_config_id\":"
		  "\"889abf4718f037e38d74464c11e7c91a6e9890b5546409e1e7df9de7a51ca"
		  "93152bf847bd2440328e90adb18b150ed67\"}",
		  0, NULL },
		{ "{\"mr_config_id\":\"11\"}", COFFER_EINVAL, "48 hex bytes" },
		{ "{\"rtmr\":{\"2\":"
		  "\"193edd321148e81fd4d6ce00ac8331e737febdb428f18ae66f697c1d2a7f2cd"
		  "97c535c8df9f045f62b16a41facad84a1\"}}",
		  0, NULL },
		{ "{\"rtmr\":{\"rtmr_3\":["
		  "\"193edd321148e81fd4d6ce00ac8331e737febdb428f18ae66f697c1d2"
		  "a7f2cd97c535c8df9f045f62b16a41facad84a1\"]}}",
		  COFFER_EDENIED, "RTMR3" },
		{ "{\"rtmr\":{\"7\":\"00\"}}", COFFER_EINVAL, "rtmr key" },
		{ "{\"allowed_fmspc\":[\"00a06d080000\"]}", 0, NULL },
		{ "{\"allowed_fmspc\":[\"50806f000000\"]}", COFFER_EDENIED, "FMSPC" },
		{ "{\"allowed_ppid\":[\"9c81e0b5c22e28a3f29d7b4db52c2049\"]}", 0, NULL },
		{ "{\"allowed_ppid\":[\"0c81e0b5c22e28a3f29d7b4db52c2049\"]}", COFFER_EDENIED,
		  "PPID" },
		{ "{\"allowed_platform_instance_id\":[\"02eaf5ba6b16c479d53c39d74a1e1999\"]}", 0,
		  NULL },
		{ "{\"min_tcb_status\":\"OutOfDate\"}", COFFER_EDENIED, "no collateral" },
		{ "{\"min_tcb_status\":\"Fine\"}", COFFER_EINVAL, "min_tcb_status" },
		{ "{\"allow_debug\":1}", COFFER_EINVAL, "boolean" },
		{ "{\"mrtd\":[]}", COFFER_EINVAL, "unknown key" },
		/* an SGX check on a TD would be skipped: refused, not ignored */
		{ "{\"mr_enclave\":[\"0000000000000000000000000000000000000000000000000000000000"
		  "000000\"]}",
		  COFFER_EINVAL, "SGX" },
		{ "{\"min_isv_svn\":99}", COFFER_EINVAL, "SGX" },
		{ "{\"isv_prod_id\":\"x\"}", COFFER_EINVAL, "SGX" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = run_verifier(&claims, &coffer_verifier_tdx, ev, cases[i].opts, NULL,
		                      NOW_2026);
		if (rc != cases[i].rc ||
		    (cases[i].reason && strstr(coffer_error_last(), cases[i].reason) == NULL))
			fail_msg("options %s: rc %d '%s'", cases[i].opts, rc, coffer_error_last());
		json_decref(claims);
		claims = NULL;
	}
	json_decref(ev);
}

static void test_binding(void **state)
{
	json_t *ev = evidence_of("tdx/trustee/tdx_quote_6.dat", NULL), *claims = NULL;
	coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
	uint8_t rd[64], cfg[48];
	size_t len;
	uint8_t *q = vread("tdx/trustee/tdx_quote_6.dat", &len);

	(void)state;
	memcpy(rd, q + 48 + COFFER_TDX_OFF_REPORT_DATA, 64);
	memcpy(cfg, q + 48 + COFFER_TDX_OFF_MR_CONFIG_ID, 48);
	p.now = NOW_2026;
	/* a 48-byte (SHA-384) binding is compared zero-padded to 64 bytes */
	p.report_data = rd;
	p.report_data_len = 48;
	p.init_data_digest = cfg;
	p.init_data_digest_len = 48;
	assert_int_equal(coffer_verifier_tdx.verify(&claims, ev, &p), 0);
	assert_string_equal(json_string_value(json_object_get(claims, "init_data")),
	                    "889abf4718f037e38d74464c11e7c91a6e9890b5546409e1e7df9de7a51ca93152bf84"
	                    "7bd2440328e90adb18b150ed67");
	json_decref(claims);
	rd[0] ^= 1;
	assert_int_equal(coffer_verifier_tdx.verify(&claims, ev, &p), COFFER_EVERIFY);
	assert_non_null(strstr(coffer_error_last(), "REPORT_DATA"));
	rd[0] ^= 1;
	cfg[47] ^= 1;
	assert_int_equal(coffer_verifier_tdx.verify(&claims, ev, &p), COFFER_EVERIFY);
	assert_non_null(strstr(coffer_error_last(), "MR_CONFIG_ID"));
	/* bad evidence shapes */
	{
		json_t *bad = json_pack("{s:s}", "quote", "!!!");
		assert_int_equal(coffer_verifier_tdx.verify(&claims, bad, &p), COFFER_EINVAL);
		json_decref(bad);
		bad = json_pack("{s:i}", "quote", 1);
		assert_int_equal(coffer_verifier_tdx.verify(&claims, bad, &p), COFFER_EINVAL);
		json_decref(bad);
		bad = json_object();
		assert_int_equal(coffer_verifier_tdx.verify(&claims, bad, &p), COFFER_EINVAL);
		json_decref(bad);
	}
	free(q);
	json_decref(ev);
}

static void test_collateral_dir(void **state)
{
	char dir[] = "/tmp/tdx_test_collXXXXXX";
	static const char *const files[] = {
		"tdx/go-tdx-guest/tcbinfo_issuer_chain.pem",
		"tdx/trustee/tcbInfo.json",
		"tdx/trustee/enclaveIdentity.json",
		"tdx/go-tdx-guest/rootcrl.der",
	};
	json_t *ev = evidence_of("tdx/trustee/tdx_quote_6.dat", NULL), *claims = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < 4; i++) {
		char dst[512];
		size_t len;
		uint8_t *d = vread(files[i], &len);
		FILE *f;
		snprintf(dst, sizeof(dst), "%s/f%zu", dir, i);
		f = fopen(dst, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(d, 1, len, f), len);
		fclose(f);
		free(d);
	}
	assert_int_equal(run_verifier(&claims, &coffer_verifier_tdx, ev, NULL, dir, NOW_2025), 0);
	assert_string_equal(json_string_value(json_object_get(claims, "tcb_status")), "OutOfDate");
	assert_string_equal(
	        json_string_value(json_object_get(claims, "collateral_expiration_status")), "1");
	assert_non_null(json_object_get(claims, "tcb"));
	json_decref(claims);
	/* a collateral directory that does not exist yet: no collateral */
	assert_int_equal(run_verifier(&claims, &coffer_verifier_tdx, ev, NULL,
	                              "/nonexistent/tdx-collateral", NOW_2025),
	                 0);
	assert_string_equal(json_string_value(json_object_get(claims, "tcb_status")), "unknown");
	json_decref(claims);
	assert_int_equal(run_verifier(&claims, &coffer_verifier_tdx, ev,
	                              "{\"min_tcb_status\":\"UpToDate\"}", dir, NOW_2025),
	                 COFFER_EDENIED);
	assert_non_null(strstr(coffer_error_last(), "OutOfDate"));
	assert_int_equal(run_verifier(&claims, &coffer_verifier_tdx, ev,
	                              "{\"reject_expired_signer\":true}", dir, NOW_2025),
	                 COFFER_EDENIED);
	for (size_t i = 0; i < 4; i++) {
		char dst[512];
		snprintf(dst, sizeof(dst), "%s/f%zu", dir, i);
		unlink(dst);
	}
	rmdir(dir);
	json_decref(ev);
}

static void rm_tree(const char *dir)
{
	char cmd[600];

	/* test-made temporary directory only */
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void store_file(const char *dir, const char *rel, int want)
{
	size_t len;
	uint8_t *d = vread(rel, &len);
	unsigned stored = 9;
	int rc = coffer_tdx_collateral_add(dir, d, len, NULL, &stored);

	if (rc != want)
		fail_msg("store %s: %d (%s), want %d", rel, rc, coffer_error_last(), want);
	assert_int_equal(stored, rc == 0 ? 1 : 0);
	free(d);
}

static void test_collateral_store(void **state)
{
	char dir[] = "/tmp/tdx_test_storeXXXXXX";
	json_t *ev = evidence_of("tdx/trustee/tdx_quote_6.dat", NULL), *claims = NULL;
	unsigned stored;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* signed JSON before its signing certificate: refused, nothing stored */
	store_file(dir, "tdx/trustee/tcbInfo.json", COFFER_EVERIFY);
	store_file(dir, "tdx/go-tdx-guest/tcbinfo_issuer_chain.pem", 0);
	store_file(dir, "tdx/trustee/tcbInfo.json", 0);
	store_file(dir, "tdx/trustee/enclaveIdentity.json", 0);
	store_file(dir, "tdx/go-tdx-guest/rootcrl.der", 0);
	/* not Intel collateral: left for another TEE's cache */
	assert_int_equal(coffer_tdx_collateral_add(dir, (const uint8_t *)"hello", 5, NULL, &stored),
	                 COFFER_ENOTFOUND);
	store_file(dir, "roots/amd/milan_ark.pem", COFFER_ENOTFOUND);
	assert_int_equal(run_verifier(&claims, &coffer_verifier_tdx, ev, NULL, dir, NOW_2025), 0);
	assert_string_equal(json_string_value(json_object_get(claims, "tcb_status")), "OutOfDate");
	json_decref(claims);
	json_decref(ev);
	rm_tree(dir);
}

static void write_bytes(const char *dir, const char *name, const uint8_t *d, size_t len)
{
	char dst[512];
	FILE *f;

	snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	assert_non_null(f = fopen(dst, "wb"));
	assert_int_equal(fwrite(d, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* review finding: CRLs in a collateral directory that did not load, or past
 * the CRL limit, were ignored (fail open); CRLs were stored by `coffer
 * collateral add` without checking who signed them. */
static void test_collateral_crls_fail_closed(void **state)
{
	char dir[] = "/tmp/tdx_test_crlsXXXXXX", sdir[] = "/tmp/tdx_test_crlstXXXXXX";
	static const uint8_t junk[] = { 0x30, 0x82, 0x01, 0x00, 'n', 'o', 't',
		                        ' ',  'a',  ' ',  'C',  'R', 'L' };
	json_t *ev = evidence_of("tdx/trustee/tdx_quote_6.dat", NULL), *claims = NULL;
	size_t len, clen;
	uint8_t *root_crl = vread("tdx/go-tdx-guest/rootcrl.der", &len);
	uint8_t *pck_crl = vread("tdx/go-tdx-guest/pckcrl", &clen);
	unsigned stored = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_bytes(dir, "crl-root.der", root_crl, len);
	assert_int_equal(run_verifier(&claims, &coffer_verifier_tdx, ev, NULL, dir, NOW_2025), 0);
	json_decref(claims);
	/* a CRL that cannot be loaded: every verification using the directory
	 * is refused, naming the file */
	write_bytes(dir, "crl-broken.der", junk, sizeof(junk));
	if (run_verifier(&claims, &coffer_verifier_tdx, ev, NULL, dir, NOW_2025) == 0) {
		json_decref(claims);
		fail_msg("a collateral directory with a CRL that does not load was used");
	}
	assert_non_null(strstr(coffer_error_last(), "crl-broken.der"));
	{
		char p[512];
		snprintf(p, sizeof(p), "%s/crl-broken.der", dir);
		assert_int_equal(unlink(p), 0);
	}
	/* more CRLs than the limit: an error, not the first TDX_MAX_CRLS */
	for (int i = 0; i < TDX_MAX_CRLS; i++) {
		char name[32];
		snprintf(name, sizeof(name), "crl-%02d.der", i);
		write_bytes(dir, name, root_crl, len);
	}
	if (run_verifier(&claims, &coffer_verifier_tdx, ev, NULL, dir, NOW_2025) == 0) {
		json_decref(claims);
		fail_msg("CRLs past the limit were ignored");
	}
	assert_non_null(strstr(coffer_error_last(), "CRL"));
	rm_tree(dir);

	/* storing: a CRL is stored only when a trusted root, or a CA it
	 * certifies that comes with the CRL, signed it */
	assert_non_null(mkdtemp(sdir));
	assert_int_equal(coffer_tdx_collateral_add(sdir, root_crl, len, NULL, &stored), 0);
	assert_int_equal(stored, 1);
	/* the PCK CA's CRL alone: its issuer is not a trusted root */
	assert_int_equal(coffer_tdx_collateral_add(sdir, pck_crl, clen, NULL, &stored),
	                 COFFER_EVERIFY);
	assert_int_equal(stored, 0);
	assert_non_null(strstr(coffer_error_last(), "Intel SGX PCK Platform CA"));
	/* ... with its issuer chain (PEM: the CRL, then the PCS's issuer chain) */
	{
		const unsigned char *pp = pck_crl;
		X509_CRL *c = d2i_X509_CRL(NULL, &pp, (long)clen);
		BIO *b = BIO_new(BIO_s_mem());
		size_t chl;
		uint8_t *chain = vread("tdx/go-tdx-guest/pckcrl_issuer_chain.pem", &chl);
		BUF_MEM *bm;

		assert_non_null(c);
		assert_non_null(b);
		assert_int_equal(PEM_write_bio_X509_CRL(b, c), 1);
		assert_int_equal(BIO_write(b, chain, (int)chl), (int)chl);
		BIO_get_mem_ptr(b, &bm);
		if (coffer_tdx_collateral_add(sdir, (const uint8_t *)bm->data, bm->length, NULL,
		                              &stored) != 0)
			fail_msg("CRL + issuer chain: %s", coffer_error_last());
		assert_int_equal(stored, 1);
		/* ... and the stored directory loads */
		{
			char sub[600];
			snprintf(sub, sizeof(sub), "%s/tdx", sdir);
			assert_int_equal(run_verifier(&claims, &coffer_verifier_tdx, ev, NULL, sub,
			                              NOW_2025),
			                 0);
			json_decref(claims);
		}
		/* a CRL naming the root but signed by another key: refused */
		{
			EVP_PKEY *k = EVP_EC_gen("P-256");
			assert_non_null(k);
			assert_true(X509_CRL_sign(c, k, EVP_sha256()) > 0);
			uint8_t *der = NULL;
			X509_CRL *fake = X509_CRL_dup(c);
			assert_non_null(fake);
			{
				const unsigned char *rp = root_crl;
				X509_CRL *rc = d2i_X509_CRL(NULL, &rp, (long)len);
				assert_non_null(rc);
				assert_int_equal(
				        X509_CRL_set_issuer_name(fake, X509_CRL_get_issuer(rc)), 1);
				X509_CRL_free(rc);
			}
			assert_true(X509_CRL_sign(fake, k, EVP_sha256()) > 0);
			int n = i2d_X509_CRL(fake, &der);
			assert_true(n > 0);
			assert_int_equal(
			        coffer_tdx_collateral_add(sdir, der, (size_t)n, NULL, &stored),
			        COFFER_EVERIFY);
			assert_int_equal(stored, 0);
			OPENSSL_free(der);
			X509_CRL_free(fake);
			EVP_PKEY_free(k);
		}
		X509_CRL_free(c);
		BIO_free(b);
		free(chain);
	}
	rm_tree(sdir);
	free(root_crl);
	free(pck_crl);
	json_decref(ev);
}

/* --- concurrent verifications share one context (broker threads) ---------- */

typedef struct thr_arg {
	json_t *ev;
	const char *coll;
	int failures;
} thr_arg;

static void *thr_main(void *p)
{
	thr_arg *a = p;

	for (int i = 0; i < 40; i++) {
		json_t *claims = NULL;
		coffer_verify_params vp = COFFER_VERIFY_PARAMS_INIT;
		vp.now = NOW_2025;
		vp.collateral_dir = a->coll;
		if (coffer_verifier_tdx.verify(&claims, a->ev, &vp) != 0 ||
		    strcmp(json_string_value(json_object_get(claims, "tcb_status")), "OutOfDate") !=
		            0)
			a->failures++;
		json_decref(claims);
	}
	return NULL;
}

static void test_threads(void **state)
{
	char dir[] = "/tmp/tdx_test_thrXXXXXX";
	json_t *ev = evidence_of("tdx/trustee/tdx_quote_6.dat", NULL);
	pthread_t t[4];
	thr_arg a[4];

	(void)state;
	assert_non_null(mkdtemp(dir));
	store_file(dir, "tdx/go-tdx-guest/tcbinfo_issuer_chain.pem", 0);
	store_file(dir, "tdx/trustee/tcbInfo.json", 0);
	store_file(dir, "tdx/trustee/enclaveIdentity.json", 0);
	for (int i = 0; i < 4; i++) {
		a[i].ev = ev;
		a[i].coll = dir;
		a[i].failures = 0;
		assert_int_equal(pthread_create(&t[i], NULL, thr_main, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(a[i].failures, 0);
	}
	json_decref(ev);
	rm_tree(dir);
}

/* --- SGX quote v3 -------------------------------------------------------------- */

/* Without QE identity collateral, a quote chained to Intel's root must come
 * from Intel's quoting enclave: any enclave with the PROVISION_KEY attribute
 * on a genuine platform can have its attestation key certified by the PCE. */
static void test_qe_signer_without_collateral(void **state)
{
	static const struct {
		const char *file;
		size_t body;
	} quotes[] = {
		{ "tdx/trustee/tdx_quote_6.dat", COFFER_TDX_TD10_SIZE },
		{ "sgx/trustee/occlum_quote.dat", COFFER_SGX_REPORT_SIZE },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(quotes) / sizeof(quotes[0]); i++) {
		size_t len;
		uint8_t *q = vread(quotes[i].file, &len);
		coffer_tdx_result r;

		memset(&r, 0, sizeof(r));
		assert_int_equal(coffer_tdx_quote_parse(&r.quote, q, len), 0);
		r.root = "intel";
		/* Intel's QE (TD QE / QE3): accepted */
		assert_int_equal(coffer_tdx_qe_signer_check(&r), 0);
		/* another enclave signer */
		q[(size_t)(r.quote.qe_report - q) + COFFER_SGX_OFF_MR_SIGNER] ^= 1;
		assert_int_equal(coffer_tdx_qe_signer_check(&r), COFFER_EVERIFY);
		assert_non_null(strstr(coffer_error_last(), "quoting enclave"));
		/* roots the operator or the simulator configured: their own QEs */
		r.root = "sim";
		assert_int_equal(coffer_tdx_qe_signer_check(&r), 0);
		r.root = "configured";
		assert_int_equal(coffer_tdx_qe_signer_check(&r), 0);
		q[(size_t)(r.quote.qe_report - q) + COFFER_SGX_OFF_MR_SIGNER] ^= 1;
		/* Intel's signer with another product id (e.g. the QVE) */
		r.root = "intel";
		q[(size_t)(r.quote.qe_report - q) + COFFER_SGX_OFF_ISV_PROD_ID] ^= 4;
		assert_int_equal(coffer_tdx_qe_signer_check(&r), COFFER_EVERIFY);
		q[(size_t)(r.quote.qe_report - q) + COFFER_SGX_OFF_ISV_PROD_ID] ^= 4;
		/* Intel's QE launched as a debug enclave: its key is readable */
		assert_int_equal(coffer_tdx_qe_signer_check(&r), 0);
		q[(size_t)(r.quote.qe_report - q) + COFFER_SGX_OFF_ATTRIBUTES] |= 0x02;
		assert_int_equal(coffer_tdx_qe_signer_check(&r), COFFER_EVERIFY);
		free(q);
	}
}

static void test_sgx_v3(void **state)
{
	json_t *ev = evidence_of("sgx/trustee/occlum_quote.dat", NULL), *claims = NULL;
	size_t len;
	uint8_t *q;
	coffer_tdx_ctx *ctx;
	coffer_tdx_result r;

	(void)state;
	/* the Occlum sample is a debug enclave (ATTRIBUTES.DEBUG) */
	assert_int_equal(run_verifier(&claims, &coffer_verifier_sgx, ev, NULL, NULL, NOW_2026),
	                 COFFER_EDENIED);
	assert_int_equal(run_verifier(&claims, &coffer_verifier_sgx, ev, "{\"allow_debug\":true}",
	                              NULL, NOW_2026),
	                 0);
	assert_true(json_is_true(json_object_get(claims, "debug")));
	assert_string_equal(json_string_value(json_object_get(claims, "mr_enclave")),
	                    "8f173e4613ff05c52aaf04162d234edae8c9977eae47eb2299ae16a553011c68");
	assert_string_equal(json_string_value(json_object_get(claims, "mr_signer")),
	                    "83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e");
	assert_int_equal(json_integer_value(json_object_get(claims, "isv_prod_id")), 0);
	assert_int_equal(json_integer_value(json_object_get(claims, "isv_svn")), 0);
	assert_string_equal(json_string_value(json_object_get(claims, "fmspc")), "00606a000000");
	assert_true(strncmp(json_string_value(json_object_get(claims, "report_data")),
	                    "74657374000", 11) == 0);
	json_decref(claims);
	assert_int_equal(run_verifier(&claims, &coffer_verifier_tdx, ev, NULL, NULL, NOW_2026),
	                 COFFER_EVERIFY);
	assert_int_equal(run_verifier(&claims, &coffer_verifier_sgx, ev,
	                              "{\"allow_debug\":true,\"mr_enclave\":[\"00\"]}", NULL,
	                              NOW_2026),
	                 COFFER_EINVAL);
	/* a TD check on an enclave would be skipped: refused, not ignored */
	assert_int_equal(run_verifier(&claims, &coffer_verifier_sgx, ev,
	                              "{\"allow_debug\":true,\"mr_td\":[\"00\"]}", NULL, NOW_2026),
	                 COFFER_EINVAL);
	assert_non_null(strstr(coffer_error_last(), "TDX"));
	assert_int_equal(run_verifier(&claims, &coffer_verifier_sgx, ev,
	                              "{\"allow_debug\":true,\"rtmr\":{\"0\":\"00\"}}", NULL,
	                              NOW_2026),
	                 COFFER_EINVAL);
	json_decref(ev);
	/* certification data type 1 (PPID in clear, PCK certificate elsewhere) */
	q = vread("sgx/intel-dcap-qvl-sample/quote.dat", &len);
	ctx = ctx_plain();
	assert_int_equal(coffer_tdx_verify(&r, ctx, q, len, 1600000000), COFFER_EUNSUPPORTED);
	assert_non_null(strstr(coffer_error_last(), "type 5"));
	coffer_tdx_ctx_free(ctx);
	free(q);
	/* the 2019 sample's chain ends at Intel's test root, not the real one */
	q = vread("sgx/intel-dcap-sampleData-2019/quote.dat", &len);
	ctx = ctx_plain();
	assert_int_not_equal(coffer_tdx_verify(&r, ctx, q, len, 1600000000), 0);
	coffer_tdx_ctx_free(ctx);
	free(q);
}

/* --- event log ----------------------------------------------------------------- */

static void test_eventlog_replay(void **state)
{
	size_t len, ql;
	uint8_t *el = vread("tdx/go-tdx-guest/ccel/ccel_data.dat", &len);
	uint8_t *q = vread("tdx/go-tdx-guest/ccel/cos-113-tdx-quote.dat", &ql);
	coffer_tdx_eventlog log;
	uint8_t rtmr[4][48];

	(void)state;
	assert_int_equal(coffer_tdx_eventlog_parse(&log, el, len), 0);
	assert_true(log.count > 10);
	assert_int_equal(coffer_tdx_eventlog_replay(rtmr, &log), 0);
	for (int i = 0; i < 4; i++)
		assert_memory_equal(rtmr[i], q + 48 + COFFER_TDX_OFF_RTMR0 + 48 * i, 48);
	coffer_tdx_eventlog_clear(&log);
	/* truncations fail or stop cleanly, never read past the end */
	for (size_t n = 0; n < 18101; n += 97)
		if (coffer_tdx_eventlog_parse(&log, el, n) == 0)
			coffer_tdx_eventlog_clear(&log);
	free(el);
	free(q);

	/* trustee's logs (td-shim padded with 0x00, OVMF with 0xFF) parse */
	el = vread("tdx/trustee/CCEL_data", &len);
	assert_int_equal(coffer_tdx_eventlog_parse(&log, el, len), 0);
	assert_true(log.count > 0);
	coffer_tdx_eventlog_clear(&log);
	free(el);
	el = vread("tdx/trustee/CCEL_data_ovmf", &len);
	assert_int_equal(coffer_tdx_eventlog_parse(&log, el, len), 0);
	assert_int_equal(log.count, 20);
	coffer_tdx_eventlog_clear(&log);
	el[0x24] = 'X'; /* the Spec ID signature */
	assert_int_equal(coffer_tdx_eventlog_parse(&log, el, len), COFFER_EINVAL);
	free(el);
}

static void test_eventlog_verifier(void **state)
{
	json_t *ev = evidence_of("tdx/go-tdx-guest/ccel/cos-113-tdx-quote.dat",
	                         "tdx/go-tdx-guest/ccel/ccel_data.dat"),
	       *claims = NULL, *logs;

	(void)state;
	assert_int_equal(run_verifier(&claims, &coffer_verifier_tdx, ev, NULL, NULL, NOW_2026), 0);
	logs = json_object_get(claims, "uefi_event_logs");
	assert_true(json_array_size(logs) > 10);
	assert_non_null(json_object_get(json_array_get(logs, 0), "type_name"));
	/* every event says which register it claims: 0 (MRTD, not replayable,
	 * docs/tdx.md) or 1..4 (RTMR0..3, replayed against the quote) */
	for (size_t i = 0; i < json_array_size(logs); i++) {
		json_t *ix = json_object_get(json_array_get(logs, i), "index");
		assert_true(json_is_integer(ix));
		assert_true(json_integer_value(ix) >= 0 && json_integer_value(ix) <= 4);
		if (json_integer_value(ix) == 0)
			print_message("event %zu: index 0 (not replayable)\n", i);
	}
	json_decref(claims);
	json_decref(ev);
	/* an event with index 0 (MRTD) inserted after the Spec ID event: it is
	 * not replayable, so verification still succeeds, and the claims mark
	 * it "index": 0 for policies to tell (docs/tdx.md) */
	{
		size_t ql, ll, hl, nl;
		uint8_t *q = vread("tdx/go-tdx-guest/ccel/cos-113-tdx-quote.dat", &ql);
		uint8_t *el = vread("tdx/go-tdx-guest/ccel/ccel_data.dat", &ll), *nel;
		uint8_t rec[12 + 2 + 48 + 4 + 4] = { 0 };
		char *b64 = NULL;
		bool seen = false;

		assert_true(ll > 32);
		hl = 32 + ((size_t)el[28] | (size_t)el[29] << 8 | (size_t)el[30] << 16 |
		           (size_t)el[31] << 24);
		assert_true(hl < ll);
		rec[4] = 0x06;              /* EV_EVENT_TAG; index 0 */
		rec[8] = 1;                 /* one digest */
		rec[12] = 0x0c;             /* SHA-384 */
		memset(rec + 14, 0xaa, 48); /* not the event's digest */
		rec[62] = 4;
		memcpy(rec + 66, "EVIL", 4);
		nl = ll + sizeof(rec);
		nel = malloc(nl);
		assert_non_null(nel);
		memcpy(nel, el, hl);
		memcpy(nel + hl, rec, sizeof(rec));
		memcpy(nel + hl + sizeof(rec), el + hl, ll - hl);
		assert_int_equal(coffer_base64_encode(&b64, NULL, q, ql, COFFER_B64_STD), 0);
		ev = json_pack("{s:s}", "quote", b64);
		free(b64);
		assert_int_equal(coffer_base64_encode(&b64, NULL, nel, nl, COFFER_B64_STD), 0);
		json_object_set_new(ev, "cc_eventlog", json_string(b64));
		free(b64);
		if (run_verifier(&claims, &coffer_verifier_tdx, ev, NULL, NULL, NOW_2026) != 0)
			fail_msg("index-0 event: %s", coffer_error_last());
		logs = json_object_get(claims, "uefi_event_logs");
		for (size_t i = 0; i < json_array_size(logs); i++) {
			json_t *e = json_array_get(logs, i);
			const char *data = json_string_value(json_object_get(e, "event"));
			if (data && strcmp(data, "RVZJTA==") == 0) { /* "EVIL" */
				assert_int_equal(json_integer_value(json_object_get(e, "index")),
				                 0);
				seen = true;
			}
		}
		assert_true(seen);
		json_decref(claims);
		json_decref(ev);
		free(nel);
		free(el);
		free(q);
	}
	/* a log that is not this quote's */
	ev = evidence_of("tdx/go-tdx-guest/ccel/cos-113-tdx-quote.dat",
	                 "tdx/trustee/CCEL_data_ovmf");
	assert_int_equal(run_verifier(&claims, &coffer_verifier_tdx, ev, NULL, NULL, NOW_2026),
	                 COFFER_EVERIFY);
	assert_non_null(strstr(coffer_error_last(), "RTMR0"));
	json_decref(ev);
}

/* --- simulated TDX ------------------------------------------------------------- */

/* A CRL from the sim root that revokes the TCB signing certificate. */
static void write_tcb_signer_revocation(const char *dir, const char *crl_path)
{
	char kp[600], cp[600];
	FILE *f;
	EVP_PKEY *root_k;
	X509 *root, *tcb;
	X509_CRL *crl = X509_CRL_new();
	X509_REVOKED *rev = X509_REVOKED_new();
	ASN1_TIME *t = ASN1_TIME_new();
	unsigned char *der = NULL;
	int n;

	snprintf(kp, sizeof(kp), "%s/tdx/root.key", dir);
	assert_non_null(f = fopen(kp, "r"));
	root_k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	snprintf(cp, sizeof(cp), "%s/tdx/root.pem", dir);
	assert_non_null(f = fopen(cp, "r"));
	root = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	snprintf(cp, sizeof(cp), "%s/tdx/tcb_signing.pem", dir);
	assert_non_null(f = fopen(cp, "r"));
	tcb = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_true(root_k && root && tcb && crl && rev && t);
	assert_int_equal(X509_CRL_set_version(crl, 1), 1);
	assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(root)), 1);
	assert_non_null(X509_gmtime_adj(t, 0));
	assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
	assert_int_equal(X509_REVOKED_set_revocationDate(rev, t), 1);
	assert_non_null(X509_gmtime_adj(t, 30L * 86400));
	assert_int_equal(X509_CRL_set1_nextUpdate(crl, t), 1);
	assert_int_equal(X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(tcb)), 1);
	assert_int_equal(X509_CRL_add0_revoked(crl, rev), 1);
	assert_true(X509_CRL_sign(crl, root_k, EVP_sha256()) > 0);
	assert_true((n = i2d_X509_CRL(crl, &der)) > 0);
	assert_non_null(f = fopen(crl_path, "w"));
	assert_int_equal(fwrite(der, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	OPENSSL_free(der);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	X509_free(root);
	X509_free(tcb);
	EVP_PKEY_free(root_k);
}

static void test_sim(void **state)
{
	char dir[] = "/tmp/tdx_test_simXXXXXX";
	char root[600], coll[600];
	sim_tdx_params sp;
	uint8_t *q = NULL;
	size_t qlen = 0;
	coffer_tdx_ctx_options o = COFFER_TDX_CTX_OPTIONS_INIT;
	coffer_tdx_ctx *ctx = NULL;
	coffer_tdx_result r;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(sim_tdx_init(dir), 0);
	snprintf(root, sizeof(root), "%s/tdx/root.pem", dir);
	snprintf(coll, sizeof(coll), "%s/tdx/collateral", dir);

	sim_tdx_params_init(&sp);
	memset(sp.report_data, 0xab, 64);
	memset(sp.mr_td, 0x11, 48);
	memset(sp.mr_config_id, 0x22, 48);
	memset(sp.rtmr[2], 0x33, 48);
	assert_int_equal(sim_tdx_quote(&q, &qlen, dir, &sp), 0);

	/* the real Intel root alone does not trust it */
	ctx = ctx_plain();
	assert_int_equal(coffer_tdx_verify(&r, ctx, q, qlen, 0), COFFER_EVERIFY);
	coffer_tdx_ctx_free(ctx);

	o.sim_root = root;
	o.no_intel_root = true;
	o.collateral_dir = coll;
	assert_int_equal(coffer_tdx_ctx_new(&ctx, &o), 0);
	if (coffer_tdx_verify(&r, ctx, q, qlen, 0) != 0)
		fail_msg("sim quote: %s", coffer_error_last());
	assert_string_equal(r.root, "sim");
	assert_int_equal(r.quote.version, 4);
	assert_int_equal(r.tcb_status, COFFER_TDX_TCB_UP_TO_DATE);
	assert_memory_equal(r.quote.body + COFFER_TDX_OFF_MR_TD, sp.mr_td, 48);
	assert_memory_equal(r.quote.body + COFFER_TDX_OFF_RTMR0 + 96, sp.rtmr[2], 48);
	assert_memory_equal(r.pck.fmspc, SIM_TDX_FMSPC, 6);
	coffer_tdx_result_clear(&r);
	free(q);

	/* an old TDX module SVN: OutOfDate by the sim TCB info */
	sp.tee_tcb_svn[0] = 1;
	assert_int_equal(sim_tdx_quote(&q, &qlen, dir, &sp), 0);
	assert_int_equal(coffer_tdx_verify(&r, ctx, q, qlen, 0), 0);
	assert_int_equal(r.tcb_status, COFFER_TDX_TCB_OUT_OF_DATE);
	assert_true(json_array_size(r.advisory_ids) > 0);
	coffer_tdx_result_clear(&r);
	free(q);

	/* debug, through the registry: refused; v5 quote verifies */
	sim_tdx_params_init(&sp);
	sp.debug = true;
	sp.version = 5;
	assert_int_equal(sim_tdx_quote(&q, &qlen, dir, &sp), 0);
	{
		char *b64 = NULL;
		json_t *ev, *claims = NULL;
		coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;

		assert_int_equal(coffer_base64_encode(&b64, NULL, q, qlen, COFFER_B64_STD), 0);
		ev = json_pack("{s:s}", "quote", b64);
		free(b64);
		p.sim_root = root;
		p.collateral_dir = coll;
		assert_int_equal(coffer_verifier_tdx_sim.verify(&claims, ev, &p), COFFER_EDENIED);
		assert_non_null(strstr(coffer_error_last(), "debug"));
		/* without a configured sim root: never trusted */
		p.sim_root = NULL;
		assert_int_not_equal(coffer_verifier_tdx.verify(&claims, ev, &p), 0);
		json_decref(ev);
	}
	free(q);
	coffer_tdx_ctx_free(ctx);

	/* a CRL from the sim PCK CA that revokes the leaf */
	{
		char crl[700];
		snprintf(crl, sizeof(crl), "%s/pck-revoked.crl", coll);
		assert_int_equal(sim_tdx_write_revocation(dir, crl), 0);
		assert_int_equal(coffer_tdx_ctx_new(&ctx, &o), 0);
		sim_tdx_params_init(&sp);
		assert_int_equal(sim_tdx_quote(&q, &qlen, dir, &sp), 0);
		assert_int_equal(coffer_tdx_verify(&r, ctx, q, qlen, 0), COFFER_EVERIFY);
		assert_non_null(strstr(coffer_error_last(), "revoked"));
		free(q);
		coffer_tdx_ctx_free(ctx);
		unlink(crl);
	}
	/* a CRL from the root that revokes the TCB signing certificate: the
	 * TCB info and QE identity it signed are not evidence of anything */
	{
		char crl[700];
		snprintf(crl, sizeof(crl), "%s/tcb-signer-revoked.crl", coll);
		write_tcb_signer_revocation(dir, crl);
		assert_int_equal(coffer_tdx_ctx_new(&ctx, &o), 0);
		sim_tdx_params_init(&sp);
		assert_int_equal(sim_tdx_quote(&q, &qlen, dir, &sp), 0);
		if (coffer_tdx_verify(&r, ctx, q, qlen, 0) != COFFER_EVERIFY) {
			coffer_tdx_result_clear(&r);
			fail_msg("collateral from a revoked TCB signing certificate was used");
		}
		assert_non_null(strstr(coffer_error_last(), "TCB signing certificate"));
		assert_non_null(strstr(coffer_error_last(), "revoked"));
		free(q);
		coffer_tdx_ctx_free(ctx);
		unlink(crl);
	}
	sim_tdx_remove(dir);
}

/* --- TCB evaluation branches, with collateral signed by the sim key ----------- */

static char sim_dir[64];

static void comps_json(char *out, size_t n, const uint8_t *c)
{
	size_t o = 0;

	o += (size_t)snprintf(out + o, n - o, "[");
	for (int i = 0; i < 16; i++)
		o += (size_t)snprintf(out + o, n - o, "%s{\"svn\":%u}", i ? "," : "", c[i]);
	snprintf(out + o, n - o, "]");
}

/* one TCB level: sgx components 5,5,2,2,3,1,0,3 (the sim PCK), pcesvn, tdx */
static void level_json(char *out, size_t n, unsigned pcesvn, const uint8_t tdx[16],
                       const char *status)
{
	static const uint8_t sgx[16] = { 5, 5, 2, 2, 3, 1, 0, 3 };
	char a[400], b[400];

	comps_json(a, sizeof(a), sgx);
	comps_json(b, sizeof(b), tdx);
	snprintf(out, n,
	         "{\"tcb\":{\"sgxtcbcomponents\":%s,\"pcesvn\":%u,\"tdxtcbcomponents\":%s},"
	         "\"tcbDate\":\"2026-01-01T00:00:00Z\",\"tcbStatus\":\"%s\","
	         "\"advisoryIDs\":[\"INTEL-SA-TEST\"]}",
	         a, pcesvn, b, status);
}

static void tcb_json(char *out, size_t n, int version, const char *pceid, const char *module,
                     const char *levels, unsigned eval)
{
	snprintf(out, n,
	         "{\"id\":\"TDX\",\"version\":%d,\"issueDate\":\"2026-01-01T00:00:00Z\","
	         "\"nextUpdate\":\"2099-01-01T00:00:00Z\",\"fmspc\":\"00c0ffee0000\",\"pceId\":\"%"
	         "s\","
	         "\"tcbType\":0,\"tcbEvaluationDataNumber\":%u%s,\"tcbLevels\":[%s]}",
	         version, pceid, eval, module, levels);
}

static void qe_json(char *out, size_t n, const char *mrsigner, unsigned prodid, const char *misc,
                    const char *attrs, unsigned isvsvn, const char *status)
{
	char mrs[65];
	uint8_t m[32];

	sim_tdx_qe_mrsigner(m);
	hex_of(mrs, m, 32);
	snprintf(out, n,
	         "{\"id\":\"TD_QE\",\"version\":2,\"issueDate\":\"2026-01-01T00:00:00Z\","
	         "\"nextUpdate\":\"2099-01-01T00:00:00Z\",\"tcbEvaluationDataNumber\":1,"
	         "\"miscselect\":\"%s\",\"miscselectMask\":\"FFFFFFFF\",\"attributes\":\"%s\","
	         "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\",\"mrsigner\":\"%s\","
	         "\"isvprodid\":%u,\"tcbLevels\":[{\"tcb\":{\"isvsvn\":%u},\"tcbDate\":"
	         "\"2026-01-01T00:00:00Z\",\"tcbStatus\":\"%s\"}]}",
	         misc, attrs, mrsigner ? mrsigner : mrs, prodid, isvsvn, status);
}

static const char good_attrs[] = "11000000000000000000000000000000";

static int add_signed(coffer_tdx_ctx *ctx, const char *member, const char *body)
{
	uint8_t *doc = NULL;
	size_t len = 0;
	int rc;

	assert_int_equal(sim_tdx_sign_collateral(&doc, &len, sim_dir, member, body), 0);
	rc = coffer_tdx_ctx_add_collateral(ctx, NULL, NULL, doc, len);
	free(doc);
	return rc;
}

static coffer_tdx_ctx *sim_ctx(void)
{
	coffer_tdx_ctx_options o = COFFER_TDX_CTX_OPTIONS_INIT;
	coffer_tdx_ctx *ctx = NULL;
	char root[128], chain[160];
	size_t len;
	uint8_t *d;

	snprintf(root, sizeof(root), "%s/tdx/root.pem", sim_dir);
	snprintf(chain, sizeof(chain), "%s/tdx/collateral/tcb_signing_chain.pem", sim_dir);
	o.sim_root = root;
	o.no_intel_root = true;
	assert_int_equal(coffer_tdx_ctx_new(&ctx, &o), 0);
	d = test_read_file(chain, &len);
	assert_int_equal(coffer_tdx_ctx_add_collateral(ctx, NULL, NULL, d, len), 0);
	free(d);
	return ctx;
}

/* Verify a sim quote with TEE_TCB_SVN `svn` against the given collateral;
 * returns the rc and fills *status. */
static int sim_eval(coffer_tdx_tcb_status *status, const char *tcb, const char *qe,
                    const uint8_t svn[3])
{
	coffer_tdx_ctx *ctx = sim_ctx();
	sim_tdx_params sp;
	coffer_tdx_result r;
	uint8_t *q = NULL;
	size_t qlen = 0;
	int rc;

	assert_int_equal(add_signed(ctx, "tcbInfo", tcb), 0);
	assert_int_equal(add_signed(ctx, "enclaveIdentity", qe), 0);
	sim_tdx_params_init(&sp);
	memcpy(sp.tee_tcb_svn, svn, 3);
	assert_int_equal(sim_tdx_quote(&q, &qlen, sim_dir, &sp), 0);
	rc = coffer_tdx_verify(&r, ctx, q, qlen, 0);
	*status = rc == 0 ? r.tcb_status : COFFER_TDX_TCB_UNKNOWN;
	if (rc == 0)
		coffer_tdx_result_clear(&r);
	free(q);
	coffer_tdx_ctx_free(ctx);
	return rc;
}

#define EVAL_FAILS(reason, tcb, qe, svn)                                                      \
	do {                                                                                  \
		coffer_tdx_tcb_status st_;                                                    \
		int rc_ = sim_eval(&st_, tcb, qe, svn);                                       \
		if (rc_ != COFFER_EVERIFY || strstr(coffer_error_last(), reason) == NULL)     \
			fail_msg("want '%s', got %d '%s'", reason, rc_, coffer_error_last()); \
	} while (0)

#define EVAL_GIVES(want, tcb, qe, svn)                                                             \
	do {                                                                                       \
		coffer_tdx_tcb_status st_;                                                         \
		int rc_ = sim_eval(&st_, tcb, qe, svn);                                            \
		if (rc_ != 0 || st_ != (want))                                                     \
			fail_msg("want %s, got %d %s '%s'", coffer_tdx_tcb_status_name(want), rc_, \
			         coffer_tdx_tcb_status_name(st_), coffer_error_last());            \
	} while (0)

static char race_crl[200];
static int race_added;

/* runs inside coffer_tdx_pck_chain_verify after the chain has been checked
 * against the CRLs known then, before it is cached */
static void race_add_crl(coffer_tdx_ctx *ctx)
{
	size_t cl;
	uint8_t *cd = test_read_file(race_crl, &cl);

	race_added = coffer_tdx_ctx_add_collateral(ctx, NULL, NULL, cd, cl) == 0;
	free(cd);
}

/* A CRL added while a verification is in progress: that verification must
 * not cache the chain the new CRL revokes (review finding: the next
 * verification would take it from the cache and never see the CRL). */
static void test_crl_added_during_verify(void **state)
{
	static const uint8_t up[16] = { 3, 0, 5 };
	char l1[2048], tcb[8192], qe[2048];
	coffer_tdx_ctx *ctx;
	sim_tdx_params sp;
	coffer_tdx_result r;
	uint8_t *q = NULL;
	size_t qlen = 0;

	(void)state;
	snprintf(sim_dir, sizeof(sim_dir), "/tmp/tdx_test_raceXXXXXX");
	assert_non_null(mkdtemp(sim_dir));
	assert_int_equal(sim_tdx_init(sim_dir), 0);
	level_json(l1, sizeof(l1), 11, up, "UpToDate");
	tcb_json(tcb, sizeof(tcb), 3, "0000", "", l1, 1);
	qe_json(qe, sizeof(qe), NULL, 2, "00000000", good_attrs, 4, "UpToDate");
	ctx = sim_ctx();
	assert_int_equal(add_signed(ctx, "tcbInfo", tcb), 0);
	assert_int_equal(add_signed(ctx, "enclaveIdentity", qe), 0);
	sim_tdx_params_init(&sp);
	assert_int_equal(sim_tdx_quote(&q, &qlen, sim_dir, &sp), 0);
	snprintf(race_crl, sizeof(race_crl), "%s/race.crl", sim_dir);
	assert_int_equal(sim_tdx_write_revocation(sim_dir, race_crl), 0);

	/* this verification started before the CRL: it may succeed */
	race_added = 0;
	coffer_tdx_pck_test_hook = race_add_crl;
	assert_int_equal(coffer_tdx_verify(&r, ctx, q, qlen, 0), 0);
	coffer_tdx_pck_test_hook = NULL;
	coffer_tdx_result_clear(&r);
	assert_true(race_added);
	/* the next one must see the CRL, not a cached chain */
	if (coffer_tdx_verify(&r, ctx, q, qlen, 0) != COFFER_EVERIFY) {
		coffer_tdx_result_clear(&r);
		fail_msg("a chain revoked by a CRL added during its verification was cached "
		         "and accepted afterwards");
	}
	assert_non_null(strstr(coffer_error_last(), "revoked"));
	unlink(race_crl);
	free(q);
	coffer_tdx_ctx_free(ctx);
	sim_tdx_remove(sim_dir);
}

static void test_sim_tcb_branches(void **state)
{
	static const uint8_t up[16] = { 3, 0, 5 }, zero[16] = { 0 }, svn305[3] = { 3, 0, 5 },
	                     svn335[3] = { 3, 3, 5 }, mod3[16] = { 0, 0, 5 };
	char l1[2048], l2[2048], levels[4200], tcb[8192], qe[2048], mod[2048];
	const char *zero48 = "000000000000000000000000000000000000000000000000"
	                     "000000000000000000000000000000000000000000000000";

	(void)state;
	snprintf(sim_dir, sizeof(sim_dir), "/tmp/tdx_test_evalXXXXXX");
	assert_non_null(mkdtemp(sim_dir));
	assert_int_equal(sim_tdx_init(sim_dir), 0);
	level_json(l1, sizeof(l1), 11, up, "UpToDate");
	level_json(l2, sizeof(l2), 11, zero, "OutOfDate");
	snprintf(levels, sizeof(levels), "%s,%s", l1, l2);
	qe_json(qe, sizeof(qe), NULL, 2, "00000000", good_attrs, 4, "UpToDate");

	/* baseline and level selection */
	tcb_json(tcb, sizeof(tcb), 3, "0000", "", levels, 1);
	EVAL_GIVES(COFFER_TDX_TCB_UP_TO_DATE, tcb, qe, svn305);
	EVAL_GIVES(COFFER_TDX_TCB_OUT_OF_DATE, tcb, qe, ((const uint8_t[3]){ 2, 0, 5 }));
	/* PCESVN above the platform's: skipped; nothing else matches */
	level_json(l1, sizeof(l1), 12, up, "UpToDate");
	tcb_json(tcb, sizeof(tcb), 3, "0000", "", l1, 1);
	EVAL_FAILS("no TCB level", tcb, qe, svn305);
	/* each status name round-trips */
	static const char *const names[] = { "SWHardeningNeeded", "ConfigurationNeeded",
		                             "ConfigurationAndSWHardeningNeeded",
		                             "OutOfDateConfigurationNeeded", "Revoked" };
	for (size_t i = 0; i < 5; i++) {
		coffer_tdx_tcb_status want;
		assert_int_equal(coffer_tdx_tcb_status_parse(&want, names[i]), 0);
		level_json(l1, sizeof(l1), 11, up, names[i]);
		tcb_json(tcb, sizeof(tcb), 3, "0000", "", l1, 1);
		EVAL_GIVES(want, tcb, qe, svn305);
	}
	/* PCE-ID */
	tcb_json(tcb, sizeof(tcb), 3, "0100", "", levels, 1);
	EVAL_FAILS("PCE-ID", tcb, qe, svn305);
	/* QE identity mismatches, and an out-of-date QE converging */
	tcb_json(tcb, sizeof(tcb), 3, "0000", "", levels, 1);
	qe_json(qe, sizeof(qe), "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	        2, "00000000", good_attrs, 4, "UpToDate");
	EVAL_FAILS("MRSIGNER", tcb, qe, svn305);
	qe_json(qe, sizeof(qe), NULL, 3, "00000000", good_attrs, 4, "UpToDate");
	EVAL_FAILS("ISVPRODID", tcb, qe, svn305);
	qe_json(qe, sizeof(qe), NULL, 2, "00000001", good_attrs, 4, "UpToDate");
	EVAL_FAILS("MISCSELECT", tcb, qe, svn305);
	qe_json(qe, sizeof(qe), NULL, 2, "00000000", "13000000000000000000000000000000", 4,
	        "UpToDate");
	EVAL_FAILS("ATTRIBUTES", tcb, qe, svn305);
	qe_json(qe, sizeof(qe), NULL, 2, "00000000", good_attrs, 4, "OutOfDate");
	EVAL_GIVES(COFFER_TDX_TCB_OUT_OF_DATE, tcb, qe, svn305);
	qe_json(qe, sizeof(qe), NULL, 2, "00000000", good_attrs, 9, "UpToDate");
	EVAL_GIVES(COFFER_TDX_TCB_OUT_OF_DATE, tcb, qe, svn305); /* QE below every level */
	qe_json(qe, sizeof(qe), NULL, 2, "00000000", good_attrs, 4, "Revoked");
	EVAL_GIVES(COFFER_TDX_TCB_REVOKED, tcb, qe, svn305);
	qe_json(qe, sizeof(qe), NULL, 2, "00000000", good_attrs, 4, "UpToDate");

	/* TDX module, TEE_TCB_SVN[1] = 0: tdxModule must match */
	snprintf(mod, sizeof(mod),
	         ",\"tdxModule\":{\"mrsigner\":\"%.94s01\",\"attributes\":\"0000000000000000\","
	         "\"attributesMask\":\"FFFFFFFFFFFFFFFF\"}",
	         zero48);
	tcb_json(tcb, sizeof(tcb), 3, "0000", mod, levels, 1);
	EVAL_FAILS("MRSIGNER_SEAM", tcb, qe, svn305);
	/* TEE_TCB_SVN[1] = 3: module identity TDX_03 */
	level_json(l1, sizeof(l1), 11, mod3, "UpToDate");
	tcb_json(tcb, sizeof(tcb), 3, "0000", "", l1, 1);
	EVAL_FAILS("", tcb, qe, ((const uint8_t[3]){ 3, 3, 4 })); /* 4 < 5: no level */
	snprintf(mod, sizeof(mod),
	         ",\"tdxModuleIdentities\":[{\"id\":\"TDX_01\",\"mrsigner\":\"%s\",\"attributes\":"
	         "\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\",\"tcbLevels\":[{"
	         "\"tcb\":{\"isvsvn\":1},\"tcbStatus\":\"UpToDate\"}]}]",
	         zero48);
	tcb_json(tcb, sizeof(tcb), 3, "0000", mod, l1, 1);
	EVAL_FAILS("TDX_03 not in the TCB info", tcb, qe, svn335);
	snprintf(mod, sizeof(mod),
	         ",\"tdxModuleIdentities\":[{\"id\":\"TDX_03\",\"mrsigner\":\"%.94s01\","
	         "\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\","
	         "\"tcbLevels\":[{\"tcb\":{\"isvsvn\":1},\"tcbStatus\":\"UpToDate\"}]}]",
	         zero48);
	tcb_json(tcb, sizeof(tcb), 3, "0000", mod, l1, 1);
	EVAL_FAILS("TDX_03: MRSIGNER_SEAM", tcb, qe, svn335);
	snprintf(mod, sizeof(mod),
	         ",\"tdxModuleIdentities\":[{\"id\":\"TDX_03\",\"mrsigner\":\"%s\",\"attributes\":"
	         "\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\",\"tcbLevels\":[{"
	         "\"tcb\":{\"isvsvn\":4},\"tcbStatus\":\"UpToDate\"},{\"tcb\":{\"isvsvn\":2},"
	         "\"tcbStatus\":\"OutOfDate\",\"advisoryIDs\":[\"INTEL-SA-MODULE\"]}]}]",
	         zero48);
	tcb_json(tcb, sizeof(tcb), 3, "0000", mod, l1, 1);
	EVAL_GIVES(COFFER_TDX_TCB_UP_TO_DATE, tcb, qe, ((const uint8_t[3]){ 4, 3, 5 }));
	EVAL_GIVES(COFFER_TDX_TCB_OUT_OF_DATE, tcb, qe, svn335);
	EVAL_FAILS("below every level", tcb, qe, ((const uint8_t[3]){ 1, 3, 5 }));

	/* the highest evaluation number wins */
	{
		coffer_tdx_ctx *ctx = sim_ctx();
		sim_tdx_params sp;
		coffer_tdx_result r;
		uint8_t *q;
		size_t qlen;

		tcb_json(tcb, sizeof(tcb), 3, "0000", "", levels, 1);
		assert_int_equal(add_signed(ctx, "tcbInfo", tcb), 0);
		level_json(l1, sizeof(l1), 11, zero, "OutOfDate");
		tcb_json(tcb, sizeof(tcb), 3, "0000", "", l1, 2);
		assert_int_equal(add_signed(ctx, "tcbInfo", tcb), 0);
		assert_int_equal(add_signed(ctx, "enclaveIdentity", qe), 0);
		sim_tdx_params_init(&sp);
		assert_int_equal(sim_tdx_quote(&q, &qlen, sim_dir, &sp), 0);
		assert_int_equal(coffer_tdx_verify(&r, ctx, q, qlen, 0), 0);
		assert_int_equal(r.tcb_status, COFFER_TDX_TCB_OUT_OF_DATE);
		assert_int_equal(r.tcb_eval_number, 1); /* min of TCB info and QE identity */
		coffer_tdx_result_clear(&r);

		/* malformed or unsupported collateral is refused at the door */
		tcb_json(tcb, sizeof(tcb), 2, "0000", "", levels, 3);
		assert_int_equal(add_signed(ctx, "tcbInfo", tcb), COFFER_EUNSUPPORTED);
		tcb_json(tcb, sizeof(tcb), 3, "00", "", levels, 3);
		assert_int_equal(add_signed(ctx, "tcbInfo", tcb), COFFER_EINVAL);
		tcb_json(tcb, sizeof(tcb), 3, "0000", "", "", 3);
		assert_int_equal(add_signed(ctx, "tcbInfo", tcb), COFFER_EINVAL);
		level_json(l1, sizeof(l1), 11, up, "Fine");
		tcb_json(tcb, sizeof(tcb), 3, "0000", "", l1, 3);
		assert_int_equal(add_signed(ctx, "tcbInfo", tcb), COFFER_EINVAL);
		assert_int_equal(add_signed(ctx, "tcbInfo",
		                            "{\"id\":\"TDX\",\"version\":3,"
		                            "\"issueDate\":\"yesterday\"}"),
		                 COFFER_EINVAL);
		assert_int_equal(
		        add_signed(ctx, "enclaveIdentity", "{\"id\":\"QVE\",\"version\":2}"),
		        COFFER_EUNSUPPORTED);
		assert_int_equal(
		        add_signed(ctx, "enclaveIdentity", "{\"id\":\"TD_QE\",\"version\":3}"),
		        COFFER_EUNSUPPORTED);
		assert_int_equal(add_signed(ctx, "enclaveIdentity", "[1,2]"), COFFER_EUNSUPPORTED);

		/* a CRL added after the chain was cached still applies */
		{
			char crl[200];
			size_t cl;
			uint8_t *cd;
			snprintf(crl, sizeof(crl), "%s/revoked.crl", sim_dir);
			assert_int_equal(sim_tdx_write_revocation(sim_dir, crl), 0);
			cd = test_read_file(crl, &cl);
			assert_int_equal(coffer_tdx_ctx_add_collateral(ctx, NULL, NULL, cd, cl), 0);
			assert_int_equal(coffer_tdx_verify(&r, ctx, q, qlen, 0), COFFER_EVERIFY);
			assert_non_null(strstr(coffer_error_last(), "revoked"));
			free(cd);
			unlink(crl);
		}
		free(q);
		coffer_tdx_ctx_free(ctx);
	}
	sim_tdx_remove(sim_dir);
}

static void test_status_order(void **state)
{
	(void)state;
	assert_true(
	        coffer_tdx_tcb_status_meets(COFFER_TDX_TCB_UP_TO_DATE, COFFER_TDX_TCB_UP_TO_DATE));
	assert_true(coffer_tdx_tcb_status_meets(COFFER_TDX_TCB_SW_HARDENING_NEEDED,
	                                        COFFER_TDX_TCB_OUT_OF_DATE));
	assert_false(coffer_tdx_tcb_status_meets(COFFER_TDX_TCB_OUT_OF_DATE,
	                                         COFFER_TDX_TCB_CONFIGURATION_NEEDED));
	assert_false(
	        coffer_tdx_tcb_status_meets(COFFER_TDX_TCB_REVOKED, COFFER_TDX_TCB_OUT_OF_DATE));
	assert_false(coffer_tdx_tcb_status_meets(COFFER_TDX_TCB_UNKNOWN, COFFER_TDX_TCB_REVOKED));
	assert_string_equal(coffer_tdx_tcb_status_name(COFFER_TDX_TCB_UNKNOWN), "unknown");
	assert_string_equal(coffer_tdx_tcb_status_name((coffer_tdx_tcb_status)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest vector_tests[] = {
		cmocka_unit_test(test_builtin_root),
		cmocka_unit_test(test_positive_vectors),
		cmocka_unit_test(test_negative_vectors),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_parse_lengths),
		cmocka_unit_test(test_collateral_pairings),
		cmocka_unit_test(test_collateral_rejects),
		cmocka_unit_test(test_crls_real),
		cmocka_unit_test(test_claims_trustee),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_binding),
		cmocka_unit_test(test_collateral_dir),
		cmocka_unit_test(test_collateral_store),
		cmocka_unit_test(test_collateral_crls_fail_closed),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_sgx_v3),
		cmocka_unit_test(test_qe_signer_without_collateral),
		cmocka_unit_test(test_eventlog_replay),
		cmocka_unit_test(test_eventlog_verifier),
	};
	const struct CMUnitTest sim_tests[] = {
		cmocka_unit_test(test_sim),
		cmocka_unit_test(test_sim_tcb_branches),
		cmocka_unit_test(test_crl_added_during_verify),
		cmocka_unit_test(test_status_order),
	};
	int failed;

	failed = cmocka_run_group_tests_name("tdx_sim", sim_tests, NULL, NULL);
	vec = test_env_dir("COFFER_VECTORS");
	if (vec == NULL) {
		fprintf(stderr, "SKIPPED: COFFER_VECTORS absent: vector tests not run\n");
		return failed ? 1 : TEST_SKIP_RC;
	}
	return failed | cmocka_run_group_tests_name("tdx_vectors", vector_tests, NULL, NULL);
}
