/* Unit tests: errors, buffers, secrets, base64, hex, files. */
#include "test_util.h"

#include <fcntl.h>
#include <unistd.h>

#include "coffer/buf.h"
#include "coffer/codec.h"
#include "coffer/common.h"
#include "coffer/file.h"

static void test_error_messages(void **state)
{
	(void)state;
	coffer_error_clear();
	assert_string_equal(coffer_error_last(), "");
	assert_int_equal(coffer_error_set(COFFER_EINVAL, "bad %d", 7), COFFER_EINVAL);
	assert_string_equal(coffer_error_last(), "bad 7");
	assert_int_equal(coffer_error_wrap(COFFER_EINVAL, "ctx"), COFFER_EINVAL);
	assert_string_equal(coffer_error_last(), "ctx: bad 7");
	assert_string_equal(coffer_strerror(COFFER_EVERIFY), "verification failed");
}

static void test_buf_limit(void **state)
{
	coffer_buf b = COFFER_BUF_INIT_MAX(8);
	(void)state;
	assert_int_equal(coffer_buf_append(&b, "12345678", 8), 0);
	assert_int_equal(b.len, 8);
	assert_string_equal((char *)b.ptr, "12345678");
	assert_int_equal(coffer_buf_putc(&b, 'x'), COFFER_ELIMIT);
	assert_int_equal(b.len, 8);
	coffer_buf_clear(&b);
	assert_int_equal(coffer_buf_printf(&b, "%d-%s", 42, "ab"), 0);
	assert_string_equal((char *)b.ptr, "42-ab");
	assert_int_equal(coffer_buf_printf(&b, "%s", "toolong"), COFFER_ELIMIT);
	coffer_buf_free(&b);
}

/* growth through several blocks keeps every byte; the limit holds on the
 * path that finds room without growing; clear wipes what it drops */
static void test_buf_grow(void **state)
{
	coffer_buf b = COFFER_BUF_INIT_MAX(1000);
	char want[1001];
	(void)state;
	for (size_t i = 0; i < 1000; i++) {
		want[i] = (char)('a' + i % 26);
		assert_int_equal(coffer_buf_putc(&b, want[i]), 0);
		assert_true(b.cap <= b.max + 1);
	}
	want[1000] = '\0';
	assert_int_equal(b.len, 1000);
	assert_string_equal((char *)b.ptr, want);
	assert_int_equal(coffer_buf_append(&b, "", 0), 0);
	assert_int_equal(coffer_buf_putc(&b, 'x'), COFFER_ELIMIT);
	assert_int_equal(b.len, 1000);
	coffer_buf_clear(&b);
	assert_int_equal(b.len, 0);
	for (size_t i = 0; i < 1000; i++)
		assert_int_equal(b.ptr[i], 0);
	coffer_buf_free(&b);
	assert_null(b.ptr);
}

static void test_size_overflow(void **state)
{
	size_t r;
	(void)state;
	assert_int_equal(coffer_size_add(&r, SIZE_MAX, 1), COFFER_ELIMIT);
	assert_int_equal(coffer_size_mul(&r, SIZE_MAX / 2 + 1, 2), COFFER_ELIMIT);
	assert_int_equal(coffer_size_add(&r, 3, 4), 0);
	assert_int_equal(r, 7);
}

static void test_secret(void **state)
{
	coffer_secret s = COFFER_SECRET_INIT;
	(void)state;
	assert_int_equal(coffer_secret_set(&s, "abc", 3), 0);
	assert_int_equal(coffer_secret_append(&s, "defghijklmnop", 13), 0);
	assert_int_equal(s.len, 16);
	assert_memory_equal(s.ptr, "abcdefghijklmnop", 16);
	assert_int_equal(coffer_secret_resize(&s, 2), 0);
	assert_int_equal(s.len, 2);
	/* shrinking wipes the tail in place */
	assert_int_equal(s.ptr[2], 0);
	coffer_secret_free(&s);
	assert_null(s.ptr);
	assert_int_equal(s.len, 0);
	coffer_secret_free(&s); /* idempotent */
}

static void test_ct_equal(void **state)
{
	(void)state;
	assert_true(coffer_ct_equal("abcd", "abcd", 4));
	assert_false(coffer_ct_equal("abcd", "abce", 4));
}

struct b64_case {
	const char *plain;
	const char *std, *std_nopad, *url, *url_nopad;
};

