/*
 * The SEV-SNP ATTESTATION_REPORT (SEV-SNP Firmware ABI specification,
 * revision 1.57 table 23 and 1.58 for version 5): binary parsing, the
 * upstream JSON serialization (virtee/sev `AttestationReport` as sent by the
 * Confidential Containers guest, PROTOCOL.md section 1) and the signature.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "coffer/buf.h"
#include "coffer/codec.h"
#include "coffer/snp.h"
#include "snp/snp_internal.h"

/* Field offsets (ABI 1.58, table 23). */
#define OFF_VERSION         0x000
#define OFF_GUEST_SVN       0x004
#define OFF_POLICY          0x008
#define OFF_FAMILY_ID       0x010
#define OFF_IMAGE_ID        0x020
#define OFF_VMPL            0x030
#define OFF_SIG_ALGO        0x034
#define OFF_CURRENT_TCB     0x038
#define OFF_PLATFORM_INFO   0x040
#define OFF_KEY_INFO        0x048
#define OFF_REPORT_DATA     0x050
#define OFF_MEASUREMENT     0x090
#define OFF_HOST_DATA       0x0C0
#define OFF_ID_KEY_DIGEST   0x0E0
#define OFF_AUTHOR_KEY_DIG  0x110
#define OFF_REPORT_ID       0x140
#define OFF_REPORT_ID_MA    0x160
#define OFF_REPORTED_TCB    0x180
#define OFF_CPUID_FAM       0x188
#define OFF_CPUID_MOD       0x189
#define OFF_CPUID_STEP      0x18A
#define OFF_CHIP_ID         0x1A0
#define OFF_COMMITTED_TCB   0x1E0
#define OFF_CURRENT_BUILD   0x1E8
#define OFF_CURRENT_MINOR   0x1E9
#define OFF_CURRENT_MAJOR   0x1EA
#define OFF_COMMITTED_BUILD 0x1EC
#define OFF_COMMITTED_MINOR 0x1ED
#define OFF_COMMITTED_MAJOR 0x1EE
#define OFF_LAUNCH_TCB      0x1F0
#define OFF_LAUNCH_MIT      0x1F8
#define OFF_CURRENT_MIT     0x200
#define OFF_SIG_R           0x2A0
#define OFF_SIG_S           0x2E8

/* P-384 scalars are 48 bytes; the upper 24 of each 72-byte field are zero. */
#define P384_LEN 48

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

const char *coffer_snp_product_name(coffer_snp_product p)
{
	switch (p) {
	case COFFER_SNP_PRODUCT_MILAN:
		return "Milan";
	case COFFER_SNP_PRODUCT_GENOA:
		return "Genoa";
	case COFFER_SNP_PRODUCT_TURIN:
		return "Turin";
	default:
		return "unknown";
	}
}

coffer_snp_product coffer_snp_product_from_name(const char *name)
{
	static const struct {
		const char *prefix;
		coffer_snp_product p;
	} names[] = {
		{ "Milan", COFFER_SNP_PRODUCT_MILAN },
		{ "Genoa", COFFER_SNP_PRODUCT_GENOA },
		{ "Turin", COFFER_SNP_PRODUCT_TURIN },
	};

	if (name == NULL)
		return COFFER_SNP_PRODUCT_UNKNOWN;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i].prefix);
		/* "Milan" or a stepping suffix such as "Milan-B0" */
		if (strncmp(name, names[i].prefix, n) == 0 && (name[n] == '\0' || name[n] == '-'))
			return names[i].p;
	}
	return COFFER_SNP_PRODUCT_UNKNOWN;
}

coffer_snp_product coffer_snp_product_from_cpuid(uint8_t family, uint8_t model)
{
	/* AMD family 19h: Milan models 00h-0Fh; Genoa (with Bergamo/Siena) 10h-1Fh
	 * and A0h-AFh. Family 1Ah: Turin. */
	if (family == 0x19) {
		if (model <= 0x0F)
			return COFFER_SNP_PRODUCT_MILAN;
		if (model <= 0x1F || (model >= 0xA0 && model <= 0xAF))
			return COFFER_SNP_PRODUCT_GENOA;
	} else if (family == 0x1A) {
		return COFFER_SNP_PRODUCT_TURIN;
	}
	return COFFER_SNP_PRODUCT_UNKNOWN;
}

