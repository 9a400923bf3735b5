/*
 * AMD certificates: the VCEK/VLEK extensions and the chain
 * VCEK -> ASK -> ARK / VLEK -> ASVK -> ARK (RSASSA-PSS with SHA-384 on the
 * AMD side, checked by OpenSSL's X509_verify, which reads the PSS parameters
 * from the certificate).
 *
 * The chain is checked link by link rather than with X509_verify_cert: AMD
 * endorsement keys have serial 0 and no key usage, and what matters is exact:
 * the ARK must be one we trust (built in, the operator's roots directory, or
 * the configured simulator root), the intermediate must be signed by it, the
 * leaf by the intermediate, each within its validity at the given time.
 */
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "coffer/file.h"
#include "snp/snp_internal.h"

#define ROOTS_DIR_MAX_FILES 64
#define ROOT_FILE_MAX       (64 * 1024)

/* ---- extensions ---- */

static int ext_integer(uint8_t *out, const ASN1_OCTET_STRING *data, const char *oid)
{
	const unsigned char *p = ASN1_STRING_get0_data(data);
	long len = ASN1_STRING_length(data);
	ASN1_INTEGER *ai;
	int64_t v = -1;

	ai = d2i_ASN1_INTEGER(NULL, &p, len);
	if (ai == NULL || p != ASN1_STRING_get0_data(data) + len ||
	    ASN1_INTEGER_get_int64(&v, ai) != 1 || v < 0 || v > 255) {
		ASN1_INTEGER_free(ai);
		ERR_clear_error();
		return coffer_error_set(
		        COFFER_EINVAL, "endorsement key: extension %s is not a small INTEGER", oid);
	}
	ASN1_INTEGER_free(ai);
	*out = (uint8_t)v;
	return 0;
}

int snp_vek_ext_parse(struct snp_vek_ext *out, X509 *cert)
{
	/* the SPL INTEGERs, 1.3.6.1.4.1.3704.1.3.{1,2,3,8,9} */
	const struct {
		const char *oid, *name;
		bool *has;
		uint8_t *val;
	} spl[] = {
		{ "1.3.6.1.4.1.3704.1.3.1", "blSPL", &out->has_bl, &out->bl },
		{ "1.3.6.1.4.1.3704.1.3.2", "teeSPL", &out->has_tee, &out->tee },
		{ "1.3.6.1.4.1.3704.1.3.3", "snpSPL", &out->has_snp, &out->snp },
		{ "1.3.6.1.4.1.3704.1.3.8", "ucodeSPL", &out->has_ucode, &out->ucode },
		{ "1.3.6.1.4.1.3704.1.3.9", "fmcSPL", &out->has_fmc, &out->fmc },
	};
	int n = X509_get_ext_count(cert);
	uint32_t seen = 0;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < n; i++) {
		X509_EXTENSION *ext = X509_get_ext(cert, i);
		const ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(ext);
		const unsigned char *d = ASN1_STRING_get0_data(data);
		int dlen = ASN1_STRING_length(data);
		char oid[80];
		int bit = -1, error = 0;

		if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1) <= 0)
			continue;
		if (strncmp(oid, "1.3.6.1.4.1.3704.1.", 19) != 0)
			continue;
		if (strcmp(oid, "1.3.6.1.4.1.3704.1.2") == 0) {
			/* productName: IA5String, e.g. "Milan-B0" */
			bit = 0;
			if (dlen < 2 || (d[0] != 0x16 && d[0] != 0x0C) || d[1] != dlen - 2 ||
			    (size_t)(dlen - 2) >= sizeof(out->product_name))
				return coffer_error_set(
				        COFFER_EINVAL,
				        "endorsement key: bad productName extension");
			memcpy(out->product_name, d + 2, (size_t)(dlen - 2));
			out->product_name[dlen - 2] = '\0';
			out->product = coffer_snp_product_from_name(out->product_name);
		} else if (strcmp(oid, "1.3.6.1.4.1.3704.1.4") == 0) {
			/* hwID: the raw bytes (most certificates) or a DER OCTET
			 * STRING around them; 64 bytes, 8 on Turin */
			bit = 6;
			if (dlen == 64 || dlen == 8) {
				memcpy(out->hwid, d, (size_t)dlen);
				out->hwid_len = (size_t)dlen;
			} else if ((dlen == 66 && d[0] == 0x04 && d[1] == 64) ||
			           (dlen == 10 && d[0] == 0x04 && d[1] == 8)) {
				memcpy(out->hwid, d + 2, (size_t)(dlen - 2));
				out->hwid_len = (size_t)(dlen - 2);
			} else {
				return coffer_error_set(
				        COFFER_EINVAL,
				        "endorsement key: hwID extension of %d bytes", dlen);
			}
			out->has_hwid = true;
		} else {
			for (size_t k = 0; k < sizeof(spl) / sizeof(spl[0]); k++) {
				if (strcmp(oid, spl[k].oid) != 0)
					continue;
				bit = 1 + (int)k;
				*spl[k].has = true;
				error = ext_integer(spl[k].val, data, spl[k].name);
			}
		}
		if (error < 0)
			return error;
		if (bit >= 0) {
			if (seen & (1u << bit))
				return coffer_error_set(COFFER_EINVAL,
				                        "endorsement key: duplicate extension %s",
				                        oid);
			seen |= 1u << bit;
		}
	}
	return 0;
}

