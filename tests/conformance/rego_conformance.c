/*
 * Rego conformance runner: reads YAML test cases (OPA's test-case format as
 * regorus writes it: modules, data, input, query, want_result | error |
 * no_result, strict) with libyaml, evaluates them through coffer's Rego
 * engine and compares results exactly (sets as sets, numbers by value).
 *
 *   rego_conformance [--aci] [--min-pass PCT] [--skip FILE] [-v] DIR
 *
 * --aci: want_result is the list of binding sets ({x: value} per solution,
 * coffer_rego_query_eval without var_output); otherwise want_result is the
 * query's value (or its variable bindings when the query has variables).
 * Cases listed in the skip file ("<file>::<note> | reason") are skipped;
 * any other failing case fails the run, and so does a pass rate below PCT.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "coffer/rego.h"
#include "rego/rego_int.h"

typedef struct skip_ent {
	char *id;
	int used;
} skip_ent;

static skip_ent *skips;
static size_t nskips;
static int verbose;
static int aci_mode;
static rg_arena ar;

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > 64L * 1024 * 1024 ||
	    fseek(f, 0, SEEK_SET))
		goto out;
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
	if (len)
		*len = (size_t)n;
out:
	fclose(f);
	return buf;
}

static void load_skips(const char *path)
{
	size_t len;
	char *txt = read_file(path, &len);
	char *line, *save = NULL;

	if (!txt) {
		fprintf(stderr, "cannot read skip list %s\n", path);
		exit(2);
	}
	for (line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || line[0] == '\0')
			continue;
		/* the reason follows the last " | " (notes may contain '|') */
		char *bar = NULL;
		for (char *q = strstr(line, " | "); q; q = strstr(q + 1, " | "))
			bar = q;
		if (!bar)
			continue;
		*bar = '\0';
		skips = realloc(skips, (nskips + 1) * sizeof(*skips));
		if (!skips)
			exit(3);
		skips[nskips].id = strdup(line);
		skips[nskips].used = 0;
		nskips++;
	}
	free(txt);
}

static skip_ent *find_skip(const char *id)
{
	for (size_t i = 0; i < nskips; i++)
		if (strcmp(skips[i].id, id) == 0)
			return &skips[i];
	return NULL;
}

/* ---- YAML -> json / rv ---- */

