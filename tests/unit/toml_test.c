/* TOML parser: config-style access, value types, JSON forms, and one
 * negative case per decoder error class with its line and column. */
#include <math.h>

#include "test_util.h"
#include "coffer/toml.h"
#include "toml/toml_internal.h"

static coffer_toml *parse_ok(const char *text)
{
	coffer_toml *doc = NULL;
	int rc = coffer_toml_parse(&doc, text, strlen(text), NULL);

	if (rc != 0)
		fail_msg("parse failed: %s\n--- input:\n%s", coffer_error_last(), text);
	assert_non_null(doc);
	return doc;
}

static void test_config_access(void **state)
{
	const char *text = "# cofferd.toml\n"
	                   "[server]\n"
	                   "listen = \"127.0.0.1:8080\"\n"
	                   "workers = 4\n"
	                   "tls = true\n"
	                   "timeout = 2.5\n"
	                   "\n"
	                   "[store]\n"
	                   "path = '/var/lib/coffer/db'\n"
	                   "limits.max_resources = 1_000\n"
	                   "\n"
	                   "[[verifier]]\n"
	                   "tee = \"snp\"\n"
	                   "[[verifier]]\n"
	                   "tee = \"tdx\"\n";
	const char *allowed[] = { "listen", "workers", "tls", "timeout" };
	const char *allowed_short[] = { "listen", "workers" };
	coffer_toml *doc = parse_ok(text);
	const coffer_toml_value *root = coffer_toml_root(doc), *server, *arr, *v;
	const char *s;
	int64_t i;
	bool b;
	double d;

	(void)state;
	assert_int_equal(coffer_toml_get_table(&server, root, "server"), 0);
	assert_int_equal(coffer_toml_get_string(&s, server, "listen"), 0);
	assert_string_equal(s, "127.0.0.1:8080");
	assert_int_equal(coffer_toml_get_int(&i, root, "server.workers"), 0);
	assert_int_equal(i, 4);
	assert_int_equal(coffer_toml_get_bool(&b, root, "server.tls"), 0);
	assert_true(b);
	assert_int_equal(coffer_toml_get_float(&d, root, "server . timeout"), 0);
	assert_true(d == 2.5);
	assert_int_equal(coffer_toml_get_string(&s, root, "store.path"), 0);
	assert_string_equal(s, "/var/lib/coffer/db");
	assert_int_equal(coffer_toml_get_int(&i, root, "store.limits.max_resources"), 0);
	assert_int_equal(i, 1000);

	/* arrays of tables, in document order */
	assert_int_equal(coffer_toml_get_array(&arr, root, "verifier"), 0);
	assert_int_equal(coffer_toml_array_size(arr), 2);
	assert_int_equal(coffer_toml_get_string(&s, coffer_toml_array_at(arr, 1), "tee"), 0);
	assert_string_equal(s, "tdx");
	assert_null(coffer_toml_array_at(arr, 2));

	/* table iteration keeps document order */
	assert_int_equal(coffer_toml_table_size(root), 3);
	assert_string_equal(coffer_toml_table_key_at(root, 0, NULL), "server");
	assert_string_equal(coffer_toml_table_key_at(root, 2, NULL), "verifier");
	assert_null(coffer_toml_table_key_at(root, 3, NULL));
	assert_non_null(coffer_toml_table_get(server, "tls"));
	assert_null(coffer_toml_table_get(server, "nope"));

	/* absent keys, wrong types, malformed paths */
	assert_int_equal(coffer_toml_get_int(&i, root, "server.port"), COFFER_ENOTFOUND);
	assert_non_null(strstr(coffer_error_last(), "server.port"));
	assert_int_equal(coffer_toml_get_int(&i, root, "nosuch.table.key"), COFFER_ENOTFOUND);
	assert_int_equal(coffer_toml_get_int(&i, root, "server.listen"), COFFER_EINVAL);
	assert_non_null(strstr(coffer_error_last(), "expected integer, found string"));
	assert_int_equal(coffer_toml_get_string(&s, root, "server.listen.x"), COFFER_EINVAL);
	assert_null(s);
	assert_int_equal(coffer_toml_get_bool(&b, root, "server.workers"), COFFER_EINVAL);
	assert_int_equal(coffer_toml_get_float(&d, root, "server.workers"), COFFER_EINVAL);
	assert_int_equal(coffer_toml_get_table(&v, root, "server.tls"), COFFER_EINVAL);
	assert_int_equal(coffer_toml_get_array(&v, root, "server"), COFFER_EINVAL);
	assert_int_equal(coffer_toml_get(&v, root, "server..tls"), COFFER_EINVAL);
	assert_int_equal(coffer_toml_get(&v, root, ""), COFFER_EINVAL);
	assert_int_equal(coffer_toml_get(&v, root, "a b"), COFFER_EINVAL);
	assert_int_equal(coffer_toml_get(&v, root, "\"open"), COFFER_EINVAL);

	/* strict configs */
	assert_int_equal(coffer_toml_check_keys(server, allowed, 4), 0);
	assert_int_equal(coffer_toml_check_keys(server, allowed_short, 2), COFFER_EINVAL);
	assert_string_equal(coffer_error_last(), "unknown key 'tls'");
	assert_int_equal(coffer_toml_check_keys(coffer_toml_table_get(server, "tls"), allowed, 4),
	                 COFFER_EINVAL);
	coffer_toml_free(doc);
}

