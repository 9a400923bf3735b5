/* Public API of the Rego engine (include/coffer/rego.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/common.h"
#include "rego/eval.h"

#define DEF_STEPS  10000000ULL
#define DEF_MEMORY ((size_t)64 * 1024 * 1024)
#define DEF_DEPTH  512u
#define DEF_OUTPUT ((size_t)1024 * 1024)
/* C stack an evaluation may use: well inside the 8 MiB of a default thread */
#define STACK_LIMIT ((size_t)3 * 1024 * 1024)
#define MAX_MODULE  ((size_t)4 * 1024 * 1024)

static void diag_set(coffer_rego_diag *d, const char *code, const char *file, int line, int col,
                     const char *msg)
{
	if (!d)
		return;
	memset(d, 0, sizeof(*d));
	snprintf(d->code, sizeof(d->code), "%s", code);
	snprintf(d->file, sizeof(d->file), "%s", file ? file : "");
	d->line = line;
	d->col = col;
	snprintf(d->message, sizeof(d->message), "%s", msg);
}

void coffer_rego_policy_free(coffer_rego_policy *p)
{
	if (!p)
		return;
	rg_arena_free(&p->ar);
	free(p);
}

static int check_imports(rg_module *m, rg_perr *err)
{
	(void)m;
	(void)err;
	return 0;
}

int coffer_rego_policy_compile(coffer_rego_policy **out, const coffer_rego_module *modules,
                               size_t n, coffer_rego_diag *diag)
{
	coffer_rego_policy *p;
	rg_perr perr;
	int error = COFFER_EINVAL;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return coffer_error_set(COFFER_ENOMEM, "rego: out of memory");
	rg_arena_init(&p->ar, 0);
	p->mods = rg_alloc(&p->ar, (n ? n : 1) * sizeof(rg_module *));
	if (!p->mods) {
		error = COFFER_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = modules[i].name ? modules[i].name : "module";
		if (modules[i].len > MAX_MODULE) {
			diag_set(diag, "rego_parse_error", name, 0, 0, "module too large");
			coffer_error_set(COFFER_EINVAL, "%s: module too large", name);
			goto out;
		}
		char *fname = rg_strndup(&p->ar, name, strlen(name));
		/* the AST borrows names from the source: keep a copy */
		char *src = rg_strndup(&p->ar, modules[i].text, modules[i].len);
		if (!fname || !src) {
			error = COFFER_ENOMEM;
			goto out;
		}
		if (rg_parse_module(&p->mods[i], &p->ar, fname, src, modules[i].len, &perr) ||
		    check_imports(p->mods[i], &perr)) {
			diag_set(diag, perr.code[0] ? perr.code : "rego_parse_error", name,
			         perr.line, perr.col, perr.msg);
			coffer_error_set(COFFER_EINVAL, "%s:%d:%d: %s", name, perr.line, perr.col,
			                 perr.msg);
			goto out;
		}
	}
	p->nmods = n;
	const char *ef = NULL;
	memset(&perr, 0, sizeof(perr));
	if (rg_compile(p, &perr, &ef)) {
		diag_set(diag, perr.code[0] ? perr.code : "rego_compile_error", ef, perr.line,
		         perr.col, perr.msg);
		coffer_error_set(COFFER_EINVAL, "%s:%d:%d: %s", ef ? ef : "", perr.line, perr.col,
		                 perr.msg);
		goto out;
	}
	*out = p;
	p = NULL;
	error = 0;
out:
	if (error == COFFER_ENOMEM)
		coffer_error_set(COFFER_ENOMEM, "rego: out of memory");
	coffer_rego_policy_free(p);
	return error;
}

void coffer_rego_query_free(coffer_rego_query *q)
{
	if (!q)
		return;
	rg_arena_free(&q->ar);
	free(q);
}

