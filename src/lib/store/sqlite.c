/*
 * SQLite backend: WAL journal, a schema version table with forward
 * migrations, three connections, each used under its own mutex and keeping
 * its prepared statements:
 * - `durable` (synchronous=FULL: every admin write and audit batch is on
 *   disk when the call returns),
 * - `fast` (synchronous=NORMAL: the reads, and the sweep of used JWT ids),
 * - `sess` on a second database file beside the main one (PATH with
 *   "-sessions" before its ".db", synchronous=NORMAL): the RCAR sessions,
 *   whose loss in a power failure only means the guest attests again,
 * - `ckpt` and `sckpt`, one per file, for coffer_store_checkpoint alone (the
 *   periodic checkpoint of what the writers left, so that it never holds a
 *   writing connection's lock).
 * The writing connections (`durable`, `sess`) checkpoint automatically after
 * a commit that left 1000 pages in the WAL: a checkpoint from another
 * connection never catches up with a busy writer, and SQLite restarts the
 * WAL from its beginning only when a checkpoint did (checked in bench_kbs:
 * without it the WAL files grew by hundreds of MB in a minute).
 * Sessions live in their own file because SQLite has one writer per
 * database: in the main file every session write would queue behind the
 * audit writer's commit and its fsync, and a busy handler's sleep, on the
 * request path.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/store_internal.h"

#define STMT_CACHE 48

struct conn {
	sqlite3 *db;
	pthread_mutex_t lock;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
};

struct sqlite_backend {
	struct conn fast;
	struct conn durable;
	struct conn sess;
	/* checkpoints only (coffer_store_checkpoint), one per file, so that a
	 * checkpoint never holds the lock of a connection that writes */
	struct conn ckpt;
	struct conn sckpt;
};

/* Each entry moves the schema from version i to i+1; never edit a shipped one. */
static const char *const migrations[] = {
	/* 1: the initial schema */
	"CREATE TABLE sessions(id TEXT PRIMARY KEY, nonce TEXT NOT NULL, tee TEXT NOT NULL,"
	" hash_algs TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL, expires INTEGER NOT NULL,"
	" nonce_used INTEGER NOT NULL DEFAULT 0, attested INTEGER NOT NULL DEFAULT 0, token BLOB);"
	"CREATE INDEX sessions_expires ON sessions(expires);"
	"CREATE TABLE resources(path TEXT PRIMARY KEY, value BLOB NOT NULL, size INTEGER NOT NULL,"
	" owner TEXT, created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE TABLE policies(kind TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,"
	" updated INTEGER NOT NULL, PRIMARY KEY(kind, id));"
	"CREATE TABLE reference_values(name TEXT PRIMARY KEY, vals TEXT NOT NULL,"
	" updated INTEGER NOT NULL);"
	"CREATE TABLE principals(id TEXT PRIMARY KEY, persona TEXT NOT NULL,"
	" public_key TEXT NOT NULL, namespaces TEXT NOT NULL, enrolled_by TEXT,"
	" enrolled_at INTEGER NOT NULL, disabled INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE used_jti(jti TEXT PRIMARY KEY, expires INTEGER NOT NULL);"
	"CREATE INDEX used_jti_expires ON used_jti(expires);"
	"CREATE TABLE audit(seq INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
	" actor TEXT NOT NULL, action TEXT NOT NULL, namespace TEXT, record TEXT NOT NULL);"
	"CREATE INDEX audit_namespace ON audit(namespace, seq);",
	/* 2: sessions clustered on their id (no separate key index) and no
	 * expiry index: each session write touches one b-tree instead of three;
	 * the sweep scans the table once a sweep_interval */
	"CREATE TABLE sessions_v2(id TEXT PRIMARY KEY, nonce TEXT NOT NULL, tee TEXT NOT NULL,"
	" hash_algs TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL, expires INTEGER NOT NULL,"
	" nonce_used INTEGER NOT NULL DEFAULT 0, attested INTEGER NOT NULL DEFAULT 0, token BLOB)"
	" WITHOUT ROWID;"
	"INSERT INTO sessions_v2 SELECT id, nonce, tee, hash_algs, created, expires, nonce_used,"
	" attested, token FROM sessions;"
	"DROP TABLE sessions;"
	"ALTER TABLE sessions_v2 RENAME TO sessions;",
	/* 3: sessions move to their own database file (attached as "sess" while
	 * migrating, see be_open); the rows in flight are carried over */
	"INSERT OR IGNORE INTO sess.sessions SELECT id, nonce, tee, hash_algs, created, expires,"
	" nonce_used, attested, token FROM main.sessions;"
	"DROP TABLE main.sessions;",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* The sessions file's schema, version 1 (PRAGMA user_version; the file has
 * no other version table). A rowid table with a unique index on the id:
 * the row grows by the sealed token (about 1.5 KiB) at attestation, and in
 * a WITHOUT ROWID table that would make every key comparison of a seek
 * assemble the row from overflow pages into a heap buffer. */
#define SESSIONS_VERSION 1
static const char sessions_schema[] =
        "CREATE TABLE IF NOT EXISTS sessions(id TEXT NOT NULL UNIQUE, nonce TEXT NOT NULL,"
        " tee TEXT NOT NULL, hash_algs TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL,"
        " expires INTEGER NOT NULL, nonce_used INTEGER NOT NULL DEFAULT 0,"
        " attested INTEGER NOT NULL DEFAULT 0, token BLOB);"
        "PRAGMA user_version=1;";

static int db_error(sqlite3 *db, int rc, const char *what)
{
	int code = COFFER_EIO;

	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		code = COFFER_ELIMIT;
	else if (rc == SQLITE_CONSTRAINT)
		code = COFFER_EEXISTS;
	else if (rc == SQLITE_NOMEM)
		code = COFFER_ENOMEM;
	return coffer_error_set(code, "store: %s: %s", what, db ? sqlite3_errmsg(db) : "failed");
}

