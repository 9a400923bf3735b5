/* Unit tests of the Rego engine's API: compile errors with positions,
 * undefined versus false, conflicts, every evaluation bound (steps, memory,
 * depth, output), exact integers, concurrent evaluation of one policy. */
#include <pthread.h>

#include "test_util.h"

#include "coffer/common.h"
#include "coffer/rego.h"

static coffer_rego_policy *compile1(const char *src, int *rc, coffer_rego_diag *d)
{
	coffer_rego_module m = { "t.rego", src, strlen(src) };
	coffer_rego_policy *p = NULL;
	*rc = coffer_rego_policy_compile(&p, &m, 1, d);
	return p;
}

/* evaluate `query` against `src`; returns the JSON text of the result list */
static char *eval_text(const char *src, const char *query, const char *input_json,
                       const coffer_rego_limits *lim, int var_output, int *rc, coffer_rego_diag *d)
{
	coffer_rego_policy *p = compile1(src, rc, d);
	coffer_rego_query *q = NULL;
	json_t *in = NULL, *res = NULL;
	char *t = NULL;

	if (*rc)
		return NULL;
	*rc = coffer_rego_query_compile(&q, p, query, d);
	if (*rc == 0) {
		if (input_json) {
			json_error_t e;
			in = json_loads(input_json, JSON_DECODE_ANY, &e);
			assert_non_null(in);
		}
		*rc = coffer_rego_query_eval(&res, q, in, NULL, lim, var_output, d);
		if (*rc == 0) {
			t = coffer_rego_json_text(res);
			assert_non_null(t);
		}
	}
	json_decref(res);
	json_decref(in);
	coffer_rego_query_free(q);
	coffer_rego_policy_free(p);
	return t;
}

static void expect(const char *src, const char *query, const char *input, const char *want)
{
	coffer_rego_diag d;
	int rc;
	char *t = eval_text(src, query, input, NULL, 0, &rc, &d);
	if (rc != 0)
		fail_msg("%s: error %s: %s", query, d.code, d.message);
	if (strcmp(t, want) != 0)
		fail_msg("%s: got %s want %s", query, t, want);
	free(t);
}

static void test_basic_v0_v1(void **state)
{
	(void)state;
	const char *pol =
	        "package policy\n"
	        "default allow = false\n"
	        "allow { input[\"submods\"][\"cpu0\"][\"ear.status\"] == \"affirming\" }\n";
	expect(pol, "data.policy.allow", "{\"submods\":{\"cpu0\":{\"ear.status\":\"affirming\"}}}",
	       "[{\"x\":true}]");
	expect(pol, "data.policy.allow", "{\"submods\":{\"cpu0\":{\"ear.status\":\"warning\"}}}",
	       "[{\"x\":false}]");
	expect(pol, "data.policy.allow", NULL, "[{\"x\":false}]");
	const char *v1 = "package p\nimport rego.v1\n"
	                 "s contains x if { some x in [3, 1, 2]; x > 1 }\n"
	                 "o[k] := v if { some k, v in {\"a\": 1, \"b\": 2} }\n"
	                 "f(x) := y if { y := x * 2 } else := 0\n"
	                 "e if { every x in [1, 2] { x > 0 } }\n";
	expect(v1, "data.p.s", NULL, "[{\"x\":[2,3]}]");
	expect(v1, "data.p.o", NULL, "[{\"x\":{\"a\":1,\"b\":2}}]");
	expect(v1, "data.p.f(21)", NULL, "[{\"x\":42}]");
	expect(v1, "data.p.e", NULL, "[{\"x\":true}]");
}

static void test_undefined_vs_false(void **state)
{
	(void)state;
	const char *pol = "package t\np { false }\nq = false\n";
	expect(pol, "data.t.p", NULL, "[]");
	expect(pol, "data.t.q", NULL, "[{\"x\":false}]");
	expect(pol, "data.t.nothing", NULL, "[]");
}

