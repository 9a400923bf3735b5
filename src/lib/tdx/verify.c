/*
 * Quote verification (TDX DCAP QVL API, "Quote verification"):
 * 1. parse by the length fields;
 * 2. PCK chain -> trusted root, CRLs (pck.c, cached by chain digest);
 * 3. QE report signed by the PCK key;
 * 4. QE report data[0..31] = SHA-256(attestation key || QE auth data), the
 *    rest zero (binds the attestation key to the QE);
 * 5. quote signature by the attestation key over header || body;
 * 6. with collateral for the FMSPC: QE identity and TCB status.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "coffer/buf.h"
#include "coffer/codec.h"
#include "tdx/tdx_internal.h"

void coffer_tdx_result_clear(coffer_tdx_result *r)
{
	if (r == NULL)
		return;
	json_decref(r->advisory_ids);
	memset(r, 0, sizeof(*r));
}

static void pick_collateral(const tdx_tcb_info **ti, const tdx_qe_identity **qe,
                            coffer_tdx_ctx *ctx, const coffer_tdx_result *r)
{
	bool tdx = r->quote.tee_type == COFFER_TDX_TEE_TYPE_TDX;

	*ti = NULL;
	*qe = NULL;
	pthread_mutex_lock(&ctx->lock);
	for (size_t i = 0; i < ctx->ntcb_infos; i++) {
		const tdx_tcb_info *t = ctx->tcb_infos[i];
		if (t->tdx == tdx && memcmp(t->fmspc, r->pck.fmspc, 6) == 0 &&
		    (*ti == NULL || t->eval_number > (*ti)->eval_number))
			*ti = t;
	}
	for (size_t i = 0; i < ctx->nqe_ids; i++) {
		const tdx_qe_identity *q = ctx->qe_ids[i];
		if (q->td_qe == tdx && (*qe == NULL || q->eval_number > (*qe)->eval_number))
			*qe = q;
	}
	pthread_mutex_unlock(&ctx->lock);
}

/* Whether a CRL issued (and signed) by one of our anchors revokes the TCB
 * signing certificate `signer` (QVL: TCB_SIGNING_CERT_REVOKED). A document
 * without a known signer is treated as revoked: it cannot be trusted. */
static bool signer_revoked(coffer_tdx_ctx *ctx, X509 *signer)
{
	X509_CRL *crls[TDX_MAX_CRLS];
	size_t ncrls;
	bool revoked = false;

	if (signer == NULL)
		return true;
	/* CRLs are only ever appended and freed with the context */
	pthread_mutex_lock(&ctx->lock);
	ncrls = ctx->ncrls;
	memcpy(crls, ctx->crls, ncrls * sizeof(crls[0]));
	pthread_mutex_unlock(&ctx->lock);
	for (size_t i = 0; i < ncrls && !revoked; i++) {
		for (size_t j = 0; j < ctx->nanchors && !revoked; j++) {
			X509 *a = ctx->anchors[j].cert;
			X509_REVOKED *rev = NULL;
			EVP_PKEY *k = X509_get0_pubkey(a);

			if (k == NULL ||
			    X509_NAME_cmp(X509_CRL_get_issuer(crls[i]), X509_get_subject_name(a)) !=
			            0 ||
			    X509_check_issued(a, signer) != X509_V_OK ||
			    X509_CRL_verify(crls[i], k) != 1)
				continue;
			revoked = X509_CRL_get0_by_cert(crls[i], &rev, signer) == 1;
		}
	}
	ERR_clear_error();
	return revoked;
}

/* MRSIGNER of Intel's production quoting enclaves, as every QE identity
 * Intel publishes states it (and the production quotes carry it). */
