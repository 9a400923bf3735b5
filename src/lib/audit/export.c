/*
 * Checkpoints, export documents, scoped views and offline verification
 * (docs/audit.md, "Checkpoints", "Exports", "Verification").
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "audit/audit_internal.h"
#include "coffer/codec.h"
#include "coffer/json.h"

/* ---- checkpoints ---- */

int coffer_audit_checkpoint_sign(char **out, const coffer_jwk *key, int64_t seq,
                                 const char *hash_hex, const char *time)
{
	uint8_t tmp[32];
	char now[32], *canon = NULL;
	const char *crv;
	size_t len = 0;
	json_t *payload = NULL, *hdr = NULL;
	int error;

	*out = NULL;
	crv = key != NULL ? coffer_jwk_crv(key) : NULL;
	if (key == NULL || strcmp(coffer_jwk_kty(key), "EC") != 0 || crv == NULL ||
	    strcmp(crv, "P-256") != 0 || !coffer_jwk_has_private(key))
		return coffer_error_set(COFFER_EINVAL,
		                        "audit checkpoint: the key must be a private EC P-256 JWK");
	if (seq < 1 || seq > COFFER_AUDIT_MAX_SEQ)
		return coffer_error_set(COFFER_EINVAL, "audit checkpoint: seq out of range");
	if (audit_hex32_decode(tmp, hash_hex) < 0)
		return coffer_error_set(COFFER_EINVAL,
		                        "audit checkpoint: hash must be 64 lowercase hex digits");
	if (time == NULL) {
		if ((error = audit_time_now(now)) < 0)
			return error;
		time = now;
	} else if (!audit_time_valid(time)) {
		return coffer_error_set(COFFER_EINVAL,
		                        "audit checkpoint: time must be RFC 3339 UTC");
	}
	payload = json_pack("{s:I,s:s,s:s,s:s}", "seq", (json_int_t)seq, "hash", hash_hex, "time",
	                    time, "type", COFFER_AUDIT_CHECKPOINT_TYPE);
	if (payload == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	if (coffer_jwk_kid(key) != NULL) {
		hdr = json_pack("{s:s}", "kid", coffer_jwk_kid(key));
		if (hdr == NULL) {
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			goto out;
		}
	}
	if ((error = coffer_jcs_serialize(&canon, &len, payload)) < 0 ||
	    (error = coffer_jws_sign(out, key, "ES256", hdr, (const uint8_t *)canon, len)) < 0)
		goto out;
out:
	free(canon);
	json_decref(payload);
	json_decref(hdr);
	return error;
}

static int cp_bad(const char *why)
{
	return coffer_error_set(COFFER_EVERIFY, "not an audit checkpoint: %s", why);
}

int coffer_audit_checkpoint_verify(int64_t *seq_out, char hash_out[COFFER_AUDIT_HEX_LEN + 1],
                                   const char *jws, size_t len, coffer_jwk *const *keys,
                                   size_t nkeys)
{
	coffer_jws *j = NULL;
	json_t *p = NULL;
	const char *alg, *hash, *type, *key;
	const json_t *v;
	uint8_t tmp[32];
	int64_t seq;
	int error;

	*seq_out = 0;
	hash_out[0] = '\0';
	if (len > COFFER_AUDIT_MAX_CHECKPOINT_SIZE)
		return coffer_error_set(COFFER_ELIMIT, "audit checkpoint longer than %zu bytes",
		                        COFFER_AUDIT_MAX_CHECKPOINT_SIZE);
	if (nkeys == 0)
		return coffer_error_set(COFFER_EVERIFY, "audit checkpoint: no broker key given");
	error = coffer_jws_verify(&j, jws, len, keys, nkeys);
	if (error < 0) {
		/* a checkpoint that is not even a JWS is malformed; any other
		 * failure (bad signature, alg none, unknown kid) is a forgery */
		if (error != COFFER_EINVAL && error != COFFER_ENOMEM && error != COFFER_ELIMIT)
			error = coffer_error_wrap(COFFER_EVERIFY, "checkpoint signature");
		return error;
	}
	alg = json_string_value(json_object_get(j->header, "alg"));
	if (alg == NULL || strcmp(alg, "ES256") != 0) {
		error = cp_bad("alg is not ES256");
		goto out;
	}
	if (coffer_json_parse(&p, (const char *)j->payload, j->payload_len, 0) < 0 ||
	    !json_is_object(p)) {
		error = cp_bad("the payload is not a JSON object");
		goto out;
	}
	json_object_foreach(p, key, v)
	{
		if (strcmp(key, "seq") != 0 && strcmp(key, "hash") != 0 &&
		    strcmp(key, "time") != 0 && strcmp(key, "type") != 0) {
			error = cp_bad("unknown payload member");
			goto out;
		}
	}
	type = json_string_value(json_object_get(p, "type"));
	hash = json_string_value(json_object_get(p, "hash"));
	seq = audit_seq(p, "seq");
	if (type == NULL || strcmp(type, COFFER_AUDIT_CHECKPOINT_TYPE) != 0) {
		error = cp_bad("\"type\" is not \"" COFFER_AUDIT_CHECKPOINT_TYPE "\"");
		goto out;
	}
	if (seq < 0 || audit_hex32_decode(tmp, hash) < 0 ||
	    !audit_time_valid(json_string_value(json_object_get(p, "time")))) {
		error = cp_bad("bad \"seq\", \"hash\" or \"time\"");
		goto out;
	}
	*seq_out = seq;
	memcpy(hash_out, hash, COFFER_AUDIT_HEX_LEN + 1);
	error = 0;
out:
	json_decref(p);
	coffer_jws_free(j);
	return error;
}

/* ---- export documents ---- */

static int check_shape(const json_t *doc)
{
	const json_t *v, *entries, *cps;

	if (!json_is_object(doc))
		return coffer_error_set(COFFER_EINVAL, "audit export: not a JSON object");
	v = json_object_get(doc, "version");
	if (!json_is_integer(v))
		return coffer_error_set(COFFER_EINVAL, "audit export: no integer \"version\"");
	if (json_integer_value(v) != COFFER_AUDIT_EXPORT_VERSION)
		return coffer_error_set(COFFER_EUNSUPPORTED,
		                        "audit export: version %" JSON_INTEGER_FORMAT
		                        " is not supported (1 is)",
		                        json_integer_value(v));
	entries = json_object_get(doc, "entries");
	cps = json_object_get(doc, "checkpoints");
	if (!json_is_array(entries) || !json_is_array(cps))
		return coffer_error_set(
		        COFFER_EINVAL,
		        "audit export: \"entries\" and \"checkpoints\" must be arrays");
	if (json_array_size(entries) > COFFER_AUDIT_MAX_ENTRIES)
		return coffer_error_set(COFFER_ELIMIT, "audit export: more than %zu entries",
		                        COFFER_AUDIT_MAX_ENTRIES);
	if (json_array_size(cps) > COFFER_AUDIT_MAX_CHECKPOINTS)
		return coffer_error_set(COFFER_ELIMIT, "audit export: more than %zu checkpoints",
		                        COFFER_AUDIT_MAX_CHECKPOINTS);
	return 0;
}

int coffer_audit_export_new(json_t **out, json_t *entries, json_t *checkpoints)
{
	json_t *doc;
	int error;

	*out = NULL;
	if (!json_is_array(entries) || (checkpoints != NULL && !json_is_array(checkpoints)))
		return coffer_error_set(COFFER_EINVAL, "audit export: entries and checkpoints "
		                                       "must be arrays");
	doc = json_pack("{s:i,s:O,s:o}", "version", COFFER_AUDIT_EXPORT_VERSION, "entries", entries,
	                "checkpoints",
	                checkpoints != NULL ? json_incref(checkpoints) : json_array());
	if (doc == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	if ((error = check_shape(doc)) < 0) {
		json_decref(doc);
		return error;
	}
	*out = doc;
	return 0;
}

int coffer_audit_export_parse(json_t **out, const char *text, size_t len)
{
	json_t *doc = NULL;
	int error;

	*out = NULL;
	if (len > COFFER_AUDIT_MAX_EXPORT)
		return coffer_error_set(COFFER_ELIMIT, "audit export larger than %zu bytes",
		                        COFFER_AUDIT_MAX_EXPORT);
	if ((error = coffer_json_parse(&doc, text, len, 0)) < 0)
		return coffer_error_wrap(error, "audit export");
	if ((error = check_shape(doc)) < 0) {
		json_decref(doc);
		return error;
	}
	*out = doc;
	return 0;
}

int coffer_audit_filter(json_t **out, const json_t *export_doc, const coffer_audit_scope *scope)
{
	json_t *entries = NULL, *doc = NULL, *sc = NULL, *e, *item;
	size_t i;
	int error;

	*out = NULL;
	if (scope == NULL || scope->version != COFFER_AUDIT_SCOPE_VERSION ||
	    (scope->nnamespaces > 0 && scope->namespaces == NULL))
		return coffer_error_set(COFFER_EINVAL, "audit filter: bad scope");
	if ((error = check_shape(export_doc)) < 0)
		return error;
	entries = json_array();
	if (entries == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	json_array_foreach(json_object_get(export_doc, "entries"), i, e)
	{
		if (!json_is_object(e)) {
			error = coffer_error_set(COFFER_EINVAL,
			                         "audit filter: entry #%zu is not an "
			                         "object",
			                         i);
			goto out;
		}
		if (coffer_audit_in_scope(e, scope)) {
			item = json_deep_copy(e);
			if (item == NULL) {
				error = coffer_error_set(COFFER_ENOMEM, "out of memory");
				goto out;
			}
		} else if ((error = coffer_audit_stub(&item, e)) < 0) {
			goto out;
		}
		if (json_array_append_new(entries, item) != 0) {
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (scope->all) {
		sc = json_pack("{s:b}", "all", 1);
	} else {
		json_t *names = json_array();
		for (i = 0; names != NULL && i < scope->nnamespaces; i++)
			if (scope->namespaces[i] == NULL ||
			    json_array_append_new(names, json_string(scope->namespaces[i])) != 0) {
				json_decref(names);
				names = NULL;
			}
		sc = names != NULL ? json_pack("{s:o}", "namespaces", names) : NULL;
	}
	if (sc == NULL) {
		error = coffer_error_set(COFFER_EINVAL, "audit filter: bad namespace list");
		goto out;
	}
	if ((error = coffer_audit_export_new(&doc, entries,
	                                     json_object_get(export_doc, "checkpoints"))) < 0)
		goto out;
	if (json_object_set_new(doc, "scope", sc) != 0) {
		sc = NULL;
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	sc = NULL;
	/* the checkpoint strings are shared with the input: copy them */
	if (json_object_set_new(doc, "checkpoints",
	                        json_deep_copy(json_object_get(export_doc, "checkpoints"))) != 0) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	*out = doc;
	doc = NULL;
out:
	json_decref(sc);
	json_decref(doc);
	json_decref(entries);
	return error;
}

/* ---- verification ---- */

static const char zero_hash[COFFER_AUDIT_HEX_LEN + 1] =
        "0000000000000000000000000000000000000000000000000000000000000000";

/* Fail at `seq` (recorded in the report). */
static int tampered(coffer_audit_report *r, int64_t seq, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int tampered(coffer_audit_report *r, int64_t seq, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->bad_seq = seq;
	return coffer_error_set(COFFER_EVERIFY, "audit chain broken at seq %" PRId64 ": %s", seq,
	                        msg);
}

/* Walk the entries: seq order and every link. hashes[i] gets item i's hash. */
static int walk_chain(coffer_audit_report *r, uint8_t (*hashes)[32], const json_t *entries,
                      bool allow_partial_head)
{
	uint8_t running[32], claimed[32], digest[32], computed[32], prev[32];
	char hex[COFFER_AUDIT_HEX_LEN + 1];
	size_t i, n = json_array_size(entries);
	const json_t *e;
	int error;

	memset(running, 0, sizeof(running));
	for (i = 0; i < n; i++) {
		int64_t want = r->first_seq + (int64_t)i, seq;
		bool have_prev = i > 0 || r->first_seq == 1;

		e = json_array_get(entries, i);
		seq = audit_seq(e, "seq");
		if (i == 0) {
			if (seq < 0)
				return tampered(r, 1, "the first entry has no valid \"seq\"");
			r->first_seq = want = seq;
			have_prev = seq == 1;
			if (seq != 1 && !allow_partial_head)
				return tampered(r, 1,
				                "the export starts at seq %" PRId64
				                ": entries 1..%" PRId64 " were dropped",
				                seq, seq - 1);
		} else if (seq < 0) {
			return tampered(r, want,
			                "entry #%zu has no valid \"seq\" (after seq %" PRId64 ")",
			                i, want - 1);
		} else if (seq > want) {
			return tampered(r, want,
			                "entry %" PRId64 " is missing: seq %" PRId64
			                " follows seq %" PRId64 " (dropped or reordered)",
			                want, seq, want - 1);
		} else if (seq < want) {
			return tampered(r, want,
			                "seq %" PRId64 " appears where seq %" PRId64
			                " belongs (inserted, duplicated or reordered)",
			                seq, want);
		}
		if (audit_hex32_decode(claimed, json_string_value(json_object_get(e, "hash"))) < 0)
			return tampered(r, seq, "\"hash\" missing or not 64 lowercase hex digits");
		if (audit_is_stub(e)) {
			if (json_object_size(e) != 3 ||
			    audit_hex32_decode(digest,
			                       json_string_value(json_object_get(e, "digest"))) < 0)
				return tampered(r, seq,
				                "a stub must be exactly {seq, digest, hash}");
			r->stubs++;
		} else {
			if (!json_is_object(e) ||
			    audit_hex32_decode(prev,
			                       json_string_value(json_object_get(e, "prev"))) < 0)
				return tampered(r, seq,
				                "\"prev\" missing or not 64 lowercase hex digits");
			if (have_prev && CRYPTO_memcmp(prev, running, 32) != 0) {
				if (seq == 1)
					return tampered(r, seq,
					                "\"prev\" of the first entry is not %s",
					                zero_hash);
				return tampered(r, seq,
				                "\"prev\" is not the hash of entry %" PRId64
				                " (an entry before it was edited, dropped or "
				                "reordered)",
				                seq - 1);
			}
			if ((error = coffer_audit_entry_digest(digest, e)) < 0) {
				if (error == COFFER_ELIMIT) {
					r->bad_seq = seq;
					return coffer_error_wrap(error, "seq %" PRId64, seq);
				}
				return tampered(r, seq, "cannot canonicalize: %s",
				                coffer_error_last());
			}
			memcpy(running, prev, 32);
			have_prev = true;
			r->full++;
		}
		if (have_prev) {
			if ((error = audit_link(computed, running, digest)) < 0)
				return error;
			if (CRYPTO_memcmp(computed, claimed, 32) != 0) {
				if (audit_is_stub(e))
					return tampered(
					        r, seq,
					        "the stub's hash does not follow from entry "
					        "%" PRId64 " and its digest (edited)",
					        seq - 1);
				audit_hex32_encode(hex, computed);
				return tampered(r, seq,
				                "the hash does not recompute: the entry was edited "
				                "(its content hashes to %.16s...)",
				                hex);
			}
		}
		memcpy(running, claimed, 32);
		memcpy(hashes[i], claimed, 32);
		r->last_seq = seq;
		r->entries++;
	}
	if (n > 0)
		audit_hex32_encode(r->head, running);
	return 0;
}

/* The "seq" of a checkpoint's payload, unverified (for messages only); 0 if
 * there is none. */
static int64_t claimed_seq(const char *jws, size_t len)
{
	const char *d1 = memchr(jws, '.', len), *d2;
	uint8_t *payload = NULL;
	size_t plen = 0;
	json_t *p = NULL;
	int64_t seq = 0;

	if (d1 == NULL)
		return 0;
	d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jws));
	if (d2 == NULL || coffer_base64_decode(&payload, &plen, d1 + 1, (size_t)(d2 - d1 - 1),
	                                       COFFER_B64_URL_NOPAD) < 0)
		return 0;
	if (coffer_json_parse(&p, (const char *)payload, plen, 0) == 0 && audit_seq(p, "seq") > 0)
		seq = audit_seq(p, "seq");
	json_decref(p);
	free(payload);
	return seq;
}

/* Whether the first entry of a range follows from the hash `signed_hash` a
 * checkpoint gave its predecessor: a full entry's "prev" is that hash; a
 * stub's hash is SHA-256(that hash || its digest). The chain pass has
 * checked the members' form already. */
static int first_follows(bool *out, const uint8_t signed_hash[32], const json_t *first)
{
	uint8_t prev[32], digest[32], claimed[32], computed[32];
	int error;

	*out = false;
	if (!audit_is_stub(first)) {
		if (audit_hex32_decode(prev, json_string_value(json_object_get(first, "prev"))) ==
		    0)
			*out = CRYPTO_memcmp(prev, signed_hash, 32) == 0;
		return 0;
	}
	if (audit_hex32_decode(digest, json_string_value(json_object_get(first, "digest"))) < 0 ||
	    audit_hex32_decode(claimed, json_string_value(json_object_get(first, "hash"))) < 0)
		return 0;
	if ((error = audit_link(computed, signed_hash, digest)) < 0)
		return error;
	*out = CRYPTO_memcmp(computed, claimed, 32) == 0;
	return 0;
}

static int check_checkpoint(coffer_audit_report *r, uint8_t (*hashes)[32], const json_t *first,
                            const char *what, size_t idx, const char *jws, size_t len,
                            coffer_jwk *const *keys, size_t nkeys)
{
	char hash[COFFER_AUDIT_HEX_LEN + 1];
	uint8_t hb[32];
	int64_t seq;
	int error;

	if (len > COFFER_AUDIT_MAX_CHECKPOINT_SIZE)
		return coffer_error_set(COFFER_ELIMIT,
		                        "audit export: %s #%zu longer than %zu bytes", what, idx,
		                        COFFER_AUDIT_MAX_CHECKPOINT_SIZE);
	error = coffer_audit_checkpoint_verify(&seq, hash, jws, len, keys, nkeys);
	if (error == COFFER_EVERIFY) {
		char why[512];
		/* name the seq it claims, read without trusting it */
		snprintf(why, sizeof(why), "%s", coffer_error_last());
		r->bad_seq = claimed_seq(jws, len);
		if (r->bad_seq > 0)
			return coffer_error_set(
			        COFFER_EVERIFY,
			        "%s #%zu is forged or invalid (it claims seq %" PRId64 "): %s",
			        what, idx, r->bad_seq, why);
		return coffer_error_set(COFFER_EVERIFY, "%s #%zu is forged or invalid: %s", what,
		                        idx, why);
	}
	if (error < 0)
		return coffer_error_wrap(error, "%s #%zu", what, idx);
	if (r->entries == 0 || seq > r->last_seq)
		return tampered(r, r->last_seq + 1,
		                "%s #%zu signs seq %" PRId64 " but the export ends %s%" PRId64
		                ": the tail was truncated",
		                what, idx, seq, r->entries == 0 ? "before seq " : "at seq ",
		                r->entries == 0 ? (int64_t)1 : r->last_seq);
	if (audit_hex32_decode(hb, hash) < 0)
		return coffer_error_set(COFFER_ERROR, "audit: checkpoint hash lost");
	/* a range export that starts at S+1 continues the chain a checkpoint
	 * at S signed (a scoped reader's range may start with a stub) */
	if (seq == r->first_seq - 1 && first != NULL) {
		bool follows = false;
		if ((error = first_follows(&follows, hb, first)) < 0)
			return error;
		if (!follows)
			return tampered(r, r->first_seq,
			                "%s #%zu signs seq %" PRId64 " with a hash the first entry "
			                "does not follow from: the export does not continue the "
			                "signed chain",
			                what, idx, seq);
		r->head_anchored = true;
		r->checkpoints++;
		return 0;
	}
	if (seq < r->first_seq)
		return tampered(r, seq, "%s #%zu signs seq %" PRId64 ", before the export starts",
		                what, idx, seq);
	if (CRYPTO_memcmp(hb, hashes[seq - r->first_seq], 32) != 0)
		return tampered(r, seq,
		                "%s #%zu signed another hash for this seq: entries up to "
		                "%" PRId64 " were rewritten",
		                what, idx, seq);
	if (seq > r->anchored_seq)
		r->anchored_seq = seq;
	r->checkpoints++;
	return 0;
}

int coffer_audit_verify(coffer_audit_report *report, const json_t *export_doc,
                        coffer_jwk *const *keys, size_t nkeys, const coffer_audit_verify_opts *opts)
{
	static const coffer_audit_verify_opts defaults = COFFER_AUDIT_VERIFY_OPTS_INIT;
	uint8_t(*hashes)[32] = NULL;
	const json_t *entries, *cps, *v;
	size_t i, n;
	int error;

	memset(report, 0, sizeof(*report));
	if (opts == NULL)
		opts = &defaults;
	if (opts->version != COFFER_AUDIT_VERIFY_OPTS_VERSION ||
	    (opts->nextra_checkpoints > 0 && opts->extra_checkpoints == NULL))
		return coffer_error_set(COFFER_EINVAL, "audit verify: bad options");
	if (nkeys > 0 && keys == NULL)
		return coffer_error_set(COFFER_EINVAL, "audit verify: bad key list");
	if ((error = check_shape(export_doc)) < 0)
		return error;
	entries = json_object_get(export_doc, "entries");
	cps = json_object_get(export_doc, "checkpoints");
	n = json_array_size(entries);
	if (n > 0) {
		hashes = calloc(n, sizeof(*hashes));
		if (hashes == NULL)
			return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	if ((error = walk_chain(report, hashes, entries, opts->allow_partial_head)) < 0)
		goto out;
	json_array_foreach(cps, i, v)
	{
		if (!json_is_string(v)) {
			error = coffer_error_set(
			        COFFER_EINVAL, "audit export: checkpoint #%zu is not a string", i);
			goto out;
		}
		if (nkeys == 0) {
			report->unchecked++;
			continue;
		}
		if ((error = check_checkpoint(report, hashes, json_array_get(entries, 0),
		                              "checkpoint", i, json_string_value(v),
		                              json_string_length(v), keys, nkeys)) < 0)
			goto out;
	}
	for (i = 0; i < opts->nextra_checkpoints; i++) {
		const char *s = opts->extra_checkpoints[i];
		if (s == NULL) {
			error = coffer_error_set(COFFER_EINVAL,
			                         "audit verify: NULL extra checkpoint");
			goto out;
		}
		if (nkeys == 0) {
			report->unchecked++;
			continue;
		}
		if ((error = check_checkpoint(
		             report, hashes, json_array_get(entries, 0), "earlier checkpoint", i, s,
		             strnlen(s, COFFER_AUDIT_MAX_CHECKPOINT_SIZE + 1), keys, nkeys)) < 0)
			goto out;
	}
	report->unanchored_tail = report->entries > 0 && report->last_seq > report->anchored_seq;
	/* integrity holds; now the content rules, so that an edit is always
	 * reported as tampering rather than as a malformed entry */
	json_array_foreach(entries, i, v)
	{
		if (audit_is_stub(v))
			continue;
		if ((error = audit_check_content(v)) < 0) {
			report->bad_seq = report->first_seq + (int64_t)i;
			error = coffer_error_wrap(COFFER_EINVAL, "seq %" PRId64, report->bad_seq);
			goto out;
		}
	}
	error = 0;
out:
	free(hashes);
	return error;
}
