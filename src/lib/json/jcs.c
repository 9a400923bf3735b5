/*
 * Two serializers of a json_t that share one writer:
 *
 * - RFC 8785, JSON Canonicalization Scheme: no whitespace, object members
 *   sorted by the UTF-16 code units of their names (3.2.3), strings with the
 *   minimal escapes (3.2.2.2) and numbers as ECMAScript's Number.toString
 *   prints them (3.2.2.3, ECMA-262 7.1.12.1);
 * - coffer_json_dump: the bytes json_dumps(JSON_COMPACT | JSON_ENCODE_ANY)
 *   writes (members in insertion order, control characters as \u00XX in
 *   upper-case hex, reals formatted by jansson itself), several times
 *   faster: jansson decodes every string code point by code point and calls
 *   back for every piece. tests/unit/json_test.c compares the two.
 *
 * The output grows in blocks that are wiped when they are replaced or
 * dropped, as jansson's are under coffer's wiping allocator (alloc.c): the
 * JSON may hold a secret.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/buf.h"
#include "coffer/codec.h"
#include "coffer/json.h"

/* 2^53: beyond it not every integer is a double, so JavaScript would round. */
#define JCS_INT_MAX ((json_int_t)9007199254740992LL)

/* How deep coffer_json_dump goes: json_dumps has no limit of its own, only
 * a cycle check, and a dumped value may wrap parsed input (which is at most
 * COFFER_JSON_MAX_DEPTH deep) in a few levels of its own. */
#define DUMP_MAX_DEPTH 1024

/* ---- the output ---- */

/* Its bytes can be secret (a JWK with its private members, a sealed
 * record's plaintext): coffer_buf wipes every block it replaces or frees. */
struct out {
	coffer_buf b;
	bool jcs; /* RFC 8785; otherwise json_dumps' compact form */
};

static const char *out_what(const struct out *o)
{
	return o->jcs ? "JCS" : "JSON";
}

/* ---- UTF-8 ---- */

static int utf8_check(const char *s, size_t len)
{
	size_t i = 0;
	uint32_t cp;

	while (i < len) {
		/* ASCII, nearly everything here, without a call per byte */
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		if (coffer_utf8_next(&cp, (const unsigned char *)s, len, &i) < 0)
			return -1;
	}
	return 0;
}

/* The first UTF-16 code unit of a code point: a BMP character itself, or
 * the high surrogate of a supplementary one. */
static uint32_t utf16_first_unit(uint32_t cp)
{
	return cp < 0x10000 ? cp : 0xd800 + ((cp - 0x10000) >> 10);
}

/* Order of two valid UTF-8 strings by their UTF-16 code units (RFC 8785
 * 3.2.3). UTF-8 byte order is code point order, which differs from UTF-16
 * order only between U+E000..U+FFFF and the supplementary planes (whose
 * surrogates, 0xD800..0xDFFF, sort below 0xE000). */
static int utf16_compare(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i = 0, j = 0;

	while (i < alen && j < blen) {
		uint32_t ca = 0, cb = 0, ua, ub;

		/* both strings were checked by utf8_check before sorting */
		(void)coffer_utf8_next(&ca, (const unsigned char *)a, alen, &i);
		(void)coffer_utf8_next(&cb, (const unsigned char *)b, blen, &j);
		if (ca == cb)
			continue;
		ua = utf16_first_unit(ca);
		ub = utf16_first_unit(cb);
		if (ua != ub)
			return ua < ub ? -1 : 1;
		/* same high surrogate: the low surrogates follow code point order */
		return ca < cb ? -1 : 1;
	}
	if (i < alen)
		return 1;
	if (j < blen)
		return -1;
	return 0;
}

/* ---- strings ---- */

/* RFC 8785 3.2.2.2: only '"', '\\' and the C0 controls are escaped; the five
 * with a short form use it, the others \u00xx in lowercase hex (jansson's
 * compact form: the same, with upper-case hex). */
