/*
 * JSON on jansson, and RFC 8785 (JCS) canonical serialization.
 */
#ifndef COFFER_JSON_H
#define COFFER_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "coffer/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parse flags. */
#define COFFER_JSON_ALLOW_DUPLICATES 0x1 /* default: duplicate object keys are an error */
#define COFFER_JSON_NUMBERS_AS_REAL  0x2 /* every number is an IEEE double (JCS input) */
#define COFFER_JSON_ANY              0x4 /* accept any value at top level, not only object/array */

/* Limits of coffer_json_parse (COFFER_ELIMIT beyond them). Depth counts
 * containers: "[]" is 1. "\u0000" in strings is always refused (EINVAL):
 * json_string_value() is NUL-terminated and a NUL would truncate it. */
#define COFFER_JSON_MAX_DEPTH 64
#define COFFER_JSON_MAX_INPUT ((size_t)64 * 1024 * 1024)

/* jansson ends most parse messages with " near '<token>'", a copy of the
 * input: for a private JWK or a secret value that is secret material in an
 * error message or a log. Cut it off; line and column stay. Header-only so
 * modules that call jansson directly need not link this one. */
#include <string.h>
static inline const char *coffer_json_error_scrub(json_error_t *e)
{
	char *near = strstr(e->text, " near ");
	if (near != NULL)
		*near = '\0';
	return e->text;
}

/* Make jansson wipe every block it frees (process-wide). Call first thing
 * in main(), before any JSON value exists: the daemons and the CLI do. */
void coffer_json_wipe_on_free(void);

/* Strict parse of exactly `len` bytes: one value, nothing but whitespace after,
 * no duplicate keys, valid UTF-8, nesting bounded. Errors name line/column. */
int coffer_json_parse(json_t **out, const char *text, size_t len, unsigned flags);

/* Compact serialization keeping insertion order (no spaces): the bytes
 * json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) gives, written by coffer's
 * own writer (jcs.c), which is faster and wipes its intermediate buffers.
 * Free *out with free(). COFFER_EINVAL for a string that is not UTF-8,
 * COFFER_ELIMIT for nesting deeper than 1024 levels (or a cycle). */
int coffer_json_dump(char **out, size_t *len, const json_t *v);

/* RFC 8785: sorted keys (UTF-16 code unit order), ES6 number formatting,
 * minimal string escaping, no whitespace. Integers are written exactly when
 * |n| <= 2^53; larger ones and non-finite reals are refused (COFFER_EINVAL). */
int coffer_jcs_serialize(char **out, size_t *len, const json_t *v);

/* ES6 Number.prototype.toString for a finite double (RFC 8785 section 3.2.2.3).
 * `out` must hold 32 bytes. */
int coffer_jcs_format_number(char out[32], double d);

/* Accessors that set a message naming the member on failure: COFFER_ENOTFOUND
 * when the member is absent, COFFER_EINVAL when `obj` is not an object or the
 * member has another type. Returned pointers are borrowed from `obj`. */
int coffer_json_get_string(const char **out, const json_t *obj, const char *key);
int coffer_json_get_object(json_t **out, const json_t *obj, const char *key);
int coffer_json_get_array(json_t **out, const json_t *obj, const char *key);

#ifdef __cplusplus
}
#endif
#endif
