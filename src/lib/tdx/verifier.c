/*
 * The registry verifiers "tdx", "tdx-sim" and "sgx" (include/coffer/evidence.h):
 * evidence {"quote":"<base64 std>","cc_eventlog":"<base64 std>"|null}.
 *
 * A verification context (trust anchors, collateral, PCK chain cache) is kept
 * per configuration so that repeated verifications reuse the verified chains;
 * it is rebuilt when the collateral directory changes (its mtime).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "coffer/buf.h"
#include "coffer/codec.h"
#include "tdx/tdx_internal.h"

enum mode { MODE_TDX, MODE_TDX_SIM, MODE_SGX };

#define CTX_CACHE 4

static pthread_mutex_t glue_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char *key;
	coffer_tdx_ctx *ctx;
	uint64_t last;
} ctx_cache[CTX_CACHE];
static uint64_t glue_clock;

static void ctx_release(coffer_tdx_ctx *ctx)
{
	bool last;

	pthread_mutex_lock(&glue_lock);
	last = --ctx->refs == 0;
	pthread_mutex_unlock(&glue_lock);
	if (last)
		coffer_tdx_ctx_free(ctx);
}

static int ctx_get(coffer_tdx_ctx **out, enum mode m, const coffer_verify_params *p)
{
	coffer_tdx_ctx_options o = COFFER_TDX_CTX_OPTIONS_INIT;
	coffer_buf key = COFFER_BUF_INIT_MAX(16384);
	coffer_tdx_ctx *ctx = NULL;
	struct stat st;
	char cdir[4096];
	size_t slot = 0;
	int error;

	memset(&st, 0, sizeof(st));
	cdir[0] = 0;
	if (p->collateral_dir) {
		if ((error = coffer_tdx_collateral_dir(cdir, sizeof(cdir), p->collateral_dir)) < 0)
			goto out;
		(void)stat(cdir, &st);
	}
	if ((error = coffer_buf_printf(&key, "%d|%s|%s|%s|%lld.%ld", m == MODE_TDX_SIM,
	                               p->roots_dir ? p->roots_dir : "",
	                               p->sim_root ? p->sim_root : "", cdir,
	                               (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec)) < 0)
		goto out;
	/* a re-created simulated root or a changed roots directory: new context */
	if (p->sim_root && strncmp(p->sim_root, "-----BEGIN", 10) != 0 &&
	    stat(p->sim_root, &st) == 0 &&
	    (error = coffer_buf_printf(&key, "|%lld.%ld", (long long)st.st_mtim.tv_sec,
	                               (long)st.st_mtim.tv_nsec)) < 0)
		goto out;
	if (p->roots_dir && stat(p->roots_dir, &st) == 0 &&
	    (error = coffer_buf_printf(&key, "|%lld.%ld", (long long)st.st_mtim.tv_sec,
	                               (long)st.st_mtim.tv_nsec)) < 0)
		goto out;
	pthread_mutex_lock(&glue_lock);
	for (size_t i = 0; i < CTX_CACHE; i++) {
		if (ctx_cache[i].key && strcmp(ctx_cache[i].key, (char *)key.ptr) == 0) {
			ctx = ctx_cache[i].ctx;
			ctx->refs++;
			ctx_cache[i].last = ++glue_clock;
			break;
		}
	}
	pthread_mutex_unlock(&glue_lock);
	if (ctx != NULL) {
		*out = ctx;
		goto out;
	}
	o.no_intel_root = m == MODE_TDX_SIM;
	o.roots_dir = m == MODE_TDX_SIM ? NULL : p->roots_dir;
	o.sim_root = p->sim_root;
	o.collateral_dir = cdir[0] ? cdir : NULL;
	if ((error = coffer_tdx_ctx_new(&ctx, &o)) < 0)
		goto out;
	ctx->refs = 2; /* the cache and the caller */
	pthread_mutex_lock(&glue_lock);
	for (size_t i = 0; i < CTX_CACHE; i++) {
		if (ctx_cache[i].key == NULL) {
			slot = i;
			break;
		}
		if (ctx_cache[i].last < ctx_cache[slot].last)
			slot = i;
	}
	if (ctx_cache[slot].key) {
		coffer_tdx_ctx *old = ctx_cache[slot].ctx;
		free(ctx_cache[slot].key);
		if (--old->refs == 0)
			coffer_tdx_ctx_free(old);
	}
	ctx_cache[slot].key = (char *)coffer_buf_detach(&key, NULL);
	ctx_cache[slot].ctx = ctx;
	ctx_cache[slot].last = ++glue_clock;
	pthread_mutex_unlock(&glue_lock);
	*out = ctx;
