/*
 * PCK certificates: the SGX extensions (Intel SGX PCK Certificate and CRL
 * Profile, section "SGX Extensions", OID 1.2.840.113741.1.13.1) and the chain
 * PCK leaf -> PCK Platform/Processor CA -> a trust anchor. The root carried in
 * the quote is never trusted because it is there: only our anchors are in the
 * store, and the quote's copy must be byte-identical to one of them.
 */
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "tdx/tdx_internal.h"

/* 1.2.840.113741.1.13.1 */
static const uint8_t sgx_oid[] = { 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01 };
#define SGX_OID_LEN sizeof(sgx_oid)
#define MAX_CHAIN   3

typedef struct der {
	const uint8_t *p;
	size_t len;
} der;

/* One TLV from `in` (advanced past it). Definite lengths up to 4 bytes. */
static int der_next(uint8_t *tag, der *val, der *in)
{
	size_t n, i = 2;

	if (in->len < 2)
		return COFFER_EINVAL;
	*tag = in->p[0];
	if ((*tag & 0x1f) == 0x1f)
		return COFFER_EINVAL; /* multi-byte tags never occur here */
	n = in->p[1];
	if (n & 0x80) {
		size_t k = n & 0x7f;

		if (k == 0 || k > 4 || in->len < 2 + k)
			return COFFER_EINVAL;
		n = 0;
		for (size_t j = 0; j < k; j++)
			n = (n << 8) | in->p[2 + j];
		i += k;
	}
	if (n > in->len - i)
		return COFFER_EINVAL;
	val->p = in->p + i;
	val->len = n;
	in->p += i + n;
	in->len -= i + n;
	return 0;
}

static int der_expect(der *val, der *in, uint8_t want)
{
	uint8_t tag;

	if (der_next(&tag, val, in) < 0 || tag != want)
		return COFFER_EINVAL;
	return 0;
}

static int der_small_uint(unsigned *out, const der *v, unsigned max)
{
	unsigned x = 0;

	if (v->len == 0 || v->len > 3 || (v->p[0] & 0x80))
		return COFFER_EINVAL;
	for (size_t i = 0; i < v->len; i++)
		x = (x << 8) | v->p[i];
	if (x > max)
		return COFFER_EINVAL;
	*out = x;
	return 0;
}

static int octets(uint8_t *out, const der *v, size_t n)
{
	if (v->len != n)
		return COFFER_EINVAL;
	memcpy(out, v->p, n);
	return 0;
}

static int parse_tcb(coffer_tdx_pck_info *pi, der seq)
{
	unsigned seen = 0;

	while (seq.len) {
		der item, oid, val;
		uint8_t tag;
		unsigned x;

		if (der_expect(&item, &seq, 0x30) < 0 || der_expect(&oid, &item, 0x06) < 0 ||
		    der_next(&tag, &val, &item) < 0 || item.len != 0)
			return COFFER_EINVAL;
		if (oid.len != SGX_OID_LEN + 2 || memcmp(oid.p, sgx_oid, SGX_OID_LEN) != 0 ||
		    oid.p[SGX_OID_LEN] != 0x02 || oid.p[SGX_OID_LEN + 1] < 1 ||
		    oid.p[SGX_OID_LEN + 1] > 18)
			return COFFER_EINVAL;
		unsigned k = oid.p[SGX_OID_LEN + 1];
		if (seen & (1u << k))
			return COFFER_EINVAL;
		seen |= 1u << k;
		if (k <= 16) {
			if (tag != 0x02 || der_small_uint(&x, &val, 255) < 0)
				return COFFER_EINVAL;
			pi->comp_svn[k - 1] = (uint8_t)x;
		} else if (k == 17) {
			if (tag != 0x02 || der_small_uint(&x, &val, 65535) < 0)
				return COFFER_EINVAL;
			pi->pcesvn = (uint16_t)x;
		} else {
			if (tag != 0x04 || octets(pi->cpusvn, &val, 16) < 0)
				return COFFER_EINVAL;
		}
	}
	return seen == 0x7fffeu ? 0 : COFFER_EINVAL;
}

