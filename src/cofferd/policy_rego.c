/*
 * Rego policies behind the policy interface (docs/cofferd.md "Policies").
 *
 * - attestation (`package policy`, id "default_cpu"): input = the annotated
 *   evidence, data.reference = the reference values; output
 *   data.policy.trust_claims (AR4SI claims) and optional
 *   data.policy.extensions.
 * - resource (the workload provider's global gate) and release (one per
 *   namespace, set by its owner; PERSONAS.md rule 3): data.policy.allow with
 *   input = the token claims and data = {"plugin", "resource-path", "query"}.
 *
 * Every policy is compiled once (at start or when uploaded). A compiled
 * policy is reference counted: a request takes a reference under the read
 * lock and evaluates without it, so an upload swaps the pointer while older
 * requests finish with the previous policy. Every evaluation is bounded
 * (steps, memory, depth, output and the C stack of the calling thread); any
 * error is a denial.
 */
#define _GNU_SOURCE /* pthread_getattr_np */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cofferd.h"

struct pol {
	atomic_int refs;
	coffer_rego_policy *policy;
	coffer_rego_query *q1; /* allow, or trust_claims */
	coffer_rego_query *q2; /* extensions (attestation) */
	char id[96];
};

struct release_entry {
	char *ns;
	struct pol *p;
};

struct rego_ctx {
	pthread_rwlock_t lock;
	struct pol *attestation;
	struct pol *resource;
	struct pol *release_default;
	struct release_entry *rel;
	size_t n_rel, cap_rel;
};

/* Bounds of one evaluation on the request path. */
#define EVAL_STEPS     2000000u
#define EVAL_MEMORY    (16u * 1024 * 1024)
#define EVAL_DEPTH     256u
#define EVAL_OUTPUT    (256u * 1024)
#define EVAL_STACK_MAX (3u * 1024 * 1024)

