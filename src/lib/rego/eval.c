/* Evaluation: backtracking over body literals in continuation-passing style.
 * Every term producing several values (iteration over refs with unbound
 * variables, `some ... in`, partial rules) calls its continuation once per
 * value with the variable bound, and unbinds it afterwards; so no trail is
 * needed. Complete rules, partial sets/objects are evaluated whole and
 * memoized per evaluation (per `with` scope). Each evaluation owns an arena;
 * steps, memory, depth and C stack use are bounded. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "rego/eval.h"

rg_node *rg_node_kid(const rg_node *n, const char *name, size_t len);

int rg_error(rg_ctx *c, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (c->err_set)
		return RG_EERR;
	c->err_set = true;
	snprintf(c->err_code, sizeof(c->err_code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(c->err_msg, sizeof(c->err_msg), fmt, ap);
	va_end(ap);
	c->err_line = c->cur_line;
	c->err_col = c->cur_col;
	c->err_file = c->cur_file;
	return RG_EERR;
}

int rg_bierr(rg_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->lenient)
		return 0;
	if (c->err_set)
		return RG_EERR;
	c->err_set = true;
	snprintf(c->err_code, sizeof(c->err_code), "eval_builtin_error");
	va_start(ap, fmt);
	vsnprintf(c->err_msg, sizeof(c->err_msg), fmt, ap);
	va_end(ap);
	c->err_line = c->cur_line;
	c->err_col = c->cur_col;
	c->err_file = c->cur_file;
	return RG_EERR;
}

int rg_oom(rg_ctx *c)
{
	return rg_error(c, "eval_limit_error", "memory limit exceeded");
}

rg_arena *rg_ctx_arena(rg_ctx *c)
{
	return &c->ar;
}

int64_t rg_ctx_now(rg_ctx *c)
{
	if (c->now_ns == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		c->now_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	}
	return c->now_ns;
}

unsigned char *rg_ctx_nonce(rg_ctx *c)
{
	if (!c->have_nonce) {
		if (RAND_bytes(c->nonce, sizeof(c->nonce)) != 1)
			return NULL;
		c->have_nonce = true;
	}
	return c->nonce;
}

int rg_ctx_step(rg_ctx *c, uint64_t n)
{
	c->steps += n;
	if (c->steps > c->max_steps)
		return rg_error(c, "eval_limit_error", "step limit exceeded (%llu)",
		                (unsigned long long)c->max_steps);
	return 0;
}

static int check_stack(rg_ctx *c)
{
	char probe;
	uintptr_t here = (uintptr_t)&probe;
	uintptr_t used = c->stack_base > here ? c->stack_base - here : here - c->stack_base;

	if (used > c->stack_limit)
		return rg_error(c, "eval_limit_error", "recursion depth limit exceeded");
	return 0;
}

static int tick(rg_ctx *c)
{
	if (++c->steps > c->max_steps)
		return rg_error(c, "eval_limit_error", "step limit exceeded (%llu)",
		                (unsigned long long)c->max_steps);
	return check_stack(c);
}

/* ---------------------------------------------------------------- */

typedef int (*vk)(rg_ctx *c, void *ud, rv *v);

static int eval_term(rg_ctx *c, rv **fr, rg_term *t, vk k, void *ud);
static int eval_body(rg_ctx *c, rv **fr, rg_body *b, size_t i, vk k, void *ud);
static int unify_pat(rg_ctx *c, rv **fr, rg_term *t, rv *v, vk k, void *ud);
static int rule_value(rg_ctx *c, rg_node *n, rv **out);
static int node_value(rg_ctx *c, rg_node *n, rv *base, rv **out);
static int call_user(rg_ctx *c, rg_node *n, rv **args, size_t nargs, rv **out);

static size_t rg_call_arity(const rg_term *t)
{
	if (t->u.call.bi)
		return t->u.call.bi->arity < 0 ? t->u.call.n : (size_t)t->u.call.bi->arity;
	return t->u.call.fn->kind == R_FUNC ? t->u.call.fn->arity : 0;
}

static bool is_unbound(rv **fr, rg_term *t)
{
	return t->k == T_VAR &&
	       ((t->vres == VR_LOCAL && fr[t->u.var.slot] == NULL) || t->vres == VR_WILD);
}

/* pattern: contains an unbound local in a bindable position */
static bool is_pattern(rv **fr, rg_term *t)
{
	switch (t->k) {
	case T_VAR:
		return is_unbound(fr, t);
	case T_ARRAY:
		for (size_t i = 0; i < t->u.coll.n; i++)
			if (is_pattern(fr, t->u.coll.items[i]))
				return true;
		return false;
	case T_OBJECT:
		for (size_t i = 0; i < t->u.obj.n; i++)
			if (is_pattern(fr, t->u.obj.vals[i]))
				return true;
		return false;
	default:
		return false;
	}
}

/* ---- values from iteration ---- */

typedef struct iter_cb {
	rg_ctx *c;
	rv **fr;
} iter_cb;

/* ---- ref stepping over plain values ---- */

typedef struct refk {
	rg_term **path;
	size_t n;
	size_t i;
	rv *cur;
	vk k;
	void *ud;
	rv **fr;
} refk;

static int ref_steps(rg_ctx *c, rv **fr, rv *v, rg_term **path, size_t i, size_t n, vk k, void *ud);

typedef struct refkey_ud {
	rv **fr;
	rv *v;
	rg_term **path;
	size_t i, n;
	vk k;
	void *ud;
} refkey_ud;

static int ref_key_k(rg_ctx *c, void *ud, rv *key)
{
	refkey_ud *r = ud;
	rv *child = rv_get(r->v, key);

	if (child == NULL)
		return 0;
	return ref_steps(c, r->fr, child, r->path, r->i + 1, r->n, r->k, r->ud);
}

static int iterate(rg_ctx *c, rv **fr, rv *v, rg_term *var, rg_term **path, size_t i, size_t n,
                   vk k, void *ud)
{
	int r;
	bool bind = var->vres == VR_LOCAL;
	int slot = var->u.var.slot;

	if (rv_force(v))
		return rg_oom(c);
	if (v->kind == RV_OBJ) {
		for (size_t j = 0; j < v->u.o.n; j++) {
			if ((r = tick(c)))
				return r;
			if (bind)
				fr[slot] = v->u.o.keys[j];
			r = ref_steps(c, fr, v->u.o.vals[j], path, i + 1, n, k, ud);
			if (bind)
				fr[slot] = NULL;
			if (r)
				return r;
		}
	} else if (v->kind == RV_ARR) {
		for (size_t j = 0; j < v->u.a.n; j++) {
			if ((r = tick(c)))
				return r;
			if (bind) {
				fr[slot] = rv_int(&c->ar, (int64_t)j);
				RG_TRY_ALLOC(c, fr[slot]);
			}
			r = ref_steps(c, fr, v->u.a.items[j], path, i + 1, n, k, ud);
			if (bind)
				fr[slot] = NULL;
			if (r)
				return r;
		}
	} else if (v->kind == RV_SET) {
		for (size_t j = 0; j < v->u.a.n; j++) {
			if ((r = tick(c)))
				return r;
			if (bind)
				fr[slot] = v->u.a.items[j];
			r = ref_steps(c, fr, v->u.a.items[j], path, i + 1, n, k, ud);
			if (bind)
				fr[slot] = NULL;
			if (r)
				return r;
		}
	}
	return 0;
}

static int ref_steps(rg_ctx *c, rv **fr, rv *v, rg_term **path, size_t i, size_t n, vk k, void *ud)
{
	if (i == n)
		return k(c, ud, v);
	rg_term *e = path[i];
	if (e->k == T_CONST) {
		rv *child = rv_get(v, e->u.val);
		if (child == NULL)
			return 0;
		return ref_steps(c, fr, child, path, i + 1, n, k, ud);
	}
	if (is_unbound(fr, e))
		return iterate(c, fr, v, e, path, i, n, k, ud);
	if (e->k == T_VAR && e->vres == VR_LOCAL) {
		rv *child = rv_get(v, fr[e->u.var.slot]);
		if (child == NULL)
			return 0;
		return ref_steps(c, fr, child, path, i + 1, n, k, ud);
	}
	refkey_ud r = { fr, v, path, i, n, k, ud };
	return eval_term(c, fr, e, ref_key_k, &r);
}

/* ---- data references (rule tree + base document) ---- */

static rv *override_for(rg_ctx *c, rg_node *n)
{
	if (c->node_over == NULL)
		return NULL;
	return c->node_over[n->id];
}

