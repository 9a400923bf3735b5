/*
 * EC keys on the broker's per-handshake path without rebuilding the curve.
 *
 * OpenSSL 3.0 builds an EC_GROUP from scratch (curve constants, Montgomery
 * contexts) for every EVP_PKEY_fromdata() or EVP_PKEY_keygen() that names the
 * curve: about 17 us of a 22 us P-256 public key import on the reference
 * machine. Copying a ready group is a fraction of that, so each curve gets
 * one parameters-only EVP_PKEY for the whole process, and keys are built
 * from it:
 *
 * - public keys: EVP_PKEY_dup() of the template, then the point set with
 *   EVP_PKEY_set1_encoded_public_key(). The EC provider decodes the point
 *   with EC_POINT_oct2point(), which refuses coordinates >= p and, through
 *   EC_POINT_set_affine_coordinates(), a point that is not on the curve
 *   (crypto/ec/ecp_oct.c and ec_lib.c in OpenSSL 3.0). The encoding passed is
 *   always 0x04 || x || y of the exact length, which cannot denote the point
 *   at infinity (only the one-byte 0x00 encoding does). That is everything
 *   EVP_PKEY_public_check_quick() checks, and with cofactor 1 (P-256/384/521)
 *   a point on the curve is in the prime-order group.
 * - ECDH-ES for a JWE (jose_ecdh_es): below EVP, on EC_POINT and one
 *   EC_GROUP per thread and curve (it holds no secret; threads come and go
 *   in servers, so it is freed by a thread-specific-data destructor when its
 *   thread exits). The ephemeral key never becomes an
 *   EVP_PKEY: a scalar drawn as OpenSSL's own EC key generation draws it
 *   (BN_priv_rand_range_ex until non-zero), its point d*G, and the shared x
 *   coordinate of d*Q, with the same EC_POINT_mul calls ECDH_compute_key and
 *   the key generator make (constant-time for a secret scalar). On this
 *   machine that is 11 + 43.7 us against 15 + 47 us through EVP_PKEY_keygen
 *   and EVP_PKEY_derive (single thread; more under contention, where EVP
 *   takes the provider store's locks).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/params.h>

#include "jose/jose_internal.h"

#define NCURVES 3 /* P-256, P-384, P-521: the EC entries of jose_curves[] */

/* ---- one parameters-only key per curve, for the whole process ---- */

static pthread_mutex_t tmpl_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(EVP_PKEY *) tmpl[NCURVES];

static EVP_PKEY *make_template(enum jose_crv crv)
{
	OSSL_PARAM params[2];
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *t = NULL;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	                                             (char *)jose_curves[crv].ossl_name, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (c == NULL || EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, &t, EVP_PKEY_KEY_PARAMETERS, params) != 1)
		t = NULL;
	EVP_PKEY_CTX_free(c);
	return t;
}

/* The template of `crv`, made on first use; a failure (out of memory) is
 * not remembered, the next call tries again. Never freed: the keys made
 * from it and the threads' contexts may outlive any point to free it at. */
static int ec_template(EVP_PKEY **out, enum jose_crv crv)
{
	EVP_PKEY *t;

	if (crv < JOSE_CRV_P256 || crv > JOSE_CRV_P521)
		return coffer_error_set(COFFER_EINVAL, "not an EC curve");
	t = atomic_load_explicit(&tmpl[crv], memory_order_acquire);
	if (t == NULL) {
		pthread_mutex_lock(&tmpl_lock);
		t = atomic_load_explicit(&tmpl[crv], memory_order_relaxed);
		if (t == NULL) {
			t = make_template(crv);
			if (t != NULL)
				atomic_store_explicit(&tmpl[crv], t, memory_order_release);
		}
		pthread_mutex_unlock(&tmpl_lock);
	}
	if (t == NULL)
		return coffer_error_set_ssl(COFFER_ENOMEM, "cannot set up the %s parameters",
		                            jose_curves[crv].jwk_name);
	*out = t;
	return 0;
}