/* PROTOCOL.md init-data: version, algorithm, [data] string map whose keys
 * contain dots. */
static void test_init_data(void **state)
{
	const char *text = "version = \"0.1.0\"\n"
	                   "algorithm = \"sha384\"\n"
	                   "\n"
	                   "[data]\n"
	                   "\"aa.toml\" = '''\n"
	                   "[token_configs]\n"
	                   "[token_configs.kbs]\n"
	                   "url = \"http://127.0.0.1:8080\"\n"
	                   "'''\n"
	                   "\"policy.rego\" = \"\"\"\n"
	                   "package agent_policy\n"
	                   "default AllowRequestsFailingPolicy := true\\\n"
	                   "   \n"
	                   "\"\"\"\n"
	                   "'nul' = \"a\\u0000b\"\n";
	coffer_toml *doc = parse_ok(text);
	const coffer_toml_value *root = coffer_toml_root(doc), *data;
	const char *s;
	size_t len;

	(void)state;
	assert_int_equal(coffer_toml_get_string(&s, root, "version"), 0);
	assert_string_equal(s, "0.1.0");
	assert_int_equal(coffer_toml_get_string(&s, root, "algorithm"), 0);
	assert_string_equal(s, "sha384");
	assert_int_equal(coffer_toml_get_string(&s, root, "data.\"aa.toml\""), 0);
	assert_string_equal(
	        s, "[token_configs]\n[token_configs.kbs]\nurl = \"http://127.0.0.1:8080\"\n");
	assert_int_equal(coffer_toml_get_string(&s, root, "data.'policy.rego'"), 0);
	/* line-ending backslash trims the newline and the blank line after */
	assert_string_equal(s, "package agent_policy\ndefault AllowRequestsFailingPolicy := true");
	assert_int_equal(coffer_toml_get_table(&data, root, "data"), 0);
	assert_int_equal(coffer_toml_table_size(data), 3);
	assert_string_equal(coffer_toml_table_key_at(data, 0, NULL), "aa.toml");
	/* NUL inside a string: visible with its length, refused by get_string */
	s = coffer_toml_string(coffer_toml_table_get(data, "nul"), &len);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "a\0b", 3);
	assert_int_equal(coffer_toml_get_string(&s, root, "data.nul"), COFFER_EINVAL);
	assert_non_null(strstr(coffer_error_last(), "NUL"));
	coffer_toml_free(doc);
}

