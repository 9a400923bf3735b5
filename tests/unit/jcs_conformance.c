/*
 * RFC 8785 conformance: every case of $COFFER_CONFORMANCE/jcs (input/<x>.json)
 * must canonicalize to output/<x>.json byte for byte, and to the bytes
 * listed in outhex/<x>.txt. Skipped (77) when the suite is absent.
 */
#include <ctype.h>
#include <dirent.h>

#include "coffer/json.h"
#include "test_util.h"

static char suite[4096];

static int is_json_name(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".json") == 0;
}

/* outhex/<x>.txt: hex byte pairs separated by white space. */
static uint8_t *read_hex(const char *path, size_t *len)
{
	size_t n = 0, tlen;
	uint8_t *text = test_read_file(path, &tlen);
	uint8_t *out = malloc(tlen / 2 + 1);
	int hi = -1;

	assert_non_null(out);
	for (size_t i = 0; i < tlen; i++) {
		int c = text[i], v = 0;

		if (isspace(c))
			continue;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			fail_msg("%s: unexpected character 0x%02x", path, c);
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	assert_int_equal(hi, -1);
	free(text);
	*len = n;
	return out;
}

static void run_case(const char *name)
{
	char path[8192], base[256];
	size_t in_len, want_len, hex_len, got_len = 0, n = strlen(name);
	uint8_t *in, *want, *hex;
	char *got = NULL;
	json_t *v = NULL;

	assert_true(n - 5 < sizeof(base));
	memcpy(base, name, n - 5);
	base[n - 5] = '\0';

	snprintf(path, sizeof(path), "%s/input/%s", suite, name);
	in = test_read_file(path, &in_len);
	snprintf(path, sizeof(path), "%s/output/%s", suite, name);
	want = test_read_file(path, &want_len);
	snprintf(path, sizeof(path), "%s/outhex/%s.txt", suite, base);
	hex = read_hex(path, &hex_len);

	/* the suite's own two forms of the answer agree */
	assert_int_equal(want_len, hex_len);
	assert_memory_equal(want, hex, hex_len);

	if (coffer_json_parse(&v, (const char *)in, in_len,
	                      COFFER_JSON_NUMBERS_AS_REAL | COFFER_JSON_ANY) != 0)
		fail_msg("%s: parse: %s", name, coffer_error_last());
	if (coffer_jcs_serialize(&got, &got_len, v) != 0)
		fail_msg("%s: JCS: %s", name, coffer_error_last());
	if (got_len != want_len || memcmp(got, want, want_len) != 0)
		fail_msg("%s:\n got  %.*s\n want %.*s", name, (int)got_len, got, (int)want_len,
		         (const char *)want);
	printf("jcs %s: ok (%zu bytes)\n", base, got_len);

	json_decref(v);
	free(got);
	free(in);
	free(want);
	free(hex);
}

static void test_jcs_suite(void **state)
{
	struct dirent **ents = NULL;
	char path[8192];
	int n;

	(void)state;
	snprintf(path, sizeof(path), "%s/input", suite);
	n = scandir(path, &ents, is_json_name, alphasort);
	if (n <= 0)
		fail_msg("%s: no cases", path);
	for (int i = 0; i < n; i++) {
		run_case(ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
	printf("jcs conformance: %d/%d cases byte-identical\n", n, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jcs_suite),
	};
	const char *dir = test_env_dir("COFFER_CONFORMANCE");
	struct stat st;

	if (dir == NULL)
		test_skip_all("COFFER_CONFORMANCE is not set or not a directory");
	snprintf(suite, sizeof(suite), "%s/jcs", dir);
	if (stat(suite, &st) != 0 || !S_ISDIR(st.st_mode))
		test_skip_all("no jcs suite under COFFER_CONFORMANCE");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
