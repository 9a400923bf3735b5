/*
 * TCB info (v2 SGX, v3 TDX) and enclave identity (v2) collateral, Intel PCS
 * API v4. The signature covers the exact raw text of the "tcbInfo" /
 * "enclaveIdentity" member value, so the signed span is located in the text
 * first and the content is parsed from that span alone: what is evaluated is
 * exactly what was signed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/codec.h"
#include "tdx/tdx_internal.h"

#define JSON_MAX_DEPTH  32
#define MAX_LEVELS      256
#define MAX_MODULES     16
#define MAX_ADVISORIES  512
#define COLLATERAL_FAIL "tdx collateral"

static size_t skip_ws(const char *t, size_t n, size_t i)
{
	while (i < n && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
		i++;
	return i;
}

/* t[*i] == '"': move past the closing quote. */
static int skip_string(const char *t, size_t n, size_t *i)
{
	size_t k = *i + 1;

	while (k < n) {
		if (t[k] == '\\') {
			k += 2;
			continue;
		}
		if (t[k] == '"') {
			*i = k + 1;
			return 0;
		}
		k++;
	}
	return COFFER_EINVAL;
}

static int skip_value(const char *t, size_t n, size_t *i)
{
	size_t k = *i;
	int depth = 0;

	if (k >= n)
		return COFFER_EINVAL;
	if (t[k] != '{' && t[k] != '[') {
		if (t[k] == '"')
			return skip_string(t, n, i);
		while (k < n && t[k] != ',' && t[k] != '}' && t[k] != ']' && t[k] != ' ' &&
		       t[k] != '\n' && t[k] != '\r' && t[k] != '\t')
			k++;
		if (k == *i)
			return COFFER_EINVAL;
		*i = k;
		return 0;
	}
	while (k < n) {
		char c = t[k];
		if (c == '"') {
			if (skip_string(t, n, &k) < 0)
				return COFFER_EINVAL;
			continue;
		}
		if (c == '{' || c == '[') {
			if (++depth > JSON_MAX_DEPTH)
				return COFFER_ELIMIT;
		} else if (c == '}' || c == ']') {
			if (--depth == 0) {
				*i = k + 1;
				return 0;
			}
		}
		k++;
	}
	return COFFER_EINVAL;
}

int coffer_tdx_json_member_span(const char **start, size_t *len, const char *t, size_t n,
                                const char *key)
{
	size_t i = skip_ws(t, n, 0), klen = strlen(key);

	if (i >= n || t[i] != '{')
		return coffer_error_set(COFFER_EINVAL, "%s: not a JSON object", COLLATERAL_FAIL);
	i = skip_ws(t, n, i + 1);
	while (i < n && t[i] != '}') {
		size_t ks = i, vs;
		bool match;

		if (t[i] != '"' || skip_string(t, n, &i) < 0)
			return coffer_error_set(COFFER_EINVAL, "%s: bad member name",
			                        COLLATERAL_FAIL);
		match = i - ks - 2 == klen && memcmp(t + ks + 1, key, klen) == 0;
		i = skip_ws(t, n, i);
		if (i >= n || t[i] != ':')
			return coffer_error_set(COFFER_EINVAL, "%s: ':' expected", COLLATERAL_FAIL);
		i = skip_ws(t, n, i + 1);
		vs = i;
		if (skip_value(t, n, &i) < 0)
			return coffer_error_set(COFFER_EINVAL, "%s: bad value", COLLATERAL_FAIL);
		if (match) {
			*start = t + vs;
			*len = i - vs;
			return 0;
		}
		i = skip_ws(t, n, i);
		if (i < n && t[i] == ',')
			i = skip_ws(t, n, i + 1);
	}
	return coffer_error_set(COFFER_ENOTFOUND, "%s: no member '%s'", COLLATERAL_FAIL, key);
}

static int get_hex(uint8_t *out, size_t n, const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	uint8_t *b = NULL;
	size_t bl = 0;

	if (s == NULL)
		return coffer_error_set(COFFER_EINVAL, "%s: '%s' missing", COLLATERAL_FAIL, key);
	if (strlen(s) != 2 * n || coffer_hex_decode(&b, &bl, s, 2 * n) < 0 || bl != n) {
		free(b);
		return coffer_error_set(COFFER_EINVAL, "%s: '%s' is not %zu hex bytes",
		                        COLLATERAL_FAIL, key, n);
	}
	memcpy(out, b, n);
	free(b);
	return 0;
}

