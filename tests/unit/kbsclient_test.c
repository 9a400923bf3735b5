/*
 * KBS client: the broker-answer parsers on valid and hostile input, option
 * checks, an unreachable broker, and the RCAR flow against a small broker
 * run in-process on libmicrohttpd (binding checked, JWE made with the
 * library's encrypt side, token lifetime controlled to test the cache).
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <time.h>

#include <microhttpd.h>

#include "test_util.h"

#include "coffer/codec.h"
#include "coffer/jose.h"
#include "coffer/json.h"
#include "coffer/kbs.h"
#include "coffer/kbs_client.h"

/* ---- parsers ---- */

static int challenge(const char *body, char **nonce, char **hash)
{
	return coffer_kbs_parse_challenge(nonce, hash, body, strlen(body));
}

static void test_parse_challenge(void **state)
{
	char *n = NULL, *h = NULL;

	(void)state;
	assert_int_equal(challenge("{\"nonce\":\"abc=\",\"extra-params\":\"\"}", &n, &h), 0);
	assert_string_equal(n, "abc=");
	assert_null(h);
	free(n);
	assert_int_equal(challenge("{\"nonce\":\"x\",\"extra-params\":{\"selected-hash-"
	                           "algorithm\":\"sha512\"}}",
	                           &n, &h),
	                 0);
	assert_string_equal(h, "sha512");
	free(n);
	free(h);
	assert_int_equal(challenge("{\"nonce\":\"x\",\"extra-params\":{\"selected-hash-"
	                           "algorithm\":\"md5\"}}",
	                           &n, &h),
	                 COFFER_EUNSUPPORTED);
	assert_null(n);
	assert_int_equal(challenge("{\"extra-params\":\"\"}", &n, &h), COFFER_EINVAL);
	assert_non_null(strstr(coffer_error_last(), "nonce"));
	assert_int_equal(challenge("{\"nonce\":\"a b\"}", &n, &h), COFFER_EINVAL);
	assert_int_equal(challenge("{\"nonce\":\"\"}", &n, &h), COFFER_EINVAL);
	assert_int_equal(challenge("{\"nonce\":\"a\",\"extra-params\":5}", &n, &h), COFFER_EINVAL);
	assert_int_equal(challenge("[1]", &n, &h), COFFER_EINVAL);
	assert_int_equal(challenge("{\"nonce\":", &n, &h), COFFER_EINVAL);
	assert_int_equal(coffer_kbs_parse_challenge(&n, &h, "", 0), COFFER_EINVAL);
	assert_int_equal(challenge("{\"nonce\":\"a\",\"nonce\":\"b\"}", &n, &h), COFFER_EINVAL);
	assert_null(n);
	assert_null(h);
}

static char *jwt_with(const char *claims)
{
	char *p = NULL, *out;
	size_t n;

	assert_int_equal(coffer_base64_encode(&p, NULL, (const uint8_t *)claims, strlen(claims),
	                                      COFFER_B64_URL_NOPAD),
	                 0);
	n = strlen(p) + 64;
	out = malloc(n);
	snprintf(out, n, "{\"token\":\"eyJhbGciOiJFUzI1NiJ9.%s.c2ln\"}", p);
	free(p);
	return out;
}

static void test_parse_attest(void **state)
{
	char *t = NULL, *body;
	int64_t exp = -1;

	(void)state;
	body = jwt_with("{\"exp\":1900000000,\"iss\":\"x\"}");
	assert_int_equal(coffer_kbs_parse_attest_response(&t, &exp, body, strlen(body)), 0);
	assert_int_equal(exp, 1900000000);
	assert_non_null(strstr(t, "eyJhbGciOiJFUzI1NiJ9."));
	free(t);
	free(body);
	body = jwt_with("{\"iss\":\"x\"}");
	assert_int_equal(coffer_kbs_parse_attest_response(&t, &exp, body, strlen(body)), 0);
	assert_int_equal(exp, 0);
	free(t);
	free(body);
	body = jwt_with("{\"exp\":\"soon\"}");
	assert_int_equal(coffer_kbs_parse_attest_response(&t, &exp, body, strlen(body)),
	                 COFFER_EINVAL);
	assert_non_null(strstr(coffer_error_last(), "exp"));
	free(body);
	body = jwt_with("{\"exp\":-5}");
	assert_int_equal(coffer_kbs_parse_attest_response(&t, &exp, body, strlen(body)),
	                 COFFER_EINVAL);
	free(body);
	body = jwt_with("[1,2]");
	assert_int_equal(coffer_kbs_parse_attest_response(&t, &exp, body, strlen(body)),
	                 COFFER_EINVAL);
	free(body);
	{
		static const char *const bad[] = {
			"{\"token\":\"a.b\"}",  "{\"token\":\"a.b.c.d\"}", "{\"token\":\".b.c\"}",
			"{\"token\":\"a..c\"}", "{\"token\":\"a.b+/.c\"}", "{\"token\":5}",
			"{\"tok\":\"a.b.c\"}",  "{\"token\":\"a.!!!.c\"}",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			assert_int_equal(
			        coffer_kbs_parse_attest_response(&t, &exp, bad[i], strlen(bad[i])),
			        COFFER_EINVAL);
			assert_null(t);
		}
	}
	/* a token beyond the limit */
	{
		size_t n = 70 * 1024;
		char *big = malloc(n + 32);
		memcpy(big, "{\"token\":\"", 10);
		memset(big + 10, 'A', n);
		memcpy(big + 10 + n, "\"}", 3);
		assert_int_equal(coffer_kbs_parse_attest_response(&t, &exp, big, strlen(big)),
		                 COFFER_ELIMIT);
		free(big);
	}
}

