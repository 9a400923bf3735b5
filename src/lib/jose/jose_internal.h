/* Internal helpers shared by the JOSE module's files. */
#ifndef COFFER_JOSE_INTERNAL_H
#define COFFER_JOSE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "coffer/buf.h"
#include "coffer/jose.h"

/* Bounds on what the decoders accept. */
#define JOSE_MAX_INPUT      ((size_t)64 * 1024 * 1024) /* a whole JWS or JWE */
#define JOSE_MAX_HEADER     ((size_t)16 * 1024)        /* a decoded header */
#define JOSE_MAX_JWK        ((size_t)64 * 1024)        /* a JWK text */
#define JOSE_MAX_RECIPIENTS 64
#define JOSE_RSA_MIN_BITS   2048
#define JOSE_RSA_MAX_BITS   16384
#define JOSE_SIGN_CTX_POOL  8 /* ECDSA signing contexts kept per key */

enum jose_kty { JOSE_KTY_EC = 1, JOSE_KTY_RSA, JOSE_KTY_OKP };

/* Curves: index into jose_curves[]. */
enum jose_crv {
	JOSE_CRV_NONE = -1,
	JOSE_CRV_P256 = 0,
	JOSE_CRV_P384,
	JOSE_CRV_P521,
	JOSE_CRV_ED25519
};

typedef struct jose_curve {
	const char *jwk_name;  /* "P-256" */
	const char *ossl_name; /* "prime256v1" */
	size_t len;            /* coordinate and scalar length in bytes */
} jose_curve;

extern const jose_curve jose_curves[4];

struct coffer_jwk {
	/* An EC public key read from a JWK keeps only its point (checked on the
	 * curve) and gets its EVP_PKEY when something first needs one
	 * (jose_pkey): the guest's tee-pubkey on every handshake is used only
	 * for ECDH-ES, which works on the point (ec.c). Every other key has its
	 * EVP_PKEY from the start. */
	_Atomic(EVP_PKEY *) pkey;
	uint8_t ec_pub[1 + 2 * 66]; /* 0x04 || x || y, when ec_pub_len */
	size_t ec_pub_len;
	enum jose_kty kty;
	enum jose_crv crv;
	bool priv;
	char *alg;
	char *kid;
	char *use;
	/* ECDSA: signing contexts set up for this key and its curve's hash,
	 * kept for reuse (jws.c); one key signs for many threads, hence the
	 * lock. They hold references to `pkey` and are freed with the key. */
	pthread_mutex_t lock;
	EVP_PKEY_CTX *sign_ctx[JOSE_SIGN_CTX_POOL];
	size_t nsign_ctx;
};

/* The key's EVP_PKEY, made from ec_pub on first use; NULL (with an error
 * set) when that fails. */
EVP_PKEY *jose_pkey(const coffer_jwk *k);

/* Cached algorithm implementations (fetched once per process). */
const EVP_MD *jose_md(const char *name); /* "SHA256", "SHA384", "SHA512", "SHA1" */
const EVP_CIPHER *jose_aes256gcm(void);
const EVP_CIPHER *jose_aes_ecb(size_t keylen); /* 16, 24 or 32: jose_aes_kw's block */

/* base64url without padding of a JOSE member into a buffer / malloc'ed string. */
int jose_b64_put(coffer_buf *b, const uint8_t *p, size_t n);
int jose_b64_dec(uint8_t **out, size_t *out_len, const char *s, size_t n, const char *what);
int jose_b64_dec_secret(coffer_secret *out, const char *s, size_t n, const char *what);

/* Strict JSON parse (duplicate keys rejected, object required). */
int jose_json_object(json_t **out, const char *text, size_t len, const char *what);
/* Decode a base64url header and parse it as a JSON object. */
int jose_header_decode(json_t **out, const char *b64, size_t n);

/* Raw fixed-length EC public coordinates x||y of `pkey` (2*clen bytes). */
int jose_ec_point(uint8_t *xy, const EVP_PKEY *pkey, size_t clen);
/* The same of an EC key: its kept point (struct coffer_jwk), or read from
 * its EVP_PKEY. */
int jose_ec_public_xy(uint8_t *xy, const coffer_jwk *k);
/* Build an EC public key from raw coordinates (validated on the curve). */
int jose_ec_from_xy(EVP_PKEY **out, enum jose_crv crv, const uint8_t *x, const uint8_t *y);

/* ec.c: EC keys made from one parameters-only key per curve, created once
 * per process (no curve set-up per key). An EC public key from the
 * uncompressed point 0x04 || x || y (1 + 2 * coordinate length bytes),
 * refused unless both coordinates are < p and the point is on the curve. */
int jose_ec_public_from_point(EVP_PKEY **out, enum jose_crv crv, const uint8_t *pt, size_t len);
/* The same checks of the point, without making a key: 0 or COFFER_EINVAL. */
int jose_ec_check_point(enum jose_crv crv, const uint8_t *pt, size_t len);
/* ECDH-ES to the EC public key k: a fresh ephemeral key on k's curve, its
 * point's x||y in epk_xy (2 * coordinate length bytes) and the shared
 * secret Z in z. The ephemeral scalar is wiped before it returns. */
int jose_ecdh_es(coffer_secret *z, uint8_t *epk_xy, const coffer_jwk *k);

/* Concat KDF, RFC 7518 section 4.6.2, SHA-256. */
int jose_concat_kdf(uint8_t *out, size_t outlen, const uint8_t *z, size_t zlen, const char *algid,
                    const uint8_t *apu, size_t apulen, const uint8_t *apv, size_t apvlen);
/* RFC 3394 AES key wrap / unwrap (KEK 16/24/32 bytes). */
int jose_aes_kw(uint8_t *out, size_t *outlen, const uint8_t *kek, size_t keklen, const uint8_t *in,
                size_t inlen, bool wrap);
/* AES-256-GCM with a 12-byte IV and a 16-byte tag. */
int jose_a256gcm_seal(uint8_t *ct, uint8_t *tag, const uint8_t *cek, const uint8_t *iv,
                      const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t len);
/* ECDH shared secret between `priv` and `peer`. */
int jose_ecdh(coffer_secret *z, EVP_PKEY *priv, EVP_PKEY *peer);

/* Does the key allow `alg` (type and curve fit, its own "alg" member)? */
bool jose_key_allows(const coffer_jwk *k, const char *alg, bool for_enc);

#endif
