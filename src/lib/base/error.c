/* Thread-local error messages (STYLE.md, "From libgit2"). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "coffer/common.h"

#define ERROR_MSG_MAX 1024

static _Thread_local char error_msg[ERROR_MSG_MAX];

const char *coffer_error_last(void)
{
	return error_msg;
}

void coffer_error_clear(void)
{
	error_msg[0] = '\0';
}

const char *coffer_strerror(int code)
{
	switch (code) {
	case COFFER_OK:
		return "success";
	case COFFER_ERROR:
		return "internal error";
	case COFFER_EINVAL:
		return "invalid input";
	case COFFER_ENOMEM:
		return "out of memory";
	case COFFER_ENOTFOUND:
		return "not found";
	case COFFER_EDENIED:
		return "denied";
	case COFFER_EVERIFY:
		return "verification failed";
	case COFFER_ELIMIT:
		return "limit exceeded";
	case COFFER_EEXISTS:
		return "already exists";
	case COFFER_EUNSUPPORTED:
		return "not supported";
	case COFFER_EEXPIRED:
		return "expired";
	case COFFER_EIO:
		return "I/O error";
	case COFFER_ENET:
		return "network error";
	case COFFER_EAUTH:
		return "authentication required";
	default:
		return "unknown error";
	}
}

__attribute__((format(printf, 1, 0))) static void error_vset(const char *fmt, va_list ap)
{
	int n = vsnprintf(error_msg, sizeof(error_msg), fmt, ap);
	if (n < 0)
		error_msg[0] = '\0';
}

int coffer_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(fmt, ap);
	va_end(ap);
	return code;
}

int coffer_error_set_ssl(int code, const char *fmt, ...)
{
	va_list ap;
	unsigned long e;
	size_t n;

	va_start(ap, fmt);
	error_vset(fmt, ap);
	va_end(ap);
	e = ERR_peek_last_error();
	n = strlen(error_msg);
	if (e != 0 && n + 3 < sizeof(error_msg)) {
		memcpy(error_msg + n, " (", 2);
		ERR_error_string_n(e, error_msg + n + 2, sizeof(error_msg) - n - 3);
		n = strlen(error_msg);
		if (n + 1 < sizeof(error_msg)) {
			error_msg[n] = ')';
			error_msg[n + 1] = '\0';
		}
	}
	ERR_clear_error();
	return code;
}

int coffer_error_wrap(int code, const char *fmt, ...)
{
	char prev[ERROR_MSG_MAX];
	va_list ap;
	size_t n, m;

	memcpy(prev, error_msg, sizeof(prev));
	va_start(ap, fmt);
	error_vset(fmt, ap);
	va_end(ap);
	n = strlen(error_msg);
	m = strnlen(prev, sizeof(prev) - 1);
	/* "context: previous", truncated to the buffer */
	if (m > 0 && n + 2 < sizeof(error_msg)) {
		memcpy(error_msg + n, ": ", 2);
		n += 2;
		if (m > sizeof(error_msg) - 1 - n)
			m = sizeof(error_msg) - 1 - n;
		memcpy(error_msg + n, prev, m);
		error_msg[n + m] = '\0';
	}
	return code;
}
