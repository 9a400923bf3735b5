/*
 * Strict JSON parsing on jansson and member accessors (the compact dump
 * shares jcs.c's writer).
 *
 * jansson already rejects invalid UTF-8 (overlong forms, encoded surrogates,
 * lone \u surrogate escapes) and, without JSON_DISABLE_EOF_CHECK, anything
 * but whitespace after the value. What it does not bound tightly enough is
 * nesting (its limit is 2048 levels of recursion in the decoder and in every
 * consumer that walks the tree), so a pre-scan enforces COFFER_JSON_MAX_DEPTH
 * before jansson sees the text.
 *
 * "\u0000" inside strings is valid JSON but is refused (jansson is not given
 * JSON_ALLOW_NUL): callers use the NUL-terminated json_string_value(), and a
 * string such as "admin\u0000x" would compare equal to "admin" there.
 */
#include <string.h>

#include "coffer/json.h"

/* Depth of the text's deepest container; on overflow, where it happened. */
static int check_depth(const char *text, size_t len)
{
	unsigned depth = 0;
	size_t line = 1, col = 0;
	int in_string = 0, escaped = 0;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		col++;
		if (c == '\n') {
			line++;
			col = 0;
		}
		if (in_string) {
			if (escaped)
				escaped = 0;
			else if (c == '\\')
				escaped = 1;
			else if (c == '"')
				in_string = 0;
			continue;
		}
		switch (c) {
		case '"':
			in_string = 1;
			break;
		case '[':
		case '{':
			if (++depth > COFFER_JSON_MAX_DEPTH)
				return coffer_error_set(
				        COFFER_ELIMIT,
				        "JSON: line %zu, column %zu: nesting deeper "
				        "than %d levels",
				        line, col, COFFER_JSON_MAX_DEPTH);
			break;
		case ']':
		case '}':
			/* unbalanced text is jansson's to reject, with a better message */
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* `text` need not be NUL-terminated: no str* functions on it. */
static int only_whitespace(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n')
			return 0;
	return 1;
}

int coffer_json_parse(json_t **out, const char *text, size_t len, unsigned flags)
{
	json_error_t err;
	size_t jflags = 0;
	json_t *v;
	int error;

	*out = NULL;
	if (flags & ~(unsigned)(COFFER_JSON_ALLOW_DUPLICATES | COFFER_JSON_NUMBERS_AS_REAL |
	                        COFFER_JSON_ANY))
		return coffer_error_set(COFFER_EINVAL, "JSON: unknown parse flags 0x%x", flags);
	if (text == NULL) {
		if (len != 0)
			return coffer_error_set(COFFER_EINVAL, "JSON: no input");
		text = "";
	}
	if (len > COFFER_JSON_MAX_INPUT)
		return coffer_error_set(COFFER_ELIMIT, "JSON: input of %zu bytes exceeds %zu", len,
		                        (size_t)COFFER_JSON_MAX_INPUT);
	if ((error = check_depth(text, len)) < 0)
		return error;
	if (only_whitespace(text, len))
		return coffer_error_set(COFFER_EINVAL, "JSON: empty input");

	if (!(flags & COFFER_JSON_ALLOW_DUPLICATES))
		jflags |= JSON_REJECT_DUPLICATES;
	if (flags & COFFER_JSON_NUMBERS_AS_REAL)
		jflags |= JSON_DECODE_INT_AS_REAL;
	if (flags & COFFER_JSON_ANY)
		jflags |= JSON_DECODE_ANY;

	v = json_loadb(text, len, jflags, &err);
	if (v == NULL) {
		/* jansson ends most messages with " near '<token>'", a copy of
		 * the input (a private key's "d", a secret value): the line and
		 * column say where, the text itself never reaches a message */
		char *near = strstr(err.text, " near ");
		if (near != NULL)
			*near = '\0';
		return coffer_error_set(COFFER_EINVAL, "JSON: line %d, column %d: %s", err.line,
		                        err.column, err.text);
	}
	*out = v;
	return 0;
}

static int get_member(json_t **out, const json_t *obj, const char *key, json_type type,
                      const char *type_name)
{
	json_t *m;

	*out = NULL;
	if (obj == NULL || !json_is_object(obj))
		return coffer_error_set(COFFER_EINVAL, "JSON: looking up \"%s\" in a non-object",
		                        key);
	m = json_object_get(obj, key);
	if (m == NULL)
		return coffer_error_set(COFFER_ENOTFOUND, "JSON: missing member \"%s\"", key);
	if (json_typeof(m) != type)
		return coffer_error_set(COFFER_EINVAL, "JSON: member \"%s\" is not %s", key,
		                        type_name);
	*out = m;
	return 0;
}

int coffer_json_get_string(const char **out, const json_t *obj, const char *key)
{
	json_t *m;
	int error;

	*out = NULL;
	if ((error = get_member(&m, obj, key, JSON_STRING, "a string")) < 0)
		return error;
	*out = json_string_value(m);
	return 0;
}

int coffer_json_get_object(json_t **out, const json_t *obj, const char *key)
{
	return get_member(out, obj, key, JSON_OBJECT, "an object");
}

int coffer_json_get_array(json_t **out, const json_t *obj, const char *key)
{
	return get_member(out, obj, key, JSON_ARRAY, "an array");
}
