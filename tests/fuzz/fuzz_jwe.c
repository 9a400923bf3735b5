/* libFuzzer target: JWE parse and decrypt (compact, flattened, general). */
#include <stdlib.h>
#include <string.h>

#include "coffer/jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char ec_key[] =
        "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"pK54RS8Rto2TwCBvdZBHPm-81dXlBd0N7DU17-84i7c\","
        "\"y\":\"g2kOj7WwlfW753kA5uCSlG-VBYvJvzC2fswxLbyQlG0\","
        "\"d\":\"rOagf3OJ-7IwVKJ68_5PwJOXAwYwGhgEVtYE48mjkwo\"}";
static coffer_jwk *ec, *rsa;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	coffer_jwe_decrypt_opts o = COFFER_JWE_DECRYPT_OPTS_INIT;
	coffer_secret out = COFFER_SECRET_INIT;

	if (ec == NULL) {
		if (coffer_jwk_parse(&ec, ec_key, strlen(ec_key)) != 0 ||
		    coffer_jwk_generate(&rsa, "RSA", NULL, 2048) != 0)
			abort();
	}
	o.allow_rsa1_5 = true;
	(void)coffer_jwe_decrypt(&out, (const char *)data, size, ec, &o);
	coffer_secret_free(&out);
	(void)coffer_jwe_decrypt(&out, (const char *)data, size, rsa, &o);
	coffer_secret_free(&out);
	return 0;
}
