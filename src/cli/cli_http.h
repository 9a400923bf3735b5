/* A bounded HTTP(S) GET for the CLI (coffer_snp_http_get shape). */
#ifndef COFFER_CLI_HTTP_H
#define COFFER_CLI_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* GET `url` (http or https; redirects only to https), at most `max` bytes.
 * COFFER_ENOTFOUND for 404, COFFER_ENET for other failures. */
int cli_http_get(uint8_t **out, size_t *len, const char *url, size_t max, void *arg);

#endif
