/*
 * Verification context: trust anchors, collateral and the PCK chain cache.
 *
 * TCB signing certificates: Intel's "Intel SGX TCB Signing" certificate in
 * circulation expired on 2025-05-21 while its key still signs current TCB info
 * and QE identity (Intel re-issued the certificate for the same key). We
 * therefore check the signing certificate's chain to the root WITHOUT the time
 * check, require its subject to be the TCB signing identity and its issuer the
 * root, and record when it had already expired at the collateral's issueDate
 * (claim tcb_signer_expired; the owner option reject_expired_signer refuses
 * such collateral). Freshness of the collateral itself is judged by its own
 * nextUpdate (claim collateral_expiration_status). See docs/tdx.md.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "coffer/json.h"
#include "coffer/codec.h"
#include "coffer/file.h"
#include "tdx/tdx_internal.h"

#define TCB_SIGNING_CN  "Intel SGX TCB Signing"
#define COLLATERAL_MAX  (1024 * 1024)
#define DIR_MAX_ENTRIES 256

static int add_anchor(coffer_tdx_ctx *ctx, X509 *x, const char *kind)
{
	if (ctx->nanchors >= TDX_MAX_ANCHORS) {
		X509_free(x);
		return coffer_error_set(COFFER_ELIMIT, "tdx: more than %d trusted roots",
		                        TDX_MAX_ANCHORS);
	}
	if (X509_STORE_add_cert(ctx->store, x) != 1) {
		ERR_clear_error(); /* a duplicate is fine */
	}
	ctx->anchors[ctx->nanchors].cert = x;
	ctx->anchors[ctx->nanchors].kind = kind;
	ctx->nanchors++;
	return 0;
}

static int add_anchors_pem(coffer_tdx_ctx *ctx, const uint8_t *pem, size_t len, const char *kind)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x;
	int n = 0, error = 0;

	if (b == NULL)
		return COFFER_ENOMEM;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if ((error = add_anchor(ctx, x, kind)) < 0)
			break;
		n++;
	}
	ERR_clear_error();
	BIO_free(b);
	if (error == 0 && n == 0) {
		/* DER */
		const unsigned char *p = pem;
		x = d2i_X509(NULL, &p, (long)len);
		ERR_clear_error();
		if (x == NULL)
			return coffer_error_set(COFFER_EINVAL, "tdx: no certificate in %s root",
			                        kind);
		error = add_anchor(ctx, x, kind);
	}
	return error;
}

static int load_roots_dir(coffer_tdx_ctx *ctx, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int error = 0, seen = 0;

	if (d == NULL)
		return coffer_error_set(COFFER_EIO, "tdx: cannot open roots directory %s", dir);
	while ((de = readdir(d)) != NULL && error == 0) {
		const char *n = de->d_name;
		size_t l = strlen(n);
		char path[4096];
		uint8_t *buf = NULL;
		size_t len = 0;

		if (l < 5 || (strcmp(n + l - 4, ".pem") != 0 && strcmp(n + l - 4, ".crt") != 0 &&
		              strcmp(n + l - 4, ".der") != 0))
			continue;
		if (++seen > DIR_MAX_ENTRIES) {
			error = coffer_error_set(COFFER_ELIMIT, "tdx: too many roots in %s", dir);
			break;
		}
		if (snprintf(path, sizeof(path), "%s/%s", dir, n) >= (int)sizeof(path))
			continue;
		if ((error = coffer_file_read(&buf, &len, path, 65536)) < 0)
			break;
		/* only self-signed certificates can be roots */
		error = add_anchors_pem(ctx, buf, len, "configured");
		free(buf);
	}
	closedir(d);
	return error;
}

