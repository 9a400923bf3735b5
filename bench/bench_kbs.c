/*
 * bench_kbs: load generator for cofferd (loopback only, keep-alive). The
 * closed-loop phases drive the connections from one epoll thread per core
 * (wrk's model; --thread-per-connection gives each connection a blocking
 * thread instead), the paced phases and the soak from one blocking thread
 * per connection. In one run it measures:
 *
 *   floor     the crypto of one handshake (ES256 sign + P-256 ECDH on both
 *             sides: ephemeral keygen + two derivations + ES256 verify) and
 *             of one bearer GET (the JWE key agreement and wrap), on
 *             one thread per core at once (and on one core alone, printed
 *             beside it);
 *   baseline  a trivial libmicrohttpd handler returning a fixed body, same
 *             thread pool, same load;
 *   cofferd   full handshakes (auth + attest(sample) + resource GET + JWE
 *             decrypt on the client) and bearer-token resource GETs;
 *
 * and prints each result as a fraction of its floor and of the baseline.
 *
 *   bench_kbs [--seconds S] [--connections N] [--threads T] [--libcoffer-client]
 *             [--thread-per-connection]
 *             [--audit-commit-delay US]   (cofferd's audit_commit_delay_us;
 *                                          its default when absent)
 *             [--tmpdir DIR]              (parent of the broker's data
 *                                          directory, default /tmp)
 *             [--paced-rate R]            (the paced phases' rate; default
 *                                          half the bearer capacity)
 *             [--handshakes-only]         (the floors and the handshake phase
 *                                          alone: scripts/ab_handshakes.sh)
 *   bench_kbs --soak SECONDS   (bench/soak.sh: steady RSS, no fd growth,
 *                               zero unexpected errors)
 *   bench_kbs --trivial-server [--threads T]
 *                              (the baseline handler alone on 127.0.0.1,
 *                               "port N" on stdout, until SIGTERM; for
 *                               bench/wrk_p99.sh)
 *
 * cofferd comes from $COFFER_BIN_DIR (default ./bin, then build/bin).
 */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <dlfcn.h>

#include <microhttpd.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "coffer/codec.h"
#include "coffer/evp.h"
#include "coffer/jose.h"
#include "coffer/json.h"
#include "coffer/kbs.h"
#include "jose/jose_internal.h"

#include "bench_util.h"

#define RESP_MAX  (256 * 1024)
#define LAT_MAX   (4u * 1000 * 1000)
#define RES_PATH  "bench/key/k1"
#define RES_VALUE "0123456789abcdef0123456789abcdef"
/* soak: short lifetimes and sweeps so the store reaches a steady size */
#define SOAK_LIFETIME 30

static unsigned g_port;
/* > 0: open-loop pacing, seconds between requests on each connection;
 * latency then counts from the scheduled send time (no coordinated omission) */
static double g_pace;
static atomic_bool g_stop;
static atomic_ulong g_errors;
static char g_err_sample[256];

static void note_error(const char *what)
{
	if (atomic_fetch_add(&g_errors, 1) == 0)
		snprintf(g_err_sample, sizeof(g_err_sample), "%s", what);
}

/* ---- a minimal HTTP/1.1 client over one keep-alive connection ---- */

struct conn {
	int fd;
	char buf[RESP_MAX];
	size_t have;
	int status;
	char *body;
	size_t body_len;
	bool closing; /* the response said Connection: close */
	char cookie[80];
};

static int conn_open(struct conn *c)
{
	struct sockaddr_in a;
	int one = 1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)g_port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->have = 0;
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->have = 0;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* a non-blocking socket (--event-loop) with a full buffer */
			struct pollfd pf = { .fd = fd, .events = POLLOUT };
			if (poll(&pf, 1, 1000) == 1)
				continue;
			return -1;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static const char *find_header(const char *hdrs, size_t n, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = hdrs; p && p < hdrs + n;) {
		const char *eol = memchr(p, '\n', (size_t)(hdrs + n - p));
		if (eol == NULL)
			break;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			p += nl + 1;
			while (*p == ' ')
				p++;
			return p;
		}
		p = eol + 1;
	}
	return NULL;
}

/* The request line and headers in out[size], followed by the body when it
 * fits (*with_body says whether it did): the length written, or 0 when out
 * is too small for the head. */
static size_t format_request(char *out, size_t size, const char *method, const char *path,
                             const char *extra, const char *body, size_t len, bool *with_body)
{
	int hn = snprintf(out, size,
	                  "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: %zu\r\n\r\n",
	                  method, path, extra ? extra : "", len);

	*with_body = false;
	if (hn < 0 || (size_t)hn >= size)
		return 0;
	if ((size_t)hn + len < size) {
		if (len)
			memcpy(out + hn, body, len);
		*with_body = true;
		return (size_t)hn + len;
	}
	return (size_t)hn;
}

/* Whether c->buf[0..have) holds a whole response: 1 when it does (status,
 * body and cookie are set; the body is valid until the next request), 0 when
 * more is to come, -1 when it cannot fit. */
/* A Content-Length value (digits up to the line's end) below `room`: the
 * length, or -1. Absent: 0. */
static long content_length(const char *v, size_t room)
{
	size_t n = 0;
	const char *p = v;

	if (v == NULL)
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (size_t)(*p - '0');
		if (n >= room)
			return -1;
	}
	return p == v || (*p != '\r' && *p != '\n') ? -1 : (long)n;
}

static int parse_response(struct conn *c)
{
	char *e = c->have >= 4 ? memmem(c->buf, c->have, "\r\n\r\n", 4) : NULL;
	size_t hdr_end, clen;
	long cl;
	const char *v;

	if (e == NULL)
		return c->have >= sizeof(c->buf) - 1 ? -1 : 0;
	hdr_end = (size_t)(e - c->buf) + 4;
	/* a status line, then the body's length, which must fit with the head */
	if (hdr_end < sizeof("HTTP/1.1 200\r\n\r\n") - 1 || memcmp(c->buf, "HTTP/1.", 7) != 0)
		return -1;
	v = find_header(c->buf, hdr_end, "Content-Length");
	if ((cl = content_length(v, sizeof(c->buf) - hdr_end)) < 0)
		return -1;
	clen = (size_t)cl;
	if (c->have < hdr_end + clen)
		return 0;
	c->buf[hdr_end + clen] = '\0';
	c->status = (int)strtol(c->buf + 9, NULL, 10);
	c->body = c->buf + hdr_end;
	c->body_len = clen;
	v = find_header(c->buf, hdr_end, "Set-Cookie");
	if (v && strncmp(v, COFFER_KBS_COOKIE "=", sizeof(COFFER_KBS_COOKIE)) == 0) {
		const char *end = strchr(v, ';');
		size_t n = end ? (size_t)(end - v) : strcspn(v, "\r\n");
		if (n < sizeof(c->cookie)) {
			memcpy(c->cookie, v, n);
			c->cookie[n] = '\0';
		}
	}
	v = find_header(c->buf, hdr_end, "Connection");
	c->closing = v && strncasecmp(v, "close", 5) == 0;
	return 1;
}

/* One request; the response body is at c->body (valid until the next). */
static int request(struct conn *c, const char *method, const char *path, const char *extra,
                   const char *body, size_t len)
{
	char head[8192];
	size_t hn;
	bool with_body;
	int done;

	if (c->fd < 0 && conn_open(c) < 0)
		return -1;
	/* the request line and headers go out with the body in one write */
	hn = format_request(head, sizeof(head), method, path, extra, body, len, &with_body);
	if (hn == 0 || send_all(c->fd, head, hn) < 0 ||
	    (!with_body && len && send_all(c->fd, body, len) < 0))
		goto fail;
	c->have = 0;
	while ((done = parse_response(c)) == 0) {
		ssize_t r = recv(c->fd, c->buf + c->have, sizeof(c->buf) - 1 - c->have, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto fail;
		c->have += (size_t)r;
	}
	if (done < 0)
		goto fail;
	if (c->closing)
		conn_close(c);
	return 0;
fail:
	conn_close(c);
	return -1;
}

/* ---- the lean guest: raw EVP for the TEE key and the JWE, so that the
 * load generator spends as little of the shared CPU as it can. The key
 * check is the on-curve check EVP_PKEY_fromdata does; the plaintext is
 * compared with the stored value on every decryption. ---- */

static bool g_libcoffer_client;

/* This thread's P-256 parameters key, made once: keys generated from it or
 * copied from it skip the curve set-up that OpenSSL 3.0 repeats (about
 * 15 us) for every key made from the group's name. The floors and the lean
 * guest use it; NULL on failure. */
static __thread EVP_PKEY *t_p256_params;

static EVP_PKEY *p256_params(void)
{
	OSSL_PARAM params[2];
	EVP_PKEY_CTX *c;

	if (t_p256_params != NULL)
		return t_p256_params;
	params[0] = OSSL_PARAM_construct_utf8_string("group", (char *)"P-256", 0);
	params[1] = OSSL_PARAM_construct_end();
	c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (c == NULL || EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, &t_p256_params, EVP_PKEY_KEY_PARAMETERS, params) != 1)
		t_p256_params = NULL;
	EVP_PKEY_CTX_free(c);
	return t_p256_params;
}