static char *jwe_body(const char *hdr_json, bool all_members)
{
	char *h = NULL, *out;
	size_t n;

	assert_int_equal(coffer_base64_encode(&h, NULL, (const uint8_t *)hdr_json, strlen(hdr_json),
	                                      COFFER_B64_URL_NOPAD),
	                 0);
	n = strlen(h) + 200;
	out = malloc(n);
	snprintf(out, n,
	         "{\"protected\":\"%s\",\"encrypted_key\":\"AAAA\",\"iv\":\"AAAA\","
	         "\"ciphertext\":\"AAAA\"%s}",
	         h, all_members ? ",\"tag\":\"AAAA\"" : "");
	free(h);
	return out;
}

static void test_parse_jwe(void **state)
{
	json_t *j = NULL;
	char *b;

	(void)state;
	b = jwe_body("{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\"}", true);
	assert_int_equal(coffer_kbs_parse_resource_jwe(&j, b, strlen(b), "ECDH-ES+A256KW"), 0);
	json_decref(j);
	j = NULL;
	assert_int_equal(coffer_kbs_parse_resource_jwe(&j, b, strlen(b), "RSA-OAEP-256"),
	                 COFFER_EUNSUPPORTED);
	assert_non_null(strstr(coffer_error_last(), "does not fit"));
	free(b);
	b = jwe_body("{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A128CBC-HS256\"}", true);
	assert_int_equal(coffer_kbs_parse_resource_jwe(&j, b, strlen(b), NULL),
	                 COFFER_EUNSUPPORTED);
	free(b);
	b = jwe_body("{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\"}", false);
	assert_int_equal(coffer_kbs_parse_resource_jwe(&j, b, strlen(b), NULL), COFFER_EINVAL);
	assert_non_null(strstr(coffer_error_last(), "'tag'"));
	free(b);
	b = jwe_body("{\"enc\":\"A256GCM\"}", true);
	assert_int_equal(coffer_kbs_parse_resource_jwe(&j, b, strlen(b), NULL), COFFER_EINVAL);
	free(b);
	b = jwe_body("not json", true);
	assert_int_equal(coffer_kbs_parse_resource_jwe(&j, b, strlen(b), NULL), COFFER_EINVAL);
	free(b);
	{
		const char *s = "{\"hello\":1}";
		assert_int_equal(coffer_kbs_parse_resource_jwe(&j, s, strlen(s), NULL),
		                 COFFER_EINVAL);
		s = "{\"protected\":\"eyJ\",";
		assert_int_equal(coffer_kbs_parse_resource_jwe(&j, s, strlen(s), NULL),
		                 COFFER_EINVAL);
	}
	assert_null(j);
}

static void test_error_text(void **state)
{
	const char *b = "{\"type\":\"https://github.com/confidential-containers/kbs/errors/"
	                "PolicyDeny\",\"detail\":\"no\\nway\"}";
	char *t = coffer_kbs_error_text(b, strlen(b));

	(void)state;
	assert_non_null(t);
	assert_string_equal(t, "PolicyDeny: no?way");
	free(t);
	assert_null(coffer_kbs_error_text("{}", 2));
	assert_null(coffer_kbs_error_text("nope", 4));
	assert_null(coffer_kbs_error_text(NULL, 0));
}

/* ---- client options and an unreachable broker ---- */