static void test_types(void **state)
{
	const char *text = "s = \"tab\\there \\u00e9 \\U0001F600\"\n"
	                   "lit = 'C:\\path'\n"
	                   "i1 = -9223372036854775808\n"
	                   "i2 = 9223372036854775807\n"
	                   "hex = 0xDEAD_beef\n"
	                   "oct = 0o755\n"
	                   "bin = 0b1010\n"
	                   "f1 = 6.626e-34\n"
	                   "f2 = -inf\n"
	                   "f3 = nan\n"
	                   "f4 = 1_000.5E+2\n"
	                   "b = false\n"
	                   "odt = 1979-05-27 07:32:00.999z\n"
	                   "odt2 = 1979-05-27t07:32:00-07:00\n"
	                   "ldt = 2024-02-29T23:59:60\n"
	                   "ld = 2000-02-29\n"
	                   "lt = 00:32:00.5\n"
	                   "arr = [ 1, 'two', [3.0], { four = 4 }, ]\n";
	coffer_toml *doc = parse_ok(text);
	const coffer_toml_value *root = coffer_toml_root(doc), *v;
	size_t len;

	(void)state;
	v = coffer_toml_table_get(root, "s");
	assert_int_equal(coffer_toml_type_of(v), COFFER_TOML_STRING);
	assert_string_equal(coffer_toml_string(v, &len), "tab\there \xc3\xa9 \xf0\x9f\x98\x80");
	assert_string_equal(coffer_toml_string(coffer_toml_table_get(root, "lit"), NULL),
	                    "C:\\path");
	assert_true(coffer_toml_int(coffer_toml_table_get(root, "i1")) == INT64_MIN);
	assert_true(coffer_toml_int(coffer_toml_table_get(root, "i2")) == INT64_MAX);
	assert_int_equal(coffer_toml_int(coffer_toml_table_get(root, "hex")), 0xDEADBEEF);
	assert_int_equal(coffer_toml_int(coffer_toml_table_get(root, "oct")), 0755);
	assert_int_equal(coffer_toml_int(coffer_toml_table_get(root, "bin")), 10);
	assert_true(coffer_toml_float(coffer_toml_table_get(root, "f1")) == 6.626e-34);
	assert_true(isinf(coffer_toml_float(coffer_toml_table_get(root, "f2"))));
	assert_true(coffer_toml_float(coffer_toml_table_get(root, "f2")) < 0);
	assert_true(isnan(coffer_toml_float(coffer_toml_table_get(root, "f3"))));
	assert_true(coffer_toml_float(coffer_toml_table_get(root, "f4")) == 100050.0);
	assert_false(coffer_toml_bool(coffer_toml_table_get(root, "b")));
	assert_int_equal(coffer_toml_type_of(coffer_toml_table_get(root, "b")), COFFER_TOML_BOOL);

	v = coffer_toml_table_get(root, "odt");
	assert_int_equal(coffer_toml_type_of(v), COFFER_TOML_DATETIME);
	assert_string_equal(coffer_toml_datetime_text(v), "1979-05-27T07:32:00.999Z");
	assert_string_equal(coffer_toml_datetime_text(coffer_toml_table_get(root, "odt2")),
	                    "1979-05-27T07:32:00-07:00");
	v = coffer_toml_table_get(root, "ldt");
	assert_int_equal(coffer_toml_type_of(v), COFFER_TOML_DATETIME_LOCAL);
	assert_string_equal(coffer_toml_datetime_text(v), "2024-02-29T23:59:60");
	v = coffer_toml_table_get(root, "ld");
	assert_int_equal(coffer_toml_type_of(v), COFFER_TOML_DATE_LOCAL);
	assert_string_equal(coffer_toml_datetime_text(v), "2000-02-29");
	v = coffer_toml_table_get(root, "lt");
	assert_int_equal(coffer_toml_type_of(v), COFFER_TOML_TIME_LOCAL);
	assert_string_equal(coffer_toml_datetime_text(v), "00:32:00.5");
	assert_string_equal(coffer_toml_type_name(COFFER_TOML_TIME_LOCAL), "time-local");

	/* mixed-type arrays are TOML 1.0 */
	v = coffer_toml_table_get(root, "arr");
	assert_int_equal(coffer_toml_array_size(v), 4);
	assert_int_equal(coffer_toml_type_of(coffer_toml_array_at(v, 2)), COFFER_TOML_ARRAY);
	assert_int_equal(coffer_toml_type_of(coffer_toml_array_at(v, 3)), COFFER_TOML_TABLE);

	/* typed getters give zero values for another type */
	assert_null(coffer_toml_string(coffer_toml_table_get(root, "i1"), &len));
	assert_int_equal(len, 0);
	assert_int_equal(coffer_toml_int(coffer_toml_table_get(root, "s")), 0);
	assert_null(coffer_toml_datetime_text(coffer_toml_table_get(root, "s")));
	assert_int_equal(coffer_toml_array_size(root), 0);
	assert_int_equal(coffer_toml_table_size(v), 0);
	coffer_toml_free(doc);
}

