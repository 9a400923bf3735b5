/* The TOML value tree: storage, typed accessors, JSON conversions. */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "coffer/toml.h"
#include "toml/toml_internal.h"

coffer_toml_value *toml_value_new(coffer_toml_type type, unsigned depth)
{
	coffer_toml_value *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return NULL;
	v->type = type;
	v->depth = depth;
	return v;
}

/* Recursion is bounded by the parser's depth limit. */
void toml_value_free(coffer_toml_value *v)
{
	if (v == NULL)
		return;
	switch (v->type) {
	case COFFER_TOML_ARRAY:
		for (size_t i = 0; i < v->u.a.len; i++)
			toml_value_free(v->u.a.items[i]);
		free(v->u.a.items);
		break;
	case COFFER_TOML_TABLE:
		for (size_t i = 0; i < v->u.t.len; i++) {
			free(v->u.t.kv[i].key);
			toml_value_free(v->u.t.kv[i].val);
		}
		free(v->u.t.kv);
		free(v->u.t.index);
		break;
	case COFFER_TOML_STRING:
	case COFFER_TOML_DATETIME:
	case COFFER_TOML_DATETIME_LOCAL:
	case COFFER_TOML_DATE_LOCAL:
	case COFFER_TOML_TIME_LOCAL:
		free(v->u.s.ptr);
		break;
	default:
		break;
	}
	free(v);
}

void coffer_toml_free(coffer_toml *doc)
{
	if (doc == NULL)
		return;
	toml_value_free(doc->root);
	free(doc);
}

void toml_key_for_msg(char *out, size_t outsz, const char *s, size_t len)
{
	size_t o = 0, i = 0;

	if (outsz == 0)
		return;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
		if (c < 0x20 || c == 0x7F || c == '\'' || c == '\\') {
			if (o + 4 >= outsz)
				break;
			o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", c);
			i++;
			continue;
		}
		/* whole characters only (the tree holds valid UTF-8) */
		if (n > len - i || o + n >= outsz)
			break;
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
}

/* ------------------------------------------------------------------ tables */

/* Tables below this size are searched linearly; larger ones get a hash
 * index so that a hostile document cannot make insertion quadratic. */
#define INDEX_MIN 16

/*
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012) under a per-process random key: keys come from untrusted documents
 * (init-data sent by a guest), so the index must not be floodable with
 * precomputed collisions.
 */
#define ROTL64(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                     \
	do {                         \
		v0 += v1;            \
		v1 = ROTL64(v1, 13); \
		v1 ^= v0;            \
		v0 = ROTL64(v0, 32); \
		v2 += v3;            \
		v3 = ROTL64(v3, 16); \
		v3 ^= v2;            \
		v0 += v3;            \
		v3 = ROTL64(v3, 21); \
		v3 ^= v0;            \
		v2 += v1;            \
		v1 = ROTL64(v1, 17); \
		v1 ^= v2;            \
		v2 = ROTL64(v2, 32); \
	} while (0)

