/*
 * The audit trail (PERSONAS.md rule 7, docs/audit.md): hash-chained entries,
 * ES256-signed checkpoints, scoped exports and their offline verification.
 *
 * This module is pure: it defines and checks the chain. The broker stores the
 * entries and signs checkpoints with it; `coffer audit verify` checks exports
 * with it, so both sides run the same code.
 *
 *   digest_k = SHA-256(JCS(entry_k without its "hash" member))
 *   hash_k   = SHA-256(hash_{k-1} || digest_k)        (32 + 32 bytes)
 *   hash_0   = 32 zero bytes
 *
 * An entry outside a reader's scope is exported as a stub
 * {"seq":k,"digest":"<hex>","hash":"<hex>"}: no metadata, yet the chain
 * through it still recomputes. Every entry carries a random "salt" so that a
 * stub's digest does not let a reader confirm a guess of the hidden entry.
 */
#ifndef COFFER_AUDIT_H
#define COFFER_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "coffer/common.h"
#include "coffer/jose.h"

#ifdef __cplusplus
extern "C" {
#endif

#define COFFER_AUDIT_EXPORT_VERSION  1
#define COFFER_AUDIT_HEX_LEN         64 /* hex SHA-256 */
#define COFFER_AUDIT_CHECKPOINT_TYPE "coffer-audit-checkpoint"

/* Bounds (COFFER_ELIMIT beyond them). */
#define COFFER_AUDIT_MAX_EXPORT          ((size_t)64 * 1024 * 1024)  /* export text */
#define COFFER_AUDIT_MAX_ENTRIES         ((size_t)1 << 20)           /* entries per export */
#define COFFER_AUDIT_MAX_CHECKPOINTS     ((size_t)1 << 16)           /* checkpoints per export */
#define COFFER_AUDIT_MAX_ENTRY_SIZE      ((size_t)16 * 1024)         /* JCS bytes of one entry */
#define COFFER_AUDIT_MAX_CHECKPOINT_SIZE ((size_t)4096)              /* one compact JWS */
#define COFFER_AUDIT_MAX_SEQ             ((int64_t)9007199254740991) /* 2^53 - 1 (JCS) */

/* Build the next entry. `prev` is the previous entry (or its stub: only its
 * "seq" and "hash" are read), NULL for the first entry. `fields` holds
 *   "kind": "admin" | "release"                                  (required)
 *   "action": e.g. "resource.put", "policy.set", "release"        (required)
 *   "actor": principal id (admin) or claims summary (release)     (required)
 *     {"tee", "measurement", "chip_id" | "platform_id", "init_data",
 *      "policy_ids": [...]}; only "tee" is required
 *   "outcome": "allowed" | "denied" | "ok" | "error"              (required)
 *   "namespace", "resource": string or null                       (default null)
 *   "reason": text, never a secret                                (default "")
 *   "time": RFC 3339 UTC "YYYY-MM-DDTHH:MM:SS[.f]Z"               (default now)
 * Other members are refused. The result carries seq, time, prev, salt and
 * hash as well; the caller owns it. */
int coffer_audit_append(json_t **out, const json_t *prev, const json_t *fields);

#define COFFER_AUDIT_SALT_SIZE 16 /* random bytes in an entry's "salt" */

/* For a writer that chains entries in batches (cofferd). */
typedef struct coffer_audit_append_opts {
	int version;
	/* The entry takes references to the values of `fields` instead of deep
	 * copies: neither the caller nor the entry's owner may change them
	 * afterwards (the entry's hash covers them). */
	bool share_fields;
	/* COFFER_AUDIT_SALT_SIZE fresh bytes from RAND_bytes drawn for this entry
	 * alone (a writer may draw a whole batch's salts in one call and hand
	 * each entry its own slice; never reuse one). NULL: drawn here. */
	const uint8_t *salt;
} coffer_audit_append_opts;

#define COFFER_AUDIT_APPEND_OPTS_VERSION 1
#define COFFER_AUDIT_APPEND_OPTS_INIT                         \
	{                                                     \
		COFFER_AUDIT_APPEND_OPTS_VERSION, false, NULL \
	}

/* coffer_audit_append with options (`opts` NULL: the defaults, the same as
 * coffer_audit_append). The entry's bytes do not depend on the options. */
int coffer_audit_append_ext(json_t **out, const json_t *prev, const json_t *fields,
                            const coffer_audit_append_opts *opts);

/* SHA-256 of the JCS form of `entry` without its "hash" member. */
int coffer_audit_entry_digest(uint8_t out[32], const json_t *entry);

/* The entry's chain hash from its own "prev" member and its content, as
 * lowercase hex (NUL-terminated). It does not compare with "hash". */
int coffer_audit_entry_hash(char out[COFFER_AUDIT_HEX_LEN + 1], const json_t *entry);

/* {"seq","digest","hash"} for an entry (a stub is returned as a copy). */
int coffer_audit_stub(json_t **out, const json_t *entry);

/* Compact JWS, ES256, over the JCS form of
 *   {"hash":hash_hex,"seq":seq,"time":time,"type":"coffer-audit-checkpoint"}
 * `key` is a private EC P-256 JWK; its "kid", when set, goes in the header.
 * `time` NULL means now. */
int coffer_audit_checkpoint_sign(char **out, const coffer_jwk *key, int64_t seq,
                                 const char *hash_hex, const char *time);

/* Verify one checkpoint with any of `keys` and decode it. COFFER_EVERIFY for
 * a signature that does not verify, a payload that is not a checkpoint, or an
 * alg other than ES256; COFFER_EINVAL when it is not a compact JWS at all. */
int coffer_audit_checkpoint_verify(int64_t *seq_out, char hash_out[COFFER_AUDIT_HEX_LEN + 1],
                                   const char *jws, size_t len, coffer_jwk *const *keys,
                                   size_t nkeys);

/* {"version":1,"entries":[...],"checkpoints":[...]} (new references to both
 * arrays; `checkpoints` may be NULL for none). */
int coffer_audit_export_new(json_t **out, json_t *entries, json_t *checkpoints);

/* Strict parse of an export document and of its shape (version, arrays,
 * counts); the entries themselves are checked by coffer_audit_verify. */
int coffer_audit_export_parse(json_t **out, const char *text, size_t len);

/* Which entries a reader may see. */
typedef struct coffer_audit_scope {
	int version;
	bool all;                      /* the workload provider: every entry */
	const char *const *namespaces; /* otherwise: entries whose "namespace" is one of */
	size_t nnamespaces;
} coffer_audit_scope;

#define COFFER_AUDIT_SCOPE_VERSION 1
#define COFFER_AUDIT_SCOPE_INIT                            \
	{                                                  \
		COFFER_AUDIT_SCOPE_VERSION, false, NULL, 0 \
	}

/* True when a full entry falls within `scope` (never for a stub). */
bool coffer_audit_in_scope(const json_t *entry, const coffer_audit_scope *scope);

/* The reader's view of an export: entries in scope as they are, the others
 * as stubs, every checkpoint, and "scope" recording what was kept. A view
 * of an export that verifies verifies too, with the same head and anchor. */
int coffer_audit_filter(json_t **out, const json_t *export_doc, const coffer_audit_scope *scope);

typedef struct coffer_audit_verify_opts {
	int version;
	/* Accept an export whose first entry is not seq 1 (the chain is then
	 * trusted from its first entry on, or from the hash a checkpoint at
	 * first_seq - 1 signed when one is given: see head_anchored). Default:
	 * refused as a dropped head. */
	bool allow_partial_head;
	/* Checkpoints kept from an earlier export (compact JWS), checked against
	 * this one as if they were in it: a later export must extend the chain
	 * an earlier checkpoint signed. */
	const char *const *extra_checkpoints;
	size_t nextra_checkpoints;
} coffer_audit_verify_opts;

#define COFFER_AUDIT_VERIFY_OPTS_VERSION 1
#define COFFER_AUDIT_VERIFY_OPTS_INIT                            \
	{                                                        \
		COFFER_AUDIT_VERIFY_OPTS_VERSION, false, NULL, 0 \
	}

typedef struct coffer_audit_report {
	size_t entries;     /* items in "entries" */
	size_t full;        /* of which full entries */
	size_t stubs;       /* of which stubs */
	size_t checkpoints; /* checkpoints whose signature verified */
	size_t unchecked;   /* checkpoints not checked (no key given) */
	int64_t first_seq;  /* 0 when there are no entries */
	int64_t last_seq;
	int64_t anchored_seq; /* highest seq a verified checkpoint covers; 0: none */
	bool unanchored_tail; /* entries after anchored_seq exist */
	bool head_anchored;   /* a partial export's first "prev" is signed (seq first - 1) */
	int64_t bad_seq;      /* on COFFER_EVERIFY: the seq where it was found, or 0 */
	char head[COFFER_AUDIT_HEX_LEN + 1]; /* the hash at last_seq ("" if none) */
} coffer_audit_report;

/* Check an export: seq consecutive from the first entry (seq 1 unless
 * allowed otherwise); each full entry's "prev" equals the previous hash and
 * its hash recomputes; each stub's hash recomputes from the previous hash and
 * its digest; every checkpoint verifies with one of `keys` (ES256) and signs
 * the chain's hash at its seq, which must lie within the export (or be
 * first_seq - 1, then matching the first entry's "prev"). With no keys
 * the checkpoints are counted in `unchecked` and anchor nothing.
 * Returns 0 when everything holds; COFFER_EVERIFY when the export was
 * tampered with (the message and report->bad_seq say where and why);
 * COFFER_EINVAL / COFFER_ELIMIT when the document is not an export at all.
 * `opts` may be NULL. The report is filled as far as verification got. */
int coffer_audit_verify(coffer_audit_report *report, const json_t *export_doc,
                        coffer_jwk *const *keys, size_t nkeys,
                        const coffer_audit_verify_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
