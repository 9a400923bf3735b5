/*
 * libFuzzer target: the HTTP/1.1 response parser (src/lib/http/parse.c).
 * The agent's HTTP peer (the broker, or anything on the path when TLS is
 * not used) is outside the TEE, so this parser faces hostile bytes. The
 * first byte picks the mode (HEAD or not, a small or the default body
 * bound); the rest is the response stream, fed in pieces of 1 to 13 bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http/http_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	coffer_http_response resp;
	bool head_only;
	size_t max;

	if (size < 1)
		return 0;
	head_only = (data[0] & 1) != 0;
	max = (data[0] & 2) ? 64 : 0;
	if (coffer_http_parse_response(&resp, data + 1, size - 1, head_only, max) == 0) {
		/* every header is a NUL-terminated string; the body is bounded */
		for (size_t i = 0; i < resp.nheaders; i++)
			if (strlen(resp.headers[i].name) + strlen(resp.headers[i].value) >
			    COFFER_HTTP_MAX_HEAD)
				__builtin_trap();
		if (resp.nheaders > COFFER_HTTP_MAX_HEADERS || resp.status < 100 ||
		    resp.status > 599 || (max && resp.body.len > max))
			__builtin_trap();
		(void)coffer_http_response_header(&resp, "content-type");
		coffer_http_response_free(&resp);
	}
	return 0;
}
