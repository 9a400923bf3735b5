/* Internal helpers of the tdx module. */
#ifndef COFFER_TDX_INTERNAL_H
#define COFFER_TDX_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "coffer/tdx.h"

static inline uint16_t coffer_tdx_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t coffer_tdx_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

/* ECDSA P-256 / SHA-256 with a raw r||s signature. 0, COFFER_EVERIFY (no
 * message set: the caller names the check) or COFFER_ERROR. */
int coffer_tdx_ecdsa_verify(EVP_PKEY *key, const uint8_t *msg, size_t len, const uint8_t sig[64]);
/* P-256 public key from raw x||y. */
int coffer_tdx_pkey_from_raw(EVP_PKEY **out, const uint8_t xy[64]);

/* RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ" (fractional seconds allowed) to unix time. */
int coffer_tdx_parse_time(int64_t *out, const char *s);

/* Parsed, signature-checked collateral. */
typedef struct tdx_tcb_level {
	uint8_t sgx[16];
	uint16_t pcesvn;
	uint8_t tdx[16];
	coffer_tdx_tcb_status status;
	char date[32];
	json_t *advisories; /* array or NULL */
} tdx_tcb_level;

typedef struct tdx_isv_level {
	uint16_t isvsvn;
	coffer_tdx_tcb_status status;
	char date[32];
	json_t *advisories;
} tdx_isv_level;

typedef struct tdx_module_identity {
	uint8_t id_svn; /* TDX_<hex> -> TEE_TCB_SVN[1] */
	uint8_t mrsigner[48];
	uint8_t attributes[8];
	uint8_t attributes_mask[8];
	tdx_isv_level *levels;
	size_t nlevels;
} tdx_module_identity;

typedef struct tdx_tcb_info {
	bool tdx; /* id "TDX" (else "SGX") */
	int version;
	uint8_t fmspc[6];
	uint8_t pceid[2];
	uint32_t eval_number;
	int64_t issue_date;
	int64_t next_update;
	bool signer_expired;
	X509 *signer; /* the TCB signing certificate (borrowed from the context) */
	bool has_module;
	uint8_t module_mrsigner[48];
	uint8_t module_attributes[8];
	uint8_t module_attributes_mask[8];
	tdx_module_identity *modules;
	size_t nmodules;
	tdx_tcb_level *levels;
	size_t nlevels;
} tdx_tcb_info;

typedef struct tdx_qe_identity {
	bool td_qe; /* "TD_QE" (else "QE") */
	uint32_t eval_number;
	int64_t issue_date;
	int64_t next_update;
	bool signer_expired;
	X509 *signer; /* the TCB signing certificate (borrowed from the context) */
	uint8_t miscselect[4];
	uint8_t miscselect_mask[4];
	uint8_t attributes[16];
	uint8_t attributes_mask[16];
	uint8_t mrsigner[32];
	uint16_t isvprodid;
	tdx_isv_level *levels;
	size_t nlevels;
} tdx_qe_identity;

void coffer_tdx_tcb_info_free(tdx_tcb_info *t);
void coffer_tdx_qe_identity_free(tdx_qe_identity *q);

/* Find the raw text of the value of top-level member `key` in a JSON object
 * (the signed bytes of Intel collateral). */
int coffer_tdx_json_member_span(const char **start, size_t *len, const char *text, size_t text_len,
                                const char *key);

/* Parse a collateral document whose signed body has already been located;
 * `body` is the parsed signed value. */
int coffer_tdx_tcb_info_from_json(tdx_tcb_info **out, const json_t *body);
int coffer_tdx_qe_identity_from_json(tdx_qe_identity **out, const json_t *body);

/* TCB evaluation (QVL algorithm, docs/tdx.md). */
int coffer_tdx_eval_tcb(coffer_tdx_result *r, const tdx_tcb_info *ti, const tdx_qe_identity *qe);

/* Without QE identity collateral: a quote that chains to Intel's root must
 * come from Intel's production quoting enclave (QE3 for SGX, the TD QE for
 * TDX: their MRSIGNER and ISVPRODID, not in debug mode). Other roots are
 * not checked here. */
int coffer_tdx_qe_signer_check(const coffer_tdx_result *r);

#define TDX_MAX_ANCHORS   16
#define TDX_MAX_SIGNERS   8
#define TDX_MAX_TCB_INFOS 64
#define TDX_MAX_QE_IDS    8
#define TDX_MAX_CRLS      64 /* more is an error (collateral directory, add) */
#define TDX_CACHE_SLOTS   64

typedef struct tdx_anchor {
	X509 *cert;
	const char *kind; /* "intel", "sim", "configured" */
} tdx_anchor;

typedef struct tdx_signer {
	X509 *cert;
	EVP_PKEY *key; /* borrowed from cert */
} tdx_signer;

typedef struct tdx_cache_entry {
	bool used;
	uint8_t hash[32];
	EVP_PKEY *leaf_key;
	coffer_tdx_pck_info pck;
	const char *root_kind;
	int64_t not_before; /* the chain is valid in [not_before, not_after] */
	int64_t not_after;
	bool crl_expired;
	uint64_t last_use;
} tdx_cache_entry;

/* Parsed attestation keys (importing a point costs as much as a third of a
 * verification; a QE's key is the same in every quote it signs). */
typedef struct tdx_key_entry {
	uint8_t raw[64];
	EVP_PKEY *key;
	uint64_t last_use;
} tdx_key_entry;

struct coffer_tdx_ctx {
	pthread_mutex_t lock;
	int refs; /* users of a context shared by the registry glue */
	tdx_anchor anchors[TDX_MAX_ANCHORS];
	size_t nanchors;
	X509_STORE *store;
	tdx_signer signers[TDX_MAX_SIGNERS];
	size_t nsigners;
	tdx_tcb_info *tcb_infos[TDX_MAX_TCB_INFOS];
	size_t ntcb_infos;
	tdx_qe_identity *qe_ids[TDX_MAX_QE_IDS];
	size_t nqe_ids;
	X509_CRL *crls[TDX_MAX_CRLS];
	size_t ncrls;
	uint64_t crl_gen; /* bumped (under lock) by every CRL added */
	tdx_cache_entry cache[TDX_CACHE_SLOTS];
	tdx_key_entry keys[TDX_CACHE_SLOTS];
	uint64_t clock;
};

/* Verify the type-5 PEM chain of a quote; the cached leaf key is returned
 * with a reference the caller frees. */
int coffer_tdx_pck_chain_verify(EVP_PKEY **leaf_key, coffer_tdx_pck_info *pck,
                                const char **root_kind, bool *crl_expired, coffer_tdx_ctx *ctx,
                                const uint8_t *pem, size_t len, int64_t now);

/* Tests only: called by coffer_tdx_pck_chain_verify between verifying a
 * chain and caching it, to add a CRL at that exact point. NULL otherwise. */
extern void (*coffer_tdx_pck_test_hook)(coffer_tdx_ctx *ctx);

/* <dir>/tdx when it exists (coffer collateral add), else <dir> itself. */
int coffer_tdx_collateral_dir(char *out, size_t n, const char *dir);

int64_t coffer_tdx_asn1_time_to_unix(const ASN1_TIME *t);

#endif
