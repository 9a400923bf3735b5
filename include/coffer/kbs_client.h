/*
 * KBS client: the guest side of KBS protocol 0.4.0 (PROTOCOL.md sections
 * 1-3) over coffer/http.h. RCAR handshake (auth -> evidence bound to a fresh
 * ephemeral key -> attest), token cache, resource fetch and JWE decryption.
 *
 * The client does not know how evidence is made: the caller passes a
 * callback (the agent wires it to an attester; tests and the broker's tests
 * pass their own). One client is safe to use from several threads: calls are
 * serialized inside.
 */
#ifndef COFFER_KBS_CLIENT_H
#define COFFER_KBS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "coffer/buf.h"
#include "coffer/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Produce `primary_evidence` JSON for `report_data` (the binding digest,
 * 32..64 bytes). *out is a new reference. */
typedef int (*coffer_kbs_evidence_fn)(json_t **out, void *ctx, const uint8_t *report_data,
                                      size_t len);

typedef struct coffer_kbs_client_opts {
	int version;
	const char *url;    /* broker base URL, http:// or https:// (no path) */
	const char *cacert; /* PEM: the only CA trusted for https (pinned); NULL: system store */
	const char *tee;    /* KBS tee string: "sample", "snp", "tdx", ... */
	coffer_kbs_evidence_fn evidence;
	void *evidence_ctx;
	/* TEE key: "EC-P256" (default, NULL), "EC-P521" or "RSA" (RSA-OAEP-256) */
	const char *key_type;
	/* init-data TOML sent as-is in the attest request (NULL: none) */
	const char *init_data;
	size_t init_data_len;
	unsigned retries;          /* extra tries for network errors, 5xx, 429 (0: 3) */
	unsigned backoff_ms;       /* first pause, doubled each retry, capped (0: 200) */
	long timeout_ms;           /* per HTTP request (0: 10000) */
	unsigned refresh_margin_s; /* re-attest this long before the token's exp (0: 30) */
	size_t max_response;       /* bytes per broker answer (0: 4 MiB) */
} coffer_kbs_client_opts;

#define COFFER_KBS_CLIENT_OPTS_VERSION 1
#define COFFER_KBS_CLIENT_OPTS_INIT            \
	{                                      \
		COFFER_KBS_CLIENT_OPTS_VERSION \
	}

typedef struct coffer_kbs_client coffer_kbs_client;

int coffer_kbs_client_new(coffer_kbs_client **out, const coffer_kbs_client_opts *opts);
void coffer_kbs_client_free(coffer_kbs_client *c);

/* Run the RCAR handshake now, even if a token is cached. */
int coffer_kbs_client_attest(coffer_kbs_client *c);

/* The attestation token (malloc'd), attesting first unless a cached token
 * is still good for more than the refresh margin. */
int coffer_kbs_client_token(char **out, coffer_kbs_client *c);

/* The TEE key of the current token as PEM (private part included), for the
 * /aa/token endpoint when the configuration enables it. */
int coffer_kbs_client_tee_key_pem(char **out, coffer_kbs_client *c);

/* GET /kbs/v0/resource/<path> ("repo/type/tag", validated) and decrypt the
 * JWE with the TEE key. Attests when needed and once more on a 401. */
int coffer_kbs_client_get_resource(coffer_secret *out, coffer_kbs_client *c, const char *path);

/* Number of RCAR handshakes done so far (for tests and /info). */
unsigned coffer_kbs_client_attest_count(const coffer_kbs_client *c);

/* ---- broker answer parsers (exposed for tests and fuzzing) ---- */

/* POST /auth answer: {"nonce": "<base64 of 32 bytes>", "extra-params": ...}.
 * *hash_name: the broker's "selected-hash-algorithm" when it names one,
 * else NULL (both malloc'd). */
int coffer_kbs_parse_challenge(char **nonce, char **hash_name, const char *body, size_t len);

/* POST /attest answer: {"token": "<JWT>"}; *exp from the JWT's claims (the
 * signature is the broker's business: the client only reads exp). */
int coffer_kbs_parse_attest_response(char **token, int64_t *exp, const char *body, size_t len);

/* A resource answer: a flattened JWE whose protected header names `alg`
 * (the TEE key's) and enc A256GCM; the JSON is returned (new reference) for
 * decryption. COFFER_EINVAL with a message naming the problem otherwise. */
int coffer_kbs_parse_resource_jwe(json_t **out, const char *body, size_t len, const char *alg);

/* An error body {"type": ".../errors/<Variant>", "detail": "..."} as
 * "<Variant>: <detail>" (bounded, control characters replaced); a body that
 * is not one gives NULL. */
char *coffer_kbs_error_text(const char *body, size_t len);

#ifdef __cplusplus
}
#endif
#endif