/* CN of a name, or "" */
static void name_cn(char *buf, size_t n, const X509_NAME *name)
{
	buf[0] = '\0';
	if (X509_NAME_get_text_by_NID((X509_NAME *)name, NID_commonName, buf, (int)n) < 0)
		buf[0] = '\0';
	ERR_clear_error();
}

enum snp_vek_kind snp_cert_vek_kind(X509 *cert, bool *known)
{
	char cn[64];

	name_cn(cn, sizeof(cn), X509_get_subject_name(cert));
	*known = true;
	if (strcmp(cn, "SEV-VCEK") == 0)
		return SNP_VEK_VCEK;
	if (strcmp(cn, "SEV-VLEK") == 0)
		return SNP_VEK_VLEK;
	*known = false;
	return SNP_VEK_VCEK;
}

/* ---- time ---- */

static int64_t asn1_time_unix(const ASN1_TIME *t, bool *ok)
{
	struct tm tm;

	*ok = false;
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	*ok = true;
	return (int64_t)timegm(&tm);
}

static void utc_text(char when[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(when, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int snp_cert_check_time(X509 *cert, const char *what, int64_t now)
{
	bool ok1, ok2;
	int64_t nb = asn1_time_unix(X509_get0_notBefore(cert), &ok1);
	int64_t na = asn1_time_unix(X509_get0_notAfter(cert), &ok2);
	char when[32];

	if (now == 0)
		now = (int64_t)time(NULL);
	if (!ok1 || !ok2)
		return coffer_error_set(COFFER_EINVAL, "%s certificate: unreadable validity", what);
	if (now < nb) {
		utc_text(when, nb);
		return coffer_error_set(COFFER_EEXPIRED,
		                        "%s certificate is not yet valid (notBefore %s)", what,
		                        when);
	}
	if (now > na) {
		utc_text(when, na);
		return coffer_error_set(COFFER_EEXPIRED,
		                        "%s certificate expired (notAfter %s); verify old evidence "
		                        "with an explicit time (--at)",
		                        what, when);
	}
	return 0;
}

/* ---- loading ---- */

int snp_load_objects(STACK_OF(X509) * certs, STACK_OF(X509_CRL) * crls, const uint8_t *data,
                     size_t len)
{
	BIO *bio = NULL;
	STACK_OF(X509_INFO) *infos = NULL;
	int error = 0, n = 0;

	if (data == NULL || len == 0 || len > SNP_COLLATERAL_MAX || len > INT_MAX)
		return coffer_error_set(COFFER_EINVAL, "collateral: empty or too large (%zu bytes)",
		                        len);
	if (len > 11 && memcmp(data, "-----BEGIN ", 11) == 0) {
		if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL)
			return coffer_error_set_ssl(COFFER_ENOMEM, "collateral");
		infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
		if (infos == NULL) {
			error = coffer_error_set_ssl(COFFER_EINVAL, "collateral: bad PEM");
			goto out;
		}
		for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
			X509_INFO *xi = sk_X509_INFO_value(infos, i);
			if (n >= SNP_CHAIN_ENTRIES * 4) {
				error = coffer_error_set(COFFER_ELIMIT,
				                         "collateral: too many objects");
				goto out;
			}
			if (xi->x509 && certs) {
				if (!sk_X509_push(certs, xi->x509)) {
					error = coffer_error_set(COFFER_ENOMEM, "out of memory");
					goto out;
				}
				xi->x509 = NULL;
				n++;
			}
			if (xi->crl && crls) {
				if (!sk_X509_CRL_push(crls, xi->crl)) {
					error = coffer_error_set(COFFER_ENOMEM, "out of memory");
					goto out;
				}
				xi->crl = NULL;
				n++;
			}
		}
	} else {
		const unsigned char *p = data;
		X509 *x = d2i_X509(NULL, &p, (long)len);
		if (x != NULL && p == data + len) {
			if (certs == NULL || !sk_X509_push(certs, x)) {
				X509_free(x);
				if (certs != NULL) {
					error = coffer_error_set(COFFER_ENOMEM, "out of memory");
					goto out;
				}
			}
			n++;
		} else {
			X509_CRL *c;
			X509_free(x);
			ERR_clear_error();
			p = data;
			c = d2i_X509_CRL(NULL, &p, (long)len);
			if (c != NULL && p == data + len) {
				if (crls == NULL || !sk_X509_CRL_push(crls, c)) {
					X509_CRL_free(c);
					if (crls != NULL) {
						error = coffer_error_set(COFFER_ENOMEM,
						                         "out of memory");
						goto out;
					}
				}
				n++;
			} else {
				X509_CRL_free(c);
				error = coffer_error_set_ssl(
				        COFFER_EINVAL,
				        "collateral: not a PEM or DER certificate or CRL");
				goto out;
			}
		}
	}
	if (n == 0)
		error = coffer_error_set(COFFER_EINVAL, "collateral: no certificate or CRL found");
out:
	ERR_clear_error();
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	BIO_free(bio);
	return error;
}

/* ---- trust anchors ---- */

static STACK_OF(X509) * builtin_arks, *builtin_inters;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void builtin_load(void)
{
	builtin_arks = sk_X509_new_null();
	builtin_inters = sk_X509_new_null();
	if (builtin_arks == NULL || builtin_inters == NULL)
		return;
	for (size_t i = 0; snp_builtin_cas[i].der; i++) {
		const unsigned char *p = snp_builtin_cas[i].der;
		X509 *x = d2i_X509(NULL, &p, (long)snp_builtin_cas[i].len);
		if (x == NULL)
			continue;
		if (!sk_X509_push(snp_builtin_cas[i].kind == SNP_CA_ARK ? builtin_arks
		                                                        : builtin_inters,
		                  x))
			X509_free(x);
	}
}

static int load_pem_file(STACK_OF(X509) * certs, const char *path)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int error;

	if ((error = coffer_file_read(&data, &len, path, ROOT_FILE_MAX)) < 0)
		return error;
	error = snp_load_objects(certs, NULL, data, len);
	free(data);
	return error < 0 ? coffer_error_wrap(error, "%s", path) : 0;
}

