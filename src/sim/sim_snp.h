/*
 * Simulated SEV-SNP: a test key hierarchy with AMD's profile (RSA-4096
 * RSASSA-PSS/SHA-384 ARK and ASK, an EC P-384 VCEK whose certificate carries
 * the TCB and hwID extensions) generated at test time, and reports in the
 * real binary format signed by that VCEK. Test only: nothing here is trusted
 * unless a verifier is handed the simulated ARK (coffer_verify_params.sim_root).
 */
#ifndef COFFER_SIM_SNP_H
#define COFFER_SIM_SNP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "coffer/snp.h"

typedef struct sim_snp {
	coffer_snp_product product; /* Milan */
	EVP_PKEY *ark_key, *ask_key, *vcek_key;
	X509 *ark, *ask;
	uint8_t chip_id[64];
} sim_snp;

typedef struct sim_snp_req {
	uint32_t version; /* 2, 3 or 5; 0: 3 */
	uint8_t report_data[64];
	uint8_t measurement[48];
	uint8_t host_data[32];
	uint64_t policy; /* 0: 0x30000 (SMT allowed, reserved bit) */
	uint32_t vmpl;
	coffer_snp_tcb tcb; /* current = reported = committed = launch */
	bool chip_id_set;
	uint8_t chip_id[64]; /* default: the simulated chip's */
} sim_snp_req;

/* New hierarchy (RSA-4096 keys: this takes a few seconds). */
int sim_snp_create(sim_snp **out);
/* ... for Milan or Turin (Turin: fmcSPL, 8-byte hwID, CPUID family 1Ah), with
 * RSA keys of `rsa_bits` (tests use 2048 to save time; AMD's are 4096). The
 * files of sim_snp_save/load are Milan only. */
int sim_snp_create_product(sim_snp **out, coffer_snp_product product, int rsa_bits);
void sim_snp_free(sim_snp *s);
/* DIR/snp/{ark,ask}.pem (certificates), {ark,ask,vcek}.key (0600), chip_id. */
int sim_snp_save(const sim_snp *s, const char *dir);
int sim_snp_load(sim_snp **out, const char *dir);

/* A VCEK certificate (DER) for the given TCB, issued by `issuer` with
 * `issuer_key` (NULL: the simulated ASK), for `key` (NULL: the sim VCEK key). */
int sim_snp_vcek_cert(uint8_t **der, size_t *len, const sim_snp *s, const coffer_snp_tcb *tcb,
                      X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key);
/* A CA certificate with AMD's profile, self-signed when issuer is NULL. */
int sim_snp_ca_cert(X509 **out, const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key);
/* RSA-4096 key. */
int sim_snp_rsa_key(EVP_PKEY **out, int bits);

/* A signed report (COFFER_SNP_REPORT_SIZE bytes). */
int sim_snp_report(uint8_t out[COFFER_SNP_REPORT_SIZE], const sim_snp *s, const sim_snp_req *req);

/* coffer-sim init hook (src/sim/init.c). */
int sim_snp_init(const char *dir);

#endif