static int put_string(struct out *o, const char *s, size_t len)
{
	const char *hex = o->jcs ? "0123456789abcdef" : "0123456789ABCDEF";
	size_t run = 0;
	int error;

	if (utf8_check(s, len) < 0)
		return coffer_error_set(COFFER_EINVAL, "%s: string is not valid UTF-8",
		                        out_what(o));
	if ((error = coffer_buf_reserve(&o->b, len + 2)) < 0 ||
	    (error = coffer_buf_putc(&o->b, '"')) < 0)
		return error;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		esc[0] = '\\';
		switch (c) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			n = 6;
			break;
		}
		if ((error = coffer_buf_append(&o->b, s + run, i - run)) < 0 ||
		    (error = coffer_buf_append(&o->b, esc, n)) < 0)
			return error;
		run = i + 1;
	}
	if ((error = coffer_buf_append(&o->b, s + run, len - run)) < 0)
		return error;
	return coffer_buf_putc(&o->b, '"');
}

/* ---- numbers ---- */

/* Digits of x > 0 in `digits` (no trailing zeros) and n, the position of the
 * decimal point: x = 0.digits * 10^n. The fewest digits that read back as x,
 * and among those the closest to x (ECMA-262 7.1.12.1 step 5). */
static int shortest_digits(char digits[24], int *n_out, double x)
{
	uint64_t d = 0;
	int q = 0;

	for (int p = 0; p <= 16; p++) {
		char tmp[48];
		char *e;
		long exp10;
		uint64_t pow = 1;
		double y;

		/* the correctly rounded p+1 digit form: the closest one to x */
		if (snprintf(tmp, sizeof(tmp), "%.*e", p, x) >= (int)sizeof(tmp))
			return coffer_error_set(COFFER_ERROR, "JCS: number formatting failed");
		d = 0;
		for (e = tmp; *e != 'e'; e++)
			if (*e >= '0' && *e <= '9')
				d = d * 10 + (uint64_t)(*e - '0');
		errno = 0;
		exp10 = strtol(e + 1, NULL, 10);
		if (errno != 0 || exp10 < -400 || exp10 > 400)
			return coffer_error_set(COFFER_ERROR, "JCS: number formatting failed");
		q = (int)exp10 - p; /* x ~ d * 10^q */
		y = strtod(tmp, NULL);
		if (y == x)
			break;
		/*
		 * The closest form does not read back. Where x is a power of two its
		 * rounding interval is lopsided (half as wide below), so the next
		 * p+1 digit form on the other side of x may still read back.
		 */
		for (int i = 0; i < p; i++)
			pow *= 10;
		if (y > x) {
			if (d == pow) {
				/* 1.00..e(k) steps down to 9.99..e(k-1) */
				d = pow * 10 - 1;
				q -= 1;
			} else {
				d -= 1;
			}
		} else {
			d += 1;
		}
		if (d != 0 &&
		    snprintf(tmp, sizeof(tmp), "%" PRIu64 "e%d", d, q) < (int)sizeof(tmp) &&
		    strtod(tmp, NULL) == x)
			break;
		if (p == 16)
			return coffer_error_set(COFFER_ERROR, "JCS: no round-trip form for %a", x);
	}
	while (d % 10 == 0) {
		d /= 10;
		q++;
	}
	if (snprintf(digits, 24, "%" PRIu64, d) >= 24)
		return coffer_error_set(COFFER_ERROR, "JCS: number formatting failed");
	*n_out = (int)strlen(digits) + q;
	return 0;
}