void coffer_tdx_ctx_free(coffer_tdx_ctx *ctx)
{
	if (ctx == NULL)
		return;
	for (size_t i = 0; i < ctx->nanchors; i++)
		X509_free(ctx->anchors[i].cert);
	for (size_t i = 0; i < ctx->nsigners; i++)
		X509_free(ctx->signers[i].cert);
	for (size_t i = 0; i < ctx->ntcb_infos; i++)
		coffer_tdx_tcb_info_free(ctx->tcb_infos[i]);
	for (size_t i = 0; i < ctx->nqe_ids; i++)
		coffer_tdx_qe_identity_free(ctx->qe_ids[i]);
	for (size_t i = 0; i < ctx->ncrls; i++)
		X509_CRL_free(ctx->crls[i]);
	for (size_t i = 0; i < TDX_CACHE_SLOTS; i++) {
		EVP_PKEY_free(ctx->cache[i].leaf_key);
		EVP_PKEY_free(ctx->keys[i].key);
	}
	X509_STORE_free(ctx->store);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx);
}

static bool looks_pem_cert(const uint8_t *d, size_t n)
{
	static const char tag[] = "-----BEGIN CERTIFICATE-----";
	size_t tl = sizeof(tag) - 1;

	for (size_t i = 0; i + tl <= n; i++)
		if (memcmp(d + i, tag, tl) == 0)
			return true;
	return false;
}

static bool has_pem_crl(const uint8_t *d, size_t n)
{
	static const char tag[] = "-----BEGIN X509 CRL-----";
	size_t tl = sizeof(tag) - 1;

	for (size_t i = 0; i + tl <= n; i++)
		if (memcmp(d + i, tag, tl) == 0)
			return true;
	return false;
}

static bool is_json(const uint8_t *d, size_t n)
{
	size_t i = 0;

	while (i < n && (d[i] == ' ' || d[i] == '\n' || d[i] == '\r' || d[i] == '\t'))
		i++;
	return i < n && d[i] == '{';
}

static int load_collateral_dir(coffer_tdx_ctx *ctx, const char *dir)
{
	/* two passes: signing certificates first, then what they sign */
	for (int pass = 0; pass < 2; pass++) {
		DIR *d = opendir(dir);
		struct dirent *de;
		int seen = 0;

		if (d == NULL && errno == ENOENT)
			return 0; /* nothing collected yet: no collateral */
		if (d == NULL)
			return coffer_error_set(COFFER_EIO,
			                        "tdx: cannot open collateral directory %s", dir);
		while ((de = readdir(d)) != NULL) {
			char path[4096];
			uint8_t *buf = NULL;
			size_t len = 0;
			struct stat st;
			int rc;

			if (de->d_name[0] == '.')
				continue;
			if (++seen > DIR_MAX_ENTRIES) {
				closedir(d);
				return coffer_error_set(COFFER_ELIMIT,
				                        "tdx: more than %d files in %s",
				                        DIR_MAX_ENTRIES, dir);
			}
			if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
			            (int)sizeof(path) ||
			    stat(path, &st) != 0 || !S_ISREG(st.st_mode))
				continue;
			if ((rc = coffer_file_read(&buf, &len, path, COLLATERAL_MAX)) < 0) {
				/* it may be a CRL: fail closed */
				closedir(d);
				return coffer_error_wrap(rc, "tdx collateral: %s", path);
			}
			if ((looks_pem_cert(buf, len) && !has_pem_crl(buf, len)) == (pass == 0)) {
				/* signed JSON or a signing certificate that does not
				 * verify is ignored: it is never used, and the quote
				 * then has no collateral. Anything else is a CRL, and
				 * a CRL that cannot be used would fail open: refused */
				int e = coffer_tdx_ctx_add_collateral(ctx, NULL, NULL, buf, len);
				if (e < 0 && pass == 1 && !is_json(buf, len)) {
					free(buf);
					closedir(d);
					return coffer_error_wrap(
					        e,
					        "tdx collateral: %s: CRL cannot be "
					        "loaded",
					        path);
				}
			}
			free(buf);
		}
		closedir(d);
	}
	coffer_error_clear();
	return 0;
}

