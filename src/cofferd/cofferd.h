/* cofferd internals: configuration, the server context, the handlers. */
#ifndef COFFERD_H
#define COFFERD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "coffer/audit.h"
#include "coffer/buf.h"
#include "coffer/jose.h"
#include "coffer/store.h"

#define COFFERD_VERSION "0.1.0"

/* ---- configuration (docs/cofferd.toml.md) ---- */

struct cofferd_config {
	/* [server] */
	char *listen;   /* "host:port" */
	char *tls_cert; /* PEM file; HTTPS when set with tls_key */
	char *tls_key;
	unsigned threads; /* thread pool size */
	size_t max_body;  /* bytes; 413 beyond */
	unsigned max_connections;
	size_t max_header;   /* per-connection memory for headers */
	unsigned timeout;    /* idle connection timeout, seconds */
	unsigned auth_rate;  /* new sessions per second per client (0: no limit) */
	unsigned auth_burst; /* bucket size */
	char *port_file;     /* write the bound port here (tests) */
	/* [storage] */
	char *data_dir;
	char *store_url;
	char *master_key;
	/* [attestation] */
	bool allow_sample;
	int64_t session_lifetime;
	int64_t token_lifetime;
	char *signing_key;  /* JWK file, generated once when absent */
	char *signing_cert; /* PEM chain of the signing key: the tokens' x5c */
	char *issuer;
	char **trusted_jwks; /* JWK or JWKS files whose keys may sign bearer tokens */
	size_t n_trusted_jwks;
	char *roots_dir;
	char *collateral_dir;
	char *sim_root;
	char *tee_options; /* JSON file: {"snp": {...}, "tdx": {...}} owner checks */
	bool allow_rsa1_5;
	int64_t sweep_interval;
	/* [policy] */
	char *resource_policy; /* built-in resource policy: "default", "allow_all", "deny_all" */
	char *release_policy;  /* built-in release policy where the owner set none */
	/* [admin] */
	char *bootstrap_key; /* public JWK of the first workload provider */
	char **bootstrap_namespaces;
	size_t n_bootstrap_namespaces;
	int64_t admin_max_lifetime;
	bool allow_plaintext_upload;    /* accept unsealed secret uploads (tests) */
	int64_t audit_checkpoint_every; /* sign a checkpoint every N entries */
	int64_t audit_commit_delay_us;  /* the audit writer's commit delay */
	int64_t audit_page_max;         /* the largest audit page (limit) */
	/* [log] */
	char *log_level; /* "debug", "info", "warn", "error" */
	/* dev mode */
	bool dev;
};

void cofferd_config_init(struct cofferd_config *c);
void cofferd_config_free(struct cofferd_config *c);
/* Parse a TOML file into `c` (defaults first). */
int cofferd_config_load(struct cofferd_config *c, const char *path);
/* Fill derived defaults (paths under data_dir) and check consistency. */
int cofferd_config_finish(struct cofferd_config *c);

/* ---- logging: JSON lines on stderr; never secrets, nonces or tokens ---- */

enum cofferd_log_level { LOG_DEBUG_ = 0, LOG_INFO_, LOG_WARN_, LOG_ERROR_ };
void cofferd_log_set_level(const char *level);
/* True when lines of `lvl` are written: check before building fields. */
bool cofferd_log_enabled(enum cofferd_log_level lvl);
/* `fields` is a JSON object whose members are added to the line (stolen). */
void cofferd_log(enum cofferd_log_level lvl, const char *msg, json_t *fields);

/* ---- rate limit of new sessions (ratelimit.c) ---- */

struct sockaddr;
/* True when `client` may open one more session now. */
bool cofferd_ratelimit_allow(const struct sockaddr *client, double rate, double burst);

/* ---- metrics ---- */

enum cofferd_endpoint {
	EP_AUTH = 0,
	EP_ATTEST,
	EP_RESOURCE,
	EP_ADMIN_RESOURCE,
	EP_ADMIN_POLICY,
	EP_ADMIN_REFVAL,
	EP_ADMIN_OTHER,
	EP_JWKS,
	EP_METRICS,
	EP_HEALTHZ,
	EP_OTHER,
	EP_COUNT,
};
void cofferd_metrics_request(enum cofferd_endpoint ep, int status, double seconds);
void cofferd_metrics_attestation(const char *tee, bool ok);
void cofferd_metrics_release(bool allowed);
int cofferd_metrics_render(char **out, size_t *len);

struct cofferd;

/* ---- policy interface (appraisal + release decisions; policy_rego.c) ---- */

#include "coffer/rego.h"

/* The id of the attestation policy in force (stored one, else built-in). */
#define COFFERD_ATTESTATION_POLICY_ID "default_cpu"

/* One release decision: which policy denied and why (never secret). */
struct cofferd_decision {
	bool allowed;
	char policy[128]; /* "resource policy", "release policy of <ns>", ... */
	char reason[256];
	char policy_ids[2][96]; /* ids of the resource and release policies used */
};

