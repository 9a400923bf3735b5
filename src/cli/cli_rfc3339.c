/* RFC 3339 timestamps for --at (coffer evidence verify, coffer collateral). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "cli_rfc3339.h"

static bool digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int cli_parse_rfc3339(int64_t *out, const char *s)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	size_t n = strlen(s), i = 19;
	struct tm tm;
	int64_t t;

	/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm) */
	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) ||
	    !digits(s + 8, 2, &d) || !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) ||
	    !digits(s + 17, 2, &sec))
		return -1;
	if (s[i] == '.') {
		i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			return -1;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < n && (s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
		sign = 0;
	} else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':' &&
	           digits(s + i + 1, 2, &oh) && digits(s + i + 4, 2, &om) && oh < 24 && om < 60) {
		sign = s[i] == '+' ? 1 : -1;
	} else {
		return -1;
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	if (t <= 0)
		return -1;
	*out = t - sign * (int64_t)(oh * 3600 + om * 60);
	return 0;
}
