/*
 * The fixed default policy, behind the policy interface until the Rego
 * engine replaces it. Appraisal has the semantics of upstream's default CPU
 * attestation policy (trustee ear_default_policy_cpu.rego): a rule body
 * holds when each referenced claim is defined and not false, exactly as a
 * Rego reference does. Resource decisions implement the upstream policy
 * named in the configuration: "default" (allow the resource plugin unless
 * the evidence is `sample`), "allow_all", "deny_all", "affirming" (every
 * submodule's ear.status is "affirming").
 */
#include <stdlib.h>
#include <string.h>

#include "cofferd.h"

struct fixed {
	char mode[16];
};

/* Rego truthiness of a reference: defined and not false. */
static bool truthy(const json_t *v)
{
	return v != NULL && !json_is_false(v);
}

static const json_t *path(const json_t *root, const char *const *keys)
{
	const json_t *v = root;

	for (size_t i = 0; keys[i] && v; i++)
		v = json_object_get(v, keys[i]);
	return v;
}

#define P(...) path(in, (const char *const[]){ __VA_ARGS__, NULL })

static bool str_eq(const json_t *v, const char *s)
{
	return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

static bool tdx_uefi_event(const json_t *in, const char *type, const char *detail)
{
	const json_t *logs = P("tdx", "uefi_event_logs"), *ev;
	size_t i;

	json_array_foreach(logs, i, ev)
	{
		const json_t *dg, *d;
		size_t j;
		if (!str_eq(json_object_get(ev, "type_name"), type))
			continue;
		if (detail &&
		    !str_eq(json_object_get(json_object_get(ev, "details"), "string"), detail))
			continue;
		dg = json_object_get(ev, "digests");
		json_array_foreach(dg, j, d)
		{
			if (truthy(json_object_get(d, "digest")))
				return true;
		}
	}
	return false;
}

static int fixed_appraise(void *ctx, json_t **tv_out, char **policy_id, const char *tee,
                          const json_t *in, const json_t *reference)
{
	int executables = 33, hardware = 97, configuration = 36;
	json_t *tv;
	(void)ctx;
	(void)tee;
	(void)reference;

	/* sample */
	if (truthy(P("sample")) && truthy(P("sample", "launch_digest")))
		executables = 3;
	if (truthy(P("sample")) && truthy(P("sample", "svn")) &&
	    truthy(P("sample", "platform_version", "major")) &&
	    truthy(P("sample", "platform_version", "minor")))
		hardware = 2;
	/* snp */
	if (truthy(P("snp")) && truthy(P("snp", "measurement")))
		executables = 3;
	if (truthy(P("snp")) && truthy(P("snp", "reported_tcb_bootloader")) &&
	    truthy(P("snp", "reported_tcb_microcode")) && truthy(P("snp", "reported_tcb_snp")) &&
	    truthy(P("snp", "reported_tcb_tee")))
		hardware = 2;
	if (json_is_false(P("snp", "policy_debug_allowed")) &&
	    json_is_false(P("snp", "policy_migrate_ma"))) {
		if (truthy(P("snp", "platform_smt_enabled")) &&
		    truthy(P("snp", "policy_abi_major")) && truthy(P("snp", "policy_abi_minor")) &&
		    truthy(P("snp", "policy_single_socket")) &&
		    truthy(P("snp", "policy_smt_allowed")))
			configuration = 2;
		else
			configuration = 3;
	}
	/* tdx */
	if (truthy(P("tdx")) && truthy(P("tdx", "quote", "body", "rtmr_1")) &&
	    truthy(P("tdx", "quote", "body", "rtmr_2"))) {
		if (tdx_uefi_event(in, "EV_EFI_BOOT_SERVICES_APPLICATION", NULL) &&
		    tdx_uefi_event(in, "EV_EVENT_TAG", "LOADED_IMAGE::LoadOptions"))
			executables = 3;
		else
			executables = 4;
	}
	if (str_eq(P("tdx", "quote", "header", "tee_type"), "81000000") &&
	    str_eq(P("tdx", "quote", "header", "vendor_id"), "939a7233f79c4ca9940a0db3957f0607") &&
	    truthy(P("tdx", "quote", "body", "mr_seam")) &&
	    truthy(P("tdx", "quote", "body", "tcb_svn")) &&
	    truthy(P("tdx", "quote", "body", "mr_td")) && truthy(P("tdx", "tcb_status")) &&
	    str_eq(P("tdx", "collateral_expiration_status"), "0"))
		hardware = 2;
	if (json_is_false(P("tdx", "td_attributes", "debug")) &&
	    truthy(P("tdx", "quote", "body", "xfam")))
		configuration = 2;

	tv = json_pack("{s:i,s:i,s:i}", "configuration", configuration, "executables", executables,
	               "hardware", hardware);
	*policy_id = strdup("default_cpu");
	if (tv == NULL || *policy_id == NULL) {
		json_decref(tv);
		free(*policy_id);
		*policy_id = NULL;
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	*tv_out = tv;
	return 0;
}

static int fixed_allow(void *ctx, bool *allowed, const json_t *claims, const json_t *data)
{
	struct fixed *f = ctx;
	const json_t *submods, *sm;
	const char *k;

	*allowed = false;
	if (strcmp(f->mode, "allow_all") == 0) {
		*allowed = true;
	} else if (strcmp(f->mode, "deny_all") == 0) {
		*allowed = false;
	} else if (strcmp(f->mode, "affirming") == 0) {
		submods = json_object_get(claims, "submods");
		if (json_object_size(submods) == 0)
			return 0;
		json_object_foreach((json_t *)submods, k, sm)
		{
			if (!str_eq(json_object_get(sm, "ear.status"), "affirming"))
				return 0;
		}
		*allowed = true;
	} else {
		/* upstream default: plugin "resource", and not sample evidence */
		const json_t *in = claims;
		*allowed =
		        str_eq(json_object_get(data, "plugin"), "resource") &&
		        P("submods", "cpu0", "ear.veraison.annotated-evidence", "sample") == NULL;
	}
	return 0;
}

static void fixed_free(void *ctx)
{
	free(ctx);
}

static const struct cofferd_policy_ops fixed_ops = {
	.name = "fixed-default",
	.appraise = fixed_appraise,
	.allow_resource = fixed_allow,
	.free = fixed_free,
};

int cofferd_policy_fixed_new(const struct cofferd_policy_ops **ops, void **ctx,
                             const char *resource_mode)
{
	struct fixed *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	snprintf(f->mode, sizeof(f->mode), "%s", resource_mode ? resource_mode : "default");
	*ops = &fixed_ops;
	*ctx = f;
	return 0;
}

const char *cofferd_ear_status(const json_t *tv)
{
	const char *k;
	json_t *v;
	json_int_t worst = 0;
	bool any = false;

	json_object_foreach((json_t *)tv, k, v)
	{
		json_int_t x = json_integer_value(v);
		if (!json_is_integer(v) || x == 0)
			continue;
		if (!any || x > worst)
			worst = x;
		any = true;
	}
	/* AR4SI tiers (draft-ietf-rats-ar4si section 2.3.2) */
	if (!any || worst < 2)
		return "none";
	if (worst <= 31)
		return "affirming";
	if (worst <= 95)
		return "warning";
	return "contraindicated";
}
