/*
 * Simulated TDX: test PKI, quoting enclave and collateral (sim_tdx.h). The
 * formats are the real ones (include/coffer/tdx.h), so the production
 * verifier path is exercised; only the root differs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "coffer/buf.h"
#include "coffer/codec.h"
#include "coffer/common.h"
#include "coffer/file.h"
#include "coffer/tdx.h"
#include "sim_tdx.h"

#define SIM_PCESVN 11
static const uint8_t sim_comps[16] = { 5, 5, 2, 2, 3, 1, 0, 3 };
static const uint8_t sim_qe_vendor[16] = { 0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
	                                   0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07 };
#define SIM_QE_ISVSVN   4
#define SIM_QE_PRODID   2
#define SIM_QE_MRSIGNER "coffer-sim TD quoting enclave signer"

static const char *const sim_files[] = {
	"tdx/root.pem",
	"tdx/root.key",
	"tdx/pck_ca.pem",
	"tdx/pck_ca.key",
	"tdx/pck.pem",
	"tdx/pck.key",
	"tdx/attest.key",
	"tdx/tcb_signing.key",
	"tdx/tcb_signing.pem",
	"tdx/collateral/tcb_signing_chain.pem",
	"tdx/collateral/tcbinfo.json",
	"tdx/collateral/qeidentity.json",
};

static int path_of(char *out, size_t n, const char *dir, const char *rel)
{
	if (snprintf(out, n, "%s/%s", dir, rel) >= (int)n)
		return coffer_error_set(COFFER_EINVAL, "sim tdx: path too long");
	return 0;
}

/* --- DER building for the SGX extension ------------------------------------ */

static int tlv(coffer_buf *b, uint8_t tag, const uint8_t *p, size_t n)
{
	uint8_t h[4];
	size_t hl;

	h[0] = tag;
	if (n < 0x80) {
		h[1] = (uint8_t)n;
		hl = 2;
	} else if (n < 0x100) {
		h[1] = 0x81;
		h[2] = (uint8_t)n;
		hl = 3;
	} else {
		h[1] = 0x82;
		h[2] = (uint8_t)(n >> 8);
		h[3] = (uint8_t)n;
		hl = 4;
	}
	if (coffer_buf_append(b, h, hl) < 0 || coffer_buf_append(b, p, n) < 0)
		return COFFER_ENOMEM;
	return 0;
}

static int sgx_item(coffer_buf *out, const uint8_t *sub, size_t subn, uint8_t tag, const uint8_t *v,
                    size_t vn)
{
	static const uint8_t arc[] = { 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01 };
	coffer_buf in = COFFER_BUF_INIT_MAX(4096), oid = COFFER_BUF_INIT_MAX(64);
	int error;

	if ((error = coffer_buf_append(&oid, arc, sizeof(arc))) < 0 ||
	    (error = coffer_buf_append(&oid, sub, subn)) < 0 ||
	    (error = tlv(&in, 0x06, oid.ptr, oid.len)) < 0 || (error = tlv(&in, tag, v, vn)) < 0 ||
	    (error = tlv(out, 0x30, in.ptr, in.len)) < 0)
		goto out;
out:
	coffer_buf_free(&in);
	coffer_buf_free(&oid);
	return error;
}

static int sgx_extension(coffer_buf *out, const uint8_t ppid[16])
{
	coffer_buf items = COFFER_BUF_INIT_MAX(4096), tcb = COFFER_BUF_INIT_MAX(4096);
	uint8_t cpusvn[16], v, pce[2] = { 0, 0 }, type = 0;
	int error = 0;

	memcpy(cpusvn, sim_comps, 16);
	for (uint8_t k = 1; k <= 16 && error == 0; k++) {
		uint8_t sub[2] = { 2, k };
		v = sim_comps[k - 1];
		error = sgx_item(&tcb, sub, 2, 0x02, &v, 1);
	}
	v = SIM_PCESVN;
	if (error < 0 || (error = sgx_item(&tcb, (const uint8_t[]){ 2, 17 }, 2, 0x02, &v, 1)) < 0 ||
	    (error = sgx_item(&tcb, (const uint8_t[]){ 2, 18 }, 2, 0x04, cpusvn, 16)) < 0 ||
	    (error = sgx_item(&items, (const uint8_t[]){ 1 }, 1, 0x04, ppid, 16)) < 0 ||
	    (error = sgx_item(&items, (const uint8_t[]){ 2 }, 1, 0x30, tcb.ptr, tcb.len)) < 0 ||
	    (error = sgx_item(&items, (const uint8_t[]){ 3 }, 1, 0x04, pce, 2)) < 0 ||
	    (error = sgx_item(&items, (const uint8_t[]){ 4 }, 1, 0x04, SIM_TDX_FMSPC, 6)) < 0 ||
	    (error = sgx_item(&items, (const uint8_t[]){ 5 }, 1, 0x0a, &type, 1)) < 0 ||
	    (error = tlv(out, 0x30, items.ptr, items.len)) < 0)
		goto out;
out:
	coffer_buf_free(&items);
	coffer_buf_free(&tcb);
	return error;
}

