/*
 * JOSE layer cost: each operation through libcoffer's jose module next to the
 * same cryptographic work done with raw OpenSSL EVP calls, in the same run.
 * Payload 1 KiB. Rounds alternate between the two so that load from other
 * processes hits both; the best rate of each is kept.
 * `bench_jose --hot` runs only the broker's per-handshake P-256 operations
 * (the last section), as medians of interleaved rounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "coffer/jose.h"
#include "bench_util.h"

#define PAYLOAD 1024
#define BATCH   16
#define TOTAL_S 1.5

static uint8_t payload[PAYLOAD];
/* fetched once, as any careful direct user of EVP would */
static EVP_MD *sha256;
static EVP_CIPHER *aes_gcm, *aes_wrap;

typedef int (*op_fn)(void *ctx);

static double batch(op_fn f, void *ctx, int n)
{
	double t0 = cpu_s();

	for (int i = 0; i < n; i++)
		if (f(ctx) != 0) {
			fprintf(stderr, "bench: operation failed\n");
			exit(3);
		}
	return cpu_s() - t0;
}

/* Small batches alternate between the two sides until each has run for
 * TOTAL_S of CPU time; each side's rate is its operations over its time. */
static void compare(const char *label, const char *op, op_fn ours, op_fn raw, void *ctx)
{
	double to = 0, tr = 0;
	long no = 0, nr = 0;
	char name[64];

	batch(ours, ctx, BATCH); /* warm up */
	batch(raw, ctx, BATCH);
	while (to < TOTAL_S || tr < TOTAL_S) {
		to += batch(ours, ctx, BATCH);
		no += BATCH;
		tr += batch(raw, ctx, BATCH);
		nr += BATCH;
	}
	snprintf(name, sizeof(name), "%s %s", label, op);
	printf("%-34s %10.0f %10.0f %8.3f %+7.1f%%\n", name, (double)no / to, (double)nr / tr,
	       ((double)nr / tr) / ((double)no / to),
	       (((double)nr / tr) / ((double)no / to) - 1.0) * 100.0);
}

/* ---- shared state ---- */

typedef struct st {
	coffer_jwk *jwk; /* private */
	coffer_jwk *pub; /* public */
	const char *alg;
	char *token;      /* JWS for verify */
	json_t *jwe;      /* JWE for decrypt */
	uint8_t sig[256]; /* raw: DER / raw signature */
	size_t siglen;
	const EVP_MD *md;
	uint8_t ek[512]; /* raw JWE parts for decrypt */
	size_t eklen;
	uint8_t epk[65];
	uint8_t iv[12], tag[16], ct[PAYLOAD];
	size_t len; /* JWE plaintext length (<= PAYLOAD) */
} st;

/* ---- JWS ---- */

static int ours_sign(void *p)
{
	st *s = p;
	char *t = NULL;
	int rc = coffer_jws_sign(&t, s->jwk, s->alg, NULL, payload, PAYLOAD);
	free(t);
	return rc;
}

static int ours_verify(void *p)
{
	st *s = p;
	coffer_jws *j = NULL;
	coffer_jwk *keys[1] = { s->pub };
	int rc = coffer_jws_verify(&j, s->token, strlen(s->token), keys, 1);
	coffer_jws_free(j);
	return rc;
}

/* One signature made with raw EVP calls (the raw side of JWS and JWT). */
static int evp_sign(const EVP_MD *md, EVP_PKEY *key, const uint8_t *in, size_t len)
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	uint8_t sig[256];
	size_t n = sizeof(sig);
	int ok = mc != NULL && EVP_DigestSignInit(mc, NULL, md, NULL, key) == 1 &&
	         EVP_DigestSign(mc, sig, &n, in, len) == 1;
	EVP_MD_CTX_free(mc);
	return ok ? 0 : -1;
}

static int raw_sign(void *p)
{
	st *s = p;
	return evp_sign(s->md, coffer_jwk_pkey(s->jwk), payload, PAYLOAD);
}

static int raw_verify(void *p)
{
	st *s = p;
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	int ok = EVP_DigestVerifyInit(mc, NULL, s->md, NULL, coffer_jwk_pkey(s->pub)) == 1 &&
	         EVP_DigestVerify(mc, s->sig, s->siglen, payload, PAYLOAD) == 1;
	EVP_MD_CTX_free(mc);
	return ok ? 0 : -1;
}

