/* Unit tests of src/lib/json: strict parsing, JCS (RFC 8785), accessors. */
#include <math.h>

#include "coffer/json.h"
#include "test_util.h"

/* ---- helpers ---- */

static json_t *parse_ok(const char *text, unsigned flags)
{
	json_t *v = NULL;
	int rc = coffer_json_parse(&v, text, strlen(text), flags);

	if (rc != 0)
		fail_msg("parse of '%s' failed: %s", text, coffer_error_last());
	assert_non_null(v);
	return v;
}

static int parse_rc(const char *text, size_t len, unsigned flags)
{
	json_t *v = (json_t *)1;
	int rc = coffer_json_parse(&v, text, len, flags);

	if (rc == 0)
		json_decref(v);
	else
		assert_null(v);
	return rc;
}

/* Expect a failure with `code` whose message contains `needle`. */
static void parse_fails(const char *text, size_t len, unsigned flags, int code, const char *needle)
{
	int rc = parse_rc(text, len, flags);

	if (rc != code)
		fail_msg("parse of '%.*s': got %d, want %d (%s)", (int)len, text, rc, code,
		         coffer_error_last());
	if (needle != NULL && strstr(coffer_error_last(), needle) == NULL)
		fail_msg("message '%s' lacks '%s'", coffer_error_last(), needle);
}

static void jcs_is(const json_t *v, const char *want)
{
	char *out = NULL;
	size_t len = 0;

	if (coffer_jcs_serialize(&out, &len, v) != 0)
		fail_msg("JCS failed: %s", coffer_error_last());
	assert_int_equal(len, strlen(want));
	assert_memory_equal(out, want, len);
	assert_int_equal(out[len], '\0');
	free(out);
}

/* Parse (as JCS input: doubles, any top level), canonicalize, compare. */
static void canon_is(const char *in, const char *want)
{
	json_t *v = parse_ok(in, COFFER_JSON_NUMBERS_AS_REAL | COFFER_JSON_ANY);

	jcs_is(v, want);
	json_decref(v);
}

static void jcs_fails(const json_t *v, int code, const char *needle)
{
	char *out = (char *)1;
	size_t len = 99;
	int rc = coffer_jcs_serialize(&out, &len, v);

	if (rc != code)
		fail_msg("JCS: got %d, want %d (%s)", rc, code, coffer_error_last());
	assert_null(out);
	assert_int_equal(len, 0);
	if (needle != NULL && strstr(coffer_error_last(), needle) == NULL)
		fail_msg("message '%s' lacks '%s'", coffer_error_last(), needle);
}

static double from_bits(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

/* ---- numbers ---- */

/* RFC 8785 Appendix B: IEEE 754 bit patterns and their JCS form. */
static const struct {
	uint64_t bits;
	const char *want; /* NULL: must be refused */
} rfc8785_numbers[] = {
	{ 0x0000000000000000ULL, "0" },
	{ 0x8000000000000000ULL, "0" },
	{ 0x0000000000000001ULL, "5e-324" },
	{ 0x8000000000000001ULL, "-5e-324" },
	{ 0x7fefffffffffffffULL, "1.7976931348623157e+308" },
	{ 0xffefffffffffffffULL, "-1.7976931348623157e+308" },
	{ 0x4340000000000000ULL, "9007199254740992" },
	{ 0xc340000000000000ULL, "-9007199254740992" },
	{ 0x4430000000000000ULL, "295147905179352830000" },
	{ 0x7fffffffffffffffULL, NULL },
	{ 0x7ff0000000000000ULL, NULL },
	{ 0x44b52d02c7e14af5ULL, "9.999999999999997e+22" },
	{ 0x44b52d02c7e14af6ULL, "1e+23" },
	{ 0x44b52d02c7e14af7ULL, "1.0000000000000001e+23" },
	{ 0x444b1ae4d6e2ef4eULL, "999999999999999700000" },
	{ 0x444b1ae4d6e2ef4fULL, "999999999999999900000" },
	{ 0x444b1ae4d6e2ef50ULL, "1e+21" },
	{ 0x3eb0c6f7a0b5ed8cULL, "9.999999999999997e-7" },
	{ 0x3eb0c6f7a0b5ed8dULL, "0.000001" },
	{ 0x41b3de4355555553ULL, "333333333.3333332" },
	{ 0x41b3de4355555554ULL, "333333333.33333325" },
	{ 0x41b3de4355555555ULL, "333333333.3333333" },
	{ 0x41b3de4355555556ULL, "333333333.3333334" },
	{ 0x41b3de4355555557ULL, "333333333.33333343" },
	{ 0xbecbf647612f3696ULL, "-0.0000033333333333333333" },
	{ 0x43143ff3c1cb0959ULL, "1424953923781206.2" },
};

static void test_rfc8785_appendix_b(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rfc8785_numbers) / sizeof(rfc8785_numbers[0]); i++) {
		char out[32];
		int rc = coffer_jcs_format_number(out, from_bits(rfc8785_numbers[i].bits));

		if (rfc8785_numbers[i].want == NULL) {
			assert_int_equal(rc, COFFER_EINVAL);
			continue;
		}
		if (rc != 0 || strcmp(out, rfc8785_numbers[i].want) != 0)
			fail_msg("%016llx: got '%s' (%d), want '%s'",
			         (unsigned long long)rfc8785_numbers[i].bits, out, rc,
			         rfc8785_numbers[i].want);
	}
}