/* --- keys and certificates --------------------------------------------------- */

static int write_key(const char *dir, const char *rel, EVP_PKEY *k)
{
	char path[4096];
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int error;

	if (b == NULL || PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1) {
		BIO_free(b);
		return coffer_error_set_ssl(COFFER_ERROR, "sim tdx: key to PEM");
	}
	n = BIO_get_mem_data(b, &p);
	error = path_of(path, sizeof(path), dir, rel);
	if (error == 0)
		error = coffer_file_write_private(path, p, (size_t)n);
	BIO_free(b);
	return error;
}

static int read_key(EVP_PKEY **out, const char *dir, const char *rel)
{
	char path[4096];
	coffer_secret s = COFFER_SECRET_INIT;
	BIO *b;
	int error;

	if ((error = path_of(path, sizeof(path), dir, rel)) < 0 ||
	    (error = coffer_file_read_secret(&s, path, 65536)) < 0)
		return error;
	b = BIO_new_mem_buf(s.ptr, (int)s.len);
	*out = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	coffer_secret_free(&s);
	if (*out == NULL)
		return coffer_error_set_ssl(COFFER_EINVAL, "sim tdx: bad key %s", rel);
	return 0;
}

static int cert_pem(coffer_buf *out, X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int error;

	if (b == NULL || PEM_write_bio_X509(b, x) != 1) {
		BIO_free(b);
		return coffer_error_set_ssl(COFFER_ERROR, "sim tdx: cert to PEM");
	}
	n = BIO_get_mem_data(b, &p);
	error = coffer_buf_append(out, p, (size_t)n);
	BIO_free(b);
	return error;
}

static int write_cert(const char *dir, const char *rel, X509 *x)
{
	coffer_buf b = COFFER_BUF_INIT_MAX(65536);
	char path[4096];
	int error;

	if ((error = cert_pem(&b, x)) == 0 && (error = path_of(path, sizeof(path), dir, rel)) == 0)
		error = coffer_file_write(path, b.ptr, b.len, 0644);
	coffer_buf_free(&b);
	return error;
}

static int read_cert(X509 **out, const char *dir, const char *rel)
{
	char path[4096];
	uint8_t *d = NULL;
	size_t n = 0;
	BIO *b;
	int error;

	if ((error = path_of(path, sizeof(path), dir, rel)) < 0 ||
	    (error = coffer_file_read(&d, &n, path, 65536)) < 0)
		return error;
	b = BIO_new_mem_buf(d, (int)n);
	*out = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	free(d);
	if (*out == NULL)
		return coffer_error_set_ssl(COFFER_EINVAL, "sim tdx: bad certificate %s", rel);
	return 0;
}

static X509_NAME *name_of(const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	if (n == NULL ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
	                               0) != 1 ||
	    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	                               (const unsigned char *)"Coffer simulated TEE", -1, -1,
	                               0) != 1) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (e == NULL)
		return COFFER_ERROR;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok == 1 ? 0 : COFFER_ERROR;
}