static void test_json(void **state)
{
	coffer_toml *doc = parse_ok("a = 1\nb = [true, 2.5, \"x\"]\nc.d = 1979-05-27\n"
	                            "[t]\nk = 'v'\n");
	json_t *j = NULL;
	char *s;

	(void)state;
	assert_int_equal(coffer_toml_to_json(&j, coffer_toml_root(doc)), 0);
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(s,
	                    "{\"a\":1,\"b\":[true,2.5,\"x\"],\"c\":{\"d\":\"1979-05-27\"},\"t\":{"
	                    "\"k\":\"v\"}}");
	free(s);
	json_decref(j);

	assert_int_equal(coffer_toml_to_tagged_json(&j, coffer_toml_root(doc)), 0);
	assert_string_equal(json_string_value(json_object_get(
	                            json_object_get(json_object_get(j, "c"), "d"), "type")),
	                    "date-local");
	assert_string_equal(json_string_value(json_object_get(
	                            json_array_get(json_object_get(j, "b"), 1), "value")),
	                    "2.5");
	json_decref(j);
	coffer_toml_free(doc);

	/* inf and nan have no plain JSON form, but a tagged one */
	doc = parse_ok("x = [nan]\n");
	assert_int_equal(coffer_toml_to_json(&j, coffer_toml_root(doc)), COFFER_EINVAL);
	assert_int_equal(coffer_toml_to_tagged_json(&j, coffer_toml_root(doc)), 0);
	assert_string_equal(json_string_value(json_object_get(
	                            json_array_get(json_object_get(j, "x"), 0), "value")),
	                    "nan");
	json_decref(j);
	coffer_toml_free(doc);
}

struct bad {
	const char *text;
	int code;
	const char *msg; /* expected prefix of coffer_error_last() */
};