static int ev_sample(json_t **out, void *ctx, const uint8_t *rd, size_t len)
{
	char *b64 = NULL;
	int *calls = ctx;

	if (calls)
		(*calls)++;
	if (coffer_base64_encode(&b64, NULL, rd, len, COFFER_B64_STD) < 0)
		return COFFER_ENOMEM;
	*out = json_pack("{s:s,s:s}", "svn", "1", "report_data", b64);
	free(b64);
	return 0;
}

static int ev_fail(json_t **out, void *ctx, const uint8_t *rd, size_t len)
{
	(void)out;
	(void)ctx;
	(void)rd;
	(void)len;
	return coffer_error_set(COFFER_EIO, "the TEE device is gone");
}

static void test_client_options(void **state)
{
	coffer_kbs_client_opts o = COFFER_KBS_CLIENT_OPTS_INIT;
	coffer_kbs_client *c = NULL;

	(void)state;
	o.url = "ftp://x";
	o.tee = "sample";
	o.evidence = ev_sample;
	assert_int_equal(coffer_kbs_client_new(&c, &o), COFFER_EINVAL);
	o.url = "http://127.0.0.1:1";
	o.tee = "nonsense";
	assert_int_equal(coffer_kbs_client_new(&c, &o), COFFER_EINVAL);
	o.tee = "sample";
	o.key_type = "EC-P384";
	assert_int_equal(coffer_kbs_client_new(&c, &o), COFFER_EINVAL);
	o.key_type = NULL;
	o.evidence = NULL;
	assert_int_equal(coffer_kbs_client_new(&c, &o), COFFER_EINVAL);
	o.evidence = ev_sample;
	o.init_data = "a\0b";
	o.init_data_len = 3;
	assert_int_equal(coffer_kbs_client_new(&c, &o), COFFER_EINVAL);
	o.init_data = NULL;
	o.version = 99;
	assert_int_equal(coffer_kbs_client_new(&c, &o), COFFER_EINVAL);
	assert_null(c);
}

static void test_unreachable(void **state)
{
	coffer_kbs_client_opts o = COFFER_KBS_CLIENT_OPTS_INIT;
	coffer_kbs_client *c = NULL;
	coffer_secret s = COFFER_SECRET_INIT;

	(void)state;
	o.url = "http://127.0.0.1:1"; /* nothing listens on port 1 */
	o.tee = "sample";
	o.evidence = ev_sample;
	o.retries = 1;
	o.backoff_ms = 10;
	assert_int_equal(coffer_kbs_client_new(&c, &o), 0);
	assert_int_equal(coffer_kbs_client_get_resource(&s, c, "a/b/c"), COFFER_ENET);
	assert_non_null(strstr(coffer_error_last(), "unreachable"));
	assert_non_null(strstr(coffer_error_last(), "after 2 attempts"));
	assert_int_equal(coffer_kbs_client_get_resource(&s, c, "a/../c"), COFFER_EINVAL);
	assert_int_equal(coffer_kbs_client_get_resource(&s, c, "a/b"), COFFER_EINVAL);
	assert_int_equal(coffer_kbs_client_attest_count(c), 0);
	coffer_kbs_client_free(c);
}

/* ---- an in-process broker ---- */

