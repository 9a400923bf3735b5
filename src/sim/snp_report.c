/*
 * coffer-sim snp-report: a SEV-SNP attestation report in the real binary
 * format, signed by the simulated VCEK of `coffer-sim init --dir DIR`, with
 * the requested REPORT_DATA, MEASUREMENT, HOST_DATA, POLICY, VMPL and TCB.
 * Outputs: the raw report (configfs-tsm outblob), the GHCB certificate table
 * (auxblob) and/or the evidence JSON a guest sends (PROTOCOL.md section 1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "coffer/codec.h"
#include "coffer/file.h"
#include "coffer/snp.h"
#include "sim_snp.h"

const char simcmd_snp_report_help[] =
        "--dir DIR [--report-data HEX] [--measurement HEX] [--host-data HEX] [--policy N] "
        "[--tcb BL,TEE,SNP,UCODE] [--vmpl N] [--version 2|3|5] [--chip-id HEX] [--out FILE] "
        "[--auxblob FILE] [--evidence FILE [--json-report]] [--vcek-out FILE]";

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: coffer-sim snp-report --dir DIR [options]\n"
	        "A simulated SEV-SNP report signed by the test VCEK of DIR (coffer-sim init).\n"
	        "  --report-data HEX    REPORT_DATA, at most 64 bytes, zero-padded\n"
	        "  --measurement HEX    MEASUREMENT (48 bytes; default zero)\n"
	        "  --host-data HEX      HOST_DATA, at most 32 bytes, zero-padded\n"
	        "  --policy N           guest policy (default 0x30000; debug is bit 19)\n"
	        "  --tcb BL,TEE,SNP,UC  reported/current/committed/launch TCB (default 3,0,8,115)\n"
	        "  --vcek-tcb B,T,S,U   TCB written into the VCEK certificate (default: --tcb)\n"
	        "  --vmpl N             VMPL (default 0)\n"
	        "  --version N          report version 2, 3 or 5 (default 3)\n"
	        "  --chip-id HEX        CHIP_ID (default: the simulated chip's)\n"
	        "  --out FILE           the raw 1184-byte report\n"
	        "  --auxblob FILE       the GHCB certificate table (VCEK, ASK, ARK)\n"
	        "  --evidence FILE      evidence JSON {attestation_report_b64, cert_chain}\n"
	        "  --json-report        ... with the upstream attestation_report object instead\n"
	        "  --vcek-out FILE      the VCEK certificate (DER)\n");
}

static int parse_u64(uint64_t *out, const char *s, uint64_t max)
{
	char *end = NULL;
	unsigned long long v;

	errno = 0;
	if (s[0] == '-' || s[0] == '\0')
		return -1;
	v = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_tcb(coffer_snp_tcb *t, const char *s)
{
	char buf[64];
	char *parts[4], *p = buf;
	uint64_t v[4];

	if (strlen(s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	for (int i = 0; i < 4; i++) {
		parts[i] = p;
		p = strchr(p, ',');
		if ((p == NULL) != (i == 3))
			return -1;
		if (p)
			*p++ = '\0';
		if (parse_u64(&v[i], parts[i], 255) != 0)
			return -1;
	}
	memset(t, 0, sizeof(*t));
	t->bootloader = (uint8_t)v[0];
	t->tee = (uint8_t)v[1];
	t->snp = (uint8_t)v[2];
	t->microcode = (uint8_t)v[3];
	return 0;
}

static int parse_hex(uint8_t *dst, size_t max, const char *s, bool exact)
{
	uint8_t *b = NULL;
	size_t n = 0;

	if (coffer_hex_decode(&b, &n, s, strlen(s)) < 0 || n > max || (exact && n != max)) {
		free(b);
		return -1;
	}
	memcpy(dst, b, n);
	free(b);
	return 0;
}

static int der_of(uint8_t **out, size_t *len, X509 *x)
{
	unsigned char *p = NULL;
	int n = i2d_X509(x, &p);

	if (n <= 0)
		return -1;
	*out = p;
	*len = (size_t)n;
	return 0;
}

/* GHCB specification, section 4.1.8.1: a table of {GUID, offset, length}
 * entries (GUIDs in RFC 4122 byte order) ended by a zero entry, then the
 * certificates; offsets are from the start of the table. */