/* One case per error class the decoder reports. */
static const struct bad bad_cases[] = {
	/* input encoding */
	{ "a = \"\xff\"\n", COFFER_EINVAL, "line 1, column 6: invalid UTF-8" },
	{ "a = \"\xc0\xaf\"\n", COFFER_EINVAL, "line 1, column 6: invalid UTF-8" },
	{ "a = \"\xed\xa0\x80\"\n", COFFER_EINVAL, "line 1, column 6: invalid UTF-8" },
	{ "a = \"\xe2\x82", COFFER_EINVAL, "line 1, column 6: truncated UTF-8" },
	{ "a = 1\nb = \"\x01\"\n", COFFER_EINVAL, "line 2, column 6: control character U+0001" },
	{ "# \x7f\n", COFFER_EINVAL, "line 1, column 3: control character U+007F" },
	{ "a = 1\rb = 2\n", COFFER_EINVAL, "line 1, column 6: carriage return" },
	/* strings */
	{ "a = \"abc\n", COFFER_EINVAL, "line 1, column 9: newline in a single-line string" },
	{ "a = 'abc", COFFER_EINVAL, "line 1, column 5: unterminated string" },
	{ "a = \"\"\"abc\"\"\n", COFFER_EINVAL, "line 1, column 5: unterminated string" },
	{ "a = \"\\x41\"\n", COFFER_EINVAL, "line 1, column 6: invalid escape sequence" },
	{ "a = \"\\ \"\n", COFFER_EINVAL, "line 1, column 6: invalid escape sequence" },
	{ "a = \"\\u12\"\n", COFFER_EINVAL, "line 1, column 6: \\u needs exactly 4" },
	{ "a = \"\\uD800\"\n", COFFER_EINVAL, "line 1, column 6: escape U+D800 is not a Unicode" },
	{ "a = \"\\U00110000\"\n", COFFER_EINVAL, "line 1, column 6: escape U+110000" },
	{ "a = \"\"\"x \\ y\"\"\"\n", COFFER_EINVAL, "line 1, column 10: a line-ending backslash" },
	{ "a = \"\"\"x\"\"\"\"\"\"\n", COFFER_EINVAL, "line 1, column 9: too many quotes" },
	/* keys and structure */
	{ "\"\"\"k\"\"\" = 1\n", COFFER_EINVAL, "line 1, column 1: a multi-line string cannot be" },
	{ "= 1\n", COFFER_EINVAL, "line 1, column 1: expected a key, found '='" },
	{ "a.\n", COFFER_EINVAL, "line 1, column 3: expected a key" },
	{ "a b = 1\n", COFFER_EINVAL, "line 1, column 3: expected '=' after a key" },
	{ "a =\n", COFFER_EINVAL, "line 1, column 4: expected a value" },
	{ "a = 1 b = 2\n", COFFER_EINVAL, "line 1, column 7: expected a newline after a value" },
	{ "[a] b = 1\n", COFFER_EINVAL, "line 1, column 5: expected a newline after a table" },
	{ "[a\n", COFFER_EINVAL, "line 1, column 3: expected ']' to close a table header" },
	{ "[[a]\n", COFFER_EINVAL, "line 1, column 4: expected ']]'" },
	{ "a = True\n", COFFER_EINVAL, "line 1, column 5: expected a value, found 'T'" },
	{ "a = truer\n", COFFER_EINVAL, "line 1, column 5: invalid value (booleans" },
	/* integers */
	{ "a = 9223372036854775808\n", COFFER_EINVAL, "line 1, column 5: integer does not fit" },
	{ "a = -9223372036854775809\n", COFFER_EINVAL, "line 1, column 5: integer does not fit" },
	{ "a = 0x8000000000000000\n", COFFER_EINVAL, "line 1, column 5: integer does not fit" },
	{ "a = 012\n", COFFER_EINVAL, "line 1, column 5: leading zeros" },
	{ "a = 1__2\n", COFFER_EINVAL, "line 1, column 5: invalid number" },
	{ "a = 1_\n", COFFER_EINVAL, "line 1, column 5: invalid number" },
	{ "a = _1\n", COFFER_EINVAL, "line 1, column 5: invalid number" },
	{ "a = +0x1\n", COFFER_EINVAL, "line 1, column 5: a sign is not allowed" },
	{ "a = 0b102\n", COFFER_EINVAL, "line 1, column 5: invalid base-2 integer" },
	{ "a = 0x_1\n", COFFER_EINVAL, "line 1, column 5: invalid base-16 integer" },
	/* floats */
	{ "a = 1.\n", COFFER_EINVAL, "line 1, column 5: a decimal point must be followed" },
	{ "a = .5\n", COFFER_EINVAL, "line 1, column 5: invalid number" },
	{ "a = 1e\n", COFFER_EINVAL, "line 1, column 5: invalid exponent" },
	{ "a = 1.5.2\n", COFFER_EINVAL, "line 1, column 5: invalid number" },
	{ "a = 1e400\n", COFFER_EINVAL, "line 1, column 5: float out of range" },
	{ "a = Inf\n", COFFER_EINVAL, "line 1, column 5: expected a value, found 'I'" },
	/* dates and times */
	{ "a = 2023-02-29\n", COFFER_EINVAL, "line 1, column 5: date 2023-02-29 does not exist" },
	{ "a = 2023-13-01\n", COFFER_EINVAL, "line 1, column 5: date 2023-13-01 does not exist" },
	{ "a = 2023-1-01\n", COFFER_EINVAL, "line 1, column 5: malformed date" },
	{ "a = 24:00:00\n", COFFER_EINVAL, "line 1, column 5: time 24:00:00 out of range" },
	{ "a = 23:59:61\n", COFFER_EINVAL, "line 1, column 5: time 23:59:61 out of range" },
	{ "a = 2023-01-01T10:00\n", COFFER_EINVAL, "line 1, column 16: malformed time" },
	{ "a = 10:00:00.\n", COFFER_EINVAL, "line 1, column 14: expected digits after" },
	{ "a = 2023-01-01T10:00:00+1:00\n", COFFER_EINVAL,
	  "line 1, column 24: malformed time off" },
	{ "a = 2023-01-01T10:00:00+24:00\n", COFFER_EINVAL, "line 1, column 24: time offset out" },
	{ "a = 2023-01-01x\n", COFFER_EINVAL, "line 1, column 15: unexpected character after a d" },
	/* arrays and inline tables */
	{ "a = [1 2]\n", COFFER_EINVAL, "line 1, column 8: expected ',' or ']' in an array" },
	{ "a = [1,,2]\n", COFFER_EINVAL, "line 1, column 8: expected a value, found ','" },
	{ "a = [1,\n", COFFER_EINVAL, "line 2, column 1: expected a value" },
	{ "a = [1\n", COFFER_EINVAL, "line 2, column 1: unterminated array" },
	{ "a = {b = 1,}\n", COFFER_EINVAL, "line 1, column 12: trailing comma in an inline table" },
	{ "a = {b = 1\n}\n", COFFER_EINVAL, "line 1, column 11: newline in an inline table" },
	{ "a = {\nb = 1}\n", COFFER_EINVAL, "line 1, column 6: newline in an inline table" },
	{ "a = {b = 1 c = 2}\n", COFFER_EINVAL,
	  "line 1, column 12: expected ',' or '}' in an inl" },
	{ "a = {b = 1", COFFER_EINVAL, "line 1, column 11: unterminated inline table" },
	{ "a = {b = {c = 1}, b.d = 2}\n", COFFER_EINVAL, "line 1, column 19: cannot add keys to" },
	{ "a = {b = 1, b = 2}\n", COFFER_EINVAL, "line 1, column 13: duplicate key 'b'" },
	/* tables: redefinition rules */
	{ "a = 1\na = 2\n", COFFER_EINVAL, "line 2, column 1: duplicate key 'a'" },
	{ "\"a\\nb\" = 1\n\"a\\nb\" = 2\n", COFFER_EINVAL,
	  "line 2, column 1: duplicate key 'a\\x0ab'" },
	{ "a = 1\na.b = 2\n", COFFER_EINVAL, "line 2, column 1: key 'a' is not a table" },
	{ "[a]\n[a]\n", COFFER_EINVAL, "line 2, column 2: table 'a' is already defined" },
	{ "[a.b]\n[a]\n[a]\n", COFFER_EINVAL, "line 3, column 2: table 'a' is already defined" },
	{ "a.b = 1\n[a]\n", COFFER_EINVAL, "line 2, column 2: table 'a' is already defined" },
	{ "[a.b]\n[a]\nb.c = 1\n", COFFER_EINVAL,
	  "line 3, column 1: cannot add keys to table 'b'" },
	{ "a = {}\n[a.b]\n", COFFER_EINVAL, "line 2, column 2: inline table 'a' cannot be ext" },
	{ "a = []\n[[a]]\n", COFFER_EINVAL, "line 2, column 3: static array 'a' cannot be ext" },
	{ "a = [{}]\n[a.b]\n", COFFER_EINVAL, "line 2, column 2: static array 'a' cannot be ext" },
	{ "[a]\n[[a]]\n", COFFER_EINVAL, "line 2, column 3: key 'a' is already defined and is n" },
	{ "[[a]]\n[a]\n", COFFER_EINVAL, "line 2, column 2: key 'a' already has a value that is" },
	{ "a = 1\n[a.b]\n", COFFER_EINVAL, "line 2, column 2: key 'a' is not a table" },
	/* limits */
	{ "[a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a"
	  ".a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a]\n",
	  COFFER_ELIMIT, "line 1, column 130: key has more than 64 parts" },
};