static int dref(rg_ctx *c, rv **fr, rg_node *n, rv *base, rg_term **path, size_t i, size_t n_, vk k,
                void *ud);

typedef struct dref_ud {
	rv **fr;
	rg_node *n;
	rv *base;
	rg_term **path;
	size_t i, np;
	vk k;
	void *ud;
} dref_ud;

static int dref_key(rg_ctx *c, dref_ud *d, rv *key)
{
	rg_node *kid = NULL;
	rv *b = NULL;

	if (key->kind == RV_NUM) {
		/* data paths are strings: data.x[1] reads data.x["1"] */
		char num[64];
		int len = rv_num_format(num, sizeof(num), key);
		if (len > 0 && (size_t)len < sizeof(num)) {
			key = rv_str_copy(&c->ar, num, (size_t)len);
			RG_TRY_ALLOC(c, key);
		}
	}
	if (key->kind == RV_STR)
		kid = rg_node_kid(d->n, key->u.s.s, key->u.s.len);
	if (kid && !kid->has_rules_below && override_for(c, kid) == NULL)
		kid = NULL;
	if (kid && kid->kind == R_FUNC && (kid->nrules || kid->deflt))
		return 0;
	if (d->base)
		b = rv_get(d->base, key);
	if (kid == NULL && b == NULL)
		return 0;
	if (b != NULL && kid != NULL && (kid->nrules || kid->deflt))
		kid = NULL; /* the base document wins over a rule at the same path */
	return dref(c, d->fr, kid, b, d->path, d->i + 1, d->np, d->k, d->ud);
}

static int dref_key_k(rg_ctx *c, void *ud, rv *key)
{
	return dref_key(c, ud, key);
}

static int dref(rg_ctx *c, rv **fr, rg_node *n, rv *base, rg_term **path, size_t i, size_t np, vk k,
                void *ud)
{
	int r;

	if (n == NULL) {
		if (base == NULL)
			return 0;
		return ref_steps(c, fr, base, path, i, np, k, ud);
	}
	rv *ov = override_for(c, n);
	if (ov)
		return ref_steps(c, fr, ov, path, i, np, k, ud);
	if (n->nrules || n->deflt) {
		rv *v = NULL;
		if (n->kind == R_FUNC)
			return 0;
		if ((r = rule_value(c, n, &v)))
			return r;
		if (v == NULL)
			return 0;
		return ref_steps(c, fr, v, path, i, np, k, ud);
	}
	if (i == np) {
		rv *v = NULL;
		if ((r = node_value(c, n, base, &v)))
			return r;
		return v ? k(c, ud, v) : 0;
	}
	rg_term *e = path[i];
	dref_ud d = { fr, n, base, path, i, np, k, ud };
	if (e->k == T_CONST)
		return dref_key(c, &d, e->u.val);
	if (is_unbound(fr, e)) {
		/* iterate over the union of rule children and base keys */
		rv *all = NULL;
		if ((r = node_value(c, n, base, &all)))
			return r;
		if (all == NULL)
			return 0;
		return iterate(c, fr, all, e, path, i, np, k, ud);
	}
	return eval_term(c, fr, e, dref_key_k, &d);
}

static int node_value(rg_ctx *c, rg_node *n, rv *base, rv **out)
{
	rv_vec ks = { 0 }, vs = { 0 };
	int r;

	*out = NULL;
	rv *ov = override_for(c, n);
	if (ov) {
		*out = ov;
		return 0;
	}
	if (n->nrules || n->deflt) {
		if (n->kind == R_FUNC)
			return 0;
		return rule_value(c, n, out);
	}
	if (base && base->kind != RV_OBJ) {
		*out = n->has_rules_below ? NULL : base;
		if (!n->has_rules_below)
			return 0;
	}
	if (base && base->kind == RV_OBJ && rv_force(base))
		return rg_oom(c);
	for (size_t j = 0; j < n->nkids; j++) {
		rg_node *kid = n->kids[j];
		rv *kb = NULL, *kv = NULL;
		if (!kid->has_rules_below && override_for(c, kid) == NULL)
			continue;
		if (kid->kind == R_FUNC && (kid->nrules || kid->deflt))
			continue;
		if (base && base->kind == RV_OBJ)
			kb = rv_obj_getn(base, kid->name, strlen(kid->name));
		if ((r = node_value(c, kid, kb, &kv)))
			return r;
		if (kv == NULL)
			continue;
		rv *key = rv_cstr(&c->ar, kid->name);
		RG_TRY_ALLOC(c, key);
		if (rv_vec_push(&c->ar, &ks, key) || rv_vec_push(&c->ar, &vs, kv))
			return rg_oom(c);
	}
	if (base && base->kind == RV_OBJ) {
		for (size_t j = 0; j < base->u.o.n; j++) {
			rv *key = base->u.o.keys[j];
			if (key->kind == RV_STR) {
				rg_node *kid = rg_node_kid(n, key->u.s.s, key->u.s.len);
				if (kid && (kid->has_rules_below || override_for(c, kid)))
					continue;
			}
			if (rv_vec_push(&c->ar, &ks, key) ||
			    rv_vec_push(&c->ar, &vs, base->u.o.vals[j]))
				return rg_oom(c);
		}
	}
	*out = rv_obj(&c->ar, ks.v ? ks.v : (rv **)&ks, vs.v ? vs.v : (rv **)&vs, ks.n, NULL);
	RG_TRY_ALLOC(c, *out);
	return 0;
}

/* ---- collections built from terms ---- */

typedef struct coll_ud {
	rv **fr;
	rg_term *t;
	rv **items; /* keys for objects */
	rv **vals;
	size_t i, n;
	bool obj_val; /* next value goes into vals[i] */
	vk k;
	void *ud;
} coll_ud;

static int coll_next(rg_ctx *c, coll_ud *u);

static int coll_item_k(rg_ctx *c, void *ud, rv *v)
{
	coll_ud *u = ud;
	size_t i = u->i;
	bool ov = u->obj_val;
	int r;

	if (u->t->k == T_OBJECT) {
		if (!ov) {
			u->items[i] = v;
			u->obj_val = true;
		} else {
			u->vals[i] = v;
			u->obj_val = false;
			u->i++;
		}
	} else {
		u->items[i] = v;
		u->i++;
	}
	r = coll_next(c, u);
	u->i = i;
	u->obj_val = ov;
	return r;
}

static int coll_next(rg_ctx *c, coll_ud *u)
{
	rg_term *t = u->t;

	if (u->i == u->n) {
		rv *v;
		size_t n = u->n;
		/* the value must own its arrays: backtracking reuses ours */
		rv **items = rg_alloc(&c->ar, (n ? n : 1) * sizeof(rv *));
		RG_TRY_ALLOC(c, items);
		if (n)
			memcpy(items, u->items, n * sizeof(rv *));
		if (t->k == T_ARRAY) {
			v = rv_arr(&c->ar, items, n);
		} else if (t->k == T_SET) {
			v = rv_set(&c->ar, items, n);
		} else {
			rv **vals = rg_alloc(&c->ar, (n ? n : 1) * sizeof(rv *));
			RG_TRY_ALLOC(c, vals);
			if (n)
				memcpy(vals, u->vals, n * sizeof(rv *));
			int conflict = 0;
			v = rv_obj(&c->ar, items, vals, n, &conflict);
			if (conflict)
				return rg_error(c, "eval_conflict_error",
				                "object keys must be unique");
		}
		RG_TRY_ALLOC(c, v);
		return u->k(c, u->ud, v);
	}
	rg_term *e;
	if (t->k == T_OBJECT)
		e = u->obj_val ? t->u.obj.vals[u->i] : t->u.obj.keys[u->i];
	else
		e = t->u.coll.items[u->i];
	return eval_term(c, u->fr, e, coll_item_k, u);
}

static int eval_coll(rg_ctx *c, rv **fr, rg_term *t, vk k, void *ud)
{
	size_t n = t->k == T_OBJECT ? t->u.obj.n : t->u.coll.n;
	coll_ud u = { fr, t, NULL, NULL, 0, n, false, k, ud };

	u.items = rg_alloc(&c->ar, (n ? n : 1) * sizeof(rv *));
	RG_TRY_ALLOC(c, u.items);
	if (t->k == T_OBJECT) {
		u.vals = rg_alloc(&c->ar, (n ? n : 1) * sizeof(rv *));
		RG_TRY_ALLOC(c, u.vals);
	}
	return coll_next(c, &u);
}

/* ---- comprehensions ---- */

