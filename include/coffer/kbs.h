/*
 * KBS protocol 0.4.0 helpers shared by the broker (cofferd) and the guest
 * client (PROTOCOL.md sections 1-3): the report_data binding digest, the
 * init-data digest, resource path and URI validation, error bodies.
 *
 * Everything here is pure (no I/O, no sessions), so the broker, the agent
 * and the tests compute the binding with the very same code.
 */
#ifndef COFFER_KBS_H
#define COFFER_KBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "coffer/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define COFFER_KBS_VERSION     "0.4.0"
#define COFFER_KBS_PREFIX      "/kbs/v0"
#define COFFER_KBS_COOKIE      "kbs-session-id"
#define COFFER_KBS_NONCE_BYTES 32
#define COFFER_KBS_DIGEST_MAX  64 /* SHA-512 */
#define COFFER_KBS_SEGMENT_MAX 255

/* Hash algorithms the protocol names (report_data binding, init-data). */
typedef enum coffer_kbs_hash {
	COFFER_KBS_SHA256,
	COFFER_KBS_SHA384,
	COFFER_KBS_SHA512,
} coffer_kbs_hash;

/* "sha256" / "sha384" / "sha512" -> enum; COFFER_EUNSUPPORTED otherwise. */
int coffer_kbs_hash_from_name(coffer_kbs_hash *out, const char *name);
const char *coffer_kbs_hash_name(coffer_kbs_hash h);
size_t coffer_kbs_hash_len(coffer_kbs_hash h);

/* The binding hash for a TEE: SHA-512 for "se", SHA-384 for every other. */
coffer_kbs_hash coffer_kbs_binding_hash_for_tee(const char *tee);

/* True when `tee` is a TEE name the protocol defines (PROTOCOL.md section 1,
 * including Coffer's "snp-sim" and "tdx-sim"). */
bool coffer_kbs_tee_known(const char *tee);

/*
 * report_data binding (PROTOCOL.md section 1, Binding):
 *   H(JCS({"additional-evidence": <string>, "nonce": <nonce>, "tee-pubkey": <JWK>}))
 * With additional_evidence NULL the member is left out, which is the form
 * used for each additional device: H(JCS({"nonce","tee-pubkey"})).
 * `out` receives coffer_kbs_hash_len(h) bytes, *out_len says how many.
 */
int coffer_kbs_binding_digest(uint8_t out[COFFER_KBS_DIGEST_MAX], size_t *out_len,
                              coffer_kbs_hash h, const char *nonce, const json_t *tee_pubkey,
                              const char *additional_evidence);

/* init-data digest: H(raw bytes exactly as sent), H named by the TOML's
 * `algorithm` (the caller extracts it). */
int coffer_kbs_init_data_digest(uint8_t out[COFFER_KBS_DIGEST_MAX], size_t *out_len,
                                coffer_kbs_hash h, const void *body, size_t len);

/* Fit a digest to a TEE field of `field_len` bytes: truncated when longer,
 * zero-padded when shorter (PROTOCOL.md section 1, init-data). */
void coffer_kbs_fit_digest(uint8_t *field, size_t field_len, const uint8_t *digest,
                           size_t digest_len);

/* One resource path segment: ^[A-Za-z0-9_-]+[A-Za-z0-9_.-]*$, at most
 * COFFER_KBS_SEGMENT_MAX bytes. Raw bytes: '%' (percent-encoding) is refused. */
bool coffer_kbs_segment_valid(const char *seg, size_t len);

typedef struct coffer_kbs_resource_path {
	char repository[COFFER_KBS_SEGMENT_MAX + 1];
	char type[COFFER_KBS_SEGMENT_MAX + 1];
	char tag[COFFER_KBS_SEGMENT_MAX + 1];
} coffer_kbs_resource_path;

/* Parse "<repository>/<type>/<tag>" (the raw, still percent-encoded URL
 * text after "/kbs/v0/resource/"); exactly three valid segments, nothing
 * else. COFFER_EINVAL for anything else. */
int coffer_kbs_resource_path_parse(coffer_kbs_resource_path *out, const char *path, size_t len);

/* Parse "kbs:///<repo>/<type>/<tag>" (the host part, if any, is ignored). */
int coffer_kbs_resource_uri_parse(coffer_kbs_resource_path *out, const char *uri);

/* "repo/type/tag" into `out` (3 * 256 bytes always suffice). */
int coffer_kbs_resource_path_format(char *out, size_t size, const coffer_kbs_resource_path *p);

/* The error body of PROTOCOL.md section 3:
 * {"type":"https://github.com/confidential-containers/kbs/errors/<variant>","detail":"..."}
 * (malloc'd, compact JSON). */
int coffer_kbs_error_body(char **out, size_t *len, const char *variant, const char *detail);

#ifdef __cplusplus
}
#endif
#endif
