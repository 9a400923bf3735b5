/*
 * coffer-agent: the guest daemon (CLI.md, "Daemons").
 *
 *   coffer-agent --config agent.toml
 *   coffer-agent --broker URL --tee sample|snp|tdx|auto [--listen 127.0.0.1:PORT]
 *   coffer-agent [options] get-resource kbs:///<repo>/<type>/<tag> [--out FILE]
 *   coffer-agent [options] unseal [--in FILE] [--out FILE]
 *   coffer-agent [options] evidence --runtime-data HEX
 *   coffer-agent [options] token
 *
 * Exit codes (CLI.md): 0 ok, 1 denied / verification failed, 2 usage or
 * input error, 3 internal or network error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coffer/codec.h"
#include "coffer/file.h"
#include "coffer/json.h"
#include "agent.h"

#define EXIT_DENIED   1
#define EXIT_USAGE    2
#define EXIT_INTERNAL 3
#define INPUT_MAX     ((size_t)64 * 1024)

static void usage(FILE *f)
{
	fprintf(f, "usage: coffer-agent [options] [command]\n"
	           "  the guest agent: attests this TEE to a Coffer/KBS broker and serves\n"
	           "  secrets to the pod's containers on 127.0.0.1:8006\n"
	           "commands (none: run the REST API until SIGTERM):\n"
	           "  get-resource kbs:///<repo>/<type>/<tag> [--out FILE]   attest and fetch\n"
	           "  unseal [--in FILE] [--out FILE]                        open a sealed secret\n"
	           "  evidence --runtime-data HEX                            print this TEE's "
	           "evidence\n"
	           "  token                                                  attest, print the "
	           "token\n"
	           "options:\n"
	           "  --config FILE        agent.toml (docs/agent.md); flags override it\n"
	           "  --broker URL         broker base URL (http:// or https://)\n"
	           "  --cacert FILE        pin the broker's CA (PEM)\n"
	           "  --tee T              sample | snp | tdx | auto (default auto); snp-sim |\n"
	           "                       tdx-sim: simulated TEEs behind the same kernel paths\n"
	           "  --listen HOST:PORT   REST API address (default 127.0.0.1:8006)\n"
	           "  --port-file FILE     write the bound port to FILE once listening\n"
	           "  --init-data FILE     init-data TOML sent with the evidence\n"
	           "  --key-type K         EC-P256 (default) | EC-P521 | RSA\n"
	           "  --retries N          network retries per request, 1..20 (default 3)\n"
	           "  --serve-tee-key      enable /aa/token (hands out the TEE private key)\n"
	           "  --snp-report F       base64 (default, Coffer) | object (upstream JSON, "
	           "Trustee)\n"
	           "  --tsm-root DIR, --sev-guest PATH, --ccel PATH   kernel paths (tests)\n"
	           "  --version, --help\n");
}

static int exit_code(int error)
{
	switch (error) {
	case 0:
		return 0;
	case COFFER_EVERIFY:
	case COFFER_EDENIED:
	case COFFER_EEXPIRED:
		return EXIT_DENIED;
	case COFFER_EINVAL:
	case COFFER_EIO:
	case COFFER_ENOTFOUND:
	case COFFER_EUNSUPPORTED:
	case COFFER_ELIMIT:
		return EXIT_USAGE;
	default:
		return EXIT_INTERNAL;
	}
}

static int fail(int error, const char *what)
{
	fprintf(stderr, "coffer-agent: %s%s%s\n", what ? what : "", what ? ": " : "",
	        coffer_error_last());
	return exit_code(error);
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -1;
}

static int write_out(const char *path, const uint8_t *data, size_t len)
{
	if (path == NULL || strcmp(path, "-") == 0)
		return coffer_write_all(STDOUT_FILENO, data, len);
	return coffer_file_write_private(path, data, len);
}

static int cmd_get_resource(struct agent *a, const char *uri, const char *out)
{
	coffer_secret s = COFFER_SECRET_INIT;
	int error;

	if (uri == NULL) {
		fprintf(stderr, "coffer-agent get-resource: a kbs:///<repo>/<type>/<tag> URI is "
		                "required\n");
		return EXIT_USAGE;
	}
	if ((error = agent_get_resource(&s, a, uri)) < 0)
		return fail(error, uri);
	error = write_out(out, s.ptr, s.len);
	coffer_secret_free(&s);
	return error < 0 ? fail(error, "output") : 0;
}

static int cmd_unseal(struct agent *a, const char *in, const char *out)
{
	coffer_secret s = COFFER_SECRET_INIT;
	uint8_t *text = NULL;
	size_t len = 0;
	int error;

	if ((error = coffer_file_read(&text, &len, in ? in : "-", INPUT_MAX)) < 0)
		return fail(error, "input");
	error = agent_unseal(&s, a, (const char *)text, len);
	free(text);
	if (error < 0)
		return fail(error, "unseal");
	error = write_out(out, s.ptr, s.len);
	coffer_secret_free(&s);
	return error < 0 ? fail(error, "output") : 0;
}

static int cmd_evidence(struct agent *a, const char *hex)
{
	uint8_t *rd = NULL;
	size_t len = 0;
	json_t *ev = NULL;
	char *text = NULL;
	size_t tlen = 0;
	int error;

	if (hex == NULL) {
		fprintf(stderr, "coffer-agent evidence: --runtime-data HEX is required\n");
		return EXIT_USAGE;
	}
	if ((error = coffer_hex_decode(&rd, &len, hex, strlen(hex))) < 0)
		return fail(error, "--runtime-data");
	if (len > COFFER_REPORT_DATA_MAX) {
		free(rd);
		fprintf(stderr, "coffer-agent evidence: --runtime-data is %zu bytes (at most 64)\n",
		        len);
		return EXIT_USAGE;
	}
	error = coffer_attester_evidence(&ev, a->att, rd, len);
	free(rd);
	if (error < 0)
		return fail(error, "evidence");
	error = coffer_json_dump(&text, &tlen, ev);
	json_decref(ev);
	if (error < 0)
		return fail(error, "evidence");
	printf("%s\n", text);
	free(text);
	return 0;
}

static int cmd_token(struct agent *a)
{
	char *token = NULL;
	int error;

	if ((error = coffer_kbs_client_token(&token, a->kbs)) < 0)
		return fail(error, "token");
	printf("%s\n", token);
	free(token);
	return 0;
}

int main(int argc, char **argv)
{
	struct agent a;
	struct agent_config flags;
	const char *config = NULL, *cmd = NULL, *pos = NULL, *out = NULL, *in = NULL,
	           *runtime = NULL;
	bool serve_key = false;
	unsigned retries = 0;
	int rc, error;
	coffer_json_wipe_on_free(); /* before any JSON value exists */

	memset(&a, 0, sizeof(a));
	agent_config_defaults(&a.cfg);
	memset(&flags, 0, sizeof(flags));
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char **dst = NULL;

		if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(o, "--version") == 0) {
			printf("coffer-agent " AGENT_VERSION "\n");
			return 0;
		}
		if (strcmp(o, "--serve-tee-key") == 0) {
			serve_key = true;
			continue;
		}
		if (o[0] != '-') {
			if (cmd == NULL)
				cmd = o;
			else if (pos == NULL)
				pos = o;
			else {
				fprintf(stderr, "coffer-agent: unexpected argument '%s'\n", o);
				return EXIT_USAGE;
			}
			continue;
		}
		if (v == NULL) {
			fprintf(stderr, "coffer-agent: %s needs a value (see --help)\n", o);
			return EXIT_USAGE;
		}
		i++;
		if (strcmp(o, "--config") == 0) {
			config = v;
			continue;
		} else if (strcmp(o, "--out") == 0) {
			out = v;
			continue;
		} else if (strcmp(o, "--in") == 0) {
			in = v;
			continue;
		} else if (strcmp(o, "--runtime-data") == 0) {
			runtime = v;
			continue;
		} else if (strcmp(o, "--retries") == 0) {
			char *end = NULL;
			long n = strtol(v, &end, 10);
			if (end == v || *end != '\0' || n < 1 || n > 20) {
				fprintf(stderr, "coffer-agent: --retries wants 1..20\n");
				return EXIT_USAGE;
			}
			retries = (unsigned)n;
			continue;
		} else if (strcmp(o, "--broker") == 0) {
			dst = &flags.broker;
		} else if (strcmp(o, "--cacert") == 0) {
			dst = &flags.cacert;
		} else if (strcmp(o, "--tee") == 0) {
			dst = &flags.tee;
		} else if (strcmp(o, "--listen") == 0) {
			dst = &flags.listen;
		} else if (strcmp(o, "--port-file") == 0) {
			dst = &flags.port_file;
		} else if (strcmp(o, "--init-data") == 0) {
			dst = &flags.init_data;
		} else if (strcmp(o, "--key-type") == 0) {
			dst = &flags.key_type;
		} else if (strcmp(o, "--tsm-root") == 0) {
			dst = &flags.tsm_root;
		} else if (strcmp(o, "--sev-guest") == 0) {
			dst = &flags.sev_guest;
		} else if (strcmp(o, "--ccel") == 0) {
			dst = &flags.ccel;
		} else if (strcmp(o, "--snp-report") == 0) {
			dst = &flags.snp_report;
		} else {
			fprintf(stderr, "coffer-agent: unknown option %s (see --help)\n", o);
			return EXIT_USAGE;
		}
		if (set_str(dst, v) < 0)
			return EXIT_INTERNAL;
	}
	if (cmd && strcmp(cmd, "get-resource") != 0 && strcmp(cmd, "unseal") != 0 &&
	    strcmp(cmd, "evidence") != 0 && strcmp(cmd, "token") != 0) {
		fprintf(stderr, "coffer-agent: unknown command '%s' (see --help)\n", cmd);
		return EXIT_USAGE;
	}
	if (config && (error = agent_config_load(&a.cfg, config)) < 0) {
		rc = fail(error, "config");
		goto out;
	}
	/* flags win over the file */
	{
		char **from[] = { &flags.broker,   &flags.cacert,    &flags.tee,
			          &flags.listen,   &flags.port_file, &flags.init_data,
			          &flags.key_type, &flags.tsm_root,  &flags.sev_guest,
			          &flags.ccel,     &flags.snp_report };
		char **to[] = { &a.cfg.broker,   &a.cfg.cacert,    &a.cfg.tee,
			        &a.cfg.listen,   &a.cfg.port_file, &a.cfg.init_data,
			        &a.cfg.key_type, &a.cfg.tsm_root,  &a.cfg.sev_guest,
			        &a.cfg.ccel,     &a.cfg.snp_report };
		for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++)
			if (*from[i]) {
				free(*to[i]);
				*to[i] = *from[i];
				*from[i] = NULL;
			}
	}
	if (serve_key)
		a.cfg.serve_tee_key = true;
	if (retries)
		a.cfg.retries = retries;
	error = agent_setup(&a, cmd == NULL || strcmp(cmd, "evidence") != 0);
	if (error < 0) {
		rc = fail(error, NULL);
		goto out;
	}
	if (cmd == NULL) {
		error = agent_serve(&a);
		rc = error < 0 ? fail(error, NULL) : 0;
	} else if (strcmp(cmd, "get-resource") == 0) {
		rc = cmd_get_resource(&a, pos, out);
	} else if (strcmp(cmd, "unseal") == 0) {
		rc = cmd_unseal(&a, in ? in : pos, out);
	} else if (strcmp(cmd, "evidence") == 0) {
		rc = cmd_evidence(&a, runtime);
	} else {
		rc = cmd_token(&a);
	}
out:
	agent_teardown(&a);
	agent_config_free(&a.cfg);
	agent_config_free(&flags);
	return rc;
}