void coffer_snp_tcb_decode(coffer_snp_tcb *out, uint64_t raw, coffer_snp_product product)
{
	uint8_t b[8];

	put_le64(b, raw);
	memset(out, 0, sizeof(*out));
	out->raw = raw;
	if (product == COFFER_SNP_PRODUCT_TURIN) {
		out->fmc = b[0];
		out->bootloader = b[1];
		out->tee = b[2];
		out->snp = b[3];
	} else {
		out->bootloader = b[0];
		out->tee = b[1];
		out->snp = b[6];
	}
	out->microcode = b[7];
}

uint64_t coffer_snp_tcb_encode(const coffer_snp_tcb *tcb, coffer_snp_product product)
{
	uint8_t b[8] = { 0 };

	if (product == COFFER_SNP_PRODUCT_TURIN) {
		b[0] = tcb->fmc;
		b[1] = tcb->bootloader;
		b[2] = tcb->tee;
		b[3] = tcb->snp;
	} else {
		b[0] = tcb->bootloader;
		b[1] = tcb->tee;
		b[6] = tcb->snp;
	}
	b[7] = tcb->microcode;
	return le64(b);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

int coffer_snp_report_parse(coffer_snp_report **out, const uint8_t *buf, size_t len)
{
	coffer_snp_report *r = NULL;
	const uint8_t *b;
	int error;

	*out = NULL;
	if (buf == NULL || len != COFFER_SNP_REPORT_SIZE)
		return coffer_error_set(COFFER_EINVAL,
		                        "SNP report: %zu bytes, an attestation report is %d bytes",
		                        buf ? len : 0, COFFER_SNP_REPORT_SIZE);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	memcpy(r->raw, buf, len);
	b = r->raw;

	r->version = le32(b + OFF_VERSION);
	/* Versions 2 (ABI 1.55), 3 (1.57: CPUID fields) and 5 (1.58: mitigation
	 * vectors). Anything else has a layout we do not know: refuse it rather
	 * than read fields that may mean something else. */
	if (r->version != 2 && r->version != 3 && r->version != 5) {
		error = coffer_error_set(COFFER_EUNSUPPORTED,
		                         "SNP report: version %u is not supported (2, 3 or 5)",
		                         r->version);
		goto out;
	}
	r->guest_svn = le32(b + OFF_GUEST_SVN);
	r->policy = le64(b + OFF_POLICY);
	memcpy(r->family_id, b + OFF_FAMILY_ID, 16);
	memcpy(r->image_id, b + OFF_IMAGE_ID, 16);
	r->vmpl = le32(b + OFF_VMPL);
	r->sig_algo = le32(b + OFF_SIG_ALGO);
	r->platform_info = le64(b + OFF_PLATFORM_INFO);
	r->key_info = le32(b + OFF_KEY_INFO);
	r->author_key_en = (r->key_info & 1) != 0;
	r->mask_chip_key = (r->key_info & 2) != 0;
	r->signing_key = (r->key_info >> 2) & 7;
	memcpy(r->report_data, b + OFF_REPORT_DATA, 64);
	memcpy(r->measurement, b + OFF_MEASUREMENT, 48);
	memcpy(r->host_data, b + OFF_HOST_DATA, 32);
	memcpy(r->id_key_digest, b + OFF_ID_KEY_DIGEST, 48);
	memcpy(r->author_key_digest, b + OFF_AUTHOR_KEY_DIG, 48);
	memcpy(r->report_id, b + OFF_REPORT_ID, 32);
	memcpy(r->report_id_ma, b + OFF_REPORT_ID_MA, 32);
	if (r->version >= 3) {
		r->has_cpuid = true;
		r->cpuid_fam_id = b[OFF_CPUID_FAM];
		r->cpuid_mod_id = b[OFF_CPUID_MOD];
		r->cpuid_step = b[OFF_CPUID_STEP];
		r->product = coffer_snp_product_from_cpuid(r->cpuid_fam_id, r->cpuid_mod_id);
	}
	memcpy(r->chip_id, b + OFF_CHIP_ID, 64);
	r->current_build = b[OFF_CURRENT_BUILD];
	r->current_minor = b[OFF_CURRENT_MINOR];
	r->current_major = b[OFF_CURRENT_MAJOR];
	r->committed_build = b[OFF_COMMITTED_BUILD];
	r->committed_minor = b[OFF_COMMITTED_MINOR];
	r->committed_major = b[OFF_COMMITTED_MAJOR];
	coffer_snp_tcb_decode(&r->current_tcb, le64(b + OFF_CURRENT_TCB), r->product);
	coffer_snp_tcb_decode(&r->reported_tcb, le64(b + OFF_REPORTED_TCB), r->product);
	coffer_snp_tcb_decode(&r->committed_tcb, le64(b + OFF_COMMITTED_TCB), r->product);
	coffer_snp_tcb_decode(&r->launch_tcb, le64(b + OFF_LAUNCH_TCB), r->product);
	if (r->version >= 5) {
		r->has_mit_vector = true;
		r->launch_mit_vector = le64(b + OFF_LAUNCH_MIT);
		r->current_mit_vector = le64(b + OFF_CURRENT_MIT);
	}
	memcpy(r->sig_r, b + OFF_SIG_R, COFFER_SNP_SIG_COMPONENT_LEN);
	memcpy(r->sig_s, b + OFF_SIG_S, COFFER_SNP_SIG_COMPONENT_LEN);

	if (r->sig_algo != COFFER_SNP_SIG_ECDSA_P384_SHA384) {
		error = coffer_error_set(COFFER_EUNSUPPORTED,
		                         "SNP report: signature algorithm %u is not supported "
		                         "(1 = ECDSA P-384 with SHA-384)",
		                         r->sig_algo);
		goto out;
	}
	if (r->signing_key != COFFER_SNP_KEY_VCEK && r->signing_key != COFFER_SNP_KEY_VLEK) {
		error = coffer_error_set(r->signing_key == COFFER_SNP_KEY_NONE
		                                 ? COFFER_EVERIFY
		                                 : COFFER_EUNSUPPORTED,
		                         r->signing_key == COFFER_SNP_KEY_NONE
		                                 ? "SNP report: not signed (SIGNING_KEY = none)"
		                                 : "SNP report: unknown signing key %u",
		                         r->signing_key);
		goto out;
	}
	if (!all_zero(r->sig_r + P384_LEN, COFFER_SNP_SIG_COMPONENT_LEN - P384_LEN) ||
	    !all_zero(r->sig_s + P384_LEN, COFFER_SNP_SIG_COMPONENT_LEN - P384_LEN)) {
		error = coffer_error_set(COFFER_EINVAL,
		                         "SNP report: signature r/s longer than a P-384 scalar");
		goto out;
	}
	*out = r;
	r = NULL;
	error = 0;
out:
	free(r);
	return error;
}

void coffer_snp_report_free(coffer_snp_report *r)
{
	free(r);
}

/* ---- signature ---- */

int snp_report_verify_pkey(const coffer_snp_report *r, EVP_PKEY *pkey)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	EVP_MD_CTX *ctx = NULL;
	uint8_t der[128], *p = der;
	int der_len, rc, error;

	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC || EVP_PKEY_get_bits(pkey) != 384)
		return coffer_error_set(COFFER_EVERIFY,
		                        "SNP report: the endorsement key is not an EC P-384 key");
	/* r and s are little-endian (ABI, "ECDSA P-384 with SHA-384 Signature") */
	br = BN_lebin2bn(r->sig_r, P384_LEN, NULL);
	bs = BN_lebin2bn(r->sig_s, P384_LEN, NULL);
	sig = ECDSA_SIG_new();
	if (br == NULL || bs == NULL || sig == NULL) {
		error = coffer_error_set_ssl(COFFER_ENOMEM, "SNP report: signature");
		goto out;
	}
	if (ECDSA_SIG_set0(sig, br, bs) != 1) {
		error = coffer_error_set_ssl(COFFER_ERROR, "SNP report: signature");
		goto out;
	}
	br = bs = NULL;
	if ((der_len = i2d_ECDSA_SIG(sig, NULL)) <= 0 || (size_t)der_len > sizeof(der) ||
	    i2d_ECDSA_SIG(sig, &p) != der_len) {
		error = coffer_error_set_ssl(COFFER_ERROR, "SNP report: signature encoding");
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL, pkey) != 1) {
		error = coffer_error_set_ssl(COFFER_ERROR, "SNP report: verify init");
		goto out;
	}
	rc = EVP_DigestVerify(ctx, der, (size_t)der_len, r->raw, COFFER_SNP_SIGNED_LEN);
	if (rc != 1) {
		error = coffer_error_set(
		        COFFER_EVERIFY, "SNP report: the signature does not verify with the %s key",
		        r->signing_key == COFFER_SNP_KEY_VLEK ? "VLEK" : "VCEK");
		ERR_clear_error();
		goto out;
	}
	error = 0;
