/*
 * fuzz_commit.c - libFuzzer harness for the parsers of bytes that arrive
 * from outside: commit records (commit_parse) and values (value_decode).
 *
 * See fuzz.h for how the harnesses are built and run.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "store.h"

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
		/* What the flags allow (docs/FORMAT.md). */
		if ((commit_flags(c) & COMMIT_CONFIRM) ?
		    commit_confirm_window(c) == 0 ||
		    commit_confirm_window(c) > STORE_CONFIRM_MAX :
		    commit_confirm_window(c) != 0)
			abort();
		if ((commit_flags(c) & COMMIT_CONFIRMS) &&
		    commit_op_count(c) != 0)
			abort();
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
