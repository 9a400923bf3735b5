/* Rego lexer: identifiers, numbers, strings ("..." with JSON escapes and
 * `raw`), operators, comments; newlines are tokens because they separate
 * body expressions. */
#include <stdio.h>
#include <string.h>

#include "coffer/codec.h"
#include "rego/rego_int.h"

void rg_lex_init(rg_lexer *lx, rg_arena *ar, const char *src, size_t len)
{
	memset(lx, 0, sizeof(*lx));
	lx->src = src;
	lx->len = len;
	lx->line = 1;
	lx->col = 1;
	lx->ar = ar;
}

static int peekc(rg_lexer *lx, size_t off)
{
	return lx->pos + off < lx->len ? (unsigned char)lx->src[lx->pos + off] : -1;
}

static void adv(rg_lexer *lx)
{
	if (lx->pos < lx->len) {
		if (lx->src[lx->pos] == '\n') {
			lx->line++;
			lx->col = 1;
		} else {
			lx->col++;
		}
		lx->pos++;
	}
}

static int lex_err(rg_lexer *lx, rg_tok *t, const char *msg)
{
	snprintf(lx->err, sizeof(lx->err), "%s", msg);
	t->k = TK_ERROR;
	t->line = lx->line;
	t->col = lx->col;
	return TK_ERROR;
}

static int read_u4(rg_lexer *lx, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		int h = coffer_hex_digit(peekc(lx, 0));
		if (h < 0)
			return -1;
		v = v * 16 + (unsigned)h;
		adv(lx);
	}
	*out = v;
	return 0;
}

