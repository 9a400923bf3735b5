/*
 * Storage front end: argument checks, sealing of secret values under the
 * master key (AES-256-GCM, 12-byte random nonce per record, the record's
 * identity as AAD: PERSONAS.md rule 6), dispatch to the backend.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "coffer/evp.h"
#include "coffer/file.h"
#include "coffer/json.h"
#include "coffer/store.h"
#include "store/store_internal.h"

#define MASTER_KEY_LEN 32
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN   16
#define SEAL_VALUE_MAX ((size_t)64 * 1024 * 1024)

struct coffer_store {
	const struct store_ops *ops;
	void *backend;
	coffer_secret master; /* mlocked, never logged, never stored in the database */
};

static int load_master_key(coffer_secret *out, const char *path, bool create)
{
	struct stat st;
	uint8_t key[MASTER_KEY_LEN];
	int error;

	if (stat(path, &st) != 0) {
		if (errno != ENOENT || !create)
			return coffer_error_set(COFFER_EIO, "master key %s: %s", path,
			                        strerror(errno));
		if (RAND_priv_bytes(key, sizeof(key)) != 1) {
			coffer_wipe(key, sizeof(key)); /* whatever a failed draw left */
			return coffer_error_set_ssl(COFFER_ERROR, "master key: no randomness");
		}
		error = coffer_file_write_private(path, key, sizeof(key));
		coffer_wipe(key, sizeof(key));
		if (error < 0)
			return coffer_error_wrap(error, "master key %s", path);
	} else if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		return coffer_error_set(COFFER_EDENIED,
		                        "master key %s: must be a regular file of mode 0600", path);
	}
	if ((error = coffer_file_read_secret(out, path, 4096)) < 0)
		return coffer_error_wrap(error, "master key %s", path);
	if (out->len != MASTER_KEY_LEN) {
		coffer_secret_free(out);
		return coffer_error_set(COFFER_EINVAL, "master key %s: want %d bytes", path,
		                        MASTER_KEY_LEN);
	}
	(void)coffer_secret_lock(out); /* best effort: RLIMIT_MEMLOCK may be small */
	return 0;
}

int coffer_store_open(coffer_store **out, const char *url, const coffer_store_options *opts)
{
	coffer_store *s;
	const char *loc = url;
	int error;

	if (url == NULL || opts == NULL || opts->master_key_path == NULL)
		return coffer_error_set(COFFER_EINVAL, "store: location and master key required");
	if (strncmp(url, "sqlite:", 7) == 0)
		loc = url + 7;
	else if (strstr(url, "://") != NULL)
		return coffer_error_set(COFFER_EUNSUPPORTED, "store: unsupported URL scheme");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	s->ops = &coffer_store_sqlite_ops;
	if ((error = load_master_key(&s->master, opts->master_key_path, opts->create_master_key)) <
	    0)
		goto fail;
	if ((error = s->ops->open(&s->backend, loc,
	                          opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : 5000)) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	coffer_secret_free(&s->master);
	free(s);
	return error;
}

void coffer_store_close(coffer_store *s)
{
	if (s == NULL)
		return;
	s->ops->close(s->backend);
	coffer_secret_free(&s->master);
	free(s);
}

int coffer_store_schema_version(coffer_store *s)
{
	return s->ops->schema_version(s->backend);
}

int coffer_store_integrity_check(coffer_store *s, char **out)
{
	return s->ops->integrity_check(s->backend, out);
}

/* ---- sealing ---- */

static int seal(uint8_t **out, size_t *out_len, const coffer_secret *key, const char *aad,
                const uint8_t *in, size_t len)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *buf = NULL;
	size_t total;
	int n = 0, error = COFFER_ERROR;

	if (len > SEAL_VALUE_MAX)
		return coffer_error_set(COFFER_ELIMIT, "value of %zu bytes is too large", len);
	total = SEAL_NONCE_LEN + len + SEAL_TAG_LEN;
	buf = malloc(total);
	if (buf == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	if (RAND_bytes(buf, SEAL_NONCE_LEN) != 1) {
		coffer_error_set_ssl(COFFER_ERROR, "seal: no randomness");
		goto out;
	}
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL || EVP_EncryptInit_ex2(ctx, coffer_aes256gcm(), key->ptr, buf, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) != 1 ||
	    (len && EVP_EncryptUpdate(ctx, buf + SEAL_NONCE_LEN, &n, in, (int)len) != 1) ||
	    EVP_EncryptFinal_ex(ctx, buf + SEAL_NONCE_LEN + len, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN,
	                        buf + SEAL_NONCE_LEN + len) != 1) {
		coffer_error_set_ssl(COFFER_ERROR, "seal failed");
		goto out;
	}
	*out = buf;
	*out_len = total;
	buf = NULL;
	error = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	free(buf);
	return error;
}

