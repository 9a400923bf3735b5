/*
 * The audit chain (src/lib/audit, docs/audit.md): append, checkpoints,
 * scoped exports, and verification against every kind of tampering.
 */
#include <inttypes.h>

#include "coffer/audit.h"
#include "coffer/jose.h"
#include "coffer/json.h"
#include "test_util.h"

#define N_ENTRIES 50
#define CP_EVERY  10
#define ZERO_HEX  "0000000000000000000000000000000000000000000000000000000000000000"

static coffer_jwk *g_key;   /* the broker's signing key */
static coffer_jwk *g_pub;   /* its public half */
static coffer_jwk *g_other; /* someone else's key */

static int setup(void **state)
{
	(void)state;
	if (coffer_jwk_generate(&g_key, "EC", "P-256", 0) != 0 ||
	    coffer_jwk_public(&g_pub, g_key) != 0 ||
	    coffer_jwk_generate(&g_other, "EC", "P-256", 0) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	coffer_jwk_free(g_key);
	coffer_jwk_free(g_pub);
	coffer_jwk_free(g_other);
	return 0;
}

/* Entry i: a mix of admin actions and releases over namespaces alpha, beta
 * and none. */
static json_t *fields_for(int i)
{
	char t[32];
	json_t *f;

	snprintf(t, sizeof(t), "2026-11-27T10:%02d:%02dZ", (i / 60) % 60, i % 60);
	if (i % 3 == 0)
		f = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "admin", "action",
		              "resource.put", "namespace", "alpha", "actor", "p-alice", "resource",
		              "kbs:///alpha/key/k1", "outcome", "ok", "reason", "", "time", t);
	else if (i % 3 == 1)
		f = json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s,s:[s,s]},s:s,s:s,s:s,s:s}", "kind",
		              "release", "action", "release", "namespace", "beta", "actor", "tee",
		              "snp", "measurement", "aa11", "chip_id", "cc22", "init_data", "dd33",
		              "policy_ids", "default", "beta-release", "resource",
		              "kbs:///beta/key/k2", "outcome", i % 2 ? "allowed" : "denied",
		              "reason", "release policy", "time", t);
	else
		f = json_pack("{s:s,s:s,s:n,s:s,s:n,s:s,s:s}", "kind", "admin", "action",
		              "policy.set", "namespace", "actor", "p-wp", "resource", "outcome",
		              "ok", "time", t);
	assert_non_null(f);
	return f;
}

static void add_checkpoint(json_t *cps, const json_t *entry, coffer_jwk *key)
{
	char *jws = NULL;

	assert_int_equal(
	        coffer_audit_checkpoint_sign(
	                &jws, key, (int64_t)json_integer_value(json_object_get(entry, "seq")),
	                json_string_value(json_object_get(entry, "hash")), "2026-11-27T11:00:00Z"),
	        0);
	assert_int_equal(json_array_append_new(cps, json_string(jws)), 0);
	free(jws);
}

/* n entries, a checkpoint every `every` entries. */
static json_t *build_export(int n, int every)
{
	json_t *entries = json_array(), *cps = json_array(), *doc = NULL, *prev = NULL;

	for (int i = 1; i <= n; i++) {
		json_t *f = fields_for(i), *e = NULL;
		assert_int_equal(coffer_audit_append(&e, prev, f), 0);
		json_decref(f);
		assert_int_equal(json_array_append_new(entries, e), 0);
		prev = e;
		if (every > 0 && i % every == 0)
			add_checkpoint(cps, e, g_key);
	}
	assert_int_equal(coffer_audit_export_new(&doc, entries, cps), 0);
	json_decref(entries);
	json_decref(cps);
	return doc;
}

static json_t *entries_of(json_t *doc)
{
	return json_object_get(doc, "entries");
}

/* entry with seq k (1-based, in an export starting at 1) */
static json_t *entry(json_t *doc, size_t k)
{
	return json_array_get(entries_of(doc), k - 1);
}

/* Recompute prev and hash of every entry from position `from` (0-based) on,
 * as an attacker who rewrites the rest of the chain would. */
static void rehash_from(json_t *doc, size_t from)
{
	json_t *es = entries_of(doc);
	char h[COFFER_AUDIT_HEX_LEN + 1];

	for (size_t i = from; i < json_array_size(es); i++) {
		json_t *e = json_array_get(es, i);
		if (i > 0)
			json_object_set(e, "prev",
			                json_object_get(json_array_get(es, i - 1), "hash"));
		assert_int_equal(coffer_audit_entry_hash(h, e), 0);
		json_object_set_new(e, "hash", json_string(h));
	}
}

static void expect_ok(json_t *doc, coffer_audit_report *r)
{
	int error = coffer_audit_verify(r, doc, &g_pub, 1, NULL);
	if (error != 0)
		fail_msg("verify failed: %s", coffer_error_last());
}

/* Tampering must be reported as COFFER_EVERIFY at `seq`, with the seq and
 * `needle` in the message. */
static void expect_tampered(json_t *doc, int64_t seq, const char *needle)
{
	coffer_audit_report r;
	char want[64];
	int error = coffer_audit_verify(&r, doc, &g_pub, 1, NULL);

	if (error != COFFER_EVERIFY)
		fail_msg("want EVERIFY, got %d: %s", error, coffer_error_last());
	assert_int_equal(r.bad_seq, seq);
	snprintf(want, sizeof(want), "seq %" PRId64, seq);
	if (strstr(coffer_error_last(), want) == NULL ||
	    (needle != NULL && strstr(coffer_error_last(), needle) == NULL))
		fail_msg("message lacks '%s' / '%s': %s", want, needle ? needle : "",
		         coffer_error_last());
}

/* ---- append ---- */

static void test_append_links(void **state)
{
	json_t *f = fields_for(3), *e1 = NULL, *e2 = NULL;
	char h[COFFER_AUDIT_HEX_LEN + 1];
	const char *t;

	(void)state;
	json_object_del(f, "time");
	assert_int_equal(coffer_audit_append(&e1, NULL, f), 0);
	assert_int_equal(coffer_audit_append(&e2, e1, f), 0);
	assert_int_equal(json_integer_value(json_object_get(e1, "seq")), 1);
	assert_int_equal(json_integer_value(json_object_get(e2, "seq")), 2);
	assert_string_equal(json_string_value(json_object_get(e1, "prev")),
	                    "0000000000000000000000000000000000000000000000000000000000000000");
	assert_string_equal(json_string_value(json_object_get(e2, "prev")),
	                    json_string_value(json_object_get(e1, "hash")));
	assert_int_equal(coffer_audit_entry_hash(h, e2), 0);
	assert_string_equal(h, json_string_value(json_object_get(e2, "hash")));
	/* random salts: identical fields give different digests */
	assert_string_not_equal(json_string_value(json_object_get(e1, "salt")),
	                        json_string_value(json_object_get(e2, "salt")));
	t = json_string_value(json_object_get(e1, "time"));
	assert_non_null(t);
	assert_int_equal(strlen(t), 20);
	assert_int_equal(t[19], 'Z');
	/* reason defaults to "" */
	assert_string_equal(json_string_value(json_object_get(e1, "reason")), "");
	json_decref(f);
	json_decref(e1);
	json_decref(e2);
}

/* The hash is exactly SHA-256(prev || SHA-256(JCS(entry without hash))),
 * recomputed here with plain EVP calls and the JCS serializer. */
