/*
 * A broker's lifetime without its listener: what main.c opens once the
 * configuration is final, and what it releases on the way out. The request
 * fuzz target (tests/fuzz/fuzz_cofferd_request.c) builds its broker with the
 * same two calls, so what it exercises is the broker main.c runs.
 */
#include <stdlib.h>

#include "coffer/file.h"
#include "coffer/json.h"
#include "cofferd.h"

/* attestation.tee_options: one JSON object of owner checks per TEE. */
static int load_tee_options(struct cofferd *d)
{
	uint8_t *text = NULL;
	size_t len = 0;
	int error;

	if (d->cfg.tee_options == NULL)
		return 0;
	if ((error = coffer_file_read(&text, &len, d->cfg.tee_options, 1024 * 1024)) < 0)
		return coffer_error_wrap(error, "attestation.tee_options %s", d->cfg.tee_options);
	error = coffer_json_parse(&d->tee_options, (const char *)text, len, 0);
	free(text);
	if (error < 0)
		return coffer_error_wrap(error, "attestation.tee_options %s", d->cfg.tee_options);
	if (!json_is_object(d->tee_options))
		return coffer_error_set(COFFER_EINVAL,
		                        "attestation.tee_options: want {\"snp\": {...}, ...}");
	return 0;
}

int cofferd_open(struct cofferd *d)
{
	coffer_store_options so = COFFER_STORE_OPTIONS_INIT;
	int error;

	so.master_key_path = d->cfg.master_key;
	so.create_master_key = true;
	if ((error = load_tee_options(d)) < 0 ||
	    (error = coffer_store_open(&d->store, d->cfg.store_url, &so)) < 0 ||
	    (error = cofferd_token_init(d)) < 0 ||
	    (error = cofferd_policy_rego_new(&d->policy, &d->policy_ctx, d)) < 0 ||
	    (error = cofferd_admin_bootstrap(d)) < 0)
		return error;
	return 0;
}

void cofferd_close(struct cofferd *d)
{
	if (d->store)
		cofferd_audit_shutdown(d); /* checkpoint the chain's head */
	cofferd_admin_free();
	json_decref(d->tee_options);
	cofferd_tokcache_flush();
	if (d->policy && d->policy->free)
		d->policy->free(d->policy_ctx);
	for (size_t i = 0; i < d->n_verify_keys; i++)
		coffer_jwk_free(d->verify_keys[i]);
	free(d->verify_keys);
	coffer_jwk_free(d->signing_key);
	json_decref(d->signing_jwk_pub);
	json_decref(d->x5c);
	free(d->jwks_body);
	coffer_store_close(d->store);
	cofferd_config_free(&d->cfg);
	pthread_rwlock_destroy(&d->cfg_lock);
}
