/*
 * SEV-SNP: real vectors (COFFER_VECTORS/snp, expected values from its
 * README), the negatives, a byte-flip mutation over every signed and
 * signature byte, and the chain/TCB/owner checks with the simulated hierarchy.
 */
#include <stdbool.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "coffer/codec.h"
#include "coffer/evidence.h"
#include "coffer/snp.h"
#include "sim_snp.h"
#include "snp/snp_internal.h"
#include "test_util.h"

static const char *vectors;
static sim_snp *sim;
static char simdir[64];
static char sim_root[128];

static void vpath(char *out, size_t n, const char *rel)
{
	snprintf(out, n, "%s/snp/%s", vectors, rel);
}

static bool vexists(const char *rel)
{
	char p[1024];
	vpath(p, sizeof(p), rel);
	return access(p, R_OK) == 0;
}

static uint8_t *vread(const char *rel, size_t *len)
{
	char p[1024];
	vpath(p, sizeof(p), rel);
	return test_read_file(p, len);
}

/* DER of the first certificate in a DER or PEM file */
static uint8_t *cert_der(const uint8_t *data, size_t len, size_t *out_len)
{
	if (len > 11 && memcmp(data, "-----BEGIN ", 11) == 0) {
		BIO *b = BIO_new_mem_buf(data, (int)len);
		X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		unsigned char *p = NULL;
		int n;
		assert_non_null(x);
		n = i2d_X509(x, &p);
		assert_true(n > 0);
		X509_free(x);
		BIO_free(b);
		*out_len = (size_t)n;
		uint8_t *copy = malloc((size_t)n);
		memcpy(copy, p, (size_t)n);
		OPENSSL_free(p);
		return copy;
	}
	uint8_t *copy = malloc(len);
	memcpy(copy, data, len);
	*out_len = len;
	return copy;
}

static json_t *bytes_json(const uint8_t *p, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer(p[i]));
	return a;
}

/* evidence {"attestation_report_b64", "cert_chain": [{type, data}]} */
static json_t *evidence_raw(const uint8_t *rep, size_t rep_len, const char *type,
                            const uint8_t *der, size_t der_len)
{
	char *b64 = NULL;
	size_t bl = 0;
	json_t *ev;

	assert_int_equal(coffer_base64_encode(&b64, &bl, rep, rep_len, COFFER_B64_STD), 0);
	ev = json_pack("{s:s}", "attestation_report_b64", b64);
	free(b64);
	if (type != NULL) {
		json_t *chain = json_array();
		json_array_append_new(chain, json_pack("{s:s,s:o}", "cert_type", type, "data",
		                                       bytes_json(der, der_len)));
		json_object_set_new(ev, "cert_chain", chain);
	}
	return ev;
}

static void chain_add(json_t *ev, const char *type, const uint8_t *der, size_t len)
{
	json_t *chain = json_object_get(ev, "cert_chain");
	if (chain == NULL) {
		chain = json_array();
		json_object_set_new(ev, "cert_chain", chain);
	}
	json_array_append_new(
	        chain, json_pack("{s:s,s:o}", "cert_type", type, "data", bytes_json(der, len)));
}

static int verify_files(json_t **claims, const char *rep_rel, const char *vek_rel, const char *type,
                        const coffer_verify_params *p)
{
	size_t rl, vl, dl;
	uint8_t *rep = vread(rep_rel, &rl);
	uint8_t *vek = vread(vek_rel, &vl);
	uint8_t *der = cert_der(vek, vl, &dl);
	json_t *ev = evidence_raw(rep, rl, type, der, dl);
	int rc;

	*claims = NULL;
	rc = coffer_evidence_verify(claims, "snp", ev, p);
	json_decref(ev);
	free(rep);
	free(vek);
	free(der);
	return rc;
}

static void expect_claim(const json_t *c, const char *k, const char *hex)
{
	const char *v = json_string_value(json_object_get(c, k));
	if (v == NULL || strcmp(v, hex) != 0)
		fail_msg("claim %s = %s, expected %s", k, v ? v : "(none)", hex);
}

static void expect_int(const json_t *c, const char *k, json_int_t want)
{
	const json_t *v = json_object_get(c, k);
	if (!json_is_integer(v) || json_integer_value(v) != want)
		fail_msg("claim %s = %lld, expected %lld", k,
		         v ? (long long)json_integer_value(v) : -1LL, (long long)want);
}

static void expect_fail(int rc, const char *substr)
{
	if (rc == 0)
		fail_msg("verification passed; expected failure '%s'", substr);
	if (strstr(coffer_error_last(), substr) == NULL)
		fail_msg("error '%s' does not mention '%s'", coffer_error_last(), substr);
}

/* ---- positive vectors (README table) ---- */

struct pos_vector {
	const char *report, *vek, *type;
	const char *measurement, *report_data, *chip_id;
	int bl, tee, snp, ucode, vmpl;
	long long policy;
	int64_t at; /* 0: now */
	bool optional;
	bool debug; /* the guest policy allows debugging */
};

#define Z32 "0000000000000000000000000000000000000000000000000000000000000000"

static const struct pos_vector pos[] = {
	{ "trustee/test-report.bin", "trustee/test-vcek.der", "VCEK",
	  "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f90"
	  "50d3d38c",
	  "ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2" Z32,
	  "c38427a30d4c7af9d96f7a15b97269825a64cb76a2352ffd5d18115d89ad473f8e8c0bcd9a5d9286612bad4a"
	  "adfb4426205a3b9e4fea82301135a170e477524e",
	  3, 0, 8, 115, 0, 0x3001f, 0, false },
	{ "trustee/test-vlek-report.bin", "trustee/test-vlek.der", "VLEK",
	  "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a"
	  "570d7bf0",
	  "819770b7e6ea6df8dd8fd4dd146b073c0bf4f3ce5b0977ecac486e3a05ed1bd54e2a7ac1f5d1ca02e7d7d5ef"
	  "9f73b8574fd9359e3a480d741a4478e8a7bc27ca",
	  Z32 Z32, 4, 0, 24, 217, 1, 0x30000, 1750000000, false },
	{ "go-sev-guest/attestation.bin", "go-sev-guest/vcek.testcer", "VCEK",
	  "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2"
	  "e4872b01",
	  "0102030405000000000000000000000000000000000000000000000000000000" Z32,
	  "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a193677"
	  "6b564ea464cdce40c05f63c9b610c5068b006b5d",
	  2, 0, 5, 68, 0, 0xb0000, 0, false, true },
	{ "virtee-sev/report_milan.bin", "virtee-sev/vcek_milan.der", "VCEK",
	  "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480"
	  "cd81841f",
	  "d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c645810b0f2cdfca0040433be063fc"
	  "1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd",
	  "d49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc15d7af38db757039029f0efa"
	  "cfd08e244324884738c72b082e2f87a44d541eb6",
	  3, 0, 8, 115, 0, 0x30000, 0, false },
	{ "trustee-e2e-genoa/report.bin", "trustee-e2e-genoa/vcek.der", "VCEK",
	  "6a6519d757e68c2e939c9dbbbc1828498e8de35d2766dd05f1a2cca5059d0cf4ae62a36d75c837974dd50b31"
	  "5506e73e",
	  "7e7320889600c7ac133aea7b896c51f41026002982292a7369559796999c1bf929eef3ff23c46e858f0b1982"
	  "f9a92b17c51b578d958cde6b0c92978f150cf9b0",
	  "371c55d6d15cb50f16dc31d39a24e300caaabff4431e841111429b73ec45ad67ea6e687ffae7bf84b54a5d0e"
	  "6d79b3ef6ff0bd8b4cff94c2163af5c5de8718e8",
	  10, 0, 23, 25, 0, 0x30000, 0, false },
	/* listed in the README (GCE, report version 5) but not always shipped */
	{ "go-sev-guest/sev-gcp.bin", "go-sev-guest/sev-gcp-vcek.pem", "VCEK",
	  "b747d55452e0b9e9079770a49e397c5e6d9573581e246da7baac4f28b5cdc5b1b6d19251b8ee600fd16a3708"
	  "f58406f3",
	  Z32 Z32,
	  "980cf7b61876cb37fd517cd44ce11c72d43c5408e66ab39138370ec59bc195e063254cb501d87d82f0b8b8dc"
	  "774bcfe28019447711598f007390e4accc405361",
	  4, 0, 27, 222, 0, 0x30000, 0, true },
};

