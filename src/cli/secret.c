/*
 * coffer secret seal: make a sealed secret (PROTOCOL.md section 6) that a
 * Kubernetes Secret can carry through the untrusted control plane; only an
 * attested coffer-agent can open it.
 *
 *   vault:    the payload names a broker resource; nothing secret inside.
 *   envelope: a fresh 32-byte data key encrypts the value (A256GCM or
 *             A256CTR); the data key is wrapped (AES-256 key wrap, RFC 3394)
 *             under the key-encryption key that the broker holds at --key-id.
 * The whole is an ES256 JWS whose kid names the P-256 public key the broker
 * holds, so the agent refuses a secret sealed by anyone else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "coffer/codec.h"
#include "coffer/file.h"
#include "coffer/jose.h"
#include "coffer/json.h"
#include "coffer/kbs.h"
#include "cli.h"

const char cmd_secret_help[] = "seal a secret for coffer-agent (vault or envelope)";

#define VALUE_MAX ((size_t)32 * 1024)

static void usage(FILE *f)
{
	fprintf(f, "usage: coffer secret seal --key signer.jwk --kid kbs:///<repo>/<type>/<tag>\n"
	           "         --type vault --name kbs:///<repo>/<type>/<tag>\n"
	           "       | --type envelope --key-id kbs:///... --kek kek.bin [--wrap "
	           "A256GCM|A256CTR] [--in FILE]\n"
	           "         [--out FILE]\n"
	           "  --key   EC P-256 private key (JWK or PEM) that signs the sealed secret\n"
	           "  --kid   where the broker holds its public JWK (the agent fetches it)\n"
	           "  --name  vault: the resource the agent fetches when unsealing\n"
	           "  --key-id, --kek  envelope: the broker resource holding the 32-byte key-\n"
	           "          encryption key, and a local copy of that key (raw 32 bytes)\n"
	           "  --in    envelope: the value (default stdin, at most 32 KiB)\n"
	           "Output: one line 'sealed.<header>.<payload>.<signature>'.\n");
}

static int check_uri(const char *what, const char *uri)
{
	coffer_kbs_resource_path p;

	if (uri == NULL) {
		cli_error("secret", "%s is required", what);
		return CLI_USAGE;
	}
	if (coffer_kbs_resource_uri_parse(&p, uri) < 0) {
		cli_error("secret", "%s: %s", what, coffer_error_last());
		return CLI_USAGE;
	}
	return 0;
}

static int b64_set(json_t *o, const char *key, const uint8_t *d, size_t n)
{
	char *s = NULL;
	int error;

	if ((error = coffer_base64_encode(&s, NULL, d, n, COFFER_B64_STD)) < 0)
		return error;
	error = json_object_set_new(o, key, json_string(s)) < 0 ? COFFER_ENOMEM : 0;
	free(s);
	return error;
}

/* envelope members: encrypted_key, encrypted_data, iv */
static int envelope(json_t *p, const coffer_secret *kek, const char *wrap,
                    const coffer_secret *value)
{
	bool gcm = strcmp(wrap, "A256GCM") == 0;
	coffer_secret dek = COFFER_SECRET_INIT;
	uint8_t iv[16], wrapped[40], *ct = NULL;
	size_t iv_len = gcm ? 12 : 16;
	EVP_CIPHER *c = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	int n = 0, m = 0, error = COFFER_ERROR;

	ct = malloc(value->len + 16 + 16);
	if (ct == NULL || coffer_secret_alloc(&dek, 32) < 0 || RAND_bytes(dek.ptr, 32) != 1 ||
	    RAND_bytes(iv, (int)iv_len) != 1)
		goto out;
	/* the data key under the KEK */
	c = EVP_CIPHER_fetch(NULL, "AES-256-WRAP", NULL);
	ctx = EVP_CIPHER_CTX_new();
	if (c == NULL || ctx == NULL || !EVP_EncryptInit_ex2(ctx, c, kek->ptr, NULL, NULL) ||
	    !EVP_EncryptUpdate(ctx, wrapped, &n, dek.ptr, 32) ||
	    !EVP_EncryptFinal_ex(ctx, wrapped + n, &m) || n + m != 40)
		goto out;
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(c);
	/* the value under the data key */
	c = EVP_CIPHER_fetch(NULL, gcm ? "AES-256-GCM" : "AES-256-CTR", NULL);
	ctx = EVP_CIPHER_CTX_new();
	if (c == NULL || ctx == NULL || !EVP_EncryptInit_ex2(ctx, c, dek.ptr, iv, NULL) ||
	    !EVP_EncryptUpdate(ctx, ct, &n, value->ptr, (int)value->len) ||
	    !EVP_EncryptFinal_ex(ctx, ct + n, &m))
		goto out;
	n += m;
	if (gcm && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, ct + n))
		goto out;
	if (gcm)
		n += 16;
	if (b64_set(p, "encrypted_key", wrapped, 40) < 0 ||
	    b64_set(p, "encrypted_data", ct, (size_t)n) < 0 || b64_set(p, "iv", iv, iv_len) < 0)
		goto out;
	error = 0;
out:
	if (error < 0)
		coffer_error_set_ssl(COFFER_ERROR, "envelope encryption failed");
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(c);
	coffer_secret_free(&dek);
	if (ct)
		coffer_free_wiped(ct, value->len + 32);
	return error;
}

