/* coffer: the command line for every persona (CLI.md). */
#include <stdio.h>
#include <string.h>

#include "coffer/json.h"
#include "cli.h"

#define COFFER_CMD(name)                       \
	int cmd_##name(int argc, char **argv); \
	extern const char cmd_##name##_help[];
#include "commands.h"
#undef COFFER_CMD

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
};

static const struct command commands[] = {
#define COFFER_CMD(name) { #name, cmd_##name, cmd_##name##_help },
#include "commands.h"
#undef COFFER_CMD
	{ NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: coffer <command> [args...]\n\ncommands:\n");
	for (size_t i = 0; commands[i].name; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'coffer <command> --help' describes a command.\n"
	           "Exit codes: 0 ok, 1 verification failed or denied, 2 usage or input error,\n"
	           "3 internal or network error.\n");
}

int main(int argc, char **argv)
{
	coffer_json_wipe_on_free();
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("coffer 0.1.0\n");
		return CLI_OK;
	}
	for (size_t i = 0; commands[i].name; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "coffer: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return CLI_USAGE;
}