static void test_number_layout(void **state)
{
	static const struct {
		double d;
		const char *want;
	} cases[] = {
		{ 1, "1" },
		{ -1, "-1" },
		{ 1.5, "1.5" },
		{ 0.1, "0.1" },
		{ 100, "100" },
		{ 123456789012345680000.0, "123456789012345680000" },
		{ 1e20, "100000000000000000000" },
		{ 1e21, "1e+21" },
		{ 1.5e21, "1.5e+21" },
		{ 1e-6, "0.000001" },
		{ 1.25e-6, "0.00000125" },
		{ 1e-7, "1e-7" },
		{ -1.25e-7, "-1.25e-7" },
		{ 4.5, "4.5" },
		{ 2e-3, "0.002" },
		{ 1e30, "1e+30" },
		{ 1e-27, "1e-27" },
		{ 5e-324, "5e-324" },
		/* 2^122: its rounding interval is lopsided (a power of two), the
		 * closest 16 digit form does not read back but the next one up does */
		{ 5316911983139663491615228241121378304.0, "5.316911983139664e+36" },
	};
	char out[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(coffer_jcs_format_number(out, cases[i].d), 0);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("%a: got '%s', want '%s'", cases[i].d, out, cases[i].want);
	}
	assert_int_equal(coffer_jcs_format_number(out, NAN), COFFER_EINVAL);
	assert_non_null(strstr(coffer_error_last(), "NaN"));
	assert_int_equal(coffer_jcs_format_number(out, -INFINITY), COFFER_EINVAL);
	assert_non_null(strstr(coffer_error_last(), "Infinity"));
	assert_int_equal(coffer_jcs_format_number(out, -0.0), 0);
	assert_string_equal(out, "0");
}

/* Every double whose shortest form has few digits prints them back. */
static void test_number_round_trip(void **state)
{
	char out[32];

	(void)state;
	for (int e = -330; e <= 310; e += 7) {
		for (int m = 1; m < 1000; m += 37) {
			char src[32], *end;
			double d, back;

			snprintf(src, sizeof(src), "%de%d", m, e);
			d = strtod(src, NULL);
			if (!isfinite(d) || d == 0)
				continue;
			assert_int_equal(coffer_jcs_format_number(out, d), 0);
			back = strtod(out, &end);
			assert_int_equal(*end, '\0');
			if (back != d)
				fail_msg("%s printed as %s, reads back as %a", src, out, back);
			assert_true(strlen(out) < 32);
		}
	}
}

static void test_integers(void **state)
{
	json_t *v;

	(void)state;
	v = json_integer(9007199254740992LL);
	jcs_is(v, "9007199254740992");
	json_decref(v);
	v = json_integer(-9007199254740992LL);
	jcs_is(v, "-9007199254740992");
	json_decref(v);
	v = json_integer(9007199254740993LL);
	jcs_fails(v, COFFER_EINVAL, "2^53");
	json_decref(v);
	v = json_integer(-9007199254740993LL);
	jcs_fails(v, COFFER_EINVAL, "2^53");
	json_decref(v);
	v = json_integer(INT64_MIN);
	jcs_fails(v, COFFER_EINVAL, "2^53");
	json_decref(v);

	/* integers from the strict (non-double) parse */
	v = parse_ok("[0,-0,7,-42,9007199254740992]", 0);
	jcs_is(v, "[0,0,7,-42,9007199254740992]");
	json_decref(v);
	v = parse_ok("[9007199254740993]", 0);
	jcs_fails(v, COFFER_EINVAL, "2^53");
	json_decref(v);
	/* beyond int64: jansson refuses it outright */
	parse_fails("[99999999999999999999]", 22, 0, COFFER_EINVAL, "too big");
	/* as doubles (JCS input) it is rounded, as JavaScript does */
	canon_is("[99999999999999999999, 9007199254740993, -0.0, 56.0]",
	         "[100000000000000000000,9007199254740992,0,56]");
	/* beyond the double range */
	parse_fails("[1e400]", 7, COFFER_JSON_NUMBERS_AS_REAL, COFFER_EINVAL, "overflow");
	parse_fails("[-1e400]", 8, 0, COFFER_EINVAL, "overflow");
}

