/*
 * Attesters: sample, configfs-tsm (against fake_tsm, a process emulating the
 * kernel side on a temporary directory, answering with recorded real reports
 * from COFFER_VECTORS), the SNP certificate table, the sev-guest ioctl error
 * path and detection.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

#include "coffer/attester.h"
#include "coffer/codec.h"
#include "attester/attester_internal.h"

static char tmpdir[256];
static pid_t fake_pid = -1;

static void mk_tmp(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/attester-test-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
}

static void rm_tree(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void path_in(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", tmpdir, name);
}

static const char *sim_dir_arg;

/* Start fake_tsm on tmpdir/tsm; returns its pid once its watch is ready.
 * With sim_dir_arg set, coffer-sim fills the outblob. */
static pid_t start_fake(const char *provider, const char *report, const char *aux, int race)
{
	char root[300], ready[300];
	const char *args[16];
	int n = 0;
	pid_t pid;

	path_in(root, sizeof(root), "tsm");
	path_in(ready, sizeof(ready), "ready");
	mkdir(root, 0700);
	unlink(ready);
	args[n++] = FAKE_TSM_PATH;
	args[n++] = "--root";
	args[n++] = root;
	args[n++] = "--provider";
	args[n++] = provider;
	args[n++] = "--ready";
	args[n++] = ready;
	if (report) {
		args[n++] = "--report";
		args[n++] = report;
	}
	if (aux) {
		args[n++] = "--auxblob";
		args[n++] = aux;
	}
	if (race)
		args[n++] = "--race";
	if (sim_dir_arg) {
		args[n++] = "--sim";
		args[n++] = COFFER_SIM_PATH;
		args[n++] = "--sim-dir";
		args[n++] = sim_dir_arg;
	}
	args[n] = NULL;
	if (fake_pid > 0) {
		/* left over from a failed test */
		kill(fake_pid, SIGTERM);
		waitpid(fake_pid, NULL, 0);
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execv(FAKE_TSM_PATH, (char *const *)args);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		struct stat st;
		struct timespec ts = { 0, 10 * 1000000L };
		if (stat(ready, &st) == 0)
			return fake_pid = pid;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGTERM);
	fail_msg("fake_tsm did not start");
	return -1;
}

static void stop_fake(pid_t pid)
{
	int st;
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	fake_pid = -1;
}

static const char *vector(char *out, size_t cap, const char *rel)
{
	const char *v = test_env_dir("COFFER_VECTORS");
	struct stat st;

	if (v == NULL)
		return NULL;
	snprintf(out, cap, "%s/%s", v, rel);
	return stat(out, &st) == 0 ? out : NULL;
}

static uint8_t *b64_member(const json_t *obj, const char *key, size_t *len)
{
	const char *s = json_string_value(json_object_get(obj, key));
	uint8_t *out = NULL;

	assert_non_null(s);
	assert_int_equal(coffer_base64_decode(&out, len, s, strlen(s), COFFER_B64_STD), 0);
	return out;
}

static coffer_attester_opts opts_for_tmp(char *root, char *dev, char *ccel, size_t cap)
{
	coffer_attester_opts o = COFFER_ATTESTER_OPTS_INIT;

	path_in(root, cap, "tsm");
	path_in(dev, cap, "sev-guest");
	path_in(ccel, cap, "CCEL");
	o.tsm_root = root;
	o.sev_guest = dev;
	o.ccel = ccel;
	o.tsm_wait_ms = 1500;
	return o;
}