int jose_ec_public_from_point(EVP_PKEY **out, enum jose_crv crv, const uint8_t *pt, size_t len)
{
	EVP_PKEY *t = NULL, *k;
	int error;

	*out = NULL;
	if ((error = ec_template(&t, crv)) < 0)
		return error;
	/* uncompressed and exactly sized: see the top of this file */
	if (len != 1 + 2 * jose_curves[crv].len || pt[0] != 0x04)
		return coffer_error_set(COFFER_EINVAL, "EC point: not an uncompressed %s point",
		                        jose_curves[crv].jwk_name);
	k = EVP_PKEY_dup(t);
	if (k == NULL)
		return coffer_error_set_ssl(COFFER_ENOMEM, "EVP_PKEY_dup");
	if (EVP_PKEY_set1_encoded_public_key(k, pt, len) != 1) {
		EVP_PKEY_free(k);
		return coffer_error_set_ssl(COFFER_EINVAL, "EC point is not on %s",
		                            jose_curves[crv].jwk_name);
	}
	*out = k;
	return 0;
}

/* ---- per-thread curve groups ---- */

typedef struct ec_thread {
	EC_GROUP *group[NCURVES];
} ec_thread;

static pthread_once_t thread_once = PTHREAD_ONCE_INIT;
static pthread_key_t thread_key;
static bool thread_key_ok;

static void thread_state_free(void *p)
{
	ec_thread *s = p;

	for (int i = 0; i < NCURVES; i++)
		EC_GROUP_free(s->group[i]);
	free(s);
}

static void thread_key_init(void)
{
	thread_key_ok = pthread_key_create(&thread_key, thread_state_free) == 0;
}

/* This thread's state, or NULL when there is none to be had (no key, out of
 * memory). */
static ec_thread *thread_state(void)
{
	ec_thread *s;

	pthread_once(&thread_once, thread_key_init);
	if (!thread_key_ok)
		return NULL;
	s = pthread_getspecific(thread_key);
	if (s != NULL)
		return s;
	s = calloc(1, sizeof(*s));
	if (s != NULL && pthread_setspecific(thread_key, s) != 0) {
		free(s);
		s = NULL;
	}
	return s;
}

/* ---- below EVP: points and ECDH-ES ---- */