struct cofferd_policy_ops {
	const char *name;
	/* Appraise the annotated evidence: trust vector (object of AR4SI
	 * claims, at least one), optional extensions (NULL when the policy
	 * sets none) and the appraisal policy id. */
	int (*appraise)(void *ctx, json_t **trust_vector, json_t **extensions, char **policy_id,
	                const char *tee, const json_t *input, const json_t *reference);
	/* Release decision for namespace `ns`: the resource policy AND the
	 * namespace's release policy; only exactly true allows, every error
	 * denies. Returns 0 when a decision was made (allowed or not). */
	int (*release)(void *ctx, struct cofferd_decision *dec, const json_t *claims,
	               const json_t *data, const char *ns);
	/* A policy of `kind` ("attestation", "resource", "release") and `id`
	 * was stored: compile it and put it in force. Requests evaluating the
	 * previous one finish with it. On a compile error the previous one
	 * stays and diag says where. */
	int (*reload)(void *ctx, const char *kind, const char *id, const char *text, size_t len,
	              coffer_rego_diag *diag);
	void (*free)(void *ctx);
};

/* Rego policies: the stored ones, else the built-in defaults named by the
 * configuration ([policy] resource and release). */
int cofferd_policy_rego_new(const struct cofferd_policy_ops **ops, void **ctx, struct cofferd *d);

/* Built-in policy texts (the .rego files in src/cofferd/policies, embedded at build). */
struct cofferd_builtin_policy {
	const char *name; /* file name without .rego */
	const char *text;
	size_t len;
};
extern const struct cofferd_builtin_policy cofferd_builtin_policies[];
extern const size_t cofferd_n_builtin_policies;

/* "affirming", "warning", "contraindicated" or "none" for a trust vector. */
const char *cofferd_ear_status(const json_t *trust_vector);

/* ---- audit trail (audit.c; PERSONAS.md rule 7, docs/audit.md) ----
 * Append one entry built by coffer_audit_append from `fields` (stolen):
 * {"kind":"admin"|"release","action","namespace","actor","resource",
 *  "outcome","reason"}. Serialized across threads; a checkpoint is signed
 * every N entries and on shutdown. Never pass secret values. */
int cofferd_audit_record(struct cofferd *d, json_t *fields);
/* The same without waiting (group commit, docs/audit.md): `done` runs on
 * the audit writer thread once the entry is durable (error 0) or failed
 * (error < 0, msg says why); it may also run before this returns when the
 * entry cannot be queued. `fields` is stolen. */
typedef void (*cofferd_audit_done_fn)(void *ctx, int error, const char *msg);
void cofferd_audit_submit(struct cofferd *d, json_t *fields, cofferd_audit_done_fn done, void *ctx);
/* When no batch is being written and none is queued: write the entry now,
 * on this thread, set *error (0, or < 0 with the error set) and return
 * true (`fields` stolen). Otherwise return false and leave `fields` to
 * the caller (then cofferd_audit_submit). */
bool cofferd_audit_try_now(struct cofferd *d, json_t *fields, int *error);
/* The largest page of GET /kbs/v0/admin/audit[/export] (docs/cofferd.md):
 * the default and bound of `limit` and of admin.audit_page_max. */
#define COFFERD_AUDIT_PAGE_MAX 10000
/* One page of the chain: at most `limit` (>= 1) entries with seq >= `from`,
 * in seq order, for `ns` when not NULL and in `scope` when not NULL. The
 * store is read for the page plus one entry (plus the rows skipped by
 * `scope`), never the whole chain. *next is the seq of the first such entry
 * after the page, 0 when there is none. */
int cofferd_audit_page(struct cofferd *d, json_t **out, int64_t *next, int64_t from, size_t limit,
                       const char *ns, const coffer_audit_scope *scope);
/* The stored checkpoints (compact JWS strings) that sign a seq in [lo, hi],
 * oldest first. */
int cofferd_audit_checkpoints(struct cofferd *d, json_t **out, int64_t lo, int64_t hi);
/* Sign a checkpoint over the newest entry now (no-op when already signed). */
int cofferd_audit_checkpoint(struct cofferd *d);
/* Checkpoint and forget the cached chain head (call before closing the store). */
void cofferd_audit_shutdown(struct cofferd *d);
/* Entries between automatic checkpoints (audit.checkpoint_every; default 100). */
void cofferd_audit_set_checkpoint_every(int64_t n);
/* The audit writer's commit delay in microseconds (see audit.c). */
#define COFFERD_AUDIT_COMMIT_DELAY_DEFAULT 1000
#define COFFERD_AUDIT_COMMIT_DELAY_MAX     10000
void cofferd_audit_set_commit_delay(long us);

/* ---- the server ---- */

struct cofferd {
	struct cofferd_config cfg;
	coffer_store *store;
	coffer_jwk *signing_key; /* ES256 P-256, private */
	json_t *signing_jwk_pub; /* public JWK with kid */
	json_t *x5c;             /* base64 DER chain, or NULL */
	char *jwks_body;         /* {"keys":[...]} */
	size_t jwks_len;
	coffer_jwk **verify_keys; /* [0] = our key, then trusted JWKs */
	size_t n_verify_keys;
	json_t *tee_options; /* parsed attestation.tee_options, or NULL */
	const struct cofferd_policy_ops *policy;
	void *policy_ctx;
	pthread_rwlock_t cfg_lock; /* guards settings reloaded on SIGHUP */
	atomic_long inflight;
	atomic_bool stopping;
};