static struct mock {
	struct MHD_Daemon *d;
	unsigned port;
	char nonce[64];
	coffer_jwk *key;
	int64_t token_ttl;
	int attests;
	bool bad_binding_seen;
	pthread_mutex_t lock;
} mock = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct body {
	char buf[65536];
	size_t len;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *text,
                             const char *cookie)
{
	struct MHD_Response *r =
	        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", "application/json");
	if (cookie)
		MHD_add_response_header(r, "Set-Cookie", cookie);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result mock_attest(struct MHD_Connection *c, struct body *b)
{
	json_t *req = NULL, *rt, *pub, *ev;
	uint8_t want[COFFER_KBS_DIGEST_MAX], *got = NULL;
	size_t wlen = 0, glen = 0;
	const char *nonce, *add, *rd;
	char resp[1024], *claims = NULL;
	enum MHD_Result ret;

	if (coffer_json_parse(&req, b->buf, b->len, 0) < 0)
		return reply(c, 400, "{}", NULL);
	rt = json_object_get(req, "runtime-data");
	ev = json_object_get(req, "tee-evidence");
	nonce = json_string_value(json_object_get(rt, "nonce"));
	pub = json_object_get(rt, "tee-pubkey");
	add = json_string_value(json_object_get(ev, "additional_evidence"));
	rd = json_string_value(
	        json_object_get(json_object_get(ev, "primary_evidence"), "report_data"));
	assert_non_null(nonce);
	assert_string_equal(nonce, mock.nonce);
	assert_non_null(add);
	assert_int_equal(coffer_kbs_binding_digest(want, &wlen, COFFER_KBS_SHA384, nonce, pub, add),
	                 0);
	assert_int_equal(coffer_base64_decode(&got, &glen, rd, strlen(rd), COFFER_B64_STD), 0);
	if (glen != wlen || memcmp(got, want, wlen) != 0) {
		mock.bad_binding_seen = true;
		free(got);
		json_decref(req);
		return reply(c, 401,
		             "{\"type\":\"https://github.com/confidential-containers/kbs/errors/"
		             "AttestationError\",\"detail\":\"binding\"}",
		             NULL);
	}
	free(got);
	coffer_jwk_free(mock.key);
	mock.key = NULL;
	assert_int_equal(coffer_jwk_from_json(&mock.key, pub), 0);
	json_decref(req);
	{
		char c_json[128];
		snprintf(c_json, sizeof(c_json), "{\"exp\":%lld}",
		         (long long)(time(NULL) + mock.token_ttl));
		assert_int_equal(coffer_base64_encode(&claims, NULL, (const uint8_t *)c_json,
		                                      strlen(c_json), COFFER_B64_URL_NOPAD),
		                 0);
	}
	snprintf(resp, sizeof(resp), "{\"token\":\"eyJhbGciOiJFUzI1NiJ9.%s.c2ln\"}", claims);
	free(claims);
	mock.attests++;
	ret = reply(c, 200, resp, NULL);
	return ret;
}

static enum MHD_Result mock_handler(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version, const char *up,
                                    size_t *up_size, void **con_cls)
{
	struct body *b = *con_cls;
	enum MHD_Result ret;

	(void)cls;
	(void)version;
	if (b == NULL) {
		*con_cls = calloc(1, sizeof(struct body));
		return MHD_YES;
	}
	if (*up_size) {
		if (b->len + *up_size < sizeof(b->buf)) {
			memcpy(b->buf + b->len, up, *up_size);
			b->len += *up_size;
		}
		*up_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&mock.lock);
	if (strcmp(method, "POST") == 0 && strcmp(url, "/kbs/v0/auth") == 0) {
		char resp[256];
		uint8_t raw[32];
		char *n = NULL;
		for (size_t i = 0; i < sizeof(raw); i++)
			raw[i] = (uint8_t)rand();
		coffer_base64_encode(&n, NULL, raw, sizeof(raw), COFFER_B64_STD);
		snprintf(mock.nonce, sizeof(mock.nonce), "%s", n);
		free(n);
		snprintf(resp, sizeof(resp), "{\"nonce\":\"%s\",\"extra-params\":\"\"}",
		         mock.nonce);
		ret = reply(c, 200, resp,
		            "kbs-session-id=0123456789abcdef0123456789abcdef; Path=/kbs");
	} else if (strcmp(method, "POST") == 0 && strcmp(url, "/kbs/v0/attest") == 0) {
		ret = mock_attest(c, b);
	} else if (strncmp(url, "/kbs/v0/resource/", 17) == 0 && mock.key) {
		const char *cookie =
		        MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "kbs-session-id");
		json_t *jwe = NULL;
		char *text = NULL;
		size_t len;
		if (cookie == NULL) {
			ret = reply(c, 401, "{}", NULL);
		} else {
			assert_int_equal(coffer_jwe_encrypt(&jwe, mock.key, NULL,
			                                    (const uint8_t *)url + 17,
			                                    strlen(url + 17)),
			                 0);
			coffer_json_dump(&text, &len, jwe);
			ret = reply(c, 200, text, NULL);
			free(text);
			json_decref(jwe);
		}
	} else {
		ret = reply(c, 404, "{}", NULL);
	}
	pthread_mutex_unlock(&mock.lock);
	return ret;
}

static void mock_done(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode t)
{
	(void)cls;
	(void)c;
	(void)t;
	free(*con_cls);
	*con_cls = NULL;
}

static void mock_start(int64_t ttl)
{
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *di;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	mock.token_ttl = ttl;
	mock.attests = 0;
	mock.bad_binding_seen = false;
	mock.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, mock_handler,
	                          NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED,
	                          mock_done, NULL, MHD_OPTION_END);
	assert_non_null(mock.d);
	di = MHD_get_daemon_info(mock.d, MHD_DAEMON_INFO_BIND_PORT);
	mock.port = di->port;
}

