/*
 * coffer principal add|list|disable: the workload provider enrols the keys
 * that speak for the other personas and hands them namespaces (CLI.md,
 * PERSONAS.md, docs/personas.md).
 *
 *   add     -> POST /kbs/v0/admin/principals; prints the new principal id
 *   list    -> GET  /kbs/v0/admin/principals; one line per principal:
 *              id<TAB>persona<TAB>namespaces (comma separated, "-" if none)
 *              <TAB>active|disabled
 *   disable -> POST /kbs/v0/admin/principals/<id>/disable
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/file.h"
#include "coffer/jose.h"
#include "coffer/kbs.h"
#include "cli.h"
#include "cli_admin.h"

const char cmd_principal_help[] =
        "enrol, list or disable principals on the broker (workload provider)";

#define MAX_NS 64

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: coffer principal add --persona "
	        "workload-provider|image-provider|data-owner\n"
	        "                            --pubkey pub.jwk [--namespace NAME]... [flags]\n"
	        "       coffer principal list [flags]\n"
	        "       coffer principal disable ID [flags]\n"
	        "add prints the new principal's id (the RFC 7638 thumbprint of its key); with\n"
	        "--json, the broker's answer. A namespace has one owner for good: handing out\n"
	        "one that is owned fails (exit 1). list prints id, persona, namespaces and\n"
	        "state, tab separated. disable freezes the principal and its namespaces.\n"
	        "Exit codes: 0 done, 1 refused by the broker, 2 usage, 3 network/internal.\n%s",
	        cli_admin_common_help);
}

static void print_principal(const json_t *e)
{
	json_t *ns = json_object_get(e, "namespaces"), *v;
	size_t k;

	printf("%s\t%s\t", json_string_value(json_object_get(e, "id")),
	       json_string_value(json_object_get(e, "persona")));
	if (json_array_size(ns) == 0)
		putchar('-');
	json_array_foreach(ns, k, v) printf("%s%s", k ? "," : "", json_string_value(v));
	printf("\t%s\n", json_is_true(json_object_get(e, "disabled")) ? "disabled" : "active");
}

int cmd_principal(int argc, char **argv)
{
	struct cli_admin a = { .cmd = "principal" };
	const char *sub, *persona = NULL, *pubkey = NULL, *id = NULL, *ns[MAX_NS];
	const struct cli_flag flags[] = { { "--persona", &persona },
		                          { "--pubkey", &pubkey },
		                          { NULL, NULL } };
	size_t nns = 0;
	coffer_jwk *key = NULL;
	json_t *req = NULL, *pubj = NULL, *arr = NULL, *ans = NULL;
	char *body = NULL, path[512];
	coffer_buf resp = COFFER_BUF_INIT_MAX((size_t)16 * 1024 * 1024);
	long status = 0;
	int rc = CLI_USAGE, r;

	if (cli_help_or_usage(&rc, argc, argv, usage))
		return rc;
	sub = argv[1];
	for (int i = 2; i < argc; i++) {
		if ((r = cli_admin_opt(&a, flags, argc, argv, &i)) < 0)
			return CLI_USAGE;
		if (r)
			continue;
		if (strcmp(argv[i], "--namespace") == 0 && i + 1 < argc) {
			if (nns >= MAX_NS) {
				cli_error(a.cmd, "at most %d namespaces", MAX_NS);
				return CLI_USAGE;
			}
			ns[nns++] = argv[++i];
		} else if (id == NULL && (argv[i][0] != '-' || strcmp(sub, "disable") == 0))
			id = argv[i]; /* ids are base64url: they may start with '-' */
		else {
			cli_error(a.cmd, "unexpected argument '%s'", argv[i]);
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (strcmp(sub, "add") == 0) {
		if (persona == NULL || pubkey == NULL || id) {
			cli_error(a.cmd, "add needs --persona and --pubkey");
			return CLI_USAGE;
		}
		if (strcmp(persona, "workload-provider") != 0 &&
		    strcmp(persona, "image-provider") != 0 && strcmp(persona, "data-owner") != 0) {
			cli_error(a.cmd,
			          "--persona: workload-provider, image-provider or data-owner");
			return CLI_USAGE;
		}
		for (size_t i = 0; i < nns; i++)
			if (!coffer_kbs_segment_valid(ns[i], strlen(ns[i]))) {
				cli_error(a.cmd, "invalid namespace '%s'", ns[i]);
				return CLI_USAGE;
			}
		if (coffer_jwk_load(&key, pubkey) < 0) {
			cli_error(a.cmd, "%s: %s", pubkey, coffer_error_last());
			return CLI_USAGE;
		}
		/* only the public half ever leaves this machine */
		if (coffer_jwk_to_json(&pubj, key, false) < 0 || (arr = json_array()) == NULL) {
			rc = CLI_INTERNAL;
			goto out;
		}
		for (size_t i = 0; i < nns; i++)
			json_array_append_new(arr, json_string(ns[i]));
		req = json_pack("{s:s,s:O,s:O}", "persona", persona, "public_key", pubj,
		                "namespaces", arr);
		if (req == NULL ||
		    (body = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
			rc = CLI_INTERNAL;
			goto out;
		}
		if ((rc = cli_admin_init(&a)) != CLI_OK)
			goto out;
		rc = cli_admin_request(&a, "POST", "/kbs/v0/admin/principals",
		                       (const uint8_t *)body, strlen(body), "application/json",
		                       &status, &resp);
		if (rc != CLI_OK)
			goto out;
		if (a.json) {
			cli_admin_print_raw(&resp);
			goto out;
		}
		ans = json_loadb((const char *)resp.ptr, resp.len, 0, NULL);
		if (json_string_value(json_object_get(ans, "id")) == NULL) {
			cli_error(a.cmd, "broker answer has no id");
			rc = CLI_INTERNAL;
			goto out;
		}
		printf("%s\n", json_string_value(json_object_get(ans, "id")));
	} else if (strcmp(sub, "list") == 0) {
		if (id || persona || pubkey || nns) {
			cli_error(a.cmd, "list takes no arguments");
			return CLI_USAGE;
		}
		if ((rc = cli_admin_init(&a)) != CLI_OK)
			goto out;
		rc = cli_admin_request(&a, "GET", "/kbs/v0/admin/principals", NULL, 0, NULL,
		                       &status, &resp);
		if (rc == CLI_OK)
			rc = cli_admin_print_list(&a, &resp, print_principal);
	} else if (strcmp(sub, "disable") == 0) {
		if (id == NULL || persona || pubkey || nns ||
		    !coffer_kbs_segment_valid(id, strlen(id)) || strlen(id) > 128) {
			cli_error(a.cmd, "disable needs one principal ID");
			return CLI_USAGE;
		}
		snprintf(path, sizeof(path), "/kbs/v0/admin/principals/%s/disable", id);
		if ((rc = cli_admin_init(&a)) != CLI_OK)
			goto out;
		rc = cli_admin_request(&a, "POST", path, NULL, 0, NULL, &status, &resp);
		if (rc == CLI_OK && a.json)
			cli_admin_print_raw(&resp);
	} else {
		usage(stderr);
		return CLI_USAGE;
	}
out:
	json_decref(ans);
	json_decref(req);
	json_decref(pubj);
	json_decref(arr);
	free(body);
	coffer_jwk_free(key);
	coffer_buf_free(&resp);
	cli_admin_free(&a);
	return rc;
}
