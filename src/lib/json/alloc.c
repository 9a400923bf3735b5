/*
 * A jansson allocator that wipes every block when it is freed. Tokens,
 * private JWK members and secret values pass through jansson's own strings
 * and lexer buffers; without this their copies survive in freed heap memory
 * (found by reading a running agent's memory, see agent_e2e).
 *
 * Blocks come from plain malloc, so code that frees jansson output (e.g.
 * json_dumps) with free() stays correct; the size to wipe is the block's
 * usable size as the allocator reports it.
 */
#include <malloc.h>
#include <stdlib.h>

#include <openssl/crypto.h>

#include "coffer/json.h"

static void *wiping_malloc(size_t n)
{
	return malloc(n);
}

static void wiping_free(void *p)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, malloc_usable_size(p));
	free(p);
}

void coffer_json_wipe_on_free(void)
{
	json_set_alloc_funcs(wiping_malloc, wiping_free);
}
