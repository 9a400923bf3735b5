/*
 * Rego engine throughput.
 *
 * 1. Trustee's default resource policy (v0 syntax) against a typical EAR
 *    token's claims: evaluations of data.policy.allow per second on one core
 *    (target >= 200,000/s), next to a baseline in the same run: parsing the
 *    same claims JSON with jansson (the cost the broker pays anyway).
 * 2. The ACI confidential-containers policy's mount_overlay query (from
 *    COFFER_CONFORMANCE, else ../shared/conformance beside the source tree):
 *    microseconds per evaluation (target <= 50 us).
 * 3. A whole `coffer policy eval` process for the same query (build/bin/coffer,
 *    fork+exec+wait): milliseconds per run (target <= 3 ms).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coffer/rego.h"

#include "bench_util.h"

static const char trustee_policy[] =
        "package policy\n"
        "\n"
        "default allow = false\n"
        "\n"
        "allow {\n"
        "    input[\"submods\"][\"cpu0\"][\"ear.status\"] == \"affirming\"\n"
        "}\n";

/* the claims of an EAR attestation token as the broker hands them to the
 * resource policy (SNP evidence annotated by the verifier) */
static const char ear_claims[] =
        "{\"eat_profile\":\"tag:github.com,2023:veraison/ear\",\"iat\":1732700000,"
        "\"ear.verifier-id\":{\"build\":\"coffer 0.1.0\",\"developer\":\"coffer\"},"
        "\"ear.raw-evidence\":\"eyJ0ZWUiOiJzbnAifQ\","
        "\"submods\":{\"cpu0\":{\"ear.status\":\"affirming\","
        "\"ear.trustworthiness-vector\":{\"configuration\":2,\"executables\":2,\"file-system\":0,"
        "\"hardware\":2,\"instance-identity\":2,\"runtime-opaque\":2,\"sourced-data\":0,"
        "\"storage-opaque\":2},"
        "\"ear.appraisal-policy-id\":\"policy:cpu0\","
        "\"ear.veraison.annotated-evidence\":{\"snp\":{"
        "\"measurement\":"
        "\"8a1b7c7e2f0c5d3e9b4a6f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff00112"
        "233\","
        "\"report_data\":"
        "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899aabb"
        "ccddeeff00112233445566778899aabbccddeeff\","
        "\"init_data\":\"0000000000000000000000000000000000000000000000000000000000000000\","
        "\"chip_id\":"
        "\"d30d7b8576d1e7e6d01d7c6a5d2a1c6e8d3b5a4f6e7d8c9b0a1f2e3d4c5b6a7980f1e2d3c4b5a69788796a5b"
        "4c3d2e1f00112233445566778899aabbccddeeff\","
        "\"policy_debug_allowed\":false,\"policy_migrate_ma\":false,\"policy_smt_allowed\":true,"
        "\"policy_single_socket\":false,\"policy_abi_major\":0,\"policy_abi_minor\":0,"
        "\"reported_tcb_bootloader\":3,\"reported_tcb_tee\":0,\"reported_tcb_snp\":8,"
        "\"reported_tcb_microcode\":115,\"platform_tsme_enabled\":false,\"platform_smt_enabled\":"
        "true,"
        "\"guest_svn\":1,\"vmpl\":0,\"version\":2}}}}}";

static int mkpath(char *out, size_t n, const char *dir, const char *file)
{
	size_t a = strlen(dir), b = strlen(file);
	if (a + b + 2 > n)
		return -1;
	memcpy(out, dir, a);
	out[a] = '/';
	memcpy(out + a + 1, file, b + 1);
	return 0;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
			*len = (size_t)n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

/* mean wall time of n runs of argv (stdout to /dev/null), in ms; <0 on failure */
static double run_proc(char *const argv[], int n)
{
	double ts = now_s();
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			int fd = open("/dev/null", O_WRONLY);
			if (fd >= 0)
				dup2(fd, 1);
			execv(argv[0], argv);
			_exit(127);
		}
		int st = 0;
		if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return -1;
	}
	return (now_s() - ts) / n * 1e3;
}