typedef struct comp_ud {
	rv **fr;
	rg_term *t;
	rv_vec keys, vals;
	rv *pending_key;
} comp_ud;

static int comp_val_k(rg_ctx *c, void *ud, rv *v)
{
	comp_ud *u = ud;

	if (u->t->k == T_OCOMP) {
		/* conflicting values for one key are an error */
		for (size_t i = 0; i < u->keys.n; i++)
			if (rv_eq(u->keys.v[i], u->pending_key)) {
				if (!rv_eq(u->vals.v[i], v))
					return rg_error(c, "eval_conflict_error",
					                "object keys must be unique");
				return 0;
			}
		if (rv_vec_push(&c->ar, &u->keys, u->pending_key) ||
		    rv_vec_push(&c->ar, &u->vals, v))
			return rg_oom(c);
		return 0;
	}
	if (rv_vec_push(&c->ar, &u->keys, v))
		return rg_oom(c);
	return 0;
}

static int comp_key_k(rg_ctx *c, void *ud, rv *v)
{
	comp_ud *u = ud;

	u->pending_key = v;
	return eval_term(c, u->fr, u->t->u.comp.head, comp_val_k, u);
}

static int comp_body_k(rg_ctx *c, void *ud, rv *v)
{
	comp_ud *u = ud;
	(void)v;
	if (u->t->k == T_OCOMP)
		return eval_term(c, u->fr, u->t->u.comp.key, comp_key_k, u);
	return eval_term(c, u->fr, u->t->u.comp.head, comp_val_k, u);
}

static int eval_comp(rg_ctx *c, rv **fr, rg_term *t, vk k, void *ud)
{
	comp_ud u = { fr, t, { 0 }, { 0 }, NULL };
	int r;
	rv *v;
	static rv *none[1];

	if (++c->depth > c->max_depth)
		return rg_error(c, "eval_limit_error", "depth limit exceeded");
	r = eval_body(c, fr, &t->u.comp.body, 0, comp_body_k, &u);
	c->depth--;
	if (r < 0)
		return r;
	if (t->k == T_ACOMP)
		v = rv_arr(&c->ar, u.keys.v ? u.keys.v : none, u.keys.n);
	else if (t->k == T_SCOMP)
		v = rv_set(&c->ar, u.keys.v ? u.keys.v : none, u.keys.n);
	else
		v = rv_obj(&c->ar, u.keys.v ? u.keys.v : none, u.vals.v ? u.vals.v : none, u.keys.n,
		           NULL);
	RG_TRY_ALLOC(c, v);
	return k(c, ud, v);
}

/* ---- calls ---- */

typedef struct call_ud {
	rv **fr;
	rg_term *t;
	rv **args;
	size_t i, n; /* n: number of input args */
	rg_term *outarg;
	vk k;
	void *ud;
} call_ud;

static int call_next(rg_ctx *c, call_ud *u);

static int call_arg_k(rg_ctx *c, void *ud, rv *v)
{
	call_ud *u = ud;
	size_t i = u->i;
	int r;

	u->args[i] = v;
	u->i++;
	r = call_next(c, u);
	u->i = i;
	return r;
}

static const rg_override *find_fn_override(rg_ctx *c, const rg_builtin *bi, rg_node *fn)
{
	for (const rg_override *o = c->fn_over; o; o = o->next)
		if ((bi && o->bi == bi) || (fn && o->fn == fn))
			return o;
	return NULL;
}

static int invoke(rg_ctx *c, const rg_builtin *bi, rg_node *fn, rv **args, size_t n, rv **out);

static int invoke_override(rg_ctx *c, const rg_override *o, rv **args, size_t n, rv **out)
{
	rg_term *rt = o->repl;

	*out = NULL;
	/* replacement by another function (ref/var naming a builtin or function) */
	if (o->repl_bi || o->repl_fn) {
		const rg_override *save = c->fn_over;
		int r;
		c->fn_over = o->next; /* avoid self-recursion */
		r = invoke(c, o->repl_bi, o->repl_fn, args, n, out);
		c->fn_over = save;
		return r;
	}
	(void)rt;
	*out = o->value;
	return 0;
}

static int invoke(rg_ctx *c, const rg_builtin *bi, rg_node *fn, rv **args, size_t n, rv **out)
{
	const rg_override *o = find_fn_override(c, bi, fn);
	int r;

	if (o)
		return invoke_override(c, o, args, n, out);
	*out = NULL;
	if (bi) {
		if ((r = rg_ctx_step(c, 1)))
			return r;
		return bi->fn(c, args, out);
	}
	if (fn->kind == R_COMPLETE)
		return rule_value(c, fn, out);
	return call_user(c, fn, args, n, out);
}

static int call_next(rg_ctx *c, call_ud *u)
{
	rg_term *t = u->t;
	int r;

	if (u->i < u->n)
		return eval_term(c, u->fr, t->u.call.args[u->i], call_arg_k, u);
	rv *out = NULL;
	int sl = c->cur_line, sc = c->cur_col;
	c->cur_line = t->line;
	c->cur_col = t->col;
	r = invoke(c, t->u.call.bi, t->u.call.fn, u->args, u->n, &out);
	c->cur_line = sl;
	c->cur_col = sc;
	if (r < 0)
		return r;
	if (out == NULL)
		return 0;
	if (t->u.call.bi && t->u.call.bi->multi && out->kind == RV_ARR) {
		for (size_t i = 0; i < out->u.a.n; i++) {
			rv *x = out->u.a.items[i];
			r = u->outarg ? unify_pat(c, u->fr, u->outarg, x, u->k, u->ud)
			              : u->k(c, u->ud, x);
			if (r)
				return r;
		}
		return 0;
	}
	if (u->outarg) {
		/* old style: f(x, out) binds/compares out, and is true */
		return unify_pat(c, u->fr, u->outarg, out, u->k, u->ud);
	}
	return u->k(c, u->ud, out);
}

static int eval_call(rg_ctx *c, rv **fr, rg_term *t, bool allow_out, vk k, void *ud)
{
	size_t nin = t->u.call.n;
	size_t arity = rg_call_arity(t);
	call_ud u = { fr, t, NULL, 0, 0, NULL, k, ud };

	if (nin == arity + 1) {
		if (!allow_out)
			return rg_error(c, "rego_type_error", "%s: too many arguments",
			                t->u.call.name);
		u.outarg = t->u.call.args[nin - 1];
		nin--;
	} else if (nin != arity) {
		return rg_error(c, "rego_type_error", "%s: arity mismatch", t->u.call.name);
	}
	u.n = nin;
	u.args = rg_alloc(&c->ar, (nin ? nin : 1) * sizeof(rv *));
	RG_TRY_ALLOC(c, u.args);
	return call_next(c, &u);
}

/* ---- binary operators ---- */

int rg_arith(rg_ctx *c, int op, rv *a, rv *b, rv **out);

typedef struct bin_ud {
	rv **fr;
	rg_term *t;
	rv *a;
	vk k;
	void *ud;
} bin_ud;

static int bin_b_k(rg_ctx *c, void *ud, rv *b)
{
	bin_ud *u = ud;
	rv *a = u->a, *out = NULL;
	int r;

	switch (u->t->op) {
	case OP_EQ:
		return u->k(c, u->ud, rv_bool(rv_eq(a, b)));
	case OP_NE:
		return u->k(c, u->ud, rv_bool(!rv_eq(a, b)));
	case OP_LT:
		return u->k(c, u->ud, rv_bool(rv_cmp(a, b) < 0));
	case OP_LE:
		return u->k(c, u->ud, rv_bool(rv_cmp(a, b) <= 0));
	case OP_GT:
		return u->k(c, u->ud, rv_bool(rv_cmp(a, b) > 0));
	case OP_GE:
		return u->k(c, u->ud, rv_bool(rv_cmp(a, b) >= 0));
	default:
		c->cur_line = u->t->line;
		c->cur_col = u->t->col;
		r = rg_arith(c, u->t->op, a, b, &out);
		if (r < 0)
			return r;
		if (out == NULL)
			return 0;
		return u->k(c, u->ud, out);
	}
}

static int bin_a_k(rg_ctx *c, void *ud, rv *a)
{
	bin_ud *u = ud;
	rv *save = u->a;
	int r;

	u->a = a;
	r = eval_term(c, u->fr, u->t->u.bin.b, bin_b_k, u);
	u->a = save;
	return r;
}

typedef struct neg_ud {
	vk k;
	void *ud;
} neg_ud;