out:
	coffer_buf_free(&key);
	return error;
}

static int b64_member(uint8_t **out, size_t *len, const json_t *ev, const char *key, size_t max)
{
	json_t *v = json_object_get(ev, key);
	const char *s = json_string_value(v);
	size_t sl;

	*out = NULL;
	*len = 0;
	if (v == NULL || json_is_null(v))
		return COFFER_ENOTFOUND;
	if (s == NULL)
		return coffer_error_set(COFFER_EINVAL, "tdx evidence: '%s' must be a base64 string",
		                        key);
	sl = strlen(s);
	if (sl / 4 * 3 > max)
		return coffer_error_set(COFFER_ELIMIT, "tdx evidence: '%s' too large", key);
	if (coffer_base64_decode(out, len, s, sl, COFFER_B64_STD) < 0)
		return coffer_error_wrap(COFFER_EINVAL, "tdx evidence: '%s'", key);
	return 0;
}

/* PROTOCOL.md section 1: the digest, zero-padded (or truncated) to the field. */
static bool field_matches(const uint8_t *field, size_t flen, const uint8_t *v, size_t vlen)
{
	uint8_t want[64];

	memset(want, 0, sizeof(want));
	memcpy(want, v, vlen < flen ? vlen : flen);
	return coffer_ct_equal(field, want, flen) == 1;
}

static int eventlog_check(json_t *claims, const coffer_tdx_result *r, const uint8_t *el,
                          size_t el_len)
{
	coffer_tdx_eventlog log = { NULL, 0 };
	uint8_t rtmr[4][48];
	json_t *ev = NULL;
	int error;

	if ((error = coffer_tdx_eventlog_parse(&log, el, el_len)) < 0)
		return error;
	if ((error = coffer_tdx_eventlog_replay(rtmr, &log)) < 0)
		goto out;
	for (int i = 0; i < 4; i++) {
		if (!coffer_ct_equal(rtmr[i], r->quote.body + COFFER_TDX_OFF_RTMR0 + 48 * i, 48)) {
			error = coffer_error_set(
			        COFFER_EVERIFY,
			        "tdx: event log replay gives another RTMR%d than the "
			        "quote",
			        i);
			goto out;
		}
	}
	if ((error = coffer_tdx_eventlog_claims(&ev, &log)) < 0)
		goto out;
	if (json_object_set_new(claims, "uefi_event_logs", ev) < 0) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	error = 0;
out:
	coffer_tdx_eventlog_clear(&log);
	return error;
}

static int verify_mode(json_t **claims_out, const json_t *ev, const coffer_verify_params *p,
                       enum mode m)
{
	coffer_tdx_ctx *ctx = NULL;
	coffer_tdx_result r;
	uint8_t *quote = NULL, *el = NULL;
	size_t qlen = 0, el_len = 0;
	json_t *claims = NULL;
	const uint8_t *rd, *cfg;
	size_t cfg_len;
	char fetch_error[512] = "";
	int error;