static void test_hash_definition(void **state)
{
	json_t *f = fields_for(1), *e = NULL, *c;
	uint8_t prev[32] = { 0 }, d[32], h[32], both[64];
	char *canon = NULL, hex[65];
	size_t len = 0;
	unsigned int n = 0;

	(void)state;
	assert_int_equal(coffer_audit_append(&e, NULL, f), 0);
	c = json_copy(e);
	json_object_del(c, "hash");
	assert_int_equal(coffer_jcs_serialize(&canon, &len, c), 0);
	assert_int_equal(EVP_Digest(canon, len, d, &n, EVP_sha256(), NULL), 1);
	memcpy(both, prev, 32);
	memcpy(both + 32, d, 32);
	assert_int_equal(EVP_Digest(both, 64, h, &n, EVP_sha256(), NULL), 1);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	assert_string_equal(hex, json_string_value(json_object_get(e, "hash")));
	assert_int_equal(coffer_audit_entry_digest(h, e), 0);
	assert_memory_equal(h, d, 32);
	free(canon);
	json_decref(c);
	json_decref(e);
	json_decref(f);
}

static void expect_append_refused(json_t *f, const json_t *prev, const char *needle)
{
	json_t *e = NULL;
	int error = coffer_audit_append(&e, prev, f);

	if (error != COFFER_EINVAL || e != NULL)
		fail_msg("append accepted a bad entry (%d) [%s]", error, needle);
	if (strstr(coffer_error_last(), needle) == NULL)
		fail_msg("message lacks '%s': %s", needle, coffer_error_last());
	json_decref(f);
}

static void test_append_refusals(void **state)
{
	json_t *f, *stub = json_pack("{s:i}", "seq", 3);

	(void)state;
	f = fields_for(3);
	json_object_set_new(f, "extra", json_true());
	expect_append_refused(f, NULL, "extra");
	f = fields_for(3);
	json_object_set_new(f, "seq", json_integer(9));
	expect_append_refused(f, NULL, "seq");
	f = fields_for(3);
	json_object_set_new(f, "hash", json_string("00"));
	expect_append_refused(f, NULL, "hash");
	f = fields_for(3);
	json_object_set_new(f, "kind", json_string("system"));
	expect_append_refused(f, NULL, "kind");
	f = fields_for(3);
	json_object_del(f, "kind");
	expect_append_refused(f, NULL, "kind");
	f = fields_for(3);
	json_object_set_new(f, "action", json_string("Resource Put"));
	expect_append_refused(f, NULL, "action");
	f = fields_for(3);
	json_object_set_new(f, "action", json_string(""));
	expect_append_refused(f, NULL, "action");
	f = fields_for(3);
	json_object_set_new(f, "actor", json_pack("{s:s}", "tee", "snp"));
	expect_append_refused(f, NULL, "principal id");
	f = fields_for(1);
	json_object_set_new(f, "actor", json_string("p-alice"));
	expect_append_refused(f, NULL, "claims summary");
	f = fields_for(1);
	json_object_set_new(json_object_get(f, "actor"), "secret", json_string("x"));
	expect_append_refused(f, NULL, "unknown member \"secret\"");
	f = fields_for(1);
	json_object_del(json_object_get(f, "actor"), "tee");
	expect_append_refused(f, NULL, "actor.tee");
	f = fields_for(1);
	json_object_set_new(json_object_get(f, "actor"), "policy_ids", json_pack("[i]", 1));
	expect_append_refused(f, NULL, "policy_ids");
	f = fields_for(1);
	json_object_set_new(json_object_get(f, "actor"), "measurement", json_integer(5));
	expect_append_refused(f, NULL, "actor.measurement");
	f = fields_for(3);
	json_object_set_new(f, "outcome", json_string("maybe"));
	expect_append_refused(f, NULL, "outcome");
	f = fields_for(3);
	json_object_set_new(f, "namespace", json_integer(1));
	expect_append_refused(f, NULL, "namespace");
	f = fields_for(3);
	json_object_set_new(f, "namespace", json_string(""));
	expect_append_refused(f, NULL, "namespace");
	f = fields_for(3);
	json_object_set_new(f, "resource", json_string("a\nb"));
	expect_append_refused(f, NULL, "resource");
	f = fields_for(3);
	json_object_set_new(f, "reason", json_string("line1\nline2"));
	expect_append_refused(f, NULL, "reason");
	f = fields_for(3);
	json_object_set_new(f, "time", json_string("2026-02-30T00:00:00Z"));
	expect_append_refused(f, NULL, "time");
	f = fields_for(3);
	json_object_set_new(f, "time", json_string("2026-01-01T00:00:00+01:00"));
	expect_append_refused(f, NULL, "time");
	f = fields_for(3);
	json_object_set_new(f, "time", json_string("2026-01-01T00:00:00.Z"));
	expect_append_refused(f, NULL, "time");
	f = fields_for(3);
	json_object_set_new(f, "time", json_integer(0));
	expect_append_refused(f, NULL, "time");
	/* the previous entry needs seq and hash */
	expect_append_refused(fields_for(3), stub, "previous entry");
	json_decref(stub);
	expect_append_refused(json_array(), NULL, "object");
}

static void test_time_forms(void **state)
{
	json_t *e = NULL, *f;
	static const char *const good[] = { "2024-02-29T23:59:60Z", "1970-01-01T00:00:00.5Z",
		                            "2026-11-27T10:00:00.123456789Z" };
	static const char *const badt[] = { "2023-02-29T00:00:00Z",
		                            "2026-13-01T00:00:00Z",
		                            "2026-11-27 10:00:00Z",
		                            "2026-11-27T24:00:00Z",
		                            "2026-11-27T10:00:00.1234567890Z",
		                            "2026-11-27T10:00:00z",
		                            "2026-11-27T10:00:00" };

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		f = fields_for(3);
		json_object_set_new(f, "time", json_string(good[i]));
		assert_int_equal(coffer_audit_append(&e, NULL, f), 0);
		json_decref(e);
		json_decref(f);
	}
	for (size_t i = 0; i < sizeof(badt) / sizeof(badt[0]); i++) {
		f = fields_for(3);
		json_object_set_new(f, "time", json_string(badt[i]));
		expect_append_refused(f, NULL, "time");
	}
}

/* ---- verify ---- */

static void test_verify_ok(void **state)
{
	coffer_audit_report r;
	json_t *doc = build_export(N_ENTRIES, CP_EVERY);

	(void)state;
	expect_ok(doc, &r);
	assert_int_equal(r.entries, N_ENTRIES);
	assert_int_equal(r.full, N_ENTRIES);
	assert_int_equal(r.stubs, 0);
	assert_int_equal(r.checkpoints, N_ENTRIES / CP_EVERY);
	assert_int_equal(r.first_seq, 1);
	assert_int_equal(r.last_seq, N_ENTRIES);
	assert_int_equal(r.anchored_seq, N_ENTRIES);
	assert_false(r.unanchored_tail);
	assert_string_equal(r.head,
	                    json_string_value(json_object_get(entry(doc, N_ENTRIES), "hash")));
	json_decref(doc);

	/* three entries after the last checkpoint: verified, not anchored */
	doc = build_export(N_ENTRIES + 3, CP_EVERY);
	expect_ok(doc, &r);
	assert_int_equal(r.anchored_seq, N_ENTRIES);
	assert_true(r.unanchored_tail);
	json_decref(doc);

	/* an empty log verifies, anchoring nothing */
	doc = build_export(0, CP_EVERY);
	expect_ok(doc, &r);
	assert_int_equal(r.entries, 0);
	assert_int_equal(r.anchored_seq, 0);
	assert_false(r.unanchored_tail);
	json_decref(doc);
}