int coffer_tdx_ctx_new(coffer_tdx_ctx **out, const coffer_tdx_ctx_options *opts)
{
	coffer_tdx_ctx *ctx = calloc(1, sizeof(*ctx));
	coffer_tdx_ctx_options defaults = COFFER_TDX_CTX_OPTIONS_INIT;
	int error;

	if (ctx == NULL)
		return COFFER_ENOMEM;
	if (opts == NULL)
		opts = &defaults;
	pthread_mutex_init(&ctx->lock, NULL);
	ctx->store = X509_STORE_new();
	if (ctx->store == NULL) {
		error = COFFER_ENOMEM;
		goto out;
	}
	if (!opts->no_intel_root) {
		const unsigned char *p = coffer_intel_sgx_root_ca_der;
		X509 *x = d2i_X509(NULL, &p, (long)coffer_intel_sgx_root_ca_der_len);
		if (x == NULL) {
			error = coffer_error_set_ssl(COFFER_ERROR, "tdx: built-in Intel root");
			goto out;
		}
		if ((error = add_anchor(ctx, x, "intel")) < 0)
			goto out;
	}
	if (opts->sim_root) {
		const char *s = opts->sim_root;
		if (strncmp(s, "-----BEGIN", 10) == 0) {
			error = add_anchors_pem(ctx, (const uint8_t *)s, strlen(s), "sim");
		} else {
			uint8_t *buf = NULL;
			size_t len = 0;
			if ((error = coffer_file_read(&buf, &len, s, 65536)) < 0)
				goto out;
			error = add_anchors_pem(ctx, buf, len, "sim");
			free(buf);
		}
		if (error < 0)
			goto out;
	}
	if (opts->roots_dir && (error = load_roots_dir(ctx, opts->roots_dir)) < 0)
		goto out;
	if (ctx->nanchors == 0) {
		error = coffer_error_set(COFFER_EINVAL, "tdx: no trusted root");
		goto out;
	}
	if (opts->collateral_dir && (error = load_collateral_dir(ctx, opts->collateral_dir)) < 0)
		goto out;
	*out = ctx;
	ctx = NULL;
	error = 0;
out:
	coffer_tdx_ctx_free(ctx);
	return error;
}

/* --- collateral ------------------------------------------------------------ */

static int add_signers_pem(coffer_tdx_ctx *ctx, const uint8_t *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x;
	int added = 0, error = 0;

	if (b == NULL)
		return COFFER_ENOMEM;
	while (error == 0 && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		char cn[128] = "";
		X509_STORE_CTX *sc = X509_STORE_CTX_new();
		bool ok = false;

		X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
		if (sc != NULL && strcmp(cn, TCB_SIGNING_CN) == 0 &&
		    X509_STORE_CTX_init(sc, ctx->store, x, NULL) == 1) {
			/* deliberately no time check: see the comment at the top */
			X509_STORE_CTX_set_flags(sc, X509_V_FLAG_NO_CHECK_TIME);
			X509_STORE_CTX_set_depth(sc, 1);
			ok = X509_verify_cert(sc) == 1 &&
			     sk_X509_num(X509_STORE_CTX_get0_chain(sc)) == 2;
		}
		X509_STORE_CTX_free(sc);
		ERR_clear_error();
		if (!ok) {
			X509_free(x);
			continue;
		}
		if (ctx->nsigners >= TDX_MAX_SIGNERS) {
			X509_free(x);
			error = coffer_error_set(COFFER_ELIMIT, "tdx: too many TCB signing certs");
			break;
		}
		ctx->signers[ctx->nsigners].cert = x;
		ctx->signers[ctx->nsigners].key = X509_get0_pubkey(x);
		ctx->nsigners++;
		added++;
	}
	ERR_clear_error();
	BIO_free(b);
	if (error == 0 && added == 0)
		error = coffer_error_set(COFFER_EVERIFY,
		                         "tdx collateral: no '" TCB_SIGNING_CN "' certificate that "
		                         "chains to a trusted root");
	return error;
}

