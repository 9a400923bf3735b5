/*
 * The broker's audit trail (PERSONAS.md rule 7, docs/audit.md). Entries are
 * built by libcoffer's audit module (coffer_audit_append) so the broker and
 * `coffer audit verify` run the same chain code; the full entry JSON is kept
 * as the store's audit record. Appends are group-committed (see below): one
 * writer at a time chains a batch on the in-memory head {seq, hash} and
 * stores it in one transaction, so two appends never interleave and many
 * concurrent releases share one sync.
 *
 * Checkpoints (ES256 by the broker's signing key) are cut every
 * `admin.audit_checkpoint_every` entries (default 100) and on shutdown; they are
 * kept in the store's policy table under kind "audit-checkpoint", id = the
 * zero-padded seq they sign, so they survive restarts with the entries.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "coffer/audit.h"
#include "cofferd.h"

#define CHECKPOINT_KIND "audit-checkpoint"
#define PAGE            1000

static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *audit_last;         /* the newest chain entry, or NULL */
static bool audit_loaded;          /* audit_last reflects the store */
static int64_t audit_checkpointed; /* seq of the newest checkpoint */
static int64_t audit_every = 100;

void cofferd_audit_set_checkpoint_every(int64_t n)
{
	pthread_mutex_lock(&audit_lock);
	audit_every = n > 0 ? n : 100;
	pthread_mutex_unlock(&audit_lock);
}

/* A store record that is a chain entry (older rows had another shape). */
static const json_t *chain_entry(const json_t *row)
{
	const json_t *e = json_object_get(row, "record");

	if (!json_is_object(e) || !json_is_integer(json_object_get(e, "seq")) ||
	    !json_is_string(json_object_get(e, "hash")) ||
	    !json_is_string(json_object_get(e, "prev")))
		return NULL;
	return e;
}

/* Every chain entry in store order: only to find the head of a store whose
 * newest row has an older shape (load_locked). */
