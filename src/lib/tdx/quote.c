/*
 * DCAP quote parsing by the length fields.
 *
 * v3 (SGX ECDSA Quote Library API, "Quote Format"): header(48) | ISV report
 * body(384) | u32 sig_data_len | sig(64) | attest_key(64) | QE report(384) |
 * QE report sig(64) | u16 qe_auth_len | qe_auth | u16 cert_type | u32 size | data.
 * v4 (TDX DCAP QVL API, "Quote Format v4"): header(48) | TD10 body(584) |
 * u32 sig_data_len | sig(64) | attest_key(64) | u16 type=6 | u32 size |
 * [QE report(384) | QE report sig(64) | u16 qe_auth_len | qe_auth | u16 type |
 * u32 size | data].
 * v5: header(48) | u16 body_type | u32 body_size | body | the v4 signature data.
 * Bytes after the signature data occur in real quotes (zero padding) and are
 * ignored; they are outside every signature.
 */
#include <string.h>

#include "coffer/tdx.h"
#include "tdx/tdx_internal.h"

typedef struct rd {
	const uint8_t *p;
	size_t len;
	size_t off;
} rd;

static int take(const uint8_t **out, rd *r, size_t n, const char *what)
{
	if (n > r->len - r->off)
		return coffer_error_set(COFFER_EINVAL,
		                        "tdx quote: %s needs %zu bytes at offset %zu, %zu left",
		                        what, n, r->off, r->len - r->off);
	*out = r->p + r->off;
	r->off += n;
	return 0;
}

static int take_u16(uint16_t *out, rd *r, const char *what)
{
	const uint8_t *p = NULL;
	int error = take(&p, r, 2, what);

	if (error == 0)
		*out = coffer_tdx_le16(p);
	return error;
}

static int take_u32(uint32_t *out, rd *r, const char *what)
{
	const uint8_t *p = NULL;
	int error = take(&p, r, 4, what);

	if (error == 0)
		*out = coffer_tdx_le32(p);
	return error;
}

/* QE report certification data (type 6) or, in v3, the same fields inline. */
static int parse_qe_part(coffer_tdx_quote *q, rd *r)
{
	uint16_t auth_len = 0, cert_type = 0;
	uint32_t cert_len = 0;
	int error;

	if ((error = take(&q->qe_report, r, COFFER_SGX_REPORT_SIZE, "QE report")) < 0 ||
	    (error = take(&q->qe_report_sig, r, 64, "QE report signature")) < 0 ||
	    (error = take_u16(&auth_len, r, "QE authentication data length")) < 0 ||
	    (error = take(&q->qe_auth, r, auth_len, "QE authentication data")) < 0 ||
	    (error = take_u16(&cert_type, r, "certification data type")) < 0 ||
	    (error = take_u32(&cert_len, r, "certification data size")) < 0)
		return error;
	q->qe_auth_len = auth_len;
	q->cert_type = cert_type;
	if (cert_type < 1 || cert_type > 7 || cert_type == COFFER_TDX_CERT_QE_REPORT)
		return coffer_error_set(COFFER_EINVAL,
		                        "tdx quote: certification data type %u is not valid here",
		                        (unsigned)cert_type);
	if ((error = take(&q->cert_data, r, cert_len, "certification data")) < 0)
		return error;
	q->cert_data_len = cert_len;
	return 0;
}

