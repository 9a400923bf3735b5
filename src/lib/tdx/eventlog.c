/*
 * The CC event log (ACPI CCEL table -> log area), TCG PC Client Platform
 * Firmware Profile 1.05, section 10.2 "Crypto Agile Log Format": a first
 * TCG_PCClientPCREvent (SHA-1 layout) carrying the "Spec ID Event03"
 * TCG_EfiSpecIdEvent with the digest sizes, then TCG_PCR_EVENT2 records.
 * In CCEL the "PCR index" is the measurement register index: 0 = MRTD,
 * 1..4 = RTMR0..3 (UEFI 2.10, EFI_CC_MEASUREMENT_PROTOCOL, MapPcrToMrIndex).
 * The log area is padded to its fixed size with 0xFF (or 0x00): the log ends
 * at the padding or at an event with index 0xFFFFFFFF.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "coffer/codec.h"
#include "tdx/tdx_internal.h"

#define EV_NO_ACTION   3
#define ALG_SHA384     0x000c
#define MAX_ALGS       8
#define MAX_EVENT_DATA (1024 * 1024)
#define CLAIM_DATA_MAX 4096

typedef struct lrd {
	const uint8_t *p;
	size_t len, off;
} lrd;

static int need(const lrd *r, size_t n)
{
	if (n > r->len - r->off)
		return coffer_error_set(COFFER_EINVAL,
		                        "tdx event log: truncated at offset %zu (%zu bytes needed)",
		                        r->off, n);
	return 0;
}

static uint32_t u32(lrd *r)
{
	uint32_t v = coffer_tdx_le32(r->p + r->off);
	r->off += 4;
	return v;
}

static bool only_padding(const lrd *r)
{
	uint8_t pad;

	if (r->off >= r->len)
		return true;
	pad = r->p[r->off];
	if (pad != 0x00 && pad != 0xff)
		return false;
	for (size_t i = r->off; i < r->len; i++)
		if (r->p[i] != pad)
			return false;
	return true;
}

void coffer_tdx_eventlog_clear(coffer_tdx_eventlog *log)
{
	if (log == NULL)
		return;
	free(log->events);
	log->events = NULL;
	log->count = 0;
}

int coffer_tdx_eventlog_parse(coffer_tdx_eventlog *out, const uint8_t *buf, size_t len)
{
	lrd r = { buf, len, 0 };
	struct {
		uint16_t id, size;
	} algs[MAX_ALGS];
	uint32_t nalgs, ev_size;
	coffer_tdx_eventlog log = { NULL, 0 };
	size_t cap = 0;
	const uint8_t *spec;
	int error;

	if (buf == NULL || len > 64 * 1024 * 1024)
		return coffer_error_set(COFFER_EINVAL, "tdx event log: missing or too large");
	/* first event: pcr, type, sha1[20], size, TCG_EfiSpecIdEvent */
	if ((error = need(&r, 32)) < 0)
		return error;
	r.off = 4;
	if (u32(&r) != EV_NO_ACTION)
		return coffer_error_set(COFFER_EINVAL, "tdx event log: first event is not "
		                                       "EV_NO_ACTION");
	r.off = 28;
	ev_size = u32(&r);
	if ((error = need(&r, ev_size)) < 0)
		return error;
	spec = buf + r.off;
	if (ev_size < 29 || memcmp(spec, "Spec ID Event03\0", 16) != 0)
		return coffer_error_set(COFFER_EINVAL,
		                        "tdx event log: no 'Spec ID Event03' (not a crypto-agile "
		                        "log)");
	nalgs = coffer_tdx_le32(spec + 24);
	if (nalgs == 0 || nalgs > MAX_ALGS || 28 + 4 * (size_t)nalgs > ev_size)
		return coffer_error_set(COFFER_EINVAL, "tdx event log: %u digest algorithms",
		                        (unsigned)nalgs);
	for (uint32_t i = 0; i < nalgs; i++) {
		algs[i].id = coffer_tdx_le16(spec + 28 + 4 * i);
		algs[i].size = coffer_tdx_le16(spec + 30 + 4 * i);
		if (algs[i].size == 0 || algs[i].size > 64 ||
		    (algs[i].id == ALG_SHA384 && algs[i].size != 48))
			return coffer_error_set(COFFER_EINVAL,
			                        "tdx event log: digest size %u for algorithm 0x%x",
			                        (unsigned)algs[i].size, (unsigned)algs[i].id);
	}
	r.off += ev_size;

	while (!only_padding(&r)) {
		coffer_tdx_event e;
		uint32_t count;

		memset(&e, 0, sizeof(e));
		if ((error = need(&r, 12)) < 0)
			goto fail;
		e.mr_index = u32(&r);
		if (e.mr_index == 0xffffffffu)
			break;
		e.type = u32(&r);
		count = u32(&r);
		if (count == 0 || count > nalgs) {
			error = coffer_error_set(COFFER_EINVAL,
			                         "tdx event log: event %zu has %u digests",
			                         log.count, (unsigned)count);
			goto fail;
		}
		for (uint32_t i = 0; i < count; i++) {
			uint16_t id;
			size_t sz = 0;

			if ((error = need(&r, 2)) < 0)
				goto fail;
			id = coffer_tdx_le16(buf + r.off);
			r.off += 2;
			for (uint32_t k = 0; k < nalgs; k++)
				if (algs[k].id == id)
					sz = algs[k].size;
			if (sz == 0) {
				error = coffer_error_set(
				        COFFER_EINVAL,
				        "tdx event log: event %zu: digest algorithm "
				        "0x%x not in the Spec ID event",
				        log.count, (unsigned)id);
				goto fail;
			}
			if ((error = need(&r, sz)) < 0)
				goto fail;
			if (id == ALG_SHA384) {
				memcpy(e.sha384, buf + r.off, 48);
				e.has_sha384 = true;
			}
			r.off += sz;
		}
		if ((error = need(&r, 4)) < 0)
			goto fail;
		ev_size = u32(&r);
		if (ev_size > MAX_EVENT_DATA || (error = need(&r, ev_size)) < 0) {
			error = coffer_error_set(
			        COFFER_EINVAL,
			        "tdx event log: event %zu data of %u bytes does not "
			        "fit",
			        log.count, (unsigned)ev_size);
			goto fail;
		}
		e.data = buf + r.off;
		e.data_len = ev_size;
		r.off += ev_size;
		if (e.type != EV_NO_ACTION && e.mr_index > 4) {
			error = coffer_error_set(COFFER_EINVAL,
			                         "tdx event log: event %zu: MR index %u (0..4)",
			                         log.count, (unsigned)e.mr_index);
			goto fail;
		}
		if (log.count == cap) {
			coffer_tdx_event *n;
			if (cap >= COFFER_TDX_EVENTLOG_MAX_EVENTS) {
				error = coffer_error_set(COFFER_ELIMIT,
				                         "tdx event log: more than %d events",
				                         COFFER_TDX_EVENTLOG_MAX_EVENTS);
				goto fail;
			}
			cap = cap ? cap * 2 : 64;
			n = realloc(log.events, cap * sizeof(*n));
			if (n == NULL) {
				error = COFFER_ENOMEM;
				goto fail;
			}
			log.events = n;
		}
		log.events[log.count++] = e;
	}
	*out = log;
	return 0;
