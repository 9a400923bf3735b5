/*
 * The `snp` and `snp-sim` verifiers: evidence JSON (PROTOCOL.md section 1) ->
 * report, endorsement key (VCEK or VLEK) from the evidence's certificate table
 * or the collateral cache, chain to a trusted ARK, TCB and hwID against the
 * report, signature, REPORT_DATA and HOST_DATA binding, the owner's checks,
 * and the claims with the upstream names. docs/snp.md lists every check.
 */
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "coffer/buf.h"
#include "coffer/codec.h"
#include "coffer/file.h"
#include "coffer/snp.h"
#include "snp/snp_internal.h"

#define CACHE_SLOTS         64
#define CACHE_TTL_SECONDS   600
#define COLLATERAL_VLEK_MAX 64

/* ---- cache of endorsement keys whose chain verified ---- */

struct vek_cache_entry {
	bool used;
	uint8_t key[32]; /* SHA-256(DER || kind || SHA-256(trusted roots' content)) */
	EVP_PKEY *pkey;
	struct snp_vek_ext ext;
	int root_kind;
	int64_t not_before, not_after; /* the endorsement key's own window */
	time_t added;
};

static struct vek_cache_entry vek_cache[CACHE_SLOTS];
static unsigned vek_cache_next;
static pthread_mutex_t vek_cache_lock = PTHREAD_MUTEX_INITIALIZER;

void coffer_snp_cache_clear(void)
{
	pthread_mutex_lock(&vek_cache_lock);
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		EVP_PKEY_free(vek_cache[i].pkey);
		memset(&vek_cache[i], 0, sizeof(vek_cache[i]));
	}
	pthread_mutex_unlock(&vek_cache_lock);
}

static int cache_key(uint8_t out[32], const uint8_t *der, size_t len, const struct snp_trust *trust,
                     enum snp_vek_kind kind)
{
	EVP_MD_CTX *ctx;
	unsigned int n = 0;
	uint8_t tag[2] = { (uint8_t)trust->builtin, (uint8_t)kind }, roots[32];
	int error, ok;

	/* keyed on the roots' content, not on where they are configured */
	if ((error = snp_trust_digest(roots, trust)) < 0)
		return error;
	ctx = EVP_MD_CTX_new();
	ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, der, len) == 1 && EVP_DigestUpdate(ctx, tag, 2) == 1 &&
	     EVP_DigestUpdate(ctx, roots, sizeof(roots)) == 1 &&
	     EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == 32;

	EVP_MD_CTX_free(ctx);
	return ok ? 0 : coffer_error_set_ssl(COFFER_ERROR, "SNP: hashing");
}

/* A hit hands out a new reference to the key. */
static bool cache_get(const uint8_t key[32], int64_t now, EVP_PKEY **pkey, struct snp_vek_ext *ext,
                      int *root_kind)
{
	bool hit = false;
	time_t t = time(NULL);

	pthread_mutex_lock(&vek_cache_lock);
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		struct vek_cache_entry *e = &vek_cache[i];
		if (!e->used || CRYPTO_memcmp(e->key, key, 32) != 0)
			continue;
		if (t - e->added > CACHE_TTL_SECONDS) {
			EVP_PKEY_free(e->pkey);
			memset(e, 0, sizeof(*e));
			break;
		}
		/* outside the key's window: take the full path for the message */
		if (now < e->not_before || now > e->not_after || !EVP_PKEY_up_ref(e->pkey))
			break;
		*pkey = e->pkey;
		*ext = e->ext;
		*root_kind = e->root_kind;
		hit = true;
		break;
	}
	pthread_mutex_unlock(&vek_cache_lock);
	return hit;
}

static int64_t cert_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

static void cache_put(const uint8_t key[32], X509 *cert, EVP_PKEY *pkey,
                      const struct snp_vek_ext *ext, int root_kind)
{
	struct vek_cache_entry *e;

	/* The intermediate and the ARK outlive every endorsement key AMD issues;
	 * the cached window is the key's own, re-checked on every hit, and an
	 * entry lives at most CACHE_TTL_SECONDS. */
	if (!EVP_PKEY_up_ref(pkey))
		return;
	pthread_mutex_lock(&vek_cache_lock);
	e = &vek_cache[vek_cache_next++ % CACHE_SLOTS];
	EVP_PKEY_free(e->pkey);
	e->used = true;
	memcpy(e->key, key, 32);
	e->pkey = pkey;
	e->ext = *ext;
	e->root_kind = root_kind;
	e->not_before = cert_time(X509_get0_notBefore(cert));
	e->not_after = cert_time(X509_get0_notAfter(cert));
	e->added = time(NULL);
	pthread_mutex_unlock(&vek_cache_lock);
}

