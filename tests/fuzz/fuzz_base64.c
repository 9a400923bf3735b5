/* libFuzzer target: strict base64 and hex decoders, with a round trip. */
#include <stdlib.h>
#include <string.h>

#include "coffer/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int v = COFFER_B64_STD; v <= COFFER_B64_URL_NOPAD; v++) {
		uint8_t *out = NULL;
		size_t n = 0;
		if (coffer_base64_decode(&out, &n, (const char *)data, size, (coffer_b64)v) == 0) {
			char *again = NULL;
			size_t m = 0;
			/* strict decoding means canonical: re-encoding gives the input back */
			if (coffer_base64_encode(&again, &m, out, n, (coffer_b64)v) != 0 ||
			    m != size || memcmp(again, data, size) != 0)
				abort();
			free(again);
			free(out);
		}
	}
	{
		uint8_t *out = NULL;
		size_t n = 0;
		if (coffer_hex_decode(&out, &n, (const char *)data, size) == 0) {
			if (n != size / 2)
				abort();
			free(out);
		}
	}
	return 0;
}