static void bench_jws(const char *label, const char *kty, const char *crv, const char *alg,
                      const EVP_MD *md)
{
	st s = { 0 };
	EVP_MD_CTX *mc = EVP_MD_CTX_new();

	if (coffer_jwk_generate(&s.jwk, kty, crv, 0) != 0 ||
	    coffer_jwk_public(&s.pub, s.jwk) != 0 ||
	    coffer_jws_sign(&s.token, s.jwk, alg, NULL, payload, PAYLOAD) != 0)
		exit(3);
	s.alg = alg;
	s.md = md;
	s.siglen = sizeof(s.sig);
	if (EVP_DigestSignInit(mc, NULL, md, NULL, coffer_jwk_pkey(s.jwk)) != 1 ||
	    EVP_DigestSign(mc, s.sig, &s.siglen, payload, PAYLOAD) != 1)
		exit(3);
	EVP_MD_CTX_free(mc);
	compare(label, "sign", ours_sign, raw_sign, &s);
	compare(label, "verify", ours_verify, raw_verify, &s);
	free(s.token);
	coffer_jwk_free(s.jwk);
	coffer_jwk_free(s.pub);
}

/* ---- JWE ---- */

static int ours_encrypt(void *p)
{
	st *s = p;
	json_t *j = NULL;
	int rc = coffer_jwe_encrypt(&j, s->pub, s->alg, payload, s->len);
	json_decref(j);
	return rc;
}

static int ours_decrypt(void *p)
{
	st *s = p;
	coffer_secret out = COFFER_SECRET_INIT;
	int rc = coffer_jwe_decrypt_json(&out, s->jwe, s->jwk, NULL);
	coffer_secret_free(&out);
	return rc;
}

static int gcm(uint8_t *out, uint8_t *tag, const uint8_t *key, const uint8_t *iv, const uint8_t *in,
               size_t len, int enc)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, ok = EVP_CipherInit_ex(c, aes_gcm, NULL, key, iv, enc) == 1 &&
	                (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, tag) == 1) &&
	                EVP_CipherUpdate(c, out, &n, in, (int)len) == 1 &&
	                EVP_CipherFinal_ex(c, out + n, &n) == 1 &&
	                (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1);
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

static int kdf_wrap(uint8_t *out, size_t *outlen, const uint8_t *z, size_t zlen, const uint8_t *in,
                    size_t inlen, int wrap)
{
	static const uint8_t other[] = { 0,   0,   0,   14,  'E', 'C', 'D', 'H', '-', 'E',
		                         'S', '+', 'A', '2', '5', '6', 'K', 'W', 0,   0,
		                         0,   0,   0,   0,   0,   0,   0,   0,   1,   0 };
	static const uint8_t one[4] = { 0, 0, 0, 1 };
	uint8_t kek[32];
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, m = 0;
	int ok = EVP_DigestInit_ex(mc, sha256, NULL) == 1 && EVP_DigestUpdate(mc, one, 4) == 1 &&
	         EVP_DigestUpdate(mc, z, zlen) == 1 &&
	         EVP_DigestUpdate(mc, other, sizeof(other)) == 1 &&
	         EVP_DigestFinal_ex(mc, kek, NULL) == 1;
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	ok = ok && EVP_CipherInit_ex(c, aes_wrap, NULL, kek, NULL, wrap) == 1 &&
	     EVP_CipherUpdate(c, out, &n, in, (int)inlen) == 1 &&
	     EVP_CipherFinal_ex(c, out + n, &m) == 1;
	*outlen = (size_t)(n + m);
	EVP_MD_CTX_free(mc);
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

static int raw_ecdh_encrypt(void *p)
{
	st *s = p;
	EVP_PKEY_CTX *gc = EVP_PKEY_CTX_new_from_pkey(NULL, coffer_jwk_pkey(s->pub), NULL),
	             *dc = NULL;
	EVP_PKEY *eph = NULL;
	uint8_t cek[32], iv[12], z[32], ek[40], tag[16], ct[PAYLOAD], pt[65];
	size_t zl = sizeof(z), ekl = 0, ptl = 0;
	int ok = RAND_bytes(cek, 32) == 1 && RAND_bytes(iv, 12) == 1 &&
	         EVP_PKEY_keygen_init(gc) == 1 && EVP_PKEY_keygen(gc, &eph) == 1;
	dc = ok ? EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL) : NULL;
	ok = ok && EVP_PKEY_derive_init(dc) == 1 &&
	     EVP_PKEY_derive_set_peer_ex(dc, coffer_jwk_pkey(s->pub), 0) == 1 &&
	     EVP_PKEY_derive(dc, z, &zl) == 1 && kdf_wrap(ek, &ekl, z, zl, cek, 32, 1) == 0 &&
	     EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &ptl) ==
	             1 &&
	     gcm(ct, tag, cek, iv, payload, s->len, 1) == 0;
	EVP_PKEY_CTX_free(gc);
	EVP_PKEY_CTX_free(dc);
	EVP_PKEY_free(eph);
	return ok ? 0 : -1;
}