static int get_uint(uint32_t *out, const json_t *obj, const char *key, uint32_t max)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return coffer_error_set(COFFER_EINVAL, "%s: '%s' is not an integer 0..%u",
		                        COLLATERAL_FAIL, key, (unsigned)max);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

static int get_time(int64_t *out, const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	if (s == NULL)
		return coffer_error_set(COFFER_EINVAL, "%s: '%s' missing", COLLATERAL_FAIL, key);
	if (coffer_tdx_parse_time(out, s) < 0)
		return coffer_error_wrap(COFFER_EINVAL, "%s: '%s'", COLLATERAL_FAIL, key);
	return 0;
}

static int level_common(coffer_tdx_tcb_status *st, char date[32], json_t **adv, const json_t *l)
{
	const char *s = json_string_value(json_object_get(l, "tcbStatus"));
	const char *d = json_string_value(json_object_get(l, "tcbDate"));
	json_t *a = json_object_get(l, "advisoryIDs");

	if (s == NULL || coffer_tdx_tcb_status_parse(st, s) < 0)
		return coffer_error_set(COFFER_EINVAL, "%s: bad tcbStatus", COLLATERAL_FAIL);
	date[0] = 0;
	if (d != NULL)
		snprintf(date, 32, "%s", d);
	*adv = NULL;
	if (a != NULL) {
		size_t i;
		json_t *v;

		if (!json_is_array(a) || json_array_size(a) > MAX_ADVISORIES)
			return coffer_error_set(COFFER_EINVAL, "%s: bad advisoryIDs",
			                        COLLATERAL_FAIL);
		json_array_foreach(a, i, v)
		{
			if (!json_is_string(v))
				return coffer_error_set(COFFER_EINVAL, "%s: bad advisoryIDs",
				                        COLLATERAL_FAIL);
		}
		*adv = json_incref(a);
	}
	return 0;
}

static int isv_levels(tdx_isv_level **out, size_t *nout, const json_t *arr)
{
	tdx_isv_level *lv;
	size_t i, n;
	json_t *l;
	int error;

	if (!json_is_array(arr) || (n = json_array_size(arr)) == 0 || n > MAX_LEVELS)
		return coffer_error_set(COFFER_EINVAL, "%s: bad tcbLevels", COLLATERAL_FAIL);
	lv = calloc(n, sizeof(*lv));
	if (lv == NULL)
		return COFFER_ENOMEM;
	*out = lv;
	*nout = 0;
	json_array_foreach(arr, i, l)
	{
		uint32_t svn;
		if ((error = get_uint(&svn, json_object_get(l, "tcb"), "isvsvn", 65535)) < 0 ||
		    (error = level_common(&lv[i].status, lv[i].date, &lv[i].advisories, l)) < 0)
			return error;
		lv[i].isvsvn = (uint16_t)svn;
		*nout = i + 1;
	}
	return 0;
}

static void isv_levels_free(tdx_isv_level *lv, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(lv[i].advisories);
	free(lv);
}

void coffer_tdx_tcb_info_free(tdx_tcb_info *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nlevels; i++)
		json_decref(t->levels[i].advisories);
	free(t->levels);
	for (size_t i = 0; i < t->nmodules; i++)
		isv_levels_free(t->modules[i].levels, t->modules[i].nlevels);
	free(t->modules);
	free(t);
}

void coffer_tdx_qe_identity_free(tdx_qe_identity *q)
{
	if (q == NULL)
		return;
	isv_levels_free(q->levels, q->nlevels);
	free(q);
}

static int components(uint8_t out[16], const json_t *tcb, const char *key)
{
	json_t *arr = json_object_get(tcb, key), *c;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) != 16)
		return coffer_error_set(COFFER_EINVAL, "%s: '%s' must list 16 components",
		                        COLLATERAL_FAIL, key);
	json_array_foreach(arr, i, c)
	{
		uint32_t svn;
		if (get_uint(&svn, c, "svn", 255) < 0)
			return COFFER_EINVAL;
		out[i] = (uint8_t)svn;
	}
	return 0;
}