static int conn_open(struct conn *c, const char *path, int busy_ms, const char *sync)
{
	char pragma[192];
	int rc;

	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	rc = sqlite3_open_v2(path, &c->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
	                             SQLITE_OPEN_PRIVATECACHE,
	                     NULL);
	if (rc != SQLITE_OK)
		return db_error(c->db, rc, "open");
	sqlite3_busy_timeout(c->db, busy_ms);
	/* no mmap: every commit by another connection made the readers unmap
	 * and map the file again (docs/PERFORMANCE.md); a WAL that grew in a
	 * burst is cut back to 64 MiB once checkpointed */
	snprintf(pragma, sizeof(pragma),
	         "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=ON;"
	         " PRAGMA mmap_size=0; PRAGMA journal_size_limit=67108864;",
	         sync);
	rc = sqlite3_exec(c->db, pragma, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_error(c->db, rc, "configure");
	return 0;
}

static void conn_close(struct conn *c)
{
	for (size_t i = 0; i < STMT_CACHE; i++)
		sqlite3_finalize(c->cache[i].st);
	if (c->db)
		sqlite3_close_v2(c->db);
	pthread_mutex_destroy(&c->lock);
	memset(c, 0, sizeof(*c));
}

/* The cached statement for `sql` (a string literal: cached by address). */
static sqlite3_stmt *prep(struct conn *c, const char *sql)
{
	size_t i;

	for (i = 0; i < STMT_CACHE && c->cache[i].sql; i++) {
		if (c->cache[i].sql == sql) {
			sqlite3_reset(c->cache[i].st);
			sqlite3_clear_bindings(c->cache[i].st);
			return c->cache[i].st;
		}
	}
	if (i == STMT_CACHE) {
		coffer_error_set(COFFER_ERROR, "store: statement cache full");
		return NULL;
	}
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->cache[i].st, NULL) !=
	    SQLITE_OK) {
		db_error(c->db, SQLITE_ERROR, "prepare");
		return NULL;
	}
	c->cache[i].sql = sql;
	return c->cache[i].st;
}

static void done(sqlite3_stmt *st)
{
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

static int exec_locked(struct conn *c, const char *sql)
{
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : db_error(c->db, rc, "exec");
}

static int migrate(struct conn *c)
{
	sqlite3_stmt *st = NULL;
	int version = 0, error, rc;

	if ((error = exec_locked(c, "BEGIN IMMEDIATE")) < 0)
		return error;
	if ((error = exec_locked(c, "CREATE TABLE IF NOT EXISTS schema_version("
	                            "version INTEGER NOT NULL)")) < 0)
		goto fail;
	rc = sqlite3_prepare_v2(c->db, "SELECT max(version) FROM schema_version", -1, &st, NULL);
	if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		error = db_error(c->db, rc, "schema version");
		goto fail;
	}
	version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (version > SCHEMA_VERSION) {
		error = coffer_error_set(COFFER_EUNSUPPORTED,
		                         "store: schema version %d is newer than this broker (%d)",
		                         version, SCHEMA_VERSION);
		goto fail;
	}
	for (int v = version; v < SCHEMA_VERSION; v++) {
		char ins[80];

		if ((error = exec_locked(c, migrations[v])) < 0)
			goto fail;
		snprintf(ins, sizeof(ins), "INSERT INTO schema_version VALUES(%d)", v + 1);
		if ((error = exec_locked(c, ins)) < 0)
			goto fail;
	}
	return exec_locked(c, "COMMIT");
fail:
	sqlite3_finalize(st);
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return error;
}

