/* SEV-SNP internals shared by the files of the snp module. */
#ifndef COFFER_SNP_INTERNAL_H
#define COFFER_SNP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "coffer/snp.h"

#define SNP_PRODUCT_MILAN COFFER_SNP_PRODUCT_MILAN
#define SNP_PRODUCT_GENOA COFFER_SNP_PRODUCT_GENOA
#define SNP_PRODUCT_TURIN COFFER_SNP_PRODUCT_TURIN

enum snp_ca_kind { SNP_CA_ARK = 1, SNP_CA_ASK, SNP_CA_ASVK };

struct snp_builtin_ca {
	int product;
	int kind;
	const uint8_t *der;
	size_t len;
};

/* amd_roots.c: AMD's public CAs, terminated by a NULL der. */
extern const struct snp_builtin_ca snp_builtin_cas[];

/* Upper bounds on what we accept from evidence and collateral. */
#define SNP_CERT_MAX       (16 * 1024)
#define SNP_CHAIN_ENTRIES  8
#define SNP_COLLATERAL_MAX (256 * 1024)

/* AMD VCEK/VLEK extensions (AMD "Versioned Chip Endorsement Key (VCEK)
 * Certificate and KDS Interface Specification", table "VCEK extensions"). */
struct snp_vek_ext {
	coffer_snp_product product; /* productName 1.3.6.1.4.1.3704.1.2 */
	char product_name[32];
	bool has_bl, has_tee, has_snp, has_ucode, has_fmc;
	uint8_t bl, tee, snp, ucode, fmc; /* 1.3.6.1.4.1.3704.1.3.{1,2,3,8,9} */
	bool has_hwid;
	uint8_t hwid[64]; /* 1.3.6.1.4.1.3704.1.4: 64 bytes, 8 on Turin */
	size_t hwid_len;
};

/* report.c */
int snp_report_verify_pkey(const coffer_snp_report *r, EVP_PKEY *pkey);
/* The bytes as a JSON array of numbers (virtee's serialization of a byte
 * array); NULL when out of memory. */
json_t *snp_json_bytes(const uint8_t *p, size_t n);

/* cert.c */
enum snp_vek_kind { SNP_VEK_VCEK = 0, SNP_VEK_VLEK = 1 };

/* Trusted roots of one verification. */
struct snp_trust {
	bool builtin; /* AMD's roots */
	const char *roots_dir;
	const char *sim_root; /* PEM file */
};

int snp_vek_ext_parse(struct snp_vek_ext *out, X509 *cert);
/* Chain a VCEK/VLEK to a trusted ARK. `extra` are certificates supplied by
 * the evidence or the caller (ASK/ASVK/ARK candidates); `crls` optional.
 * `now` unix seconds (0: current time). On success *root_kind_out says
 * which kind of anchor (0 builtin, 1 roots_dir, 2 sim), and *crl_stale_out
 * (may be NULL) whether an applied CRL was past its nextUpdate at `now`. */
int snp_chain_verify(X509 *vek, enum snp_vek_kind kind, coffer_snp_product product,
                     STACK_OF(X509) * extra, STACK_OF(X509_CRL) * crls,
                     const struct snp_trust *trust, int64_t now, int *root_kind_out,
                     bool *crl_stale_out);
/* Validity window of one certificate against `now`. */
int snp_cert_check_time(X509 *cert, const char *what, int64_t now);
/* DER or PEM (one or several) -> certificates / CRLs appended to the stacks. */
int snp_load_objects(STACK_OF(X509) * certs, STACK_OF(X509_CRL) * crls, const uint8_t *data,
                     size_t len);
enum snp_vek_kind snp_cert_vek_kind(X509 *cert, bool *known);
/* 0 if the CRL is signed by a trusted ARK. */
int snp_crl_check_issuer(X509_CRL *crl, const struct snp_trust *trust);
/* SHA-256 over the configured roots as they are now (the roots directory's
 * and the sim root's certificates, read again): the endorsement-key cache is
 * keyed on it, so a root removed stops being trusted at once. */
int snp_trust_digest(uint8_t out[32], const struct snp_trust *trust);
/* CRLs cached in <dir>/snp/crl (verify.c) */
#define SNP_COLLATERAL_CRL_MAX 16

#endif
