/* Shared helpers of the coffer command's subcommands. */
#ifndef COFFER_CLI_H
#define COFFER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes (CLI.md): */
#define CLI_OK       0 /* success / valid / allowed */
#define CLI_FAIL     1 /* verification failed or denied */
#define CLI_USAGE    2 /* usage or input error */
#define CLI_INTERNAL 3 /* internal or network error */

/* Maximum size of any input the CLI reads whole (files, stdin). */
#define CLI_INPUT_MAX ((size_t)64 * 1024 * 1024)

/* Print "coffer <cmd>: <message>" (with coffer_error_last() when msg is NULL). */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Map a COFFER_E* code to a CLI exit code. */
int cli_exit_code(int coffer_error);
/* A flag that takes a value: `--in FILE` stores FILE in *dst. Tables of
 * them end with a NULL name. */
struct cli_flag {
	const char *name;
	const char **dst;
};
/* Where the flag `arg` of `flags` (may be NULL) stores its value, or NULL
 * when it is none of them. */
const char **cli_flag_find(const struct cli_flag *flags, const char *arg);
/* True when `arg` is --help or -h. */
bool cli_is_help(const char *arg);
/* True when argv contains --help or -h. */
bool cli_wants_help(int argc, char **argv);
/* The start of a command: without arguments the usage goes to stderr and
 * *out is CLI_USAGE; with --help or -h among them it goes to stdout and *out
 * is CLI_OK. True when the command ends there. */
bool cli_help_or_usage(int *out, int argc, char **argv, void (*usage)(FILE *f));

#endif
