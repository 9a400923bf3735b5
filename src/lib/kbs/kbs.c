/* KBS protocol 0.4.0 helpers (PROTOCOL.md sections 1-3). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "coffer/buf.h"
#include "coffer/evp.h"
#include "coffer/json.h"
#include "coffer/kbs.h"

static const char *const known_tees[] = {
	"sample", "sampledevice", "snp", "tdx",    "sgx",      "az-snp-vtpm", "az-tdx-vtpm", "tpm",
	"cca",    "csv",          "se",  "nvidia", "hygondcu", "snp-sim",     "tdx-sim",     NULL,
};

int coffer_kbs_hash_from_name(coffer_kbs_hash *out, const char *name)
{
	if (name == NULL)
		return coffer_error_set(COFFER_EINVAL, "no hash algorithm");
	if (strcmp(name, "sha256") == 0)
		*out = COFFER_KBS_SHA256;
	else if (strcmp(name, "sha384") == 0)
		*out = COFFER_KBS_SHA384;
	else if (strcmp(name, "sha512") == 0)
		*out = COFFER_KBS_SHA512;
	else
		return coffer_error_set(COFFER_EUNSUPPORTED, "unsupported hash algorithm '%.32s'",
		                        name);
	return 0;
}

const char *coffer_kbs_hash_name(coffer_kbs_hash h)
{
	switch (h) {
	case COFFER_KBS_SHA256:
		return "sha256";
	case COFFER_KBS_SHA384:
		return "sha384";
	case COFFER_KBS_SHA512:
		return "sha512";
	}
	return "sha384";
}

size_t coffer_kbs_hash_len(coffer_kbs_hash h)
{
	switch (h) {
	case COFFER_KBS_SHA256:
		return 32;
	case COFFER_KBS_SHA384:
		return 48;
	case COFFER_KBS_SHA512:
		return 64;
	}
	return 48;
}

static const EVP_MD *hash_md(coffer_kbs_hash h)
{
	switch (h) {
	case COFFER_KBS_SHA256:
		return coffer_sha256();
	case COFFER_KBS_SHA384:
		return coffer_sha384();
	case COFFER_KBS_SHA512:
		return coffer_sha512();
	}
	return NULL;
}

coffer_kbs_hash coffer_kbs_binding_hash_for_tee(const char *tee)
{
	/* PROTOCOL.md section 1: SHA-384 unless `se` (SHA-512) */
	if (tee && strcmp(tee, "se") == 0)
		return COFFER_KBS_SHA512;
	return COFFER_KBS_SHA384;
}

bool coffer_kbs_tee_known(const char *tee)
{
	if (tee == NULL)
		return false;
	for (size_t i = 0; known_tees[i]; i++)
		if (strcmp(known_tees[i], tee) == 0)
			return true;
	return false;
}

static int digest(uint8_t out[COFFER_KBS_DIGEST_MAX], size_t *out_len, coffer_kbs_hash h,
                  const void *data, size_t len)
{
	const EVP_MD *md = hash_md(h);
	unsigned int n = 0;

	if (md == NULL)
		return coffer_error_set(COFFER_EUNSUPPORTED, "unsupported hash");
	if (EVP_Digest(data, len, out, &n, md, NULL) != 1)
		return coffer_error_set_ssl(COFFER_ERROR, "digest failed");
	*out_len = n;
	return 0;
}

int coffer_kbs_binding_digest(uint8_t out[COFFER_KBS_DIGEST_MAX], size_t *out_len,
                              coffer_kbs_hash h, const char *nonce, const json_t *tee_pubkey,
                              const char *additional_evidence)
{
	json_t *obj = NULL;
	char *text = NULL;
	size_t len = 0;
	int error;

	if (nonce == NULL || !json_is_object(tee_pubkey))
		return coffer_error_set(COFFER_EINVAL, "binding: nonce and tee-pubkey required");
	obj = json_object();
	if (obj == NULL || json_object_set_new(obj, "nonce", json_string(nonce)) < 0 ||
	    json_object_set(obj, "tee-pubkey", (json_t *)tee_pubkey) < 0 ||
	    (additional_evidence && json_object_set_new(obj, "additional-evidence",
	                                                json_string(additional_evidence)) < 0)) {
		error = coffer_error_set(COFFER_EINVAL, "binding: nonce or evidence not UTF-8");
		goto out;
	}
	if ((error = coffer_jcs_serialize(&text, &len, obj)) < 0) {
		coffer_error_wrap(error, "binding");
		goto out;
	}
	error = digest(out, out_len, h, text, len);
out:
	free(text);
	json_decref(obj);
	return error;
}

