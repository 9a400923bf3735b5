/*
 * JWE (RFC 7516) with alg ECDH-ES+A256KW, RSA-OAEP-256, RSA-OAEP, RSA1_5 and
 * enc A256GCM, in compact, flattened and general JSON serializations.
 *
 * The flattened form is what the broker returns for every resource, so the
 * encrypt path writes the protected header and the members straight into one
 * buffer: no JSON tree is built and re-serialized for the header.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "coffer/codec.h"
#include "jose/jose_internal.h"

#define CEK_LEN 32
#define IV_LEN  12
#define TAG_LEN 16
#define EK_MAX  (JOSE_RSA_MAX_BITS / 8)

enum jwe_alg { JWE_ECDH_A256KW = 0, JWE_RSA_OAEP_256, JWE_RSA_OAEP, JWE_RSA1_5, JWE_NALG };

static const char *const jwe_alg_names[JWE_NALG] = {
	"ECDH-ES+A256KW",
	"RSA-OAEP-256",
	"RSA-OAEP",
	"RSA1_5",
};

/* One message used when a key does not open a JWE, whatever the reason, so
 * that decryption is no oracle (wrong key, bad wrap, bad padding, bad tag). */
#define DECRYPT_FAILED "JWE decryption failed"

static int alg_lookup(const char *s)
{
	for (int i = 0; i < JWE_NALG; i++)
		if (strcmp(s, jwe_alg_names[i]) == 0)
			return i;
	return -1;
}

static bool alg_fits_key(enum jwe_alg a, const coffer_jwk *k)
{
	if (a == JWE_ECDH_A256KW)
		return k->kty == JOSE_KTY_EC;
	return k->kty == JOSE_KTY_RSA;
}

static int resolve_alg(enum jwe_alg *out, const coffer_jwk *k, const char *alg, bool allow_rsa1_5)
{
	int a;

	if (alg == NULL)
		alg = k->alg;
	if (alg == NULL) {
		if (k->kty == JOSE_KTY_EC)
			alg = "ECDH-ES+A256KW";
		else if (k->kty == JOSE_KTY_RSA)
			alg = "RSA-OAEP-256";
		else
			return coffer_error_set(COFFER_EUNSUPPORTED,
			                        "JWE: no key management algorithm for %s keys",
			                        coffer_jwk_kty(k));
	}
	a = alg_lookup(alg);
	if (a < 0)
		return coffer_error_set(COFFER_EUNSUPPORTED, "JWE: unsupported alg \"%s\"", alg);
	if (a == JWE_RSA1_5 && !allow_rsa1_5)
		return coffer_error_set(COFFER_EUNSUPPORTED,
		                        "JWE: RSA1_5 is refused unless explicitly allowed");
	if (!alg_fits_key((enum jwe_alg)a, k))
		return coffer_error_set(COFFER_EINVAL, "JWE: alg %s does not fit a %s key", alg,
		                        coffer_jwk_kty(k));
	if (!jose_key_allows(k, alg, true))
		return coffer_error_set(COFFER_EDENIED, "JWE: the key does not allow alg %s", alg);
	*out = (enum jwe_alg)a;
	return 0;
}

/* ---- content encryption: A256GCM ---- */

int jose_a256gcm_seal(uint8_t *ct, uint8_t *tag, const uint8_t *cek, const uint8_t *iv,
                      const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, ok;

	if (c == NULL)
		return coffer_error_set_ssl(COFFER_ENOMEM, "EVP_CIPHER_CTX_new");
	ok = EVP_EncryptInit_ex(c, jose_aes256gcm(), NULL, cek, iv) == 1 &&
	     EVP_EncryptUpdate(c, NULL, &n, aad, (int)aadlen) == 1 &&
	     (len == 0 || EVP_EncryptUpdate(c, ct, &n, pt, (int)len) == 1) &&
	     EVP_EncryptFinal_ex(c, ct + (len ? (size_t)n : 0), &n) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		return coffer_error_set_ssl(COFFER_ERROR, "AES-256-GCM encryption failed");
	return 0;
}

static int gcm_open(coffer_secret *out, const uint8_t *cek, const uint8_t *iv, const uint8_t *aad,
                    size_t aadlen, const uint8_t *ct, size_t len, const uint8_t *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, m = 0, ok, error;

	if (c == NULL)
		return coffer_error_set_ssl(COFFER_ENOMEM, "EVP_CIPHER_CTX_new");
	if ((error = coffer_secret_alloc(out, len)) < 0) {
		EVP_CIPHER_CTX_free(c);
		return error;
	}
	ok = EVP_DecryptInit_ex(c, jose_aes256gcm(), NULL, cek, iv) == 1 &&
	     EVP_DecryptUpdate(c, NULL, &n, aad, (int)aadlen) == 1 &&
	     (len == 0 || EVP_DecryptUpdate(c, out->ptr, &n, ct, (int)len) == 1) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, (void *)tag) == 1 &&
	     EVP_DecryptFinal_ex(c, out->ptr + (len ? (size_t)n : 0), &m) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok) {
		ERR_clear_error();
		coffer_secret_free(out);
		return COFFER_EVERIFY;
	}
	return 0;
}