static void be_close(void *p)
{
	struct sqlite_backend *b = p;

	if (b == NULL)
		return;
	if (b->durable.db)
		sqlite3_wal_checkpoint_v2(b->durable.db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
		                          NULL);
	if (b->sess.db)
		sqlite3_wal_checkpoint_v2(b->sess.db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	conn_close(&b->sckpt);
	conn_close(&b->ckpt);
	conn_close(&b->sess);
	conn_close(&b->fast);
	conn_close(&b->durable);
	free(b);
}

/* The sessions file for the database at `path`: "x.db" -> "x-sessions.db",
 * anything else gets "-sessions" appended; ":memory:" stays in memory. */
static int sessions_path(char **out, const char *path)
{
	size_t n = strlen(path);
	bool db = n > 3 && strcmp(path + n - 3, ".db") == 0;
	char *p;

	if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
		return coffer_error_set(COFFER_EINVAL,
		                        "store: %s: a file path is needed (sessions go beside it)",
		                        strcmp(path, ":memory:") == 0 ? ":memory:" : "a URI");
	p = malloc(n + sizeof("-sessions.db"));
	if (p == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	snprintf(p, n + sizeof("-sessions.db"), "%.*s%s", (int)(db ? n - 3 : n), path,
	         db ? "-sessions.db" : "-sessions");
	*out = p;
	return 0;
}

static int sessions_setup(struct conn *c)
{
	sqlite3_stmt *st = NULL;
	int v = -1, rc;

	rc = sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (v < 0)
		return db_error(c->db, rc, "sessions schema version");
	if (v > SESSIONS_VERSION)
		return coffer_error_set(
		        COFFER_EUNSUPPORTED,
		        "store: sessions schema version %d is newer than this broker "
		        "(%d)",
		        v, SESSIONS_VERSION);
	if (v == SESSIONS_VERSION)
		return 0;
	return exec_locked(c, sessions_schema);
}

static int attach_sessions(struct conn *c, const char *spath)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(c->db, "ATTACH DATABASE ?1 AS sess", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, spath, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_error(c->db, rc, "attach sessions");
}

static int be_open(void **out, const char *path, int busy_ms)
{
	struct sqlite_backend *b = calloc(1, sizeof(*b));
	char *spath = NULL;
	int error;

	if (b == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	/* the sessions file first (migration 3 copies into it) */
	if ((error = sessions_path(&spath, path)) < 0 ||
	    (error = conn_open(&b->sess, spath, busy_ms, "NORMAL")) < 0 ||
	    (error = sessions_setup(&b->sess)) < 0 ||
	    (error = conn_open(&b->durable, path, busy_ms, "FULL")) < 0 ||
	    (error = attach_sessions(&b->durable, spath)) < 0 ||
	    (error = migrate(&b->durable)) < 0 ||
	    (error = exec_locked(&b->durable, "DETACH DATABASE sess")) < 0 ||
	    (error = conn_open(&b->fast, path, busy_ms, "NORMAL")) < 0 ||
	    (error = exec_locked(&b->fast, "PRAGMA wal_autocheckpoint=0")) < 0 ||
	    (error = conn_open(&b->ckpt, path, busy_ms, "NORMAL")) < 0 ||
	    (error = exec_locked(&b->ckpt, "PRAGMA wal_autocheckpoint=0")) < 0 ||
	    (error = conn_open(&b->sckpt, spath, busy_ms, "NORMAL")) < 0 ||
	    (error = exec_locked(&b->sckpt, "PRAGMA wal_autocheckpoint=0")) < 0) {
		free(spath);
		be_close(b);
		return error;
	}
	free(spath);
	*out = b;
	return 0;
}

static int be_schema_version(void *p)
{
	struct sqlite_backend *b = p;
	sqlite3_stmt *st;
	int v = COFFER_EIO;
	static const char sql[] = "SELECT max(version) FROM schema_version";

	pthread_mutex_lock(&b->fast.lock);
	st = prep(&b->fast, sql);
	if (st && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	done(st);
	pthread_mutex_unlock(&b->fast.lock);
	return v;
}

/* PRAGMA integrity_check on one connection: *out = its first line. */
static int integrity_one(struct conn *c, char **out)
{
	sqlite3_stmt *st = NULL;
	int error = 0;

	pthread_mutex_lock(&c->lock);
	if (sqlite3_prepare_v2(c->db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		error = db_error(c->db, SQLITE_ERROR, "integrity_check");
	} else {
		*out = strdup((const char *)sqlite3_column_text(st, 0));
		if (*out == NULL)
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->lock);
	return error;
}

/* "ok" when both files are; otherwise the first file's complaint, the
 * sessions file's prefixed with "sessions: ". */
static int be_integrity_check(void *p, char **out)
{
	struct sqlite_backend *b = p;
	char *m = NULL, *s = NULL;
	int error;

	if ((error = integrity_one(&b->fast, &m)) < 0)
		return error;
	if (strcmp(m, "ok") != 0) {
		*out = m;
		return 0;
	}
	if ((error = integrity_one(&b->sess, &s)) < 0) {
		free(m);
		return error;
	}
	if (strcmp(s, "ok") == 0) {
		free(s);
		*out = m;
		return 0;
	}
	free(m);
	m = malloc(strlen(s) + sizeof("sessions: "));
	if (m == NULL) {
		free(s);
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	snprintf(m, strlen(s) + sizeof("sessions: "), "sessions: %s", s);
	free(s);
	*out = m;
	return 0;
}

/* Run one prepared write statement to completion; 0 or an error. */
static int step_write(struct conn *c, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		return db_error(c->db, rc, what);
	return 0;
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static char *col_strdup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? strdup((const char *)t) : NULL;
}

static void copy_col(char *dst, size_t size, sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(dst, size, "%s", t ? (const char *)t : "");
}

/* ---- sessions (sessions file) ---- */

static int be_session_create(void *p, const coffer_store_session *s)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "INSERT INTO sessions(id, nonce, tee, hash_algs, created, "
	                          "expires) VALUES(?,?,?,?,?,?)";
	sqlite3_stmt *st;
	int error = COFFER_ERROR;

	pthread_mutex_lock(&b->sess.lock);
	if ((st = prep(&b->sess, sql)) != NULL) {
		bind_text(st, 1, s->id);
		bind_text(st, 2, s->nonce);
		bind_text(st, 3, s->tee);
		bind_text(st, 4, s->hash_algs);
		sqlite3_bind_int64(st, 5, s->created);
		sqlite3_bind_int64(st, 6, s->expires);
		error = step_write(&b->sess, st, "session create");
	}
	done(st);
	pthread_mutex_unlock(&b->sess.lock);
	return error;
}

static int be_session_get(void *p, coffer_store_session *out, const char *id, uint8_t **sealed,
                          size_t *sealed_len)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT id, nonce, tee, hash_algs, created, expires, nonce_used,"
	                          " attested, token FROM sessions WHERE id = ?";
	sqlite3_stmt *st;
	int error = COFFER_ERROR, rc;

	*sealed = NULL;
	pthread_mutex_lock(&b->sess.lock);
	if ((st = prep(&b->sess, sql)) == NULL)
		goto out;
	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		error = coffer_error_set(COFFER_ENOTFOUND, "no such session");
		goto out;
	}
	if (rc != SQLITE_ROW) {
		error = db_error(b->sess.db, rc, "session get");
		goto out;
	}
	copy_col(out->id, sizeof(out->id), st, 0);
	copy_col(out->nonce, sizeof(out->nonce), st, 1);
	copy_col(out->tee, sizeof(out->tee), st, 2);
	copy_col(out->hash_algs, sizeof(out->hash_algs), st, 3);
	out->created = sqlite3_column_int64(st, 4);
	out->expires = sqlite3_column_int64(st, 5);
	out->nonce_used = sqlite3_column_int(st, 6) != 0;
	out->attested = sqlite3_column_int(st, 7) != 0;
	if (sqlite3_column_type(st, 8) == SQLITE_BLOB) {
		size_t n = (size_t)sqlite3_column_bytes(st, 8);
		*sealed = malloc(n ? n : 1);
		if (*sealed == NULL) {
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(*sealed, sqlite3_column_blob(st, 8), n);
		*sealed_len = n;
	}
	error = 0;
out:
	done(st);
	pthread_mutex_unlock(&b->sess.lock);
	return error;
}

/* A conditional session update changed nothing: the error that says why
 * (no such session, expired, or its nonce already spent). `sess` locked. */
static int session_unchanged(struct conn *c, const char *id, int64_t now, const char *what)
{
	static const char sel[] = "SELECT expires FROM sessions WHERE id = ?";
	sqlite3_stmt *st = prep(c, sel);
	int error, rc;

	if (st == NULL)
		return COFFER_ERROR;
	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		error = coffer_error_set(COFFER_ENOTFOUND, "no such session");
	else if (rc != SQLITE_ROW)
		error = db_error(c->db, rc, what);
	else if (sqlite3_column_int64(st, 0) <= now)
		error = coffer_error_set(COFFER_EEXPIRED, "session expired");
	else
		error = coffer_error_set(COFFER_EEXISTS, "nonce already used");
	done(st);
	return error;
}

static int be_session_use_nonce(void *p, const char *id, int64_t now)
{
	struct sqlite_backend *b = p;
	static const char upd[] = "UPDATE sessions SET nonce_used = 1 WHERE id = ? AND "
	                          "nonce_used = 0 AND expires > ?";
	sqlite3_stmt *st;
	int error = COFFER_ERROR;

	pthread_mutex_lock(&b->sess.lock);
	if ((st = prep(&b->sess, upd)) != NULL) {
		bind_text(st, 1, id);
		sqlite3_bind_int64(st, 2, now);
		error = step_write(&b->sess, st, "use nonce");
		if (error == 0 && sqlite3_changes(b->sess.db) != 1) {
			done(st);
			st = NULL;
			error = session_unchanged(&b->sess, id, now, "use nonce");
		}
	}
	done(st);
	pthread_mutex_unlock(&b->sess.lock);
	return error;
}

static int be_session_set_attested(void *p, const char *id, const uint8_t *sealed, size_t len,
                                   int64_t expires)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "UPDATE sessions SET attested = 1, token = ?, expires = ? "
	                          "WHERE id = ?";
	sqlite3_stmt *st;
	int error = COFFER_ERROR;

	pthread_mutex_lock(&b->sess.lock);
	if ((st = prep(&b->sess, sql)) != NULL) {
		sqlite3_bind_blob(st, 1, sealed, (int)len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, expires);
		bind_text(st, 3, id);
		error = step_write(&b->sess, st, "session attested");
		if (error == 0 && sqlite3_changes(b->sess.db) != 1)
			error = coffer_error_set(COFFER_ENOTFOUND, "no such session");
	}
	done(st);
	pthread_mutex_unlock(&b->sess.lock);
	return error;
}

static int be_session_attest(void *p, const char *id, const uint8_t *sealed, size_t len,
                             int64_t expires, int64_t now)
{
	struct sqlite_backend *b = p;
	static const char upd[] = "UPDATE sessions SET nonce_used = 1, attested = 1, token = ?,"
	                          " expires = ? WHERE id = ? AND nonce_used = 0 AND expires > ?";
	sqlite3_stmt *st;
	int error = COFFER_ERROR;

	pthread_mutex_lock(&b->sess.lock);
	if ((st = prep(&b->sess, upd)) != NULL) {
		sqlite3_bind_blob(st, 1, sealed, (int)len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, expires);
		bind_text(st, 3, id);
		sqlite3_bind_int64(st, 4, now);
		error = step_write(&b->sess, st, "session attest");
		if (error == 0 && sqlite3_changes(b->sess.db) != 1) {
			done(st);
			st = NULL;
			error = session_unchanged(&b->sess, id, now, "session attest");
		}
	}
	done(st);
	pthread_mutex_unlock(&b->sess.lock);
	return error;
}

/* A passive checkpoint on `c`; busy (a writer or reader in the way) is fine. */
static int checkpoint_one(struct conn *c, const char *what)
{
	int rc;

	pthread_mutex_lock(&c->lock);
	rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	pthread_mutex_unlock(&c->lock);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
		return db_error(c->db, rc, what);
	return 0;
}

static int be_checkpoint(void *p)
{
	struct sqlite_backend *b = p;
	int error = checkpoint_one(&b->ckpt, "checkpoint");

	return error < 0 ? error : checkpoint_one(&b->sckpt, "checkpoint sessions");
}

static int be_session_delete(void *p, const char *id)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "DELETE FROM sessions WHERE id = ?";
	sqlite3_stmt *st;
	int error = COFFER_ERROR;

	pthread_mutex_lock(&b->sess.lock);
	if ((st = prep(&b->sess, sql)) != NULL) {
		bind_text(st, 1, id);
		error = step_write(&b->sess, st, "session delete");
	}
	done(st);
	pthread_mutex_unlock(&b->sess.lock);
	return error;
}

static int be_sweep(void *p, int64_t now, size_t *removed)
{
	struct sqlite_backend *b = p;
	static const char s1[] = "DELETE FROM sessions WHERE expires <= ?";
	static const char s2[] = "DELETE FROM used_jti WHERE expires <= ?";
	sqlite3_stmt *st;
	int error = COFFER_ERROR;

	*removed = 0;
	pthread_mutex_lock(&b->sess.lock);
	if ((st = prep(&b->sess, s1)) != NULL) {
		sqlite3_bind_int64(st, 1, now);
		error = step_write(&b->sess, st, "sweep");
		*removed += (size_t)sqlite3_changes(b->sess.db);
		done(st);
	}
	pthread_mutex_unlock(&b->sess.lock);
	if (error < 0)
		return error;
	error = COFFER_ERROR;
	pthread_mutex_lock(&b->fast.lock);
	if ((st = prep(&b->fast, s2)) != NULL) {
		/* a jti is kept past the token's exp so that a replay is refused
		 * as a replay, not only as expired */
		sqlite3_bind_int64(st, 1, now);
		error = step_write(&b->fast, st, "sweep");
		*removed += (size_t)sqlite3_changes(b->fast.db);
		done(st);
	}
	pthread_mutex_unlock(&b->fast.lock);
	return error;
}

/* ---- resources (writes durable, reads fast) ---- */

/* Run `one(c, item i)` for i < n in one transaction on the locked `c`:
 * COMMIT when all succeed, ROLLBACK (nothing changed) otherwise. A single
 * statement is a transaction of its own. */
static int in_transaction(struct conn *c, size_t n, int (*one)(struct conn *c, size_t i, void *arg),
                          void *arg)
{
	int error;

	if (n == 1)
		return one(c, 0, arg);
	if ((error = exec_locked(c, "BEGIN IMMEDIATE")) < 0)
		return error;
	for (size_t i = 0; i < n; i++)
		if ((error = one(c, i, arg)) < 0)
			goto fail;
	if ((error = exec_locked(c, "COMMIT")) == 0)
		return 0;
fail:
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return error;
}

struct put_args {
	const struct store_resource_row *rows;
	const char *owner;
	int64_t now;
};

static int put_one(struct conn *c, size_t i, void *arg)
{
	static const char sql[] =
	        "INSERT INTO resources(path, value, size, owner, created, updated) "
	        "VALUES(?1,?2,?3,?4,?5,?5) ON CONFLICT(path) DO UPDATE SET value = excluded.value,"
	        " size = excluded.size, owner = coalesce(resources.owner, excluded.owner),"
	        " updated = excluded.updated";
	const struct put_args *a = arg;
	sqlite3_stmt *st;
	int error = COFFER_ERROR;

	if ((st = prep(c, sql)) != NULL) {
		bind_text(st, 1, a->rows[i].path);
		sqlite3_bind_blob(st, 2, a->rows[i].sealed, (int)a->rows[i].sealed_len,
		                  SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)a->rows[i].plain_len);
		bind_text(st, 4, a->owner);
		sqlite3_bind_int64(st, 5, a->now);
		error = step_write(c, st, "resource put");
	}
	done(st);
	return error;
}

static int be_resource_put(void *p, const struct store_resource_row *rows, size_t n,
                           const char *owner, int64_t now)
{
	struct sqlite_backend *b = p;
	struct put_args a = { rows, owner, now };
	int error;

	pthread_mutex_lock(&b->durable.lock);
	error = in_transaction(&b->durable, n, put_one, &a);
	pthread_mutex_unlock(&b->durable.lock);
	return error;
}

struct delete_args {
	const char *const *paths;
	size_t deleted;
};

static int delete_many_one(struct conn *c, size_t i, void *arg)
{
	static const char sql[] = "DELETE FROM resources WHERE path = ?";
	struct delete_args *a = arg;
	sqlite3_stmt *st;
	int error = COFFER_ERROR;

	if ((st = prep(c, sql)) != NULL) {
		bind_text(st, 1, a->paths[i]);
		if ((error = step_write(c, st, "resource delete")) == 0)
			a->deleted += (size_t)sqlite3_changes(c->db);
	}
	done(st);
	return error;
}

static int be_resource_delete_many(void *p, const char *const *paths, size_t n, size_t *deleted)
{
	struct sqlite_backend *b = p;
	struct delete_args a = { paths, 0 };
	int error;

	pthread_mutex_lock(&b->durable.lock);
	error = in_transaction(&b->durable, n, delete_many_one, &a);
	pthread_mutex_unlock(&b->durable.lock);
	*deleted = error == 0 ? a.deleted : 0;
	return error;
}

static int be_resource_get(void *p, const char *path, uint8_t **sealed, size_t *len)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT value FROM resources WHERE path = ?";
	sqlite3_stmt *st;
	int error = COFFER_ERROR, rc;

	pthread_mutex_lock(&b->fast.lock);
	if ((st = prep(&b->fast, sql)) == NULL)
		goto out;
	bind_text(st, 1, path);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		error = coffer_error_set(COFFER_ENOTFOUND, "no such resource");
	} else if (rc != SQLITE_ROW) {
		error = db_error(b->fast.db, rc, "resource get");
	} else {
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		*sealed = malloc(n ? n : 1);
		if (*sealed == NULL) {
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(*sealed, sqlite3_column_blob(st, 0), n);
		*len = n;
		error = 0;
	}
out:
	done(st);
	pthread_mutex_unlock(&b->fast.lock);
	return error;
}

