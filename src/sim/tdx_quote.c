/*
 * coffer-sim tdx-quote: a TDX DCAP quote (v4, or v5 with --v5) in the real
 * format, signed by the simulated quoting enclave of `coffer-sim init --dir`.
 * The fake configfs-tsm calls it with the inblob as --report-data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/codec.h"
#include "coffer/common.h"
#include "coffer/file.h"
#include "sim_tdx.h"

const char simcmd_tdx_quote_help[] =
        "tdx-quote --dir DIR [--report-data HEX] [--mrtd HEX] [--rtmr N=HEX] [--mr-config-id "
        "HEX] [--tee-tcb-svn HEX] [--debug] [--v5] [--evidence] [--out FILE]";

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: coffer-sim tdx-quote --dir DIR [options]\n"
	        "A simulated TDX quote in the DCAP v4/v5 format (test PKI of coffer-sim init).\n"
	        "  --report-data HEX   REPORT_DATA (up to 64 bytes, zero-padded)\n"
	        "  --mrtd HEX          MRTD (48 bytes)\n"
	        "  --rtmr N=HEX        RTMR N (0..3), 48 bytes; repeatable\n"
	        "  --mr-config-id HEX  MR_CONFIG_ID (init-data digest, up to 48 bytes)\n"
	        "  --tee-tcb-svn HEX   TEE_TCB_SVN (up to 16 bytes; default 030005: UpToDate)\n"
	        "  --debug             set TD_ATTRIBUTES.DEBUG\n"
	        "  --v5                quote version 5 (TD 1.5 body)\n"
	        "  --evidence          print the evidence JSON {\"quote\":...} instead of bytes\n"
	        "  --out FILE          write there instead of stdout\n");
}

static int hex_into(uint8_t *dst, size_t max, const char *hex, const char *what)
{
	uint8_t *b = NULL;
	size_t n = 0;

	if (coffer_hex_decode(&b, &n, hex, strlen(hex)) < 0 || n > max) {
		free(b);
		fprintf(stderr, "coffer-sim tdx-quote: %s: at most %zu hex bytes\n", what, max);
		return -1;
	}
	memset(dst, 0, max);
	memcpy(dst, b, n);
	free(b);
	return 0;
}

int simcmd_tdx_quote(int argc, char **argv)
{
	sim_tdx_params p;
	const char *dir = NULL, *out = NULL;
	bool evidence = false;
	uint8_t *q = NULL;
	size_t qlen = 0;
	int rc = 2;

	sim_tdx_params_init(&p);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--debug") == 0) {
			p.debug = true;
			continue;
		} else if (strcmp(a, "--v5") == 0) {
			p.version = 5;
			continue;
		} else if (strcmp(a, "--evidence") == 0) {
			evidence = true;
			continue;
		}
		if (v == NULL) {
			usage(stderr);
			return 2;
		}
		i++;
		if (strcmp(a, "--dir") == 0)
			dir = v;
		else if (strcmp(a, "--out") == 0)
			out = v;
		else if (strcmp(a, "--report-data") == 0) {
			if (hex_into(p.report_data, 64, v, a) < 0)
				return 2;
		} else if (strcmp(a, "--mrtd") == 0) {
			if (hex_into(p.mr_td, 48, v, a) < 0)
				return 2;
		} else if (strcmp(a, "--mr-config-id") == 0) {
			if (hex_into(p.mr_config_id, 48, v, a) < 0)
				return 2;
		} else if (strcmp(a, "--tee-tcb-svn") == 0) {
			if (hex_into(p.tee_tcb_svn, 16, v, a) < 0)
				return 2;
		} else if (strcmp(a, "--rtmr") == 0) {
			if (v[0] < '0' || v[0] > '3' || v[1] != '=') {
				fprintf(stderr, "coffer-sim tdx-quote: --rtmr N=HEX, N in 0..3\n");
				return 2;
			}
			if (hex_into(p.rtmr[v[0] - '0'], 48, v + 2, a) < 0)
				return 2;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (dir == NULL) {
		usage(stderr);
		return 2;
	}
	if (sim_tdx_quote(&q, &qlen, dir, &p) < 0) {
		fprintf(stderr, "coffer-sim tdx-quote: %s\n", coffer_error_last());
		return 3;
	}
	if (evidence) {
		char *b64 = NULL;
		coffer_buf j = COFFER_BUF_INIT;
		if (coffer_base64_encode(&b64, NULL, q, qlen, COFFER_B64_STD) < 0 ||
		    coffer_buf_printf(&j, "{\"quote\":\"%s\",\"cc_eventlog\":null}\n", b64) < 0) {
			free(b64);
			coffer_buf_free(&j);
			free(q);
			return 3;
		}
		free(b64);
		free(q);
		q = coffer_buf_detach(&j, &qlen);
	}
	if (out)
		rc = coffer_file_write(out, q, qlen, 0644) < 0 ? 3 : 0;
	else
		rc = coffer_write_all(1, q, qlen) < 0 ? 3 : 0;
	if (rc)
		fprintf(stderr, "coffer-sim tdx-quote: %s\n", coffer_error_last());
	free(q);
	return rc;
}