static int parse_sgx_ext(coffer_tdx_pck_info *pi, const uint8_t *p, size_t len)
{
	der in = { p, len }, top;
	unsigned seen = 0;

	if (der_expect(&top, &in, 0x30) < 0 || in.len != 0)
		return COFFER_EINVAL;
	while (top.len) {
		der item, oid, val;
		uint8_t tag;
		unsigned x, k;

		if (der_expect(&item, &top, 0x30) < 0 || der_expect(&oid, &item, 0x06) < 0 ||
		    der_next(&tag, &val, &item) < 0 || item.len != 0)
			return COFFER_EINVAL;
		if (oid.len != SGX_OID_LEN + 1 || memcmp(oid.p, sgx_oid, SGX_OID_LEN) != 0)
			continue; /* a deeper arc we do not know: ignore */
		k = oid.p[SGX_OID_LEN];
		if (k < 32 && (seen & (1u << k)))
			return COFFER_EINVAL;
		if (k < 32)
			seen |= 1u << k;
		switch (k) {
		case 1:
			if (tag != 0x04 || octets(pi->ppid, &val, 16) < 0)
				return COFFER_EINVAL;
			break;
		case 2:
			if (tag != 0x30 || parse_tcb(pi, val) < 0)
				return COFFER_EINVAL;
			break;
		case 3:
			if (tag != 0x04 || octets(pi->pceid, &val, 2) < 0)
				return COFFER_EINVAL;
			break;
		case 4:
			if (tag != 0x04 || octets(pi->fmspc, &val, 6) < 0)
				return COFFER_EINVAL;
			break;
		case 5:
			if (tag != 0x0a || der_small_uint(&x, &val, 255) < 0)
				return COFFER_EINVAL;
			pi->sgx_type = (int)x;
			break;
		case 6:
			if (tag != 0x04 || octets(pi->platform_instance_id, &val, 16) < 0)
				return COFFER_EINVAL;
			pi->has_platform_instance_id = true;
			break;
		default:
			break; /* configuration (7) and future members */
		}
	}
	/* PPID, TCB, PCE-ID, FMSPC, SGX type are mandatory */
	return (seen & 0x3e) == 0x3e ? 0 : COFFER_EINVAL;
}

static int pck_info_from_x509(coffer_tdx_pck_info *out, X509 *x)
{
	const STACK_OF(X509_EXTENSION) *exts = X509_get0_extensions(x);
	int found = 0;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
		ASN1_OBJECT *o = X509_EXTENSION_get_object(e);
		const unsigned char *od = OBJ_get0_data(o);
		size_t ol = OBJ_length(o);
		ASN1_OCTET_STRING *v;

		if (od == NULL || ol != SGX_OID_LEN || memcmp(od, sgx_oid, SGX_OID_LEN) != 0)
			continue;
		if (found++)
			return coffer_error_set(COFFER_EINVAL,
			                        "PCK certificate: two SGX extensions");
		v = X509_EXTENSION_get_data(e);
		if (parse_sgx_ext(out, ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v)) < 0)
			return coffer_error_set(COFFER_EINVAL,
			                        "PCK certificate: malformed SGX extension");
	}
	if (!found)
		return coffer_error_set(COFFER_EINVAL, "PCK certificate: no SGX extension");
	return 0;
}

int coffer_tdx_pck_info_parse(coffer_tdx_pck_info *out, const uint8_t *der_buf, size_t len)
{
	const unsigned char *p = der_buf;
	X509 *x;
	int error;

	if (len > 65536 || (x = d2i_X509(NULL, &p, (long)len)) == NULL || p != der_buf + len) {
		ERR_clear_error();
		return coffer_error_set(COFFER_EINVAL, "PCK certificate: not a DER certificate");
	}
	error = pck_info_from_x509(out, x);
	X509_free(x);
	return error;
}

/* Exactly three PEM certificates, then only whitespace or NUL padding. */
static int parse_chain(X509 *certs[MAX_CHAIN], const uint8_t *pem, size_t len)
{
	BIO *b;
	size_t n = 0;
	int error = 0;

	if (len == 0 || len > 64 * 1024)
		return coffer_error_set(COFFER_EINVAL, "PCK certificate chain: %zu bytes", len);
	b = BIO_new_mem_buf(pem, (int)len);
	if (b == NULL)
		return COFFER_ENOMEM;
	for (n = 0; n < MAX_CHAIN; n++) {
		certs[n] = PEM_read_bio_X509(b, NULL, NULL, NULL);
		if (certs[n] == NULL)
			break;
	}
	if (n != MAX_CHAIN) {
		error = coffer_error_set_ssl(COFFER_EVERIFY,
		                             "PCK certificate chain invalid: %zu certificate(s) "
		                             "parse, expected leaf, PCK CA and root",
		                             n);
		goto out;
	}
	/* nothing but padding after the root */
	{
		char c;
		while (BIO_read(b, &c, 1) == 1) {
			if (c != 0 && c != '\n' && c != '\r' && c != ' ' && c != '\t') {
				error = coffer_error_set(COFFER_EVERIFY,
				                         "PCK certificate chain invalid: data "
				                         "after the third certificate");
				goto out;
			}
		}
	}
out:
	ERR_clear_error();
	BIO_free(b);
	if (error < 0) {
		for (size_t i = 0; i < MAX_CHAIN; i++) {
			X509_free(certs[i]);
			certs[i] = NULL;
		}
	}
	return error;
}

