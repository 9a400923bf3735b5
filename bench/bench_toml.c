/*
 * TOML parse throughput: a generated ~130 KiB document (tables, arrays of
 * tables, dotted keys, strings with escapes, integers, floats, date-times)
 * through coffer_toml_parse, against jansson's json_loads of the same data
 * as JSON (coffer_toml_to_json + json_dumps), measured in interleaved rounds
 * of the same run. No target: the figures size configs and init-data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffer/buf.h"
#include "coffer/toml.h"
#include "bench_util.h"

#define ROUNDS        15
#define ROUND_SECONDS 0.1

static int make_doc(coffer_buf *b)
{
	int error = 0;

	for (int t = 0; t < 400 && error == 0; t++) {
		error = coffer_buf_printf(b,
		                          "[service%d]\n"
		                          "name = \"svc-%d \\u00e9\\t\"\n"
		                          "path = '/var/lib/coffer/%d'\n"
		                          "port = %d\n"
		                          "ratio = %d.25e-3\n"
		                          "enabled = %s\n"
		                          "since = 1979-05-27T07:32:%02dZ\n"
		                          "limits.cpu = %d\n"
		                          "limits.mem = 0x%x\n"
		                          "tags = [\"a\", \"b\", \"c%d\"]\n"
		                          "[[service%d.endpoint]]\n"
		                          "url = \"https://host%d.example:8443/v1\"\n"
		                          "[[service%d.endpoint]]\n"
		                          "url = \"https://backup%d.example:8443/v1\"\n\n",
		                          t, t, t, 1000 + t, t, t % 2 ? "true" : "false", t % 60, t,
		                          t * 4096, t, t, t, t, t);
	}
	return error;
}

int main(void)
{
	coffer_buf doc = COFFER_BUF_INIT;
	coffer_toml *parsed = NULL;
	json_t *j = NULL;
	char *js = NULL;
	double ratios[ROUNDS], toml_total = 0, json_total = 0;
	long toml_n = 0, json_n = 0;

	if (make_doc(&doc) < 0 ||
	    coffer_toml_parse(&parsed, (const char *)doc.ptr, doc.len, NULL) < 0 ||
	    coffer_toml_to_json(&j, coffer_toml_root(parsed)) < 0 ||
	    (js = json_dumps(j, JSON_COMPACT)) == NULL) {
		fprintf(stderr, "bench_toml: setup failed: %s\n", coffer_error_last());
		return 1;
	}
	coffer_toml_free(parsed);
	json_decref(j);
	size_t js_len = strlen(js);

	for (int r = 0; r < ROUNDS; r++) {
		long n1 = 0, n2 = 0;
		double t0 = now_s(), t1;
		do {
			coffer_toml *d = NULL;
			if (coffer_toml_parse(&d, (const char *)doc.ptr, doc.len, NULL) < 0)
				return 1;
			coffer_toml_free(d);
			n1++;
		} while ((t1 = now_s()) - t0 < ROUND_SECONDS);
		double t2 = now_s(), t3;
		do {
			json_error_t err;
			json_t *v = json_loadb(js, js_len, 0, &err);
			if (v == NULL)
				return 1;
			json_decref(v);
			n2++;
		} while ((t3 = now_s()) - t2 < ROUND_SECONDS);
		double toml_rate = (double)n1 / (t1 - t0), json_rate = (double)n2 / (t3 - t2);
		ratios[r] = toml_rate / json_rate;
		toml_total += t1 - t0;
		json_total += t3 - t2;
		toml_n += n1;
		json_n += n2;
	}
	qsort(ratios, ROUNDS, sizeof(ratios[0]), cmp_double);
	double toml_mbs = (double)toml_n * (double)doc.len / toml_total / 1e6;
	double json_mbs = (double)json_n * (double)js_len / json_total / 1e6;
	printf("document: %zu bytes TOML, %zu bytes JSON\n", doc.len, js_len);
	printf("coffer_toml_parse: %.0f docs/s, %.1f MB/s\n", (double)toml_n / toml_total,
	       toml_mbs);
	printf("jansson json_loadb (baseline): %.0f docs/s, %.1f MB/s\n",
	       (double)json_n / json_total, json_mbs);
	printf("documents/s ratio toml/json (median of %d rounds): %.2f\n", ROUNDS,
	       ratios[ROUNDS / 2]);
	free(js);
	coffer_buf_free(&doc);
	return 0;
}