static void mock_stop(void)
{
	MHD_stop_daemon(mock.d);
	coffer_jwk_free(mock.key);
	mock.key = NULL;
}

static coffer_kbs_client *client_for_mock(const char *key_type, coffer_kbs_evidence_fn fn,
                                          void *ctx)
{
	coffer_kbs_client_opts o = COFFER_KBS_CLIENT_OPTS_INIT;
	coffer_kbs_client *c = NULL;
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", mock.port);
	o.url = url;
	o.tee = "sample";
	o.evidence = fn;
	o.evidence_ctx = ctx;
	o.key_type = key_type;
	o.retries = 1;
	o.backoff_ms = 10;
	assert_int_equal(coffer_kbs_client_new(&c, &o), 0);
	return c;
}

static void fetch_expect(coffer_kbs_client *c, const char *path)
{
	coffer_secret s = COFFER_SECRET_INIT;

	assert_int_equal(coffer_kbs_client_get_resource(&s, c, path), 0);
	assert_int_equal(s.len, strlen(path));
	assert_memory_equal(s.ptr, path, s.len);
	coffer_secret_free(&s);
}

static void test_flow_and_cache(void **state)
{
	static const char *const kinds[] = { "EC-P256", "EC-P521", "RSA" };
	int calls = 0;

	(void)state;
	for (size_t k = 0; k < 3; k++) {
		coffer_kbs_client *c;
		char *tok = NULL;
		mock_start(300);
		c = client_for_mock(kinds[k], ev_sample, &calls);
		fetch_expect(c, "repo/type/tag1");
		fetch_expect(c, "repo/type/tag2");
		/* the token is good for 300 s: one handshake for both */
		assert_int_equal(mock.attests, 1);
		assert_int_equal(coffer_kbs_client_attest_count(c), 1);
		assert_int_equal(coffer_kbs_client_token(&tok, c), 0);
		assert_int_equal(mock.attests, 1);
		free(tok);
		assert_int_equal(coffer_kbs_client_tee_key_pem(&tok, c), 0);
		assert_non_null(strstr(tok, "PRIVATE KEY"));
		coffer_free_str_wiped(tok);
		assert_int_equal(coffer_kbs_client_attest(c), 0);
		assert_int_equal(mock.attests, 2);
		coffer_kbs_client_free(c);
		mock_stop();
	}
	assert_true(calls >= 6);
}

static void test_token_near_exp(void **state)
{
	coffer_kbs_client *c;

	(void)state;
	/* exp in 10 s, refresh margin 30 s: every use attests again */
	mock_start(10);
	c = client_for_mock(NULL, ev_sample, NULL);
	fetch_expect(c, "r/t/a");
	fetch_expect(c, "r/t/b");
	assert_int_equal(mock.attests, 2);
	coffer_kbs_client_free(c);
	mock_stop();
}

static int ev_wrong_binding(json_t **out, void *ctx, const uint8_t *rd, size_t len)
{
	uint8_t other[64];

	(void)ctx;
	memcpy(other, rd, len);
	other[0] ^= 1;
	return ev_sample(out, NULL, other, len);
}

static void test_binding_refused(void **state)
{
	coffer_kbs_client *c;
	coffer_secret s = COFFER_SECRET_INIT;

	(void)state;
	mock_start(300);
	c = client_for_mock(NULL, ev_wrong_binding, NULL);
	assert_int_equal(coffer_kbs_client_get_resource(&s, c, "r/t/a"), COFFER_EVERIFY);
	assert_non_null(strstr(coffer_error_last(), "attestation refused"));
	assert_non_null(strstr(coffer_error_last(), "AttestationError"));
	assert_true(mock.bad_binding_seen);
	coffer_kbs_client_free(c);
	c = client_for_mock(NULL, ev_fail, NULL);
	assert_int_equal(coffer_kbs_client_get_resource(&s, c, "r/t/a"), COFFER_EIO);
	assert_non_null(strstr(coffer_error_last(), "TEE device is gone"));
	coffer_kbs_client_free(c);
	mock_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_challenge), cmocka_unit_test(test_parse_attest),
		cmocka_unit_test(test_parse_jwe),       cmocka_unit_test(test_error_text),
		cmocka_unit_test(test_client_options),  cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_flow_and_cache),  cmocka_unit_test(test_token_near_exp),
		cmocka_unit_test(test_binding_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
