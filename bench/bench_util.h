/* Clocks and sorting shared by the bench_*.c programs. */
#ifndef COFFER_BENCH_UTIL_H
#define COFFER_BENCH_UTIL_H

#include <time.h>

/* Wall-clock seconds (monotonic). */
static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of this thread: time spent descheduled by other processes on
 * a shared machine does not count. */
static inline double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* qsort order of doubles, ascending. */
static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#endif