static void test_sample(void **state)
{
	coffer_attester *a = NULL;
	json_t *ev = NULL;
	uint8_t rd[48], *got;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(coffer_attester_open(&a, "sample", NULL), 0);
	assert_string_equal(coffer_attester_tee(a), "sample");
	assert_non_null(strstr(coffer_attester_source(a), "DEVELOPMENT ONLY"));
	assert_int_equal(coffer_attester_evidence(&ev, a, rd, sizeof(rd)), 0);
	assert_string_equal(json_string_value(json_object_get(ev, "svn")), "1");
	got = b64_member(ev, "report_data", &len);
	/* sample carries the exact 48 bytes, not padded to 64 */
	assert_int_equal(len, 48);
	assert_memory_equal(got, rd, 48);
	free(got);
	json_decref(ev);
	ev = NULL;
	{
		uint8_t big[65] = { 0 };
		assert_int_equal(coffer_attester_evidence(&ev, a, big, sizeof(big)), COFFER_EINVAL);
		assert_null(ev);
	}
	coffer_attester_free(a);
}

static void test_unknown_tee(void **state)
{
	coffer_attester *a = NULL;
	(void)state;
	assert_int_equal(coffer_attester_open(&a, "sgx", NULL), COFFER_EUNSUPPORTED);
	assert_non_null(strstr(coffer_error_last(), "sgx"));
	assert_null(a);
}

static void test_detect_nothing(void **state)
{
	char root[300], dev[300], ccel[300];
	coffer_attester_opts o;
	coffer_attester *a = NULL;

	(void)state;
	mk_tmp();
	o = opts_for_tmp(root, dev, ccel, sizeof(root));
	assert_int_equal(coffer_attester_open(&a, NULL, &o), COFFER_ENOTFOUND);
	/* the error names what was tried */
	assert_non_null(strstr(coffer_error_last(), root));
	assert_non_null(strstr(coffer_error_last(), dev));
	assert_non_null(strstr(coffer_error_last(), "sample not allowed"));
	assert_int_equal(coffer_attester_open(&a, "snp", &o), COFFER_ENOTFOUND);
	assert_int_equal(coffer_attester_open(&a, "tdx", &o), COFFER_ENOTFOUND);
	o.allow_sample = true;
	assert_int_equal(coffer_attester_open(&a, NULL, &o), 0);
	assert_string_equal(coffer_attester_tee(a), "sample");
	coffer_attester_free(a);
	rm_tree(tmpdir);
}

static void test_sev_guest_not_a_device(void **state)
{
	char root[300], dev[300], ccel[300];
	coffer_attester_opts o;
	coffer_attester *a = NULL;
	json_t *ev = NULL;
	uint8_t rd[64] = { 1 };
	FILE *f;

	(void)state;
	mk_tmp();
	o = opts_for_tmp(root, dev, ccel, sizeof(root));
	f = fopen(dev, "w");
	assert_non_null(f);
	fclose(f);
	/* a node at the device path selects the ioctl attester */
	assert_int_equal(coffer_attester_open(&a, NULL, &o), 0);
	assert_string_equal(coffer_attester_tee(a), "snp");
	assert_non_null(strstr(coffer_attester_source(a), "ioctl"));
	/* a regular file refuses the ioctl: a clear error, no crash */
	assert_int_equal(coffer_attester_evidence(&ev, a, rd, sizeof(rd)), COFFER_EIO);
	assert_non_null(strstr(coffer_error_last(), "SNP_GET_EXT_REPORT"));
	assert_null(ev);
	coffer_attester_free(a);
	rm_tree(tmpdir);
}

