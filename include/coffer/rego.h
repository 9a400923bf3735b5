/*
 * Coffer: a Rego policy engine (OPA's language, v1 syntax and the v0 syntax
 * confidential-computing policies still use, chosen per module).
 *
 * Compile once, evaluate many times: a compiled policy is immutable, so any
 * number of threads may evaluate one policy concurrently. Every evaluation is
 * bounded (steps, memory, C stack / recursion depth, output size); a policy
 * that hits a bound yields an error, never a hang or a crash, and callers
 * that gate access treat every error as a denial.
 */
#ifndef COFFER_REGO_H
#define COFFER_REGO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct coffer_rego_policy coffer_rego_policy;
typedef struct coffer_rego_query coffer_rego_query;

/* One module: `name` is used in diagnostics only (e.g. a file name). */
typedef struct coffer_rego_module {
	const char *name;
	const char *text;
	size_t len;
} coffer_rego_module;

/* Where compilation or evaluation failed. `code` is one of
 * "rego_parse_error", "rego_compile_error" (compile: file, line and column
 * of the offending text), "eval_conflict_error", "eval_builtin_error",
 * "eval_type_error", "rego_unsafe_var_error", "rego_recursion_error",
 * "eval_limit_error", "eval_internal_error" (evaluation: the module file and
 * the position of the rule or expression being evaluated). */
typedef struct coffer_rego_diag {
	char code[32];
	char file[128];
	int line; /* 1-based; 0 when unknown */
	int col;  /* 1-based; 0 when unknown */
	char message[256];
} coffer_rego_diag;

/* Bounds of one evaluation. 0 in a field means "the default". */
typedef struct coffer_rego_limits {
	int version;
	uint64_t max_steps;  /* expression evaluations; default 10,000,000 */
	size_t max_memory;   /* bytes allocated by one evaluation; default 64 MiB */
	unsigned max_depth;  /* nested rule/function/comprehension calls; default 512 */
	size_t max_output;   /* bytes of the serialized result; default 1 MiB */
	int strict_builtins; /* 0 (default, as OPA and the Kata agent): a builtin
	                        error (e.g. to_number("x")) makes the expression
	                        undefined; 1: it is an evaluation error */
	int64_t now_ns;      /* time.now_ns(); 0: the real clock */
	size_t max_stack;    /* bytes of C stack one evaluation may use; default
	                         3 MiB: evaluate on threads with >= 4 MiB of stack,
	                         or lower this for smaller stacks */
} coffer_rego_limits;

#define COFFER_REGO_LIMITS_VERSION 1
#define COFFER_REGO_LIMITS_INIT                              \
	{                                                    \
		COFFER_REGO_LIMITS_VERSION, 0, 0, 0, 0, 0, 0 \
	}

/* Parse and compile `n` modules into one policy. On failure returns
 * COFFER_EINVAL and, when diag is not NULL, fills it with the file, line,
 * column and message of the first error. */
int coffer_rego_policy_compile(coffer_rego_policy **out, const coffer_rego_module *modules,
                               size_t n, coffer_rego_diag *diag);
void coffer_rego_policy_free(coffer_rego_policy *policy);

/* Parse a query (e.g. "data.policy.allow", "x := data.a[_]; x > 1") against
 * a compiled policy. The query keeps a reference to the policy, which must
 * outlive it. */
int coffer_rego_query_compile(coffer_rego_query **out, const coffer_rego_policy *policy,
                              const char *query, coffer_rego_diag *diag);
void coffer_rego_query_free(coffer_rego_query *query);

/* Evaluate a query. `input` may be NULL (input undefined); `data` may be
 * NULL (empty base document). Neither is modified.
 *
 * *out receives a JSON array with one object per solution (an empty array
 * when the query is undefined). With `var_output` the objects hold the
 * bindings of the query's named variables (OPA's binding list); without it,
 * each object is {"x": <value of the query's last expression>} (the form of
 * the ACI conformance cases), and a single-expression query whose value is
 * false still yields a solution.
 *
 * Returns 0, or COFFER_ELIMIT when a bound was hit, COFFER_EINVAL for a Rego
 * evaluation error (conflict, builtin or type error), COFFER_ENOMEM; diag
 * (optional) says which. */
int coffer_rego_query_eval(json_t **out, const coffer_rego_query *query, const json_t *input,
                           const json_t *data, const coffer_rego_limits *limits, int var_output,
                           coffer_rego_diag *diag);

/* Convenience for gates: evaluate a reference query such as
 * "data.policy.allow" and set *allowed to 1 only when it is exactly true.
 * Undefined, false, any other value and every error give *allowed = 0; the
 * return code still reports errors (0 when the evaluation itself worked). */
int coffer_rego_query_allow(int *allowed, const coffer_rego_query *query, const json_t *input,
                            const json_t *data, const coffer_rego_limits *limits,
                            coffer_rego_diag *diag);

/* Evaluate a query and return its single value (OPA's "value of the
 * expression"): COFFER_ENOTFOUND when undefined. *out is owned by the caller. */
int coffer_rego_query_value(json_t **out, const coffer_rego_query *query, const json_t *input,
                            const json_t *data, const coffer_rego_limits *limits,
                            coffer_rego_diag *diag);

/* Compact JSON text of a value as Rego prints it: object keys sorted,
 * numbers in their shortest exact form. Returns a malloc'd string (free()),
 * or NULL on allocation failure. */
char *coffer_rego_json_text(const json_t *value);

#ifdef __cplusplus
}
#endif
#endif