static int load_roots_dir(STACK_OF(X509) * certs, const char *dir)
{
	struct dirent **ents = NULL;
	int n, error = 0, used = 0;

	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0)
		return coffer_error_set(COFFER_EIO, "roots directory %s: cannot read", dir);
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		size_t l = strlen(name);
		char path[PATH_MAX];
		if (error == 0 && l > 4 && strcmp(name + l - 4, ".pem") == 0) {
			if (++used > ROOTS_DIR_MAX_FILES) {
				error = coffer_error_set(COFFER_ELIMIT,
				                         "roots directory %s: too many files", dir);
			} else if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
			           (int)sizeof(path)) {
				error = coffer_error_set(COFFER_EINVAL, "path too long");
			} else {
				error = load_pem_file(certs, path);
			}
		}
		free(ents[i]);
	}
	free(ents);
	return error;
}

static bool signed_by(X509 *x, X509 *issuer)
{
	EVP_PKEY *k = X509_get0_pubkey(issuer);
	int ok = k != NULL &&
	         X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(issuer)) == 0 &&
	         X509_verify(x, k) == 1;

	ERR_clear_error();
	return ok;
}

static bool self_signed_ok(X509 *x)
{
	return signed_by(x, x);
}

/* Push every certificate of `src` (may be NULL) onto `dst`, each with a
 * reference of its own. */