#define NPOS (sizeof(pos) / sizeof(pos[0]))

static void check_claims(const json_t *c, const struct pos_vector *v)
{
	expect_claim(c, "measurement", v->measurement);
	expect_claim(c, "report_data", v->report_data);
	expect_claim(c, "chip_id", v->chip_id);
	expect_claim(c, "init_data", Z32);
	expect_int(c, "reported_tcb_bootloader", v->bl);
	expect_int(c, "reported_tcb_tee", v->tee);
	expect_int(c, "reported_tcb_snp", v->snp);
	expect_int(c, "reported_tcb_microcode", v->ucode);
	expect_int(c, "vmpl", v->vmpl);
	expect_int(c, "policy", v->policy);
	assert_true(json_is_boolean(json_object_get(c, "policy_debug_allowed")));
	assert_int_equal(json_is_true(json_object_get(c, "policy_debug_allowed")), v->debug);
	assert_true(json_is_false(json_object_get(c, "simulated")));
	assert_string_equal(json_string_value(json_object_get(c, "root")), "amd");
}

static void test_positive_vectors(void **state)
{
	unsigned done = 0;
	(void)state;
	for (size_t i = 0; i < NPOS; i++) {
		coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
		json_t *claims = NULL;
		if (pos[i].optional && !vexists(pos[i].report)) {
			printf("  (not present: %s)\n", pos[i].report);
			continue;
		}
		p.now = pos[i].at;
		if (pos[i].debug) {
			/* valid, but a debug guest is refused unless the owner allows it */
			expect_fail(
			        verify_files(&claims, pos[i].report, pos[i].vek, pos[i].type, &p),
			        "allows debugging");
			p.options = json_pack("{s:b}", "allow_debug", 1);
		}
		if (verify_files(&claims, pos[i].report, pos[i].vek, pos[i].type, &p) != 0)
			fail_msg("%s: %s", pos[i].report, coffer_error_last());
		check_claims(claims, &pos[i]);
		json_decref(claims);
		json_decref((json_t *)p.options);
		done++;
	}
	assert_true(done >= 5);
}

/* the expected REPORT_DATA binding (README values), zero-padded */
static void test_report_data_binding(void **state)
{
	coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
	uint8_t *rd = NULL;
	size_t rdl = 0;
	json_t *claims = NULL;
	(void)state;
	assert_int_equal(coffer_hex_decode(
	                         &rd, &rdl,
	                         "ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2",
	                         64),
	                 0);
	p.report_data = rd;
	p.report_data_len = rdl;
	assert_int_equal(verify_files(&claims, "trustee/test-report.bin", "trustee/test-vcek.der",
	                              "VCEK", &p),
	                 0);
	json_decref(claims);
	rd[0] ^= 1;
	expect_fail(verify_files(&claims, "trustee/test-report.bin", "trustee/test-vcek.der",
	                         "VCEK", &p),
	            "REPORT_DATA does not match");
	/* init-data: HOST_DATA is zero in the vector */
	p.report_data = NULL;
	{
		uint8_t zero[32] = { 0 }, one[48] = { 1 };
		p.init_data_digest = zero;
		p.init_data_digest_len = 32;
		assert_int_equal(verify_files(&claims, "trustee/test-report.bin",
		                              "trustee/test-vcek.der", "VCEK", &p),
		                 0);
		json_decref(claims);
		p.init_data_digest = one;
		p.init_data_digest_len = 48;
		expect_fail(verify_files(&claims, "trustee/test-report.bin",
		                         "trustee/test-vcek.der", "VCEK", &p),
		            "HOST_DATA does not match");
	}
	free(rd);
}

static void test_json_form(void **state)
{
	size_t len;
	uint8_t *text = vread("trustee-e2e-genoa/evidence.json", &len);
	json_t *ev = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *claims = NULL;
	coffer_snp_report *r = NULL, *r2 = NULL;
	size_t bl;
	uint8_t *bin = vread("trustee-e2e-genoa/report.bin", &bl);
	(void)state;

	assert_non_null(ev);
	if (coffer_evidence_verify(&claims, "snp", ev, NULL) != 0)
		fail_msg("evidence.json: %s", coffer_error_last());
	check_claims(claims, &pos[4]);
	json_decref(claims);
	/* the JSON form rebuilds the exact binary report */
	assert_int_equal(coffer_snp_evidence_report(&r, ev), 0);
	assert_memory_equal(r->raw, bin, COFFER_SNP_REPORT_SIZE);
	assert_int_equal(r->product, COFFER_SNP_PRODUCT_GENOA);
	/* and serializing back gives a report that parses to the same bytes */
	{
		json_t *o = NULL;
		assert_int_equal(coffer_snp_report_to_json(&o, r), 0);
		assert_int_equal(coffer_snp_report_from_json(&r2, o), 0);
		assert_memory_equal(r2->raw, bin, COFFER_SNP_REPORT_SIZE);
		/* a wrong array length is refused */
		json_array_remove(json_object_get(o, "measurement"), 0);
		coffer_snp_report_free(r2);
		assert_int_equal(coffer_snp_report_from_json(&r2, o), COFFER_EINVAL);
		assert_non_null(strstr(coffer_error_last(), "measurement"));
		json_decref(o);
	}
	/* a cert_chain with two VCEKs is ambiguous */
	{
		json_t *chain = json_object_get(ev, "cert_chain");
		json_array_append(chain, json_array_get(chain, 0));
		expect_fail(coffer_evidence_verify(&claims, "snp", ev, NULL), "more than one VCEK");
	}
	coffer_snp_report_free(r);
	json_decref(ev);
	free(text);
	free(bin);
}

/* ---- negatives (README "negative/") ---- */