static int delete_one(struct conn *c, const char *sql, const char *a, const char *b2,
                      const char *what)
{
	sqlite3_stmt *st;
	int error = COFFER_ERROR;

	pthread_mutex_lock(&c->lock);
	if ((st = prep(c, sql)) != NULL) {
		bind_text(st, 1, a);
		if (b2)
			bind_text(st, 2, b2);
		error = step_write(c, st, what);
		if (error == 0 && sqlite3_changes(c->db) == 0)
			error = coffer_error_set(COFFER_ENOTFOUND, "%s: not found", what);
	}
	done(st);
	pthread_mutex_unlock(&c->lock);
	return error;
}

static int be_resource_list(void *p, coffer_store_resource_info **out, size_t *n,
                            const char *prefix)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT path, size, created, updated, owner FROM resources "
	                          "WHERE ?1 IS NULL OR substr(path, 1, length(?1)) = ?1 "
	                          "ORDER BY path";
	coffer_store_resource_info *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	sqlite3_stmt *st;
	int error = COFFER_ERROR, rc;

	pthread_mutex_lock(&b->fast.lock);
	if ((st = prep(&b->fast, sql)) == NULL)
		goto out;
	bind_text(st, 1, prefix);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL) {
				error = coffer_error_set(COFFER_ENOMEM, "out of memory");
				goto out;
			}
			v = nv;
		}
		memset(&v[cnt], 0, sizeof(v[cnt]));
		v[cnt].path = col_strdup(st, 0);
		v[cnt].size = (size_t)sqlite3_column_int64(st, 1);
		v[cnt].created = sqlite3_column_int64(st, 2);
		v[cnt].updated = sqlite3_column_int64(st, 3);
		v[cnt].owner = col_strdup(st, 4);
		cnt++;
		if (v[cnt - 1].path == NULL) {
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		error = db_error(b->fast.db, rc, "resource list");
		goto out;
	}
	*out = v;
	*n = cnt;
	v = NULL;
	error = 0;
