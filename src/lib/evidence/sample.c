/*
 * The `sample` TEE (PROTOCOL.md section 1): no hardware, no signature. It
 * exists for development only; the broker refuses it unless configured.
 * Evidence: {"svn":"1","report_data":"<base64 std>"}.
 */
#include <stdlib.h>
#include <string.h>

#include "coffer/buf.h"
#include "coffer/codec.h"
#include "coffer/evidence.h"
#include "evidence/verifiers.h"

#define SAMPLE_REPORT_DATA_MAX 64

static int sample_verify(json_t **claims_out, const json_t *ev, const coffer_verify_params *p)
{
	const char *svn, *rd_b64;
	uint8_t *rd = NULL;
	size_t rd_len = 0;
	json_t *claims = NULL, *pv;
	char *hex = NULL;
	int error;

	if (!json_is_object(ev))
		return coffer_error_set(COFFER_EINVAL, "sample evidence: not a JSON object");
	svn = json_string_value(json_object_get(ev, "svn"));
	rd_b64 = json_string_value(json_object_get(ev, "report_data"));
	if (svn == NULL || rd_b64 == NULL)
		return coffer_error_set(
		        COFFER_EINVAL, "sample evidence: 'svn' and 'report_data' strings required");
	if ((error = coffer_base64_decode(&rd, &rd_len, rd_b64, strlen(rd_b64), COFFER_B64_STD)) <
	    0)
		return coffer_error_wrap(error, "sample evidence: report_data");
	if (rd_len > SAMPLE_REPORT_DATA_MAX) {
		error = coffer_error_set(COFFER_EINVAL, "sample evidence: report_data of %zu bytes",
		                         rd_len);
		goto out;
	}
	/* sample compares the exact bytes (PROTOCOL.md section 1, Binding) */
	if (p->report_data &&
	    (rd_len != p->report_data_len || !coffer_ct_equal(rd, p->report_data, rd_len))) {
		error = coffer_error_set(COFFER_EVERIFY,
		                         "sample evidence: report_data does not match the "
		                         "nonce and tee-pubkey binding");
		goto out;
	}
	if ((error = coffer_hex_encode(&hex, rd, rd_len)) < 0)
		goto out;
	claims = json_object();
	pv = json_pack("{s:i,s:i}", "major", 0, "minor", 0);
	if (claims == NULL || pv == NULL ||
	    json_object_set_new(claims, "svn", json_string(svn)) < 0 ||
	    json_object_set_new(claims, "report_data", json_string(hex)) < 0 ||
	    json_object_set_new(claims, "launch_digest", json_string("abcde")) < 0 ||
	    json_object_set_new(claims, "platform_version", pv) < 0 ||
	    json_object_set_new(claims, "debug", json_false()) < 0) {
		json_decref(pv);
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	/* sample has no hardware field for init-data: report the digest asserted
	 * by the session (the broker checked it against the TOML it was sent) */
	if (p->init_data_digest) {
		char *idh = NULL;
		if ((error = coffer_hex_encode(&idh, p->init_data_digest,
		                               p->init_data_digest_len)) < 0)
			goto out;
		error = json_object_set_new(claims, "init_data", json_string(idh));
		free(idh);
		if (error < 0) {
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			goto out;
		}
	}
	*claims_out = claims;
	claims = NULL;
	error = 0;
out:
	json_decref(claims);
	free(rd);
	free(hex);
	return error;
}

const coffer_verifier coffer_verifier_sample = { "sample", sample_verify };
