/*
 * Coffer: errors and conventions shared by every module.
 *
 * Functions return 0 on success or a negative COFFER_E* code. The detail goes
 * into a thread-local message set where the failure is first seen
 * (coffer_error_set); callers propagate the code and leave the message alone.
 */
#ifndef COFFER_COMMON_H
#define COFFER_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum coffer_error_code {
	COFFER_OK = 0,
	COFFER_ERROR = -1,        /* internal failure (OpenSSL, I/O, ...) */
	COFFER_EINVAL = -2,       /* malformed input or bad argument */
	COFFER_ENOMEM = -3,       /* allocation failed */
	COFFER_ENOTFOUND = -4,    /* no such object */
	COFFER_EDENIED = -5,      /* policy or permission denial */
	COFFER_EVERIFY = -6,      /* signature, MAC, chain or binding check failed */
	COFFER_ELIMIT = -7,       /* a size, count or time limit was hit */
	COFFER_EEXISTS = -8,      /* object already exists */
	COFFER_EUNSUPPORTED = -9, /* well-formed but not supported (algorithm, version) */
	COFFER_EEXPIRED = -10,    /* token, session or certificate outside its validity */
	COFFER_EIO = -11,         /* file or device I/O failed */
	COFFER_ENET = -12,        /* network failure talking to a peer */
	COFFER_EAUTH = -13,       /* missing or invalid credentials */
};

/* The message of the last failure on this thread ("" when none). */
const char *coffer_error_last(void);

/* Short fixed description of a code, e.g. "verification failed". */
const char *coffer_strerror(int code);

/* Set the thread-local message; returns `code` so callers can write
 * `return coffer_error_set(COFFER_EINVAL, "bad length %zu", n);`. */
int coffer_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like coffer_error_set, and appends OpenSSL's queued error, then clears it. */
int coffer_error_set_ssl(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix the current message with context: "context: previous message". */
int coffer_error_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void coffer_error_clear(void);

#ifdef __cplusplus
}
#endif
#endif