out:
	done(st);
	pthread_mutex_unlock(&b->fast.lock);
	coffer_store_resource_info_free(v, cnt);
	return error;
}

/* ---- policies ---- */

/* Put a policy record on `c` (its lock held). */
static int policy_put_locked(struct conn *c, const char *kind, const char *id, const char *text,
                             size_t len, int64_t now)
{
	static const char sql[] = "INSERT INTO policies(kind, id, body, updated) VALUES(?,?,?,?)"
	                          " ON CONFLICT(kind, id) DO UPDATE SET body = excluded.body,"
	                          " updated = excluded.updated";
	sqlite3_stmt *st;
	int error = COFFER_ERROR;

	if ((st = prep(c, sql)) != NULL) {
		bind_text(st, 1, kind);
		bind_text(st, 2, id);
		sqlite3_bind_text(st, 3, text, (int)len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, now);
		error = step_write(c, st, "policy put");
	}
	done(st);
	return error;
}

static int be_policy_put(void *p, const char *kind, const char *id, const char *text, size_t len,
                         int64_t now)
{
	struct sqlite_backend *b = p;
	int error;

	pthread_mutex_lock(&b->durable.lock);
	error = policy_put_locked(&b->durable, kind, id, text, len, now);
	pthread_mutex_unlock(&b->durable.lock);
	return error;
}