static int is_plain(yaml_node_t *n)
{
	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static json_t *scalar_json(yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	char *end;

	if (!is_plain(n))
		return json_stringn(s, len);
	if (strcmp(s, "null") == 0 || strcmp(s, "~") == 0 || len == 0)
		return json_null();
	if (strcmp(s, "true") == 0)
		return json_true();
	if (strcmp(s, "false") == 0)
		return json_false();
	errno = 0;
	long long ll = strtoll(s, &end, 10);
	if (*end == '\0' && errno == 0 && len > 0)
		return json_integer(ll);
	double d = strtod(s, &end);
	if (*end == '\0' && len > 0 && (s[0] == '-' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9')))
		return json_real(d);
	return json_stringn(s, len);
}

static json_t *to_json(yaml_document_t *doc, yaml_node_t *n, int depth)
{
	if (!n || depth > 200)
		return NULL;
	if (n->type == YAML_SCALAR_NODE)
		return scalar_json(n);
	if (n->type == YAML_SEQUENCE_NODE) {
		json_t *a = json_array();
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++)
			json_array_append_new(
			        a, to_json(doc, yaml_document_get_node(doc, *it), depth + 1));
		return a;
	}
	json_t *o = json_object();
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		if (k->type != YAML_SCALAR_NODE)
			continue;
		json_t *jv = to_json(doc, v, depth + 1);
		json_object_setn_new(o, (const char *)k->data.scalar.value, k->data.scalar.length,
		                     jv ? jv : json_null());
	}
	return o;
}

/* json (from YAML) -> rv with {"set!": [...]} as sets, fully materialized */
static rv *json_to_rv_tagged(json_t *j)
{
	if (json_is_object(j)) {
		json_t *s = json_object_get(j, "set!");
		if (s && json_object_size(j) == 1 && json_is_array(s)) {
			size_t n = json_array_size(s);
			rv **items = rg_alloc(&ar, (n ? n : 1) * sizeof(rv *));
			for (size_t i = 0; i < n; i++)
				items[i] = json_to_rv_tagged(json_array_get(s, i));
			return rv_set(&ar, items, n);
		}
		json_t *many = json_object_get(j, "many!");
		if (many && json_object_size(j) == 1 && json_is_array(many))
			return json_to_rv_tagged(many);
		json_t *ob = json_object_get(j, "object!");
		if (ob && json_object_size(j) == 1 && json_is_array(ob)) {
			size_t n = json_array_size(ob);
			rv **ks = rg_alloc(&ar, (n ? n : 1) * sizeof(rv *));
			rv **vs = rg_alloc(&ar, (n ? n : 1) * sizeof(rv *));
			for (size_t i = 0; i < n; i++) {
				ks[i] = json_to_rv_tagged(
				        json_object_get(json_array_get(ob, i), "key"));
				vs[i] = json_to_rv_tagged(
				        json_object_get(json_array_get(ob, i), "value"));
			}
			return rv_obj(&ar, ks, vs, n, NULL);
		}
		size_t n = json_object_size(j), i = 0;
		rv **ks = rg_alloc(&ar, (n ? n : 1) * sizeof(rv *));
		rv **vs = rg_alloc(&ar, (n ? n : 1) * sizeof(rv *));
		const char *key;
		json_t *val;
		json_object_foreach(j, key, val)
		{
			ks[i] = rv_str_copy(&ar, key, strlen(key));
			vs[i] = json_to_rv_tagged(val);
			i++;
		}
		return rv_obj(&ar, ks, vs, i, NULL);
	}
	if (json_is_array(j)) {
		size_t n = json_array_size(j);
		rv **items = rg_alloc(&ar, (n ? n : 1) * sizeof(rv *));
		for (size_t i = 0; i < n; i++)
			items[i] = json_to_rv_tagged(json_array_get(j, i));
		return rv_arr(&ar, items, n);
	}
	if (json_is_string(j))
		return rv_str_copy(&ar, json_string_value(j), json_string_length(j));
	return rv_from_json(&ar, j);
}

/* canonical text: sets become sorted arrays on both sides */
static char *canon(rv *v)
{
	rg_sbuf b = { &ar, NULL, 0, 0, 0, false };
	rg_dump(&b, v);
	return b.p ? b.p : "";
}

/* JSON equality with object members unordered and numbers compared by value
 * (1e18 and 1000000000000000000 are one number) */
static int json_same(json_t *x, json_t *y)
{
	if (json_is_number(x) && json_is_number(y))
		return json_number_value(x) == json_number_value(y);
	if (json_typeof(x) != json_typeof(y))
		return 0;
	if (json_is_array(x)) {
		if (json_array_size(x) != json_array_size(y))
			return 0;
		for (size_t i = 0; i < json_array_size(x); i++)
			if (!json_same(json_array_get(x, i), json_array_get(y, i)))
				return 0;
		return 1;
	}
	if (json_is_object(x)) {
		const char *k;
		json_t *v;
		if (json_object_size(x) != json_object_size(y))
			return 0;
		json_object_foreach(x, k, v)
		{
			json_t *w = json_object_get(y, k);
			if (!w || !json_same(v, w))
				return 0;
		}
		return 1;
	}
	return json_equal(x, y);
}

/* equal as JSON documents */
static int same_json(const char *a, const char *b)
{
	json_error_t e;
	json_t *x = json_loads(a, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &e),
	       *y = json_loads(b, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &e);
	int eq = x && y ? json_same(x, y) : strcmp(a, b) == 0;
	json_decref(x);
	json_decref(y);
	return eq;
}

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		if (k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

static int truthy_scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE &&
	       strcmp((const char *)n->data.scalar.value, "true") == 0;
}

/* ---- one case ---- */

enum { R_PASS, R_FAIL, R_SKIP };

static int run_case(const char *dir, yaml_document_t *doc, yaml_node_t *cs, char *why, size_t wl)
{
	yaml_node_t *mods = map_get(doc, cs, "modules");
	yaml_node_t *query = map_get(doc, cs, "query");
	yaml_node_t *want = map_get(doc, cs, "want_result");
	yaml_node_t *err = map_get(doc, cs, "error");
	yaml_node_t *nores = map_get(doc, cs, "no_result");
	yaml_node_t *strict = map_get(doc, cs, "strict");
	json_t *input = NULL, *data = NULL, *res = NULL;
	coffer_rego_module m[64];
	char *files[64] = { 0 };
	size_t nm = 0;
	coffer_rego_policy *pol = NULL;
	coffer_rego_query *q = NULL;
	coffer_rego_diag diag;
	int outcome = R_FAIL, r;
	char *text = NULL;

	if (!query || query->type != YAML_SCALAR_NODE) {
		snprintf(why, wl, "no query");
		return R_FAIL;
	}
	if (map_get(doc, cs, "input"))
		input = to_json(doc, map_get(doc, cs, "input"), 0);
	if (map_get(doc, cs, "data"))
		data = to_json(doc, map_get(doc, cs, "data"), 0);
	if (mods && mods->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = mods->data.sequence.items.start;
		     it < mods->data.sequence.items.top && nm < 64; it++) {
			yaml_node_t *mn = yaml_document_get_node(doc, *it);
			const char *mtext = (const char *)mn->data.scalar.value;
			size_t len = mn->data.scalar.length;
			char name[96];
			snprintf(name, sizeof(name), "module%zu.rego", nm);
			m[nm].name = strdup(name);
			if (len < 200 && strchr(mtext, '\n') == NULL && strstr(mtext, ".rego")) {
				char path[8192];
				int pl = snprintf(path, sizeof(path), "%s/%s", dir, mtext);
				if (pl < 0 || (size_t)pl >= sizeof(path))
					continue;
				files[nm] = read_file(path, &len);
				if (files[nm]) {
					mtext = files[nm];
					free((void *)m[nm].name);
					m[nm].name =
					        strdup(mn->data.scalar.value
					                       ? (const char *)mn->data.scalar.value
					                       : name);
				}
			}
			m[nm].text = mtext;
			m[nm].len = len;
			nm++;
		}
	}
	r = coffer_rego_policy_compile(&pol, m, nm, &diag);
	if (r == 0)
		r = coffer_rego_query_compile(&q, pol, (const char *)query->data.scalar.value,
		                              &diag);
	coffer_rego_limits lim = COFFER_REGO_LIMITS_INIT;
	/* the suite's cases are strict unless they say `strict: false` */
	lim.strict_builtins = !(strict && !truthy_scalar(strict));
	json_t *many = json_object_get(input, "many!");
	if (r == 0 && many && json_is_array(many)) {
		/* one evaluation per input; the results form a list */
		size_t cap = 16, len = 1;
		text = malloc(cap);
		if (!text)
			exit(3);
		text[0] = '[';
		for (size_t i = 0; r == 0 && i < json_array_size(many); i++) {
			char *one = NULL;
			r = rg_query_eval_text(&one, q, json_array_get(many, i), data, &lim,
			                       aci_mode ? 0 : 1, &diag);
			const char *t = one ? one : "null";
			size_t tl = strlen(t);
			while (len + tl + 3 > cap)
				cap *= 2;
			text = realloc(text, cap);
			if (!text)
				exit(3);
			if (i)
				text[len++] = ',';
			memcpy(text + len, t, tl);
			len += tl;
			free(one);
		}
		text[len++] = ']';
		text[len] = '\0';
	} else if (r == 0) {
		r = rg_query_eval_text(&text, q, input, data, &lim, aci_mode ? 0 : 1, &diag);
	}
	if (err) {
		if (r != 0)
			outcome = R_PASS;
		else
			snprintf(why, wl, "expected error \"%s\", got %.300s",
			         err->data.scalar.value, text ? text : "undefined");
		goto out;
	}
	if (r != 0) {
		snprintf(why, wl, "unexpected error: %s %s:%d:%d: %s", diag.code, diag.file,
		         diag.line, diag.col, diag.message);
		goto out;
	}
	if (truthy_scalar(nores) || !want) {
		if (text == NULL || (aci_mode && strcmp(text, "[]") == 0))
			outcome = R_PASS;
		else
			snprintf(why, wl, "expected no result, got %.300s", text);
		goto out;
	}
	json_t *wj = to_json(doc, want, 0);
	char *w = canon(json_to_rv_tagged(wj));
	json_decref(wj);
	if (text == NULL)
		snprintf(why, wl, "undefined, expected %.300s", w);
	else if (same_json(text, w))
		outcome = R_PASS;
	else
		snprintf(why, wl, "got %.400s\n      want %.400s", text, w);
out:
	free(text);
	json_decref(res);
	json_decref(input);
	json_decref(data);
	coffer_rego_query_free(q);
	coffer_rego_policy_free(pol);
	for (size_t i = 0; i < nm; i++) {
		free((void *)m[i].name);
		free(files[i]);
	}
	return outcome;
}

