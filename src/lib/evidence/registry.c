/* One table of verifiers; the broker and the CLI look them up by TEE name. */
#include <string.h>

#include "coffer/evidence.h"
#include "evidence/verifiers.h"

static const coffer_verifier *const verifiers[] = {
	&coffer_verifier_sample,
	&coffer_verifier_snp,
	&coffer_verifier_snp_sim,
	&coffer_verifier_tdx,
	&coffer_verifier_tdx_sim,
	&coffer_verifier_sgx,
	NULL,
};

const coffer_verifier *coffer_verifier_find(const char *tee)
{
	if (tee == NULL)
		return NULL;
	for (size_t i = 0; verifiers[i]; i++)
		if (strcmp(verifiers[i]->tee, tee) == 0)
			return verifiers[i];
	return NULL;
}

int coffer_evidence_verify(json_t **claims_out, const char *tee, const json_t *evidence,
                           const coffer_verify_params *p)
{
	const coffer_verifier *v = coffer_verifier_find(tee);
	coffer_verify_params defaults = COFFER_VERIFY_PARAMS_INIT;

	if (v == NULL)
		return coffer_error_set(COFFER_EUNSUPPORTED, "no verifier for tee '%s'",
		                        tee ? tee : "(null)");
	if (evidence == NULL)
		return coffer_error_set(COFFER_EINVAL, "%s: no evidence", tee);
	return v->verify(claims_out, evidence, p ? p : &defaults);
}
