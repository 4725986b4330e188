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
#include "root.h"

#define ROOT_RECORD	"node.root"

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
	    b.len < len;

	snprintf(out, len, "%s", found ? b.data : "");
	buf_free(&b);
	return found;
}

int
cli_node_root(struct cli *cli, struct store *s, const char *given, int flags,
    char *out, size_t len)
{
	struct error err = { 0 };
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
	if (store_local_put(s, ROOT_RECORD, want, strlen(want), &err) == -1)
		return cli_fail(&err);
	if ((size_t)snprintf(out, len, "%s", want) >= len)
		return cli_error(ERR_INPUT, "--root: path too long");
	return 0;
}