static bool same_cert(X509 *a, X509 *b)
{
	unsigned char *da = NULL, *db = NULL;
	int la = i2d_X509(a, &da), lb = i2d_X509(b, &db);
	bool eq = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;

	OPENSSL_free(da);
	OPENSSL_free(db);
	return eq;
}

/* CRLs: every CRL issued by (and signed with) the root or the PCK CA is
 * applied to the certificate that issuer signed. */
static int check_crls(bool *expired, coffer_tdx_ctx *ctx, X509 *certs[MAX_CHAIN], X509 *anchor,
                      int64_t now)
{
	X509 *issuers[2] = { certs[1], anchor };
	X509 *subjects[2] = { certs[0], certs[1] };
	X509_CRL *crls[TDX_MAX_CRLS];
	size_t ncrls;

	/* CRLs are only ever appended and freed with the context */
	pthread_mutex_lock(&ctx->lock);
	ncrls = ctx->ncrls;
	memcpy(crls, ctx->crls, ncrls * sizeof(crls[0]));
	pthread_mutex_unlock(&ctx->lock);
	for (size_t i = 0; i < ncrls; i++) {
		X509_CRL *crl = crls[i];

		for (size_t j = 0; j < 2; j++) {
			X509_REVOKED *rev = NULL;
			EVP_PKEY *k;

			if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
			                  X509_get_subject_name(issuers[j])) != 0)
				continue;
			k = X509_get0_pubkey(issuers[j]);
			if (k == NULL || X509_CRL_verify(crl, k) != 1) {
				ERR_clear_error();
				continue; /* same name, other key (e.g. test PKI) */
			}
			if (X509_CRL_get0_by_cert(crl, &rev, subjects[j]) == 1)
				return coffer_error_set(COFFER_EVERIFY,
				                        "PCK certificate chain: %s certificate is "
				                        "revoked (CRL of %s)",
				                        j == 0 ? "PCK leaf" : "PCK CA",
				                        j == 0 ? "the PCK CA" : "the root CA");
			const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);
			if (nu && coffer_tdx_asn1_time_to_unix(nu) < now)
				*expired = true;
		}
	}
	return 0;
}

static int verify_chain_uncached(tdx_cache_entry *e, coffer_tdx_ctx *ctx, const uint8_t *pem,
                                 size_t len, int64_t now)
{
	X509 *certs[MAX_CHAIN] = { NULL, NULL, NULL };
	X509_STORE_CTX *sc = NULL;
	STACK_OF(X509) *untrusted = NULL;
	X509 *anchor = NULL;
	const char *kind = NULL;
	int error, rc;

	if ((error = parse_chain(certs, pem, len)) < 0)
		return error;
	for (size_t i = 0; i < ctx->nanchors; i++) {
		if (same_cert(certs[2], ctx->anchors[i].cert)) {
			anchor = ctx->anchors[i].cert;
			kind = ctx->anchors[i].kind;
			break;
		}
	}
	if (anchor == NULL) {
		error = coffer_error_set(COFFER_EVERIFY,
		                         "PCK certificate chain: the root certificate in the quote "
		                         "is not a trusted root (unable to validate root cert)");
		goto out;
	}
	untrusted = sk_X509_new_null();
	sc = X509_STORE_CTX_new();
	if (untrusted == NULL || sc == NULL || !sk_X509_push(untrusted, certs[1]) ||
	    X509_STORE_CTX_init(sc, ctx->store, certs[0], untrusted) != 1) {
		error = coffer_error_set_ssl(COFFER_ERROR, "PCK chain: verify setup");
		goto out;
	}
	X509_STORE_CTX_set_time(sc, 0, (time_t)now);
	X509_STORE_CTX_set_depth(sc, 2);
	rc = X509_verify_cert(sc);
	if (rc != 1) {
		int err = X509_STORE_CTX_get_error(sc);
		int depth = X509_STORE_CTX_get_error_depth(sc);
		error = coffer_error_set(COFFER_EVERIFY,
		                         "PCK certificate chain: %s at depth %d (%s)",
		                         X509_verify_cert_error_string(err), depth,
		                         depth == 0   ? "PCK leaf"
		                         : depth == 1 ? "PCK CA"
		                                      : "root");
		goto out;
	}
	if (X509_STORE_CTX_get0_chain(sc) == NULL ||
	    sk_X509_num(X509_STORE_CTX_get0_chain(sc)) != 3 ||
	    !same_cert(sk_X509_value(X509_STORE_CTX_get0_chain(sc), 2), anchor)) {
		error = coffer_error_set(COFFER_EVERIFY,
		                         "PCK certificate chain: does not end at the quote's root");
		goto out;
	}
	if ((error = pck_info_from_x509(&e->pck, certs[0])) < 0)
		goto out;
	{
		char cn[128] = "";
		X509_NAME_get_text_by_NID(X509_get_subject_name(certs[1]), NID_commonName, cn,
		                          sizeof(cn));
		e->pck.platform_ca = strstr(cn, "Platform") != NULL;
	}
	e->crl_expired = false;
	if ((error = check_crls(&e->crl_expired, ctx, certs, anchor, now)) < 0)
		goto out;
	e->not_before = INT64_MIN;
	e->not_after = INT64_MAX;
	for (size_t i = 0; i < MAX_CHAIN; i++) {
		int64_t nb = coffer_tdx_asn1_time_to_unix(X509_get0_notBefore(certs[i]));
		int64_t na = coffer_tdx_asn1_time_to_unix(X509_get0_notAfter(certs[i]));
		if (nb > e->not_before)
			e->not_before = nb;
		if (na < e->not_after)
			e->not_after = na;
	}
	e->leaf_key = X509_get_pubkey(certs[0]);
	if (e->leaf_key == NULL || EVP_PKEY_get_base_id(e->leaf_key) != EVP_PKEY_EC ||
	    EVP_PKEY_get_bits(e->leaf_key) != 256) {
		EVP_PKEY_free(e->leaf_key);
		e->leaf_key = NULL;
		error = coffer_error_set(COFFER_EVERIFY, "PCK certificate: not a P-256 key");
		goto out;
	}
	e->root_kind = kind;
	error = 0;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(sc);
	sk_X509_free(untrusted);
	for (size_t i = 0; i < MAX_CHAIN; i++)
		X509_free(certs[i]);
	return error;
}