fail:
	coffer_tdx_eventlog_clear(&log);
	return error;
}

int coffer_tdx_eventlog_replay(uint8_t rtmr[4][48], const coffer_tdx_eventlog *log)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int error = 0;

	if (md == NULL)
		return COFFER_ENOMEM;
	memset(rtmr, 0, 4 * 48);
	for (size_t i = 0; i < log->count; i++) {
		const coffer_tdx_event *e = &log->events[i];
		uint8_t *m;

		if (e->type == EV_NO_ACTION || e->mr_index == 0)
			continue; /* informational / MRTD (built by the TDX module) */
		if (!e->has_sha384) {
			error = coffer_error_set(
			        COFFER_EINVAL, "tdx event log: event %zu has no SHA-384 digest", i);
			break;
		}
		m = rtmr[e->mr_index - 1];
		if (EVP_DigestInit_ex(md, EVP_sha384(), NULL) != 1 ||
		    EVP_DigestUpdate(md, m, 48) != 1 || EVP_DigestUpdate(md, e->sha384, 48) != 1 ||
		    EVP_DigestFinal_ex(md, m, NULL) != 1) {
			error = coffer_error_set_ssl(COFFER_ERROR, "tdx event log: SHA-384");
			break;
		}
	}
	EVP_MD_CTX_free(md);
	return error;
}

