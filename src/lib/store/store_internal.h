/*
 * The backend interface behind coffer/store.h. store.c does the sealing and
 * argument checks once; a backend (sqlite.c today, PostgreSQL later) only
 * moves rows. Sealed blobs are nonce(12) || ciphertext || tag(16).
 */
#ifndef COFFER_STORE_INTERNAL_H
#define COFFER_STORE_INTERNAL_H

#include "coffer/store.h"

/* One audit row for audit_append_batch (record_json: compact JSON). */
struct store_audit_row {
	int64_t time;
	const char *actor;
	const char *action;
	const char *ns;
	const char *record_json;
};

struct store_resource_row {
	const char *path;
	const uint8_t *sealed;
	size_t sealed_len;
	size_t plain_len;
};

struct store_ops {
	const char *name;
	int (*open)(void **out, const char *location, int busy_timeout_ms);
	void (*close)(void *b);
	int (*schema_version)(void *b);
	int (*integrity_check)(void *b, char **out);

	int (*session_create)(void *b, const coffer_store_session *sess);
	/* token comes back sealed in *sealed (malloc'd) */
	int (*session_get)(void *b, coffer_store_session *out, const char *id, uint8_t **sealed,
	                   size_t *sealed_len);
	int (*session_use_nonce)(void *b, const char *id, int64_t now);
	int (*session_attest)(void *b, const char *id, const uint8_t *sealed_token, size_t len,
	                      int64_t expires, int64_t now);
	int (*checkpoint)(void *b);
	int (*sweep)(void *b, int64_t now, size_t *removed);

	/* all rows in one transaction */
	int (*resource_put)(void *b, const struct store_resource_row *rows, size_t n,
	                    const char *owner, int64_t now);
	int (*resource_get)(void *b, const char *path, uint8_t **sealed, size_t *len);
	/* all paths in one transaction; *deleted = rows that existed */
	int (*resource_delete_many)(void *b, const char *const *paths, size_t n, size_t *deleted);
	int (*resource_list)(void *b, coffer_store_resource_info **out, size_t *n,
	                     const char *prefix);

	int (*policy_put)(void *b, const char *kind, const char *id, const char *text, size_t len,
	                  int64_t now);
	int (*policy_get)(void *b, char **out, size_t *len, const char *kind, const char *id);
	int (*policy_delete)(void *b, const char *kind, const char *id);
	int (*policy_list)(void *b, json_t **out, const char *kind);

	/* all n in one transaction */
	int (*refval_set)(void *b, const char *const *names, char *const *json_texts, size_t n,
	                  int64_t now);
	int (*refval_get)(void *b, char **json_text, const char *name);
	int (*refval_all)(void *b, json_t **out);

	int (*principal_add)(void *b, const coffer_store_principal *p);
	int (*principal_get)(void *b, coffer_store_principal *out, const char *id);
	int (*principal_set_disabled)(void *b, const char *id, bool disabled);
	int (*principal_list)(void *b, coffer_store_principal **out, size_t *n);

	int (*jti_use)(void *b, const char *jti, int64_t expires);

	/* n rows in one transaction (a single row needs none), all or none;
	 * seq[i] out; with `pkind` set, that policy record too */
	int (*audit_append_batch)(void *b, const struct store_audit_row *rows, size_t n,
	                          int64_t *seq, const char *pkind, const char *pid,
	                          const char *ptext, size_t plen);
	/* *out = the highest-seq row as audit_list builds it, or NULL */
	int (*audit_last)(void *b, json_t **out);
	int (*audit_list)(void *b, json_t **out, int64_t after, const char *ns, size_t limit);
};

extern const struct store_ops coffer_store_sqlite_ops;

#endif