static void test_negative_vectors(void **state)
{
	static const struct {
		const char *report, *vek, *type, *why;
	} neg[] = {
		{ "negative/trustee-test-report.byte42plus1.bin", "trustee/test-vcek.der", "VCEK",
		  "signature does not verify" },
		{ "negative/trustee-test-report.byte384plus1.bin", "trustee/test-vcek.der", "VCEK",
		  "differs from the report's reported TCB" },
		{ "negative/trustee-test-vlek-report.byte42plus1.bin", "trustee/test-vlek.der",
		  "VLEK", "signature does not verify" },
		{ "negative/virtee-report_milan.byte21xor80.bin", "virtee-sev/vcek_milan.der",
		  "VCEK", "signature does not verify" },
		{ "negative/go-sev-guest-attestation.sig_r_byte0xor01.bin",
		  "go-sev-guest/vcek.testcer", "VCEK", "signature does not verify" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(neg) / sizeof(neg[0]); i++) {
		coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
		json_t *claims = NULL;
		p.now = 1750000000; /* the VLEK's validity: only the mutation may fail */
		expect_fail(verify_files(&claims, neg[i].report, neg[i].vek, neg[i].type, &p),
		            neg[i].why);
		assert_null(claims);
	}
}

/* Flip every byte of the signed region and of the signature: all must fail. */
static void test_mutation_every_offset(void **state)
{
	(void)state;
	for (size_t v = 0; v < NPOS; v++) {
		size_t rl, vl, dl;
		uint8_t *rep, *vek, *der;
		unsigned failures = 0, total = 0;
		coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;

		if (pos[v].optional && !vexists(pos[v].report))
			continue;
		rep = vread(pos[v].report, &rl);
		vek = vread(pos[v].vek, &vl);
		der = cert_der(vek, vl, &dl);
		p.now = pos[v].at;
		p.options = pos[v].debug ? json_pack("{s:b}", "allow_debug", 1) : NULL;
		/* every offset in release and ASan builds; a stride under valgrind
		 * (scripts/valgrind-unit.sh), where each verify is ~50x slower */
		size_t step = getenv("COFFER_UNDER_VALGRIND") ? 7 : 1;
		for (size_t off = 0; off < 0x2A0 + 2 * 72; off += step) {
			json_t *ev, *claims = NULL;
			rep[off] ^= 0x01;
			ev = evidence_raw(rep, rl, pos[v].type, der, dl);
			if (coffer_evidence_verify(&claims, "snp", ev, &p) != 0)
				failures++;
			else
				fail_msg("%s: flipping byte 0x%zx still verifies", pos[v].report,
				         off);
			total++;
			json_decref(ev);
			rep[off] ^= 0x01;
		}
		assert_int_equal(failures, total);
		json_decref((json_t *)p.options);
		free(rep);
		free(vek);
		free(der);
	}
}

static void test_parse_errors(void **state)
{
	size_t rl;
	uint8_t *rep = vread("trustee/test-report.bin", &rl);
	coffer_snp_report *r = NULL;
	(void)state;

	assert_int_equal(coffer_snp_report_parse(&r, rep, rl - 1), COFFER_EINVAL);
	assert_non_null(strstr(coffer_error_last(), "1183 bytes"));
	rep[0] = 4;
	assert_int_equal(coffer_snp_report_parse(&r, rep, rl), COFFER_EUNSUPPORTED);
	assert_non_null(strstr(coffer_error_last(), "version 4"));
	rep[0] = 1;
	assert_int_equal(coffer_snp_report_parse(&r, rep, rl), COFFER_EUNSUPPORTED);
	rep[0] = 2;
	rep[0x34] = 2; /* sig_algo */
	assert_int_equal(coffer_snp_report_parse(&r, rep, rl), COFFER_EUNSUPPORTED);
	assert_non_null(strstr(coffer_error_last(), "signature algorithm 2"));
	rep[0x34] = 1;
	rep[0x48] = 7 << 2; /* signing key: none */
	assert_int_equal(coffer_snp_report_parse(&r, rep, rl), COFFER_EVERIFY);
	assert_non_null(strstr(coffer_error_last(), "not signed"));
	rep[0x48] = 3 << 2;
	assert_int_equal(coffer_snp_report_parse(&r, rep, rl), COFFER_EUNSUPPORTED);
	rep[0x48] = 0;
	rep[0x2A0 + 50] = 1; /* r longer than 48 bytes */
	assert_int_equal(coffer_snp_report_parse(&r, rep, rl), COFFER_EINVAL);
	rep[0x2A0 + 50] = 0;
	assert_int_equal(coffer_snp_report_parse(&r, rep, rl), 0);
	assert_int_equal(r->version, 2);
	assert_false(r->has_cpuid);
	assert_int_equal(r->reported_tcb.raw, 0x7308000000000003ULL);
	assert_int_equal(r->reported_tcb.microcode, 115);
	assert_int_equal(r->current_tcb.microcode, 206);
	assert_int_equal(r->current_major, 1);
	assert_int_equal(r->current_minor, 52);
	coffer_snp_report_free(r);
	free(rep);
	/* evidence shape errors */
	{
		json_t *claims = NULL, *ev = json_pack("{s:s}", "attestation_report_b64", "@@");
		assert_int_equal(coffer_evidence_verify(&claims, "snp", ev, NULL), COFFER_EINVAL);
		json_decref(ev);
		ev = json_pack("{s:n}", "cert_chain");
		assert_int_equal(coffer_evidence_verify(&claims, "snp", ev, NULL), COFFER_EINVAL);
		json_decref(ev);
	}
}

static void test_tcb_layouts(void **state)
{
	coffer_snp_tcb t;
	(void)state;
	coffer_snp_tcb_decode(&t, 0x191700000000000aULL, COFFER_SNP_PRODUCT_GENOA);
	assert_int_equal(t.bootloader, 10);
	assert_int_equal(t.snp, 23);
	assert_int_equal(t.microcode, 25);
	assert_int_equal(coffer_snp_tcb_encode(&t, COFFER_SNP_PRODUCT_GENOA),
	                 0x191700000000000aULL);
	/* Turin: fmc, bootloader, tee, snp in bytes 0..3 */
	coffer_snp_tcb_decode(&t, 0x0900000004030201ULL, COFFER_SNP_PRODUCT_TURIN);
	assert_int_equal(t.fmc, 1);
	assert_int_equal(t.bootloader, 2);
	assert_int_equal(t.tee, 3);
	assert_int_equal(t.snp, 4);
	assert_int_equal(t.microcode, 9);
	assert_int_equal(coffer_snp_tcb_encode(&t, COFFER_SNP_PRODUCT_TURIN),
	                 0x0900000004030201ULL);
	assert_int_equal(coffer_snp_product_from_cpuid(0x19, 0x01), COFFER_SNP_PRODUCT_MILAN);
	assert_int_equal(coffer_snp_product_from_cpuid(0x19, 0xA0), COFFER_SNP_PRODUCT_GENOA);
	assert_int_equal(coffer_snp_product_from_cpuid(0x1A, 0x02), COFFER_SNP_PRODUCT_TURIN);
	assert_int_equal(coffer_snp_product_from_cpuid(0x17, 0x01), COFFER_SNP_PRODUCT_UNKNOWN);
	assert_int_equal(coffer_snp_product_from_name("Milan-B0"), COFFER_SNP_PRODUCT_MILAN);
	assert_int_equal(coffer_snp_product_from_name("Milano"), COFFER_SNP_PRODUCT_UNKNOWN);
}

/* ---- certificates ---- */

static X509 *load_x509(const char *rel)
{
	size_t l, dl;
	uint8_t *d = vread(rel, &l);
	uint8_t *der = cert_der(d, l, &dl);
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)dl);
	assert_non_null(x);
	free(d);
	free(der);
	return x;
}

