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
 *
 * The sessions file is written with synchronous=OFF (see "the sessions
 * file across reboots" below): never synced, so the ~16 KiB of WAL frames
 * each handshake writes mostly stay in the page cache, where the next WAL
 * cycle overwrites them, instead of being flushed at every checkpoint
 * (126 MB/s of disk writes under the handshake load, 29 MB/s without).
 * SQLite's WAL stays consistent through a crash of the process; after a
 * crash of the system it may not be, so the file records the boot it was
 * written in, and a broker that opens it after a reboot discards it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <sqlite3.h>

#include "coffer/buf.h"
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
	/* bytes of zeroblob a new session row reserves for its sealed token:
	 * the size of the last token stored (see be_session_create) */
	_Atomic size_t token_reserve;
};

/* A reservation above this is not made (a token that large grows its row). */
#define TOKEN_RESERVE_MAX 8192

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

/* The sessions file's schema (PRAGMA user_version; the file has no other
 * version table). A rowid table with a unique index on the id: the row
 * grows by the sealed token (about 1.5 KiB) at attestation, and in a
 * WITHOUT ROWID table that would make every key comparison of a seek
 * assemble the row from overflow pages into a heap buffer.
 *
 * Version 2 has the same table; what changed is the token column of a
 * session that has not attested: it holds a zeroblob placeholder, not NULL
 * (be_session_create), and only `attested` says whether it is a token. A
 * version 1 broker would read the placeholder as a sealed token, so it
 * refuses a version 2 file; a version 1 file needs no change to be read as
 * version 2 (its unattested rows have NULL). */
#define SESSIONS_VERSION 2
static const char sessions_schema[] =
        "CREATE TABLE IF NOT EXISTS sessions(id TEXT NOT NULL UNIQUE, nonce TEXT NOT NULL,"
        " tee TEXT NOT NULL, hash_algs TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL,"
        " expires INTEGER NOT NULL, nonce_used INTEGER NOT NULL DEFAULT 0,"
        " attested INTEGER NOT NULL DEFAULT 0, token BLOB);"
        "PRAGMA user_version=2;";

