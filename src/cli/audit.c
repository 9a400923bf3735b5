/*
 * coffer audit verify [--in FILE] [--key pub.jwk]... [--jwks FILE]
 *                     [--checkpoint JWS|@FILE]... [--allow-partial] [--json]
 *
 * Offline check of an audit export (docs/audit.md): the hash chain, the
 * broker's ES256 checkpoints and the coverage they give. `list` and `export`
 * talk to a broker and belong with the broker's client code; the dispatch
 * table below is where they are added.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/audit.h"
#include "coffer/codec.h"
#include "coffer/file.h"
#include "coffer/jose.h"
#include "coffer/json.h"
#include "coffer/kbs.h"
#include "cli.h"
#include "cli_admin.h"

const char cmd_audit_help[] = "audit trail: verify an export's hash chain and signed checkpoints";

#define CMD          "audit"
#define MAX_KEYS     64
#define MAX_EXTRA_CP 1024

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: coffer audit verify [--in FILE] [--key pub.jwk]... [--jwks FILE]\n"
	        "                           [--checkpoint JWS|@FILE]... [--allow-partial] "
	        "[--json]\n"
	        "Checks an audit export (stdin by default): seq order, every entry's hash\n"
	        "chain link, stubs, and each checkpoint's ES256 signature by the broker key\n"
	        "(--key, repeatable, or a JWK set with --jwks) against the chain's hash at its\n"
	        "seq. --checkpoint adds checkpoints kept from an earlier export (the chain must\n"
	        "still contain what they signed). --allow-partial accepts an export that does\n"
	        "not start at seq 1. Without a key, signatures are not checked (a warning says\n"
	        "so) and nothing is anchored.\n"
	        "Exit codes: 0 the chain verifies, 1 tampering detected (the seq and reason on\n"
	        "stderr), 2 usage or malformed input, 3 internal error.\n"
	        "       coffer audit list [--namespace NAME] [--from SEQ] [--limit N] [flags]\n"
	        "       coffer audit export [--out FILE] [--from SEQ] [--limit N] [flags]\n"
	        "list prints the broker's entries in the caller's scope, one per line:\n"
	        "seq, time, kind, action, namespace, actor, resource, outcome, reason\n"
	        "(tab separated, \"-\" for none; a release's actor is tee:measurement).\n"
	        "export writes the export document (docs/audit.md) for `verify`: entries\n"
	        "outside the caller's scope are stubs.\n"
	        "The broker answers in pages. Without --limit both fetch every page from\n"
	        "--from SEQ (default 1) on: list prints them all, export merges them into one\n"
	        "document, up to what verify accepts (2^20 entries, 2^16 checkpoints, 64 MiB;\n"
	        "beyond that it stops with exit 2: export ranges). Pages that break the\n"
	        "paging rules (docs/cofferd.md) are an error (exit 3), and export then\n"
	        "writes nothing. --limit N fetches one page of at most N\n"
	        "entries (the broker's admin.audit_page_max at most) from --from on; when more\n"
	        "follow, stderr names the next seq. A range export that does not start at\n"
	        "seq 1 verifies with --allow-partial.\n%s",
	        cli_admin_common_help);
}

typedef struct keyset {
	coffer_jwk *k[MAX_KEYS];
	size_t n;
} keyset;

static void keyset_free(keyset *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		coffer_jwk_free(ks->k[i]);
	ks->n = 0;
}

static int add_key(keyset *ks, coffer_jwk *k)
{
	if (ks->n >= MAX_KEYS) {
		coffer_jwk_free(k);
		return coffer_error_set(COFFER_ELIMIT, "more than %d keys", MAX_KEYS);
	}
	ks->k[ks->n++] = k;
	return 0;
}

static int load_key(keyset *ks, const char *path)
{
	coffer_jwk *k = NULL;
	int error;

	if ((error = coffer_jwk_load(&k, path)) < 0)
		return coffer_error_wrap(error, "%s", path);
	return add_key(ks, k);
}

static int load_jwks(keyset *ks, const char *path)
{
	uint8_t *text = NULL;
	size_t len = 0, i, before = ks->n;
	json_t *doc = NULL, *arr, *v;
	int error;

	if ((error = coffer_file_read(&text, &len, path, CLI_INPUT_MAX)) < 0)
		return error;
	if ((error = coffer_json_parse(&doc, (const char *)text, len, 0)) < 0) {
		error = coffer_error_wrap(error, "%s", path);
		goto out;
	}
	arr = json_object_get(doc, "keys");
	if (!json_is_array(arr)) {
		error = coffer_error_set(COFFER_EINVAL, "%s: not a JWK set (no \"keys\" array)",
		                         path);
		goto out;
	}
	json_array_foreach(arr, i, v)
	{
		coffer_jwk *k = NULL;
		/* a set may hold keys of other kinds (encryption, RSA): skip them */
		if (coffer_jwk_from_json(&k, v) < 0) {
			fprintf(stderr, "coffer audit: skipping key #%zu of %s: %s\n", i, path,
			        coffer_error_last());
			continue;
		}
		if ((error = add_key(ks, k)) < 0)
			goto out;
	}
	if (ks->n == before)
		error = coffer_error_set(COFFER_EINVAL, "%s: no usable key", path);