static void test_var_output(void **state)
{
	(void)state;
	coffer_rego_diag d;
	int rc;
	char *t = eval_text("package t\na := [1, 2]\n", "x := data.t.a[i]", NULL, NULL, 1, &rc, &d);
	assert_int_equal(rc, 0);
	assert_string_equal(t, "[{\"i\":0,\"x\":1},{\"i\":1,\"x\":2}]");
	free(t);
}

static void test_parse_error_position(void **state)
{
	(void)state;
	coffer_rego_diag d;
	int rc;
	coffer_rego_policy *p = compile1("package t\n\nallow {\n  x := [1, 2\n}\n", &rc, &d);
	assert_null(p);
	assert_int_equal(rc, COFFER_EINVAL);
	assert_string_equal(d.code, "rego_parse_error");
	assert_string_equal(d.file, "t.rego");
	assert_int_equal(d.line, 5);
	assert_true(d.col >= 1);
	p = compile1("allow { true }\n", &rc, &d);
	assert_null(p);
	assert_int_equal(d.line, 1);
	p = compile1("package t\nx := \"unterminated\n", &rc, &d);
	assert_null(p);
	assert_int_equal(d.line, 2);
}

static void test_compile_error_position(void **state)
{
	(void)state;
	coffer_rego_diag d;
	int rc;
	coffer_rego_policy *p = compile1("package t\n\np { no_such_function(1) }\n", &rc, &d);
	assert_null(p);
	assert_int_equal(rc, COFFER_EINVAL);
	assert_string_equal(d.code, "rego_compile_error");
	assert_int_equal(d.line, 3);
	assert_int_equal(d.col, 5);
	p = compile1("package t\np { x := 1; x := 2 }\n", &rc, &d);
	assert_null(p);
	assert_int_equal(d.line, 2);
	p = compile1("package t\nimport rego.v1\np { true }\n", &rc, &d);
	assert_null(p);
	assert_int_equal(d.line, 3);
	p = compile1("package t\ndefault p := 1\ndefault p := 2\n", &rc, &d);
	assert_null(p);
	/* nesting bound: no stack exhaustion on hostile input */
	char *deep = malloc(100000);
	assert_non_null(deep);
	static const char head[] = "package t\nx := ";
	memcpy(deep, head, sizeof(head));
	size_t n = sizeof(head) - 1;
	for (int i = 0; i < 50000; i++)
		deep[n++] = '[';
	deep[n] = '\0';
	p = compile1(deep, &rc, &d);
	assert_null(p);
	assert_int_equal(rc, COFFER_EINVAL);
	free(deep);
}

static void test_conflicts(void **state)
{
	(void)state;
	coffer_rego_diag d;
	int rc;
	char *t = eval_text("package t\np := 1 { true }\np := 2 { true }\n", "data.t.p", NULL, NULL,
	                    0, &rc, &d);
	assert_null(t);
	assert_int_equal(rc, COFFER_EINVAL);
	assert_string_equal(d.code, "eval_conflict_error");
	t = eval_text("package t\nf(x) := 1\nf(x) := 2\n", "data.t.f(0)", NULL, NULL, 0, &rc, &d);
	assert_null(t);
	assert_string_equal(d.code, "eval_conflict_error");
	t = eval_text("package t\no[k] := v { some k, v in [1, 2]; k = 0 }\no[0] := 5\n",
	              "data.t.o", NULL, NULL, 0, &rc, &d);
	assert_null(t);
	assert_string_equal(d.code, "eval_conflict_error");
	/* builtin errors: undefined by default (OPA), errors when strict */
	coffer_rego_limits lim = COFFER_REGO_LIMITS_INIT;
	lim.strict_builtins = 1;
	t = eval_text("package t\np := count(null)\n", "data.t.p", NULL, &lim, 0, &rc, &d);
	assert_null(t);
	assert_string_equal(d.code, "eval_builtin_error");
	t = eval_text("package t\np := count(null)\nq { to_number(\"x\") > 1 }\nr := 1 { not q }\n",
	              "data.t", NULL, NULL, 0, &rc, &d);
	assert_int_equal(rc, 0);
	assert_string_equal(t, "[{\"x\":{\"r\":1}}]");
	free(t);
}