static int bench_trustee(void)
{
	coffer_rego_module m = { "trustee.rego", trustee_policy, sizeof(trustee_policy) - 1 };
	coffer_rego_policy *p = NULL;
	coffer_rego_query *q = NULL;
	coffer_rego_diag d;
	json_error_t e;
	int allowed = 0;

	if (coffer_rego_policy_compile(&p, &m, 1, &d) ||
	    coffer_rego_query_compile(&q, p, "data.policy.allow", &d)) {
		fprintf(stderr, "compile: %s\n", d.message);
		return 1;
	}
	json_t *in = json_loads(ear_claims, 0, &e);
	if (!in) {
		fprintf(stderr, "claims: %s\n", e.text);
		return 1;
	}
	/* warm-up, and the decision must be "allow" */
	if (coffer_rego_query_allow(&allowed, q, in, NULL, NULL, &d) || !allowed) {
		fprintf(stderr, "trustee policy did not allow\n");
		return 1;
	}
	double best_rate = 0, best_parse = 0;
	for (int round = 0; round < 5; round++) {
		long n = 0;
		double t0 = now_s(), t1;
		do {
			for (int i = 0; i < 2000; i++)
				coffer_rego_query_allow(&allowed, q, in, NULL, NULL, &d);
			n += 2000;
			t1 = now_s();
		} while (t1 - t0 < 0.3);
		double rate = (double)n / (t1 - t0);
		if (rate > best_rate)
			best_rate = rate;
		n = 0;
		t0 = now_s();
		do {
			for (int i = 0; i < 2000; i++)
				json_decref(json_loads(ear_claims, 0, &e));
			n += 2000;
			t1 = now_s();
		} while (t1 - t0 < 0.3);
		rate = (double)n / (t1 - t0);
		if (rate > best_parse)
			best_parse = rate;
	}
	printf("trustee default resource policy, EAR claims (%zu bytes): %.0f evaluations/s "
	       "(target >= 200000: %s)\n",
	       sizeof(ear_claims) - 1, best_rate, best_rate >= 200000 ? "met" : "NOT met");
	printf("  baseline: jansson parse of the same claims: %.0f/s (evaluation / parse = %.2f)\n",
	       best_parse, best_rate / best_parse);
	json_decref(in);
	coffer_rego_query_free(q);
	coffer_rego_policy_free(p);
	return 0;
}

