/*
 * fake_tsm: emulates the kernel side of configfs-tsm on an ordinary
 * directory, so the attester's file-level mechanics (entry creation,
 * provider, inblob, outblob, auxblob, generation, removal) are tested without
 * a TEE. It watches ROOT with inotify; a new entry directory gets `inblob`,
 * `generation`, (`privlevel` for sev_guest) and, last, `provider`; a 64-byte
 * write to `inblob` bumps `generation` and produces `auxblob` and then
 * `outblob` (both through rename, so a reader never sees half a file).
 *
 *   fake_tsm --root DIR --provider sev_guest|tdx_guest
 *            [--report FILE]   a recorded real report/quote; its REPORT_DATA
 *                              field is replaced by the inblob (so the
 *                              signature no longer verifies: mechanics only)
 *            [--gen PROGRAM]   run PROGRAM PROVIDER INBLOB_HEX OUTFILE AUXFILE
 *            [--sim COFFER_SIM --sim-dir DIR]
 *                              fill outblob (and the SNP auxblob) from the
 *                              simulated TEEs: coffer-sim snp-report /
 *                              tdx-quote with the inblob as REPORT_DATA
 *            [--auxblob FILE]  auxblob content (SNP certificate table)
 *            [--race]          bump generation twice (another writer)
 *            [--ready FILE]    created once the watch is in place
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ENTRIES 256

static const char *root, *provider, *report_file, *gen_prog, *aux_file, *ready_file, *sim, *sim_dir;
static int race;
static volatile sig_atomic_t stop;

static struct {
	int wd;
	char name[NAME_MAX + 1];
	unsigned long long gen;
} entries[MAX_ENTRIES];

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int read_file(const char *path, unsigned char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL)
		return -1;
	for (;;) {
		if (n == cap) {
			unsigned char *q;
			cap = cap ? cap * 2 : 4096;
			if (cap > 16 * 1024 * 1024 || (q = realloc(p, cap)) == NULL) {
				free(p);
				fclose(f);
				return -1;
			}
			p = q;
		}
		size_t r = fread(p + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*out = p;
	*len = n;
	return 0;
}

/* write DIR/.tmp-NAME then rename to DIR/NAME */
static int put_file(const char *dir, const char *name, const void *data, size_t len)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", dir, name);
	snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	f = fopen(tmp, "wb");
	if (f == NULL)
		return -1;
	if (len && fwrite(data, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, dst);
}

static int put_gen(const char *dir, unsigned long long gen)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%llu\n", gen);

	return put_file(dir, "generation", text, (size_t)n);
}

static void new_entry(int ifd, const char *name)
{
	char dir[PATH_MAX], path[PATH_MAX];
	int slot = -1, fd;

	for (int i = 0; i < MAX_ENTRIES; i++)
		if (entries[i].wd <= 0) {
			slot = i;
			break;
		}
	if (slot < 0)
		return;
	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	/* attributes the attester writes exist before the watch, so their
	 * creation raises no event; provider comes last: it is the signal */
	snprintf(path, sizeof(path), "%s/inblob", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0)
		close(fd);
	if (strcmp(provider, "sev_guest") == 0) {
		snprintf(path, sizeof(path), "%s/privlevel", dir);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0)
			close(fd);
	}
	put_gen(dir, 0);
	entries[slot].wd = inotify_add_watch(ifd, dir, IN_CLOSE_WRITE | IN_DELETE_SELF);
	if (entries[slot].wd < 0)
		return;
	snprintf(entries[slot].name, sizeof(entries[slot].name), "%s", name);
	entries[slot].gen = 0;
	{
		char text[40];
		int n = snprintf(text, sizeof(text), "%s\n", provider);
		put_file(dir, "provider", text, (size_t)n);
	}
}

