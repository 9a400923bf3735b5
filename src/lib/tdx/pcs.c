/*
 * Optional collateral fetch from an Intel PCS (Provisioning Certification
 * Service, API v4) or a compatible caching service (PCCS), for deployments
 * that have a network:
 *   GET <base>/tdx/certification/v4/tcb?fmspc=<hex>   (SGX: /sgx/...)
 *       header TCB-Info-Issuer-Chain: URL-encoded PEM chain
 *   GET <base>/tdx/certification/v4/qe/identity        (SGX: /sgx/...)
 *       header SGX-Enclave-Identity-Issuer-Chain
 * Everything fetched goes through coffer_tdx_collateral_add, so it is stored
 * only when it verifies; the directory is the cache: nothing is fetched while
 * it holds a TCB info for the FMSPC and a QE identity that are not past
 * nextUpdate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "coffer/buf.h"
#include "coffer/codec.h"
#include "coffer/http.h"
#include "tdx/tdx_internal.h"

#define PCS_BODY_MAX   (1024 * 1024)
#define PCS_HEADER_MAX (64 * 1024)
#define PCS_TIMEOUT_S  15L

typedef struct fetch {
	coffer_buf body;
	coffer_buf chain; /* URL-encoded issuer chain header value */
	const char *header;
} fetch;

/* RFC 3986 percent-decoding (in place). */
static int url_decode(coffer_buf *b)
{
	size_t o = 0;

	for (size_t i = 0; i < b->len; i++) {
		uint8_t c = b->ptr[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= b->len + 0 || (h = coffer_hex_digit(b->ptr[i + 1])) < 0 ||
			    (l = coffer_hex_digit(b->ptr[i + 2])) < 0)
				return coffer_error_set(COFFER_EINVAL,
				                        "tdx pcs: bad percent-encoding");
			c = (uint8_t)(h << 4 | l);
			i += 2;
		}
		b->ptr[o++] = c;
	}
	b->len = o;
	if (b->ptr)
		b->ptr[o] = 0;
	return 0;
}

static int get(fetch *f, const char *url)
{
	coffer_http_opts o = { .total_timeout_ms = PCS_TIMEOUT_S * 1000 };
	coffer_http_request req = { .method = "GET", .url = url, .max_body = PCS_BODY_MAX };
	coffer_http_response r;
	coffer_http *h = NULL;
	const char *chain;
	int error;

	if ((error = coffer_http_new(&h, &o)) < 0)
		return error;
	error = coffer_http_perform(&r, h, &req);
	coffer_http_free(h);
	if (error == COFFER_ELIMIT)
		return coffer_error_wrap(COFFER_ELIMIT, "tdx pcs: %s: response too large", url);
	if (error < 0)
		return coffer_error_wrap(COFFER_ENET, "tdx pcs: %s", url);
	if (r.status != 200) {
		error = coffer_error_set(COFFER_ENET, "tdx pcs: %s: HTTP %d", url, r.status);
		goto out;
	}
	chain = coffer_http_response_header(&r, f->header);
	if ((chain && coffer_buf_append(&f->chain, chain, strlen(chain)) < 0) ||
	    coffer_buf_append(&f->body, r.body.ptr, r.body.len) < 0) {
		error = coffer_error_set(COFFER_ELIMIT, "tdx pcs: %s: response too large", url);
		goto out;
	}
	error = 0;
out:
	coffer_http_response_free(&r);
	return error;
}

/* Fetch one document with its issuer chain and store both (chain first). */
static int fetch_store(const char *dir, const char *url, const char *header,
                       const coffer_verify_params *p)
{
	fetch f;
	unsigned stored = 0;
	int error;

	memset(&f, 0, sizeof(f));
	coffer_buf_init(&f.body, PCS_BODY_MAX);
	coffer_buf_init(&f.chain, PCS_HEADER_MAX);
	f.header = header;
	if ((error = get(&f, url)) < 0)
		goto out;
	if (f.chain.len == 0) {
		error = coffer_error_set(COFFER_ENET, "tdx pcs: %s: no %s header", url, header);
		goto out;
	}
	if ((error = url_decode(&f.chain)) < 0 ||
	    (error = coffer_tdx_collateral_add(dir, f.chain.ptr, f.chain.len, p, &stored)) < 0 ||
	    (error = coffer_tdx_collateral_add(dir, f.body.ptr, f.body.len, p, &stored)) < 0)
		goto out;
	error = 0;
out:
	coffer_buf_free(&f.body);
	coffer_buf_free(&f.chain);
	return error;
}

