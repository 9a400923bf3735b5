/*
 * Verified-token cache. A bearer token that verified once stays valid until
 * its exp (the trusted keys only change on SIGHUP, which flushes the cache),
 * so the broker keeps, per SHA-256 of the token, its claims and the imported
 * tee-pubkey: repeated resource requests skip the ES256 verification and the
 * key import and validation. Entries are reference counted so a lookup
 * outlives a concurrent eviction. It also keeps the sessions created here
 * that have not attested yet (below).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "coffer/evp.h"
#include "cofferd.h"

#define SLOTS 8192 /* direct-mapped; a collision evicts */

struct cofferd_tok {
	uint8_t h[32];
	json_t *claims;
	coffer_jwk *key;
	int64_t exp;
	atomic_int refs;
};

static struct cofferd_tok *slots[SLOTS];

/* session id -> the token its attestation produced: an attested session
 * never changes until it expires, so the cookie path can skip the store */
struct sess_slot {
	char sid[33];
	struct cofferd_tok *t;
};
static struct sess_slot sess[SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* session id -> the session this broker created at auth and that has not
 * attested here yet: its nonce, tee, hashes and expiry never change, so the
 * attestation that usually follows within milliseconds reads them from
 * here. Whether the nonce was spent is never taken from here: the store's
 * conditional update decides that. */
struct pending_slot {
	bool used;
	coffer_store_session s; /* token always NULL */
};
static struct pending_slot pending[SLOTS];

static void unref(struct cofferd_tok *t)
{
	if (t && atomic_fetch_sub(&t->refs, 1) == 1) {
		json_decref(t->claims);
		coffer_jwk_free(t->key);
		free(t);
	}
}

static int hash(uint8_t h[32], const char *token)
{
	unsigned int n = 0;

	return EVP_Digest(token, strlen(token), h, &n, coffer_sha256(), NULL) == 1 ? 0 : -1;
}

static size_t slot_of(const uint8_t h[32])
{
	return ((size_t)h[0] | (size_t)h[1] << 8) % SLOTS;
}

struct cofferd_tok *cofferd_tokcache_get(const char *token, int64_t now)
{
	uint8_t h[32];
	struct cofferd_tok *t;

	if (hash(h, token) < 0)
		return NULL;
	pthread_mutex_lock(&lock);
	t = slots[slot_of(h)];
	if (t && memcmp(t->h, h, 32) == 0 && t->exp > now)
		atomic_fetch_add(&t->refs, 1);
	else
		t = NULL;
	pthread_mutex_unlock(&lock);
	return t;
}

struct cofferd_tok *cofferd_tokcache_put(const char *token, json_t *claims, coffer_jwk *key)
{
	struct cofferd_tok *t = calloc(1, sizeof(*t)), *old;
	size_t s;

	if (t == NULL || hash(t->h, token) < 0) {
		free(t);
		json_decref(claims);
		coffer_jwk_free(key);
		return NULL;
	}
	t->claims = claims;
	t->key = key;
	t->exp = json_integer_value(json_object_get(claims, "exp"));
	atomic_store(&t->refs, 2); /* the cache's and the caller's */
	s = slot_of(t->h);
	pthread_mutex_lock(&lock);
	old = slots[s];
	slots[s] = t;
	pthread_mutex_unlock(&lock);
	unref(old);
	return t;
}

const json_t *cofferd_tok_claims(const struct cofferd_tok *t)
{
	return t->claims;
}

const coffer_jwk *cofferd_tok_key(const struct cofferd_tok *t)
{
	return t->key;
}

void cofferd_tok_release(struct cofferd_tok *t)
{
	unref(t);
}

static size_t sess_slot_of(const char *sid)
{
	size_t h = 5381;

	for (const char *p = sid; *p; p++)
		h = h * 33 + (unsigned char)*p;
	return h % SLOTS;
}

void cofferd_tokcache_put_session(const char *sid, struct cofferd_tok *t)
{
	struct cofferd_tok *old;
	size_t s;

	if (t == NULL || strlen(sid) >= sizeof(sess[0].sid))
		return;
	s = sess_slot_of(sid);
	atomic_fetch_add(&t->refs, 1);
	pthread_mutex_lock(&lock);
	old = sess[s].t;
	memcpy(sess[s].sid, sid, strlen(sid) + 1);
	sess[s].t = t;
	pthread_mutex_unlock(&lock);
	unref(old);
}

struct cofferd_tok *cofferd_tokcache_get_session(const char *sid, int64_t now)
{
	struct cofferd_tok *t = NULL;
	size_t s;

	if (strlen(sid) >= sizeof(sess[0].sid))
		return NULL;
	s = sess_slot_of(sid);
	pthread_mutex_lock(&lock);
	if (sess[s].t && strcmp(sess[s].sid, sid) == 0 && sess[s].t->exp > now) {
		t = sess[s].t;
		atomic_fetch_add(&t->refs, 1);
	}
	pthread_mutex_unlock(&lock);
	return t;
}

void cofferd_pending_put(const coffer_store_session *s)
{
	size_t i = sess_slot_of(s->id);

	pthread_mutex_lock(&lock);
	pending[i].used = true;
	pending[i].s = *s;
	pending[i].s.token = NULL;
	pending[i].s.nonce_used = false;
	pending[i].s.attested = false;
	pthread_mutex_unlock(&lock);
}

bool cofferd_pending_take(coffer_store_session *out, const char *sid, int64_t now)
{
	size_t i;
	bool hit = false;

	if (strlen(sid) >= sizeof(out->id))
		return false;
	i = sess_slot_of(sid);
	pthread_mutex_lock(&lock);
	if (pending[i].used && strcmp(pending[i].s.id, sid) == 0) {
		pending[i].used = false;
		if (pending[i].s.expires > now) {
			*out = pending[i].s;
			hit = true;
		}
	}
	pthread_mutex_unlock(&lock);
	return hit;
}

void cofferd_tokcache_sweep(int64_t now)
{
	for (size_t i = 0; i < SLOTS; i++) {
		struct cofferd_tok *t = NULL, *u = NULL;
		pthread_mutex_lock(&lock);
		if (slots[i] && slots[i]->exp <= now) {
			t = slots[i];
			slots[i] = NULL;
		}
		if (sess[i].t && sess[i].t->exp <= now) {
			u = sess[i].t;
			sess[i].t = NULL;
		}
		if (pending[i].used && pending[i].s.expires <= now)
			pending[i].used = false;
		pthread_mutex_unlock(&lock);
		unref(t);
		unref(u);
	}
}

void cofferd_tokcache_flush(void)
{
	for (size_t i = 0; i < SLOTS; i++) {
		struct cofferd_tok *t, *u;
		pthread_mutex_lock(&lock);
		t = slots[i];
		slots[i] = NULL;
		u = sess[i].t;
		sess[i].t = NULL;
		pending[i].used = false;
		pthread_mutex_unlock(&lock);
		unref(t);
		unref(u);
	}
}