static int neg_k(rg_ctx *c, void *ud, rv *v)
{
	neg_ud *u = ud;
	rv *out = NULL;
	int r = rg_arith(c, OP_SUB, NULL, v, &out);

	if (r < 0)
		return r;
	return out ? u->k(c, u->ud, out) : 0;
}

/* ---- membership ---- */

typedef struct mem_ud {
	rv **fr;
	rg_term *t;
	rv *key, *val;
	int stage;
	vk k;
	void *ud;
} mem_ud;

static int mem_k(rg_ctx *c, void *ud, rv *v)
{
	mem_ud *u = ud;
	rg_term *t = u->t;
	int r;

	if (u->stage == 0) {
		u->val = v;
		u->stage = 1;
		r = t->u.mem.key ? eval_term(c, u->fr, t->u.mem.key, mem_k, u)
		                 : (u->stage = 2, eval_term(c, u->fr, t->u.mem.coll, mem_k, u));
		u->stage = 0;
		return r;
	}
	if (u->stage == 1) {
		u->key = v;
		u->stage = 2;
		r = eval_term(c, u->fr, t->u.mem.coll, mem_k, u);
		u->stage = 1;
		return r;
	}
	/* v is the collection */
	rv *coll = v;
	bool found = false;
	if (rv_force(coll))
		return rg_oom(c);
	if (t->u.mem.key) {
		rv *x = rv_get(coll, u->key);
		if (coll->kind == RV_SET)
			found = x != NULL && rv_eq(u->key, u->val);
		else
			found = x != NULL && rv_eq(x, u->val);
	} else if (coll->kind == RV_SET) {
		found = rv_set_has(coll, u->val);
	} else if (coll->kind == RV_ARR) {
		for (size_t i = 0; i < coll->u.a.n && !found; i++)
			found = rv_eq(coll->u.a.items[i], u->val);
	} else if (coll->kind == RV_OBJ) {
		for (size_t i = 0; i < coll->u.o.n && !found; i++)
			found = rv_eq(coll->u.o.vals[i], u->val);
	}
	return u->k(c, u->ud, rv_bool(found));
}

/* ---- terms ---- */

typedef struct refhead_ud {
	rv **fr;
	rg_term *t;
	vk k;
	void *ud;
} refhead_ud;

static int ref_head_k(rg_ctx *c, void *ud, rv *v)
{
	refhead_ud *u = ud;
	return ref_steps(c, u->fr, v, u->t->u.ref.path, 0, u->t->u.ref.n, u->k, u->ud);
}

/* global data path from a resolved var (rule name or import) + extra path */
static int eval_global(rg_ctx *c, rv **fr, const char **gp, size_t gn, rg_term **path, size_t np,
                       vk k, void *ud)
{
	rg_node *n;
	rv *base;
	size_t j;

	if (strcmp(gp[0], "input") == 0) {
		rv *v = c->input;
		if (v == NULL)
			return 0;
		for (j = 1; j < gn && v; j++)
			v = rv_obj_getn(v, gp[j], strlen(gp[j]));
		if (v == NULL)
			return 0;
		return ref_steps(c, fr, v, path, 0, np, k, ud);
	}
	n = c->pol->root;
	base = c->data;
	for (j = 1; j < gn; j++) {
		rv *ov = n ? override_for(c, n) : NULL;
		if (ov) {
			base = ov;
			n = NULL;
		}
		if (n && (n->nrules || n->deflt))
			break;
		rg_node *kid = n ? rg_node_kid(n, gp[j], strlen(gp[j])) : NULL;
		if (kid && !kid->has_rules_below && override_for(c, kid) == NULL)
			kid = NULL;
		base = base ? rv_obj_getn(base, gp[j], strlen(gp[j])) : NULL;
		n = kid;
		if (n == NULL && base == NULL)
			return 0;
	}
	if (j < gn) {
		/* path continues below a rule: evaluate it and step by constants */
		rv *v = NULL;
		int r = node_value(c, n, base, &v);
		if (r)
			return r;
		for (; j < gn && v; j++)
			v = rv_obj_getn(v, gp[j], strlen(gp[j]));
		if (v == NULL)
			return 0;
		return ref_steps(c, fr, v, path, 0, np, k, ud);
	}
	return dref(c, fr, n, base, path, 0, np, k, ud);
}

static int eval_term(rg_ctx *c, rv **fr, rg_term *t, vk k, void *ud)
{
	int r;

	if ((r = tick(c)))
		return r;
	switch (t->k) {
	case T_CONST:
		return k(c, ud, t->u.val);
	case T_VAR:
		switch (t->vres) {
		case VR_LOCAL:
			if (fr[t->u.var.slot] == NULL) {
				c->cur_line = t->line;
				c->cur_col = t->col;
				return rg_error(c, "rego_unsafe_var_error", "var %s is unsafe",
				                t->u.var.name);
			}
			return k(c, ud, fr[t->u.var.slot]);
		case VR_INPUT:
			return c->input ? k(c, ud, c->input) : 0;
		case VR_DATA:
			return dref(c, fr, c->pol->root, c->data, NULL, 0, 0, k, ud);
		case VR_GLOBAL:
			return eval_global(c, fr, t->u.var.gpath, t->u.var.gn, NULL, 0, k, ud);
		default:
			c->cur_line = t->line;
			c->cur_col = t->col;
			return rg_error(c, "rego_unsafe_var_error", "var %s is unsafe",
			                t->u.var.name);
		}
	case T_REF: {
		rg_term *h = t->u.ref.head;
		if (h->k == T_VAR) {
			if (h->vres == VR_DATA)
				return dref(c, fr, c->pol->root, c->data, t->u.ref.path, 0,
				            t->u.ref.n, k, ud);
			if (h->vres == VR_GLOBAL)
				return eval_global(c, fr, h->u.var.gpath, h->u.var.gn,
				                   t->u.ref.path, t->u.ref.n, k, ud);
			if (h->vres == VR_INPUT)
				return c->input ? ref_steps(c, fr, c->input, t->u.ref.path, 0,
				                            t->u.ref.n, k, ud)
				                : 0;
		}
		refhead_ud u = { fr, t, k, ud };
		return eval_term(c, fr, h, ref_head_k, &u);
	}
	case T_ARRAY:
	case T_SET:
	case T_OBJECT:
		return eval_coll(c, fr, t, k, ud);
	case T_ACOMP:
	case T_SCOMP:
	case T_OCOMP:
		return eval_comp(c, fr, t, k, ud);
	case T_CALL:
		return eval_call(c, fr, t, false, k, ud);
	case T_BINOP: {
		if (t->op == OP_UNIFY || t->op == OP_ASSIGN) {
			c->cur_line = t->line;
			c->cur_col = t->col;
			return rg_error(c, "rego_compile_error",
			                "unexpected assignment in expression");
		}
		bin_ud u = { fr, t, NULL, k, ud };
		return eval_term(c, fr, t->u.bin.a, bin_a_k, &u);
	}
	case T_NEG: {
		neg_ud u = { k, ud };
		return eval_term(c, fr, t->u.neg.a, neg_k, &u);
	}
	case T_MEMBER: {
		mem_ud u = { fr, t, NULL, NULL, 0, k, ud };
		return eval_term(c, fr, t->u.mem.val, mem_k, &u);
	}
	default:
		return rg_error(c, "eval_internal_error", "unknown term");
	}
}

/* ---- unification ---- */

typedef struct upat_ud {
	rv **fr;
	rg_term *t; /* array/object pattern */
	rv *v;
	size_t i;
	vk k;
	void *ud;
	rv *objval; /* object: value looked up for key */
} upat_ud;

static int upat_next(rg_ctx *c, void *ud, rv *unused);

static int upat_objkey_k(rg_ctx *c, void *ud, rv *key)
{
	upat_ud *u = ud;
	rv *x = rv_get(u->v, key);
	size_t i = u->i;
	int r;

	if (x == NULL)
		return 0;
	u->i++;
	r = unify_pat(c, u->fr, u->t->u.obj.vals[i], x, upat_next, u);
	u->i = i;
	return r;
}

static int upat_next(rg_ctx *c, void *ud, rv *unused)
{
	upat_ud *u = ud;
	(void)unused;

	if (u->t->k == T_ARRAY) {
		if (u->i == u->t->u.coll.n)
			return u->k(c, u->ud, u->v);
		size_t i = u->i;
		int r;
		u->i++;
		r = unify_pat(c, u->fr, u->t->u.coll.items[i], u->v->u.a.items[i], upat_next, u);
		u->i = i;
		return r;
	}
	if (u->i == u->t->u.obj.n)
		return u->k(c, u->ud, u->v);
	return eval_term(c, u->fr, u->t->u.obj.keys[u->i], upat_objkey_k, u);
}

