/*
 * libFuzzer target: the SEV-SNP report parser (raw 1184 bytes), the JSON
 * serialization round trip, and the verifier on the raw evidence form.
 */
#include <stdlib.h>
#include <string.h>

#include "coffer/codec.h"
#include "coffer/evidence.h"
#include "coffer/snp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	coffer_snp_report *r = NULL, *r2 = NULL;
	json_t *obj = NULL, *ev, *claims = NULL;
	char *b64 = NULL;
	size_t bl = 0;

	if (coffer_snp_report_parse(&r, data, size) == 0) {
		/* every parsed report serializes, and the JSON parses back to the
		 * same fields (reserved bytes, also those inside a TCB_VERSION,
		 * are not carried by the upstream form) */
		if (coffer_snp_report_to_json(&obj, r) != 0 ||
		    coffer_snp_report_from_json(&r2, obj) != 0)
			abort();
		if (memcmp(r->measurement, r2->measurement, 48) != 0 ||
		    memcmp(r->report_data, r2->report_data, 64) != 0 ||
		    memcmp(r->chip_id, r2->chip_id, 64) != 0 ||
		    memcmp(r->sig_r, r2->sig_r, 72) != 0 || r->policy != r2->policy ||
		    r->reported_tcb.bootloader != r2->reported_tcb.bootloader ||
		    r->reported_tcb.snp != r2->reported_tcb.snp ||
		    r->reported_tcb.microcode != r2->reported_tcb.microcode ||
		    r->version != r2->version)
			abort();
		coffer_snp_report_free(r2);
		json_decref(obj);
		coffer_snp_report_free(r);
	} else if (r != NULL) {
		abort();
	}
	if (size <= 2 * COFFER_SNP_REPORT_SIZE &&
	    coffer_base64_encode(&b64, &bl, data, size, COFFER_B64_STD) == 0) {
		ev = json_pack("{s:s}", "attestation_report_b64", b64);
		/* no certificate: must never verify */
		if (ev && coffer_evidence_verify(&claims, "snp", ev, NULL) == 0)
			abort();
		json_decref(ev);
		free(b64);
	}
	return 0;
}