static void test_verify_without_keys(void **state)
{
	coffer_audit_report r;
	json_t *doc = build_export(20, CP_EVERY);

	(void)state;
	assert_int_equal(coffer_audit_verify(&r, doc, NULL, 0, NULL), 0);
	assert_int_equal(r.unchecked, 2);
	assert_int_equal(r.checkpoints, 0);
	assert_int_equal(r.anchored_seq, 0);
	assert_true(r.unanchored_tail);
	/* the chain itself is still checked */
	json_object_set_new(entry(doc, 7), "reason", json_string("edited"));
	assert_int_equal(coffer_audit_verify(&r, doc, NULL, 0, NULL), COFFER_EVERIFY);
	assert_int_equal(r.bad_seq, 7);
	json_decref(doc);
}

static void test_tamper_edit(void **state)
{
	json_t *doc = build_export(N_ENTRIES, CP_EVERY);

	(void)state;
	/* edit a field of entry 17 */
	json_object_set_new(entry(doc, 17), "outcome", json_string("denied"));
	expect_tampered(doc, 17, "edited");
	json_decref(doc);

	/* edit a nested claim of a release */
	doc = build_export(N_ENTRIES, CP_EVERY);
	json_object_set_new(json_object_get(entry(doc, 22), "actor"), "measurement",
	                    json_string("ffff"));
	expect_tampered(doc, 22, "edited");
	json_decref(doc);

	/* remove a member */
	doc = build_export(N_ENTRIES, CP_EVERY);
	json_object_del(entry(doc, 5), "reason");
	expect_tampered(doc, 5, "edited");
	json_decref(doc);

	/* edit entry 17 and recompute its own hash: entry 18 no longer links */
	doc = build_export(N_ENTRIES, CP_EVERY);
	{
		char h[COFFER_AUDIT_HEX_LEN + 1];
		json_object_set_new(entry(doc, 17), "outcome", json_string("denied"));
		assert_int_equal(coffer_audit_entry_hash(h, entry(doc, 17)), 0);
		json_object_set_new(entry(doc, 17), "hash", json_string(h));
	}
	expect_tampered(doc, 18, "not the hash of entry 17");
	json_decref(doc);

	/* edit entry 17 and rewrite the whole rest of the chain: the checkpoint
	 * at 20 signed the old hash */
	doc = build_export(N_ENTRIES, CP_EVERY);
	json_object_set_new(entry(doc, 17), "outcome", json_string("denied"));
	rehash_from(doc, 16);
	expect_tampered(doc, 20, "rewritten");
	json_decref(doc);

	/* a corrupted hash member */
	doc = build_export(N_ENTRIES, CP_EVERY);
	json_object_set_new(entry(doc, 9), "hash", json_string("xyz"));
	expect_tampered(doc, 9, "hex");
	json_decref(doc);

	/* the first entry's prev must be zeros */
	doc = build_export(N_ENTRIES, CP_EVERY);
	json_object_set_new(entry(doc, 1), "prev",
	                    json_string("1000000000000000000000000000000000000000000000000000000"
	                                "000000000"));
	expect_tampered(doc, 1, "first entry");
	json_decref(doc);
}

static void test_tamper_drop(void **state)
{
	json_t *doc = build_export(N_ENTRIES, CP_EVERY);

	(void)state;
	assert_int_equal(json_array_remove(entries_of(doc), 23 - 1), 0);
	expect_tampered(doc, 23, "missing");
	json_decref(doc);

	/* drop 23 and renumber the rest: 24 (now "23") does not link */
	doc = build_export(N_ENTRIES, CP_EVERY);
	assert_int_equal(json_array_remove(entries_of(doc), 23 - 1), 0);
	for (size_t k = 23; k < N_ENTRIES; k++)
		json_object_set_new(entry(doc, k), "seq", json_integer((json_int_t)k));
	expect_tampered(doc, 23, NULL);
	json_decref(doc);

	/* drop the head */
	doc = build_export(N_ENTRIES, CP_EVERY);
	assert_int_equal(json_array_remove(entries_of(doc), 0), 0);
	expect_tampered(doc, 1, "dropped");
	json_decref(doc);
}

/* The export without its first n entries (a range export). */
static json_t *drop_first(json_t *doc, int n)
{
	json_t *es = entries_of(doc);

	for (int i = 0; i < n; i++)
		assert_int_equal(json_array_remove(es, 0), 0);
	return es;
}

/* A range from seq 11 verifies, anchored by the checkpoint at 10. */
static void expect_anchored_from_11(json_t *doc, const coffer_audit_verify_opts *o)
{
	coffer_audit_report r;

	assert_int_equal(coffer_audit_verify(&r, doc, &g_pub, 1, o), 0);
	assert_true(r.head_anchored);
	assert_int_equal(r.first_seq, 11);
	assert_int_equal(r.checkpoints, 5);
}

static void test_partial_head(void **state)
{
	coffer_audit_verify_opts o = COFFER_AUDIT_VERIFY_OPTS_INIT;
	coffer_audit_report r;
	json_t *doc = build_export(N_ENTRIES, CP_EVERY), *es;

	(void)state;
	drop_first(doc, 12);
	/* the checkpoint at 10 now precedes the export */
	o.allow_partial_head = true;
	assert_int_equal(coffer_audit_verify(&r, doc, &g_pub, 1, &o), COFFER_EVERIFY);
	assert_int_equal(r.bad_seq, 10);
	assert_non_null(strstr(coffer_error_last(), "before the export starts"));
	assert_int_equal(json_array_remove(json_object_get(doc, "checkpoints"), 0), 0);
	assert_int_equal(coffer_audit_verify(&r, doc, &g_pub, 1, &o), 0);
	assert_int_equal(r.first_seq, 13);
	assert_int_equal(r.anchored_seq, N_ENTRIES);
	/* still checked after the head */
	json_object_set_new(entry(doc, 3), "reason", json_string("x")); /* seq 15 */
	assert_int_equal(coffer_audit_verify(&r, doc, &g_pub, 1, &o), COFFER_EVERIFY);
	assert_int_equal(r.bad_seq, 15);
	assert_false(r.head_anchored);
	json_decref(doc);

	/* a range export from seq 11 continues what the checkpoint at 10 signed */
	doc = build_export(N_ENTRIES, CP_EVERY);
	es = drop_first(doc, 10);
	expect_anchored_from_11(doc, &o);
	/* a first entry whose prev was replaced and the rest relinked */
	json_object_set_new(json_array_get(es, 0), "prev",
	                    json_string("ab000000000000000000000000000000000000000000000000000000"
	                                "00000000"));
	rehash_from(doc, 0);
	assert_int_equal(coffer_audit_verify(&r, doc, &g_pub, 1, &o), COFFER_EVERIFY);
	assert_int_equal(r.bad_seq, 11);
	assert_non_null(strstr(coffer_error_last(), "does not continue"));
	json_decref(doc);

	/* a stub first (a scoped reader's range export): the checkpoint before
	 * it anchors it through the stub's digest */
	{
		coffer_audit_scope none = COFFER_AUDIT_SCOPE_INIT;
		json_t *full = build_export(N_ENTRIES, CP_EVERY);
		assert_int_equal(coffer_audit_filter(&doc, full, &none), 0);
		json_decref(full);
	}
	es = drop_first(doc, 10);
	expect_anchored_from_11(doc, &o);
	/* the first stub's digest swapped (its hash kept, so the link to seq 12
	 * holds): it no longer follows from what the checkpoint at 10 signed */
	json_object_set_new(json_array_get(es, 0), "digest",
	                    json_string("cd000000000000000000000000000000000000000000000000000000"
	                                "00000000"));
	assert_int_equal(coffer_audit_verify(&r, doc, &g_pub, 1, &o), COFFER_EVERIFY);
	assert_int_equal(r.bad_seq, 11);
	assert_non_null(strstr(coffer_error_last(), "does not continue"));
	assert_false(r.head_anchored);
	/* and without that checkpoint the range verifies, unanchored */
	assert_int_equal(json_array_remove(json_object_get(doc, "checkpoints"), 0), 0);
	assert_int_equal(coffer_audit_verify(&r, doc, &g_pub, 1, &o), 0);
	assert_false(r.head_anchored);
	json_decref(doc);
}

