/* Internal structures of the Rego engine: values, AST, compiled rules. */
#ifndef COFFER_REGO_INT_H
#define COFFER_REGO_INT_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "coffer/rego.h"

/* ---- arena ---- */
typedef struct rg_chunk rg_chunk;
typedef struct rg_arena {
	rg_chunk *head;
	size_t used;  /* bytes handed out (incl. chunk overhead) */
	size_t limit; /* 0: unlimited */
	bool failed;
} rg_arena;

void rg_arena_init(rg_arena *a, size_t limit);
void rg_arena_free(rg_arena *a);
/* NULL when the limit is hit or malloc fails (a->failed set). */
void *rg_alloc(rg_arena *a, size_t n);
char *rg_strndup(rg_arena *a, const char *s, size_t n);

/* ---- values ---- */
enum rv_kind { RV_NULL, RV_BOOL, RV_NUM, RV_STR, RV_ARR, RV_SET, RV_OBJ };

typedef struct rv rv;
struct rv {
	uint8_t kind;
	uint8_t isint; /* RV_NUM: i holds the value exactly */
	uint8_t big;   /* RV_NUM: integer literal too large for int64 (d approximates) */
	union {
		bool b;
		struct {
			int64_t i;
			double d;
			const char *text; /* big: the literal digits */
		} n;
		struct {
			const char *s;
			size_t len;
		} s;
		struct {
			rv **items; /* RV_ARR in order; RV_SET sorted, unique */
			size_t n;
			json_t *lazy; /* not yet converted JSON array */
			rg_arena *ar;
		} a;
		struct {
			rv **keys; /* sorted, unique */
			rv **vals;
			size_t n;
			json_t *lazy;
			rg_arena *ar;
		} o;
	} u;
};

extern rv rv_null_v, rv_true_v, rv_false_v, rv_empty_str_v;
#define RV_NULLV (&rv_null_v)
#define RV_TRUE  (&rv_true_v)
#define RV_FALSE (&rv_false_v)

rv *rv_bool(bool b);
rv *rv_int(rg_arena *a, int64_t i);
rv *rv_double(rg_arena *a, double d);               /* normalizes integral values to int */
rv *rv_str(rg_arena *a, const char *s, size_t len); /* borrows s */
rv *rv_str_copy(rg_arena *a, const char *s, size_t len);
rv *rv_cstr(rg_arena *a, const char *s); /* borrows s */
/* items are borrowed arrays allocated in the arena (not copied) */
rv *rv_arr(rg_arena *a, rv **items, size_t n);
/* sorts and dedupes in place */
rv *rv_set(rg_arena *a, rv **items, size_t n);
/* sorts by key; *conflict set to 1 when a key repeats with different values */
rv *rv_obj(rg_arena *a, rv **keys, rv **vals, size_t n, int *conflict);
rv *rv_from_json(rg_arena *a, json_t *j); /* lazy for containers */
int rv_force(rv *v);                      /* materialize a lazy container; -1 on OOM */
json_t *rv_to_json(const rv *v);          /* sets -> sorted arrays; NULL on OOM */

int rv_cmp(const rv *a, const rv *b);
bool rv_eq(const rv *a, const rv *b);
double rv_num_d(const rv *v);
/* lookups (force lazies); NULL if absent */
rv *rv_get(rv *coll, const rv *key);
rv *rv_obj_getn(rv *obj, const char *key, size_t len);
bool rv_set_has(rv *set, const rv *v);
size_t rv_len(rv *v); /* arr/set/obj element count (forces) */
const char *rv_type_name(const rv *v);
bool rv_truthy(const rv *v); /* anything but false */

/* growable vector of rv* in an arena */
typedef struct rv_vec {
	rv **v;
	size_t n, cap;
} rv_vec;
int rv_vec_push(rg_arena *a, rv_vec *vec, rv *x);

/* growable text buffer in an arena */
typedef struct rg_sbuf {
	rg_arena *ar;
	char *p;
	size_t n, cap, limit;
	bool failed;
} rg_sbuf;
void rg_sb_put(rg_sbuf *b, const char *s, size_t n);
void rg_sb_puts(rg_sbuf *b, const char *s);
/* JSON text of a value (sets as sorted arrays, keys sorted) */
void rg_dump(rg_sbuf *b, const rv *v);
/* an upper bound of rg_dump's output size (exact but for non-string keys),
 * computed without building it; stops early past limit */
size_t rg_dump_size(const rv *v, size_t limit);
/* sets as sorted arrays; objects with non-string keys as
 * {"object!":[{"key":k,"value":v}...]} (the conformance suites' tags) */
void rg_dump_tagged(rg_sbuf *b, const rv *v);
/* conformance support: the canonical tagged text of a query's results.
 * mode 0: the list of {x: value} (or bindings with var_output);
 * mode 1: OPA test-case form: bindings if the query has named variables,
 * else the value; one solution as itself, several as a list; *out NULL
 * when undefined. */