/* ---- key management, encrypt side ---- */

typedef struct wrapped {
	uint8_t ek[EK_MAX];
	size_t eklen;
	uint8_t epk[2 * 66]; /* ECDH: ephemeral x || y */
	size_t clen;
} wrapped;

static int rsa_ctx_setup(EVP_PKEY_CTX *c, enum jwe_alg a)
{
	const EVP_MD *md;

	if (a == JWE_RSA1_5)
		return EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1;
	md = jose_md(a == JWE_RSA_OAEP ? "SHA1" : "SHA256");
	return EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
	       EVP_PKEY_CTX_set_rsa_oaep_md(c, md) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(c, md) == 1;
}

static int wrap_cek(wrapped *w, const coffer_jwk *k, enum jwe_alg a, const uint8_t *cek)
{
	EVP_PKEY_CTX *c = NULL;
	coffer_secret z = COFFER_SECRET_INIT;
	uint8_t kek[32];
	int error = 0;

	if (a == JWE_ECDH_A256KW) {
		/* RFC 7518 section 4.6: an ephemeral key on the recipient's curve
		 * (ec.c) */
		w->clen = jose_curves[k->crv].len;
		if ((error = jose_ecdh_es(&z, w->epk, k)) < 0 ||
		    (error = jose_concat_kdf(kek, sizeof(kek), z.ptr, z.len, "ECDH-ES+A256KW", NULL,
		                             0, NULL, 0)) < 0)
			goto out;
		if (jose_aes_kw(w->ek, &w->eklen, kek, sizeof(kek), cek, CEK_LEN, true) < 0) {
			error = coffer_error_set_ssl(COFFER_ERROR, "AES key wrap failed");
			goto out;
		}
	} else {
		w->eklen = sizeof(w->ek);
		c = EVP_PKEY_CTX_new_from_pkey(NULL, jose_pkey(k), NULL);
		if (c == NULL || EVP_PKEY_encrypt_init(c) != 1 || !rsa_ctx_setup(c, a) ||
		    EVP_PKEY_encrypt(c, w->ek, &w->eklen, cek, CEK_LEN) != 1) {
			error = coffer_error_set_ssl(COFFER_ERROR, "RSA encryption of the CEK");
			goto out;
		}
	}
out:
	coffer_wipe(kek, sizeof(kek));
	coffer_secret_free(&z);
	EVP_PKEY_CTX_free(c);
	return error;
}

/* The ephemeral key, members sorted: {"crv":..,"kty":"EC","x":..,"y":..}. */
static int put_epk(coffer_buf *b, const coffer_jwk *k, const wrapped *w)
{
	int error;

	if ((error = coffer_buf_printf(b, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"",
	                               jose_curves[k->crv].jwk_name)) < 0 ||
	    (error = jose_b64_put(b, w->epk, w->clen)) < 0 ||
	    (error = coffer_buf_puts(b, "\",\"y\":\"")) < 0 ||
	    (error = jose_b64_put(b, w->epk + w->clen, w->clen)) < 0)
		return error;
	return coffer_buf_puts(b, "\"}");
}

/* PROTOCOL.md section 2: alg, enc, then the other members sorted. */
static int put_protected(coffer_buf *b, const coffer_jwk *k, enum jwe_alg a, const wrapped *w)
{
	int error;

	if ((error = coffer_buf_printf(b, "{\"alg\":\"%s\",\"enc\":\"A256GCM\"",
	                               jwe_alg_names[a])) < 0)
		return error;
	if (a == JWE_ECDH_A256KW) {
		if ((error = coffer_buf_puts(b, ",\"epk\":")) < 0 || (error = put_epk(b, k, w)) < 0)
			return error;
	}
	return coffer_buf_putc(b, '}');
}

/* A compact JWE in `out`, with the offsets of its five parts. */
typedef struct jwe_text {
	coffer_buf buf;
	size_t off[5], len[5];
} jwe_text;

/* A fresh CEK and IV from one call to the DRBG (each call takes its lock
 * and re-keys it). */
static int draw_cek_iv(uint8_t *cek, uint8_t iv[IV_LEN])
{
	uint8_t rnd[CEK_LEN + IV_LEN];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return coffer_error_set_ssl(COFFER_ERROR, "RAND_bytes");
	memcpy(cek, rnd, CEK_LEN);
	memcpy(iv, rnd + CEK_LEN, IV_LEN);
	coffer_wipe(rnd, sizeof(rnd));
	return 0;
}