static int bench_aci(const char *dir, const char *coffer_bin)
{
	static const char *files[] = { "api.rego", "framework.rego", "policy.rego" };
	coffer_rego_module m[3];
	char *texts[3] = { 0 };
	char path[4096];
	coffer_rego_policy *p = NULL;
	coffer_rego_query *q = NULL;
	coffer_rego_diag d;
	json_error_t e;
	int rc = 1;

	for (int i = 0; i < 3; i++) {
		size_t len = 0;
		mkpath(path, sizeof(path), dir, files[i]);
		texts[i] = read_file(path, &len);
		if (!texts[i]) {
			printf("ACI policy: %s absent, skipped\n", path);
			rc = 0;
			goto out;
		}
		m[i].name = files[i];
		m[i].text = texts[i];
		m[i].len = len;
	}
	mkpath(path, sizeof(path), dir, "input.json");
	json_t *in = json_load_file(path, 0, &e);
	mkpath(path, sizeof(path), dir, "data.json");
	json_t *data = json_load_file(path, 0, &e);
	double t0 = now_s();
	if (coffer_rego_policy_compile(&p, m, 3, &d) ||
	    coffer_rego_query_compile(&q, p, "data.policy.mount_overlay", &d)) {
		fprintf(stderr, "ACI compile: %s:%d:%d %s\n", d.file, d.line, d.col, d.message);
		goto out;
	}
	double tc = now_s() - t0;
	json_t *res = NULL;
	if (coffer_rego_query_eval(&res, q, in, data, NULL, 0, &d)) {
		fprintf(stderr, "ACI eval: %s\n", d.message);
		goto out;
	}
	json_t *allowed = json_object_get(json_object_get(json_array_get(res, 0), "x"), "allowed");
	if (!json_is_true(allowed)) {
		fprintf(stderr, "ACI mount_overlay not allowed\n");
		goto out;
	}
	json_decref(res);
	double best = 1e9;
	for (int round = 0; round < 5; round++) {
		long n = 0;
		double t1, ts = now_s();
		do {
			for (int i = 0; i < 200; i++) {
				coffer_rego_query_eval(&res, q, in, data, NULL, 0, &d);
				json_decref(res);
			}
			n += 200;
			t1 = now_s();
		} while (t1 - ts < 0.3);
		double us = (t1 - ts) / (double)n * 1e6;
		if (us < best)
			best = us;
	}
	printf("ACI policy (1.9k lines) compile: %.2f ms (once, at upload)\n", tc * 1e3);
	printf("ACI mount_overlay: %.1f us per evaluation (target <= 50: %s)\n", best,
	       best <= 50 ? "met" : "NOT met");
	json_decref(in);
	json_decref(data);

	/* the whole CLI process */
	if (access(coffer_bin, X_OK) != 0) {
		printf("coffer policy eval: %s absent, skipped\n", coffer_bin);
		rc = 0;
		goto out;
	}
	char a0[4096], a1[4096], a2[4096], a3[4096], a4[4096];
	mkpath(a0, sizeof(a0), dir, "input.json");
	mkpath(a1, sizeof(a1), dir, "data.json");
	mkpath(a2, sizeof(a2), dir, "api.rego");
	mkpath(a3, sizeof(a3), dir, "framework.rego");
	mkpath(a4, sizeof(a4), dir, "policy.rego");
	char *argv[] = { (char *)coffer_bin,
		         "policy",
		         "eval",
		         "--input",
		         a0,
		         "--data",
		         a1,
		         "--query",
		         "data.policy.mount_overlay",
		         a2,
		         a3,
		         a4,
		         NULL };
	char *help[] = { (char *)coffer_bin, "policy", "--help", NULL };
	double best_ms = 1e9, best_floor = 1e9;
	fflush(stdout);
	for (int round = 0; round < 5; round++) {
		double ms = run_proc(argv, 40), fl = run_proc(help, 40);
		if (ms < 0 || fl < 0) {
			fprintf(stderr, "coffer policy eval failed\n");
			goto out;
		}
		if (ms < best_ms)
			best_ms = ms;
		if (fl < best_floor)
			best_floor = fl;
	}
	printf("  baseline: `coffer policy --help` process (start-up floor of the coffer binary): "
	       "%.2f ms\n",
	       best_floor);
	printf("coffer policy eval (whole process, ACI mount_overlay): %.2f ms per run "
	       "(target <= 3: %s)\n",
	       best_ms, best_ms <= 3 ? "met" : "NOT met");
	rc = 0;
out:
	coffer_rego_query_free(q);
	coffer_rego_policy_free(p);
	for (int i = 0; i < 3; i++)
		free(texts[i]);
	return rc;
}

int main(int argc, char **argv)
{
	char dir[4096], bin[4096];
	const char *conf = getenv("COFFER_CONFORMANCE");
	const char *src = getenv("COFFER_SOURCE_DIR");
	const char *bindir = getenv("COFFER_BIN_DIR");

	if (conf)
		snprintf(dir, sizeof(dir), "%s/rego/aci", conf);
	else
		snprintf(dir, sizeof(dir), "%s/../shared/conformance/rego/aci", src ? src : ".");
	if (bindir) {
		snprintf(bin, sizeof(bin), "%s/coffer", bindir);
	} else {
		/* build/bench/bench_rego -> build/bin/coffer */
		const char *self = argv[0];
		const char *slash = strrchr(self, '/');
		int dl = slash ? (int)(slash - self) : 1;
		snprintf(bin, sizeof(bin), "%.*s/../bin/coffer", dl, slash ? self : ".");
	}
	(void)argc;
	if (bench_trustee())
		return 1;
	return bench_aci(dir, bin);
}
