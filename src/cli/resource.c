/*
 * coffer resource put|delete|list: manage secrets on a broker (CLI.md).
 * Values are write-only: `list` prints metadata, never a value. `put` seals
 * the value as a JWE (ECDH-ES+A256KW, A256GCM) to the broker's upload key
 * before it leaves (PERSONAS.md rule 5), so a TLS-terminating proxy sees
 * ciphertext only; pin that key with --upload-key, else it is read from the
 * broker's /kbs/v0/jwks. Each put makes a new version (docs/personas.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffer/file.h"
#include "coffer/jose.h"
#include "coffer/kbs.h"
#include "cli.h"
#include "cli_admin.h"

const char cmd_resource_help[] = "put, delete or list secrets on the broker (metadata only)";

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: coffer resource put kbs:///<repo>/<type>/<tag> [--in FILE]\n"
	        "                           [--upload-key FILE] [flags]\n"
	        "       coffer resource delete kbs:///<repo>/<type>/<tag> [flags]\n"
	        "       coffer resource list [--namespace NAME] [flags]\n"
	        "The value of `put` is read from --in (default stdin) and sealed to the\n"
	        "broker's upload key (--upload-key: a pinned JWK or JWKS file; default: the\n"
	        "\"use\":\"enc\" key of the broker's /kbs/v0/jwks). Each put is a new version:\n"
	        "it prints the versioned URI (kbs:///<repo>/<type>/<tag>.v<N>); the plain\n"
	        "name always means the latest. Values never come back: `list` shows path,\n"
	        "size, update time, owner and versions.\n%s",
	        cli_admin_common_help);
}

static void print_resource(const json_t *e)
{
	time_t t = (time_t)json_integer_value(json_object_get(e, "updated"));
	struct tm tm;
	char when[32];
	const char *owner = json_string_value(json_object_get(e, "owner"));
	json_t *vs = json_object_get(e, "versions"), *ve;
	size_t k;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("kbs:///%s\t%lld\t%s\t%s\t", json_string_value(json_object_get(e, "path")),
	       (long long)json_integer_value(json_object_get(e, "size")), when,
	       owner ? owner : "-");
	if (json_array_size(vs) == 0)
		putchar('-');
	json_array_foreach(vs, k, ve)
	        printf("%sv%lld", k ? "," : "", (long long)json_integer_value(ve));
	putchar('\n');
}

int cmd_resource(int argc, char **argv)
{
	struct cli_admin a = { .cmd = "resource" };
	coffer_kbs_resource_path rp;
	const char *sub, *uri = NULL, *in = "-", *ns = NULL, *upload = NULL;
	const struct cli_flag flags[] = {
		{ "--in", &in }, { "--namespace", &ns }, { "--upload-key", &upload }, { NULL, NULL }
	};
	coffer_jwk *ukey = NULL;
	char *jwe = NULL;
	json_t *ans = NULL;
	char path[1024];
	coffer_secret value = COFFER_SECRET_INIT;
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
		if (argv[i][0] != '-' && uri == NULL)
			uri = argv[i];
		else {
			cli_error(a.cmd, "unexpected argument '%s'", argv[i]);
			return CLI_USAGE;
		}
	}
	if (strcmp(sub, "list") == 0) {
		if (uri || upload) {
			cli_error(a.cmd, "list takes no URI and no --upload-key");
			return CLI_USAGE;
		}
		if (ns && !coffer_kbs_segment_valid(ns, strlen(ns))) {
			cli_error(a.cmd, "invalid namespace '%s'", ns);
			return CLI_USAGE;
		}
		snprintf(path, sizeof(path), "/kbs/v0/admin/resources%s%s", ns ? "?namespace=" : "",
		         ns ? ns : "");
	} else if (strcmp(sub, "put") == 0 || strcmp(sub, "delete") == 0) {
		if (uri == NULL || coffer_kbs_resource_uri_parse(&rp, uri) < 0) {
			cli_error(a.cmd, "want kbs:///<repo>/<type>/<tag>: %s",
			          uri ? coffer_error_last() : "missing");
			return CLI_USAGE;
		}
		snprintf(path, sizeof(path), "/kbs/v0/resource/%s/%s/%s", rp.repository, rp.type,
		         rp.tag);
	} else {
		usage(stderr);
		return CLI_USAGE;
	}
	if ((rc = cli_admin_init(&a)) != CLI_OK)
		goto out;
	if (strcmp(sub, "put") == 0) {
		if (coffer_file_read_secret(&value, in, CLI_INPUT_MAX) < 0) {
			cli_error(a.cmd, "%s: %s", in, coffer_error_last());
			rc = CLI_USAGE;
			goto out;
		}
		if ((rc = cli_admin_upload_key(&ukey, &a, upload)) != CLI_OK)
			goto out;
		if (coffer_jwe_encrypt_compact(&jwe, ukey, "ECDH-ES+A256KW", value.ptr, value.len) <
		    0) {
			cli_error(a.cmd, "sealing: %s", coffer_error_last());
			rc = CLI_INTERNAL;
			goto out;
		}
		/* the plaintext is not needed past this point */
		coffer_secret_free(&value);
		rc = cli_admin_request(&a, "POST", path, (const uint8_t *)jwe, strlen(jwe),
		                       "application/jose", &status, &resp);
		if (rc == CLI_OK) {
			ans = json_loadb((const char *)resp.ptr, resp.len, 0, NULL);
			if (a.json)
				cli_admin_print_raw(&resp);
			else if (json_string_value(json_object_get(ans, "version_path"))) {
				printf("kbs:///%s\n",
				       json_string_value(json_object_get(ans, "version_path")));
			}
		}
	} else if (strcmp(sub, "delete") == 0) {
		rc = cli_admin_request(&a, "DELETE", path, NULL, 0, NULL, &status, &resp);
	} else {
		rc = cli_admin_request(&a, "GET", path, NULL, 0, NULL, &status, &resp);
		if (rc == CLI_OK)
			rc = cli_admin_print_list(&a, &resp, print_resource);
	}
out:
	json_decref(ans);
	free(jwe);
	coffer_jwk_free(ukey);
	coffer_secret_free(&value);
	coffer_buf_free(&resp);
	cli_admin_free(&a);
	return rc;
}
