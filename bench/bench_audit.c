/*
 * Audit chain throughput (docs/audit.md): coffer_audit_append for a log of
 * N entries with an ES256 checkpoint every 1000, then parsing and verifying
 * the export text, full and as one principal's scoped view (a third of the
 * entries whole, the rest stubs). Median of a few rounds in one run. No
 * target: the figures size how often the broker can afford to be verified
 * and how large an export `coffer audit verify` handles in a second.
 *
 * The last section times cofferd's audit writer thread (src/cofferd/audit.c,
 * commit_batch): per entry of a batch of 8 release records shaped like
 * rcar.c release_fields() builds them, the chain append, the json_dumps the
 * store does for each record and the frees, in thread CPU time with jansson
 * wiping freed blocks as the daemon does. The SQLite transaction, its sync and
 * the checkpoint are not in it. `bench_audit writer` runs that section alone.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "coffer/audit.h"
#include "coffer/jose.h"
#include "coffer/json.h"
#include "bench_util.h"

#define N_ENTRIES 20000
#define CP_EVERY  1000
#define ROUNDS    5

#define W_BATCH   8   /* releases per writer batch, as measured on bench_kbs */
#define W_BATCHES 250 /* batches per round */
#define W_ROUNDS  16

static json_t *fields(int i)
{
	if (i % 3 == 0)
		return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "admin", "action",
		                 "resource.put", "namespace", "alpha", "actor", "p-alice",
		                 "resource", "kbs:///alpha/key/k1", "outcome", "ok", "time",
		                 "2026-11-27T10:00:00Z");
	return json_pack(
	        "{s:s,s:s,s:s,s:{s:s,s:s,s:s,s:n,s:[s]},s:s,s:s,s:s,s:s}", "kind", "release",
	        "action", "release", "namespace", "beta", "actor", "tee", "snp", "measurement",
	        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
	        "abcdef0123456789abcdef",
	        "chip_id", "c0ffee", "init_data", "policy_ids", "default", "resource",
	        "kbs:///beta/key/k2", "outcome", "allowed", "reason", "release policy", "time",
	        "2026-11-27T10:00:00Z");
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static int verify_rounds(double *out, const char *text, size_t len, coffer_jwk *pub)
{
	double t[ROUNDS];

	for (int r = 0; r < ROUNDS; r++) {
		coffer_audit_report rep;
		json_t *doc = NULL;
		double t0 = now_s();
		if (coffer_audit_export_parse(&doc, text, len) != 0 ||
		    coffer_audit_verify(&rep, doc, &pub, 1, NULL) != 0 ||
		    rep.anchored_seq != N_ENTRIES) {
			fprintf(stderr, "verify failed: %s\n", coffer_error_last());
			json_decref(doc);
			return -1;
		}
		t[r] = now_s() - t0;
		json_decref(doc);
	}
	*out = median(t, ROUNDS);
	return 0;
}

/* ---- the writer thread ---- */

/* A release record as rcar.c release_fields() and release_actor() build it
 * for an SNP guest that two policies allowed. */
static json_t *release_fields(int i)
{
	char tag[32];
	json_t *actor = json_object(), *ids = json_array();

	if (actor == NULL || ids == NULL) {
		json_decref(actor);
		json_decref(ids);
		return NULL;
	}
	snprintf(tag, sizeof(tag), "default/key/k%d", i % 50);
	json_object_set_new(actor, "tee", json_string("snp"));
	json_object_set_new(
	        actor, "measurement",
	        json_string("6ab1a0c35b1c8fb2e2e91d4a1d1b0c5e3f7a9c2d4e6f8a0b1c3d5e7f9a1b3c"
	                    "5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c"));
	json_object_set_new(
	        actor, "chip_id",
	        json_string("0f3e5d7c9b1a2f4e6d8c0b2a4f6e8d0c2b4a6f8e0d2c4b6a8f0e2d4c6b8a"
	                    "0f2e4d6c8b0a2f4e6d8c0b2a4f6e8d0c2b4a6f8e0d2c4b6a8f0e2d4c6b8a"
	                    "0f2e4d6c8b0a"));
	json_object_set_new(
	        actor, "init_data",
	        json_string("9c2f1e4d7a0b3c6e9f2a5d8b1e4c7f0a3d6b9e2c5f8a1d4b7e0c3f6a9d2b"
	                    "5e8c"));
	json_array_append_new(ids, json_sprintf("attestation:%s", "default"));
	json_array_append_new(ids, json_string("resource:k1"));
	json_array_append_new(ids, json_string("release:default"));
	json_object_set_new(actor, "policy_ids", ids);
	return json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:s}", "kind", "release", "action", "release",
	                 "namespace", "default", "resource", tag, "actor", actor, "outcome",
	                 "allowed", "reason", "resource and release policies allow");
}