static int add_crl(coffer_tdx_ctx *ctx, const uint8_t *d, size_t len)
{
	X509_CRL *crl = NULL;
	const unsigned char *p = d;

	if (len > 11 && memcmp(d, "-----BEGIN", 10) == 0) {
		BIO *b = BIO_new_mem_buf(d, (int)len);
		if (b)
			crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
		BIO_free(b);
	} else {
		crl = d2i_X509_CRL(NULL, &p, (long)len);
		if (crl && p != d + len) {
			X509_CRL_free(crl);
			crl = NULL;
		}
	}
	ERR_clear_error();
	if (crl == NULL)
		return coffer_error_set(COFFER_EINVAL, "tdx collateral: not a CRL, certificate "
		                                       "or collateral JSON");
	pthread_mutex_lock(&ctx->lock);
	if (ctx->ncrls >= TDX_MAX_CRLS) {
		pthread_mutex_unlock(&ctx->lock);
		X509_CRL_free(crl);
		return coffer_error_set(COFFER_ELIMIT, "tdx: more than %d CRLs", TDX_MAX_CRLS);
	}
	/* the signature is checked against the issuing certificate of the chain
	 * at use (pck.c); a CRL nobody in a chain signed is never applied */
	ctx->crls[ctx->ncrls++] = crl;
	/* chains verified before this CRL must be checked against it, and so
	 * must those being verified now (pck.c compares the generation) */
	ctx->crl_gen++;
	for (size_t i = 0; i < TDX_CACHE_SLOTS; i++) {
		EVP_PKEY_free(ctx->cache[i].leaf_key);
		memset(&ctx->cache[i], 0, sizeof(ctx->cache[i]));
	}
	pthread_mutex_unlock(&ctx->lock);
	return 0;
}

