/*
 * fuzz_batch.c - the batch files of `cfgstore apply` (cli/batch.c), read
 * as cmd_apply reads them, into a change, then committed to a real store
 * when they parse: the keys, values and origins the store checks.
 *
 * `set --file` lines name files; in the harness they resolve in an empty
 * directory, so only a missing file is reached.  See fuzz.h for how
 * harnesses are built and run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "fuzz.h"

static struct store *st;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char empty[1200];

	(void)argc;
	(void)argv;
	st = fuzz_store("fw1", 1);
	snprintf(empty, sizeof(empty), "%s/empty", fuzz_tmpdir());
	if (mkdir(empty, 0700) == -1 || chdir(empty) == -1)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err = { 0 };
	struct change *c;
	uint64_t rev, head;
	FILE *f;
	char *text;

	/* fmemopen takes a buffer it could write to: a copy, then. */
	if (size == 0 || (text = malloc(size)) == NULL)
		return 0;
	memcpy(text, data, size);
	if ((f = fmemopen(text, size, "r")) == NULL) {
		free(text);
		return 0;
	}
	if ((c = change_new()) == NULL)
		abort();
	if (read_batch(f, "fuzz", c, &err) == -1) {
		if (strncmp(err.msg, "fuzz:", 5) != 0)
			abort();	/* every error names the line */
	} else if (change_count(c) > 0) {
		if (store_commit(st, c, "fuzz", &rev, &err) == 0 && rev != 0) {
			/* Undone, so every input meets the same store. */
			if (store_rollback(st, rev - 1, "undo", &head,
			    &err) == -1) {
				fprintf(stderr, "rollback: %s\n", err.msg);
				abort();
			}
		}
	}
	fclose(f);
	free(text);
	change_free(c);
	return 0;
}
