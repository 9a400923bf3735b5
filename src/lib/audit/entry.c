/*
 * Audit entries: the content rules, the digest and chain hash, append and
 * stubs (docs/audit.md, "Entries").
 */
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "audit/audit_internal.h"
#include "coffer/buf.h"
#include "coffer/codec.h"
#include "coffer/evp.h"
#include "coffer/json.h"

#define SALT_BYTES     COFFER_AUDIT_SALT_SIZE
#define MAX_ACTION     64
#define MAX_ID         256
#define MAX_RESOURCE   1024
#define MAX_REASON     1024
#define MAX_CLAIM      1024
#define MAX_POLICY_IDS 64

/* ---- small helpers ---- */

/* The audit format's hex is lowercase only (docs/audit.md): 'A'-'F' is
 * refused like any other non-digit. */
static int lower_hex_digit(char c)
{
	return c >= 'A' && c <= 'F' ? -1 : coffer_hex_digit((unsigned char)c);
}

int audit_hex32_decode(uint8_t out[32], const char *s)
{
	if (s == NULL || strlen(s) != COFFER_AUDIT_HEX_LEN)
		return -1;
	for (size_t i = 0; i < 32; i++) {
		int hi = lower_hex_digit(s[2 * i]), lo = lower_hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void audit_hex32_encode(char out[COFFER_AUDIT_HEX_LEN + 1], const uint8_t in[32])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[COFFER_AUDIT_HEX_LEN] = '\0';
}

/* n decimal digits at s, or -1 */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

bool audit_time_valid(const char *s)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, se, dim;
	size_t len, i;

	if (s == NULL)
		return false;
	len = strnlen(s, 40);
	/* RFC 3339 section 5.6, restricted to UTC "Z" */
	if (len < 20 || len > 30 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':')
		return false;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	se = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 ||
	    se > 60)
		return false;
	dim = mdays[mo - 1];
	if (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		dim = 29;
	if (d > dim)
		return false;
	i = 19;
	if (s[i] == '.') {
		size_t start = ++i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start || i - start > 9)
			return false;
	}
	return i + 1 == len && s[i] == 'Z';
}

int audit_time_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
		return coffer_error_set(COFFER_ERROR, "audit: cannot read the clock");
	return 0;
}

int audit_sha256(uint8_t out[32], const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok;

	ok = mc != NULL && EVP_DigestInit_ex(mc, coffer_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(mc, a, alen) == 1 &&
	     (b == NULL || EVP_DigestUpdate(mc, b, blen) == 1) &&
	     EVP_DigestFinal_ex(mc, out, &n) == 1 && n == 32;
	EVP_MD_CTX_free(mc);
	if (!ok)
		return coffer_error_set_ssl(COFFER_ERROR, "audit: SHA-256 failed");
	return 0;
}

int audit_link(uint8_t out[32], const uint8_t prev[32], const uint8_t digest[32])
{
	return audit_sha256(out, prev, 32, digest, 32);
}

int64_t audit_seq(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	json_int_t n;

	if (!json_is_integer(v))
		return -1;
	n = json_integer_value(v);
	if (n < 1 || n > COFFER_AUDIT_MAX_SEQ)
		return -1;
	return (int64_t)n;
}

bool audit_is_stub(const json_t *e)
{
	return json_is_object(e) && json_object_get(e, "digest") != NULL &&
	       json_object_get(e, "prev") == NULL;
}

/* ---- content rules ---- */

/* A string of 1..max bytes without control characters. */
static bool text_ok(const char *s, size_t max, bool allow_empty)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strnlen(s, max + 1);
	if (n > max || (n == 0 && !allow_empty))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static int bad(const char *member, const char *what)
{
	return coffer_error_set(COFFER_EINVAL, "audit entry: \"%s\" %s", member, what);
}

static int check_optional_text(const json_t *e, const char *key, size_t max)
{
	const json_t *v = json_object_get(e, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || !text_ok(json_string_value(v), max, false))
		return bad(key, "must be null or a non-empty string without control characters");
	return 0;
}

/* The TEE's claims summary (never the whole claims set). */
static int check_claims_summary(const json_t *a)
{
	static const char *const texts[] = { "measurement", "chip_id", "platform_id", "init_data" };
	const char *key;
	const json_t *v, *ids;
	size_t i;

	if (!json_is_object(a))
		return bad("actor", "of a release must be the claims summary object");
	v = json_object_get(a, "tee");
	if (!json_is_string(v) || !text_ok(json_string_value(v), 32, false))
		return bad("actor.tee", "must be a short string");
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		v = json_object_get(a, texts[i]);
		if (v != NULL && !json_is_null(v) &&
		    (!json_is_string(v) || !text_ok(json_string_value(v), MAX_CLAIM, false)))
			return coffer_error_set(
			        COFFER_EINVAL, "audit entry: \"actor.%s\" must be null or a string",
			        texts[i]);
	}
	ids = json_object_get(a, "policy_ids");
	if (ids != NULL) {
		if (!json_is_array(ids) || json_array_size(ids) > MAX_POLICY_IDS)
			return bad("actor.policy_ids", "must be an array of at most 64 strings");
		json_array_foreach(ids, i, v)
		{
			if (!json_is_string(v) || !text_ok(json_string_value(v), MAX_ID, false))
				return bad("actor.policy_ids", "must hold non-empty strings");
		}
	}
	json_object_foreach((json_t *)a, key, v)
	{
		if (strcmp(key, "tee") != 0 && strcmp(key, "measurement") != 0 &&
		    strcmp(key, "chip_id") != 0 && strcmp(key, "platform_id") != 0 &&
		    strcmp(key, "init_data") != 0 && strcmp(key, "policy_ids") != 0)
			return coffer_error_set(
			        COFFER_EINVAL,
			        "audit entry: \"actor\" has an unknown member \"%s\"", key);
	}
	return 0;
}