/* One batch as commit_batch does it: chain, the store's json_dumps of each
 * record, drop the entries (the head keeps the last), drop the fields.
 * `shared`: as cofferd does, the entries share the fields' values and the
 * batch's salts come from one RAND_bytes; otherwise coffer_audit_append. */
static int writer_batch(json_t **head, json_t **fields, size_t n, bool shared)
{
	coffer_audit_append_opts opts = COFFER_AUDIT_APPEND_OPTS_INIT;
	uint8_t salts[W_BATCH * COFFER_AUDIT_SALT_SIZE];
	json_t *entries[W_BATCH];
	size_t k;
	int error = 0;

	opts.share_fields = true;
	if (shared && RAND_bytes(salts, (int)(n * COFFER_AUDIT_SALT_SIZE)) != 1)
		return COFFER_ERROR;
	for (k = 0; k < n; k++) {
		const json_t *prev = k ? entries[k - 1] : *head;
		char *text;

		opts.salt = salts + k * COFFER_AUDIT_SALT_SIZE;
		error = shared ? coffer_audit_append_ext(&entries[k], prev, fields[k], &opts)
		               : coffer_audit_append(&entries[k], prev, fields[k]);
		if (error < 0)
			break;
		text = json_dumps(entries[k], JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (text == NULL) {
			json_decref(entries[k]);
			error = COFFER_ENOMEM;
			break;
		}
		free(text);
	}
	if (error == 0) {
		json_decref(*head);
		*head = json_incref(entries[n - 1]);
	}
	for (size_t i = 0; i < k; i++)
		json_decref(entries[i]);
	for (size_t i = 0; i < n; i++) {
		json_decref(fields[i]);
		fields[i] = NULL;
	}
	return error;
}

/* One round of W_BATCHES batches: thread CPU time per entry. The fields are
 * built first, outside the timing (cofferd's request threads build them). */
static int writer_round(double *out, json_t **head, bool shared)
{
	static json_t *fields[W_BATCHES * W_BATCH];
	double t0;
	int rc = -1;

	for (size_t i = 0; i < W_BATCHES * W_BATCH; i++)
		if ((fields[i] = release_fields((int)i)) == NULL)
			goto out;
	t0 = cpu_s();
	for (size_t b = 0; b < W_BATCHES; b++)
		if (writer_batch(head, fields + b * W_BATCH, W_BATCH, shared) < 0) {
			fprintf(stderr, "writer: %s\n", coffer_error_last());
			goto out;
		}
	*out = (cpu_s() - t0) / (W_BATCHES * W_BATCH);
	rc = 0;
out:
	for (size_t i = 0; i < W_BATCHES * W_BATCH; i++) {
		json_decref(fields[i]);
		fields[i] = NULL;
	}
	return rc;
}

/* Both ways in interleaved rounds (the machine is shared), median of each. */
static int writer_rounds(double *copied, double *shared)
{
	double tc[W_ROUNDS], ts[W_ROUNDS];
	json_t *head = NULL;
	int rc = -1;

	/* the order alternates too: a round right after another runs on a
	 * more fragmented heap */
	for (int r = 0; r < W_ROUNDS; r++) {
		bool first = r % 2 == 0;
		if (writer_round(first ? &tc[r] : &ts[r], &head, !first) < 0 ||
		    writer_round(first ? &ts[r] : &tc[r], &head, first) < 0)
			goto out;
	}
	*copied = median(tc, W_ROUNDS);
	*shared = median(ts, W_ROUNDS);
	rc = 0;
out:
	json_decref(head);
	return rc;
}

static int writer_section(void)
{
	double tc, ts;

	/* as cofferd does: jansson wipes what it frees (blocks come from malloc
	 * either way, so switching now is safe) */
	coffer_json_wipe_on_free();
	if (writer_rounds(&tc, &ts) < 0)
		return -1;
	printf("audit writer (cofferd commit_batch CPU, batches of %d release records,\n"
	       "  append + json_dumps + frees, thread CPU, median of %d interleaved rounds of "
	       "%d):\n",
	       W_BATCH, W_ROUNDS, W_BATCHES * W_BATCH);
	printf("  coffer_audit_append (copies, RAND per entry): %6.2f us/entry\n", 1e6 * tc);
	printf("  cofferd's way (shared fields, RAND per batch): %5.2f us/entry\n", 1e6 * ts);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mine[] = { "alpha" };
	coffer_audit_scope sc = COFFER_AUDIT_SCOPE_INIT;
	coffer_jwk *key = NULL, *pub = NULL;
	json_t *entries = json_array(), *cps = json_array(), *prev = NULL, *doc = NULL;
	json_t *view = NULL;
	char *text = NULL, *vtext = NULL;
	size_t len = 0, vlen = 0;
	double t0, t_append, t_sign = 0, t_full, t_view;
	int rc = 1;

	if (argc > 1 && strcmp(argv[1], "writer") == 0)
		return writer_section() < 0 ? 1 : 0;
	if (argc > 1) {
		fprintf(stderr, "usage: bench_audit [writer]\n");
		return 2;
	}
	if (coffer_jwk_generate(&key, "EC", "P-256", 0) != 0 || coffer_jwk_public(&pub, key) != 0)
		goto out;
	t0 = now_s();
	for (int i = 1; i <= N_ENTRIES; i++) {
		json_t *f = fields(i), *e = NULL;
		if (f == NULL || coffer_audit_append(&e, prev, f) != 0) {
			json_decref(f);
			goto out;
		}
		json_decref(f);
		json_array_append_new(entries, e);
		prev = e;
		if (i % CP_EVERY == 0) {
			char *jws = NULL;
			double s0 = now_s();
			if (coffer_audit_checkpoint_sign(
			            &jws, key, i, json_string_value(json_object_get(e, "hash")),
			            NULL) != 0)
				goto out;
			t_sign += now_s() - s0;
			json_array_append_new(cps, json_string(jws));
			free(jws);
		}
	}
	t_append = now_s() - t0 - t_sign;
	if (coffer_audit_export_new(&doc, entries, cps) != 0 ||
	    coffer_json_dump(&text, &len, doc) != 0)
		goto out;
	sc.namespaces = mine;
	sc.nnamespaces = 1;
	if (coffer_audit_filter(&view, doc, &sc) != 0 || coffer_json_dump(&vtext, &vlen, view) != 0)
		goto out;
	if (verify_rounds(&t_full, text, len, pub) < 0 ||
	    verify_rounds(&t_view, vtext, vlen, pub) < 0)
		goto out;
	printf("audit: %d entries, checkpoint every %d (ES256)\n", N_ENTRIES, CP_EVERY);
	printf("  append:              %8.0f entries/s (%.1f us each)\n", N_ENTRIES / t_append,
	       1e6 * t_append / N_ENTRIES);
	printf("  checkpoint sign:     %8.0f /s\n", (N_ENTRIES / CP_EVERY) / t_sign);
	printf("  parse+verify full:   %8.0f entries/s (%.1f ms for %zu KiB)\n", N_ENTRIES / t_full,
	       1e3 * t_full, len / 1024);
	printf("  parse+verify scoped: %8.0f entries/s (%.1f ms for %zu KiB, 1/3 full)\n",
	       N_ENTRIES / t_view, 1e3 * t_view, vlen / 1024);
	if (writer_section() < 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "bench_audit: %s\n", coffer_error_last());
	free(text);
	free(vtext);
	json_decref(view);
	json_decref(doc);
	json_decref(entries);
	json_decref(cps);
	coffer_jwk_free(key);
	coffer_jwk_free(pub);
	return rc;
}