/* ---- strings and sorting ---- */

static void test_sort_utf16(void **state)
{
	(void)state;
	/* RFC 8785 3.2.3: U+1F600 (D83D DE00) sorts before U+FB33 in UTF-16
	 * although its UTF-8 bytes (F0...) sort after EF AC B3 */
	canon_is("{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\","
	         "\"\\ufb33\":\"Hebrew Letter Dalet With Dagesh\",\"1\":\"One\","
	         "\"\\ud83d\\ude00\":\"Emoji: Grinning Face\",\"\\u0080\":\"Control\","
	         "\"\\u00f6\":\"Latin Small Letter O With Diaeresis\"}",
	         "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
	         "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
	         "\"\xe2\x82\xac\":\"Euro Sign\",\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
	         "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
	/* U+FFFF is above every surrogate pair; two pairs order by the low one;
	 * a prefix sorts first; the empty name is first of all */
	canon_is("{\"\\uffff\":1,\"\\ud83d\\ude01\":2,\"\\ud83d\\ude00\":3,\"\\ud800\\udc00\":4,"
	         "\"aa\":5,\"a\":6,\"\":7,\"B\":8}",
	         "{\"\":7,\"B\":8,\"a\":6,\"aa\":5,\"\xf0\x90\x80\x80\":4,"
	         "\"\xf0\x9f\x98\x80\":3,\"\xf0\x9f\x98\x81\":2,\"\xef\xbf\xbf\":1}");
	/* nested objects are sorted too, arrays keep their order */
	canon_is("{\"b\":[{\"z\":1,\"y\":2}],\"a\":{\"d\":{},\"c\":[]}}",
	         "{\"a\":{\"c\":[],\"d\":{}},\"b\":[{\"y\":2,\"z\":1}]}");
}

static void test_string_escapes(void **state)
{
	json_t *v;
	char in[200], want[300];
	size_t n = 0, w = 0;

	(void)state;
	canon_is("\"\\u0008\\u0009\\u000a\\u000c\\u000d\\\"\\\\\\/\\u001f\\u007f\\u2028\"",
	         "\"\\b\\t\\n\\f\\r\\\"\\\\/\\u001f\x7f\xe2\x80\xa8\"");
	/* every C0 control: short form for the five, \u00xx lowercase otherwise */
	in[n++] = '"';
	want[w++] = '"';
	for (int c = 1; c < 0x20; c++) {
		n += (size_t)snprintf(in + n, sizeof(in) - n, "\\u%04X", c);
		switch (c) {
		case '\b':
			w += (size_t)snprintf(want + w, sizeof(want) - w, "\\b");
			break;
		case '\t':
			w += (size_t)snprintf(want + w, sizeof(want) - w, "\\t");
			break;
		case '\n':
			w += (size_t)snprintf(want + w, sizeof(want) - w, "\\n");
			break;
		case '\f':
			w += (size_t)snprintf(want + w, sizeof(want) - w, "\\f");
			break;
		case '\r':
			w += (size_t)snprintf(want + w, sizeof(want) - w, "\\r");
			break;
		default:
			w += (size_t)snprintf(want + w, sizeof(want) - w, "\\u%04x", c);
			break;
		}
	}
	in[n++] = '"';
	in[n] = '\0';
	want[w++] = '"';
	want[w] = '\0';
	canon_is(in, want);

	/* NUL cannot come from the parser, but a caller can build it */
	v = json_stringn("a\0b", 3);
	assert_non_null(v);
	jcs_is(v, "\"a\\u0000b\"");
	json_decref(v);
	v = json_object();
	assert_int_equal(json_object_setn_new(v, "k\0", 2, json_true()), 0);
	assert_int_equal(json_object_set_new(v, "k", json_false()), 0);
	jcs_is(v, "{\"k\":false,\"k\\u0000\":true}");
	json_decref(v);
}

static void test_jcs_refuses(void **state)
{
	json_t *v, *a, *b;

	(void)state;
	jcs_fails(NULL, COFFER_EINVAL, NULL);
	/* strings and names that bypassed jansson's UTF-8 check */
	v = json_stringn_nocheck("\xc3\x28", 2);
	jcs_fails(v, COFFER_EINVAL, "UTF-8");
	json_decref(v);
	v = json_stringn_nocheck("\xed\xa0\x80", 3);
	jcs_fails(v, COFFER_EINVAL, "UTF-8");
	json_decref(v);
	v = json_stringn_nocheck("\xf0\x9f\x98", 3);
	jcs_fails(v, COFFER_EINVAL, "UTF-8");
	json_decref(v);
	v = json_object();
	assert_int_equal(json_object_set_new(v, "ok", json_null()), 0);
	assert_int_equal(json_object_set_new_nocheck(v, "\xc0\xaf", json_null()), 0);
	jcs_fails(v, COFFER_EINVAL, "member name");
	json_decref(v);
	/* a cycle ends at the depth limit */
	a = json_array();
	b = json_array();
	assert_int_equal(json_array_append(a, b), 0);
	assert_int_equal(json_array_append(b, a), 0);
	jcs_fails(a, COFFER_ELIMIT, "nesting");
	json_array_clear(b);
	json_decref(b);
	json_decref(a);
}

static json_t *nest(int depth)
{
	json_t *v = json_integer(1);

	for (int i = 0; i < depth; i++) {
		json_t *a = json_array();
		assert_int_equal(json_array_append_new(a, v), 0);
		v = a;
	}
	return v;
}

static void test_jcs_depth(void **state)
{
	json_t *v;

	(void)state;
	v = nest(COFFER_JSON_MAX_DEPTH);
	{
		char *out = NULL;
		size_t len = 0;
		assert_int_equal(coffer_jcs_serialize(&out, &len, v), 0);
		assert_int_equal(len, 2 * COFFER_JSON_MAX_DEPTH + 1);
		free(out);
	}
	json_decref(v);
	v = nest(COFFER_JSON_MAX_DEPTH + 1);
	jcs_fails(v, COFFER_ELIMIT, "nesting");
	json_decref(v);
}

/* ---- the strict parser ---- */

static char *nested_text(int depth, size_t *len)
{
	char *s = malloc((size_t)depth * 2 + 2);

	assert_non_null(s);
	memset(s, '[', (size_t)depth);
	memset(s + depth, ']', (size_t)depth);
	s[2 * depth] = '\0';
	*len = (size_t)depth * 2;
	return s;
}

static void test_parse_depth(void **state)
{
	size_t len;
	char *s;
	json_t *v;

	(void)state;
	s = nested_text(COFFER_JSON_MAX_DEPTH, &len);
	assert_int_equal(parse_rc(s, len, 0), 0);
	free(s);
	s = nested_text(COFFER_JSON_MAX_DEPTH + 1, &len);
	parse_fails(s, len, 0, COFFER_ELIMIT, "column 65");
	free(s);
	/* far beyond jansson's own limit of 2048 */
	s = nested_text(100000, &len);
	parse_fails(s, len, 0, COFFER_ELIMIT, "nesting");
	free(s);
	/* objects count as well */
	{
		char buf[1024];
		size_t n = 0;
		for (int i = 0; i <= COFFER_JSON_MAX_DEPTH; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "{\"a\":");
		parse_fails(buf, n, 0, COFFER_ELIMIT, "nesting");
	}
	/* brackets inside strings, escaped quotes included, do not count */
	{
		char buf[512];
		size_t n = 0;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "[\"\\\"");
		for (int i = 0; i < 200; i++)
			buf[n++] = (i & 1) ? '{' : '[';
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\"]");
		v = NULL;
		assert_int_equal(coffer_json_parse(&v, buf, n, 0), 0);
		json_decref(v);
	}
	/* the location of the overflow is reported with its line */
	{
		char buf[128];
		memcpy(buf, "\n\n  ", 4);
		memset(buf + 4, '[', COFFER_JSON_MAX_DEPTH + 1);
		parse_fails(buf, 4 + COFFER_JSON_MAX_DEPTH + 1, 0, COFFER_ELIMIT,
		            "line 3, column 67");
	}
}

