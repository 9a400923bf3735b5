/*
 * The broker's audit trail (PERSONAS.md rule 7, docs/audit.md). Entries are
 * built by libcoffer's audit module (coffer_audit_append) so the broker and
 * `coffer audit verify` run the same chain code; the full entry JSON is kept
 * as the store's audit record. Appends are serialized by one mutex: the chain
 * needs the previous entry's hash, so two appends may not interleave.
 *
 * Checkpoints (ES256 by the broker's signing key) are cut every
 * `audit.checkpoint_every` entries (default 100) and on shutdown; they are
 * kept in the store's policy table under kind "audit-checkpoint", id = the
 * zero-padded seq they sign, so they survive restarts with the entries.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Every chain entry in store order, for `ns` when not NULL. */
int cofferd_audit_entries(struct cofferd *d, json_t **out, const char *ns)
{
	json_t *all = json_array(), *page = NULL, *row;
	int64_t after = 0;
	size_t i;
	int error;

	if (all == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	for (;;) {
		if ((error = coffer_store_audit_list(&page, d->store, after, ns, PAGE)) < 0) {
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

int cofferd_audit_checkpoints(struct cofferd *d, json_t **out)
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
		if (!json_is_string(v) ||
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
	if ((error = cofferd_audit_entries(d, &all, NULL)) < 0)
		return error;
	n = json_array_size(all);
	json_decref(audit_last);
	audit_last = n ? json_incref(json_array_get(all, n - 1)) : NULL;
	json_decref(all);
	audit_checkpointed = 0;
	if (coffer_store_policy_list(&ids, d->store, CHECKPOINT_KIND) == 0 &&
	    json_array_size(ids) > 0) {
		const char *s = json_string_value(json_array_get(ids, json_array_size(ids) - 1));
		char *end = NULL;
		long long v = s ? strtoll(s, &end, 10) : 0;
		if (s && end && *end == '\0' && v > 0)
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

void cofferd_audit_shutdown(struct cofferd *d)
{
	if (cofferd_audit_checkpoint(d) < 0)
		cofferd_log(LOG_ERROR_, "audit checkpoint failed",
		            json_pack("{s:s}", "error", coffer_error_last()));
	pthread_mutex_lock(&audit_lock);
	json_decref(audit_last);
	audit_last = NULL;
	audit_loaded = false;
	pthread_mutex_unlock(&audit_lock);
}

int cofferd_audit_record(struct cofferd *d, json_t *fields)
{
	json_t *entry = NULL;
	const json_t *actor;
	const char *actor_s, *action, *ns;
	int64_t seq;
	int error;

	if (fields == NULL)
		return coffer_error_set(COFFER_EINVAL, "audit: no fields");
	pthread_mutex_lock(&audit_lock);
	if ((error = load_locked(d)) < 0 ||
	    (error = coffer_audit_append(&entry, audit_last, fields)) < 0)
		goto out;
	actor = json_object_get(entry, "actor");
	actor_s = json_is_string(actor) ? json_string_value(actor)
	                                : json_string_value(json_object_get(actor, "tee"));
	action = json_string_value(json_object_get(entry, "action"));
	ns = json_string_value(json_object_get(entry, "namespace"));
	if ((error = coffer_store_audit_append(NULL, d->store, cofferd_now(),
	                                       actor_s ? actor_s : "-", action ? action : "-", ns,
	                                       entry)) < 0)
		goto out;
	json_decref(audit_last);
	audit_last = entry;
	entry = NULL;
	seq = json_integer_value(json_object_get(audit_last, "seq"));
	if (audit_every > 0 && seq - audit_checkpointed >= audit_every && checkpoint_locked(d) < 0)
		cofferd_log(LOG_ERROR_, "audit checkpoint failed",
		            json_pack("{s:s}", "error", coffer_error_last()));
out:
	pthread_mutex_unlock(&audit_lock);
	if (error < 0)
		cofferd_log(LOG_ERROR_, "audit append failed",
		            json_pack("{s:s}", "error", coffer_error_last()));
	json_decref(entry);
	json_decref(fields);
	return error;
}
