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
#include <openssl/x509v3.h>

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

/* A CRL is stored only when its signature verifies with a trusted root, or
 * with a CA certificate that comes with it (PEM: the CRL and the PCS's issuer
 * chain) and chains to a trusted root. Out: the CRL alone, DER. */
static int crl_issuer_check(uint8_t **der_out, size_t *der_len, coffer_tdx_ctx *ctx,
                            const uint8_t *data, size_t len)
{
	STACK_OF(X509_INFO) *infos = NULL;
	STACK_OF(X509) *given = sk_X509_new_null();
	X509_CRL *crl = NULL;
	BIO *b = NULL;
	char issuer[256] = "";
	unsigned char *der = NULL;
	bool ok = false;
	int n, error;

	if (given == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	if (contains(data, len, "-----BEGIN X509 CRL-----")) {
		if ((b = BIO_new_mem_buf(data, (int)len)) == NULL ||
		    (infos = PEM_X509_INFO_read_bio(b, NULL, NULL, NULL)) == NULL) {
			error = coffer_error_set_ssl(COFFER_EINVAL, "tdx collateral: PEM");
			goto out;
		}
		for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
			X509_INFO *xi = sk_X509_INFO_value(infos, i);
			if (xi->crl) {
				if (crl != NULL) {
					error = coffer_error_set(
					        COFFER_EINVAL, "tdx collateral: more than one CRL "
					                       "in a file");
					goto out;
				}
				crl = xi->crl;
			}
			if (xi->x509 && !sk_X509_push(given, xi->x509)) {
				error = coffer_error_set(COFFER_ENOMEM, "out of memory");
				goto out;
			}
		}
		if (crl == NULL || !X509_CRL_up_ref(crl)) {
			crl = NULL;
			error = coffer_error_set(COFFER_EINVAL, "tdx collateral: no CRL");
			goto out;
		}
	} else {
		const unsigned char *p = data;
		crl = d2i_X509_CRL(NULL, &p, (long)len);
		if (crl == NULL || p != data + len) {
			error = coffer_error_set(COFFER_EINVAL, "tdx collateral: not a DER CRL");
			goto out;
		}
	}
	X509_NAME_oneline(X509_CRL_get_issuer(crl), issuer, sizeof(issuer));
	/* a trusted root */
	for (size_t i = 0; i < ctx->nanchors && !ok; i++) {
		X509 *a = ctx->anchors[i].cert;
		ok = X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(a)) == 0 &&
		     X509_CRL_verify(crl, X509_get0_pubkey(a)) == 1;
	}
	/* a CA given with it that a trusted root certifies (no time check,
	 * like the TCB signing certificates: the CRL says what it revokes) */
	for (int i = 0; i < sk_X509_num(given) && !ok; i++) {
		X509 *x = sk_X509_value(given, i);
		X509_STORE_CTX *sc;

		if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(x)) != 0 ||
		    X509_check_ca(x) == 0 || X509_CRL_verify(crl, X509_get0_pubkey(x)) != 1)
			continue;
		if ((sc = X509_STORE_CTX_new()) == NULL) {
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			goto out;
		}
		if (X509_STORE_CTX_init(sc, ctx->store, x, given) == 1) {
			X509_STORE_CTX_set_flags(sc, X509_V_FLAG_NO_CHECK_TIME);
			ok = X509_verify_cert(sc) == 1;
		}
		X509_STORE_CTX_free(sc);
	}
	ERR_clear_error();
	if (!ok) {
		error = coffer_error_set(
		        COFFER_EVERIFY,
		        "tdx collateral: the CRL of '%s' is not signed by a trusted "
		        "root, nor by a CA certificate given with it (PEM) that "
		        "chains to one",
		        issuer);
		goto out;
	}
	if ((n = i2d_X509_CRL(crl, &der)) <= 0) {
		error = coffer_error_set_ssl(COFFER_ERROR, "tdx collateral: encoding the CRL");
		goto out;
	}
	*der_out = der;
	*der_len = (size_t)n;
	der = NULL;
	error = 0;
out:
	ERR_clear_error();
	OPENSSL_free(der);
	X509_CRL_free(crl);
	sk_X509_free(given); /* the certificates belong to infos */
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	BIO_free(b);
	return error;
}

int coffer_tdx_collateral_add(const char *dir, const uint8_t *data, size_t len,
                              const coffer_verify_params *p, unsigned *stored)
{
	coffer_tdx_ctx_options o = COFFER_TDX_CTX_OPTIONS_INIT;
	coffer_tdx_ctx *ctx = NULL;
	coffer_tdx_collateral_kind kind = 0;
	char name[64], sub[4096], path[4200];
	uint8_t h[32], *crl_der = NULL;
	size_t crl_len = 0;
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
	if (kind == COFFER_TDX_COLL_CRL) {
		if ((error = crl_issuer_check(&crl_der, &crl_len, ctx, data, len)) < 0)
			goto out;
		data = crl_der;
		len = crl_len;
	}
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
	OPENSSL_free(crl_der);
	coffer_tdx_ctx_free(ctx);
	return error;
}
