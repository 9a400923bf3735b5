/* base64 (RFC 4648 sections 4, 5) and hex, strict decoders. */
#include <stdlib.h>
#include <string.h>

#include "coffer/codec.h"

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int variant_url(coffer_b64 v)
{
	return v == COFFER_B64_URL || v == COFFER_B64_URL_NOPAD;
}

static int variant_pad(coffer_b64 v)
{
	return v == COFFER_B64_STD || v == COFFER_B64_URL;
}

size_t coffer_base64_encoded_len(size_t len, coffer_b64 variant)
{
	size_t full = len / 3, rest = len % 3;

	if (full > (SIZE_MAX - 4) / 4)
		return SIZE_MAX;
	if (rest == 0)
		return full * 4;
	return full * 4 + (variant_pad(variant) ? 4 : rest + 1);
}

static void b64_encode_into(char *o, const uint8_t *in, size_t len, coffer_b64 variant)
{
	const char *a = variant_url(variant) ? b64_url : b64_std;
	size_t i = 0;

	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*o++ = a[v >> 18];
		*o++ = a[(v >> 12) & 63];
		*o++ = a[(v >> 6) & 63];
		*o++ = a[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		*o++ = a[v >> 18];
		*o++ = a[(v >> 12) & 63];
		if (variant_pad(variant)) {
			*o++ = '=';
			*o++ = '=';
		}
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*o++ = a[v >> 18];
		*o++ = a[(v >> 12) & 63];
		*o++ = a[(v >> 6) & 63];
		if (variant_pad(variant))
			*o++ = '=';
	}
	*o = '\0';
}