static void test_vek_extensions(void **state)
{
	struct snp_vek_ext e;
	X509 *x;
	(void)state;
	/* hwID raw (legacy) and wrapped in an OCTET STRING (new): both 00..3f */
	static const char *const synth[] = { "trustee/test-vcek-invalid-legacy.der",
		                             "trustee/test-vcek-invalid-new.der" };
	for (int i = 0; i < 2; i++) {
		x = load_x509(synth[i]);
		assert_int_equal(snp_vek_ext_parse(&e, x), 0);
		assert_true(e.has_hwid);
		assert_int_equal(e.hwid_len, 64);
		for (int j = 0; j < 64; j++)
			assert_int_equal(e.hwid[j], j);
		/* ... and they are not signed by AMD */
		{
			struct snp_trust t = { true, NULL, NULL };
			expect_fail(snp_chain_verify(x, SNP_VEK_VCEK, COFFER_SNP_PRODUCT_MILAN,
			                             NULL, NULL, &t, 0, NULL, NULL),
			            "not signed by any trusted ASK");
		}
		X509_free(x);
	}
	x = load_x509("trustee/test-vcek.der");
	assert_int_equal(snp_vek_ext_parse(&e, x), 0);
	assert_string_equal(e.product_name, "Milan-B0");
	assert_int_equal(e.bl, 3);
	assert_int_equal(e.ucode, 115);
	/* a Milan VCEK does not chain through the ASVK */
	{
		struct snp_trust t = { true, NULL, NULL };
		assert_int_equal(snp_chain_verify(x, SNP_VEK_VCEK, COFFER_SNP_PRODUCT_MILAN, NULL,
		                                  NULL, &t, 0, NULL, NULL),
		                 0);
		expect_fail(snp_chain_verify(x, SNP_VEK_VLEK, COFFER_SNP_PRODUCT_MILAN, NULL, NULL,
		                             &t, 0, NULL, NULL),
		            "not signed by any trusted ASVK");
		/* without AMD's roots nothing chains */
		t.builtin = false;
		expect_fail(snp_chain_verify(x, SNP_VEK_VCEK, COFFER_SNP_PRODUCT_MILAN, NULL, NULL,
		                             &t, 0, NULL, NULL),
		            "no trusted root");
	}
	X509_free(x);
	/* Turin: fmcSPL and the 8-byte hwID */
	x = load_x509("virtee-sev/vcek_turin.der");
	assert_int_equal(snp_vek_ext_parse(&e, x), 0);
	assert_int_equal(e.product, COFFER_SNP_PRODUCT_TURIN);
	assert_true(e.has_fmc);
	assert_int_equal(e.hwid_len, 8);
	assert_int_equal(e.ucode, 9);
	{
		struct snp_trust t = { true, NULL, NULL };
		assert_int_equal(snp_chain_verify(x, SNP_VEK_VCEK, COFFER_SNP_PRODUCT_TURIN, NULL,
		                                  NULL, &t, 0, NULL, NULL),
		                 0);
		expect_fail(snp_chain_verify(x, SNP_VEK_VCEK, COFFER_SNP_PRODUCT_MILAN, NULL, NULL,
		                             &t, 0, NULL, NULL),
		            "is for product 'Milan'");
	}
	X509_free(x);
}

static void test_vcek_der_corrupted(void **state)
{
	size_t rl, vl;
	uint8_t *rep = vread("trustee/test-report.bin", &rl);
	uint8_t *vek = vread("trustee/test-vcek.der", &vl);
	json_t *ev, *claims = NULL;
	int rc;
	(void)state;
	vek[42] ^= 1; /* trustee check_vcek_signature_failure */
	ev = evidence_raw(rep, rl, "VCEK", vek, vl);
	rc = coffer_evidence_verify(&claims, "snp", ev, NULL);
	assert_int_not_equal(rc, 0);
	json_decref(ev);
	free(rep);
	free(vek);
}

static void test_other_generation_and_chip(void **state)
{
	json_t *claims = NULL;
	(void)state;
	/* a Genoa report with a Milan VCEK */
	expect_fail(verify_files(&claims, "trustee-e2e-genoa/report.bin", "trustee/test-vcek.der",
	                         "VCEK", NULL),
	            "the VCEK is for Milan but the report comes from a Genoa CPU");
	/* a Milan report with the VCEK of another Milan chip (same TCB) */
	expect_fail(verify_files(&claims, "virtee-sev/report_milan.bin", "trustee/test-vcek.der",
	                         "VCEK", NULL),
	            "hwID is not the report's chip_id");
	/* a VLEK where the report says VCEK */
	expect_fail(verify_files(&claims, "trustee/test-report.bin", "trustee/test-vlek.der",
	                         "VCEK", NULL),
	            "is not a VCEK");
	/* nothing supplied */
	{
		size_t rl;
		uint8_t *rep = vread("trustee/test-report.bin", &rl);
		json_t *ev = evidence_raw(rep, rl, NULL, NULL, 0);
		expect_fail(coffer_evidence_verify(&claims, "snp", ev, NULL),
		            "no VCEK certificate was supplied");
		json_decref(ev);
		free(rep);
	}
}

static void test_vlek_expired(void **state)
{
	coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
	json_t *claims = NULL;
	(void)state;
	coffer_snp_cache_clear();
	/* current time: after 2025-12-10 */
	p.now = 1800000000;
	expect_fail(verify_files(&claims, "trustee/test-vlek-report.bin", "trustee/test-vlek.der",
	                         "VLEK", &p),
	            "VLEK certificate expired");
	/* the cache must not hide the expiry either */
	p.now = 1750000000;
	assert_int_equal(verify_files(&claims, "trustee/test-vlek-report.bin",
	                              "trustee/test-vlek.der", "VLEK", &p),
	                 0);
	json_decref(claims);
	p.now = 1800000000;
	expect_fail(verify_files(&claims, "trustee/test-vlek-report.bin", "trustee/test-vlek.der",
	                         "VLEK", &p),
	            "VLEK certificate expired");
	p.now = 1600000000; /* before notBefore */
	expect_fail(verify_files(&claims, "trustee/test-vlek-report.bin", "trustee/test-vlek.der",
	                         "VLEK", &p),
	            "not yet valid");
}

static void test_owner_checks_real(void **state)
{
	coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
	json_t *claims = NULL;
	(void)state;
#define OPT(s)                                        \
	do {                                          \
		json_decref((json_t *)p.options);     \
		p.options = json_loads((s), 0, NULL); \
		assert_non_null(p.options);           \
	} while (0)
#define RUN() verify_files(&claims, "trustee/test-report.bin", "trustee/test-vcek.der", "VCEK", &p)
#define OK()                                                                   \
	do {                                                                   \
		if (RUN() != 0)                                                \
			fail_msg("expected success: %s", coffer_error_last()); \
		json_decref(claims);                                           \
	} while (0)
	OPT("{\"min_tcb\":{\"bootloader\":3,\"tee\":0,\"snp\":8,\"microcode\":115}}");
	OK();
	OPT("{\"min_tcb\":{\"microcode\":116}}");
	expect_fail(RUN(), "microcode 115 is below the minimum 116");
	assert_int_equal(RUN(), COFFER_EDENIED);
	OPT("{\"min_tcb\":{\"Genoa\":{\"snp\":99},\"Milan\":{\"snp\":8}}}");
	OK();
	OPT("{\"min_tcb\":{\"Milan\":{\"snp\":9}}}");
	expect_fail(RUN(), "snp 8 is below the minimum 9");
	OPT("{\"min_tcb\":{\"snpp\":1}}");
	assert_int_equal(RUN(), COFFER_EINVAL);
	OPT("{\"allowed_chip_ids\":["
	    "\"C38427A30D4C7AF9D96F7A15B97269825A64CB76A2352FFD5D18115D89AD47"
	    "3F8E8C0BCD9A5D9286612BAD4AADFB4426205A3B9E4FEA82301135A170E477524E\"]}");
	OK();
	OPT("{\"allowed_chip_ids\":["
	    "\"3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e537861"
	    "84ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d\"]}");
	expect_fail(RUN(), "chip_id is not in allowed_chip_ids");
	OPT("{\"allowed_vmpl\":[1,2]}");
	expect_fail(RUN(), "VMPL 0 is not in allowed_vmpl");
	OPT("{\"allowed_vmpl\":[0]}");
	OK();
	OPT("{\"measurements\":["
	    "\"a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c235"
	    "00644e0e692e6be917f9050d3d38c\"]}");
	OK();
	OPT("{\"measurements\":["
	    "\"b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8"
	    "a9ece31a5a608eb0cf2e4872b01\"]}");
	expect_fail(RUN(), "measurement is not in the allowed measurements");
	OPT("{\"allowed_signing_keys\":[\"VLEK\"]}");
	expect_fail(RUN(), "signed by the VCEK are not allowed");
	OPT("{\"allow_debug\":\"yes\"}");
	assert_int_equal(RUN(), COFFER_EINVAL);
	OPT("{\"alow_debug\":true}");
	expect_fail(RUN(), "unknown key 'alow_debug'");
	json_decref((json_t *)p.options);
#undef OPT
#undef RUN
#undef OK
}

