/* libFuzzer target: KBS resource paths and kbs:/// URIs (PROTOCOL.md section 2).
 * An accepted path has exactly three valid segments and formats back to the
 * input byte for byte; no accepted segment can be "." or "..". */
#include <stdlib.h>
#include <string.h>

#include "coffer/kbs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const coffer_kbs_resource_path *p)
{
	const char *segs[3] = { p->repository, p->type, p->tag };

	for (int i = 0; i < 3; i++) {
		if (!coffer_kbs_segment_valid(segs[i], strlen(segs[i])) || segs[i][0] == '.' ||
		    strchr(segs[i], '/') || strchr(segs[i], '%'))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	coffer_kbs_resource_path p;
	char *s, out[3 * (COFFER_KBS_SEGMENT_MAX + 1)];

	if (coffer_kbs_resource_path_parse(&p, (const char *)data, size) == 0) {
		check(&p);
		if (coffer_kbs_resource_path_format(out, sizeof(out), &p) != 0 ||
		    strlen(out) != size || memcmp(out, data, size) != 0)
			abort();
	}
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (coffer_kbs_resource_uri_parse(&p, s) == 0)
		check(&p);
	free(s);
	return 0;
}