static int leaf_fmspc(uint8_t fmspc[6], const coffer_tdx_quote *q)
{
	BIO *b = BIO_new_mem_buf(q->cert_data, (int)q->cert_data_len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	coffer_tdx_pck_info pi;
	int n, error = COFFER_EINVAL;

	BIO_free(b);
	if (x != NULL && (n = i2d_X509(x, &der)) > 0 &&
	    coffer_tdx_pck_info_parse(&pi, der, (size_t)n) == 0) {
		memcpy(fmspc, pi.fmspc, 6);
		error = 0;
	}
	OPENSSL_free(der);
	X509_free(x);
	ERR_clear_error();
	if (error < 0)
		coffer_error_set(error, "tdx pcs: no FMSPC in the quote's PCK certificate");
	return error;
}

int coffer_tdx_pcs_refresh(unsigned *fetched, const char *dir, const char *base_url,
                           const uint8_t *quote, size_t len, const coffer_verify_params *p)
{
	coffer_tdx_ctx_options o = COFFER_TDX_CTX_OPTIONS_INIT;
	coffer_tdx_ctx *ctx = NULL;
	coffer_tdx_quote q;
	uint8_t fmspc[6];
	char cdir[4096], url[2048];
	bool tdx, have_tcb = false, have_qe = false;
	int64_t now = p && p->now ? p->now : (int64_t)time(NULL);
	size_t bl;
	int error;

	*fetched = 0;
	if (base_url == NULL || dir == NULL ||
	    (strncmp(base_url, "https://", 8) != 0 && strncmp(base_url, "http://", 7) != 0))
		return coffer_error_set(COFFER_EINVAL, "tdx pcs: base URL must be http(s)://...");
	bl = strlen(base_url);
	while (bl > 0 && base_url[bl - 1] == '/')
		bl--;
	if ((error = coffer_tdx_quote_parse(&q, quote, len)) < 0)
		return error;
	if (q.cert_type != COFFER_TDX_CERT_PCK_CHAIN)
		return coffer_error_set(COFFER_EUNSUPPORTED, "tdx pcs: no PCK chain in the quote");
	if ((error = leaf_fmspc(fmspc, &q)) < 0)
		return error;
	tdx = q.tee_type == COFFER_TDX_TEE_TYPE_TDX;

	/* what the cache already holds (verified) */
	if ((error = coffer_tdx_collateral_dir(cdir, sizeof(cdir), dir)) < 0)
		return error;
	o.roots_dir = p ? p->roots_dir : NULL;
	o.sim_root = p ? p->sim_root : NULL;
	o.collateral_dir = cdir;
	if (coffer_tdx_ctx_new(&ctx, &o) == 0) {
		for (size_t i = 0; i < ctx->ntcb_infos; i++) {
			tdx_tcb_info *t = ctx->tcb_infos[i];
			if (t->tdx == tdx && memcmp(t->fmspc, fmspc, 6) == 0 &&
			    t->next_update >= now)
				have_tcb = true;
		}
		for (size_t i = 0; i < ctx->nqe_ids; i++)
			if (ctx->qe_ids[i]->td_qe == tdx && ctx->qe_ids[i]->next_update >= now)
				have_qe = true;
		coffer_tdx_ctx_free(ctx);
	}
	if (!have_tcb) {
		snprintf(url, sizeof(url),
		         "%.*s/%s/certification/v4/tcb?fmspc=%02x%02x%02x%02x%02x%02x", (int)bl,
		         base_url, tdx ? "tdx" : "sgx", fmspc[0], fmspc[1], fmspc[2], fmspc[3],
		         fmspc[4], fmspc[5]);
		if ((error = fetch_store(dir, url, "TCB-Info-Issuer-Chain", p)) < 0)
			return error;
		(*fetched)++;
	}
	if (!have_qe) {
		snprintf(url, sizeof(url), "%.*s/%s/certification/v4/qe/identity", (int)bl,
		         base_url, tdx ? "tdx" : "sgx");
		if ((error = fetch_store(dir, url, "SGX-Enclave-Identity-Issuer-Chain", p)) < 0)
			return error;
		(*fetched)++;
	}
	return 0;
}
