/* Algorithms fetched once (include/coffer/evp.h). */
#include <pthread.h>

#include "coffer/evp.h"

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha256, *md_sha384, *md_sha512;
static EVP_CIPHER *c_gcm;

static void fetch_all(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	md_sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
	md_sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
	c_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

const EVP_MD *coffer_sha256(void)
{
	pthread_once(&fetch_once, fetch_all);
	return md_sha256 != NULL ? md_sha256 : EVP_sha256();
}

const EVP_MD *coffer_sha384(void)
{
	pthread_once(&fetch_once, fetch_all);
	return md_sha384 != NULL ? md_sha384 : EVP_sha384();
}

const EVP_MD *coffer_sha512(void)
{
	pthread_once(&fetch_once, fetch_all);
	return md_sha512 != NULL ? md_sha512 : EVP_sha512();
}

const EVP_CIPHER *coffer_aes256gcm(void)
{
	pthread_once(&fetch_once, fetch_all);
	return c_gcm != NULL ? c_gcm : EVP_aes_256_gcm();
}
