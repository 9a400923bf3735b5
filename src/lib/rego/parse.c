/* Rego parser: a recursive-descent parser producing the AST of rego_int.h.
 * Newlines end body expressions except inside (), [] and term braces. The
 * v1 keywords (if, contains, in, every) are enabled per module by
 * `import rego.v1` or `import future.keywords[.kw]`. Depth is bounded. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rego/rego_int.h"

#define MAX_DEPTH 200

typedef struct parser {
	rg_lexer lx;
	rg_arena *ar;
	rg_tok cur;
	rg_tok la; /* one-token lookahead */
	bool have_la;
	int nl_depth; /* >0: newlines are insignificant */
	int depth;
	rg_perr *err;
	bool failed;
	rg_module *mod; /* NULL for queries: all keywords enabled */
	const char *file;
} parser;

static void perr(parser *p, const rg_tok *t, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void perr(parser *p, const rg_tok *t, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	p->err->line = t->line;
	p->err->col = t->col;
	snprintf(p->err->code, sizeof(p->err->code), "rego_parse_error");
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
}

static void raw_next(parser *p, rg_tok *t)
{
	if (rg_lex_next(&p->lx, t) == TK_ERROR)
		perr(p, t, "%s", p->lx.err);
}

/* advance cur, skipping newlines when nl_depth > 0 */
static void next(parser *p)
{
	for (;;) {
		if (p->have_la) {
			p->cur = p->la;
			p->have_la = false;
		} else {
			raw_next(p, &p->cur);
		}
		if (p->failed) {
			p->cur.k = TK_EOF;
			return;
		}
		if (p->cur.k == TK_NEWLINE && p->nl_depth > 0)
			continue;
		return;
	}
}

static void skip_nl(parser *p)
{
	while (p->cur.k == TK_NEWLINE)
		next(p);
}

static bool is_ident(parser *p, const char *s)
{
	size_t n = strlen(s);
	return p->cur.k == TK_IDENT && p->cur.len == n && memcmp(p->cur.p, s, n) == 0;
}

static bool tok_is(const rg_tok *t, const char *s)
{
	size_t n = strlen(s);
	return t->k == TK_IDENT && t->len == n && memcmp(t->p, s, n) == 0;
}

static bool kw_in(parser *p)
{
	return p->mod == NULL || p->mod->kw_in;
}
static bool kw_every(parser *p)
{
	return p->mod == NULL || p->mod->kw_every;
}
static bool kw_if(parser *p)
{
	return p->mod == NULL || p->mod->kw_if;
}
static bool kw_contains(parser *p)
{
	return p->mod == NULL || p->mod->kw_contains;
}

static bool is_reserved(parser *p, const rg_tok *t)
{
	static const char *always[] = { "not",     "some",   "with", "as",    "default", "else",
		                        "package", "import", "true", "false", "null",    NULL };
	for (int i = 0; always[i]; i++)
		if (tok_is(t, always[i]))
			return true;
	if (tok_is(t, "in") && kw_in(p))
		return true;
	if (tok_is(t, "every") && kw_every(p))
		return true;
	if (tok_is(t, "if") && kw_if(p))
		return true;
	if (tok_is(t, "contains") && kw_contains(p))
		return true;
	return false;
}

static bool expect(parser *p, enum tok_kind k, const char *what)
{
	if (p->cur.k != k) {
		perr(p, &p->cur, "expected %s", what);
		return false;
	}
	next(p);
	return true;
}

static rg_term *mkterm(parser *p, int kind, const rg_tok *at)
{
	rg_term *t = rg_alloc(p->ar, sizeof(*t));

	if (t == NULL) {
		perr(p, at, "out of memory");
		return NULL;
	}
	t->k = (uint8_t)kind;
	t->line = at->line;
	t->col = at->col;
	return t;
}

static rg_term *mkconst(parser *p, rv *v, const rg_tok *at)
{
	rg_term *t;

	if (v == NULL) {
		perr(p, at, "out of memory");
		return NULL;
	}
	t = mkterm(p, T_CONST, at);
	if (t)
		t->u.val = v;
	return t;
}

static char *tokdup(parser *p, const rg_tok *t)
{
	char *s = rg_strndup(p->ar, t->p, t->len);
	if (s == NULL)
		perr(p, t, "out of memory");
	return s;
}

/* growable pointer arrays */
typedef struct pvec {
	void **v;
	size_t n, cap;
} pvec;

static bool pv_push(parser *p, pvec *pv, void *x)
{
	if (pv->n == pv->cap) {
		size_t nc = pv->cap ? pv->cap * 2 : 4;
		void **nv = rg_alloc(p->ar, nc * sizeof(void *));
		if (nv == NULL) {
			perr(p, &p->cur, "out of memory");
			return false;
		}
		if (pv->n)
			memcpy(nv, pv->v, pv->n * sizeof(void *));
		pv->v = nv;
		pv->cap = nc;
	}
	pv->v[pv->n++] = x;
	return true;
}

static rv *parse_number(parser *p, const rg_tok *t, bool neg)
{
	char buf[400];
	bool isint = true;
	size_t n = t->len;

	if (n + 2 > sizeof(buf)) {
		perr(p, t, "number too long");
		return NULL;
	}
	buf[0] = '-';
	memcpy(buf + 1, t->p, n);
	buf[n + 1] = '\0';
	for (size_t i = 0; i < n; i++)
		if (t->p[i] == '.' || t->p[i] == 'e' || t->p[i] == 'E')
			isint = false;
	char *s = neg ? buf : buf + 1;
	if (isint) {
		errno = 0;
		char *end;
		long long v = strtoll(s, &end, 10);
		if (errno == 0 && *end == '\0')
			return rv_int(p->ar, v);
		rv *r = rv_double(p->ar, strtod(s, NULL));
		if (r) {
			char *txt = rg_strndup(p->ar, s, strlen(s));
			r->isint = 0;
			r->big = 1;
			r->u.n.text = txt;
		}
		return r;
	}
	errno = 0;
	double d = strtod(s, NULL);
	return rv_double(p->ar, d);
}

static rg_term *parse_expr(parser *p); /* full expression incl. := = */
static rg_term *parse_in(parser *p, bool no_or);
static rg_term *parse_term(parser *p, bool no_or);
static bool parse_body_braced(parser *p, rg_body *out);
static bool parse_query_lits(parser *p, rg_body *out, enum tok_kind end);
static rg_lit *parse_literal(parser *p);

static bool enter(parser *p)
{
	if (++p->depth > MAX_DEPTH) {
		perr(p, &p->cur, "nesting too deep");
		return false;
	}
	return true;
}

static rg_term *finish_ref(parser *p, rg_term *head)
{
	pvec path = { 0 };
	rg_tok at = p->cur;

	while (!p->failed) {
		/* ref operators must follow without whitespace */
		if (p->cur.k == TK_DOT && !p->cur.ws_before) {
			next(p);
			if (p->cur.k != TK_IDENT || p->cur.ws_before) {
				perr(p, &p->cur, "expected field name after '.'");
				return NULL;
			}
			rg_term *f =
			        mkconst(p, rv_str(p->ar, tokdup(p, &p->cur), p->cur.len), &p->cur);
			if (!f || !pv_push(p, &path, f))
				return NULL;
			next(p);
		} else if (p->cur.k == TK_LBRACK && !p->cur.ws_before) {
			p->nl_depth++;
			next(p);
			rg_term *ix = parse_in(p, false);
			p->nl_depth--;
			if (!ix)
				return NULL;
			if (p->cur.k != TK_RBRACK) {
				perr(p, &p->cur, "expected ']'");
				return NULL;
			}
			next(p);
			if (!pv_push(p, &path, ix))
				return NULL;
		} else {
			break;
		}
	}
	if (p->failed)
		return NULL;
	if (path.n == 0)
		return head;
	rg_term *r = mkterm(p, T_REF, &at);
	if (!r)
		return NULL;
	r->line = head->line;
	r->col = head->col;
	r->u.ref.head = head;
	r->u.ref.path = (rg_term **)path.v;
	r->u.ref.n = path.n;
	return r;
}

static rg_term *parse_call_args(parser *p, const char *name, const rg_tok *at)
{
	pvec args = { 0 };
	rg_term *t;

	p->nl_depth++;
	next(p); /* ( */
	while (p->cur.k != TK_RPAREN && !p->failed) {
		rg_term *a = parse_in(p, false);
		if (!a || !pv_push(p, &args, a))
			break;
		if (p->cur.k == TK_COMMA)
			next(p);
		else if (p->cur.k != TK_RPAREN)
			perr(p, &p->cur, "expected ',' or ')' in call");
	}
	p->nl_depth--;
	if (p->failed)
		return NULL;
	next(p);
	t = mkterm(p, T_CALL, at);
	if (!t)
		return NULL;
	t->u.call.name = name;
	t->u.call.args = (rg_term **)args.v;
	t->u.call.n = args.n;
	return t;
}

/* identifier-led term: var, ref, call */
static rg_term *parse_ident_term(parser *p)
{
	rg_tok at = p->cur;
	rg_term *t;

	if (tok_is(&at, "true") || tok_is(&at, "false") || tok_is(&at, "null")) {
		next(p);
		rv *v = tok_is(&at, "null") ? RV_NULLV : rv_bool(tok_is(&at, "true"));
		return finish_ref(p, mkconst(p, v, &at));
	}
	/* dotted call name: a.b.c( */
	{
		/* scan ahead without consuming: only simple dotted names form calls */
		const char *s = at.p, *e = p->lx.src + p->lx.len;
		const char *q = s;
		while (q < e && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		                 (*q >= '0' && *q <= '9') || *q == '_' || *q == '.'))
			q++;
		if (q < e && *q == '(' && q[-1] != '.') {
			/* consume the dotted name */
			size_t len = (size_t)(q - s);
			char *name = rg_strndup(p->ar, s, len);
			if (!name) {
				perr(p, &at, "out of memory");
				return NULL;
			}
			while (p->cur.p + p->cur.len < q && !p->failed)
				next(p);
			next(p);
			if (p->cur.k != TK_LPAREN) {
				perr(p, &p->cur, "expected '('");
				return NULL;
			}
			if (strcmp(name, "set") == 0) {
				t = parse_call_args(p, name, &at);
				if (t && t->u.call.n == 0) {
					rg_term *st = mkterm(p, T_SET, &at);
					return st ? finish_ref(p, st) : NULL;
				}
				return t ? finish_ref(p, t) : NULL;
			}
			t = parse_call_args(p, name, &at);
			return t ? finish_ref(p, t) : NULL;
		}
	}
	if (is_reserved(p, &at)) {
		perr(p, &at, "unexpected keyword '%.*s'", (int)at.len, at.p);
		return NULL;
	}
	t = mkterm(p, T_VAR, &at);
	if (!t)
		return NULL;
	t->u.var.name = tokdup(p, &at);
	t->u.var.slot = -1;
	next(p);
	return finish_ref(p, t);
}

