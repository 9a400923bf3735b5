/*
 * configfs-tsm (Linux Documentation/ABI/testing/configfs-tsm): one report is
 * one directory under /sys/kernel/config/tsm/report. The kernel creates the
 * attributes with the directory; writing `inblob` (64 bytes) or `privlevel`
 * bumps `generation`; reading `outblob` produces the report for the last
 * inblob. A concurrent writer to the same entry would move `generation`
 * under us, so it is checked after the read.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coffer/attester.h"
#include "coffer/file.h"
#include "attester/attester_internal.h"

#define TSM_WAIT_DEFAULT_MS 2000
#define TSM_POLL_MS         5

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int attr_path(char *out, size_t cap, const char *dir, const char *attr)
{
	int n = snprintf(out, cap, "%s/%s", dir, attr);

	if (n < 0 || (size_t)n >= cap)
		return coffer_error_set(COFFER_EINVAL, "configfs-tsm: path too long: %s", dir);
	return 0;
}

/* Read an attribute. A real configfs entry has every attribute from the
 * start; a file that is missing or still empty is waited for (bounded), so a
 * fake tree populated by a helper process behaves the same. `optional`: a
 * missing attribute after the wait is not an error (*len = 0, *out = NULL). */
static int read_attr(uint8_t **out, size_t *len, const char *dir, const char *attr, size_t max,
                     unsigned wait_ms, int optional)
{
	char path[PATH_MAX];
	unsigned waited = 0;
	int error;

	*out = NULL;
	*len = 0;
	if ((error = attr_path(path, sizeof(path), dir, attr)) < 0)
		return error;
	for (;;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		int saved;
		if (fd >= 0) {
			error = coffer_fd_read_all(out, len, fd, max);
			saved = errno;
			close(fd);
			if (error < 0) {
				if (optional && error == COFFER_EIO &&
				    (saved == EOPNOTSUPP || saved == EINVAL || saved == ENXIO)) {
					coffer_error_clear();
					return 0;
				}
				return coffer_error_wrap(error, "configfs-tsm: %s", path);
			}
			if (*len > 0)
				return 0;
			free(*out);
			*out = NULL;
			if (optional && strcmp(attr, "auxblob") == 0)
				return 0; /* the provider has no auxiliary blob */
		} else if (errno != ENOENT) {
			return coffer_error_set(COFFER_EIO, "configfs-tsm: cannot read %s: %s",
			                        path, strerror(errno));
		}
		if (waited >= wait_ms) {
			if (optional)
				return 0;
			return coffer_error_set(COFFER_EIO,
			                        "configfs-tsm: %s is %s after %u ms (is this a "
			                        "configfs-tsm tree?)",
			                        path, fd >= 0 ? "empty" : "missing", waited);
		}
		sleep_ms(TSM_POLL_MS);
		waited += TSM_POLL_MS;
	}
}

static int write_attr(const char *dir, const char *attr, const void *data, size_t len)
{
	char path[PATH_MAX];
	int fd, error;

	if ((error = attr_path(path, sizeof(path), dir, attr)) < 0)
		return error;
	/* never create: the attribute belongs to the kernel */
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return coffer_error_set(COFFER_EIO, "configfs-tsm: cannot open %s: %s", path,
		                        strerror(errno));
	error = coffer_write_all(fd, data, len);
	if (close(fd) != 0 && error == 0)
		error = coffer_error_set(COFFER_EIO, "configfs-tsm: writing %s: %s", path,
		                         strerror(errno));
	if (error < 0)
		return coffer_error_wrap(error, "configfs-tsm: %s", path);
	return 0;
}

/* A short text attribute ("sev_guest\n", "3\n"): trailing newline removed. */
static int read_text_attr(char *out, size_t cap, const char *dir, const char *attr,
                          unsigned wait_ms)
{
	uint8_t *b = NULL;
	size_t len = 0;
	int error;

	if ((error = read_attr(&b, &len, dir, attr, 64, wait_ms, 0)) < 0)
		return error;
	while (len > 0 && (b[len - 1] == '\n' || b[len - 1] == ' '))
		len--;
	if (len == 0 || len >= cap || memchr(b, '\0', len) != NULL) {
		free(b);
		return coffer_error_set(COFFER_EINVAL, "configfs-tsm: %s/%s: unexpected content",
		                        dir, attr);
	}
	memcpy(out, b, len);
	out[len] = '\0';
	free(b);
	return 0;
}

static int read_generation(unsigned long long *out, const char *dir, unsigned wait_ms)
{
	char text[32], *end = NULL;
	int error;

	if ((error = read_text_attr(text, sizeof(text), dir, "generation", wait_ms)) < 0)
		return error;
	errno = 0;
	*out = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-')
		return coffer_error_set(COFFER_EINVAL, "configfs-tsm: %s/generation: not a number",
		                        dir);
	return 0;
}