static int db_error(sqlite3 *db, int rc, const char *what)
{
	int code = COFFER_EIO;

	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		code = COFFER_ELIMIT;
	else if (rc == SQLITE_CONSTRAINT)
		code = COFFER_EEXISTS;
	else if (rc == SQLITE_NOMEM)
		code = COFFER_ENOMEM;
	else if (rc == SQLITE_TOOBIG)
		code = COFFER_ELIMIT;
	/* a bind refused before SQLite saw it leaves an older message */
	return coffer_error_set(code, "store: %s: %s", what,
	                        db && sqlite3_errcode(db) == rc ? sqlite3_errmsg(db)
	                                                        : sqlite3_errstr(rc));
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

/* Opens the sessions file: see "the sessions file across reboots" below. */
static int sessions_open(struct conn *c, const char *spath, int busy_ms, bool *synced);

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
	bool synced = true;
	int error;

	if (b == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	/* the sessions file first (migration 3 copies into it) */
	if ((error = sessions_path(&spath, path)) < 0 ||
	    (error = sessions_open(&b->sess, spath, busy_ms, &synced)) < 0 ||
	    (error = conn_open(&b->durable, path, busy_ms, "FULL")) < 0 ||
	    (error = attach_sessions(&b->durable, spath)) < 0 ||
	    (error = migrate(&b->durable)) < 0 ||
	    (error = exec_locked(&b->durable, "DETACH DATABASE sess")) < 0 ||
	    (error = conn_open(&b->fast, path, busy_ms, "NORMAL")) < 0 ||
	    (error = exec_locked(&b->fast, "PRAGMA wal_autocheckpoint=0")) < 0 ||
	    (error = conn_open(&b->ckpt, path, busy_ms, "NORMAL")) < 0 ||
	    (error = exec_locked(&b->ckpt, "PRAGMA wal_autocheckpoint=0")) < 0 ||
	    (error = conn_open(&b->sckpt, spath, busy_ms, synced ? "NORMAL" : "OFF")) < 0 ||
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

/* ---- statements: bind, step, copy out ---- */

/* One argument of a statement, bound at its position: a text (NULL binds
 * SQL NULL), an integer or a blob, all SQLITE_STATIC (the caller keeps
 * them alive until the statement is done). */
struct arg {
	enum { ARG_TEXT, ARG_INT, ARG_BLOB } type;
	const void *ptr;
	size_t len; /* text: SIZE_MAX (up to its NUL) or its length; blob: its length */
	sqlite3_int64 i;
};

/* A statement's arguments in parameter order, e.g.
 * ARGS(arg_text(id), arg_int(now)); NO_ARGS for none. */
struct args {
	const struct arg *v;
	size_t n;
};
#define ARGS(...)                                            \
	((struct args){ (const struct arg[]){ __VA_ARGS__ }, \
	                sizeof((const struct arg[]){ __VA_ARGS__ }) / sizeof(struct arg) })
#define NO_ARGS ((struct args){ NULL, 0 })

static struct arg arg_text(const char *s)
{
	return (struct arg){ ARG_TEXT, s, SIZE_MAX, 0 };
}

static struct arg arg_text_len(const char *s, size_t len)
{
	return (struct arg){ ARG_TEXT, s, len, 0 };
}

static struct arg arg_int(int64_t i)
{
	return (struct arg){ ARG_INT, NULL, 0, i };
}

static struct arg arg_blob(const void *p, size_t len)
{
	return (struct arg){ ARG_BLOB, p, len, 0 };
}

/* SQLITE_OK, or the first bind's failure: a length past INT_MAX (which
 * SQLite's int lengths cannot carry) is SQLITE_TOOBIG before SQLite sees
 * it; SQLite refuses one past its own length limit, or out of memory. */
static int bind_args(sqlite3_stmt *st, struct args args)
{
	int rc = SQLITE_OK;

	for (size_t i = 0; i < args.n && rc == SQLITE_OK; i++) {
		const struct arg *a = &args.v[i];
		int at = (int)i + 1;

		if (a->type != ARG_INT && a->ptr != NULL && a->len != SIZE_MAX && a->len > INT_MAX)
			rc = SQLITE_TOOBIG;
		else if (a->type == ARG_INT)
			rc = sqlite3_bind_int64(st, at, a->i);
		else if (a->type == ARG_BLOB)
			rc = sqlite3_bind_blob(st, at, a->ptr, (int)a->len, SQLITE_STATIC);
		else if (a->ptr == NULL)
			rc = sqlite3_bind_null(st, at);
		else
			rc = sqlite3_bind_text(st, at, a->ptr,
			                       a->len == SIZE_MAX ? -1 : (int)a->len,
			                       SQLITE_STATIC);
	}
	return rc;
}

/* Reads the current row of `st` into `ctx` (or judges it); 0 or an error. */
typedef int (*row_fn)(sqlite3_stmt *st, void *ctx);

/* The one row `sql` selects on the locked `c`, handed to `row`. No row is
 * COFFER_ENOTFOUND with the message `missing` or, when `missing` is NULL,
 * 0 without a call to `row`; a failed step is db_error() for `what`. */
static int read_row_locked(struct conn *c, const char *sql, struct args args, const char *missing,
                           const char *what, row_fn row, void *ctx)
{
	sqlite3_stmt *st = prep(c, sql);
	int error = COFFER_ERROR, rc;

	if (st == NULL)
		return error;
	if ((rc = bind_args(st, args)) == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		error = row(st, ctx);
	else if (rc != SQLITE_DONE)
		error = db_error(c->db, rc, what);
	else if (missing != NULL)
		error = coffer_error_set(COFFER_ENOTFOUND, "%s", missing);
	else
		error = 0;
	done(st);
	return error;
}

/* read_row_locked() under c's lock. */
static int read_row(struct conn *c, const char *sql, struct args args, const char *missing,
                    const char *what, row_fn row, void *ctx)
{
	int error;

	pthread_mutex_lock(&c->lock);
	error = read_row_locked(c, sql, args, missing, what, row, ctx);
	pthread_mutex_unlock(&c->lock);
	return error;
}

/* Every row `sql` selects on `c`, in order, handed to `row` under c's lock;
 * the first error (of `row`, or db_error() for `what`) ends the read. */
static int read_rows(struct conn *c, const char *sql, struct args args, const char *what,
                     row_fn row, void *ctx)
{
	sqlite3_stmt *st;
	int error = COFFER_ERROR, rc;

	pthread_mutex_lock(&c->lock);
	if ((st = prep(c, sql)) == NULL)
		goto out;
	if ((rc = bind_args(st, args)) == SQLITE_OK)
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if ((error = row(st, ctx)) < 0)
				goto out;
	error = rc == SQLITE_DONE ? 0 : db_error(c->db, rc, what);
out:
	done(st);
	pthread_mutex_unlock(&c->lock);
	return error;
}

/* read_rows() into the new JSON array or object `into` (NULL: out of
 * memory): *out = it when all rows went in, else it is freed. */
static int read_json(json_t **out, json_t *into, struct conn *c, const char *sql, struct args args,
                     const char *what, row_fn row)
{
	int error;

	if (into == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	if ((error = read_rows(c, sql, args, what, row, into)) < 0) {
		json_decref(into);
		return error;
	}
	*out = into;
	return 0;
}

/* Run the write `sql` on the locked `c` to completion; *changed (unless
 * NULL) = the rows it changed. */
static int run_write_locked(struct conn *c, const char *sql, struct args args, const char *what,
                            size_t *changed)
{
	sqlite3_stmt *st = prep(c, sql);
	int error = COFFER_ERROR, rc;

	if (st != NULL) {
		if ((rc = bind_args(st, args)) == SQLITE_OK)
			rc = sqlite3_step(st);
		error = rc == SQLITE_DONE ? 0 : db_error(c->db, rc, what);
		if (error == 0 && changed != NULL)
			*changed = (size_t)sqlite3_changes(c->db);
	}
	done(st);
	return error;
}

/* run_write_locked() under c's lock. */
static int run_write(struct conn *c, const char *sql, struct args args, const char *what,
                     size_t *changed)
{
	int error;

	pthread_mutex_lock(&c->lock);
	error = run_write_locked(c, sql, args, what, changed);
	pthread_mutex_unlock(&c->lock);
	return error;
}

/* ---- the sessions file across reboots ----
 *
 * Sessions are disposable (a guest whose session is gone attests again),
 * which is what lets their file go unsynced. Within one boot the page
 * cache is the file, whatever happens to a process. A system crash can
 * lose writes in any order, and a checkpoint that reached the disk only in
 * part leaves b-trees that do not agree; so the file keeps the boot id it
 * was written under (table `boot`), and it is deleted, with its WAL and
 * shared memory, when it was written under another boot, or cannot be
 * read. A file without the table was written synced (an older broker) and
 * is kept. Where the boot id cannot be read the file is written synced
 * (synchronous=NORMAL), as before. The check and the deletion happen under
 * an exclusive flock on PATH-sessions.db.lock, so two brokers starting
 * together delete at most once and never a file the other just made. */

#define BOOT_ID_LEN 36

static bool read_boot_id(char out[BOOT_ID_LEN + 1])
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	bool ok;

	if (f == NULL)
		return false;
	ok = fgets(out, BOOT_ID_LEN + 1, f) != NULL && strlen(out) == BOOT_ID_LEN;
	fclose(f);
	return ok;
}

/* Whether the sessions file at spath must go: 1 when it was written under
 * another boot or SQLite finds it corrupt or not a database, 0 to keep it
 * (absent, this boot's, or an older broker's synced file), an error for
 * anything else (busy past the timeout, I/O): never delete a file that is
 * merely in use. */
static int sessions_stale(const char *spath, const char *boot, int busy_ms)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc, stale = 0, has_boot = 0;

	if (access(spath, F_OK) != 0 && errno == ENOENT)
		return 0;
	rc = sqlite3_open_v2(spath, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, busy_ms);
		/* counting the sessions walks their b-tree once */
		rc = sqlite3_prepare_v2(db,
		                        "SELECT (SELECT count(*) FROM sqlite_schema WHERE"
		                        " name = 'boot'), (SELECT count(*) FROM sessions)",
		                        -1, &st, NULL);
	}
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		has_boot = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SQLITE_OK && has_boot) {
		rc = sqlite3_prepare_v2(db, "SELECT id FROM boot", -1, &st, NULL);
		if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			const unsigned char *id = sqlite3_column_text(st, 0);
			stale = id == NULL || strcmp((const char *)id, boot) != 0;
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE) {
			stale = 1; /* the boot row is written at open: a file without it */
			rc = SQLITE_OK;
		}
		sqlite3_finalize(st);
	}
	if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
		stale = 1;
	else if (rc != SQLITE_OK)
		stale = db_error(db, rc, "sessions file");
	sqlite3_close_v2(db);
	return stale;
}