/* ---- one verification ---- */

struct snp_run {
	const coffer_verify_params *p;
	struct snp_trust trust;
	int64_t now;
	coffer_snp_report *r;
	STACK_OF(X509) * extra;
	STACK_OF(X509_CRL) * crls;
	/* endorsement key from the evidence (DER), one of each kind */
	uint8_t *vek_der[2];
	size_t vek_len[2];
	/* result */
	struct snp_vek_ext ext;
	int root_kind;
	bool crl_stale; /* an applied CRL is past its nextUpdate */
};

static const char *vek_name(enum snp_vek_kind k)
{
	return k == SNP_VEK_VLEK ? "VLEK" : "VCEK";
}

static int entry_bytes(uint8_t **out, size_t *len, const json_t *data)
{
	if (json_is_array(data)) {
		size_t n = json_array_size(data), i;
		const json_t *e;
		uint8_t *b;
		if (n == 0 || n > SNP_CERT_MAX)
			return coffer_error_set(COFFER_EINVAL,
			                        "SNP evidence: certificate of %zu bytes", n);
		if ((b = malloc(n)) == NULL)
			return coffer_error_set(COFFER_ENOMEM, "out of memory");
		json_array_foreach(data, i, e)
		{
			json_int_t x;
			if (!json_is_integer(e) || (x = json_integer_value(e)) < 0 || x > 255) {
				free(b);
				return coffer_error_set(
				        COFFER_EINVAL, "SNP evidence: certificate byte %zu invalid",
				        i);
			}
			b[i] = (uint8_t)x;
		}
		*out = b;
		*len = n;
		return 0;
	}
	if (json_is_string(data)) {
		int error;
		if (json_string_length(data) > 2 * SNP_CERT_MAX)
			return coffer_error_set(COFFER_EINVAL,
			                        "SNP evidence: certificate too large");
		error = coffer_base64_decode(out, len, json_string_value(data),
		                             json_string_length(data), COFFER_B64_STD);
		return error < 0 ? coffer_error_wrap(error, "SNP evidence: certificate") : 0;
	}
	return coffer_error_set(COFFER_EINVAL, "SNP evidence: cert_chain 'data' is not bytes");
}

static int evidence_certs(struct snp_run *run, const json_t *ev)
{
	const json_t *chain = json_object_get(ev, "cert_chain"), *ent;
	size_t i;

	if (chain == NULL || json_is_null(chain))
		return 0;
	if (!json_is_array(chain))
		return coffer_error_set(COFFER_EINVAL, "SNP evidence: 'cert_chain' is not a list");
	if (json_array_size(chain) > SNP_CHAIN_ENTRIES)
		return coffer_error_set(COFFER_ELIMIT, "SNP evidence: 'cert_chain' has %zu entries",
		                        json_array_size(chain));
	json_array_foreach(chain, i, ent)
	{
		const char *type = json_string_value(json_object_get(ent, "cert_type"));
		uint8_t *der = NULL;
		size_t len = 0;
		int error, k = -1;

		if (!json_is_object(ent) || type == NULL)
			return coffer_error_set(COFFER_EINVAL,
			                        "SNP evidence: cert_chain[%zu] has no 'cert_type'",
			                        i);
		if (strcmp(type, "Empty") == 0)
			continue;
		if ((error = entry_bytes(&der, &len, json_object_get(ent, "data"))) < 0)
			return coffer_error_wrap(error, "cert_chain[%zu] (%s)", i, type);
		if (strcmp(type, "VCEK") == 0)
			k = SNP_VEK_VCEK;
		else if (strcmp(type, "VLEK") == 0)
			k = SNP_VEK_VLEK;
		if (k >= 0) {
			if (run->vek_der[k]) {
				free(der);
				return coffer_error_set(
				        COFFER_EINVAL,
				        "SNP evidence: more than one %s in cert_chain", type);
			}
			run->vek_der[k] = der;
			run->vek_len[k] = len;
			continue;
		}
		if (strcmp(type, "ASK") == 0 || strcmp(type, "ASVK") == 0 ||
		    strcmp(type, "ARK") == 0) {
			error = snp_load_objects(run->extra, NULL, der, len);
		} else if (strcmp(type, "CRL") == 0) {
			error = snp_load_objects(NULL, run->crls, der, len);
		} else {
			error = 0; /* other entries (OTHER GUIDs) carry nothing we use */
		}
		free(der);
		if (error < 0)
			return coffer_error_wrap(error, "cert_chain[%zu] (%s)", i, type);
	}
	return 0;
}

