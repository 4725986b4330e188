/*
 * root.c - the render root, one of this node's settings.
 *
 * render and serve must write the same tree, so the root is recorded in
 * the store (a local record, never replicated): by init --root, or by the
 * first serve or render given --root; serve --root changes it.  A render
 * told another root is refused unless forced, since it would install a
 * second tree the daemon never looks after.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mpread.h"
#include "root.h"

/* A map of one field, "path" (docs/FORMAT.md, Local records). */
#define ROOT_RECORD	"node.root"

static int
root_encode(struct buf *b, const char *path)
{
	size_t n = strlen(path);
	unsigned char h[3];
	size_t hlen;

	/* The smallest str header, as every writer of local records uses. */
	if (n < 32)
		h[0] = 0xa0 | (unsigned char)n, hlen = 1;
	else if (n < 256)
		h[0] = 0xd9, h[1] = (unsigned char)n, hlen = 2;
	else
		h[0] = 0xda, h[1] = (unsigned char)(n >> 8),
		    h[2] = (unsigned char)n, hlen = 3;
	return buf_append(b, "\x81\xa4path", 6) == -1 ||
	    buf_append(b, h, hlen) == -1 || buf_append(b, path, n) == -1 ?
	    -1 : 0;
}

/* 1 with the path in out, 0 when the record does not decode. */
static int
root_decode(const void *p, size_t len, char *out, size_t outlen)
{
	struct mpr r;
	const char *k, *v;
	uint32_t n, klen, vlen;
	int found = 0;

	mpr_init(&r, p, len);
	if (mpr_map(&r, &n) == -1)
		return 0;
	while (n-- > 0) {
		if (mpr_str(&r, &k, &klen) == -1)
			return 0;
		if (klen != 4 || memcmp(k, "path", 4) != 0) {
			if (mpr_skip(&r) == -1)
				return 0;
			continue;
		}
		if (mpr_str(&r, &v, &vlen) == -1 || vlen >= outlen ||
		    memchr(v, '\0', vlen) != NULL)
			return 0;
		memcpy(out, v, vlen);
		out[vlen] = '\0';
		found = 1;
	}
	return found;
}

int
cli_root_path(const char *arg, char *out, size_t len)
{
	char cwd[PATH_MAX], *w;
	const char *r;
	int n;

	if (*arg == '\0')
		return cli_error(ERR_INPUT, "--root: empty path");
	if (arg[0] == '/')
		n = snprintf(out, len, "%s", arg);
	else if (getcwd(cwd, sizeof(cwd)) == NULL)
		return cli_error(ERR_FAIL, "--root: cannot get the current "
		    "directory");
	else
		n = snprintf(out, len, "%s/%s", cwd, arg);
	if (n < 0 || (size_t)n >= len)
		return cli_error(ERR_INPUT, "--root: path too long");
	/* "/x/", "/x//" and "/x" are one root; "/" is no prefix at all. */
	for (r = w = out; *r != '\0'; r++)
		if (*r != '/' || r[1] != '/')
			*w++ = *r;
	*w = '\0';
	while (w > out && w[-1] == '/')
		*--w = '\0';
	return 0;
}

int
cli_node_root_get(struct store *s, char *out, size_t len)
{
	struct buf b = { 0 };
	int found = store_local_get(s, ROOT_RECORD, &b, NULL) == 0 &&
	    root_decode(b.data, b.len, out, len);

	if (!found)
		out[0] = '\0';
	buf_free(&b);
	return found;
}

int
cli_node_root(struct cli *cli, struct store *s, const char *given, int flags,
    char *out, size_t len)
{
	struct error err = { 0 };
	struct buf rec = { 0 };
	char want[PATH_MAX];
	int rc, known;

	(void)cli;
	/* given may be out itself: read it before out is written. */
	if (given != NULL &&
	    (rc = cli_root_path(given, want, sizeof(want))) != 0)
		return rc;
	known = cli_node_root_get(s, out, len);
	if (given == NULL)
		return 0;
	if (known && strcmp(want, out) == 0)
		return 0;
	if (known && !(flags & CLI_ROOT_SET)) {
		if (!(flags & CLI_ROOT_FORCE))
			return cli_error(ERR_INPUT, "--root %s is not this "
			    "node's render root, %s (set by init --root or "
			    "serve --root); --force renders there anyway",
			    want[0] ? want : "/", out[0] ? out : "/");
		snprintf(out, len, "%s", want);
		return 0;
	}
	if (root_encode(&rec, want) == -1) {
		buf_free(&rec);
		return cli_error(ERR_FAIL, "out of memory");
	}
	rc = store_local_put(s, ROOT_RECORD, rec.data, rec.len, &err);
	buf_free(&rec);
	if (rc == -1)
		return cli_fail(&err);
	if ((size_t)snprintf(out, len, "%s", want) >= len)
		return cli_error(ERR_INPUT, "--root: path too long");
	return 0;
}