static void test_parse_duplicates(void **state)
{
	json_t *v;

	(void)state;
	parse_fails("{\"a\":1,\"a\":2}", 13, 0, COFFER_EINVAL, "duplicate");
	parse_fails("{\"x\":{\"a\":1,\"b\":{},\"a\":1}}", 26, COFFER_JSON_NUMBERS_AS_REAL,
	            COFFER_EINVAL, "duplicate");
	/* same name written with an escape */
	parse_fails("{\"a\":1,\"\\u0061\":2}", 18, 0, COFFER_EINVAL, "duplicate");
	/* allowed on request: the last one wins */
	v = parse_ok("{\"a\":1,\"a\":2}", COFFER_JSON_ALLOW_DUPLICATES);
	jcs_is(v, "{\"a\":2}");
	json_decref(v);
	/* different names differing only in case are fine */
	v = parse_ok("{\"a\":1,\"A\":2}", 0);
	jcs_is(v, "{\"A\":2,\"a\":1}");
	json_decref(v);
}

static void test_parse_trailing(void **state)
{
	json_t *v;

	(void)state;
	parse_fails("{} x", 4, 0, COFFER_EINVAL, "end of file expected");
	parse_fails("{}{}", 4, 0, COFFER_EINVAL, NULL);
	parse_fails("[1],", 4, 0, COFFER_EINVAL, NULL);
	parse_fails("1 2", 3, COFFER_JSON_ANY, COFFER_EINVAL, NULL);
	parse_fails("{}\0", 3, 0, COFFER_EINVAL, NULL);
	/* trailing whitespace is fine, and only `len` bytes are read */
	v = parse_ok(" \t\r\n{} \t\r\n", 0);
	json_decref(v);
	v = NULL;
	assert_int_equal(coffer_json_parse(&v, "[1]garbage", 3, 0), 0);
	jcs_is(v, "[1]");
	json_decref(v);
}

