/*
 * libFuzzer target: the strict JSON parser under every flag combination, and
 * JCS idempotence: canonical output parses again and canonicalizes to the
 * same bytes. The compact dump must be jansson's, byte for byte, and parse
 * back to an equal value.
 */
#include <stdlib.h>
#include <string.h>

#include "coffer/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_jcs(const json_t *v)
{
	char *first = NULL, *second = NULL;
	size_t first_len = 0, second_len = 0;
	json_t *again = NULL;

	/* refusals (integers beyond 2^53) are allowed; anything else is a bug */
	if (coffer_jcs_serialize(&first, &first_len, v) != 0)
		return;
	if (strlen(first) != first_len)
		abort();
	/* numbers as doubles: "295147905179352830000" is a JCS number too */
	if (coffer_json_parse(&again, first, first_len,
	                      COFFER_JSON_NUMBERS_AS_REAL | COFFER_JSON_ANY) != 0)
		abort();
	if (coffer_jcs_serialize(&second, &second_len, again) != 0)
		abort();
	if (first_len != second_len || memcmp(first, second, first_len) != 0)
		abort();
	json_decref(again);
	free(first);
	free(second);
}

static void check_dump(const json_t *v, unsigned flags)
{
	char *s = NULL, *theirs;
	size_t len = 0;
	json_t *again = NULL;

	if (coffer_json_dump(&s, &len, v) != 0)
		abort();
	/* coffer's writer gives jansson's compact bytes */
	theirs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (theirs == NULL || strlen(theirs) != len || memcmp(theirs, s, len) != 0)
		abort();
	free(theirs);
	if (coffer_json_parse(&again, s, len, flags | COFFER_JSON_ANY) != 0 ||
	    !json_equal(again, v))
		abort();
	json_decref(again);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (unsigned flags = 0; flags < 8; flags++) {
		json_t *v = NULL;

		if (coffer_json_parse(&v, (const char *)data, size, flags) != 0) {
			if (v != NULL)
				abort();
			continue;
		}
		if (v == NULL)
			abort();
		if (!(flags & COFFER_JSON_ANY) && !json_is_object(v) && !json_is_array(v))
			abort();
		check_jcs(v);
		check_dump(v, flags & COFFER_JSON_NUMBERS_AS_REAL);
		json_decref(v);
	}
	return 0;
}