static rg_term *parse_array(parser *p)
{
	rg_tok at = p->cur;
	pvec items = { 0 };
	rg_term *t;

	p->nl_depth++;
	next(p);
	if (p->cur.k == TK_RBRACK) {
		p->nl_depth--;
		next(p);
		t = mkterm(p, T_ARRAY, &at);
		return t ? finish_ref(p, t) : NULL;
	}
	rg_term *first = parse_in(p, true);
	if (!first) {
		p->nl_depth--;
		return NULL;
	}
	if (p->cur.k == TK_PIPE) {
		int save = p->nl_depth;
		next(p);
		t = mkterm(p, T_ACOMP, &at);
		if (!t)
			return NULL;
		t->u.comp.head = first;
		p->nl_depth = 0;
		bool ok = parse_query_lits(p, &t->u.comp.body, TK_RBRACK);
		p->nl_depth = save - 1;
		if (!ok)
			return NULL;
		next(p);
		return finish_ref(p, t);
	}
	pv_push(p, &items, first);
	while (p->cur.k == TK_COMMA && !p->failed) {
		next(p);
		if (p->cur.k == TK_RBRACK)
			break;
		rg_term *x = parse_in(p, false);
		if (!x || !pv_push(p, &items, x))
			break;
	}
	p->nl_depth--;
	if (p->failed)
		return NULL;
	if (p->cur.k != TK_RBRACK) {
		perr(p, &p->cur, "expected ']'");
		return NULL;
	}
	next(p);
	t = mkterm(p, T_ARRAY, &at);
	if (!t)
		return NULL;
	t->u.coll.items = (rg_term **)items.v;
	t->u.coll.n = items.n;
	return finish_ref(p, t);
}