static int tcb_level(tdx_tcb_level *lv, const json_t *l, const tdx_tcb_info *t)
{
	json_t *tcb = json_object_get(l, "tcb");
	uint32_t pcesvn;
	int error;

	if (!json_is_object(tcb))
		return coffer_error_set(COFFER_EINVAL, "%s: level without 'tcb'", COLLATERAL_FAIL);
	if (t->version >= 3) {
		if ((error = components(lv->sgx, tcb, "sgxtcbcomponents")) < 0)
			return error;
		if (t->tdx && (error = components(lv->tdx, tcb, "tdxtcbcomponents")) < 0)
			return error;
	} else {
		for (int i = 0; i < 16; i++) {
			char k[32];
			uint32_t svn;
			snprintf(k, sizeof(k), "sgxtcbcomp%02dsvn", i + 1);
			if ((error = get_uint(&svn, tcb, k, 255)) < 0)
				return error;
			lv->sgx[i] = (uint8_t)svn;
		}
	}
	if ((error = get_uint(&pcesvn, tcb, "pcesvn", 65535)) < 0)
		return error;
	lv->pcesvn = (uint16_t)pcesvn;
	return level_common(&lv->status, lv->date, &lv->advisories, l);
}

int coffer_tdx_tcb_info_from_json(tdx_tcb_info **out, const json_t *b)
{
	tdx_tcb_info *t = calloc(1, sizeof(*t));
	const char *id = json_string_value(json_object_get(b, "id"));
	json_t *levels = json_object_get(b, "tcbLevels"), *l;
	uint32_t v;
	size_t i, n;
	int error;

	if (t == NULL)
		return COFFER_ENOMEM;
	if (!json_is_object(b)) {
		error = coffer_error_set(COFFER_EINVAL, "%s: tcbInfo is not an object",
		                         COLLATERAL_FAIL);
		goto out;
	}
	t->tdx = id != NULL && strcmp(id, "TDX") == 0;
	if ((error = get_uint(&v, b, "version", 100)) < 0)
		goto out;
	t->version = (int)v;
	if ((id != NULL && !t->tdx && strcmp(id, "SGX") != 0) || (t->tdx && v != 3) ||
	    (!t->tdx && v != 2 && v != 3)) {
		error = coffer_error_set(COFFER_EUNSUPPORTED,
		                         "%s: tcbInfo id %s version %u not supported (TDX v3, "
		                         "SGX v2/v3)",
		                         COLLATERAL_FAIL, id ? id : "(none)", (unsigned)v);
		goto out;
	}
	if ((error = get_hex(t->fmspc, 6, b, "fmspc")) < 0 ||
	    (error = get_hex(t->pceid, 2, b, "pceId")) < 0 ||
	    (error = get_uint(&t->eval_number, b, "tcbEvaluationDataNumber", UINT32_MAX)) < 0 ||
	    (error = get_time(&t->issue_date, b, "issueDate")) < 0 ||
	    (error = get_time(&t->next_update, b, "nextUpdate")) < 0)
		goto out;
	if (t->tdx) {
		json_t *m = json_object_get(b, "tdxModule"), *ids, *mi;
		if (m != NULL) {
			if ((error = get_hex(t->module_mrsigner, 48, m, "mrsigner")) < 0 ||
			    (error = get_hex(t->module_attributes, 8, m, "attributes")) < 0 ||
			    (error = get_hex(t->module_attributes_mask, 8, m, "attributesMask")) <
			            0)
				goto out;
			t->has_module = true;
		}
		ids = json_object_get(b, "tdxModuleIdentities");
		if (ids != NULL) {
			if (!json_is_array(ids) || (n = json_array_size(ids)) > MAX_MODULES) {
				error = coffer_error_set(COFFER_EINVAL,
				                         "%s: bad tdxModuleIdentities",
				                         COLLATERAL_FAIL);
				goto out;
			}
			t->modules = calloc(n ? n : 1, sizeof(*t->modules));
			if (t->modules == NULL) {
				error = COFFER_ENOMEM;
				goto out;
			}
			json_array_foreach(ids, i, mi)
			{
				tdx_module_identity *md = &t->modules[i];
				const char *mid = json_string_value(json_object_get(mi, "id"));
				uint8_t *svn = NULL;
				size_t sl = 0;

				t->nmodules = i + 1;
				if (mid == NULL || strlen(mid) != 6 ||
				    strncmp(mid, "TDX_", 4) != 0 ||
				    coffer_hex_decode(&svn, &sl, mid + 4, 2) < 0) {
					free(svn);
					error = coffer_error_set(COFFER_EINVAL,
					                         "%s: bad TDX module identity id",
					                         COLLATERAL_FAIL);
					goto out;
				}
				md->id_svn = svn[0];
				free(svn);
				if ((error = get_hex(md->mrsigner, 48, mi, "mrsigner")) < 0 ||
				    (error = get_hex(md->attributes, 8, mi, "attributes")) < 0 ||
				    (error = get_hex(md->attributes_mask, 8, mi,
				                     "attributesMask")) < 0 ||
				    (error = isv_levels(&md->levels, &md->nlevels,
				                        json_object_get(mi, "tcbLevels"))) < 0)
					goto out;
			}
		}
	}
	if (!json_is_array(levels) || (n = json_array_size(levels)) == 0 || n > MAX_LEVELS) {
		error = coffer_error_set(COFFER_EINVAL, "%s: bad tcbLevels", COLLATERAL_FAIL);
		goto out;
	}
	t->levels = calloc(n, sizeof(*t->levels));
	if (t->levels == NULL) {
		error = COFFER_ENOMEM;
		goto out;
	}
	json_array_foreach(levels, i, l)
	{
		t->nlevels = i + 1;
		if ((error = tcb_level(&t->levels[i], l, t)) < 0)
			goto out;
	}
	*out = t;
	t = NULL;
	error = 0;
out:
	coffer_tdx_tcb_info_free(t);
	return error;
}

