/*
 * A random source the unit tests can make fail, for the negative tests of
 * the RAND_bytes / RAND_priv_bytes / BN_priv_rand_range_ex branches
 * (STYLE.md: a negative test for each failure branch).
 *
 * A test program gets it with, in its coffer_unit_test():
 *   SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/fault_rand.c
 *   LIBS -Wl,--wrap=RAND_bytes -Wl,--wrap=RAND_priv_bytes
 *        -Wl,--wrap=BN_priv_rand_range_ex
 * All three flags, always: fault_rand.c calls the __real_ symbol of each. The
 * linker then sends the calls made by our static module libraries (and by
 * the test itself) here; the draws OpenSSL makes inside libcrypto (key
 * generation, OAEP padding, RSA blinding) are out of its reach and always
 * succeed.
 */
#ifndef COFFER_FAULT_RAND_H
#define COFFER_FAULT_RAND_H

#include <stdatomic.h>

/* The next N calls pass, then every call fails (returns 0 with an OpenSSL
 * error queued, as a DRBG that cannot be seeded does); -1, the initial
 * value, never fails. A test that sets it puts -1 back before it ends. */
extern atomic_int test_rand_fail_after;

#endif
