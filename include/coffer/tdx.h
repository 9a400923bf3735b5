/*
 * Intel TDX (and SGX) DCAP evidence: quote v3/v4/v5 parsing, the PCK chain to
 * the Intel SGX Root CA, TCB info / QE identity collateral, the CC event log.
 *
 * Formats: Intel SGX ECDSA Quote Library API (quote v3), Intel TDX DCAP Quote
 * Generation Library and Quote Verification Library API (quote v4/v5), Intel
 * PCK Certificate and CRL Profile (SGX extensions), Intel PCS API v4 (TCB info
 * v3, enclave identity v2), TCG PC Client Platform Firmware Profile (crypto
 * agile event log) and the ACPI CCEL table. See docs/tdx.md.
 */
#ifndef COFFER_TDX_H
#define COFFER_TDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "coffer/common.h"
#include "coffer/evidence.h"

#ifdef __cplusplus
extern "C" {
#endif

#define COFFER_TDX_QUOTE_MAX       (256 * 1024) /* real quotes are 5-8 KiB */
#define COFFER_TDX_HEADER_SIZE     48
#define COFFER_SGX_REPORT_SIZE     384 /* SGX report body (ISV enclave or QE) */
#define COFFER_TDX_TD10_SIZE       584
#define COFFER_TDX_TD15_SIZE       648
#define COFFER_TDX_TEE_TYPE_SGX    0x00000000u
#define COFFER_TDX_TEE_TYPE_TDX    0x00000081u
#define COFFER_TDX_ATT_KEY_ECDSA   2 /* ECDSA-256 with P-256 */
#define COFFER_TDX_CERT_PCK_CHAIN  5 /* PEM: PCK leaf, PCK CA, root */
#define COFFER_TDX_CERT_QE_REPORT  6 /* QE report certification data */
#define COFFER_TDX_MR_SIZE         48
#define COFFER_TDX_REPORT_DATA_LEN 64

/* TD report body offsets (TDX DCAP QuoteGen/QVL API, "TD Quote Body"). */
enum {
	COFFER_TDX_OFF_TEE_TCB_SVN = 0,
	COFFER_TDX_OFF_MR_SEAM = 16,
	COFFER_TDX_OFF_MRSIGNER_SEAM = 64,
	COFFER_TDX_OFF_SEAM_ATTRIBUTES = 112,
	COFFER_TDX_OFF_TD_ATTRIBUTES = 120,
	COFFER_TDX_OFF_XFAM = 128,
	COFFER_TDX_OFF_MR_TD = 136,
	COFFER_TDX_OFF_MR_CONFIG_ID = 184,
	COFFER_TDX_OFF_MR_OWNER = 232,
	COFFER_TDX_OFF_MR_OWNER_CONFIG = 280,
	COFFER_TDX_OFF_RTMR0 = 328, /* RTMR i at 328 + 48 * i */
	COFFER_TDX_OFF_REPORT_DATA = 520,
	COFFER_TDX_OFF_TEE_TCB_SVN2 = 584, /* TD15 only */
	COFFER_TDX_OFF_MR_SERVICETD = 600, /* TD15 only */
};

/* SGX report body offsets (SGX ECDSA Quote Library API, sgx_report_body_t). */
enum {
	COFFER_SGX_OFF_CPU_SVN = 0,
	COFFER_SGX_OFF_MISC_SELECT = 16,
	COFFER_SGX_OFF_ATTRIBUTES = 48,
	COFFER_SGX_OFF_MR_ENCLAVE = 64,
	COFFER_SGX_OFF_MR_SIGNER = 128,
	COFFER_SGX_OFF_CONFIG_ID = 192,
	COFFER_SGX_OFF_ISV_PROD_ID = 256,
	COFFER_SGX_OFF_ISV_SVN = 258,
	COFFER_SGX_OFF_REPORT_DATA = 320,
};

typedef enum coffer_tdx_body_type {
	COFFER_TDX_BODY_SGX = 1,
	COFFER_TDX_BODY_TD10 = 2,
	COFFER_TDX_BODY_TD15 = 3,
} coffer_tdx_body_type;

/* A parsed quote: a view into the caller's buffer (valid while it lives).
 * Every length was checked against the enclosing length field. */
typedef struct coffer_tdx_quote {
	uint16_t version;
	uint16_t att_key_type;
	uint32_t tee_type;
	const uint8_t *header; /* 48 bytes */
	coffer_tdx_body_type body_type;
	const uint8_t *body;
	size_t body_len;
	size_t signed_len;         /* the signed region: bytes 0..signed_len */
	const uint8_t *signature;  /* 64: r||s big-endian */
	const uint8_t *attest_key; /* 64: x||y */
	const uint8_t *qe_report;  /* 384 */
	const uint8_t *qe_report_sig;
	const uint8_t *qe_auth;
	size_t qe_auth_len;
	uint16_t cert_type; /* inner certification data type (5 for a PCK chain) */
	const uint8_t *cert_data;
	size_t cert_data_len;
	size_t trailing; /* bytes after the signature data (ignored) */
} coffer_tdx_quote;

/* Parse by the length fields; trailing bytes after the signature data are
 * allowed (real quotes have them). COFFER_EINVAL names the bad field,
 * COFFER_EUNSUPPORTED an unknown version, key type or body type. */
int coffer_tdx_quote_parse(coffer_tdx_quote *out, const uint8_t *buf, size_t len);

typedef enum coffer_tdx_tcb_status {
	COFFER_TDX_TCB_UNKNOWN = 0, /* no collateral */
	COFFER_TDX_TCB_UP_TO_DATE,
	COFFER_TDX_TCB_SW_HARDENING_NEEDED,
	COFFER_TDX_TCB_CONFIGURATION_NEEDED,
	COFFER_TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
	COFFER_TDX_TCB_OUT_OF_DATE,
	COFFER_TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
	COFFER_TDX_TCB_REVOKED,
} coffer_tdx_tcb_status;

/* "UpToDate", ... "Revoked", "unknown". */
const char *coffer_tdx_tcb_status_name(coffer_tdx_tcb_status s);
/* COFFER_EINVAL for a name that is not one of Intel's statuses. */
int coffer_tdx_tcb_status_parse(coffer_tdx_tcb_status *out, const char *name);
/* True when `s` is at least as good as `min` (order: UpToDate, SWHardeningNeeded,
 * ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate,
 * OutOfDateConfigurationNeeded, Revoked); unknown never meets a minimum. */
bool coffer_tdx_tcb_status_meets(coffer_tdx_tcb_status s, coffer_tdx_tcb_status min);

/* What the PCK leaf's SGX extensions (OID 1.2.840.113741.1.13.1) say. */
typedef struct coffer_tdx_pck_info {
	uint8_t ppid[16];
	uint8_t cpusvn[16];
	uint8_t comp_svn[16]; /* SGX TCB components 1..16 */
	uint16_t pcesvn;
	uint8_t pceid[2];
	uint8_t fmspc[6];
	int sgx_type;
	bool has_platform_instance_id;
	uint8_t platform_instance_id[16];
	bool platform_ca; /* issued by the PCK Platform CA (else Processor CA) */
} coffer_tdx_pck_info;

/* Parse the SGX extensions of a DER certificate. */
int coffer_tdx_pck_info_parse(coffer_tdx_pck_info *out, const uint8_t *der, size_t len);

/* r||s (each 32 bytes big-endian, the quote's signature form) from a DER
 * ECDSA-Sig-Value. */
int coffer_tdx_sig_from_der(uint8_t out[64], const uint8_t *der, size_t len);

/* The built-in Intel SGX Root CA (DER). */
extern const uint8_t coffer_intel_sgx_root_ca_der[];
extern const size_t coffer_intel_sgx_root_ca_der_len;

/* A verification context: trust anchors, collateral, and a cache of verified
 * PCK chains (keyed by the SHA-256 of the chain bytes). Thread-safe. */
typedef struct coffer_tdx_ctx coffer_tdx_ctx;

typedef struct coffer_tdx_ctx_options {
	int version;
	bool no_intel_root;         /* trust only the roots below (tdx-sim) */
	const char *roots_dir;      /* extra trusted roots: every *.pem / *.crt / *.der */
	const char *sim_root;       /* PEM text or a path to a PEM file */
	const char *collateral_dir; /* TCB info, QE identity, signing chain, CRLs */
} coffer_tdx_ctx_options;

#define COFFER_TDX_CTX_OPTIONS_VERSION 1
#define COFFER_TDX_CTX_OPTIONS_INIT            \
	{                                      \
		COFFER_TDX_CTX_OPTIONS_VERSION \
	}

int coffer_tdx_ctx_new(coffer_tdx_ctx **out, const coffer_tdx_ctx_options *opts);
void coffer_tdx_ctx_free(coffer_tdx_ctx *ctx);

typedef enum coffer_tdx_collateral_kind {
	COFFER_TDX_COLL_TCB_INFO = 1,
	COFFER_TDX_COLL_QE_IDENTITY,
	COFFER_TDX_COLL_SIGNING_CERT,
	COFFER_TDX_COLL_CRL,
} coffer_tdx_collateral_kind;

/* Add one collateral document (TCB info JSON, enclave identity JSON, PEM
 * certificate(s) of the TCB signing chain, a CRL in DER or PEM). JSON is
 * accepted only when its signature verifies with a TCB signing certificate
 * that chains to a trust anchor (add the certificate first); a CRL only when
 * it is signed by the root or a PCK CA. `kind_out` (may be NULL) says what it
 * was; `name_out` (may be NULL, 64 bytes) a file name for it. */
int coffer_tdx_ctx_add_collateral(coffer_tdx_ctx *ctx, coffer_tdx_collateral_kind *kind_out,
                                  char *name_out, const uint8_t *data, size_t len);

/* `coffer collateral add`: verify one Intel collateral document (TCB info, QE
 * identity, TCB signing certificate chain, CRL) against the trust anchors of
 * `p` (built-in Intel root, roots_dir, sim_root) and store it in <dir>/tdx/.
 * COFFER_ENOTFOUND when the data is not Intel collateral at all (so the
 * caller can offer it to another TEE's cache); *stored = 1 when written. */
int coffer_tdx_collateral_add(const char *dir, const uint8_t *data, size_t len,
                              const coffer_verify_params *p, unsigned *stored);

/* Fetch the TCB info for the quote's FMSPC and the QE identity from an Intel
 * PCS / PCCS base URL (API v4) into <dir>/tdx/, unless the directory already
 * holds verified, unexpired ones (it is the cache). Everything fetched is
 * stored only when it verifies. *fetched = number of documents fetched. */
int coffer_tdx_pcs_refresh(unsigned *fetched, const char *dir, const char *base_url,
                           const uint8_t *quote, size_t len, const coffer_verify_params *p);

/* Everything a verification established. Free with coffer_tdx_result_clear. */
typedef struct coffer_tdx_result {
	coffer_tdx_quote quote; /* view into the verified buffer */
	coffer_tdx_pck_info pck;
	const char *root; /* "intel", "sim" or "configured" */
	bool has_collateral;
	coffer_tdx_tcb_status tcb_status; /* converged platform + QE + module */
	coffer_tdx_tcb_status platform_status;
	coffer_tdx_tcb_status qe_status;
	coffer_tdx_tcb_status module_status;
	char tcb_date[32];
	json_t *advisory_ids;     /* array of strings, owned */
	bool collateral_expired;  /* a TCB info / QE identity / CRL past nextUpdate */
	bool signer_cert_expired; /* the TCB signing cert expired before issueDate */
	int64_t collateral_next_update;
	uint32_t tcb_eval_number;
} coffer_tdx_result;

void coffer_tdx_result_clear(coffer_tdx_result *r);

/* Verify a quote's signatures (quote by the attestation key, QE report by the
 * PCK key, QE binding of the attestation key), the PCK chain to a trust anchor
 * at `now` (unix seconds, 0 = current time), CRLs, and, when collateral for its
 * FMSPC is loaded, the QE identity and the TCB status. Without collateral the
 * status is COFFER_TDX_TCB_UNKNOWN. COFFER_EVERIFY names the failed check. */
int coffer_tdx_verify(coffer_tdx_result *out, coffer_tdx_ctx *ctx, const uint8_t *quote, size_t len,
                      int64_t now);

/* Claims with the upstream names (PROTOCOL.md section 1). */
int coffer_tdx_result_claims(json_t **out, const coffer_tdx_result *r);

/* Owner checks (docs/tdx.md): allow_debug, min_tcb_status, mr_td, rtmr,
 * mr_config_id, allowed_fmspc, allowed_ppid, allowed_platform_instance_id,
 * reject_expired_collateral, reject_expired_signer. COFFER_EDENIED with the
 * reason when one fails, COFFER_EINVAL for malformed options. */
int coffer_tdx_check_options(const coffer_tdx_result *r, const json_t *options);

/* The CC event log (TCG2 crypto-agile, as found in the ACPI CCEL area). */
typedef struct coffer_tdx_event {
	uint32_t mr_index; /* 0 = MRTD, 1..4 = RTMR0..3 */
	uint32_t type;
	bool has_sha384;
	uint8_t sha384[48];
	const uint8_t *data; /* view into the log buffer */
	size_t data_len;
} coffer_tdx_event;

typedef struct coffer_tdx_eventlog {
	coffer_tdx_event *events;
	size_t count;
} coffer_tdx_eventlog;

#define COFFER_TDX_EVENTLOG_MAX_EVENTS 4096

int coffer_tdx_eventlog_parse(coffer_tdx_eventlog *out, const uint8_t *buf, size_t len);
void coffer_tdx_eventlog_clear(coffer_tdx_eventlog *log);
/* Replay the SHA-384 digests into RTMR0..3 (each starts at 48 zero bytes). */
int coffer_tdx_eventlog_replay(uint8_t rtmr[4][48], const coffer_tdx_eventlog *log);
/* The events as claims (upstream "uefi_event_logs" shape). */
int coffer_tdx_eventlog_claims(json_t **out, const coffer_tdx_eventlog *log);

/* Registered verifiers: "tdx" (Intel root, plus params->sim_root when set),
 * "tdx-sim" (params->sim_root only) and "sgx" (quote v3). Evidence:
 * {"quote":"<base64 std>","cc_eventlog":"<base64 std>"|null}. */
extern const coffer_verifier coffer_verifier_tdx;
extern const coffer_verifier coffer_verifier_tdx_sim;
extern const coffer_verifier coffer_verifier_sgx;

#ifdef __cplusplus
}
#endif
#endif