int coffer_tdx_qe_identity_from_json(tdx_qe_identity **out, const json_t *b)
{
	tdx_qe_identity *q = calloc(1, sizeof(*q));
	const char *id = json_string_value(json_object_get(b, "id"));
	uint32_t v;
	int error;

	if (q == NULL)
		return COFFER_ENOMEM;
	if (id == NULL || (strcmp(id, "TD_QE") != 0 && strcmp(id, "QE") != 0)) {
		error = coffer_error_set(COFFER_EUNSUPPORTED,
		                         "%s: enclave identity '%s' is not TD_QE or QE",
		                         COLLATERAL_FAIL, id ? id : "(none)");
		goto out;
	}
	q->td_qe = strcmp(id, "TD_QE") == 0;
	if ((error = get_uint(&v, b, "version", 100)) < 0)
		goto out;
	if (v != 2) {
		error = coffer_error_set(COFFER_EUNSUPPORTED,
		                         "%s: enclave identity version %u not supported",
		                         COLLATERAL_FAIL, (unsigned)v);
		goto out;
	}
	if ((error = get_uint(&q->eval_number, b, "tcbEvaluationDataNumber", UINT32_MAX)) < 0 ||
	    (error = get_time(&q->issue_date, b, "issueDate")) < 0 ||
	    (error = get_time(&q->next_update, b, "nextUpdate")) < 0 ||
	    (error = get_hex(q->miscselect, 4, b, "miscselect")) < 0 ||
	    (error = get_hex(q->miscselect_mask, 4, b, "miscselectMask")) < 0 ||
	    (error = get_hex(q->attributes, 16, b, "attributes")) < 0 ||
	    (error = get_hex(q->attributes_mask, 16, b, "attributesMask")) < 0 ||
	    (error = get_hex(q->mrsigner, 32, b, "mrsigner")) < 0 ||
	    (error = get_uint(&v, b, "isvprodid", 65535)) < 0)
		goto out;
	q->isvprodid = (uint16_t)v;
	if ((error = isv_levels(&q->levels, &q->nlevels, json_object_get(b, "tcbLevels"))) < 0)
		goto out;
	*out = q;
	q = NULL;
	error = 0;
out:
	coffer_tdx_qe_identity_free(q);
	return error;
}

/* --- TCB evaluation ------------------------------------------------------ */

static const char *const status_names[] = {
	"unknown",
	"UpToDate",
	"SWHardeningNeeded",
	"ConfigurationNeeded",
	"ConfigurationAndSWHardeningNeeded",
	"OutOfDate",
	"OutOfDateConfigurationNeeded",
	"Revoked",
};

const char *coffer_tdx_tcb_status_name(coffer_tdx_tcb_status s)
{
	if ((unsigned)s >= sizeof(status_names) / sizeof(status_names[0]))
		return "unknown";
	return status_names[s];
}

int coffer_tdx_tcb_status_parse(coffer_tdx_tcb_status *out, const char *name)
{
	for (unsigned i = 1; i < sizeof(status_names) / sizeof(status_names[0]); i++) {
		if (name && strcmp(name, status_names[i]) == 0) {
			*out = (coffer_tdx_tcb_status)i;
			return 0;
		}
	}
	return coffer_error_set(COFFER_EINVAL, "unknown TCB status '%.40s'", name ? name : "");
}