static rg_term *parse_brace(parser *p)
{
	rg_tok at = p->cur;
	pvec keys = { 0 }, vals = { 0 };
	rg_term *t;

	p->nl_depth++;
	next(p);
	if (p->cur.k == TK_RBRACE) {
		p->nl_depth--;
		next(p);
		t = mkterm(p, T_OBJECT, &at);
		return t ? finish_ref(p, t) : NULL;
	}
	rg_term *first = parse_in(p, true);
	if (!first) {
		p->nl_depth--;
		return NULL;
	}
	if (p->cur.k == TK_COLON) {
		next(p);
		rg_term *v = parse_in(p, true);
		if (!v) {
			p->nl_depth--;
			return NULL;
		}
		if (p->cur.k == TK_PIPE) {
			int save = p->nl_depth;
			next(p);
			t = mkterm(p, T_OCOMP, &at);
			if (!t)
				return NULL;
			t->u.comp.key = first;
			t->u.comp.head = v;
			p->nl_depth = 0;
			bool ok = parse_query_lits(p, &t->u.comp.body, TK_RBRACE);
			p->nl_depth = save - 1;
			if (!ok)
				return NULL;
			next(p);
			return finish_ref(p, t);
		}
		pv_push(p, &keys, first);
		pv_push(p, &vals, v);
		while (p->cur.k == TK_COMMA && !p->failed) {
			next(p);
			if (p->cur.k == TK_RBRACE)
				break;
			rg_term *k = parse_in(p, false);
			if (!k)
				break;
			if (p->cur.k != TK_COLON) {
				perr(p, &p->cur, "expected ':' in object");
				break;
			}
			next(p);
			rg_term *vv = parse_in(p, false);
			if (!vv)
				break;
			pv_push(p, &keys, k);
			pv_push(p, &vals, vv);
		}
		p->nl_depth--;
		if (p->failed)
			return NULL;
		if (p->cur.k != TK_RBRACE) {
			perr(p, &p->cur, "expected '}'");
			return NULL;
		}
		next(p);
		t = mkterm(p, T_OBJECT, &at);
		if (!t)
			return NULL;
		t->u.obj.keys = (rg_term **)keys.v;
		t->u.obj.vals = (rg_term **)vals.v;
		t->u.obj.n = keys.n;
		return finish_ref(p, t);
	}
	if (p->cur.k == TK_PIPE) {
		int save = p->nl_depth;
		next(p);
		t = mkterm(p, T_SCOMP, &at);
		if (!t)
			return NULL;
		t->u.comp.head = first;
		p->nl_depth = 0;
		bool ok = parse_query_lits(p, &t->u.comp.body, TK_RBRACE);
		p->nl_depth = save - 1;
		if (!ok)
			return NULL;
		next(p);
		return finish_ref(p, t);
	}
	pv_push(p, &keys, first);
	while (p->cur.k == TK_COMMA && !p->failed) {
		next(p);
		if (p->cur.k == TK_RBRACE)
			break;
		rg_term *x = parse_in(p, false);
		if (!x || !pv_push(p, &keys, x))
			break;
	}
	p->nl_depth--;
	if (p->failed)
		return NULL;
	if (p->cur.k != TK_RBRACE) {
		perr(p, &p->cur, "expected '}'");
		return NULL;
	}
	next(p);
	t = mkterm(p, T_SET, &at);
	if (!t)
		return NULL;
	t->u.coll.items = (rg_term **)keys.v;
	t->u.coll.n = keys.n;
	return finish_ref(p, t);
}

