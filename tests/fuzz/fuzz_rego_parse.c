/* libFuzzer target: parse and compile one Rego module; also as a query. */
#include <stdlib.h>
#include <string.h>

#include "coffer/rego.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	coffer_rego_module m = { "fuzz.rego", (const char *)data, size };
	coffer_rego_policy *p = NULL;
	coffer_rego_diag d;

	if (coffer_rego_policy_compile(&p, &m, 1, &d) == 0) {
		coffer_rego_policy_free(p);
	} else if (d.line < 0 || d.col < 0) {
		abort();
	}
	/* the same bytes as a query against an empty policy */
	coffer_rego_module empty = { "e.rego", "package e\n", 10 };
	if (coffer_rego_policy_compile(&p, &empty, 1, &d) != 0)
		abort();
	char *q = malloc(size + 1);
	if (q) {
		memcpy(q, data, size);
		q[size] = '\0';
		coffer_rego_query *qq = NULL;
		if (coffer_rego_query_compile(&qq, p, q, &d) == 0)
			coffer_rego_query_free(qq);
		free(q);
	}
	coffer_rego_policy_free(p);
	return 0;
}
