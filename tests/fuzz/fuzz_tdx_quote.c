/*
 * libFuzzer target: the DCAP quote parser (v3/v4/v5), then the full
 * verification path (PEM chain parsing, chain to the built-in Intel root,
 * signatures) on whatever parses.
 */
#include <stdlib.h>
#include <string.h>

#include "coffer/tdx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static coffer_tdx_ctx *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	coffer_tdx_quote q;
	coffer_tdx_result r;

	if (ctx == NULL && coffer_tdx_ctx_new(&ctx, NULL) != 0)
		abort();
	if (coffer_tdx_quote_parse(&q, data, size) != 0)
		return 0;
	/* every view lies inside the input */
	if (q.signed_len > size || q.cert_data + q.cert_data_len > data + size ||
	    q.qe_auth + q.qe_auth_len > data + size || q.qe_report < data)
		abort();
	if (coffer_tdx_verify(&r, ctx, data, size, 1795780800) == 0) {
		json_t *claims = NULL;
		if (coffer_tdx_result_claims(&claims, &r) == 0)
			json_decref(claims);
		coffer_tdx_result_clear(&r);
	}
	return 0;
}
