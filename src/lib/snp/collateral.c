/*
 * The SEV-SNP collateral cache (PERSONAS.md: the infrastructure operator
 * supplies vendor-signed collateral that is verified before use). Anyone may
 * add a file; a certificate is stored only after it chains to a trusted ARK,
 * and the verifier checks it again on every use.
 *
 *   <dir>/snp/vcek/<hwID hex>-<reported TCB, 16 hex digits>.der
 *   <dir>/snp/vlek/<SHA-256 of the DER, hex>.der
 *   <dir>/snp/crl/<SHA-256 of the DER, hex>.der
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "coffer/codec.h"
#include "coffer/file.h"
#include "snp/snp_internal.h"

static int mkdirs(const char *dir, const char *sub)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/snp", dir) >= (int)sizeof(path))
		return coffer_error_set(COFFER_EINVAL, "collateral: path too long");
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return coffer_error_set(COFFER_EIO, "collateral: cannot create %s", dir);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return coffer_error_set(COFFER_EIO, "collateral: cannot create %s", path);
	if (snprintf(path, sizeof(path), "%s/snp/%s", dir, sub) >= (int)sizeof(path))
		return coffer_error_set(COFFER_EINVAL, "collateral: path too long");
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return coffer_error_set(COFFER_EIO, "collateral: cannot create %s", path);
	return 0;
}

static int sha256_hex(char out[65], const uint8_t *p, size_t n)
{
	uint8_t md[32];
	unsigned int ml = 0;
	char *hex = NULL;
	int error;

	if (EVP_Digest(p, n, md, &ml, EVP_sha256(), NULL) != 1 || ml != 32)
		return coffer_error_set_ssl(COFFER_ERROR, "collateral: hashing");
	if ((error = coffer_hex_encode(&hex, md, 32)) < 0)
		return error;
	memcpy(out, hex, 65);
	free(hex);
	return 0;
}

static int store(const char *dir, const char *sub, const char *name, const uint8_t *der, size_t len)
{
	char path[4096];
	int error;

	if ((error = mkdirs(dir, sub)) < 0)
		return error;
	if (snprintf(path, sizeof(path), "%s/snp/%s/%s.der", dir, sub, name) >= (int)sizeof(path))
		return coffer_error_set(COFFER_EINVAL, "collateral: path too long");
	return coffer_file_write(path, der, len, 0644);
}

static int add_vek(const char *dir, X509 *cert, STACK_OF(X509) * others, STACK_OF(X509_CRL) * crls,
                   const struct snp_trust *trust, int64_t now)
{
	struct snp_vek_ext ext;
	enum snp_vek_kind kind;
	bool known;
	unsigned char *der = NULL;
	int len, error;
	char name[256];

	kind = snp_cert_vek_kind(cert, &known);
	if (!known)
		return 1; /* not an endorsement key */
	if ((error = snp_vek_ext_parse(&ext, cert)) < 0)
		return error;
	if (ext.product == COFFER_SNP_PRODUCT_UNKNOWN)
		return coffer_error_set(COFFER_EVERIFY, "collateral: unknown product '%s'",
		                        ext.product_name);
	if ((error = snp_chain_verify(cert, kind, ext.product, others, crls, trust, now, NULL,
	                              NULL)) < 0)
		return error;
	if ((len = i2d_X509(cert, &der)) <= 0)
		return coffer_error_set_ssl(COFFER_ERROR, "collateral: encoding");
	if (kind == SNP_VEK_VCEK) {
		coffer_snp_tcb tcb = { 0 };
		char *hw = NULL;
		uint64_t raw;
		if (!ext.has_hwid || !ext.has_bl || !ext.has_tee || !ext.has_snp ||
		    !ext.has_ucode) {
			error = coffer_error_set(COFFER_EVERIFY,
			                         "collateral: VCEK without hwID or TCB extensions");
			goto out;
		}
		tcb.bootloader = ext.bl;
		tcb.tee = ext.tee;
		tcb.snp = ext.snp;
		tcb.microcode = ext.ucode;
		tcb.fmc = ext.fmc;
		raw = coffer_snp_tcb_encode(&tcb, ext.product);
		if ((error = coffer_hex_encode(&hw, ext.hwid, ext.hwid_len)) < 0)
			goto out;
		snprintf(name, sizeof(name), "%s-%016llx", hw, (unsigned long long)raw);
		free(hw);
		error = store(dir, "vcek", name, der, (size_t)len);
	} else {
		if ((error = sha256_hex(name, der, (size_t)len)) < 0)
			goto out;
		error = store(dir, "vlek", name, der, (size_t)len);
	}
out:
	OPENSSL_free(der);
	return error;
}

