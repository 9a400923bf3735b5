/*
 * Fault injection for tests, loaded with LD_PRELOAD: OpenSSL calls fail
 * while a flag file exists and pass through to OpenSSL otherwise. A test
 * toggles the file to see what a program does when that part of OpenSSL
 * fails. Never part of a product build.
 *
 *   $COFFER_TEST_RAND_FAIL  RAND_bytes and RAND_priv_bytes return 0
 *                           (cofferd_rand_fail_test.py)
 *   $COFFER_TEST_SIGN_FAIL  EVP_PKEY_sign and EVP_DigestSign return 0
 *                           (cofferd_sign_fail_test.py); verification is
 *                           left alone
 *
 * A failed EVP_PKEY_sign also leaves its context unusable (set up for
 * verification, so a later EVP_PKEY_sign on it fails in OpenSSL itself):
 * a caller that keeps a context after a failure, as a pool might, then
 * fails again once signing works, which a test can see. EVP_DigestSignFinal
 * is not wrapped: nothing in the broker calls it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

/* OpenSSL's own types stay opaque here: the shim needs no OpenSSL headers */
typedef struct evp_pkey_ctx_st EVP_PKEY_CTX;
typedef struct evp_md_ctx_st EVP_MD_CTX;

typedef int (*rand_fn)(unsigned char *buf, int num);
typedef int (*pkey_sign_fn)(EVP_PKEY_CTX *ctx, unsigned char *sig, size_t *siglen,
                            const unsigned char *tbs, size_t tbslen);
typedef int (*pkey_init_fn)(EVP_PKEY_CTX *ctx);
typedef int (*digest_sign_fn)(EVP_MD_CTX *ctx, unsigned char *sig, size_t *siglen,
                              const unsigned char *tbs, size_t tbslen);

int RAND_bytes(unsigned char *buf, int num);
int RAND_priv_bytes(unsigned char *buf, int num);
int EVP_PKEY_sign(EVP_PKEY_CTX *ctx, unsigned char *sig, size_t *siglen, const unsigned char *tbs,
                  size_t tbslen);
int EVP_DigestSign(EVP_MD_CTX *ctx, unsigned char *sig, size_t *siglen, const unsigned char *tbs,
                   size_t tbslen);

static int failing(const char *var)
{
	const char *flag = getenv(var);

	return flag != NULL && access(flag, F_OK) == 0;
}

static int rand_pass_on(const char *name, unsigned char *buf, int num)
{
	rand_fn real = (rand_fn)dlsym(RTLD_NEXT, name);

	return real != NULL ? real(buf, num) : 0;
}

int RAND_bytes(unsigned char *buf, int num)
{
	if (failing("COFFER_TEST_RAND_FAIL"))
		return 0;
	return rand_pass_on("RAND_bytes", buf, num);
}

int RAND_priv_bytes(unsigned char *buf, int num)
{
	if (failing("COFFER_TEST_RAND_FAIL"))
		return 0;
	return rand_pass_on("RAND_priv_bytes", buf, num);
}

int EVP_PKEY_sign(EVP_PKEY_CTX *ctx, unsigned char *sig, size_t *siglen, const unsigned char *tbs,
                  size_t tbslen)
{
	pkey_sign_fn real;
	pkey_init_fn spoil;

	if (failing("COFFER_TEST_SIGN_FAIL")) {
		spoil = (pkey_init_fn)dlsym(RTLD_NEXT, "EVP_PKEY_verify_init");
		if (spoil != NULL && ctx != NULL)
			(void)spoil(ctx);
		return 0;
	}
	real = (pkey_sign_fn)dlsym(RTLD_NEXT, "EVP_PKEY_sign");
	return real != NULL ? real(ctx, sig, siglen, tbs, tbslen) : 0;
}

int EVP_DigestSign(EVP_MD_CTX *ctx, unsigned char *sig, size_t *siglen, const unsigned char *tbs,
                   size_t tbslen)
{
	digest_sign_fn real;

	if (failing("COFFER_TEST_SIGN_FAIL"))
		return 0;
	real = (digest_sign_fn)dlsym(RTLD_NEXT, "EVP_DigestSign");
	return real != NULL ? real(ctx, sig, siglen, tbs, tbslen) : 0;
}
