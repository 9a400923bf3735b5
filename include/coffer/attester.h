/*
 * Attesters: the guest side of evidence. One interface, several TEEs
 * (PROTOCOL.md section 1, "Evidence shapes"):
 *
 *   sample  development only, no hardware, no signature (loudly labelled)
 *   snp     AMD SEV-SNP through configfs-tsm, else /dev/sev-guest
 *           (SNP_GET_EXT_REPORT) on older kernels
 *   tdx     Intel TDX through configfs-tsm, plus the CCEL event log
 *
 * Every path to the kernel is configurable so that tests can point the
 * attester at a fake tree (tests/unit/fake_tsm.c emulates configfs-tsm).
 */
#ifndef COFFER_ATTESTER_H
#define COFFER_ATTESTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "coffer/buf.h"
#include "coffer/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define COFFER_TSM_ROOT_DEFAULT  "/sys/kernel/config/tsm/report"
#define COFFER_SEV_GUEST_DEFAULT "/dev/sev-guest"
#define COFFER_CCEL_DEFAULT      "/sys/firmware/acpi/tables/data/CCEL"

/* Size of the REPORT_DATA field every attester takes (SNP and TDX: 64). */
#define COFFER_REPORT_DATA_MAX 64

typedef struct coffer_attester_opts {
	int version;
	const char *tsm_root;  /* NULL: COFFER_TSM_ROOT_DEFAULT */
	const char *sev_guest; /* NULL: COFFER_SEV_GUEST_DEFAULT */
	const char *ccel;      /* NULL: COFFER_CCEL_DEFAULT */
	/* How long to wait for a configfs-tsm attribute that is not there yet
	 * (a real kernel creates them with the entry; a fake tree may lag).
	 * 0: 2000 ms. */
	unsigned tsm_wait_ms;
	/* Detection may fall back to `sample` only when this is set. */
	bool allow_sample;
	/* SNP VMPL asked for through configfs-tsm `privlevel` / the ioctl (0). */
	unsigned vmpl;
	/* SNP evidence carries the upstream JSON object form of the report
	 * ("attestation_report", for Trustee brokers) instead of the raw
	 * report in base64 ("attestation_report_b64", Coffer's form). */
	bool snp_report_object;
} coffer_attester_opts;

#define COFFER_ATTESTER_OPTS_VERSION 1
#define COFFER_ATTESTER_OPTS_INIT            \
	{                                    \
		COFFER_ATTESTER_OPTS_VERSION \
	}

typedef struct coffer_attester coffer_attester;

/* `tee`: "sample", "snp", "tdx", or NULL / "auto" to detect (configfs-tsm
 * provider, then /dev/sev-guest, then sample if allowed). "snp-sim" and
 * "tdx-sim" read the same kernel interfaces (filled by coffer-sim in tests)
 * and announce the simulated TEE to the broker. When nothing fits
 * the error names every path that was tried. */
int coffer_attester_open(coffer_attester **out, const char *tee, const coffer_attester_opts *opts);

/* The KBS tee string ("sample", "snp", "tdx", "snp-sim", "tdx-sim"). */
const char *coffer_attester_tee(const coffer_attester *a);
/* How the evidence is obtained, for logs ("configfs-tsm", "sev-guest ioctl",
 * "sample (development only, no hardware protection)"). */
const char *coffer_attester_source(const coffer_attester *a);

/* Evidence for `report_data` (at most 64 bytes; SNP/TDX zero-pad it), as the
 * `primary_evidence` JSON of PROTOCOL.md section 1:
 *   sample {"svn","report_data"}
 *   snp    {"attestation_report_b64" | "attestation_report": {...},
 *           "cert_chain": null|[{"cert_type","data"}]}
 *   tdx    {"quote","cc_eventlog": <base64>|null} */
int coffer_attester_evidence(json_t **out, coffer_attester *a, const uint8_t *report_data,
                             size_t len);

void coffer_attester_free(coffer_attester *a);

/* ---- lower-level pieces, exposed for tests ---- */

typedef struct coffer_tsm_report {
	char provider[32]; /* "sev_guest", "tdx_guest" */
	uint8_t *outblob;
	size_t outblob_len;
	uint8_t *auxblob; /* NULL when the provider has none */
	size_t auxblob_len;
} coffer_tsm_report;

/* One configfs-tsm round: create an entry under `root`, check `provider`
 * (when `want_provider` is not NULL), write the 64-byte inblob, read outblob
 * and auxblob, check that `generation` moved by exactly our writes, remove the
 * entry. */
int coffer_tsm_report_get(coffer_tsm_report *out, const char *root, const char *want_provider,
                          const uint8_t inblob[64], unsigned vmpl, unsigned wait_ms);
void coffer_tsm_report_clear(coffer_tsm_report *r);

/* Split an SNP certificate table (GHCB spec: {guid[16], offset u32, length
 * u32}... ended by an all-zero entry) into the upstream cert_chain JSON
 * array [{"cert_type":"VCEK"|"VLEK"|"ASK"|"ARK"|"CRL","data":[bytes]}]. */
int coffer_snp_cert_table_to_json(json_t **out, const uint8_t *table, size_t len);

#ifdef __cplusplus
}
#endif
#endif