static rg_term *parse_primary(parser *p)
{
	rg_tok at = p->cur;
	rg_term *t = NULL;

	if (!enter(p))
		return NULL;
	switch (p->cur.k) {
	case TK_NUMBER:
		next(p);
		t = finish_ref(p, mkconst(p, parse_number(p, &at, false), &at));
		break;
	case TK_STRING:
	case TK_RAWSTRING:
		next(p);
		t = finish_ref(p, mkconst(p, rv_str(p->ar, at.str, at.slen), &at));
		break;
	case TK_IDENT:
		t = parse_ident_term(p);
		break;
	case TK_LBRACK:
		t = parse_array(p);
		break;
	case TK_LBRACE:
		t = parse_brace(p);
		break;
	case TK_LPAREN:
		p->nl_depth++;
		next(p);
		t = parse_in(p, false);
		p->nl_depth--;
		if (t && p->cur.k != TK_RPAREN) {
			perr(p, &p->cur, "expected ')'");
			t = NULL;
		}
		if (t) {
			next(p);
			t = finish_ref(p, t);
		}
		break;
	case TK_MINUS:
		next(p);
		skip_nl(p);
		if (p->cur.k == TK_NUMBER) {
			rg_tok nt = p->cur;
			next(p);
			t = finish_ref(p, mkconst(p, parse_number(p, &nt, true), &at));
		} else {
			perr(p, &at, "unary - can only be used with numeric literals");
		}
		break;
	default:
		perr(p, &p->cur, "unexpected token");
		break;
	}
	p->depth--;
	return t;
}

static rg_term *mkbin(parser *p, int op, rg_term *a, rg_term *b, const rg_tok *at)
{
	rg_term *t;

	if (!a || !b)
		return NULL;
	t = mkterm(p, T_BINOP, at);
	if (!t)
		return NULL;
	t->op = (uint8_t)op;
	t->u.bin.a = a;
	t->u.bin.b = b;
	t->line = a->line;
	t->col = a->col;
	return t;
}

static rg_term *parse_factor(parser *p)
{
	rg_term *a = parse_primary(p);

	while (a && !p->failed) {
		int op;
		rg_tok at = p->cur;
		if (p->cur.k == TK_STAR)
			op = OP_MUL;
		else if (p->cur.k == TK_SLASH)
			op = OP_DIV;
		else if (p->cur.k == TK_PERCENT)
			op = OP_MOD;
		else
			break;
		next(p);
		skip_nl(p);
		a = mkbin(p, op, a, parse_primary(p), &at);
	}
	return a;
}

static rg_term *parse_arith(parser *p)
{
	rg_term *a = parse_factor(p);

	while (a && !p->failed) {
		int op;
		rg_tok at = p->cur;
		if (p->cur.k == TK_PLUS)
			op = OP_ADD;
		else if (p->cur.k == TK_MINUS)
			op = OP_SUB;
		else
			break;
		next(p);
		skip_nl(p);
		a = mkbin(p, op, a, parse_factor(p), &at);
	}
	return a;
}

static rg_term *parse_and(parser *p)
{
	rg_term *a = parse_arith(p);

	while (a && p->cur.k == TK_AMP && !p->failed) {
		rg_tok at = p->cur;
		next(p);
		skip_nl(p);
		a = mkbin(p, OP_AND, a, parse_arith(p), &at);
	}
	return a;
}

static rg_term *parse_or(parser *p, bool no_or)
{
	rg_term *a = parse_and(p);

	while (a && !no_or && p->cur.k == TK_PIPE && !p->failed) {
		rg_tok at = p->cur;
		next(p);
		skip_nl(p);
		a = mkbin(p, OP_OR, a, parse_and(p), &at);
	}
	return a;
}

static rg_term *parse_rel(parser *p, bool no_or)
{
	rg_term *a = parse_or(p, no_or);

	while (a && !p->failed) {
		int op;
		rg_tok at = p->cur;
		switch (p->cur.k) {
		case TK_EQ:
			op = OP_EQ;
			break;
		case TK_NE:
			op = OP_NE;
			break;
		case TK_LT:
			op = OP_LT;
			break;
		case TK_LE:
			op = OP_LE;
			break;
		case TK_GT:
			op = OP_GT;
			break;
		case TK_GE:
			op = OP_GE;
			break;
		default:
			return a;
		}
		next(p);
		skip_nl(p);
		a = mkbin(p, op, a, parse_or(p, no_or), &at);
	}
	return a;
}

static rg_term *mkmember(parser *p, rg_term *k, rg_term *v, rg_term *c, const rg_tok *at)
{
	rg_term *t;

	if (!v || !c)
		return NULL;
	t = mkterm(p, T_MEMBER, at);
	if (!t)
		return NULL;
	t->u.mem.key = k;
	t->u.mem.val = v;
	t->u.mem.coll = c;
	t->line = (k ? k : v)->line;
	t->col = (k ? k : v)->col;
	return t;
}

