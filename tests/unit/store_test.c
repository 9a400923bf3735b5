/* Unit tests: the storage interface on its SQLite backend, sealing at rest. */
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <sqlite3.h>

#include "fault_rand.h"
#include "test_util.h"

#include "coffer/store.h"

struct fixture {
	char dir[64];
	char db[128];
	char key[128];
	char sfile[160]; /* the sessions file beside db */
	coffer_store *s;
};

static int open_store(struct fixture *f)
{
	coffer_store_options o = COFFER_STORE_OPTIONS_INIT;

	o.master_key_path = f->key;
	o.create_master_key = true;
	return coffer_store_open(&f->s, f->db, &o);
}

/* A session numbered n (its id n in hex), with a fixed nonce. */
static coffer_store_session session_with(unsigned n, const char *tee, int64_t created,
                                         int64_t expires)
{
	coffer_store_session s = { 0 };

	snprintf(s.id, sizeof(s.id), "%032x", n);
	snprintf(s.nonce, sizeof(s.nonce), "bm9uY2U=");
	snprintf(s.tee, sizeof(s.tee), "%s", tee);
	s.created = created;
	s.expires = expires;
	return s;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/store.db", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/master.key", f->dir);
	snprintf(f->sfile, sizeof(f->sfile), "%s/store-sessions.db", f->dir);
	assert_int_equal(open_store(f), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[200];

	/* a fault test whose assertion failed must not leave the next test
	 * without randomness */
	test_rand_fail_after = -1;
	coffer_store_close(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* The resource at `path` reads back as the string `value`, or is absent
 * when `value` is NULL. */
static void expect_resource(struct fixture *f, const char *path, const char *value)
{
	coffer_secret v = COFFER_SECRET_INIT;

	if (value == NULL) {
		assert_int_equal(coffer_store_resource_get(&v, f->s, path), COFFER_ENOTFOUND);
		return;
	}
	assert_int_equal(coffer_store_resource_get(&v, f->s, path), 0);
	assert_int_equal(v.len, strlen(value));
	assert_memory_equal(v.ptr, value, v.len);
	coffer_secret_free(&v);
}

static bool file_contains(const char *path, const void *needle, size_t n)
{
	size_t len = 0;
	uint8_t *d;
	bool found = false;
	FILE *fp = fopen(path, "rb");

	if (fp == NULL)
		return false;
	fclose(fp);
	d = test_read_file(path, &len);
	for (size_t i = 0; n <= len && i + n <= len; i++)
		if (memcmp(d + i, needle, n) == 0)
			found = true;
	free(d);
	return found;
}

static void test_master_key_file(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	coffer_store *s2 = NULL;
	coffer_store_options o = COFFER_STORE_OPTIONS_INIT;

	assert_int_equal(stat(f->key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(coffer_store_schema_version(f->s), 3);
	/* no master key, not asked to create one */
	o.master_key_path = "/nonexistent/coffer.key";
	assert_int_equal(coffer_store_open(&s2, f->db, &o), COFFER_EIO);
	/* readable by others: refused */
	chmod(f->key, 0644);
	o.master_key_path = f->key;
	assert_int_equal(coffer_store_open(&s2, f->db, &o), COFFER_EDENIED);
	chmod(f->key, 0600);
	assert_int_equal(coffer_store_open(&s2, "postgres://x", &o), COFFER_EUNSUPPORTED);
	assert_int_equal(coffer_store_open(&s2, NULL, &o), COFFER_EINVAL);
	/* the sessions go into a file beside the database: no file, no store */
	assert_int_equal(coffer_store_open(&s2, ":memory:", &o), COFFER_EINVAL);
	assert_non_null(strstr(coffer_error_last(), "a file path is needed"));
	assert_int_equal(coffer_store_open(&s2, "sqlite:file:x.db?mode=rwc", &o), COFFER_EINVAL);
	assert_null(s2);
}

static void test_resources_sealed(void **state)
{
	struct fixture *f = *state;
	static const char secret[] = "TOP-SECRET-VALUE-4242";
	coffer_secret v = COFFER_SECRET_INIT;
	coffer_store_resource_info *list = NULL;
	size_t n = 0;
	char *ok = NULL, wal[160];

	assert_int_equal(coffer_store_resource_put(f->s, "repo/key/one", (const uint8_t *)secret,
	                                           strlen(secret), "wp", 100),
	                 0);
	assert_int_equal(
	        coffer_store_resource_put(f->s, "repo/key/two", (const uint8_t *)"x", 1, "wp", 101),
	        0);
	assert_int_equal(coffer_store_resource_put(f->s, "other/key/e", NULL, 0, NULL, 102), 0);
	assert_int_equal(coffer_store_resource_get(&v, f->s, "repo/key/one"), 0);
	assert_int_equal(v.len, strlen(secret));
	assert_memory_equal(v.ptr, secret, v.len);
	coffer_secret_free(&v);
	assert_int_equal(coffer_store_resource_get(&v, f->s, "other/key/e"), 0);
	assert_int_equal(v.len, 0);
	coffer_secret_free(&v);
	expect_resource(f, "repo/key/none", NULL);

	assert_int_equal(coffer_store_resource_list(&list, &n, f->s, "repo/"), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].path, "repo/key/one");
	assert_int_equal(list[0].size, strlen(secret));
	assert_string_equal(list[0].owner, "wp");
	coffer_store_resource_info_free(list, n);
	assert_int_equal(coffer_store_resource_list(&list, &n, f->s, NULL), 0);
	assert_int_equal(n, 3);
	coffer_store_resource_info_free(list, n);

	/* the plaintext is nowhere on disk */
	snprintf(wal, sizeof(wal), "%s-wal", f->db);
	assert_false(file_contains(f->db, secret, strlen(secret)));
	assert_false(file_contains(wal, secret, strlen(secret)));
	{
		/* nor is the master key */
		size_t kl = 0;
		uint8_t *k = test_read_file(f->key, &kl);
		assert_false(file_contains(f->db, k, kl));
		assert_false(file_contains(wal, k, kl));
		free(k);
	}
	/* replace keeps the owner, updates the value */
	assert_int_equal(coffer_store_resource_put(f->s, "repo/key/two", (const uint8_t *)"yy", 2,
	                                           "someone-else", 110),
	                 0);
	assert_int_equal(coffer_store_resource_list(&list, &n, f->s, "repo/key/two"), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].owner, "wp");
	assert_int_equal(list[0].size, 2);
	coffer_store_resource_info_free(list, n);

	assert_int_equal(coffer_store_resource_delete(f->s, "repo/key/two"), 0);
	assert_int_equal(coffer_store_resource_delete(f->s, "repo/key/two"), COFFER_ENOTFOUND);
	expect_resource(f, "repo/key/two", NULL);
	assert_int_equal(coffer_store_integrity_check(f->s, &ok), 0);
	assert_string_equal(ok, "ok");
	free(ok);
	assert_int_equal(coffer_store_resource_put(f->s, "", (const uint8_t *)"x", 1, NULL, 1),
	                 COFFER_EINVAL);
}

static void exec_sql(struct fixture *f, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static size_t count_resources(struct fixture *f)
{
	coffer_store_resource_info *list = NULL;
	size_t n = 0;

	assert_int_equal(coffer_store_resource_list(&list, &n, f->s, NULL), 0);
	coffer_store_resource_info_free(list, n);
	return n;
}

/* A value under several paths, and the deletion of several paths, are one
 * transaction each: a failure of any row (here a trigger) leaves all as
 * they were. */
static void test_resource_paths_atomic(void **state)
{
	struct fixture *f = *state;
	const char *put[2] = { "r/key/x.v2", "r/key/x" };
	const char *del[3] = { "r/key/x", "r/key/x.v1", "r/key/x.v2" };
	size_t deleted = 9;

	assert_int_equal(coffer_store_resource_put_paths(f->s, put + 1, 1, (const uint8_t *)"one",
	                                                 3, "wp", 1),
	                 0);
	assert_int_equal(
	        coffer_store_resource_put(f->s, "r/key/x.v1", (const uint8_t *)"one", 3, "wp", 1),
	        0);
	/* the second row is refused: the first is not stored either */
	exec_sql(f, "CREATE TRIGGER no_base BEFORE UPDATE ON resources WHEN NEW.path = 'r/key/x' "
	            "BEGIN SELECT RAISE(ABORT, 'refused'); END");
	assert_true(coffer_store_resource_put_paths(f->s, put, 2, (const uint8_t *)"two", 3, "wp",
	                                            2) < 0);
	expect_resource(f, "r/key/x.v2", NULL);
	expect_resource(f, "r/key/x", "one");
	exec_sql(f, "DROP TRIGGER no_base");
	assert_int_equal(
	        coffer_store_resource_put_paths(f->s, put, 2, (const uint8_t *)"two", 3, "wp", 2),
	        0);
	expect_resource(f, "r/key/x.v2", "two");
	assert_int_equal(count_resources(f), 3);

	/* the last delete is refused: nothing is deleted */
	exec_sql(f, "CREATE TRIGGER keep_v2 BEFORE DELETE ON resources WHEN OLD.path = "
	            "'r/key/x.v2' BEGIN SELECT RAISE(ABORT, 'refused'); END");
	assert_true(coffer_store_resource_delete_paths(f->s, del, 3, &deleted) < 0);
	assert_int_equal(deleted, 0);
	assert_int_equal(count_resources(f), 3);
	exec_sql(f, "DROP TRIGGER keep_v2");
	/* bad arguments change nothing: the bad path comes last, so a check
	 * made while writing would already have written the ones before it */
	{
		const char *bad_del[3] = { "r/key/x", "r/key/x.v1", "" };
		const char *bad_put[2] = { "r/key/x", "" };

		assert_int_equal(coffer_store_resource_put_paths(f->s, put, 0, (const uint8_t *)"x",
		                                                 1, NULL, 3),
		                 COFFER_EINVAL);
		/* more paths than a batch may hold, or none given: refused
		 * before the paths are read */
		assert_int_equal(coffer_store_resource_put_paths(f->s, put,
		                                                 COFFER_STORE_PATHS_MAX + 1,
		                                                 (const uint8_t *)"x", 1, NULL, 3),
		                 COFFER_EINVAL);
		assert_int_equal(coffer_store_resource_put_paths(f->s, NULL, 1,
		                                                 (const uint8_t *)"x", 1, NULL, 3),
		                 COFFER_EINVAL);
		assert_int_equal(coffer_store_resource_delete_paths(
		                         f->s, del, COFFER_STORE_PATHS_MAX + 1, &deleted),
		                 COFFER_EINVAL);
		assert_int_equal(coffer_store_resource_delete_paths(f->s, del, 0, &deleted),
		                 COFFER_EINVAL);
		assert_int_equal(coffer_store_resource_delete_paths(f->s, NULL, 1, &deleted),
		                 COFFER_EINVAL);
		assert_int_equal(coffer_store_resource_delete_paths(f->s, bad_del, 3, &deleted),
		                 COFFER_EINVAL);
		assert_int_equal(count_resources(f), 3);
		assert_int_equal(coffer_store_resource_put_paths(
		                         f->s, bad_put, 2, (const uint8_t *)"bad", 3, NULL, 3),
		                 COFFER_EINVAL);
		expect_resource(f, "r/key/x", "two");
	}
	assert_int_equal(coffer_store_resource_delete_paths(f->s, del, 3, &deleted), 0);
	assert_int_equal(deleted, 3);
	assert_int_equal(count_resources(f), 0);
	assert_int_equal(coffer_store_resource_delete_paths(f->s, del, 3, &deleted), 0);
	assert_int_equal(deleted, 0);
}

/* The COMMIT itself fails, after every row of the batch was written. First
 * the write-ahead log may not grow (RLIMIT_FSIZE, as on a full disk); SQLite
 * rolls an I/O error at COMMIT back itself. Then a deferred foreign key is
 * broken (a trigger the test adds): SQLite refuses the COMMIT and leaves the
 * transaction open, so only the store's own ROLLBACK keeps the connection
 * usable. Each time the batch leaves nothing readable, the old value stays,
 * and the same batch is taken once the cause is gone. */
static void test_resource_commit_failure(void **state)
{
	struct fixture *f = *state;
	const char *put[2] = { "r/key/c.v1", "r/key/c" };
	struct rlimit old, tiny;
	void (*old_xfsz)(int);
	int error;

	assert_int_equal(
	        coffer_store_resource_put(f->s, "r/key/c", (const uint8_t *)"one", 3, "wp", 1), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	tiny = old;
	tiny.rlim_cur = 1; /* the soft limit only: it can be raised back */
	old_xfsz = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &tiny), 0);
	error = coffer_store_resource_put_paths(f->s, put, 2, (const uint8_t *)"two", 3, "wp", 2);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_xfsz);
	assert_true(error < 0);
	expect_resource(f, "r/key/c.v1", NULL);
	expect_resource(f, "r/key/c", "one");
	assert_int_equal(count_resources(f), 1);

	exec_sql(f, "CREATE TABLE t_parent(id INTEGER PRIMARY KEY); CREATE TABLE t_child(p "
	            "REFERENCES t_parent(id) DEFERRABLE INITIALLY DEFERRED); CREATE TRIGGER "
	            "t_orphan AFTER INSERT ON resources BEGIN INSERT INTO t_child VALUES(42); END");
	assert_true(coffer_store_resource_put_paths(f->s, put, 2, (const uint8_t *)"two", 3, "wp",
	                                            2) < 0);
	expect_resource(f, "r/key/c.v1", NULL);
	expect_resource(f, "r/key/c", "one");
	assert_int_equal(count_resources(f), 1);
	exec_sql(f, "DROP TRIGGER t_orphan");

	/* the connection works again */
	assert_int_equal(
	        coffer_store_resource_put_paths(f->s, put, 2, (const uint8_t *)"two", 3, "wp", 3),
	        0);
	expect_resource(f, "r/key/c", "two");
	assert_int_equal(count_resources(f), 2);
}

/* The random source fails (the nonce drawn by seal()): the put is refused
 * before anything reaches the database, so the old value stays readable and
 * nothing new appears; the same put succeeds once the source works again.
 * That these puts fail at all shows the --wrap is in effect. */
static void test_resource_put_no_randomness(void **state)
{
	struct fixture *f = *state;
	const char *paths[2] = { "r/key/new", "r/key/old" };
	coffer_store_resource_info *list = NULL;
	size_t n = 0;

	assert_int_equal(
	        coffer_store_resource_put(f->s, "r/key/old", (const uint8_t *)"old", 3, "wp", 1),
	        0);
	test_rand_fail_after = 0;
	assert_int_equal(
	        coffer_store_resource_put(f->s, "r/key/old", (const uint8_t *)"NEW", 3, "other", 2),
	        COFFER_ERROR);
	assert_non_null(strstr(coffer_error_last(), "seal: no randomness"));
	assert_int_equal(ERR_peek_error(), 0);
	assert_int_equal(
	        coffer_store_resource_put(f->s, "r/key/new", (const uint8_t *)"NEW", 3, "wp", 2),
	        COFFER_ERROR);
	/* the first path sealed, the second not: the first's sealed copy is
	 * freed (valgrind) and neither row written */
	test_rand_fail_after = 1;
	assert_int_equal(
	        coffer_store_resource_put_paths(f->s, paths, 2, (const uint8_t *)"NEW", 3, "wp", 2),
	        COFFER_ERROR);
	assert_int_equal(test_rand_fail_after, 0);
	assert_non_null(strstr(coffer_error_last(), "seal: no randomness"));
	test_rand_fail_after = 0;
	assert_int_equal(
	        coffer_store_resource_put_paths(f->s, paths, 2, (const uint8_t *)"NEW", 3, "wp", 2),
	        COFFER_ERROR);
	test_rand_fail_after = -1;

	expect_resource(f, "r/key/old", "old");
	expect_resource(f, "r/key/new", NULL);
	assert_int_equal(coffer_store_resource_list(&list, &n, f->s, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].path, "r/key/old");
	assert_string_equal(list[0].owner, "wp");
	assert_int_equal(list[0].updated, 1);
	coffer_store_resource_info_free(list, n);

	assert_int_equal(
	        coffer_store_resource_put(f->s, "r/key/old", (const uint8_t *)"NEW", 3, "wp", 3),
	        0);
	assert_int_equal(
	        coffer_store_resource_put_paths(f->s, paths, 2, (const uint8_t *)"NEW", 3, "wp", 3),
	        0);
	for (size_t i = 0; i < 2; i++) {
		expect_resource(f, paths[i], "NEW");
	}
	assert_int_equal(count_resources(f), 2);
}

/* The random source fails while a new master key is made: the open fails
 * and leaves no key file, whole or partial (nor its temporary), that a
 * later open would take for the master key. */
static void test_open_master_key_no_randomness(void **state)
{
	struct fixture *f = *state;
	coffer_store_options o = COFFER_STORE_OPTIONS_INIT;
	coffer_store *s2 = NULL;
	char dir[96], db[128], key[128];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/fresh", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(db, sizeof(db), "%s/store.db", dir);
	snprintf(key, sizeof(key), "%s/master.key", dir);
	o.master_key_path = key;
	o.create_master_key = true;
	test_rand_fail_after = 0;
	assert_int_equal(coffer_store_open(&s2, db, &o), COFFER_ERROR);
	test_rand_fail_after = -1;
	assert_non_null(strstr(coffer_error_last(), "master key: no randomness"));
	assert_int_equal(ERR_peek_error(), 0);
	assert_null(s2);
	assert_int_equal(test_dir_entries(dir), 0);

	assert_int_equal(coffer_store_open(&s2, db, &o), 0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	coffer_store_close(s2);
}

/* Several reference values are set in one transaction: all or none. */
static void test_refval_set_many_atomic(void **state)
{
	struct fixture *f = *state;
	json_t *p = json_pack("{s:[s],s:[s],s:[s]}", "a", "1", "b", "2", "c", "3");
	json_t *got = NULL;

	exec_sql(f, "CREATE TRIGGER no_c BEFORE INSERT ON reference_values WHEN NEW.name = 'c' "
	            "BEGIN SELECT RAISE(ABORT, 'refused'); END");
	assert_true(coffer_store_refval_set_many(f->s, p, 1) < 0);
	assert_int_equal(coffer_store_refval_get(&got, f->s, "a"), COFFER_ENOTFOUND);
	assert_int_equal(coffer_store_refval_get(&got, f->s, "b"), COFFER_ENOTFOUND);
	exec_sql(f, "DROP TRIGGER no_c");
	assert_int_equal(coffer_store_refval_set_many(f->s, p, 2), 0);
	assert_int_equal(coffer_store_refval_get(&got, f->s, "c"), 0);
	assert_string_equal(json_string_value(json_array_get(got, 0)), "3");
	json_decref(got);
	/* bad payloads change nothing: new values for a and b, the bad member
	 * last, so a check made while writing would have written a and b */
	json_object_set_new(p, "a", json_pack("[s]", "8"));
	json_object_set_new(p, "b", json_pack("[s]", "9"));
	json_object_set_new(p, "c", json_string("not an array"));
	assert_int_equal(coffer_store_refval_set_many(f->s, p, 3), COFFER_EINVAL);
	assert_int_equal(coffer_store_refval_get(&got, f->s, "a"), 0);
	assert_string_equal(json_string_value(json_array_get(got, 0)), "1");
	json_decref(got);
	assert_int_equal(coffer_store_refval_get(&got, f->s, "b"), 0);
	assert_string_equal(json_string_value(json_array_get(got, 0)), "2");
	json_decref(got);
	json_decref(p);
	p = json_object();
	assert_int_equal(coffer_store_refval_set_many(f->s, p, 3), COFFER_EINVAL);
	json_decref(p);
}

/* Moving a sealed value to another record (or flipping a bit) is detected:
 * the record's identity is the AAD. */
static void test_tamper_detected(void **state)
{
	struct fixture *f = *state;
	coffer_secret v = COFFER_SECRET_INIT;
	sqlite3 *db;

	assert_int_equal(
	        coffer_store_resource_put(f->s, "a/key/x", (const uint8_t *)"AAAA", 4, NULL, 1), 0);
	assert_int_equal(
	        coffer_store_resource_put(f->s, "b/key/y", (const uint8_t *)"BBBB", 4, NULL, 1), 0);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	assert_int_equal(sqlite3_exec(db,
	                              "UPDATE resources SET value = (SELECT value FROM resources "
	                              "WHERE path='a/key/x') WHERE path='b/key/y'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(coffer_store_resource_get(&v, f->s, "b/key/y"), COFFER_EVERIFY);
	assert_int_equal(sqlite3_exec(db,
	                              "UPDATE resources SET value = substr(value,1,20) || "
	                              "(CASE WHEN substr(value,21,1) = x'00' THEN x'01' ELSE "
	                              "x'00' END) || substr(value,22) WHERE path='a/key/x'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(coffer_store_resource_get(&v, f->s, "a/key/x"), COFFER_EVERIFY);
	assert_int_equal(sqlite3_exec(db,
	                              "UPDATE resources SET value = x'0011' WHERE path='a/key/x'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(coffer_store_resource_get(&v, f->s, "a/key/x"), COFFER_EVERIFY);
	sqlite3_close(db);
	assert_null(v.ptr);
}

/* A different master key cannot open the values. */
static void test_wrong_master_key(void **state)
{
	struct fixture *f = *state;
	coffer_secret v = COFFER_SECRET_INIT;
	uint8_t other[32];
	int fd;

	assert_int_equal(
	        coffer_store_resource_put(f->s, "a/key/x", (const uint8_t *)"AAAA", 4, NULL, 1), 0);
	coffer_store_close(f->s);
	f->s = NULL;
	memset(other, 7, sizeof(other));
	unlink(f->key);
	fd = open(f->key, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, other, sizeof(other)), (ssize_t)sizeof(other));
	close(fd);
	assert_int_equal(open_store(f), 0);
	assert_int_equal(coffer_store_resource_get(&v, f->s, "a/key/x"), COFFER_EVERIFY);
	/* a key file of the wrong size is refused */
	coffer_store_close(f->s);
	f->s = NULL;
	fd = open(f->key, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, other, 16), 16);
	close(fd);
	assert_int_equal(open_store(f), COFFER_EINVAL);
	assert_null(f->s);
}

/* length(token) of session `id` in the sessions file; -1 when NULL */
static long token_column_bytes(struct fixture *f, const char *id)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long n = -1;

	assert_int_equal(sqlite3_open(f->sfile, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT length(token) FROM sessions WHERE id = ?",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	if (sqlite3_column_type(st, 0) != SQLITE_NULL)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void test_sessions(void **state)
{
	struct fixture *f = *state;
	coffer_store_session s = { 0 }, g = { 0 };
	size_t removed = 0;

	s = session_with(1, "sample", 1000, 1300);
	assert_int_equal(coffer_store_session_create(f->s, &s), 0);
	assert_int_equal(coffer_store_session_create(f->s, &s), COFFER_EEXISTS);
	assert_int_equal(coffer_store_session_get(&g, f->s, s.id), 0);
	assert_string_equal(g.nonce, "bm9uY2U=");
	assert_string_equal(g.tee, "sample");
	assert_false(g.nonce_used);
	assert_false(g.attested);
	assert_null(g.token);
	/* nonce single use */
	assert_int_equal(coffer_store_session_use_nonce(f->s, s.id, 1400), COFFER_EEXPIRED);
	assert_int_equal(coffer_store_session_use_nonce(f->s, s.id, 1100), 0);
	assert_int_equal(coffer_store_session_use_nonce(f->s, s.id, 1100), COFFER_EEXISTS);
	assert_int_equal(coffer_store_session_use_nonce(f->s, "nope", 1100), COFFER_ENOTFOUND);
	/* a spent nonce attests nothing; a fresh session attests once */
	assert_int_equal(coffer_store_session_attest(f->s, s.id, "tok.en.sig", 1500, 1100),
	                 COFFER_EEXISTS);
	assert_int_equal(coffer_store_session_attest(f->s, "nope", "t", 1500, 1100),
	                 COFFER_ENOTFOUND);
	snprintf(s.id, sizeof(s.id), "%032x", 3);
	assert_int_equal(coffer_store_session_create(f->s, &s), 0);
	assert_int_equal(coffer_store_session_attest(f->s, s.id, "tok.en.sig", 1500, 1100), 0);
	assert_int_equal(coffer_store_session_get(&g, f->s, s.id), 0);
	assert_true(g.attested);
	assert_true(g.nonce_used);
	assert_int_equal(g.expires, 1500);
	assert_string_equal(g.token, "tok.en.sig");
	coffer_store_session_clear(&g);
	assert_int_equal(coffer_store_session_get(&g, f->s, "ffff"), COFFER_ENOTFOUND);
	assert_int_equal(coffer_store_session_get(&g, f->s, ""), COFFER_ENOTFOUND);

	/* a new session's row holds a placeholder the size of the last token
	 * (be_session_create): it is no token until the session attests, and a
	 * longer or shorter token than the placeholder is stored exactly; after
	 * a token over 8 KiB the next row reserves nothing */
	{
		static const size_t lens[] = { 3000, 9000, 40, 1 };
		char *tok = malloc(9001);
		long prev = token_column_bytes(f, s.id);

		assert_non_null(tok);
		assert_true(prev > (long)strlen("tok.en.sig"));
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			snprintf(s.id, sizeof(s.id), "%032x", 100 + (unsigned)i);
			assert_int_equal(coffer_store_session_create(f->s, &s), 0);
			assert_int_equal(coffer_store_session_get(&g, f->s, s.id), 0);
			assert_false(g.attested);
			assert_null(g.token);
			/* none above 8 KiB (TOKEN_RESERVE_MAX) */
			assert_int_equal(token_column_bytes(f, s.id), prev <= 8192 ? prev : 0);
			memset(tok, 'a' + (int)i, lens[i]);
			tok[lens[i]] = '\0';
			assert_int_equal(coffer_store_session_attest(f->s, s.id, tok, 1500, 1100),
			                 0);
			assert_int_equal(coffer_store_session_get(&g, f->s, s.id), 0);
			assert_true(g.attested);
			assert_string_equal(g.token, tok);
			coffer_store_session_clear(&g);
			prev = token_column_bytes(f, s.id);
			assert_true(prev > (long)lens[i]);
		}
		free(tok);
	}

	/* sweep removes the expired ones only: sessions 1, 3 and the four
	 * above (expires 1300 or 1500), and j-old */
	snprintf(s.id, sizeof(s.id), "%032x", 2);
	s.expires = 5000;
	assert_int_equal(coffer_store_session_create(f->s, &s), 0);
	assert_int_equal(coffer_store_jti_use(f->s, "j-old", 1200), 0);
	assert_int_equal(coffer_store_jti_use(f->s, "j-new", 9000), 0);
	assert_int_equal(coffer_store_sweep(f->s, 2000, &removed), 0);
	assert_int_equal(removed, 7);
	snprintf(s.id, sizeof(s.id), "%032x", 1);
	assert_int_equal(coffer_store_session_get(&g, f->s, s.id), COFFER_ENOTFOUND);
	snprintf(s.id, sizeof(s.id), "%032x", 2);
	assert_int_equal(coffer_store_session_get(&g, f->s, s.id), 0);
	assert_int_equal(coffer_store_jti_use(f->s, "j-new", 9000), COFFER_EEXISTS);
	assert_int_equal(coffer_store_jti_use(f->s, "j-old", 9000), 0);
	assert_int_equal(coffer_store_sweep(f->s, 6000, &removed), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(coffer_store_session_get(&g, f->s, s.id), COFFER_ENOTFOUND);
	assert_int_equal(coffer_store_jti_use(f->s, "", 9000), COFFER_EINVAL);
}

/* Spending the nonce and recording the token is one atomic step. */
static void test_session_attest(void **state)
{
	struct fixture *f = *state;
	coffer_store_session s = { 0 }, g = { 0 };

	s = session_with(9, "sample", 100, 400);
	assert_int_equal(coffer_store_session_create(f->s, &s), 0);
	assert_int_equal(coffer_store_session_attest(f->s, s.id, "t1", 900, 500), COFFER_EEXPIRED);
	assert_int_equal(coffer_store_session_attest(f->s, s.id, "t1", 900, 200), 0);
	/* the second attempt on the same nonce is refused and changes nothing */
	assert_int_equal(coffer_store_session_attest(f->s, s.id, "t2", 950, 200), COFFER_EEXISTS);
	assert_int_equal(coffer_store_session_attest(f->s, "nope", "t2", 950, 200),
	                 COFFER_ENOTFOUND);
	assert_int_equal(coffer_store_session_attest(f->s, s.id, NULL, 950, 200), COFFER_EINVAL);
	assert_int_equal(coffer_store_session_get(&g, f->s, s.id), 0);
	assert_string_equal(g.token, "t1");
	assert_int_equal(g.expires, 900);
	assert_true(g.nonce_used);
	coffer_store_session_clear(&g);
	assert_int_equal(coffer_store_checkpoint(f->s), 0);
	assert_int_equal(coffer_store_session_get(&g, f->s, s.id), 0);
	coffer_store_session_clear(&g);
}

/* Sessions live in the store: a second store on the same files (a restarted
 * broker) continues them. */
static void test_sessions_survive_reopen(void **state)
{
	struct fixture *f = *state;
	coffer_store_session s = { 0 }, g = { 0 };

	s = session_with(7, "snp", 1, 99999);
	assert_int_equal(coffer_store_session_create(f->s, &s), 0);
	assert_int_equal(coffer_store_session_attest(f->s, s.id, "a.b.c", 99999, 2), 0);
	coffer_store_close(f->s);
	f->s = NULL;
	assert_int_equal(open_store(f), 0);
	assert_int_equal(coffer_store_session_get(&g, f->s, s.id), 0);
	assert_string_equal(g.token, "a.b.c");
	coffer_store_session_clear(&g);
}

static void test_policies_refvals(void **state)
{
	struct fixture *f = *state;
	char *text = NULL;
	size_t len = 0;
	json_t *ids = NULL, *vals, *got = NULL, *all = NULL;

	assert_int_equal(
	        coffer_store_policy_put(f->s, "resource", "default", "package policy", 14, 1), 0);
	assert_int_equal(coffer_store_policy_put(f->s, "attestation", "default_cpu", "p2", 2, 1),
	                 0);
	assert_int_equal(
	        coffer_store_policy_put(f->s, "resource", "default", "package policy\n", 15, 2), 0);
	assert_int_equal(coffer_store_policy_get(&text, &len, f->s, "resource", "default"), 0);
	assert_int_equal(len, 15);
	assert_string_equal(text, "package policy\n");
	free(text);
	assert_int_equal(coffer_store_policy_get(&text, &len, f->s, "resource", "nope"),
	                 COFFER_ENOTFOUND);
	assert_int_equal(coffer_store_policy_put(f->s, "bogus", "x", "y", 1, 1), COFFER_EINVAL);
	assert_int_equal(coffer_store_policy_list(&ids, f->s, "attestation"), 0);
	assert_int_equal(json_array_size(ids), 1);
	assert_string_equal(json_string_value(json_array_get(ids, 0)), "default_cpu");
	json_decref(ids);
	assert_int_equal(coffer_store_policy_delete(f->s, "attestation", "default_cpu"), 0);
	assert_int_equal(coffer_store_policy_delete(f->s, "attestation", "default_cpu"),
	                 COFFER_ENOTFOUND);

	vals = json_pack("[s,s]", "abc", "def");
	assert_int_equal(coffer_store_refval_set(f->s, "measurement", vals, 5), 0);
	assert_int_equal(coffer_store_refval_get(&got, f->s, "measurement"), 0);
	assert_true(json_equal(got, vals));
	json_decref(got);
	assert_int_equal(coffer_store_refval_get(&got, f->s, "nope"), COFFER_ENOTFOUND);
	assert_int_equal(coffer_store_refval_set(f->s, "bad", json_object_get(vals, "x"), 5),
	                 COFFER_EINVAL);
	assert_int_equal(coffer_store_refval_all(&all, f->s), 0);
	assert_true(json_equal(json_object_get(all, "measurement"), vals));
	json_decref(all);
	json_decref(vals);
}

static void test_principals_audit(void **state)
{
	struct fixture *f = *state;
	coffer_store_principal p = { 0 }, g = { 0 }, *list = NULL;
	size_t n = 0;
	int64_t seq = 0;
	json_t *rec, *out = NULL;

	p.id = "wp-1";
	p.persona = "workload-provider";
	p.public_key = json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "x", "abc");
	p.namespaces = json_pack("[s]", "default");
	p.enrolled_by = "config";
	p.enrolled_at = 42;
	assert_int_equal(coffer_store_principal_add(f->s, &p), 0);
	assert_int_equal(coffer_store_principal_add(f->s, &p), COFFER_EEXISTS);
	assert_int_equal(coffer_store_principal_get(&g, f->s, "wp-1"), 0);
	assert_string_equal(g.persona, "workload-provider");
	assert_true(json_equal(g.public_key, p.public_key));
	assert_true(json_equal(g.namespaces, p.namespaces));
	assert_false(g.disabled);
	coffer_store_principal_clear(&g);
	assert_int_equal(coffer_store_principal_set_disabled(f->s, "wp-1", true), 0);
	assert_int_equal(coffer_store_principal_set_disabled(f->s, "nope", true), COFFER_ENOTFOUND);
	assert_int_equal(coffer_store_principal_list(&list, &n, f->s), 0);
	assert_int_equal(n, 1);
	assert_true(list[0].disabled);
	coffer_store_principal_list_free(list, n);
	assert_int_equal(coffer_store_principal_get(&g, f->s, "nope"), COFFER_ENOTFOUND);
	json_decref(p.public_key);
	p.public_key = NULL;
	assert_int_equal(coffer_store_principal_add(f->s, &p), COFFER_EINVAL);
	json_decref(p.namespaces);

	rec = json_pack("{s:s}", "path", "default/key/a");
	assert_int_equal(
	        coffer_store_audit_append(&seq, f->s, 10, "wp-1", "resource.put", "default", rec),
	        0);
	assert_int_equal(seq, 1);
	assert_int_equal(coffer_store_audit_append(&seq, f->s, 11, "tee", "release", "other", rec),
	                 0);
	assert_int_equal(seq, 2);
	assert_int_equal(coffer_store_audit_list(&out, f->s, 0, "default", 0), 0);
	assert_int_equal(json_array_size(out), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "action")),
	                    "resource.put");
	json_decref(out);
	assert_int_equal(coffer_store_audit_list(&out, f->s, 1, NULL, 10), 0);
	assert_int_equal(json_array_size(out), 1);
	json_decref(out);
	assert_int_equal(coffer_store_audit_append(&seq, f->s, 11, "x", "", NULL, rec),
	                 COFFER_EINVAL);
	json_decref(rec);
}

static size_t audit_rows(coffer_store *s)
{
	json_t *out = NULL;
	size_t n;

	assert_int_equal(coffer_store_audit_list(&out, s, 0, NULL, 100), 0);
	n = json_array_size(out);
	json_decref(out);
	return n;
}

/* The group commit: n records in one transaction, all or none. */
static void test_audit_batch(void **state)
{
	struct fixture *f = *state;
	coffer_store_audit_rec recs[3];
	coffer_store_options o = COFFER_STORE_OPTIONS_INIT;
	json_t *rec = json_pack("{s:s}", "path", "default/key/a"), *out = NULL;
	sqlite3 *db = NULL;

	assert_int_equal(coffer_store_audit_last(&out, f->s), 0);
	assert_null(out);
	memset(recs, 0, sizeof(recs));
	for (size_t i = 0; i < 3; i++) {
		recs[i].time = 20 + (int64_t)i;
		recs[i].actor = i == 1 ? NULL : "wp-1";
		recs[i].action = i == 2 ? "release" : "resource.put";
		recs[i].ns = i == 0 ? NULL : "default";
		recs[i].record = rec;
	}
	assert_int_equal(coffer_store_audit_append_batch(f->s, recs, 3), 0);
	assert_int_equal(recs[0].seq, 1);
	assert_int_equal(recs[1].seq, 2);
	assert_int_equal(recs[2].seq, 3);
	/* the newest row, as audit_list gives it */
	assert_int_equal(coffer_store_audit_last(&out, f->s), 0);
	assert_int_equal(json_integer_value(json_object_get(out, "seq")), 3);
	assert_string_equal(json_string_value(json_object_get(out, "action")), "release");
	assert_true(json_equal(json_object_get(out, "record"), rec));
	json_decref(out);
	assert_int_equal(coffer_store_audit_list(&out, f->s, 0, "default", 0), 0);
	assert_int_equal(json_array_size(out), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 1), "action")),
	                    "release");
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "actor")),
	                    "");
	json_decref(out);

	/* bad arguments: nothing stored */
	assert_int_equal(coffer_store_audit_append_batch(f->s, recs, 0), COFFER_EINVAL);
	assert_int_equal(coffer_store_audit_append_batch(f->s, NULL, 1), COFFER_EINVAL);
	assert_int_equal(
	        coffer_store_audit_append_batch(f->s, recs, COFFER_STORE_AUDIT_BATCH_MAX + 1),
	        COFFER_EINVAL);
	recs[2].action = "";
	assert_int_equal(coffer_store_audit_append_batch(f->s, recs, 3), COFFER_EINVAL);
	recs[2].action = "release";
	recs[1].record = json_null();
	assert_int_equal(coffer_store_audit_append_batch(f->s, recs, 3), COFFER_EINVAL);
	recs[1].record = rec;
	assert_int_equal(audit_rows(f->s), 3);

	/* the database is locked by another writer: the batch fails whole */
	coffer_store_close(f->s);
	o.master_key_path = f->key;
	o.busy_timeout_ms = 50;
	assert_int_equal(coffer_store_open(&f->s, f->db, &o), 0);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	assert_true(coffer_store_audit_append_batch(f->s, recs, 3) < 0);
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(audit_rows(f->s), 3);
	/* and the connection is usable again afterwards */
	assert_int_equal(coffer_store_audit_append_batch(f->s, recs, 2), 0);
	assert_int_equal(recs[1].seq, 5);
	assert_int_equal(audit_rows(f->s), 5);
	json_decref(rec);
}

