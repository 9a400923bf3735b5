/*
 * AMD SEV-SNP evidence: the attestation report (SEV-SNP Firmware ABI
 * specification, "ATTESTATION_REPORT Structure", table 23 in revision 1.57,
 * report versions 2, 3 and 5), its signature, the VCEK/VLEK -> ASK/ASVK -> ARK
 * chain and the claims the `snp` verifier produces (docs/snp.md).
 *
 * The verifier itself is reached through the registry (coffer/evidence.h,
 * tee "snp", and "snp-sim" for the simulated TEE); this header exposes the
 * pieces the CLI, the simulator, tests and benchmarks use directly.
 */
#ifndef COFFER_SNP_H
#define COFFER_SNP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "coffer/common.h"
#include "coffer/evidence.h"

#ifdef __cplusplus
extern "C" {
#endif

#define COFFER_SNP_REPORT_SIZE       1184  /* 0x4A0 */
#define COFFER_SNP_SIGNED_LEN        0x2A0 /* the signature covers bytes 0x000..0x29F */
#define COFFER_SNP_SIG_COMPONENT_LEN 72

/* SIGNING_KEY (bits 4:2 of the word at 0x48) */
#define COFFER_SNP_KEY_VCEK 0
#define COFFER_SNP_KEY_VLEK 1
#define COFFER_SNP_KEY_NONE 7

/* SIGNATURE_ALGO */
#define COFFER_SNP_SIG_ECDSA_P384_SHA384 1

/* Guest POLICY bits */
#define COFFER_SNP_POLICY_SMT           (UINT64_C(1) << 16)
#define COFFER_SNP_POLICY_RESERVED1     (UINT64_C(1) << 17) /* must be 1 */
#define COFFER_SNP_POLICY_MIGRATE_MA    (UINT64_C(1) << 18)
#define COFFER_SNP_POLICY_DEBUG         (UINT64_C(1) << 19)
#define COFFER_SNP_POLICY_SINGLE_SOCKET (UINT64_C(1) << 20)

/* PLATFORM_INFO bits */
#define COFFER_SNP_PLATFORM_SMT_EN  (UINT64_C(1) << 0)
#define COFFER_SNP_PLATFORM_TSME_EN (UINT64_C(1) << 1)

typedef enum coffer_snp_product {
	COFFER_SNP_PRODUCT_UNKNOWN = 0,
	COFFER_SNP_PRODUCT_MILAN,
	COFFER_SNP_PRODUCT_GENOA,
	COFFER_SNP_PRODUCT_TURIN,
} coffer_snp_product;

/* A TCB_VERSION, decoded. Milan/Genoa: byte 0 bootloader, 1 tee, 6 snp,
 * 7 microcode. Turin: byte 0 fmc, 1 bootloader, 2 tee, 3 snp, 7 microcode. */
typedef struct coffer_snp_tcb {
	uint64_t raw;
	uint8_t fmc; /* Turin only; 0 elsewhere */
	uint8_t bootloader;
	uint8_t tee;
	uint8_t snp;
	uint8_t microcode;
} coffer_snp_tcb;

/* A parsed report: read-only fields of a fixed wire format, so the struct is
 * public; `raw` holds the exact bytes that were signed. */
typedef struct coffer_snp_report {
	uint8_t raw[COFFER_SNP_REPORT_SIZE];
	uint32_t version;
	uint32_t guest_svn;
	uint64_t policy;
	uint8_t family_id[16];
	uint8_t image_id[16];
	uint32_t vmpl;
	uint32_t sig_algo;
	coffer_snp_tcb current_tcb;
	uint64_t platform_info;
	uint32_t key_info; /* AUTHOR_KEY_EN, MASK_CHIP_KEY, SIGNING_KEY */
	bool author_key_en;
	bool mask_chip_key;
	unsigned signing_key; /* COFFER_SNP_KEY_* */
	uint8_t report_data[64];
	uint8_t measurement[48];
	uint8_t host_data[32];
	uint8_t id_key_digest[48];
	uint8_t author_key_digest[48];
	uint8_t report_id[32];
	uint8_t report_id_ma[32];
	coffer_snp_tcb reported_tcb;
	bool has_cpuid; /* version >= 3 */
	uint8_t cpuid_fam_id;
	uint8_t cpuid_mod_id;
	uint8_t cpuid_step;
	uint8_t chip_id[64];
	coffer_snp_tcb committed_tcb;
	uint8_t current_build, current_minor, current_major;
	uint8_t committed_build, committed_minor, committed_major;
	coffer_snp_tcb launch_tcb;
	bool has_mit_vector; /* version >= 5 */
	uint64_t launch_mit_vector;
	uint64_t current_mit_vector;
	uint8_t sig_r[COFFER_SNP_SIG_COMPONENT_LEN]; /* little-endian */
	uint8_t sig_s[COFFER_SNP_SIG_COMPONENT_LEN];
	/* From CPUID (version >= 3); UNKNOWN for version 2 reports. */
	coffer_snp_product product;
} coffer_snp_report;

/* Parse exactly COFFER_SNP_REPORT_SIZE bytes. Unknown versions, bad lengths,
 * an unknown signature algorithm or signing key: COFFER_EINVAL /
 * COFFER_EUNSUPPORTED with the reason. Does not check the signature. */
int coffer_snp_report_parse(coffer_snp_report **out, const uint8_t *buf, size_t len);
void coffer_snp_report_free(coffer_snp_report *r);

/* Rebuild the binary report from the upstream JSON serialization (the
 * `attestation_report` object of PROTOCOL.md section 1) and parse it. */
int coffer_snp_report_from_json(coffer_snp_report **out, const json_t *obj);

/* The upstream JSON serialization of a report (for the simulator and tests). */
int coffer_snp_report_to_json(json_t **out, const coffer_snp_report *r);

/* Decode a TCB_VERSION for a product (Turin layout when product is Turin). */
void coffer_snp_tcb_decode(coffer_snp_tcb *out, uint64_t raw, coffer_snp_product product);
uint64_t coffer_snp_tcb_encode(const coffer_snp_tcb *tcb, coffer_snp_product product);

const char *coffer_snp_product_name(coffer_snp_product p);
/* "Milan", "Milan-B0", "Genoa", "Turin"... -> product; UNKNOWN otherwise. */
coffer_snp_product coffer_snp_product_from_name(const char *name);
/* The product a CPUID family/model belongs to (UNKNOWN if none). */
coffer_snp_product coffer_snp_product_from_cpuid(uint8_t family, uint8_t model);

/* Check the report's ECDSA P-384/SHA-384 signature with a public key given as
 * a DER certificate or DER SubjectPublicKeyInfo. COFFER_EVERIFY if invalid. */
int coffer_snp_report_verify_der(const coffer_snp_report *r, const uint8_t *der, size_t len);

/* Evidence JSON (either form of PROTOCOL.md section 1) -> parsed report.
 * Accepts {"attestation_report": {...}|null, "attestation_report_b64": "...",
 * "cert_chain": [...]|null}. */
int coffer_snp_evidence_report(coffer_snp_report **out, const json_t *evidence);

/* Add the certificates and CRLs of a PEM or DER file to the evidence's
 * `cert_chain`, each typed by its subject (SEV-VCEK -> VCEK, SEV-VLEK -> VLEK,
 * ARK-* -> ARK, SEV-VLEK-* -> ASVK, SEV-* -> ASK; CRLs -> CRL). An endorsement
 * key replaces an entry of the same type already there. */
int coffer_snp_evidence_add_certs(json_t *evidence, const uint8_t *data, size_t len);

/* Add one collateral file (PEM or DER: VCEK/VLEK certificates, ASK/ASVK,
 * CRLs) to the cache directory, after it verifies against a trusted ARK
 * (built in, in p->roots_dir, or p->sim_root). Certificates that do not
 * chain are refused (COFFER_EVERIFY); nothing is written for them.
 * `stored` (optional) counts the items written. */
int coffer_snp_collateral_add(const char *dir, const uint8_t *data, size_t len,
                              const coffer_verify_params *p, unsigned *stored);

/* HTTP GET of at most `max` bytes into a malloc'd buffer; a negative
 * COFFER_E* code (with a message) on failure or a non-200 answer. */
typedef int (*coffer_snp_http_get)(uint8_t **out, size_t *len, const char *url, size_t max,
                                   void *arg);

/* The AMD KDS URL of the VCEK for this report and product (docs/snp.md). */
int coffer_snp_kds_vcek_url(char **out, const char *base, const coffer_snp_report *r,
                            coffer_snp_product product);

/* For deployments with an AMD KDS (or a caching proxy): when the evidence
 * carries no endorsement key and the collateral cache in `dir` has no VCEK for
 * its chip and reported TCB, fetch it from `base` with `get` and add it to the
 * cache (verified against a trusted ARK first). The verifier stays offline. */
int coffer_snp_kds_prefetch(const char *dir, const char *base, const json_t *evidence,
                            const coffer_verify_params *p, coffer_snp_http_get get, void *arg);

/* Forget the cache of verified endorsement-key chains (tests, benchmarks). */
void coffer_snp_cache_clear(void);

extern const coffer_verifier coffer_verifier_snp;
extern const coffer_verifier coffer_verifier_snp_sim;

#ifdef __cplusplus
}
#endif
#endif
