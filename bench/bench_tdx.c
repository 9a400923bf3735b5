/*
 * TDX quote verification throughput against the P-256 verify rate measured in
 * the same run (docs/PERFORMANCE.md, "TDX"). With the PCK chain and the
 * collateral cached, a quote needs two ECDSA P-256 verifications (the QE
 * report by the PCK key, the quote by the attestation key); the target is
 * quotes/s >= 0.8 * (P-256 verifies/s) / 2.
 *
 * Input: $COFFER_VECTORS/tdx/trustee/tdx_quote_6.dat with trustee's TCB info
 * and QE identity (so the TCB evaluation is part of every verification).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffer/file.h"
#include "coffer/tdx.h"
#include "tdx/tdx_internal.h"
#include "bench_util.h"

#define NOW_2025        1761955200 /* inside the collateral's validity window */
#define ECDSA_PER_QUOTE 2
#define RUN_SECONDS     1.5

static uint8_t *load(const char *vec, const char *rel, size_t *len)
{
	char path[4096];
	uint8_t *d = NULL;

	snprintf(path, sizeof(path), "%s/%s", vec, rel);
	if (coffer_file_read(&d, len, path, 1 << 20) < 0) {
		fprintf(stderr, "bench_tdx: %s: %s\n", path, coffer_error_last());
		exit(1);
	}
	return d;
}

static void add(coffer_tdx_ctx *ctx, const char *vec, const char *rel)
{
	size_t len;
	uint8_t *d = load(vec, rel, &len);

	if (coffer_tdx_ctx_add_collateral(ctx, NULL, NULL, d, len) < 0) {
		fprintf(stderr, "bench_tdx: %s: %s\n", rel, coffer_error_last());
		exit(1);
	}
	free(d);
}

int main(void)
{
	const char *vec = getenv("COFFER_VECTORS");
	coffer_tdx_ctx *ctx = NULL;
	coffer_tdx_result r;
	coffer_tdx_quote v;
	EVP_PKEY *key = NULL;
	uint8_t *q;
	size_t len;
	double t0, dt, p256_rate, quote_rate, target, t_p256 = 0, t_quote = 0;
	long n_p256 = 0, n_quote = 0;

	if (vec == NULL || getenv("COFFER_VECTORS")[0] == 0) {
		printf("bench_tdx: skipped (COFFER_VECTORS not set)\n");
		return 0;
	}
	q = load(vec, "tdx/trustee/tdx_quote_6.dat", &len);
	if (coffer_tdx_ctx_new(&ctx, NULL) < 0)
		return 1;
	add(ctx, vec, "tdx/go-tdx-guest/tcbinfo_issuer_chain.pem");
	add(ctx, vec, "tdx/trustee/tcbInfo.json");
	add(ctx, vec, "tdx/trustee/enclaveIdentity.json");

	/* warm: verifies and caches the PCK chain */
	if (coffer_tdx_verify(&r, ctx, q, len, NOW_2025) < 0 ||
	    r.tcb_status != COFFER_TDX_TCB_OUT_OF_DATE) {
		fprintf(stderr, "bench_tdx: warm-up: %s\n", coffer_error_last());
		return 1;
	}
	if (coffer_tdx_pkey_from_raw(&key, r.quote.attest_key) < 0)
		return 1;

	/* Interleaved rounds, thread CPU time: the machine is shared, so both rates
	 * are measured under the same conditions and descheduled time is not
	 * counted against either. P-256: same message size and API as the quote
	 * signature. Quotes: full verification with chain + collateral cached. */
	v = r.quote;
	coffer_tdx_result_clear(&r);
	t0 = now_s();
	do {
		double a = cpu_s();
		for (int i = 0; i < 40; i++, n_p256++)
			if (coffer_tdx_ecdsa_verify(key, q, v.signed_len, v.signature) != 0)
				return 1;
		t_p256 += cpu_s() - a;
		a = cpu_s();
		for (int i = 0; i < 20; i++, n_quote++) {
			if (coffer_tdx_verify(&r, ctx, q, len, NOW_2025) < 0)
				return 1;
			coffer_tdx_result_clear(&r);
		}
		t_quote += cpu_s() - a;
		dt = now_s() - t0;
	} while (dt < RUN_SECONDS);
	p256_rate = (double)n_p256 / t_p256;
	quote_rate = (double)n_quote / t_quote;

	target = 0.8 * p256_rate / ECDSA_PER_QUOTE;
	printf("p256_verify_per_s      %.0f (per CPU-second, %ld verifies)\n", p256_rate, n_p256);
	printf("ecdsa_per_quote        %d (QE report + quote; chain and collateral cached)\n",
	       ECDSA_PER_QUOTE);
	printf("quote_verify_per_s     %.0f (per CPU-second, %ld quotes)\n", quote_rate, n_quote);
	printf("ratio_to_ideal         %.3f (quote rate / (p256 rate / %d))\n",
	       quote_rate / (p256_rate / ECDSA_PER_QUOTE), ECDSA_PER_QUOTE);
	printf("target (>= 0.80)       %s\n", quote_rate >= target ? "met" : "NOT met");
	EVP_PKEY_free(key);
	coffer_tdx_ctx_free(ctx);
	free(q);
	return 0;
}
