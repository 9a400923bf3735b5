/* cofferd configuration: TOML (docs/cofferd.toml.md), strict keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/file.h"
#include "coffer/toml.h"
#include "cofferd.h"

#define CONFIG_MAX ((size_t)1024 * 1024)

void cofferd_config_init(struct cofferd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen = strdup("127.0.0.1:8080");
	c->threads = 4;
	c->max_body = (size_t)2 * 1024 * 1024;
	c->max_connections = 1024;
	c->max_header = 32 * 1024;
	c->timeout = 30;
	c->auth_rate = 0;
	c->auth_burst = 100;
	c->session_lifetime = 300;
	c->token_lifetime = 300;
	c->issuer = strdup("cofferd");
	c->sweep_interval = 60;
	c->resource_policy = strdup("default");
	c->release_policy = strdup("default");
	c->admin_max_lifetime = 300;
	c->audit_checkpoint_every = 100;
	c->audit_commit_delay_us = COFFERD_AUDIT_COMMIT_DELAY_DEFAULT;
	c->audit_page_max = COFFERD_AUDIT_PAGE_MAX;
	c->log_level = strdup("info");
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void cofferd_config_free(struct cofferd_config *c)
{
	free(c->listen);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->port_file);
	free(c->data_dir);
	free(c->store_url);
	free(c->master_key);
	free(c->signing_key);
	free(c->signing_cert);
	free(c->issuer);
	free_list(c->trusted_jwks, c->n_trusted_jwks);
	free(c->roots_dir);
	free(c->collateral_dir);
	free(c->sim_root);
	free(c->tee_options);
	free(c->resource_policy);
	free(c->release_policy);
	free(c->bootstrap_key);
	free_list(c->bootstrap_namespaces, c->n_bootstrap_namespaces);
	free(c->log_level);
	memset(c, 0, sizeof(*c));
}

static int get_str(char **dst, const coffer_toml_value *t, const char *key)
{
	const char *s;
	int error = coffer_toml_get_string(&s, t, key);

	if (error == COFFER_ENOTFOUND)
		return 0;
	if (error < 0)
		return error;
	free(*dst);
	*dst = strdup(s);
	return *dst ? 0 : coffer_error_set(COFFER_ENOMEM, "out of memory");
}

static int get_bool(bool *dst, const coffer_toml_value *t, const char *key)
{
	int error = coffer_toml_get_bool(dst, t, key);

	return error == COFFER_ENOTFOUND ? 0 : error;
}

static int get_int(int64_t *dst, const coffer_toml_value *t, const char *key, int64_t min,
                   int64_t max)
{
	int64_t v;
	int error = coffer_toml_get_int(&v, t, key);

	if (error == COFFER_ENOTFOUND)
		return 0;
	if (error < 0)
		return error;
	if (v < min || v > max)
		return coffer_error_set(COFFER_EINVAL, "%s: %lld is outside %lld..%lld", key,
		                        (long long)v, (long long)min, (long long)max);
	*dst = v;
	return 0;
}

static int get_list(char ***dst, size_t *n, const coffer_toml_value *t, const char *key)
{
	const coffer_toml_value *a;
	char **v;
	size_t cnt;
	int error = coffer_toml_get_array(&a, t, key);

	if (error == COFFER_ENOTFOUND)
		return 0;
	if (error < 0)
		return error;
	cnt = coffer_toml_array_size(a);
	if (cnt > 64)
		return coffer_error_set(COFFER_ELIMIT, "%s: at most 64 entries", key);
	v = calloc(cnt + 1, sizeof(*v));
	if (v == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		const coffer_toml_value *e = coffer_toml_array_at(a, i);
		size_t len = 0;
		const char *s = coffer_toml_string(e, &len);
		if (coffer_toml_type_of(e) != COFFER_TOML_STRING || strlen(s) != len) {
			free_list(v, i);
			return coffer_error_set(COFFER_EINVAL, "%s: entries must be strings", key);
		}
		v[i] = strdup(s);
	}
	free_list(*dst, *n);
	*dst = v;
	*n = cnt;
	return 0;
}

static const char *const top_keys[] = {
	"server", "storage", "attestation", "policy", "admin", "log"
};
static const char *const server_keys[] = { "listen",    "tls_cert",        "tls_key",    "threads",
	                                   "max_body",  "max_connections", "max_header", "timeout",
	                                   "port_file", "auth_rate",       "auth_burst" };
static const char *const storage_keys[] = { "data_dir", "url", "master_key" };
static const char *const att_keys[] = {
	"allow_sample",   "session_lifetime", "token_lifetime", "signing_key", "issuer",
	"trusted_jwks",   "roots_dir",        "collateral_dir", "sim_root",    "allow_rsa1_5",
	"sweep_interval", "tee_options",      "signing_cert",
};
static const char *const policy_keys[] = { "resource", "release" };
static const char *const admin_keys[] = { "bootstrap_key",          "bootstrap_namespaces",
	                                  "max_token_lifetime",     "allow_plaintext_upload",
	                                  "audit_checkpoint_every", "audit_commit_delay_us",
	                                  "audit_page_max" };
static const char *const log_keys[] = { "level" };

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int section(const coffer_toml_value **out, const coffer_toml_value *root, const char *name,
                   const char *const *keys, size_t n)
{
	int error = coffer_toml_get_table(out, root, name);

	if (error == COFFER_ENOTFOUND) {
		*out = NULL;
		return 0;
	}
	if (error < 0)
		return error;
	if ((error = coffer_toml_check_keys(*out, keys, n)) < 0)
		return coffer_error_wrap(error, "[%s]", name);
	return 0;
}

int cofferd_config_load(struct cofferd_config *c, const char *path)
{
	uint8_t *text = NULL;
	size_t len = 0;
	coffer_toml *doc = NULL;
	const coffer_toml_value *root, *t;
	int64_t v;
	int error;

	if ((error = coffer_file_read(&text, &len, path, CONFIG_MAX)) < 0)
		return coffer_error_wrap(error, "config %s", path);
	if ((error = coffer_toml_parse(&doc, (const char *)text, len, NULL)) < 0) {
		coffer_error_wrap(error, "config %s", path);
		goto out;
	}
	root = coffer_toml_root(doc);
	if ((error = coffer_toml_check_keys(root, top_keys, N(top_keys))) < 0)
		goto bad;

	if ((error = section(&t, root, "server", server_keys, N(server_keys))) < 0)
		goto bad;
	if (t) {
		if ((error = get_str(&c->listen, t, "listen")) < 0 ||
		    (error = get_str(&c->tls_cert, t, "tls_cert")) < 0 ||
		    (error = get_str(&c->tls_key, t, "tls_key")) < 0 ||
		    (error = get_str(&c->port_file, t, "port_file")) < 0)
			goto bad;
		v = c->threads;
		if ((error = get_int(&v, t, "threads", 1, 256)) < 0)
			goto bad;
		c->threads = (unsigned)v;
		v = (int64_t)c->max_body;
		if ((error = get_int(&v, t, "max_body", 1024, (int64_t)1 << 30)) < 0)
			goto bad;
		c->max_body = (size_t)v;
		v = c->max_connections;
		if ((error = get_int(&v, t, "max_connections", 1, 100000)) < 0)
			goto bad;
		c->max_connections = (unsigned)v;
		v = (int64_t)c->max_header;
		if ((error = get_int(&v, t, "max_header", 4096, 1024 * 1024)) < 0)
			goto bad;
		c->max_header = (size_t)v;
		v = c->timeout;
		if ((error = get_int(&v, t, "timeout", 1, 3600)) < 0)
			goto bad;
		c->timeout = (unsigned)v;
		v = c->auth_rate;
		if ((error = get_int(&v, t, "auth_rate", 0, 1000000)) < 0)
			goto bad;
		c->auth_rate = (unsigned)v;
		v = c->auth_burst;
		if ((error = get_int(&v, t, "auth_burst", 1, 1000000)) < 0)
			goto bad;
		c->auth_burst = (unsigned)v;
	}
	if ((error = section(&t, root, "storage", storage_keys, N(storage_keys))) < 0)
		goto bad;
	if (t && ((error = get_str(&c->data_dir, t, "data_dir")) < 0 ||
	          (error = get_str(&c->store_url, t, "url")) < 0 ||
	          (error = get_str(&c->master_key, t, "master_key")) < 0))
		goto bad;
	if ((error = section(&t, root, "attestation", att_keys, N(att_keys))) < 0)
		goto bad;
	if (t && ((error = get_bool(&c->allow_sample, t, "allow_sample")) < 0 ||
	          (error = get_int(&c->session_lifetime, t, "session_lifetime", 1, 86400)) < 0 ||
	          (error = get_int(&c->token_lifetime, t, "token_lifetime", 1, 86400)) < 0 ||
	          (error = get_str(&c->signing_key, t, "signing_key")) < 0 ||
	          (error = get_str(&c->signing_cert, t, "signing_cert")) < 0 ||
	          (error = get_str(&c->issuer, t, "issuer")) < 0 ||
	          (error = get_list(&c->trusted_jwks, &c->n_trusted_jwks, t, "trusted_jwks")) < 0 ||
	          (error = get_str(&c->roots_dir, t, "roots_dir")) < 0 ||
	          (error = get_str(&c->collateral_dir, t, "collateral_dir")) < 0 ||
	          (error = get_str(&c->sim_root, t, "sim_root")) < 0 ||
	          (error = get_str(&c->tee_options, t, "tee_options")) < 0 ||
	          (error = get_bool(&c->allow_rsa1_5, t, "allow_rsa1_5")) < 0 ||
	          (error = get_int(&c->sweep_interval, t, "sweep_interval", 1, 86400)) < 0))
		goto bad;
	if ((error = section(&t, root, "policy", policy_keys, N(policy_keys))) < 0)
		goto bad;
	if (t && ((error = get_str(&c->resource_policy, t, "resource")) < 0 ||
	          (error = get_str(&c->release_policy, t, "release")) < 0))
		goto bad;
	if ((error = section(&t, root, "admin", admin_keys, N(admin_keys))) < 0)
		goto bad;
	if (t && ((error = get_str(&c->bootstrap_key, t, "bootstrap_key")) < 0 ||
	          (error = get_list(&c->bootstrap_namespaces, &c->n_bootstrap_namespaces, t,
	                            "bootstrap_namespaces")) < 0 ||
	          (error = get_int(&c->admin_max_lifetime, t, "max_token_lifetime", 1, 300)) < 0 ||
	          (error = get_bool(&c->allow_plaintext_upload, t, "allow_plaintext_upload")) < 0 ||
	          (error = get_int(&c->audit_checkpoint_every, t, "audit_checkpoint_every", 1,
	                           1000000)) < 0 ||
	          (error = get_int(&c->audit_commit_delay_us, t, "audit_commit_delay_us", 0,
	                           COFFERD_AUDIT_COMMIT_DELAY_MAX)) < 0 ||
	          (error = get_int(&c->audit_page_max, t, "audit_page_max", 1,
	                           COFFERD_AUDIT_PAGE_MAX)) < 0))
		goto bad;
	if ((error = section(&t, root, "log", log_keys, N(log_keys))) < 0)
		goto bad;
	if (t && (error = get_str(&c->log_level, t, "level")) < 0)
		goto bad;
	error = 0;
	goto out;
bad:
	coffer_error_wrap(error, "config %s", path);
out:
	coffer_toml_free(doc);
	free(text);
	return error;
}

static int join(char **dst, const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;

	free(*dst);
	*dst = malloc(n);
	if (*dst == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	snprintf(*dst, n, "%s/%s", dir, name);
	return 0;
}

int cofferd_config_finish(struct cofferd_config *c)
{
	static const char *const policies[] = { "default", "allow_all", "deny_all", NULL };
	static const char *const levels[] = { "debug", "info", "warn", "error", NULL };
	bool ok = false;
	int error;

	if (c->data_dir == NULL &&
	    (c->store_url == NULL || c->master_key == NULL || c->signing_key == NULL))
		return coffer_error_set(COFFER_EINVAL,
		                        "storage.data_dir, or storage.url + storage.master_key + "
		                        "attestation.signing_key, is required");
	if (c->data_dir) {
		if (c->store_url == NULL &&
		    (error = join(&c->store_url, c->data_dir, "cofferd.db")) < 0)
			return error;
		if (c->master_key == NULL &&
		    (error = join(&c->master_key, c->data_dir, "master.key")) < 0)
			return error;
		if (c->signing_key == NULL &&
		    (error = join(&c->signing_key, c->data_dir, "token-signing.jwk")) < 0)
			return error;
	}
	if ((c->tls_cert == NULL) != (c->tls_key == NULL))
		return coffer_error_set(COFFER_EINVAL,
		                        "server.tls_cert and server.tls_key go together");
	for (size_t i = 0; policies[i]; i++)
		ok = ok || strcmp(policies[i], c->resource_policy) == 0;
	if (!ok)
		return coffer_error_set(COFFER_EINVAL,
		                        "policy.resource: want default, allow_all or deny_all");
	ok = false;
	for (size_t i = 0; policies[i]; i++)
		ok = ok || strcmp(policies[i], c->release_policy) == 0;
	if (!ok)
		return coffer_error_set(COFFER_EINVAL,
		                        "policy.release: want default, allow_all or deny_all");
	ok = false;
	for (size_t i = 0; levels[i]; i++)
		ok = ok || strcmp(levels[i], c->log_level) == 0;
	if (!ok)
		return coffer_error_set(COFFER_EINVAL,
		                        "log.level: want debug, info, warn or error");
	if (strchr(c->listen, ':') == NULL)
		return coffer_error_set(COFFER_EINVAL, "server.listen: want host:port");
	return 0;
}
