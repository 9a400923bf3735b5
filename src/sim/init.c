/* coffer-sim init --dir DIR: every simulated TEE's test PKI in one directory. */
#include <stdio.h>
#include <string.h>

/* Provided by the SNP and TDX simulators when they are linked in. */
int sim_snp_init(const char *dir) __attribute__((weak));
int sim_tdx_init(const char *dir) __attribute__((weak));

const char simcmd_init_help[] = "init --dir DIR: create the test PKI of every simulated TEE";

int simcmd_init(int argc, char **argv)
{
	const char *dir = NULL;
	int n = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else {
			fprintf(stderr, "usage: coffer-sim %s\n", simcmd_init_help);
			return 2;
		}
	}
	if (dir == NULL) {
		fprintf(stderr, "usage: coffer-sim %s\n", simcmd_init_help);
		return 2;
	}
	if (sim_snp_init) {
		if (sim_snp_init(dir) != 0)
			return 3;
		n++;
	}
	if (sim_tdx_init) {
		if (sim_tdx_init(dir) != 0)
			return 3;
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "coffer-sim: no simulated TEE is built in\n");
		return 3;
	}
	return 0;
}
