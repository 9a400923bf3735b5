/*
 * Bounded byte buffers and the one wiping type for secrets.
 *
 * coffer_buf grows up to the maximum fixed at creation and fails with
 * COFFER_ELIMIT beyond it; its bytes are NUL-terminated for convenience
 * (len does not count the terminator). Its bytes may be secret (a request
 * body, a serialized key, a plaintext on its way out): a block it replaces
 * while growing and the block coffer_buf_free releases are wiped first, and
 * coffer_buf_clear wipes the bytes it drops. coffer_buf_detach hands the
 * block over as it is; wiping it is then the caller's job.
 *
 * coffer_secret holds key material, plaintext secrets and anything derived
 * from them. Every resize and free wipes the old bytes with OPENSSL_cleanse,
 * including on error paths; coffer_secret_lock mlocks long-lived keys and
 * excludes them from core dumps.
 */
#ifndef COFFER_BUF_H
#define COFFER_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coffer/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define COFFER_BUF_DEFAULT_MAX ((size_t)64 * 1024 * 1024)

typedef struct coffer_buf {
	uint8_t *ptr;
	size_t len;
	size_t cap;
	size_t max;
} coffer_buf;

#define COFFER_BUF_INIT_MAX(m)  \
	{                       \
		NULL, 0, 0, (m) \
	}
#define COFFER_BUF_INIT COFFER_BUF_INIT_MAX(COFFER_BUF_DEFAULT_MAX)

void coffer_buf_init(coffer_buf *b, size_t max);
int coffer_buf_reserve(coffer_buf *b, size_t extra);
int coffer_buf_append(coffer_buf *b, const void *data, size_t len);
int coffer_buf_puts(coffer_buf *b, const char *s);
int coffer_buf_putc(coffer_buf *b, char c);
int coffer_buf_printf(coffer_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int coffer_buf_vprintf(coffer_buf *b, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));
void coffer_buf_clear(coffer_buf *b);
/* Hand the bytes to the caller (free with free()); the buffer is emptied. */
uint8_t *coffer_buf_detach(coffer_buf *b, size_t *len_out);
void coffer_buf_free(coffer_buf *b);

typedef struct coffer_secret {
	uint8_t *ptr;
	size_t len;
	size_t cap;
	bool locked;
} coffer_secret;

#define COFFER_SECRET_INIT        \
	{                         \
		NULL, 0, 0, false \
	}

/* Zeroed secret of `len` bytes (previous content wiped and freed). */
int coffer_secret_alloc(coffer_secret *s, size_t len);
/* Copy `len` bytes in (previous content wiped and freed). */
int coffer_secret_set(coffer_secret *s, const void *data, size_t len);
int coffer_secret_append(coffer_secret *s, const void *data, size_t len);
/* Change the length; growth moves the bytes to a new block, wiping the old. */
int coffer_secret_resize(coffer_secret *s, size_t len);
/* mlock + MADV_DONTDUMP for long-lived key material. */
int coffer_secret_lock(coffer_secret *s);
void coffer_secret_free(coffer_secret *s);

/* Wipe any memory (OPENSSL_cleanse). */
void coffer_wipe(void *p, size_t len);
/* Wipe then free a NUL-terminated string or a block of known length. */
void coffer_free_wiped(void *p, size_t len);
void coffer_free_str_wiped(char *s);

/* Constant-time equality of two equal-length blocks: 1 if equal, else 0. */
int coffer_ct_equal(const void *a, const void *b, size_t len);

/* Overflow-checked size arithmetic: 0 on success, COFFER_ELIMIT on overflow. */
int coffer_size_add(size_t *out, size_t a, size_t b);
int coffer_size_mul(size_t *out, size_t a, size_t b);

#ifdef __cplusplus
}
#endif
#endif