static int sessions_delete(const char *spath)
{
	static const char *const suffix[] = { "-wal", "-shm", "" };
	char p[PATH_MAX];

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		if (snprintf(p, sizeof(p), "%s%s", spath, suffix[i]) >= (int)sizeof(p))
			return coffer_error_set(COFFER_ELIMIT, "store: path too long");
		if (unlink(p) != 0 && errno != ENOENT)
			return coffer_error_set(COFFER_EIO, "store: cannot delete %s: %s", p,
			                        strerror(errno));
	}
	return 0;
}

/* Under the lock: the stale file deleted, the sessions connection open
 * (unsynced when the boot is known) with its schema and this boot's id. */
static int sessions_open(struct conn *c, const char *spath, int busy_ms, bool *synced)
{
	char boot[BOOT_ID_LEN + 1], lock[PATH_MAX];
	bool known = read_boot_id(boot);
	int fd, error;

	*synced = !known;
	if (snprintf(lock, sizeof(lock), "%s.lock", spath) >= (int)sizeof(lock))
		return coffer_error_set(COFFER_ELIMIT, "store: path too long");
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return coffer_error_set(COFFER_EIO, "store: %s: %s", lock, strerror(errno));
	if (flock(fd, LOCK_EX) != 0) {
		error = coffer_error_set(COFFER_EIO, "store: lock %s: %s", lock, strerror(errno));
		goto out;
	}
	if (known && (error = sessions_stale(spath, boot, busy_ms)) != 0) {
		if (error < 0 || (error = sessions_delete(spath)) < 0)
			goto out;
	}
	if ((error = conn_open(c, spath, busy_ms, known ? "OFF" : "NORMAL")) < 0 ||
	    (error = sessions_setup(c)) < 0)
		goto out;
	/* the table holds one row, replaced in one statement */
	if (known &&
	    (error = exec_locked(c, "CREATE TABLE IF NOT EXISTS boot(id TEXT NOT NULL)")) == 0)
		error = run_write(c, "INSERT OR REPLACE INTO boot(rowid, id) VALUES(1, ?)",
		                  ARGS(arg_text(boot)), "sessions boot id", NULL);
out:
	close(fd); /* releases the lock */
	return error;
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

/* Blob column i into *out (malloc'd, at least one byte so that an empty
 * blob is not NULL) and *len. */
static int col_blob(uint8_t **out, size_t *len, sqlite3_stmt *st, int i)
{
	const void *v = sqlite3_column_blob(st, i);
	size_t n = (size_t)sqlite3_column_bytes(st, i);

	*out = malloc(n ? n : 1);
	if (*out == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	if (n > 0)
		memcpy(*out, v, n);
	*len = n;
	return 0;
}

/* Text column i into *out (malloc'd, NUL-terminated) and, unless NULL,
 * its length without the NUL into *len. */
static int col_text(char **out, size_t *len, sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	size_t n = (size_t)sqlite3_column_bytes(st, i);

	*out = malloc(n + 1);
	if (*out == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	if (n > 0)
		memcpy(*out, t, n);
	(*out)[n] = '\0';
	if (len != NULL)
		*len = n;
	return 0;
}

/* Where row_column() copies column 0: a blob into *blob or, with `blob`
 * NULL, a text into *text; its length into *len (NULL: not wanted, for a
 * text). */
struct column_out {
	uint8_t **blob;
	char **text;
	size_t *len;
};

static int row_column(sqlite3_stmt *st, void *ctx)
{
	const struct column_out *o = ctx;

	if (o->blob != NULL)
		return col_blob(o->blob, o->len, st, 0);
	return col_text(o->text, o->len, st, 0);
}

/* The single column of the one row `sql` selects on `c`, copied out: a
 * blob (col_blob) when `blob` is set, else a text (col_text); the errors
 * are read_row()'s. */
static int read_column(struct conn *c, const char *sql, struct args args, const char *missing,
                       const char *what, uint8_t **blob, char **text, size_t *len)
{
	struct column_out o = { blob, text, len };

	return read_row(c, sql, args, missing, what, row_column, &o);
}

/* The array `v` of *cap elements of `size` bytes, with room for element
 * `cnt`: `v` itself, or a larger copy (`first` elements, then twice as
 * many) with *cap updated; NULL (`v` untouched) when out of memory. */
static void *room_for(void *v, size_t *cap, size_t cnt, size_t size, size_t first)
{
	size_t ncap;
	void *nv;

	if (cnt < *cap)
		return v;
	size_t bytes;

	ncap = *cap ? *cap * 2 : first;
	if (ncap < *cap || coffer_size_mul(&bytes, ncap, size) < 0)
		return NULL;
	if ((nv = realloc(v, bytes)) != NULL)
		*cap = ncap;
	return nv;
}

/* ---- sessions (sessions file) ---- */

/* A new session's row reserves, as a zeroblob in its token column, as many
 * bytes as the last sealed token took. The attestation then overwrites the
 * placeholder in place. A row that instead grows from about 150 bytes to
 * 1.9 KiB makes SQLite rebalance the rightmost leaf pages, where the newest
 * sessions sit: in bench_kbs the attestation's UPDATE took 36-37 us of
 * CPU with the row growing and 16.5 us with the reservation, against 4 us
 * more for the INSERT. */
static int be_session_create(void *p, const coffer_store_session *s)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "INSERT INTO sessions(id, nonce, tee, hash_algs, created, "
	                          "expires, token) VALUES(?,?,?,?,?,?,zeroblob(?))";
	size_t reserve = atomic_load_explicit(&b->token_reserve, memory_order_relaxed);

	return run_write(&b->sess, sql,
	                 ARGS(arg_text(s->id), arg_text(s->nonce), arg_text(s->tee),
	                      arg_text(s->hash_algs), arg_int(s->created), arg_int(s->expires),
	                      arg_int((int64_t)reserve)),
	                 "session create", NULL);
}

static void note_token_size(struct sqlite_backend *b, size_t len)
{
	atomic_store_explicit(&b->token_reserve, len <= TOKEN_RESERVE_MAX ? len : 0,
	                      memory_order_relaxed);
}

struct session_out {
	coffer_store_session *s;
	uint8_t **sealed;
	size_t *sealed_len;
};

static int session_row(sqlite3_stmt *st, void *ctx)
{
	struct session_out *o = ctx;

	copy_col(o->s->id, sizeof(o->s->id), st, 0);
	copy_col(o->s->nonce, sizeof(o->s->nonce), st, 1);
	copy_col(o->s->tee, sizeof(o->s->tee), st, 2);
	copy_col(o->s->hash_algs, sizeof(o->s->hash_algs), st, 3);
	o->s->created = sqlite3_column_int64(st, 4);
	o->s->expires = sqlite3_column_int64(st, 5);
	o->s->nonce_used = sqlite3_column_int(st, 6) != 0;
	o->s->attested = sqlite3_column_int(st, 7) != 0;
	/* before the attestation the column is a placeholder (be_session_create) */
	if (o->s->attested && sqlite3_column_type(st, 8) == SQLITE_BLOB)
		return col_blob(o->sealed, o->sealed_len, st, 8);
	return 0;
}

static int be_session_get(void *p, coffer_store_session *out, const char *id, uint8_t **sealed,
                          size_t *sealed_len)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT id, nonce, tee, hash_algs, created, expires, nonce_used,"
	                          " attested, token FROM sessions WHERE id = ?";
	struct session_out o = { out, sealed, sealed_len };

	*sealed = NULL;
	return read_row(&b->sess, sql, ARGS(arg_text(id)), "no such session", "session get",
	                session_row, &o);
}

/* The session exists: expired, or else its nonce already spent. */
static int session_refusal(sqlite3_stmt *st, void *ctx)
{
	const int64_t *now = ctx;

	if (sqlite3_column_int64(st, 0) <= *now)
		return coffer_error_set(COFFER_EEXPIRED, "session expired");
	return coffer_error_set(COFFER_EEXISTS, "nonce already used");
}

/* A conditional session update (`sql`: WHERE the nonce is unspent and the
 * session unexpired at `now`) on `c` under its lock; when it changed
 * nothing, the error that says why (no such session, expired, or its nonce
 * already spent). */
static int session_update(struct conn *c, const char *sql, struct args args, const char *id,
                          int64_t now, const char *what)
{
	static const char sel[] = "SELECT expires FROM sessions WHERE id = ?";
	size_t changed = 0;
	int error;

	pthread_mutex_lock(&c->lock);
	error = run_write_locked(c, sql, args, what, &changed);
	if (error == 0 && changed != 1)
		error = read_row_locked(c, sel, ARGS(arg_text(id)), "no such session", what,
		                        session_refusal, &now);
	pthread_mutex_unlock(&c->lock);
	return error;
}

static int be_session_use_nonce(void *p, const char *id, int64_t now)
{
	struct sqlite_backend *b = p;
	static const char upd[] = "UPDATE sessions SET nonce_used = 1 WHERE id = ? AND "
	                          "nonce_used = 0 AND expires > ?";

	return session_update(&b->sess, upd, ARGS(arg_text(id), arg_int(now)), id, now,
	                      "use nonce");
}

static int be_session_attest(void *p, const char *id, const uint8_t *sealed, size_t len,
                             int64_t expires, int64_t now)
{
	struct sqlite_backend *b = p;
	static const char upd[] = "UPDATE sessions SET nonce_used = 1, attested = 1, token = ?,"
	                          " expires = ? WHERE id = ? AND nonce_used = 0 AND expires > ?";
	int error = session_update(
	        &b->sess, upd,
	        ARGS(arg_blob(sealed, len), arg_int(expires), arg_text(id), arg_int(now)), id, now,
	        "session attest");

	if (error == 0)
		note_token_size(b, len);
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

static int be_sweep(void *p, int64_t now, size_t *removed)
{
	struct sqlite_backend *b = p;
	static const char s1[] = "DELETE FROM sessions WHERE expires <= ?";
	static const char s2[] = "DELETE FROM used_jti WHERE expires <= ?";
	size_t n = 0;
	int error;

	*removed = 0;
	if ((error = run_write(&b->sess, s1, ARGS(arg_int(now)), "sweep", &n)) < 0)
		return error;
	*removed = n;
	/* a jti is kept past the token's exp so that a replay is refused as a
	 * replay, not only as expired */
	if ((error = run_write(&b->fast, s2, ARGS(arg_int(now)), "sweep", &n)) < 0)
		return error;
	*removed += n;
	return 0;
}

/* ---- resources (writes durable, reads fast) ---- */

/* Run `one(c, item i)` for i < n in one transaction on `c` under its lock:
 * COMMIT when all succeed, ROLLBACK (nothing changed) otherwise. A single
 * statement is a transaction of its own. */
static int in_transaction(struct conn *c, size_t n, int (*one)(struct conn *c, size_t i, void *arg),
                          void *arg)
{
	int error;

	pthread_mutex_lock(&c->lock);
	if (n == 1) {
		error = one(c, 0, arg);
	} else if ((error = exec_locked(c, "BEGIN IMMEDIATE")) == 0) {
		for (size_t i = 0; i < n && error == 0; i++)
			error = one(c, i, arg);
		if (error == 0)
			error = exec_locked(c, "COMMIT");
		if (error < 0)
			sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	}
	pthread_mutex_unlock(&c->lock);
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
	const struct store_resource_row *r = &a->rows[i];

	return run_write_locked(c, sql,
	                        ARGS(arg_text(r->path), arg_blob(r->sealed, r->sealed_len),
	                             arg_int((int64_t)r->plain_len), arg_text(a->owner),
	                             arg_int(a->now)),
	                        "resource put", NULL);
}

static int be_resource_put(void *p, const struct store_resource_row *rows, size_t n,
                           const char *owner, int64_t now)
{
	struct sqlite_backend *b = p;
	struct put_args a = { rows, owner, now };

	return in_transaction(&b->durable, n, put_one, &a);
}

struct delete_args {
	const char *const *paths;
	size_t deleted;
};

static int delete_many_one(struct conn *c, size_t i, void *arg)
{
	static const char sql[] = "DELETE FROM resources WHERE path = ?";
	struct delete_args *a = arg;
	size_t changed = 0;
	int error;

	error = run_write_locked(c, sql, ARGS(arg_text(a->paths[i])), "resource delete", &changed);
	if (error == 0)
		a->deleted += changed;
	return error;
}

static int be_resource_delete_many(void *p, const char *const *paths, size_t n, size_t *deleted)
{
	struct sqlite_backend *b = p;
	struct delete_args a = { paths, 0 };
	int error;

	error = in_transaction(&b->durable, n, delete_many_one, &a);
	*deleted = error == 0 ? a.deleted : 0;
	return error;
}

static int be_resource_get(void *p, const char *path, uint8_t **sealed, size_t *len)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT value FROM resources WHERE path = ?";

	return read_column(&b->fast, sql, ARGS(arg_text(path)), "no such resource", "resource get",
	                   sealed, NULL, len);
}

struct resource_list {
	coffer_store_resource_info *v;
	size_t cnt, cap;
};

static int resource_list_row(sqlite3_stmt *st, void *ctx)
{
	struct resource_list *l = ctx;
	coffer_store_resource_info *nv, *r;

	if ((nv = room_for(l->v, &l->cap, l->cnt, sizeof(*l->v), 16)) == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	l->v = nv;
	r = &l->v[l->cnt++];
	memset(r, 0, sizeof(*r));
	r->path = col_strdup(st, 0);
	r->size = (size_t)sqlite3_column_int64(st, 1);
	r->created = sqlite3_column_int64(st, 2);
	r->updated = sqlite3_column_int64(st, 3);
	r->owner = col_strdup(st, 4);
	if (r->path == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	return 0;
}

static int be_resource_list(void *p, coffer_store_resource_info **out, size_t *n,
                            const char *prefix)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT path, size, created, updated, owner FROM resources "
	                          "WHERE ?1 IS NULL OR substr(path, 1, length(?1)) = ?1 "
	                          "ORDER BY path";
	struct resource_list l = { NULL, 0, 0 };
	int error;

	error = read_rows(&b->fast, sql, ARGS(arg_text(prefix)), "resource list", resource_list_row,
	                  &l);
	if (error < 0) {
		coffer_store_resource_info_free(l.v, l.cnt);
		return error;
	}
	*out = l.v;
	*n = l.cnt;
	return 0;
}

/* ---- policies ---- */

/* Put a policy record on `c` (its lock held). */
static int policy_put_locked(struct conn *c, const char *kind, const char *id, const char *text,
                             size_t len, int64_t now)
{
	static const char sql[] = "INSERT INTO policies(kind, id, body, updated) VALUES(?,?,?,?)"
	                          " ON CONFLICT(kind, id) DO UPDATE SET body = excluded.body,"
	                          " updated = excluded.updated";

	return run_write_locked(
	        c, sql, ARGS(arg_text(kind), arg_text(id), arg_text_len(text, len), arg_int(now)),
	        "policy put", NULL);
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

	return read_column(&b->fast, sql, ARGS(arg_text(kind), arg_text(id)), "no such policy",
	                   "policy get", NULL, out, len);
}

static int be_policy_delete(void *p, const char *kind, const char *id)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "DELETE FROM policies WHERE kind = ? AND id = ?";
	size_t changed = 0;
	int error;

	error = run_write(&b->durable, sql, ARGS(arg_text(kind), arg_text(id)), "policy delete",
	                  &changed);
	if (error == 0 && changed == 0)
		error = coffer_error_set(COFFER_ENOTFOUND, "policy delete: not found");
	return error;
}

/* Column 0 appended to the JSON array `ctx` (NULL as ""). */
static int string_row(sqlite3_stmt *st, void *ctx)
{
	const char *t = (const char *)sqlite3_column_text(st, 0);

	if (json_array_append_new(ctx, json_string(t ? t : "")) < 0)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	return 0;
}

static int be_policy_list(void *p, json_t **out, const char *kind)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT id FROM policies WHERE kind = ? ORDER BY id";

	return read_json(out, json_array(), &b->fast, sql, ARGS(arg_text(kind)), "list",
	                 string_row);
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

	return run_write_locked(c, sql,
	                        ARGS(arg_text(a->names[i]), arg_text(a->texts[i]), arg_int(a->now)),
	                        "reference value set", NULL);
}

