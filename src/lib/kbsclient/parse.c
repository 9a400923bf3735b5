/*
 * Parsers for what a broker sends back (PROTOCOL.md sections 1-3). The
 * broker is outside the TEE and may be hostile: every answer is parsed
 * strictly, with bounded sizes, and each failure names what was wrong.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/codec.h"
#include "coffer/json.h"
#include "coffer/kbs.h"
#include "coffer/kbs_client.h"
#include "kbsclient/kbsclient_internal.h"

static int parse_object(json_t **out, const char *body, size_t len, const char *what)
{
	json_t *v = NULL;
	int error;

	if (body == NULL || len == 0)
		return coffer_error_set(COFFER_EINVAL, "broker %s answer: empty body", what);
	if (len > KBSC_ANSWER_MAX)
		return coffer_error_set(COFFER_ELIMIT, "broker %s answer: %zu bytes (limit %zu)",
		                        what, len, (size_t)KBSC_ANSWER_MAX);
	if ((error = coffer_json_parse(&v, body, len, 0)) < 0)
		return coffer_error_wrap(COFFER_EINVAL, "broker %s answer: not valid JSON", what);
	if (!json_is_object(v)) {
		json_decref(v);
		return coffer_error_set(COFFER_EINVAL, "broker %s answer: not a JSON object", what);
	}
	*out = v;
	return 0;
}

static bool printable(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (n >= max || (unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	return n > 0;
}

int coffer_kbs_parse_challenge(char **nonce_out, char **hash_out, const char *body, size_t len)
{
	json_t *v = NULL, *extra;
	const char *nonce, *hash = NULL;
	int error;

	*nonce_out = NULL;
	*hash_out = NULL;
	if ((error = parse_object(&v, body, len, "auth")) < 0)
		return error;
	nonce = json_string_value(json_object_get(v, "nonce"));
	if (nonce == NULL) {
		error = coffer_error_set(COFFER_EINVAL, "broker auth answer: no 'nonce' string");
		goto out;
	}
	if (!printable(nonce, KBSC_NONCE_MAX)) {
		error = coffer_error_set(COFFER_EINVAL,
		                         "broker auth answer: the nonce is empty, longer than %d "
		                         "bytes or not printable ASCII",
		                         KBSC_NONCE_MAX);
		goto out;
	}
	/* upstream sends "extra-params": ""; a broker that negotiates the hash
	 * says {"selected-hash-algorithm": "sha384"} */
	extra = json_object_get(v, "extra-params");
	if (json_is_object(extra) && json_object_get(extra, "selected-hash-algorithm")) {
		coffer_kbs_hash h;
		hash = json_string_value(json_object_get(extra, "selected-hash-algorithm"));
		if (hash == NULL || coffer_kbs_hash_from_name(&h, hash) < 0) {
			error = coffer_error_set(
			        COFFER_EUNSUPPORTED,
			        "broker auth answer: selected-hash-algorithm is not "
			        "one of sha256, sha384, sha512");
			goto out;
		}
	} else if (extra != NULL && !json_is_object(extra) && !json_is_string(extra) &&
	           !json_is_null(extra)) {
		error = coffer_error_set(COFFER_EINVAL,
		                         "broker auth answer: extra-params is neither a string "
		                         "nor an object");
		goto out;
	}
	*nonce_out = strdup(nonce);
	if (hash)
		*hash_out = strdup(hash);
	if (*nonce_out == NULL || (hash && *hash_out == NULL)) {
		free(*nonce_out);
		free(*hash_out);
		*nonce_out = *hash_out = NULL;
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	error = 0;
out:
	json_decref(v);
	return error;
}

static int b64url_segment_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

int coffer_kbs_parse_attest_response(char **token_out, int64_t *exp, const char *body, size_t len)
{
	json_t *v = NULL, *claims = NULL, *jexp;
	const char *token, *dot1, *dot2;
	uint8_t *payload = NULL;
	size_t tlen, plen = 0;
	int error;

	*token_out = NULL;
	*exp = 0;
	if ((error = parse_object(&v, body, len, "attest")) < 0)
		return error;
	token = json_string_value(json_object_get(v, "token"));
	if (token == NULL) {
		error = coffer_error_set(COFFER_EINVAL, "broker attest answer: no 'token' string");
		goto out;
	}
	tlen = strlen(token);
	if (tlen > KBSC_TOKEN_MAX) {
		error = coffer_error_set(COFFER_ELIMIT, "broker attest answer: token of %zu bytes",
		                         tlen);
		goto out;
	}
	/* a JWT: three base64url segments */
	dot1 = memchr(token, '.', tlen);
	dot2 = dot1 ? memchr(dot1 + 1, '.', tlen - (size_t)(dot1 + 1 - token)) : NULL;
	if (dot1 == NULL || dot2 == NULL || dot1 == token || dot2 == dot1 + 1 ||
	    memchr(dot2 + 1, '.', tlen - (size_t)(dot2 + 1 - token)) != NULL ||
	    !b64url_segment_ok(token, (size_t)(dot1 - token)) ||
	    !b64url_segment_ok(dot1 + 1, (size_t)(dot2 - dot1 - 1)) ||
	    !b64url_segment_ok(dot2 + 1, tlen - (size_t)(dot2 + 1 - token))) {
		error = coffer_error_set(COFFER_EINVAL,
		                         "broker attest answer: the token is not a compact JWT");
		goto out;
	}
	if ((error = coffer_base64_decode(&payload, &plen, dot1 + 1, (size_t)(dot2 - dot1 - 1),
	                                  COFFER_B64_URL_NOPAD)) < 0) {
		error = coffer_error_wrap(COFFER_EINVAL, "broker attest answer: token payload");
		goto out;
	}
	if ((error = coffer_json_parse(&claims, (const char *)payload, plen, 0)) < 0 ||
	    !json_is_object(claims)) {
		error = coffer_error_set(COFFER_EINVAL,
		                         "broker attest answer: the token's claims are not a JSON "
		                         "object");
		goto out;
	}
	jexp = json_object_get(claims, "exp");
	if (jexp != NULL) {
		if (!json_is_integer(jexp) || json_integer_value(jexp) <= 0) {
			error = coffer_error_set(COFFER_EINVAL,
			                         "broker attest answer: the token's exp is not a "
			                         "positive integer");
			goto out;
		}
		*exp = (int64_t)json_integer_value(jexp);
	}
	*token_out = strdup(token);
	error = *token_out ? 0 : coffer_error_set(COFFER_ENOMEM, "out of memory");
out:
	free(payload);
	json_decref(claims);
	json_decref(v);
	return error;
}