static int encrypt_one(jwe_text *t, const coffer_jwk *k, const char *alg, bool allow_rsa1_5,
                       const uint8_t *pt, size_t len)
{
	coffer_secret cek = COFFER_SECRET_INIT;
	coffer_buf hdr = COFFER_BUF_INIT_MAX(4096);
	wrapped *w = NULL;
	uint8_t iv[IV_LEN], tag[TAG_LEN], *ct = NULL;
	size_t total;
	enum jwe_alg a;
	int error;

	/* empty first: every failure below frees it */
	coffer_buf_init(&t->buf, COFFER_BUF_DEFAULT_MAX);
	if ((error = resolve_alg(&a, k, alg, allow_rsa1_5)) < 0)
		return error;
	if (len > JOSE_MAX_INPUT)
		return coffer_error_set(COFFER_ELIMIT, "JWE: plaintext larger than %zu bytes",
		                        JOSE_MAX_INPUT);
	w = malloc(sizeof(*w));
	ct = malloc(len ? len : 1);
	if (w == NULL || ct == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	if ((error = coffer_secret_alloc(&cek, CEK_LEN)) < 0)
		goto out;
	if ((error = draw_cek_iv(cek.ptr, iv)) < 0)
		goto out;
	if ((error = wrap_cek(w, k, a, cek.ptr)) < 0 || (error = put_protected(&hdr, k, a, w)) < 0)
		goto out;
	/* reserve everything up front: the AAD (the protected member) must not move */
	total = coffer_base64_encoded_len(hdr.len, COFFER_B64_URL_NOPAD) +
	        coffer_base64_encoded_len(w->eklen, COFFER_B64_URL_NOPAD) + 16 +
	        coffer_base64_encoded_len(len, COFFER_B64_URL_NOPAD) + 22 + 4;
	coffer_buf_init(&t->buf, total + 1);
	if ((error = coffer_buf_reserve(&t->buf, total)) < 0)
		goto out;
	t->off[0] = 0;
	if ((error = jose_b64_put(&t->buf, hdr.ptr, hdr.len)) < 0)
		goto out;
	t->len[0] = t->buf.len;
	error = coffer_buf_putc(&t->buf, '.');
	t->off[1] = t->buf.len;
	if (error < 0 || (error = jose_b64_put(&t->buf, w->ek, w->eklen)) < 0)
		goto out;
	t->len[1] = t->buf.len - t->off[1];
	error = coffer_buf_putc(&t->buf, '.');
	t->off[2] = t->buf.len;
	if (error < 0 || (error = jose_b64_put(&t->buf, iv, IV_LEN)) < 0)
		goto out;
	t->len[2] = t->buf.len - t->off[2];
	if ((error = jose_a256gcm_seal(ct, tag, cek.ptr, iv, t->buf.ptr, t->len[0], pt, len)) < 0)
		goto out;
	error = coffer_buf_putc(&t->buf, '.');
	t->off[3] = t->buf.len;
	if (error < 0 || (error = jose_b64_put(&t->buf, ct, len)) < 0)
		goto out;
	t->len[3] = t->buf.len - t->off[3];
	error = coffer_buf_putc(&t->buf, '.');
	t->off[4] = t->buf.len;
	if (error < 0 || (error = jose_b64_put(&t->buf, tag, TAG_LEN)) < 0)
		goto out;
	t->len[4] = t->buf.len - t->off[4];
out:
	if (error < 0)
		coffer_buf_free(&t->buf);
	coffer_secret_free(&cek);
	coffer_buf_free(&hdr);
	free(w);
	free(ct);
	return error;
}

static const char *const flat_names[5] = { "protected", "encrypted_key", "iv", "ciphertext",
	                                   "tag" };

static int encrypt_flat(json_t **out, const coffer_jwk *k, const char *alg, bool allow_rsa1_5,
                        const uint8_t *pt, size_t len)
{
	jwe_text t;
	json_t *o;
	int error;

	*out = NULL;
	if ((error = encrypt_one(&t, k, alg, allow_rsa1_5, pt, len)) < 0)
		return error;
	o = json_object();
	for (int i = 0; o != NULL && i < 5; i++) {
		json_t *s = json_stringn_nocheck((const char *)t.buf.ptr + t.off[i], t.len[i]);
		if (s == NULL || json_object_set_new_nocheck(o, flat_names[i], s) != 0) {
			json_decref(o);
			o = NULL;
		}
	}
	coffer_buf_free(&t.buf);
	if (o == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	*out = o;
	return 0;
}

int coffer_jwe_encrypt(json_t **out, const coffer_jwk *recipient, const char *alg,
                       const uint8_t *plaintext, size_t len)
{
	return encrypt_flat(out, recipient, alg, false, plaintext, len);
}

int coffer_jwe_encrypt_with(json_t **out, const coffer_jwk *recipient, const char *alg,
                            const coffer_jwe_encrypt_opts *opts, const uint8_t *plaintext,
                            size_t len)
{
	if (opts != NULL && opts->version != COFFER_JWE_ENCRYPT_OPTS_VERSION)
		return coffer_error_set(COFFER_EINVAL, "JWE: unknown options version");
	return encrypt_flat(out, recipient, alg, opts != NULL && opts->allow_rsa1_5, plaintext,
	                    len);
}

static int encrypt_compact(char **out, const coffer_jwk *k, const char *alg, bool allow_rsa1_5,
                           const uint8_t *pt, size_t len)
{
	jwe_text t;
	int error;

	*out = NULL;
	if ((error = encrypt_one(&t, k, alg, allow_rsa1_5, pt, len)) < 0)
		return error;
	*out = (char *)coffer_buf_detach(&t.buf, NULL);
	if (*out == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	return 0;
}

int coffer_jwe_encrypt_compact(char **out, const coffer_jwk *recipient, const char *alg,
                               const uint8_t *plaintext, size_t len)
{
	return encrypt_compact(out, recipient, alg, false, plaintext, len);
}

int coffer_jwe_encrypt_compact_with(char **out, const coffer_jwk *recipient, const char *alg,
                                    const coffer_jwe_encrypt_opts *opts, const uint8_t *plaintext,
                                    size_t len)
{
	if (opts != NULL && opts->version != COFFER_JWE_ENCRYPT_OPTS_VERSION)
		return coffer_error_set(COFFER_EINVAL, "JWE: unknown options version");
	return encrypt_compact(out, recipient, alg, opts != NULL && opts->allow_rsa1_5, plaintext,
	                       len);
}

/* General serialization: protected {"enc":"A256GCM"}, and per recipient a
 * "header" with alg (and epk, kid) and its encrypted_key (RFC 7516 7.2.1). */
int coffer_jwe_encrypt_general(json_t **out, coffer_jwk *const *recipients, const char **algs,
                               size_t n, const uint8_t *plaintext, size_t len)
{
	static const char prot[] = "eyJlbmMiOiJBMjU2R0NNIn0"; /* {"enc":"A256GCM"} */
	coffer_secret cek = COFFER_SECRET_INIT;
	coffer_buf b = COFFER_BUF_INIT;
	json_t *o = NULL, *rs = NULL;
	wrapped *w = NULL;
	uint8_t iv[IV_LEN], tag[TAG_LEN], *ct = NULL;
	int error;

	*out = NULL;
	if (n == 0 || n > JOSE_MAX_RECIPIENTS)
		return coffer_error_set(COFFER_EINVAL, "JWE: %zu recipients (1..%d allowed)", n,
		                        JOSE_MAX_RECIPIENTS);
	if (len > JOSE_MAX_INPUT)
		return coffer_error_set(COFFER_ELIMIT, "JWE: plaintext larger than %zu bytes",
		                        JOSE_MAX_INPUT);
	w = malloc(sizeof(*w));
	ct = malloc(len ? len : 1);
	o = json_object();
	rs = json_array();
	if (w == NULL || ct == NULL || o == NULL || rs == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	if ((error = coffer_secret_alloc(&cek, CEK_LEN)) < 0)
		goto out;
	if ((error = draw_cek_iv(cek.ptr, iv)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const coffer_jwk *k = recipients[i];
		json_t *r = NULL, *h = NULL, *epk = NULL;
		enum jwe_alg a;

		if ((error = resolve_alg(&a, k, algs ? algs[i] : NULL, false)) < 0 ||
		    (error = wrap_cek(w, k, a, cek.ptr)) < 0)
			goto out;
		coffer_buf_clear(&b);
		if (a == JWE_ECDH_A256KW && (error = put_epk(&b, k, w)) < 0)
			goto out;
		h = json_pack("{s:s}", "alg", jwe_alg_names[a]);
		if (h != NULL && a == JWE_ECDH_A256KW) {
			epk = json_loadb((const char *)b.ptr, b.len, 0, NULL);
			if (epk == NULL || json_object_set_new(h, "epk", epk) != 0) {
				json_decref(h);
				h = NULL;
			}
		}
		if (h != NULL && k->kid != NULL &&
		    json_object_set_new(h, "kid", json_string(k->kid)) != 0) {
			json_decref(h);
			h = NULL;
		}
		coffer_buf_clear(&b);
		if (h == NULL || (error = jose_b64_put(&b, w->ek, w->eklen)) < 0) {
			json_decref(h);
			error = error < 0 ? error
			                  : coffer_error_set(COFFER_ENOMEM, "out of memory");
			goto out;
		}
		r = json_pack("{s:o,s:s}", "header", h, "encrypted_key", (const char *)b.ptr);
		if (r == NULL || json_array_append_new(rs, r) != 0) {
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			goto out;
		}
	}
	if ((error = jose_a256gcm_seal(ct, tag, cek.ptr, iv, (const uint8_t *)prot,
	                               sizeof(prot) - 1, plaintext, len)) < 0)
		goto out;
	if (json_object_set_new(o, "protected", json_string(prot)) != 0 ||
	    json_object_set(o, "recipients", rs) != 0) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	coffer_buf_clear(&b);
	if ((error = jose_b64_put(&b, iv, IV_LEN)) < 0 ||
	    json_object_set_new(o, "iv", json_string((const char *)b.ptr)) != 0)
		goto nomem;
	coffer_buf_clear(&b);
	if ((error = jose_b64_put(&b, ct, len)) < 0 ||
	    json_object_set_new(o, "ciphertext", json_stringn((const char *)b.ptr, b.len)) != 0)
		goto nomem;
	coffer_buf_clear(&b);
	if ((error = jose_b64_put(&b, tag, TAG_LEN)) < 0 ||
	    json_object_set_new(o, "tag", json_string((const char *)b.ptr)) != 0)
		goto nomem;
	*out = o;
	o = NULL;
	error = 0;
	goto out;
nomem:
	if (error == 0)
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
out:
	coffer_secret_free(&cek);
	coffer_buf_free(&b);
	json_decref(o);
	json_decref(rs);
	free(w);
	free(ct);
	return error;
}

/* ---- decryption ---- */

typedef struct jwe_msg {
	const char *prot; /* base64url text of the protected header, may be empty */
	size_t prot_len;
	json_t *phdr;         /* decoded protected header or NULL */
	const json_t *unprot; /* shared unprotected header or NULL */
	const char *aad;      /* JSON "aad" member or NULL */
	size_t aad_len;
	uint8_t *iv, *ct, *tag;
	size_t iv_len, ct_len, tag_len;
} jwe_msg;

/* Merge the header sources; RFC 7516 section 7.2.1: they must be disjoint. */
static int merge_headers(json_t **out, const json_t *const *srcs, size_t n)
{
	json_t *m, *only = NULL, *v;
	const char *key;
	size_t present = 0;

	for (size_t i = 0; i < n; i++)
		if (srcs[i] != NULL) {
			only = (json_t *)srcs[i];
			present++;
		}
	if (present == 1) {
		/* the common case (compact, flattened): nothing to merge */
		*out = json_incref(only);
		return 0;
	}
	m = json_object();
	if (m == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (srcs[i] == NULL)
			continue;
		json_object_foreach((json_t *)srcs[i], key, v)
		{
			if (json_object_get(m, key) != NULL) {
				json_decref(m);
				return coffer_error_set(
				        COFFER_EINVAL, "JWE: header parameter \"%s\" appears twice",
				        key);
			}
			if (json_object_set(m, key, v) != 0) {
				json_decref(m);
				return coffer_error_set(COFFER_ENOMEM, "out of memory");
			}
		}
	}
	*out = m;
	return 0;
}

static int get_b64_bytes(uint8_t **out, size_t *out_len, const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (!json_is_string(v))
		return coffer_error_set(COFFER_EINVAL, "JWE: \"%s\" missing or not a string", key);
	return jose_b64_dec(out, out_len, json_string_value(v), json_string_length(v), key);
}

static int epk_from_header(EVP_PKEY **out, const json_t *h, const coffer_jwk *k)
{
	const json_t *epk = json_object_get(h, "epk");
	uint8_t *x = NULL, *y = NULL;
	size_t xl = 0, yl = 0, cl = jose_curves[k->crv].len;
	const char *kty, *crv;
	int error;

	if (!json_is_object(epk))
		return coffer_error_set(COFFER_EINVAL, "JWE: \"epk\" missing or not an object");
	kty = json_string_value(json_object_get(epk, "kty"));
	crv = json_string_value(json_object_get(epk, "crv"));
	if (kty == NULL || strcmp(kty, "EC") != 0 || crv == NULL)
		return coffer_error_set(COFFER_EINVAL, "JWE: \"epk\" is not an EC key");
	if (strcmp(crv, jose_curves[k->crv].jwk_name) != 0)
		return COFFER_ENOTFOUND; /* another curve: not for this key */
	if (json_object_get(epk, "d") != NULL)
		return coffer_error_set(COFFER_EINVAL, "JWE: \"epk\" holds a private key");
	if ((error = get_b64_bytes(&x, &xl, epk, "x")) < 0 ||
	    (error = get_b64_bytes(&y, &yl, epk, "y")) < 0)
		goto out;
	if (xl != cl || yl != cl) {
		error = coffer_error_set(COFFER_EINVAL,
		                         "JWE: \"epk\" coordinates of %zu/%zu bytes, "
		                         "expected %zu",
		                         xl, yl, cl);
		goto out;
	}
	/* validated on the curve: no invalid-curve attack on our private key */
	error = jose_ec_from_xy(out, k->crv, x, y);
out:
	free(x);
	free(y);
	return error;
}

static int opt_b64_param(uint8_t **out, size_t *len, const json_t *h, const char *key)
{
	const json_t *v = json_object_get(h, key);

	*out = NULL;
	*len = 0;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) > 1024)
		return coffer_error_set(COFFER_EINVAL, "JWE: bad \"%s\"", key);
	return jose_b64_dec(out, len, json_string_value(v), json_string_length(v), key);
}

/* 0: CEK recovered; COFFER_EVERIFY: this key does not open it;
 * COFFER_ENOTFOUND: the recipient is not for this kind of key. */
static int unwrap_cek(coffer_secret *cek, const coffer_jwk *k, enum jwe_alg a, const json_t *h,
                      const char *ek_b64, size_t ek_b64_len)
{
	coffer_secret z = COFFER_SECRET_INIT;
	EVP_PKEY *epk = NULL;
	EVP_PKEY_CTX *c = NULL;
	uint8_t *ek = NULL, *apu = NULL, *apv = NULL, kek[32], tmp[EK_MAX];
	size_t eklen = 0, apulen = 0, apvlen = 0, n;
	int error;

	if (!alg_fits_key(a, k))
		return COFFER_ENOTFOUND;
	if (ek_b64_len > EK_MAX * 2)
		return coffer_error_set(COFFER_EINVAL, "JWE: encrypted_key too long");
	if ((error = jose_b64_dec(&ek, &eklen, ek_b64, ek_b64_len, "encrypted_key")) < 0)
		return error;
	if ((error = coffer_secret_alloc(cek, CEK_LEN)) < 0)
		goto out;
	if (a == JWE_ECDH_A256KW) {
		if ((error = epk_from_header(&epk, h, k)) < 0 ||
		    (error = opt_b64_param(&apu, &apulen, h, "apu")) < 0 ||
		    (error = opt_b64_param(&apv, &apvlen, h, "apv")) < 0)
			goto out;
		if (eklen != CEK_LEN + 8) {
			error = COFFER_EVERIFY;
			goto out;
		}
		if ((error = jose_ecdh(&z, jose_pkey(k), epk)) < 0 ||
		    (error = jose_concat_kdf(kek, sizeof(kek), z.ptr, z.len, jwe_alg_names[a], apu,
		                             apulen, apv, apvlen)) < 0)
			goto out;
		error = jose_aes_kw(cek->ptr, &n, kek, sizeof(kek), ek, eklen, false);
		if (error == 0 && n != CEK_LEN)
			error = COFFER_EVERIFY;
		goto out;
	}
	c = EVP_PKEY_CTX_new_from_pkey(NULL, jose_pkey(k), NULL);
	if (c == NULL || EVP_PKEY_decrypt_init(c) != 1 || !rsa_ctx_setup(c, a)) {
		error = coffer_error_set_ssl(COFFER_ERROR, "RSA decryption setup");
		goto out;
	}
	n = sizeof(tmp);
	if (a == JWE_RSA1_5) {
		/* RFC 7516 section 11.5 (Bleichenbacher): on a padding failure carry
		 * on with a random CEK, so that every failure is a tag failure */
		int ok;
		if (RAND_bytes(cek->ptr, CEK_LEN) != 1) {
			error = coffer_error_set_ssl(COFFER_ERROR, "RAND_bytes");
			goto out;
		}
		ok = EVP_PKEY_decrypt(c, tmp, &n, ek, eklen) == 1 && n == CEK_LEN;
		ERR_clear_error();
		if (ok)
			memcpy(cek->ptr, tmp, CEK_LEN);
		error = 0;
		goto out;
	}
	if (EVP_PKEY_decrypt(c, tmp, &n, ek, eklen) != 1 || n != CEK_LEN) {
		ERR_clear_error();
		error = COFFER_EVERIFY;
		goto out;
	}
	memcpy(cek->ptr, tmp, CEK_LEN);
	error = 0;
out:
	coffer_wipe(kek, sizeof(kek));
	coffer_wipe(tmp, sizeof(tmp));
	coffer_secret_free(&z);
	EVP_PKEY_free(epk);
	EVP_PKEY_CTX_free(c);
	free(ek);
	free(apu);
	free(apv);
	if (error < 0)
		coffer_secret_free(cek);
	return error;
}

typedef struct jwe_rcpt {
	const json_t *hdr; /* per-recipient unprotected header or NULL */
	const char *ek;
	size_t ek_len;
} jwe_rcpt;

static int check_header(enum jwe_alg *a, const json_t *h, const coffer_jwe_decrypt_opts *o)
{
	const char *alg = json_string_value(json_object_get(h, "alg"));
	const char *enc = json_string_value(json_object_get(h, "enc"));
	int i;

	if (alg == NULL || enc == NULL)
		return coffer_error_set(COFFER_EINVAL, "JWE: \"alg\" and \"enc\" are required");
	if (strcmp(enc, "A256GCM") != 0)
		return coffer_error_set(COFFER_EUNSUPPORTED, "JWE: unsupported enc \"%s\"", enc);
	if (json_object_get(h, "zip") != NULL)
		return coffer_error_set(COFFER_EUNSUPPORTED, "JWE: compression is not supported");
	if (json_object_get(h, "crit") != NULL)
		return coffer_error_set(COFFER_EUNSUPPORTED,
		                        "JWE: no critical header extension is understood");
	i = alg_lookup(alg);
	if (i < 0)
		return coffer_error_set(COFFER_EUNSUPPORTED, "JWE: unsupported alg \"%s\"", alg);
	if (i == JWE_RSA1_5 && (o == NULL || !o->allow_rsa1_5))
		return coffer_error_set(COFFER_EUNSUPPORTED,
		                        "JWE: RSA1_5 is refused unless explicitly allowed");
	*a = (enum jwe_alg)i;
	return 0;
}

static int decrypt_core(coffer_secret *out, jwe_msg *m, const jwe_rcpt *rs, size_t n,
                        const coffer_jwk *k, const coffer_jwe_decrypt_opts *o)
{
	coffer_secret cek = COFFER_SECRET_INIT;
	coffer_buf aadbuf = COFFER_BUF_INIT;
	const uint8_t *aad = (const uint8_t *)m->prot;
	size_t aadlen = m->prot_len;
	int error = 0;

	if (!k->priv)
		return coffer_error_set(COFFER_EINVAL, "JWE: decryption needs a private key");
	if (m->ct_len > JOSE_MAX_INPUT)
		return coffer_error_set(COFFER_ELIMIT, "JWE: ciphertext too large");
	if (m->aad != NULL) {
		/* RFC 7516 section 5.1 step 14: ASCII(protected || '.' || aad) */
		if ((error = coffer_buf_append(&aadbuf, m->prot, m->prot_len)) < 0 ||
		    (error = coffer_buf_putc(&aadbuf, '.')) < 0 ||
		    (error = coffer_buf_append(&aadbuf, m->aad, m->aad_len)) < 0)
			goto out;
		aad = aadbuf.ptr;
		aadlen = aadbuf.len;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *srcs[3] = { m->phdr, m->unprot, rs[i].hdr };
		json_t *h = NULL;
		const char *hkid;
		enum jwe_alg a = JWE_NALG;

		if ((error = merge_headers(&h, srcs, 3)) < 0)
			goto out;
		if ((error = check_header(&a, h, o)) < 0) {
			json_decref(h);
			goto out;
		}
		if (m->iv_len != IV_LEN || m->tag_len != TAG_LEN) {
			json_decref(h);
			error = coffer_error_set(COFFER_EINVAL,
			                         "JWE: iv must be %d bytes and tag %d", IV_LEN,
			                         TAG_LEN);
			goto out;
		}
		hkid = json_string_value(json_object_get(h, "kid"));
		if (n > 1 && hkid != NULL && k->kid != NULL && strcmp(hkid, k->kid) != 0) {
			json_decref(h);
			continue;
		}
		if (!jose_key_allows(k, jwe_alg_names[a], true)) {
			json_decref(h);
			continue;
		}
		error = unwrap_cek(&cek, k, a, h, rs[i].ek, rs[i].ek_len);
		json_decref(h);
		if (error == COFFER_ENOTFOUND || error == COFFER_EVERIFY)
			continue;
		if (error < 0)
			goto out;
		error = gcm_open(out, cek.ptr, m->iv, aad, aadlen, m->ct, m->ct_len, m->tag);
		coffer_secret_free(&cek);
		if (error == 0)
			goto out;
		if (error != COFFER_EVERIFY)
			goto out;
	}
	error = coffer_error_set(COFFER_EVERIFY, DECRYPT_FAILED);
out:
	coffer_secret_free(&cek);
	coffer_buf_free(&aadbuf);
	return error;
}

static void msg_free(jwe_msg *m)
{
	json_decref(m->phdr);
	free(m->iv);
	free(m->ct);
	free(m->tag);
}

int coffer_jwe_decrypt_json(coffer_secret *out, const json_t *jwe, const coffer_jwk *key,
                            const coffer_jwe_decrypt_opts *opts)
{
	jwe_msg m = { 0 };
	jwe_rcpt *rs = NULL;
	const json_t *recips, *v;
	size_t n = 0;
	int error;

	if (opts != NULL && opts->version != COFFER_JWE_DECRYPT_OPTS_VERSION)
		return coffer_error_set(COFFER_EINVAL, "JWE: unknown options version");
	if (!json_is_object(jwe))
		return coffer_error_set(COFFER_EINVAL, "JWE: not a JSON object");
	v = json_object_get(jwe, "protected");
	if (v != NULL) {
		if (!json_is_string(v))
			return coffer_error_set(COFFER_EINVAL,
			                        "JWE: \"protected\" is not a string");
		m.prot = json_string_value(v);
		m.prot_len = json_string_length(v);
		if ((error = jose_header_decode(&m.phdr, m.prot, m.prot_len)) < 0)
			goto out;
	} else {
		m.prot = "";
	}
	m.unprot = json_object_get(jwe, "unprotected");
	if (m.unprot != NULL && !json_is_object(m.unprot)) {
		error = coffer_error_set(COFFER_EINVAL, "JWE: \"unprotected\" is not an object");
		goto out;
	}
	v = json_object_get(jwe, "aad");
	if (v != NULL) {
		if (!json_is_string(v)) {
			error = coffer_error_set(COFFER_EINVAL, "JWE: \"aad\" is not a string");
			goto out;
		}
		m.aad = json_string_value(v);
		m.aad_len = json_string_length(v);
		{
			/* used as text in the AAD, but it must still be base64url */
			uint8_t *raw = NULL;
			size_t rl = 0;
			if ((error = jose_b64_dec(&raw, &rl, m.aad, m.aad_len, "aad")) < 0)
				goto out;
			free(raw);
		}
	}
	if ((error = get_b64_bytes(&m.iv, &m.iv_len, jwe, "iv")) < 0 ||
	    (error = get_b64_bytes(&m.ct, &m.ct_len, jwe, "ciphertext")) < 0 ||
	    (error = get_b64_bytes(&m.tag, &m.tag_len, jwe, "tag")) < 0)
		goto out;
	recips = json_object_get(jwe, "recipients");
	if (recips != NULL) {
		if (!json_is_array(recips) || json_array_size(recips) == 0 ||
		    json_array_size(recips) > JOSE_MAX_RECIPIENTS ||
		    json_object_get(jwe, "encrypted_key") != NULL ||
		    json_object_get(jwe, "header") != NULL) {
			error = coffer_error_set(COFFER_EINVAL, "JWE: bad \"recipients\"");
			goto out;
		}
		n = json_array_size(recips);
	} else {
		n = 1;
	}
	rs = calloc(n, sizeof(*rs));
	if (rs == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *r = recips ? json_array_get(recips, i) : jwe;
		const json_t *ek;
		if (!json_is_object(r)) {
			error = coffer_error_set(COFFER_EINVAL,
			                         "JWE: recipient %zu is not an object", i);
			goto out;
		}
		rs[i].hdr = json_object_get(r, "header");
		if (rs[i].hdr != NULL && !json_is_object(rs[i].hdr)) {
			error = coffer_error_set(COFFER_EINVAL, "JWE: \"header\" is not an object");
			goto out;
		}
		ek = json_object_get(r, "encrypted_key");
		if (ek == NULL) {
			/* absent for "dir" and "ECDH-ES": refused later by alg */
			rs[i].ek = "";
			rs[i].ek_len = 0;
			continue;
		}
		if (!json_is_string(ek)) {
			error = coffer_error_set(COFFER_EINVAL,
			                         "JWE: \"encrypted_key\" missing or not a string");
			goto out;
		}
		rs[i].ek = json_string_value(ek);
		rs[i].ek_len = json_string_length(ek);
	}
	error = decrypt_core(out, &m, rs, n, key, opts);
out:
	free(rs);
	msg_free(&m);
	return error;
}

static int decrypt_compact(coffer_secret *out, const char *s, size_t len, const coffer_jwk *key,
                           const coffer_jwe_decrypt_opts *opts)
{
	const char *part[5];
	size_t plen[5], start = 0, np = 0;
	jwe_msg m = { 0 };
	jwe_rcpt r;
	int error;

	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (np == 5)
				return coffer_error_set(COFFER_EINVAL,
				                        "JWE: compact form needs 5 parts");
			part[np] = s + start;
			plen[np++] = i - start;
			start = i + 1;
		}
	}
	if (np != 5)
		return coffer_error_set(COFFER_EINVAL, "JWE: compact form needs 5 parts");
	m.prot = part[0];
	m.prot_len = plen[0];
	if ((error = jose_header_decode(&m.phdr, part[0], plen[0])) < 0 ||
	    (error = jose_b64_dec(&m.iv, &m.iv_len, part[2], plen[2], "iv")) < 0 ||
	    (error = jose_b64_dec(&m.ct, &m.ct_len, part[3], plen[3], "ciphertext")) < 0 ||
	    (error = jose_b64_dec(&m.tag, &m.tag_len, part[4], plen[4], "tag")) < 0)
		goto out;
	r.hdr = NULL;
	r.ek = part[1];
	r.ek_len = plen[1];
	error = decrypt_core(out, &m, &r, 1, key, opts);
out:
	msg_free(&m);
	return error;
}

int coffer_jwe_decrypt(coffer_secret *out, const char *jwe, size_t len, const coffer_jwk *key,
                       const coffer_jwe_decrypt_opts *opts)
{
	json_t *j = NULL;
	int error;

	if (opts != NULL && opts->version != COFFER_JWE_DECRYPT_OPTS_VERSION)
		return coffer_error_set(COFFER_EINVAL, "JWE: unknown options version");
	if (len > JOSE_MAX_INPUT)
		return coffer_error_set(COFFER_ELIMIT, "JWE larger than %zu bytes", JOSE_MAX_INPUT);
	while (len > 0 && (jwe[0] == ' ' || jwe[0] == '\n' || jwe[0] == '\r' || jwe[0] == '\t')) {
		jwe++;
		len--;
	}
	while (len > 0 && (jwe[len - 1] == ' ' || jwe[len - 1] == '\n' || jwe[len - 1] == '\r' ||
	                   jwe[len - 1] == '\t'))
		len--;
	if (len == 0)
		return coffer_error_set(COFFER_EINVAL, "JWE: empty input");
	if (jwe[0] != '{')
		return decrypt_compact(out, jwe, len, key, opts);
	if ((error = jose_json_object(&j, jwe, len, "JWE")) < 0)
		return error;
	error = coffer_jwe_decrypt_json(out, j, key, opts);
	json_decref(j);
	return error;
}