int coffer_rego_query_compile(coffer_rego_query **out, const coffer_rego_policy *policy,
                              const char *query, coffer_rego_diag *diag)
{
	coffer_rego_query *q;
	rg_perr perr;
	size_t len = strlen(query);

	*out = NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return coffer_error_set(COFFER_ENOMEM, "rego: out of memory");
	rg_arena_init(&q->ar, 0);
	q->pol = policy;
	char *src = rg_strndup(&q->ar, query, len);
	if (!src || len > MAX_MODULE) {
		coffer_rego_query_free(q);
		return coffer_error_set(COFFER_EINVAL, "rego: query too large");
	}
	if (rg_parse_query(&q->body, &q->ar, src, len, &perr) || rg_compile_query(q, &perr)) {
		diag_set(diag, perr.code[0] ? perr.code : "rego_parse_error", "query", perr.line,
		         perr.col, perr.msg);
		coffer_error_set(COFFER_EINVAL, "query:%d:%d: %s", perr.line, perr.col, perr.msg);
		coffer_rego_query_free(q);
		return COFFER_EINVAL;
	}
	*out = q;
	return 0;
}

/* ---- evaluation ---- */

static void ctx_init(rg_ctx *c, const coffer_rego_query *q, const coffer_rego_limits *lim)
{
	char probe;

	memset(c, 0, sizeof(*c));
	c->pol = q->pol;
	c->max_steps = lim && lim->max_steps ? lim->max_steps : DEF_STEPS;
	c->max_depth = lim && lim->max_depth ? lim->max_depth : DEF_DEPTH;
	c->lenient = !(lim && lim->strict_builtins);
	c->now_ns = lim ? lim->now_ns : 0;
	rg_arena_init(&c->ar, lim && lim->max_memory ? lim->max_memory : DEF_MEMORY);
	c->stack_base = (uintptr_t)&probe;
	c->stack_limit = lim && lim->max_stack ? lim->max_stack : STACK_LIMIT;
}

static void ctx_fini(rg_ctx *c)
{
	rg_builtins_fini(c);
	rg_arena_free(&c->ar);
}

static int ctx_error(rg_ctx *c, coffer_rego_diag *diag)
{
	const char *code = c->err_set ? c->err_code : "eval_internal_error";
	const char *msg = c->err_set ? c->err_msg : "evaluation failed";

	if (c->ar.failed && !c->err_set) {
		code = "eval_limit_error";
		msg = "memory limit exceeded";
	}
	diag_set(diag, code, c->err_file ? c->err_file : "query", c->err_line, c->err_col, msg);
	if (strcmp(code, "eval_limit_error") == 0)
		return coffer_error_set(COFFER_ELIMIT, "rego: %s", msg);
	return coffer_error_set(COFFER_EINVAL, "rego: %s: %s", code, msg);
}

typedef struct sol_ud {
	const coffer_rego_query *q;
	int var_output;
	rv_vec sols; /* binding objects or values */
} sol_ud;

static int collect(rg_ctx *c, void *ud, rv **fr, rv *value)
{
	sol_ud *u = ud;
	rv *v;

	if (u->var_output) {
		rv_vec ks = { 0 }, vs = { 0 };
		for (int i = 0; i < u->q->nslots; i++) {
			const char *name = u->q->varnames ? u->q->varnames[i] : NULL;
			if (!name || name[0] == '_' || name[0] == '$' || fr[i] == NULL)
				continue;
			rv *k = rv_cstr(&c->ar, name);
			if (!k || rv_vec_push(&c->ar, &ks, k) || rv_vec_push(&c->ar, &vs, fr[i]))
				return rg_oom(c);
		}
		static rv *none[1];
		v = rv_obj(&c->ar, ks.v ? ks.v : none, vs.v ? vs.v : none, ks.n, NULL);
	} else {
		static rv xkey = { .kind = RV_STR, .u.s = { "x", 1 } };
		rv **k = rg_alloc(&c->ar, sizeof(rv *)), **vv = rg_alloc(&c->ar, sizeof(rv *));
		if (!k || !vv)
			return rg_oom(c);
		k[0] = &xkey;
		vv[0] = value;
		v = rv_obj(&c->ar, k, vv, 1, NULL);
	}
	if (!v || rv_vec_push(&c->ar, &u->sols, v))
		return rg_oom(c);
	return 0;
}