static int seal(int argc, char **argv)
{
	const char *key_path = NULL, *kid = NULL, *type = NULL, *name = NULL, *key_id = NULL,
	           *kek_path = NULL, *wrap = "A256GCM", *in = "-", *out = NULL;
	coffer_secret kek = COFFER_SECRET_INIT, value = COFFER_SECRET_INIT;
	coffer_jwk *key = NULL;
	json_t *payload = NULL, *hdr = NULL;
	char *ptext = NULL, *jws = NULL;
	size_t plen = 0;
	int rc = CLI_INTERNAL, error;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char **dst = NULL;
		if (strcmp(o, "--key") == 0)
			dst = &key_path;
		else if (strcmp(o, "--kid") == 0)
			dst = &kid;
		else if (strcmp(o, "--type") == 0)
			dst = &type;
		else if (strcmp(o, "--name") == 0)
			dst = &name;
		else if (strcmp(o, "--key-id") == 0)
			dst = &key_id;
		else if (strcmp(o, "--kek") == 0)
			dst = &kek_path;
		else if (strcmp(o, "--wrap") == 0)
			dst = &wrap;
		else if (strcmp(o, "--in") == 0)
			dst = &in;
		else if (strcmp(o, "--out") == 0)
			dst = &out;
		if (dst == NULL || v == NULL) {
			cli_error("secret", "%s: %s", o, dst ? "needs a value" : "unknown option");
			usage(stderr);
			return CLI_USAGE;
		}
		*dst = v;
		i++;
	}
	if (key_path == NULL || type == NULL) {
		cli_error("secret", "--key and --type are required");
		return CLI_USAGE;
	}
	if ((rc = check_uri("--kid", kid)) != 0)
		return rc;
	if ((error = coffer_jwk_load(&key, key_path)) < 0) {
		cli_error("secret", "%s: %s", key_path, coffer_error_last());
		return CLI_USAGE;
	}
	if (!coffer_jwk_has_private(key) || strcmp(coffer_jwk_kty(key), "EC") != 0 ||
	    strcmp(coffer_jwk_crv(key), "P-256") != 0) {
		cli_error("secret", "--key must be an EC P-256 private key");
		rc = CLI_USAGE;
		goto out;
	}
	payload = json_pack("{s:s,s:s,s:s}", "version", "0.1.0", "type", type, "provider", "kbs");
	if (payload == NULL)
		goto out;
	if (strcmp(type, "vault") == 0) {
		if ((rc = check_uri("--name", name)) != 0)
			goto out;
		if (json_object_set_new(payload, "name", json_string(name)) < 0 ||
		    json_object_set_new(payload, "provider_settings", json_object()) < 0 ||
		    json_object_set_new(payload, "annotations", json_object()) < 0) {
			rc = CLI_INTERNAL;
			goto out;
		}
	} else if (strcmp(type, "envelope") == 0) {
		if ((rc = check_uri("--key-id", key_id)) != 0)
			goto out;
		if (strcmp(wrap, "A256GCM") != 0 && strcmp(wrap, "A256CTR") != 0) {
			cli_error("secret", "--wrap must be A256GCM or A256CTR");
			rc = CLI_USAGE;
			goto out;
		}
		if (kek_path == NULL || (error = coffer_file_read_secret(&kek, kek_path, 64)) < 0 ||
		    kek.len != 32) {
			cli_error("secret", "--kek: a file of exactly 32 bytes is required%s%s",
			          kek_path ? ": " : "", kek_path ? coffer_error_last() : "");
			rc = CLI_USAGE;
			goto out;
		}
		if ((error = coffer_file_read_secret(&value, in, VALUE_MAX)) < 0) {
			cli_error("secret", "%s: %s", in, coffer_error_last());
			rc = CLI_USAGE;
			goto out;
		}
		if (json_object_set_new(payload, "key_id", json_string(key_id)) < 0 ||
		    json_object_set_new(payload, "wrap_type", json_string(wrap)) < 0 ||
		    envelope(payload, &kek, wrap, &value) < 0 ||
		    json_object_set_new(payload, "provider_settings", json_object()) < 0 ||
		    json_object_set_new(payload, "annotations", json_object()) < 0) {
			cli_error("secret", NULL);
			rc = CLI_INTERNAL;
			goto out;
		}
	} else {
		cli_error("secret", "--type must be vault or envelope");
		rc = CLI_USAGE;
		goto out;
	}
	hdr = json_pack("{s:s}", "kid", kid);
	if (hdr == NULL || coffer_json_dump(&ptext, &plen, payload) < 0 ||
	    coffer_jws_sign(&jws, key, "ES256", hdr, (const uint8_t *)ptext, plen) < 0) {
		cli_error("secret", NULL);
		rc = CLI_INTERNAL;
		goto out;
	}
	{
		coffer_buf b = COFFER_BUF_INIT;
		if (coffer_buf_printf(&b, "sealed.%s\n", jws) < 0 ||
		    (out ? coffer_file_write(out, b.ptr, b.len, 0644)
		         : coffer_write_all(1, b.ptr, b.len)) < 0) {
			coffer_buf_free(&b);
			cli_error("secret", NULL);
			rc = CLI_INTERNAL;
			goto out;
		}
		coffer_buf_free(&b);
	}
	rc = CLI_OK;
out:
	coffer_jwk_free(key);
	coffer_secret_free(&kek);
	coffer_secret_free(&value);
	json_decref(payload);
	json_decref(hdr);
	if (ptext)
		coffer_free_wiped(ptext, plen);
	free(jws);
	return rc;
}

int cmd_secret(int argc, char **argv)
{
	int rc;

	if (argc >= 2 && strcmp(argv[1], "seal") != 0 && !cli_is_help(argv[1])) {
		cli_error("secret", "unknown subcommand '%s' (seal)", argv[1]);
		return CLI_USAGE;
	}
	if (cli_help_or_usage(&rc, argc, argv, usage))
		return rc;
	return seal(argc - 1, argv + 1);
}
