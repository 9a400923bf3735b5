/*
 * libFuzzer target: the SEV-SNP evidence JSON (both report forms and the
 * cert_chain entries) through the `snp` verifier with built-in roots only.
 */
#include <stdlib.h>
#include <string.h>

#include "coffer/evidence.h"
#include "coffer/snp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *ev, *claims = NULL;
	coffer_snp_report *r = NULL;
	coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;

	ev = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (ev == NULL)
		return 0;
	if (coffer_snp_evidence_report(&r, ev) == 0)
		coffer_snp_report_free(r);
	/* a fixed time keeps runs reproducible */
	p.now = 1750000000;
	if (coffer_evidence_verify(&claims, "snp", ev, &p) == 0) {
		/* only AMD-signed evidence can get here: claims must be complete */
		if (!json_is_string(json_object_get(claims, "measurement")))
			abort();
		json_decref(claims);
	}
	json_decref(ev);
	return 0;
}