typedef struct ueq_ud {
	rv *v;
	vk k;
	void *ud;
} ueq_ud;

static int ueq_k(rg_ctx *c, void *ud, rv *x)
{
	ueq_ud *u = ud;
	if (!rv_eq(x, u->v))
		return 0;
	return u->k(c, u->ud, u->v);
}

static int unify_pat(rg_ctx *c, rv **fr, rg_term *t, rv *v, vk k, void *ud)
{
	int r;

	if (t->k == T_VAR) {
		if (t->vres == VR_WILD)
			return k(c, ud, v);
		if (t->vres == VR_LOCAL) {
			int s = t->u.var.slot;
			if (fr[s] == NULL) {
				fr[s] = v;
				r = k(c, ud, v);
				fr[s] = NULL;
				return r;
			}
			return rv_eq(fr[s], v) ? k(c, ud, v) : 0;
		}
	}
	if (t->k == T_ARRAY && is_pattern(fr, t)) {
		if (v->kind != RV_ARR || rv_force(v))
			return v->kind != RV_ARR ? 0 : rg_oom(c);
		if (v->u.a.n != t->u.coll.n)
			return 0;
		upat_ud u = { fr, t, v, 0, k, ud, NULL };
		return upat_next(c, &u, NULL);
	}
	if (t->k == T_OBJECT && is_pattern(fr, t)) {
		if (v->kind != RV_OBJ || rv_force(v))
			return v->kind != RV_OBJ ? 0 : rg_oom(c);
		if (v->u.o.n != t->u.obj.n)
			return 0;
		upat_ud u = { fr, t, v, 0, k, ud, NULL };
		return upat_next(c, &u, NULL);
	}
	ueq_ud u = { v, k, ud };
	return eval_term(c, fr, t, ueq_k, &u);
}

typedef struct uni_ud {
	rv **fr;
	rg_term *pat;
	vk k;
	void *ud;
} uni_ud;

static int uni_k(rg_ctx *c, void *ud, rv *v)
{
	uni_ud *u = ud;
	return unify_pat(c, u->fr, u->pat, v, u->k, u->ud);
}

typedef struct uni2_ud {
	rv **fr;
	rg_term *a, *b;
	size_t i;
	vk k;
	void *ud;
} uni2_ud;

static int unify_terms(rg_ctx *c, rv **fr, rg_term *a, rg_term *b, vk k, void *ud);

static int uni2_next(rg_ctx *c, void *ud, rv *unused)
{
	uni2_ud *u = ud;
	(void)unused;
	if (u->i == u->a->u.coll.n)
		return u->k(c, u->ud, RV_TRUE);
	size_t i = u->i;
	int r;
	u->i++;
	r = unify_terms(c, u->fr, u->a->u.coll.items[i], u->b->u.coll.items[i], uni2_next, u);
	u->i = i;
	return r;
}

static int unify_terms(rg_ctx *c, rv **fr, rg_term *a, rg_term *b, vk k, void *ud)
{
	bool pa = is_pattern(fr, a), pb = is_pattern(fr, b);

	if (!pa) {
		uni_ud u = { fr, b, k, ud };
		return eval_term(c, fr, a, uni_k, &u);
	}
	if (!pb) {
		uni_ud u = { fr, a, k, ud };
		return eval_term(c, fr, b, uni_k, &u);
	}
	if (a->k == T_ARRAY && b->k == T_ARRAY) {
		if (a->u.coll.n != b->u.coll.n)
			return 0;
		uni2_ud u = { fr, a, b, 0, k, ud };
		return uni2_next(c, &u, NULL);
	}
	c->cur_line = a->line;
	c->cur_col = a->col;
	return rg_error(c, "rego_unsafe_var_error", "var %s is unsafe",
	                a->k == T_VAR ? a->u.var.name
	                              : (b->k == T_VAR ? b->u.var.name : "in unification"));
}

/* ---- literals and bodies ---- */

typedef struct body_ud {
	rv **fr;
	rg_body *b;
	size_t i;
	vk k;
	void *ud;
	rg_lit *l;
	/* with */
	bool with_active;
	rg_with_state saved; /* outer state while the literal runs */
	rg_with_state inner;
} body_ud;

static int lit_done(rg_ctx *c, void *ud, rv *v);

static int stop_k(rg_ctx *c, void *ud, rv *v)
{
	(void)c;
	(void)v;
	*(bool *)ud = true;
	return RG_STOP;
}

static int truthy_stop_k(rg_ctx *c, void *ud, rv *v)
{
	(void)c;
	if (!rv_truthy(v))
		return 0;
	*(bool *)ud = true;
	return RG_STOP;
}

static int truthy_k(rg_ctx *c, void *ud, rv *v)
{
	if (!rv_truthy(v))
		return 0;
	return lit_done(c, ud, v);
}

/* positive evaluation of a literal's expression; calls k per solution */
static int eval_lit_expr(rg_ctx *c, rv **fr, rg_lit *l, vk k, void *ud, bool truthy)
{
	rg_term *e = l->expr;

	if (e->k == T_BINOP && (e->op == OP_ASSIGN || e->op == OP_UNIFY)) {
		if (e->op == OP_ASSIGN) {
			uni_ud u = { fr, e->u.bin.a, k, ud };
			return eval_term(c, fr, e->u.bin.b, uni_k, &u);
		}
		return unify_terms(c, fr, e->u.bin.a, e->u.bin.b, k, ud);
	}
	if (e->k == T_CALL) {
		size_t arity = rg_call_arity(e);
		if (e->u.call.n == arity + 1)
			return eval_call(c, fr, e, true, k, ud);
	}
	if (truthy) {
		/* k must check truthiness */
	}
	return eval_term(c, fr, e, k, ud);
}

static int with_apply(rg_ctx *c, rv **fr, rg_lit *l);
static void with_swap(rg_ctx *c, rg_with_state *save, const rg_with_state *set);

static int lit_done(rg_ctx *c, void *ud, rv *v)
{
	body_ud *u = ud;
	int r;
	(void)v;

	if (u->with_active) {
		/* the rest of the body runs outside this literal's `with` */
		with_swap(c, &u->inner, &u->saved);
		r = eval_body(c, u->fr, u->b, u->i + 1, u->k, u->ud);
		with_swap(c, &u->saved, &u->inner);
		return r;
	}
	return eval_body(c, u->fr, u->b, u->i + 1, u->k, u->ud);
}

typedef struct every_ud {
	rv **fr;
	rg_lit *l;
	body_ud *bu;
} every_ud;

static int every_coll_k(rg_ctx *c, void *ud, rv *coll)
{
	every_ud *u = ud;
	rg_lit *l = u->l;
	rv **fr = u->fr;
	int r;

	if (rv_force(coll))
		return rg_oom(c);
	size_t n = rv_len(coll);
	if (coll->kind != RV_ARR && coll->kind != RV_SET && coll->kind != RV_OBJ)
		return 0; /* every over a scalar is undefined */
	for (size_t i = 0; i < n; i++) {
		rv *key, *val;
		bool found = false;
		if (coll->kind == RV_OBJ) {
			key = coll->u.o.keys[i];
			val = coll->u.o.vals[i];
		} else {
			val = coll->u.a.items[i];
			key = coll->kind == RV_SET ? val : rv_int(&c->ar, (int64_t)i);
			RG_TRY_ALLOC(c, key);
		}
		/* bind key and value (fresh declarations) */
		int ks = l->key && l->key->k == T_VAR && l->key->vres == VR_LOCAL
		                 ? l->key->u.var.slot
		                 : -1;
		int vs = l->val->k == T_VAR && l->val->vres == VR_LOCAL ? l->val->u.var.slot : -1;
		if (ks >= 0)
			fr[ks] = key;
		if (vs >= 0)
			fr[vs] = val;
		if (vs < 0 && l->val->k != T_VAR) {
			/* destructuring pattern */
			r = unify_pat(c, fr, l->val, val, stop_k, &found);
			if (r < 0)
				return r;
			if (found) {
				found = false;
				/* re-bind for the body via a nested evaluation */
			}
		}
		r = eval_body(c, fr, &l->body, 0, stop_k, &found);
		if (ks >= 0)
			fr[ks] = NULL;
		if (vs >= 0)
			fr[vs] = NULL;
		if (r < 0)
			return r;
		if (!found)
			return 0;
	}
	return lit_done(c, u->bu, RV_TRUE);
}

