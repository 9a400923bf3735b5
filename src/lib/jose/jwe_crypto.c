/* Key-management primitives for JWE: ECDH, Concat KDF, AES key wrap. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "jose/jose_internal.h"

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* RFC 7518 section 4.6.2 (NIST SP 800-56A Concat KDF): each round hashes
 * counter || Z || AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo, the
 * first three of OtherInfo length-prefixed, SuppPubInfo = keydatalen in bits. */
int jose_concat_kdf(uint8_t *out, size_t outlen, const uint8_t *z, size_t zlen, const char *algid,
                    const uint8_t *apu, size_t apulen, const uint8_t *apv, size_t apvlen)
{
	const EVP_MD *md = jose_md("SHA256");
	EVP_MD_CTX *c = NULL;
	uint8_t h[32], n[4], l[4], bits[4];
	size_t alen = strlen(algid), done = 0;
	uint32_t counter = 1;
	int error = 0;

	if (outlen == 0 || outlen > 64 || alen > 255 || apulen > 0xffff || apvlen > 0xffff)
		return coffer_error_set(COFFER_EINVAL, "Concat KDF: bad parameters");
	c = EVP_MD_CTX_new();
	if (c == NULL || md == NULL)
		return coffer_error_set_ssl(COFFER_ENOMEM, "EVP_MD_CTX_new");
	be32(bits, (uint32_t)(outlen * 8));
	while (done < outlen) {
		size_t take = outlen - done < 32 ? outlen - done : 32;
		int ok = EVP_DigestInit_ex(c, md, NULL) == 1;
		be32(n, counter++);
		ok = ok && EVP_DigestUpdate(c, n, 4) == 1 && EVP_DigestUpdate(c, z, zlen) == 1;
		be32(l, (uint32_t)alen);
		ok = ok && EVP_DigestUpdate(c, l, 4) == 1 && EVP_DigestUpdate(c, algid, alen) == 1;
		be32(l, (uint32_t)apulen);
		ok = ok && EVP_DigestUpdate(c, l, 4) == 1 &&
		     (apulen == 0 || EVP_DigestUpdate(c, apu, apulen) == 1);
		be32(l, (uint32_t)apvlen);
		ok = ok && EVP_DigestUpdate(c, l, 4) == 1 &&
		     (apvlen == 0 || EVP_DigestUpdate(c, apv, apvlen) == 1);
		ok = ok && EVP_DigestUpdate(c, bits, 4) == 1 && EVP_DigestFinal_ex(c, h, NULL) == 1;
		if (!ok) {
			error = coffer_error_set_ssl(COFFER_ERROR, "Concat KDF");
			break;
		}
		memcpy(out + done, h, take);
		done += take;
	}
	coffer_wipe(h, sizeof(h));
	EVP_MD_CTX_free(c);
	return error;
}

/* RFC 3394 section 2.2, in the index-based form, on single AES blocks
 * through EVP's ECB mode: OpenSSL 3.0's own AES-WRAP ciphers run the
 * table-based AES_encrypt/AES_decrypt on x86-64 (not AES-NI, and not
 * constant-time), 2.9 us per 32-byte key against 0.6 us here. */
int jose_aes_kw(uint8_t *out, size_t *outlen, const uint8_t *kek, size_t keklen, const uint8_t *in,
                size_t inlen, bool wrap)
{
	static const uint8_t iv[8] = { 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6 };
	const EVP_CIPHER *cipher = jose_aes_ecb(keklen);
	EVP_CIPHER_CTX *c;
	uint8_t a[8], b[16], *r = wrap ? out + 8 : out;
	size_t n;
	int bl = 0, ok;

	*outlen = 0;
	if (cipher == NULL)
		return coffer_error_set(COFFER_EINVAL, "AES key wrap: bad KEK length %zu", keklen);
	if (inlen < (wrap ? 16u : 24u) || inlen % 8 || inlen > 1024)
		return coffer_error_set(COFFER_EINVAL, "AES key wrap: bad input length %zu", inlen);
	/* the 64-bit blocks of the key: past the check, inlen - 8 cannot wrap */
	n = (wrap ? inlen : inlen - 8) / 8;
	c = EVP_CIPHER_CTX_new();
	if (c == NULL)
		return coffer_error_set_ssl(COFFER_ENOMEM, "EVP_CIPHER_CTX_new");
	ok = EVP_CipherInit_ex(c, cipher, NULL, kek, NULL, wrap ? 1 : 0) == 1 &&
	     EVP_CIPHER_CTX_set_padding(c, 0) == 1;
	/* wrapping: out = A || R[1..n]; unwrapping: out = R[1..n] */
	memmove(r, wrap ? in : in + 8, n * 8);
	memcpy(a, wrap ? iv : in, 8);
	for (size_t jj = 0; ok && jj < 6; jj++) {
		size_t j = wrap ? jj : 5 - jj;
		for (size_t ii = 0; ok && ii < n; ii++) {
			size_t i = wrap ? ii : n - 1 - ii;
			uint64_t t = (uint64_t)(n * j + i + 1);
			if (!wrap)
				for (int k = 7; k >= 0; k--, t >>= 8)
					a[k] ^= (uint8_t)t;
			memcpy(b, a, 8);
			memcpy(b + 8, r + 8 * i, 8);
			ok = EVP_CipherUpdate(c, b, &bl, b, 16) == 1 && bl == 16;
			memcpy(a, b, 8);
			memcpy(r + 8 * i, b + 8, 8);
			if (wrap)
				for (int k = 7; k >= 0; k--, t >>= 8)
					a[k] ^= (uint8_t)t;
		}
	}
	EVP_CIPHER_CTX_free(c);
	coffer_wipe(b, sizeof(b));
	if (ok && wrap) {
		memcpy(out, a, 8);
		*outlen = inlen + 8;
		return 0;
	}
	/* unwrap: the integrity check value, compared in constant time */
	if (ok && CRYPTO_memcmp(a, iv, 8) == 0) {
		*outlen = n * 8;
		return 0;
	}
	/* the RFC 3394 integrity check failed (or AES did): the caller reports
	 * it with the one message every decryption failure gets, and nothing of
	 * the output is left */
	coffer_wipe(out, wrap ? inlen + 8 : inlen - 8);
	coffer_wipe(a, sizeof(a));
	ERR_clear_error();
	return ok ? COFFER_EVERIFY : coffer_error_set_ssl(COFFER_ERROR, "AES key wrap");
}

int jose_ecdh(coffer_secret *z, EVP_PKEY *priv, EVP_PKEY *peer)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	size_t len = 0;
	int error = 0;

	if (c == NULL)
		return coffer_error_set_ssl(COFFER_ENOMEM, "EVP_PKEY_CTX_new_from_pkey");
	if (EVP_PKEY_derive_init(c) != 1 || EVP_PKEY_derive_set_peer_ex(c, peer, 0) != 1 ||
	    EVP_PKEY_derive(c, NULL, &len) != 1 || len == 0 || len > 132) {
		error = coffer_error_set_ssl(COFFER_ERROR, "ECDH");
		goto out;
	}
	if ((error = coffer_secret_alloc(z, len)) < 0)
		goto out;
	if (EVP_PKEY_derive(c, z->ptr, &len) != 1) {
		error = coffer_error_set_ssl(COFFER_ERROR, "ECDH");
		coffer_secret_free(z);
		goto out;
	}
	error = coffer_secret_resize(z, len);
out:
	EVP_PKEY_CTX_free(c);
	return error;
}
