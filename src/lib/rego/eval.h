/* Internal: the evaluation context shared by eval.c, builtins.c, api.c. */
#ifndef COFFER_REGO_EVAL_H
#define COFFER_REGO_EVAL_H

#include "rego/rego_int.h"

typedef struct rg_override {
	const rg_builtin *bi;
	rg_node *fn;
	rv *value;
	rg_term *repl;
	const rg_builtin *repl_bi;
	rg_node *repl_fn;
	struct rg_override *next;
} rg_override;

typedef struct rg_with_state {
	rv *input, *data;
	rv **memo;
	uint8_t *memo_state;
	rv **node_over;
	const rg_override *fn_over;
} rg_with_state;

struct rg_ctx {
	rg_arena ar;
	const coffer_rego_policy *pol;
	rv *input;
	rv *data;
	rv **memo;
	uint8_t *memo_state; /* 0 new, 1 in progress, 2 done */
	rv **node_over;
	const rg_override *fn_over;
	uint64_t steps, max_steps;
	unsigned depth, max_depth;
	uintptr_t stack_base;
	size_t stack_limit;
	bool lenient;
	int64_t now_ns;
	int cur_line, cur_col;
	const char *cur_file, *err_file;
	bool err_set;
	char err_code[32];
	char err_msg[256];
	int err_line, err_col;
	void *bi_cache;          /* per-evaluation regex cache (builtins.c) */
	void *bi_match;          /* per-evaluation PCRE2 match context */
	unsigned char nonce[32]; /* per-evaluation seed of rand.intn / uuid.rfc4122 */
	bool have_nonce;
};

typedef int (*rg_qsol_fn)(rg_ctx *c, void *ud, rv **frame, rv *value);
int rg_eval_query(rg_ctx *c, const coffer_rego_query *q, rg_qsol_fn fn, void *ud);
void rg_builtins_cleanup(rg_ctx *c);
void rg_builtins_fini(rg_ctx *c); /* end of an evaluation */
unsigned char *rg_ctx_nonce(rg_ctx *c);

#endif