static void test_tamper_reorder(void **state)
{
	json_t *doc = build_export(N_ENTRIES, CP_EVERY), *es, *a;

	(void)state;
	/* swap 31 and 32 */
	es = entries_of(doc);
	a = json_incref(json_array_get(es, 30));
	json_array_set(es, 30, json_array_get(es, 31));
	json_array_set_new(es, 31, a);
	expect_tampered(doc, 31, "reordered");
	json_decref(doc);

	/* swap and renumber: the content no longer matches its hash */
	doc = build_export(N_ENTRIES, CP_EVERY);
	es = entries_of(doc);
	a = json_incref(json_array_get(es, 30));
	json_array_set(es, 30, json_array_get(es, 31));
	json_array_set_new(es, 31, a);
	json_object_set_new(json_array_get(es, 30), "seq", json_integer(31));
	json_object_set_new(json_array_get(es, 31), "seq", json_integer(32));
	expect_tampered(doc, 31, NULL);
	json_decref(doc);

	/* swap, renumber and relink everything after: caught by checkpoint 40 */
	doc = build_export(N_ENTRIES, CP_EVERY);
	es = entries_of(doc);
	a = json_incref(json_array_get(es, 30));
	json_array_set(es, 30, json_array_get(es, 31));
	json_array_set_new(es, 31, a);
	json_object_set_new(json_array_get(es, 30), "seq", json_integer(31));
	json_object_set_new(json_array_get(es, 31), "seq", json_integer(32));
	rehash_from(doc, 30);
	expect_tampered(doc, 40, "rewritten");
	json_decref(doc);
}

static void test_tamper_insert(void **state)
{
	json_t *doc = build_export(N_ENTRIES, CP_EVERY), *forged = NULL, *f;

	(void)state;
	/* a well-formed entry 26 appended after the real 25 and put before the
	 * real 26 */
	f = fields_for(26);
	json_object_set_new(f, "reason", json_string("forged"));
	assert_int_equal(coffer_audit_append(&forged, entry(doc, 25), f), 0);
	assert_int_equal(json_array_insert_new(entries_of(doc), 25, forged), 0);
	expect_tampered(doc, 27, "inserted");
	json_decref(doc);
	/* and with everything after renumbered and relinked: checkpoint 30 */
	doc = build_export(N_ENTRIES, CP_EVERY);
	assert_int_equal(coffer_audit_append(&forged, entry(doc, 25), f), 0);
	assert_int_equal(json_array_insert_new(entries_of(doc), 25, forged), 0);
	for (size_t k = 27; k <= N_ENTRIES + 1; k++)
		json_object_set_new(entry(doc, k), "seq", json_integer((json_int_t)k));
	rehash_from(doc, 26);
	expect_tampered(doc, 30, "rewritten");
	json_decref(doc);
	/* a duplicate of an existing entry */
	doc = build_export(N_ENTRIES, CP_EVERY);
	assert_int_equal(json_array_insert_new(entries_of(doc), 10, json_deep_copy(entry(doc, 10))),
	                 0);
	expect_tampered(doc, 11, "duplicated");
	json_decref(f);
	json_decref(doc);
}

static void test_tamper_checkpoint(void **state)
{
	json_t *doc = build_export(N_ENTRIES, CP_EVERY), *cps;
	coffer_audit_report r;
	char *jws = NULL;

	(void)state;
	/* a checkpoint signed by another key */
	cps = json_object_get(doc, "checkpoints");
	add_checkpoint(cps, entry(doc, 45), g_other);
	assert_int_equal(coffer_audit_verify(&r, doc, &g_pub, 1, NULL), COFFER_EVERIFY);
	assert_non_null(strstr(coffer_error_last(), "checkpoint #5 is forged"));
	/* named by the seq it claims */
	assert_int_equal(r.bad_seq, 45);
	assert_non_null(strstr(coffer_error_last(), "seq 45"));
	json_decref(doc);

	/* the right key over the wrong hash */
	doc = build_export(N_ENTRIES, CP_EVERY);
	assert_int_equal(coffer_audit_checkpoint_sign(
	                         &jws, g_key, 33,
	                         json_string_value(json_object_get(entry(doc, 32), "hash")), NULL),
	                 0);
	json_array_append_new(json_object_get(doc, "checkpoints"), json_string(jws));
	free(jws);
	expect_tampered(doc, 33, "rewritten");
	json_decref(doc);

	/* a flipped signature byte */
	doc = build_export(N_ENTRIES, CP_EVERY);
	{
		json_t *c = json_array_get(json_object_get(doc, "checkpoints"), 2);
		char *s = strdup(json_string_value(c));
		size_t n = strlen(s);
		s[n - 5] = s[n - 5] == 'A' ? 'B' : 'A';
		json_string_set(c, s);
		free(s);
	}
	assert_int_equal(coffer_audit_verify(&r, doc, &g_pub, 1, NULL), COFFER_EVERIFY);
	assert_non_null(strstr(coffer_error_last(), "checkpoint #2"));
	json_decref(doc);

	/* a checkpoint that is not a JWS is malformed input */
	doc = build_export(N_ENTRIES, CP_EVERY);
	json_array_append_new(json_object_get(doc, "checkpoints"), json_string("not-a-jws"));
	assert_int_equal(coffer_audit_verify(&r, doc, &g_pub, 1, NULL), COFFER_EINVAL);
	json_array_set_new(json_object_get(doc, "checkpoints"), 5, json_integer(1));
	assert_int_equal(coffer_audit_verify(&r, doc, &g_pub, 1, NULL), COFFER_EINVAL);
	json_decref(doc);
}

static void test_tamper_truncate(void **state)
{
	coffer_audit_verify_opts o = COFFER_AUDIT_VERIFY_OPTS_INIT;
	coffer_audit_report r;
	json_t *doc = build_export(N_ENTRIES, CP_EVERY), *es, *cps;
	const char *kept;

	(void)state;
	es = entries_of(doc);
	for (int i = 0; i < 5; i++)
		json_array_remove(es, json_array_size(es) - 1);
	expect_tampered(doc, 46, "truncated");

	/* with the last checkpoint removed too, the export is a consistent
	 * prefix: it verifies, anchored up to 40 with an unanchored tail... */
	cps = json_object_get(doc, "checkpoints");
	kept = json_string_value(json_array_get(cps, 4));
	assert_non_null(kept);
	char *saved = strdup(kept);
	json_array_remove(cps, 4);
	expect_ok(doc, &r);
	assert_int_equal(r.anchored_seq, 40);
	assert_true(r.unanchored_tail);
	/* ...unless the reader kept a checkpoint from an earlier export */
	o.extra_checkpoints = (const char *const *)&saved;
	o.nextra_checkpoints = 1;
	assert_int_equal(coffer_audit_verify(&r, doc, &g_pub, 1, &o), COFFER_EVERIFY);
	assert_int_equal(r.bad_seq, 46);
	assert_non_null(strstr(coffer_error_last(), "earlier checkpoint #0"));
	free(saved);

	/* everything cut: the checkpoints alone claim seqs */
	json_array_clear(es);
	expect_tampered(doc, 1, "truncated");
	json_decref(doc);
}

