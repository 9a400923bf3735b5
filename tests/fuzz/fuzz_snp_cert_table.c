/*
 * libFuzzer target: the SEV-SNP extended-report certificate table
 * (GUID, offset, length entries ending with a zero entry). The host fills
 * it, so the guest parses hostile input here.
 */
#include <stddef.h>
#include <stdint.h>

#include "coffer/attester.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *out = NULL;

	if (coffer_snp_cert_table_to_json(&out, data, size) == 0)
		json_decref(out);
	return 0;
}