typedef struct somein_ud {
	rv **fr;
	rg_lit *l;
	body_ud *bu;
	rv *key;
} somein_ud;

static int somein_val_k(rg_ctx *c, void *ud, rv *v)
{
	somein_ud *u = ud;
	(void)v;
	return lit_done(c, u->bu, RV_TRUE);
}

static int somein_key_k(rg_ctx *c, void *ud, rv *v)
{
	somein_ud *u = ud;
	(void)v;
	return unify_pat(c, u->fr, u->l->val, u->key, somein_val_k, u);
}

static int somein_coll_k(rg_ctx *c, void *ud, rv *coll)
{
	somein_ud *u = ud;
	rg_lit *l = u->l;
	int r;

	if (rv_force(coll))
		return rg_oom(c);
	if (coll->kind != RV_ARR && coll->kind != RV_SET && coll->kind != RV_OBJ)
		return rg_error(c, "eval_type_error",
		                "`some .. in collection` expects array/set/object.");
	size_t n = rv_len(coll);
	for (size_t i = 0; i < n; i++) {
		rv *key, *val;
		if ((r = tick(c)))
			return r;
		if (coll->kind == RV_OBJ) {
			key = coll->u.o.keys[i];
			val = coll->u.o.vals[i];
		} else {
			val = coll->u.a.items[i];
			key = coll->kind == RV_SET ? val : rv_int(&c->ar, (int64_t)i);
			RG_TRY_ALLOC(c, key);
		}

		if (l->key) {
			u->key = val;
			r = unify_pat(c, u->fr, l->key, key, somein_key_k, u);
		} else {
			r = unify_pat(c, u->fr, l->val, val, somein_val_k, u);
		}
		if (r)
			return r;
	}
	return 0;
}

static int eval_body(rg_ctx *c, rv **fr, rg_body *b, size_t i, vk k, void *ud)
{
	int r;

	if ((r = tick(c)))
		return r;
	if (i == b->n)
		return k(c, ud, RV_TRUE);
	rg_lit *l = b->lits[i];
	body_ud u = { fr, b, i, k, ud, l, false, { 0 }, { 0 } };
	int sl = c->cur_line, sc = c->cur_col;
	c->cur_line = l->line;
	c->cur_col = l->col;

	if (l->nwith) {
		with_swap(c, &u.saved, NULL); /* snapshot outer */
		r = with_apply(c, fr, l);
		if (r < 0) {
			with_swap(c, NULL, &u.saved);
			return r;
		}
		with_swap(c, &u.inner, NULL); /* snapshot inner */
		u.with_active = true;
	}
	switch (l->kind) {
	case L_SOME:
		r = lit_done(c, &u, RV_TRUE);
		break;
	case L_SOMEIN: {
		somein_ud s = { fr, l, &u, NULL };
		r = eval_term(c, fr, l->coll, somein_coll_k, &s);
		break;
	}
	case L_EVERY: {
		every_ud e = { fr, l, &u };
		r = eval_term(c, fr, l->coll, every_coll_k, &e);
		break;
	}
	default: {
		/* assignments, unifications and old-style calls succeed whatever
		 * the value they bind; other expressions need a non-false value */
		rg_term *e = l->expr;
		bool binds = e->k == T_BINOP && (e->op == OP_ASSIGN || e->op == OP_UNIFY);
		if (e->k == T_CALL) {
			size_t arity = rg_call_arity(e);
			binds = e->u.call.n == arity + 1;
		}
		if (l->neg) {
			bool found = false;
			r = eval_lit_expr(c, fr, l, binds ? stop_k : truthy_stop_k, &found, true);
			if (r == RG_STOP)
				r = 0;
			if (r == 0 && !found) {
				r = lit_done(c, &u, RV_TRUE);
			}
		} else {
			r = eval_lit_expr(c, fr, l, binds ? lit_done : truthy_k, &u, true);
		}
		break;
	}
	}
	if (l->nwith)
		with_swap(c, NULL, &u.saved);
	c->cur_line = sl;
	c->cur_col = sc;
	return r;
}

/* ---- with ---- */

static void with_swap(rg_ctx *c, rg_with_state *save, const rg_with_state *set)
{
	if (save) {
		save->input = c->input;
		save->data = c->data;
		save->memo = c->memo;
		save->memo_state = c->memo_state;
		save->node_over = c->node_over;
		save->fn_over = c->fn_over;
	}
	if (set) {
		c->input = set->input;
		c->data = set->data;
		c->memo = set->memo;
		c->memo_state = set->memo_state;
		c->node_over = set->node_over;
		c->fn_over = set->fn_over;
	}
}

/* persistent update: a copy of doc with path set to v */
static rv *upsert(rg_ctx *c, rv *doc, const char **path, size_t n, rv *v)
{
	if (n == 0)
		return v;
	rv *child = NULL;
	if (doc && doc->kind == RV_OBJ)
		child = rv_obj_getn(doc, path[0], strlen(path[0]));
	rv *nc = upsert(c, child, path + 1, n - 1, v);
	if (!nc)
		return NULL;
	size_t cnt = doc && doc->kind == RV_OBJ ? rv_len(doc) : 0;
	if (doc && doc->kind == RV_OBJ && rv_force(doc))
		return NULL;
	rv **ks = rg_alloc(&c->ar, (cnt + 1) * sizeof(rv *));
	rv **vs = rg_alloc(&c->ar, (cnt + 1) * sizeof(rv *));
	rv *key = rv_cstr(&c->ar, path[0]);
	if (!ks || !vs || !key)
		return NULL;
	size_t m = 0;
	for (size_t i = 0; i < cnt; i++) {
		if (rv_eq(doc->u.o.keys[i], key))
			continue;
		ks[m] = doc->u.o.keys[i];
		vs[m] = doc->u.o.vals[i];
		m++;
	}
	ks[m] = key;
	vs[m] = nc;
	m++;
	return rv_obj(&c->ar, ks, vs, m, NULL);
}

typedef struct wval_ud {
	rv *v;
} wval_ud;

static int wval_k(rg_ctx *c, void *ud, rv *v)
{
	(void)c;
	((wval_ud *)ud)->v = v;
	return RG_STOP;
}

static int fresh_memo(rg_ctx *c)
{
	size_t nn = (size_t)c->pol->nnodes;
	c->memo = rg_alloc(&c->ar, nn * sizeof(rv *));
	c->memo_state = rg_alloc(&c->ar, nn);
	if (!c->memo || !c->memo_state)
		return rg_oom(c);
	return 0;
}

static int with_apply(rg_ctx *c, rv **fr, rg_lit *l)
{
	int r;
	/* evaluate all values first, in the outer context */
	rv **vals = rg_alloc(&c->ar, l->nwith * sizeof(rv *));
	RG_TRY_ALLOC(c, vals);
	for (size_t i = 0; i < l->nwith; i++) {
		rg_with *w = &l->withs[i];
		wval_ud wv = { NULL };
		if (w->kind == 2 && (w->repl_bi || w->repl_fn)) {
			vals[i] = NULL;
			continue;
		}
		if (w->kind == 2 && (w->value->k == T_VAR || w->value->k == T_REF)) {
			/* may name a function: resolved below */
		}
		r = eval_term(c, fr, w->value, wval_k, &wv);
		if (r < 0)
			return r;
		vals[i] = wv.v;
	}
	if ((r = fresh_memo(c)))
		return r;
	for (size_t i = 0; i < l->nwith; i++) {
		rg_with *w = &l->withs[i];
		if (w->kind == 0) {
			if (vals[i] == NULL)
				return 0;
			if (w->n == 0)
				c->input = vals[i];
			else
				c->input = upsert(c, c->input, w->path, w->n, vals[i]);
			RG_TRY_ALLOC(c, c->input);
		} else if (w->kind == 1) {
			if (vals[i] == NULL)
				continue;
			/* a rule node on the path: override it; else patch base data */
			rg_node *n = c->pol->root;
			size_t j = 0;
			for (; j < w->n && n; j++)
				n = rg_node_kid(n, w->path[j], strlen(w->path[j]));
			if (n && j == w->n && (n->has_rules_below)) {
				if (c->node_over == NULL || true) {
					rv **no = rg_alloc(&c->ar,
					                   (size_t)c->pol->nnodes * sizeof(rv *));
					RG_TRY_ALLOC(c, no);
					if (c->node_over)
						memcpy(no, c->node_over,
						       (size_t)c->pol->nnodes * sizeof(rv *));
					c->node_over = no;
				}
				c->node_over[n->id] = vals[i];
			} else {
				c->data = upsert(c, c->data, w->path, w->n, vals[i]);
				RG_TRY_ALLOC(c, c->data);
			}
		} else {
			rg_override *o = rg_alloc(&c->ar, sizeof(*o));
			RG_TRY_ALLOC(c, o);
			o->bi = w->bi;
			o->fn = w->fn;
			o->value = vals[i];
			o->repl = w->value;
			rg_term *rt = w->value;
			if (rt->k == T_VAR && rt->vres == VR_UNRESOLVED) {
				/* named function */
			}
			o->repl_bi = w->repl_bi;
			o->repl_fn = w->repl_fn;
			if (!o->repl_bi && !o->repl_fn && o->value == NULL)
				return 0;
			o->next = (rg_override *)c->fn_over;
			c->fn_over = o;
		}
	}
	return 0;
}