void (*coffer_tdx_pck_test_hook)(coffer_tdx_ctx *ctx);

int coffer_tdx_pck_chain_verify(EVP_PKEY **leaf_key, coffer_tdx_pck_info *pck,
                                const char **root_kind, bool *crl_expired, coffer_tdx_ctx *ctx,
                                const uint8_t *pem, size_t len, int64_t now)
{
	uint8_t h[32];
	tdx_cache_entry fresh, *slot = NULL;
	uint64_t crl_gen;
	int error;

	SHA256(pem, len, h);
	pthread_mutex_lock(&ctx->lock);
	/* read before the chain is checked against the CRLs: a CRL added from
	 * here on makes this result unfit for the cache (checked below) */
	crl_gen = ctx->crl_gen;
	for (size_t i = 0; i < TDX_CACHE_SLOTS; i++) {
		tdx_cache_entry *e = &ctx->cache[i];
		if (e->used && memcmp(e->hash, h, 32) == 0 && now >= e->not_before &&
		    now <= e->not_after) {
			e->last_use = ++ctx->clock;
			EVP_PKEY_up_ref(e->leaf_key);
			*leaf_key = e->leaf_key;
			*pck = e->pck;
			*root_kind = e->root_kind;
			*crl_expired = e->crl_expired;
			pthread_mutex_unlock(&ctx->lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&ctx->lock);

	memset(&fresh, 0, sizeof(fresh));
	if ((error = verify_chain_uncached(&fresh, ctx, pem, len, now)) < 0)
		return error;
	memcpy(fresh.hash, h, 32);
	fresh.used = true;
	*pck = fresh.pck;
	*root_kind = fresh.root_kind;
	*crl_expired = fresh.crl_expired;
	EVP_PKEY_up_ref(fresh.leaf_key);
	*leaf_key = fresh.leaf_key;

	if (coffer_tdx_pck_test_hook)
		coffer_tdx_pck_test_hook(ctx);
	pthread_mutex_lock(&ctx->lock);
	if (ctx->crl_gen != crl_gen) {
		/* a CRL arrived during the verification; it may revoke this
		 * chain: answer this caller, but let the next one check again */
		pthread_mutex_unlock(&ctx->lock);
		EVP_PKEY_free(fresh.leaf_key);
		return 0;
	}
	for (size_t i = 0; i < TDX_CACHE_SLOTS; i++) {
		if (!ctx->cache[i].used) {
			slot = &ctx->cache[i];
			break;
		}
		if (slot == NULL || ctx->cache[i].last_use < slot->last_use)
			slot = &ctx->cache[i];
	}
	EVP_PKEY_free(slot->leaf_key);
	*slot = fresh;
	slot->last_use = ++ctx->clock;
	pthread_mutex_unlock(&ctx->lock);
	return 0;
}
