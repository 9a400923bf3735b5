/* Algorithms fetched once (include/coffer/evp.h). */
#include <pthread.h>

#include "coffer/evp.h"

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static const EVP_MD *md_sha256, *md_sha384, *md_sha512;
static const EVP_CIPHER *c_gcm;

/* Each fetched, or its implicit form when the fetch failed. */
static void fetch_all(void)
{
	EVP_MD *m;
	EVP_CIPHER *c;

	md_sha256 = (m = EVP_MD_fetch(NULL, "SHA256", NULL)) != NULL ? m : EVP_sha256();
	md_sha384 = (m = EVP_MD_fetch(NULL, "SHA384", NULL)) != NULL ? m : EVP_sha384();
	md_sha512 = (m = EVP_MD_fetch(NULL, "SHA512", NULL)) != NULL ? m : EVP_sha512();
	c_gcm = (c = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) != NULL ? c : EVP_aes_256_gcm();
}

const EVP_MD *coffer_sha256(void)
{
	pthread_once(&fetch_once, fetch_all);
	return md_sha256;
}

const EVP_MD *coffer_sha384(void)
{
	pthread_once(&fetch_once, fetch_all);
	return md_sha384;
}

const EVP_MD *coffer_sha512(void)
{
	pthread_once(&fetch_once, fetch_all);
	return md_sha512;
}

const EVP_CIPHER *coffer_aes256gcm(void)
{
	pthread_once(&fetch_once, fetch_all);
	return c_gcm;
}
