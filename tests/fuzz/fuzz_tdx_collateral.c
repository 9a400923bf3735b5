/*
 * libFuzzer target: the collateral front door (JSON / PEM / CRL sniffing,
 * signature span location) and, bypassing the signature, the TCB info and
 * enclave identity models and the TCB evaluation over a fixed quote view.
 */
#include <stdlib.h>
#include <string.h>

#include "tdx/tdx_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static coffer_tdx_ctx *ctx;

static void evaluate(const tdx_tcb_info *ti, const tdx_qe_identity *qe)
{
	static uint8_t header[48], body[COFFER_TDX_TD10_SIZE], qer[COFFER_SGX_REPORT_SIZE];
	coffer_tdx_result r;

	memset(&r, 0, sizeof(r));
	r.quote.header = header;
	r.quote.tee_type = ti->tdx ? COFFER_TDX_TEE_TYPE_TDX : COFFER_TDX_TEE_TYPE_SGX;
	r.quote.body_type = ti->tdx ? COFFER_TDX_BODY_TD10 : COFFER_TDX_BODY_SGX;
	r.quote.body = body;
	r.quote.body_len = ti->tdx ? sizeof(body) : COFFER_SGX_REPORT_SIZE;
	r.quote.qe_report = qer;
	body[1] = 3; /* exercise the module identity lookup */
	memcpy(qer + COFFER_SGX_OFF_MR_SIGNER, qe->mrsigner, 32);
	qer[COFFER_SGX_OFF_ISV_PROD_ID] = (uint8_t)qe->isvprodid;
	qer[COFFER_SGX_OFF_ISV_PROD_ID + 1] = (uint8_t)(qe->isvprodid >> 8);
	memcpy(r.pck.fmspc, ti->fmspc, 6);
	memcpy(r.pck.pceid, ti->pceid, 2);
	memset(r.pck.comp_svn, 7, 16);
	r.pck.pcesvn = 11;
	(void)coffer_tdx_eval_tcb(&r, ti, qe);
	coffer_tdx_result_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *span;
	size_t span_len;
	json_t *doc;
	tdx_tcb_info *ti = NULL;
	tdx_qe_identity *qe = NULL;

	if (ctx == NULL && coffer_tdx_ctx_new(&ctx, NULL) != 0)
		abort();
	if (size > 0)
		(void)coffer_tdx_ctx_add_collateral(ctx, NULL, NULL, data, size);
	if (coffer_tdx_json_member_span(&span, &span_len, (const char *)data, size, "tcbInfo") ==
	    0) {
		if (span < (const char *)data || span + span_len > (const char *)data + size)
			abort();
	}
	doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (doc == NULL)
		return 0;
	(void)coffer_tdx_tcb_info_from_json(&ti, json_object_get(doc, "tcbInfo"));
	(void)coffer_tdx_qe_identity_from_json(&qe, json_object_get(doc, "enclaveIdentity"));
	if (ti && qe)
		evaluate(ti, qe);
	coffer_tdx_tcb_info_free(ti);
	coffer_tdx_qe_identity_free(qe);
	json_decref(doc);
	return 0;
}