int rg_query_eval_text(char **out, const coffer_rego_query *q, const json_t *input,
                       const json_t *data, const coffer_rego_limits *limits, int mode,
                       coffer_rego_diag *diag);

/* number formatting for output / sprintf */
int rv_num_format(char *buf, size_t len, const rv *v);

/* ---- lexer ---- */
enum tok_kind {
	TK_EOF,
	TK_IDENT,
	TK_STRING,    /* "..." (escapes decoded) */
	TK_RAWSTRING, /* `...` */
	TK_NUMBER,
	TK_LBRACE,
	TK_RBRACE,
	TK_LBRACK,
	TK_RBRACK,
	TK_LPAREN,
	TK_RPAREN,
	TK_DOT,
	TK_COMMA,
	TK_SEMI,
	TK_COLON,
	TK_ASSIGN, /* := */
	TK_UNIFY,  /* = */
	TK_EQ,
	TK_NE,
	TK_LT,
	TK_LE,
	TK_GT,
	TK_GE,
	TK_PLUS,
	TK_MINUS,
	TK_STAR,
	TK_SLASH,
	TK_PERCENT,
	TK_AMP,
	TK_PIPE,
	TK_NEWLINE,
	TK_ERROR
};

typedef struct rg_tok {
	enum tok_kind k;
	const char *p; /* into source (for idents/numbers) */
	size_t len;
	char *str; /* decoded string (arena) for TK_STRING/TK_RAWSTRING */
	size_t slen;
	int line, col;
	bool ws_before; /* whitespace/newline precedes the token */
} rg_tok;

typedef struct rg_lexer {
	const char *src;
	size_t len, pos;
	int line, col;
	rg_arena *ar;
	char err[160];
} rg_lexer;

void rg_lex_init(rg_lexer *lx, rg_arena *ar, const char *src, size_t len);
/* returns TK_ERROR with lx->err set on malformed input */
int rg_lex_next(rg_lexer *lx, rg_tok *t);

/* ---- AST ---- */
enum term_kind {
	T_CONST, /* val */
	T_VAR,
	T_REF,
	T_ARRAY,
	T_SET,
	T_OBJECT,
	T_ACOMP,
	T_SCOMP,
	T_OCOMP,
	T_CALL,
	T_BINOP,
	T_NEG,    /* unary minus of a non-literal */
	T_MEMBER, /* [k,] v in coll  */
	T_NOTUSED
};

enum binop {
	OP_OR,
	OP_AND, /* set | & */
	OP_EQ,
	OP_NE,
	OP_LT,
	OP_LE,
	OP_GT,
	OP_GE,
	OP_ADD,
	OP_SUB,
	OP_MUL,
	OP_DIV,
	OP_MOD,
	OP_ASSIGN,
	OP_UNIFY
};

typedef struct rg_term rg_term;
typedef struct rg_lit rg_lit;
typedef struct rg_body rg_body;
typedef struct rg_node rg_node;
typedef struct rg_builtin rg_builtin;

struct rg_body {
	rg_lit **lits;
	size_t n;
};

/* variable kinds after resolution */
enum var_res {
	VR_LOCAL,  /* slot */
	VR_WILD,   /* `_`: matches anything, never bound */
	VR_INPUT,  /* input document */
	VR_DATA,   /* data root */
	VR_GLOBAL, /* a data path: gpath/gn (absolute, from data root) */
	VR_UNRESOLVED
};

struct rg_term {
	uint8_t k;
	uint8_t op;     /* T_BINOP */
	uint8_t vres;   /* T_VAR */
	uint8_t ground; /* no local variables at all (constant-foldable) */
	int line, col;
	union {
		rv *val; /* T_CONST */
		struct {
			const char *name;
			int slot;
			const char **gpath; /* VR_GLOBAL */
			size_t gn;
		} var;
		struct {
			rg_term *head;
			rg_term **path; /* T_CONST strings for .x; any term for [x] */
			size_t n;
		} ref;
		struct {
			rg_term **items;
			size_t n;
		} coll; /* T_ARRAY/T_SET */
		struct {
			rg_term **keys, **vals;
			size_t n;
		} obj;
		struct {
			rg_term *key; /* OCOMP */
			rg_term *head;
			rg_body body;
			int slot_lo, slot_hi; /* slots declared inside */
		} comp;
		struct {
			const char *name; /* dotted */
			rg_term **args;
			size_t n;
			const rg_builtin *bi;
			rg_node *fn;    /* user function node */
			rg_term *fnvar; /* call of a dynamic ref (unsupported: error) */
		} call;
		struct {
			rg_term *a, *b;
		} bin;
		struct {
			rg_term *a;
		} neg;
		struct {
			rg_term *key; /* NULL for `v in c` */
			rg_term *val;
			rg_term *coll;
		} mem;
	} u;
};

enum lit_kind { L_EXPR, L_SOME, L_SOMEIN, L_EVERY };

