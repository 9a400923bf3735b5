/*
 * coffer evidence verify (CLI.md): one piece of evidence through the verifier
 * registry, the claims on stdout as JSON; exit 1 with the reason on stderr
 * when it does not verify, 2 for usage or malformed input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/codec.h"
#include "coffer/evidence.h"
#include "coffer/file.h"
#include "coffer/json.h"
#include "coffer/snp.h"
#include "cli.h"
#include "cli_http.h"
#include "cli_rfc3339.h"

#define EVIDENCE_MAX  ((size_t)4 * 1024 * 1024)
#define CERT_FILE_MAX ((size_t)256 * 1024)

const char cmd_evidence_help[] =
        "verify --tee sample|snp|snp-sim|tdx [--evidence ev.json | --report r.bin | --quote "
        "q.dat] [--vcek c.der|pem] [--cert-chain chain.pem] [--roots DIR] [--collateral DIR] "
        "[--report-data HEX] [--at RFC3339]: verify evidence, print its claims";

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: coffer evidence verify --tee TEE [--evidence ev.json | --report r.bin |\n"
	        "                              --quote q.dat] [options]\n"
	        "Verify one piece of evidence and print its claims as JSON (upstream names).\n"
	        "  --tee TEE           sample, snp, snp-sim, tdx, ... (the verifier registry)\n"
	        "  --evidence FILE     evidence JSON as sent in tee-evidence (PROTOCOL.md 1)\n"
	        "  --report FILE       a raw 1184-byte SEV-SNP attestation report\n"
	        "  --quote FILE        a raw TDX quote\n"
	        "  --vcek FILE         VCEK or VLEK certificate (DER or PEM) [snp]\n"
	        "  --cert-chain FILE   ASK/ASVK/ARK certificates and CRLs (PEM) [snp]\n"
	        "  --roots DIR         extra trusted roots (*.pem)\n"
	        "  --sim-root FILE     trust this simulated root (coffer-sim), tests only\n"
	        "  --collateral DIR    collateral cache (coffer collateral add)\n"
	        "  --report-data HEX   expected REPORT_DATA (zero-padded to the TEE's field)\n"
	        "  --init-data HEX     expected init-data digest (SNP HOST_DATA, TDX "
	        "MR_CONFIG_ID)\n"
	        "  --options FILE      owner checks as JSON (docs/snp.md: min_tcb, allow_debug, "
	        "...)\n"
	        "  --at RFC3339        verify certificates at this time (old evidence)\n"
	        "  --kds URL           fetch a missing VCEK from this AMD KDS (e.g.\n"
	        "                      https://kdsintf.amd.com) into --collateral [snp]\n"
	        "  --pcs URL           fetch missing/expired TCB info and QE identity from this\n"
	        "                      Intel PCS/PCCS (e.g. "
	        "https://api.trustedservices.intel.com)\n"
	        "                      into --collateral [tdx, sgx]\n"
	        "Exit: 0 valid, 1 invalid (reason on stderr), 2 usage or malformed input.\n");
}

static int read_json_file(json_t **out, const char *path)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int error;

	if ((error = coffer_file_read(&data, &len, path, EVIDENCE_MAX)) < 0)
		return error;
	error = coffer_json_parse(out, (const char *)data, len, 0);
	free(data);
	return error;
}

/* A raw binary wrapped into the evidence JSON form of its TEE. */
static int wrap_binary(json_t **out, const char *path, const char *key)
{
	uint8_t *data = NULL;
	size_t len = 0;
	char *b64 = NULL;
	size_t bl = 0;
	int error;

	if ((error = coffer_file_read(&data, &len, path, EVIDENCE_MAX)) < 0)
		return error;
	error = coffer_base64_encode(&b64, &bl, data, len, COFFER_B64_STD);
	free(data);
	if (error < 0)
		return error;
	*out = json_pack("{s:s}", key, b64);
	free(b64);
	return *out ? 0 : coffer_error_set(COFFER_ENOMEM, "out of memory");
}

static int add_certs(json_t *ev, const char *path)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int error;

	if ((error = coffer_file_read(&data, &len, path, CERT_FILE_MAX)) < 0)
		return error;
	error = coffer_snp_evidence_add_certs(ev, data, len);
	free(data);
	return error < 0 ? coffer_error_wrap(error, "%s", path) : 0;
}

static int hex_arg(uint8_t **out, size_t *len, const char *hex, const char *what)
{
	if (coffer_hex_decode(out, len, hex, strlen(hex)) < 0) {
		cli_error("evidence", "%s: not hex", what);
		return -1;
	}
	return 0;
}

