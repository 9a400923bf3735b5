/*
 * TOML 1.0 parser (https://toml.io/en/v1.0.0, ABNF toml.abnf of that tag).
 *
 * A recursive-descent parser over the raw bytes. The whole input is first
 * checked for UTF-8 and for the control characters TOML forbids everywhere
 * (all but tab and LF; CR only in CRLF), so the grammar code below can treat
 * every other byte as content.
 */
#define _GNU_SOURCE /* strtod_l */
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/buf.h"
#include "coffer/codec.h"
#include "coffer/toml.h"
#include "toml/toml_internal.h"

struct parser {
	const char *base;
	size_t len;
	size_t pos;
	unsigned max_depth;
	unsigned next_section;
};

/* ------------------------------------------------------------------ errors */

static void position_of(const struct parser *ps, size_t at, size_t *line, size_t *col)
{
	size_t l = 1, c = 1;

	if (at > ps->len)
		at = ps->len;
	for (size_t i = 0; i < at; i++) {
		unsigned char b = (unsigned char)ps->base[i];
		if (b == '\n') {
			l++;
			c = 1;
		} else if ((b & 0xC0) != 0x80) {
			c++; /* count characters, not continuation bytes */
		}
	}
	*line = l;
	*col = c;
}

__attribute__((format(printf, 4, 5))) static int fail_at(const struct parser *ps, int code,
                                                         size_t at, const char *fmt, ...)
{
	char msg[256];
	size_t line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	position_of(ps, at, &line, &col);
	return coffer_error_set(code, "line %zu, column %zu: %s", line, col, msg);
}

#define FAIL(ps, ...) fail_at((ps), COFFER_EINVAL, (ps)->pos, __VA_ARGS__)

/* ------------------------------------------------------------------ input */

/* UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF) and the control
 * characters TOML 1.0 allows nowhere: U+0000-0008, U+000A-001F except LF and
 * the CR of a CRLF, U+007F. */
static int check_text(struct parser *ps)
{
	const unsigned char *s = (const unsigned char *)ps->base;
	size_t n = ps->len;

	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		if (c < 0x80) {
			if (c == '\r') {
				if (i + 1 >= n || s[i + 1] != '\n')
					return fail_at(ps, COFFER_EINVAL, i,
					               "carriage return not followed by newline");
			} else if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) {
				return fail_at(ps, COFFER_EINVAL, i,
				               "control character U+%04X is not allowed", c);
			}
			i++;
			continue;
		}
		size_t need;
		unsigned cp, min;
		if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
			cp = c & 0x1F;
			min = 0x80;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			cp = c & 0x0F;
			min = 0x800;
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return fail_at(ps, COFFER_EINVAL, i, "invalid UTF-8");
		}
		if (n - i <= need)
			return fail_at(ps, COFFER_EINVAL, i, "truncated UTF-8 sequence");
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return fail_at(ps, COFFER_EINVAL, i, "invalid UTF-8");
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return fail_at(ps, COFFER_EINVAL, i, "invalid UTF-8");
		i += need + 1;
	}
	return 0;
}

static int peek(const struct parser *ps)
{
	return ps->pos < ps->len ? (unsigned char)ps->base[ps->pos] : -1;
}

static int peek_at(const struct parser *ps, size_t off)
{
	if (ps->pos >= ps->len || off >= ps->len - ps->pos)
		return -1;
	return (unsigned char)ps->base[ps->pos + off];
}

static bool at_newline(const struct parser *ps)
{
	int c = peek(ps);
	/* a lone CR was refused by check_text */
	return c == '\n' || c == '\r';
}

static void skip_newline(struct parser *ps)
{
	if (peek(ps) == '\r')
		ps->pos++;
	if (peek(ps) == '\n')
		ps->pos++;
}

static void skip_ws(struct parser *ps)
{
	int c;
	while ((c = peek(ps)) == ' ' || c == '\t')
		ps->pos++;
}

static void skip_comment(struct parser *ps)
{
	if (peek(ps) != '#')
		return;
	while (ps->pos < ps->len && !at_newline(ps))
		ps->pos++;
}

/* Whitespace, comments and newlines (inside arrays). */
static void skip_ws_nl(struct parser *ps)
{
	for (;;) {
		skip_ws(ps);
		skip_comment(ps);
		if (!at_newline(ps))
			return;
		skip_newline(ps);
	}
}

/* After an expression: optional whitespace and comment, then a newline or
 * the end of the input. */
static int expect_eol(struct parser *ps, const char *after)
{
	skip_ws(ps);
	skip_comment(ps);
	if (ps->pos >= ps->len)
		return 0;
	if (!at_newline(ps))
		return FAIL(ps, "expected a newline after %s", after);
	skip_newline(ps);
	return 0;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_bare_key_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' ||
	       c == '-';
}

/* ------------------------------------------------------------------ strings */

static int put_utf8(coffer_buf *b, uint32_t cp)
{
	char u[4];

	return coffer_buf_append(b, u, coffer_utf8_put(u, cp));
}

/* Escapes of a basic string (TOML 1.0 "String"); ps->pos is on the
 * backslash. */