/* A P-256 public key from its point (0x04 || x || y) as a direct EVP user
 * imports one: fromdata with the group name and the point; NULL on failure. */
static EVP_PKEY *p256_from_point(uint8_t *pt)
{
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *k = NULL;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, 65);
	params[2] = OSSL_PARAM_construct_end();
	if (c == NULL || EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	EVP_PKEY_CTX_free(c);
	return k;
}

static int raw_ecdh_decrypt(void *p)
{
	st *s = p;
	EVP_PKEY *epk = p256_from_point(s->epk);
	EVP_PKEY_CTX *dc =
	        epk ? EVP_PKEY_CTX_new_from_pkey(NULL, coffer_jwk_pkey(s->jwk), NULL) : NULL;
	uint8_t z[32], cek[40], pt[PAYLOAD];
	size_t zl = sizeof(z), cekl = 0;
	int ok = dc != NULL && EVP_PKEY_derive_init(dc) == 1 &&
	         EVP_PKEY_derive_set_peer_ex(dc, epk, 0) == 1 && EVP_PKEY_derive(dc, z, &zl) == 1 &&
	         kdf_wrap(cek, &cekl, z, zl, s->ek, s->eklen, 0) == 0 &&
	         gcm(pt, s->tag, cek, s->iv, s->ct, PAYLOAD, 0) == 0;

	EVP_PKEY_CTX_free(dc);
	EVP_PKEY_free(epk);
	return ok ? 0 : -1;
}

static int raw_rsa_encrypt(void *p)
{
	st *s = p;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, coffer_jwk_pkey(s->pub), NULL);
	uint8_t cek[32], iv[12], ek[512], tag[16], ct[PAYLOAD];
	size_t ekl = sizeof(ek);
	int ok = RAND_bytes(cek, 32) == 1 && RAND_bytes(iv, 12) == 1 &&
	         EVP_PKEY_encrypt_init(c) == 1 &&
	         EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
	         EVP_PKEY_CTX_set_rsa_oaep_md(c, sha256) == 1 &&
	         EVP_PKEY_CTX_set_rsa_mgf1_md(c, sha256) == 1 &&
	         EVP_PKEY_encrypt(c, ek, &ekl, cek, 32) == 1 &&
	         gcm(ct, tag, cek, iv, payload, PAYLOAD, 1) == 0;
	EVP_PKEY_CTX_free(c);
	return ok ? 0 : -1;
}

static int raw_rsa_decrypt(void *p)
{
	st *s = p;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, coffer_jwk_pkey(s->jwk), NULL);
	uint8_t cek[512], pt[PAYLOAD];
	size_t cekl = sizeof(cek);
	int ok = EVP_PKEY_decrypt_init(c) == 1 &&
	         EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
	         EVP_PKEY_CTX_set_rsa_oaep_md(c, sha256) == 1 &&
	         EVP_PKEY_CTX_set_rsa_mgf1_md(c, sha256) == 1 &&
	         EVP_PKEY_decrypt(c, cek, &cekl, s->ek, s->eklen) == 1 && cekl == 32 &&
	         gcm(pt, s->tag, cek, s->iv, s->ct, PAYLOAD, 0) == 0;
	EVP_PKEY_CTX_free(c);
	return ok ? 0 : -1;
}

/* Raw inputs for the decrypt baselines: a real JWE's parts (the tag is
 * recomputed over no AAD, the raw path has no header). */