static void test_tsm_snp_recorded(void **state)
{
	char root[300], dev[300], ccel[300], rep[600];
	coffer_attester_opts o;
	coffer_attester *a = NULL;
	json_t *ev = NULL;
	uint8_t rd[64], *got, *orig;
	size_t len, orig_len;
	pid_t pid;

	(void)state;
	if (vector(rep, sizeof(rep), "snp/trustee/test-report.bin") == NULL)
		skip();
	mk_tmp();
	o = opts_for_tmp(root, dev, ccel, sizeof(root));
	pid = start_fake("sev_guest", rep, NULL, 0);
	for (size_t i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)(0xa0 ^ i);
	assert_int_equal(coffer_attester_open(&a, NULL, &o), 0);
	assert_string_equal(coffer_attester_tee(a), "snp");
	assert_non_null(strstr(coffer_attester_source(a), "configfs-tsm"));
	assert_int_equal(coffer_attester_evidence(&ev, a, rd, sizeof(rd)), 0);
	got = b64_member(ev, "attestation_report_b64", &len);
	orig = test_read_file(rep, &orig_len);
	assert_int_equal(len, 1184);
	assert_memory_equal(got + 0x50, rd, 64);
	/* everything else is the recorded report, byte for byte */
	assert_memory_equal(got, orig, 0x50);
	assert_memory_equal(got + 0x90, orig + 0x90, 1184 - 0x90);
	assert_true(json_is_null(json_object_get(ev, "cert_chain")));
	free(got);
	free(orig);
	json_decref(ev);
	/* the entry was removed */
	assert_int_equal(test_dir_entries(root), 0);
	/* explicit tee "tdx" on an SNP tree: refused, naming the provider */
	{
		coffer_attester *b = NULL;
		assert_int_equal(coffer_attester_open(&b, "tdx", &o), COFFER_ENOTFOUND);
		assert_non_null(strstr(coffer_error_last(), "sev_guest"));
	}
	/* privlevel (VMPL) is written and still gives one generation step */
	coffer_attester_free(a);
	o.vmpl = 1;
	assert_int_equal(coffer_attester_open(&a, "snp", &o), 0);
	assert_int_equal(coffer_attester_evidence(&ev, a, rd, sizeof(rd)), 0);
	json_decref(ev);
	coffer_attester_free(a);
	stop_fake(pid);
	rm_tree(tmpdir);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static const uint8_t vcek_guid[16] = { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
	                               0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd };
static const uint8_t ask_guid[16] = { 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
	                              0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 };

/* table: VCEK "abc", unknown guid, ASK "de", terminator, data */
static size_t make_table(uint8_t *t)
{
	size_t off = 4 * 24;
	memset(t, 0, 4 * 24 + 8);
	memcpy(t, vcek_guid, 16);
	put_le32(t + 16, (uint32_t)off);
	put_le32(t + 20, 3);
	memset(t + 24, 0x55, 16);
	put_le32(t + 24 + 16, (uint32_t)off);
	put_le32(t + 24 + 20, 1);
	memcpy(t + 48, ask_guid, 16);
	put_le32(t + 48 + 16, (uint32_t)off + 3);
	put_le32(t + 48 + 20, 2);
	memcpy(t + off, "abcde", 5);
	return off + 5;
}

static void test_cert_table(void **state)
{
	uint8_t t[256];
	size_t len = make_table(t);
	json_t *arr = NULL;

	(void)state;
	assert_int_equal(coffer_snp_cert_table_to_json(&arr, t, len), 0);
	assert_int_equal(json_array_size(arr), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "cert_type")),
	                    "VCEK");
	assert_int_equal(json_array_size(json_object_get(json_array_get(arr, 0), "data")), 3);
	assert_int_equal(json_integer_value(json_array_get(
	                         json_object_get(json_array_get(arr, 0), "data"), 0)),
	                 'a');
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "cert_type")),
	                    "ASK");
	json_decref(arr);
	arr = NULL;
	/* entry pointing past the end */
	put_le32(t + 20, 1000);
	assert_int_equal(coffer_snp_cert_table_to_json(&arr, t, len), COFFER_EINVAL);
	assert_non_null(strstr(coffer_error_last(), "outside"));
	/* no terminator */
	len = make_table(t);
	assert_int_equal(coffer_snp_cert_table_to_json(&arr, t, 3 * 24), COFFER_EINVAL);
	assert_int_equal(coffer_snp_cert_table_to_json(&arr, t, 10), COFFER_EINVAL);
	assert_non_null(strstr(coffer_error_last(), "terminating"));
	assert_null(arr);
}