static int be_refval_set(void *p, const char *const *names, char *const *texts, size_t n,
                         int64_t now)
{
	struct sqlite_backend *b = p;
	struct refval_args a = { names, texts, now };

	return in_transaction(&b->durable, n, refval_one, &a);
}

static int be_refval_get(void *p, char **text, const char *name)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT vals FROM reference_values WHERE name = ?";

	return read_column(&b->fast, sql, ARGS(arg_text(name)), "no such reference value",
	                   "reference value get", NULL, text, NULL);
}

/* Row (name, vals) set in the JSON object `ctx`, vals parsed. */
static int refval_row(sqlite3_stmt *st, void *ctx)
{
	json_t *v = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);

	if (v == NULL || json_object_set_new(ctx, (const char *)sqlite3_column_text(st, 0), v) < 0)
		return coffer_error_set(COFFER_ERROR, "reference values: corrupt row");
	return 0;
}

static int be_refval_all(void *p, json_t **out)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT name, vals FROM reference_values ORDER BY name";

	return read_json(out, json_object(), &b->fast, sql, NO_ARGS, "reference values",
	                 refval_row);
}

/* ---- principals ---- */

static int be_principal_add(void *p, const coffer_store_principal *pr)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "INSERT INTO principals(id, persona, public_key, namespaces,"
	                          " enrolled_by, enrolled_at, disabled) VALUES(?,?,?,?,?,?,?)";
	char *key = NULL, *ns = NULL;
	int error;

	key = json_dumps(pr->public_key, JSON_COMPACT | JSON_SORT_KEYS);
	ns = pr->namespaces ? json_dumps(pr->namespaces, JSON_COMPACT) : strdup("[]");
	if (key == NULL || ns == NULL) {
		free(key);
		free(ns);
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	error = run_write(&b->durable, sql,
	                  ARGS(arg_text(pr->id), arg_text(pr->persona), arg_text(key), arg_text(ns),
	                       arg_text(pr->enrolled_by), arg_int(pr->enrolled_at),
	                       arg_int(pr->disabled ? 1 : 0)),
	                  "principal add", NULL);
	if (error == COFFER_EEXISTS)
		coffer_error_set(COFFER_EEXISTS, "principal %s exists", pr->id);
	free(key);
	free(ns);
	return error;
}

