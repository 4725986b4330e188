/*
 * mustache-render - renders one template with JSON data, to check
 * templates by hand and the engine against the Mustache spec.
 *
 *	mustache-render TEMPLATE DATA.json [PARTIALS_DIR] [--html]
 *
 * Without --html it renders as cfgstore does for config files: strict
 * (a missing value or partial is an error), no escaping.  With --html it
 * follows the spec: not strict, {{x}} HTML-escaped.  The output goes to
 * stdout; an error is one line on stderr and exit status 1 (2: usage).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "compat.h"
#include "error.h"
#include "json.h"
#include "mustache.h"
#include "tree.h"

#define FILE_MAX	(64u << 20)	/* bytes in a template or partial */

static void
usage(void)
{
	fprintf(stderr, "usage: mustache-render TEMPLATE DATA.json "
	    "[PARTIALS_DIR] [--html]\n");
	exit(2);
}

/* Partials are files in the directory; names may not leave it. */
static int
load_partial(void *arg, const char *name, struct buf *text,
    struct error *err)
{
	const char *dir = arg;
	char path[PATH_MAX];

	if (dir == NULL)
		return 1;
	if (strchr(name, '/') != NULL || name[0] == '.')
		return error_set(err, ERR_INPUT, "bad partial name");
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return error_set(err, ERR_INPUT, "path too long");
	if (buf_read_file(text, path, FILE_MAX) == -1) {
		if (errno == ENOENT)
			return 1;
		return error_errno(err, ERR_FAIL, "%s", path);
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct mustache_opts o = { 0 };
	struct buf tmpl = { 0 }, out = { 0 };
	struct error err = { 0 };
	struct tree *data = NULL;
	const char *args[3], *slash;
	json_error_t jerr;
	json_t *j;
	int i, n = 0, html = 0, status = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--html") == 0)
			html = 1;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			usage();
		else if (n == 3)
			usage();
		else
			args[n++] = argv[i];
	}
	if (n < 2)
		usage();

	if (buf_read_file(&tmpl, args[0], FILE_MAX) == -1) {
		fprintf(stderr, "mustache-render: %s: %s\n", args[0],
		    strerror(errno));
		goto done;
	}
	if ((j = json_load_file(args[1], JSON_DECODE_ANY, &jerr)) == NULL) {
		fprintf(stderr, "mustache-render: %s:%d: %s\n", args[1],
		    jerr.line, jerr.text);
		goto done;
	}
	data = json_tree(j, &err);
	json_decref(j);
	if (data == NULL) {
		fprintf(stderr, "mustache-render: %s: %s\n", args[1], err.msg);
		goto done;
	}

	slash = strrchr(args[0], '/');
	o.name = slash ? slash + 1 : args[0];
	o.html_escape = html;
	o.strict = !html;
	o.partial = load_partial;
	o.partial_arg = n > 2 ? UNCONST(args[2]) : NULL;
	if (mustache_render(tmpl.data ? tmpl.data : "", tmpl.len, data, &o,
	    &out, &err) == -1) {
		fprintf(stderr, "mustache-render: %s\n", err.msg);
		goto done;
	}
	if (out.len > 0 && fwrite(out.data, 1, out.len, stdout) != out.len) {
		fprintf(stderr, "mustache-render: stdout: %s\n",
		    strerror(errno));
		goto done;
	}
	if (fflush(stdout) == EOF) {
		fprintf(stderr, "mustache-render: stdout: %s\n",
		    strerror(errno));
		goto done;
	}
	status = 0;
done:
	tree_free(data);
	buf_free(&tmpl);
	buf_free(&out);
	return status;
}