static void test_tsm_snp_auxblob(void **state)
{
	char root[300], dev[300], ccel[300], rep[600], aux[300];
	coffer_attester_opts o;
	coffer_attester *a = NULL;
	json_t *ev = NULL, *chain;
	uint8_t rd[64] = { 9 }, t[256];
	size_t len;
	FILE *f;
	pid_t pid;

	(void)state;
	if (vector(rep, sizeof(rep), "snp/trustee/test-report.bin") == NULL)
		skip();
	mk_tmp();
	o = opts_for_tmp(root, dev, ccel, sizeof(root));
	path_in(aux, sizeof(aux), "aux.bin");
	len = make_table(t);
	f = fopen(aux, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(t, 1, len, f), len);
	fclose(f);
	pid = start_fake("sev_guest", rep, aux, 0);
	assert_int_equal(coffer_attester_open(&a, "snp", &o), 0);
	assert_int_equal(coffer_attester_evidence(&ev, a, rd, sizeof(rd)), 0);
	chain = json_object_get(ev, "cert_chain");
	assert_true(json_is_array(chain));
	assert_int_equal(json_array_size(chain), 2);
	json_decref(ev);
	coffer_attester_free(a);
	stop_fake(pid);
	rm_tree(tmpdir);
}

static void test_tsm_tdx_recorded(void **state)
{
	char root[300], dev[300], ccel[300], q[600], logsrc[600], cmd[1400];
	coffer_attester_opts o;
	coffer_attester *a = NULL;
	json_t *ev = NULL;
	uint8_t rd[64], *got, *orig, *log, *log_orig;
	size_t len, orig_len, log_len, log_orig_len;
	pid_t pid;

	(void)state;
	if (vector(q, sizeof(q), "tdx/trustee/tdx_quote_4.dat") == NULL ||
	    vector(logsrc, sizeof(logsrc), "tdx/trustee/CCEL_data") == NULL)
		skip();
	mk_tmp();
	o = opts_for_tmp(root, dev, ccel, sizeof(root));
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", logsrc, ccel);
	assert_int_equal(system(cmd), 0);
	pid = start_fake("tdx_guest", q, NULL, 0);
	for (size_t i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)(i + 3);
	assert_int_equal(coffer_attester_open(&a, NULL, &o), 0);
	assert_string_equal(coffer_attester_tee(a), "tdx");
	assert_int_equal(coffer_attester_evidence(&ev, a, rd, sizeof(rd)), 0);
	got = b64_member(ev, "quote", &len);
	orig = test_read_file(q, &orig_len);
	assert_int_equal(len, orig_len);
	assert_memory_equal(got + 568, rd, 64);
	assert_memory_equal(got, orig, 568);
	log = b64_member(ev, "cc_eventlog", &log_len);
	log_orig = test_read_file(logsrc, &log_orig_len);
	assert_int_equal(log_len, log_orig_len);
	assert_memory_equal(log, log_orig, log_len);
	free(got);
	free(orig);
	free(log);
	free(log_orig);
	json_decref(ev);
	/* no CCEL: cc_eventlog is null */
	unlink(ccel);
	assert_int_equal(coffer_attester_evidence(&ev, a, rd, sizeof(rd)), 0);
	assert_true(json_is_null(json_object_get(ev, "cc_eventlog")));
	json_decref(ev);
	assert_int_equal(test_dir_entries(root), 0);
	coffer_attester_free(a);
	stop_fake(pid);
	rm_tree(tmpdir);
}

static void test_tsm_generation_race(void **state)
{
	char root[300], dev[300], ccel[300], rep[600];
	coffer_attester_opts o;
	coffer_attester *a = NULL;
	json_t *ev = NULL;
	uint8_t rd[64] = { 0 };
	pid_t pid;

	(void)state;
	if (vector(rep, sizeof(rep), "snp/trustee/test-report.bin") == NULL)
		skip();
	mk_tmp();
	o = opts_for_tmp(root, dev, ccel, sizeof(root));
	pid = start_fake("sev_guest", rep, NULL, 1);
	assert_int_equal(coffer_attester_open(&a, "snp", &o), 0);
	assert_int_equal(coffer_attester_evidence(&ev, a, rd, sizeof(rd)), COFFER_EIO);
	assert_non_null(strstr(coffer_error_last(), "generation moved"));
	assert_null(ev);
	assert_int_equal(test_dir_entries(root), 0);
	coffer_attester_free(a);
	stop_fake(pid);
	rm_tree(tmpdir);
}