/* ---- scoped exports ---- */

static void test_filter(void **state)
{
	const char *mine[] = { "alpha" };
	coffer_audit_scope sc = COFFER_AUDIT_SCOPE_INIT;
	coffer_audit_report r, rf;
	json_t *doc = build_export(N_ENTRIES + 4, CP_EVERY), *view = NULL, *again = NULL, *e;
	size_t i, full = 0;

	(void)state;
	sc.namespaces = mine;
	sc.nnamespaces = 1;
	assert_int_equal(coffer_audit_filter(&view, doc, &sc), 0);
	json_array_foreach(entries_of(view), i, e)
	{
		const char *ns = json_string_value(json_object_get(entry(doc, i + 1), "namespace"));
		if (ns != NULL && strcmp(ns, "alpha") == 0) {
			assert_true(json_equal(e, entry(doc, i + 1)));
			full++;
		} else {
			/* a stub carries no metadata */
			assert_int_equal(json_object_size(e), 3);
			assert_non_null(json_object_get(e, "digest"));
			assert_null(json_object_get(e, "actor"));
			assert_null(json_object_get(e, "namespace"));
			assert_string_equal(
			        json_string_value(json_object_get(e, "hash")),
			        json_string_value(json_object_get(entry(doc, i + 1), "hash")));
		}
	}
	assert_int_equal(full, (N_ENTRIES + 4) / 3);
	expect_ok(doc, &r);
	expect_ok(view, &rf);
	assert_int_equal(rf.full, full);
	assert_int_equal(rf.stubs, N_ENTRIES + 4 - full);
	assert_int_equal(rf.anchored_seq, r.anchored_seq);
	assert_true(rf.unanchored_tail);
	assert_string_equal(rf.head, r.head);
	assert_string_equal(
	        json_string_value(json_array_get(
	                json_object_get(json_object_get(view, "scope"), "namespaces"), 0)),
	        "alpha");

	/* filtering a view again changes nothing in the entries */
	assert_int_equal(coffer_audit_filter(&again, view, &sc), 0);
	assert_true(json_equal(entries_of(again), entries_of(view)));
	json_decref(again);

	/* tampering with a stub */
	e = entry(view, 2); /* beta: a stub */
	assert_true(json_object_size(e) == 3);
	json_object_set_new(e, "hash",
	                    json_string("00000000000000000000000000000000000000000000"
	                                "00000000000000000000"));
	expect_tampered(view, 2, "stub");
	json_decref(view);

	assert_int_equal(coffer_audit_filter(&view, doc, &sc), 0);
	{
		char d[COFFER_AUDIT_HEX_LEN + 1];
		snprintf(d, sizeof(d), "%s",
		         json_string_value(json_object_get(entry(view, 4), "digest")));
		d[0] = d[0] == 'a' ? 'b' : 'a';
		json_object_set_new(entry(view, 4), "digest", json_string(d));
	}
	expect_tampered(view, 4, "stub");
	json_decref(view);

	/* a full entry after a stub still links through the stub */
	assert_int_equal(coffer_audit_filter(&view, doc, &sc), 0);
	json_object_set_new(entry(view, 6), "reason", json_string("hidden edit")); /* alpha */
	expect_tampered(view, 6, "edited");
	json_decref(view);

	/* a stub with extra members */
	assert_int_equal(coffer_audit_filter(&view, doc, &sc), 0);
	json_object_set_new(entry(view, 4), "actor", json_string("p-x"));
	expect_tampered(view, 4, "exactly");
	json_decref(view);

	/* the workload provider sees everything */
	sc.all = true;
	assert_int_equal(coffer_audit_filter(&view, doc, &sc), 0);
	assert_true(json_equal(entries_of(view), entries_of(doc)));
	json_decref(view);

	/* nothing in scope: all stubs, still verifies and anchors */
	sc.all = false;
	sc.nnamespaces = 0;
	assert_int_equal(coffer_audit_filter(&view, doc, &sc), 0);
	expect_ok(view, &rf);
	assert_int_equal(rf.full, 0);
	assert_int_equal(rf.anchored_seq, N_ENTRIES);
	json_decref(view);

	sc.version = 99;
	assert_int_equal(coffer_audit_filter(&view, doc, &sc), COFFER_EINVAL);
	json_decref(doc);
}

static void test_in_scope(void **state)
{
	const char *mine[] = { "beta", "alpha" };
	coffer_audit_scope sc = COFFER_AUDIT_SCOPE_INIT;
	json_t *doc = build_export(3, 0), *stub = NULL;

	(void)state;
	sc.namespaces = mine;
	sc.nnamespaces = 2;
	assert_true(coffer_audit_in_scope(entry(doc, 1), &sc));  /* beta */
	assert_false(coffer_audit_in_scope(entry(doc, 2), &sc)); /* null namespace */
	assert_true(coffer_audit_in_scope(entry(doc, 3), &sc));  /* alpha */
	sc.nnamespaces = 1;
	assert_false(coffer_audit_in_scope(entry(doc, 3), &sc));
	assert_int_equal(coffer_audit_stub(&stub, entry(doc, 1)), 0);
	assert_false(coffer_audit_in_scope(stub, &sc));
	json_decref(stub);
	json_decref(doc);
}

/* ---- the export document ---- */

static void test_export_parse(void **state)
{
	json_t *doc = build_export(12, CP_EVERY), *back = NULL;
	coffer_audit_report r;
	char *text = NULL;
	size_t len = 0;
	static const char *const bad[] = {
		"",
		"[]",
		"{\"version\":1,\"entries\":[]}",
		"{\"version\":\"1\",\"entries\":[],\"checkpoints\":[]}",
		"{\"version\":1,\"entries\":{},\"checkpoints\":[]}",
		"{\"version\":1,\"version\":1,\"entries\":[],\"checkpoints\":[]}",
		"{\"version\":1,\"entries\":[],\"checkpoints\":[]} x",
	};

	(void)state;
	assert_int_equal(coffer_json_dump(&text, &len, doc), 0);
	assert_int_equal(coffer_audit_export_parse(&back, text, len), 0);
	expect_ok(back, &r);
	assert_int_equal(r.entries, 12);
	assert_int_equal(r.anchored_seq, 10);
	json_decref(back);
	free(text);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		back = NULL;
		assert_int_equal(coffer_audit_export_parse(&back, bad[i], strlen(bad[i])),
		                 COFFER_EINVAL);
		assert_null(back);
	}
	{
		const char *v2 = "{\"version\":2,\"entries\":[],\"checkpoints\":[]}";
		assert_int_equal(coffer_audit_export_parse(&back, v2, strlen(v2)),
		                 COFFER_EUNSUPPORTED);
	}
	/* verify checks the shape too */
	json_object_set_new(doc, "version", json_integer(2));
	assert_int_equal(coffer_audit_verify(&r, doc, &g_pub, 1, NULL), COFFER_EUNSUPPORTED);
	json_object_set_new(doc, "version", json_integer(1));
	json_array_append_new(entries_of(doc), json_string("not an entry"));
	expect_tampered(doc, 13, "seq");
	json_decref(doc);
}