static int unseal(coffer_secret *out, const coffer_secret *key, const char *aad, const uint8_t *in,
                  size_t len)
{
	EVP_CIPHER_CTX *ctx = NULL;
	size_t plen;
	int n = 0, error;

	if (len < SEAL_NONCE_LEN + SEAL_TAG_LEN)
		return coffer_error_set(COFFER_EVERIFY, "sealed record too short");
	plen = len - SEAL_NONCE_LEN - SEAL_TAG_LEN;
	if ((error = coffer_secret_alloc(out, plen ? plen : 1)) < 0)
		return error;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL || EVP_DecryptInit_ex2(ctx, coffer_aes256gcm(), key->ptr, in, NULL) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) != 1 ||
	    (plen && EVP_DecryptUpdate(ctx, out->ptr, &n, in + SEAL_NONCE_LEN, (int)plen) != 1) ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN,
	                        (void *)(in + len - SEAL_TAG_LEN)) != 1) {
		error = coffer_error_set_ssl(COFFER_ERROR, "unseal failed");
		goto out;
	}
	if (EVP_DecryptFinal_ex(ctx, out->ptr + plen, &n) != 1) {
		error = coffer_error_set(COFFER_EVERIFY,
		                         "sealed record failed authentication (tampered or moved)");
		goto out;
	}
	out->len = plen;
	error = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (error < 0)
		coffer_secret_free(out);
	return error;
}

static int make_aad(char *aad, size_t size, const char *kind, const char *id)
{
	int n = snprintf(aad, size, "coffer-store/v1/%s/%s", kind, id);

	if (n < 0 || (size_t)n >= size)
		return coffer_error_set(COFFER_ELIMIT, "record id too long");
	return 0;
}

static bool id_ok(const char *s, size_t max)
{
	return s && *s && strlen(s) <= max;
}

/* ---- sessions ---- */

void coffer_store_session_clear(coffer_store_session *sess)
{
	if (sess == NULL)
		return;
	coffer_free_str_wiped(sess->token);
	sess->token = NULL;
}

int coffer_store_session_create(coffer_store *s, const coffer_store_session *sess)
{
	if (!id_ok(sess->id, 32) || !id_ok(sess->nonce, 63))
		return coffer_error_set(COFFER_EINVAL, "session: id and nonce required");
	return s->ops->session_create(s->backend, sess);
}