static void test_tsm_no_answer(void **state)
{
	char root[300], dev[300], ccel[300];
	coffer_attester_opts o;
	coffer_attester *a = NULL;
	json_t *ev = NULL;
	uint8_t rd[64] = { 0 };
	pid_t pid;

	(void)state;
	mk_tmp();
	o = opts_for_tmp(root, dev, ccel, sizeof(root));
	o.tsm_wait_ms = 300;
	/* the fake never produces an outblob */
	pid = start_fake("sev_guest", NULL, NULL, 0);
	assert_int_equal(coffer_attester_open(&a, "snp", &o), 0);
	assert_int_equal(coffer_attester_evidence(&ev, a, rd, sizeof(rd)), COFFER_EIO);
	assert_non_null(strstr(coffer_error_last(), "outblob"));
	coffer_attester_free(a);
	stop_fake(pid);
	rm_tree(tmpdir);
}

static void test_tsm_low_level(void **state)
{
	char root[300], file[300];
	coffer_tsm_report r;
	uint8_t in[64] = { 0 };
	FILE *f;

	(void)state;
	mk_tmp();
	path_in(root, sizeof(root), "missing");
	assert_int_equal(coffer_tsm_report_get(&r, root, NULL, in, 0, 100), COFFER_ENOTFOUND);
	path_in(file, sizeof(file), "file");
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(coffer_tsm_report_get(&r, file, NULL, in, 0, 100), COFFER_ENOTFOUND);
	assert_non_null(strstr(coffer_error_last(), "not a directory"));
	/* a plain directory: no provider ever appears */
	path_in(root, sizeof(root), "plain");
	mkdir(root, 0700);
	assert_int_equal(coffer_tsm_report_get(&r, root, NULL, in, 0, 100), COFFER_EIO);
	assert_non_null(strstr(coffer_error_last(), "provider"));
	assert_int_equal(test_dir_entries(root), 0);
	rm_tree(tmpdir);
}

/* The simulated TEEs of coffer-sim behind the fake kernel interface: the
 * report/quote carries our REPORT_DATA and the SNP auxblob the simulated
 * certificate table. */
static int sim_ready(char *dir, size_t cap)
{
	struct stat st;
	char cmd[800];

	if (stat(COFFER_SIM_PATH, &st) != 0)
		return 0;
	path_in(dir, cap, "sim");
	snprintf(cmd, sizeof(cmd), "'%s' init --dir '%s' >/dev/null", COFFER_SIM_PATH, dir);
	assert_int_equal(system(cmd), 0);
	return 1;
}

static void test_tsm_snp_sim(void **state)
{
	char root[300], dev[300], ccel[300], sim[300];
	coffer_attester_opts o;
	coffer_attester *a = NULL;
	json_t *ev = NULL, *chain;
	uint8_t rd[64], *got;
	size_t len;
	pid_t pid;

	(void)state;
	mk_tmp();
	if (!sim_ready(sim, sizeof(sim))) {
		rm_tree(tmpdir);
		skip();
	}
	o = opts_for_tmp(root, dev, ccel, sizeof(root));
	o.tsm_wait_ms = 5000;
	sim_dir_arg = sim;
	pid = start_fake("sev_guest", NULL, NULL, 0);
	sim_dir_arg = NULL;
	for (size_t i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)(0x5a + i);
	assert_int_equal(coffer_attester_open(&a, "snp-sim", &o), 0);
	assert_string_equal(coffer_attester_tee(a), "snp-sim");
	assert_int_equal(coffer_attester_evidence(&ev, a, rd, sizeof(rd)), 0);
	got = b64_member(ev, "attestation_report_b64", &len);
	assert_int_equal(len, 1184);
	assert_memory_equal(got + 0x50, rd, 64);
	chain = json_object_get(ev, "cert_chain");
	assert_true(json_is_array(chain));
	assert_int_equal(json_array_size(chain), 3);
	assert_string_equal(
	        json_string_value(json_object_get(json_array_get(chain, 0), "cert_type")), "VCEK");
	free(got);
	json_decref(ev);
	coffer_attester_free(a);
	stop_fake(pid);
	rm_tree(tmpdir);
}