static const struct {
	uint32_t type;
	const char *name;
} type_names[] = {
	{ 0x0, "EV_PREBOOT_CERT" },
	{ 0x1, "EV_POST_CODE" },
	{ 0x2, "EV_UNUSED" },
	{ 0x3, "EV_NO_ACTION" },
	{ 0x4, "EV_SEPARATOR" },
	{ 0x5, "EV_ACTION" },
	{ 0x6, "EV_EVENT_TAG" },
	{ 0x7, "EV_S_CRTM_CONTENTS" },
	{ 0x8, "EV_S_CRTM_VERSION" },
	{ 0x9, "EV_CPU_MICROCODE" },
	{ 0xa, "EV_PLATFORM_CONFIG_FLAGS" },
	{ 0xb, "EV_TABLE_OF_DEVICES" },
	{ 0xc, "EV_COMPACT_HASH" },
	{ 0xd, "EV_IPL" },
	{ 0xe, "EV_IPL_PARTITION_DATA" },
	{ 0xf, "EV_NONHOST_CODE" },
	{ 0x10, "EV_NONHOST_CONFIG" },
	{ 0x11, "EV_NONHOST_INFO" },
	{ 0x12, "EV_OMIT_BOOT_DEVICE_EVENTS" },
	{ 0x80000001, "EV_EFI_VARIABLE_DRIVER_CONFIG" },
	{ 0x80000002, "EV_EFI_VARIABLE_BOOT" },
	{ 0x80000003, "EV_EFI_BOOT_SERVICES_APPLICATION" },
	{ 0x80000004, "EV_EFI_BOOT_SERVICES_DRIVER" },
	{ 0x80000005, "EV_EFI_RUNTIME_SERVICES_DRIVER" },
	{ 0x80000006, "EV_EFI_GPT_EVENT" },
	{ 0x80000007, "EV_EFI_ACTION" },
	{ 0x80000008, "EV_EFI_PLATFORM_FIRMWARE_BLOB" },
	{ 0x80000009, "EV_EFI_HANDOFF_TABLES" },
	{ 0x8000000a, "EV_EFI_PLATFORM_FIRMWARE_BLOB2" },
	{ 0x8000000b, "EV_EFI_HANDOFF_TABLES2" },
	{ 0x8000000c, "EV_EFI_VARIABLE_BOOT2" },
	{ 0x80000010, "EV_EFI_HCRTM_EVENT" },
	{ 0x800000e0, "EV_EFI_VARIABLE_AUTHORITY" },
	{ 0x800000e1, "EV_EFI_SPDM_FIRMWARE_BLOB" },
	{ 0x800000e2, "EV_EFI_SPDM_FIRMWARE_CONFIG" },
};

static const char *type_name(uint32_t t)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].type == t)
			return type_names[i].name;
	return "EV_UNKNOWN";
}

int coffer_tdx_eventlog_claims(json_t **out, const coffer_tdx_eventlog *log)
{
	json_t *arr = json_array();
	int error = COFFER_ENOMEM;

	if (arr == NULL)
		goto out;
	for (size_t i = 0; i < log->count; i++) {
		const coffer_tdx_event *e = &log->events[i];
		size_t dl = e->data_len > CLAIM_DATA_MAX ? CLAIM_DATA_MAX : e->data_len;
		char *b64 = NULL, *dh = NULL;
		uint8_t d[48];
		bool matches = false;
		json_t *ev;

		if (e->type == EV_NO_ACTION)
			continue;
		if (e->has_sha384 &&
		    EVP_Digest(e->data, e->data_len, d, NULL, EVP_sha384(), NULL) == 1)
			matches = memcmp(d, e->sha384, 48) == 0;
		if (coffer_base64_encode(&b64, NULL, e->data, dl, COFFER_B64_STD) < 0 ||
		    (e->has_sha384 && coffer_hex_encode(&dh, e->sha384, 48) < 0)) {
			free(b64);
			free(dh);
			goto out;
		}
		ev = json_pack("{s:i,s:I,s:s,s:[{s:s,s:s}],s:s,s:b,s:b}", "index", (int)e->mr_index,
		               "event_type", (json_int_t)e->type, "type_name", type_name(e->type),
		               "digests", "alg", "SHA-384", "digest", dh ? dh : "", "event", b64,
		               "event_truncated", (int)(dl != e->data_len), "digest_matches_event",
		               (int)matches);
		free(b64);
		free(dh);
		if (ev == NULL || json_array_append_new(arr, ev) < 0)
			goto out;
	}
	*out = arr;
	arr = NULL;
	error = 0;
out:
	json_decref(arr);
	if (error < 0)
		coffer_error_set(error, "tdx event log claims: out of memory");
	return error;
}