/* A chain that is intact and signed but holds an entry the content rules
 * refuse is malformed (EINVAL), not tampered. */
static void test_content_rules_in_verify(void **state)
{
	json_t *doc = build_export(15, 0), *cps = json_array();
	coffer_audit_report r;

	(void)state;
	json_object_set_new(entry(doc, 8), "kind", json_string("system"));
	rehash_from(doc, 7);
	add_checkpoint(cps, entry(doc, 15), g_key);
	json_object_set_new(doc, "checkpoints", cps);
	assert_int_equal(coffer_audit_verify(&r, doc, &g_pub, 1, NULL), COFFER_EINVAL);
	assert_int_equal(r.bad_seq, 8);
	assert_non_null(strstr(coffer_error_last(), "seq 8"));
	assert_non_null(strstr(coffer_error_last(), "kind"));
	json_decref(doc);

	doc = build_export(3, 0);
	json_object_set_new(entry(doc, 2), "salt", json_string("ABCD"));
	rehash_from(doc, 1);
	assert_int_equal(coffer_audit_verify(&r, doc, &g_pub, 1, NULL), COFFER_EINVAL);
	assert_non_null(strstr(coffer_error_last(), "salt"));
	json_decref(doc);
}

/* ---- checkpoints ---- */

static void test_checkpoint_sign_verify(void **state)
{
	const char *h = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	char *jws = NULL, out[COFFER_AUDIT_HEX_LEN + 1];
	coffer_jwk *ed = NULL, *p384 = NULL, *edpub = NULL;
	json_t *payload;
	char *canon = NULL;
	size_t len = 0;
	int64_t seq = 0;

	(void)state;
	assert_int_equal(coffer_audit_checkpoint_sign(&jws, g_key, 7, h, "2026-11-27T11:00:00Z"),
	                 0);
	assert_int_equal(coffer_audit_checkpoint_verify(&seq, out, jws, strlen(jws), &g_pub, 1), 0);
	assert_int_equal(seq, 7);
	assert_string_equal(out, h);
	/* another key */
	assert_int_equal(coffer_audit_checkpoint_verify(&seq, out, jws, strlen(jws), &g_other, 1),
	                 COFFER_EVERIFY);
	/* no key */
	assert_int_equal(coffer_audit_checkpoint_verify(&seq, out, jws, strlen(jws), NULL, 0),
	                 COFFER_EVERIFY);
	free(jws);

	/* refusals when signing */
	assert_int_equal(coffer_audit_checkpoint_sign(&jws, g_pub, 7, h, NULL), COFFER_EINVAL);
	assert_int_equal(coffer_audit_checkpoint_sign(&jws, g_key, 0, h, NULL), COFFER_EINVAL);
	assert_int_equal(coffer_audit_checkpoint_sign(&jws, g_key, 7, "00", NULL), COFFER_EINVAL);
	assert_int_equal(coffer_audit_checkpoint_sign(
	                         &jws, g_key, 7,
	                         "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff",
	                         NULL),
	                 COFFER_EINVAL);
	assert_int_equal(coffer_audit_checkpoint_sign(&jws, g_key, 7, h, "yesterday"),
	                 COFFER_EINVAL);
	assert_int_equal(coffer_jwk_generate(&p384, "EC", "P-384", 0), 0);
	assert_int_equal(coffer_audit_checkpoint_sign(&jws, p384, 7, h, NULL), COFFER_EINVAL);
	assert_null(jws);

	/* a JWS by the right key whose payload is not a checkpoint */
	payload = json_pack("{s:I,s:s,s:s,s:s}", "seq", (json_int_t)7, "hash", h, "time",
	                    "2026-11-27T11:00:00Z", "type", "something-else");
	assert_int_equal(coffer_jcs_serialize(&canon, &len, payload), 0);
	assert_int_equal(coffer_jws_sign(&jws, g_key, "ES256", NULL, (uint8_t *)canon, len), 0);
	assert_int_equal(coffer_audit_checkpoint_verify(&seq, out, jws, strlen(jws), &g_pub, 1),
	                 COFFER_EVERIFY);
	assert_non_null(strstr(coffer_error_last(), "type"));
	free(jws);
	free(canon);
	json_object_set_new(payload, "type", json_string(COFFER_AUDIT_CHECKPOINT_TYPE));
	json_object_set_new(payload, "extra", json_true());
	assert_int_equal(coffer_jcs_serialize(&canon, &len, payload), 0);
	assert_int_equal(coffer_jws_sign(&jws, g_key, "ES256", NULL, (uint8_t *)canon, len), 0);
	assert_int_equal(coffer_audit_checkpoint_verify(&seq, out, jws, strlen(jws), &g_pub, 1),
	                 COFFER_EVERIFY);
	free(jws);
	free(canon);
	json_object_del(payload, "extra");
	json_object_set_new(payload, "seq", json_integer(0));
	assert_int_equal(coffer_jcs_serialize(&canon, &len, payload), 0);
	assert_int_equal(coffer_jws_sign(&jws, g_key, "ES256", NULL, (uint8_t *)canon, len), 0);
	assert_int_equal(coffer_audit_checkpoint_verify(&seq, out, jws, strlen(jws), &g_pub, 1),
	                 COFFER_EVERIFY);
	free(jws);
	free(canon);
	json_object_set_new(payload, "seq", json_integer(7));
	assert_int_equal(coffer_jws_sign(&jws, g_key, "ES256", NULL, (const uint8_t *)"[1]", 3), 0);
	assert_int_equal(coffer_audit_checkpoint_verify(&seq, out, jws, strlen(jws), &g_pub, 1),
	                 COFFER_EVERIFY);
	free(jws);

	/* a checkpoint signed with EdDSA by a key the reader trusts: not ES256 */
	assert_int_equal(coffer_jwk_generate(&ed, "OKP", "Ed25519", 0), 0);
	assert_int_equal(coffer_jwk_public(&edpub, ed), 0);
	assert_int_equal(coffer_jcs_serialize(&canon, &len, payload), 0);
	assert_int_equal(coffer_jws_sign(&jws, ed, "EdDSA", NULL, (uint8_t *)canon, len), 0);
	assert_int_equal(coffer_audit_checkpoint_verify(&seq, out, jws, strlen(jws), &edpub, 1),
	                 COFFER_EVERIFY);
	assert_non_null(strstr(coffer_error_last(), "ES256"));
	free(jws);
	free(canon);

	/* "alg":"none" */
	{
		const char *none = "eyJhbGciOiJub25lIn0.eyJzZXEiOjF9.";
		assert_int_equal(
		        coffer_audit_checkpoint_verify(&seq, out, none, strlen(none), &g_pub, 1),
		        COFFER_EVERIFY);
	}
	/* a kid in the header when the key has one */
	assert_int_equal(coffer_jwk_set_kid(g_key, "broker-1"), 0);
	assert_int_equal(coffer_audit_checkpoint_sign(&jws, g_key, 7, h, NULL), 0);
	assert_non_null(jws);
	assert_int_equal(coffer_jwk_set_kid(g_key, NULL), 0);
	{
		coffer_jws *j = NULL;
		assert_int_equal(coffer_jws_verify(&j, jws, strlen(jws), &g_pub, 1), 0);
		assert_string_equal(json_string_value(json_object_get(j->header, "kid")),
		                    "broker-1");
		coffer_jws_free(j);
	}
	free(jws);
	json_decref(payload);
	coffer_jwk_free(ed);
	coffer_jwk_free(edpub);
	coffer_jwk_free(p384);
}

