/* Rego values: immutable, allocated in a per-evaluation (or per-policy)
 * arena; sets and objects are kept sorted in Rego's total order so lookups
 * are binary searches and equality is a linear walk. JSON from the caller is
 * wrapped lazily: a container is converted one level at a time, when first
 * looked into, so a policy that reads two claims of a large token pays for
 * two claims. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rego/rego_int.h"

#define CHUNK_SIZE ((size_t)32 * 1024)

struct rg_chunk {
	rg_chunk *next;
	size_t size, used;
	max_align_t data[];
};

void rg_arena_init(rg_arena *a, size_t limit)
{
	a->head = NULL;
	a->used = 0;
	a->limit = limit;
	a->failed = false;
}

/* Each thread keeps one standard chunk between evaluations, so a short
 * evaluation does not pay malloc/free of 32 KiB every time. The key's
 * destructor frees it when the thread ends. */
static pthread_key_t chunk_key;
static pthread_once_t chunk_once = PTHREAD_ONCE_INIT;
static bool chunk_key_ok;

static void chunk_key_init(void)
{
	chunk_key_ok = pthread_key_create(&chunk_key, free) == 0;
}

static rg_chunk *chunk_take(void)
{
	pthread_once(&chunk_once, chunk_key_init);
	if (!chunk_key_ok)
		return NULL;
	rg_chunk *c = pthread_getspecific(chunk_key);
	if (c)
		pthread_setspecific(chunk_key, NULL);
	return c;
}

static bool chunk_keep(rg_chunk *c)
{
	pthread_once(&chunk_once, chunk_key_init);
	if (!chunk_key_ok || pthread_getspecific(chunk_key) != NULL)
		return false;
	return pthread_setspecific(chunk_key, c) == 0;
}

void rg_arena_free(rg_arena *a)
{
	rg_chunk *c = a->head;

	while (c != NULL) {
		rg_chunk *n = c->next;
		if (!(c->size == CHUNK_SIZE && chunk_keep(c)))
			free(c);
		c = n;
	}
	a->head = NULL;
	a->used = 0;
}

void *rg_alloc(rg_arena *a, size_t n)
{
	rg_chunk *c = a->head;
	size_t need = (n + 15) & ~(size_t)15;
	void *p;

	if (n > ((size_t)1 << 40)) {
		a->failed = true;
		return NULL;
	}
	if (c == NULL || c->size - c->used < need) {
		size_t sz = need > CHUNK_SIZE / 2 ? need : CHUNK_SIZE;
		if (a->limit != 0 && a->used + sz + sizeof(rg_chunk) > a->limit) {
			a->failed = true;
			return NULL;
		}
		c = sz == CHUNK_SIZE ? chunk_take() : NULL;
		if (c == NULL)
			c = malloc(sizeof(rg_chunk) + sz);
		if (c == NULL) {
			a->failed = true;
			return NULL;
		}
		c->size = sz;
		c->used = 0;
		a->used += sz + sizeof(rg_chunk);
		if (need > CHUNK_SIZE / 2 && a->head != NULL) {
			/* big block: keep the current chunk for small allocations */
			c->next = a->head->next;
			a->head->next = c;
			c->used = need;
			p = (char *)c->data;
			memset(p, 0, n);
			return p;
		}
		c->next = a->head;
		a->head = c;
	}
	p = (char *)c->data + c->used;
	c->used += need;
	memset(p, 0, n);
	return p;
}