static void pol_put(struct pol *p)
{
	if (p == NULL || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	coffer_rego_query_free(p->q1);
	coffer_rego_query_free(p->q2);
	coffer_rego_policy_free(p->policy);
	free(p);
}

static struct pol *pol_get(struct rego_ctx *c, struct pol *const *slot)
{
	struct pol *p;

	pthread_rwlock_rdlock(&c->lock);
	p = *slot;
	if (p)
		atomic_fetch_add(&p->refs, 1);
	pthread_rwlock_unlock(&c->lock);
	return p;
}

static int pol_compile(struct pol **out, const char *kind, const char *id, const char *text,
                       size_t len, coffer_rego_diag *diag)
{
	coffer_rego_module m = { "policy.rego", text, len };
	struct pol *p = calloc(1, sizeof(*p));
	bool att = strcmp(kind, "attestation") == 0;
	int error;

	if (p == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	atomic_init(&p->refs, 1);
	snprintf(p->id, sizeof(p->id), "%s", id);
	if ((error = coffer_rego_policy_compile(&p->policy, &m, 1, diag)) < 0 ||
	    (error = coffer_rego_query_compile(
	             &p->q1, p->policy, att ? "data.policy.trust_claims" : "data.policy.allow",
	             diag)) < 0 ||
	    (att && (error = coffer_rego_query_compile(&p->q2, p->policy, "data.policy.extensions",
	                                               diag)) < 0)) {
		pol_put(p);
		if (diag)
			return coffer_error_set(
			        COFFER_EINVAL, "%s policy %s: %s at line %d, column %d: %s", kind,
			        id, diag->code, diag->line, diag->col, diag->message);
		return coffer_error_set(COFFER_EINVAL, "%s policy %s does not compile", kind, id);
	}
	*out = p;
	return 0;
}

static int builtin(struct pol **out, const char *kind, const char *name, const char *id)
{
	coffer_rego_diag diag;

	for (size_t i = 0; i < cofferd_n_builtin_policies; i++) {
		const struct cofferd_builtin_policy *b = &cofferd_builtin_policies[i];
		if (strcmp(b->name, name) == 0)
			return pol_compile(out, kind, id, b->text, b->len, &diag);
	}
	return coffer_error_set(COFFER_ENOTFOUND, "no built-in policy %s", name);
}

/* The C stack one evaluation may use on the calling thread (libmicrohttpd's
 * pool threads have the process default, usually 8 MiB). */
static size_t stack_budget(void)
{
	static _Thread_local size_t budget;
	pthread_attr_t attr;
	size_t size = 0;
	void *addr;

	if (budget)
		return budget;
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		if (pthread_attr_getstack(&attr, &addr, &size) != 0)
			size = 0;
		pthread_attr_destroy(&attr);
	}
	/* keep 1 MiB for the caller's own frames */
	if (size >= 2u * 1024 * 1024)
		budget = size - 1024u * 1024;
	else
		budget = size / 2 ? size / 2 : 256u * 1024;
	if (budget > EVAL_STACK_MAX)
		budget = EVAL_STACK_MAX;
	return budget;
}

static void limits(coffer_rego_limits *l)
{
	coffer_rego_limits init = COFFER_REGO_LIMITS_INIT;

	*l = init;
	l->max_steps = EVAL_STEPS;
	l->max_memory = EVAL_MEMORY;
	l->max_depth = EVAL_DEPTH;
	l->max_output = EVAL_OUTPUT;
	l->max_stack = stack_budget();
}

/* ---- attestation ---- */

static const char *const ar4si[] = {
	"instance-identity", "configuration",  "executables",    "file-system",
	"hardware",          "runtime-opaque", "storage-opaque", "sourced-data",
};

static int check_trust_claims(const json_t *tc)
{
	const char *k;
	json_t *v;

	if (!json_is_object(tc) || json_object_size(tc) == 0)
		return coffer_error_set(COFFER_EINVAL, "the attestation policy set no trust claim");
	json_object_foreach((json_t *)tc, k, v)
	{
		bool known = false;
		for (size_t i = 0; i < sizeof(ar4si) / sizeof(ar4si[0]); i++)
			known = known || strcmp(k, ar4si[i]) == 0;
		if (!known)
			return coffer_error_set(COFFER_EINVAL, "trust_claims: unknown claim %.64s",
			                        k);
		if (!json_is_integer(v) || json_integer_value(v) < -128 ||
		    json_integer_value(v) > 127)
			return coffer_error_set(COFFER_EINVAL,
			                        "trust_claims.%s: want an integer in -128..127", k);
	}
	return 0;
}

static int rego_appraise(void *ctx, json_t **tv_out, json_t **ext_out, char **policy_id,
                         const char *tee, const json_t *input, const json_t *reference)
{
	struct rego_ctx *c = ctx;
	struct pol *p = pol_get(c, &c->attestation);
	json_t *data = NULL, *tv = NULL, *ext = NULL;
	coffer_rego_limits lim;
	coffer_rego_diag diag;
	int error;
	(void)tee;

	*tv_out = NULL;
	*ext_out = NULL;
	*policy_id = NULL;
	if (p == NULL)
		return coffer_error_set(COFFER_EINVAL, "no attestation policy");
	limits(&lim);
	memset(&diag, 0, sizeof(diag));
	data = json_pack("{s:O}", "reference", reference ? (json_t *)reference : json_object());
	if (data == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	error = coffer_rego_query_value(&tv, p->q1, input, data, &lim, &diag);
	if (error == COFFER_ENOTFOUND) {
		error = coffer_error_set(COFFER_EINVAL, "attestation policy %s: no trust_claims",
		                         p->id);
		goto out;
	}
	if (error < 0) {
		error = coffer_error_set(error, "attestation policy %s: %s at line %d: %s", p->id,
		                         diag.code, diag.line, diag.message);
		goto out;
	}
	if ((error = check_trust_claims(tv)) < 0)
		goto out;
	error = coffer_rego_query_value(&ext, p->q2, input, data, &lim, &diag);
	if (error == COFFER_ENOTFOUND) {
		ext = NULL;
	} else if (error < 0) {
		error = coffer_error_set(error, "attestation policy %s: %s at line %d: %s", p->id,
		                         diag.code, diag.line, diag.message);
		goto out;
	}
	if ((*policy_id = strdup(p->id)) == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	*tv_out = tv;
	*ext_out = ext;
	tv = ext = NULL;
	error = 0;
out:
	json_decref(tv);
	json_decref(ext);
	json_decref(data);
	pol_put(p);
	return error;
}

/* ---- release ---- */

/* Evaluate one gate; fills dec (policy and reason) on denial. */
static bool gate(struct pol *p, const char *label, struct cofferd_decision *dec,
                 const json_t *claims, const json_t *data)
{
	coffer_rego_limits lim;
	coffer_rego_diag diag;
	int allowed = 0, error;

	limits(&lim);
	memset(&diag, 0, sizeof(diag));
	error = coffer_rego_query_allow(&allowed, p->q1, claims, data, &lim, &diag);
	if (error == 0 && allowed == 1)
		return true;
	snprintf(dec->policy, sizeof(dec->policy), "%s", label);
	if (error < 0)
		snprintf(dec->reason, sizeof(dec->reason),
		         "evaluation failed: %.31s at line %d: %.150s", diag.code, diag.line,
		         diag.message);
	else
		snprintf(dec->reason, sizeof(dec->reason), "not allowed");
	return false;
}

static struct pol *release_get(struct rego_ctx *c, const char *ns, bool *owner)
{
	struct pol *p = NULL;

	pthread_rwlock_rdlock(&c->lock);
	for (size_t i = 0; i < c->n_rel; i++) {
		if (strcmp(c->rel[i].ns, ns) == 0) {
			p = c->rel[i].p;
			break;
		}
	}
	*owner = p != NULL;
	if (p == NULL)
		p = c->release_default;
	if (p)
		atomic_fetch_add(&p->refs, 1);
	pthread_rwlock_unlock(&c->lock);
	return p;
}

static int rego_release(void *ctx, struct cofferd_decision *dec, const json_t *claims,
                        const json_t *data, const char *ns)
{
	struct rego_ctx *c = ctx;
	struct pol *res = pol_get(c, &c->resource), *rel = NULL;
	char label[128];
	bool owner = false;

	memset(dec, 0, sizeof(*dec));
	dec->allowed = false;
	if (res == NULL) {
		snprintf(dec->policy, sizeof(dec->policy), "resource policy");
		snprintf(dec->reason, sizeof(dec->reason), "no resource policy");
		return 0;
	}
	snprintf(dec->policy_ids[0], sizeof(dec->policy_ids[0]), "resource:%.80s", res->id);
	if (!gate(res, "resource policy", dec, claims, data))
		goto out;
	rel = release_get(c, ns, &owner);
	if (rel == NULL) {
		snprintf(dec->policy, sizeof(dec->policy), "release policy of %.64s", ns);
		snprintf(dec->reason, sizeof(dec->reason), "no release policy");
		goto out;
	}
	snprintf(dec->policy_ids[1], sizeof(dec->policy_ids[1]), "release:%.80s", rel->id);
	snprintf(label, sizeof(label), "%s release policy of %.64s",
	         owner ? "the owner's" : "the default", ns);
	if (!gate(rel, label, dec, claims, data))
		goto out;
	dec->allowed = true;
	snprintf(dec->reason, sizeof(dec->reason), "resource and release policies allow");
out:
	pol_put(res);
	pol_put(rel);
	return 0;
}

/* ---- loading and replacing ---- */

static void swap(struct rego_ctx *c, struct pol **slot, struct pol *p)
{
	struct pol *old;

	pthread_rwlock_wrlock(&c->lock);
	old = *slot;
	*slot = p;
	pthread_rwlock_unlock(&c->lock);
	pol_put(old);
}

static int set_release(struct rego_ctx *c, const char *ns, struct pol *p)
{
	struct pol *old = NULL;
	char *nsdup = NULL;
	int error = 0;

	pthread_rwlock_wrlock(&c->lock);
	for (size_t i = 0; i < c->n_rel; i++) {
		if (strcmp(c->rel[i].ns, ns) == 0) {
			old = c->rel[i].p;
			c->rel[i].p = p;
			goto out;
		}
	}
	if (c->n_rel == c->cap_rel) {
		size_t cap = c->cap_rel ? 2 * c->cap_rel : 16;
		struct release_entry *n = realloc(c->rel, cap * sizeof(*n));
		if (n == NULL) {
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			old = p;
			goto out;
		}
		c->rel = n;
		c->cap_rel = cap;
	}
	if ((nsdup = strdup(ns)) == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		old = p;
		goto out;
	}
	c->rel[c->n_rel].ns = nsdup;
	c->rel[c->n_rel].p = p;
	c->n_rel++;
out:
	pthread_rwlock_unlock(&c->lock);
	pol_put(old);
	return error;
}

static int rego_reload(void *ctx, const char *kind, const char *id, const char *text, size_t len,
                       coffer_rego_diag *diag)
{
	struct rego_ctx *c = ctx;
	struct pol *p = NULL;
	int error;

	if (strcmp(kind, "attestation") == 0 && strcmp(id, COFFERD_ATTESTATION_POLICY_ID) != 0)
		return 0; /* stored, not in force */
	if (strcmp(kind, "attestation") != 0 && strcmp(kind, "resource") != 0 &&
	    strcmp(kind, "release") != 0)
		return coffer_error_set(COFFER_EINVAL, "unknown policy kind %s", kind);
	if ((error = pol_compile(&p, kind, id, text, len, diag)) < 0)
		return error;
	if (strcmp(kind, "attestation") == 0)
		swap(c, &c->attestation, p);
	else if (strcmp(kind, "resource") == 0)
		swap(c, &c->resource, p);
	else
		return set_release(c, id, p);
	return 0;
}

/* A stored policy, or COFFER_ENOTFOUND. */
static int load_stored(struct rego_ctx *c, struct cofferd *d, const char *kind, const char *id)
{
	coffer_rego_diag diag;
	char *text = NULL;
	size_t len = 0;
	int error;

	error = coffer_store_policy_get(&text, &len, d->store, kind, id);
	if (error < 0)
		return error;
	memset(&diag, 0, sizeof(diag));
	error = rego_reload(c, kind, id, text, len, &diag);
	free(text);
	return error;
}

static void rego_free(void *ctx)
{
	struct rego_ctx *c = ctx;

	if (c == NULL)
		return;
	pol_put(c->attestation);
	pol_put(c->resource);
	pol_put(c->release_default);
	for (size_t i = 0; i < c->n_rel; i++) {
		free(c->rel[i].ns);
		pol_put(c->rel[i].p);
	}
	free(c->rel);
	pthread_rwlock_destroy(&c->lock);
	free(c);
}

static const struct cofferd_policy_ops rego_ops = {
	.name = "rego",
	.appraise = rego_appraise,
	.release = rego_release,
	.reload = rego_reload,
	.free = rego_free,
};

static const char *builtin_name(const char *kind, const char *mode)
{
	if (strcmp(mode, "allow_all") == 0 || strcmp(mode, "deny_all") == 0)
		return mode;
	return strcmp(kind, "resource") == 0 ? "resource_default" : "release_default";
}

int cofferd_policy_rego_new(const struct cofferd_policy_ops **ops, void **ctx, struct cofferd *d)
{
	struct rego_ctx *c = calloc(1, sizeof(*c));
	const char *res_mode = d->cfg.resource_policy ? d->cfg.resource_policy : "default";
	const char *rel_mode = d->cfg.release_policy ? d->cfg.release_policy : "default";
	char id[96];
	json_t *ids = NULL, *v;
	size_t i;
	int error;

	if (c == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	pthread_rwlock_init(&c->lock, NULL);
	/* built-in defaults first, then what the store holds */
	if ((error = builtin(&c->attestation, "attestation", "attestation_default",
	                     COFFERD_ATTESTATION_POLICY_ID)) < 0)
		goto fail;
	snprintf(id, sizeof(id), "builtin-%s", res_mode);
	if ((error = builtin(&c->resource, "resource", builtin_name("resource", res_mode), id)) < 0)
		goto fail;
	snprintf(id, sizeof(id), "builtin-%s", rel_mode);
	if ((error = builtin(&c->release_default, "release", builtin_name("release", rel_mode),
	                     id)) < 0)
		goto fail;
	error = load_stored(c, d, "attestation", COFFERD_ATTESTATION_POLICY_ID);
	if (error < 0 && error != COFFER_ENOTFOUND)
		goto fail;
	error = load_stored(c, d, "resource", "default");
	if (error < 0 && error != COFFER_ENOTFOUND)
		goto fail;
	if ((error = coffer_store_policy_list(&ids, d->store, "release")) < 0)
		goto fail;
	json_array_foreach(ids, i, v)
	{
		if (!json_is_string(v))
			continue;
		error = load_stored(c, d, "release", json_string_value(v));
		if (error < 0 && error != COFFER_ENOTFOUND)
			goto fail;
	}
	json_decref(ids);
	*ops = &rego_ops;
	*ctx = c;
	return 0;
fail:
	json_decref(ids);
	rego_free(c);
	return error;
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
