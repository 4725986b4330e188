/*
 * commit_blobs.c - makes one commit of random blobs on a primary, for
 * the tests of commits near the size limits.
 *
 *	commit_blobs STOREDIR KIB KEY
 *
 * The commit sets KEY.0, KEY.1, ... to random blobs of at most 7.75 MiB
 * (under the value limit) that add up to KIB KiB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store.h"

#define PART	(7936u << 10)		/* 7.75 MiB */

int
main(int argc, char **argv)
{
	struct error err = { 0 };
	struct store *s;
	struct change *c;
	struct value *v;
	unsigned char *p;
	char key[STORE_KEY_MAX + 1];
	uint64_t rev;
	size_t left, n, i;
	long kib;

	if (argc != 4 || (kib = strtol(argv[2], NULL, 10)) <= 0 ||
	    kib > (64 << 10)) {
		fprintf(stderr, "usage: commit_blobs STOREDIR KIB KEY\n");
		return 2;
	}
	if (sodium_init() < 0 || (p = malloc(PART)) == NULL ||
	    (c = change_new()) == NULL)
		return 1;
	if (store_open(argv[1], 0, &s, &err) == -1) {
		fprintf(stderr, "commit_blobs: %s\n", err.msg);
		return 1;
	}
	for (left = (size_t)kib << 10, i = 0; left > 0; left -= n, i++) {
		n = left < PART ? left : PART;
		randombytes_buf(p, n);
		snprintf(key, sizeof(key), "%s.%zu", argv[3], i);
		if (value_blob(p, n, &v, &err) == -1 ||
		    change_set(c, key, v, &err) == -1) {
			fprintf(stderr, "commit_blobs: %s\n", err.msg);
			return 1;
		}
		value_free(v);
	}
	if (store_commit(s, c, "blobs", &rev, &err) == -1) {
		fprintf(stderr, "commit_blobs: %s\n", err.msg);
		return 1;
	}
	printf("r%llu\n", (unsigned long long)rev);
	change_free(c);
	free(p);
	store_close(s);
	return 0;
}