static const uint8_t intel_qe3_mrsigner[32] = {
	0x8c, 0x4f, 0x57, 0x75, 0xd7, 0x96, 0x50, 0x3e, 0x96, 0x13, 0x7f,
	0x77, 0xc6, 0x8a, 0x82, 0x9a, 0x00, 0x56, 0xac, 0x8d, 0xed, 0x70,
	0x14, 0x0b, 0x08, 0x1b, 0x09, 0x44, 0x90, 0xc5, 0x7b, 0xff,
};
static const uint8_t intel_tdqe_mrsigner[32] = {
	0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17, 0x47, 0x4e, 0x34,
	0xa7, 0xfc, 0x43, 0xed, 0x03, 0x0f, 0x7c, 0x15, 0x63, 0xf1, 0xba,
	0xbd, 0xdf, 0x63, 0x40, 0xc8, 0x2e, 0x0e, 0x54, 0xa8, 0xc5,
};

int coffer_tdx_qe_signer_check(const coffer_tdx_result *r)
{
	bool tdx = r->quote.tee_type == COFFER_TDX_TEE_TYPE_TDX;
	const uint8_t *qr = r->quote.qe_report;
	uint16_t prodid = tdx ? 2 : 1;

	if (r->root == NULL || strcmp(r->root, "intel") != 0)
		return 0;
	if (coffer_ct_equal(qr + COFFER_SGX_OFF_MR_SIGNER,
	                    tdx ? intel_tdqe_mrsigner : intel_qe3_mrsigner, 32) != 1 ||
	    coffer_tdx_le16(qr + COFFER_SGX_OFF_ISV_PROD_ID) != prodid ||
	    (qr[COFFER_SGX_OFF_ATTRIBUTES] & 0x02) != 0)
		return coffer_error_set(
		        COFFER_EVERIFY,
		        "tdx quote: the quoting enclave is not Intel's %s (MRSIGNER "
		        "or ISVPRODID differ, or a debug enclave) and there is no QE identity "
		        "collateral: any enclave with the provisioning key "
		        "attribute could have made this quote",
		        tdx ? "TD QE" : "QE3");
	return 0;
}

