/*
 * coffer collateral add FILE: put vendor-signed collateral (SEV-SNP VCEK/VLEK
 * certificates, AMD CRLs; Intel TDX collateral through coffer_tdx_collateral_add)
 * into the cache a broker or `coffer evidence verify
 * --collateral` reads. Anyone may add: a certificate is stored only after it
 * chains to a trusted AMD root, and it is checked again on every use
 * (PERSONAS.md, infrastructure-operator).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/evidence.h"
#include "coffer/file.h"
#include "coffer/snp.h"
#include "coffer/tdx.h"
#include "coffer/tdx.h"
#include "coffer/codec.h"
#include "coffer/json.h"
#include "cli.h"
#include "cli_admin.h"
#include "cli_http.h"
#include "cli_rfc3339.h"

#define COLLATERAL_FILE_MAX    ((size_t)256 * 1024)
#define COLLATERAL_DEFAULT_DIR "/var/lib/coffer/collateral"

const char cmd_collateral_help[] =
        "add FILE [--collateral DIR] [--roots DIR] [--at RFC3339]: add verified collateral "
        "(SNP VCEK/VLEK, AMD CRLs; Intel TCB info, QE identity, chains, CRLs) to the cache";

static void usage(FILE *f)
{
	fprintf(f, "usage: coffer collateral add FILE [--collateral DIR] [--roots DIR]\n"
	           "                              [--sim-root FILE] [--at RFC3339]\n"
	           "Add collateral to the cache after it verifies against a trusted vendor root:\n"
	           "SEV-SNP VCEK/VLEK certificates (DER or PEM, with their ASK if wanted) and AMD\n"
	           "CRLs (<dir>/snp); Intel TCB info, QE identity, the TCB signing chain and\n"
	           "Intel CRLs (<dir>/tdx).\n"
	           "  --collateral DIR  the cache (default $COFFER_COLLATERAL "
	           "or " COLLATERAL_DEFAULT_DIR ")\n"
	           "  --roots DIR       extra trusted roots (*.pem)\n"
	           "  --sim-root FILE   trust this simulated root (tests only)\n"
	           "  --at RFC3339      check validity at this time (expired certificates)\n"
	           "  --broker URL      upload to that broker's cache instead (POST\n"
	           "                    /kbs/v0/collateral; no key needed: the broker stores\n"
	           "                    only what verifies); --cacert FILE for https\n"
	           "Exit: 0 stored, 1 not verified (nothing stored for it), 2 usage or input "
	           "error, 3 network or internal error.\n");
}

/* The flags add and fetch share: the cache, the trusted roots, the time. */
struct cache {
	coffer_verify_params p;
	const char *dir, *at;
};

/* The shared flags into *c, those of `own` (ended by a NULL name) and, when
 * `file` is not NULL, one FILE. CLI_USAGE (message and usage printed) for
 * anything else. */
static int parse_flags(struct cache *c, const struct cli_flag *own, const char **file, int argc,
                       char **argv)
{
	const struct cli_flag shared[] = { { "--collateral", &c->dir },
		                           { "--roots", &c->p.roots_dir },
		                           { "--sim-root", &c->p.sim_root },
		                           { "--at", &c->at },
		                           { NULL, NULL } };

	for (int i = 1; i < argc; i++) {
		const char **slot = cli_flag_find(shared, argv[i]);
		if (slot == NULL)
			slot = cli_flag_find(own, argv[i]);
		if (slot == NULL && file != NULL && argv[i][0] != '-' && *file == NULL) {
			*file = argv[i];
			continue;
		}
		if (slot == NULL || i + 1 >= argc) {
			cli_error("collateral", "unknown or incomplete argument '%s'", argv[i]);
			usage(stderr);
			return CLI_USAGE;
		}
		*slot = argv[++i];
	}
	return CLI_OK;
}