out:
	json_decref(doc);
	free(text);
	return error;
}

static void print_json_report(const coffer_audit_report *r, int error)
{
	json_t *o;
	char *s = NULL;
	size_t len = 0;

	o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:b,s:s?}", "result",
	              error == 0 ? "ok" : (error == COFFER_EVERIFY ? "tampered" : "invalid"),
	              "entries", (json_int_t)r->entries, "full", (json_int_t)r->full, "stubs",
	              (json_int_t)r->stubs, "checkpoints", (json_int_t)r->checkpoints, "first_seq",
	              (json_int_t)r->first_seq, "last_seq", (json_int_t)r->last_seq, "anchored_seq",
	              (json_int_t)r->anchored_seq, "unchecked_checkpoints",
	              (json_int_t)r->unchecked, "unanchored_tail", r->unanchored_tail,
	              "head_anchored", r->head_anchored, "head",
	              r->head[0] != '\0' ? r->head : NULL);
	if (o == NULL)
		return;
	if (error < 0) {
		json_object_set_new(o, "error", json_string(coffer_error_last()));
		if (r->bad_seq > 0)
			json_object_set_new(o, "bad_seq", json_integer((json_int_t)r->bad_seq));
	}
	if (coffer_json_dump(&s, &len, o) == 0)
		printf("%s\n", s);
	free(s);
	json_decref(o);
}

static void print_summary(const coffer_audit_report *r)
{
	printf("audit chain OK: %zu entries (%zu full, %zu stubs)", r->entries, r->full, r->stubs);
	if (r->entries > 0)
		printf(", seq %" PRId64 "..%" PRId64, r->first_seq, r->last_seq);
	printf(", %zu checkpoint%s verified", r->checkpoints, r->checkpoints == 1 ? "" : "s");
	if (r->anchored_seq > 0)
		printf(", anchored up to seq %" PRId64, r->anchored_seq);
	else
		printf(", anchored up to seq 0 (nothing anchored)");
	printf("\n");
	if (r->entries > 0)
		printf("head hash: %s\n", r->head);
	if (r->first_seq > 1)
		printf("note: the export starts at seq %" PRId64 "; %s\n", r->first_seq,
		       r->head_anchored ? "its first entry continues the chain a checkpoint signed"
		                        : "nothing ties its first entry to the earlier chain");
	if (r->unanchored_tail && r->anchored_seq > 0)
		printf("note: entries %" PRId64 "..%" PRId64 " come after the last checkpoint "
		       "and are not yet anchored by a broker signature\n",
		       r->anchored_seq + 1, r->last_seq);
}

