/* libFuzzer target: JWK / PEM text -> key, with export round trips. */
#include <stdlib.h>
#include <string.h>

#include "coffer/jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	coffer_jwk *k = NULL, *k2 = NULL, *pub = NULL;
	json_t *j = NULL;
	char *t1 = NULL, *t2 = NULL, *pem = NULL;

	if (coffer_jwk_parse(&k, (const char *)data, size) != 0)
		return 0;
	/* an accepted key must export, re-import and keep its thumbprint; the one
	 * exception is an RSA public key, whose OpenSSL check (SP 800-56B: the
	 * modulus is composite and not a prime power) uses random Miller-Rabin
	 * witnesses, so a fuzzed modulus may pass once and fail the next time */
	if (coffer_jwk_to_json(&j, k, true) != 0)
		abort();
	if (coffer_jwk_from_json(&k2, j) != 0) {
		if (strcmp(coffer_jwk_kty(k), "RSA") != 0 || coffer_jwk_has_private(k))
			abort();
		json_decref(j);
		coffer_jwk_free(k);
		return 0;
	}
	if (coffer_jwk_thumbprint(&t1, k) != 0 || coffer_jwk_thumbprint(&t2, k2) != 0 ||
	    strcmp(t1, t2) != 0 || coffer_jwk_has_private(k) != coffer_jwk_has_private(k2))
		abort();
	if (coffer_jwk_public(&pub, k) != 0 || coffer_jwk_has_private(pub))
		abort();
	if (coffer_jwk_to_pem(&pem, k, false) != 0)
		abort();
	free(pem);
	free(t1);
	free(t2);
	json_decref(j);
	coffer_jwk_free(k);
	coffer_jwk_free(k2);
	coffer_jwk_free(pub);
	return 0;
}