/* The attestation key as an EVP_PKEY (a new reference), from the cache. */
static int attest_key(EVP_PKEY **out, coffer_tdx_ctx *ctx, const uint8_t raw[64])
{
	tdx_key_entry *slot = NULL;
	EVP_PKEY *k = NULL;
	int error;

	pthread_mutex_lock(&ctx->lock);
	for (size_t i = 0; i < TDX_CACHE_SLOTS; i++) {
		tdx_key_entry *e = &ctx->keys[i];
		if (e->key && memcmp(e->raw, raw, 64) == 0) {
			e->last_use = ++ctx->clock;
			EVP_PKEY_up_ref(e->key);
			*out = e->key;
			pthread_mutex_unlock(&ctx->lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	if ((error = coffer_tdx_pkey_from_raw(&k, raw)) < 0)
		return error;
	pthread_mutex_lock(&ctx->lock);
	for (size_t i = 0; i < TDX_CACHE_SLOTS; i++) {
		if (ctx->keys[i].key == NULL) {
			slot = &ctx->keys[i];
			break;
		}
		if (slot == NULL || ctx->keys[i].last_use < slot->last_use)
			slot = &ctx->keys[i];
	}
	EVP_PKEY_free(slot->key);
	memcpy(slot->raw, raw, 64);
	slot->key = k;
	slot->last_use = ++ctx->clock;
	EVP_PKEY_up_ref(k);
	pthread_mutex_unlock(&ctx->lock);
	*out = k;
	return 0;
}

int coffer_tdx_verify(coffer_tdx_result *out, coffer_tdx_ctx *ctx, const uint8_t *quote, size_t len,
                      int64_t now)
{
	coffer_tdx_result r;
	EVP_PKEY *pck_key = NULL, *att_key = NULL;
	uint8_t h[SHA256_DIGEST_LENGTH];
	bool crl_expired = false;
	const tdx_tcb_info *ti;
	const tdx_qe_identity *qe;
	EVP_MD_CTX *md = NULL;
	int error;

	memset(&r, 0, sizeof(r));
	if (now == 0)
		now = (int64_t)time(NULL);
	if ((error = coffer_tdx_quote_parse(&r.quote, quote, len)) < 0)
		return coffer_error_wrap(error, "could not convert raw bytes to Quote");
	if (r.quote.cert_type != COFFER_TDX_CERT_PCK_CHAIN)
		return coffer_error_set(COFFER_EUNSUPPORTED,
		                        "tdx quote: certification data type %u: only a PCK "
		                        "certificate chain (type 5) is supported",
		                        (unsigned)r.quote.cert_type);
	if ((error = coffer_tdx_pck_chain_verify(&pck_key, &r.pck, &r.root, &crl_expired, ctx,
	                                         r.quote.cert_data, r.quote.cert_data_len, now)) <
	    0)
		return error;

	error = coffer_tdx_ecdsa_verify(pck_key, r.quote.qe_report, COFFER_SGX_REPORT_SIZE,
	                                r.quote.qe_report_sig);
	if (error == COFFER_EVERIFY) {
		error = coffer_error_set(COFFER_EVERIFY,
		                         "tdx quote: QE report signature does not verify with the "
		                         "PCK certificate key");
		goto out;
	} else if (error < 0) {
		goto out;
	}

	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, r.quote.attest_key, 64) != 1 ||
	    EVP_DigestUpdate(md, r.quote.qe_auth, r.quote.qe_auth_len) != 1 ||
	    EVP_DigestFinal_ex(md, h, NULL) != 1) {
		error = coffer_error_set_ssl(COFFER_ERROR, "tdx: SHA-256");
		goto out;
	}
	{
		static const uint8_t zero[32];
		const uint8_t *rd = r.quote.qe_report + COFFER_SGX_OFF_REPORT_DATA;
		if (coffer_ct_equal(rd, h, 32) != 1 || coffer_ct_equal(rd + 32, zero, 32) != 1) {
			error = coffer_error_set(
			        COFFER_EVERIFY,
			        "tdx quote: QE report data is not SHA-256(attestation "
			        "key || QE authentication data): the attestation "
			        "key is not bound to the QE");
			goto out;
		}
	}

	if ((error = attest_key(&att_key, ctx, r.quote.attest_key)) < 0)
		goto out;
	error = coffer_tdx_ecdsa_verify(att_key, quote, r.quote.signed_len, r.quote.signature);
	if (error == COFFER_EVERIFY) {
		error = coffer_error_set(COFFER_EVERIFY,
		                         "tdx quote: quote signature does not verify with the "
		                         "attestation key (header or body altered)");
		goto out;
	} else if (error < 0) {
		goto out;
	}

	pick_collateral(&ti, &qe, ctx, &r);
	if ((ti != NULL && signer_revoked(ctx, ti->signer)) ||
	    (qe != NULL && signer_revoked(ctx, qe->signer))) {
		error = coffer_error_set(
		        COFFER_EVERIFY,
		        "tdx: the %s for this platform is signed by a TCB signing "
		        "certificate that a root CA CRL has revoked",
		        ti != NULL && signer_revoked(ctx, ti->signer) ? "TCB info" : "QE identity");
		goto out;
	}
	/* the QE identity is evaluated with the TCB info only: without the
	 * pair, at least the quoting enclave must be Intel's */
	if ((ti == NULL || qe == NULL) && (error = coffer_tdx_qe_signer_check(&r)) < 0)
		goto out;
	if (ti != NULL && qe != NULL) {
		if ((error = coffer_tdx_eval_tcb(&r, ti, qe)) < 0)
			goto out;
		r.collateral_expired = crl_expired || r.collateral_next_update < now;
	} else {
		r.tcb_status = COFFER_TDX_TCB_UNKNOWN;
		r.collateral_expired = crl_expired;
	}
	*out = r;
	memset(&r, 0, sizeof(r));
	error = 0;
out:
	coffer_tdx_result_clear(&r);
	EVP_PKEY_free(pck_key);
	EVP_PKEY_free(att_key);
	EVP_MD_CTX_free(md);
	return error;
}