int coffer_snp_collateral_add(const char *dir, const uint8_t *data, size_t len,
                              const coffer_verify_params *p, unsigned *stored)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	struct snp_trust trust = { true, p ? p->roots_dir : NULL, p ? p->sim_root : NULL };
	int64_t now = p ? p->now : 0;
	unsigned n = 0;
	int error;

	if (stored)
		*stored = 0;
	if (certs == NULL || crls == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	if (dir == NULL) {
		error = coffer_error_set(COFFER_EINVAL, "collateral: no directory");
		goto out;
	}
	if ((error = snp_load_objects(certs, crls, data, len)) < 0)
		goto out;
	for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
		X509_CRL *crl = sk_X509_CRL_value(crls, i);
		unsigned char *der = NULL;
		int dl;
		char name[65];
		if ((error = snp_crl_check_issuer(crl, &trust)) < 0)
			goto out;
		if ((dl = i2d_X509_CRL(crl, &der)) <= 0) {
			error = coffer_error_set_ssl(COFFER_ERROR, "collateral: CRL encoding");
			goto out;
		}
		error = sha256_hex(name, der, (size_t)dl);
		if (error == 0)
			error = store(dir, "crl", name, der, (size_t)dl);
		OPENSSL_free(der);
		if (error < 0)
			goto out;
		n++;
	}
	for (int i = 0; i < sk_X509_num(certs); i++) {
		error = add_vek(dir, sk_X509_value(certs, i), certs, crls, &trust, now);
		if (error < 0)
			goto out;
		if (error == 0)
			n++;
	}
	if (n == 0) {
		error = coffer_error_set(COFFER_EINVAL,
		                         "collateral: no VCEK, VLEK or CRL in the file (ASK/ARK "
		                         "certificates are built in)");
		goto out;
	}
	error = 0;
out:
	if (stored)
		*stored = n;
	sk_X509_pop_free(certs, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return error;
}

static int chain_entry(json_t *chain, const char *type, const unsigned char *der, int len,
                       bool replace)
{
	json_t *data = snp_json_bytes(der, (size_t)len), *ent;
	size_t i;
	json_t *e;

	if (data == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	if (replace) {
		json_array_foreach(chain, i, e)
		{
			const char *t = json_string_value(json_object_get(e, "cert_type"));
			if (t && strcmp(t, type) == 0) {
				json_array_remove(chain, i);
				i--;
			}
		}
	}
	ent = json_pack("{s:s,s:o}", "cert_type", type, "data", data);
	if (ent == NULL || json_array_append_new(chain, ent) < 0)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	return 0;
}

int coffer_snp_evidence_add_certs(json_t *ev, const uint8_t *data, size_t len)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	json_t *chain;
	int error;

	if (certs == NULL || crls == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	if (!json_is_object(ev)) {
		error = coffer_error_set(COFFER_EINVAL, "SNP evidence: not a JSON object");
		goto out;
	}
	chain = json_object_get(ev, "cert_chain");
	if (!json_is_array(chain)) {
		chain = json_array();
		if (chain == NULL || json_object_set_new(ev, "cert_chain", chain) < 0) {
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			goto out;
		}
	}
	if ((error = snp_load_objects(certs, crls, data, len)) < 0)
		goto out;
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		unsigned char *der = NULL;
		char cn[64] = "";
		const char *type;
		bool replace = false;
		int dl;

		if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
		                              (int)sizeof(cn)) < 0)
			cn[0] = '\0';
		ERR_clear_error();
		if (strcmp(cn, "SEV-VCEK") == 0) {
			type = "VCEK";
			replace = true;
		} else if (strcmp(cn, "SEV-VLEK") == 0) {
			type = "VLEK";
			replace = true;
		} else if (strncmp(cn, "ARK-", 4) == 0) {
			type = "ARK";
		} else if (strncmp(cn, "SEV-VLEK-", 9) == 0) {
			type = "ASVK";
		} else if (strncmp(cn, "SEV-", 4) == 0) {
			type = "ASK";
		} else {
			error = coffer_error_set(COFFER_EINVAL,
			                         "certificate '%s' is not an AMD SEV certificate",
			                         cn);
			goto out;
		}
		if ((dl = i2d_X509(x, &der)) <= 0) {
			error = coffer_error_set_ssl(COFFER_ERROR, "certificate encoding");
			goto out;
		}
		error = chain_entry(chain, type, der, dl, replace);
		OPENSSL_free(der);
		if (error < 0)
			goto out;
	}
	for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
		unsigned char *der = NULL;
		int dl = i2d_X509_CRL(sk_X509_CRL_value(crls, i), &der);
		if (dl <= 0) {
			error = coffer_error_set_ssl(COFFER_ERROR, "CRL encoding");
			goto out;
		}
		error = chain_entry(chain, "CRL", der, dl, false);
		OPENSSL_free(der);
		if (error < 0)
			goto out;
	}
	error = 0;
out:
	sk_X509_pop_free(certs, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return error;
}
