/*
 * AMD Key Distribution Service: where a VCEK can be fetched for deployments
 * that have a KDS (or a caching proxy of it). The verifier itself never uses
 * the network (ARCHITECTURE.md: verifiers are pure); the caller brings the
 * HTTP transport, and what it fetches goes through coffer_snp_collateral_add,
 * so it is stored, and later used, only if it chains to a trusted ARK.
 *
 * VCEK URL (AMD "VCEK Certificate and KDS Interface Specification"):
 *   <base>/vcek/v1/<product>/<hwID hex>?blSPL=NN&teeSPL=NN&snpSPL=NN&ucodeSPL=NN
 * Turin: the hwID is the first 8 bytes of CHIP_ID and fmcSPL comes first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coffer/codec.h"
#include "snp/snp_internal.h"

#define KDS_URL_MAX 1024

int coffer_snp_kds_vcek_url(char **out, const char *base, const coffer_snp_report *r,
                            coffer_snp_product product)
{
	char *hw = NULL, *url;
	size_t bl;
	int n, error;

	*out = NULL;
	if (base == NULL || (strncmp(base, "https://", 8) != 0 && strncmp(base, "http://", 7) != 0))
		return coffer_error_set(COFFER_EINVAL, "KDS: base URL must be http(s)://");
	if (product == COFFER_SNP_PRODUCT_UNKNOWN)
		return coffer_error_set(COFFER_EINVAL, "KDS: unknown product");
	if (r->signing_key != COFFER_SNP_KEY_VCEK || r->mask_chip_key)
		return coffer_error_set(COFFER_EINVAL,
		                        "KDS: only VCEKs of reports with a chip id can be fetched");
	if ((error = coffer_hex_encode(&hw, r->chip_id,
	                               product == COFFER_SNP_PRODUCT_TURIN ? 8 : 64)) < 0)
		return error;
	bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	if ((url = malloc(KDS_URL_MAX)) == NULL) {
		free(hw);
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	{
		coffer_snp_tcb t;
		coffer_snp_tcb_decode(&t, r->reported_tcb.raw, product);
		if (product == COFFER_SNP_PRODUCT_TURIN)
			n = snprintf(
			        url, KDS_URL_MAX,
			        "%.*s/vcek/v1/%s/%s?fmcSPL=%02u&blSPL=%02u&teeSPL=%02u&snpSPL=%02u"
			        "&ucodeSPL=%02u",
			        (int)bl, base, coffer_snp_product_name(product), hw, t.fmc,
			        t.bootloader, t.tee, t.snp, t.microcode);
		else
			n = snprintf(url, KDS_URL_MAX,
			             "%.*s/vcek/v1/%s/"
			             "%s?blSPL=%02u&teeSPL=%02u&snpSPL=%02u&ucodeSPL=%02u",
			             (int)bl, base, coffer_snp_product_name(product), hw,
			             t.bootloader, t.tee, t.snp, t.microcode);
	}
	free(hw);
	if (n < 0 || n >= KDS_URL_MAX) {
		free(url);
		return coffer_error_set(COFFER_EINVAL, "KDS: URL too long");
	}
	*out = url;
	return 0;
}

static bool cached(const char *dir, const coffer_snp_report *r)
{
	char path[4096], *hw = NULL;
	bool found = false;

	/* the names coffer_snp_collateral_add gives (64-byte, then Turin 8-byte) */
	for (int form = 0; form < 2 && !found; form++) {
		if (coffer_hex_encode(&hw, r->chip_id, form == 0 ? 64 : 8) < 0)
			return false;
		if (snprintf(path, sizeof(path), "%s/snp/vcek/%s-%016llx.der", dir, hw,
		             (unsigned long long)r->reported_tcb.raw) < (int)sizeof(path))
			found = access(path, R_OK) == 0;
		free(hw);
		hw = NULL;
	}
	return found;
}

int coffer_snp_kds_prefetch(const char *dir, const char *base, const json_t *evidence,
                            const coffer_verify_params *p, coffer_snp_http_get get, void *arg)
{
	coffer_snp_report *r = NULL;
	const json_t *chain;
	coffer_snp_product tries[2];
	int ntries = 0, error;
	size_t i;
	const json_t *e;

	if (dir == NULL || get == NULL)
		return coffer_error_set(COFFER_EINVAL, "KDS: a collateral directory is needed");
	if ((error = coffer_snp_evidence_report(&r, evidence)) < 0)
		return error;
	/* nothing to do when the evidence carries its endorsement key */
	chain = json_object_get(evidence, "cert_chain");
	json_array_foreach(chain, i, e)
	{
		const char *t = json_string_value(json_object_get(e, "cert_type"));
		if (t && (strcmp(t, "VCEK") == 0 || strcmp(t, "VLEK") == 0)) {
			error = 0;
			goto out;
		}
	}
	if (r->signing_key != COFFER_SNP_KEY_VCEK || cached(dir, r)) {
		error = 0; /* VLEKs are not served by chip; the verifier says what is missing */
		goto out;
	}
	if (r->product != COFFER_SNP_PRODUCT_UNKNOWN) {
		tries[ntries++] = r->product;
	} else { /* version 2: no CPUID, and only Milan and Genoa made them */
		tries[ntries++] = COFFER_SNP_PRODUCT_MILAN;
		tries[ntries++] = COFFER_SNP_PRODUCT_GENOA;
	}
	error = COFFER_ENOTFOUND;
	for (int k = 0; k < ntries; k++) {
		char *url = NULL;
		uint8_t *der = NULL;
		size_t len = 0;
		unsigned stored = 0;
		if ((error = coffer_snp_kds_vcek_url(&url, base, r, tries[k])) < 0)
			goto out;
		error = get(&der, &len, url, SNP_CERT_MAX, arg);
		if (error < 0) {
			error = coffer_error_wrap(error, "KDS %s", url);
			free(url);
			continue;
		}
		free(url);
		error = coffer_snp_collateral_add(dir, der, len, p, &stored);
		free(der);
		if (error < 0)
			error = coffer_error_wrap(error, "KDS VCEK");
		goto out;
	}
	/* every product answered "no such VCEK": a failure of the service, the
	 * message (set by the transport) names the URL */
	if (error == COFFER_ENOTFOUND)
		error = COFFER_ENET;
out:
	coffer_snp_report_free(r);
	return error;
}