/* shared core: evaluate into an rv array of solutions; caller converts */
typedef int (*finish_fn)(rg_ctx *c, rv *sols, void *ud);

static int eval_core(const coffer_rego_query *q, const json_t *input, const json_t *data,
                     const coffer_rego_limits *limits, int var_output, coffer_rego_diag *diag,
                     finish_fn fin, void *fud)
{
	rg_ctx c;
	sol_ud u;
	int r;

	if (limits && limits->version != COFFER_REGO_LIMITS_VERSION)
		return coffer_error_set(COFFER_EINVAL, "rego: unsupported limits version");
	ctx_init(&c, q, limits);
	memset(&u, 0, sizeof(u));
	u.q = q;
	u.var_output = var_output;
	c.input = input ? rv_from_json(&c.ar, (json_t *)input) : NULL;
	c.data = data ? rv_from_json(&c.ar, (json_t *)data) : NULL;
	if ((input && !c.input) || (data && !c.data)) {
		ctx_fini(&c);
		return coffer_error_set(COFFER_ELIMIT, "rego: memory limit exceeded");
	}
	r = rg_eval_query(&c, q, collect, &u);
	if (r < 0) {
		r = ctx_error(&c, diag);
		ctx_fini(&c);
		return r;
	}
	static rv *none[1];
	rv *arr = rv_arr(&c.ar, u.sols.v ? u.sols.v : none, u.sols.n);
	if (!arr) {
		rg_oom(&c);
		r = ctx_error(&c, diag);
		ctx_fini(&c);
		return r;
	}
	/* output bound: the serialized size */
	size_t max_out = limits && limits->max_output ? limits->max_output : DEF_OUTPUT;
	if (rg_dump_size(arr, max_out) > max_out) {
		rg_error(&c, "eval_limit_error", "output size limit exceeded");
		r = ctx_error(&c, diag);
		ctx_fini(&c);
		return r;
	}
	r = fin(&c, arr, fud);
	ctx_fini(&c);
	return r;
}

static int fin_json(rg_ctx *c, rv *sols, void *ud)
{
	json_t **out = ud;
	(void)c;
	*out = rv_to_json(sols);
	return *out ? 0 : coffer_error_set(COFFER_ENOMEM, "rego: out of memory");
}

int coffer_rego_query_eval(json_t **out, const coffer_rego_query *query, const json_t *input,
                           const json_t *data, const coffer_rego_limits *limits, int var_output,
                           coffer_rego_diag *diag)
{
	*out = NULL;
	return eval_core(query, input, data, limits, var_output, diag, fin_json, out);
}

static int fin_allow(rg_ctx *c, rv *sols, void *ud)
{
	int *allowed = ud;
	(void)c;
	*allowed = 0;
	if (sols->u.a.n == 1) {
		rv *x = rv_obj_getn(sols->u.a.items[0], "x", 1);
		*allowed = x && x->kind == RV_BOOL && x->u.b;
	}
	return 0;
}

int coffer_rego_query_allow(int *allowed, const coffer_rego_query *query, const json_t *input,
                            const json_t *data, const coffer_rego_limits *limits,
                            coffer_rego_diag *diag)
{
	*allowed = 0;
	int r = eval_core(query, input, data, limits, 0, diag, fin_allow, allowed);
	if (r)
		*allowed = 0;
	return r;
}

typedef struct fin_val_ud {
	json_t **out;
} fin_val_ud;