bool coffer_tdx_tcb_status_meets(coffer_tdx_tcb_status s, coffer_tdx_tcb_status min)
{
	if (s == COFFER_TDX_TCB_UNKNOWN || min == COFFER_TDX_TCB_UNKNOWN)
		return false;
	return s <= min;
}

/* Combine the platform status with the QE / TDX module status (QVL
 * "convergeTcbStatus"): an out-of-date QE or module makes the platform out of
 * date; revocation anywhere wins. */
static coffer_tdx_tcb_status converge(coffer_tdx_tcb_status p, coffer_tdx_tcb_status other)
{
	if (other == COFFER_TDX_TCB_REVOKED || p == COFFER_TDX_TCB_REVOKED)
		return COFFER_TDX_TCB_REVOKED;
	if (other == COFFER_TDX_TCB_OUT_OF_DATE ||
	    other == COFFER_TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED) {
		if (p == COFFER_TDX_TCB_UP_TO_DATE || p == COFFER_TDX_TCB_SW_HARDENING_NEEDED)
			return COFFER_TDX_TCB_OUT_OF_DATE;
		if (p == COFFER_TDX_TCB_CONFIGURATION_NEEDED ||
		    p == COFFER_TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
			return COFFER_TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
	}
	return p;
}

static int add_advisories(coffer_tdx_result *r, const json_t *adv)
{
	size_t i;
	json_t *v;

	if (adv == NULL)
		return 0;
	json_array_foreach(adv, i, v)
	{
		size_t j;
		json_t *w;
		bool dup = false;

		json_array_foreach(r->advisory_ids, j, w)
		{
			if (json_equal(v, w))
				dup = true;
		}
		if (!dup && json_array_append(r->advisory_ids, v) < 0)
			return COFFER_ENOMEM;
	}
	return 0;
}

static bool masked_eq(const uint8_t *v, const uint8_t *mask, const uint8_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((v[i] & mask[i]) != want[i])
			return false;
	return true;
}

static const tdx_isv_level *isv_level_for(const tdx_isv_level *lv, size_t n, unsigned svn)
{
	for (size_t i = 0; i < n; i++)
		if (lv[i].isvsvn <= svn)
			return &lv[i];
	return NULL;
}

int coffer_tdx_eval_tcb(coffer_tdx_result *r, const tdx_tcb_info *ti, const tdx_qe_identity *qe)
{
	const uint8_t *qr = r->quote.qe_report;
	const uint8_t *body = r->quote.body;
	bool tdx = r->quote.tee_type == COFFER_TDX_TEE_TYPE_TDX;
	const tdx_tcb_level *hit = NULL;
	coffer_tdx_tcb_status st;
	int error;

	if (r->advisory_ids == NULL && (r->advisory_ids = json_array()) == NULL)
		return COFFER_ENOMEM;
	/* QE identity (QVL "verifyEnclaveReport") */
	if (coffer_ct_equal(qr + COFFER_SGX_OFF_MR_SIGNER, qe->mrsigner, 32) != 1)
		return coffer_error_set(COFFER_EVERIFY,
		                        "tdx: QE identity mismatch: MRSIGNER of the QE report is "
		                        "not Intel's");
	if (coffer_tdx_le16(qr + COFFER_SGX_OFF_ISV_PROD_ID) != qe->isvprodid)
		return coffer_error_set(COFFER_EVERIFY, "tdx: QE identity mismatch: ISVPRODID");
	if (!masked_eq(qr + COFFER_SGX_OFF_MISC_SELECT, qe->miscselect_mask, qe->miscselect, 4))
		return coffer_error_set(COFFER_EVERIFY, "tdx: QE identity mismatch: MISCSELECT");
	if (!masked_eq(qr + COFFER_SGX_OFF_ATTRIBUTES, qe->attributes_mask, qe->attributes, 16))
		return coffer_error_set(COFFER_EVERIFY, "tdx: QE identity mismatch: ATTRIBUTES");
	{
		const tdx_isv_level *ql = isv_level_for(
		        qe->levels, qe->nlevels, coffer_tdx_le16(qr + COFFER_SGX_OFF_ISV_SVN));
		r->qe_status = ql ? ql->status : COFFER_TDX_TCB_OUT_OF_DATE;
		if (ql && (error = add_advisories(r, ql->advisories)) < 0)
			return error;
	}

	/* platform TCB level (QVL "getMatchingTcbLevel"): the first level, in the
	 * published (descending) order, that the platform meets */
	if (memcmp(ti->pceid, r->pck.pceid, 2) != 0)
		return coffer_error_set(COFFER_EVERIFY, "tdx: TCB info PCE-ID does not match the "
		                                        "PCK certificate");
	for (size_t i = 0; i < ti->nlevels && hit == NULL; i++) {
		const tdx_tcb_level *l = &ti->levels[i];
		bool ok = r->pck.pcesvn >= l->pcesvn;

		for (int k = 0; k < 16 && ok; k++)
			ok = r->pck.comp_svn[k] >= l->sgx[k];
		if (ok && tdx && ti->tdx) {
			const uint8_t *svn = body + COFFER_TDX_OFF_TEE_TCB_SVN;
			/* v3: with a TDX module version (TEE_TCB_SVN[1] > 0) bytes 0
			 * and 1 are judged by the module identity instead */
			int start = (ti->version >= 3 && svn[1] != 0) ? 2 : 0;
			for (int k = start; k < 16 && ok; k++)
				ok = svn[k] >= l->tdx[k];
		}
		if (ok)
			hit = l;
	}
	if (hit == NULL)
		return coffer_error_set(COFFER_EVERIFY,
		                        "tdx: no TCB level matches the platform (TCB level not "
		                        "supported)");
	r->platform_status = hit->status;
	snprintf(r->tcb_date, sizeof(r->tcb_date), "%s", hit->date);
	if ((error = add_advisories(r, hit->advisories)) < 0)
		return error;
	st = converge(hit->status, r->qe_status);

	/* TDX module identity */
	r->module_status = COFFER_TDX_TCB_UNKNOWN;
	if (tdx && ti->tdx) {
		const uint8_t *svn = body + COFFER_TDX_OFF_TEE_TCB_SVN;
		const uint8_t *mrs = body + COFFER_TDX_OFF_MRSIGNER_SEAM;
		const uint8_t *sa = body + COFFER_TDX_OFF_SEAM_ATTRIBUTES;

		if (svn[1] == 0) {
			if (ti->has_module &&
			    (memcmp(mrs, ti->module_mrsigner, 48) != 0 ||
			     !masked_eq(sa, ti->module_attributes_mask, ti->module_attributes, 8)))
				return coffer_error_set(
				        COFFER_EVERIFY,
				        "tdx: TDX module MRSIGNER_SEAM / "
				        "SEAM_ATTRIBUTES do not match the TCB info");
		} else if (ti->nmodules > 0) {
			const tdx_module_identity *m = NULL;
			const tdx_isv_level *ml;

			for (size_t i = 0; i < ti->nmodules; i++)
				if (ti->modules[i].id_svn == svn[1])
					m = &ti->modules[i];
			if (m == NULL)
				return coffer_error_set(
				        COFFER_EVERIFY,
				        "tdx: TDX module identity TDX_%02X not in the "
				        "TCB info",
				        svn[1]);
			if (memcmp(mrs, m->mrsigner, 48) != 0 ||
			    !masked_eq(sa, m->attributes_mask, m->attributes, 8))
				return coffer_error_set(COFFER_EVERIFY,
				                        "tdx: TDX module identity TDX_%02X: "
				                        "MRSIGNER_SEAM / SEAM_ATTRIBUTES mismatch",
				                        svn[1]);
			ml = isv_level_for(m->levels, m->nlevels, svn[0]);
			if (ml == NULL)
				return coffer_error_set(
				        COFFER_EVERIFY,
				        "tdx: TDX module TDX_%02X SVN %u below every "
				        "level",
				        svn[1], svn[0]);
			r->module_status = ml->status;
			if ((error = add_advisories(r, ml->advisories)) < 0)
				return error;
			st = converge(st, ml->status);
		}
	}
	r->tcb_status = st;
	r->has_collateral = true;
	r->tcb_eval_number = ti->eval_number < qe->eval_number ? ti->eval_number : qe->eval_number;
	r->collateral_next_update =
	        ti->next_update < qe->next_update ? ti->next_update : qe->next_update;
	r->signer_cert_expired = ti->signer_expired || qe->signer_expired;
	return 0;
}
