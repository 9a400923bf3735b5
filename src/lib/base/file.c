/* Bounded file reads; atomic, private writes for key material. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffer/file.h"

int coffer_write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return coffer_error_set(COFFER_EIO, "write: %s", strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_into(coffer_buf *b, int fd, const char *what)
{
	int error;

	for (;;) {
		ssize_t n;
		if ((error = coffer_buf_reserve(b, 4096)) < 0)
			return coffer_error_set(COFFER_ELIMIT,
			                        "%s: larger than the limit of %zu bytes", what,
			                        b->max);
		n = read(fd, b->ptr + b->len, 4096);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return coffer_error_set(COFFER_EIO, "%s: %s", what, strerror(errno));
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		/* 4096 extra bytes are reserved before each read: allow exactly max */
		if (b->len > b->max)
			return coffer_error_set(COFFER_ELIMIT,
			                        "%s: larger than the limit of %zu bytes", what,
			                        b->max);
	}
	b->ptr[b->len] = '\0';
	return 0;
}

int coffer_fd_read_all(uint8_t **out, size_t *len, int fd, size_t max)
{
	/* reserve() checks len+4096 against max, so lift max to let exactly max in */
	coffer_buf b = COFFER_BUF_INIT_MAX(max + 4096);
	int error;

	if ((error = read_into(&b, fd, "input")) < 0 ||
	    (b.len > max &&
	     (error = coffer_error_set(COFFER_ELIMIT, "input: larger than the limit of %zu bytes",
	                               max)) < 0)) {
		coffer_buf_free(&b);
		return error;
	}
	*out = coffer_buf_detach(&b, len);
	return *out ? 0 : coffer_error_set(COFFER_ENOMEM, "out of memory");
}

int coffer_file_read(uint8_t **out, size_t *len, const char *path, size_t max)
{
	int fd, error;

	if (strcmp(path, "-") == 0)
		return coffer_fd_read_all(out, len, STDIN_FILENO, max);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return coffer_error_set(COFFER_EIO, "%s: %s", path, strerror(errno));
	error = coffer_fd_read_all(out, len, fd, max);
	close(fd);
	if (error < 0)
		return coffer_error_wrap(error, "%s", path);
	return 0;
}

int coffer_file_read_secret(coffer_secret *out, const char *path, size_t max)
{
	uint8_t *p = NULL;
	size_t n = 0;
	int error;

	if ((error = coffer_file_read(&p, &n, path, max)) < 0)
		return error;
	error = coffer_secret_set(out, p, n);
	coffer_free_wiped(p, n);
	return error;
}

int coffer_file_write(const char *path, const void *data, size_t len, unsigned mode)
{
	char tmp[PATH_MAX];
	int fd, n, error;

	n = snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return coffer_error_set(COFFER_EINVAL, "path too long");
	fd = mkstemp(tmp);
	if (fd < 0)
		return coffer_error_set(COFFER_EIO, "%s: %s", path, strerror(errno));
	if (fchmod(fd, (mode_t)mode) != 0) {
		error = coffer_error_set(COFFER_EIO, "%s: chmod: %s", path, strerror(errno));
		goto fail;
	}
	if ((error = coffer_write_all(fd, data, len)) < 0)
		goto fail;
	if (fsync(fd) != 0) {
		error = coffer_error_set(COFFER_EIO, "%s: fsync: %s", path, strerror(errno));
		goto fail;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		error = coffer_error_set(COFFER_EIO, "%s: rename: %s", path, strerror(errno));
		unlink(tmp);
		return error;
	}
	return 0;
fail:
	close(fd);
	unlink(tmp);
	return error;
}

int coffer_file_write_private(const char *path, const void *data, size_t len)
{
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & 0077))
		return coffer_error_set(COFFER_EDENIED,
		                        "%s: refusing to write key material over a file readable "
		                        "by group or others (mode %03o)",
		                        path, (unsigned)(st.st_mode & 0777));
	return coffer_file_write(path, data, len, 0600);
}