static int write_auxblob(const char *path, const uint8_t *vcek, size_t vl, const uint8_t *ask,
                         size_t al, const uint8_t *ark, size_t rl)
{
	static const uint8_t guids[3][16] = {
		{ 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b,
		  0xe8, 0xac, 0xcd }, /* VCEK */
		{ 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3,
		  0x27, 0xc7, 0x82 }, /* ASK */
		{ 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01,
		  0x4c, 0xd0, 0xae }, /* ARK */
	};
	const uint8_t *certs[3] = { vcek, ask, ark };
	size_t lens[3] = { vl, al, rl };
	size_t off = 4 * 24, total = off + vl + al + rl;
	uint8_t *t = calloc(1, total);
	int error;

	if (t == NULL)
		return -1;
	for (int i = 0; i < 3; i++) {
		uint8_t *e = t + 24 * i;
		memcpy(e, guids[i], 16);
		for (int k = 0; k < 4; k++) {
			e[16 + k] = (uint8_t)(off >> (8 * k));
			e[20 + k] = (uint8_t)(lens[i] >> (8 * k));
		}
		memcpy(t + off, certs[i], lens[i]);
		off += lens[i];
	}
	error = coffer_file_write(path, t, total, 0644);
	free(t);
	return error;
}

static json_t *chain_entry(const char *type, const uint8_t *der, size_t len)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < len; i++)
		json_array_append_new(a, json_integer(der[i]));
	return json_pack("{s:s,s:o}", "cert_type", type, "data", a);
}