uint64_t toml_siphash24(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t k0 = 0, k1 = 0, b = (uint64_t)len << 56;
	uint64_t v0, v1, v2, v3;
	size_t i;

	for (int j = 7; j >= 0; j--) {
		k0 = (k0 << 8) | key[j];
		k1 = (k1 << 8) | key[8 + j];
	}
	v0 = UINT64_C(0x736f6d6570736575) ^ k0;
	v1 = UINT64_C(0x646f72616e646f6d) ^ k1;
	v2 = UINT64_C(0x6c7967656e657261) ^ k0;
	v3 = UINT64_C(0x7465646279746573) ^ k1;
	for (i = 0; len - i >= 8; i += 8) {
		uint64_t m = 0;
		for (int j = 7; j >= 0; j--)
			m = (m << 8) | in[i + (size_t)j];
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint8_t hash_key[16];
static pthread_once_t hash_key_once = PTHREAD_ONCE_INIT;

static void hash_key_init(void)
{
	/* on failure the key stays all-zero: still correct, only predictable */
	if (RAND_bytes(hash_key, sizeof(hash_key)) != 1)
		memset(hash_key, 0, sizeof(hash_key));
}

static size_t key_hash(const char *s, size_t len)
{
	return (size_t)toml_siphash24(hash_key, s, len);
}

static void index_put(size_t *index, size_t cap, const struct toml_kv *kv, size_t pos)
{
	size_t i = key_hash(kv->key, kv->keylen) & (cap - 1);

	while (index[i] != 0)
		i = (i + 1) & (cap - 1);
	index[i] = pos + 1;
}

static int index_rebuild(coffer_toml_value *t, size_t want)
{
	size_t cap = 32;
	size_t *index;

	while (cap < want * 2) {
		if (cap > SIZE_MAX / 4 / sizeof(size_t))
			return coffer_error_set(COFFER_ELIMIT, "toml: table too large");
		cap *= 2;
	}
	pthread_once(&hash_key_once, hash_key_init);
	index = calloc(cap, sizeof(*index));
	if (index == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	for (size_t i = 0; i < t->u.t.len; i++)
		index_put(index, cap, &t->u.t.kv[i], i);
	free(t->u.t.index);
	t->u.t.index = index;
	t->u.t.index_cap = cap;
	return 0;
}

coffer_toml_value *toml_table_find(const coffer_toml_value *t, const char *key, size_t keylen)
{
	if (t == NULL || t->type != COFFER_TOML_TABLE)
		return NULL;
	if (t->u.t.index != NULL) {
		size_t cap = t->u.t.index_cap;
		size_t i = key_hash(key, keylen) & (cap - 1);
		while (t->u.t.index[i] != 0) {
			const struct toml_kv *kv = &t->u.t.kv[t->u.t.index[i] - 1];
			if (kv->keylen == keylen && memcmp(kv->key, key, keylen) == 0)
				return kv->val;
			i = (i + 1) & (cap - 1);
		}
		return NULL;
	}
	for (size_t i = 0; i < t->u.t.len; i++) {
		const struct toml_kv *kv = &t->u.t.kv[i];
		if (kv->keylen == keylen && memcmp(kv->key, key, keylen) == 0)
			return kv->val;
	}
	return NULL;
}

int toml_table_insert(coffer_toml_value *t, char *key, size_t keylen, coffer_toml_value *val)
{
	int error;

	if (t->u.t.len == t->u.t.cap) {
		size_t cap = t->u.t.cap ? t->u.t.cap * 2 : 4;
		struct toml_kv *kv;
		if (cap > SIZE_MAX / sizeof(*kv))
			return coffer_error_set(COFFER_ELIMIT, "toml: table too large");
		kv = realloc(t->u.t.kv, cap * sizeof(*kv));
		if (kv == NULL)
			return coffer_error_set(COFFER_ENOMEM, "out of memory");
		t->u.t.kv = kv;
		t->u.t.cap = cap;
	}
	t->u.t.kv[t->u.t.len].key = key;
	t->u.t.kv[t->u.t.len].keylen = keylen;
	t->u.t.kv[t->u.t.len].val = val;
	t->u.t.len++;
	if (t->u.t.index != NULL && t->u.t.len * 2 <= t->u.t.index_cap) {
		index_put(t->u.t.index, t->u.t.index_cap, &t->u.t.kv[t->u.t.len - 1],
		          t->u.t.len - 1);
	} else if (t->u.t.len >= INDEX_MIN && (error = index_rebuild(t, t->u.t.len * 2)) < 0) {
		t->u.t.len--; /* ownership stays with the caller */
		return error;
	}
	return 0;
}

int toml_array_push(coffer_toml_value *a, coffer_toml_value *val)
{
	if (a->u.a.len == a->u.a.cap) {
		size_t cap = a->u.a.cap ? a->u.a.cap * 2 : 4;
		coffer_toml_value **items;
		if (cap > SIZE_MAX / sizeof(*items))
			return coffer_error_set(COFFER_ELIMIT, "toml: array too large");
		items = realloc(a->u.a.items, cap * sizeof(*items));
		if (items == NULL)
			return coffer_error_set(COFFER_ENOMEM, "out of memory");
		a->u.a.items = items;
		a->u.a.cap = cap;
	}
	a->u.a.items[a->u.a.len++] = val;
	return 0;
}

/* ------------------------------------------------------------------ accessors */

const coffer_toml_value *coffer_toml_root(const coffer_toml *doc)
{
	return doc ? doc->root : NULL;
}

coffer_toml_type coffer_toml_type_of(const coffer_toml_value *v)
{
	return v ? v->type : (coffer_toml_type)0;
}

const char *coffer_toml_type_name(coffer_toml_type t)
{
	switch (t) {
	case COFFER_TOML_STRING:
		return "string";
	case COFFER_TOML_INTEGER:
		return "integer";
	case COFFER_TOML_FLOAT:
		return "float";
	case COFFER_TOML_BOOL:
		return "bool";
	case COFFER_TOML_DATETIME:
		return "datetime";
	case COFFER_TOML_DATETIME_LOCAL:
		return "datetime-local";
	case COFFER_TOML_DATE_LOCAL:
		return "date-local";
	case COFFER_TOML_TIME_LOCAL:
		return "time-local";
	case COFFER_TOML_ARRAY:
		return "array";
	case COFFER_TOML_TABLE:
		return "table";
	}
	return "none";
}

static bool is_datetime(coffer_toml_type t)
{
	return t == COFFER_TOML_DATETIME || t == COFFER_TOML_DATETIME_LOCAL ||
	       t == COFFER_TOML_DATE_LOCAL || t == COFFER_TOML_TIME_LOCAL;
}

const char *coffer_toml_string(const coffer_toml_value *v, size_t *len)
{
	if (v == NULL || v->type != COFFER_TOML_STRING) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = v->u.s.len;
	return v->u.s.ptr;
}

int64_t coffer_toml_int(const coffer_toml_value *v)
{
	return v && v->type == COFFER_TOML_INTEGER ? v->u.i : 0;
}

double coffer_toml_float(const coffer_toml_value *v)
{
	return v && v->type == COFFER_TOML_FLOAT ? v->u.f : 0.0;
}

bool coffer_toml_bool(const coffer_toml_value *v)
{
	return v && v->type == COFFER_TOML_BOOL ? v->u.b : false;
}

const char *coffer_toml_datetime_text(const coffer_toml_value *v)
{
	return v && is_datetime(v->type) ? v->u.s.ptr : NULL;
}

size_t coffer_toml_array_size(const coffer_toml_value *v)
{
	return v && v->type == COFFER_TOML_ARRAY ? v->u.a.len : 0;
}

const coffer_toml_value *coffer_toml_array_at(const coffer_toml_value *v, size_t i)
{
	return v && v->type == COFFER_TOML_ARRAY && i < v->u.a.len ? v->u.a.items[i] : NULL;
}

size_t coffer_toml_table_size(const coffer_toml_value *t)
{
	return t && t->type == COFFER_TOML_TABLE ? t->u.t.len : 0;
}

const char *coffer_toml_table_key_at(const coffer_toml_value *t, size_t i, size_t *keylen)
{
	if (t == NULL || t->type != COFFER_TOML_TABLE || i >= t->u.t.len) {
		if (keylen)
			*keylen = 0;
		return NULL;
	}
	if (keylen)
		*keylen = t->u.t.kv[i].keylen;
	return t->u.t.kv[i].key;
}

const coffer_toml_value *coffer_toml_table_value_at(const coffer_toml_value *t, size_t i)
{
	return t && t->type == COFFER_TOML_TABLE && i < t->u.t.len ? t->u.t.kv[i].val : NULL;
}

const coffer_toml_value *coffer_toml_table_get(const coffer_toml_value *t, const char *key)
{
	if (key == NULL)
		return NULL;
	return toml_table_find(t, key, strlen(key));
}

int coffer_toml_get(const coffer_toml_value **out, const coffer_toml_value *t, const char *path)
{
	struct toml_key_part *parts = NULL;
	const coffer_toml_value *node = t;
	size_t n = 0;
	int error;

	*out = NULL;
	if (t == NULL || path == NULL)
		return coffer_error_set(COFFER_EINVAL, "toml: invalid argument");
	if ((error = toml_parse_key_path(&parts, &n, path)) < 0)
		return error;
	for (size_t i = 0; i < n; i++) {
		if (node->type != COFFER_TOML_TABLE) {
			error = coffer_error_set(COFFER_EINVAL,
			                         "'%.64s': %s found where a table "
			                         "was expected",
			                         path, coffer_toml_type_name(node->type));
			goto out;
		}
		node = toml_table_find(node, parts[i].s, parts[i].len);
		if (node == NULL) {
			error = coffer_error_set(COFFER_ENOTFOUND, "'%.64s': no such key", path);
			goto out;
		}
	}
	*out = node;
	error = 0;
out:
	toml_key_parts_free(parts, n);
	return error;
}

static int get_typed(const coffer_toml_value **out, const coffer_toml_value *t, const char *path,
                     coffer_toml_type want)
{
	int error = coffer_toml_get(out, t, path);

	if (error < 0)
		return error;
	if ((*out)->type != want) {
		error = coffer_error_set(COFFER_EINVAL, "'%.64s': expected %s, found %s", path,
		                         coffer_toml_type_name(want),
		                         coffer_toml_type_name((*out)->type));
		*out = NULL;
	}
	return error;
}

int coffer_toml_get_table(const coffer_toml_value **out, const coffer_toml_value *t,
                          const char *path)
{
	return get_typed(out, t, path, COFFER_TOML_TABLE);
}

int coffer_toml_get_array(const coffer_toml_value **out, const coffer_toml_value *t,
                          const char *path)
{
	return get_typed(out, t, path, COFFER_TOML_ARRAY);
}

int coffer_toml_get_string(const char **out, const coffer_toml_value *t, const char *path)
{
	const coffer_toml_value *v;
	int error = get_typed(&v, t, path, COFFER_TOML_STRING);

	*out = NULL;
	if (error < 0)
		return error;
	if (memchr(v->u.s.ptr, '\0', v->u.s.len) != NULL)
		return coffer_error_set(COFFER_EINVAL, "'%.64s': string contains a NUL character",
		                        path);
	*out = v->u.s.ptr;
	return 0;
}

int coffer_toml_get_int(int64_t *out, const coffer_toml_value *t, const char *path)
{
	const coffer_toml_value *v;
	int error = get_typed(&v, t, path, COFFER_TOML_INTEGER);

	if (error == 0)
		*out = v->u.i;
	return error;
}

int coffer_toml_get_float(double *out, const coffer_toml_value *t, const char *path)
{
	const coffer_toml_value *v;
	int error = get_typed(&v, t, path, COFFER_TOML_FLOAT);

	if (error == 0)
		*out = v->u.f;
	return error;
}

int coffer_toml_get_bool(bool *out, const coffer_toml_value *t, const char *path)
{
	const coffer_toml_value *v;
	int error = get_typed(&v, t, path, COFFER_TOML_BOOL);

	if (error == 0)
		*out = v->u.b;
	return error;
}

int coffer_toml_check_keys(const coffer_toml_value *t, const char *const *allowed, size_t n)
{
	if (t == NULL || t->type != COFFER_TOML_TABLE)
		return coffer_error_set(COFFER_EINVAL, "toml: not a table");
	for (size_t i = 0; i < t->u.t.len; i++) {
		const struct toml_kv *kv = &t->u.t.kv[i];
		bool ok = false;
		for (size_t j = 0; j < n && !ok; j++)
			ok = strlen(allowed[j]) == kv->keylen &&
			     memcmp(allowed[j], kv->key, kv->keylen) == 0;
		if (!ok) {
			char name[64];
			toml_key_for_msg(name, sizeof(name), kv->key, kv->keylen);
			return coffer_error_set(COFFER_EINVAL, "unknown key '%s'", name);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ JSON */

static json_t *tagged(const char *type, const char *value, size_t len)
{
	json_t *o = json_object(), *s = json_stringn(value, len);

	if (o == NULL || s == NULL || json_object_set_new(o, "value", s) < 0 ||
	    json_object_set_new(o, "type", json_string(type)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int to_json(json_t **out, const coffer_toml_value *v, bool tag)
{
	json_t *j = NULL;
	char num[64];
	int error;

	*out = NULL;
	switch (v->type) {
	case COFFER_TOML_TABLE:
		j = json_object();
		if (j == NULL)
			goto nomem;
		for (size_t i = 0; i < v->u.t.len; i++) {
			json_t *c = NULL;
			if ((error = to_json(&c, v->u.t.kv[i].val, tag)) < 0) {
				json_decref(j);
				return error;
			}
			if (json_object_setn_new(j, v->u.t.kv[i].key, v->u.t.kv[i].keylen, c) < 0) {
				json_decref(j);
				goto nomem;
			}
		}
		break;
	case COFFER_TOML_ARRAY:
		j = json_array();
		if (j == NULL)
			goto nomem;
		for (size_t i = 0; i < v->u.a.len; i++) {
			json_t *c = NULL;
			if ((error = to_json(&c, v->u.a.items[i], tag)) < 0) {
				json_decref(j);
				return error;
			}
			if (json_array_append_new(j, c) < 0) {
				json_decref(j);
				goto nomem;
			}
		}
		break;
	case COFFER_TOML_STRING:
		j = tag ? tagged("string", v->u.s.ptr, v->u.s.len)
		        : json_stringn(v->u.s.ptr, v->u.s.len);
		break;
	case COFFER_TOML_INTEGER:
		snprintf(num, sizeof(num), "%" PRId64, v->u.i);
		j = tag ? tagged("integer", num, strlen(num)) : json_integer(v->u.i);
		break;
	case COFFER_TOML_FLOAT:
		if (tag) {
			if (isnan(v->u.f))
				snprintf(num, sizeof(num), "nan");
			else if (isinf(v->u.f))
				snprintf(num, sizeof(num), "%s", v->u.f < 0 ? "-inf" : "inf");
			else
				snprintf(num, sizeof(num), "%.17g", v->u.f);
			j = tagged("float", num, strlen(num));
		} else {
			if (!isfinite(v->u.f))
				return coffer_error_set(COFFER_EINVAL,
				                        "toml: inf and nan have no JSON form");
			j = json_real(v->u.f);
		}
		break;
	case COFFER_TOML_BOOL:
		j = tag ? tagged("bool", v->u.b ? "true" : "false", v->u.b ? 4 : 5)
		        : json_boolean(v->u.b);
		break;
	case COFFER_TOML_DATETIME:
	case COFFER_TOML_DATETIME_LOCAL:
	case COFFER_TOML_DATE_LOCAL:
	case COFFER_TOML_TIME_LOCAL:
		j = tag ? tagged(coffer_toml_type_name(v->type), v->u.s.ptr, v->u.s.len)
		        : json_stringn(v->u.s.ptr, v->u.s.len);
		break;
	}
	if (j == NULL)
		goto nomem;
	*out = j;
	return 0;
nomem:
	return coffer_error_set(COFFER_ENOMEM, "out of memory");
}

int coffer_toml_to_json(json_t **out, const coffer_toml_value *v)
{
	if (out == NULL || v == NULL)
		return coffer_error_set(COFFER_EINVAL, "toml: invalid argument");
	return to_json(out, v, false);
}

int coffer_toml_to_tagged_json(json_t **out, const coffer_toml_value *v)
{
	if (out == NULL || v == NULL)
		return coffer_error_set(COFFER_EINVAL, "toml: invalid argument");
	return to_json(out, v, true);
}
