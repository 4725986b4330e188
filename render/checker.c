/*
 * checker.c - running a service's checker on a file, and what it said,
 * as an admin should read it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "render_int.h"
#include "run.h"

/* The first line of what a command printed, or how it ended. */
const char *
checker_first_line(const struct run_result *res, char *buf, size_t len)
{
	const char *p = res->output.data;
	size_t n;

	if (p != NULL) {
		p += strspn(p, " \t\n");
		if ((n = strcspn(p, "\n")) > 0) {
			snprintf(buf, len, "%.*s", (int)n, p);
			return buf;
		}
	}
	return run_describe(res, buf, len);
}

/* 1 when line names file at a line number: "FILE:12" or "FILE line 12". */
static int
names_a_line(const char *line, size_t n, const char *file)
{
	const char *p, *end = line + n;
	size_t flen = strlen(file);

	for (p = line; (size_t)(end - p) > flen; p++) {
		if (memcmp(p, file, flen) != 0)
			continue;
		p += flen;
		if (end - p > 1 && p[0] == ':' && p[1] >= '0' && p[1] <= '9')
			return 1;
		if (end - p > 6 && memcmp(p, " line ", 6) == 0)
			return 1;
	}
	return 0;
}

/* 1 when the n bytes at p hold word, in any case. */
static int
has_word(const char *p, size_t n, const char *word)
{
	size_t wlen = strlen(word), i;

	for (i = 0; i + wlen <= n; i++)
		if (strncasecmp(p + i, word, wlen) == 0)
			return 1;
	return 0;
}

/* Appends text with every from replaced by to. */
static int
replace_all(struct buf *out, const char *text, size_t len, const char *from,
    const char *to)
{
	size_t flen = strlen(from), i = 0;

	while (i < len) {
		if (flen > 0 && len - i >= flen &&
		    memcmp(text + i, from, flen) == 0) {
			if (buf_puts(out, to) == -1)
				return -1;
			i += flen;
		} else if (buf_append(out, text + i++, 1) == -1)
			return -1;
	}
	return 0;
}

static const char *
base_name(const char *path)
{
	const char *p = strrchr(path, '/');

	return p != NULL ? p + 1 : path;
}

/*
 * A checker's output as an admin should read it: the candidate's name,
 * which means nothing to an admin, becomes the file's, its full path
 * first, then its base name alone.  Appended to out.
 */
static int
checker_output(const struct run_result *res, const char *cand,
    const char *dest, struct buf *out)
{
	struct buf tmp = { 0 };
	int rc;

	if (res->output.len == 0)
		return 0;
	if (strcmp(cand, dest) == 0)
		return buf_append(out, res->output.data, res->output.len);
	rc = replace_all(&tmp, res->output.data, res->output.len, cand, dest);
	if (rc == 0)
		rc = replace_all(out, tmp.data != NULL ? tmp.data : "",
		    tmp.len, base_name(cand), base_name(dest));
	buf_free(&tmp);
	return rc;
}

/*
 * Words of a line that says what is wrong, most telling first: ISC
 * dhcpd, for one, says "bad range, ..." after four lines of banner.
 */
static const char *const complaint[] = {
	"error", "bad ", "invalid", "unknown", "not in", "syntax", "fatal",
};

/*
 * What a checker said (out, from checker_output), in one line: checkers
 * print banners and version lines too, so the line that points into the
 * file wins, then one with a complaint's word (in any case), then the
 * first.
 */
static const char *
checker_says(const struct run_result *res, const struct buf *out,
    const char *dest, char *buf, size_t len)
{
	const char *text = out->data, *p, *pick = NULL, *base = base_name(dest);
	size_t n, w;

	if (text == NULL || out->len == 0)
		return checker_first_line(res, buf, len);
	for (p = text; *p != '\0' && pick == NULL; p += n + (p[n] != '\0')) {
		n = strcspn(p, "\n");
		if (names_a_line(p, n, base))
			pick = p;
	}
	for (w = 0; w < sizeof(complaint) / sizeof(complaint[0]) &&
	    pick == NULL; w++)
		for (p = text; *p != '\0' && pick == NULL;
		    p += n + (p[n] != '\0')) {
			n = strcspn(p, "\n");
			if (has_word(p, n, complaint[w]))
				pick = p;
		}
	if (pick == NULL) {
		pick = text + strspn(text, " \t\n");
		if (*pick == '\0')
			return checker_first_line(res, buf, len);
	}
	snprintf(buf, len, "%.*s", (int)strcspn(pick, "\n"), pick);
	return buf;
}

int
checker_run(const char *check, const char *cand, const char *dest,
    int timeout_ms, char *line, size_t len, char **output, struct error *err)
{
	struct run_result res;
	struct buf out = { 0 };
	char how[64], *cmd;

	*output = NULL;
	if ((cmd = run_subst_path(check, cand)) == NULL)
		return error_set(err, ERR_FAIL, "out of memory");
	if (run_shell(cmd, timeout_ms, &res, err) == -1) {
		free(cmd);
		return -1;
	}
	free(cmd);
	if (run_ok(&res)) {
		run_result_free(&res);
		return 0;
	}
	/* All of it is kept for the report, under the file's name. */
	if (checker_output(&res, cand, dest, &out) == -1) {
		run_result_free(&res);
		buf_free(&out);
		return error_set(err, ERR_FAIL, "out of memory");
	}
	if (out.len == 0)
		snprintf(line, len, "%s", run_describe(&res, how, sizeof(how)));
	else
		checker_says(&res, &out, dest, line, len);
	*output = buf_detach(&out, NULL);
	run_result_free(&res);
	return 1;
}