/* The cache directory (its default when unset) and the time of --at. */
static int resolve_cache(struct cache *c)
{
	if (c->dir == NULL || c->dir[0] == '\0')
		c->dir = COLLATERAL_DEFAULT_DIR;
	if (c->at != NULL && cli_parse_rfc3339(&c->p.now, c->at) != 0) {
		cli_error("collateral", "--at: not an RFC 3339 time: '%s'", c->at);
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* The infrastructure operator's upload to a broker (PERSONAS.md table). */
static int upload(const char *broker, const char *cacert, const char *file)
{
	struct cli_admin a = { .cmd = "collateral", .broker = broker, .cacert = cacert };
	coffer_buf resp = COFFER_BUF_INIT_MAX((size_t)64 * 1024);
	uint8_t *data = NULL;
	size_t len = 0;
	long status = 0;
	int rc;

	if ((rc = cli_admin_init_anon(&a)) != CLI_OK)
		return rc;
	if (coffer_file_read(&data, &len, file, COLLATERAL_FILE_MAX) < 0) {
		cli_error("collateral", "%s: %s", file, coffer_error_last());
		return CLI_USAGE;
	}
	rc = cli_admin_request(&a, "POST", "/kbs/v0/collateral", data, len,
	                       "application/octet-stream", &status, &resp);
	if (status == 422)
		rc = CLI_FAIL; /* it did not verify against a vendor root */
	if (rc == CLI_OK) {
		json_t *j = json_loadb((const char *)resp.ptr, resp.len, 0, NULL);
		fprintf(stderr, "coffer collateral: %lld item(s) from %s stored by %s\n",
		        (long long)json_integer_value(json_object_get(j, "stored")), file, broker);
		json_decref(j);
	}
	free(data);
	coffer_buf_free(&resp);
	return rc;
}

static int add(int argc, char **argv)
{
	struct cache c = { COFFER_VERIFY_PARAMS_INIT, getenv("COFFER_COLLATERAL"), NULL };
	const char *file = NULL, *broker = NULL, *cacert = NULL;
	const struct cli_flag own[] = { { "--broker", &broker },
		                        { "--cacert", &cacert },
		                        { NULL, NULL } };
	uint8_t *data = NULL;
	size_t len = 0;
	unsigned stored = 0;
	int error;

	if ((error = parse_flags(&c, own, &file, argc, argv)) != CLI_OK)
		return error;
	if (file == NULL) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (broker)
		return upload(broker, cacert, file);
	if ((error = resolve_cache(&c)) != CLI_OK)
		return error;
	if ((error = coffer_file_read(&data, &len, file, COLLATERAL_FILE_MAX)) < 0) {
		cli_error("collateral", "%s: %s", file, coffer_error_last());
		return CLI_USAGE;
	}
	/* Intel collateral (TCB info, QE identity, their signing chain, Intel
	 * CRLs) goes to <dir>/tdx; anything else is offered to the SNP cache */
	error = coffer_tdx_collateral_add(c.dir, data, len, &c.p, &stored);
	if (error == COFFER_ENOTFOUND)
		error = coffer_snp_collateral_add(c.dir, data, len, &c.p, &stored);
	free(data);
	if (error < 0) {
		cli_error("collateral", "%s: %s", file, coffer_error_last());
		return cli_exit_code(error);
	}
	fprintf(stderr, "coffer collateral: %u item(s) from %s stored in %s\n", stored, file,
	        c.dir);
	return CLI_OK;
}

static int fetch(int argc, char **argv)
{
	struct cache c = { COFFER_VERIFY_PARAMS_INIT, getenv("COFFER_COLLATERAL"), NULL };
	const char *kds = NULL, *report = NULL, *evidence = NULL;
	const struct cli_flag own[] = { { "--kds", &kds },
		                        { "--report", &report },
		                        { "--evidence", &evidence },
		                        { NULL, NULL } };
	uint8_t *data = NULL;
	size_t len = 0;
	json_t *ev = NULL;
	int error;

	if ((error = parse_flags(&c, own, NULL, argc, argv)) != CLI_OK)
		return error;
	if (kds == NULL || (report == NULL) == (evidence == NULL)) {
		cli_error("collateral", "fetch needs --kds and one of --report, --evidence");
		return CLI_USAGE;
	}
	if ((error = resolve_cache(&c)) != CLI_OK)
		return error;
	if ((error = coffer_file_read(&data, &len, report ? report : evidence,
	                              COLLATERAL_FILE_MAX * 16)) < 0) {
		cli_error("collateral", "%s: %s", report ? report : evidence, coffer_error_last());
		return CLI_USAGE;
	}
	if (report) {
		char *b64 = NULL;
		size_t bl = 0;
		error = coffer_base64_encode(&b64, &bl, data, len, COFFER_B64_STD);
		if (error == 0 && (ev = json_pack("{s:s}", "attestation_report_b64", b64)) == NULL)
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		free(b64);
	} else {
		error = coffer_json_parse(&ev, (const char *)data, len, 0);
	}
	free(data);
	if (error < 0) {
		cli_error("collateral", NULL);
		return cli_exit_code(error);
	}
	error = coffer_snp_kds_prefetch(c.dir, kds, ev, &c.p, cli_http_get, NULL);
	json_decref(ev);
	if (error < 0) {
		cli_error("collateral", NULL);
		return cli_exit_code(error);
	}
	fprintf(stderr, "coffer collateral: the VCEK is in %s\n", c.dir);
	return CLI_OK;
}

int cmd_collateral(int argc, char **argv)
{
	int rc;

	if (cli_help_or_usage(&rc, argc, argv, usage))
		return rc;
	if (strcmp(argv[1], "add") == 0)
		return add(argc - 1, argv + 1);
	if (strcmp(argv[1], "fetch") == 0)
		return fetch(argc - 1, argv + 1);
	cli_error("collateral", "unknown subcommand '%s'", argv[1]);
	usage(stderr);
	return CLI_USAGE;
}
