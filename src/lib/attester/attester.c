/*
 * The attester interface: choose a TEE (by name or by detection) and turn a
 * REPORT_DATA value into the `primary_evidence` JSON the broker verifies
 * (PROTOCOL.md section 1, "Evidence shapes").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffer/attester.h"
#include "coffer/codec.h"
#include "coffer/file.h"
#include "attester/attester_internal.h"

enum attester_kind {
	KIND_SAMPLE,
	KIND_SNP_TSM,
	KIND_SNP_IOCTL,
	KIND_TDX_TSM,
};

struct coffer_attester {
	enum attester_kind kind;
	bool sim; /* announce "snp-sim" / "tdx-sim": evidence from coffer-sim */
	char *tsm_root;
	char *sev_guest;
	char *ccel;
	unsigned wait_ms;
	unsigned vmpl;
	bool snp_object;
};

/* configfs-tsm may move `generation` under us when another process uses the
 * same entry name space; a fresh entry usually succeeds. */
#define TSM_ATTEMPTS 3

static char *dup_or(const char *s, const char *dflt)
{
	return strdup(s ? s : dflt);
}

const char *coffer_attester_tee(const coffer_attester *a)
{
	switch (a->kind) {
	case KIND_SAMPLE:
		return "sample";
	case KIND_SNP_TSM:
	case KIND_SNP_IOCTL:
		return a->sim ? "snp-sim" : "snp";
	case KIND_TDX_TSM:
		return a->sim ? "tdx-sim" : "tdx";
	}
	return "unknown";
}

const char *coffer_attester_source(const coffer_attester *a)
{
	switch (a->kind) {
	case KIND_SAMPLE:
		return "sample (DEVELOPMENT ONLY: no hardware, no protection)";
	case KIND_SNP_TSM:
		return "SEV-SNP via configfs-tsm";
	case KIND_SNP_IOCTL:
		return "SEV-SNP via the sev-guest ioctl";
	case KIND_TDX_TSM:
		return "TDX via configfs-tsm";
	}
	return "unknown";
}

static int path_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static int detect(coffer_attester *a, const char *tee, bool allow_sample)
{
	char provider[32], tsm_why[512] = "", ioctl_why[256] = "";
	bool want_snp = tee && strcmp(tee, "snp") == 0;
	bool want_tdx = tee && strcmp(tee, "tdx") == 0;
	int error;

	/* 1. configfs-tsm: the provider names the TEE */
	error = attester_tsm_probe(provider, a->tsm_root, a->wait_ms);
	if (error == 0) {
		if (strcmp(provider, "sev_guest") == 0 && !want_tdx) {
			a->kind = KIND_SNP_TSM;
			return 0;
		}
		if (strcmp(provider, "tdx_guest") == 0 && !want_snp) {
			a->kind = KIND_TDX_TSM;
			return 0;
		}
		snprintf(tsm_why, sizeof(tsm_why), "provider '%s'", provider);
	} else {
		snprintf(tsm_why, sizeof(tsm_why), "%s", coffer_error_last());
	}
	/* 2. the sev-guest character device of older kernels */
	if (!want_tdx) {
		if (path_exists(a->sev_guest)) {
			a->kind = KIND_SNP_IOCTL;
			coffer_error_clear();
			return 0;
		}
		snprintf(ioctl_why, sizeof(ioctl_why), "; %s: %s", a->sev_guest, strerror(errno));
	}
	/* 3. sample, only when explicitly allowed */
	if (tee == NULL && allow_sample) {
		fprintf(stderr, "coffer attester: WARNING: no TEE found, using the 'sample' "
		                "attester (development only, no protection)\n");
		a->kind = KIND_SAMPLE;
		coffer_error_clear();
		return 0;
	}
	return coffer_error_set(COFFER_ENOTFOUND,
	                        "no %s TEE found: tried configfs-tsm at %s (%s)%s%s",
	                        tee ? tee : "", a->tsm_root, tsm_why, ioctl_why,
	                        tee == NULL ? (allow_sample ? "" : "; sample not allowed") : "");
}