static int parse_escape(struct parser *ps, coffer_buf *b, bool multiline)
{
	size_t at = ps->pos;
	int c = peek_at(ps, 1);
	size_t digits = 0;
	uint32_t cp = 0;

	switch (c) {
	case 'b':
		ps->pos += 2;
		return coffer_buf_putc(b, '\b');
	case 't':
		ps->pos += 2;
		return coffer_buf_putc(b, '\t');
	case 'n':
		ps->pos += 2;
		return coffer_buf_putc(b, '\n');
	case 'f':
		ps->pos += 2;
		return coffer_buf_putc(b, '\f');
	case 'r':
		ps->pos += 2;
		return coffer_buf_putc(b, '\r');
	case '"':
		ps->pos += 2;
		return coffer_buf_putc(b, '"');
	case '\\':
		ps->pos += 2;
		return coffer_buf_putc(b, '\\');
	case 'u':
		digits = 4;
		break;
	case 'U':
		digits = 8;
		break;
	case ' ':
	case '\t':
	case '\r':
	case '\n':
		if (multiline) {
			/* line-ending backslash: only whitespace may follow it on
			 * its line; it eats every whitespace and newline after */
			ps->pos++;
			skip_ws(ps);
			if (!at_newline(ps))
				return fail_at(ps, COFFER_EINVAL, at,
				               "a line-ending backslash must be the last "
				               "character on its line");
			while ((c = peek(ps)) == ' ' || c == '\t' || c == '\n' || c == '\r')
				ps->pos++;
			return 0;
		}
		return fail_at(ps, COFFER_EINVAL, at, "invalid escape sequence");
	default:
		return fail_at(ps, COFFER_EINVAL, at, "invalid escape sequence");
	}
	for (size_t i = 0; i < digits; i++) {
		int h = coffer_hex_digit(peek_at(ps, 2 + i));
		if (h < 0)
			return fail_at(ps, COFFER_EINVAL, at,
			               "\\%c needs exactly %zu hexadecimal digits", c, digits);
		cp = (cp << 4) | (uint32_t)h;
	}
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return fail_at(ps, COFFER_EINVAL, at,
		               "escape U+%04" PRIX32 " is not a Unicode scalar value", cp);
	ps->pos += 2 + digits;
	return put_utf8(b, cp);
}

/*
 * Basic ("...", """...""") and literal ('...', '''...''') strings; ps->pos is
 * on the opening quote. Multi-line forms drop a newline right after the
 * opening delimiter, allow one or two quotes right before the closing one
 * and store every newline as LF.
 */
static int parse_string(struct parser *ps, char **out, size_t *outlen)
{
	coffer_buf b;
	size_t start = ps->pos;
	char q = (char)peek(ps);
	bool literal = q == '\'';
	bool multiline = peek_at(ps, 1) == q && peek_at(ps, 2) == q;
	int error;

	coffer_buf_init(&b, ps->len + 1);
	if ((error = coffer_buf_reserve(&b, 0)) < 0)
		goto out;
	ps->pos += multiline ? 3 : 1;
	if (multiline && at_newline(ps))
		skip_newline(ps);
	for (;;) {
		int c = peek(ps);
		if (c < 0) {
			error = fail_at(ps, COFFER_EINVAL, start, "unterminated string");
			goto out;
		}
		if (c == q) {
			size_t run = 0;
			if (!multiline) {
				ps->pos++;
				break;
			}
			while (peek_at(ps, run) == q)
				run++;
			if (run < 3) {
				if ((error = coffer_buf_append(&b, ps->base + ps->pos, run)) < 0)
					goto out;
				ps->pos += run;
				continue;
			}
			if (run > 5) {
				error = FAIL(ps,
				             "too many quotes at the end of a multi-line string");
				goto out;
			}
			if ((error = coffer_buf_append(&b, ps->base + ps->pos, run - 3)) < 0)
				goto out;
			ps->pos += run;
			break;
		}
		if (c == '\\' && !literal) {
			if ((error = parse_escape(ps, &b, multiline)) < 0)
				goto out;
			continue;
		}
		if (at_newline(ps)) {
			if (!multiline) {
				error = FAIL(ps, "newline in a single-line string");
				goto out;
			}
			skip_newline(ps);
			if ((error = coffer_buf_putc(&b, '\n')) < 0)
				goto out;
			continue;
		}
		/* a run of plain content (check_text vetted the bytes) */
		size_t run = 1;
		while (ps->pos + run < ps->len) {
			char d = ps->base[ps->pos + run];
			if (d == q || d == '\\' || d == '\n' || d == '\r')
				break;
			run++;
		}
		if ((error = coffer_buf_append(&b, ps->base + ps->pos, run)) < 0)
			goto out;
		ps->pos += run;
	}
	*outlen = b.len;
	*out = (char *)coffer_buf_detach(&b, NULL);
	error = 0;
out:
	coffer_buf_free(&b);
	return error;
}

/* ------------------------------------------------------------------ keys */