/* ---- collateral cache ---- */

static void test_collateral(void **state)
{
	char dir[] = "/tmp/snp-coll-XXXXXX";
	coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
	size_t l, rl;
	uint8_t *d;
	unsigned stored = 0;
	json_t *ev, *claims = NULL;
	uint8_t *rep;
	char cmd[128];
	(void)state;

	assert_non_null(mkdtemp(dir));
	/* synthetic, not AMD-signed: refused, nothing stored */
	d = vread("trustee/test-vcek-invalid-legacy.der", &l);
	assert_int_equal(coffer_snp_collateral_add(dir, d, l, &p, &stored), COFFER_EVERIFY);
	assert_int_equal(stored, 0);
	free(d);
	/* the real VCEK (PEM) is accepted */
	d = vread("trustee/test-vcek.pem", &l);
	assert_int_equal(coffer_snp_collateral_add(dir, d, l, &p, &stored), 0);
	assert_int_equal(stored, 1);
	free(d);
	/* the report alone now verifies from the cache */
	rep = vread("trustee/test-report.bin", &rl);
	ev = evidence_raw(rep, rl, NULL, NULL, 0);
	p.collateral_dir = dir;
	if (coffer_evidence_verify(&claims, "snp", ev, &p) != 0)
		fail_msg("from collateral: %s", coffer_error_last());
	json_decref(claims);
	json_decref(ev);
	free(rep);
	/* another chip's report finds nothing */
	rep = vread("go-sev-guest/attestation.bin", &rl);
	ev = evidence_raw(rep, rl, NULL, NULL, 0);
	expect_fail(coffer_evidence_verify(&claims, "snp", ev, &p), "collateral cache");
	json_decref(ev);
	free(rep);
	/* an expired VLEK is stored only with an explicit time; then used */
	d = vread("trustee/test-vlek.der", &l);
	p.now = 1800000000;
	assert_int_equal(coffer_snp_collateral_add(dir, d, l, &p, &stored), COFFER_EEXPIRED);
	p.now = 1750000000;
	assert_int_equal(coffer_snp_collateral_add(dir, d, l, &p, &stored), 0);
	free(d);
	rep = vread("trustee/test-vlek-report.bin", &rl);
	ev = evidence_raw(rep, rl, NULL, NULL, 0);
	if (coffer_evidence_verify(&claims, "snp", ev, &p) != 0)
		fail_msg("VLEK from collateral: %s", coffer_error_last());
	json_decref(claims);
	json_decref(ev);
	free(rep);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_kds_url(void **state)
{
	size_t rl;
	uint8_t *rep = vread("trustee/test-report.bin", &rl);
	coffer_snp_report *r = NULL;
	char *url = NULL;
	(void)state;
	assert_int_equal(coffer_snp_report_parse(&r, rep, rl), 0);
	assert_int_equal(coffer_snp_kds_vcek_url(&url, "https://kdsintf.amd.com/", r,
	                                         COFFER_SNP_PRODUCT_MILAN),
	                 0);
	assert_string_equal(url,
	                    "https://kdsintf.amd.com/vcek/v1/Milan/"
	                    "c38427a30d4c7af9d96f7a15b97269825a64cb76a2352ffd5d18115d89ad473f8e8c0"
	                    "bcd9a5d9286612bad4aadfb4426205a3b9e4fea82301135a170e477524e"
	                    "?blSPL=03&teeSPL=00&snpSPL=08&ucodeSPL=115");
	free(url);
	assert_int_equal(coffer_snp_kds_vcek_url(&url, "ftp://x", r, COFFER_SNP_PRODUCT_MILAN),
	                 COFFER_EINVAL);
	coffer_snp_report_free(r);
	/* Turin: 8-byte hwID, fmcSPL first, the Turin TCB layout */
	rep[0] = 3;
	rep[0x188] = 0x1A;
	rep[0x189] = 0x02;
	memcpy(rep + 0x180, "\x01\x02\x03\x04\x00\x00\x00\x09", 8);
	assert_int_equal(coffer_snp_report_parse(&r, rep, rl), 0);
	assert_int_equal(r->product, COFFER_SNP_PRODUCT_TURIN);
	assert_int_equal(coffer_snp_kds_vcek_url(&url, "http://127.0.0.1:1", r, r->product), 0);
	assert_string_equal(url, "http://127.0.0.1:1/vcek/v1/Turin/c38427a30d4c7af9"
	                         "?fmcSPL=01&blSPL=02&teeSPL=03&snpSPL=04&ucodeSPL=09");
	free(url);
	/* VLEK reports cannot be fetched by chip */
	r->signing_key = COFFER_SNP_KEY_VLEK;
	assert_int_equal(coffer_snp_kds_vcek_url(&url, "https://k", r, r->product), COFFER_EINVAL);
	coffer_snp_report_free(r);
	free(rep);
}

/* ---- simulated hierarchy ---- */

static void sim_req(sim_snp_req *q)
{
	memset(q, 0, sizeof(*q));
	q->version = 3;
	memset(q->report_data, 0xab, 64);
	memset(q->measurement, 0x11, 48);
	memset(q->host_data, 0x22, 32);
	q->tcb.bootloader = 3;
	q->tcb.snp = 8;
	q->tcb.microcode = 115;
}

static json_t *sim_evidence(const sim_snp_req *q, const coffer_snp_tcb *vcek_tcb)
{
	uint8_t rep[COFFER_SNP_REPORT_SIZE];
	uint8_t *der = NULL;
	size_t dl = 0;
	json_t *ev;

	assert_int_equal(sim_snp_report(rep, sim, q), 0);
	assert_int_equal(
	        sim_snp_vcek_cert(&der, &dl, sim, vcek_tcb ? vcek_tcb : &q->tcb, NULL, NULL, NULL),
	        0);
	ev = evidence_raw(rep, sizeof(rep), "VCEK", der, dl);
	OPENSSL_free(der);
	der = NULL;
	{
		int n = i2d_X509(sim->ask, &der);
		assert_true(n > 0);
		chain_add(ev, "ASK", der, (size_t)n);
		OPENSSL_free(der);
	}
	return ev;
}

static void test_sim_roundtrip(void **state)
{
	coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
	sim_snp_req q;
	json_t *ev, *claims = NULL;
	(void)state;

	sim_req(&q);
	ev = sim_evidence(&q, NULL);
	/* never trusted without the configured root */
	expect_fail(coffer_evidence_verify(&claims, "snp", ev, &p), "not signed by a trusted ARK");
	expect_fail(coffer_evidence_verify(&claims, "snp-sim", ev, &p),
	            "no simulated root is configured");
	p.sim_root = sim_root;
	if (coffer_evidence_verify(&claims, "snp-sim", ev, &p) != 0)
		fail_msg("snp-sim: %s", coffer_error_last());
	assert_true(json_is_true(json_object_get(claims, "simulated")));
	assert_string_equal(json_string_value(json_object_get(claims, "root")), "sim");
	expect_claim(claims, "measurement",
	             "111111111111111111111111111111111111111111111111111111111111111111111111111"
	             "111111111111111111111");
	expect_claim(claims, "init_data",
	             "2222222222222222222222222222222222222222222222222222222222222222");
	json_decref(claims);
	/* "snp" with the sim root configured also accepts it, and says so */
	assert_int_equal(coffer_evidence_verify(&claims, "snp", ev, &p), 0);
	assert_true(json_is_true(json_object_get(claims, "simulated")));
	json_decref(claims);
	json_decref(ev);
	/* an operator's roots directory: the bundle (ASK + ARK) of the sim;
	 * only the self-signed ARK becomes an anchor */
	{
		coffer_verify_params p2 = COFFER_VERIFY_PARAMS_INIT;
		char rdir[160];
		uint8_t rep[COFFER_SNP_REPORT_SIZE], *der = NULL;
		size_t dl = 0;
		json_t *ev2;
		snprintf(rdir, sizeof(rdir), "%s/snp", simdir);
		p2.roots_dir = rdir; /* holds ark.pem, ask.pem and cert_chain.pem */
		assert_int_equal(sim_snp_report(rep, sim, &q), 0);
		assert_int_equal(sim_snp_vcek_cert(&der, &dl, sim, &q.tcb, NULL, NULL, NULL), 0);
		ev2 = evidence_raw(rep, sizeof(rep), "VCEK", der, dl); /* no ASK in it */
		OPENSSL_free(der);
		if (coffer_evidence_verify(&claims, "snp", ev2, &p2) != 0)
			fail_msg("roots_dir: %s", coffer_error_last());
		assert_string_equal(json_string_value(json_object_get(claims, "root")),
		                    "configured");
		assert_true(json_is_false(json_object_get(claims, "simulated")));
		json_decref(claims);
		/* snp-sim ignores roots_dir */
		expect_fail(coffer_evidence_verify(&claims, "snp-sim", ev2, &p2),
		            "no simulated root");
		json_decref(ev2);
	}
	/* versions 2 and 5 */
	q.version = 2;
	ev = sim_evidence(&q, NULL);
	assert_int_equal(coffer_evidence_verify(&claims, "snp-sim", ev, &p), 0);
	json_decref(claims);
	json_decref(ev);
	q.version = 5;
	ev = sim_evidence(&q, NULL);
	assert_int_equal(coffer_evidence_verify(&claims, "snp-sim", ev, &p), 0);
	expect_int(claims, "report_version", 5);
	json_decref(claims);
	json_decref(ev);
}

/* A root removed from the roots directory is not trusted by the very next
 * verification, even though a key it endorsed is in the cache (review
 * finding: the cache was keyed on the directory's path, so the removal
 * took up to its 600 s lifetime to apply). */
static void test_roots_dir_removal(void **state)
{
	coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
	char rdir[] = "/tmp/snp-roots-XXXXXX", src[160], dst[200];
	uint8_t rep[COFFER_SNP_REPORT_SIZE], *der = NULL, *pem;
	size_t dl = 0, pl;
	sim_snp_req q;
	json_t *ev, *claims = NULL;
	FILE *f;
	(void)state;

	assert_non_null(mkdtemp(rdir));
	/* the sim's ASK and ARK, as an operator would install AMD's */
	for (int i = 0; i < 2; i++) {
		const char *name = i ? "ark.pem" : "ask.pem";
		snprintf(src, sizeof(src), "%s/snp/%s", simdir, name);
		snprintf(dst, sizeof(dst), "%s/%s", rdir, name);
		pem = test_read_file(src, &pl);
		assert_non_null(f = fopen(dst, "w"));
		assert_int_equal(fwrite(pem, 1, pl, f), pl);
		assert_int_equal(fclose(f), 0);
		free(pem);
	}
	p.roots_dir = rdir;
	sim_req(&q);
	assert_int_equal(sim_snp_report(rep, sim, &q), 0);
	assert_int_equal(sim_snp_vcek_cert(&der, &dl, sim, &q.tcb, NULL, NULL, NULL), 0);
	ev = evidence_raw(rep, sizeof(rep), "VCEK", der, dl);
	OPENSSL_free(der);
	coffer_snp_cache_clear();
	/* twice: the second one is answered from the cache */
	for (int i = 0; i < 2; i++) {
		if (coffer_evidence_verify(&claims, "snp", ev, &p) != 0)
			fail_msg("roots_dir: %s", coffer_error_last());
		json_decref(claims);
	}
	assert_int_equal(unlink(dst), 0);
	if (coffer_evidence_verify(&claims, "snp", ev, &p) == 0) {
		json_decref(claims);
		fail_msg("a root removed from the roots directory was still trusted (cached)");
	}
	assert_non_null(strstr(coffer_error_last(), "trusted ARK"));
	json_decref(ev);
	snprintf(dst, sizeof(dst), "%s/ask.pem", rdir);
	assert_int_equal(unlink(dst), 0);
	assert_int_equal(rmdir(rdir), 0);
}

static void test_sim_refusals(void **state)
{
	coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
	sim_snp_req q;
	json_t *ev, *claims = NULL;
	coffer_snp_tcb other;
	(void)state;

	p.sim_root = sim_root;
	/* debug on: refused by default, accepted when the owner allows it */
	sim_req(&q);
	q.policy = 0x30000 | COFFER_SNP_POLICY_DEBUG;
	ev = sim_evidence(&q, NULL);
	expect_fail(coffer_evidence_verify(&claims, "snp-sim", ev, &p), "allows debugging");
	p.options = json_pack("{s:b}", "allow_debug", 1);
	assert_int_equal(coffer_evidence_verify(&claims, "snp-sim", ev, &p), 0);
	assert_true(json_is_true(json_object_get(claims, "policy_debug_allowed")));
	json_decref(claims);
	json_decref((json_t *)p.options);
	p.options = NULL;
	json_decref(ev);

	/* a VCEK whose TCB differs from the report's (same key) */
	sim_req(&q);
	other = q.tcb;
	other.snp = 9;
	ev = sim_evidence(&q, &other);
	expect_fail(coffer_evidence_verify(&claims, "snp-sim", ev, &p),
	            "differs from the report's reported TCB");
	json_decref(ev);

	/* an old TCB below the owner's minimum (rollback) */
	sim_req(&q);
	q.tcb.snp = 5;
	ev = sim_evidence(&q, NULL);
	p.options = json_pack("{s:{s:i}}", "min_tcb", "snp", 8);
	expect_fail(coffer_evidence_verify(&claims, "snp-sim", ev, &p), "rollback refused");
	json_decref((json_t *)p.options);
	p.options = NULL;
	json_decref(ev);

	/* a chain with a forged ASK (same name, another key) */
	{
		EVP_PKEY *fk = NULL;
		X509 *fask = NULL;
		uint8_t rep[COFFER_SNP_REPORT_SIZE], *der = NULL, *fder = NULL;
		size_t dl = 0;
		int fl;
		assert_int_equal(sim_snp_rsa_key(&fk, 2048), 0);
		assert_int_equal(sim_snp_ca_cert(&fask, "SEV-Milan", fk, sim->ark, fk), 0);
		sim_req(&q);
		assert_int_equal(sim_snp_report(rep, sim, &q), 0);
		assert_int_equal(sim_snp_vcek_cert(&der, &dl, sim, &q.tcb, fask, fk, NULL), 0);
		ev = evidence_raw(rep, sizeof(rep), "VCEK", der, dl);
		fl = i2d_X509(fask, &fder);
		chain_add(ev, "ASK", fder, (size_t)fl);
		expect_fail(coffer_evidence_verify(&claims, "snp-sim", ev, &p),
		            "not signed by a trusted ARK (forged");
		json_decref(ev);
		OPENSSL_free(der);
		OPENSSL_free(fder);
		X509_free(fask);
		EVP_PKEY_free(fk);
	}

	/* a VCEK signed by the ARK itself (a two-link chain) is not AMD's profile */
	{
		uint8_t rep[COFFER_SNP_REPORT_SIZE], *der = NULL, *rder = NULL;
		size_t dl = 0;
		int rl;
		sim_req(&q);
		assert_int_equal(sim_snp_report(rep, sim, &q), 0);
		assert_int_equal(
		        sim_snp_vcek_cert(&der, &dl, sim, &q.tcb, sim->ark, sim->ark_key, NULL), 0);
		ev = evidence_raw(rep, sizeof(rep), "VCEK", der, dl);
		rl = i2d_X509(sim->ark, &rder);
		chain_add(ev, "ASK", rder, (size_t)rl);
		expect_fail(coffer_evidence_verify(&claims, "snp-sim", ev, &p),
		            "not signed by any trusted ASK");
		json_decref(ev);
		OPENSSL_free(der);
		OPENSSL_free(rder);
	}

	/* another chip (relay) with an allow-list */
	sim_req(&q);
	ev = sim_evidence(&q, NULL);
	{
		char hex[129];
		for (int i = 0; i < 64; i++)
			snprintf(hex + 2 * i, 3, "%02x", (uint8_t)(sim->chip_id[i] ^ 0xff));
		p.options = json_pack("{s:[s]}", "allowed_chip_ids", hex);
		expect_fail(coffer_evidence_verify(&claims, "snp-sim", ev, &p),
		            "not in allowed_chip_ids");
		json_decref((json_t *)p.options);
		for (int i = 0; i < 64; i++)
			snprintf(hex + 2 * i, 3, "%02x", sim->chip_id[i]);
		p.options = json_pack("{s:[s]}", "allowed_chip_ids", hex);
		assert_int_equal(coffer_evidence_verify(&claims, "snp-sim", ev, &p), 0);
		json_decref(claims);
		json_decref((json_t *)p.options);
		p.options = NULL;
	}
	json_decref(ev);

	/* a report claiming another chip than its VCEK */
	sim_req(&q);
	q.chip_id_set = true;
	memset(q.chip_id, 0x5a, 64);
	ev = sim_evidence(&q, NULL);
	expect_fail(coffer_evidence_verify(&claims, "snp-sim", ev, &p), "another chip");
	json_decref(ev);

	/* HOST_DATA must match the init-data digest */
	sim_req(&q);
	ev = sim_evidence(&q, NULL);
	{
		uint8_t digest[48];
		memset(digest, 0x22, sizeof(digest));
		p.init_data_digest = digest;
		p.init_data_digest_len = 48; /* truncated to the 32-byte field */
		assert_int_equal(coffer_evidence_verify(&claims, "snp-sim", ev, &p), 0);
		json_decref(claims);
		digest[0] = 0x23;
		expect_fail(coffer_evidence_verify(&claims, "snp-sim", ev, &p), "HOST_DATA");
		p.init_data_digest = NULL;
	}
	json_decref(ev);
}

static void test_sim_crl(void **state)
{
	coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
	sim_snp_req q;
	json_t *ev, *claims = NULL;
	X509_CRL *crl = X509_CRL_new();
	X509_REVOKED *rev = X509_REVOKED_new();
	ASN1_TIME *t = ASN1_TIME_new();
	uint8_t *der = NULL;
	int n;
	(void)state;

	p.sim_root = sim_root;
	/* the ARK revokes the ASK */
	assert_non_null(X509_gmtime_adj(t, 0));
	assert_int_equal(X509_CRL_set_version(crl, 1), 1);
	assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(sim->ark)), 1);
	assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
	assert_int_equal(X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(sim->ask)), 1);
	assert_int_equal(X509_REVOKED_set_revocationDate(rev, t), 1);
	assert_int_equal(X509_CRL_add0_revoked(crl, rev), 1);
	assert_true(X509_CRL_sign(crl, sim->ark_key, EVP_sha384()) > 0);
	n = i2d_X509_CRL(crl, &der);
	assert_true(n > 0);
	sim_req(&q);
	ev = sim_evidence(&q, NULL);
	chain_add(ev, "CRL", der, (size_t)n);
	expect_fail(coffer_evidence_verify(&claims, "snp-sim", ev, &p),
	            "ASK certificate is revoked");
	json_decref(ev);
	/* the same CRL from the collateral cache */
	{
		char dir[] = "/tmp/snp-crl-XXXXXX", cmd[64];
		unsigned stored = 0;
		assert_non_null(mkdtemp(dir));
		assert_int_equal(coffer_snp_collateral_add(dir, der, (size_t)n, &p, &stored), 0);
		assert_int_equal(stored, 1);
		ev = sim_evidence(&q, NULL);
		assert_int_equal(coffer_evidence_verify(&claims, "snp-sim", ev, &p), 0);
		json_decref(claims);
		p.collateral_dir = dir;
		expect_fail(coffer_evidence_verify(&claims, "snp-sim", ev, &p),
		            "ASK certificate is revoked");
		p.collateral_dir = NULL;
		/* without the simulated root the CRL is not accepted */
		p.sim_root = NULL;
		assert_int_equal(coffer_snp_collateral_add(dir, der, (size_t)n, &p, &stored),
		                 COFFER_EVERIFY);
		p.sim_root = sim_root;
		json_decref(ev);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		assert_int_equal(system(cmd), 0);
	}
	/* a CRL not signed by the ARK is refused */
	assert_true(X509_CRL_sign(crl, sim->ask_key, EVP_sha384()) > 0);
	OPENSSL_free(der);
	der = NULL;
	n = i2d_X509_CRL(crl, &der);
	ev = sim_evidence(&q, NULL);
	chain_add(ev, "CRL", der, (size_t)n);
	expect_fail(coffer_evidence_verify(&claims, "snp-sim", ev, &p), "bad signature");
	json_decref(ev);
	OPENSSL_free(der);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
}

