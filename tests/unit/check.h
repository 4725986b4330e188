/*
 * check.h - the unit tests' few macros.  Each CHECK prints "ok" or
 * "not ok" with the expression, so a failing line says what failed;
 * check_done() prints "N passed, M failed" and is the exit status.
 */
#ifndef CFGSTORE_CHECK_H
#define CFGSTORE_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond) do {						\
	if (cond) {							\
		check_passed++;						\
	} else {							\
		check_failed++;						\
		printf("not ok %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	}								\
} while (0)

#define CHECK_STR(got, want) do {					\
	const char *g_ = (got), *w_ = (want);				\
	if (g_ != NULL && strcmp(g_, w_) == 0) {			\
		check_passed++;						\
	} else {							\
		check_failed++;						\
		printf("not ok %s:%d: %s\n  got:  [%s]\n  want: [%s]\n", \
		    __FILE__, __LINE__, #got, g_ ? g_ : "(null)", w_);	\
	}								\
} while (0)

static inline int
check_done(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed != 0;
}

#endif