/* --checkpoint JWS or @FILE (one JWS per line) */
static int add_checkpoints(char ***list, size_t *n, const char *arg)
{
	uint8_t *text = NULL;
	size_t len = 0;
	char *line, *save = NULL, **grown;
	int error = 0;

	if (arg[0] != '@') {
		text = (uint8_t *)strdup(arg);
		if (text == NULL)
			return coffer_error_set(COFFER_ENOMEM, "out of memory");
	} else if ((error = coffer_file_read(&text, &len, arg + 1, CLI_INPUT_MAX)) < 0) {
		return error;
	}
	for (line = strtok_r((char *)text, "\r\n", &save); line != NULL;
	     line = strtok_r(NULL, "\r\n", &save)) {
		if (*line == '\0')
			continue;
		if (*n >= MAX_EXTRA_CP) {
			error = coffer_error_set(COFFER_ELIMIT, "more than %d --checkpoint values",
			                         MAX_EXTRA_CP);
			break;
		}
		grown = realloc(*list, (*n + 1) * sizeof(**list));
		if (grown == NULL || (grown[*n] = strdup(line)) == NULL) {
			if (grown != NULL)
				*list = grown;
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			break;
		}
		*list = grown;
		(*n)++;
	}
	free(text);
	return error;
}

static int do_verify(int argc, char **argv)
{
	coffer_audit_verify_opts opts = COFFER_AUDIT_VERIFY_OPTS_INIT;
	coffer_audit_report report;
	const char *in = "-";
	char **extra = NULL;
	size_t nextra = 0;
	bool json_out = false;
	keyset ks = { .n = 0 };
	uint8_t *text = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	int error = 0, rc;

	memset(&report, 0, sizeof(report));
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		bool has_val = i + 1 < argc;

		if (strcmp(a, "--in") == 0 && has_val) {
			in = argv[++i];
		} else if (strcmp(a, "--key") == 0 && has_val) {
			if ((error = load_key(&ks, argv[++i])) < 0)
				goto out;
		} else if (strcmp(a, "--jwks") == 0 && has_val) {
			if ((error = load_jwks(&ks, argv[++i])) < 0)
				goto out;
		} else if (strcmp(a, "--checkpoint") == 0 && has_val) {
			if ((error = add_checkpoints(&extra, &nextra, argv[++i])) < 0)
				goto out;
		} else if (strcmp(a, "--allow-partial") == 0) {
			opts.allow_partial_head = true;
		} else if (strcmp(a, "--json") == 0) {
			json_out = true;
		} else {
			cli_error(CMD, "verify: unexpected argument '%s'", a);
			usage(stderr);
			rc = CLI_USAGE;
			goto done;
		}
	}
	opts.extra_checkpoints = (const char *const *)extra;
	opts.nextra_checkpoints = nextra;
	if ((error = coffer_file_read(&text, &len, in, COFFER_AUDIT_MAX_EXPORT)) < 0 ||
	    (error = coffer_audit_export_parse(&doc, (const char *)text, len)) < 0)
		goto out;
	if (ks.n == 0 && (json_array_size(json_object_get(doc, "checkpoints")) > 0 || nextra > 0))
		fprintf(stderr, "coffer audit: WARNING: no broker key given (--key/--jwks): "
		                "checkpoint signatures not checked, the chain is only "
		                "self-consistent\n");
	error = coffer_audit_verify(&report, doc, ks.k, ks.n, &opts);
	if (json_out)
		print_json_report(&report, error);
	else if (error == 0)
		print_summary(&report);
out:
	rc = cli_exit_code(error);
	if (error == COFFER_EVERIFY)
		cli_error(CMD, "TAMPERED: %s", coffer_error_last());
	else if (error < 0)
		cli_error(CMD, "verify: %s", coffer_error_last());
done:
	json_decref(doc);
	free(text);
	for (size_t i = 0; i < nextra; i++)
		free(extra[i]);
	free(extra);
	keyset_free(&ks);
	return rc;
}

static const char *dash(const json_t *v)
{
	const char *s = json_string_value(v);

	return s && s[0] ? s : "-";
}

/* --from SEQ, --limit N and the broker's Coffer-Audit-Next: a decimal
 * 1..2^53-1; -1 otherwise. */
static int64_t parse_seq(const char *s)
{
	return coffer_dec_parse(s, COFFER_AUDIT_MAX_SEQ);
}