static rg_term *parse_in(parser *p, bool no_or)
{
	rg_term *a;

	if (!enter(p))
		return NULL;
	a = parse_rel(p, no_or);
	while (a && !p->failed && kw_in(p) && is_ident(p, "in")) {
		rg_tok at = p->cur;
		next(p);
		a = mkmember(p, NULL, a, parse_rel(p, no_or), &at);
	}
	p->depth--;
	return a;
}

/* expression at literal level: [k, v in c] | in-expr [(:= | =) in-expr] */
static rg_term *parse_expr(parser *p)
{
	rg_term *a = parse_in(p, false);

	if (!a || p->failed)
		return NULL;
	if (p->cur.k == TK_COMMA && kw_in(p)) {
		rg_tok at = p->cur;
		next(p);
		rg_term *v = parse_rel(p, false);
		if (!v)
			return NULL;
		if (!is_ident(p, "in")) {
			perr(p, &p->cur, "expected 'in' after 'key, value'");
			return NULL;
		}
		next(p);
		return mkmember(p, a, v, parse_rel(p, false), &at);
	}
	if (p->cur.k == TK_ASSIGN || p->cur.k == TK_UNIFY) {
		rg_tok at = p->cur;
		int op = p->cur.k == TK_ASSIGN ? OP_ASSIGN : OP_UNIFY;
		next(p);
		skip_nl(p);
		return mkbin(p, op, a, parse_in(p, false), &at);
	}
	return a;
}

static rg_lit *mklit(parser *p, int kind, const rg_tok *at)
{
	rg_lit *l = rg_alloc(p->ar, sizeof(*l));

	if (!l) {
		perr(p, at, "out of memory");
		return NULL;
	}
	l->kind = (uint8_t)kind;
	l->line = at->line;
	l->col = at->col;
	return l;
}

static bool parse_withs(parser *p, rg_lit *l)
{
	pvec w = { 0 };

	while (is_ident(p, "with") && !p->failed) {
		rg_with *wi = rg_alloc(p->ar, sizeof(*wi));
		if (!wi) {
			perr(p, &p->cur, "out of memory");
			return false;
		}
		next(p);
		wi->target = parse_term(p, false);
		if (!wi->target)
			return false;
		if (!is_ident(p, "as")) {
			perr(p, &p->cur, "expected 'as'");
			return false;
		}
		next(p);
		wi->value = parse_in(p, false);
		if (!wi->value || !pv_push(p, &w, wi))
			return false;
	}
	if (w.n) {
		rg_with *arr = rg_alloc(p->ar, w.n * sizeof(rg_with));
		if (!arr) {
			perr(p, &p->cur, "out of memory");
			return false;
		}
		for (size_t i = 0; i < w.n; i++)
			arr[i] = *(rg_with *)w.v[i];
		l->withs = arr;
		l->nwith = w.n;
	}
	return !p->failed;
}

static rg_term *parse_term(parser *p, bool no_or)
{
	return parse_or(p, no_or);
}

static rg_lit *parse_literal(parser *p)
{
	rg_tok at = p->cur;
	rg_lit *l;

	if (!enter(p))
		return NULL;
	if (is_ident(p, "some")) {
		next(p);
		pvec vars = { 0 };
		/* some x, y   |   some x in c   |   some k, v in c */
		for (;;) {
			rg_term *t = parse_rel(p, false);
			if (!t || !pv_push(p, &vars, t))
				return NULL;
			if (p->cur.k == TK_COMMA) {
				next(p);
				continue;
			}
			break;
		}
		if (kw_in(p) && is_ident(p, "in")) {
			if (vars.n > 2) {
				perr(p, &p->cur, "too many terms before 'in'");
				return NULL;
			}
			next(p);
			l = mklit(p, L_SOMEIN, &at);
			if (!l)
				return NULL;
			l->val = vars.v[vars.n - 1];
			l->key = vars.n == 2 ? vars.v[0] : NULL;
			l->coll = parse_rel(p, false);
			if (!l->coll)
				return NULL;
		} else {
			if (vars.n == 1 && ((rg_term *)vars.v[0])->k == T_MEMBER) {
				/* `some x in xs` parsed as a membership */
				rg_term *m = vars.v[0];
				l = mklit(p, L_SOMEIN, &at);
				if (!l)
					return NULL;
				l->key = m->u.mem.key;
				l->val = m->u.mem.val;
				l->coll = m->u.mem.coll;
			} else {
				for (size_t i = 0; i < vars.n; i++)
					if (((rg_term *)vars.v[i])->k != T_VAR) {
						perr(p, &at, "expected variables after 'some'");
						return NULL;
					}
				l = mklit(p, L_SOME, &at);
				if (!l)
					return NULL;
				l->body.lits = (rg_lit **)vars.v; /* declared var terms */
				l->body.n = vars.n;
			}
		}
		p->depth--;
		if (!parse_withs(p, l))
			return NULL;
		return l;
	}
	if (kw_every(p) && is_ident(p, "every")) {
		next(p);
		l = mklit(p, L_EVERY, &at);
		if (!l)
			return NULL;
		rg_term *a = parse_rel(p, false);
		if (!a)
			return NULL;
		if (p->cur.k == TK_COMMA) {
			next(p);
			l->key = a;
			a = parse_rel(p, false);
			if (!a)
				return NULL;
		}
		l->val = a;
		if (!is_ident(p, "in")) {
			perr(p, &p->cur, "expected 'in' in every");
			return NULL;
		}
		next(p);
		l->coll = parse_rel(p, false);
		if (!l->coll)
			return NULL;
		if (p->cur.k != TK_LBRACE) {
			perr(p, &p->cur, "expected '{' after every");
			return NULL;
		}
		if (!parse_body_braced(p, &l->body))
			return NULL;
		p->depth--;
		return l;
	}
	l = mklit(p, L_EXPR, &at);
	if (!l)
		return NULL;
	if (is_ident(p, "not")) {
		next(p);
		l->neg = true;
	}
	l->expr = parse_expr(p);
	if (!l->expr)
		return NULL;
	if (!parse_withs(p, l))
		return NULL;
	p->depth--;
	return l;
}

