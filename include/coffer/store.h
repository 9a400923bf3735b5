/*
 * The broker's storage interface: sessions, resources (secret values sealed
 * at rest), policies, reference values, principals, used JWT ids and audit
 * records. Callers see only this header; SQLite is the embedded backend and
 * PostgreSQL plugs in as a second implementation of the same operations
 * (ARCHITECTURE.md: no SQL outside store/).
 *
 * Secret values (resource bytes, session tokens) are sealed by this module
 * with AES-256-GCM under a master key held in a separate 0600 file, with the
 * record's identity as additional authenticated data; the master key never
 * enters the database (PERSONAS.md rule 6).
 *
 * Every function is safe to call from several threads on one store.
 */
#ifndef COFFER_STORE_H
#define COFFER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "coffer/buf.h"
#include "coffer/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct coffer_store coffer_store;

typedef struct coffer_store_options {
	int version;
	/* Master key file (32 random bytes, mode 0600); created when absent
	 * and `create_master_key` is set. Required. */
	const char *master_key_path;
	bool create_master_key;
	int busy_timeout_ms; /* 0: 5000 */
} coffer_store_options;

#define COFFER_STORE_OPTIONS_VERSION 1
#define COFFER_STORE_OPTIONS_INIT                   \
	{                                           \
		COFFER_STORE_OPTIONS_VERSION, NULL, \
	}

/* `url`: "sqlite:PATH" or a plain path (SQLite). The schema is created or
 * migrated to the current version. */
int coffer_store_open(coffer_store **out, const char *url, const coffer_store_options *opts);
/* Checkpoints and closes; NULL is fine. */
void coffer_store_close(coffer_store *s);
/* The schema version in use. */
int coffer_store_schema_version(coffer_store *s);
/* Move committed pages from the write-ahead log into the database without
 * blocking anyone (call it off the request path, e.g. once a second). */
int coffer_store_checkpoint(coffer_store *s);
/* "ok" or the first problem (SQLite PRAGMA integrity_check); malloc'd. */
int coffer_store_integrity_check(coffer_store *s, char **out);

/* ---- sessions (RCAR, PROTOCOL.md section 1) ---- */

typedef struct coffer_store_session {
	char id[33];    /* 32 lowercase hex */
	char nonce[64]; /* base64 std of 32 bytes */
	char tee[32];
	char hash_algs[96]; /* negotiated binding hashes, comma separated ("" = default) */
	int64_t created;
	int64_t expires;
	bool nonce_used;
	bool attested;
	char *token; /* the attestation token once attested (malloc'd), else NULL */
} coffer_store_session;

void coffer_store_session_clear(coffer_store_session *sess);

int coffer_store_session_create(coffer_store *s, const coffer_store_session *sess);
/* COFFER_ENOTFOUND when there is no such session. */
int coffer_store_session_get(coffer_store_session *out, coffer_store *s, const char *id);
/* Mark the session's nonce used, once: COFFER_EEXISTS if it already was,
 * COFFER_ENOTFOUND for no session, COFFER_EEXPIRED when expired at `now`. */
int coffer_store_session_use_nonce(coffer_store *s, const char *id, int64_t now);
/* Spend the nonce and record the attestation in one atomic write: succeeds
 * only while the nonce is unused and the session unexpired at `now`
 * (COFFER_EEXISTS: nonce already used; COFFER_EEXPIRED; COFFER_ENOTFOUND). */
int coffer_store_session_attest(coffer_store *s, const char *id, const char *token, int64_t expires,
                                int64_t now);
/* Delete sessions and used JWT ids that expired before `now`; count out. */
int coffer_store_sweep(coffer_store *s, int64_t now, size_t *removed);

/* ---- resources ("repo/type/tag" -> secret bytes) ---- */

typedef struct coffer_store_resource_info {
	char *path;
	size_t size;
	int64_t created;
	int64_t updated;
	char *owner; /* principal id that wrote it, or NULL */
} coffer_store_resource_info;

/* Create or replace. The value is sealed; durable on return. */
int coffer_store_resource_put(coffer_store *s, const char *path, const uint8_t *value, size_t len,
                              const char *owner, int64_t now);
/* The same value under each of `paths` (1..COFFER_STORE_PATHS_MAX), in one
 * transaction: all are stored or none is. */
#define COFFER_STORE_PATHS_MAX 2097152 /* above cofferd's 1,000,000 versions of a name */
int coffer_store_resource_put_paths(coffer_store *s, const char *const *paths, size_t n,
                                    const uint8_t *value, size_t len, const char *owner,
                                    int64_t now);
/* The unsealed value; COFFER_ENOTFOUND when absent, COFFER_EVERIFY when the
 * sealed record fails authentication (tampered or moved). */
int coffer_store_resource_get(coffer_secret *out, coffer_store *s, const char *path);
int coffer_store_resource_delete(coffer_store *s, const char *path);
/* Delete each of `paths` (1..COFFER_STORE_PATHS_MAX) in one transaction:
 * all or none; *deleted = how many existed. */