static int npass, nfail, nskip, nunlisted;

static void run_file(const char *root, const char *path)
{
	FILE *f = fopen(path, "rb");
	yaml_parser_t p;
	yaml_document_t doc;
	char dir[4096];

	if (!f)
		return;
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	if (!yaml_parser_load(&p, &doc)) {
		fprintf(stderr, "%s: YAML error: %s\n", path, p.problem ? p.problem : "?");
		nfail++;
		nunlisted++;
		yaml_parser_delete(&p);
		fclose(f);
		return;
	}
	yaml_node_t *rootn = yaml_document_get_root_node(&doc);
	yaml_node_t *cases = map_get(&doc, rootn, "cases");
	if (!cases && rootn && rootn->type == YAML_SEQUENCE_NODE)
		cases = rootn;
	const char *rel = path + strlen(root);
	while (*rel == '/')
		rel++;
	if (cases && cases->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = cases->data.sequence.items.start;
		     it < cases->data.sequence.items.top; it++) {
			yaml_node_t *cs = yaml_document_get_node(&doc, *it);
			yaml_node_t *note = map_get(&doc, cs, "note");
			char id[1024], why[1200] = "";
			const char *nt = note ? (const char *)note->data.scalar.value : "?";
			/* a note repeated in one file gets "#2", "#3", ... */
			int dup = 1;
			for (yaml_node_item_t *jt = cases->data.sequence.items.start; jt < it;
			     jt++) {
				yaml_node_t *pn =
				        map_get(&doc, yaml_document_get_node(&doc, *jt), "note");
				if (pn && strcmp((const char *)pn->data.scalar.value, nt) == 0)
					dup++;
			}
			if (dup > 1)
				snprintf(id, sizeof(id), "%s::%s#%d", rel, nt, dup);
			else
				snprintf(id, sizeof(id), "%s::%s", rel, nt);
			skip_ent *sk = find_skip(id);
			rg_arena_init(&ar, 0);
			int o = run_case(dir, &doc, cs, why, sizeof(why));
			rg_arena_free(&ar);
			if (sk) {
				sk->used = 1;
				nskip++;
				if (verbose)
					printf("SKIP %s (%s)\n", id,
					       o == R_PASS ? "passes now" : "listed");
				continue;
			}
			if (o == R_PASS) {
				npass++;
				if (verbose)
					printf("PASS %s\n", id);
			} else {
				nfail++;
				nunlisted++;
				printf("FAIL %s\n      %s\n", id, why);
			}
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	fclose(f);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(const char *root, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof(char *));
		size_t l = strlen(dir) + strlen(e->d_name) + 2;
		names[n] = malloc(l);
		snprintf(names[n], l, "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(names[i], &st) == 0 && S_ISDIR(st.st_mode))
			walk(root, names[i]);
		else if (strlen(names[i]) > 5 &&
		         strcmp(names[i] + strlen(names[i]) - 5, ".yaml") == 0)
			run_file(root, names[i]);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	double min_pass = 100.0;
	const char *dir = NULL;
	char rootbuf[4096];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--aci") == 0)
			aci_mode = 1;
		else if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else if (strcmp(argv[i], "--min-pass") == 0 && i + 1 < argc)
			min_pass = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--skip") == 0 && i + 1 < argc)
			load_skips(argv[++i]);
		else
			dir = argv[i];
	}
	if (!dir) {
		fprintf(stderr, "usage: rego_conformance [--aci] [--min-pass PCT] [--skip FILE] "
		                "[-v] DIR\n");
		return 2;
	}
	/* relative dirs are taken under $COFFER_CONFORMANCE */
	if (dir[0] != '/') {
		const char *base = getenv("COFFER_CONFORMANCE");
		if (!base) {
			fprintf(stderr, "SKIPPED: COFFER_CONFORMANCE not set\n");
			return 77;
		}
		snprintf(rootbuf, sizeof(rootbuf), "%s/%s", base, dir);
		dir = rootbuf;
	}
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "SKIPPED: %s is absent\n", dir);
		return 77;
	}
	walk(dir, dir);
	int total = npass + nfail;
	double rate = total ? 100.0 * npass / (npass + nfail + (double)nskip) : 0;
	printf("rego conformance %s: %d passed, %d failed, %d skipped; pass rate %.1f%% of %d "
	       "cases "
	       "(threshold %.1f%%)\n",
	       dir, npass, nfail, nskip, rate, npass + nfail + nskip, min_pass);
	for (size_t i = 0; i < nskips; i++)
		if (!skips[i].used)
			printf("note: skip-list entry matched no case: %s\n", skips[i].id);
	printf("%d passed, %d failed, %d skipped\n", npass, nfail, nskip);
	if (nunlisted > 0 || rate < min_pass || total == 0)
		return 1;
	return 0;
}