static void expect_limit(const char *src, const char *query, coffer_rego_limits *lim)
{
	coffer_rego_diag d;
	int rc;
	char *t = eval_text(src, query, NULL, lim, 0, &rc, &d);
	if (t != NULL)
		fail_msg("%s: expected a limit error, got %s", query, t);
	assert_int_equal(rc, COFFER_ELIMIT);
	assert_string_equal(d.code, "eval_limit_error");
}

static void test_limit_steps(void **state)
{
	(void)state;
	coffer_rego_limits lim = COFFER_REGO_LIMITS_INIT;
	lim.max_steps = 10000;
	const char *pol = "package t\n"
	                  "n := count([x | some x in numbers.range(1, 100000); x % 7 == 0])\n";
	expect_limit(pol, "data.t.n", &lim);
	/* the same policy passes with the default bound */
	expect(pol, "data.t.n", NULL, "[{\"x\":14285}]");
	/* nested iteration explodes combinatorially: still bounded */
	expect_limit("package t\nn := count([1 | some a in numbers.range(1, 1000); some b in "
	             "numbers.range(1, 1000); some c in numbers.range(1, 1000)])\n",
	             "data.t.n", NULL);
}

static void test_limit_memory(void **state)
{
	(void)state;
	coffer_rego_limits lim = COFFER_REGO_LIMITS_INIT;
	lim.max_memory = 1024 * 1024;
	expect_limit("package t\ns := concat(\"\", [format_int(x, 10) | some x in numbers.range(1, "
	             "200000)])\n",
	             "count(data.t.s)", &lim);
}

static void test_limit_depth(void **state)
{
	(void)state;
	/* unbounded recursion through a function: the depth bound, not a crash */
	expect_limit("package t\nf(x) := y { y := f(x + 1) }\n", "data.t.f(0)", NULL);
	coffer_rego_limits lim = COFFER_REGO_LIMITS_INIT;
	lim.max_depth = 8;
	expect_limit("package t\nf(0) := 0\nf(x) := y { x > 0; y := f(x - 1) + 1 }\n",
	             "data.t.f(20)", &lim);
	/* the C stack bound alone stops deep recursion too */
	lim.max_depth = 100000;
	lim.max_stack = 64 * 1024;
	expect_limit("package t\nf(x) := y { y := f(x + 1) }\n", "data.t.f(0)", &lim);
	expect("package t\nf(0) := 0\nf(x) := y { x > 0; y := f(x - 1) + 1 }\n", "data.t.f(20)",
	       NULL, "[{\"x\":20}]");
	/* a rule that depends on itself is an error, not a loop */
	coffer_rego_diag d;
	int rc;
	char *t = eval_text("package t\np { q }\nq { p }\n", "data.t.p", NULL, NULL, 0, &rc, &d);
	assert_null(t);
	assert_int_not_equal(rc, 0);
}

static void test_limit_output(void **state)
{
	(void)state;
	coffer_rego_limits lim = COFFER_REGO_LIMITS_INIT;
	lim.max_output = 1000;
	expect_limit("package t\nr := numbers.range(1, 1000)\n", "data.t.r", &lim);
	expect("package t\nr := numbers.range(1, 3)\n", "data.t.r", NULL, "[{\"x\":[1,2,3]}]");
}