static void raw_parts(st *s, bool ecdh)
{
	EVP_PKEY_CTX *c;
	uint8_t cek[32];
	uint8_t z[32];
	size_t zl = sizeof(z), n = 0;
	EVP_PKEY *eph = NULL;

	RAND_bytes(cek, 32);
	RAND_bytes(s->iv, 12);
	if (ecdh) {
		c = EVP_PKEY_CTX_new_from_pkey(NULL, coffer_jwk_pkey(s->pub), NULL);
		EVP_PKEY_keygen_init(c);
		EVP_PKEY_keygen(c, &eph);
		EVP_PKEY_CTX_free(c);
		c = EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL);
		EVP_PKEY_derive_init(c);
		EVP_PKEY_derive_set_peer_ex(c, coffer_jwk_pkey(s->pub), 0);
		EVP_PKEY_derive(c, z, &zl);
		EVP_PKEY_CTX_free(c);
		kdf_wrap(s->ek, &s->eklen, z, zl, cek, 32, 1);
		EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_PUB_KEY, s->epk, 65, &n);
		EVP_PKEY_free(eph);
	} else {
		c = EVP_PKEY_CTX_new_from_pkey(NULL, coffer_jwk_pkey(s->pub), NULL);
		s->eklen = sizeof(s->ek);
		EVP_PKEY_encrypt_init(c);
		EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING);
		EVP_PKEY_CTX_set_rsa_oaep_md(c, sha256);
		EVP_PKEY_CTX_set_rsa_mgf1_md(c, sha256);
		EVP_PKEY_encrypt(c, s->ek, &s->eklen, cek, 32);
		EVP_PKEY_CTX_free(c);
	}
	gcm(s->ct, s->tag, cek, s->iv, payload, PAYLOAD, 1);
}

static void bench_jwe(const char *label, const char *kty, const char *crv, int bits,
                      const char *alg, op_fn raw_enc, op_fn raw_dec)
{
	st s = { 0 };

	if (coffer_jwk_generate(&s.jwk, kty, crv, bits) != 0 ||
	    coffer_jwk_public(&s.pub, s.jwk) != 0 ||
	    coffer_jwe_encrypt(&s.jwe, s.pub, alg, payload, PAYLOAD) != 0)
		exit(3);
	s.alg = alg;
	s.len = PAYLOAD;
	raw_parts(&s, raw_enc == raw_ecdh_encrypt);
	compare(label, "encrypt", ours_encrypt, raw_enc, &s);
	compare(label, "decrypt", ours_decrypt, raw_dec, &s);
	json_decref(s.jwe);
	coffer_jwk_free(s.jwk);
	coffer_jwk_free(s.pub);
}

/* ---- the broker's per-handshake path, P-256: medians of interleaved rounds ----
 *
 * cofferd, per KBS handshake: imports the guest's tee-pubkey JWK (public P-256),
 * encrypts a short secret to it with ECDH-ES+A256KW, and signs an EAR token
 * (ES256, a long-lived key, ~1 KiB of claims). Each round runs a batch of every
 * operation and of its raw EVP counterpart in turn; the figures are the
 * medians over the rounds of the per-operation thread CPU time. */

#define HOT_ROUNDS 31
#define HOT_BATCH  24
#define HOT_SECRET 64

typedef struct hot {
	json_t *tee_jwk;  /* {"kty":"EC","crv":"P-256","x":..,"y":..} */
	uint8_t pt[65];   /* the same point, 0x04 || x || y */
	EVP_PKEY *tmpl;   /* P-256 domain parameters only */
	coffer_jwk *sign; /* the token signing key (private) */
	json_t *hdr;      /* {"typ":"JWT","jwk":{...}} as the broker sends */
	json_t *claims;   /* ~1 KiB */
	size_t siglen_in; /* length of the JWS signing input of a real token */
	uint8_t in[4096];
	st enc; /* JWE: recipient = the tee key */
} hot;

static int hot_import(void *p)
{
	hot *h = p;
	coffer_jwk *k = NULL;
	int rc = coffer_jwk_from_json(&k, h->tee_jwk);
	coffer_jwk_free(k);
	return rc;
}

/* what a direct EVP user writes: fromdata with the group name and the point,
 * then the quick public check the JWK import did before */
static int hot_raw_fromdata(void *p)
{
	hot *h = p;
	EVP_PKEY *k = p256_from_point(h->pt);
	EVP_PKEY_CTX *cc = k ? EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL) : NULL;
	int ok = cc != NULL && EVP_PKEY_public_check_quick(cc) == 1;

	EVP_PKEY_CTX_free(cc);
	EVP_PKEY_free(k);
	return ok ? 0 : -1;
}

/* the floor: a copy of ready domain parameters and the point set on it (the
 * point decoding checks the range and the curve equation) */
static int hot_raw_floor(void *p)
{
	hot *h = p;
	EVP_PKEY *k = EVP_PKEY_dup(h->tmpl);
	int ok = k != NULL && EVP_PKEY_set1_encoded_public_key(k, h->pt, 65) == 1;
	EVP_PKEY_free(k);
	return ok ? 0 : -1;
}