/* A CRL past its nextUpdate is applied and flagged (`crl_stale`), a
 * current one is not flagged: docs/snp.md, Revocation. */
static void test_sim_crl_stale(void **state)
{
	coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
	sim_snp_req q;
	json_t *ev, *claims = NULL;
	(void)state;

	p.sim_root = sim_root;
	sim_req(&q);
	ev = sim_evidence(&q, NULL);
	assert_int_equal(coffer_evidence_verify(&claims, "snp-sim", ev, &p), 0);
	assert_true(json_is_false(json_object_get(claims, "crl_stale")));
	json_decref(claims);
	json_decref(ev);
	/* nextUpdate a day ago, a day ahead; the ARK's CRL revokes nothing
	 * here, then one past nextUpdate that revokes the ASK still refuses */
	for (int c = 0; c < 3; c++) {
		X509_CRL *crl = X509_CRL_new();
		ASN1_TIME *t = ASN1_TIME_new(), *nu = ASN1_TIME_new();
		uint8_t *der = NULL;
		int n;

		assert_non_null(X509_gmtime_adj(t, -7 * 86400));
		assert_non_null(X509_gmtime_adj(nu, c == 1 ? 86400 : -86400));
		assert_int_equal(X509_CRL_set_version(crl, 1), 1);
		assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(sim->ark)), 1);
		assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
		assert_int_equal(X509_CRL_set1_nextUpdate(crl, nu), 1);
		if (c == 2) {
			X509_REVOKED *rev = X509_REVOKED_new();
			assert_int_equal(
			        X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(sim->ask)),
			        1);
			assert_int_equal(X509_REVOKED_set_revocationDate(rev, t), 1);
			assert_int_equal(X509_CRL_add0_revoked(crl, rev), 1);
		}
		assert_true(X509_CRL_sign(crl, sim->ark_key, EVP_sha384()) > 0);
		n = i2d_X509_CRL(crl, &der);
		assert_true(n > 0);
		ev = sim_evidence(&q, NULL);
		chain_add(ev, "CRL", der, (size_t)n);
		if (c == 2) {
			expect_fail(coffer_evidence_verify(&claims, "snp-sim", ev, &p),
			            "ASK certificate is revoked");
		} else {
			if (coffer_evidence_verify(&claims, "snp-sim", ev, &p) != 0)
				fail_msg("CRL %d: %s", c, coffer_error_last());
			if (!json_is_boolean(json_object_get(claims, "crl_stale")) ||
			    json_is_true(json_object_get(claims, "crl_stale")) != (c == 0))
				fail_msg("CRL %d: crl_stale should be %s", c,
				         c == 0 ? "true" : "false");
			json_decref(claims);
		}
		json_decref(ev);
		OPENSSL_free(der);
		ASN1_TIME_free(t);
		ASN1_TIME_free(nu);
		X509_CRL_free(crl);
	}
}