static EVP_PKEY_CTX *p256_keygen_ctx(void)
{
	EVP_PKEY *tmpl = p256_params();
	EVP_PKEY_CTX *kg = tmpl ? EVP_PKEY_CTX_new_from_pkey(NULL, tmpl, NULL) : NULL;

	if (kg != NULL && EVP_PKEY_keygen_init(kg) != 1) {
		EVP_PKEY_CTX_free(kg);
		kg = NULL;
	}
	return kg;
}

/* The lean guest's P-256 arithmetic goes through EC_POINT on one group per
 * thread, below the EVP layer: a key pair, a point import and an ECDH cost
 * 11, 0.6 and 43.7 us there against 15, 3.7-4.2 and 47 us through EVP
 * (single thread, this machine). The broker keeps EVP. */
static __thread EC_GROUP *t_group;
static __thread BN_CTX *t_bn;

static bool lean_ec(void)
{
	if (t_group == NULL)
		t_group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	if (t_bn == NULL)
		t_bn = BN_CTX_new();
	return t_group != NULL && t_bn != NULL;
}

/* What a load thread kept for the lean guest; called as the thread ends. */
static void lean_thread_done(void)
{
	EC_GROUP_free(t_group);
	t_group = NULL;
	BN_CTX_free(t_bn);
	t_bn = NULL;
	EVP_PKEY_free(t_p256_params);
	t_p256_params = NULL;
}

/* The string value of the first "name":"..." member in text[0..len): the
 * lean guest reads the broker's answers with this instead of a JSON parser
 * (the interop tests check those answers in full; a value this misreads
 * fails the handshake, since it is then used). Values with escapes are
 * refused. */
static const char *json_str_field(const char *text, size_t len, const char *name, size_t *vlen)
{
	char pat[32];
	int pn = snprintf(pat, sizeof(pat), "\"%s\":\"", name);
	const char *v, *e;

	if (pn < 0 || (size_t)pn >= sizeof(pat) || (v = memmem(text, len, pat, (size_t)pn)) == NULL)
		return NULL;
	v += pn;
	if ((e = memchr(v, '"', (size_t)(text + len - v))) == NULL ||
	    memchr(v, '\\', (size_t)(e - v)))
		return NULL;
	*vlen = (size_t)(e - v);
	return v;
}

/* base64 of in[0..n) by libcoffer's encoder into out[0..size): the
 * length, or -1 when it does not fit. */
static long b64_put(char *out, size_t size, const uint8_t *in, size_t n, coffer_b64 variant)
{
	char *t = NULL;
	size_t len = 0;
	long ret = -1;

	if (coffer_base64_encode(&t, &len, in, n, variant) == 0 && len < size) {
		memcpy(out, t, len + 1);
		ret = (long)len;
	}
	free(t);
	return ret;
}

/* base64url without padding of in[0..n), decoded by libcoffer's decoder into
 * out[0..size): the length, or -1 when it is not that or does not fit. */
static long b64url_get(uint8_t *out, size_t size, const char *in, size_t n)
{
	uint8_t *t = NULL;
	size_t len = 0;
	long ret = -1;

	if (coffer_base64_decode(&t, &len, in, n, COFFER_B64_URL_NOPAD) == 0 && len <= size) {
		memcpy(out, t, len);
		ret = (long)len;
	}
	free(t);
	return ret;
}

/* A fresh TEE key (its secret scalar) and its public coordinates,
 * base64url. */
static int lean_keygen(BIGNUM **key, char x[48], char y[48])
{
	BIGNUM *d = BN_secure_new();
	EC_POINT *p = NULL;
	uint8_t pt[65];
	int ret = -1;

	*key = NULL;
	if (d == NULL || !lean_ec() || (p = EC_POINT_new(t_group)) == NULL)
		goto out;
	do {
		if (BN_priv_rand_range_ex(d, EC_GROUP_get0_order(t_group), 0, t_bn) != 1)
			goto out;
	} while (BN_is_zero(d));
	if (EC_POINT_mul(t_group, p, d, NULL, NULL, t_bn) != 1 ||
	    EC_POINT_point2oct(t_group, p, POINT_CONVERSION_UNCOMPRESSED, pt, sizeof(pt), t_bn) !=
	            sizeof(pt))
		goto out;
	if (b64_put(x, 48, pt + 1, 32, COFFER_B64_URL_NOPAD) < 0 ||
	    b64_put(y, 48, pt + 33, 32, COFFER_B64_URL_NOPAD) < 0)
		goto out;
	*key = d;
	d = NULL;
	ret = 0;
out:
	BN_clear_free(d);
	EC_POINT_free(p);
	return ret;
}

/* ECDH: the x coordinate of priv times the point pt (which must be on the
 * curve: EC_POINT_oct2point checks it). */
static int lean_ecdh(uint8_t z[32], const BIGNUM *priv, const uint8_t pt[65])
{
	EC_POINT *q = NULL, *r = NULL;
	BIGNUM *x = BN_new();
	int ret = -1;

	if (x != NULL && lean_ec() && (q = EC_POINT_new(t_group)) != NULL &&
	    (r = EC_POINT_new(t_group)) != NULL &&
	    EC_POINT_oct2point(t_group, q, pt, 65, t_bn) == 1 &&
	    EC_POINT_mul(t_group, r, NULL, q, priv, t_bn) == 1 &&
	    EC_POINT_get_affine_coordinates(t_group, r, x, NULL, t_bn) == 1 &&
	    BN_bn2binpad(x, z, 32) == 32)
		ret = 0;
	BN_clear_free(x);
	EC_POINT_free(q);
	EC_POINT_clear_free(r);
	return ret;
}

/* The flattened JWE in body: its members, decoded. */
struct lean_jwe {
	const char *prot; /* the protected header as sent: the GCM AAD */
	size_t prot_len;
	uint8_t hdr[512], ek[40], iv[12], ct[256], tag[16], epk[65];
	long ct_len;
};

static int lean_jwe_parse(struct lean_jwe *j, const char *body, size_t len)
{
	const char *v, *epk;
	size_t vl, hl;
	long n;

	if ((j->prot = json_str_field(body, len, "protected", &j->prot_len)) == NULL ||
	    (n = b64url_get(j->hdr, sizeof(j->hdr), j->prot, j->prot_len)) < 0)
		return -1;
	hl = (size_t)n;
	/* the header's "epk" holds the broker's ephemeral P-256 point */
	if ((epk = memmem(j->hdr, hl, "\"epk\":{", 7)) == NULL)
		return -1;
	hl -= (size_t)(epk - (const char *)j->hdr);
	j->epk[0] = 4;
	if ((v = json_str_field(epk, hl, "x", &vl)) == NULL ||
	    b64url_get(j->epk + 1, 32, v, vl) != 32 ||
	    (v = json_str_field(epk, hl, "y", &vl)) == NULL ||
	    b64url_get(j->epk + 33, 32, v, vl) != 32 ||
	    (v = json_str_field(body, len, "encrypted_key", &vl)) == NULL ||
	    b64url_get(j->ek, sizeof(j->ek), v, vl) != 40 ||
	    (v = json_str_field(body, len, "iv", &vl)) == NULL ||
	    b64url_get(j->iv, sizeof(j->iv), v, vl) != 12 ||
	    (v = json_str_field(body, len, "ciphertext", &vl)) == NULL ||
	    (j->ct_len = b64url_get(j->ct, sizeof(j->ct), v, vl)) < 0 ||
	    (v = json_str_field(body, len, "tag", &vl)) == NULL ||
	    b64url_get(j->tag, sizeof(j->tag), v, vl) != 16)
		return -1;
	return 0;
}

