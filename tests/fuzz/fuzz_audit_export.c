/*
 * libFuzzer target: the audit export parser and verifier (docs/audit.md).
 *
 * Invariants checked on every input that parses:
 * - verification returns 0 or a documented code, never anything else;
 * - a report of success is coherent (counts add up, the anchor lies within
 *   the export, a head hash is present when there are entries);
 * - a chain that verifies also verifies without keys, and every scoped view
 *   of it (one namespace, none, all) verifies with the same head and anchor.
 *
 * The committed corpus was signed by a throwaway P-256 key whose public half
 * is below, so that mutations reach the checkpoint paths with a real key.
 */
#include <stdlib.h>
#include <string.h>

#include "coffer/audit.h"
#include "coffer/jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char corpus_key[] =
        "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"sEhueHrjjkZ3iOaHcvJF_g14qwu29J2mr8rpJJOu29c\","
        "\"y\":\"w9pcLPCsmZyt8Q0aFN2NuqXEKyZ5mDTEhVC8WAvwbb4\"}";

static coffer_jwk *key(void)
{
	static coffer_jwk *k;

	if (k == NULL && coffer_jwk_parse(&k, corpus_key, strlen(corpus_key)) != 0)
		abort();
	return k;
}

static void check_view(const json_t *doc, const coffer_audit_scope *sc,
                       const coffer_audit_report *want)
{
	coffer_jwk *k = key();
	coffer_audit_report r;
	json_t *view = NULL;

	if (coffer_audit_filter(&view, doc, sc) != 0)
		abort(); /* a chain that verified can always be filtered */
	if (coffer_audit_verify(&r, view, &k, 1, NULL) != 0 || r.entries != want->entries ||
	    r.anchored_seq != want->anchored_seq || strcmp(r.head, want->head) != 0)
		abort();
	json_decref(view);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ns[] = { "alpha", "beta" };
	coffer_audit_scope sc = COFFER_AUDIT_SCOPE_INIT;
	coffer_audit_report r, nokey;
	coffer_jwk *k = key();
	json_t *doc = NULL;
	int error;

	if (coffer_audit_export_parse(&doc, (const char *)data, size) != 0) {
		if (doc != NULL)
			abort();
		return 0;
	}
	error = coffer_audit_verify(&r, doc, &k, 1, NULL);
	if (error != 0 && error != COFFER_EVERIFY && error != COFFER_EINVAL &&
	    error != COFFER_ELIMIT && error != COFFER_EUNSUPPORTED)
		abort();
	if (error == 0) {
		if (r.full + r.stubs != r.entries || r.anchored_seq > r.last_seq ||
		    (r.entries > 0) != (r.head[0] != '\0') ||
		    r.unanchored_tail != (r.entries > 0 && r.last_seq > r.anchored_seq))
			abort();
		if (coffer_audit_verify(&nokey, doc, NULL, 0, NULL) != 0 || nokey.anchored_seq != 0)
			abort();
		sc.namespaces = ns;
		sc.nnamespaces = 1;
		check_view(doc, &sc, &r);
		sc.nnamespaces = 0;
		check_view(doc, &sc, &r);
		sc.all = true;
		check_view(doc, &sc, &r);
	}
	json_decref(doc);
	return 0;
}