int coffer_kbs_init_data_digest(uint8_t out[COFFER_KBS_DIGEST_MAX], size_t *out_len,
                                coffer_kbs_hash h, const void *body, size_t len)
{
	if (body == NULL && len)
		return coffer_error_set(COFFER_EINVAL, "init-data: no body");
	return digest(out, out_len, h, body ? body : "", len);
}

void coffer_kbs_fit_digest(uint8_t *field, size_t field_len, const uint8_t *dg, size_t dg_len)
{
	size_t n = dg_len < field_len ? dg_len : field_len;

	memset(field, 0, field_len);
	if (n)
		memcpy(field, dg, n);
}

static bool seg_char(unsigned char c, bool first)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '_' || c == '-')
		return true;
	return !first && c == '.';
}

bool coffer_kbs_segment_valid(const char *seg, size_t len)
{
	if (seg == NULL || len == 0 || len > COFFER_KBS_SEGMENT_MAX)
		return false;
	/* ^[A-Za-z0-9_-]+[A-Za-z0-9_.-]*$: the first character is never '.',
	 * so "." and ".." can never be a segment */
	if (!seg_char((unsigned char)seg[0], true))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!seg_char((unsigned char)seg[i], false))
			return false;
	return true;
}

int coffer_kbs_resource_path_parse(coffer_kbs_resource_path *out, const char *path, size_t len)
{
	char *dst[3];
	size_t start = 0, n = 0;

	if (path == NULL)
		return coffer_error_set(COFFER_EINVAL, "resource path: empty");
	dst[0] = out->repository;
	dst[1] = out->type;
	dst[2] = out->tag;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && path[i] == '\0')
			return coffer_error_set(COFFER_EINVAL, "resource path: NUL byte");
		if (i < len && path[i] != '/')
			continue;
		if (n == 3)
			return coffer_error_set(COFFER_EINVAL,
			                        "resource path: more than three segments");
		if (!coffer_kbs_segment_valid(path + start, i - start))
			return coffer_error_set(COFFER_EINVAL, "resource path: invalid segment %zu",
			                        n + 1);
		memcpy(dst[n], path + start, i - start);
		dst[n][i - start] = '\0';
		n++;
		start = i + 1;
	}
	if (n != 3)
		return coffer_error_set(COFFER_EINVAL,
		                        "resource path: want <repository>/<type>/<tag>");
	return 0;
}

int coffer_kbs_resource_uri_parse(coffer_kbs_resource_path *out, const char *uri)
{
	const char *p;

	if (uri == NULL || strncmp(uri, "kbs://", 6) != 0)
		return coffer_error_set(COFFER_EINVAL,
		                        "resource URI: want kbs:///<repo>/<type>/<tag>");
	/* the host part is ignored (PROTOCOL.md section 6) */
	p = strchr(uri + 6, '/');
	if (p == NULL)
		return coffer_error_set(COFFER_EINVAL, "resource URI: no path");
	return coffer_kbs_resource_path_parse(out, p + 1, strlen(p + 1));
}

int coffer_kbs_resource_path_format(char *out, size_t size, const coffer_kbs_resource_path *p)
{
	int n = snprintf(out, size, "%s/%s/%s", p->repository, p->type, p->tag);

	if (n < 0 || (size_t)n >= size)
		return coffer_error_set(COFFER_ELIMIT, "resource path too long");
	return 0;
}

int coffer_kbs_error_body(char **out, size_t *len, const char *variant, const char *detail)
{
	char type[160];
	json_t *obj;
	int error, n;

	n = snprintf(type, sizeof(type), "https://github.com/confidential-containers/kbs/errors/%s",
	             variant ? variant : "PluginInternalError");
	if (n < 0 || (size_t)n >= sizeof(type))
		return coffer_error_set(COFFER_EINVAL, "error variant too long");
	obj = json_object();
	if (obj == NULL || json_object_set_new(obj, "type", json_string(type)) < 0 ||
	    json_object_set_new(obj, "detail", json_string(detail ? detail : "")) < 0) {
		json_decref(obj);
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	*out = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	error = *out ? 0 : coffer_error_set(COFFER_ENOMEM, "out of memory");
	if (*out && len)
		*len = strlen(*out);
	json_decref(obj);
	return error;
}
