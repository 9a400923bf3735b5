/* ECDSA P-256 helpers shared by the quote, collateral and simulator code. */
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>

#include "tdx/tdx_internal.h"

/* DER INTEGER of a 32-byte big-endian unsigned value, minimal encoding. */
static size_t der_uint(uint8_t *out, const uint8_t *v)
{
	size_t i = 0, n;

	while (i < 31 && v[i] == 0)
		i++;
	n = 32 - i;
	out[0] = 0x02;
	if (v[i] & 0x80) {
		out[1] = (uint8_t)(n + 1);
		out[2] = 0;
		memcpy(out + 3, v + i, n);
		return n + 3;
	}
	out[1] = (uint8_t)n;
	memcpy(out + 2, v + i, n);
	return n + 2;
}

int coffer_tdx_ecdsa_verify(EVP_PKEY *key, const uint8_t *msg, size_t len, const uint8_t sig[64])
{
	uint8_t der[72];
	size_t n;
	EVP_MD_CTX *md;
	int rc;

	n = der_uint(der + 2, sig);
	n += der_uint(der + 2 + n, sig + 32);
	der[0] = 0x30;
	der[1] = (uint8_t)n;
	md = EVP_MD_CTX_new();
	if (md == NULL)
		return COFFER_ENOMEM;
	if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1) {
		EVP_MD_CTX_free(md);
		return coffer_error_set_ssl(COFFER_ERROR, "ECDSA verify init");
	}
	rc = EVP_DigestVerify(md, der, n + 2, msg, len);
	EVP_MD_CTX_free(md);
	if (rc == 1)
		return 0;
	ERR_clear_error();
	return COFFER_EVERIFY;
}

int coffer_tdx_pkey_from_raw(EVP_PKEY **out, const uint8_t xy[64])
{
	uint8_t pt[65];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *pc;
	EVP_PKEY *k = NULL;
	int ok;

	pt[0] = 0x04;
	memcpy(pt + 1, xy, 64);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	                                             (char *)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt));
	params[2] = OSSL_PARAM_construct_end();
	pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	ok = pc != NULL && EVP_PKEY_fromdata_init(pc) == 1 &&
	     EVP_PKEY_fromdata(pc, &k, EVP_PKEY_PUBLIC_KEY, params) == 1;
	EVP_PKEY_CTX_free(pc);
	if (!ok) {
		EVP_PKEY_free(k);
		return coffer_error_set_ssl(COFFER_EVERIFY,
		                            "tdx: attestation key is not a P-256 point");
	}
	*out = k;
	return 0;
}

static int der_int_to_32(uint8_t out[32], const uint8_t **p, const uint8_t *end)
{
	size_t n;

	if (end - *p < 2 || (*p)[0] != 0x02)
		return COFFER_EINVAL;
	n = (*p)[1];
	*p += 2;
	if (n == 0 || n > 33 || (size_t)(end - *p) < n)
		return COFFER_EINVAL;
	if (n == 33) {
		if ((*p)[0] != 0)
			return COFFER_EINVAL;
		(*p)++;
		n--;
	}
	memset(out, 0, 32);
	memcpy(out + 32 - n, *p, n);
	*p += n;
	return 0;
}

int coffer_tdx_sig_from_der(uint8_t out[64], const uint8_t *der, size_t len)
{
	const uint8_t *p = der, *end = der + len;

	if (len < 8 || len > 72 || der[0] != 0x30 || der[1] != len - 2)
		return coffer_error_set(COFFER_EINVAL, "ECDSA signature: bad DER");
	p += 2;
	if (der_int_to_32(out, &p, end) < 0 || der_int_to_32(out + 32, &p, end) < 0 || p != end)
		return coffer_error_set(COFFER_EINVAL, "ECDSA signature: bad DER");
	return 0;
}

static int digits(int *out, const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int coffer_tdx_parse_time(int64_t *out, const char *s)
{
	int Y, M, D, h, m, sec;
	size_t n = strlen(s), i = 19;
	struct tm tm;
	time_t t;

	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':' || digits(&Y, s, 4) || digits(&M, s + 5, 2) ||
	    digits(&D, s + 8, 2) || digits(&h, s + 11, 2) || digits(&m, s + 14, 2) ||
	    digits(&sec, s + 17, 2))
		return coffer_error_set(COFFER_EINVAL, "bad time '%.40s'", s);
	if (s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i + 1 != n || (s[i] != 'Z' && s[i] != 'z') || M < 1 || M > 12 || D < 1 || D > 31 ||
	    h > 23 || m > 59 || sec > 60)
		return coffer_error_set(COFFER_EINVAL, "bad time '%.40s' (UTC 'Z' required)", s);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return coffer_error_set(COFFER_EINVAL, "bad time '%.40s'", s);
	*out = (int64_t)t;
	return 0;
}

int64_t coffer_tdx_asn1_time_to_unix(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}