	memset(&r, 0, sizeof(r));
	if (!json_is_object(ev))
		return coffer_error_set(COFFER_EINVAL, "tdx evidence: not a JSON object");
	if (m == MODE_TDX_SIM && p->sim_root == NULL)
		return coffer_error_set(COFFER_EDENIED,
		                        "tdx-sim: no simulated root configured: simulated evidence "
		                        "is never trusted");
	error = b64_member(&quote, &qlen, ev, "quote", COFFER_TDX_QUOTE_MAX);
	if (error == COFFER_ENOTFOUND)
		error = coffer_error_set(COFFER_EINVAL, "tdx evidence: 'quote' missing");
	if (error < 0)
		goto out;
	error = b64_member(&el, &el_len, ev, "cc_eventlog", 64 * 1024 * 1024);
	if (error < 0 && error != COFFER_ENOTFOUND)
		goto out;
	if (p->pcs_url && p->collateral_dir) {
		unsigned fetched = 0;
		/* a deployment with a network: refresh the cache; a failure leaves
		 * the cache as it is (then tcb_status may be unknown) and is reported */
		if (coffer_tdx_pcs_refresh(&fetched, p->collateral_dir, p->pcs_url, quote, qlen,
		                           p) < 0)
			snprintf(fetch_error, sizeof(fetch_error), "%s", coffer_error_last());
	}
	if ((error = ctx_get(&ctx, m, p)) < 0)
		goto out;
	if ((error = coffer_tdx_verify(&r, ctx, quote, qlen, p->now)) < 0)
		goto out;
	if ((m == MODE_SGX) != (r.quote.body_type == COFFER_TDX_BODY_SGX)) {
		error = coffer_error_set(COFFER_EVERIFY, "%s evidence holds a%s quote",
		                         m == MODE_SGX ? "sgx" : "tdx",
		                         r.quote.body_type == COFFER_TDX_BODY_SGX ? "n SGX"
		                                                                  : " TDX");
		goto out;
	}
	if (m == MODE_TDX_SIM && strcmp(r.root, "sim") != 0) {
		error = coffer_error_set(COFFER_EVERIFY, "tdx-sim: quote does not chain to the "
		                                         "simulated root");
		goto out;
	}
	if (m == MODE_SGX) {
		rd = r.quote.body + COFFER_SGX_OFF_REPORT_DATA;
		cfg = r.quote.body + COFFER_SGX_OFF_CONFIG_ID;
		cfg_len = 64;
	} else {
		rd = r.quote.body + COFFER_TDX_OFF_REPORT_DATA;
		cfg = r.quote.body + COFFER_TDX_OFF_MR_CONFIG_ID;
		cfg_len = 48;
	}
	if (p->report_data && (p->report_data_len > 64 ||
	                       !field_matches(rd, 64, p->report_data, p->report_data_len))) {
		error = coffer_error_set(COFFER_EVERIFY,
		                         "tdx: REPORT_DATA does not match the nonce and tee-pubkey "
		                         "binding");
		goto out;
	}
	if (p->init_data_digest &&
	    !field_matches(cfg, cfg_len, p->init_data_digest, p->init_data_digest_len)) {
		error = coffer_error_set(COFFER_EVERIFY,
		                         "tdx: %s does not match the init-data digest",
		                         m == MODE_SGX ? "CONFIG_ID" : "MR_CONFIG_ID");
		goto out;
	}
	if ((error = coffer_tdx_check_options(&r, p->options)) < 0)
		goto out;
	if ((error = coffer_tdx_result_claims(&claims, &r)) < 0)
		goto out;
	if (fetch_error[0] &&
	    json_object_set_new(claims, "collateral_fetch_error", json_string(fetch_error)) < 0) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	if (el != NULL) {
		if (m == MODE_SGX) {
			error = coffer_error_set(COFFER_EINVAL,
			                         "sgx evidence: no event log expected");
			goto out;
		}
		if ((error = eventlog_check(claims, &r, el, el_len)) < 0)
			goto out;
	}
	*claims_out = claims;
	claims = NULL;
	error = 0;
out:
	json_decref(claims);
	coffer_tdx_result_clear(&r);
	if (ctx)
		ctx_release(ctx);
	free(quote);
	free(el);
	return error;
}

static int verify_tdx(json_t **claims, const json_t *ev, const coffer_verify_params *p)
{
	return verify_mode(claims, ev, p, MODE_TDX);
}

static int verify_tdx_sim(json_t **claims, const json_t *ev, const coffer_verify_params *p)
{
	return verify_mode(claims, ev, p, MODE_TDX_SIM);
}

static int verify_sgx(json_t **claims, const json_t *ev, const coffer_verify_params *p)
{
	return verify_mode(claims, ev, p, MODE_SGX);
}

const coffer_verifier coffer_verifier_tdx = { "tdx", verify_tdx };
const coffer_verifier coffer_verifier_tdx_sim = { "tdx-sim", verify_tdx_sim };
const coffer_verifier coffer_verifier_sgx = { "sgx", verify_sgx };
