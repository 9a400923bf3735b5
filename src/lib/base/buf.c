/* Bounded buffers and wiping secrets (STYLE.md, "From s2n-tls" and "From curl"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/crypto.h>

#include "coffer/buf.h"

int coffer_size_add(size_t *out, size_t a, size_t b)
{
	if (a > SIZE_MAX - b)
		return coffer_error_set(COFFER_ELIMIT, "size overflow");
	*out = a + b;
	return 0;
}

int coffer_size_mul(size_t *out, size_t a, size_t b)
{
	if (a != 0 && b > SIZE_MAX / a)
		return coffer_error_set(COFFER_ELIMIT, "size overflow");
	*out = a * b;
	return 0;
}

void coffer_buf_init(coffer_buf *b, size_t max)
{
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

int coffer_buf_reserve(coffer_buf *b, size_t extra)
{
	size_t need = 0, cap;
	uint8_t *p;

	/* +1 keeps room for the NUL terminator */
	if (coffer_size_add(&need, b->len, extra) < 0 || need > b->max)
		return coffer_error_set(COFFER_ELIMIT, "buffer limit of %zu bytes exceeded",
		                        b->max);
	if (need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need + 1)
		cap = (cap > SIZE_MAX / 2) ? need + 1 : cap * 2;
	/* never past max + 1, so that room in the block (coffer_buf_append)
	 * is always room within the limit */
	if (cap - 1 > b->max)
		cap = b->max + 1;
	/* not realloc: the old block is wiped before it goes back */
	if ((p = malloc(cap)) == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	if (b->ptr != NULL) {
		memcpy(p, b->ptr, b->len);
		coffer_free_wiped(b->ptr, b->cap);
	}
	p[b->len] = '\0';
	b->ptr = p;
	b->cap = cap;
	return 0;
}

int coffer_buf_append(coffer_buf *b, const void *data, size_t len)
{
	int error;

	/* room already there (the usual case): len + 1 <= cap - b->len,
	 * which cannot wrap, and cap never exceeds max + 1 */
	if (!(b->cap > b->len && len < b->cap - b->len) && (error = coffer_buf_reserve(b, len)) < 0)
		return error;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int coffer_buf_puts(coffer_buf *b, const char *s)
{
	return coffer_buf_append(b, s, strlen(s));
}

int coffer_buf_putc(coffer_buf *b, char c)
{
	return coffer_buf_append(b, &c, 1);
}

int coffer_buf_vprintf(coffer_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n, error;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return coffer_error_set(COFFER_EINVAL, "bad format");
	if ((error = coffer_buf_reserve(b, (size_t)n)) < 0)
		return error;
	vsnprintf((char *)b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int coffer_buf_printf(coffer_buf *b, const char *fmt, ...)
{
	va_list ap;
	int error;

	va_start(ap, fmt);
	error = coffer_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return error;
}

void coffer_buf_clear(coffer_buf *b)
{
	coffer_wipe(b->ptr, b->len);
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

uint8_t *coffer_buf_detach(coffer_buf *b, size_t *len_out)
{
	uint8_t *p = b->ptr;

	if (p == NULL) {
		p = calloc(1, 1);
		if (p == NULL)
			return NULL;
	}
	if (len_out)
		*len_out = b->len;
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

void coffer_buf_free(coffer_buf *b)
{
	coffer_free_wiped(b->ptr, b->cap);
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
}

void coffer_wipe(void *p, size_t len)
{
	if (p && len)
		OPENSSL_cleanse(p, len);
}

void coffer_free_wiped(void *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

void coffer_free_str_wiped(char *s)
{
	if (s)
		coffer_free_wiped(s, strlen(s));
}

int coffer_ct_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

static void secret_release(coffer_secret *s)
{
	if (s->ptr) {
		OPENSSL_cleanse(s->ptr, s->cap);
		if (s->locked)
			munlock(s->ptr, s->cap);
		free(s->ptr);
	}
	s->ptr = NULL;
	s->len = 0;
	s->cap = 0;
	s->locked = false;
}

void coffer_secret_free(coffer_secret *s)
{
	if (s)
		secret_release(s);
}

int coffer_secret_resize(coffer_secret *s, size_t len)
{
	uint8_t *p;
	bool relock = s->locked;

	if (len <= s->cap) {
		if (len < s->len)
			OPENSSL_cleanse(s->ptr + len, s->len - len);
		s->len = len;
		return 0;
	}
	/* Never realloc: the old block must be wiped before it is released. */
	p = calloc(1, len + 1);
	if (p == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	if (s->len)
		memcpy(p, s->ptr, s->len);
	secret_release(s);
	s->ptr = p;
	s->cap = len + 1;
	s->len = len;
	if (relock)
		return coffer_secret_lock(s);
	return 0;
}

int coffer_secret_alloc(coffer_secret *s, size_t len)
{
	secret_release(s);
	return coffer_secret_resize(s, len);
}

int coffer_secret_set(coffer_secret *s, const void *data, size_t len)
{
	int error;

	if ((error = coffer_secret_alloc(s, len)) < 0)
		return error;
	if (len)
		memcpy(s->ptr, data, len);
	return 0;
}

int coffer_secret_append(coffer_secret *s, const void *data, size_t len)
{
	size_t old = s->len, need = 0;
	int error;

	if ((error = coffer_size_add(&need, old, len)) < 0)
		return error;
	if ((error = coffer_secret_resize(s, need)) < 0)
		return error;
	if (len)
		memcpy(s->ptr + old, data, len);
	return 0;
}

int coffer_secret_lock(coffer_secret *s)
{
	if (s->ptr == NULL || s->locked)
		return 0;
	/* Best effort is wrong for a security property, but mlock needs
	 * RLIMIT_MEMLOCK that unprivileged daemons may lack: report it. */
	if (mlock(s->ptr, s->cap) != 0)
		return coffer_error_set(COFFER_ERROR, "mlock failed: %s", strerror(errno));
	(void)madvise((void *)((uintptr_t)s->ptr & ~(uintptr_t)4095), s->cap + 4096, MADV_DONTDUMP);
	s->locked = true;
	return 0;
}
