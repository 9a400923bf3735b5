/*
 * The TDX part of the collateral cache (`coffer collateral add`):
 *   <dir>/tdx/tcb-signing-<SHA-256 of the PEM, 16 hex>.pem
 *   <dir>/tdx/tcbinfo-<tdx|sgx>-<fmspc>-<evaluation number>.json
 *   <dir>/tdx/qeidentity-<td_qe|qe>-<evaluation number>.json
 *   <dir>/tdx/crl-<SHA-256 of the CRL, 16 hex>.der
 * A document is stored only after it verifies (signing certificate to a
 * trusted root, JSON signature by such a certificate); it is verified again
 * whenever a verifier loads the directory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "coffer/file.h"
#include "tdx/tdx_internal.h"

static bool contains(const uint8_t *d, size_t n, const char *s)
{
	size_t l = strlen(s);

	for (size_t i = 0; i + l <= n; i++)
		if (memcmp(d + i, s, l) == 0)
			return true;
	return false;
}

/* Intel (or simulated Intel) collateral? Everything else is left to other TEEs. */
static bool is_tdx_collateral(const uint8_t *d, size_t n)
{
	if (contains(d, n, "\"tcbInfo\"") || contains(d, n, "\"enclaveIdentity\""))
		return true;
	/* the TCB signing certificate and CRLs of Intel's SGX CAs name "SGX" in
	 * their subject / issuer, DER or PEM-decoded; PEM is checked by decoding */
	if (contains(d, n, "SGX"))
		return true;
	if (contains(d, n, "-----BEGIN")) {
		BIO *b = BIO_new_mem_buf(d, (int)n);
		X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		X509_CRL *c = NULL;
		bool yes = false;
		char cn[256] = "";

		if (x) {
			X509_NAME_oneline(X509_get_issuer_name(x), cn, sizeof(cn));
		} else if (b && BIO_reset(b) == 1 &&
		           (c = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)) != NULL) {
			X509_NAME_oneline(X509_CRL_get_issuer(c), cn, sizeof(cn));
		}
		yes = strstr(cn, "SGX") != NULL;
		X509_free(x);
		X509_CRL_free(c);
		BIO_free(b);
		ERR_clear_error();
		return yes;
	}
	return false;
}

int coffer_tdx_collateral_dir(char *out, size_t n, const char *dir)
{
	struct stat st;

	if (snprintf(out, n, "%s/tdx", dir) >= (int)n)
		return coffer_error_set(COFFER_EINVAL, "tdx: collateral path too long");
	if (stat(out, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (snprintf(out, n, "%s", dir) >= (int)n)
		return coffer_error_set(COFFER_EINVAL, "tdx: collateral path too long");
	return 0;
}

int coffer_tdx_collateral_add(const char *dir, const uint8_t *data, size_t len,
                              const coffer_verify_params *p, unsigned *stored)
{
	coffer_tdx_ctx_options o = COFFER_TDX_CTX_OPTIONS_INIT;
	coffer_tdx_ctx *ctx = NULL;
	coffer_tdx_collateral_kind kind = 0;
	char name[64], sub[4096], path[4200];
	uint8_t h[32];
	int error;

	*stored = 0;
	if (!is_tdx_collateral(data, len))
		return coffer_error_set(COFFER_ENOTFOUND, "not Intel SGX/TDX collateral");
	if (snprintf(sub, sizeof(sub), "%s/tdx", dir) >= (int)sizeof(sub))
		return coffer_error_set(COFFER_EINVAL, "tdx: collateral path too long");
	if ((mkdir(dir, 0755) != 0 && errno != EEXIST) ||
	    (mkdir(sub, 0755) != 0 && errno != EEXIST))
		return coffer_error_set(COFFER_EIO, "tdx: cannot create %s: %s", sub,
		                        strerror(errno));
	o.roots_dir = p ? p->roots_dir : NULL;
	o.sim_root = p ? p->sim_root : NULL;
	o.collateral_dir = sub; /* signing certificates already stored */
	if ((error = coffer_tdx_ctx_new(&ctx, &o)) < 0)
		return error;
	if ((error = coffer_tdx_ctx_add_collateral(ctx, &kind, name, data, len)) < 0)
		goto out;
	if (kind == COFFER_TDX_COLL_SIGNING_CERT || kind == COFFER_TDX_COLL_CRL) {
		SHA256(data, len, h);
		snprintf(name, sizeof(name), "%s-%02x%02x%02x%02x%02x%02x%02x%02x.%s",
		         kind == COFFER_TDX_COLL_CRL ? "crl" : "tcb-signing", h[0], h[1], h[2],
		         h[3], h[4], h[5], h[6], h[7], kind == COFFER_TDX_COLL_CRL ? "der" : "pem");
	}
	if (snprintf(path, sizeof(path), "%s/%s", sub, name) >= (int)sizeof(path)) {
		error = coffer_error_set(COFFER_EINVAL, "tdx: collateral path too long");
		goto out;
	}
	if ((error = coffer_file_write(path, data, len, 0644)) < 0)
		goto out;
	*stored = 1;
	error = 0;
out:
	coffer_tdx_ctx_free(ctx);
	return error;
}