/* literals separated by ';' or newlines until `end` (not consumed) */
static bool parse_query_lits(parser *p, rg_body *out, enum tok_kind end)
{
	pvec lits = { 0 };

	for (;;) {
		while (p->cur.k == TK_NEWLINE || p->cur.k == TK_SEMI)
			next(p);
		if (p->failed)
			return false;
		if (p->cur.k == end)
			break;
		rg_lit *l = parse_literal(p);
		if (!l || !pv_push(p, &lits, l))
			return false;
		if (p->cur.k != TK_NEWLINE && p->cur.k != TK_SEMI && p->cur.k != end) {
			perr(p, &p->cur, "unexpected token after expression");
			return false;
		}
	}
	out->lits = (rg_lit **)lits.v;
	out->n = lits.n;
	return !p->failed;
}

static bool parse_body_braced(parser *p, rg_body *out)
{
	int save = p->nl_depth;
	bool ok;

	p->nl_depth = 0;
	next(p); /* { */
	ok = parse_query_lits(p, out, TK_RBRACE);
	p->nl_depth = save;
	if (!ok)
		return false;
	next(p); /* } */
	return true;
}

/* after `if`: `{ body }` or a single literal */
static bool parse_if_body(parser *p, rg_body *out)
{
	if (p->cur.k == TK_LBRACE)
		return parse_body_braced(p, out);
	rg_lit *l = parse_literal(p);
	if (!l)
		return false;
	out->lits = rg_alloc(p->ar, sizeof(rg_lit *));
	if (!out->lits) {
		perr(p, &p->cur, "out of memory");
		return false;
	}
	out->lits[0] = l;
	out->n = 1;
	return true;
}

/* ---- module level ---- */

static bool parse_ref_path(parser *p, pvec *path)
{
	/* ident(.ident | ["str"])* */
	if (p->cur.k != TK_IDENT) {
		perr(p, &p->cur, "expected a name");
		return false;
	}
	if (!pv_push(p, path, tokdup(p, &p->cur)))
		return false;
	next(p);
	for (;;) {
		if (p->cur.k == TK_DOT && !p->cur.ws_before) {
			next(p);
			if (p->cur.k != TK_IDENT) {
				perr(p, &p->cur, "expected a name after '.'");
				return false;
			}
			if (!pv_push(p, path, tokdup(p, &p->cur)))
				return false;
			next(p);
		} else if (p->cur.k == TK_LBRACK && !p->cur.ws_before) {
			next(p);
			if (p->cur.k != TK_STRING) {
				perr(p, &p->cur, "expected a string in a package or import path");
				return false;
			}
			if (!pv_push(p, path, p->cur.str))
				return false;
			next(p);
			if (!expect(p, TK_RBRACK, "']'"))
				return false;
		} else {
			return true;
		}
	}
}

static bool parse_import(parser *p, rg_module *m, pvec *imps)
{
	rg_tok at = p->cur;
	pvec path = { 0 };
	rg_import *im;

	next(p);
	if (!parse_ref_path(p, &path))
		return false;
	const char *h = path.v[0];
	if (strcmp(h, "rego") == 0) {
		if (path.n == 2 && strcmp(path.v[1], "v1") == 0) {
			if (m->saw_v1 || m->saw_future) {
				perr(p, &at, "this import shadows previous import");
				return false;
			}
			m->saw_v1 = true;
			m->v1 = true;
			m->kw_in = m->kw_every = m->kw_if = m->kw_contains = true;
			return true;
		}
		perr(p, &at, "invalid import %s, must be rego.v1", h);
		return false;
	}
	if (strcmp(h, "future") == 0) {
		if (path.n < 2 || strcmp(path.v[1], "keywords") != 0) {
			perr(p, &at, "invalid import, must be future.keywords");
			return false;
		}
		if (m->saw_v1) {
			perr(p, &at, "this import shadows previous import");
			return false;
		}
		m->saw_future = true;
		if (path.n == 2) {
			m->kw_in = m->kw_every = m->kw_if = m->kw_contains = true;
		} else if (path.n == 3) {
			const char *k = path.v[2];
			if (strcmp(k, "in") == 0)
				m->kw_in = true;
			else if (strcmp(k, "every") == 0)
				m->kw_every = m->kw_in = true;
			else if (strcmp(k, "if") == 0)
				m->kw_if = true;
			else if (strcmp(k, "contains") == 0)
				m->kw_contains = true;
			else {
				perr(p, &at, "unexpected keyword in future.keywords import: %s", k);
				return false;
			}
		} else {
			perr(p, &at, "invalid future.keywords import");
			return false;
		}
		return true;
	}
	if (strcmp(h, "data") != 0 && strcmp(h, "input") != 0) {
		perr(p, &at, "invalid import: must begin with input or data");
		return false;
	}
	im = rg_alloc(p->ar, sizeof(*im));
	if (!im) {
		perr(p, &at, "out of memory");
		return false;
	}
	im->path = (const char **)path.v;
	im->n = path.n;
	im->alias = path.v[path.n - 1];
	if (is_ident(p, "as")) {
		next(p);
		if (p->cur.k != TK_IDENT) {
			perr(p, &p->cur, "expected alias name");
			return false;
		}
		im->alias = tokdup(p, &p->cur);
		next(p);
	}
	if (path.n == 1 && im->alias == path.v[0] && strcmp(h, "data") == 0) {
		/* `import data` is allowed and useless */
	}
	return pv_push(p, imps, im);
}