static void test_errors(void **state)
{
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad *c = &bad_cases[i];
		coffer_toml *doc = NULL;
		int rc = coffer_toml_parse(&doc, c->text, strlen(c->text), NULL);
		const char *msg = coffer_error_last();

		if (rc != c->code || doc != NULL || strncmp(msg, c->msg, strlen(c->msg)) != 0) {
			print_error(
			        "case %zu: rc %d (want %d), message \"%s\", want prefix \"%s\"\n",
			        i, rc, c->code, msg, c->msg);
			failed++;
		}
		coffer_toml_free(doc);
	}
	assert_int_equal(failed, 0);
}

static void test_limits_and_args(void **state)
{
	coffer_toml_options opts = COFFER_TOML_OPTIONS_INIT;
	coffer_toml *doc = NULL;
	const char *text = "a = [[1]]\n";

	(void)state;
	opts.max_input = 4;
	assert_int_equal(coffer_toml_parse(&doc, text, strlen(text), &opts), COFFER_ELIMIT);
	assert_non_null(strstr(coffer_error_last(), "exceeds the limit of 4"));
	opts.max_input = COFFER_TOML_MAX_INPUT;
	/* root 0, table a is depth 1 for a key path: [[1]] is at depth 1, 2, 3 */
	opts.max_depth = 2;
	assert_int_equal(coffer_toml_parse(&doc, text, strlen(text), &opts), COFFER_ELIMIT);
	opts.max_depth = 3;
	assert_int_equal(coffer_toml_parse(&doc, text, strlen(text), &opts), 0);
	coffer_toml_free(doc);
	doc = NULL;
	opts.max_depth = 2;
	assert_int_equal(coffer_toml_parse(&doc, "a.b.c = 1", 9, &opts), COFFER_ELIMIT);
	assert_int_equal(coffer_toml_parse(&doc, "[a.b]\nc = 1", 11, &opts), COFFER_ELIMIT);
	opts.max_depth = 0;
	assert_int_equal(coffer_toml_parse(&doc, text, strlen(text), &opts), COFFER_EINVAL);
	opts.max_depth = COFFER_TOML_DEPTH_CEILING + 1;
	assert_int_equal(coffer_toml_parse(&doc, text, strlen(text), &opts), COFFER_EINVAL);
	opts.max_depth = 8;
	opts.version = 99;
	assert_int_equal(coffer_toml_parse(&doc, text, strlen(text), &opts), COFFER_EINVAL);
	assert_int_equal(coffer_toml_parse(NULL, text, strlen(text), NULL), COFFER_EINVAL);
	assert_int_equal(coffer_toml_parse(&doc, NULL, 3, NULL), COFFER_EINVAL);
	assert_null(doc);

	/* 65 nested arrays under the default depth of 64 */
	{
		char deep[4 + 65 + 65 + 1];
		memcpy(deep, "a = ", 4);
		memset(deep + 4, '[', 65);
		memset(deep + 4 + 65, ']', 65);
		deep[sizeof(deep) - 1] = '\n';
		assert_int_equal(coffer_toml_parse(&doc, deep, sizeof(deep), NULL), COFFER_ELIMIT);
		assert_string_equal(coffer_error_last(),
		                    "line 1, column 69: nesting deeper than 64");
		/* 64 levels: the key is depth 1, the arrays 1..64 */
		deep[4 + 64] = ' ';
		deep[4 + 65] = ' ';
		assert_int_equal(coffer_toml_parse(&doc, deep, sizeof(deep), NULL), 0);
		coffer_toml_free(doc);
		doc = NULL;
	}

	/* empty documents and a BOM are fine */
	assert_int_equal(coffer_toml_parse(&doc, NULL, 0, NULL), 0);
	assert_int_equal(coffer_toml_table_size(coffer_toml_root(doc)), 0);
	coffer_toml_free(doc);
	assert_int_equal(coffer_toml_parse(&doc,
	                                   "\xef\xbb\xbf"
	                                   "a = 1\r\n",
	                                   8, NULL),
	                 0);
	assert_int_equal(coffer_toml_int(coffer_toml_table_get(coffer_toml_root(doc), "a")), 1);
	coffer_toml_free(doc);
	coffer_toml_free(NULL);
}