int audit_check_content(const json_t *e)
{
	const char *kind, *action, *outcome, *reason, *salt;
	const json_t *actor;
	int error;

	kind = json_string_value(json_object_get(e, "kind"));
	if (kind == NULL || (strcmp(kind, "admin") != 0 && strcmp(kind, "release") != 0))
		return bad("kind", "must be \"admin\" or \"release\"");
	action = json_string_value(json_object_get(e, "action"));
	if (action == NULL || !text_ok(action, MAX_ACTION, false))
		return bad("action", "must be a short non-empty string");
	for (const char *p = action; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '_' || *p == '-'))
			return bad("action", "may hold only a-z 0-9 . _ -");
	outcome = json_string_value(json_object_get(e, "outcome"));
	if (outcome == NULL || (strcmp(outcome, "allowed") != 0 && strcmp(outcome, "denied") != 0 &&
	                        strcmp(outcome, "ok") != 0 && strcmp(outcome, "error") != 0))
		return bad("outcome", "must be \"allowed\", \"denied\", \"ok\" or \"error\"");
	actor = json_object_get(e, "actor");
	if (strcmp(kind, "admin") == 0) {
		if (!json_is_string(actor) || !text_ok(json_string_value(actor), MAX_ID, false))
			return bad("actor", "of an admin action must be the principal id");
	} else if ((error = check_claims_summary(actor)) < 0) {
		return error;
	}
	if ((error = check_optional_text(e, "namespace", MAX_ID)) < 0 ||
	    (error = check_optional_text(e, "resource", MAX_RESOURCE)) < 0)
		return error;
	if (json_object_get(e, "reason") != NULL) {
		reason = json_string_value(json_object_get(e, "reason"));
		if (reason == NULL || !text_ok(reason, MAX_REASON, true))
			return bad("reason", "must be a string of at most 1024 bytes, no controls");
	}
	salt = json_string_value(json_object_get(e, "salt"));
	if (salt == NULL || strlen(salt) != 32)
		return bad("salt", "must be 32 lowercase hex digits");
	for (const char *p = salt; *p != '\0'; p++)
		if (lower_hex_digit(*p) < 0)
			return bad("salt", "must be 32 lowercase hex digits");
	if (!audit_time_valid(json_string_value(json_object_get(e, "time"))))
		return bad("time", "must be RFC 3339 UTC, YYYY-MM-DDTHH:MM:SS[.f]Z");
	return 0;
}

/* ---- digest, hash, stub ---- */