static void print_row(const json_t *e)
{
	const json_t *actor = json_object_get(e, "actor");
	char who[600];

	if (json_is_object(actor))
		snprintf(who, sizeof(who), "%s:%s", dash(json_object_get(actor, "tee")),
		         dash(json_object_get(actor, "measurement")));
	else
		snprintf(who, sizeof(who), "%s", dash(actor));
	printf("%lld\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
	       (long long)json_integer_value(json_object_get(e, "seq")),
	       dash(json_object_get(e, "time")), dash(json_object_get(e, "kind")),
	       dash(json_object_get(e, "action")), dash(json_object_get(e, "namespace")), who,
	       dash(json_object_get(e, "resource")), dash(json_object_get(e, "outcome")),
	       dash(json_object_get(e, "reason")));
}

/* The entries of a page as the broker is bound to send them (docs/cofferd.md
 * "Audit pages"): seqs from `from` on, strictly increasing, and a next page
 * (`next` > 0) only after a non-empty one, past its last seq. The broker is
 * not trusted to get this right: a violation is an error naming it. */
static int check_page(const json_t *ents, int64_t from, int64_t next)
{
	int64_t prev = from - 1;
	const json_t *e;
	size_t i;

	json_array_foreach(ents, i, e)
	{
		const json_t *seq = json_object_get(e, "seq");
		int64_t v;

		if (!json_is_integer(seq)) {
			cli_error(CMD,
			          "broker sent an entry without a seq (entry #%zu of the page "
			          "from seq %" PRId64 ")",
			          i, from);
			return CLI_INTERNAL;
		}
		v = (int64_t)json_integer_value(seq);
		if (v <= prev) {
			cli_error(CMD, "broker sent seq %" PRId64 " %s (page from seq %" PRId64 ")",
			          v, i == 0 ? "before the seq asked for" : "out of order", from);
			return CLI_INTERNAL;
		}
		prev = v;
	}
	if (next > 0 && json_array_size(ents) == 0) {
		cli_error(CMD,
		          "broker sent an empty page from seq %" PRId64
		          " with a next page (Coffer-Audit-Next: %" PRId64 ")",
		          from, next);
		return CLI_INTERNAL;
	}
	if (next > 0 && next <= prev) {
		cli_error(CMD,
		          "broker sent Coffer-Audit-Next: %" PRId64
		          ", not past the page it follows (seq %" PRId64 "..%" PRId64 ")",
		          next, from, prev);
		return CLI_INTERNAL;
	}
	return CLI_OK;
}

/* One list page (checked): rows, or with --json the elements of one JSON
 * array (compact, as the broker writes it: one page prints the broker's
 * text). */
static int list_page(const json_t *arr, bool json_out, size_t *printed)
{
	const json_t *e;
	size_t i;

	json_array_foreach(arr, i, e)
	{
		if (json_out) {
			char *t = NULL;
			if (coffer_json_dump(&t, NULL, e) < 0) {
				cli_error(CMD, "%s", coffer_error_last());
				return CLI_INTERNAL;
			}
			printf("%s%s", *printed ? "," : "", t);
			free(t);
		} else {
			print_row(e);
		}
		(*printed)++;
	}
	return CLI_OK;
}

/* The merged export would not be accepted by `verify` (docs/audit.md
 * bounds): say how to export it instead. `from` is the user's --from. */
static int too_large(int64_t from)
{
	cli_error(CMD,
	          "the audit chain from seq %" PRId64 " on is larger than one export can hold "
	          "(%zu entries, %zu checkpoints, %zu MiB: docs/audit.md); "
	          "export it in ranges with --from SEQ --limit N",
	          from, COFFER_AUDIT_MAX_ENTRIES, COFFER_AUDIT_MAX_CHECKPOINTS,
	          COFFER_AUDIT_MAX_EXPORT / (1024 * 1024));
	return CLI_USAGE;
}

/* Add an export page (checked) to the merged document: entries appended,
 * checkpoints not seen before (a range's first one is the previous range's
 * last). CLI_USAGE (nothing printed) past the entry or checkpoint bound. */