/* Turin: the fmc TCB component, fmcSPL, the 8-byte hwID, CPUID family 1Ah */
static void test_sim_turin(void **state)
{
	sim_snp *t = NULL;
	coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
	char root[160];
	FILE *f;
	sim_snp_req q;
	uint8_t rep[COFFER_SNP_REPORT_SIZE], *der = NULL, *ask = NULL;
	size_t dl = 0;
	int al;
	json_t *ev, *claims = NULL;
	coffer_snp_tcb other;
	(void)state;

	assert_int_equal(sim_snp_create_product(&t, COFFER_SNP_PRODUCT_TURIN, 2048), 0);
	snprintf(root, sizeof(root), "%s/turin_ark.pem", simdir);
	f = fopen(root, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, t->ark), 1);
	fclose(f);
	p.sim_root = root;
	al = i2d_X509(t->ask, &ask);
	assert_true(al > 0);

	sim_req(&q);
	q.tcb.fmc = 2;
	q.tcb.bootloader = 3;
	q.tcb.tee = 1;
	q.tcb.snp = 4;
	q.tcb.microcode = 9;
	assert_int_equal(sim_snp_report(rep, t, &q), 0);
	assert_int_equal(rep[0x180], 2); /* Turin layout: fmc in byte 0 */
	assert_int_equal(rep[0x183], 4);
	assert_int_equal(sim_snp_vcek_cert(&der, &dl, t, &q.tcb, NULL, NULL, NULL), 0);
	ev = evidence_raw(rep, sizeof(rep), "VCEK", der, dl);
	chain_add(ev, "ASK", ask, (size_t)al);
	OPENSSL_free(der);
	if (coffer_evidence_verify(&claims, "snp-sim", ev, &p) != 0)
		fail_msg("Turin: %s", coffer_error_last());
	assert_string_equal(json_string_value(json_object_get(claims, "product")), "Turin");
	expect_int(claims, "reported_tcb_fmc", 2);
	expect_int(claims, "reported_tcb_bootloader", 3);
	expect_int(claims, "reported_tcb_tee", 1);
	expect_int(claims, "reported_tcb_snp", 4);
	expect_int(claims, "reported_tcb_microcode", 9);
	json_decref(claims);
	/* the owner's minimum for fmc applies on Turin */
	p.options = json_pack("{s:{s:i}}", "min_tcb", "fmc", 3);
	expect_fail(coffer_evidence_verify(&claims, "snp-sim", ev, &p),
	            "fmc 2 is below the minimum 3");
	json_decref((json_t *)p.options);
	p.options = NULL;
	json_decref(ev);

	/* a VCEK whose fmcSPL differs */
	other = q.tcb;
	other.fmc = 1;
	assert_int_equal(sim_snp_vcek_cert(&der, &dl, t, &other, NULL, NULL, NULL), 0);
	ev = evidence_raw(rep, sizeof(rep), "VCEK", der, dl);
	chain_add(ev, "ASK", ask, (size_t)al);
	OPENSSL_free(der);
	expect_fail(coffer_evidence_verify(&claims, "snp-sim", ev, &p),
	            "differs from the report's reported TCB");
	json_decref(ev);

	/* a Turin VCEK for a Milan report (the Milan sim's report) */
	sim_req(&q);
	assert_int_equal(sim_snp_report(rep, sim, &q), 0);
	assert_int_equal(sim_snp_vcek_cert(&der, &dl, t, &q.tcb, NULL, NULL, NULL), 0);
	ev = evidence_raw(rep, sizeof(rep), "VCEK", der, dl);
	chain_add(ev, "ASK", ask, (size_t)al);
	OPENSSL_free(der);
	expect_fail(coffer_evidence_verify(&claims, "snp-sim", ev, &p),
	            "the VCEK is for Turin but the report comes from a Milan CPU");
	json_decref(ev);

	OPENSSL_free(ask);
	sim_snp_free(t);
}

