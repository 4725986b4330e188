/*
 * commit_many.c - makes N commits on a primary as fast as the store
 * allows, for the catch-up tests and the benchmark.
 *
 *	commit_many STOREDIR N [KEY]
 *
 * Commit i sets KEY (default bench.counter) to "i".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

int
main(int argc, char **argv)
{
	struct error err = { 0 };
	struct store *s;
	struct change *c;
	struct value *v;
	const char *key = argc > 3 ? argv[3] : "bench.counter";
	char text[32], msg[64];
	uint64_t rev;
	long i, n;

	if (argc < 3 || (n = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: commit_many STOREDIR N [KEY]\n");
		return 2;
	}
	if (store_open(argv[1], 0, &s, &err) == -1) {
		fprintf(stderr, "commit_many: %s\n", err.msg);
		return 1;
	}
	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "%ld", i);
		snprintf(msg, sizeof(msg), "commit %ld of %ld", i + 1, n);
		if ((c = change_new()) == NULL ||
		    value_string(text, strlen(text), &v, &err) == -1 ||
		    change_set(c, key, v, &err) == -1 ||
		    store_commit(s, c, msg, &rev, &err) == -1) {
			fprintf(stderr, "commit_many: %s\n", err.msg);
			return 1;
		}
		value_free(v);
		change_free(c);
	}
	printf("r%llu\n", (unsigned long long)rev);
	store_close(s);
	return 0;
}