int coffer_store_session_get(coffer_store_session *out, coffer_store *s, const char *id)
{
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	coffer_secret tok = COFFER_SECRET_INIT;
	char aad[128];
	int error;

	memset(out, 0, sizeof(*out));
	if (!id_ok(id, 32))
		return coffer_error_set(COFFER_ENOTFOUND, "no such session");
	if ((error = s->ops->session_get(s->backend, out, id, &sealed, &sealed_len)) < 0)
		return error;
	if (sealed) {
		if ((error = make_aad(aad, sizeof(aad), "session-token", id)) < 0 ||
		    (error = unseal(&tok, &s->master, aad, sealed, sealed_len)) < 0)
			goto out;
		out->token = malloc(tok.len + 1);
		if (out->token == NULL) {
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(out->token, tok.ptr, tok.len);
		out->token[tok.len] = '\0';
	}
	error = 0;
out:
	free(sealed);
	coffer_secret_free(&tok);
	return error;
}

int coffer_store_session_use_nonce(coffer_store *s, const char *id, int64_t now)
{
	if (!id_ok(id, 32))
		return coffer_error_set(COFFER_ENOTFOUND, "no such session");
	return s->ops->session_use_nonce(s->backend, id, now);
}

/* A session's token, sealed with its session id as AAD. */
static int seal_token(uint8_t **sealed, size_t *len, coffer_store *s, const char *id,
                      const char *token)
{
	char aad[128];
	int error;

	if (!id_ok(id, 32) || token == NULL)
		return coffer_error_set(COFFER_EINVAL, "session: id and token required");
	if ((error = make_aad(aad, sizeof(aad), "session-token", id)) < 0)
		return error;
	return seal(sealed, len, &s->master, aad, (const uint8_t *)token, strlen(token));
}

int coffer_store_session_attest(coffer_store *s, const char *id, const char *token, int64_t expires,
                                int64_t now)
{
	uint8_t *sealed = NULL;
	size_t len = 0;
	int error;

	if ((error = seal_token(&sealed, &len, s, id, token)) < 0)
		return error;
	error = s->ops->session_attest(s->backend, id, sealed, len, expires, now);
	free(sealed);
	return error;
}

int coffer_store_checkpoint(coffer_store *s)
{
	return s->ops->checkpoint(s->backend);
}

int coffer_store_sweep(coffer_store *s, int64_t now, size_t *removed)
{
	size_t dummy = 0;

	return s->ops->sweep(s->backend, now, removed ? removed : &dummy);
}

/* ---- resources ---- */

int coffer_store_resource_put(coffer_store *s, const char *path, const uint8_t *value, size_t len,
                              const char *owner, int64_t now)
{
	return coffer_store_resource_put_paths(s, &path, 1, value, len, owner, now);
}

int coffer_store_resource_put_paths(coffer_store *s, const char *const *paths, size_t n,
                                    const uint8_t *value, size_t len, const char *owner,
                                    int64_t now)
{
	struct store_resource_row *rows;
	size_t made = 0;
	char aad[1024];
	int error = 0;

	if (paths == NULL || n == 0 || n > COFFER_STORE_PATHS_MAX || (value == NULL && len))
		return coffer_error_set(COFFER_EINVAL, "resource: paths and value required");
	for (size_t i = 0; i < n; i++)
		if (!id_ok(paths[i], 800))
			return coffer_error_set(COFFER_EINVAL, "resource: path and value required");
	if ((rows = calloc(n, sizeof(*rows))) == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	/* each row sealed under its own path (the AAD): a value moved to
	 * another row fails authentication */
	for (made = 0; made < n; made++) {
		uint8_t *sealed = NULL;
		if ((error = make_aad(aad, sizeof(aad), "resource", paths[made])) < 0 ||
		    (error = seal(&sealed, &rows[made].sealed_len, &s->master, aad, value, len)) <
		            0)
			goto out;
		rows[made].path = paths[made];
		rows[made].sealed = sealed;
		rows[made].plain_len = len;
	}
	error = s->ops->resource_put(s->backend, rows, n, owner, now);
out:
	for (size_t i = 0; i < made; i++)
		free((uint8_t *)rows[i].sealed);
	free(rows);
	return error;
}

int coffer_store_resource_get(coffer_secret *out, coffer_store *s, const char *path)
{
	uint8_t *sealed = NULL;
	size_t slen = 0;
	char aad[1024];
	int error;

	if (!id_ok(path, 800))
		return coffer_error_set(COFFER_ENOTFOUND, "no such resource");
	if ((error = make_aad(aad, sizeof(aad), "resource", path)) < 0 ||
	    (error = s->ops->resource_get(s->backend, path, &sealed, &slen)) < 0)
		return error;
	error = unseal(out, &s->master, aad, sealed, slen);
	free(sealed);
	return error;
}

int coffer_store_resource_delete(coffer_store *s, const char *path)
{
	size_t deleted = 0;
	int error;

	if (!id_ok(path, 800))
		return coffer_error_set(COFFER_ENOTFOUND, "no such resource");
	if ((error = coffer_store_resource_delete_paths(s, &path, 1, &deleted)) == 0 &&
	    deleted == 0)
		error = coffer_error_set(COFFER_ENOTFOUND, "resource delete: not found");
	return error;
}

int coffer_store_resource_delete_paths(coffer_store *s, const char *const *paths, size_t n,
                                       size_t *deleted)
{
	*deleted = 0;
	if (paths == NULL || n == 0 || n > COFFER_STORE_PATHS_MAX)
		return coffer_error_set(COFFER_EINVAL, "resource delete: 1 to %d paths",
		                        COFFER_STORE_PATHS_MAX);
	for (size_t i = 0; i < n; i++)
		if (!id_ok(paths[i], 800))
			return coffer_error_set(COFFER_EINVAL, "resource delete: bad path");
	return s->ops->resource_delete_many(s->backend, paths, n, deleted);
}

int coffer_store_resource_list(coffer_store_resource_info **out, size_t *n, coffer_store *s,
                               const char *prefix)
{
	*out = NULL;
	*n = 0;
	return s->ops->resource_list(s->backend, out, n, prefix);
}

void coffer_store_resource_info_free(coffer_store_resource_info *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].owner);
	}
	free(v);
}

/* ---- policies ---- */