/* This thread's group of `crv`, set up on first use. */
static int thread_group(EC_GROUP **out, enum jose_crv crv)
{
	ec_thread *s;
	EC_GROUP *g;

	if (crv < JOSE_CRV_P256 || crv > JOSE_CRV_P521)
		return coffer_error_set(COFFER_EINVAL, "not an EC curve");
	if ((s = thread_state()) == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	if ((g = s->group[crv]) == NULL) {
		int nid = EC_curve_nist2nid(jose_curves[crv].jwk_name);
		g = nid == NID_undef ? NULL : EC_GROUP_new_by_curve_name(nid);
		if (g == NULL)
			return coffer_error_set_ssl(COFFER_ENOMEM, "cannot set up %s",
			                            jose_curves[crv].jwk_name);
		s->group[crv] = g;
	}
	*out = g;
	return 0;
}

/* pt, exactly 0x04 || x || y, decoded into q on g: EC_POINT_oct2point
 * refuses a coordinate >= p and a point not on the curve (see the top of
 * this file). */
static int decode_point(EC_POINT *q, const EC_GROUP *g, enum jose_crv crv, const uint8_t *pt,
                        size_t len, BN_CTX *bn)
{
	if (len != 1 + 2 * jose_curves[crv].len || pt[0] != 0x04)
		return coffer_error_set(COFFER_EINVAL, "EC point: not an uncompressed %s point",
		                        jose_curves[crv].jwk_name);
	if (EC_POINT_oct2point(g, q, pt, len, bn) != 1) {
		ERR_clear_error();
		return coffer_error_set(COFFER_EINVAL, "EC point is not on %s",
		                        jose_curves[crv].jwk_name);
	}
	return 0;
}

int jose_ec_check_point(enum jose_crv crv, const uint8_t *pt, size_t len)
{
	EC_GROUP *g = NULL;
	EC_POINT *q = NULL;
	BN_CTX *bn = NULL;
	int error;

	if ((error = thread_group(&g, crv)) < 0)
		return error;
	if ((bn = BN_CTX_new()) == NULL || (q = EC_POINT_new(g)) == NULL)
		error = coffer_error_set_ssl(COFFER_ENOMEM, "out of memory");
	else
		error = decode_point(q, g, crv, pt, len, bn);
	EC_POINT_free(q);
	BN_CTX_free(bn);
	return error;
}

int jose_ecdh_es(coffer_secret *z, uint8_t *epk_xy, const coffer_jwk *k)
{
	size_t cl = jose_curves[k->crv].len, ptl = 1 + 2 * cl;
	uint8_t pt[1 + 2 * 66];
	EC_GROUP *g = NULL;
	BN_CTX *bn = NULL;
	BIGNUM *d = NULL, *x = NULL;
	EC_POINT *q = NULL, *pub = NULL, *r = NULL;
	int error = 0;

	if ((error = thread_group(&g, k->crv)) < 0)
		return error;
	/* the recipient's point, checked again: on the curve, coordinates < p */
	pt[0] = 0x04;
	if ((error = jose_ec_public_xy(pt + 1, k)) < 0)
		return error;
	/* a fresh BN_CTX: one kept per thread would keep the scalar's
	 * intermediates in memory after the call */
	if ((bn = BN_CTX_new()) == NULL || (d = BN_secure_new()) == NULL ||
	    (x = BN_secure_new()) == NULL || (q = EC_POINT_new(g)) == NULL ||
	    (pub = EC_POINT_new(g)) == NULL || (r = EC_POINT_new(g)) == NULL) {
		error = coffer_error_set_ssl(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	if ((error = decode_point(q, g, k->crv, pt, ptl, bn)) < 0)
		goto out;
	/* the ephemeral key: 1 <= d < n, and d*G */
	do {
		if (BN_priv_rand_range_ex(d, EC_GROUP_get0_order(g), 0, bn) != 1) {
			error = coffer_error_set_ssl(COFFER_ERROR, "ephemeral EC key");
			goto out;
		}
	} while (BN_is_zero(d));
	if (EC_POINT_mul(g, pub, d, NULL, NULL, bn) != 1 ||
	    EC_POINT_point2oct(g, pub, POINT_CONVERSION_UNCOMPRESSED, pt, ptl, bn) != ptl) {
		error = coffer_error_set_ssl(COFFER_ERROR, "ephemeral EC key");
		goto out;
	}
	memcpy(epk_xy, pt + 1, 2 * cl);
	/* Z: the x coordinate of d*Q (RFC 7518 section 4.6.2), never the point
	 * at infinity, which has no affine coordinates */
	if (EC_POINT_mul(g, r, NULL, q, d, bn) != 1 ||
	    EC_POINT_get_affine_coordinates(g, r, x, NULL, bn) != 1) {
		error = coffer_error_set_ssl(COFFER_ERROR, "ECDH");
		goto out;
	}
	if ((error = coffer_secret_alloc(z, cl)) < 0)
		goto out;
	if (BN_bn2binpad(x, z->ptr, (int)cl) != (int)cl) {
		coffer_secret_free(z);
		error = coffer_error_set_ssl(COFFER_ERROR, "ECDH");
	}
out:
	BN_clear_free(d);
	BN_clear_free(x);
	EC_POINT_clear_free(r);
	EC_POINT_free(pub);
	EC_POINT_free(q);
	BN_CTX_free(bn);
	return error;
}