static int make_entry(char *out, size_t cap, const char *root)
{
	static unsigned counter;
	struct stat st;
	int n;

	if (stat(root, &st) != 0)
		return coffer_error_set(COFFER_ENOTFOUND, "configfs-tsm: %s: %s", root,
		                        strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return coffer_error_set(COFFER_ENOTFOUND, "configfs-tsm: %s is not a directory",
		                        root);
	for (int tries = 0; tries < 8; tries++) {
		unsigned c = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
		n = snprintf(out, cap, "%s/coffer-%ld-%u", root, (long)getpid(), c);
		if (n < 0 || (size_t)n >= cap)
			return coffer_error_set(COFFER_EINVAL, "configfs-tsm: path too long: %s",
			                        root);
		if (mkdir(out, 0700) == 0)
			return 0;
		if (errno != EEXIST)
			return coffer_error_set(COFFER_EIO, "configfs-tsm: cannot create %s: %s",
			                        out, strerror(errno));
	}
	return coffer_error_set(COFFER_EIO, "configfs-tsm: no free entry name under %s", root);
}

/* A real configfs entry is removed with rmdir alone (its attributes are not
 * files). A fake tree holds regular files: remove those we know, then the
 * directory. Nothing else is touched. */
static void remove_entry(const char *dir)
{
	static const char *const attrs[] = { "inblob",         "outblob",    "auxblob",
		                             "provider",       "generation", "privlevel",
		                             "privlevel_floor" };
	char path[PATH_MAX];

	if (rmdir(dir) == 0 || (errno != ENOTEMPTY && errno != EEXIST))
		return;
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (attr_path(path, sizeof(path), dir, attrs[i]) == 0)
			(void)unlink(path);
	(void)rmdir(dir);
}

void coffer_tsm_report_clear(coffer_tsm_report *r)
{
	if (r == NULL)
		return;
	free(r->outblob);
	free(r->auxblob);
	memset(r, 0, sizeof(*r));
}

int attester_tsm_probe(char provider[32], const char *root, unsigned wait_ms)
{
	char dir[PATH_MAX];
	int error;

	if (wait_ms == 0)
		wait_ms = TSM_WAIT_DEFAULT_MS;
	if ((error = make_entry(dir, sizeof(dir), root)) < 0)
		return error;
	error = read_text_attr(provider, 32, dir, "provider", wait_ms);
	remove_entry(dir);
	return error;
}

int coffer_tsm_report_get(coffer_tsm_report *out, const char *root, const char *want_provider,
                          const uint8_t inblob[64], unsigned vmpl, unsigned wait_ms)
{
	coffer_tsm_report r;
	char dir[PATH_MAX];
	unsigned long long gen0 = 0, gen1 = 0, steps = 1;
	int error, created = 0;

	memset(&r, 0, sizeof(r));
	if (wait_ms == 0)
		wait_ms = TSM_WAIT_DEFAULT_MS;
	if ((error = make_entry(dir, sizeof(dir), root)) < 0)
		goto out;
	created = 1;
	if ((error = read_text_attr(r.provider, sizeof(r.provider), dir, "provider", wait_ms)) < 0)
		goto out;
	if (want_provider && strcmp(r.provider, want_provider) != 0) {
		error = coffer_error_set(COFFER_EUNSUPPORTED,
		                         "configfs-tsm: provider is '%s', expected '%s'",
		                         r.provider, want_provider);
		goto out;
	}
	if ((error = read_generation(&gen0, dir, wait_ms)) < 0)
		goto out;
	/* a privlevel write is one more generation step */
	if (vmpl != 0) {
		char lvl[16];
		int n = snprintf(lvl, sizeof(lvl), "%u\n", vmpl);
		if ((error = write_attr(dir, "privlevel", lvl, (size_t)n)) < 0)
			goto out;
		steps++;
	}
	if ((error = write_attr(dir, "inblob", inblob, 64)) < 0)
		goto out;
	if ((error = read_attr(&r.outblob, &r.outblob_len, dir, "outblob", TSM_OUTBLOB_MAX, wait_ms,
	                       0)) < 0)
		goto out;
	if ((error = read_attr(&r.auxblob, &r.auxblob_len, dir, "auxblob", TSM_AUXBLOB_MAX, 0, 1)) <
	    0)
		goto out;
	if ((error = read_generation(&gen1, dir, wait_ms)) < 0)
		goto out;
	if (gen1 != gen0 + steps) {
		error = coffer_error_set(COFFER_EIO,
		                         "configfs-tsm: generation moved from %llu to %llu while "
		                         "the report was read (another writer on %s)",
		                         gen0, gen1, dir);
		goto out;
	}
	*out = r;
	memset(&r, 0, sizeof(r));
	error = 0;
out:
	if (created)
		remove_entry(dir);
	coffer_tsm_report_clear(&r);
	return error;
}