static void tohex(char *out, const unsigned char *in, size_t len)
{
	static const char h[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = h[in[i] >> 4];
		out[2 * i + 1] = h[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static void answer(int slot)
{
	char dir[PATH_MAX], path[PATH_MAX];
	unsigned char *in = NULL, *rep = NULL, *aux = NULL;
	size_t in_len = 0, rep_len = 0, aux_len = 0;

	snprintf(dir, sizeof(dir), "%s/%s", root, entries[slot].name);
	snprintf(path, sizeof(path), "%s/inblob", dir);
	if (read_file(path, &in, &in_len) != 0 || in_len != 64) {
		free(in);
		return;
	}
	entries[slot].gen += race ? 2 : 1;
	put_gen(dir, entries[slot].gen);
	if (gen_prog || sim) {
		char hex[129], outp[PATH_MAX], auxp[PATH_MAX];
		pid_t pid;
		int st = 0;
		tohex(hex, in, 64);
		snprintf(outp, sizeof(outp), "%s/.gen-out", dir);
		snprintf(auxp, sizeof(auxp), "%s/.gen-aux", dir);
		pid = fork();
		if (pid == 0) {
			int devnull = open("/dev/null", O_WRONLY);
			if (devnull >= 0)
				dup2(devnull, 1);
			if (gen_prog)
				execl(gen_prog, gen_prog, provider, hex, outp, auxp, (char *)NULL);
			else if (strcmp(provider, "sev_guest") == 0)
				execl(sim, sim, "snp-report", "--dir", sim_dir, "--report-data",
				      hex, "--out", outp, "--auxblob", auxp, (char *)NULL);
			else
				execl(sim, sim, "tdx-quote", "--dir", sim_dir, "--report-data", hex,
				      "--out", outp, (char *)NULL);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, &st, 0);
		if (pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			read_file(outp, &rep, &rep_len);
			read_file(auxp, &aux, &aux_len);
		}
		unlink(outp);
		unlink(auxp);
	} else if (report_file && read_file(report_file, &rep, &rep_len) == 0) {
		/* SEV-SNP ABI table 23: REPORT_DATA at 0x50. TDX DCAP quote v4/v5:
		 * 48-byte header, TD report body with REPORT_DATA at body+520
		 * (v5 adds a 6-byte body descriptor). */
		size_t off = strcmp(provider, "sev_guest") == 0 ? 0x50 : 48 + 520;
		if (strcmp(provider, "tdx_guest") == 0 && rep_len > 2 && rep[0] == 5)
			off += 6;
		if (rep_len >= off + 64)
			memcpy(rep + off, in, 64);
	}
	if (aux_file && aux == NULL)
		read_file(aux_file, &aux, &aux_len);
	if (aux)
		put_file(dir, "auxblob", aux, aux_len);
	if (rep)
		put_file(dir, "outblob", rep, rep_len);
	free(in);
	free(rep);
	free(aux);
}

static void handle(int ifd, const struct inotify_event *ev, int root_wd)
{
	if (ev->wd == root_wd) {
		if ((ev->mask & IN_CREATE) && (ev->mask & IN_ISDIR) && ev->len)
			new_entry(ifd, ev->name);
		return;
	}
	for (int i = 0; i < MAX_ENTRIES; i++) {
		if (entries[i].wd != ev->wd)
			continue;
		if (ev->mask & (IN_DELETE_SELF | IN_IGNORED)) {
			entries[i].wd = 0;
		} else if ((ev->mask & IN_CLOSE_WRITE) && ev->len) {
			if (strcmp(ev->name, "inblob") == 0) {
				answer(i);
			} else if (strcmp(ev->name, "privlevel") == 0) {
				char dir[PATH_MAX];
				snprintf(dir, sizeof(dir), "%s/%s", root, entries[i].name);
				put_gen(dir, ++entries[i].gen);
			}
		}
		return;
	}
}

int main(int argc, char **argv)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct sigaction sa;
	int ifd, root_wd;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--race") == 0) {
			race = 1;
			continue;
		}
		if (v == NULL) {
			fprintf(stderr, "fake_tsm: %s needs a value\n", a);
			return 2;
		}
		if (strcmp(a, "--root") == 0)
			root = v;
		else if (strcmp(a, "--provider") == 0)
			provider = v;
		else if (strcmp(a, "--report") == 0)
			report_file = v;
		else if (strcmp(a, "--gen") == 0)
			gen_prog = v;
		else if (strcmp(a, "--auxblob") == 0)
			aux_file = v;
		else if (strcmp(a, "--ready") == 0)
			ready_file = v;
		else if (strcmp(a, "--sim") == 0)
			sim = v;
		else if (strcmp(a, "--sim-dir") == 0)
			sim_dir = v;
		else {
			fprintf(stderr, "fake_tsm: unknown option %s\n", a);
			return 2;
		}
		i++;
	}
	if (root == NULL || provider == NULL || (sim != NULL) != (sim_dir != NULL)) {
		fprintf(stderr, "usage: fake_tsm --root DIR --provider NAME [--report FILE | --gen "
		                "PROG | --sim COFFER_SIM --sim-dir DIR] [--auxblob FILE] [--race] "
		                "[--ready FILE]\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	ifd = inotify_init1(IN_CLOEXEC);
	if (ifd < 0 || (root_wd = inotify_add_watch(ifd, root, IN_CREATE)) < 0) {
		perror("fake_tsm: inotify");
		return 1;
	}
	if (ready_file) {
		int fd = open(ready_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0)
			close(fd);
	}
	while (!stop) {
		struct pollfd pfd = { ifd, POLLIN, 0 };
		ssize_t n;
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = read(ifd, buf, sizeof(buf));
		if (n <= 0)
			continue;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			handle(ifd, ev, root_wd);
			p += sizeof(*ev) + ev->len;
		}
	}
	close(ifd);
	return 0;
}