/* RFC 4648 section 10 test vectors, plus bytes that differ between alphabets */
static const struct b64_case b64_cases[] = {
	{ "", "", "", "", "" },
	{ "f", "Zg==", "Zg", "Zg==", "Zg" },
	{ "fo", "Zm8=", "Zm8", "Zm8=", "Zm8" },
	{ "foo", "Zm9v", "Zm9v", "Zm9v", "Zm9v" },
	{ "foob", "Zm9vYg==", "Zm9vYg", "Zm9vYg==", "Zm9vYg" },
	{ "fooba", "Zm9vYmE=", "Zm9vYmE", "Zm9vYmE=", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy", "Zm9vYmFy", "Zm9vYmFy", "Zm9vYmFy" },
	{ "\xfb\xff\xbf", "+/+/", "+/+/", "-_-_", "-_-_" },
};

static void test_base64_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(b64_cases) / sizeof(b64_cases[0]); i++) {
		const struct b64_case *c = &b64_cases[i];
		const char *enc[4] = { c->std, c->std_nopad, c->url, c->url_nopad };
		for (int v = 0; v < 4; v++) {
			char *e = NULL;
			uint8_t *d = NULL;
			size_t n = 0;
			assert_int_equal(coffer_base64_encode(&e, &n, (const uint8_t *)c->plain,
			                                      strlen(c->plain), (coffer_b64)v),
			                 0);
			assert_string_equal(e, enc[v]);
			assert_int_equal(n, strlen(enc[v]));
			assert_int_equal(
			        coffer_base64_decode(&d, &n, enc[v], strlen(enc[v]), (coffer_b64)v),
			        0);
			assert_int_equal(n, strlen(c->plain));
			assert_memory_equal(d, c->plain, n);
			free(e);
			free(d);
		}
	}
}

static void expect_b64_reject(const char *in, coffer_b64 v)
{
	uint8_t *d = NULL;
	size_t n = 0;
	int rc = coffer_base64_decode(&d, &n, in, strlen(in), v);
	if (rc != COFFER_EINVAL)
		fail_msg("'%s' (variant %d) was accepted (rc %d)", in, (int)v, rc);
	assert_null(d);
}

static void test_base64_strict(void **state)
{
	(void)state;
	expect_b64_reject("Zg", COFFER_B64_STD);         /* missing padding */
	expect_b64_reject("Zg=", COFFER_B64_STD);        /* short padding */
	expect_b64_reject("Zg==", COFFER_B64_URL_NOPAD); /* padding where none allowed */
	expect_b64_reject("Zh==", COFFER_B64_STD);       /* non-canonical bits */
	expect_b64_reject("Zm9=", COFFER_B64_STD);       /* non-canonical bits */
	expect_b64_reject("Zh", COFFER_B64_URL_NOPAD);
	expect_b64_reject("Z", COFFER_B64_URL_NOPAD);     /* impossible length */
	expect_b64_reject("Zm 9v", COFFER_B64_STD_NOPAD); /* whitespace */
	expect_b64_reject("Zm9v\n", COFFER_B64_STD_NOPAD);
	expect_b64_reject("-_-_", COFFER_B64_STD); /* wrong alphabet */
	expect_b64_reject("+/+/", COFFER_B64_URL);
	expect_b64_reject("Z===", COFFER_B64_STD);
	expect_b64_reject("=Zg=", COFFER_B64_STD); /* padding in the middle */
	expect_b64_reject("Zg==Zg==", COFFER_B64_STD);
}

static void test_base64_embedded_nul(void **state)
{
	uint8_t *d = NULL;
	size_t n = 0;
	(void)state;
	assert_int_equal(coffer_base64_decode(&d, &n, "Zm9v\0Zm9v", 9, COFFER_B64_STD_NOPAD),
	                 COFFER_EINVAL);
}

static void test_base64_secret(void **state)
{
	coffer_secret s = COFFER_SECRET_INIT;
	(void)state;
	assert_int_equal(coffer_base64_decode_secret(&s, "Zm9vYmE", 7, COFFER_B64_URL_NOPAD), 0);
	assert_int_equal(s.len, 5);
	assert_memory_equal(s.ptr, "fooba", 5);
	assert_int_equal(coffer_base64_decode_secret(&s, "Zm9vYmF", 7, COFFER_B64_URL_NOPAD),
	                 COFFER_EINVAL);
	assert_null(s.ptr);
	coffer_secret_free(&s);
}