static int push_refs(STACK_OF(X509) * dst, STACK_OF(X509) * src)
{
	for (int i = 0; src && i < sk_X509_num(src); i++) {
		X509 *x = sk_X509_value(src, i);
		if (!X509_up_ref(x))
			return coffer_error_set(COFFER_ENOMEM, "out of memory");
		if (!sk_X509_push(dst, x)) {
			X509_free(x); /* the reference just taken */
			return coffer_error_set(COFFER_ENOMEM, "out of memory");
		}
	}
	return 0;
}

/* The configured roots onto `roots`, in this order: AMD's built-in ARKs
 * (with `builtin`), the roots directory's certificates (read again), the sim
 * root's. *nbuiltin and *ndir (may be NULL) are the counts after the first
 * and the second. */
static int roots_load(STACK_OF(X509) * roots, const struct snp_trust *trust, bool builtin,
                      int *nbuiltin, int *ndir)
{
	int error;

	if (builtin) {
		pthread_once(&builtin_once, builtin_load);
		if ((error = push_refs(roots, builtin_arks)) < 0)
			return error;
	}
	if (nbuiltin)
		*nbuiltin = sk_X509_num(roots);
	if (trust->roots_dir && (error = load_roots_dir(roots, trust->roots_dir)) < 0)
		return error;
	if (ndir)
		*ndir = sk_X509_num(roots);
	if (trust->sim_root && (error = load_pem_file(roots, trust->sim_root)) < 0)
		return error;
	return 0;
}

/* Revocation of `cert` by CRLs issued by `issuer`. A CRL that names the
 * issuer but whose signature does not verify is refused: it cannot be
 * trusted either way. One past its nextUpdate at `now` is still applied (it
 * can only add revocations) and sets *stale (docs/snp.md: `crl_stale`). */
static int check_crls(bool *stale, X509 *cert, X509 *issuer, STACK_OF(X509_CRL) * crls,
                      const char *what, int64_t now)
{
	for (int i = 0; crls && i < sk_X509_CRL_num(crls); i++) {
		X509_CRL *crl = sk_X509_CRL_value(crls, i);
		X509_REVOKED *rev = NULL;

		if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0)
			continue;
		if (X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1) {
			ERR_clear_error();
			return coffer_error_set(COFFER_EVERIFY,
			                        "a CRL naming the %s's issuer has a bad signature",
			                        what);
		}
		if (X509_CRL_get0_by_cert(crl, &rev, cert) == 1)
			return coffer_error_set(COFFER_EVERIFY, "%s certificate is revoked", what);
		if (X509_CRL_get0_nextUpdate(crl) != NULL &&
		    X509_cmp_time(X509_CRL_get0_nextUpdate(crl), &(time_t){ (time_t)now }) <= 0)
			*stale = true;
	}
	return 0;
}

