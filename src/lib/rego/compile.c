/* Compilation: the rule tree (one node per data path), variable resolution
 * (locals get frame slots; rule names, imports, input and data become global
 * references), call resolution (builtins and user functions) and constant
 * folding. The result is immutable and shared by concurrent evaluations. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rego/rego_int.h"

typedef struct scope_ent {
	const char *name;
	int slot;
	int level;
	bool pre;     /* declared ahead by the body pre-pass */
	bool used;    /* referenced since */
	bool claimed; /* taken by its := or some */
	bool arg;     /* a function argument */
} scope_ent;

typedef struct cctx {
	rg_arena *ar;
	coffer_rego_policy *pol;
	rg_module *mod;
	rg_node *pkgnode;
	scope_ent *ents;
	size_t nents, cap;
	int level;
	int nslots;
	rg_perr *err;
	bool failed;
	const char **slotnames;
	size_t capnames;
} cctx;

static int cerr(cctx *c, int line, int col, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int cerr(cctx *c, int line, int col, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return -1;
	c->failed = true;
	c->err->line = line;
	c->err->col = col;
	snprintf(c->err->code, sizeof(c->err->code), "rego_compile_error");
	va_start(ap, fmt);
	vsnprintf(c->err->msg, sizeof(c->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- rule tree ---- */

static rg_node *node_new(rg_arena *ar, rg_node *parent, const char *name, int *counter)
{
	rg_node *n = rg_alloc(ar, sizeof(*n));

	if (!n)
		return NULL;
	n->name = name;
	n->parent = parent;
	n->id = (*counter)++;
	return n;
}

rg_node *rg_node_kid(const rg_node *n, const char *name, size_t len);
rg_node *rg_node_kid(const rg_node *n, const char *name, size_t len)
{
	size_t lo = 0, hi = n->nkids;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *k = n->kids[mid]->name;
		size_t kl = strlen(k);
		size_t m = kl < len ? kl : len;
		int c = memcmp(k, name, m);
		if (c == 0)
			c = kl < len ? -1 : kl > len;
		if (c == 0)
			return n->kids[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static rg_node *node_child(coffer_rego_policy *p, rg_node *n, const char *name)
{
	rg_node *k = rg_node_kid(n, name, strlen(name));
	size_t pos = 0;

	if (k)
		return k;
	while (pos < n->nkids && strcmp(n->kids[pos]->name, name) < 0)
		pos++;
	if (n->nkids == n->capkids) {
		size_t nc = n->capkids ? n->capkids * 2 : 4;
		rg_node **nk = rg_alloc(&p->ar, nc * sizeof(rg_node *));
		if (!nk)
			return NULL;
		if (n->nkids)
			memcpy(nk, n->kids, n->nkids * sizeof(rg_node *));
		n->kids = nk;
		n->capkids = nc;
	}
	k = node_new(&p->ar, n, name, &p->nnodes);
	if (!k)
		return NULL;
	memmove(n->kids + pos + 1, n->kids + pos, (n->nkids - pos) * sizeof(rg_node *));
	n->kids[pos] = k;
	n->nkids++;
	return k;
}

static bool node_add_rule(coffer_rego_policy *p, rg_node *n, rg_rule *r)
{
	if (n->nrules == n->caprules) {
		size_t nc = n->caprules ? n->caprules * 2 : 4;
		rg_rule **nr = rg_alloc(&p->ar, nc * sizeof(rg_rule *));
		if (!nr)
			return false;
		if (n->nrules)
			memcpy(nr, n->rules, n->nrules * sizeof(rg_rule *));
		n->rules = nr;
		n->caprules = nc;
	}
	n->rules[n->nrules++] = r;
	return true;
}

static const char *kind_name(int k)
{
	switch (k) {
	case R_COMPLETE:
		return "complete";
	case R_SET:
		return "multi-value";
	case R_OBJ:
		return "partial object";
	default:
		return "function";
	}
}

static int check_default_value(cctx *c, rg_term *t)
{
	const char *what = NULL;

	switch (t->k) {
	case T_CONST:
	case T_ACOMP:
	case T_SCOMP:
	case T_OCOMP:
		return 0;
	case T_ARRAY:
	case T_SET:
		for (size_t i = 0; i < t->u.coll.n; i++)
			if (check_default_value(c, t->u.coll.items[i]))
				return -1;
		return 0;
	case T_OBJECT:
		for (size_t i = 0; i < t->u.obj.n; i++)
			if (check_default_value(c, t->u.obj.keys[i]) ||
			    check_default_value(c, t->u.obj.vals[i]))
				return -1;
		return 0;
	case T_VAR:
		what = "var";
		break;
	case T_REF:
		what = "ref";
		break;
	case T_CALL:
		what = "call";
		break;
	case T_NEG:
		what = "unaryexpr";
		break;
	case T_MEMBER:
		what = "membership";
		break;
	default:
		what = t->op >= OP_EQ && t->op <= OP_GE     ? "boolexpr"
		       : t->op >= OP_ADD && t->op <= OP_MOD ? "arithexpr"
		                                            : "binexpr";
		break;
	}
	return cerr(c, t->line, t->col, "invalid `%s` in default value", what);
}

static int place_rule(cctx *c, rg_rule *r)
{
	if (r->is_default && r->value && check_default_value(c, r->value))
		return -1;
	if (r->mod->v1) {
		const char *nm = r->hpath[0]->u.val->u.s.s;
		if (r->nh == 1 && (strcmp(nm, "input") == 0 || strcmp(nm, "data") == 0))
			return cerr(c, r->line, r->col, "%s cannot be shadowed", nm);
		if (!r->is_default && r->body.n == 0 && !r->has_value && !r->contains &&
		    r->kind != R_FUNC && r->els == NULL && !r->has_body)
			return cerr(c, r->line, r->col,
			            r->nh == 2
			                    ? "`contains` keyword is required for partial set rules"
			                    : "rule must have a body or assignment");
	}
	if (r->kind == R_FUNC && r->nargs == 0)
		r->kind = R_COMPLETE; /* f() is a constant: OPA evaluates it as a rule */
	coffer_rego_policy *p = c->pol;
	rg_node *n = c->pkgnode;
	size_t nstatic = 0, limit = r->nh;

	if (r->kind != R_FUNC && !r->contains && !r->has_value && !r->mod->v1 && r->nh >= 2) {
		/* v0 `p[x] { }`: a multi-value (set) rule */
		r->kind = R_SET;
		r->key = r->hpath[r->nh - 1];
		limit = r->nh - 1;
	}
	while (nstatic < limit && r->hpath[nstatic]->k == T_CONST &&
	       r->hpath[nstatic]->u.val->kind == RV_STR)
		nstatic++;
	if (r->kind == R_SET && nstatic != limit) {
		/* p[x][y] contains v: an object (keyed by the dynamic parts) of sets */
		r->kind = R_OBJ;
		r->set_leaf = true;
		r->value = r->key;
		r->key = NULL;
		r->dyn = r->hpath + nstatic;
		r->ndyn = limit - nstatic;
	} else if (r->kind == R_FUNC || r->kind == R_SET) {
		if (nstatic != limit)
			return cerr(c, r->line, r->col, "rule head must be a constant path");
	} else {
		r->kind = nstatic == r->nh ? R_COMPLETE : R_OBJ;
		r->dyn = r->hpath + nstatic;
		r->ndyn = r->nh - nstatic;
	}
	if (r->is_default && r->kind != R_COMPLETE && r->kind != R_FUNC)
		return cerr(c, r->line, r->col,
		            "default rules must be complete rules or functions");
	for (size_t i = 0; i < nstatic; i++) {
		const rv *s = r->hpath[i]->u.val;
		n = node_child(p, n, s->u.s.s);
		if (!n)
			return cerr(c, r->line, r->col, "out of memory");
	}
	if (n->nrules || n->deflt) {
		if (n->kind != r->kind)
			return cerr(c, r->line, r->col, "conflicting rules %s found (%s and %s)",
			            n->name, kind_name(n->kind), kind_name(r->kind));
		if (r->kind == R_FUNC && n->arity != r->nargs)
			return cerr(c, r->line, r->col,
			            "conflicting rules %s: functions with different arity",
			            n->name);
	}
	n->kind = r->kind;
	if (r->kind == R_FUNC)
		n->arity = r->nargs;
	r->node = n;
	for (rg_node *a = n; a; a = a->parent)
		a->has_rules_below = true;
	if (r->is_default) {
		if (n->deflt)
			return cerr(c, r->line, r->col, "multiple default rules %s found", n->name);
		n->deflt = r;
		return 0;
	}
	if (!node_add_rule(p, n, r))
		return cerr(c, r->line, r->col, "out of memory");
	return 0;
}

/* ---- scopes ---- */

static int new_slot(cctx *c, const char *name)
{
	if ((size_t)c->nslots >= c->capnames) {
		size_t nc = c->capnames ? c->capnames * 2 : 16;
		const char **nn = rg_alloc(c->ar, nc * sizeof(char *));
		if (!nn)
			return -1;
		if (c->nslots)
			memcpy(nn, c->slotnames, (size_t)c->nslots * sizeof(char *));
		c->slotnames = nn;
		c->capnames = nc;
	}
	c->slotnames[c->nslots] = name;
	return c->nslots++;
}

static int declare(cctx *c, const char *name, int line, int col, bool strict)
{
	if (strict) {
		/* := and some introduce a new variable: the name must not already
		 * be a local of this rule (argument, earlier use or declaration),
		 * except the slot the body pre-pass reserved for this declaration */
		for (size_t i = c->nents; i > 0; i--) {
			scope_ent *e = &c->ents[i - 1];
			if (strcmp(e->name, name) != 0)
				continue;
			if (e->pre && !e->claimed && !e->used && e->level == c->level) {
				e->claimed = true;
				return e->slot;
			}
			/* a nested scope (comprehension, every) may shadow */
			if (e->level != c->level && !e->arg)
				continue;
			return cerr(c, line, col, "var `%s` used before definition below", name);
		}
	}
	if (c->nents == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 16;
		scope_ent *ne = rg_alloc(c->ar, nc * sizeof(scope_ent));
		if (!ne)
			return cerr(c, line, col, "out of memory");
		if (c->nents)
			memcpy(ne, c->ents, c->nents * sizeof(scope_ent));
		c->ents = ne;
		c->cap = nc;
	}
	int s = new_slot(c, name);
	if (s < 0)
		return cerr(c, line, col, "out of memory");
	c->ents[c->nents].name = name;
	c->ents[c->nents].slot = s;
	c->ents[c->nents].level = c->level;
	c->ents[c->nents].pre = false;
	c->ents[c->nents].used = false;
	c->ents[c->nents].claimed = false;
	c->ents[c->nents].arg = false;
	c->nents++;
	return s;
}

static int lookup(cctx *c, const char *name)
{
	for (size_t i = c->nents; i > 0; i--)
		if (strcmp(c->ents[i - 1].name, name) == 0) {
			c->ents[i - 1].used = true;
			return c->ents[i - 1].slot;
		}
	return -1;
}

static size_t scope_push(cctx *c)
{
	c->level++;
	return c->nents;
}

static void scope_pop(cctx *c, size_t mark)
{
	c->level--;
	c->nents = mark;
}

/* resolve a name that is not local */
static bool resolve_global(cctx *c, rg_term *t)
{
	const char *name = t->u.var.name;

	if (strcmp(name, "input") == 0) {
		t->vres = VR_INPUT;
		return true;
	}
	if (strcmp(name, "data") == 0) {
		t->vres = VR_DATA;
		return true;
	}
	if (c->pkgnode) {
		rg_node *k = rg_node_kid(c->pkgnode, name, strlen(name));
		if (k && k->has_rules_below) {
			size_t np = c->mod->npkg;
			const char **gp = rg_alloc(c->ar, (np + 2) * sizeof(char *));
			if (!gp)
				return false;
			gp[0] = "data";
			for (size_t i = 0; i < np; i++)
				gp[i + 1] = c->mod->pkg[i];
			gp[np + 1] = name;
			t->vres = VR_GLOBAL;
			t->u.var.gpath = gp;
			t->u.var.gn = np + 2;
			return true;
		}
	}
	if (c->mod) {
		for (size_t i = 0; i < c->mod->nimports; i++) {
			rg_import *im = &c->mod->imports[i];
			if (strcmp(im->alias, name) == 0) {
				t->vres = VR_GLOBAL;
				t->u.var.gpath = im->path;
				t->u.var.gn = im->n;
				return true;
			}
		}
	}
	return false;
}

static int res_term(cctx *c, rg_term *t);
static int res_body(cctx *c, rg_body *b);

/* a variable occurrence that may bind (introduces a local if unknown) */
static int res_var(cctx *c, rg_term *t)
{
	const char *name = t->u.var.name;
	int s;

	if (strcmp(name, "_") == 0) {
		t->vres = VR_WILD;
		return 0;
	}
	s = lookup(c, name);
	if (s >= 0) {
		t->vres = VR_LOCAL;
		t->u.var.slot = s;
		return 0;
	}
	if (resolve_global(c, t))
		return 0;
	if (c->failed)
		return -1;
	s = declare(c, name, t->line, t->col, false);
	if (s < 0)
		return -1;
	t->vres = VR_LOCAL;
	t->u.var.slot = s;
	return 0;
}

/* declare all vars of a pattern as new locals (`:=`, some ... in, every) */
static int declare_pattern(cctx *c, rg_term *t, bool strict)
{
	switch (t->k) {
	case T_VAR:
		if (strcmp(t->u.var.name, "_") == 0) {
			t->vres = VR_WILD;
			return 0;
		}
		{
			int s = declare(c, t->u.var.name, t->line, t->col, strict);
			if (s < 0)
				return -1;
			t->vres = VR_LOCAL;
			t->u.var.slot = s;
		}
		return 0;
	case T_ARRAY:
		for (size_t i = 0; i < t->u.coll.n; i++)
			if (declare_pattern(c, t->u.coll.items[i], strict))
				return -1;
		return 0;
	case T_OBJECT:
		for (size_t i = 0; i < t->u.obj.n; i++) {
			if (res_term(c, t->u.obj.keys[i]))
				return -1;
			if (declare_pattern(c, t->u.obj.vals[i], strict))
				return -1;
		}
		return 0;
	case T_CONST:
		return 0;
	default:
		return res_term(c, t);
	}
}

/* literal shapes that can never unify are compile errors (as in OPA) */
static int check_shapes(cctx *c, rg_term *a, rg_term *b)
{
	bool aarr = a->k == T_ARRAY || (a->k == T_CONST && a->u.val->kind == RV_ARR);
	bool barr = b->k == T_ARRAY || (b->k == T_CONST && b->u.val->kind == RV_ARR);
	bool aobj = a->k == T_OBJECT || (a->k == T_CONST && a->u.val->kind == RV_OBJ);
	bool bobj = b->k == T_OBJECT || (b->k == T_CONST && b->u.val->kind == RV_OBJ);
	size_t an = a->k == T_ARRAY    ? a->u.coll.n
	            : a->k == T_OBJECT ? a->u.obj.n
	            : (aarr || aobj)   ? rv_len(a->u.val)
	                               : 0;
	size_t bn = b->k == T_ARRAY    ? b->u.coll.n
	            : b->k == T_OBJECT ? b->u.obj.n
	            : (barr || bobj)   ? rv_len(b->u.val)
	                               : 0;

	if ((aarr && bobj) || (aobj && barr))
		return cerr(c, a->line, a->col,
		            "incompatible destructuring patterns: both sides must be arrays or "
		            "objects with matching structure");
	if (aarr && barr && an != bn)
		return cerr(c, a->line, a->col, "mismatch in number of array elements");
	if (aobj && bobj && (a->k == T_OBJECT || b->k == T_OBJECT)) {
		if (an != bn)
			return cerr(c, a->line, a->col,
			            "object field count mismatch in assignment");
		/* constant keys of a literal must all appear in the other literal */
		for (size_t i = 0; a->k == T_OBJECT && i < an; i++) {
			rg_term *k = a->u.obj.keys[i];
			if (k->k != T_CONST)
				continue;
			bool found = false;
			for (size_t j = 0; j < bn; j++) {
				rv *bk = b->k == T_OBJECT ? (b->u.obj.keys[j]->k == T_CONST
				                                     ? b->u.obj.keys[j]->u.val
				                                     : NULL)
				                          : b->u.val->u.o.keys[j];
				if (bk == NULL || rv_eq(bk, k->u.val))
					found = true;
			}
			if (!found)
				return cerr(c, a->line, a->col, "object literal keys mismatch");
		}
	}
	if (aarr && barr && a->k == T_ARRAY && b->k == T_ARRAY)
		for (size_t i = 0; i < an; i++)
			if (check_shapes(c, a->u.coll.items[i], b->u.coll.items[i]))
				return -1;
	return 0;
}

static const char *join_path(cctx *c, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = rg_alloc(c->ar, la + lb + 2);
	if (!s)
		return NULL;
	memcpy(s, a, la);
	s[la] = '.';
	memcpy(s + la + 1, b, lb + 1);
	return s;
}

static rg_node *find_node_path(rg_node *root, const char *dotted)
{
	rg_node *n = root;
	const char *p = dotted;

	while (n && *p) {
		const char *e = strchr(p, '.');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		n = rg_node_kid(n, p, len);
		p += len;
		if (*p == '.')
			p++;
	}
	return n;
}

static int res_call2(cctx *c, rg_term *t, bool check_arity)
{
	const char *name = t->u.call.name;
	const char *dot = strchr(name, '.');
	char first[128];
	size_t fl = dot ? (size_t)(dot - name) : strlen(name);

	for (size_t i = 0; i < t->u.call.n; i++)
		if (res_term(c, t->u.call.args[i]))
			return -1;
	if (fl >= sizeof(first))
		return cerr(c, t->line, t->col, "function name too long");
	memcpy(first, name, fl);
	first[fl] = '\0';
	/* data.x.f(...) */
	if (strcmp(first, "data") == 0 && dot) {
		rg_node *n = find_node_path(c->pol->root, dot + 1);
		if (n && (n->kind == R_FUNC || (n->kind == R_COMPLETE && t->u.call.n == 0)) &&
		    (n->nrules || n->deflt)) {
			t->u.call.fn = n;
			return 0;
		}
		return cerr(c, t->line, t->col, "undefined function %s", name);
	}
	/* imported alias */
	if (c->mod) {
		for (size_t i = 0; i < c->mod->nimports; i++) {
			rg_import *im = &c->mod->imports[i];
			if (strcmp(im->alias, first) == 0 && strcmp(im->path[0], "data") == 0) {
				rg_node *n = c->pol->root;
				for (size_t j = 1; j < im->n && n; j++)
					n = rg_node_kid(n, im->path[j], strlen(im->path[j]));
				if (n && dot)
					n = find_node_path(n, dot + 1);
				if (n &&
				    (n->kind == R_FUNC ||
				     (n->kind == R_COMPLETE && t->u.call.n == 0)) &&
				    (n->nrules || n->deflt)) {
					t->u.call.fn = n;
					return 0;
				}
			}
		}
	}
	/* package-local function */
	if (c->pkgnode) {
		rg_node *n = find_node_path(c->pkgnode, name);
		if (n && (n->kind == R_FUNC || (n->kind == R_COMPLETE && t->u.call.n == 0)) &&
		    (n->nrules || n->deflt)) {
			t->u.call.fn = n;
			return 0;
		}
	}
	t->u.call.bi = rg_builtin_find(name);
	if (t->u.call.bi) {
		if (c->mod && c->mod->v1) {
			static const char *deprecated[] = {
				"any",          "all",        "re_match",    "net.cidr_overlap",
				"set_diff",     "cast_array", "cast_set",    "cast_string",
				"cast_boolean", "cast_null",  "cast_object", NULL
			};
			for (int i = 0; deprecated[i]; i++)
				if (strcmp(name, deprecated[i]) == 0)
					return cerr(c, t->line, t->col,
					            "deprecated built-in function %s", name);
		}
		int ar = t->u.call.bi->arity;
		if (check_arity && ar >= 0 && t->u.call.n != (size_t)ar &&
		    t->u.call.n != (size_t)ar + 1)
			return cerr(c, t->line, t->col,
			            "%s: arity mismatch: %zu arguments, want %d", name, t->u.call.n,
			            ar);
		return 0;
	}
	(void)join_path;
	return cerr(c, t->line, t->col, "undefined function %s", name);
}

static int fold(cctx *c, rg_term *t);
static int res_call(cctx *c, rg_term *t)
{
	return res_call2(c, t, true);
}

static int res_term(cctx *c, rg_term *t)
{
	if (c->failed)
		return -1;
	switch (t->k) {
	case T_CONST:
		return 0;
	case T_VAR:
		return res_var(c, t);
	case T_REF:
		if (res_term(c, t->u.ref.head))
			return -1;
		for (size_t i = 0; i < t->u.ref.n; i++)
			if (res_term(c, t->u.ref.path[i]))
				return -1;
		return 0;
	case T_ARRAY:
	case T_SET:
		for (size_t i = 0; i < t->u.coll.n; i++)
			if (res_term(c, t->u.coll.items[i]))
				return -1;
		return fold(c, t);
	case T_OBJECT:
		for (size_t i = 0; i < t->u.obj.n; i++)
			if (res_term(c, t->u.obj.keys[i]) || res_term(c, t->u.obj.vals[i]))
				return -1;
		return fold(c, t);
	case T_ACOMP:
	case T_SCOMP:
	case T_OCOMP: {
		size_t mark = scope_push(c);
		t->u.comp.slot_lo = c->nslots;
		if (res_body(c, &t->u.comp.body))
			return -1;
		if (t->u.comp.key && res_term(c, t->u.comp.key))
			return -1;
		if (res_term(c, t->u.comp.head))
			return -1;
		t->u.comp.slot_hi = c->nslots;
		scope_pop(c, mark);
		return 0;
	}
	case T_CALL:
		return res_call(c, t);
	case T_BINOP:
		if (t->op == OP_ASSIGN)
			return cerr(c, t->line, t->col, "unexpected assignment");
		if (res_term(c, t->u.bin.a) || res_term(c, t->u.bin.b))
			return -1;
		return 0;
	case T_NEG:
		return res_term(c, t->u.neg.a);
	case T_MEMBER:
		if (t->u.mem.key && res_term(c, t->u.mem.key))
			return -1;
		if (res_term(c, t->u.mem.val) || res_term(c, t->u.mem.coll))
			return -1;
		return 0;
	default:
		return 0;
	}
}

/* fold constant arrays/sets/objects */
static int fold(cctx *c, rg_term *t)
{
	size_t n;
	rv *v;

	if (t->k == T_OBJECT) {
		n = t->u.obj.n;
		for (size_t i = 0; i < n; i++)
			if (t->u.obj.keys[i]->k != T_CONST || t->u.obj.vals[i]->k != T_CONST)
				return 0;
		rv **ks = rg_alloc(c->ar, (n ? n : 1) * sizeof(rv *));
		rv **vs = rg_alloc(c->ar, (n ? n : 1) * sizeof(rv *));
		if (!ks || !vs)
			return cerr(c, t->line, t->col, "out of memory");
		for (size_t i = 0; i < n; i++) {
			ks[i] = t->u.obj.keys[i]->u.val;
			vs[i] = t->u.obj.vals[i]->u.val;
		}
		int conflict = 0;
		v = rv_obj(c->ar, ks, vs, n, &conflict);
		if (conflict)
			return cerr(c, t->line, t->col, "duplicate key in object");
	} else {
		n = t->u.coll.n;
		for (size_t i = 0; i < n; i++)
			if (t->u.coll.items[i]->k != T_CONST)
				return 0;
		rv **items = rg_alloc(c->ar, (n ? n : 1) * sizeof(rv *));
		if (!items)
			return cerr(c, t->line, t->col, "out of memory");
		for (size_t i = 0; i < n; i++)
			items[i] = t->u.coll.items[i]->u.val;
		v = t->k == T_SET ? rv_set(c->ar, items, n) : rv_arr(c->ar, items, n);
	}
	if (!v)
		return cerr(c, t->line, t->col, "out of memory");
	t->k = T_CONST;
	t->u.val = v;
	return 0;
}

static int res_with(cctx *c, rg_with *w)
{
	char name[256];
	size_t off = 0;
	int r;
	rg_term *tg = w->target;
	const char *head;
	size_t n = 0;

	if (tg->k == T_CALL)
		return cerr(c, tg->line, tg->col, "invalid with target");
	if (tg->k == T_VAR)
		head = tg->u.var.name;
	else if (tg->k == T_REF && tg->u.ref.head->k == T_VAR)
		head = tg->u.ref.head->u.var.name;
	else
		return cerr(c, tg->line, tg->col, "invalid with target");
	size_t np = tg->k == T_REF ? tg->u.ref.n : 0;
	const char **path = rg_alloc(c->ar, (np + 1) * sizeof(char *));
	if (!path)
		return cerr(c, tg->line, tg->col, "out of memory");
	for (size_t i = 0; i < np; i++) {
		rg_term *e = tg->u.ref.path[i];
		if (e->k != T_CONST || e->u.val->kind != RV_STR)
			return cerr(c, e->line, e->col, "with target path must be constant");
		path[n++] = e->u.val->u.s.s;
	}
	/* a target written through an import alias: expand to its full path */
	if (c->mod && strcmp(head, "input") != 0 && strcmp(head, "data") != 0) {
		for (size_t i = 0; i < c->mod->nimports; i++) {
			rg_import *im = &c->mod->imports[i];
			if (strcmp(im->alias, head) != 0)
				continue;
			const char **full = rg_alloc(c->ar, (im->n + np + 1) * sizeof(char *));
			if (!full)
				return cerr(c, tg->line, tg->col, "out of memory");
			for (size_t j = 1; j < im->n; j++)
				full[j - 1] = im->path[j];
			for (size_t j = 0; j < n; j++)
				full[im->n - 1 + j] = path[j];
			head = im->path[0];
			n += im->n - 1;
			path = full;
			break;
		}
	}
	if (strcmp(head, "input") == 0 || strcmp(head, "data") == 0) {
		if (res_term(c, w->value))
			return -1;
	}
	if (strcmp(head, "input") == 0) {
		w->kind = 0;
		w->path = path;
		w->n = n;
		return 0;
	}
	if (strcmp(head, "data") == 0) {
		rg_node *fnode = c->pol->root;
		for (size_t i = 0; i < n && fnode; i++)
			fnode = rg_node_kid(fnode, path[i], strlen(path[i]));
		if (fnode && fnode->kind == R_FUNC && fnode->nrules)
			goto function;
		w->kind = 1;
		w->path = path;
		w->n = n;
		return 0;
	}
function:
	/* function replacement: builtin or user function by dotted name */
	r = snprintf(name, sizeof(name), "%s", head);
	if (r < 0 || (size_t)r >= sizeof(name))
		return cerr(c, tg->line, tg->col, "name too long");
	off = (size_t)r;
	for (size_t i = 0; i < n; i++) {
		r = snprintf(name + off, sizeof(name) - off, ".%s", path[i]);
		if (r < 0 || (size_t)r >= sizeof(name) - off)
			return cerr(c, tg->line, tg->col, "name too long");
		off += (size_t)r;
	}
	rg_term fake = { .k = T_CALL, .line = tg->line, .col = tg->col };
	fake.u.call.name = rg_strndup(c->ar, name, off);
	if (!fake.u.call.name)
		return cerr(c, tg->line, tg->col, "out of memory");
	bool was = c->failed;
	if (res_call2(c, &fake, false)) {
		if (!was) {
			c->failed = false;
			return cerr(c, tg->line, tg->col, "with keyword cannot replace %s", name);
		}
		return -1;
	}
	w->kind = 2;
	w->bi = fake.u.call.bi;
	w->fn = fake.u.call.fn;
	w->repl = w->value;
	/* the replacement may itself name a function */
	rg_term *vt = w->value;
	const char *vname = NULL;
	if (vt->k == T_VAR) {
		vname = vt->u.var.name;
	} else if (vt->k == T_REF && vt->u.ref.head->k == T_VAR) {
		char buf[256];
		size_t o = 0;
		int q = snprintf(buf, sizeof(buf), "%s", vt->u.ref.head->u.var.name);
		bool ok = q > 0 && (size_t)q < sizeof(buf);
		o = ok ? (size_t)q : 0;
		for (size_t i = 0; ok && i < vt->u.ref.n; i++) {
			rg_term *e = vt->u.ref.path[i];
			if (e->k != T_CONST || e->u.val->kind != RV_STR) {
				ok = false;
				break;
			}
			q = snprintf(buf + o, sizeof(buf) - o, ".%s", e->u.val->u.s.s);
			if (q < 0 || (size_t)q >= sizeof(buf) - o)
				ok = false;
			else
				o += (size_t)q;
		}
		if (ok)
			vname = rg_strndup(c->ar, buf, o);
	}
	if (vname && (vt->k != T_VAR || lookup(c, vname) < 0)) {
		rg_term f2 = { .k = T_CALL, .line = vt->line, .col = vt->col };
		f2.u.call.name = vname;
		bool was2 = c->failed;
		rg_perr save = *c->err;
		if (res_call2(c, &f2, false) == 0) {
			w->repl_bi = f2.u.call.bi;
			w->repl_fn = f2.u.call.fn;
			return 0;
		}
		c->failed = was2;
		*c->err = save;
	}
	if (res_term(c, w->value))
		return -1;
	return 0;
}

static int res_lit(cctx *c, rg_lit *l)
{
	switch (l->kind) {
	case L_SOME:
		for (size_t i = 0; i < l->body.n; i++) {
			rg_term *v = (rg_term *)l->body.lits[i];
			if (declare_pattern(c, v, true))
				return -1;
		}
		break;
	case L_SOMEIN:
		if (res_term(c, l->coll))
			return -1;
		/* a pattern that can match no element of a constant collection */
		if (l->val->k == T_ARRAY && l->coll->k == T_CONST &&
		    l->coll->u.val->kind == RV_ARR && l->coll->u.val->u.a.n > 0) {
			rv *cv = l->coll->u.val;
			bool any = false, arrays = true;
			for (size_t i = 0; i < cv->u.a.n; i++) {
				rv *e = cv->u.a.items[i];
				if (e->kind != RV_ARR)
					arrays = false;
				else if (e->u.a.n == l->val->u.coll.n)
					any = true;
			}
			if (!any)
				return cerr(c, l->line, l->col,
				            arrays ? "mismatch in number of array elements"
				                   : "Cannot bind pattern of type `array`");
		}
		if (l->key && declare_pattern(c, l->key, true))
			return -1;
		if (declare_pattern(c, l->val, true))
			return -1;
		break;
	case L_EVERY: {
		if (res_term(c, l->coll))
			return -1;
		size_t mark = scope_push(c);
		l->slot_lo = c->nslots;
		if (l->key && declare_pattern(c, l->key, false))
			return -1;
		if (declare_pattern(c, l->val, false))
			return -1;
		if (res_body(c, &l->body))
			return -1;
		l->slot_hi = c->nslots;
		scope_pop(c, mark);
		break;
	}
	default: {
		rg_term *e = l->expr;
		if (e->k == T_BINOP && e->op == OP_ASSIGN) {
			if (l->neg)
				return cerr(c, l->line, l->col, "cannot negate an assignment");
			if (res_term(c, e->u.bin.b))
				return -1;
			rg_term *lhs = e->u.bin.a;
			if (lhs->k == T_VAR && c->mod && c->mod->v1 &&
			    (strcmp(lhs->u.var.name, "input") == 0 ||
			     strcmp(lhs->u.var.name, "data") == 0))
				return cerr(c, lhs->line, lhs->col, "%s cannot be shadowed",
				            lhs->u.var.name);
			if (lhs->k == T_CONST)
				return cerr(c, lhs->line, lhs->col,
				            "assignment operator := requires left-hand side to "
				            "have bindable variables");
			if (check_shapes(c, lhs, e->u.bin.b))
				return -1;
			if (lhs->k != T_VAR && lhs->k != T_ARRAY && lhs->k != T_OBJECT)
				return cerr(c, lhs->line, lhs->col, "cannot assign to %s",
				            lhs->k == T_REF ? "ref" : "term");
			if (declare_pattern(c, lhs, true))
				return -1;
			break;
		}
		if (e->k == T_BINOP && e->op == OP_UNIFY) {
			/* resolve the side without unknown vars first so the other binds */
			if (res_term(c, e->u.bin.b) || res_term(c, e->u.bin.a))
				return -1;
			if (check_shapes(c, e->u.bin.a, e->u.bin.b))
				return -1;
			break;
		}
		if (res_term(c, e))
			return -1;
	}
	}
	for (size_t i = 0; i < l->nwith; i++)
		if (res_with(c, &l->withs[i]))
			return -1;
	return 0;
}

/* ---- body pre-pass and ordering (OPA's safety reordering) ---- */

/* names in binding positions of a pattern term */
static int pre_pattern(cctx *c, rg_term *t, bool shadow)
{
	switch (t->k) {
	case T_VAR: {
		const char *name = t->u.var.name;
		if (strcmp(name, "_") == 0)
			return 0;
		for (size_t i = c->nents; i > 0; i--)
			if (strcmp(c->ents[i - 1].name, name) == 0)
				return 0; /* already known: nothing to reserve */
		if (!shadow) {
			rg_term tmp = *t;
			if (resolve_global(c, &tmp))
				return 0;
			if (c->failed)
				return -1;
		}
		if (declare(c, name, t->line, t->col, false) < 0)
			return -1;
		c->ents[c->nents - 1].pre = true;
		return 0;
	}
	case T_ARRAY:
		for (size_t i = 0; i < t->u.coll.n; i++)
			if (pre_pattern(c, t->u.coll.items[i], shadow))
				return -1;
		return 0;
	case T_OBJECT:
		for (size_t i = 0; i < t->u.obj.n; i++)
			if (pre_pattern(c, t->u.obj.vals[i], shadow))
				return -1;
		return 0;
	default:
		return 0;
	}
}

/* ref index variables (bound by iteration), outside comprehensions */
static int pre_refvars(cctx *c, rg_term *t)
{
	switch (t->k) {
	case T_REF:
		if (pre_refvars(c, t->u.ref.head))
			return -1;
		for (size_t i = 0; i < t->u.ref.n; i++) {
			rg_term *e = t->u.ref.path[i];
			if (e->k == T_VAR ? pre_pattern(c, e, false) : pre_refvars(c, e))
				return -1;
		}
		return 0;
	case T_ARRAY:
	case T_SET:
		for (size_t i = 0; i < t->u.coll.n; i++)
			if (pre_refvars(c, t->u.coll.items[i]))
				return -1;
		return 0;
	case T_OBJECT:
		for (size_t i = 0; i < t->u.obj.n; i++)
			if (pre_refvars(c, t->u.obj.keys[i]) || pre_refvars(c, t->u.obj.vals[i]))
				return -1;
		return 0;
	case T_CALL:
		for (size_t i = 0; i < t->u.call.n; i++)
			if (pre_refvars(c, t->u.call.args[i]))
				return -1;
		return 0;
	case T_BINOP:
		return pre_refvars(c, t->u.bin.a) || pre_refvars(c, t->u.bin.b) ? -1 : 0;
	case T_MEMBER:
		if (t->u.mem.key && pre_refvars(c, t->u.mem.key))
			return -1;
		return pre_refvars(c, t->u.mem.val) || pre_refvars(c, t->u.mem.coll) ? -1 : 0;
	default:
		return 0;
	}
}

/* reserve slots for every variable the body binds at its own level, so a
 * use that comes first in the text (or inside a comprehension) refers to it */
static int predeclare(cctx *c, rg_body *b)
{
	for (size_t i = 0; i < b->n; i++) {
		rg_lit *l = b->lits[i];
		int r = 0;
		switch (l->kind) {
		case L_SOME:
			for (size_t j = 0; j < l->body.n && !r; j++)
				r = pre_pattern(c, (rg_term *)l->body.lits[j], true);
			break;
		case L_SOMEIN:
			r = pre_refvars(c, l->coll);
			if (!r && l->key)
				r = pre_pattern(c, l->key, true);
			if (!r)
				r = pre_pattern(c, l->val, true);
			break;
		case L_EXPR: {
			rg_term *e = l->expr;
			if (l->neg)
				break;
			if (e->k == T_BINOP && e->op == OP_ASSIGN) {
				r = pre_refvars(c, e->u.bin.b);
				if (!r)
					r = pre_pattern(c, e->u.bin.a, true);
			} else if (e->k == T_BINOP && e->op == OP_UNIFY) {
				r = pre_pattern(c, e->u.bin.a, false);
				if (!r)
					r = pre_pattern(c, e->u.bin.b, false);
				if (!r)
					r = pre_refvars(c, e->u.bin.a);
				if (!r)
					r = pre_refvars(c, e->u.bin.b);
			} else {
				r = pre_refvars(c, e);
			}
			break;
		}
		default:
			break;
		}
		if (r)
			return -1;
	}
	return 0;
}

/* variables a literal needs bound and those it binds (slots in [lo, hi)) */
typedef struct dep {
	uint8_t *need, *bind, *pa, *pb;
	int lo, hi;
} dep;

static void dep_mark(uint8_t *set, const dep *d, int slot)
{
	if (slot >= d->lo && slot < d->hi)
		set[slot - d->lo] = 1;
}

static void dep_term(dep *d, rg_term *t, uint8_t *pat);
static void dep_body(dep *d, rg_body *b, int ilo, int ihi);

/* everything referenced inside a nested scope, except its own slots */
static void dep_inner_term(dep *d, rg_term *t, int ilo, int ihi)
{
	dep in = *d;
	uint8_t *tmp = calloc((size_t)(d->hi - d->lo) + 1, 1);
	if (!tmp)
		return;
	in.bind = tmp;
	in.pa = tmp;
	dep_term(&in, t, NULL);
	(void)ilo;
	(void)ihi;
	free(tmp);
}

static void dep_body(dep *d, rg_body *b, int ilo, int ihi)
{
	for (size_t i = 0; i < b->n; i++) {
		rg_lit *l = b->lits[i];
		if (l->expr)
			dep_inner_term(d, l->expr, ilo, ihi);
		if (l->coll)
			dep_inner_term(d, l->coll, ilo, ihi);
		if (l->kind == L_EVERY)
			dep_body(d, &l->body, ilo, ihi);
		for (size_t w = 0; w < l->nwith; w++)
			dep_inner_term(d, l->withs[w].value, ilo, ihi);
	}
}

/* pat: where pattern variables go (NULL: value position) */
static void dep_term(dep *d, rg_term *t, uint8_t *pat)
{
	switch (t->k) {
	case T_VAR:
		if (t->vres == VR_LOCAL)
			dep_mark(pat ? pat : d->need, d, t->u.var.slot);
		return;
	case T_REF:
		dep_term(d, t->u.ref.head, NULL);
		for (size_t i = 0; i < t->u.ref.n; i++) {
			rg_term *e = t->u.ref.path[i];
			if (e->k == T_VAR && e->vres == VR_LOCAL)
				dep_mark(d->bind, d, e->u.var.slot); /* iteration binds it */
			else
				dep_term(d, e, NULL);
		}
		return;
	case T_ARRAY:
		for (size_t i = 0; i < t->u.coll.n; i++)
			dep_term(d, t->u.coll.items[i], pat);
		return;
	case T_SET:
		for (size_t i = 0; i < t->u.coll.n; i++)
			dep_term(d, t->u.coll.items[i], NULL);
		return;
	case T_OBJECT:
		for (size_t i = 0; i < t->u.obj.n; i++) {
			dep_term(d, t->u.obj.keys[i], NULL);
			dep_term(d, t->u.obj.vals[i], pat);
		}
		return;
	case T_ACOMP:
	case T_SCOMP:
	case T_OCOMP: {
		/* outer variables used inside must be bound first */
		dep in = *d;
		uint8_t *tmp = calloc((size_t)(d->hi - d->lo) + 1, 1);
		if (!tmp)
			return;
		in.bind = tmp;
		dep_body(&in, &t->u.comp.body, t->u.comp.slot_lo, t->u.comp.slot_hi);
		if (t->u.comp.key)
			dep_term(&in, t->u.comp.key, NULL);
		dep_term(&in, t->u.comp.head, NULL);
		free(tmp);
		/* the comprehension's own slots are not needs */
		for (int s = t->u.comp.slot_lo; s < t->u.comp.slot_hi; s++)
			if (s >= d->lo && s < d->hi)
				d->need[s - d->lo] = 0;
		return;
	}
	case T_CALL: {
		size_t n = t->u.call.n, ar = n;
		if (t->u.call.bi && t->u.call.bi->arity >= 0)
			ar = (size_t)t->u.call.bi->arity;
		else if (t->u.call.fn)
			ar = t->u.call.fn->kind == R_FUNC ? t->u.call.fn->arity : 0;
		for (size_t i = 0; i < n; i++)
			dep_term(d, t->u.call.args[i], i == ar ? d->bind : NULL);
		return;
	}
	case T_BINOP:
		dep_term(d, t->u.bin.a, NULL);
		dep_term(d, t->u.bin.b, NULL);
		return;
	case T_NEG:
		dep_term(d, t->u.neg.a, NULL);
		return;
	case T_MEMBER:
		if (t->u.mem.key)
			dep_term(d, t->u.mem.key, NULL);
		dep_term(d, t->u.mem.val, NULL);
		dep_term(d, t->u.mem.coll, NULL);
		return;
	default:
		return;
	}
}

static void dep_lit(dep *d, rg_lit *l)
{
	rg_term *e = l->expr;

	switch (l->kind) {
	case L_SOMEIN:
		dep_term(d, l->coll, NULL);
		if (l->key)
			dep_term(d, l->key, d->bind);
		dep_term(d, l->val, d->bind);
		break;
	case L_EVERY: {
		dep_term(d, l->coll, NULL);
		dep in = *d;
		uint8_t *tmp = calloc((size_t)(d->hi - d->lo) + 1, 1);
		if (tmp) {
			in.bind = tmp;
			dep_body(&in, &l->body, l->slot_lo, l->slot_hi);
			free(tmp);
		}
		for (int s = l->slot_lo; s < l->slot_hi; s++)
			if (s >= d->lo && s < d->hi)
				d->need[s - d->lo] = 0;
		break;
	}
	case L_EXPR:
		if (l->neg) {
			/* nothing is bound by a negation: all of it must be */
			uint8_t *save = d->bind;
			d->bind = d->need;
			dep_term(d, e, NULL);
			d->bind = save;
		} else if (e->k == T_BINOP && e->op == OP_ASSIGN) {
			dep_term(d, e->u.bin.b, NULL);
			dep_term(d, e->u.bin.a, d->bind);
		} else if (e->k == T_BINOP && e->op == OP_UNIFY) {
			dep_term(d, e->u.bin.a, d->pa);
			dep_term(d, e->u.bin.b, d->pb);
		} else {
			dep_term(d, e, NULL);
		}
		break;
	default:
		break;
	}
	for (size_t w = 0; w < l->nwith; w++)
		dep_term(d, l->withs[w].value, NULL);
}

/* stable greedy order: the first literal whose needs are met goes next */
static int order_body(cctx *c, rg_body *b, int lo, int hi)
{
	size_t n = b->n, w = (size_t)(hi - lo) + 1;
	int res = 0;

	if (n < 2 || hi <= lo)
		return 0;
	uint8_t *sets = calloc(n * 4 * w + w, 1);
	rg_lit **out = rg_alloc(c->ar, n * sizeof(rg_lit *));
	bool *done = calloc(n, sizeof(bool));
	if (!sets || !out || !done) {
		res = -1;
		goto out;
	}
	uint8_t *bound = sets + n * 4 * w;
	for (size_t i = 0; i < n; i++) {
		dep d = { sets + (i * 4) * w,
			  sets + (i * 4 + 1) * w,
			  sets + (i * 4 + 2) * w,
			  sets + (i * 4 + 3) * w,
			  lo,
			  hi };
		dep_lit(&d, b->lits[i]);
	}
	bool changed = false;
	for (size_t k = 0; k < n; k++) {
		size_t pick = n;
		for (size_t i = 0; i < n && pick == n; i++) {
			if (done[i])
				continue;
			uint8_t *need = sets + (i * 4) * w, *pa = sets + (i * 4 + 2) * w,
			        *pb = sets + (i * 4 + 3) * w;
			bool ok = true, a_ok = true, b_ok = true;
			for (size_t s = 0; s < w && ok; s++)
				if (need[s] && !bound[s] && !pa[s] && !pb[s])
					ok = false;
			for (size_t s = 0; s < w; s++) {
				if (pa[s] && !bound[s])
					a_ok = false;
				if (pb[s] && !bound[s])
					b_ok = false;
			}
			if (ok && (a_ok || b_ok))
				pick = i;
		}
		if (pick == n) {
			/* nothing is ready: keep the source order for the rest (an
			 * unsafe variable is then reported when evaluated) */
			for (size_t i = 0; i < n; i++)
				if (!done[i]) {
					pick = i;
					break;
				}
		}
		if (pick != k)
			changed = true;
		done[pick] = true;
		out[k] = b->lits[pick];
		uint8_t *bind = sets + (pick * 4 + 1) * w, *pa = sets + (pick * 4 + 2) * w,
		        *pb = sets + (pick * 4 + 3) * w;
		for (size_t s = 0; s < w; s++)
			if (bind[s] || pa[s] || pb[s])
				bound[s] = 1;
	}
	if (changed)
		b->lits = out;
out:
	free(sets);
	free(done);
	if (res)
		return cerr(c, 0, 0, "out of memory");
	return 0;
}

static int res_body(cctx *c, rg_body *b)
{
	int lo = c->nslots;
	if (predeclare(c, b))
		return -1;
	for (size_t i = 0; i < b->n; i++)
		if (res_lit(c, b->lits[i]))
			return -1;
	return order_body(c, b, lo, c->nslots);
}

static int res_rule(cctx *c, rg_rule *r)
{
	c->nents = 0;
	c->level = 0;
	c->nslots = 0;
	size_t base = scope_push(c);
	for (size_t i = 0; i < r->nargs; i++)
		if (declare_pattern(c, r->args[i], false))
			return -1;
	for (size_t i = 0; i < c->nents; i++)
		c->ents[i].arg = true;
	for (rg_rule *b = r; b; b = b->els) {
		size_t mark = scope_push(c);
		if (b != r) {
			/* else branches carry the head's shape (set at compile time:
			 * evaluation never writes to the shared policy) */
			b->kind = r->kind;
			b->key = r->key;
			b->dyn = r->dyn;
			b->ndyn = r->ndyn;
		}
		if (res_body(c, &b->body))
			return -1;
		if (b == r) {
			for (size_t i = 0; i < r->ndyn; i++)
				if (res_term(c, r->dyn[i]))
					return -1;
			if (r->key && res_term(c, r->key))
				return -1;
		}
		if (b->value && res_term(c, b->value))
			return -1;
		scope_pop(c, mark);
	}
	scope_pop(c, base);
	r->nslots = c->nslots;
	return 0;
}

static rg_node *pkg_node(cctx *c, rg_module *m)
{
	rg_node *n = c->pol->root;

	for (size_t i = 0; i < m->npkg && n; i++)
		n = node_child(c->pol, n, m->pkg[i]);
	return n;
}

int rg_compile(coffer_rego_policy *p, rg_perr *err, const char **errfile)
{
	cctx c;

	memset(&c, 0, sizeof(c));
	c.ar = &p->ar;
	c.pol = p;
	c.err = err;
	p->root = node_new(&p->ar, NULL, "data", &p->nnodes);
	if (!p->root)
		return cerr(&c, 0, 0, "out of memory");
	for (size_t i = 0; i < p->nmods; i++) {
		rg_module *m = p->mods[i];
		*errfile = m->file;
		c.mod = m;
		c.pkgnode = pkg_node(&c, m);
		if (!c.pkgnode)
			return cerr(&c, 0, 0, "out of memory");
		/* a package exists (as {}) even without rules */
		for (rg_node *a = c.pkgnode; a; a = a->parent)
			a->has_rules_below = true;
		for (size_t j = 0; j < m->nrules; j++)
			if (place_rule(&c, m->rules[j]))
				return -1;
	}
	for (size_t i = 0; i < p->nmods; i++) {
		rg_module *m = p->mods[i];
		*errfile = m->file;
		c.mod = m;
		c.pkgnode = pkg_node(&c, m);
		for (size_t j = 0; j < m->nrules; j++)
			if (res_rule(&c, m->rules[j]))
				return -1;
	}
	/* complete rules must not also have rules below them */
	*errfile = NULL;
	return 0;
}

int rg_compile_query(coffer_rego_query *q, rg_perr *err)
{
	cctx c;

	memset(&c, 0, sizeof(c));
	c.ar = &q->ar;
	c.pol = (coffer_rego_policy *)q->pol;
	c.err = err;
	c.mod = NULL;
	c.pkgnode = NULL;
	scope_push(&c);
	if (res_body(&c, &q->body))
		return -1;
	q->nslots = c.nslots;
	q->varnames = c.slotnames;
	return 0;
}
