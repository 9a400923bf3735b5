/*
 * Claims (upstream trustee names, PROTOCOL.md section 1) and the owner checks
 * passed as `options` (docs/tdx.md).
 */
#include <stdlib.h>
#include <string.h>

#include "coffer/buf.h"
#include "coffer/codec.h"
#include "tdx/tdx_internal.h"

static int put_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
	char *h = NULL;
	int error;

	if ((error = coffer_hex_encode(&h, p, n)) < 0)
		return error;
	error = json_object_set_new(o, key, json_string(h)) < 0 ? COFFER_ENOMEM : 0;
	free(h);
	return error;
}

static int put(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v) < 0 ? COFFER_ENOMEM : 0;
}

static int tdx_body_claims(json_t *body, json_t *claims, const coffer_tdx_quote *q)
{
	static const struct {
		const char *name;
		size_t off, len;
	} f[] = {
		{ "tcb_svn", COFFER_TDX_OFF_TEE_TCB_SVN, 16 },
		{ "mr_seam", COFFER_TDX_OFF_MR_SEAM, 48 },
		{ "mrsigner_seam", COFFER_TDX_OFF_MRSIGNER_SEAM, 48 },
		{ "seam_attributes", COFFER_TDX_OFF_SEAM_ATTRIBUTES, 8 },
		{ "td_attributes", COFFER_TDX_OFF_TD_ATTRIBUTES, 8 },
		{ "xfam", COFFER_TDX_OFF_XFAM, 8 },
		{ "mr_td", COFFER_TDX_OFF_MR_TD, 48 },
		{ "mr_config_id", COFFER_TDX_OFF_MR_CONFIG_ID, 48 },
		{ "mr_owner", COFFER_TDX_OFF_MR_OWNER, 48 },
		{ "mr_owner_config", COFFER_TDX_OFF_MR_OWNER_CONFIG, 48 },
		{ "rtmr_0", COFFER_TDX_OFF_RTMR0, 48 },
		{ "rtmr_1", COFFER_TDX_OFF_RTMR0 + 48, 48 },
		{ "rtmr_2", COFFER_TDX_OFF_RTMR0 + 96, 48 },
		{ "rtmr_3", COFFER_TDX_OFF_RTMR0 + 144, 48 },
		{ "report_data", COFFER_TDX_OFF_REPORT_DATA, 64 },
		{ "tee_tcb_svn2", COFFER_TDX_OFF_TEE_TCB_SVN2, 16 },
		{ "mr_servicetd", COFFER_TDX_OFF_MR_SERVICETD, 48 },
	};
	const uint8_t *b = q->body;
	uint64_t attr = 0;
	json_t *ta;
	int error;

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i].off + f[i].len > q->body_len)
			continue;
		if ((error = put_hex(body, f[i].name, b + f[i].off, f[i].len)) < 0)
			return error;
	}
	for (int i = 7; i >= 0; i--)
		attr = (attr << 8) | b[COFFER_TDX_OFF_TD_ATTRIBUTES + i];
	/* TDX module ABI, TDINFO_STRUCT.ATTRIBUTES */
	ta = json_pack("{s:b,s:b,s:b,s:b,s:b}", "debug", (int)(attr & 1), "septve_disable",
	               (int)((attr >> 28) & 1), "protection_keys", (int)((attr >> 30) & 1),
	               "key_locker", (int)((attr >> 31) & 1), "perfmon", (int)((attr >> 63) & 1));
	if (ta == NULL || put(claims, "td_attributes", ta) < 0)
		return COFFER_ENOMEM;
	if ((error = put_hex(claims, "report_data", b + COFFER_TDX_OFF_REPORT_DATA, 64)) < 0 ||
	    (error = put_hex(claims, "init_data", b + COFFER_TDX_OFF_MR_CONFIG_ID, 48)) < 0)
		return error;
	return 0;
}

