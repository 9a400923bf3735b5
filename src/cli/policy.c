/*
 * coffer policy: Rego policies.
 *
 *   coffer policy eval [--data d.json] [--input i.json] --query Q [--query-var-output] MODULE.rego...
 *
 * prints {"result":[...]} (an empty list when the query is undefined): one
 * object per solution, {"x": <value of the query>} by default, or the
 * bindings of the query's variables with --query-var-output. A Rego error
 * (parse, compile or evaluation) exits 1 with {"error":{"code","message"}}.
 * Further subcommands (e.g. `policy set`, talking to a broker) are added to
 * the table in cmd_policy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_admin.h"
#include "coffer/common.h"
#include "coffer/file.h"
#include "coffer/rego.h"

const char cmd_policy_help[] = "Rego policies: evaluate a query (policy eval)";

static void eval_usage(FILE *f)
{
	fprintf(f, "usage: coffer policy eval [--data d.json] [--input i.json] --query "
	           "'data.pkg.rule'\n"
	           "                          [--query-var-output] MODULE.rego...\n"
	           "  stdout: {\"result\":[{<bindings>}...]} (empty list if undefined);\n"
	           "  a Rego error exits 1 with {\"error\":{\"code\":...,\"message\":...}}\n");
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 65536 + 1 > cap) {
			size_t nc = cap ? cap * 2 : 65536 * 2;
			if (nc > CLI_INPUT_MAX + 1) {
				free(buf);
				buf = NULL;
				break;
			}
			char *nb = realloc(buf, nc);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap = nc;
		}
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	if (buf && ferror(f)) {
		free(buf);
		buf = NULL;
	}
	if (f != stdin)
		fclose(f);
	if (buf) {
		buf[n] = '\0';
		*len = n;
	}
	return buf;
}

static json_t *load_json(const char *what, const char *path)
{
	size_t len = 0;
	char *txt = slurp(path, &len);
	json_error_t e;
	json_t *j;

	if (!txt) {
		cli_error("policy", "cannot read %s file %s", what, path);
		return NULL;
	}
	j = json_loadb(txt, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
	free(txt);
	if (!j)
		cli_error("policy", "%s %s: invalid JSON at line %d: %s", what, path, e.line,
		          e.text);
	return j;
}

static int print_error(const coffer_rego_diag *d)
{
	char msg[512];
	json_t *o;
	char *t;

	if (d->line > 0)
		snprintf(msg, sizeof(msg), "%s:%d:%d: %s", d->file[0] ? d->file : "policy", d->line,
		         d->col, d->message);
	else
		snprintf(msg, sizeof(msg), "%s", d->message);
	o = json_pack("{s:{s:s,s:s}}", "error", "code", d->code[0] ? d->code : "rego_error",
	              "message", msg);
	t = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (t)
		printf("%s\n", t);
	free(t);
	json_decref(o);
	fprintf(stderr, "coffer policy: %s: %s\n", d->code, msg);
	return CLI_FAIL;
}

static int policy_eval(int argc, char **argv)
{
	const char *data_path = NULL, *input_path = NULL, *query = NULL;
	int var_output = 0, rc = CLI_INTERNAL;
	const char **files = NULL;
	size_t nfiles = 0;
	coffer_rego_module *mods = NULL;
	coffer_rego_policy *pol = NULL;
	coffer_rego_query *q = NULL;
	coffer_rego_diag diag;
	json_t *input = NULL, *data = NULL, *res = NULL;

	memset(&diag, 0, sizeof(diag));
	files = calloc((size_t)argc + 1, sizeof(char *));
	if (!files)
		return CLI_INTERNAL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			eval_usage(stdout);
			rc = CLI_OK;
			goto out;
		} else if ((strcmp(a, "--data") == 0 || strcmp(a, "-d") == 0) && i + 1 < argc) {
			data_path = argv[++i];
		} else if ((strcmp(a, "--input") == 0 || strcmp(a, "-i") == 0) && i + 1 < argc) {
			input_path = argv[++i];
		} else if ((strcmp(a, "--query") == 0 || strcmp(a, "-q") == 0) && i + 1 < argc) {
			query = argv[++i];
		} else if (strcmp(a, "--query-var-output") == 0) {
			var_output = 1;
		} else if (a[0] == '-' && a[1] != '\0') {
			cli_error("policy", "unknown or incomplete option %s", a);
			eval_usage(stderr);
			rc = CLI_USAGE;
			goto out;
		} else {
			files[nfiles++] = a;
		}
	}
	if (!query) {
		cli_error("policy", "--query is required");
		eval_usage(stderr);
		rc = CLI_USAGE;
		goto out;
	}
	mods = calloc(nfiles + 1, sizeof(*mods));
	if (!mods)
		goto out;
	for (size_t i = 0; i < nfiles; i++) {
		size_t len = 0;
		char *txt = slurp(files[i], &len);
		if (!txt) {
			cli_error("policy", "cannot read module %s", files[i]);
			rc = CLI_USAGE;
			goto out;
		}
		mods[i].name = files[i];
		mods[i].text = txt;
		mods[i].len = len;
	}
	if (data_path && !(data = load_json("data", data_path))) {
		rc = CLI_USAGE;
		goto out;
	}
	if (input_path && !(input = load_json("input", input_path))) {
		rc = CLI_USAGE;
		goto out;
	}
	if (coffer_rego_policy_compile(&pol, mods, nfiles, &diag) ||
	    coffer_rego_query_compile(&q, pol, query, &diag)) {
		rc = diag.code[0] ? print_error(&diag) : CLI_INTERNAL;
		goto out;
	}
	int r = coffer_rego_query_eval(&res, q, input, data, NULL, var_output, &diag);
	if (r == COFFER_ENOMEM) {
		cli_error("policy", NULL);
		goto out;
	}
	if (r) {
		rc = print_error(&diag);
		goto out;
	}
	json_t *wrap = json_pack("{s:O}", "result", res);
	char *t = wrap ? coffer_rego_json_text(wrap) : NULL;
	json_decref(wrap);
	if (!t) {
		cli_error("policy", "out of memory");
		goto out;
	}
	printf("%s\n", t);
	free(t);
	rc = CLI_OK;
out:
	for (size_t i = 0; mods && i < nfiles; i++)
		free((void *)mods[i].text);
	free(mods);
	free(files);
	json_decref(res);
	json_decref(input);
	json_decref(data);
	coffer_rego_query_free(q);
	coffer_rego_policy_free(pol);
	return rc;
}

typedef struct policy_sub {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} policy_sub;

/* `policy set` (broker) is added here by the broker engineer. */
static const policy_sub subs[] = {
	{ "eval", policy_eval, "evaluate a Rego query against modules, input and data" },
	{ "set", cli_policy_set, "set the attestation, resource or release policy on a broker" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: coffer policy <subcommand> [options]\n");
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		fprintf(f, "  %-6s %s\n", subs[i].name, subs[i].help);
}

int cmd_policy(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].fn(argc - 1, argv + 1);
	cli_error("policy", "unknown subcommand %s", argv[1]);
	usage(stderr);
	return CLI_USAGE;
}