static void test_parse_utf8(void **state)
{
	static const struct {
		const char *text;
		size_t len;
	} bad[] = {
		{ "[\"\xc3\x28\"]", 6 },         /* bad continuation */
		{ "[\"\xc0\xaf\"]", 6 },         /* overlong '/' */
		{ "[\"\xe0\x80\xaf\"]", 7 },     /* overlong, 3 bytes */
		{ "[\"\xed\xa0\x80\"]", 7 },     /* encoded surrogate */
		{ "[\"\xf4\x90\x80\x80\"]", 8 }, /* above U+10FFFF */
		{ "[\"\xf5\x80\x80\x80\"]", 8 }, /* invalid lead byte */
		{ "[\"\xff\"]", 5 },             /* never valid */
		{ "[\"\xe2\x82\"]", 6 },         /* truncated */
		{ "[\"\\ud800\"]", 10 },         /* lone high surrogate escape */
		{ "[\"\\udc00\"]", 10 },         /* lone low surrogate escape */
		{ "[\"\\ud800\\u0041\"]", 16 },  /* high surrogate + non-surrogate */
		{ "{\"\xc3\x28\":1}", 8 },       /* in a member name */
		{ "[1]\xff", 4 },                /* after the value */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_rc(bad[i].text, bad[i].len, 0);
		if (rc != COFFER_EINVAL)
			fail_msg("case %zu accepted (rc %d)", i, rc);
		assert_non_null(strstr(coffer_error_last(), "JSON: line 1"));
	}
}

static void test_parse_nul(void **state)
{
	(void)state;
	parse_fails("[\"a\\u0000b\"]", 12, 0, COFFER_EINVAL, "u0000");
	parse_fails("{\"a\\u0000\":1}", 13, 0, COFFER_EINVAL, NULL);
	/* a raw NUL byte, inside a string and outside */
	parse_fails("[\"a\0b\"]", 7, 0, COFFER_EINVAL, NULL);
	parse_fails("[1,\0 2]", 7, 0, COFFER_EINVAL, NULL);
}

/* A parse error never quotes the input: a malformed private JWK or a
 * resource value must not reach a log line through the message. */
static void test_parse_error_hides_input(void **state)
{
	static const char *const bad[] = {
		"{\"d\" \"S3CRETVALUEx\"}",     /* ':' expected near the string */
		"{\"d\": \"S3CRETVALUEx\" 1}",  /* '}' expected near '1' after it */
		"{\"d\": S3CRETVALUEx}",        /* invalid token */
		"[\"a\", \"S3CRETVALUEx",       /* unterminated string */
		"{\"k\": \"S3CRETVALUEx\\q\"}", /* invalid escape inside it */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *v = NULL;
		assert_int_equal(coffer_json_parse(&v, bad[i], strlen(bad[i]), 0), COFFER_EINVAL);
		assert_null(v);
		if (strstr(coffer_error_last(), "S3CRET") != NULL)
			fail_msg("error message quotes the input: %s", coffer_error_last());
		/* still says where */
		assert_non_null(strstr(coffer_error_last(), "line 1"));
	}
}