out:
	EVP_MD_CTX_free(ctx);
	ECDSA_SIG_free(sig);
	BN_free(br);
	BN_free(bs);
	return error;
}

int coffer_snp_report_verify_der(const coffer_snp_report *r, const uint8_t *der, size_t len)
{
	const uint8_t *p = der;
	X509 *cert = NULL;
	EVP_PKEY *pkey = NULL;
	int error;

	if (der == NULL || len == 0 || len > SNP_CERT_MAX)
		return coffer_error_set(COFFER_EINVAL, "SNP: no key");
	if ((cert = d2i_X509(NULL, &p, (long)len)) != NULL && p == der + len) {
		pkey = X509_get_pubkey(cert);
	} else {
		ERR_clear_error();
		p = der;
		pkey = d2i_PUBKEY(NULL, &p, (long)len);
		if (pkey != NULL && p != der + len) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	}
	if (pkey == NULL) {
		error = coffer_error_set_ssl(COFFER_EINVAL,
		                             "SNP: not a DER certificate or public key");
		goto out;
	}
	error = snp_report_verify_pkey(r, pkey);
out:
	EVP_PKEY_free(pkey);
	X509_free(cert);
	return error;
}

/* ---- the upstream JSON serialization ---- */

static int json_bytes(uint8_t *dst, size_t n, const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (json_is_array(v)) {
		size_t i;
		const json_t *e;
		if (json_array_size(v) != n)
			return coffer_error_set(COFFER_EINVAL,
			                        "SNP report JSON: '%s' has %zu bytes, expected %zu",
			                        key, json_array_size(v), n);
		json_array_foreach(v, i, e)
		{
			json_int_t x;
			if (!json_is_integer(e) || (x = json_integer_value(e)) < 0 || x > 255)
				return coffer_error_set(COFFER_EINVAL,
				                        "SNP report JSON: '%s'[%zu] is not a byte",
				                        key, i);
			dst[i] = (uint8_t)x;
		}
		return 0;
	}
	if (json_is_string(v)) { /* some serializers write byte arrays as hex */
		uint8_t *raw = NULL;
		size_t raw_len = 0;
		int error = coffer_hex_decode(&raw, &raw_len, json_string_value(v),
		                              json_string_length(v));
		if (error < 0)
			return coffer_error_wrap(error, "SNP report JSON: '%s'", key);
		if (raw_len != n) {
			free(raw);
			return coffer_error_set(COFFER_EINVAL,
			                        "SNP report JSON: '%s' has %zu bytes, expected %zu",
			                        key, raw_len, n);
		}
		memcpy(dst, raw, n);
		free(raw);
		return 0;
	}
	return coffer_error_set(COFFER_EINVAL, "SNP report JSON: '%s' missing or not bytes", key);
}

