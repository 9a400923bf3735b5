/*
 * Prometheus text exposition: requests by endpoint and status with latency
 * histograms, attestations by tee and result, releases allowed/denied.
 * Counters are lock-free atomics; only counts, never claim values.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/kbs.h"
#include "cofferd.h"

static const char *const ep_names[EP_COUNT] = {
	"auth",        "attest", "resource", "admin_resource", "admin_policy", "admin_refval",
	"admin_other", "jwks",   "metrics",  "healthz",        "other",
};
static const int statuses[] = { 200, 201, 204, 400, 401, 403, 404, 405, 413, 429, 500, 503 };
#define N_STATUS ((int)(sizeof(statuses) / sizeof(statuses[0])) + 1) /* + "other" */
static const double buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
	                          0.05,   0.1,   0.25,   0.5,   1,    2.5 };
#define N_BUCKETS ((int)(sizeof(buckets) / sizeof(buckets[0])))

static const char *const tees[] = { "sample",   "sampledevice", "snp",         "tdx",
	                            "sgx",      "az-snp-vtpm",  "az-tdx-vtpm", "tpm",
	                            "cca",      "csv",          "se",          "nvidia",
	                            "hygondcu", "snp-sim",      "tdx-sim",     "other" };
#define N_TEES ((int)(sizeof(tees) / sizeof(tees[0])))

static atomic_ulong req_count[EP_COUNT][N_STATUS];
static atomic_ulong hist[EP_COUNT][N_BUCKETS + 1];
static atomic_ulong sum_us[EP_COUNT];
static atomic_ulong attest[N_TEES][2];
static atomic_ulong releases[2];

void cofferd_metrics_request(enum cofferd_endpoint ep, int status, double seconds)
{
	int si = N_STATUS - 1, bi = N_BUCKETS;

	if ((int)ep < 0 || ep >= EP_COUNT)
		ep = EP_OTHER;
	for (int i = 0; i < N_STATUS - 1; i++)
		if (statuses[i] == status)
			si = i;
	for (int i = 0; i < N_BUCKETS; i++) {
		if (seconds <= buckets[i]) {
			bi = i;
			break;
		}
	}
	atomic_fetch_add_explicit(&req_count[ep][si], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&hist[ep][bi], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&sum_us[ep], (unsigned long)(seconds * 1e6),
	                          memory_order_relaxed);
}

void cofferd_metrics_attestation(const char *tee, bool ok)
{
	int ti = N_TEES - 1;

	for (int i = 0; tee && i < N_TEES - 1; i++)
		if (strcmp(tees[i], tee) == 0)
			ti = i;
	atomic_fetch_add_explicit(&attest[ti][ok ? 1 : 0], 1, memory_order_relaxed);
}

void cofferd_metrics_release(bool allowed)
{
	atomic_fetch_add_explicit(&releases[allowed ? 1 : 0], 1, memory_order_relaxed);
}

int cofferd_metrics_render(char **out, size_t *len)
{
	coffer_buf b = COFFER_BUF_INIT_MAX((size_t)4 * 1024 * 1024);
	int error = 0;

	error |= coffer_buf_puts(&b, "# HELP cofferd_http_requests_total HTTP requests by "
	                             "endpoint and status.\n"
	                             "# TYPE cofferd_http_requests_total counter\n");
	for (int e = 0; e < EP_COUNT; e++) {
		for (int s = 0; s < N_STATUS; s++) {
			unsigned long v = atomic_load(&req_count[e][s]);
			char st[16];
			if (v == 0)
				continue;
			if (s == N_STATUS - 1)
				snprintf(st, sizeof(st), "other");
			else
				snprintf(st, sizeof(st), "%d", statuses[s]);
			error |= coffer_buf_printf(&b,
			                           "cofferd_http_requests_total{endpoint=\"%s\","
			                           "status=\"%s\"} %lu\n",
			                           ep_names[e], st, v);
		}
	}
	error |= coffer_buf_puts(&b, "# HELP cofferd_http_request_duration_seconds Request "
	                             "latency by endpoint.\n"
	                             "# TYPE cofferd_http_request_duration_seconds histogram\n");
	for (int e = 0; e < EP_COUNT; e++) {
		unsigned long cum = 0;
		for (int i = 0; i <= N_BUCKETS; i++) {
			cum += atomic_load(&hist[e][i]);
			if (i < N_BUCKETS)
				error |= coffer_buf_printf(&b,
				                           "cofferd_http_request_duration_seconds_"
				                           "bucket{endpoint=\"%s\","
				                           "le=\"%g\"} %lu\n",
				                           ep_names[e], buckets[i], cum);
			else
				error |= coffer_buf_printf(&b,
				                           "cofferd_http_request_duration_seconds_"
				                           "bucket{endpoint=\"%s\","
				                           "le=\"+Inf\"} %lu\n",
				                           ep_names[e], cum);
		}
		error |= coffer_buf_printf(
		        &b, "cofferd_http_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n",
		        ep_names[e], (double)atomic_load(&sum_us[e]) / 1e6);
		error |= coffer_buf_printf(
		        &b, "cofferd_http_request_duration_seconds_count{endpoint=\"%s\"} %lu\n",
		        ep_names[e], cum);
	}
	error |= coffer_buf_puts(&b, "# HELP cofferd_attestations_total Attestations by tee and "
	                             "result.\n# TYPE cofferd_attestations_total counter\n");
	for (int t = 0; t < N_TEES; t++) {
		for (int r = 0; r < 2; r++) {
			unsigned long v = atomic_load(&attest[t][r]);
			if (v == 0)
				continue;
			error |= coffer_buf_printf(&b,
			                           "cofferd_attestations_total{tee=\"%s\","
			                           "result=\"%s\"} %lu\n",
			                           tees[t], r ? "success" : "failure", v);
		}
	}
	error |= coffer_buf_printf(&b,
	                           "# HELP cofferd_releases_total Resource release decisions.\n"
	                           "# TYPE cofferd_releases_total counter\n"
	                           "cofferd_releases_total{decision=\"allowed\"} %lu\n"
	                           "cofferd_releases_total{decision=\"denied\"} %lu\n",
	                           atomic_load(&releases[1]), atomic_load(&releases[0]));
	if (error) {
		coffer_buf_free(&b);
		return coffer_error_set(COFFER_ENOMEM, "metrics: out of memory");
	}
	*out = (char *)coffer_buf_detach(&b, len);
	return 0;
}
