/* The failing random source of fault_rand.h, through ld --wrap. */
#include <stdbool.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "fault_rand.h"

atomic_int test_rand_fail_after = -1;

int __real_RAND_bytes(unsigned char *buf, int num);
int __real_RAND_priv_bytes(unsigned char *buf, int num);
int __wrap_RAND_bytes(unsigned char *buf, int num);
int __wrap_RAND_priv_bytes(unsigned char *buf, int num);
int __real_BN_priv_rand_range_ex(BIGNUM *r, const BIGNUM *range, unsigned int strength,
                                 BN_CTX *ctx);
int __wrap_BN_priv_rand_range_ex(BIGNUM *r, const BIGNUM *range, unsigned int strength,
                                 BN_CTX *ctx);

/* Spend one pass of the budget, or fail once it is spent. Compare-and-swap,
 * because the thread tests draw from several threads at once. */
static bool rand_passes(void)
{
	int n = atomic_load(&test_rand_fail_after);

	while (n > 0 && !atomic_compare_exchange_weak(&test_rand_fail_after, &n, n - 1))
		;
	if (n != 0)
		return true;
	/* what coffer_error_set_ssl must report and then clear */
	ERR_raise(ERR_LIB_RAND, RAND_R_ERROR_RETRIEVING_ENTROPY);
	return false;
}

int __wrap_RAND_bytes(unsigned char *buf, int num)
{
	if (!rand_passes())
		return 0;
	return __real_RAND_bytes(buf, num);
}

int __wrap_RAND_priv_bytes(unsigned char *buf, int num)
{
	if (!rand_passes())
		return 0;
	return __real_RAND_priv_bytes(buf, num);
}

/* the ephemeral EC scalars of jose_ecdh_es (src/lib/jose/ec.c) */
int __wrap_BN_priv_rand_range_ex(BIGNUM *r, const BIGNUM *range, unsigned int strength, BN_CTX *ctx)
{
	if (!rand_passes())
		return 0;
	return __real_BN_priv_rand_range_ex(r, range, strength, ctx);
}
