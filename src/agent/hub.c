/*
 * The data hub: resources by kbs:/// URI and sealed secrets (PROTOCOL.md
 * section 6), on top of the attester and the KBS client.
 *
 * Sealed secret: sealed.<b64url header>.<b64url payload>.<b64url signature>,
 * an ES256 JWS whose `kid` names a P-256 JWK held by the broker. The key is
 * fetched through attestation like any secret, so a secret sealed by a key
 * the broker does not vouch for is refused. Then:
 *   vault     fetch the resource named by `name`;
 *   envelope  fetch the KEK named by `key_id` (32 bytes), unwrap the data key
 *             from `encrypted_key` (AES-256 key wrap, RFC 3394), decrypt
 *             `encrypted_data` with it (A256GCM: 12-byte iv, ciphertext||tag;
 *             A256CTR: 16-byte iv = initial counter block).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "coffer/codec.h"
#include "coffer/file.h"
#include "coffer/jose.h"
#include "coffer/json.h"
#include "coffer/kbs.h"
#include "agent.h"

#define SEALED_MAX     ((size_t)64 * 1024)
#define INIT_DATA_MAX  ((size_t)256 * 1024)
#define SEALED_VERSION "0.1.0"

static int evidence_cb(json_t **out, void *ctx, const uint8_t *rd, size_t len)
{
	return coffer_attester_evidence(out, ctx, rd, len);
}

int agent_setup(struct agent *a, bool need_broker)
{
	coffer_attester_opts ao = COFFER_ATTESTER_OPTS_INIT;
	coffer_kbs_client_opts ko = COFFER_KBS_CLIENT_OPTS_INIT;
	uint8_t *id = NULL;
	size_t id_len = 0;
	int error;

	ao.tsm_root = a->cfg.tsm_root;
	ao.sev_guest = a->cfg.sev_guest;
	ao.ccel = a->cfg.ccel;
	ao.allow_sample = a->cfg.allow_sample;
	if (a->cfg.snp_report && strcmp(a->cfg.snp_report, "object") == 0)
		ao.snp_report_object = true;
	else if (a->cfg.snp_report && strcmp(a->cfg.snp_report, "base64") != 0)
		return coffer_error_set(COFFER_EINVAL,
		                        "snp_report must be \"base64\" or \"object\", not '%s'",
		                        a->cfg.snp_report);
	if ((error = coffer_attester_open(&a->att, a->cfg.tee, &ao)) < 0)
		return coffer_error_wrap(error, "attester");
	if (strcmp(coffer_attester_tee(a->att), "sample") == 0)
		fprintf(stderr, "coffer-agent: WARNING: TEE 'sample' is for development only: no "
		                "hardware protection, brokers refuse it unless configured to "
		                "accept it\n");
	if (!need_broker)
		return 0;
	if (a->cfg.broker == NULL)
		return coffer_error_set(
		        COFFER_EINVAL,
		        "no broker: give --broker URL or [broker] url in the config");
	if (a->cfg.init_data) {
		if ((error = coffer_file_read(&id, &id_len, a->cfg.init_data, INIT_DATA_MAX)) < 0)
			return coffer_error_wrap(error, "init-data %s", a->cfg.init_data);
		a->init_data = (char *)id;
		a->init_data_len = id_len;
	}
	ko.url = a->cfg.broker;
	ko.cacert = a->cfg.cacert;
	ko.tee = coffer_attester_tee(a->att);
	ko.evidence = evidence_cb;
	ko.evidence_ctx = a->att;
	ko.key_type = a->cfg.key_type;
	ko.init_data = a->init_data;
	ko.init_data_len = a->init_data_len;
	ko.retries = a->cfg.retries;
	ko.backoff_ms = a->cfg.backoff_ms;
	ko.timeout_ms = a->cfg.timeout_ms;
	if ((error = coffer_kbs_client_new(&a->kbs, &ko)) < 0)
		return error;
	return 0;
}

void agent_teardown(struct agent *a)
{
	coffer_kbs_client_free(a->kbs);
	coffer_attester_free(a->att);
	free(a->init_data);
	a->kbs = NULL;
	a->att = NULL;
	a->init_data = NULL;
}

int agent_get_resource(coffer_secret *out, struct agent *a, const char *uri)
{
	coffer_kbs_resource_path p;
	char path[3 * (COFFER_KBS_SEGMENT_MAX + 1)];
	int error;

	if (strncmp(uri, "kbs:", 4) == 0) {
		if ((error = coffer_kbs_resource_uri_parse(&p, uri)) < 0)
			return error;
	} else if ((error = coffer_kbs_resource_path_parse(&p, uri, strlen(uri))) < 0) {
		return error;
	}
	if ((error = coffer_kbs_resource_path_format(path, sizeof(path), &p)) < 0)
		return error;
	return coffer_kbs_client_get_resource(out, a->kbs, path);
}

/* ---- sealed secrets ---- */