int coffer_jcs_format_number(char out[32], double v)
{
	char s[24];
	char *o = out;
	int k, n = 0, error;

	out[0] = '\0';
	if (!isfinite(v))
		return coffer_error_set(COFFER_EINVAL, "JCS: %s is not a JSON number",
		                        isnan(v) ? "NaN" : "Infinity");
	if (v == 0) {
		/* ECMA-262 7.1.12.1 step 2: -0 is written "0" */
		memcpy(out, "0", 2);
		return 0;
	}
	if ((error = shortest_digits(s, &n, fabs(v))) < 0)
		return error;
	k = (int)strlen(s);
	if (v < 0)
		*o++ = '-';
	/* at most 1 + 21 digits, "0." + 6 zeros + 17 digits, or d.<16>e-324 */
	if (k <= n && n <= 21) {
		memcpy(o, s, (size_t)k);
		memset(o + k, '0', (size_t)(n - k));
		o[n] = '\0';
	} else if (n > 0 && n <= 21) {
		memcpy(o, s, (size_t)n);
		o[n] = '.';
		memcpy(o + n + 1, s + n, (size_t)(k - n) + 1);
	} else if (n > -6 && n <= 0) {
		memcpy(o, "0.", 2);
		memset(o + 2, '0', (size_t)-n);
		memcpy(o + 2 - n, s, (size_t)k + 1);
	} else {
		int e = n - 1;
		size_t used;

		*o++ = s[0];
		if (k > 1) {
			*o++ = '.';
			memcpy(o, s + 1, (size_t)k - 1);
			o += k - 1;
		}
		used = (size_t)(o - out);
		snprintf(o, 32 - used, "e%c%d", e < 0 ? '-' : '+', e < 0 ? -e : e);
	}
	return 0;
}

/* ---- values ---- */

struct member {
	const char *key;
	size_t len;
	json_t *value;
};

static int member_compare(const void *a, const void *b)
{
	const struct member *x = a, *y = b;

	return utf16_compare(x->key, x->len, y->key, y->len);
}

static int put_value(struct out *o, const json_t *v, unsigned depth);