static int lex_string(rg_lexer *lx, rg_tok *t)
{
	size_t cap;
	char *o;
	size_t n = 0;

	/* the decoded string is never longer than its source text: find the
	 * closing quote first so the buffer is sized to the literal */
	adv(lx);
	cap = 1;
	for (size_t q = lx->pos; q < lx->len && lx->src[q] != '"' && lx->src[q] != '\n'; q++) {
		if (lx->src[q] == '\\' && q + 1 < lx->len)
			q++, cap++;
		cap++;
	}
	cap += 4;
	o = rg_alloc(lx->ar, cap);
	if (o == NULL)
		return lex_err(lx, t, "out of memory");
	for (;;) {
		int c = peekc(lx, 0);
		if (c < 0 || c == '\n')
			return lex_err(lx, t, "unterminated string");
		if (c == '"') {
			adv(lx);
			break;
		}
		if (c < 0x20)
			return lex_err(lx, t, "control character in string");
		if (c != '\\') {
			o[n++] = (char)c;
			adv(lx);
			continue;
		}
		adv(lx);
		c = peekc(lx, 0);
		adv(lx);
		switch (c) {
		case '"':
		case '\\':
		case '/':
			o[n++] = (char)c;
			break;
		case 'b':
			o[n++] = '\b';
			break;
		case 'f':
			o[n++] = '\f';
			break;
		case 'n':
			o[n++] = '\n';
			break;
		case 'r':
			o[n++] = '\r';
			break;
		case 't':
			o[n++] = '\t';
			break;
		case 'u': {
			unsigned cp, lo;
			if (read_u4(lx, &cp))
				return lex_err(lx, t, "bad \\u escape");
			if (cp >= 0xD800 && cp < 0xDC00) {
				if (peekc(lx, 0) != '\\' || peekc(lx, 1) != 'u')
					return lex_err(lx, t, "unpaired surrogate");
				adv(lx);
				adv(lx);
				if (read_u4(lx, &lo) || lo < 0xDC00 || lo > 0xDFFF)
					return lex_err(lx, t, "unpaired surrogate");
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else if (cp >= 0xDC00 && cp < 0xE000) {
				return lex_err(lx, t, "unpaired surrogate");
			}
			n += coffer_utf8_put(o + n, cp);
			break;
		}
		default:
			return lex_err(lx, t, "invalid escape in string");
		}
	}
	o[n] = '\0';
	t->k = TK_STRING;
	t->str = o;
	t->slen = n;
	return TK_STRING;
}

static int lex_raw(rg_lexer *lx, rg_tok *t)
{
	size_t start;

	adv(lx);
	start = lx->pos;
	while (peekc(lx, 0) >= 0 && peekc(lx, 0) != '`')
		adv(lx);
	if (peekc(lx, 0) < 0)
		return lex_err(lx, t, "unterminated raw string");
	t->str = rg_strndup(lx->ar, lx->src + start, lx->pos - start);
	if (t->str == NULL)
		return lex_err(lx, t, "out of memory");
	t->slen = lx->pos - start;
	adv(lx);
	t->k = TK_RAWSTRING;
	return TK_RAWSTRING;
}

static bool is_id0(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_dig(int c)
{
	return c >= '0' && c <= '9';
}

int rg_lex_next(rg_lexer *lx, rg_tok *t)
{
	int c;

	memset(t, 0, sizeof(*t));
	for (;;) {
		c = peekc(lx, 0);
		if (c == ' ' || c == '\t' || c == '\r') {
			t->ws_before = true;
			adv(lx);
		} else if (c == '#') {
			while (peekc(lx, 0) >= 0 && peekc(lx, 0) != '\n')
				adv(lx);
		} else {
			break;
		}
	}
	t->line = lx->line;
	t->col = lx->col;
	t->p = lx->src + lx->pos;
	if (c < 0) {
		t->k = TK_EOF;
		return TK_EOF;
	}
	if (c == '\n') {
		adv(lx);
		t->k = TK_NEWLINE;
		t->len = 1;
		return TK_NEWLINE;
	}
	if (c == '"')
		return lex_string(lx, t);
	if (c == '`')
		return lex_raw(lx, t);
	if (is_id0(c)) {
		while (is_id0(peekc(lx, 0)) || is_dig(peekc(lx, 0)))
			adv(lx);
		t->k = TK_IDENT;
		t->len = (size_t)(lx->src + lx->pos - t->p);
		return TK_IDENT;
	}
	if (is_dig(c) || (c == '.' && is_dig(peekc(lx, 1)))) {
		if (c == '0' && is_dig(peekc(lx, 1)))
			return lex_err(lx, t, "leading zero in number");
		while (is_dig(peekc(lx, 0)))
			adv(lx);
		if (peekc(lx, 0) == '.' && is_dig(peekc(lx, 1))) {
			adv(lx);
			while (is_dig(peekc(lx, 0)))
				adv(lx);
		}
		if (peekc(lx, 0) == 'e' || peekc(lx, 0) == 'E') {
			int d = peekc(lx, 1);
			if (is_dig(d) || ((d == '+' || d == '-') && is_dig(peekc(lx, 2)))) {
				adv(lx);
				if (!is_dig(peekc(lx, 0)))
					adv(lx);
				while (is_dig(peekc(lx, 0)))
					adv(lx);
			}
		}
		if (is_id0(peekc(lx, 0)))
			return lex_err(lx, t, "invalid number");
		t->k = TK_NUMBER;
		t->len = (size_t)(lx->src + lx->pos - t->p);
		return TK_NUMBER;
	}
	adv(lx);
	t->len = 1;
	switch (c) {
	case '{':
		t->k = TK_LBRACE;
		break;
	case '}':
		t->k = TK_RBRACE;
		break;
	case '[':
		t->k = TK_LBRACK;
		break;
	case ']':
		t->k = TK_RBRACK;
		break;
	case '(':
		t->k = TK_LPAREN;
		break;
	case ')':
		t->k = TK_RPAREN;
		break;
	case '.':
		t->k = TK_DOT;
		break;
	case ',':
		t->k = TK_COMMA;
		break;
	case ';':
		t->k = TK_SEMI;
		break;
	case ':':
		if (peekc(lx, 0) == '=') {
			adv(lx);
			t->k = TK_ASSIGN;
		} else {
			t->k = TK_COLON;
		}
		break;
	case '=':
		if (peekc(lx, 0) == '=') {
			adv(lx);
			t->k = TK_EQ;
		} else {
			t->k = TK_UNIFY;
		}
		break;
	case '!':
		if (peekc(lx, 0) != '=')
			return lex_err(lx, t, "unexpected '!'");
		adv(lx);
		t->k = TK_NE;
		break;
	case '<':
		if (peekc(lx, 0) == '=') {
			adv(lx);
			t->k = TK_LE;
		} else {
			t->k = TK_LT;
		}
		break;
	case '>':
		if (peekc(lx, 0) == '=') {
			adv(lx);
			t->k = TK_GE;
		} else {
			t->k = TK_GT;
		}
		break;
	case '+':
		t->k = TK_PLUS;
		break;
	case '-':
		t->k = TK_MINUS;
		break;
	case '*':
		t->k = TK_STAR;
		break;
	case '/':
		t->k = TK_SLASH;
		break;
	case '%':
		t->k = TK_PERCENT;
		break;
	case '&':
		t->k = TK_AMP;
		break;
	case '|':
		t->k = TK_PIPE;
		break;
	default:
		return lex_err(lx, t, "unexpected character");
	}
	t->len = (size_t)(lx->src + lx->pos - t->p);
	return (int)t->k;
}
