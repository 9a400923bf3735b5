/*
 * libFuzzer target: the agent's HTTP/1.1 request parser
 * (src/lib/http/server.c, coffer_http_parse_request). Any local process can
 * talk to the agent's loopback API, so this parser faces hostile bytes.
 * The input is a received byte stream: the parser sees it growing by 1 to
 * 64 bytes at a time (as reads return), and again whole.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/http_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const coffer_http_req *req, size_t head, size_t len)
{
	if (head == 0 || head > len || head > COFFER_HTTPD_MAX_HEAD)
		abort();
	if (req->method == NULL || req->target == NULL || req->path == NULL)
		abort();
	if (req->nheaders > COFFER_HTTPD_MAX_HEADERS || req->nargs > COFFER_HTTPD_MAX_ARGS)
		abort();
	if (req->target[0] != '/' || strlen(req->target) > COFFER_HTTPD_MAX_HEAD)
		abort();
	for (size_t i = 0; i < req->nheaders; i++)
		if (strlen(req->headers[i].name) == 0 ||
		    strlen(req->headers[i].value) > COFFER_HTTPD_MAX_HEAD)
			abort();
	for (size_t i = 0; i < req->nargs; i++)
		if (strlen(req->args[i].name) + strlen(req->args[i].value) > COFFER_HTTPD_MAX_HEAD)
			abort();
	(void)coffer_http_req_header(req, "Host");
	(void)coffer_http_req_arg(req, "runtime_data");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[COFFER_HTTPD_MAX_HEAD], scratch[COFFER_HTTPD_MAX_HEAD];
	coffer_http_req req;
	size_t len = 0, head = 0, step;
	uint64_t cl = 0;
	int st = 1;

	if (size < 1)
		return 0;
	step = (size_t)(data[0] % 64) + 1;
	data++;
	size--;
	if (size > sizeof(buf))
		size = sizeof(buf);
	/* as the server sees it: the parse is retried on every read */
	while (st == 1 && len < size) {
		len = len + step < size ? len + step : size;
		memcpy(buf, data, len);
		st = coffer_http_parse_request(&req, &head, &cl, buf, len, scratch);
	}
	if (st == 0)
		check(&req, head, len);
	else if (st != 1 && (st < 400 || st > 505))
		abort();
	/* all at once */
	memcpy(buf, data, size);
	st = coffer_http_parse_request(&req, &head, &cl, buf, size, scratch);
	if (st == 0)
		check(&req, head, size);
	return 0;
}