static int lean_decrypt(uint8_t *out, size_t *out_len, const char *body, size_t len,
                        const BIGNUM *priv)
{
	struct lean_jwe j;
	uint8_t z[32], kek[32], cek[32];
	EVP_CIPHER_CTX *cc = NULL;
	size_t cl = 0;
	int n1 = 0, n2 = 0, ret = -1;

	if (lean_jwe_parse(&j, body, len) < 0 || (size_t)j.ct_len > *out_len)
		goto out;
	/* ECDH, then libcoffer's Concat KDF (RFC 7518 section 4.6.2) */
	if (lean_ecdh(z, priv, j.epk) < 0 ||
	    jose_concat_kdf(kek, sizeof(kek), z, sizeof(z), "ECDH-ES+A256KW", NULL, 0, NULL, 0) < 0)
		goto out;
	/* libcoffer's RFC 3394 unwrap: OpenSSL 3.0's AES-WRAP cipher runs
	 * table-based AES, 2.3 us slower (jwe_crypto.c) */
	if (jose_aes_kw(cek, &cl, kek, sizeof(kek), j.ek, sizeof(j.ek), false) < 0 || cl != 32)
		goto out;
	cc = EVP_CIPHER_CTX_new();
	if (cc == NULL || EVP_DecryptInit_ex(cc, coffer_aes256gcm(), NULL, cek, j.iv) != 1 ||
	    EVP_DecryptUpdate(cc, NULL, &n1, (const uint8_t *)j.prot, (int)j.prot_len) != 1 ||
	    EVP_DecryptUpdate(cc, out, &n1, j.ct, (int)j.ct_len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_GCM_SET_TAG, 16, j.tag) != 1 ||
	    EVP_DecryptFinal_ex(cc, out + n1, &n2) != 1)
		goto out;
	*out_len = (size_t)(n1 + n2);
	ret = 0;
out:
	EVP_CIPHER_CTX_free(cc);
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(cek, sizeof(cek));
	return ret;
}

/* ---- the guest side of one handshake ---- */

struct session {
	coffer_jwk *tee_key; /* --libcoffer-client */
	BIGNUM *lean_key;    /* the lean client's secret scalar */
	char cookie_hdr[128];
	char *token;
	double issued; /* when the token was obtained (monotonic seconds) */
};

static void session_clear(struct session *s)
{
	coffer_jwk_free(s->tee_key);
	BN_clear_free(s->lean_key);
	free(s->token);
	memset(s, 0, sizeof(*s));
}

static const char auth_body[] = "{\"version\":\"0.4.0\",\"tee\":\"sample\",\"extra-params\":"
                                "{\"supported-hash-algorithms\":[\"sha384\"]}}";
#define AUTH_HDRS "Content-Type: application/json\r\n"

/* The lean guest's attest body: the runtime data's JCS form is written out
 * directly (its members and the JWK's in code-point order, values that need
 * no escaping), hashed with SHA-384 for report_data. */
static int lean_attest_body(struct session *s, const char *nonce, size_t nl, char **text,
                            size_t *tl)
{
	char x[48], y[48], rt[512], rd_b64[96], *body;
	uint8_t rd[48];
	unsigned int rdl = 0;
	int rn, bn;

	if (lean_keygen(&s->lean_key, x, y) < 0)
		return -1;
	rn = snprintf(
	        rt, sizeof(rt),
	        "{\"additional-evidence\":\"\",\"nonce\":\"%.*s\",\"tee-pubkey\":{\"alg\":"
	        "\"ECDH-ES+A256KW\",\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}}",
	        (int)nl, nonce, x, y);
	if (rn < 0 || (size_t)rn >= sizeof(rt) ||
	    EVP_Digest(rt, (size_t)rn, rd, &rdl, coffer_sha384(), NULL) != 1 || rdl != sizeof(rd) ||
	    b64_put(rd_b64, sizeof(rd_b64), rd, rdl, COFFER_B64_STD) < 0)
		return -1;
	bn = asprintf(
	        &body,
	        "{\"runtime-data\":{\"nonce\":\"%.*s\",\"tee-pubkey\":{\"kty\":\"EC\",\"crv\":"
	        "\"P-256\",\"alg\":\"ECDH-ES+A256KW\",\"x\":\"%s\",\"y\":\"%s\"}},"
	        "\"tee-evidence\":{\"primary_evidence\":{\"svn\":\"1\",\"report_data\":\"%s\"},"
	        "\"additional_evidence\":\"\"}}",
	        (int)nl, nonce, x, y, rd_b64);
	if (bn < 0)
		return -1;
	*text = body;
	*tl = (size_t)bn;
	return 0;
}

/* After the auth answer in c: the session's cookie header, and in *text the
 * attest body with a fresh TEE key bound to the nonce and sample evidence. */
static int hs_attest_body(struct conn *c, struct session *s, char **text, size_t *tl)
{
	json_t *j = NULL, *pub = NULL, *body = NULL;
	const char *nonce;
	uint8_t rd[COFFER_KBS_DIGEST_MAX];
	size_t rdl = 0, nl = 0;
	char *rd_b64 = NULL;
	int ret = -1;

	*text = NULL;
	if (c->status != 200 || c->cookie[0] == '\0') {
		note_error("auth failed");
		return -1;
	}
	snprintf(s->cookie_hdr, sizeof(s->cookie_hdr), "Cookie: %s\r\n", c->cookie);
	if (!g_libcoffer_client) {
		/* the broker's answers are checked by the interop tests, not here */
		if ((nonce = json_str_field(c->body, c->body_len, "nonce", &nl)) == NULL ||
		    nl > 64) {
			note_error("auth: no nonce");
			return -1;
		}
		if (lean_attest_body(s, nonce, nl, text, tl) < 0) {
			note_error("client crypto failed");
			return -1;
		}
		return 0;
	}
	if ((j = json_loadb(c->body, c->body_len, 0, NULL)) == NULL ||
	    (nonce = json_string_value(json_object_get(j, "nonce"))) == NULL) {
		note_error("auth: no nonce");
		goto out;
	}
	if (coffer_jwk_generate(&s->tee_key, "EC", "P-256", 0) < 0 ||
	    coffer_jwk_set_alg(s->tee_key, "ECDH-ES+A256KW") < 0 ||
	    coffer_jwk_to_json(&pub, s->tee_key, false) < 0 ||
	    coffer_kbs_binding_digest(rd, &rdl, COFFER_KBS_SHA384, nonce, pub, "") < 0 ||
	    coffer_base64_encode(&rd_b64, NULL, rd, rdl, COFFER_B64_STD) < 0) {
		note_error("client crypto failed");
		goto out;
	}
	body = json_pack("{s:{s:s,s:O},s:{s:{s:s,s:s},s:s}}", "runtime-data", "nonce", nonce,
	                 "tee-pubkey", pub, "tee-evidence", "primary_evidence", "svn", "1",
	                 "report_data", rd_b64, "additional_evidence", "");
	if (body == NULL || coffer_json_dump(text, tl, body) < 0) {
		note_error("attest body");
		goto out;
	}
	ret = 0;
out:
	free(rd_b64);
	json_decref(body);
	json_decref(pub);
	json_decref(j);
	return ret;
}

/* After the attest answer in c: the session's token. */
static int hs_token(struct conn *c, struct session *s)
{
	const char *t;
	size_t tl = 0;

	if (c->status != 200) {
		note_error("attest failed");
		return -1;
	}
	if ((t = json_str_field(c->body, c->body_len, "token", &tl)) == NULL || tl == 0) {
		note_error("attest: no token");
		return -1;
	}
	s->token = strndup(t, tl);
	s->issued = now_s();
	return s->token ? 0 : -1;
}

static int handshake(struct conn *c, struct session *s)
{
	char hdrs[256], *text = NULL;
	size_t tl = 0;
	int ret = -1;

	session_clear(s);
	c->cookie[0] = '\0';
	if (request(c, "POST", "/kbs/v0/auth", AUTH_HDRS, auth_body, sizeof(auth_body) - 1) < 0) {
		note_error("auth failed");
		return -1;
	}
	if (hs_attest_body(c, s, &text, &tl) < 0)
		return -1;
	snprintf(hdrs, sizeof(hdrs), AUTH_HDRS "%s", s->cookie_hdr);
	if (request(c, "POST", "/kbs/v0/attest", hdrs, text, tl) < 0)
		note_error("attest failed");
	else
		ret = hs_token(c, s);
	free(text);
	return ret;
}

static void resource_hdr(char *hdr, size_t size, const struct session *s, bool bearer)
{
	if (bearer)
		snprintf(hdr, size, "Authorization: Bearer %s\r\n", s->token);
	else
		snprintf(hdr, size, "%s", s->cookie_hdr);
}

