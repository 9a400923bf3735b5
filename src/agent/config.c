/* agent.toml (docs/agent.md, deploy/coffer-agent.toml): strict, unknown keys refused. */
#include <stdlib.h>
#include <string.h>

#include "coffer/file.h"
#include "coffer/toml.h"
#include "agent.h"

#define CONFIG_MAX ((size_t)256 * 1024)

void agent_config_defaults(struct agent_config *c)
{
	memset(c, 0, sizeof(*c));
	c->rate_per_s = 50;
	c->max_conns = 16;
	c->max_body = 64 * 1024;
}

void agent_config_free(struct agent_config *c)
{
	char **strs[] = { &c->listen,   &c->broker,    &c->cacert,    &c->tee,
		          &c->key_type, &c->init_data, &c->tsm_root,  &c->sev_guest,
		          &c->ccel,     &c->port_file, &c->snp_report };

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

static int get_str(char **dst, const coffer_toml_value *t, const char *key)
{
	const char *s;
	int error = coffer_toml_get_string(&s, t, key);

	if (error == COFFER_ENOTFOUND) {
		coffer_error_clear();
		return 0;
	}
	if (error < 0)
		return error;
	free(*dst);
	*dst = strdup(s);
	return *dst ? 0 : coffer_error_set(COFFER_ENOMEM, "out of memory");
}

static int get_bool(bool *dst, const coffer_toml_value *t, const char *key)
{
	int error = coffer_toml_get_bool(dst, t, key);

	if (error == COFFER_ENOTFOUND) {
		coffer_error_clear();
		return 0;
	}
	return error;
}

static int get_uint(unsigned *dst, const coffer_toml_value *t, const char *key, int64_t max)
{
	int64_t v;
	int error = coffer_toml_get_int(&v, t, key);

	if (error == COFFER_ENOTFOUND) {
		coffer_error_clear();
		return 0;
	}
	if (error < 0)
		return error;
	if (v < 0 || v > max)
		return coffer_error_set(COFFER_EINVAL, "%s: %lld is outside 0..%lld", key,
		                        (long long)v, (long long)max);
	*dst = (unsigned)v;
	return 0;
}

static int section(const coffer_toml_value **out, const coffer_toml_value *root, const char *name,
                   const char *const *keys, size_t n)
{
	int error = coffer_toml_get_table(out, root, name);

	if (error == COFFER_ENOTFOUND) {
		coffer_error_clear();
		*out = NULL;
		return 0;
	}
	if (error < 0)
		return error;
	return coffer_toml_check_keys(*out, keys, n);
}

int agent_config_load(struct agent_config *c, const char *path)
{
	static const char *const top[] = { "agent", "broker", "attester", "limits" };
	static const char *const k_agent[] = { "listen", "tee", "allow_sample", "serve_tee_key",
		                               "init_data" };
	static const char *const k_broker[] = { "url",     "cacert",     "key_type",
		                                "retries", "backoff_ms", "timeout_ms" };
	static const char *const k_att[] = { "tsm_root", "sev_guest", "ccel", "snp_report" };
	static const char *const k_lim[] = { "rate_per_second", "max_connections", "max_body" };
	const coffer_toml_value *root, *t;
	coffer_toml *doc = NULL;
	uint8_t *text = NULL;
	size_t len = 0;
	unsigned u;
	int error;

	if ((error = coffer_file_read(&text, &len, path, CONFIG_MAX)) < 0)
		return coffer_error_wrap(error, "%s", path);
	if ((error = coffer_toml_parse(&doc, (const char *)text, len, NULL)) < 0) {
		error = coffer_error_wrap(error, "%s", path);
		goto out;
	}
	root = coffer_toml_root(doc);
	if ((error = coffer_toml_check_keys(root, top, 4)) < 0)
		goto bad;
	if ((error = section(&t, root, "agent", k_agent, 5)) < 0)
		goto bad;
	if (t && ((error = get_str(&c->listen, t, "listen")) < 0 ||
	          (error = get_str(&c->tee, t, "tee")) < 0 ||
	          (error = get_bool(&c->allow_sample, t, "allow_sample")) < 0 ||
	          (error = get_bool(&c->serve_tee_key, t, "serve_tee_key")) < 0 ||
	          (error = get_str(&c->init_data, t, "init_data")) < 0))
		goto bad;
	if ((error = section(&t, root, "broker", k_broker, 6)) < 0)
		goto bad;
	if (t) {
		unsigned to = 0;
		if ((error = get_str(&c->broker, t, "url")) < 0 ||
		    (error = get_str(&c->cacert, t, "cacert")) < 0 ||
		    (error = get_str(&c->key_type, t, "key_type")) < 0 ||
		    (error = get_uint(&c->retries, t, "retries", 20)) < 0 ||
		    (error = get_uint(&c->backoff_ms, t, "backoff_ms", 60000)) < 0 ||
		    (error = get_uint(&to, t, "timeout_ms", 600000)) < 0)
			goto bad;
		if (to)
			c->timeout_ms = to;
	}
	if ((error = section(&t, root, "attester", k_att, 4)) < 0)
		goto bad;
	if (t && ((error = get_str(&c->tsm_root, t, "tsm_root")) < 0 ||
	          (error = get_str(&c->sev_guest, t, "sev_guest")) < 0 ||
	          (error = get_str(&c->ccel, t, "ccel")) < 0 ||
	          (error = get_str(&c->snp_report, t, "snp_report")) < 0))
		goto bad;
	if ((error = section(&t, root, "limits", k_lim, 3)) < 0)
		goto bad;
	if (t) {
		if ((error = get_uint(&c->rate_per_s, t, "rate_per_second", 100000)) < 0 ||
		    (error = get_uint(&c->max_conns, t, "max_connections", 1024)) < 0)
			goto bad;
		u = (unsigned)c->max_body;
		if ((error = get_uint(&u, t, "max_body", 16 * 1024 * 1024)) < 0)
			goto bad;
		c->max_body = u;
	}
	error = 0;
	goto out;
bad:
	error = coffer_error_wrap(error, "%s", path);
out:
	coffer_toml_free(doc);
	free(text);
	return error;
}