static void test_exact_integers(void **state)
{
	(void)state;
	expect("package t\nx := 9007199254740993 + 2\n", "data.t.x", NULL,
	       "[{\"x\":9007199254740995}]");
	expect("package t\nx := 9223372036854775807 - 1\n", "data.t.x", NULL,
	       "[{\"x\":9223372036854775806}]");
	expect("package t\nx := 21 / 5\ny := 20 / 5\nz := 1 == 1.0\n", "data.t", NULL,
	       "[{\"x\":{\"x\":4.2,\"y\":4,\"z\":true}}]");
	expect("package t\nx := 7 % 3\n", "data.t.x", NULL, "[{\"x\":1}]");
}

static void test_builtins_sample(void **state)
{
	(void)state;
	expect("package t\nr := [regex.match(\"^a+b$\", \"aaab\"), glob.match(\"*.example.com\", "
	       "[\".\"], "
	       "\"a.example.com\"), startswith(\"abc\", \"ab\"), semver.compare(\"1.2.3\", "
	       "\"1.10.0\")]\n",
	       "data.t.r", NULL, "[{\"x\":[true,true,true,-1]}]");
	expect("package t\nr := [base64url.encode(\"hi?\"), hex.encode(\"A\"), "
	       "crypto.sha256(\"\")]\n",
	       "data.t.r", NULL,
	       "[{\"x\":[\"aGk_\",\"41\","
	       "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"]}]");
	expect("package t\nr := json.unmarshal(\"{\\\"a\\\":[1,2]}\").a[1]\n", "data.t.r", NULL,
	       "[{\"x\":2}]");
	expect("package t\nr := units.parse_bytes(\"2KiB\")\n", "data.t.r", NULL, "[{\"x\":2048}]");
	expect("package t\nr := time.parse_rfc3339_ns(\"1970-01-01T00:00:01Z\")\n", "data.t.r",
	       NULL, "[{\"x\":1000000000}]");
	/* hostile arguments: huge widths, out-of-range doubles, INT64_MIN */
	expect("package t\nr := count(spr"
	       "intf(\"%99999999999d\", [1])) > 0\n",
	       "data.t.r", NULL, "[{\"x\":true}]");
	expect("package t\nr := format_int(1e300, 10)\n", "data.t.r", NULL,
	       "[{\"x\":\"9223372036854775807\"}]");
	expect("package t\nr := rand.intn(\"s\", -9223372036854775808) >= 0\n", "data.t.r", NULL,
	       "[{\"x\":true}]");
	expect("package t\nr := time.date(1e300)[0] != 0\n", "data.t.r", NULL, "[{\"x\":true}]");
	/* a backtracking bomb against PCRE2's match limit: bounded, not a hang;
	 * undefined by default, an error when builtins are strict */
	static const char bomb[] = "package t\nr := regex.match(\"(a+)+$\", "
	                           "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\")\n";
	coffer_rego_diag d;
	coffer_rego_limits lim = COFFER_REGO_LIMITS_INIT;
	int rc;
	char *t = eval_text(bomb, "data.t.r", NULL, NULL, 0, &rc, &d);
	assert_int_equal(rc, 0);
	assert_true(strcmp(t, "[]") == 0 || strcmp(t, "[{\"x\":false}]") == 0);
	free(t);
	lim.strict_builtins = 1;
	t = eval_text(bomb, "data.t.r", NULL, &lim, 0, &rc, &d);
	if (t != NULL)
		assert_string_equal(t, "[{\"x\":false}]");
	else
		assert_string_equal(d.code, "eval_builtin_error");
	free(t);
}