static int hot_jwt(void *p)
{
	hot *h = p;
	char *t = NULL;
	int rc = coffer_jwt_sign(&t, h->sign, "ES256", h->hdr, h->claims);
	free(t);
	return rc;
}

static int hot_raw_sign(void *p)
{
	hot *h = p;
	return evp_sign(sha256, coffer_jwk_pkey(h->sign), h->in, h->siglen_in);
}

static int hot_jwe(void *p)
{
	return ours_encrypt(&((hot *)p)->enc);
}

static int hot_raw_jwe(void *p)
{
	return raw_ecdh_encrypt(&((hot *)p)->enc);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct hot_op {
	const char *name;
	op_fn f;
	double us[HOT_ROUNDS];
} hot_op;

static void bench_hot(void)
{
	hot h = { 0 };
	coffer_jwk *tee = NULL;
	json_t *pubj = NULL, *sub;
	char *tok = NULL, *d1, *d2;
	size_t n = 0;
	hot_op ops[] = {
		{ "JWK import, public (coffer)", hot_import },
		{ "  raw EVP_PKEY_fromdata + check", hot_raw_fromdata },
		{ "  raw dup(template) + set point", hot_raw_floor },
		{ "JWE ECDH-ES+A256KW 64 B (coffer)", hot_jwe },
		{ "  raw EVP", hot_raw_jwe },
		{ "JWT ES256 ~1 KiB claims (coffer)", hot_jwt },
		{ "  raw EVP_DigestSign", hot_raw_sign },
	};
	const size_t nops = sizeof(ops) / sizeof(ops[0]);

	/* the guest's key, as JSON, and its point for the raw side */
	if (coffer_jwk_generate(&tee, "EC", "P-256", 0) != 0 ||
	    coffer_jwk_to_json(&h.tee_jwk, tee, false) != 0 ||
	    EVP_PKEY_get_octet_string_param(coffer_jwk_pkey(tee), OSSL_PKEY_PARAM_PUB_KEY, h.pt,
	                                    sizeof(h.pt), &n) != 1 ||
	    n != 65)
		exit(3);
	{
		/* the floor's template: P-256 domain parameters only */
		OSSL_PARAM params[2];
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
		                                             "prime256v1", 0);
		params[1] = OSSL_PARAM_construct_end();
		if (c == NULL || EVP_PKEY_fromdata_init(c) != 1 ||
		    EVP_PKEY_fromdata(c, &h.tmpl, EVP_PKEY_KEY_PARAMETERS, params) != 1)
			exit(3);
		EVP_PKEY_CTX_free(c);
	}
	/* JWE: the recipient is the imported tee key, as in the broker */
	if (coffer_jwk_from_json(&h.enc.pub, h.tee_jwk) != 0)
		exit(3);
	h.enc.alg = "ECDH-ES+A256KW";
	h.enc.len = HOT_SECRET;
	/* the signing key: a private JWK loaded from JSON, as cofferd loads it */
	{
		coffer_jwk *g = NULL;
		json_t *j = NULL;
		if (coffer_jwk_generate(&g, "EC", "P-256", 0) != 0 ||
		    coffer_jwk_to_json(&j, g, true) != 0 || coffer_jwk_from_json(&h.sign, j) != 0 ||
		    coffer_jwk_to_json(&pubj, g, false) != 0)
			exit(3);
		json_decref(j);
		coffer_jwk_free(g);
	}
	h.hdr = json_pack("{s:s,s:O}", "typ", "JWT", "jwk", pubj);
	sub = json_pack("{s:s,s:s,s:s,s:s}", "ear.status", "affirming", "ear.veraison.annotated",
	                "sample-tee measurement=sha384:0123456789abcdef0123456789abcdef0123456789ab"
	                "cdef0123456789abcdef0123456789abcdef launch-digest=sha384:fedcba98765432"
	                "10fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210 polic"
	                "y=0x30000 platform-version=tcb:3.0.8.115 guest-svn=1 vmpl=0",
	                "ear.trustworthiness-vector",
	                "instance-identity=2 configuration=2 "
	                "executables=2 file-system=0 hardware=2 runtime-opaque=2 "
	                "sourced-data=0 storage-opaque=2",
	                "ear.veraison.key-attestation",
	                "eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6IjFoR2FmRzBRZjJlY3Zzb3dqV0JUY"
	                "XNHZkFWb2dDdjJCcmd4blRGV3d2ZyIsInkiOiJaSzRYbVNhN0N6NEl4SG9pb2hNNEk0"
	                "cF9MbUFQbjNvdUZyN1JhOW1kaE1nIn0");
	h.claims = json_pack("{s:s,s:I,s:I,s:I,s:s,s:{s:s,s:s},s:{s:o},s:s,s:s}", "eat_profile",
	                     "tag:github.com,2023:veraison/ear", "iat", (json_int_t)1790000000,
	                     "nbf", (json_int_t)1790000000, "exp", (json_int_t)1790003600, "iss",
	                     "https://kbs.example.internal:8080", "ear.verifier-id", "developer",
	                     "https://github.com/coffer", "build", "cofferd 0.1.0", "submods",
	                     "cpu0", sub, "jti", "00112233445566778899aabbccddeeff", "eat_nonce",
	                     "pL3nOnX5fA7yT4kS1rQ2wE8uI9oP0aZ6");
	if (h.hdr == NULL || h.claims == NULL ||
	    coffer_jwt_sign(&tok, h.sign, "ES256", h.hdr, h.claims) != 0)
		exit(3);
	{
		char *c = json_dumps(h.claims, JSON_COMPACT);
		printf("\nbroker hot path, P-256 (claims %zu bytes, JWE plaintext %d bytes): "
		       "median\n"
		       "of %d interleaved rounds, batches of %d, thread CPU time per operation\n",
		       c ? strlen(c) : 0, HOT_SECRET, HOT_ROUNDS, HOT_BATCH);
		free(c);
	}
	d1 = strchr(tok, '.');
	d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (d2 == NULL || (size_t)(d2 - tok) > sizeof(h.in))
		exit(3);
	h.siglen_in = (size_t)(d2 - tok);
	memcpy(h.in, tok, h.siglen_in);
	free(tok);

	for (size_t i = 0; i < nops; i++)
		batch(ops[i].f, &h, HOT_BATCH); /* warm up */
	for (int r = 0; r < HOT_ROUNDS; r++)
		for (size_t i = 0; i < nops; i++)
			ops[i].us[r] = batch(ops[i].f, &h, HOT_BATCH) / HOT_BATCH * 1e6;
	printf("%-36s %10s %10s %10s\n", "operation", "median us", "p25 us", "p75 us");
	for (size_t i = 0; i < nops; i++) {
		double m = median(ops[i].us, HOT_ROUNDS); /* sorts */
		printf("%-36s %10.1f %10.1f %10.1f\n", ops[i].name, m, ops[i].us[HOT_ROUNDS / 4],
		       ops[i].us[HOT_ROUNDS * 3 / 4]);
	}
	json_decref(h.tee_jwk);
	json_decref(h.hdr);
	json_decref(h.claims);
	json_decref(pubj);
	EVP_PKEY_free(h.tmpl);
	coffer_jwk_free(h.enc.pub);
	coffer_jwk_free(h.sign);
	coffer_jwk_free(tee);
}