int coffer_attester_open(coffer_attester **out, const char *tee, const coffer_attester_opts *opts)
{
	coffer_attester_opts dflt = COFFER_ATTESTER_OPTS_INIT;
	coffer_attester *a;
	int error;

	if (opts == NULL)
		opts = &dflt;
	if (opts->version != COFFER_ATTESTER_OPTS_VERSION)
		return coffer_error_set(COFFER_EINVAL, "attester: options version %d",
		                        opts->version);
	if (tee && strcmp(tee, "auto") == 0)
		tee = NULL;
	if (tee && strcmp(tee, "sample") != 0 && strcmp(tee, "snp") != 0 &&
	    strcmp(tee, "tdx") != 0 && strcmp(tee, "snp-sim") != 0 && strcmp(tee, "tdx-sim") != 0)
		return coffer_error_set(COFFER_EUNSUPPORTED,
		                        "attester: unknown TEE '%s' (expected sample, snp, tdx, "
		                        "snp-sim, tdx-sim or auto)",
		                        tee);
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	/* the simulated TEEs speak the real kernel interfaces; only the name
	 * the broker hears differs, so it picks the simulator's root */
	if (tee && strcmp(tee, "snp-sim") == 0) {
		a->sim = true;
		tee = "snp";
	} else if (tee && strcmp(tee, "tdx-sim") == 0) {
		a->sim = true;
		tee = "tdx";
	}
	a->tsm_root = dup_or(opts->tsm_root, COFFER_TSM_ROOT_DEFAULT);
	a->sev_guest = dup_or(opts->sev_guest, COFFER_SEV_GUEST_DEFAULT);
	a->ccel = dup_or(opts->ccel, COFFER_CCEL_DEFAULT);
	a->wait_ms = opts->tsm_wait_ms;
	a->vmpl = opts->vmpl;
	a->snp_object = opts->snp_report_object;
	if (a->tsm_root == NULL || a->sev_guest == NULL || a->ccel == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto fail;
	}
	if (tee && strcmp(tee, "sample") == 0) {
		a->kind = KIND_SAMPLE;
	} else if ((error = detect(a, tee, opts->allow_sample)) < 0) {
		goto fail;
	}
	*out = a;
	return 0;
fail:
	coffer_attester_free(a);
	return error;
}

void coffer_attester_free(coffer_attester *a)
{
	if (a == NULL)
		return;
	free(a->tsm_root);
	free(a->sev_guest);
	free(a->ccel);
	free(a);
}

static int set_b64(json_t *obj, const char *key, const uint8_t *data, size_t len)
{
	char *s = NULL;
	int error;

	if ((error = coffer_base64_encode(&s, NULL, data, len, COFFER_B64_STD)) < 0)
		return error;
	error = json_object_set_new(obj, key, json_string(s));
	free(s);
	return error < 0 ? coffer_error_set(COFFER_ENOMEM, "out of memory") : 0;
}

static int tsm_round(coffer_tsm_report *r, const coffer_attester *a, const char *provider,
                     const uint8_t rd[64])
{
	int error = 0;

	for (int i = 0; i < TSM_ATTEMPTS; i++) {
		error = coffer_tsm_report_get(r, a->tsm_root, provider, rd, a->vmpl, a->wait_ms);
		if (error != COFFER_EIO || strstr(coffer_error_last(), "generation moved") == NULL)
			break;
	}
	return error;
}