static void test_with_and_data(void **state)
{
	(void)state;
	coffer_rego_policy *p;
	coffer_rego_query *q;
	coffer_rego_diag d;
	int rc, allowed = -1;
	p = compile1("package t\nallow { data.refs[input.m] }\nok { allow with input as {\"m\": "
	             "\"v1\"} }\n",
	             &rc, &d);
	assert_non_null(p);
	assert_int_equal(coffer_rego_query_compile(&q, p, "data.t.allow", &d), 0);
	json_t *data = json_pack("{s:{s:b}}", "refs", "v1", 1);
	json_t *in1 = json_pack("{s:s}", "m", "v1"), *in2 = json_pack("{s:s}", "m", "v2");
	assert_int_equal(coffer_rego_query_allow(&allowed, q, in1, data, NULL, &d), 0);
	assert_int_equal(allowed, 1);
	assert_int_equal(coffer_rego_query_allow(&allowed, q, in2, data, NULL, &d), 0);
	assert_int_equal(allowed, 0);
	json_t *v = NULL;
	assert_int_equal(coffer_rego_query_value(&v, q, in2, data, NULL, &d), COFFER_ENOTFOUND);
	assert_null(v);
	coffer_rego_query_free(q);
	assert_int_equal(coffer_rego_query_compile(&q, p, "data.t.ok", &d), 0);
	assert_int_equal(coffer_rego_query_value(&v, q, NULL, data, NULL, &d), 0);
	assert_true(json_is_true(v));
	json_decref(v);
	coffer_rego_query_free(q);
	/* query parse errors carry a position */
	assert_int_equal(coffer_rego_query_compile(&q, p, "data.t.allow ==", &d), COFFER_EINVAL);
	assert_string_equal(d.code, "rego_parse_error");
	json_decref(data);
	json_decref(in1);
	json_decref(in2);
	coffer_rego_policy_free(p);
}

typedef struct thr {
	const coffer_rego_query *q;
	int ok;
} thr;

static void *worker(void *arg)
{
	thr *t = arg;
	char buf[64];
	t->ok = 1;
	for (int i = 0; i < 300; i++) {
		snprintf(buf, sizeof(buf), "{\"n\":%d}", i);
		json_error_t e;
		json_t *in = json_loads(buf, 0, &e), *res = NULL;
		if (coffer_rego_query_eval(&res, t->q, in, NULL, NULL, 0, NULL) != 0)
			t->ok = 0;
		json_t *x = json_object_get(json_array_get(res, 0), "x");
		if (!json_is_integer(x) || json_integer_value(x) != (json_int_t)i * i + 1)
			t->ok = 0;
		json_decref(res);
		json_decref(in);
	}
	return NULL;
}

static void test_concurrent_eval(void **state)
{
	(void)state;
	coffer_rego_diag d;
	int rc;
	coffer_rego_policy *p =
	        compile1("package t\nsq := input.n * input.n\nr := sq + one\none := 1\n", &rc, &d);
	coffer_rego_query *q = NULL;
	pthread_t th[4];
	thr args[4];
	assert_non_null(p);
	assert_int_equal(coffer_rego_query_compile(&q, p, "data.t.r", &d), 0);
	for (int i = 0; i < 4; i++) {
		args[i].q = q;
		assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_true(args[i].ok);
	}
	coffer_rego_query_free(q);
	coffer_rego_policy_free(p);
}

static void test_limits_version(void **state)
{
	(void)state;
	coffer_rego_limits lim = COFFER_REGO_LIMITS_INIT;
	coffer_rego_diag d;
	int rc;
	lim.version = 99;
	char *t = eval_text("package t\np := 1\n", "data.t.p", NULL, &lim, 0, &rc, &d);
	assert_null(t);
	assert_int_equal(rc, COFFER_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_v0_v1),
		cmocka_unit_test(test_undefined_vs_false),
		cmocka_unit_test(test_var_output),
		cmocka_unit_test(test_parse_error_position),
		cmocka_unit_test(test_compile_error_position),
		cmocka_unit_test(test_conflicts),
		cmocka_unit_test(test_limit_steps),
		cmocka_unit_test(test_limit_memory),
		cmocka_unit_test(test_limit_depth),
		cmocka_unit_test(test_limit_output),
		cmocka_unit_test(test_exact_integers),
		cmocka_unit_test(test_builtins_sample),
		cmocka_unit_test(test_with_and_data),
		cmocka_unit_test(test_concurrent_eval),
		cmocka_unit_test(test_limits_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