int coffer_audit_entry_digest(uint8_t out[32], const json_t *entry)
{
	json_t *c = NULL;
	char *canon = NULL;
	size_t len = 0;
	int error;

	if (!json_is_object(entry))
		return coffer_error_set(COFFER_EINVAL, "audit entry: not an object");
	/* shallow: only the top-level "hash" member is left out */
	c = json_copy((json_t *)entry);
	if (c == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	json_object_del(c, "hash");
	if ((error = coffer_jcs_serialize(&canon, &len, c)) < 0)
		goto out;
	if (len > COFFER_AUDIT_MAX_ENTRY_SIZE) {
		error = coffer_error_set(COFFER_ELIMIT, "audit entry: %zu bytes, more than %zu",
		                         len, COFFER_AUDIT_MAX_ENTRY_SIZE);
		goto out;
	}
	error = audit_sha256(out, (const uint8_t *)canon, len, NULL, 0);
out:
	free(canon);
	json_decref(c);
	return error;
}

int coffer_audit_entry_hash(char out[COFFER_AUDIT_HEX_LEN + 1], const json_t *entry)
{
	uint8_t prev[32], digest[32], h[32];
	int error;

	out[0] = '\0';
	if (!json_is_object(entry) ||
	    audit_hex32_decode(prev, json_string_value(json_object_get(entry, "prev"))) < 0)
		return coffer_error_set(COFFER_EINVAL,
		                        "audit entry: \"prev\" must be 64 lowercase hex digits");
	if ((error = coffer_audit_entry_digest(digest, entry)) < 0 ||
	    (error = audit_link(h, prev, digest)) < 0)
		return error;
	audit_hex32_encode(out, h);
	return 0;
}

int coffer_audit_stub(json_t **out, const json_t *entry)
{
	uint8_t digest[32], tmp[32];
	char hex[COFFER_AUDIT_HEX_LEN + 1];
	const char *hash;
	int64_t seq;
	int error;

	*out = NULL;
	seq = audit_seq(entry, "seq");
	hash = json_string_value(json_object_get(entry, "hash"));
	if (seq < 0 || audit_hex32_decode(tmp, hash) < 0)
		return coffer_error_set(COFFER_EINVAL,
		                        "audit entry: needs an integer \"seq\" and a hex \"hash\"");
	if (audit_is_stub(entry)) {
		if (audit_hex32_decode(tmp, json_string_value(json_object_get(entry, "digest"))) <
		    0)
			return coffer_error_set(COFFER_EINVAL, "audit stub: bad \"digest\"");
		memcpy(digest, tmp, 32);
	} else if ((error = coffer_audit_entry_digest(digest, entry)) < 0) {
		return error;
	}
	audit_hex32_encode(hex, digest);
	*out = json_pack("{s:I,s:s,s:s}", "seq", (json_int_t)seq, "digest", hex, "hash", hash);
	if (*out == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	return 0;
}

bool coffer_audit_in_scope(const json_t *entry, const coffer_audit_scope *scope)
{
	const char *ns;

	if (scope == NULL || !json_is_object(entry) || audit_is_stub(entry))
		return false;
	if (scope->all)
		return true;
	ns = json_string_value(json_object_get(entry, "namespace"));
	if (ns == NULL)
		return false;
	for (size_t i = 0; i < scope->nnamespaces; i++)
		if (scope->namespaces[i] != NULL && strcmp(scope->namespaces[i], ns) == 0)
			return true;
	return false;
}

/* ---- append ---- */

static int set(json_t *o, const char *key, json_t *v)
{
	/* the keys are this file's literals */
	if (v == NULL || json_object_set_new_nocheck(o, key, v) != 0)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	return 0;
}

/* The entry's value for a member of `fields`: a copy, or the value itself
 * when the entry shares them (a string, object or array serializes the same
 * either way); null when absent. */
static json_t *member_or_null(const json_t *o, const char *key, bool share)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return json_null();
	return share ? json_incref(v) : json_deep_copy(v);
}

int coffer_audit_append(json_t **out, const json_t *prev, const json_t *fields)
{
	return coffer_audit_append_ext(out, prev, fields, NULL);
}

int coffer_audit_append_ext(json_t **out, const json_t *prev, const json_t *fields,
                            const coffer_audit_append_opts *opts)
{
	static const char *const allowed[] = { "kind",      "action",   "actor",  "outcome",
		                               "namespace", "resource", "reason", "time" };
	static const char d[] = "0123456789abcdef";
	uint8_t prevb[32], salt[SALT_BYTES], digest[32], h[32];
	char prevhex[COFFER_AUDIT_HEX_LEN + 1], hex[COFFER_AUDIT_HEX_LEN + 1];
	char salthex[2 * SALT_BYTES + 1], now[32];
	const char *key, *time_s;
	const json_t *v;
	json_t *e = NULL, *time_v;
	int64_t seq = 1;
	bool share = false;
	int error;

	*out = NULL;
	if (opts != NULL) {
		if (opts->version != COFFER_AUDIT_APPEND_OPTS_VERSION)
			return coffer_error_set(COFFER_EINVAL,
			                        "audit append: unknown options version %d",
			                        opts->version);
		share = opts->share_fields;
	}
	if (!json_is_object(fields))
		return coffer_error_set(COFFER_EINVAL, "audit append: fields must be an object");
	json_object_foreach((json_t *)fields, key, v)
	{
		bool ok = false;
		for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && !ok; i++)
			ok = strcmp(key, allowed[i]) == 0;
		if (!ok)
			return coffer_error_set(COFFER_EINVAL,
			                        "audit append: unknown or reserved member \"%s\"",
			                        key);
	}
	memset(prevb, 0, sizeof(prevb));
	if (prev != NULL) {
		seq = audit_seq(prev, "seq");
		if (seq < 0 ||
		    audit_hex32_decode(prevb, json_string_value(json_object_get(prev, "hash"))) < 0)
			return coffer_error_set(COFFER_EINVAL, "audit append: the previous entry "
			                                       "needs an integer \"seq\" and a hex "
			                                       "\"hash\"");
		if (seq >= COFFER_AUDIT_MAX_SEQ)
			return coffer_error_set(COFFER_ELIMIT, "audit append: seq space exhausted");
		seq++;
	}
	time_s = json_string_value(json_object_get(fields, "time"));
	if (time_s == NULL) {
		if (json_object_get(fields, "time") != NULL)
			return bad("time", "must be a string");
		if ((error = audit_time_now(now)) < 0)
			return error;
		/* digits and punctuation from strftime: no UTF-8 check needed */
		time_v = json_string_nocheck(now);
	} else {
		/* up to a NUL the caller's string may hold, as before */
		time_v = json_string(time_s);
	}
	if (time_v == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	if (opts != NULL && opts->salt != NULL) {
		memcpy(salt, opts->salt, sizeof(salt));
	} else if (RAND_bytes(salt, sizeof(salt)) != 1) {
		json_decref(time_v);
		return coffer_error_set_ssl(COFFER_ERROR, "audit append: no randomness");
	}
	for (size_t i = 0; i < SALT_BYTES; i++) {
		salthex[2 * i] = d[salt[i] >> 4];
		salthex[2 * i + 1] = d[salt[i] & 0xf];
	}
	salthex[2 * SALT_BYTES] = '\0';
	audit_hex32_encode(prevhex, prevb);

	e = json_object();
	if (e == NULL) {
		json_decref(time_v);
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	/* insertion order is what a reader sees; the hash uses JCS order */
	if ((error = set(e, "seq", json_integer((json_int_t)seq))) < 0 ||
	    (error = set(e, "time", time_v)) < 0 ||
	    (error = set(e, "kind", member_or_null(fields, "kind", share))) < 0 ||
	    (error = set(e, "action", member_or_null(fields, "action", share))) < 0 ||
	    (error = set(e, "namespace", member_or_null(fields, "namespace", share))) < 0 ||
	    (error = set(e, "actor", member_or_null(fields, "actor", share))) < 0 ||
	    (error = set(e, "resource", member_or_null(fields, "resource", share))) < 0 ||
	    (error = set(e, "outcome", member_or_null(fields, "outcome", share))) < 0 ||
	    (error = set(e, "reason",
	                 json_object_get(fields, "reason") != NULL
	                         ? member_or_null(fields, "reason", share)
	                         : json_string_nocheck(""))) < 0 ||
	    (error = set(e, "prev", json_string_nocheck(prevhex))) < 0 ||
	    (error = set(e, "salt", json_string_nocheck(salthex))) < 0)
		goto out;
	if ((error = audit_check_content(e)) < 0)
		goto out;
	/* no "hash" member yet: the digest is taken on the entry itself */
	if ((error = coffer_audit_entry_digest(digest, e)) < 0 ||
	    (error = audit_link(h, prevb, digest)) < 0)
		goto out;
	audit_hex32_encode(hex, h);
	if ((error = set(e, "hash", json_string_nocheck(hex))) < 0)
		goto out;
	*out = e;
	e = NULL;
out:
	json_decref(e);
	return error;
}
