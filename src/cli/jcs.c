/*
 * coffer jcs [--in FILE] [--out FILE]: JSON -> RFC 8785 canonical JSON.
 *
 * Numbers are read as IEEE doubles, as JavaScript reads them, so that
 * integers beyond 2^53 are rounded the way every other JCS implementation
 * rounds them. The output has no trailing newline: it is the exact byte
 * string that gets hashed or signed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coffer/file.h"
#include "coffer/json.h"
#include "cli.h"

const char cmd_jcs_help[] = "JSON -> RFC 8785 canonical JSON (stdin or --in, stdout or --out)";

static void usage(FILE *f)
{
	fprintf(f, "usage: coffer jcs [--in FILE] [--out FILE]\n"
	           "Reads one JSON value (stdin by default) and writes its RFC 8785 canonical\n"
	           "form (stdout by default, no trailing newline). Exit 2 on invalid JSON.\n");
}

int cmd_jcs(int argc, char **argv)
{
	const char *in = "-", *outpath = NULL;
	uint8_t *text = NULL;
	char *canon = NULL;
	size_t text_len = 0, canon_len = 0;
	json_t *v = NULL;
	int error, rc;

	if (cli_wants_help(argc, argv)) {
		usage(stdout);
		return CLI_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--in") == 0 && i + 1 < argc) {
			in = argv[++i];
		} else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
			outpath = argv[++i];
		} else {
			cli_error("jcs", "unexpected argument '%s'", argv[i]);
			usage(stderr);
			return CLI_USAGE;
		}
	}

	if ((error = coffer_file_read(&text, &text_len, in, CLI_INPUT_MAX)) < 0 ||
	    (error = coffer_json_parse(&v, (const char *)text, text_len,
	                               COFFER_JSON_NUMBERS_AS_REAL | COFFER_JSON_ANY)) < 0 ||
	    (error = coffer_jcs_serialize(&canon, &canon_len, v)) < 0)
		goto out;
	if (outpath != NULL && strcmp(outpath, "-") != 0)
		error = coffer_file_write(outpath, canon, canon_len, 0644);
	else
		error = coffer_write_all(STDOUT_FILENO, canon, canon_len);
out:
	rc = cli_exit_code(error);
	if (error < 0)
		cli_error("jcs", NULL);
	json_decref(v);
	free(canon);
	free(text);
	return rc;
}
