/*
 * fuzz.h - what the fuzz harnesses share.
 *
 * Each fuzz_NAME.c defines LLVMFuzzerTestOneInput (and, when it needs a
 * set-up such as a store on disk, LLVMFuzzerInitialize).  Built with
 * -DCFGSTORE_FUZZ=ON (clang) each is a libFuzzer target; otherwise
 * replay.c supplies a main that runs the harness over the files of its
 * seed corpus, tests/fuzz/corpus/NAME/, so ctest keeps them exercised.
 */
#ifndef CFGSTORE_FUZZ_H
#define CFGSTORE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * A fresh directory under $TMPDIR (default /tmp), removed with what it
 * holds when the process exits; aborts when it cannot be made.
 */
const char *fuzz_tmpdir(void);

/*
 * Creates a store at fuzz_tmpdir()/name and returns it open; a primary
 * holds the shipped manifest and templates as r1, as `cfgstore init
 * --primary` makes it.  Aborts on failure.
 */
struct store *fuzz_store(const char *name, int primary);

/*
 * The guide's example site (tests/golden/guide.apply, read from $SRCDIR)
 * committed on a new primary named fw1 that knows a peer fw2: the data
 * the shipped manifest and templates are meant for.  Aborts on failure.
 */
struct store *fuzz_guide_store(void);

/* Removes dir and what it holds; 0 or -1. */
int	fuzz_rmtree(const char *dir);

/* Consumes a 2-byte big-endian length and that many bytes (or the rest). */
struct fuzz_in {
	const uint8_t	*p;
	size_t		 len;
};
const uint8_t *fuzz_chunk(struct fuzz_in *in, size_t *len);

#endif