/* Keys in messages are escaped and cut on character boundaries. */
static void test_message_keys(void **state)
{
	char text[256];
	size_t len = 0;
	coffer_toml *doc = NULL;
	const char *allowed[] = { "x" };
	json_t *j;

	(void)state;
	for (int line = 0; line < 2; line++) {
		text[len++] = '"';
		for (int i = 0; i < 40; i++) {
			memcpy(text + len, "\xc3\xa9", 2); /* U+00E9 */
			len += 2;
		}
		memcpy(text + len, "\" = 1\n", 6);
		len += 6;
	}
	assert_int_equal(coffer_toml_parse(&doc, text, len, NULL), COFFER_EINVAL);
	assert_non_null(strstr(coffer_error_last(), "duplicate key '\xc3\xa9"));
	j = json_string(coffer_error_last()); /* NULL if the message is not UTF-8 */
	assert_non_null(j);
	json_decref(j);

	doc = parse_ok("\"\\u001b[31m\" = 1\n");
	assert_int_equal(coffer_toml_check_keys(coffer_toml_root(doc), allowed, 1), COFFER_EINVAL);
	assert_string_equal(coffer_error_last(), "unknown key '\\x1b[31m'");
	coffer_toml_free(doc);
}

/* The table index hash: SipHash-2-4 vectors of the reference
 * implementation (key 00..0f, message 00..len-1). */
