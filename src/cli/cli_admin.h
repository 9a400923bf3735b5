/*
 * Shared broker-client code of the persona commands (CLI.md "Persona
 * commands"): the common flags, the admin JWT of PERSONAS.md rule 4 (sub =
 * RFC 7638 thumbprint of the principal key, iat, exp, single-use jti, and
 * htm/htu/bdh binding the token to this one request) and HTTP through
 * libcoffer's own client (coffer/http.h).
 */
#ifndef COFFER_CLI_ADMIN_H
#define COFFER_CLI_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coffer/buf.h"
#include "coffer/jose.h"

#include "cli.h"

struct cli_admin {
	const char *cmd;      /* "resource", "refval", ... for messages */
	const char *broker;   /* --broker or COFFER_BROKER */
	const char *key_path; /* --key or COFFER_KEY */
	const char *cacert;   /* --cacert */
	bool json;            /* --json */
	coffer_jwk *key;
	char *sub;
};

/* Consume argv[*i] when it is a common flag, or one of `flags` (ended by a
 * NULL name; `flags` may be NULL) followed by its value: 1 consumed, 0
 * neither (a flag of `flags` without its value included: the caller reports
 * it), -1 usage error (message printed). */
int cli_admin_opt(struct cli_admin *a, const struct cli_flag *flags, int argc, char **argv, int *i);
/* Resolve defaults from the environment and load the key; CLI exit code. */
int cli_admin_init(struct cli_admin *a);
void cli_admin_free(struct cli_admin *a);
/* Only the broker URL (no key): cli_admin_request then sends no token
 * (public endpoints: /kbs/v0/jwks, /kbs/v0/collateral). */
int cli_admin_init_anon(struct cli_admin *a);
/* The broker's sealed-upload key (PERSONAS.md rule 5): from `file` when set
 * (a pinned JWK, or a JWKS), else the "use":"enc" key of GET /kbs/v0/jwks. */
int cli_admin_upload_key(coffer_jwk **out, struct cli_admin *a, const char *file);

/* One admin request. `path` starts with "/kbs/v0/" (a query may follow);
 * *status is the HTTP status; `resp` receives the body. Returns a CLI exit
 * code: CLI_OK for 2xx, CLI_FAIL for 401/403/404/409, CLI_USAGE for other 4xx,
 * CLI_INTERNAL for 5xx and network errors (the broker's detail printed). */
int cli_admin_request(struct cli_admin *a, const char *method, const char *path,
                      const uint8_t *body, size_t len, const char *content_type, long *status,
                      coffer_buf *resp);

/* The same, and the value of the response header `hname` in `hval` ("" when
 * absent; truncated to hval_size - 1 bytes when longer, so a caller that
 * parses it with a length bound refuses it). */
int cli_admin_request_hdr(struct cli_admin *a, const char *method, const char *path,
                          const uint8_t *body, size_t len, const char *content_type, long *status,
                          coffer_buf *resp, const char *hname, char *hval, size_t hval_size);

/* Print the broker's answer to a list request: as it came with --json, else
 * each element through `print_entry`. CLI_INTERNAL (message printed) when it
 * is not a JSON array. */
int cli_admin_print_list(struct cli_admin *a, const coffer_buf *resp,
                         void (*print_entry)(const json_t *e));
/* The broker's answer as it came, and a newline (--json). */
void cli_admin_print_raw(const coffer_buf *resp);

/* The admin JWT for one request (exposed for tests). */
int cli_admin_token(char **out, const coffer_jwk *key, const char *sub, const char *method,
                    const char *path, const uint8_t *body, size_t len, int64_t now);

/* `coffer policy set` (argv[0] is "set"), listed in src/cli/policy.c. */
int cli_policy_set(int argc, char **argv);

/* Help text of the common flags. */
extern const char cli_admin_common_help[];

#endif