/* Minimal HTTP request/response model the handlers use. */
struct cofferd_req {
	const char *method;
	const char *path; /* raw (still percent-encoded), no query */
	const char *query;
	const uint8_t *body;
	size_t body_len;
	const char *cookie_session; /* kbs-session-id, or NULL */
	const char *authorization;  /* Authorization header, or NULL */
	const char *content_type;
	struct MHD_Connection *conn;
};

struct cofferd_resp {
	int status;
	char *body; /* malloc'd */
	size_t len;
	const char *content_type;
	char set_cookie[160];
	bool wipe;        /* body holds sensitive bytes: wipe after sending */
	bool retry_after; /* 429: add Retry-After */
	/* one more header when set (a static name, e.g. "Coffer-Audit-Next");
	 * an error response drops it */
	const char *extra_header;
	char extra_value[32];
	/* when set: audit fields (owned) whose entry must be durable before
	 * this response is sent; if the append fails the answer is a 500 */
	json_t *audit;
};

/* Error response per PROTOCOL.md section 3. */
int cofferd_resp_error(struct cofferd_resp *r, int status, const char *variant, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));
int cofferd_resp_json(struct cofferd_resp *r, int status, json_t *body); /* steals */

int64_t cofferd_now(void);

/* Route one request to its handler (server.c); *ep receives the endpoint
 * for the metrics. q->conn may be NULL (no HTTP connection: the request
 * fuzz target): then the query arguments are not read and the auth rate
 * limit sees no client address. The caller owns r->body and r->audit. */
void cofferd_dispatch(struct cofferd *d, const struct cofferd_req *q, struct cofferd_resp *r,
                      enum cofferd_endpoint *ep);

/* Handlers (return 0; the response carries the status). */
int cofferd_handle_auth(struct cofferd *d, const struct cofferd_req *q, struct cofferd_resp *r);
int cofferd_handle_attest(struct cofferd *d, const struct cofferd_req *q, struct cofferd_resp *r);
int cofferd_handle_resource_get(struct cofferd *d, const struct cofferd_req *q,
                                struct cofferd_resp *r, const char *subpath);
int cofferd_handle_admin(struct cofferd *d, const struct cofferd_req *q, struct cofferd_resp *r,
                         enum cofferd_endpoint *ep);

/* Tokens (token.c). */
int cofferd_token_init(struct cofferd *d);
/* Sign an EAR token; *claims_out (optional) receives its claims. */
int cofferd_token_issue(struct cofferd *d, char **token, json_t **claims_out,
                        const json_t *submod_cpu0);
int cofferd_token_verify(struct cofferd *d, json_t **claims, const char *token);
/* Claims of a token this broker issued and stored sealed (no signature check). */
int cofferd_token_claims_unverified(json_t **claims, const char *token);
int cofferd_load_trusted_keys(struct cofferd *d);

/* Verified-token cache (tokcache.c): claims + imported tee-pubkey per token. */
struct cofferd_tok;
/* A referenced entry for a token that verified before and is not expired. */
struct cofferd_tok *cofferd_tokcache_get(const char *token, int64_t now);
/* Insert (takes claims and key); returns a referenced entry or NULL. */
struct cofferd_tok *cofferd_tokcache_put(const char *token, json_t *claims, coffer_jwk *key);
const json_t *cofferd_tok_claims(const struct cofferd_tok *t);
const coffer_jwk *cofferd_tok_key(const struct cofferd_tok *t);
void cofferd_tok_release(struct cofferd_tok *t);
/* The attested session `sid` -> its token entry (takes a new reference). */
void cofferd_tokcache_put_session(const char *sid, struct cofferd_tok *t);
/* The entry of an attested, unexpired session, referenced; NULL: ask the store. */
struct cofferd_tok *cofferd_tokcache_get_session(const char *sid, int64_t now);
/* Drop entries whose token expired (the main loop, once a second). */
void cofferd_tokcache_sweep(int64_t now);
void cofferd_tokcache_flush(void);
/* A session created by this broker's auth, remembered until its attest. */
void cofferd_pending_put(const coffer_store_session *s);
/* Remove and return (copy into *out) the pending session `sid` when present
 * and unexpired; false: read it from the store. */
bool cofferd_pending_take(coffer_store_session *out, const char *sid, int64_t now);

/* Open what the finished configuration d->cfg names (broker.c): the
 * tee_options, the store, the token signing key, the policies and the
 * admin bootstrap; the data directory must exist. On failure the error is
 * set and cofferd_close still releases what was opened. */
int cofferd_open(struct cofferd *d);
/* Checkpoint the audit chain, close the store and free everything `d`
 * holds, its configuration and cfg_lock included. */
void cofferd_close(struct cofferd *d);

/* Admin bootstrap (admin.c). */
int cofferd_admin_bootstrap(struct cofferd *d);
/* Free what the admin API keeps (the upload key). */
void cofferd_admin_free(void);

#endif