/* Sustained session writes keep the sessions WAL bounded without any call
 * to coffer_store_checkpoint: the writing connection checkpoints itself
 * (a checkpoint from another connection never catches up with a busy
 * writer, and the WAL then grows without end). */
static void test_sessions_wal_bounded(void **state)
{
	struct fixture *f = *state;
	char wal[200], token[1501];
	struct stat st;

	memset(token, 'T', sizeof(token) - 1);
	token[sizeof(token) - 1] = '\0';
	for (int i = 0; i < 4000; i++) {
		coffer_store_session s = session_with((unsigned)i + 1, "sample", 1, 99999);
		assert_int_equal(coffer_store_session_create(f->s, &s), 0);
		assert_int_equal(coffer_store_session_attest(f->s, s.id, token, 99999, 2), 0);
	}
	/* 4,000 sessions with their tokens are about 8 MB of pages; written
	 * page by page without checkpoints the WAL would be several times that */
	snprintf(wal, sizeof(wal), "%s-wal", f->sfile);
	assert_int_equal(stat(wal, &st), 0);
	assert_true(st.st_size < 8 * 1024 * 1024);
}

/* A batch and its checkpoint are stored in one transaction: both or
 * neither. */
static void test_audit_batch_with_checkpoint(void **state)
{
	struct fixture *f = *state;
	coffer_store_audit_rec recs[2];
	json_t *rec = json_pack("{s:s}", "path", "default/key/a");
	char *text = NULL;
	size_t len = 0;
	sqlite3 *db = NULL;

	memset(recs, 0, sizeof(recs));
	for (size_t i = 0; i < 2; i++) {
		recs[i].time = 30 + (int64_t)i;
		recs[i].actor = "tee";
		recs[i].action = "release";
		recs[i].ns = "default";
		recs[i].record = rec;
	}
	assert_int_equal(coffer_store_audit_append_batch_with(f->s, recs, 2, "audit-checkpoint",
	                                                      "0000000000000002", "cp-2", 4),
	                 0);
	assert_int_equal(audit_rows(f->s), 2);
	assert_int_equal(
	        coffer_store_policy_get(&text, &len, f->s, "audit-checkpoint", "0000000000000002"),
	        0);
	assert_int_equal(len, 4);
	assert_memory_equal(text, "cp-2", 4);
	free(text);
	/* a bad checkpoint id refuses the batch before anything is written */
	assert_int_equal(coffer_store_audit_append_batch_with(f->s, recs, 2, "audit-checkpoint", "",
	                                                      "cp", 2),
	                 COFFER_EINVAL);
	assert_int_equal(audit_rows(f->s), 2);
	/* the checkpoint's write fails inside the transaction: the entries
	 * are not stored either */
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	assert_int_equal(sqlite3_exec(db,
	                              "CREATE TRIGGER no_cp BEFORE INSERT ON policies WHEN "
	                              "NEW.id = 'fail' BEGIN SELECT RAISE(ABORT, 'refused'); END",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	assert_true(coffer_store_audit_append_batch_with(f->s, recs, 2, "audit-checkpoint", "fail",
	                                                 "cp", 2) < 0);
	assert_int_equal(audit_rows(f->s), 2);
	assert_int_equal(coffer_store_policy_get(&text, &len, f->s, "audit-checkpoint", "fail"),
	                 COFFER_ENOTFOUND);
	/* and the next batch goes through */
	assert_int_equal(coffer_store_audit_append_batch_with(f->s, recs, 2, NULL, NULL, NULL, 0),
	                 0);
	assert_int_equal(recs[1].seq, 4);
	assert_int_equal(audit_rows(f->s), 4);
	json_decref(rec);
}

/* A version 1 database (sessions in the main file, with a rowid, key and
 * expiry indexes) is migrated in place: its sessions move to the sessions
 * file, its other rows stay. */
static void test_migration_from_v1(void **state)
{
	struct fixture *f = *state;
	coffer_store_session g = { 0 };
	coffer_secret v = COFFER_SECRET_INIT;
	char id[33];
	coffer_store_options o = COFFER_STORE_OPTIONS_INIT;
	coffer_store *s2 = NULL;
	sqlite3 *db;

	snprintf(id, sizeof(id), "%032x", 77);
	assert_int_equal(
	        coffer_store_resource_put(f->s, "r/key/x", (const uint8_t *)"val", 3, NULL, 1), 0);
	coffer_store_close(f->s);
	f->s = NULL;
	/* the sessions file did not exist in version 1 */
	assert_int_equal(unlink(f->sfile), 0);
	/* the session as an old broker wrote it (the token column holds what
	 * the store sealed; a version 1 row is read through the same code) */
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(
	        sqlite3_exec(db,
	                     "CREATE TABLE sessions(id TEXT PRIMARY KEY, nonce TEXT NOT NULL, tee "
	                     "TEXT NOT "
	                     "NULL, hash_algs TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL, "
	                     "expires INTEGER NOT NULL, nonce_used INTEGER NOT NULL DEFAULT 0, "
	                     "attested INTEGER NOT NULL DEFAULT 0, token BLOB);"
	                     "CREATE INDEX sessions_expires ON sessions(expires);"
	                     "INSERT INTO sessions(id, nonce, tee, created, expires) VALUES("
	                     "'0000000000000000000000000000004d', 'bm9uY2U=', 'sample', 1, 99999);"
	                     "DELETE FROM schema_version WHERE version > 1;",
	                     NULL, NULL, NULL),
	        SQLITE_OK);
	sqlite3_close(db);
	o.master_key_path = f->key;
	assert_int_equal(coffer_store_open(&s2, f->db, &o), 0);
	assert_int_equal(coffer_store_schema_version(s2), 3);
	assert_int_equal(coffer_store_session_get(&g, s2, id), 0);
	assert_string_equal(g.nonce, "bm9uY2U=");
	assert_string_equal(g.tee, "sample");
	assert_int_equal(g.expires, 99999);
	coffer_store_session_clear(&g);
	/* and it is a live session: its nonce can be spent once */
	assert_int_equal(coffer_store_session_attest(s2, id, "tok", 99999, 2), 0);
	assert_int_equal(coffer_store_session_attest(s2, id, "tok", 99999, 2), COFFER_EEXISTS);
	assert_int_equal(coffer_store_resource_get(&v, s2, "r/key/x"), 0);
	assert_int_equal(v.len, 3);
	coffer_secret_free(&v);
	/* the main file no longer has a sessions table */
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "SELECT 1 FROM sessions", NULL, NULL, NULL),
	                     SQLITE_OK);
	sqlite3_close(db);
	f->s = s2;
}