int simcmd_snp_report(int argc, char **argv)
{
	const char *dir = NULL, *out = NULL, *aux = NULL, *evf = NULL, *vcek_out = NULL;
	bool json_report = false, vcek_tcb_set = false;
	sim_snp_req req;
	coffer_snp_tcb vcek_tcb;
	sim_snp *s = NULL;
	uint8_t rep[COFFER_SNP_REPORT_SIZE];
	uint8_t *vder = NULL, *askd = NULL, *arkd = NULL;
	size_t vl = 0, al = 0, rl = 0;
	json_t *ev = NULL;
	int rc = 2;

	memset(&req, 0, sizeof(req));
	req.version = 3;
	req.tcb.bootloader = 3;
	req.tcb.snp = 8;
	req.tcb.microcode = 115;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;
		int bad = 0;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--json-report") == 0) {
			json_report = true;
			continue;
		}
		if (v == NULL) {
			fprintf(stderr, "coffer-sim snp-report: '%s' needs a value\n", a);
			usage(stderr);
			return 2;
		}
		i++;
		if (strcmp(a, "--dir") == 0)
			dir = v;
		else if (strcmp(a, "--out") == 0)
			out = v;
		else if (strcmp(a, "--auxblob") == 0)
			aux = v;
		else if (strcmp(a, "--evidence") == 0)
			evf = v;
		else if (strcmp(a, "--vcek-out") == 0)
			vcek_out = v;
		else if (strcmp(a, "--report-data") == 0)
			bad = parse_hex(req.report_data, 64, v, false);
		else if (strcmp(a, "--measurement") == 0)
			bad = parse_hex(req.measurement, 48, v, true);
		else if (strcmp(a, "--host-data") == 0)
			bad = parse_hex(req.host_data, 32, v, false);
		else if (strcmp(a, "--chip-id") == 0) {
			bad = parse_hex(req.chip_id, 64, v, true);
			req.chip_id_set = true;
		} else if (strcmp(a, "--policy") == 0) {
			bad = parse_u64(&n, v, INT64_MAX);
			req.policy = n;
		} else if (strcmp(a, "--vmpl") == 0) {
			bad = parse_u64(&n, v, 3);
			req.vmpl = (uint32_t)n;
		} else if (strcmp(a, "--version") == 0) {
			bad = parse_u64(&n, v, 5) || (n != 2 && n != 3 && n != 5);
			req.version = (uint32_t)n;
		} else if (strcmp(a, "--tcb") == 0)
			bad = parse_tcb(&req.tcb, v);
		else if (strcmp(a, "--vcek-tcb") == 0) {
			bad = parse_tcb(&vcek_tcb, v);
			vcek_tcb_set = true;
		} else {
			fprintf(stderr, "coffer-sim snp-report: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		}
		if (bad) {
			fprintf(stderr, "coffer-sim snp-report: bad value for %s: '%s'\n", a, v);
			return 2;
		}
	}
	if (dir == NULL || (out == NULL && aux == NULL && evf == NULL && vcek_out == NULL)) {
		usage(stderr);
		return 2;
	}
	rc = 3;
	if (sim_snp_load(&s, dir) < 0 || sim_snp_report(rep, s, &req) < 0 ||
	    sim_snp_vcek_cert(&vder, &vl, s, vcek_tcb_set ? &vcek_tcb : &req.tcb, NULL, NULL,
	                      NULL) < 0) {
		fprintf(stderr, "coffer-sim snp-report: %s\n", coffer_error_last());
		goto out;
	}
	if (der_of(&askd, &al, s->ask) < 0 || der_of(&arkd, &rl, s->ark) < 0) {
		fprintf(stderr, "coffer-sim snp-report: certificate encoding\n");
		goto out;
	}
	if (out && coffer_file_write(out, rep, sizeof(rep), 0644) < 0)
		goto fail;
	if (vcek_out && coffer_file_write(vcek_out, vder, vl, 0644) < 0)
		goto fail;
	if (aux && write_auxblob(aux, vder, vl, askd, al, arkd, rl) < 0)
		goto fail;
	if (evf) {
		char *text = NULL;
		json_t *chain =
		        json_pack("[o,o,o]", chain_entry("VCEK", vder, vl),
		                  chain_entry("ASK", askd, al), chain_entry("ARK", arkd, rl));
		if (json_report) {
			coffer_snp_report *r = NULL;
			json_t *obj = NULL;
			if (coffer_snp_report_parse(&r, rep, sizeof(rep)) < 0 ||
			    coffer_snp_report_to_json(&obj, r) < 0) {
				coffer_snp_report_free(r);
				json_decref(chain);
				goto fail;
			}
			coffer_snp_report_free(r);
			ev = json_pack("{s:o,s:o}", "attestation_report", obj, "cert_chain", chain);
		} else {
			char *b64 = NULL;
			size_t bl = 0;
			if (coffer_base64_encode(&b64, &bl, rep, sizeof(rep), COFFER_B64_STD) < 0) {
				json_decref(chain);
				goto fail;
			}
			ev = json_pack("{s:s,s:o}", "attestation_report_b64", b64, "cert_chain",
			               chain);
			free(b64);
		}
		if (ev == NULL || (text = json_dumps(ev, JSON_COMPACT)) == NULL) {
			fprintf(stderr, "coffer-sim snp-report: out of memory\n");
			goto out;
		}
		if (strcmp(evf, "-") == 0) {
			printf("%s\n", text);
		} else if (coffer_file_write(evf, text, strlen(text), 0644) < 0) {
			free(text);
			goto fail;
		}
		free(text);
	}
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "coffer-sim snp-report: %s\n", coffer_error_last());
out:
	json_decref(ev);
	OPENSSL_free(vder);
	OPENSSL_free(askd);
	OPENSSL_free(arkd);
	sim_snp_free(s);
	return rc;
}