static void test_parse_values(void **state)
{
	json_t *v;

	(void)state;
	/* not JSON numbers */
	parse_fails("[NaN]", 5, 0, COFFER_EINVAL, NULL);
	parse_fails("[Infinity]", 10, COFFER_JSON_NUMBERS_AS_REAL, COFFER_EINVAL, NULL);
	parse_fails("[-Infinity]", 11, 0, COFFER_EINVAL, NULL);
	parse_fails("[01]", 4, 0, COFFER_EINVAL, NULL);
	parse_fails("[1.]", 4, 0, COFFER_EINVAL, NULL);
	parse_fails("[.5]", 4, 0, COFFER_EINVAL, NULL);
	parse_fails("[+1]", 4, 0, COFFER_EINVAL, NULL);
	parse_fails("[0x10]", 6, 0, COFFER_EINVAL, NULL);
	/* other syntax */
	parse_fails("[1,]", 4, 0, COFFER_EINVAL, NULL);
	parse_fails("{\"a\":1,}", 8, 0, COFFER_EINVAL, NULL);
	parse_fails("['a']", 5, 0, COFFER_EINVAL, NULL);
	parse_fails("{a:1}", 5, 0, COFFER_EINVAL, NULL);
	parse_fails("[\"\t\"]", 5, 0, COFFER_EINVAL, NULL);
	parse_fails("[\"\\x41\"]", 8, 0, COFFER_EINVAL, NULL);
	parse_fails("[true", 5, 0, COFFER_EINVAL, NULL);
	parse_fails("[\"abc", 5, 0, COFFER_EINVAL, NULL);
	parse_fails("/*c*/[]", 7, 0, COFFER_EINVAL, NULL);
	/* top-level scalars only with COFFER_JSON_ANY */
	parse_fails("1", 1, 0, COFFER_EINVAL, NULL);
	parse_fails("\"s\"", 3, 0, COFFER_EINVAL, NULL);
	parse_fails("null", 4, 0, COFFER_EINVAL, NULL);
	v = parse_ok("null", COFFER_JSON_ANY);
	assert_true(json_is_null(v));
	json_decref(v);
	v = parse_ok(" 1.50 ", COFFER_JSON_ANY);
	jcs_is(v, "1.5");
	json_decref(v);
	/* NUMBERS_AS_REAL turns integers into doubles */
	v = parse_ok("[1]", COFFER_JSON_NUMBERS_AS_REAL);
	assert_true(json_is_real(json_array_get(v, 0)));
	json_decref(v);
	v = parse_ok("[1]", 0);
	assert_true(json_is_integer(json_array_get(v, 0)));
	json_decref(v);
}

static void test_parse_empty_and_args(void **state)
{
	json_t *v = (json_t *)1;

	(void)state;
	parse_fails("", 0, 0, COFFER_EINVAL, "empty");
	parse_fails("", 0, COFFER_JSON_ANY, COFFER_EINVAL, "empty");
	parse_fails(" \n\t ", 4, COFFER_JSON_ANY, COFFER_EINVAL, "empty");
	parse_fails(" \n\t x", 5, COFFER_JSON_ANY, COFFER_EINVAL, "line 2");
	assert_int_equal(coffer_json_parse(&v, NULL, 0, 0), COFFER_EINVAL);
	assert_null(v);
	assert_int_equal(coffer_json_parse(&v, NULL, 5, 0), COFFER_EINVAL);
	assert_int_equal(coffer_json_parse(&v, "{}", 2, 0x100), COFFER_EINVAL);
	assert_non_null(strstr(coffer_error_last(), "flags"));
	assert_int_equal(coffer_json_parse(&v, "{}", COFFER_JSON_MAX_INPUT + 1, 0), COFFER_ELIMIT);
	assert_null(v);
	/* errors carry line and column */
	parse_fails("{\n  \"a\": 1,\n  \"b\": tru\n}", 24, 0, COFFER_EINVAL, "line 3");
}

/* ---- dump and accessors ---- */