static void test_dec_parse(void **state)
{
	static const char *bad[] = { "",
		                     "0",
		                     "01",
		                     "-1",
		                     "+1",
		                     " 1",
		                     "1 ",
		                     "1a",
		                     "1.0",
		                     "1e3",
		                     "0x1",
		                     "%31",
		                     "18446744073709551617" };

	(void)state;
	assert_int_equal(coffer_dec_parse("1", 10), 1);
	assert_int_equal(coffer_dec_parse("10", 10), 10);
	assert_int_equal(coffer_dec_parse("11", 10), -1); /* above max */
	assert_int_equal(coffer_dec_parse("9007199254740991", INT64_MAX), 9007199254740991);
	assert_int_equal(coffer_dec_parse("9999999999999999", INT64_MAX), 9999999999999999);
	assert_int_equal(coffer_dec_parse("10000000000000000", INT64_MAX), -1); /* 17 digits */
	assert_int_equal(coffer_dec_parse(NULL, 10), -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(coffer_dec_parse(bad[i], INT64_MAX), -1);
}

static void test_hex(void **state)
{
	char *e = NULL;
	uint8_t *d = NULL;
	size_t n = 0;
	(void)state;
	assert_int_equal(coffer_hex_encode(&e, (const uint8_t *)"\x00\xab\xff", 3), 0);
	assert_string_equal(e, "00abff");
	assert_int_equal(coffer_hex_decode(&d, &n, "00ABff", 6), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(d, "\x00\xab\xff", 3);
	free(e);
	free(d);
	d = NULL;
	assert_int_equal(coffer_hex_decode(&d, &n, "abc", 3), COFFER_EINVAL);
	assert_int_equal(coffer_hex_decode(&d, &n, "zz", 2), COFFER_EINVAL);
	assert_int_equal(coffer_hex_decode(&d, &n, "0x", 2), COFFER_EINVAL);
	assert_null(d);
}

/* every byte value and EOF against strtol's reading of one hex digit */
static void test_hex_digit(void **state)
{
	(void)state;
	for (int c = -1; c < 256; c++) {
		char s[2] = { (char)c, '\0' }, *end = NULL;
		long v = c > 0 && c < 128 ? strtol(s, &end, 16) : 0;
		bool hex = c > 0 && c < 128 && end == s + 1 && c != '+' && c != '-' && c != ' ';

		assert_int_equal(coffer_hex_digit(c), hex ? (int)v : -1);
	}
}

/* each length's bounds, written and read back by the strict decoder */
static void test_utf8_put(void **state)
{
	static const struct {
		uint32_t cp;
		size_t len;
		const char *utf8;
	} cases[] = {
		{ 0x0, 1, "\x00" },
		{ 0x7f, 1, "\x7f" },
		{ 0x80, 2, "\xc2\x80" },
		{ 0x7ff, 2, "\xdf\xbf" },
		{ 0x800, 3, "\xe0\xa0\x80" },
		{ 0xd7ff, 3, "\xed\x9f\xbf" },
		{ 0xe000, 3, "\xee\x80\x80" },
		{ 0xffff, 3, "\xef\xbf\xbf" },
		{ 0x10000, 4, "\xf0\x90\x80\x80" },
		{ 0x10ffff, 4, "\xf4\x8f\xbf\xbf" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char o[4];
		uint32_t back = 0;
		size_t at = 0, n = coffer_utf8_put(o, cases[i].cp);

		assert_int_equal(n, cases[i].len);
		assert_memory_equal(o, cases[i].utf8, n);
		assert_int_equal(coffer_utf8_next(&back, (const unsigned char *)o, n, &at), 0);
		assert_int_equal(back, cases[i].cp);
		assert_int_equal(at, n);
	}
}

static void test_file_roundtrip(void **state)
{
	char dir[] = "/tmp/coffer-base-XXXXXX";
	char path[256];
	uint8_t *p = NULL;
	size_t n = 0;
	struct stat st;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/key", dir);
	assert_int_equal(coffer_file_write_private(path, "secret", 6), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(coffer_file_read(&p, &n, path, 6), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(p, "secret", 6);
	free(p);
	p = NULL;
	/* over the limit by one byte */
	assert_int_equal(coffer_file_read(&p, &n, path, 5), COFFER_ELIMIT);
	assert_null(p);
	/* refuses to overwrite a world-readable file with key material */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(coffer_file_write_private(path, "x", 1), COFFER_EDENIED);
	assert_int_equal(coffer_file_read(&p, &n, path, 100), 0);
	assert_memory_equal(p, "secret", 6); /* unchanged */
	free(p);
	assert_int_equal(coffer_file_read(&p, &n, "/nonexistent/coffer", 10), COFFER_EIO);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_buf_limit),
		cmocka_unit_test(test_buf_grow),
		cmocka_unit_test(test_size_overflow),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_ct_equal),
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_strict),
		cmocka_unit_test(test_base64_embedded_nul),
		cmocka_unit_test(test_base64_secret),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_hex_digit),
		cmocka_unit_test(test_utf8_put),
		cmocka_unit_test(test_dec_parse),
		cmocka_unit_test(test_file_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