/* JCS: members in the UTF-16 order of their names. */
static int put_object_sorted(struct out *o, const json_t *v, unsigned depth)
{
	size_t count = json_object_size(v), i = 0;
	struct member *m = NULL;
	int error = 0;

	if (count == 0)
		return coffer_buf_puts(&o->b, "{}");
	m = calloc(count, sizeof(*m));
	if (m == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	/* jansson's iterators take a non-const object; nothing is modified */
	for (void *it = json_object_iter((json_t *)v); it != NULL && i < count;
	     it = json_object_iter_next((json_t *)v, it), i++) {
		m[i].key = json_object_iter_key(it);
		m[i].len = json_object_iter_key_len(it);
		m[i].value = json_object_iter_value(it);
		if (utf8_check(m[i].key, m[i].len) < 0) {
			error = coffer_error_set(COFFER_EINVAL,
			                         "JCS: object member name is not valid UTF-8");
			goto out;
		}
	}
	qsort(m, i, sizeof(*m), member_compare);
	if ((error = coffer_buf_putc(&o->b, '{')) < 0)
		goto out;
	for (size_t j = 0; j < i; j++) {
		if ((j > 0 && (error = coffer_buf_putc(&o->b, ',')) < 0) ||
		    (error = put_string(o, m[j].key, m[j].len)) < 0 ||
		    (error = coffer_buf_putc(&o->b, ':')) < 0 ||
		    (error = put_value(o, m[j].value, depth + 1)) < 0)
			goto out;
	}
	error = coffer_buf_putc(&o->b, '}');
out:
	free(m);
	return error;
}

/* The compact form: members in insertion order, which is the order
 * jansson keeps and dumps them in (2.14). */
static int put_object(struct out *o, const json_t *v, unsigned depth)
{
	bool first = true;
	int error;

	if ((error = coffer_buf_putc(&o->b, '{')) < 0)
		return error;
	for (void *it = json_object_iter((json_t *)v); it != NULL;
	     it = json_object_iter_next((json_t *)v, it)) {
		if ((!first && (error = coffer_buf_putc(&o->b, ',')) < 0) ||
		    (error = put_string(o, json_object_iter_key(it),
		                        json_object_iter_key_len(it))) < 0 ||
		    (error = coffer_buf_putc(&o->b, ':')) < 0 ||
		    (error = put_value(o, json_object_iter_value(it), depth + 1)) < 0)
			return error;
		first = false;
	}
	return coffer_buf_putc(&o->b, '}');
}

/* A real as json_dumps writes it: jansson's own formatting, so the two
 * never differ in a digit. */
static int put_real_compact(struct out *o, const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	int error;

	if (s == NULL)
		return coffer_error_set(COFFER_EINVAL, "JSON: %g is not a JSON number",
		                        json_real_value(v));
	error = coffer_buf_puts(&o->b, s);
	free(s);
	return error;
}

static int put_value(struct out *o, const json_t *v, unsigned depth)
{
	char num[32];
	int error;

	/* containers count, as in coffer_json_parse; this also stops cycles,
	 * which jansson lets callers build */
	if ((json_is_object(v) || json_is_array(v)) &&
	    depth > (o->jcs ? COFFER_JSON_MAX_DEPTH : DUMP_MAX_DEPTH))
		return coffer_error_set(COFFER_ELIMIT, "%s: nesting deeper than %d levels",
		                        out_what(o),
		                        o->jcs ? COFFER_JSON_MAX_DEPTH : DUMP_MAX_DEPTH);
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return o->jcs ? put_object_sorted(o, v, depth) : put_object(o, v, depth);
	case JSON_ARRAY:
		if ((error = coffer_buf_putc(&o->b, '[')) < 0)
			return error;
		for (size_t i = 0; i < json_array_size(v); i++)
			if ((i > 0 && (error = coffer_buf_putc(&o->b, ',')) < 0) ||
			    (error = put_value(o, json_array_get(v, i), depth + 1)) < 0)
				return error;
		return coffer_buf_putc(&o->b, ']');
	case JSON_STRING:
		return put_string(o, json_string_value(v), json_string_length(v));
	case JSON_INTEGER: {
		json_int_t n = json_integer_value(v);
		int len;
		if (o->jcs && (n > JCS_INT_MAX || n < -JCS_INT_MAX))
			return coffer_error_set(COFFER_EINVAL,
			                        "JCS: integer %" JSON_INTEGER_FORMAT
			                        " is beyond 2^53 and has no exact IEEE double",
			                        n);
		len = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, n);
		return coffer_buf_append(&o->b, num, (size_t)len);
	}
	case JSON_REAL:
		if (!o->jcs)
			return put_real_compact(o, v);
		if ((error = coffer_jcs_format_number(num, json_real_value(v))) < 0)
			return error;
		return coffer_buf_puts(&o->b, num);
	case JSON_TRUE:
		return coffer_buf_puts(&o->b, "true");
	case JSON_FALSE:
		return coffer_buf_puts(&o->b, "false");
	case JSON_NULL:
		return coffer_buf_puts(&o->b, "null");
	}
	return coffer_error_set(COFFER_EINVAL, "%s: unknown JSON type", out_what(o));
}

static int serialize(char **out, size_t *len, const json_t *v, bool jcs)
{
	/* the limit only keeps size arithmetic far from overflow: memory
	 * runs out long before it */
	struct out o = { COFFER_BUF_INIT_MAX(SIZE_MAX / 4), jcs };
	int error;

	*out = NULL;
	if (len)
		*len = 0;
	if (v == NULL)
		return coffer_error_set(COFFER_EINVAL, "%s: nothing to serialize", out_what(&o));
	if ((error = put_value(&o, v, 1)) < 0) {
		coffer_buf_free(&o.b);
		return error;
	}
	if ((*out = (char *)coffer_buf_detach(&o.b, len)) == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	return 0;
}

int coffer_jcs_serialize(char **out, size_t *len, const json_t *v)
{
	return serialize(out, len, v, true);
}

int coffer_json_dump(char **out, size_t *len, const json_t *v)
{
	return serialize(out, len, v, false);
}