char *rg_strndup(rg_arena *a, const char *s, size_t n)
{
	char *p = rg_alloc(a, n + 1);

	if (p == NULL)
		return NULL;
	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

rv rv_null_v = { .kind = RV_NULL };
rv rv_true_v = { .kind = RV_BOOL, .u.b = true };
rv rv_false_v = { .kind = RV_BOOL, .u.b = false };
rv rv_empty_str_v = { .kind = RV_STR, .u.s = { "", 0 } };

rv *rv_bool(bool b)
{
	return b ? RV_TRUE : RV_FALSE;
}

rv *rv_int(rg_arena *a, int64_t i)
{
	rv *v = rg_alloc(a, sizeof(*v));

	if (v == NULL)
		return NULL;
	v->kind = RV_NUM;
	v->isint = 1;
	v->u.n.i = i;
	v->u.n.d = (double)i;
	return v;
}

rv *rv_double(rg_arena *a, double d)
{
	rv *v;

	if (d == floor(d) && d >= -9007199254740992.0 && d <= 9007199254740992.0)
		return rv_int(a, (int64_t)d);
	v = rg_alloc(a, sizeof(*v));
	if (v == NULL)
		return NULL;
	v->kind = RV_NUM;
	v->u.n.d = d;
	return v;
}

rv *rv_str(rg_arena *a, const char *s, size_t len)
{
	rv *v = rg_alloc(a, sizeof(*v));

	if (v == NULL)
		return NULL;
	v->kind = RV_STR;
	v->u.s.s = s;
	v->u.s.len = len;
	return v;
}

rv *rv_str_copy(rg_arena *a, const char *s, size_t len)
{
	char *p = rg_strndup(a, s, len);

	return p == NULL ? NULL : rv_str(a, p, len);
}

rv *rv_cstr(rg_arena *a, const char *s)
{
	return rv_str(a, s, strlen(s));
}

rv *rv_arr(rg_arena *a, rv **items, size_t n)
{
	rv *v = rg_alloc(a, sizeof(*v));

	if (v == NULL)
		return NULL;
	v->kind = RV_ARR;
	v->u.a.items = items;
	v->u.a.n = n;
	return v;
}

static int cmp_rvp(const void *x, const void *y)
{
	return rv_cmp(*(rv *const *)x, *(rv *const *)y);
}

rv *rv_set(rg_arena *a, rv **items, size_t n)
{
	rv *v = rg_alloc(a, sizeof(*v));
	size_t j = 0;

	if (v == NULL)
		return NULL;
	if (n > 1) {
		qsort(items, n, sizeof(rv *), cmp_rvp);
		for (size_t i = 0; i < n; i++)
			if (j == 0 || rv_cmp(items[j - 1], items[i]) != 0)
				items[j++] = items[i];
		n = j;
	}
	v->kind = RV_SET;
	v->u.a.items = items;
	v->u.a.n = n;
	return v;
}

typedef struct {
	rv *k, *v;
} kvp;

static int cmp_kvp(const void *x, const void *y)
{
	return rv_cmp(((const kvp *)x)->k, ((const kvp *)y)->k);
}

rv *rv_obj(rg_arena *a, rv **keys, rv **vals, size_t n, int *conflict)
{
	rv *v = rg_alloc(a, sizeof(*v));
	size_t j = 0;

	if (conflict != NULL)
		*conflict = 0;
	if (v == NULL)
		return NULL;
	if (n > 1) {
		bool sorted = true;
		for (size_t i = 1; i < n && sorted; i++)
			if (rv_cmp(keys[i - 1], keys[i]) >= 0)
				sorted = false;
		if (!sorted) {
			kvp *tmp = rg_alloc(a, n * sizeof(kvp));
			if (tmp == NULL)
				return NULL;
			for (size_t i = 0; i < n; i++) {
				tmp[i].k = keys[i];
				tmp[i].v = vals[i];
			}
			qsort(tmp, n, sizeof(kvp), cmp_kvp);
			for (size_t i = 0; i < n; i++) {
				if (j > 0 && rv_cmp(keys[j - 1], tmp[i].k) == 0) {
					if (!rv_eq(vals[j - 1], tmp[i].v) && conflict != NULL)
						*conflict = 1;
					continue;
				}
				keys[j] = tmp[i].k;
				vals[j] = tmp[i].v;
				j++;
			}
			n = j;
		}
	}
	v->kind = RV_OBJ;
	v->u.o.keys = keys;
	v->u.o.vals = vals;
	v->u.o.n = n;
	return v;
}

rv *rv_from_json(rg_arena *a, json_t *j)
{
	rv *v;

	switch (json_typeof(j)) {
	case JSON_NULL:
		return RV_NULLV;
	case JSON_TRUE:
		return RV_TRUE;
	case JSON_FALSE:
		return RV_FALSE;
	case JSON_INTEGER:
		return rv_int(a, (int64_t)json_integer_value(j));
	case JSON_REAL:
		return rv_double(a, json_real_value(j));
	case JSON_STRING:
		return rv_str(a, json_string_value(j), json_string_length(j));
	case JSON_ARRAY:
		v = rg_alloc(a, sizeof(*v));
		if (v == NULL)
			return NULL;
		v->kind = RV_ARR;
		v->u.a.lazy = j;
		v->u.a.ar = a;
		v->u.a.n = json_array_size(j);
		return v;
	case JSON_OBJECT:
		v = rg_alloc(a, sizeof(*v));
		if (v == NULL)
			return NULL;
		v->kind = RV_OBJ;
		v->u.o.lazy = j;
		v->u.o.ar = a;
		v->u.o.n = json_object_size(j);
		return v;
	}
	return NULL;
}

int rv_force(rv *v)
{
	rg_arena *a;
	size_t n, i = 0;

	if (v->kind == RV_ARR && v->u.a.lazy != NULL) {
		json_t *j = v->u.a.lazy;
		a = v->u.a.ar;
		n = json_array_size(j);
		rv **items = rg_alloc(a, (n ? n : 1) * sizeof(rv *));
		if (items == NULL)
			return -1;
		for (i = 0; i < n; i++) {
			items[i] = rv_from_json(a, json_array_get(j, i));
			if (items[i] == NULL)
				return -1;
		}
		v->u.a.items = items;
		v->u.a.n = n;
		v->u.a.lazy = NULL;
	} else if (v->kind == RV_OBJ && v->u.o.lazy != NULL) {
		json_t *j = v->u.o.lazy, *val;
		const char *key;
		size_t klen;
		a = v->u.o.ar;
		n = json_object_size(j);
		rv **keys = rg_alloc(a, (n ? n : 1) * sizeof(rv *));
		rv **vals = rg_alloc(a, (n ? n : 1) * sizeof(rv *));
		if (keys == NULL || vals == NULL)
			return -1;
		json_object_keylen_foreach(j, key, klen, val)
		{
			keys[i] = rv_str(a, key, klen);
			vals[i] = rv_from_json(a, val);
			if (keys[i] == NULL || vals[i] == NULL)
				return -1;
			i++;
		}
		v->u.o.lazy = NULL;
		rv *t = rv_obj(a, keys, vals, i, NULL);
		if (t == NULL)
			return -1;
		v->u.o.keys = t->u.o.keys;
		v->u.o.vals = t->u.o.vals;
		v->u.o.n = t->u.o.n;
	}
	return 0;
}

static int kind_rank(int k)
{
	/* null < boolean < number < string < array < set < object */
	switch (k) {
	case RV_NULL:
		return 0;
	case RV_BOOL:
		return 1;
	case RV_NUM:
		return 2;
	case RV_STR:
		return 3;
	case RV_ARR:
		return 4;
	case RV_SET:
		return 5;
	default:
		return 6;
	}
}

static int num_cmp(const rv *a, const rv *b)
{
	if (a->isint && b->isint)
		return a->u.n.i < b->u.n.i ? -1 : a->u.n.i > b->u.n.i;
	double x = a->isint ? (double)a->u.n.i : a->u.n.d;
	double y = b->isint ? (double)b->u.n.i : b->u.n.d;
	if (x < y)
		return -1;
	if (x > y)
		return 1;
	if (a->big && b->big && a->u.n.text && b->u.n.text) {
		size_t la = strlen(a->u.n.text), lb = strlen(b->u.n.text);
		if (la != lb)
			return la < lb ? -1 : 1;
		return strcmp(a->u.n.text, b->u.n.text);
	}
	return 0;
}

static int str_cmp(const rv *a, const rv *b)
{
	size_t n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
	int c = n ? memcmp(a->u.s.s, b->u.s.s, n) : 0;

	if (c != 0)
		return c < 0 ? -1 : 1;
	return a->u.s.len < b->u.s.len ? -1 : a->u.s.len > b->u.s.len;
}

int rv_cmp(const rv *a, const rv *b)
{
	int ra, rb, c;

	if (a == b)
		return 0;
	ra = kind_rank(a->kind);
	rb = kind_rank(b->kind);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	switch (a->kind) {
	case RV_NULL:
		return 0;
	case RV_BOOL:
		return (int)a->u.b - (int)b->u.b;
	case RV_NUM:
		return num_cmp(a, b);
	case RV_STR:
		return str_cmp(a, b);
	case RV_ARR:
	case RV_SET:
		if (rv_force((rv *)a) || rv_force((rv *)b))
			return 0;
		for (size_t i = 0; i < a->u.a.n && i < b->u.a.n; i++)
			if ((c = rv_cmp(a->u.a.items[i], b->u.a.items[i])) != 0)
				return c;
		return a->u.a.n < b->u.a.n ? -1 : a->u.a.n > b->u.a.n;
	default:
		if (rv_force((rv *)a) || rv_force((rv *)b))
			return 0;
		for (size_t i = 0; i < a->u.o.n && i < b->u.o.n; i++) {
			if ((c = rv_cmp(a->u.o.keys[i], b->u.o.keys[i])) != 0)
				return c;
			if ((c = rv_cmp(a->u.o.vals[i], b->u.o.vals[i])) != 0)
				return c;
		}
		return a->u.o.n < b->u.o.n ? -1 : a->u.o.n > b->u.o.n;
	}
}

bool rv_eq(const rv *a, const rv *b)
{
	if (a == b)
		return true;
	if (a->kind != b->kind)
		return false;
	if (a->kind == RV_STR)
		return a->u.s.len == b->u.s.len && memcmp(a->u.s.s, b->u.s.s, a->u.s.len) == 0;
	return rv_cmp(a, b) == 0;
}

double rv_num_d(const rv *v)
{
	return v->isint ? (double)v->u.n.i : v->u.n.d;
}

rv *rv_obj_getn(rv *obj, const char *key, size_t len)
{
	size_t lo = 0, hi;
	rv k = { .kind = RV_STR, .u.s = { key, len } };

	if (obj->kind != RV_OBJ)
		return NULL;
	if (obj->u.o.lazy != NULL) {
		json_t *c = json_object_getn(obj->u.o.lazy, key, len);
		return c == NULL ? NULL : rv_from_json(obj->u.o.ar, c);
	}
	hi = obj->u.o.n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = rv_cmp(obj->u.o.keys[mid], &k);
		if (c == 0)
			return obj->u.o.vals[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static rv *sorted_find(rv **items, size_t n, const rv *x, size_t *pos)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = rv_cmp(items[mid], x);
		if (c == 0) {
			if (pos)
				*pos = mid;
			return items[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

rv *rv_get(rv *coll, const rv *key)
{
	size_t pos;

	switch (coll->kind) {
	case RV_OBJ:
		if (key->kind == RV_STR)
			return rv_obj_getn(coll, key->u.s.s, key->u.s.len);
		if (rv_force(coll))
			return NULL;
		if (sorted_find(coll->u.o.keys, coll->u.o.n, key, &pos) == NULL)
			return NULL;
		return coll->u.o.vals[pos];
	case RV_ARR:
		if (key->kind != RV_NUM || !key->isint || key->u.n.i < 0)
			return NULL;
		if ((uint64_t)key->u.n.i >= coll->u.a.n)
			return NULL;
		if (coll->u.a.lazy != NULL)
			return rv_from_json(coll->u.a.ar,
			                    json_array_get(coll->u.a.lazy, (size_t)key->u.n.i));
		return coll->u.a.items[key->u.n.i];
	case RV_SET:
		return sorted_find(coll->u.a.items, coll->u.a.n, key, NULL);
	default:
		return NULL;
	}
}

bool rv_set_has(rv *set, const rv *v)
{
	return set->kind == RV_SET && sorted_find(set->u.a.items, set->u.a.n, v, NULL) != NULL;
}

size_t rv_len(rv *v)
{
	if (v->kind == RV_OBJ)
		return v->u.o.n;
	if (v->kind == RV_ARR || v->kind == RV_SET)
		return v->u.a.n;
	return 0;
}

const char *rv_type_name(const rv *v)
{
	static const char *names[] = { "null",  "boolean", "number", "string",
		                       "array", "set",     "object" };
	return names[v->kind];
}

bool rv_truthy(const rv *v)
{
	return !(v->kind == RV_BOOL && !v->u.b);
}

int rv_vec_push(rg_arena *a, rv_vec *vec, rv *x)
{
	if (vec->n == vec->cap) {
		size_t nc = vec->cap ? vec->cap * 2 : 8;
		rv **nv = rg_alloc(a, nc * sizeof(rv *));
		if (nv == NULL)
			return -1;
		if (vec->n)
			memcpy(nv, vec->v, vec->n * sizeof(rv *));
		vec->v = nv;
		vec->cap = nc;
	}
	vec->v[vec->n++] = x;
	return 0;
}

int rv_num_format(char *buf, size_t len, const rv *v)
{
	if (v->big && v->u.n.text != NULL)
		return snprintf(buf, len, "%s", v->u.n.text);
	if (v->isint)
		return snprintf(buf, len, "%lld", (long long)v->u.n.i);
	if (isnan(v->u.n.d) || isinf(v->u.n.d))
		return snprintf(buf, len, "null");
	for (int p = 1; p <= 17; p++) {
		int r = snprintf(buf, len, "%.*g", p, v->u.n.d);
		if (r < 0 || (size_t)r >= len)
			return r;
		if (strtod(buf, NULL) == v->u.n.d)
			return r;
	}
	return snprintf(buf, len, "%.17g", v->u.n.d);
}

json_t *rv_to_json(const rv *v)
{
	json_t *j = NULL;

	switch (v->kind) {
	case RV_NULL:
		return json_null();
	case RV_BOOL:
		return json_boolean(v->u.b);
	case RV_NUM:
		if (v->isint)
			return json_integer((json_int_t)v->u.n.i);
		if (isnan(v->u.n.d) || isinf(v->u.n.d))
			return json_null(); /* JSON has no infinities */
		return json_real(v->u.n.d);
	case RV_STR:
		return json_stringn(v->u.s.s, v->u.s.len);
	case RV_ARR:
		if (v->u.a.lazy != NULL)
			return json_deep_copy(v->u.a.lazy);
		__attribute__((fallthrough));
	case RV_SET:
		j = json_array();
		if (j == NULL)
			return NULL;
		for (size_t i = 0; i < v->u.a.n; i++) {
			json_t *c = rv_to_json(v->u.a.items[i]);
			if (c == NULL || json_array_append_new(j, c)) {
				json_decref(j);
				return NULL;
			}
		}
		return j;
	default:
		if (v->u.o.lazy != NULL)
			return json_deep_copy(v->u.o.lazy);
		j = json_object();
		if (j == NULL)
			return NULL;
		for (size_t i = 0; i < v->u.o.n; i++) {
			const rv *k = v->u.o.keys[i];
			json_t *c = rv_to_json(v->u.o.vals[i]);
			int r;
			if (c == NULL) {
				json_decref(j);
				return NULL;
			}
			if (k->kind == RV_STR) {
				r = json_object_setn_new(j, k->u.s.s, k->u.s.len, c);
			} else {
				/* non-string keys: serialized as their JSON text */
				json_t *kj = rv_to_json(k);
				char *ks =
				        kj ? json_dumps(kj, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
				json_decref(kj);
				r = ks ? json_object_set_new(j, ks, c) : -1;
				if (!ks)
					json_decref(c);
				free(ks);
			}
			if (r) {
				json_decref(j);
				return NULL;
			}
		}
		return j;
	}
}