int main(int argc, char **argv)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	aes_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	aes_wrap = EVP_CIPHER_fetch(NULL, "AES-256-WRAP", NULL);
	if (sha256 == NULL || aes_gcm == NULL || aes_wrap == NULL)
		return 3;
	for (size_t i = 0; i < PAYLOAD; i++)
		payload[i] = (uint8_t)(i * 13 + 1);
	if (argc > 1 && strcmp(argv[1], "--hot") == 0) {
		bench_hot();
		return 0;
	}
	printf("JOSE layer vs raw OpenSSL EVP, payload %d bytes, batches of %d alternating,\n"
	       "%.1f s of thread CPU time per side and operation\n",
	       PAYLOAD, BATCH, TOTAL_S);
	printf("%-34s %10s %10s %8s %8s\n", "operation", "coffer/s", "raw/s", "ratio", "cost");
	bench_jws("JWS ES256 (P-256)", "EC", "P-256", "ES256", sha256);
	bench_jws("JWS EdDSA (Ed25519)", "OKP", "Ed25519", "EdDSA", NULL);
	bench_jwe("JWE ECDH-ES+A256KW (P-256)", "EC", "P-256", 0, "ECDH-ES+A256KW",
	          raw_ecdh_encrypt, raw_ecdh_decrypt);
	bench_jwe("JWE RSA-OAEP-256 (2048)", "RSA", NULL, 2048, "RSA-OAEP-256", raw_rsa_encrypt,
	          raw_rsa_decrypt);
	printf("ratio = raw rate / coffer rate (1.000: no cost); target <= 1.20\n");
	bench_hot();
	return 0;
}
