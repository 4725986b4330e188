/*
 * fuzz_commit.c - libFuzzer harness for the parsers of bytes that arrive
 * from outside: commit records (commit_parse) and values (value_decode).
 *
 * Built with -DCFGSTORE_FUZZ=ON (clang): a libFuzzer target.  Otherwise a
 * plain program that runs the harness over files or folders given on the
 * command line, so ctest keeps the seed corpus exercised.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "store.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err = { 0 };
	struct commit *c = NULL;
	struct value *v = NULL;

	if (commit_parse(data, size, &c, &err) == 0) {
		/* Whatever parses must be whole: touch every field. */
		for (size_t i = 0; i < commit_op_count(c); i++) {
			const struct value *old, *new;
			const char *key;

			commit_op(c, i, NULL, &key, &old, &new);
			if (key_check(key, NULL) == -1)
				abort();
		}
		commit_free(c);
	}
	if (value_decode(data, size, &v, &err) == 0) {
		size_t len;
		const void *enc = value_encoded(v, &len);

		if (len != size || memcmp(enc, data, size) != 0)
			abort();	/* decode accepted non-canonical bytes */
		value_free(v);
	}
	return 0;
}

#ifndef CFGSTORE_LIBFUZZER
static int
run_file(const char *path)
{
	struct buf b = { 0 };

	if (buf_read_file(&b, path, 64u << 20) == -1) {
		perror(path);
		return 1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)b.data, b.len);
	buf_free(&b);
	return 0;
}

int
main(int argc, char **argv)
{
	int n = 0, failed = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;
		char path[4096];

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) &&
		    (d = opendir(argv[i])) != NULL) {
			while ((e = readdir(d)) != NULL) {
				if (e->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path), "%s/%s", argv[i],
				    e->d_name);
				failed += run_file(path);
				n++;
			}
			closedir(d);
		} else {
			failed += run_file(argv[i]);
			n++;
		}
	}
	printf("%d passed, %d failed\n", n - failed, failed);
	return failed != 0 || n == 0;
}
#endif
