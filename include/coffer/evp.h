/*
 * Digests and ciphers fetched once per process. In OpenSSL 3, naming an
 * algorithm with EVP_sha256() and the like makes every init look its
 * implementation up again in the provider store (an implicit fetch, under
 * the store's locks); these are fetched on first use and kept. Each falls
 * back to the implicit form if the fetch failed, so a caller never gets
 * NULL.
 */
#ifndef COFFER_EVP_H
#define COFFER_EVP_H

#include <openssl/evp.h>

#ifdef __cplusplus
extern "C" {
#endif

const EVP_MD *coffer_sha256(void);
const EVP_MD *coffer_sha384(void);
const EVP_MD *coffer_sha512(void);
const EVP_CIPHER *coffer_aes256gcm(void);

#ifdef __cplusplus
}
#endif
#endif
