/*
 * Simulated SEV-SNP key hierarchy and report producer (see sim_snp.h).
 * The certificates follow AMD's profile so that the production verifier
 * checks them exactly as it checks AMD's: RSA-4096 RSASSA-PSS (SHA-384,
 * MGF1-SHA-384, salt 48) ARK and ASK named "ARK-Milan" / "SEV-Milan", a P-384
 * VCEK "SEV-VCEK" with serial 0, productName, the SPL INTEGER extensions and
 * the raw 64-byte hwID. The organization says "Coffer simulated SEV-SNP" so
 * nobody mistakes them for AMD's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "coffer/codec.h"
#include "coffer/file.h"
#include "sim_snp.h"

#define SIM_ORG        "Coffer simulated SEV-SNP (not AMD)"
#define SIM_RSA_BITS   4096
#define SIM_DAYS_BACK  (1L * 24 * 3600)
#define SIM_DAYS_VALID (3650L * 24 * 3600)

int sim_snp_rsa_key(EVP_PKEY **out, int bits)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL);
	EVP_PKEY *k = NULL;
	int ok = ctx != NULL && EVP_PKEY_keygen_init(ctx) == 1 &&
	         EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) == 1 && EVP_PKEY_keygen(ctx, &k) == 1;

	EVP_PKEY_CTX_free(ctx);
	if (!ok)
		return coffer_error_set_ssl(COFFER_ERROR, "sim: RSA key generation");
	*out = k;
	return 0;
}

static int p384_key(EVP_PKEY **out)
{
	EVP_PKEY *k = EVP_EC_gen("P-384");

	if (k == NULL)
		return coffer_error_set_ssl(COFFER_ERROR, "sim: P-384 key generation");
	*out = k;
	return 0;
}

static int set_name(X509_NAME *n, const char *cn)
{
	return X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC,
	                                  (const unsigned char *)"Engineering", -1, -1, 0) == 1 &&
	       X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1,
	                                  0) == 1 &&
	       X509_NAME_add_entry_by_txt(n, "L", MBSTRING_ASC,
	                                  (const unsigned char *)"Santa Clara", -1, -1, 0) == 1 &&
	       X509_NAME_add_entry_by_txt(n, "ST", MBSTRING_ASC, (const unsigned char *)"CA", -1,
	                                  -1, 0) == 1 &&
	       X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)SIM_ORG, -1,
	                                  -1, 0) == 1 &&
	       X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
	                                  0) == 1;
}

/* RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48: AMD's signature profile. */
static int sign_pss(X509 *x, EVP_PKEY *key)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok = md != NULL && EVP_DigestSignInit(md, &pctx, EVP_sha384(), NULL, key) == 1 &&
	         EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
	         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) == 1 &&
	         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) == 1 && X509_sign_ctx(x, md) > 0;

	EVP_MD_CTX_free(md);
	return ok ? 0 : coffer_error_set_ssl(COFFER_ERROR, "sim: signing a certificate");
}

static int base_cert(X509 **out, const char *cn, EVP_PKEY *pub, X509 *issuer, long serial)
{
	X509 *x = X509_new();
	int ok = x != NULL && X509_set_version(x, 2) == 1 &&
	         ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1 &&
	         X509_gmtime_adj(X509_getm_notBefore(x), -SIM_DAYS_BACK) != NULL &&
	         X509_gmtime_adj(X509_getm_notAfter(x), SIM_DAYS_VALID) != NULL &&
	         set_name(X509_get_subject_name(x), cn) &&
	         X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer)
	                                        : X509_get_subject_name(x)) == 1 &&
	         X509_set_pubkey(x, pub) == 1;

	if (!ok) {
		X509_free(x);
		return coffer_error_set_ssl(COFFER_ERROR, "sim: certificate");
	}
	*out = x;
	return 0;
}

static int add_ext_nid(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ok = e != NULL && X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	return ok ? 0 : coffer_error_set_ssl(COFFER_ERROR, "sim: extension");
}