/* Check one endorsement key (DER) against the report; fills run->ext. */
static int eval_vek(struct snp_run *run, const uint8_t *der, size_t len, enum snp_vek_kind kind)
{
	coffer_snp_report *r = run->r;
	const char *vn = vek_name(kind);
	const unsigned char *p = der;
	X509 *cert = NULL;
	EVP_PKEY *pkey = NULL;
	struct snp_vek_ext ext;
	uint8_t key[32] = { 0 };
	int error, root_kind = -1;
	bool cacheable = sk_X509_CRL_num(run->crls) == 0, hit = false;

	if (cacheable) {
		if ((error = cache_key(key, der, len, &run->trust, kind)) < 0)
			return error;
		hit = cache_get(key, run->now, &pkey, &ext, &root_kind);
	}
	if (!hit) {
		bool known;
		cert = d2i_X509(NULL, &p, (long)len);
		if (cert == NULL || p != der + len) {
			error = coffer_error_set_ssl(COFFER_EINVAL,
			                             "SNP: the %s is not a DER "
			                             "certificate",
			                             vn);
			goto out;
		}
		if (snp_cert_vek_kind(cert, &known) != kind || !known) {
			error = coffer_error_set(COFFER_EVERIFY,
			                         "SNP: the report is signed by the %s but the "
			                         "certificate supplied is not a %s (CN)",
			                         vn, vn);
			goto out;
		}
		if ((error = snp_vek_ext_parse(&ext, cert)) < 0)
			goto out;
		if (ext.product == COFFER_SNP_PRODUCT_UNKNOWN) {
			error = coffer_error_set(COFFER_EVERIFY,
			                         "SNP: the %s names no known product ('%s')", vn,
			                         ext.product_name);
			goto out;
		}
		if ((error = snp_chain_verify(cert, kind, ext.product, run->extra, run->crls,
		                              &run->trust, run->now, &root_kind, &run->crl_stale)) <
		    0)
			goto out;
		if ((pkey = X509_get_pubkey(cert)) == NULL) {
			error = coffer_error_set_ssl(COFFER_EINVAL, "SNP: %s public key", vn);
			goto out;
		}
		if (cacheable)
			cache_put(key, cert, pkey, &ext, root_kind);
	}

	/* the product named by the certificate must be the report's CPU */
	if (r->product != COFFER_SNP_PRODUCT_UNKNOWN && r->product != ext.product) {
		error = coffer_error_set(COFFER_EVERIFY,
		                         "SNP: the %s is for %s but the report comes from a %s CPU "
		                         "(family %02xh model %02xh)",
		                         vn, coffer_snp_product_name(ext.product),
		                         coffer_snp_product_name(r->product), r->cpuid_fam_id,
		                         r->cpuid_mod_id);
		goto out;
	}
	if (r->product == COFFER_SNP_PRODUCT_UNKNOWN) {
		/* version 2 has no CPUID: the TCB layout is the certificate's */
		r->product = ext.product;
		coffer_snp_tcb_decode(&r->current_tcb, r->current_tcb.raw, r->product);
		coffer_snp_tcb_decode(&r->reported_tcb, r->reported_tcb.raw, r->product);
		coffer_snp_tcb_decode(&r->committed_tcb, r->committed_tcb.raw, r->product);
		coffer_snp_tcb_decode(&r->launch_tcb, r->launch_tcb.raw, r->product);
	}
	/* the key is derived from the reported TCB: the certificate's SPL
	 * extensions must be exactly that TCB (a VCEK of another TCB is a
	 * different key; one that claims a newer TCB would hide a rollback) */
	if (!ext.has_bl || !ext.has_tee || !ext.has_snp || !ext.has_ucode ||
	    (ext.product == COFFER_SNP_PRODUCT_TURIN && !ext.has_fmc)) {
		error = coffer_error_set(COFFER_EVERIFY, "SNP: the %s lacks TCB extensions", vn);
		goto out;
	}
	if (ext.bl != r->reported_tcb.bootloader || ext.tee != r->reported_tcb.tee ||
	    ext.snp != r->reported_tcb.snp || ext.ucode != r->reported_tcb.microcode ||
	    (ext.has_fmc && ext.fmc != r->reported_tcb.fmc)) {
		error = coffer_error_set(
		        COFFER_EVERIFY,
		        "SNP: the %s TCB (bootloader %u tee %u snp %u microcode %u) "
		        "differs from the report's reported TCB (bootloader %u tee "
		        "%u snp %u microcode %u)",
		        vn, ext.bl, ext.tee, ext.snp, ext.ucode, r->reported_tcb.bootloader,
		        r->reported_tcb.tee, r->reported_tcb.snp, r->reported_tcb.microcode);
		goto out;
	}
	if (kind == SNP_VEK_VCEK) {
		/* hwID is the chip id (Turin: its first 8 bytes) */
		if (!ext.has_hwid) {
			error = coffer_error_set(COFFER_EVERIFY, "SNP: the VCEK has no hwID");
			goto out;
		}
		if ((ext.hwid_len == 8 && ext.product != COFFER_SNP_PRODUCT_TURIN) ||
		    CRYPTO_memcmp(ext.hwid, r->chip_id, ext.hwid_len) != 0) {
			error = coffer_error_set(
			        COFFER_EVERIFY,
			        r->mask_chip_key ? "SNP: the report masks its chip id "
			                           "(MASK_CHIP_KEY) and cannot match the VCEK"
			                         : "SNP: the VCEK's hwID is not the report's "
			                           "chip_id (a VCEK of another chip)");
			goto out;
		}
	}
	if ((error = snp_report_verify_pkey(r, pkey)) < 0)
		goto out;
	run->ext = ext;
	run->root_kind = root_kind;
	error = 0;
out:
	EVP_PKEY_free(pkey);
	X509_free(cert);
	return error;
}