static int export_merge(json_t **doc, json_t *seen, json_t *page)
{
	json_t *ents = json_object_get(page, "entries"),
	       *cps = json_object_get(page, "checkpoints");
	json_t *v;
	size_t i;

	if ((*doc ? json_array_size(json_object_get(*doc, "entries")) : 0) + json_array_size(ents) >
	    COFFER_AUDIT_MAX_ENTRIES)
		return CLI_USAGE;
	if (*doc == NULL)
		*doc = json_incref(page);
	else if (json_array_extend(json_object_get(*doc, "entries"), ents) != 0)
		goto nomem;
	json_array_foreach(cps, i, v)
	{
		if (!json_is_string(v))
			continue;
		if (json_object_get(seen, json_string_value(v)) != NULL)
			continue;
		if (json_object_size(seen) >= COFFER_AUDIT_MAX_CHECKPOINTS)
			return CLI_USAGE;
		if (json_object_set_new(seen, json_string_value(v), json_true()) != 0)
			goto nomem;
		if (*doc != page && json_array_append(json_object_get(*doc, "checkpoints"), v) != 0)
			goto nomem;
	}
	return CLI_OK;
nomem:
	cli_error(CMD, "out of memory");
	return CLI_INTERNAL;
}

static bool to_stdout(const char *out)
{
	return out == NULL || strcmp(out, "-") == 0;
}

/* What `verify` reads (at most COFFER_AUDIT_MAX_EXPORT bytes): the text, and
 * on stdout the newline after it. */
static bool export_fits(const char *out, size_t len)
{
	return to_stdout(out) ? len < COFFER_AUDIT_MAX_EXPORT : len <= COFFER_AUDIT_MAX_EXPORT;
}

static int write_out(const char *out, const void *p, size_t len)
{
	if (!to_stdout(out)) {
		if (coffer_file_write(out, p, len, 0644) < 0) {
			cli_error(CMD, "%s: %s", out, coffer_error_last());
			return CLI_USAGE;
		}
		return CLI_OK;
	}
	fwrite(p, 1, len, stdout);
	putchar('\n');
	return CLI_OK;
}

/*
 * The broker answers one page (docs/cofferd.md "Audit pages") and names the
 * next one in Coffer-Audit-Next. Without --limit, every page from --from
 * (default 1) on is fetched: `list` prints them all, `export` merges them
 * into one document up to what `verify` accepts (docs/audit.md bounds).
 * With --limit, exactly one page. Each page is checked (check_page) before
 * any of it is used; export writes nothing unless every page passed.
 */
