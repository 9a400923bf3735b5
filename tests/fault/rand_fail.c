/*
 * Fault injection for tests, loaded with LD_PRELOAD: OpenSSL's RAND_bytes
 * and RAND_priv_bytes fail (return 0) while the file named by
 * $COFFER_TEST_RAND_FAIL exists, and pass through to OpenSSL otherwise.
 * A test toggles the file to see what a program does when its random
 * source fails (cofferd_rand_fail_test.py). Never part of a product build.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

typedef int (*rand_fn)(unsigned char *buf, int num);

int RAND_bytes(unsigned char *buf, int num);
int RAND_priv_bytes(unsigned char *buf, int num);

static int failing(void)
{
	const char *flag = getenv("COFFER_TEST_RAND_FAIL");

	return flag != NULL && access(flag, F_OK) == 0;
}

static int pass_on(const char *name, unsigned char *buf, int num)
{
	rand_fn real = (rand_fn)dlsym(RTLD_NEXT, name);

	return real != NULL ? real(buf, num) : 0;
}

int RAND_bytes(unsigned char *buf, int num)
{
	if (failing())
		return 0;
	return pass_on("RAND_bytes", buf, num);
}

int RAND_priv_bytes(unsigned char *buf, int num)
{
	if (failing())
		return 0;
	return pass_on("RAND_priv_bytes", buf, num);
}