static void test_dump(void **state)
{
	json_t *v;
	char *s = (char *)1;
	size_t len = 1;

	(void)state;
	v = parse_ok("{ \"z\" : 1, \"a\" : [ true, null, \"x\\n\" ], \"m\" : 2.5 }", 0);
	assert_int_equal(coffer_json_dump(&s, &len, v), 0);
	assert_string_equal(s, "{\"z\":1,\"a\":[true,null,\"x\\n\"],\"m\":2.5}");
	assert_int_equal(len, strlen(s));
	free(s);
	json_decref(v);
	v = json_string("s");
	assert_int_equal(coffer_json_dump(&s, NULL, v), 0);
	assert_string_equal(s, "\"s\"");
	free(s);
	json_decref(v);
	assert_int_equal(coffer_json_dump(&s, &len, NULL), COFFER_EINVAL);
	assert_null(s);
	assert_int_equal(len, 0);
}

/* coffer_json_dump writes what json_dumps(JSON_COMPACT | JSON_ENCODE_ANY)
 * writes, byte for byte; `v` is released. */
static void expect_dump_as_jansson(json_t *v)
{
	char *ours = NULL, *theirs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t len = 0;

	assert_non_null(theirs);
	if (coffer_json_dump(&ours, &len, v) != 0)
		fail_msg("dump failed: %s (jansson: %s)", coffer_error_last(), theirs);
	if (strcmp(ours, theirs) != 0)
		fail_msg("dump differs:\n ours   %s\n jansson %s", ours, theirs);
	assert_int_equal(len, strlen(theirs));
	free(ours);
	free(theirs);
	json_decref(v);
}

/* A random value from a fixed generator: strings from an alphabet of every
 * C0 control, the characters JSON escapes, DEL and 2-, 3- and 4-byte UTF-8;
 * integers at the edges; reals jansson formats in different ways. */
static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

static void rnd_text(char *buf, size_t *len)
{
	static const char *const alphabet[] = { "a",
		                                "Z",
		                                "0",
		                                " ",
		                                "\"",
		                                "\\",
		                                "/",
		                                "\x7f",
		                                "\xc3\xa9",
		                                "\xe2\x82\xac",
		                                "\xef\xbf\xbf",
		                                "\xf0\x9f\x94\x91",
		                                "\xed\x9f\xbf",
		                                "\xee\x80\x80" };
	size_t n = rnd() % 12, at = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t pick = rnd() % 46;
		if (pick < 32) {
			buf[at++] = (char)pick; /* a C0 control, NUL included */
		} else {
			const char *a = alphabet[pick - 32];
			memcpy(buf + at, a, strlen(a));
			at += strlen(a);
		}
	}
	*len = at;
}

static json_t *rnd_value(unsigned depth)
{
	static const double reals[] = {
		0.0,   -0.0,  0.1,           2.5,    1.0,
		-1e-7, 1e300, 123456789.125, 5e-324, 1.7976931348623157e308
	};
	static const json_int_t ints[] = { 0, -1, 1, INT64_MAX, INT64_MIN, 9007199254740993LL };
	uint32_t kind = rnd() % (depth > 4 ? 5 : 7);
	char text[12 * 4];
	size_t len = 0;

	switch (kind) {
	case 0:
		return json_integer(ints[rnd() % 6]);
	case 1:
		return json_real(reals[rnd() % 10]);
	case 2:
		return rnd() % 3 == 0 ? json_null() : json_boolean(rnd() % 2);
	case 3:
	case 4:
		rnd_text(text, &len);
		return json_stringn(text, len);
	case 5: {
		json_t *a = json_array();
		for (uint32_t i = rnd() % 5; i > 0; i--)
			json_array_append_new(a, rnd_value(depth + 1));
		return a;
	}
	default: {
		json_t *o = json_object();
		for (uint32_t i = rnd() % 6; i > 0; i--) {
			rnd_text(text, &len);
			json_object_setn_new(o, text, len, rnd_value(depth + 1));
		}
		/* a member removed and another added: insertion order survives */
		if (json_object_size(o) > 1 && rnd() % 2) {
			json_object_del(o, json_object_iter_key(json_object_iter(o)));
			json_object_set_new(o, "late", json_true());
		}
		return o;
	}
	}
}