static int do_broker(int argc, char **argv)
{
	struct cli_admin a = { .cmd = "audit" };
	bool export = strcmp(argv[1], "export") == 0;
	const char *ns = NULL, *out = NULL;
	int64_t from = 1, first = 1, limit = 0, next = 0;
	char path[768], nexth[32], lim[40];
	coffer_buf resp = COFFER_BUF_INIT_MAX(COFFER_AUDIT_MAX_EXPORT);
	json_t *doc = NULL, *seen = NULL, *page = NULL, *ents;
	size_t pages = 0, printed = 0, bytes = 0;
	char *text = NULL;
	long status = 0;
	int rc, r;

	for (int k = 2; k < argc; k++) {
		if ((r = cli_admin_opt(&a, NULL, argc, argv, &k)) < 0)
			return CLI_USAGE;
		if (r)
			continue;
		if (!export && strcmp(argv[k], "--namespace") == 0 && k + 1 < argc)
			ns = argv[++k];
		else if (export && strcmp(argv[k], "--out") == 0 && k + 1 < argc)
			out = argv[++k];
		else if (strcmp(argv[k], "--from") == 0 && k + 1 < argc) {
			if ((from = parse_seq(argv[++k])) < 0) {
				cli_error(CMD, "--from: '%s' is not a seq (1..2^53-1)", argv[k]);
				return CLI_USAGE;
			}
		} else if (strcmp(argv[k], "--limit") == 0 && k + 1 < argc) {
			if ((limit = parse_seq(argv[++k])) < 0) {
				cli_error(CMD, "--limit: '%s' is not a positive count", argv[k]);
				return CLI_USAGE;
			}
		} else {
			cli_error(CMD, "unexpected argument '%s'", argv[k]);
			return CLI_USAGE;
		}
	}
	if (ns && !coffer_kbs_segment_valid(ns, strlen(ns))) {
		cli_error(CMD, "invalid namespace '%s'", ns);
		return CLI_USAGE;
	}
	first = from;
	lim[0] = '\0';
	if (limit > 0)
		snprintf(lim, sizeof(lim), "&limit=%" PRId64, limit);
	if ((rc = cli_admin_init(&a)) != CLI_OK)
		goto out;
	for (;;) {
		snprintf(path, sizeof(path), "/kbs/v0/admin/audit%s?from=%" PRId64 "%s%s%s",
		         export ? "/export" : "", from, lim, ns ? "&namespace=" : "", ns ? ns : "");
		coffer_buf_clear(&resp);
		if ((rc = cli_admin_request_hdr(&a, "GET", path, NULL, 0, NULL, &status, &resp,
		                                "Coffer-Audit-Next", nexth, sizeof(nexth))) !=
		    CLI_OK)
			goto out;
		rc = CLI_INTERNAL;
		next = nexth[0] ? parse_seq(nexth) : 0;
		if (next < 0 || (next > 0 && next <= from)) {
			cli_error(CMD, "broker sent a bad Coffer-Audit-Next '%s'", nexth);
			goto out;
		}
		json_decref(page);
		page = json_loadb((const char *)resp.ptr, resp.len, 0, NULL);
		ents = export ? json_object_get(page, "entries") : page;
		if (!json_is_array(ents) ||
		    (export && !json_is_array(json_object_get(page, "checkpoints")))) {
			cli_error(CMD, "broker answer is not %s", export ? "an export" : "a list");
			goto out;
		}
		if ((rc = check_page(ents, from, next)) != CLI_OK)
			goto out;
		pages++;
		if (!export) {
			if (a.json && pages == 1)
				printf("[");
			if ((rc = list_page(ents, a.json, &printed)) != CLI_OK)
				goto out;
		} else if (pages == 1 && (next == 0 || limit > 0)) {
			/* one page: the broker's document as it is */
			if (!export_fits(out, resp.len)) {
				rc = too_large(first);
				goto out;
			}
			if ((rc = write_out(out, resp.ptr, resp.len)) != CLI_OK)
				goto out;
		} else {
			bytes += resp.len;
			if (seen == NULL && (seen = json_object()) == NULL) {
				cli_error(CMD, "out of memory");
				rc = CLI_INTERNAL;
				goto out;
			}
			if (!export_fits(out, bytes) ||
			    (rc = export_merge(&doc, seen, page)) == CLI_USAGE) {
				rc = too_large(first);
				goto out;
			}
			if (rc != CLI_OK)
				goto out;
		}
		if (next == 0 || limit > 0)
			break;
		from = next;
	}
	if (!export) {
		if (a.json)
			printf("]\n");
	} else if (doc != NULL) {
		size_t len = 0;
		if (coffer_json_dump(&text, &len, doc) < 0) {
			cli_error(CMD, "%s", coffer_error_last());
			rc = CLI_INTERNAL;
			goto out;
		}
		if (!export_fits(out, len)) {
			rc = too_large(first);
			goto out;
		}
		rc = write_out(out, text, len);
	}
	if (rc == CLI_OK && next > 0)
		fprintf(stderr,
		        "coffer audit: more entries follow: the next page starts at seq %" PRId64
		        " (--from %" PRId64 ")\n",
		        next, next);
out:
	free(text);
	json_decref(page);
	json_decref(doc);
	json_decref(seen);
	coffer_buf_free(&resp);
	cli_admin_free(&a);
	return rc;
}

/* The subcommands. */
static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} subcommands[] = {
	{ "verify", do_verify },
	{ "list", do_broker },
	{ "export", do_broker },
};

int cmd_audit(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (cli_wants_help(argc, argv) || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(argc, argv);
	cli_error(CMD, "unknown subcommand '%s' (list, export, verify)", argv[1]);
	usage(stderr);
	return CLI_USAGE;
}