/* issuer == NULL: self-signed. */
static int make_cert(X509 **out, const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
                     bool ca, long serial, const coffer_buf *sgx_ext)
{
	X509 *x = X509_new();
	X509_NAME *n = name_of(cn);
	int error = COFFER_ERROR;

	if (x == NULL || n == NULL || X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), serial) != 1 ||
	    X509_set_subject_name(x, n) != 1 ||
	    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -86400L) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 86400) == NULL ||
	    X509_set_pubkey(x, key) != 1)
		goto out;
	if (add_ext(x, issuer ? issuer : x, NID_basic_constraints,
	            ca ? "critical,CA:TRUE" : "critical,CA:FALSE") < 0 ||
	    add_ext(x, issuer ? issuer : x, NID_key_usage,
	            ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") < 0 ||
	    add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(x, issuer ? issuer : x, NID_authority_key_identifier, "keyid:always") < 0)
		goto out;
	if (sgx_ext) {
		ASN1_OBJECT *o = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		X509_EXTENSION *e = NULL;
		int ok = o && os &&
		         ASN1_OCTET_STRING_set(os, sgx_ext->ptr, (int)sgx_ext->len) == 1 &&
		         (e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os)) != NULL &&
		         X509_add_ext(x, e, -1) == 1;
		X509_EXTENSION_free(e);
		ASN1_OCTET_STRING_free(os);
		ASN1_OBJECT_free(o);
		if (!ok)
			goto out;
	}
	if (X509_sign(x, issuer ? ikey : key, EVP_sha256()) <= 0)
		goto out;
	*out = x;
	x = NULL;
	error = 0;
out:
	if (error < 0)
		coffer_error_set_ssl(error, "sim tdx: certificate '%s'", cn);
	X509_free(x);
	X509_NAME_free(n);
	return error;
}

static int sign_raw(uint8_t sig[64], EVP_PKEY *k, const uint8_t *msg, size_t len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[80];
	size_t dl = sizeof(der);
	int error = 0;

	if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(md, der, &dl, msg, len) != 1)
		error = coffer_error_set_ssl(COFFER_ERROR, "sim tdx: sign");
	EVP_MD_CTX_free(md);
	if (error == 0)
		error = coffer_tdx_sig_from_der(sig, der, dl);
	return error;
}

static int raw_pub(uint8_t xy[64], EVP_PKEY *k)
{
	uint8_t pt[65];
	size_t n = 0;

	if (EVP_PKEY_get_octet_string_param(k, "encoded-pub-key", pt, sizeof(pt), &n) != 1 ||
	    n != 65 || pt[0] != 0x04)
		return coffer_error_set_ssl(COFFER_ERROR, "sim tdx: public key");
	memcpy(xy, pt + 1, 64);
	return 0;
}

/* --- collateral ---------------------------------------------------------------- */