static int be_policy_get(void *p, char **out, size_t *len, const char *kind, const char *id)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT body FROM policies WHERE kind = ? AND id = ?";
	sqlite3_stmt *st;
	int error = COFFER_ERROR, rc;

	pthread_mutex_lock(&b->fast.lock);
	if ((st = prep(&b->fast, sql)) == NULL)
		goto out;
	bind_text(st, 1, kind);
	bind_text(st, 2, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		error = coffer_error_set(COFFER_ENOTFOUND, "no such policy");
	} else if (rc != SQLITE_ROW) {
		error = db_error(b->fast.db, rc, "policy get");
	} else {
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		*out = malloc(n + 1);
		if (*out == NULL) {
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(*out, sqlite3_column_text(st, 0), n);
		(*out)[n] = '\0';
		if (len)
			*len = n;
		error = 0;
	}
out:
	done(st);
	pthread_mutex_unlock(&b->fast.lock);
	return error;
}

static int be_policy_delete(void *p, const char *kind, const char *id)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "DELETE FROM policies WHERE kind = ? AND id = ?";

	return delete_one(&b->durable, sql, kind, id, "policy delete");
}

static int list_strings(struct conn *c, json_t **out, const char *sql, const char *arg)
{
	sqlite3_stmt *st;
	json_t *arr = json_array();
	int error = COFFER_ERROR, rc;

	if (arr == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	pthread_mutex_lock(&c->lock);
	if ((st = prep(c, sql)) == NULL)
		goto out;
	bind_text(st, 1, arg);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (json_array_append_new(arr, json_string(t ? t : "")) < 0) {
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		error = db_error(c->db, rc, "list");
		goto out;
	}
	*out = arr;
	arr = NULL;
	error = 0;
out:
	done(st);
	pthread_mutex_unlock(&c->lock);
	json_decref(arr);
	return error;
}

static int be_policy_list(void *p, json_t **out, const char *kind)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT id FROM policies WHERE kind = ? ORDER BY id";

	return list_strings(&b->fast, out, sql, kind);
}

/* ---- reference values ---- */

struct refval_args {
	const char *const *names;
	char *const *texts;
	int64_t now;
};

static int refval_one(struct conn *c, size_t i, void *arg)
{
	static const char sql[] = "INSERT INTO reference_values(name, vals, updated) VALUES(?,?,?)"
	                          " ON CONFLICT(name) DO UPDATE SET vals = excluded.vals,"
	                          " updated = excluded.updated";
	const struct refval_args *a = arg;
	sqlite3_stmt *st;
	int error = COFFER_ERROR;

	if ((st = prep(c, sql)) != NULL) {
		bind_text(st, 1, a->names[i]);
		bind_text(st, 2, a->texts[i]);
		sqlite3_bind_int64(st, 3, a->now);
		error = step_write(c, st, "reference value set");
	}
	done(st);
	return error;
}

static int be_refval_set(void *p, const char *const *names, char *const *texts, size_t n,
                         int64_t now)
{
	struct sqlite_backend *b = p;
	struct refval_args a = { names, texts, now };
	int error;

	pthread_mutex_lock(&b->durable.lock);
	error = in_transaction(&b->durable, n, refval_one, &a);
	pthread_mutex_unlock(&b->durable.lock);
	return error;
}

static int be_refval_get(void *p, char **text, const char *name)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT vals FROM reference_values WHERE name = ?";
	sqlite3_stmt *st;
	int error = COFFER_ERROR, rc;

	pthread_mutex_lock(&b->fast.lock);
	if ((st = prep(&b->fast, sql)) == NULL)
		goto out;
	bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		error = coffer_error_set(COFFER_ENOTFOUND, "no such reference value");
	else if (rc != SQLITE_ROW)
		error = db_error(b->fast.db, rc, "reference value get");
	else if ((*text = col_strdup(st, 0)) == NULL)
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
	else
		error = 0;
out:
	done(st);
	pthread_mutex_unlock(&b->fast.lock);
	return error;
}

static int be_refval_all(void *p, json_t **out)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT name, vals FROM reference_values ORDER BY name";
	sqlite3_stmt *st;
	json_t *obj = json_object();
	int error = COFFER_ERROR, rc;

	if (obj == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	pthread_mutex_lock(&b->fast.lock);
	if ((st = prep(&b->fast, sql)) == NULL)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *v = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
		if (v == NULL ||
		    json_object_set_new(obj, (const char *)sqlite3_column_text(st, 0), v) < 0) {
			error = coffer_error_set(COFFER_ERROR, "reference values: corrupt row");
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		error = db_error(b->fast.db, rc, "reference values");
		goto out;
	}
	*out = obj;
	obj = NULL;
	error = 0;
out:
	done(st);
	pthread_mutex_unlock(&b->fast.lock);
	json_decref(obj);
	return error;
}

/* ---- principals ---- */