struct key {
	struct toml_key_part *parts;
	size_t n, cap;
	size_t *pos; /* where each part starts, for messages */
};

static void key_free(struct key *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->parts[i].s);
	free(k->parts);
	free(k->pos);
	memset(k, 0, sizeof(*k));
}

static int parse_simple_key(struct parser *ps, char **s, size_t *len)
{
	int c = peek(ps);
	size_t start = ps->pos;

	if (c == '"' || c == '\'') {
		if (peek_at(ps, 1) == c && peek_at(ps, 2) == c)
			return FAIL(ps, "a multi-line string cannot be a key");
		return parse_string(ps, s, len);
	}
	while (is_bare_key_char(peek(ps)))
		ps->pos++;
	if (ps->pos == start) {
		if (c < 0 || c == '\n' || c == '\r')
			return FAIL(ps, "expected a key");
		return FAIL(ps, "expected a key, found '%c'", c >= 0x20 && c < 0x7F ? c : '?');
	}
	*len = ps->pos - start;
	*s = malloc(*len + 1);
	if (*s == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	memcpy(*s, ps->base + start, *len);
	(*s)[*len] = '\0';
	return 0;
}

/* key = simple-key *( ws "." ws simple-key ); at most max_depth parts. */
static int parse_key(struct parser *ps, struct key *k)
{
	int error;

	for (;;) {
		char *s = NULL;
		size_t len = 0, at = ps->pos;

		if (k->n == ps->max_depth)
			return fail_at(ps, COFFER_ELIMIT, at, "key has more than %u parts",
			               ps->max_depth);
		if (k->n == k->cap) {
			size_t cap = k->cap ? k->cap * 2 : 4;
			struct toml_key_part *p = realloc(k->parts, cap * sizeof(*p));
			if (p == NULL)
				return coffer_error_set(COFFER_ENOMEM, "out of memory");
			k->parts = p;
			size_t *q = realloc(k->pos, cap * sizeof(*q));
			if (q == NULL)
				return coffer_error_set(COFFER_ENOMEM, "out of memory");
			k->pos = q;
			k->cap = cap;
		}
		if ((error = parse_simple_key(ps, &s, &len)) < 0)
			return error;
		k->parts[k->n].s = s;
		k->parts[k->n].len = len;
		k->pos[k->n] = at;
		k->n++;
		skip_ws(ps);
		if (peek(ps) != '.')
			return 0;
		ps->pos++;
		skip_ws(ps);
	}
}

/* ------------------------------------------------------------------ values */

static int new_value(struct parser *ps, coffer_toml_value **out, coffer_toml_type type,
                     unsigned depth)
{
	if (depth > ps->max_depth)
		return fail_at(ps, COFFER_ELIMIT, ps->pos, "nesting deeper than %u", ps->max_depth);
	*out = toml_value_new(type, depth);
	if (*out == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	return 0;
}

static int parse_value(struct parser *ps, coffer_toml_value **out, unsigned depth);
static int insert_dotted(struct parser *ps, coffer_toml_value *tbl, struct key *k,
                         coffer_toml_value *val, unsigned section);

static bool is_value_end(int c)
{
	return c < 0 || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '#' || c == ',' ||
	       c == ']' || c == '}';
}

/* n decimal digits at ps->pos + off, or -1. */
static int fixed_digits(const struct parser *ps, size_t off, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		int c = peek_at(ps, off + i);
		if (!is_digit(c))
			return -1;
		v = v * 10 + (c - '0');
	}
	return v;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* partial-time = HH:MM:SS[.frac] at ps->pos; appended to b normalized. */
static int parse_time(struct parser *ps, coffer_buf *b)
{
	size_t start = ps->pos;
	int h = fixed_digits(ps, 0, 2), m = fixed_digits(ps, 3, 2), s = fixed_digits(ps, 6, 2);
	int error;

	if (h < 0 || peek_at(ps, 2) != ':' || m < 0 || peek_at(ps, 5) != ':' || s < 0)
		return FAIL(ps, "malformed time: expected HH:MM:SS");
	if (h > 23 || m > 59 || s > 60)
		return FAIL(ps, "time %02d:%02d:%02d out of range", h, m, s);
	ps->pos += 8;
	if (peek(ps) == '.') {
		ps->pos++;
		if (!is_digit(peek(ps)))
			return FAIL(ps, "expected digits after the decimal point of a time");
		while (is_digit(peek(ps)))
			ps->pos++;
	}
	if ((error = coffer_buf_append(b, ps->base + start, ps->pos - start)) < 0)
		return error;
	return 0;
}

/*
 * Offset date-time, local date-time, local date (RFC 3339 section 5.6 with
 * TOML's relaxations: 't'/'T' or one space as separator, 'z'/'Z').
 */
static int parse_datetime(struct parser *ps, coffer_toml_value **out, unsigned depth)
{
	coffer_buf b;
	coffer_toml_type type;
	int error;

	coffer_buf_init(&b, 64);
	if (fixed_digits(ps, 0, 2) >= 0 && peek_at(ps, 2) == ':') {
		type = COFFER_TOML_TIME_LOCAL;
		if ((error = parse_time(ps, &b)) < 0)
			goto out;
	} else {
		int y = fixed_digits(ps, 0, 4), mo = fixed_digits(ps, 5, 2),
		    d = fixed_digits(ps, 8, 2);
		if (y < 0 || peek_at(ps, 4) != '-' || mo < 0 || peek_at(ps, 7) != '-' || d < 0) {
			error = FAIL(ps, "malformed date: expected YYYY-MM-DD");
			goto out;
		}
		if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) {
			error = FAIL(ps, "date %04d-%02d-%02d does not exist", y, mo, d);
			goto out;
		}
		if ((error = coffer_buf_append(&b, ps->base + ps->pos, 10)) < 0)
			goto out;
		ps->pos += 10;
		type = COFFER_TOML_DATE_LOCAL;
		int c = peek(ps);
		if (c == 'T' || c == 't' || (c == ' ' && is_digit(peek_at(ps, 1)))) {
			ps->pos++;
			if ((error = coffer_buf_putc(&b, 'T')) < 0 ||
			    (error = parse_time(ps, &b)) < 0)
				goto out;
			type = COFFER_TOML_DATETIME_LOCAL;
			c = peek(ps);
			if (c == 'Z' || c == 'z') {
				ps->pos++;
				type = COFFER_TOML_DATETIME;
				if ((error = coffer_buf_putc(&b, 'Z')) < 0)
					goto out;
			} else if (c == '+' || c == '-') {
				int oh = fixed_digits(ps, 1, 2), om = fixed_digits(ps, 4, 2);
				if (oh < 0 || peek_at(ps, 3) != ':' || om < 0) {
					error = FAIL(ps, "malformed time offset: expected +HH:MM");
					goto out;
				}
				if (oh > 23 || om > 59) {
					error = FAIL(ps, "time offset out of range");
					goto out;
				}
				if ((error = coffer_buf_append(&b, ps->base + ps->pos, 6)) < 0)
					goto out;
				ps->pos += 6;
				type = COFFER_TOML_DATETIME;
			}
		}
	}
	if (!is_value_end(peek(ps))) {
		error = FAIL(ps, "unexpected character after a date or time");
		goto out;
	}
	if ((error = new_value(ps, out, type, depth)) < 0)
		goto out;
	(*out)->u.s.len = b.len;
	(*out)->u.s.ptr = (char *)coffer_buf_detach(&b, NULL);
	error = 0;
out:
	coffer_buf_free(&b);
	return error;
}

/* Digits of `base` with '_' only between two digits, from s[*i]; at least
 * one digit. Appends the digits (without '_') to dst when non-NULL. */
static bool scan_digits(const char *s, size_t n, size_t *i, int base, char *dst, size_t *dlen)
{
	bool prev_digit = false, any = false;

	while (*i < n) {
		char c = s[*i];
		int v = coffer_hex_digit((unsigned char)c);
		if (c == '_') {
			if (!prev_digit || *i + 1 >= n ||
			    coffer_hex_digit((unsigned char)s[*i + 1]) < 0 ||
			    coffer_hex_digit((unsigned char)s[*i + 1]) >= base)
				return false;
			prev_digit = false;
		} else if (v >= 0 && v < base) {
			if (dst)
				dst[(*dlen)++] = c;
			prev_digit = any = true;
		} else {
			break;
		}
		(*i)++;
	}
	return any;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* Integers (decimal with sign, 0x / 0o / 0b), floats, inf and nan. */
static int parse_number(struct parser *ps, coffer_toml_value **out, unsigned depth)
{
	size_t start = ps->pos, n, i = 0, dlen = 0;
	const char *s;
	char buf[512];
	int error;

	while (ps->pos < ps->len) {
		int c = peek(ps);
		if (!(is_bare_key_char(c) || c == '.' || c == '+'))
			break;
		ps->pos++;
	}
	s = ps->base + start;
	n = ps->pos - start;
	if (n == 0) {
		int c = peek(ps);
		return fail_at(ps, COFFER_EINVAL, start, "expected a value, found '%c'",
		               c >= 0x20 && c < 0x7F ? c : '?');
	}
	if (n >= sizeof(buf))
		return fail_at(ps, COFFER_EINVAL, start, "number too long");

	bool neg = false, sign = false;
	if (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-';
		sign = true;
		i = 1;
	}
	if (n - i == 3 && (memcmp(s + i, "inf", 3) == 0 || memcmp(s + i, "nan", 3) == 0)) {
		if ((error = new_value(ps, out, COFFER_TOML_FLOAT, depth)) < 0)
			return error;
		if (s[i] == 'i')
			(*out)->u.f = neg ? -INFINITY : INFINITY;
		else
			(*out)->u.f = neg ? -NAN : NAN;
		return 0;
	}
	if (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
		return fail_at(ps, COFFER_EINVAL, start, "expected a value, found '%c'", s[i]);
	if (n - i >= 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'o' || s[i + 1] == 'b')) {
		int base = s[i + 1] == 'x' ? 16 : s[i + 1] == 'o' ? 8 : 2;
		uint64_t v = 0;
		if (sign)
			return fail_at(ps, COFFER_EINVAL, start,
			               "a sign is not allowed on a hexadecimal, octal or binary "
			               "integer");
		i += 2;
		if (!scan_digits(s, n, &i, base, buf, &dlen) || i != n)
			return fail_at(ps, COFFER_EINVAL, start, "invalid base-%d integer", base);
		for (size_t k = 0; k < dlen; k++) {
			uint64_t d = (uint64_t)coffer_hex_digit((unsigned char)buf[k]);
			if (v > (UINT64_C(0x7FFFFFFFFFFFFFFF) - d) / (uint64_t)base)
				return fail_at(ps, COFFER_EINVAL, start,
				               "integer does not fit in 64 bits");
			v = v * (uint64_t)base + d;
		}
		if ((error = new_value(ps, out, COFFER_TOML_INTEGER, depth)) < 0)
			return error;
		(*out)->u.i = (int64_t)v;
		return 0;
	}

	/* decimal: int part, then optional frac and exponent */
	size_t int_start = i;
	if (sign)
		buf[dlen++] = s[0];
	size_t dig0 = dlen;
	if (!scan_digits(s, n, &i, 10, buf, &dlen))
		return fail_at(ps, COFFER_EINVAL, start, "invalid number");
	if (s[int_start] == '0' && dlen - dig0 > 1)
		return fail_at(ps, COFFER_EINVAL, start, "leading zeros are not allowed");
	bool is_float = false;
	if (i < n && s[i] == '.') {
		is_float = true;
		buf[dlen++] = s[i++];
		if (!scan_digits(s, n, &i, 10, buf, &dlen))
			return fail_at(ps, COFFER_EINVAL, start,
			               "a decimal point must be followed by digits");
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		is_float = true;
		buf[dlen++] = 'e';
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			buf[dlen++] = s[i++];
		if (!scan_digits(s, n, &i, 10, buf, &dlen))
			return fail_at(ps, COFFER_EINVAL, start, "invalid exponent");
	}
	if (i != n)
		return fail_at(ps, COFFER_EINVAL, start, "invalid number");
	buf[dlen] = '\0';
	if (is_float) {
		char *end = NULL;
		double d;
		errno = 0;
		/* buf holds only [+-0-9.e]: C-locale syntax whatever the
		 * process locale says the decimal point is */
		pthread_once(&c_locale_once, c_locale_init);
		d = c_locale != (locale_t)0 ? strtod_l(buf, &end, c_locale) : strtod(buf, &end);
		if (end != buf + dlen)
			return fail_at(ps, COFFER_EINVAL, start, "invalid float");
		if (errno == ERANGE && isinf(d))
			return fail_at(ps, COFFER_EINVAL, start, "float out of range");
		if ((error = new_value(ps, out, COFFER_TOML_FLOAT, depth)) < 0)
			return error;
		(*out)->u.f = d;
		return 0;
	}
	uint64_t v = 0, lim = neg ? UINT64_C(0x8000000000000000) : UINT64_C(0x7FFFFFFFFFFFFFFF);
	for (size_t k = dig0; k < dlen; k++) {
		uint64_t dg = (uint64_t)(buf[k] - '0');
		if (v > (lim - dg) / 10)
			return fail_at(ps, COFFER_EINVAL, start, "integer does not fit in 64 bits");
		v = v * 10 + dg;
	}
	if ((error = new_value(ps, out, COFFER_TOML_INTEGER, depth)) < 0)
		return error;
	if (neg)
		(*out)->u.i = v == UINT64_C(0x8000000000000000) ? INT64_MIN : -(int64_t)v;
	else
		(*out)->u.i = (int64_t)v;
	return 0;
}

static int parse_array(struct parser *ps, coffer_toml_value **out, unsigned depth)
{
	coffer_toml_value *arr = NULL, *item = NULL;
	int error;

	if ((error = new_value(ps, &arr, COFFER_TOML_ARRAY, depth)) < 0)
		return error;
	ps->pos++; /* [ */
	for (;;) {
		skip_ws_nl(ps);
		if (peek(ps) == ']') {
			ps->pos++;
			break;
		}
		if ((error = parse_value(ps, &item, depth + 1)) < 0)
			goto out;
		if ((error = toml_array_push(arr, item)) < 0)
			goto out;
		item = NULL;
		skip_ws_nl(ps);
		if (peek(ps) == ',') {
			ps->pos++;
			continue;
		}
		if (peek(ps) == ']') {
			ps->pos++;
			break;
		}
		error = FAIL(ps, peek(ps) < 0 ? "unterminated array"
		                              : "expected ',' or ']' in an array");
		goto out;
	}
	*out = arr;
	arr = NULL;
	error = 0;
out:
	toml_value_free(item);
	toml_value_free(arr);
	return error;
}

/* inline-table: { key = value, ... } on one line, no trailing comma. */
static int parse_inline_table(struct parser *ps, coffer_toml_value **out, unsigned depth)
{
	coffer_toml_value *tbl = NULL, *val = NULL;
	struct key k = { 0 };
	unsigned section = ++ps->next_section;
	int error;

	if ((error = new_value(ps, &tbl, COFFER_TOML_TABLE, depth)) < 0)
		return error;
	tbl->flags = TOML_T_INLINE;
	ps->pos++; /* { */
	skip_ws(ps);
	if (peek(ps) == '}') {
		ps->pos++;
		goto done;
	}
	for (;;) {
		skip_ws(ps);
		if (at_newline(ps)) {
			error = FAIL(ps, "newline in an inline table");
			goto out;
		}
		if ((error = parse_key(ps, &k)) < 0)
			goto out;
		if (peek(ps) != '=') {
			error = FAIL(ps, "expected '=' after a key");
			goto out;
		}
		ps->pos++;
		skip_ws(ps);
		if ((error = parse_value(ps, &val, depth + (unsigned)k.n)) < 0)
			goto out;
		if ((error = insert_dotted(ps, tbl, &k, val, section)) < 0)
			goto out;
		val = NULL;
		key_free(&k);
		skip_ws(ps);
		if (peek(ps) == ',') {
			ps->pos++;
			skip_ws(ps);
			if (peek(ps) == '}') {
				error = FAIL(ps, "trailing comma in an inline table");
				goto out;
			}
			continue;
		}
		if (peek(ps) == '}') {
			ps->pos++;
			break;
		}
		if (at_newline(ps))
			error = FAIL(ps, "newline in an inline table");
		else
			error = FAIL(ps, peek(ps) < 0 ? "unterminated inline table"
			                              : "expected ',' or '}' in an inline table");
		goto out;
	}
done:
	*out = tbl;
	tbl = NULL;
	error = 0;
out:
	key_free(&k);
	toml_value_free(val);
	toml_value_free(tbl);
	return error;
}

static int parse_value(struct parser *ps, coffer_toml_value **out, unsigned depth)
{
	int c = peek(ps);
	int error;

	*out = NULL;
	if (depth > ps->max_depth)
		return fail_at(ps, COFFER_ELIMIT, ps->pos, "nesting deeper than %u", ps->max_depth);
	switch (c) {
	case '"':
	case '\'': {
		char *s = NULL;
		size_t len = 0;
		if ((error = parse_string(ps, &s, &len)) < 0)
			return error;
		if ((error = new_value(ps, out, COFFER_TOML_STRING, depth)) < 0) {
			free(s);
			return error;
		}
		(*out)->u.s.ptr = s;
		(*out)->u.s.len = len;
		return 0;
	}
	case '[':
		return parse_array(ps, out, depth);
	case '{':
		return parse_inline_table(ps, out, depth);
	case 't':
	case 'f': {
		bool t = c == 't';
		const char *word = t ? "true" : "false";
		size_t wl = strlen(word);
		if (ps->len - ps->pos < wl || memcmp(ps->base + ps->pos, word, wl) != 0 ||
		    !is_value_end(peek_at(ps, wl)))
			return FAIL(ps, "invalid value (booleans are lower-case true and false)");
		ps->pos += wl;
		if ((error = new_value(ps, out, COFFER_TOML_BOOL, depth)) < 0)
			return error;
		(*out)->u.b = t;
		return 0;
	}
	case -1:
	case '\n':
	case '\r':
	case '#':
		return FAIL(ps, "expected a value");
	default:
		break;
	}
	if (is_digit(c) && ((is_digit(peek_at(ps, 1)) && peek_at(ps, 2) == ':') ||
	                    (fixed_digits(ps, 0, 4) >= 0 && peek_at(ps, 4) == '-')))
		return parse_datetime(ps, out, depth);
	return parse_number(ps, out, depth);
}

/* ------------------------------------------------------------------ tables */

/* A dotted key may enter a table only if the same section created or
 * entered it by dotted keys, or if a header only implied it. */
static bool dotted_can_enter(const coffer_toml_value *t, unsigned section)
{
	if (t->flags & (TOML_T_INLINE | TOML_T_HEADER))
		return false;
	if (t->flags & TOML_T_DOTTED)
		return t->section == section;
	return true;
}

static int insert_dotted(struct parser *ps, coffer_toml_value *tbl, struct key *k,
                         coffer_toml_value *val, unsigned section)
{
	coffer_toml_value *node = tbl, *child, *created = NULL;
	char name[64];
	int error;

	for (size_t i = 0; i + 1 < k->n; i++) {
		child = toml_table_find(node, k->parts[i].s, k->parts[i].len);
		if (child == NULL) {
			if ((error = new_value(ps, &created, COFFER_TOML_TABLE, node->depth + 1)) <
			    0)
				return error;
			created->flags = TOML_T_DOTTED;
			created->section = section;
			if ((error = toml_table_insert(node, k->parts[i].s, k->parts[i].len,
			                               created)) < 0) {
				toml_value_free(created);
				return error;
			}
			k->parts[i].s = NULL; /* owned by the table now */
			child = created;
		} else if (child->type == COFFER_TOML_TABLE && dotted_can_enter(child, section)) {
			child->flags |= TOML_T_DOTTED;
			child->section = section;
		} else {
			toml_key_for_msg(name, sizeof(name), k->parts[i].s, k->parts[i].len);
			return fail_at(ps, COFFER_EINVAL, k->pos[i],
			               child->type == COFFER_TOML_TABLE
			                       ? "cannot add keys to table '%s' defined elsewhere"
			                       : "key '%s' is not a table",
			               name);
		}
		node = child;
	}
	size_t last = k->n - 1;
	if (toml_table_find(node, k->parts[last].s, k->parts[last].len) != NULL) {
		toml_key_for_msg(name, sizeof(name), k->parts[last].s, k->parts[last].len);
		return fail_at(ps, COFFER_EINVAL, k->pos[last], "duplicate key '%s'", name);
	}
	if ((error = toml_table_insert(node, k->parts[last].s, k->parts[last].len, val)) < 0)
		return error;
	k->parts[last].s = NULL;
	return 0;
}

/* Walk the parents of a [x.y.z] or [[x.y.z]] header, creating implicit
 * tables; *out is the table that will hold the last part. */
static int header_parent(struct parser *ps, coffer_toml_value *root, struct key *k,
                         coffer_toml_value **out)
{
	coffer_toml_value *node = root, *child;
	char name[64];
	int error;

	for (size_t i = 0; i + 1 < k->n; i++) {
		child = toml_table_find(node, k->parts[i].s, k->parts[i].len);
		toml_key_for_msg(name, sizeof(name), k->parts[i].s, k->parts[i].len);
		if (child == NULL) {
			if ((error = new_value(ps, &child, COFFER_TOML_TABLE, node->depth + 1)) < 0)
				return error;
			child->flags = TOML_T_IMPLICIT;
			if ((error = toml_table_insert(node, k->parts[i].s, k->parts[i].len,
			                               child)) < 0) {
				toml_value_free(child);
				return error;
			}
			k->parts[i].s = NULL;
		} else if (child->type == COFFER_TOML_TABLE) {
			if (child->flags & TOML_T_INLINE)
				return fail_at(ps, COFFER_EINVAL, k->pos[i],
				               "inline table '%s' cannot be extended", name);
		} else if (child->type == COFFER_TOML_ARRAY && (child->flags & TOML_A_AOT)) {
			child = child->u.a.items[child->u.a.len - 1];
		} else if (child->type == COFFER_TOML_ARRAY) {
			return fail_at(ps, COFFER_EINVAL, k->pos[i],
			               "static array '%s' cannot be extended", name);
		} else {
			return fail_at(ps, COFFER_EINVAL, k->pos[i], "key '%s' is not a table",
			               name);
		}
		node = child;
	}
	*out = node;
	return 0;
}

/* [key] or [[key]]; *cur becomes the table that following keys fill. */
static int parse_header(struct parser *ps, coffer_toml_value *root, coffer_toml_value **cur)
{
	bool aot = peek_at(ps, 1) == '[';
	struct key k = { 0 };
	coffer_toml_value *parent = NULL, *child, *elem = NULL;
	char name[64];
	size_t last;
	int error;

	ps->pos += aot ? 2 : 1;
	skip_ws(ps);
	if ((error = parse_key(ps, &k)) < 0)
		goto out;
	if (peek(ps) != ']' || (aot && peek_at(ps, 1) != ']')) {
		error = FAIL(ps, aot ? "expected ']]' to close an array-of-tables header"
		                     : "expected ']' to close a table header");
		goto out;
	}
	ps->pos += aot ? 2 : 1;
	if ((error = header_parent(ps, root, &k, &parent)) < 0)
		goto out;
	last = k.n - 1;
	toml_key_for_msg(name, sizeof(name), k.parts[last].s, k.parts[last].len);
	child = toml_table_find(parent, k.parts[last].s, k.parts[last].len);
	if (!aot) {
		if (child == NULL) {
			if ((error = new_value(ps, &child, COFFER_TOML_TABLE, parent->depth + 1)) <
			    0)
				goto out;
			child->flags = TOML_T_HEADER;
			if ((error = toml_table_insert(parent, k.parts[last].s, k.parts[last].len,
			                               child)) < 0) {
				toml_value_free(child);
				goto out;
			}
			k.parts[last].s = NULL;
		} else if (child->type == COFFER_TOML_TABLE && child->flags == TOML_T_IMPLICIT) {
			child->flags = TOML_T_HEADER;
		} else {
			error = fail_at(
			        ps, COFFER_EINVAL, k.pos[last],
			        child->type == COFFER_TOML_TABLE
			                ? "table '%s' is already defined"
			                : "key '%s' already has a value that is not a table",
			        name);
			goto out;
		}
		*cur = child;
	} else {
		if (child == NULL) {
			if ((error = new_value(ps, &child, COFFER_TOML_ARRAY, parent->depth + 1)) <
			    0)
				goto out;
			child->flags = TOML_A_AOT;
			if ((error = toml_table_insert(parent, k.parts[last].s, k.parts[last].len,
			                               child)) < 0) {
				toml_value_free(child);
				goto out;
			}
			k.parts[last].s = NULL;
		} else if (child->type != COFFER_TOML_ARRAY || !(child->flags & TOML_A_AOT)) {
			error = fail_at(ps, COFFER_EINVAL, k.pos[last],
			                child->type == COFFER_TOML_ARRAY
			                        ? "static array '%s' cannot be extended"
			                        : "key '%s' is already defined and is not an array "
			                          "of tables",
			                name);
			goto out;
		}
		if ((error = new_value(ps, &elem, COFFER_TOML_TABLE, child->depth + 1)) < 0)
			goto out;
		elem->flags = TOML_T_HEADER;
		if ((error = toml_array_push(child, elem)) < 0)
			goto out;
		*cur = elem;
		elem = NULL;
	}
	error = expect_eol(ps, "a table header");
out:
	toml_value_free(elem);
	key_free(&k);
	return error;
}

static int parse_document(struct parser *ps, coffer_toml_value *root)
{
	coffer_toml_value *cur = root, *val = NULL;
	struct key k = { 0 };
	unsigned section = 0;
	int error = 0;

	if (ps->len >= 3 && memcmp(ps->base, "\xEF\xBB\xBF", 3) == 0)
		ps->pos = 3;
	while (ps->pos < ps->len) {
		skip_ws(ps);
		int c = peek(ps);
		if (c < 0)
			break;
		if (c == '#') {
			if ((error = expect_eol(ps, "a comment")) < 0)
				goto out;
			continue;
		}
		if (at_newline(ps)) {
			skip_newline(ps);
			continue;
		}
		if (c == '[') {
			if ((error = parse_header(ps, root, &cur)) < 0)
				goto out;
			section = ++ps->next_section;
			continue;
		}
		if ((error = parse_key(ps, &k)) < 0)
			goto out;
		if (peek(ps) != '=') {
			error = FAIL(ps, "expected '=' after a key");
			goto out;
		}
		ps->pos++;
		skip_ws(ps);
		if ((error = parse_value(ps, &val, cur->depth + (unsigned)k.n)) < 0)
			goto out;
		if ((error = insert_dotted(ps, cur, &k, val, section)) < 0)
			goto out;
		val = NULL;
		key_free(&k);
		if ((error = expect_eol(ps, "a value")) < 0)
			goto out;
	}
out:
	toml_value_free(val);
	key_free(&k);
	return error;
}

int coffer_toml_parse(coffer_toml **out, const char *text, size_t len,
                      const coffer_toml_options *opts)
{
	coffer_toml_options defaults = COFFER_TOML_OPTIONS_INIT;
	struct parser ps = { 0 };
	coffer_toml *doc = NULL;
	int error;

	if (out == NULL || (text == NULL && len > 0))
		return coffer_error_set(COFFER_EINVAL, "toml: invalid argument");
	*out = NULL;
	if (opts == NULL)
		opts = &defaults;
	if (opts->version != COFFER_TOML_OPTIONS_VERSION)
		return coffer_error_set(COFFER_EINVAL, "toml: unsupported options version %d",
		                        opts->version);
	if (opts->max_depth == 0 || opts->max_depth > COFFER_TOML_DEPTH_CEILING)
		return coffer_error_set(COFFER_EINVAL, "toml: max_depth must be 1..%d",
		                        COFFER_TOML_DEPTH_CEILING);
	if (len > opts->max_input)
		return coffer_error_set(COFFER_ELIMIT,
		                        "toml: input of %zu bytes exceeds the limit of %zu", len,
		                        opts->max_input);
	ps.base = text ? text : "";
	ps.len = len;
	ps.max_depth = opts->max_depth;
	if ((error = check_text(&ps)) < 0)
		return error;
	doc = calloc(1, sizeof(*doc));
	if (doc == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	doc->root = toml_value_new(COFFER_TOML_TABLE, 0);
	if (doc->root == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	doc->root->flags = TOML_T_HEADER;
	if ((error = parse_document(&ps, doc->root)) < 0)
		goto out;
	*out = doc;
	doc = NULL;
out:
	coffer_toml_free(doc);
	return error;
}

int toml_parse_key_path(struct toml_key_part **out, size_t *n, const char *path)
{
	struct parser ps = { 0 };
	struct key k = { 0 };
	int error;

	*out = NULL;
	*n = 0;
	ps.base = path;
	ps.len = strlen(path);
	ps.max_depth = COFFER_TOML_DEPTH_CEILING;
	if ((error = check_text(&ps)) < 0)
		goto bad;
	skip_ws(&ps);
	if ((error = parse_key(&ps, &k)) < 0)
		goto bad;
	if (ps.pos != ps.len) {
		error = COFFER_EINVAL;
		goto bad;
	}
	free(k.pos);
	*out = k.parts;
	*n = k.n;
	return 0;
bad:
	key_free(&k);
	return coffer_error_set(COFFER_EINVAL, "invalid TOML key path '%.64s'", path);
}

void toml_key_parts_free(struct toml_key_part *parts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(parts[i].s);
	free(parts);
}