static void iso(char out[32], time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int make_doc(coffer_buf *doc, const char *member, const char *body, EVP_PKEY *signer)
{
	uint8_t sig[64];
	char *hex = NULL;
	int error;

	if ((error = sign_raw(sig, signer, (const uint8_t *)body, strlen(body))) < 0 ||
	    (error = coffer_hex_encode(&hex, sig, 64)) < 0)
		goto out;
	error = coffer_buf_printf(doc, "{\"%s\":%s,\"signature\":\"%s\"}", member, body, hex);
out:
	free(hex);
	return error;
}

static int signed_doc(const char *dir, const char *rel, const char *member, const char *body,
                      EVP_PKEY *signer)
{
	char path[4096];
	coffer_buf doc = COFFER_BUF_INIT_MAX(65536);
	int error;

	if ((error = make_doc(&doc, member, body, signer)) < 0 ||
	    (error = path_of(path, sizeof(path), dir, rel)) < 0)
		goto out;
	error = coffer_file_write(path, doc.ptr, doc.len, 0644);
out:
	coffer_buf_free(&doc);
	return error;
}

int sim_tdx_sign_collateral(uint8_t **out, size_t *len, const char *dir, const char *member,
                            const char *body)
{
	coffer_buf doc = COFFER_BUF_INIT_MAX(1024 * 1024);
	EVP_PKEY *k = NULL;
	int error;

	if ((error = read_key(&k, dir, "tdx/tcb_signing.key")) < 0)
		return error;
	if ((error = make_doc(&doc, member, body, k)) == 0)
		*out = coffer_buf_detach(&doc, len);
	EVP_PKEY_free(k);
	coffer_buf_free(&doc);
	return error;
}

static void comps_json(coffer_buf *b, const uint8_t *c)
{
	coffer_buf_puts(b, "[");
	for (int i = 0; i < 16; i++)
		coffer_buf_printf(b, "%s{\"svn\":%u}", i ? "," : "", c[i]);
	coffer_buf_puts(b, "]");
}

static int write_collateral(const char *dir, EVP_PKEY *signer, const uint8_t qe_mrsigner[32])
{
	coffer_buf t = COFFER_BUF_INIT_MAX(65536);
	char issue[32], next[32], *mrs = NULL;
	time_t now = time(NULL);
	static const uint8_t tdx_up[16] = { 3, 0, 5 }, tdx_old[16] = { 0 };
	int error;

	iso(issue, now - 86400);
	iso(next, now + 30L * 86400);
	coffer_buf_printf(
	        &t,
	        "{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
	        "\"fmspc\":\"00c0ffee0000\",\"pceId\":\"0000\",\"tcbType\":0,"
	        "\"tcbEvaluationDataNumber\":1,\"tdxModule\":{\"mrsigner\":\"%096d\","
	        "\"attributes\":\"0000000000000000\",\"attributesMask\":"
	        "\"FFFFFFFFFFFFFFFF\"},\"tcbLevels\":[",
	        issue, next, 0);
	for (int lv = 0; lv < 2; lv++) {
		coffer_buf_puts(&t, lv ? ",{\"tcb\":{\"sgxtcbcomponents\":"
		                       : "{\"tcb\":{\"sgxtcbcomponents\":");
		comps_json(&t, sim_comps);
		coffer_buf_printf(&t, ",\"pcesvn\":%d,\"tdxtcbcomponents\":", SIM_PCESVN);
		comps_json(&t, lv ? tdx_old : tdx_up);
		coffer_buf_printf(&t, "},\"tcbDate\":\"%s\",\"tcbStatus\":\"%s\"%s}", issue,
		                  lv ? "OutOfDate" : "UpToDate",
		                  lv ? ",\"advisoryIDs\":[\"INTEL-SA-00000-SIM\"]" : "");
	}
	if ((error = coffer_buf_puts(&t, "]}")) < 0 ||
	    (error = signed_doc(dir, "tdx/collateral/tcbinfo.json", "tcbInfo", (char *)t.ptr,
	                        signer)) < 0)
		goto out;
	coffer_buf_clear(&t);
	if ((error = coffer_hex_encode(&mrs, qe_mrsigner, 32)) < 0)
		goto out;
	coffer_buf_printf(
	        &t,
	        "{\"id\":\"TD_QE\",\"version\":2,\"issueDate\":\"%s\",\"nextUpdate\":"
	        "\"%s\",\"tcbEvaluationDataNumber\":1,\"miscselect\":\"00000000\","
	        "\"miscselectMask\":\"FFFFFFFF\",\"attributes\":"
	        "\"11000000000000000000000000000000\",\"attributesMask\":"
	        "\"FBFFFFFFFFFFFFFF0000000000000000\",\"mrsigner\":\"%s\",\"isvprodid\":%d,"
	        "\"tcbLevels\":[{\"tcb\":{\"isvsvn\":%d},\"tcbDate\":\"%s\","
	        "\"tcbStatus\":\"UpToDate\"}]}",
	        issue, next, mrs, SIM_QE_PRODID, SIM_QE_ISVSVN, issue);
	error = signed_doc(dir, "tdx/collateral/qeidentity.json", "enclaveIdentity", (char *)t.ptr,
	                   signer);
out:
	free(mrs);
	coffer_buf_free(&t);
	return error;
}

/* --- init ---------------------------------------------------------------------- */

static int mkdir_p(const char *dir, const char *rel)
{
	char path[4096];
	int error;

	if ((error = path_of(path, sizeof(path), dir, rel)) < 0)
		return error;
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return coffer_error_set(COFFER_EIO, "sim tdx: mkdir %s: %s", path, strerror(errno));
	return 0;
}

void sim_tdx_qe_mrsigner(uint8_t out[32])
{
	EVP_Digest(SIM_QE_MRSIGNER, strlen(SIM_QE_MRSIGNER), out, NULL, EVP_sha256(), NULL);
}

int sim_tdx_init(const char *dir)
{
	EVP_PKEY *root_k = NULL, *ca_k = NULL, *pck_k = NULL, *att_k = NULL, *tcb_k = NULL;
	X509 *root = NULL, *ca = NULL, *pck = NULL, *tcb = NULL;
	coffer_buf ext = COFFER_BUF_INIT_MAX(4096), chain = COFFER_BUF_INIT_MAX(65536);
	uint8_t ppid[16], mrs[32];
	char path[4096];
	int error;

	if ((error = mkdir_p(dir, "")) < 0 || (error = mkdir_p(dir, "tdx")) < 0 ||
	    (error = mkdir_p(dir, "tdx/collateral")) < 0)
		goto out;
	root_k = EVP_EC_gen("P-256");
	ca_k = EVP_EC_gen("P-256");
	pck_k = EVP_EC_gen("P-256");
	att_k = EVP_EC_gen("P-256");
	tcb_k = EVP_EC_gen("P-256");
	if (!root_k || !ca_k || !pck_k || !att_k || !tcb_k || RAND_bytes(ppid, 16) != 1) {
		error = coffer_error_set_ssl(COFFER_ERROR, "sim tdx: key generation");
		goto out;
	}
	if ((error = sgx_extension(&ext, ppid)) < 0 ||
	    (error = make_cert(&root, "Coffer Simulated SGX Root CA", root_k, NULL, NULL, true, 1,
	                       NULL)) < 0 ||
	    (error = make_cert(&ca, "Coffer Simulated SGX PCK Platform CA", ca_k, root, root_k,
	                       true, 2, NULL)) < 0 ||
	    (error = make_cert(&pck, "Coffer Simulated SGX PCK Certificate", pck_k, ca, ca_k, false,
	                       3, &ext)) < 0 ||
	    (error = make_cert(&tcb, "Intel SGX TCB Signing", tcb_k, root, root_k, false, 4,
	                       NULL)) < 0)
		goto out;
	if ((error = write_key(dir, "tdx/root.key", root_k)) < 0 ||
	    (error = write_key(dir, "tdx/pck_ca.key", ca_k)) < 0 ||
	    (error = write_key(dir, "tdx/pck.key", pck_k)) < 0 ||
	    (error = write_key(dir, "tdx/attest.key", att_k)) < 0 ||
	    (error = write_key(dir, "tdx/tcb_signing.key", tcb_k)) < 0 ||
	    (error = write_cert(dir, "tdx/root.pem", root)) < 0 ||
	    (error = write_cert(dir, "tdx/pck_ca.pem", ca)) < 0 ||
	    (error = write_cert(dir, "tdx/pck.pem", pck)) < 0 ||
	    (error = write_cert(dir, "tdx/tcb_signing.pem", tcb)) < 0)
		goto out;
	if ((error = cert_pem(&chain, tcb)) < 0 || (error = cert_pem(&chain, root)) < 0 ||
	    (error = path_of(path, sizeof(path), dir, "tdx/collateral/tcb_signing_chain.pem")) <
	            0 ||
	    (error = coffer_file_write(path, chain.ptr, chain.len, 0644)) < 0)
		goto out;
	sim_tdx_qe_mrsigner(mrs);
	error = write_collateral(dir, tcb_k, mrs);
out:
	EVP_PKEY_free(root_k);
	EVP_PKEY_free(ca_k);
	EVP_PKEY_free(pck_k);
	EVP_PKEY_free(att_k);
	EVP_PKEY_free(tcb_k);
	X509_free(root);
	X509_free(ca);
	X509_free(pck);
	X509_free(tcb);
	coffer_buf_free(&ext);
	coffer_buf_free(&chain);
	if (error < 0)
		fprintf(stderr, "coffer-sim: tdx: %s\n", coffer_error_last());
	return error;
}

void sim_tdx_params_init(sim_tdx_params *p)
{
	memset(p, 0, sizeof(*p));
	p->version = 4;
	p->tee_tcb_svn[0] = 3;
	p->tee_tcb_svn[2] = 5;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

int sim_tdx_quote(uint8_t **out, size_t *len, const char *dir, const sim_tdx_params *p)
{
	EVP_PKEY *att = NULL, *pck = NULL;
	X509 *certs[3] = { NULL, NULL, NULL };
	coffer_buf q = COFFER_BUF_INIT_MAX(COFFER_TDX_QUOTE_MAX),
	           chain = COFFER_BUF_INIT_MAX(65536);
	uint8_t hdr[48], body[COFFER_TDX_TD15_SIZE], qe[COFFER_SGX_REPORT_SIZE], auth[32];
	uint8_t sig[64], qesig[64], xy[64], h[32], tmp[6];
	size_t body_len = p->version == 5 ? COFFER_TDX_TD15_SIZE : COFFER_TDX_TD10_SIZE;
	EVP_MD_CTX *md = NULL;
	int error;

	if (p->version != 4 && p->version != 5)
		return coffer_error_set(COFFER_EINVAL, "sim tdx: version 4 or 5");
	if ((error = read_key(&att, dir, "tdx/attest.key")) < 0 ||
	    (error = read_key(&pck, dir, "tdx/pck.key")) < 0 ||
	    (error = read_cert(&certs[0], dir, "tdx/pck.pem")) < 0 ||
	    (error = read_cert(&certs[1], dir, "tdx/pck_ca.pem")) < 0 ||
	    (error = read_cert(&certs[2], dir, "tdx/root.pem")) < 0)
		goto out;
	for (int i = 0; i < 3; i++)
		if ((error = cert_pem(&chain, certs[i])) < 0)
			goto out;

	memset(hdr, 0, sizeof(hdr));
	put16(hdr, (uint16_t)p->version);
	put16(hdr + 2, COFFER_TDX_ATT_KEY_ECDSA);
	put32(hdr + 4, COFFER_TDX_TEE_TYPE_TDX);
	memcpy(hdr + 12, sim_qe_vendor, 16);

	memset(body, 0, sizeof(body));
	memcpy(body + COFFER_TDX_OFF_TEE_TCB_SVN, p->tee_tcb_svn, 16);
	body[COFFER_TDX_OFF_TD_ATTRIBUTES] = p->debug ? 0x01 : 0x00;
	body[COFFER_TDX_OFF_TD_ATTRIBUTES + 3] = 0x10; /* SEPT_VE_DISABLE */
	body[COFFER_TDX_OFF_XFAM] = 0xe7;
	body[COFFER_TDX_OFF_XFAM + 1] = 0x02;
	body[COFFER_TDX_OFF_XFAM + 2] = 0x06;
	memcpy(body + COFFER_TDX_OFF_MR_TD, p->mr_td, 48);
	memcpy(body + COFFER_TDX_OFF_MR_CONFIG_ID, p->mr_config_id, 48);
	for (int i = 0; i < 4; i++)
		memcpy(body + COFFER_TDX_OFF_RTMR0 + 48 * i, p->rtmr[i], 48);
	memcpy(body + COFFER_TDX_OFF_REPORT_DATA, p->report_data, 64);
	if (p->version == 5)
		memcpy(body + COFFER_TDX_OFF_TEE_TCB_SVN2, p->tee_tcb_svn, 16);

	if ((error = coffer_buf_append(&q, hdr, 48)) < 0)
		goto out;
	if (p->version == 5) {
		put16(tmp, COFFER_TDX_BODY_TD15);
		put32(tmp + 2, COFFER_TDX_TD15_SIZE);
		if ((error = coffer_buf_append(&q, tmp, 6)) < 0)
			goto out;
	}
	if ((error = coffer_buf_append(&q, body, body_len)) < 0 ||
	    (error = sign_raw(sig, att, q.ptr, q.len)) < 0 || (error = raw_pub(xy, att)) < 0)
		goto out;

	/* the QE report binds the attestation key: SHA-256(key || auth data) */
	memset(qe, 0, sizeof(qe));
	memset(auth, 0, sizeof(auth));
	for (int i = 0; i < 32; i++)
		auth[i] = (uint8_t)i;
	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, xy, 64) != 1 || EVP_DigestUpdate(md, auth, 32) != 1 ||
	    EVP_DigestFinal_ex(md, h, NULL) != 1) {
		error = coffer_error_set_ssl(COFFER_ERROR, "sim tdx: digest");
		goto out;
	}
	memcpy(qe + COFFER_SGX_OFF_CPU_SVN, sim_comps, 16);
	qe[COFFER_SGX_OFF_ATTRIBUTES] = 0x15;
	qe[COFFER_SGX_OFF_ATTRIBUTES + 8] = 0xe7;
	sim_tdx_qe_mrsigner(qe + COFFER_SGX_OFF_MR_SIGNER);
	EVP_Digest("coffer-sim TD QE", 16, qe + COFFER_SGX_OFF_MR_ENCLAVE, NULL, EVP_sha256(),
	           NULL);
	put16(qe + COFFER_SGX_OFF_ISV_PROD_ID, SIM_QE_PRODID);
	put16(qe + COFFER_SGX_OFF_ISV_SVN, SIM_QE_ISVSVN);
	memcpy(qe + COFFER_SGX_OFF_REPORT_DATA, h, 32);
	if ((error = sign_raw(qesig, pck, qe, sizeof(qe))) < 0)
		goto out;

	{
		size_t cert6 = 384 + 64 + 2 + 32 + 2 + 4 + chain.len;
		size_t sig_len = 64 + 64 + 2 + 4 + cert6;
		uint8_t b4[4], b2[2];

		put32(b4, (uint32_t)sig_len);
		if ((error = coffer_buf_append(&q, b4, 4)) < 0 ||
		    (error = coffer_buf_append(&q, sig, 64)) < 0 ||
		    (error = coffer_buf_append(&q, xy, 64)) < 0)
			goto out;
		put16(b2, COFFER_TDX_CERT_QE_REPORT);
		put32(b4, (uint32_t)cert6);
		if ((error = coffer_buf_append(&q, b2, 2)) < 0 ||
		    (error = coffer_buf_append(&q, b4, 4)) < 0 ||
		    (error = coffer_buf_append(&q, qe, sizeof(qe))) < 0 ||
		    (error = coffer_buf_append(&q, qesig, 64)) < 0)
			goto out;
		put16(b2, 32);
		if ((error = coffer_buf_append(&q, b2, 2)) < 0 ||
		    (error = coffer_buf_append(&q, auth, 32)) < 0)
			goto out;
		put16(b2, COFFER_TDX_CERT_PCK_CHAIN);
		put32(b4, (uint32_t)chain.len);
		if ((error = coffer_buf_append(&q, b2, 2)) < 0 ||
		    (error = coffer_buf_append(&q, b4, 4)) < 0 ||
		    (error = coffer_buf_append(&q, chain.ptr, chain.len)) < 0)
			goto out;
	}
	*out = coffer_buf_detach(&q, len);
	error = 0;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(att);
	EVP_PKEY_free(pck);
	for (int i = 0; i < 3; i++)
		X509_free(certs[i]);
	coffer_buf_free(&q);
	coffer_buf_free(&chain);
	return error;
}