static int b64std_member(uint8_t **out, size_t *len, const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s == NULL)
		return coffer_error_set(COFFER_EINVAL, "sealed secret: '%s' missing", key);
	if (coffer_base64_decode(out, len, s, strlen(s), COFFER_B64_STD) < 0)
		return coffer_error_set(COFFER_EINVAL, "sealed secret: '%s' is not base64", key);
	return 0;
}

static int aes_kw_unwrap(coffer_secret *dek, const coffer_secret *kek, const uint8_t *wrapped,
                         size_t len)
{
	EVP_CIPHER *c = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	int n = 0, m = 0, error;

	if (kek->len != 32)
		return coffer_error_set(COFFER_EINVAL,
		                        "sealed secret: the key-encryption key is %zu bytes (need "
		                        "32)",
		                        kek->len);
	if (len != 40)
		return coffer_error_set(
		        COFFER_EINVAL,
		        "sealed secret: encrypted_key is %zu bytes (an AES key wrap "
		        "of a 32-byte key is 40)",
		        len);
	if ((error = coffer_secret_alloc(dek, 40)) < 0)
		return error;
	c = EVP_CIPHER_fetch(NULL, "AES-256-WRAP", NULL);
	ctx = EVP_CIPHER_CTX_new();
	if (c == NULL || ctx == NULL || !EVP_DecryptInit_ex2(ctx, c, kek->ptr, NULL, NULL)) {
		error = coffer_error_set_ssl(COFFER_ERROR, "AES key unwrap");
		goto out;
	}
	if (!EVP_DecryptUpdate(ctx, dek->ptr, &n, wrapped, (int)len) ||
	    !EVP_DecryptFinal_ex(ctx, dek->ptr + n, &m) || n + m != 32) {
		error = coffer_error_set_ssl(COFFER_EVERIFY,
		                             "sealed secret: the data key does not unwrap with the "
		                             "key from the broker");
		goto out;
	}
	error = coffer_secret_resize(dek, 32);
out:
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(c);
	return error;
}

static int data_decrypt(coffer_secret *out, const coffer_secret *dek, const char *wrap,
                        const uint8_t *iv, size_t iv_len, const uint8_t *data, size_t len)
{
	bool gcm = strcmp(wrap, "A256GCM") == 0;
	EVP_CIPHER *c = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	size_t ct_len = len;
	int n = 0, m = 0, error;

	if (!gcm && strcmp(wrap, "A256CTR") != 0)
		return coffer_error_set(COFFER_EUNSUPPORTED,
		                        "sealed secret: wrap_type '%.32s' (expected A256GCM or "
		                        "A256CTR)",
		                        wrap);
	if (iv_len != (gcm ? 12u : 16u))
		return coffer_error_set(COFFER_EINVAL, "sealed secret: iv of %zu bytes for %s",
		                        iv_len, wrap);
	if (gcm) {
		if (len < 16)
			return coffer_error_set(COFFER_EINVAL,
			                        "sealed secret: encrypted_data shorter than the "
			                        "GCM tag");
		ct_len = len - 16;
	}
	if (ct_len > INT32_MAX)
		return coffer_error_set(COFFER_ELIMIT, "sealed secret: data too large");
	if ((error = coffer_secret_alloc(out, ct_len + 16)) < 0)
		return error;
	c = EVP_CIPHER_fetch(NULL, gcm ? "AES-256-GCM" : "AES-256-CTR", NULL);
	ctx = EVP_CIPHER_CTX_new();
	if (c == NULL || ctx == NULL || !EVP_DecryptInit_ex2(ctx, c, dek->ptr, iv, NULL) ||
	    !EVP_DecryptUpdate(ctx, out->ptr, &n, data, (int)ct_len)) {
		error = coffer_error_set_ssl(COFFER_ERROR, "sealed secret: decrypt");
		goto out;
	}
	if (gcm && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *)(data + ct_len))) {
		error = coffer_error_set_ssl(COFFER_ERROR, "sealed secret: GCM tag");
		goto out;
	}
	if (!EVP_DecryptFinal_ex(ctx, out->ptr + n, &m)) {
		error = coffer_error_set(
		        COFFER_EVERIFY, "sealed secret: encrypted_data fails authentication (wrong "
		                        "key or tampered data)");
		goto out;
	}
	error = coffer_secret_resize(out, (size_t)n + (size_t)m);