/* The row (PRINCIPAL_COLS) into the coffer_store_principal `ctx`. */
static int principal_row(sqlite3_stmt *st, void *ctx)
{
	coffer_store_principal *out = ctx;

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

	return read_row(&b->fast, sql, ARGS(arg_text(id)), "no such principal", "principal get",
	                principal_row, out);
}

static int be_principal_set_disabled(void *p, const char *id, bool disabled)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "UPDATE principals SET disabled = ? WHERE id = ?";
	size_t changed = 0;
	int error;

	error = run_write(&b->durable, sql, ARGS(arg_int(disabled ? 1 : 0), arg_text(id)),
	                  "principal disable", &changed);
	if (error == 0 && changed == 0)
		error = coffer_error_set(COFFER_ENOTFOUND, "no such principal");
	return error;
}

struct principal_list {
	coffer_store_principal *v;
	size_t cnt, cap;
};

static int principal_list_row(sqlite3_stmt *st, void *ctx)
{
	struct principal_list *l = ctx;
	coffer_store_principal *nv;
	int error;

	if ((nv = room_for(l->v, &l->cap, l->cnt, sizeof(*l->v), 8)) == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	l->v = nv;
	if ((error = principal_row(st, &l->v[l->cnt])) < 0)
		return error;
	l->cnt++;
	return 0;
}

static int be_principal_list(void *p, coffer_store_principal **out, size_t *n)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT " PRINCIPAL_COLS " FROM principals ORDER BY id";
	struct principal_list l = { NULL, 0, 0 };
	int error;

	error = read_rows(&b->fast, sql, NO_ARGS, "principal list", principal_list_row, &l);
	if (error < 0) {
		coffer_store_principal_list_free(l.v, l.cnt);
		return error;
	}
	*out = l.v;
	*n = l.cnt;
	return 0;
}