/* ---- rules ---- */

typedef struct rcoll_ud {
	rv **fr;
	rg_rule *r;
	rv_vec vals; /* complete: distinct values; set: keys; obj: flattened entries */
	rv_vec keys;
	bool found;
	size_t di; /* obj: dynamic key index */
	rv **dkeys;
} rcoll_ud;

static int add_distinct(rg_ctx *c, rv_vec *vec, rv *v)
{
	for (size_t i = 0; i < vec->n; i++)
		if (rv_eq(vec->v[i], v))
			return 0;
	if (rv_vec_push(&c->ar, vec, v))
		return rg_oom(c);
	return 0;
}

static int complete_val_k(rg_ctx *c, void *ud, rv *v)
{
	rcoll_ud *u = ud;
	int r;
	u->found = true;
	if ((r = add_distinct(c, &u->vals, v)))
		return r;
	/* a constant value cannot conflict with itself: stop at the first
	 * solution (OPA's early exit) */
	if (u->r->value == NULL || u->r->value->k == T_CONST)
		return RG_STOP;
	return 0;
}

static int complete_body_k(rg_ctx *c, void *ud, rv *v)
{
	rcoll_ud *u = ud;
	(void)v;
	if (u->r->value == NULL)
		return complete_val_k(c, ud, RV_TRUE);
	return eval_term(c, u->fr, u->r->value, complete_val_k, u);
}

static int set_key_k(rg_ctx *c, void *ud, rv *v)
{
	rcoll_ud *u = ud;
	u->found = true;
	if (rv_vec_push(&c->ar, &u->vals, v))
		return rg_oom(c);
	return u->r->key->k == T_CONST ? RG_STOP : 0;
}

static int set_body_k(rg_ctx *c, void *ud, rv *v)
{
	rcoll_ud *u = ud;
	(void)v;
	return eval_term(c, u->fr, u->r->key, set_key_k, u);
}

static int obj_val_k(rg_ctx *c, void *ud, rv *v)
{
	rcoll_ud *u = ud;
	size_t nd = u->r->ndyn;
	rv **ks = rg_alloc(&c->ar, nd * sizeof(rv *));
	RG_TRY_ALLOC(c, ks);
	memcpy(ks, u->dkeys, nd * sizeof(rv *));
	rv *kp = rv_arr(&c->ar, ks, nd);
	RG_TRY_ALLOC(c, kp);
	/* same key path: values must agree (sets collect them all) */
	for (size_t i = 0; i < u->keys.n && !u->r->set_leaf; i++)
		if (rv_eq(u->keys.v[i], kp)) {
			if (!rv_eq(u->vals.v[i], v))
				return rg_error(c, "eval_conflict_error",
				                "object keys must be unique");
			return 0;
		}
	u->found = true;
	if (rv_vec_push(&c->ar, &u->keys, kp) || rv_vec_push(&c->ar, &u->vals, v))
		return rg_oom(c);
	bool constant = u->r->value == NULL || u->r->value->k == T_CONST;
	for (size_t i = 0; i < nd && constant; i++)
		constant = u->r->dyn[i]->k == T_CONST;
	return constant ? RG_STOP : 0;
}

static int obj_key_k(rg_ctx *c, void *ud, rv *v)
{
	rcoll_ud *u = ud;
	size_t i = u->di;
	int r;

	u->dkeys[i] = v;
	u->di++;
	if (u->di == u->r->ndyn)
		r = u->r->value ? eval_term(c, u->fr, u->r->value, obj_val_k, u)
		                : obj_val_k(c, u, RV_TRUE);
	else
		r = eval_term(c, u->fr, u->r->dyn[u->di], obj_key_k, u);
	u->di = i;
	return r;
}

static int obj_body_k(rg_ctx *c, void *ud, rv *v)
{
	rcoll_ud *u = ud;
	(void)v;
	u->di = 0;
	return eval_term(c, u->fr, u->r->dyn[0], obj_key_k, u);
}

/* build nested objects from key paths */
static rv *build_nested(rg_ctx *c, rv **kps, rv **vals, size_t n, size_t depth, int *conflict,
                        bool set_leaf)
{
	/* group by kps[i][depth] */
	rv_vec ks = { 0 }, vs = { 0 };
	bool *done = rg_alloc(&c->ar, n ? n : 1);

	if (!done)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		rv *k = kps[i]->u.a.items[depth];
		size_t len = kps[i]->u.a.n;
		if (depth + 1 == len) {
			rv *leaf = vals[i];
			done[i] = true;
			if (set_leaf) {
				rv_vec elems = { 0 };
				if (rv_vec_push(&c->ar, &elems, vals[i]))
					return NULL;
				for (size_t j = i + 1; j < n; j++)
					if (!done[j] && kps[j]->u.a.n == len &&
					    rv_eq(kps[j]->u.a.items[depth], k)) {
						done[j] = true;
						if (rv_vec_push(&c->ar, &elems, vals[j]))
							return NULL;
					}
				leaf = rv_set(&c->ar, elems.v, elems.n);
				if (!leaf)
					return NULL;
			} else {
				for (size_t j = i + 1; j < n; j++)
					if (!done[j] && rv_eq(kps[j]->u.a.items[depth], k))
						*conflict = 1;
			}
			if (rv_vec_push(&c->ar, &ks, k) || rv_vec_push(&c->ar, &vs, leaf))
				return NULL;
			continue;
		}
		rv_vec gk = { 0 }, gv = { 0 };
		for (size_t j = i; j < n; j++) {
			if (done[j] || !rv_eq(kps[j]->u.a.items[depth], k))
				continue;
			if (kps[j]->u.a.n == depth + 1) {
				*conflict = 1;
				continue;
			}
			done[j] = true;
			if (rv_vec_push(&c->ar, &gk, kps[j]) || rv_vec_push(&c->ar, &gv, vals[j]))
				return NULL;
		}
		rv *sub = build_nested(c, gk.v, gv.v, gk.n, depth + 1, conflict, set_leaf);
		if (!sub || rv_vec_push(&c->ar, &ks, k) || rv_vec_push(&c->ar, &vs, sub))
			return NULL;
	}
	static rv *none[1];
	return rv_obj(&c->ar, ks.v ? ks.v : none, vs.v ? vs.v : none, ks.n, NULL);
}

static int eval_rule_chain(rg_ctx *c, rg_rule *r0, rcoll_ud *u, vk bodyk)
{
	int res;
	rv **fr = NULL;

	if (r0->nslots) {
		fr = rg_alloc(&c->ar, (size_t)r0->nslots * sizeof(rv *));
		RG_TRY_ALLOC(c, fr);
	}
	u->fr = fr;
	for (rg_rule *b = r0; b; b = b->els) {
		u->r = b;
		u->found = false;

		res = eval_body(c, fr, &b->body, 0, bodyk, u);
		if (res < 0)
			return res;
		res = 0;
		if (u->found)
			break;
	}
	return 0;
}

