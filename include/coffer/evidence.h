/*
 * The verifier interface. Verifiers are pure functions: evidence JSON,
 * expected binding, trusted roots, collateral and time in; claims (upstream
 * names, PROTOCOL.md section 1) or an error out. They know nothing of
 * sessions, storage or HTTP, so the CLI, the broker and tests call the same
 * code.
 */
#ifndef COFFER_EVIDENCE_H
#define COFFER_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "coffer/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct coffer_verify_params {
	int version;
	/* Expected REPORT_DATA (the nonce/key binding digest); NULL: not checked.
	 * Each TEE compares as PROTOCOL.md says (SNP/TDX zero-pad to 64 bytes). */
	const uint8_t *report_data;
	size_t report_data_len;
	/* Expected init-data digest; NULL: the TEE's field must be all zero or is
	 * not checked (see each verifier). Truncated/zero-padded to the field. */
	const uint8_t *init_data_digest;
	size_t init_data_digest_len;
	int64_t now;           /* unix seconds for certificate checks; 0: current time */
	const char *roots_dir; /* extra trusted roots (PEM); NULL: built-in vendor roots only */
	const char *collateral_dir; /* cached VCEK/VLEK certs, TCB info, QE identity, CRLs */
	const char *sim_root;       /* PEM of a simulated root to trust; NULL: never */
	const json_t *options;      /* TEE-specific owner checks (min TCB, allow-lists...) */
	/* TDX/SGX: Intel PCS (or PCCS) base URL; missing or expired TCB info / QE
	 * identity is fetched into collateral_dir before verifying. NULL: never. */
	const char *pcs_url;
} coffer_verify_params;

#define COFFER_VERIFY_PARAMS_VERSION 1
#define COFFER_VERIFY_PARAMS_INIT            \
	{                                    \
		COFFER_VERIFY_PARAMS_VERSION \
	}

typedef struct coffer_verifier {
	const char *tee; /* "sample", "snp", "tdx", "snp-sim", ... */
	int (*verify)(json_t **claims_out, const json_t *evidence, const coffer_verify_params *p);
} coffer_verifier;

/* The verifier registered for `tee`, or NULL. */
const coffer_verifier *coffer_verifier_find(const char *tee);

/* Look up and run. COFFER_EUNSUPPORTED for an unknown tee, COFFER_EVERIFY
 * (with the reason in coffer_error_last()) for evidence that fails. */
int coffer_evidence_verify(json_t **claims_out, const char *tee, const json_t *evidence,
                           const coffer_verify_params *p);

#ifdef __cplusplus
}
#endif
#endif
