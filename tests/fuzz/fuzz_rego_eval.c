/* libFuzzer target: compile a module and evaluate the whole data document
 * under tight bounds. Input: module text, optionally followed by a line
 * "#input" and a JSON input document. Any outcome but a crash, a hang or a
 * leak is fine: errors are expected. */
#include <stdlib.h>
#include <string.h>

#include "coffer/rego.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char sep[] = "\n#input\n";
	const char *src = (const char *)data;
	size_t mlen = size;
	json_t *input = NULL;
	coffer_rego_policy *p = NULL;
	coffer_rego_query *q = NULL;
	coffer_rego_diag d;

	for (size_t i = 0; i + sizeof(sep) - 1 <= size; i++) {
		if (memcmp(src + i, sep, sizeof(sep) - 1) == 0) {
			json_error_t e;
			mlen = i;
			input = json_loadb(src + i + sizeof(sep) - 1, size - i - (sizeof(sep) - 1),
			                   JSON_DECODE_ANY, &e);
			break;
		}
	}
	coffer_rego_module m = { "fuzz.rego", src, mlen };
	if (coffer_rego_policy_compile(&p, &m, 1, &d) == 0 &&
	    coffer_rego_query_compile(&q, p, "data", &d) == 0) {
		coffer_rego_limits lim = COFFER_REGO_LIMITS_INIT;
		json_t *res = NULL;
		lim.max_steps = 200000;
		lim.max_memory = 32 * 1024 * 1024;
		lim.max_depth = 64;
		lim.max_output = 256 * 1024;
		lim.now_ns = 1700000000000000000LL;
		if (coffer_rego_query_eval(&res, q, input, NULL, &lim, 0, &d) == 0 &&
		    !json_is_array(res))
			abort();
		json_decref(res);
	}
	coffer_rego_query_free(q);
	coffer_rego_policy_free(p);
	json_decref(input);
	return 0;
}