static rg_rule *mkrule(parser *p, const rg_tok *at)
{
	rg_rule *r = rg_alloc(p->ar, sizeof(*r));

	if (!r) {
		perr(p, at, "out of memory");
		return NULL;
	}
	r->line = at->line;
	r->col = at->col;
	r->file = p->file;
	r->mod = p->mod;
	return r;
}

/* body and else-chain after a rule head */
static bool parse_rule_rest(parser *p, rg_rule *r, bool allow_else)
{
	bool had_if = false;

	if (kw_if(p) && is_ident(p, "if")) {
		next(p);
		had_if = true;
		r->has_body = true;
		if (!parse_if_body(p, &r->body))
			return false;
	} else if (p->cur.k == TK_LBRACE) {
		if (p->mod->v1) {
			perr(p, &p->cur, "`if` keyword is required before rule body");
			return false;
		}
		r->has_body = true;
		if (!parse_body_braced(p, &r->body))
			return false;
		had_if = true;
	}
	(void)had_if;
	if (!allow_else)
		return true;
	/* else chain: may start on the next line */
	rg_rule *tail = r;
	for (;;) {
		/* look past newlines for `else` */
		if (p->cur.k == TK_NEWLINE) {
			/* peek the first non-newline token without consuming rules */
			size_t save_pos = p->lx.pos;
			int sl = p->lx.line, sc = p->lx.col;
			rg_tok save_cur = p->cur, save_la = p->la;
			bool save_have = p->have_la;
			skip_nl(p);
			if (!is_ident(p, "else")) {
				p->lx.pos = save_pos;
				p->lx.line = sl;
				p->lx.col = sc;
				p->cur = save_cur;
				p->la = save_la;
				p->have_la = save_have;
				return !p->failed;
			}
		}
		if (!is_ident(p, "else"))
			return true;
		rg_tok at = p->cur;
		next(p);
		rg_rule *e = mkrule(p, &at);
		if (!e)
			return false;
		e->kind = r->kind;
		if (p->cur.k == TK_ASSIGN || p->cur.k == TK_UNIFY) {
			e->assign = p->cur.k == TK_ASSIGN;
			next(p);
			e->value = parse_in(p, false);
			if (!e->value)
				return false;
			e->has_value = true;
		}
		if (kw_if(p) && is_ident(p, "if")) {
			next(p);
			if (!parse_if_body(p, &e->body))
				return false;
		} else if (p->cur.k == TK_LBRACE) {
			if (p->mod->v1) {
				perr(p, &p->cur, "`if` keyword is required before rule body");
				return false;
			}
			if (!parse_body_braced(p, &e->body))
				return false;
		}
		tail->els = e;
		tail = e;
	}
}

