/* libFuzzer target: compact JWS parse and verify, then JWT claim checks. */
#include <stdlib.h>
#include <string.h>

#include "coffer/jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const key_texts[] = {
	"{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"pK54RS8Rto2TwCBvdZBHPm-81dXlBd0N7DU17-84i7c\","
	"\"y\":\"g2kOj7WwlfW753kA5uCSlG-VBYvJvzC2fswxLbyQlG0\"}",
	"{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"0jalCWbnByyAUzkPEH_"
	"OwRXvk4lC2tHKTKDWOV7wNv0\"}",
};
static coffer_jwk *keys[2];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	coffer_jws *jws = NULL;
	json_t *claims;

	if (keys[0] == NULL) {
		for (int i = 0; i < 2; i++)
			if (coffer_jwk_parse(&keys[i], key_texts[i], strlen(key_texts[i])) != 0)
				abort();
	}
	if (coffer_jws_verify(&jws, (const char *)data, size, keys, 2) != 0) {
		if (jws != NULL)
			abort();
		return 0;
	}
	if (jws->key_index > 1 || jws->header == NULL)
		abort();
	claims = json_loadb((const char *)jws->payload, jws->payload_len, JSON_REJECT_DUPLICATES,
	                    NULL);
	if (claims != NULL) {
		coffer_jwt_checks c = COFFER_JWT_CHECKS_INIT;
		c.now = 1700000000;
		(void)coffer_jwt_check_claims(claims, &c);
		json_decref(claims);
	}
	coffer_jws_free(jws);
	return 0;
}