int coffer_tdx_quote_parse(coffer_tdx_quote *out, const uint8_t *buf, size_t len)
{
	coffer_tdx_quote q;
	rd r = { buf, len, 0 };
	rd sig;
	uint32_t sig_len = 0;
	int error;

	memset(&q, 0, sizeof(q));
	if (buf == NULL || len < COFFER_TDX_HEADER_SIZE)
		return coffer_error_set(COFFER_EINVAL,
		                        "tdx quote: %zu bytes, shorter than a header", len);
	if (len > COFFER_TDX_QUOTE_MAX)
		return coffer_error_set(COFFER_ELIMIT, "tdx quote: %zu bytes, limit %d", len,
		                        COFFER_TDX_QUOTE_MAX);
	if ((error = take(&q.header, &r, COFFER_TDX_HEADER_SIZE, "header")) < 0)
		return error;
	q.version = coffer_tdx_le16(q.header);
	q.att_key_type = coffer_tdx_le16(q.header + 2);
	q.tee_type = coffer_tdx_le32(q.header + 4);
	if (q.version < 3 || q.version > 5)
		return coffer_error_set(COFFER_EUNSUPPORTED,
		                        "tdx quote: quote format version %u not supported",
		                        (unsigned)q.version);
	if (q.att_key_type != COFFER_TDX_ATT_KEY_ECDSA)
		return coffer_error_set(COFFER_EUNSUPPORTED,
		                        "tdx quote: attestation key type %u not supported (only "
		                        "ECDSA-256 P-256)",
		                        (unsigned)q.att_key_type);
	if (q.tee_type != COFFER_TDX_TEE_TYPE_SGX && q.tee_type != COFFER_TDX_TEE_TYPE_TDX)
		return coffer_error_set(COFFER_EUNSUPPORTED, "tdx quote: TEE type 0x%x unknown",
		                        (unsigned)q.tee_type);
	if (q.version == 3 && q.tee_type != COFFER_TDX_TEE_TYPE_SGX)
		return coffer_error_set(
		        COFFER_EINVAL,
		        "tdx quote: quote format not supported: version 3 with a TDX TEE type");

	if (q.version == 5) {
		uint16_t bt = 0;
		uint32_t bsz = 0;
		size_t want;

		if ((error = take_u16(&bt, &r, "body type")) < 0 ||
		    (error = take_u32(&bsz, &r, "body size")) < 0)
			return error;
		if (bt == COFFER_TDX_BODY_SGX)
			want = COFFER_SGX_REPORT_SIZE;
		else if (bt == COFFER_TDX_BODY_TD10)
			want = COFFER_TDX_TD10_SIZE;
		else if (bt == COFFER_TDX_BODY_TD15)
			want = COFFER_TDX_TD15_SIZE;
		else
			return coffer_error_set(COFFER_EUNSUPPORTED,
			                        "tdx quote: v5 body type %u unknown", (unsigned)bt);
		if (bsz != want)
			return coffer_error_set(
			        COFFER_EINVAL,
			        "tdx quote: v5 body type %u with size %u, expected %zu",
			        (unsigned)bt, (unsigned)bsz, want);
		if ((bt == COFFER_TDX_BODY_SGX) != (q.tee_type == COFFER_TDX_TEE_TYPE_SGX))
			return coffer_error_set(
			        COFFER_EINVAL,
			        "tdx quote: body type %u does not match TEE type 0x%x",
			        (unsigned)bt, (unsigned)q.tee_type);
		q.body_type = (coffer_tdx_body_type)bt;
		q.body_len = want;
	} else if (q.tee_type == COFFER_TDX_TEE_TYPE_TDX) {
		q.body_type = COFFER_TDX_BODY_TD10;
		q.body_len = COFFER_TDX_TD10_SIZE;
	} else {
		q.body_type = COFFER_TDX_BODY_SGX;
		q.body_len = COFFER_SGX_REPORT_SIZE;
	}
	if ((error = take(&q.body, &r, q.body_len, "report body")) < 0)
		return error;
	q.signed_len = r.off;

	if ((error = take_u32(&sig_len, &r, "signature data length")) < 0)
		return error;
	if (sig_len > r.len - r.off)
		return coffer_error_set(COFFER_EINVAL,
		                        "tdx quote: signature data length %u exceeds the %zu bytes "
		                        "left",
		                        (unsigned)sig_len, r.len - r.off);
	sig.p = r.p + r.off;
	sig.len = sig_len;
	sig.off = 0;
	q.trailing = r.len - r.off - sig_len;

	if ((error = take(&q.signature, &sig, 64, "quote signature")) < 0 ||
	    (error = take(&q.attest_key, &sig, 64, "attestation key")) < 0)
		return error;
	if (q.version == 3) {
		if ((error = parse_qe_part(&q, &sig)) < 0)
			return error;
	} else {
		uint16_t outer_type = 0;
		uint32_t outer_len = 0;
		rd inner;

		if ((error = take_u16(&outer_type, &sig, "certification data type")) < 0 ||
		    (error = take_u32(&outer_len, &sig, "certification data size")) < 0)
			return error;
		if (outer_type != COFFER_TDX_CERT_QE_REPORT)
			return coffer_error_set(COFFER_EUNSUPPORTED,
			                        "tdx quote: certification data type %u, expected 6 "
			                        "(QE report)",
			                        (unsigned)outer_type);
		if (outer_len != sig.len - sig.off)
			return coffer_error_set(COFFER_EINVAL,
			                        "tdx quote: size of certification data is 0x%x, "
			                        "expected 0x%zx from the signature data length",
			                        (unsigned)outer_len, sig.len - sig.off);
		inner.p = sig.p + sig.off;
		inner.len = outer_len;
		inner.off = 0;
		if ((error = parse_qe_part(&q, &inner)) < 0)
			return error;
		if (inner.off != inner.len)
			return coffer_error_set(COFFER_EINVAL,
			                        "tdx quote: %zu unaccounted bytes in the QE "
			                        "certification data",
			                        inner.len - inner.off);
		sig.off += outer_len;
	}
	if (sig.off != sig.len)
		return coffer_error_set(COFFER_EINVAL,
		                        "tdx quote: %zu unaccounted bytes in the signature data",
		                        sig.len - sig.off);
	*out = q;
	return 0;
}
