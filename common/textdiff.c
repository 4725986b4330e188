/*
 * textdiff.c - unified line diffs, in memory.
 *
 * Myers' O(ND) algorithm on the lines left once the common head and tail
 * are set aside, keeping the frontier of every step to walk the edit
 * back.  Configuration files are small and their changes smaller, so D
 * stays low; past EDIT_MAX steps the middle is shown replaced whole,
 * which is still a correct diff, only not the shortest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "textdiff.h"
#include "utf8.h"

#define EDIT_MAX	4096	/* steps kept: about EDIT_MAX^2 ints at most */

struct line {
	const char	*p;
	size_t		 len;	/* with its '\n', when it has one */
};

enum op { OP_SAME, OP_DEL, OP_ADD };

int
text_is_text(const void *p, size_t len)
{
	return memchr(p, '\0', len) == NULL && utf8_valid(p, len);
}

/* The lines of p; *out is NULL for an empty buffer. */
static int
split(const char *p, size_t len, struct line **out, size_t *n)
{
	size_t i, count = 0, start = 0;
	struct line *v;

	*out = NULL;
	*n = 0;
	for (i = 0; i < len; i++)
		if (p[i] == '\n')
			count++;
	if (len > 0 && p[len - 1] != '\n')
		count++;
	if (count == 0)
		return 0;
	if ((v = calloc(count, sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < len; i++)
		if (p[i] == '\n' || i == len - 1) {
			v[*n].p = p + start;
			v[(*n)++].len = i + 1 - start;
			start = i + 1;
		}
	*out = v;
	return 0;
}

static int
same(const struct line *a, const struct line *b)
{
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/*
 * The shortest edit turning a[0..n) into b[0..m), written backwards into
 * ops ending at *nops (ops has room for n + m).  -1: out of memory or
 * too many steps; the caller then replaces the whole range.
 */
static int
myers(const struct line *a, size_t n, const struct line *b, size_t m,
    enum op *ops, size_t *nops)
{
	size_t max = n + m, dmax = max < EDIT_MAX ? max : EDIT_MAX, d, i;
	long *v, **trace, k, x, y;
	int found = 0;

	if ((v = calloc(2 * dmax + 3, sizeof(*v))) == NULL)
		return -1;
	if ((trace = calloc(dmax + 1, sizeof(*trace))) == NULL) {
		free(v);
		return -1;
	}
	v += dmax + 1;		/* v[k] for k in -dmax-1 .. dmax+1 */
	for (d = 0; d <= dmax && !found; d++) {
		long ld = (long)d;

		for (k = -ld; k <= ld; k += 2) {
			if (k == -ld || (k != ld && v[k - 1] < v[k + 1]))
				x = v[k + 1];		/* down: b's line added */
			else
				x = v[k - 1] + 1;	/* right: a's line gone */
			y = x - k;
			while ((size_t)x < n && (size_t)y < m &&
			    same(&a[x], &b[y]))
				x++, y++;
			v[k] = x;
			if ((size_t)x >= n && (size_t)y >= m)
				found = 1;
		}
		if ((trace[d] = malloc((2 * d + 1) * sizeof(long))) == NULL)
			break;
		memcpy(trace[d], &v[-ld], (2 * d + 1) * sizeof(long));
		if (found)
			break;
	}
	if (found) {
		x = (long)n;
		y = (long)m;
		for (; d > 0; d--) {
			long ld = (long)d, *pv = trace[d - 1] + (ld - 1), pk,
			    px, py;

			k = x - y;
			if (k == -ld || (k != ld && pv[k - 1] < pv[k + 1]))
				pk = k + 1;
			else
				pk = k - 1;
			px = pv[pk];
			py = px - pk;
			while (x > px && y > py) {
				ops[--*nops] = OP_SAME;
				x--, y--;
			}
			ops[--*nops] = pk == k + 1 ? OP_ADD : OP_DEL;
			x = px;
			y = py;
		}
		while (x > 0) {
			ops[--*nops] = OP_SAME;
			x--;
		}
	}
	for (i = 0; i <= dmax; i++)
		free(trace[i]);
	free(trace);
	free(v - (dmax + 1));
	return found ? 0 : -1;
}

/* "-3,2", "-3" for one line, and the line before for none, as diff(1). */
static int
range(struct buf *out, char sign, size_t start, size_t count)
{
	if (count == 1)
		return buf_printf(out, "%c%zu", sign, start + 1);
	return buf_printf(out, "%c%zu,%zu", sign, count ? start + 1 : start,
	    count);
}

static int
put_line(struct buf *out, char sign, const struct line *l)
{
	if (buf_printf(out, "%c", sign) == -1 ||
	    buf_append(out, l->p, l->len) == -1)
		return -1;
	if (l->len == 0 || l->p[l->len - 1] != '\n')
		return buf_puts(out, "\n\\ No newline at end of file\n");
	return 0;
}

/* Prints ops[from..to) as one hunk; ai, bi: the lines before ops[from]. */
static int
hunk(struct buf *out, const enum op *ops, size_t from, size_t to,
    const struct line *a, size_t ai, const struct line *b, size_t bi)
{
	size_t i, na = 0, nb = 0;
	int rc = 0;

	for (i = from; i < to; i++) {
		na += ops[i] != OP_ADD;
		nb += ops[i] != OP_DEL;
	}
	rc |= buf_puts(out, "@@ ");
	rc |= range(out, '-', ai, na);
	rc |= buf_puts(out, " ");
	rc |= range(out, '+', bi, nb);
	rc |= buf_puts(out, " @@\n");
	for (i = from; i < to && rc == 0; i++) {
		if (ops[i] == OP_SAME) {
			rc = put_line(out, ' ', &a[ai++]);
			bi++;
		} else if (ops[i] == OP_DEL)
			rc = put_line(out, '-', &a[ai++]);
		else
			rc = put_line(out, '+', &b[bi++]);
	}
	return rc;
}

/* Groups the changes of ops into hunks with their context. */
static int
hunks(struct buf *out, const enum op *ops, size_t nops, const struct line *a,
    const struct line *b)
{
	size_t i = 0, ai = 0, bi = 0;

	while (i < nops) {
		size_t first, last, from, to, j, sa, sb;

		while (i < nops && ops[i] == OP_SAME)
			i++, ai++, bi++;
		if (i == nops)
			break;
		first = last = i;
		/* Extend while the next change is near enough to share context. */
		for (j = i; j < nops; j++) {
			if (ops[j] != OP_SAME)
				last = j;
			else if (j - last > 2 * TEXTDIFF_CONTEXT)
				break;
		}
		from = first > TEXTDIFF_CONTEXT ? first - TEXTDIFF_CONTEXT : 0;
		to = last + 1 + TEXTDIFF_CONTEXT < nops ?
		    last + 1 + TEXTDIFF_CONTEXT : nops;
		/* from lies in the run of same lines before first. */
		sa = ai - (first - from);
		sb = bi - (first - from);
		if (hunk(out, ops, from, to, a, sa, b, sb) == -1)
			return -1;
		for (j = first; j < to; j++) {
			ai += ops[j] != OP_ADD;
			bi += ops[j] != OP_DEL;
		}
		i = to;
	}
	return 0;
}

int
text_diff(const char *label_a, const void *pa, size_t alen,
    const char *label_b, const void *pb, size_t blen, struct buf *out,
    struct error *err)
{
	struct line *a = NULL, *b = NULL;
	size_t n, m, head = 0, tail = 0, nops, end, i;
	enum op *ops = NULL;
	int rc = -1;

	if (alen == blen && (alen == 0 || memcmp(pa, pb, alen) == 0))
		return 0;
	if (split(pa, alen, &a, &n) == -1 || split(pb, blen, &b, &m) == -1)
		goto nomem;
	while (head < n && head < m && same(&a[head], &b[head]))
		head++;
	while (tail < n - head && tail < m - head &&
	    same(&a[n - 1 - tail], &b[m - 1 - tail]))
		tail++;
	if ((ops = calloc(n + m + 1, sizeof(*ops))) == NULL)
		goto nomem;
	/* Written back to front: the tail, the middle, then the head. */
	end = n + m;
	for (i = 0; i < tail; i++)
		ops[--end] = OP_SAME;
	nops = end;
	if (myers(a + head, n - head - tail, b + head, m - head - tail, ops,
	    &nops) == -1) {
		nops = end;
		for (i = 0; i < m - head - tail; i++)
			ops[--nops] = OP_ADD;
		for (i = 0; i < n - head - tail; i++)
			ops[--nops] = OP_DEL;
	}
	for (i = 0; i < head; i++)
		ops[--nops] = OP_SAME;
	if (buf_printf(out, "--- %s\n+++ %s\n", label_a, label_b) == -1 ||
	    hunks(out, ops + nops, n + m - nops, a, b) == -1)
		goto nomem;
	rc = 0;
	goto done;
nomem:
	error_set(err, ERR_FAIL, "diff: out of memory");
done:
	free(ops);
	free(a);
	free(b);
	return rc;
}
