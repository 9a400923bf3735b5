/* Helpers shared by the audit module's files. */
#ifndef COFFER_AUDIT_INTERNAL_H
#define COFFER_AUDIT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "coffer/audit.h"

/* Exactly 64 lowercase hex digits -> 32 bytes; -1 otherwise. */
int audit_hex32_decode(uint8_t out[32], const char *s);
void audit_hex32_encode(char out[COFFER_AUDIT_HEX_LEN + 1], const uint8_t in[32]);
/* "YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z" with valid field ranges. */
bool audit_time_valid(const char *s);
/* The current time in that form (seconds). */
int audit_time_now(char out[32]);
/* SHA-256 of a || b (b may be NULL). */
int audit_sha256(uint8_t out[32], const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* hash_k = SHA-256(prev || digest). */
int audit_link(uint8_t out[32], const uint8_t prev[32], const uint8_t digest[32]);
/* An integer member in 1..COFFER_AUDIT_MAX_SEQ, or -1. */
int64_t audit_seq(const json_t *obj, const char *key);
/* An object that has "digest" and no "prev". */
bool audit_is_stub(const json_t *e);
/* Content rules shared by append (fields) and verify (full entries):
 * kind, action, actor, outcome, namespace, resource, reason, time. */
int audit_check_content(const json_t *e);

#endif