static void test_limits(void **state)
{
	json_t *f = fields_for(3), *e = NULL, *prev;
	char big[COFFER_AUDIT_MAX_ENTRY_SIZE];

	(void)state;
	/* seq space */
	prev = json_pack("{s:I,s:s}", "seq", (json_int_t)COFFER_AUDIT_MAX_SEQ, "hash",
	                 "0000000000000000000000000000000000000000000000000000000000000000");
	assert_int_equal(coffer_audit_append(&e, prev, f), COFFER_ELIMIT);
	json_decref(prev);
	/* a field beyond its bound */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	json_object_set_new(f, "resource", json_string(big));
	assert_int_equal(coffer_audit_append(&e, NULL, f), COFFER_EINVAL);
	json_decref(f);
	/* fields within their bounds that add up to more than an entry may hold */
	f = fields_for(1);
	{
		json_t *ids = json_array();
		big[255] = '\0';
		for (int i = 0; i < 64; i++)
			json_array_append_new(ids, json_string(big));
		json_object_set_new(json_object_get(f, "actor"), "policy_ids", ids);
	}
	assert_int_equal(coffer_audit_append(&e, NULL, f), COFFER_ELIMIT);
	assert_null(e);
	json_decref(f);
	/* an oversized entry in an export is refused by bound, naming its seq */
	{
		json_t *doc = build_export(3, 0);
		coffer_audit_report r;
		json_object_set_new(entry(doc, 2), "padding", json_string(big)); /* 255 bytes */
		for (int i = 0; i < 70; i++) {
			char name[16];
			snprintf(name, sizeof(name), "pad%d", i);
			json_object_set_new(entry(doc, 2), name, json_string(big));
		}
		assert_int_equal(coffer_audit_verify(&r, doc, &g_pub, 1, NULL), COFFER_ELIMIT);
		assert_int_equal(r.bad_seq, 2);
		assert_non_null(strstr(coffer_error_last(), "seq 2"));
		json_decref(doc);
	}
	assert_int_equal(coffer_audit_export_parse(&e, "{}", COFFER_AUDIT_MAX_EXPORT + 1),
	                 COFFER_ELIMIT);
}

/* Argument and shape refusals of the smaller functions. */
static void test_api_refusals(void **state)
{
	coffer_audit_verify_opts o = COFFER_AUDIT_VERIFY_OPTS_INIT;
	coffer_audit_scope sc = COFFER_AUDIT_SCOPE_INIT;
	const char *names[] = { NULL };
	coffer_audit_report r;
	json_t *doc = build_export(3, 0), *out = NULL, *obj = json_object(), *arr = json_array();
	char h[COFFER_AUDIT_HEX_LEN + 1];
	uint8_t d[32];

	(void)state;
	assert_int_equal(coffer_audit_export_new(&out, obj, NULL), COFFER_EINVAL);
	assert_int_equal(coffer_audit_export_new(&out, arr, obj), COFFER_EINVAL);
	assert_null(out);
	assert_int_equal(coffer_audit_export_new(&out, arr, NULL), 0);
	assert_int_equal(json_array_size(json_object_get(out, "checkpoints")), 0);
	json_decref(out);
	assert_int_equal(coffer_audit_entry_digest(d, arr), COFFER_EINVAL);
	assert_int_equal(coffer_audit_entry_hash(h, obj), COFFER_EINVAL);
	assert_string_equal(h, "");
	assert_int_equal(coffer_audit_stub(&out, obj), COFFER_EINVAL);
	json_object_set_new(obj, "seq", json_integer(1));
	json_object_set_new(obj, "digest", json_string("zz"));
	json_object_set_new(obj, "hash", json_string(ZERO_HEX));
	assert_int_equal(coffer_audit_stub(&out, obj), COFFER_EINVAL);
	assert_null(out);
	/* verify: options, keys */
	o.version = 0;
	assert_int_equal(coffer_audit_verify(&r, doc, &g_pub, 1, &o), COFFER_EINVAL);
	o.version = COFFER_AUDIT_VERIFY_OPTS_VERSION;
	o.nextra_checkpoints = 1;
	assert_int_equal(coffer_audit_verify(&r, doc, &g_pub, 1, &o), COFFER_EINVAL);
	assert_int_equal(coffer_audit_verify(&r, doc, NULL, 1, NULL), COFFER_EINVAL);
	assert_int_equal(coffer_audit_verify(&r, arr, &g_pub, 1, NULL), COFFER_EINVAL);
	/* filter: scope and input */
	assert_int_equal(coffer_audit_filter(&out, doc, NULL), COFFER_EINVAL);
	sc.nnamespaces = 1;
	assert_int_equal(coffer_audit_filter(&out, doc, &sc), COFFER_EINVAL);
	sc.namespaces = names; /* a NULL name */
	assert_int_equal(coffer_audit_filter(&out, doc, &sc), COFFER_EINVAL);
	assert_null(out);
	sc.nnamespaces = 0;
	assert_int_equal(coffer_audit_filter(&out, arr, &sc), COFFER_EINVAL);
	json_array_append_new(entries_of(doc), json_integer(4));
	assert_int_equal(coffer_audit_filter(&out, doc, &sc), COFFER_EINVAL);
	assert_null(out);
	json_decref(doc);
	json_decref(obj);
	json_decref(arr);
}

/* ---- the digest against its definition, and coffer_audit_append_ext ---- */

/* SHA-256 of coffer_jcs_serialize of `v` without its top-level "hash": the
 * definition, the way test_hash_definition spells it. */
static int reference_digest(uint8_t out[32], const json_t *v)
{
	json_t *c = json_copy((json_t *)v);
	char *canon = NULL;
	size_t len = 0;
	unsigned int n = 0;
	int error;

	assert_non_null(c);
	json_object_del(c, "hash");
	error = coffer_jcs_serialize(&canon, &len, c);
	if (error == 0 && len > COFFER_AUDIT_MAX_ENTRY_SIZE)
		error = COFFER_ELIMIT;
	if (error == 0)
		assert_int_equal(EVP_Digest(canon, len, out, &n, EVP_sha256(), NULL), 1);
	free(canon);
	json_decref(c);
	return error;
}

static void expect_same_digest(const json_t *v, const char *what)
{
	uint8_t got[32], want[32];
	int e1 = coffer_audit_entry_digest(got, v), e2 = reference_digest(want, v);

	if (e1 != e2)
		fail_msg("%s: digest returned %d, the definition %d (%s)", what, e1, e2,
		         coffer_error_last());
	if (e1 == 0 && memcmp(got, want, 32) != 0)
		fail_msg("%s: the digest differs from SHA-256(JCS)", what);
}

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);

	if (v == NULL)
		fail_msg("bad test JSON %s: %s", text, jerr.text);
	return v;
}

/* The digest on the shapes entries take, its refusals and its size bound
 * (the one check the definition adds to JCS). */