/* After a resource answer in c: its status, and the plaintext when `decrypt`. */
static int check_resource(struct conn *c, struct session *s, bool decrypt)
{
	coffer_secret v = COFFER_SECRET_INIT;
	int ret = 0;

	if (c->status != 200) {
		note_error("resource GET failed");
		return -1;
	}
	if (!decrypt)
		return 0;
	if (!g_libcoffer_client) {
		uint8_t pt[256];
		size_t pl = sizeof(pt);
		if (lean_decrypt(pt, &pl, c->body, c->body_len, s->lean_key) < 0 ||
		    pl != strlen(RES_VALUE) || memcmp(pt, RES_VALUE, pl) != 0) {
			note_error("JWE decrypt failed");
			ret = -1;
		}
		return ret;
	}
	if (coffer_jwe_decrypt(&v, c->body, c->body_len, s->tee_key, NULL) < 0 ||
	    v.len != strlen(RES_VALUE) || memcmp(v.ptr, RES_VALUE, v.len) != 0) {
		note_error("JWE decrypt failed");
		ret = -1;
	}
	coffer_secret_free(&v);
	return ret;
}

static int fetch_and_check(struct conn *c, struct session *s, bool bearer, bool decrypt)
{
	char hdr[4096];

	resource_hdr(hdr, sizeof(hdr), s, bearer);
	if (request(c, "GET", "/kbs/v0/resource/" RES_PATH, hdr, NULL, 0) < 0) {
		note_error("resource GET failed");
		return -1;
	}
	return check_resource(c, s, decrypt);
}

/* ---- load phases ---- */

enum mode { M_TRIVIAL, M_HANDSHAKE, M_BEARER, M_SOAK };

struct worker {
	pthread_t th;
	enum mode mode;
	unsigned id;
	uint32_t *lat; /* microseconds */
	size_t nlat, cap;
	unsigned long ops;
	double t_start, t_end;
	atomic_bool *measuring;
	unsigned nev; /* --event-loop: the connections this thread drives */
};

static void record(struct worker *w, double t0)
{
	double us = (now_s() - t0) * 1e6;

	if (!atomic_load(w->measuring))
		return;
	w->ops++;
	if (w->nlat < w->cap)
		w->lat[w->nlat++] = us > 4e9 ? 4000000000u : (uint32_t)us;
}

static int admin_put(const char *data_dir, const char *path, const char *value);

/* ---- the event-loop generator, wrk's model and the default for the closed
 * loop: one thread per core, each driving its share of the connections
 * through epoll. Latency counts from an operation's first request to its
 * last answer, as in the thread-per-connection generator (worker_main),
 * which --thread-per-connection selects and which the paced phases and the
 * soak always use. ---- */

static bool g_event_loop = true;
static long g_cores = 1;

struct evconn {
	struct conn c;
	struct session s;
	int step; /* a handshake's request in flight: 0 auth, 1 attest, 2 resource */
	double t0;
};

static int ev_send(struct evconn *e, const char *method, const char *path, const char *extra,
                   const char *body, size_t len)
{
	char out[8192];
	bool with_body;
	size_t n = format_request(out, sizeof(out), method, path, extra, body, len, &with_body);

	/* every request of the bench fits: one send, nothing left over */
	if (n == 0 || !with_body)
		return -1;
	e->c.have = 0;
	return send_all(e->c.fd, out, n);
}

static int ev_start(struct evconn *e, enum mode m)
{
	char hdr[4096];

	e->t0 = now_s();
	switch (m) {
	case M_TRIVIAL:
		return ev_send(e, "GET", "/", NULL, NULL, 0);
	case M_BEARER:
		resource_hdr(hdr, sizeof(hdr), &e->s, true);
		return ev_send(e, "GET", "/kbs/v0/resource/" RES_PATH, hdr, NULL, 0);
	default:
		session_clear(&e->s);
		e->c.cookie[0] = '\0';
		e->step = 0;
		return ev_send(e, "POST", "/kbs/v0/auth", AUTH_HDRS, auth_body,
		               sizeof(auth_body) - 1);
	}
}

/* A whole answer is in e->c: check it, then send the operation's next
 * request, or record the operation and start the next one. An answer that
 * fails its check ends the operation, as in worker_main. */
static int ev_answer(struct worker *w, struct evconn *e)
{
	char hdrs[4096], *text = NULL;
	size_t tl = 0;
	int ret;

	switch (w->mode) {
	case M_TRIVIAL:
		if (e->c.status != 200)
			note_error("trivial GET failed");
		break;
	case M_BEARER:
		check_resource(&e->c, &e->s, false);
		break;
	default:
		if (e->step == 0) {
			if (hs_attest_body(&e->c, &e->s, &text, &tl) < 0)
				break;
			snprintf(hdrs, sizeof(hdrs), AUTH_HDRS "%s", e->s.cookie_hdr);
			e->step = 1;
			ret = ev_send(e, "POST", "/kbs/v0/attest", hdrs, text, tl);
			free(text);
			return ret;
		}
		if (e->step == 1) {
			if (hs_token(&e->c, &e->s) < 0)
				break;
			e->step = 2;
			resource_hdr(hdrs, sizeof(hdrs), &e->s, false);
			return ev_send(e, "GET", "/kbs/v0/resource/" RES_PATH, hdrs, NULL, 0);
		}
		check_resource(&e->c, &e->s, true);
		break;
	}
	record(w, e->t0);
	return ev_start(e, w->mode);
}

static int ev_attach(struct evconn *e, int ep)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = e };

	if (e->c.fd < 0 && conn_open(&e->c) < 0)
		return -1;
	if (fcntl(e->c.fd, F_SETFL, fcntl(e->c.fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, e->c.fd, &ev) < 0) {
		conn_close(&e->c);
		return -1;
	}
	return 0;
}

static void ev_readable(struct worker *w, struct evconn *e, int ep)
{
	for (;;) {
		ssize_t r =
		        recv(e->c.fd, e->c.buf + e->c.have, sizeof(e->c.buf) - 1 - e->c.have, 0);
		int done;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0)
			break;
		e->c.have += (size_t)r;
		done = parse_response(&e->c);
		if (done == 0)
			continue;
		/* cofferd keeps connections open; a close is counted as an error */
		if (done < 0 || e->c.closing || ev_answer(w, e) < 0)
			break;
		return;
	}
	note_error("connection lost");
	epoll_ctl(ep, EPOLL_CTL_DEL, e->c.fd, NULL);
	conn_close(&e->c);
	/* a new connection goes on with a new operation; one that cannot be
	 * had leaves this connection out */
	if (ev_attach(e, ep) == 0 && ev_start(e, w->mode) < 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, e->c.fd, NULL);
		conn_close(&e->c);
	}
}

static void *ev_main(void *arg)
{
	struct worker *w = arg;
	struct evconn *e = calloc(w->nev, sizeof(*e));
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (e == NULL || ep < 0) {
		note_error("event loop set-up failed");
		goto out;
	}
	for (unsigned i = 0; i < w->nev; i++) {
		e[i].c.fd = -1;
		/* a bearer phase's connections attest first, blocking */
		if ((w->mode == M_BEARER && handshake(&e[i].c, &e[i].s) < 0) ||
		    ev_attach(&e[i], ep) < 0 || ev_start(&e[i], w->mode) < 0) {
			note_error("connection set-up failed");
			conn_close(&e[i].c);
		}
	}
	while (!atomic_load(&g_stop)) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, 50);
		for (int k = 0; k < n; k++)
			ev_readable(w, evs[k].data.ptr, ep);
	}
out:
	for (unsigned i = 0; e && i < w->nev; i++) {
		session_clear(&e[i].s);
		conn_close(&e[i].c);
	}
	free(e);
	if (ep >= 0)
		close(ep);
	lean_thread_done();
	return NULL;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct conn *c = calloc(1, sizeof(*c));
	struct session s;
	unsigned long n = 0;

	memset(&s, 0, sizeof(s));
	c->fd = -1;
	if (w->mode == M_BEARER && handshake(c, &s) < 0)
		goto out;
	double next = now_s() + (g_pace > 0 ? g_pace * (double)w->id / 64.0 : 0);

	while (!atomic_load(&g_stop)) {
		double t0 = now_s();
		if (g_pace > 0) {
			if (next > t0) {
				double d = next - t0;
				struct timespec ts = { (time_t)d,
					               (long)((d - (double)(time_t)d) * 1e9) };
				nanosleep(&ts, NULL);
			}
			t0 = next;
			next += g_pace;
		}
		n++;
		switch (w->mode) {
		case M_TRIVIAL:
			if (request(c, "GET", "/", NULL, NULL, 0) < 0 || c->status != 200)
				note_error("trivial GET failed");
			break;
		case M_HANDSHAKE:
			if (handshake(c, &s) == 0)
				fetch_and_check(c, &s, false, true);
			break;
		case M_BEARER:
			fetch_and_check(c, &s, true, false);
			break;
		case M_SOAK:
			/* a mix: handshakes, bearer GETs with a check now and then;
			 * a new handshake well before the token's exp (soak tokens
			 * live SOAK_LIFETIME seconds) */
			if (s.token == NULL || n % 200 == 0 ||
			    now_s() - s.issued > SOAK_LIFETIME / 2) {
				if (handshake(c, &s) == 0)
					fetch_and_check(c, &s, false, true);
			} else {
				fetch_and_check(c, &s, true, n % 50 == 0);
			}
			break;
		}
		record(w, t0);
	}
