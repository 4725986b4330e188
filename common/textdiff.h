/*
 * textdiff.h - unified line diffs of two buffers, in memory.
 *
 * For showing an admin how a file or a stored text changes: rendered
 * files, templates, zone files.  Done in process rather than with
 * diff(1), so secret files are never copied to a temporary file to be
 * compared, and no child is started per file.
 */
#ifndef CFGSTORE_TEXTDIFF_H
#define CFGSTORE_TEXTDIFF_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

#define TEXTDIFF_CONTEXT	3	/* lines of context around a change */

/*
 * 1 when p can be shown as text: valid UTF-8 holding no NUL byte.
 * An empty buffer is text.
 */
int	text_is_text(const void *p, size_t len);

/*
 * Appends to out the differences between a and b as `diff -u` prints
 * them, headed "--- label_a" and "+++ label_b"; appends nothing when
 * they are equal.  A missing newline at the end is marked as diff(1)
 * marks it.  Very different large inputs may be shown as one hunk that
 * replaces everything rather than the shortest edit.  0, or -1 with err
 * (out of memory; out then holds part of the diff).
 */
int	text_diff(const char *label_a, const void *a, size_t alen,
	    const char *label_b, const void *b, size_t blen, struct buf *out,
	    struct error *err);

#endif
