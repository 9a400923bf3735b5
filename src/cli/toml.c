/*
 * coffer toml decode: the toml-test decoder protocol (TOML on stdin, the
 * tagged JSON on stdout, exit 1 with the message on stderr for invalid TOML).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coffer/file.h"
#include "coffer/toml.h"
#include "cli.h"

const char cmd_toml_help[] = "TOML tools: 'decode' turns TOML (stdin) into toml-test tagged JSON";

static void usage(FILE *f)
{
	fprintf(f, "usage: coffer toml decode\n"
	           "Reads a TOML 1.0 document on stdin and writes the toml-test tagged JSON\n"
	           "on stdout. Exit 0 ok, 1 invalid TOML (message on stderr), 2 usage.\n");
}

static int decode(void)
{
	coffer_toml_options opts = COFFER_TOML_OPTIONS_INIT;
	coffer_toml *doc = NULL;
	uint8_t *text = NULL;
	char *js = NULL;
	json_t *j = NULL;
	size_t len = 0;
	int error, rc = CLI_INTERNAL;

	if ((error = coffer_fd_read_all(&text, &len, STDIN_FILENO, CLI_INPUT_MAX)) < 0) {
		cli_error("toml", NULL);
		rc = cli_exit_code(error);
		goto out;
	}
	opts.max_input = CLI_INPUT_MAX;
	if ((error = coffer_toml_parse(&doc, (const char *)text, len, &opts)) < 0) {
		cli_error("toml", NULL);
		/* CLI.md: invalid TOML, limits included, is exit 1 */
		rc = error == COFFER_ENOMEM ? CLI_INTERNAL : CLI_FAIL;
		goto out;
	}
	if ((error = coffer_toml_to_tagged_json(&j, coffer_toml_root(doc))) < 0) {
		cli_error("toml", NULL);
		goto out;
	}
	js = json_dumps(j, JSON_PRESERVE_ORDER | JSON_COMPACT);
	if (js == NULL) {
		cli_error("toml", "cannot serialize JSON");
		goto out;
	}
	if (coffer_write_all(STDOUT_FILENO, js, strlen(js)) < 0 ||
	    coffer_write_all(STDOUT_FILENO, "\n", 1) < 0) {
		cli_error("toml", NULL);
		goto out;
	}
	rc = CLI_OK;
out:
	free(js);
	json_decref(j);
	coffer_toml_free(doc);
	free(text);
	return rc;
}

int cmd_toml(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		usage(stdout);
		return CLI_OK;
	}
	if (argc != 2 || strcmp(argv[1], "decode") != 0) {
		if (argc < 2)
			cli_error("toml", "missing subcommand");
		else
			cli_error("toml", "unexpected argument '%s'", argv[1]);
		usage(stderr);
		return CLI_USAGE;
	}
	return decode();
}