out:
	session_clear(&s);
	conn_close(c);
	free(c);
	lean_thread_done();
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct result {
	double rate;
	double p50_ms, p99_ms;
	unsigned long ops;
	double server_us, client_us; /* CPU per operation: broker process, this process */
};

static pid_t g_child = -1;

/* CPU seconds (user + system) of a process. */
static double proc_cpu(pid_t pid)
{
	char p[64], buf[1024];
	unsigned long ut = 0, st = 0;
	char *c;
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	f = fopen(p, "r");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* fields 14 and 15 (utime, stime) follow the ")" of the command name */
	c = strrchr(buf, ')');
	if (c == NULL)
		return 0;
	c += 2;
	for (int field = 3; field < 14 && c; field++) {
		c = strchr(c, ' ');
		if (c)
			c++;
	}
	if (c == NULL)
		return 0;
	ut = strtoul(c, &c, 10);
	st = strtoul(c, NULL, 10);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static struct result run_phase(enum mode m, unsigned nconn, double seconds, double warmup)
{
	struct worker *w = calloc(nconn, sizeof(*w));
	atomic_bool measuring = false;
	struct result r = { 0 };
	uint32_t *all;
	size_t total = 0, per;
	double t0;

	bool ev = g_event_loop && g_pace == 0 && m != M_SOAK;
	unsigned nthreads = ev ? (unsigned)(g_cores < (long)nconn ? g_cores : (long)nconn) : nconn;

	atomic_store(&g_stop, false);
	per = LAT_MAX / nthreads;
	for (unsigned i = 0; i < nthreads; i++) {
		w[i].mode = m;
		w[i].id = i;
		w[i].cap = per;
		w[i].lat = malloc(per * sizeof(uint32_t));
		w[i].measuring = &measuring;
		w[i].nev = nconn / nthreads + (i < nconn % nthreads);
		pthread_create(&w[i].th, NULL, ev ? ev_main : worker_main, &w[i]);
	}
	{
		struct timespec ts = { (time_t)warmup,
			               (long)((warmup - (double)(time_t)warmup) * 1e9) };
		nanosleep(&ts, NULL);
	}
	atomic_store(&measuring, true);
	t0 = now_s();
	double srv0 = g_child > 0 ? proc_cpu(g_child) : 0, cli0 = proc_cpu(getpid());
	{
		struct timespec ts = { (time_t)seconds,
			               (long)((seconds - (double)(time_t)seconds) * 1e9) };
		nanosleep(&ts, NULL);
	}
	atomic_store(&measuring, false);
	{
		double srv1 = g_child > 0 ? proc_cpu(g_child) : 0, cli1 = proc_cpu(getpid());
		r.server_us = srv1 - srv0;
		r.client_us = cli1 - cli0;
	}
	r.rate = 0;
	{
		double dt = now_s() - t0;
		atomic_store(&g_stop, true);
		for (unsigned i = 0; i < nthreads; i++) {
			pthread_join(w[i].th, NULL);
			r.ops += w[i].ops;
			total += w[i].nlat;
		}
		r.rate = (double)r.ops / dt;
		if (r.ops) {
			r.server_us = r.server_us * 1e6 / (double)r.ops;
			r.client_us = r.client_us * 1e6 / (double)r.ops;
		}
	}
	all = malloc((total ? total : 1) * sizeof(uint32_t));
	total = 0;
	for (unsigned i = 0; i < nthreads; i++) {
		memcpy(all + total, w[i].lat, w[i].nlat * sizeof(uint32_t));
		total += w[i].nlat;
		free(w[i].lat);
	}
	if (total) {
		qsort(all, total, sizeof(uint32_t), cmp_u32);
		r.p50_ms = all[total / 2] / 1000.0;
		r.p99_ms = all[(size_t)((double)total * 0.99)] / 1000.0;
	}
	free(all);
	free(w);
	return r;
}

/* ---- the crypto floor: raw OpenSSL EVP, keys and contexts prepared once ---- */

static EVP_PKEY *p256_key(void)
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

	if (c == NULL || EVP_PKEY_keygen_init(c) != 1 ||
	    EVP_PKEY_CTX_set_group_name(c, "P-256") != 1 || EVP_PKEY_keygen(c, &k) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(c);
	return k;
}

static void ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t z[32])
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(priv, NULL);
	size_t zl = 32;

	EVP_PKEY_derive_init(c);
	EVP_PKEY_derive_set_peer_ex(c, peer, 0); /* validated once on import */
	EVP_PKEY_derive(c, z, &zl);
	EVP_PKEY_CTX_free(c);
}

static EVP_PKEY *eph_key(EVP_PKEY_CTX *kg)
{
	EVP_PKEY *k = NULL;

	EVP_PKEY_keygen(kg, &k);
	return k;
}

/* One handshake's crypto: ES256 sign, ephemeral P-256 keygen, ECDH on the
 * broker and on the guest, ES256 verify. */
static double floor_handshake_us(double seconds, double *cpu_us)
{
	EVP_PKEY *sig = p256_key(), *tee = p256_key();
	EVP_PKEY_CTX *kg = p256_keygen_ctx();
	uint8_t msg[600], der[80], z[32];
	unsigned long n = 0;
	double t0, dt, c0;

	memset(msg, 'a', sizeof(msg));
	t0 = now_s();
	c0 = cpu_s();
	do {
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		size_t dl = sizeof(der);
		EVP_PKEY *eph;

		EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, sig);
		EVP_DigestSign(m, der, &dl, msg, sizeof(msg));
		EVP_MD_CTX_free(m);
		eph = eph_key(kg);
		ecdh(eph, tee, z);
		ecdh(tee, eph, z);
		EVP_PKEY_free(eph);
		m = EVP_MD_CTX_new();
		EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, sig);
		if (EVP_DigestVerify(m, der, dl, msg, sizeof(msg)) != 1)
			note_error("floor: verify failed");
		EVP_MD_CTX_free(m);
		n++;
	} while ((dt = now_s() - t0) < seconds);
	EVP_PKEY_CTX_free(kg);
	EVP_PKEY_free(sig);
	EVP_PKEY_free(tee);
	*cpu_us = (cpu_s() - c0) * 1e6 / (double)n;
	return dt * 1e6 / (double)n;
}

/* One bearer GET's JWE: ephemeral keygen, ECDH, Concat KDF (SHA-256),
 * AES-256 key wrap of the CEK, AES-256-GCM of the value. */
static double floor_jwe_us(double seconds, double *cpu_us)
{
	EVP_PKEY *tee = p256_key();
	EVP_PKEY_CTX *kg = p256_keygen_ctx();
	uint8_t z[32], kek[32], cek[32], wrapped[40], iv[12], ct[64], tag[16];
	unsigned long n = 0;
	double t0, dt, c0;

	t0 = now_s();
	c0 = cpu_s();
	do {
		EVP_PKEY *eph = eph_key(kg);
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
		static const uint8_t alg[] = "\0\0\0\x0e"
		                             "ECDH-ES+A256KW";
		uint8_t ctr[4] = { 0, 0, 0, 1 }, zero[4] = { 0 }, bits[4] = { 0, 0, 1, 0 };
		unsigned int kl = 0;
		int outl = 0;

		ecdh(eph, tee, z);
		EVP_DigestInit_ex(m, EVP_sha256(), NULL);
		EVP_DigestUpdate(m, ctr, 4);
		EVP_DigestUpdate(m, z, 32);
		EVP_DigestUpdate(m, alg, sizeof(alg) - 1);
		EVP_DigestUpdate(m, zero, 4);
		EVP_DigestUpdate(m, zero, 4);
		EVP_DigestUpdate(m, bits, 4);
		EVP_DigestFinal_ex(m, kek, &kl);
		RAND_bytes(cek, sizeof(cek));
		RAND_bytes(iv, sizeof(iv));
		EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
		EVP_EncryptInit_ex(c, EVP_aes_256_wrap(), NULL, kek, NULL);
		EVP_EncryptUpdate(c, wrapped, &outl, cek, 32);
		EVP_CIPHER_CTX_reset(c);
		EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, cek, iv);
		EVP_EncryptUpdate(c, NULL, &outl, (const uint8_t *)"eyJhbGciOi", 10);
		EVP_EncryptUpdate(c, ct, &outl, (const uint8_t *)RES_VALUE, 32);
		EVP_EncryptFinal_ex(c, ct + outl, &outl);
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
		EVP_CIPHER_CTX_free(c);
		EVP_MD_CTX_free(m);
		EVP_PKEY_free(eph);
		n++;
	} while ((dt = now_s() - t0) < seconds);
	EVP_PKEY_CTX_free(kg);
	EVP_PKEY_free(tee);
	*cpu_us = (cpu_s() - c0) * 1e6 / (double)n;
	return dt * 1e6 / (double)n;
}