static int rule_value(rg_ctx *c, rg_node *n, rv **out)
{
	int res = 0;
	rcoll_ud u;

	*out = NULL;
	if (c->memo_state[n->id] == 2) {
		*out = c->memo[n->id];
		return 0;
	}
	if (c->memo_state[n->id] == 1)
		return rg_error(c, "rego_recursion_error", "rule %s is recursive", n->name);
	if (++c->depth > c->max_depth)
		return rg_error(c, "eval_limit_error", "depth limit exceeded");
	c->memo_state[n->id] = 1;
	memset(&u, 0, sizeof(u));
	int sl = c->cur_line, sc = c->cur_col;
	const char *sf = c->cur_file;
	for (size_t i = 0; i < n->nrules && res >= 0; i++) {
		rg_rule *r = n->rules[i];
		c->cur_line = r->line;
		c->cur_col = r->col;
		c->cur_file = r->file;
		if (n->kind == R_COMPLETE) {
			size_t before = u.vals.n;
			res = eval_rule_chain(c, r, &u, complete_body_k);
			(void)before;
		} else if (n->kind == R_SET) {
			res = eval_rule_chain(c, r, &u, set_body_k);
		} else {
			u.dkeys = rg_alloc(&c->ar, (r->ndyn ? r->ndyn : 1) * sizeof(rv *));
			if (!u.dkeys) {
				res = rg_oom(c);
				break;
			}
			res = eval_rule_chain(c, r, &u, obj_body_k);
		}
	}
	c->cur_line = sl;
	c->cur_col = sc;
	if (res >= 0)
		c->cur_file = sf;
	c->depth--;
	if (res < 0) {
		c->memo_state[n->id] = 0;
		return res;
	}
	static rv *none[1];
	rv *v = NULL;
	if (n->kind == R_COMPLETE) {
		if (u.vals.n > 1) {
			c->cur_line = n->rules[0]->line;
			c->cur_col = n->rules[0]->col;
			return rg_error(c, "eval_conflict_error",
			                "complete rules must not produce multiple outputs");
		}
		if (u.vals.n == 1) {
			v = u.vals.v[0];
		} else if (n->deflt) {
			rcoll_ud d;
			memset(&d, 0, sizeof(d));
			res = eval_rule_chain(c, n->deflt, &d, complete_body_k);
			if (res < 0)
				return res;
			v = d.vals.n ? d.vals.v[0] : NULL;
		}
	} else if (n->kind == R_SET) {
		v = rv_set(&c->ar, u.vals.v ? u.vals.v : none, u.vals.n);
		RG_TRY_ALLOC(c, v);
	} else {
		int conflict = 0;
		v = build_nested(c, u.keys.v, u.vals.v, u.keys.n, 0, &conflict,
		                 n->nrules && n->rules[0]->set_leaf);
		RG_TRY_ALLOC(c, v);
		if (conflict)
			return rg_error(c, "eval_conflict_error", "object keys must be unique");
		/* rules with constant keys below this node (c["k"] := ...) join in */
		if (n->nkids) {
			rv_vec ks = { 0 }, vs = { 0 };
			for (size_t i = 0; i < v->u.o.n; i++)
				if (rv_vec_push(&c->ar, &ks, v->u.o.keys[i]) ||
				    rv_vec_push(&c->ar, &vs, v->u.o.vals[i]))
					return rg_oom(c);
			for (size_t i = 0; i < n->nkids; i++) {
				rg_node *kid = n->kids[i];
				rv *kv = NULL;
				if (!kid->has_rules_below || (kid->kind == R_FUNC && kid->nrules))
					continue;
				if ((res = node_value(c, kid, NULL, &kv)))
					return res;
				rv *key = rv_cstr(&c->ar, kid->name);
				if (!kv)
					continue;
				if (!key || rv_vec_push(&c->ar, &ks, key) ||
				    rv_vec_push(&c->ar, &vs, kv))
					return rg_oom(c);
			}
			v = rv_obj(&c->ar, ks.v ? ks.v : none, vs.v ? vs.v : none, ks.n, &conflict);
			RG_TRY_ALLOC(c, v);
			if (conflict)
				return rg_error(c, "eval_conflict_error",
				                "object keys must be unique");
		}
	}
	c->memo[n->id] = v;
	c->memo_state[n->id] = 2;
	*out = v;
	return 0;
}

/* functions */

typedef struct fn_ud {
	rg_rule *r0;
	rv **fr;
	rv **args;
	size_t nargs, i;
	rcoll_ud *cu;
	rg_body *body;
} fn_ud;

static int fn_args_k(rg_ctx *c, void *ud, rv *v)
{
	fn_ud *u = ud;
	size_t i = u->i;
	int r;
	(void)v;

	if (i == u->nargs)
		return eval_body(c, u->fr, u->body, 0, complete_body_k, u->cu);
	u->i++;
	r = unify_pat(c, u->fr, u->r0->args[i], u->args[i], fn_args_k, u);
	u->i = i;
	return r;
}

static int call_user(rg_ctx *c, rg_node *n, rv **args, size_t nargs, rv **out)
{
	rcoll_ud cu;
	int res = 0;

	*out = NULL;
	if (++c->depth > c->max_depth)
		return rg_error(c, "eval_limit_error", "depth limit exceeded");
	if ((res = check_stack(c))) {
		c->depth--;
		return res;
	}
	memset(&cu, 0, sizeof(cu));
	const char *sf = c->cur_file;
	for (size_t i = 0; i < n->nrules && res >= 0; i++) {
		rg_rule *r0 = n->rules[i];
		rv **fr = NULL;
		c->cur_file = r0->file;
		if (r0->nslots) {
			fr = rg_alloc(&c->ar, (size_t)r0->nslots * sizeof(rv *));
			if (!fr) {
				res = rg_oom(c);
				break;
			}
		}
		for (rg_rule *b = r0; b; b = b->els) {
			fn_ud u = { r0, fr, args, nargs, 0, &cu, &b->body };
			cu.r = b;
			cu.fr = fr;
			cu.found = false;
			res = fn_args_k(c, &u, NULL);
			if (res < 0 || cu.found)
				break;
		}
	}
	c->depth--;
	if (res < 0)
		return res;
	c->cur_file = sf;
	if (cu.vals.n > 1)
		return rg_error(c, "eval_conflict_error",
		                "functions must not produce multiple outputs for same inputs");
	if (cu.vals.n == 1) {
		*out = cu.vals.v[0];
		return 0;
	}
	if (n->deflt) {
		rcoll_ud d;
		memset(&d, 0, sizeof(d));
		res = eval_rule_chain(c, n->deflt, &d, complete_body_k);
		if (res < 0)
			return res;
		*out = d.vals.n ? d.vals.v[0] : NULL;
	}
	return 0;
}

/* ---- queries ---- */

typedef struct q_ud {
	const coffer_rego_query *q;
	rv **fr;
	rg_qsol_fn fn;
	void *ud;
} q_ud;

static int q_last_k(rg_ctx *c, void *ud, rv *v)
{
	q_ud *u = ud;
	return u->fn(c, u->ud, u->fr, v);
}

static int q_last_truthy_k(rg_ctx *c, void *ud, rv *v)
{
	q_ud *u = ud;
	if (!rv_truthy(v))
		return 0;
	return u->fn(c, u->ud, u->fr, v);
}

static int q_prefix_k(rg_ctx *c, void *ud, rv *v)
{
	q_ud *u = ud;
	(void)v;
	return eval_term(c, u->fr, u->q->body.lits[u->q->body.n - 1]->expr, q_last_truthy_k, u);
}

static int q_body_k(rg_ctx *c, void *ud, rv *v)
{
	q_ud *u = ud;
	(void)v;
	return u->fn(c, u->ud, u->fr, RV_TRUE);
}

int rg_eval_query(rg_ctx *c, const coffer_rego_query *q, rg_qsol_fn fn, void *ud)
{
	rv **fr = NULL;
	int r;

	if (fresh_memo(c))
		return RG_EERR;
	if (q->nslots) {
		fr = rg_alloc(&c->ar, (size_t)q->nslots * sizeof(rv *));
		RG_TRY_ALLOC(c, fr);
	}
	q_ud u = { q, fr, fn, ud };
	rg_lit *last = q->body.lits[q->body.n - 1];
	bool plain = last->kind == L_EXPR && !last->neg && last->nwith == 0 &&
	             !(last->expr->k == T_BINOP &&
	               (last->expr->op == OP_ASSIGN || last->expr->op == OP_UNIFY));
	if (plain && last->expr->k == T_CALL) {
		rg_term *e = last->expr;
		size_t arity = rg_call_arity(e);
		if (e->u.call.n != arity)
			plain = false;
	}
	if (plain && q->body.n == 1) {
		r = eval_term(c, fr, last->expr, q_last_k, &u);
	} else if (plain) {
		/* all but the last literal, then the last one's value (truthy) */
		rg_body head = { q->body.lits, q->body.n - 1 };
		r = eval_body(c, fr, &head, 0, q_prefix_k, &u);
	} else {
		r = eval_body(c, fr, (rg_body *)&q->body, 0, q_body_k, &u);
	}
	if (r == RG_STOP)
		r = 0;
	return r;
}