int sim_tdx_write_revocation(const char *dir, const char *crl_path)
{
	EVP_PKEY *ca_k = NULL;
	X509 *ca = NULL, *leaf = NULL;
	X509_CRL *crl = X509_CRL_new();
	X509_REVOKED *rev = X509_REVOKED_new();
	ASN1_TIME *t = ASN1_TIME_new();
	unsigned char *der = NULL;
	int n, error;

	if (crl == NULL || rev == NULL || t == NULL) {
		error = COFFER_ENOMEM;
		goto out;
	}
	if ((error = read_key(&ca_k, dir, "tdx/pck_ca.key")) < 0 ||
	    (error = read_cert(&ca, dir, "tdx/pck_ca.pem")) < 0 ||
	    (error = read_cert(&leaf, dir, "tdx/pck.pem")) < 0)
		goto out;
	error = COFFER_ERROR;
	if (X509_CRL_set_version(crl, 1) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) != 1 ||
	    X509_gmtime_adj(t, 0) == NULL || X509_CRL_set1_lastUpdate(crl, t) != 1 ||
	    X509_gmtime_adj(t, 30L * 86400) == NULL || X509_CRL_set1_nextUpdate(crl, t) != 1 ||
	    X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(leaf)) != 1 ||
	    X509_gmtime_adj(t, 0) == NULL || X509_REVOKED_set_revocationDate(rev, t) != 1 ||
	    X509_CRL_add0_revoked(crl, rev) != 1)
		goto out;
	rev = NULL;
	if (X509_CRL_sort(crl) != 1 || X509_CRL_sign(crl, ca_k, EVP_sha256()) <= 0 ||
	    (n = i2d_X509_CRL(crl, &der)) <= 0)
		goto out;
	error = coffer_file_write(crl_path, der, (size_t)n, 0644);
out:
	if (error == COFFER_ERROR)
		coffer_error_set_ssl(error, "sim tdx: CRL");
	OPENSSL_free(der);
	ASN1_TIME_free(t);
	X509_REVOKED_free(rev);
	X509_CRL_free(crl);
	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(ca_k);
	return error;
}

void sim_tdx_remove(const char *dir)
{
	char path[4096];

	for (size_t i = 0; i < sizeof(sim_files) / sizeof(sim_files[0]); i++)
		if (path_of(path, sizeof(path), dir, sim_files[i]) == 0)
			unlink(path);
	if (path_of(path, sizeof(path), dir, "tdx/collateral") == 0)
		rmdir(path);
	if (path_of(path, sizeof(path), dir, "tdx") == 0)
		rmdir(path);
	rmdir(dir);
}