int coffer_kbs_parse_resource_jwe(json_t **out, const char *body, size_t len, const char *alg)
{
	static const char *const members[] = { "protected", "encrypted_key", "iv", "ciphertext",
		                               "tag" };
	json_t *v = NULL, *hdr = NULL;
	const char *prot, *halg, *enc;
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	int error;

	*out = NULL;
	if ((error = parse_object(&v, body, len, "resource")) < 0)
		return error;
	prot = json_string_value(json_object_get(v, "protected"));
	if (prot == NULL) {
		error = coffer_error_set(COFFER_EINVAL,
		                         "broker resource answer: not a flattened JWE (no "
		                         "'protected' string)");
		goto out;
	}
	if ((error = coffer_base64_decode(&raw, &raw_len, prot, strlen(prot),
	                                  COFFER_B64_URL_NOPAD)) < 0 ||
	    (error = coffer_json_parse(&hdr, (const char *)raw, raw_len, 0)) < 0 ||
	    !json_is_object(hdr)) {
		error = coffer_error_set(COFFER_EINVAL,
		                         "broker resource answer: the JWE protected header is not "
		                         "base64url JSON");
		goto out;
	}
	halg = json_string_value(json_object_get(hdr, "alg"));
	enc = json_string_value(json_object_get(hdr, "enc"));
	if (halg == NULL || enc == NULL) {
		error = coffer_error_set(COFFER_EINVAL,
		                         "broker resource answer: JWE header without alg or enc");
		goto out;
	}
	if (strcmp(enc, "A256GCM") != 0) {
		error = coffer_error_set(
		        COFFER_EUNSUPPORTED,
		        "broker resource answer: JWE enc '%.32s' (expected A256GCM)", enc);
		goto out;
	}
	if (alg && strcmp(halg, alg) != 0) {
		error = coffer_error_set(COFFER_EUNSUPPORTED,
		                         "broker resource answer: JWE alg '%.32s' does not fit the "
		                         "TEE key (%s)",
		                         halg, alg);
		goto out;
	}
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		const char *s = json_string_value(json_object_get(v, members[i]));
		if (s == NULL || !b64url_segment_ok(s, strlen(s))) {
			error = coffer_error_set(COFFER_EINVAL,
			                         "broker resource answer: not a flattened JWE "
			                         "('%s' missing or not base64url)",
			                         members[i]);
			goto out;
		}
	}
	if (json_object_get(v, "recipients") != NULL) {
		error = coffer_error_set(COFFER_EINVAL,
		                         "broker resource answer: a general JWE; expected the "
		                         "flattened form");
		goto out;
	}
	*out = v;
	v = NULL;
	error = 0;
out:
	free(raw);
	json_decref(hdr);
	json_decref(v);
	return error;
}

char *coffer_kbs_error_text(const char *body, size_t len)
{
	static const char prefix[] = "https://github.com/confidential-containers/kbs/errors/";
	json_t *v = NULL;
	const char *type, *detail, *variant;
	char *out = NULL;
	size_t n;

	if (body == NULL || len == 0 || len > KBSC_ANSWER_MAX ||
	    coffer_json_parse(&v, body, len, 0) < 0) {
		coffer_error_clear();
		return NULL;
	}
	type = json_string_value(json_object_get(v, "type"));
	detail = json_string_value(json_object_get(v, "detail"));
	if (type == NULL || detail == NULL) {
		json_decref(v);
		return NULL;
	}
	variant = strncmp(type, prefix, sizeof(prefix) - 1) == 0 ? type + sizeof(prefix) - 1 : type;
	n = strlen(variant) + strlen(detail) + 3;
	if (n > 512)
		n = 512;
	out = malloc(n);
	if (out) {
		snprintf(out, n, "%s: %s", variant, detail);
		for (char *p = out; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
				*p = '?';
	}
	json_decref(v);
	return out;
}