int coffer_store_resource_delete_paths(coffer_store *s, const char *const *paths, size_t n,
                                       size_t *deleted);
/* Metadata only, sorted by path; `prefix` (e.g. "repo/") may be NULL. */
int coffer_store_resource_list(coffer_store_resource_info **out, size_t *n, coffer_store *s,
                               const char *prefix);
void coffer_store_resource_info_free(coffer_store_resource_info *v, size_t n);

/* ---- policies (kind "attestation", "resource", "release"; id) ----
 * Kind "audit-checkpoint" keeps the broker's signed audit checkpoints (id =
 * the zero-padded seq, text = the compact JWS) next to the entries. */

int coffer_store_policy_put(coffer_store *s, const char *kind, const char *id, const char *text,
                            size_t len, int64_t now);
int coffer_store_policy_get(char **out, size_t *len, coffer_store *s, const char *kind,
                            const char *id);
int coffer_store_policy_delete(coffer_store *s, const char *kind, const char *id);
/* JSON array of ids of that kind, sorted. */
int coffer_store_policy_list(json_t **out, coffer_store *s, const char *kind);

/* ---- reference values (name -> JSON array) ---- */

int coffer_store_refval_set(coffer_store *s, const char *name, const json_t *values, int64_t now);
/* Every member of `payload`, {"name": [values], ...} (1..1024 members), in
 * one transaction: all are set or none is. */
int coffer_store_refval_set_many(coffer_store *s, const json_t *payload, int64_t now);
int coffer_store_refval_get(json_t **out, coffer_store *s, const char *name);
/* Object of every name -> values (the policy's data.reference). */
int coffer_store_refval_all(json_t **out, coffer_store *s);

/* ---- principals (PERSONAS.md) ---- */

typedef struct coffer_store_principal {
	char *id;
	char *persona;
	json_t *public_key; /* JWK */
	json_t *namespaces; /* array of strings */
	char *enrolled_by;
	int64_t enrolled_at;
	bool disabled;
} coffer_store_principal;

void coffer_store_principal_clear(coffer_store_principal *p);
/* COFFER_EEXISTS if the id is taken. */
int coffer_store_principal_add(coffer_store *s, const coffer_store_principal *p);
int coffer_store_principal_get(coffer_store_principal *out, coffer_store *s, const char *id);
int coffer_store_principal_set_disabled(coffer_store *s, const char *id, bool disabled);
int coffer_store_principal_list(coffer_store_principal **out, size_t *n, coffer_store *s);
void coffer_store_principal_list_free(coffer_store_principal *v, size_t n);

/* ---- used JWT ids (admin token replay, PERSONAS.md rule 4) ---- */

/* Record `jti` until `expires`: COFFER_EEXISTS if it was already used. */
int coffer_store_jti_use(coffer_store *s, const char *jti, int64_t expires);

/* ---- audit records ---- */

/* Append one record (a JSON object, stored as compact JSON) and return its
 * sequence number. `ns` (namespace) may be NULL. */
int coffer_store_audit_append(int64_t *seq_out, coffer_store *s, int64_t now, const char *actor,
                              const char *action, const char *ns, const json_t *record);
/* One record of a batch: the same arguments as coffer_store_audit_append;
 * `seq` is set to its store sequence number on success. */
typedef struct coffer_store_audit_rec {
	int64_t time;
	const char *actor; /* NULL: "" */
	const char *action;
	const char *ns; /* may be NULL */
	const json_t *record;
	int64_t seq; /* out */
} coffer_store_audit_rec;

/* Append `n` records (1 to COFFER_STORE_AUDIT_BATCH_MAX) in ONE transaction,
 * in array order: on success every record is durable (one commit, one
 * sync), on failure none is stored. This is the broker's group commit. */
#define COFFER_STORE_AUDIT_BATCH_MAX 1024
int coffer_store_audit_append_batch(coffer_store *s, coffer_store_audit_rec *recs, size_t n);
/* The same, and in the same transaction a policy record (the broker's signed
 * audit checkpoint over the batch's last entry: kind "audit-checkpoint")
 * put as coffer_store_policy_put would; `kind` NULL: none. */
int coffer_store_audit_append_batch_with(coffer_store *s, coffer_store_audit_rec *recs, size_t n,
                                         const char *kind, const char *id, const char *text,
                                         size_t len);
/* The newest record (highest seq) in the shape audit_list gives, or *out =
 * NULL when there is none: the broker's chain head at start, without
 * reading the whole log. */
int coffer_store_audit_last(json_t **out, coffer_store *s);
/* Records with seq > after (at most `limit`), for `ns` when not NULL, as an
 * array of {"seq","time","actor","action","namespace","record"}. */
int coffer_store_audit_list(json_t **out, coffer_store *s, int64_t after, const char *ns,
                            size_t limit);

#ifdef __cplusplus
}
#endif
#endif