out:
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(c);
	if (error < 0)
		coffer_secret_free(out);
	return error;
}

static int unseal_envelope(coffer_secret *out, struct agent *a, const json_t *p)
{
	coffer_secret kek = COFFER_SECRET_INIT, dek = COFFER_SECRET_INIT;
	const char *key_id = json_string_value(json_object_get(p, "key_id"));
	const char *wrap = json_string_value(json_object_get(p, "wrap_type"));
	uint8_t *ek = NULL, *data = NULL, *iv = NULL;
	size_t ek_len = 0, data_len = 0, iv_len = 0;
	int error;

	if (key_id == NULL || wrap == NULL) {
		error = coffer_error_set(COFFER_EINVAL,
		                         "sealed secret: envelope needs key_id and wrap_type");
		goto out;
	}
	if (strcmp(wrap, "A256GCM") != 0 && strcmp(wrap, "A256CTR") != 0) {
		error = coffer_error_set(COFFER_EUNSUPPORTED,
		                         "sealed secret: wrap_type '%.32s' (expected A256GCM or "
		                         "A256CTR)",
		                         wrap);
		goto out;
	}
	if ((error = b64std_member(&ek, &ek_len, p, "encrypted_key")) < 0 ||
	    (error = b64std_member(&data, &data_len, p, "encrypted_data")) < 0 ||
	    (error = b64std_member(&iv, &iv_len, p, "iv")) < 0)
		goto out;
	if ((error = agent_get_resource(&kek, a, key_id)) < 0) {
		error = coffer_error_wrap(error, "sealed secret: key %s", key_id);
		goto out;
	}
	if ((error = aes_kw_unwrap(&dek, &kek, ek, ek_len)) < 0)
		goto out;
	error = data_decrypt(out, &dek, wrap, iv, iv_len, data, data_len);
out:
	coffer_secret_free(&kek);
	coffer_secret_free(&dek);
	free(ek);
	free(data);
	free(iv);
	return error;
}

