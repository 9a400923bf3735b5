#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "coffer/common.h"
#include "cli.h"

void cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "coffer %s: ", cmd);
	if (fmt == NULL) {
		fprintf(stderr, "%s\n", coffer_error_last());
		return;
	}
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_exit_code(int error)
{
	switch (error) {
	case COFFER_OK:
		return CLI_OK;
	case COFFER_EVERIFY:
	case COFFER_EDENIED:
	case COFFER_EEXPIRED:
		return CLI_FAIL;
	case COFFER_EINVAL:
	case COFFER_EIO:
	case COFFER_ENOTFOUND:
	case COFFER_EUNSUPPORTED:
	case COFFER_ELIMIT:
		return CLI_USAGE;
	default:
		return CLI_INTERNAL;
	}
}

const char **cli_flag_find(const struct cli_flag *flags, const char *arg)
{
	for (; flags && flags->name; flags++)
		if (strcmp(arg, flags->name) == 0)
			return flags->dst;
	return NULL;
}

bool cli_is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (cli_is_help(argv[i]))
			return true;
	return false;
}

bool cli_help_or_usage(int *out, int argc, char **argv, void (*usage)(FILE *f))
{
	if (argc < 2) {
		usage(stderr);
		*out = CLI_USAGE;
		return true;
	}
	if (cli_wants_help(argc, argv)) {
		usage(stdout);
		*out = CLI_OK;
		return true;
	}
	return false;
}