static bool kind_ok(const char *kind)
{
	return kind && (strcmp(kind, "attestation") == 0 || strcmp(kind, "resource") == 0 ||
	                strcmp(kind, "release") == 0 || strcmp(kind, "audit-checkpoint") == 0);
}

int coffer_store_policy_put(coffer_store *s, const char *kind, const char *id, const char *text,
                            size_t len, int64_t now)
{
	if (!kind_ok(kind) || !id_ok(id, 255) || text == NULL)
		return coffer_error_set(COFFER_EINVAL, "policy: kind, id and text required");
	return s->ops->policy_put(s->backend, kind, id, text, len, now);
}

int coffer_store_policy_get(char **out, size_t *len, coffer_store *s, const char *kind,
                            const char *id)
{
	if (!kind_ok(kind) || !id_ok(id, 255))
		return coffer_error_set(COFFER_ENOTFOUND, "no such policy");
	return s->ops->policy_get(s->backend, out, len, kind, id);
}

int coffer_store_policy_delete(coffer_store *s, const char *kind, const char *id)
{
	if (!kind_ok(kind) || !id_ok(id, 255))
		return coffer_error_set(COFFER_ENOTFOUND, "no such policy");
	return s->ops->policy_delete(s->backend, kind, id);
}

int coffer_store_policy_list(json_t **out, coffer_store *s, const char *kind)
{
	if (!kind_ok(kind))
		return coffer_error_set(COFFER_EINVAL, "policy: unknown kind");
	return s->ops->policy_list(s->backend, out, kind);
}

/* ---- reference values ---- */

