/* RFC 3339 timestamps for --at. */
#ifndef COFFER_CLI_RFC3339_H
#define COFFER_CLI_RFC3339_H

#include <stdint.h>

/* "2025-06-01T00:00:00Z" (fraction and numeric offsets accepted) -> unix
 * seconds; -1 if malformed or before 1970. */
int cli_parse_rfc3339(int64_t *out, const char *s);

#endif