static int be_principal_add(void *p, const coffer_store_principal *pr)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "INSERT INTO principals(id, persona, public_key, namespaces,"
	                          " enrolled_by, enrolled_at, disabled) VALUES(?,?,?,?,?,?,?)";
	sqlite3_stmt *st = NULL;
	char *key = NULL, *ns = NULL;
	int error = COFFER_ERROR;

	key = json_dumps(pr->public_key, JSON_COMPACT | JSON_SORT_KEYS);
	ns = pr->namespaces ? json_dumps(pr->namespaces, JSON_COMPACT) : strdup("[]");
	if (key == NULL || ns == NULL) {
		free(key);
		free(ns);
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	pthread_mutex_lock(&b->durable.lock);
	if ((st = prep(&b->durable, sql)) != NULL) {
		bind_text(st, 1, pr->id);
		bind_text(st, 2, pr->persona);
		bind_text(st, 3, key);
		bind_text(st, 4, ns);
		bind_text(st, 5, pr->enrolled_by);
		sqlite3_bind_int64(st, 6, pr->enrolled_at);
		sqlite3_bind_int(st, 7, pr->disabled ? 1 : 0);
		error = step_write(&b->durable, st, "principal add");
		if (error == COFFER_EEXISTS)
			coffer_error_set(COFFER_EEXISTS, "principal %s exists", pr->id);
	}
	done(st);
	pthread_mutex_unlock(&b->durable.lock);
	free(key);
	free(ns);
	return error;
}

static int principal_row(coffer_store_principal *out, sqlite3_stmt *st)
{
	memset(out, 0, sizeof(*out));
	out->id = col_strdup(st, 0);
	out->persona = col_strdup(st, 1);
	out->public_key = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
	out->namespaces = json_loads((const char *)sqlite3_column_text(st, 3), 0, NULL);
	out->enrolled_by = col_strdup(st, 4);
	out->enrolled_at = sqlite3_column_int64(st, 5);
	out->disabled = sqlite3_column_int(st, 6) != 0;
	if (out->id == NULL || out->persona == NULL || out->public_key == NULL ||
	    out->namespaces == NULL) {
		coffer_store_principal_clear(out);
		return coffer_error_set(COFFER_ERROR, "principal: corrupt row");
	}
	return 0;
}

#define PRINCIPAL_COLS "id, persona, public_key, namespaces, enrolled_by, enrolled_at, disabled"

static int be_principal_get(void *p, coffer_store_principal *out, const char *id)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT " PRINCIPAL_COLS " FROM principals WHERE id = ?";
	sqlite3_stmt *st;
	int error = COFFER_ERROR, rc;

	pthread_mutex_lock(&b->fast.lock);
	if ((st = prep(&b->fast, sql)) == NULL)
		goto out;
	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		error = coffer_error_set(COFFER_ENOTFOUND, "no such principal");
	else if (rc != SQLITE_ROW)
		error = db_error(b->fast.db, rc, "principal get");
	else
		error = principal_row(out, st);
out:
	done(st);
	pthread_mutex_unlock(&b->fast.lock);
	return error;
}

static int be_principal_set_disabled(void *p, const char *id, bool disabled)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "UPDATE principals SET disabled = ? WHERE id = ?";
	sqlite3_stmt *st;
	int error = COFFER_ERROR;

	pthread_mutex_lock(&b->durable.lock);
	if ((st = prep(&b->durable, sql)) != NULL) {
		sqlite3_bind_int(st, 1, disabled ? 1 : 0);
		bind_text(st, 2, id);
		error = step_write(&b->durable, st, "principal disable");
		if (error == 0 && sqlite3_changes(b->durable.db) == 0)
			error = coffer_error_set(COFFER_ENOTFOUND, "no such principal");
	}
	done(st);
	pthread_mutex_unlock(&b->durable.lock);
	return error;
}

static int be_principal_list(void *p, coffer_store_principal **out, size_t *n)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT " PRINCIPAL_COLS " FROM principals ORDER BY id";
	coffer_store_principal *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	sqlite3_stmt *st;
	int error = COFFER_ERROR, rc;

	pthread_mutex_lock(&b->fast.lock);
	if ((st = prep(&b->fast, sql)) == NULL)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL) {
				error = coffer_error_set(COFFER_ENOMEM, "out of memory");
				goto out;
			}
			v = nv;
		}
		if ((error = principal_row(&v[cnt], st)) < 0)
			goto out;
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		error = db_error(b->fast.db, rc, "principal list");
		goto out;
	}
	*out = v;
	*n = cnt;
	v = NULL;
	error = 0;
out:
	done(st);
	pthread_mutex_unlock(&b->fast.lock);
	coffer_store_principal_list_free(v, cnt);
	return error;
}

/* ---- jti ---- */

static int be_jti_use(void *p, const char *jti, int64_t expires)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "INSERT INTO used_jti(jti, expires) VALUES(?,?)";
	sqlite3_stmt *st;
	int error = COFFER_ERROR;

	pthread_mutex_lock(&b->durable.lock);
	if ((st = prep(&b->durable, sql)) != NULL) {
		bind_text(st, 1, jti);
		sqlite3_bind_int64(st, 2, expires);
		error = step_write(&b->durable, st, "jti");
		if (error == COFFER_EEXISTS)
			coffer_error_set(COFFER_EEXISTS, "token id already used (replay)");
	}
	done(st);
	pthread_mutex_unlock(&b->durable.lock);
	return error;
}

/* ---- audit ---- */

static int be_audit_append(void *p, int64_t *seq, int64_t now, const char *actor,
                           const char *action, const char *ns, const char *record)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "INSERT INTO audit(time, actor, action, namespace, record)"
	                          " VALUES(?,?,?,?,?)";
	sqlite3_stmt *st;
	int error = COFFER_ERROR;

	pthread_mutex_lock(&b->durable.lock);
	if ((st = prep(&b->durable, sql)) != NULL) {
		sqlite3_bind_int64(st, 1, now);
		bind_text(st, 2, actor);
		bind_text(st, 3, action);
		bind_text(st, 4, ns);
		bind_text(st, 5, record);
		error = step_write(&b->durable, st, "audit append");
		if (error == 0)
			*seq = sqlite3_last_insert_rowid(b->durable.db);
	}
	done(st);
	pthread_mutex_unlock(&b->durable.lock);
	return error;
}