static int sgx_body_claims(json_t *body, json_t *claims, const coffer_tdx_quote *q)
{
	static const struct {
		const char *name;
		size_t off, len;
	} f[] = {
		{ "cpu_svn", COFFER_SGX_OFF_CPU_SVN, 16 },
		{ "misc_select", COFFER_SGX_OFF_MISC_SELECT, 4 },
		{ "isv_ext_prod_id", 32, 16 },
		{ "attributes", COFFER_SGX_OFF_ATTRIBUTES, 16 },
		{ "mr_enclave", COFFER_SGX_OFF_MR_ENCLAVE, 32 },
		{ "mr_signer", COFFER_SGX_OFF_MR_SIGNER, 32 },
		{ "config_id", COFFER_SGX_OFF_CONFIG_ID, 64 },
		{ "isv_prod_id", COFFER_SGX_OFF_ISV_PROD_ID, 2 },
		{ "isv_svn", COFFER_SGX_OFF_ISV_SVN, 2 },
		{ "config_svn", 260, 2 },
		{ "isv_family_id", 304, 16 },
		{ "report_data", COFFER_SGX_OFF_REPORT_DATA, 64 },
	};
	const uint8_t *b = q->body;
	int error;

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if ((error = put_hex(body, f[i].name, b + f[i].off, f[i].len)) < 0)
			return error;
	if ((error = put_hex(claims, "mr_enclave", b + COFFER_SGX_OFF_MR_ENCLAVE, 32)) < 0 ||
	    (error = put_hex(claims, "mr_signer", b + COFFER_SGX_OFF_MR_SIGNER, 32)) < 0 ||
	    (error = put_hex(claims, "report_data", b + COFFER_SGX_OFF_REPORT_DATA, 64)) < 0 ||
	    (error = put_hex(claims, "init_data", b + COFFER_SGX_OFF_CONFIG_ID, 64)) < 0)
		return error;
	if (put(claims, "isv_prod_id",
	        json_integer(coffer_tdx_le16(b + COFFER_SGX_OFF_ISV_PROD_ID))) < 0 ||
	    put(claims, "isv_svn", json_integer(coffer_tdx_le16(b + COFFER_SGX_OFF_ISV_SVN))) < 0 ||
	    put(claims, "debug", json_boolean(b[COFFER_SGX_OFF_ATTRIBUTES] & 0x02)) < 0)
		return COFFER_ENOMEM;
	return 0;
}

