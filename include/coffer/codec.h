/*
 * base64 (RFC 4648 sections 4 and 5) and hex.
 *
 * Decoding is strict: characters outside the variant's alphabet, whitespace,
 * missing or superfluous padding, and non-canonical trailing bits are all
 * rejected with COFFER_EINVAL. Outputs are NUL-terminated (not counted).
 */
#ifndef COFFER_CODEC_H
#define COFFER_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "coffer/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum coffer_b64 {
	COFFER_B64_STD,       /* + / with = padding */
	COFFER_B64_STD_NOPAD, /* + / without padding */
	COFFER_B64_URL,       /* - _ with = padding */
	COFFER_B64_URL_NOPAD, /* - _ without padding: JOSE (RFC 7515 section 2) */
} coffer_b64;

size_t coffer_base64_encoded_len(size_t len, coffer_b64 variant);
int coffer_base64_encode(char **out, size_t *out_len, const uint8_t *in, size_t len,
                         coffer_b64 variant);
int coffer_base64_encode_buf(coffer_buf *out, const uint8_t *in, size_t len, coffer_b64 variant);
int coffer_base64_decode(uint8_t **out, size_t *out_len, const char *in, size_t len,
                         coffer_b64 variant);
/* Decode into a secret (wiped on every path). */
int coffer_base64_decode_secret(coffer_secret *out, const char *in, size_t len, coffer_b64 variant);

/* Lowercase hex. */
int coffer_hex_encode(char **out, const uint8_t *in, size_t len);
/* Accepts upper- and lowercase; rejects odd lengths and non-hex characters. */
int coffer_hex_decode(uint8_t **out, size_t *out_len, const char *in, size_t len);
/* The value 0-15 of one hex digit, upper- or lowercase; -1 for any other
 * character (including EOF and bytes above 0x7f). */
int coffer_hex_digit(int c);

/* A decimal count or seq 1..max (max below 10^16), as a query argument or
 * an option gives it: digits only, no sign, space or leading zero; -1 for
 * NULL or anything else. */
int64_t coffer_dec_parse(const char *s, int64_t max);

/* Strict UTF-8 (RFC 3629: no overlong form, no surrogate, nothing above
 * U+10FFFF): the code point at s[*i] (*i < len) into *cp and *i past it,
 * or -1 with *i unchanged. */
int coffer_utf8_next(uint32_t *cp, const unsigned char *s, size_t len, size_t *i);
/* The UTF-8 form of code point cp (at most U+10FFFF; the caller checks it,
 * surrogates included) into o[0..3]; returns its length, 1 to 4. */
size_t coffer_utf8_put(char o[4], uint32_t cp);

#ifdef __cplusplus
}
#endif
#endif