static int hex_of(char *out, size_t outsz, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	if (outsz < 2 * n + 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
	return 0;
}

/* Endorsement key from the collateral cache: <dir>/snp/vcek/<hwid>-<tcb>.der,
 * or any <dir>/snp/vlek/ *.der that verifies. */
static int collateral_vek(struct snp_run *run, enum snp_vek_kind kind)
{
	const char *dir = run->p->collateral_dir;
	char path[PATH_MAX], hw[129], tcb[17];
	uint8_t tcbb[8];
	int error = COFFER_ENOTFOUND;

	for (int i = 0; i < 8; i++)
		tcbb[7 - i] = (uint8_t)(run->r->reported_tcb.raw >> (8 * i));
	hex_of(tcb, sizeof(tcb), tcbb, 8);
	if (kind == SNP_VEK_VCEK) {
		/* 64-byte hwID, then the Turin 8-byte form */
		for (int form = 0; form < 2; form++) {
			uint8_t *der = NULL;
			size_t len = 0;
			hex_of(hw, sizeof(hw), run->r->chip_id, form == 0 ? 64 : 8);
			if (snprintf(path, sizeof(path), "%s/snp/vcek/%s-%s.der", dir, hw, tcb) >=
			    (int)sizeof(path))
				return coffer_error_set(COFFER_EINVAL, "collateral path too long");
			if (coffer_file_read(&der, &len, path, SNP_CERT_MAX) < 0)
				continue;
			error = eval_vek(run, der, len, kind);
			free(der);
			return error;
		}
		coffer_error_clear();
		return COFFER_ENOTFOUND;
	}
	{
		struct dirent **ents = NULL;
		int n, tried = 0, last = COFFER_ENOTFOUND;
		if (snprintf(path, sizeof(path), "%s/snp/vlek", dir) >= (int)sizeof(path))
			return coffer_error_set(COFFER_EINVAL, "collateral path too long");
		n = scandir(path, &ents, NULL, alphasort);
		if (n < 0) {
			coffer_error_clear();
			return COFFER_ENOTFOUND;
		}
		for (int i = 0; i < n; i++) {
			char fp[PATH_MAX];
			uint8_t *der = NULL;
			size_t len = 0;
			size_t l = strlen(ents[i]->d_name);
			if (last != 0 && tried < COLLATERAL_VLEK_MAX && l > 4 &&
			    strcmp(ents[i]->d_name + l - 4, ".der") == 0 &&
			    snprintf(fp, sizeof(fp), "%s/%s", path, ents[i]->d_name) <
			            (int)sizeof(fp) &&
			    coffer_file_read(&der, &len, fp, SNP_CERT_MAX) == 0) {
				tried++;
				last = eval_vek(run, der, len, kind);
				free(der);
			}
			free(ents[i]);
		}
		free(ents);
		if (last == COFFER_ENOTFOUND)
			coffer_error_clear();
		return last;
	}
}

/* CRLs the operator added to the collateral cache (coffer collateral add). */
static int collateral_crls(struct snp_run *run)
{
	char path[PATH_MAX];
	struct dirent **ents = NULL;
	int n, used = 0, error = 0;

	if (snprintf(path, sizeof(path), "%s/snp/crl", run->p->collateral_dir) >= (int)sizeof(path))
		return coffer_error_set(COFFER_EINVAL, "collateral path too long");
	n = scandir(path, &ents, NULL, alphasort);
	if (n < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		char fp[PATH_MAX];
		size_t l = strlen(ents[i]->d_name);
		uint8_t *der = NULL;
		size_t len = 0;
		if (error == 0 && l > 4 && strcmp(ents[i]->d_name + l - 4, ".der") == 0) {
			if (++used > SNP_COLLATERAL_CRL_MAX)
				error = coffer_error_set(COFFER_ELIMIT,
				                         "collateral: too many CRLs");
			else if (snprintf(fp, sizeof(fp), "%s/%s", path, ents[i]->d_name) >=
			         (int)sizeof(fp))
				error = coffer_error_set(COFFER_EINVAL, "collateral path too long");
			else if ((error = coffer_file_read(&der, &len, fp, SNP_COLLATERAL_MAX)) ==
			         0) {
				error = snp_load_objects(NULL, run->crls, der, len);
				free(der);
			}
		}
		free(ents[i]);
	}
	free(ents);
	return error;
}

/* ---- owner checks (params->options) ---- */

static int hex_list_contains(bool *found, const json_t *list, const char *key, const uint8_t *v,
                             size_t n)
{
	size_t i;
	const json_t *e;
	char hex[129];

	*found = false;
	if (!json_is_array(list))
		return coffer_error_set(COFFER_EINVAL, "SNP option '%s' is not a list", key);
	hex_of(hex, sizeof(hex), v, n);
	json_array_foreach(list, i, e)
	{
		const char *s = json_string_value(e);
		if (s == NULL)
			return coffer_error_set(COFFER_EINVAL,
			                        "SNP option '%s'[%zu] is not a string", key, i);
		if (strlen(s) == 2 * n && strncasecmp(s, hex, 2 * n) == 0)
			*found = true;
	}
	return 0;
}

static int min_tcb_check(const json_t *min, const coffer_snp_report *r)
{
	static const char *const names[] = { "bootloader", "tee", "snp", "microcode", "fmc" };
	const uint8_t have[] = { r->reported_tcb.bootloader, r->reported_tcb.tee,
		                 r->reported_tcb.snp, r->reported_tcb.microcode,
		                 r->reported_tcb.fmc };
	const json_t *per = json_object_get(min, coffer_snp_product_name(r->product));
	const char *k;
	const json_t *v;

	if (!json_is_object(min))
		return coffer_error_set(COFFER_EINVAL, "SNP option 'min_tcb' is not an object");
	/* {"Milan": {...}, "Genoa": {...}} or one set for every product */
	if (json_is_object(per))
		min = per;
	json_object_foreach((json_t *)min, k, v)
	{
		size_t i;
		json_int_t want;
		if (json_is_object(v) &&
		    coffer_snp_product_from_name(k) != COFFER_SNP_PRODUCT_UNKNOWN)
			continue; /* another product's minimum */
		for (i = 0; i < 5; i++)
			if (strcmp(k, names[i]) == 0)
				break;
		if (i == 5 || !json_is_integer(v) || (want = json_integer_value(v)) < 0 ||
		    want > 255)
			return coffer_error_set(COFFER_EINVAL, "SNP option min_tcb.%s is invalid",
			                        k);
		if (i == 4 && r->product != COFFER_SNP_PRODUCT_TURIN)
			continue;
		if (have[i] < want)
			return coffer_error_set(COFFER_EDENIED,
			                        "SNP: reported TCB %s %u is below the minimum %d "
			                        "(firmware rollback refused)",
			                        k, have[i], (int)want);
	}
	return 0;
}

static int owner_checks(const coffer_snp_report *r, const json_t *opt)
{
	const char *k;
	const json_t *v;
	bool allow_debug = false, found;
	int error;

	if (opt != NULL && !json_is_object(opt))
		return coffer_error_set(COFFER_EINVAL, "SNP options: not an object");
	json_object_foreach((json_t *)opt, k, v)
	{
		if (strcmp(k, "allow_debug") == 0) {
			if (!json_is_boolean(v))
				return coffer_error_set(
				        COFFER_EINVAL, "SNP option 'allow_debug' is not a boolean");
			allow_debug = json_is_true(v);
		} else if (strcmp(k, "min_tcb") == 0) {
			if ((error = min_tcb_check(v, r)) < 0)
				return error;
		} else if (strcmp(k, "allowed_chip_ids") == 0) {
			if ((error = hex_list_contains(&found, v, k, r->chip_id, 64)) < 0)
				return error;
			if (!found)
				return coffer_error_set(COFFER_EDENIED,
				                        "SNP: chip_id is not in allowed_chip_ids");
		} else if (strcmp(k, "measurements") == 0) {
			if ((error = hex_list_contains(&found, v, k, r->measurement, 48)) < 0)
				return error;
			if (!found)
				return coffer_error_set(COFFER_EDENIED,
				                        "SNP: measurement is not in the allowed "
				                        "measurements");
		} else if (strcmp(k, "allowed_vmpl") == 0) {
			size_t i;
			const json_t *e;
			if (!json_is_array(v))
				return coffer_error_set(COFFER_EINVAL,
				                        "SNP option 'allowed_vmpl' is not a list");
			found = false;
			json_array_foreach(v, i, e)
			{
				if (!json_is_integer(e))
					return coffer_error_set(
					        COFFER_EINVAL, "SNP option 'allowed_vmpl'[%zu]", i);
				if (json_integer_value(e) == (json_int_t)r->vmpl)
					found = true;
			}
			if (!found)
				return coffer_error_set(COFFER_EDENIED,
				                        "SNP: VMPL %u is not in allowed_vmpl",
				                        r->vmpl);
		} else if (strcmp(k, "allowed_signing_keys") == 0) {
			size_t i;
			const json_t *e;
			const char *mine = r->signing_key == COFFER_SNP_KEY_VLEK ? "VLEK" : "VCEK";
			if (!json_is_array(v))
				return coffer_error_set(COFFER_EINVAL,
				                        "SNP option '%s' is not a list", k);
			found = false;
			json_array_foreach(v, i, e)
			{
				if (!json_is_string(e))
					return coffer_error_set(COFFER_EINVAL,
					                        "SNP option '%s'[%zu]", k, i);
				if (strcmp(json_string_value(e), mine) == 0)
					found = true;
			}
			if (!found)
				return coffer_error_set(
				        COFFER_EDENIED,
				        "SNP: reports signed by the %s are not allowed", mine);
		} else if (strcmp(k, "allow_migrate_ma") == 0) {
			if (!json_is_boolean(v))
				return coffer_error_set(COFFER_EINVAL, "SNP option '%s'", k);
			if (json_is_false(v) && (r->policy & COFFER_SNP_POLICY_MIGRATE_MA))
				return coffer_error_set(
				        COFFER_EDENIED,
				        "SNP: the guest policy allows a migration agent");
		} else {
			/* a misspelt check must not pass silently */
			return coffer_error_set(COFFER_EINVAL, "SNP options: unknown key '%s'", k);
		}
	}
	if ((r->policy & COFFER_SNP_POLICY_DEBUG) && !allow_debug)
		return coffer_error_set(
		        COFFER_EDENIED,
		        "SNP: the guest policy allows debugging (refused unless the "
		        "owner sets allow_debug)");
	return 0;
}

/* ---- claims ---- */

static int claims_build(json_t **out, const struct snp_run *run)
{
	const coffer_snp_report *r = run->r;
	json_t *c = json_object();
	char hex[129];
	int ok = c != NULL;

#define SET(k, v)       (ok = ok && json_object_set_new(c, (k), (v)) == 0)
#define SETHEX(k, p, n) (hex_of(hex, sizeof(hex), (p), (n)), SET((k), json_string(hex)))
	SETHEX("measurement", r->measurement, 48);
	SETHEX("report_data", r->report_data, 64);
	SETHEX("init_data", r->host_data, 32);
	SETHEX("chip_id", r->chip_id, 64);
	SET("policy_debug_allowed", json_boolean(r->policy & COFFER_SNP_POLICY_DEBUG));
	SET("policy_migrate_ma", json_boolean(r->policy & COFFER_SNP_POLICY_MIGRATE_MA));
	SET("policy_smt_allowed", json_boolean(r->policy & COFFER_SNP_POLICY_SMT));
	SET("policy_single_socket", json_boolean(r->policy & COFFER_SNP_POLICY_SINGLE_SOCKET));
	SET("policy_abi_major", json_integer((r->policy >> 8) & 0xff));
	SET("policy_abi_minor", json_integer(r->policy & 0xff));
	SET("reported_tcb_bootloader", json_integer(r->reported_tcb.bootloader));
	SET("reported_tcb_tee", json_integer(r->reported_tcb.tee));
	SET("reported_tcb_snp", json_integer(r->reported_tcb.snp));
	SET("reported_tcb_microcode", json_integer(r->reported_tcb.microcode));
	if (r->product == COFFER_SNP_PRODUCT_TURIN)
		SET("reported_tcb_fmc", json_integer(r->reported_tcb.fmc));
	SET("platform_tsme_enabled", json_boolean(r->platform_info & COFFER_SNP_PLATFORM_TSME_EN));
	SET("platform_smt_enabled", json_boolean(r->platform_info & COFFER_SNP_PLATFORM_SMT_EN));
	/* Coffer's additions */
	SET("report_version", json_integer(r->version));
	SET("vmpl", json_integer(r->vmpl));
	SET("guest_svn", json_integer(r->guest_svn));
	SET("policy", json_integer((json_int_t)r->policy));
	SET("platform_info", json_integer((json_int_t)r->platform_info));
	SETHEX("family_id", r->family_id, 16);
	SETHEX("image_id", r->image_id, 16);
	SETHEX("id_key_digest", r->id_key_digest, 48);
	SETHEX("author_key_digest", r->author_key_digest, 48);
	SETHEX("report_id", r->report_id, 32);
	SET("signing_key", json_string(r->signing_key == COFFER_SNP_KEY_VLEK ? "VLEK" : "VCEK"));
	SET("product", json_string(coffer_snp_product_name(r->product)));
	if (r->has_cpuid) {
		SET("cpuid_fam_id", json_integer(r->cpuid_fam_id));
		SET("cpuid_mod_id", json_integer(r->cpuid_mod_id));
		SET("cpuid_step", json_integer(r->cpuid_step));
	}
	if (r->has_mit_vector) {
		SET("launch_mit_vector", json_integer((json_int_t)r->launch_mit_vector));
		SET("current_mit_vector", json_integer((json_int_t)r->current_mit_vector));
	}
	SET("simulated", json_boolean(run->root_kind == 2));
	/* a CRL that was applied is past its nextUpdate: still honoured (it
	 * can only add revocations), but newer revocations may be missing */
	SET("crl_stale", json_boolean(run->crl_stale));
	/* which anchor the chain ended at: AMD's built-in ARKs, one from the
	 * operator's roots directory, or the configured simulator root */
	SET("root", json_string(run->root_kind == 0   ? "amd"
	                        : run->root_kind == 1 ? "configured"
	                                              : "sim"));
#undef SET
#undef SETHEX
	if (!ok) {
		json_decref(c);
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	*out = c;
	return 0;
}

static int snp_verify_common(json_t **claims_out, const json_t *ev, const coffer_verify_params *p,
                             bool sim)
{
	struct snp_run run;
	int error;
	enum snp_vek_kind kind;

	*claims_out = NULL;
	memset(&run, 0, sizeof(run));
	run.p = p;
	run.root_kind = -1;
	run.now = p->now ? p->now : (int64_t)time(NULL);
	if (sim) {
		if (p->sim_root == NULL)
			return coffer_error_set(COFFER_EVERIFY,
			                        "snp-sim: no simulated root is configured");
		run.trust.builtin = false;
		run.trust.sim_root = p->sim_root;
	} else {
		run.trust.builtin = true;
		run.trust.roots_dir = p->roots_dir;
		run.trust.sim_root = p->sim_root;
	}
	if ((error = coffer_snp_evidence_report(&run.r, ev)) < 0)
		return error;
	run.extra = sk_X509_new_null();
	run.crls = sk_X509_CRL_new_null();
	if (run.extra == NULL || run.crls == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	if ((error = evidence_certs(&run, ev)) < 0)
		goto out;
	if (p->collateral_dir && (error = collateral_crls(&run)) < 0)
		goto out;

	kind = run.r->signing_key == COFFER_SNP_KEY_VLEK ? SNP_VEK_VLEK : SNP_VEK_VCEK;
	if (run.vek_der[kind]) {
		error = eval_vek(&run, run.vek_der[kind], run.vek_len[kind], kind);
	} else if (p->collateral_dir) {
		error = collateral_vek(&run, kind);
		if (error == COFFER_ENOTFOUND)
			error = coffer_error_set(COFFER_EVERIFY,
			                         "SNP: no %s certificate for this report in the "
			                         "evidence or the collateral cache",
			                         vek_name(kind));
	} else {
		error = coffer_error_set(
		        COFFER_EVERIFY,
		        "SNP: the report is signed by the %s but no %s certificate "
		        "was supplied (cert_chain, --vcek or collateral)",
		        vek_name(kind), vek_name(kind));
	}
	if (error < 0)
		goto out;

	/* binding: REPORT_DATA zero-padded to 64 bytes and compared in full;
	 * HOST_DATA against the init-data digest, truncated or zero-padded to 32 */
	if (p->report_data) {
		uint8_t want[64] = { 0 };
		if (p->report_data_len > 64) {
			error = coffer_error_set(COFFER_EINVAL,
			                         "SNP: expected report_data of %zu "
			                         "bytes (at most 64)",
			                         p->report_data_len);
			goto out;
		}
		memcpy(want, p->report_data, p->report_data_len);
		if (!coffer_ct_equal(want, run.r->report_data, 64)) {
			error = coffer_error_set(
			        COFFER_EVERIFY,
			        "SNP: REPORT_DATA does not match the expected binding "
			        "(nonce and tee-pubkey)");
			goto out;
		}
	}
	if (p->init_data_digest) {
		uint8_t want[32] = { 0 };
		memcpy(want, p->init_data_digest,
		       p->init_data_digest_len < 32 ? p->init_data_digest_len : 32);
		if (!coffer_ct_equal(want, run.r->host_data, 32)) {
			error = coffer_error_set(
			        COFFER_EVERIFY,
			        "SNP: HOST_DATA does not match the init-data digest");
			goto out;
		}
	}
	if ((error = owner_checks(run.r, p->options)) < 0)
		goto out;
	error = claims_build(claims_out, &run);
out:
	free(run.vek_der[0]);
	free(run.vek_der[1]);
	sk_X509_pop_free(run.extra, X509_free);
	sk_X509_CRL_pop_free(run.crls, X509_CRL_free);
	coffer_snp_report_free(run.r);
	return error;
}

static int snp_verify(json_t **claims_out, const json_t *ev, const coffer_verify_params *p)
{
	return snp_verify_common(claims_out, ev, p, false);
}

static int snp_sim_verify(json_t **claims_out, const json_t *ev, const coffer_verify_params *p)
{
	return snp_verify_common(claims_out, ev, p, true);
}

const coffer_verifier coffer_verifier_snp = { "snp", snp_verify };
const coffer_verifier coffer_verifier_snp_sim = { "snp-sim", snp_sim_verify };