static int snp_evidence(json_t *ev, const coffer_attester *a, const uint8_t rd[64])
{
	coffer_tsm_report r;
	uint8_t *report = NULL, *certs = NULL;
	size_t report_len = 0, certs_len = 0;
	json_t *chain = NULL;
	int error;

	memset(&r, 0, sizeof(r));
	if (a->kind == KIND_SNP_TSM) {
		if ((error = tsm_round(&r, a, "sev_guest", rd)) < 0)
			goto out;
		report = r.outblob;
		report_len = r.outblob_len;
		certs = r.auxblob;
		certs_len = r.auxblob_len;
		r.outblob = r.auxblob = NULL;
	} else if ((error = attester_sev_guest_report(&report, &report_len, &certs, &certs_len,
	                                              a->sev_guest, rd, a->vmpl)) < 0) {
		goto out;
	}
	if (report_len < SNP_REPORT_SIZE) {
		error = coffer_error_set(COFFER_EIO,
		                         "SNP report of %zu bytes (expected at least %d)",
		                         report_len, SNP_REPORT_SIZE);
		goto out;
	}
	/* SEV-SNP ABI table 23: REPORT_DATA at 0x50; the kernel must have put ours */
	if (memcmp(report + 0x50, rd, 64) != 0) {
		error = coffer_error_set(COFFER_EVERIFY,
		                         "SNP report does not carry the requested report_data");
		goto out;
	}
	if (certs && (error = coffer_snp_cert_table_to_json(&chain, certs, certs_len)) < 0)
		goto out;
	if (a->snp_object) {
		json_t *obj = NULL;
		if ((error = attester_snp_report_json(&obj, report, SNP_REPORT_SIZE)) < 0)
			goto out;
		if (json_object_set_new(ev, "attestation_report", obj) < 0) {
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			goto out;
		}
	} else if ((error = set_b64(ev, "attestation_report_b64", report, SNP_REPORT_SIZE)) < 0) {
		goto out;
	}
	if (json_object_set_new(ev, "cert_chain", chain ? chain : json_null()) < 0) {
		chain = NULL;
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	chain = NULL;
	error = 0;
out:
	json_decref(chain);
	free(report);
	free(certs);
	coffer_tsm_report_clear(&r);
	return error;
}

static int tdx_evidence(json_t *ev, const coffer_attester *a, const uint8_t rd[64])
{
	coffer_tsm_report r;
	uint8_t *log = NULL;
	size_t log_len = 0;
	int error;

	memset(&r, 0, sizeof(r));
	if ((error = tsm_round(&r, a, "tdx_guest", rd)) < 0)
		goto out;
	if ((error = set_b64(ev, "quote", r.outblob, r.outblob_len)) < 0)
		goto out;
	/* The CCEL event log (ACPI CCEL table data) is optional evidence */
	if (path_exists(a->ccel)) {
		if ((error = coffer_file_read(&log, &log_len, a->ccel, CCEL_MAX)) < 0) {
			error = coffer_error_wrap(error, "TDX event log %s", a->ccel);
			goto out;
		}
	}
	if (log_len > 0)
		error = set_b64(ev, "cc_eventlog", log, log_len);
	else
		error = json_object_set_new(ev, "cc_eventlog", json_null()) < 0
		                ? coffer_error_set(COFFER_ENOMEM, "out of memory")
		                : 0;
out:
	free(log);
	coffer_tsm_report_clear(&r);
	return error;
}

int coffer_attester_evidence(json_t **out, coffer_attester *a, const uint8_t *report_data,
                             size_t len)
{
	uint8_t rd[COFFER_REPORT_DATA_MAX] = { 0 };
	json_t *ev;
	int error;

	if (len > COFFER_REPORT_DATA_MAX)
		return coffer_error_set(COFFER_EINVAL, "report_data of %zu bytes (at most %d)", len,
		                        COFFER_REPORT_DATA_MAX);
	if (len)
		memcpy(rd, report_data, len);
	ev = json_object();
	if (ev == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	switch (a->kind) {
	case KIND_SAMPLE:
		/* sample carries the exact bytes (PROTOCOL.md section 1, Binding) */
		if (json_object_set_new(ev, "svn", json_string("1")) < 0) {
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			break;
		}
		error = set_b64(ev, "report_data", rd, len);
		break;
	case KIND_SNP_TSM:
	case KIND_SNP_IOCTL:
		error = snp_evidence(ev, a, rd);
		break;
	case KIND_TDX_TSM:
		error = tdx_evidence(ev, a, rd);
		break;
	default:
		error = coffer_error_set(COFFER_ERROR, "attester: bad kind");
	}
	if (error < 0) {
		json_decref(ev);
		return error;
	}
	*out = ev;
	return 0;
}
