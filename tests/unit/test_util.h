/* Helpers shared by the cmocka unit tests. */
#ifndef COFFER_TEST_UTIL_H
#define COFFER_TEST_UTIL_H

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

/* ctest reads this exit code as "skipped" (cmake/CofferModules.cmake). */
#define TEST_SKIP_RC 77

/* Directory of an external suite (COFFER_VECTORS / COFFER_CONFORMANCE), or
 * NULL when it is absent: the test then reports itself skipped, never passed. */
static inline const char *test_env_dir(const char *var)
{
	const char *d = getenv(var);
	struct stat st;

	if (d == NULL || stat(d, &st) != 0 || !S_ISDIR(st.st_mode))
		return NULL;
	return d;
}

/* Exit the whole program as skipped, with the reason on stderr. */
static inline void test_skip_all(const char *why)
{
	fprintf(stderr, "SKIPPED: %s\n", why);
	exit(TEST_SKIP_RC);
}

/* Entries of a directory other than "." and "..", hidden ones included;
 * fails the test if it cannot be read. */
static inline size_t test_dir_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Read a whole file into a NUL-terminated buffer; fails the test if absent. */
static inline uint8_t *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long n;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = 0;
	fclose(f);
	if (len)
		*len = (size_t)n;
	return p;
}

#endif
