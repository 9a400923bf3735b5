/*
 * libFuzzer target: every parser the KBS client runs on a broker's answer
 * (auth challenge, attest token, resource JWE, error body). The broker is
 * outside the TEE, so these parsers face hostile input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "coffer/kbs_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	char *a = NULL, *b = NULL, *text;
	int64_t exp = 0;
	json_t *jwe = NULL;

	if (coffer_kbs_parse_challenge(&a, &b, body, size) == 0) {
		free(a);
		free(b);
	}
	if (coffer_kbs_parse_attest_response(&a, &exp, body, size) == 0)
		free(a);
	if (coffer_kbs_parse_resource_jwe(&jwe, body, size, "ECDH-ES+A256KW") == 0)
		json_decref(jwe);
	jwe = NULL;
	if (coffer_kbs_parse_resource_jwe(&jwe, body, size, NULL) == 0)
		json_decref(jwe);
	text = coffer_kbs_error_text(body, size);
	free(text);
	return 0;
}
