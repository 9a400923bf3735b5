/*
 * coffer-sim: test-only simulated TEEs. Everything it makes chains to a test
 * root generated at test time; a broker never trusts it unless its config
 * names that root (ARCHITECTURE.md, "Testing without TEE hardware").
 */
#include <stdio.h>
#include <string.h>

#define SIM_CMD(name, cmd)                        \
	int simcmd_##name(int argc, char **argv); \
	extern const char simcmd_##name##_help[];
#include "sim_commands.h"
#undef SIM_CMD

struct sim_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
};

static const struct sim_command commands[] = {
#define SIM_CMD(name, cmd) { cmd, simcmd_##name, simcmd_##name##_help },
#include "sim_commands.h"
#undef SIM_CMD
	{ NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: coffer-sim <command> [args...]\n"
	           "Simulated TEEs for tests only: nothing here is trusted unless a broker's\n"
	           "configuration names the simulated root.\n\ncommands:\n");
	for (size_t i = 0; commands[i].name; i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; commands[i].name; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "coffer-sim: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
