/*
 * libcoffer's own KBS client (coffer_kbs_client) against a real cofferd:
 * RCAR with sample evidence, resource fetch and JWE decryption with EC
 * P-256, EC P-521 and RSA keys, init-data, token reuse, errors.
 * The broker runs as a child process on a kernel-chosen loopback port and is
 * always killed on exit.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "coffer/http.h"
#include "coffer/codec.h"
#include "coffer/jose.h"
#include "coffer/kbs_client.h"

static pid_t child = -1;
static char dir[64];
static unsigned port;
static int failures;

#define CHECK(cond, ...)                                            \
	do {                                                        \
		if (cond) {                                         \
			printf("ok   " __VA_ARGS__);                \
		} else {                                            \
			printf("FAIL " __VA_ARGS__);                \
			printf("     (%s)\n", coffer_error_last()); \
			failures++;                                 \
		}                                                   \
		printf("\n");                                       \
	} while (0)

static void cleanup(void)
{
	char cmd[128];

	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		child = -1;
	}
	if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup of %s failed\n", dir);
	}
}

static void on_signal(int sig)
{
	(void)sig;
	exit(1); /* runs cleanup through atexit */
}

static int start_broker(void)
{
	const char *bin = getenv("COFFER_BIN_DIR");
	char exe[512], data[128], pf[128];

	if (bin == NULL)
		return 77;
	snprintf(exe, sizeof(exe), "%s/cofferd", bin);
	if (access(exe, X_OK) != 0)
		return 77;
	snprintf(dir, sizeof(dir), "/tmp/kbsclient-test-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(pf, sizeof(pf), "%s/port", dir);
	child = fork();
	if (child == 0) {
		char log[160];
		snprintf(log, sizeof(log), "%s/cofferd.log", dir);
		if (freopen(log, "w", stderr) == NULL)
			_exit(126);
		execl(exe, exe, "--dev", "--listen", "127.0.0.1:0", "--data-dir", data,
		      "--port-file", pf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1000 && port == 0; i++) {
		FILE *f = fopen(pf, "r");
		if (f) {
			char line[16] = "";
			if (fgets(line, sizeof(line), f))
				port = (unsigned)strtoul(line, NULL, 10);
			fclose(f);
		}
		if (port == 0)
			usleep(20000);
	}
	return port ? 0 : 1;
}

/* POST /kbs/v0/resource/<path> signed with the dev admin key. */
static int admin_put(const char *path, const char *value)
{
	char keyp[160], url[512], htu[300], auth[4096], *sub = NULL, *bdh = NULL, *tok = NULL;
	coffer_jwk *k = NULL;
	uint8_t md[32];
	unsigned int ml = 0;
	json_t *claims = NULL;
	coffer_http *c = NULL;
	coffer_http_response resp;
	const char *hdrs[2] = { auth, NULL };
	long status = 0;
	int64_t now = (int64_t)time(NULL) - 1;
	static int seq;

	snprintf(keyp, sizeof(keyp), "%s/data/admin.jwk", dir);
	snprintf(htu, sizeof(htu), "/kbs/v0/resource/%s", path);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, htu);
	if (coffer_jwk_load(&k, keyp) < 0 || coffer_jwk_thumbprint(&sub, k) < 0 ||
	    EVP_Digest(value, strlen(value), md, &ml, EVP_sha256(), NULL) != 1 ||
	    coffer_base64_encode(&bdh, NULL, md, ml, COFFER_B64_URL_NOPAD) < 0)
		goto out;
	claims = json_pack("{s:s,s:I,s:I,s:s,s:s,s:s,s:s}", "sub", sub, "iat", (json_int_t)now,
	                   "exp", (json_int_t)(now + 60), "jti", seq++ ? "put-2" : "put-1", "htm",
	                   "POST", "htu", htu, "bdh", bdh);
	if (claims == NULL || coffer_jwt_sign(&tok, k, "ES256", NULL, claims) < 0)
		goto out;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
	if (coffer_http_new(&c, NULL) == 0) {
		coffer_http_request req = { .method = "POST",
			                    .url = url,
			                    .headers = hdrs,
			                    .body = value,
			                    .body_len = strlen(value) };
		if (coffer_http_perform(&resp, c, &req) == 0) {
			status = resp.status;
			coffer_http_response_free(&resp);
		}
	}
out:
	coffer_http_free(c);
	json_decref(claims);
	free(sub);
	free(bdh);
	free(tok);
	coffer_jwk_free(k);
	return status == 200 ? 0 : -1;
}

/* sample evidence: {"svn":"1","report_data":"<base64 std>"} */
static int sample_evidence(json_t **out, void *ctx, const uint8_t *rd, size_t len)
{
	char *b64 = NULL;
	int error;
	(void)ctx;

	if ((error = coffer_base64_encode(&b64, NULL, rd, len, COFFER_B64_STD)) < 0)
		return error;
	*out = json_pack("{s:s,s:s}", "svn", "1", "report_data", b64);
	free(b64);
	return *out ? 0 : COFFER_ENOMEM;
}

static int fetch(const char *key_type, const char *path, const char *want, const char *init)
{
	coffer_kbs_client_opts o = COFFER_KBS_CLIENT_OPTS_INIT;
	coffer_kbs_client *c = NULL;
	coffer_secret v = COFFER_SECRET_INIT;
	char url[64];
	int error;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
	o.url = url;
	o.tee = "sample";
	o.evidence = sample_evidence;
	o.key_type = key_type;
	o.retries = 1;
	if (init) {
		o.init_data = init;
		o.init_data_len = strlen(init);
	}
	if ((error = coffer_kbs_client_new(&c, &o)) < 0)
		return error;
	error = coffer_kbs_client_get_resource(&v, c, path);
	if (error == 0 && (v.len != strlen(want) || memcmp(v.ptr, want, v.len) != 0))
		error = COFFER_EVERIFY;
	/* a second fetch reuses the token: still one handshake */
	if (error == 0) {
		coffer_secret_free(&v);
		error = coffer_kbs_client_get_resource(&v, c, path);
		if (error == 0 && coffer_kbs_client_attest_count(c) != 1)
			error = COFFER_ERROR;
	}
	coffer_secret_free(&v);
	coffer_kbs_client_free(c);
	return error;
}

int main(void)
{
	int rc;

	atexit(cleanup);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	rc = start_broker();
	if (rc == 77) {
		fprintf(stderr, "SKIPPED: no cofferd in COFFER_BIN_DIR\n");
		return 77;
	}
	if (rc != 0) {
		fprintf(stderr, "cofferd did not start\n");
		return 1;
	}
	CHECK(admin_put("default/key/lib", "libcoffer-client-secret") == 0, "admin put");
	CHECK(fetch(NULL, "default/key/lib", "libcoffer-client-secret", NULL) == 0,
	      "kbs_client: EC P-256 fetch + decrypt, token reused");
	CHECK(fetch("EC-P521", "default/key/lib", "libcoffer-client-secret", NULL) == 0,
	      "kbs_client: EC P-521");
	CHECK(fetch("RSA", "default/key/lib", "libcoffer-client-secret", NULL) == 0,
	      "kbs_client: RSA-OAEP-256");
	CHECK(fetch(NULL, "default/key/lib", "libcoffer-client-secret",
	            "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data]\n") == 0,
	      "kbs_client: with init-data");
	CHECK(fetch(NULL, "default/key/missing", "", NULL) < 0,
	      "kbs_client: unknown resource fails");
	CHECK(fetch(NULL, "default/../x", "", NULL) < 0, "kbs_client: invalid path refused");
	printf("%d failed\n", failures);
	return failures ? 1 : 0;
}