typedef struct rg_with {
	rg_term *target; /* ref or var as parsed */
	rg_term *value;
	/* resolved */
	int kind; /* 0 input path, 1 data path, 2 function replacement */
	const char **path;
	size_t n;
	const rg_builtin *bi;
	rg_node *fn;
	rg_term *repl;             /* function replacement term (ref/var to builtin/func) */
	const rg_builtin *repl_bi; /* replacement is a named function */
	rg_node *repl_fn;
} rg_with;

struct rg_lit {
	uint8_t kind;
	bool neg;
	int line, col;
	rg_term *expr; /* L_EXPR */
	/* L_SOMEIN / L_EVERY */
	rg_term *key, *val, *coll;
	rg_body body;         /* L_EVERY */
	int slot_lo, slot_hi; /* L_EVERY: slots declared inside */
	/* L_SOME: declared vars only, nothing to evaluate */
	rg_with *withs;
	size_t nwith;
};

enum rule_kind { R_COMPLETE, R_SET, R_OBJ, R_FUNC };

typedef struct rg_rule rg_rule;
struct rg_rule {
	uint8_t kind;
	bool is_default;
	bool assign; /* := */
	int line, col;
	const char *file;
	rg_term **hpath; /* the head as parsed: name, then .x / [t] components */
	size_t nh;
	bool has_value; /* head had = / := value */
	bool contains;  /* `contains` (multi-value) */
	bool has_body;  /* written with a body (possibly empty) */
	bool set_leaf;  /* p[x][y] contains v: a partial object of sets */
	rg_term **dyn;  /* dynamic head path components after the static prefix */
	size_t ndyn;
	rg_term *value; /* NULL -> true */
	rg_term *key;   /* R_SET element */
	rg_term **args; /* R_FUNC */
	size_t nargs;
	rg_body body; /* empty body -> always */
	rg_rule *els; /* else chain */
	int nslots;
	struct rg_module *mod;
	rg_node *node;
};

struct rg_node {
	const char *name;
	rg_node *parent;
	rg_node **kids; /* sorted by name */
	size_t nkids, capkids;
	rg_rule **rules;
	size_t nrules, caprules;
	rg_rule *deflt;
	int id;
	uint8_t kind; /* rule kind at this node, valid when nrules or deflt */
	bool has_rules_below;
	size_t arity; /* functions */
};

typedef struct rg_import {
	const char **path; /* absolute from root: "data", ... or "input", ... */
	size_t n;
	const char *alias;
} rg_import;

typedef struct rg_module {
	const char *file;
	const char **pkg;
	size_t npkg;
	rg_import *imports;
	size_t nimports;
	bool v1;
	bool kw_in, kw_every, kw_if, kw_contains;
	bool saw_v1, saw_future;
	rg_rule **rules;
	size_t nrules;
} rg_module;

/* compiled policy */
struct coffer_rego_policy {
	rg_arena ar;
	rg_module **mods;
	size_t nmods;
	rg_node *root;
	int nnodes;
};

struct coffer_rego_query {
	rg_arena ar;
	const coffer_rego_policy *pol;
	rg_body body;
	int nslots;
	const char **varnames; /* slot -> name (NULL for internal) */
	rg_module *mod;
};

/* ---- parser ---- */
typedef struct rg_perr {
	int line, col;
	char msg[200];
	char code[32];
} rg_perr;

/* parse one module into the arena */
int rg_parse_module(rg_module **out, rg_arena *ar, const char *file, const char *src, size_t len,
                    rg_perr *err);
/* parse a query body */
int rg_parse_query(rg_body *out, rg_arena *ar, const char *src, size_t len, rg_perr *err);

/* ---- compile ---- */
int rg_compile(coffer_rego_policy *p, rg_perr *err, const char **errfile);
int rg_compile_query(coffer_rego_query *q, rg_perr *err);
const rg_builtin *rg_builtin_find(const char *name);

/* ---- evaluation ---- */
typedef struct rg_ctx rg_ctx;

enum { RG_OK = 0, RG_STOP = 1 };
/* negative: errors */
enum { RG_EERR = -1 };

struct rg_builtin {
	const char *name;
	int arity; /* -1: variadic (not used) */
	int (*fn)(rg_ctx *c, rv **args, rv **out);
	bool nondet;
	bool multi; /* a relation: *out is an array of all its results */
};

/* raise an evaluation error: returns RG_EERR */
int rg_error(rg_ctx *c, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* builtin error: strict -> error; lenient -> undefined (returns 0, *out NULL) */
int rg_bierr(rg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
rg_arena *rg_ctx_arena(rg_ctx *c);
int64_t rg_ctx_now(rg_ctx *c);
int rg_ctx_step(rg_ctx *c, uint64_t n);
int rg_oom(rg_ctx *c);

#define RG_TRY_ALLOC(c, p)                \
	do {                              \
		if ((p) == NULL)          \
			return rg_oom(c); \
	} while (0)

#endif
