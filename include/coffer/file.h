/* Files: bounded reads, private (0600) writes for key material. */
#ifndef COFFER_FILE_H
#define COFFER_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "coffer/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Read a whole file ("-" is stdin) of at most `max` bytes; NUL-terminated. */
int coffer_file_read(uint8_t **out, size_t *len, const char *path, size_t max);
int coffer_file_read_secret(coffer_secret *out, const char *path, size_t max);
/* Read all of a file descriptor, at most `max` bytes. */
int coffer_fd_read_all(uint8_t **out, size_t *len, int fd, size_t max);
/* Write atomically (temp file + fsync + rename) with the given mode. */
int coffer_file_write(const char *path, const void *data, size_t len, unsigned mode);
/* Write key material: mode 0600, refused if an existing target is readable by others. */
int coffer_file_write_private(const char *path, const void *data, size_t len);
int coffer_write_all(int fd, const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
