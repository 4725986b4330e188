/*
 * render_int.h - what the renderer's own files share; not for callers
 * outside render/ (they have render.h).
 */
#ifndef CFGSTORE_RENDER_INT_H
#define CFGSTORE_RENDER_INT_H

#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "install.h"
#include "tree.h"

/*
 * The services to render, sorted: want[0..nwant) after checking each is
 * in data's manifest, or all of them.  Names point into want or data.
 */
int	services_pick(const struct tree *data, const char *const *want,
	    size_t nwant, const char ***out, size_t *n, struct error *err);

/*
 * How file name changes from a to b (either may not exist), appended to
 * out: a line for a new mode or owner, then the bytes as diff -u shows
 * them under labels la and lb.  A secret (not readable by others on
 * either side, unless show_secrets) or a binary file is only named:
 * "NAME: VERB (not readable by others; contents not shown)".  0, or -1
 * with err (out of memory).
 */
int	diff_file(const char *name, const char *verb, const char *la,
	    const struct fstate *a, const char *lb, const struct fstate *b,
	    int show_secrets, struct buf *out, struct error *err);
/* 1 when a and b hold the same bytes (both missing counts as same). */
int	fstate_same_bytes(const struct fstate *a, const struct fstate *b);

struct run_result;
/* The first line of what a command printed, or how it ended. */
const char *checker_first_line(const struct run_result *res, char *buf,
	    size_t len);
/*
 * Runs check ("{}" = cand) within timeout_ms.  0: it passed.  1: it
 * refused; line holds its one line about it and *output (caller frees)
 * everything it said, with cand's name replaced by dest's.  -1: it
 * could not be run (err).
 */
int	checker_run(const char *check, const char *cand, const char *dest,
	    int timeout_ms, char *line, size_t len, char **output,
	    struct error *err);

#endif