static void test_siphash(void **state)
{
	uint8_t key[16], msg[64];

	(void)state;
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	assert_true(toml_siphash24(key, msg, 0) == UINT64_C(0x726fdb47dd0e0e31));
	assert_true(toml_siphash24(key, msg, 1) == UINT64_C(0x74f839c593dc67fd));
	assert_true(toml_siphash24(key, msg, 8) == UINT64_C(0x93f5f5799a932462));
	assert_true(toml_siphash24(key, msg, 15) == UINT64_C(0xa129ca6149be45e5));
	assert_true(toml_siphash24(key, msg, 63) == UINT64_C(0x958a324ceb064572));
}

/* Large tables go through the hash index: many keys, then a duplicate. */
static void test_many_keys(void **state)
{
	size_t n = 5000, cap = n * 16 + 32, len = 0;
	char *text = malloc(cap);
	coffer_toml *doc = NULL;
	int64_t v;

	(void)state;
	assert_non_null(text);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "k%zu = %zu\n", i, i);
	assert_int_equal(coffer_toml_parse(&doc, text, len, NULL), 0);
	assert_int_equal(coffer_toml_table_size(coffer_toml_root(doc)), n);
	assert_int_equal(coffer_toml_get_int(&v, coffer_toml_root(doc), "k4321"), 0);
	assert_int_equal(v, 4321);
	assert_int_equal(coffer_toml_get_int(&v, coffer_toml_root(doc), "k5000"), COFFER_ENOTFOUND);
	coffer_toml_free(doc);
	len += (size_t)snprintf(text + len, cap - len, "k17 = 1\n");
	assert_int_equal(coffer_toml_parse(&doc, text, len, NULL), COFFER_EINVAL);
	assert_non_null(strstr(coffer_error_last(), "line 5001, column 1: duplicate key 'k17'"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_access), cmocka_unit_test(test_init_data),
		cmocka_unit_test(test_types),         cmocka_unit_test(test_json),
		cmocka_unit_test(test_errors),        cmocka_unit_test(test_limits_and_args),
		cmocka_unit_test(test_many_keys),     cmocka_unit_test(test_message_keys),
		cmocka_unit_test(test_siphash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
