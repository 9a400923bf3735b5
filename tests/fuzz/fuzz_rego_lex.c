/* libFuzzer target: the Rego lexer. Every input ends in EOF or a lexical
 * error within a bounded number of tokens; tokens lie inside the input. */
#include <stdlib.h>
#include <string.h>

#include "rego/rego_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rg_arena ar;
	rg_lexer lx;
	rg_tok t;
	const char *src = (const char *)data;

	rg_arena_init(&ar, 16 * 1024 * 1024);
	rg_lex_init(&lx, &ar, src, size);
	for (size_t n = 0; n <= size + 1; n++) {
		int k = rg_lex_next(&lx, &t);
		if (k == TK_EOF || k == TK_ERROR)
			break;
		if (t.k != TK_STRING && t.k != TK_RAWSTRING &&
		    (t.p < src || t.p + t.len > src + size))
			abort();
		if (n == size + 1)
			abort(); /* more tokens than bytes: the lexer did not advance */
	}
	rg_arena_free(&ar);
	return 0;
}