int coffer_tdx_result_claims(json_t **out, const coffer_tdx_result *r)
{
	const coffer_tdx_quote *q = &r->quote;
	json_t *claims = json_object(), *quote = json_object(), *hdr = json_object(),
	       *body = json_object(), *pck = json_object();
	uint8_t rev[16];
	int error = COFFER_ENOMEM;

	if (claims == NULL || quote == NULL || hdr == NULL || body == NULL || pck == NULL)
		goto out;
	if ((error = put_hex(hdr, "version", q->header, 2)) < 0 ||
	    (error = put_hex(hdr, "att_key_type", q->header + 2, 2)) < 0 ||
	    (error = put_hex(hdr, "tee_type", q->header + 4, 4)) < 0 ||
	    (error = put_hex(hdr, "reserved", q->header + 8, 4)) < 0 ||
	    (error = put_hex(hdr, "vendor_id", q->header + 12, 16)) < 0 ||
	    (error = put_hex(hdr, "user_data", q->header + 28, 20)) < 0)
		goto out;
	if (q->body_type == COFFER_TDX_BODY_SGX)
		error = sgx_body_claims(body, claims, q);
	else
		error = tdx_body_claims(body, claims, q);
	if (error < 0)
		goto out;
	error = COFFER_ENOMEM;
	if (put(quote, "header", hdr) < 0)
		goto out_h;
	hdr = NULL;
	if (put(quote, "body", body) < 0)
		goto out_h;
	body = NULL;
	if (put(claims, "quote", quote) < 0)
		goto out_h;
	quote = NULL;

	if ((error = put_hex(pck, "fmspc", r->pck.fmspc, 6)) < 0 ||
	    (error = put_hex(pck, "pceid", r->pck.pceid, 2)) < 0 ||
	    (error = put_hex(pck, "cpusvn", r->pck.cpusvn, 16)) < 0 ||
	    (error = put_hex(pck, "tcb_components", r->pck.comp_svn, 16)) < 0 ||
	    (error = put_hex(pck, "ppid", r->pck.ppid, 16)) < 0)
		goto out;
	error = COFFER_ENOMEM;
	if (put(pck, "pcesvn", json_integer(r->pck.pcesvn)) < 0 ||
	    put(pck, "sgx_type", json_integer(r->pck.sgx_type)) < 0 ||
	    put(pck, "ca", json_string(r->pck.platform_ca ? "platform" : "processor")) < 0 ||
	    put(claims, "pck", pck) < 0)
		goto out_h;
	pck = NULL;
	if (r->pck.has_platform_instance_id) {
		/* trustee prints it byte-reversed (vectors/tdx/README.md) */
		for (int i = 0; i < 16; i++)
			rev[i] = r->pck.platform_instance_id[15 - i];
		if ((error = put_hex(claims, "platform_instance_id", rev, 16)) < 0)
			goto out;
		error = COFFER_ENOMEM;
	}
	if ((error = put_hex(claims, "fmspc", r->pck.fmspc, 6)) < 0)
		goto out;
	error = COFFER_ENOMEM;
	if (put(claims, "tcb_status", json_string(coffer_tdx_tcb_status_name(r->tcb_status))) < 0 ||
	    put(claims, "advisory_ids",
	        r->advisory_ids ? json_deep_copy(r->advisory_ids) : json_array()) < 0 ||
	    put(claims, "collateral_expiration_status",
	        json_string(r->collateral_expired ? "1" : "0")) < 0 ||
	    put(claims, "root", json_string(r->root ? r->root : "unknown")) < 0)
		goto out_h;
	if (r->has_collateral) {
		json_t *tcb =
		        json_pack("{s:s,s:s,s:s,s:s,s:I,s:b}", "platform_status",
		                  coffer_tdx_tcb_status_name(r->platform_status), "qe_status",
		                  coffer_tdx_tcb_status_name(r->qe_status), "module_status",
		                  coffer_tdx_tcb_status_name(r->module_status), "tcb_date",
		                  r->tcb_date, "tcb_eval_number", (json_int_t)r->tcb_eval_number,
		                  "signer_cert_expired", (int)r->signer_cert_expired);
		if (tcb == NULL || put(claims, "tcb", tcb) < 0)
			goto out_h;
	}
	*out = claims;
	claims = NULL;
	error = 0;
	goto out;
out_h:
	error = COFFER_ENOMEM;
out:
	json_decref(claims);
	json_decref(quote);
	json_decref(hdr);
	json_decref(body);
	json_decref(pck);
	if (error == COFFER_ENOMEM)
		coffer_error_set(error, "tdx claims: out of memory");
	return error;
}

/* --- owner checks ---------------------------------------------------------- */

/* `allowed` is a hex string or an array of them; does `v` equal one? */
static int match_any(bool *hit, const json_t *allowed, const uint8_t *v, size_t n, const char *key)
{
	size_t i;
	json_t *e;
	json_t *one = NULL;

	*hit = false;
	if (json_is_string(allowed)) {
		one = json_array();
		if (one == NULL || json_array_append(one, (json_t *)allowed) < 0) {
			json_decref(one);
			return COFFER_ENOMEM;
		}
		allowed = one;
	}
	if (!json_is_array(allowed)) {
		json_decref(one);
		return coffer_error_set(COFFER_EINVAL,
		                        "tdx options: '%s' must be a hex string or a list of them",
		                        key);
	}
	json_array_foreach(allowed, i, e)
	{
		const char *s = json_string_value(e);
		uint8_t *b = NULL;
		size_t bl = 0;

		if (s == NULL || coffer_hex_decode(&b, &bl, s, strlen(s)) < 0 || bl != n) {
			free(b);
			json_decref(one);
			return coffer_error_set(COFFER_EINVAL,
			                        "tdx options: '%s' entries must be %zu hex bytes",
			                        key, n);
		}
		if (coffer_ct_equal(b, v, n))
			*hit = true;
		free(b);
	}
	json_decref(one);
	return 0;
}

static int check_list(const json_t *opts, const char *key, const uint8_t *v, size_t n,
                      const char *what)
{
	json_t *a = json_object_get(opts, key);
	bool hit;
	int error;

	if (a == NULL)
		return 0;
	if ((error = match_any(&hit, a, v, n, key)) < 0)
		return error;
	if (!hit)
		return coffer_error_set(COFFER_EDENIED, "tdx: %s is not in the allowed list '%s'",
		                        what, key);
	return 0;
}

