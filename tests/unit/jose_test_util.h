/* Shared by the JOSE unit tests. */
#ifndef COFFER_JOSE_TEST_UTIL_H
#define COFFER_JOSE_TEST_UTIL_H

#include "test_util.h"

#include <openssl/evp.h>

#include "coffer/jose.h"

/* RSA key generation dominates these tests' run time (minutes under
 * valgrind): each size keeps a pool of two keys handed out in turn, so two
 * consecutive calls (a key and "another key") still differ. The first use of
 * each is a real coffer_jwk_generate. */
static inline coffer_jwk *gen_rsa_pooled(int bits)
{
	static struct {
		int bits;
		EVP_PKEY *p[2];
		unsigned next;
	} pool[4];
	coffer_jwk *k = NULL;
	size_t i;

	for (i = 0; i < 4 && pool[i].bits != 0 && pool[i].bits != bits; i++)
		;
	if (i == 4)
		fail_msg("RSA key pool full");
	pool[i].bits = bits;
	unsigned slot = pool[i].next++ % 2;
	if (pool[i].p[slot] == NULL) {
		if (coffer_jwk_generate(&k, "RSA", NULL, bits) != 0)
			fail_msg("generate RSA %d: %s", bits, coffer_error_last());
		pool[i].p[slot] = coffer_jwk_pkey(k);
		EVP_PKEY_up_ref(pool[i].p[slot]);
		return k;
	}
	if (coffer_jwk_from_pkey(&k, pool[i].p[slot]) != 0)
		fail_msg("from_pkey: %s", coffer_error_last());
	return k;
}

#endif
