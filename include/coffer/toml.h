/*
 * TOML 1.0 (https://toml.io/en/v1.0.0): a strict parser into an owned value
 * tree, typed accessors for configuration files and init-data, and
 * conversion to JSON (plain, or the toml-test tagged form).
 *
 * The parser is bounded: input size and nesting depth (tables, arrays and
 * key components all count) are limited by coffer_toml_options. A failure
 * returns COFFER_EINVAL (COFFER_ELIMIT for a limit) with the message
 * "line L, column C: ..." (1-based, columns count characters).
 *
 * Example (init-data, PROTOCOL.md):
 *
 *	coffer_toml *doc = NULL;
 *	const char *alg, *aa;
 *	if (coffer_toml_parse(&doc, text, len, NULL) < 0 ||
 *	    coffer_toml_get_string(&alg, coffer_toml_root(doc), "algorithm") < 0 ||
 *	    coffer_toml_get_string(&aa, coffer_toml_root(doc), "data.\"aa.toml\"") < 0)
 *		...;
 *	coffer_toml_free(doc);
 */
#ifndef COFFER_TOML_H
#define COFFER_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "coffer/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum coffer_toml_type {
	COFFER_TOML_STRING = 1,
	COFFER_TOML_INTEGER, /* int64_t */
	COFFER_TOML_FLOAT,   /* double, inf and nan included */
	COFFER_TOML_BOOL,
	COFFER_TOML_DATETIME,       /* offset date-time, 1979-05-27T07:32:00Z */
	COFFER_TOML_DATETIME_LOCAL, /* 1979-05-27T07:32:00 */
	COFFER_TOML_DATE_LOCAL,     /* 1979-05-27 */
	COFFER_TOML_TIME_LOCAL,     /* 07:32:00.999 */
	COFFER_TOML_ARRAY,
	COFFER_TOML_TABLE,
} coffer_toml_type;

/* A parsed document; owns every value reachable from its root. */
typedef struct coffer_toml coffer_toml;
/* A value inside a document, always borrowed from it. */
typedef struct coffer_toml_value coffer_toml_value;

#define COFFER_TOML_MAX_INPUT ((size_t)1024 * 1024)
#define COFFER_TOML_MAX_DEPTH 64
/* Upper bound accepted for coffer_toml_options.max_depth. */
#define COFFER_TOML_DEPTH_CEILING 1000

typedef struct coffer_toml_options {
	int version;
	size_t max_input;   /* bytes; longer input fails with COFFER_ELIMIT */
	unsigned max_depth; /* 1..COFFER_TOML_DEPTH_CEILING; the root table is depth 0 */
} coffer_toml_options;

#define COFFER_TOML_OPTIONS_VERSION 1
#define COFFER_TOML_OPTIONS_INIT                                                          \
	{                                                                                 \
		COFFER_TOML_OPTIONS_VERSION, COFFER_TOML_MAX_INPUT, COFFER_TOML_MAX_DEPTH \
	}

/* Parse exactly `len` bytes (a leading UTF-8 BOM is skipped). `opts` may be
 * NULL for the defaults. On success *out owns the document. */
int coffer_toml_parse(coffer_toml **out, const char *text, size_t len,
                      const coffer_toml_options *opts);
void coffer_toml_free(coffer_toml *doc);

/* The root table. */
const coffer_toml_value *coffer_toml_root(const coffer_toml *doc);

coffer_toml_type coffer_toml_type_of(const coffer_toml_value *v);
/* "string", "integer", "float", "bool", "datetime", "datetime-local",
 * "date-local", "time-local", "array", "table" (the toml-test names). */
const char *coffer_toml_type_name(coffer_toml_type t);

/* Scalars; each returns a zero value when `v` has another type.
 * coffer_toml_string: NUL-terminated, but TOML allows "\u0000" inside, so
 * `len` (may be NULL) gives the real length. coffer_toml_datetime_text: the
 * normalized RFC 3339 text of the four date/time types ('T' and 'Z' upper
 * case, a space separator replaced by 'T', fraction digits as written). */
const char *coffer_toml_string(const coffer_toml_value *v, size_t *len);
int64_t coffer_toml_int(const coffer_toml_value *v);
double coffer_toml_float(const coffer_toml_value *v);
bool coffer_toml_bool(const coffer_toml_value *v);
const char *coffer_toml_datetime_text(const coffer_toml_value *v);

/* Arrays (0 / NULL for another type or an index out of range). */
size_t coffer_toml_array_size(const coffer_toml_value *v);
const coffer_toml_value *coffer_toml_array_at(const coffer_toml_value *v, size_t i);

/* Tables, in document order. Keys are NUL-terminated; `keylen` (may be
 * NULL) gives the length when a quoted key contains "\u0000". */
size_t coffer_toml_table_size(const coffer_toml_value *t);
const char *coffer_toml_table_key_at(const coffer_toml_value *t, size_t i, size_t *keylen);
const coffer_toml_value *coffer_toml_table_value_at(const coffer_toml_value *t, size_t i);
/* One key (not a path), NULL when absent. */
const coffer_toml_value *coffer_toml_table_get(const coffer_toml_value *t, const char *key);

/*
 * Config-style access by key path. `path` uses TOML key syntax: bare or
 * quoted keys joined by dots, e.g. "server.port" or "data.\"aa.toml\"".
 * Return 0, COFFER_ENOTFOUND when a component is missing, or COFFER_EINVAL
 * when the path is malformed or the value has another type (the message
 * names the path and both types). get_string refuses strings containing
 * NUL (COFFER_EINVAL) so that C callers never see a truncated value.
 * Results are borrowed from the document.
 */
int coffer_toml_get(const coffer_toml_value **out, const coffer_toml_value *t, const char *path);
int coffer_toml_get_table(const coffer_toml_value **out, const coffer_toml_value *t,
                          const char *path);
int coffer_toml_get_array(const coffer_toml_value **out, const coffer_toml_value *t,
                          const char *path);
int coffer_toml_get_string(const char **out, const coffer_toml_value *t, const char *path);
int coffer_toml_get_int(int64_t *out, const coffer_toml_value *t, const char *path);
int coffer_toml_get_float(double *out, const coffer_toml_value *t, const char *path);
int coffer_toml_get_bool(bool *out, const coffer_toml_value *t, const char *path);

/* Strict configs: COFFER_EINVAL ("unknown key 'k'") when table `t` has a key
 * not among the `n` names in `allowed`. */
int coffer_toml_check_keys(const coffer_toml_value *t, const char *const *allowed, size_t n);

/*
 * Plain JSON: tables -> objects, arrays -> arrays, integers -> json_integer,
 * floats -> json_real, date/time values -> their text. inf and nan have no
 * JSON form: COFFER_EINVAL. *out is a new reference.
 */
int coffer_toml_to_json(json_t **out, const coffer_toml_value *v);

/* The toml-test tagged form: every scalar becomes
 * {"type":"integer","value":"42"}; floats are written with 17 significant
 * digits ("inf", "-inf", "nan" for the specials). */
int coffer_toml_to_tagged_json(json_t **out, const coffer_toml_value *v);

#ifdef __cplusplus
}
#endif
#endif
