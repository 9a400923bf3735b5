/*
 * SEV-SNP guest side: the /dev/sev-guest extended report ioctl (for kernels
 * without configfs-tsm) and the certificate table that comes with it (and
 * with configfs-tsm's auxblob).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/sev-guest.h>

#include "coffer/attester.h"
#include "attester/attester_internal.h"

/* GHCB specification 2.0, section 4.1.8.1: certificate table GUIDs, stored
 * in RFC 4122 byte order (the order of the text form). */
static const struct {
	uint8_t guid[16];
	const char *name;
} cert_guids[] = {
	{ { 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c,
	    0xd0, 0xae },
	  "ARK" },
	{ { 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27,
	    0xc7, 0x82 },
	  "ASK" },
	{ { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8,
	    0xac, 0xcd },
	  "VCEK" },
	{ { 0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0,
	    0xb8, 0xa1 },
	  "VLEK" },
	{ { 0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d, 0x3d, 0x97, 0xff, 0xd1, 0x9f, 0x88, 0xdc,
	    0x67, 0xea },
	  "CRL" },
};

#define CERT_ENTRY_SIZE  24
#define CERT_ENTRIES_MAX 64

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int coffer_snp_cert_table_to_json(json_t **out, const uint8_t *table, size_t len)
{
	static const uint8_t zero[CERT_ENTRY_SIZE];
	json_t *arr = json_array();
	size_t i;
	int error = COFFER_ENOMEM;

	if (arr == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	for (i = 0;; i++) {
		const uint8_t *e;
		const char *name = NULL;
		uint32_t off, n;
		json_t *obj, *data;

		if (i >= CERT_ENTRIES_MAX) {
			error = coffer_error_set(COFFER_ELIMIT,
			                         "SNP certificate table: more than %d entries",
			                         CERT_ENTRIES_MAX);
			goto fail;
		}
		if ((i + 1) * CERT_ENTRY_SIZE > len) {
			error = coffer_error_set(
			        COFFER_EINVAL,
			        "SNP certificate table: no terminating entry in %zu "
			        "bytes",
			        len);
			goto fail;
		}
		e = table + i * CERT_ENTRY_SIZE;
		if (memcmp(e, zero, CERT_ENTRY_SIZE) == 0)
			break;
		off = le32(e + 16);
		n = le32(e + 20);
		if (n == 0 || off > len || n > len - off) {
			error = coffer_error_set(
			        COFFER_EINVAL,
			        "SNP certificate table: entry %zu (offset %u, length "
			        "%u) outside the %zu-byte blob",
			        i, off, n, len);
			goto fail;
		}
		for (size_t g = 0; g < sizeof(cert_guids) / sizeof(cert_guids[0]); g++)
			if (memcmp(e, cert_guids[g].guid, 16) == 0)
				name = cert_guids[g].name;
		if (name == NULL)
			continue; /* unknown GUIDs are other vendors' blobs */
		data = json_array();
		obj = json_object();
		if (data == NULL || obj == NULL) {
			json_decref(data);
			json_decref(obj);
			goto nomem;
		}
		for (uint32_t k = 0; k < n; k++)
			if (json_array_append_new(data, json_integer(table[off + k])) < 0) {
				json_decref(data);
				json_decref(obj);
				goto nomem;
			}
		/* the _new setters consume their value argument even when
		 * they fail, but never the container: obj (and data until it
		 * is set) are still ours on each failure below */
		if (json_object_set_new(obj, "cert_type", json_string(name)) < 0) {
			json_decref(data);
			json_decref(obj);
			goto nomem;
		}
		if (json_object_set_new(obj, "data", data) < 0) {
			json_decref(obj);
			goto nomem;
		}
		if (json_array_append_new(arr, obj) < 0)
			goto nomem;
	}
	*out = arr;
	return 0;
nomem:
	error = coffer_error_set(COFFER_ENOMEM, "out of memory");
fail:
	json_decref(arr);
	return error;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* SEV-SNP firmware ABI, MSG_REPORT_RSP: status u32, report_size u32,
 * 24 reserved bytes, then the report. */
static int take_report(uint8_t **report, size_t *report_len, const struct snp_report_resp *resp)
{
	uint32_t status = le32(resp->data), size = le32(resp->data + 4);

	if (status != 0)
		return coffer_error_set(COFFER_EIO, "sev-guest: firmware status 0x%x", status);
	if (size < SNP_REPORT_SIZE || size > sizeof(resp->data) - 32)
		return coffer_error_set(COFFER_EIO, "sev-guest: report size %u", size);
	*report = malloc(size);
	if (*report == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	memcpy(*report, resp->data + 32, size);
	*report_len = size;
	return 0;
}

int attester_sev_guest_report(uint8_t **report, size_t *report_len, uint8_t **certs,
                              size_t *certs_len, const char *dev, const uint8_t user_data[64],
                              unsigned vmpl)
{
	struct snp_ext_report_req req;
	struct snp_report_resp *resp = NULL;
	struct snp_guest_request_ioctl io;
	uint8_t *cbuf = NULL;
	size_t clen = 4 * 4096;
	int fd, error, busy = 0;

	*report = NULL;
	*certs = NULL;
	*report_len = *certs_len = 0;
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return coffer_error_set(errno == ENOENT ? COFFER_ENOTFOUND : COFFER_EIO,
		                        "sev-guest: cannot open %s: %s", dev, strerror(errno));
	resp = calloc(1, sizeof(*resp));
	if (resp == NULL) {
		error = coffer_error_set(COFFER_ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		free(cbuf);
		/* the certificate buffer must be page-aligned and a page multiple */
		cbuf = aligned_alloc(4096, clen);
		if (cbuf == NULL) {
			error = coffer_error_set(COFFER_ENOMEM, "out of memory");
			goto out;
		}
		memset(cbuf, 0, clen);
		memset(&req, 0, sizeof(req));
		memcpy(req.data.user_data, user_data, 64);
		req.data.vmpl = vmpl;
		req.certs_address = (uint64_t)(uintptr_t)cbuf;
		req.certs_len = (uint32_t)clen;
		memset(&io, 0, sizeof(io));
		io.msg_version = 1;
		io.req_data = (uint64_t)(uintptr_t)&req;
		io.resp_data = (uint64_t)(uintptr_t)resp;
		if (ioctl(fd, SNP_GET_EXT_REPORT, &io) == 0)
			break;
		if ((io.exitinfo2 >> 32) == SNP_GUEST_VMM_ERR_INVALID_LEN && req.certs_len > clen &&
		    req.certs_len <= SNP_CERTS_MAX) {
			clen = ((size_t)req.certs_len + 4095) & ~(size_t)4095;
			continue;
		}
		if ((io.exitinfo2 >> 32) == SNP_GUEST_VMM_ERR_BUSY && busy++ < 5) {
			sleep_ms(50u << busy);
			continue;
		}
		if (errno == ENOTTY || errno == EINVAL) {
			/* no extended report: the plain one, without certificates */
			struct snp_report_req plain;
			memset(&plain, 0, sizeof(plain));
			memcpy(plain.user_data, user_data, 64);
			plain.vmpl = vmpl;
			memset(&io, 0, sizeof(io));
			io.msg_version = 1;
			io.req_data = (uint64_t)(uintptr_t)&plain;
			io.resp_data = (uint64_t)(uintptr_t)resp;
			if (ioctl(fd, SNP_GET_REPORT, &io) == 0) {
				free(cbuf);
				cbuf = NULL;
				break;
			}
		}
		error = coffer_error_set(COFFER_EIO,
		                         "sev-guest: SNP_GET_EXT_REPORT on %s failed: %s "
		                         "(firmware error 0x%x, VMM error 0x%x)",
		                         dev, strerror(errno), io.fw_error, io.vmm_error);
		goto out;
	}
	if ((error = take_report(report, report_len, resp)) < 0)
		goto out;
	if (cbuf) {
		static const uint8_t zero[24];
		if (memcmp(cbuf, zero, sizeof(zero)) != 0) {
			*certs = cbuf;
			*certs_len = clen;
			cbuf = NULL;
		}
	}
	error = 0;
out:
	close(fd);
	free(resp);
	free(cbuf);
	return error;
}
