/*
 * bench.h - what the benchmark programs share: a clock and percentiles.
 */
#ifndef CFGSTORE_BENCH_H
#define CFGSTORE_BENCH_H

#include <stdlib.h>
#include <time.h>

static inline double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline int
bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts t and gives its median and 99th percentile. */
static inline void
bench_percentiles(double *t, int n, double *median, double *p99)
{
	int i99 = (n * 99) / 100;

	qsort(t, n, sizeof(*t), bench_cmp);
	*median = t[n / 2];
	*p99 = t[i99 < n ? i99 : n - 1];
}

#endif