static int add_json(coffer_tdx_ctx *ctx, coffer_tdx_collateral_kind *kind, char *name,
                    const char *text, size_t len)
{
	json_t *doc = NULL, *body = NULL;
	json_error_t je;
	const char *span, *sig_hex;
	size_t span_len;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	bool tcb;
	tdx_signer *signer = NULL;
	int64_t issue = 0;
	int error;

	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(doc)) {
		error = coffer_error_set(COFFER_EINVAL, "tdx collateral: JSON: %s",
		                         coffer_json_error_scrub(&je));
		goto out;
	}
	tcb = json_object_get(doc, "tcbInfo") != NULL;
	if (!tcb && json_object_get(doc, "enclaveIdentity") == NULL) {
		error = coffer_error_set(COFFER_EINVAL, "tdx collateral: neither tcbInfo nor "
		                                        "enclaveIdentity");
		goto out;
	}
	if ((error = coffer_tdx_json_member_span(&span, &span_len, text, len,
	                                         tcb ? "tcbInfo" : "enclaveIdentity")) < 0)
		goto out;
	sig_hex = json_string_value(json_object_get(doc, "signature"));
	if (sig_hex == NULL || strlen(sig_hex) != 128 ||
	    coffer_hex_decode(&sig, &sig_len, sig_hex, 128) < 0 || sig_len != 64) {
		error = coffer_error_set(COFFER_EINVAL, "tdx collateral: 'signature' is not 64 "
		                                        "hex bytes");
		goto out;
	}
	for (size_t i = 0; i < ctx->nsigners && signer == NULL; i++)
		if (coffer_tdx_ecdsa_verify(ctx->signers[i].key, (const uint8_t *)span, span_len,
		                            sig) == 0)
			signer = &ctx->signers[i];
	if (signer == NULL) {
		error = coffer_error_set(COFFER_EVERIFY,
		                         "tdx collateral: %s signature does not verify with a TCB "
		                         "signing certificate that chains to a trusted root",
		                         tcb ? "TCB info" : "QE identity");
		goto out;
	}
	/* evaluate only the signed bytes */
	body = json_loadb(span, span_len, JSON_REJECT_DUPLICATES, &je);
	if (body == NULL) {
		error = coffer_error_set(COFFER_EINVAL, "tdx collateral: signed JSON: %s",
		                         coffer_json_error_scrub(&je));
		goto out;
	}
	if (tcb) {
		tdx_tcb_info *t = NULL;
		if ((error = coffer_tdx_tcb_info_from_json(&t, body)) < 0)
			goto out;
		issue = t->issue_date;
		t->signer_expired =
		        coffer_tdx_asn1_time_to_unix(X509_get0_notAfter(signer->cert)) < issue;
		t->signer = signer->cert;
		pthread_mutex_lock(&ctx->lock);
		if (ctx->ntcb_infos >= TDX_MAX_TCB_INFOS) {
			pthread_mutex_unlock(&ctx->lock);
			coffer_tdx_tcb_info_free(t);
			error = coffer_error_set(COFFER_ELIMIT, "tdx: too many TCB infos");
			goto out;
		}
		ctx->tcb_infos[ctx->ntcb_infos++] = t;
		pthread_mutex_unlock(&ctx->lock);
		if (kind)
			*kind = COFFER_TDX_COLL_TCB_INFO;
		if (name)
			snprintf(name, 64, "tcbinfo-%s-%02x%02x%02x%02x%02x%02x-%u.json",
			         t->tdx ? "tdx" : "sgx", t->fmspc[0], t->fmspc[1], t->fmspc[2],
			         t->fmspc[3], t->fmspc[4], t->fmspc[5], (unsigned)t->eval_number);
	} else {
		tdx_qe_identity *q = NULL;
		if ((error = coffer_tdx_qe_identity_from_json(&q, body)) < 0)
			goto out;
		issue = q->issue_date;
		q->signer_expired =
		        coffer_tdx_asn1_time_to_unix(X509_get0_notAfter(signer->cert)) < issue;
		q->signer = signer->cert;
		pthread_mutex_lock(&ctx->lock);
		if (ctx->nqe_ids >= TDX_MAX_QE_IDS) {
			pthread_mutex_unlock(&ctx->lock);
			coffer_tdx_qe_identity_free(q);
			error = coffer_error_set(COFFER_ELIMIT, "tdx: too many QE identities");
			goto out;
		}
		ctx->qe_ids[ctx->nqe_ids++] = q;
		pthread_mutex_unlock(&ctx->lock);
		if (kind)
			*kind = COFFER_TDX_COLL_QE_IDENTITY;
		if (name)
			snprintf(name, 64, "qeidentity-%s-%u.json", q->td_qe ? "td_qe" : "qe",
			         (unsigned)q->eval_number);
	}
	error = 0;
out:
	json_decref(doc);
	json_decref(body);
	free(sig);
	return error;
}

int coffer_tdx_ctx_add_collateral(coffer_tdx_ctx *ctx, coffer_tdx_collateral_kind *kind, char *name,
                                  const uint8_t *data, size_t len)
{
	size_t i = 0;
	int error;

	if (ctx == NULL || data == NULL || len == 0 || len > COLLATERAL_MAX)
		return coffer_error_set(COFFER_EINVAL, "tdx collateral: empty or over %d bytes",
		                        COLLATERAL_MAX);
	while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t'))
		i++;
	if (i < len && data[i] == '{')
		return add_json(ctx, kind, name, (const char *)data, len);
	/* a PEM CRL may come with its issuer chain: it is a CRL */
	if (looks_pem_cert(data, len) && !has_pem_crl(data, len)) {
		if ((error = add_signers_pem(ctx, data, len)) < 0)
			return error;
		if (kind)
			*kind = COFFER_TDX_COLL_SIGNING_CERT;
		if (name)
			snprintf(name, 64, "tcb-signing-%zu.pem", ctx->nsigners);
		return 0;
	}
	if ((error = add_crl(ctx, data, len)) < 0)
		return error;
	if (kind)
		*kind = COFFER_TDX_COLL_CRL;
	if (name)
		snprintf(name, 64, "crl-%zu.der", ctx->ncrls);
	return 0;
}
