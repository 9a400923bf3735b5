/*
 * coffer refval set|get: reference values on the broker (CLI.md), through
 * the upstream-compatible endpoint (PROTOCOL.md section 4):
 * POST /kbs/v0/reference-value {"version":"0.1.0","type":"sample",
 * "payload":"<base64 of {\"NAME\":[values]}>"}; GET /kbs/v0/reference-value/NAME.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/codec.h"
#include "coffer/json.h"
#include "coffer/kbs.h"
#include "cli.h"
#include "cli_admin.h"

const char cmd_refval_help[] = "set or get reference values on the broker";

#define MAX_VALUES 1024

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: coffer refval set --name NAME --value V [--value V...] [flags]\n"
	        "       coffer refval get --name NAME [flags]\n"
	        "`get` prints the values as a JSON array.\n%s",
	        cli_admin_common_help);
}

int cmd_refval(int argc, char **argv)
{
	struct cli_admin a = { .cmd = "refval" };
	const char *sub, *name = NULL;
	const struct cli_flag flags[] = { { "--name", &name }, { NULL, NULL } };
	const char **values = NULL;
	size_t nvalues = 0;
	json_t *payload = NULL, *vals = NULL, *req = NULL, *got = NULL;
	char *ptext = NULL, *pb64 = NULL, *body = NULL, path[512];
	coffer_buf resp = COFFER_BUF_INIT_MAX((size_t)16 * 1024 * 1024);
	long status = 0;
	int rc = CLI_USAGE, r;

	if (cli_help_or_usage(&rc, argc, argv, usage))
		return rc;
	sub = argv[1];
	values = calloc((size_t)argc, sizeof(*values));
	if (values == NULL)
		return CLI_INTERNAL;
	for (int i = 2; i < argc; i++) {
		if ((r = cli_admin_opt(&a, flags, argc, argv, &i)) < 0)
			goto out;
		if (r)
			continue;
		if (strcmp(argv[i], "--value") == 0 && i + 1 < argc) {
			if (nvalues == MAX_VALUES) {
				cli_error(a.cmd, "at most %d values", MAX_VALUES);
				goto out;
			}
			values[nvalues++] = argv[++i];
		} else {
			cli_error(a.cmd, "unexpected argument '%s'", argv[i]);
			goto out;
		}
	}
	if (name == NULL || !coffer_kbs_segment_valid(name, strlen(name))) {
		cli_error(a.cmd, "--name NAME required ([A-Za-z0-9_-][A-Za-z0-9_.-]*)");
		goto out;
	}
	if (strcmp(sub, "set") == 0) {
		if (nvalues == 0) {
			cli_error(a.cmd, "set needs at least one --value");
			goto out;
		}
		vals = json_array();
		for (size_t i = 0; vals && i < nvalues; i++) {
			if (json_array_append_new(vals, json_string(values[i])) < 0) {
				cli_error(a.cmd, "value %zu is not UTF-8", i + 1);
				goto out;
			}
		}
		payload = json_object();
		if (payload == NULL || vals == NULL || json_object_set(payload, name, vals) < 0 ||
		    (ptext = json_dumps(payload, JSON_COMPACT)) == NULL ||
		    coffer_base64_encode(&pb64, NULL, (const uint8_t *)ptext, strlen(ptext),
		                         COFFER_B64_STD) < 0) {
			rc = CLI_INTERNAL;
			goto out;
		}
		req = json_pack("{s:s,s:s,s:s}", "version", "0.1.0", "type", "sample", "payload",
		                pb64);
		if (req == NULL ||
		    (body = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
			rc = CLI_INTERNAL;
			goto out;
		}
		if ((rc = cli_admin_init(&a)) != CLI_OK)
			goto out;
		rc = cli_admin_request(&a, "POST", "/kbs/v0/reference-value", (const uint8_t *)body,
		                       strlen(body), "application/json", &status, &resp);
	} else if (strcmp(sub, "get") == 0) {
		if (nvalues) {
			cli_error(a.cmd, "get takes no --value");
			goto out;
		}
		if ((rc = cli_admin_init(&a)) != CLI_OK)
			goto out;
		snprintf(path, sizeof(path), "/kbs/v0/reference-value/%s", name);
		rc = cli_admin_request(&a, "GET", path, NULL, 0, NULL, &status, &resp);
		if (rc != CLI_OK)
			goto out;
		if (coffer_json_parse(&got, (const char *)resp.ptr, resp.len, 0) < 0 ||
		    !json_is_array(json_object_get(got, name))) {
			cli_error(a.cmd, "broker answer is not {\"%s\": [...]}", name);
			rc = CLI_INTERNAL;
			goto out;
		}
		{
			char *out = json_dumps(a.json ? got : json_object_get(got, name),
			                       JSON_COMPACT | JSON_PRESERVE_ORDER);
			if (out == NULL) {
				rc = CLI_INTERNAL;
				goto out;
			}
			printf("%s\n", out);
			free(out);
		}
	} else {
		usage(stderr);
		rc = CLI_USAGE;
	}
out:
	free(values);
	free(ptext);
	free(pb64);
	free(body);
	json_decref(payload);
	json_decref(vals);
	json_decref(req);
	json_decref(got);
	coffer_buf_free(&resp);
	cli_admin_free(&a);
	return rc;
}
