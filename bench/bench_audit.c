/*
 * Audit chain throughput (docs/audit.md): coffer_audit_append for a log of
 * N entries with an ES256 checkpoint every 1000, then parsing and verifying
 * the export text, full and as one principal's scoped view (a third of the
 * entries whole, the rest stubs). Median of a few rounds in one run. No
 * target: the figures size how often the broker can afford to be verified
 * and how large an export `coffer audit verify` handles in a second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffer/audit.h"
#include "coffer/jose.h"
#include "coffer/json.h"

#define N_ENTRIES 20000
#define CP_EVERY  1000
#define ROUNDS    5

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

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

int main(void)
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