static int json_uint(uint64_t *out, const json_t *obj, const char *key, uint64_t max, bool optional)
{
	const json_t *v = json_object_get(obj, key);
	json_int_t x;

	if (optional && (v == NULL || json_is_null(v))) {
		*out = 0;
		return 1;
	}
	/* jansson keeps integers as signed 64-bit: a 64-bit field (policy,
	 * platform info, mitigation vectors; max UINT64_MAX) with its top bit set
	 * is read back from its two's complement, as written by _to_json */
	if (json_is_integer(v) && max == UINT64_MAX) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_integer(v) || (x = json_integer_value(v)) < 0 || (uint64_t)x > max)
		return coffer_error_set(COFFER_EINVAL,
		                        "SNP report JSON: '%s' missing or not an integer in range",
		                        key);
	*out = (uint64_t)x;
	return 0;
}

static int json_tcb(uint8_t *dst, const json_t *obj, const char *key, coffer_snp_product prod)
{
	const json_t *t = json_object_get(obj, key);
	uint64_t bl, tee, snp, uc, fmc;
	coffer_snp_tcb tcb = { 0 };
	int error;

	if (!json_is_object(t))
		return coffer_error_set(COFFER_EINVAL, "SNP report JSON: '%s' is not an object",
		                        key);
	if ((error = json_uint(&bl, t, "bootloader", 255, false)) < 0 ||
	    (error = json_uint(&tee, t, "tee", 255, false)) < 0 ||
	    (error = json_uint(&snp, t, "snp", 255, false)) < 0 ||
	    (error = json_uint(&uc, t, "microcode", 255, false)) < 0 ||
	    (error = json_uint(&fmc, t, "fmc", 255, true)) < 0)
		return coffer_error_wrap(error, "in '%s'", key);
	if (prod != COFFER_SNP_PRODUCT_TURIN && fmc != 0)
		return coffer_error_set(COFFER_EINVAL,
		                        "SNP report JSON: '%s' has an fmc on a non-Turin report",
		                        key);
	tcb.bootloader = (uint8_t)bl;
	tcb.tee = (uint8_t)tee;
	tcb.snp = (uint8_t)snp;
	tcb.microcode = (uint8_t)uc;
	tcb.fmc = (uint8_t)fmc;
	put_le64(dst, coffer_snp_tcb_encode(&tcb, prod));
	return 0;
}