/* A sessions file from a newer broker is refused too. */
static void test_newer_sessions_schema_refused(void **state)
{
	struct fixture *f = *state;
	coffer_store_options o = COFFER_STORE_OPTIONS_INIT;
	coffer_store *s2 = NULL;
	sqlite3 *db;

	coffer_store_close(f->s);
	f->s = NULL;
	assert_int_equal(sqlite3_open(f->sfile, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=3", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	o.master_key_path = f->key;
	assert_int_equal(coffer_store_open(&s2, f->db, &o), COFFER_EUNSUPPORTED);
	assert_non_null(strstr(coffer_error_last(), "sessions schema version 3"));
}

/* A sessions file of version 1 (a NULL token before the attestation, no
 * placeholder) is read as it is and marked version 2, which a version 1
 * broker refuses: it would take a placeholder for a sealed token. */
static void test_sessions_v1_file(void **state)
{
	struct fixture *f = *state;
	coffer_store_session s = { 0 }, g = { 0 };
	sqlite3 *db;
	sqlite3_stmt *st;

	s = session_with(7, "sample", 1000, 9000);
	assert_int_equal(coffer_store_session_create(f->s, &s), 0);
	snprintf(s.id, sizeof(s.id), "%032x", 8);
	assert_int_equal(coffer_store_session_create(f->s, &s), 0);
	assert_int_equal(coffer_store_session_attest(f->s, s.id, "a.b.c", 9000, 1100), 0);
	coffer_store_close(f->s);
	f->s = NULL;
	assert_int_equal(sqlite3_open(f->sfile, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "UPDATE sessions SET token = NULL WHERE attested = 0;"
	                              "PRAGMA user_version=1",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(open_store(f), 0);
	assert_int_equal(coffer_store_session_get(&g, f->s, s.id), 0);
	assert_true(g.attested);
	assert_string_equal(g.token, "a.b.c");
	coffer_store_session_clear(&g);
	snprintf(s.id, sizeof(s.id), "%032x", 7);
	assert_int_equal(coffer_store_session_get(&g, f->s, s.id), 0);
	assert_false(g.attested);
	assert_null(g.token);
	assert_int_equal(coffer_store_session_attest(f->s, s.id, "d.e.f", 9000, 1100), 0);
	assert_int_equal(coffer_store_session_get(&g, f->s, s.id), 0);
	assert_string_equal(g.token, "d.e.f");
	coffer_store_session_clear(&g);

	assert_int_equal(sqlite3_open(f->sfile, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 2);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* The sessions file is written unsynced and kept only within the boot it
 * was written in (sqlite.c, "the sessions file across reboots"). */
static void sessions_exec(const struct fixture *f, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->sfile, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* A store reopened after `sql` ran on its sessions file: whether session 7
 * (created before) is still there, and the file's boot row then. */
static bool session_kept_after(struct fixture *f, const char *sql, char boot[64])
{
	coffer_store_session s = { 0 }, g = { 0 };
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc;

	s = session_with(7, "sample", 1000, 9000);
	if (coffer_store_session_get(&g, f->s, s.id) == COFFER_ENOTFOUND)
		assert_int_equal(coffer_store_session_create(f->s, &s), 0);
	coffer_store_session_clear(&g);
	coffer_store_close(f->s);
	f->s = NULL;
	if (sql != NULL)
		sessions_exec(f, sql);
	assert_int_equal(open_store(f), 0);
	rc = coffer_store_session_get(&g, f->s, s.id);
	coffer_store_session_clear(&g);
	assert_true(rc == 0 || rc == COFFER_ENOTFOUND);
	assert_int_equal(sqlite3_open(f->sfile, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT id FROM boot", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(boot, 64, "%s", (const char *)sqlite3_column_text(st, 0));
	assert_int_equal(sqlite3_step(st), SQLITE_DONE); /* one row */
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc == 0;
}

static void test_sessions_across_boots(void **state)
{
	struct fixture *f = *state;
	char boot[64], now[64] = "";
	FILE *bf = fopen("/proc/sys/kernel/random/boot_id", "r");

	assert_non_null(bf);
	assert_non_null(fgets(now, sizeof(now), bf));
	fclose(bf);
	now[strcspn(now, "\n")] = '\0';
	/* the same boot: kept, and the row names this boot */
	assert_true(session_kept_after(f, NULL, boot));
	assert_string_equal(boot, now);
	/* written under another boot: the file is discarded, a new one made */
	assert_false(session_kept_after(
	        f, "UPDATE boot SET id = '00000000-0000-0000-0000-000000000000'", boot));
	assert_string_equal(boot, now);
	/* no boot row: discarded as well */
	assert_false(session_kept_after(f, "DELETE FROM boot", boot));
	assert_string_equal(boot, now);
	/* no boot table: a file an older broker wrote synced, kept */
	assert_true(session_kept_after(f, NULL, boot));
	assert_true(session_kept_after(f, "DROP TABLE boot", boot));
	assert_string_equal(boot, now);
}

/* The store closed, and the sessions file's header overwritten with
 * GARBAGE: a file SQLite cannot read. */
#define GARBAGE "this is not an SQLite file!"
static void garble_sessions_file(struct fixture *f)
{
	FILE *fp;

	coffer_store_close(f->s);
	f->s = NULL;
	fp = fopen(f->sfile, "r+");
	assert_non_null(fp);
	assert_int_equal(fwrite(GARBAGE, 1, sizeof(GARBAGE) - 1, fp), sizeof(GARBAGE) - 1);
	fclose(fp);
}

/* A sessions file SQLite cannot read is discarded; the main database and
 * its contents are untouched. */
static void test_sessions_corrupt_discarded(void **state)
{
	struct fixture *f = *state;
	coffer_store_session s = { 0 }, g = { 0 };
	char *text = NULL;
	size_t len = 0;

	assert_int_equal(coffer_store_policy_put(f->s, "resource", "default", "p", 1, 1), 0);
	s = session_with(7, "sample", 1000, 9000);
	assert_int_equal(coffer_store_session_create(f->s, &s), 0);
	assert_int_equal(coffer_store_checkpoint(f->s), 0);
	garble_sessions_file(f);
	assert_int_equal(open_store(f), 0);
	assert_int_equal(coffer_store_session_get(&g, f->s, s.id), COFFER_ENOTFOUND);
	assert_int_equal(coffer_store_session_create(f->s, &s), 0);
	assert_int_equal(coffer_store_session_get(&g, f->s, s.id), 0);
	coffer_store_session_clear(&g);
	assert_int_equal(coffer_store_policy_get(&text, &len, f->s, "resource", "default"), 0);
	assert_int_equal(len, 1);
	free(text);
}

/* Session 7 in the sessions file, the store closed, and the file's boot
 * row another boot's: a file the next open discards, unless something in
 * the way makes the open fail first. */
static coffer_store_session stale_session_file(struct fixture *f)
{
	coffer_store_session s = session_with(7, "sample", 1000, 9000);

	assert_int_equal(coffer_store_session_create(f->s, &s), 0);
	coffer_store_close(f->s);
	f->s = NULL;
	sessions_exec(f, "UPDATE boot SET id = '00000000-0000-0000-0000-000000000000'");
	return s;
}

/* The store opens, and the stale file (and session `id` with it) is gone. */
static void expect_discarded(struct fixture *f, const char *id)
{
	assert_int_equal(open_store(f), 0);
	assert_int_equal(coffer_store_session_get(&(coffer_store_session){ 0 }, f->s, id),
	                 COFFER_ENOTFOUND);
}

/* The rows of the sessions table, read on `db`. */
static int session_rows(sqlite3 *db)
{
	sqlite3_stmt *q;
	int n;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM sessions", -1, &q, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return n;
}

/* A sessions file that cannot be read for another reason than corruption
 * (here its WAL is a directory, so SQLite cannot open it) is an error at
 * open, and it is not deleted, even when its boot row is another boot's:
 * only a file known to be stale or corrupt goes. */
static void test_sessions_unreadable_kept(void **state)
{
	struct fixture *f = *state;
	coffer_store_session s = { 0 };
	char wal[220];
	struct stat st;

	s = stale_session_file(f);
	snprintf(wal, sizeof(wal), "%s-wal", f->sfile);
	assert_int_equal(access(wal, F_OK), -1); /* removed at the last close */
	assert_int_equal(mkdir(wal, 0700), 0);
	assert_true(open_store(f) < 0);
	assert_null(f->s);
	assert_non_null(strstr(coffer_error_last(), "sessions file"));
	assert_int_equal(stat(f->sfile, &st), 0);
	assert_true(st.st_size > 0);
	/* once the WAL can be opened again the stale file goes as usual */
	assert_int_equal(rmdir(wal), 0);
	expect_discarded(f, s.id);
}

/* The sessions file's lock cannot be taken (its path is a directory): open
 * fails naming the lock, and a file that would have been discarded as
 * another boot's is left as it was. */
static void test_sessions_lock_unavailable(void **state)
{
	struct fixture *f = *state;
	coffer_store_session s = { 0 };
	char lock[220];
	struct stat st, st2;

	s = stale_session_file(f);
	assert_int_equal(stat(f->sfile, &st), 0);
	snprintf(lock, sizeof(lock), "%s.lock", f->sfile);
	assert_int_equal(unlink(lock), 0);
	assert_int_equal(mkdir(lock, 0700), 0);
	assert_true(open_store(f) < 0);
	assert_null(f->s);
	assert_non_null(strstr(coffer_error_last(), ".lock"));
	assert_int_equal(stat(f->sfile, &st2), 0);
	assert_int_equal(st2.st_ino, st.st_ino);
	assert_int_equal(st2.st_size, st.st_size);
	{
		sqlite3 *db;

		assert_int_equal(sqlite3_open(f->sfile, &db), SQLITE_OK);
		assert_int_equal(session_rows(db), 1); /* the session is still there */
		sqlite3_close(db);
	}
	/* with the lock back, the other boot's file goes as usual */
	assert_int_equal(rmdir(lock), 0);
	expect_discarded(f, s.id);
}

/* A corrupt sessions file whose shared-memory file cannot be deleted (here
 * a directory stands at its path): open fails naming what it could not
 * delete, and the file itself, deleted last, is still there. */
static void test_sessions_delete_fails(void **state)
{
	struct fixture *f = *state;
	char shm[220], head[27];
	FILE *fp;

	garble_sessions_file(f);
	snprintf(shm, sizeof(shm), "%s-shm", f->sfile);
	assert_int_equal(access(shm, F_OK), -1); /* removed at the last close */
	assert_int_equal(mkdir(shm, 0700), 0);
	assert_true(open_store(f) < 0);
	assert_null(f->s);
	assert_non_null(strstr(coffer_error_last(), "cannot delete"));
	assert_non_null(strstr(coffer_error_last(), "-shm"));
	fp = fopen(f->sfile, "r");
	assert_non_null(fp);
	assert_int_equal(fread(head, 1, sizeof(head), fp), sizeof(head));
	fclose(fp);
	assert_memory_equal(head, GARBAGE, sizeof(head));
	/* once it can be deleted, it is, and the broker starts */
	assert_int_equal(rmdir(shm), 0);
	assert_int_equal(open_store(f), 0);
}

/* A sessions file another process holds locked past the busy timeout: open
 * fails, and the file is not deleted, although its boot row is another
 * boot's (busy is never a reason to delete). */
static void test_sessions_busy_kept(void **state)
{
	struct fixture *f = *state;
	coffer_store_options o = COFFER_STORE_OPTIONS_INIT;
	coffer_store_session s = { 0 };
	sqlite3 *db;

	s = stale_session_file(f);
	/* an exclusive lock on the file itself, held until the close below */
	assert_int_equal(sqlite3_open(f->sfile, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE;", NULL,
	                              NULL, NULL),
	                 SQLITE_OK);
	o.master_key_path = f->key;
	o.busy_timeout_ms = 100;
	assert_true(coffer_store_open(&f->s, f->db, &o) < 0);
	assert_null(f->s);
	assert_non_null(strstr(coffer_error_last(), "sessions file"));
	assert_non_null(strstr(coffer_error_last(), "locked"));
	/* the session is still in the file */
	assert_int_equal(session_rows(db), 1);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	/* unlocked, the other boot's file goes as usual */
	expect_discarded(f, s.id);
}

/* A database from a newer broker is refused rather than misread. */
static void test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	assert_int_equal(
	        sqlite3_exec(db, "INSERT INTO schema_version VALUES(99)", NULL, NULL, NULL),
	        SQLITE_OK);
	sqlite3_close(db);
	coffer_store_close(f->s);
	f->s = NULL;
	assert_int_equal(open_store(f), COFFER_EUNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_master_key_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resources_sealed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resource_paths_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resource_commit_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resource_put_no_randomness, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_master_key_no_randomness, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_refval_set_many_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_master_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_wal_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_batch_with_checkpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_v1_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_across_boots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_corrupt_discarded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_unreadable_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_lock_unavailable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_delete_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_busy_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_sessions_schema_refused, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_session_attest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_survive_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policies_refvals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_principals_audit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
