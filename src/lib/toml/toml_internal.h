/* TOML value tree shared by the parser and the accessors (toml.h). */
#ifndef COFFER_TOML_INTERNAL_H
#define COFFER_TOML_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coffer/toml.h"

/*
 * How a table or array came to exist; enforces the redefinition rules of
 * TOML 1.0 ("Table", "Array of Tables"):
 *  - IMPLICIT: created as a parent by a [x.y] header; one later [x] may
 *    define it;
 *  - HEADER:   defined by [x] or an element of [[x]]; never again by [x],
 *    nor extended by dotted keys from another section;
 *  - DOTTED:   created (or entered) by a dotted key in section `section`;
 *    only keys of that same section may add to it, headers may create
 *    sub-tables below it, but never define it;
 *  - INLINE:   an inline table, immutable once closed;
 *  - AOT:      an array created by [[x]] (other arrays are static values).
 */
#define TOML_T_IMPLICIT 0x1u
#define TOML_T_HEADER   0x2u
#define TOML_T_DOTTED   0x4u
#define TOML_T_INLINE   0x8u
#define TOML_A_AOT      0x10u

struct toml_kv {
	char *key; /* NUL-terminated, may contain NUL */
	size_t keylen;
	coffer_toml_value *val;
};

struct coffer_toml_value {
	coffer_toml_type type;
	unsigned flags;
	unsigned depth;
	unsigned section;
	union {
		struct {
			char *ptr; /* strings and date/time text, NUL-terminated */
			size_t len;
		} s;
		int64_t i;
		double f;
		bool b;
		struct {
			coffer_toml_value **items;
			size_t len, cap;
		} a;
		struct {
			struct toml_kv *kv;
			size_t len, cap;
			size_t *index; /* open-addressing hash of kv positions + 1, 0 = free */
			size_t index_cap;
		} t;
	} u;
};

struct coffer_toml {
	coffer_toml_value *root;
};

coffer_toml_value *toml_value_new(coffer_toml_type type, unsigned depth);
void toml_value_free(coffer_toml_value *v);
/* Borrowed pointer or NULL. */
coffer_toml_value *toml_table_find(const coffer_toml_value *t, const char *key, size_t keylen);
/* Takes ownership of `key` and `val` on success only. */
int toml_table_insert(coffer_toml_value *t, char *key, size_t keylen, coffer_toml_value *val);
/* Takes ownership of `val` on success only. */
int toml_array_push(coffer_toml_value *a, coffer_toml_value *val);

/* SipHash-2-4 of data under a 128-bit key (for the table index). */
uint64_t toml_siphash24(const uint8_t key[16], const void *data, size_t len);

/* Printable, escaped, UTF-8-safe and truncated form of a key for error
 * messages (keys may hold control characters through escapes). */
void toml_key_for_msg(char *out, size_t outsz, const char *s, size_t len);

/* Parse a TOML key ("a.b", "x.\"y.z\"") into its components; for paths. */
struct toml_key_part {
	char *s;
	size_t len;
};
int toml_parse_key_path(struct toml_key_part **out, size_t *n, const char *path);
void toml_key_parts_free(struct toml_key_part *parts, size_t n);

#endif