int snp_chain_verify(X509 *vek, enum snp_vek_kind kind, coffer_snp_product product,
                     STACK_OF(X509) * extra, STACK_OF(X509_CRL) * crls,
                     const struct snp_trust *trust, int64_t now, int *root_kind_out,
                     bool *crl_stale_out)
{
	const char *vname = kind == SNP_VEK_VLEK ? "VLEK" : "VCEK";
	const char *iname = kind == SNP_VEK_VLEK ? "ASVK" : "ASK";
	STACK_OF(X509) *inters = NULL, *roots = NULL;
	X509 *inter = NULL, *root = NULL;
	char cn[64], icn[64], rcn[64];
	int error, root_kind = -1, nbuiltin = 0, ndir = 0;
	bool inter_forged = false, crl_stale = false;

	pthread_once(&builtin_once, builtin_load);
	if ((inters = sk_X509_new_null()) == NULL || (roots = sk_X509_new_null()) == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	/* trust anchors, each with where it came from */
	if ((error = roots_load(roots, trust, trust->builtin, &nbuiltin, &ndir)) < 0)
		goto out;
	/* a roots file may be a bundle (ASK + ARK): only self-signed
	 * certificates are anchors, the others are intermediate candidates */
	for (int i = sk_X509_num(roots) - 1; i >= nbuiltin; i--) {
		X509 *x = sk_X509_value(roots, i);
		if (self_signed_ok(x))
			continue;
		sk_X509_delete(roots, i);
		if (i < ndir)
			ndir--;
		if (!sk_X509_push(inters, x)) {
			X509_free(x);
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (sk_X509_num(roots) == 0) {
		error = coffer_error_set(COFFER_EVERIFY, "SNP: no trusted root is configured");
		goto out;
	}

	/* intermediates: those supplied (evidence, caller) first, then AMD's */
	if ((error = push_refs(inters, extra)) < 0 ||
	    (trust->builtin && (error = push_refs(inters, builtin_inters)) < 0))
		goto out;
	name_cn(cn, sizeof(cn), X509_get_issuer_name(vek));
	for (int i = 0; i < sk_X509_num(inters) && inter == NULL; i++) {
		X509 *cand = sk_X509_value(inters, i);
		char ccn[64];
		if (!signed_by(vek, cand))
			continue;
		name_cn(ccn, sizeof(ccn), X509_get_subject_name(cand));
		/* the VCEK's issuer is an ASK ("SEV-<gen>"), the VLEK's an ASVK
		 * ("SEV-VLEK-<gen>"): a key of the other kind never fits */
		if ((kind == SNP_VEK_VLEK) != (strncmp(ccn, "SEV-VLEK-", 9) == 0) ||
		    strncmp(ccn, "SEV-", 4) != 0)
			continue;
		/* ... and never the root itself (AMD's chains have exactly three links) */
		if (self_signed_ok(cand))
			continue;
		for (int j = 0; j < sk_X509_num(roots); j++) {
			X509 *r = sk_X509_value(roots, j);
			if (signed_by(cand, r) && self_signed_ok(r)) {
				inter = cand;
				root = r;
				root_kind = j < nbuiltin ? 0 : j < ndir ? 1 : 2;
				break;
			}
		}
		if (inter == NULL)
			inter_forged = true;
	}
	if (inter == NULL) {
		if (inter_forged)
			error = coffer_error_set(
			        COFFER_EVERIFY,
			        "SNP: the %s that signed the %s (issuer '%s') is not "
			        "signed by a trusted ARK (forged or unknown %s)",
			        iname, vname, cn, iname);
		else
			error = coffer_error_set(COFFER_EVERIFY,
			                         "SNP: the %s is not signed by any trusted %s "
			                         "(issuer '%s')",
			                         vname, iname, cn);
		goto out;
	}
	/* the generation named by the endorsement key's productName must be
	 * the one of the CAs it chains to (ASK "SEV-<gen>", ARK "ARK-<gen>") */
	name_cn(icn, sizeof(icn), X509_get_subject_name(inter));
	name_cn(rcn, sizeof(rcn), X509_get_subject_name(root));
	{
		const char *pn = coffer_snp_product_name(product);
		const char *ig = icn + (kind == SNP_VEK_VLEK ? 9 : 4);
		if (product == COFFER_SNP_PRODUCT_UNKNOWN || strncmp(rcn, "ARK-", 4) != 0 ||
		    strcmp(rcn + 4, pn) != 0 || strlen(icn) < 4 || strcmp(ig, pn) != 0) {
			error = coffer_error_set(COFFER_EVERIFY,
			                         "SNP: the %s is for product '%s' but chains to "
			                         "'%s' / '%s'",
			                         vname, pn, icn, rcn);
			goto out;
		}
	}
	if ((error = snp_cert_check_time(vek, vname, now)) < 0 ||
	    (error = snp_cert_check_time(inter, iname, now)) < 0 ||
	    (error = snp_cert_check_time(root, "ARK", now)) < 0)
		goto out;
	if ((error = check_crls(&crl_stale, inter, root, crls, iname,
	                        now ? now : (int64_t)time(NULL))) < 0 ||
	    (error = check_crls(&crl_stale, vek, inter, crls, vname,
	                        now ? now : (int64_t)time(NULL))) < 0)
		goto out;
	if (root_kind_out)
		*root_kind_out = root_kind;
	if (crl_stale_out)
		*crl_stale_out = crl_stale;
	error = 0;
out:
	sk_X509_pop_free(inters, X509_free);
	sk_X509_pop_free(roots, X509_free);
	ERR_clear_error();
	return error;
}

int snp_trust_digest(uint8_t out[32], const struct snp_trust *trust)
{
	STACK_OF(X509) *roots = sk_X509_new_null();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t tag[1] = { (uint8_t)trust->builtin };
	unsigned int n = 0;
	int error;

	if (roots == NULL || md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, tag, 1) != 1) {
		error = coffer_error_set_ssl(COFFER_ERROR, "SNP: hashing the trusted roots");
		goto out;
	}
	/* the files as they are now: a root removed from (or added to) the
	 * directory changes the digest on the very next verification */
	if ((error = roots_load(roots, trust, false, NULL, NULL)) < 0)
		goto out;
	for (int i = 0; i < sk_X509_num(roots); i++) {
		uint8_t *der = NULL;
		int dl = i2d_X509(sk_X509_value(roots, i), &der);
		uint8_t lenb[4];
		int ok;

		if (dl <= 0) {
			error = coffer_error_set_ssl(COFFER_ERROR, "SNP: encoding a root");
			goto out;
		}
		lenb[0] = (uint8_t)(dl >> 24);
		lenb[1] = (uint8_t)(dl >> 16);
		lenb[2] = (uint8_t)(dl >> 8);
		lenb[3] = (uint8_t)dl;
		ok = EVP_DigestUpdate(md, lenb, 4) == 1 &&
		     EVP_DigestUpdate(md, der, (size_t)dl) == 1;
		OPENSSL_free(der);
		if (!ok) {
			error = coffer_error_set_ssl(COFFER_ERROR,
			                             "SNP: hashing the trusted roots");
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(md, out, &n) != 1 || n != 32) {
		error = coffer_error_set_ssl(COFFER_ERROR, "SNP: hashing the trusted roots");
		goto out;
	}
	error = 0;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	sk_X509_pop_free(roots, X509_free);
	return error;
}

int snp_crl_check_issuer(X509_CRL *crl, const struct snp_trust *trust)
{
	STACK_OF(X509) *roots = sk_X509_new_null();
	int error;

	if (roots == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	if ((error = roots_load(roots, trust, trust->builtin, NULL, NULL)) < 0)
		goto out;
	error = coffer_error_set(COFFER_EVERIFY, "CRL: not signed by a trusted ARK");
	for (int i = 0; i < sk_X509_num(roots); i++) {
		X509 *r = sk_X509_value(roots, i);
		if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(r)) == 0 &&
		    X509_CRL_verify(crl, X509_get0_pubkey(r)) == 1) {
			coffer_error_clear();
			error = 0;
			break;
		}
	}
out:
	ERR_clear_error();
	sk_X509_pop_free(roots, X509_free);
	return error;
}