/* ---- jti ---- */

static int be_jti_use(void *p, const char *jti, int64_t expires)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "INSERT INTO used_jti(jti, expires) VALUES(?,?)";
	int error;

	error = run_write(&b->durable, sql, ARGS(arg_text(jti), arg_int(expires)), "jti", NULL);
	if (error == COFFER_EEXISTS)
		coffer_error_set(COFFER_EEXISTS, "token id already used (replay)");
	return error;
}

/* ---- audit ---- */

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
	const struct store_audit_row *r;
	int error;

	if (i == a->n)
		return policy_put_locked(c, a->pkind, a->pid, a->ptext, a->plen,
		                         a->rows[a->n - 1].time);
	r = &a->rows[i];
	error = run_write_locked(c, sql,
	                         ARGS(arg_int(r->time), arg_text(r->actor), arg_text(r->action),
	                              arg_text(r->ns), arg_text(r->record_json)),
	                         "audit append", NULL);
	if (error == 0)
		a->seq[i] = sqlite3_last_insert_rowid(c->db);
	return error;
}

static int be_audit_append_batch(void *p, const struct store_audit_row *rows, size_t n,
                                 int64_t *seq, const char *pkind, const char *pid,
                                 const char *ptext, size_t plen)
{
	struct sqlite_backend *b = p;
	struct audit_batch_args a = { rows, n, seq, pkind, pid, ptext, plen };

	/* one transaction, one sync at COMMIT (synchronous=FULL) */
	return in_transaction(&b->durable, n + (pkind != NULL ? 1 : 0), audit_row_one, &a);
}