static void test_digest_paths(void **state)
{
	static const char *const cases[] = {
		"{}",
		"{\"hash\":\"x\"}",
		"{\"b\":1,\"a\":2,\"ab\":3,\"B\":4,\"_\":5,\"~\":6,\"a b\":7,\"\":8}",
		"{\"s\":\"quote \\\" backslash \\\\ slash / del \\u007f\"}",
		"{\"k\\\"\\\\\":[\"\\\\\\\\\",\"\\\"\"]}",
		"{\"actor\":{\"hash\":\"kept\",\"tee\":\"snp\"},\"hash\":\"dropped\"}",
		"{\"n\":[0,-1,9007199254740992,-9007199254740992,true,false,null,[],{}]}",
		"{\"big\":9007199254740993}",
		"{\"neg\":-9007199254740993}",
		"{\"real\":1.5,\"e\":1e21,\"z\":-0.0}",
		"{\"utf8\":\"caf\\u00e9 \\u20ac\"}",
		"{\"\\ue000\":1,\"\\ud83d\\ude00\":2,\"z\":3}",
		"{\"ctl\":\"line\\nfeed\",\"nul\":\"a\\u0000b\",\"t\":\"\\t\\u0001\\u001f\"}",
		"[1,2]",
	};
	json_t *v, *inner;
	char *big;
	char name[16];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = parse(cases[i]);
		if (json_is_object(v))
			expect_same_digest(v, cases[i]);
		else
			assert_int_equal(coffer_audit_entry_digest((uint8_t[32]){ 0 }, v),
			                 COFFER_EINVAL);
		json_decref(v);
	}
	/* a member name with a NUL byte (the parser refuses those) */
	v = json_object();
	json_object_setn_new(v, "a\0b", 3, json_integer(1));
	json_object_set_new(v, "a", json_integer(2));
	expect_same_digest(v, "NUL in a name");
	json_decref(v);
	/* fields as callers pass them */
	v = fields_for(1);
	expect_same_digest(v, "fields");
	json_decref(v);
	/* many members */
	v = json_object();
	for (int i = 40; i > 0; i--) {
		snprintf(name, sizeof(name), "m%02d", i);
		json_object_set_new(v, name, json_integer(i));
	}
	expect_same_digest(v, "40 members");
	json_decref(v);
	/* nesting at and beyond the depth bound */
	for (int depth = 63; depth <= 66; depth++) {
		v = json_object();
		inner = v;
		for (int i = 1; i < depth; i++) {
			json_t *next = json_object();
			json_object_set_new(inner, "d", next);
			inner = next;
		}
		snprintf(name, sizeof(name), "depth %d", depth);
		expect_same_digest(v, name);
		json_decref(v);
	}
	/* the size bound exactly: {"s":"..."} is 8 bytes plus the string */
	big = malloc(COFFER_AUDIT_MAX_ENTRY_SIZE + 1);
	assert_non_null(big);
	memset(big, 'a', COFFER_AUDIT_MAX_ENTRY_SIZE);
	for (size_t n = COFFER_AUDIT_MAX_ENTRY_SIZE - 9; n <= COFFER_AUDIT_MAX_ENTRY_SIZE - 7;
	     n++) {
		uint8_t d[32];
		v = json_pack("{s:s%}", "s", big, n);
		expect_same_digest(v, "size bound");
		assert_int_equal(coffer_audit_entry_digest(d, v),
		                 n + 8 > COFFER_AUDIT_MAX_ENTRY_SIZE ? COFFER_ELIMIT : 0);
		json_decref(v);
	}
	free(big);
}

static void test_append_ext(void **state)
{
	coffer_audit_append_opts opts = COFFER_AUDIT_APPEND_OPTS_INIT;
	uint8_t salt[COFFER_AUDIT_SALT_SIZE];
	json_t *f = fields_for(1), *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL, *bad, *doc;
	json_t *f2 = fields_for(2), *f3 = fields_for(3), *none = NULL, *entries;
	char *t1, *t2, h[COFFER_AUDIT_HEX_LEN + 1];
	coffer_audit_report r;

	(void)state;
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)(0xa0 + i);
	opts.salt = salt;
	/* the same entry, copied or shared */
	assert_int_equal(coffer_audit_append_ext(&e1, NULL, f, &opts), 0);
	opts.share_fields = true;
	assert_int_equal(coffer_audit_append_ext(&e2, NULL, f, &opts), 0);
	assert_string_equal(json_string_value(json_object_get(e1, "salt")),
	                    "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
	t1 = json_dumps(e1, JSON_COMPACT | JSON_PRESERVE_ORDER);
	t2 = json_dumps(e2, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_non_null(t1);
	assert_non_null(t2);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	assert_ptr_not_equal(json_object_get(e1, "actor"), json_object_get(f, "actor"));
	assert_ptr_equal(json_object_get(e2, "actor"), json_object_get(f, "actor"));
	assert_int_equal(coffer_audit_entry_hash(h, e2), 0);
	assert_string_equal(h, json_string_value(json_object_get(e2, "hash")));
	/* a shared entry outlives the fields */
	json_decref(f);
	f = NULL;
	assert_string_equal(json_string_value(json_object_get(json_object_get(e2, "actor"), "tee")),
	                    "snp");
	/* without a salt one is drawn per entry */
	assert_int_equal(coffer_audit_append_ext(&e3, e2, f2, NULL), 0);
	opts.salt = NULL;
	assert_int_equal(coffer_audit_append_ext(&e4, e3, f3, &opts), 0);
	json_decref(f2);
	json_decref(f3);
	assert_string_not_equal(json_string_value(json_object_get(e3, "salt")),
	                        json_string_value(json_object_get(e4, "salt")));
	/* a chain built this way verifies */
	entries = json_pack("[O,O,O]", e2, e3, e4);
	assert_int_equal(coffer_audit_export_new(&doc, entries, NULL), 0);
	expect_ok(doc, &r);
	assert_int_equal(r.full, 3);
	json_decref(doc);
	json_decref(entries);
	/* refusals: options version, bad fields (shared or not) */
	opts.version = 99;
	bad = fields_for(1);
	assert_int_equal(coffer_audit_append_ext(&none, NULL, bad, &opts), COFFER_EINVAL);
	assert_null(none);
	opts.version = COFFER_AUDIT_APPEND_OPTS_VERSION;
	opts.salt = salt;
	json_object_set_new(json_object_get(bad, "actor"), "token", json_string("secret"));
	assert_int_equal(coffer_audit_append_ext(&none, NULL, bad, &opts), COFFER_EINVAL);
	assert_null(none);
	assert_non_null(strstr(coffer_error_last(), "unknown member"));
	json_decref(bad);
	json_decref(e1);
	json_decref(e2);
	json_decref(e3);
	json_decref(e4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_links),
		cmocka_unit_test(test_hash_definition),
		cmocka_unit_test(test_append_refusals),
		cmocka_unit_test(test_time_forms),
		cmocka_unit_test(test_verify_ok),
		cmocka_unit_test(test_verify_without_keys),
		cmocka_unit_test(test_tamper_edit),
		cmocka_unit_test(test_tamper_drop),
		cmocka_unit_test(test_partial_head),
		cmocka_unit_test(test_tamper_reorder),
		cmocka_unit_test(test_tamper_insert),
		cmocka_unit_test(test_tamper_checkpoint),
		cmocka_unit_test(test_tamper_truncate),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_in_scope),
		cmocka_unit_test(test_export_parse),
		cmocka_unit_test(test_content_rules_in_verify),
		cmocka_unit_test(test_checkpoint_sign_verify),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_api_refusals),
		cmocka_unit_test(test_digest_paths),
		cmocka_unit_test(test_append_ext),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