int agent_unseal(coffer_secret *out, struct agent *a, const char *sealed, size_t len)
{
	static const char prefix[] = "sealed.";
	coffer_secret keytext = COFFER_SECRET_INIT;
	coffer_jwk *key = NULL;
	coffer_jws *jws = NULL;
	json_t *hdr = NULL, *payload = NULL;
	const char *compact, *dot, *alg, *kid, *version, *type, *provider;
	uint8_t *raw = NULL;
	size_t clen, raw_len = 0;
	int error;

	while (len > 0 &&
	       (sealed[len - 1] == '\n' || sealed[len - 1] == '\r' || sealed[len - 1] == ' '))
		len--;
	if (len > SEALED_MAX)
		return coffer_error_set(COFFER_ELIMIT, "sealed secret larger than %zu bytes",
		                        SEALED_MAX);
	if (len < sizeof(prefix) || memcmp(sealed, prefix, sizeof(prefix) - 1) != 0)
		return coffer_error_set(COFFER_EINVAL, "not a sealed secret (no 'sealed.' prefix)");
	compact = sealed + sizeof(prefix) - 1;
	clen = len - (sizeof(prefix) - 1);
	if (memchr(compact, '\0', clen) != NULL)
		return coffer_error_set(COFFER_EINVAL, "sealed secret: NUL byte");
	/* the header first: it names the verification key */
	dot = memchr(compact, '.', clen);
	if (dot == NULL)
		return coffer_error_set(COFFER_EINVAL,
		                        "sealed secret: not header.payload.signature");
	if (coffer_base64_decode(&raw, &raw_len, compact, (size_t)(dot - compact),
	                         COFFER_B64_URL_NOPAD) < 0 ||
	    coffer_json_parse(&hdr, (const char *)raw, raw_len, 0) < 0 || !json_is_object(hdr)) {
		error = coffer_error_set(COFFER_EINVAL,
		                         "sealed secret: the header is not base64url JSON");
		goto out;
	}
	alg = json_string_value(json_object_get(hdr, "alg"));
	kid = json_string_value(json_object_get(hdr, "kid"));
	if (alg == NULL || strcmp(alg, "ES256") != 0) {
		error = coffer_error_set(COFFER_EUNSUPPORTED,
		                         "sealed secret: header alg must be ES256");
		goto out;
	}
	if (kid == NULL || strncmp(kid, "kbs:///", 7) != 0) {
		error = coffer_error_set(COFFER_EINVAL,
		                         "sealed secret: header kid must be a kbs:/// URI");
		goto out;
	}
	if ((error = agent_get_resource(&keytext, a, kid)) < 0) {
		error = coffer_error_wrap(error, "sealed secret: verification key %s", kid);
		goto out;
	}
	if ((error = coffer_jwk_parse(&key, (const char *)keytext.ptr, keytext.len)) < 0) {
		error = coffer_error_wrap(error, "sealed secret: verification key %s", kid);
		goto out;
	}
	if (strcmp(coffer_jwk_kty(key), "EC") != 0 || coffer_jwk_crv(key) == NULL ||
	    strcmp(coffer_jwk_crv(key), "P-256") != 0) {
		error = coffer_error_set(COFFER_EINVAL,
		                         "sealed secret: verification key %s is not an EC P-256 "
		                         "key",
		                         kid);
		goto out;
	}
	if ((error = coffer_jws_verify(&jws, compact, clen, &key, 1)) < 0) {
		error = coffer_error_wrap(error == COFFER_EINVAL ? COFFER_EINVAL : COFFER_EVERIFY,
		                          "sealed secret: signature");
		goto out;
	}
	if ((error = coffer_json_parse(&payload, (const char *)jws->payload, jws->payload_len, 0)) <
	            0 ||
	    !json_is_object(payload)) {
		error = coffer_error_set(COFFER_EINVAL,
		                         "sealed secret: payload is not a JSON object");
		goto out;
	}
	version = json_string_value(json_object_get(payload, "version"));
	type = json_string_value(json_object_get(payload, "type"));
	provider = json_string_value(json_object_get(payload, "provider"));
	if (version == NULL || strcmp(version, SEALED_VERSION) != 0) {
		error = coffer_error_set(COFFER_EUNSUPPORTED,
		                         "sealed secret: version must be \"" SEALED_VERSION "\"");
		goto out;
	}
	if (provider != NULL && strcmp(provider, "kbs") != 0) {
		error = coffer_error_set(COFFER_EUNSUPPORTED,
		                         "sealed secret: provider '%.32s' (only kbs)", provider);
		goto out;
	}
	if (type && strcmp(type, "vault") == 0) {
		const char *name = json_string_value(json_object_get(payload, "name"));
		if (name == NULL) {
			error = coffer_error_set(COFFER_EINVAL, "sealed secret: vault needs name");
			goto out;
		}
		error = agent_get_resource(out, a, name);
	} else if (type && strcmp(type, "envelope") == 0) {
		error = unseal_envelope(out, a, payload);
	} else {
		error = coffer_error_set(COFFER_EUNSUPPORTED,
		                         "sealed secret: type must be vault or envelope");
	}
out:
	coffer_secret_free(&keytext);
	coffer_jwk_free(key);
	coffer_jws_free(jws);
	json_decref(hdr);
	json_decref(payload);
	free(raw);
	return error;
}