static void test_tsm_tdx_sim(void **state)
{
	char root[300], dev[300], ccel[300], sim[300];
	coffer_attester_opts o;
	coffer_attester *a = NULL;
	json_t *ev = NULL;
	uint8_t rd[64], *got;
	size_t len;
	pid_t pid;

	(void)state;
	mk_tmp();
	if (!sim_ready(sim, sizeof(sim))) {
		rm_tree(tmpdir);
		skip();
	}
	o = opts_for_tmp(root, dev, ccel, sizeof(root));
	o.tsm_wait_ms = 5000;
	sim_dir_arg = sim;
	pid = start_fake("tdx_guest", NULL, NULL, 0);
	sim_dir_arg = NULL;
	for (size_t i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)(0xc0 ^ i);
	assert_int_equal(coffer_attester_open(&a, "tdx-sim", &o), 0);
	assert_string_equal(coffer_attester_tee(a), "tdx-sim");
	assert_int_equal(coffer_attester_evidence(&ev, a, rd, sizeof(rd)), 0);
	got = b64_member(ev, "quote", &len);
	/* DCAP v4: 48-byte header, REPORT_DATA at body offset 520 */
	assert_true(len > 632);
	assert_int_equal(got[0], 4);
	assert_memory_equal(got + 568, rd, 64);
	assert_true(json_is_null(json_object_get(ev, "cc_eventlog")));
	free(got);
	json_decref(ev);
	coffer_attester_free(a);
	stop_fake(pid);
	rm_tree(tmpdir);
}

/* The upstream object form against a report serialized by upstream (virtee)
 * itself: trustee's e2e evidence.json and the report.bin rebuilt from it. */
static void test_snp_report_object(void **state)
{
	char bin[600], js[600];
	uint8_t *raw;
	size_t len;
	json_t *mine = NULL, *theirs, *rep;
	json_error_t jerr;
	const char *key;
	json_t *v;
	size_t n = 0;

	(void)state;
	if (vector(bin, sizeof(bin), "snp/trustee-e2e-genoa/report.bin") == NULL ||
	    vector(js, sizeof(js), "snp/trustee-e2e-genoa/evidence.json") == NULL)
		skip();
	raw = test_read_file(bin, &len);
	theirs = json_load_file(js, 0, &jerr);
	assert_non_null(theirs);
	rep = json_object_get(theirs, "attestation_report");
	assert_int_equal(attester_snp_report_json(&mine, raw, len), 0);
	json_object_foreach(rep, key, v)
	{
		if (!json_equal(v, json_object_get(mine, key)))
			fail_msg("member %s differs from upstream's serialization", key);
		n++;
	}
	assert_true(n >= 27);
	assert_int_equal(attester_snp_report_json(&v, raw, 100), COFFER_EINVAL);
	json_decref(mine);
	json_decref(theirs);
	free(raw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_unknown_tee),
		cmocka_unit_test(test_detect_nothing),
		cmocka_unit_test(test_sev_guest_not_a_device),
		cmocka_unit_test(test_cert_table),
		cmocka_unit_test(test_tsm_low_level),
		cmocka_unit_test(test_tsm_snp_recorded),
		cmocka_unit_test(test_tsm_snp_auxblob),
		cmocka_unit_test(test_tsm_tdx_recorded),
		cmocka_unit_test(test_tsm_generation_race),
		cmocka_unit_test(test_tsm_no_answer),
		cmocka_unit_test(test_tsm_snp_sim),
		cmocka_unit_test(test_tsm_tdx_sim),
		cmocka_unit_test(test_snp_report_object),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (fake_pid > 0)
		stop_fake(fake_pid);
	return rc;
}