static void test_sim_files(void **state)
{
	sim_snp *loaded = NULL;
	(void)state;
	assert_int_equal(sim_snp_load(&loaded, simdir), 0);
	assert_memory_equal(loaded->chip_id, sim->chip_id, 64);
	assert_int_equal(X509_cmp(loaded->ark, sim->ark), 0);
	sim_snp_free(loaded);
}

static int setup(void **state)
{
	(void)state;
	snprintf(simdir, sizeof(simdir), "%s", "/tmp/snp-sim-XXXXXX");
	if (mkdtemp(simdir) == NULL)
		return -1;
	if (sim_snp_create(&sim) != 0 || sim_snp_save(sim, simdir) != 0)
		return -1;
	snprintf(sim_root, sizeof(sim_root), "%s/snp/ark.pem", simdir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	sim_snp_free(sim);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", simdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_positive_vectors),
		cmocka_unit_test(test_report_data_binding),
		cmocka_unit_test(test_json_form),
		cmocka_unit_test(test_negative_vectors),
		cmocka_unit_test(test_mutation_every_offset),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_tcb_layouts),
		cmocka_unit_test(test_vek_extensions),
		cmocka_unit_test(test_vcek_der_corrupted),
		cmocka_unit_test(test_other_generation_and_chip),
		cmocka_unit_test(test_vlek_expired),
		cmocka_unit_test(test_owner_checks_real),
		cmocka_unit_test(test_collateral),
		cmocka_unit_test(test_kds_url),
		cmocka_unit_test(test_sim_roundtrip),
		cmocka_unit_test(test_roots_dir_removal),
		cmocka_unit_test(test_sim_refusals),
		cmocka_unit_test(test_sim_crl),
		cmocka_unit_test(test_sim_crl_stale),
		cmocka_unit_test(test_sim_turin),
		cmocka_unit_test(test_sim_files),
	};

	vectors = test_env_dir("COFFER_VECTORS");
	if (vectors == NULL || !vexists("trustee/test-report.bin"))
		test_skip_all("COFFER_VECTORS/snp is absent");
	return cmocka_run_group_tests(tests, setup, teardown);
}