int sim_snp_ca_cert(X509 **out, const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key)
{
	X509 *x = NULL;
	int error;

	if ((error = base_cert(&x, cn, key, issuer, issuer ? 0x10001 : 0x10000)) < 0)
		return error;
	if ((error = add_ext_nid(x, issuer, NID_subject_key_identifier, "hash")) < 0 ||
	    (error = add_ext_nid(x, issuer, NID_basic_constraints,
	                         issuer ? "critical,CA:TRUE,pathlen:0" : "critical,CA:TRUE")) < 0 ||
	    (error = add_ext_nid(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign")) < 0 ||
	    (error = sign_pss(x, issuer_key ? issuer_key : key)) < 0) {
		X509_free(x);
		return error;
	}
	*out = x;
	return 0;
}

static int add_raw_ext(X509 *x, const char *oid, const uint8_t *val, size_t len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e = NULL;
	int ok = obj != NULL && os != NULL && ASN1_OCTET_STRING_set(os, val, (int)len) == 1 &&
	         (e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) != NULL &&
	         X509_add_ext(x, e, -1) == 1;

	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return ok ? 0 : coffer_error_set_ssl(COFFER_ERROR, "sim: extension %s", oid);
}

static int add_int_ext(X509 *x, const char *oid, uint8_t v)
{
	/* DER INTEGER, as AMD writes the SPL values */
	uint8_t der[4] = { 0x02, 0x01, v, 0 };
	size_t n = 3;

	if (v >= 0x80) {
		der[1] = 2;
		der[2] = 0;
		der[3] = v;
		n = 4;
	}
	return add_raw_ext(x, oid, der, n);
}

int sim_snp_vcek_cert(uint8_t **der, size_t *len, const sim_snp *s, const coffer_snp_tcb *tcb,
                      X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key)
{
	static const uint8_t milan[] = { 0x16, 0x08, 'M', 'i', 'l', 'a', 'n', '-', 'B', '0' };
	static const uint8_t turin[] = { 0x16, 0x05, 'T', 'u', 'r', 'i', 'n' };
	static const uint8_t structver[] = { 0x02, 0x01, 0x01 };
	bool is_turin = s->product == COFFER_SNP_PRODUCT_TURIN;
	X509 *x = NULL;
	unsigned char *p = NULL;
	int n, error;

	if (issuer == NULL) {
		issuer = s->ask;
		issuer_key = s->ask_key;
	}
	if ((error = base_cert(&x, "SEV-VCEK", key ? key : s->vcek_key, issuer, 0)) < 0)
		return error;
	if ((error = add_raw_ext(x, "1.3.6.1.4.1.3704.1.1", structver, sizeof(structver))) < 0 ||
	    (error = add_raw_ext(x, "1.3.6.1.4.1.3704.1.2", is_turin ? turin : milan,
	                         is_turin ? sizeof(turin) : sizeof(milan))) < 0 ||
	    (is_turin && (error = add_int_ext(x, "1.3.6.1.4.1.3704.1.3.9", tcb->fmc)) < 0) ||
	    (error = add_int_ext(x, "1.3.6.1.4.1.3704.1.3.1", tcb->bootloader)) < 0 ||
	    (error = add_int_ext(x, "1.3.6.1.4.1.3704.1.3.2", tcb->tee)) < 0 ||
	    (error = add_int_ext(x, "1.3.6.1.4.1.3704.1.3.3", tcb->snp)) < 0 ||
	    (error = add_int_ext(x, "1.3.6.1.4.1.3704.1.3.8", tcb->microcode)) < 0 ||
	    /* Turin VCEKs carry the first 8 bytes of the chip id */
	    (error = add_raw_ext(x, "1.3.6.1.4.1.3704.1.4", s->chip_id, is_turin ? 8 : 64)) < 0 ||
	    (error = sign_pss(x, issuer_key)) < 0)
		goto out;
	if ((n = i2d_X509(x, &p)) <= 0) {
		error = coffer_error_set_ssl(COFFER_ERROR, "sim: VCEK encoding");
		goto out;
	}
	*der = p;
	*len = (size_t)n;
	error = 0;
out:
	X509_free(x);
	return error;
}

void sim_snp_free(sim_snp *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->ark_key);
	EVP_PKEY_free(s->ask_key);
	EVP_PKEY_free(s->vcek_key);
	X509_free(s->ark);
	X509_free(s->ask);
	free(s);
}

int sim_snp_create(sim_snp **out)
{
	return sim_snp_create_product(out, COFFER_SNP_PRODUCT_MILAN, SIM_RSA_BITS);
}

int sim_snp_create_product(sim_snp **out, coffer_snp_product product, int rsa_bits)
{
	sim_snp *s = calloc(1, sizeof(*s));
	char ark[32], ask[32];
	int error;

	*out = NULL;
	if (s == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	if (product != COFFER_SNP_PRODUCT_MILAN && product != COFFER_SNP_PRODUCT_TURIN) {
		free(s);
		return coffer_error_set(COFFER_EUNSUPPORTED, "sim: Milan or Turin only");
	}
	s->product = product;
	snprintf(ark, sizeof(ark), "ARK-%s", coffer_snp_product_name(product));
	snprintf(ask, sizeof(ask), "SEV-%s", coffer_snp_product_name(product));
	if ((error = sim_snp_rsa_key(&s->ark_key, rsa_bits)) < 0 ||
	    (error = sim_snp_rsa_key(&s->ask_key, rsa_bits)) < 0 ||
	    (error = p384_key(&s->vcek_key)) < 0 ||
	    (error = sim_snp_ca_cert(&s->ark, ark, s->ark_key, NULL, NULL)) < 0 ||
	    (error = sim_snp_ca_cert(&s->ask, ask, s->ask_key, s->ark, s->ark_key)) < 0)
		goto out;
	if (RAND_bytes(s->chip_id, sizeof(s->chip_id)) != 1) {
		error = coffer_error_set_ssl(COFFER_ERROR, "sim: random");
		goto out;
	}
	*out = s;
	s = NULL;
	error = 0;
out:
	sim_snp_free(s);
	return error;
}

/* ---- files ---- */

/* The PEM text gathered in `b` (ok: every write to it succeeded) into path:
 * a private key with mode 0600, wiped after, anything else 0644. */
static int write_pem(const char *path, BIO *b, bool ok, bool private_key)
{
	char *p;
	long n;
	int error;

	if (!ok || (n = BIO_get_mem_data(b, &p)) <= 0) {
		BIO_free(b);
		return coffer_error_set_ssl(COFFER_ERROR, "sim: PEM");
	}
	if (private_key) {
		error = coffer_file_write_private(path, p, (size_t)n);
		OPENSSL_cleanse(p, (size_t)n);
	} else {
		error = coffer_file_write(path, p, (size_t)n, 0644);
	}
	BIO_free(b);
	return error;
}

/* One certificate, or two when `next` is not NULL (a chain: ASK then ARK,
 * as AMD's KDS serves cert_chain). */
static int write_certs(const char *path, X509 *x, X509 *next)
{
	BIO *b = BIO_new(BIO_s_mem());
	bool ok = b != NULL && PEM_write_bio_X509(b, x) == 1 &&
	          (next == NULL || PEM_write_bio_X509(b, next) == 1);

	return write_pem(path, b, ok, false);
}

static int write_key(const char *path, EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	bool ok = b != NULL && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1;

	return write_pem(path, b, ok, true);
}

static int snp_dir(char *out, size_t n, const char *dir, const char *file)
{
	if (snprintf(out, n, "%s/snp%s%s", dir, file ? "/" : "", file ? file : "") >= (int)n)
		return coffer_error_set(COFFER_EINVAL, "sim: path too long");
	return 0;
}

int sim_snp_save(const sim_snp *s, const char *dir)
{
	char path[4096];
	char *hex = NULL;
	int error;

	if ((error = snp_dir(path, sizeof(path), dir, NULL)) < 0)
		return error;
	if ((mkdir(dir, 0700) != 0 && errno != EEXIST) ||
	    (mkdir(path, 0700) != 0 && errno != EEXIST))
		return coffer_error_set(COFFER_EIO, "sim: cannot create %s", path);
	if ((error = snp_dir(path, sizeof(path), dir, "ark.pem")) < 0 ||
	    (error = write_certs(path, s->ark, NULL)) < 0 ||
	    (error = snp_dir(path, sizeof(path), dir, "ask.pem")) < 0 ||
	    (error = write_certs(path, s->ask, NULL)) < 0 ||
	    (error = snp_dir(path, sizeof(path), dir, "cert_chain.pem")) < 0 ||
	    (error = write_certs(path, s->ask, s->ark)) < 0 ||
	    (error = snp_dir(path, sizeof(path), dir, "ark.key")) < 0 ||
	    (error = write_key(path, s->ark_key)) < 0 ||
	    (error = snp_dir(path, sizeof(path), dir, "ask.key")) < 0 ||
	    (error = write_key(path, s->ask_key)) < 0 ||
	    (error = snp_dir(path, sizeof(path), dir, "vcek.key")) < 0 ||
	    (error = write_key(path, s->vcek_key)) < 0 ||
	    (error = coffer_hex_encode(&hex, s->chip_id, 64)) < 0 ||
	    (error = snp_dir(path, sizeof(path), dir, "chip_id")) < 0 ||
	    (error = coffer_file_write(path, hex, strlen(hex), 0644)) < 0)
		goto out;
	error = 0;
out:
	free(hex);
	return error;
}

static int read_pem(const char *dir, const char *file, X509 **cert, EVP_PKEY **key)
{
	char path[4096];
	uint8_t *data = NULL;
	size_t len = 0;
	BIO *b = NULL;
	int error;

	if ((error = snp_dir(path, sizeof(path), dir, file)) < 0 ||
	    (error = coffer_file_read(&data, &len, path, 64 * 1024)) < 0)
		return error;
	if ((b = BIO_new_mem_buf(data, (int)len)) == NULL) {
		error = coffer_error_set_ssl(COFFER_ENOMEM, "sim");
		goto out;
	}
	if (cert)
		*cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
	if (key)
		*key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	if ((cert && *cert == NULL) || (key && *key == NULL)) {
		error = coffer_error_set_ssl(COFFER_EINVAL, "sim: %s unreadable", path);
		goto out;
	}
	error = 0;
out:
	BIO_free(b);
	if (data) {
		OPENSSL_cleanse(data, len);
		free(data);
	}
	return error;
}

int sim_snp_load(sim_snp **out, const char *dir)
{
	sim_snp *s = calloc(1, sizeof(*s));
	char path[4096];
	uint8_t *hex = NULL, *chip = NULL;
	size_t hl = 0, cl = 0;
	int error;

	*out = NULL;
	if (s == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	s->product = COFFER_SNP_PRODUCT_MILAN;
	if ((error = read_pem(dir, "ark.pem", &s->ark, NULL)) < 0 ||
	    (error = read_pem(dir, "ask.pem", &s->ask, NULL)) < 0 ||
	    (error = read_pem(dir, "ark.key", NULL, &s->ark_key)) < 0 ||
	    (error = read_pem(dir, "ask.key", NULL, &s->ask_key)) < 0 ||
	    (error = read_pem(dir, "vcek.key", NULL, &s->vcek_key)) < 0 ||
	    (error = snp_dir(path, sizeof(path), dir, "chip_id")) < 0 ||
	    (error = coffer_file_read(&hex, &hl, path, 256)) < 0)
		goto out;
	while (hl > 0 && (hex[hl - 1] == '\n' || hex[hl - 1] == ' '))
		hl--;
	if ((error = coffer_hex_decode(&chip, &cl, (const char *)hex, hl)) < 0 || cl != 64) {
		error = coffer_error_set(COFFER_EINVAL, "sim: bad chip_id file");
		goto out;
	}
	memcpy(s->chip_id, chip, 64);
	*out = s;
	s = NULL;
	error = 0;
out:
	free(hex);
	free(chip);
	sim_snp_free(s);
	return error;
}

int sim_snp_init(const char *dir)
{
	sim_snp *s = NULL;
	int error;

	if ((error = sim_snp_create(&s)) < 0 || (error = sim_snp_save(s, dir)) < 0) {
		fprintf(stderr, "coffer-sim: snp: %s\n", coffer_error_last());
		sim_snp_free(s);
		return error;
	}
	sim_snp_free(s);
	return 0;
}

/* ---- reports ---- */

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

int sim_snp_report(uint8_t out[COFFER_SNP_REPORT_SIZE], const sim_snp *s, const sim_snp_req *req)
{
	uint8_t b[COFFER_SNP_REPORT_SIZE];
	uint32_t version = req->version ? req->version : 3;
	uint64_t tcb = coffer_snp_tcb_encode(&req->tcb, s->product);
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *sig = NULL;
	uint8_t der[160];
	const uint8_t *dp = der;
	size_t dlen = sizeof(der);
	const BIGNUM *r, *sv;
	int error;

	memset(b, 0, sizeof(b));
	put_le32(b + 0x000, version);
	put_le32(b + 0x004, 1);                                             /* guest_svn */
	put_le64(b + 0x008, req->policy ? req->policy : UINT64_C(0x30000)); /* policy */
	put_le32(b + 0x030, req->vmpl);
	put_le32(b + 0x034, COFFER_SNP_SIG_ECDSA_P384_SHA384);
	put_le64(b + 0x038, tcb);                        /* current */
	put_le64(b + 0x040, COFFER_SNP_PLATFORM_SMT_EN); /* platform info */
	put_le32(b + 0x048, COFFER_SNP_KEY_VCEK << 2);   /* key info */
	memcpy(b + 0x050, req->report_data, 64);
	memcpy(b + 0x090, req->measurement, 48);
	memcpy(b + 0x0C0, req->host_data, 32);
	if (RAND_bytes(b + 0x140, 32) != 1) /* report_id */
		return coffer_error_set_ssl(COFFER_ERROR, "sim: random");
	memset(b + 0x160, 0xff, 32); /* report_id_ma: no migration agent */
	put_le64(b + 0x180, tcb);    /* reported */
	if (version >= 3) {
		/* Milan: family 19h model 01h; Turin: family 1Ah model 02h */
		b[0x188] = s->product == COFFER_SNP_PRODUCT_TURIN ? 0x1A : 0x19;
		b[0x189] = s->product == COFFER_SNP_PRODUCT_TURIN ? 0x02 : 0x01;
		b[0x18A] = 0x01;
	}
	memcpy(b + 0x1A0, req->chip_id_set ? req->chip_id : s->chip_id, 64);
	put_le64(b + 0x1E0, tcb); /* committed */
	b[0x1E8] = 7;             /* current build/minor/major 1.55.7 */
	b[0x1E9] = 55;
	b[0x1EA] = 1;
	b[0x1EC] = 7;
	b[0x1ED] = 55;
	b[0x1EE] = 1;
	put_le64(b + 0x1F0, tcb); /* launch */

	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, s->vcek_key) != 1 ||
	    EVP_DigestSign(md, der, &dlen, b, COFFER_SNP_SIGNED_LEN) != 1 ||
	    (sig = d2i_ECDSA_SIG(NULL, &dp, (long)dlen)) == NULL) {
		error = coffer_error_set_ssl(COFFER_ERROR, "sim: signing the report");
		goto out;
	}
	ECDSA_SIG_get0(sig, &r, &sv);
	/* r and s little-endian, zero-extended to 72 bytes */
	if (BN_bn2lebinpad(r, b + 0x2A0, 72) != 72 || BN_bn2lebinpad(sv, b + 0x2E8, 72) != 72) {
		error = coffer_error_set_ssl(COFFER_ERROR, "sim: signature encoding");
		goto out;
	}
	memcpy(out, b, sizeof(b));
	error = 0;
out:
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	return error;
}