int coffer_base64_encode(char **out, size_t *out_len, const uint8_t *in, size_t len,
                         coffer_b64 variant)
{
	size_t n = coffer_base64_encoded_len(len, variant);
	char *o;

	if (n == SIZE_MAX)
		return coffer_error_set(COFFER_ELIMIT, "base64 input too large");
	o = malloc(n + 1);
	if (o == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	b64_encode_into(o, in, len, variant);
	*out = o;
	if (out_len)
		*out_len = n;
	return 0;
}

int coffer_base64_encode_buf(coffer_buf *out, const uint8_t *in, size_t len, coffer_b64 variant)
{
	size_t n = coffer_base64_encoded_len(len, variant);
	int error;

	if (n == SIZE_MAX)
		return coffer_error_set(COFFER_ELIMIT, "base64 input too large");
	if ((error = coffer_buf_reserve(out, n)) < 0)
		return error;
	b64_encode_into((char *)out->ptr + out->len, in, len, variant);
	out->len += n;
	return 0;
}

static int b64_value(unsigned char c, int url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (!url && c == '+')
		return 62;
	if (!url && c == '/')
		return 63;
	if (url && c == '-')
		return 62;
	if (url && c == '_')
		return 63;
	return -1;
}

/* Decodes into `o` (room for len*3/4+3 bytes); returns the length or < 0. */
static int b64_decode_into(uint8_t *o, size_t *olen, const char *in, size_t len, coffer_b64 variant)
{
	int url = variant_url(variant);
	size_t data_len = len, i, n = 0, rest;

	if (variant_pad(variant)) {
		if (len % 4 != 0)
			return coffer_error_set(COFFER_EINVAL,
			                        "base64: length %zu is not a multiple of 4", len);
		if (len >= 1 && in[len - 1] == '=')
			data_len--;
		if (len >= 2 && in[len - 2] == '=')
			data_len--;
	}
	rest = data_len % 4;
	if (rest == 1)
		return coffer_error_set(COFFER_EINVAL, "base64: truncated input");
	for (i = 0; i + 4 <= data_len; i += 4) {
		int a = b64_value((unsigned char)in[i], url),
		    b = b64_value((unsigned char)in[i + 1], url),
		    c = b64_value((unsigned char)in[i + 2], url),
		    d = b64_value((unsigned char)in[i + 3], url);
		if ((a | b | c | d) < 0)
			goto bad_char;
		o[n++] = (uint8_t)(a << 2 | b >> 4);
		o[n++] = (uint8_t)((b & 15) << 4 | c >> 2);
		o[n++] = (uint8_t)((c & 3) << 6 | d);
	}
	if (rest) {
		int a = b64_value((unsigned char)in[i], url),
		    b = b64_value((unsigned char)in[i + 1], url);
		int c = rest == 3 ? b64_value((unsigned char)in[i + 2], url) : 0;
		if ((a | b | c) < 0)
			goto bad_char;
		o[n++] = (uint8_t)(a << 2 | b >> 4);
		if (rest == 2) {
			if (b & 15)
				return coffer_error_set(COFFER_EINVAL,
				                        "base64: non-canonical trailing bits");
		} else {
			o[n++] = (uint8_t)((b & 15) << 4 | c >> 2);
			if (c & 3)
				return coffer_error_set(COFFER_EINVAL,
				                        "base64: non-canonical trailing bits");
		}
	}
	*olen = n;
	return 0;
bad_char:
	return coffer_error_set(COFFER_EINVAL, "base64: invalid character (%s alphabet, %s)",
	                        url ? "url-safe" : "standard",
	                        variant_pad(variant) ? "padded" : "unpadded");
}

int coffer_base64_decode(uint8_t **out, size_t *out_len, const char *in, size_t len,
                         coffer_b64 variant)
{
	uint8_t *o;
	size_t n = 0;
	int error;

	if (len > SIZE_MAX / 3)
		return coffer_error_set(COFFER_ELIMIT, "base64 input too large");
	o = malloc(len / 4 * 3 + 4);
	if (o == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	if ((error = b64_decode_into(o, &n, in, len, variant)) < 0) {
		free(o);
		return error;
	}
	o[n] = 0;
	*out = o;
	*out_len = n;
	return 0;
}

int coffer_base64_decode_secret(coffer_secret *out, const char *in, size_t len, coffer_b64 variant)
{
	size_t n = 0;
	int error;

	if (len > SIZE_MAX / 3)
		return coffer_error_set(COFFER_ELIMIT, "base64 input too large");
	if ((error = coffer_secret_alloc(out, len / 4 * 3 + 3)) < 0)
		return error;
	if ((error = b64_decode_into(out->ptr, &n, in, len, variant)) < 0) {
		coffer_secret_free(out);
		return error;
	}
	return coffer_secret_resize(out, n);
}

int coffer_hex_encode(char **out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i, n;
	char *o;

	if (coffer_size_mul(&n, len, 2) < 0)
		return COFFER_ELIMIT;
	o = malloc(n + 1);
	if (o == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	for (i = 0; i < len; i++) {
		o[2 * i] = digits[in[i] >> 4];
		o[2 * i + 1] = digits[in[i] & 15];
	}
	o[n] = '\0';
	*out = o;
	return 0;
}

int coffer_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int coffer_hex_decode(uint8_t **out, size_t *out_len, const char *in, size_t len)
{
	uint8_t *o;
	size_t i;

	if (len % 2)
		return coffer_error_set(COFFER_EINVAL, "hex: odd length %zu", len);
	o = malloc(len / 2 + 1);
	if (o == NULL)
		return coffer_error_set(COFFER_ENOMEM, "out of memory");
	for (i = 0; i < len; i += 2) {
		int hi = coffer_hex_digit((unsigned char)in[i]),
		    lo = coffer_hex_digit((unsigned char)in[i + 1]);
		if (hi < 0 || lo < 0) {
			free(o);
			return coffer_error_set(COFFER_EINVAL,
			                        "hex: invalid character at offset %zu",
			                        hi < 0 ? i : i + 1);
		}
		o[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	o[len / 2] = 0;
	*out = o;
	*out_len = len / 2;
	return 0;
}

int64_t coffer_dec_parse(const char *s, int64_t max)
{
	int64_t v = 0;

	/* at most 16 digits: no overflow before the comparison with max */
	if (s == NULL || s[0] < '1' || s[0] > '9' || strlen(s) > 16)
		return -1;
	for (size_t i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/* ---- UTF-8 ---- */

/* Strict decoding of one code point at s[*i] (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF). */
int coffer_utf8_next(uint32_t *cp, const unsigned char *s, size_t len, size_t *i)
{
	size_t p = *i, need;
	uint32_t c = s[p], min;

	if (c < 0x80) {
		*cp = c;
		*i = p + 1;
		return 0;
	} else if (c >= 0xc2 && c <= 0xdf) {
		need = 1, c &= 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2, c &= 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3, c &= 0x07, min = 0x10000;
	} else {
		return -1;
	}
	if (len - p - 1 < need)
		return -1;
	for (size_t j = 1; j <= need; j++) {
		if ((s[p + j] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[p + j] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*cp = c;
	*i = p + 1 + need;
	return 0;
}

size_t coffer_utf8_put(char o[4], uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}