int coffer_store_refval_set(coffer_store *s, const char *name, const json_t *values, int64_t now)
{
	json_t *one;
	int error;

	if (!id_ok(name, 255) || !json_is_array(values))
		return coffer_error_set(COFFER_EINVAL, "reference value: name and array required");
	one = json_object();
	if (one == NULL || json_object_set(one, name, (json_t *)values) != 0) {
		json_decref(one);
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	error = coffer_store_refval_set_many(s, one, now);
	json_decref(one);
	return error;
}

#define REFVAL_MANY_MAX 1024

int coffer_store_refval_set_many(coffer_store *s, const json_t *payload, int64_t now)
{
	const char *names[REFVAL_MANY_MAX], *name;
	char *texts[REFVAL_MANY_MAX];
	size_t n = 0, made = 0;
	json_t *v;
	int error = 0;

	if (!json_is_object(payload) || json_object_size(payload) == 0 ||
	    json_object_size(payload) > REFVAL_MANY_MAX)
		return coffer_error_set(COFFER_EINVAL,
		                        "reference values: an object of 1 to %d names required",
		                        REFVAL_MANY_MAX);
	json_object_foreach((json_t *)payload, name, v)
	{
		if (!id_ok(name, 255) || !json_is_array(v))
			return coffer_error_set(COFFER_EINVAL,
			                        "reference value: name and array required");
		names[n++] = name;
	}
	for (made = 0; made < n; made++) {
		texts[made] = json_dumps(json_object_get(payload, names[made]),
		                         JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (texts[made] == NULL) {
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			goto out;
		}
	}
	error = s->ops->refval_set(s->backend, names, texts, n, now);
out:
	for (size_t i = 0; i < made; i++)
		free(texts[i]);
	return error;
}

int coffer_store_refval_get(json_t **out, coffer_store *s, const char *name)
{
	char *text = NULL;
	json_error_t jerr;
	int error;

	if (!id_ok(name, 255))
		return coffer_error_set(COFFER_ENOTFOUND, "no such reference value");
	if ((error = s->ops->refval_get(s->backend, &text, name)) < 0)
		return error;
	*out = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (*out == NULL)
		return coffer_error_set(COFFER_ERROR, "reference value %s: corrupt row", name);
	return 0;
}

int coffer_store_refval_all(json_t **out, coffer_store *s)
{
	return s->ops->refval_all(s->backend, out);
}

/* ---- principals ---- */

void coffer_store_principal_clear(coffer_store_principal *p)
{
	if (p == NULL)
		return;
	free(p->id);
	free(p->persona);
	json_decref(p->public_key);
	json_decref(p->namespaces);
	free(p->enrolled_by);
	memset(p, 0, sizeof(*p));
}

int coffer_store_principal_add(coffer_store *s, const coffer_store_principal *p)
{
	if (!id_ok(p->id, 255) || !id_ok(p->persona, 64) || !json_is_object(p->public_key) ||
	    (p->namespaces && !json_is_array(p->namespaces)))
		return coffer_error_set(COFFER_EINVAL, "principal: id, persona and key required");
	return s->ops->principal_add(s->backend, p);
}

int coffer_store_principal_get(coffer_store_principal *out, coffer_store *s, const char *id)
{
	memset(out, 0, sizeof(*out));
	if (!id_ok(id, 255))
		return coffer_error_set(COFFER_ENOTFOUND, "no such principal");
	return s->ops->principal_get(s->backend, out, id);
}

int coffer_store_principal_set_disabled(coffer_store *s, const char *id, bool disabled)
{
	if (!id_ok(id, 255))
		return coffer_error_set(COFFER_ENOTFOUND, "no such principal");
	return s->ops->principal_set_disabled(s->backend, id, disabled);
}

int coffer_store_principal_list(coffer_store_principal **out, size_t *n, coffer_store *s)
{
	*out = NULL;
	*n = 0;
	return s->ops->principal_list(s->backend, out, n);
}

void coffer_store_principal_list_free(coffer_store_principal *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		coffer_store_principal_clear(&v[i]);
	free(v);
}

/* ---- JWT ids ---- */

int coffer_store_jti_use(coffer_store *s, const char *jti, int64_t expires)
{
	if (!id_ok(jti, 255))
		return coffer_error_set(COFFER_EINVAL, "jti: 1 to 255 bytes required");
	return s->ops->jti_use(s->backend, jti, expires);
}

/* ---- audit ---- */

int coffer_store_audit_append(int64_t *seq_out, coffer_store *s, int64_t now, const char *actor,
                              const char *action, const char *ns, const json_t *record)
{
	coffer_store_audit_rec rec = { now, actor, action, ns, record, 0 };
	int error;

	if (!id_ok(action, 64) || !json_is_object(record))
		return coffer_error_set(COFFER_EINVAL, "audit: action and record required");
	/* a batch of one: no transaction around its single insert */
	if ((error = coffer_store_audit_append_batch(s, &rec, 1)) == 0 && seq_out)
		*seq_out = rec.seq;
	return error;
}

int coffer_store_audit_append_batch(coffer_store *s, coffer_store_audit_rec *recs, size_t n)
{
	return coffer_store_audit_append_batch_with(s, recs, n, NULL, NULL, NULL, 0);
}

int coffer_store_audit_append_batch_with(coffer_store *s, coffer_store_audit_rec *recs, size_t n,
                                         const char *kind, const char *id, const char *text,
                                         size_t len)
{
	struct store_audit_row *rows = NULL;
	int64_t *seqs = NULL;
	size_t i, made = 0;
	int error;

	if (recs == NULL || n == 0 || n > COFFER_STORE_AUDIT_BATCH_MAX)
		return coffer_error_set(COFFER_EINVAL, "audit: 1 to %d records per batch",
		                        COFFER_STORE_AUDIT_BATCH_MAX);
	if (kind != NULL && (!kind_ok(kind) || !id_ok(id, 255) || text == NULL))
		return coffer_error_set(COFFER_EINVAL, "policy: kind, id and text required");
	for (i = 0; i < n; i++)
		if (!id_ok(recs[i].action, 64) || !json_is_object(recs[i].record))
			return coffer_error_set(COFFER_EINVAL,
			                        "audit: record %zu: action and record required", i);
	rows = calloc(n, sizeof(*rows));
	seqs = calloc(n, sizeof(*seqs));
	if (rows == NULL || seqs == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	for (made = 0; made < n; made++) {
		char *rec = NULL;
		if ((error = coffer_json_dump(&rec, NULL, recs[made].record)) < 0)
			goto out;
		rows[made].time = recs[made].time;
		rows[made].actor = recs[made].actor ? recs[made].actor : "";
		rows[made].action = recs[made].action;
		rows[made].ns = recs[made].ns;
		rows[made].record_json = rec;
	}
	error = s->ops->audit_append_batch(s->backend, rows, n, seqs, kind, id, text, len);
	if (error == 0)
		for (i = 0; i < n; i++)
			recs[i].seq = seqs[i];
out:
	if (rows)
		for (i = 0; i < made; i++)
			free((char *)rows[i].record_json);
	free(rows);
	free(seqs);
	return error;
}

int coffer_store_audit_last(json_t **out, coffer_store *s)
{
	*out = NULL;
	return s->ops->audit_last(s->backend, out);
}

int coffer_store_audit_list(json_t **out, coffer_store *s, int64_t after, const char *ns,
                            size_t limit)
{
	return s->ops->audit_list(s->backend, out, after, ns, limit ? limit : 1000);
}
