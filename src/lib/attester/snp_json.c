/*
 * The upstream JSON form of an SEV-SNP attestation report (PROTOCOL.md
 * section 1: virtee's serialization, byte arrays as arrays of numbers), for
 * brokers that accept only that form. Offsets: SEV-SNP ABI 1.57, table 23.
 */
#include <string.h>

#include "coffer/attester.h"
#include "attester/attester_internal.h"

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i > 0; i--)
		v = v << 8 | p[i - 1];
	return v;
}

static json_t *bytes(const uint8_t *p, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_integer(p[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* TCB_VERSION: Milan/Genoa byte0 bootloader, byte1 tee, byte6 snp, byte7
 * microcode; Turin (family 0x1A) byte0 fmc, byte1 bootloader, byte2 tee,
 * byte3 snp, byte7 microcode. */
static json_t *tcb(const uint8_t *p, bool turin)
{
	if (turin)
		return json_pack("{s:i,s:i,s:i,s:i,s:i}", "fmc", p[0], "bootloader", p[1], "tee",
		                 p[2], "snp", p[3], "microcode", p[7]);
	return json_pack("{s:n,s:i,s:i,s:i,s:i}", "fmc", "bootloader", p[0], "tee", p[1], "snp",
	                 p[6], "microcode", p[7]);
}

static json_t *version(const uint8_t *p)
{
	/* build, minor, major in report order */
	return json_pack("{s:i,s:i,s:i}", "major", p[2], "minor", p[1], "build", p[0]);
}

static json_t *u64_or_null(const uint8_t *p, bool present)
{
	return present ? json_integer((json_int_t)le(p, 8)) : json_null();
}

int attester_snp_report_json(json_t **out, const uint8_t *r, size_t len)
{
	uint32_t ver;
	bool turin;
	json_t *o;

	if (len < SNP_REPORT_SIZE)
		return coffer_error_set(COFFER_EINVAL, "SNP report of %zu bytes", len);
	ver = (uint32_t)le(r, 4);
	turin = ver >= 3 && r[0x188] == 0x1A;
	/* json_pack "o" steals each reference, also on failure */
	o = json_pack("{s:I,s:I,s:I,s:o,s:o,s:I,s:I,s:o,s:I,s:I}", "version", (json_int_t)ver,
	              "guest_svn", (json_int_t)le(r + 0x04, 4), "policy",
	              (json_int_t)le(r + 0x08, 8), "family_id", bytes(r + 0x10, 16), "image_id",
	              bytes(r + 0x20, 16), "vmpl", (json_int_t)le(r + 0x30, 4), "sig_algo",
	              (json_int_t)le(r + 0x34, 4), "current_tcb", tcb(r + 0x38, turin), "plat_info",
	              (json_int_t)le(r + 0x40, 8), "key_info", (json_int_t)le(r + 0x48, 4));
	if (o == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	if (json_object_set_new(o, "report_data", bytes(r + 0x50, 64)) < 0 ||
	    json_object_set_new(o, "measurement", bytes(r + 0x90, 48)) < 0 ||
	    json_object_set_new(o, "host_data", bytes(r + 0xC0, 32)) < 0 ||
	    json_object_set_new(o, "id_key_digest", bytes(r + 0xE0, 48)) < 0 ||
	    json_object_set_new(o, "author_key_digest", bytes(r + 0x110, 48)) < 0 ||
	    json_object_set_new(o, "report_id", bytes(r + 0x140, 32)) < 0 ||
	    json_object_set_new(o, "report_id_ma", bytes(r + 0x160, 32)) < 0 ||
	    json_object_set_new(o, "reported_tcb", tcb(r + 0x180, turin)) < 0 ||
	    json_object_set_new(o, "cpuid_fam_id",
	                        ver >= 3 ? json_integer(r[0x188]) : json_null()) < 0 ||
	    json_object_set_new(o, "cpuid_mod_id",
	                        ver >= 3 ? json_integer(r[0x189]) : json_null()) < 0 ||
	    json_object_set_new(o, "cpuid_step", ver >= 3 ? json_integer(r[0x18A]) : json_null()) <
	            0 ||
	    json_object_set_new(o, "chip_id", bytes(r + 0x1A0, 64)) < 0 ||
	    json_object_set_new(o, "committed_tcb", tcb(r + 0x1E0, turin)) < 0 ||
	    json_object_set_new(o, "current", version(r + 0x1E8)) < 0 ||
	    json_object_set_new(o, "committed", version(r + 0x1EC)) < 0 ||
	    json_object_set_new(o, "launch_tcb", tcb(r + 0x1F0, turin)) < 0 ||
	    json_object_set_new(o, "launch_mit_vector", u64_or_null(r + 0x1F8, ver >= 5)) < 0 ||
	    json_object_set_new(o, "current_mit_vector", u64_or_null(r + 0x200, ver >= 5)) < 0 ||
	    json_object_set_new(o, "signature",
	                        json_pack("{s:o,s:o}", "r", bytes(r + 0x2A0, 72), "s",
	                                  bytes(r + 0x2E8, 72))) < 0) {
		json_decref(o);
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	}
	*out = o;
	return 0;
}