static int json_version(uint8_t *dst, const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	uint64_t major, minor, build;
	int error;

	if (!json_is_object(v))
		return coffer_error_set(COFFER_EINVAL, "SNP report JSON: '%s' is not an object",
		                        key);
	if ((error = json_uint(&major, v, "major", 255, false)) < 0 ||
	    (error = json_uint(&minor, v, "minor", 255, false)) < 0 ||
	    (error = json_uint(&build, v, "build", 255, false)) < 0)
		return coffer_error_wrap(error, "in '%s'", key);
	dst[0] = (uint8_t)build;
	dst[1] = (uint8_t)minor;
	dst[2] = (uint8_t)major;
	return 0;
}

int coffer_snp_report_from_json(coffer_snp_report **out, const json_t *obj)
{
	uint8_t b[COFFER_SNP_REPORT_SIZE];
	uint64_t u, fam = 0, mod = 0, step = 0;
	coffer_snp_product prod = COFFER_SNP_PRODUCT_UNKNOWN;
	const json_t *sig;
	int error, has_cpuid;

	*out = NULL;
	if (!json_is_object(obj))
		return coffer_error_set(COFFER_EINVAL, "SNP report JSON: not an object");
	memset(b, 0, sizeof(b));

	if ((error = json_uint(&u, obj, "version", UINT32_MAX, false)) < 0)
		return error;
	put_le32(b + OFF_VERSION, (uint32_t)u);
	/* The TCB layout depends on the CPU generation: read CPUID first. */
	has_cpuid = json_uint(&fam, obj, "cpuid_fam_id", 255, true);
	if (has_cpuid < 0 || (error = json_uint(&mod, obj, "cpuid_mod_id", 255, true)) < 0 ||
	    (error = json_uint(&step, obj, "cpuid_step", 255, true)) < 0)
		return has_cpuid < 0 ? has_cpuid : error;
	if (has_cpuid == 0) {
		b[OFF_CPUID_FAM] = (uint8_t)fam;
		b[OFF_CPUID_MOD] = (uint8_t)mod;
		b[OFF_CPUID_STEP] = (uint8_t)step;
		prod = coffer_snp_product_from_cpuid((uint8_t)fam, (uint8_t)mod);
	}
	if ((error = json_uint(&u, obj, "guest_svn", UINT32_MAX, false)) < 0)
		return error;
	put_le32(b + OFF_GUEST_SVN, (uint32_t)u);
	if ((error = json_uint(&u, obj, "policy", UINT64_MAX, false)) < 0)
		return error;
	put_le64(b + OFF_POLICY, u);
	if ((error = json_bytes(b + OFF_FAMILY_ID, 16, obj, "family_id")) < 0 ||
	    (error = json_bytes(b + OFF_IMAGE_ID, 16, obj, "image_id")) < 0)
		return error;
	if ((error = json_uint(&u, obj, "vmpl", UINT32_MAX, false)) < 0)
		return error;
	put_le32(b + OFF_VMPL, (uint32_t)u);
	if ((error = json_uint(&u, obj, "sig_algo", UINT32_MAX, false)) < 0)
		return error;
	put_le32(b + OFF_SIG_ALGO, (uint32_t)u);
	if ((error = json_tcb(b + OFF_CURRENT_TCB, obj, "current_tcb", prod)) < 0)
		return error;
	if ((error = json_uint(&u, obj, "plat_info", UINT64_MAX, false)) < 0)
		return error;
	put_le64(b + OFF_PLATFORM_INFO, u);
	if ((error = json_uint(&u, obj, "key_info", UINT32_MAX, false)) < 0)
		return error;
	put_le32(b + OFF_KEY_INFO, (uint32_t)u);
	if ((error = json_bytes(b + OFF_REPORT_DATA, 64, obj, "report_data")) < 0 ||
	    (error = json_bytes(b + OFF_MEASUREMENT, 48, obj, "measurement")) < 0 ||
	    (error = json_bytes(b + OFF_HOST_DATA, 32, obj, "host_data")) < 0 ||
	    (error = json_bytes(b + OFF_ID_KEY_DIGEST, 48, obj, "id_key_digest")) < 0 ||
	    (error = json_bytes(b + OFF_AUTHOR_KEY_DIG, 48, obj, "author_key_digest")) < 0 ||
	    (error = json_bytes(b + OFF_REPORT_ID, 32, obj, "report_id")) < 0 ||
	    (error = json_bytes(b + OFF_REPORT_ID_MA, 32, obj, "report_id_ma")) < 0 ||
	    (error = json_tcb(b + OFF_REPORTED_TCB, obj, "reported_tcb", prod)) < 0 ||
	    (error = json_bytes(b + OFF_CHIP_ID, 64, obj, "chip_id")) < 0 ||
	    (error = json_tcb(b + OFF_COMMITTED_TCB, obj, "committed_tcb", prod)) < 0 ||
	    (error = json_version(b + OFF_CURRENT_BUILD, obj, "current")) < 0 ||
	    (error = json_version(b + OFF_COMMITTED_BUILD, obj, "committed")) < 0 ||
	    (error = json_tcb(b + OFF_LAUNCH_TCB, obj, "launch_tcb", prod)) < 0)
		return error;
	if ((error = json_uint(&u, obj, "launch_mit_vector", UINT64_MAX, true)) < 0)
		return error;
	put_le64(b + OFF_LAUNCH_MIT, u);
	if ((error = json_uint(&u, obj, "current_mit_vector", UINT64_MAX, true)) < 0)
		return error;
	put_le64(b + OFF_CURRENT_MIT, u);
	sig = json_object_get(obj, "signature");
	if (!json_is_object(sig))
		return coffer_error_set(COFFER_EINVAL, "SNP report JSON: 'signature' missing");
	if ((error = json_bytes(b + OFF_SIG_R, 72, sig, "r")) < 0 ||
	    (error = json_bytes(b + OFF_SIG_S, 72, sig, "s")) < 0)
		return error;
	return coffer_snp_report_parse(out, b, sizeof(b));
}

