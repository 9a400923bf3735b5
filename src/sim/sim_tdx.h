/*
 * Simulated TDX (test only): a test PKI shaped like Intel's (root, PCK
 * Platform CA, PCK leaf with the SGX extensions, TCB signing certificate), a
 * simulated quoting enclave, v4/v5 quotes in the real format, and matching
 * TCB info / QE identity collateral. Nothing here is trusted unless a
 * verifier is configured with the simulated root (DIR/tdx/root.pem).
 *
 * DIR/tdx/: root.pem root.key pck_ca.pem pck_ca.key pck.pem pck.key
 *           attest.key tcb_signing.key
 * DIR/tdx/collateral/: tcb_signing_chain.pem tcbinfo.json qeidentity.json
 */
#ifndef COFFER_SIM_TDX_H
#define COFFER_SIM_TDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* FMSPC of the simulated platform. */
#define SIM_TDX_FMSPC ((const uint8_t *)"\x00\xc0\xff\xee\x00\x00")

typedef struct sim_tdx_params {
	int version; /* 4 (TD10 body) or 5 (TD15 body) */
	uint8_t report_data[64];
	uint8_t mr_td[48];
	uint8_t rtmr[4][48];
	uint8_t mr_config_id[48];
	uint8_t tee_tcb_svn[16]; /* default 03 00 05: UpToDate in the sim TCB info */
	bool debug;
} sim_tdx_params;

void sim_tdx_params_init(sim_tdx_params *p);
int sim_tdx_init(const char *dir);
/* A quote (malloc'd) signed by the simulated QE of `dir`. */
int sim_tdx_quote(uint8_t **out, size_t *len, const char *dir, const sim_tdx_params *p);
/* A DER CRL from the simulated PCK CA that revokes the PCK leaf. */
int sim_tdx_write_revocation(const char *dir, const char *crl_path);
/* Collateral signed by the simulated TCB signing key of `dir`:
 * {"<member>":<body>,"signature":"<hex r||s>"} (malloc'd). Tests use it to
 * build TCB info / QE identity variants. */
int sim_tdx_sign_collateral(uint8_t **out, size_t *len, const char *dir, const char *member,
                            const char *body);
/* MRSIGNER of the simulated QE. */
void sim_tdx_qe_mrsigner(uint8_t out[32]);
/* Remove what sim_tdx_init made (tests). */
void sim_tdx_remove(const char *dir);

#endif
