/* coffer-agent: the guest daemon's parts (configuration, data hub, REST API). */
#ifndef COFFER_AGENT_H
#define COFFER_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coffer/attester.h"
#include "coffer/buf.h"
#include "coffer/kbs_client.h"

#define AGENT_VERSION        "0.1.0"
#define AGENT_LISTEN_DEFAULT "127.0.0.1:8006"

struct agent_config {
	char *listen;
	char *broker;
	char *cacert;
	char *tee; /* sample | snp | tdx | auto */
	char *key_type;
	char *init_data; /* path of the init-data TOML */
	bool allow_sample;
	bool serve_tee_key; /* /aa/token hands out the TEE private key */
	char *tsm_root;
	char *sev_guest;
	char *ccel;
	char *snp_report; /* "base64" (default) | "object" */
	unsigned retries;
	unsigned backoff_ms;
	long timeout_ms;
	unsigned rate_per_s; /* REST requests per second, all peers together */
	unsigned max_conns;
	size_t max_body; /* largest POST body */
	char *port_file; /* flag only: write the bound port here */
};

struct agent {
	struct agent_config cfg;
	coffer_attester *att;
	coffer_kbs_client *kbs;
	char *init_data;
	size_t init_data_len;
};

void agent_config_defaults(struct agent_config *c);
/* Read agent.toml (docs/agent.md); values already set by flags are kept
 * when `keep_set` is true. */
int agent_config_load(struct agent_config *c, const char *path);
void agent_config_free(struct agent_config *c);

/* Attester, and the KBS client when `need_broker`, from the configuration. */
int agent_setup(struct agent *a, bool need_broker);
void agent_teardown(struct agent *a);

/* Data hub: kbs:///<repo>/<type>/<tag> (or plain repo/type/tag). */
int agent_get_resource(coffer_secret *out, struct agent *a, const char *uri);
/* Sealed secrets (PROTOCOL.md section 6). */
int agent_unseal(coffer_secret *out, struct agent *a, const char *sealed, size_t len);

/* REST API until SIGTERM/SIGINT. */
int agent_serve(struct agent *a);

#endif
