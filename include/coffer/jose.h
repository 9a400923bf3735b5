/*
 * JOSE on OpenSSL 3 (EVP only): JWK (RFC 7517/7518, 8037), JWS and JWT
 * (RFC 7515, 7519), JWE (RFC 7516) as the KBS protocol uses it
 * (PROTOCOL.md section 2).
 */
#ifndef COFFER_JOSE_H
#define COFFER_JOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "coffer/buf.h"
#include "coffer/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- JWK ---- */

typedef struct coffer_jwk coffer_jwk;

/* kty "EC" (crv P-256, P-384, P-521), "RSA" (bits >= 2048), "OKP" (crv Ed25519). */
int coffer_jwk_generate(coffer_jwk **out, const char *kty, const char *crv, int rsa_bits);
/* From a JWK JSON object (public or private). Validates points and sizes. */
int coffer_jwk_from_json(coffer_jwk **out, const json_t *jwk);
/* From text: a JWK JSON object or a PEM public/private key. */
int coffer_jwk_parse(coffer_jwk **out, const char *text, size_t len);
/* Load from a file (JWK or PEM). */
int coffer_jwk_load(coffer_jwk **out, const char *path);
/* Takes a new reference to `pkey`. */
int coffer_jwk_from_pkey(coffer_jwk **out, EVP_PKEY *pkey);
/* JSON form; private members only when `with_private` and the key has them.
 * Members are written in RFC 7638 order for the public part (EC: crv,kty,x,y). */
int coffer_jwk_to_json(json_t **out, const coffer_jwk *k, bool with_private);
int coffer_jwk_to_pem(char **out, const coffer_jwk *k, bool with_private);
/* A public-only copy. */
int coffer_jwk_public(coffer_jwk **out, const coffer_jwk *k);
/* RFC 7638 SHA-256 thumbprint, base64url without padding. */
int coffer_jwk_thumbprint(char **out, const coffer_jwk *k);

const char *coffer_jwk_kty(const coffer_jwk *k); /* "EC", "RSA", "OKP" */
const char *coffer_jwk_crv(const coffer_jwk *k); /* NULL for RSA */
const char *coffer_jwk_alg(const coffer_jwk *k); /* the "alg" member, or NULL */
const char *coffer_jwk_kid(const coffer_jwk *k); /* the "kid" member, or NULL */
int coffer_jwk_set_alg(coffer_jwk *k, const char *alg);
int coffer_jwk_set_kid(coffer_jwk *k, const char *kid);
bool coffer_jwk_has_private(const coffer_jwk *k);
EVP_PKEY *coffer_jwk_pkey(const coffer_jwk *k); /* borrowed */
void coffer_jwk_free(coffer_jwk *k);

/* ---- JWS (compact) ---- */

/* alg: ES256, ES384, EdDSA, RS256, PS256; refused unless it fits the key. */
int coffer_jws_sign(char **out, const coffer_jwk *key, const char *alg, const json_t *extra_header,
                    const uint8_t *payload, size_t len);

typedef struct coffer_jws {
	json_t *header;
	uint8_t *payload;
	size_t payload_len;
	size_t key_index; /* which of the candidate keys verified it */
} coffer_jws;

/* Verify with any of `keys` whose type fits the header's alg. Refuses "none",
 * HMAC algorithms, and any alg a key's own "alg" member does not allow.
 * COFFER_EINVAL for malformed input, COFFER_EVERIFY for a bad signature. */
int coffer_jws_verify(coffer_jws **out, const char *compact, size_t len, coffer_jwk *const *keys,
                      size_t nkeys);
void coffer_jws_free(coffer_jws *jws);

/* ---- JWT ---- */

typedef struct coffer_jwt_checks {
	int version;
	int64_t now;    /* 0: the current time */
	int64_t leeway; /* seconds allowed on exp/nbf/iat */
	bool require_exp;
	int64_t max_lifetime; /* > 0: exp - iat must not exceed it (iat then required) */
	const char *iss;      /* NULL: not checked */
	const char *aud;      /* NULL: not checked */
} coffer_jwt_checks;