static int fin_value(rg_ctx *c, rv *sols, void *ud)
{
	json_t **out = ud;
	(void)c;
	if (sols->u.a.n == 0)
		return coffer_error_set(COFFER_ENOTFOUND, "rego: query is undefined");
	if (sols->u.a.n > 1)
		return coffer_error_set(COFFER_EINVAL, "rego: query has %zu results", sols->u.a.n);
	rv *x = rv_obj_getn(sols->u.a.items[0], "x", 1);
	*out = x ? rv_to_json(x) : NULL;
	return *out ? 0 : coffer_error_set(COFFER_ENOMEM, "rego: out of memory");
}

int coffer_rego_query_value(json_t **out, const coffer_rego_query *query, const json_t *input,
                            const json_t *data, const coffer_rego_limits *limits,
                            coffer_rego_diag *diag)
{
	*out = NULL;
	return eval_core(query, input, data, limits, 0, diag, fin_value, out);
}

char *coffer_rego_json_text(const json_t *value)
{
	rg_arena a;
	char *res = NULL;

	rg_arena_init(&a, 0);
	rv *v = rv_from_json(&a, (json_t *)value);
	if (v) {
		rg_sbuf b = { &a, NULL, 0, 0, 0, false };
		rg_dump(&b, v);
		if (!b.failed)
			res = strdup(b.p ? b.p : "");
	}
	rg_arena_free(&a);
	return res;
}

typedef struct text_ud {
	int mode;
	char **out;
} text_ud;

static int fin_text(rg_ctx *c, rv *sols, void *ud)
{
	text_ud *t = ud;
	rv *v = sols;
	rg_sbuf b = { &c->ar, NULL, 0, 0, 0, false };

	*t->out = NULL;
	if (t->mode == 1) {
		size_t n = sols->u.a.n;
		if (n == 0)
			return 0;
		rv **items = rg_alloc(&c->ar, n * sizeof(rv *));
		if (!items)
			return coffer_error_set(COFFER_ENOMEM, "rego: out of memory");
		for (size_t i = 0; i < n; i++) {
			rv *o = sols->u.a.items[i];
			rv *x = rv_obj_getn(o, "x", 1);
			items[i] = x ? x : o;
		}
		v = n == 1 ? items[0] : rv_arr(&c->ar, items, n);
		if (!v)
			return coffer_error_set(COFFER_ENOMEM, "rego: out of memory");
	}
	rg_dump(&b, v);
	if (b.failed)
		return coffer_error_set(COFFER_ENOMEM, "rego: out of memory");
	*t->out = strdup(b.p ? b.p : "");
	return *t->out ? 0 : coffer_error_set(COFFER_ENOMEM, "rego: out of memory");
}

static int fin_text_bind(rg_ctx *c, rv *sols, void *ud)
{
	text_ud *t = ud;
	rv *v;
	rg_sbuf b = { &c->ar, NULL, 0, 0, 0, false };

	*t->out = NULL;
	if (sols->u.a.n == 0)
		return 0;
	v = sols->u.a.n == 1 ? sols->u.a.items[0] : sols;
	rg_dump(&b, v);
	if (b.failed)
		return coffer_error_set(COFFER_ENOMEM, "rego: out of memory");
	*t->out = strdup(b.p ? b.p : "");
	return *t->out ? 0 : coffer_error_set(COFFER_ENOMEM, "rego: out of memory");
}

int rg_query_eval_text(char **out, const coffer_rego_query *q, const json_t *input,
                       const json_t *data, const coffer_rego_limits *limits, int mode,
                       coffer_rego_diag *diag)
{
	text_ud t = { mode, out };
	int r;

	*out = NULL;
	if (mode == 0)
		return eval_core(q, input, data, limits, 0, diag, fin_text, &t);
	/* bindings when the query binds named variables, else values */
	bool named = false;
	for (int i = 0; i < q->nslots; i++)
		if (q->varnames && q->varnames[i] && q->varnames[i][0] != '_' &&
		    q->varnames[i][0] != '$')
			named = true;
	if (named) {
		t.mode = 2;
		r = eval_core(q, input, data, limits, 1, diag, fin_text_bind, &t);
		return r;
	}
	return eval_core(q, input, data, limits, 0, diag, fin_text, &t);
}