/* A batch of one row: a single INSERT, no transaction around it. */
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

static int audit_last_row(sqlite3_stmt *st, void *ctx)
{
	json_t **out = ctx;

	if ((*out = audit_row(st)) == NULL)
		return coffer_error_set(COFFER_ERROR, "audit: corrupt row");
	return 0;
}

static int be_audit_last(void *p, json_t **out)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT seq, time, actor, action, namespace, record FROM audit"
	                          " ORDER BY seq DESC LIMIT 1";

	/* an empty log is no error (*out as the caller set it) */
	return read_row(&b->fast, sql, NO_ARGS, NULL, "audit last", audit_last_row, out);
}

/* The row appended to the JSON array `ctx`. */
static int audit_list_row(sqlite3_stmt *st, void *ctx)
{
	json_t *e = audit_row(st);

	if (e == NULL || json_array_append_new(ctx, e) < 0)
		return coffer_error_set(COFFER_ERROR, "audit: corrupt row");
	return 0;
}

static int be_audit_list(void *p, json_t **out, int64_t after, const char *ns, size_t limit)
{
	struct sqlite_backend *b = p;
	static const char sql[] = "SELECT seq, time, actor, action, namespace, record FROM audit"
	                          " WHERE seq > ?1 AND (?2 IS NULL OR namespace = ?2)"
	                          " ORDER BY seq LIMIT ?3";

	return read_json(out, json_array(), &b->fast, sql,
	                 ARGS(arg_int(after), arg_text(ns), arg_int((int64_t)limit)), "audit list",
	                 audit_list_row);
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
	.session_attest = be_session_attest,
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
	.audit_append_batch = be_audit_append_batch,
	.audit_last = be_audit_last,
	.audit_list = be_audit_list,
};