#define COFFER_JWT_CHECKS_VERSION 1
#define COFFER_JWT_CHECKS_INIT                                       \
	{                                                            \
		COFFER_JWT_CHECKS_VERSION, 0, 0, true, 0, NULL, NULL \
	}

int coffer_jwt_sign(char **out, const coffer_jwk *key, const char *alg, const json_t *extra_header,
                    const json_t *claims);
/* Signature then claims; COFFER_EEXPIRED for exp/nbf failures. */
int coffer_jwt_verify(json_t **claims_out, json_t **header_out, const char *token,
                      coffer_jwk *const *keys, size_t nkeys, const coffer_jwt_checks *checks);
int coffer_jwt_check_claims(const json_t *claims, const coffer_jwt_checks *checks);

/* ---- JWE ---- */

/* alg: "ECDH-ES+A256KW" (EC P-256/384/521), "RSA-OAEP-256", "RSA-OAEP" (SHA-1,
 * for ocicrypt), "RSA1_5" (decrypt only, behind an explicit flag); enc A256GCM.
 * NULL alg: the key's "alg" member, else ECDH-ES+A256KW for EC and
 * RSA-OAEP-256 for RSA. */

/* Flattened JSON serialization, members in the order protected,
 * encrypted_key, iv, ciphertext, tag; the protected header serialized as
 * PROTOCOL.md section 2 requires (alg, enc, then the rest sorted). */
int coffer_jwe_encrypt(json_t **out, const coffer_jwk *recipient, const char *alg,
                       const uint8_t *plaintext, size_t len);
/* General JSON serialization with one entry per recipient. */
int coffer_jwe_encrypt_general(json_t **out, coffer_jwk *const *recipients, const char **algs,
                               size_t n, const uint8_t *plaintext, size_t len);
int coffer_jwe_encrypt_compact(char **out, const coffer_jwk *recipient, const char *alg,
                               const uint8_t *plaintext, size_t len);

/* Encryption options (added): RSA1_5 is refused unless allow_rsa1_5 is set,
 * for peers that only offer an RSA1_5 key (PROTOCOL.md: "only if configured"). */
typedef struct coffer_jwe_encrypt_opts {
	int version;
	bool allow_rsa1_5;
} coffer_jwe_encrypt_opts;

#define COFFER_JWE_ENCRYPT_OPTS_VERSION 1
#define COFFER_JWE_ENCRYPT_OPTS_INIT                   \
	{                                              \
		COFFER_JWE_ENCRYPT_OPTS_VERSION, false \
	}

/* As coffer_jwe_encrypt / _compact, with options (opts may be NULL). */
int coffer_jwe_encrypt_with(json_t **out, const coffer_jwk *recipient, const char *alg,
                            const coffer_jwe_encrypt_opts *opts, const uint8_t *plaintext,
                            size_t len);
int coffer_jwe_encrypt_compact_with(char **out, const coffer_jwk *recipient, const char *alg,
                                    const coffer_jwe_encrypt_opts *opts, const uint8_t *plaintext,
                                    size_t len);

typedef struct coffer_jwe_decrypt_opts {
	int version;
	bool allow_rsa1_5; /* RSA1_5 is refused unless set */
} coffer_jwe_decrypt_opts;

#define COFFER_JWE_DECRYPT_OPTS_VERSION 1
#define COFFER_JWE_DECRYPT_OPTS_INIT                   \
	{                                              \
		COFFER_JWE_DECRYPT_OPTS_VERSION, false \
	}

/* Any serialization (compact, flattened, general); opts may be NULL. */
int coffer_jwe_decrypt(coffer_secret *out, const char *jwe, size_t len, const coffer_jwk *key,
                       const coffer_jwe_decrypt_opts *opts);
int coffer_jwe_decrypt_json(coffer_secret *out, const json_t *jwe, const coffer_jwk *key,
                            const coffer_jwe_decrypt_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