static int all_entries(struct cofferd *d, json_t **out)
{
	json_t *all = json_array(), *page = NULL, *row;
	int64_t after = 0;
	size_t i;
	int error;

	if (all == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	for (;;) {
		if ((error = coffer_store_audit_list(&page, d->store, after, NULL, PAGE)) < 0) {
			json_decref(all);
			return error;
		}
		json_array_foreach(page, i, row)
		{
			const json_t *e = chain_entry(row);
			after = json_integer_value(json_object_get(row, "seq"));
			if (e)
				json_array_append(all, (json_t *)e);
		}
		i = json_array_size(page);
		json_decref(page);
		page = NULL;
		if (i < PAGE)
			break;
	}
	*out = all;
	return 0;
}

/*
 * A chain entry's seq is never below its store row's seq minus the rows of
 * an older shape before it, and both grow together, so the rows after
 * `from - 1` hold every entry from `from` on: on a store of chain entries
 * only, the first read is exactly the page plus one.
 */
int cofferd_audit_page(struct cofferd *d, json_t **out, int64_t *next, int64_t from, size_t limit,
                       const char *ns, const coffer_audit_scope *scope)
{
	json_t *page = json_array(), *rows = NULL, *row;
	int64_t after = from > 0 ? from - 1 : 0;
	size_t i, want, got;
	int error;

	*next = 0;
	if (page == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	for (;;) {
		want = limit + 1 - json_array_size(page);
		/* a scope filter skips rows: read in larger steps */
		if (scope != NULL && want < PAGE)
			want = PAGE;
		if ((error = coffer_store_audit_list(&rows, d->store, after, ns, want)) < 0) {
			json_decref(page);
			return error;
		}
		json_array_foreach(rows, i, row)
		{
			const json_t *e = chain_entry(row);
			int64_t seq = e ? json_integer_value(json_object_get(e, "seq")) : 0;

			after = json_integer_value(json_object_get(row, "seq"));
			if (e == NULL || seq < from || (scope && !coffer_audit_in_scope(e, scope)))
				continue;
			if (json_array_size(page) == limit) {
				*next = seq;
				break;
			}
			json_array_append(page, (json_t *)e);
		}
		got = json_array_size(rows);
		json_decref(rows);
		rows = NULL;
		if (*next != 0 || got < want)
			break;
	}
	*out = page;
	return 0;
}

/* The checkpoint ids are the zero-padded seq they sign. */
static int64_t checkpoint_seq(const char *id)
{
	char *end = NULL;
	long long v;

	if (id == NULL || id[0] < '0' || id[0] > '9')
		return -1;
	v = strtoll(id, &end, 10);
	return end && *end == '\0' && v > 0 ? (int64_t)v : -1;
}

int cofferd_audit_checkpoints(struct cofferd *d, json_t **out, int64_t lo, int64_t hi)
{
	json_t *ids = NULL, *arr = json_array(), *v;
	size_t i;
	int error;

	if (arr == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	if ((error = coffer_store_policy_list(&ids, d->store, CHECKPOINT_KIND)) < 0) {
		json_decref(arr);
		return error;
	}
	json_array_foreach(ids, i, v)
	{
		char *text = NULL;
		size_t len = 0;
		int64_t seq = checkpoint_seq(json_string_value(v));
		if (seq < lo || seq > hi ||
		    coffer_store_policy_get(&text, &len, d->store, CHECKPOINT_KIND,
		                            json_string_value(v)) < 0)
			continue;
		json_array_append_new(arr, json_stringn(text, len));
		free(text);
	}
	json_decref(ids);
	*out = arr;
	return 0;
}

static int load_locked(struct cofferd *d)
{
	json_t *all = NULL, *ids = NULL;
	size_t n;
	int error;

	if (audit_loaded)
		return 0;
	/* the head is the newest row; only when that row is not a chain entry
	 * (an older record shape) is the whole log scanned for the last one */
	if ((error = coffer_store_audit_last(&all, d->store)) < 0)
		return error;
	json_decref(audit_last);
	audit_last = NULL;
	if (all != NULL && chain_entry(all) != NULL) {
		audit_last = json_incref((json_t *)chain_entry(all));
		json_decref(all);
	} else if (all != NULL) {
		json_decref(all);
		all = NULL;
		if ((error = all_entries(d, &all)) < 0)
			return error;
		n = json_array_size(all);
		audit_last = n ? json_incref(json_array_get(all, n - 1)) : NULL;
		json_decref(all);
	}
	audit_checkpointed = 0;
	if (coffer_store_policy_list(&ids, d->store, CHECKPOINT_KIND) == 0 &&
	    json_array_size(ids) > 0) {
		int64_t v = checkpoint_seq(
		        json_string_value(json_array_get(ids, json_array_size(ids) - 1)));
		if (v > 0)
			audit_checkpointed = v;
	}
	json_decref(ids);
	audit_loaded = true;
	return 0;
}

static int checkpoint_locked(struct cofferd *d)
{
	char *jws = NULL, id[24];
	int64_t seq;
	const char *hash;
	int error;

	if (audit_last == NULL || d->signing_key == NULL)
		return 0;
	seq = json_integer_value(json_object_get(audit_last, "seq"));
	hash = json_string_value(json_object_get(audit_last, "hash"));
	if (seq <= audit_checkpointed || hash == NULL)
		return 0;
	if ((error = coffer_audit_checkpoint_sign(&jws, d->signing_key, seq, hash, NULL)) < 0)
		return error;
	snprintf(id, sizeof(id), "%016" PRId64, seq);
	error = coffer_store_policy_put(d->store, CHECKPOINT_KIND, id, jws, strlen(jws),
	                                cofferd_now());
	free(jws);
	if (error == 0)
		audit_checkpointed = seq;
	return error;
}

int cofferd_audit_checkpoint(struct cofferd *d)
{
	int error;

	pthread_mutex_lock(&audit_lock);
	error = load_locked(d);
	if (error == 0)
		error = checkpoint_locked(d);
	pthread_mutex_unlock(&audit_lock);
	return error;
}

static void writer_stop(void);

void cofferd_audit_shutdown(struct cofferd *d)
{
	writer_stop(); /* every queued entry is committed first */
	if (cofferd_audit_checkpoint(d) < 0)
		cofferd_log(LOG_ERROR_, "audit checkpoint failed",
		            json_pack("{s:s}", "error", coffer_error_last()));
	pthread_mutex_lock(&audit_lock);
	json_decref(audit_last);
	audit_last = NULL;
	audit_loaded = false;
	pthread_mutex_unlock(&audit_lock);
}

/* ---- group commit ----
 *
 * Callers hand their fields to one writer thread (started on first use)
 * and are told the result once their entry is durable:
 * cofferd_audit_submit calls back on the writer thread (the server resumes
 * a suspended connection there), cofferd_audit_record waits for it. The
 * writer takes everything queued (up to BATCH_MAX), chains the entries on
 * the in-memory head {seq, hash} (loaded once from the store), writes them
 * in ONE store transaction (one sync), together with the checkpoint over
 * its last entry when the batch crossed an `audit_every` boundary, then
 * reports to every caller. Requests
 * that arrive meanwhile form the next batch. When the writer is idle and
 * nothing is queued, cofferd_audit_try_now writes the entry as a batch of
 * one on the caller's thread instead (`q_busy` keeps the two apart): an
 * idle broker answers without two thread hand-offs. No caller hears success
 * before its entry is durable, so a release is answered only once its
 * record survives a crash; a failed write fails every entry of its batch
 * and leaves the head unchanged. The queue is bounded: beyond QUEUE_MAX
 * waiting entries a submitter blocks (back-pressure). Shutdown lets the
 * writer drain the queue, then signs the final checkpoint.
 *
 * Commit delay (PostgreSQL's commit_delay): when entries queued up while
 * the last batch was written and that batch held more than one, or more
 * than one is already waiting, the writer is the bottleneck, and it
 * sleeps `commit_delay` before it takes the queue, so that the releases in
 * flight join this batch and share its sync. A writer that found the
 * queue empty starts without delay: a lone entry is written at once. The
 * delay trades a little latency under load for fewer syncs, each of which
 * costs a device flush (a VM exit here). */

#define BATCH_MAX COFFER_STORE_AUDIT_BATCH_MAX
#define QUEUE_MAX 4096

struct audit_req {
	json_t *fields; /* owned */
	struct audit_req *next;
	cofferd_audit_done_fn done;
	void *ctx;
	int error;
	char msg[256];
};

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_work = PTHREAD_COND_INITIALIZER;  /* something queued / stop */
static pthread_cond_t q_space = PTHREAD_COND_INITIALIZER; /* the queue shrank */
static struct audit_req *q_head, *q_tail;
static size_t q_len;
static bool q_running, q_stop;
static bool q_busy; /* a batch is being written: by the writer, or inline */
static pthread_t q_thread;
static long commit_delay_us = COFFERD_AUDIT_COMMIT_DELAY_DEFAULT;

void cofferd_audit_set_commit_delay(long us)
{
	pthread_mutex_lock(&q_lock);
	commit_delay_us = us >= 0 ? us : COFFERD_AUDIT_COMMIT_DELAY_DEFAULT;
	pthread_mutex_unlock(&q_lock);
}

static void req_fail(struct audit_req *r, int error)
{
	r->error = error;
	snprintf(r->msg, sizeof(r->msg), "%s", coffer_error_last());
}

/* Scratch for commit_batch, which runs on one thread at a time: the writer
 * or cofferd_audit_try_now, whichever set `q_busy` (and audit_lock is held
 * throughout). */
static coffer_store_audit_rec batch_recs[BATCH_MAX];
static json_t *batch_entries[BATCH_MAX];
static struct audit_req *batch_owner[BATCH_MAX];
static uint8_t batch_salts[BATCH_MAX * COFFER_AUDIT_SALT_SIZE];

/* Chain and store `batch` (n requests); sets each request's result. */
static void commit_batch(struct cofferd *d, struct audit_req *batch, size_t n)
{
	coffer_store_audit_rec *recs = batch_recs;
	json_t **entries = batch_entries;
	struct audit_req **owner = batch_owner;
	coffer_audit_append_opts opts = COFFER_AUDIT_APPEND_OPTS_INIT;
	json_t *head;
	struct audit_req *r;
	size_t k = 0, i;
	int64_t now = cofferd_now(), seq;
	char *cp_jws = NULL, cp_id[24] = "";
	int error;

	/* the entries take the fields' values as they are (nothing changes
	 * them: the fields are dropped once the caller is told) */
	opts.share_fields = true;
	pthread_mutex_lock(&audit_lock);
	if (n == 0 || n > BATCH_MAX) {
		error = coffer_error_set(COFFER_EINVAL, "audit: batch of %zu", n);
		for (r = batch; r; r = r->next)
			req_fail(r, error);
		goto out;
	}
	if ((error = load_locked(d)) < 0) {
		for (r = batch; r; r = r->next)
			req_fail(r, error);
		goto out;
	}
	/* one draw for the whole batch; each entry gets its own slice */
	if (RAND_bytes(batch_salts, (int)(n * COFFER_AUDIT_SALT_SIZE)) != 1) {
		error = coffer_error_set_ssl(COFFER_ERROR, "audit append: no randomness");
		for (r = batch; r; r = r->next)
			req_fail(r, error);
		goto out;
	}
	head = audit_last;
	for (r = batch, i = 0; r; r = r->next, i++) {
		const json_t *actor;
		const char *actor_s;
		json_t *e = NULL;

		/* fields the audit rules refuse fail alone, off the chain */
		opts.salt = batch_salts + i * COFFER_AUDIT_SALT_SIZE;
		if ((error = coffer_audit_append_ext(&e, head, r->fields, &opts)) < 0) {
			req_fail(r, error);
			continue;
		}
		actor = json_object_get(e, "actor");
		actor_s = json_is_string(actor) ? json_string_value(actor)
		                                : json_string_value(json_object_get(actor, "tee"));
		recs[k].time = now;
		recs[k].actor = actor_s ? actor_s : "-";
		recs[k].action = json_string_value(json_object_get(e, "action"));
		if (recs[k].action == NULL)
			recs[k].action = "-";
		recs[k].ns = json_string_value(json_object_get(e, "namespace"));
		recs[k].record = e;
		recs[k].seq = 0;
		entries[k] = e;
		owner[k] = r;
		head = e;
		k++;
	}
	OPENSSL_cleanse(batch_salts, n * COFFER_AUDIT_SALT_SIZE);
	if (k == 0)
		goto out;
	/* a batch that crosses a checkpoint boundary carries its checkpoint,
	 * signed over its last entry and stored in the same transaction (one
	 * sync); a signing failure is logged and the batch goes without it */
	seq = json_integer_value(json_object_get(entries[k - 1], "seq"));
	if (audit_every > 0 && seq - audit_checkpointed >= audit_every && d->signing_key != NULL) {
		const char *hash = json_string_value(json_object_get(entries[k - 1], "hash"));
		if (hash == NULL ||
		    coffer_audit_checkpoint_sign(&cp_jws, d->signing_key, seq, hash, NULL) < 0) {
			cofferd_log(LOG_ERROR_, "audit checkpoint failed",
			            json_pack("{s:s}", "error", coffer_error_last()));
			cp_jws = NULL;
		} else {
			snprintf(cp_id, sizeof(cp_id), "%016" PRId64, seq);
		}
	}
	if ((error = coffer_store_audit_append_batch_with(
	             d->store, recs, k, cp_jws ? CHECKPOINT_KIND : NULL, cp_id, cp_jws,
	             cp_jws ? strlen(cp_jws) : 0)) < 0) {
		/* nothing was stored: the head stays where it was */
		for (i = 0; i < k; i++)
			req_fail(owner[i], error);
		goto out;
	}
	json_decref(audit_last);
	audit_last = json_incref(entries[k - 1]);
	for (i = 0; i < k; i++)
		owner[i]->error = 0;
	if (cp_jws != NULL)
		audit_checkpointed = seq;
out:
	free(cp_jws);
	pthread_mutex_unlock(&audit_lock);
	for (i = 0; i < k; i++) {
		json_decref(entries[i]);
		entries[i] = NULL;
	}
}

static void *writer_main(void *arg)
{
	struct cofferd *d = arg;
	struct audit_req *batch, *last, *r, *next;
	size_t n, last_n = 0;

	pthread_mutex_lock(&q_lock);
	for (;;) {
		if (q_head == NULL)
			last_n = 0; /* the writer idles: nobody is waiting for it */
		while ((q_head == NULL && !q_stop) || q_busy)
			pthread_cond_wait(&q_work, &q_lock);
		if (q_head == NULL)
			break; /* stopping, and drained */
		q_busy = true;
		if (commit_delay_us > 0 && !q_stop && (last_n > 1 || q_len > 1) &&
		    q_len < BATCH_MAX) {
			struct timespec ts = { commit_delay_us / 1000000,
				               (commit_delay_us % 1000000) * 1000 };
			pthread_mutex_unlock(&q_lock);
			nanosleep(&ts, NULL);
			pthread_mutex_lock(&q_lock);
		}
		batch = q_head;
		for (n = 1, last = batch; n < BATCH_MAX && last->next; n++)
			last = last->next;
		q_head = last->next;
		if (q_head == NULL)
			q_tail = NULL;
		last->next = NULL;
		q_len -= n;
		last_n = n;
		pthread_cond_broadcast(&q_space);
		pthread_mutex_unlock(&q_lock);

		commit_batch(d, batch, n);
		for (r = batch; r; r = next) {
			next = r->next;
			if (r->error < 0)
				cofferd_log(LOG_ERROR_, "audit append failed",
				            json_pack("{s:s}", "error", r->msg));
			r->done(r->ctx, r->error, r->msg);
			json_decref(r->fields);
			free(r);
		}
		pthread_mutex_lock(&q_lock);
		q_busy = false;
	}
	pthread_mutex_unlock(&q_lock);
	return NULL;
}

bool cofferd_audit_try_now(struct cofferd *d, json_t *fields, int *error)
{
	struct audit_req r;

	pthread_mutex_lock(&q_lock);
	if (fields == NULL || q_busy || q_head != NULL || q_stop) {
		pthread_mutex_unlock(&q_lock);
		return false;
	}
	q_busy = true;
	pthread_mutex_unlock(&q_lock);

	memset(&r, 0, sizeof(r));
	r.fields = fields;
	r.error = COFFER_ERROR;
	commit_batch(d, &r, 1);
	json_decref(fields);
	if (r.error < 0) {
		cofferd_log(LOG_ERROR_, "audit append failed", json_pack("{s:s}", "error", r.msg));
		coffer_error_set(r.error, "%s", r.msg);
	}
	*error = r.error;

	pthread_mutex_lock(&q_lock);
	q_busy = false;
	pthread_cond_signal(&q_work); /* entries that queued meanwhile */
	pthread_mutex_unlock(&q_lock);
	return true;
}

void cofferd_audit_submit(struct cofferd *d, json_t *fields, cofferd_audit_done_fn done, void *ctx)
{
	struct audit_req *r;
	int error;

	if (fields == NULL) {
		error = coffer_error_set(COFFER_EINVAL, "audit: no fields");
		done(ctx, error, coffer_error_last());
		return;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		json_decref(fields);
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		done(ctx, error, coffer_error_last());
		return;
	}
	r->fields = fields;
	r->done = done;
	r->ctx = ctx;
	r->error = COFFER_ERROR;
	pthread_mutex_lock(&q_lock);
	if (!q_running) {
		if (pthread_create(&q_thread, NULL, writer_main, d) != 0) {
			pthread_mutex_unlock(&q_lock);
			json_decref(fields);
			free(r);
			error = coffer_error_set(COFFER_ERROR, "audit: cannot start the writer");
			done(ctx, error, coffer_error_last());
			return;
		}
		q_running = true;
	}
	while (q_len >= QUEUE_MAX)
		pthread_cond_wait(&q_space, &q_lock);
	if (q_tail)
		q_tail->next = r;
	else
		q_head = r;
	q_tail = r;
	q_len++;
	pthread_cond_signal(&q_work);
	pthread_mutex_unlock(&q_lock);
}

struct sync_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int error;
	char msg[256];
};

static void sync_done(void *ctx, int error, const char *msg)
{
	struct sync_wait *w = ctx;

	pthread_mutex_lock(&w->lock);
	w->error = error;
	snprintf(w->msg, sizeof(w->msg), "%s", msg ? msg : "");
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int cofferd_audit_record(struct cofferd *d, json_t *fields)
{
	struct sync_wait w;
	int error;

	if (cofferd_audit_try_now(d, fields, &error))
		return error;
	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	cofferd_audit_submit(d, fields, sync_done, &w);
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	error = w.error;
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	if (error < 0)
		return coffer_error_set(error, "%s", w.msg);
	return 0;
}

/* Let the writer drain the queue and stop (it restarts on the next submit). */
static void writer_stop(void)
{
	bool join;

	pthread_mutex_lock(&q_lock);
	join = q_running;
	q_stop = true;
	pthread_cond_signal(&q_work);
	pthread_mutex_unlock(&q_lock);
	if (join)
		pthread_join(q_thread, NULL);
	pthread_mutex_lock(&q_lock);
	q_running = false;
	q_stop = false;
	pthread_mutex_unlock(&q_lock);
}
