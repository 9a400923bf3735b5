/* Verifiers known to the registry (internal). */
#ifndef COFFER_EVIDENCE_VERIFIERS_H
#define COFFER_EVIDENCE_VERIFIERS_H

#include "coffer/evidence.h"

extern const coffer_verifier coffer_verifier_sample;
/* src/lib/snp (declared in coffer/snp.h) */
extern const coffer_verifier coffer_verifier_snp;
extern const coffer_verifier coffer_verifier_snp_sim;
/* src/lib/tdx (declared in coffer/tdx.h) */
extern const coffer_verifier coffer_verifier_tdx;
extern const coffer_verifier coffer_verifier_tdx_sim;
extern const coffer_verifier coffer_verifier_sgx;

#endif