static bool parse_rule(parser *p, pvec *rules)
{
	rg_tok at = p->cur;
	rg_rule *r = mkrule(p, &at);
	pvec hp = { 0 };

	if (!r)
		return false;
	if (is_ident(p, "default")) {
		r->is_default = true;
		next(p);
	}
	if (p->cur.k != TK_IDENT || is_reserved(p, &p->cur)) {
		perr(p, &p->cur, "expected a rule name");
		return false;
	}
	/* head ref */
	rg_term *name = mkconst(p, rv_str(p->ar, tokdup(p, &p->cur), p->cur.len), &p->cur);
	if (!name || !pv_push(p, &hp, name))
		return false;
	next(p);
	for (;;) {
		if (p->cur.k == TK_DOT && !p->cur.ws_before) {
			next(p);
			if (p->cur.k != TK_IDENT) {
				perr(p, &p->cur, "expected a name after '.'");
				return false;
			}
			rg_term *f =
			        mkconst(p, rv_str(p->ar, tokdup(p, &p->cur), p->cur.len), &p->cur);
			if (!f || !pv_push(p, &hp, f))
				return false;
			next(p);
		} else if (p->cur.k == TK_LBRACK && !p->cur.ws_before) {
			p->nl_depth++;
			next(p);
			rg_term *k = parse_in(p, false);
			p->nl_depth--;
			if (!k)
				return false;
			if (!expect(p, TK_RBRACK, "']'"))
				return false;
			if (!pv_push(p, &hp, k))
				return false;
		} else {
			break;
		}
	}
	r->hpath = (rg_term **)hp.v;
	r->nh = hp.n;
	if (p->cur.k == TK_LPAREN) {
		/* function */
		pvec args = { 0 };
		r->kind = R_FUNC;
		p->nl_depth++;
		next(p);
		while (p->cur.k != TK_RPAREN && !p->failed) {
			rg_term *a = parse_term(p, false);
			if (!a || !pv_push(p, &args, a))
				break;
			if (p->cur.k == TK_COMMA)
				next(p);
			else if (p->cur.k != TK_RPAREN)
				perr(p, &p->cur, "expected ',' or ')'");
		}
		p->nl_depth--;
		if (p->failed)
			return false;
		next(p);
		r->args = (rg_term **)args.v;
		r->nargs = args.n;
	}
	if (kw_contains(p) && is_ident(p, "contains")) {
		if (r->kind == R_FUNC || r->is_default) {
			perr(p, &p->cur, "unexpected contains");
			return false;
		}
		next(p);
		r->contains = true;
		r->kind = R_SET;
		r->key = parse_in(p, false);
		if (!r->key)
			return false;
	} else if (p->cur.k == TK_ASSIGN || p->cur.k == TK_UNIFY) {
		r->assign = p->cur.k == TK_ASSIGN;
		next(p);
		r->value = parse_in(p, false);
		if (!r->value)
			return false;
		r->has_value = true;
	}
	if (r->is_default) {
		if (!r->has_value) {
			perr(p, &at, "default rule requires a value");
			return false;
		}
		return pv_push(p, rules, r);
	}
	if (!parse_rule_rest(p, r, true))
		return false;
	if (p->mod->v1 && r->body.n == 0 && !r->has_value && !r->contains && r->kind != R_FUNC &&
	    r->els == NULL) {
		/* `p` alone, or `p[x]` without value: v1 needs a body or value */
	}
	return pv_push(p, rules, r);
}

int rg_parse_module(rg_module **out, rg_arena *ar, const char *file, const char *src, size_t len,
                    rg_perr *err)
{
	parser p;
	rg_module *m = rg_alloc(ar, sizeof(*m));
	pvec imps = { 0 }, rules = { 0 }, pkg = { 0 };

	memset(&p, 0, sizeof(p));
	memset(err, 0, sizeof(*err));
	if (!m) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -1;
	}
	m->file = file;
	/* like regorus, the v1 keywords are available in every module; what
	 * `import rego.v1` adds are v1's restrictions (if/contains required,
	 * deprecated builtins refused, input/data not shadowed) */
	m->kw_in = m->kw_every = m->kw_if = m->kw_contains = true;
	p.ar = ar;
	p.err = err;
	p.mod = m;
	p.file = file;
	rg_lex_init(&p.lx, ar, src, len);
	next(&p);
	skip_nl(&p);
	if (!is_ident(&p, "package")) {
		perr(&p, &p.cur, "expected package declaration");
		return -1;
	}
	next(&p);
	if (!parse_ref_path(&p, &pkg))
		return -1;
	m->pkg = (const char **)pkg.v;
	m->npkg = pkg.n;
	for (;;) {
		skip_nl(&p);
		if (p.failed)
			return -1;
		if (!is_ident(&p, "import"))
			break;
		if (!parse_import(&p, m, &imps))
			return -1;
		if (p.cur.k != TK_NEWLINE && p.cur.k != TK_EOF && p.cur.k != TK_SEMI) {
			perr(&p, &p.cur, "unexpected token after import");
			return -1;
		}
	}
	for (;;) {
		while (p.cur.k == TK_NEWLINE || p.cur.k == TK_SEMI)
			next(&p);
		if (p.failed)
			return -1;
		if (p.cur.k == TK_EOF)
			break;
		if (is_ident(&p, "import")) {
			perr(&p, &p.cur, "imports must come before rules");
			return -1;
		}
		if (!parse_rule(&p, &rules))
			return -1;
		if (p.cur.k != TK_NEWLINE && p.cur.k != TK_EOF && p.cur.k != TK_SEMI) {
			perr(&p, &p.cur, "unexpected token after rule");
			return -1;
		}
	}
	if (p.failed)
		return -1;
	m->imports = rg_alloc(ar, (imps.n ? imps.n : 1) * sizeof(rg_import));
	if (!m->imports)
		return -1;
	for (size_t i = 0; i < imps.n; i++)
		m->imports[i] = *(rg_import *)imps.v[i];
	m->nimports = imps.n;
	m->rules = (rg_rule **)rules.v;
	m->nrules = rules.n;
	*out = m;
	return 0;
}

int rg_parse_query(rg_body *out, rg_arena *ar, const char *src, size_t len, rg_perr *err)
{
	parser p;

	memset(&p, 0, sizeof(p));
	memset(err, 0, sizeof(*err));
	p.ar = ar;
	p.err = err;
	p.mod = NULL;
	p.file = "query";
	rg_lex_init(&p.lx, ar, src, len);
	next(&p);
	if (!parse_query_lits(&p, out, TK_EOF))
		return -1;
	if (out->n == 0) {
		perr(&p, &p.cur, "empty query");
		return -1;
	}
	return 0;
}
