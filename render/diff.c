/*
 * diff.c - how a rendered file changes, for a dry run and a preview.
 * The diff is made in memory (textdiff.c): a secret is never copied to a
 * temporary file to be compared.
 */
#include <string.h>

#include "render_int.h"
#include "textdiff.h"

int
fstate_same_bytes(const struct fstate *a, const struct fstate *b)
{
	if (a->exists != b->exists)
		return 0;
	/* Empty buffers may have no data at all: never hand NULL to memcmp. */
	return a->bytes.len == b->bytes.len && (a->bytes.len == 0 ||
	    memcmp(a->bytes.data, b->bytes.data, a->bytes.len) == 0);
}

static const char *
bytes(const struct fstate *st)
{
	return st->bytes.data != NULL ? st->bytes.data : "";
}

static int
secret(const struct fstate *st)
{
	return st->exists && (st->mode & 0004) == 0;
}

int
diff_file(const char *name, const char *verb, const char *la,
    const struct fstate *a, const char *lb, const struct fstate *b,
    int show_secrets, struct buf *out, struct error *err)
{
	int rc = 0;

	if (a->exists && b->exists && (a->mode != b->mode ||
	    a->uid != b->uid || a->gid != b->gid))
		rc = buf_printf(out, "%s: mode %04o owner %ld:%ld -> mode %04o "
		    "owner %ld:%ld\n", name, (unsigned)a->mode, (long)a->uid,
		    (long)a->gid, (unsigned)b->mode, (long)b->uid,
		    (long)b->gid);
	if (rc == 0 && !fstate_same_bytes(a, b)) {
		if (!show_secrets && (secret(a) || secret(b)))
			rc = buf_printf(out, "%s: %s (not readable by others; "
			    "contents not shown)\n", name, verb);
		else if (!text_is_text(bytes(a), a->bytes.len) ||
		    !text_is_text(bytes(b), b->bytes.len))
			rc = buf_printf(out, "%s: binary file %s (%zu -> %zu "
			    "bytes)\n", name, verb, a->bytes.len, b->bytes.len);
		else
			return text_diff(a->exists ? la : "/dev/null",
			    bytes(a), a->bytes.len,
			    b->exists ? lb : "/dev/null", bytes(b),
			    b->bytes.len, out, err);
	}
	if (rc == -1)
		return error_set(err, ERR_FAIL, "out of memory");
	return 0;
}