static int opt_bool(bool *out, const json_t *opts, const char *key, bool def)
{
	json_t *v = json_object_get(opts, key);

	*out = def;
	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return coffer_error_set(COFFER_EINVAL, "tdx options: '%s' must be a boolean", key);
	*out = json_is_true(v);
	return 0;
}

int coffer_tdx_check_options(const coffer_tdx_result *r, const json_t *opts)
{
	static const char *const known[] = {
		"allow_debug",
		"min_tcb_status",
		"mr_td",
		"rtmr",
		"mr_config_id",
		"mr_seam",
		"allowed_fmspc",
		"allowed_ppid",
		"allowed_platform_instance_id",
		"reject_expired_collateral",
		"reject_expired_signer",
		"mr_enclave",
		"mr_signer",
		"isv_prod_id",
		"min_isv_svn",
		NULL,
	};
	const coffer_tdx_quote *q = &r->quote;
	bool sgx = q->body_type == COFFER_TDX_BODY_SGX;
	bool allow_debug, rej_exp, rej_signer, debug;
	const char *key;
	json_t *v;
	int error;

	if (opts == NULL)
		opts = json_object(); /* defaults: debug refused */
	else
		json_incref((json_t *)opts);
	if (!json_is_object(opts)) {
		error = coffer_error_set(COFFER_EINVAL, "tdx options: not a JSON object");
		goto out;
	}
	json_object_foreach((json_t *)opts, key, v)
	{
		bool ok = false;
		for (size_t i = 0; known[i] && !ok; i++)
			ok = strcmp(known[i], key) == 0;
		if (!ok) {
			error = coffer_error_set(COFFER_EINVAL, "tdx options: unknown key '%s'",
			                         key);
			goto out;
		}
	}
	/* a check that does not apply to this kind of quote would be skipped:
	 * refuse it like an unknown key (the owner meant to pin something) */
	{
		static const char *const sgx_only[] = { "mr_enclave", "mr_signer", "isv_prod_id",
			                                "min_isv_svn", NULL };
		static const char *const td_only[] = { "mr_td", "rtmr", "mr_config_id", "mr_seam",
			                               NULL };
		const char *const *other = sgx ? td_only : sgx_only;
		for (size_t i = 0; other[i]; i++) {
			if (json_object_get(opts, other[i]) != NULL) {
				error = coffer_error_set(
				        COFFER_EINVAL,
				        "tdx options: '%s' applies to %s quotes only, "
				        "not to this %s quote",
				        other[i], sgx ? "TDX" : "SGX", sgx ? "SGX" : "TDX");
				goto out;
			}
		}
	}
	if ((error = opt_bool(&allow_debug, opts, "allow_debug", false)) < 0 ||
	    (error = opt_bool(&rej_exp, opts, "reject_expired_collateral", false)) < 0 ||
	    (error = opt_bool(&rej_signer, opts, "reject_expired_signer", false)) < 0)
		goto out;
	debug = sgx ? (q->body[COFFER_SGX_OFF_ATTRIBUTES] & 0x02) != 0
	            : (q->body[COFFER_TDX_OFF_TD_ATTRIBUTES] & 0x01) != 0;
	if (debug && !allow_debug) {
		error = coffer_error_set(COFFER_EDENIED,
		                         "tdx: debug %s refused (td_attributes.debug "
		                         "set)",
		                         sgx ? "enclave" : "TD");
		goto out;
	}
	if ((v = json_object_get(opts, "min_tcb_status")) != NULL) {
		coffer_tdx_tcb_status min;
		if (!json_is_string(v) ||
		    coffer_tdx_tcb_status_parse(&min, json_string_value(v)) < 0) {
			error = coffer_error_set(
			        COFFER_EINVAL, "tdx options: min_tcb_status must be a TCB status");
			goto out;
		}
		if (!coffer_tdx_tcb_status_meets(r->tcb_status, min)) {
			error = coffer_error_set(
			        COFFER_EDENIED, "tdx: TCB status %s does not meet the minimum %s%s",
			        coffer_tdx_tcb_status_name(r->tcb_status), json_string_value(v),
			        r->has_collateral ? ""
			                          : " (no collateral for this "
			                            "platform)");
			goto out;
		}
	}
	if (rej_exp && r->collateral_expired) {
		error = coffer_error_set(COFFER_EDENIED, "tdx: collateral past its nextUpdate");
		goto out;
	}
	if (rej_signer && r->signer_cert_expired) {
		error = coffer_error_set(COFFER_EDENIED,
		                         "tdx: collateral signed after its signing certificate "
		                         "expired");
		goto out;
	}
	if ((error = check_list(opts, "allowed_fmspc", r->pck.fmspc, 6, "FMSPC")) < 0 ||
	    (error = check_list(opts, "allowed_ppid", r->pck.ppid, 16, "PPID")) < 0)
		goto out;
	if (json_object_get(opts, "allowed_platform_instance_id")) {
		if (!r->pck.has_platform_instance_id) {
			error = coffer_error_set(
			        COFFER_EDENIED,
			        "tdx: no platform instance id in the PCK certificate");
			goto out;
		}
		if ((error = check_list(opts, "allowed_platform_instance_id",
		                        r->pck.platform_instance_id, 16, "platform instance id")) <
		    0)
			goto out;
	}
	if (sgx) {
		const uint8_t *b = q->body;
		if ((error = check_list(opts, "mr_enclave", b + COFFER_SGX_OFF_MR_ENCLAVE, 32,
		                        "MRENCLAVE")) < 0 ||
		    (error = check_list(opts, "mr_signer", b + COFFER_SGX_OFF_MR_SIGNER, 32,
		                        "MRSIGNER")) < 0)
			goto out;
		if ((v = json_object_get(opts, "isv_prod_id")) != NULL &&
		    (!json_is_integer(v) ||
		     json_integer_value(v) != coffer_tdx_le16(b + COFFER_SGX_OFF_ISV_PROD_ID))) {
			error = coffer_error_set(COFFER_EDENIED, "tdx: ISVPRODID not allowed");
			goto out;
		}
		if ((v = json_object_get(opts, "min_isv_svn")) != NULL &&
		    (!json_is_integer(v) ||
		     json_integer_value(v) > coffer_tdx_le16(b + COFFER_SGX_OFF_ISV_SVN))) {
			error = coffer_error_set(COFFER_EDENIED, "tdx: ISVSVN below the minimum");
			goto out;
		}
	} else {
		const uint8_t *b = q->body;
		json_t *rt = json_object_get(opts, "rtmr");

		if ((error = check_list(opts, "mr_td", b + COFFER_TDX_OFF_MR_TD, 48, "MRTD")) < 0 ||
		    (error = check_list(opts, "mr_config_id", b + COFFER_TDX_OFF_MR_CONFIG_ID, 48,
		                        "MR_CONFIG_ID")) < 0 ||
		    (error = check_list(opts, "mr_seam", b + COFFER_TDX_OFF_MR_SEAM, 48,
		                        "MRSEAM")) < 0)
			goto out;
		if (rt != NULL) {
			const char *rk;
			json_t *rv;
			if (!json_is_object(rt)) {
				error = coffer_error_set(COFFER_EINVAL,
				                         "tdx options: 'rtmr' must be an object");
				goto out;
			}
			json_object_foreach(rt, rk, rv)
			{
				int idx = -1;
				bool hit;
				if (strlen(rk) == 1 && rk[0] >= '0' && rk[0] <= '3')
					idx = rk[0] - '0';
				else if (strlen(rk) == 6 && strncmp(rk, "rtmr_", 5) == 0 &&
				         rk[5] >= '0' && rk[5] <= '3')
					idx = rk[5] - '0';
				if (idx < 0) {
					error = coffer_error_set(
					        COFFER_EINVAL, "tdx options: rtmr key '%s' (0..3)",
					        rk);
					goto out;
				}
				if ((error = match_any(&hit, rv,
				                       b + COFFER_TDX_OFF_RTMR0 + 48 * idx, 48,
				                       "rtmr")) < 0)
					goto out;
				if (!hit) {
					error = coffer_error_set(
					        COFFER_EDENIED,
					        "tdx: RTMR%d is not an allowed value", idx);
					goto out;
				}
			}
		}
	}
	error = 0;
out:
	json_decref((json_t *)opts);
	return error;
}