json_t *snp_json_bytes(const uint8_t *p, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_integer(p[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *tcb_json(const coffer_snp_tcb *t, coffer_snp_product prod)
{
	return json_pack("{s:o,s:i,s:i,s:i,s:i}", "fmc",
	                 prod == COFFER_SNP_PRODUCT_TURIN ? json_integer(t->fmc) : json_null(),
	                 "bootloader", t->bootloader, "tee", t->tee, "snp", t->snp, "microcode",
	                 t->microcode);
}

int coffer_snp_report_to_json(json_t **out, const coffer_snp_report *r)
{
	json_t *o;
	coffer_snp_product prod = r->product;

	*out = NULL;
	o = json_pack(
	        "{s:I,s:I,s:I,s:o,s:o,s:I,s:I,s:o,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,"
	        "s:o,s:o,s:o,s:o,s:o,s:{s:i,s:i,s:i},s:{s:i,s:i,s:i},s:o,s:o,s:o,"
	        "s:{s:o,s:o}}",
	        "version", (json_int_t)r->version, "guest_svn", (json_int_t)r->guest_svn, "policy",
	        (json_int_t)r->policy, "family_id", snp_json_bytes(r->family_id, 16), "image_id",
	        snp_json_bytes(r->image_id, 16), "vmpl", (json_int_t)r->vmpl, "sig_algo",
	        (json_int_t)r->sig_algo, "current_tcb", tcb_json(&r->current_tcb, prod),
	        "plat_info", (json_int_t)r->platform_info, "key_info", (json_int_t)r->key_info,
	        "report_data", snp_json_bytes(r->report_data, 64), "measurement",
	        snp_json_bytes(r->measurement, 48), "host_data", snp_json_bytes(r->host_data, 32),
	        "id_key_digest", snp_json_bytes(r->id_key_digest, 48), "author_key_digest",
	        snp_json_bytes(r->author_key_digest, 48), "report_id",
	        snp_json_bytes(r->report_id, 32), "report_id_ma",
	        snp_json_bytes(r->report_id_ma, 32), "reported_tcb",
	        tcb_json(&r->reported_tcb, prod), "cpuid_fam_id",
	        r->has_cpuid ? json_integer(r->cpuid_fam_id) : json_null(), "cpuid_mod_id",
	        r->has_cpuid ? json_integer(r->cpuid_mod_id) : json_null(), "cpuid_step",
	        r->has_cpuid ? json_integer(r->cpuid_step) : json_null(), "chip_id",
	        snp_json_bytes(r->chip_id, 64), "committed_tcb", tcb_json(&r->committed_tcb, prod),
	        "current", "major", r->current_major, "minor", r->current_minor, "build",
	        r->current_build, "committed", "major", r->committed_major, "minor",
	        r->committed_minor, "build", r->committed_build, "launch_tcb",
	        tcb_json(&r->launch_tcb, prod), "launch_mit_vector",
	        r->has_mit_vector ? json_integer((json_int_t)r->launch_mit_vector) : json_null(),
	        "current_mit_vector",
	        r->has_mit_vector ? json_integer((json_int_t)r->current_mit_vector) : json_null(),
	        "signature", "r", snp_json_bytes(r->sig_r, 72), "s", snp_json_bytes(r->sig_s, 72));
	if (o == NULL)
		return coffer_error_set(COFFER_ENOMEM, "SNP report JSON: out of memory");
	*out = o;
	return 0;
}

/* ---- evidence (PROTOCOL.md section 1) ---- */

int coffer_snp_evidence_report(coffer_snp_report **out, const json_t *ev)
{
	const json_t *rep, *b64;
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	int error;

	*out = NULL;
	if (!json_is_object(ev))
		return coffer_error_set(COFFER_EINVAL, "SNP evidence: not a JSON object");
	rep = json_object_get(ev, "attestation_report");
	b64 = json_object_get(ev, "attestation_report_b64");
	if (rep != NULL && !json_is_null(rep) && b64 != NULL)
		return coffer_error_set(COFFER_EINVAL, "SNP evidence: both 'attestation_report' "
		                                       "and 'attestation_report_b64'");
	if (b64 != NULL) {
		if (!json_is_string(b64))
			return coffer_error_set(
			        COFFER_EINVAL,
			        "SNP evidence: 'attestation_report_b64' is not a string");
		if (json_string_length(b64) > 2 * COFFER_SNP_REPORT_SIZE)
			return coffer_error_set(COFFER_EINVAL,
			                        "SNP evidence: 'attestation_report_b64' too long");
		if ((error = coffer_base64_decode(&raw, &raw_len, json_string_value(b64),
		                                  json_string_length(b64), COFFER_B64_STD)) < 0)
			return coffer_error_wrap(error, "SNP evidence: 'attestation_report_b64'");
		error = coffer_snp_report_parse(out, raw, raw_len);
		free(raw);
		return error;
	}
	if (rep == NULL || json_is_null(rep))
		return coffer_error_set(COFFER_EINVAL, "SNP evidence: no 'attestation_report'");
	return coffer_snp_report_from_json(out, rep);
}
