/* libFuzzer target: the TOML parser, then both JSON conversions of what it
 * accepted. Input size and depth are bounded by the parser options. */
#include <stdlib.h>
#include <string.h>

#include "coffer/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	coffer_toml_options opts = COFFER_TOML_OPTIONS_INIT;
	coffer_toml *doc = NULL;
	json_t *j = NULL;

	opts.max_input = 64 * 1024;
	opts.max_depth = 32;
	if (coffer_toml_parse(&doc, (const char *)data, size, &opts) != 0) {
		if (doc != NULL)
			abort(); /* failure must leave *out empty */
		return 0;
	}
	if (coffer_toml_to_tagged_json(&j, coffer_toml_root(doc)) != 0)
		abort(); /* every parsed document has a tagged form */
	char *s = json_dumps(j, JSON_COMPACT);
	if (s == NULL)
		abort();
	free(s);
	json_decref(j);
	j = NULL;
	/* plain JSON fails only for inf / nan */
	if (coffer_toml_to_json(&j, coffer_toml_root(doc)) == 0)
		json_decref(j);
	coffer_toml_free(doc);
	return 0;
}