static void test_dump_matches_jansson(void **state)
{
	json_t *v, *deep, *cyc;
	char *s = (char *)1;
	size_t len = 1;

	(void)state;
	/* members in insertion order, not sorted */
	expect_dump_as_jansson(
	        json_pack("{s:i,s:i,s:i,s:{}, s:[]}", "zz", 1, "a", 2, "m", 3, "e", "l"));
	/* every C0 control, NUL included, and the characters around them */
	for (int c = 0; c < 0x80; c++) {
		char one[3] = { 'x', (char)c, 'y' };
		expect_dump_as_jansson(json_stringn(one, 3));
	}
	expect_dump_as_jansson(json_integer(INT64_MIN));
	expect_dump_as_jansson(json_real(0.1));
	expect_dump_as_jansson(json_real(-0.0));
	expect_dump_as_jansson(json_real(1e22));
	/* a 1.8 KiB string grows the output past its first block */
	v = json_array();
	for (int i = 0; i < 64; i++)
		json_array_append_new(v, json_string("0123456789abcdef0123456789"));
	expect_dump_as_jansson(v);
	for (int i = 0; i < 3000; i++)
		expect_dump_as_jansson(rnd_value(0));
	/* 1024 levels are dumped, 1025 refused; so is a cycle, which jansson
	 * also refuses */
	deep = json_array();
	for (int i = 1; i < 1024; i++) {
		json_t *outer = json_array();
		json_array_append_new(outer, deep);
		deep = outer;
	}
	json_incref(deep);
	expect_dump_as_jansson(deep);
	v = json_array();
	json_array_append_new(v, deep);
	assert_int_equal(coffer_json_dump(&s, &len, v), COFFER_ELIMIT);
	assert_null(s);
	assert_int_equal(len, 0);
	json_decref(v);
	cyc = json_array();
	v = json_array();
	json_array_append_new(cyc, v);
	assert_int_equal(json_array_append(v, cyc), 0); /* cyc holds v holds cyc */
	assert_null(json_dumps(cyc, JSON_COMPACT));
	assert_int_equal(coffer_json_dump(&s, NULL, cyc), COFFER_ELIMIT);
	assert_null(s);
	json_array_clear(v);
	json_decref(cyc);
	/* strings and names that are not UTF-8: jansson refuses the string,
	 * and writes the name as a lone '"', which is not JSON */
	v = json_string_nocheck("ab\xff");
	assert_null(json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY));
	assert_int_equal(coffer_json_dump(&s, NULL, v), COFFER_EINVAL);
	assert_null(s);
	json_decref(v);
	v = json_object();
	json_object_set_new_nocheck(v, "\xc3(", json_true());
	assert_int_equal(coffer_json_dump(&s, NULL, v), COFFER_EINVAL);
	json_decref(v);
}

static void test_accessors(void **state)
{
	json_t *v, *m = (json_t *)1;
	const char *s = "x";

	(void)state;
	v = parse_ok("{\"s\":\"str\",\"o\":{\"k\":1},\"a\":[1],\"n\":3}", 0);
	assert_int_equal(coffer_json_get_string(&s, v, "s"), 0);
	assert_string_equal(s, "str");
	assert_int_equal(coffer_json_get_object(&m, v, "o"), 0);
	assert_true(json_is_object(m));
	assert_int_equal(coffer_json_get_array(&m, v, "a"), 0);
	assert_int_equal(json_array_size(m), 1);

	assert_int_equal(coffer_json_get_string(&s, v, "missing"), COFFER_ENOTFOUND);
	assert_null(s);
	assert_non_null(strstr(coffer_error_last(), "\"missing\""));
	assert_int_equal(coffer_json_get_string(&s, v, "n"), COFFER_EINVAL);
	assert_non_null(strstr(coffer_error_last(), "\"n\" is not a string"));
	assert_int_equal(coffer_json_get_object(&m, v, "a"), COFFER_EINVAL);
	assert_null(m);
	assert_non_null(strstr(coffer_error_last(), "\"a\" is not an object"));
	assert_int_equal(coffer_json_get_array(&m, v, "o"), COFFER_EINVAL);
	assert_int_equal(coffer_json_get_object(&m, v, "zz"), COFFER_ENOTFOUND);
	assert_int_equal(
	        coffer_json_get_string(&s, json_array_get(json_object_get(v, "a"), 0), "s"),
	        COFFER_EINVAL);
	assert_int_equal(coffer_json_get_string(&s, NULL, "s"), COFFER_EINVAL);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8785_appendix_b),
		cmocka_unit_test(test_number_layout),
		cmocka_unit_test(test_number_round_trip),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_sort_utf16),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_jcs_refuses),
		cmocka_unit_test(test_jcs_depth),
		cmocka_unit_test(test_parse_depth),
		cmocka_unit_test(test_parse_duplicates),
		cmocka_unit_test(test_parse_trailing),
		cmocka_unit_test(test_parse_utf8),
		cmocka_unit_test(test_parse_nul),
		cmocka_unit_test(test_parse_error_hides_input),
		cmocka_unit_test(test_parse_values),
		cmocka_unit_test(test_parse_empty_and_args),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_dump_matches_jansson),
		cmocka_unit_test(test_accessors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