static int verify(int argc, char **argv)
{
	const char *tee = NULL, *evidence = NULL, *report = NULL, *quote = NULL, *vcek = NULL;
	const char *chain = NULL, *at = NULL, *rd_hex = NULL, *id_hex = NULL, *opt_file = NULL;
	const char *kds = NULL;
	coffer_verify_params p = COFFER_VERIFY_PARAMS_INIT;
	json_t *ev = NULL, *claims = NULL, *options = NULL;
	uint8_t *rd = NULL, *idd = NULL;
	size_t rd_len = 0, id_len = 0;
	char *text = NULL;
	int error, rc = CLI_USAGE, inputs;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		if (strcmp(a, "--tee") == 0)
			slot = &tee;
		else if (strcmp(a, "--evidence") == 0)
			slot = &evidence;
		else if (strcmp(a, "--report") == 0)
			slot = &report;
		else if (strcmp(a, "--quote") == 0)
			slot = &quote;
		else if (strcmp(a, "--vcek") == 0)
			slot = &vcek;
		else if (strcmp(a, "--cert-chain") == 0)
			slot = &chain;
		else if (strcmp(a, "--roots") == 0)
			slot = &p.roots_dir;
		else if (strcmp(a, "--sim-root") == 0)
			slot = &p.sim_root;
		else if (strcmp(a, "--collateral") == 0)
			slot = &p.collateral_dir;
		else if (strcmp(a, "--report-data") == 0)
			slot = &rd_hex;
		else if (strcmp(a, "--init-data") == 0)
			slot = &id_hex;
		else if (strcmp(a, "--options") == 0)
			slot = &opt_file;
		else if (strcmp(a, "--at") == 0)
			slot = &at;
		else if (strcmp(a, "--kds") == 0)
			slot = &kds;
		else if (strcmp(a, "--pcs") == 0)
			slot = &p.pcs_url; /* tdx/sgx: fetch missing collateral */
		if (slot == NULL || i + 1 >= argc) {
			cli_error("evidence", "unknown or incomplete option '%s'", a);
			usage(stderr);
			return CLI_USAGE;
		}
		*slot = argv[++i];
	}
	inputs = (evidence != NULL) + (report != NULL) + (quote != NULL);
	if (tee == NULL || inputs != 1) {
		cli_error("evidence", "--tee and exactly one of --evidence, --report, --quote");
		usage(stderr);
		return CLI_USAGE;
	}
	if (at != NULL && cli_parse_rfc3339(&p.now, at) != 0) {
		cli_error("evidence", "--at: not an RFC 3339 time: '%s'", at);
		return CLI_USAGE;
	}
	if (rd_hex && hex_arg(&rd, &rd_len, rd_hex, "--report-data") < 0)
		goto out;
	if (id_hex && hex_arg(&idd, &id_len, id_hex, "--init-data") < 0)
		goto out;
	p.report_data = rd;
	p.report_data_len = rd_len;
	p.init_data_digest = idd;
	p.init_data_digest_len = id_len;
	if (opt_file) {
		if ((error = read_json_file(&options, opt_file)) < 0) {
			cli_error("evidence", "--options %s: %s", opt_file, coffer_error_last());
			goto out;
		}
		p.options = options;
	}

	if (evidence)
		error = read_json_file(&ev, evidence);
	else if (report)
		error = wrap_binary(&ev, report, "attestation_report_b64");
	else
		error = wrap_binary(&ev, quote, "quote");
	if (error < 0) {
		cli_error("evidence", "%s: %s",
		          evidence ? evidence
		          : report ? report
		                   : quote,
		          coffer_error_last());
		rc = cli_exit_code(error) == CLI_INTERNAL ? CLI_INTERNAL : CLI_USAGE;
		goto out;
	}
	if (vcek || chain) {
		if (strcmp(tee, "snp") != 0 && strcmp(tee, "snp-sim") != 0) {
			cli_error("evidence", "--vcek and --cert-chain apply to snp evidence");
			goto out;
		}
		if ((vcek && (error = add_certs(ev, vcek)) < 0) ||
		    (chain && (error = add_certs(ev, chain)) < 0)) {
			cli_error("evidence", NULL);
			rc = cli_exit_code(error) == CLI_INTERNAL ? CLI_INTERNAL : CLI_USAGE;
			goto out;
		}
	}

	if (kds) {
		if ((strcmp(tee, "snp") != 0 && strcmp(tee, "snp-sim") != 0) ||
		    p.collateral_dir == NULL) {
			cli_error("evidence", "--kds needs --tee snp and --collateral DIR");
			goto out;
		}
		if ((error = coffer_snp_kds_prefetch(p.collateral_dir, kds, ev, &p, cli_http_get,
		                                     NULL)) < 0) {
			cli_error("evidence", "%s", coffer_error_last());
			rc = cli_exit_code(error);
			goto out;
		}
	}
	error = coffer_evidence_verify(&claims, tee, ev, &p);
	if (error < 0) {
		cli_error("evidence", "%s evidence is not valid: %s", tee, coffer_error_last());
		rc = cli_exit_code(error);
		goto out;
	}
	text = json_dumps(claims, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text == NULL) {
		cli_error("evidence", "out of memory");
		rc = CLI_INTERNAL;
		goto out;
	}
	printf("%s\n", text);
	rc = fflush(stdout) == 0 ? CLI_OK : CLI_INTERNAL;
out:
	free(text);
	free(rd);
	free(idd);
	json_decref(options);
	json_decref(claims);
	json_decref(ev);
	return rc;
}

int cmd_evidence(int argc, char **argv)
{
	int rc;

	/* --help after an unknown subcommand does not hide the mistake */
	if (argc >= 2 && strcmp(argv[1], "verify") != 0 && !cli_is_help(argv[1])) {
		cli_error("evidence", "unknown subcommand '%s'", argv[1]);
		usage(stderr);
		return CLI_USAGE;
	}
	if (cli_help_or_usage(&rc, argc, argv, usage))
		return rc;
	return verify(argc - 1, argv + 1);
}