struct audit_batch_args {
	const struct store_audit_row *rows;
	size_t n;
	int64_t *seq;
	const char *pkind, *pid, *ptext; /* a policy record stored after the rows */
	size_t plen;
};

/* Item i < n: audit row i; item n: the policy record. */
static int audit_row_one(struct conn *c, size_t i, void *arg)
{
	static const char sql[] = "INSERT INTO audit(time, actor, action, namespace, record)"
	                          " VALUES(?,?,?,?,?)";
	const struct audit_batch_args *a = arg;
	sqlite3_stmt *st;
	int error = COFFER_ERROR;

	if (i == a->n)
		return policy_put_locked(c, a->pkind, a->pid, a->ptext, a->plen,
		                         a->rows[a->n - 1].time);
	if ((st = prep(c, sql)) != NULL) {
		sqlite3_bind_int64(st, 1, a->rows[i].time);
		bind_text(st, 2, a->rows[i].actor);
		bind_text(st, 3, a->rows[i].action);
		bind_text(st, 4, a->rows[i].ns);
		bind_text(st, 5, a->rows[i].record_json);
		if ((error = step_write(c, st, "audit append")) == 0)
			a->seq[i] = sqlite3_last_insert_rowid(c->db);
	}
	done(st);
	return error;
}

static int be_audit_append_batch(void *p, const struct store_audit_row *rows, size_t n,
                                 int64_t *seq, const char *pkind, const char *pid,
                                 const char *ptext, size_t plen)
{
	struct sqlite_backend *b = p;
	struct audit_batch_args a = { rows, n, seq, pkind, pid, ptext, plen };
	int error;

	/* one transaction, one sync at COMMIT (synchronous=FULL) */
	pthread_mutex_lock(&b->durable.lock);
	error = in_transaction(&b->durable, n + (pkind != NULL ? 1 : 0), audit_row_one, &a);
	pthread_mutex_unlock(&b->durable.lock);
	return error;
}

/* One audit row as {"seq","time","actor","action","namespace","record"}. */
static json_t *audit_row(sqlite3_stmt *st)
{
	const char *nsv = (const char *)sqlite3_column_text(st, 4);

	return json_pack("{s:I,s:I,s:s,s:s,s:o,s:o}", "seq",
	                 (json_int_t)sqlite3_column_int64(st, 0), "time",
	                 (json_int_t)sqlite3_column_int64(st, 1), "actor",
	                 (const char *)sqlite3_column_text(st, 2), "action",
	                 (const char *)sqlite3_column_text(st, 3), "namespace",
	                 nsv ? json_string(nsv) : json_null(), "record",
	                 json_loads((const char *)sqlite3_column_text(st, 5), 0, NULL));
}

static int be_audit_last(void *p, json_t **out)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT seq, time, actor, action, namespace, record FROM audit"
	                          " ORDER BY seq DESC LIMIT 1";
	sqlite3_stmt *st;
	int error = COFFER_ERROR, rc;

	pthread_mutex_lock(&b->fast.lock);
	if ((st = prep(&b->fast, sql)) == NULL)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		error = 0;
	} else if (rc != SQLITE_ROW) {
		error = db_error(b->fast.db, rc, "audit last");
	} else if ((*out = audit_row(st)) == NULL) {
		error = coffer_error_set(COFFER_ERROR, "audit: corrupt row");
	} else {
		error = 0;
	}
out:
	done(st);
	pthread_mutex_unlock(&b->fast.lock);
	return error;
}

static int be_audit_list(void *p, json_t **out, int64_t after, const char *ns, size_t limit)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT seq, time, actor, action, namespace, record FROM audit"
	                          " WHERE seq > ?1 AND (?2 IS NULL OR namespace = ?2)"
	                          " ORDER BY seq LIMIT ?3";
	sqlite3_stmt *st;
	json_t *arr = json_array(), *e;
	int error = COFFER_ERROR, rc;

	if (arr == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	pthread_mutex_lock(&b->fast.lock);
	if ((st = prep(&b->fast, sql)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, after);
	bind_text(st, 2, ns);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		e = audit_row(st);
		if (e == NULL || json_array_append_new(arr, e) < 0) {
			error = coffer_error_set(COFFER_ERROR, "audit: corrupt row");
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		error = db_error(b->fast.db, rc, "audit list");
		goto out;
	}
	*out = arr;
	arr = NULL;
	error = 0;
out:
	done(st);
	pthread_mutex_unlock(&b->fast.lock);
	json_decref(arr);
	return error;
}

const struct store_ops coffer_store_sqlite_ops = {
	.name = "sqlite",
	.open = be_open,
	.close = be_close,
	.schema_version = be_schema_version,
	.integrity_check = be_integrity_check,
	.session_create = be_session_create,
	.session_get = be_session_get,
	.session_use_nonce = be_session_use_nonce,
	.session_set_attested = be_session_set_attested,
	.session_attest = be_session_attest,
	.session_delete = be_session_delete,
	.checkpoint = be_checkpoint,
	.sweep = be_sweep,
	.resource_put = be_resource_put,
	.resource_get = be_resource_get,
	.resource_delete_many = be_resource_delete_many,
	.resource_list = be_resource_list,
	.policy_put = be_policy_put,
	.policy_get = be_policy_get,
	.policy_delete = be_policy_delete,
	.policy_list = be_policy_list,
	.refval_set = be_refval_set,
	.refval_get = be_refval_get,
	.refval_all = be_refval_all,
	.principal_add = be_principal_add,
	.principal_get = be_principal_get,
	.principal_set_disabled = be_principal_set_disabled,
	.principal_list = be_principal_list,
	.jti_use = be_jti_use,
	.audit_append = be_audit_append,
	.audit_append_batch = be_audit_append_batch,
	.audit_last = be_audit_last,
	.audit_list = be_audit_list,
};