/* A floor measured on `threads` threads at once (one per core), which is
 * how the load phases run: with every core busy the clock, the caches and
 * the hypervisor's share differ from one core alone (openssl speed -multi 2
 * gave 1.93-1.96x its one-process figures here). Returns the operations per
 * second of all threads together; *cpu_us is the CPU per operation, the
 * mean over the threads. */
struct floor_run {
	double (*fn)(double seconds, double *cpu_us);
	double seconds, us, cpu_us;
	pthread_t th;
};

static void *floor_thread(void *arg)
{
	struct floor_run *f = arg;

	f->us = f->fn(f->seconds, &f->cpu_us);
	return NULL;
}

static double floor_on_cores(double (*fn)(double, double *), double seconds, unsigned threads,
                             double *cpu_us)
{
	struct floor_run f[64];
	double rate = 0, cpu = 0;
	unsigned started = 0;

	if (threads > 64)
		threads = 64;
	for (unsigned i = 0; i < threads; i++) {
		f[i] = (struct floor_run){ .fn = fn, .seconds = seconds };
		if (pthread_create(&f[i].th, NULL, floor_thread, &f[i]) != 0)
			break;
		started++;
	}
	for (unsigned i = 0; i < started; i++) {
		pthread_join(f[i].th, NULL);
		rate += 1e6 / f[i].us;
		cpu += f[i].cpu_us;
	}
	if (started < threads)
		note_error("floor: cannot start its threads");
	*cpu_us = started ? cpu / started : 0;
	return rate;
}

/* ---- the trivial baseline server ----
 * libmicrohttpd is loaded at run time: bench programs link libcoffer's
 * modules only, and the baseline must be the very library cofferd uses. */

static struct {
	struct MHD_Response *(*create)(size_t, void *, enum MHD_ResponseMemoryMode);
	enum MHD_Result (*add_header)(struct MHD_Response *, const char *, const char *);
	enum MHD_Result (*queue)(struct MHD_Connection *, unsigned int, struct MHD_Response *);
	void (*destroy)(struct MHD_Response *);
	struct MHD_Daemon *(*start)(unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *,
	                            MHD_AccessHandlerCallback, void *, ...);
	const union MHD_DaemonInfo *(*info)(struct MHD_Daemon *, enum MHD_DaemonInfoType, ...);
	void (*stop)(struct MHD_Daemon *);
} mhd;

static int load_mhd(void)
{
	void *h = dlopen("libmicrohttpd.so.12", RTLD_NOW);

	if (h == NULL)
		return -1;
	*(void **)&mhd.create = dlsym(h, "MHD_create_response_from_buffer");
	*(void **)&mhd.add_header = dlsym(h, "MHD_add_response_header");
	*(void **)&mhd.queue = dlsym(h, "MHD_queue_response");
	*(void **)&mhd.destroy = dlsym(h, "MHD_destroy_response");
	*(void **)&mhd.start = dlsym(h, "MHD_start_daemon");
	*(void **)&mhd.info = dlsym(h, "MHD_get_daemon_info");
	*(void **)&mhd.stop = dlsym(h, "MHD_stop_daemon");
	return mhd.create && mhd.add_header && mhd.queue && mhd.destroy && mhd.start && mhd.info &&
	                       mhd.stop
	               ? 0
	               : -1;
}

/* 127.0.0.1, a port the kernel picks. */
static const struct sockaddr *loopback_any_port(void)
{
	static struct sockaddr_in a;

	a.sin_family = AF_INET;
	a.sin_port = 0;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return (const struct sockaddr *)&a;
}

static enum MHD_Result trivial(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *up,
                               size_t *up_size, void **con_cls)
{
	static const char body[] = "{\"ok\":true}";
	struct MHD_Response *r;
	enum MHD_Result ret;
	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)up;

	if (*con_cls == NULL) {
		*con_cls = (void *)1;
		return MHD_YES;
	}
	*up_size = 0;
	r = mhd.create(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	mhd.add_header(r, "Content-Type", "application/json");
	ret = mhd.queue(c, 200, r);
	mhd.destroy(r);
	return ret;
}

/* --trivial-server: the baseline handler alone, on a loopback port it prints
 * ("port N"), until SIGINT or SIGTERM; bench/wrk_p99.sh measures it with wrk. */
