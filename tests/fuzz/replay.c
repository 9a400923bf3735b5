/*
 * Standalone replay driver: runs LLVMFuzzerTestOneInput over every file in
 * the directories (or files) named on the command line, so a gcc build (and
 * its ASan+UBSan variant) exercises the committed corpus without libFuzzer.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned count = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			struct dirent **ents;
			int n = scandir(argv[i], &ents, NULL, alphasort);
			if (n < 0) {
				perror(argv[i]);
				return 1;
			}
			for (int j = 0; j < n; j++) {
				char path[4096];
				if (ents[j]->d_name[0] != '.') {
					snprintf(path, sizeof(path), "%s/%s", argv[i],
					         ents[j]->d_name);
					if (run_file(path) != 0)
						return 1;
					count++;
				}
				free(ents[j]);
			}
			free(ents);
		} else {
			if (run_file(argv[i]) != 0)
				return 1;
			count++;
		}
	}
	if (count == 0) {
		fprintf(stderr, "replay: no corpus files\n");
		return 1;
	}
	printf("replayed %u inputs\n", count);
	return 0;
}