static int serve_trivial(unsigned threads)
{
	struct MHD_Daemon *d;
	sigset_t set;
	int sig = 0;

	if (load_mhd() < 0) {
		fprintf(stderr, "bench_kbs: cannot load libmicrohttpd.so.12\n");
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* the daemon's threads inherit it */
	d = mhd.start(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, trivial, NULL,
	              MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, 2048,
	              MHD_OPTION_SOCK_ADDR, loopback_any_port(), MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "bench_kbs: cannot start the trivial server\n");
		return 1;
	}
	printf("port %u\n", (unsigned)mhd.info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
	fflush(stdout);
	sigwait(&set, &sig);
	mhd.stop(d);
	return 0;
}

/* ---- cofferd as a child process ---- */

static char g_dir[128];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

/* Stop the broker and remove its directory (the database, the master key
 * and the development admin key); BENCH_KBS_KEEP=1 keeps it for a look. */
static void kill_child(void)
{
	if (g_child > 0) {
		kill(g_child, SIGTERM);
		waitpid(g_child, NULL, 0);
		g_child = -1;
	}
	if (g_dir[0] != '\0' && getenv("BENCH_KBS_KEEP") == NULL) {
		if (nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
			fprintf(stderr, "bench_kbs: cannot remove %s: %s\n", g_dir,
			        strerror(errno));
		g_dir[0] = '\0';
	}
}

static const char *find_cofferd(char *buf, size_t size)
{
	const char *env = getenv("COFFER_BIN_DIR");
	const char *cands[] = { env, "bin", "build/bin", "../bin", NULL };

	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		if (cands[i] == NULL)
			continue;
		snprintf(buf, size, "%s/cofferd", cands[i]);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

/* "audit_commit_delay_us = N\n" from --audit-commit-delay, else the default */
static char g_audit_delay[64];
/* where the broker's data directory goes (--tmpdir; /dev/shm shows what the
 * device's sync costs) */
static const char *g_tmpdir = "/tmp";

static int start_cofferd(unsigned threads, bool soak)
{
	char exe[512], cfg[192], pf[192], data[192], text[1024];
	FILE *f;

	if (find_cofferd(exe, sizeof(exe)) == NULL) {
		fprintf(stderr, "bench_kbs: cofferd not found (set COFFER_BIN_DIR)\n");
		return -1;
	}
	snprintf(g_dir, sizeof(g_dir), "%s/bench-kbs-XXXXXX", g_tmpdir);
	if (mkdtemp(g_dir) == NULL)
		return -1;
	snprintf(cfg, sizeof(cfg), "%s/cofferd.toml", g_dir);
	snprintf(pf, sizeof(pf), "%s/port", g_dir);
	snprintf(data, sizeof(data), "%s/data", g_dir);
	snprintf(text, sizeof(text),
	         "[server]\nlisten = \"127.0.0.1:0\"\nthreads = %u\nmax_connections = 2048\n"
	         "[storage]\ndata_dir = \"%s\"\n[attestation]\nallow_sample = true\n"
	         "token_lifetime = %d\nsession_lifetime = %d\nsweep_interval = %d\n"
	         "[policy]\nresource = \"allow_all\"\nrelease = "
	         "\"allow_all\"\n[admin]\nbootstrap_namespaces = [\"bench\"]\n%s"
	         "[log]\nlevel = \"warn\"\n",
	         threads, data, soak ? SOAK_LIFETIME : 3600, soak ? SOAK_LIFETIME : 3600,
	         soak ? 5 : 60, g_audit_delay);
	f = fopen(cfg, "w");
	if (f == NULL)
		return -1;
	fputs(text, f);
	fclose(f);
	g_child = fork();
	if (g_child == 0) {
		execl(exe, exe, "--dev", "--config", cfg, "--port-file", pf, (char *)NULL);
		_exit(127);
	}
	atexit(kill_child);
	for (int i = 0; i < 500; i++) {
		FILE *p = fopen(pf, "r");
		unsigned port = 0;
		if (p) {
			char line[16] = "";
			if (fgets(line, sizeof(line), p))
				port = (unsigned)strtoul(line, NULL, 10);
			fclose(p);
		}
		if (port) {
			g_port = port;
			return admin_put(data, RES_PATH, RES_VALUE);
		}
		usleep(20000);
	}
	fprintf(stderr, "bench_kbs: cofferd did not start\n");
	return -1;
}

static int admin_put(const char *data_dir, const char *path, const char *value)
{
	char keyp[256], full[512], *tok = NULL, *sub = NULL, *bdh = NULL, hdr[4096];
	coffer_jwk *k = NULL;
	uint8_t md[32];
	unsigned int ml = 0;
	json_t *claims;
	struct conn *c = calloc(1, sizeof(*c));
	int64_t now = (int64_t)time(NULL) - 1;
	int ret = -1;

	c->fd = -1;
	snprintf(keyp, sizeof(keyp), "%s/admin.jwk", data_dir);
	snprintf(full, sizeof(full), "/kbs/v0/resource/%s", path);
	if (coffer_jwk_load(&k, keyp) < 0 || coffer_jwk_thumbprint(&sub, k) < 0)
		goto out;
	EVP_Digest(value, strlen(value), md, &ml, EVP_sha256(), NULL);
	coffer_base64_encode(&bdh, NULL, md, ml, COFFER_B64_URL_NOPAD);
	claims = json_pack("{s:s,s:I,s:I,s:s,s:s,s:s,s:s}", "sub", sub, "iat", (json_int_t)now,
	                   "exp", (json_int_t)(now + 60), "jti", "bench-put", "htm", "POST", "htu",
	                   full, "bdh", bdh);
	if (coffer_jwt_sign(&tok, k, "ES256", NULL, claims) < 0) {
		json_decref(claims);
		goto out;
	}
	json_decref(claims);
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", tok);
	if (request(c, "POST", full, hdr, value, strlen(value)) == 0 && c->status == 200)
		ret = 0;
	else
		fprintf(stderr, "bench_kbs: resource put failed (%d)\n", c->status);
out:
	conn_close(c);
	free(c);
	free(tok);
	free(sub);
	free(bdh);
	coffer_jwk_free(k);
	return ret;
}

/* ---- soak: RSS and fds of cofferd over time ---- */

static long proc_rss_kb(pid_t pid)
{
	char p[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	f = fopen(p, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

static int proc_fds(pid_t pid)
{
	char p[64];
	int n = 0;
	DIR *d;
	struct dirent *e;

	snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
	d = opendir(p);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

struct soak_arg {
	double seconds;
	unsigned nconn;
	struct result r;
};

static void *soak_load(void *arg)
{
	struct soak_arg *a = arg;

	a->r = run_phase(M_SOAK, a->nconn, a->seconds, 0.5);
	return NULL;
}

static int soak(double seconds, unsigned nconn)
{
	struct soak_arg a = { seconds, nconn, { 0 } };
	pthread_t th;
	long rss0 = 0, rss_max = 0, rss_last = 0;
	int fd0 = 0, fd_max = 0, fd_last = 0;
	double t0 = now_s();
	int sample = 0, rc;

	printf("soak: %.0f s, %u connections, mixed handshakes and bearer GETs\n", seconds, nconn);
	pthread_create(&th, NULL, soak_load, &a);
	while (now_s() - t0 < seconds + 0.5) {
		double t;
		sleep(seconds >= 60 ? 10 : 1);
		t = now_s() - t0;
		rss_last = proc_rss_kb(g_child);
		fd_last = proc_fds(g_child);
		/* the reference is taken once the store and the caches have had
		 * a third of the run (several token lifetimes) to fill up */
		if (rss0 == 0 && t >= seconds / 3) {
			rss0 = rss_last;
			fd0 = fd_last;
		}
		if (rss0 && rss_last > rss_max)
			rss_max = rss_last;
		if (rss0 && fd_last > fd_max)
			fd_max = fd_last;
		printf("  t=%4.0fs rss=%ld KiB fds=%d errors=%lu\n", t, rss_last, fd_last,
		       atomic_load(&g_errors));
		fflush(stdout);
		sample++;
	}
	pthread_join(th, NULL);
	printf("soak: %lu ops (%.0f/s); RSS %ld KiB at t=%.0fs (reference), max after it %ld "
	       "KiB (%+.1f%%), %ld KiB at the end; fds %d at the reference, max %d, %d after the "
	       "load; unexpected errors %lu%s%s\n",
	       a.r.ops, a.r.rate, rss0, seconds / 3, rss_max,
	       rss0 ? 100.0 * (double)(rss_max - rss0) / (double)rss0 : 0.0, rss_last, fd0, fd_max,
	       fd_last, atomic_load(&g_errors), atomic_load(&g_errors) ? " first: " : "",
	       atomic_load(&g_errors) ? g_err_sample : "");
	/* steady: RSS within 10% of the reference for the rest of the run, no
	 * more descriptors than under load at the reference */
	rc = (sample > 2 && atomic_load(&g_errors) == 0 && fd_max <= fd0 + 2 &&
	      rss_max <= rss0 + rss0 / 10 + 1024)
	             ? 0
	             : 1;
	printf("soak: %s\n", rc == 0 ? "PASS" : "FAIL");
	return rc;
}

/* The latency of one durable append in the broker's data directory: a
 * 4 KiB write at the end of a file and fdatasync, 200 times; p50 and p99 in
 * *p50, *p99 (ms). A release is answered only after its audit entry is
 * synced (docs/audit.md), so no release latency can be below this. */
static int fsync_latency(double *p50, double *p99)
{
	char path[192], buf[4096];
	double t[200];
	int fd;

	snprintf(path, sizeof(path), "%s/fsync-probe", g_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	memset(buf, 'a', sizeof(buf));
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		double t0 = now_s();
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) || fdatasync(fd) != 0) {
			close(fd);
			unlink(path);
			return -1;
		}
		t[i] = (now_s() - t0) * 1e3;
	}
	close(fd);
	unlink(path);
	qsort(t, sizeof(t) / sizeof(t[0]), sizeof(t[0]), cmp_double);
	*p50 = t[100];
	*p99 = t[198];
	return 0;
}

int main(int argc, char **argv)
{
	double seconds = 5, soak_s = 0;
	unsigned nconn = 64, threads = 0;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct MHD_Daemon *triv;
	struct result base, hs, bearer, base_paced, bearer_paced;
	double paced_rate, pace_arg = 0;
	double hs_us, jwe_us, hs_floor, jwe_floor, hs_cpu = 0, jwe_cpu = 0, one_cpu = 0;
	double sync50 = 0, sync99 = 0;
	bool trivial_only = false, hs_only = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--connections") == 0 && i + 1 < argc)
			nconn = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--soak") == 0 && i + 1 < argc)
			soak_s = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--libcoffer-client") == 0)
			g_libcoffer_client = true;
		else if (strcmp(argv[i], "--thread-per-connection") == 0)
			g_event_loop = false;
		else if (strcmp(argv[i], "--trivial-server") == 0)
			trivial_only = true;
		else if (strcmp(argv[i], "--handshakes-only") == 0)
			hs_only = true;
		else if (strcmp(argv[i], "--tmpdir") == 0 && i + 1 < argc &&
		         strlen(argv[i + 1]) < 96)
			g_tmpdir = argv[++i];
		else if (strcmp(argv[i], "--paced-rate") == 0 && i + 1 < argc)
			pace_arg = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--audit-commit-delay") == 0 && i + 1 < argc)
			snprintf(g_audit_delay, sizeof(g_audit_delay),
			         "audit_commit_delay_us = %ld\n", strtol(argv[++i], NULL, 10));
		else {
			fprintf(stderr,
			        "usage: bench_kbs [--seconds S] [--connections N] [--threads T] "
			        "[--soak SECONDS] [--libcoffer-client] [--thread-per-connection] "
			        "[--audit-commit-delay US] [--tmpdir DIR] [--paced-rate R] "
			        "[--handshakes-only]\n"
			        "       bench_kbs --trivial-server [--threads T]\n");
			return 2;
		}
	}
	if (seconds <= 0 || nconn == 0 || nconn > 1024)
		return 2;
	if (cores < 1)
		cores = 1;
	g_cores = cores;
	if (threads == 0)
		threads = (unsigned)cores * 2;
	signal(SIGPIPE, SIG_IGN);
	if (trivial_only)
		return serve_trivial(threads);
	if (start_cofferd(threads, soak_s > 0) < 0)
		return 1;
	if (soak_s > 0)
		return soak(soak_s, nconn);

	/* every core at once, and (for the full run) one core alone: the
	 * fractions use the first, the second is printed beside it */
	hs_floor = floor_on_cores(floor_handshake_us, 2.0, (unsigned)cores, &hs_cpu);
	if (hs_only) {
		/* the handshake phase alone, for comparing two builds or settings
		 * run after run (scripts/ab_handshakes.sh) */
		hs = run_phase(M_HANDSHAKE, nconn, seconds, 0.5);
		printf("handshakes: %.0f/s = %.3f of floor %.1f us; "
		       "CPU per handshake broker %.0f us, generator %.0f us; "
		       "efficiency %.3f; unexpected errors %lu\n",
		       hs.rate, hs.rate / hs_floor, (double)cores * 1e6 / hs_floor, hs.server_us,
		       hs.client_us, hs_cpu / (hs.server_us + hs.client_us),
		       atomic_load(&g_errors));
		return atomic_load(&g_errors) ? 1 : 0;
	}
	hs_us = floor_handshake_us(1.0, &one_cpu);
	jwe_us = floor_jwe_us(1.0, &one_cpu);
	jwe_floor = floor_on_cores(floor_jwe_us, 2.0, (unsigned)cores, &jwe_cpu);
	if (load_mhd() < 0) {
		fprintf(stderr, "bench_kbs: cannot load libmicrohttpd.so.12\n");
		return 1;
	}
	triv = mhd.start(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, trivial,
	                 NULL, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
	                 2048, MHD_OPTION_SOCK_ADDR, loopback_any_port(), MHD_OPTION_END);
	if (triv == NULL)
		return 1;
	{
		unsigned cof = g_port;
		g_port = mhd.info(triv, MHD_DAEMON_INFO_BIND_PORT)->port;
		base = run_phase(M_TRIVIAL, nconn, seconds, 0.5);
		mhd.stop(triv);
		g_port = cof;
	}
	hs = run_phase(M_HANDSHAKE, nconn, seconds, 0.5);
	bearer = run_phase(M_BEARER, nconn, seconds, 1.0);
	/* the same offered load (half the broker's bearer capacity) on both
	 * servers: the latency the broker adds, not the queue a closed loop
	 * builds in front of a slower server */
	paced_rate = pace_arg > 0 ? pace_arg : bearer.rate / 2;
	g_pace = (double)nconn / paced_rate;
	{
		unsigned cof = g_port;
		triv = mhd.start(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
		                 trivial, NULL, MHD_OPTION_THREAD_POOL_SIZE, threads,
		                 MHD_OPTION_CONNECTION_LIMIT, 2048, MHD_OPTION_SOCK_ADDR,
		                 loopback_any_port(), MHD_OPTION_END);
		if (triv == NULL)
			return 1;
		g_port = mhd.info(triv, MHD_DAEMON_INFO_BIND_PORT)->port;
		base_paced = run_phase(M_TRIVIAL, nconn, seconds, 0.5);
		mhd.stop(triv);
		g_port = cof;
	}
	bearer_paced = run_phase(M_BEARER, nconn, seconds, 1.0);
	g_pace = 0;
	if (fsync_latency(&sync50, &sync99) < 0)
		fprintf(stderr, "bench_kbs: fsync probe failed\n");

	printf("machine: %ld cores; server thread pool %u; %u keep-alive connections; %.0f s "
	       "per phase; guest crypto: %s; closed-loop generator: %s\n",
	       cores, threads, nconn, seconds,
	       g_libcoffer_client ? "libcoffer (coffer_jwk_generate, coffer_jwe_decrypt)"
	                          : "lean raw EVP (--libcoffer-client for libcoffer's)",
	       g_event_loop ? "event loop, one epoll thread per core (--thread-per-connection for "
	                      "one blocking thread per connection)"
	                    : "one blocking thread per connection");
	printf("crypto floor, handshake (raw EVP: ES256 sign + P-256 keygen + 2 ECDH + ES256 "
	       "verify): %.0f/s on %ld cores at once (%.1f us of CPU each); one core alone %.1f "
	       "us, x%ld = %.0f/s\n",
	       hs_floor, cores, hs_cpu, hs_us, cores, (double)cores * 1e6 / hs_us);
	printf("crypto floor, bearer GET (raw EVP: P-256 keygen + ECDH + KDF + AES-KW + GCM): "
	       "%.0f/s on %ld cores at once (%.1f us of CPU each); one core alone %.1f us, x%ld = "
	       "%.0f/s\n",
	       jwe_floor, cores, jwe_cpu, jwe_us, cores, (double)cores * 1e6 / jwe_us);
	printf("trivial MHD handler: %.0f req/s, p50 %.2f ms, p99 %.2f ms\n", base.rate,
	       base.p50_ms, base.p99_ms);
	/* three decimals: at two, 0.497 would print as the target's 0.50 */
	printf("full handshakes (auth + attest(sample) + GET + client decrypt): %.0f/s = %.3f of "
	       "floor (target >= 0.500), %.3f of trivial req/s; p50 %.2f ms, p99 %.2f ms\n",
	       hs.rate, hs.rate / hs_floor, hs.rate / base.rate, hs.p50_ms, hs.p99_ms);
	printf("bearer GETs: %.0f/s (target >= 10000) = %.3f of floor, %.3f of trivial req/s; "
	       "p50 %.2f ms, p99 %.2f ms = %.2fx trivial p99 (closed loop)\n",
	       bearer.rate, bearer.rate / jwe_floor, bearer.rate / base.rate, bearer.p50_ms,
	       bearer.p99_ms, base.p99_ms > 0 ? bearer.p99_ms / base.p99_ms : 0.0);
	printf("paced at %.0f req/s (%s), %u connections: trivial p50 %.2f "
	       "ms p99 %.2f ms (%.0f/s); bearer GETs p50 %.2f ms p99 %.2f ms (%.0f/s) = %.2fx "
	       "trivial p99 (target <= 2)\n",
	       paced_rate, pace_arg > 0 ? "--paced-rate" : "half the bearer capacity", nconn,
	       base_paced.p50_ms, base_paced.p99_ms, base_paced.rate, bearer_paced.p50_ms,
	       bearer_paced.p99_ms, bearer_paced.rate,
	       base_paced.p99_ms > 0 ? bearer_paced.p99_ms / base_paced.p99_ms : 0.0);
	printf("durable append in the data directory (4 KiB write + fdatasync, the least a "
	       "release waits for its audit entry): p50 %.2f ms, p99 %.2f ms\n",
	       sync50, sync99);
	printf("CPU per operation (broker / load generator incl. its kernel time): trivial %.1f / "
	       "%.1f us (same process), handshake %.0f / %.0f us, bearer GET %.0f / %.0f us\n",
	       base.client_us, base.client_us, hs.server_us, hs.client_us, bearer.server_us,
	       bearer.client_us);
	/* CPU-time view, independent of what else runs on the machine: the
	 * floor's CPU per operation over all CPU spent per operation */
	printf("CPU efficiency (floor CPU / broker+generator CPU per op): handshake %.0f / %.0f us "
	       "= %.2f; bearer GET %.0f / %.0f us = %.2f\n",
	       hs_cpu, hs.server_us + hs.client_us, hs_cpu / (hs.server_us + hs.client_us), jwe_cpu,
	       bearer.server_us + bearer.client_us,
	       jwe_cpu / (bearer.server_us + bearer.client_us));
	printf("unexpected errors: %lu%s%s%s\n", atomic_load(&g_errors),
	       atomic_load(&g_errors) ? " (first: " : "",
	       atomic_load(&g_errors) ? g_err_sample : "", atomic_load(&g_errors) ? ")" : "");
	return atomic_load(&g_errors) ? 1 : 0;
}
